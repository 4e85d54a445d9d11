"""SciPy's gradient-based minimizers (L-BFGS-B first) over TensorFlow variables.

:func:`minimize` is the replacement for TF1's ``tf.contrib.opt.ScipyOptimizerInterface``: it flattens
the variables into one float64 vector (SciPy's Fortran L-BFGS-B requires float64), hands SciPy a
compiled value-and-gradient function with ``jac=True`` (so SciPy never differences the loss), and
reports progress once per iteration through callbacks, at no extra evaluation.
"""

from __future__ import annotations

import collections
import inspect
import time
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import scipy.optimize
from threadpoolctl import threadpool_limits

from pinn.callbacks import Callback, CallbackList
from pinn.objective import CompiledObjective, LossFn
from pinn.validation import check_int

__all__ = ["minimize", "LBFGS_DEFAULTS", "GRADIENT_METHODS", "solver_options"]

#: The original PINN paper's L-BFGS-B options (Raissi et al. 2019). ``ftol`` is machine epsilon, so
#: that L-BFGS-B stops on the gradient test, on ``maxiter``/``maxfun``, or when it cannot make
#: progress, rather than on a small relative decrease of the loss.
LBFGS_DEFAULTS: dict[str, Any] = {
    "maxiter": 50000,
    "maxfun": 50000,
    "maxcor": 50,
    "maxls": 50,
    "ftol": float(np.finfo(float).eps),
}

#: SciPy methods that use a gradient and work through the same bridge (canonical spelling).
GRADIENT_METHODS = ("L-BFGS-B", "BFGS", "CG", "Newton-CG", "TNC", "SLSQP", "trust-constr")

# Methods whose callbacks SciPy calls with an OptimizeResult and that stop on StopIteration.
_NEW_CALLBACK_METHODS = {"l-bfgs-b", "bfgs", "cg", "newton-cg", "slsqp", "trust-constr"}

# Arguments of SciPy's private solver functions that are not options.
_NOT_OPTIONS = {
    "fun", "func", "x0", "args", "jac", "grad", "hess", "hessp", "bounds", "constraints",
    "callback", "unknown_options",
}


class _StopRequested(Exception):
    """Raised from a callback of a method that does not honour StopIteration (TNC)."""


def _canonical_method(method: str) -> str:
    if not isinstance(method, str):
        raise TypeError(f"method must be a str, one of {list(GRADIENT_METHODS)}, got {method!r}")
    for name in GRADIENT_METHODS:
        if name.lower() == method.lower():
            return name
    raise ValueError(
        f"method must be one of the gradient-based SciPy methods {list(GRADIENT_METHODS)}, "
        f"got {method!r}"
    )


def _solver_function(method: str):
    """SciPy's own solver function for ``method`` (private API, used only to list options)."""
    from scipy.optimize import _minimize as m

    names = {
        "L-BFGS-B": "_minimize_lbfgsb", "BFGS": "_minimize_bfgs", "CG": "_minimize_cg",
        "Newton-CG": "_minimize_newtoncg", "TNC": "_minimize_tnc", "SLSQP": "_minimize_slsqp",
        "trust-constr": "_minimize_trustregion_constr",
    }
    return getattr(m, names[method], None)


def solver_options(method: str = "L-BFGS-B") -> list[str]:
    """Names of the options SciPy's ``method`` accepts (read from SciPy's solver itself)."""
    function = _solver_function(_canonical_method(method))
    if function is None:  # SciPy moved its internals: accept every option (SciPy then warns)
        return []
    return [p for p in inspect.signature(function).parameters if p not in _NOT_OPTIONS]


def _resolve_options(method: str, options: Mapping[str, Any] | None) -> dict[str, Any]:
    if options is not None and not isinstance(options, Mapping):
        raise TypeError(f"options must be a dict of SciPy {method} options, got {type(options).__name__}")
    merged = dict(LBFGS_DEFAULTS) if method == "L-BFGS-B" else {}
    merged.update(options or {})
    known = solver_options(method)
    unknown = sorted(set(options or {}) - set(known)) if known else []
    if unknown:
        raise ValueError(
            f"options has unknown {method} option(s) {unknown}; valid options are {known}"
        )
    for key in ("maxiter", "maxfun"):
        value = merged.get(key)
        if value is not None:
            check_int(value, f"options[{key!r}]", minimum=1)
    return merged


