"""Size and cost of a dense quasi-Newton state in the checkpoint, and whether compression helps.

On the Burgers network [2, 20 x 8, 1] (n = 3021 weights) this runs a short SSBFGS phase (so that
the inverse-Hessian estimate is a real one, full of full-precision values, not the identity), then
measures, in one run:

    checkpoint        the checkpoint file pinn writes (save_checkpoint: the upper triangle of H
                      stored uncompressed, plus weights, history...): bytes, write and load seconds
                      (best of --repeats), and the same checkpoint without the quasi-Newton state;
    layouts           the matrix alone in an in-memory HDF5 file: the full n x n matrix, the packed
                      upper triangle, and the packed triangle with gzip (levels 1, 4, 9) and with
                      shuffle + gzip 4: bytes and write seconds of each.

    python benchmarks/quasi_newton_checkpoint.py [--iterations 100] [--repeats 3] [--out FILE]

Writes benchmarks/quasi_newton_checkpoint.json (or --out). The figures are of a single run.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pinn  # noqa: E402
from pinn.checkpoint import load_checkpoint, pack_upper, save_checkpoint  # noqa: E402


def best_time(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def hdf5_bytes(data: np.ndarray, **options) -> tuple[int, float]:
    """Bytes of an in-memory HDF5 file holding ``data`` as one dataset, and the write time."""
    buffer = io.BytesIO()
    start = time.perf_counter()
    with h5py.File(buffer, "w") as f:
        f.create_dataset("H", data=data, **options)
    return len(buffer.getvalue()), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=100, help="SSBFGS iterations first")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "quasi_newton_checkpoint.json"))
    args = parser.parse_args()

    from examples import burgers

    settings = burgers.build_parser().parse_settings(["--n-f", "2000"])  # n depends on the network only
    setup = burgers.build(settings)
    trainer = pinn.Trainer(setup.problem, jit_compile=True)
    start = time.perf_counter()
    trainer.train(adam_steps=0, method="SSBFGS", lbfgs_options={"maxiter": args.iterations})
    train_s = time.perf_counter() - start
    state = trainer.quasi_newton_state
    n = state.size
    H = state.state()["H"]
    packed = pack_upper(H)

    report: dict = {
        "machine": platform.processor() or platform.machine(), "python": platform.python_version(),
        "h5py": h5py.__version__, "hdf5": h5py.version.hdf5_version, "single_run": True,
        "n": n, "ssbfgs_iterations": state.iteration, "ssbfgs_updates": state.updates,
        "train_s": train_s, "matrix_bytes_in_memory": int(8 * n * n),
        "command": "python benchmarks/quasi_newton_checkpoint.py "
                   f"--iterations {args.iterations} --repeats {args.repeats}",
    }
    with tempfile.TemporaryDirectory() as folder:
        with_state = Path(folder) / "with.h5"
        without = Path(folder) / "without.h5"
        checkpoint = trainer.state()
        report["checkpoint_write_s"] = best_time(lambda: save_checkpoint(with_state, checkpoint),
                                                 args.repeats)
        report["checkpoint_load_s"] = best_time(lambda: load_checkpoint(with_state), args.repeats)
        report["checkpoint_bytes"] = with_state.stat().st_size
        import dataclasses

        save_checkpoint(without, dataclasses.replace(checkpoint, quasi_newton=None))
        report["checkpoint_bytes_without_state"] = without.stat().st_size
        restored = load_checkpoint(with_state).quasi_newton
        report["restored_H_equal"] = bool(np.array_equal(restored["H"], H))

    layouts = {
        "full matrix": (H, {}),
        "upper triangle (pinn)": (packed, {}),
        "upper triangle, gzip 1": (packed, {"compression": "gzip", "compression_opts": 1}),
        "upper triangle, gzip 4": (packed, {"compression": "gzip", "compression_opts": 4}),
        "upper triangle, gzip 9": (packed, {"compression": "gzip", "compression_opts": 9}),
        "upper triangle, shuffle + gzip 4": (packed, {"compression": "gzip", "compression_opts": 4,
                                                      "shuffle": True}),
    }
    report["layouts"] = {}
    for name, (data, options) in layouts.items():
        size, seconds = hdf5_bytes(data, **options)
        report["layouts"][name] = {"bytes": size, "write_s": seconds,
                                   "relative_to_pinn": None}
    base = report["layouts"]["upper triangle (pinn)"]["bytes"]
    for entry in report["layouts"].values():
        entry["relative_to_pinn"] = entry["bytes"] / base
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
