"""Korteweg–de Vries equation: u_t + lambda1 u u_x + lambda2 u_xxx = 0."""

from __future__ import annotations

import numpy as np

import pinn


class KdV(pinn.Equation):
    """``u_t + lambda1 u u_x + lambda2 u_xxx = 0`` in coordinates (x, t), field u.

    The defaults ``lambda1 = 1``, ``lambda2 = 0.0025`` are those of the reference data
    ``data/KdV.h5`` (the Zabusky–Kruskal setting of Raissi et al. 2019, Sec. 4.2.1).
    """

    coordinates = ("x", "t")
    fields = ("u",)
    coefficients = {"lambda1": 1.0, "lambda2": 0.0025}

    def residual(self, d):
        return d.u_t + self.lambda1 * d.u * d.u_x + self.lambda2 * d.u_xxx


class KdVIdentification(KdV):
    """:class:`KdV` with both coefficients learned from data, from the paper's starting values:
    ``lambda1 = pinn.Trainable(0.0)`` and ``lambda2 = pinn.Trainable(exp(-6), positive=True)``
    (learned as ``log lambda2``, which keeps it positive). True values: :attr:`TRUE_VALUES`."""

    coefficients = {"lambda1": pinn.Trainable(0.0),
                    "lambda2": pinn.Trainable(float(np.exp(-6.0)), positive=True)}

    #: The values the data were made with (``data/KdV.h5``).
    TRUE_VALUES = {"lambda1": 1.0, "lambda2": 0.0025}
