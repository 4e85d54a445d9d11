"""pinn.quasi_newton: dense SSBFGS / SSBroyden / BFGS phases on a CompiledObjective."""

import numpy as np
import pytest
import tensorflow as tf

import pinn
from pinn.equations import Burgers
from pinn.quasi_newton import (
    QUASI_NEWTON_DEFAULTS,
    QUASI_NEWTON_METHODS,
    QuasiNewtonState,
    _rank_two,
    _step,
    quasi_newton,
    self_scaling,
)
from pinn.status import Status

METHODS = list(QUASI_NEWTON_METHODS)


# -- problems -----------------------------------------------------------------------------------
def quadratic(n=30, seed=0):
    """0.5 (v - v*)^T A (v - v*), A SPD with eigenvalues 1..100; minimum 0 at v*."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    A = q @ np.diag(np.linspace(1.0, 100.0, n)) @ q.T
    A = tf.constant((A + A.T) / 2)
    target = rng.standard_normal(n)
    v = tf.Variable(np.zeros(n))
    loss = lambda: 0.5 * tf.tensordot(v - target, tf.linalg.matvec(A, v - target), 1)
    return pinn.CompiledObjective(loss, [v]), v, target


def rosenbrock_loss(z):
    return tf.reduce_sum(100.0 * (z[1:] - z[:-1] ** 2) ** 2 + (1.0 - z[:-1]) ** 2)


def rosenbrock(start=None):
    z = tf.Variable(np.zeros(10) if start is None else np.asarray(start, dtype=np.float64))
    return pinn.CompiledObjective(lambda: rosenbrock_loss(z), [z]), z


class Recording(pinn.CompiledObjective):
    """A CompiledObjective that remembers every loss it returned."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.values = []

    def __call__(self, x):
        evaluation = super().__call__(x)
        self.values.append(evaluation.fun)
        return evaluation


class Collect(pinn.Callback):
    def __init__(self, stop_at=None, interrupt_at=None):
        self.logs, self.begin, self.end = [], [], []
        self.stop_at, self.interrupt_at = stop_at, interrupt_at

    def on_phase_begin(self, logs):
        self.begin.append(dict(logs))

    def on_iteration_end(self, iteration, logs):
        self.logs.append(dict(logs))
        if self.stop_at is not None and len(self.logs) >= self.stop_at:
            self.stop_training = True
        if self.interrupt_at is not None and len(self.logs) == self.interrupt_at:
            raise KeyboardInterrupt

    def on_phase_end(self, logs):
        self.end.append(dict(logs))


# -- convergence --------------------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_each_method_minimises_a_convex_quadratic_to_gtol(method):
    objective, v, target = quadratic()
    result = quasi_newton(objective, method, options={"gtol": 1e-10})
    assert result.status is Status.CONVERGED and result.success
    assert "gtol" in result.message
    assert np.max(np.abs(result.jac)) <= 1e-10
    np.testing.assert_allclose(v.numpy(), target, atol=1e-10)
    np.testing.assert_array_equal(v.numpy(), result.x)
    assert result.method == method and result.phase == method.lower()
    assert result.quasi_newton_state.skipped == 0


@pytest.mark.parametrize("method", METHODS)
def test_each_method_minimises_rosenbrock_10_to_gtol(method):
    objective, z = rosenbrock()
    result = quasi_newton(objective, method, options={"gtol": 1e-10})
    assert result.status is Status.CONVERGED
    assert result.fun < 1e-20
    np.testing.assert_allclose(z.numpy(), 1.0, atol=1e-10)
    assert result.nfev < 2 * result.nit  # the interpolated first step is mostly accepted


