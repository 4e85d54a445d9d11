"""2-D incompressible Navier–Stokes equations in stream-function form (the PINN paper's Sec. 4.1.2).

The network maps (x, y, t) to (psi, p): a stream function and the pressure. The velocity is
``u = psi_y``, ``v = -psi_x``, so continuity ``u_x + v_y = 0`` holds exactly and the residuals are
the two momentum equations::

    f = u_t + lambda1 (u u_x + v u_y) + p_x - lambda2 (u_xx + u_yy)
    g = v_t + lambda1 (u v_x + v v_y) + p_y - lambda2 (v_xx + v_yy)

(third derivatives of psi). All quantities are dimensionless; lambda2 is the kinematic viscosity
1 / Re in those units. The observations are of u and v, derivatives of the network's output psi,
so they need :class:`DerivativeObservations` (``pinn.Observations`` compares outputs).

Which data identify lambda1 and lambda2 (the pressure being learned as well): not a steady flow
(``(c lambda1, c lambda2, c p)`` fits for every c), not the Taylor–Green vortex (its convective
term is a gradient, absorbed by the pressure, so any lambda1 fits). The example uses Kovasznay
flow seen from a moving frame, which does identify both; :mod:`pinn.reference.navier_stokes`
gives the reasons and the formulas, and ``tests/test_navier_stokes.py`` checks each claim.
"""

from __future__ import annotations

from typing import Any, Sequence

import tensorflow as tf

import pinn

__all__ = ["NavierStokes", "NavierStokesIdentification", "DerivativeObservations", "velocity",
           "vorticity"]


def velocity(d: pinn.Derivatives) -> tuple[tf.Tensor, tf.Tensor]:
    """``(u, v) = (psi_y, -psi_x)``, each (N, 1), from a :class:`pinn.Derivatives` with field psi."""
    return d.psi_y, -d.psi_x


def vorticity(d: pinn.Derivatives) -> tf.Tensor:
    """``omega = v_x - u_y = -(psi_xx + psi_yy)``, (N, 1)."""
    return -(d.psi_xx + d.psi_yy)


class NavierStokes(pinn.Equation):
    """The momentum equations in coordinates (x, y, t), fields (psi, p); residuals
    ``"momentum_x"`` (f) and ``"momentum_y"`` (g), each (N, 1).

    Coefficients ``lambda1`` (the convective term's, 1 for the true equations) and ``lambda2``
    (the viscosity; default 0.01, the paper's cylinder wake at Re = 100).
    """

    coordinates = ("x", "y", "t")
    fields = ("psi", "p")
    coefficients = {"lambda1": 1.0, "lambda2": 0.01}

    def residual(self, d: pinn.Derivatives) -> dict[str, tf.Tensor]:
        u, v = velocity(d)
        u_t, v_t = d.psi_yt, -d.psi_xt
        u_x, u_y = d.psi_xy, d.psi_yy
        v_x, v_y = -d.psi_xx, -d.psi_xy
        u_lap = d.psi_xxy + d.psi_yyy
        v_lap = -(d.psi_xxx + d.psi_xyy)
        f = u_t + self.lambda1 * (u * u_x + v * u_y) + d.p_x - self.lambda2 * u_lap
        g = v_t + self.lambda1 * (u * v_x + v * v_y) + d.p_y - self.lambda2 * v_lap
        return {"momentum_x": f, "momentum_y": g}


class NavierStokesIdentification(NavierStokes):
    """:class:`NavierStokes` with both coefficients learned from data, from the paper's starting
    values ``lambda1 = lambda2 = 0`` (plain, unconstrained variables as in the paper).

    The true values depend on the data: ``lambda1 = 1`` and ``lambda2 = nu`` (0.025 for the
    packaged Kovasznay data at Re = 40; 0.01 for the paper's cylinder wake at Re = 100).
    """

    coefficients = {"lambda1": pinn.Trainable(0.0), "lambda2": pinn.Trainable(0.0)}


class DerivativeObservations(pinn.Condition):
    """Observed values of derivative expressions: ``weight * mean((sign_k * d[name_k] - data_k)^2)``.

    For data on quantities that are derivatives of the network's outputs, such as the velocity
    ``u = psi_y``, ``v = -psi_x`` of a stream-function network: ``expressions=("psi_y",
    "-psi_x")``.

    Args:
        points: (N, d) coordinates in the equation's order.
        values: (N, k) observed values, column k for expression k ((N,) when k = 1).
        expressions: k derivative names (``"u"``, ``"psi_y"``, ``"psi_xx"``...), each optionally
            prefixed by ``"-"``.
        name: the loss term's name.
        weight: >= 0; the term is ``weight * sum / (N k)``, so ``weight = k`` gives the sum of
            the k means (the paper's ``mean (u - u_data)^2 + mean (v - v_data)^2``).

    Raises:
        ValueError: no expressions, an expression that is not a str, values of the wrong shape
            or not finite, a negative weight. Names unknown to the equation are reported when
            the :class:`pinn.Problem` is made.
    """

    def __init__(self, points: Any, values: Any, expressions: Sequence[str], *, name: str = "data",
                 weight: float = 1.0) -> None:
        super().__init__([points], name, weight)
        if isinstance(expressions, str):
            expressions = (expressions,)
        if not isinstance(expressions, Sequence) or not expressions:
            raise ValueError(f"expressions of {name!r} must be one or more derivative names such "
                             f"as 'psi_y' or '-psi_x', got {expressions!r}")
        signs, names = [], []
        for e in expressions:
            if not isinstance(e, str) or not e.lstrip("-").strip():
                raise ValueError(f"expressions of {name!r} must be derivative names such as "
                                 f"'psi_y' or '-psi_x', got {e!r}")
            negative = e.startswith("-")
            signs.append(-1.0 if negative else 1.0)
            names.append(e[1:].strip() if negative else e.strip())
        self.expressions = names  # checked by pinn.Problem against the equation's names
        self.signs = tuple(signs)
        self.add_target(values, columns=len(names), argument="values")

    def residual(self, d: pinn.Derivatives) -> tf.Tensor:
        columns = [d[e] if s > 0 else -d[e] for s, e in zip(self.signs, self.expressions)]
        return tf.concat(columns, axis=1) - self.target()
