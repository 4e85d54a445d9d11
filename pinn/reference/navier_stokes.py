"""Exact 2-D incompressible Navier–Stokes flows, and the data file of the identification example.

The PINN paper (Raissi et al. 2019, Sec. 4.1.2) identifies lambda1, lambda2 in

    u_t + lambda1 (u u_x + v u_y) = -p_x + lambda2 (u_xx + u_yy),
    v_t + lambda1 (u v_x + v v_y) = -p_y + lambda2 (v_xx + v_yy),   u_x + v_y = 0,

(true values 1 and the viscosity nu) from snapshots of a cylinder wake. Those data are not part
of pinn, so the example is given data from an exact solution instead. Which one matters, because
the pressure is learned too:

* **Decaying Taylor–Green vortex** (:func:`taylor_green_vortex`): its convective term (u.grad)u
  is a gradient, equal to -grad p (its vorticity is a function of the stream function, so
  curl (u.grad)u = (u.grad) omega = 0). For *any* lambda1 the pressure lambda1 p fits the data
  exactly: **lambda1 is not identifiable** (only lambda2 is, from u_t = lambda2 Laplacian u).
* **Steady Kovasznay flow** (:func:`kovasznay_flow` with ``velocity=(0, 0)``): u_t = 0, so the
  equations are homogeneous in (lambda1, lambda2, p): ``(c, c nu, c p)`` fits for every c,
  c = 0 included (lambda1 = lambda2 = 0 and a constant pressure give zero residuals). **Neither
  coefficient is identifiable**; only the ratio lambda2 / lambda1 = nu is.
* **Kovasznay flow seen from a moving frame** (the default here): Galilean invariance makes
  ``u(x, y, t) = U + w(x - U t, y - V t)``, ``p = p_K(x - U t, y - V t)`` (w, p_K Kovasznay's
  velocity and pressure, (U, V) the frame's velocity) an exact *unsteady* solution. With wrong
  coefficients the curl of the residual is ``(lambda1 - 1) (U.grad) omega + (lambda1 nu -
  lambda2) Laplacian omega``; Kovasznay's vorticity is ``C exp(lam x) sin(2 pi y)``, so for V != 0
  the two functions are independent (``cos`` against ``sin`` in y) and only lambda1 = 1,
  lambda2 = nu make the residual vanish. With V = 0 they are proportional again (not
  identifiable), hence the default frame velocity (0, 0.5). Its convective term is not a
  gradient (``(u.grad) omega`` is not zero), as in the wake.

Kovasznay flow (Kovasznay 1948) at Reynolds number Re, nu = 1 / Re,
``lam = Re / 2 - sqrt(Re^2 / 4 + 4 pi^2)``::

    w1 = 1 - exp(lam x) cos(2 pi y),   w2 = lam / (2 pi) exp(lam x) sin(2 pi y),
    p_K = (1 - exp(2 lam x)) / 2,      stream function psi_K = y - exp(lam x) sin(2 pi y) / (2 pi)

(u = psi_y, v = -psi_x). All quantities are dimensionless (lengths in units of the flow's
period 1 in y, velocities in units of the far-field speed, pressure per unit density).

The data file (:func:`main`, ``pinn data navier_stokes``) has the layout of the paper's
``cylinder_nektar_wake.mat``: ``X_star`` (N, 2) points (x, y), ``t`` (T, 1) times, ``U_star``
(N, 2, T) velocities (u, v), ``p_star`` (N, T) pressure; here on a 31 x 41 grid of
[-0.5, 1] x [-0.5, 1.5] (N = 1271) at 41 times in [0, 1], Re = 40 (nu = 0.025), frame velocity
(0, 0.5). Its attributes give ``re``, ``nu``, ``lambda1`` (1), ``lambda2`` (nu) and the frame
velocity. ``pinn.data.load_navier_stokes`` reads it (and the paper's .mat file).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from types import ModuleType
from typing import Any, Sequence

import numpy as np

__all__ = [
    "RE", "VELOCITY", "X_RANGE", "Y_RANGE", "T_RANGE", "GRID", "DEFAULT_OUT", "GENERATOR_COMMAND",
    "kovasznay_lambda", "kovasznay_flow", "taylor_green_vortex", "navier_stokes_reference",
    "build_parser", "main",
]

#: Reynolds number of the packaged data (nu = 1 / RE = 0.025).
RE: float = 40.0
#: The frame's velocity (U, V): the data are Kovasznay flow seen from a frame moving at -(U, V).
VELOCITY: tuple[float, float] = (0.0, 0.5)
X_RANGE: tuple[float, float] = (-0.5, 1.0)
Y_RANGE: tuple[float, float] = (-0.5, 1.5)
T_RANGE: tuple[float, float] = (0.0, 1.0)
#: Grid points in x, y and times: N = 31 * 41 = 1271 points, T = 41 snapshots (1.3 MB).
GRID: tuple[int, int, int] = (31, 41, 41)
GENERATOR_COMMAND: str = "python -m pinn.reference.navier_stokes"
FILE_NAME: str = "kovasznay_translating.h5"


def _default_out() -> Path:
    from pinn.data import SOURCE_DATA_DIR

    if SOURCE_DATA_DIR is not None:  # a source checkout: regenerate the repository's file
        return SOURCE_DATA_DIR / FILE_NAME
    return Path(FILE_NAME)  # an installed pinn: never write into site-packages


#: Where ``main`` writes by default: the repository's ``data/`` in a source checkout, else the
#: current folder.
DEFAULT_OUT: Path = _default_out()


def _check_re(re: Any) -> float:
    from pinn.validation import check_number

    return check_number(re, "re", minimum=0.0, exclusive=True, meaning="the Reynolds number")


def kovasznay_lambda(re: float = RE) -> float:
    """Kovasznay's decay rate ``Re / 2 - sqrt(Re^2 / 4 + 4 pi^2)`` (negative), for ``re`` > 0."""
    re = _check_re(re)
    return re / 2.0 - math.sqrt(re * re / 4.0 + 4.0 * math.pi ** 2)


