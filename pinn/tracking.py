"""One place for what every optimizer phase tracks: counters, the best point, and its result.

Every phase (Adam, each SciPy method, later ones) feeds its evaluations to a :class:`PhaseTracker`,
which counts iterations and evaluations, keeps the best finite point evaluated, notices the first
non-finite loss or gradient, builds the callback logs, and turns the end of the phase into a
:class:`PhaseResult` with a :class:`~pinn.status.Status` from the one status vocabulary.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Mapping

import numpy as np

from pinn.objective import Evaluation
from pinn.status import Status

__all__ = ["PhaseResult", "PhaseTracker", "BestPoint"]


@dataclasses.dataclass
class BestPoint:
    """The best finite point evaluated so far: ``x`` (n,) float64, its loss, gradient, terms and
    coefficients."""

    x: np.ndarray
    fun: float
    jac: np.ndarray
    terms: dict[str, float]
    coefficients: dict[str, float]


@dataclasses.dataclass
class PhaseResult:
    """How one optimizer phase ended, the same for Adam and every SciPy method.

    Attributes:
        phase: the phase name (``"adam"``, ``"lbfgs"``, ...).
        method: the optimizer (``"Adam"``, ``"L-BFGS-B"``, ``"TNC"``...).
        status: a :class:`~pinn.status.Status` (converged, limit_reached, stopped, interrupted,
            nonfinite, failed).
        message: the optimizer's own words on why it stopped.
        x: flat float64 weights the variables hold after the phase (the best point evaluated,
            except for an Adam phase that completed or was stopped: its last update), shape (n,).
        fun: the loss at ``x`` where known (Adam: the last finite loss evaluated), float.
        jac: the gradient there, (n,), or None.
        terms: the named loss terms at ``x``.
        coefficients: the reported coefficients (trainable PDE coefficients) at ``x``.
        nit: iterations (Adam steps) of this call; ``nfev``: evaluations of this call.
        time: seconds; ``setup_time``: the first evaluation (tracing and compiling);
        eval_time: seconds inside evaluations; ``evals_per_second``.
        trace_count: traces of the compiled function so far.
        best_fun: the best finite loss evaluated in the phase.
        nonfinite_terms: the terms that were NaN/inf when the status is nonfinite.
        scipy: SciPy's own ``OptimizeResult`` (SciPy phases that returned one), else None.
        start_nit, start_nfev: iterations and evaluations of the phase before this call (resume).
        best_x: the best finite point evaluated (float64 (n,)), None if none.
    """

    phase: str
    method: str
    status: Status
    message: str
    x: np.ndarray
    fun: float
    jac: np.ndarray | None = None
    terms: dict[str, float] = dataclasses.field(default_factory=dict)
    coefficients: dict[str, float] = dataclasses.field(default_factory=dict)
    nit: int = 0
    nfev: int = 0
    time: float = 0.0
    setup_time: float = 0.0
    eval_time: float = 0.0
    evals_per_second: float = 0.0
    trace_count: int = 0
    best_fun: float = float("inf")
    nonfinite_terms: list[str] = dataclasses.field(default_factory=list)
    scipy: Any = None
    start_nit: int = 0
    start_nfev: int = 0
    best_x: np.ndarray | None = None

    @property
    def success(self) -> bool:
        """True when the phase converged."""
        return self.status is Status.CONVERGED


class PhaseTracker:
    """Counters, best point and callback logs of one phase.

    Args:
        phase: the phase name in logs.
        method: the optimizer's name.
        start_nit, start_nfev: iterations and evaluations of this phase made before (a resumed
            run): logs count on from them; ``nit`` and ``nfev`` are this call's own.
        objective: the :class:`~pinn.objective.CompiledObjective` evaluated (for its time inside
            evaluations and its trace count in the result).
    """

    def __init__(self, phase: str, method: str, start_nit: int = 0, start_nfev: int = 0,
                 objective: Any = None) -> None:
        self.phase, self.method = phase, method
        self.objective = objective
        self._eval_time_before = objective.eval_time if objective is not None else 0.0
        self.start_nit, self.start_nfev = int(start_nit), int(start_nfev)
        self.nit = 0
        self.nfev = 0
        self.best: BestPoint | None = None
        self.nonfinite: tuple[np.ndarray, Evaluation] | None = None
        self.start = time.perf_counter()
        self.setup_time = 0.0

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def record(self, x: np.ndarray, evaluation: Evaluation) -> bool:
        """Count an evaluation at ``x``; returns False (and remembers it) when the loss or the
        gradient is not finite. A finite one that improves on the best point becomes it."""
        self.nfev += 1
        if self.nfev == 1:
            self.setup_time = self.elapsed
        finite = bool(np.isfinite(evaluation.fun) and np.all(np.isfinite(evaluation.jac)))
        if not finite:
            if self.nonfinite is None:
                self.nonfinite = (np.array(x, dtype=np.float64), evaluation)
            return False
        if self.best is None or evaluation.fun < self.best.fun:
            self.best = BestPoint(np.array(x, dtype=np.float64), evaluation.fun, evaluation.jac,
                                  dict(evaluation.terms), dict(evaluation.coefficients))
        return True

    def nonfinite_terms(self) -> list[str]:
        """Names of the terms (or ``"gradient"``) that were not finite at the first non-finite
        evaluation."""
        if self.nonfinite is None:
            return []
        evaluation = self.nonfinite[1]
        names = [k for k, v in evaluation.terms.items() if not np.isfinite(v)]
        if not names and np.isfinite(evaluation.fun):
            names = ["gradient"]
        return names or ["loss"]

    def nonfinite_message(self) -> str:
        evaluation = self.nonfinite[1] if self.nonfinite is not None else None
        value = evaluation.fun if evaluation is not None else float("nan")
        return (f"the loss or its gradient became non-finite (loss {value}; non-finite: "
                f"{', '.join(self.nonfinite_terms())}) at evaluation {self.start_nfev + self.nfev}; "
                "stopped at the best finite point")

    def logs(self, iteration: int, x: np.ndarray | None, evaluation: Evaluation | None,
             fun: float | None = None) -> dict[str, Any]:
        """The callback logs of iteration ``iteration`` of this call (counted on from
        ``start_nit``), at ``x`` with its evaluation (None: not evaluated; ``fun`` if known)."""
        elapsed = self.elapsed
        logs: dict[str, Any] = {
            "phase": self.phase,
            "iteration": self.start_nit + iteration,
            "loss": evaluation.fun if evaluation is not None else (
                fun if fun is not None else float("nan")),
            "nfev": self.start_nfev + self.nfev,
            "time": elapsed,
            "evals_per_second": self.nfev / elapsed if elapsed > 0 else 0.0,
            "terms": dict(evaluation.terms) if evaluation is not None else {},
            "coefficients": dict(evaluation.coefficients) if evaluation is not None else {},
        }
        if x is not None:
            logs["x"] = x
        return logs

    def result(self, status: Status, message: str, x: np.ndarray, fun: float,
               jac: np.ndarray | None = None, terms: Mapping[str, float] | None = None,
               coefficients: Mapping[str, float] | None = None, *, scipy: Any = None) -> PhaseResult:
        """The phase's :class:`PhaseResult`."""
        elapsed = self.elapsed
        objective = self.objective
        eval_time = objective.eval_time - self._eval_time_before if objective is not None else 0.0
        trace_count = objective.trace_count if objective is not None else 0
        return PhaseResult(
            phase=self.phase, method=self.method, status=Status(status), message=str(message),
            x=np.asarray(x, dtype=np.float64), fun=float(fun), jac=jac, terms=dict(terms or {}),
            coefficients=dict(coefficients or {}), nit=self.nit, nfev=self.nfev, time=elapsed,
            setup_time=self.setup_time, eval_time=eval_time,
            evals_per_second=self.nfev / elapsed if elapsed > 0 else 0.0,
            trace_count=trace_count, best_fun=self.best.fun if self.best else float("inf"),
            nonfinite_terms=self.nonfinite_terms() if status == Status.NONFINITE else [],
            scipy=scipy, start_nit=self.start_nit, start_nfev=self.start_nfev,
            best_x=self.best.x if self.best is not None else None,
        )
