"""One status vocabulary for every optimizer phase (Adam and every SciPy method).

Each SciPy method reports how it ended with its own integer ``status`` codes, and they disagree:
TNC's 1 is a convergence test (FCONVERGED) while L-BFGS-B's 1 is the iteration/evaluation limit;
trust-constr's 0 is the iteration limit and its 3 a callback stop. :class:`Status` names the six
outcomes a training plan cares about, and :func:`status_from_scipy` translates SciPy's codes
(SciPy 1.17, read from its source and checked by running each method in ``tests/test_status.py``).

Translation table (``status`` code, SciPy's message -> :class:`Status`):

=============  ====================================================================  =============
method         SciPy ``status`` / ``message``                                        Status
=============  ====================================================================  =============
any            99 "`callback` raised `StopIteration`." (set by ``minimize`` for       STOPPED
               methods that honour StopIteration; pinn uses it for TNC too)
any            -1 "interrupted (KeyboardInterrupt)" (pinn's own code; the message     INTERRUPTED
               must mention "interrupt": TNC and SLSQP use -1 for other things)
L-BFGS-B       0 "CONVERGENCE: NORM OF PROJECTED GRADIENT <= PGTOL" /                CONVERGED
               "CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH"
L-BFGS-B       1 "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT" /                      LIMIT_REACHED
               "STOP: TOTAL NO. OF F,G EVALUATIONS EXCEEDS LIMIT"
L-BFGS-B       2 "ABNORMAL: ...", "WARNING: ROUNDING ERRORS ...", "ERROR: ..."        FAILED
BFGS, CG       0 "Optimization terminated successfully."                             CONVERGED
BFGS, CG       1 "Maximum number of iterations has been exceeded."                   LIMIT_REACHED
BFGS, CG       2 "Desired error not necessarily achieved due to precision loss."     FAILED
BFGS, CG       3 "NaN result encountered."                                           NONFINITE
Newton-CG      0 "Optimization terminated successfully."                             CONVERGED
Newton-CG      1 "Warning: Maximum number of iterations has been exceeded."          LIMIT_REACHED
Newton-CG      2 "Warning: Desired error not necessarily achieved due to ..."        FAILED
Newton-CG      3 "NaN result encountered." (code shared with the next row)           NONFINITE
Newton-CG      3 "Warning: CG iterations didn't converge. The Hessian is not ..."    FAILED
Newton-CG      5 "" (callback stop; ``minimize`` turns it into 99)                    STOPPED
TNC            -1 "Infeasible (lower bound > upper bound)"                            FAILED
TNC            0 LOCALMINIMUM, 1 FCONVERGED, 2 XCONVERGED                            CONVERGED
TNC            3 "Max. number of function evaluations reached" (MAXFUN)              LIMIT_REACHED
TNC            4 "Linear search failed" (LSFAIL)                                     FAILED
TNC            5 "All lower bounds are equal to the upper bounds" (CONSTANT: the     CONVERGED
               only feasible point is the answer)
TNC            6 "Unable to progress" (NOPROGRESS)                                   FAILED
TNC            7 "User requested end of minimization" (USERABORT)                    STOPPED
SLSQP          0 "Optimization terminated successfully"                              CONVERGED
SLSQP          9 "Iteration limit reached"                                           LIMIT_REACHED
SLSQP          2..8 (constraint/subproblem trouble, 8 "Positive directional          FAILED
               derivative for linesearch"); -1, 1 (unfinished, callback break)
trust-constr   0 "The maximum number of function evaluations is exceeded." (it is    LIMIT_REACHED
               the ``maxiter`` test)
trust-constr   1 "`gtol` termination ...", 2 "`xtol` termination ..."                CONVERGED
trust-constr   3 "`callback` raised `StopIteration`."                                STOPPED
trust-constr   4 "Constraint violation exceeds 'gtol'"                               FAILED
any            any other code                                                        FAILED
=============  ====================================================================  =============

Non-finite values. SciPy rarely says so: L-BFGS-B ends a NaN loss with "ABNORMAL" (2), BFGS with
"precision loss" (2), TNC often with MAXFUN (3), SLSQP with a subproblem error (7), and L-BFGS-B
can even report CONVERGENCE (0) when only the loss is NaN. So a result whose code means
CONVERGED, LIMIT_REACHED or FAILED but whose ``fun``, gradient (``jac``; ``grad`` for trust-constr,
whose ``jac`` holds constraint Jacobians) or ``x`` is NaN/Inf maps to NONFINITE. Call
:func:`status_from_scipy` on SciPy's own result, before replacing its ``x``/``fun`` by the best
point seen. Known blind spots: trust-constr rejects NaN steps, keeps its last finite point and
ends on ``maxiter`` (LIMIT_REACHED); Newton-CG with a NaN gradient ends with "CG iterations didn't
converge" at a finite point (FAILED).
"""

from __future__ import annotations

import enum
from typing import Any, Callable, Mapping, Union

import numpy as np

__all__ = ["Status", "status_from_scipy", "SCIPY_METHODS"]

#: The SciPy methods :func:`status_from_scipy` knows (canonical spelling; matched ignoring case).
SCIPY_METHODS = ("L-BFGS-B", "BFGS", "CG", "Newton-CG", "TNC", "SLSQP", "trust-constr")


