"""The PDE layer: derivatives by name, equations, conditions, problems, trainable coefficients."""

import numpy as np
import pytest
import tensorflow as tf

import pinn
from pinn.equations import Burgers
from pinn.reference.burgers import burgers_solution


def analytic_network(X):
    """Two fields of (x, t): u = sin(2x) exp(-t) + x^3 t^2, v = x t."""
    x, t = X[:, 0:1], X[:, 1:2]
    u = tf.sin(2.0 * x) * tf.exp(-t) + x ** 3 * t ** 2
    return tf.concat([u, x * t], axis=1)


def analytic(points):
    x, t = points[:, 0:1], points[:, 1:2]
    s, c, e = np.sin(2 * x), np.cos(2 * x), np.exp(-t)
    return {
        "u": s * e + x ** 3 * t ** 2,
        "u_x": 2 * c * e + 3 * x ** 2 * t ** 2,
        "u_t": -s * e + 2 * x ** 3 * t,
        "u_xx": -4 * s * e + 6 * x * t ** 2,
        "u_xt": -2 * c * e + 6 * x ** 2 * t,
        "u_tt": s * e + 2 * x ** 3,
        "u_xxx": -8 * c * e + 6 * t ** 2,
        "u_xxt": 4 * s * e + 12 * x * t,
        "v_x": t, "v_t": x, "v_xt": np.ones_like(x), "v_xx": np.zeros_like(x),
    }


POINTS = np.random.default_rng(0).uniform(-1, 1, size=(50, 2))


def derivatives():
    return pinn.Derivatives(analytic_network, tf.constant(POINTS), ("x", "t"), ("u", "v"))


@pytest.mark.parametrize("name", sorted(analytic(POINTS)))
def test_derivatives_by_name_match_analytic(name):
    value = derivatives()[name]
    assert value.shape == (50, 1)
    np.testing.assert_allclose(value.numpy(), analytic(POINTS)[name], rtol=1e-10, atol=1e-12)


def test_mixed_partials_are_one_derivative_and_computed_once():
    d = derivatives()
    a = d["u_xt"]
    passes = d.backward_passes
    b = d["u_tx"]
    assert b is a and d.backward_passes == passes
    d.u_xx  # shares the pass that made u_xt
    assert d.backward_passes == passes
    np.testing.assert_allclose(d.derivative("u", "x", "t").numpy(), a.numpy())
    np.testing.assert_allclose(d["x"].numpy(), POINTS[:, :1])


def test_each_derivative_is_computed_once_per_evaluation():
    d = derivatives()
    for _ in range(3):
        d.u_t, d.u_x, d.u_xx, d.u
    # u -> (u_x, u_t) is one pass, u_x -> (u_xx, u_xt) another
    assert d.backward_passes == 2


@pytest.mark.parametrize("bad", ["w", "w_x", "u_y", "u_", "ux", "u_xq"])
def test_unknown_field_or_coordinate_names_are_clear_errors(bad):
    with pytest.raises(KeyError, match="fields are \\['u', 'v'\\], coordinates are \\['x', 't'\\]"):
        derivatives()[bad]


def test_longer_coordinate_names_parse():
    net = lambda X: X[:, :1] ** 2 * X[:, 1:2]
    d = pinn.Derivatives(net, tf.constant(POINTS), ("x1", "x2"), ("u",))
    np.testing.assert_allclose(d["u_x1x1"].numpy(), 2 * POINTS[:, 1:2])
    np.testing.assert_allclose(d["u_x1x2"].numpy(), 2 * POINTS[:, :1])


class FiniteDifferenceDerivatives:
    """u, u_t, u_x, u_xx of the exact Burgers solution by central differences (for residual checks)."""

    def __init__(self, x, t, nu=0.01 / np.pi, h=1e-4):
        u = lambda dx, dt: np.diag(burgers_solution(x + dx, t + dt, nu=nu))
        self.values = {
            "u": u(0, 0),
            "u_t": (u(0, h) - u(0, -h)) / (2 * h),
            "u_x": (u(h, 0) - u(-h, 0)) / (2 * h),
            "u_xx": (u(h, 0) - 2 * u(0, 0) + u(-h, 0)) / h ** 2,
        }

    def __getattr__(self, name):
        return self.values[name]


