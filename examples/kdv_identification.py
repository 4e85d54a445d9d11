"""Korteweg–de Vries equation, discrete-time identification (Raissi, Perdikaris & Karniadakis 2019,
Sec. 4.2.1, Fig. 7).

    u_t + lambda1 u u_x + lambda2 u_xxx = 0,  x in [-1, 1) periodic,  u(0, x) = cos(pi x),

with lambda1 and lambda2 unknown (true values 1 and 0.0025) and learned from two snapshots of the
reference solution (data/KdV.h5: x (512,), tt (201,), uu (512, 201); ``pinn data kdv``
regenerates it) at t = 0.2 and t = 0.8: one implicit Runge–Kutta step of dt = 0.6 with q = 50
Gauss–Legendre stages, a :class:`pinn.discrete_time.DiscreteTimeProblem` with ``next_snapshot``.
The paper's setup: N_0 = 199 and N_1 = 201 points drawn uniformly from the 512 of each snapshot,
a [1, 50 x 4, 50] tanh network (input scaled to [-1, 1] from the data's x range), lambda1 from 0
and lambda2 = exp(raw) from exp(-6), Adam 50000 steps (learning rate 1e-3) then L-BFGS-B. The
loss is the mean over the 50 stage predictions of u at t = 0.2 (and at t = 0.8) at the snapshot
points (the paper's code summed them: another scale, the same minimiser).

Writes metrics.json (``lambda1``, ``lambda2`` and their errors in percent ``lambda1_error_pct``,
``lambda2_error_pct``; ``error_history``: the larger of the two errors, ``lambda_error_pct``,
sampled every ``--error-every`` seconds of training), solution.png (the reference with the two
times marked and the data at each, the identified equation in the title, as the paper's Fig. 7),
loss_history.png, error_history.png and checkpoint.h5 to --out.

    pinn solve kdv_identification              # the paper's setup (long on a CPU)
    pinn solve kdv_identification --quick      # a smoke test, well under a minute
    pinn solve kdv_identification --resume     # go on after Ctrl-C / SIGTERM / a crash
    pinn plot runs/kdv_identification          # the figures again, from the saved run
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
from pinn.discrete_time import DiscreteTimeProblem, Snapshot, grid_snapshot, plot_snapshots
from pinn.equations import KdVIdentification
from pinn.scripts import (compute_strategy, example_parser, existing_file, replot, run_metrics,
                          run_example, train_example, set_seeds, write_outputs)
from pinn.settings import (FlagParser, RunSettings, UsageError, positive_float, positive_int)

NAME = "kdv_identification"
DESCRIPTION = ("Korteweg–de Vries equation, identification of lambda1 and lambda2 from two snapshots "
               "(the PINN paper's Fig. 7)")

ADAM_STEPS = 50000
LBFGS_MAXITER = 50000
DTYPE = "float64"
GTOL = 1e-10
T_START, T_END = 0.2, 0.8  # the paper's snapshots (indices 40 and 160)
TRUE_VALUES = dict(KdVIdentification.TRUE_VALUES)  # lambda1 = 1, lambda2 = 0.0025
#: The paper's sizes.
FULL = {"q": 50, "n_0": 199, "n_1": 201, "depth": 4, "width": 50}
#: A smoke test (seconds of training on 2 CPU cores without XLA).
QUICK = {"adam_steps": 100, "lbfgs_maxiter": 150, "q": 10, "n_0": 60, "n_1": 60, "depth": 2,
         "width": 20}
#: The main error of metrics.json's error_history: the larger of the two coefficients' errors, in
#: percent.
TRACKED_ERROR = "lambda_error_pct"


def build_parser(prog: str | None = None) -> FlagParser:
    """The example's flags: the shared ones (:func:`pinn.scripts.example_parser`) and its own."""
    parser = example_parser(NAME, __doc__, prog=prog, out="runs/kdv_identification",
                            adam_steps=ADAM_STEPS, lbfgs_maxiter=LBFGS_MAXITER, dtype=DTYPE,
                            derivatives="taylor")
    parser.problem_flag("--q", type=positive_int, default=None,
                        help=f"Runge–Kutta stages (default {FULL['q']})")
    parser.problem_flag("--n-0", type=positive_int, default=None,
                        help=f"points drawn from the snapshot at t = {T_START} (default {FULL['n_0']})")
    parser.problem_flag("--n-1", type=positive_int, default=None,
                        help=f"points drawn from the snapshot at t = {T_END} (default {FULL['n_1']})")
    parser.problem_flag("--depth", type=positive_int, default=None,
                        help=f"hidden layers (default {FULL['depth']})")
    parser.problem_flag("--width", type=positive_int, default=None,
                        help=f"neurons per hidden layer (default {FULL['width']})")
    parser.problem_flag("--data", type=existing_file, default=None,
                        help="reference data (.h5 with x, tt, uu; default the packaged KdV.h5)")
    parser.run_flag("--gtol", type=positive_float, default=GTOL,
                    help=f"L-BFGS-B gradient tolerance (default {GTOL:g})")
    parser.set_presets(full=FULL, quick=QUICK)
    return parser


