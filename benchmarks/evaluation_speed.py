"""Per-evaluation time of pinn against the approach posted most often online, Burgers, same run.

The problem is the PINN paper's continuous-time Burgers inference setup: N_u = 100 data points
(drawn from the 456 initial/boundary grid points), N_f = 10000 LHS collocation points, the
[2, 20 x 8, 1] tanh network; loss = mean((u - u_data)^2) + mean(f^2), f = u_t + u u_x - nu u_xx.
One *evaluation* is what SciPy's L-BFGS-B calls per step: a float64 vector in, the loss and its
float64 gradient out. Cases, each in float32 and float64, each with and without XLA:

* ``posted``: the approach posted most often (Keras ``Sequential`` with a scaling ``Lambda``
  layer, a function factory mapping the flat vector to the weights with
  ``tf.dynamic_partition`` / ``tf.dynamic_stitch``, ``tf.function``, nested ``GradientTape``\\ s
  for u_x, u_t, u_xx), written out below; with XLA, the loss and gradient are compiled and the
  partition/stitch stays outside (XLA cannot compile ``dynamic_partition``'s data-dependent shapes);
* ``pinn-tape``: ``pinn.CompiledObjective(pinn.Problem(..., derivatives="tape"))``;
* ``pinn-taylor``: the same with ``derivatives="taylor"`` (forward Taylor propagation).

All cases start from the same weights (copied into the Sequential model), and the report gives
each case's loss relative to the posted float64 one (the same problem: they agree to round-off).
Timing: every repetition calls each case ``--calls`` times in a row, the cases in turn and their
order reversed every other repetition, so that all cases see the same machine load (this machine
is shared); per case the median over ``--repetitions`` of the time per call. Ratios are against
``posted`` float32 without XLA (as posted), and float64 / float32 for pinn. Each thread count
(``--threads``, default 1 and 2) runs in its own subprocess, since TensorFlow fixes its thread
pools when it starts.

    python benchmarks/evaluation_speed.py [--threads 1 2] [--repetitions 5] [--calls 10]
        [--json benchmarks/evaluation_speed.json]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CASES = [(kind, dtype, xla) for dtype in ("float32", "float64") for kind in ("posted", "pinn-tape", "pinn-taylor")
         for xla in (False, True)]
NU = 0.01 / 3.141592653589793


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def data(seed: int = 0):
    """The paper's Burgers training data: (X_u (100, 2), u (100, 1), X_f (10000, 2)), float64."""
    import numpy as np
    import pinn

    domain = pinn.Interval(-1, 1, "x") * pinn.TimeInterval(0, 0.99, "t")
    x, t = np.linspace(-1, 1, 256), np.linspace(0, 0.99, 100)
    edges = np.concatenate([np.c_[x, np.zeros_like(x)], np.c_[-np.ones_like(t), t], np.c_[np.ones_like(t), t]])
    values = np.where(edges[:, 1] == 0, -np.sin(np.pi * edges[:, 0]), 0.0)
    pick = np.random.default_rng(seed).choice(len(edges), 100, replace=False)
    return domain, edges[pick], values[pick, None], domain.sample_interior(10000, "lhs", seed=seed)


