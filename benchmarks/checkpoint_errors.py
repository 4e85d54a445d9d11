"""The relative L2 error of saved Burgers runs, read from their checkpoints (runs stopped early).

A run killed before it wrote metrics.json (SIGKILL, a machine taken back) still has its
checkpoint.h5, written every ``--checkpoint-every`` iterations. This rebuilds each run's problem
from the settings saved in its checkpoint (:func:`pinn.scripts.restore_run`), loads the weights
and evaluates the error against ``data/burgers_shock.h5``:

    python benchmarks/checkpoint_errors.py RUN_DIR [RUN_DIR ...] [--json OUT.json]

Each row: the run's seed, the Adam steps and L-BFGS-B iterations/evaluations the checkpoint had
reached, when it was written, and the relative L2 error there.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def checkpoint_error(run_dir: str | os.PathLike[str]) -> dict:
    """One row (see the module docstring) for the Burgers run in ``run_dir``."""
    import pinn
    import pinn.examples.burgers as burgers
    from pinn.scripts import restore_run

    settings, setup, saved = restore_run(burgers, run_dir)
    return {"run": str(run_dir), "seed": settings.seed, **{k: saved.progress[k] for k in (
        "adam_steps", "lbfgs_nit", "lbfgs_nfev")}, "checkpoint_written": saved.written,
        "relative_l2_error": pinn.relative_l2_error(setup.predict(), setup.usol)}


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="run directories holding checkpoint.h5")
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    args = parser.parse_args(argv)
    missing = [r for r in args.runs if not (Path(r) / "checkpoint.h5").is_file()]
    if missing:
        parser.error(f"no checkpoint.h5 in {missing}")
    rows = [checkpoint_error(r) for r in args.runs]
    for row in rows:
        print(f"seed {row['seed']}: L-BFGS-B {row['lbfgs_nit']} iterations ({row['lbfgs_nfev']} "
              f"evaluations), relative L2 error {row['relative_l2_error']:.2e}", file=sys.stdout)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    return rows


if __name__ == "__main__":
    main()
