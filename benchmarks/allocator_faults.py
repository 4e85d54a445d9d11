"""Minor page faults and CPU time per loss-and-gradient evaluation, pooled against system allocator.

``import pinn`` turns on TensorFlow's pooled (BFC) CPU allocator (``TF_CPU_ALLOCATOR_USE_BFC=true``
unless the variable is set). With glibc's malloc, an evaluation frees tens of MB back to the kernel
and faults them in again on the next call. Each case runs in a fresh process (TensorFlow reads the
variable once): the Burgers loss at the paper's size (10000 collocation points + 100 data points,
[2, 20 x 8, 1], the tape derivatives), a few calls to warm up, then ``--calls`` calls counted with
``getrusage``: minor page faults, user and system CPU time per evaluation. Counts of faults do not
depend on the machine's load; the CPU times do (read the system share, not the milliseconds).

    python benchmarks/allocator_faults.py [--calls 10] [--threads 1]
        [--json benchmarks/allocator_faults.json] [--md benchmarks/allocator_faults.md]

``tests/test_allocator.py`` runs :func:`faults_per_evaluation` to check the pooled allocator.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _runs  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

#: The allocators compared: the value of TF_CPU_ALLOCATOR_USE_BFC (None: what ``import pinn`` sets).
ALLOCATORS = {"pooled": None, "system": "false"}

_MEASURE = r"""
import json, os, resource, sys
import numpy as np
import pinn
import tensorflow as tf
from pinn.equations import Burgers

jit, dtype, calls, threads = sys.argv[1] == "1", sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
tf.config.threading.set_intra_op_parallelism_threads(threads)
tf.config.threading.set_inter_op_parallelism_threads(threads)
domain = pinn.Box([-1.0, 0.0], [1.0, 1.0])
rng = np.random.default_rng(0)
points = domain.lower + (domain.upper - domain.lower) * rng.random((10000, 2))
data = domain.lower + (domain.upper - domain.lower) * rng.random((100, 2))
net = pinn.mlp(2, 1, [20] * 8, lower=domain.lower, upper=domain.upper, dtype=dtype, seed=0)
problem = pinn.Problem(Burgers(), net, points, [pinn.Observations(data, np.zeros((100, 1)), name="data")],
                       dtype=dtype, derivatives="tape")
objective = pinn.CompiledObjective(problem, jit_compile=jit)
x = np.asarray(objective.layout.flatten())
for _ in range(4):
    objective(x)
before = resource.getrusage(resource.RUSAGE_SELF)
for _ in range(calls):
    objective(x)
after = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"setting": os.environ.get("TF_CPU_ALLOCATOR_USE_BFC"),
                  "faults": (after.ru_minflt - before.ru_minflt) / calls,
                  "user_ms": 1e3 * (after.ru_utime - before.ru_utime) / calls,
                  "system_ms": 1e3 * (after.ru_stime - before.ru_stime) / calls}))
"""


def faults_per_evaluation(setting: str | None, *, jit: bool = False, dtype: str = "float64",
                          calls: int = 5, threads: int = 1) -> dict[str, Any]:
    """One fresh process with ``TF_CPU_ALLOCATOR_USE_BFC=setting`` (None: unset, so ``import
    pinn`` chooses): ``{"setting", "faults", "user_ms", "system_ms"}``, per evaluation."""
    env = {key: value for key, value in os.environ.items() if key != "TF_CPU_ALLOCATOR_USE_BFC"}
    env.update({"TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT)})
    if setting is not None:
        env["TF_CPU_ALLOCATOR_USE_BFC"] = setting
    run = subprocess.run([sys.executable, "-c", _MEASURE, "1" if jit else "0", dtype, str(calls),
                          str(threads)], capture_output=True, text=True, env=env, timeout=600)
    if run.returncode != 0:
        raise RuntimeError(f"the measuring process failed: {run.stderr[-2000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    *lines, machine = _runs.markdown_heading(report)
    lines += [f"{machine}, TensorFlow {m['tensorflow']}; {report['threads']} TensorFlow thread(s), "
              f"{report['calls']} evaluations counted per case, one process per case.", "",
              "| allocator | dtype | XLA | minor page faults / evaluation | user CPU ms | system CPU ms | "
              "system share |", "|---|---|---|---|---|---|---|"]
    for row in report["results"]:
        total = row["user_ms"] + row["system_ms"]
        share = row["system_ms"] / total if total > 0 else 0.0
        lines.append(f"| {row['allocator']} | {row['dtype']} | {'yes' if row['xla'] else 'no'} | "
                     f"{row['faults']:.0f} | {row['user_ms']:.1f} | {row['system_ms']:.1f} | {share:.0%} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=10, help="evaluations counted per case (default 10)")
    parser.add_argument("--threads", type=int, default=1, help="TensorFlow threads (default 1)")
    parser.add_argument("--dtypes", nargs="+", choices=["float32", "float64"], default=["float64", "float32"])
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--md", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.calls < 1 or args.threads < 1:
        parser.error("--calls and --threads must be >= 1")
    results = []
    for dtype in args.dtypes:
        for jit in (False, True):
            for allocator, setting in ALLOCATORS.items():
                row = faults_per_evaluation(setting, jit=jit, dtype=dtype, calls=args.calls,
                                            threads=args.threads)
                results.append({"allocator": allocator, "dtype": dtype, "xla": jit, **row})
                print(f"{allocator} {dtype} xla={jit}: {row['faults']:.0f} faults, user {row['user_ms']:.1f} "
                      f"ms, system {row['system_ms']:.1f} ms per evaluation", flush=True)
    report = {"calls": args.calls, "threads": args.threads, "results": results}
    return _runs.write_report("allocator_faults.py", argv, report, args.json, args.md, markdown)


if __name__ == "__main__":
    main()
