"""pinn.minimize, the float64 bridge, callbacks and the Adam phase."""

import numpy as np
import pytest
import tensorflow as tf
import keras

import pinn
from pinn.flat import FlatLayout
from pinn.objective import CompiledObjective


def quadratic_problem(dtype="float64"):
    x = tf.Variable(np.zeros(5), dtype=dtype)
    return (lambda: tf.reduce_sum(tf.square(x - 2.0))), x


def test_quadratic_converges_in_a_handful_of_evaluations():
    loss, x = quadratic_problem()
    result = pinn.minimize(loss, [x])
    assert result.success
    np.testing.assert_allclose(x.numpy(), 2.0, atol=1e-6)
    np.testing.assert_allclose(result.x, 2.0, atol=1e-6)
    assert result.nfev <= 6
    assert result.fun < 1e-12


def test_rosenbrock_10d_reaches_the_minimum():
    z = tf.Variable(np.tile([-1.2, 1.0], 5))

    def rosenbrock():
        return tf.reduce_sum(100.0 * (z[1:] - z[:-1] ** 2) ** 2 + (1.0 - z[:-1]) ** 2)

    result = pinn.minimize(rosenbrock, [z])
    assert result.fun < 1e-10
    np.testing.assert_allclose(z.numpy(), 1.0, atol=1e-5)


def sine_data():
    x = np.linspace(-np.pi, np.pi, 200)[:, None]
    return tf.constant(x), tf.constant(np.sin(x))


def sequential_model():
    return keras.Sequential([
        keras.Input((1,), dtype="float64"),
        keras.layers.Dense(20, activation="tanh", dtype="float64"),
        keras.layers.Dense(20, activation="tanh", dtype="float64"),
        keras.layers.Dense(1, dtype="float64"),
    ])


def functional_model():
    inputs = keras.Input((1,), dtype="float64")
    h = keras.layers.Dense(20, activation="tanh", dtype="float64")(inputs)
    h = keras.layers.Dense(20, activation="tanh", dtype="float64")(h)
    return keras.Model(inputs, keras.layers.Dense(1, dtype="float64")(h))


class SubclassedModel(keras.Model):
    def __init__(self):
        super().__init__(dtype="float64")
        self.hidden = [keras.layers.Dense(20, activation="tanh", dtype="float64") for _ in range(2)]
        self.out = keras.layers.Dense(1, dtype="float64")

    def call(self, x):
        for layer in self.hidden:
            x = layer(x)
        return self.out(x)


@pytest.mark.parametrize("build", [sequential_model, functional_model, SubclassedModel])
def test_keras_models_fit_sine_with_lbfgs(build):
    keras.utils.set_random_seed(0)
    model = build()
    X, Y = sine_data()
    model(X)  # build the variables
    loss = lambda: tf.reduce_mean(tf.square(model(X) - Y))
    result = pinn.minimize(loss, model.trainable_variables, options={"maxiter": 5000})
    assert result.fun < 1e-5
    assert float(loss()) == pytest.approx(result.fun, rel=1e-12)  # variables left at x


def test_adam_then_lbfgs_on_the_same_model():
    keras.utils.set_random_seed(1)
    model = sequential_model()
    X, Y = sine_data()
    loss = lambda: tf.reduce_mean(tf.square(model(X) - Y))
    trainer = pinn.Trainer(loss_fn=loss, variables=model.trainable_variables)
    result = trainer.train(adam_steps=300, learning_rate=1e-2, lbfgs_options={"maxiter": 5000})
    assert result.status == "completed"
    assert result.adam.nit == 300
    assert result.adam.fun < result.history[0].loss  # Adam made progress
    assert result.lbfgs.fun < 1e-5
    assert result.history.phases == ["adam", "lbfgs"]
    steps = result.history.column("step")
    assert list(steps) == list(range(len(result.history)))
    assert np.all(np.diff(result.history.column("time")) >= 0)
    assert len(result.history) == 300 + result.lbfgs.nit


def small_mlp_objective(dtype="float64"):
    keras.utils.set_random_seed(2)
    model = pinn.mlp(1, 1, [8, 8], dtype=dtype, seed=3)
    X, Y = sine_data()
    X, Y = tf.cast(X, dtype), tf.cast(Y, dtype)
    return CompiledObjective(lambda: tf.reduce_mean(tf.square(model(X) - Y)), model.trainable_variables)


