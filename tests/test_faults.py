"""Faults a long run meets, and what it leaves behind: SIGINT and SIGTERM in each phase, SIGKILL at
random moments, a full disk, a read-only output, a loss that turns NaN in each phase, and reruns
that must give the same history.

What a signal, a kill or a full disk does is seen in ``pinn solve burgers`` subprocesses. Each pays
TensorFlow's import (about 8 s of CPU), so the default suite uses two run directories ("chains")
side by side, each used by one process after another, every process the resume of the one before
(see ``CHAINS``): 10 processes give 5 kills, the 4 signal cases, a full disk (a real tmpfs when
this runs as root) and the checks that each next start cleans up and goes on; the last resume of
each chain runs in this process. ``-m slow`` adds 20 kills and a two-process determinism check.
What needs no process of its own (NaN in a phase, an injected ENOSPC, a read-only folder, atomic
writes, figures of unfinished runs) runs in this process.
"""

from __future__ import annotations

import concurrent.futures
import errno
import glob
import json
import math
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import pinn
import pinn.atomic
import pinn.signals
import pinn.plotting
from pinn import cli
from pinn.atomic import atomic_write, remove_stale, write_atomic
from pinn.flat import FlatLayout
from pinn.scripts import CHECKPOINT_FILE, METRICS_FILE, STALE_PATTERNS

_SCRIPT = Path(sys.executable).with_name("pinn")
PINN = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-m", "pinn.cli"]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "MPLBACKEND": "Agg"}
#: A problem of a few seconds (the budgets are added per test). Its second phase is L-BFGS-B, not the
#: Burgers example's default SSBFGS: these chains are written around L-BFGS-B's phase and counters (a
#: dense quasi-Newton phase's interrupt and resume are tested in test_qn_resume_and_errors.py).
SMALL = ["--quick", "--no-jit", "--n-f", "200", "--widths", "2", "--verbose", "0", "--error-every", "0",
         "--method", "L-BFGS-B"]
TINY = SMALL + ["--adam-steps", "40", "--lbfgs-maxiter", "400"]
# What TensorFlow's C++ side prints at import on a machine without CUDA, whatever the log level.
_NOISE = re.compile(r"^(WARNING: All log messages before absl|[IWEF]\d{4} \d\d:\d\d:\d\d|To enable the "
                    r"following instructions)")
SIGNAL_EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}


def our_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and not _NOISE.match(line)]


def temp_files(folder: Path) -> list[str]:
    """Temporary files of atomic writes (and of earlier pinn versions) in ``folder``."""
    return sorted({Path(p).name for pattern in STALE_PATTERNS if pattern != ".pinn-write-test.*"
                   for p in glob.glob(os.path.join(glob.escape(str(folder)), pattern))})


class Run:
    """A ``pinn solve burgers FLAGS --out OUT`` subprocess; its output goes to files in ``logs``."""

    def __init__(self, out: Path, flags: list[str], logs: Path, name: str,
                 argv: list[str] | None = None) -> None:
        self.out, self.flags = Path(out), list(flags)
        self.argv = argv if argv is not None else ["solve", "burgers", *flags, "--out", str(out)]
        logs.mkdir(parents=True, exist_ok=True)
        self.stdout_path, self.stderr_path = logs / f"{name}.out", logs / f"{name}.err"
        with open(self.stdout_path, "w") as stdout, open(self.stderr_path, "w") as stderr:
            self.process = subprocess.Popen(PINN + self.argv, stdout=stdout, stderr=stderr, env=ENV,
                                            cwd=logs)
        self.code: int | None = None

    @property
    def checkpoint(self) -> Path:
        return self.out / CHECKPOINT_FILE

    def progress(self) -> dict | None:
        """The progress in the run's checkpoint now, None while there is none."""
        try:
            return pinn.load_checkpoint(self.checkpoint).progress
        except (FileNotFoundError, ValueError, OSError):
            return None

    def wait_for(self, condition, timeout: float = 240, what: str = "") -> None:
        """Poll ``condition()`` until true; ChainBroken if the process ends first or time runs out."""
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process.poll() is not None:
                raise ChainBroken(f"{self.argv} ended ({self.process.returncode}) before {what}")
            if time.monotonic() > deadline:
                self.process.kill()
                raise ChainBroken(f"{self.argv}: no {what} within {timeout} s")
            time.sleep(0.1)

    def finish(self, timeout: float = 240) -> int:
        try:
            self.code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise ChainBroken(f"{self.argv} did not end within {timeout} s") from None
        return self.code

    def stdout(self) -> str:
        return self.stdout_path.read_text()

    def stderr(self) -> list[str]:
        return our_lines(self.stderr_path.read_text())

    def output(self) -> str:
        return self.stdout() + "\n".join(self.stderr())

    def metrics(self) -> dict:
        return json.loads((self.out / METRICS_FILE).read_text())


class ChainBroken(Exception):
    pass


_RESUME_FLAGS = ("--resume", "--resume-or-start", "--overwrite")


def resumed_argv(argv: list[str]) -> list[str]:
    """What ``pinn solve`` prints as the command that resumes the run ``pinn *argv`` started."""
    return [a for a in argv if a not in _RESUME_FLAGS] + ["--resume"]


