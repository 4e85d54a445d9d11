"""Checkpoints: the training state in one HDF5 file, atomic writes, and resuming a plan."""

import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf

import pinn
from pinn.checkpoint import fresh_progress
from pinn.flat import FlatLayout


def sine_problem(seed=3, widths=(10,)):
    """A small fit of sin(x) with two named loss terms; returns (loss_fn, variables)."""
    keras.utils.set_random_seed(seed)
    model = pinn.mlp(1, 1, list(widths), seed=seed)
    x = np.linspace(-np.pi, np.pi, 64)[:, None]
    y = np.sin(x)

    def loss():
        misfit = tf.reduce_mean(tf.square(model(x) - y))
        size = 1e-4 * tf.add_n([tf.reduce_sum(tf.square(w)) for w in model.trainable_variables])
        return misfit + size, {"misfit": misfit, "size": size}

    return loss, model.trainable_variables


class InterruptAt(pinn.Callback):
    """Raises KeyboardInterrupt at one (phase, iteration), as Ctrl-C would."""

    def __init__(self, phase, iteration):
        self.phase, self.iteration = phase, iteration

    def on_iteration_end(self, iteration, logs):
        if logs["phase"] == self.phase and iteration == self.iteration:
            raise KeyboardInterrupt


def test_save_and_load_round_trip_the_whole_state(tmp_path):
    loss, variables = sine_problem()
    trainer = pinn.Trainer(loss_fn=loss, variables=variables)
    trainer.train(adam_steps=7, lbfgs_options={"maxiter": 5})
    path = trainer.save(tmp_path / "state.h5")

    saved = pinn.load_checkpoint(path)
    np.testing.assert_array_equal(saved.weights, FlatLayout(variables).flatten())
    assert saved.variable_shapes == [tuple(v.shape) for v in variables]
    assert saved.dtype == "float64" and saved.pinn_version == pinn.__version__
    assert saved.adam["iterations"] == 7
    np.testing.assert_array_equal(saved.adam["m"], trainer.adam_state.m)
    assert saved.progress == trainer.progress
    assert saved.progress["adam_steps"] == 7 and saved.progress["lbfgs_nit"] == 5
    assert saved.progress["lbfgs_status"] == "limit_reached"  # stopped on maxiter
    assert saved.history.to_dict() == trainer.history.to_dict()
    assert saved.history.term_names == ["misfit", "size"]

    other_loss, other_variables = sine_problem(seed=9)
    other = pinn.Trainer(loss_fn=other_loss, variables=other_variables)
    other.load(path)
    np.testing.assert_array_equal(FlatLayout(other_variables).flatten(), saved.weights)
    np.testing.assert_array_equal(other.adam_state.v, trainer.adam_state.v)
    assert other.adam_state.iterations == 7
    assert other.history.to_dict() == trainer.history.to_dict()


def test_a_failed_write_leaves_the_old_checkpoint_and_no_temporary_file(tmp_path, monkeypatch):
    loss, variables = sine_problem()
    trainer = pinn.Trainer(loss_fn=loss, variables=variables, checkpoint=tmp_path / "c.h5")
    trainer.train(adam_steps=3, lbfgs=False)
    before = (tmp_path / "c.h5").read_bytes()

    def broken(*args, **kwargs):
        raise KeyboardInterrupt  # e.g. Ctrl-C while the history is being written

    monkeypatch.setattr("pinn.checkpoint._write_history", broken)
    FlatLayout(variables).set_flat(np.zeros(FlatLayout(variables).size))
    with pytest.raises(KeyboardInterrupt):
        trainer.save()
    assert (tmp_path / "c.h5").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.h5"]


def test_loading_a_checkpoint_of_another_model_is_an_error_before_any_change(tmp_path):
    loss, variables = sine_problem()
    pinn.Trainer(loss_fn=loss, variables=variables).save(tmp_path / "small.h5")
    big_loss, big_variables = sine_problem(widths=(12,))
    before = FlatLayout(big_variables).flatten()
    with pytest.raises(ValueError, match="shapes"):
        pinn.Trainer(loss_fn=big_loss, variables=big_variables).load(tmp_path / "small.h5")
    np.testing.assert_array_equal(FlatLayout(big_variables).flatten(), before)

    x32 = tf.Variable(np.zeros(FlatLayout(variables).size, np.float32))
    saved = pinn.load_checkpoint(tmp_path / "small.h5")
    saved.variable_shapes, saved.variable_names = [(FlatLayout(variables).size,)], ["x"]
    pinn.save_checkpoint(tmp_path / "flat.h5", saved)
    with pytest.raises(ValueError, match="float64 variables, but the trainer's are float32"):
        pinn.Trainer(loss_fn=lambda: tf.reduce_sum(x32), variables=[x32]).load(tmp_path / "flat.h5")


