"""Spectral reference solvers: NLS, Allen–Cahn, KdV (pinn.reference.{nls,allen_cahn,kdv,spectral}).

Measured on the shipped files (data/*.h5, default resolutions) against the original papers'
files, relative L2 over the whole grid: NLS 1.7e-5, AC 1.2e-5, KdV 6.5e-12. The first two
differ from the originals by the spatial truncation error of the originals' 256 / 512 modes
(both initial conditions have a slope kink at the periodic boundary, so Fourier convergence is
only algebraic); the shipped files are converged to ~1e-6 (NLS) and ~1e-7 (AC).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

from pinn.data import DATA_DIR, load_reference, load_reference_attrs
from pinn.reference import allen_cahn, kdv, nls
from pinn.reference.spectral import (
    MAX_MODES,
    dealias_mask,
    etdrk4_coefficients,
    etdrk4_integrate,
    periodic_grid,
    spectral_derivative,
    wavenumbers,
)


@dataclass(frozen=True)
class Case:
    """One benchmark: its module, solver, file name, grid, and the cheap settings of the tests."""

    name: str
    module: object
    solve: Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]]
    shape: tuple[int, int]
    x_range: tuple[float, float]
    t_final: float
    complex_field: bool
    #: (refine, steps_per_output) of a ~1 s solve on the full grid, and its measured relative
    #: L2 distance to the shipped file times ~3 (the tolerance of test_shipped_file_matches_coarse_solve).
    coarse: tuple[int, int]
    coarse_rtol: float
    #: (n_x, t_final, steps) of the time-order test; the reference uses 1024 steps.
    order_setup: tuple[int, float, tuple[int, int, int]]


CASES = [
    Case("NLS", nls, nls.nls_solution, (256, 201), (-5.0, 5.0), np.pi / 2, True,
         coarse=(2, 20), coarse_rtol=3e-5, order_setup=(64, 0.25, (16, 32, 64))),
    Case("AC", allen_cahn, allen_cahn.allen_cahn_solution, (512, 201), (-1.0, 1.0), 1.0, False,
         coarse=(2, 5), coarse_rtol=1e-5, order_setup=(64, 0.25, (8, 16, 32))),
    Case("KdV", kdv, kdv.kdv_solution, (512, 201), (-1.0, 1.0), 1.0, False,
         coarse=(1, 10), coarse_rtol=3e-9, order_setup=(64, 0.1, (8, 16, 32))),
]
IDS = [case.name for case in CASES]


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def _shipped(case: Case) -> dict[str, np.ndarray]:
    return load_reference(DATA_DIR / f"{case.name}.h5", names=["x", "tt", "uu"])


# (a) agreement with the original paper's files ---------------------------------------------------

PAPER_RTOL = 1e-3  # the project's requirement; measured 1.7e-5 (NLS), 1.2e-5 (AC), 6.5e-12 (KdV)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_shipped_file_matches_paper(case, paper_file):
    ref = load_reference(paper_file(f"{case.name}.mat"), names=["x", "tt", "uu"])
    ours = _shipped(case)
    np.testing.assert_allclose(ours["x"], ref["x"], rtol=0, atol=1e-14)
    np.testing.assert_allclose(ours["tt"], ref["tt"], rtol=0, atol=1e-14)
    assert ours["uu"].shape == ref["uu"].shape
    assert _rel(ours["uu"], ref["uu"]) < PAPER_RTOL
    # not vacuous: the paper's field one stored time step later (dt = 0.005 or pi/400) is
    # outside the tolerance (6.7e-3 for the slowly evolving AC, more for the others)
    assert _rel(ours["uu"][:, 1:], ref["uu"][:, :-1]) > 2 * PAPER_RTOL


# (b) fourth order in time ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_etdrk4_fourth_order_in_time(case):
    """Halve dt twice on a short interval (64 modes, one output time); error against 1024 steps.

    The observed orders are 3.98/3.99 (NLS), 4.18/4.09 (AC, approaching 4 from above) and
    3.98/3.99 (KdV), with errors between 1e-5 and 4e-9: far above rounding (the 1024-step
    reference is ~1e-13 off), so a tolerance of 0.3 around 4 separates ETDRK4 from any
    third-order (or lower) defect.
    """
    n_x, t_final, steps = case.order_setup

    def final(m: int) -> np.ndarray:
        return case.solve(n_x, 2, t_final, refine=1, steps_per_output=m)[2][:, -1]

    reference = final(1024)
    errors = [_rel(final(m), reference) for m in steps]
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert errors[-1] > 1e-11, errors
    np.testing.assert_allclose(orders, 4.0, atol=0.3, err_msg=f"errors {errors}")


# (c) the shipped files ------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_shipped_file_grid_and_attrs(case):
    data = _shipped(case)
    x, t, u = data["x"], data["tt"], data["uu"]
    assert x.shape == (case.shape[0],) and t.shape == (case.shape[1],) and u.shape == case.shape
    assert u.dtype == (np.complex128 if case.complex_field else np.float64)
    assert np.all(np.isfinite(u))
    np.testing.assert_allclose(x, periodic_grid(case.shape[0], *case.x_range), rtol=0, atol=1e-15)
    np.testing.assert_allclose(t, np.linspace(0.0, case.t_final, case.shape[1]), rtol=0, atol=1e-15)
    initial = {"NLS": nls.nls_initial_condition, "AC": allen_cahn.allen_cahn_initial_condition,
               "KdV": kdv.kdv_initial_condition}[case.name](x)
    np.testing.assert_allclose(u[:, 0], initial, rtol=0, atol=1e-14)
    attrs = load_reference_attrs(DATA_DIR / f"{case.name}.h5")
    assert case.module.GENERATOR_COMMAND in attrs["description"]
    assert attrs["generator"] == case.module.GENERATOR_COMMAND
    assert attrs["modes"] == case.module.DEFAULT_REFINE * case.shape[0]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_shipped_file_matches_coarse_solve(case):
    """A cheaper solve agrees with the shipped file to its own (measured) discretisation error:
    the file is what the current code computes."""
    refine, steps = case.coarse
    x, t, u = case.solve(refine=refine, steps_per_output=steps)
    data = _shipped(case)
    np.testing.assert_array_equal(x, data["x"])
    np.testing.assert_allclose(t, data["tt"], rtol=0, atol=1e-15)
    assert _rel(u, data["uu"]) < case.coarse_rtol


@pytest.mark.parametrize(
    "case, flags",
    [(CASES[0], ["--refine", "1", "--steps-per-output", "10"]),
     (CASES[1], ["--refine", "1", "--steps-per-output", "2"]),
     (CASES[2], ["--refine", "1", "--steps-per-output", "5"])],
    ids=IDS,
)
def test_main_writes_file(tmp_path, case, flags):
    out = case.module.main(["--out", str(tmp_path / "sub" / "r.h5"), *flags])
    assert out == (tmp_path / "sub" / "r.h5").resolve()
    data = load_reference(out)
    assert set(data) == {"x", "tt", "uu"} and data["uu"].shape == case.shape
    assert _rel(data["uu"], _shipped(case)["uu"]) < 1e-4
    attrs = load_reference_attrs(out)
    assert attrs["modes"] == case.shape[0]
    assert [p.name for p in out.parent.iterdir()] == ["r.h5"]


@pytest.mark.parametrize("module", [nls, allen_cahn, kdv], ids=IDS)
@pytest.mark.parametrize("flags", [["--refine", "0"], ["--steps-per-output", "x"],
                                   ["--out", "r.txt"]])
def test_main_rejects_bad_flags(module, flags, capsys):
    with pytest.raises(SystemExit) as exit:
        module.main(flags)
    assert exit.value.code == 2
    assert flags[0] in capsys.readouterr().err


# (d) PDE residual of the shipped data ---------------------------------------------------------------


def _dt4(u: np.ndarray, dt: float) -> np.ndarray:
    """Fourth-order central difference in t (axis 1) at the times 2..n_t-3."""
    return (-u[:, 4:] + 8 * u[:, 3:-1] - 8 * u[:, 1:-3] + u[:, :-4]) / (12 * dt)


def _residual(name: str, coefficient: float) -> tuple[float, float]:
    """(relative L2 of the residual, max |residual| / max term) of the shipped data, with the
    x-derivative term's coefficient multiplied by ``coefficient`` (1 = the true equation).

    u_t by 4th-order differences (dt = 0.005 or pi/400), x-derivatives spectrally on the stored
    grid. Region: NLS all points; AC t >= 0.1 (after diffusion has smoothed the kink at x = +-1,
    which the stored 512 points cannot differentiate); KdV all points.
    """
    data = load_reference(DATA_DIR / f"{name}.h5")
    x, t, u = data["x"], data["tt"], data["uu"]
    length = (x[1] - x[0]) * x.size
    u_t, uc = _dt4(u, t[1] - t[0]), u[:, 2:-2]

    def d(order: int) -> np.ndarray:
        return spectral_derivative(u, length, order)[:, 2:-2]

    if name == "NLS":
        terms = [1j * u_t, coefficient * 0.5 * d(2), np.abs(uc) ** 2 * uc]
    elif name == "AC":
        keep = t[2:-2] >= 0.1
        terms = [u_t, -coefficient * allen_cahn.DIFFUSION * d(2), 5 * uc**3 - 5 * uc]
        terms = [term[:, keep] for term in terms]
    else:
        terms = [u_t, uc * d(1), coefficient * kdv.DISPERSION * d(3)]
    residual = sum(terms)
    scale = max(float(np.abs(term).max()) for term in terms)
    rel_l2 = float(np.linalg.norm(residual) / np.linalg.norm(terms[0]))
    return rel_l2, float(np.abs(residual).max() / scale)


#: Measured (relative L2, relative max) of the true equation: NLS 1.1e-2 / 2.3e-3 (the dispersive
#: radiation from the boundary kink, at wavenumbers and frequencies the stored 256 x 201 grid
#: does not resolve), AC 1.5e-6 / 3.8e-5, KdV 4.8e-7 / 7.7e-8. Doubling the coefficient of the
#: x-derivative term gives 0.73 (NLS), 0.028 (AC), 3.7 (KdV) relative L2.
RESIDUAL_TOL = {"NLS": (2e-2, 1e-2), "AC": (1e-4, 1e-3), "KdV": (1e-5, 1e-5)}


@pytest.mark.parametrize("name", IDS)
def test_pde_residual_small(name):
    rel_l2, rel_max = _residual(name, 1.0)
    tol_l2, tol_max = RESIDUAL_TOL[name]
    assert rel_l2 < tol_l2 and rel_max < tol_max, (rel_l2, rel_max)


@pytest.mark.parametrize("name", IDS)
def test_pde_residual_detects_wrong_coefficient(name):
    rel_l2, _ = _residual(name, 2.0)
    assert rel_l2 > 10 * RESIDUAL_TOL[name][0], rel_l2


# (e) argument checks ------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"n_x": -4}, "n_x"),
        ({"n_x": 6.0}, "n_x"),
        ({"n_x": 7}, "n_x"),
        ({"n_t": 1}, "n_t"),
        ({"t_final": -1.0}, "t_final"),
        ({"t_final": float("nan")}, "t_final"),
        ({"refine": 0}, "refine"),
        ({"refine": True}, "refine"),
        ({"refine": 2 * MAX_MODES}, "refine"),
        ({"steps_per_output": 0}, "steps_per_output"),
    ],
)
def test_solver_argument_errors(case, kwargs, name):
    where = case.solve.__name__
    with pytest.raises(ValueError, match=rf"{where}\({name}\)"):
        case.solve(**kwargs)


def test_unstable_step_reports_non_finite():
    """Allen–Cahn's explicit cubic term blows up for dt = 0.5: a clear error, not NaN data."""
    with pytest.raises(ValueError, match="not finite"):
        allen_cahn.allen_cahn_solution(16, 3, 100.0, refine=1, steps_per_output=100)


