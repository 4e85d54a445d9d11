"""What every example script shares: its flags, its run directory, its exit codes, its metrics.json.

An example module (``examples/burgers.py``, installed as ``pinn.examples.burgers``) provides

- ``NAME`` and ``DESCRIPTION`` (one line, for ``pinn list``);
- ``build_parser(prog=None)``: a :class:`~pinn.settings.FlagParser` from :func:`example_parser`,
  with the example's own problem and run flags;
- ``build(settings)``: the problem from the settings (an object with at least ``.problem``, a
  :class:`pinn.Problem`), without training;
- ``solve(settings) -> dict``: train, write ``metrics.json``, the checkpoint and the figures into
  ``settings.out``; returns the metrics;
- ``plot(run_dir, out=None) -> list[Path]``: the figures again from a run directory (with
  :func:`restore_run`);
- ``main(argv=None, prog=None, command=None) -> int``: ``run_example(module, ...)``, the exit code.

:func:`run_example` is the one command-line entry of every example, for ``python examples/NAME.py``
and ``pinn solve NAME`` alike. Exit codes: 0 success, 1 failure (an error; a loss that became
NaN/inf; a checkpoint, metrics.json or figure that could not be written), 2 bad usage, 130 after
SIGINT and 143 after SIGTERM (the run then ends at its best weights, writes the checkpoint and
metrics.json with status "interrupted", and prints the checkpoint's path and the exact command that
resumes it; a second signal does not interrupt that saving, a third stops at once). Errors are one
line on stderr, ``PROG: error: ...``; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import pathlib
import shlex
import sys
import tempfile
import traceback
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from pinn.signals import SIGNAL_NAMES, exit_code_for_signal, held_signals, interrupt_signals
from pinn.atomic import TEMP_PATTERN, remove_stale, write_atomic
from pinn.validation import check_int
from pinn.settings import (FlagParser, RunSettings, UsageError, differences, format_usage_error,
                           max_threads, nonnegative_int, nonnegative_seconds, positive_int, seed_int,
                           thread_count)

__all__ = ["example_parser", "NoiseDependentAdam", "add_resample_flags", "resample_plan",
           "add_float32_flag", "float32_twin", "run_example", "train_example", "run_metrics", "replot", "method_name",
           "nonnegative_seconds",
           "saved_error_history", "write_error_history", "ERROR_HISTORY_FIGURE", "ERROR_EVERY_S", "prepare_run_directory", "restore_run", "write_metrics",
           "write_outputs", "run_status", "set_seeds",
           "report_error", "exit_code_for", "existing_file", "running_pid", "CHECKPOINT_FILE",
           "METRICS_FILE", "EXIT_OK", "EXIT_FAILURE", "EXIT_USAGE"]

#: The checkpoint file every example writes in its output folder.
CHECKPOINT_FILE = "checkpoint.h5"
#: The metrics file every example writes in its output folder.
METRICS_FILE = "metrics.json"
#: The figure of the error against training time (from metrics.json's ``error_history``).
ERROR_HISTORY_FIGURE = "error_history.png"
#: Default of ``--error-every``: seconds of training between error samples.
ERROR_EVERY_S = 2.0
#: Temporary files a killed run can leave in its folder (removed when the next run starts there):
#: those of pinn's atomic writes (:data:`pinn.atomic.TEMP_PATTERN`: checkpoint, metrics, figures),
#: the write probe, and the names earlier pinn versions used.
STALE_PATTERNS = (TEMP_PATTERN, ".pinn-write-test.*", ".checkpoint.*.h5.tmp", ".metrics.*.json")
LOCK_FILE = ".pinn.lock"

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


# -- flags ---------------------------------------------------------------------------------------

def existing_file(text: str) -> str:
    """A flag value naming an existing file; returns its absolute path (so that settings saved in
    a run do not depend on the folder the command ran in)."""
    if not text or not os.path.isfile(text):
        raise argparse.ArgumentTypeError(f"no such file: {text!r}")
    return os.path.abspath(text)


def method_name(text: str) -> str:
    """A ``--method`` value: a second-phase method of the registry
    (:func:`pinn.optimize.resolve_method`, any case); returns its canonical name."""
    from pinn.optimize import METHOD_NAMES, resolve_method

    try:
        return resolve_method(text).name
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(
            f"expected one of {', '.join(METHOD_NAMES)} (any case), got {text!r}") from None


def example_parser(example: str, description: str, *, out: str, adam_steps: int,
                   lbfgs_maxiter: int, dtype: str = "float64", method: str | None = None,
                   derivatives: str = "tape", chunk_size: int = 0,
                   prog: str | None = None) -> FlagParser:
    """A :class:`~pinn.settings.FlagParser` with the flags every example shares.

    Problem flags: ``--seed N``, ``--dtype float32|float64``. Run flags: ``--out DIR``,
    ``--adam-steps N``, ``--lbfgs-maxiter N`` (the second phase's iteration limit, whatever its
    method), ``--method NAME`` (the second phase's method, default ``method``, else
    :data:`pinn.optimize.DEFAULT_METHOD` (L-BFGS-B): a SciPy method or a dense quasi-Newton one,
    :func:`pinn.optimize.resolve_method`), ``--max-dense-size N`` (the dense quasi-Newton methods'
    ``max_dense_size`` option: the most weights they accept; an error with any other method),
    ``--derivatives auto|taylor|tape`` (how the problem
    computes the input derivatives, default ``derivatives``; the problems' ``derivatives``
    argument, :func:`pinn.taylor.choose_derivatives`), ``--error-every SECONDS``
    (sample the example's error every so many seconds of training into metrics.json's
    ``error_history``, 0 never; see :func:`train_example`), ``--time-limit SECONDS`` (stop after so
    much training time, 0 none; see :func:`train_example`), ``--quick`` (a run under a minute, for smoke tests:
    the script's quick preset for whatever flags were not given), ``--jit/--no-jit`` (XLA),
    ``--chunk-size N`` (collocation rows per chunk, 0 all at once, default ``chunk_size``; the
    Trainer's ``chunk_size``),
    ``--verbose N`` (progress every N iterations), ``--checkpoint-every N``, ``--resume`` (go on
    from ``OUT/checkpoint.h5``), ``--resume-or-start`` (the same, or a new run where there is no
    checkpoint), ``--overwrite`` (start again in a folder that holds a run), ``--debug``
    (tracebacks). Scripts add their own flags with ``parser.problem_flag`` / ``parser.run_flag``;
    one that declares a shared flag again replaces it (its own declaration wins).
    """
    parser = FlagParser(example, description, prog=prog or f"{example}.py", allow_abbrev=False)
    parser.problem_flag("--seed", type=seed_int, default=0, help="random seed (default 0)")
    parser.problem_flag("--dtype", choices=("float32", "float64"), default=dtype,
                        help=f"dtype of the whole problem (default {dtype})")
    parser.run_flag("--out", default=out, help=f"output folder (default {out})")
    parser.run_flag("--adam-steps", type=nonnegative_int, default=None,
                    help=f"Adam warm-up steps (default {adam_steps})")
    from pinn.optimize import DEFAULT_METHOD
    from pinn.quasi_newton import QUASI_NEWTON_DEFAULTS, QUASI_NEWTON_METHODS

    method = method_name(method or DEFAULT_METHOD)
    parser.run_flag("--lbfgs-maxiter", type=nonnegative_int, default=None,
                    help="iteration limit of the second phase (--method), 0 skips it (default "
                         f"{lbfgs_maxiter})")
    parser.run_flag("--method", type=method_name, default=method,
                    help="the second phase's method: L-BFGS-B, another SciPy gradient method, or a "
                         f"dense quasi-Newton one ({', '.join(QUASI_NEWTON_METHODS)}; "
                         f"networks of at most {QUASI_NEWTON_DEFAULTS['max_dense_size']} weights "
                         f"unless --max-dense-size); default {method}")
    parser.run_flag("--max-dense-size", type=positive_int, default=None,
                    help="the dense quasi-Newton methods' largest network: they refuse one of more "
                         "weights, before any work (their n x n matrix takes 8 n^2 bytes: 3.2 GB at "
                         "20000, 7.6 GB at 30802, and writing a checkpoint takes about three more "
                         f"such copies; default {QUASI_NEWTON_DEFAULTS['max_dense_size']})")
    from pinn.taylor import DERIVATIVE_PATHS

    parser.run_flag("--derivatives", choices=DERIVATIVE_PATHS, default=derivatives,
                    help="input derivatives: taylor (forward propagation through the MLP), tape "
                         "(reverse mode, any network) or auto (taylor where the network allows); "
                         f"the same values to round-off (default {derivatives})")
    parser.run_flag("--error-every", type=nonnegative_seconds, default=ERROR_EVERY_S,
                    help="sample the error against the reference every SECONDS of training (the "
                         "samples' own time left out) into metrics.json's error_history and "
                         f"{ERROR_HISTORY_FIGURE}; 0 never (default {ERROR_EVERY_S:g})")
    parser.run_flag("--time-limit", type=nonnegative_seconds, default=0.0,
                    help="stop training after SECONDS of training (status stopped, best weights "
                         "kept; by the error history's clock when it samples, so runs compare at "
                         "equal training time; a resumed run counts its earlier time); 0: no limit "
                         "(default 0)")
    parser.run_flag("--quick", action="store_true",
                    help="a small run (under a minute), for smoke tests")
    parser.run_flag("--jit", action=argparse.BooleanOptionalAction, default=True,
                    help="compile with XLA (default on; --no-jit for plain tf.function)")
    parser.run_flag("--threads", type=thread_count, default=0,
                    help="TensorFlow threads per operation, 0 for TensorFlow's choice, at most "
                         f"{max_threads()} here (default 0)")
    parser.run_flag("--chunk-size", type=nonnegative_int, default=chunk_size,
                    help="evaluate the collocation points in chunks of at most N rows, in a loop "
                         "inside the compiled function (faster where a chunk's working set fits the "
                         "processor's cache; same loss to round-off), 0 for all at once (default "
                         f"{chunk_size})")
    parser.run_flag("--verbose", type=nonnegative_int, default=500,
                    help="print progress every N iterations, 0 for silence (default 500)")
    parser.run_flag("--checkpoint-every", type=nonnegative_int, default=1000,
                    help="write OUT/checkpoint.h5 every N steps/iterations, 0 only at the ends of "
                         "phases and on interruption (default 1000)")
    parser.run_flag("--resume", action="store_true",
                    help="go on from OUT/checkpoint.h5 where a run stopped (same problem flags; a "
                         "larger --adam-steps or --lbfgs-maxiter extends a finished run); an error "
                         "if there is no checkpoint")
    parser.run_flag("--resume-or-start", action="store_true",
                    help="as --resume where OUT has a checkpoint, else start a new run")
    parser.run_flag("--overwrite", action="store_true",
                    help="start a new run in an OUT that holds one (its checkpoint and metrics "
                         "are deleted)")
    parser.run_flag("--devices", type=positive_int, default=1,
                    help="data-parallel devices: N GPUs where present, else N logical CPU devices "
                         "(tf.distribute.MirroredStrategy; default 1, no strategy)")
    parser.run_flag("--debug", action="store_true", help="print the traceback of an error")
    parser.set_presets(full={"adam_steps": adam_steps, "lbfgs_maxiter": lbfgs_maxiter})
    parser.add_check(_check_shared_flags)
    # a script may declare a shared flag again (an example written before --error-every and
    # --method were shared declares its own --error-every): its own declaration then wins
    for container in (parser, *parser._action_groups):
        container.conflict_handler = "resolve"
    return parser


@dataclasses.dataclass(frozen=True)
class NoiseDependentAdam:
    """An Adam warm-up whose default depends on ``--noise`` (the identification examples): ``clean``
    steps on clean data, ``noisy`` with noise (``quick_noisy`` under ``--quick``); an explicit
    ``--adam-steps`` wins. :meth:`add_to` leaves the flag's default unset (resolved by
    :meth:`steps`), writes its help and adds a check that refuses a run with nothing to train."""

    clean: int
    noisy: int
    quick_noisy: int

    def add_to(self, parser: FlagParser, paper: str = "") -> None:
        """Make ``parser``'s ``--adam-steps`` noise-dependent; ``paper`` ends the help text."""
        parser.set_presets(full={"adam_steps": None})
        parser.set_help("adam_steps", f"Adam warm-up steps (default {self.clean} on clean data; {self.noisy} "
                                      f"with --noise > 0{'; ' + paper if paper else ''})")
        parser.add_check(self.check)

    def steps(self, settings: RunSettings) -> int:
        """The Adam steps of a run with these ``settings``."""
        if settings.adam_steps is not None:
            return int(settings.adam_steps)
        if settings.noise == 0:
            return self.clean
        return self.quick_noisy if settings.quick else self.noisy

    def check(self, settings: RunSettings) -> None:
        """Raises UsageError when the run would train nothing (no Adam steps, no second phase)."""
        if self.steps(settings) == 0 and settings.lbfgs_maxiter == 0:
            raise UsageError("no Adam steps (the default on clean data) and --lbfgs-maxiter 0: nothing "
                             "to train")


def add_resample_flags(parser: FlagParser, every: int = 0, method: str | None = None) -> None:
    """Add ``--resample-every N`` (draw new collocation points every N Adam steps / second-phase
    iterations, 0 never; default ``every``) and ``--resample METHOD`` (``lhs``, ``uniform`` or
    ``residual``; default ``method``, or :data:`pinn.resample.DEFAULT_RESAMPLE_METHOD` when None)
    to an example whose collocation points come from a
    :class:`~pinn.geometry.Domain` (it passes :func:`resample_plan`'s result to
    :func:`train_example`). Run flags: a resumed run keeps the points its checkpoint holds.
    ``--resample`` with another method than the default needs ``--resample-every N > 0`` (a usage
    error otherwise); ``--resample-every 0`` alone turns an example's default resampling off."""
    from pinn.resample import DEFAULT_RESAMPLE_METHOD, RESAMPLE_METHODS

    every = check_int(every, "every", minimum=0, meaning="steps/iterations between resamples")
    if method is not None and method not in RESAMPLE_METHODS:
        raise ValueError(f"method must be None or one of {list(RESAMPLE_METHODS)}, got {method!r}")
    parser.run_flag("--resample-every", type=nonnegative_int, default=every,
                    help="draw new collocation points (as many) every N Adam steps and every N "
                         "iterations of the second phase, which restarts its line search there and "
                         f"keeps a dense method's inverse Hessian; 0 never (default {every})")
    parser.run_flag("--resample", choices=RESAMPLE_METHODS, default=method,
                    help="how --resample-every draws: lhs or uniform over the domain, or residual "
                         "(residual-based adaptive: more points where the PDE residual is large); "
                         f"default {method or DEFAULT_RESAMPLE_METHOD}")

    def check_resample_flags(settings: RunSettings) -> None:
        chosen = settings.run.get("resample")
        if chosen is not None and chosen != method and not settings.run.get("resample_every"):
            raise UsageError("argument --resample: it needs --resample-every N > 0 (new points every "
                             "N steps/iterations)")

    parser.add_check(check_resample_flags)


def resample_plan(settings: RunSettings, domain: Any) -> Any:
    """The :class:`~pinn.resample.Resample` that ``--resample-every``/``--resample`` ask for, drawing
    from ``domain`` with the run's ``--seed``; None when ``--resample-every`` is 0 (or the example
    has no such flags)."""
    every = int(settings.run.get("resample_every") or 0)
    if every == 0:
        return None
    from pinn.resample import DEFAULT_RESAMPLE_METHOD, Resample

    return Resample(domain, every, settings.run.get("resample") or DEFAULT_RESAMPLE_METHOD,
                    seed=settings.seed)


def add_float32_flag(parser: FlagParser, iterations: int = 0) -> None:
    """Add ``--float32-iterations N`` (default ``iterations``): the Adam steps and the first N
    second-phase iterations in float32, the rest in float64 (:meth:`pinn.Trainer.train`'s
    ``float32_iterations``), to an example that builds its problem again in float32 for it
    (:func:`float32_twin`). A run flag; with ``--dtype float32`` the whole run is float32 and
    the flag must be 0."""
    iterations = check_int(iterations, "iterations", meaning="second-phase iterations in float32")
    parser.run_flag("--float32-iterations", type=nonnegative_int, default=iterations,
                    help="evaluate the Adam steps and the first N second-phase iterations in "
                         "float32 (about half the cost per evaluation on a CPU), then go on in "
                         "float64 from there; 0: float64 throughout "
                         f"(default {iterations}; with --dtype float32: 0)")
    parser.add_check(_check_float32_flag)


def _check_float32_flag(settings: RunSettings) -> None:
    if settings.run.get("float32_iterations") and settings.dtype != "float64":
        raise UsageError(f"argument --float32-iterations: a float32 stage needs --dtype float64, "
                         f"got --dtype {settings.dtype}; pass --float32-iterations 0")


def float32_twin(settings: RunSettings, build: Callable[[RunSettings], Any]) -> Any:
    """The problem built again in float32 for ``--float32-iterations`` (``build(settings with
    --dtype float32).problem``: the same seed, so the same points and data), or None when the
    flag is 0 or the example has none."""
    if not settings.run.get("float32_iterations"):
        return None
    return build(settings.replace(dtype="float32")).problem


def _check_shared_flags(settings: RunSettings) -> None:
    chosen = [flag for flag, on in (("--resume", settings.resume),
                                    ("--resume-or-start", settings.resume_or_start),
                                    ("--overwrite", settings.overwrite)) if on]
    if len(chosen) > 1:
        raise UsageError(f"{' and '.join(chosen)} exclude each other")
    if not str(settings.out).strip():
        raise UsageError(f"argument --out: expected a folder, got {settings.out!r}")
    if settings.adam_steps == 0 and settings.lbfgs_maxiter == 0:
        raise UsageError("--adam-steps and --lbfgs-maxiter are both 0: nothing to train")
    if settings.run.get("max_dense_size") is not None:
        from pinn.optimize import DEFAULT_METHOD, resolve_method
        from pinn.quasi_newton import QUASI_NEWTON_METHODS

        method = settings.run.get("method", DEFAULT_METHOD)
        if resolve_method(method).kind != "quasi_newton":
            raise UsageError(f"argument --max-dense-size: only the dense quasi-Newton methods "
                             f"(--method {', '.join(QUASI_NEWTON_METHODS)}) keep an n x n matrix; "
                             f"--method is {method}")


# -- the run directory ---------------------------------------------------------------------------

def prepare_run_directory(settings: RunSettings) -> contextlib.AbstractContextManager:
    """Check and prepare ``settings.out`` before any work; returns a lock to hold during the run.

    - The folder is created, and a temporary file written in it and removed, so that an output
      location that cannot be written is found now (OSError, one line naming it).
    - Another run writing to the folder (it holds the folder's lock) is an error.
    - Temporary files left by a killed run (``.checkpoint.*.h5.tmp``...) are removed.
    - A folder that holds a checkpoint is refused without ``--resume``, ``--resume-or-start`` or
      ``--overwrite`` (UsageError naming them); ``--overwrite`` deletes its checkpoint and
      metrics.json; ``--resume`` with no checkpoint is an error; a resume whose problem flags
      differ from the checkpoint's is refused, naming the differences.

    Raises:
        UsageError: flags that do not fit the folder.
        OSError: the folder cannot be created or written.
        RuntimeError: another run holds the folder.
    """
    out = str(settings.out)
    if not out.strip():
        raise UsageError(f"argument --out: expected a folder, got {out!r}")
    folder = pathlib.Path(out)
    if folder.exists() and not folder.is_dir():
        raise OSError(f"cannot write to --out {out!r}: it exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OSError(f"cannot create the output folder {out!r}: {error.strerror or error}") from None
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".pinn-write-test.")
        os.close(fd)
        os.remove(probe)
    except OSError as error:
        raise OSError(f"cannot write in the output folder {out!r}: {error.strerror or error}") from None
    lock = _lock(folder)
    try:
        remove_stale(folder, STALE_PATTERNS)
        _check_checkpoint(settings, folder)
    except BaseException:
        lock.close()
        raise
    return lock


def _check_checkpoint(settings: RunSettings, folder: pathlib.Path) -> None:
    checkpoint = folder / CHECKPOINT_FILE
    out = str(settings.out)
    if settings.resume and not checkpoint.is_file():
        raise UsageError(f"--resume: there is no checkpoint in {out!r} ({CHECKPOINT_FILE}) to go on "
                         "from; start a new run without --resume, or use --resume-or-start")
    if not checkpoint.exists():
        return
    if settings.overwrite:
        for name in (CHECKPOINT_FILE, METRICS_FILE):
            with contextlib.suppress(FileNotFoundError):
                os.remove(folder / name)
        return
    if not (settings.resume or settings.resume_or_start):
        raise UsageError(f"{out!r} already holds a run ({CHECKPOINT_FILE}): go on with --resume, "
                         "or start again with --overwrite (or choose another --out)")
    from pinn.checkpoint import load_checkpoint

    saved = load_checkpoint(checkpoint).settings
    here = settings.checkpoint_settings()
    if saved and saved != here:
        raise UsageError(
            f"checkpoint {str(checkpoint)!r} was written by a run with other settings ("
            + "; ".join(differences(saved, here)) + "): resume with the same problem flags, or "
            "start again with --overwrite")


class _Lock:
    """An exclusive lock on ``folder/.pinn.lock`` (POSIX ``flock``), held while a run writes there."""

    def __init__(self, folder: pathlib.Path) -> None:
        self.file = None
        try:
            import fcntl
        except ImportError:  # no flock (Windows): no protection against a second run
            return
        self.file = open(folder / LOCK_FILE, "a+")
        try:
            fcntl.flock(self.file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.file.seek(0)
            owner = self.file.read().strip() or "unknown"
            self.file.close()
            raise RuntimeError(f"another run (pid {owner}) is writing to {str(folder)!r}; wait for "
                               "it to end, or choose another --out") from None
        self.file.seek(0)
        self.file.truncate()
        self.file.write(f"{os.getpid()}\n")
        self.file.flush()

    def close(self) -> None:
        if self.file is not None:
            self.file.close()  # closing releases the lock
            self.file = None

    def __enter__(self) -> "_Lock":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _lock(folder: pathlib.Path) -> _Lock:
    return _Lock(folder)


def running_pid(folder: str | os.PathLike[str]) -> int | None:
    """The process id of a run writing to ``folder`` now (it holds the folder's lock), else None
    (-1 if its id is unknown)."""
    path = pathlib.Path(folder) / LOCK_FILE
    try:
        import fcntl
    except ImportError:
        return None
    try:
        file = open(path)
    except OSError:
        return None
    with file:
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            text = file.read().strip()
            return int(text) if text.isdigit() else -1
    return None


# -- errors and exit codes -----------------------------------------------------------------------

def report_error(prog: str, error: BaseException, debug: bool = False) -> None:
    """One line on stderr, ``PROG: error: MESSAGE``; with ``debug`` the traceback first."""
    if debug:
        traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
    message = " ".join(str(error).split()) if str(error).strip() else ""
    if isinstance(error, KeyError) and error.args:
        message = f"missing key {error.args[0]!r}"
    if not isinstance(error, (ValueError, OSError, RuntimeError, UsageError, KeyError)) or not message:
        message = f"{type(error).__name__}: {message}" if message else type(error).__name__
    hint = "" if debug or isinstance(error, (OSError, UsageError)) else " (--debug shows the traceback)"
    print(f"{prog.split()[0]}: error: {message}{hint}", file=sys.stderr, flush=True)


def exit_code_for(status: str) -> int:
    """The exit code of a finished run's status (``"interrupted"``: see :func:`run_example`)."""
    return EXIT_OK if status in ("completed", "stopped") else EXIT_FAILURE


def resume_command(command: str, argv: Sequence[str]) -> str:
    """The command line that resumes the run ``command argv`` started."""
    drop = {"--resume", "--resume-or-start", "--overwrite"}
    return " ".join([command, shlex.join([a for a in argv if a not in drop] + ["--resume"])])


def run_example(module: Any, argv: Sequence[str] | None = None, *, prog: str | None = None,
                command: str | None = None, debug: bool = False) -> int:
    """Parse ``argv`` with ``module.build_parser``, check the run directory, run
    ``module.solve(settings)``; returns the exit code.

    0 when the run completed (or a callback stopped it), 1 on a failure (an error, or a loss that
    became NaN/inf), 2 on bad usage (a flag's value; a folder that holds a run without --resume or
    --overwrite; --resume without a checkpoint; other problem flags than the checkpoint's), 128 +
    the signal's number after SIGINT (130) or SIGTERM (143). Errors are one line on stderr;
    ``debug`` (or ``--debug``) adds the traceback.

    Args:
        module: the example module.
        argv: its flags (default ``sys.argv[1:]``).
        prog: the program name in usage and errors (``pinn solve burgers``; default the script's).
        command: the command that runs the example, for the resume hint (default ``prog``).
        debug: print tracebacks.
    """
    parser = module.build_parser(prog=prog)
    prog = parser.prog
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        settings = parser.parse_settings(argv)
    except SystemExit as exit:  # --help (0) or a bad flag (2, already reported)
        return exit.code if isinstance(exit.code, int) else (EXIT_OK if exit.code is None else EXIT_USAGE)
    debug = debug or bool(settings.run.get("debug"))
    command = command or prog
    checkpoint = os.path.join(str(settings.out), CHECKPOINT_FILE)
    name = prog.split()[0]
    with interrupt_signals(prog) as received:
        lock = None
        try:
            lock = prepare_run_directory(settings)
            metrics = module.solve(settings)
        except UsageError as error:
            if debug:
                traceback.print_exc()
            print(format_usage_error(prog, str(error), hint=False), file=sys.stderr, flush=True)
            return EXIT_USAGE
        except KeyboardInterrupt:
            signame = SIGNAL_NAMES.get(received.signum, "an interrupt")
            if lock is not None and os.path.isfile(checkpoint):
                print(f"{name}: interrupted by {signame}; the checkpoint is {checkpoint}; go on with: "
                      f"{resume_command(command, argv)}", file=sys.stderr, flush=True)
            else:
                print(f"{name}: interrupted by {signame} before training started", file=sys.stderr,
                      flush=True)
            return exit_code_for_signal(received.signum)
        except Exception as error:  # noqa: BLE001 (the command line reports every failure)
            report_error(prog, error, debug)
            return EXIT_FAILURE
        finally:
            if lock is not None:
                lock.close()
    status = str(metrics.get("status", "failed"))
    if status == "interrupted":
        signame = SIGNAL_NAMES.get(received.signum, "an interrupt")
        print(f"{name}: interrupted by {signame}: the best weights so far are in {checkpoint}; go on "
              f"with: {resume_command(command, argv)}", file=sys.stderr, flush=True)
        return exit_code_for_signal(received.signum)
    code = exit_code_for(status)
    if code != EXIT_OK:
        why = " ".join(str(metrics.get("message") or "").split())
        print(f"{name}: error: training ended with status {status!r}"
              + (f" ({why})" if why else "")
              + ("; the weights are at the best finite point seen" if status == "nonfinite" else "")
              + (f"; go on from the checkpoint {checkpoint} with: {resume_command(command, argv)}"
                 if status in ("nonfinite", "failed") and os.path.isfile(checkpoint) else ""),
              file=sys.stderr, flush=True)
    elif metrics.get("output_errors"):
        code = EXIT_FAILURE  # trained, but metrics.json or the figures are missing (reported)
    return code


# -- restoring a run -----------------------------------------------------------------------------

def restore_run(module: Any, run_dir: str | os.PathLike[str]) -> tuple[RunSettings, Any, Any]:
    """Rebuild a finished (or interrupted) run of ``module`` from its directory.

    Reads ``run_dir/checkpoint.h5``, rebuilds the problem from the problem flags saved in it
    (``module.build(settings)``) and loads the saved weights into the network.

    Returns:
        ``(settings, setup, checkpoint)``: the rebuilt settings, what ``module.build`` returned
        (its ``.problem`` holds the trained weights) and the :class:`pinn.Checkpoint`.

    Raises:
        FileNotFoundError: no checkpoint in ``run_dir``.
        ValueError: the checkpoint is of another example or another network.
    """
    from pinn.checkpoint import load_checkpoint
    from pinn.flat import FlatLayout

    run_dir = pathlib.Path(run_dir)
    path = run_dir / CHECKPOINT_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no run in {str(run_dir)!r}: there is no {CHECKPOINT_FILE}")
    saved = load_checkpoint(path)
    parser = module.build_parser()
    settings = RunSettings.from_checkpoint_settings(saved.settings, parser, run={"out": str(run_dir)})
    setup = module.build(settings)
    layout = FlatLayout(setup.problem.variables)
    if layout.size != np.asarray(saved.weights).size:
        raise ValueError(f"{str(path)!r} holds {np.asarray(saved.weights).size} weights, the rebuilt "
                         f"network has {layout.size}")
    layout.set_flat(np.asarray(saved.weights, dtype=np.float64))
    return settings, setup, saved


def run_status(run_dir: str | os.PathLike[str]) -> str:
    """How the run in ``run_dir`` ended: the status in its metrics.json (``"completed"``,
    ``"interrupted"``...), or ``"unfinished"`` when there is none, or when the checkpoint is newer
    (a later run was killed before writing its metrics)."""
    folder = pathlib.Path(run_dir)
    metrics, checkpoint = folder / METRICS_FILE, folder / CHECKPOINT_FILE
    try:
        status = json.loads(metrics.read_text()).get("status")
    except (OSError, ValueError, AttributeError):
        return "unfinished"
    if not isinstance(status, str):
        return "unfinished"
    if checkpoint.is_file() and checkpoint.stat().st_mtime > metrics.stat().st_mtime + 1:
        return "unfinished"
    return status


# -- outputs -------------------------------------------------------------------------------------

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
    if isinstance(value, pathlib.PurePath):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_metrics(out: str | os.PathLike, metrics: Mapping[str, Any]) -> pathlib.Path:
    """Write ``out/metrics.json`` atomically, with the user's umask (non-finite floats become null).

    Raises:
        OSError: it cannot be written (a full disk...); an earlier metrics.json then stays.
    """
    text = json.dumps(_jsonable(metrics), indent=2) + "\n"
    return write_atomic(pathlib.Path(out) / METRICS_FILE, text)


def write_outputs(out: str | os.PathLike, metrics: dict[str, Any], figures: Any = None,
                  prog: str = "pinn") -> list[str]:
    """Write a finished (or stopped) run's outputs: ``metrics.json`` first, then the figures, and
    ``error_history.png`` when ``metrics["error_history"]`` has samples (:func:`write_error_history`).

    What cannot be written (a full disk, a folder removed) does not stop the rest: each failure is
    reported on one line on stderr, added to ``metrics["output_errors"]`` (and so to the metrics of
    the caller, which :func:`run_example` turns into exit code 1), and returned. ``figures`` is a
    function of no arguments that writes the figures. A signal that comes while metrics.json is
    written interrupts right after it (:func:`pinn.signals.held_signals`); the figures it interrupts at once.
    """
    errors: list[str] = []
    name = prog.split()[0]
    try:
        with held_signals():  # a signal now waits until metrics.json is whole
            write_metrics(out, metrics)
    except OSError as error:
        errors.append(f"could not write {METRICS_FILE} in {str(out)!r}: {error.strerror or error}")
        print(f"{name}: error: {errors[-1]}", file=sys.stderr, flush=True)
    history = metrics.get("error_history")
    if figures is not None or history:
        try:
            if figures is not None:
                figures()
            if history and isinstance(history, list):
                write_error_history(out, history, status=metrics.get("status"))
        except OSError as error:
            errors.append(f"could not write the figures in {str(out)!r}: {error.strerror or error}")
            print(f"{name}: error: {errors[-1]}", file=sys.stderr, flush=True)
    if errors:
        metrics["output_errors"] = errors
    return errors


def compute_strategy(settings: RunSettings) -> Any:
    """Apply the settings' compute flags before TensorFlow starts: ``--threads`` (where the
    example has it) and ``--devices``; returns the ``tf.distribute`` strategy for the Trainer
    (None for one device)."""
    from pinn.distribute import strategy_for_devices

    threads = settings.run.get("threads", 0)
    if threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    return strategy_for_devices(settings.devices)


def train_example(settings: RunSettings, problem: Any, strategy: Any = None,
                  callbacks: Sequence[Any] = (), *, error: Any = None,
                  error_name: str = "relative_l2_error", resample: Any = None,
                  float32_problem: Any = None) -> Any:
    """Train ``problem`` as an example's shared run flags say: a :class:`~pinn.trainer.Trainer`
    with the run's checkpoint (``OUT/checkpoint.h5``, every ``--checkpoint-every``), its problem
    settings (compared on resume), XLA (``--jit``) and devices (``strategy`` from
    :func:`compute_strategy`), then the plan ``--adam-steps`` Adam steps and ``--lbfgs-maxiter``
    iterations of ``--method`` (the script's default unless given) with ``--gtol``, resumed under
    ``--resume``/``--resume-or-start``.

    Error history: with ``error`` (a function of no arguments returning the example's error at
    the network's current weights: a float, or a dict of floats that includes ``error_name``)
    and ``--error-every S`` > 0, an :class:`~pinn.callbacks.ErrorMonitor` samples it every S
    seconds of training and when each phase ends, at the iterate's weights, with training time
    that leaves the samples' own cost out. The samples are kept in the checkpoint, so a resumed
    run continues the list and the clock. ``result.error_history`` holds them (also in
    ``result.summary()``, hence in metrics.json, as ``error_history``: a list of ``{"phase",
    "iteration", "time_s", error_name, ...}``); it is an empty list when sampling is off.

    Time limit: ``--time-limit S`` > 0 adds a :class:`~pinn.callbacks.TimeLimit` that stops the
    run (status ``"stopped"``) after S seconds of training, by the monitor's clock when there is
    one (samples left out, earlier time of a resumed run counted), else by wall time since the
    first phase of this process began.

    Resampling: ``resample`` (a :class:`~pinn.resample.Resample`, e.g. from :func:`resample_plan`)
    goes to the Trainer.

    Float32 stage: ``float32_problem`` (from :func:`float32_twin`) goes to the Trainer, and
    ``--float32-iterations`` to ``train``.

    Returns the :class:`~pinn.trainer.TrainingResult`."""
    from pinn.callbacks import ErrorMonitor, TimeLimit
    from pinn.optimize import DEFAULT_METHOD, resolve_method
    from pinn.trainer import Trainer

    if error is not None and not callable(error):
        raise TypeError(f"error must be a function of no arguments or None, got {type(error).__name__}")
    spec = resolve_method(settings.run.get("method", DEFAULT_METHOD))
    trainer = Trainer(problem, jit_compile=settings.jit, strategy=strategy, callbacks=list(callbacks),
                      chunk_size=settings.run.get("chunk_size") or None,
                      checkpoint=os.path.join(settings.out, CHECKPOINT_FILE),
                      checkpoint_every=settings.checkpoint_every,
                      settings=settings.checkpoint_settings(), resample=resample,
                      float32_problem=float32_problem)
    every = float(settings.run.get("error_every") or 0.0)
    monitor = None
    if error is not None and every > 0:
        monitor = ErrorMonitor(error, every=None, every_s=every, name=error_name, at_phase_end=True,
                               set_weights=trainer.layout.set_flat)
        trainer.callbacks.append(monitor)
    limit = float(settings.run.get("time_limit") or 0.0)
    if limit > 0:
        trainer.callbacks.append(TimeLimit(limit, clock=monitor.training_time if monitor is not None else None))
    options: dict[str, Any] = {"maxiter": max(settings.lbfgs_maxiter, 1)}
    if "gtol" in settings.run and (spec.kind == "quasi_newton" or "gtol" in spec.option_names()):
        options["gtol"] = settings.gtol
    if settings.run.get("max_dense_size") is not None:  # a dense method's: the flags' check said so
        options["max_dense_size"] = settings.run["max_dense_size"]
    result = trainer.train(
        adam_steps=settings.adam_steps,
        lbfgs=settings.lbfgs_maxiter > 0,
        lbfgs_options=options,
        method=spec.name,
        verbose=settings.verbose,
        resume=settings.resume or settings.resume_or_start,
        float32_iterations=int(settings.run.get("float32_iterations") or 0),
    )
    result.error_history = [dict(r) for r in monitor.records] if monitor is not None else []
    return result


def saved_error_history(checkpoint: Any) -> list[dict[str, Any]]:
    """The error samples a run's checkpoint holds (its ErrorMonitor's state; see
    :func:`train_example`), or an empty list."""
    state = getattr(checkpoint, "callbacks", {}).get("error_monitor")
    records = state.get("records") if isinstance(state, Mapping) else None
    return [dict(r) for r in records] if isinstance(records, list) else []


def write_error_history(out: str | os.PathLike, records: Sequence[Mapping[str, Any]],
                        status: str | None = None, key: str | None = None) -> list[pathlib.Path]:
    """``out/error_history.png``: the error against training time (:func:`pinn.plot_error_history`),
    if there are samples; returns the files written (none without samples)."""
    from pinn.plotting import plot_error_history

    if not records:
        return []
    return [plot_error_history(list(records), path=pathlib.Path(out) / ERROR_HISTORY_FIGURE, key=key,
                               title="error against training time", status=status)]


def run_metrics(name: str, settings: RunSettings, result: Any, wall: float) -> dict[str, Any]:
    """The metrics.json entries every example writes; the example adds its errors and sizes.

    Args:
        name: the example's name (its ``NAME``).
        settings: the run's settings.
        result: the :class:`pinn.TrainingResult` of :func:`train_example`.
        wall: seconds since the example started (set-up, training and evaluation).

    Returns:
        The run's counts (``result.summary()``: status, Adam steps, L-BFGS-B iterations and
        evaluations of the whole run, resumed parts included, final loss and terms...), then
        ``example``, ``wall_time_s``, ``training_time_s``, ``lbfgs_evals_per_second``, ``dtype``,
        ``seed``, ``quick``, ``jit``, ``gtol``, ``settings`` (all flags), ``pinn_version`` and
        ``error_history``.
    """
    import pinn

    return {
        **result.summary(),
        "example": name,
        "wall_time_s": wall,
        "training_time_s": result.wall_time,
        "lbfgs_evals_per_second": float(result.lbfgs.evals_per_second) if result.lbfgs else 0.0,
        "dtype": settings.dtype,
        "seed": settings.seed,
        "quick": settings.quick,
        "jit": settings.jit,
        "gtol": settings.gtol,
        "settings": settings.to_json(),
        "pinn_version": pinn.__version__,
        "error_history": result.error_history,
    }


def replot(module: Any, run_dir: str | os.PathLike[str], out: str | os.PathLike[str] | None = None,
           figure_args: Callable[[RunSettings], Sequence[Any]] = lambda settings: ()) -> list[pathlib.Path]:
    """The figures of a run again, from its directory (what every example's ``plot`` does): the
    problem rebuilt from the settings saved in its checkpoint, the saved weights (and
    coefficients) loaded, then ``module.write_figures(setup, out, history, *figure_args(settings),
    status=...)`` and ``error_history.png``. Writes to ``out`` (default ``run_dir``); returns the
    files written."""
    settings, setup, saved = restore_run(module, run_dir)
    status = run_status(run_dir)
    out = run_dir if out is None else out
    return (module.write_figures(setup, out, saved.history, *figure_args(settings), status=status)
            + write_error_history(out, saved_error_history(saved), status=status))
