"""pinn against the alternatives on the Burgers problem, same run: time to accuracy, and the
original question's 300 iterations.

The problem is the PINN paper's Burgers inference setup (``_posted.py``: N_u 100, N_f 10000,
[2, 20 x 8, 1], no Adam phase, as the paper), every case starting from the same weights (``pinn.mlp``
with ``--seed``). Each run is one process (TensorFlow fixes its thread pools at start) and writes
its JSON to ``OUT/PART/CASE/repN.json``; finished runs are reused (``--fresh`` redoes them), so a
long benchmark can be stopped and resumed. Repetitions take turns: repetition k runs every case
before repetition k+1 starts, the case order reversed every other repetition, so slow spells of a
shared machine fall on all cases alike.

Part ``accuracy`` (``--budget`` seconds of training per run, ``--repetitions`` runs per case):

* ``posted-float32``, ``posted-float64``: the approach posted most often (``_posted.posted``, under
  ``tf.function``) driving ``scipy.optimize.minimize(method="L-BFGS-B")`` with pinn's L-BFGS-B
  options (:data:`pinn.LBFGS_DEFAULTS`, the paper's), so that only the implementation differs;
* ``tfp-float64``: TensorFlow Probability's ``lbfgs_minimize`` on the posted loss (50 correction
  pairs, as L-BFGS-B's ``maxcor``), compiled with ``tf.function``, run in pieces of
  ``--tfp-chunk`` iterations that continue one another (``previous_optimizer_results``) so that
  its error can be sampled; skipped when ``tensorflow_probability`` is not installed;
* ``pinn-L-BFGS-B``, ``pinn-SSBFGS``, ``pinn-SSBroyden2``, ``pinn-SSBroyden1``, ``pinn-BFGS-dense``:
  ``pinn.Trainer(problem, jit_compile=--jit).train(adam_steps=0, method=...)`` (float64);
* ``levenberg-marquardt``: a Levenberg–Marquardt (damped Gauss–Newton) phase over pinn's residual
  vector with its Jacobian (``_levenberg_marquardt.py``; not a pinn optimizer: measured to decide),
  from the start; ``ssbfgs-then-lm``: pinn's SSBFGS for ``--lm-after`` seconds, then
  Levenberg–Marquardt from its best weights. Their "evaluations" count residual vectors and
  Jacobians alike (a Jacobian costs about four loss-and-gradient evaluations, an iteration about
  twenty: its ``J^T J`` is most of it).

Every ``--error-every`` seconds of training the relative L2 error against the exact solution on
the 256 x 100 grid is sampled, its own cost left out of the clock; the clock starts when the
optimizer is called, so tracing and compiling count, as for a user. Per case: ms per evaluation
(training time between the first and the last error sample / the loss-and-gradient evaluations
made in it: the optimizer's own work included, tracing and compiling left out), the median
time to 1e-2, 1e-3, 6.7e-4, 1e-4, 1e-5 over the repetitions that reached it (k/n), and the median
error reached by 60 s and by the end of the budget (a run whose optimizer stopped by itself
before then, e.g. on float32 round-off, counts with the lowest error it sampled).

Part ``question`` (the comparison of the question most often asked about SciPy's L-BFGS-B in
TensorFlow 2): 300 L-BFGS iterations each of the posted function run ``eager``, under
``tf.function`` and with ``xla``, of ``tfp`` (one compiled ``lbfgs_minimize`` call), of ``deepxde``
(DeepXDE's TensorFlow 2 backend on the same points, network and start: its L-BFGS is one TFP call
with the same options, so it runs the ``tfp`` case's iterations; skipped when ``deepxde`` is not
installed) and of ``pinn`` (``pinn.minimize``, XLA), in ``--question-dtype`` (float64 by default):
wall time of the whole call (tracing included), iterations, evaluations and the final loss, median
over ``--repetitions``, and each runtime over pinn's. DeepXDE is not in the accuracy part: its
L-BFGS returns only when the whole TFP call ends (no callback per iteration), so its error cannot
be sampled along the way; its iterations are the ``tfp-float64`` case's.

    python benchmarks/compare.py [--part accuracy question] [--budget 600] [--repetitions 5]
        [--cases CASE ...] [--lm-after 60] [--jobs 1] [--threads 2] [--out runs/compare]
        [--json benchmarks/compare.json] [--md benchmarks/compare.md]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import shlex
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _posted  # noqa: E402  (the problem and the posted recipe)
import _runs  # noqa: E402  (run_once, machine_info)
from _levenberg_marquardt import ResidualJacobian, levenberg_marquardt  # noqa: E402
from time_to_accuracy import KEY, THRESHOLDS, error_at, time_to  # noqa: E402

PARTS = ("accuracy", "question")
ACCURACY_CASES = ("posted-float32", "posted-float64", "tfp-float64", "pinn-L-BFGS-B", "pinn-SSBFGS",
                  "pinn-SSBroyden2", "pinn-SSBroyden1", "pinn-BFGS-dense", "levenberg-marquardt",
                  "ssbfgs-then-lm")
QUESTION_CASES = ("eager", "tf.function", "xla", "tfp", "deepxde", "pinn")
OPTIONAL = {"tfp-float64": "tensorflow_probability", "tfp": "tensorflow_probability", "deepxde": "deepxde"}
QUESTION_ITERATIONS = 300
#: TensorFlow Probability's L-BFGS options in every case that runs it (DeepXDE's are set from them):
#: L-BFGS-B's maxcor 50 and maxls 50, gtol 1e-10, no x or f tolerance.
TFP_OPTIONS = dict(num_correction_pairs=50, tolerance=1e-10, x_tolerance=0.0, f_relative_tolerance=0.0,
                   max_line_search_iterations=50)


# -- the clock shared by every case ------------------------------------------------------------------
class Clock:
    """Training time with the error evaluations left out; samples the error every ``every_s`` s.

    ``tick(iteration, nfev, x)`` is called once per optimizer iteration with the flat float64
    weights (n,); it samples when ``every_s`` seconds of training have passed since the last sample
    (and at the first tick), and returns True once ``budget_s`` seconds of training are spent.
    ``records`` are ``{"phase", "iteration", "time_s", "relative_l2_error", "nfev"}`` (the format of
    the examples' ``error_history``).
    """

    def __init__(self, error_of: Callable[[np.ndarray], float], every_s: float, budget_s: float) -> None:
        self.error_of, self.every_s, self.budget_s = error_of, every_s, budget_s
        self.records: list[dict[str, Any]] = []
        self.start = time.perf_counter()
        self.excluded = 0.0
        self.nfev = 0

    def elapsed(self) -> float:
        return time.perf_counter() - self.start - self.excluded

    def sample(self, iteration: int, nfev: int, x: np.ndarray) -> None:
        now = self.elapsed()
        begin = time.perf_counter()
        error = float(self.error_of(np.asarray(x, dtype=np.float64)))
        self.excluded += time.perf_counter() - begin
        self.records.append({"phase": "second", "iteration": int(iteration), "time_s": now, KEY: error,
                             "nfev": int(nfev)})

    def tick(self, iteration: int, nfev: int, x: np.ndarray) -> bool:
        now = self.elapsed()
        self.nfev = int(nfev)
        if not self.records or now - self.records[-1]["time_s"] >= self.every_s or now >= self.budget_s:
            self.sample(iteration, nfev, x)
        return now >= self.budget_s

    def result(self, iteration: int, nfev: int, x: np.ndarray, message: str) -> dict[str, Any]:
        """Close the run: a last sample at the final weights unless the last one is of them."""
        if not self.records or self.records[-1]["iteration"] != iteration:
            self.sample(iteration, nfev, x)
        training = self.elapsed()
        return {"error_history": self.records, "training_time_s": training, "nit": int(iteration),
                "nfev": int(nfev), "ms_per_evaluation": 1e3 * training / max(nfev, 1),
                KEY: self.records[-1][KEY], "best_error": min(r[KEY] for r in self.records),
                "message": message}


# -- the cases (run in the worker process) ----------------------------------------------------------
def _setup(args: argparse.Namespace):
    import pinn

    domain, X_u, u_data, X_f = _posted.data(args.seed, args.n_f)
    start = pinn.mlp(2, 1, [20] * 8, lower=domain.lower, upper=domain.upper, dtype="float64",
                     seed=args.seed).get_weights()
    points, exact = _posted.reference()
    return domain, X_u, u_data, X_f, start, points, exact


def _relative_error(predict: Callable[[np.ndarray], np.ndarray], points, exact) -> float:
    # not pinn.relative_l2_error, which refuses NaN: a diverged run is recorded here, not stopped
    return float(np.linalg.norm(predict(points) - exact) / np.linalg.norm(exact))


def _posted_recipe(args, dtype: str, mode: str):
    domain, X_u, u_data, X_f, start, points, exact = _setup(args)
    recipe = _posted.posted([w.astype(dtype) for w in start], dtype, mode, domain.lower, domain.upper,
                            X_u, u_data, X_f)

    def error_of(x):
        recipe.set_flat(x)
        return _relative_error(recipe.predict, points, exact)

    return recipe, error_of


def run_scipy_posted(args, dtype: str, mode: str, budget_s: float, maxiter: int) -> dict[str, Any]:
    """The posted recipe driving SciPy's L-BFGS-B with pinn's (the paper's) options."""
    import scipy.optimize
    from pinn import LBFGS_DEFAULTS

    recipe, error_of = _posted_recipe(args, dtype, mode)
    count = {"nfev": 0, "nit": 0}

    def fun(x):
        count["nfev"] += 1
        return recipe.function(x)

    clock = Clock(error_of, args.error_every, budget_s)

    def callback(intermediate_result):
        count["nit"] += 1
        if clock.tick(count["nit"], count["nfev"], intermediate_result.x):
            raise StopIteration  # SciPy >= 1.11 ends the run and returns its last iterate

    clock.start = time.perf_counter()
    options = {**LBFGS_DEFAULTS, "maxiter": maxiter, "maxfun": max(maxiter, LBFGS_DEFAULTS["maxfun"])}
    result = scipy.optimize.minimize(fun, recipe.x0, jac=True, method="L-BFGS-B", options=options,
                                     callback=callback)
    out = clock.result(count["nit"], count["nfev"], result.x, str(result.message))
    out["final_loss"] = float(result.fun)
    return out


def run_tfp(args, dtype: str, budget_s: float, maxiter: int, chunk: int) -> dict[str, Any]:
    """TensorFlow Probability's L-BFGS on the posted loss, in pieces of ``chunk`` iterations."""
    import tensorflow as tf
    import tensorflow_probability as tfp

    recipe, error_of = _posted_recipe(args, dtype, "function")
    options = TFP_OPTIONS

    @tf.function
    def first(x, limit):
        return tfp.optimizer.lbfgs_minimize(recipe.tf_function, initial_position=x, max_iterations=limit,
                                            **options)

    @tf.function
    def more(previous, limit):
        return tfp.optimizer.lbfgs_minimize(recipe.tf_function, initial_position=None,
                                            previous_optimizer_results=previous, max_iterations=limit, **options)

    clock = Clock(error_of, args.error_every, budget_s)
    results, limit = None, 0
    while True:
        limit = min(limit + chunk, maxiter)
        if results is None:
            results = first(tf.constant(recipe.x0, dtype), tf.constant(limit))
        else:
            results = more(results, tf.constant(limit))
        nit, nfev = int(results.num_iterations), int(results.num_objective_evaluations)
        spent = clock.tick(nit, nfev, results.position.numpy())
        if spent or bool(results.converged) or bool(results.failed) or nit < limit or nit >= maxiter:
            break
    message = ("converged" if bool(results.converged) else "failed (line search)" if bool(results.failed)
               else "budget" if spent else "maxiter")
    out = clock.result(nit, nfev, results.position.numpy(), message)
    out["final_loss"] = float(results.objective_value)
    return out


def _pinn_problem(args, dtype: str):
    import pinn
    from pinn.equations import Burgers

    domain, X_u, u_data, X_f, start, points, exact = _setup(args)
    network = pinn.mlp(2, 1, [20] * 8, lower=domain.lower, upper=domain.upper, dtype=dtype, seed=args.seed)
    network.set_weights([w.astype(dtype) for w in start])
    problem = pinn.Problem(Burgers(), network, X_f, [pinn.Observations(X_u, u_data, name="data")], dtype=dtype)
    return problem, network, points, exact


def _pinn_error(layout, network, points, exact) -> Callable[[np.ndarray], float]:
    """The error of the pinn network at the flat weights ``x`` (it sets them)."""
    def error_of(x):
        layout.set_flat(x)
        return _relative_error(lambda p: np.asarray(network(p), dtype=np.float64), points, exact)

    return error_of


def _ticking(clock: Clock, last: dict[str, Any], stop_at_s: float = math.inf):
    """A pinn.Callback that ticks ``clock`` every iteration, keeps the iteration, evaluations and
    iterate in ``last``, and stops training when the budget is spent or after ``stop_at_s``
    seconds of training."""
    import pinn

    class Ticking(pinn.Callback):
        def on_iteration_end(self, iteration, logs):
            last.update(nit=int(iteration), nfev=int(logs["nfev"]), x=np.array(logs["x"]))
            if clock.tick(iteration, logs["nfev"], logs["x"]) or clock.elapsed() >= stop_at_s:
                self.stop_training = True

    return Ticking()


def run_pinn(args, method: str, budget_s: float, maxiter: int) -> dict[str, Any]:
    """pinn's Trainer, second phase only, with ``method``."""
    import pinn

    problem, network, points, exact = _pinn_problem(args, "float64")
    trainer = pinn.Trainer(problem, jit_compile=args.jit)
    clock = Clock(_pinn_error(trainer.layout, network, points, exact), args.error_every, budget_s)
    last: dict[str, Any] = {"nit": 0, "nfev": 0, "x": None}
    clock.start = time.perf_counter()
    result = trainer.train(adam_steps=0, method=method, lbfgs_options={"maxiter": maxiter},
                           callbacks=[_ticking(clock, last)])
    phase = result.lbfgs
    x = last["x"] if last["x"] is not None else trainer.layout.flatten()
    out = clock.result(last["nit"], last["nfev"], x, f"{phase.status}: {phase.message}")
    out["final_loss"] = float(result.final_loss)
    return out


def run_levenberg_marquardt(args, budget_s: float, maxiter: int, after_s: float) -> dict[str, Any]:
    """Levenberg–Marquardt over pinn's residual vector (``_levenberg_marquardt``), from the start
    (``after_s`` 0) or after ``after_s`` seconds of training with pinn's SSBFGS, from its best
    weights. BLAS threads: ``--threads`` (its ``J^T J`` is most of an iteration)."""
    import pinn
    from threadpoolctl import threadpool_limits

    problem, network, points, exact = _pinn_problem(args, "float64")
    clock_start = time.perf_counter()
    residuals = ResidualJacobian(problem, jit_compile=args.jit)
    clock = Clock(_pinn_error(residuals.layout, network, points, exact), args.error_every, budget_s)
    clock.start = clock_start
    done: dict[str, Any] = {"nit": 0, "nfev": 0}
    if after_s > 0:
        trainer = pinn.Trainer(problem, jit_compile=args.jit)
        trainer.train(adam_steps=0, method="SSBFGS", lbfgs_options={"maxiter": maxiter},
                      callbacks=[_ticking(clock, done, stop_at_s=after_s)])
    x0 = residuals.layout.flatten()  # the best weights so far (the Trainer restores them)
    with threadpool_limits(limits=args.threads or None, user_api="blas"):
        result = levenberg_marquardt(
            residuals.residual, residuals.jacobian, x0, maxiter=maxiter,
            tick=lambda it, nfev, x: clock.tick(done["nit"] + it, done["nfev"] + nfev, x))
    out = clock.result(done["nit"] + result["nit"], done["nfev"] + result["nfev"], result["x"],
                       f"{result['message']} ({result['rejected']} rejected steps)")
    out["final_loss"] = float(result["loss"])
    out["lm_iterations"] = int(result["nit"])
    return out


def run_question(args, case: str) -> dict[str, Any]:
    """One case of the original question's comparison: 300 iterations, whole-call wall time."""
    dtype, n = args.question_dtype, getattr(args, "question_iterations", QUESTION_ITERATIONS)
    if case in ("eager", "tf.function", "xla"):
        mode = {"eager": "eager", "tf.function": "function", "xla": "xla"}[case]
        import scipy.optimize
        from pinn import LBFGS_DEFAULTS

        recipe, _ = _posted_recipe(args, dtype, mode)
        begin = time.perf_counter()
        result = scipy.optimize.minimize(recipe.function, recipe.x0, jac=True, method="L-BFGS-B",
                                         options={**LBFGS_DEFAULTS, "maxiter": n})
        wall = time.perf_counter() - begin
        return {"wall_s": wall, "nit": int(result.nit), "nfev": int(result.nfev), "final_loss": float(result.fun),
                "message": str(result.message)}
    if case == "tfp":
        import tensorflow as tf
        import tensorflow_probability as tfp

        recipe, _ = _posted_recipe(args, dtype, "function")
        run = tf.function(lambda x: tfp.optimizer.lbfgs_minimize(
            recipe.tf_function, initial_position=x, max_iterations=n, **TFP_OPTIONS))
        begin = time.perf_counter()
        results = run(tf.constant(recipe.x0, dtype))
        final = float(results.objective_value)
        wall = time.perf_counter() - begin
        return {"wall_s": wall, "nit": int(results.num_iterations),
                "nfev": int(results.num_objective_evaluations), "final_loss": final,
                "message": "converged" if bool(results.converged) else "failed" if bool(results.failed)
                else "maxiter"}
    if case == "deepxde":
        return run_deepxde_question(args, dtype, n)
    import pinn

    problem, _, _, _ = _pinn_problem(args, dtype)
    begin = time.perf_counter()
    result = pinn.minimize(problem, options={"maxiter": n}, jit_compile=True)
    wall = time.perf_counter() - begin
    return {"wall_s": wall, "nit": int(result.nit), "nfev": int(result.nfev), "final_loss": float(result.fun),
            "message": str(result.message)}


def run_deepxde_question(args, dtype: str, iterations: int) -> dict[str, Any]:
    """DeepXDE (TensorFlow 2 backend) on the same problem: the same collocation points (anchors),
    the same 100 data points (a PointSetBC), the same network and start (its FNN with the same
    input scaling, our weights copied in), its L-BFGS (one TensorFlow Probability call) with the
    paper's options where it has them (maxcor 50, maxls 50, ftol 0, gtol 1e-10)."""
    os.environ["DDE_BACKEND"] = "tensorflow"
    import deepxde as dde
    import tensorflow as tf

    import keras

    dde.config.set_default_float(dtype)
    keras.config.set_floatx(dtype)  # DeepXDE's FNN takes Keras' float type (another import may have set it)
    domain, X_u, u_data, X_f, start, _, _ = _setup(args)
    geometry = dde.geometry.GeometryXTime(dde.geometry.Interval(-1.0, 1.0), dde.geometry.TimeDomain(0.0, 0.99))

    def pde(x, u):
        u_x = dde.grad.jacobian(u, x, i=0, j=0)
        u_t = dde.grad.jacobian(u, x, i=0, j=1)
        u_xx = dde.grad.hessian(u, x, i=0, j=0)
        return u_t + u * u_x - _posted.NU * u_xx

    data = dde.data.PDE(geometry, pde, [dde.icbc.PointSetBC(X_u, u_data)], num_domain=0, num_boundary=0,
                        anchors=X_f)
    net = dde.nn.FNN([2] + [20] * 8 + [1], "tanh", "Glorot normal")
    lower, upper = np.asarray(domain.lower, dtype), np.asarray(domain.upper, dtype)
    net.apply_feature_transform(lambda X: 2.0 * (X - lower) / (upper - lower) - 1.0)
    net(tf.zeros((1, 2), dtype))  # build, then copy our starting weights in
    for layer, kernel, bias in zip(net.denses, start[0::2], start[1::2]):
        layer.set_weights([kernel.astype(dtype), bias.astype(dtype)])
    model = dde.Model(data, net)
    dde.optimizers.set_LBFGS_options(maxcor=TFP_OPTIONS["num_correction_pairs"],
                                     ftol=TFP_OPTIONS["f_relative_tolerance"], gtol=TFP_OPTIONS["tolerance"],
                                     maxiter=iterations, maxls=TFP_OPTIONS["max_line_search_iterations"])
    model.compile("L-BFGS")
    begin = time.perf_counter()
    _, state = model.train(display_every=iterations, verbose=0)
    wall = time.perf_counter() - begin
    return {"wall_s": wall, "nit": int(state.step), "nfev": None,
            "final_loss": float(np.sum(state.loss_train)), "message": "deepxde L-BFGS"}


def worker(args: argparse.Namespace) -> dict[str, Any]:
    import pinn  # noqa: F401  (first: every case, DeepXDE's too, runs with the pooled CPU allocator it selects)
    import tensorflow as tf

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    case = args.case
    if args.part == "question":
        return run_question(args, case)
    if case.startswith("posted-"):
        return run_scipy_posted(args, case.split("-", 1)[1], "function", args.budget, args.maxiter)
    if case == "tfp-float64":
        return run_tfp(args, "float64", args.budget, args.maxiter, args.tfp_chunk)
    if case in ("levenberg-marquardt", "ssbfgs-then-lm"):
        return run_levenberg_marquardt(args, args.budget, args.maxiter,
                                       args.lm_after if case == "ssbfgs-then-lm" else 0.0)
    return run_pinn(args, case.split("-", 1)[1], args.budget, args.maxiter)


# -- the parent: runs, reuse, report ------------------------------------------------------------------
def run_file(out: Path, part: str, case: str, repetition: int) -> Path:
    return out / part / case.replace(".", "_") / f"rep{repetition}.json"


def plan(parts: Sequence[str], cases: Mapping[str, Sequence[str]], repetitions: int) -> list[tuple[str, str, int]]:
    """The runs in order: for each repetition every case of every part, the order reversed every
    other repetition."""
    order = [(part, case) for part in parts for case in cases[part]]
    runs = []
    for repetition in range(repetitions):
        runs += [(part, case, repetition) for part, case in (order if repetition % 2 == 0 else order[::-1])]
    return runs


def report_times(budget: float) -> list[float]:
    """The training times whose errors the report gives: 60 s (when within the budget) and the budget."""
    return sorted({t for t in (60.0, float(budget)) if t <= budget})


def steady_ms_per_evaluation(history: Sequence[Mapping[str, Any]]) -> float:
    """Milliseconds of training per evaluation between a run's first and last error samples: the
    steady cost, the optimizer's own work included and tracing/compiling (before the first sample)
    left out."""
    first, last = history[0], history[-1]
    if last["nfev"] <= first["nfev"]:
        return math.nan
    return 1e3 * (last["time_s"] - first["time_s"]) / (last["nfev"] - first["nfev"])


def summarize_accuracy(results: Mapping[str, list[dict[str, Any]]], budget: float) -> list[dict[str, Any]]:
    """Per case: medians over its repetitions (see the module docstring)."""
    rows = []
    for case, runs in results.items():
        histories = [r["error_history"] for r in runs]
        row: dict[str, Any] = {"case": case, "repetitions": len(runs),
                               "ms_per_evaluation": statistics.median(steady_ms_per_evaluation(h) for h in histories),
                               "ms_per_evaluation_from_start": statistics.median(r["ms_per_evaluation"] for r in runs),
                               "nit": statistics.median(r["nit"] for r in runs),
                               "final_error": statistics.median(r["best_error"] for r in runs),
                               **({"lm_iterations": statistics.median(r["lm_iterations"] for r in runs)}
                                  if all("lm_iterations" in r for r in runs) else {}),
                               "messages": sorted({r["message"] for r in runs})}
        for threshold in THRESHOLDS:
            times = [time_to(h, threshold) for h in histories]
            reached = [t for t in times if t is not None]
            row[f"time_to_{threshold:g}"] = times
            row[f"median_time_to_{threshold:g}"] = statistics.median(reached) if reached else None
        # a run that ended before the budget (its optimizer stopped: converged, or float32
        # round-off) had finished its training; its error by a later time is its last
        ended = [r.get("training_time_s") is not None and r["training_time_s"] < budget for r in runs]
        for seconds in report_times(budget):
            errors = [error_at(h, seconds, finished=done) for h, done in zip(histories, ended)]
            known = [e for e in errors if e is not None]
            row[f"median_error_at_{seconds:g}s"] = statistics.median(known) if known else None
        rows.append(row)
    return rows


def _median_known(values) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def summarize_question(results: Mapping[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    rows = [{"case": case, "repetitions": len(runs), "wall_s": statistics.median(r["wall_s"] for r in runs),
             "wall_s_min": min(r["wall_s"] for r in runs), "wall_s_max": max(r["wall_s"] for r in runs),
             "nit": statistics.median(r["nit"] for r in runs), "nfev": _median_known(r["nfev"] for r in runs),
             "final_loss": statistics.median(r["final_loss"] for r in runs),
             "messages": sorted({r["message"] for r in runs})} for case, runs in results.items()]
    pinn = next((r["wall_s"] for r in rows if r["case"] == "pinn"), None)
    for row in rows:
        row["wall_over_pinn"] = row["wall_s"] / pinn if pinn else None
    return rows


def markdown(report: Mapping[str, Any]) -> str:
    machine, settings = report["machine"], report["settings"]
    lines = ["Generated by `benchmarks/compare.py` with:", "", f"    {report['command']}", "",
             f"Machine: {machine['cpu']}, {machine['cores']} cores; TensorFlow {machine['tensorflow']}, "
             f"SciPy {machine['scipy']}, NumPy {machine['numpy']}, TensorFlow Probability "
             f"{report['optional'].get('tensorflow_probability') or 'not installed'}; {machine['date']}. "
             f"{settings['threads'] or 'default'} TensorFlow threads per run, {settings['jobs']} run(s) at a "
             f"time; seed {settings['seed']} (the same start for every case), N_f {settings['n_f']}.", ""]
    if report["skipped"]:
        lines += [f"Skipped: {', '.join(f'{c} ({why})' for c, why in report['skipped'].items())}.", ""]

    def fmt(value, spec):
        return "-" if value is None else format(value, spec)

    if report.get("accuracy"):
        budget = settings["budget"]
        times = report_times(budget)
        lines += [f"Time to accuracy: {settings['repetitions']} repetitions of {budget:g} s of training per "
                  "case; median seconds to each relative L2 error over the repetitions that reached it "
                  "(reached / runs); median error (best so far) by 60 s and by the end:", "",
                  "| case | ms / evaluation | iterations | " + " | ".join(f"{t:g}" for t in THRESHOLDS) + " | "
                  + " | ".join(f"error at {s:g} s" for s in times) + " |",
                  "|---|---|---|" + "---|" * (len(THRESHOLDS) + len(times))]
        for row in report["accuracy"]:
            cells = []
            for threshold in THRESHOLDS:
                ts = row[f"time_to_{threshold:g}"]
                reached = [t for t in ts if t is not None]
                cells.append(f"{statistics.median(reached):.0f} s ({len(reached)}/{len(ts)})" if reached
                             else f"- (0/{len(ts)})")
            lines.append(f"| {row['case']} | {row['ms_per_evaluation']:.1f} | {row['nit']:g} | " + " | ".join(cells)
                         + " | " + " | ".join(fmt(row[f'median_error_at_{s:g}s'], '.1e') for s in times) + " |")
        lines.append("")
        lm = [f"{row['case']} {row['lm_iterations']:g}" for row in report["accuracy"] if "lm_iterations" in row]
        if lm:
            lines += [f"Iterations: median over the repetitions (of the whole run); of them Levenberg–Marquardt "
                      f"steps: {', '.join(lm)}.", ""]
    if report.get("question"):
        lines += [f"The original question's comparison: {settings.get('question_iterations', QUESTION_ITERATIONS)} "
                  "L-BFGS iterations, "
                  f"{settings['question_dtype']}, wall time of the whole call (tracing and compiling "
                  f"included), median of {settings['repetitions']} (min - max):", "",
                  "| case | wall s | min - max | / pinn | iterations | evaluations | final loss |",
                  "|---|---|---|---|---|---|---|"]
        for row in report["question"]:
            lines.append(f"| {row['case']} | {row['wall_s']:.1f} | {row['wall_s_min']:.1f} - {row['wall_s_max']:.1f} | "
                         f"{fmt(row['wall_over_pinn'], '.2f')} | {row['nit']:g} | {fmt(row['nfev'], 'g')} | "
                         f"{row['final_loss']:.3e} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--cases", nargs="+", default=None,
                        help=f"accuracy cases (default all: {' '.join(ACCURACY_CASES)})")
    parser.add_argument("--question-cases", nargs="+", default=None,
                        help=f"question cases (default all: {' '.join(QUESTION_CASES)})")
    parser.add_argument("--budget", type=float, default=600.0, help="seconds of training per run (default 600)")
    parser.add_argument("--maxiter", type=int, default=50000, help="iteration limit per run (default 50000)")
    parser.add_argument("--repetitions", type=int, default=5, help="runs per case (default 5, at least 5)")
    parser.add_argument("--error-every", type=float, default=2.0, help="seconds between error samples (default 2)")
    parser.add_argument("--tfp-chunk", type=int, default=25, help="TFP iterations between error samples")
    parser.add_argument("--lm-after", type=float, default=60.0,
                        help="ssbfgs-then-lm: seconds of SSBFGS before Levenberg-Marquardt (default 60)")
    parser.add_argument("--question-dtype", choices=("float32", "float64"), default="float64")
    parser.add_argument("--question-iterations", type=int, default=QUESTION_ITERATIONS,
                        help=f"iterations of the question part (default {QUESTION_ITERATIONS}, the question's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-f", type=int, default=10000, help="collocation points (default 10000, the paper's)")
    parser.add_argument("--jit", action=argparse.BooleanOptionalAction, default=True,
                        help="pinn cases with XLA (default on, as the examples)")
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow threads per run (0: TF's choice)")
    parser.add_argument("--jobs", type=int, default=1, help="runs at a time (default 1)")
    parser.add_argument("--out", default="runs/compare")
    parser.add_argument("--fresh", action="store_true", help="redo finished runs")
    parser.add_argument("--json", default=None)
    parser.add_argument("--md", default=None)
    parser.add_argument("--allow-few", action="store_true", help=argparse.SUPPRESS)  # tests: < 5 repetitions
    parser.add_argument("--worker", nargs=3, metavar=("PART", "CASE", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if (args.budget <= 0 or args.maxiter < 1 or args.error_every <= 0 or args.tfp_chunk < 1 or args.n_f < 1
            or args.question_iterations < 1):
        parser.error("--budget, --maxiter, --error-every, --tfp-chunk, --n-f and --question-iterations must be "
                     "positive")
    if args.lm_after < 0:
        parser.error("--lm-after must be >= 0")
    if args.repetitions < (1 if args.allow_few else 5) or args.jobs < 1 or args.threads < 0:
        parser.error("expected --repetitions >= 5, --jobs >= 1, --threads >= 0")
    cases = {"accuracy": tuple(args.cases or ACCURACY_CASES), "question": tuple(args.question_cases or QUESTION_CASES)}
    for part, known in (("accuracy", ACCURACY_CASES), ("question", QUESTION_CASES)):
        unknown = sorted(set(cases[part]) - set(known))
        if unknown:
            parser.error(f"unknown {part} case(s) {unknown}; choose from {list(known)}")
    if args.worker:
        args.part, args.case, path = args.worker
        result = {"part": args.part, "case": args.case, **worker(args)}
        Path(path).write_text(json.dumps(result) + "\n")
        return result

    optional = {module: _runs.package_version(module.replace("_", "-")) if importlib.util.find_spec(module)
                else None for module in sorted(set(OPTIONAL.values()))}
    skipped = {case: f"{OPTIONAL[case]} not installed" for part in args.part for case in cases[part]
               if case in OPTIONAL and optional[OPTIONAL[case]] is None}
    cases = {part: [c for c in cases[part] if c not in skipped] for part in PARTS}
    out = Path(args.out)
    shared = ["--seed", str(args.seed), "--n-f", str(args.n_f), "--threads", str(args.threads),
              "--budget", f"{args.budget:g}", "--maxiter", str(args.maxiter), "--error-every", f"{args.error_every:g}",
              "--tfp-chunk", str(args.tfp_chunk), "--lm-after", f"{args.lm_after:g}",
              "--question-dtype", args.question_dtype,
              *(["--question-iterations", str(args.question_iterations)]
                if args.question_iterations != QUESTION_ITERATIONS else []),
              "--jit" if args.jit else "--no-jit"]
    runs = plan(args.part, cases, args.repetitions)

    def one(run: tuple[str, str, int]) -> dict[str, Any]:
        part, case, repetition = run
        path = run_file(out, part, case, repetition)

        def written() -> dict[str, Any] | None:
            return json.loads(path.read_text()) if path.exists() else None

        line = [sys.executable, os.path.abspath(__file__), *shared, "--worker", part, case, str(path)]
        result, reused = _runs.run_once(line, flags=shared, flags_file=path.with_suffix(".flags.json"),
                                        log=path.with_suffix(".log"), result=written, fresh=args.fresh,
                                        clear=lambda: path.unlink(missing_ok=True))
        if not reused:
            print(f"{part} {case} rep {repetition}: " + (
                f"{result['wall_s']:.1f} s, loss {result['final_loss']:.3e}" if part == "question" else
                f"error {result[KEY]:.2e} after {result['training_time_s']:.0f} s, "
                f"{result['ms_per_evaluation']:.1f} ms/eval"), flush=True)
        return result

    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(one, runs))
    grouped: dict[str, dict[str, list]] = {part: {case: [] for case in cases[part]} for part in args.part}
    for (part, case, _), result in zip(runs, results):
        grouped[part][case].append(result)
    command = "python benchmarks/compare.py " + " ".join(shlex.quote(a) for a in (argv if argv is not None
                                                                                    else sys.argv[1:]))
    report: dict[str, Any] = {
        "command": command, "machine": _runs.machine_info(), "optional": optional, "skipped": skipped,
        "settings": {k: v for k, v in vars(args).items() if k not in ("worker", "allow_few")},
        "accuracy": summarize_accuracy(grouped["accuracy"], args.budget) if "accuracy" in grouped else None,
        "question": summarize_question(grouped["question"]) if "question" in grouped else None,
        "runs": grouped,
    }
    report["markdown"] = markdown(report)
    print(report["markdown"])
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    if args.md:
        Path(args.md).write_text(report["markdown"])
    return report


if __name__ == "__main__":
    main()
