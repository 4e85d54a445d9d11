"""Overhead of pinn.minimize's SciPy loop over the bare compiled value-and-gradient function.

Problem (medium): the Burgers PINN loss, network [2, 20 x 8, 1], N_f collocation points (default
2000) plus 100 initial/boundary points, float64. For each of --repeats runs from the same start:

    ratio_bridge = wall time of minimize(maxiter) / (nfev x median time of one call of the bridge's
                   compiled function: assign flat vector, loss, gradient, pack; float64 in and out)
    ratio_bare   = the same against a bare tf.function returning the loss and the list of gradients
                   (no flat vector, no assignment, no float64 casts): what a hand-written loop costs

    ratio_inside = the same loop time / time spent inside the compiled function during that loop
                   (measured in the same moments, so robust to a busy machine)

Reports the median of the runs. Target: ratio_bare <= 1.05.

    python benchmarks/overhead.py [--repeats 5] [--maxiter 200] [--n-f 2000] [--jit]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

import pinn
from equations import Burgers
from pinn.objective import CompiledObjective


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


def time_calls(call, argument, n: int) -> float:
    call(argument)
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            call(argument)
        samples.append((time.perf_counter() - start) / n)
    return statistics.median(samples)


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--maxiter", type=int, default=200)
    parser.add_argument("--n-f", type=int, default=2000)
    parser.add_argument("--jit", action="store_true")
    args = parser.parse_args()

    problem = build(args.n_f)
    variables = problem.variables
    objective = CompiledObjective(problem.loss, variables, jit_compile=args.jit)
    x0 = objective.layout.flatten()

    @tf.function(jit_compile=args.jit)
    def bare():
        with tf.GradientTape() as tape:
            loss, _ = problem.loss()
        return loss, tape.gradient(loss, variables)

    bridge_call = time_calls(objective, x0, 20)
    def bare_numpy(_):
        loss, gradients = bare()
        return loss.numpy(), [g.numpy() for g in gradients]

    bare_call = time_calls(bare_numpy, None, 20)

    ratios_bridge, ratios_bare, ratios_inside, runs = [], [], [], []
    for _ in range(args.repeats):
        objective.layout.set_flat(x0)
        start = time.perf_counter()
        result = pinn.minimize(problem.loss, variables, options={"maxiter": args.maxiter},
                               jit_compile=args.jit)
        wall = time.perf_counter() - start
        # minimize traces its function in its first evaluation: leave that evaluation out
        loop = wall - result.setup_time
        calls = result.nfev - 1
        ratios_bridge.append(loop / (calls * bridge_call))
        ratios_bare.append(loop / (calls * bare_call))
        # noise-robust: the same loop against the time spent inside its own evaluations
        ratios_inside.append(loop / (result.eval_time - result.setup_time))
        runs.append({"nfev": int(result.nfev), "loop_s": loop, "setup_s": result.setup_time})
    report = {
        "bridge_call_ms": 1e3 * bridge_call,
        "bare_call_ms": 1e3 * bare_call,
        "ratio_bridge_median": statistics.median(ratios_bridge),
        "ratio_bare_median": statistics.median(ratios_bare),
        "ratio_inside_median": statistics.median(ratios_inside),
        "ratios_bridge": ratios_bridge,
        "ratios_inside": ratios_inside,
        "ratios_bare": ratios_bare,
        "runs": runs,
        "settings": vars(args),
    }
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
