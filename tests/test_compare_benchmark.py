"""benchmarks/compare.py: the clock, the run plan, the summaries, and each kind of case on a small
problem in this process (the full benchmark runs for hours; its results are benchmarks/compare.json)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import compare  # noqa: E402


def small_args(**changes) -> argparse.Namespace:
    """The worker's settings for a small problem (200 collocation points)."""
    values = dict(seed=0, n_f=200, error_every=0.2, jit=False, threads=0, question_dtype="float64",
                  tfp_chunk=5, budget=1.5, maxiter=50000)
    values.update(changes)
    return argparse.Namespace(**values)


# ---- pieces without TensorFlow --------------------------------------------------------------------
def test_plan_alternates_the_order_of_cases_between_repetitions():
    cases = {"accuracy": ["a", "b"], "question": ["q"]}
    runs = compare.plan(["accuracy", "question"], cases, 3)
    assert runs == [("accuracy", "a", 0), ("accuracy", "b", 0), ("question", "q", 0),
                    ("question", "q", 1), ("accuracy", "b", 1), ("accuracy", "a", 1),
                    ("accuracy", "a", 2), ("accuracy", "b", 2), ("question", "q", 2)]


def test_clock_leaves_the_error_evaluations_out_and_stops_at_the_budget():
    def slow_error(x):
        time.sleep(0.05)
        return float(x[0])

    clock = compare.Clock(slow_error, every_s=0.0, budget_s=0.2)
    iteration, spent = 0, False
    began = time.perf_counter()
    while not spent:
        iteration += 1
        time.sleep(0.01)
        spent = clock.tick(iteration, 2 * iteration, np.array([1.0 / iteration]))
    wall = time.perf_counter() - began
    records = clock.records
    assert len(records) == iteration  # every_s = 0: a sample per iteration
    assert clock.excluded >= 0.05 * iteration * 0.9
    assert records[-1]["time_s"] >= 0.2 and wall > records[-1]["time_s"] + 0.04 * iteration
    times = [r["time_s"] for r in records]
    assert times == sorted(times)
    result = clock.result(iteration, 2 * iteration, np.array([0.5]), "budget")
    # a last sample at the final weights when they are not the last sampled iterate's
    assert result["relative_l2_error"] == pytest.approx(1.0 / iteration)
    assert result["nfev"] == 2 * iteration and result["best_error"] == pytest.approx(1.0 / iteration)
    assert result["ms_per_evaluation"] == pytest.approx(1e3 * result["training_time_s"] / (2 * iteration))


def test_clock_samples_every_so_many_seconds():
    clock = compare.Clock(lambda x: 1.0, every_s=10.0, budget_s=100.0)
    for i in range(1, 20):
        assert not clock.tick(i, i, np.zeros(1))
    assert [r["iteration"] for r in clock.records] == [1]  # the first tick, then not before 10 s


