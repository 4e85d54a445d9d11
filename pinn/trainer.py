"""Training runs: Adam warm-up, then L-BFGS-B, with one history across both phases."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import scipy.optimize

from pinn.adam import Adam, LearningRate, adam
from pinn.callbacks import Callback, HistoryRecorder, ProgressLogger
from pinn.checkpoint import Checkpoint, checkpoint_path, fresh_progress, load_checkpoint, save_checkpoint
from pinn.flat import FlatLayout
from pinn.history import History
from pinn.objective import LossFn, check_loss_fn, split_loss_output
from pinn.optimize import _canonical_method, _resolve_options, minimize
from pinn.validation import check_int

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
        progress: how far the training plan got, resumed parts included: ``adam_steps``,
            ``lbfgs_nit``, ``lbfgs_nfev``, ``lbfgs_status`` (see :class:`~pinn.checkpoint.Checkpoint`).
        resumed: whether this call went on from an earlier, unfinished one.
        checkpoint: the checkpoint file written, or None.
    """

    history: History
    adam: scipy.optimize.OptimizeResult | None
    lbfgs: scipy.optimize.OptimizeResult | None
    status: str
    wall_time: float
    final_loss: float
    terms: Mapping[str, float]
    progress: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    resumed: bool = False
    checkpoint: Path | None = None

    def summary(self) -> dict[str, Any]:
        """Flat JSON-ready figures (the keys example scripts write to metrics.json).

        Step and evaluation counts cover the whole plan, resumed parts included; times are this
        call's.
        """
        return {
            "status": self.status,
            "initial_loss": self.history[0].loss if len(self.history) else float("nan"),
            "final_loss": self.final_loss,
            "final_terms": dict(self.terms),
            "adam_steps": int(self.progress.get("adam_steps", 0)),
            "adam_time_s": float(self.adam.time) if self.adam is not None else 0.0,
            "lbfgs_nit": int(self.progress.get("lbfgs_nit", 0)),
            "lbfgs_nfev": int(self.progress.get("lbfgs_nfev", 0)),
            "lbfgs_message": str(self.lbfgs.message) if self.lbfgs is not None else "",
            "lbfgs_time_s": float(self.lbfgs.time) if self.lbfgs is not None else 0.0,
            "wall_time_s": self.wall_time,
            "resumed": self.resumed,
            "checkpoint": str(self.checkpoint) if self.checkpoint is not None else None,
        }


class _ProgressTracker(Callback):
    """Keeps the trainer's progress counters current and writes periodic checkpoints.

    Runs right after the history recorder, so a checkpoint holds the iteration just recorded.
    """

    def __init__(self, trainer: "Trainer") -> None:
        self.trainer = trainer

    def on_iteration_end(self, iteration: int, logs: Mapping[str, Any]) -> None:
        progress = self.trainer.progress
        if logs["phase"] == "adam":
            progress["adam_steps"] = int(iteration)
        else:
            progress["lbfgs_nit"], progress["lbfgs_nfev"] = int(iteration), int(logs["nfev"])
        every = self.trainer.checkpoint_every
        if self.trainer.checkpoint is not None and every and iteration % every == 0:
            self.trainer.save(weights=logs.get("x"))