def test_bad_checkpoint_arguments_and_files_are_clear_errors(tmp_path):
    loss, variables = sine_problem()
    with pytest.raises(ValueError, match="checkpoint must be an HDF5 file path"):
        pinn.Trainer(loss_fn=loss, variables=variables, checkpoint=tmp_path / "c.pkl")
    with pytest.raises(TypeError, match="checkpoint must be a file path"):
        pinn.Trainer(loss_fn=loss, variables=variables, checkpoint=3)
    with pytest.raises(ValueError, match="checkpoint_every"):
        pinn.Trainer(loss_fn=loss, variables=variables, checkpoint_every=-1)
    trainer = pinn.Trainer(loss_fn=loss, variables=variables)
    with pytest.raises(ValueError, match="save needs a path"):
        trainer.save()
    with pytest.raises(FileNotFoundError, match="no checkpoint file"):
        trainer.load(tmp_path / "missing.h5")
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(ValueError, match="not an HDF5 file"):
        trainer.load(tmp_path / "text.h5")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["u"] = np.zeros(3)
    with pytest.raises(ValueError, match="not a pinn checkpoint"):
        trainer.load(tmp_path / "other.h5")
    with pytest.raises(TypeError, match="resume"):
        trainer.train(adam_steps=1, resume="yes")


def test_periodic_checkpoints_hold_the_iteration_just_recorded(tmp_path):
    loss, variables = sine_problem()
    seen = []

    class ReadCheckpoint(pinn.Callback):
        def on_iteration_end(self, iteration, logs):
            if iteration % 4 == 0:
                saved = pinn.load_checkpoint(tmp_path / "c.h5")
                seen.append((logs["phase"], iteration, saved.history[-1].phase_step,
                             saved.progress["adam_steps"], saved.progress["lbfgs_nit"]))
                if logs["phase"] == "lbfgs":  # L-BFGS saves its iterate, not a line-search point
                    np.testing.assert_array_equal(saved.weights, logs["x"])

    trainer = pinn.Trainer(loss_fn=loss, variables=variables, checkpoint=tmp_path / "c.h5",
                           checkpoint_every=4, callbacks=[ReadCheckpoint()])
    trainer.train(adam_steps=8, lbfgs_options={"maxiter": 8})
    assert seen == [("adam", 4, 4, 4, 0), ("adam", 8, 8, 8, 0), ("lbfgs", 4, 4, 8, 4),
                    ("lbfgs", 8, 8, 8, 8)]


def test_adam_resumed_from_a_checkpoint_matches_an_uninterrupted_run(tmp_path):
    schedule = lambda step: 1e-2 / (1.0 + 0.1 * step)  # resuming must go on with the schedule
    loss, variables = sine_problem()
    x0 = FlatLayout(variables).flatten()
    straight = pinn.Trainer(loss_fn=loss, variables=variables)
    straight.train(adam_steps=30, learning_rate=schedule, lbfgs=False)
    expected = FlatLayout(variables).flatten()

    FlatLayout(variables).set_flat(x0)
    first = pinn.Trainer(loss_fn=loss, variables=variables, checkpoint=tmp_path / "c.h5",
                         checkpoint_every=10, callbacks=[InterruptAt("adam", 13)])
    interrupted = first.train(adam_steps=30, learning_rate=schedule, lbfgs=False)
    assert interrupted.status == "interrupted"
    assert pinn.load_checkpoint(tmp_path / "c.h5").progress["adam_steps"] == 13

    loss2, variables2 = sine_problem(seed=11)  # a fresh process: other weights until loaded
    second = pinn.Trainer(loss_fn=loss2, variables=variables2, checkpoint=tmp_path / "c.h5")
    finished = second.train(adam_steps=30, learning_rate=schedule, lbfgs=False, resume=True)
    assert finished.status == "completed" and finished.resumed
    assert finished.adam.nit == 17 and finished.summary()["adam_steps"] == 30
    # the interrupted run went back to its best weights (those before step 13's update); resuming
    # from there takes the remaining 17 steps with the saved moments, so it ends near, not on,
    # the uninterrupted run's weights
    assert [r.phase_step for r in second.history] == list(range(1, 31))
    assert [r.step for r in second.history] == list(range(30))
    assert np.all(np.diff([r.time for r in second.history]) >= 0)
    assert np.max(np.abs(FlatLayout(variables2).flatten() - expected)) < 0.05


def test_resuming_from_a_periodic_checkpoint_is_exact_for_adam(tmp_path):
    schedule = lambda step: 1e-2 if step < 12 else 1e-3  # resuming goes on with the schedule
    loss, variables = sine_problem()
    x0 = FlatLayout(variables).flatten()
    pinn.Trainer(loss_fn=loss, variables=variables).train(adam_steps=20, learning_rate=schedule,
                                                          lbfgs=False)
    expected = FlatLayout(variables).flatten()

    FlatLayout(variables).set_flat(x0)
    # a run killed outright after step 10 (no chance to write at the best point): its last file
    # is the periodic one, written after step 10's update with the moments of step 10
    first = pinn.Trainer(loss_fn=loss, variables=variables, checkpoint=tmp_path / "c.h5",
                         checkpoint_every=10)
    first.train(adam_steps=10, learning_rate=schedule, lbfgs=False)
    loss2, variables2 = sine_problem(seed=11)
    second = pinn.Trainer(loss_fn=loss2, variables=variables2, checkpoint=tmp_path / "c.h5")
    second.train(adam_steps=20, learning_rate=schedule, lbfgs=False, resume=True)
    np.testing.assert_allclose(FlatLayout(variables2).flatten(), expected, rtol=0, atol=1e-12)


