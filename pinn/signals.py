"""SIGINT and SIGTERM: how a run is interrupted, and the blocks a signal must not split.

Two pieces, one mechanism:

- :func:`interrupt_signals` (the example scripts, ``pinn solve``): within the block SIGINT and
  SIGTERM raise KeyboardInterrupt, so that a run ends at its best weights with status
  "interrupted". A second signal while the run saves is only reported; a third stops at once.
- :func:`held_signals` (the library and the scripts alike): within the block the first signal
  waits and is delivered when the block ends, to the handler that owns it. Used where a
  KeyboardInterrupt in the middle would leave something half done: a quasi-Newton commit (the
  iterate, its direction and the inverse-Hessian estimate change together) and the writing of
  metrics.json.

Python delivers signals to the main thread only; in other threads both do nothing.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from typing import Any, Iterator

__all__ = ["interrupt_signals", "held_signals", "PATIENT_SIGNALS", "SIGNAL_NAMES", "exit_code_for_signal"]

#: The names printed for the signals a run reacts to.
SIGNAL_NAMES = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM"}

#: Signals after the first that are taken as "I am waiting": they do not interrupt the saving of
#: the checkpoint and metrics.json; the one after them stops at once.
PATIENT_SIGNALS = 1

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def exit_code_for_signal(signum: int | None) -> int:
    """128 + the signal's number (130 for SIGINT, 143 for SIGTERM); SIGINT's when ``signum`` is
    None."""
    return 128 + int(signum if signum is not None else signal.SIGINT)


class _Interrupter:
    """The handler :func:`interrupt_signals` installs. ``signum``: the first signal that came (None
    if none); ``count``: signals so far."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.signum: int | None = None
        self.count = 0

    def __call__(self, signum: int, frame: Any) -> None:
        self.count += 1
        if self.signum is None:
            self.signum = signum
        if self.count == 1 and _hold.depth:  # delivered when the held block ends
            _hold.pending = (signum, frame, self)
            return
        if 1 < self.count <= 1 + PATIENT_SIGNALS:
            print(f"{self.name}: {SIGNAL_NAMES.get(signum, 'a signal')} again: saving the checkpoint "
                  "and metrics.json first; once more stops at once", file=sys.stderr, flush=True)
            return
        raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def interrupt_signals(prog: str = "pinn") -> Iterator[_Interrupter]:
    """Within the block SIGINT and SIGTERM raise KeyboardInterrupt (a run then ends at its best
    weights, status "interrupted"); the object yielded tells which came first (``.signum``) and
    how many came (``.count``).

    The first signal interrupts (after the end of a :func:`held_signals` block, if it comes within
    one). A second one (Ctrl-C pressed again while the run saves its checkpoint, writes
    metrics.json and draws its figures) does not: it would throw away what the first one asked to
    keep. It prints that the run is saving and that another signal stops at once; a third one
    raises KeyboardInterrupt wherever the run is (files written atomically stay whole: at worst
    the previous checkpoint and no metrics.json). SIGKILL is never needed.

    The old handlers come back afterwards. SIGINT is re-enabled even where the shell started the
    script with it ignored (background jobs). Outside the main thread nothing is installed.
    ``prog``'s first word starts the messages."""
    interrupter = _Interrupter(prog.split()[0] if prog.split() else "pinn")
    if threading.current_thread() is not threading.main_thread():
        yield interrupter
        return
    old = {s: signal.signal(s, interrupter) for s in _SIGNALS}
    try:
        yield interrupter
    finally:
        for s, handler in old.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)


class _Hold:
    """The state of :func:`held_signals`: how deep the blocks nest, the first signal that came
    (``(signum, frame, handler)``) and the handlers replaced while held."""

    depth = 0
    pending: tuple[int, Any, Any] | None = None
    replaced: dict[int, Any] = {}


_hold = _Hold()


def _record(signum: int, frame: Any) -> None:
    if _hold.pending is None:
        _hold.pending = (signum, frame, _hold.replaced.get(signum))


@contextlib.contextmanager
def held_signals() -> Iterator[None]:
    """Within the block the first SIGINT, and SIGTERM where a Python handler owns it, waits; it is
    delivered to its handler when the block ends (the outermost one, where blocks nest), also when
    the block raised (the signal is never lost). Under :func:`interrupt_signals` later signals
    count as that function says (a third one stops at once, held or not); under other handlers
    (Python's default SIGINT, which raises KeyboardInterrupt, or the user's own) they are dropped.
    An ignored SIGINT stays ignored; a SIGTERM with no Python handler keeps its default action.
    Does nothing outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if _hold.depth == 0:
        _hold.pending = None
        _hold.replaced = {}
        try:
            for signum in _SIGNALS:
                handler = signal.getsignal(signum)
                if isinstance(handler, _Interrupter) or handler == signal.SIG_IGN:
                    continue  # the interrupter holds by itself; ignored stays ignored
                if signum == signal.SIGINT or callable(handler):
                    _hold.replaced[signum] = signal.signal(signum, _record)
        except (ValueError, OSError):  # pragma: no cover - embedded interpreters
            _restore()
            yield
            return
    _hold.depth += 1
    try:
        yield
    finally:
        _hold.depth -= 1
        if _hold.depth == 0:
            _restore()
            pending, _hold.pending = _hold.pending, None
            if pending is not None:
                _deliver(*pending)


def _restore() -> None:
    for signum, handler in _hold.replaced.items():
        signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
    _hold.replaced = {}


def _deliver(signum: int, frame: Any, handler: Any) -> None:
    if isinstance(handler, _Interrupter):  # already counted when it came
        raise KeyboardInterrupt(f"signal {signum}")
    if callable(handler):
        handler(signum, frame)
    elif handler == signal.SIG_DFL:
        signal.raise_signal(signum)  # what would have happened without the block
