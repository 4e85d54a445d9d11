"""Reference solution of the focusing nonlinear Schrödinger equation (Raissi et al.'s ``NLS``).

Problem (all quantities dimensionless)::

    i h_t + 0.5 h_xx + |h|^2 h = 0,   x in [-5, 5) periodic,   t in [0, pi/2],
    h(0, x) = 2 sech(x),

h complex. (On the whole line this is the two-soliton breather of period pi/2; the periodic
continuation of 2 sech(x) has a kink of size 2 * 2 sech(5) tanh(5) ~ 0.054 in slope at x = +-5,
which the benchmark keeps.)

Method: Fourier pseudo-spectral in x with ``refine * 256`` modes (2/3-rule dealiasing of the
cubic term) and ETDRK4 in t (:mod:`pinn.reference.spectral`); the field is sampled on the
benchmark grid x_i = -5 + 10 i / 256 (every ``refine``-th point of the fine grid) and
t_j = (pi/2) j / 200. Written as v = FFT(h)::

    v_t = -0.5 i k^2 v + FFT(i |h|^2 h).

The kink makes the Fourier coefficients decay like k^-2 and the spatial error like N^-1.5:
the default 2048 modes and dt = pi/64000 differ from 4096 modes with dt halved by 1.2e-6
(relative L2 over the grid); the benchmark's own 256-mode data differ by 1.7e-5.

Regenerate the packaged file with ``python -m pinn.reference.nls``.
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
    "X_MIN",
    "X_MAX",
    "T_FINAL",
    "N_X",
    "N_T",
    "DEFAULT_REFINE",
    "DEFAULT_STEPS_PER_OUTPUT",
    "DEFAULT_OUT",
    "GENERATOR_COMMAND",
    "nls_initial_condition",
    "nls_solution",
    "nls_reference_grid",
    "build_parser",
    "main",
]

#: The periodic domain [X_MIN, X_MAX).
X_MIN: float = -5.0
X_MAX: float = 5.0
#: Final time pi / 2.
T_FINAL: float = np.pi / 2
#: The benchmark grid: 256 points in x, 201 times.
N_X: int = 256
N_T: int = 201
#: Fourier modes per grid point (2048 modes) and ETDRK4 steps per stored time (dt = pi / 64000).
DEFAULT_REFINE: int = 8
DEFAULT_STEPS_PER_OUTPUT: int = 160
#: Where ``main`` writes by default: the repository's ``data/NLS.h5`` in a source checkout, else
#: ``NLS.h5`` in the current folder.
DEFAULT_OUT: Path = default_out("NLS.h5")
GENERATOR_COMMAND: str = "python -m pinn.reference.nls"

_WHERE = "nls_solution"


def nls_initial_condition(x: np.ndarray) -> np.ndarray:
    """h(0, x) = 2 sech(x) for (n,) positions; returns (n,) complex128."""
    return (2.0 / np.cosh(np.asarray(x, dtype=np.float64))).astype(np.complex128)


def nls_solution(
    n_x: int = N_X,
    n_t: int = N_T,
    t_final: float = T_FINAL,
    *,
    refine: int = DEFAULT_REFINE,
    steps_per_output: int = DEFAULT_STEPS_PER_OUTPUT,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Solve the NLS benchmark and sample h on an ``n_x`` by ``n_t`` grid.

    Args:
        n_x: output points in x (even, >= 4): x_i = -5 + 10 i / n_x.
        n_t: output times (>= 2): ``np.linspace(0, t_final, n_t)``.
        t_final: final time > 0.
        refine: the solver uses ``refine * n_x`` Fourier modes (at most 65536).
        steps_per_output: ETDRK4 steps between output times.

    Returns:
        x: (n_x,) float64; t: (n_t,) float64; h: (n_x, n_t) complex128, ``h[i, j] = h(x_i, t_j)``.

    Raises:
        ValueError: an argument out of range (the message names it), or the solution stopped
            being finite.
    """
    n_x, n_t, t_final, refine, steps_per_output = check_solver_arguments(
        _WHERE, n_x, n_t, t_final, refine, steps_per_output)
    n = refine * n_x
    x = periodic_grid(n, X_MIN, X_MAX)
    k = wavenumbers(n, X_MAX - X_MIN)
    mask = dealias_mask(n)
    linear = -0.5j * k**2

    def nonlinear(v: np.ndarray) -> np.ndarray:
        h = np.fft.ifft(v)
        return mask * np.fft.fft(1j * (h.real**2 + h.imag**2) * h)

    h = evolve(nls_initial_condition(x), linear, nonlinear, t_final, n_t, steps_per_output,
               real=False)
    return x[::refine].copy(), np.linspace(0.0, t_final, n_t), h[::refine].copy()


def nls_reference_grid(
    refine: int = DEFAULT_REFINE, steps_per_output: int = DEFAULT_STEPS_PER_OUTPUT
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The solution on the benchmark grid of Raissi et al.

    Returns:
        x: (256,) -5 + 10 i / 256 (in [-5, 5)); t: (201,) ``np.linspace(0, pi/2, 201)``;
        h: (256, 201) complex128.
    """
    return nls_solution(N_X, N_T, T_FINAL, refine=refine, steps_per_output=steps_per_output)


def build_parser(prog: str | None = None):
    """The command line of :func:`main` (``--out``, ``--refine``, ``--steps-per-output``)."""
    return generator_parser(
        prog or GENERATOR_COMMAND,
        "Write the reference solution of i h_t + 0.5 h_xx + |h|^2 h = 0, h(0, x) = 2 sech(x), "
        "periodic on [-5, 5), on the NLS grid (x: 256 points, t: 201 times in [0, pi/2]) to HDF5.",
        DEFAULT_OUT, DEFAULT_REFINE, DEFAULT_STEPS_PER_OUTPUT,
    )


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> Path:
    """Command line: write the reference grid to an HDF5 file (``python -m pinn.reference.nls``).

    Datasets: ``x`` (256,), ``tt`` (201,), ``uu`` (256, 201) complex128 (the names of the
    original benchmark file). Returns the path written.

    Raises:
        SystemExit: bad flags (status 2, one line on stderr) or ``--help`` (status 0).
    """

    def describe(modes: int, dt: float) -> dict:
        return {
            "description": (
                "Reference solution of the nonlinear Schroedinger equation i h_t + 0.5 h_xx + |h|^2 h "
                "= 0, h(0, x) = 2 sech(x), periodic on x in [-5, 5), t in [0, pi/2], by Fourier "
                f"pseudo-spectral ({modes} modes, 2/3-rule dealiasing) and ETDRK4 "
                f"(dt = pi/2 / {round(T_FINAL / dt)}). Datasets: x (256,), tt (201,), "
                "uu (256, 201) complex with uu[i, j] = h(x[i], tt[j]) = u + i v. "
                f"Regenerate with `{GENERATOR_COMMAND}`."
            ),
            "equation": "i h_t + 0.5 h_xx + |h|^2 h = 0, h(0, x) = 2 sech(x), periodic on [-5, 5)",
        }

    return run_generator(build_parser(prog), argv, nls_reference_grid, describe, GENERATOR_COMMAND,
                         T_FINAL, N_T)


if __name__ == "__main__":
    main()
