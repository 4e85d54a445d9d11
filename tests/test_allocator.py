"""pinn turns on TensorFlow's pooled (BFC) CPU allocator: evaluations stop faulting memory in.

With the system malloc, each loss-and-gradient evaluation of the Burgers problem frees tens of MB
back to the kernel and faults them in again on the next call (thousands of minor page faults per
evaluation: ``benchmarks/allocator_faults.py``, whose measuring process this test runs). The test
counts the process's minor page faults over repeated evaluations, in a fresh process, so that the
allocator is the one ``import pinn`` chose.
"""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

sys.path.insert(0, str(ROOT / "benchmarks"))
from allocator_faults import faults_per_evaluation  # noqa: E402  (one measuring script: the benchmark's)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="minor page faults are read from getrusage on Linux")
def test_import_pinn_selects_the_pooled_allocator_and_evaluations_fault_no_memory_in():
    pooled = faults_per_evaluation(None)
    assert pooled["setting"] == "true"
    # the pool is reused: evaluations map no fresh memory for tensors (figures for both allocators:
    # benchmarks/allocator_faults.json; Python's own allocations vary between machines)
    assert pooled["faults"] < 1000, pooled


def test_a_users_own_allocator_setting_wins():
    assert faults_per_evaluation("false")["setting"] == "false"


def test_the_speed_benchmark_compares_pinn_pooled_with_the_posted_recipe_as_posted():
    """evaluation_speed.py's summary reads the two processes of a thread count: posted without XLA
    from the system allocator's, pinn with XLA from the pooled one's."""
    import evaluation_speed

    def run(allocator, scale):
        rows = [{"case": kind, "dtype": dtype, "xla": xla,
                 "ms_per_evaluation": scale * base * (2 if dtype == "float64" else 1) * (0.5 if xla else 1.0)}
                for kind, base in (("posted", 40.0), ("pinn-tape", 30.0), ("pinn-taylor", 20.0),
                                   ("pinn-taylor-chunks", 10.0))
                for dtype in ("float32", "float64") for xla in (False, True)]
        return {"threads": 1, "allocator": allocator, "rows": rows}

    (row,) = evaluation_speed.across_allocators([run("pooled", 1.0), run("system", 3.0)])
    assert row["posted_system_float32_ms"] == 120.0          # system, no XLA
    assert row["pinn-tape_pooled_xla_float32_ms"] == 15.0     # pooled, XLA
    assert row["pinn-tape_speedup_float32"] == 8.0
    assert row["pinn-taylor_float64_over_float32"] == 2.0
    assert row["pinn-tape_pooled_gain_xla_float64"] == 3.0
    assert row["pinn-taylor-chunks_speedup_float32"] == 24.0  # 120 / (10 * 0.5)
    assert evaluation_speed.across_allocators([run("pooled", 1.0)]) == []  # one allocator: no summary
