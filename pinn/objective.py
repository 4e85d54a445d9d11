"""A loss function over variables, compiled into one value-and-gradient function of a flat vector."""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import tensorflow as tf

from pinn.flat import FlatLayout

__all__ = ["CompiledObjective", "LossFn", "check_loss_fn", "loss_and_flat_gradient", "split_loss_output"]

#: A loss function: no arguments, returns a scalar tensor, or ``(scalar, {name: scalar})`` where
#: the dict holds named loss terms that are reported to callbacks and histories.
LossFn = Callable[[], Any]


def check_loss_fn(loss_fn: Any) -> None:
    """Raise TypeError unless ``loss_fn`` is callable."""
    if not callable(loss_fn):
        raise TypeError(
            "loss_fn must be a callable with no arguments returning a scalar tensor, "
            f"got {type(loss_fn).__name__}"
        )


def split_loss_output(output: Any) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
    """Split a loss function's return value into (scalar loss, named terms), validating both.

    Raises:
        ValueError: the loss (or a term) is not a scalar, or not floating point.
    """
    terms: Mapping[str, Any] = {}
    if isinstance(output, tuple) and len(output) == 2 and isinstance(output[1], Mapping):
        output, terms = output
    loss = tf.convert_to_tensor(output)
    if loss.shape.rank != 0:
        raise ValueError(
            f"loss_fn must return a scalar tensor (shape ()), got shape {tuple(loss.shape)}; "
            "reduce it, e.g. with tf.reduce_mean"
        )
    if not loss.dtype.is_floating:
        raise ValueError(f"loss_fn must return a floating-point tensor, got dtype {loss.dtype.name}")
    checked = {}
    for name, value in terms.items():
        value = tf.convert_to_tensor(value)
        if value.shape.rank != 0:
            raise ValueError(f"loss term {name!r} must be a scalar, got shape {tuple(value.shape)}")
        checked[str(name)] = value
    return loss, checked



def loss_and_flat_gradient(
    loss_fn: LossFn, layout: FlatLayout, allow_unused: bool = False
) -> tuple[tf.Tensor, tf.Tensor, dict[str, tf.Tensor]]:
    """Evaluate ``loss_fn`` under a tape; return (loss, flat gradient (layout.size,), terms).

    For use inside ``tf.function``. The gradient has the variables' dtype.

    Raises:
        ValueError: the loss is not a scalar, or does not depend on some variable while
            ``allow_unused`` is False.
    """
    variables = layout.variables
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(variables)
        loss, terms = split_loss_output(loss_fn())
    gradients = tape.gradient(loss, variables)
    unused = [v.name for v, g in zip(variables, gradients) if g is None]
    if unused and not allow_unused:
        raise ValueError(
            f"the loss does not depend on variables {unused}; remove them from `variables` "
            "or pass allow_unused=True to keep them fixed with a zero gradient"
        )
    gradients = [tf.zeros_like(v) if g is None else g for v, g in zip(variables, gradients)]
    return loss, layout.pack(gradients), terms


class CompiledObjective:
    """``x (float64, (n,)) -> (loss, gradient (n,), terms)`` for a loss over a list of variables.

    The call assigns ``x`` to the variables (cast to their dtype), evaluates ``loss_fn`` under a
    gradient tape and returns the loss and the flat gradient as float64. The work is one
    ``tf.function`` with a fixed input signature, so it is traced once and never again; calls go
    straight to its concrete function, which skips ``tf.function``'s argument binding (about
    0.1 ms per call).

    Args:
        loss_fn: callable with no arguments returning a scalar tensor, or ``(scalar, {name: scalar})``.
        variables: the variables to optimise (see :class:`~pinn.flat.FlatLayout`).
        jit_compile: compile with XLA.
        allow_unused: if False (default), a variable the loss does not depend on is an error
            (it is almost always a mistake, e.g. a coefficient never used in the residual); if True,
            its gradient is zero and the optimizer leaves it where it is.

    Attributes:
        layout: the :class:`FlatLayout` of the variables.
        trace_count: how many times the function was traced (1 after the first call).
        nfev: number of evaluations so far.
        eval_time: seconds spent inside evaluations so far (for overhead measurements).
    """

    def __init__(
        self,
        loss_fn: LossFn,
        variables: Sequence[Any],
        jit_compile: bool = False,
        allow_unused: bool = False,
    ) -> None:
        check_loss_fn(loss_fn)
        self.layout = FlatLayout(variables)
        self.loss_fn = loss_fn
        self.allow_unused = bool(allow_unused)
        self.trace_count = 0
        self.nfev = 0
        self.eval_time = 0.0
        self.term_names: list[str] = []
        spec = tf.TensorSpec([self.layout.size], tf.float64)
        self._function = tf.function(
            self._value_and_gradient,
            input_signature=[spec],
            jit_compile=bool(jit_compile),
            autograph=False,
        )
        self._concrete = None

    def _value_and_gradient(self, flat: tf.Tensor):
        self.trace_count += 1
        self.layout.assign(flat)
        loss, gradient, terms = loss_and_flat_gradient(self.loss_fn, self.layout, self.allow_unused)
        self.term_names = list(terms)
        return (
            tf.cast(loss, tf.float64),
            tf.cast(gradient, tf.float64),
            {k: tf.cast(v, tf.float64) for k, v in terms.items()},
        )

    def __call__(self, x: np.ndarray) -> tuple[float, np.ndarray, dict[str, float]]:
        """Evaluate at the flat float64 vector ``x`` of shape (n,); returns (loss, gradient, terms)."""
        start = time.perf_counter()
        if self._concrete is None:
            self._concrete = self._function.get_concrete_function()
        loss, gradient, terms = self._concrete(tf.constant(x, dtype=tf.float64))
        values = float(loss), gradient.numpy(), {k: float(v) for k, v in terms.items()}
        self.nfev += 1
        self.eval_time += time.perf_counter() - start
        return values