class Trainer:
    """Runs Adam then L-BFGS-B on a loss, recording one :class:`~pinn.history.History`.

    Args:
        problem: anything with a ``loss()`` method (a :data:`~pinn.objective.LossFn`) and a
            ``variables`` list, e.g. a :class:`~pinn.problem.Problem`. Or pass ``loss_fn`` and
            ``variables`` instead, for losses of any form.
        callbacks: callbacks for both phases (called once per step/iteration).
        jit_compile: compile both phases' functions with XLA.
        checkpoint: an HDF5 file (.h5) to keep the training state in (see :mod:`pinn.checkpoint`),
            or None for none. It is written every ``checkpoint_every`` steps/iterations, when a
            phase ends, and when a run is interrupted or stopped (then at the best weights).
        checkpoint_every: period in steps/iterations of the periodic writes (0: only at the ends
            of phases and on interruption). Default 1000.
        settings: a JSON-serialisable dict describing the setup (e.g. a script's seed, sizes and
            dtype), stored in checkpoints; :meth:`load` refuses a checkpoint whose settings differ.

    The trainer keeps the training state in one place: the variables, the Adam state (moments and
    step count, continued by later ``train`` calls), the history, and the progress of the current
    plan (``progress``), which is what a checkpoint holds.
    """

    def __init__(
        self,
        problem: Any = None,
        *,
        loss_fn: LossFn | None = None,
        variables: Sequence[Any] | None = None,
        callbacks: Iterable[Callback] | None = None,
        jit_compile: bool = False,
        checkpoint: str | os.PathLike[str] | None = None,
        checkpoint_every: int = 1000,
        settings: Mapping[str, Any] | None = None,
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
        self.checkpoint = checkpoint_path(checkpoint, "checkpoint") if checkpoint is not None else None
        check_int(checkpoint_every, "checkpoint_every", meaning="steps/iterations")
        if settings is not None and not isinstance(settings, Mapping):
            raise TypeError(f"settings must be a dict or None, got {type(settings).__name__}")
        self.settings: dict[str, Any] = json.loads(json.dumps(dict(settings or {})))  # as stored
        self.loss_fn: LossFn = loss_fn
        self.variables = list(variables)
        self.layout = FlatLayout(self.variables)
        self.callbacks = list(callbacks or [])
        self.jit_compile = bool(jit_compile)
        self.checkpoint_every = checkpoint_every
        self.history = History()
        self._recorder = HistoryRecorder(self.history)
        self._adam: Adam | None = None
        self.progress: dict[str, Any] = fresh_progress()

    # -- the training state, saved and restored -----------------------------------------------
    def _adam_optimizer(self) -> Adam:
        if self._adam is None:
            self._adam = Adam(self.loss_fn, self.variables, jit_compile=self.jit_compile)
        return self._adam

    def state(self, weights: np.ndarray | None = None) -> Checkpoint:
        """The training state as a :class:`~pinn.checkpoint.Checkpoint` (``weights``: a flat
        vector to store instead of the variables' current values, e.g. an L-BFGS iterate)."""
        adam_state = None
        if self._adam is not None:
            adam_state = {"m": self._adam.m.numpy(), "v": self._adam.v.numpy(),
                          "iterations": int(self._adam.iterations.numpy())}
        return Checkpoint(
            weights=self.layout.flatten() if weights is None else np.array(weights, dtype=np.float64),
            variable_names=[v.name for v in self.layout.variables],
            variable_shapes=[tuple(int(d) for d in s) for s in self.layout.shapes],
            dtype=self.layout.dtype.name,
            history=self.history,
            adam=adam_state,
            progress=dict(self.progress),
            settings=self.settings,
        )

    def save(self, path: str | os.PathLike[str] | None = None, *, weights: np.ndarray | None = None) -> Path:
        """Write the training state to ``path`` (default: the trainer's ``checkpoint``), atomically.

        Returns the path written. Raises ValueError when there is neither.
        """
        path = path if path is not None else self.checkpoint
        if path is None:
            raise ValueError("save needs a path: pass one, or give the Trainer a checkpoint file")
        return save_checkpoint(path, self.state(weights))

    def load(self, path: str | os.PathLike[str] | None = None) -> Checkpoint:
        """Restore the training state from ``path`` (default: the trainer's ``checkpoint``).

        Sets the variables, the Adam state, the history and the progress, so that
        ``train(..., resume=True)`` goes on where the saved run stopped. Returns the checkpoint.

        Raises:
            FileNotFoundError: no such file. ValueError: not a checkpoint, one of other variables
            (their number, shapes or dtype differ), or of other ``settings``; raised before anything
            is changed.
        """
        path = path if path is not None else self.checkpoint
        if path is None:
            raise ValueError("load needs a path: pass one, or give the Trainer a checkpoint file")
        saved = load_checkpoint(path)
        ours = [tuple(int(d) for d in s) for s in self.layout.shapes]
        if saved.variable_shapes != ours:
            raise ValueError(
                f"checkpoint {str(path)!r} holds variables of shapes {saved.variable_shapes}, but the "
                f"trainer's variables have shapes {ours}: it was written for another model"
            )
        if saved.dtype != self.layout.dtype.name:
            raise ValueError(
                f"checkpoint {str(path)!r} holds {saved.dtype} variables, but the trainer's are "
                f"{self.layout.dtype.name}: build the model with dtype {saved.dtype!r}"
            )
        if self.settings and saved.settings and saved.settings != self.settings:
            keys = sorted(set(saved.settings) | set(self.settings))
            differ = [f"{k}: {saved.settings.get(k)!r} there, {self.settings.get(k)!r} here"
                      for k in keys if saved.settings.get(k) != self.settings.get(k)]
            raise ValueError(
                f"checkpoint {str(path)!r} was written by a run with other settings ("
                + "; ".join(differ) + "): resume with the same settings, or start a new run"
            )
        self.layout.set_flat(saved.weights)
        if saved.adam is not None:
            optimizer = self._adam_optimizer()
            optimizer.m.assign(saved.adam["m"].astype(self.layout.dtype.as_numpy_dtype))
            optimizer.v.assign(saved.adam["v"].astype(self.layout.dtype.as_numpy_dtype))
            optimizer.iterations.assign(saved.adam["iterations"])
        self.history = saved.history
        self._recorder = HistoryRecorder(self.history)
        self.progress = dict(saved.progress)
        return saved

    # -- training ---------------------------------------------------------------------------------
    def _lbfgs_plan(self, method: str, options: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """The SciPy options left for this plan's second phase, or None if it is over."""
        resolved = _resolve_options(method, options)
        done_nit, done_nfev = self.progress["lbfgs_nit"], self.progress["lbfgs_nfev"]
        status = self.progress["lbfgs_status"]
        if status is not None and status != 1:  # converged or failed: resuming changes nothing
            return None
        left = dict(resolved)
        for key, done in (("maxiter", done_nit), ("maxfun", done_nfev)):
            if key in left and left[key] is not None:
                left[key] = int(left[key]) - int(done)
                if left[key] < 1:
                    return None
        return left

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
        resume: bool = False,
    ) -> TrainingResult:
        """The plan ``adam_steps`` Adam steps, then (if ``lbfgs``) SciPy ``method`` (L-BFGS-B by default).

        Args:
            adam_steps: Adam steps (0 skips the phase).
            learning_rate: Adam's learning rate or schedule ``step -> rate``.
            lbfgs: run the SciPy phase.
            lbfgs_options: SciPy options; see :func:`pinn.minimize` (defaults: the PINN paper's).
            method: the SciPy method of the second phase.
            verbose: print progress every ``verbose`` steps/iterations (0: silent).
            callbacks: extra callbacks for this call only.
            resume: go on with the plan where an earlier call stopped: from the trainer's checkpoint
                file if it has one and it exists (else from scratch), otherwise from this trainer's
                own progress (e.g. after Ctrl-C). Adam takes the steps left, with its moments and
                the schedule at the step reached; the SciPy phase starts again from the saved
                point with the iterations and evaluations left (L-BFGS's curvature memory is not
                saved, so it is rebuilt), and is skipped if it had converged. The history goes on.

        Ctrl-C (and SIGTERM in the example scripts) ends the call with status ``"interrupted"``, the
        variables at the best point of the phase that was running, the history kept, and the
        checkpoint written there.
        """
        check_int(adam_steps, "adam_steps")
        check_int(verbose, "verbose", meaning="a print period")
        if not isinstance(resume, bool):
            raise TypeError(f"resume must be True or False, got {resume!r}")
        if not lbfgs and adam_steps == 0:
            raise ValueError("nothing to do: adam_steps is 0 and lbfgs is False")
        method = _canonical_method(method)
        _resolve_options(method, lbfgs_options)  # bad options fail here, before any work

        resumed = False
        if resume:
            if self.checkpoint is not None and self.checkpoint.is_file():
                self.load()
            resumed = self.progress != fresh_progress()
        else:
            self.progress = fresh_progress()
        run_callbacks: list[Callback] = [
            self._recorder, _ProgressTracker(self), *self.callbacks, *(callbacks or [])
        ]
        if verbose:
            run_callbacks.append(ProgressLogger(every=int(verbose)))

        start = time.perf_counter()
        adam_result = lbfgs_result = None
        status = "completed"
        phase = None
        adam_done = min(int(self.progress["adam_steps"]), int(adam_steps))
        done_nit, done_nfev = int(self.progress["lbfgs_nit"]), int(self.progress["lbfgs_nfev"])
        try:
            if adam_steps > adam_done:
                phase = "adam"
                adam_result = adam(
                    self.loss_fn, self.variables, int(adam_steps) - adam_done, learning_rate,
                    callbacks=run_callbacks, optimizer=self._adam_optimizer(), start_step=adam_done,
                )
                self.progress["adam_steps"] = adam_done + int(adam_result.nit)
                if adam_result.status == 1:
                    status = "stopped"
                elif adam_result.status == 2:
                    status = "nonfinite"
                self._save_if_set()
            options_left = self._lbfgs_plan(method, lbfgs_options) if lbfgs else None
            if options_left is not None and status == "completed":
                phase = "lbfgs"
                lbfgs_result = minimize(
                    self.loss_fn, self.variables, method=method, options=options_left,
                    callbacks=run_callbacks, jit_compile=self.jit_compile,
                    start_iteration=done_nit, start_nfev=done_nfev,
                )
                self.progress["lbfgs_nit"] = done_nit + int(lbfgs_result.nit)
                self.progress["lbfgs_nfev"] = done_nfev + int(lbfgs_result.nfev)
                if lbfgs_result.status == 99:
                    status = "stopped"
                else:
                    self.progress["lbfgs_status"] = int(lbfgs_result.status)
                self._save_if_set()
        except KeyboardInterrupt as interrupt:
            status = "interrupted"
            partial = getattr(interrupt, "result", None)  # the phase's best point and counts
            if phase == "adam":
                adam_result = partial
                if partial is not None:
                    self.progress["adam_steps"] = adam_done + int(partial.nit)
            elif phase == "lbfgs":
                lbfgs_result = partial
                if partial is not None:
                    self.progress["lbfgs_nit"] = done_nit + int(partial.nit)
                    self.progress["lbfgs_nfev"] = done_nfev + int(partial.nfev)
            self._save_if_set()  # the variables are at the phase's best point
        wall = time.perf_counter() - start
        last = lbfgs_result if lbfgs_result is not None else adam_result
        if last is not None:
            final_loss, terms = float(last.fun), dict(last.terms)
        else:  # nothing left to do in a resumed plan: report the loss where it stands
            loss, named = split_loss_output(self.loss_fn())
            final_loss, terms = float(loss), {k: float(v) for k, v in named.items()}
        return TrainingResult(
            history=self.history, adam=adam_result, lbfgs=lbfgs_result, status=status,
            wall_time=wall, final_loss=final_loss, terms=terms, progress=dict(self.progress),
            resumed=resumed, checkpoint=self.checkpoint,
        )

    def _save_if_set(self) -> None:
        if self.checkpoint is not None:
            self.save()
