"""SciPy's gradient-based minimizers (L-BFGS-B first) over TensorFlow variables.

:func:`minimize` is the replacement for TF1's ``tf.contrib.opt.ScipyOptimizerInterface``: it flattens
the variables into one float64 vector (SciPy's Fortran L-BFGS-B requires float64), hands SciPy a
compiled value-and-gradient function with ``jac=True`` (so SciPy never differences the loss), and
reports progress once per iteration through callbacks, at no extra evaluation.
"""

from __future__ import annotations

import collections
import dataclasses
import inspect
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import scipy.optimize
from threadpoolctl import threadpool_limits

from pinn.callbacks import Callback, CallbackList
from pinn.loss import Loss, LossFn
from pinn.objective import CompiledObjective, Evaluation
from pinn.status import Status, status_from_scipy
from pinn.tracking import PhaseResult, PhaseTracker
from pinn.validation import check_int, check_options

__all__ = ["minimize", "LBFGS_DEFAULTS", "GRADIENT_METHODS", "solver_options", "scipy_options",
           "MethodSpec", "METHODS", "METHOD_NAMES", "METHOD_KINDS", "resolve_method", "DEFAULT_METHOD"]

#: The second-phase method wherever none is named (:func:`minimize`, ``Trainer.train``, the
#: examples' ``--method``, runs written before the method was recorded): the PINN paper's.
DEFAULT_METHOD = "L-BFGS-B"

