"""Exact Burgers solution (pinn.reference.burgers) and reference-data IO (pinn.data)."""

from __future__ import annotations


import numpy as np
import pytest

from pinn.data import (
    BURGERS_PATH,
    load_burgers,
    load_reference,
    load_reference_attrs,
    save_reference,
)
from pinn.reference.burgers import (
    DEFAULT_QUADRATURE_POINTS,
    NU,
    burgers_reference_grid,
    burgers_solution,
    main,
)


@pytest.fixture(scope="module")
def grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return burgers_reference_grid()


# (a) agreement with the original paper's file -------------------------------------------------


def test_matches_raissi_burgers_shock(grid, paper_file):
    ref = load_reference(paper_file("burgers_shock.mat"), names=["x", "t", "usol"])
    x, t, usol = grid
    np.testing.assert_array_equal(x, ref["x"])
    np.testing.assert_allclose(t, ref["t"], rtol=0, atol=1e-15)
    assert np.max(np.abs(usol - ref["usol"])) < 1e-8


def test_too_few_quadrature_points_are_detectably_worse(paper_file):
    """The 1e-8 comparison can fail: 20 nodes miss the paper's data badly."""
    ref = load_reference(paper_file("burgers_shock.mat"), names=["usol"])["usol"]
    _, _, coarse = burgers_reference_grid(quadrature_points=20)
    assert np.max(np.abs(coarse - ref)) > 1e-6


# (b) shipped file --------------------------------------------------------------------------------


def test_shipped_file_equals_fresh_grid(grid):
    x, t, usol = load_burgers()
    assert x.shape == (256,) and t.shape == (100,) and usol.shape == (256, 100)
    assert usol.dtype == np.float64
    fx, ft, fu = grid
    np.testing.assert_allclose(x, fx, rtol=0, atol=1e-12)
    np.testing.assert_allclose(t, ft, rtol=0, atol=1e-12)
    np.testing.assert_allclose(usol, fu, rtol=0, atol=1e-12)
    attrs = load_reference_attrs(BURGERS_PATH)
    assert attrs["nu"] == pytest.approx(0.01 / np.pi, rel=1e-15)
    assert "python -m pinn.reference.burgers" in attrs["description"]


def test_main_writes_file(tmp_path, grid):
    out = main(["--out", str(tmp_path / "sub" / "b.h5")])
    assert out == (tmp_path / "sub" / "b.h5").resolve()
    x, t, usol = load_burgers(out)
    np.testing.assert_array_equal(usol, grid[2])
    assert [p.name for p in out.parent.iterdir()] == ["b.h5"]  # no temporary file left behind


# (c) PDE residual --------------------------------------------------------------------------------


def _burgers_residual(nu_solution: float, nu_equation: float) -> tuple[float, float]:
    """Max |u_t + u u_x - nu u_xx| by central differences (h = 1e-3), and the max term size.

    Points: x in ±[0.1, 0.9] (away from the shock at x = 0), t in [0.05, 0.95].
    """
    h = 1e-3
    x0 = np.concatenate([np.linspace(-0.9, -0.1, 9), np.linspace(0.1, 0.9, 9)])
    t0 = np.linspace(0.05, 0.95, 10)
    offsets = np.array([-h, 0.0, h])
    x = (x0[:, None] + offsets).ravel()
    t = (t0[:, None] + offsets).ravel()
    u = burgers_solution(x, t, nu=nu_solution).reshape(x0.size, 3, t0.size, 3)
    uc = u[:, 1, :, 1]
    u_t = (u[:, 1, :, 2] - u[:, 1, :, 0]) / (2 * h)
    u_x = (u[:, 2, :, 1] - u[:, 0, :, 1]) / (2 * h)
    u_xx = (u[:, 2, :, 1] - 2 * uc + u[:, 0, :, 1]) / h**2
    residual = u_t + uc * u_x - nu_equation * u_xx
    scale = max(np.abs(u_t).max(), np.abs(uc * u_x).max(), np.abs(nu_equation * u_xx).max())
    return float(np.abs(residual).max()), float(scale)


RESIDUAL_RTOL = 1e-3  # finite-difference truncation gives ~6e-5 relative


def test_pde_residual_small():
    residual, scale = _burgers_residual(NU, NU)
    assert scale > 1.0  # the terms are O(1): the check is not vacuous
    assert residual < RESIDUAL_RTOL * scale


@pytest.mark.parametrize("nu_solution, nu_equation", [(NU, 2 * NU), (2 * NU, NU)])
def test_pde_residual_detects_wrong_viscosity(nu_solution, nu_equation):
    residual, scale = _burgers_residual(nu_solution, nu_equation)
    assert residual > 10 * RESIDUAL_RTOL * scale


# (d) initial and boundary conditions -------------------------------------------------------------


def test_initial_condition_exact_and_continuous():
    x = np.linspace(-1, 1, 101)
    u = burgers_solution(x, [0.0, 1e-7])
    np.testing.assert_array_equal(u[:, 0], -np.sin(np.pi * x))
    np.testing.assert_allclose(u[:, 1], -np.sin(np.pi * x), rtol=0, atol=1e-5)


