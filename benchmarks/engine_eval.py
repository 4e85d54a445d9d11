"""Per-evaluation time of the training engine: point sets as inputs against points baked in.

Before the training-engine rework, a problem's collocation and condition points were constants
inside the compiled value-and-gradient function. Now they are inputs of it (so they can be
resampled without a new trace, chunked, and later sharded). This script measures, in the same run,
what that costs per evaluation on the Burgers example's problem (N_f 10000 + 456 grid points...
here 10000 LHS + 100 initial/boundary points, [2, 20 x 8, 1], 3021 weights):

    before = CompiledObjective(FunctionLoss(problem.loss, problem.variables))  # points as constants
    after  = CompiledObjective(problem)                                      # points as inputs

Both are called through their concrete functions with the same flat vector, in adjacent pairs
whose order alternates (this shared machine's speed drifts over seconds; adjacent calls see the
same speed). Reports the median per-call times and the median of the per-pair ratios
after / before, for float64 and float32, with and without XLA, and the chunked evaluation
(chunk_size 2500, 4 chunks) against the whole one.

    python benchmarks/engine_eval.py [--pairs 200] [--json benchmarks/engine_eval.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import scipy
import tensorflow as tf

import pinn
from pinn.equations import Burgers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _runs  # noqa: E402


def build(n_f: int, dtype: str, seed: int = 0) -> pinn.Problem:
    domain = pinn.Interval(-1, 1) * pinn.TimeInterval(0, 0.99)
    initial = domain.sample_initial(50, seed=seed)
    boundary, _ = domain.sample_boundary(50, seed=seed)
    network = pinn.mlp(2, 1, [20] * 8, lower=domain.lower, upper=domain.upper, seed=seed, dtype=dtype)
    conditions = [
        pinn.InitialCondition("u", initial, lambda p: -np.sin(np.pi * p[:, 0])),
        pinn.DirichletBC("u", boundary, 0.0),
    ]
    return pinn.Problem(Burgers(), network, domain.sample_interior(n_f, seed=seed), conditions,
                        dtype=dtype)


def compare(name: str, before, after, x: np.ndarray, pairs: int) -> dict:
    a, b = before(x), after(x)  # traces and compiles
    agree = abs(a.fun - b.fun) / abs(a.fun)
    times = _runs.time_in_turns({"before": lambda: before(x), "after": lambda: after(x)}, pairs, 1)
    t_before, t_after = times["before"], times["after"]
    ratios = [y / x_ for x_, y in zip(t_before, t_after)]
    row = {"case": name, "before_ms": 1e3 * statistics.median(t_before),
           "after_ms": 1e3 * statistics.median(t_after),
           "ratio_after_over_before": statistics.median(ratios),
           "ratio_quartiles": [float(q) for q in np.quantile(ratios, [0.25, 0.75])],
           "loss_relative_difference": agree, "pairs": pairs}
    print(f"{name:40s} before {row['before_ms']:7.2f} ms  after {row['after_ms']:7.2f} ms  "
          f"after/before {row['ratio_after_over_before']:.3f}  (loss rel. diff {agree:.1e})", flush=True)
    return row


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=200, help="adjacent call pairs per case (default 200)")
    parser.add_argument("--n-f", type=int, default=10000)
    parser.add_argument("--json", default=None, help="also write the report to this file")
    args = parser.parse_args()
    if args.pairs < 1 or args.n_f < 1:
        parser.error("--pairs and --n-f must be positive")
    rows = []
    for dtype in ("float64", "float32"):
        for jit in (False, True):
            problem = build(args.n_f, dtype)
            before = pinn.CompiledObjective(pinn.FunctionLoss(problem.loss, problem.variables),
                                            jit_compile=jit)
            after = pinn.CompiledObjective(problem, jit_compile=jit)
            x = after.layout.flatten()
            rows.append(compare(f"{dtype}, {'XLA' if jit else 'tf.function'}: inputs vs constants",
                                before, after, x, args.pairs))
    problem = build(args.n_f, "float64")
    whole = pinn.CompiledObjective(problem, jit_compile=True)
    chunked = pinn.CompiledObjective(problem, jit_compile=True, chunk_size=max(1, args.n_f // 4))
    rows.append(compare("float64, XLA: 4 chunks vs whole", whole, chunked, whole.layout.flatten(),
                        max(20, args.pairs // 4)))
    report = {
        "rows": rows,
        "settings": vars(args),
        "machine": {"processor": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                    "tensorflow": tf.__version__, "scipy": scipy.__version__, "numpy": np.__version__},
        "date": time.strftime("%Y-%m-%d"),
    }
    if args.json:
        with open(args.json, "w") as file:
            json.dump(report, file, indent=2)
    return report


if __name__ == "__main__":
    main()
