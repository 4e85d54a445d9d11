"""SciPy's own L-BFGS-B time per iteration, by problem size and stored pairs (maxcor), no TensorFlow.

The loss is a NumPy quadratic ``0.5 sum d_i x_i^2`` (d drawn in [1, 100]), whose value and gradient
cost a few elementwise passes, so the time is L-BFGS-B's own work per iteration: the limited-memory
update, the generalized Cauchy point and the subspace minimization, with ``pinn.minimize``'s
options otherwise (maxls 50, ftol 0 and gtol 0 so that every run does ``--iterations``
iterations) and the BLAS held to one thread, as ``pinn.minimize`` holds it. Sizes default to the
examples' weight counts: Burgers 3021, KdV 10302, Schrödinger 30802 and Allen–Cahn 141301; maxcor
10 (SciPy's default) and 50 (the paper's, and pinn's). Every repetition runs each case once, in
turn, the order reversed every other repetition; per case the median over ``--repetitions`` of
the time per iteration. Compare with an evaluation of the example's loss
(``benchmarks/derivatives_eval.json``): where L-BFGS-B's own time is of its order, the second phase
runs at a fraction of the evaluation speed.

    python benchmarks/lbfgsb_cost.py [--sizes 3021 10302 30802 141301] [--maxcor 10 50]
        [--iterations 200] [--repetitions 3] [--json benchmarks/lbfgsb_cost.json]
        [--md benchmarks/lbfgsb_cost.md]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _runs  # noqa: E402

EXAMPLE_SIZES = {3021: "Burgers", 10302: "KdV", 30802: "Schrödinger", 141301: "Allen–Cahn"}


def seconds_per_iteration(n: int, maxcor: int, iterations: int) -> float:
    import numpy as np

    d = np.random.default_rng(0).uniform(1.0, 100.0, n)
    options = {"maxiter": iterations, "maxfun": 10 * iterations, "maxcor": maxcor, "maxls": 50,
               "ftol": 0.0, "gtol": 0.0}
    elapsed, result = _runs.time_lbfgsb_on_quadratic(d, np.ones(n), options)
    if result.nit < 1:
        raise RuntimeError(f"L-BFGS-B did no iteration at n = {n}, maxcor = {maxcor}: {result.message}")
    return elapsed / result.nit


def markdown(report: dict) -> str:
    m = report["machine"]
    *lines, machine = _runs.markdown_heading(report)
    lines += [
        f"{machine}, SciPy {m['scipy']}, NumPy "
        f"{m['numpy']}, BLAS on one thread; each time the median of {report['repetitions']} "
        f"repetitions of {report['iterations']} iterations.",
        "",
        "| weights (n) | example | " + " | ".join(f"maxcor {c} ms / iteration" for c in report["maxcor"]) + " |",
        "|---|---|" + "---|" * len(report["maxcor"]),
    ]
    for row in report["results"]:
        cells = " | ".join(f"{row['ms'][str(c)]:.2f}" for c in report["maxcor"])
        lines.append(f"| {row['n']} | {EXAMPLE_SIZES.get(row['n'], '')} | {cells} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(EXAMPLE_SIZES))
    parser.add_argument("--maxcor", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--md", type=Path, default=None)
    args = parser.parse_args(argv)
    if min(args.sizes) < 1 or min(args.maxcor) < 1 or args.iterations < 1 or args.repetitions < 1:
        parser.error("--sizes, --maxcor, --iterations and --repetitions must be >= 1")
    cases = [(n, c) for n in args.sizes for c in args.maxcor]
    times: dict[tuple[int, int], list[float]] = {case: [] for case in cases}
    for repetition in range(args.repetitions):
        for case in (cases if repetition % 2 == 0 else cases[::-1]):
            times[case].append(seconds_per_iteration(*case, args.iterations))
    results = []
    for n in args.sizes:
        ms = {str(c): 1e3 * statistics.median(times[(n, c)]) for c in args.maxcor}
        results.append({"n": n, "ms": ms,
                        "ms_all": {str(c): [1e3 * t for t in times[(n, c)]] for c in args.maxcor}})
        print(f"n = {n}: " + ", ".join(f"maxcor {c}: {v:.2f} ms/iteration" for c, v in ms.items()),
              flush=True)
    report = {"maxcor": args.maxcor, "iterations": args.iterations,
              "repetitions": args.repetitions, "results": results}
    report = _runs.write_report("lbfgsb_cost.py", argv, report, args.json, args.md, markdown)
    return report


if __name__ == "__main__":
    main()
