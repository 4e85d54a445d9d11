"""Nonlinear Schrödinger equation, continuous-time inference (Raissi, Perdikaris & Karniadakis 2019,
Sec. 3.1.1, Fig. 2).

    i h_t + 0.5 h_xx + |h|^2 h = 0,  x in [-5, 5], t in [0, pi/2],
    h(0, x) = 2 sech(x),  h(t, -5) = h(t, 5),  h_x(t, -5) = h_x(t, 5),

h = u + i v complex, learned as two real fields (u, v) by a [2, 100 x 4, 2] tanh network with
inputs scaled to [-1, 1]. The paper's setup: N_0 = 50 points on the initial slice (u = 2 sech(x),
v = 0 there), N_b = 50 times with periodic conditions on u, v, u_x and v_x, N_f = 20000
Latin-hypercube collocation points for the two residuals (real and imaginary parts), Adam 50000
steps (learning rate 1e-3) then L-BFGS-B. The loss is the paper's sum of means: both residuals,
the initial misfit of u and of v, and the four periodic mismatches (each ``PeriodicBC`` term is the
mean over values and first derivatives, so it carries weight 2).

The error is the relative L2 error of |h| against data/NLS.h5 (x (256,), tt (201,), uu (256, 201)
complex; ``python -m pinn.reference.nls`` regenerates it), and of u and v. Writes metrics.json
(``relative_l2_error`` of |h|, ``relative_l2_error_u``, ``relative_l2_error_v``), solution.png
(|h| predicted with the training points, reference, error, slices at t = 0.59, 0.79, 0.98),
loss_history.png, error_history.png (the error of |h| against training time, sampled every
--error-every seconds; metrics.json's ``error_history`` holds u's and v's too) and checkpoint.h5
to --out.

    pinn solve schrodinger                     # the paper's setup (hours on a CPU)
    pinn solve schrodinger --dtype float32 --adam-steps 10000 --lbfgs-maxiter 6000
                                               # float32, as the paper's code, and smaller budgets:
                                               # met the paper's error on seeds 0-2 (README)
    pinn solve schrodinger --quick             # a smoke test, well under a minute
    pinn solve schrodinger --resume            # go on after Ctrl-C / SIGTERM / a crash
    pinn plot runs/schrodinger                 # the figures again, from the saved run
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
from pinn.equations import Schrodinger
from pinn.scripts import (compute_strategy, example_parser, existing_file, replot, run_metrics,
                          run_example, train_example, set_seeds, write_outputs)
from pinn.settings import FlagParser, RunSettings, positive_float, positive_int

NAME = "schrodinger"
DESCRIPTION = "Nonlinear Schrödinger equation, continuous-time inference (the PINN paper's Fig. 2 setup)"

ADAM_STEPS = 50000
LBFGS_MAXITER = 50000
DTYPE = "float64"
GTOL = 1e-10
X_MIN, X_MAX = -5.0, 5.0
T_FINAL = np.pi / 2
SLICE_TIMES = (0.59, 0.79, 0.98)  # the paper's
#: The paper's sizes.
FULL = {"n_0": 50, "n_b": 50, "n_f": 20000, "depth": 4, "width": 100}
#: A smoke test (about 10 s of training on 2 CPU cores without XLA).
QUICK = {"adam_steps": 100, "lbfgs_maxiter": 200, "n_f": 500, "depth": 2, "width": 20}


def build_parser(prog: str | None = None) -> FlagParser:
    """The example's flags: the shared ones (:func:`pinn.scripts.example_parser`) and its own."""
    parser = example_parser(NAME, __doc__, prog=prog, out="runs/schrodinger", adam_steps=ADAM_STEPS,
                            lbfgs_maxiter=LBFGS_MAXITER, dtype=DTYPE,
                            derivatives="taylor")
    parser.problem_flag("--n-0", type=positive_int, default=None,
                        help=f"initial points, u = 2 sech(x) and v = 0 there (default {FULL['n_0']})")
    parser.problem_flag("--n-b", type=positive_int, default=None,
                        help=f"times of the periodic conditions at x = -5, 5 (default {FULL['n_b']})")
    parser.problem_flag("--n-f", type=positive_int, default=None,
                        help=f"collocation points (default {FULL['n_f']})")
    parser.problem_flag("--depth", type=positive_int, default=None,
                        help=f"hidden layers (default {FULL['depth']})")
    parser.problem_flag("--width", type=positive_int, default=None,
                        help=f"neurons per hidden layer (default {FULL['width']})")
    parser.problem_flag("--data", type=existing_file, default=None,
                        help="reference data (.h5 with x, tt, uu; default the packaged NLS.h5)")
    parser.run_flag("--gtol", type=positive_float, default=GTOL,
                    help=f"L-BFGS-B gradient tolerance (default {GTOL:g})")
    parser.set_presets(full=FULL, quick=QUICK)
    return parser


