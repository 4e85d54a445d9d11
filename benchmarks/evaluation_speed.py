"""Per-evaluation time of pinn against the approach posted most often online, Burgers, same run.

The problem is the PINN paper's continuous-time Burgers inference setup: N_u = 100 data points
(drawn from the 456 initial/boundary grid points), N_f = 10000 LHS collocation points, the
[2, 20 x 8, 1] tanh network; loss = mean((u - u_data)^2) + mean(f^2), f = u_t + u u_x - nu u_xx.
One *evaluation* is what SciPy's L-BFGS-B calls per step: a float64 vector in, the loss and its
float64 gradient out. Cases, each in float32 and float64, each with and without XLA:

* ``posted``: the approach posted most often (Keras ``Sequential`` with a scaling ``Lambda``
  layer, a function factory mapping the flat vector to the weights with
  ``tf.dynamic_partition`` / ``tf.dynamic_stitch``, ``tf.function``, nested ``GradientTape``\\ s
  for u_x, u_t, u_xx), written out in ``_posted.py``; with XLA, the loss and gradient are compiled and the
  partition/stitch stays outside (XLA cannot compile ``dynamic_partition``'s data-dependent shapes);
* ``pinn-tape``: ``pinn.CompiledObjective(pinn.Problem(..., derivatives="tape"))``;
* ``pinn-taylor``: the same with ``derivatives="taylor"`` (forward Taylor propagation);
* ``pinn-taylor-chunks``: the same with ``chunk_size=--chunk-size`` (default 1250: 8 pieces of the
  10000 points, evaluated in a loop inside the compiled function).

All cases start from the same weights (copied into the Sequential model), and the report gives
each case's loss relative to the posted float64 one (the same problem: they agree to round-off).
Timing: every repetition calls each case ``--calls`` times in a row, the cases in turn and their
order reversed every other repetition, so that all cases see the same machine load (this machine
is shared); per case the median over ``--repetitions`` of the time per call. Ratios are against
``posted`` float32 without XLA (as posted), and float64 / float32 for pinn. Each thread count
(``--threads``, default 1 and 2) runs in its own subprocess, since TensorFlow fixes its thread
pools when it starts, and so does each CPU allocator (``--allocators``): ``pooled`` is
TensorFlow's BFC allocator, which ``import pinn`` selects (``TF_CPU_ALLOCATOR_USE_BFC=true``),
``system`` the process's malloc, which the posted recipe gets (``TF_CPU_ALLOCATOR_USE_BFC=false``).
Within one process every case uses the same allocator; the summary line compares pinn as it runs
(pooled) with the posted recipe as posted (system), which are two processes run one after the other.

    python benchmarks/evaluation_speed.py [--threads 1 2] [--allocators pooled system]
        [--repetitions 5] [--calls 10] [--chunk-size 1250] [--json benchmarks/evaluation_speed.json]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _posted  # noqa: E402  (the problem and the posted recipe, shared with compare.py)
import _runs  # noqa: E402

ALLOCATORS = {"pooled": "true", "system": "false"}  # TF_CPU_ALLOCATOR_USE_BFC
KINDS = ("posted", "pinn-tape", "pinn-taylor", "pinn-taylor-chunks")
PINN_KINDS = KINDS[1:]
CASES = [(kind, dtype, xla) for dtype in ("float32", "float64") for kind in KINDS for xla in (False, True)]


# -- (b), (c) pinn ----------------------------------------------------------------------------------
def burgers_objective(weights, dtype: str, xla: bool, derivatives: str, domain, X_u, u_data, X_f,
                      chunk_size: int | None = None):
    """pinn's ``CompiledObjective`` of the posted Burgers problem with these weights, and its start
    ``x0`` (n,) float64."""
    import numpy as np
    import pinn
    from pinn.equations import Burgers

    network = pinn.mlp(2, 1, [20] * 8, lower=domain.lower, upper=domain.upper, dtype=dtype, seed=0)
    network.set_weights(weights)
    problem = pinn.Problem(Burgers(), network, X_f, [pinn.Observations(X_u, u_data, name="data")],
                           dtype=dtype, derivatives=derivatives)
    objective = pinn.CompiledObjective(problem, jit_compile=xla, chunk_size=chunk_size)
    return objective, np.asarray(objective.layout.flatten(), dtype=np.float64)


def pinn_objective(weights, dtype: str, xla: bool, derivatives: str, domain, X_u, u_data, X_f,
                   chunk_size: int | None = None):
    """:func:`burgers_objective` as SciPy takes it: ``(x -> (fun, jac), x0)``."""
    objective, x0 = burgers_objective(weights, dtype, xla, derivatives, domain, X_u, u_data, X_f, chunk_size)

    def scipy_function(x):
        evaluation = objective(x)
        return evaluation.fun, evaluation.jac

    return scipy_function, x0


def worker(args: argparse.Namespace) -> dict:
    """One thread count: build every case, then time them in turn."""
    import numpy as np
    import scipy
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import pinn

    domain, X_u, u_data, X_f = _posted.data()
    reference = pinn.mlp(2, 1, [20] * 8, lower=domain.lower, upper=domain.upper, dtype="float64", seed=0)
    weights64 = reference.get_weights()
    functions, start = {}, {}
    for kind, dtype, xla in CASES:
        weights = [w.astype(dtype) for w in weights64]
        if kind == "posted":
            recipe = _posted.posted(weights, dtype, "xla" if xla else "function", domain.lower, domain.upper,
                                    X_u, u_data, X_f)
            function, x0 = recipe.function, recipe.x0
        else:
            chunk_size = args.chunk_size if kind.endswith("-chunks") else None
            function, x0 = pinn_objective(weights, dtype, xla, kind.split("-")[1], domain, X_u, u_data, X_f,
                                          chunk_size)
        function(x0)  # trace and compile
        functions[(kind, dtype, xla)], start[(kind, dtype, xla)] = function, x0
    # the same problem: every case's loss at the start, against posted float64
    reference_loss = functions[("posted", "float64", False)](start[("posted", "float64", False)])[0]
    losses = {case: functions[case](start[case])[0] for case in CASES}
    load_before = os.getloadavg()
    began = time.perf_counter()
    samples = _runs.time_in_turns({case: (lambda f=functions[case], x=start[case]: f(x)) for case in CASES},
                                  args.repetitions, args.calls)
    rows = []
    for kind, dtype, xla in CASES:
        times = samples[(kind, dtype, xla)]
        rows.append({"case": kind, "dtype": dtype, "xla": xla, "threads": args.threads,
                     "ms_per_evaluation": 1e3 * statistics.median(times),
                     "ms_samples": [1e3 * t for t in times],
                     "loss": losses[(kind, dtype, xla)],
                     "loss_relative_to_posted_float64": abs(losses[(kind, dtype, xla)] - reference_loss)
                     / abs(reference_loss)})
    base = next(r["ms_per_evaluation"] for r in rows if (r["case"], r["dtype"], r["xla"]) == ("posted", "float32", False))
    for row in rows:
        row["speedup_vs_posted_float32"] = base / row["ms_per_evaluation"]
        if row["dtype"] == "float64":
            f32 = next(r for r in rows if (r["case"], r["dtype"], r["xla"]) == (row["case"], "float32", row["xla"]))
            row["float64_over_float32"] = row["ms_per_evaluation"] / f32["ms_per_evaluation"]
    return {"threads": args.threads, "allocator": args.allocators[0], "rows": rows,
            "timing_seconds": time.perf_counter() - began,
            "load_average_before": load_before, "load_average_after": os.getloadavg(),
            "versions": {"tensorflow": tf.__version__, "scipy": scipy.__version__, "numpy": np.__version__,
                         "python": platform.python_version()}}


def _ms(run: dict, kind: str, dtype: str, xla: bool) -> float:
    return next(r["ms_per_evaluation"] for r in run["rows"] if (r["case"], r["dtype"], r["xla"]) == (kind, dtype, xla))


def across_allocators(runs: list[dict]) -> list[dict]:
    """Per thread count: pinn as it runs (pooled allocator, XLA) against the posted recipe as
    posted (system allocator, no XLA), read from the two processes, and the pooled allocator's
    gain for each case of the pinn engine (system ms / pooled ms)."""
    out = []
    for threads in sorted({run["threads"] for run in runs}):
        by = {run.get("allocator", "system"): run for run in runs if run["threads"] == threads}
        if set(by) != {"pooled", "system"}:
            continue
        pooled, system = by["pooled"], by["system"]
        row = {"threads": threads}
        for dtype in ("float32", "float64"):
            row[f"posted_system_{dtype}_ms"] = _ms(system, "posted", dtype, False)
            for kind in PINN_KINDS:
                row[f"{kind}_pooled_xla_{dtype}_ms"] = _ms(pooled, kind, dtype, True)
                row[f"{kind}_pooled_gain_xla_{dtype}"] = _ms(system, kind, dtype, True) / _ms(pooled, kind, dtype, True)
        for kind in PINN_KINDS:
            row[f"{kind}_speedup_float32"] = row["posted_system_float32_ms"] / row[f"{kind}_pooled_xla_float32_ms"]
            row[f"{kind}_float64_over_float32"] = (row[f"{kind}_pooled_xla_float64_ms"]
                                                   / row[f"{kind}_pooled_xla_float32_ms"])
        out.append(row)
    return out


def markdown(report: dict) -> str:
    lines = ["| threads | allocator | case | XLA | float32 ms | float64 ms | speed-up vs posted float32 "
             "(f32 / f64) | float64 / float32 |",
             "|---|---|---|---|---|---|---|---|"]
    for run in report["runs"]:
        rows = {(r["case"], r["dtype"], r["xla"]): r for r in run["rows"]}
        for kind in KINDS:
            for xla in (False, True):
                a, b = rows[(kind, "float32", xla)], rows[(kind, "float64", xla)]
                lines.append(f"| {run['threads']} | {run.get('allocator', 'system')} | {kind} | "
                             f"{'yes' if xla else 'no'} | "
                             f"{a['ms_per_evaluation']:.1f} | {b['ms_per_evaluation']:.1f} | "
                             f"{a['speedup_vs_posted_float32']:.2f} / {b['speedup_vs_posted_float32']:.2f} | "
                             f"{b['float64_over_float32']:.2f} |")
    across = report.get("across_allocators", [])
    if across:
        lines += ["", "pinn as it runs (pooled allocator, XLA) against the posted recipe as posted (system "
                  "allocator, no XLA; two processes, one after the other):", "",
                  "| threads | posted f32 ms | pinn-tape f32 ms | speed-up | pinn-tape f64 / f32 | "
                  "pinn-taylor f32 ms | speed-up | pinn-taylor f64 / f32 | pinn-taylor-chunks f32 ms | speed-up | "
                  "pinn-taylor-chunks f64 / f32 | pooled gain, pinn-tape XLA f32 / f64 |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for row in across:
            lines.append(f"| {row['threads']} | {row['posted_system_float32_ms']:.1f} | "
                         f"{row['pinn-tape_pooled_xla_float32_ms']:.1f} | {row['pinn-tape_speedup_float32']:.2f} | "
                         f"{row['pinn-tape_float64_over_float32']:.2f} | "
                         f"{row['pinn-taylor_pooled_xla_float32_ms']:.1f} | {row['pinn-taylor_speedup_float32']:.2f} | "
                         f"{row['pinn-taylor_float64_over_float32']:.2f} | "
                         f"{row['pinn-taylor-chunks_pooled_xla_float32_ms']:.1f} | "
                         f"{row['pinn-taylor-chunks_speedup_float32']:.2f} | "
                         f"{row['pinn-taylor-chunks_float64_over_float32']:.2f} | "
                         f"{row['pinn-tape_pooled_gain_xla_float32']:.2f} / "
                         f"{row['pinn-tape_pooled_gain_xla_float64']:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts (default 1 2)")
    parser.add_argument("--allocators", nargs="+", choices=sorted(ALLOCATORS), default=["pooled", "system"],
                        help="TensorFlow CPU allocators, one process each (default pooled system)")
    parser.add_argument("--repetitions", type=int, default=5, help="timed repetitions per case (default 5)")
    parser.add_argument("--calls", type=int, default=10, help="calls per case per repetition (default 10)")
    parser.add_argument("--chunk-size", type=int, default=1250,
                        help="rows per chunk of the pinn-taylor-chunks case (default 1250)")
    parser.add_argument("--json", default=None, help="also write the report to this file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repetitions < 5 or args.calls < 1 or any(t < 1 for t in args.threads) or args.chunk_size < 1:
        parser.error("--repetitions must be >= 5, --calls, --threads and --chunk-size positive")
    if args.worker:
        args.threads = args.threads[0]
        print(json.dumps(worker(args)))
        return {}
    runs = []
    for threads in args.threads:
        for allocator in args.allocators:
            command = [sys.executable, os.path.abspath(__file__), "--worker", "--threads", str(threads),
                       "--allocators", allocator, "--repetitions", str(args.repetitions), "--calls", str(args.calls),
                       "--chunk-size", str(args.chunk_size)]
            env = {**os.environ, "TF_CPU_ALLOCATOR_USE_BFC": ALLOCATORS[allocator]}
            print(f"threads {threads}, {allocator} allocator: {' '.join(command[1:])}", file=sys.stderr, flush=True)
            runs.append(_runs.worker_result(command, env))
    report = {
        "benchmark": "Burgers (N_u 100, N_f 10000, [2, 20 x 8, 1]): time per loss-and-gradient evaluation",
        "runs": runs,
        "settings": {"threads": args.threads, "allocators": args.allocators, "repetitions": args.repetitions,
                     "calls": args.calls, "chunk_size": args.chunk_size},
        "machine": {**_runs.machine_info(), "platform": platform.platform()},
        "versions": runs[0]["versions"] if runs else {},
        "date": datetime.date.today().isoformat(),
        "note": "one run on a shared machine; load averages before/after timing are in each run",
    }
    report["across_allocators"] = across_allocators(runs)
    report["markdown"] = markdown(report)
    print(report["markdown"])
    if args.json:
        with open(args.json, "w") as file:
            json.dump(report, file, indent=2)
    return report


if __name__ == "__main__":
    main()
