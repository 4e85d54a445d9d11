"""Tests for pinn.geometry: domains, products and collocation sampling."""

import numpy as np
import pytest

from pinn.geometry import Box, Domain, Interval, TimeInterval, stratified_choice


@pytest.fixture
def burgers() -> Domain:
    return Interval(-1.0, 1.0) * TimeInterval(0.0, 1.0)


@pytest.fixture
def heat2d() -> Domain:
    return Box([0.0, -1.0], [2.0, 1.0]) * TimeInterval(0.5, 3.0)


# ---------------------------------------------------------------- construction


def test_domain_attributes():
    d = Domain([0, -1], [1, 2], ["x", "t"], time="t")
    assert d.names == ("x", "t")
    assert d.dim == 2
    assert d.time == "t"
    assert d.space_names == ("x",)
    assert d.lower.dtype == np.float64 and d.lower.shape == (2,)
    np.testing.assert_array_equal(d.lower, [0.0, -1.0])
    np.testing.assert_array_equal(d.upper, [1.0, 2.0])
    assert d.index("t") == 1
    with pytest.raises(ValueError):
        d.lower[0] = 5.0  # bounds are read-only


def test_convenience_constructors():
    assert Interval(0, 1).names == ("x",)
    assert Interval(0, 1, name="r").names == ("r",)
    assert Box([0, 0], [1, 1]).names == ("x", "y")
    assert Box([0, 0, 0], [1, 1, 1]).names == ("x", "y", "z")
    assert Box([0] * 4, [1] * 4, names=["a", "b", "c", "d"]).dim == 4
    t = TimeInterval(0, 2)
    assert t.names == ("t",) and t.time == "t" and t.space_names == ()


def test_product_names_time_and_bounds(burgers):
    assert burgers.names == ("x", "t")
    assert burgers.time == "t"
    assert burgers.space_names == ("x",)
    np.testing.assert_array_equal(burgers.lower, [-1.0, 0.0])
    np.testing.assert_array_equal(burgers.upper, [1.0, 1.0])
    assert burgers == Domain([-1, 0], [1, 1], ["x", "t"], time="t")
    flipped = TimeInterval(0.0, 1.0) * Interval(-1.0, 1.0)
    assert flipped.names == ("t", "x") and flipped.time == "t"
    assert (Interval(0, 1) * Interval(0, 2, name="y")).time is None


def test_product_errors():
    with pytest.raises(ValueError, match="'x'"):
        Interval(0, 1) * Interval(2, 3)
    with pytest.raises(ValueError, match="time"):
        TimeInterval(0, 1) * TimeInterval(0, 1, name="s")
    with pytest.raises(TypeError):
        Interval(0, 1) * 3


def test_contains():
    d = Box([0, 0], [1, 2])
    pts = np.array([[0, 0], [1, 2], [0.5, 1], [1.1, 1], [0.5, -0.01], [np.nan, 1]])
    np.testing.assert_array_equal(d.contains(pts), [True, True, True, False, False, False])
    np.testing.assert_array_equal(d.contains(pts, tol=0.2)[:5], [True] * 5)
    with pytest.raises(ValueError, match="points"):
        d.contains(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="tol"):
        d.contains(pts, tol=-1.0)


# -------------------------------------------------------------------- interior


@pytest.mark.parametrize("method", ["lhs", "uniform"])
def test_interior_in_domain_and_reproducible(heat2d, method):
    a = heat2d.sample_interior(200, method=method, seed=7)
    assert a.shape == (200, 3) and a.dtype == np.float64
    assert heat2d.contains(a).all()
    np.testing.assert_array_equal(a, heat2d.sample_interior(200, method=method, seed=7))
    assert not np.array_equal(a, heat2d.sample_interior(200, method=method, seed=8))
    gen_a = heat2d.sample_interior(200, method=method, seed=np.random.default_rng(7))
    np.testing.assert_array_equal(a, gen_a)


def test_lhs_fills_every_stratum(heat2d):
    n = 97
    pts = heat2d.sample_interior(n, method="lhs", seed=3)
    strata = np.floor(n * (pts - heat2d.lower) / (heat2d.upper - heat2d.lower)).astype(int)
    for j in range(heat2d.dim):
        np.testing.assert_array_equal(np.sort(strata[:, j]), np.arange(n))


def test_uniform_is_not_stratified():
    # i.i.d. uniform points leave some strata empty (a test that lhs is really used above)
    d = Interval(0, 1)
    n = 100
    pts = d.sample_interior(n, method="uniform", seed=0)
    assert len(np.unique(np.floor(n * pts[:, 0]))) < n


def test_grid_shape_and_order():
    d = Box([0, 10], [1, 20])
    g = d.sample_interior([2, 3], method="grid")
    np.testing.assert_array_equal(
        g, [[0, 10], [0, 15], [0, 20], [1, 10], [1, 15], [1, 20]]
    )
    g3 = (d * TimeInterval(0, 1)).sample_interior(4, method="grid")
    assert g3.shape == (64, 3)
    np.testing.assert_array_equal(g3[:4, 2], np.linspace(0, 1, 4))


