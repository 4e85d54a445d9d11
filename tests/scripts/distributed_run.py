"""A small Burgers training run on 1 or more devices, or as one worker of several; prints JSON.

    python distributed_run.py --devices 2 [--checkpoint PATH] [--resume]
    TF_CONFIG=... python distributed_run.py --multi-worker
"""

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

parser = argparse.ArgumentParser()
parser.add_argument("--devices", type=int, default=1)
parser.add_argument("--multi-worker", action="store_true")
parser.add_argument("--n-f", type=int, default=2001)
parser.add_argument("--adam-steps", type=int, default=5)
parser.add_argument("--lbfgs-maxiter", type=int, default=20)
parser.add_argument("--checkpoint", default=None)
parser.add_argument("--resume", action="store_true")
parser.add_argument("--method", default="L-BFGS-B")
args = parser.parse_args()

if args.multi_worker:
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
else:
    from pinn.distribute import strategy_for_devices

    strategy = strategy_for_devices(args.devices)

import pinn  # noqa: E402
from pinn.equations import Burgers  # noqa: E402

domain = pinn.Interval(-1, 1, "x") * pinn.TimeInterval(0, 1, "t")
network = pinn.mlp(2, 1, [10, 10], lower=domain.lower, upper=domain.upper, dtype="float64", seed=0)
problem = pinn.Problem(
    Burgers(), network, domain.sample_interior(args.n_f, "lhs", seed=0),
    [pinn.InitialCondition("u", domain.sample_initial(37, seed=0), lambda p: -np.sin(np.pi * p[:, 0])),
     pinn.DirichletBC("u", domain.sample_boundary(23, seed=0)[0], 0.0)],
)
single = pinn.CompiledObjective(problem)
x = single.layout.flatten() + 0.01
report = {"replicas": 1 if strategy is None else int(strategy.num_replicas_in_sync)}
if strategy is not None:
    shared = pinn.CompiledObjective(problem, strategy=strategy)
    a, b = single(x), shared(x)
    report["loss_rel_diff"] = abs(a.fun - b.fun) / abs(a.fun)
    report["grad_rel_diff"] = float(np.abs(a.jac - b.jac).max() / np.abs(a.jac).max())
    single.layout.set_flat(x - 0.01)
trainer = pinn.Trainer(problem, strategy=strategy, checkpoint=args.checkpoint)
result = trainer.train(adam_steps=args.adam_steps, lbfgs_options={"maxiter": args.lbfgs_maxiter},
                       resume=args.resume, method=args.method)
report.update(final_loss=result.final_loss, status=result.status, resumed=result.resumed,
              lbfgs_nit=result.progress["lbfgs_nit"], adam_steps=result.progress["adam_steps"],
              writes_checkpoints=trainer.writes_checkpoints)
print("RESULT " + json.dumps(report), flush=True)
sys.exit(0)