def test_burgers_residual_of_the_reference_solution_is_small():
    rng = np.random.default_rng(1)
    x = rng.uniform(-0.9, 0.9, 40)
    t = rng.uniform(0.05, 0.3, 40)  # before the shock steepens: differences are accurate
    d = FiniteDifferenceDerivatives(x, t)
    residual = Burgers().residual(d)
    scale = np.abs(d.u_t).max()
    assert np.abs(residual).max() < 1e-5 * scale
    wrong = Burgers(nu=0.02 / np.pi).residual(d)  # the check can fail
    assert np.abs(wrong).max() > 1e-2 * scale


# -- conditions ----------------------------------------------------------------------------------
class Field(pinn.Equation):
    coordinates = ("x", "t")
    fields = ("u",)

    def residual(self, d):
        return d.u_t  # not used by these tests


def condition_loss(condition, network):
    condition.build(tf.float64)
    ds = [pinn.Derivatives(network, tf.constant(p), ("x", "t"), ("u",)) for p in condition.point_sets]
    return float(condition.loss(*ds))


def u_of(f):
    return lambda X: f(X[:, 0:1], X[:, 1:2])


DOMAIN = pinn.Interval(-1, 1) * pinn.TimeInterval(0, 1)


def test_dirichlet_and_initial_conditions():
    boundary, _ = DOMAIN.sample_boundary(20, seed=0)
    initial = DOMAIN.sample_initial(20, seed=0)
    good = u_of(lambda x, t: -tf.sin(np.pi * x) * (1 + t))
    bc = pinn.DirichletBC("u", boundary, 0.0)
    ic = pinn.InitialCondition("u", initial, lambda p: -np.sin(np.pi * p[:, 0]))
    assert condition_loss(bc, good) < 1e-28 and condition_loss(ic, good) < 1e-28
    bad = u_of(lambda x, t: -tf.sin(np.pi * x) + 0.1 * t + 0.1)
    assert condition_loss(bc, bad) > 1e-4 and condition_loss(ic, bad) > 1e-4


def test_initial_derivative_condition():
    initial = DOMAIN.sample_initial(20, seed=1)
    cond = pinn.InitialDerivative("u", initial, lambda p: np.cos(p[:, 0]))
    assert condition_loss(cond, u_of(lambda x, t: t * tf.cos(x) + x ** 2)) < 1e-28
    assert condition_loss(cond, u_of(lambda x, t: 2 * t * tf.cos(x))) > 1e-2


def test_neumann_and_robin_conditions():
    points, normals = DOMAIN.sample_boundary(20, seed=2)
    assert set(np.unique(normals[:, 0])) == {-1.0, 1.0} and np.all(normals[:, 1] == 0)
    # u = x^2 (1 + t): outward derivative at x = +-1 is 2 (1 + t)
    u = u_of(lambda x, t: x ** 2 * (1 + t))
    neumann = pinn.NeumannBC("u", points, normals=normals, value=lambda p: 2 * (1 + p[:, 1]))
    assert condition_loss(neumann, u) < 1e-26
    assert condition_loss(neumann, u_of(lambda x, t: x * (1 + t))) > 1e-2
    # Robin: u + 0.5 du/dn = (1 + t) + (1 + t) = 2 (1 + t)
    robin = pinn.RobinBC("u", points, normals=normals, alpha=1.0, beta=0.5, value=lambda p: 2 * (1 + p[:, 1]))
    assert condition_loss(robin, u) < 1e-26
    assert condition_loss(robin, u_of(lambda x, t: x ** 2 * (2 + t))) > 1e-2


def test_periodic_condition_on_values_and_derivatives():
    lower, upper = DOMAIN.periodic_pairs("x", 20, seed=3)
    cond = pinn.PeriodicBC("u", "x", lower, upper)
    assert condition_loss(cond, u_of(lambda x, t: tf.sin(np.pi * x + t))) < 1e-26
    # equal values at both ends but different slopes: only the derivative part can catch it
    assert condition_loss(cond, u_of(lambda x, t: x ** 2 * t)) > 1e-2
    values_only = pinn.PeriodicBC("u", "x", lower, upper, derivatives=(0,))
    assert condition_loss(values_only, u_of(lambda x, t: x ** 2 * t)) < 1e-28


def test_observations_condition():
    points = DOMAIN.sample_interior(30, seed=4)
    cond = pinn.Observations(points, np.sin(points[:, 0]) * points[:, 1], ("u",))
    assert condition_loss(cond, u_of(lambda x, t: tf.sin(x) * t)) < 1e-28
    assert condition_loss(cond, u_of(lambda x, t: tf.sin(x) * t + 0.01)) == pytest.approx(1e-4, rel=1e-6)
    weighted = pinn.Observations(points, np.sin(points[:, 0]) * points[:, 1], ("u",), weight=3.0)
    assert condition_loss(weighted, u_of(lambda x, t: tf.sin(x) * t + 0.01)) == pytest.approx(3e-4, rel=1e-6)