def test_summaries_and_markdown():
    def history(points):
        return [{"phase": "second", "iteration": i, "time_s": t, "relative_l2_error": e, "nfev": 1 + int(100 * t)}
                for i, (t, e) in enumerate(points)]

    runs = {"fast": [{"error_history": history([(1, 1e-1), (10, 5e-4), (70, 1e-5)]), "ms_per_evaluation": 10.0,
                      "nit": 100, "best_error": 1e-5, "message": "budget"},
                     {"error_history": history([(1, 1e-1), (20, 5e-4), (70, 2e-5)]), "ms_per_evaluation": 12.0,
                      "nit": 90, "best_error": 2e-5, "message": "budget"}],
            "slow": [{"error_history": history([(1, 1e-1), (70, 5e-3)]), "ms_per_evaluation": 9.0, "nit": 50,
                      "best_error": 5e-3, "message": "budget", "lm_iterations": 7}],
            # its optimizer stopped at 30 s (e.g. float32 round-off): its training was over
            "ended": [{"error_history": history([(1, 1e-1), (30, 2e-3)]), "ms_per_evaluation": 9.0, "nit": 40,
                       "best_error": 2e-3, "message": "converged", "training_time_s": 30.0}],
            # the same history, but a run the budget stopped has a sample at or after the budget
            "cut": [{"error_history": history([(1, 1e-1), (30, 2e-3)]), "ms_per_evaluation": 9.0, "nit": 40,
                     "best_error": 2e-3, "message": "interrupted", "training_time_s": 70.0}]}
    rows = {r["case"]: r for r in compare.summarize_accuracy(runs, budget=70)}
    assert rows["fast"]["ms_per_evaluation"] == pytest.approx(10.0)  # 100 evaluations a second
    assert rows["fast"]["ms_per_evaluation_from_start"] == 11.0
    assert rows["fast"]["median_time_to_0.001"] == 15 and rows["fast"]["time_to_1e-05"] == [70, None]
    assert rows["slow"]["median_time_to_0.001"] is None
    assert rows["fast"]["median_error_at_60s"] == pytest.approx(5e-4)
    assert rows["fast"]["median_error_at_70s"] == pytest.approx(1.5e-5)
    assert rows["ended"]["median_error_at_70s"] == pytest.approx(2e-3)  # its last, not unknown
    assert rows["cut"]["median_error_at_70s"] is None
    assert compare.report_times(30) == [30.0] and compare.report_times(600) == [60.0, 600.0]
    question = compare.summarize_question({"pinn": [{"wall_s": 2.0, "nit": 300, "nfev": 330, "final_loss": 1e-3,
                                                     "message": "m"}],
                                           "eager": [{"wall_s": 9.0, "nit": 300, "nfev": 320, "final_loss": 2e-3,
                                                      "message": "m"}]})
    assert {r["case"]: r["wall_over_pinn"] for r in question} == {"pinn": 1.0, "eager": 4.5}
    report = {"command": "python benchmarks/compare.py x", "skipped": {"tfp-float64": "not installed"},
              "optional": {"tensorflow_probability": None},
              "machine": {"cpu": "Test CPU", "cores": 2, "tensorflow": "2", "scipy": "1", "numpy": "2",
                          "date": "today"},
              "settings": {"threads": 1, "jobs": 1, "seed": 0, "n_f": 10000, "budget": 70, "repetitions": 2,
                           "question_dtype": "float64"},
              "accuracy": list(rows.values()), "question": question}
    text = compare.markdown(report)
    assert "| fast | 10.0 | 95 | 15 s (2/2) | 15 s (2/2) | 15 s (2/2) | 70 s (2/2) | 70 s (1/2) |" in text
    assert "| slow | 10.0 | 50 | 70 s (1/1) | - (0/1) |" in text
    assert "of them Levenberg–Marquardt steps: slow 7." in text and "lm_iterations" not in rows["fast"]
    assert "| eager | 9.0 | 9.0 - 9.0 | 4.50 | 300 | 320 | 2.000e-03 |" in text
    assert "Skipped: tfp-float64 (not installed)" in text


