"""Fourier pseudo-spectral discretisation and the ETDRK4 time integrator for periodic 1-D PDEs.

The reference solvers of :mod:`pinn.reference.nls`, :mod:`pinn.reference.allen_cahn` and
:mod:`pinn.reference.kdv` all have the form::

    v_t = L v + N(v),   v = the Fourier coefficients of u(t, x) on a periodic grid,

with a diagonal (in Fourier space), stiff linear part ``L`` and a non-stiff nonlinear part ``N``
evaluated pseudo-spectrally (products in physical space, derivatives in Fourier space).
ETDRK4 (Cox & Matthews 2002) integrates ``L`` exactly; the phi functions of its coefficients are
evaluated by the contour integral of Kassam & Trefethen (SIAM J. Sci. Comput. 26, 2005), which
avoids the cancellation of the explicit formulas for small ``|dt L|``.

Public functions:
    periodic_grid(n, x_min, x_max) -> x (n,)
    wavenumbers(n, length, real=False) -> k
    dealias_mask(n, real=False, fraction=2/3) -> mask
    spectral_derivative(u, length, order=1, axis=0) -> d^order u / dx^order
    etdrk4_coefficients(linear, dt, contour_points=64) -> ETDRK4Coefficients
    etdrk4_step(v, nonlinear, coefficients) -> v after one step
    etdrk4_integrate(v0, linear, nonlinear, dt, n_steps, save_every=1) -> snapshots
    evolve(u0, linear, nonlinear, t_final, n_t, steps_per_output, real) -> (n, n_t) field

Command-line helpers of the generators (``python -m pinn.reference.nls`` etc.):
    default_out(filename) -> Path
    generator_parser(prog, description, default_out, refine, steps_per_output) -> parser
    run_generator(parser, argv, solve, describe, command, t_final, n_t) -> Path (the body of
        every generator's ``main``)
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

import numpy as np
import numpy.typing as npt

__all__ = [
    "DEFAULT_CONTOUR_POINTS",
    "ETDRK4Coefficients",
    "periodic_grid",
    "wavenumbers",
    "dealias_mask",
    "spectral_derivative",
    "etdrk4_coefficients",
    "etdrk4_step",
    "etdrk4_integrate",
    "evolve",
    "default_out",
    "generator_parser",
    "check_int",
    "check_positive_float",
    "check_solver_arguments",
    "MAX_MODES",
]

#: Points on the contour (a unit circle around each dt * L_k) of the phi-function evaluation.
#: The trapezoidal rule on the circle converges geometrically; 64 points give ~1e-15 relative.
DEFAULT_CONTOUR_POINTS: int = 64

#: N(v) -> dv/dt contribution, both Fourier coefficient arrays of the same shape.
Nonlinear = Callable[[np.ndarray], np.ndarray]


# -- argument checks shared by the solvers --------------------------------------------------------


def check_int(where: str, name: str, value: object, minimum: int, even: bool = False) -> int:
    """``value`` as an int >= ``minimum`` (even if asked), else ValueError naming ``where(name)``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{where}({name}): expected an integer, got {value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{where}({name}): expected an integer >= {minimum}, got {value}")
    if even and value % 2:
        raise ValueError(f"{where}({name}): expected an even integer, got {value}")
    return value


def check_positive_float(where: str, name: str, value: object) -> float:
    """``value`` as a finite float > 0, else ValueError naming ``where(name)``."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{where}({name}): expected a positive number, got {value!r}") from None
    if isinstance(value, bool) or not (math.isfinite(number) and number > 0):
        raise ValueError(f"{where}({name}): expected a positive finite number, got {value!r}")
    return number


#: Largest number of Fourier modes a solver accepts (the ETDRK4 contour arrays take
#: 16 * DEFAULT_CONTOUR_POINTS bytes per mode: 64 MiB at this size).
MAX_MODES: int = 65536


def check_solver_arguments(
    where: str, n_x: int, n_t: int, t_final: float, refine: int, steps_per_output: int
) -> tuple[int, int, float, int, int]:
    """Validate the grid and resolution arguments of a reference solver.

    Returns:
        The arguments as (int, int, float, int, int).

    Raises:
        ValueError: n_x not an even integer >= 4, n_t < 2, t_final not positive and finite,
            refine or steps_per_output < 1, or refine * n_x > :data:`MAX_MODES`; the message
            names the argument as ``where(name)``.
    """
    n_x = check_int(where, "n_x", n_x, 4, even=True)
    n_t = check_int(where, "n_t", n_t, 2)
    t_final = check_positive_float(where, "t_final", t_final)
    refine = check_int(where, "refine", refine, 1)
    steps_per_output = check_int(where, "steps_per_output", steps_per_output, 1)
    if refine * n_x > MAX_MODES:
        raise ValueError(
            f"{where}(refine): refine * n_x = {refine * n_x} Fourier modes exceeds {MAX_MODES}")
    return n_x, n_t, t_final, refine, steps_per_output


# -- grids and differentiation --------------------------------------------------------------------


def periodic_grid(n: int, x_min: float, x_max: float) -> np.ndarray:
    """The ``n`` points ``x_min + (x_max - x_min) j / n``, j = 0..n-1 (``x_max`` excluded).

    Returns:
        (n,) float64, in the units of ``x_min``/``x_max``.
    """
    n = check_int("periodic_grid", "n", n, 1)
    if not (math.isfinite(x_min) and math.isfinite(x_max) and x_max > x_min):
        raise ValueError(f"periodic_grid(x_max): expected x_min < x_max, got [{x_min}, {x_max}]")
    return x_min + (x_max - x_min) * np.arange(n, dtype=np.float64) / n


def wavenumbers(n: int, length: float, real: bool = False) -> np.ndarray:
    """Angular wavenumbers of the DFT of ``n`` samples over a period ``length``.

    Args:
        n: number of grid points (even).
        length: the period, in units of x; the wavenumbers are in 1 / (units of x).
        real: layout of ``numpy.fft.rfft`` ((n // 2 + 1,), k >= 0) instead of ``numpy.fft.fft``
            ((n,), numpy's ``fftfreq`` order).

    Returns:
        k = 2 pi m / length for the integer frequencies m. The Nyquist mode m = -n/2 (or n/2 for
        ``real``) keeps its value; odd derivatives should zero it (see :func:`spectral_derivative`).
    """
    n = check_int("wavenumbers", "n", n, 2, even=True)
    length = check_positive_float("wavenumbers", "length", length)
    m = np.fft.rfftfreq(n, 1.0 / n) if real else np.fft.fftfreq(n, 1.0 / n)
    return (2.0 * np.pi / length) * m


def dealias_mask(n: int, real: bool = False, fraction: float = 2.0 / 3.0) -> np.ndarray:
    """Mask keeping the modes with ``|m| < fraction * n / 2`` (Orszag's 2/3 rule by default).

    Returns:
        (n,) or (n // 2 + 1,) bool (layout as :func:`wavenumbers`).
    """
    n = check_int("dealias_mask", "n", n, 2, even=True)
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"dealias_mask(fraction): expected a number in (0, 1], got {fraction}")
    m = np.fft.rfftfreq(n, 1.0 / n) if real else np.fft.fftfreq(n, 1.0 / n)
    mask = np.abs(m) < fraction * n / 2.0
    if fraction == 1.0:
        mask[:] = True
    return mask


def spectral_derivative(
    u: npt.ArrayLike, length: float, order: int = 1, axis: int = 0
) -> np.ndarray:
    """The ``order``-th x derivative of periodic samples by Fourier differentiation.

    Args:
        u: samples on :func:`periodic_grid` along ``axis`` (an even number of them), real or
            complex, any other axes.
        length: the period, in units of x.
        order: derivative order >= 0; odd orders zero the Nyquist mode.
        axis: the x axis of ``u``.

    Returns:
        Array of the shape of ``u``, in (units of u) / (units of x)^order; real when ``u`` is.
    """
    array = np.asarray(u)
    order = check_int("spectral_derivative", "order", order, 0)
    n = array.shape[axis]
    real = not np.iscomplexobj(array)
    k = wavenumbers(n, length, real=real)
    symbol = (1j * k) ** order
    if order % 2:
        symbol[n // 2] = 0.0  # the Nyquist mode, in both the fft and the rfft layout
    shape = [1] * array.ndim
    shape[axis] = k.size
    symbol = symbol.reshape(shape)
    if real:
        return np.fft.irfft(symbol * np.fft.rfft(array, axis=axis), n=n, axis=axis)
    return np.fft.ifft(symbol * np.fft.fft(array, axis=axis), axis=axis)


# -- ETDRK4 ---------------------------------------------------------------------------------------


class ETDRK4Coefficients(NamedTuple):
    """The diagonal ETDRK4 coefficients of one step ``dt`` (each of the shape of ``linear``).

    ``e = exp(dt L)``, ``e_half = exp(dt L / 2)``, ``q = dt phi_1(dt L / 2) / 2`` and the weights
    ``f1, f2, f3`` of Cox & Matthews' final stage (Kassam & Trefethen's f1, f2, f3 times dt).
    """

    e: np.ndarray
    e_half: np.ndarray
    q: np.ndarray
    f1: np.ndarray
    f2: np.ndarray
    f3: np.ndarray


def etdrk4_coefficients(
    linear: npt.ArrayLike, dt: float, contour_points: int = DEFAULT_CONTOUR_POINTS
) -> ETDRK4Coefficients:
    """ETDRK4 coefficients for the diagonal linear operator ``linear`` and step ``dt``.

    The phi-function combinations are the means over ``contour_points`` points of the circle of
    radius 1 around each ``dt * L_k`` (Kassam & Trefethen 2005), exact to rounding for any
    ``dt * L_k``, including 0 and large negative or imaginary values.

    Args:
        linear: (n,) the symbol L_k of the linear part, in 1 / (units of t); real or complex.
        dt: the time step > 0, in units of t.
        contour_points: points on each circle, >= 8.

    Returns:
        :class:`ETDRK4Coefficients`, real when ``linear`` is real, else complex.
    """
    dt = check_positive_float("etdrk4_coefficients", "dt", dt)
    contour_points = check_int("etdrk4_coefficients", "contour_points", contour_points, 8)
    lin = np.asarray(linear)
    if lin.ndim != 1 or not np.all(np.isfinite(lin)):
        raise ValueError(
            f"etdrk4_coefficients(linear): expected a finite 1-D array, got shape {lin.shape}")
    z = dt * lin.astype(np.complex128)
    roots = np.exp(2j * np.pi * (np.arange(1, contour_points + 1) - 0.5) / contour_points)
    zr = z[:, None] + roots[None, :]  # (n, M) points on the circles
    ezr = np.exp(zr)
    q = dt * np.mean((np.exp(zr / 2.0) - 1.0) / zr, axis=1)
    f1 = dt * np.mean((-4.0 - zr + ezr * (4.0 - 3.0 * zr + zr**2)) / zr**3, axis=1)
    f2 = dt * np.mean((2.0 + zr + ezr * (zr - 2.0)) / zr**3, axis=1)
    f3 = dt * np.mean((-4.0 - 3.0 * zr - zr**2 + ezr * (4.0 - zr)) / zr**3, axis=1)
    e, e_half = np.exp(z), np.exp(z / 2.0)
    coefficients = (e, e_half, q, f1, f2, f3)
    if not np.iscomplexobj(lin):
        coefficients = tuple(c.real.copy() for c in coefficients)
    return ETDRK4Coefficients(*coefficients)


def etdrk4_step(v: np.ndarray, nonlinear: Nonlinear, c: ETDRK4Coefficients) -> np.ndarray:
    """One ETDRK4 step (Cox & Matthews 2002) of ``v_t = L v + N(v)`` from ``v``."""
    nv = nonlinear(v)
    a = c.e_half * v + c.q * nv
    na = nonlinear(a)
    b = c.e_half * v + c.q * na
    nb = nonlinear(b)
    cc = c.e_half * a + c.q * (2.0 * nb - nv)
    nc = nonlinear(cc)
    return c.e * v + c.f1 * nv + 2.0 * c.f2 * (na + nb) + c.f3 * nc


def etdrk4_integrate(
    v0: npt.ArrayLike,
    linear: npt.ArrayLike,
    nonlinear: Nonlinear,
    dt: float,
    n_steps: int,
    save_every: int = 1,
    contour_points: int = DEFAULT_CONTOUR_POINTS,
) -> np.ndarray:
    """Integrate ``v_t = L v + N(v)`` with ``n_steps`` ETDRK4 steps of size ``dt``.

    Args:
        v0: (n,) initial Fourier coefficients (any layout matching ``linear``).
        linear: (n,) diagonal symbol L_k, in 1 / (units of t).
        nonlinear: N(v) -> (n,) array, the nonlinear term in Fourier space (autonomous).
        dt: step > 0, in units of t.
        n_steps: number of steps >= 1; a multiple of ``save_every``.
        save_every: store every ``save_every``-th step.
        contour_points: see :func:`etdrk4_coefficients`.

    Returns:
        (n_steps // save_every + 1, n) the coefficients at t = 0, save_every dt, ..., n_steps dt.

    Raises:
        ValueError: bad step counts, or the solution stopped being finite (the message names
            the step).
    """
    n_steps = check_int("etdrk4_integrate", "n_steps", n_steps, 1)
    save_every = check_int("etdrk4_integrate", "save_every", save_every, 1)
    if n_steps % save_every:
        raise ValueError(
            f"etdrk4_integrate(save_every): {save_every} does not divide n_steps={n_steps}")
    coefficients = etdrk4_coefficients(linear, dt, contour_points)
    v = np.asarray(v0)
    dtype = np.result_type(v, coefficients.e, np.float64)
    v = v.astype(dtype)
    if v.shape != coefficients.e.shape:
        raise ValueError(
            f"etdrk4_integrate(v0): shape {v.shape} does not match linear {coefficients.e.shape}")
    out = np.empty((n_steps // save_every + 1, v.size), dtype=dtype)
    out[0] = v
    with np.errstate(over="ignore", invalid="ignore"):  # a blow-up is reported below
        for step in range(1, n_steps + 1):
            v = etdrk4_step(v, nonlinear, coefficients)
            if step % save_every == 0:
                if not np.all(np.isfinite(v)):
                    raise ValueError(
                        f"etdrk4_integrate: the solution is not finite after step {step} "
                        f"(dt = {dt}); use a smaller dt or more modes")
                out[step // save_every] = v
    return out


def evolve(
    u0: npt.ArrayLike,
    linear: npt.ArrayLike,
    nonlinear: Nonlinear,
    t_final: float,
    n_t: int,
    steps_per_output: int,
    real: bool,
    contour_points: int = DEFAULT_CONTOUR_POINTS,
) -> np.ndarray:
    """Solve ``u_t = L u + N(u)`` from the samples ``u0`` and return the field on ``n_t`` times.

    Args:
        u0: (n,) initial values on :func:`periodic_grid` (real when ``real``).
        linear: the symbol L_k, (n // 2 + 1,) (``real``: numpy.fft.rfft layout) or (n,).
        nonlinear: N in Fourier space, same layout as ``linear``.
        t_final: the final time > 0, in units of t.
        n_t: output times ``np.linspace(0, t_final, n_t)``, >= 2.
        steps_per_output: ETDRK4 steps between outputs, dt = t_final / ((n_t - 1) steps_per_output).
        real: whether u is real (rfft layout) or complex (fft layout).

    Returns:
        (n, n_t) ``u[i, j] = u(x_i, t_j)``, float64 when ``real`` else complex128.
    """
    u0 = np.asarray(u0)
    n = u0.shape[0]
    steps = (n_t - 1) * steps_per_output
    dt = t_final / steps
    if real:
        v0 = np.fft.rfft(u0.astype(np.float64))
        snapshots = etdrk4_integrate(v0, linear, nonlinear, dt, steps, steps_per_output,
                                     contour_points)
        return np.fft.irfft(snapshots, n=n, axis=1).T.copy()
    v0 = np.fft.fft(u0.astype(np.complex128))
    snapshots = etdrk4_integrate(v0, linear, nonlinear, dt, steps, steps_per_output, contour_points)
    return np.fft.ifft(snapshots, axis=1).T.copy()


# -- command line ---------------------------------------------------------------------------------


def default_out(filename: str) -> Path:
    """``data/<filename>`` of the repository when pinn runs from a source checkout, else
    ``<filename>`` in the current folder (an installed pinn never writes into site-packages)."""
    from pinn.data import SOURCE_DATA_DIR

    if SOURCE_DATA_DIR is not None:
        return SOURCE_DATA_DIR / filename
    return Path(filename)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text}")
    return value


def _hdf5_path(text: str) -> Path:
    path = Path(text)
    if not text or path.suffix.lower() not in (".h5", ".hdf5"):
        raise argparse.ArgumentTypeError(f"expected an .h5 or .hdf5 file path, got {text!r}")
    return path


def generator_parser(
    prog: str, description: str, out: Path, refine: int, steps_per_output: int
) -> argparse.ArgumentParser:
    """The command line shared by the spectral generators: ``--out``, ``--refine``,
    ``--steps-per-output`` (one-line errors, exit status 2)."""
    from pinn.settings import OneLineArgumentParser

    parser = OneLineArgumentParser(prog=prog, description=description)
    parser.add_argument("--out", type=_hdf5_path, default=out,
                        help=f"output .h5 file (default: {out})")
    parser.add_argument("--refine", type=_positive_int, default=refine,
                        help="Fourier modes per output grid point; the solver uses refine * n_x "
                        f"modes and keeps every refine-th point (default: {refine})")
    parser.add_argument("--steps-per-output", type=_positive_int, default=steps_per_output,
                        help=f"ETDRK4 steps between stored times (default: {steps_per_output})")
    return parser


def run_generator(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    solve: Callable[[int, int], tuple[np.ndarray, np.ndarray, np.ndarray]],
    describe: Callable[[int, float], dict],
    command: str,
    t_final: float,
    n_t: int,
) -> Path:
    """The body of every spectral generator's ``main``: parse ``argv`` with ``parser`` (from
    :func:`generator_parser`), solve, and write the datasets ``x``, ``tt``, ``uu`` to ``--out``.

    Args:
        solve: ``(refine, steps_per_output) -> (x (n_x,), t (n_t,), u (n_x, n_t))``.
        describe: ``(modes, dt) -> attrs`` (``description``, ``equation``, coefficients...); the
            file's attributes also get ``modes``, ``dt`` and ``generator`` (= ``command``).
        t_final, n_t: the stored time grid, to state the ETDRK4 step ``dt``.

    Returns:
        The path written. Bad flags exit with status 2 (one line on stderr).
    """
    from pinn.data import save_reference

    args = parser.parse_args(argv)
    x, t, u = solve(args.refine, args.steps_per_output)
    modes = args.refine * x.shape[0]
    dt = t_final / ((n_t - 1) * args.steps_per_output)
    attrs = {**describe(modes, dt), "modes": modes, "dt": dt, "generator": command}
    path = save_reference(args.out, attrs=attrs, x=x, tt=t, uu=u)
    kind = " complex" if np.iscomplexobj(u) else ""
    print(f"wrote {path}: x {x.shape}, tt {t.shape}, uu {u.shape}{kind}")
    return path