def resume_line(run: Run) -> list[str]:
    """The command the run printed to go on (``... go on with: COMMAND`` or ``go on from the
    checkpoint PATH with: COMMAND``), as an argv for PINN."""
    [line] = [line for line in run.stderr() if re.search(r"go on (from the checkpoint \S+ )?with: ", line)]
    words = shlex.split(line.rsplit(" with: ", 1)[1])
    if words[:3] != ["pinn", "solve", "burgers"]:
        raise ChainBroken(f"not a resume command: {line}")
    return words[1:]


def _mount_tmpfs(folder: Path, size: str) -> bool:
    """Mount a tmpfs of ``size`` on ``folder`` (root only); whether it worked."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True).returncode == 0


def _remount(folder: Path, size: int | str) -> bool:
    """Resize a tmpfs (refused below what it holds)."""
    return subprocess.run(["mount", "-o", f"remount,size={size}", str(folder)],
                          capture_output=True).returncode == 0


def _usage(folder: Path) -> tuple[int, int]:
    stat = os.statvfs(folder)
    return (stat.f_blocks - stat.f_bfree) * stat.f_frsize, stat.f_bavail * stat.f_frsize


# -- runs that end by a signal, a kill or a full disk, and go on ----------------------------------
#
# A few run directories ("chains"), each used by one process after another: every process after
# the first is the resume of the one before, so that one start serves several checks (TensorFlow's
# import is most of a process's cost). A kill is followed by a plain --resume start (it must remove
# the kill's temporary files); a signal or a full disk by the exact command the run printed, with
# budgets appended (the last value of a flag wins) to put the next run in the phase it needs.


SIGNAL_CASES = {  # (signal, phase, signals sent 0.2 s apart)
    "SIGINT-adam": (signal.SIGINT, "adam", 1),
    "SIGTERM-adam": (signal.SIGTERM, "adam", 1),
    "SIGINTx2-lbfgs": (signal.SIGINT, "lbfgs", 2),  # the 2nd lands while it saves: must not lose it
    "SIGTERM-lbfgs": (signal.SIGTERM, "lbfgs", 1),
}
#: The default suite's chains: 5 kills, the 4 signal cases, a full disk (chain B lives on a tmpfs
#: where one can be mounted), and a final resume each that must finish.
CHAINS = {
    "A": ["kill", "kill", "kill", "SIGINT-adam", "SIGTERM-lbfgs", "final"],
    "B": ["disk-adam", "kill", "kill", "SIGTERM-adam", "SIGINTx2-lbfgs", "final"],
}
BIG = "100000"


def _budget(step: str, progress: dict | None) -> list[str]:
    """Budgets that keep the run in the phase the step needs (or, for "final", end it soon)."""
    adam, nit = (progress["adam_steps"], progress["lbfgs_nit"]) if progress else (0, 0)
    if step == "kill":
        return ["--adam-steps", str(max(adam, 60)), "--lbfgs-maxiter", BIG]
    if step.endswith("-adam"):  # extends Adam (after L-BFGS moved the weights: fresh moments)
        return ["--adam-steps", str(adam + int(BIG)), "--lbfgs-maxiter", BIG]
    if step.endswith("-lbfgs"):
        return ["--adam-steps", str(max(adam, 1)), "--lbfgs-maxiter", BIG]
    assert step == "final"
    return ["--adam-steps", str(max(adam, 1)), "--lbfgs-maxiter", str(nit + 5)]


def _drive_chain(folder: Path, steps: list[str], rng: random.Random, logs: Path, disk: Path | None) -> list[dict]:
    """Run the chain's steps one after another; a record per step (``error`` when it broke)."""
    records: list[dict] = []
    checkpoint = folder / CHECKPOINT_FILE
    flags = SMALL + ["--checkpoint-every", "1"]
    previous: dict | None = None
    for i, step in enumerate(steps):
        record: dict = {"step": step, "chain": folder.name, "began": time.monotonic()}
        records.append(record)
        try:
            progress = pinn.load_checkpoint(checkpoint).progress if i else None
            record["start"] = progress
            if previous is None or previous["step"] == "kill":
                argv = ["solve", "burgers", *flags, "--out", str(folder)] + (["--resume"] if i else [])
            else:  # the exact command the run before printed
                argv = resume_line(previous["run"])
            argv += _budget(step, progress)
            if step == "final":  # needs no process of its own: _run_final, in this process
                record["argv"], record["out"] = argv, folder
                continue
            stamp = (checkpoint.stat().st_ino, checkpoint.stat().st_mtime_ns) if i else None
            run = record["run"] = Run(folder, [], logs, f"{folder.name}-{i}-{step}", argv=argv)

            def wrote_one():  # a checkpoint of its own: the start is behind it
                return checkpoint.exists() and (checkpoint.stat().st_ino, checkpoint.stat().st_mtime_ns) != stamp

            run.wait_for(wrote_one, what="a checkpoint of its own")
            if previous is not None:  # the temporary files the kill left are gone
                record["stale_left"] = [name for name in previous.get("temp_files", []) if (folder / name).exists()]
            if step == "kill":
                record["delay"] = delay = rng.uniform(0.0, 2.0)
                time.sleep(delay)
                run.process.kill()
                record["code"] = run.finish()
            elif step == "disk-adam":
                _fill(run, disk)
                record["code"] = run.finish()
            else:
                sig, phase, count = SIGNAL_CASES[step]
                key = "adam_steps" if phase == "adam" else "lbfgs_nit"
                first = progress[key] if progress else 0
                run.wait_for(lambda: (run.progress() or {}).get(key, 0) >= first + 5, what=f"5 {phase} steps")
                record["at"] = run.progress()
                for _ in range(count):  # apart, or Python may take two as one
                    run.process.send_signal(sig)
                    time.sleep(0.2)
                record["code"] = run.finish()
            record["saved"] = pinn.load_checkpoint(checkpoint)  # loadable whenever a run ends
            record["temp_files"] = temp_files(folder)
            if step == "disk-adam":
                assert _remount(disk, "64m"), "could not give the disk room again"
            if step != "kill":
                record["metrics"] = run.metrics()
                record["figures"] = {name: (folder / name).stat().st_size
                                     for name in ("solution.png", "loss_history.png") if (folder / name).exists()}
                record["snapshot"] = logs.parent / f"{folder.name}-{i}-{step}"  # before the next run
                shutil.copytree(folder, record["snapshot"], ignore=shutil.ignore_patterns(".pinn.lock"))
        except (ChainBroken, AssertionError, OSError, ValueError, KeyError, json.JSONDecodeError) as error:
            record["error"] = f"{type(error).__name__}: {error}"
            if "run" in record:
                record["run"].process.kill()
                record["error"] += "\n" + record["run"].output()
            break
        finally:
            if "run" in record and record["run"].process.poll() is None:
                record["run"].process.kill()
            record["seconds"] = round(time.monotonic() - record["began"], 1)
        previous = record
    return records


