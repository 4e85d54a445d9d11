"""Viscous Burgers' equation: u_t + u u_x - nu u_xx = 0."""

from __future__ import annotations

import numpy as np

import pinn


class Burgers(pinn.Equation):
    """``u_t + u u_x - nu u_xx = 0`` in coordinates (x, t), field u.

    The default ``nu = 0.01 / pi`` is the PINN paper's (Raissi et al. 2019). Pass
    ``nu=pinn.Trainable(initial, positive=True)`` to identify it from data.
    """

    coordinates = ("x", "t")
    fields = ("u",)
    coefficients = {"nu": 0.01 / np.pi}

    def residual(self, d: pinn.Derivatives):
        return d.u_t + d.u * d.u_x - self.nu * d.u_xx
