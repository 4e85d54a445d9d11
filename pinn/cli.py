"""The ``pinn`` command: solve the registered problems, inspect and plot their runs, make reference data.

    pinn list                          the registered problems, one line each
    pinn solve NAME [flags]            train one (pinn solve NAME --help for its flags)
    pinn info RUN_DIR [--json]         status, settings, progress, loss and error of a run
    pinn plot RUN_DIR [--out DIR]      its figures again, from the checkpoint's weights
    pinn data NAME [--out PATH]        regenerate a reference data file

Exit codes: 0 success, 1 failure, 2 bad usage, 130 after SIGINT, 143 after SIGTERM. Errors are one
line on stderr (``pinn: error: ...``); ``--debug`` adds the traceback.

Adding an example is one line in :data:`PROBLEMS` (see :mod:`pinn.scripts` for what its module
provides).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any, Sequence

from pinn.settings import OneLineArgumentParser, UsageError, format_usage_error

__all__ = ["main", "PROBLEMS", "REFERENCE_DATA", "load_problem", "run_info"]

#: Registered problems: name -> module (an example script, see :mod:`pinn.scripts`).
PROBLEMS: dict[str, str] = {
    "burgers": "pinn.examples.burgers",
    "burgers_identification": "pinn.examples.burgers_identification",
    "schrodinger": "pinn.examples.schrodinger",
    "allen_cahn": "pinn.examples.allen_cahn",
    "kdv_identification": "pinn.examples.kdv_identification",
    "navier_stokes": "pinn.examples.navier_stokes",
}

#: Reference data generators: name -> module with ``main(argv, prog) -> Path``.
REFERENCE_DATA: dict[str, str] = {
    "burgers": "pinn.reference.burgers",
    "nls": "pinn.reference.nls",
    "allen_cahn": "pinn.reference.allen_cahn",
    "kdv": "pinn.reference.kdv",
    "navier_stokes": "pinn.reference.navier_stokes",
}

PROG = "pinn"


def load_problem(name: str) -> Any:
    """The example module registered as ``name``.

    Raises:
        UsageError: no problem of that name.
    """
    if name not in PROBLEMS:
        raise UsageError(f"unknown problem {name!r}; registered: {', '.join(sorted(PROBLEMS))} "
                         "(see pinn list)")
    return importlib.import_module(PROBLEMS[name])


def _names(registry: dict[str, str]) -> str:
    return ", ".join(sorted(registry))


def build_parser() -> argparse.ArgumentParser:
    from pinn import __version__

    parser = OneLineArgumentParser(
        prog=PROG, description=__doc__.split("\n\n")[0],
        epilog="Exit codes: 0 success, 1 failure, 2 bad usage, 130 after SIGINT, 143 after SIGTERM. "
               "`pinn COMMAND --help` for a command's flags, `pinn solve NAME --help` for a problem's.",
        allow_abbrev=False)
    parser.add_argument("--debug", action="store_true", help="print the traceback of an error")
    parser.add_argument("--version", action="version", version=f"pinn {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                     parser_class=OneLineArgumentParser)

    def command(name: str, help: str, description: str | None = None) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=description or help,
                                  allow_abbrev=False)
        sub.add_argument("--debug", dest="debug_here", action="store_true",
                         help="print the traceback of an error")
        return sub

    command("list", "the registered problems, with a one-line description")

    solve = command(
        "solve", "train a registered problem",
        f"Train a registered problem ({_names(PROBLEMS)}); the flags after NAME are the problem's: "
        "see `pinn solve NAME --help`. Writes metrics.json, checkpoint.h5 and figures to --out.")
    solve.add_argument("name", metavar="NAME", nargs="?", help=f"the problem: {_names(PROBLEMS)}")
    solve.add_argument("flags", metavar="FLAGS", nargs=argparse.REMAINDER,
                       help="the problem's flags (pinn solve NAME --help)")

    info = command("info", "status, settings, progress, loss and error of a run directory",
                   "Show a run directory's status, settings, progress, final loss and error "
                   "(from its metrics.json and checkpoint.h5).")
    info.add_argument("run_dir", metavar="RUN_DIR", help="a folder a `pinn solve` wrote")
    info.add_argument("--json", action="store_true", help="print JSON instead of text")

    plot = command("plot", "write a run's figures again, from its checkpoint",
                   "Rebuild a run's problem from the settings saved in its checkpoint, load the "
                   "saved weights into the network, and write its figures again.")
    plot.add_argument("run_dir", metavar="RUN_DIR", help="a folder a `pinn solve` wrote")
    plot.add_argument("--out", default=None, help="where to write the figures (default RUN_DIR)")
    plot.add_argument("--example", default=None, choices=sorted(PROBLEMS),
                      help="the problem, for checkpoints that do not name it (older runs)")

    data = command("data", "regenerate a reference data file",
                   f"Regenerate a reference data file ({_names(REFERENCE_DATA)}); the flags after "
                   "NAME are the generator's: see `pinn data NAME --help`.")
    data.add_argument("name", metavar="NAME", nargs="?", help=f"the data: {_names(REFERENCE_DATA)}")
    data.add_argument("flags", metavar="FLAGS", nargs=argparse.REMAINDER,
                      help="the generator's flags, e.g. --out PATH")
    return parser


# -- commands ------------------------------------------------------------------------------------

def cmd_list() -> int:
    code = 0
    width = max(len(name) for name in PROBLEMS)
    for name in sorted(PROBLEMS):
        try:
            description = load_problem(name).DESCRIPTION
        except Exception as error:  # noqa: BLE001 (list the others)
            description, code = f"(cannot be loaded: {type(error).__name__}: {error})", 1
        print(f"{name:<{width}}  {description}")
    return code


def cmd_solve(name: str | None, flags: Sequence[str], debug: bool) -> int:
    if name is None:
        raise UsageError(f"solve: give a problem's name: {_names(PROBLEMS)} (see pinn list)")
    module = load_problem(name)
    flags = list(flags)
    if debug and "--debug" not in flags:
        flags.append("--debug")
    prog = f"{PROG} solve {name}"
    return module.main(flags, prog=prog, command=prog)


def cmd_data(name: str | None, flags: Sequence[str]) -> int:
    if name is None:
        raise UsageError(f"data: give the data's name: {_names(REFERENCE_DATA)}")
    if name not in REFERENCE_DATA:
        raise UsageError(f"unknown reference data {name!r}; there are: {_names(REFERENCE_DATA)}")
    module = importlib.import_module(REFERENCE_DATA[name])
    try:
        module.main(list(flags), prog=f"{PROG} data {name}")
    except SystemExit as exit:  # --help, or a bad flag (reported)
        return exit.code if isinstance(exit.code, int) else 0
    return 0


def cmd_plot(run_dir: str, out: str | None, example: str | None) -> int:
    from pinn.checkpoint import load_checkpoint
    from pinn.scripts import CHECKPOINT_FILE

    folder = Path(run_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"no run directory {run_dir!r}")
    path = folder / CHECKPOINT_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no run in {run_dir!r}: there is no {CHECKPOINT_FILE} to plot from")
    name = load_checkpoint(path).settings.get("example") or example
    if name is None:
        raise UsageError(f"the checkpoint in {run_dir!r} does not name its problem (an older run); "
                         f"give it with --example ({_names(PROBLEMS)})")
    for written in load_problem(name).plot(folder, out):
        print(f"wrote {written}")
    return 0


def run_info(run_dir: str | os.PathLike) -> dict[str, Any]:
    """What ``pinn info`` shows, as a dict: ``run_dir``, ``state`` (a sentence), ``metrics`` (the
    metrics.json contents or None), ``checkpoint`` (its progress, settings, written, history length
    and best loss, or None), ``running_pid``.

    Raises:
        FileNotFoundError: no such folder, or neither metrics.json nor checkpoint.h5 in it.
        ValueError: metrics.json is not JSON, or the checkpoint is not one.
    """
    from pinn.checkpoint import load_checkpoint
    from pinn.scripts import CHECKPOINT_FILE, METRICS_FILE, running_pid

    folder = Path(run_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"no run directory {str(run_dir)!r}")
    metrics_path, checkpoint_path = folder / METRICS_FILE, folder / CHECKPOINT_FILE
    if not metrics_path.is_file() and not checkpoint_path.is_file():
        raise FileNotFoundError(f"no run in {str(run_dir)!r}: it holds neither {METRICS_FILE} nor "
                                f"{CHECKPOINT_FILE}")
    metrics = None
    if metrics_path.is_file():
        try:
            metrics = json.loads(metrics_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"{str(metrics_path)!r} is not valid JSON ({error})") from None
    checkpoint = None
    if checkpoint_path.is_file():
        saved = load_checkpoint(checkpoint_path)
        losses = [r.loss for r in saved.history]
        checkpoint = {
            "path": str(checkpoint_path), "written": saved.written, "pinn_version": saved.pinn_version,
            "progress": dict(saved.progress), "settings": dict(saved.settings),
            "history_length": len(losses), "best_loss": min(losses) if losses else None,
            "dtype": saved.dtype, "weights": int(saved.weights.size),
        }
    pid = running_pid(folder)
    if pid is not None:
        state = f"running (pid {pid})"
    elif metrics is None:
        state = "unfinished: a checkpoint but no metrics.json (the run was killed)"
    elif checkpoint is not None and checkpoint_path.stat().st_mtime > metrics_path.stat().st_mtime + 1:
        state = (f"{metrics.get('status', 'unknown')} in metrics.json, but the checkpoint is newer "
                 "(a later run was killed)")
    else:
        state = str(metrics.get("status", "unknown"))
    return {"run_dir": str(folder), "state": state, "running_pid": pid, "metrics": metrics,
            "checkpoint": checkpoint}


def _g(value: Any) -> str:
    return f"{value:.3e}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def format_info(info: dict[str, Any]) -> str:
    metrics, checkpoint = info["metrics"] or {}, info["checkpoint"] or {}
    settings = metrics.get("settings") or {}
    problem = settings.get("problem")
    if problem is None and checkpoint:
        problem = {k: v for k, v in checkpoint["settings"].items() if k != "example"}
    example = settings.get("example") or metrics.get("example") or checkpoint.get("settings", {}).get("example")
    progress = checkpoint.get("progress") or {k: metrics.get(k) for k in ("adam_steps", "lbfgs_nit", "lbfgs_nfev")}
    rows = [("run", info["run_dir"]), ("problem", example or "unknown"), ("status", info["state"])]
    if problem:
        rows.append(("settings", " ".join(f"{k}={v}" for k, v in sorted(problem.items()))))
    if settings.get("run"):
        keep = ("adam_steps", "lbfgs_maxiter", "gtol", "jit", "quick", "threads", "checkpoint_every")
        rows.append(("run flags", " ".join(f"{k}={settings['run'][k]}" for k in keep if k in settings["run"])))
    stop = metrics.get("lbfgs_message") or ""
    # the second phase's method: a run's flags name it (runs from before --method: the default,
    # L-BFGS-B); a checkpoint alone does not
    from pinn.optimize import DEFAULT_METHOD

    second = (settings["run"].get("method", DEFAULT_METHOD) if settings.get("run") else "second phase")
    rows.append(("progress", f"Adam {progress.get('adam_steps', 0)} steps; {second} "
                             f"{progress.get('lbfgs_nit', 0)} iterations, {progress.get('lbfgs_nfev', 0)} "
                             f"evaluations" + (f" ({stop})" if stop else "")))
    if metrics:
        rows.append(("loss", f"final {_g(metrics.get('final_loss'))} (initial {_g(metrics.get('initial_loss'))})"))
        terms = metrics.get("final_terms") or {}
        if terms:
            rows.append(("terms", " ".join(f"{k}={_g(v)}" for k, v in terms.items())))
        if "relative_l2_error" in metrics:
            rows.append(("error", f"relative L2 {_g(metrics['relative_l2_error'])}, max abs "
                                  f"{_g(metrics.get('max_abs_error'))}"))
        rows.append(("time", f"{metrics.get('wall_time_s', 0):.1f} s (Adam {metrics.get('adam_time_s', 0):.1f} s, "
                             f"{second} {metrics.get('lbfgs_time_s', 0):.1f} s)"
                             + ("; resumed" if metrics.get("resumed") else "")))
    if checkpoint:
        rows.append(("checkpoint", f"{checkpoint['path']} (written {checkpoint['written']}, "
                                   f"{checkpoint['weights']} {checkpoint['dtype']} weights, "
                                   f"{checkpoint['history_length']} history records, best loss "
                                   f"{_g(checkpoint['best_loss'])})"))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def cmd_info(run_dir: str, as_json: bool) -> int:
    info = run_info(run_dir)
    print(json.dumps(info, indent=2) if as_json else format_info(info))
    return 0


# -- entry ---------------------------------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``pinn`` command; returns the exit code."""
    from pinn.scripts import report_error
    from pinn.signals import exit_code_for_signal, interrupt_signals

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit:  # --help, --version (0) or bad usage (2, reported)
        return exit.code if isinstance(exit.code, int) else 0
    debug = args.debug or getattr(args, "debug_here", False)
    if args.command == "solve" and args.name is not None:  # it handles its signals and errors
        try:
            return cmd_solve(args.name, args.flags, debug)
        except UsageError as error:
            print(format_usage_error(PROG, str(error)), file=sys.stderr)
            return 2
    with interrupt_signals(PROG) as received:
        try:
            if args.command == "list":
                return cmd_list()
            if args.command == "solve":
                return cmd_solve(None, [], debug)
            if args.command == "info":
                return cmd_info(args.run_dir, args.json)
            if args.command == "plot":
                return cmd_plot(args.run_dir, args.out, args.example)
            if args.command == "data":
                return cmd_data(args.name, args.flags)
            raise AssertionError(args.command)
        except UsageError as error:
            print(format_usage_error(PROG, str(error)), file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted", file=sys.stderr)
            return exit_code_for_signal(received.signum)
        except Exception as error:  # noqa: BLE001 (one line, the traceback only with --debug)
            report_error(PROG, error, debug)
            return 1


if __name__ == "__main__":
    sys.exit(main())
