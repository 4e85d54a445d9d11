"""How close the project's own reference data and Runge–Kutta weights are to the PINN paper's files.

For each of data/burgers_shock.h5, NLS.h5, AC.h5, KdV.h5: the relative L2 and the max abs
difference from the paper's .mat file of the same grid; for q = 50, 81, 100: the max abs difference
of pinn.irk_weights(q) from the paper's Butcher_IRK{q}.txt. Writes JSON.

    python benchmarks/reference_agreement.py --paper-data DIR [--json FILE]

DIR holds the paper's burgers_shock.mat, NLS.mat, AC.mat, KdV.mat and Butcher_IRK*.txt.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import scipy.io

import pinn
from pinn.data import load_reference

PAIRS = {"burgers_shock": ("burgers_shock.h5", "usol", "usol"), "NLS": ("NLS.h5", "uu", "uu"),
         "AC": ("AC.h5", "uu", "uu"), "KdV": ("KdV.h5", "uu", "uu")}


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paper-data", type=Path, required=True)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    data = Path(pinn.data.__file__).resolve().parents[1] / "data"
    report: dict = {"data": {}, "irk": {}, "date": time.strftime("%Y-%m-%d")}
    for name, (ours, key, theirs) in PAIRS.items():
        mine = np.asarray(load_reference(data / ours)[key])
        paper = np.asarray(scipy.io.loadmat(args.paper_data / f"{name}.mat")[theirs])
        diff = mine - paper
        report["data"][name] = {"relative_l2": float(np.linalg.norm(diff) / np.linalg.norm(paper)),
                                "max_abs": float(np.abs(diff).max())}
    for q in (50, 81, 100):
        flat = np.loadtxt(args.paper_data / f"Butcher_IRK{q}.txt", ndmin=2).ravel()
        weights, _ = pinn.irk_weights(q)
        report["irk"][str(q)] = float(np.abs(weights.ravel() - flat[:q * q + q]).max())
    print(json.dumps(report, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
