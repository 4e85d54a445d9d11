"""A run's settings: the command-line flags of an example, sorted once into two kinds.

- **problem** flags define the problem: the seed, the dtype, the sizes, how data points are drawn,
  the reference data. They are stored in the checkpoint (``pinn.Trainer(..., settings=...)``) and
  in ``metrics.json``, a ``--resume`` must give the same ones, and ``pinn plot`` rebuilds the
  problem from them.
- **run** flags say how this run goes: where it writes, the budgets (a larger one extends a run),
  reporting, compute (XLA, threads), tolerances. They may change between a run and its resumption.

Every flag is declared in one of the two kinds (:meth:`FlagParser.problem_flag`,
:meth:`FlagParser.run_flag`, shown as two groups in ``--help``); a flag declared any other way
is an error the first time the script parses its command line, so a new example cannot forget.

    parser = FlagParser("burgers", "Burgers' equation")
    parser.problem_flag("--n-f", type=positive_int, default=None, help="collocation points")
    parser.run_flag("--threads", type=nonnegative_int, default=0, help="TensorFlow threads")
    parser.set_presets(full={"n_f": 10000}, quick={"n_f": 1000})
    settings = parser.parse_settings(["--quick"])     # a RunSettings
    settings.n_f, settings.problem, settings.run
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
from typing import Any, Callable, Iterable, Mapping, Sequence

__all__ = ["RunSettings", "FlagParser", "OneLineArgumentParser", "UsageError", "PROBLEM", "RUN",
           "positive_int", "nonnegative_int", "positive_float", "seed_int", "thread_count",
           "max_threads", "nonnegative_float", "nonnegative_seconds"]

PROBLEM = "problem"
RUN = "run"


class UsageError(Exception):
    """Bad usage: a flag's value, or flags that do not fit the state of the run directory.

    Scripts report it on one line and exit with status 2 (like argparse)."""


# -- value types for argparse (their messages name the flag: "argument --widths: ...") --------------

def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def positive_int(text: str) -> int:
    """An int >= 1."""
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text}")
    return value


def nonnegative_int(text: str) -> int:
    """An int >= 0."""
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text}")
    return value


def thread_count(text: str) -> int:
    """A thread count: an int in [0, 4 x the CPUs here] (at least 16). 0 lets the library choose.
    Far more threads than CPUs only slow a run down, and TensorFlow spends minutes starting
    100000 of them (it seems to hang)."""
    value = _int(text)
    limit = max_threads()
    if not 0 <= value <= limit:
        raise argparse.ArgumentTypeError(
            f"expected an integer in [0, {limit}] (at most 4 x the {os.cpu_count() or 1} CPUs "
            f"here; 0: TensorFlow's choice), got {text}")
    return value


def max_threads() -> int:
    """The largest thread count :func:`thread_count` accepts here."""
    return max(16, 4 * (os.cpu_count() or 1))


def seed_int(text: str) -> int:
    """A random seed: an int in [0, 2**32 - 1] (what NumPy's legacy seeding takes)."""
    value = _int(text)
    if not 0 <= value <= 2**32 - 1:
        raise argparse.ArgumentTypeError(f"expected an integer in [0, 4294967295], got {text}")
    return value


def positive_float(text: str) -> float:
    """A finite float > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text}")
    return value


def _nonnegative(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a {what}, got {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"expected a finite {what} >= 0, got {text}")
    return value


def nonnegative_float(text: str) -> float:
    """A finite float >= 0 (e.g. a noise level)."""
    return _nonnegative(text, "number")


def nonnegative_seconds(text: str) -> float:
    """A finite number of seconds >= 0 (0 turns the thing off)."""
    return _nonnegative(text, "number of seconds")


# -- parsers -------------------------------------------------------------------------------------

class OneLineArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr, exit status 2.

    ``PROG: error: MESSAGE (see PROG --help)``; for a sub-command's parser (``prog`` of several
    words, e.g. ``pinn solve burgers``) the first word leads: ``pinn: error: solve burgers: ...``.
    """

    def error(self, message: str):  # noqa: D102 (argparse's hook)
        self.exit(2, format_usage_error(self.prog, message) + "\n")


def format_usage_error(prog: str, message: str, hint: bool = True) -> str:
    """``PROG: error: MESSAGE (see PROG --help)`` on one line (see :class:`OneLineArgumentParser`)."""
    words = prog.split()
    lead = 3 if words[:2] == ["python", "-m"] else 1  # "python -m pinn.reference.burgers: error"
    head, where = " ".join(words[:lead]) or "error", " ".join(words[lead:])
    hint = "" if not hint or "(see " in message else f" (see {prog} --help)"
    return f"{head}: error: {where + ': ' if where else ''}{message}{hint}"


class FlagParser(OneLineArgumentParser):
    """The parser of an example script: each flag is a *problem* flag or a *run* flag.

    Args:
        example: the example's registered name (``"burgers"``), stored with the problem settings.
        description: the ``--help`` text.
        prog: the program name in usage and errors (default: the script's file name).

    Flags whose default is None can be filled by :meth:`set_presets` (a ``--quick`` flag picks the
    quick preset for the flags the user did not give).
    """

    def __init__(self, example: str, description: str | None = None, *, prog: str | None = None,
                 **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(prog=prog, description=description, **kwargs)
        self.example = example
        self.kinds: dict[str, str] = {}
        self._groups = {
            PROBLEM: self.add_argument_group(
                "problem", "  define the problem: saved in the checkpoint and metrics.json;\n"
                "  --resume must give the same values"),
            RUN: self.add_argument_group(
                "run", "  output, budgets, reporting, compute: may change on --resume\n"
                "  (a larger budget extends a finished run)"),
        }
        self._full: dict[str, Any] = {}
        self._quick: dict[str, Any] = {}
        self._checks: list[Callable[[RunSettings], None]] = []

    def _flag(self, kind: str, names: tuple[str, ...], kwargs: dict[str, Any]) -> argparse.Action:
        action = self._groups[kind].add_argument(*names, **kwargs)
        self.kinds[action.dest] = kind
        return action

    def problem_flag(self, *names: str, **kwargs: Any) -> argparse.Action:
        """Add a flag that defines the problem (``add_argument``'s arguments)."""
        return self._flag(PROBLEM, names, kwargs)

    def run_flag(self, *names: str, **kwargs: Any) -> argparse.Action:
        """Add a flag that may change between a run and its resumption."""
        return self._flag(RUN, names, kwargs)

    def set_presets(self, *, full: Mapping[str, Any] | None = None,
                    quick: Mapping[str, Any] | None = None) -> None:
        """Values for flags left at None: ``quick`` ones under ``--quick``, else ``full`` ones."""
        self._full.update(full or {})
        self._quick.update(quick or {})

    def set_help(self, dest: str, text: str) -> None:
        """Replace the ``--help`` text of the flag stored as ``dest`` (e.g. a shared flag whose
        default an example resolves itself)."""
        actions = [a for a in self._actions if a.dest == dest]
        if not actions:
            raise KeyError(f"{self.example}: no flag stored as {dest!r}")
        for action in actions:
            action.help = text

    @property
    def quick_preset(self) -> dict[str, Any]:
        return dict(self._quick)

    def add_check(self, check: Callable[["RunSettings"], None]) -> None:
        """A check of the parsed settings; it raises :class:`UsageError` (reported as a usage error)."""
        self._checks.append(check)

    def parse_settings(self, argv: Sequence[str] | None = None) -> "RunSettings":
        """Parse ``argv`` into :class:`RunSettings`, presets applied and checks run.

        Raises:
            SystemExit: bad flag (status 2, one line on stderr) or ``--help`` (status 0).
            TypeError: a flag of the script was declared without a kind (a bug in the script).
        """
        args = self.parse_args(argv)
        values = {k: v for k, v in vars(args).items() if not k.startswith("_")}
        unsorted = sorted(set(values) - set(self.kinds))
        if unsorted:
            raise TypeError(
                f"{self.example}: flags {unsorted} are neither problem nor run flags; declare them "
                "with parser.problem_flag or parser.run_flag")
        presets = dict(self._full)
        if values.get("quick"):
            presets.update(self._quick)
        for key, value in presets.items():
            if key not in self.kinds:
                raise TypeError(f"{self.example}: preset for unknown flag {key!r}")
            if values.get(key) is None:
                values[key] = value
        settings = RunSettings(
            example=self.example,
            problem={k: v for k, v in sorted(values.items()) if self.kinds[k] == PROBLEM},
            run={k: v for k, v in sorted(values.items()) if self.kinds[k] == RUN},
            argv=tuple(sys.argv[1:] if argv is None else argv),
            prog=self.prog,
        )
        try:
            for check in self._checks:
                check(settings)
        except UsageError as error:
            self.error(str(error))
        return settings


# -- the settings object -------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class RunSettings:
    """The settings of one run of an example.

    Attributes:
        example: the example's registered name (``"burgers"``).
        problem: the problem flags (``{"seed": 0, "dtype": "float64", "n_f": 10000, ...}``).
        run: the run flags (``{"out": "runs/burgers", "adam_steps": 1000, ...}``).
        argv: the command line they came from (for messages such as the resume command).
        prog: the program name of messages (``"pinn solve burgers"``; empty when unknown).

    Flags read as attributes: ``settings.seed``, ``settings.out``.
    """

    example: str
    problem: Mapping[str, Any]
    run: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    argv: tuple[str, ...] = ()
    prog: str = ""

    def __post_init__(self) -> None:
        clash = sorted(set(self.problem) & set(self.run))
        if clash:
            raise ValueError(f"flags {clash} are both problem and run flags")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("example", "problem", "run", "argv", "prog"):
            raise AttributeError(name)
        for part in (self.problem, self.run):
            if name in part:
                return part[name]
        raise AttributeError(f"{self.example} has no flag {name!r}")

    def checkpoint_settings(self) -> dict[str, Any]:
        """What goes to ``pinn.Trainer(settings=...)``: the example's name and the problem flags,
        as JSON gives them back (the checkpoint compares it on resume)."""
        return json.loads(json.dumps({"example": self.example, **self.problem}))

    def to_json(self) -> dict[str, Any]:
        """``{"example": ..., "problem": {...}, "run": {...}}`` (for metrics.json)."""
        return json.loads(json.dumps(
            {"example": self.example, "problem": dict(self.problem), "run": dict(self.run)}))

    def replace(self, **flags: Any) -> "RunSettings":
        """A copy with some flags changed (each keeps its kind)."""
        problem, run = dict(self.problem), dict(self.run)
        for key, value in flags.items():
            if key in problem:
                problem[key] = value
            elif key in run:
                run[key] = value
            else:
                raise KeyError(f"{self.example} has no flag {key!r}")
        return dataclasses.replace(self, problem=problem, run=run)

    @classmethod
    def from_checkpoint_settings(cls, saved: Mapping[str, Any], parser: FlagParser,
                                 run: Mapping[str, Any] | None = None) -> "RunSettings":
        """Settings rebuilt from a checkpoint's ``settings`` (for ``pinn plot``): its problem flags,
        and run flags from the parser's defaults (updated by ``run``).

        Settings of older runs are read too: without the example's name, with flags that are
        run flags now (those are left out), and without problem flags added since (those take
        their defaults: a new flag's default is the behaviour from before the flag).

        Raises:
            ValueError: the checkpoint is of another example, or has problem flags this one lacks.
        """
        saved = dict(saved)
        example = saved.pop("example", parser.example)
        if example != parser.example:
            raise ValueError(f"the checkpoint is of problem {example!r}, not {parser.example!r}")
        defaults = parser.parse_settings([])
        saved = {k: v for k, v in saved.items() if k not in defaults.run}
        saved = {**{k: v for k, v in defaults.problem.items() if k not in saved}, **saved}
        unknown = sorted(set(saved) - set(defaults.problem))
        if unknown:
            raise ValueError(f"the checkpoint's settings have flags {unknown} that {example} does not know")
        return cls(example=example, problem=dict(sorted(saved.items())),
                   run={**defaults.run, **(run or {})})


def differences(saved: Mapping[str, Any], here: Mapping[str, Any],
                keys: Iterable[str] | None = None) -> list[str]:
    """``["seed: 0 there, 1 here", ...]`` for the keys whose values differ."""
    keys = sorted(set(saved) | set(here)) if keys is None else keys
    return [f"{k}: {saved.get(k)!r} there, {here.get(k)!r} here" for k in keys
            if saved.get(k) != here.get(k)]
