"""Burgers example over several seeds: the spread of the relative L2 error (paper: 6.7e-4, one run).

Runs ``examples/burgers.py`` once per seed into OUT/seed<N> (in parallel jobs, each with --threads
TF threads), with any extra flags passed through, and writes OUT/summary.json and prints a table.
Resumable (``benchmarks/_runs.py``): a seed whose finished metrics.json is in OUT, made with the
same flags, is reused; a killed run goes on from its checkpoint (``--resume-or-start``);
``--fresh`` starts every seed again (``--overwrite``).

    python benchmarks/burgers_seeds.py --seeds 0 1 2 3 4 --jobs 2 --out runs/seeds -- --adam-steps 1000
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _runs  # noqa: E402  (benchmarks/_runs.py: the subprocess runner shared with paper_tables.py)

OWN_FLAGS = ("--seed", "--out", "--threads", "--resume", "--resume-or-start", "--overwrite")


def main() -> None:
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0, help="TF threads per job (0: TF's choice)")
    parser.add_argument("--out", default="runs/burgers_seeds")
    parser.add_argument("--fresh", action="store_true",
                        help="start every seed again (--overwrite), not reusing finished runs")
    args = parser.parse_args(argv)
    own = sorted({flag.split("=")[0] for flag in extra if flag.split("=")[0] in OWN_FLAGS})
    if own:
        parser.error(f"flags after '--' must not set {own}: --seeds, --out, --threads and --fresh set them")
    if args.jobs < 1 or args.threads < 0 or min(args.seeds) < 0:
        parser.error(f"expected --jobs >= 1, --threads >= 0 and --seeds >= 0, got {args.jobs}, "
                     f"{args.threads} and {args.seeds}")
    out = Path(args.out)
    jobs = [_runs.Run("burgers", out / f"seed{seed}", ("--seed", str(seed), *extra)) for seed in args.seeds]
    try:
        metrics = _runs.run_all(jobs, args.jobs, args.threads, args.fresh)
    except _runs.FlagsMismatch as error:
        parser.error(str(error))
    errors = [m["relative_l2_error"] for m in metrics]
    rows = [{k: m[k] for k in ("seed", "relative_l2_error", "final_loss", "adam_steps", "lbfgs_nit",
                               "lbfgs_nfev", "lbfgs_message", "wall_time_s", "lbfgs_evals_per_second",
                               "reused")}
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