# -- (a) the approach posted most often ----------------------------------------------------------
def posted_objective(weights, dtype: str, xla: bool, lower, upper, X_u, u_data, X_f):
    """The posted recipe: Sequential model, dynamic_partition/dynamic_stitch function factory,
    tf.function, nested tapes; returns ``f(x float64) -> (loss float, gradient float64)``."""
    import keras
    import numpy as np
    import tensorflow as tf

    lb, ub = np.asarray(lower, dtype), np.asarray(upper, dtype)
    model = keras.Sequential([keras.Input((2,), dtype=dtype),
                              keras.layers.Lambda(lambda X: 2.0 * (X - lb) / (ub - lb) - 1.0, dtype=dtype)]
                             + [keras.layers.Dense(20, activation="tanh", dtype=dtype) for _ in range(8)]
                             + [keras.layers.Dense(1, dtype=dtype)])
    model.set_weights(weights)
    X_u, u_data = tf.constant(X_u, dtype), tf.constant(u_data, dtype)
    x_f, t_f = tf.constant(X_f[:, :1], dtype), tf.constant(X_f[:, 1:], dtype)

    def loss():
        with tf.GradientTape(persistent=True) as outer:
            outer.watch(x_f)
            with tf.GradientTape(persistent=True) as inner:
                inner.watch([x_f, t_f])
                u = model(tf.concat([x_f, t_f], axis=1))
            u_x, u_t = inner.gradient(u, x_f), inner.gradient(u, t_f)
        u_xx = outer.gradient(u_x, x_f)
        f = u_t + u * u_x - NU * u_xx
        return tf.reduce_mean(tf.square(model(X_u) - u_data)) + tf.reduce_mean(tf.square(f))

    shapes = tf.shape_n(model.trainable_variables)
    n_tensors, count, idx, part = len(shapes), 0, [], []
    for i, shape in enumerate(shapes):
        n = int(np.prod(shape))
        idx.append(tf.reshape(tf.range(count, count + n, dtype=tf.int32), shape))
        part.extend([i] * n)
        count += n
    part = tf.constant(part)

    def assign_new_model_parameters(params_1d):
        params = tf.dynamic_partition(params_1d, part, n_tensors)
        for i, (shape, param) in enumerate(zip(shapes, params)):
            model.trainable_variables[i].assign(tf.reshape(param, shape))

    if not xla:
        @tf.function
        def f(params_1d):
            with tf.GradientTape() as tape:
                assign_new_model_parameters(params_1d)
                loss_value = loss()
            grads = tape.gradient(loss_value, model.trainable_variables)
            return loss_value, tf.dynamic_stitch(idx, grads)
    else:  # XLA cannot compile dynamic_partition (data-dependent shapes): compile the rest
        @tf.function(jit_compile=True)
        def loss_and_gradients():
            with tf.GradientTape() as tape:
                loss_value = loss()
            return loss_value, tape.gradient(loss_value, model.trainable_variables)

        @tf.function
        def f(params_1d):
            assign_new_model_parameters(params_1d)
            loss_value, grads = loss_and_gradients()
            return loss_value, tf.dynamic_stitch(idx, grads)

    def scipy_function(x):
        value, gradient = f(tf.constant(x, dtype))
        return float(value.numpy()), gradient.numpy().astype(np.float64)

    x0 = tf.dynamic_stitch(idx, [tf.cast(v, tf.float64) for v in model.trainable_variables]).numpy()
    return scipy_function, x0


# -- (b), (c) pinn ----------------------------------------------------------------------------------
def pinn_objective(weights, dtype: str, xla: bool, derivatives: str, domain, X_u, u_data, X_f):
    import numpy as np
    import pinn
    from pinn.equations import Burgers

    network = pinn.mlp(2, 1, [20] * 8, lower=domain.lower, upper=domain.upper, dtype=dtype, seed=0)
    network.set_weights(weights)
    problem = pinn.Problem(Burgers(), network, X_f, [pinn.Observations(X_u, u_data, name="data")],
                           dtype=dtype, derivatives=derivatives)
    objective = pinn.CompiledObjective(problem, jit_compile=xla)

    def scipy_function(x):
        evaluation = objective(x)
        return evaluation.fun, evaluation.jac

    return scipy_function, np.asarray(objective.layout.flatten(), dtype=np.float64)


