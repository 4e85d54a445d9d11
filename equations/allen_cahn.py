"""Allen–Cahn equation: u_t - 0.0001 u_xx + 5 u^3 - 5 u = 0."""

from __future__ import annotations

import pinn


class AllenCahn(pinn.Equation):
    """``u_t - diffusion u_xx + reaction (u^3 - u) = 0`` in coordinates (x, t), field u.

    The defaults ``diffusion = 0.0001`` and ``reaction = 5`` are the PINN paper's discrete-time
    inference example (Raissi et al. 2019, Sec. 3.2.1; reference data ``data/AC.h5``). Written as
    any :class:`pinn.Equation`: it serves a continuous-time :class:`pinn.Problem` and a
    :class:`pinn.DiscreteTimeProblem` alike.
    """

    coordinates = ("x", "t")
    fields = ("u",)
    coefficients = {"diffusion": 0.0001, "reaction": 5.0}

    def residual(self, d):
        return d.u_t - self.diffusion * d.u_xx + self.reaction * (d.u ** 3 - d.u)
