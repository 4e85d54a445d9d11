"""A Levenberg–Marquardt (damped Gauss–Newton) phase over a pinn.Problem's residual vector, for
measuring it against the quasi-Newton phases (``compare.py``'s ``levenberg-marquardt`` case).

Not (yet) a pinn optimizer: issue 11 asks to measure before deciding. The pieces:

* :class:`ResidualJacobian`: the weighted residual vector ``R`` (M,) of a :class:`pinn.Problem`,
  scaled so that ``||R||^2`` is the problem's loss (each term ``w * mean(r^2)`` contributes its rows
  times ``sqrt(w / count)``), and its Jacobian ``dR/dx`` (M, n) with respect to the flat variables.
  An equation residual's row depends on its collocation point only, so those rows' Jacobian is
  computed as per-point gradients vectorised over the points (``tf.vectorized_map``): about four
  evaluations' time for the Burgers problem (M = 10100, n = 3021), where a reverse-mode Jacobian
  of the batched residual takes M backward passes. A condition's rows may read its stored targets
  whole, so its few rows take the reverse-mode Jacobian (vectorised over its rows).
* :func:`levenberg_marquardt`: the damped Gauss–Newton iteration with Nielsen's damping update:
  solve ``(J^T J + mu I) d = -J^T R`` by Cholesky (``J^T J`` by the BLAS's symmetric rank-k update),
  accept when the loss falls, and move ``mu`` by the ratio of the actual to the predicted decrease.

The problem's equation residuals must carry weight 1 (the :class:`pinn.Problem` default); the
conditions' weights are read from them. Tests (``tests/test_levenberg_marquardt.py``) check
``||R||^2``, ``2 J^T R`` and every row of ``J`` against the problem's loss, its gradient and the
reverse-mode Jacobian.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import scipy.linalg
from scipy.linalg import blas


def _rows(value: Any) -> Any:
    import tensorflow as tf

    value = tf.convert_to_tensor(value)
    return tf.reshape(value, [tf.shape(value)[0], -1])


def _equation_residuals(equation: Any, d: Any) -> list[Any]:
    # the equation's residuals in the order pinn.Problem names them (one tensor, a tuple or a dict)
    return list(equation.named_residuals(d).values())


class ResidualJacobian:
    """``R(x)`` (M,) and ``dR/dx`` (M, n) of a :class:`pinn.Problem` at its variables' values.

    Args:
        problem: the problem (equation residual weights 1, the default).
        jit_compile: compile the residual and the Jacobian with XLA.

    Attributes:
        size: M, the number of residual rows (each equation residual and condition component at
            each point).
    """

    def __init__(self, problem: Any, jit_compile: bool = False) -> None:
        import tensorflow as tf
        from pinn.derivatives import Derivatives
        from pinn.flat import FlatLayout

        self.layout = FlatLayout(problem.variables)
        dtype = problem.dtype
        equation, network = problem.equation, problem.network
        coordinates, fields = equation.coordinates, equation.fields

        def derivatives(points):
            return Derivatives(network, points, coordinates, fields)

        # blocks: (stacked point sets (N, s, d), residual of a list of s Derivatives, scale)
        collocation = tf.constant(problem.collocation[:, None, :], dtype)
        n_f = problem.collocation.shape[0]
        blocks = [(collocation, lambda ds: _equation_residuals(equation, ds[0]), None)]
        for c in problem.conditions:
            stacked = tf.constant(np.stack(c.point_sets, axis=1), dtype)
            blocks.append((stacked, lambda ds, c=c: [c.residual(*ds)], c.weight))
        variables = problem.variables

        def block_rows(points, residual, weight):
            parts = [_rows(r) for r in residual([derivatives(points[:, i]) for i in range(points.shape[1])])]
            # each equation residual is its own term (count N); a condition's is one term (count N * k)
            if weight is None:
                scaled = [p * tf.constant(1.0 / math.sqrt(n_f), dtype) for p in parts]
            else:
                rows = tf.concat(parts, axis=1)
                count = int(points.shape[0]) * int(rows.shape[1])
                scaled = [rows * tf.constant(math.sqrt(weight / count), dtype)]
            return tf.concat(scaled, axis=1)

        def residual_vector():
            return tf.concat([tf.reshape(block_rows(p, r, w), [-1]) for p, r, w in blocks], axis=0)

        def equation_jacobian(points):
            # per-point gradients vectorised over the collocation points: rows (N k,), J (N k, n)
            scale = tf.constant(1.0 / math.sqrt(n_f), dtype)

            def one(point):  # point (1, d) -> rows (k,), gradients (k, n)
                with tf.GradientTape(persistent=True) as tape:
                    rows = tf.concat([tf.reshape(r, [-1]) for r in _equation_residuals(
                        equation, derivatives(point))], axis=0) * scale
                    pieces = [rows[j] for j in range(rows.shape[0])]  # k, static
                grads = [self.layout.pack(tape.gradient(piece, variables,
                                                        unconnected_gradients=tf.UnconnectedGradients.ZERO))
                         for piece in pieces]
                del tape
                return rows, tf.stack(grads)

            rows, grads = tf.vectorized_map(one, points)
            return tf.reshape(rows, [-1]), tf.reshape(grads, [-1, grads.shape[-1]])

        def condition_jacobian(points, residual, weight):
            # a condition's rows may read its stored targets, so take them whole: its few rows'
            # Jacobian by reverse mode, vectorised over the rows
            with tf.GradientTape() as tape:
                rows = tf.reshape(block_rows(points, residual, weight), [-1])
            jacobians = tape.jacobian(rows, variables, unconnected_gradients=tf.UnconnectedGradients.ZERO)
            return rows, tf.concat([tf.reshape(j, [rows.shape[0], -1]) for j in jacobians], axis=1)

        def residual_and_jacobian():
            pieces = [equation_jacobian(blocks[0][0])]
            pieces += [condition_jacobian(p, r, w) for p, r, w in blocks[1:]]
            return tf.concat([p[0] for p in pieces], 0), tf.concat([p[1] for p in pieces], 0)

        self._residual = tf.function(residual_vector, jit_compile=jit_compile, autograph=False)
        self._jacobian = tf.function(residual_and_jacobian, jit_compile=jit_compile, autograph=False)
        self.size = int(self._residual.get_concrete_function().structured_outputs.shape[0])  # traced, not run

    def residual(self, x: np.ndarray) -> np.ndarray:
        """R at the flat vector ``x`` (n,), float64 (M,); sets the variables to ``x``."""
        self.layout.set_flat(x)
        return np.asarray(self._residual(), dtype=np.float64)

    def jacobian(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(R (M,), J (M, n))`` at ``x``, float64; sets the variables to ``x``."""
        self.layout.set_flat(x)
        r, j = self._jacobian()
        return np.asarray(r, dtype=np.float64), np.asarray(j, dtype=np.float64)