def _run_final(record: dict, stale: list[str]) -> None:
    """The last resume of a chain, in this process (``pinn.cli.main``: no import to pay);
    ``stale``: the temporary files the run before left, which it must remove."""
    import contextlib
    import io

    stdout, stderr = io.StringIO(), io.StringIO()
    began = time.monotonic()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        record["code"] = cli.main(record["argv"])
    record["stdout"], record["stderr"] = stdout.getvalue(), our_lines(stderr.getvalue())
    try:
        record["metrics"] = json.loads((record["out"] / METRICS_FILE).read_text())
        record["saved"] = pinn.load_checkpoint(record["out"] / CHECKPOINT_FILE)
        record["temp_files"] = temp_files(record["out"])
        record["stale_left"] = [name for name in stale if (record["out"] / name).exists()]
    except (OSError, ValueError) as error:
        record["error"] = f"{type(error).__name__}: {error}\n{record['stdout']}{record['stderr']}"
    record["seconds"] = round(time.monotonic() - began, 1)


def _fill(run: Run, disk: Path | None) -> None:
    """Once the run has taken 3 Adam steps, shrink its disk to 12 KiB of room: enough for
    metrics.json, not for a checkpoint."""
    if disk is None:
        raise ChainBroken("no tmpfs to fill")
    run.wait_for(lambda: (run.progress() or {}).get("adam_steps", 0) >= 3, what="3 Adam steps")
    while run.process.poll() is None:
        used, free = _usage(disk)
        if free <= 16384:
            return
        _remount(disk, used + 12288)  # refused while a temporary file is there: try again
        time.sleep(0.05)


def _run_chains(root: Path, chains: dict[str, list[str]], seed: int, disk: bool) -> dict[str, list[dict]]:
    """The chains side by side (each pays TensorFlow's import per process)."""
    folders, mounts, chains = {}, [], dict(chains)
    for name, steps in chains.items():
        parent = root / f"mount-{name}"
        if any(step.startswith("disk") for step in steps):
            if disk and _mount_tmpfs(parent, "64m"):
                mounts.append(parent)
            else:  # no tmpfs here (not root): a kill instead; the in-process tests inject ENOSPC
                chains[name] = ["kill" if step.startswith("disk") else step for step in steps]
        parent.mkdir(parents=True, exist_ok=True)
        folders[name] = parent / f"chain{name}"
    try:
        with concurrent.futures.ThreadPoolExecutor(len(chains)) as pool:
            futures = {name: pool.submit(_drive_chain, folders[name], steps, random.Random(seed + k),
                                         root / "logs", folders[name].parent if folders[name].parent in mounts else None)
                       for k, (name, steps) in enumerate(chains.items())}
            results = {name: future.result() for name, future in futures.items()}
        for records in results.values():
            if records[-1]["step"] == "final" and "error" not in records[-1]:
                _run_final(records[-1], records[-2].get("temp_files", []) if len(records) > 1 else [])
        return results
    finally:
        for mount in mounts:
            subprocess.run(["umount", "-l", str(mount)], capture_output=True)


@pytest.fixture(scope="module")
def chains(tmp_path_factory):
    seed = int(os.environ.get("PINN_KILL_SEED", random.randrange(1 << 30)))
    print(f"kill moments: PINN_KILL_SEED={seed}")
    results = _run_chains(tmp_path_factory.mktemp("chains"), CHAINS, seed, disk=True)
    print("steps:", _timings(results))
    return results