@pytest.mark.parametrize("method", METHODS)
def test_the_update_is_the_self_scaled_broyden_formula(method):
    """One step against H+ = (1/tau)[H - Hy y^T H / y^T H y + phi (y^T H y) v v^T] + s s^T / s^T y."""
    rng = np.random.default_rng(1)
    n = 7
    m = rng.standard_normal((n, n))
    H = m @ m.T + n * np.eye(n)
    d = QuasiNewtonState(n).state()
    d["H"], d["updates"] = H, 3
    state = QuasiNewtonState.from_state(d)
    g = rng.standard_normal(n)
    state.x, state.f, state.g, state.p = np.zeros(n), 1.0, g, -H @ g
    alpha = 0.7
    s = alpha * state.p
    y = 1.3 * s + 0.2 * rng.standard_normal(n) * np.linalg.norm(s)
    assert s @ y > 0
    g_new = g + y
    _step(state, state._matrix, method, False, alpha, s, g, g_new, s, 0.5, True)
    rho, u = 1.0 / (s @ y), H @ y
    q = y @ u
    b, h = -alpha * rho * (s @ g), q * rho
    tau, phi = self_scaling(method, b, h, n)
    v = rho * s - u / q
    expected = (H - np.outer(u, u) / q + phi * q * np.outer(v, v)) / tau + rho * np.outer(s, s)
    np.testing.assert_allclose(state.H, expected, rtol=1e-12, atol=1e-12 * np.abs(expected).max())
    np.testing.assert_allclose(state.p, -expected @ g_new, rtol=1e-10, atol=1e-12)
    if method == "BFGS-dense":  # SciPy's BFGS formula (Nocedal & Wright eq. 6.17)
        A1 = np.eye(n) - rho * np.outer(s, y)
        scipy_form = A1 @ H @ A1.T + rho * np.outer(s, s)
        np.testing.assert_allclose(state.H, scipy_form, rtol=1e-12, atol=1e-12 * np.abs(H).max())


@pytest.mark.parametrize("A, B, C", [(0.0, -2.0, 3.0), (1.5, -2.0, 0.5), (-1.0, 0.5, 2.0),
                                     (2.0, 0.5, 1.0), (-2.0, 0.5, -1.0), (0.0, 0.0, 4.0)])
def test_rank_two_update_in_every_case(A, B, C):
    """Indefinite (one syr2), definite of either sign and degenerate (syr) coefficient matrices."""
    rng = np.random.default_rng(2)
    u, s = rng.standard_normal(6), rng.standard_normal(6)
    state = QuasiNewtonState(6)
    _rank_two(state._matrix, A, B, C, u, s)
    expected = np.eye(6) + A * np.outer(u, u) + B * (np.outer(u, s) + np.outer(s, u)) + C * np.outer(s, s)
    np.testing.assert_allclose(state.H, expected, rtol=1e-13, atol=1e-13)


def test_self_scaling_parameters():
    for b, h in ((0.5, 3.0), (2.0, 1.5), (1.0, 4.0), (0.3, 0.2)):
        assert self_scaling("BFGS-dense", b, h, 100) == (1.0, 1.0)
        assert self_scaling("SSBFGS", b, h, 100) == (min(1.0, 1.0 / b), 1.0)
        assert self_scaling("BFGS-dense", b, h, 100, first=True) == (h, 1.0)
        for method in ("SSBroyden1", "SSBroyden2"):
            tau, phi = self_scaling(method, b, h, 100)
            assert tau > 0 and np.isfinite(phi)
            a = b * h - 1
            theta = (1 - phi) / (1 + a * phi) if a > 1e-12 else 0.0  # phi = (1 - theta)/(1 + a theta)
            assert 1 + a * theta > 0  # positive definiteness is kept
    # s parallel to H y (a = bh - 1 = 0): every Broyden member is BFGS
    assert self_scaling("SSBroyden2", 0.5, 2.0, 10)[1] == 1.0
    # SSBroyden2, b < 1: theta = min(theta_+, (1 - b)/b) when above theta_-
    b, h, n = 0.8, 2.0, 50
    a = b * h - 1
    c = np.sqrt(a / (1 + a))
    rho_minus = min(1.0, h * (1 - c))
    theta = max((rho_minus - 1) / a, min(1 / rho_minus, (1 - b) / b))
    sigma = 1 + a * theta
    tau, phi = self_scaling("SSBroyden2", b, h, n)
    assert phi == pytest.approx((1 - theta) / sigma, rel=1e-15)
    expected_tau = min(1, 1 / b) * min(sigma ** (-1 / (n - 1)), 1 / theta) if theta > 0 else \
        min(min(1, 1 / b) * sigma ** (-1 / (n - 1)), sigma)
    assert tau == pytest.approx(expected_tau, rel=1e-15)


