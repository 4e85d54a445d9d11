"""The method registry, the dense quasi-Newton update formulas, the quasi-Newton state in the
checkpoint (exact resume), and the error history of the examples (ErrorMonitor over a resume)."""

import json
import math
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import tensorflow as tf

import pinn
import pinn.quasi_newton as qn
from pinn.checkpoint import load_checkpoint, pack_upper, save_checkpoint, unpack_upper
from pinn.optimize import METHOD_NAMES, MethodSpec, resolve_method

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


# ---- one registry ------------------------------------------------------------------------------
def test_registry_resolves_every_method_in_any_case_and_lists_them_on_error():
    assert METHOD_NAMES == pinn.GRADIENT_METHODS + pinn.QUASI_NEWTON_METHODS
    for name in METHOD_NAMES:
        spec = resolve_method(name.upper())
        assert isinstance(spec, MethodSpec) and spec.name == name
        assert spec.kind == ("quasi_newton" if name in pinn.QUASI_NEWTON_METHODS else "scipy")
    assert resolve_method("l-bfgs-b").options() == pinn.LBFGS_DEFAULTS
    assert resolve_method("ssbroyden2").options({"maxiter": 7})["maxiter"] == 7
    with pytest.raises(ValueError, match="SSBroyden2") as info:
        resolve_method("LBFGS")
    assert all(name in str(info.value) for name in METHOD_NAMES)
    with pytest.raises(TypeError, match="method must be a str"):
        resolve_method(3)
    with pytest.raises(ValueError, match="unknown quasi-Newton option.*maxcor"):
        resolve_method("SSBFGS").options({"maxcor": 5})
    with pytest.raises(ValueError, match="unknown L-BFGS-B option.*max_dense_size"):
        resolve_method("L-BFGS-B").options({"max_dense_size": 5})


def test_minimize_refuses_a_quasi_newton_method_and_says_where_it_runs():
    x = tf.Variable([1.0, 2.0], dtype=tf.float64)
    with pytest.raises(ValueError, match="dense quasi-Newton method.*Trainer"):
        pinn.minimize(lambda: tf.reduce_sum(x ** 2), [x], method="ssbfgs")
    with pytest.raises(ValueError, match="gradient-based SciPy methods"):
        pinn.minimize(lambda: tf.reduce_sum(x ** 2), [x], method="nope")


# ---- the update formulas -----------------------------------------------------------------------
def _quadratic(n=12, seed=0):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    a = q @ np.diag(np.logspace(-2, 2, n)) @ q.T
    return a, rng.standard_normal(n)


@pytest.mark.parametrize("method", pinn.QUASI_NEWTON_METHODS)
@pytest.mark.parametrize("initial_scale", [False, True])
def test_every_update_meets_the_secant_condition_and_keeps_h_positive_definite(method, initial_scale):
    a, x = _quadratic()
    n = len(x)
    state = qn.QuasiNewtonState(n)
    g = a @ x
    state.x, state.f, state.g, state.p = x, 0.5 * x @ a @ x, g, -g
    for k, alpha in enumerate([0.3, 1.0, 0.7, 1.2, 0.5, 0.9, 1.0, 0.4]):
        p = state.p
        assert g @ p < 0  # a descent direction
        s = alpha * p
        x_new = state.x + s
        g_new = a @ x_new
        y = g_new - g
        qn._step(state, state._matrix, method, initial_scale, alpha, s, g, g_new, x_new,
                 0.5 * x_new @ a @ x_new, True)
        assert state.updates == k + 1 and state.skipped == 0
        H = state.H
        # H_{k+1} y_k = s_k: the quasi-Newton (secant) condition every Broyden-class member meets
        assert np.linalg.norm(H @ y - s) <= 1e-9 * np.linalg.norm(s)
        assert np.allclose(H, H.T, rtol=0, atol=1e-12 * np.abs(H).max())
        assert np.linalg.eigvalsh(H).min() > 0  # s^T y > 0 here (a convex quadratic)
        # the next direction is -H_{k+1} g_{k+1}
        assert np.allclose(state.p, -H @ g_new, rtol=1e-9, atol=1e-12 * np.abs(state.p).max())
        g = g_new


