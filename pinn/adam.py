"""The Adam warm-up phase: a compiled Adam step over the same variables :func:`pinn.minimize` uses."""

from __future__ import annotations

import time
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import scipy.optimize
import tensorflow as tf

from pinn.callbacks import Callback, CallbackList
from pinn.flat import FlatLayout
from pinn.objective import LossFn, check_loss_fn, loss_and_flat_gradient
from pinn.validation import check_int

__all__ = ["Adam", "adam"]

LearningRate = float | Callable[[int], Any]


class Adam:
    """Adam (Kingma & Ba 2015) on the flat vector of a list of variables, one compiled step.

    The moment estimates are two flat variables, so the optimizer state is three variables
    (``m``, ``v``, ``iterations``) that can be saved and restored.

    Args:
        loss_fn: callable with no arguments returning a scalar tensor or ``(scalar, {name: scalar})``.
        variables: the variables to optimise (one floating dtype).
        beta_1, beta_2, epsilon: Adam's constants.
        jit_compile: compile the step with XLA.
        allow_unused: allow variables the loss does not depend on (otherwise an error).
    """

    def __init__(
        self,
        loss_fn: LossFn,
        variables: Sequence[Any],
        *,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        jit_compile: bool = False,
        allow_unused: bool = False,
    ) -> None:
        check_loss_fn(loss_fn)
        for name, value in (("beta_1", beta_1), ("beta_2", beta_2)):
            if not 0.0 <= float(value) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {value!r}")
        if not float(epsilon) > 0:
            raise ValueError(f"epsilon must be positive, got {epsilon!r}")
        self.layout = FlatLayout(variables)
        self.loss_fn = loss_fn
        self.allow_unused = bool(allow_unused)
        dtype = self.layout.dtype
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        self.m = tf.Variable(tf.zeros([self.layout.size], dtype), trainable=False, name="adam_m")
        self.v = tf.Variable(tf.zeros([self.layout.size], dtype), trainable=False, name="adam_v")
        self.iterations = tf.Variable(0, dtype=tf.int64, trainable=False, name="adam_iterations")
        self.trace_count = 0
        self._step = tf.function(
            self._step_impl,
            input_signature=[tf.TensorSpec([], dtype)],
            jit_compile=bool(jit_compile),
            autograph=False,
        )
        self._concrete = None  # the traced step, called directly (no argument binding)

    def _step_impl(self, learning_rate: tf.Tensor):
        """One Adam update; returns (loss before the update, flat weights before it, terms)."""
        self.trace_count += 1
        dtype = self.layout.dtype
        weights = self.layout.read()
        loss, gradient, terms = loss_and_flat_gradient(self.loss_fn, self.layout, self.allow_unused)
        self.iterations.assign_add(1)
        t = tf.cast(self.iterations, dtype)
        m = self.m.assign(self.beta_1 * self.m + (1.0 - self.beta_1) * gradient)
        v = self.v.assign(self.beta_2 * self.v + (1.0 - self.beta_2) * tf.square(gradient))
        m_hat = m / (1.0 - tf.pow(tf.constant(self.beta_1, dtype), t))
        v_hat = v / (1.0 - tf.pow(tf.constant(self.beta_2, dtype), t))
        self.layout.assign(weights - learning_rate * m_hat / (tf.sqrt(v_hat) + self.epsilon))
        return tf.cast(loss, tf.float64), weights, {k: tf.cast(x, tf.float64) for k, x in terms.items()}

    def step(self, learning_rate: float) -> tuple[float, tf.Tensor, dict[str, float]]:
        """Take one step; returns (loss at the weights before the step, those weights, terms)."""
        if self._concrete is None:
            self._concrete = self._step.get_concrete_function()
        loss, weights, terms = self._concrete(tf.constant(learning_rate, self.layout.dtype))
        return float(loss), weights, {k: float(x) for k, x in terms.items()}


def _learning_rate_at(learning_rate: LearningRate, step: int) -> float:
    value = learning_rate(step) if callable(learning_rate) else learning_rate
    return float(value)