def kovasznay_flow(x: Any, y: Any, t: Any, re: float = RE,
                   velocity: Sequence[float] = VELOCITY, xp: ModuleType | Any = np) -> dict[str, Any]:
    """Kovasznay flow seen from a frame moving at ``-velocity``: an exact unsteady NS solution.

    ``u = U + w(x - U t, y - V t)``, ``p = p_K(x - U t, y - V t)``, ``psi = U y - V x +
    psi_K(x - U t, y - V t)`` (module docstring); ``velocity=(0, 0)`` is the steady flow.

    Args:
        x, y, t: coordinates, arrays (or tensors) of one shape, dimensionless.
        re: the Reynolds number, > 0; the viscosity is nu = 1 / re.
        velocity: the frame velocity (U, V), two finite numbers.
        xp: the array module whose ``exp``, ``sin`` and ``cos`` are used: NumPy (default), or
            ``tf.math`` to get tensors that automatic differentiation goes through.

    Returns:
        ``{"psi", "u", "v", "p"}``, each of the shape of ``x``.
    """
    from pinn.validation import check_number

    lam = kovasznay_lambda(re)
    if len(velocity) != 2:
        raise ValueError(f"velocity must be two numbers (U, V), got {velocity!r}")
    U = check_number(velocity[0], "velocity[0]", meaning="the frame's x velocity")
    V = check_number(velocity[1], "velocity[1]", meaning="the frame's y velocity")
    xi, eta = x - U * t, y - V * t
    e = xp.exp(lam * xi)
    s, c = xp.sin(2.0 * math.pi * eta), xp.cos(2.0 * math.pi * eta)
    return {
        "psi": U * y - V * x + eta - e * s / (2.0 * math.pi),
        "u": U + 1.0 - e * c,
        "v": V + lam / (2.0 * math.pi) * e * s,
        "p": 0.5 * (1.0 - xp.exp(2.0 * lam * xi)),
    }


def taylor_green_vortex(x: Any, y: Any, t: Any, nu: float = 0.025,
                        xp: ModuleType | Any = np) -> dict[str, Any]:
    """The decaying Taylor–Green vortex (periodic in x and y with period 2 pi), exact:

    ``psi = sin x sin y F``, ``u = sin x cos y F``, ``v = -cos x sin y F``,
    ``p = (cos 2x + cos 2y) F^2 / 4``, ``F = exp(-2 nu t)``.

    Its convective term is ``-grad p``: with a learned pressure lambda1 cannot be identified from
    it (module docstring). Arguments and result as :func:`kovasznay_flow`.
    """
    from pinn.validation import check_number

    nu = check_number(nu, "nu", minimum=0.0, meaning="the viscosity")
    F = xp.exp(-2.0 * nu * t)
    return {
        "psi": xp.sin(x) * xp.sin(y) * F,
        "u": xp.sin(x) * xp.cos(y) * F,
        "v": -xp.cos(x) * xp.sin(y) * F,
        "p": 0.25 * (xp.cos(2.0 * x) + xp.cos(2.0 * y)) * F * F,
    }


