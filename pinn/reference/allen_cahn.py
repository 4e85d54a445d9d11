"""Reference solution of the Allen–Cahn equation (Raissi et al.'s ``AC`` benchmark).

Problem (all quantities dimensionless)::

    u_t - 0.0001 u_xx + 5 u^3 - 5 u = 0,   x in [-1, 1) periodic,   t in [0, 1],
    u(0, x) = x^2 cos(pi x).

(The periodic continuation of x^2 cos(pi x) is continuous, u = -1 at x = +-1, but its slope
jumps from -2 to +2 there; the benchmark keeps this kink, which diffusion smooths out slowly.)

Method: Fourier pseudo-spectral in x with ``refine * 512`` modes (2/3-rule dealiasing of the
cubic term) and ETDRK4 in t (:mod:`pinn.reference.spectral`); the field is sampled on the
benchmark grid x_i = -1 + 2 i / 512 (every ``refine``-th point of the fine grid) and
t_j = j / 200. With v = rFFT(u)::

    v_t = (5 - 0.0001 k^2) v - 5 rFFT(u^3).

The kink makes the spatial error decay algebraically: 512 modes are off by ~1e-5 relative L2
(up to 9e-4 near x = +-1 at early times); the default 8192 modes and dt = 1/2000 are within
~1e-7 relative L2 of the converged solution.

Regenerate the packaged file with ``python -m pinn.reference.allen_cahn``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from pinn.reference.spectral import (
    check_solver_arguments,
    dealias_mask,
    default_out,
    evolve,
    generator_parser,
    run_generator,
    periodic_grid,
    wavenumbers,
)

__all__ = [
    "DIFFUSION",
    "REACTION",
    "X_MIN",
    "X_MAX",
    "T_FINAL",
    "N_X",
    "N_T",
    "DEFAULT_REFINE",
    "DEFAULT_STEPS_PER_OUTPUT",
    "DEFAULT_OUT",
    "GENERATOR_COMMAND",
    "allen_cahn_initial_condition",
    "allen_cahn_solution",
    "allen_cahn_reference_grid",
    "build_parser",
    "main",
]

#: Diffusion coefficient (of u_xx) and reaction rate (of u - u^3).
DIFFUSION: float = 1e-4
REACTION: float = 5.0
#: The periodic domain [X_MIN, X_MAX).
X_MIN: float = -1.0
X_MAX: float = 1.0
#: Final time.
T_FINAL: float = 1.0
#: The benchmark grid: 512 points in x, 201 times.
N_X: int = 512
N_T: int = 201
#: Fourier modes per grid point (8192 modes) and ETDRK4 steps per stored time (dt = 1/2000).
DEFAULT_REFINE: int = 16
DEFAULT_STEPS_PER_OUTPUT: int = 10
#: Where ``main`` writes by default: the repository's ``data/AC.h5`` in a source checkout, else
#: ``AC.h5`` in the current folder.
DEFAULT_OUT: Path = default_out("AC.h5")
GENERATOR_COMMAND: str = "python -m pinn.reference.allen_cahn"

_WHERE = "allen_cahn_solution"


def allen_cahn_initial_condition(x: np.ndarray) -> np.ndarray:
    """u(0, x) = x^2 cos(pi x) for (n,) positions; returns (n,) float64."""
    x = np.asarray(x, dtype=np.float64)
    return x**2 * np.cos(np.pi * x)


def allen_cahn_solution(
    n_x: int = N_X,
    n_t: int = N_T,
    t_final: float = T_FINAL,
    *,
    refine: int = DEFAULT_REFINE,
    steps_per_output: int = DEFAULT_STEPS_PER_OUTPUT,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Solve the Allen–Cahn benchmark and sample u on an ``n_x`` by ``n_t`` grid.

    Args:
        n_x: output points in x (even, >= 4): x_i = -1 + 2 i / n_x.
        n_t: output times (>= 2): ``np.linspace(0, t_final, n_t)``.
        t_final: final time > 0.
        refine: the solver uses ``refine * n_x`` Fourier modes (at most 65536).
        steps_per_output: ETDRK4 steps between output times (dt above ~0.1 is unstable).

    Returns:
        x: (n_x,) float64; t: (n_t,) float64; u: (n_x, n_t) float64, ``u[i, j] = u(x_i, t_j)``.

    Raises:
        ValueError: an argument out of range (the message names it), or the solution stopped
            being finite.
    """
    n_x, n_t, t_final, refine, steps_per_output = check_solver_arguments(
        _WHERE, n_x, n_t, t_final, refine, steps_per_output)
    n = refine * n_x
    x = periodic_grid(n, X_MIN, X_MAX)
    k = wavenumbers(n, X_MAX - X_MIN, real=True)
    mask = dealias_mask(n, real=True)
    linear = REACTION - DIFFUSION * k**2

    def nonlinear(v: np.ndarray) -> np.ndarray:
        u = np.fft.irfft(v, n=n)
        return mask * np.fft.rfft(-REACTION * u**3)

    u = evolve(allen_cahn_initial_condition(x), linear, nonlinear, t_final, n_t,
               steps_per_output, real=True)
    return x[::refine].copy(), np.linspace(0.0, t_final, n_t), u[::refine].copy()


