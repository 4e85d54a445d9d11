"""Burgers' equation, continuous-time inference (Raissi, Perdikaris & Karniadakis 2019, Fig. 1).

    u_t + u u_x - (0.01/pi) u_xx = 0,  x in [-1, 1], t in [0, 0.99],
    u(0, x) = -sin(pi x),  u(t, -1) = u(t, 1) = 0.

The paper's setup: N_u = 100 points drawn from the 456 initial/boundary points of the reference
grid (one per stratum along the grid by default; --n-u-draw random for the paper code's uniform
draw), N_f = 10000 Latin-hypercube collocation points plus those 456, a [2, 20 x 8, 1] tanh network
with inputs scaled to [-1, 1]. Trained by 14000 iterations of the dense self-scaled BFGS
(--method SSBFGS) from the start (no Adam warm-up; --adam-steps N adds one), with new
residual-based collocation points every 2000 iterations (--resample-every 2000 --resample
residual; --resample-every 0 keeps the first points), the input derivatives by forward (Taylor)
propagation through the network and the collocation points evaluated in 4 chunks of 2614 rows
(--derivatives taylor --chunk-size 2614; --derivatives tape --chunk-size 0 for the tape, all at
once); about ten minutes on 2 cores. In under half the time, with a higher error (about 4e-6
against 3e-7), --adam-steps 100 --lbfgs-maxiter 4000 --resample-every 0. The paper's plan:
--method L-BFGS-B --lbfgs-maxiter 50000 --resample-every 0. Writes solution.png, loss_history.png, error_history.png (the relative L2
error against training time, sampled every --error-every seconds), metrics.json and checkpoint.h5
(the training state: weights, Adam state, history) to --out.

    pinn solve burgers                         # the paper's problem (or: python examples/burgers.py)
    pinn solve burgers --quick                 # a smoke test, under a minute
    pinn solve burgers --resume                # go on after Ctrl-C / SIGTERM / a crash
    pinn plot runs/burgers                     # the figures again, from the saved run
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
from pinn.equations import Burgers
from pinn.scripts import (add_float32_flag, add_resample_flags, compute_strategy, example_parser,
                          existing_file, float32_twin, replot, resample_plan, run_metrics,
                          run_example, train_example, set_seeds, write_outputs)
from pinn.settings import (FlagParser, RunSettings, UsageError, positive_float, positive_int)

NAME = "burgers"
DESCRIPTION = "Burgers' equation, continuous-time inference (the PINN paper's Fig. 1 setup)"

# 14000 iterations of the dense self-scaled BFGS with residual-based (RAD) collocation points
# drawn anew every 2000 iterations, with no Adam warm-up, Taylor derivatives and 2614-row chunks:
# over seeds 0-4 on a 2-core Intel Xeon, 6.7e-4 on 5 of 5 seeds within 28 s, 1e-5 by 151 s (median
# 118 s), 1e-6 on 5 of 5 by 319 s (median 305 s) and a median final error of 3.0e-7 in about ten
# minutes, against 3.7e-7 (higher on every seed) for 10000 iterations with the tape and no chunks
# (the defaults until then; evaluations 1.39x slower), the two taking turns in the same run
# (benchmarks/time_to_accuracy_taylor14000_xeon.json). No warm-up: with the tape, 3.7e-7 against
# 4.6e-7 after Adam 100 steps (lower on 4 seeds, level on 1; time_to_accuracy_adam0_full_xeon.json).
# The resampling: 4.6e-7 against 3.3e-6 for the same 10000 iterations (after Adam 100) on the
# first points (time_to_accuracy_rad_xeon.json). Stopped at 4000 iterations without resampling
# (--lbfgs-maxiter 4000 --resample-every 0, with Adam 100): median 4.4e-6 in about 5.5 minutes
# (time_to_accuracy_resample.json, AMD EPYC); resampling does not help a run that short (4.8e-6
# against 4.2e-6 at iteration 4000).
# The paper's optimiser: 1.4e-3 after 5 minutes for Adam 1000 + L-BFGS-B
# (time_to_accuracy_defaults.json). README, "Measured results".
ADAM_STEPS = 0
METHOD = "SSBFGS"
LBFGS_MAXITER = 14000
DERIVATIVES = "taylor"
CHUNK_SIZE = 2614  # the 10456 collocation rows in 4 pieces (chunk_size_xeon.md: float64, 2 threads)
RESAMPLE_EVERY = 2000
RESAMPLE = "residual"
DTYPE = "float64"
GTOL = 1e-10
FLOAT32_ITERATIONS = 0
N_U_DRAW = "stratified"  # the paper's uniform draw leaves seed 0 a 0.23-wide gap in u(0, x): README
QUICK = {"adam_steps": 200, "lbfgs_maxiter": 1500, "n_f": 1000, "widths": 4, "neurons": 20}


def build_parser(prog: str | None = None) -> FlagParser:
    """The example's flags: the shared ones (:func:`pinn.scripts.example_parser`) and its own."""
    parser = example_parser(NAME, __doc__, prog=prog, out="runs/burgers", adam_steps=ADAM_STEPS,
                            lbfgs_maxiter=LBFGS_MAXITER, dtype=DTYPE, method=METHOD,
                            derivatives=DERIVATIVES, chunk_size=CHUNK_SIZE)
    parser.problem_flag("--n-u", type=positive_int, default=100,
                        help="initial/boundary data points, at most 456 (default 100)")
    parser.problem_flag("--n-u-draw", choices=("stratified", "random"), default=N_U_DRAW,
                        help="how the N_u points are drawn from the initial/boundary grid: one per "
                             "stratum along it, or uniformly as in the paper's code (default "
                             f"{N_U_DRAW})")
    parser.problem_flag("--n-f", type=positive_int, default=None,
                        help="collocation points (default 10000)")
    parser.problem_flag("--widths", type=positive_int, default=None,
                        help="hidden layers (default 8)")
    parser.problem_flag("--neurons", type=positive_int, default=None,
                        help="neurons per hidden layer (default 20)")
    parser.problem_flag("--data", type=existing_file, default=None,
                        help="reference data (.h5 or .mat; default the packaged burgers_shock.h5)")
    parser.run_flag("--gtol", type=positive_float, default=GTOL,
                    help=f"the second phase's gradient tolerance (default {GTOL:g})")
    add_resample_flags(parser, every=RESAMPLE_EVERY, method=RESAMPLE)
    add_float32_flag(parser, FLOAT32_ITERATIONS)
    parser.set_presets(full={"n_f": 10000, "widths": 8, "neurons": 20}, quick=QUICK)
    return parser


