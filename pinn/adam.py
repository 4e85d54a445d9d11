"""The Adam warm-up phase, on the same compiled value-and-gradient function the SciPy phase uses.

Adam's update is a few vector operations on the flat float64 vector, done in NumPy between
evaluations, so that Adam, L-BFGS-B and every later optimizer share one compiled function (traced
once) and one best-point tracker. Its cost is negligible next to an evaluation (about 30 us for
3000 weights against 20-50 ms for the Burgers loss and gradient).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

import numpy as np

from pinn.callbacks import Callback, CallbackList
from pinn.loss import Loss, LossFn
from pinn.objective import CompiledObjective
from pinn.status import Status
from pinn.tracking import PhaseResult, PhaseTracker
from pinn.validation import check_int, check_number

__all__ = ["Adam", "adam"]

LearningRate = float | Callable[[int], Any]


class Adam:
    """Adam's state (Kingma & Ba 2015) on a flat vector of ``size`` weights.

    Args:
        size: number of weights n.
        beta_1, beta_2: decay rates of the moment estimates, in [0, 1).
        epsilon: > 0, added to the square root of the second moment.

    Attributes:
        m, v: first and second moment estimates, float64 (n,).
        iterations: steps taken (for the bias correction).
    """

    def __init__(self, size: int, *, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8) -> None:
        check_int(size, "size", minimum=1)
        for name, value in (("beta_1", beta_1), ("beta_2", beta_2)):
            check_number(value, name, minimum=0.0)
            if not float(value) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {value!r}")
        check_number(epsilon, "epsilon", minimum=0.0, exclusive=True)
        self.size = int(size)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        self.reset()

    def reset(self) -> None:
        """Forget the moments (as at the start)."""
        self.m = np.zeros(self.size)
        self.v = np.zeros(self.size)
        self.iterations = 0

    def step(self, x: np.ndarray, gradient: np.ndarray, learning_rate: float) -> np.ndarray:
        """The weights after one Adam step from ``x`` (n,) with ``gradient`` (n,)."""
        self.iterations += 1
        self.m = self.beta_1 * self.m + (1.0 - self.beta_1) * gradient
        self.v = self.beta_2 * self.v + (1.0 - self.beta_2) * np.square(gradient)
        m_hat = self.m / (1.0 - self.beta_1 ** self.iterations)
        v_hat = self.v / (1.0 - self.beta_2 ** self.iterations)
        return x - learning_rate * m_hat / (np.sqrt(v_hat) + self.epsilon)

    def state(self) -> dict[str, Any]:
        """``{"m": (n,), "v": (n,), "iterations": int}`` (copies)."""
        return {"m": self.m.copy(), "v": self.v.copy(), "iterations": int(self.iterations)}

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state` (checked: shapes (n,), finite, iterations >= 0)."""
        m, v = (np.asarray(state[k], dtype=np.float64) for k in ("m", "v"))
        if m.shape != (self.size,) or v.shape != (self.size,):
            raise ValueError(f"Adam state must hold m and v of shape ({self.size},), "
                             f"got {m.shape} and {v.shape}")
        if not (np.all(np.isfinite(m)) and np.all(np.isfinite(v)) and np.all(v >= 0)):
            raise ValueError("Adam state holds non-finite moments (or a negative second moment)")
        self.m, self.v = m.copy(), v.copy()
        self.iterations = check_int(state["iterations"], "Adam iterations")


def _learning_rate_at(learning_rate: LearningRate, step: int) -> float:
    if not callable(learning_rate):
        return float(learning_rate)
    value = learning_rate(step)
    if not isinstance(value, (int, float, np.number)) and np.ndim(value) == 0:
        value = float(value)  # a scalar tensor, e.g. from a Keras LearningRateSchedule
    return check_number(value, f"learning_rate({step})", minimum=0.0, exclusive=True,
                        meaning="the schedule's rate at that step")