def load_kdv(path: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The reference solution ``(x (nx,), t (nt,), u (nx, nt))``, ``u[i, j] = u(x_i, t_j)``;
    default the packaged ``KdV.h5``."""
    data = pinn.load_reference(pinn.data.DATA_DIR / "KdV.h5" if path is None else path,
                               names=["x", "tt", "uu"])
    x = np.asarray(data["x"], dtype=np.float64).reshape(-1)
    t = np.asarray(data["tt"], dtype=np.float64).reshape(-1)
    u = np.real(np.asarray(data["uu"])).astype(np.float64)
    if u.shape != (len(x), len(t)):
        raise ValueError(f"uu must have shape (len(x), len(tt)) = ({len(x)}, {len(t)}), got {u.shape}")
    return x, t, u


def coefficient_errors(values: dict[str, float]) -> dict[str, float]:
    """``{"lambda1_error_pct": 100 |lambda1 - 1|, "lambda2_error_pct": 100 |lambda2 - 0.0025| /
    0.0025}``."""
    return {f"{name}_error_pct": 100.0 * abs(float(values[name]) - true) / abs(true)
            for name, true in TRUE_VALUES.items()}


@dataclasses.dataclass
class Setup:
    """What :func:`build` makes from the problem flags: the reference data, the two snapshots and
    the problem."""

    x: np.ndarray  # (nx,)
    t: np.ndarray  # (nt,)
    u: np.ndarray  # (nx, nt) reference
    snapshot: Snapshot  # t = 0.2: points (N_0, 1), values (N_0, 1)
    next_snapshot: Snapshot  # t = 0.8: points (N_1, 1), values (N_1, 1)
    equation: KdVIdentification
    network: Any
    problem: DiscreteTimeProblem

    def coefficients(self) -> dict[str, float]:
        """The current lambda1 and lambda2."""
        return self.equation.coefficient_values()


def build(settings: RunSettings) -> Setup:
    """The problem the settings' problem flags define (seeds set, nothing trained).

    Raises:
        UsageError: ``--n-0`` or ``--n-1`` larger than the snapshots' positions.
    """
    rng = set_seeds(settings.seed)
    x, t, u = load_kdv(settings.data)
    for flag, n in (("--n-0", settings.n_0), ("--n-1", settings.n_1)):
        if n > len(x):
            raise UsageError(f"argument {flag}: expected at most {len(x)} (the snapshot's positions), "
                             f"got {n}")
    snapshot = grid_snapshot(x, t, u, T_START, n=settings.n_0, seed=rng)  # the paper's uniform draws
    next_snapshot = grid_snapshot(x, t, u, T_END, n=settings.n_1, seed=rng)
    network = pinn.mlp(1, settings.q, [settings.width] * settings.depth, "tanh", lower=[x.min()],
                       upper=[x.max()], dtype=settings.dtype, seed=settings.seed)
    equation = KdVIdentification()
    problem = DiscreteTimeProblem(equation, network, settings.q, None, snapshot,
                                  next_snapshot=next_snapshot, dtype=settings.dtype,
                                  derivatives=settings.derivatives)
    return Setup(x=x, t=t, u=u, snapshot=snapshot, next_snapshot=next_snapshot, equation=equation,
                 network=network, problem=problem)


def tracked_errors(setup: Setup) -> dict[str, float]:
    """One error_history sample: ``lambda_error_pct`` (max of the two errors, percent) first, then
    both errors and both values."""
    values = setup.coefficients()
    errors = coefficient_errors(values)
    return {TRACKED_ERROR: max(errors.values()), **errors, **values}


def write_figures(setup: Setup, out: str | os.PathLike, history: pinn.History,
                  status: str | None = None) -> list[Path]:
    """``solution.png`` (the paper's Fig. 7 layout, the identified equation in the title) and
    ``loss_history.png`` in ``out``."""
    values = setup.coefficients()
    errors = coefficient_errors(values)
    os.makedirs(out, exist_ok=True)
    panels = [{"time": s.time, "points": s.points, "values": s.values,
               "label": f"t = {s.time:g}: {len(s.points)} data points"}
              for s in (setup.snapshot, setup.next_snapshot)]
    title = (f"KdV identification (q = {setup.problem.stages}, dt = {setup.problem.dt:g}): "
             f"u_t + {values['lambda1']:.5f} u u_x + {values['lambda2']:.7f} u_xxx = 0\n"
             f"errors {errors['lambda1_error_pct']:.3f} % / {errors['lambda2_error_pct']:.3f} % "
             f"(true u_t + u u_x + 0.0025 u_xxx = 0)")
    written = [plot_snapshots(setup.x, setup.t, setup.u, panels, path=os.path.join(out, "solution.png"),
                              title=title, status=status)]
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

    def tracked_error() -> dict[str, float]:  # metrics.json's error_history
        return tracked_errors(setup)

    layers = [1] + [settings.width] * settings.depth + [settings.q]
    print(f"KdV identification, discrete time: q={settings.q}, N_0={settings.n_0} at t = {T_START}, "
          f"N_1={settings.n_1} at t = {T_END}, network [1, {settings.width} x {settings.depth}, "
          f"{settings.q}], {settings.dtype}, seed {settings.seed}, Adam {settings.adam_steps}, "
          f"{settings.method} maxiter {settings.lbfgs_maxiter}", flush=True)
    result = train_example(settings, setup.problem, strategy, error=tracked_error,
                           error_name=TRACKED_ERROR)

    values = setup.coefficients()
    errors = coefficient_errors(values)
    wall = time.perf_counter() - start
    summary = result.summary()  # counts of the whole run; lambda1, lambda2 by name
    print(f"status {result.status}; Adam {summary['adam_steps']} steps, {settings.method} {summary['lbfgs_nit']} "
          f"iterations ({summary['lbfgs_nfev']} evaluations){' in all, resumed' if result.resumed else ''}; "
          f"lambda1 {values['lambda1']:.6f} (error {errors['lambda1_error_pct']:.3f} %), lambda2 "
          f"{values['lambda2']:.7f} (error {errors['lambda2_error_pct']:.3f} %); final loss "
          f"{result.final_loss:.3e}; {wall:.1f} s", flush=True)
    metrics = {
        **run_metrics(NAME, settings, result, wall),
        "lambda1": values["lambda1"],
        "lambda2": values["lambda2"],
        **errors,
        "lambda1_true": TRUE_VALUES["lambda1"],
        "lambda2_true": TRUE_VALUES["lambda2"],
        "q": settings.q,
        "n_0": settings.n_0,
        "n_1": settings.n_1,
        "dt": setup.problem.dt,
        "t_start": T_START,
        "t_end": T_END,
        "layers": layers,
    }
    write_outputs(settings.out, metrics, lambda: write_figures(
        setup, settings.out, result.history, status=result.status), prog=settings.prog or NAME)
    return metrics


def plot(run_dir: str | os.PathLike, out: str | os.PathLike | None = None) -> list[Path]:
    """The figures of a run again, from its directory: the problem rebuilt from the settings saved
    in its checkpoint, the saved weights and coefficients loaded. Writes to ``out`` (default
    ``run_dir``)."""
    return replot(sys.modules[__name__], run_dir, out)


def main(argv: list[str] | None = None, prog: str | None = None, command: str | None = None) -> int:
    """The command line (``python examples/kdv_identification.py``, ``pinn solve
    kdv_identification``); the exit code."""
    return run_example(sys.modules[__name__], argv, prog=prog, command=command)


if __name__ == "__main__":
    sys.exit(main(command=f"python {sys.argv[0]}"))