def initial_boundary_points(x: np.ndarray, t: np.ndarray, usol: np.ndarray):
    """The 456 points of the grid's initial slice and two boundaries, with their values.

    Returns (points (nx + 2 nt, 2), values (nx + 2 nt,), is_initial (nx + 2 nt,) bool).
    """
    initial = np.column_stack([x, np.full_like(x, t[0])])
    left = np.column_stack([np.full_like(t, x[0]), t])
    right = np.column_stack([np.full_like(t, x[-1]), t])
    points = np.vstack([initial, left, right])
    values = np.concatenate([usol[:, 0], usol[0, :], usol[-1, :]])
    is_initial = np.arange(len(points)) < len(x)
    return points, values, is_initial


def draw_data_points(population: int, n_u: int, draw: str, rng: np.random.Generator) -> np.ndarray:
    """Indices of the N_u data points among the ``population`` initial/boundary grid points.

    ``"random"``: uniformly without replacement, as the paper's code does. ``"stratified"``: one
    point per stratum along the grid (:func:`pinn.stratified_choice`), so that no stretch of the
    initial slice is left without data (seed 0's uniform draw leaves x in (-0.47, -0.24) empty).
    """
    if draw == "stratified":
        return pinn.stratified_choice(population, n_u, seed=rng)
    if draw == "random":
        return rng.choice(population, n_u, replace=False)
    raise ValueError(f"draw must be 'stratified' or 'random', got {draw!r}")


@dataclasses.dataclass
class Setup:
    """What :func:`build` makes from the problem flags: the reference grid and solution, the data
    points, the problem (network, conditions, collocation points), the domain they are drawn from."""

    x: np.ndarray
    t: np.ndarray
    domain: pinn.Domain
    usol: np.ndarray
    grid: np.ndarray
    points: np.ndarray  # the 456 initial/boundary grid points
    chosen: np.ndarray  # indices of the N_u data points among them
    network: Any
    conditions: list
    collocation: np.ndarray
    problem: pinn.Problem

    def predict(self) -> np.ndarray:
        """u on the reference grid, (len(x), len(t))."""
        return self.problem.predict(self.grid)[:, 0].reshape(len(self.x), len(self.t))


def build(settings: RunSettings) -> Setup:
    """The problem the settings' problem flags define (seeds set, nothing trained).

    Raises:
        UsageError: ``--n-u`` larger than the data's initial/boundary points.
    """
    rng = set_seeds(settings.seed)
    x, t, usol = pinn.load_burgers(settings.data)
    domain = pinn.Interval(x.min(), x.max(), "x") * pinn.TimeInterval(t.min(), t.max(), "t")

    points, values, is_initial = initial_boundary_points(x, t, usol)
    if settings.n_u > len(points):
        raise UsageError(f"argument --n-u: expected at most {len(points)} (the initial/boundary grid "
                         f"points), got {settings.n_u}")
    chosen = draw_data_points(len(points), settings.n_u, settings.n_u_draw, rng)
    initial, boundary = chosen[is_initial[chosen]], chosen[~is_initial[chosen]]
    conditions = []
    if len(initial):  # weights n_i / N_u make the sum the paper's one mean over the N_u points
        conditions.append(pinn.InitialCondition("u", points[initial], values[initial],
                                                name="initial", weight=len(initial) / settings.n_u))
    if len(boundary):
        conditions.append(pinn.DirichletBC("u", points[boundary], values[boundary],
                                           name="boundary", weight=len(boundary) / settings.n_u))
    collocation = np.vstack([domain.sample_interior(settings.n_f, "lhs", seed=rng), points])

    network = pinn.mlp(2, 1, [settings.neurons] * settings.widths, "tanh", lower=domain.lower,
                       upper=domain.upper, dtype=settings.dtype, seed=settings.seed)
    problem = pinn.Problem(Burgers(), network, collocation, conditions, dtype=settings.dtype,
                           derivatives=settings.derivatives)
    return Setup(x=x, t=t, domain=domain, usol=usol, grid=pinn.grid_points(x, t), points=points,
                 chosen=chosen,
                 network=network, conditions=conditions, collocation=collocation, problem=problem)