# spectral machinery -------------------------------------------------------------------------------


def test_etdrk4_coefficients_limits_and_direct_formulas():
    """z = dt L = 0 gives the classical RK4 weights; elsewhere the contour values equal the
    explicit formulas (accurate for |z| >= 1) to rounding."""
    c = etdrk4_coefficients(np.array([0.0]), 0.3)
    np.testing.assert_allclose([c.e[0], c.e_half[0]], [1.0, 1.0], rtol=0, atol=1e-15)
    np.testing.assert_allclose([c.q[0], c.f1[0], c.f2[0], c.f3[0]],
                               [0.15, 0.05, 0.05, 0.05], rtol=1e-13)
    z = np.array([-20j, -200j, 5j, -3.0, -100.0, 2 - 30j])
    c = etdrk4_coefficients(z, 1.0)
    ez = np.exp(z)
    direct = [
        (np.exp(z / 2) - 1) / z,
        (-4 - z + ez * (4 - 3 * z + z**2)) / z**3,
        (2 + z + ez * (z - 2)) / z**3,
        (-4 - 3 * z - z**2 + ez * (4 - z)) / z**3,
    ]
    for got, want in zip([c.q, c.f1, c.f2, c.f3], direct):
        np.testing.assert_allclose(got, want, rtol=1e-13)
    real = etdrk4_coefficients(np.array([-1.0, 0.0, 2.0]), 0.1)
    assert all(not np.iscomplexobj(a) for a in real)