# -- statuses -----------------------------------------------------------------------------------
def test_maxiter_and_maxfun_limits():
    objective, _ = rosenbrock()
    result = quasi_newton(objective, "SSBroyden2", options={"maxiter": 5})
    assert result.status is Status.LIMIT_REACHED and result.nit == 5 and "maxiter" in result.message
    objective, _ = rosenbrock()
    result = quasi_newton(objective, "SSBroyden2", options={"maxfun": 7})
    assert result.status is Status.LIMIT_REACHED and result.nfev == 7 and "maxfun" in result.message
    assert objective.nfev == 7


def test_stop_training_from_a_callback():
    objective, _ = rosenbrock()
    collect = Collect(stop_at=3)
    result = quasi_newton(objective, "SSBFGS", callbacks=[collect])
    assert result.status is Status.STOPPED and result.nit == 3 and len(collect.logs) == 3
    assert collect.end[0]["status"] == "stopped"


def test_a_nonfinite_loss_ends_the_phase_at_the_best_finite_point():
    x = tf.Variable(np.zeros(4))
    loss = lambda: tf.where(x[0] > 1.0, tf.constant(np.nan, tf.float64), tf.reduce_sum((x - 3.0) ** 2))
    objective = Recording(loss, [x])
    result = quasi_newton(objective, "SSBroyden2")
    assert result.status is Status.NONFINITE
    assert result.nonfinite_terms
    assert np.isfinite(result.fun) and result.fun == min(v for v in objective.values if np.isfinite(v))
    np.testing.assert_array_equal(x.numpy(), result.x)
    assert result.x[0] <= 1.0


def test_a_nonfinite_starting_point_is_an_error():
    x = tf.Variable(np.array([2.0]))
    objective = pinn.CompiledObjective(lambda: tf.sqrt(1.0 - x[0]), [x])
    with pytest.raises(ValueError, match="not finite at the starting point"):
        quasi_newton(objective, "SSBFGS")


def test_a_line_search_that_cannot_decrease_fails():
    @tf.custom_gradient
    def wrong(w):  # the gradient points uphill
        return tf.reduce_sum(w ** 2), lambda dy: -2.0 * w * dy

    w = tf.Variable(np.ones(3))
    objective = pinn.CompiledObjective(lambda: wrong(w), [w])
    result = quasi_newton(objective, "SSBroyden2", options={"maxls": 6})
    assert result.status is Status.FAILED and "line search" in result.message
    assert result.nfev == 1 + 6 and result.nit == 0
    np.testing.assert_array_equal(w.numpy(), 1.0)  # the start was the best point


def test_failed_line_search_restarts_from_a_scaled_identity():
    v = tf.Variable(np.array([1.0, 1.0]))
    objective = pinn.CompiledObjective(
        lambda: tf.reduce_sum(tf.constant([1.0, 10.0], tf.float64) * v ** 2), [v])
    saved = QuasiNewtonState(2).state()
    saved["H"], saved["updates"] = np.diag([1e12, 1.0]), 1  # a badly scaled "updated" H
    state = QuasiNewtonState.from_state(saved)
    result = quasi_newton(objective, "SSBFGS", options={"maxls": 2, "initial_step": "unit"}, state=state)
    assert result.status is Status.CONVERGED and state.restarts == 1
    assert result.quasi_newton_state is state


def test_an_indefinite_H_is_restarted():
    v = tf.Variable(np.array([1.0, -0.2]))
    objective = pinn.CompiledObjective(
        lambda: tf.reduce_sum(tf.constant([1.0, 10.0], tf.float64) * v ** 2), [v])
    saved = QuasiNewtonState(2).state()
    saved["H"], saved["updates"] = np.array([[1.0, 2.0], [2.0, 1.0]]), 1  # eigenvalues 3, -1
    state = QuasiNewtonState.from_state(saved)
    result = quasi_newton(objective, "SSBFGS", state=state)
    assert result.status is Status.CONVERGED and state.restarts == 1


