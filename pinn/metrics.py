"""Error metrics and evaluation grids (NumPy only).

The grid convention used throughout the library: for 1-D axes ``x`` (nx,) and ``t`` (nt,),
``grid_points(x, t)`` lists the points (x_i, t_j) with ``t`` varying fastest, so that values
computed on those points satisfy ``values.reshape(nx, nt)[i, j] == u(x_i, t_j)`` -- the layout
of the reference arrays (e.g. Burgers' ``usol``, shape (256, 100)).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["relative_l2_error", "max_abs_error", "grid_points"]


def _pair(prediction: ArrayLike, reference: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays as float64, checked for equal shape, non-emptiness and finiteness."""
    pred = np.asarray(prediction, dtype=np.float64)
    ref = np.asarray(reference, dtype=np.float64)
    if pred.shape != ref.shape:
        raise ValueError(
            f"prediction and reference must have the same shape; "
            f"got prediction {pred.shape} and reference {ref.shape}"
        )
    if pred.size == 0:
        raise ValueError("prediction and reference are empty; expected at least one entry")
    for name, arr in (("prediction", pred), ("reference", ref)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or inf; expected finite values")
    return pred, ref


def relative_l2_error(prediction: ArrayLike, reference: ArrayLike) -> float:
    """Relative L2 error ``||prediction - reference||_2 / ||reference||_2`` over all entries.

    Args:
        prediction: array of any shape (same units as ``reference``).
        reference: array of the same shape as ``prediction``; no broadcasting is done.

    Returns:
        The dimensionless error as a Python float (0.1 means 10 %).

    Raises:
        ValueError: shapes differ, arrays are empty, either contains NaN/inf, or the
            reference has zero norm (the relative error is undefined).
    """
    pred, ref = _pair(prediction, reference)
    ref_norm = np.linalg.norm(ref.ravel())
    if ref_norm == 0.0:
        raise ValueError("reference has zero L2 norm; the relative error is undefined")
    return float(np.linalg.norm((pred - ref).ravel()) / ref_norm)


def max_abs_error(prediction: ArrayLike, reference: ArrayLike) -> float:
    """Largest absolute difference ``max |prediction - reference|`` over all entries.

    Args:
        prediction: array of any shape.
        reference: array of the same shape as ``prediction``; no broadcasting is done.

    Returns:
        The error as a Python float, in the units of the field.

    Raises:
        ValueError: shapes differ, arrays are empty, or either contains NaN/inf.
    """
    pred, ref = _pair(prediction, reference)
    return float(np.max(np.abs(pred - ref)))


def grid_points(*axes: ArrayLike) -> np.ndarray:
    """All points of the tensor grid spanned by 1-D ``axes``, in C order (last axis fastest).

    For ``grid_points(x, t)`` with x (nx,) and t (nt,) the result has shape (nx*nt, 2), row
    ``i*nt + j`` being ``(x[i], t[j])``; hence values computed on these rows reshape with
    ``values.reshape(nx, nt)`` to ``U[i, j] = u(x_i, t_j)``. In general, d axes of lengths
    n_1..n_d give shape (n_1*...*n_d, d).

    Args:
        *axes: one or more non-empty 1-D arrays of coordinates.

    Returns:
        Array (N, d) in the common floating dtype of the axes (float64 for integer axes).

    Raises:
        ValueError: no axis given, or an axis is not 1-D or is empty.
    """
    if not axes:
        raise ValueError("grid_points needs at least one axis; got none")
    arrays = [np.asarray(a) for a in axes]
    for k, a in enumerate(arrays):
        if a.ndim != 1 or a.size == 0:
            raise ValueError(f"axes[{k}] must be a non-empty 1-D array; got shape {a.shape}")
    dtype = np.result_type(*arrays, np.float32)
    mesh = np.meshgrid(*arrays, indexing="ij")
    return np.stack([m.reshape(-1) for m in mesh], axis=1).astype(dtype, copy=False)
