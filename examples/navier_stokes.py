"""Navier–Stokes, data-driven discovery (Raissi, Perdikaris & Karniadakis 2019, Sec. 4.1.2, Fig. 4).

    u_t + lambda1 (u u_x + v u_y) = -p_x + lambda2 (u_xx + u_yy),
    v_t + lambda1 (u v_x + v v_y) = -p_y + lambda2 (v_xx + v_yy),

with lambda1 and lambda2 unknown (true values 1 and the viscosity) and learned with the network
from N = 5000 observations of the velocity (u, v) drawn uniformly from the data's N x T
point-times. As in the paper the network [3, 20 x 8, 2] (tanh, inputs scaled to [-1, 1] by the
data's bounds) maps (x, y, t) to a stream function and the pressure (psi, p); u = psi_y and
v = -psi_x, so the flow is divergence-free by construction; the residuals are collocated at the
same N points; the loss is ``mean (u - u_data)^2 + mean (v - v_data)^2 + mean f^2 + mean g^2``;
both coefficients start at 0. The pressure is never observed: it is learned, up to a function of
time.

Data: the paper's cylinder wake (``cylinder_nektar_wake.mat``, Re = 100) is not shipped with
pinn. By default the example uses the packaged exact solution (``kovasznay_translating.h5``,
``pinn data navier_stokes``): Kovasznay flow at Re = 40 seen from a frame moving at (0, -0.5),
an unsteady flow whose coefficients are identifiable, unlike the steady Kovasznay flow or the
Taylor–Green vortex (the reasons: :mod:`pinn.reference.navier_stokes`). True values: lambda1 = 1,
lambda2 = 0.025. ``--data cylinder_nektar_wake.mat`` runs the paper's exact case from a copy of
the paper's file (true values 1 and 0.01, the paper's, where the file does not give them).

Clean data by default, optimised with L-BFGS-B only (the paper ran Adam for 200000 steps first:
``--adam-steps 200000``). ``--noise 0.01`` adds 1 % noise to u and v as the paper
(``u + noise * std(u) * N(0, 1)``, seeded) and then Adam runs 10000 steps first by default.

Writes metrics.json (``lambda1``, ``lambda2``, ``lambda1_error_pct``, ``lambda2_error_pct``, the
relative L2 errors of u, v and of p up to a function of time, over all N x T point-times),
solution.png (u and p at one snapshot: exact, predicted, error; the identified equations in the
title), loss_history.png, error_history.png and checkpoint.h5 to --out. metrics.json's
``error_history`` (sampled every ``--error-every`` seconds of training) tracks
``lambda_error_pct``, the larger of the two coefficients' errors in percent, with both errors,
both values and the velocity's errors on 4096 of the data's point-times beside it.

    pinn solve navier_stokes                        # clean data, N = 5000, [3, 20 x 8, 2]
    pinn solve navier_stokes --noise 0.01           # 1 % noise
    pinn solve navier_stokes --data cylinder_nektar_wake.mat   # the paper's data
    pinn solve navier_stokes --quick                # a smoke test, under a minute
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

import pinn
import pinn.data
from pinn.equations import DerivativeObservations, NavierStokesIdentification
from pinn.examples.burgers_identification import add_noise
from pinn.flat import as_tf_variable
from pinn.scripts import (NoiseDependentAdam, compute_strategy, example_parser, existing_file, replot, run_metrics,
                          run_example, set_seeds, train_example, write_outputs)
from pinn.settings import (FlagParser, RunSettings, UsageError, nonnegative_float, positive_float, positive_int)

NAME = "navier_stokes"
DESCRIPTION = ("2-D Navier-Stokes, identification of lambda1 and lambda2 from velocity data "
               "(the PINN paper's Sec. 4.1.2)")

#: Adam warm-up steps by default: none on clean data, 10000 with noise (the paper: 200000 for both).
ADAM_STEPS_CLEAN = 0
ADAM_STEPS_NOISY = 10000
LBFGS_MAXITER = 50000
DTYPE = "float64"
GTOL = 1e-10
N_TRAIN = 5000
WIDTHS = 8
#: The paper's true values, used for a data file that does not give its own (the cylinder wake).
PAPER_TRUE_VALUES = {"lambda1": 1.0, "lambda2": 0.01}
QUICK = {"lbfgs_maxiter": 40, "n_train": 200, "widths": 2}
QUICK_ADAM_STEPS_NOISY = 50
ADAM = NoiseDependentAdam(ADAM_STEPS_CLEAN, ADAM_STEPS_NOISY, QUICK_ADAM_STEPS_NOISY)


def build_parser(prog: str | None = None) -> FlagParser:
    """The example's flags: the shared ones (:func:`pinn.scripts.example_parser`) and its own."""
    parser = example_parser(NAME, __doc__, prog=prog, out="runs/navier_stokes",
                            adam_steps=ADAM_STEPS_CLEAN, lbfgs_maxiter=LBFGS_MAXITER, dtype=DTYPE)
    ADAM.add_to(parser, "the paper: 200000")
    parser.problem_flag("--n-train", type=positive_int, default=None,
                        help=f"velocity observations drawn from the data's N x T point-times, also "
                             f"the collocation points (default {N_TRAIN})")
    parser.problem_flag("--noise", type=nonnegative_float, default=0.0,
                        help="noise level: u + noise * std(u) * N(0, 1), v likewise, seeded "
                             "(default 0, clean; the paper's noisy case is 0.01)")
    parser.problem_flag("--widths", type=positive_int, default=None,
                        help=f"hidden layers of 20 (default {WIDTHS})")
    parser.problem_flag("--data", type=existing_file, default=None,
                        help="flow data in the layout of the paper's cylinder_nektar_wake.mat "
                             "(.mat or .h5: X_star, t, U_star, p_star; default the packaged "
                             "kovasznay_translating.h5)")
    parser.run_flag("--gtol", type=positive_float, default=GTOL,
                    help=f"L-BFGS-B gradient tolerance (default {GTOL:g})")
    parser.set_presets(full={"n_train": N_TRAIN, "widths": WIDTHS}, quick=QUICK)
    return parser