# -------------------------------------------------------------------- boundary


def test_boundary_points_and_normals(heat2d):
    n = 203  # 4 faces: 51, 51, 51, 50
    pts, normals = heat2d.sample_boundary(n, seed=1)
    assert pts.shape == normals.shape == (n, 3)
    assert heat2d.contains(pts).all()
    np.testing.assert_array_equal(np.linalg.norm(normals, axis=1), np.ones(n))
    np.testing.assert_array_equal(normals[:, 2], 0.0)  # time component
    on_face = 0
    for axis in (0, 1):
        lower = normals[:, axis] == -1.0
        upper = normals[:, axis] == 1.0
        np.testing.assert_array_equal(pts[lower, axis], heat2d.lower[axis])
        np.testing.assert_array_equal(pts[upper, axis], heat2d.upper[axis])
        on_face += lower.sum() + upper.sum()
    assert on_face == n
    counts = [(normals[:, a] == s).sum() for a in (0, 1) for s in (-1.0, 1.0)]
    assert counts == [51, 51, 51, 50]
    # time is sampled over its interval, never fixed to a face
    assert pts[:, 2].min() > heat2d.lower[2] and pts[:, 2].max() < heat2d.upper[2]
    assert np.ptp(pts[:, 2]) > 1.0


def test_boundary_1d_space_faces_are_points():
    d = Interval(-2.0, 3.0)
    pts, normals = d.sample_boundary(5, method="lhs", seed=0)
    np.testing.assert_array_equal(pts[:, 0], [-2, -2, -2, 3, 3])
    np.testing.assert_array_equal(normals[:, 0], [-1, -1, -1, 1, 1])


def test_boundary_reproducible_and_lhs(burgers):
    a, _ = burgers.sample_boundary(50, method="lhs", seed=4)
    b, _ = burgers.sample_boundary(50, method="lhs", seed=4)
    c, _ = burgers.sample_boundary(50, method="lhs", seed=5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # each face gets its own Latin hypercube in t
    t_left = a[a[:, 0] == -1.0, 1]
    np.testing.assert_array_equal(np.sort(np.floor(25 * t_left)), np.arange(25))


def test_boundary_errors(burgers):
    with pytest.raises(ValueError, match="method"):
        burgers.sample_boundary(10, method="grid")
    with pytest.raises(ValueError, match="space"):
        TimeInterval(0, 1).sample_boundary(10)


# ------------------------------------------------------------- initial / faces


@pytest.mark.parametrize("method", ["lhs", "uniform"])
def test_initial(heat2d, method):
    pts = heat2d.sample_initial(60, method=method, seed=2)
    assert pts.shape == (60, 3)
    assert heat2d.contains(pts).all()
    np.testing.assert_array_equal(pts[:, 2], 0.5)
    assert np.ptp(pts[:, 0]) > 1.0
    np.testing.assert_array_equal(pts, heat2d.sample_initial(60, method=method, seed=2))


def test_initial_grid(burgers):
    pts = burgers.sample_initial(5, method="grid")
    np.testing.assert_array_equal(pts, [[-1, 0], [-0.5, 0], [0, 0], [0.5, 0], [1, 0]])


def test_initial_needs_time():
    with pytest.raises(ValueError, match="time"):
        Box([0, 0], [1, 1]).sample_initial(10)


def test_sample_face(heat2d):
    pts = heat2d.sample_face("y", "upper", 40, seed=0)
    assert pts.shape == (40, 3) and heat2d.contains(pts).all()
    np.testing.assert_array_equal(pts[:, 1], 1.0)
    final = heat2d.sample_face("t", "upper", 10, method="lhs", seed=0)
    np.testing.assert_array_equal(final[:, 2], 3.0)
    with pytest.raises(ValueError, match="side"):
        heat2d.sample_face("x", "left", 10)
    with pytest.raises(ValueError, match="'q'"):
        heat2d.sample_face("q", "lower", 10)


def test_periodic_pairs(burgers):
    lo, hi = burgers.periodic_pairs("x", 30, seed=9)
    assert lo.shape == hi.shape == (30, 2)
    np.testing.assert_array_equal(lo[:, 0], -1.0)
    np.testing.assert_array_equal(hi[:, 0], 1.0)
    np.testing.assert_array_equal(lo[:, 1], hi[:, 1])
    assert burgers.contains(lo).all() and burgers.contains(hi).all()


# ------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    "kwargs, error, arg",
    [
        (dict(lower=[0, 1], upper=[1, 1], names=["x", "y"]), ValueError, "'y'"),
        (dict(lower=[0, 2], upper=[1, 1], names=["x", "y"]), ValueError, "upper"),
        (dict(lower=[0, -np.inf], upper=[1, 1], names=["x", "y"]), ValueError, "finite"),
        (dict(lower=[0, np.nan], upper=[1, 1], names=["x", "y"]), ValueError, "finite"),
        (dict(lower=[0, 0], upper=[1], names=["x", "y"]), ValueError, "upper"),
        (dict(lower=[0], upper=[1, 1], names=["x", "y"]), ValueError, "lower"),
        (dict(lower=[0, 0], upper=[1, 1], names=["x"]), ValueError, "lower"),
        (dict(lower=["a"], upper=[1], names=["x"]), TypeError, "lower"),
        (dict(lower=[0, 0], upper=[1, 1], names=["x", "x"]), ValueError, "names"),
        (dict(lower=[0, 0], upper=[1, 1], names=["x", ""]), ValueError, "names"),
        (dict(lower=[0, 0], upper=[1, 1], names="xy"), TypeError, "names"),
        (dict(lower=[], upper=[], names=[]), ValueError, "names"),
        (dict(lower=[0, 0], upper=[1, 1], names=["x", "y"], time="t"), ValueError, "time"),
    ],
)
def test_domain_validation(kwargs, error, arg):
    with pytest.raises(error, match=arg):
        Domain(**kwargs)