def _timings(chains: dict) -> str:
    return "; ".join(f"{name}: " + ", ".join(f"{r['step']} {r.get('seconds')} s" for r in records)
                     for name, records in chains.items())


def _records(chains: dict, step: str) -> list[dict]:
    found = [record for records in chains.values() for record in records if record["step"] == step]
    for record in found:
        assert "error" not in record, record["error"]
    return found


def _check_kills(chains: dict, expected: int) -> None:
    kills = _records(chains, "kill")
    assert len(kills) >= expected, [r["step"] for records in chains.values() for r in records]
    for chain in chains.values():
        for before, after in zip(chain, chain[1:]):  # the next start removed what the kill left
            if "error" not in after and before["step"] == "kill":
                assert after.get("stale_left") == [], after
    for record in kills:
        assert record["code"] == -signal.SIGKILL, record["run"].output()  # killed, not finished
        saved, start = record["saved"], record["start"] or {"adam_steps": 0, "lbfgs_nit": 0}
        assert len(saved.history) and [r.step for r in saved.history] == list(range(len(saved.history)))
        assert (saved.progress["adam_steps"], saved.progress["lbfgs_nit"]) >= (start["adam_steps"], start["lbfgs_nit"])
    print("kills (chain, delay, adam steps, L-BFGS iterations, temporary files left):",
          [(r["chain"], round(r["delay"], 2), r["saved"].progress["adam_steps"], r["saved"].progress["lbfgs_nit"],
            r["temp_files"]) for r in kills])


def test_sigkill_at_random_moments_leaves_a_loadable_checkpoint(chains):
    """5 kills at random moments (``--checkpoint-every 1``: many land in a write): the checkpoint
    loads after each, and the next start removes the temporary files a kill left. The moments'
    seed is printed (rerun with PINN_KILL_SEED=N)."""
    _check_kills(chains, 5)


@pytest.mark.slow
def test_twenty_sigkills_at_random_moments(tmp_path):
    seed = int(os.environ.get("PINN_KILL_SEED", random.randrange(1 << 30)))
    print(f"kill moments: PINN_KILL_SEED={seed}")
    results = _run_chains(tmp_path, {"C": ["kill"] * 10 + ["final"], "D": ["kill"] * 10 + ["final"]}, seed,
                          disk=False)
    _check_kills(results, 20)
    for record in _records(results, "final"):
        assert record["code"] == 0 and record["temp_files"] == []


@pytest.mark.parametrize("case", list(SIGNAL_CASES))
def test_a_signal_ends_the_run_resumably(case, chains):
    """Exit 130/143, metrics.json "interrupted", the checkpoint at the interrupt with the whole
    history, the message with the checkpoint and the exact resume command, which goes on."""
    sig, phase, count = SIGNAL_CASES[case]
    [record] = _records(chains, case)
    run, metrics, saved = record["run"], record["metrics"], record["saved"]
    assert record["code"] == SIGNAL_EXIT[sig], run.output()
    assert metrics["status"] == "interrupted"
    assert saved.progress["adam_steps"] == metrics["adam_steps"]
    assert saved.progress["lbfgs_nit"] == metrics["lbfgs_nit"]
    if phase == "adam":
        assert saved.progress["adam_status"] == "interrupted"
        assert saved.progress["adam_steps"] >= record["at"]["adam_steps"]
    else:
        assert saved.progress["lbfgs_status"] is None  # not ended: a resume goes on
        assert saved.progress["lbfgs_nit"] >= record["at"]["lbfgs_nit"]
    assert [r.step for r in saved.history] == list(range(len(saved.history)))
    assert math.isfinite(metrics["final_loss"])
    lines = [line for line in run.stderr() if line.startswith("pinn")]
    command = "pinn solve burgers " + shlex.join(resumed_argv(run.argv)[2:])
    assert lines[-1] == (f"pinn: interrupted by {signal.Signals(sig).name}: the best weights so far are "
                         f"in {run.checkpoint}; go on with: {command}"), lines
    if count > 1:  # the second Ctrl-C waited for the checkpoint and metrics.json
        assert any("again: saving the checkpoint and metrics.json first" in line for line in lines), lines
    assert set(record["figures"]) == {"solution.png", "loss_history.png"}
    assert record["temp_files"] == []
    chain = next(records for records in chains.values() if record in records)
    after = chain[chain.index(record) + 1]  # the printed command went on from the checkpoint
    assert "error" not in after, after["error"]
    argv = after["run"].argv if "run" in after else after["argv"]
    assert argv[:len(resumed_argv(run.argv))] == resumed_argv(run.argv)
    assert after["saved"].history.to_dict()["loss"][:len(saved.history)] == saved.history.to_dict()["loss"]