def initial_condition(x: np.ndarray) -> np.ndarray:
    """h(0, x) = 2 sech(x) for (n,) positions; (n,) float64 (h is real at t = 0: v = 0)."""
    return 2.0 / np.cosh(np.asarray(x, dtype=np.float64))


def load_nls(path: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The reference solution: ``(x (nx,), t (nt,), h (nx, nt) complex)`` with
    ``h[i, j] = h(x_i, t_j)``; default the packaged ``NLS.h5``."""
    data = pinn.load_reference(pinn.data.DATA_DIR / "NLS.h5" if path is None else path)
    x = np.asarray(data["x"], dtype=np.float64).reshape(-1)
    t = np.asarray(data["tt"], dtype=np.float64).reshape(-1)
    h = np.asarray(data["uu"], dtype=np.complex128)
    if h.shape != (len(x), len(t)):
        raise ValueError(f"uu must have shape (len(x), len(tt)) = ({len(x)}, {len(t)}), got {h.shape}")
    return x, t, h


def errors(prediction: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """Relative L2 errors of |h| (``relative_l2_error``), u and v, and the max abs error of |h|,
    for complex (nx, nt) fields."""
    return {"relative_l2_error": pinn.relative_l2_error(np.abs(prediction), np.abs(reference)),
            "relative_l2_error_u": pinn.relative_l2_error(prediction.real, reference.real),
            "relative_l2_error_v": pinn.relative_l2_error(prediction.imag, reference.imag),
            "max_abs_error": pinn.max_abs_error(np.abs(prediction), np.abs(reference))}


@dataclasses.dataclass
class Setup:
    """What :func:`build` makes from the problem flags: the reference grid and solution, the
    training points and the problem."""

    x: np.ndarray  # (nx,)
    t: np.ndarray  # (nt,)
    h: np.ndarray  # (nx, nt) complex reference
    grid: np.ndarray  # (nx * nt, 2), pinn.grid_points order
    initial: np.ndarray  # (N_0, 2)
    lower: np.ndarray  # (N_b, 2) at x = -5
    upper: np.ndarray  # (N_b, 2) at x = 5
    collocation: np.ndarray  # (N_f, 2)
    network: Any
    problem: pinn.Problem

    def predict(self) -> np.ndarray:
        """h = u + i v on the reference grid, (len(x), len(t)) complex."""
        uv = self.problem.predict(self.grid)
        return (uv[:, 0] + 1j * uv[:, 1]).reshape(len(self.x), len(self.t))


def build(settings: RunSettings) -> Setup:
    """The problem the settings' problem flags define (seeds set, nothing trained)."""
    rng = set_seeds(settings.seed)
    x, t, h = load_nls(settings.data)
    domain = pinn.Interval(X_MIN, X_MAX, "x") * pinn.TimeInterval(0.0, T_FINAL, "t")
    initial = domain.sample_initial(settings.n_0, "lhs", seed=rng)
    lower, upper = domain.periodic_pairs("x", settings.n_b, "lhs", seed=rng)
    collocation = domain.sample_interior(settings.n_f, "lhs", seed=rng)
    conditions = [
        pinn.InitialCondition("u", initial, initial_condition(initial[:, 0]), name="initial_u"),
        pinn.InitialCondition("v", initial, 0.0, name="initial_v"),
        # mean over (value, x-derivative) columns: weight 2 makes it the paper's sum of two means
        pinn.PeriodicBC("u", "x", lower, upper, derivatives=(0, 1), weight=2.0),
        pinn.PeriodicBC("v", "x", lower, upper, derivatives=(0, 1), weight=2.0),
    ]
    network = pinn.mlp(2, 2, [settings.width] * settings.depth, "tanh", lower=domain.lower,
                       upper=domain.upper, dtype=settings.dtype, seed=settings.seed)
    problem = pinn.Problem(Schrodinger(), network, collocation, conditions, dtype=settings.dtype,
                           derivatives=settings.derivatives)
    return Setup(x=x, t=t, h=h, grid=pinn.grid_points(x, t), initial=initial, lower=lower,
                 upper=upper, collocation=collocation, network=network, problem=problem)


def write_figures(setup: Setup, out: str | os.PathLike, history: pinn.History,
                  prediction: np.ndarray | None = None, status: str | None = None) -> list[Path]:
    """``solution.png`` (|h| predicted with the training points, reference, error, slices) and
    ``loss_history.png`` in ``out``."""
    prediction = setup.predict() if prediction is None else prediction
    error = errors(prediction, setup.h)["relative_l2_error"]
    os.makedirs(out, exist_ok=True)
    written = [pinn.plot_solution(
        setup.x, setup.t, np.abs(prediction), np.abs(setup.h), path=os.path.join(out, "solution.png"),
        train_points={"initial": setup.initial, "periodic": np.vstack([setup.lower, setup.upper])},
        slice_times=SLICE_TIMES, field="|h|",
        title=f"Schrödinger, |h|: rel. L2 error {error:.2e}", status=status)]
    if len(history):
        written.append(pinn.plot_history(history, path=os.path.join(out, "loss_history.png"),
                                         status=status))
    return [Path(p) for p in written]


def solve(settings: RunSettings) -> dict:
    """Train as the settings say; writes metrics.json, the checkpoint and the figures to
    ``settings.out``. Returns the metrics."""
    strategy = compute_strategy(settings)  # devices, before TensorFlow starts
    start = time.perf_counter()
    setup = build(settings)

    def tracked_error() -> dict[str, float]:  # metrics.json's error_history (|h| first, u, v)
        return errors(setup.predict(), setup.h)

    layers = [2] + [settings.width] * settings.depth + [2]
    print(f"Schrödinger: N_0={settings.n_0}, N_b={settings.n_b}, N_f={settings.n_f}, network "
          f"[2, {settings.width} x {settings.depth}, 2], {settings.dtype}, seed {settings.seed}, Adam "
          f"{settings.adam_steps}, {settings.method} maxiter {settings.lbfgs_maxiter}", flush=True)
    result = train_example(settings, setup.problem, strategy, error=tracked_error)

    prediction = setup.predict()
    measured = errors(prediction, setup.h)
    wall = time.perf_counter() - start
    summary = result.summary()
    print(f"status {result.status}; Adam {summary['adam_steps']} steps, {settings.method} {summary['lbfgs_nit']} "
          f"iterations ({summary['lbfgs_nfev']} evaluations){' in all, resumed' if result.resumed else ''}; "
          f"relative L2 error |h| {measured['relative_l2_error']:.3e} (u "
          f"{measured['relative_l2_error_u']:.3e}, v {measured['relative_l2_error_v']:.3e}); final "
          f"loss {result.final_loss:.3e}; {wall:.1f} s", flush=True)
    metrics = {
        **run_metrics(NAME, settings, result, wall),
        **measured,
        "n_0": settings.n_0,
        "n_b": settings.n_b,
        "n_f": settings.n_f,
        "layers": layers,
    }
    write_outputs(settings.out, metrics, lambda: write_figures(
        setup, settings.out, result.history, prediction, status=result.status),
        prog=settings.prog or NAME)
    return metrics


def plot(run_dir: str | os.PathLike, out: str | os.PathLike | None = None) -> list[Path]:
    """The figures of a run again, from its directory: the problem rebuilt from the settings saved
    in its checkpoint, the saved weights loaded. Writes to ``out`` (default ``run_dir``)."""
    return replot(sys.modules[__name__], run_dir, out)


def main(argv: list[str] | None = None, prog: str | None = None, command: str | None = None) -> int:
    """The command line (``python examples/schrodinger.py``, ``pinn solve schrodinger``); the exit
    code."""
    return run_example(sys.modules[__name__], argv, prog=prog, command=command)


if __name__ == "__main__":
    sys.exit(main(command=f"python {sys.argv[0]}"))