# -- problems and their checks ---------------------------------------------------------------------
def burgers_problem(dtype="float64", **kw):
    net = pinn.mlp(2, 1, [8, 8], lower=DOMAIN.lower, upper=DOMAIN.upper, dtype=dtype, seed=0)
    initial = DOMAIN.sample_initial(10, seed=0)
    args = dict(
        equation=Burgers(), network=net, collocation=DOMAIN.sample_interior(50, seed=0),
        conditions=[pinn.InitialCondition("u", initial, lambda p: -np.sin(np.pi * p[:, 0]))],
        dtype=dtype,
    )
    args.update(kw)
    return pinn.Problem(**args)


def test_problem_loss_has_named_terms_that_sum_to_the_total():
    problem = burgers_problem()
    total, terms = problem.loss()
    assert list(terms) == ["pde", "initial_u"]
    assert float(total) == pytest.approx(sum(float(v) for v in terms.values()), rel=1e-12)
    assert problem.predict(np.zeros((3, 2))).shape == (3, 1)


def test_problem_checks_residual_names_before_training():
    class Typo(Burgers):
        def residual(self, d):
            return d.u_t + d.u * d.u_y

    with pytest.raises(AttributeError, match="'u_y'.*coordinates are \\['x', 't'\\]"):
        burgers_problem(equation=Typo())

    class UnknownField(Burgers):
        def residual(self, d):
            return d["v_t"]

    with pytest.raises(KeyError, match="'v_t'.*fields are \\['u'\\]"):
        burgers_problem(equation=UnknownField())


def test_problem_rejects_bad_points_and_data():
    with pytest.raises(ValueError, match="collocation must have 2 columns"):
        burgers_problem(collocation=np.zeros((10, 3)))
    with pytest.raises(ValueError, match="collocation has zero points"):
        burgers_problem(collocation=np.zeros((0, 2)))
    with pytest.raises(ValueError, match="collocation contains NaN"):
        burgers_problem(collocation=np.full((4, 2), np.nan))
    points = DOMAIN.sample_interior(10, seed=0)
    with pytest.raises(ValueError, match=r"values of 'data' must give 10 values.*got shape \(9,\)"):
        pinn.Observations(points, np.zeros(9))
    bad = np.zeros(10)
    bad[3] = np.nan
    with pytest.raises(ValueError, match="values of 'data' contains NaN"):
        pinn.Observations(points, bad)
    with pytest.raises(ValueError, match="has zero points"):
        pinn.DirichletBC("u", np.zeros((0, 2)))


def test_problem_rejects_conditions_on_unknown_coordinates_and_fields():
    lower, upper = pinn.Box([0, 0, 0], [1, 1, 1]).periodic_pairs("y", 5, seed=0)
    with pytest.raises(ValueError, match="coordinate\\(s\\) \\['y'\\] that the domain lacks"):
        burgers_problem(conditions=[pinn.PeriodicBC("u", "y", lower[:, :2], upper[:, :2])])
    with pytest.raises(ValueError, match="field\\(s\\) \\['h'\\]"):
        burgers_problem(conditions=[pinn.DirichletBC("h", np.zeros((3, 2)))])
    with pytest.raises(ValueError, match="unique"):
        c = pinn.DirichletBC("u", np.zeros((3, 2)))
        burgers_problem(conditions=[c, pinn.DirichletBC("u", np.ones((3, 2)))])


def test_domain_with_lower_not_below_upper_is_rejected():
    with pytest.raises(ValueError, match="lower"):
        pinn.Interval(1.0, -1.0)


def test_problem_rejects_network_of_the_wrong_dtype_or_shape():
    with pytest.raises(ValueError, match="dtype.*float32.*float64"):
        burgers_problem(network=pinn.mlp(2, 1, [4], dtype="float32"))
    with pytest.raises(ValueError, match=r"outputs \['u'\]"):
        burgers_problem(network=pinn.mlp(2, 3, [4]))


def test_float32_problem_runs_in_float32():
    problem = burgers_problem(dtype="float32")
    total, _ = problem.loss()
    assert total.dtype == tf.float32


