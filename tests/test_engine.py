"""The training engine: point sets as inputs (resampling, chunks), any Loss, typed phase results."""

import numpy as np
import pytest
import tensorflow as tf

import pinn
from pinn.equations import Burgers
from pinn.scripts import set_seeds


def small_problem(n_f=300, seed=0, coefficient=None):
    set_seeds(seed)
    domain = pinn.Interval(-1, 1, "x") * pinn.TimeInterval(0, 1, "t")
    net = pinn.mlp(2, 1, [8, 8], lower=domain.lower, upper=domain.upper, dtype="float64", seed=seed)
    initial = domain.sample_initial(20, seed=seed)
    boundary, _ = domain.sample_boundary(20, seed=seed)
    equation = Burgers() if coefficient is None else Burgers(nu=coefficient)
    problem = pinn.Problem(
        equation, net, domain.sample_interior(n_f, "lhs", seed=seed),
        [pinn.InitialCondition("u", initial, lambda p: -np.sin(np.pi * p[:, 0])),
         pinn.DirichletBC("u", boundary, 0.0)],
        dtype="float64",
    )
    return problem, domain


# -- point sets are inputs ------------------------------------------------------------------------
def test_chunked_evaluation_equals_unchunked_to_round_off():
    problem, _ = small_problem(n_f=1000)
    whole = pinn.CompiledObjective(problem)
    chunked = pinn.CompiledObjective(problem, chunk_size=128)
    assert whole.num_chunks == 1 and chunked.num_chunks == 8  # ceil(1000 / 128) pieces of 125 rows
    x = whole.layout.flatten() + 0.01
    a, b = whole(x), chunked(x)
    assert b.fun == pytest.approx(a.fun, rel=1e-12)
    np.testing.assert_allclose(b.jac, a.jac, rtol=1e-10, atol=1e-14 * np.abs(a.jac).max())
    assert a.terms.keys() == b.terms.keys()
    for name in a.terms:
        assert b.terms[name] == pytest.approx(a.terms[name], rel=1e-12)
    assert chunked.trace_count == 1 and whole.trace_count == 1


@pytest.mark.parametrize("jit_compile", [False, True])
def test_chunks_in_a_loop_with_rows_left_over_equal_the_whole_evaluation(jit_compile):
    """1003 collocation rows in chunks of at most 100: 11 equal pieces of 91 rows evaluated in a
    loop inside the compiled function, and the 2 rows left over evaluated with the initial and
    boundary sets, whose terms count once; new points of the same shape need no new trace."""
    problem, domain = small_problem(n_f=1003)
    whole = pinn.CompiledObjective(problem, jit_compile=jit_compile)
    chunked = pinn.CompiledObjective(problem, jit_compile=jit_compile, chunk_size=100)
    assert chunked.num_chunks == 11
    x = whole.layout.flatten() + 0.01
    for step in range(2):
        a, b = whole(x), chunked(x)
        assert b.fun == pytest.approx(a.fun, rel=1e-12)
        np.testing.assert_allclose(b.jac, a.jac, rtol=1e-10, atol=1e-13 * np.abs(a.jac).max())
        for name in a.terms:
            assert b.terms[name] == pytest.approx(a.terms[name], rel=1e-12), name
        new = domain.sample_interior(1003, "uniform", seed=5)
        whole.set_points("collocation", new)
        chunked.set_points("collocation", new)
    assert chunked.trace_count == 1 and whole.trace_count == 1


def test_chunked_training_follows_the_unchunked_path():
    results = []
    for chunk_size in (None, 64):
        problem, _ = small_problem(n_f=200)
        trainer = pinn.Trainer(problem, chunk_size=chunk_size)
        results.append(trainer.train(adam_steps=5, lbfgs_options={"maxiter": 10}))
    assert results[1].final_loss == pytest.approx(results[0].final_loss, rel=1e-8)


def test_new_points_of_the_same_shape_need_no_new_trace():
    problem, domain = small_problem()
    objective = pinn.CompiledObjective(problem)
    x = objective.layout.flatten()
    first = objective(x).fun
    objective.set_points("collocation", domain.sample_interior(300, "uniform", seed=5))
    second = objective(x).fun
    assert objective.trace_count == 1 and first != second
    with pytest.raises(ValueError, match="shape"):
        objective.set_points("collocation", np.zeros((10, 2)))
    with pytest.raises(KeyError, match="collocation"):
        objective.set_points("nowhere", np.zeros((10, 2)))