def test_the_resumes_finish_counting_the_whole_run(chains):
    """The last resume of each chain (the exact command the last signalled run printed, run with
    ``pinn.cli.main`` in this process) ends with exit 0, "completed", its summary and metrics.json
    counting every step of the run (all its processes), and no temporary file left."""
    finals = _records(chains, "final")
    assert len(finals) == len(CHAINS)
    for record in finals:
        metrics, saved = record["metrics"], record["saved"]
        assert record["code"] == 0, record["stdout"] + "\n".join(record["stderr"])
        assert metrics["status"] == "completed" and metrics["resumed"]
        assert (metrics["adam_steps"], metrics["lbfgs_nit"], metrics["lbfgs_nfev"]) == (
            saved.progress["adam_steps"], saved.progress["lbfgs_nit"], saved.progress["lbfgs_nfev"])
        assert metrics["lbfgs_nit"] == record["start"]["lbfgs_nit"] + 5
        assert (f"Adam {metrics['adam_steps']} steps, L-BFGS-B {metrics['lbfgs_nit']} iterations "
                f"({metrics['lbfgs_nfev']} evaluations) in all, resumed") in record["stdout"]
        assert [r.step for r in saved.history] == list(range(len(saved.history)))
        assert record["temp_files"] == []


def test_a_full_disk_ends_the_run_as_failed_and_keeps_the_checkpoint(chains):
    """The disk fills up while Adam writes a checkpoint every step: the previous checkpoint stays,
    no temporary file is left to keep the disk full, the run ends "failed" (exit 1) with
    metrics.json written (there is room for it, not for a checkpoint) naming the failure; with
    room again, the printed command goes on."""
    records = _records(chains, "disk-adam")
    if not records:
        pytest.skip("no tmpfs could be mounted: test_a_checkpoint_write_that_fails_... injects ENOSPC")
    [record] = records
    run, metrics, saved = record["run"], record["metrics"], record["saved"]
    assert record["code"] == 1, run.output()
    assert metrics["status"] == "failed", metrics
    assert "could not write the checkpoint" in metrics["message"] and "No space left" in metrics["message"]
    assert saved.progress["adam_steps"] < metrics["adam_steps"]  # the one before the disk was full
    assert record["temp_files"] == [], "a temporary file keeps the disk full"
    assert math.isfinite(metrics["final_loss"]) and metrics["final_loss"] <= metrics["initial_loss"]
    lines = run.stderr()
    assert any("training ended with status 'failed'" in line and "No space left" in line
               and "go on from the checkpoint" in line for line in lines), lines
    assert any("could not write the figures" in line for line in lines), lines
    chain = next(records for records in chains.values() if record in records)
    after = chain[chain.index(record) + 1]
    assert "error" not in after and after["saved"].progress["adam_steps"] > saved.progress["adam_steps"]


def test_the_figures_of_an_interrupted_run_say_so(chains, tmp_path, monkeypatch):
    import pinn.examples.burgers as burgers

    titles = {}
    save = pinn.plotting._save

    def recording(fig, path, fmt):
        titles[path.name] = fig._suptitle.get_text() if fig._suptitle is not None else ""
        return save(fig, path, fmt)

    monkeypatch.setattr(pinn.plotting, "_save", recording)
    [interrupted] = _records(chains, "SIGINT-adam")
    burgers.plot(interrupted["snapshot"], tmp_path / "again")  # as `pinn plot` does
    assert set(titles) == {"solution.png", "loss_history.png"}
    for title in titles.values():
        assert "NOT FINAL: training was interrupted" in title, titles
    titles.clear()
    final = chains["A"][-1]  # (chain B's folder was on a tmpfs, unmounted now)
    assert final["step"] == "final" and "error" not in final, final.get("error")
    burgers.plot(final["out"], tmp_path / "done")
    assert "NOT FINAL" not in titles["solution.png"] and titles["loss_history.png"] == ""


class FullDisk:
    """Makes the n-th and every later atomic write fail with ENOSPC after the temporary file was
    written (as a full disk reports at write or fsync)."""

    def __init__(self, monkeypatch, after: int) -> None:
        self.calls, self.after = 0, after
        self.real = pinn.atomic._fsync
        monkeypatch.setattr(pinn.atomic, "_fsync", self)

    def __call__(self, path):
        self.calls += 1
        if self.calls > self.after:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        self.real(path)


def sine_fit(seed: int = 3, poison_after: int | None = None):
    """A small fit of sin(3x) with the named terms ``fit`` and ``poison``; ``poison`` is 0 for the
    first ``poison_after`` evaluations and NaN from then on (a counter variable in the graph).
    Returns (loss_fn, variables, limit): assign a large value to ``limit`` to cure it."""
    keras.utils.set_random_seed(seed)
    net = pinn.mlp(1, 1, [8], seed=seed)
    x = np.linspace(-1, 1, 32)[:, None]
    y = np.sin(3 * x)
    calls = tf.Variable(0, dtype=tf.int64, trainable=False)
    limit = tf.Variable(10**12 if poison_after is None else poison_after, dtype=tf.int64, trainable=False)

    def loss():
        calls.assign_add(1)
        fit = tf.reduce_mean(tf.square(net(x) - y))
        poison = tf.where(calls > limit, tf.constant(np.nan, tf.float64), tf.constant(0.0, tf.float64))
        return fit + poison, {"fit": fit, "poison": poison}

    return loss, net.trainable_variables, limit


