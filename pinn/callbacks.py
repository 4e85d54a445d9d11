"""Keras-like callbacks, called once per Adam step and once per L-BFGS iteration.

Every optimizer phase calls, in order: ``on_phase_begin(logs)``, then ``on_iteration_end(iteration,
logs)`` once per step/iteration, then ``on_phase_end(logs)``. ``logs`` is a dict with at least:

- ``phase`` (str): ``"adam"``, ``"lbfgs"`` or the SciPy method's lower-case name;
- ``iteration`` (int): the step/iteration within the phase, from 1;
- ``loss`` (float): the loss at the point reached;
- ``nfev`` (int): loss-and-gradient evaluations so far in the phase;
- ``time`` (float): seconds since the phase began;
- ``evals_per_second`` (float);
- ``terms`` (dict[str, float]): named loss terms, if the loss provides them (else empty);
- ``coefficients`` (dict[str, float]): the loss's reported coefficients (trainable PDE
  coefficients by name), else empty;
- ``x``: the weights reached, a flat float64 vector (``FlatLayout`` order): the iterate of a SciPy
  phase, the weights after an Adam step. The variables may hold another point (a line-search
  point); do not modify it.

``on_phase_begin``'s logs hold ``phase``, ``method``, ``options``, ``dtype`` (of the loss evaluated:
``"float32"`` in a Trainer's float32 stage) and ``started``: the ``time.perf_counter()`` value that
the phase's ``time`` is counted from.

A phase resumed from a checkpoint numbers its iterations (and counts ``nfev``) on from where the
earlier run stopped.

Callbacks cost no evaluation: the values come from evaluations the optimizer made anyway.
A callback may set ``self.stop_training = True`` to end the phase after the current iteration.

A callback with a state to keep across a resume sets ``checkpoint_key`` (a name) and implements
``state()`` (JSON-ready), ``check_state(state)`` (raise ValueError on a bad one, change nothing)
and ``load_state(state)``: a :class:`~pinn.trainer.Trainer` stores the state in its checkpoint and
gives it back on ``load`` / ``train(resume=True)``. :class:`ErrorMonitor` does, so that its samples
and its training clock go on over a resumed run.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any, Callable, Iterable, Mapping, TextIO

import numpy as np

from pinn.history import History, HistoryRecord
from pinn.validation import check_int

__all__ = ["Callback", "CallbackList", "ProgressLogger", "HistoryRecorder", "LambdaCallback", "ErrorMonitor",
           "TimeLimit"]


class Callback:
    """Base class; override the hooks you need."""

    stop_training: bool = False
    #: A name under which a :class:`~pinn.trainer.Trainer` keeps this callback's :meth:`state` in
    #: its checkpoint; None (the default): the callback keeps no state.
    checkpoint_key: str | None = None

    def state(self) -> Any:
        """The state to keep in a checkpoint (JSON values), for callbacks with a ``checkpoint_key``."""
        return None

    def check_state(self, state: Any) -> None:
        """Raise ValueError if ``state`` (from :meth:`state`, read back) is not valid; change nothing."""

    def load_state(self, state: Any) -> None:
        """Take back a state from :meth:`state` (checked by :meth:`check_state` first)."""

    def on_phase_begin(self, logs: Mapping[str, Any]) -> None:
        """Called when an optimizer phase starts; ``logs`` has ``phase`` and ``options``."""

    def on_iteration_end(self, iteration: int, logs: Mapping[str, Any]) -> None:
        """Called once per step/iteration with the logs described in the module docstring."""

    def on_phase_end(self, logs: Mapping[str, Any]) -> None:
        """Called when a phase ends; ``logs`` has ``phase``, ``nit``, ``nfev``, ``message``, ``loss``."""


class LambdaCallback(Callback):
    """A callback from plain functions, e.g. ``LambdaCallback(on_iteration_end=lambda i, logs: ...)``."""

    def __init__(self, on_phase_begin=None, on_iteration_end=None, on_phase_end=None) -> None:
        if on_phase_begin is not None:
            self.on_phase_begin = on_phase_begin  # type: ignore[method-assign]
        if on_iteration_end is not None:
            self.on_iteration_end = on_iteration_end  # type: ignore[method-assign]
        if on_phase_end is not None:
            self.on_phase_end = on_phase_end  # type: ignore[method-assign]


class CallbackList(Callback):
    """Calls several callbacks in order; ``stop_training`` is true when any of them asks to stop."""

    def __init__(self, callbacks: Iterable[Callback] | None = None) -> None:
        if callbacks is not None and not isinstance(callbacks, (list, tuple, CallbackList)):
            raise TypeError(
                f"callbacks must be a list of pinn.Callback objects, got {type(callbacks).__name__}"
            )
        self.callbacks: list[Callback] = []
        for i, cb in enumerate(callbacks or []):
            if not isinstance(cb, Callback):
                raise TypeError(
                    f"callbacks[{i}] must be a pinn.Callback instance, got {type(cb).__name__}"
                )
            self.callbacks.append(cb)

    @property
    def stop_training(self) -> bool:  # type: ignore[override]
        return any(cb.stop_training for cb in self.callbacks)

    def on_phase_begin(self, logs: Mapping[str, Any]) -> None:
        for cb in self.callbacks:
            cb.stop_training = False
            cb.on_phase_begin(logs)

    def on_iteration_end(self, iteration: int, logs: Mapping[str, Any]) -> None:
        for cb in self.callbacks:
            cb.on_iteration_end(iteration, logs)

    def on_phase_end(self, logs: Mapping[str, Any]) -> None:
        for cb in self.callbacks:
            cb.on_phase_end(logs)


class ProgressLogger(Callback):
    """Prints iteration, loss, evaluations and evaluations per second every ``every`` iterations.

    Args:
        every: print period in iterations (>= 1); the last iteration is always printed.
        stream: where to write (default ``sys.stdout``).
        terms: also print the named loss terms.
    """

    def __init__(self, every: int = 100, stream: TextIO | None = None, terms: bool = True) -> None:
        self.every = check_int(every, "every", minimum=1, meaning="a print period")
        self.stream = stream
        self.terms = terms
        self._last: tuple[int, Mapping[str, Any]] | None = None

    def _write(self, text: str) -> None:
        stream = self.stream or sys.stdout
        stream.write(text + "\n")
        stream.flush()

    def _line(self, iteration: int, logs: Mapping[str, Any]) -> str:
        line = (
            f"[{logs['phase']}] it {iteration:6d}  loss {logs['loss']:.6e}  "
            f"nfev {logs['nfev']:6d}  {logs['evals_per_second']:7.1f} eval/s  {logs['time']:7.1f} s"
        )
        if self.terms and logs.get("terms"):
            line += "  " + "  ".join(f"{k} {v:.3e}" for k, v in logs["terms"].items())
        if logs.get("coefficients"):
            line += "  " + "  ".join(f"{k} {v:.6g}" for k, v in logs["coefficients"].items())
        return line

    def on_phase_begin(self, logs: Mapping[str, Any]) -> None:
        self._last = None
        dtype = logs.get("dtype")
        self._write(f"[{logs['phase']}] start" + (f" ({dtype})" if dtype else ""))

    def on_iteration_end(self, iteration: int, logs: Mapping[str, Any]) -> None:
        self._last = (iteration, logs)
        if iteration % self.every == 0:
            self._write(self._line(iteration, logs))
            self._last = None

    def on_phase_end(self, logs: Mapping[str, Any]) -> None:
        if self._last is not None:
            self._write(self._line(*self._last))
        status = f"{logs['status']}: " if logs.get("status") else ""
        self._write(
            f"[{logs['phase']}] done: nit {logs['nit']}, nfev {logs['nfev']}, "
            f"loss {logs['loss']:.6e}, {status}{logs['message']}"
        )


class HistoryRecorder(Callback):
    """Appends one :class:`HistoryRecord` per iteration to a :class:`History`, across phases.

    The record's ``time`` is measured from the recorder's first phase, so that the history has one
    clock across Adam and L-BFGS.
    """

    def __init__(self, history: History | None = None) -> None:
        self.history = history if history is not None else History()
        self._start: float | None = None
        self._phase_offset = 0.0

    def on_phase_begin(self, logs: Mapping[str, Any]) -> None:
        # the phase's clock (logs["time"]) runs from logs["started"] (its tracker's start, before
        # compiling), not from this call: measure the offset from there, so time never goes back
        began = float(logs.get("started", time.perf_counter()))
        if self._start is None:
            self._start = began - (self.history[-1].time if len(self.history) else 0.0)
        self._phase_offset = began - self._start

    def on_iteration_end(self, iteration: int, logs: Mapping[str, Any]) -> None:
        self.history.append(
            HistoryRecord(
                phase=logs["phase"],
                step=self.history.next_step,
                phase_step=iteration,
                loss=float(logs["loss"]),
                time=self._phase_offset + float(logs["time"]),
                nfev=int(logs["nfev"]),
                terms={k: float(v) for k, v in logs.get("terms", {}).items()},
                coefficients={k: float(v) for k, v in logs.get("coefficients", {}).items()},
            )
        )


class TimeLimit(Callback):
    """Stops training once ``seconds`` of training have passed (the run then ends with status
    ``"stopped"``, at the best point of the phase that was running; a later phase is not started).

    Args:
        seconds: the training time allowed (> 0).
        clock: a function of no arguments giving the training time so far in seconds, e.g. an
            :class:`ErrorMonitor`'s ``training_time`` (which leaves the error evaluations out and
            goes on over a resumed run), so that runs stopped by the limit compare at equal
            training time; default: wall time since this callback's first phase began, in this
            process, across phases.
    """

    def __init__(self, seconds: float, clock: Callable[[], float] | None = None) -> None:
        from pinn.validation import check_number

        self.seconds = check_number(seconds, "seconds", minimum=0.0, exclusive=True,
                                    meaning="the training time allowed")
        if clock is not None and not callable(clock):
            raise TypeError(f"clock must be a function of no arguments or None, got {type(clock).__name__}")
        self.clock = clock
        self._start: float | None = None

    def elapsed(self) -> float:
        """Seconds of training so far, by this callback's clock."""
        if self.clock is not None:
            return float(self.clock())
        return 0.0 if self._start is None else time.perf_counter() - self._start

    def on_phase_begin(self, logs: Mapping[str, Any]) -> None:
        if self._start is None:
            self._start = float(logs.get("started", time.perf_counter()))

    def on_iteration_end(self, iteration: int, logs: Mapping[str, Any]) -> None:
        if self.elapsed() >= self.seconds:
            self.stop_training = True


