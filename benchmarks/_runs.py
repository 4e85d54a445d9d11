"""Running benchmark runs as subprocesses, resumably (one copy of this code).

:func:`run_once` is the mechanism every runner uses: a run is a command line, a result it leaves
(read by a function that returns None while there is none), and the flags that define it,
recorded beside the result; a result made with the same flags is reused, anything else is run
(its output to a log) and must leave its result. ``compare.py`` runs its worker processes with it.

``burgers_seeds.py``, ``paper_tables.py`` and ``time_to_accuracy.py`` run ``examples/NAME.py``
once per seed (or per table cell and seed) into a folder of its own and read the ``metrics.json``
it writes (:class:`Run`, :func:`run`, :func:`run_all`):

- a run whose folder holds a ``metrics.json`` with status ``completed`` (or ``stopped``), made with
  the same flags (recorded beside it in ``FOLDER.flags.json``), is reused, not run again;
- any other run is started with ``--resume-or-start``: a run that was killed goes on from its
  checkpoint, and an empty folder starts a new one;
- ``fresh=True`` starts every run again (``--overwrite``: its checkpoint and metrics are deleted).

A folder that holds a run made with other flags is an error (:class:`FlagsMismatch`), raised by
:func:`check_runs` before any run starts, naming both sets of flags.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

#: The paper's second-phase optimiser (Raissi et al. 2019), also the method of runs whose settings
#: name none (written before ``--method`` existed).
PAPER_METHOD = "L-BFGS-B"

ROOT = Path(__file__).resolve().parents[1]
DONE = ("completed", "stopped")  # metrics.json "status" of a run that finished its plan


def flag_words(flags: Mapping[str, Any]) -> list[str]:
    """A run's recorded settings (metrics.json's ``settings``) as example flags, in the order
    given: ``{"n_f": 200, "quick": True, "data": None}`` -> ``["--n-f", "200", "--quick"]``
    (None and False left out, True as the bare flag)."""
    words: list[str] = []
    for name, value in flags.items():
        if value is None or value is False:
            continue
        words.append(f"--{name.replace('_', '-')}")
        if value is not True:
            words.append(str(value))
    return words


class RunFailed(RuntimeError):
    """A run's process exited with a non-zero code (the message names its log)."""


class FlagsMismatch(ValueError):
    """A folder holds a run made with other flags than the ones asked for now."""


@dataclasses.dataclass(frozen=True)
class Run:
    """One run of an example script.

    Attributes:
        example: the script's name in ``examples/`` without ``.py`` (``"burgers"``).
        folder: its ``--out`` folder; the log goes to ``FOLDER.log`` and the flags to
            ``FOLDER.flags.json`` beside it.
        flags: the example's flags that define the run (``["--seed", "0", "--n-f", "2000"]``),
            without ``--out``, ``--threads`` and the resume flags, which :func:`run` adds.
    """

    example: str
    folder: Path
    flags: tuple[str, ...]

    @property
    def log(self) -> Path:
        return self.folder.parent / f"{self.folder.name}.log"

    @property
    def flags_file(self) -> Path:
        return self.folder.parent / f"{self.folder.name}.flags.json"

    @property
    def metrics_file(self) -> Path:
        return self.folder / "metrics.json"


def _read_flags(flags_file: Path) -> list[str] | None:
    try:
        return list(json.loads(flags_file.read_text())["flags"])
    except (FileNotFoundError, json.JSONDecodeError, KeyError, TypeError):
        return None


def recorded_flags(job: Run) -> list[str] | None:
    """The flags the run in ``job.folder`` was made with, or None where none are recorded."""
    return _read_flags(job.flags_file)


