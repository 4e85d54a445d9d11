"""Navier–Stokes identification (the PINN paper's Sec. 4.1.2) on the data pinn generates.

The equation's residuals on exact solutions (the exact psi, p as a "network" that Derivatives
differentiates), the identifiability claims of :mod:`pinn.reference.navier_stokes`, the data file
and its loader (also on small .mat files in the paper's layout), a small identification run, the
example's --quick run and its usage errors. In-process, about a minute on 2 CPU cores.

The target (lambda1 within 1 %, lambda2 within 5 % with the example's defaults) is the ``slow``
test at the end (``python -m pytest -m slow tests/test_navier_stokes.py``; hours on a CPU).
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import tensorflow as tf

import pinn
import pinn.data
from pinn import cli
from pinn.equations import DerivativeObservations, NavierStokes, NavierStokesIdentification
from pinn.reference import navier_stokes as reference

ROOT = Path(__file__).resolve().parents[1]
QUIET = ["--verbose", "0", "--error-every", "0", "--no-jit"]
NU = 1.0 / reference.RE


def load_example():
    module = importlib.import_module("pinn.examples.navier_stokes")
    assert Path(module.__file__).resolve() == ROOT / "examples" / "navier_stokes.py"
    return module


def exact_network(flow, **parameters):
    """A 'network' (x, y, t) -> (psi, p) computing an exact solution with TensorFlow ops, so
    that pinn.Derivatives differentiates it exactly (to round-off)."""

    def network(points):
        fields = flow(points[:, 0:1], points[:, 1:2], points[:, 2:3], xp=tf.math, **parameters)
        return tf.concat([fields["psi"], fields["p"]], axis=1)

    return network


def scaled_pressure(network, scale):
    """The same stream function, the pressure multiplied by ``scale``."""
    return lambda points: network(points) * tf.constant([[1.0, scale]], tf.float64)


def random_points(n=300, seed=0, lower=(-0.5, -0.5, 0.0), upper=(1.0, 1.5, 1.0)):
    rng = np.random.default_rng(seed)
    return tf.constant(rng.uniform(lower, upper, size=(n, 3)))


def residual_max(equation, network, points):
    d = pinn.Derivatives(network, points, equation.coordinates, equation.fields)
    return max(float(tf.reduce_max(tf.abs(r))) for r in equation.residual(d).values())


# -- the equation on exact solutions -----------------------------------------------------------

def test_residuals_vanish_on_the_exact_solutions_and_not_for_wrong_coefficients():
    points = random_points()
    moving = exact_network(reference.kovasznay_flow)
    truth = NavierStokes(lambda1=1.0, lambda2=NU)
    assert residual_max(truth, moving, points) < 1e-11
    # the velocity is psi's derivatives: (u, v) of the formulas, and divergence-free
    d = pinn.Derivatives(moving, points, ("x", "y", "t"), ("psi", "p"))
    exact = reference.kovasznay_flow(*(points.numpy()[:, i] for i in range(3)))
    np.testing.assert_allclose(d.psi_y.numpy()[:, 0], exact["u"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(-d.psi_x.numpy()[:, 0], exact["v"], rtol=0, atol=1e-12)
    # wrong coefficients leave residuals of the size of the terms they scale
    assert residual_max(NavierStokes(lambda1=0.9, lambda2=NU), moving, points) > 0.05
    assert residual_max(NavierStokes(lambda1=1.0, lambda2=1.2 * NU), moving, points) > 0.05
    # the Taylor-Green vortex too (another exact solution, independent of Kovasznay's formulas)
    tg = exact_network(reference.taylor_green_vortex, nu=0.03)
    tg_points = random_points(lower=(0, 0, 0), upper=(2 * np.pi, 2 * np.pi, 2))
    assert residual_max(NavierStokes(lambda1=1.0, lambda2=0.03), tg, tg_points) < 1e-12
    assert residual_max(NavierStokes(lambda1=1.0, lambda2=0.04), tg, tg_points) > 1e-3


def test_identification_equation_starts_at_the_papers_values():
    equation = NavierStokesIdentification()
    assert equation.coordinates == ("x", "y", "t") and equation.fields == ("psi", "p")
    assert equation.trainable_names == ["lambda1", "lambda2"]
    assert equation.coefficient_values() == {"lambda1": 0.0, "lambda2": 0.0}


# -- identifiability ------------------------------------------------------------------------------

def test_taylor_green_leaves_lambda1_unidentifiable():
    """Its convective term is a gradient: (u.grad) omega = curl((u.grad) u) = 0, and with the
    pressure scaled by any c the equations hold with lambda1 = c."""
    network = exact_network(reference.taylor_green_vortex, nu=0.03)
    points = random_points(lower=(0, 0, 0), upper=(2 * np.pi, 2 * np.pi, 2))
    d = pinn.Derivatives(network, points, ("x", "y", "t"), ("psi", "p"))
    omega_x, omega_y = -(d.psi_xxx + d.psi_xyy), -(d.psi_xxy + d.psi_yyy)
    advection = d.psi_y * omega_x - d.psi_x * omega_y
    assert float(tf.reduce_max(tf.abs(advection))) < 1e-12
    assert float(tf.reduce_max(tf.abs(omega_x))) > 0.5
    for c in (0.0, 0.3, 2.0):
        assert residual_max(NavierStokes(lambda1=c, lambda2=0.03),
                            scaled_pressure(network, c), points) < 1e-12


def test_steady_kovasznay_leaves_both_coefficients_unidentifiable():
    """u_t = 0: (c, c nu, c p) fits for every c, c = 0 (no equation at all) included."""
    network = exact_network(reference.kovasznay_flow, velocity=(0.0, 0.0))
    points = random_points()
    for c in (0.0, 0.5, 3.0):
        assert residual_max(NavierStokes(lambda1=c, lambda2=c * NU),
                            scaled_pressure(network, c), points) < 1e-11


def _curl_terms(velocity, points):
    """(U.grad) omega and Laplacian omega of Kovasznay flow moving at ``velocity``: the two
    functions that the curl of a wrong-coefficient residual combines."""
    network = exact_network(reference.kovasznay_flow, velocity=velocity)
    d = pinn.Derivatives(network, points, ("x", "y", "t"), ("psi", "p"))
    omega_x, omega_y = -(d.psi_xxx + d.psi_xyy), -(d.psi_xxy + d.psi_yyy)
    laplacian = -(d.psi_xxxx + 2 * d.psi_xxyy + d.psi_yyyy)
    advection = d.psi_y * omega_x - d.psi_x * omega_y  # (u.grad) omega
    frame = velocity[0] * omega_x + velocity[1] * omega_y  # (U.grad) omega
    return advection.numpy()[:, 0], frame.numpy()[:, 0], laplacian.numpy()[:, 0]


def test_the_moving_kovasznay_flow_identifies_both_coefficients():
    """curl(residual) = (lambda1 - 1) (U.grad) omega + (lambda1 nu - lambda2) Laplacian omega:
    both vanish only at the truth when the two functions are independent (V != 0)."""
    points = random_points(400)
    advection, frame, laplacian = _curl_terms(reference.VELOCITY, points)
    # its convective term is not a gradient: (u.grad) omega = nu Laplacian omega + (U.grad) omega
    # (the vorticity equation, omega_t = -(U.grad) omega), not zero
    np.testing.assert_allclose(advection, NU * laplacian + frame, rtol=1e-9, atol=1e-9)
    assert np.sqrt(np.mean(advection ** 2)) > 1.0
    cosine = abs(frame @ laplacian) / (np.linalg.norm(frame) * np.linalg.norm(laplacian))
    assert cosine < 0.5, cosine  # independent
    # a frame moving along x only: the two are proportional, lambda1 and lambda2 not separable
    _, frame_x, laplacian_x = _curl_terms((0.7, 0.0), points)
    cosine_x = abs(frame_x @ laplacian_x) / (np.linalg.norm(frame_x) * np.linalg.norm(laplacian_x))
    assert cosine_x > 1 - 1e-9
    # and no pressure rescaling rescues scaled coefficients here, unlike the steady flow
    network = exact_network(reference.kovasznay_flow)
    for c in (0.0, 0.5):
        assert residual_max(NavierStokes(lambda1=c, lambda2=c * NU),
                            scaled_pressure(network, c), points) > 0.5


# -- the data file and its loader ---------------------------------------------------------------

def test_packaged_data_have_the_papers_layout_and_regenerate(tmp_path):
    data = pinn.data.load_navier_stokes()
    nx, ny, nt = reference.GRID
    n = nx * ny
    assert data.points.shape == (n, 2) and data.times.shape == (nt,)
    assert data.velocity.shape == (n, 2, nt) and data.pressure.shape == (n, nt)
    assert data.path.stat().st_size < 2_000_000
    assert float(data.attrs["lambda2"]) == pytest.approx(NU) and float(data.attrs["lambda1"]) == 1.0
    raw = pinn.load_reference(pinn.data.NAVIER_STOKES_PATH)
    assert raw["t"].shape == (nt, 1)  # stored as the paper's (T, 1)
    # flattened in the paper's order: entry i * T + j is point i at time j
    i, j = 17, 5
    k = i * nt + j
    assert (data.x[k], data.y[k], data.t[k]) == (data.points[i, 0], data.points[i, 1], data.times[j])
    assert (data.u[k], data.v[k], data.p[k]) == (data.velocity[i, 0, j], data.velocity[i, 1, j],
                                                 data.pressure[i, j])
    exact = reference.kovasznay_flow(data.x, data.y, data.t)
    for name in ("u", "v", "p"):
        np.testing.assert_allclose(getattr(data, name), exact[name], rtol=0, atol=1e-14)
    # the data satisfy continuity by finite differences on the grid (independent of psi)
    u = data.velocity[:, 0, 0].reshape(ny, nx)
    v = data.velocity[:, 1, 0].reshape(ny, nx)
    h = (reference.X_RANGE[1] - reference.X_RANGE[0]) / (nx - 1)
    divergence = np.gradient(u, h, axis=1)[1:-1, 1:-1] + np.gradient(v, h, axis=0)[1:-1, 1:-1]
    assert np.max(np.abs(divergence)) < 0.1 * np.max(np.abs(np.gradient(u, h, axis=1)))
    # the generator writes the same arrays again, to round-off: NumPy's exp, sin and cos pick their
    # SIMD kernels by CPU, so on another machine than the one that wrote the file a few values
    # differ in the last bit or two (seen: 3 % of them, by at most 2.4e-15 relative)
    path = reference.main(["--out", str(tmp_path / "again.h5")], prog="pinn data navier_stokes")
    again = pinn.data.load_navier_stokes(path)
    np.testing.assert_allclose(again.velocity, data.velocity, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(again.pressure, data.pressure, rtol=1e-14, atol=1e-15)
    np.testing.assert_array_equal(again.points, data.points)
    np.testing.assert_array_equal(again.times, data.times)


def _paper_layout(n=6, steps=4, seed=0):
    rng = np.random.default_rng(seed)
    return {"X_star": rng.uniform(size=(n, 2)), "t": np.linspace(0, 1, steps)[:, None],
            "U_star": rng.normal(size=(n, 2, steps)), "p_star": rng.normal(size=(n, steps))}


def test_loader_reads_the_papers_mat_layout_and_hdf5(tmp_path):
    arrays = _paper_layout()
    scipy.io.savemat(tmp_path / "wake.mat", arrays)
    pinn.save_reference(tmp_path / "wake.h5", **arrays)
    for name in ("wake.mat", "wake.h5"):
        data = pinn.data.load_navier_stokes(tmp_path / name)
        assert (data.n_points, data.n_times) == (6, 4)
        np.testing.assert_array_equal(data.times, arrays["t"][:, 0])
        np.testing.assert_array_equal(data.u.reshape(6, 4), arrays["U_star"][:, 0, :])
        np.testing.assert_array_equal(data.v.reshape(6, 4), arrays["U_star"][:, 1, :])
        np.testing.assert_array_equal(data.p.reshape(6, 4), arrays["p_star"])
        np.testing.assert_array_equal(data.x.reshape(6, 4)[:, 2], arrays["X_star"][:, 0])
        np.testing.assert_array_equal(data.t.reshape(6, 4)[3], arrays["t"][:, 0])
        assert data.coordinates().shape == (24, 3)
    assert pinn.data.load_navier_stokes(tmp_path / "wake.mat").attrs == {}


@pytest.mark.parametrize("change, error, match", [
    ({"U_star": np.zeros((6, 3, 4))}, ValueError, r"U_star must have shape \(N, 2, T\) = \(6, 2, 4\)"),
    ({"U_star": np.zeros((6, 2, 5))}, ValueError, r"U_star must have shape"),
    ({"p_star": np.zeros((4, 6))}, ValueError, r"p_star must have shape \(N, T\) = \(6, 4\)"),
    ({"X_star": np.zeros((6, 3))}, ValueError, r"X_star must have shape \(N, 2\)"),
    ({"t": np.zeros((2, 2))}, ValueError, r"t must have shape \(T, 1\)"),
    ({"p_star": np.full((6, 4), np.nan)}, ValueError, "p_star .* NaN"),
    ({"U_star": None}, KeyError, r"lacks \['U_star'\]"),
    ({"p_star": None, "t": None}, KeyError, r"lacks \['t', 'p_star'\]"),
])
def test_loader_refuses_other_layouts(tmp_path, change, error, match):
    arrays = {**_paper_layout(), **change}
    scipy.io.savemat(tmp_path / "bad.mat", {k: v for k, v in arrays.items() if v is not None})
    with pytest.raises(error, match=match):
        pinn.data.load_navier_stokes(tmp_path / "bad.mat")


def test_loader_refuses_missing_files_and_other_extensions(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        pinn.data.load_navier_stokes(tmp_path / "absent.mat")
    (tmp_path / "wake.txt").write_text("1 2 3")
    with pytest.raises(ValueError, match="unsupported file extension"):
        pinn.data.load_navier_stokes(tmp_path / "wake.txt")


def test_the_papers_wake_file_if_at_hand(paper_file):
    data = pinn.data.load_navier_stokes(paper_file("cylinder_nektar_wake.mat"))
    assert (data.n_points, data.n_times) == (5000, 200)


# -- derivative observations ------------------------------------------------------------------

def test_derivative_observations_and_their_bad_input():
    points = random_points(50).numpy()
    network = exact_network(reference.kovasznay_flow)
    exact = reference.kovasznay_flow(points[:, 0], points[:, 1], points[:, 2])
    condition = DerivativeObservations(points, np.column_stack([exact["u"], exact["v"]]),
                                       ("psi_y", "-psi_x"), weight=2.0)
    condition.build(tf.float64)
    d = pinn.Derivatives(network, tf.constant(points), ("x", "y", "t"), ("psi", "p"))
    assert float(condition.loss(d)) < 1e-24
    shifted = DerivativeObservations(points, np.column_stack([exact["u"] + 0.1, exact["v"]]),
                                     ("psi_y", "-psi_x"), weight=2.0)
    shifted.build(tf.float64)
    assert float(shifted.loss(d)) == pytest.approx(0.01, rel=1e-9)  # 2 * mean over 2 columns
    for bad in ((), [""], ["-"], [3]):
        with pytest.raises(ValueError, match="expressions"):
            DerivativeObservations(points, exact["u"], bad)
    with pytest.raises(ValueError, match=r"shape \(50, 2\)"):
        DerivativeObservations(points, exact["u"], ("psi_y", "-psi_x"))
    with pytest.raises(ValueError, match="weight"):
        DerivativeObservations(points, exact["u"], "psi_y", weight=-1.0)
    net = pinn.mlp(3, 2, [5], seed=0)
    with pytest.raises(KeyError, match="unknown field or derivative 'q_x'"):
        pinn.Problem(NavierStokesIdentification(), net, points, [
            DerivativeObservations(points, exact["u"], "-q_x")])


# -- identification -------------------------------------------------------------------------------

def test_a_small_clean_identification_moves_both_coefficients_to_the_truth(tmp_path):
    """400 clean observations, a [3, 20 x 2, 2] network, 500 L-BFGS-B iterations (about 20 s).
    Measured (seed 0, no XLA): lambda1 error 100 % -> 3.1 %, lambda2 100 % -> 1.9 % (seed 1:
    2.4 % and 22.8 %). Margins: lambda1 within 10 %, lambda2 within 15 %."""
    example = load_example()
    settings = example.build_parser().parse_settings(
        ["--n-train", "400", "--widths", "2", "--out", str(tmp_path)])
    setup = example.build(settings)
    assert example.coefficient_errors(setup.coefficients(), setup.truth) == {
        "lambda1_error_pct": 100.0, "lambda2_error_pct": 100.0}
    assert setup.truth == pytest.approx({"lambda1": 1.0, "lambda2": NU})
    # the output layer's bias (a constant in psi and p) is not trained: it has no gradient
    assert len(setup.problem.variables) == len(setup.network.trainable_variables) - 1 + 2
    result = pinn.Trainer(setup.problem).train(adam_steps=0, lbfgs_options={"maxiter": 500},
                                               verbose=0)
    errors = example.coefficient_errors(setup.coefficients(), setup.truth)
    assert result.coefficients == pytest.approx(setup.coefficients())
    assert errors["lambda1_error_pct"] < 10.0, errors
    assert errors["lambda2_error_pct"] < 15.0, errors
    assert setup.errors()["relative_l2_error_u"] < 0.05


def test_quick_run_writes_the_metrics_and_figures_and_plot_restores_them(tmp_path):
    example = load_example()
    assert cli_main(example, ["--quick", "--out", str(tmp_path), *QUIET]) == 0
    written = json.loads((tmp_path / "metrics.json").read_text())
    assert {"lambda1", "lambda2", "lambda1_error_pct", "lambda2_error_pct", "relative_l2_error_u",
            "relative_l2_error_v", "relative_l2_error_p", "lambda1_true", "lambda2_true",
            "status", "final_loss", "initial_loss", "settings"} <= set(written)
    assert written["status"] == "completed" and written["adam_steps"] == 0
    assert written["lbfgs_nit"] == example.QUICK["lbfgs_maxiter"]
    assert written["layers"] == [3, 20, 20, 2] and written["n_train"] == example.QUICK["n_train"]
    assert set(written["final_terms"]) == {"momentum_x", "momentum_y", "data"}
    assert written["final_loss"] < written["initial_loss"]
    assert written["lambda1_error_pct"] == pytest.approx(100 * abs(written["lambda1"] - 1))
    assert written["lambda2_error_pct"] == pytest.approx(100 * abs(written["lambda2"] / NU - 1))
    for figure in ("solution.png", "loss_history.png"):
        data = (tmp_path / figure).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    # pinn plot's path: the problem rebuilt from the saved flags, the weights loaded
    _, setup, saved = pinn.scripts.restore_run(example, tmp_path)
    assert setup.coefficients() == pytest.approx({"lambda1": written["lambda1"],
                                                  "lambda2": written["lambda2"]}, rel=1e-12)
    prediction = setup.predict()
    assert setup.errors(prediction)["relative_l2_error_u"] == pytest.approx(
        written["relative_l2_error_u"], rel=1e-9)
    again = example.write_figures(setup, tmp_path / "again", saved.history, prediction)
    assert [p.name for p in again] == ["solution.png", "loss_history.png"]
    defaults = example.build_parser().parse_settings([])
    assert (defaults.n_train, defaults.widths, defaults.lbfgs_maxiter) == (5000, 8, 50000)
    assert example.adam_steps(defaults) == 0
    assert example.adam_steps(example.build_parser().parse_settings(["--noise", "0.01"])) == 10000


def cli_main(example, argv):
    """``pinn solve navier_stokes ARGV`` where the registry has it, else the script's main."""
    if "navier_stokes" in cli.PROBLEMS:
        return cli.main(["solve", "navier_stokes", *argv])
    return example.main(argv)