def test_lbfgs_resumes_from_the_saved_point_with_the_iterations_left(tmp_path):
    loss, variables = sine_problem()
    first = pinn.Trainer(loss_fn=loss, variables=variables, checkpoint=tmp_path / "c.h5",
                         checkpoint_every=0, callbacks=[InterruptAt("lbfgs", 25)])
    interrupted = first.train(adam_steps=5, lbfgs_options={"maxiter": 60})
    assert interrupted.status == "interrupted"
    saved = pinn.load_checkpoint(tmp_path / "c.h5")
    assert saved.progress["lbfgs_nit"] == 25 and saved.progress["lbfgs_status"] is None
    assert saved.progress["lbfgs_nfev"] == interrupted.lbfgs.nfev
    best = min(r.loss for r in interrupted.history)
    assert interrupted.final_loss <= best  # written at the best point evaluated

    loss2, variables2 = sine_problem(seed=11)
    second = pinn.Trainer(loss_fn=loss2, variables=variables2, checkpoint=tmp_path / "c.h5")
    resumed = second.train(adam_steps=5, lbfgs_options={"maxiter": 60}, resume=True)
    assert resumed.adam is None  # Adam had finished
    assert resumed.lbfgs.nit == 35 and resumed.summary()["lbfgs_nit"] == 60
    lbfgs_steps = [r.phase_step for r in second.history if r.phase == "lbfgs"]
    assert lbfgs_steps == list(range(1, 61))
    first_resumed = second.history[5 + 25]
    assert first_resumed.loss <= interrupted.final_loss  # it starts from the saved point
    assert resumed.final_loss < interrupted.final_loss
    assert pinn.load_checkpoint(tmp_path / "c.h5").progress["lbfgs_status"] == "limit_reached"

    again = second.train(adam_steps=5, lbfgs_options={"maxiter": 60}, resume=True)
    assert again.adam is None and again.lbfgs is None  # the plan is done: nothing runs
    assert again.final_loss == pytest.approx(resumed.final_loss, rel=1e-12)
    more = second.train(adam_steps=5, lbfgs_options={"maxiter": 70}, resume=True)
    assert more.lbfgs.nit == 10 and more.summary()["lbfgs_nit"] == 70  # a larger budget goes on


def test_resume_without_a_checkpoint_file_starts_the_plan_and_goes_on_in_memory(tmp_path):
    loss, variables = sine_problem()
    trainer = pinn.Trainer(loss_fn=loss, variables=variables, checkpoint=tmp_path / "new.h5")
    result = trainer.train(adam_steps=4, lbfgs=False, resume=True)
    assert not result.resumed and result.adam.nit == 4
    assert (tmp_path / "new.h5").is_file()

    plain = pinn.Trainer(loss_fn=loss, variables=variables, callbacks=[InterruptAt("adam", 3)])
    assert plain.train(adam_steps=6, lbfgs=False).status == "interrupted"
    plain.callbacks = []
    again = plain.train(adam_steps=6, lbfgs=False, resume=True)
    assert again.resumed and again.adam.nit == 3 and plain.progress["adam_steps"] == 6
    fresh = plain.train(adam_steps=6, lbfgs=False)  # without resume, a new plan
    assert fresh.adam.nit == 6
    assert plain.progress == {**fresh_progress(), "adam_steps": 6, "adam_status": "limit_reached"}


def test_loading_a_checkpoint_of_other_settings_is_an_error(tmp_path):
    loss, variables = sine_problem()
    pinn.Trainer(loss_fn=loss, variables=variables, settings={"seed": 0, "n_f": 100}).save(
        tmp_path / "c.h5")
    assert pinn.load_checkpoint(tmp_path / "c.h5").settings == {"seed": 0, "n_f": 100}
    other = pinn.Trainer(loss_fn=loss, variables=variables, settings={"seed": 1, "n_f": 100})
    with pytest.raises(ValueError, match="seed: 0 there, 1 here"):
        other.load(tmp_path / "c.h5")
    same = pinn.Trainer(loss_fn=loss, variables=variables, settings={"n_f": 100, "seed": 0})
    same.load(tmp_path / "c.h5")
    with pytest.raises(TypeError, match="settings must be a dict"):
        pinn.Trainer(loss_fn=loss, variables=variables, settings=[1])
