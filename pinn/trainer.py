"""Training runs: Adam warm-up, then L-BFGS-B, with one history across both phases."""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import scipy.optimize

from pinn.adam import Adam, LearningRate, adam
from pinn.callbacks import Callback, HistoryRecorder, ProgressLogger
from pinn.history import History
from pinn.objective import LossFn, check_loss_fn
from pinn.optimize import minimize

__all__ = ["Trainer", "TrainingResult"]


@dataclasses.dataclass
class TrainingResult:
    """What a :meth:`Trainer.train` call did.

    Attributes:
        history: the trainer's history (all phases, all calls so far).
        adam: the Adam phase's ``OptimizeResult``, or None if no Adam steps were taken.
        lbfgs: the L-BFGS(-B) phase's ``OptimizeResult``, or None if it did not run.
        status: ``"completed"``, ``"stopped"`` (a callback), ``"nonfinite"`` (the loss became
            NaN/inf in Adam: the weights are the best ones seen), or ``"interrupted"`` (Ctrl-C:
            the weights are the best ones seen).
        wall_time: seconds for the whole call.
        final_loss: the loss at the weights the variables hold now.
        terms: the named loss terms there, when known.
    """

    history: History
    adam: scipy.optimize.OptimizeResult | None
    lbfgs: scipy.optimize.OptimizeResult | None
    status: str
    wall_time: float
    final_loss: float
    terms: Mapping[str, float]

    def summary(self) -> dict[str, Any]:
        """Flat JSON-ready figures (the keys example scripts write to metrics.json)."""
        return {
            "status": self.status,
            "initial_loss": self.history[0].loss if len(self.history) else float("nan"),
            "final_loss": self.final_loss,
            "final_terms": dict(self.terms),
            "adam_steps": int(self.adam.nit) if self.adam is not None else 0,
            "adam_time_s": float(self.adam.time) if self.adam is not None else 0.0,
            "lbfgs_nit": int(self.lbfgs.nit) if self.lbfgs is not None else 0,
            "lbfgs_nfev": int(self.lbfgs.nfev) if self.lbfgs is not None else 0,
            "lbfgs_message": str(self.lbfgs.message) if self.lbfgs is not None else "",
            "lbfgs_time_s": float(self.lbfgs.time) if self.lbfgs is not None else 0.0,
            "wall_time_s": self.wall_time,
        }


class Trainer:
    """Runs Adam then L-BFGS-B on a loss, recording one :class:`~pinn.history.History`.

    Args:
        problem: anything with a ``loss()`` method (a :data:`~pinn.objective.LossFn`) and a
            ``variables`` list, e.g. a :class:`~pinn.problem.Problem`. Or pass ``loss_fn`` and
            ``variables`` instead, for losses of any form.
        callbacks: callbacks for both phases (called once per step/iteration).
        jit_compile: compile both phases' functions with XLA.

    The trainer keeps the training state in one place: the variables, the Adam state (moments and
    step count, continued by later ``train`` calls) and the history.
    """

    def __init__(
        self,
        problem: Any = None,
        *,
        loss_fn: LossFn | None = None,
        variables: Sequence[Any] | None = None,
        callbacks: Iterable[Callback] | None = None,
        jit_compile: bool = False,
    ) -> None:
        if problem is not None:
            if loss_fn is not None or variables is not None:
                raise ValueError("give either problem, or loss_fn and variables, not both")
            if not callable(getattr(problem, "loss", None)) or not hasattr(problem, "variables"):
                raise TypeError(
                    f"problem must have a loss() method and a variables list, got {type(problem).__name__}"
                )
            loss_fn, variables = problem.loss, problem.variables
        if loss_fn is None or variables is None:
            raise ValueError("give a problem, or both loss_fn and variables")
        check_loss_fn(loss_fn)
        self.loss_fn: LossFn = loss_fn
        self.variables = list(variables)
        self.callbacks = list(callbacks or [])
        self.jit_compile = bool(jit_compile)
        self.history = History()
        self._recorder = HistoryRecorder(self.history)
        self._adam: Adam | None = None

    def train(
        self,
        adam_steps: int = 0,
        learning_rate: LearningRate = 1e-3,
        lbfgs: bool = True,
        lbfgs_options: Mapping[str, Any] | None = None,
        *,
        method: str = "L-BFGS-B",
        verbose: int = 0,
        callbacks: Iterable[Callback] | None = None,
    ) -> TrainingResult:
        """``adam_steps`` Adam steps, then (if ``lbfgs``) SciPy ``method`` (L-BFGS-B by default).

        Args:
            adam_steps: Adam steps (0 skips the phase).
            learning_rate: Adam's learning rate or schedule ``step -> rate``.
            lbfgs: run the SciPy phase.
            lbfgs_options: SciPy options; see :func:`pinn.minimize` (defaults: the PINN paper's).
            method: the SciPy method of the second phase.
            verbose: print progress every ``verbose`` steps/iterations (0: silent).
            callbacks: extra callbacks for this call only.

        Ctrl-C ends the call with status ``"interrupted"``, the variables at the best point of the
        phase that was running, and the history kept.
        """
        if isinstance(adam_steps, bool) or not isinstance(adam_steps, (int, np.integer)) or adam_steps < 0:
            raise ValueError(f"adam_steps must be an int >= 0, got {adam_steps!r}")
        if isinstance(verbose, bool) or not isinstance(verbose, (int, np.integer)) or verbose < 0:
            raise ValueError(f"verbose must be an int >= 0 (a print period), got {verbose!r}")
        if not lbfgs and adam_steps == 0:
            raise ValueError("nothing to do: adam_steps is 0 and lbfgs is False")
        run_callbacks: list[Callback] = [self._recorder, *self.callbacks, *(callbacks or [])]
        if verbose:
            run_callbacks.append(ProgressLogger(every=int(verbose)))

        start = time.perf_counter()
        adam_result = lbfgs_result = None
        status = "completed"
        phase = None
        try:
            if adam_steps:
                phase = "adam"
                if self._adam is None:
                    self._adam = Adam(self.loss_fn, self.variables, jit_compile=self.jit_compile)
                adam_result = adam(
                    self.loss_fn, self.variables, adam_steps, learning_rate,
                    callbacks=run_callbacks, optimizer=self._adam,
                )
                if adam_result.status == 1:
                    status = "stopped"
                elif adam_result.status == 2:
                    status = "nonfinite"
            if lbfgs and status == "completed":
                phase = "lbfgs"
                lbfgs_result = minimize(
                    self.loss_fn, self.variables, method=method, options=lbfgs_options,
                    callbacks=run_callbacks, jit_compile=self.jit_compile,
                )
                if lbfgs_result.status == 99:
                    status = "stopped"
        except KeyboardInterrupt as interrupt:
            status = "interrupted"
            partial = getattr(interrupt, "result", None)  # the phase's best point and counts
            if phase == "adam":
                adam_result = partial
            elif phase == "lbfgs":
                lbfgs_result = partial
        wall = time.perf_counter() - start
        last = lbfgs_result if lbfgs_result is not None else adam_result
        final_loss = float(last.fun) if last is not None else float("nan")
        terms = dict(last.terms) if last is not None else {}
        return TrainingResult(
            history=self.history, adam=adam_result, lbfgs=lbfgs_result, status=status,
            wall_time=wall, final_loss=final_loss, terms=terms,
        )