@pytest.mark.parametrize("method", ["lhs", "uniform", "residual"])
def test_resampling_during_both_phases_without_retracing(method, tmp_path):
    problem, domain = small_problem()
    resample = pinn.Resample(domain, every=4, method=method, seed=1)
    trainer = pinn.Trainer(problem, resample=resample, checkpoint=tmp_path / "c.h5")
    before = trainer.objective.points["collocation"].copy()
    result = trainer.train(adam_steps=10, lbfgs_options={"maxiter": 10})
    assert trainer.objective.trace_count == 1
    assert result.progress["resamples"] == 2 + 2  # after Adam steps 4 and 8, L-BFGS iterations 4 and 8
    assert result.progress["lbfgs_nit"] == 10 and result.status == "completed"
    after = trainer.objective.points["collocation"]
    assert after.shape == before.shape and not np.array_equal(after, before)
    assert domain.contains(after).all()
    saved = pinn.load_checkpoint(tmp_path / "c.h5")
    np.testing.assert_array_equal(saved.points["collocation"], after)  # a resume uses these points


def test_resample_rejects_bad_settings():
    problem, domain = small_problem()
    with pytest.raises(ValueError, match="every"):
        pinn.Resample(domain, every=0)
    with pytest.raises(ValueError, match="method"):
        pinn.Resample(domain, every=5, method="sobol")
    with pytest.raises(ValueError, match="point_set"):
        pinn.Trainer(problem, resample=pinn.Resample(domain, every=5, point_set="interior"))


# -- any loss -------------------------------------------------------------------------------------
class RungeKuttaHeat(pinn.Loss):
    """A discrete-time (implicit midpoint, q = 1) loss for u_t = u_xx: the network maps x to the
    stage value and the next snapshot, [U_1, u^{n+1}]; the loss ties them to the snapshot u^n
    through the stage equation. Not a pointwise residual on space-time points."""

    class Stages(pinn.Equation):
        coordinates = ("x",)
        fields = ("stage", "next")

        def residual(self, d):  # unused: the loss is written directly
            return d.stage

    def __init__(self, x, u_now, dt):
        self.network = pinn.mlp(1, 2, [16, 16], lower=[0.0], upper=[1.0], dtype="float64", seed=3)
        self.equation = self.Stages()
        self.x, self.u_now, self.dt = x, u_now, dt

    @property
    def variables(self):
        return list(self.network.trainable_variables)

    def point_sets(self):
        return {"snapshot": self.x}

    def terms(self, points):
        d = pinn.Derivatives(self.network, points["snapshot"], ("x",), ("stage", "next"))
        u_now = tf.constant(self.u_now, tf.float64)
        n_stage = d.stage_xx  # N[U_1] = U_1,xx
        # implicit midpoint: U_1 = u^n + dt/2 N[U_1];  u^{n+1} = u^n + dt N[U_1]
        stage = d.stage - (u_now + 0.5 * self.dt * n_stage)
        step = d.next - (u_now + self.dt * n_stage)
        both_ends = tf.concat([d.stage[:1], d.stage[-1:], d.next[:1], d.next[-1:]], axis=0)
        return {"stages": pinn.mean_square(tf.concat([stage, step], axis=1)),
                "boundary": pinn.mean_square(both_ends)}


def test_a_custom_discrete_time_loss_trains_with_the_trainer():
    x = np.linspace(0, 1, 64)[:, None]
    loss = RungeKuttaHeat(x, np.sin(np.pi * x), dt=0.01)
    trainer = pinn.Trainer(loss)
    result = trainer.train(adam_steps=50, lbfgs_options={"maxiter": 300})
    assert result.history[0].loss / result.final_loss > 100
    assert set(result.terms) == {"stages", "boundary"}
    # the next snapshot decays like exp(-pi^2 dt) (one implicit midpoint step: rational factor)
    factor = (1 - 0.5 * 0.01 * np.pi ** 2) / (1 + 0.5 * 0.01 * np.pi ** 2)
    predicted = loss.network(tf.constant(x))[:, 1].numpy()
    np.testing.assert_allclose(predicted, factor * np.sin(np.pi * x[:, 0]), atol=5e-3)


def test_terms_must_be_terms():
    class Bad(pinn.Loss):
        def __init__(self):
            self.v = tf.Variable(1.0, dtype=tf.float64)

        @property
        def variables(self):
            return [self.v]

        def terms(self, points):
            return {"a": self.v ** 2}

    with pytest.raises(TypeError, match=r"pinn.Term\(sum, count\)"):
        pinn.minimize(Bad())


