"""Burgers' equation, continuous-time inference (Raissi, Perdikaris & Karniadakis 2019, Fig. 1).

    u_t + u u_x - (0.01/pi) u_xx = 0,  x in [-1, 1], t in [0, 0.99],
    u(0, x) = -sin(pi x),  u(t, -1) = u(t, 1) = 0.

The paper's setup: N_u = 100 points drawn from the 456 initial/boundary points of the reference
grid (one per stratum along the grid by default; --n-u-draw random for the paper code's uniform
draw), N_f = 10000 Latin-hypercube collocation points plus those 456, a [2, 20 x 8, 1] tanh network
with inputs scaled to [-1, 1]. Writes solution.png, loss_history.png, metrics.json and
checkpoint.h5 (the training state: weights, Adam state, history) to --out.

    python examples/burgers.py                 # the paper's setup
    python examples/burgers.py --quick         # a smoke test, under a minute
    python examples/burgers.py --resume        # go on after Ctrl-C / SIGTERM / a crash
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

import pinn
from equations import Burgers
from pinn.scripts import (CHECKPOINT_FILE, example_parser, resolve, run_settings, set_seeds,
                          stop_on_signals, write_metrics)

ADAM_STEPS = 1000
LBFGS_MAXITER = 50000
DTYPE = "float64"
GTOL = 1e-10
N_U_DRAW = "stratified"  # the paper's uniform draw leaves seed 0 a 0.23-wide gap in u(0, x): README
QUICK = {"adam_steps": 200, "lbfgs_maxiter": 1500, "n_f": 1000, "widths": 4}


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


def main(argv: list[str] | None = None) -> dict:
    parser = example_parser(__doc__.splitlines()[0], out="runs/burgers", adam_steps=ADAM_STEPS,
                            lbfgs_maxiter=LBFGS_MAXITER, dtype=DTYPE)
    parser.add_argument("--n-u", type=int, default=100, help="initial/boundary points (default 100)")
    parser.add_argument("--n-u-draw", choices=("stratified", "random"), default=N_U_DRAW,
                        help="how the N_u points are drawn from the initial/boundary grid: one per "
                             "stratum along it, or uniformly as in the paper's code (default "
                             f"{N_U_DRAW})")
    parser.add_argument("--n-f", type=int, default=None, help="collocation points (default 10000)")
    parser.add_argument("--widths", type=int, default=None, help="hidden layers of 20 (default 8)")
    parser.add_argument("--data", default=None, help="reference data (.h5 or .mat; default data/burgers_shock.h5)")
    parser.add_argument("--gtol", type=float, default=None,
                        help=f"L-BFGS-B gradient tolerance (default {GTOL:g})")
    parser.add_argument("--error-every", type=int, default=500,
                        help="log the relative L2 error every N iterations, 0 never (default 500)")
    parser.add_argument("--threads", type=int, default=0,
                        help="TensorFlow threads per operation, 0 for TensorFlow's choice (default 0)")
    args = resolve(parser.parse_args(argv), QUICK, n_f=10000, widths=8)
    if args.n_u < 1 or args.n_f < 1:
        parser.error(f"--n-u and --n-f must be positive, got {args.n_u} and {args.n_f}")

    if args.threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    args.gtol = GTOL if args.gtol is None else args.gtol
    stop_on_signals()
    start = time.perf_counter()
    rng = set_seeds(args.seed)
    x, t, usol = pinn.load_burgers(args.data)
    domain = pinn.Interval(x.min(), x.max(), "x") * pinn.TimeInterval(t.min(), t.max(), "t")

    points, values, is_initial = initial_boundary_points(x, t, usol)
    if args.n_u > len(points):
        parser.error(f"--n-u must be at most {len(points)} (the initial/boundary grid points)")
    chosen = draw_data_points(len(points), args.n_u, args.n_u_draw, rng)
    initial, boundary = chosen[is_initial[chosen]], chosen[~is_initial[chosen]]
    conditions = []
    if len(initial):  # weights n_i / N_u make the sum the paper's one mean over the N_u points
        conditions.append(pinn.InitialCondition("u", points[initial], values[initial],
                                                name="initial", weight=len(initial) / args.n_u))
    if len(boundary):
        conditions.append(pinn.DirichletBC("u", points[boundary], values[boundary],
                                           name="boundary", weight=len(boundary) / args.n_u))
    collocation = np.vstack([domain.sample_interior(args.n_f, "lhs", seed=rng), points])

    network = pinn.mlp(2, 1, [20] * args.widths, "tanh", lower=domain.lower, upper=domain.upper,
                       dtype=args.dtype, seed=args.seed)
    problem = pinn.Problem(Burgers(), network, collocation, conditions, dtype=args.dtype)
    grid = pinn.grid_points(x, t)
    error_log: list[tuple[str, int, float]] = []

    def log_error(iteration, logs):
        if args.error_every and iteration % args.error_every == 0:
            u = problem.predict(grid)[:, 0].reshape(usol.shape)
            error_log.append((logs["phase"], iteration, pinn.relative_l2_error(u, usol)))
            print(f"[{logs['phase']}] it {iteration:6d}  relative L2 error {error_log[-1][2]:.3e}")

    trainer = pinn.Trainer(problem, jit_compile=args.jit,
                           callbacks=[pinn.LambdaCallback(on_iteration_end=log_error)],
                           checkpoint=os.path.join(args.out, CHECKPOINT_FILE),
                           checkpoint_every=args.checkpoint_every, settings=run_settings(args))
    print(f"Burgers: N_u={args.n_u}, N_f={args.n_f}+{len(points)}, network [2, 20 x {args.widths}, 1], "
          f"{args.dtype}, seed {args.seed}, Adam {args.adam_steps}, L-BFGS-B maxiter {args.lbfgs_maxiter}")
    result = trainer.train(
        adam_steps=args.adam_steps,
        lbfgs=args.lbfgs_maxiter > 0,
        lbfgs_options={"maxiter": max(args.lbfgs_maxiter, 1), "gtol": args.gtol},
        verbose=args.verbose,
        resume=args.resume,
    )

    prediction = problem.predict(grid)[:, 0].reshape(len(x), len(t))
    error = pinn.relative_l2_error(prediction, usol)
    wall = time.perf_counter() - start
    print(f"status {result.status}; relative L2 error {error:.3e}; final loss {result.final_loss:.3e}; "
          f"{wall:.1f} s")

    os.makedirs(args.out, exist_ok=True)
    pinn.plot_solution(x, t, prediction, usol, path=os.path.join(args.out, "solution.png"),
                       train_points={"initial/boundary": points[chosen]},
                       title=f"Burgers, rel. L2 error {error:.2e}")
    pinn.plot_history(result.history, path=os.path.join(args.out, "loss_history.png"))
    metrics = {
        **result.summary(),
        "relative_l2_error": error,
        "max_abs_error": pinn.max_abs_error(prediction, usol),
        "wall_time_s": wall,
        "training_time_s": result.wall_time,
        "lbfgs_evals_per_second": float(result.lbfgs.evals_per_second) if result.lbfgs else 0.0,
        "dtype": args.dtype,
        "seed": args.seed,
        "n_u": args.n_u,
        "n_u_draw": args.n_u_draw,
        "n_f": args.n_f,
        "layers": [2] + [20] * args.widths + [1],
        "quick": args.quick,
        "jit": args.jit,
        "gtol": args.gtol,
        "error_history": [{"phase": p, "iteration": i, "relative_l2_error": e} for p, i, e in error_log],
    }
    write_metrics(args.out, metrics)
    return metrics


if __name__ == "__main__":
    main()
    sys.exit(0)