def test_lower_ge_upper_message_names_both_values():
    with pytest.raises(ValueError, match=r"'x'.*lower=2\.0.*upper=1\.0"):
        Interval(2.0, 1.0)


def test_constructor_validation():
    with pytest.raises(ValueError, match="start"):
        TimeInterval(1.0, 0.0)
    with pytest.raises(TypeError, match="end"):
        TimeInterval(0.0, "1")
    with pytest.raises(TypeError, match="lower"):
        Interval([0.0], 1.0)
    with pytest.raises(ValueError, match="names"):
        Box([0] * 4, [1] * 4)


@pytest.mark.parametrize(
    "n, error",
    [(0, ValueError), (-3, ValueError), (2.0, TypeError), (True, TypeError), ("5", TypeError)],
)
def test_bad_point_counts(burgers, n, error):
    for call in (
        lambda: burgers.sample_interior(n),
        lambda: burgers.sample_interior(n, method="grid"),
        lambda: burgers.sample_boundary(n),
        lambda: burgers.sample_initial(n),
        lambda: burgers.sample_face("x", "lower", n),
        lambda: burgers.periodic_pairs("x", n),
    ):
        with pytest.raises(error, match="n must"):
            call()


def test_bad_grid_counts(burgers):
    with pytest.raises(ValueError, match="n must"):
        burgers.sample_interior([3, 4, 5], method="grid")
    with pytest.raises(ValueError, match="n must"):
        burgers.sample_interior([3, 0], method="grid")


def test_bad_method_lists_valid_ones(burgers):
    for call in (
        lambda: burgers.sample_interior(10, method="sobol"),
        lambda: burgers.sample_initial(10, method="sobol"),
        lambda: burgers.sample_face("x", "lower", 10, method="sobol"),
    ):
        with pytest.raises(ValueError, match=r"method.*'lhs', 'uniform', 'grid'"):
            call()


def test_bad_seed(burgers):
    with pytest.raises(TypeError, match="seed"):
        burgers.sample_interior(10, seed="abc")
    with pytest.raises(TypeError, match="seed"):
        burgers.sample_interior(10, seed=-1)


def test_unknown_coordinate_lists_known(burgers):
    with pytest.raises(ValueError, match=r"'z'.*\['x', 't'\]"):
        burgers.index("z")


@pytest.mark.parametrize("population, n", [(456, 100), (10, 10), (7, 3), (5, 1)])
def test_stratified_choice_one_per_stratum(population, n):
    chosen = stratified_choice(population, n, seed=3)
    assert chosen.shape == (n,) and chosen.dtype.kind == "i"
    assert len(set(chosen.tolist())) == n and chosen.min() >= 0 and chosen.max() < population
    edges = np.array([k * population // n for k in range(n + 1)])  # strata [edges[k], edges[k+1])
    assert set(np.diff(edges)) <= {population // n, -(-population // n)}  # sizes differ by <= 1
    assert np.array_equal(np.searchsorted(edges, chosen, side="right") - 1, np.arange(n))


def test_stratified_choice_reproducible_and_random():
    a, b = stratified_choice(456, 100, seed=0), stratified_choice(456, 100, seed=0)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, stratified_choice(456, 100, seed=1))
    draws = np.stack([stratified_choice(456, 100, seed=s) for s in range(200)])
    assert set(np.unique(draws[:, 0])) == {0, 1, 2, 3}  # the first stratum, each index drawn


def test_stratified_choice_leaves_no_large_gap():
    # the Burgers example's use: the largest gap between chosen neighbours is under two strata
    for seed in range(20):
        gaps = np.diff(np.concatenate([[-1], stratified_choice(456, 100, seed=seed), [456]]))
        assert gaps.max() <= 2 * 5


@pytest.mark.parametrize(
    "args, error, match",
    [((0, 1), ValueError, "population"), ((5, 0), ValueError, "n must"), ((5, 6), ValueError, "at most"),
     ((5.0, 2), TypeError, "population"), ((5, True), TypeError, "n must")],
)
def test_stratified_choice_errors(args, error, match):
    with pytest.raises(error, match=match):
        stratified_choice(*args)