# -- one compiled function, one vocabulary --------------------------------------------------------
def test_a_trainer_traces_once_for_all_its_train_calls(tmp_path):
    problem, _ = small_problem()
    trainer = pinn.Trainer(problem, checkpoint=tmp_path / "c.h5")
    trainer.train(adam_steps=3, lbfgs_options={"maxiter": 3})
    trainer.train(adam_steps=5, lbfgs_options={"maxiter": 6}, resume=True)  # extension
    trainer.train(adam_steps=2, lbfgs=False)  # a new plan
    assert trainer.objective.trace_count == 1


def quadratic(n=4):
    x = tf.Variable(np.linspace(1.0, 2.0, n), dtype=tf.float64)
    return (lambda: tf.reduce_sum((x - 0.5) ** 2 * np.arange(1.0, n + 1))), x


@pytest.mark.parametrize("method", list(pinn.GRADIENT_METHODS))
def test_every_scipy_method_reports_a_typed_status(method):
    loss, x = quadratic()
    converged = pinn.minimize(loss, [x], method=method)
    assert converged.status is pinn.Status.CONVERGED, converged.message
    assert converged.fun < 1e-8 and converged.success
    loss, x = quadratic(30)
    budget = {"maxfun": 3} if method == "TNC" else {"maxiter": 2}
    limited = pinn.minimize(loss, [x], method=method, options=budget)
    assert limited.status is pinn.Status.LIMIT_REACHED, limited.message
    assert isinstance(limited, pinn.PhaseResult) and limited.scipy is not None


@pytest.mark.parametrize("method", ["L-BFGS-B", "TNC", "trust-constr", "BFGS"])
def test_resume_decides_from_the_typed_status(method, tmp_path):
    loss, x = quadratic(30)
    budget = "maxfun" if method == "TNC" else "maxiter"
    trainer = pinn.Trainer(loss_fn=loss, variables=[x], checkpoint=tmp_path / "c.h5")
    first = trainer.train(lbfgs_options={budget: 3}, method=method)
    assert first.progress["lbfgs_status"] == "limit_reached"
    more = trainer.train(lbfgs_options={budget: 500}, method=method, resume=True)
    assert more.lbfgs is not None and more.progress["lbfgs_status"] == "converged", more.message
    again = trainer.train(lbfgs_options={budget: 1000}, method=method, resume=True)
    assert again.lbfgs is None  # converged: nothing to resume (TNC's status 1 is convergence)


def test_nonfinite_loss_in_lbfgs_stops_at_the_best_point_and_names_the_term():
    x = tf.Variable([3.0], dtype=tf.float64)

    def loss():  # finite for x > 1, NaN below: the minimum at 0 lies beyond
        value = tf.reduce_sum(x ** 2)
        barrier = tf.reduce_sum(tf.sqrt(x - 1.0))
        return value + 1e-3 * barrier, {"value": value, "barrier": barrier}

    result = pinn.minimize(loss, [x])
    assert result.status is pinn.Status.NONFINITE and not result.success
    assert result.nonfinite_terms == ["barrier"] and "barrier" in result.message
    assert np.isfinite(result.fun) and float(x.numpy()[0]) >= 1.0
    assert result.fun == result.best_fun


def test_nonfinite_loss_in_adam_keeps_finite_moments_for_a_resume():
    x = tf.Variable([2.0], dtype=tf.float64)
    trainer = pinn.Trainer(loss_fn=lambda: tf.reduce_sum(tf.math.log(x)), variables=[x])
    result = trainer.train(adam_steps=50, learning_rate=1.0, lbfgs=False)
    assert result.status == "nonfinite" and result.progress["adam_status"] == "nonfinite"
    assert np.all(np.isfinite(trainer.adam_state.m)) and np.all(np.isfinite(trainer.adam_state.v))
    assert float(x.numpy()[0]) > 0


@pytest.mark.parametrize("options, name", [
    ({"maxcor": 0}, "maxcor"), ({"ftol": -1.0}, "ftol"), ({"gtol": float("nan")}, "gtol"),
    ({"maxls": 0}, "maxls"), ({"maxiter": 0}, "maxiter"), ({"gtol": float("inf")}, "gtol"),
])
def test_option_values_are_rejected_before_any_work(options, name):
    loss, x = quadratic()
    objective = pinn.CompiledObjective(loss, [x])
    with pytest.raises(ValueError, match=name):
        pinn.minimize(None, method="L-BFGS-B", options=options, objective=objective)
    trainer = pinn.Trainer(loss_fn=loss, variables=[x])
    with pytest.raises(ValueError, match=name):
        trainer.train(adam_steps=3, lbfgs_options=options)
    assert objective.nfev == 0 and trainer.objective.nfev == 0


