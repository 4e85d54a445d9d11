"""Derivatives of many fields in few backward passes; the tape warning; derivative-name checks."""

import logging

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.platform import tf_logging

import pinn
from pinn.derivatives import check_names, parse_derivative

POINTS = np.random.default_rng(0).uniform(-1, 1, size=(16, 2))
COORDINATES = ("x", "t")


def network(k, seed=0):
    """A small tanh MLP (2 -> k) in float64 with random (not zero) biases."""
    net = pinn.mlp(2, k, [12, 12], dtype="float64", seed=seed)
    rng = np.random.default_rng(seed + 1)
    for v in net.trainable_variables:
        if len(v.shape) == 1:
            v.assign(rng.normal(0.0, 0.3, size=v.shape))
    return net


def names(k):
    return tuple(f"f{i}" for i in range(k))


def reference(net, k, points):
    """x- and t-derivatives of first and second order of every field, by nested per-field tapes.

    Returns {"f3_x": (N, 1), "f3_xx": ..., "f3_xt": ..., "f3_t": ..., "f3_tt": ...}.
    """
    X = tf.constant(points)
    out = {}
    for i, f in enumerate(names(k)):
        with tf.GradientTape(persistent=True) as outer:
            outer.watch(X)
            with tf.GradientTape() as inner:
                inner.watch(X)
                y = net(X)[:, i]
            g = inner.gradient(y, X)
            gx, gt = g[:, 0], g[:, 1]
        out[f + "_x"], out[f + "_t"] = gx[:, None], gt[:, None]
        out[f + "_xx"] = outer.gradient(gx, X)[:, 0:1]
        out[f + "_xt"] = outer.gradient(gx, X)[:, 1:2]
        out[f + "_tt"] = outer.gradient(gt, X)[:, 1:2]
    return out


def x_derivatives_by_name(d, k):
    return [d[f + suffix] for f in names(k) for suffix in ("_x", "_xx")]


# -- 1. backward passes that do not grow with the number of fields ------------------------------
# passes to get f_x and f_xx of every field: by name (fields one after the other) and by block
BY_NAME = {1: 2, 2: 4, 5: 6, 20: 6, 101: 6}
BY_BLOCK = {1: 2, 2: 4, 5: 4, 20: 4, 101: 4}


@pytest.mark.parametrize("k", [1, 2, 5, 20, 101])
def test_first_and_second_derivatives_of_all_fields_in_a_fixed_number_of_passes(k):
    net = network(k)
    expected = reference(net, k, POINTS)

    d = pinn.Derivatives(net, tf.constant(POINTS), COORDINATES, names(k))
    values = x_derivatives_by_name(d, k)
    assert d.backward_passes == BY_NAME[k]
    want = [expected[f + suffix] for f in names(k) for suffix in ("_x", "_xx")]
    for got, ref in zip(values, want):
        assert got.shape == (16, 1)
        np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=0, atol=1e-12)
    # asking again costs nothing
    x_derivatives_by_name(d, k)
    assert d.backward_passes == BY_NAME[k]

    d = pinn.Derivatives(net, tf.constant(POINTS), COORDINATES, names(k))
    ux, uxx = d.block("x"), d.block("x", "x")
    assert d.backward_passes == BY_BLOCK[k]
    assert ux.shape == uxx.shape == (16, k)
    for i, f in enumerate(names(k)):
        np.testing.assert_allclose(ux[:, i:i + 1].numpy(), expected[f + "_x"].numpy(), rtol=0, atol=1e-12)
        np.testing.assert_allclose(uxx[:, i:i + 1].numpy(), expected[f + "_xx"].numpy(), rtol=0, atol=1e-12)
        assert d[f + "_xx"].shape == (16, 1)  # by name after the block: cached
    assert d.backward_passes == BY_BLOCK[k]


def test_passes_do_not_grow_with_the_number_of_fields():
    assert BY_BLOCK[2] == BY_BLOCK[5] == BY_BLOCK[20] == BY_BLOCK[101] and BY_BLOCK[1] <= BY_BLOCK[2]
    assert BY_NAME[5] == BY_NAME[20] == BY_NAME[101] and max(BY_NAME.values()) == 6


