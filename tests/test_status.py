"""pinn.status (one status vocabulary, SciPy's codes mapped to it) and pinn.validation's option checks.

The SciPy tests call ``scipy.optimize.minimize`` directly on NumPy functions (no TensorFlow), so the
mapping table is checked against what each method really returns.
"""

import math
import warnings

import numpy as np
import pytest
import scipy.optimize

from pinn.status import SCIPY_METHODS, Status, status_from_scipy
from pinn.validation import check_int, check_number, check_options

METHODS = ("L-BFGS-B", "BFGS", "CG", "Newton-CG", "TNC", "SLSQP", "trust-constr")
X0 = np.array([-1.2, 1.0, 0.5])


# ---- problems ----------------------------------------------------------------------------------

def quadratic(x):
    return float(x @ x), 2.0 * x


def rosenbrock(x):
    return float(scipy.optimize.rosen(x)), scipy.optimize.rosen_der(x)


def wrong_gradient(x):
    """The gradient points uphill: every line search fails to decrease the loss."""
    return float(x @ x), -2.0 * x


def nan_after(n, gradient_too=True):
    """Rosenbrock that returns a NaN loss (and gradient) from evaluation ``n + 1`` on."""
    calls = [0]

    def fun(x):
        calls[0] += 1
        f, g = rosenbrock(x)
        if calls[0] > n:
            return math.nan, np.full_like(x, np.nan) if gradient_too else g
        return f, g

    return fun


def stop_callback(intermediate_result):
    raise StopIteration


