"""Time per evaluation on 1 device against N devices (tf.distribute.MirroredStrategy).

In one process with N logical CPU devices (or N GPUs where present), the Burgers problem
([2, 20 x 8, 1], 3021 weights, float64, --n-f collocation points + 100 initial/boundary points) is
evaluated by a single-device CompiledObjective and by a data-parallel one (strategy=...), in
adjacent pairs whose order alternates; medians per call and the median of the per-pair ratios.
The same is done on a problem of 8 collocation points, where the work is negligible: its
distributed - single time is the fixed cost of a distributed evaluation (dispatch to the replicas,
the chief's vector broadcast, the all-reduce of the gradient, sums and counts): the communication
cost per evaluation.

    python benchmarks/distribute.py [--devices 2] [--pairs 100] [--n-f 10000] [--json FILE]
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

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--devices", type=int, default=2)
parser.add_argument("--pairs", type=int, default=100)
parser.add_argument("--n-f", type=int, nargs="+", default=[10000, 100000])
parser.add_argument("--jit", action="store_true", help="XLA inside each replica")
parser.add_argument("--json", default=None)
args = parser.parse_args()

from pinn.distribute import strategy_for_devices  # noqa: E402

strategy = strategy_for_devices(args.devices)

import pinn  # noqa: E402
from pinn.equations import Burgers  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _runs  # noqa: E402


def build(n_f: int) -> pinn.Problem:
    domain = pinn.Interval(-1, 1) * pinn.TimeInterval(0, 0.99)
    network = pinn.mlp(2, 1, [20] * 8, lower=domain.lower, upper=domain.upper, seed=0)
    conditions = [
        pinn.InitialCondition("u", domain.sample_initial(50, seed=0), lambda p: -np.sin(np.pi * p[:, 0])),
        pinn.DirichletBC("u", domain.sample_boundary(50, seed=0)[0], 0.0),
    ]
    return pinn.Problem(Burgers(), network, domain.sample_interior(n_f, seed=0), conditions)


def measure(n_f: int) -> dict:
    problem = build(n_f)
    single = pinn.CompiledObjective(problem, jit_compile=args.jit)
    shared = pinn.CompiledObjective(problem, jit_compile=args.jit, strategy=strategy)
    x = single.layout.flatten()
    a, b = single(x), shared(x)
    times = _runs.time_in_turns({"single": lambda: single(x), "shared": lambda: shared(x)}, args.pairs, 1)
    ratios = [s / o for o, s in zip(times["single"], times["shared"])]
    row = {"n_f": n_f, "single_ms": 1e3 * statistics.median(times["single"]),
           "devices_ms": 1e3 * statistics.median(times["shared"]),
           "ratio_devices_over_single": statistics.median(ratios),
           "difference_ms": 1e3 * (statistics.median(times["shared"]) - statistics.median(times["single"])),
           "loss_rel_diff": abs(a.fun - b.fun) / abs(a.fun)}
    print(f"N_f {n_f:7d}: 1 device {row['single_ms']:8.2f} ms, {args.devices} devices "
          f"{row['devices_ms']:8.2f} ms, ratio {row['ratio_devices_over_single']:.3f}", flush=True)
    return row


rows = [measure(n) for n in [8, *args.n_f]]
report = {
    "rows": rows,
    "communication_ms_per_evaluation": rows[0]["difference_ms"],
    "settings": vars(args),
    "machine": {"processor": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                "gpus": len(tf.config.list_physical_devices("GPU")), "tensorflow": tf.__version__,
                "scipy": scipy.__version__},
    "date": time.strftime("%Y-%m-%d"),
}
if args.json:
    with open(args.json, "w") as file:
        json.dump(report, file, indent=2)