@pytest.mark.parametrize("k", [1, 2, 5])
def test_all_second_derivatives_and_mixed_partials(k):
    net = network(k, seed=3)
    expected = reference(net, k, POINTS)
    d = pinn.Derivatives(net, tf.constant(POINTS), COORDINATES, names(k))
    for f in names(k):
        for name in ("_t", "_x", "_tt", "_xt", "_xx"):
            np.testing.assert_allclose(d[f + name].numpy(), expected[f + name].numpy(), rtol=0, atol=1e-12)
        assert d[f + "_tx"] is d[f + "_xt"]
        np.testing.assert_allclose(d.derivative(f, "t", "x").numpy(), expected[f + "_xt"].numpy(), atol=1e-12)
        assert getattr(d, f + "_xx") is d[f + "_xx"]
    assert d.outputs.shape == (16, k)
    assert set(d.computed) >= {f + s for f in names(k) for s in ("", "_x", "_t", "_xx", "_xt", "_tt")}


def test_third_order_in_block_mode_matches_nested_tapes():
    k = 6
    net = network(k, seed=5)
    X = tf.constant(POINTS)
    with tf.GradientTape(persistent=True) as t3:
        t3.watch(X)
        with tf.GradientTape(persistent=True) as t2:
            t2.watch(X)
            with tf.GradientTape(persistent=True) as t1:
                t1.watch(X)
                y = [net(X)[:, i] for i in range(k)]
            gx = [t1.gradient(yi, X)[:, 0] for yi in y]
        gxt = [t2.gradient(v, X)[:, 1] for v in gx]
    gxtt = [t3.gradient(v, X)[:, 1:2] for v in gxt]
    d = pinn.Derivatives(net, X, COORDINATES, names(k))
    block = d.block("t", "x", "t")
    for i, f in enumerate(names(k)):
        np.testing.assert_allclose(d[f + "_xtt"].numpy(), gxtt[i].numpy(), rtol=0, atol=1e-11)
        np.testing.assert_allclose(block[:, i:i + 1].numpy(), gxtt[i].numpy(), rtol=0, atol=1e-11)
    assert d.backward_passes == 6  # three orders, a block pass and one column each


def test_a_block_reuses_the_block_pass_of_either_parent():
    k = 5
    net = network(k, seed=6)
    expected = reference(net, k, POINTS)
    d = pinn.Derivatives(net, tf.constant(POINTS), COORDINATES, names(k))
    d.block("t", "t")  # block passes at orders () and (t,), one column each
    assert d.backward_passes == 4
    xt = d.block("x", "t")  # one column from the (t,) block, not a new block pass from (x,)
    assert d.backward_passes == 5
    for i, f in enumerate(names(k)):
        np.testing.assert_allclose(xt[:, i:i + 1].numpy(), expected[f + "_xt"].numpy(), rtol=0, atol=1e-12)
        np.testing.assert_allclose(d[f + "_tt"].numpy(), expected[f + "_tt"].numpy(), rtol=0, atol=1e-12)
    assert d.backward_passes == 5


def loss_from(d, k):
    terms = [d[f + s] for f in names(k) for s in ("_x", "_xx", "_t")]
    return tf.add_n([tf.reduce_mean(tf.square(v)) for v in terms]) + tf.reduce_mean(d.outputs ** 2)


def reference_loss(net, k, X):
    with tf.GradientTape(persistent=True) as outer:
        outer.watch(X)
        with tf.GradientTape(persistent=True) as inner:
            inner.watch(X)
            y = net(X)
            columns = [y[:, i] for i in range(k)]
        grads = [inner.gradient(c, X) for c in columns]
        x_derivatives = [g[:, 0] for g in grads]
    terms = []
    for g, gx in zip(grads, x_derivatives):
        terms += [gx, outer.gradient(gx, X)[:, 0], g[:, 1]]
    return tf.add_n([tf.reduce_mean(tf.square(v)) for v in terms]) + tf.reduce_mean(y ** 2)


