"""Gauss–Legendre implicit Runge–Kutta weights (pinn.runge_kutta)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pinn.runge_kutta import MAX_STAGES, gauss_legendre, irk_weights


#: Entries of A and b are at most ~0.03 (q = 50) to ~1 (q = 1); the construction (numpy's Gauss
#: nodes and weights, a Legendre expansion summed in float64) is accurate to a few ulps of 1:
#: the largest difference from the papers' files is 1.5e-15 (q = 50), 8.0e-16 (81), 8.5e-16 (100).
FILE_ATOL = 1e-14
#: Order-condition sums have only O(1) terms here (b > 0, |A| rows of modest norm, c in (0, 1)), so
#: they hold to rounding for every k, not only for small k: measured <= 1.5e-15 for q <= 100.
ORDER_ATOL = 1e-13


@pytest.mark.parametrize("q", [50, 81, 100])
def test_matches_paper_files(q, paper_file):
    """Butcher_IRK{q}.txt: q*q + 2q numbers, A row by row, then b, then c."""
    numbers = np.loadtxt(paper_file(f"Butcher_IRK{q}.txt"))
    assert numbers.shape == (q * q + 2 * q,)
    weights, c = irk_weights(q)
    np.testing.assert_allclose(weights, numbers[: q * q + q].reshape(q + 1, q), rtol=0, atol=FILE_ATOL)
    np.testing.assert_allclose(c, numbers[q * q + q:], rtol=0, atol=FILE_ATOL)


def test_irk_weights_layout():
    weights, c = irk_weights(4)
    a, b, c2 = gauss_legendre(4)
    assert weights.shape == (5, 4) and c.shape == (4,)
    np.testing.assert_array_equal(weights[:4], a)
    np.testing.assert_array_equal(weights[4], b)
    np.testing.assert_array_equal(c, c2)


def test_closed_forms_q1_q2_q3():
    a, b, c = gauss_legendre(1)  # implicit midpoint rule
    np.testing.assert_allclose(a, [[0.5]], atol=1e-16)
    np.testing.assert_allclose(b, [1.0], atol=1e-16)
    np.testing.assert_allclose(c, [0.5], atol=1e-16)

    s3 = math.sqrt(3.0)
    a, b, c = gauss_legendre(2)
    np.testing.assert_allclose(a, [[1 / 4, 1 / 4 - s3 / 6], [1 / 4 + s3 / 6, 1 / 4]], atol=1e-15)
    np.testing.assert_allclose(b, [1 / 2, 1 / 2], atol=1e-15)
    np.testing.assert_allclose(c, [1 / 2 - s3 / 6, 1 / 2 + s3 / 6], atol=1e-15)

    s15 = math.sqrt(15.0)
    a, b, c = gauss_legendre(3)
    want = [
        [5 / 36, 2 / 9 - s15 / 15, 5 / 36 - s15 / 30],
        [5 / 36 + s15 / 24, 2 / 9, 5 / 36 - s15 / 24],
        [5 / 36 + s15 / 30, 2 / 9 + s15 / 15, 5 / 36],
    ]
    np.testing.assert_allclose(a, want, atol=1e-15)
    np.testing.assert_allclose(b, [5 / 18, 4 / 9, 5 / 18], atol=1e-15)
    np.testing.assert_allclose(c, [1 / 2 - s15 / 10, 1 / 2, 1 / 2 + s15 / 10], atol=1e-15)


@pytest.mark.parametrize("q", [1, 2, 3, 4, 7, 16, 50, 100, 250])
def test_order_conditions(q):
    """B(2q): b^T c^(k-1) = 1/k, k = 1..2q; C(q): A c^(k-1) = c^k / k, k = 1..q (k = 1 is
    sum_j a_ij = c_i). All k are checked: see ORDER_ATOL."""
    a, b, c = gauss_legendre(q)
    assert a.shape == (q, q) and b.shape == (q,) and c.shape == (q,)
    assert np.all(np.diff(c) > 0) and 0 < c[0] and c[-1] < 1 and np.all(b > 0)
    k = np.arange(1, 2 * q + 1)
    powers = c[None, :] ** (k[:, None] - 1)  # (2q, q): c_j^(k-1)
    np.testing.assert_allclose(powers @ b, 1.0 / k, rtol=0, atol=ORDER_ATOL)
    kq = k[:q]
    np.testing.assert_allclose(a @ powers[:q].T, c[:, None] ** kq / kq, rtol=0, atol=ORDER_ATOL)
    np.testing.assert_allclose(a.sum(axis=1), c, rtol=0, atol=ORDER_ATOL)


@pytest.mark.parametrize("q", [1, 2, 3, 4])
def test_order_is_exactly_2q(q):
    """B(2q + 1) fails: the quadrature error of c^(2q) is (q!)^4 / ((2q + 1) ((2q)!)^2)."""
    _, b, c = gauss_legendre(q)
    defect = 1.0 / (2 * q + 1) - b @ c ** (2 * q)
    want = math.factorial(q) ** 4 / ((2 * q + 1) * math.factorial(2 * q) ** 2)
    assert defect == pytest.approx(want, rel=1e-10)


def _pade(q: int, z: float) -> float:
    """The (q, q) Padé approximant of exp(z): P(z) / P(-z)."""
    coefficients = [
        math.factorial(2 * q - j) * math.factorial(q)
        / (math.factorial(2 * q) * math.factorial(j) * math.factorial(q - j))
        for j in range(q + 1)
    ]
    p = np.polynomial.Polynomial(coefficients)
    return float(p(z) / p(-z))


def _one_step_decay(q: int, h: float) -> float:
    """One step of the q-stage method on y' = -y, y(0) = 1: solve (I + h A) Y = 1, y1 = 1 - h b.Y."""
    a, b, _ = gauss_legendre(q)
    stages = np.linalg.solve(np.eye(q) + h * a, np.ones(q))
    return 1.0 - h * float(b @ stages)


@pytest.mark.parametrize("q", [1, 2, 3, 5])
def test_one_step_is_pade_approximant(q):
    for h in (0.1, 0.5, 1.0, 4.0):
        assert _one_step_decay(q, h) == pytest.approx(_pade(q, -h), rel=1e-13, abs=1e-15)


@pytest.mark.parametrize("q", [1, 2, 3])
def test_one_step_local_error_constant(q):
    """exp(z) - R(z) = C z^(2q+1) exp(z) (1 + O(z^2)), C = (-1)^q (q!)^2 / ((2q)! (2q+1)!).

    At h = 1/8 the ratio is 1.0023 (q = 1), 1.0009 (q = 2), 1.0007 (q = 3); the error itself
    (1.4e-4 to 4.2e-12) is far above rounding. A method of order 2q - 1 would be off by 1/h.
    """
    h = 0.125
    constant = (-1) ** q * math.factorial(q) ** 2 / (
        math.factorial(2 * q) * math.factorial(2 * q + 1))
    error = math.exp(-h) - _one_step_decay(q, h)
    assert error / (constant * (-h) ** (2 * q + 1) * math.exp(-h)) == pytest.approx(1.0, abs=1e-2)


@pytest.mark.parametrize("bad", [0, -3, 2.0, 2.5, True, "3", None, MAX_STAGES + 1])
def test_bad_stage_count(bad):
    with pytest.raises(ValueError, match=r"gauss_legendre\(q\)"):
        gauss_legendre(bad)
    with pytest.raises(ValueError, match=r"irk_weights\(q\)"):
        irk_weights(bad)
