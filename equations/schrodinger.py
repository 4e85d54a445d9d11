"""Focusing nonlinear Schrödinger equation: i h_t + 0.5 h_xx + |h|^2 h = 0, h = u + i v."""

from __future__ import annotations

from typing import Any

import pinn


class Schrodinger(pinn.Equation):
    """``i h_t + 0.5 h_xx + |h|^2 h = 0`` for the complex field ``h = u + i v``, in coordinates
    (x, t), as two real fields u, v (the network's two output columns).

    Residuals (a dict, two loss terms; the PINN paper's ``f_u`` is ``"imag"`` and its ``f_v`` is
    ``-"real"``, with the same squares)::

        real = -v_t + 0.5 u_xx + (u^2 + v^2) u      (the real part of the equation)
        imag =  u_t + 0.5 v_xx + (u^2 + v^2) v      (its imaginary part)

    ``residual`` reads only the attributes ``u, v, u_t, v_t, u_xx, v_xx`` of ``d``, so it can be
    evaluated on any object that provides them as arrays of one shape (e.g. spectral derivatives
    of reference data; tests do this).
    """

    coordinates = ("x", "t")
    fields = ("u", "v")

    def residual(self, d: Any) -> dict[str, Any]:
        modulus_squared = d.u * d.u + d.v * d.v
        return {"real": -d.v_t + 0.5 * d.u_xx + modulus_squared * d.u,
                "imag": d.u_t + 0.5 * d.v_xx + modulus_squared * d.v}