def test_flat_gradient_matches_finite_differences():
    objective = small_mlp_objective()
    x0 = objective.layout.flatten() + 0.1
    gradient = objective(x0).jac
    h = 1e-6
    fd = np.empty_like(x0)
    for i in range(x0.size):
        e = np.zeros_like(x0)
        e[i] = h
        fd[i] = (objective(x0 + e)[0] - objective(x0 - e)[0]) / (2 * h)
    np.testing.assert_allclose(gradient, fd, rtol=1e-6, atol=1e-9 * np.abs(fd).max())


def test_flatten_unflatten_round_trip_mixed_shapes():
    rng = np.random.default_rng(0)
    shapes = [(), (3,), (2, 4), (2, 1, 3), (1,)]
    variables = [tf.Variable(rng.normal(size=s)) for s in shapes]
    layout = FlatLayout(variables)
    assert layout.size == 1 + 3 + 8 + 6 + 1
    flat = layout.flatten()
    assert flat.dtype == np.float64 and flat.shape == (layout.size,)
    for piece, v in zip(layout.unflatten(flat), variables):
        assert piece.shape == tuple(v.shape)
        np.testing.assert_array_equal(piece, v.numpy())
    new = rng.normal(size=layout.size)
    layout.set_flat(new)
    np.testing.assert_array_equal(layout.flatten(), new)
    layout.assign(tf.constant(flat))
    np.testing.assert_array_equal(layout.flatten(), flat)
    with pytest.raises(ValueError, match=r"shape \(19,\)"):
        layout.unflatten(np.zeros(5))


def test_compiled_function_is_traced_once():
    objective = small_mlp_objective()
    result = pinn.minimize(objective.loss.loss_fn, objective.layout.variables, options={"maxiter": 50})
    assert result.nfev > 20
    assert result.trace_count == 1


class Counter(pinn.Callback):
    def __init__(self):
        self.iterations, self.begun, self.ended, self.losses = [], 0, 0, []

    def on_phase_begin(self, logs):
        self.begun += 1

    def on_iteration_end(self, iteration, logs):
        self.iterations.append(iteration)
        self.losses.append(logs["loss"])
        assert {"phase", "loss", "nfev", "time", "evals_per_second", "terms"} <= set(logs)

    def on_phase_end(self, logs):
        self.ended += 1


def counting_problem():
    """A loss that counts its own executions in a variable (one per evaluation)."""
    keras.utils.set_random_seed(4)
    model = pinn.mlp(1, 1, [10], seed=5)
    X, Y = sine_data()
    count = tf.Variable(0, dtype=tf.int64, trainable=False)

    def loss():
        count.assign_add(1)
        return tf.reduce_mean(tf.square(model(X) - Y))

    return loss, model.trainable_variables, count


def test_callbacks_see_every_iteration_once_at_no_extra_evaluation():
    loss, variables, count = counting_problem()
    x0 = FlatLayout(variables).flatten()
    plain = pinn.minimize(loss, variables, options={"maxiter": 60})
    plain_evaluations = int(count.numpy())
    assert plain_evaluations == plain.nfev

    FlatLayout(variables).set_flat(x0)
    count.assign(0)
    counter = Counter()
    logged = pinn.minimize(loss, variables, options={"maxiter": 60},
                           callbacks=[counter, pinn.ProgressLogger(every=10, stream=open("/dev/null", "w"))])
    assert counter.iterations == list(range(1, logged.nit + 1))
    assert counter.begun == counter.ended == 1
    assert int(count.numpy()) == logged.nfev == plain_evaluations  # callbacks cost nothing
    assert logged.nit == plain.nit
    assert all(np.isfinite(counter.losses))
    assert counter.losses[-1] == pytest.approx(logged.fun)


def test_progress_logger_prints_iteration_loss_and_rate(capsys):
    loss, x = quadratic_problem()
    pinn.minimize(loss, [x], callbacks=[pinn.ProgressLogger(every=1)])
    out = capsys.readouterr().out
    assert "[lbfgs] it      1" in out and "eval/s" in out and "nfev" in out and "done" in out