class Recorder(pinn.Callback):
    """Every evaluated point with its loss: ``points[i]`` was evaluated with loss ``losses[i]``."""

    def __init__(self, x0):
        self.points, self.losses = [np.array(x0)], []

    def on_iteration_end(self, iteration, logs):
        if logs["phase"] == "adam":  # the loss of the weights before the step, then the step
            self.losses.append(logs["loss"])
            self.points.append(np.array(logs["x"]))

    def best_adam_point(self):
        return self.points[int(np.argmin(self.losses))]


def _fail_writes(phase, tmp_path, monkeypatch):
    """Train a small fit with a checkpoint every step; the 7th write of ``phase`` finds the disk
    full. Returns (trainer, result, recorder, full)."""
    loss, variables, _ = sine_fit()
    recorder = Recorder(FlatLayout(variables).flatten())
    trainer = pinn.Trainer(loss_fn=loss, variables=variables, checkpoint=tmp_path / "c.h5",
                           checkpoint_every=1, callbacks=[recorder])
    full = FullDisk(monkeypatch, after=6 if phase == "adam" else 20 + 1 + 6)  # 20 steps, end of Adam
    result = trainer.train(adam_steps=20, learning_rate=1e-2, lbfgs_options={"maxiter": 200})
    monkeypatch.undo()
    return trainer, result, recorder, full


@pytest.mark.parametrize("phase", ["adam", "lbfgs"])
def test_a_checkpoint_write_that_fails_ends_the_run_as_failed(phase, tmp_path, monkeypatch):
    """An injected ENOSPC (the tmpfs test does it for real): the previous checkpoint stays, the
    temporary file goes, the run ends "failed" naming the file and the error."""
    trainer, result, recorder, full = _fail_writes(phase, tmp_path, monkeypatch)
    assert full.calls > full.after
    assert result.status == "failed"
    assert f"could not write the checkpoint {str(tmp_path / 'c.h5')!r}" in result.message
    assert "No space left on device" in result.message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.h5"]  # no temporary file left
    saved = pinn.load_checkpoint(tmp_path / "c.h5")  # the last one written, whole
    assert (saved.progress["adam_steps"], saved.progress["lbfgs_nit"]) == ((6, 0) if phase == "adam" else (20, 6))
    assert (result.progress["adam_steps"], result.progress["lbfgs_nit"]) == ((7, 0) if phase == "adam" else (20, 7))
    weights = trainer.layout.flatten()
    assert np.all(np.isfinite(weights))
    if phase == "lbfgs":  # at the best point evaluated, whose loss the result reports
        assert result.final_loss == result.lbfgs.best_fun <= min(r.loss for r in result.history)
        assert trainer.objective(weights).fun == pytest.approx(result.final_loss, rel=1e-12)


def test_a_checkpoint_write_that_fails_in_adam_keeps_the_best_weights(tmp_path, monkeypatch):
    trainer, result, recorder, _ = _fail_writes("adam", tmp_path, monkeypatch)
    assert result.status == "failed"
    np.testing.assert_array_equal(trainer.layout.flatten(), recorder.best_adam_point())
    assert trainer.objective(trainer.layout.flatten()).fun == pytest.approx(result.final_loss, rel=1e-12)


# -- a read-only output --------------------------------------------------------------------------

def test_an_output_that_cannot_be_written_is_refused_before_any_work(tmp_path, capsys):
    """A regular file where the folder should be, a folder under it, a read-only file system
    (a tmpfs mounted read-only, where this runs as root; chmod does not stop root): exit 1 and
    one line naming --out's value, before the problem is built."""
    file = tmp_path / "file"
    file.write_text("a file where the folder should be")
    cases = {file: "cannot write to --out", file / "run": "cannot create the output folder"}
    read_only = tmp_path / "ro"
    mounted = _mount_tmpfs(read_only, "1m")
    try:
        if mounted:
            (read_only / "old").mkdir()
            subprocess.run(["mount", "-o", "remount,ro", str(read_only)], check=True)
            cases[read_only / "run"] = "cannot create the output folder"
            cases[read_only / "old"] = "cannot write in the output folder"
        for out, expected in cases.items():
            start = time.monotonic()
            assert cli.main(["solve", "burgers", *TINY, "--out", str(out)]) == 1, out
            [line] = our_lines(capsys.readouterr().err)
            assert line.startswith(f"pinn: error: {expected}") and repr(str(out)) in line, line
            assert time.monotonic() - start < 10  # before the problem is built
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(read_only)], capture_output=True)
    assert file.read_text() == "a file where the folder should be"
    assert cli.main(["solve", "burgers", *TINY, "--out", ""]) == 2
    assert "argument --out" in capsys.readouterr().err
    assert mounted or os.geteuid() != 0, "root could not mount a tmpfs"


# -- NaN in each phase ---------------------------------------------------------------------------