def adam(
    loss_fn: Loss | LossFn | None,
    variables: Sequence[Any] | None = None,
    steps: int = 1000,
    learning_rate: LearningRate = 1e-3,
    callbacks: Iterable[Callback] | None = None,
    jit_compile: bool = False,
    *,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-8,
    allow_unused: bool = False,
    optimizer: Adam | None = None,
    phase: str = "adam",
    start_step: int = 0,
    objective: CompiledObjective | None = None,
) -> PhaseResult:
    """Run ``steps`` full-batch Adam steps on a loss.

    Callbacks are called once per step (see :mod:`pinn.callbacks`) with the loss evaluated for
    that step's gradient, i.e. at the weights before the step. The run stops early when a callback
    sets ``stop_training`` or the loss or gradient is not finite (then no update is made with it,
    so the moments stay finite). A completed or stopped run keeps the weights of its last update
    (as any Adam does); a run ended by a non-finite loss or by Ctrl-C (``KeyboardInterrupt``,
    re-raised) goes back to the best weights evaluated, so nothing is lost. After a non-finite
    loss the moments are those of the best weights too, so that a resume can go on from there.

    Args:
        loss_fn, variables: as for :func:`pinn.minimize` (a Loss, or a function with its variables).
        steps: number of steps, >= 0.
        learning_rate: a number > 0, or a schedule ``step (int, from 0) -> learning rate`` such as a
            ``keras.optimizers.schedules.LearningRateSchedule``.
        callbacks: callback objects.
        jit_compile: compile the value-and-gradient function with XLA.
        optimizer: an :class:`Adam` state to continue (its moments and step count).
        phase: the phase name in callback logs.
        start_step: steps of this phase taken before (when resuming): the schedule is called with
            ``start_step + i`` and callbacks number steps from ``start_step + 1``.
        objective: an existing :class:`~pinn.objective.CompiledObjective` (then ``loss_fn`` and
            ``variables`` are None).

    Returns:
        A :class:`~pinn.tracking.PhaseResult` with ``status`` limit_reached (all steps taken),
        stopped, nonfinite or interrupted; ``x`` the flat weights the variables now hold; ``fun``
        the last finite loss evaluated (before the last update; the best one after a non-finite
        loss); ``best_fun``; ``nit`` and ``nfev`` (steps taken).
    """
    check_int(steps, "steps")
    if not callable(learning_rate):
        check_number(learning_rate, "learning_rate", minimum=0.0, exclusive=True,
                     meaning="a positive number or a schedule step -> rate")
    check_int(start_step, "start_step")
    callback_list = CallbackList(callbacks)
    if objective is None:
        objective = CompiledObjective(loss_fn, variables, jit_compile=jit_compile,
                                      allow_unused=allow_unused)
    elif loss_fn is not None or variables is not None:
        raise TypeError("give either objective, or loss_fn (and its variables), not both")
    layout = objective.layout
    if optimizer is None:
        optimizer = Adam(layout.size, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
    elif optimizer.size != layout.size:
        raise ValueError(f"optimizer is an Adam state of {optimizer.size} weights; the loss has {layout.size}")

    tracker = PhaseTracker(phase, "Adam", start_step, start_step, objective)
    x = layout.flatten()
    last = None
    best_state = optimizer.state()
    status, message = Status.LIMIT_REACHED, f"completed {steps} steps"
    callback_list.on_phase_begin({"phase": phase, "started": tracker.start, "options": {"steps": steps}, "method": "Adam",
                                  "dtype": objective.dtype.name})
    try:
        for i in range(steps):
            evaluation = objective(x)
            if not tracker.record(x, evaluation):
                status, message = Status.NONFINITE, tracker.nonfinite_message()
                break
            if tracker.best.fun == evaluation.fun and tracker.best.x is not None:
                best_state = optimizer.state()  # the moments that go with the best weights
            last = evaluation
            x = optimizer.step(x, evaluation.jac, _learning_rate_at(learning_rate, start_step + i))
            tracker.nit += 1
            logs = tracker.logs(tracker.nit, x, evaluation)
            callback_list.on_iteration_end(logs["iteration"], logs)
            if callback_list.stop_training:
                status, message = Status.STOPPED, f"stopped by a callback after {tracker.nit} steps"
                break
    except KeyboardInterrupt as interrupt:
        interrupt.result = _finish(tracker, Status.INTERRUPTED, "interrupted (KeyboardInterrupt)",
                                   x, last, objective, optimizer, best_state)
        raise
    result = _finish(tracker, status, message, x, last, objective, optimizer, best_state)
    callback_list.on_phase_end(
        {"phase": phase, "nit": tracker.start_nit + result.nit, "nfev": tracker.start_nfev + result.nfev,
         "message": message, "status": result.status.value, "loss": result.fun, "time": result.time}
    )
    return result


def _finish(tracker: PhaseTracker, status: Status, message: str, x: np.ndarray, last: Any,
            objective: CompiledObjective, optimizer: Adam, best_state: dict) -> PhaseResult:
    """Set the variables (last update, or the best point after a non-finite loss or Ctrl-C) and
    build the phase's result."""
    best = tracker.best
    if status in (Status.NONFINITE, Status.INTERRUPTED) and best is not None:
        x, last = best.x, best
        if status is Status.NONFINITE:
            optimizer.load_state(best_state)
    objective.layout.set_flat(x)
    fun = last.fun if last is not None else float("nan")
    return tracker.result(
        status, message, x, fun, None, last.terms if last is not None else {},
        last.coefficients if last is not None else {},
    )
