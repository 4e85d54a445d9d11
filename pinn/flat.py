"""The bridge between TensorFlow variables and SciPy's flat float64 vectors.

SciPy's L-BFGS-B is Fortran code that works on one contiguous float64 vector. A model's weights are
many variables of different shapes, often float32. :class:`FlatLayout` records the variables' shapes
and their one dtype once, and maps them to a float64 NumPy vector of length ``layout.size`` and back.
Inside compiled functions the same layout splits a flat tensor into variable-shaped pieces (``assign``)
and concatenates per-variable gradients into one flat tensor (``pack``).

The flat order is the order of the ``variables`` list, each variable raveled in C order.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import tensorflow as tf

__all__ = ["FlatLayout", "as_tf_variable"]


def as_tf_variable(variable: Any, index: int = 0) -> tf.Variable:
    """Return the ``tf.Variable`` behind a TensorFlow or Keras 3 variable.

    Raises:
        TypeError: ``variable`` is neither (a tensor or array is not a variable: wrap it in
            ``tf.Variable`` so that the optimizer can change it).
    """
    if isinstance(variable, tf.Variable):
        return variable
    inner = getattr(variable, "value", None)  # keras.Variable keeps its tf.Variable in ``.value``
    if isinstance(inner, tf.Variable):
        return inner
    raise TypeError(
        f"variables[{index}] must be a tf.Variable or a Keras variable, got {type(variable).__name__}"
    )


class FlatLayout:
    """Shapes and dtype of a list of variables, and the maps to and from one flat vector.

    Args:
        variables: non-empty list of ``tf.Variable`` / Keras variables of any shapes (scalars
            included), all of the same floating dtype (float16, bfloat16, float32 or float64).

    Attributes:
        variables: the underlying ``tf.Variable`` objects, in order.
        shapes: their shapes.
        shape_tuples: the same as tuples of ints (what checkpoints store and compare).
        sizes: their numbers of elements.
        size: total number of elements, the length of the flat vector.
        dtype: the variables' common ``tf.DType``.

    Raises:
        ValueError: empty list, the same variable twice, a non-floating dtype, or mixed dtypes.
        TypeError: an element is not a variable.
    """

    def __init__(self, variables: Sequence[Any]) -> None:
        if isinstance(variables, (tf.Variable, tf.Tensor, np.ndarray)) or not isinstance(
            variables, Sequence
        ):
            raise TypeError(
                "variables must be a list of tf.Variable / Keras variables, "
                f"got {type(variables).__name__}"
            )
        if len(variables) == 0:
            raise ValueError("variables must be a non-empty list of variables, got an empty list")
        tf_vars = [as_tf_variable(v, i) for i, v in enumerate(variables)]
        ids = [id(v) for v in tf_vars]
        if len(set(ids)) != len(ids):
            dup = next(v for v in tf_vars if ids.count(id(v)) > 1)
            raise ValueError(f"variables lists the variable {dup.name!r} more than once")
        dtypes = {v.dtype for v in tf_vars}
        bad = [v for v in tf_vars if not v.dtype.is_floating]
        if bad:
            raise ValueError(
                "variables must have a floating dtype; "
                + ", ".join(f"{v.name} is {v.dtype.name}" for v in bad)
            )
        if len(dtypes) > 1:
            listing = ", ".join(f"{v.name}: {v.dtype.name}" for v in tf_vars)
            raise ValueError(
                "variables must all have one dtype (set one dtype for the whole problem); "
                f"got {sorted(d.name for d in dtypes)} ({listing})"
            )
        self.variables: list[tf.Variable] = tf_vars
        self.shapes: list[tf.TensorShape] = [v.shape for v in tf_vars]
        self.shape_tuples: list[tuple[int, ...]] = [tuple(int(d) for d in s) for s in self.shapes]
        self.sizes: list[int] = [int(np.prod(s, dtype=np.int64)) for s in self.shapes]
        self.size: int = int(sum(self.sizes))
        self.dtype: tf.DType = tf_vars[0].dtype

    # -- NumPy side (float64) -------------------------------------------------------------------
    def flatten(self) -> np.ndarray:
        """Current values of the variables as one float64 vector of shape (size,)."""
        return np.concatenate(
            [np.asarray(v.numpy(), dtype=np.float64).ravel() for v in self.variables]
        )

    def unflatten(self, vector: np.ndarray) -> list[np.ndarray]:
        """Split a flat vector of shape (size,) into arrays of the variables' shapes (float64)."""
        vector = self._check_vector(vector)
        pieces = np.split(vector, np.cumsum(self.sizes)[:-1])
        return [p.reshape(tuple(s)) for p, s in zip(pieces, self.shapes)]

    def set_flat(self, vector: np.ndarray) -> None:
        """Assign a flat float64 vector of shape (size,) to the variables (eagerly)."""
        for variable, value in zip(self.variables, self.unflatten(vector)):
            variable.assign(value.astype(self.dtype.as_numpy_dtype))

    def _check_vector(self, vector: np.ndarray) -> np.ndarray:
        vector = np.asarray(vector, dtype=np.float64)
        if vector.shape != (self.size,):
            raise ValueError(
                f"flat vector must have shape ({self.size},), got {vector.shape}"
            )
        return vector

    # -- TensorFlow side (usable inside tf.function) --------------------------------------------
    def assign(self, flat: tf.Tensor) -> None:
        """Assign a flat tensor of shape (size,) (any float dtype) to the variables."""
        flat = tf.cast(flat, self.dtype)
        for variable, piece, shape in zip(self.variables, tf.split(flat, self.sizes), self.shapes):
            variable.assign(tf.reshape(piece, shape))

    def pack(self, tensors: Sequence[tf.Tensor]) -> tf.Tensor:
        """Concatenate variable-shaped tensors (e.g. gradients) into one flat tensor (size,)."""
        return tf.concat([tf.reshape(t, [-1]) for t in tensors], axis=0)

    def read(self) -> tf.Tensor:
        """The variables' current values as one flat tensor of their dtype, shape (size,)."""
        return self.pack([v.read_value() for v in self.variables])

    def __repr__(self) -> str:
        return f"FlatLayout(size={self.size}, variables={len(self.variables)}, dtype={self.dtype.name})"
