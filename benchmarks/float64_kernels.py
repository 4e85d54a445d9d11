"""Why float64 costs more than float32 here: the kernels of one evaluation, timed in both dtypes.

An evaluation of the Taylor path is, per layer and per jet entry, one product ``W^T h`` of a
(width, width) kernel with a (width, N) jet (points last), one ``tanh`` and a few multiply-adds.
This script times each of those kernels alone, on the shapes of the Burgers example (width 20,
N = 10000 points), in float32 and float64, and gives the float64 / float32 ratio per kernel. Each
call applies its kernel ``--depth`` times in a chain, as the layers do (``h <- W^T h``,
``h <- tanh(h)``, ``h <- h * g + h``), so the time per call is the kernels', not the call's:

- ``matmul, XLA``: ``tf.matmul(W, h, transpose_a=True)`` compiled with XLA (pinn's default);
- ``matmul, TensorFlow``: the same product, compiled without XLA (TensorFlow's own kernels);
- ``matmul, NumPy``: ``np.matmul(W.T, h, out=...)`` (NumPy's BLAS), the same product outside
  TensorFlow, to tell what the processor can do from what TensorFlow's build does;
- ``tanh, XLA`` and ``multiply-add, XLA``: ``tanh(h)`` and ``h * g + h``, compiled with XLA.

On a CPU a vector register holds half as many float64 numbers as float32 ones, so kernels bound
by arithmetic or by memory traffic take about twice as long in float64; a ratio well above 2
points at the kernel's implementation rather than the arithmetic.

Timing: each repetition calls every kernel ``--calls`` times in a row, the kernels in turn and
their order reversed every other repetition; per kernel the median over ``--repetitions``. Each
thread count runs in its own process (TensorFlow fixes its thread pools when it starts; NumPy's
BLAS gets the same count through ``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS``).

    python benchmarks/float64_kernels.py [--threads 1 2] [--width 20] [--points 10000]
        [--depth 8] [--repetitions 7] [--calls 20] [--json benchmarks/float64_kernels.json]
        [--md benchmarks/float64_kernels.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
from typing import Any, Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _runs  # noqa: E402

KERNELS = ("matmul, XLA", "matmul, TensorFlow", "matmul, NumPy", "tanh, XLA", "multiply-add, XLA")


def kernels(dtype: str, width: int, points: int, depth: int) -> dict[str, Callable[[], Any]]:
    """Each kernel as a call with no arguments that applies it ``depth`` times in a chain, on fixed
    random inputs of ``dtype``: ``W`` (width, width, orthogonal, so the chain keeps its scale),
    ``h`` (width, points) standard normal, ``g`` (width, points) uniform in (-0.5, 0.5)."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    W_np = np.linalg.qr(rng.standard_normal((width, width)))[0].astype(dtype)
    h_np = rng.standard_normal((width, points)).astype(dtype)
    g_np = (rng.random((width, points)) - 0.5).astype(dtype)
    W, h, g = tf.constant(W_np), tf.constant(h_np), tf.constant(g_np)

    def chain(step: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def apply(x: Any) -> Any:
            for _ in range(depth):
                x = step(x)
            return x
        return apply

    product = chain(lambda x: tf.matmul(W, x, transpose_a=True))
    matmul_xla = tf.function(product, jit_compile=True)
    matmul_tf = tf.function(product, jit_compile=False)
    tanh_xla = tf.function(chain(tf.tanh), jit_compile=True)
    fma_xla = tf.function(chain(lambda x: x * g + x), jit_compile=True)
    W_t, buffers = np.ascontiguousarray(W_np.T), (np.empty_like(h_np), np.empty_like(h_np))

    def matmul_numpy() -> Any:
        x = h_np
        for i in range(depth):
            x = np.matmul(W_t, x, out=buffers[i % 2])
        return x

    calls = {
        "matmul, XLA": lambda: matmul_xla(h),
        "matmul, TensorFlow": lambda: matmul_tf(h),
        "matmul, NumPy": matmul_numpy,
        "tanh, XLA": lambda: tanh_xla(h),
        "multiply-add, XLA": lambda: fma_xla(h),
    }
    reference = h_np.astype("float64")
    for _ in range(depth):
        reference = W_np.T.astype("float64") @ reference
    for name in ("matmul, XLA", "matmul, TensorFlow", "matmul, NumPy"):
        result = np.asarray(calls[name]())  # also traces and compiles
        tolerance = 1e-4 if dtype == "float32" else 1e-11
        if np.abs(result - reference).max() > tolerance * np.abs(reference).max():
            raise AssertionError(f"{name} ({dtype}) disagrees with the float64 product")
    for name in ("tanh, XLA", "multiply-add, XLA"):
        calls[name]()  # trace and compile
    return calls


def worker(args: argparse.Namespace) -> dict:
    """One thread count: time every kernel in both dtypes."""
    import numpy as np
    import tensorflow as tf

    threads = args.threads[0]
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    calls = {(name, dtype): call for dtype in ("float32", "float64")
             for name, call in kernels(dtype, args.width, args.points, args.depth).items()}
    load_before = os.getloadavg()
    samples = _runs.time_in_turns(calls, args.repetitions, args.calls)
    rows = []
    for name in KERNELS:
        ms = {dtype: 1e3 * statistics.median(samples[name, dtype]) for dtype in ("float32", "float64")}
        rows.append({"kernel": name, "ms": ms,
                     "ms_samples": {dtype: [1e3 * t for t in samples[name, dtype]] for dtype in ms},
                     "float64_over_float32": ms["float64"] / ms["float32"]})
    return {"threads": threads, "rows": rows, "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
            "versions": {"tensorflow": tf.__version__, "numpy": np.__version__, "python": platform.python_version()}}


def markdown(report: dict) -> str:
    m, s = report["machine"], report["settings"]
    lines = _runs.markdown_heading(report)
    lines[-1] += (f", TensorFlow {m['tensorflow']}, NumPy {m['numpy']}; width {s['width']}, "
                  f"{s['points']} points, each kernel {s['depth']} times per call; each time the median "
                  f"of {s['repetitions']} repetitions of {s['calls']} calls.")
    lines += ["", "| threads | kernel | float32 ms | float64 ms | float64 / float32 |", "|---|---|---|---|---|"]
    for run in report["runs"]:
        for row in run["rows"]:
            lines.append(f"| {run['threads']} | {row['kernel']} | {row['ms']['float32']:.3f} | "
                         f"{row['ms']['float64']:.3f} | {row['float64_over_float32']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--width", type=int, default=20, help="neurons per layer (default 20, Burgers')")
    parser.add_argument("--points", type=int, default=10000, help="points per jet (default 10000, N_f)")
    parser.add_argument("--depth", type=int, default=8, help="kernels chained per call (default 8, layers)")
    parser.add_argument("--repetitions", type=int, default=7)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--json", default=None)
    parser.add_argument("--md", default=None)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repetitions < 5 or min(args.calls, args.width, args.points, args.depth, *args.threads) < 1:
        parser.error("--repetitions must be >= 5; --calls, --width, --points, --depth and --threads positive")
    if args.worker:
        print(json.dumps(worker(args)))
        return {}
    runs = []
    for threads in args.threads:
        command = [sys.executable, os.path.abspath(__file__), "--worker", "--threads", str(threads),
                   "--width", str(args.width), "--points", str(args.points), "--depth", str(args.depth),
                   "--repetitions", str(args.repetitions), "--calls", str(args.calls)]
        env = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)}
        print(f"threads {threads}", file=sys.stderr, flush=True)
        runs.append(_runs.worker_result(command, env))
    report = {
        "benchmark": "the kernels of a Taylor-path evaluation, float32 against float64",
        "settings": {"threads": args.threads, "width": args.width, "points": args.points, "depth": args.depth,
                     "repetitions": args.repetitions, "calls": args.calls},
        "note": "one run; each thread count in its own process",
        "runs": runs,
    }
    report = _runs.write_report("float64_kernels.py", argv, report, args.json, args.md, markdown)
    print(markdown(report))
    return report


if __name__ == "__main__":
    main()