def test_bfgs_dense_is_the_textbook_bfgs_inverse_update():
    rng = np.random.default_rng(3)
    n = 7
    m = rng.standard_normal((n, n))
    H0 = m @ m.T + n * np.eye(n)
    state = qn.QuasiNewtonState.from_state({
        "H": H0, "H_scale": 1.0, "size": n, "has_iterate": 0, "iteration": 0, "updates": 1,
        "skipped": 0, "restarts": 0, "weak_steps": 0})
    g = rng.standard_normal(n)
    state.x, state.f, state.g, state.p = np.zeros(n), 1.0, g, -H0 @ g
    alpha = 0.8
    s = alpha * state.p
    y = rng.standard_normal(n)
    y += (1.0 - s @ y) * s / (s @ s)  # s^T y = 1 > 0
    qn._step(state, state._matrix, "BFGS-dense", False, alpha, s, g, g + y, s, 0.5, True)
    rho = 1.0 / (s @ y)
    left = np.eye(n) - rho * np.outer(s, y)
    textbook = left @ H0 @ left.T + rho * np.outer(s, s)  # Nocedal & Wright (2006), eq. 6.17
    assert np.allclose(state.H, textbook, rtol=1e-12, atol=1e-12 * np.abs(textbook).max())


def test_the_self_scaling_parameters_follow_the_formulas():
    b, h, n = 1.7, 2.3, 3021
    tau, phi = qn.self_scaling("SSBFGS", b, h, n)
    assert (tau, phi) == (min(1.0, 1.0 / b), 1.0)  # Al-Baali's tau for SSBFGS, phi = 1
    assert qn.self_scaling("BFGS-dense", b, h, n) == (1.0, 1.0)
    a = b * h - 1
    c = math.sqrt(a / (1 + a))
    rho_minus = min(1.0, h * (1 - c))
    theta_minus = (rho_minus - 1) / a
    theta = max(theta_minus, min(1 / rho_minus, (1 - b) / b))  # SSBroyden2
    sigma = 1 + a * theta
    tau, phi = qn.self_scaling("SSBroyden2", b, h, n)
    expected_tau = (min(min(1, 1 / b) * sigma ** (-1 / (n - 1)), sigma) if theta <= 0
                    else min(1, 1 / b) * min(sigma ** (-1 / (n - 1)), 1 / theta))
    assert tau == pytest.approx(expected_tau, rel=1e-14)
    assert phi == pytest.approx((1 - theta) / sigma, rel=1e-14)
    theta1 = max(theta_minus, 1 / (1 - b))  # SSBroyden1 with b > 1
    assert qn.self_scaling("SSBroyden1", b, h, n)[1] == pytest.approx(
        (1 - theta1) / (1 + a * theta1), rel=1e-14)


# ---- the quasi-Newton state in the checkpoint ------------------------------------------------
def rosenbrock(n=10):
    x = tf.Variable(np.linspace(-1.2, 1.0, n), dtype=tf.float64, name="x")

    def loss():
        return tf.reduce_sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    return loss, x


class SlowSteps(pinn.Callback):
    """Makes every step/iteration take at least ``seconds`` of training, however fast the machine."""

    def __init__(self, seconds):
        self.seconds = seconds

    def on_iteration_end(self, iteration, logs):
        time.sleep(self.seconds)



@pytest.mark.parametrize("method", ["SSBFGS", "SSBroyden2"])
@pytest.mark.parametrize("split", ["maxiter", "callback"])
def test_a_dense_quasi_newton_run_resumed_from_its_checkpoint_continues_exactly(tmp_path, method, split,
                                                                               stop_at):
    loss, x = rosenbrock()
    whole = pinn.Trainer(loss_fn=loss, variables=[x]).train(
        adam_steps=3, lbfgs_options={"maxiter": 30, "gtol": 0.0}, method=method)
    assert whole.progress["lbfgs_nit"] == 30
    reference = x.numpy().copy()

    path = tmp_path / "run.h5"
    loss, x = rosenbrock()
    first = pinn.Trainer(loss_fn=loss, variables=[x], checkpoint=path, checkpoint_every=0)
    if split == "maxiter":
        first.train(adam_steps=3, lbfgs_options={"maxiter": 13, "gtol": 0.0}, method=method)
    else:
        result = first.train(adam_steps=3, lbfgs_options={"maxiter": 30, "gtol": 0.0}, method=method,
                             callbacks=[stop_at(13)])
        assert result.status == "stopped"
    saved = load_checkpoint(path)
    assert saved.quasi_newton is not None and saved.quasi_newton["iteration"] == 13
    assert saved.quasi_newton["updates"] >= 1

    loss, x = rosenbrock()  # a new process: new variables and a new trainer from the file
    second = pinn.Trainer(loss_fn=loss, variables=[x], checkpoint=path)
    resumed = second.train(adam_steps=3, lbfgs_options={"maxiter": 30, "gtol": 0.0}, method=method,
                           resume=True)
    assert resumed.resumed and resumed.progress["lbfgs_nit"] == 30
    np.testing.assert_allclose(x.numpy(), reference, rtol=1e-12, atol=1e-14)
    assert resumed.final_loss == pytest.approx(whole.final_loss, rel=1e-10, abs=1e-300)


