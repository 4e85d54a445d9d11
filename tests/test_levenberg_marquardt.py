"""The Levenberg–Marquardt phase measured by benchmarks/compare.py: its residual vector and Jacobian
against pinn's loss and gradient, and the iteration on small least-squares problems."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

import pinn
from pinn.equations import Burgers, BurgersIdentification

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import _levenberg_marquardt as lm  # noqa: E402
import compare  # noqa: E402
from test_compare_benchmark import small_args  # noqa: E402


def small_problem(equation, rng: np.random.Generator) -> pinn.Problem:
    """Equation residuals on 40 points and three kinds of condition: stored targets, a weight,
    two point sets (periodic)."""
    domain = pinn.Interval(-1.0, 1.0, "x") * pinn.TimeInterval(0.0, 1.0, "t")
    network = pinn.mlp(2, 1, [6, 6], lower=domain.lower, upper=domain.upper, dtype="float64", seed=3)
    t = rng.uniform(0, 1, (7, 1))
    conditions = [
        pinn.Observations(rng.uniform(-1, 1, (9, 2)), rng.normal(size=(9, 1)), name="data"),
        pinn.DirichletBC("u", np.hstack([-np.ones_like(t), t]), 0.0, name="left", weight=0.3),
        pinn.PeriodicBC("u", "x", np.hstack([-np.ones_like(t), t]), np.hstack([np.ones_like(t), t]),
                        name="periodic"),  # values and x-derivatives: two rows per pair
    ]
    return pinn.Problem(equation, network, domain.sample_interior(40, "lhs", seed=1), conditions)


@pytest.mark.parametrize("equation", [Burgers, BurgersIdentification])
def test_residual_vector_and_jacobian_give_the_loss_and_its_gradient(equation):
    problem = small_problem(equation(), np.random.default_rng(0))
    residuals = lm.ResidualJacobian(problem)
    x = residuals.layout.flatten()
    r = residuals.residual(x)
    r2, J = residuals.jacobian(x)
    assert residuals.size == r.shape[0] == 40 + 9 + 7 + 2 * 7 and J.shape == (r.shape[0], x.shape[0])
    np.testing.assert_allclose(r2, r, rtol=1e-12, atol=1e-15)
    with tf.GradientTape() as tape:
        loss, _ = problem.loss()
    gradient = residuals.layout.pack(tape.gradient(loss, problem.variables)).numpy()
    assert float(r @ r) == pytest.approx(float(loss), rel=1e-12)
    np.testing.assert_allclose(2.0 * J.T @ r, gradient, rtol=1e-9, atol=1e-12 * np.abs(gradient).max())
    # every row, not only J^T r: the batched residual's Jacobian by reverse mode
    with tf.GradientTape() as tape:
        batched = residuals._residual()
    full = tape.jacobian(batched, problem.variables, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    full = np.concatenate([np.reshape(j, (r.shape[0], -1)) for j in full], axis=1)
    np.testing.assert_allclose(J, full, rtol=1e-10, atol=1e-12 * np.abs(full).max())


def rosenbrock(x):
    return np.array([10.0 * (x[1] - x[0] ** 2), 1.0 - x[0]])


def rosenbrock_jacobian(x):
    return rosenbrock(x), np.array([[-20.0 * x[0], 10.0], [-1.0, 0.0]])


def test_levenberg_marquardt_solves_a_nonlinear_least_squares_problem():
    ticks = []
    out = lm.levenberg_marquardt(rosenbrock, rosenbrock_jacobian, np.array([-1.2, 1.0]),
                                 tick=lambda it, nfev, x: ticks.append((it, nfev)) and False)
    np.testing.assert_allclose(out["x"], [1.0, 1.0], atol=1e-8)
    assert out["loss"] < 1e-20 and out["nit"] == ticks[-1][0] and ticks[0] == (0, 1)
    # every trial costs one residual evaluation, every accepted step one Jacobian more
    assert out["nfev"] == 1 + 2 * out["nit"] + out["rejected"]


def test_levenberg_marquardt_stops_when_the_tick_says_so_and_at_maxiter():
    out = lm.levenberg_marquardt(rosenbrock, rosenbrock_jacobian, np.array([-1.2, 1.0]),
                                 tick=lambda it, nfev, x: it >= 3)
    assert out["nit"] == 3 and out["message"] == "budget"
    out = lm.levenberg_marquardt(rosenbrock, rosenbrock_jacobian, np.array([-1.2, 1.0]),
                                 tick=lambda it, nfev, x: False, maxiter=2)
    assert out["nit"] == 2 and out["message"] == "maxiter"


def test_levenberg_marquardt_reports_no_progress_at_a_point_it_cannot_improve():
    # a zero-residual start: no step decreases the loss, mu grows until it gives up
    out = lm.levenberg_marquardt(rosenbrock, rosenbrock_jacobian, np.array([1.0, 1.0]),
                                 tick=lambda it, nfev, x: False)
    assert out["nit"] == 0 and out["message"].startswith("damping too large") and out["rejected"] > 0


@pytest.mark.parametrize("case, after", [("levenberg-marquardt", 0.0), ("ssbfgs-then-lm", 2.0)])
def test_the_compare_cases_run_and_improve(case, after):
    result = compare.run_levenberg_marquardt(small_args(), budget_s=600.0, maxiter=4, after_s=after)
    history = result["error_history"]
    assert result["lm_iterations"] == 4 and history[-1]["iteration"] == result["nit"]
    assert result["best_error"] < history[0]["relative_l2_error"]
    if after:  # SSBFGS iterations first
        assert result["nit"] > 4
