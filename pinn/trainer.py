"""Training runs: an Adam warm-up, then a SciPy method (L-BFGS-B), with one history across phases.

A :class:`Trainer` owns the training state in one place: one compiled value-and-gradient function
(traced once for all its ``train`` calls: resume, extension, resampling; a second one for the
problem's float32 twin when a plan starts with a float32 stage), the flat layout of the variables,
Adam's moments, the history, and the progress of the current plan, which is what a checkpoint holds.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from pinn.adam import Adam, LearningRate, adam
from pinn.callbacks import Callback, HistoryRecorder, ProgressLogger
from pinn.distribute import is_chief
from pinn.checkpoint import Checkpoint, checkpoint_path, fresh_progress, load_checkpoint, save_checkpoint
from pinn.conditions import Condition
from pinn.equation import Equation
from pinn.history import History
from pinn.loss import FunctionLoss, Loss, LossFn, as_loss
from pinn.objective import CompiledObjective
from pinn.optimize import DEFAULT_METHOD, METHOD_NAMES, minimize
from pinn.optimize import resolve_method as _method_spec
import pinn.quasi_newton as qn
from pinn.resample import Resample
from pinn.status import Status
from pinn.tracking import PhaseResult
from pinn.validation import check_int, check_number

__all__ = ["Trainer", "TrainingResult", "RUN_STATUSES", "SECOND_PHASE_METHODS", "resolve_method"]

#: Methods of the second phase: SciPy's gradient methods and the dense quasi-Newton ones (the
#: registry :data:`pinn.optimize.METHODS`).
SECOND_PHASE_METHODS = METHOD_NAMES


def resolve_method(method: str, options: Mapping[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """The canonical name of a second-phase method and its options, merged with the method's
    defaults and checked by name and value: ``(spec.name, spec.options(options))`` of the
    registry's :func:`pinn.optimize.resolve_method`.

    Raises:
        ValueError: an unknown method (the message lists :data:`SECOND_PHASE_METHODS`), or a bad
            option. TypeError: a method that is not a str, options that are not a mapping.
    """
    spec = _method_spec(method)
    return spec.name, spec.options(options)


#: How a whole ``train`` call ended: ``"completed"`` (every phase converged or used its budget),
#: or the status of the phase that ended it early.
RUN_STATUSES = ("completed", "stopped", "interrupted", "nonfinite", "failed")

# A second Ctrl-C within this many seconds of the first raises instead of returning.
_DOUBLE_INTERRUPT_S = 2.0
_last_interrupt = -np.inf


@dataclasses.dataclass
class TrainingResult:
    """What a :meth:`Trainer.train` call did.

    Attributes:
        history: the trainer's history (all phases, all calls so far).
        adam: the Adam phase's :class:`~pinn.tracking.PhaseResult`, or None if no step was taken.
        lbfgs: the SciPy phase's PhaseResult (its last run, when resampling), or None.
        status: one of :data:`RUN_STATUSES`: ``"completed"``, ``"stopped"`` (a callback),
            ``"interrupted"`` (Ctrl-C/a signal: the weights are the best ones seen),
            ``"nonfinite"`` (the loss or gradient became NaN/inf: the weights are the best finite
            ones) or ``"failed"`` (the optimizer could not go on, e.g. a line search failure, or a
            checkpoint could not be written).
        message: why it ended (the last phase's message).
        wall_time: seconds for the whole call.
        final_loss: the loss at the weights the variables hold now.
        terms: the named loss terms there, when known.
        coefficients: the reported coefficients there (trainable PDE coefficients by name).
        progress: how far the training plan got, resumed parts included (see
            :class:`~pinn.checkpoint.Checkpoint`).
        resumed: whether this call went on from an earlier, unfinished one.
        checkpoint: the checkpoint file written, or None.
        error_history: error samples over training time (an ErrorMonitor's records, set by
            :func:`pinn.scripts.train_example`), or None when nothing sampled them.
    """

    history: History
    adam: PhaseResult | None
    lbfgs: PhaseResult | None
    status: str
    wall_time: float
    final_loss: float
    terms: Mapping[str, float]
    coefficients: Mapping[str, float] = dataclasses.field(default_factory=dict)
    progress: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    resumed: bool = False
    checkpoint: Path | None = None
    message: str = ""
    error_history: list[dict[str, Any]] | None = None

    def summary(self) -> dict[str, Any]:
        """Flat JSON-ready figures (the keys example scripts write to metrics.json).

        Step and evaluation counts cover the whole plan, resumed parts included; times are this
        call's. Coefficients appear under their own names too (``"lambda1": 0.99``).
        """
        return {
            "status": self.status,
            "message": self.message,
            "initial_loss": self.history[0].loss if len(self.history) else float("nan"),
            "final_loss": self.final_loss,
            "final_terms": dict(self.terms),
            "coefficients": dict(self.coefficients),
            **{name: value for name, value in self.coefficients.items()},
            "adam_steps": int(self.progress.get("adam_steps", 0)),
            "adam_time_s": float(self.adam.time) if self.adam is not None else 0.0,
            "lbfgs_nit": int(self.progress.get("lbfgs_nit", 0)),
            "lbfgs_nfev": int(self.progress.get("lbfgs_nfev", 0)),
            "lbfgs_status": self.progress.get("lbfgs_status"),
            "lbfgs_message": str(self.lbfgs.message) if self.lbfgs is not None else "",
            "lbfgs_time_s": float(self.lbfgs.time) if self.lbfgs is not None else 0.0,
            "resamples": int(self.progress.get("resamples", 0)),
            "wall_time_s": self.wall_time,
            "resumed": self.resumed,
            "checkpoint": str(self.checkpoint) if self.checkpoint is not None else None,
            **({"error_history": list(self.error_history)} if self.error_history is not None else {}),
        }


def _parts(loss: Any, name: str) -> set[int]:
    """The ids of a Problem's equation, conditions or network (empty for other losses)."""
    part = getattr(loss, name, None)
    if part is None:
        return set()
    return {id(p) for p in part} if isinstance(part, (list, tuple)) else {id(part)}


def _problem_constants(loss: Any, twin: Any) -> list[tuple[str, Any, Any]]:
    """``(what, ours, theirs)`` for what a problem and its float32 twin must share besides points
    and shapes: the equation's fixed coefficients, each condition's weight and targets (by name);
    empty for other losses."""
    pairs: list[tuple[str, Any, Any]] = []
    equations = getattr(loss, "equation", None), getattr(twin, "equation", None)
    if all(isinstance(e, Equation) for e in equations):
        fixed = [name for name in equations[0].coefficient_names if name not in equations[0].trainable_names]
        pairs.append(("equation coefficients", {n: equations[0].coefficient(n) for n in fixed},
                      {n: equations[1].coefficient(n) for n in fixed
                       if n in equations[1].coefficient_names and n not in equations[1].trainable_names}))
    conditions = getattr(loss, "conditions", None), getattr(twin, "conditions", None)
    if all(isinstance(c, (list, tuple)) for c in conditions):
        theirs = {c.name: c for c in conditions[1]}  # (the names: checked with the point sets)
        for c in conditions[0]:
            other = theirs.get(c.name)
            if isinstance(c, Condition) and isinstance(other, Condition):
                pairs.append((f"condition {c.name!r} weight", c.weight, other.weight))
                pairs.append((f"condition {c.name!r} targets", list(c.targets), list(other.targets)))
    return pairs


def _same_constant(ours: Any, theirs: Any) -> bool:
    """Equal keys and shapes, values within float32 rounding (relative 1e-6)."""
    if isinstance(ours, dict) or isinstance(theirs, dict):
        return (isinstance(ours, dict) and isinstance(theirs, dict) and ours.keys() == theirs.keys()
                and all(_same_constant(ours[k], theirs[k]) for k in ours))
    if isinstance(ours, list) or isinstance(theirs, list):
        return (isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs)
                and all(_same_constant(a, b) for a, b in zip(ours, theirs)))
    a, b = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-6, atol=0.0))