class ErrorMonitor(Callback):
    """Samples an error measure during training, for time-to-accuracy curves.

    Every ``every`` iterations (and, with ``every_s``, whenever that many seconds of training have
    passed since the last sample) it calls ``error()`` and records ``{"phase", "iteration",
    "time_s", name}``, where ``time_s`` is training wall time in seconds since the monitor's first
    phase began *without* the time spent in the monitor's own error evaluations, so the curve
    shows what training alone costs.

    Resume: the monitor keeps its samples and its clock in a Trainer's checkpoint (key
    ``checkpoint_key``); a new monitor given to the Trainer that resumes the run gets them back,
    so the list goes on and ``time_s`` continues from the training time the checkpoint was
    written at (the time between that write and the end of the interrupted run, whose work is
    redone, and the time before the resumed run's first phase are not counted).

    Args:
        error: a function of no arguments returning a float (e.g. the relative L2 error of the
            network's prediction against reference data), or a dict of floats (all recorded; the
            one named ``name`` is the main one).
        every: sample every this many steps/iterations (>= 1), or None for time-based only.
        every_s: also sample when this many seconds of training passed since the last sample (> 0).
        name: the key of the error in each record (default ``"relative_l2_error"``).
        verbose: print each sample.
        at_phase_end: also sample when a phase ends (at the weights the phase leaves, its best
            point), unless the last sample is of that iteration: the curve then ends at the
            phase's result.
        set_weights: a function taking the flat float64 weights (n,) of the iteration (the logs'
            ``x``); called before ``error()`` so that the error is that of the iterate and not of
            the last line-search point the variables may hold (e.g. ``trainer.layout.set_flat``;
            every evaluation sets the variables again, so this changes no optimizer's course).
        checkpoint_key: the name of its state in a checkpoint, None to keep none.

    Attributes:
        records: the samples, in order.
    """

    def __init__(self, error: Callable[[], float], every: int | None = 500, *,
                 every_s: float | None = None, name: str = "relative_l2_error", verbose: bool = False,
                 at_phase_end: bool = False,
                 set_weights: Callable[[np.ndarray], None] | None = None,
                 checkpoint_key: str | None = "error_monitor") -> None:
        if not callable(error):
            raise TypeError(f"error must be a function of no arguments, got {type(error).__name__}")
        if every is None and every_s is None:
            raise ValueError("give every (iterations) or every_s (seconds), or both")
        self.every = None if every is None else check_int(every, "every", minimum=1)
        if every_s is not None:
            from pinn.validation import check_number

            every_s = check_number(every_s, "every_s", minimum=0.0, exclusive=True)
        if set_weights is not None and not callable(set_weights):
            raise TypeError(f"set_weights must be a function of the flat weights or None, got "
                            f"{type(set_weights).__name__}")
        if checkpoint_key is not None and (not isinstance(checkpoint_key, str) or not checkpoint_key):
            raise TypeError(f"checkpoint_key must be a non-empty str or None, got {checkpoint_key!r}")
        self.every_s = every_s
        self.error, self.name, self.verbose = error, str(name), bool(verbose)
        self.at_phase_end = bool(at_phase_end)
        self.set_weights = set_weights
        self.checkpoint_key = checkpoint_key
        self.records: list[dict[str, Any]] = []
        self._start: float | None = None
        self._excluded = 0.0
        self._offset = 0.0  # training time before this process's clock (a resumed run)
        self._last_sample = 0.0
        self._now: float | None = None  # the clock's last reading (see training_time)

    def training_time(self) -> float:
        """Seconds of training so far, the monitor's own time left out (resumed parts included).

        The clock is read once per iteration, when the monitor's ``on_iteration_end`` runs, and at
        phase boundaries; between readings it gives the last one. So the callbacks of an
        iteration that come after the monitor (a :class:`TimeLimit` on this clock) see the very
        time a sample of that iteration is stamped with: a run stopped by such a limit, with
        ``at_phase_end``, ends with a sample at or after the limit, whatever the machine's speed.
        The saved :meth:`state` reads the wall clock itself, so a resumed run counts all the
        training time before its checkpoint was written.
        """
        if self._now is None:
            return self._offset
        return self._now

    def _clock_now(self) -> float:
        """Training time now, read from the wall clock, the monitor's own time left out."""
        if self._start is None:  # no phase has begun
            return self._offset
        return self._offset + time.perf_counter() - self._start - self._excluded

    def _read_clock(self) -> float:
        """A reading of the clock that :meth:`training_time` gives until the next one."""
        if self._start is not None:
            self._now = self._clock_now()
        return self.training_time()

    def on_phase_begin(self, logs: Mapping[str, Any]) -> None:
        if self._start is None:
            self._start = time.perf_counter()
        self._read_clock()

    def _sample(self, phase: str, iteration: int, now: float, weights: Any = None) -> None:
        begin = time.perf_counter()
        if self.set_weights is not None and weights is not None:
            self.set_weights(np.asarray(weights, dtype=np.float64))
        value = self.error()
        record: dict[str, Any] = {"phase": phase, "iteration": int(iteration), "time_s": now}
        if isinstance(value, Mapping):
            values = {str(k): float(v) for k, v in value.items()}
            if self.name in values:  # the main error first
                record[self.name] = values.pop(self.name)
            record.update(values)
        else:
            record[self.name] = float(value)
        self.records.append(record)
        self._last_sample = now
        self._excluded += time.perf_counter() - begin
        if self.verbose:
            print(f"[{phase}] it {iteration:6d}  {now:8.1f} s  {self.name} "
                  f"{record.get(self.name, float('nan')):.3e}", flush=True)

    def on_iteration_end(self, iteration: int, logs: Mapping[str, Any]) -> None:
        now = self._read_clock()
        due = self.every is not None and iteration % self.every == 0
        due = due or (self.every_s is not None and now - self._last_sample >= self.every_s)
        if due:
            self._sample(logs["phase"], iteration, now, logs.get("x"))

    def on_phase_end(self, logs: Mapping[str, Any]) -> None:
        now = self._read_clock()
        if not self.at_phase_end or "nit" not in logs:
            return
        iteration = int(logs["nit"])
        last = self.records[-1] if self.records else None
        if last is not None and last["phase"] == logs["phase"] and last["iteration"] == iteration:
            return
        self._sample(logs["phase"], iteration, now)  # the phase's best point

    # -- checkpoints ---------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """``{"records": [...], "training_time_s": float, "last_sample_s": float, "name": str}``."""
        return {"records": [dict(r) for r in self.records], "training_time_s": self._clock_now(),
                "last_sample_s": self._last_sample, "name": self.name}

    def check_state(self, state: Any) -> None:
        if not isinstance(state, Mapping):
            raise ValueError(f"an ErrorMonitor state must be a JSON object, got {type(state).__name__}")
        for key in ("training_time_s", "last_sample_s"):
            value = state.get(key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value < 0:
                raise ValueError(f"ErrorMonitor state {key!r} must be a finite number >= 0, got {value!r}")
        records = state.get("records")
        if not isinstance(records, list):
            raise ValueError("ErrorMonitor state 'records' must be a list")
        previous = 0.0
        for i, record in enumerate(records):
            if not isinstance(record, Mapping) or not {"phase", "iteration", "time_s"} <= set(record):
                raise ValueError(f"ErrorMonitor state records[{i}] must have phase, iteration and time_s")
            time_s = record["time_s"]
            if isinstance(time_s, bool) or not isinstance(time_s, (int, float)) or not time_s >= previous:
                raise ValueError(f"ErrorMonitor state records[{i}]['time_s'] must be a number >= the "
                                 f"one before ({previous}), got {time_s!r}")
            previous = float(time_s)

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Go on from a saved state: its samples, and a clock that starts at its training time."""
        self.check_state(state)
        self.records = [dict(r) for r in state["records"]]
        self._offset = float(state["training_time_s"])
        self._last_sample = float(state["last_sample_s"])
        self._start = None
        self._excluded = 0.0
        self._now = None