def test_nan_in_adam_stops_at_the_best_point_and_a_resume_goes_on(tmp_path):
    loss, variables, limit = sine_fit(poison_after=25)  # evaluations 26... are NaN
    layout = FlatLayout(variables)
    recorder = Recorder(layout.flatten())
    trainer = pinn.Trainer(loss_fn=loss, variables=variables, checkpoint=tmp_path / "c.h5",
                           checkpoint_every=10, callbacks=[recorder])
    result = trainer.train(adam_steps=60, learning_rate=1e-2, lbfgs_options={"maxiter": 30})
    assert result.status == "nonfinite" and result.lbfgs is None
    assert result.adam.nonfinite_terms == ["poison"] and "poison" in result.message
    assert result.progress["adam_steps"] == 25 and result.progress["adam_status"] == "nonfinite"
    best = recorder.best_adam_point()
    np.testing.assert_array_equal(layout.flatten(), best)  # the best finite point evaluated
    saved = pinn.load_checkpoint(tmp_path / "c.h5")
    np.testing.assert_array_equal(saved.weights, best)
    assert saved.progress["adam_status"] == "nonfinite"
    assert np.all(np.isfinite(saved.adam["m"])) and np.all(np.isfinite(saved.adam["v"]))

    limit.assign(10**12)  # the cause fixed; a new trainer goes on from the file
    again = pinn.Trainer(loss_fn=loss, variables=variables, checkpoint=tmp_path / "c.h5")
    resumed = again.train(adam_steps=60, learning_rate=1e-2, lbfgs_options={"maxiter": 30}, resume=True)
    assert resumed.status == "completed" and resumed.resumed
    assert resumed.adam.nit == 35 and resumed.progress["adam_steps"] == 60
    assert resumed.progress["lbfgs_nit"] == 30 and resumed.final_loss < result.final_loss


def test_nan_in_lbfgs_stops_at_the_best_point_and_a_resume_goes_on(tmp_path):
    loss, variables, limit = sine_fit(poison_after=10 + 40)  # 10 Adam steps, then 40 evaluations
    layout = FlatLayout(variables)
    trainer = pinn.Trainer(loss_fn=loss, variables=variables, checkpoint=tmp_path / "c.h5",
                           checkpoint_every=10)
    result = trainer.train(adam_steps=10, learning_rate=1e-2, lbfgs_options={"maxiter": 500})
    assert result.status == "nonfinite"
    assert result.lbfgs.status is pinn.Status.NONFINITE and result.lbfgs.nonfinite_terms == ["poison"]
    assert "poison" in result.message
    assert result.progress["lbfgs_status"] == "nonfinite"
    assert result.progress["lbfgs_nfev"] == 40 + 1  # the finite evaluations, and the NaN one
    assert result.final_loss == result.lbfgs.best_fun <= min(r.loss for r in result.history)
    saved = pinn.load_checkpoint(tmp_path / "c.h5")
    np.testing.assert_array_equal(saved.weights, layout.flatten())
    limit.assign(10**12)
    assert trainer.objective(layout.flatten()).fun == pytest.approx(result.final_loss, rel=1e-12)

    again = pinn.Trainer(loss_fn=loss, variables=variables, checkpoint=tmp_path / "c.h5")
    resumed = again.train(adam_steps=10, learning_rate=1e-2, lbfgs_options={"maxiter": 500}, resume=True)
    assert resumed.status == "completed" and resumed.adam is None
    assert resumed.lbfgs.start_nit == result.progress["lbfgs_nit"]
    assert resumed.final_loss < result.final_loss


# -- same seed, same threads: the same history ---------------------------------------------------

def _same(first: pinn.Checkpoint, second: pinn.Checkpoint) -> None:
    a, b = first.history.to_dict(), second.history.to_dict()
    assert a.keys() == b.keys() and len(first.history) > 0
    for column in a:
        if column != "time":  # every other column exactly: each step, each term, each phase
            assert a[column] == b[column], column
    np.testing.assert_array_equal(first.weights, second.weights)
    np.testing.assert_array_equal(first.adam["m"], second.adam["m"])
    np.testing.assert_array_equal(first.adam["v"], second.adam["v"])


def test_the_same_seed_gives_the_same_history(tmp_path):
    """float64 on the CPU, the same thread settings (this process's): the Burgers example's problem
    built and trained twice from its flags gives identical histories and weights."""
    import pinn.examples.burgers as burgers

    settings = burgers.build_parser().parse_settings(SMALL + ["--adam-steps", "20", "--lbfgs-maxiter", "60"])
    saved = []
    for i in range(2):
        setup = burgers.build(settings)
        trainer = pinn.Trainer(setup.problem, checkpoint=tmp_path / f"c{i}.h5", checkpoint_every=0,
                               settings=settings.checkpoint_settings())
        result = trainer.train(adam_steps=20, lbfgs_options={"maxiter": 60, "gtol": settings.gtol})
        assert result.status == "completed" and len(result.history) == 80
        saved.append(pinn.load_checkpoint(tmp_path / f"c{i}.h5"))
    _same(*saved)


@pytest.mark.slow
def test_the_same_seed_gives_the_same_history_in_separate_processes(tmp_path):
    """Two ``pinn solve`` runs (each with its own hash seed), one thread each."""
    flags = TINY + ["--threads", "1", "--checkpoint-every", "0"]
    runs = [Run(tmp_path / f"run{i}", flags, tmp_path / "logs", f"run{i}") for i in range(2)]
    for run in runs:
        assert run.finish() == 0, run.output()
    _same(*(pinn.load_checkpoint(run.checkpoint) for run in runs))
    first, second = (run.metrics() for run in runs)
    assert first["final_loss"] == second["final_loss"]
    assert first["relative_l2_error"] == second["relative_l2_error"]


