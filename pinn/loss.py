"""What the training engine trains: a loss over named point sets, made of named (sum, count) terms.

A :class:`Loss` has three parts:

- ``variables``: what the optimizers change (network weights, then trainable PDE coefficients);
- ``point_sets()``: named arrays of points, ``{name: (N, d) array}``. They are *inputs* of the
  compiled value-and-gradient function, not constants baked into it: they can be replaced by new
  points of the same shape (resampling) without a new trace, split into chunks, and later sharded
  across devices;
- ``terms(points)``: the loss as named :class:`Term` objects, each a ``(sum, count)`` pair. The loss
  is ``sum over terms of term.sum / term.count``. Writing every term as a sum and a count, reduced
  only at the end, makes a mean over chunks (or shards) exact: the sums and counts of the pieces add
  up to those of the whole.

:class:`~pinn.problem.Problem` (continuous-time PINNs) is one Loss. Any other loss, e.g. a
discrete-time Runge–Kutta loss whose network outputs q+1 stages, subclasses :class:`Loss` the same
way and trains with the same :class:`~pinn.trainer.Trainer`. A plain function with no arguments
(``loss_fn() -> scalar`` or ``(scalar, {name: scalar})``) is wrapped as a :class:`FunctionLoss`.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, NamedTuple, Sequence

import numpy as np
import tensorflow as tf

__all__ = ["Term", "Loss", "FunctionLoss", "LossFn", "mean_square", "as_loss", "split_loss_output",
           "check_loss_fn"]

#: A loss function: no arguments, returns a scalar tensor, or ``(scalar, {name: scalar})`` where
#: the dict holds named values reported to callbacks and histories.
LossFn = Callable[[], Any]


class Term(NamedTuple):
    """One named loss term as a sum and the number of items summed.

    Its value is ``sum / count``. ``sum`` is a scalar tensor that depends on the variables (e.g.
    ``weight * reduce_sum(residual ** 2)``); ``count`` is the number of items it sums over, which
    must depend only on the shapes of the points (not on their values or the variables).
    """

    sum: tf.Tensor
    count: Any


def mean_square(residual: Any, weight: float = 1.0) -> Term:
    """The term ``weight * mean(residual ** 2)`` as ``Term(weight * sum(residual ** 2), size)``.

    Args:
        residual: a tensor of any shape, e.g. (N, 1) or (N, k).
        weight: a non-negative number.
    """
    residual = tf.convert_to_tensor(residual)
    total = tf.reduce_sum(tf.square(residual))
    if weight != 1.0:
        # a number becomes a constant of the residual's dtype directly: tf.cast would round it
        # to float32 first (0.3 -> 0.30000001) in a float64 problem
        weight = (tf.constant(float(weight), total.dtype) if isinstance(weight, (int, float, np.number))
                  else tf.cast(weight, total.dtype))
        total = weight * total
    return Term(total, tf.cast(tf.size(residual), total.dtype))


class Loss:
    """Base class of everything the Trainer trains; subclass it for a loss of any form.

    Subclasses provide ``variables`` (a list of variables of one float dtype), ``point_sets()``
    and ``terms(points)``; optionally ``chunkable`` (names of point sets that may be split in
    row chunks: every term over them is a sum over rows, each row independent of the others)
    and ``coefficients()`` (named scalar tensors reported in progress lines, history, checkpoints
    and metrics, e.g. trainable PDE coefficients).
    """

    #: Point sets that may be evaluated in row chunks whose sums and counts are added.
    chunkable: tuple[str, ...] = ()

    @property
    def variables(self) -> list[Any]:
        raise NotImplementedError(f"{type(self).__name__} must define variables")

    #: The float dtype of the points (None: the variables' dtype).
    dtype: Any = None

    def point_sets(self) -> dict[str, np.ndarray]:
        """The current point sets, ``{name: (N, d) float64 array}`` (may be empty)."""
        return {}

    def terms(self, points: Mapping[str, tf.Tensor]) -> Mapping[str, Term]:
        """The named terms at ``points`` (same names and column counts as :meth:`point_sets`,
        tensors of :attr:`dtype`; row counts may differ when chunked)."""
        raise NotImplementedError(f"{type(self).__name__} must implement terms(self, points)")

    def coefficients(self) -> dict[str, tf.Tensor]:
        """Named scalar tensors to report while training (default: none)."""
        return {}

    def named_values(self) -> dict[str, tf.Tensor] | None:
        """Values to report as the loss terms instead of ``sum / count`` (None: the terms)."""
        return None


def split_loss_output(output: Any) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
    """Split a loss function's return value into (scalar loss, named terms), validating both.

    Raises:
        ValueError: the loss (or a term) is not a scalar, or not floating point.
        TypeError: the function returned None or a non-numeric value.
    """
    terms: Mapping[str, Any] = {}
    if isinstance(output, tuple) and len(output) == 2 and isinstance(output[1], Mapping):
        output, terms = output
    if output is None or isinstance(output, str):
        raise TypeError(f"loss_fn must return a scalar tensor, got {type(output).__name__}")
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
        if value is None or isinstance(value, str):
            raise TypeError(f"loss term {name!r} must be a scalar tensor, got {type(value).__name__}")
        value = tf.convert_to_tensor(value)
        if value.shape.rank != 0:
            raise ValueError(f"loss term {name!r} must be a scalar, got shape {tuple(value.shape)}")
        checked[str(name)] = value
    return loss, checked


class FunctionLoss(Loss):
    """A loss given as a function of no arguments over a list of variables.

    ``loss_fn()`` returns a scalar tensor, or ``(scalar, {name: scalar})`` whose named values are
    reported as the terms. The whole loss is one term ``"loss"`` with count 1: it has no point sets,
    so it cannot be chunked or resampled.
    """

    def __init__(self, loss_fn: Callable[[], Any], variables: Sequence[Any]) -> None:
        check_loss_fn(loss_fn)
        self.loss_fn = loss_fn
        self._variables = list(variables) if isinstance(variables, Sequence) else variables
        self._named: dict[str, tf.Tensor] = {}

    @property
    def variables(self) -> list[Any]:
        return self._variables

    def terms(self, points: Mapping[str, tf.Tensor]) -> dict[str, Term]:
        loss, self._named = split_loss_output(self.loss_fn())
        return {"loss": Term(loss, tf.ones([], loss.dtype))}

    def named_values(self) -> dict[str, tf.Tensor]:
        return self._named


def check_loss_fn(loss_fn: Any) -> None:
    """Raise TypeError unless ``loss_fn`` is callable."""
    if not callable(loss_fn):
        raise TypeError(
            "loss_fn must be a callable with no arguments returning a scalar tensor, "
            f"got {type(loss_fn).__name__}"
        )


def as_loss(loss: Any, variables: Sequence[Any] | None = None) -> Loss:
    """``loss`` itself if it is a :class:`Loss`, else ``FunctionLoss(loss, variables)``.

    Raises:
        TypeError: ``loss`` is neither a Loss nor callable, or a Loss came with ``variables``.
    """
    if isinstance(loss, Loss):
        if variables is not None:
            raise TypeError("give variables only with a loss function; a pinn.Loss has its own")
        return loss
    if variables is None:
        raise TypeError(
            f"loss must be a pinn.Loss (e.g. a pinn.Problem), or a function given with its "
            f"variables; got {type(loss).__name__} without variables"
        )
    return FunctionLoss(loss, variables)