def adam_steps(settings: RunSettings) -> int:
    """The Adam steps of a run: ``--adam-steps`` if given, else :data:`ADAM` by ``--noise``."""
    return ADAM.steps(settings)


def true_values(data: pinn.data.NavierStokesData) -> dict[str, float]:
    """The true lambda1, lambda2 of ``data``: the file's ``lambda1``/``lambda2`` attributes
    (the packaged file has them), else the paper's 1 and 0.01 (its cylinder wake, Re = 100)."""
    return {name: float(np.asarray(data.attrs.get(name, default)).reshape(()))
            for name, default in PAPER_TRUE_VALUES.items()}


def coefficient_errors(values: dict[str, float], truth: dict[str, float]) -> dict[str, float]:
    """``{"lambda1_error_pct": 100 |lambda1 - true| / |true|, "lambda2_error_pct": ...}``."""
    return {f"{name}_error_pct": 100.0 * abs(float(values[name]) - true) / abs(true)
            for name, true in truth.items()}


#: The main error of metrics.json's error_history: the larger of the two coefficients' errors, in
#: percent (this example identifies coefficients).
TRACKED_ERROR = "lambda_error_pct"
#: Point-times of the data on which error_history samples the velocity's errors (a fixed draw;
#: the final errors in metrics.json use all of them).
TRACKED_POINTS = 4096


def tracked_errors(setup: "Setup") -> dict[str, float]:
    """One error_history sample: ``lambda_error_pct`` (max of the two errors, percent) first,
    then both errors, both values, and the relative L2 errors of u and v on
    :data:`TRACKED_POINTS` point-times of the data (a fixed draw, seed 0), at the current
    weights."""
    values = setup.coefficients()
    errors = coefficient_errors(values, setup.truth)
    data = setup.data
    total = data.n_points * data.n_times
    chosen = np.random.default_rng(0).choice(total, min(TRACKED_POINTS, total), replace=False)
    u, v, _ = predict_flow(setup.network, data.coordinates()[chosen], setup.dtype)
    return {TRACKED_ERROR: max(errors.values()), **errors, **values,
            "relative_l2_error_u": pinn.relative_l2_error(u, data.u[chosen]),
            "relative_l2_error_v": pinn.relative_l2_error(v, data.v[chosen])}


class StreamFunctionProblem(pinn.Problem):
    """A :class:`pinn.Problem` whose trained variables leave out the output layer's bias.

    psi and p enter the loss only through their derivatives (u = psi_y, v = -psi_x, p_x, p_y), so
    the bias of the network's linear output layer (a constant added to psi and p) gets no
    gradient: it stays at zero (the paper's code trained it with a zero gradient).
    """

    @property
    def variables(self) -> list[Any]:
        bias = as_tf_variable(self.network.get_layer("output").bias)
        return [v for v in super().variables if v is not bias]