def test_noise_and_the_papers_pressure_error():
    example = load_example()
    parse = example.build_parser().parse_settings
    clean = example.build(parse(["--quick"]))
    noisy = example.build(parse(["--quick", "--noise", "0.01"]))
    np.testing.assert_array_equal(noisy.points, clean.points)
    added = noisy.observed - clean.clean
    for k in range(2):
        assert 0.005 < np.std(added[:, k]) / np.std(clean.clean[:, k]) < 0.015
    np.testing.assert_array_equal(clean.observed, clean.clean)
    # the pressure error ignores a function of time, not more
    exact = np.random.default_rng(0).normal(size=(20, 5))
    assert example.pressure_error(exact + np.arange(5.0)[None, :], exact) < 1e-15
    assert example.pressure_error(exact * 1.1, exact) == pytest.approx(0.1, rel=0.2)


@pytest.mark.parametrize("argv, match", [
    (["--noise", "-0.01"], "--noise"),
    (["--n-train", "0"], "--n-train"),
    (["--n-train", "1000000"], "--n-train: expected at most 52111"),
    (["--lbfgs-maxiter", "0"], "nothing to train"),
])
def test_usage_errors(tmp_path, capsys, argv, match):
    example = load_example()
    assert example.main([*argv, "--out", str(tmp_path / "run"), *QUIET]) == 2
    assert match in capsys.readouterr().err


def test_a_data_file_of_the_wrong_layout_is_an_error(tmp_path, capsys):
    example = load_example()
    arrays = {**_paper_layout(), "p_star": np.zeros((5, 4))}
    scipy.io.savemat(tmp_path / "bad.mat", arrays)
    assert example.main(["--data", str(tmp_path / "bad.mat"), "--out", str(tmp_path / "run"),
                         *QUIET]) == 1
    assert "p_star must have shape (N, T) = (6, 4)" in capsys.readouterr().err
    assert not (tmp_path / "run" / "checkpoint.h5").exists()


# -- the paper's target ---------------------------------------------------------------------------

@pytest.mark.slow
def test_default_run_recovers_lambda1_within_1_and_lambda2_within_5_percent(tmp_path):
    """The example's defaults (N = 5000, [3, 20 x 8, 2], L-BFGS-B up to 50000 iterations):
    hours on a CPU."""
    example = load_example()
    assert example.main(["--out", str(tmp_path), "--verbose", "1000"]) == 0
    written = json.loads((tmp_path / "metrics.json").read_text())
    assert written["lambda1_error_pct"] < 1.0, written["lambda1_error_pct"]
    assert written["lambda2_error_pct"] < 5.0, written["lambda2_error_pct"]
