"""Overhead of pinn.minimize's SciPy loop over the bare compiled value-and-gradient function.

Problems: the Burgers PINN loss, network [2, 20 x 8, 1] (3021 weights), N_f collocation points plus
100 initial/boundary points, float64; one problem per --n-f value (default 2000 and 10000, the
Burgers example's size). For each problem and each of --repeats runs of --maxiter iterations from
the same start:

    ratio_bare   = wall time of minimize(maxiter) / (nfev x median time of one call of a bare
                   tf.function returning the loss and the list of gradients: no flat vector, no
                   assignment, no float64 casts; called through its concrete function, the
                   cheapest way to run it). The target.
    ratio_bridge = the same against one call of the bridge's compiled function (assign the flat
                   vector, loss, gradient, pack, float64 in and out)
    ratio_inside = the same loop time / time spent inside the compiled function during that loop
                   (measured in the same moments, so robust to a busy machine)

The machine is shared, and timings taken seconds apart differ by 10-20 %, so the runs are short and
each run's ratios use the mean of baselines timed just before and just after it (bare and bridge
calls in adjacent pairs, median per call); the report gives medians and ranges over the runs. To
explain where the time goes it also gives: inside_over_bridge (an evaluation inside the loop against
a bridge call made back to back outside it) and bridge_over_bare_paired (the median over all those
adjacent pairs of bridge / bare call, which is steady where separate timings are not).

and, to explain the figures, SciPy's own L-BFGS-B time per evaluation with the same options on a
NumPy quadratic of the same size (no TensorFlow): the floor of what any bridge can reach is
1 + scipy_ms / bare_ms. Reports medians. Target: ratio_bare <= 1.05.

    python benchmarks/overhead.py [--repeats 15] [--maxiter 50] [--n-f 2000 10000]
        [--modes function xla] [--threads N] [--json benchmarks/overhead.json] [--md benchmarks/overhead.md]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

import pinn
from pinn.equations import Burgers
from pinn.objective import CompiledObjective

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _runs  # noqa: E402


def build(n_f: int, seed: int = 0) -> pinn.Problem:
    domain = pinn.Interval(-1, 1) * pinn.TimeInterval(0, 0.99)
    initial = domain.sample_initial(50, seed=seed)
    boundary, _ = domain.sample_boundary(50, seed=seed)
    network = pinn.mlp(2, 1, [20] * 8, lower=domain.lower, upper=domain.upper, seed=seed)
    conditions = [
        pinn.InitialCondition("u", initial, lambda p: -np.sin(np.pi * p[:, 0])),
        pinn.DirichletBC("u", boundary, 0.0),
    ]
    return pinn.Problem(Burgers(), network, domain.sample_interior(n_f, seed=seed), conditions)


def time_calls(call, n: int) -> float:
    """Median over 5 batches of the time of one ``call()`` (s), after one warm-up call."""
    call()
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            call()
        samples.append((time.perf_counter() - start) / n)
    return statistics.median(samples)


def scipy_time_per_evaluation(size: int, maxiter: int, repeats: int = 3) -> float:
    """SciPy L-BFGS-B's own time per evaluation (s) with the paper's options, ``size`` variables.

    The loss is a NumPy quadratic with spread curvatures (about 10 us per evaluation), so nearly
    all the time is SciPy's: the L-BFGS-B update with maxcor=50 and its Python wrapper.
    """
    rng = np.random.default_rng(0)
    curvature = rng.uniform(0.1, 10.0, size)
    options = {**pinn.LBFGS_DEFAULTS, "maxiter": maxiter, "gtol": 0.0}
    samples = []
    for _ in range(repeats):
        seconds, result = _runs.time_lbfgsb_on_quadratic(curvature, rng.normal(size=size), options)
        samples.append(seconds / result.nfev)
    return statistics.median(samples)


def measure(n_f: int, repeats: int, maxiter: int, jit: bool) -> dict:
    problem = build(n_f)
    variables = problem.variables
    objective = CompiledObjective(problem, jit_compile=jit)
    x0 = objective.layout.flatten()

    @tf.function(jit_compile=jit)
    def bare():
        with tf.GradientTape() as tape:
            loss, _ = problem.loss()
        return loss, tape.gradient(loss, variables)

    bare_concrete = bare.get_concrete_function()  # called directly, as the bridge calls its own

    def bare_numpy():
        loss, gradients = bare_concrete()
        return loss.numpy(), [g.numpy() for g in gradients]

    def bridge():
        return objective(x0)

    calls = max(3, int(0.15 / max(time_calls(bare_numpy, 1), 1e-4)))  # ~0.15 s
    scipy_call = scipy_time_per_evaluation(objective.layout.size, 200)
    pair_ratios: list[float] = []  # bridge / bare call, adjacent pairs, over every baseline timing

    def baselines() -> tuple[float, float]:
        """Median time of one bare call and of one bridge call (s), timed in adjacent pairs (the
        order alternating; adjacent calls see the same machine speed, so their ratio is steady)."""
        times = _runs.time_in_turns({"bare": bare_numpy, "bridge": bridge}, calls, 1)
        bare_times, bridge_times = times["bare"], times["bridge"]
        pair_ratios.extend(b / a for a, b in zip(bare_times, bridge_times))
        return statistics.median(bare_times), statistics.median(bridge_times)

    # The machine is shared and its speed drifts by 10-20 % over seconds: many short runs, each
    # against the mean of baselines timed just before and just after it; medians over the runs.
    bare_calls, bridge_calls, ratios_bridge, ratios_bare, ratios_inside, runs = [], [], [], [], [], []
    inside_over_bridge = []
    baselines()  # warm-up
    pair_ratios.clear()
    for _ in range(repeats):
        before = baselines()
        objective.layout.set_flat(x0)
        start = time.perf_counter()
        result = pinn.minimize(None, options={"maxiter": maxiter}, objective=objective)
        wall = time.perf_counter() - start
        after = baselines()
        bare_calls.append(0.5 * (before[0] + after[0]))
        bridge_calls.append(0.5 * (before[1] + after[1]))
        # minimize traces its function in its first evaluation: leave that evaluation out
        loop = wall - result.setup_time
        evaluations = result.nfev - 1
        ratios_bridge.append(loop / (evaluations * bridge_calls[-1]))
        ratios_bare.append(loop / (evaluations * bare_calls[-1]))
        ratios_inside.append(loop / (result.eval_time - result.setup_time))
        inside_over_bridge.append((result.eval_time - result.setup_time) / evaluations / bridge_calls[-1])
        runs.append({"nfev": int(result.nfev), "loop_s": loop, "setup_s": result.setup_time,
                     "bare_call_ms": 1e3 * bare_calls[-1], "bridge_call_ms": 1e3 * bridge_calls[-1]})
    bare_call, bridge_call = statistics.median(bare_calls), statistics.median(bridge_calls)
    bridge_over_bare = statistics.median(pair_ratios)
    return {
        "n_f": n_f,
        "points": n_f + 100,
        "variables": objective.layout.size,
        "bare_call_ms": 1e3 * bare_call,
        "bridge_call_ms": 1e3 * bridge_call,
        "scipy_per_eval_ms": 1e3 * scipy_call,
        "floor_ratio": 1.0 + scipy_call / bare_call,
        "ratio_bare_median": statistics.median(ratios_bare),
        "ratio_bridge_median": statistics.median(ratios_bridge),
        "ratio_inside_median": statistics.median(ratios_inside),
        "inside_over_bridge_median": statistics.median(inside_over_bridge),
        "bridge_over_bare_paired": bridge_over_bare,
        "ratios_bare": ratios_bare,
        "ratios_bridge": ratios_bridge,
        "ratios_inside": ratios_inside,
        "runs": runs,
    }


MODES = {"function": False, "xla": True}  # the compiled function: tf.function, or with XLA


def markdown(report: dict) -> str:
    """The report as Markdown: the command, the machine and one row per problem and mode."""
    m = report["machine"]
    *lines, machine = _runs.markdown_heading(report)
    threads = report["settings"]["threads"]
    lines += [f"{machine}, TensorFlow {m['tensorflow']}, SciPy {m['scipy']}; "
              f"{'TensorFlow default' if threads is None else threads} thread(s); medians of "
              f"{report['settings']['repeats']} runs of {report['settings']['maxiter']} L-BFGS-B "
              "iterations (range of the target ratio in brackets).", "",
              "| problem | bare call | **loop / (evals x bare call)** | loop / time inside its evaluations | "
              "evaluation in the loop / bridge call outside | bridge / bare call (adjacent pairs) | "
              "SciPy's own L-BFGS-B per evaluation | floor: 1 + SciPy / bare |",
              "|---|---|---|---|---|---|---|---|"]
    for p in report["problems"]:
        mode = "XLA" if p["jit"] else "tf.function"
        lines.append(f"| N_f {p['n_f']}, {mode} | {p['bare_call_ms']:.1f} ms | **{p['ratio_bare_median']:.3f}** "
                     f"({min(p['ratios_bare']):.2f}-{max(p['ratios_bare']):.2f}) | {p['ratio_inside_median']:.3f} | "
                     f"{p['inside_over_bridge_median']:.3f} | {p['bridge_over_bare_paired']:.3f} | "
                     f"{p['scipy_per_eval_ms']:.2f} ms | {p['floor_ratio']:.3f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="runs per problem (default 15)")
    parser.add_argument("--maxiter", type=int, default=50, help="L-BFGS-B iterations per run (default 50)")
    parser.add_argument("--n-f", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument("--modes", nargs="+", choices=sorted(MODES), default=list(MODES),
                        help="compiled function: tf.function and/or XLA (default both)")
    parser.add_argument("--threads", type=int, default=None,
                        help="TensorFlow intra- and inter-op threads (default TensorFlow's)")
    parser.add_argument("--json", default=None, help="also write the report to this file")
    parser.add_argument("--md", default=None, help="also write the Markdown table to this file")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.maxiter < 1 or min(args.n_f) < 1 or (args.threads or 1) < 1:
        parser.error("--repeats, --maxiter, --n-f and --threads must be positive")
    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)

    problems = []
    for n_f in sorted(args.n_f, reverse=True):
        for mode in args.modes:
            problems.append({**measure(n_f, args.repeats, args.maxiter, MODES[mode]), "jit": MODES[mode]})
            p = problems[-1]
            print(f"N_f {n_f}, {mode}: loop / (evals x bare call) {p['ratio_bare_median']:.3f}, bare call "
                  f"{p['bare_call_ms']:.1f} ms", flush=True)
    report = {"problems": problems, "settings": {k: v for k, v in vars(args).items() if k not in ("json", "md")}}
    report = _runs.write_report("overhead.py", argv, report, args.json, args.md, markdown)
    print(markdown(report))
    return report


if __name__ == "__main__":
    main()