def finished_metrics(job: Run) -> dict[str, Any] | None:
    """The metrics of a finished run in ``job.folder`` (status completed or stopped), else None."""
    try:
        metrics = json.loads(job.metrics_file.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return metrics if isinstance(metrics, dict) and metrics.get("status") in DONE else None


def check_runs(jobs: Sequence[Run], fresh: bool = False) -> list[Run]:
    """Check the folders before any work; returns the jobs that must run (the others are reused).

    Raises:
        FlagsMismatch: a folder holds a run (a checkpoint or metrics) made with other flags, or
            with flags that were not recorded, and ``fresh`` is False.
    """
    todo = []
    for job in jobs:
        if fresh:
            todo.append(job)
            continue
        has_run = job.metrics_file.exists() or (job.folder / "checkpoint.h5").exists()
        recorded = recorded_flags(job)
        if has_run and recorded != list(job.flags):
            raise FlagsMismatch(
                f"{str(job.folder)!r} holds a run made with flags {recorded} (None: not recorded), "
                f"not {list(job.flags)}: pass --fresh to start it again, or choose another --out")
        if finished_metrics(job) is None:
            todo.append(job)
    return todo


def command(job: Run, threads: int = 0, fresh: bool = False) -> list[str]:
    """The command line of ``job``: ``python examples/NAME.py FLAGS --out FOLDER --threads N``
    and ``--overwrite`` (``fresh``) or ``--resume-or-start``."""
    return [sys.executable, str(ROOT / "examples" / f"{job.example}.py"), *job.flags,
            "--out", str(job.folder), "--threads", str(threads),
            "--overwrite" if fresh else "--resume-or-start"]


def run_once(line: Sequence[str], *, flags: Sequence[str], flags_file: Path, log: Path,
             result: Callable[[], dict[str, Any] | None], fresh: bool = False,
             clear: Callable[[], None] | None = None) -> tuple[dict[str, Any], bool]:
    """Reuse a run's result or make it: ``(result, reused)``.

    Args:
        line: the command line.
        flags: what defines the run; recorded in ``flags_file`` (``{"flags": [...]}``) before the
            run starts, so that a run killed midway can be resumed only with the same flags.
        flags_file: where the flags are recorded.
        log: the run's stdout and stderr.
        result: the run's result where it has left one (a finished one), else None.
        fresh: run even where a result with the same flags exists.
        clear: called before the run starts, to remove an old result that ``result`` would
            otherwise read after a failed run (None: the command replaces it itself).

    Raises:
        RunFailed: the process exited with a non-zero code, or left no result.
    """
    if not fresh:
        found = result()
        if found is not None and _read_flags(flags_file) == list(flags):
            return found, True
    if clear is not None:
        clear()
    flags_file.parent.mkdir(parents=True, exist_ok=True)
    flags_file.write_text(json.dumps({"flags": list(flags)}) + "\n")
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        code = subprocess.run(list(line), stdout=out, stderr=subprocess.STDOUT,
                              env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}).returncode
    found = result()
    if code != 0 or found is None:
        raise RunFailed(f"{' '.join(line)} exited with code {code}"
                        f"{'' if found is not None else ' without leaving its result'}; see {log}")
    return found, False


def run(job: Run, threads: int = 0, fresh: bool = False) -> dict[str, Any]:
    """Run ``job`` (or reuse its finished run, unless ``fresh``); its metrics.

    The metrics returned carry ``"reused": True`` when nothing was run.

    Raises:
        RunFailed: the process exited with a non-zero code, or finished without a completed
            metrics.json.
    """
    metrics, reused = run_once(command(job, threads, fresh), flags=job.flags, flags_file=job.flags_file,
                               log=job.log, result=lambda: finished_metrics(job), fresh=fresh)
    return {**metrics, "reused": reused}