def navier_stokes_reference(re: float = RE, velocity: Sequence[float] = VELOCITY,
                            grid: Sequence[int] = GRID) -> dict[str, np.ndarray]:
    """The data in the layout of the paper's ``cylinder_nektar_wake.mat``.

    Args:
        re: Reynolds number, > 0.
        velocity: the frame velocity (U, V).
        grid: (n_x, n_y, n_t), each >= 2: points of the uniform grid of :data:`X_RANGE` x
            :data:`Y_RANGE` and snapshots in :data:`T_RANGE`.

    Returns:
        ``X_star`` (N, 2) with N = n_x n_y (rows (x, y), x varying fastest), ``t`` (T, 1),
        ``U_star`` (N, 2, T) (u, v), ``p_star`` (N, T), float64.
    """
    from pinn.validation import check_int

    if len(grid) != 3:
        raise ValueError(f"grid must be (n_x, n_y, n_t), got {grid!r}")
    nx, ny, nt = (check_int(n, f"grid[{i}]", minimum=2) for i, n in enumerate(grid))
    x = np.linspace(*X_RANGE, nx)
    y = np.linspace(*Y_RANGE, ny)
    t = np.linspace(*T_RANGE, nt)
    X, Y = np.meshgrid(x, y)  # (ny, nx): x fastest
    points = np.column_stack([X.ravel(), Y.ravel()])
    flow = kovasznay_flow(points[:, :1], points[:, 1:], t[None, :], re, velocity)  # (N, T) each
    return {
        "X_star": points,
        "t": t[:, None],
        "U_star": np.stack([flow["u"], flow["v"]], axis=1),
        "p_star": flow["p"],
    }


def _hdf5_path(text: str) -> Path:
    path = Path(text)
    if not text or path.suffix.lower() not in (".h5", ".hdf5"):
        raise argparse.ArgumentTypeError(f"expected an .h5 or .hdf5 file path, got {text!r}")
    return path


def _reynolds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text}")
    return value


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The command line of :func:`main` (``pinn data navier_stokes`` uses it too)."""
    from pinn.settings import OneLineArgumentParser

    parser = OneLineArgumentParser(
        prog=prog or GENERATOR_COMMAND,
        description="Write Kovasznay flow seen from a moving frame (an exact unsteady 2-D "
        "Navier-Stokes solution) in the layout of the PINN paper's cylinder_nektar_wake.mat "
        "(X_star, t, U_star, p_star) to HDF5.",
    )
    parser.add_argument("--out", type=_hdf5_path, default=DEFAULT_OUT,
                        help=f"output .h5 file (default: {DEFAULT_OUT})")
    parser.add_argument("--re", type=_reynolds, default=RE,
                        help=f"Reynolds number, nu = 1 / Re (default: {RE:g})")
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> Path:
    """Command line: write the data file (``python -m pinn.reference.navier_stokes``, ``pinn data
    navier_stokes``).

    Returns:
        The path written.

    Raises:
        SystemExit: bad flags (status 2, one line on stderr) or ``--help`` (status 0).
    """
    from pinn.data import save_reference

    args = build_parser(prog).parse_args(argv)
    data = navier_stokes_reference(re=args.re)
    nu = 1.0 / args.re
    n, _, steps = data["U_star"].shape
    attrs = {
        "description": (
            f"Kovasznay flow at Re = {args.re:g} seen from a frame moving at -{VELOCITY}: "
            "u = U + w(x - U t, y - V t), an exact unsteady solution of the 2-D incompressible "
            f"Navier-Stokes equations with lambda1 = 1, lambda2 = nu = {nu:g}. Layout of the PINN "
            f"paper's cylinder_nektar_wake.mat: X_star ({n}, 2) points (x, y), t ({steps}, 1), "
            f"U_star ({n}, 2, {steps}) velocities (u, v), p_star ({n}, {steps}) pressure. "
            f"Regenerate with `{GENERATOR_COMMAND}`."
        ),
        "re": args.re,
        "nu": nu,
        "lambda1": 1.0,
        "lambda2": nu,
        "frame_velocity": np.asarray(VELOCITY, dtype=np.float64),
        "generator": GENERATOR_COMMAND,
    }
    path = save_reference(args.out, attrs=attrs, **data)
    print(f"wrote {path}: X_star {data['X_star'].shape}, t {data['t'].shape}, "
          f"U_star {data['U_star'].shape}, p_star {data['p_star'].shape}")
    return path


if __name__ == "__main__":
    main()