def run(method, fun, x0, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return scipy.optimize.minimize(fun, x0, jac=True, method=method, **kwargs)


# ---- Status ------------------------------------------------------------------------------------

def test_status_is_a_string_enum_with_the_agreed_values():
    assert [s.value for s in Status] == [
        "converged", "limit_reached", "stopped", "interrupted", "nonfinite", "failed",
    ]
    assert Status.CONVERGED == "converged"
    assert Status("limit_reached") is Status.LIMIT_REACHED
    assert str(Status.NONFINITE) == "nonfinite"
    assert f"{Status.FAILED}" == "failed"
    assert all(s.description for s in Status)


def test_finished_and_resumable():
    assert {s for s in Status if s.finished} == {Status.CONVERGED, Status.LIMIT_REACHED}
    assert {s for s in Status if s.resumable} == {
        Status.LIMIT_REACHED, Status.STOPPED, Status.INTERRUPTED, Status.NONFINITE, Status.FAILED,
    }


# ---- SciPy, run for real -----------------------------------------------------------------------

@pytest.mark.parametrize("method", METHODS)
def test_convergence(method):
    result = run(method, quadratic, np.ones(3))
    expected_code = {"TNC": (0, 1, 2), "trust-constr": (1, 2)}.get(method, (0,))
    assert result.status in expected_code, result.message
    assert status_from_scipy(method, result) is Status.CONVERGED


@pytest.mark.parametrize("method", METHODS)
def test_iteration_limit(method):
    options = {"maxfun": 3} if method == "TNC" else {"maxiter": 2}  # TNC has no maxiter
    result = run(method, rosenbrock, X0, options=options)
    expected_code = {"L-BFGS-B": 1, "TNC": 3, "SLSQP": 9, "trust-constr": 0}.get(method, 1)
    assert result.status == expected_code, result.message
    assert status_from_scipy(method, result) is Status.LIMIT_REACHED


def test_lbfgsb_evaluation_limit():
    result = run("L-BFGS-B", rosenbrock, X0, options={"maxfun": 3})
    assert result.status == 1 and "EVALUATIONS" in result.message
    assert status_from_scipy("L-BFGS-B", result) is Status.LIMIT_REACHED


@pytest.mark.parametrize("method", METHODS)
def test_callback_stop(method):
    if method == "TNC":
        pytest.skip("TNC does not honour StopIteration: it propagates out of minimize "
                    "(see test_tnc_stop_iteration_propagates)")
    result = run(method, rosenbrock, X0, callback=stop_callback)
    assert result.status == (3 if method == "trust-constr" else 99), result.message
    assert status_from_scipy(method, result) is Status.STOPPED


def test_tnc_stop_iteration_propagates():
    """Why pinn raises its own exception for TNC and builds a status-99 result itself."""
    with pytest.raises(StopIteration):
        run("TNC", rosenbrock, X0, callback=stop_callback)
    pinn_result = scipy.optimize.OptimizeResult(
        x=X0, fun=1.0, status=99, success=False, message="stopped by a callback"
    )
    assert status_from_scipy("TNC", pinn_result) is Status.STOPPED


@pytest.mark.parametrize("method", METHODS)
def test_failure(method):
    if method == "trust-constr":
        # trust-constr shrinks its trust region until the xtol test passes (status 2, converged),
        # so an uphill gradient does not fail it; its failure code 4 needs constraints that
        # cannot be met.
        both = scipy.optimize.LinearConstraint(np.ones((2, 2)), [1.0, 2.0], [1.0, 2.0])
        result = run(method, quadratic, np.zeros(2), constraints=[both], options={"maxiter": 200})
        expected_codes = (4,)
    else:
        result = run(method, wrong_gradient, np.ones(3))
        expected_codes = {"TNC": (4,), "SLSQP": tuple(range(2, 9))}.get(method, (2,))
    assert result.status in expected_codes, result.message
    assert status_from_scipy(method, result) is Status.FAILED


def test_lbfgsb_failure_is_abnormal():
    result = run("L-BFGS-B", wrong_gradient, np.ones(3))
    assert result.message.startswith("ABNORMAL")
    assert status_from_scipy("l-bfgs-b", result) is Status.FAILED


@pytest.mark.parametrize("method", METHODS)
def test_nan_loss(method):
    if method == "trust-constr":
        pytest.skip("trust-constr rejects NaN steps and keeps its last finite point until "
                    "maxiter (status 0): its result shows no NaN to map")
    # Newton-CG with a NaN gradient ends in 'CG iterations didn't converge' at a finite point;
    # a NaN loss with a finite gradient gives its 'NaN result encountered' (status 3).
    fun = nan_after(3, gradient_too=(method != "Newton-CG"))
    result = run(method, fun, X0)
    assert not result.success
    assert status_from_scipy(method, result) is Status.NONFINITE, (result.status, result.message)


def test_nan_loss_reported_as_convergence_is_nonfinite():
    """L-BFGS-B may report CONVERGENCE (0) with a NaN loss when only the loss is NaN."""
    result = run("L-BFGS-B", nan_after(3, gradient_too=False), X0)
    assert result.status == 0 and math.isnan(result.fun)
    assert status_from_scipy("L-BFGS-B", result) is Status.NONFINITE


# ---- the table, code by code -------------------------------------------------------------------

def fake(status, message="", fun=1.0, **fields):
    fields = {"x": np.zeros(2), "jac": np.zeros(2), **fields}
    return scipy.optimize.OptimizeResult(status=status, message=message, fun=fun, **fields)


TABLE = [
    ("L-BFGS-B", 0, "CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH", Status.CONVERGED),
    ("L-BFGS-B", 1, "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT", Status.LIMIT_REACHED),
    ("L-BFGS-B", 2, "ABNORMAL: ", Status.FAILED),
    ("L-BFGS-B", 2, "WARNING: ROUNDING ERRORS PREVENT PROGRESS", Status.FAILED),
    ("BFGS", 2, "Desired error not necessarily achieved due to precision loss.", Status.FAILED),
    ("BFGS", 3, "NaN result encountered.", Status.NONFINITE),
    ("CG", 1, "Maximum number of iterations has been exceeded.", Status.LIMIT_REACHED),
    ("Newton-CG", 3, "NaN result encountered.", Status.NONFINITE),
    ("Newton-CG", 3, "Warning: CG iterations didn't converge. The Hessian is not positive "
                     "definite.", Status.FAILED),
    ("Newton-CG", 5, "", Status.STOPPED),
    ("TNC", -1, "Infeasible (lower bound > upper bound)", Status.FAILED),
    ("TNC", 1, "Converged (|f_n-f_(n-1)| ~= 0)", Status.CONVERGED),
    ("TNC", 2, "Converged (|x_n-x_(n-1)| ~= 0)", Status.CONVERGED),
    ("TNC", 3, "Max. number of function evaluations reached", Status.LIMIT_REACHED),
    ("TNC", 4, "Linear search failed", Status.FAILED),
    ("TNC", 5, "All lower bounds are equal to the upper bounds", Status.CONVERGED),
    ("TNC", 6, "Unable to progress", Status.FAILED),
    ("TNC", 7, "User requested end of minimization", Status.STOPPED),
    ("SLSQP", 8, "Positive directional derivative for linesearch", Status.FAILED),
    ("SLSQP", 9, "Iteration limit reached", Status.LIMIT_REACHED),
    ("trust-constr", 0, "The maximum number of function evaluations is exceeded.",
     Status.LIMIT_REACHED),
    ("trust-constr", 2, "`xtol` termination condition is satisfied.", Status.CONVERGED),
    ("trust-constr", 3, "`callback` raised `StopIteration`.", Status.STOPPED),
    ("trust-constr", 4, "Constraint violation exceeds 'gtol'", Status.FAILED),
    ("TNC", 99, "stopped by a callback", Status.STOPPED),
    ("L-BFGS-B", -1, "interrupted (KeyboardInterrupt)", Status.INTERRUPTED),
    ("TNC", -1, "interrupted (KeyboardInterrupt)", Status.INTERRUPTED),
    ("BFGS", 42, "something new", Status.FAILED),
    ("SLSQP", None, "", Status.FAILED),
]


@pytest.mark.parametrize("method, code, message, expected", TABLE)
def test_table(method, code, message, expected):
    assert status_from_scipy(method, fake(code, message)) is expected


def test_status_instances_and_values_pass_through():
    assert status_from_scipy("BFGS", fake(Status.INTERRUPTED)) is Status.INTERRUPTED
    assert status_from_scipy("BFGS", fake("nonfinite")) is Status.NONFINITE


def test_nonfinite_values_override_but_not_stops():
    assert status_from_scipy("BFGS", fake(2, fun=math.nan)) is Status.NONFINITE
    assert status_from_scipy("TNC", fake(3, fun=math.inf)) is Status.NONFINITE
    assert status_from_scipy("BFGS", fake(99, fun=math.nan)) is Status.STOPPED
    nan_jac = scipy.optimize.OptimizeResult(status=0, message="", fun=1.0, x=np.zeros(2),
                                            jac=np.array([0.0, np.nan]))
    assert status_from_scipy("CG", nan_jac) is Status.NONFINITE
    # trust-constr's jac is a list of constraint Jacobians: its gradient is ``grad``
    trust = fake(1, jac=[np.zeros((0, 2))], grad=np.array([np.inf, 0.0]))
    assert status_from_scipy("trust-constr", trust) is Status.NONFINITE
    assert status_from_scipy("trust-constr", fake(1, jac=[np.zeros((0, 2))])) is Status.CONVERGED


def test_method_names():
    assert set(SCIPY_METHODS) == set(METHODS)
    assert status_from_scipy("newton-cg", fake(0)) is Status.CONVERGED
    with pytest.raises(ValueError, match="Nelder-Mead"):
        status_from_scipy("Nelder-Mead", fake(0))


# ---- pinn.validation ---------------------------------------------------------------------------

@pytest.mark.parametrize("options, name", [
    ({"maxcor": 0}, "maxcor"),
    ({"ftol": -1}, "ftol"),
    ({"gtol": math.nan}, "gtol"),
    ({"gtol": math.inf}, "gtol"),
    ({"maxls": 0}, "maxls"),
    ({"maxiter": True}, "maxiter"),
    ({"maxiter": 1.5}, "maxiter"),
    ({"maxfun": -3}, "maxfun"),
    ({"maxiter": "10"}, "maxiter"),
    ({"ftol": "1e-9"}, "ftol"),
    ({"eps": 0.0}, "eps"),
    ({"eps": np.array([1e-8, -1e-8])}, "eps"),
    ({"finite_diff_rel_step": math.nan}, "finite_diff_rel_step"),
])
def test_bad_lbfgsb_options_are_rejected_by_name(options, name):
    with pytest.raises(ValueError, match=rf"options\['{name}'\]"):
        check_options("L-BFGS-B", options)


def test_error_message_says_what_was_expected():
    with pytest.raises(ValueError) as info:
        check_options("L-BFGS-B", {"maxcor": 0})
    assert str(info.value) == (
        "options['maxcor'] must be an int >= 1 (L-BFGS-B's number of stored correction pairs), got 0"
    )


def test_good_options_are_accepted_and_returned_as_a_plain_copy():
    options = {"ftol": np.float32(1e-9), "maxiter": np.int64(10), "maxfun": 5, "gtol": 0,
               "maxcor": 50, "maxls": 50, "eps": np.array([1e-8, 1e-7]), "not_checked": object()}
    checked = check_options("l-bfgs-b", options)
    assert checked is not options and type(checked) is dict
    assert checked.keys() == options.keys()
    assert type(checked["maxiter"]) is int and checked["maxiter"] == 10
    assert type(checked["ftol"]) is float and checked["ftol"] == float(np.float32(1e-9))
    assert checked["not_checked"] is options["not_checked"]


@pytest.mark.parametrize("method, options", [
    ("BFGS", {"maxiter": None, "gtol": 1e-6, "norm": np.inf, "c1": 1e-4, "c2": 0.9, "disp": False}),
    ("CG", {"c2": 0.3, "return_all": np.bool_(True)}),
    ("Newton-CG", {"xtol": 0.0, "maxiter": np.int32(5)}),
    ("TNC", {"maxfun": None, "maxCGit": -1, "ftol": -1, "xtol": -1, "gtol": -1, "eta": -1,
             "rescale": -1, "stepmx": 0, "accuracy": 0}),
    ("TNC", {"maxCGit": 0, "maxfun": np.int64(100)}),
    ("SLSQP", {"maxiter": 100, "ftol": 1e-6, "iprint": 1, "disp": False}),
    ("trust-constr", {"maxiter": 10, "verbose": 0, "xtol": 1e-8, "initial_tr_radius": 1.0,
                      "factorization_method": None, "sparse_jacobian": None}),
])
def test_good_options_of_every_method(method, options):
    assert check_options(method, options).keys() == options.keys()


@pytest.mark.parametrize("method, options, name", [
    ("BFGS", {"c1": 0.0}, "c1"),
    ("BFGS", {"c2": 1.0}, "c2"),
    ("CG", {"c1": 0.5}, "c1"),  # CG's default c2 is 0.4, so c1 = 0.5 breaks c1 < c2
    ("BFGS", {"maxiter": 0}, "maxiter"),
    ("BFGS", {"disp": 1}, "disp"),
    ("BFGS", {"norm": math.nan}, "norm"),
    ("Newton-CG", {"xtol": -1e-5}, "xtol"),
    ("TNC", {"maxfun": 0}, "maxfun"),
    ("TNC", {"maxCGit": 1.0}, "maxCGit"),
    ("TNC", {"ftol": math.nan}, "ftol"),
    ("SLSQP", {"ftol": -1e-6}, "ftol"),
    ("trust-constr", {"verbose": 4}, "verbose"),
    ("trust-constr", {"initial_tr_radius": 0}, "initial_tr_radius"),
    ("trust-constr", {"factorization_method": "LU"}, "factorization_method"),
])
def test_bad_options_of_every_method(method, options, name):
    with pytest.raises(ValueError, match=rf"options\['{name}'\]"):
        check_options(method, options)


def test_options_must_be_a_mapping_and_the_method_known():
    with pytest.raises(TypeError, match="options"):
        check_options("L-BFGS-B", [("maxiter", 10)])
    with pytest.raises(ValueError, match="method"):
        check_options("Powell", {})


def test_every_checked_option_exists_in_scipy():
    """The checks name only options SciPy's own solver functions accept."""
    import inspect

    from scipy.optimize import _minimize as solvers
    from pinn.validation import _OPTION_CHECKS

    functions = {
        "L-BFGS-B": "_minimize_lbfgsb", "BFGS": "_minimize_bfgs", "CG": "_minimize_cg",
        "Newton-CG": "_minimize_newtoncg", "TNC": "_minimize_tnc", "SLSQP": "_minimize_slsqp",
        "trust-constr": "_minimize_trustregion_constr",
    }
    for method, checks in _OPTION_CHECKS.items():
        accepted = inspect.signature(getattr(solvers, functions[method])).parameters
        assert set(checks) <= set(accepted), (method, set(checks) - set(accepted))


def test_check_number():
    assert check_number(np.float32(0.5), "lr", minimum=0, exclusive=True) == 0.5
    assert check_number(np.int64(3), "w") == 3.0
    assert check_number(math.inf, "w", finite=False) == math.inf
    for bad in (True, np.bool_(False), "1", None, [1.0], math.nan, math.inf, 1j):
        with pytest.raises(ValueError, match="^lr must be a finite number"):
            check_number(bad, "lr")
    with pytest.raises(ValueError, match=r"^lr must be a finite number > 0 \(learning rate\), got 0"):
        check_number(0, "lr", minimum=0, exclusive=True, meaning="learning rate")
    with pytest.raises(ValueError, match=r"in \(0, 1\)"):
        check_number(1, "c", minimum=0, maximum=1, exclusive=True)
    with pytest.raises(ValueError, match="other than NaN"):
        check_number(math.nan, "w", finite=False)


def test_check_int_unchanged():
    assert check_int(3, "n", minimum=1) == 3
    with pytest.raises(ValueError, match="n must be a positive int, got 0"):
        check_int(0, "n", minimum=1)