def test_checkpoint_quasi_newton_group_round_trips_and_old_files_load(tmp_path):
    n = 6
    rng = np.random.default_rng(0)
    m = rng.standard_normal((n, n))
    H = m @ m.T + np.eye(n)
    assert np.array_equal(unpack_upper(pack_upper(H), n), H)
    state = qn.QuasiNewtonState.from_state({
        "H": H, "H_scale": 0.5, "size": n, "has_iterate": 1, "iteration": 4, "updates": 3,
        "skipped": 1, "restarts": 0, "weak_steps": 2, "f_prev": 2.0, "gamma": 0.25,
        "x": rng.standard_normal(n), "g": rng.standard_normal(n), "p": rng.standard_normal(n),
        "f": 1.5}).state()
    base = dict(weights=np.zeros(n), variable_names=["w"], variable_shapes=[(n,)], dtype="float64")
    path = save_checkpoint(tmp_path / "a.h5", pinn.Checkpoint(**base, quasi_newton=state,
                                                              callbacks={"k": {"v": 1}}))
    back = load_checkpoint(path)
    assert back.callbacks == {"k": {"v": 1}}
    for key, value in state.items():
        assert np.array_equal(np.asarray(back.quasi_newton[key]), np.asarray(value)), key
    old = load_checkpoint(save_checkpoint(tmp_path / "b.h5", pinn.Checkpoint(**base)))
    assert old.quasi_newton is None and old.callbacks == {}

    with h5py.File(path, "r+") as f:  # a broken matrix is refused, naming the entry
        f["quasi_newton/H_upper"][0] = np.nan
    with pytest.raises(ValueError, match="quasi_newton/H_upper.*NaN"):
        load_checkpoint(path)
    with pytest.raises(ValueError, match=r"quasi_newton\['H'\] must have shape"):
        save_checkpoint(tmp_path / "c.h5", pinn.Checkpoint(
            **{**base, "weights": np.zeros(n - 1), "variable_shapes": [(n - 1,)]}, quasi_newton=state))


def test_a_dense_matrix_too_large_is_refused_before_any_work():
    loss, x = rosenbrock()
    trainer = pinn.Trainer(loss_fn=loss, variables=[x])
    with pytest.raises(ValueError, match=r"n = 10 weights.*8 n\^2.*max_dense_size.*L-BFGS-B"):
        trainer.train(adam_steps=5, method="SSBroyden2", lbfgs_options={"max_dense_size": 9})
    assert len(trainer.history) == 0 and trainer.objective.nfev == 0


