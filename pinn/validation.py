"""Argument checks shared by the public functions, raising errors that name the argument.

:func:`check_int` and :func:`check_number` check one value; :func:`check_options` checks the values
of a SciPy method's options (ranges from SciPy 1.17's documentation and source) before any work.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

from pinn.status import SCIPY_METHODS

__all__ = ["check_int", "check_number", "check_options", "as_points"]


def check_int(value: Any, name: str, minimum: int = 0, meaning: str = "") -> int:
    """``value`` as an int, checked to be an integer (not a bool) ``>= minimum``.

    Raises:
        ValueError: ``"<name> must be an int >= <minimum> [(meaning)], got <value>"``, or
            ``"... must be a positive int ..."`` when ``minimum`` is 1.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        expected = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        note = f" ({meaning})" if meaning else ""
        raise ValueError(f"{name} must be {expected}{note}, got {value!r}")
    return int(value)


def _is_number(value: Any) -> bool:
    """A real Python or NumPy number, not a bool."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def _expected_number(minimum: float | None, maximum: float | None, exclusive: bool, finite: bool) -> str:
    kind = "a finite number" if finite else "a number other than NaN"
    if minimum is not None and maximum is not None:
        low, high = ("(", ")") if exclusive else ("[", "]")
        return f"{kind} in {low}{minimum:g}, {maximum:g}{high}"
    if minimum is not None:
        return f"{kind} {'>' if exclusive else '>='} {minimum:g}"
    if maximum is not None:
        return f"{kind} {'<' if exclusive else '<='} {maximum:g}"
    return kind


def check_number(
    value: Any,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive: bool = False,
    finite: bool = True,
    meaning: str = "",
) -> float:
    """``value`` as a float, checked to be a real number within the given bounds.

    Accepts Python and NumPy ints and floats; rejects bools, strings, arrays, None and NaN (always).

    Args:
        value: the number to check.
        name: how the error names it, e.g. ``"learning_rate"`` or ``"options['gtol']"``.
        minimum, maximum: bounds, ``None`` for none.
        exclusive: the bounds themselves are not allowed (``> minimum``, ``< maximum``).
        finite: reject infinities too (default); with ``False`` only NaN is rejected.
        meaning: what the number is, added to the error in parentheses.

    Raises:
        ValueError: ``"<name> must be a finite number >= 0 (meaning), got nan"``.
    """
    ok = _is_number(value)
    if ok:
        try:
            number = float(value)
        except OverflowError:  # a Python int beyond float's range
            number = float("inf") if value > 0 else float("-inf")
        ok = not np.isnan(number) and (not finite or np.isfinite(number))
    if ok and minimum is not None:
        ok = number > minimum if exclusive else number >= minimum
    if ok and maximum is not None:
        ok = number < maximum if exclusive else number <= maximum
    if not ok:
        note = f" ({meaning})" if meaning else ""
        expected = _expected_number(minimum, maximum, exclusive, finite)
        raise ValueError(f"{name} must be {expected}{note}, got {value!r}")
    return number


# ---- SciPy optimizer options -------------------------------------------------------------------

_Check = Callable[[Any, str], Any]


def _fail(name: str, expected: str, meaning: str, value: Any) -> ValueError:
    note = f" ({meaning})" if meaning else ""
    return ValueError(f"{name} must be {expected}{note}, got {value!r}")


def _int(
    minimum: int | None, meaning: str, *, none_ok: bool = False, choices: tuple[int, ...] = ()
) -> _Check:
    """An int (not a bool) ``>= minimum`` (any int when ``minimum`` is None) or in ``choices``."""
    expected = (
        f"one of {list(choices)}" if choices
        else "an int" if minimum is None else f"an int >= {minimum}"
    ) + (" or None" if none_ok else "")

    def check(value: Any, name: str) -> Any:
        if value is None and none_ok:
            return None
        if (
            isinstance(value, (bool, np.bool_))
            or not isinstance(value, (int, np.integer))
            or (minimum is not None and value < minimum)
            or (choices and value not in choices)
        ):
            raise _fail(name, expected, meaning, value)
        return int(value)

    return check


def _num(meaning: str, *, minimum: float | None = None, maximum: float | None = None,
         exclusive: bool = False, finite: bool = True) -> _Check:
    def check(value: Any, name: str) -> float:
        return check_number(value, name, minimum=minimum, maximum=maximum, exclusive=exclusive,
                            finite=finite, meaning=meaning)

    return check


def _bool(meaning: str, *, none_ok: bool = False, int_ok: bool = False) -> _Check:
    """A bool (``int_ok``: or an int, as L-BFGS-B's deprecated ``disp``/``iprint``)."""
    kinds = ["an int", "a bool"] if int_ok else ["a bool"]
    kinds += ["None"] if none_ok else []
    expected = kinds[0] if len(kinds) == 1 else ", ".join(kinds[:-1]) + " or " + kinds[-1]

    def check(value: Any, name: str) -> Any:
        if value is None and none_ok:
            return None
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        if int_ok and isinstance(value, (int, np.integer)):
            return int(value)
        raise _fail(name, expected, meaning, value)

    return check


def _steps(meaning: str, *, positive: bool, none_ok: bool = False) -> _Check:
    """A finite number, or a non-empty array of them (``positive``: each ``> 0``)."""
    expected = ("a finite number > 0 or an array of them" if positive
                else "a finite number or an array of them") + (" or None" if none_ok else "")

    def check(value: Any, name: str) -> Any:
        if value is None and none_ok:
            return None
        if _is_number(value):
            array = np.asarray(value, dtype=np.float64)
        elif isinstance(value, (np.ndarray, list, tuple)):
            try:
                array = np.asarray(value)
            except ValueError:  # ragged
                raise _fail(name, expected, meaning, value) from None
            if array.size == 0 or array.dtype.kind not in "iuf":
                raise _fail(name, expected, meaning, value)
        else:
            raise _fail(name, expected, meaning, value)
        if not np.all(np.isfinite(array)) or (positive and not np.all(array > 0)):
            raise _fail(name, expected, meaning, value)
        return float(value) if _is_number(value) else value

    return check


def _choice(choices: tuple[str, ...], meaning: str, *, none_ok: bool = False) -> _Check:
    expected = f"one of {list(choices)}" + (" or None" if none_ok else "")

    def check(value: Any, name: str) -> Any:
        if value is None and none_ok:
            return value
        if not isinstance(value, str) or value not in choices:
            raise _fail(name, expected, meaning, value)
        return value

    return check


_MAXITER = _int(1, "maximum number of iterations")
_MAXITER_OR_NONE = _int(1, "maximum number of iterations; None: 200 per variable", none_ok=True)
_EPS = _steps("finite-difference step, unused with an exact gradient", positive=True)
_REL_STEP = _steps("relative finite-difference step, unused with an exact gradient",
                   positive=False, none_ok=True)
_DISP = _bool("print convergence messages")
_RETURN_ALL = _bool("keep every iterate in the result")
_C1 = _num("Armijo (sufficient decrease) constant of the Wolfe line search; needs c1 < c2",
           minimum=0, maximum=1, exclusive=True)
_C2 = _num("curvature constant of the Wolfe line search; needs c1 < c2",
           minimum=0, maximum=1, exclusive=True)
_NORM = _num("order of the gradient norm; inf: largest component", finite=False)
_TNC_DEFAULT = "a negative value means SciPy's default"

#: Value checks of the options whose meaning SciPy 1.17 documents, per method.
_OPTION_CHECKS: dict[str, dict[str, _Check]] = {
    "L-BFGS-B": {
        "maxcor": _int(1, "L-BFGS-B's number of stored correction pairs"),
        "maxls": _int(1, "maximum number of line search steps per iteration"),
        "maxiter": _MAXITER,
        "maxfun": _int(1, "maximum number of loss-and-gradient evaluations"),
        "ftol": _num("stop when the relative reduction of the loss is <= ftol", minimum=0),
        "gtol": _num("stop when the largest projected gradient component is <= gtol", minimum=0),
        "eps": _EPS,
        "finite_diff_rel_step": _REL_STEP,
        "disp": _bool("deprecated since SciPy 1.15, no effect", none_ok=True, int_ok=True),
        "iprint": _bool("deprecated since SciPy 1.15, no effect", none_ok=True, int_ok=True),
    },
    "BFGS": {
        "gtol": _num("stop when the gradient norm is <= gtol", minimum=0),
        "norm": _NORM,
        "eps": _EPS,
        "maxiter": _MAXITER_OR_NONE,
        "disp": _DISP,
        "return_all": _RETURN_ALL,
        "finite_diff_rel_step": _REL_STEP,
        "xrtol": _num("stop when the step is <= xrtol * |x|", minimum=0),
        "c1": _C1,
        "c2": _C2,
    },
    "CG": {
        "gtol": _num("stop when the gradient norm is <= gtol", minimum=0),
        "norm": _NORM,
        "eps": _EPS,
        "maxiter": _MAXITER_OR_NONE,
        "disp": _DISP,
        "return_all": _RETURN_ALL,
        "finite_diff_rel_step": _REL_STEP,
        "c1": _C1,
        "c2": _C2,
    },
    "Newton-CG": {
        "xtol": _num("stop when the average relative step is <= xtol", minimum=0),
        "eps": _EPS,
        "maxiter": _MAXITER_OR_NONE,
        "disp": _DISP,
        "return_all": _RETURN_ALL,
        "c1": _C1,
        "c2": _C2,
    },
    "TNC": {
        "eps": _EPS,
        "maxfun": _int(1, "maximum number of loss-and-gradient evaluations; None: "
                          "max(100, 10 per variable)", none_ok=True),
        "maxCGit": _int(None, "Hessian-vector products per iteration; 0: steepest descent, "
                              "negative: automatic"),
        "mesg_num": _int(None, "message level", none_ok=True),
        "eta": _num("line search severity; outside [0, 1] means 0.25"),
        "stepmx": _num("maximum line search step; too small means 10"),
        "accuracy": _num("relative precision of finite differences; tiny means the default"),
        "minfev": _num("estimate of the minimum loss"),
        "ftol": _num(f"loss precision goal; {_TNC_DEFAULT}"),
        "xtol": _num(f"precision goal for x; {_TNC_DEFAULT}"),
        "gtol": _num(f"projected gradient precision goal; {_TNC_DEFAULT}"),
        "rescale": _num(f"log10 scale change that triggers loss rescaling; {_TNC_DEFAULT}",
                        finite=False),
        "disp": _DISP,
        "finite_diff_rel_step": _REL_STEP,
    },
    "SLSQP": {
        "maxiter": _MAXITER,
        "ftol": _num("precision goal for the loss and the optimality conditions", minimum=0),
        "iprint": _int(None, "verbosity level"),
        "disp": _DISP,
        "eps": _EPS,
        "finite_diff_rel_step": _REL_STEP,
    },
    "trust-constr": {
        "xtol": _num("stop when the trust radius is < xtol", minimum=0),
        "gtol": _num("stop when the Lagrangian gradient and constraint violation are < gtol",
                     minimum=0),
        "barrier_tol": _num("barrier parameter threshold for termination", minimum=0),
        "sparse_jacobian": _bool("represent constraint Jacobians as sparse", none_ok=True),
        "maxiter": _MAXITER,
        "verbose": _int(None, "verbosity level", choices=(0, 1, 2, 3)),
        "finite_diff_rel_step": _REL_STEP,
        "initial_constr_penalty": _num("initial constraint penalty", minimum=0, exclusive=True),
        "initial_tr_radius": _num("initial trust radius", minimum=0, exclusive=True),
        "initial_barrier_parameter": _num("initial barrier parameter", minimum=0, exclusive=True),
        "initial_barrier_tolerance": _num("initial barrier tolerance", minimum=0, exclusive=True),
        "factorization_method": _choice(
            ("NormalEquation", "AugmentedSystem", "QRFactorization", "SVDFactorization"),
            "factorization of the constraint Jacobian; None: automatic", none_ok=True,
        ),
        "disp": _DISP,
    },
}

#: SciPy's defaults of the Wolfe line search constants, for the ``c1 < c2`` check.
_WOLFE_DEFAULTS = {"BFGS": (1e-4, 0.9), "CG": (1e-4, 0.4), "Newton-CG": (1e-4, 0.9)}


def check_options(method: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """Check the values of SciPy ``method``'s ``options`` before any work is done.

    Only options whose meaning SciPy documents are checked (their ranges are SciPy 1.17's, e.g.
    ints ``>= 1`` for ``maxiter``/``maxfun``/``maxcor``/``maxls``, finite tolerances ``>= 0``,
    ``eps > 0``, ``0 < c1 < c2 < 1``; TNC's tolerances may be negative, meaning "default").
    Option names this function does not know pass through unchecked (names are checked elsewhere).

    Args:
        method: one of the gradient-based SciPy methods (any case).
        options: option name -> value.

    Returns:
        A plain dict copy of ``options``; checked scalars become Python ``int``/``float``/``bool``.

    Raises:
        TypeError: ``options`` is not a mapping.
        ValueError: ``method`` is unknown, or an option's value is out of range or of the wrong
            type, e.g. ``"options['maxcor'] must be an int >= 1 (L-BFGS-B's number of stored
            correction pairs), got 0"``.
    """
    canonical = next(
        (m for m in SCIPY_METHODS if isinstance(method, str) and m.lower() == method.lower()), None
    )
    if canonical is None:
        raise ValueError(f"method must be one of the SciPy methods {list(SCIPY_METHODS)}, got {method!r}")
    if not isinstance(options, Mapping):
        raise TypeError(
            f"options must be a mapping of SciPy {canonical} options, got {type(options).__name__}"
        )
    checks = _OPTION_CHECKS[canonical]
    checked = {
        key: checks[key](value, f"options[{key!r}]") if key in checks else value
        for key, value in options.items()
    }
    if canonical in _WOLFE_DEFAULTS and ("c1" in checked or "c2" in checked):
        c1 = checked.get("c1", _WOLFE_DEFAULTS[canonical][0])
        c2 = checked.get("c2", _WOLFE_DEFAULTS[canonical][1])
        if not c1 < c2:
            raise ValueError(
                f"options['c1'] must be smaller than options['c2'] ({canonical}'s Wolfe line search "
                f"needs 0 < c1 < c2 < 1), got c1={c1!r}, c2={c2!r}"
            )
    return checked


def as_points(points: Any, argument: str = "points") -> np.ndarray:
    """Validate an (N, d) array of finite coordinates with N >= 1; returns it as float64.

    Raises:
        ValueError: another rank, zero points, or NaN/inf coordinates; the message names
            ``argument``.
    """
    array = np.asarray(points, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"{argument} must be an (N, d) array of coordinates, got shape {array.shape}")
    if array.shape[0] == 0:
        raise ValueError(f"{argument} has zero points; give at least one")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{argument} contains NaN or infinite coordinates")
    return array
