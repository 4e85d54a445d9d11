"""The ``pinn`` command: list, solve, info, plot, data; exit codes, one-line errors, signals, and a
non-editable install run from outside the repository.

Commands that start a process run as subprocesses (``pinn`` from the venv, or ``python -m
pinn.cli``); each pays TensorFlow's import (several seconds), so independent ones run side by side.
Usage errors, which stop before any work, are checked in-process with ``pinn.cli.main``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

import pinn
from pinn import cli
from pinn.scripts import CHECKPOINT_FILE, prepare_run_directory, restore_run, running_pid
from pinn.settings import UsageError

ROOT = Path(__file__).resolve().parents[1]
_SCRIPT = Path(sys.executable).with_name("pinn")
PINN = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-m", "pinn.cli"]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "MPLBACKEND": "Agg"}
#: A training run of a few seconds.
TINY = ["--quick", "--adam-steps", "20", "--lbfgs-maxiter", "20", "--n-f", "200", "--widths", "2",
        "--verbose", "0", "--error-every", "0", "--no-jit"]
# What TensorFlow's C++ side prints at import on a machine without CUDA, whatever the log level.
_NOISE = re.compile(r"^(WARNING: All log messages before absl|[IWEF]\d{4} \d\d:\d\d:\d\d|To enable the "
                    r"following instructions)")


def our_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip() and not _NOISE.match(line)]


def start(args, cwd=None, env=None) -> subprocess.Popen:
    return subprocess.Popen(PINN + list(args), cwd=cwd, env=env or ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(process: subprocess.Popen, timeout: float = 300) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=timeout)
    finally:
        process.kill()
    return process.returncode, out, err


def run_all(*commands, timeout: float = 300) -> list[tuple[int, str, str]]:
    """Run commands side by side (each pays TensorFlow's import); their (code, stdout, stderr)."""
    processes = [start(args) for args in commands]
    return [finish(p, timeout) for p in processes]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """One tiny ``pinn solve burgers`` run, shared by the tests that read a run directory."""
    out = tmp_path_factory.mktemp("cli") / "run"
    code, stdout, stderr = finish(start(["solve", "burgers", *TINY, "--out", str(out)]))
    assert code == 0, stdout + stderr
    return out


# -- the commands ---------------------------------------------------------------------------------

def test_help_list_and_an_unknown_problem(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("list", "solve", "info", "plot", "data"):
        assert re.search(rf"^\s+{command}\s", out, re.M), command
    assert cli.main(["list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listed] == sorted(cli.PROBLEMS)
    assert any(re.fullmatch(r"burgers\s+Burgers' equation.*", line) for line in listed)
    assert cli.main(["solve", "--help"]) == 0
    assert "burgers" in capsys.readouterr().out
    assert cli.main(["solve", "burgers", "--help"]) == 0
    out = capsys.readouterr().out
    assert "usage: pinn solve burgers" in out and "\nproblem:\n" in out and "\nrun:\n" in out
    for command in ("info", "plot", "data"):
        assert cli.main([command, "--help"]) == 0
        assert f"usage: pinn {command}" in capsys.readouterr().out
    assert cli.main(["solve", "nope", "--quick"]) == 2
    captured = capsys.readouterr()
    assert our_lines(captured.err) == [
        f"pinn: error: unknown problem 'nope'; registered: {', '.join(sorted(cli.PROBLEMS))} (see pinn list)"]
    assert captured.out == ""


def test_data_regenerates_the_packaged_reference(tmp_path, capsys):
    h5 = tmp_path / "x" / "burgers.h5"
    assert cli.main(["data", "burgers", "--out", str(h5)]) == 0
    fresh, shipped = pinn.load_reference(h5), pinn.load_reference(pinn.data.BURGERS_PATH)
    assert set(fresh) == {"x", "t", "usol"}
    for name in fresh:
        np.testing.assert_allclose(fresh[name], shipped[name], rtol=0, atol=1e-10)
    for argv in (["data", "burgers", "--out", str(tmp_path / "x.txt")], ["data", "nope"],
                 ["data", "burgers", "--quadrature-points", "0"]):
        assert cli.main(argv) == 2, argv
        [line] = our_lines(capsys.readouterr().err)
        assert line.startswith("pinn: error:"), line


def test_solve_writes_a_run_that_info_and_plot_read(run_dir):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["example"] == "burgers"
    assert metrics["settings"]["problem"] == {"data": None, "dtype": "float64", "n_f": 200, "n_u": 100,
                                              "n_u_draw": "stratified", "seed": 0, "widths": 2,
                                              "neurons": 20}
    assert metrics["settings"]["run"]["adam_steps"] == 20 and metrics["lbfgs_nit"] == 20
    assert pinn.load_checkpoint(run_dir / CHECKPOINT_FILE).settings == {
        "example": "burgers", **metrics["settings"]["problem"]}
    figures = {name: (run_dir / name).stat().st_mtime_ns for name in ("solution.png", "loss_history.png")}
    for name in figures:
        (run_dir / name).unlink()
    (info_code, info_out, info_err), (plot_code, plot_out, plot_err) = run_all(
        ["info", str(run_dir)], ["plot", str(run_dir)])
    assert info_code == 0, info_err
    assert re.search(r"^status\s+completed$", info_out, re.M)
    assert re.search(r"^settings\s+.*n_f=200", info_out, re.M)
    assert re.search(r"^progress\s+Adam 20 steps; SSBFGS 20 iterations", info_out, re.M)  # the default
    assert f"{metrics['relative_l2_error']:.3e}" in info_out
    assert f"{metrics['final_loss']:.3e}" in info_out
    assert plot_code == 0, plot_err
    for name in figures:
        data = (run_dir / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
        assert str(run_dir / name) in plot_out


def test_plot_rebuilds_the_trained_problem(run_dir, tmp_path):
    """The network rebuilt from the saved settings, with the checkpoint's weights, predicts what
    the run reported."""
    import pinn.examples.burgers as burgers

    metrics = json.loads((run_dir / "metrics.json").read_text())
    settings, setup, saved = restore_run(burgers, run_dir)
    assert dict(settings.problem) == metrics["settings"]["problem"]
    error = pinn.relative_l2_error(setup.predict(), setup.usol)
    assert error == pytest.approx(metrics["relative_l2_error"], rel=1e-9)
    assert cli.main(["plot", str(run_dir), "--out", str(tmp_path / "figs")]) == 0
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == ["loss_history.png", "solution.png"]


def test_info_json_and_a_folder_without_a_run(run_dir, tmp_path, capsys):
    assert cli.main(["info", str(run_dir), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["state"] == "completed" and info["running_pid"] is None
    assert info["metrics"] == json.loads((run_dir / "metrics.json").read_text())
    assert info["checkpoint"]["progress"]["lbfgs_nit"] == 20
    for folder in (tmp_path, tmp_path / "missing"):
        assert cli.main(["info", str(folder)]) == 1
        assert our_lines(capsys.readouterr().err) == [
            f"pinn: error: no run in {str(folder)!r}: it holds neither metrics.json nor checkpoint.h5"
            if folder.exists() else f"pinn: error: no run directory {str(folder)!r}"]
    assert cli.main(["plot", str(tmp_path)]) == 1
    assert "no checkpoint.h5" in capsys.readouterr().err


# -- usage errors: exit 2, one line naming the flag, before any work ------------------------------

@pytest.mark.parametrize("flag, value", [
    ("--widths", "0"), ("--threads", "-1"), ("--gtol", "-1"), ("--gtol", "nan"), ("--gtol", "inf"),
    ("--error-every", "-1"), ("--n-u", "0"), ("--n-f", "0"), ("--seed", "-1"), ("--adam-steps", "x"),
    ("--dtype", "float16"), ("--n-u-draw", "sobol"), ("--data", "no-such-file.h5"),
    ("--resample-every", "-1"), ("--resample", "sobol"), ("--derivatives", "forward"),
])
def test_bad_flag_values_are_usage_errors(flag, value, tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["solve", "burgers", "--out", str(out), flag, value]) == 2
    lines = our_lines(capsys.readouterr().err)
    assert len(lines) == 1 and lines[0].startswith(f"pinn: error: solve burgers: argument {flag}")
    assert not out.exists()


def test_other_usage_errors(tmp_path, capsys):
    cases = [
        (["solve", "burgers", "--resume", "--overwrite"], "--resume and --overwrite exclude each other"),
        (["solve", "burgers", "--adam-steps", "0", "--lbfgs-maxiter", "0"], "nothing to train"),
        (["solve", "burgers", "--out", ""], "argument --out"),
        (["solve", "burgers", "--quick", "--n-u", "500", "--out", str(tmp_path / "a")], "at most 456"),
        (["solve"], "give a problem's name"),
        (["frobnicate"], "invalid choice"),
        (["info"], "RUN_DIR"),
    ]
    for argv, expected in cases:
        assert cli.main(argv) == 2, argv
        lines = our_lines(capsys.readouterr().err)
        assert len(lines) == 1 and lines[0].startswith("pinn: error:") and expected in lines[0], (argv, lines)


def test_a_run_directory_is_not_reused_by_accident(run_dir, tmp_path, capsys):
    assert cli.main(["solve", "burgers", *TINY, "--out", str(run_dir)]) == 2
    [line] = our_lines(capsys.readouterr().err)
    assert str(run_dir) in line and "--resume" in line and "--overwrite" in line
    empty = tmp_path / "empty"
    assert cli.main(["solve", "burgers", *TINY, "--out", str(empty), "--resume"]) == 2
    [line] = our_lines(capsys.readouterr().err)
    assert "no checkpoint" in line and "--resume-or-start" in line
    assert cli.main(["solve", "burgers", *TINY, "--out", str(run_dir), "--resume", "--seed", "1"]) == 2
    [line] = our_lines(capsys.readouterr().err)
    assert "seed: 0 there, 1 here" in line


def test_an_output_that_cannot_be_written_is_found_first(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    targets = [blocker, blocker / "sub"]
    if os.geteuid() != 0:  # root writes into read-only folders
        read_only = tmp_path / "ro"
        read_only.mkdir()
        read_only.chmod(0o555)
        targets.append(read_only)
    for out in targets:
        assert cli.main(["solve", "burgers", *TINY, "--out", str(out)]) == 1
        [line] = our_lines(capsys.readouterr().err)
        assert line.startswith("pinn: error: cannot ") and str(out) in line
    assert blocker.read_text() == "not a folder"


def test_run_directory_housekeeping(tmp_path):
    import pinn.examples.burgers as burgers

    def settings(*flags):
        return burgers.build_parser().parse_settings(["--out", str(tmp_path), *flags])

    stale = [tmp_path / ".checkpoint.x1y2.h5.tmp", tmp_path / ".metrics.abc.json"]
    for path in stale:
        path.write_text("left by a killed run")
    with prepare_run_directory(settings()):
        assert not any(path.exists() for path in stale)
        with pytest.raises(RuntimeError, match="another run"):  # a second run into the same folder
            prepare_run_directory(settings())
        assert running_pid(tmp_path) == os.getpid()
    assert running_pid(tmp_path) is None
    (tmp_path / CHECKPOINT_FILE).write_bytes(b"old")
    (tmp_path / "metrics.json").write_text("{}")
    with pytest.raises(UsageError, match="--overwrite"):
        prepare_run_directory(settings())
    with prepare_run_directory(settings("--overwrite")):
        assert not (tmp_path / CHECKPOINT_FILE).exists() and not (tmp_path / "metrics.json").exists()
    with prepare_run_directory(settings("--resume-or-start")):  # nothing to resume: a new run
        pass


def test_every_flag_is_a_problem_or_a_run_flag():
    import pinn.examples.burgers as burgers

    parser = burgers.build_parser()
    settings = parser.parse_settings(["--quick"])
    assert set(settings.problem) == {"seed", "dtype", "n_u", "n_u_draw", "n_f", "widths", "neurons",
                                 "data"}
    assert {"out", "resume", "verbose", "checkpoint_every", "adam_steps", "lbfgs_maxiter", "jit",
            "threads", "error_every", "gtol", "quick", "overwrite", "resume_or_start", "resample_every",
            "resample"} <= set(settings.run)
    assert settings.n_f == burgers.QUICK["n_f"] and settings.adam_steps == burgers.QUICK["adam_steps"]
    assert settings.checkpoint_settings() == {"example": "burgers", **settings.problem}
    parser.add_argument("--forgotten", type=int, default=0)  # neither kind: refused at once
    with pytest.raises(TypeError, match="forgotten"):
        parser.parse_settings([])


def test_resample_flags_give_an_example_its_resample_plan(capsys):
    from pinn.scripts import add_resample_flags, example_parser, resample_plan

    def parser(every):
        made = example_parser("toy", "a toy", out="runs/toy", adam_steps=10, lbfgs_maxiter=10)
        add_resample_flags(made, every=every)
        return made

    domain = pinn.Interval(0.0, 1.0, "x")
    plan = resample_plan(parser(300).parse_settings(["--seed", "3"]), domain)
    assert (plan.every, plan.method, plan.seed, plan.domain) == (300, "lhs", 3, domain)
    plan = resample_plan(parser(0).parse_settings(["--resample-every", "50", "--resample", "residual"]), domain)
    assert (plan.every, plan.method) == (50, "residual")
    assert resample_plan(parser(300).parse_settings(["--resample-every", "0"]), domain) is None
    assert resample_plan(example_parser("toy", "a toy", out="o", adam_steps=1, lbfgs_maxiter=1)
                         .parse_settings([]), domain) is None  # an example without the flags
    with pytest.raises(SystemExit) as stopped:  # a usage error: exit 2, the message on stderr
        parser(0).parse_settings(["--resample", "uniform"])
    assert stopped.value.code == 2
    assert "argument --resample: it needs --resample-every" in capsys.readouterr().err
    with pytest.raises(ValueError, match="every"):
        parser(-1)


def test_an_example_can_resample_by_default_and_be_told_not_to(capsys):
    from pinn.scripts import add_resample_flags, example_parser, resample_plan

    made = example_parser("toy", "a toy", out="runs/toy", adam_steps=10, lbfgs_maxiter=10)
    add_resample_flags(made, every=2000, method="residual")
    domain = pinn.Interval(0.0, 1.0, "x")
    settings = made.parse_settings([])
    assert (settings.run["resample_every"], settings.run["resample"]) == (2000, "residual")
    plan = resample_plan(settings, domain)
    assert (plan.every, plan.method) == (2000, "residual")
    assert resample_plan(made.parse_settings(["--resample-every", "0"]), domain) is None  # off
    assert resample_plan(made.parse_settings(["--resample", "lhs"]), domain).method == "lhs"
    with pytest.raises(SystemExit) as stopped:  # another method, but no resampling: a usage error
        made.parse_settings(["--resample", "lhs", "--resample-every", "0"])
    assert stopped.value.code == 2
    assert "argument --resample: it needs --resample-every" in capsys.readouterr().err
    with pytest.raises(ValueError, match="method must be None or one of"):
        add_resample_flags(example_parser("toy", "a toy", out="o", adam_steps=1, lbfgs_maxiter=1),
                           every=10, method="sobol")


# -- signals: exit 130 / 143, the run ends at its best weights ------------------------------------

def test_sigint_and_sigterm_end_training_with_130_and_143(tmp_path):
    flags = ["--quick", "--adam-steps", "20", "--lbfgs-maxiter", "100000", "--n-f", "200", "--widths",
             "2", "--checkpoint-every", "5", "--verbose", "0", "--error-every", "0", "--no-jit"]
    runs = {signal.SIGINT: tmp_path / "int", signal.SIGTERM: tmp_path / "term"}
    processes = {sig: start(["solve", "burgers", *flags, "--out", str(out)]) for sig, out in runs.items()}
    results = {}
    try:
        deadline = time.monotonic() + 240
        waiting = dict(processes)
        while waiting and time.monotonic() < deadline:  # signal each once it trains
            for sig, process in list(waiting.items()):
                assert process.poll() is None, process.communicate()
                if (runs[sig] / CHECKPOINT_FILE).is_file():
                    process.send_signal(sig)
                    del waiting[sig]
            time.sleep(0.2)
        assert not waiting, "no checkpoint within 240 s"
        results = {sig: finish(process, 120) for sig, process in processes.items()}
    finally:
        for process in processes.values():
            process.kill()
    for sig, (code, stdout, stderr) in results.items():
        out = runs[sig]
        assert code == {signal.SIGINT: 130, signal.SIGTERM: 143}[sig], stdout + stderr
        metrics = json.loads((out / "metrics.json").read_text())
        assert metrics["status"] == "interrupted"
        saved = pinn.load_checkpoint(out / CHECKPOINT_FILE)
        assert saved.progress["adam_steps"] == metrics["adam_steps"]
        assert saved.progress["lbfgs_nit"] == metrics["lbfgs_nit"]
        [line] = [line for line in our_lines(stderr) if line.startswith("pinn")]
        assert f"interrupted by {signal.Signals(sig).name}" in line
        assert str(out / CHECKPOINT_FILE) in line
        assert line.endswith(f"pinn solve burgers {' '.join(flags)} --out {out} --resume")


# -- a non-editable install, run from outside the repository -------------------------------------

def test_a_wheel_installs_and_runs_outside_the_repository(tmp_path):
    source = tmp_path / "source"  # a copy: the build writes build/ and *.egg-info next to its sources
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    for name in ("pinn", "equations", "examples", "data"):
        shutil.copytree(ROOT / name, source / name, ignore=ignore)
    wheels, site, work = tmp_path / "wheels", tmp_path / "site", tmp_path / "work"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels),
                            str(source)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stdout + build.stderr
    [wheel] = wheels.glob("pinn-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"pinn/cli.py", "pinn/settings.py", "pinn/equations/burgers.py", "pinn/examples/burgers.py",
            "pinn/reference_data/burgers_shock.h5"} <= names
    # one top-level package: no equations/, examples/ or data/ beside pinn/ in site-packages
    assert {name.split("/")[0] for name in names} == {"pinn", f"pinn-{pinn.__version__}.dist-info"}
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                              str(site), str(wheel)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stdout + install.stderr
    assert (site / "bin" / "pinn").is_file()  # the console script

    work.mkdir()
    script = ("import sys, pinn, pinn.data, pinn.equations; from pinn.cli import main; "
              "print(pinn.__file__); print(pinn.equations.__file__); print(pinn.data.BURGERS_PATH); "
              "code = main(sys.argv[1:]); sys.exit(code or main(['data', 'burgers']))")
    env = {**ENV, "PYTHONPATH": str(site)}  # before the editable install's finder
    result = subprocess.run([sys.executable, "-c", script, "solve", "burgers", *TINY, "--out", "X"],
                            cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    where = result.stdout.splitlines()[:3]
    for path in where:
        assert Path(path).resolve().is_relative_to(site.resolve()), where
    assert json.loads((work / "X" / "metrics.json").read_text())["status"] == "completed"
    assert (work / "burgers_shock.h5").is_file()  # the default output of an installed pinn


def test_a_checkpoint_from_before_a_new_problem_flag_is_read_with_its_default():
    """A problem flag added since a run was saved takes its default (the behaviour before the flag),
    so `pinn plot` / `pinn info` still read older runs; flags the example does not know are refused."""
    import pinn.examples.burgers as burgers
    from pinn.settings import RunSettings

    parser = burgers.build_parser()
    saved = dict(parser.parse_settings([]).problem, example="burgers")
    del saved["neurons"]  # a run from before --neurons existed
    settings = RunSettings.from_checkpoint_settings(saved, parser)
    assert settings.neurons == 20 and settings.widths == 8
    with pytest.raises(ValueError, match="does not know"):
        RunSettings.from_checkpoint_settings({**saved, "layers": 3}, parser)


def test_info_names_the_second_phase_method():
    def info(run):
        metrics = {"settings": {"example": "burgers", "problem": {"seed": 0}, "run": run}, "lbfgs_nit": 7,
                   "lbfgs_nfev": 8, "adam_steps": 2, "final_loss": 1.0, "initial_loss": 2.0}
        return cli.format_info({"run_dir": "r", "state": "completed", "metrics": metrics, "checkpoint": None})

    assert re.search(r"^progress\s+Adam 2 steps; SSBroyden2 7 iterations", info({"method": "SSBroyden2"}), re.M)
    # a run written before --method existed ran L-BFGS-B
    assert re.search(r"^progress\s+Adam 2 steps; L-BFGS-B 7 iterations", info({"adam_steps": 2}), re.M)
    assert "SSBroyden2 0.0 s)" in info({"method": "SSBroyden2"})