# ---- the error monitor ---------------------------------------------------------------------------
def test_error_monitor_by_seconds_leaves_out_its_cost_and_its_state_resumes():
    loss, x = rosenbrock()
    calls = []

    def slow_error():
        calls.append(1)
        time.sleep(0.03)
        return {"relative_l2_error": float(np.abs(x.numpy() - 1).max()), "other": 1.0}

    monitor = pinn.ErrorMonitor(slow_error, every=None, every_s=0.01, at_phase_end=True)
    result = pinn.Trainer(loss_fn=loss, variables=[x], callbacks=[SlowSteps(0.005), monitor]).train(
        adam_steps=20, lbfgs_options={"maxiter": 20}, method="SSBFGS")
    records = monitor.records
    # 20 Adam steps of >= 5 ms: at most two steps between samples 10 ms apart
    assert len(records) == len(calls) >= 10
    assert list(records[0])[:4] == ["phase", "iteration", "time_s", "relative_l2_error"]
    times = [r["time_s"] for r in records]
    assert times == sorted(times)
    assert times[-1] < result.wall_time - 0.03 * (len(calls) - 1)  # its own sleeps left out
    assert records[-1]["phase"] == "ssbfgs" and records[-1]["iteration"] == result.progress["lbfgs_nit"]
    # in-phase samples come at least every_s after the one before; a phase's end sample (the last
    # of its phase) may come sooner
    ends = {i for i in range(len(records))
            if i == len(records) - 1 or records[i + 1]["phase"] != records[i]["phase"]}
    steps = [times[i] - times[i - 1] for i in range(1, len(records)) if i not in ends]
    assert steps and min(steps) >= 0.01

    state = json.loads(json.dumps(monitor.state()))
    again = pinn.ErrorMonitor(slow_error, every=None, every_s=0.01)
    again.load_state(state)
    assert again.records == records and again.training_time() == pytest.approx(state["training_time_s"])
    bad = dict(state, records=[dict(records[1]), dict(records[0])])
    with pytest.raises(ValueError, match="time_s"):
        again.check_state(bad)


def test_plot_error_history_checks_its_records(tmp_path):
    records = [{"phase": "adam", "iteration": 1, "time_s": 0.5, "e": 0.3},
               {"phase": "lbfgs", "iteration": 2, "time_s": 1.5, "e": 0.01}]
    assert pinn.plotting.plot_error_history(records, tmp_path / "e.png").stat().st_size > 0
    with pytest.raises(ValueError, match="empty"):
        pinn.plotting.plot_error_history([], tmp_path / "e.png")
    with pytest.raises(ValueError, match="lacks"):
        pinn.plotting.plot_error_history(records, tmp_path / "e.png", key="nope")


def test_burgers_error_history_by_seconds_goes_on_over_a_resume(tmp_path):
    from examples import burgers

    out = str(tmp_path / "run")
    small = ["--out", out, "--n-f", "200", "--widths", "2", "--no-jit",
             "--verbose", "0", "--adam-steps", "20", "--method", "SSBFGS", "--error-every", "0.1",
             "--checkpoint-every", "0"]
    assert burgers.main(small + ["--lbfgs-maxiter", "30"]) == 0
    first = json.loads((tmp_path / "run" / "metrics.json").read_text())
    history = first["error_history"]
    assert history and set(history[0]) == {"phase", "iteration", "time_s", "relative_l2_error"}
    times = [r["time_s"] for r in history]
    assert times == sorted(times) and {r["phase"] for r in history} <= {"adam", "ssbfgs"}
    in_phase = [b - a for a, b, r in zip(times, times[1:], history[1:])
                if not (r["phase"] == "ssbfgs" and r["iteration"] == first["lbfgs_nit"])
                and not (r["phase"] == "adam" and r["iteration"] == first["adam_steps"])]
    assert all(step >= 0.1 for step in in_phase)
    assert history[-1]["relative_l2_error"] == pytest.approx(first["relative_l2_error"], rel=1e-9)
    assert (tmp_path / "run" / "error_history.png").is_file()
    assert load_checkpoint(tmp_path / "run" / "checkpoint.h5").quasi_newton is not None

    assert burgers.main(small + ["--lbfgs-maxiter", "45", "--resume"]) == 0
    second = json.loads((tmp_path / "run" / "metrics.json").read_text())
    more = second["error_history"]
    assert more[:len(history)] == history  # the list goes on
    assert len(more) > len(history) and more[len(history)]["time_s"] > times[-1]
    assert second["lbfgs_nit"] == 45


# ---- the time limit --------------------------------------------------------------------------------
def test_time_limit_stops_the_run_and_skips_the_next_phase():
    loss, x = rosenbrock()

    # the clock starts when the first phase begins, before tracing: 1 s holds at most 50 steps
    callbacks = [SlowSteps(0.02), pinn.TimeLimit(1.0)]  # every step costs 20 ms
    result = pinn.Trainer(loss_fn=loss, variables=[x], callbacks=callbacks).train(
        adam_steps=1000, lbfgs_options={"maxiter": 50})
    assert result.status == "stopped" and result.lbfgs is None
    assert 1 <= result.progress["adam_steps"] <= 50
    assert result.wall_time >= 1.0
    with pytest.raises(ValueError, match="seconds"):
        pinn.TimeLimit(0)
    with pytest.raises(TypeError, match="clock"):
        pinn.TimeLimit(1.0, clock=3.0)


