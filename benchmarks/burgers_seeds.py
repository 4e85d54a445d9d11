"""Burgers example over several seeds: the spread of the relative L2 error (paper: 6.7e-4, one run).

Runs ``examples/burgers.py`` once per seed (in parallel jobs, each with --threads TF threads),
with any extra flags passed through, and writes OUT/summary.json and prints a table.

    python benchmarks/burgers_seeds.py --seeds 0 1 2 3 4 --jobs 2 --out runs/seeds -- --adam-steps 1000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(seed: int, out: Path, threads: int, extra: list[str]) -> dict:
    folder = out / f"seed{seed}"
    command = [sys.executable, str(ROOT / "examples" / "burgers.py"), "--seed", str(seed),
               "--out", str(folder), "--threads", str(threads), *extra]
    with open(out / f"seed{seed}.log", "w") as log:
        subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=True,
                       env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    return json.loads((folder / "metrics.json").read_text())


def main() -> None:
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0, help="TF threads per job (0: TF's choice)")
    parser.add_argument("--out", default="runs/burgers_seeds")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(args.jobs) as pool:
        metrics = list(pool.map(lambda s: run(s, out, args.threads, extra), args.seeds))
    errors = [m["relative_l2_error"] for m in metrics]
    rows = [{k: m[k] for k in ("seed", "relative_l2_error", "final_loss", "adam_steps", "lbfgs_nit",
                               "lbfgs_nfev", "lbfgs_message", "wall_time_s", "lbfgs_evals_per_second")}
            for m in metrics]
    summary = {"flags": extra, "runs": rows, "median_error": statistics.median(errors),
               "max_error": max(errors), "min_error": min(errors)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print("| seed | rel. L2 error | final loss | Adam | L-BFGS nit | nfev | wall s | stop |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['seed']} | {r['relative_l2_error']:.2e} | {r['final_loss']:.2e} | {r['adam_steps']} | "
              f"{r['lbfgs_nit']} | {r['lbfgs_nfev']} | {r['wall_time_s']:.0f} | {r['lbfgs_message']} |")
    print(f"median {summary['median_error']:.2e}, max {summary['max_error']:.2e}")


if __name__ == "__main__":
    main()