def test_boundary_conditions(grid):
    t = np.linspace(0, 1, 21)
    u = burgers_solution([-1.0, 1.0], t)
    assert np.max(np.abs(u)) < 1e-12
    _, _, usol = grid
    assert np.max(np.abs(usol[[0, -1], :])) < 1e-12


def test_solution_is_odd_in_x():
    x = np.linspace(-1, 1, 41)
    u = burgers_solution(x, [0.2, 0.7])
    np.testing.assert_allclose(u, -u[::-1], rtol=0, atol=1e-12)


def test_quadrature_converged():
    x = np.linspace(-1, 1, 33)
    t = np.array([0.01, 0.3, 0.99])
    a = burgers_solution(x, t, quadrature_points=DEFAULT_QUADRATURE_POINTS)
    b = burgers_solution(x, t, quadrature_points=200)
    assert np.max(np.abs(a - b)) < 1e-13


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"x": np.zeros((2, 2)), "t": [0.1]}, "x"),
        ({"x": [0.0], "t": [-0.1]}, "t"),
        ({"x": [np.nan], "t": [0.1]}, "x"),
        ({"x": [0.0], "t": [0.1], "nu": 0.0}, "nu"),
        ({"x": [0.0], "t": [0.1], "quadrature_points": 0}, "quadrature_points"),
        ({"x": [0.0], "t": [0.1], "quadrature_points": 1000}, "quadrature_points"),
        ({"x": [0.0], "t": [0.1], "quadrature_points": 50.0}, "quadrature_points"),
    ],
)
def test_solution_argument_errors(kwargs, match):
    with pytest.raises(ValueError, match=rf"burgers_solution\({match}\)"):
        burgers_solution(**kwargs)


# (e) IO --------------------------------------------------------------------------------------------


def test_save_load_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {
        "x": rng.standard_normal(7),
        "field": rng.standard_normal((7, 3)),
        "count": np.arange(4),  # stored as float64
        "psi": rng.standard_normal(5) + 1j * rng.standard_normal(5),
    }
    attrs = {"description": "test data", "nu": 0.01 / np.pi, "n": 3, "grid": np.array([1.0, 2.0])}
    path = save_reference(tmp_path / "r.h5", attrs=attrs, **arrays)
    assert path == (tmp_path / "r.h5").resolve()

    loaded = load_reference(path)
    assert set(loaded) == set(arrays)
    for name, value in arrays.items():
        np.testing.assert_array_equal(loaded[name], value)
    assert loaded["count"].dtype == np.float64
    assert loaded["psi"].dtype == np.complex128

    got = load_reference_attrs(path)
    assert set(got) == set(attrs)
    assert got["description"] == "test data"
    assert got["nu"] == attrs["nu"]
    assert got["n"] == 3
    np.testing.assert_array_equal(got["grid"], attrs["grid"])

    # overwrite in place (atomic replace), select names in the given order
    save_reference(path, x=np.ones(2))
    assert list(load_reference(path, names=["x"])) == ["x"]
    assert load_reference_attrs(path) == {}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.h5"]


def test_save_errors(tmp_path):
    with pytest.raises(ValueError, match=r"\.h5"):
        save_reference(tmp_path / "r.npz", x=np.ones(2))
    with pytest.raises(ValueError, match="at least one array"):
        save_reference(tmp_path / "r.h5")
    with pytest.raises(TypeError, match="'s'"):
        save_reference(tmp_path / "r.h5", s=np.array(["a"]))
    assert list(tmp_path.iterdir()) == []


def test_mat_loader_squeezes_vectors(paper_file):
    data = load_reference(paper_file("burgers_shock.mat"))
    assert set(data) == {"x", "t", "usol"}
    assert data["x"].shape == (256,) and data["t"].shape == (100,)
    assert data["usol"].shape == (256, 100)
    x, t, usol = load_burgers(paper_file("burgers_shock.mat"))
    assert usol.shape == (x.size, t.size)


def test_mat_loader_keeps_complex(paper_file):
    data = load_reference(paper_file("NLS.mat"), names=["x", "tt", "uu"])
    assert data["x"].shape == (256,) and data["tt"].shape == (201,)
    assert data["uu"].shape == (256, 201) and np.iscomplexobj(data["uu"])


def test_load_errors(tmp_path):
    missing = tmp_path / "nothing.h5"
    with pytest.raises(FileNotFoundError, match="nothing.h5"):
        load_reference(missing)
    with pytest.raises(FileNotFoundError, match="nothing.h5"):
        load_burgers(missing)
    with pytest.raises(ValueError, match=r"\.h5.*\.hdf5.*\.mat"):
        load_reference(tmp_path / "data.csv")

    path = save_reference(tmp_path / "r.h5", x=np.zeros(3), t=np.zeros(2))
    with pytest.raises(KeyError, match=r"'usol'.*\['t', 'x'\]"):
        load_reference(path, names=["x", "usol"])
    with pytest.raises(KeyError, match="usol"):
        load_burgers(path)

    bad = save_reference(tmp_path / "bad.h5", x=np.zeros(3), t=np.zeros(2), usol=np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, 2\)"):
        load_burgers(bad)
