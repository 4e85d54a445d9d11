"""benchmarks/paper_tables.py, benchmarks/_runs.py and benchmarks/paper_results.py, without training:
cell parsing, the table writers on made-up metrics, the reuse of finished runs, docs/paper.md's table."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import _runs  # noqa: E402
import paper_results  # noqa: E402
import paper_tables  # noqa: E402
from paper_tables import Cell, parse_cells  # noqa: E402


def fake_metrics(seed: int, error: float, maxiter: int = 2000, example: str = "burgers",
                 **extra) -> dict:
    return {"example": example, "status": "completed", "seed": seed, "relative_l2_error": error,
            "final_loss": 1e-6, "adam_steps": 1000, "lbfgs_nit": maxiter, "lbfgs_nfev": maxiter + 50,
            "lbfgs_message": "limit_reached", "wall_time_s": 12.0,
            "settings": {"example": example, "problem": {"seed": seed},
                         "run": {"adam_steps": 1000, "lbfgs_maxiter": maxiter}}, **extra}


def finish(job: _runs.Run, metrics: dict) -> None:
    """Make ``job``'s folder look like a finished run made with its flags."""
    job.folder.mkdir(parents=True, exist_ok=True)
    job.metrics_file.write_text(json.dumps(metrics))
    job.flags_file.write_text(json.dumps({"flags": list(job.flags)}))


# -- cells -------------------------------------------------------------------------------------

def test_parse_cells_both_tables_in_order_without_duplicates():
    cells = parse_cells("100x10000, 20x2000,2:4x20,1:100x10000", table=1)
    assert [c.name for c in cells] == ["1:100x10000", "1:20x2000", "2:4x20"]
    assert cells[2] == Cell(2, 100, 10000, 4, 20)
    assert parse_cells("4X40", table=2) == [Cell(2, 100, 10000, 4, 40)]


def test_parse_cells_all_and_default_give_whole_tables():
    assert len(parse_cells(None, 1)) == 36 and len(parse_cells("all", 2)) == 12
    assert {c.paper for c in parse_cells(None, 1) if c.n_u == 100} >= {6.7e-4, 6.6e-2}
    assert Cell(1, 20, 2000, 8, 20).paper is None  # not quoted: the table says n/a


def test_table2_8x20_shares_runs_with_table1_main_cell(tmp_path):
    cells = parse_cells("1:100x10000,2:8x20")
    jobs = paper_tables.jobs_for(cells, [0, 1], tmp_path, ["--lbfgs-maxiter", "10"])
    assert len(jobs) == 2
    # the paper's plan (L-BFGS-B, no Adam) whatever the example's defaults, then the flags after '--'
    assert jobs[0].flags == ("--seed", "0", "--n-u", "100", "--n-f", "10000", "--widths", "8",
                             "--neurons", "20", "--method", "L-BFGS-B", "--adam-steps", "0",
                             "--lbfgs-maxiter", "50000", "--resample-every", "0", "--lbfgs-maxiter", "10")


def test_the_flags_after_the_separator_win_over_the_papers_plan():
    import importlib

    parse = importlib.import_module("pinn.examples.burgers").build_parser().parse_settings

    def settings(extra):
        flags = paper_tables.jobs_for(parse_cells("100x2000"), [0], Path("unused"), extra)[0].flags
        s = parse(list(flags))
        return s.lbfgs_maxiter, s.adam_steps, s.run["method"], s.run["resample_every"]

    # the paper's fixed collocation points, though the example resamples by default
    assert settings([]) == (50000, 0, "L-BFGS-B", 0)
    assert settings(["--lbfgs-maxiter", "10", "--method", "SSBFGS"]) == (10, 0, "SSBFGS", 0)
    assert settings(["--resample-every", "500"]) == (50000, 0, "L-BFGS-B", 500)


@pytest.mark.parametrize("text, words", [
    ("100x999", ["Table 1", "N_F one of", "10000"]),
    ("30x2000", ["Table 1", "N_U must be one of"]),
    ("2:3x20", ["Table 2", "LAYERS must be one of"]),
    ("2:4x30", ["Table 2", "NEURONS"]),
    ("3:4x20", ["table 3", "expected 1 or 2"]),
    ("100by10000", ["expected AxB", "'100by10000'"]),
    ("100x", ["expected AxB"]),
    ("", ["expected cells"]),
    (" , ", ["expected cells"]),
])
def test_bad_cells_are_named_with_what_was_expected(text, words):
    with pytest.raises(ValueError, match="--cells") as info:
        parse_cells(text, 1)
    for word in words:
        assert word in str(info.value)