@pytest.mark.parametrize("argv, words", [
    (["--repetitions", "3"], "--repetitions >= 5"),
    (["--cases", "pinn-Adam"], "unknown accuracy case"),
    (["--budget", "0"], "must be positive"),
])
def test_bad_flags_are_refused_before_any_run(argv, words, capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        compare.main(argv + ["--out", str(tmp_path)])
    assert exit_info.value.code == 2 and words in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


# ---- the cases, small, in this process --------------------------------------------------------------
def test_posted_and_pinn_lbfgsb_take_the_same_first_step():
    """Same problem, same start, same L-BFGS-B options: the first iterate's error agrees, so the
    benchmark compares implementations, not problems."""
    # an iteration limit, not a time budget: the clock counts tracing, which a busy machine makes long
    posted = compare.run_scipy_posted(small_args(), "float64", "function", budget_s=600.0, maxiter=5)
    ours = compare.run_pinn(small_args(), "L-BFGS-B", budget_s=600.0, maxiter=5)
    for result in (posted, ours):
        history = result["error_history"]
        assert history[0]["iteration"] == 1 and history[-1]["iteration"] == result["nit"] == 5
        assert all(np.isfinite(r["relative_l2_error"]) for r in history)
    assert ours["error_history"][0]["relative_l2_error"] == pytest.approx(
        posted["error_history"][0]["relative_l2_error"], rel=1e-6)


def test_a_quasi_newton_case_runs_to_its_iteration_limit():
    result = compare.run_pinn(small_args(), "SSBFGS", budget_s=600.0, maxiter=15)
    assert result["nit"] == 15 and result["error_history"][-1]["iteration"] == 15
    assert result["best_error"] < result["error_history"][0]["relative_l2_error"] * 1.5


def test_question_cases_run_the_same_iterations(monkeypatch):
    monkeypatch.setattr(compare, "QUESTION_ITERATIONS", 20)
    rows = {case: compare.run_question(small_args(), case) for case in ("eager", "tf.function", "pinn")}
    for row in rows.values():
        assert row["nit"] == 20 and row["wall_s"] > 0
    # the same problem from the same start: the same loss after 20 iterations, up to round-off
    assert rows["eager"]["final_loss"] == pytest.approx(rows["tf.function"]["final_loss"], rel=1e-6)
    assert rows["pinn"]["final_loss"] == pytest.approx(rows["tf.function"]["final_loss"], rel=1e-3)


def test_tfp_case_when_installed():
    pytest.importorskip("tensorflow_probability")
    result = compare.run_tfp(small_args(), "float64", budget_s=600.0, maxiter=10, chunk=5)
    assert result["nit"] == 10 and [r["iteration"] for r in result["error_history"]] == [5, 10]


def test_main_reuses_finished_runs(tmp_path):
    """One accuracy case, one repetition, through the subprocess runner; a second call reuses it."""
    argv = ["--part", "accuracy", "--cases", "posted-float64", "--repetitions", "1", "--allow-few",
            "--budget", "1", "--n-f", "100", "--threads", "1", "--out", str(tmp_path / "runs"),
            "--json", str(tmp_path / "c.json"), "--md", str(tmp_path / "c.md")]
    report = compare.main(argv)
    assert report["accuracy"][0]["case"] == "posted-float64" and report["question"] is None
    run = tmp_path / "runs" / "accuracy" / "posted-float64" / "rep0.json"
    stamp = run.stat().st_mtime_ns
    again = compare.main(argv)
    assert run.stat().st_mtime_ns == stamp
    assert again["accuracy"][0]["final_error"] == report["accuracy"][0]["final_error"]
    assert json.loads((tmp_path / "c.json").read_text())["accuracy"][0]["repetitions"] == 1
    assert "posted-float64" in (tmp_path / "c.md").read_text()


def test_deepxde_case_when_installed(tmp_path):
    """DeepXDE's L-BFGS is TensorFlow Probability's with the same options: on the same problem from
    the same start, the two runs agree to round-off. Through the runner: each case in its own
    process, as the benchmark runs them (DeepXDE sets global Keras state)."""
    pytest.importorskip("deepxde")
    pytest.importorskip("tensorflow_probability")
    report = compare.main(["--part", "question", "--question-cases", "tfp", "deepxde", "--question-iterations",
                           "20", "--repetitions", "1", "--allow-few", "--n-f", "200", "--threads", "1",
                           "--out", str(tmp_path / "runs")])
    rows = {r["case"]: r for r in report["question"]}
    assert rows["deepxde"]["nit"] == rows["tfp"]["nit"] == 20 and rows["deepxde"]["nfev"] is None
    assert rows["deepxde"]["final_loss"] == pytest.approx(rows["tfp"]["final_loss"], rel=1e-8)
    assert "20 L-BFGS iterations" in report["markdown"]
