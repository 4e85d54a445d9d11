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

A phase resumed from a checkpoint numbers its iterations (and counts ``nfev``) on from where the
earlier run stopped.

Callbacks cost no evaluation: the values come from evaluations the optimizer made anyway.
A callback may set ``self.stop_training = True`` to end the phase after the current iteration.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Iterable, Mapping, TextIO

from pinn.history import History, HistoryRecord
from pinn.validation import check_int

__all__ = ["Callback", "CallbackList", "ProgressLogger", "HistoryRecorder", "LambdaCallback", "ErrorMonitor"]


class Callback:
    """Base class; override the hooks you need."""

    stop_training: bool = False

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
        self._write(f"[{logs['phase']}] start")

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
        now = time.perf_counter()
        if self._start is None:
            self._start = now - (self.history[-1].time if len(self.history) else 0.0)
        self._phase_offset = now - self._start

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


class ErrorMonitor(Callback):
    """Samples an error measure during training, for time-to-accuracy curves.

    Every ``every`` iterations (and, with ``every_s``, whenever that many seconds of training have
    passed since the last sample) it calls ``error()`` and records ``{"phase", "iteration",
    "time_s", name}``, where ``time_s`` is training wall time since the monitor's first phase began
    *without* the time spent in the monitor's own error evaluations, so the curve shows what
    training alone costs.

    Args:
        error: a function of no arguments returning a float (e.g. the relative L2 error of the
            network's prediction against reference data).
        every: sample every this many steps/iterations (>= 1), or None for time-based only.
        every_s: also sample when this many seconds of training passed since the last sample.
        name: the key of the error in each record (default ``"relative_l2_error"``).
        verbose: print each sample.

    Attributes:
        records: the samples, in order.
    """

    def __init__(self, error, every: int | None = 500, *, every_s: float | None = None,
                 name: str = "relative_l2_error", verbose: bool = False) -> None:
        if not callable(error):
            raise TypeError(f"error must be a function of no arguments, got {type(error).__name__}")
        if every is None and every_s is None:
            raise ValueError("give every (iterations) or every_s (seconds), or both")
        self.every = None if every is None else check_int(every, "every", minimum=1)
        if every_s is not None:
            from pinn.validation import check_number

            every_s = check_number(every_s, "every_s", minimum=0.0, exclusive=True)
        self.every_s = every_s
        self.error, self.name, self.verbose = error, str(name), bool(verbose)
        self.records: list[dict[str, Any]] = []
        self._start: float | None = None
        self._excluded = 0.0
        self._last_sample = 0.0

    def training_time(self) -> float:
        """Seconds of training so far, the monitor's own time left out."""
        return time.perf_counter() - self._start - self._excluded if self._start is not None else 0.0

    def on_phase_begin(self, logs: Mapping[str, Any]) -> None:
        if self._start is None:
            self._start = time.perf_counter()

    def on_iteration_end(self, iteration: int, logs: Mapping[str, Any]) -> None:
        now = self.training_time()
        due = self.every is not None and iteration % self.every == 0
        due = due or (self.every_s is not None and now - self._last_sample >= self.every_s)
        if not due:
            return
        begin = time.perf_counter()
        value = float(self.error())
        self.records.append({"phase": logs["phase"], "iteration": int(iteration), "time_s": now,
                             self.name: value})
        self._last_sample = now
        self._excluded += time.perf_counter() - begin
        if self.verbose:
            print(f"[{logs['phase']}] it {iteration:6d}  {now:8.1f} s  {self.name} {value:.3e}",
                  flush=True)
