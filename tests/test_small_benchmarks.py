"""benchmarks/derivatives_eval.py and benchmarks/lbfgsb_cost.py at toy sizes: they run, agree with
themselves, and write the JSON and Markdown their README sections are pasted from."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import derivatives_eval  # noqa: E402
import lbfgsb_cost  # noqa: E402


def test_derivatives_eval_times_both_paths_on_the_same_problem(tmp_path):
    argv = ["--examples", "kdv_identification", "--repetitions", "1", "--calls", "1", "--no-jit",
            "--json", str(tmp_path / "r.json"), "--md", str(tmp_path / "r.md"), "--flags", "--quick"]
    report = derivatives_eval.main(argv)
    assert json.loads((tmp_path / "r.json").read_text()) == report
    assert report["command"] == "python benchmarks/derivatives_eval.py " + " ".join(argv)
    (row,) = report["results"]
    assert row["example"] == "kdv_identification" and set(row["ms"]) == {"tape", "taylor"}
    assert all(ms > 0 for ms in row["ms"].values())
    assert row["loss_relative_difference"] < 1e-12 and row["gradient_relative_difference"] < 1e-10
    assert row["tape_over_taylor"] == pytest.approx(row["ms"]["tape"] / row["ms"]["taylor"])
    md = (tmp_path / "r.md").read_text()
    assert report["command"] in md and "| kdv_identification |" in md


def test_lbfgsb_cost_reports_every_size_and_maxcor(tmp_path):
    argv = ["--sizes", "50", "300", "--maxcor", "3", "10", "--iterations", "12", "--repetitions", "2",
            "--json", str(tmp_path / "c.json"), "--md", str(tmp_path / "c.md")]
    report = lbfgsb_cost.main(argv)
    assert json.loads((tmp_path / "c.json").read_text()) == report
    assert [row["n"] for row in report["results"]] == [50, 300]
    for row in report["results"]:
        assert set(row["ms"]) == {"3", "10"} and all(len(v) == 2 for v in row["ms_all"].values())
        assert all(ms > 0 for ms in row["ms"].values())
    assert "| 300 |" in (tmp_path / "c.md").read_text()


def test_lbfgsb_cost_refuses_bad_flags(capsys):
    with pytest.raises(SystemExit) as stopped:
        lbfgsb_cost.main(["--maxcor", "0"])
    assert stopped.value.code == 2 and "--maxcor" in capsys.readouterr().err
