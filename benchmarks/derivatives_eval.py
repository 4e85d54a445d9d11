"""Per-evaluation time of each example's problem with the tape against the Taylor path, same run.

For every example named (default all of them), the problem its ``build`` makes from the given
flags (default: the example's own setup, the paper's sizes) is built twice, with
``--derivatives tape`` and ``--derivatives taylor``, from the same seed (the same weights and
points), and wrapped in :class:`pinn.CompiledObjective` as the example trains it (XLA unless
``--no-jit``). One *evaluation* is what the optimizer calls per step: the flat float64 vector in,
the loss and its gradient out. Timing: each repetition calls the two cases ``--calls`` times in
a row, in turn, their order reversed every other repetition; per case the median over
``--repetitions`` of the time per call. The report gives both times, tape / taylor, and the
loss and gradient difference between the two paths (they agree to round-off).

    python benchmarks/derivatives_eval.py [--examples allen_cahn schrodinger ...]
        [--dtype float64] [--threads 2] [--repetitions 5] [--calls 3]
        [--json benchmarks/derivatives_eval.json] [--md benchmarks/derivatives_eval.md]

The threads are set before TensorFlow starts (one process measures one thread count).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _runs  # noqa: E402

EXAMPLES = ("burgers", "burgers_identification", "schrodinger", "navier_stokes", "allen_cahn",
            "kdv_identification")
CASES = ("tape", "taylor")


def build_objective(example: str, derivatives: str, dtype: str, jit: bool, extra: list[str],
                    chunk_size: int | None = None):
    """``(CompiledObjective, x0 (n,) float64, description)`` for the example's problem (its
    ``build`` from the flags ``extra``), evaluated in chunks of ``chunk_size`` rows if given."""
    import importlib

    import numpy as np

    import pinn

    module = importlib.import_module(f"examples.{example}")
    settings = module.build_parser().parse_settings(
        ["--dtype", dtype, "--derivatives", derivatives, *extra])
    setup = module.build(settings)
    problem = setup.problem
    if problem.derivatives != derivatives:
        raise RuntimeError(f"{example}: asked for {derivatives}, the problem chose "
                           f"{problem.derivatives} ({problem.derivatives_reason})")
    objective = pinn.CompiledObjective(problem, jit_compile=jit, chunk_size=chunk_size)
    x0 = np.asarray(objective.layout.flatten(), dtype=np.float64)
    sizes = {name: int(np.asarray(points).shape[0]) for name, points in problem.point_sets().items()}
    return objective, x0, {"weights": int(x0.size), "points": sizes}


def measure(example: str, args: argparse.Namespace) -> dict:
    import numpy as np

    built = {case: build_objective(example, case, args.dtype, args.jit, args.flags) for case in CASES}
    first = {}
    for case, (objective, x0, _) in built.items():
        first[case] = objective(x0)  # traces and compiles
        objective(x0)
    times = _runs.time_in_turns({case: (lambda o=built[case][0], x=built[case][1]: o(x)) for case in CASES},
                                args.repetitions, args.calls)
    ms = {case: 1e3 * statistics.median(times[case]) for case in CASES}
    tape, taylor = first["tape"], first["taylor"]
    scale = float(np.abs(tape.jac).max()) or 1.0
    return {"example": example, **built["tape"][2], "ms": ms,
            "ms_all": {case: [1e3 * t for t in times[case]] for case in CASES},
            "tape_over_taylor": ms["tape"] / ms["taylor"],
            "loss_relative_difference": abs(tape.fun - taylor.fun) / max(abs(tape.fun), 1e-300),
            "gradient_relative_difference": float(np.abs(tape.jac - taylor.jac).max()) / scale}


def markdown(report: dict) -> str:
    m = report["machine"]
    *lines, machine = _runs.markdown_heading(report)
    lines += [
        f"{machine}, {report['threads']} TensorFlow "
        f"thread(s), TensorFlow {m['tensorflow']}, NumPy {m['numpy']}; {report['dtype']}, XLA "
        f"{'on' if report['jit'] else 'off'}; each time the median of {report['repetitions']} "
        f"repetitions of {report['calls']} calls.",
        "",
        "| example | weights | points | tape ms | taylor ms | tape / taylor | loss diff | gradient diff |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in report["results"]:
        points = ", ".join(f"{k} {v}" for k, v in r["points"].items())
        lines.append(f"| {r['example']} | {r['weights']} | {points} | {r['ms']['tape']:.1f} | "
                     f"{r['ms']['taylor']:.1f} | {r['tape_over_taylor']:.2f} | "
                     f"{r['loss_relative_difference']:.1e} | {r['gradient_relative_difference']:.1e} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", nargs="+", choices=EXAMPLES, default=list(EXAMPLES))
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float64")
    parser.add_argument("--threads", type=int, default=0, help="TensorFlow threads (0: its choice)")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--calls", type=int, default=3)
    parser.add_argument("--jit", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--flags", nargs=argparse.REMAINDER, default=[],
                        help="more example flags for every example (e.g. --quick), last")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--md", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.repetitions < 1 or args.calls < 1 or args.threads < 0:
        parser.error("--repetitions and --calls must be >= 1, --threads >= 0")
    import tensorflow as tf

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    results = []
    for example in args.examples:
        result = measure(example, args)
        print(f"{example}: tape {result['ms']['tape']:.1f} ms, taylor {result['ms']['taylor']:.1f} ms, "
              f"tape / taylor {result['tape_over_taylor']:.2f}", flush=True)
        results.append(result)
    report = {"dtype": args.dtype, "threads": args.threads, "jit": args.jit,
              "repetitions": args.repetitions, "calls": args.calls, "results": results}
    report = _runs.write_report("derivatives_eval.py", argv, report, args.json, args.md, markdown)
    return report


if __name__ == "__main__":
    main()
