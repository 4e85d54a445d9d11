"""Implicit Runge–Kutta weights: the q-stage Gauss–Legendre methods of the discrete-time PINNs.

A q-stage Runge–Kutta method advances ``y' = f(t, y)`` by one step ``dt`` through the stages::

    y_i = y_n + dt * sum_j A[i, j] f(t_n + c[i] dt, y_j),   i = 1..q,
    y_{n+1} = y_n + dt * sum_j b[j] f(t_n + c[j] dt, y_j).

The Gauss–Legendre method (order 2q, A-stable) is the collocation method at the zeros c of the
shifted Legendre polynomial P_q(2c - 1): b are the Gauss weights on [0, 1] and
``A[i, j] = integral_0^{c_i} l_j(s) ds`` with l_j the Lagrange basis polynomials of the nodes.

Construction (float64, stable up to q in the hundreds): on [-1, 1] with Gauss nodes x and weights
w, the Lagrange basis has the exact Legendre expansion
``l_j(x) = w_j * sum_{n<q} (n + 1/2) P_n(x_j) P_n(x)`` (discrete orthogonality), and
``integral_{-1}^{x} P_n = (P_{n+1}(x) - P_{n-1}(x)) / (2n + 1)`` (n >= 1). Every P_n is evaluated by
the three-term recurrence, so no ill-conditioned Vandermonde system is solved.

Public functions:
    gauss_legendre(q) -> (A (q, q), b (q,), c (q,))
    irk_weights(q) -> (weights (q + 1, q), c (q,))   # Raissi et al.'s Butcher_IRK layout
"""

from __future__ import annotations

import numpy as np

__all__ = ["MAX_STAGES", "gauss_legendre", "irk_weights"]

#: Largest accepted number of stages (the paper's discrete-time Burgers study goes up to 500).
MAX_STAGES: int = 1000


def _check_stages(where: str, q: object) -> int:
    if isinstance(q, bool) or not isinstance(q, (int, np.integer)):
        raise ValueError(f"{where}(q): expected an integer number of stages, got {q!r}")
    if not 1 <= int(q) <= MAX_STAGES:
        raise ValueError(f"{where}(q): expected 1 <= q <= {MAX_STAGES}, got {int(q)}")
    return int(q)


def _legendre_table(x: np.ndarray, degree: int) -> np.ndarray:
    """P_n(x) for n = 0..degree by the three-term recurrence: (degree + 1, x.size)."""
    table = np.empty((degree + 1, x.size), dtype=np.float64)
    table[0] = 1.0
    if degree >= 1:
        table[1] = x
    for n in range(1, degree):
        table[n + 1] = ((2 * n + 1) * x * table[n] - n * table[n - 1]) / (n + 1)
    return table


def gauss_legendre(q: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Butcher tableau of the q-stage Gauss–Legendre implicit Runge–Kutta method (order 2q).

    Args:
        q: number of stages, an integer in [1, 1000].

    Returns:
        A: (q, q) stage weights, ``A[i, j] = integral_0^{c_i} l_j(s) ds``.
        b: (q,) step weights (the Gauss weights on [0, 1], summing to 1).
        c: (q,) nodes in (0, 1), increasing (fractions of the step, dimensionless).

    Raises:
        ValueError: q is not an integer in [1, 1000].
    """
    q = _check_stages("gauss_legendre", q)
    x, w = np.polynomial.legendre.leggauss(q)  # nodes on [-1, 1], increasing; weights sum to 2
    p = _legendre_table(x, q)  # (q + 1, q): P_n(x_i), n = 0..q
    # integral_{-1}^{x_i} P_n for n = 0..q-1: x_i + 1, then (P_{n+1} - P_{n-1}) / (2n + 1)
    integrals = np.empty((q, q), dtype=np.float64)
    integrals[0] = x + 1.0
    n = np.arange(1, q)[:, None]
    integrals[1:] = (p[2:] - p[:-2]) / (2 * n + 1)
    # l_j(x) = w_j sum_n (n + 1/2) P_n(x_j) P_n(x); A on [0, 1] is half the integral on [-1, 1]
    coefficients = (np.arange(q) + 0.5)[:, None] * p[:q]  # (q, q): (n + 1/2) P_n(x_j)
    a = 0.5 * (integrals.T @ coefficients) * w[None, :]
    return a, 0.5 * w, 0.5 * (x + 1.0)


def irk_weights(q: int) -> tuple[np.ndarray, np.ndarray]:
    """The Gauss–Legendre weights in the layout of Raissi et al.'s discrete-time models.

    ``Butcher_IRK{q}.txt`` of the original code holds q * q + 2q numbers: A row by row, then b,
    then c; the models read its first q * q + q numbers as one (q + 1, q) matrix.

    Args:
        q: number of stages, an integer in [1, 1000].

    Returns:
        weights: (q + 1, q) float64, rows 0..q-1 are A, row q is b.
        c: (q,) the nodes in (0, 1).

    Raises:
        ValueError: q is not an integer in [1, 1000].
    """
    q = _check_stages("irk_weights", q)
    a, b, c = gauss_legendre(q)
    return np.vstack([a, b[None, :]]), c
