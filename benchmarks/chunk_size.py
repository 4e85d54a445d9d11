"""Per-evaluation time of a problem against the chunk size, per thread count and dtype.

By default the Burgers problem of ``evaluation_speed.py`` (N_u 100, N_f 10000, [2, 20 x 8, 1]);
with ``--example NAME`` that example's own problem (its ``build``, as ``derivatives_eval.py``
makes it, with the example flags after ``--flags``). Either as pinn evaluates it:
``pinn.CompiledObjective(problem with derivatives=--derivatives, jit_compile=True,
chunk_size=c)`` for each ``c`` of ``--chunk-sizes`` (``0``: no chunks). Chunks are evaluated in a
loop inside the compiled function; the question is how their size, which sets how much of an
evaluation's working set stays in the processor's caches, changes the time per evaluation. One
*evaluation* is what SciPy calls per step: the flat float64 vector in, loss and gradient out.

Timing as in ``evaluation_speed.py``: every repetition calls each chunk size ``--calls`` times in a
row, the sizes in turn and their order reversed every other repetition; per size the median over
``--repetitions``. Each (thread count, dtype) runs in its own process (TensorFlow fixes its thread
pools when it starts). The report gives, per process, each size's time and its speed-up over no
chunks, and the loss difference to no chunks (round-off).

    python benchmarks/chunk_size.py [--example schrodinger] [--threads 1 2]
        [--dtypes float32 float64] [--chunk-sizes 0 5000 2500 1250 625 250] [--derivatives taylor]
        [--repetitions 5] [--calls 10] [--json benchmarks/chunk_size.json]
        [--md benchmarks/chunk_size.md] [--flags EXAMPLE FLAGS...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _posted  # noqa: E402
import _runs  # noqa: E402
from derivatives_eval import EXAMPLES, build_objective  # noqa: E402


def worker(args: argparse.Namespace) -> dict:
    """One (thread count, dtype): build every chunk size, then time them in turn."""
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads[0])
    tf.config.threading.set_inter_op_parallelism_threads(args.threads[0])
    from evaluation_speed import burgers_objective

    import pinn

    dtype = args.dtypes[0]
    if args.example:
        def build(size):
            return build_objective(args.example, args.derivatives, dtype, True, args.flags, size or None)[:2]
    else:
        domain, X_u, u_data, X_f = _posted.data()
        reference = pinn.mlp(2, 1, [20] * 8, lower=domain.lower, upper=domain.upper, dtype="float64",
                             seed=0)
        weights = [w.astype(dtype) for w in reference.get_weights()]

        def build(size):
            return burgers_objective(weights, dtype, True, args.derivatives, domain, X_u, u_data, X_f,
                                     size or None)
    functions, losses, pieces = {}, {}, {}
    for size in args.chunk_sizes:
        objective, x0 = build(size)
        functions[size] = objective  # timed itself: the loop reads only its Evaluation's (fun, jac)
        losses[size] = objective(x0)[0]  # trace and compile
        pieces[size] = objective.num_chunks
    load_before = os.getloadavg()
    samples = _runs.time_in_turns({size: (lambda f=functions[size]: f(x0)) for size in args.chunk_sizes},
                                  args.repetitions, args.calls)
    whole = statistics.median(samples[0]) if 0 in samples else None
    rows = []
    for size in args.chunk_sizes:
        ms = 1e3 * statistics.median(samples[size])
        rows.append({"chunk_size": size or None, "pieces": pieces[size],
                     "ms_per_evaluation": ms, "ms_samples": [1e3 * t for t in samples[size]],
                     "speedup_vs_no_chunks": (1e3 * whole / ms) if whole is not None else None,
                     "loss_relative_to_no_chunks": (abs(losses[size] - losses[0]) / abs(losses[0])
                                                    if 0 in losses else None)})
    return {"threads": args.threads[0], "dtype": dtype, "rows": rows, "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
            "versions": {"tensorflow": tf.__version__, "numpy": np.__version__, "python": platform.python_version()}}


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = _runs.markdown_heading(report)
    problem = report.get("problem", "Burgers (N_u 100, N_f 10000, [2, 20 x 8, 1])")
    lines[-1] += (f", TensorFlow {m['tensorflow']}; {problem}, {report['settings']['derivatives']} derivatives, XLA; "
                  f"each time the median of {report['settings']['repetitions']} repetitions of "
                  f"{report['settings']['calls']} calls; the fastest size of each process in bold.")
    lines += ["", "| threads | dtype | chunk size (pieces) | ms per evaluation | speed-up vs no chunks |",
              "|---|---|---|---|---|"]
    for run in report["runs"]:
        best = min(run["rows"], key=lambda r: r["ms_per_evaluation"])
        for row in run["rows"]:
            size = "none (1)" if row["chunk_size"] is None else f"{row['chunk_size']} ({row['pieces']})"
            ms = f"{row['ms_per_evaluation']:.1f}"
            if row is best:
                ms = f"**{ms}**"
            speedup = "" if row["speedup_vs_no_chunks"] is None else f"{row['speedup_vs_no_chunks']:.2f}"
            lines.append(f"| {run['threads']} | {run['dtype']} | {size} | {ms} | {speedup} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", choices=EXAMPLES, default=None,
                        help="an example's own problem (default the Burgers problem of "
                             "evaluation_speed.py)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--dtypes", nargs="+", choices=["float32", "float64"], default=["float32", "float64"])
    parser.add_argument("--chunk-sizes", type=int, nargs="+", default=[0, 5000, 2500, 1250, 625, 250],
                        help="rows per chunk; 0 is no chunks (default 0 5000 2500 1250 625 250)")
    parser.add_argument("--derivatives", choices=["taylor", "tape"], default="taylor")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--json", default=None)
    parser.add_argument("--md", default=None)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--flags", nargs=argparse.REMAINDER, default=[],
                        help="the example's own flags, e.g. --flags --n-f 5000 (with --example only; last)")
    args = parser.parse_args(argv)
    if args.repetitions < 5 or args.calls < 1 or any(t < 1 for t in args.threads) or any(
            c < 0 for c in args.chunk_sizes):
        parser.error("--repetitions must be >= 5; --calls and --threads positive; --chunk-sizes >= 0")
    if args.flags and args.example is None:
        parser.error("--flags: the example's flags need --example NAME")
    if args.worker:
        print(json.dumps(worker(args)))
        return {}
    runs = []
    for threads in args.threads:
        for dtype in args.dtypes:
            command = [sys.executable, os.path.abspath(__file__), "--worker", "--threads", str(threads),
                       "--dtypes", dtype, "--derivatives", args.derivatives, "--repetitions",
                       str(args.repetitions), "--calls", str(args.calls), "--chunk-sizes",
                       *map(str, args.chunk_sizes)]
            if args.example:
                command += ["--example", args.example, "--flags", *args.flags]
            print(f"threads {threads}, {dtype}", file=sys.stderr, flush=True)
            runs.append(_runs.worker_result(command))
    problem = (f"the {args.example} example's problem{' (' + ' '.join(args.flags) + ')' if args.flags else ''}"
               if args.example else "Burgers (N_u 100, N_f 10000, [2, 20 x 8, 1])")
    report = {
        "benchmark": f"{problem}, XLA: time per evaluation by chunk size",
        "problem": problem,
        "settings": {"example": args.example, "flags": args.flags, "threads": args.threads,
                     "dtypes": args.dtypes, "chunk_sizes": args.chunk_sizes,
                     "derivatives": args.derivatives, "repetitions": args.repetitions, "calls": args.calls},
        "note": "one run; each (threads, dtype) in its own process",
        "runs": runs,
    }
    report = _runs.write_report("chunk_size.py", argv, report, args.json, args.md, markdown)
    print(markdown(report))
    return report

if __name__ == "__main__":
    main()