@pytest.mark.parametrize("k", [1, 2, 5, 20])
def test_weight_gradients_match_per_field_tapes(k):
    net = network(k, seed=7)
    X = tf.constant(POINTS)
    with tf.GradientTape() as tape:
        ref = reference_loss(net, k, X)
    ref_grads = tape.gradient(ref, net.trainable_variables)
    with tf.GradientTape() as tape:
        loss = loss_from(pinn.Derivatives(net, X, COORDINATES, names(k)), k)
    grads = tape.gradient(loss, net.trainable_variables)
    np.testing.assert_allclose(float(loss), float(ref), rtol=1e-12)
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g.numpy(), r.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize("k", [1, 5])
def test_inside_tf_function_with_and_without_xla(k, jit_compile):
    net = network(k, seed=9)
    X = tf.constant(POINTS)
    variables = net.trainable_variables

    @tf.function(jit_compile=jit_compile, reduce_retracing=True)
    def step(points):
        with tf.GradientTape() as tape:
            d = pinn.Derivatives(net, points, COORDINATES, names(k))
            loss = loss_from(d, k)
        return loss, tape.gradient(loss, variables), d.block("x", "x")

    loss, grads, uxx = step(X)
    with tf.GradientTape() as tape:
        ref = reference_loss(net, k, X)
    ref_grads = tape.gradient(ref, variables)
    expected = reference(net, k, POINTS)
    np.testing.assert_allclose(float(loss), float(ref), rtol=1e-12)
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g.numpy(), r.numpy(), rtol=1e-11, atol=1e-12)
    for i, f in enumerate(names(k)):
        np.testing.assert_allclose(uxx[:, i:i + 1].numpy(), expected[f + "_xx"].numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("k", [2, 3, 6])
def test_fields_that_do_not_depend_on_the_inputs_have_zero_derivatives(k):
    def net(X):
        x, t = X[:, 0:1], X[:, 1:2]
        constant = tf.ones_like(x)  # no gradient path to X
        columns = [tf.sin(x) * t, 2.0 * constant] + [x * t ** 2 + i for i in range(k - 2)]
        return tf.concat(columns, axis=1)

    d = pinn.Derivatives(net, tf.constant(POINTS), COORDINATES, names(k))
    x, t = POINTS[:, 0:1], POINTS[:, 1:2]
    for f in names(k):  # by name: per-field passes, then blocks for k = 6
        d[f + "_xt"]
    np.testing.assert_array_equal(d.f1_x.numpy(), 0.0)
    np.testing.assert_array_equal(d.f1_xt.numpy(), 0.0)
    np.testing.assert_allclose(d.f0_xt.numpy(), np.cos(x), atol=1e-14)
    np.testing.assert_array_equal(d.block("t", "t")[:, 1].numpy(), 0.0)
    np.testing.assert_allclose(d.block("x", "t")[:, 0:1].numpy(), np.cos(x), atol=1e-14)
    if k > 2:
        np.testing.assert_allclose(d.f2_xt.numpy(), 2 * t, atol=1e-14)

    nothing = lambda X: tf.ones_like(X[:, :1]) * tf.constant([[1.0, 2.0, 3.0]], tf.float64)  # noqa: E731
    d = pinn.Derivatives(nothing, tf.constant(POINTS), COORDINATES, ("a", "b", "c"))
    assert d.block("x", "t").shape == (16, 3)
    np.testing.assert_array_equal(d.block("x", "t").numpy(), 0.0)
    np.testing.assert_array_equal(d.c_tt.numpy(), 0.0)


def test_block_rejects_unknown_coordinates():
    d = pinn.Derivatives(network(3), tf.constant(POINTS), COORDINATES, names(3))
    with pytest.raises(KeyError, match="coordinates are \\['x', 't'\\]"):
        d.block("y")
    assert d.block().shape == (16, 3) and d.backward_passes == 0


# -- 2. no "persistent tape inside its context" warning from pinn --------------------------------
class Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())

    def tape_warnings(self):
        return [m for m in self.messages if m.startswith("Calling GradientTape.gradient on a persistent")]


@pytest.fixture
def tf_records(monkeypatch):
    """Records of the tensorflow logger, with TF's log-once counters reset (they are per process)."""
    monkeypatch.setattr(tf_logging, "_log_counter_per_token", {})
    handler = Records()
    logger = tf.get_logger()
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def second_derivatives(points):
    d = pinn.Derivatives(lambda X: tf.sin(X[:, :1]) * X[:, 1:] ** 2, points, COORDINATES, ("u",))
    return d.u_xx + d.u_tt + d.u_xt


def test_the_tape_warning_is_not_logged_in_eager_mode(tf_records):
    second_derivatives(tf.constant(POINTS))
    assert tf_records.tape_warnings() == []
    # the check can fail: the same tape use outside pinn still warns (TF warns once per process:
    # reset its counter, which pinn's call has used)
    tf_logging._log_counter_per_token.clear()
    X = tf.constant(POINTS)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(X)
        y = tf.sin(X)
        tape.gradient(y, X)
    assert len(tf_records.tape_warnings()) == 1