class _EvaluationCache:
    """The last few evaluations, keyed by the exact point, plus the best point seen.

    SciPy evaluates a point, then (for the accepted point of an iteration) calls the callback with
    the same ``x``: the cache lets callbacks report loss and terms without evaluating again.
    """

    def __init__(self, objective: CompiledObjective, size: int = 8) -> None:
        self.objective = objective
        self.entries: collections.OrderedDict[bytes, tuple[float, np.ndarray, dict]] = (
            collections.OrderedDict()
        )
        self.size = size
        self.best_fun = np.inf
        self.best_x: np.ndarray | None = None
        self.best_jac: np.ndarray | None = None
        self.nfev = 0

    def __call__(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        f, g, _ = self.evaluate(x)
        return f, g

    def evaluate(self, x: np.ndarray) -> tuple[float, np.ndarray, dict]:
        key = np.asarray(x, dtype=np.float64).tobytes()
        hit = self.entries.get(key)
        if hit is not None:
            return hit
        f, g, terms = self.objective(x)
        self.nfev += 1
        self.entries[key] = (f, g, terms)
        if len(self.entries) > self.size:
            self.entries.popitem(last=False)
        if f < self.best_fun:  # NaN never compares smaller, so it never becomes the best point
            self.best_fun, self.best_x, self.best_jac = f, np.array(x, dtype=np.float64), g
        return f, g, terms

    def lookup(self, x: np.ndarray) -> tuple[float, np.ndarray, dict] | None:
        return self.entries.get(np.asarray(x, dtype=np.float64).tobytes())


def minimize(
    loss_fn: LossFn,
    variables: Sequence[Any],
    method: str = "L-BFGS-B",
    options: Mapping[str, Any] | None = None,
    callbacks: Iterable[Callback] | None = None,
    jit_compile: bool = False,
    *,
    bounds: Any = None,
    allow_unused: bool = False,
    phase: str | None = None,
    blas_threads: int | None = 1,
    start_iteration: int = 0,
    start_nfev: int = 0,
) -> scipy.optimize.OptimizeResult:
    """Minimise ``loss_fn()`` over ``variables`` with a gradient-based SciPy method.

    Args:
        loss_fn: callable with no arguments returning a scalar tensor, or a tuple
            ``(scalar, {name: scalar})`` whose named terms are passed to callbacks.
        variables: list of ``tf.Variable`` / Keras variables of any shapes, scalars included, all of
            one floating dtype (e.g. ``model.trainable_variables + [coefficient]``). float32 and
            float64 both work; SciPy always sees float64.
        method: one of :data:`GRADIENT_METHODS`, default ``"L-BFGS-B"``.
        options: SciPy options for ``method``. For L-BFGS-B they update :data:`LBFGS_DEFAULTS`
            (the PINN paper's: maxiter 50000, maxfun 50000, maxcor 50, maxls 50, ftol = machine
            epsilon). SciPy's meanings: ``maxiter`` bounds iterations, ``maxfun`` bounds
            loss-and-gradient evaluations (line-search evaluations included), L-BFGS-B stops when
            ``(f_k - f_k+1) / max(|f_k|, |f_k+1|, 1) <= ftol`` or when the largest projected-gradient
            component is ``<= gtol`` (default 1e-5). An unknown option is an error.
        callbacks: :class:`~pinn.callbacks.Callback` objects, called once per iteration (not per
            line-search evaluation) with values from evaluations already made.
        jit_compile: compile the value-and-gradient function with XLA.
        bounds: passed to SciPy (L-BFGS-B, TNC, SLSQP, trust-constr), on the flat vector.
        allow_unused: allow variables the loss does not depend on (zero gradient); otherwise error.
        phase: name used in callback logs (default: ``"lbfgs"`` for L-BFGS-B, else the method
            in lower case).
        blas_threads: BLAS threads SciPy may use while it runs (default 1; None leaves the BLAS
            alone). SciPy's L-BFGS-B calls BLAS between evaluations, and a multi-threaded BLAS
            (OpenBLAS) keeps its threads spinning afterwards, taking the cores TensorFlow needs for
            the next evaluation: on a 2-core machine this doubled the time per evaluation
            (68 ms against 39 ms, Burgers example).
        start_iteration, start_nfev: iterations and evaluations of this phase made before (when
            resuming from a checkpoint): callbacks count on from them. SciPy's limits and the
            result's ``nit`` and ``nfev`` are this call's own.

    Returns:
        ``scipy.optimize.OptimizeResult`` with ``x`` (flat float64, the best point evaluated),
        ``fun``, ``jac``, ``nit``, ``nfev`` (evaluations actually made), ``status``, ``message``,
        ``success``, plus ``time`` (s, all of it), ``setup_time`` (s, the first evaluation, which
        traces and compiles), ``eval_time`` (s inside evaluations, the first included),
        ``evals_per_second``, ``trace_count`` and ``terms`` (named loss terms at ``x``, if the loss
        provides them). The variables are left at ``x``.

    Raises:
        TypeError / ValueError: bad arguments, before any evaluation; a non-scalar loss, a variable
            the loss does not use, or a non-finite loss at the starting point, at the first evaluation
            and before SciPy starts.
        KeyboardInterrupt: re-raised after the variables are set to the best point evaluated; its
            ``result`` attribute holds the ``OptimizeResult`` so far (status -1).
    """
    method = _canonical_method(method)
    resolved = _resolve_options(method, options)
    check_int(start_iteration, "start_iteration")
    check_int(start_nfev, "start_nfev")
    if blas_threads is not None and (
        isinstance(blas_threads, bool) or not isinstance(blas_threads, int) or blas_threads < 1
    ):
        raise ValueError(f"blas_threads must be a positive int or None, got {blas_threads!r}")
    callback_list = CallbackList(callbacks)
    objective = CompiledObjective(loss_fn, variables, jit_compile=jit_compile, allow_unused=allow_unused)
    layout = objective.layout
    phase = phase or ("lbfgs" if method == "L-BFGS-B" else method.lower())
    cache = _EvaluationCache(objective)

    x0 = layout.flatten()
    start = time.perf_counter()
    f0, _, _ = cache.evaluate(x0)  # traces, validates the loss; SciPy's first call hits the cache
    setup_time = time.perf_counter() - start
    if not np.isfinite(f0):
        raise ValueError(f"loss_fn returned {f0} at the starting point; fix the model or the data")

    iteration = 0

    def on_iteration(x: np.ndarray, fun: float | None = None) -> None:
        nonlocal iteration
        iteration += 1
        hit = cache.lookup(x)
        elapsed = time.perf_counter() - start
        logs = {
            "phase": phase,
            "iteration": start_iteration + iteration,
            "loss": hit[0] if hit is not None else (fun if fun is not None else float("nan")),
            "nfev": start_nfev + cache.nfev,
            "time": elapsed,
            "evals_per_second": cache.nfev / elapsed if elapsed > 0 else 0.0,
            "terms": hit[2] if hit is not None else {},
            "x": x,
        }
        callback_list.on_iteration_end(start_iteration + iteration, logs)
        if callback_list.stop_training:
            if method.lower() in _NEW_CALLBACK_METHODS:
                raise StopIteration
            raise _StopRequested

    if method.lower() in _NEW_CALLBACK_METHODS:
        def scipy_callback(intermediate_result):  # SciPy passes an OptimizeResult by this name
            on_iteration(intermediate_result.x, getattr(intermediate_result, "fun", None))
    else:
        def scipy_callback(xk):
            on_iteration(xk)

    def finish(result: scipy.optimize.OptimizeResult) -> scipy.optimize.OptimizeResult:
        """Move the variables to the best point evaluated (normally SciPy's final x) and fill in
        the fields every result has, however the run ended."""
        elapsed = time.perf_counter() - start
        if cache.best_x is not None and not (cache.best_fun >= result.fun):
            result.x, result.fun, result.jac = cache.best_x, cache.best_fun, cache.best_jac
        layout.set_flat(result.x)
        final = cache.lookup(result.x)
        result.fun = float(result.fun)
        result.nfev = cache.nfev
        result.nit = int(getattr(result, "nit", iteration))
        result.message = str(result.message)
        result.time = elapsed
        result.setup_time = setup_time
        result.eval_time = objective.eval_time
        result.evals_per_second = cache.nfev / elapsed if elapsed > 0 else 0.0
        result.trace_count = objective.trace_count
        result.terms = final[2] if final is not None else {}
        result.method = method
        return result

    callback_list.on_phase_begin({"phase": phase, "options": dict(resolved), "method": method})
    try:
        with threadpool_limits(limits=blas_threads, user_api="blas"):
            result = scipy.optimize.minimize(
                cache, x0, jac=True, method=method, bounds=bounds, options=resolved,
                callback=scipy_callback,
            )
    except _StopRequested:
        result = scipy.optimize.OptimizeResult(
            x=cache.best_x, fun=cache.best_fun, jac=cache.best_jac, nit=iteration, status=99,
            success=False, message="stopped by a callback",
        )
    except KeyboardInterrupt as interrupt:
        interrupt.result = finish(scipy.optimize.OptimizeResult(  # what was done, for the caller
            x=cache.best_x, fun=cache.best_fun, jac=cache.best_jac, nit=iteration, status=-1,
            success=False, message="interrupted (KeyboardInterrupt)",
        ))
        raise
    result = finish(result)
    callback_list.on_phase_end(
        {"phase": phase, "nit": result.nit, "nfev": result.nfev, "message": result.message,
         "loss": result.fun, "time": result.time}
    )
    return result