# -- atomic writes -------------------------------------------------------------------------------

def test_a_signal_while_metrics_json_is_written_waits_for_it(tmp_path, monkeypatch):
    """A run that finished and writes its outputs when SIGTERM comes: metrics.json is written
    whole first, then the signal interrupts (the figures are not drawn)."""
    import pinn.scripts as scripts

    write = scripts.write_metrics

    def signalled(out, metrics):
        os.kill(os.getpid(), signal.SIGTERM)  # arrives in the middle of the write
        return write(out, metrics)

    monkeypatch.setattr(scripts, "write_metrics", signalled)
    drawn = []
    with pinn.signals.interrupt_signals("pinn") as received:
        with pytest.raises(KeyboardInterrupt):
            scripts.write_outputs(tmp_path, {"status": "completed"}, lambda: drawn.append(1))
    assert received.signum == signal.SIGTERM and drawn == []
    assert json.loads((tmp_path / METRICS_FILE).read_text()) == {"status": "completed"}
    assert temp_files(tmp_path) == []



def test_files_get_the_users_umask_and_failed_writes_leave_the_old_file(tmp_path):
    old = os.umask(0o027)
    try:
        path = write_atomic(tmp_path / "a" / "metrics.json", "{}")
        pinn.save_reference(tmp_path / "r.h5", x=np.zeros(3))
        pinn.plot_history(_history(), path=tmp_path / "h.png")
        pinn.save_checkpoint(tmp_path / "c.h5", pinn.Checkpoint(np.zeros(2), ["w"], [(2,)], "float64"))
    finally:
        os.umask(old)
    for name in ("a/metrics.json", "r.h5", "h.png", "c.h5"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o640, name
    assert path.read_text() == "{}"
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(path) as tmp:
            tmp.write_text("half")
            raise KeyboardInterrupt
    assert path.read_text() == "{}" and sorted(p.name for p in path.parent.iterdir()) == ["metrics.json"]
    stale = [tmp_path / ".checkpoint.pinn-0123abcd.h5.tmp", tmp_path / ".metrics.x1.json",
             tmp_path / ".checkpoint.q7.h5.tmp"]
    keep = [tmp_path / ".user.tmp", tmp_path / "notes.pinn-1.tmp"]
    for p in stale + keep:
        p.write_text("")
    assert sorted(remove_stale(tmp_path, STALE_PATTERNS)) == sorted(stale)
    assert all(p.exists() for p in keep)


def _history():
    history = pinn.History()
    for i in range(3):
        history.append(pinn.HistoryRecord(phase="adam", step=i, phase_step=i + 1, loss=1.0 / (i + 1),
                                          time=0.1 * i, nfev=i + 1, terms={"pde": 0.5 / (i + 1)}))
    return history


def test_a_plot_of_an_unfinished_run_is_marked(tmp_path, monkeypatch):
    titles = []
    save = pinn.plotting._save
    def recording(fig, path, fmt):
        heading = fig._suptitle
        titles.append(("", None) if heading is None else (heading.get_text(), heading.get_color()))
        return save(fig, path, fmt)

    monkeypatch.setattr(pinn.plotting, "_save", recording)
    x, t = np.linspace(-1, 1, 5), np.linspace(0, 1, 4)
    for status in ("interrupted", "failed", "completed", None):
        pinn.plot_history(_history(), path=tmp_path / "h.png", status=status)
        pinn.plot_solution(x, t, np.zeros((5, 4)), path=tmp_path / "s.png", title="T", status=status,
                           slice_times=())
    for (history_title, color), (solution_title, _) in zip(titles[0::2], titles[1::2]):
        assert history_title.startswith("NOT FINAL") == solution_title.startswith("T\nNOT FINAL")
    assert [title.startswith("NOT FINAL") for title, _ in titles[0::2]] == [True, True, False, False]
    assert "training failed" in titles[2][0]
    assert titles[0][1] == "firebrick"
    with pytest.raises(TypeError, match="status"):
        pinn.plot_history(_history(), path=tmp_path / "h.png", status=3)


def test_an_interrupt_while_the_temporary_file_is_created_leaves_nothing(tmp_path, monkeypatch):
    """Ctrl-C can come between the temporary file's creation and the write (a checkpoint written
    every step makes that likely): the file is still removed and the destination kept."""
    import pinn.atomic as atomic

    target = tmp_path / "checkpoint.h5"
    target.write_bytes(b"old")
    real_close = os.close

    def interrupted_close(fd):
        real_close(fd)
        raise KeyboardInterrupt  # right after the file was created, before its name is returned

    monkeypatch.setattr(atomic.os, "close", interrupted_close)
    with pytest.raises(KeyboardInterrupt):
        with atomic.atomic_write(target) as tmp:
            tmp.write_bytes(b"new")
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.h5"]
    assert target.read_bytes() == b"old"