def test_callback_can_stop_training():
    loss, variables, _ = counting_problem()

    class StopAtThree(pinn.Callback):
        def on_iteration_end(self, iteration, logs):
            self.stop_training = iteration >= 3

    result = pinn.minimize(loss, variables, callbacks=[StopAtThree()])
    assert result.nit == 3
    assert result.status is pinn.Status.STOPPED and not result.success


class InterruptAt(pinn.Callback):
    """Records every logged loss in ``seen`` and raises KeyboardInterrupt at ``iteration``."""

    def __init__(self, iteration, seen):
        self.iteration, self.seen = iteration, seen

    def on_iteration_end(self, iteration, logs):
        self.seen.append(logs["loss"])
        if iteration == self.iteration:
            raise KeyboardInterrupt


def test_interrupt_leaves_the_best_point_and_reraises():
    loss, variables, _ = counting_problem()
    seen = []
    with pytest.raises(KeyboardInterrupt):
        pinn.minimize(loss, variables, callbacks=[InterruptAt(5, seen)])
    assert float(loss()) <= min(seen) + 1e-15


@pytest.mark.parametrize("method", ["BFGS", "CG", "Newton-CG", "TNC", "SLSQP", "trust-constr"])
def test_other_gradient_methods_work_through_the_bridge(method):
    loss, x = quadratic_problem()
    counter = Counter()
    result = pinn.minimize(loss, [x], method=method, callbacks=[counter])
    np.testing.assert_allclose(x.numpy(), 2.0, atol=1e-4)
    assert len(counter.iterations) >= 1
    assert result.method == method


def test_float32_model_trains_and_scipy_sees_float64():
    objective = small_mlp_objective("float32")
    variables = objective.layout.variables
    before = float(objective.loss.loss_fn())
    result = pinn.minimize(objective.loss.loss_fn, variables, options={"maxiter": 200})
    assert result.x.dtype == np.float64 and result.jac.dtype == np.float64
    assert variables[0].dtype == tf.float32
    assert result.fun < before / 10


def test_options_default_to_the_paper_and_accept_scipy_options():
    assert pinn.LBFGS_DEFAULTS == {"maxiter": 50000, "maxfun": 50000, "maxcor": 50, "maxls": 50,
                                   "ftol": np.finfo(float).eps, "gtol": 1e-10}
    loss, x = quadratic_problem()
    result = pinn.minimize(loss, [x], options={"maxiter": 1, "gtol": 1e-12, "maxcor": 5})
    assert result.nit == 1


# -- bad input ------------------------------------------------------------------------------------
def test_mixed_dtypes_are_rejected():
    a, b = tf.Variable(1.0, dtype=tf.float32), tf.Variable(1.0, dtype=tf.float64)
    with pytest.raises(ValueError, match="one dtype"):
        pinn.minimize(lambda: tf.cast(a, tf.float64) + b, [a, b])


def test_empty_variable_list_is_rejected():
    with pytest.raises(ValueError, match="non-empty"):
        pinn.minimize(lambda: tf.constant(1.0), [])


def test_non_variables_are_rejected():
    with pytest.raises(TypeError, match=r"variables\[0\]"):
        pinn.minimize(lambda: tf.constant(1.0), [np.zeros(3)])


def test_non_scalar_loss_is_rejected():
    x = tf.Variable(np.zeros(3))
    with pytest.raises(ValueError, match="scalar"):
        pinn.minimize(lambda: tf.square(x - 1.0), [x])


def test_unused_variable_is_an_error_unless_allowed():
    x, unused = tf.Variable(np.zeros(3)), tf.Variable(5.0, dtype=tf.float64, name="unused")
    loss = lambda: tf.reduce_sum(tf.square(x - 1.0))
    with pytest.raises(ValueError, match="does not depend on variables.*unused"):
        pinn.minimize(loss, [x, unused])
    result = pinn.minimize(loss, [x, unused], allow_unused=True)
    assert result.success
    np.testing.assert_allclose(x.numpy(), 1.0, atol=1e-8)
    assert float(unused.numpy()) == 5.0


def test_unknown_option_is_rejected_before_any_evaluation():
    loss, variables, count = counting_problem()
    with pytest.raises(ValueError, match="unknown L-BFGS-B option.*'maxiters'"):
        pinn.minimize(loss, variables, options={"maxiters": 10})
    assert int(count.numpy()) == 0


