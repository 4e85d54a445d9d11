"""What every example script shares: its command-line flags and its metrics.json."""

from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import tempfile
from typing import Any, Mapping

import numpy as np

__all__ = ["example_parser", "resolve", "write_metrics", "set_seeds", "stop_on_signals",
           "CHECKPOINT_FILE", "run_settings"]

#: The checkpoint file every example writes in its output folder.
CHECKPOINT_FILE = "checkpoint.h5"

# Flags that may change between a run and its resumption: where it writes, how it reports, the
# budgets (a larger one extends a run) and how it computes (same mathematics).
_RESUMABLE_FLAGS = {"out", "resume", "verbose", "checkpoint_every", "adam_steps", "lbfgs_maxiter",
                    "jit", "threads", "error_every", "gtol"}


def run_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The flags that define a run's problem (seed, sizes, dtype, data...), stored in its
    checkpoint so that ``--resume`` refuses a checkpoint of another setup."""
    return {k: v for k, v in sorted(vars(args).items())
            if not k.startswith("_") and k not in _RESUMABLE_FLAGS}


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an int >= 0, got {text}")
    return value


def example_parser(description: str, *, out: str, adam_steps: int, lbfgs_maxiter: int,
                   dtype: str = "float64") -> argparse.ArgumentParser:
    """An argument parser with the flags every example shares.

    ``--out DIR``, ``--seed N``, ``--adam-steps N``, ``--lbfgs-maxiter N``,
    ``--dtype float32|float64``, ``--quick`` (a run under a minute, for smoke tests: the script
    chooses smaller settings for whatever flags were not given), ``--jit/--no-jit`` (XLA),
    ``--verbose N`` (progress every N iterations), ``--checkpoint-every N`` (write
    ``OUT/checkpoint.h5`` every N steps/iterations) and ``--resume`` (go on from it). Scripts add
    their own flags.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", default=out, help=f"output folder (default {out})")
    parser.add_argument("--seed", type=_positive_int, default=0, help="random seed (default 0)")
    parser.add_argument("--adam-steps", type=_positive_int, default=None,
                        help=f"Adam warm-up steps (default {adam_steps})")
    parser.add_argument("--lbfgs-maxiter", type=_positive_int, default=None,
                        help=f"L-BFGS-B iteration limit, 0 skips L-BFGS-B (default {lbfgs_maxiter})")
    parser.add_argument("--dtype", choices=("float32", "float64"), default=dtype,
                        help=f"dtype of the whole problem (default {dtype})")
    parser.add_argument("--quick", action="store_true", help="a small run (under a minute), for smoke tests")
    parser.add_argument("--jit", action=argparse.BooleanOptionalAction, default=True,
                        help="compile with XLA (default on; --no-jit for plain tf.function)")
    parser.add_argument("--verbose", type=_positive_int, default=500,
                        help="print progress every N iterations, 0 for silence (default 500)")
    parser.add_argument("--checkpoint-every", type=_positive_int, default=1000,
                        help="write OUT/checkpoint.h5 every N steps/iterations, 0 only at the ends of "
                             "phases and on interruption (default 1000)")
    parser.add_argument("--resume", action="store_true",
                        help="go on from OUT/checkpoint.h5 where an interrupted run stopped (same "
                             "flags; a larger --adam-steps or --lbfgs-maxiter extends a finished run)")
    parser.set_defaults(_full_defaults={"adam_steps": adam_steps, "lbfgs_maxiter": lbfgs_maxiter})
    return parser


def resolve(args: argparse.Namespace, quick: Mapping[str, Any], **full: Any) -> argparse.Namespace:
    """Fill flags the user did not give (left at None): ``quick`` values under ``--quick``, else the
    full defaults (the shared flags' and the script's own ``full`` keywords)."""
    defaults = {**args._full_defaults, **full}
    if args.quick:
        defaults.update(quick)
    for key, value in defaults.items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    return args


def stop_on_signals() -> None:
    """Make SIGINT and SIGTERM raise KeyboardInterrupt, so that a run ends at its best weights
    and the script still writes its figures and metrics (status "interrupted").

    SIGINT is re-enabled even where the shell started the script with it ignored (background jobs).
    """
    import signal

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


def set_seeds(seed: int) -> np.random.Generator:
    """Seed Python, NumPy, TensorFlow and Keras; returns a NumPy generator for sampling."""
    import keras

    keras.utils.set_random_seed(seed)
    return np.random.default_rng(seed)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_metrics(out: str | os.PathLike, metrics: Mapping[str, Any]) -> pathlib.Path:
    """Write ``out/metrics.json`` atomically (non-finite floats become null)."""
    folder = pathlib.Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "metrics.json"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".metrics.", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(_jsonable(metrics), f, indent=2)
        f.write("\n")
    os.replace(tmp, path)
    return path