#: L-BFGS-B options for PINN training. The first five are the original PINN paper's (Raissi et al.
#: 2019): ``maxiter`` and ``maxfun`` 50000, ``maxcor`` 50 stored correction pairs, ``maxls`` 50
#: line-search steps, and ``ftol`` = machine epsilon, so that L-BFGS-B does not stop on a small
#: relative decrease of the loss. ``gtol`` = 1e-10 is ours: with SciPy's default 1e-5 (which the
#: paper left in place) L-BFGS-B stops early on PINN losses while reporting "CONVERGENCE"
#: (Burgers, float64: rel. L2 error 4.2e-3 at gtol 1e-5 against 5e-5 at 1e-10, see the README).
LBFGS_DEFAULTS: dict[str, Any] = {
    "maxiter": 50000,
    "maxfun": 50000,
    "maxcor": 50,
    "maxls": 50,
    "ftol": float(np.finfo(float).eps),
    "gtol": 1e-10,
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


class _NonFinite(Exception):
    """Raised from the objective when the loss or gradient is not finite: SciPy's methods would
    otherwise report NaN steps as convergence."""


def _canonical_method(method: str) -> str:
    """The canonical spelling of a SciPy gradient method (any case); see :func:`resolve_method`
    for every method of every kind."""
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


def solver_options(method: str = DEFAULT_METHOD) -> list[str]:
    """Names of the options SciPy's ``method`` accepts (read from SciPy's solver itself)."""
    function = _solver_function(_canonical_method(method))
    if function is None:  # SciPy moved its internals: accept every option (SciPy then warns)
        return []
    return [p for p in inspect.signature(function).parameters if p not in _NOT_OPTIONS]


def scipy_options(method: str, options: Mapping[str, Any] | None) -> dict[str, Any]:
    """SciPy ``method``'s options: ``options`` over its defaults (:data:`LBFGS_DEFAULTS` for
    L-BFGS-B, SciPy's own for the others), checked by name and value.

    Raises:
        TypeError: ``options`` is not a mapping. ValueError: an unknown option (the message lists
        the method's options) or a value out of range.
    """
    method = _canonical_method(method)
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
    return check_options(method, merged)



_resolve_options = scipy_options  # the name earlier versions used


# ---- one registry of the methods of a second phase ------------------------------------------
#: The kinds of method: ``"scipy"`` (run by :func:`minimize` through
#: ``scipy.optimize.minimize``) and ``"quasi_newton"`` (the dense self-scaled methods of
#: :func:`pinn.quasi_newton.quasi_newton`).
METHOD_KINDS = ("scipy", "quasi_newton")


@dataclasses.dataclass(frozen=True)
class MethodSpec:
    """One optimizer method of a second phase, as the registry knows it.

    Attributes:
        name: the canonical spelling (``"L-BFGS-B"``, ``"SSBroyden2"``...).
        kind: one of :data:`METHOD_KINDS`: ``"scipy"`` or ``"quasi_newton"``.
        defaults: the options pinn sets unless told otherwise (a copy; SciPy's own defaults apply
            to options not listed): :data:`LBFGS_DEFAULTS` for L-BFGS-B, none for the other SciPy
            methods, :data:`pinn.quasi_newton.QUASI_NEWTON_DEFAULTS` for the dense ones.
    """

    name: str
    kind: str
    defaults: Mapping[str, Any]

    def option_names(self) -> list[str]:
        """The options this method accepts (an empty list: SciPy's internals are unknown, every
        option is passed on)."""
        if self.kind == "quasi_newton":
            return sorted(self.defaults)
        return solver_options(self.name)

    def options(self, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """``options`` over :attr:`defaults`, checked by name and value before any work.

        Raises:
            TypeError: ``options`` is not a mapping. ValueError: an unknown option (the message
            lists the valid ones) or a value out of range (the message names the option).
        """
        if self.kind == "quasi_newton":
            from pinn.quasi_newton import quasi_newton_options

            return quasi_newton_options(options)
        return scipy_options(self.name, options)


def _registry() -> dict[str, MethodSpec]:
    from pinn.quasi_newton import QUASI_NEWTON_DEFAULTS, QUASI_NEWTON_METHODS

    specs = [MethodSpec(name, "scipy", dict(LBFGS_DEFAULTS) if name == "L-BFGS-B" else {})
             for name in GRADIENT_METHODS]
    specs += [MethodSpec(name, "quasi_newton", dict(QUASI_NEWTON_DEFAULTS))
              for name in QUASI_NEWTON_METHODS]
    return {spec.name: spec for spec in specs}


#: Every method a second phase can run, by canonical name: SciPy's gradient methods
#: (:data:`GRADIENT_METHODS`) and the dense quasi-Newton ones
#: (:data:`pinn.quasi_newton.QUASI_NEWTON_METHODS`).
METHODS: Mapping[str, MethodSpec] = _registry()
#: Their names, SciPy's first.
METHOD_NAMES: tuple[str, ...] = tuple(METHODS)


def resolve_method(name: str) -> MethodSpec:
    """The :class:`MethodSpec` of a method name, in any case (``"l-bfgs-b"``, ``"ssbfgs"``).

    The one place that knows every method: :meth:`pinn.Trainer.train`, :func:`minimize` and the
    example scripts' ``--method`` flag all ask it.

    Raises:
        TypeError: ``name`` is not a str. ValueError: an unknown name; the message lists
        :data:`METHOD_NAMES`.
    """
    if not isinstance(name, str):
        raise TypeError(f"method must be a str, one of {list(METHOD_NAMES)}, got {name!r}")
    for spec in METHODS.values():
        if spec.name.lower() == name.strip().lower():
            return spec
    raise ValueError(f"method must be one of {list(METHOD_NAMES)} (SciPy's gradient methods, then "
                     f"the dense quasi-Newton ones; any case), got {name!r}")


class _Evaluations:
    """SciPy's ``fun`` (``x -> (loss, gradient)``): evaluates through the objective, counts and
    tracks every evaluation in the phase's :class:`~pinn.tracking.PhaseTracker`, and keeps the
    last few by exact point, so that the callback after an iteration reports the loss and terms
    of its accepted point without evaluating again. A non-finite loss or gradient ends the phase
    (:class:`_NonFinite`) instead of reaching SciPy."""

    def __init__(self, objective: CompiledObjective, tracker: PhaseTracker, size: int = 8) -> None:
        self.objective = objective
        self.tracker = tracker
        self.entries: collections.OrderedDict[bytes, Evaluation] = collections.OrderedDict()
        self.size = size

    def __call__(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        evaluation = self.evaluate(x)
        return evaluation.fun, evaluation.jac

    def evaluate(self, x: np.ndarray) -> Evaluation:
        key = np.asarray(x, dtype=np.float64).tobytes()
        hit = self.entries.get(key)
        if hit is not None:
            return hit
        evaluation = self.objective(x)
        self.entries[key] = evaluation
        if len(self.entries) > self.size:
            self.entries.popitem(last=False)
        if not self.tracker.record(x, evaluation):
            raise _NonFinite
        return evaluation

    def lookup(self, x: np.ndarray) -> Evaluation | None:
        return self.entries.get(np.asarray(x, dtype=np.float64).tobytes())


def minimize(
    loss_fn: Loss | LossFn | None,
    variables: Sequence[Any] | None = None,
    method: str = DEFAULT_METHOD,
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
    objective: CompiledObjective | None = None,
) -> PhaseResult:
    """Minimise a loss over its variables with a gradient-based SciPy method.

    Args:
        loss_fn: a :class:`~pinn.loss.Loss` (e.g. a :class:`~pinn.problem.Problem`), or a callable
            with no arguments returning a scalar tensor or ``(scalar, {name: scalar})`` whose named
            terms are passed to callbacks (then give ``variables``). None when ``objective`` is given.
        variables: for a loss function: list of ``tf.Variable`` / Keras variables of any shapes,
            scalars included, all of one floating dtype (e.g. ``model.trainable_variables +
            [coefficient]``). float32 and float64 both work; SciPy always sees float64.
        method: one of :data:`GRADIENT_METHODS`, default ``"L-BFGS-B"``.
        options: SciPy options for ``method``, checked by name and value before any work. For
            L-BFGS-B they update :data:`LBFGS_DEFAULTS` (maxiter 50000, maxfun 50000, maxcor 50,
            maxls 50, ftol = machine epsilon, gtol 1e-10). SciPy's meanings: ``maxiter`` bounds
            iterations, ``maxfun`` bounds loss-and-gradient evaluations (line-search evaluations
            included), L-BFGS-B stops when ``(f_k - f_k+1) / max(|f_k|, |f_k+1|, 1) <= ftol`` or
            when the largest projected-gradient component is ``<= gtol``.
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
        objective: an existing :class:`~pinn.objective.CompiledObjective` to evaluate (a Trainer
            passes its own, traced once for all its phases); then ``loss_fn`` and ``variables``
            are None and ``jit_compile``/``allow_unused`` are the objective's.

    Returns:
        A :class:`~pinn.tracking.PhaseResult`: ``status`` (converged, limit_reached, stopped,
        interrupted, nonfinite, failed: SciPy's status codes mapped per method), ``message``
        (SciPy's), ``x`` (flat float64, the best point evaluated), ``fun``, ``jac``, ``terms``,
        ``coefficients``, ``nit``, ``nfev`` (evaluations made), ``time``, ``setup_time`` (the
        first evaluation, which traces and compiles), ``eval_time``, ``evals_per_second``,
        ``trace_count`` and ``scipy`` (SciPy's own OptimizeResult). The variables are left at ``x``.
        A loss or gradient that turns NaN/inf ends the phase with status nonfinite at the best
        finite point, naming the non-finite terms (``nonfinite_terms``).

    Raises:
        TypeError / ValueError: bad arguments, before any evaluation; a non-scalar loss, a variable
            the loss does not use, or a non-finite loss at the starting point, at the first evaluation
            and before SciPy starts.
        KeyboardInterrupt: re-raised after the variables are set to the best point evaluated; its
            ``result`` attribute holds the :class:`PhaseResult` so far (status interrupted).
    """
    try:
        spec = resolve_method(method)
    except ValueError:
        raise ValueError(f"method must be one of the gradient-based SciPy methods "
                         f"{list(GRADIENT_METHODS)}, got {method!r}") from None
    if spec.kind != "scipy":
        raise ValueError(f"method must be one of the gradient-based SciPy methods "
                         f"{list(GRADIENT_METHODS)}, got {method!r}: {spec.name} is a dense "
                         f"quasi-Newton method; run it with pinn.Trainer(...).train(method="
                         f"{spec.name!r}) or pinn.quasi_newton.quasi_newton")
    method = spec.name
    resolved = spec.options(options)
    check_int(start_iteration, "start_iteration")
    check_int(start_nfev, "start_nfev")
    if blas_threads is not None:
        check_int(blas_threads, "blas_threads", minimum=1)
    callback_list = CallbackList(callbacks)
    if objective is None:
        objective = CompiledObjective(loss_fn, variables, jit_compile=jit_compile,
                                      allow_unused=allow_unused)
    elif loss_fn is not None or variables is not None:
        raise TypeError("give either objective, or loss_fn (and its variables), not both")
    layout = objective.layout
    phase = phase or ("lbfgs" if method == "L-BFGS-B" else method.lower())
    tracker = PhaseTracker(phase, method, start_iteration, start_nfev, objective)
    evaluations = _Evaluations(objective, tracker)

    x0 = layout.flatten()
    try:  # traces and validates the loss; SciPy's first call hits the cache
        evaluations.evaluate(x0)
    except _NonFinite:
        raise ValueError(f"the loss or its gradient is not finite at the starting point "
                         f"({tracker.nonfinite_message()}); fix the model or the data") from None

    def on_iteration(x: np.ndarray, fun: float | None = None) -> None:
        tracker.nit += 1
        logs = tracker.logs(tracker.nit, x, evaluations.lookup(x), fun)
        callback_list.on_iteration_end(logs["iteration"], logs)
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

    def finish(status: Status, message: str, scipy_result: Any = None) -> PhaseResult:
        """Move the variables to the best point evaluated (normally SciPy's final x) and build
        the result, however the run ended."""
        best = tracker.best
        layout.set_flat(best.x)
        if scipy_result is not None and getattr(scipy_result, "nit", None) is not None:
            tracker.nit = max(tracker.nit, int(scipy_result.nit))
        return tracker.result(status, message, best.x, best.fun, best.jac, best.terms,
                              best.coefficients, scipy=scipy_result)

    callback_list.on_phase_begin({"phase": phase, "started": tracker.start, "options": dict(resolved), "method": method,
                                  "dtype": objective.dtype.name})
    try:
        with threadpool_limits(limits=blas_threads, user_api="blas"):
            scipy_result = scipy.optimize.minimize(
                evaluations, x0, jac=True, method=method, bounds=bounds, options=resolved,
                callback=scipy_callback,
            )
        if callback_list.stop_training:
            result = finish(Status.STOPPED, "stopped by a callback", scipy_result)
        else:
            result = finish(status_from_scipy(method, scipy_result), str(scipy_result.message),
                            scipy_result)
    except _StopRequested:
        result = finish(Status.STOPPED, "stopped by a callback")
    except _NonFinite:
        result = finish(Status.NONFINITE, tracker.nonfinite_message())
    except KeyboardInterrupt as interrupt:
        interrupt.result = finish(Status.INTERRUPTED, "interrupted (KeyboardInterrupt)")
        raise
    callback_list.on_phase_end(
        {"phase": phase, "nit": tracker.start_nit + result.nit,
         "nfev": tracker.start_nfev + result.nfev, "message": result.message,
         "status": result.status.value, "loss": result.fun, "time": result.time}
    )
    return result