def test_the_tape_warning_is_not_logged_in_tf_function(tf_records):
    tf.function(second_derivatives)(tf.constant(POINTS))
    tf.function(second_derivatives, jit_compile=True)(tf.constant(POINTS[:5]))
    assert tf_records.tape_warnings() == []


def test_other_tensorflow_warnings_still_pass(tf_records):
    tf.get_logger().warning("some other TensorFlow warning")
    assert tf_records.messages == ["some other TensorFlow warning"]
    filters = [f for f in tf.get_logger().filters if getattr(f, "pinn_tape_warning_filter", False)]
    assert len(filters) == 1  # installed once


# -- 3. ambiguous derivative names ---------------------------------------------------------------
@pytest.mark.parametrize(
    "fields, coordinates, clashing",
    [
        (("u",), ("x", "xx"), ["'x'", "'xx'"]),
        (("u", "u_x"), ("x",), ["'u_x'", "'u'", "'x'"]),
        (("u", "u_xt"), ("x", "t"), ["'u_xt'"]),
        (("u",), ("a", "b", "ab"), ["'a'", "'b'", "'ab'"]),
        (("u",), ("y", "yy", "z"), ["'y'", "'yy'"]),
        (("u", "u_a"), ("a_b", "b"), ["'u_a'", "'a_b'"]),
        (("u",), ("x", "u_x"), ["'u_x'"]),
    ],
)
def test_ambiguous_names_are_rejected(fields, coordinates, clashing):
    with pytest.raises(ValueError, match="rename") as error:
        check_names(fields, coordinates)
    for name in clashing:
        assert name in str(error.value)


@pytest.mark.parametrize(
    "fields, coordinates",
    [(("u",), ("x1", "x2")), (("u", "v"), ("x", "t")), (("u",), ("x", "x1")), (("rho", "u"), ("x", "y", "t")),
     (("u",), ("a", "ab", "bc"))],
)
def test_legitimate_names_are_accepted(fields, coordinates):
    check_names(fields, coordinates)


def test_the_parser_finds_the_one_reading_that_greedy_matching_misses():
    # coordinates a, ab, bc: "abc" is only a + bc (longest-first would take ab, then fail on c)
    assert parse_derivative("u_abc", ("u",), ("a", "ab", "bc")) == ("u", (0, 2))
    assert parse_derivative("u_x1x2", ("u",), ("x1", "x2")) == ("u", (0, 1))
    with pytest.raises(KeyError, match="ambiguous"):
        parse_derivative("u_xx", ("u",), ("x", "xx"))


class Ambiguous(pinn.Equation):
    coordinates = ("x", "xx")
    fields = ("u",)

    def residual(self, d):
        return d.u_xx


class FieldLikeADerivative(pinn.Equation):
    coordinates = ("x", "t")
    fields = ("u", "u_x")

    def residual(self, d):
        return d.u_t


class Fine(pinn.Equation):
    coordinates = ("x1", "x2")
    fields = ("u", "v")
    coefficients = {"a": 1.0, "b": np.float32(0.5), "c": pinn.Trainable(np.float64(0.25), positive=True)}

    def residual(self, d):
        return {"u": d.u_x1x2 - self.a * d.v, "v": d.v_x2x2 - self.b * d.u}


def test_equation_rejects_ambiguous_names_when_defined():
    with pytest.raises(ValueError, match="Ambiguous: derivative name 'u_xx' reads two ways.*'x'.*'xx'"):
        Ambiguous()
    with pytest.raises(ValueError, match="FieldLikeADerivative: .*'u_x'.*rename"):
        FieldLikeADerivative()
    equation = Fine()
    assert equation.coordinates == ("x1", "x2") and equation.fields == ("u", "v")


# -- 4. NumPy scalar coefficients ----------------------------------------------------------------
def test_numpy_scalar_coefficients_are_accepted():
    equation = Fine(a=np.float64(2.0), b=np.float32(0.125))
    assert equation.a == 2.0 and equation.b == 0.125 and isinstance(equation.b, float)
    equation.build("float64")
    assert float(equation.c) == pytest.approx(0.25, rel=1e-15)
    assert equation.coefficient_values() == pytest.approx({"a": 2.0, "b": 0.125, "c": 0.25})
    assert Fine().b == 0.5
    assert float(Fine(c=pinn.Trainable(np.float32(0.5))).c) == 0.5
    with pytest.raises(TypeError, match="must be a number"):
        Fine(a=np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="finite"):
        Fine(a=np.float32(np.inf))