def write_figures(setup: Setup, out: str | os.PathLike, history: pinn.History,
                  prediction: np.ndarray | None = None, status: str | None = None) -> list[Path]:
    """``solution.png`` (prediction with the data points, reference, error) and
    ``loss_history.png`` in ``out`` (``error_history.png`` comes from :func:`write_outputs`). ``status``: how the run ended; the figures of a run that did
    not finish (interrupted, nonfinite, failed, unfinished) say so in their titles."""
    prediction = setup.predict() if prediction is None else prediction
    error = pinn.relative_l2_error(prediction, setup.usol)
    os.makedirs(out, exist_ok=True)
    written = [pinn.plot_solution(setup.x, setup.t, prediction, setup.usol,
                                  path=os.path.join(out, "solution.png"),
                                  train_points={"initial/boundary": setup.points[setup.chosen]},
                                  title=f"Burgers, rel. L2 error {error:.2e}", status=status)]
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
    usol, problem = setup.usol, setup.problem

    def tracked_error() -> float:  # metrics.json's error_history, every --error-every s of training
        return pinn.relative_l2_error(setup.predict(), usol)

    resample = resample_plan(settings, setup.domain)
    chunk = settings.run.get("chunk_size") or 0
    print(f"Burgers: N_u={settings.n_u}, N_f={settings.n_f}+{len(setup.points)}, network [2, "
          f"{settings.neurons} x {settings.widths}, 1], {settings.dtype}, seed {settings.seed}, "
          f"{problem.derivatives} derivatives"
          + (f" in chunks of {chunk} rows" if 0 < chunk < settings.n_f + len(setup.points) else "")
          + f", Adam {settings.adam_steps}, {settings.method} maxiter {settings.lbfgs_maxiter}"
          + (f", new {resample.method} collocation points every {resample.every}" if resample else "")
          + (f", float32 for Adam and the first {settings.float32_iterations} iterations"
             if settings.float32_iterations else ""),
          flush=True)
    result = train_example(settings, problem, strategy, error=tracked_error, resample=resample,
                           float32_problem=float32_twin(settings, build))

    prediction = setup.predict()
    error = pinn.relative_l2_error(prediction, usol)
    wall = time.perf_counter() - start
    summary = result.summary()  # counts of the whole run, resumed parts included
    print(f"status {result.status}; Adam {summary['adam_steps']} steps, {settings.method} {summary['lbfgs_nit']} "
          f"iterations ({summary['lbfgs_nfev']} evaluations){' in all, resumed' if result.resumed else ''}; "
          f"relative L2 error {error:.3e}; final loss {result.final_loss:.3e}; {wall:.1f} s", flush=True)
    metrics = {
        **run_metrics(NAME, settings, result, wall),
        "relative_l2_error": error,
        "max_abs_error": pinn.max_abs_error(prediction, usol),
        "n_u": settings.n_u,
        "n_u_draw": settings.n_u_draw,
        "n_f": settings.n_f,
        "layers": [2] + [settings.neurons] * settings.widths + [1],
    }
    # metrics.json first, then the figures; what cannot be written (a full disk) is reported and
    # makes the exit code 1, without losing the rest
    write_outputs(settings.out, metrics, lambda: write_figures(
        setup, settings.out, result.history, prediction, status=result.status),
        prog=settings.prog or NAME)
    return metrics


def plot(run_dir: str | os.PathLike, out: str | os.PathLike | None = None) -> list[Path]:
    """The figures of a run again, from its directory: the problem rebuilt from the settings saved
    in its checkpoint, the saved weights loaded. Writes to ``out`` (default ``run_dir``)."""
    return replot(sys.modules[__name__], run_dir, out)


def main(argv: list[str] | None = None, prog: str | None = None, command: str | None = None) -> int:
    """The command line (``python examples/burgers.py``, ``pinn solve burgers``); the exit code."""
    return run_example(sys.modules[__name__], argv, prog=prog, command=command)


if __name__ == "__main__":
    sys.exit(main(command=f"python {sys.argv[0]}"))