def test_non_callable_loss_is_rejected():
    with pytest.raises(TypeError, match="loss_fn must be a callable"):
        pinn.minimize(3.0, [tf.Variable(1.0)])


def test_unknown_and_gradient_free_methods_are_rejected():
    loss, x = quadratic_problem()
    with pytest.raises(ValueError, match="method must be one of"):
        pinn.minimize(loss, [x], method="Nelder-Mead")


def test_nonfinite_initial_loss_is_rejected():
    x = tf.Variable(np.zeros(2))
    with pytest.raises(ValueError, match="nan"):
        pinn.minimize(lambda: tf.reduce_sum(tf.math.log(x - 1.0) * 0.0 + tf.sqrt(x - 1.0)), [x])


# -- Adam ----------------------------------------------------------------------------------------
def test_adam_matches_the_textbook_update():
    x = tf.Variable(np.array([1.0, -2.0]))
    result = pinn.adam(lambda: tf.reduce_sum(x ** 2), [x], steps=1, learning_rate=0.1)
    # first step: m_hat = g, v_hat = g^2, so the step is lr * sign(g) (up to epsilon)
    np.testing.assert_allclose(x.numpy(), [0.9, -1.9], rtol=1e-6)
    assert result.nit == 1 and result.fun == pytest.approx(5.0)


def test_adam_schedule_best_weights_and_nonfinite_stop():
    x = tf.Variable(np.array([3.0]))
    rates = []

    def schedule(step):
        rates.append(step)
        return 0.5 / (1 + step)

    result = pinn.adam(lambda: tf.reduce_sum((x - 1.0) ** 2), [x], steps=200, learning_rate=schedule)
    assert rates[:3] == [0, 1, 2]
    assert abs(float(x.numpy()[0]) - 1.0) < 0.1
    assert result.best_fun <= result.fun

    z = tf.Variable(np.array([2.0]))
    seen = []
    with pytest.raises(KeyboardInterrupt):  # interrupted: back to the best weights evaluated
        pinn.adam(lambda: tf.reduce_sum(z ** 2), [z], steps=100, learning_rate=0.1,
                  callbacks=[InterruptAt(5, seen)])
    assert float(z.numpy()[0]) ** 2 == pytest.approx(min(seen))

    y = tf.Variable(np.array([1.0]))
    blow = pinn.adam(lambda: tf.reduce_sum(tf.math.log(y)), [y], steps=50, learning_rate=1.0)
    assert blow.status is pinn.Status.NONFINITE and "nan" in blow.message.lower()
    assert np.isfinite(y.numpy()).all()


def test_adam_rejects_bad_arguments():
    loss, x = quadratic_problem()
    with pytest.raises(ValueError, match="steps"):
        pinn.adam(loss, [x], steps=-1)
    with pytest.raises(ValueError, match="learning_rate"):
        pinn.adam(loss, [x], steps=1, learning_rate=0.0)


def test_blas_threads_are_limited_while_scipy_runs():
    from threadpoolctl import threadpool_info

    seen = []

    class Inspect(pinn.Callback):
        def on_iteration_end(self, iteration, logs):
            seen.append({lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"})

    loss, x = quadratic_problem()
    pinn.minimize(loss, [x], callbacks=[Inspect()])
    assert seen and all(threads <= {1} for threads in seen)
    with pytest.raises(ValueError, match="blas_threads"):
        pinn.minimize(loss, [x], blas_threads=0)


def test_trainer_interrupted_keeps_best_weights_counts_and_history():
    loss, variables, _ = counting_problem()

    class Interrupt(pinn.Callback):
        def on_iteration_end(self, iteration, logs):
            if logs["phase"] == "lbfgs" and iteration == 7:
                raise KeyboardInterrupt

    trainer = pinn.Trainer(loss_fn=loss, variables=variables, callbacks=[Interrupt()])
    result = trainer.train(adam_steps=5)
    assert result.status == "interrupted"
    assert result.adam.nit == 5 and result.lbfgs.nit == 7 and result.lbfgs.status is pinn.Status.INTERRUPTED
    assert result.final_loss == pytest.approx(float(loss()), rel=1e-12)
    assert result.final_loss <= min(r.loss for r in result.history if r.phase == "lbfgs")
    assert len(result.history) == 12
    assert result.summary()["lbfgs_nit"] == 7
