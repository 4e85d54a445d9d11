"""Dense self-scaled quasi-Newton phases: SSBFGS, SSBroyden1, SSBroyden2 and plain dense BFGS.

Urbán, Stefanou & Pons (J. Comput. Phys. 2025, arXiv:2405.04230, "Unveiling the optimization
process of physics informed neural networks: how accurate and competitive can PINNs be?") report
PINN errors orders of magnitude below L-BFGS's with dense quasi-Newton methods of the self-scaled
Broyden class (Al-Baali 1998; Al-Baali & Khalfan 2005; Al-Baali, Spedicato &
Maggioni 2014). :func:`quasi_newton` runs them as an optimizer phase on the same
:class:`~pinn.objective.CompiledObjective`, :class:`~pinn.tracking.PhaseTracker`, callbacks and
:class:`~pinn.status.Status` vocabulary as :func:`pinn.minimize` and :func:`pinn.adam`.

The update (inverse Hessian estimate H, step s = x_{k+1} - x_k, gradient change y = g_{k+1} - g_k)::

    H+ = (1 / tau) [H - (H y)(H y)^T / (y^T H y) + phi (y^T H y) v v^T] + s s^T / (s^T y),
    v  = s / (s^T y) - H y / (y^T H y),

the Broyden class written on H with a scaling tau > 0 (phi = 1: BFGS, phi = 0: DFP). With

    b = s^T B s / s^T y = -alpha rho s^T g_k   (B = H^-1, s = alpha p, p = -H g_k, rho = 1 / s^T y),
    h = y^T H y / s^T y,   a = b h - 1 >= 0,   c = sqrt(a / (1 + a)),
    rho_- = min(1, h (1 - c)),   theta_- = (rho_- - 1) / a,

the methods choose (theta is the Broyden parameter on B; phi = (1 - theta) / (1 + a theta) is the
same parameter on H):

============  ===========================================================  =====================
method        theta                                                        tau
============  ===========================================================  =====================
BFGS-dense    0 (phi = 1)                                                  1
SSBFGS        0 (phi = 1)                                                  min(1, 1/b)
SSBroyden1    b = 1: theta_-; b > 1: max(theta_-, 1/(1-b));                 tau_k below
              b < 1: min(theta_+, 1/(1-b)), theta_+ = max(1, b (1 + c))
SSBroyden2    max(theta_-, min(theta_+, (1 - b)/b)), theta_+ = 1/rho_-     tau_k below
============  ===========================================================  =====================

    sigma = 1 + a theta,   tau1 = min(1, 1/b),
    tau_k = min(tau1 sigma^(-1/(n-1)), sigma)    if theta <= 0,
    tau_k = tau1 min(sigma^(-1/(n-1)), 1/theta)  if theta > 0.

SSBFGS is Al-Baali's self-scaled BFGS (the authors' code calls it ``SSBFGS_AB``; Oren–Luenberger's
tau = 1/b is not offered). With the option ``initial_scale`` (default False, as in the authors'
code; on our small Burgers test it helped SSBroyden as often as it hurt, and hurt BFGS and SSBFGS)
the first update after a (re)start, from H = gamma I, uses tau = h / sigma instead (for BFGS and
SSBFGS tau = h: H0 becomes (s^T y / y^T y) I, Nocedal & Wright 2006, eq. 6.20), and SSBroyden1 then
uses theta_+ = 1/rho_-.

Which formula each line implements (k-th update; Urbán, Stefanou & Pons 2025, Sec. 2; the
equation numbers are those the authors' example scripts cite: "formula 11" for Al-Baali's tau of
SSBFGS, "formulas 13-23" for SSBroyden2's tau and phi):

- the scaled Broyden-class update of H (the first display above): :func:`_step` writes it as
  ``H+ = H / tau + A u u^T + B (u s^T + s u^T) + C s s^T`` with ``u = H y``,
  ``A = (phi - 1) / (tau q)``, ``B = -phi rho / tau``, ``C = rho + phi q rho^2 / tau``
  (``q = y^T H y``, ``rho = 1 / s^T y``), which is the display multiplied out;
- ``b_k = s^T B s / s^T y = -alpha rho s^T g_k`` and ``h_k = y^T H y / s^T y``: ``b`` and ``h`` in
  :func:`_step` (B = H^-1 is never formed: ``B s = -alpha g_k`` because s = -alpha H g_k);
- ``a_k = b_k h_k - 1``, ``c_k = sqrt(a_k / (1 + a_k))``, ``rho_k^- = min(1, h_k (1 - c_k))``,
  ``theta_k^- = (rho_k^- - 1) / a_k``, ``theta_k^+ = 1 / rho_k^-``: :func:`self_scaling`;
- ``theta_k`` (SSBroyden2) ``= max(theta_k^-, min(theta_k^+, (1 - b_k) / b_k))``; ``phi_k =
  (1 - theta_k) / (1 + a_k theta_k)`` (the Broyden parameter on B turned into the one on H);
- ``sigma_k = 1 + a_k theta_k``, ``tau_k = min(rho_k sigma_k^(-1/(n-1)), sigma_k)`` for
  ``theta_k <= 0``, ``tau_k = rho_k min(sigma_k^(-1/(n-1)), 1 / theta_k)`` for ``theta_k > 0``,
  with ``rho_k = min(1, 1 / b_k)`` (``tau1`` in the code);
- SSBFGS: ``phi_k = 1`` and Al-Baali's ``tau_k = min(1, 1 / b_k)``; BFGS-dense: ``tau = phi = 1``
  (then the update is the textbook BFGS inverse update, Nocedal & Wright 2006, eq. 6.17);
- SSBroyden1 differs only in theta_k: ``theta_k^-`` when ``b_k = 1``, ``max(theta_k^-, 1 / (1 -
  b_k))`` when ``b_k > 1``, ``min(max(1, b_k (1 + c_k)), 1 / (1 - b_k))`` when ``b_k < 1``.

Verification: the paper's printed equations could not be read here (only its abstract was
reachable), so each expression above was checked against the authors' code as two independent
public ports of it reproduce it (a PyTorch port of their modified SciPy BFGS, SSBroyden2 branch,
and a JAX/optax port, SSBroyden1 and SSBroyden2 branches): every expression agrees with ours,
including SSBroyden1's ``theta^+ = max(1, b (1 + c))`` against SSBroyden2's ``1 / rho^-``. No formula
was changed. ``tests/test_qn_resume_and_errors.py`` checks what the formulas imply: after every
update of every method (with and without initial scaling) the secant condition ``H_{k+1} y_k = s_k``
holds to round-off, H stays symmetric positive definite when ``s^T y > 0``, the next direction is
``-H_{k+1} g_{k+1}``; BFGS-dense equals the textbook BFGS inverse update on a random example; and
``self_scaling`` returns the expressions above. The initial scaling (option ``initial_scale``) and
SSBroyden1 are from the authors' code only. Our safeguards (not in the
paper): a = bh - 1 below 1e-12 is taken as 0 and theta = 0 (then v = 0 and every Broyden member
gives the same update); an update whose tau or phi is not finite, or tau not positive, is skipped
and counted, as is one with s^T y <= 0 or y^T H y <= 0; a direction that is not a descent direction
(H no longer positive definite after round-off) or a failed line search resets H = gamma I.

Cost. H is dense: 8 n^2 bytes (73 MB at n = 3021; ``max_dense_size`` refuses larger n before any
work, default 20000, i.e. 3.2 GB). Each iteration makes one pass of H for the product
z = H g_{k+1} and one pass for the rank-2 update, never an n^3 product: H y = z - H g_k = z + p_k
reuses the last direction (recomputed by a second product when cancellation would cost accuracy),
the next direction p_{k+1} = -(z / tau + M g_{k+1}) needs only vectors, and the scaling 1/tau is
kept in a scalar (H = scale * H_hat) so that the update touches H_hat once. The update
M = A u u^T + B (u s^T + s u^T) + C s s^T (u = H y) is written as one symmetric rank-2 update
x1 x2^T + x2 x1^T (BLAS ``dsyr2``, upper triangle) when indefinite, which BFGS-type updates always
are, or as two ``dsyr`` when definite. ``update_backend="tensorflow"`` does the same with XLA-fused
TensorFlow ops on the full matrix; ``benchmarks/quasi_newton_update.py`` measures both (NumPy
chosen as the default: see its JSON).

The line search is a strong-Wolfe search (Nocedal & Wright 2006, Algorithms 3.5 and 3.6: bracketing
by doubling, then zoom with safeguarded cubic, else quadratic, else bisection interpolation). The
first trial step is SciPy's ``min(1, 1.01 * 2 (f_{k-1} - f_k) / -g^T p)`` (f_{k-1} = f_k + |g|/2 when
unknown), as in the authors' code, which runs SciPy's line search (option ``initial_step`` =
``"interpolate"``); ``"unit"`` tries 1 first once H has been updated (Nocedal & Wright's advice),
which on our small Burgers test made the self-scaled methods, whose scaled H overshoots, spend about
2 evaluations per iteration instead of 1.1. Every trial point is one evaluation of the objective,
counted; none is evaluated twice. When the search runs out of evaluations (``maxls``) at a point
that decreases the loss enough (Armijo) but misses the curvature condition, that point is taken.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any, Callable, Iterable, Mapping, NamedTuple

import numpy as np
import scipy.linalg.blas as _blas
from threadpoolctl import threadpool_limits

from pinn.callbacks import Callback, CallbackList
from pinn.signals import held_signals
from pinn.objective import CompiledObjective, Evaluation
from pinn.status import Status
from pinn.tracking import PhaseResult, PhaseTracker
from pinn.validation import check_int, check_number

__all__ = [
    "QUASI_NEWTON_METHODS",
    "QUASI_NEWTON_DEFAULTS",
    "UPDATE_BACKENDS",
    "INITIAL_STEPS",
    "QuasiNewtonState",
    "quasi_newton",
    "quasi_newton_options",
    "check_dense_size",
    "self_scaling",
]

#: The dense quasi-Newton methods (names as in the authors' code; ``BFGS-dense`` is plain BFGS,
#: the control, named so as not to be confused with SciPy's ``BFGS`` run by :func:`pinn.minimize`).
QUASI_NEWTON_METHODS = ("SSBFGS", "SSBroyden1", "SSBroyden2", "BFGS-dense")

#: Where the O(n^2) products and updates run.
UPDATE_BACKENDS = ("numpy", "tensorflow")

#: Default options of :func:`quasi_newton` (see its docstring for their meanings).
QUASI_NEWTON_DEFAULTS: dict[str, Any] = {
    "maxiter": 50000,
    "maxfun": None,
    "gtol": 1e-12,
    "ftol": 0.0,
    "c1": 1e-4,
    "c2": 0.9,
    "maxls": 20,
    "max_dense_size": 20000,
    "initial_scale": False,
    "restart_on_failure": True,
    "initial_step": "interpolate",
}

#: Choices of the first trial step of each line search (option ``initial_step``).
INITIAL_STEPS = ("interpolate", "unit")

_A_TINY = 1e-12  # a = b h - 1 below this is round-off of a = 0 (s parallel to H y)
_CANCELLATION = 1e-3  # recompute H y directly when |z + p| < this * |z|
_SCALE_RANGE = (2.0 ** -400, 2.0 ** 400)  # fold the scalar scale into H_hat outside this range


def _canonical_method(method: Any) -> str:
    if isinstance(method, str):
        for name in QUASI_NEWTON_METHODS:
            if name.lower() == method.lower():
                return name
    raise ValueError(f"method must be one of the dense quasi-Newton methods "
                     f"{list(QUASI_NEWTON_METHODS)}, got {method!r}")


# ---- the self-scaling parameters --------------------------------------------------------------
def self_scaling(method: str, b: float, h: float, n: int, *, first: bool = False) -> tuple[float, float]:
    """The scaling ``tau`` and the Broyden parameter ``phi`` (on H) of one update.

    Formulas in the module docstring (Urbán, Stefanou & Pons 2025; the SSBroyden details as in the
    authors' code).

    Args:
        method: one of :data:`QUASI_NEWTON_METHODS`.
        b: ``s^T B s / s^T y`` (> 0), dimensionless.
        h: ``y^T H y / s^T y`` (> 0), dimensionless.
        n: number of weights (the exponent ``-1/(n-1)``; n = 1 uses 1 for that factor).
        first: the first update from H = gamma I with initial scaling (tau = h / sigma).

    Returns:
        ``(tau, phi)`` as Python floats (may be non-finite for degenerate input: callers check).
    """
    method = _canonical_method(method)
    a = b * h - 1.0
    if method in ("BFGS-dense", "SSBFGS") or a < _A_TINY:
        theta = 0.0
    else:
        c = math.sqrt(a / (1.0 + a))
        rho_minus = min(1.0, h * (1.0 - c))
        theta_minus = (rho_minus - 1.0) / a
        if method == "SSBroyden1":
            theta_plus = 1.0 / rho_minus if first else max(1.0, b * (1.0 + c))
            if b == 1.0:
                theta = theta_minus
            elif b > 1.0:
                theta = max(theta_minus, 1.0 / (1.0 - b))
            else:
                theta = min(theta_plus, 1.0 / (1.0 - b))
        else:  # SSBroyden2
            theta = max(theta_minus, min(1.0 / rho_minus, (1.0 - b) / b))
    a = max(a, 0.0)
    sigma = 1.0 + a * theta
    phi = (1.0 - theta) / sigma if sigma != 0.0 else math.inf
    if first:
        return h / sigma, phi
    if method == "BFGS-dense":
        return 1.0, 1.0
    tau1 = min(1.0, 1.0 / b)
    if method == "SSBFGS":
        return tau1, 1.0
    sigma_n = abs(sigma) ** (-1.0 / (n - 1)) if n > 1 and sigma != 0.0 else 1.0
    if theta <= 0.0:
        tau = min(tau1 * sigma_n, sigma)
    else:
        tau = tau1 * min(sigma_n, 1.0 / theta)
    return tau, phi


# ---- dense symmetric storage ------------------------------------------------------------------
class _NumpyMatrix:
    """H_hat as a Fortran-ordered float64 (n, n) array of which the upper triangle is kept (the
    lower one is stale); BLAS ``dsymv``/``dsyr2``/``dsyr`` on the upper triangle, in place."""

    name = "numpy"

    def __init__(self, full: np.ndarray, copy: bool = True) -> None:
        self.array = np.array(full, dtype=np.float64, order="F", copy=copy)
        self.size = self.array.shape[0]

    def matvec(self, alpha: float, v: np.ndarray) -> np.ndarray:
        return _blas.dsymv(alpha, self.array, v, lower=0)

    def syr2(self, alpha: float, x: np.ndarray, y: np.ndarray) -> None:
        out = _blas.dsyr2(alpha, x, y, a=self.array, lower=0, overwrite_a=1)
        if out is not self.array and not np.shares_memory(out, self.array):  # pragma: no cover
            self.array = np.asfortranarray(out)

    def syr(self, alpha: float, x: np.ndarray) -> None:
        out = _blas.dsyr(alpha, x, a=self.array, lower=0, overwrite_a=1)
        if out is not self.array and not np.shares_memory(out, self.array):  # pragma: no cover
            self.array = np.asfortranarray(out)

    def set_identity(self) -> None:
        self.array.fill(0.0)
        self.array.flat[:: self.size + 1] = 1.0

    def scale(self, factor: float) -> None:
        self.array *= factor

    def upper(self) -> np.ndarray:
        """A C-ordered copy of the upper triangle made symmetric, (n, n)."""
        upper = np.triu(self.array)
        return upper + np.triu(upper, 1).T


class _TensorFlowMatrix:
    """H_hat as a full float64 ``tf.Variable``; products and updates are XLA-compiled
    ``tf.function`` s (one fused pass over the matrix per update)."""

    name = "tensorflow"

    def __init__(self, full: np.ndarray) -> None:
        import tensorflow as tf

        self.size = int(full.shape[0])
        self.variable = tf.Variable(np.asarray(full, dtype=np.float64), trainable=False,
                                    name="quasi_newton_H")
        variable = self.variable
        vector = tf.TensorSpec([self.size], tf.float64)
        scalar = tf.TensorSpec([], tf.float64)

        def matvec(alpha, v):
            return alpha * tf.linalg.matvec(variable, v)

        def update(alpha2, x1, x2, alpha1, x3):
            # each product term is symmetric element by element: (i, j) and (j, i) add the same
            # two products, so the stored matrix stays symmetric
            two = x1[:, None] * x2[None, :] + x2[:, None] * x1[None, :]
            one = x3[:, None] * x3[None, :]
            variable.assign(variable + (alpha2 * two + alpha1 * one))

        self._matvec = tf.function(matvec, input_signature=[scalar, vector], jit_compile=True,
                                   autograph=False)
        self._update = tf.function(update, input_signature=[scalar, vector, vector, scalar, vector],
                                   jit_compile=True, autograph=False)
        self._zero = np.zeros(self.size)

    def matvec(self, alpha: float, v: np.ndarray) -> np.ndarray:
        return self._matvec(np.float64(alpha), v).numpy()

    def syr2(self, alpha: float, x: np.ndarray, y: np.ndarray) -> None:
        self._update(np.float64(alpha), x, y, np.float64(0.0), self._zero)

    def syr(self, alpha: float, x: np.ndarray) -> None:
        self._update(np.float64(0.0), self._zero, self._zero, np.float64(alpha), x)

    def set_identity(self) -> None:
        self.variable.assign(np.eye(self.size))

    def scale(self, factor: float) -> None:
        self.variable.assign(self.variable * factor)

    def upper(self) -> np.ndarray:
        full = self.variable.numpy()
        upper = np.triu(full)
        return upper + np.triu(upper, 1).T


_BACKENDS: dict[str, Callable[[np.ndarray], Any]] = {
    "numpy": _NumpyMatrix, "tensorflow": _TensorFlowMatrix,
}


def _check_backend(update_backend: Any) -> str:
    if not isinstance(update_backend, str) or update_backend not in UPDATE_BACKENDS:
        raise ValueError(f"update_backend must be one of {list(UPDATE_BACKENDS)}, got {update_backend!r}")
    return update_backend


# ---- the state --------------------------------------------------------------------------------
class QuasiNewtonState:
    """Everything a dense quasi-Newton phase needs to continue exactly where it stopped.

    The inverse Hessian estimate is ``H = scale * H_hat``: the self-scaling ``H <- H / tau`` is a
    change of the scalar, so that an update passes over the matrix once. ``H_hat`` is stored
    densely (``8 n^2`` bytes: 73 MB at n = 3021, 800 MB at n = 10000).

    Args:
        size: number of weights n.
        gamma: initial H = gamma I (> 0).

    Attributes:
        size: n.
        scale: the scalar factor of H (float > 0).
        x, f, g, p: the current iterate (float64 (n,)), its loss, its gradient (n,) and the search
            direction -H g (n,) from it; None until a phase has evaluated a point.
        f_prev: the loss of the iterate before (for the first step's length guess), NaN if none.
        iteration: iterations made with this state, over all calls.
        updates: updates since H was last (re)set to gamma I (0: fresh).
        skipped: updates skipped (curvature s^T y <= 0, or non-finite scaling).
        restarts: times H was reset after a failed line search or a non-descent direction.
        weak_steps: steps that met the sufficient-decrease (Armijo) condition but not the
            curvature condition when the line search ran out of evaluations.
        gamma: s^T y / y^T y of the last accepted pair (the restart scaling), NaN if none.
        backend: where H_hat lives now (``"numpy"`` or ``"tensorflow"``).
    """

    _INTS = ("iteration", "updates", "skipped", "restarts", "weak_steps")

    def __init__(self, size: int, *, gamma: float = 1.0) -> None:
        self.size = check_int(size, "size", minimum=1, meaning="number of weights")
        gamma = check_number(gamma, "gamma", minimum=0.0, exclusive=True)
        self._matrix: Any = _NumpyMatrix(np.eye(self.size, order="F"), copy=False)
        self.scale = gamma
        self.x: np.ndarray | None = None
        self.f: float | None = None
        self.g: np.ndarray | None = None
        self.p: np.ndarray | None = None
        self.f_prev = math.nan
        self.iteration = 0
        self.updates = 0
        self.skipped = 0
        self.restarts = 0
        self.weak_steps = 0
        self.gamma = math.nan

    # -- storage -------------------------------------------------------------------------------
    @property
    def backend(self) -> str:
        return self._matrix.name

    def use_backend(self, update_backend: str) -> None:
        """Move H_hat to ``update_backend`` (one O(n^2) copy if it lives elsewhere)."""
        if _check_backend(update_backend) != self._matrix.name:
            self._matrix = _BACKENDS[update_backend](self._matrix.upper())

    @property
    def nbytes(self) -> int:
        """Bytes of the dense matrix, ``8 n^2``."""
        return 8 * self.size * self.size

    @property
    def H(self) -> np.ndarray:
        """The inverse Hessian estimate ``scale * H_hat``, a new symmetric float64 (n, n) array."""
        return self.scale * self._matrix.upper()

    @property
    def has_iterate(self) -> bool:
        return self.x is not None

    def reset(self, gamma: float = 1.0) -> None:
        """H = gamma I (the iterate and the counters are kept; ``updates`` becomes 0)."""
        self._matrix.set_identity()
        self.scale = float(gamma)
        self.updates = 0

    def drop_iterate(self) -> None:
        """Forget the iterate (x, f, g, p) but keep H: the next phase starts from the variables'
        values and evaluates there. Call it when the loss changes under the state, e.g. after
        resampling the collocation points, whose old loss and gradient would make a wrong y."""
        self.x = self.f = self.g = self.p = None
        self.f_prev = math.nan

    # -- checkpoints ---------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """The state for a checkpoint: float64 arrays and Python ints.

        Keys: ``"H"`` (n, n) symmetric (H_hat; the estimate is ``H_scale * H``), ``"H_scale"``,
        ``"f_prev"``, ``"gamma"`` (0-d float64 arrays), ``"size"``, ``"has_iterate"`` (0/1),
        ``"iteration"``, ``"updates"``, ``"skipped"``, ``"restarts"``, ``"weak_steps"`` (ints), and
        when ``has_iterate`` is 1: ``"x"``, ``"g"``, ``"p"`` (n,) and ``"f"`` (0-d). In memory
        ``8 n^2 + 32 n`` bytes and a few scalars (73 MB at n = 3021); a
        :class:`~pinn.trainer.Trainer` puts it in its checkpoint (:mod:`pinn.checkpoint`), which
        stores only the upper triangle of H: ``4 n (n + 1)`` bytes, 36.5 MB at n = 3021.
        """
        out: dict[str, Any] = {
            "H": self._matrix.upper(),
            "H_scale": np.array(self.scale, dtype=np.float64),
            "f_prev": np.array(self.f_prev, dtype=np.float64),
            "gamma": np.array(self.gamma, dtype=np.float64),
            "size": int(self.size),
            "has_iterate": int(self.has_iterate),
        }
        out.update({name: int(getattr(self, name)) for name in self._INTS})
        if self.has_iterate:
            out.update({"x": np.array(self.x, dtype=np.float64), "g": np.array(self.g, dtype=np.float64),
                        "p": np.array(self.p, dtype=np.float64),
                        "f": np.array(self.f, dtype=np.float64)})
        return out

    @classmethod
    def from_state(cls, state: Mapping[str, Any], *, check_definite: bool = False,
                   symmetry_tol: float = 1e-12) -> "QuasiNewtonState":
        """Rebuild a state saved by :meth:`state`, checked.

        Args:
            state: the dict :meth:`state` returned (values may be arrays, NumPy scalars or ints).
            check_definite: also check that H is positive definite (a Cholesky factorisation,
                O(n^3): about a second at n = 3021); otherwise only its diagonal must be positive.
            symmetry_tol: largest ``|H - H^T|`` accepted, relative to ``max |H|``.

        Raises:
            ValueError: a missing key, a wrong shape, a non-finite or non-symmetric H, a diagonal
                that is not positive, a non-positive scale, a negative counter, a non-finite
                iterate, loss, gradient or direction.
            TypeError: ``state`` is not a mapping.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"state must be a dict from QuasiNewtonState.state(), got {type(state).__name__}")
        missing = [k for k in ("H", "H_scale", "size", "has_iterate", *cls._INTS) if k not in state]
        if missing:
            raise ValueError(f"quasi-Newton state lacks {missing}")
        size = _state_int(state, "size", minimum=1)
        H = np.asarray(state["H"], dtype=np.float64)
        if H.shape != (size, size):
            raise ValueError(f"quasi-Newton state: H must have shape ({size}, {size}), got {H.shape}")
        if not np.all(np.isfinite(H)):
            raise ValueError("quasi-Newton state: H holds NaN or infinite values")
        asymmetry = float(np.max(np.abs(H - H.T)))
        if asymmetry > symmetry_tol * max(float(np.max(np.abs(H))), np.finfo(float).tiny):
            raise ValueError(f"quasi-Newton state: H is not symmetric (max |H - H^T| = {asymmetry:.3g})")
        if not np.all(np.diag(H) > 0):
            raise ValueError("quasi-Newton state: H has a diagonal entry <= 0, so it is not positive "
                             "definite")
        if check_definite:
            try:
                np.linalg.cholesky(H)
            except np.linalg.LinAlgError:
                raise ValueError("quasi-Newton state: H is not positive definite") from None
        scale = _state_float(state, "H_scale")
        if not scale > 0:
            raise ValueError(f"quasi-Newton state: H_scale must be > 0, got {scale}")
        out = cls.__new__(cls)
        out.size = size
        out._matrix = _NumpyMatrix(H)
        out.scale = scale
        out.f_prev = _state_float(state, "f_prev", allow_nan=True) if "f_prev" in state else math.nan
        out.gamma = _state_float(state, "gamma", allow_nan=True) if "gamma" in state else math.nan
        if not (math.isnan(out.gamma) or out.gamma > 0):
            raise ValueError(f"quasi-Newton state: gamma must be > 0 or NaN, got {out.gamma}")
        for name in cls._INTS:
            setattr(out, name, _state_int(state, name))
        has_iterate = _state_int(state, "has_iterate")
        if has_iterate not in (0, 1):
            raise ValueError(f"quasi-Newton state: has_iterate must be 0 or 1, got {has_iterate}")
        out.x = out.g = out.p = None
        out.f = None
        if has_iterate:
            missing = [k for k in ("x", "f", "g", "p") if k not in state]
            if missing:
                raise ValueError(f"quasi-Newton state has an iterate but lacks {missing}")
            vectors = {}
            for key in ("x", "g", "p"):
                value = np.array(state[key], dtype=np.float64)
                if value.shape != (size,):
                    raise ValueError(f"quasi-Newton state: {key} must have shape ({size},), "
                                     f"got {value.shape}")
                if not np.all(np.isfinite(value)):
                    raise ValueError(f"quasi-Newton state: {key} holds NaN or infinite values")
                vectors[key] = value
            out.x, out.g, out.p = vectors["x"], vectors["g"], vectors["p"]
            out.f = _state_float(state, "f")
        return out

    def __repr__(self) -> str:
        return (f"QuasiNewtonState(size={self.size}, iteration={self.iteration}, "
                f"updates={self.updates}, skipped={self.skipped}, restarts={self.restarts}, "
                f"backend={self.backend!r})")


def _state_int(state: Mapping[str, Any], key: str, minimum: int = 0) -> int:
    value = state[key]
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value.item()
    return check_int(value, f"quasi-Newton state {key!r}", minimum=minimum)


def _state_float(state: Mapping[str, Any], key: str, allow_nan: bool = False) -> float:
    try:
        value = float(np.asarray(state[key], dtype=np.float64))
    except (TypeError, ValueError):
        raise ValueError(f"quasi-Newton state {key!r} must be a number, got {state[key]!r}") from None
    if not (math.isfinite(value) or (allow_nan and math.isnan(value))):
        raise ValueError(f"quasi-Newton state {key!r} must be finite, got {value}")
    return value


# ---- options ----------------------------------------------------------------------------------
def quasi_newton_options(options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``options`` over :data:`QUASI_NEWTON_DEFAULTS`, checked by name and value (meanings in
    :func:`quasi_newton`'s docstring). The method registry (:func:`pinn.optimize.resolve_method`)
    calls it.

    Raises:
        TypeError: ``options`` is not a mapping. ValueError: an unknown option (the message lists
        the valid ones) or a value out of range (the message names the option).
    """
    if options is not None and not isinstance(options, Mapping):
        raise TypeError(f"options must be a dict of quasi-Newton options, got {type(options).__name__}")
    unknown = sorted(set(options or {}) - set(QUASI_NEWTON_DEFAULTS))
    if unknown:
        raise ValueError(f"options has unknown quasi-Newton option(s) {unknown}; valid options are "
                         f"{sorted(QUASI_NEWTON_DEFAULTS)}")
    merged = {**QUASI_NEWTON_DEFAULTS, **(options or {})}

    def name(key: str) -> str:
        return f"options[{key!r}]"

    merged["maxiter"] = check_int(merged["maxiter"], name("maxiter"), minimum=1,
                                  meaning="maximum number of iterations")
    if merged["maxfun"] is not None:
        merged["maxfun"] = check_int(merged["maxfun"], name("maxfun"), minimum=1,
                                     meaning="maximum number of loss-and-gradient evaluations, or None")
    merged["gtol"] = check_number(merged["gtol"], name("gtol"), minimum=0.0,
                                  meaning="stop when the largest gradient component is <= gtol")
    merged["ftol"] = check_number(merged["ftol"], name("ftol"), minimum=0.0,
                                  meaning="stop when the relative reduction of the loss is <= ftol")
    for key in ("c1", "c2"):
        merged[key] = check_number(merged[key], name(key), minimum=0.0, maximum=1.0, exclusive=True,
                                   meaning="strong-Wolfe line search constant; needs c1 < c2")
    if not merged["c1"] < merged["c2"]:
        raise ValueError(f"options['c1'] must be < options['c2'] (strong Wolfe conditions), got "
                         f"c1 = {merged['c1']} and c2 = {merged['c2']}")
    merged["maxls"] = check_int(merged["maxls"], name("maxls"), minimum=1,
                                meaning="maximum number of evaluations per line search")
    merged["max_dense_size"] = check_int(merged["max_dense_size"], name("max_dense_size"), minimum=1,
                                         meaning="largest number of weights for a dense n x n matrix")
    if merged["initial_step"] not in INITIAL_STEPS:
        raise ValueError(f"{name('initial_step')} must be one of {list(INITIAL_STEPS)} (the first trial "
                         f"step of each line search), got {merged['initial_step']!r}")
    for key in ("initial_scale", "restart_on_failure"):
        if not isinstance(merged[key], (bool, np.bool_)):
            raise ValueError(f"{name(key)} must be a bool, got {merged[key]!r}")
        merged[key] = bool(merged[key])
    return merged


def check_dense_size(n: int, max_dense_size: int, method: str = "a dense quasi-Newton method") -> None:
    """Refuse, before any work, a dense n x n inverse Hessian for more than ``max_dense_size``
    weights (option ``max_dense_size``; it takes ``8 n^2`` bytes in memory).

    Raises:
        ValueError: ``n > max_dense_size``; the message gives the memory it would take and the ways
        out (L-BFGS-B, or a larger ``max_dense_size``).
    """
    if n > max_dense_size:
        raise ValueError(
            f"{method} keeps a dense n x n inverse Hessian, which for the loss's n = {n} weights would "
            f"need 8 n^2 = {8 * n * n / 1e9:.3g} GB; options['max_dense_size'] is "
            f"{max_dense_size}. Use L-BFGS-B (method='L-BFGS-B') or raise max_dense_size (the example "
            f"scripts' --max-dense-size N)")


# ---- the line search --------------------------------------------------------------------------
class _NonFinite(Exception):
    """The loss or gradient at an evaluated point is NaN or infinite."""


class _Budget(Exception):
    """The evaluation budget (maxfun) is used up."""


class _Trial(NamedTuple):
    alpha: float
    f: float
    d: float  # directional derivative g(x + alpha p)^T p
    evaluation: Evaluation | None


class _Search(NamedTuple):
    trial: _Trial | None  # the accepted point, None when the search failed
    strong: bool  # the strong Wolfe conditions hold there
    evaluations: int
    message: str


def _cubic_minimizer(a: _Trial, b: _Trial) -> float | None:
    """Minimizer of the cubic through (alpha, f, d) at ``a`` and ``b`` (Nocedal & Wright 2006,
    eq. 3.59), or None when it does not exist."""
    if a.alpha == b.alpha:
        return None
    d1 = a.d + b.d - 3.0 * (a.f - b.f) / (a.alpha - b.alpha)
    radicand = d1 * d1 - a.d * b.d
    if not math.isfinite(radicand) or radicand < 0:
        return None
    d2 = math.copysign(math.sqrt(radicand), b.alpha - a.alpha)
    denominator = b.d - a.d + 2.0 * d2
    if denominator == 0 or not math.isfinite(denominator):
        return None
    value = b.alpha - (b.alpha - a.alpha) * (b.d + d2 - d1) / denominator
    return value if math.isfinite(value) else None


def _quadratic_minimizer(a: _Trial, b: _Trial) -> float | None:
    """Minimizer of the quadratic through f and d at ``a`` and f at ``b``, or None."""
    step = b.alpha - a.alpha
    if step == 0:
        return None
    curvature = (b.f - a.f - a.d * step) / (step * step)
    if not curvature > 0 or not math.isfinite(curvature):
        return None
    value = a.alpha - a.d / (2.0 * curvature)
    return value if math.isfinite(value) else None


def _interpolate(lo: _Trial, hi: _Trial) -> float:
    """A trial step inside the bracket [lo, hi]: cubic, else quadratic interpolation if it falls in
    the bracket's middle 80 % (cubic) or 90 % (quadratic), else bisection (as SciPy's zoom)."""
    width = hi.alpha - lo.alpha
    for guess, margin in ((_cubic_minimizer(lo, hi), 0.2), (_quadratic_minimizer(lo, hi), 0.1)):
        if guess is not None:
            low, high = sorted((lo.alpha + margin * width, hi.alpha - margin * width))
            if low <= guess <= high:
                return guess
    return lo.alpha + 0.5 * width


def _strong_wolfe(phi: Callable[[float], _Trial], f0: float, d0: float, alpha1: float,
                  c1: float, c2: float, maxls: int) -> _Search:
    """Find alpha with ``f(alpha) <= f0 + c1 alpha d0`` and ``|d(alpha)| <= c2 |d0|`` (d0 < 0).

    Nocedal & Wright 2006, Algorithm 3.5 (bracketing: the trial step doubles while the loss keeps
    decreasing with a steep negative slope) and Algorithm 3.6 (zoom). At most ``maxls`` calls of
    ``phi`` (each one evaluation). When the evaluations run out, the lowest point that satisfies
    the sufficient-decrease condition is accepted (``strong=False``); with none, the search fails.
    """
    zero = _Trial(0.0, f0, d0, None)
    previous, alpha, count = zero, alpha1, 0

    def armijo(t: _Trial) -> bool:
        return t.f <= f0 + c1 * t.alpha * d0

    def curvature(t: _Trial) -> bool:
        return abs(t.d) <= -c2 * d0

    def zoom(lo: _Trial, hi: _Trial) -> _Search:
        nonlocal count
        while count < maxls:
            if abs(hi.alpha - lo.alpha) <= 1e-14 * max(abs(lo.alpha), abs(hi.alpha)):
                break
            trial = phi(_interpolate(lo, hi))
            count += 1
            if not armijo(trial) or trial.f >= lo.f:
                hi = trial
            else:
                if curvature(trial):
                    return _Search(trial, True, count, "")
                if trial.d * (hi.alpha - lo.alpha) >= 0:
                    hi = lo
                lo = trial
        if lo.alpha > 0 and lo.f < f0:
            return _Search(lo, False, count, "")
        return _Search(None, False, count, f"the line search found no sufficient decrease in {count} "
                                           "evaluations")

    while count < maxls:
        trial = phi(alpha)
        count += 1
        if not armijo(trial) or (previous.alpha > 0 and trial.f >= previous.f):
            return zoom(previous, trial)
        if curvature(trial):
            return _Search(trial, True, count, "")
        if trial.d >= 0:
            return zoom(trial, previous)
        previous, alpha = trial, 2.0 * alpha
    if previous.alpha > 0:  # out of evaluations while extrapolating: a decrease was found
        return _Search(previous, False, count, "")
    return _Search(None, False, count, f"the line search found no sufficient decrease in {count} "
                                       "evaluations")


# ---- the phase --------------------------------------------------------------------------------
def quasi_newton(
    objective: CompiledObjective,
    method: str = "SSBFGS",
    options: Mapping[str, Any] | None = None,
    callbacks: Iterable[Callback] | None = None,
    *,
    state: QuasiNewtonState | None = None,
    start_iteration: int = 0,
    start_nfev: int = 0,
    phase: str | None = None,
    update_backend: str = "numpy",
    blas_threads: int | None = 1,
) -> PhaseResult:
    """Minimise a compiled objective with a dense (self-scaled) quasi-Newton method.

    Starts from the variables' current values (``objective.layout.flatten()``), or, when ``state``
    holds an iterate, from that iterate (its x, loss, gradient and direction: the continuation is
    then exact). Every evaluation goes through ``objective(x)`` and is recorded by a
    :class:`~pinn.tracking.PhaseTracker`; callbacks are called once per iteration with values of
    evaluations already made (``on_phase_begin``/``on_iteration_end``/``on_phase_end`` as in
    :func:`pinn.minimize`); the logs also hold ``line_search_evaluations`` (evaluations of that
    iteration), ``step`` (alpha) and ``restarts``/``skipped`` (the state's counters).

    The iterates are float64; with float32 variables the loss is evaluated at x rounded to float32,
    so progress ends (a failed line search: FAILED) near float32 resolution.

    Args:
        objective: the :class:`~pinn.objective.CompiledObjective`; its variables (n weights).
        method: one of :data:`QUASI_NEWTON_METHODS` (any case): ``"SSBFGS"``, ``"SSBroyden1"``,
            ``"SSBroyden2"``, ``"BFGS-dense"``. Formulas and sources in the module docstring.
        options: updates :data:`QUASI_NEWTON_DEFAULTS`, checked by value before any work:

            - ``maxiter`` (50000): iterations of this call (LIMIT_REACHED);
            - ``maxfun`` (None: no limit): evaluations of this call, the first included
              (LIMIT_REACHED; a line search cut short by it is dropped);
            - ``gtol`` (1e-12): CONVERGED when ``max |g| <= gtol``;
            - ``ftol`` (0): CONVERGED when ``(f_k - f_k+1) <= ftol * max(|f_k|, |f_k+1|, 1)``
              (with 0: only when a step leaves the loss unchanged to the last bit);
            - ``c1`` (1e-4), ``c2`` (0.9): strong Wolfe constants, ``0 < c1 < c2 < 1``;
            - ``maxls`` (20): evaluations per line search;
            - ``max_dense_size`` (20000): the largest n accepted (H takes ``8 n^2`` bytes);
            - ``initial_scale`` (False): scale H = gamma I at its first update (tau = h / sigma);
            - ``initial_step`` (``"interpolate"``): the first trial step, SciPy's
              ``min(1, 1.01 * 2 (f_k-1 - f_k) / -g^T p)``, or ``"unit"``: 1 once H was updated;
            - ``restart_on_failure`` (True): when the line search fails with an updated H, reset
              H = gamma I (gamma = s^T y / y^T y of the last pair) and search again; a failure
              from a fresh H ends the phase FAILED.
        callbacks: :class:`~pinn.callbacks.Callback` objects.
        state: a :class:`QuasiNewtonState` to continue (updated in place), or None for H = I.
        start_iteration, start_nfev: iterations and evaluations of this phase before (resume),
            for the logs' counts; limits and the result's ``nit``/``nfev`` are this call's own.
        phase: the phase name in logs (default: the method in lower case, e.g. ``"ssbroyden2"``).
        update_backend: ``"numpy"`` (BLAS on the upper triangle) or ``"tensorflow"`` (XLA on the
            full matrix): where the O(n^2) work runs; both give the same iterates to round-off.
        blas_threads: BLAS threads while the phase runs (1, as :func:`pinn.minimize`: spinning
            OpenBLAS threads slow the next evaluation down); None leaves the BLAS alone.

    Returns:
        A :class:`~pinn.tracking.PhaseResult` (``x``, ``fun``, ``jac``, terms and coefficients of
        the best point evaluated, which the variables hold) with ``status``: CONVERGED (gtol or
        ftol), LIMIT_REACHED (maxiter or maxfun), STOPPED (a callback), NONFINITE (a NaN/inf loss
        or gradient, at any evaluation), FAILED (the line search failed from a fresh H) or
        INTERRUPTED. Its extra attribute ``quasi_newton_state`` is the state (the one passed in,
        or a new one), which holds the last accepted iterate and H for a resume.

    Raises:
        TypeError / ValueError: bad arguments or options, n above ``max_dense_size`` (before any
            evaluation), a state of another size, a non-finite loss at the starting point.
        KeyboardInterrupt: re-raised after the variables are set to the best point; its ``result``
            attribute holds the PhaseResult (status interrupted) and the state stays consistent.
    """
    method = _canonical_method(method)
    resolved = quasi_newton_options(options)
    update_backend = _check_backend(update_backend)
    check_int(start_iteration, "start_iteration")
    check_int(start_nfev, "start_nfev")
    if blas_threads is not None:
        check_int(blas_threads, "blas_threads", minimum=1)
    if not isinstance(objective, CompiledObjective):
        raise TypeError(f"objective must be a pinn.CompiledObjective, got {type(objective).__name__}")
    callback_list = CallbackList(callbacks)
    layout = objective.layout
    n = layout.size
    check_dense_size(n, resolved["max_dense_size"], method)
    if state is not None and not isinstance(state, QuasiNewtonState):
        raise TypeError(f"state must be a QuasiNewtonState, got {type(state).__name__}")
    if state is not None and state.size != n:
        raise ValueError(f"state is a quasi-Newton state of {state.size} weights; the loss has {n}")
    if state is None:
        state = QuasiNewtonState(n)
    state.use_backend(update_backend)
    matrix = state._matrix
    phase = phase or method.lower()
    tracker = PhaseTracker(phase, method, start_iteration, start_nfev, objective)
    maxfun, gtol, ftol = resolved["maxfun"], resolved["gtol"], resolved["ftol"]
    c1, c2, maxls = resolved["c1"], resolved["c2"], resolved["maxls"]

    def evaluate(x: np.ndarray) -> Evaluation:
        if maxfun is not None and tracker.nfev >= maxfun:
            raise _Budget
        evaluation = objective(x)
        if not tracker.record(x, evaluation):
            raise _NonFinite
        return evaluation

    x0 = np.array(state.x, dtype=np.float64) if state.has_iterate else layout.flatten()
    try:
        first = evaluate(x0)
    except _NonFinite:
        raise ValueError(f"the loss or its gradient is not finite at the starting point "
                         f"({tracker.nonfinite_message()}); fix the model or the data") from None
    if not state.has_iterate:
        with held_signals():
            state.x, state.f, state.g = x0, first.fun, np.array(first.jac, dtype=np.float64)
            state.p = -matrix.matvec(state.scale, state.g)

    def finish(status: Status, message: str) -> PhaseResult:
        best = tracker.best
        layout.set_flat(best.x)
        result = tracker.result(status, message, best.x, best.fun, best.jac, best.terms,
                                best.coefficients)
        result.quasi_newton_state = state  # type: ignore[attr-defined]
        return result

    def restart() -> None:
        gamma = state.gamma if math.isfinite(state.gamma) else 1.0
        with held_signals():
            state.reset(gamma)
            state.restarts += 1
            state.p = -gamma * state.g

    callback_list.on_phase_begin({"phase": phase, "started": tracker.start, "options": dict(resolved), "method": method,
                                  "dtype": objective.dtype.name,
                                  "update_backend": update_backend})
    status: Status | None = None
    message = ""
    try:
        limits = (threadpool_limits(limits=blas_threads, user_api="blas") if blas_threads
                  else contextlib.nullcontext())
        with limits:
            if float(np.max(np.abs(state.g))) <= gtol:
                status, message = Status.CONVERGED, "the largest gradient component is <= gtol"
            while status is None:
                if tracker.nit >= resolved["maxiter"]:
                    status = Status.LIMIT_REACHED
                    message = f"reached maxiter = {resolved['maxiter']} iterations"
                    break
                x, f, g = state.x, state.f, state.g
                d0 = float(g @ state.p)
                if not (d0 < 0 and math.isfinite(d0)):
                    restart()  # H lost positive definiteness to round-off
                    d0 = float(g @ state.p)
                    if not (d0 < 0 and math.isfinite(d0)):
                        status, message = Status.FAILED, "-g is not a descent direction (round-off)"
                        break
                p = state.p
                if state.updates > 0 and resolved["initial_step"] == "unit":
                    alpha1 = 1.0
                else:
                    f_before = (state.f_prev if math.isfinite(state.f_prev)
                                else f + float(np.linalg.norm(g)) / 2)
                    alpha1 = min(1.0, 1.01 * 2.0 * (f_before - f) / -d0)
                    if not (alpha1 > 0 and math.isfinite(alpha1)):
                        alpha1 = 1.0

                def phi(alpha: float) -> _Trial:
                    evaluation = evaluate(x + alpha * p)
                    return _Trial(alpha, evaluation.fun, float(evaluation.jac @ p), evaluation)

                search = _strong_wolfe(phi, f, d0, alpha1, c1, c2, maxls)
                if search.trial is None:
                    if state.updates > 0 and resolved["restart_on_failure"]:
                        restart()
                        continue
                    status = Status.FAILED
                    message = search.message + (" from H = gamma I" if state.updates == 0 else "")
                    break
                trial = search.trial
                alpha, evaluation = trial.alpha, trial.evaluation
                s = alpha * p
                x_new = x + s
                f_new, g_new = evaluation.fun, np.array(evaluation.jac, dtype=np.float64)
                _step(state, matrix, method, resolved["initial_scale"], alpha, s, g, g_new, x_new,
                      f_new, search.strong)
                tracker.nit += 1
                logs = tracker.logs(tracker.nit, x_new.copy(), evaluation)
                logs.update({"line_search_evaluations": search.evaluations, "step": alpha,
                             "restarts": state.restarts, "skipped": state.skipped})
                callback_list.on_iteration_end(logs["iteration"], logs)
                if callback_list.stop_training:
                    status, message = Status.STOPPED, f"stopped by a callback after {tracker.nit} iterations"
                elif float(np.max(np.abs(g_new))) <= gtol:
                    status, message = Status.CONVERGED, "the largest gradient component is <= gtol"
                elif f - f_new <= ftol * max(abs(f), abs(f_new), 1.0):
                    status, message = Status.CONVERGED, "the relative reduction of the loss is <= ftol"
        result = finish(status, message)
    except _NonFinite:
        result = finish(Status.NONFINITE, tracker.nonfinite_message())
    except _Budget:
        result = finish(Status.LIMIT_REACHED, f"reached maxfun = {maxfun} evaluations")
    except KeyboardInterrupt as interrupt:
        result = finish(Status.INTERRUPTED, "interrupted (KeyboardInterrupt)")
        interrupt.result = result  # type: ignore[attr-defined]
        raise
    callback_list.on_phase_end(
        {"phase": phase, "nit": tracker.start_nit + result.nit, "nfev": tracker.start_nfev + result.nfev,
         "message": result.message, "status": result.status.value, "loss": result.fun,
         "time": result.time, "restarts": state.restarts, "skipped": state.skipped}
    )
    return result


def _step(state: QuasiNewtonState, matrix: Any, method: str, initial_scale: bool, alpha: float,
          s: np.ndarray, g: np.ndarray, g_new: np.ndarray, x_new: np.ndarray,
          f_new: float, strong: bool) -> None:
    """Accept the step: update H (or skip the update) and move the state to x_new, as one commit.

    One product z = H g_new (H = scale * H_hat); u = H y = z + p (p = -H g, the direction just
    used), or a second product when that difference loses more than three digits; then
    H+ = H / tau + M with M = A u u^T + B (u s^T + s u^T) + C s s^T:

        A = (phi - 1) / (tau q),  B = -phi rho / tau,  C = rho + phi q rho^2 / tau,
        (q = y^T u, rho = 1 / s^T y), which expands the formula in the module docstring,

    and the next direction p+ = -H+ g_new = -(z / tau + M g_new).
    """
    y = g_new - g
    scale = state.scale
    z = matrix.matvec(scale, g_new)
    sy = float(s @ y)
    update = None
    if sy > 0 and math.isfinite(sy):
        u = z + state.p
        if not np.linalg.norm(u) >= _CANCELLATION * np.linalg.norm(z):
            u = matrix.matvec(scale, y)
        q = float(y @ u)
        if q > 0 and math.isfinite(q):
            rho = 1.0 / sy
            b = -alpha * rho * float(s @ g)  # s^T B s / s^T y, B = H^-1
            h = q * rho
            first = initial_scale and state.updates == 0
            tau, phi = self_scaling(method, b, h, state.size, first=first)
            if tau > 0 and math.isfinite(tau) and math.isfinite(phi):
                A = (phi - 1.0) / (tau * q)
                B = -phi * rho / tau
                C = rho + phi * q * rho * rho / tau
                if all(math.isfinite(v) for v in (A, B, C)):
                    update = (tau, A, B, C, u)
    if update is None:
        p_new = -z
        new_scale = scale
    else:
        tau, A, B, C, u = update
        ug, sg = float(u @ g_new), float(s @ g_new)
        p_new = -(z / tau + (A * ug + B * sg) * u + (B * ug + C * sg) * s)
        new_scale = scale / tau
    with held_signals():
        if update is not None:
            _rank_two(matrix, A / new_scale, B / new_scale, C / new_scale, u, s)
            state.scale = new_scale
            if not _SCALE_RANGE[0] <= state.scale <= _SCALE_RANGE[1]:
                matrix.scale(state.scale)
                state.scale = 1.0
            state.updates += 1
            state.gamma = sy / float(y @ y)
        else:
            state.skipped += 1
        if not strong:
            state.weak_steps += 1
        state.f_prev, state.x, state.f, state.g, state.p = state.f, x_new, f_new, g_new, p_new
        state.iteration += 1


def _rank_two(matrix: Any, A: float, B: float, C: float, u: np.ndarray, s: np.ndarray) -> None:
    """H_hat += A u u^T + B (u s^T + s u^T) + C s s^T as one symmetric rank-2 update
    x1 x2^T + x2 x1^T when the 2 x 2 coefficient matrix [[A, B], [B, C]] is indefinite (always for
    BFGS-type updates, A = 0), else as two rank-1 updates (completing the square)."""
    discriminant = B * B - A * C
    if discriminant > 0:
        # x1 = u + t s, x2 = (A/2) u + (B - t A/2) s with A t^2 - 2 B t + C = 0 (the smaller root)
        t = C / (B + math.copysign(math.sqrt(discriminant), B))
        x1 = u + t * s
        x2 = (0.5 * A) * u + (B - 0.5 * t * A) * s
        matrix.syr2(1.0, x1, x2)
    elif A != 0:
        # A (u + (B/A) s)(u + (B/A) s)^T + ((A C - B^2) / A) s s^T
        matrix.syr(A, u + (B / A) * s)
        matrix.syr((A * C - B * B) / A, s)
    elif C != 0:
        matrix.syr(C, s)