class Status(str, enum.Enum):
    """How an optimizer phase ended. A ``str``: compares equal to, and serialises as, its value."""

    #: A convergence test passed (gradient, loss change or step small enough).
    CONVERGED = "converged"
    #: The iteration or evaluation budget (``maxiter``, ``maxfun``, Adam's steps) was used up.
    LIMIT_REACHED = "limit_reached"
    #: A callback asked to stop (early stopping, a time limit, ...).
    STOPPED = "stopped"
    #: Interrupted from outside: Ctrl-C (KeyboardInterrupt) or a signal.
    INTERRUPTED = "interrupted"
    #: The loss or its gradient became NaN or infinite.
    NONFINITE = "nonfinite"
    #: The method gave up without converging (line search failure, precision loss, ...).
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value

    @property
    def description(self) -> str:
        """One line saying what the status means."""
        return _DESCRIPTIONS[self]

    @property
    def finished(self) -> bool:
        """True when the plan may go on to its next phase: converged or limit reached."""
        return self in (Status.CONVERGED, Status.LIMIT_REACHED)

    @property
    def resumable(self) -> bool:
        """True when a resume should run this phase again or further: stopped, interrupted,
        nonfinite, failed, and limit reached (when the resume grows the budget)."""
        return self is not Status.CONVERGED


_DESCRIPTIONS = {
    Status.CONVERGED: "a convergence test passed",
    Status.LIMIT_REACHED: "the iteration/evaluation budget was used up",
    Status.STOPPED: "a callback asked to stop",
    Status.INTERRUPTED: "interrupted (Ctrl-C or a signal)",
    Status.NONFINITE: "the loss or its gradient became NaN or infinite",
    Status.FAILED: "the method could not make progress (e.g. the line search failed)",
}

_Rule = Union[Status, Callable[[str], Status]]


def _newton_cg_3(message: str) -> Status:
    """Newton-CG uses 3 both for a NaN result and for a CG loop that did not converge."""
    return Status.NONFINITE if "nan" in message.lower() else Status.FAILED


_C, _L, _S, _N, _F = (
    Status.CONVERGED, Status.LIMIT_REACHED, Status.STOPPED, Status.NONFINITE, Status.FAILED,
)

#: Per method, SciPy's status code -> Status (or a function of the message where codes are shared).
_TABLES: dict[str, dict[int, _Rule]] = {
    "L-BFGS-B": {0: _C, 1: _L, 2: _F},
    "BFGS": {0: _C, 1: _L, 2: _F, 3: _N},
    "CG": {0: _C, 1: _L, 2: _F, 3: _N},
    "Newton-CG": {0: _C, 1: _L, 2: _F, 3: _newton_cg_3, 5: _S},
    "TNC": {-1: _F, 0: _C, 1: _C, 2: _C, 3: _L, 4: _F, 5: _C, 6: _F, 7: _S},
    "SLSQP": {0: _C, 9: _L, **{code: _F for code in (-1, 1, 2, 3, 4, 5, 6, 7, 8)}},
    "trust-constr": {0: _L, 1: _C, 2: _C, 3: _S, 4: _F},
}

#: ``minimize`` sets this code whenever a callback raised StopIteration (any method).
_CALLBACK_STOP = 99


def _canonical(method: str) -> str:
    if isinstance(method, str):
        for name in SCIPY_METHODS:
            if name.lower() == method.lower():
                return name
    raise ValueError(f"method must be one of the SciPy methods {list(SCIPY_METHODS)}, got {method!r}")


def _all_finite(value: Any) -> bool:
    """False when ``value`` (a number or an array of numbers) holds a NaN or an infinity."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):  # not numeric (e.g. a list of sparse Jacobians): no evidence
        return True
    return bool(np.all(np.isfinite(array)))


def _nonfinite(method: str, result: Mapping[str, Any]) -> bool:
    gradient_key = "grad" if method == "trust-constr" else "jac"
    return any(
        result.get(key) is not None and not _all_finite(result.get(key))
        for key in ("fun", gradient_key, "x")
    )


def status_from_scipy(method: str, result: Mapping[str, Any]) -> Status:
    """The :class:`Status` of a ``scipy.optimize.minimize`` ``result`` for ``method``.

    Args:
        method: the SciPy method that produced ``result`` (any case, e.g. ``"l-bfgs-b"``).
        result: SciPy's ``OptimizeResult`` (any mapping with ``status`` and ``message``). A
            ``status`` that is already a :class:`Status` (or its value) is returned as it is.

    Returns:
        The status per the table in this module's docstring; an unknown code gives FAILED, and
        a non-finite ``fun``/gradient/``x`` turns CONVERGED, LIMIT_REACHED or FAILED into
        NONFINITE.

    Raises:
        ValueError: ``method`` is not one of :data:`SCIPY_METHODS`.
    """
    method = _canonical(method)
    code = result.get("status")
    if isinstance(code, Status):
        return code
    if isinstance(code, str):
        try:
            return Status(code)
        except ValueError:
            return Status.FAILED
    message = str(result.get("message", ""))
    if isinstance(code, (bool, np.bool_)) or not isinstance(code, (int, np.integer)):
        status = Status.FAILED
    elif code == _CALLBACK_STOP:
        return Status.STOPPED
    elif code == -1 and "interrupt" in message.lower():
        return Status.INTERRUPTED
    else:
        rule = _TABLES[method].get(int(code), Status.FAILED)
        status = rule if isinstance(rule, Status) else rule(message)
    if status in (Status.CONVERGED, Status.LIMIT_REACHED, Status.FAILED) and _nonfinite(method, result):
        return Status.NONFINITE
    return status
