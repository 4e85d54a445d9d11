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


class BurgersIdentification(pinn.Equation):
    """``u_t + lambda1 u u_x - lambda2 u_xx = 0`` with both coefficients learned from data.

    The PINN paper's data-driven discovery of Burgers' equation (Raissi et al. 2019, Sec. 4.1.1):
    the true values are ``lambda1 = 1`` and ``lambda2 = 0.01 / pi``. The defaults are the paper's
    starting values: ``lambda1 = pinn.Trainable(0.0)`` and ``lambda2 = pinn.Trainable(exp(-6),
    positive=True)`` (learned as ``log lambda2``, which keeps it positive).
    """

    coordinates = ("x", "t")
    fields = ("u",)
    coefficients = {"lambda1": pinn.Trainable(0.0),
                    "lambda2": pinn.Trainable(float(np.exp(-6.0)), positive=True)}

    #: The values the data were made with (``data/burgers_shock.h5``).
    TRUE_VALUES = {"lambda1": 1.0, "lambda2": 0.01 / np.pi}

    def residual(self, d: pinn.Derivatives):
        return d.u_t + self.lambda1 * d.u * d.u_x - self.lambda2 * d.u_xx