def test_keyboard_interrupt_from_a_callback_keeps_a_resumable_state():
    objective, z = rosenbrock()
    with pytest.raises(KeyboardInterrupt) as info:
        quasi_newton(objective, "SSBroyden1", callbacks=[Collect(interrupt_at=4)])
    result = info.value.result
    assert result.status is Status.INTERRUPTED and result.nit == 4
    np.testing.assert_array_equal(z.numpy(), result.x)
    state = result.quasi_newton_state
    assert state.iteration == 4
    resumed = quasi_newton(rosenbrock()[0], "SSBroyden1", options={"maxiter": 6}, state=state,
                           start_iteration=4, start_nfev=result.nfev)
    straight = quasi_newton(rosenbrock()[0], "SSBroyden1", options={"maxiter": 10})
    np.testing.assert_array_equal(resumed.quasi_newton_state.x, straight.quasi_newton_state.x)


# -- callbacks and counting ---------------------------------------------------------------------
def test_callbacks_once_per_iteration_with_no_extra_evaluation():
    objective, _ = rosenbrock()
    collect = Collect()
    result = quasi_newton(objective, "SSBroyden2", options={"maxiter": 25}, callbacks=[collect],
                          start_iteration=100, start_nfev=1000)
    assert len(collect.begin) == 1 and len(collect.end) == 1
    assert collect.begin[0]["method"] == "SSBroyden2" and collect.begin[0]["options"]["maxiter"] == 25
    assert [logs["iteration"] for logs in collect.logs] == list(range(101, 126))
    line_search = [logs["line_search_evaluations"] for logs in collect.logs]
    assert objective.nfev == result.nfev == 1 + sum(line_search)
    assert [logs["nfev"] for logs in collect.logs] == list(1000 + 1 + np.cumsum(line_search))
    losses = [logs["loss"] for logs in collect.logs]
    assert all(a >= b for a, b in zip(losses, losses[1:]))  # each iteration decreases the loss
    assert losses[-1] == result.quasi_newton_state.f
    np.testing.assert_array_equal(collect.logs[-1]["x"], result.quasi_newton_state.x)
    assert collect.end[0]["nit"] == 125 and collect.end[0]["nfev"] == 1000 + result.nfev


def test_the_variables_hold_the_best_point_evaluated():
    z = tf.Variable(np.zeros(10))
    objective = Recording(lambda: rosenbrock_loss(z), [z])
    result = quasi_newton(objective, "SSBFGS", options={"maxfun": 40})
    assert result.fun == min(objective.values) == result.best_fun
    np.testing.assert_array_equal(z.numpy(), result.x)
    assert objective(result.x).fun == result.fun


