"""pinn turns on TensorFlow's pooled (BFC) CPU allocator: evaluations stop faulting memory in.

With the system malloc, each loss-and-gradient evaluation of the Burgers problem frees tens of MB
back to the kernel and faults them in again on the next call (thousands of minor page faults per
evaluation, which cost about half of a float64 XLA evaluation on our 2-core machines). The test
counts the process's minor page faults over repeated evaluations, in a fresh process, so that the
allocator is the one ``import pinn`` chose.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FAULTS_PER_EVALUATION = r"""
import json, os, resource
import numpy as np
import pinn
import tensorflow as tf
from pinn.equations import Burgers

tf.config.threading.set_intra_op_parallelism_threads(1)
domain = pinn.Box([-1.0, 0.0], [1.0, 1.0])
rng = np.random.default_rng(0)
points = domain.lower + (domain.upper - domain.lower) * rng.random((10000, 2))
data = domain.lower + (domain.upper - domain.lower) * rng.random((100, 2))
net = pinn.mlp(2, 1, [20] * 8, lower=domain.lower, upper=domain.upper, dtype="float64", seed=0)
problem = pinn.Problem(Burgers(), net, points, [pinn.Observations(data, np.zeros((100, 1)), name="data")],
                       dtype="float64")
objective = pinn.CompiledObjective(problem, jit_compile=False)
x = np.asarray(objective.layout.flatten())
for _ in range(4):
    objective(x)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    objective(x)
faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 5
print(json.dumps({"setting": os.environ.get("TF_CPU_ALLOCATOR_USE_BFC"), "faults": faults}))
"""


def faults_per_evaluation(setting: str | None) -> dict:
    env = {key: value for key, value in os.environ.items() if key != "TF_CPU_ALLOCATOR_USE_BFC"}
    env.update({"TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT)})
    if setting is not None:
        env["TF_CPU_ALLOCATOR_USE_BFC"] = setting
    run = subprocess.run([sys.executable, "-c", FAULTS_PER_EVALUATION], capture_output=True, text=True,
                         env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="minor page faults are read from getrusage on Linux")
def test_import_pinn_selects_the_pooled_allocator_and_evaluations_fault_no_memory_in():
    pooled = faults_per_evaluation(None)
    assert pooled["setting"] == "true"
    # the pool is reused: evaluations map no fresh memory for tensors. Seen: 0 to 240 faults per
    # evaluation pooled (Python's own allocations vary between machines), about 14000 with glibc's
    # malloc on the same problem
    assert pooled["faults"] < 1000, pooled


def test_a_users_own_allocator_setting_wins():
    assert faults_per_evaluation("false")["setting"] == "false"


def test_the_speed_benchmark_compares_pinn_pooled_with_the_posted_recipe_as_posted():
    """evaluation_speed.py's summary reads the two processes of a thread count: posted without XLA
    from the system allocator's, pinn with XLA from the pooled one's."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import evaluation_speed

    def run(allocator, scale):
        rows = [{"case": kind, "dtype": dtype, "xla": xla,
                 "ms_per_evaluation": scale * base * (2 if dtype == "float64" else 1) * (0.5 if xla else 1.0)}
                for kind, base in (("posted", 40.0), ("pinn-tape", 30.0), ("pinn-taylor", 20.0))
                for dtype in ("float32", "float64") for xla in (False, True)]
        return {"threads": 1, "allocator": allocator, "rows": rows}

    (row,) = evaluation_speed.across_allocators([run("pooled", 1.0), run("system", 3.0)])
    assert row["posted_system_float32_ms"] == 120.0          # system, no XLA
    assert row["pinn-tape_pooled_xla_float32_ms"] == 15.0     # pooled, XLA
    assert row["pinn-tape_speedup_float32"] == 8.0
    assert row["pinn-taylor_float64_over_float32"] == 2.0
    assert row["pinn-tape_pooled_gain_xla_float64"] == 3.0
    assert evaluation_speed.across_allocators([run("pooled", 1.0)]) == []  # one allocator: no summary
