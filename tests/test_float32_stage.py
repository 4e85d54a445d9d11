"""The Trainer's float32 stage: Adam and the first second-phase iterations on a float32 twin of the
problem, then float64 from the point reached; exact resume in either stage; clear errors."""

import numpy as np
import pytest
import tensorflow as tf

import pinn
from pinn.checkpoint import load_checkpoint
from pinn.loss import as_loss


def rosenbrock(dtype, n=10):
    """The Rosenbrock loss of one variable of ``dtype`` (n,); returns (loss, variable)."""
    x = tf.Variable(np.linspace(-1.2, 1.0, n), dtype=dtype, name="x")

    def loss():
        return tf.reduce_sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    return loss, x


def as_problem(dtype, n=10):
    """The Rosenbrock loss of ``dtype`` as a pinn.Loss."""
    loss, x = rosenbrock(dtype, n)
    return as_loss(loss, [x])


def trainer(**kwargs):
    """A Trainer of the float64 Rosenbrock loss with its float32 twin; returns (trainer, x64, x32)."""
    loss64, x64 = rosenbrock(tf.float64)
    loss32, x32 = rosenbrock(tf.float32)
    return (pinn.Trainer(loss_fn=loss64, variables=[x64], float32_problem=as_loss(loss32, [x32]),
                         **kwargs), x64, x32)


class PhaseDtypes(pinn.Callback):
    """Records (phase, dtype, first iteration number) of each phase call."""

    def __init__(self):
        self.calls = []

    def on_phase_begin(self, logs):
        self.calls.append([logs["phase"], logs["dtype"], None])

    def on_iteration_end(self, iteration, logs):
        if self.calls[-1][2] is None:
            self.calls[-1][2] = iteration



@pytest.mark.parametrize("method,phase", [("SSBFGS", "ssbfgs"), ("L-BFGS-B", "lbfgs")])
def test_adam_and_the_first_iterations_run_in_float32_then_the_phase_goes_on_in_float64(method, phase):
    run, x64, x32 = trainer()
    dtypes = PhaseDtypes()
    result = run.train(adam_steps=3, method=method, lbfgs_options={"maxiter": 30, "gtol": 0.0},
                       float32_iterations=12, callbacks=[dtypes])
    assert result.status == "completed"
    assert [c[:2] for c in dtypes.calls] == [["adam", "float32"], [phase, "float32"], [phase, "float64"]]
    assert dtypes.calls[2][2] == 13  # the float64 segment numbers its iterations on
    assert result.progress["lbfgs_nit"] == 30 and result.progress["float32_ended"]
    assert not np.allclose(x32.numpy(), np.linspace(-1.2, 1.0, 10))  # the twin was trained
    # the float64 variables hold the result, and the reported loss is theirs
    final = run.objective(run.layout.flatten())
    assert result.final_loss == pytest.approx(final.fun, rel=1e-12)
    assert x64.dtype == tf.float64 and run.layout.dtype == tf.float64


def test_without_a_float32_stage_nothing_runs_in_float32():
    run, _, x32 = trainer()
    dtypes = PhaseDtypes()
    run.train(adam_steps=2, method="SSBFGS", lbfgs_options={"maxiter": 5}, callbacks=[dtypes])
    assert {c[1] for c in dtypes.calls} == {"float64"}
    np.testing.assert_array_equal(x32.numpy(), np.linspace(-1.2, 1.0, 10).astype(np.float32))


def test_the_float32_stage_ends_early_where_float32_stops_progressing():
    run, x64, _ = trainer()
    dtypes = PhaseDtypes()
    result = run.train(method="SSBFGS", lbfgs_options={"maxiter": 400, "gtol": 0.0},
                       float32_iterations=10 ** 6, callbacks=[dtypes])
    # float32 cannot resolve the minimum x = 1: its line search fails (or a step leaves the loss
    # unchanged) long before 10**6 iterations, and float64 takes over from there
    assert [c[1] for c in dtypes.calls] == ["float32", "float64"]
    assert result.progress["float32_ended"] and result.status == "completed"
    switch = dtypes.calls[1][2] - 1
    assert 0 < switch < 400
    assert result.final_loss < 1e-20  # beyond float32's reach: (6e-8)^2 per term
    np.testing.assert_allclose(x64.numpy(), 1.0, atol=1e-10)


@pytest.mark.parametrize("stop", [7, 20])  # in the float32 stage, in the float64 one
def test_a_run_stopped_in_either_stage_resumes_exactly(tmp_path, stop, stop_at):
    options = {"maxiter": 30, "gtol": 0.0}
    whole, x64, _ = trainer()
    reference = whole.train(adam_steps=3, method="SSBFGS", lbfgs_options=options, float32_iterations=12)
    expected = x64.numpy().copy()

    path = tmp_path / "run.h5"
    first, _, _ = trainer(checkpoint=path, checkpoint_every=0)
    stopped = first.train(adam_steps=3, method="SSBFGS", lbfgs_options=options, float32_iterations=12,
                          callbacks=[stop_at(stop)])
    assert stopped.status == "stopped"
    saved = load_checkpoint(path)
    assert saved.progress["lbfgs_nit"] == stop and saved.progress["float32_ended"] == (stop > 12)

    second, x64, _ = trainer(checkpoint=path)  # a new process: new variables, the file
    dtypes = PhaseDtypes()
    resumed = second.train(adam_steps=3, method="SSBFGS", lbfgs_options=options, float32_iterations=12,
                           resume=True, callbacks=[dtypes])
    assert resumed.resumed and resumed.progress["lbfgs_nit"] == 30
    assert [c[1] for c in dtypes.calls] == (["float32", "float64"] if stop < 12 else ["float64"])
    np.testing.assert_allclose(x64.numpy(), expected, rtol=1e-12, atol=1e-14)
    assert resumed.final_loss == pytest.approx(reference.final_loss, rel=1e-10, abs=1e-300)


def test_bad_float32_stages_are_refused_before_any_work():
    loss64, x64 = rosenbrock(tf.float64)
    plain = pinn.Trainer(loss_fn=loss64, variables=[x64])
    with pytest.raises(ValueError, match="float32_iterations needs the float32 twin.*float32_problem"):
        plain.train(method="SSBFGS", float32_iterations=5)
    run, x64, _ = trainer()
    with pytest.raises(ValueError, match="float32_iterations must be an int >= 0"):
        run.train(float32_iterations=-1)
    np.testing.assert_array_equal(x64.numpy(), np.linspace(-1.2, 1.0, 10))  # nothing ran

    other64 = as_problem(tf.float64)
    with pytest.raises(ValueError, match="float32_problem must have float32 variables, got float64"):
        pinn.Trainer(loss_fn=loss64, variables=[x64], float32_problem=other64)
    loss32, x32 = rosenbrock(tf.float32)
    with pytest.raises(ValueError, match="a float32 stage needs a float64 problem"):
        pinn.Trainer(loss_fn=loss32, variables=[x32], float32_problem=as_problem(tf.float32))
    with pytest.raises(ValueError, match=r"float32_problem has variables of shapes \[\(4,\)\]"):
        pinn.Trainer(loss_fn=loss64, variables=[x64], float32_problem=as_problem(tf.float32, n=4))
    with pytest.raises(TypeError, match="float32_problem must be a pinn.Loss"):
        pinn.Trainer(loss_fn=loss64, variables=[x64], float32_problem="float32")