def predict_flow(network: Any, points: np.ndarray, dtype: str = "float64",
                 batch_size: int = 8192) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The velocity and pressure a (psi, p) network gives at (M, 3) points (x, y, t).

    Returns:
        u = psi_y, v = -psi_x and p, each (M,) float64.
    """
    import tensorflow as tf

    points = pinn.validation.as_points(points, "points")
    if points.shape[1] != 3:
        raise ValueError(f"points must have 3 columns (x, y, t), got shape {points.shape}")
    out = []
    for i in range(0, points.shape[0], batch_size):
        d = pinn.Derivatives(network, tf.constant(points[i:i + batch_size], dtype),
                             NavierStokesIdentification.coordinates, NavierStokesIdentification.fields)
        out.append(np.concatenate([np.asarray(d.psi_y), -np.asarray(d.psi_x), np.asarray(d.p)], 1))
    values = np.concatenate(out, axis=0).astype(np.float64)
    return values[:, 0], values[:, 1], values[:, 2]


def pressure_error(predicted: np.ndarray, exact: np.ndarray) -> float:
    """Relative L2 error of a pressure known up to a function of time: ``predicted`` and
    ``exact`` are (N, T); each snapshot of ``predicted`` is first shifted by the mean
    difference from ``exact`` at that time."""
    shifted = predicted + np.mean(exact - predicted, axis=0, keepdims=True)
    return pinn.relative_l2_error(shifted, exact)


@dataclasses.dataclass
class Setup:
    """What :func:`build` makes from the problem flags: the data, the observations (clean and as
    trained on) and the problem."""

    data: pinn.data.NavierStokesData
    truth: dict[str, float]  # the true lambda1, lambda2
    chosen: np.ndarray  # (n_train,) indices of the observations among the N * T point-times
    points: np.ndarray  # (n_train, 3) the observation (and collocation) points (x, y, t)
    clean: np.ndarray  # (n_train, 2) u, v there
    observed: np.ndarray  # (n_train, 2) what is trained on (clean plus noise)
    equation: NavierStokesIdentification
    network: Any
    problem: pinn.Problem
    dtype: str = DTYPE
    noise: float = 0.0

    def predict(self) -> dict[str, np.ndarray]:
        """u, v, p at every point and time of the data, each (N, T)."""
        u, v, p = predict_flow(self.network, self.data.coordinates(), self.dtype)
        shape = (self.data.n_points, self.data.n_times)
        return {"u": u.reshape(shape), "v": v.reshape(shape), "p": p.reshape(shape)}

    def errors(self, prediction: dict[str, np.ndarray] | None = None) -> dict[str, float]:
        """Relative L2 errors over all N x T point-times: u, v, and p up to a function of time."""
        prediction = self.predict() if prediction is None else prediction
        return {"relative_l2_error_u": pinn.relative_l2_error(prediction["u"], self.data.velocity[:, 0]),
                "relative_l2_error_v": pinn.relative_l2_error(prediction["v"], self.data.velocity[:, 1]),
                "relative_l2_error_p": pressure_error(prediction["p"], self.data.pressure)}

    def coefficients(self) -> dict[str, float]:
        """The current lambda1 and lambda2."""
        return self.equation.coefficient_values()


def build(settings: RunSettings) -> Setup:
    """The problem the settings' problem flags define (seeds set, nothing trained).

    Raises:
        UsageError: ``--n-train`` larger than the data's N x T point-times.
    """
    rng = set_seeds(settings.seed)
    data = pinn.data.load_navier_stokes(settings.data)
    coordinates = data.coordinates()
    total = coordinates.shape[0]
    if settings.n_train > total:
        raise UsageError(f"argument --n-train: expected at most {total} (the data's "
                         f"{data.n_points} points x {data.n_times} times), got {settings.n_train}")
    chosen = rng.choice(total, settings.n_train, replace=False)  # the paper's uniform draw
    points = coordinates[chosen]
    clean = np.column_stack([data.u[chosen], data.v[chosen]])
    observed = np.column_stack([add_noise(clean[:, 0], settings.noise, rng),
                                add_noise(clean[:, 1], settings.noise, rng)])
    network = pinn.mlp(3, 2, [20] * settings.widths, "tanh", lower=coordinates.min(axis=0),
                       upper=coordinates.max(axis=0), dtype=settings.dtype, seed=settings.seed)
    equation = NavierStokesIdentification()
    # the paper's loss: mean (u - u_data)^2 + mean (v - v_data)^2 (weight 2 on the mean over both
    # columns) + mean f^2 + mean g^2, all at the n_train points
    velocity = DerivativeObservations(points, observed, ("psi_y", "-psi_x"), name="data", weight=2.0)
    problem = StreamFunctionProblem(equation, network, points, [velocity], dtype=settings.dtype,
                                     derivatives=settings.derivatives)
    return Setup(data=data, truth=true_values(data), chosen=chosen, points=points, clean=clean,
                 observed=observed, equation=equation, network=network, problem=problem,
                 dtype=settings.dtype, noise=settings.noise)


def _title(values: dict[str, float], truth: dict[str, float], errors: dict[str, float],
           noise: float) -> str:
    pct = coefficient_errors(values, truth)
    return (f"Navier-Stokes identification ({'clean' if noise == 0 else f'{100 * noise:g} % noise'})\n"
            f"identified: u_t + {values['lambda1']:.5f} (u u_x + v u_y) = -p_x + "
            f"{values['lambda2']:.6f} (u_xx + u_yy)\n"
            f"true:       u_t + {truth['lambda1']:.5f} (u u_x + v u_y) = -p_x + "
            f"{truth['lambda2']:.6f} (u_xx + u_yy)\n"
            f"errors {pct['lambda1_error_pct']:.3f} % / {pct['lambda2_error_pct']:.3f} %; rel. L2 "
            f"u {errors['relative_l2_error_u']:.2e}, v {errors['relative_l2_error_v']:.2e}, "
            f"p (up to a function of t) {errors['relative_l2_error_p']:.2e}")


def plot_snapshot(setup: Setup, prediction: dict[str, np.ndarray], path: str | os.PathLike,
                  snapshot: int | None = None, status: str | None = None) -> Path:
    """u and p at one snapshot (default the middle one): exact, predicted (p shifted by its mean
    difference at that time) and the absolute error, on the data's points; the identified and
    true equations in the title."""
    from matplotlib.figure import Figure
    from matplotlib.tri import Triangulation

    from pinn.plotting import _mark_status, _output_path, _save

    out, fmt = _output_path(path)
    data = setup.data
    j = data.n_times // 2 if snapshot is None else int(snapshot)
    x, y = data.points[:, 0], data.points[:, 1]
    mesh = Triangulation(x, y)  # once for all six panels
    p_pred = prediction["p"][:, j] + np.mean(data.pressure[:, j] - prediction["p"][:, j])
    rows = [("u", data.velocity[:, 0, j], prediction["u"][:, j]),
            ("p", data.pressure[:, j], p_pred)]
    fig = Figure(figsize=(13, 8.5))
    axes = fig.subplots(2, 3)
    for row, (name, exact, predicted) in zip(axes, rows):
        low, high = float(min(exact.min(), predicted.min())), float(max(exact.max(), predicted.max()))
        levels = np.linspace(low, high, 31) if high > low else 31
        for ax, values, label, kw in ((row[0], exact, f"exact {name}", {"levels": levels}),
                                      (row[1], predicted, f"predicted {name}", {"levels": levels}),
                                      (row[2], np.abs(predicted - exact), f"|error| of {name}",
                                       {"levels": 31})):
            image = ax.tricontourf(mesh, values, cmap="viridis" if label[0] == "|" else "RdBu_r", **kw)
            fig.colorbar(image, ax=ax)
            ax.set_title(f"{label}, t = {data.times[j]:.3g}" + (" (up to a constant)"
                                                                 if name == "p" and label[0] == "p"
                                                                 else ""))
            ax.set_xlabel("x")
            ax.set_ylabel("y")
            ax.set_aspect("equal")
    snap = np.isclose(setup.points[:, 2], data.times[j])
    if snap.any():
        axes[0][1].plot(setup.points[snap, 0], setup.points[snap, 1], "kx", ms=3,
                        label="data at this time")
        axes[0][1].legend(loc="upper right", fontsize=7)
    fig.subplots_adjust(left=0.05, right=0.98, bottom=0.06, top=0.82, wspace=0.3, hspace=0.3)
    _mark_status(fig, status, _title(setup.coefficients(), setup.truth, setup.errors(prediction),
                                     setup.noise))
    return _save(fig, out, fmt)


def write_figures(setup: Setup, out: str | os.PathLike, history: pinn.History,
                  prediction: dict[str, np.ndarray] | None = None,
                  status: str | None = None) -> list[Path]:
    """``solution.png`` (:func:`plot_snapshot`) and ``loss_history.png`` in ``out``."""
    prediction = setup.predict() if prediction is None else prediction
    os.makedirs(out, exist_ok=True)
    written = [plot_snapshot(setup, prediction, os.path.join(out, "solution.png"), status=status)]
    if len(history):
        written.append(pinn.plot_history(history, path=os.path.join(out, "loss_history.png"),
                                         status=status))
    return [Path(p) for p in written]


def solve(settings: RunSettings) -> dict:
    """Train as the settings say; writes metrics.json, the checkpoint and the figures to
    ``settings.out``. Returns the metrics."""
    strategy = compute_strategy(settings)  # threads and devices, before TensorFlow starts
    start = time.perf_counter()
    settings = settings.replace(adam_steps=adam_steps(settings))  # the noise-dependent default
    setup = build(settings)
    truth = setup.truth

    def tracked_error() -> dict[str, float]:  # metrics.json's error_history
        return tracked_errors(setup)

    data_name = "packaged Kovasznay data" if settings.data is None else settings.data
    noise = "clean" if settings.noise == 0 else f"noise {settings.noise:g}"
    print(f"Navier-Stokes identification: {data_name} ({setup.data.n_points} points x "
          f"{setup.data.n_times} times; true lambda1 {truth['lambda1']:g}, lambda2 "
          f"{truth['lambda2']:g}), N={settings.n_train} ({noise}), network [3, 20 x {settings.widths}, 2], "
          f"{settings.dtype}, seed {settings.seed}, Adam {settings.adam_steps}, "
          f"{settings.run.get('method', 'L-BFGS-B')} maxiter {settings.lbfgs_maxiter}", flush=True)
    result = train_example(settings, setup.problem, strategy, error=tracked_error,
                           error_name=TRACKED_ERROR)

    prediction = setup.predict()
    errors = setup.errors(prediction)
    values = setup.coefficients()
    pct = coefficient_errors(values, truth)
    wall = time.perf_counter() - start
    summary = result.summary()
    print(f"status {result.status}; Adam {summary['adam_steps']} steps, {settings.method} {summary['lbfgs_nit']} "
          f"iterations ({summary['lbfgs_nfev']} evaluations){' in all, resumed' if result.resumed else ''}; "
          f"lambda1 {values['lambda1']:.6f} (error {pct['lambda1_error_pct']:.3f} %), lambda2 "
          f"{values['lambda2']:.6f} (error {pct['lambda2_error_pct']:.3f} %); relative L2 error u "
          f"{errors['relative_l2_error_u']:.3e}, v {errors['relative_l2_error_v']:.3e}, p "
          f"{errors['relative_l2_error_p']:.3e}; final loss {result.final_loss:.3e}; {wall:.1f} s",
          flush=True)
    metrics = {
        **run_metrics(NAME, settings, result, wall),
        "lambda1": values["lambda1"],
        "lambda2": values["lambda2"],
        **pct,
        "lambda1_true": truth["lambda1"],
        "lambda2_true": truth["lambda2"],
        **errors,
        "relative_l2_error": float(np.hypot(errors["relative_l2_error_u"],
                                            errors["relative_l2_error_v"]) / np.sqrt(2.0)),
        "data": str(setup.data.path),
        "n_train": settings.n_train,
        "noise": settings.noise,
        "layers": [3] + [20] * settings.widths + [2],
    }
    write_outputs(settings.out, metrics, lambda: write_figures(
        setup, settings.out, result.history, prediction, status=result.status),
        prog=settings.prog or NAME)
    return metrics


def plot(run_dir: str | os.PathLike, out: str | os.PathLike | None = None) -> list[Path]:
    """The figures of a run again, from its directory: the problem rebuilt from the settings saved
    in its checkpoint, the saved weights (and coefficients) loaded. Writes to ``out`` (default
    ``run_dir``)."""
    return replot(sys.modules[__name__], run_dir, out)


def main(argv: list[str] | None = None, prog: str | None = None, command: str | None = None) -> int:
    """The command line (``python examples/navier_stokes.py``, ``pinn solve navier_stokes``); the
    exit code."""
    return run_example(sys.modules[__name__], argv, prog=prog, command=command)


if __name__ == "__main__":
    sys.exit(main(command=f"python {sys.argv[0]}"))