def test_etdrk4_scalar_riccati_order():
    """v' = -v + v^2, v(0) = 1/2: exact v = 1 / (1 + e^t); global order 4 at t = 1."""
    exact = 1.0 / (1.0 + np.e)

    def error(n: int) -> float:
        path = etdrk4_integrate(np.array([0.5]), np.array([-1.0]), lambda v: v * v, 1.0 / n, n)
        return abs(path[-1, 0] - exact)

    errors = [error(n) for n in (4, 8, 16)]
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    np.testing.assert_allclose(orders, 4.0, atol=0.15)


def test_spectral_derivative_and_grid():
    x = periodic_grid(32, -1.0, 1.0)
    assert x[0] == -1.0 and x[-1] == pytest.approx(1.0 - 2.0 / 32)
    u = np.sin(3 * np.pi * x)
    np.testing.assert_allclose(spectral_derivative(u, 2.0, 1), 3 * np.pi * np.cos(3 * np.pi * x),
                               atol=1e-12)
    np.testing.assert_allclose(spectral_derivative(u, 2.0, 2), -(3 * np.pi) ** 2 * u, atol=1e-10)
    z = np.exp(2j * np.pi * x)
    np.testing.assert_allclose(spectral_derivative(z, 2.0, 3), (2j * np.pi) ** 3 * z, atol=1e-9)
    k = wavenumbers(8, 2.0, real=True)
    np.testing.assert_allclose(k, np.pi * np.arange(5))
    assert dealias_mask(12).sum() == 7  # |m| < 4
    with pytest.raises(ValueError, match=r"wavenumbers\(n\)"):
        wavenumbers(7, 2.0)
