"""Allen–Cahn equation, discrete-time inference (Raissi, Perdikaris & Karniadakis 2019, Sec. 3.2.1,
Fig. 4).

    u_t - 0.0001 u_xx + 5 u^3 - 5 u = 0,  x in [-1, 1] periodic,  u(0, x) = x^2 cos(pi x),

learned over one implicit Runge–Kutta step (Gauss–Legendre, q = 100 stages, order 200) from
t = 0.1 to t = 0.9 (dt = 0.8): a :class:`pinn.discrete_time.DiscreteTimeProblem` whose network
[1, 200 x 4, 101] (tanh, input scaled to [-1, 1]) maps x to the 100 stage values and u(0.9, x).
The paper's setup: N = 200 points drawn uniformly from the 512 of the snapshot at t = 0.1
(data/AC.h5: x (512,), tt (201,), uu (512, 201); ``pinn data allen_cahn`` regenerates it),
periodic values and first derivatives at x = -1, 1 for all 101 outputs, Adam 10000 steps
(learning rate 1e-3) then L-BFGS-B. The loss is the mean over all 200 x 101 predictions of u at
t = 0.1 plus the mean periodic mismatch (the paper's code summed them: another scale, the same
minimiser).

The error is the relative L2 error of u(0.9, x) against the reference on its 512 positions
(the paper: 6.99e-3). Writes metrics.json (``relative_l2_error``, ``max_abs_error``, and
``error_history``: that error sampled every ``--error-every`` seconds of training),
solution.png (the reference with the two times marked; the data at t = 0.1 and the prediction
at t = 0.9, as the paper's Fig. 4), loss_history.png, error_history.png and checkpoint.h5 to
--out.

    pinn solve allen_cahn                      # the paper's setup (long on a CPU)
    pinn solve allen_cahn --quick              # a smoke test, well under a minute
    pinn solve allen_cahn --resume             # go on after Ctrl-C / SIGTERM / a crash
    pinn plot runs/allen_cahn                  # the figures again, from the saved run
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
from pinn.discrete_time import DiscreteTimeProblem, Periodic, Snapshot, grid_snapshot, plot_snapshots
from pinn.equations import AllenCahn
from pinn.scripts import (compute_strategy, example_parser, existing_file, replot, run_metrics,
                          run_example, train_example, set_seeds, write_outputs)
from pinn.settings import (FlagParser, RunSettings, UsageError, positive_float, positive_int)

NAME = "allen_cahn"
DESCRIPTION = "Allen–Cahn equation, discrete-time inference over one Runge–Kutta step (the PINN paper's Fig. 4)"

ADAM_STEPS = 10000
LBFGS_MAXITER = 50000
DTYPE = "float64"
GTOL = 1e-10
X_MIN, X_MAX = -1.0, 1.0
T_START, T_END = 0.1, 0.9  # the paper's snapshot (index 20) and prediction (index 180) times
#: The paper's sizes.
FULL = {"q": 100, "n": 200, "depth": 4, "width": 200}
#: A smoke test (seconds of training on 2 CPU cores without XLA).
QUICK = {"adam_steps": 100, "lbfgs_maxiter": 100, "q": 10, "n": 50, "depth": 2, "width": 20}


def build_parser(prog: str | None = None) -> FlagParser:
    """The example's flags: the shared ones (:func:`pinn.scripts.example_parser`) and its own."""
    parser = example_parser(NAME, __doc__, prog=prog, out="runs/allen_cahn", adam_steps=ADAM_STEPS,
                            lbfgs_maxiter=LBFGS_MAXITER, dtype=DTYPE,
                            derivatives="taylor")
    parser.problem_flag("--q", type=positive_int, default=None,
                        help=f"Runge–Kutta stages (default {FULL['q']})")
    parser.problem_flag("--n", type=positive_int, default=None,
                        help=f"points drawn from the 512 of the snapshot at t = {T_START} "
                             f"(default {FULL['n']})")
    parser.problem_flag("--depth", type=positive_int, default=None,
                        help=f"hidden layers (default {FULL['depth']})")
    parser.problem_flag("--width", type=positive_int, default=None,
                        help=f"neurons per hidden layer (default {FULL['width']})")
    parser.problem_flag("--data", type=existing_file, default=None,
                        help="reference data (.h5 with x, tt, uu; default the packaged AC.h5)")
    parser.run_flag("--gtol", type=positive_float, default=GTOL,
                    help=f"L-BFGS-B gradient tolerance (default {GTOL:g})")
    parser.set_presets(full=FULL, quick=QUICK)
    return parser