def test_adam_after_lbfgs_starts_from_fresh_moments():
    loss, x = quadratic()
    trainer = pinn.Trainer(loss_fn=loss, variables=[x])
    trainer.train(adam_steps=5, lbfgs_options={"maxiter": 2})
    assert trainer.adam_state.iterations == 5 and not trainer.progress["adam_current"]
    trainer.train(adam_steps=8, lbfgs=False, resume=True)  # extends Adam after L-BFGS moved x
    assert trainer.adam_state.iterations == 3  # reset, then the 3 steps left


def test_term_names_must_be_unique_across_residuals_and_conditions():
    class Named(Burgers):
        def residual(self, d):
            return {"boundary": d.u_t + d.u * d.u_x - self.nu * d.u_xx}

    domain = pinn.Interval(-1, 1, "x") * pinn.TimeInterval(0, 1, "t")
    net = pinn.mlp(2, 1, [4], dtype="float64", seed=0)
    boundary, _ = domain.sample_boundary(5, seed=0)
    with pytest.raises(ValueError, match="unique.*boundary"):
        pinn.Problem(Named(), net, domain.sample_interior(10, seed=0),
                     [pinn.DirichletBC("u", boundary, name="boundary")])


def test_numpy_in_a_residual_is_caught_at_construction():
    class NumPyBurgers(Burgers):
        def residual(self, d):
            return d.u_t + np.sin(d.x)

    domain = pinn.Interval(-1, 1, "x") * pinn.TimeInterval(0, 1, "t")
    net = pinn.mlp(2, 1, [4], dtype="float64", seed=0)
    with pytest.raises(TypeError, match="tf.sin"):
        pinn.Problem(NumPyBurgers(), net, domain.sample_interior(10, seed=0))


def test_one_collocation_point_is_a_valid_problem():
    domain = pinn.Interval(-1, 1, "x") * pinn.TimeInterval(0, 1, "t")
    net = pinn.mlp(2, 1, [4], dtype="float64", seed=0)
    problem = pinn.Problem(Burgers(), net, domain.sample_interior(1, seed=0))
    assert pinn.minimize(problem, options={"maxiter": 2}).nfev >= 1


def test_negative_residual_weight_is_rejected():
    domain = pinn.Interval(-1, 1, "x") * pinn.TimeInterval(0, 1, "t")
    net = pinn.mlp(2, 1, [4], dtype="float64", seed=0)
    with pytest.raises(ValueError, match="residual_weight"):
        pinn.Problem(Burgers(), net, domain.sample_interior(5, seed=0), residual_weight=-5)


def test_a_weight_is_not_rounded_to_float32_in_a_float64_problem():
    residual = tf.constant([[1.0], [2.0]], tf.float64)
    term = pinn.mean_square(residual, 0.3)
    assert float(term.sum) == 0.3 * 5.0  # tf.cast(0.3, float64) would give 1.5000000596...
    assert float(pinn.mean_square(residual, tf.constant(0.5, tf.float64)).sum) == 2.5


# -- coefficients by name -------------------------------------------------------------------------
def test_trainable_coefficients_appear_in_logs_history_checkpoint_and_summary(tmp_path, capsys):
    problem, _ = small_problem(coefficient=pinn.Trainable(0.05, positive=True))
    trainer = pinn.Trainer(problem, checkpoint=tmp_path / "c.h5")
    result = trainer.train(adam_steps=4, lbfgs_options={"maxiter": 4}, verbose=2)
    assert "nu " in capsys.readouterr().out
    values = result.history.coefficient("nu")
    assert values.shape == (len(result.history),) and np.all(values > 0)
    assert values[0] == pytest.approx(0.05, rel=1e-2) and values[-1] != values[0]
    summary = result.summary()
    assert summary["nu"] == result.coefficients["nu"] == pytest.approx(
        float(problem.equation.nu), rel=1e-9)
    saved = pinn.load_checkpoint(tmp_path / "c.h5")
    np.testing.assert_array_equal(saved.history.coefficient("nu"), values)
    assert saved.history.to_dict()["coefficients"]["nu"] == values.tolist()


QUIET_RUN = """
import sys
import numpy as np, pinn
from pinn.equations import Burgers
domain = pinn.Interval(-1, 1, "x") * pinn.TimeInterval(0, 1, "t")
net = pinn.mlp(2, 1, [8, 8], lower=domain.lower, upper=domain.upper, dtype="float64", seed=0)
problem = pinn.Problem(Burgers(), net, domain.sample_interior(200, "lhs", seed=0),
    [pinn.InitialCondition("u", domain.sample_initial(20, seed=0), lambda p: -np.sin(np.pi * p[:, 0]))])
print("--- training ---", file=sys.stderr, flush=True)
result = pinn.Trainer(problem, jit_compile=JIT).train(adam_steps=5, lbfgs_options={"maxiter": 5})
print("status", result.status)
"""