def allen_cahn_reference_grid(
    refine: int = DEFAULT_REFINE, steps_per_output: int = DEFAULT_STEPS_PER_OUTPUT
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The solution on the benchmark grid of Raissi et al.

    Returns:
        x: (512,) -1 + 2 i / 512 (in [-1, 1)); t: (201,) ``np.linspace(0, 1, 201)``;
        u: (512, 201) float64.
    """
    return allen_cahn_solution(N_X, N_T, T_FINAL, refine=refine,
                               steps_per_output=steps_per_output)


def build_parser(prog: str | None = None):
    """The command line of :func:`main` (``--out``, ``--refine``, ``--steps-per-output``)."""
    return generator_parser(
        prog or GENERATOR_COMMAND,
        "Write the reference solution of u_t - 0.0001 u_xx + 5 u^3 - 5 u = 0, u(0, x) = "
        "x^2 cos(pi x), periodic on [-1, 1), on the AC grid (x: 512 points, t: 201 times in "
        "[0, 1]) to HDF5.",
        DEFAULT_OUT, DEFAULT_REFINE, DEFAULT_STEPS_PER_OUTPUT,
    )


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> Path:
    """Command line: write the reference grid to an HDF5 file
    (``python -m pinn.reference.allen_cahn``).

    Datasets: ``x`` (512,), ``tt`` (201,), ``uu`` (512, 201) (the names of the original
    benchmark file). Returns the path written.

    Raises:
        SystemExit: bad flags (status 2, one line on stderr) or ``--help`` (status 0).
    """

    def describe(modes: int, dt: float) -> dict:
        return {
            "description": (
                "Reference solution of the Allen-Cahn equation u_t - 0.0001 u_xx + 5 u^3 - 5 u = 0, "
                "u(0, x) = x^2 cos(pi x), periodic on x in [-1, 1), t in [0, 1], by Fourier "
                f"pseudo-spectral ({modes} modes, 2/3-rule dealiasing) and ETDRK4 "
                f"(dt = 1 / {round(T_FINAL / dt)}). Datasets: x (512,), tt (201,), "
                f"uu (512, 201) with uu[i, j] = u(x[i], tt[j]). Regenerate with `{GENERATOR_COMMAND}`."
            ),
            "equation": (
                "u_t - 0.0001 u_xx + 5 u^3 - 5 u = 0, u(0, x) = x^2 cos(pi x), periodic on [-1, 1)"),
            "diffusion": DIFFUSION,
            "reaction": REACTION,
        }

    return run_generator(build_parser(prog), argv, allen_cahn_reference_grid, describe,
                         GENERATOR_COMMAND, T_FINAL, N_T)


if __name__ == "__main__":
    main()