def levenberg_marquardt(
    residual: Callable[[np.ndarray], np.ndarray],
    jacobian: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    x0: np.ndarray,
    tick: Callable[[int, int, np.ndarray], bool],
    maxiter: int = 50000,
    damping: float = 1e-5,
) -> dict[str, Any]:
    """Minimise ``||R(x)||^2`` from ``x0`` (n,) by Levenberg–Marquardt.

    Args:
        residual: ``x -> R`` (M,).
        jacobian: ``x -> (R (M,), J (M, n))``.
        x0: the start, float64 (n,).
        tick: ``tick(iteration, evaluations, x)`` after each accepted step (and at the start,
            iteration 0); returning True ends the run. ``evaluations`` counts residual evaluations
            and Jacobians alike.
        maxiter: accepted steps at most.
        damping: the first ``mu`` as a fraction of the largest diagonal entry of ``J^T J``
            (1e-5, from two trial runs on the Burgers problem, not recorded: the usual 1e-3
            spent its first seven steps as short gradient steps, 1e-7 its first four trials as
            rejected ones, and the damping settled near 1e-5 of that entry in both).

    Returns:
        ``{"x", "loss", "nit", "nfev", "rejected", "message"}``.
    """
    def linearise(x):  # loss, J^T J (its upper triangle; J.T is Fortran-ordered) and J^T R at x
        r, J = jacobian(x)
        return float(r @ r), blas.dsyrk(1.0, J.T, trans=0, lower=0), J.T @ r

    x = np.array(x0, dtype=np.float64)
    loss, A, g = linearise(x)
    nfev, nit, rejected = 1, 0, 0
    mu, nu = damping * float(np.max(np.diag(A))), 2.0
    message = "maxiter"
    if tick(0, nfev, x):
        return {"x": x, "loss": loss, "nit": 0, "nfev": nfev, "rejected": 0, "message": "budget"}
    while nit < maxiter:
        if not math.isfinite(mu) or mu > 1e20:
            message = "damping too large (no decrease found)"
            break
        damped = A.copy()
        damped[np.diag_indices_from(damped)] += mu
        try:
            factor = scipy.linalg.cho_factor(damped, lower=False, overwrite_a=True, check_finite=False)
        except np.linalg.LinAlgError:
            mu, nu = mu * nu, nu * 2.0
            rejected += 1
            continue
        step = scipy.linalg.cho_solve(factor, -g, check_finite=False)
        predicted = float(-g @ step + mu * (step @ step))  # ||R||^2 - ||R + J step||^2
        trial = x + step
        r_trial = residual(trial)
        nfev += 1
        loss_trial = float(r_trial @ r_trial)
        ratio = (loss - loss_trial) / predicted if predicted > 0 else -1.0
        if math.isfinite(loss_trial) and ratio > 0:
            x = trial
            nit += 1
            mu *= max(1.0 / 3.0, 1.0 - (2.0 * ratio - 1.0) ** 3)
            nu = 2.0
            loss, A, g = linearise(x)
            nfev += 1
            if tick(nit, nfev, x):
                message = "budget"
                break
        else:
            mu, nu = mu * nu, nu * 2.0
            rejected += 1
    return {"x": x, "loss": loss, "nit": nit, "nfev": nfev, "rejected": rejected, "message": message}