def load_allen_cahn(path: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The reference solution ``(x (nx,), t (nt,), u (nx, nt))``, ``u[i, j] = u(x_i, t_j)``;
    default the packaged ``AC.h5``."""
    data = pinn.load_reference(pinn.data.DATA_DIR / "AC.h5" if path is None else path,
                               names=["x", "tt", "uu"])
    x = np.asarray(data["x"], dtype=np.float64).reshape(-1)
    t = np.asarray(data["tt"], dtype=np.float64).reshape(-1)
    u = np.real(np.asarray(data["uu"])).astype(np.float64)
    if u.shape != (len(x), len(t)):
        raise ValueError(f"uu must have shape (len(x), len(tt)) = ({len(x)}, {len(t)}), got {u.shape}")
    return x, t, u


@dataclasses.dataclass
class Setup:
    """What :func:`build` makes from the problem flags: the reference data, the snapshot at
    t = 0.1, the reference at t = 0.9 and the problem."""

    x: np.ndarray  # (nx,)
    t: np.ndarray  # (nt,)
    u: np.ndarray  # (nx, nt) reference
    snapshot: Snapshot  # points (N, 1), values (N, 1), time 0.1
    target: np.ndarray  # (nx,) reference u(0.9, x)
    network: Any
    problem: DiscreteTimeProblem

    def predict(self) -> np.ndarray:
        """u(0.9, x) predicted at the reference's positions, (nx,)."""
        return self.problem.predict_next(self.x)[:, 0]


def build(settings: RunSettings) -> Setup:
    """The problem the settings' problem flags define (seeds set, nothing trained).

    Raises:
        UsageError: ``--n`` larger than the snapshot's positions.
    """
    rng = set_seeds(settings.seed)
    x, t, u = load_allen_cahn(settings.data)
    if settings.n > len(x):
        raise UsageError(f"argument --n: expected at most {len(x)} (the snapshot's positions), got "
                         f"{settings.n}")
    snapshot = grid_snapshot(x, t, u, T_START, n=settings.n, seed=rng)  # the paper's uniform draw
    target = grid_snapshot(x, t, u, T_END).values[:, 0]
    network = pinn.mlp(1, settings.q + 1, [settings.width] * settings.depth, "tanh",
                       lower=[X_MIN], upper=[X_MAX], dtype=settings.dtype, seed=settings.seed)
    problem = DiscreteTimeProblem(AllenCahn(), network, settings.q, T_END - T_START, snapshot,
                                  boundary=[Periodic("x", X_MIN, X_MAX, derivatives=1)],
                                  dtype=settings.dtype, derivatives=settings.derivatives)
    return Setup(x=x, t=t, u=u, snapshot=snapshot, target=target, network=network, problem=problem)


def errors(prediction: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """Relative L2 and max abs error of u(0.9, x), (nx,) arrays."""
    return {"relative_l2_error": pinn.relative_l2_error(prediction, target),
            "max_abs_error": pinn.max_abs_error(prediction, target)}


def write_figures(setup: Setup, out: str | os.PathLike, history: pinn.History,
                  prediction: np.ndarray | None = None, status: str | None = None) -> list[Path]:
    """``solution.png`` (the paper's Fig. 4 layout) and ``loss_history.png`` in ``out``."""
    prediction = setup.predict() if prediction is None else prediction
    error = errors(prediction, setup.target)["relative_l2_error"]
    os.makedirs(out, exist_ok=True)
    panels = [{"time": T_START, "points": setup.snapshot.points, "values": setup.snapshot.values,
               "label": f"t = {T_START}: {len(setup.snapshot.points)} data points"},
              {"time": T_END, "prediction": prediction,
               "label": f"t = {T_END}: prediction, rel. L2 error {error:.2e}"}]
    written = [plot_snapshots(setup.x, setup.t, setup.u, panels, path=os.path.join(out, "solution.png"),
                              title=f"Allen–Cahn, discrete-time inference (q = "
                                    f"{setup.problem.stages}, dt = {T_END - T_START:g})",
                              status=status)]
    if len(history):
        written.append(pinn.plot_history(history, path=os.path.join(out, "loss_history.png"),
                                         status=status))
    return [Path(p) for p in written]


def solve(settings: RunSettings) -> dict:
    """Train as the settings say; writes metrics.json, the checkpoint and the figures to
    ``settings.out``. Returns the metrics."""
    strategy = compute_strategy(settings)  # threads and devices, before TensorFlow starts
    start = time.perf_counter()
    setup = build(settings)

    def tracked_error() -> float:  # metrics.json's error_history, every --error-every s of training
        return errors(setup.predict(), setup.target)["relative_l2_error"]

    layers = [1] + [settings.width] * settings.depth + [settings.q + 1]
    print(f"Allen–Cahn, discrete time: q={settings.q}, N={settings.n}, t {T_START} -> {T_END}, network "
          f"[1, {settings.width} x {settings.depth}, {settings.q + 1}], {settings.dtype}, seed "
          f"{settings.seed}, Adam {settings.adam_steps}, {settings.method} maxiter {settings.lbfgs_maxiter}",
          flush=True)
    result = train_example(settings, setup.problem, strategy, error=tracked_error)

    prediction = setup.predict()
    measured = errors(prediction, setup.target)
    wall = time.perf_counter() - start
    summary = result.summary()
    print(f"status {result.status}; Adam {summary['adam_steps']} steps, {settings.method} {summary['lbfgs_nit']} "
          f"iterations ({summary['lbfgs_nfev']} evaluations){' in all, resumed' if result.resumed else ''}; "
          f"relative L2 error at t = {T_END}: {measured['relative_l2_error']:.3e}; final loss "
          f"{result.final_loss:.3e}; {wall:.1f} s", flush=True)
    metrics = {
        **run_metrics(NAME, settings, result, wall),
        **measured,
        "q": settings.q,
        "n": settings.n,
        "dt": T_END - T_START,
        "t_start": T_START,
        "t_end": T_END,
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
    """The command line (``python examples/allen_cahn.py``, ``pinn solve allen_cahn``); the exit
    code."""
    return run_example(sys.modules[__name__], argv, prog=prog, command=command)


if __name__ == "__main__":
    sys.exit(main(command=f"python {sys.argv[0]}"))
