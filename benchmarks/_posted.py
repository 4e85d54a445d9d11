"""The benchmarks' Burgers problem and the approach posted most often online (one copy of each).

``data`` builds the PINN paper's continuous-time Burgers inference setup: N_u = 100 data points
drawn from the 456 initial/boundary grid points, N_f Latin-hypercube collocation points (10000 in
the paper), for the [2, 20 x 8, 1] tanh network; loss = mean((u - u_data)^2) + mean(f^2) with
f = u_t + u u_x - nu u_xx, nu = 0.01 / pi. ``reference`` is the exact solution on the paper's
256 x 100 grid, for the relative L2 error.

``posted`` writes out the approach posted most often for SciPy's L-BFGS-B on a TensorFlow 2 loss:
a Keras ``Sequential`` with a scaling ``Lambda`` layer, a function factory mapping the flat vector
to the weights with ``tf.dynamic_partition`` / ``tf.dynamic_stitch``, nested ``GradientTape``\\ s
for u_x, u_t, u_xx, and the loss-and-gradient function run eagerly, under ``tf.function``, or with
the loss and gradient compiled by XLA (the partition and stitch stay outside: XLA cannot compile
``dynamic_partition``'s data-dependent shapes). ``benchmarks/evaluation_speed.py`` and
``benchmarks/compare.py`` use both.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np

NU = 0.01 / np.pi
MODES = ("eager", "function", "xla")


def data(seed: int = 0, n_f: int = 10000):
    """The paper's Burgers training data.

    Returns:
        domain: the ``pinn`` domain [-1, 1] x [0, 0.99].
        X_u: (100, 2) data points (x, t) on the initial line and the two boundaries.
        u_data: (100, 1) exact values there (-sin(pi x) at t = 0, 0 on the boundaries).
        X_f: (n_f, 2) Latin-hypercube collocation points, float64.
    """
    import pinn

    domain = pinn.Interval(-1, 1, "x") * pinn.TimeInterval(0, 0.99, "t")
    x, t = np.linspace(-1, 1, 256), np.linspace(0, 0.99, 100)
    edges = np.concatenate([np.c_[x, np.zeros_like(x)], np.c_[-np.ones_like(t), t], np.c_[np.ones_like(t), t]])
    values = np.where(edges[:, 1] == 0, -np.sin(np.pi * edges[:, 0]), 0.0)
    pick = np.random.default_rng(seed).choice(len(edges), 100, replace=False)
    return domain, edges[pick], values[pick, None], domain.sample_interior(n_f, "lhs", seed=seed)


def reference() -> tuple[np.ndarray, np.ndarray]:
    """The exact solution on the paper's grid: points (25600, 2) as (x, t) and values (25600, 1)."""
    import pinn

    x, t, usol = pinn.load_burgers()
    return pinn.grid_points(x, t), usol.reshape(-1, 1)  # row i * n_t + j is (x_i, t_j), as usol


@dataclasses.dataclass
class Posted:
    """The posted recipe built for one problem.

    Attributes:
        function: SciPy's ``fun`` with ``jac=True``: flat float64 weights (n,) -> (loss, gradient (n,)
            float64).
        tf_function: the same on tensors of the model's dtype, ``(n,) -> (loss, gradient (n,))``
            (what TensorFlow Probability's ``lbfgs_minimize`` takes).
        x0: the model's starting weights, flat, float64 (n,).
        set_flat: puts flat weights (n,) into the model.
        predict: the model's u at points (N, 2) -> (N, 1), float64.
    """

    function: Callable[[np.ndarray], tuple[float, np.ndarray]]
    tf_function: Callable[[Any], Any]
    x0: np.ndarray
    set_flat: Callable[[np.ndarray], None]
    predict: Callable[[np.ndarray], np.ndarray]


def posted(weights: list, dtype: str, mode: str, lower, upper, X_u, u_data, X_f) -> Posted:
    """The posted recipe (see the module docstring) for the Burgers loss, starting from ``weights``
    (a Keras ``get_weights()`` list of the [2, 20 x 8, 1] network); ``mode`` is one of
    :data:`MODES`: ``"eager"``, ``"function"`` (``tf.function``, as posted) or ``"xla"``."""
    import keras
    import tensorflow as tf

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    lb, ub = np.asarray(lower, dtype), np.asarray(upper, dtype)
    model = keras.Sequential([keras.Input((2,), dtype=dtype),
                              keras.layers.Lambda(lambda X: 2.0 * (X - lb) / (ub - lb) - 1.0, dtype=dtype)]
                             + [keras.layers.Dense(20, activation="tanh", dtype=dtype) for _ in range(8)]
                             + [keras.layers.Dense(1, dtype=dtype)])
    model.set_weights(weights)
    X_u, u_data = tf.constant(X_u, dtype), tf.constant(u_data, dtype)
    x_f, t_f = tf.constant(X_f[:, :1], dtype), tf.constant(X_f[:, 1:], dtype)

    def loss():
        with tf.GradientTape(persistent=True) as outer:
            outer.watch(x_f)
            with tf.GradientTape(persistent=True) as inner:
                inner.watch([x_f, t_f])
                u = model(tf.concat([x_f, t_f], axis=1))
            u_x, u_t = inner.gradient(u, x_f), inner.gradient(u, t_f)
        u_xx = outer.gradient(u_x, x_f)
        f = u_t + u * u_x - NU * u_xx
        return tf.reduce_mean(tf.square(model(X_u) - u_data)) + tf.reduce_mean(tf.square(f))

    shapes = tf.shape_n(model.trainable_variables)
    n_tensors, count, idx, part = len(shapes), 0, [], []
    for i, shape in enumerate(shapes):
        n = int(np.prod(shape))
        idx.append(tf.reshape(tf.range(count, count + n, dtype=tf.int32), shape))
        part.extend([i] * n)
        count += n
    part = tf.constant(part)

    def assign_new_model_parameters(params_1d):
        params = tf.dynamic_partition(params_1d, part, n_tensors)
        for i, (shape, param) in enumerate(zip(shapes, params)):
            model.trainable_variables[i].assign(tf.reshape(param, shape))

    def f_plain(params_1d):
        with tf.GradientTape() as tape:
            assign_new_model_parameters(params_1d)
            loss_value = loss()
        grads = tape.gradient(loss_value, model.trainable_variables)
        return loss_value, tf.dynamic_stitch(idx, grads)

    if mode == "eager":
        f = f_plain
    elif mode == "function":
        f = tf.function(f_plain)
    else:
        @tf.function(jit_compile=True)
        def loss_and_gradients():
            with tf.GradientTape() as tape:
                loss_value = loss()
            return loss_value, tape.gradient(loss_value, model.trainable_variables)

        @tf.function
        def f(params_1d):
            assign_new_model_parameters(params_1d)
            loss_value, grads = loss_and_gradients()
            return loss_value, tf.dynamic_stitch(idx, grads)

    def scipy_function(x):
        value, gradient = f(tf.constant(x, dtype))
        return float(value.numpy()), gradient.numpy().astype(np.float64)

    def set_flat(x):
        assign_new_model_parameters(tf.constant(x, dtype))

    def predict(points):
        return np.asarray(model(tf.constant(points, dtype)), dtype=np.float64)

    x0 = tf.dynamic_stitch(idx, [tf.cast(v, tf.float64) for v in model.trainable_variables]).numpy()
    return Posted(scipy_function, f, x0, set_flat, predict)