def test_mlp_scales_inputs_to_the_unit_box():
    net = pinn.mlp(2, 1, [4], lower=[-1.0, 0.0], upper=[1.0, 2.0], seed=0)
    scaled = net.get_layer("scale_to_unit_box")(tf.constant([[-1.0, 0.0], [1.0, 2.0], [0.0, 1.0]], tf.float64))
    np.testing.assert_allclose(scaled.numpy(), [[-1, -1], [1, 1], [0, 0]])
    again = pinn.mlp(2, 1, [4], lower=[-1.0, 0.0], upper=[1.0, 2.0], seed=0)
    for a, b in zip(net.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)  # seeded initialisation is reproducible


# -- trainable coefficients ----------------------------------------------------------------------
class Decay(pinn.Equation):
    """u_t + k u = 0."""

    coordinates = ("t",)
    fields = ("u",)
    coefficients = {"k": 1.0}

    def residual(self, d):
        return d.u_t + self.k * d.u


def test_trainable_coefficient_is_identified_through_the_flat_vector():
    t = np.linspace(0, 1, 40)[:, None]
    equation = Decay(k=pinn.Trainable(0.5, positive=True))
    net = pinn.mlp(1, 1, [16], lower=[0.0], upper=[1.0], seed=1)
    problem = pinn.Problem(equation, net, t, [pinn.Observations(t, np.exp(-2.0 * t))])
    assert problem.variables[-1] is equation.trainable_variables[0]
    result = pinn.Trainer(problem).train(adam_steps=0, lbfgs_options={"maxiter": 2000})
    assert result.lbfgs.fun < 1e-6
    assert equation.coefficient_values()["k"] == pytest.approx(2.0, rel=1e-2)


def test_equation_coefficient_overrides_and_errors():
    assert Burgers(nu=0.5).nu == 0.5
    with pytest.raises(TypeError, match="no coefficient"):
        Burgers(mu=1.0)
    with pytest.raises(ValueError, match="initial must be > 0"):
        pinn.Trainable(-1.0, positive=True)


class Oscillator(pinn.Equation):
    """A system: u_t = v, v_t = -omega^2 u (two fields, two named residuals)."""

    coordinates = ("t",)
    fields = ("u", "v")
    coefficients = {"omega": 2.0}

    def residual(self, d):
        return {"velocity": d.u_t - d.v, "acceleration": d.v_t + self.omega ** 2 * d.u}


def test_systems_with_several_fields_and_named_residuals():
    t = np.linspace(0, 1.5, 60)[:, None]
    initial = np.zeros((1, 1))
    net = pinn.mlp(1, 2, [20, 20], lower=[0.0], upper=[1.5], seed=2)
    problem = pinn.Problem(
        Oscillator(), net, t,
        [pinn.InitialCondition("u", initial, 1.0), pinn.InitialCondition("v", initial, 0.0)],
    )
    assert problem.residual_names == ["velocity", "acceleration"]
    _, terms = problem.loss()
    assert list(terms) == ["velocity", "acceleration", "initial_u", "initial_v"]
    result = pinn.Trainer(problem).train(lbfgs_options={"maxiter": 3000})
    assert set(result.history.term_names) == set(terms)
    prediction = problem.predict(t)
    np.testing.assert_allclose(prediction[:, 0], np.cos(2 * t[:, 0]), atol=1e-3)
    np.testing.assert_allclose(prediction[:, 1], -2 * np.sin(2 * t[:, 0]), atol=5e-3)


@pytest.mark.parametrize("returned, names", [
    ("tensor", ["pde"]), ("tuple", ["pde_0", "pde_1"]), ("dict", ["velocity", "7"]),
])
def test_named_residuals_names_terms_as_the_problems_do(returned, names):
    def residual(self, d):
        a, b = d.u_t - d.v, d.v_t + d.u
        return {"tensor": a, "tuple": (a, b), "dict": {"velocity": a, 7: b}}[returned]

    Eq = type("Eq", (pinn.Equation,), {"coordinates": ("t",), "fields": ("u", "v"), "residual": residual})
    t = np.linspace(0, 1, 5)[:, None]
    net = pinn.mlp(1, 2, [4], lower=[0.0], upper=[1.0], seed=0)
    d = pinn.Derivatives(net, tf.constant(t), ("t",), ("u", "v"))
    terms = Eq().named_residuals(d)
    assert list(terms) == names
    np.testing.assert_allclose(terms[names[0]].numpy(), (d.u_t - d.v).numpy())
    assert pinn.Problem(Eq(), net, t).residual_names == names