def adam(
    loss_fn: LossFn,
    variables: Sequence[Any],
    steps: int,
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
) -> scipy.optimize.OptimizeResult:
    """Run ``steps`` full-batch Adam steps on ``loss_fn()`` over ``variables``.

    Callbacks are called once per step (see :mod:`pinn.callbacks`) with the loss evaluated for
    that step's gradient, i.e. at the weights before the step. The run stops early when a callback
    sets ``stop_training`` or the loss is not finite. A completed or stopped run keeps the weights
    of its last update (as any Adam does); a run ended by a non-finite loss or by Ctrl-C
    (``KeyboardInterrupt``, re-raised) goes back to the best weights evaluated, so nothing is lost.

    Args:
        loss_fn, variables: as for :func:`pinn.minimize`.
        steps: number of steps, >= 0.
        learning_rate: a float > 0, or a schedule ``step (int, from 0) -> learning rate`` such as a
            ``keras.optimizers.schedules.LearningRateSchedule``.
        callbacks: callback objects.
        jit_compile: compile the step with XLA.
        optimizer: an existing :class:`Adam` over the same variables, to continue with its state.
        phase: the phase name in callback logs.
        start_step: steps of this phase taken before (when resuming): the schedule is called with
            ``start_step + i`` and callbacks number steps from ``start_step + 1``.

    Returns:
        ``scipy.optimize.OptimizeResult`` with ``x`` (the flat weights the variables now hold,
        float64), ``fun`` (the last finite loss evaluated, i.e. before the last update; the best one
        after a non-finite loss), ``best_fun``, ``nit`` and ``nfev`` (steps taken), ``status``
        (0 done, 1 stopped by a callback, 2 non-finite loss), ``message``, ``success``, ``time``,
        ``terms``, ``optimizer``.
    """
    check_int(steps, "steps")
    if not callable(learning_rate):
        if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float)) or not (
            np.isfinite(learning_rate) and learning_rate > 0
        ):
            raise ValueError(f"learning_rate must be a positive number or a schedule, got {learning_rate!r}")
    check_int(start_step, "start_step")
    callback_list = CallbackList(callbacks)
    if optimizer is None:
        optimizer = Adam(
            loss_fn, variables, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
            jit_compile=jit_compile, allow_unused=allow_unused,
        )
    layout = optimizer.layout

    best_loss, best_weights, best_terms = np.inf, None, {}
    last_loss, last_terms = float("nan"), {}
    status, message = 0, f"completed {steps} steps"
    start = time.perf_counter()
    callback_list.on_phase_begin({"phase": phase, "options": {"steps": steps}, "method": "Adam"})
    taken = 0
    try:
        for i in range(steps):
            loss, weights, terms = optimizer.step(_learning_rate_at(learning_rate, start_step + i))
            taken = i + 1
            if not np.isfinite(loss):
                status, message = 2, f"loss is {loss} at step {taken}; stopped at the best weights"
                break
            last_loss, last_terms = loss, terms
            if loss < best_loss:
                best_loss, best_weights, best_terms = loss, weights, terms
            elapsed = time.perf_counter() - start
            callback_list.on_iteration_end(
                start_step + taken,
                {"phase": phase, "iteration": start_step + taken, "loss": loss,
                 "nfev": start_step + taken, "time": elapsed,
                 "evals_per_second": taken / elapsed if elapsed > 0 else 0.0, "terms": terms},
            )
            if callback_list.stop_training:
                status, message = 1, f"stopped by a callback after {taken} steps"
                break
    except KeyboardInterrupt as interrupt:
        if best_weights is not None:
            layout.assign(best_weights)
        interrupt.result = scipy.optimize.OptimizeResult(  # what was done, for the caller
            x=layout.flatten(), fun=float(best_loss), best_fun=float(best_loss), nit=taken,
            nfev=taken, status=-1, success=False, message="interrupted (KeyboardInterrupt)",
            time=time.perf_counter() - start, terms=best_terms, optimizer=optimizer, method="Adam",
            trace_count=optimizer.trace_count,
        )
        raise
    if status == 2 and best_weights is not None:
        layout.assign(best_weights)
        last_loss, last_terms = best_loss, best_terms
    elapsed = time.perf_counter() - start
    result = scipy.optimize.OptimizeResult(
        x=layout.flatten(), fun=float(last_loss), best_fun=float(best_loss), nit=taken, nfev=taken,
        status=status, message=message, success=status == 0, time=elapsed, terms=last_terms,
        optimizer=optimizer, method="Adam", trace_count=optimizer.trace_count,
    )
    callback_list.on_phase_end(
        {"phase": phase, "nit": taken, "nfev": taken, "message": message, "loss": result.fun,
         "time": elapsed}
    )
    return result