def _as_problem_loss(problem: Any, name: str) -> Loss:
    """A :class:`~pinn.loss.Loss` as given, or one made of an object with ``loss()`` and
    ``variables``."""
    if isinstance(problem, Loss):
        return problem
    if not callable(getattr(problem, "loss", None)) or not hasattr(problem, "variables"):
        raise TypeError(f"{name} must be a pinn.Loss (e.g. a pinn.Problem) or have a loss() method "
                        f"and a variables list, got {type(problem).__name__}")
    return FunctionLoss(problem.loss, problem.variables)


class _ProgressTracker(Callback):
    """Keeps the trainer's progress counters current and writes periodic checkpoints.

    Runs right after the history recorder, so a checkpoint holds the iteration just recorded. A
    checkpoint that cannot be written (disk full, folder removed) stops the phase; the trainer
    then ends the run as failed, at the best weights.
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
        if (self.trainer.checkpoint is not None and self.trainer.writes_checkpoints and every
                and iteration % every == 0):
            try:
                self.trainer.save(weights=logs.get("x"))
            except OSError as error:
                self.trainer._save_error = error
                self.stop_training = True


class Trainer:
    """Runs Adam then a SciPy method (L-BFGS-B) on a loss, recording one :class:`~pinn.history.History`.

    Args:
        problem: a :class:`~pinn.loss.Loss` (e.g. a :class:`~pinn.problem.Problem`, or any
            subclass: a discrete-time loss, a custom loss), or anything with a ``loss()`` method
            and a ``variables`` list. Or pass ``loss_fn`` and ``variables`` instead.
        callbacks: callbacks for both phases (called once per step/iteration).
        jit_compile: compile the value-and-gradient function with XLA.
        checkpoint: an HDF5 file (.h5) to keep the training state in (see :mod:`pinn.checkpoint`),
            or None for none. It is written every ``checkpoint_every`` steps/iterations, when a
            phase ends, and when a run is interrupted or stopped (then at the best weights).
        checkpoint_every: period in steps/iterations of the periodic writes (0: only at the ends
            of phases and on interruption). Default 1000.
        settings: a JSON-serialisable dict describing the setup (e.g. a script's seed, sizes and
            dtype), stored in checkpoints; :meth:`load` refuses a checkpoint whose settings differ.
        chunk_size: evaluate the loss's chunkable point sets (a Problem's collocation points) in
            chunks of at most this many rows; same loss and gradient, less memory.
        resample: a :class:`~pinn.resample.Resample`: new points every N steps/iterations.
        float32_problem: the same problem built in float32 (its own network of the same shapes,
            the same point sets, fixed coefficients, condition weights and targets: each is
            checked), for a float32 stage at the start of a plan (``train``'s
            ``float32_iterations``): evaluations there cost about half as much on a CPU. The
            problem's own variables must then be float64; they stay the run's weights (the
            checkpoint, the result), and the twin's are set from them at each evaluation.
        strategy: a ``tf.distribute`` strategy for data-parallel evaluation (see
            :mod:`pinn.distribute`): every phase sees the single-device loss and gradient to
            round-off; only the chief writes the checkpoint (every worker reads it to resume, so
            it must be on a file system they share). A checkpoint resumes with or without a
            strategy, on any number of devices.

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
        chunk_size: int | None = None,
        resample: Resample | None = None,
        strategy: Any = None,
        float32_problem: Any = None,
    ) -> None:
        if problem is not None:
            if loss_fn is not None or variables is not None:
                raise ValueError("give either problem, or loss_fn and variables, not both")
            loss: Loss = _as_problem_loss(problem, "problem")
        else:
            if loss_fn is None or variables is None:
                raise ValueError("give a problem, or both loss_fn and variables")
            loss = as_loss(loss_fn, variables)
        self.checkpoint = checkpoint_path(checkpoint, "checkpoint") if checkpoint is not None else None
        check_int(checkpoint_every, "checkpoint_every", meaning="steps/iterations")
        if settings is not None and not isinstance(settings, Mapping):
            raise TypeError(f"settings must be a dict or None, got {type(settings).__name__}")
        self.settings: dict[str, Any] = json.loads(json.dumps(dict(settings or {})))  # as stored
        if resample is not None and not isinstance(resample, Resample):
            raise TypeError(f"resample must be a pinn.Resample or None, got {type(resample).__name__}")
        if callbacks is not None and not isinstance(callbacks, (list, tuple)):
            raise TypeError(f"callbacks must be a list of pinn.Callback, got {type(callbacks).__name__}")
        self.loss = loss
        self.objective = CompiledObjective(loss, jit_compile=jit_compile, chunk_size=chunk_size,
                                           strategy=strategy)
        self.strategy = strategy
        self.writes_checkpoints = is_chief(strategy)  # every worker reads it on resume
        if resample is not None and resample.point_set not in self.objective.points:
            raise ValueError(f"resample.point_set {resample.point_set!r} is not a point set of the loss; "
                             f"its point sets are {sorted(self.objective.points)}")
        self.resample = resample
        self.layout = self.objective.layout
        self.variables = self.layout.variables
        self.float32_objective = (None if float32_problem is None else self._float32_twin(
            float32_problem, jit_compile=jit_compile, chunk_size=chunk_size, strategy=strategy))
        self._float32_running = False
        self.callbacks = list(callbacks or [])
        self.jit_compile = bool(jit_compile)
        self.checkpoint_every = checkpoint_every
        self.history = History()
        self._recorder = HistoryRecorder(self.history)
        self.adam_state = Adam(self.layout.size)
        self.quasi_newton_state: qn.QuasiNewtonState | None = None
        self.progress: dict[str, Any] = fresh_progress()
        self._save_error: OSError | None = None
        self._call_callbacks: list[Callback] = []

    def _float32_twin(self, float32_problem: Any, **compile_options: Any) -> CompiledObjective:
        """The compiled objective of ``float32_problem``, checked against the trainer's own."""
        twin = CompiledObjective(_as_problem_loss(float32_problem, "float32_problem"), **compile_options)
        if self.layout.dtype.name != "float64":
            raise ValueError(f"float32_problem: the problem's variables are {self.layout.dtype.name}; a "
                             "float32 stage needs a float64 problem (its weights are the run's)")
        if twin.layout.dtype.name != "float32":
            raise ValueError(f"float32_problem must have float32 variables, got {twin.layout.dtype.name}")
        if twin.layout.shape_tuples != self.layout.shape_tuples:
            raise ValueError(f"float32_problem has variables of shapes {twin.layout.shape_tuples}, the "
                             f"problem {self.layout.shape_tuples}: build it with the same network")
        if set(twin.points) != set(self.objective.points):
            raise ValueError(f"float32_problem has point sets {sorted(twin.points)}, the problem "
                             f"{sorted(self.objective.points)}")
        for name, ours in self.objective.points.items():
            theirs = twin.points[name]
            if not _same_constant(ours, theirs):
                raise ValueError(f"float32_problem's point set {name!r} differs from the problem's: "
                                 "build it from the same points (the same seed)")
        for what, ours, theirs in _problem_constants(self.loss, twin.loss):
            if not _same_constant(ours, theirs):
                raise ValueError(f"float32_problem's {what} differs from the problem's: build it with "
                                 "the same settings (e.g. with the function that built the problem)")
        shared = [name for name in ("equation", "conditions", "network")
                  if _parts(self.loss, name) & _parts(twin.loss, name)]
        if shared:  # a Problem builds its parts in its dtype: one object cannot serve both
            raise ValueError(f"float32_problem shares its {' and '.join(shared)} with the problem: "
                             "build it anew in float32 (e.g. with the function that built the problem)")
        return twin

    def _stage_objective(self, float32: bool) -> CompiledObjective:
        """The objective a segment of the plan evaluates: the float32 twin (its variables set from
        the float64 ones, which stay the run's weights) or the trainer's own."""
        if not float32:
            return self.objective
        self.float32_objective.layout.set_flat(self.layout.flatten())
        self._float32_running = True
        return self.float32_objective

    def _end_stage(self, result: PhaseResult | None) -> None:
        """After a float32 segment (ended, stopped or interrupted): the float64 variables take the
        point it left (float64 values: the iterate, not its float32 rounding)."""
        if self._float32_running and result is not None:
            self.layout.set_flat(result.x)
        self._float32_running = False

    # -- the training state, saved and restored -----------------------------------------------
    def state(self, weights: np.ndarray | None = None) -> Checkpoint:
        """The training state as a :class:`~pinn.checkpoint.Checkpoint` (``weights``: a flat
        vector to store instead of the variables' current values, e.g. an L-BFGS iterate)."""
        points = {}
        if self.resample is not None:
            points = {self.resample.point_set: self.objective.points[self.resample.point_set]}
        return Checkpoint(
            weights=self.layout.flatten() if weights is None else np.array(weights, dtype=np.float64),
            variable_names=[v.name for v in self.layout.variables],
            variable_shapes=list(self.layout.shape_tuples),
            dtype=self.layout.dtype.name,
            history=self.history,
            adam=self.adam_state.state() if self.adam_state.iterations else None,
            progress=dict(self.progress),
            settings=self.settings,
            points=points,
            quasi_newton=(self.quasi_newton_state.state() if self.quasi_newton_state is not None
                          else None),
            callbacks={key: callback.state() for key, callback in self._stateful_callbacks().items()},
        )

    def _stateful_callbacks(self) -> dict[str, Callback]:
        """The callbacks whose state goes into the checkpoint (a ``checkpoint_key``), by key:
        the trainer's own and those of the ``train`` call running."""
        found: dict[str, Callback] = {}
        for callback in [*self.callbacks, *self._call_callbacks]:
            key = getattr(callback, "checkpoint_key", None)
            if key:
                found[str(key)] = callback
        return found

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

        Sets the variables, the Adam state, the history, the progress, resampled points and the
        dense quasi-Newton state (inverse Hessian estimate, iterate, counters; none in a file
        without one), so that ``train(..., resume=True)`` goes on where the saved run stopped,
        and restores the state of callbacks with a ``checkpoint_key`` (e.g. an
        :class:`~pinn.callbacks.ErrorMonitor`'s samples and clock) that the file holds. Returns
        the checkpoint.

        Raises:
            FileNotFoundError: no such file. ValueError: not a valid checkpoint, one of other
            variables (their number, shapes or dtype differ), or of other ``settings``; raised
            before anything is changed.
        """
        path = path if path is not None else self.checkpoint
        if path is None:
            raise ValueError("load needs a path: pass one, or give the Trainer a checkpoint file")
        saved = load_checkpoint(path)
        ours = self.layout.shape_tuples
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
        for name, values in saved.points.items():
            if name not in self.objective.points or values.shape != self.objective.points[name].shape:
                raise ValueError(f"checkpoint {str(path)!r} holds points {name!r} of shape "
                                 f"{values.shape} that this loss does not have")
        adam_state = Adam(self.layout.size)
        if saved.adam is not None:
            try:
                adam_state.load_state(saved.adam)
            except (ValueError, KeyError) as error:
                raise ValueError(f"checkpoint {str(path)!r}: bad Adam state ({error})") from None
        quasi_newton_state = None
        if saved.quasi_newton is not None:
            try:
                quasi_newton_state = qn.QuasiNewtonState.from_state(saved.quasi_newton)
            except (ValueError, TypeError) as error:
                raise ValueError(f"checkpoint {str(path)!r}: bad quasi-Newton state ({error})") from None
            if quasi_newton_state.size != self.layout.size:
                raise ValueError(f"checkpoint {str(path)!r}: its quasi-Newton state is of "
                                 f"{quasi_newton_state.size} weights, the trainer has {self.layout.size}")
        stateful = self._stateful_callbacks()
        for key, callback in stateful.items():
            if key in saved.callbacks:
                try:
                    callback.check_state(saved.callbacks[key])
                except (ValueError, TypeError) as error:
                    raise ValueError(f"checkpoint {str(path)!r}: bad state of callback {key!r} "
                                     f"({error})") from None
        # everything checked: change the state
        for key, callback in stateful.items():
            if key in saved.callbacks:
                callback.load_state(saved.callbacks[key])
        self.quasi_newton_state = quasi_newton_state
        self.layout.set_flat(saved.weights)
        self.adam_state = adam_state
        for name, values in saved.points.items():
            for objective in self._objectives():
                objective.set_points(name, values)
        self.history = saved.history
        self._recorder = HistoryRecorder(self.history)
        self.progress = {**fresh_progress(), **saved.progress}
        return saved

    # -- training ---------------------------------------------------------------------------------
    def _second_phase_plan(self, options: Mapping[str, Any]) -> dict[str, Any] | None:
        """The SciPy options left for this plan's second phase, or None if it is over."""
        if self.progress["lbfgs_status"] == Status.CONVERGED.value:
            return None  # converged: resuming changes nothing
        left = dict(options)
        for key, done in (("maxiter", self.progress["lbfgs_nit"]), ("maxfun", self.progress["lbfgs_nfev"])):
            if left.get(key) is not None:
                left[key] = int(left[key]) - int(done)
                if left[key] < 1:
                    return None
        return left

    def _resample_now(self) -> None:
        """Replace the resampled point set by draw number ``progress["resamples"] + 1``."""
        resample = self.resample
        count = int(self.progress["resamples"]) + 1
        n = self.objective.points[resample.point_set].shape[0]
        points = resample.draw(self.loss, n, count)
        for objective in self._objectives():
            objective.set_points(resample.point_set, points)
        self.progress["resamples"] = count

    def _objectives(self) -> list[CompiledObjective]:
        return [self.objective] + ([self.float32_objective] if self.float32_objective is not None else [])

    def train(
        self,
        adam_steps: int = 0,
        learning_rate: LearningRate = 1e-3,
        lbfgs: bool = True,
        lbfgs_options: Mapping[str, Any] | None = None,
        *,
        method: str = DEFAULT_METHOD,
        verbose: int = 0,
        callbacks: Iterable[Callback] | None = None,
        resume: bool = False,
        float32_iterations: int = 0,
    ) -> TrainingResult:
        """The plan ``adam_steps`` Adam steps, then (if ``lbfgs``) SciPy ``method`` (L-BFGS-B by default).

        Args:
            adam_steps: Adam steps (0 skips the phase).
            learning_rate: Adam's learning rate or schedule ``step -> rate``.
            lbfgs: run the second phase.
            lbfgs_options: the second phase's options, checked by name and value before any
                work: SciPy's (see :func:`pinn.minimize`; L-BFGS-B's defaults are
                :data:`pinn.LBFGS_DEFAULTS`) or the quasi-Newton ones
                (:data:`pinn.quasi_newton.QUASI_NEWTON_DEFAULTS`).
            method: the second phase's method: L-BFGS-B (default) or another SciPy gradient
                method, or a dense self-scaled quasi-Newton method (``"SSBFGS"``,
                ``"SSBroyden1"``, ``"SSBroyden2"``, ``"BFGS-dense"``; :mod:`pinn.quasi_newton`),
                whose inverse-Hessian estimate is kept across ``train`` calls and in the
                checkpoint, so a resume continues exactly.
            verbose: print progress every ``verbose`` steps/iterations (0: silent).
            callbacks: extra callbacks for this call only.
            resume: go on with the plan where an earlier call stopped: from the trainer's checkpoint
                file if it has one and it exists (else from scratch), otherwise from this trainer's
                own progress (e.g. after Ctrl-C). Adam takes the steps left, with its moments and
                the schedule at the step reached; the second phase goes on with the iterations
                and evaluations left, and is skipped if it had converged. A dense quasi-Newton
                phase continues exactly (its inverse-Hessian estimate and iterate are in the
                checkpoint); a SciPy phase starts again from the saved point (L-BFGS's curvature
                memory is not saved, so it is rebuilt). The history goes on, and so do the
                samples of callbacks with a ``checkpoint_key`` (an ErrorMonitor).
            float32_iterations: with the Trainer's ``float32_problem``, a float32 stage: the Adam
                steps and the first ``float32_iterations`` iterations of the second phase evaluate
                the float32 twin (about half the cost per evaluation on a CPU), then the phase goes
                on in float64 from the point reached, a dense quasi-Newton method keeping its
                inverse-Hessian estimate. The stage also ends early when the second phase stops
                progressing in float32 (it converges, or its line search fails near float32
                resolution). 0 (default): float64 throughout.

        Adam's moments belong to the weights Adam left: when a SciPy phase has moved the weights
        since (an Adam phase extended after L-BFGS), they are reset before Adam goes on.

        Ctrl-C (and SIGTERM in the example scripts) ends the call with status ``"interrupted"``, the
        variables at the best point of the phase that was running, the history kept, and the
        checkpoint written there. A second Ctrl-C within 2 s of the first (e.g. a script that
        calls ``train`` in a loop) raises ``KeyboardInterrupt`` after the checkpoint is written.
        """
        global _last_interrupt
        check_int(adam_steps, "adam_steps")
        check_int(verbose, "verbose", meaning="a print period")
        check_int(float32_iterations, "float32_iterations", meaning="second-phase iterations in float32")
        if float32_iterations and self.float32_objective is None:
            raise ValueError("float32_iterations needs the float32 twin of the problem: "
                             "pinn.Trainer(problem, float32_problem=...)")
        if not isinstance(resume, bool):
            raise TypeError(f"resume must be True or False, got {resume!r}")
        if not isinstance(lbfgs, bool):
            raise TypeError(f"lbfgs must be True or False, got {lbfgs!r}")
        if not lbfgs and adam_steps == 0:
            raise ValueError("nothing to do: adam_steps is 0 and lbfgs is False")
        if not callable(learning_rate):
            check_number(learning_rate, "learning_rate", minimum=0.0, exclusive=True,
                         meaning="a positive number or a schedule step -> rate")
        method, options = resolve_method(method, lbfgs_options)  # bad ones fail here, before any work
        if lbfgs and method in qn.QUASI_NEWTON_METHODS:  # a dense H too large: before Adam runs
            qn.check_dense_size(self.layout.size, options["max_dense_size"], method)
        if callbacks is not None and not isinstance(callbacks, (list, tuple)):
            raise TypeError(f"callbacks must be a list of pinn.Callback, got {type(callbacks).__name__}")
        self._call_callbacks = list(callbacks or [])

        if resume:
            if self.checkpoint is not None and self.checkpoint.is_file():
                self.load()
        else:
            self.progress = fresh_progress()
            self.quasi_newton_state = None  # a new plan starts from the identity
        resumed = self.progress != fresh_progress()
        self._save_error = None
        run_callbacks: list[Callback] = [
            self._recorder, _ProgressTracker(self), *self.callbacks, *(callbacks or [])
        ]
        if self.resample is not None:
            run_callbacks.insert(2, _AdamResampler(self))
        if verbose:
            run_callbacks.append(ProgressLogger(every=int(verbose)))

        start = time.perf_counter()
        adam_result = lbfgs_result = None
        status = "completed"
        phase = None
        adam_done = min(int(self.progress["adam_steps"]), int(adam_steps))
        try:
            if adam_steps > adam_done:
                phase = "adam"
                if not self.progress["adam_current"] and self.adam_state.iterations:
                    self.adam_state.reset()  # the weights moved since: the moments are stale
                objective = self._stage_objective(float32_iterations > 0 and not self.progress["float32_ended"])
                adam_result = adam(
                    None, None, int(adam_steps) - adam_done, learning_rate,
                    callbacks=run_callbacks, optimizer=self.adam_state, start_step=adam_done,
                    objective=objective,
                )
                self._end_stage(adam_result)
                self.progress["adam_steps"] = adam_done + int(adam_result.nit)
                self.progress["adam_status"] = adam_result.status.value
                self.progress["adam_current"] = True
                if self.quasi_newton_state is not None and adam_result.nit:
                    self.quasi_newton_state.drop_iterate()  # Adam moved the weights since
                status = self._run_status(adam_result)
                self._save_if_set()
            if lbfgs and status == "completed":
                phase = "lbfgs"
                lbfgs_result, status = self._second_phase(method, options, run_callbacks, float32_iterations)
        except KeyboardInterrupt as interrupt:
            status = "interrupted"
            partial = getattr(interrupt, "result", None)  # the phase's best point and counts
            self._end_stage(partial)  # a float32 segment: its best point to the float64 weights
            if phase == "adam":
                adam_result = partial
                if partial is not None:
                    self.progress["adam_steps"] = adam_done + int(partial.nit)
                    self.progress["adam_status"] = Status.INTERRUPTED.value
            elif phase == "lbfgs" and partial is not None:
                lbfgs_result = partial
                self.progress["lbfgs_nit"] = partial.start_nit + int(partial.nit)
                self.progress["lbfgs_nfev"] = partial.start_nfev + int(partial.nfev)
            self._save_if_set()  # the variables are at the phase's best point
            now = time.monotonic()
            repeated = now - _last_interrupt < _DOUBLE_INTERRUPT_S
            _last_interrupt = now
            if repeated:
                raise
        wall = time.perf_counter() - start
        last = lbfgs_result if lbfgs_result is not None else adam_result
        if last is not None:
            final_loss, terms, coefficients = float(last.fun), dict(last.terms), dict(last.coefficients)
            message = last.message
        else:  # nothing left to do in a resumed plan: report the loss where it stands
            evaluation = self.objective(self.layout.flatten())
            final_loss, terms, coefficients = evaluation.fun, evaluation.terms, evaluation.coefficients
            message = "nothing left to do: the plan had finished"
        if self._save_error is not None:
            if last is not None and last.status is Status.STOPPED and last.best_x is not None:
                # stopped by the failed write: go back to the best point evaluated, as an
                # interrupt does (Adam's last update was never evaluated)
                self.layout.set_flat(last.best_x)
                final_loss = float(last.best_fun)
                evaluation = self.objective(last.best_x)
                terms, coefficients = evaluation.terms, evaluation.coefficients
            status = "failed"
            message = f"could not write the checkpoint {str(self.checkpoint)!r}: {self._save_error}"
        return TrainingResult(
            history=self.history, adam=adam_result, lbfgs=lbfgs_result, status=status,
            wall_time=wall, final_loss=final_loss, terms=terms, coefficients=coefficients,
            progress=dict(self.progress), resumed=resumed, checkpoint=self.checkpoint,
            message=message,
        )

    def _second_phase(self, method: str, options: Mapping[str, Any], run_callbacks: list[Callback],
                      float32_iterations: int = 0) -> tuple[PhaseResult | None, str]:
        """Run the second phase, in segments that end where the plan changes something between
        iterations: every ``resample.every`` iterations (new points) and where the float32 stage
        ends (the float64 objective from there)."""
        result, status = None, "completed"
        while True:
            left = self._second_phase_plan(options)
            if left is None:
                return result, status
            done_nit, done_nfev = int(self.progress["lbfgs_nit"]), int(self.progress["lbfgs_nfev"])
            float32 = done_nit < float32_iterations and not self.progress["float32_ended"]
            stops = []  # iterations to the next planned change
            if self.resample is not None:
                stops.append(self.resample.every - done_nit % self.resample.every)
            if float32:
                stops.append(float32_iterations - done_nit)
            segment = min(stops) if stops else None
            if segment is not None and (left.get("maxiter") is None or segment < left["maxiter"]):
                left["maxiter"] = segment
            else:
                segment = None  # the budget ends first
            self.progress["adam_current"] = False
            self.progress["lbfgs_status"] = None
            objective = self._stage_objective(float32)
            if method in qn.QUASI_NEWTON_METHODS:
                if self.quasi_newton_state is None:
                    self.quasi_newton_state = qn.QuasiNewtonState(self.layout.size)
                result = qn.quasi_newton(objective, method, left, run_callbacks,
                                         state=self.quasi_newton_state, start_iteration=done_nit,
                                         start_nfev=done_nfev)
            else:
                if self.quasi_newton_state is not None:
                    self.quasi_newton_state.drop_iterate()  # this phase moves the weights
                result = minimize(None, None, method=method, options=left, callbacks=run_callbacks,
                                  start_iteration=done_nit, start_nfev=done_nfev,
                                  objective=objective)
            self._end_stage(result)
            nit = done_nit + int(result.nit)
            self.progress["lbfgs_nit"] = nit
            self.progress["lbfgs_nfev"] = done_nfev + int(result.nfev)
            self.progress["lbfgs_status"] = result.status.value
            status = self._run_status(result)
            segment_done = (segment is not None and result.nit >= segment
                            and result.status in (Status.LIMIT_REACHED, Status.CONVERGED))
            # the float32 stage ends at its iteration count, or earlier where float32 stops
            # progressing (converged, or a line search failing at float32 resolution)
            float32_over = float32 and ((segment_done and nit >= float32_iterations)
                                        or result.status in (Status.CONVERGED, Status.FAILED))
            if float32_over:
                self.progress["float32_ended"] = True
                self.progress["lbfgs_status"] = None  # the phase goes on, in float64
                status = "completed"
                if self.quasi_newton_state is not None:
                    self.quasi_newton_state.drop_iterate()  # its loss and gradient were float32's
            self._save_if_set()
            resample_due = segment_done and self.resample is not None and nit % self.resample.every == 0
            if resample_due:
                self.progress["lbfgs_status"] = None  # the phase goes on, on new points
                self._resample_now()
                if self.quasi_newton_state is not None:
                    self.quasi_newton_state.drop_iterate()  # its loss and gradient were the old points'
            if not (float32_over or resample_due):
                return result, status

    def _run_status(self, result: PhaseResult) -> str:
        if result.status in (Status.CONVERGED, Status.LIMIT_REACHED):
            return "completed"
        if result.status is Status.STOPPED and self._save_error is not None:
            return "failed"
        return result.status.value

    def _save_if_set(self) -> None:
        if self.checkpoint is not None and self.writes_checkpoints:
            try:
                self.save()
            except OSError as error:
                self._save_error = error


class _AdamResampler(Callback):
    """Resamples every ``resample.every`` Adam steps (the SciPy phase resamples between runs)."""

    def __init__(self, trainer: Trainer) -> None:
        self.trainer = trainer

    def on_iteration_end(self, iteration: int, logs: Mapping[str, Any]) -> None:
        if logs["phase"] == "adam" and iteration % self.trainer.resample.every == 0:
            self.trainer._resample_now()