# -- state --------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_state_round_trip_continues_exactly(method):
    straight = quasi_newton(rosenbrock()[0], method, options={"maxiter": 20})
    first = quasi_newton(rosenbrock()[0], method, options={"maxiter": 10})
    saved = first.quasi_newton_state.state()
    assert all(isinstance(v, (np.ndarray, int)) for v in saved.values())
    assert saved["H"].shape == (10, 10) and saved["x"].shape == (10,) and saved["iteration"] == 10
    objective, z = rosenbrock()  # fresh variables: the state's iterate is where it goes on from
    again = quasi_newton(objective, method, options={"maxiter": 10},
                         state=QuasiNewtonState.from_state(saved))
    resumed, expected = again.quasi_newton_state, straight.quasi_newton_state
    assert again.nit == 10 and resumed.iteration == 20
    np.testing.assert_allclose(resumed.x, expected.x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(resumed.H, expected.H, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(resumed.p, expected.p, rtol=1e-12, atol=1e-12)
    assert resumed.f == pytest.approx(expected.f, rel=1e-12)
    np.testing.assert_array_equal(z.numpy(), again.x)
    # the resumed call evaluates its starting point once more (for the tracker's best point)
    assert first.nfev + again.nfev == straight.nfev + 1


def test_drop_iterate_starts_from_the_variables_and_keeps_H():
    z = tf.Variable(np.zeros(10))
    objective = Recording(lambda: rosenbrock_loss(z), [z])
    state = quasi_newton(objective, "SSBroyden2", options={"maxiter": 5}).quasi_newton_state
    assert state.has_iterate and state.updates == 5
    state.drop_iterate()
    assert not state.has_iterate and state.state()["has_iterate"] == 0
    z.assign(np.full(10, 0.5))
    expected = objective(np.full(10, 0.5)).fun
    before = len(objective.values)
    quasi_newton(objective, "SSBroyden2", options={"maxiter": 1}, state=state)
    assert objective.values[before] == expected  # evaluated at the variables first
    assert state.updates + state.skipped == 6 and state.iteration == 6  # H was kept


def test_state_size_and_validation():
    state = QuasiNewtonState(3021)
    assert state.nbytes == 8 * 3021 ** 2 == 73_011_528
    saved = QuasiNewtonState(4).state()
    assert saved["has_iterate"] == 0 and "x" not in saved
    good = dict(saved)
    QuasiNewtonState.from_state(good, check_definite=True)
    bad_cases = {
        "lacks": {k: v for k, v in good.items() if k != "H_scale"},
        "shape": {**good, "H": np.eye(3)},
        "NaN": {**good, "H": np.full((4, 4), np.nan)},
        "not symmetric": {**good, "H": np.eye(4) + np.triu(np.ones((4, 4)), 1)},
        "diagonal": {**good, "H": -np.eye(4)},
        "H_scale": {**good, "H_scale": np.array(-1.0)},
        "iteration": {**good, "iteration": -1},
        "iterate but lacks": {**good, "has_iterate": 1},
        "x must have shape": {**good, "has_iterate": 1, "x": np.zeros(3), "g": np.zeros(4),
                              "p": np.zeros(4), "f": np.array(1.0)},
        "infinite": {**good, "has_iterate": 1, "x": np.zeros(4), "g": np.full(4, np.inf),
                     "p": np.zeros(4), "f": np.array(1.0)},
    }
    for match, case in bad_cases.items():
        with pytest.raises(ValueError, match=match):
            QuasiNewtonState.from_state(case)
    with pytest.raises(ValueError, match="not positive definite"):
        QuasiNewtonState.from_state({**good, "H": np.array([[1.0, 2, 0, 0], [2, 1, 0, 0], [0, 0, 1, 0],
                                                           [0, 0, 0, 1]])}, check_definite=True)
    with pytest.raises(TypeError):
        QuasiNewtonState.from_state([1, 2])
    objective, _ = rosenbrock()
    with pytest.raises(ValueError, match="state of 4 weights; the loss has 10"):
        quasi_newton(objective, state=QuasiNewtonState(4))
    assert objective.nfev == 0


# -- refusals -----------------------------------------------------------------------------------
def test_too_many_weights_for_a_dense_matrix_are_refused_before_any_work():
    objective, _ = rosenbrock()
    with pytest.raises(ValueError, match=r"8 n\^2 .* max_dense_size"):
        quasi_newton(objective, "SSBFGS", options={"max_dense_size": 9})
    assert objective.nfev == 0
    assert QUASI_NEWTON_DEFAULTS["max_dense_size"] == 20000


@pytest.mark.parametrize("kwargs, error, match", [
    ({"options": {"maxiters": 3}}, ValueError, "unknown quasi-Newton option"),
    ({"options": {"maxiter": 0}}, ValueError, r"options\['maxiter'\] must be a positive int"),
    ({"options": {"maxfun": 2.5}}, ValueError, r"options\['maxfun'\]"),
    ({"options": {"gtol": -1.0}}, ValueError, r"options\['gtol'\] must be a finite number >= 0"),
    ({"options": {"ftol": float("nan")}}, ValueError, r"options\['ftol'\]"),
    ({"options": {"c1": 0.95}}, ValueError, r"options\['c1'\] must be < options\['c2'\]"),
    ({"options": {"c2": 1.0}}, ValueError, r"options\['c2'\] must be a finite number in \(0, 1\)"),
    ({"options": {"maxls": 0}}, ValueError, r"options\['maxls'\]"),
    ({"options": {"max_dense_size": 0}}, ValueError, r"options\['max_dense_size'\]"),
    ({"options": {"initial_scale": "yes"}}, ValueError, r"options\['initial_scale'\] must be a bool"),
    ({"options": {"initial_step": "one"}}, ValueError, r"options\['initial_step'\] must be one of"),
    ({"options": [("maxiter", 3)]}, TypeError, "options must be a dict"),
    ({"method": "L-BFGS-B"}, ValueError, "method must be one of the dense quasi-Newton methods"),
    ({"update_backend": "torch"}, ValueError, "update_backend must be one of"),
    ({"start_iteration": -1}, ValueError, "start_iteration"),
    ({"state": np.eye(10)}, TypeError, "state must be a QuasiNewtonState"),
])
def test_bad_arguments_are_rejected_before_any_evaluation(kwargs, error, match):
    objective, _ = rosenbrock()
    with pytest.raises(error, match=match):
        quasi_newton(objective, **kwargs)
    assert objective.nfev == 0


def test_method_names_ignore_case():
    result = quasi_newton(rosenbrock()[0], "ssbroyden2", options={"maxiter": 2})
    assert result.method == "SSBroyden2"


# -- backends -----------------------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_numpy_and_tensorflow_updates_agree(method):
    results = {
        backend: quasi_newton(rosenbrock()[0], method, options={"maxiter": 5},
                              update_backend=backend).quasi_newton_state
        for backend in ("numpy", "tensorflow")
    }
    a, b = results["numpy"], results["tensorflow"]
    assert a.backend == "numpy" and b.backend == "tensorflow"
    np.testing.assert_allclose(b.x, a.x, rtol=1e-12, atol=1e-12 * np.abs(a.x).max())
    np.testing.assert_allclose(b.H, a.H, rtol=1e-12, atol=1e-12 * np.abs(a.H).max())
    np.testing.assert_allclose(b.p, a.p, rtol=1e-12, atol=1e-12 * np.abs(a.p).max())
    # a state moves between backends
    b.use_backend("numpy")
    np.testing.assert_array_equal(b.H, results["tensorflow"].H)


# -- a small PINN -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_burgers():
    """Burgers, 2 hidden layers of 10 (151 weights), 200 collocation points, 100 Adam steps."""
    domain = pinn.Interval(-1, 1) * pinn.TimeInterval(0, 1)
    network = pinn.mlp(2, 1, [10, 10], lower=domain.lower, upper=domain.upper, seed=0)
    initial = domain.sample_initial(50, seed=1)
    boundary, _ = domain.sample_boundary(50, seed=2)
    problem = pinn.Problem(Burgers(), network, domain.sample_interior(200, seed=0), [
        pinn.InitialCondition("u", initial, lambda p: -np.sin(np.pi * p[:, 0])),
        pinn.DirichletBC("u", boundary, 0.0)])
    objective = pinn.CompiledObjective(problem)
    pinn.adam(None, steps=100, learning_rate=1e-2, objective=objective)
    start = objective.layout.flatten()
    lbfgs = pinn.minimize(None, options={"maxfun": 600, "maxiter": 600}, objective=objective)
    return objective, start, lbfgs


# Measured (seed 0, 600 evaluations after 100 Adam steps): L-BFGS-B 3.0e-2; SSBFGS 1.2e-3,
# SSBroyden1 2.3e-3, SSBroyden2 1.3e-3 (13-25x lower), BFGS-dense 3.0e-3 (10x lower); seed 1 gave
# 3.5e-2 against 2.0e-3 to 3.0e-3 and 1.7e-2 (BFGS-dense, 2x). The margins asserted are smaller.
@pytest.mark.parametrize("method, margin", [("SSBFGS", 5.0), ("SSBroyden1", 5.0), ("SSBroyden2", 5.0),
                                            ("BFGS-dense", 1.5)])
def test_small_pinn_beats_lbfgsb_with_the_same_evaluations(small_burgers, method, margin):
    objective, start, lbfgs = small_burgers
    objective.layout.set_flat(start)
    result = quasi_newton(objective, method, options={"maxfun": lbfgs.nfev})
    assert result.nfev == lbfgs.nfev
    assert result.status is Status.LIMIT_REACHED
    assert result.fun * margin < lbfgs.fun
    assert set(result.terms) == {"pde", "initial_u", "dirichlet_u"}
