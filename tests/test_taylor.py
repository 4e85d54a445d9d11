"""Forward-mode (Taylor) derivatives of MLPs against the tape's, and their use in pinn.Problem."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import pinn
from pinn.equations import Burgers, Schrodinger
from pinn.taylor import TaylorDerivatives, mlp_structure, taylor_unsupported_reason

RTOL = 1e-12  # float64 round-off


def random_mlp(inputs, outputs, activation="tanh", widths=(9, 7, 8), seed=0, dtype="float64",
               bounds=True):
    """A pinn.mlp with random (not Glorot/zero) weights and biases, so every term is exercised."""
    lower = [-1.0, 0.0, 2.0][:inputs] if bounds else None
    upper = [1.0, 2.0, 5.0][:inputs] if bounds else None
    network = pinn.mlp(inputs, outputs, list(widths), activation=activation, lower=lower, upper=upper,
                       dtype=dtype, seed=seed)
    rng = np.random.default_rng(seed)
    for v in network.trainable_variables:
        v.assign((0.6 * rng.normal(size=v.shape)).astype(dtype))
    return network


def points(n, d, seed=1, dtype=tf.float64):
    return tf.constant(np.random.default_rng(seed).uniform(-1, 2, (n, d)), dtype)


def assert_same(a, b, rtol=RTOL, name=""):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = max(np.abs(a).max(), 1e-300)
    error = np.abs(a - b).max() / scale
    assert error <= rtol, f"{name}: relative difference {error:.2e} > {rtol:.0e}"


# -- every derivative the equations read, and mixed ones ------------------------------------------
EQUATION_NAMES = [
    # (coordinates, fields, names): Burgers; Schrödinger (two fields); KdV's u_xxx; mixed partials
    (("x", "t"), ("u",), ["u", "u_t", "u_x", "u_xx"]),
    (("x", "t"), ("u", "v"), ["u", "v", "u_t", "v_t", "u_x", "v_x", "u_xx", "v_xx"]),
    (("x", "t"), ("u",), ["u_xxx", "u_xt", "u_tx", "u_xxt", "u_tt"]),
    (("x", "y", "t"), ("u", "v"), ["u_xy", "v_xy", "u_xyt", "u_yy", "v_tt", "u_xxxx"]),
]


@pytest.mark.parametrize("coordinates, fields, names", EQUATION_NAMES)
def test_derivatives_equal_the_tapes_to_round_off(coordinates, fields, names):
    network = random_mlp(len(coordinates), len(fields), seed=len(names))
    X = points(23, len(coordinates))
    tape = pinn.Derivatives(network, X, coordinates, fields)
    taylor = TaylorDerivatives(network, X, coordinates, fields)
    for name in names:
        assert_same(tape[name], taylor[name], name=name)
        assert taylor[name].shape == (23, 1)
    assert_same(tape.outputs, taylor.outputs, name="outputs")


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "softplus", "silu", "linear", tf.sin, tf.cos])
def test_every_supported_activation_up_to_fourth_order(activation):
    coordinates, fields = ("x", "y", "t"), ("u", "v")
    network = random_mlp(3, 2, activation, seed=3)
    X = points(17, 3, seed=4)
    tape = pinn.Derivatives(network, X, coordinates, fields)
    taylor = TaylorDerivatives(network, X, coordinates, fields)
    for name in ["u_x", "v_t", "u_yy", "v_xt", "u_xxx", "v_xyt", "u_yyt", "u_xxxx"]:
        a, b = np.asarray(tape[name]), np.asarray(taylor[name])
        if activation == "linear" and len(name.split("_")[1]) >= 2:  # affine: higher ones are zero
            assert np.all(b == 0) and np.abs(a).max() < 1e-12
            continue
        assert_same(a, b, rtol=1e-11, name=f"{activation} {name}")


def test_reading_interface_matches_derivatives():
    coordinates, fields = ("x", "t"), ("u", "v")
    network = random_mlp(2, 2, seed=5)
    X = points(11, 2)
    tape = pinn.Derivatives(network, X, coordinates, fields)
    d = TaylorDerivatives(network, X, coordinates, fields)
    assert d.coordinates == coordinates and d.fields == fields
    assert_same(d.x, X[:, :1]) and d.points is not None
    assert_same(d.derivative("v", "x", "x"), tape["v_xx"])
    assert_same(d.u_xt, tape.u_xt)
    assert_same(d.block("x", "x"), tape.block("x", "x"))
    assert_same(d.block(), tape.outputs)
    assert set(d.computed) >= {"v_xx", "u_xt"}
    with pytest.raises(KeyError, match="unknown field or derivative 'w_x'"):
        d["w_x"]
    with pytest.raises(AttributeError, match="unknown"):
        d.u_z
    with pytest.raises(KeyError, match="unknown coordinate"):
        d.block("z")


def test_declared_derivatives_take_one_propagation_and_later_ones_are_added():
    coordinates, fields = ("x", "t"), ("u",)
    network = random_mlp(2, 1, seed=6)
    X = points(13, 2)
    declared = {"u_t", "u_x", "u_xx"}
    d = TaylorDerivatives(network, X, coordinates, fields, declared=set(declared))
    assert d.passes == 1 and d.propagated == [(), (0,), (1,), (0, 0)]
    for name in declared:
        d[name]
    assert d.passes == 1  # nothing more propagated
    seen: set = set()
    lazy = TaylorDerivatives(network, X, coordinates, fields, declared=seen)
    assert_same(lazy.u_xxx, pinn.Derivatives(network, X, coordinates, fields).u_xxx)
    assert lazy.passes == 2 and ("u", (0, 0, 0)) in seen  # learned for next time


def test_no_input_scaling_and_sequential_models():
    X = points(9, 2)
    plain = random_mlp(2, 1, bounds=False, seed=7)
    sequential = keras.Sequential([keras.Input((2,), dtype="float64")]
                                  + [keras.layers.Dense(6, activation="tanh", dtype="float64") for _ in range(2)]
                                  + [keras.layers.Dense(1, dtype="float64")])
    for network in (plain, sequential):
        tape = pinn.Derivatives(network, X, ("x", "t"), ("u",))
        taylor = TaylorDerivatives(network, X, ("x", "t"), ("u",))
        for name in ("u", "u_x", "u_tt", "u_xt"):
            assert_same(tape[name], taylor[name], name=name)


def test_float32_agrees_to_float32_round_off():
    network = random_mlp(2, 1, dtype="float32", seed=8)
    X = points(19, 2, dtype=tf.float32)
    tape = pinn.Derivatives(network, X, ("x", "t"), ("u",))
    taylor = TaylorDerivatives(network, X, ("x", "t"), ("u",))
    for name in ("u", "u_t", "u_x", "u_xx"):
        assert taylor[name].dtype == tf.float32
        assert_same(tape[name], taylor[name], rtol=2e-5, name=name)


# -- in a Problem: loss and the weights' gradient --------------------------------------------------
def burgers_problem(derivatives, dtype="float64", seed=0, layers=3):
    domain = pinn.Interval(-1, 1) * pinn.TimeInterval(0, 1)
    initial = domain.sample_initial(20, seed=seed)
    boundary, normals = domain.sample_boundary(20, seed=seed)
    network = pinn.mlp(2, 1, [10] * layers, lower=domain.lower, upper=domain.upper, dtype=dtype, seed=seed)
    rng = np.random.default_rng(seed)
    for v in network.trainable_variables:  # non-zero biases too
        v.assign((0.5 * rng.normal(size=v.shape)).astype(dtype))
    conditions = [pinn.InitialCondition("u", initial, lambda p: -np.sin(np.pi * p[:, 0])),
                  pinn.DirichletBC("u", boundary, 0.0),
                  pinn.NeumannBC("u", boundary, normals=normals, value=0.1)]
    return pinn.Problem(Burgers(), network, domain.sample_interior(300, seed=seed), conditions,
                        dtype=dtype, derivatives=derivatives)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_burgers_loss_and_weight_gradient_agree_between_paths(jit_compile):
    layers = 2 if jit_compile else 3  # XLA compiles for a while; a smaller graph is enough
    tape, taylor = burgers_problem("tape", layers=layers), burgers_problem("taylor", layers=layers)
    assert tape.derivatives == "tape" and taylor.derivatives == "taylor"
    a = pinn.CompiledObjective(tape, jit_compile=jit_compile)
    b = pinn.CompiledObjective(taylor, jit_compile=jit_compile)
    x = a.layout.flatten()
    np.testing.assert_array_equal(x, b.layout.flatten())
    ea, eb = a(x), b(x)
    assert abs(ea.fun - eb.fun) <= RTOL * abs(ea.fun)
    assert_same(ea.jac, eb.jac, name="gradient")
    for name in ea.terms:
        assert abs(ea.terms[name] - eb.terms[name]) <= RTOL * abs(ea.terms[name]), name
    assert np.linalg.norm(ea.jac) > 0


def test_chunked_taylor_objective_equals_the_whole_one():
    problem = burgers_problem("taylor", seed=1)
    whole = pinn.CompiledObjective(problem)
    chunked = pinn.CompiledObjective(problem, chunk_size=70)  # 5 pieces of 60 rows in a compiled loop
    x = whole.layout.flatten()
    a, b = whole(x), chunked(x)
    assert abs(a.fun - b.fun) <= RTOL * abs(a.fun)
    assert_same(a.jac, b.jac, name="gradient")


def test_schrodinger_with_periodic_conditions_agrees_between_paths():
    domain = pinn.Interval(-5, 5) * pinn.TimeInterval(0, np.pi / 2)
    lower, upper = domain.periodic_pairs("x", 15, seed=0)
    initial = domain.sample_initial(15, seed=0)

    def problem(derivatives):
        network = pinn.mlp(2, 2, [12] * 3, lower=domain.lower, upper=domain.upper, seed=2)
        conditions = [pinn.InitialCondition("u", initial, lambda p: 2 / np.cosh(p[:, 0])),
                      pinn.InitialCondition("v", initial, 0.0),
                      pinn.PeriodicBC("u", "x", lower, upper), pinn.PeriodicBC("v", "x", lower, upper)]
        return pinn.Problem(Schrodinger(), network, domain.sample_interior(200, seed=0), conditions,
                            derivatives=derivatives)

    a, b = pinn.CompiledObjective(problem("tape")), pinn.CompiledObjective(problem("taylor"))
    x = a.layout.flatten()
    ea, eb = a(x), b(x)
    assert abs(ea.fun - eb.fun) <= RTOL * abs(ea.fun)
    assert_same(ea.jac, eb.jac, name="gradient")


def test_problem_learns_what_each_point_set_needs_from_the_dry_run():
    problem = burgers_problem("taylor")
    declared = problem._declared
    assert declared["collocation"] >= {("u", ()), ("u", (0,)), ("u", (1,)), ("u", (0, 0))}
    assert ("u", (0, 0)) not in declared["dirichlet_u.0"]


# -- choosing, and clear errors ----------------------------------------------------------------------
class Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(1, dtype="float64")

    def call(self, x):
        return self.dense(x)


def small_problem(network, derivatives):
    domain = pinn.Interval(-1, 1) * pinn.TimeInterval(0, 1)
    return pinn.Problem(Burgers(), network, domain.sample_interior(10, seed=0), derivatives=derivatives)


def test_bad_choice_is_an_error_naming_the_argument():
    network = pinn.mlp(2, 1, [5], seed=0)
    for bad in ("fast", "TAYLOR", None, 1):
        with pytest.raises(ValueError, match=r"derivatives must be 'auto', 'taylor' or 'tape', got"):
            small_problem(network, bad)


def test_taylor_with_a_network_it_cannot_read_is_a_clear_error_and_auto_falls_back():
    subclassed = Subclassed()
    subclassed(tf.zeros((1, 2), tf.float64))
    relu = pinn.mlp(2, 1, [5], activation="relu", seed=0)
    normalized = keras.Sequential([keras.Input((2,), dtype="float64"), keras.layers.Dense(4, dtype="float64"),
                                   keras.layers.LayerNormalization(dtype="float64"),
                                   keras.layers.Dense(1, dtype="float64")])
    cases = [(subclassed, "subclassed model"), (relu, "no derivative rule for activation 'relu'"),
             (normalized, "is a LayerNormalization"),
             (lambda x: tf.reduce_sum(x, axis=1, keepdims=True), "needs a Keras MLP built by pinn.mlp")]
    for network, reason in cases:
        with pytest.raises(TypeError, match=r"derivatives='taylor' cannot be used here: .*" + reason):
            small_problem(network, "taylor")
        auto = small_problem(network, "auto")
        assert auto.derivatives == "tape" and reason in auto.derivatives_reason
        assert reason in taylor_unsupported_reason(network)


def test_auto_chooses_taylor_for_pinn_mlp_and_the_default_is_the_tape():
    network = pinn.mlp(2, 1, [5, 5], lower=[-1, 0], upper=[1, 1], seed=0)
    domain = pinn.Interval(-1, 1) * pinn.TimeInterval(0, 1)
    assert pinn.Problem(Burgers(), network, domain.sample_interior(10, seed=0)).derivatives == "tape"
    assert small_problem(network, "auto").derivatives == "taylor"
    assert small_problem(network, "tape").derivatives == "tape"
    assert taylor_unsupported_reason(network) is None
    structure = mlp_structure(network)
    assert structure.lower == (-1.0, 0.0) and [a for _, a in structure.layers] == ["tanh", "tanh", "linear"]


def test_wrong_points_or_fields_are_errors():
    network = random_mlp(2, 1)
    with pytest.raises(ValueError, match=r"points must have shape \(N, 2\)"):
        TaylorDerivatives(network, points(4, 3), ("x", "t"), ("u",))
    with pytest.raises(ValueError, match="the network has 1 outputs, but there are 2 fields"):
        TaylorDerivatives(network, points(4, 2), ("x", "t"), ("u", "v"))