def worker(args: argparse.Namespace) -> dict:
    """One thread count: build every case, then time them in turn."""
    import numpy as np
    import scipy
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import pinn

    domain, X_u, u_data, X_f = data()
    reference = pinn.mlp(2, 1, [20] * 8, lower=domain.lower, upper=domain.upper, dtype="float64", seed=0)
    weights64 = reference.get_weights()
    functions, start = {}, {}
    for kind, dtype, xla in CASES:
        weights = [w.astype(dtype) for w in weights64]
        if kind == "posted":
            function, x0 = posted_objective(weights, dtype, xla, domain.lower, domain.upper, X_u, u_data, X_f)
        else:
            function, x0 = pinn_objective(weights, dtype, xla, kind.split("-")[1], domain, X_u, u_data, X_f)
        function(x0)  # trace and compile
        functions[(kind, dtype, xla)], start[(kind, dtype, xla)] = function, x0
    # the same problem: every case's loss at the start, against posted float64
    reference_loss = functions[("posted", "float64", False)](start[("posted", "float64", False)])[0]
    losses = {case: functions[case](start[case])[0] for case in CASES}
    samples: dict = {case: [] for case in CASES}
    order = list(CASES)
    load_before = os.getloadavg()
    began = time.perf_counter()
    for repetition in range(args.repetitions):
        for case in (order if repetition % 2 == 0 else order[::-1]):
            function, x0 = functions[case], start[case]
            tick = time.perf_counter()
            for _ in range(args.calls):
                function(x0)
            samples[case].append((time.perf_counter() - tick) / args.calls)
    rows = []
    for kind, dtype, xla in CASES:
        times = samples[(kind, dtype, xla)]
        rows.append({"case": kind, "dtype": dtype, "xla": xla, "threads": args.threads,
                     "ms_per_evaluation": 1e3 * statistics.median(times),
                     "ms_samples": [1e3 * t for t in times],
                     "loss": losses[(kind, dtype, xla)],
                     "loss_relative_to_posted_float64": abs(losses[(kind, dtype, xla)] - reference_loss)
                     / abs(reference_loss)})
    base = next(r["ms_per_evaluation"] for r in rows if (r["case"], r["dtype"], r["xla"]) == ("posted", "float32", False))
    for row in rows:
        row["speedup_vs_posted_float32"] = base / row["ms_per_evaluation"]
        if row["dtype"] == "float64":
            f32 = next(r for r in rows if (r["case"], r["dtype"], r["xla"]) == (row["case"], "float32", row["xla"]))
            row["float64_over_float32"] = row["ms_per_evaluation"] / f32["ms_per_evaluation"]
    return {"threads": args.threads, "rows": rows, "timing_seconds": time.perf_counter() - began,
            "load_average_before": load_before, "load_average_after": os.getloadavg(),
            "versions": {"tensorflow": tf.__version__, "scipy": scipy.__version__, "numpy": np.__version__,
                         "python": platform.python_version()}}


def markdown(report: dict) -> str:
    lines = ["| threads | case | XLA | float32 ms | float64 ms | speed-up vs posted float32 (f32 / f64) | float64 / float32 |",
             "|---|---|---|---|---|---|---|"]
    for run in report["runs"]:
        rows = {(r["case"], r["dtype"], r["xla"]): r for r in run["rows"]}
        for kind in ("posted", "pinn-tape", "pinn-taylor"):
            for xla in (False, True):
                a, b = rows[(kind, "float32", xla)], rows[(kind, "float64", xla)]
                lines.append(f"| {run['threads']} | {kind} | {'yes' if xla else 'no'} | "
                             f"{a['ms_per_evaluation']:.1f} | {b['ms_per_evaluation']:.1f} | "
                             f"{a['speedup_vs_posted_float32']:.2f} / {b['speedup_vs_posted_float32']:.2f} | "
                             f"{b['float64_over_float32']:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts (default 1 2)")
    parser.add_argument("--repetitions", type=int, default=5, help="timed repetitions per case (default 5)")
    parser.add_argument("--calls", type=int, default=10, help="calls per case per repetition (default 10)")
    parser.add_argument("--json", default=None, help="also write the report to this file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repetitions < 5 or args.calls < 1 or any(t < 1 for t in args.threads):
        parser.error("--repetitions must be >= 5, --calls and --threads positive")
    if args.worker:
        args.threads = args.threads[0]
        print(json.dumps(worker(args)))
        return {}
    runs = []
    for threads in args.threads:
        command = [sys.executable, os.path.abspath(__file__), "--worker", "--threads", str(threads),
                   "--repetitions", str(args.repetitions), "--calls", str(args.calls)]
        print(f"threads {threads}: {' '.join(command[1:])}", file=sys.stderr, flush=True)
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    report = {
        "benchmark": "Burgers (N_u 100, N_f 10000, [2, 20 x 8, 1]): time per loss-and-gradient evaluation",
        "runs": runs,
        "settings": {"threads": args.threads, "repetitions": args.repetitions, "calls": args.calls},
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "platform": platform.platform()},
        "versions": runs[0]["versions"] if runs else {},
        "date": datetime.date.today().isoformat(),
        "note": "one run on a shared machine; load averages before/after timing are in each run",
    }
    report["markdown"] = markdown(report)
    print(report["markdown"])
    if args.json:
        with open(args.json, "w") as file:
            json.dump(report, file, indent=2)
    return report


if __name__ == "__main__":
    main()
