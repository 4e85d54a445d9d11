"""Cost of the dense quasi-Newton update per iteration, NumPy (BLAS) against TensorFlow (XLA).

At n = --n weights (default 3021, the Burgers network [2, 20 x 8, 1]; 30802 is the Schrödinger
example's [2, 100 x 4, 2], whose matrix takes 7.6 GB per backend) this times, in one run and interleaved so that a
busy machine slows both alike (median of --repeats runs each):

    step          pinn.quasi_newton's whole O(n^2) work of one iteration (``_step``: one product
                  z = H g, the scalars, the next direction and the symmetric rank-2 update), per
                  backend, on a state that keeps updating (SSBroyden2 and BFGS-dense pairs);
    matvec        one product H g alone (BLAS dsymv on the upper triangle; XLA matvec, full);
    rank2         one rank-2 update alone (BLAS dsyr2, upper triangle; XLA fused pass, full);

and as references, once: the same update written with full NumPy outer products (``H/tau -
np.outer(...) ...``: four n x n temporaries) and SciPy's own BFGS update (``A1 @ H @ A2``, two n^3
matrix products, what ``scipy.optimize.minimize(method="BFGS")`` does; --no-scipy skips it,
--no-references both: the outer products need four more n x n arrays). --backends picks the
backends timed (each holds its own n x n matrix).

--pinn adds a short comparison against L-BFGS-B on a small Burgers PINN (2 hidden layers of 10,
200 collocation points, 100 Adam steps, then --evaluations evaluations each), and --burgers the
time per iteration of quasi_newton on the full-size Burgers loss (n = 3021, N_f 10000 + 100
points) with each backend, split into evaluation and the rest.

    python benchmarks/quasi_newton_update.py [--repeats 15] [--n 3021] [--backends numpy tensorflow]
        [--no-scipy | --no-references] [--pinn] [--burgers] [--out FILE]

Writes benchmarks/quasi_newton_update.json (or --out).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf
from threadpoolctl import threadpool_info, threadpool_limits

import pinn
from pinn.equations import Burgers
from pinn.quasi_newton import QuasiNewtonState, _step, quasi_newton

N = 3021  # the default n
BACKENDS = ("numpy", "tensorflow")


def median_ms(samples: list[float]) -> float:
    return 1e3 * statistics.median(samples)


def fresh_state(n: int, backend: str, rng: np.random.Generator) -> QuasiNewtonState:
    state = QuasiNewtonState(n)
    state.use_backend(backend)
    state.x, state.f = np.zeros(n), 1.0
    return state


def time_steps(states: dict, method: str, repeats: int, rng: np.random.Generator, n: int) -> dict[str, list[float]]:
    """Interleaved timings of ``_step`` for each backend's state on the same data: a gradient g,
    the step s = p / 2 along p = -H g and a gradient change y with s^T y > 0, so that every call
    makes a full update (checked)."""
    out: dict[str, list[float]] = {name: [] for name in states}
    for i in range(repeats + 2):
        g = rng.standard_normal(n) * 1e-3
        factors = rng.uniform(0.5, 2.0, n)
        noise = 1e-3 * rng.standard_normal(n)
        for name, state in states.items():
            state.g, state.p = g, -state._matrix.matvec(state.scale, g)
            s = 0.5 * state.p
            g_new = g + factors * s + noise * np.linalg.norm(s) / np.sqrt(n)
            skipped = state.skipped
            start = time.perf_counter()
            _step(state, state._matrix, method, False, 1.0, s, g, g_new, state.x + s, 0.5, True)
            if name == "tensorflow":
                state._matrix.variable[0, 0].numpy()  # wait for the update
            elapsed = time.perf_counter() - start
            if state.skipped != skipped:
                raise RuntimeError("the timed update was skipped")
            if i >= 2:  # the first calls compile (XLA) and warm caches
                out[name].append(elapsed)
    return out


def kernels(repeats: int, rng: np.random.Generator, n: int = N,
            backends: tuple[str, ...] = BACKENDS) -> dict[str, dict[str, float]]:
    states = {b: fresh_state(n, b, rng) for b in backends}
    for state in states.values():
        state._matrix.matvec(1.0, np.ones(n))
        state._matrix.syr2(1e-9, np.ones(n), np.ones(n))
    results: dict[str, dict[str, float]] = {}
    for method in ("SSBroyden2", "BFGS-dense"):
        times = time_steps(states, method, repeats, rng, n)
        results[f"step_{method}"] = {b: median_ms(t) for b, t in times.items()}
    matvec = {b: [] for b in states}
    rank2 = {b: [] for b in states}
    for _ in range(repeats):
        v, w = rng.standard_normal(n), rng.standard_normal(n)
        for b, state in states.items():
            start = time.perf_counter()
            state._matrix.matvec(1.0, v)
            matvec[b].append(time.perf_counter() - start)
            start = time.perf_counter()
            state._matrix.syr2(1e-12, v, w)
            if b == "tensorflow":
                state._matrix.variable[0, 0].numpy()  # wait for the update
            rank2[b].append(time.perf_counter() - start)
    results["matvec"] = {b: median_ms(t) for b, t in matvec.items()}
    results["rank2"] = {b: median_ms(t) for b, t in rank2.items()}
    return results


def references(repeats: int, scipy_reference: bool, rng: np.random.Generator, n: int = N) -> dict[str, float]:
    H = np.eye(n)
    s = rng.standard_normal(n)
    y = s * rng.uniform(0.5, 2.0, n)
    rho = 1.0 / (s @ y)
    out = {}
    samples = []
    for _ in range(max(3, repeats // 3)):
        start = time.perf_counter()
        u = H @ y
        q = y @ u
        H = H - rho * (np.outer(u, s) + np.outer(s, u)) + rho * (1 + rho * q) * np.outer(s, s)
        samples.append(time.perf_counter() - start)
    out["numpy_full_outer_products_ms"] = median_ms(samples)
    if scipy_reference:
        eye = np.eye(n)
        start = time.perf_counter()
        A1 = eye - rho * np.outer(s, y)
        A2 = eye - rho * np.outer(y, s)
        H = A1 @ (H @ A2) + rho * np.outer(s, s)
        out["scipy_bfgs_update_ms"] = 1e3 * (time.perf_counter() - start)
    return out


def small_pinn(evaluations: int, seed: int = 0) -> dict:
    domain = pinn.Interval(-1, 1) * pinn.TimeInterval(0, 1)
    network = pinn.mlp(2, 1, [10, 10], lower=domain.lower, upper=domain.upper, seed=seed)
    initial = domain.sample_initial(50, seed=1)
    boundary, _ = domain.sample_boundary(50, seed=2)
    problem = pinn.Problem(Burgers(), network, domain.sample_interior(200, seed=0), [
        pinn.InitialCondition("u", initial, lambda p: -np.sin(np.pi * p[:, 0])),
        pinn.DirichletBC("u", boundary, 0.0)])
    objective = pinn.CompiledObjective(problem)
    pinn.adam(None, steps=100, learning_rate=1e-2, objective=objective)
    x0 = objective.layout.flatten()
    rows = {}
    start = time.perf_counter()
    result = pinn.minimize(None, options={"maxfun": evaluations, "maxiter": evaluations}, objective=objective)
    rows["L-BFGS-B"] = {"loss": result.fun, "nit": result.nit, "nfev": result.nfev,
                        "time_s": time.perf_counter() - start}
    for method in ("SSBFGS", "SSBroyden1", "SSBroyden2", "BFGS-dense"):
        objective.layout.set_flat(x0)
        start = time.perf_counter()
        result = quasi_newton(objective, method, options={"maxfun": evaluations})
        rows[method] = {"loss": result.fun, "nit": result.nit, "nfev": result.nfev,
                        "time_s": time.perf_counter() - start,
                        "loss_ratio_to_lbfgsb": result.fun / rows["L-BFGS-B"]["loss"]}
    return {"n": objective.layout.size, "evaluations": evaluations, "start_loss": float(objective(x0).fun),
            "results": rows}


def burgers(iterations: int, seed: int = 0) -> dict:
    domain = pinn.Interval(-1, 1) * pinn.TimeInterval(0, 0.99)
    initial = domain.sample_initial(50, seed=seed)
    boundary, _ = domain.sample_boundary(50, seed=seed)
    network = pinn.mlp(2, 1, [20] * 8, lower=domain.lower, upper=domain.upper, seed=seed)
    problem = pinn.Problem(Burgers(), network, domain.sample_interior(10000, seed=seed), [
        pinn.InitialCondition("u", initial, lambda p: -np.sin(np.pi * p[:, 0])),
        pinn.DirichletBC("u", boundary, 0.0)])
    objective = pinn.CompiledObjective(problem)
    pinn.adam(None, steps=20, learning_rate=1e-3, objective=objective)
    x0 = objective.layout.flatten()
    out = {"n": objective.layout.size}
    for backend in ("numpy", "tensorflow"):
        objective.layout.set_flat(x0)
        quasi_newton(objective, "SSBroyden2", options={"maxiter": 2}, update_backend=backend)  # warm-up
        objective.layout.set_flat(x0)
        result = quasi_newton(objective, "SSBroyden2", options={"maxiter": iterations},
                              update_backend=backend)
        loop = result.time - result.setup_time  # the first evaluation is left out
        inside = result.eval_time - result.eval_time / result.nfev
        out[backend] = {
            "ms_per_iteration": 1e3 * loop / result.nit,
            "evaluations_per_iteration": (result.nfev - 1) / result.nit,
            "ms_per_evaluation": 1e3 * result.eval_time / result.nfev,
            "ms_per_iteration_outside_evaluations": 1e3 * (loop - inside) / result.nit,
        }
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--n", type=int, default=N, help=f"weights (default {N})")
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS),
                        help="update backends to time (default both)")
    parser.add_argument("--no-scipy", action="store_true", help="skip SciPy's n^3 BFGS update")
    parser.add_argument("--no-references", action="store_true",
                        help="skip both references (full outer products and SciPy's update)")
    parser.add_argument("--pinn", action="store_true", help="small PINN against L-BFGS-B")
    parser.add_argument("--evaluations", type=int, default=600)
    parser.add_argument("--burgers", action="store_true", help="full-size Burgers iterations")
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--out", default=str(Path(__file__).with_suffix(".json")))
    args = parser.parse_args(argv)
    if args.n < 2 or args.repeats < 1:
        parser.error("--n must be >= 2 and --repeats >= 1")
    backends = tuple(dict.fromkeys(args.backends))
    rng = np.random.default_rng(0)
    report: dict = {
        "n": args.n,
        "backends": list(backends),
        "repeats": args.repeats,
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(),
                    "processor": platform.processor(),
                    "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
                    "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
                    "blas": [{k: d.get(k) for k in ("prefix", "version", "architecture", "num_threads")}
                             for d in threadpool_info() if d.get("user_api") == "blas"],
                    "numpy": np.__version__, "tensorflow": tf.__version__},
        "written": time.strftime("%Y-%m-%d %H:%M:%S"),
        "load_average_before": list(os.getloadavg()),
    }
    with threadpool_limits(limits=1, user_api="blas"):  # what quasi_newton uses by default
        report["ms_blas_1_thread"] = kernels(args.repeats, rng, args.n, backends)
        if not args.no_references:
            report["references_blas_1_thread"] = references(args.repeats, not args.no_scipy, rng, args.n)
    report["ms_blas_all_threads"] = kernels(args.repeats, rng, args.n, backends)
    steps = report["ms_blas_1_thread"]["step_SSBroyden2"]
    report["faster_backend"] = min(steps, key=steps.get)
    if args.pinn:
        report["small_pinn"] = small_pinn(args.evaluations)
    if args.burgers:
        report["burgers_n3021"] = burgers(args.iterations)
    report["load_average_after"] = list(os.getloadavg())
    text = json.dumps(report, indent=2)
    print(text)
    Path(args.out).write_text(text + "\n")
    return report


if __name__ == "__main__":
    main()