def test_bad_table_and_own_flags_after_dashdash_are_refused():
    with pytest.raises(ValueError, match="--table must be 1 or 2"):
        parse_cells(None, 3)
    with pytest.raises(ValueError, match=r"\['--n-f', '--seed'\]"):
        paper_tables.check_extra_flags(["--lbfgs-maxiter", "5", "--seed=3", "--n-f", "2000"])
    assert paper_tables.check_extra_flags(["--adam-steps", "0"]) == ["--adam-steps", "0"]


@pytest.mark.parametrize("argv, message", [
    (["--cells", "100x1"], "--cells"),
    (["--seeds", "0", "-1"], "--seeds must be an int >= 0"),
    (["--seeds", "1", "1"], "--seeds must be distinct"),
    (["--jobs", "0"], "--jobs must be a positive int"),
    (["--threads", "-2"], "--threads must be an int >= 0"),
    (["--", "--out", "x"], "must not set ['--out']"),
    (["--fresh", "--report-only"], "exclude each other"),
])
def test_command_line_errors_before_any_run(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(_runs.subprocess, "run", lambda *a, **k: pytest.fail("ran a process"))
    with pytest.raises(SystemExit) as info:
        paper_tables.main(["--out", str(tmp_path / "o"), *argv])
    assert info.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


# -- writers -----------------------------------------------------------------------------------

def test_summary_median_and_range_and_markdown():
    cells = parse_cells("100x10000,20x2000,2:4x10")
    errors = [3e-3, 1e-4, 7e-4]
    runs = {"1:100x10000": [fake_metrics(s, e) for s, e in zip((2, 0, 1), errors)],
            "2:4x10": [fake_metrics(0, 0.05)]}
    summary = paper_tables.summarize(cells, runs, "python benchmarks/paper_tables.py x",
                                     ["--lbfgs-maxiter", "2000"], {"cpu": "Test CPU", "cores": 2})
    main, empty, second = summary["cells"]
    assert main["median"] == statistics.median(errors) == 7e-4
    assert (main["min"], main["max"], main["n_seeds"], main["seeds"]) == (1e-4, 3e-3, 3, [0, 1, 2])
    assert [r["seed"] for r in main["runs"]] == [0, 1, 2] and main["paper"] == 6.7e-4
    assert empty["n_seeds"] == 0 and empty["median"] is None
    assert second["median"] == 0.05 and second["paper"] is None
    assert summary["label"] == ("reduced: L-BFGS-B maxiter 2000, not the paper's 50000; Adam 1000 steps "
                                "first (the paper: none)")
    json.dumps(summary)  # JSON-ready

    text = paper_tables.markdown(summary)
    assert "reduced: L-BFGS-B maxiter 2000, not the paper's 50000" in text
    assert "| 100 | 10000 | 6.7e-4 | **7.0e-4** | 1.0e-4 - 3.0e-3 | 3 |" in text
    assert "| 20 | 2000 | n/a | **n/a** | not run | 0 |" in text
    assert "| 4 | 10 | n/a | **5.0e-2** | 5.0e-2 - 5.0e-2 | 1 |" in text
    assert "Test CPU, 2 cores" in text and "python benchmarks/paper_tables.py x" in text


def test_full_budget_label():
    assert paper_tables.budget_label([fake_metrics(0, 1e-3, 50000)]).startswith("full")
    no_adam = fake_metrics(0, 1e-3, 1000)
    no_adam["settings"]["run"]["adam_steps"] = 0
    assert paper_tables.budget_label([no_adam]) == ("reduced: L-BFGS-B maxiter 1000, not the paper's "
                                                    "50000; no Adam phase, as the paper")
    assert "maxiter 500, 50000, not" in paper_tables.budget_label(
        [fake_metrics(0, 1e-3, 50000), fake_metrics(1, 1e-3, 500)])
    other = fake_metrics(0, 1e-3, 1000)
    other["settings"]["run"]["method"] = "SSBFGS"
    assert paper_tables.budget_label([other]).startswith("reduced: SSBFGS (the paper: L-BFGS-B) maxiter 1000")
    resampled = fake_metrics(0, 1e-3, 50000)
    resampled["settings"]["run"].update(adam_steps=0, resample_every=2000, resample="residual")
    assert paper_tables.budget_label([resampled, fake_metrics(1, 1e-3, 50000)]) == (
        "full: L-BFGS-B maxiter 50000 (the paper's 50000); Adam 0, 1000 steps first (the paper: "
        "none); new collocation points every 2000 iterations (the paper: fixed points)")


def test_machine_info_names_versions():
    info = paper_tables._runs.machine_info()
    assert info["cores"] >= 1 and info["numpy"] and info["scipy"] and info["date"].endswith("UTC")


# -- resuming ----------------------------------------------------------------------------------

def fake_process(calls):
    """A stand-in for subprocess.run that records the command and writes a finished run."""
    def run(command, **kwargs):
        calls.append(command)
        out = Path(command[command.index("--out") + 1])
        out.mkdir(parents=True, exist_ok=True)
        seed = int(command[command.index("--seed") + 1])
        (out / "metrics.json").write_text(json.dumps(fake_metrics(seed, 1e-3 * (seed + 1))))
        return subprocess.CompletedProcess(command, 0)
    return run


def test_finished_runs_are_reused_and_others_resumed_or_started(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(_runs.subprocess, "run", fake_process(calls))
    jobs = paper_tables.jobs_for(parse_cells("100x2000"), [0, 1, 2], tmp_path, ["--lbfgs-maxiter", "7"])
    finish(jobs[0], fake_metrics(0, 4e-4))                      # finished: reused
    jobs[1].folder.mkdir(parents=True)                           # killed: has a checkpoint only
    (jobs[1].folder / "checkpoint.h5").write_bytes(b"")
    jobs[1].flags_file.write_text(json.dumps({"flags": list(jobs[1].flags)}))
    assert _runs.check_runs(jobs) == jobs[1:]
    metrics = _runs.run_all(jobs, 2, threads=1)
    assert [m["reused"] for m in metrics] == [True, False, False]
    assert metrics[0]["relative_l2_error"] == 4e-4
    assert len(calls) == 2 and all("--resume-or-start" in c and "--overwrite" not in c for c in calls)
    assert all(c[c.index("--threads") + 1] == "1" for c in calls)
    assert (tmp_path / "nu100_nf2000_l8_w20" / "seed1.log").exists()

    calls.clear()
    assert [m["reused"] for m in _runs.run_all(jobs)] == [True] * 3 and calls == []
    _runs.run_all(jobs[:1], fresh=True)
    assert len(calls) == 1 and "--overwrite" in calls[0]


def test_interrupted_run_is_not_reused(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(_runs.subprocess, "run", fake_process(calls))
    job = _runs.Run("burgers", tmp_path / "seed0", ("--seed", "0"))
    finish(job, {**fake_metrics(0, 1e-2), "status": "interrupted"})
    assert _runs.run(job)["reused"] is False and len(calls) == 1


def test_run_made_with_other_flags_is_refused_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setattr(_runs.subprocess, "run", lambda *a, **k: pytest.fail("ran a process"))
    old = _runs.Run("burgers", tmp_path / "seed0", ("--seed", "0", "--lbfgs-maxiter", "5"))
    finish(old, fake_metrics(0, 1e-2))
    new = _runs.Run("burgers", tmp_path / "seed0", ("--seed", "0", "--lbfgs-maxiter", "9"))
    with pytest.raises(_runs.FlagsMismatch, match="--fresh"):
        _runs.run_all([new])
    assert _runs.check_runs([new], fresh=True) == [new]


def test_failed_run_names_its_log(tmp_path, monkeypatch):
    monkeypatch.setattr(_runs.subprocess, "run",
                        lambda command, **k: subprocess.CompletedProcess(command, 1))
    job = _runs.Run("burgers", tmp_path / "seed0", ("--seed", "0"))
    with pytest.raises(_runs.RunFailed, match="seed0.log"):
        _runs.run_all([job])


def test_run_once_reuses_by_flags_and_never_reads_an_old_result_after_a_failure(tmp_path):
    """The mechanism under every runner (compare.py's workers use it directly)."""
    result, flags_file, log = tmp_path / "r.json", tmp_path / "r.flags.json", tmp_path / "r.log"

    def read():
        return json.loads(result.read_text()) if result.exists() else None

    def line(value, code=0):
        return [sys.executable, "-c", f"import json, sys; json.dump({{'v': {value}}}, open({str(result)!r}, 'w')); "
                f"print('ran'); sys.exit({code})"]

    kwargs = dict(flags_file=flags_file, log=log, result=read, clear=lambda: result.unlink(missing_ok=True))
    assert _runs.run_once(line(1), flags=["a"], **kwargs) == ({"v": 1}, False)
    assert log.read_text().strip() == "ran" and json.loads(flags_file.read_text()) == {"flags": ["a"]}
    assert _runs.run_once(line(2), flags=["a"], **kwargs) == ({"v": 1}, True)     # same flags: reused
    assert _runs.run_once(line(3), flags=["b"], **kwargs) == ({"v": 3}, False)    # other flags: run
    assert _runs.run_once(line(4), flags=["b"], fresh=True, **kwargs) == ({"v": 4}, False)
    with pytest.raises(_runs.RunFailed, match="without leaving its result"):     # the old one cleared
        _runs.run_once([sys.executable, "-c", "pass"], flags=["c"], **kwargs)
    with pytest.raises(_runs.RunFailed, match="code 3"):
        _runs.run_once(line(5, code=3), flags=["c"], **kwargs)


def test_report_only_writes_tables_from_finished_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(_runs.subprocess, "run", lambda *a, **k: pytest.fail("ran a process"))
    out = tmp_path / "runs"
    extra = ["--lbfgs-maxiter", "300"]
    cells = parse_cells("100x10000,200x4000")
    for seed, error in ((0, 2e-3), (1, 5e-4)):
        job = paper_tables.jobs_for(cells[:1], [seed], out, extra)[0]
        finish(job, fake_metrics(seed, error, 300))
    code = paper_tables.main(["--cells", "100x10000,200x4000", "--seeds", "0", "1", "--out", str(out),
                              "--report-only", "--json", str(tmp_path / "t.json"),
                              "--md", str(tmp_path / "t.md"), "--", *extra])
    assert code == 0
    summary = json.loads((tmp_path / "t.json").read_text())
    assert summary["cells"][0]["median"] == pytest.approx(1.25e-3) and summary["cells"][1]["n_seeds"] == 0
    assert summary["flags"] == extra and "--report-only" in summary["command"]
    assert "| 200 | 4000 | 2.3e-3 | **n/a** | not run | 0 |" in (tmp_path / "t.md").read_text()


# -- docs/paper.md -----------------------------------------------------------------------------

def test_paper_results_table_from_small_json(tmp_path, monkeypatch):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps(fake_metrics(
        0, 2e-3, 800, example="burgers_identification", noise=0.0, lambda1=0.998,
        lambda2=0.00319, lambda1_error_pct=0.2, lambda2_error_pct=0.31)))
    tables = paper_tables.summarize(parse_cells("100x10000"),
                                    {"1:100x10000": [fake_metrics(s, e) for s, e in ((0, 1e-3), (1, 3e-3))]},
                                    "python benchmarks/paper_tables.py --cells 100x10000")
    (tmp_path / "tables.json").write_text(json.dumps(tables))
    doc = tmp_path / "paper.md"
    doc.write_text(f"intro\n{paper_results.BEGIN}\nold\n{paper_results.END}\nafter\n")
    results = tmp_path / "results.json"
    argv = ["--results", str(results), "--tables", str(tmp_path / "tables.json"),
            "--doc", str(doc)]
    assert paper_results.main([*argv, "--add", str(run)]) == 0
    text = doc.read_text()
    assert text.startswith("intro\n") and text.endswith(f"{paper_results.END}\nafter\n") and "old" not in text
    rows = {line.split(" | ")[0]: line for line in text.splitlines() if line.startswith("| ")}
    ident = rows["| Burgers, continuous-time identification, clean data"]
    assert "lambda1 0.99800 (0.200 %)" in ident and "reduced (Adam 1000, L-BFGS-B maxiter 800" in ident
    assert "`pinn solve burgers_identification --seed 0 --adam-steps 1000 --lbfgs-maxiter 800`" in ident
    inference = rows["| Burgers, continuous-time inference (Fig. 1)"]
    assert "rel. L2 median 2.0e-3 (1.0e-3 - 3.0e-3, 2 seeds); reduced" in inference
    for title in ("Allen–Cahn", "KdV", "Navier–Stokes", "Schrödinger"):
        row = next(v for k, v in rows.items() if title in k)
        assert paper_results.NOT_MEASURED in row
    assert "not measured yet" in rows["| Burgers inference, Table 2"]
    assert json.loads(results.read_text())["entries"][0]["key"] == "burgers_identification"
    assert paper_results.main([*argv, "--check"]) == 0
    doc.write_text(text.replace("0.99800", "0.99900"))
    assert paper_results.main([*argv, "--check"]) == 1


def test_paper_results_gives_the_median_over_seeds_of_one_budget(tmp_path):
    results, doc = tmp_path / "results.json", tmp_path / "paper.md"
    doc.write_text(f"{paper_results.BEGIN}\n{paper_results.END}\n")
    argv = ["--results", str(results), "--tables", str(tmp_path / "none.json"), "--doc", str(doc)]
    for seed, (e1, e2), maxiter in ((0, (0.3, 0.1), 800), (1, (0.1, 0.5), 800), (2, (0.2, 0.2), 800),
                                    (3, (9.0, 9.0), 900)):
        run = tmp_path / f"run{seed}"
        run.mkdir()
        (run / "metrics.json").write_text(json.dumps(fake_metrics(
            seed, 1e-3, maxiter, example="navier_stokes", lambda1=1.0, lambda2=0.025,
            lambda1_error_pct=e1, lambda2_error_pct=e2)))
        assert paper_results.main([*argv, "--add", str(run)]) == 0
    row = next(line for line in doc.read_text().splitlines() if line.startswith("| Navier–Stokes"))
    assert ("**lambda1 error median 0.200 % (0.100 % - 0.300 %), lambda2 error median 0.200 % "
            "(0.100 % - 0.500 %) over seeds 0, 1, 2 (reduced (Adam 1000, L-BFGS-B maxiter 800; the "
            "paper: 200000, 50000))**; each run: ") in row
    assert "9.000" not in row.split("each run:")[0] and "(seed 3; reduced" in row  # a budget of one seed


def test_paper_results_replaces_a_run_added_again(tmp_path):
    results, doc = tmp_path / "results.json", tmp_path / "paper.md"
    doc.write_text(f"{paper_results.BEGIN}\n{paper_results.END}\n")
    argv = ["--results", str(results), "--tables", str(tmp_path / "none.json"), "--doc", str(doc)]
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps(fake_metrics(0, 2e-3)))
    assert paper_results.main([*argv, "--add", str(run), "--command", "python examples/burgers.py (one core)"]) == 0
    (run / "metrics.json").write_text(json.dumps({**fake_metrics(0, 2e-3), "adam_time_s": 40.0}))
    assert paper_results.main([*argv, "--add", str(run)]) == 0  # the same run again: replaced
    [entry] = json.loads(results.read_text())["entries"]
    assert entry["metrics"]["adam_time_s"] == 40.0
    assert entry["command"] == "python examples/burgers.py (one core)"  # kept without --command
    (run / "metrics.json").write_text(json.dumps(fake_metrics(1, 3e-3)))
    assert paper_results.main([*argv, "--add", str(run)]) == 0  # another seed: added
    assert [e["metrics"]["seed"] for e in json.loads(results.read_text())["entries"]] == [0, 1]


def test_paper_results_names_a_second_phase_other_than_the_papers():
    row = next(r for r in paper_results.ROWS if r.key == "burgers")
    metrics = fake_metrics(0, 1e-5, 4000)
    metrics["settings"]["run"].update(method="SSBFGS", adam_steps=100)
    assert paper_results.budget_label(row, metrics) == (
        "pinn's plan (Adam 100, SSBFGS maxiter 4000; the paper: Adam 0, L-BFGS-B maxiter 50000), "
        "single run")
    metrics["settings"]["run"].update(method="L-BFGS-B", adam_steps=0, lbfgs_maxiter=50000)
    assert paper_results.budget_label(row, metrics) == "the paper's budgets, single run"
    metrics["settings"]["run"].update(resample_every=2000, resample="residual")  # not the paper's points
    assert paper_results.budget_label(row, metrics) == (
        "pinn's plan (Adam 0, L-BFGS-B maxiter 50000, new residual points every 2000; the paper: "
        "Adam 0, L-BFGS-B maxiter 50000), single run")
    from pinn.resample import DEFAULT_RESAMPLE_METHOD

    metrics["settings"]["run"]["resample"] = None  # no --resample: the library's default method
    assert f"new {DEFAULT_RESAMPLE_METHOD} points every 2000" in paper_results.budget_label(row, metrics)
    metrics["settings"]["run"].update(resample_every=0, lbfgs_maxiter=6000)
    metrics["settings"].setdefault("problem", {})["dtype"] = "float32"  # not pinn's float64: said
    assert paper_results.budget_label(row, metrics) == (
        "reduced (Adam 0, L-BFGS-B maxiter 6000; the paper: 0, 50000), float32, single run")


def test_paper_results_refuses_bad_runs_and_documents(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps({**fake_metrics(0, 1e-3), "status": "failed"}))
    doc = tmp_path / "paper.md"
    doc.write_text("no markers\n")
    for argv, message in ((["--add", str(tmp_path / "none")], "expected a run folder holding metrics.json"),
                          (["--add", str(run)], "expected one of ['completed', 'stopped', 'interrupted']"),
                          ([], "lacks the markers")):
        with pytest.raises(SystemExit):
            paper_results.main(["--results", str(tmp_path / "r.json"), "--doc", str(doc), *argv])
        assert message in capsys.readouterr().err
    with pytest.raises(ValueError, match="expected 'example' to be one of"):
        paper_results.key_of({"example": "heat"})
    assert paper_results.key_of({"example": "burgers_identification", "noise": 0.01}) == \
        "burgers_identification_noisy"


def test_committed_docs_table_is_up_to_date():
    """docs/paper.md's table is what benchmarks/paper_results.py makes of the committed JSON."""
    if not (ROOT / "docs" / "paper.md").exists():
        pytest.skip("no docs/paper.md")
    assert paper_results.main(["--check"]) == 0


def test_a_run_ended_early_is_shown_with_where_it_ended(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    metrics = {**fake_metrics(0, 1e-3), "status": "interrupted", "adam_steps": 10, "lbfgs_nit": 1234}
    (run / "metrics.json").write_text(json.dumps(metrics))
    entry = paper_results.entry_from_run(run)
    assert entry["label"].endswith("interrupted after Adam 10 steps and 1234 L-BFGS-B iterations")


# ---- time_to_accuracy.py ---------------------------------------------------------------------------
def test_time_to_accuracy_reads_the_error_history():
    import time_to_accuracy as tta

    history = [{"time_s": t, "relative_l2_error": e} for t, e in
               ((1.0, 1e-1), (10.0, 5e-3), (50.0, 8e-4), (70.0, 6e-4), (130.0, 2e-4))]
    assert tta.time_to(history, 1e-2) == 10.0 and tta.time_to(history, 6.7e-4) == 70.0
    assert tta.time_to(history, 1e-5) is None
    assert tta.error_at(history, 60.0) == 8e-4 and tta.error_at(history, 120.0) == 6e-4
    assert tta.error_at(history, 300.0) is None  # the run stopped before 300 s: unknown there
    assert tta.error_at(history, 300.0, finished=True) == 2e-4  # it had finished: its lowest
    rows = tta.summarize({"x": [{"seed": 0, "relative_l2_error": 2e-4, "error_history": history},
                                {"seed": 1, "relative_l2_error": 1e-1, "error_history": history[:1]}]})
    assert rows[0]["time_to_0.01"] == [10.0, None] and rows[0]["median_time_to_0.01"] == 10.0
    assert rows[0]["error_at_300s"] == [None, None]  # no status: neither run counts as finished
    rows = tta.summarize({"x": [{"seed": 0, "status": "completed", "error_history": history},
                                {"seed": 1, "status": "stopped", "error_history": history[:1]}]})
    assert rows[0]["error_at_300s"] == [2e-4, None] and rows[0]["median_error_at_300s"] == 2e-4
    assert tta.parse_config("ssbfgs=--method SSBFGS --adam-steps 300") == (
        "ssbfgs", ["--method", "SSBFGS", "--adam-steps", "300"])
    for bad in ("no-equals", "1x=--quick", "a=--seed 3"):
        with pytest.raises(argparse.ArgumentTypeError):
            tta.parse_config(bad)


def test_time_to_accuracy_reads_another_error_key():
    """--key: the identification examples' coefficient error in percent, read from the history
    when metrics.json has no entry of that name."""
    import time_to_accuracy as tta

    history = [{"time_s": t, "lambda_error_pct": e} for t, e in ((1.0, 30.0), (20.0, 0.8), (61.0, 0.2))]
    assert tta.time_to(history, 1.0, key="lambda_error_pct") == 20.0
    assert tta.error_at(history, 60.0, key="lambda_error_pct") == 0.8
    assert tta.final_error({"error_history": history}, "lambda_error_pct") == 0.2
    assert tta.final_error({"lambda_error_pct": 0.1, "error_history": history}, "lambda_error_pct") == 0.1
    rows = tta.summarize({"x": [{"seed": 0, "error_history": history}]}, key="lambda_error_pct",
                         thresholds=(1.0, 0.1), times=(60.0,))
    assert rows[0]["time_to_1"] == [20.0] and rows[0]["time_to_0.1"] == [None]
    assert rows[0]["median_error_at_60s"] == 0.8 and rows[0]["final_error"] == [0.2]
    text = tta.markdown(rows, {"x": ["--quick"]}, "cmd",
                        {"cpu": "c", "cores": 2, "tensorflow": "t", "scipy": "s", "numpy": "n", "date": "d"},
                        key="lambda_error_pct", thresholds=(1.0, 0.1), times=(60.0,))
    assert "| x | 20 s (1/1) | - (0/1) |" in text and "| x | 8.0e-01 | 2.0e-01 |" in text


def test_time_to_accuracy_lists_every_run_with_its_best_sample():
    """The per-run table: final error (what the run keeps) beside the best sampled one and when."""
    import time_to_accuracy as tta

    history = [{"time_s": t, "relative_l2_error": e} for t, e in ((5.0, 1e-2), (200.0, 1e-5), (350.0, 5e-5))]
    assert tta.best_sample(history) == {"error": 1e-5, "time_s": 200.0}
    assert tta.best_sample([]) is None
    runs = {"defaults": [{"seed": 3, "status": "completed", "adam_steps": 200, "lbfgs_nit": 4000,
                          "training_time_s": 351.2, "relative_l2_error": 5e-5, "error_history": history}]}
    rows = tta.summarize(runs)
    assert rows[0]["best_sampled"] == [{"error": 1e-5, "time_s": 200.0}]
    text = tta.markdown(rows, {"defaults": []}, "cmd",
                        {"cpu": "c", "cores": 2, "tensorflow": "t", "scipy": "s", "numpy": "n", "date": "d"},
                        runs=runs)
    assert "| defaults | 3 | completed | 200 | 4000 | 351 s | 5.0e-05 | 1.0e-05 (200 s) |" in text


def test_time_to_accuracy_runs_the_configurations_in_turn_seed_by_seed(tmp_path, monkeypatch):
    import time_to_accuracy as tta

    order = []

    def fake_run_all(jobs, *args, **kwargs):
        order.extend((job.folder.parent.name, job.folder.name) for job in jobs)
        return [{"seed": int(job.folder.name[4:]), "relative_l2_error": 1e-3, "error_history": []} for job in jobs]

    monkeypatch.setattr(tta._runs, "run_all", fake_run_all)
    tta.main(["--config", "a=--quick", "--config", "b=--quick", "--seeds", "0", "1", "--out", str(tmp_path)])
    assert order == [("a", "seed0"), ("b", "seed0"), ("a", "seed1"), ("b", "seed1")]


def test_time_to_accuracy_includes_the_seeds_of_an_earlier_report(tmp_path, monkeypatch, capsys):
    """--include: the runs an earlier report recorded are added for the seeds not run now, with
    their histories, only where the CPU, the configuration, threads and error sampling are the same."""
    import time_to_accuracy as tta

    ran = []

    def fake_run_all(jobs, *args, **kwargs):
        ran.extend(int(job.folder.name[4:]) for job in jobs)
        return [{"seed": int(job.folder.name[4:]), "status": "completed", "relative_l2_error": 1e-3,
                 "error_history": [{"time_s": 10.0 * (1 + int(job.folder.name[4:])), "relative_l2_error": 1e-3}]}
                for job in jobs]

    monkeypatch.setattr(tta._runs, "run_all", fake_run_all)
    first = tmp_path / "first.json"
    common = ["--config", "a=--quick", "--threads", "2", "--error-every", "2", "--out", str(tmp_path / "runs")]
    tta.main([*common, "--seeds", "0", "1", "--json", str(first)])
    ran.clear()
    report = tta.main([*common, "--seeds", "1", "2", "--include", str(first), "--json", str(tmp_path / "all.json")])
    assert ran == [1, 2]  # seed 1 is run now: the earlier report's seed 1 is not taken
    assert [m["seed"] for m in report["runs"]["a"]] == [0, 1, 2]
    assert report["rows"][0]["time_to_0.01"] == [10.0, 20.0, 30.0]
    assert report["included"][0]["seeds"] == [0] and report["included"][0]["report"] == str(first)
    assert str(first) not in report["machine"]["date"]  # a date: the included report is named once, below
    text = capsys.readouterr().out
    assert f"The runs of seeds 0 come from an earlier report, `{first}`" in text
    assert json.loads(first.read_text())["command"] in text
    for adds_nothing in (["--config", "b=--quick", "--seeds", "2"], ["--config", "a=--quick", "--seeds", "0", "1"]):
        with pytest.raises(SystemExit):  # no config of that name there; every seed it has is run now
            tta.main([*adds_nothing, "--threads", "2", "--error-every", "2", "--out", str(tmp_path / "runs"),
                      "--include", str(first)])
        assert "adds no run" in capsys.readouterr().err
    for bad in (["--config", "a=--quick --n-f 2000", "--threads", "2", "--error-every", "2"],
                ["--config", "a=--quick", "--threads", "1", "--error-every", "2"],
                ["--config", "a=--quick", "--threads", "2", "--error-every", "1"]):
        with pytest.raises(SystemExit):
            tta.main([*bad, "--seeds", "2", "--out", str(tmp_path / "runs"), "--include", str(first)])
        assert "--include" in capsys.readouterr().err
    other_cpu = json.loads(first.read_text())
    other_cpu["machine"]["cpu"] = "another CPU"
    (tmp_path / "other.json").write_text(json.dumps(other_cpu))
    with pytest.raises(SystemExit):
        tta.main([*common, "--seeds", "2", "--include", str(tmp_path / "other.json")])
    assert "made on 'another CPU'" in capsys.readouterr().err
    (tmp_path / "junk.json").write_text("{}")
    with pytest.raises(SystemExit):
        tta.main([*common, "--seeds", "2", "--include", str(tmp_path / "junk.json")])
    assert "expected the JSON of an earlier time_to_accuracy.py report" in capsys.readouterr().err


def test_time_to_accuracy_reads_finished_runs_without_running_them(tmp_path, monkeypatch, capsys):
    """--run NAME=DIR: a finished run's folder is read (its metrics.json), not run; a name given
    twice collects its seeds; bad folders are refused naming the flag."""
    import time_to_accuracy as tta

    monkeypatch.setattr(tta._runs, "run_all", lambda jobs, *a, **k: [] if not jobs else pytest.fail("ran"))
    folders = {}
    for name, seed, times in (("a", 0, (5.0, 20.0)), ("a", 1, (8.0, 30.0)), ("b", 0, (2.0, 4.0))):
        folder = folders[name, seed] = tmp_path / f"{name}{seed}"
        folder.mkdir()
        history = [{"phase": "adam", "iteration": 1, "time_s": times[0], "relative_l2_error": 1e-2},
                   {"phase": "lbfgs", "iteration": 9, "time_s": times[1], "relative_l2_error": 1e-4}]
        metrics = fake_metrics(seed, 1e-4, example="schrodinger", error_history=history)
        metrics["settings"]["problem"]["dtype"] = "float32"
        (folder / "metrics.json").write_text(json.dumps(metrics))
    report = tta.main(["--example", "schrodinger", "--run", f"a={folders['a', 0]}", "--run", f"a={folders['a', 1]}",
                       "--run", f"b={folders['b', 0]}", "--thresholds", "1e-2", "1e-3", "--times", "10",
                       "--json", str(tmp_path / "r.json")])
    a, b = report["rows"]
    assert a["seeds"] == [0, 1] and a["time_to_0.001"] == [20.0, 30.0] and a["median_time_to_0.001"] == 25.0
    assert b["time_to_0.001"] == [4.0] and b["error_at_10s"] == [1e-4]
    assert f"(read from {folders['b', 0]}: " in report["configs"]["b"][0] and "--dtype float32" in report["configs"]["b"][0]
    assert json.loads((tmp_path / "r.json").read_text()) == report
    assert "| b | 2 s (1/1) | 4 s (1/1) |" in capsys.readouterr().out
    (tmp_path / "empty").mkdir()
    for bad, message in ((["--example", "burgers", "--run", f"a={folders['a', 0]}"], "a run of 'schrodinger'"),
                         (["--example", "schrodinger", "--run", f"a={tmp_path / 'empty'}"], "metrics.json"),
                         (["--example", "schrodinger", "--run", f"a={folders['a', 0]}", "--config", "a=--quick"],
                          "also a --config name"),
                         (["--example", "schrodinger"], "at least one --config")):
        with pytest.raises(SystemExit):
            tta.main(bad)
        assert message in capsys.readouterr().err