def test_time_limit_by_the_error_monitors_clock():
    """With the monitor's clock, the error evaluations' time does not count against the limit, and
    the run's last sample comes at or after the limit (for equal-time comparisons)."""
    loss, x = rosenbrock()

    def slow_error():
        time.sleep(0.05)
        return float(np.abs(x.numpy() - 1).max())

    monitor = pinn.ErrorMonitor(slow_error, every=1, at_phase_end=True)
    limit = pinn.TimeLimit(0.3, clock=monitor.training_time)

    result = pinn.Trainer(loss_fn=loss, variables=[x], callbacks=[SlowSteps(0.01), monitor, limit]).train(
        adam_steps=0, lbfgs_options={"maxiter": 10000}, method="SSBFGS")
    assert result.status == "stopped"
    assert monitor.records[-1]["time_s"] >= 0.3
    assert result.wall_time > 0.3 + 0.05 * (len(monitor.records) - 1)  # samples not counted


def test_the_error_monitors_clock_is_read_once_per_iteration():
    """The callbacks after the monitor see the time its sample of that iteration is stamped with
    (not a later reading), so a limit on its clock and the last sample cannot disagree."""
    loss, x = rosenbrock()
    monitor = pinn.ErrorMonitor(lambda: float(np.abs(x.numpy() - 1).max()), every=1)
    seen = []

    class Reader(pinn.Callback):
        def on_iteration_end(self, iteration, logs):
            time.sleep(0.002)  # training time that passes after the sample
            seen.append((iteration, monitor.training_time()))

    pinn.Trainer(loss_fn=loss, variables=[x], callbacks=[monitor, Reader()]).train(
        adam_steps=5, lbfgs_options={"maxiter": 5}, method="SSBFGS")
    assert len(seen) == len(monitor.records) == 10
    assert [t for _, t in seen] == [r["time_s"] for r in monitor.records]
    assert monitor.training_time() > monitor.records[-1]["time_s"]  # read again at the phase's end
    time.sleep(0.01)  # a checkpoint's state reads the wall clock, not the last reading
    assert monitor.state()["training_time_s"] >= monitor.training_time() + 0.01


def test_examples_take_a_time_limit(tmp_path):
    from examples import burgers

    out = tmp_path / "run"
    assert burgers.main(["--out", str(out), "--n-f", "200", "--widths", "2", "--no-jit", "--verbose", "0",
                         "--adam-steps", "100000", "--time-limit", "2", "--error-every", "0.5"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "stopped" and metrics["adam_steps"] < 100000
    assert metrics["error_history"][-1]["time_s"] >= 2.0
    assert metrics["settings"]["run"]["time_limit"] == 2.0
    assert burgers.main(["--out", str(tmp_path / "bad"), "--time-limit", "-1"]) == 2


def test_max_dense_size_flag_reaches_the_method_and_is_refused_with_l_bfgs_b(tmp_path, capsys):
    from examples import burgers

    small = ["--n-f", "200", "--widths", "2", "--no-jit", "--verbose", "0", "--adam-steps", "5",
             "--lbfgs-maxiter", "5", "--error-every", "0", "--method", "SSBFGS"]
    # n = 501 weights: a limit of 500 refuses the run before any work, naming the flag
    assert burgers.main(small + ["--out", str(tmp_path / "a"), "--max-dense-size", "500"]) != 0
    err = capsys.readouterr().err
    assert "n = 501 weights" in err and "--max-dense-size" in err
    assert not (tmp_path / "a" / "checkpoint.h5").exists()
    assert burgers.main(small + ["--out", str(tmp_path / "b"), "--max-dense-size", "501"]) == 0
    assert json.loads((tmp_path / "b" / "metrics.json").read_text())["settings"]["run"]["max_dense_size"] == 501
    capsys.readouterr()
    assert burgers.main(small + ["--out", str(tmp_path / "c"), "--method", "L-BFGS-B",
                                 "--max-dense-size", "99"]) == 2
    assert "--max-dense-size: only the dense quasi-Newton methods" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()
    assert burgers.main(small + ["--out", str(tmp_path / "d"), "--max-dense-size", "0"]) == 2
    assert "argument --max-dense-size" in capsys.readouterr().err
