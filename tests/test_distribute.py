"""Data parallelism with tf.distribute: 2 logical CPU devices and 2 worker processes on localhost.

Each case runs tests/scripts/distributed_run.py in fresh processes (logical devices and
TF_CONFIG must be set before TensorFlow starts).
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parent / "scripts" / "distributed_run.py"


def run(*flags, env=None, timeout=400):
    done = subprocess.run([sys.executable, str(SCRIPT), *flags], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})
    assert done.returncode == 0, done.stderr[-3000:]
    return result_of(done.stdout)


def result_of(stdout):
    line = next(line for line in stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def test_two_devices_give_the_single_device_loss_gradient_and_training(tmp_path):
    one = run("--devices", "1")
    two = run("--devices", "2", "--checkpoint", str(tmp_path / "c.h5"))
    assert two["replicas"] == 2
    # 2001 collocation points: uneven shards (1000 and 1001 rows)
    assert two["loss_rel_diff"] <= 1e-10 and two["grad_rel_diff"] <= 1e-10
    assert two["lbfgs_nit"] == one["lbfgs_nit"] == 20
    assert abs(two["final_loss"] - one["final_loss"]) <= 1e-6 * abs(one["final_loss"])
    # the 2-device checkpoint resumes on 1 device: a larger budget goes on from it
    more = run("--devices", "1", "--checkpoint", str(tmp_path / "c.h5"), "--resume",
               "--lbfgs-maxiter", "30")
    assert more["resumed"] and more["lbfgs_nit"] == 30 and more["final_loss"] <= two["final_loss"]


def test_a_dense_quasi_newton_phase_on_two_devices_follows_one_device():
    flags = ("--method", "SSBFGS", "--n-f", "600", "--lbfgs-maxiter", "10")
    one, two = run("--devices", "1", *flags), run("--devices", "2", *flags)
    assert two["replicas"] == 2 and two["lbfgs_nit"] == one["lbfgs_nit"] == 10
    assert abs(two["final_loss"] - one["final_loss"]) <= 1e-6 * abs(one["final_loss"])


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_worker_processes_train_to_the_single_process_result(tmp_path):
    one = run("--devices", "1", "--n-f", "600", "--lbfgs-maxiter", "15")
    workers = [f"127.0.0.1:{p}" for p in free_ports(2)]
    processes = []
    try:
        for index in range(2):
            config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
            processes.append(subprocess.Popen(
                [sys.executable, str(SCRIPT), "--multi-worker", "--n-f", "600", "--lbfgs-maxiter", "15",
                 "--checkpoint", str(tmp_path / f"c{index}.h5")],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                env={**os.environ, "TF_CONFIG": json.dumps(config)}))
        outputs = [p.communicate(timeout=400) for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.wait()
    for p, (out, err) in zip(processes, outputs):
        assert p.returncode == 0, err[-3000:]
    chief, other = (result_of(out) for out, _ in outputs)
    assert chief["replicas"] == other["replicas"] == 2
    assert chief["loss_rel_diff"] <= 1e-10 and chief["grad_rel_diff"] <= 1e-10
    assert chief["final_loss"] == other["final_loss"]  # every worker saw the same vector
    assert abs(chief["final_loss"] - one["final_loss"]) <= 1e-6 * abs(one["final_loss"])
    assert chief["writes_checkpoints"] and not other["writes_checkpoints"]
    assert (tmp_path / "c0.h5").is_file() and not (tmp_path / "c1.h5").exists()
    assert all(p.poll() is not None for p in processes)  # no process left behind


def test_pinn_solve_takes_devices(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "pinn.cli", "solve", "burgers", "--quick", "--no-jit", "--devices", "2",
         "--adam-steps", "10", "--lbfgs-maxiter", "10", "--n-f", "201", "--widths", "2",
         "--verbose", "0", "--out", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["settings"]["run"]["devices"] == 2
