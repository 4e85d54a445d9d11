"""Exact solution of the viscous Burgers equation (Raissi et al.'s ``burgers_shock`` benchmark).

Problem (all quantities dimensionless)::

    u_t + u u_x = nu u_xx,   x in [-1, 1],  t >= 0,
    u(0, x) = -sin(pi x),    u(t, -1) = u(t, 1) = 0,   nu = 0.01 / pi.

The Hopf–Cole transformation u = -2 nu phi_x / phi turns it into the heat equation; with the
initial data extended periodically (odd and 2-periodic, so the boundary conditions hold
automatically) the solution is::

    u(x, t) = - ∫ sin(pi (x - eta)) f(x - eta) exp(-eta^2 / (4 nu t)) d eta
                / ∫ f(x - eta) exp(-eta^2 / (4 nu t)) d eta,
    f(y) = exp(-cos(pi y) / (2 pi nu)).

Substituting eta = sqrt(4 nu t) z turns both integrals into Gauss–Hermite quadratures
(weight exp(-z^2)). f spans exp(±1/(2 pi nu)) = exp(±50) for the default nu, so it is evaluated
in log form with the per-point maximum factored out (the factor cancels in the ratio).

Regenerate the packaged file with ``python -m pinn.reference.burgers``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

import numpy as np
import numpy.typing as npt

__all__ = [
    "NU",
    "DEFAULT_QUADRATURE_POINTS",
    "DEFAULT_OUT",
    "burgers_solution",
    "burgers_reference_grid",
    "main",
]

#: Viscosity of the benchmark, 0.01 / pi.
NU: float = 0.01 / np.pi
#: Gauss–Hermite nodes. 70 already match the paper's file to 4.2e-11 (its own accuracy); 100
#: agree with 200 or 300 nodes to 2e-15 on the paper's grid. numpy's hermgauss overflows above
#: about 370 nodes.
DEFAULT_QUADRATURE_POINTS: int = 100
_MAX_QUADRATURE_POINTS: int = 300


def _default_out() -> Path:
    from pinn.data import SOURCE_DATA_DIR

    if SOURCE_DATA_DIR is not None:  # a source checkout: regenerate the repository's file
        return SOURCE_DATA_DIR / "burgers_shock.h5"
    return Path("burgers_shock.h5")  # an installed pinn: never write into site-packages


#: Where ``main`` writes by default: ``data/burgers_shock.h5`` of the repository when pinn runs
#: from a source checkout, else ``burgers_shock.h5`` in the current folder.
DEFAULT_OUT: Path = _default_out()
GENERATOR_COMMAND: str = "python -m pinn.reference.burgers"


def _as_1d(name: str, value: npt.ArrayLike) -> np.ndarray:
    array = np.atleast_1d(np.asarray(value, dtype=np.float64))
    if array.ndim != 1:
        raise ValueError(f"burgers_solution({name}): expected a 1-D array, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"burgers_solution({name}): values must be finite")
    return array


def burgers_solution(
    x: npt.ArrayLike,
    t: npt.ArrayLike,
    nu: float = NU,
    quadrature_points: int = DEFAULT_QUADRATURE_POINTS,
) -> np.ndarray:
    """Exact Burgers solution u(x, t) on the tensor grid of ``x`` and ``t``.

    Args:
        x: (n_x,) positions, dimensionless; the formula is valid on [-1, 1] (outside it gives
            the odd 2-periodic continuation).
        t: (n_t,) times >= 0, dimensionless; at t == 0 the initial condition -sin(pi x) is
            returned exactly.
        nu: viscosity > 0 (default 0.01 / pi).
        quadrature_points: Gauss–Hermite nodes, 1 to 300 (100 converge to ~2e-15 for the
            default nu on t <= 1).

    Returns:
        (n_x, n_t) array, ``u[i, j] = u(x[i], t[j])``, float64.

    Raises:
        ValueError: x or t not 1-D or not finite, t negative, nu not positive, or
            quadrature_points out of range.
    """
    x = _as_1d("x", x)
    t = _as_1d("t", t)
    if np.any(t < 0):
        raise ValueError(f"burgers_solution(t): times must be >= 0, got min {t.min()}")
    nu = float(nu)
    if not (np.isfinite(nu) and nu > 0):
        raise ValueError(f"burgers_solution(nu): expected a positive finite viscosity, got {nu}")
    if (
        isinstance(quadrature_points, bool)
        or not isinstance(quadrature_points, (int, np.integer))
        or not 1 <= quadrature_points <= _MAX_QUADRATURE_POINTS
    ):
        raise ValueError(
            "burgers_solution(quadrature_points): expected an integer in "
            f"[1, {_MAX_QUADRATURE_POINTS}], got {quadrature_points!r}"
        )

    z, w = np.polynomial.hermite.hermgauss(int(quadrature_points))
    with np.errstate(divide="ignore"):  # a weight that underflowed to 0 contributes nothing
        log_w = np.log(w)
    out = np.empty((x.size, t.size), dtype=np.float64)
    for j, tj in enumerate(t):  # one (n_x, n_q) block per time keeps memory small
        if tj == 0.0:
            out[:, j] = -np.sin(np.pi * x)
            continue
        y = x[:, None] - np.sqrt(4.0 * nu * tj) * z[None, :]  # (n_x, n_q) = x - eta
        # log(w f(y)) up to the constant 1/(2 pi nu): -(cos(pi y) + 1) / (2 pi nu) <= 0
        log_wf = log_w[None, :] - (np.cos(np.pi * y) + 1.0) / (2.0 * np.pi * nu)
        wf = np.exp(log_wf - log_wf.max(axis=1, keepdims=True))  # max term is 1: no overflow
        out[:, j] = -np.sum(np.sin(np.pi * y) * wf, axis=1) / np.sum(wf, axis=1)
    return out


def burgers_reference_grid(
    quadrature_points: int = DEFAULT_QUADRATURE_POINTS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The exact solution on the grid of Raissi et al.'s ``burgers_shock.mat``.

    Returns:
        x: (256,) ``np.linspace(-1, 1, 256)``.
        t: (100,) ``np.linspace(0, 0.99, 100)``, i.e. 0, 0.01, ..., 0.99.
        usol: (256, 100) u(x_i, t_j) for nu = 0.01 / pi.
    """
    x = np.linspace(-1.0, 1.0, 256)
    t = np.linspace(0.0, 0.99, 100)
    return x, t, burgers_solution(x, t, nu=NU, quadrature_points=quadrature_points)


