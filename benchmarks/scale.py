"""How the loss-and-gradient evaluation scales with the number of collocation points N_f.

The Burgers example's problem ([2, 20 x 8, 1], float64, 100 initial/boundary points) with N_f
Latin-hypercube collocation points, N_f from 1e3 to 1e6. Each N_f runs in a fresh process (so its
peak memory is its own): build the problem, compile ``pinn.CompiledObjective`` (chunked above
``--chunk`` points: the collocation set is evaluated in pieces of at most that many rows whose
sums are accumulated, see ``CompiledObjective(chunk_size=...)``), then time ``--calls``
evaluations after one warm-up and read the process's peak resident memory
(``getrusage(RUSAGE_SELF).ru_maxrss``). Reports the median time per evaluation, the time per
collocation point (linear growth shows as a constant), and the peak memory against the memory
of a process that only imported TensorFlow and built the problem (the baseline, measured in the
same process before compiling).

    python benchmarks/scale.py [--n-f 1000 10000 100000 1000000] [--calls 5] [--threads 2]
                               [--json benchmarks/scale.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import _runs  # noqa: E402


def peak_mib() -> float:
    """This process's peak resident memory so far, MiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def current_mib() -> float:
    """This process's resident memory now, MiB (from /proc; 0 where unavailable)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def measure(n_f: int, chunk: int, calls: int, threads: int, jit: bool) -> dict:
    """One configuration, in this process: the row of the report."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf

    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    from engine_eval import build

    import pinn

    start = time.perf_counter()
    problem = build(n_f, "float64")
    build_s = time.perf_counter() - start
    baseline = current_mib()
    chunk_size = chunk if n_f > chunk else None
    objective = pinn.CompiledObjective(problem, jit_compile=jit, chunk_size=chunk_size)
    x = objective.layout.flatten()
    start = time.perf_counter()
    first = objective(x)
    compile_s = time.perf_counter() - start
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        objective(x)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return {
        "n_f": n_f, "chunk_size": chunk_size, "chunks": -(-n_f // chunk) if chunk_size else 1,
        "jit_compile": jit, "threads": threads, "calls": calls,
        "eval_ms_median": 1e3 * median, "eval_ms_min": 1e3 * min(times),
        "eval_ms_max": 1e3 * max(times), "us_per_point": 1e6 * median / n_f,
        "first_call_s": compile_s, "build_s": build_s,
        "baseline_mib": baseline, "peak_mib": peak_mib(),
        "loss": float(first.fun), "finite_gradient": bool(np.all(np.isfinite(first.jac))),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-f", type=int, nargs="+", default=[1000, 10000, 100000, 1000000])
    parser.add_argument("--chunk", type=int, default=100000,
                        help="largest collocation chunk evaluated at once (default 100000)")
    parser.add_argument("--calls", type=int, default=5, help="timed evaluations per N_f (default 5)")
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow threads (0: TF's choice)")
    parser.add_argument("--no-jit", action="store_true", help="tf.function without XLA")
    parser.add_argument("--json", default=None, help="also write the report to this file")
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)  # child process
    args = parser.parse_args(argv)
    if min(args.n_f) < 1 or args.chunk < 1 or args.calls < 1 or args.threads < 0:
        parser.error("--n-f, --chunk and --calls must be positive, --threads >= 0")
    if args.one is not None:
        row = measure(args.one, args.chunk, args.calls, args.threads, not args.no_jit)
        print(json.dumps(row))
        return row
    rows = []
    for n_f in args.n_f:
        command = [sys.executable, __file__, "--one", str(n_f), "--chunk", str(args.chunk),
                   "--calls", str(args.calls), "--threads", str(args.threads)]
        if args.no_jit:
            command.append("--no-jit")
        row = _runs.worker_result(command)
        rows.append(row)
        print(f"N_f {n_f:>8d}  chunks {row['chunks']:>3d}  {row['eval_ms_median']:9.1f} ms/eval  "
              f"{row['us_per_point']:6.2f} us/point  peak {row['peak_mib']:7.0f} MiB "
              f"(baseline {row['baseline_mib']:5.0f})", flush=True)
    import numpy as np
    import scipy
    import tensorflow as tf

    report = {
        "rows": rows,
        "settings": {k: v for k, v in vars(args).items() if k != "one"},
        "machine": {"processor": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                    "tensorflow": tf.__version__, "scipy": scipy.__version__, "numpy": np.__version__},
        "date": time.strftime("%Y-%m-%d"),
    }
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