@pytest.mark.parametrize("jit", [False, True])
def test_a_normal_run_prints_no_tensorflow_warnings(jit):
    import os
    import subprocess
    import sys

    # Every log line shown. oneDNN's graph rewrite off: on CPUs where TensorFlow turns it on by
    # default (AVX512_VNNI, AVX512_BF16, AMX: this session's Intel Xeon, not the AMD EPYC) it
    # logs "Not handling type DT_DOUBLE" for each float64 op it passes over, any float64 graph's,
    # not pinn's doing (hidden at pinn's default TF_CPP_MIN_LOG_LEVEL=2)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "0", "TF_ENABLE_ONEDNN_OPTS": "0"}
    run = subprocess.run([sys.executable, "-c", QUIET_RUN.replace("JIT", str(jit))],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "status completed" in run.stdout
    after = run.stderr.split("--- training ---", 1)[1]
    noisy = [line for line in after.splitlines()
             if line.strip() and not line.startswith(("I0000", "E0000 ")) or "DT_DOUBLE" in line
             or "persistent" in line]
    # TensorFlow's own start-up lines (I..., cuInit E...) are not pinn's; anything else is
    assert noisy == [], "\n".join(noisy[:10])


class InterruptAt(pinn.Callback):
    def __init__(self, iteration):
        self.iteration = iteration

    def on_iteration_end(self, iteration, logs):
        if iteration == self.iteration:
            raise KeyboardInterrupt


def test_a_second_interrupt_soon_after_the_first_stops_a_script(tmp_path):
    loss, x = quadratic(30)
    trainer = pinn.Trainer(loss_fn=loss, variables=[x], checkpoint=tmp_path / "c.h5")
    first = trainer.train(adam_steps=10, lbfgs=False, callbacks=[InterruptAt(3)])
    assert first.status == "interrupted"  # the first Ctrl-C returns
    with pytest.raises(KeyboardInterrupt):  # a second one within 2 s raises
        trainer.train(adam_steps=10, lbfgs=False, callbacks=[InterruptAt(5)], resume=True)
    assert pinn.load_checkpoint(tmp_path / "c.h5").progress["adam_steps"] == 5  # saved first


@pytest.mark.parametrize("method", ["SSBFGS", "ssbroyden2"])
def test_the_trainer_runs_a_dense_quasi_newton_second_phase(method):
    problem, _ = small_problem()
    trainer = pinn.Trainer(problem)
    first = trainer.train(adam_steps=20, lbfgs_options={"maxiter": 15}, method=method)
    assert first.lbfgs.method.lower() == method.lower() and first.progress["lbfgs_nit"] == 15
    assert first.status == "completed" and first.progress["lbfgs_status"] == "limit_reached"
    state = trainer.quasi_newton_state
    assert state is not None and state.iteration == 15
    more = trainer.train(adam_steps=20, lbfgs_options={"maxiter": 25}, method=method, resume=True)
    assert more.lbfgs.nit == 10 and state.iteration == 25  # the same estimate, continued
    assert more.final_loss < first.final_loss
    assert trainer.objective.trace_count == 1


def test_an_unknown_second_phase_method_lists_every_method():
    loss, x = quadratic()
    with pytest.raises(ValueError, match="SSBFGS.*|L-BFGS-B"):
        pinn.Trainer(loss_fn=loss, variables=[x]).train(method="LBFGS")


def test_error_monitor_samples_by_iteration_and_leaves_out_its_own_time():
    import time as clock

    loss, x = quadratic(30)
    calls = []

    def slow_error():
        calls.append(1)
        clock.sleep(0.05)
        return float(np.abs(x.numpy() - 0.5).max())

    monitor = pinn.ErrorMonitor(slow_error, every=5)
    result = pinn.Trainer(loss_fn=loss, variables=[x], callbacks=[monitor]).train(
        adam_steps=10, lbfgs_options={"maxiter": 10})
    assert [(r["phase"], r["iteration"]) for r in monitor.records] == [
        ("adam", 5), ("adam", 10), ("lbfgs", 5), ("lbfgs", 10)]
    times = [r["time_s"] for r in monitor.records]
    assert times == sorted(times) and times[-1] < result.wall_time - 0.15  # 4 x 50 ms left out
    assert monitor.records[-1]["relative_l2_error"] < monitor.records[0]["relative_l2_error"]
    with pytest.raises(ValueError, match="every"):
        pinn.ErrorMonitor(slow_error, every=None)
