"""Reference solution of the Korteweg–de Vries equation (Raissi et al.'s ``KdV`` benchmark).

Problem (all quantities dimensionless)::

    u_t + u u_x + 0.0025 u_xxx = 0,   x in [-1, 1) periodic,   t in [0, 1],
    u(0, x) = cos(pi x)

(the Zabusky–Kruskal setting with delta^2 = 0.0025: the cosine steepens and breaks up into a
train of solitons).

Method: Fourier pseudo-spectral in x with ``refine * 512`` modes (2/3-rule dealiasing of the
quadratic term, which makes it alias-free) and ETDRK4 in t (:mod:`pinn.reference.spectral`);
the field is sampled on the benchmark grid x_i = -1 + 2 i / 512 (every ``refine``-th point of the
fine grid) and t_j = j / 200. With v = rFFT(u)::

    v_t = 0.0025 i k^3 v - 0.5 i k rFFT(u^2)

(the Nyquist mode of the odd derivatives is zeroed). The solution is smooth: 512 modes are
already converged to rounding and the default dt = 1/8000 is within ~1e-11 relative L2.

Regenerate the packaged file with ``python -m pinn.reference.kdv``.
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
    "DISPERSION",
    "X_MIN",
    "X_MAX",
    "T_FINAL",
    "N_X",
    "N_T",
    "DEFAULT_REFINE",
    "DEFAULT_STEPS_PER_OUTPUT",
    "DEFAULT_OUT",
    "GENERATOR_COMMAND",
    "kdv_initial_condition",
    "kdv_solution",
    "kdv_reference_grid",
    "build_parser",
    "main",
]

#: Dispersion coefficient (of u_xxx).
DISPERSION: float = 0.0025
#: The periodic domain [X_MIN, X_MAX).
X_MIN: float = -1.0
X_MAX: float = 1.0
#: Final time.
T_FINAL: float = 1.0
#: The benchmark grid: 512 points in x, 201 times.
N_X: int = 512
N_T: int = 201
#: Fourier modes per grid point (1024 modes) and ETDRK4 steps per stored time (dt = 1/8000).
DEFAULT_REFINE: int = 2
DEFAULT_STEPS_PER_OUTPUT: int = 40
#: Where ``main`` writes by default: the repository's ``data/KdV.h5`` in a source checkout, else
#: ``KdV.h5`` in the current folder.
DEFAULT_OUT: Path = default_out("KdV.h5")
GENERATOR_COMMAND: str = "python -m pinn.reference.kdv"

_WHERE = "kdv_solution"


def kdv_initial_condition(x: np.ndarray) -> np.ndarray:
    """u(0, x) = cos(pi x) for (n,) positions; returns (n,) float64."""
    return np.cos(np.pi * np.asarray(x, dtype=np.float64))


def kdv_solution(
    n_x: int = N_X,
    n_t: int = N_T,
    t_final: float = T_FINAL,
    *,
    refine: int = DEFAULT_REFINE,
    steps_per_output: int = DEFAULT_STEPS_PER_OUTPUT,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Solve the KdV benchmark and sample u on an ``n_x`` by ``n_t`` grid.

    Args:
        n_x: output points in x (even, >= 4): x_i = -1 + 2 i / n_x.
        n_t: output times (>= 2): ``np.linspace(0, t_final, n_t)``.
        t_final: final time > 0.
        refine: the solver uses ``refine * n_x`` Fourier modes (at most 65536).
        steps_per_output: ETDRK4 steps between output times.

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
    k[-1] = 0.0  # the Nyquist mode of the odd derivatives
    mask = dealias_mask(n, real=True)
    linear = 1j * DISPERSION * k**3
    half_ik = -0.5j * k * mask

    def nonlinear(v: np.ndarray) -> np.ndarray:
        u = np.fft.irfft(v, n=n)
        return half_ik * np.fft.rfft(u * u)

    u = evolve(kdv_initial_condition(x), linear, nonlinear, t_final, n_t, steps_per_output,
               real=True)
    return x[::refine].copy(), np.linspace(0.0, t_final, n_t), u[::refine].copy()


def kdv_reference_grid(
    refine: int = DEFAULT_REFINE, steps_per_output: int = DEFAULT_STEPS_PER_OUTPUT
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The solution on the benchmark grid of Raissi et al.

    Returns:
        x: (512,) -1 + 2 i / 512 (in [-1, 1)); t: (201,) ``np.linspace(0, 1, 201)``;
        u: (512, 201) float64.
    """
    return kdv_solution(N_X, N_T, T_FINAL, refine=refine, steps_per_output=steps_per_output)


def build_parser(prog: str | None = None):
    """The command line of :func:`main` (``--out``, ``--refine``, ``--steps-per-output``)."""
    return generator_parser(
        prog or GENERATOR_COMMAND,
        "Write the reference solution of u_t + u u_x + 0.0025 u_xxx = 0, u(0, x) = cos(pi x), "
        "periodic on [-1, 1), on the KdV grid (x: 512 points, t: 201 times in [0, 1]) to HDF5.",
        DEFAULT_OUT, DEFAULT_REFINE, DEFAULT_STEPS_PER_OUTPUT,
    )


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> Path:
    """Command line: write the reference grid to an HDF5 file (``python -m pinn.reference.kdv``).

    Datasets: ``x`` (512,), ``tt`` (201,), ``uu`` (512, 201) (the names of the original
    benchmark file). Returns the path written.

    Raises:
        SystemExit: bad flags (status 2, one line on stderr) or ``--help`` (status 0).
    """

    def describe(modes: int, dt: float) -> dict:
        return {
            "description": (
                "Reference solution of the Korteweg-de Vries equation u_t + u u_x + 0.0025 u_xxx = 0, "
                "u(0, x) = cos(pi x), periodic on x in [-1, 1), t in [0, 1], by Fourier "
                f"pseudo-spectral ({modes} modes, 2/3-rule dealiasing) and ETDRK4 "
                f"(dt = 1 / {round(T_FINAL / dt)}). Datasets: x (512,), tt (201,), "
                f"uu (512, 201) with uu[i, j] = u(x[i], tt[j]). Regenerate with `{GENERATOR_COMMAND}`."
            ),
            "equation": "u_t + u u_x + 0.0025 u_xxx = 0, u(0, x) = cos(pi x), periodic on [-1, 1)",
            "dispersion": DISPERSION,
        }

    return run_generator(build_parser(prog), argv, kdv_reference_grid, describe, GENERATOR_COMMAND,
                         T_FINAL, N_T)


if __name__ == "__main__":
    main()
