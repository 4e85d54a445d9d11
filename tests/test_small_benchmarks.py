"""benchmarks/derivatives_eval.py, lbfgsb_cost.py, overhead.py, allocator_faults.py, chunk_size.py, float64_kernels.py and
quasi_newton_update.py at toy sizes: they run, agree with
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


def test_chunk_size_times_each_size_against_no_chunks(tmp_path):
    import chunk_size

    argv = ["--threads", "1", "--dtypes", "float64", "--chunk-sizes", "0", "4000", "--repetitions", "5",
            "--calls", "1", "--json", str(tmp_path / "r.json"), "--md", str(tmp_path / "r.md")]
    report = chunk_size.main(argv)
    assert json.loads((tmp_path / "r.json").read_text()) == report
    assert report["command"] == "python benchmarks/chunk_size.py " + " ".join(argv)
    (run,) = report["runs"]
    assert (run["threads"], run["dtype"]) == (1, "float64")
    whole, chunked = run["rows"]
    assert (whole["chunk_size"], whole["pieces"], chunked["chunk_size"], chunked["pieces"]) == (None, 1, 4000, 3)
    assert whole["speedup_vs_no_chunks"] == 1.0 and chunked["loss_relative_to_no_chunks"] < 1e-12
    assert chunked["speedup_vs_no_chunks"] == pytest.approx(whole["ms_per_evaluation"] / chunked["ms_per_evaluation"])
    md = (tmp_path / "r.md").read_text()
    assert report["command"] in md and "| 1 | float64 | 4000 (3) |" in md


def test_chunk_size_times_an_examples_own_problem(tmp_path):
    import chunk_size

    argv = ["--example", "burgers", "--threads", "1", "--dtypes", "float64", "--chunk-sizes", "0", "400",
            "--repetitions", "5", "--calls", "1", "--md", str(tmp_path / "r.md"), "--flags", "--quick"]
    report = chunk_size.main(argv)
    assert report["settings"]["example"] == "burgers" and report["settings"]["flags"] == ["--quick"]
    whole, chunked = report["runs"][0]["rows"]
    # --quick: 1000 collocation points plus the 456 grid points, so 400-row chunks make 4 pieces
    assert (whole["pieces"], chunked["chunk_size"], chunked["pieces"]) == (1, 400, 4)
    assert chunked["loss_relative_to_no_chunks"] < 1e-12
    assert "the burgers example's problem (--quick)" in (tmp_path / "r.md").read_text()


def test_chunk_size_refuses_an_unknown_example_and_flags_without_one(capsys):
    import chunk_size

    for argv, words in ((["--example", "heat"], "argument --example: invalid choice: 'heat'"),
                        (["--flags", "--quick"], "--flags: the example's flags need --example")):
        with pytest.raises(SystemExit):
            chunk_size.main(argv)
        assert words in capsys.readouterr().err


def test_float64_kernels_times_each_kernel_in_both_dtypes(tmp_path):
    import float64_kernels

    argv = ["--threads", "1", "--width", "4", "--points", "300", "--depth", "2", "--repetitions", "5", "--calls", "1",
            "--json", str(tmp_path / "r.json"), "--md", str(tmp_path / "r.md")]
    report = float64_kernels.main(argv)
    assert json.loads((tmp_path / "r.json").read_text()) == report
    assert report["command"] == "python benchmarks/float64_kernels.py " + " ".join(argv)
    (run,) = report["runs"]
    assert run["threads"] == 1 and [row["kernel"] for row in run["rows"]] == list(float64_kernels.KERNELS)
    for row in run["rows"]:
        assert all(len(row["ms_samples"][dtype]) == 5 for dtype in ("float32", "float64"))
        assert row["float64_over_float32"] == pytest.approx(row["ms"]["float64"] / row["ms"]["float32"])
    md = (tmp_path / "r.md").read_text()
    assert report["command"] in md and "| 1 | matmul, NumPy |" in md


def test_float64_kernels_refuses_bad_flags(capsys):
    import float64_kernels

    with pytest.raises(SystemExit) as stopped:
        float64_kernels.main(["--points", "0"])
    assert stopped.value.code == 2 and "--points" in capsys.readouterr().err


def test_quasi_newton_update_times_the_chosen_size_and_backends(tmp_path):
    import quasi_newton_update

    report = quasi_newton_update.main(["--n", "40", "--backends", "numpy", "--no-references",
                                       "--repeats", "2", "--out", str(tmp_path / "r.json")])
    assert json.loads((tmp_path / "r.json").read_text()) == report
    assert report["n"] == 40 and report["backends"] == ["numpy"] and report["faster_backend"] == "numpy"
    assert "references_blas_1_thread" not in report
    for threads in ("ms_blas_1_thread", "ms_blas_all_threads"):
        assert set(report[threads]) == {"step_SSBroyden2", "step_BFGS-dense", "matvec", "rank2"}
        assert all(set(row) == {"numpy"} and row["numpy"] > 0 for row in report[threads].values())
    report = quasi_newton_update.main(["--n", "40", "--repeats", "3", "--no-scipy",
                                       "--out", str(tmp_path / "r.json")])
    assert set(report["ms_blas_1_thread"]["matvec"]) == {"numpy", "tensorflow"}
    assert set(report["references_blas_1_thread"]) == {"numpy_full_outer_products_ms"}
    with pytest.raises(SystemExit):
        quasi_newton_update.main(["--n", "1"])


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


def test_overhead_reports_each_problem_and_mode(tmp_path):
    import overhead

    argv = ["--repeats", "1", "--maxiter", "3", "--n-f", "64",  # (--threads: only in a fresh process)
            "--json", str(tmp_path / "o.json"), "--md", str(tmp_path / "o.md")]
    report = overhead.main(argv)
    assert json.loads((tmp_path / "o.json").read_text()) == report
    assert [(p["n_f"], p["jit"]) for p in report["problems"]] == [(64, False), (64, True)]
    for p in report["problems"]:
        assert p["ratio_bare_median"] > 0 and p["bare_call_ms"] > 0 and p["floor_ratio"] > 1
    md = (tmp_path / "o.md").read_text()
    assert report["command"] in md and "| N_f 64, tf.function |" in md and "| N_f 64, XLA |" in md


def test_allocator_faults_markdown_gives_the_system_share():
    import allocator_faults

    report = {"command": "python benchmarks/allocator_faults.py", "calls": 2, "threads": 1,
              "machine": {"date": "d", "cpu": "c", "cores": 2, "tensorflow": "2"},
              "results": [{"allocator": "system", "dtype": "float64", "xla": True, "faults": 900.4,
                           "user_ms": 60.0, "system_ms": 40.0}]}
    assert "| system | float64 | yes | 900 | 60.0 | 40.0 | 40% |" in allocator_faults.markdown(report)