def _quadrature_points(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not 1 <= value <= _MAX_QUADRATURE_POINTS:
        raise argparse.ArgumentTypeError(
            f"expected an integer in [1, {_MAX_QUADRATURE_POINTS}], got {text}")
    return value


def _hdf5_path(text: str) -> Path:
    path = Path(text)
    if not text or path.suffix.lower() not in (".h5", ".hdf5"):
        raise argparse.ArgumentTypeError(f"expected an .h5 or .hdf5 file path, got {text!r}")
    return path


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The command line of :func:`main` (``pinn data burgers`` uses it too)."""
    from pinn.settings import OneLineArgumentParser

    parser = OneLineArgumentParser(
        prog=prog or GENERATOR_COMMAND,
        description="Write the exact viscous Burgers solution (Hopf-Cole, Gauss-Hermite) on the "
        "burgers_shock grid (x: 256 points in [-1, 1], t = 0, 0.01, ..., 0.99) to HDF5.",
    )
    parser.add_argument(
        "--out", type=_hdf5_path, default=DEFAULT_OUT, help=f"output .h5 file (default: {DEFAULT_OUT})"
    )
    parser.add_argument(
        "--quadrature-points",
        type=_quadrature_points,
        default=DEFAULT_QUADRATURE_POINTS,
        help=f"Gauss-Hermite nodes, 1 to {_MAX_QUADRATURE_POINTS} (default: {DEFAULT_QUADRATURE_POINTS})",
    )
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> Path:
    """Command line: write the reference grid to an HDF5 file (``python -m pinn.reference.burgers``,
    ``pinn data burgers``).

    Args:
        argv: the flags (default ``sys.argv[1:]``).
        prog: the program name in usage and errors (default ``python -m pinn.reference.burgers``).

    Returns:
        The path written.

    Raises:
        SystemExit: bad flags (status 2, one line on stderr) or ``--help`` (status 0).
    """
    from pinn.data import save_reference

    parser = build_parser(prog)
    args = parser.parse_args(argv)

    x, t, usol = burgers_reference_grid(quadrature_points=args.quadrature_points)
    attrs = {
        "description": (
            "Exact solution of u_t + u u_x = nu u_xx on x in [-1, 1], u(0, x) = -sin(pi x), "
            "u(t, +-1) = 0, nu = 0.01/pi, by the Hopf-Cole transformation with Gauss-Hermite "
            f"quadrature ({args.quadrature_points} nodes). Datasets: x (256,), t (100,), "
            f"usol (256, 100) with usol[i, j] = u(x[i], t[j]). Regenerate with `{GENERATOR_COMMAND}`."
        ),
        "nu": NU,
        "quadrature_points": args.quadrature_points,
        "generator": GENERATOR_COMMAND,
    }
    path = save_reference(args.out, attrs=attrs, x=x, t=t, usol=usol)
    print(f"wrote {path}: x {x.shape}, t {t.shape}, usol {usol.shape}")
    return path


if __name__ == "__main__":
    main()