def run_all(jobs: Sequence[Run], jobs_in_parallel: int = 1, threads: int = 0, fresh: bool = False,
            report: Callable[[Run, dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Run the jobs, ``jobs_in_parallel`` at a time, each with ``threads`` TensorFlow threads;
    their metrics in the jobs' order. ``report(job, metrics)`` is called as each one ends.

    Raises:
        FlagsMismatch: see :func:`check_runs` (before any run starts).
        RunFailed: a run failed (after the others have ended).
    """
    check_runs(jobs, fresh)

    def one(job: Run) -> dict[str, Any]:
        metrics = run(job, threads, fresh)
        if report is not None:
            report(job, metrics)
        return metrics

    with ThreadPoolExecutor(max(1, jobs_in_parallel)) as pool:
        futures = [pool.submit(one, job) for job in jobs]
    failures = [f.exception() for f in futures if f.exception() is not None]
    if failures:
        raise RunFailed("; ".join(str(e) for e in failures))
    return [f.result() for f in futures]


def time_lbfgsb_on_quadratic(curvature: Any, x0: Any, options: dict[str, Any]) -> tuple[float, Any]:
    """Wall seconds SciPy's L-BFGS-B takes to run on ``0.5 * sum(curvature * x**2)`` from ``x0``.

    ``curvature`` and ``x0``: float64 arrays (n,); ``options``: ``scipy.optimize.minimize``'s for
    L-BFGS-B. The value and gradient cost a few elementwise passes, so the time is nearly all
    L-BFGS-B's own (its update and Python wrapper); the BLAS is held to one thread, as
    ``pinn.minimize`` holds it. Returns the seconds and SciPy's result (``nit``, ``nfev``), to
    divide by the iterations or the evaluations. (``overhead.py``, ``lbfgsb_cost.py``.)
    """
    import numpy as np
    import scipy.optimize
    from threadpoolctl import threadpool_limits

    curvature = np.asarray(curvature, dtype=np.float64)

    def quadratic(x):
        return 0.5 * float(np.dot(curvature * x, x)), curvature * x

    with threadpool_limits(limits=1, user_api="blas"):
        start = time.perf_counter()
        result = scipy.optimize.minimize(quadratic, np.asarray(x0, dtype=np.float64), jac=True,
                                         method="L-BFGS-B", options=options)
        return time.perf_counter() - start, result


def package_version(package: str) -> str | None:
    """The installed version of a distribution (``"tensorflow-probability"``), None if absent."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    """CPU model, core count, Python/TensorFlow/SciPy/NumPy versions, date (UTC)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f
                        if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            **{name: package_version(name) for name in ("tensorflow", "scipy", "numpy", "keras")},
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def time_in_turns(calls: Mapping[Any, Callable[[], Any]], repetitions: int,
                  calls_per_repetition: int) -> dict[Any, list[float]]:
    """Seconds per call of each of ``calls`` (key -> a call with no arguments), ``repetitions``
    samples each: every repetition calls each one ``calls_per_repetition`` times in a row, the
    calls in turn and their order reversed every other repetition, so a slow drift of the machine
    falls on all of them alike. Take the median of each list."""
    order = list(calls)
    samples: dict[Any, list[float]] = {key: [] for key in order}
    for repetition in range(repetitions):
        for key in (order if repetition % 2 == 0 else order[::-1]):
            call = calls[key]
            tick = time.perf_counter()
            for _ in range(calls_per_repetition):
                call()
            samples[key].append((time.perf_counter() - tick) / calls_per_repetition)
    return samples


def worker_result(command: Sequence[str], env: dict[str, str] | None = None) -> Any:
    """Run a benchmark's own worker process (``command``, e.g. ``[sys.executable, SCRIPT,
    "--worker", ...]``) and return the JSON on the last line of its stdout; an error (with the
    worker's stderr) if it fails. One process per setting that TensorFlow fixes when it starts
    (threads, allocator)."""
    done = subprocess.run(list(command), capture_output=True, text=True, check=True, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def write_report(script: str, argv: Sequence[str] | None, report: dict[str, Any],
                 json_path: Path | None, md_path: Path | None,
                 markdown: Callable[[dict[str, Any]], str]) -> dict[str, Any]:
    """Complete a one-process benchmark's ``report`` with the command that reproduces it
    (``python benchmarks/SCRIPT ARGS``, first) and the machine, then write it as JSON to
    ``json_path`` and as ``markdown(report)`` to ``md_path`` where given. Returns the report."""
    args = list(argv if argv is not None else sys.argv[1:])
    report = {"command": " ".join([f"python benchmarks/{script}", *args]),
              "machine": machine_info(), **report}
    if json_path:
        Path(json_path).write_text(json.dumps(report, indent=1) + "\n")
    if md_path:
        Path(md_path).write_text(markdown(report))
    return report


def markdown_heading(report: dict[str, Any]) -> list[str]:
    """The first lines of a :func:`write_report` report's Markdown: the script and the command
    that made it, then the start of the machine line (``One run (date), CPU (cores)``)."""
    script = report["command"].split()[1]
    m = report["machine"]
    return [f"#### Generated by `{script}` with:", "", f"    {report['command']}", "",
            f"One run ({m['date']}), {m['cpu']} ({m['cores']} cores)"]
