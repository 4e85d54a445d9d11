"""pinn.signals: interrupt_signals (a run's SIGINT/SIGTERM) and held_signals (blocks a signal must
not split: a quasi-Newton commit, the writing of metrics.json)."""

import os
import signal

import pytest

from pinn.signals import PATIENT_SIGNALS, exit_code_for_signal, held_signals, interrupt_signals


@pytest.fixture
def handlers():
    """Set SIGINT's / SIGTERM's handlers for a test (a background job of a non-interactive shell
    starts with SIGINT ignored, a foreground Python process with Python's own handler), restored
    after."""
    original = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield lambda signum, handler: signal.signal(signum, handler)
    for s, handler in original.items():
        signal.signal(s, handler)


def raising(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def test_sigint_in_a_held_block_is_delivered_after_it(handlers):
    handlers(signal.SIGINT, signal.default_int_handler)
    done = []
    with pytest.raises(KeyboardInterrupt):
        with held_signals():
            os.kill(os.getpid(), signal.SIGINT)
            done.append(True)  # reached: the signal waits for the end of the block
    assert done == [True]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_sigterm_with_a_python_handler_waits_too_and_the_first_signal_is_delivered(handlers):
    """The example scripts make SIGTERM raise KeyboardInterrupt: it must not split a commit (a
    SIGTERM between the iterate and its direction left a checkpoint that could not be written)."""
    handlers(signal.SIGINT, signal.default_int_handler)
    handlers(signal.SIGTERM, raising)
    done = []
    with pytest.raises(KeyboardInterrupt, match=f"signal {int(signal.SIGTERM)}"):
        with held_signals():
            os.kill(os.getpid(), signal.SIGTERM)
            os.kill(os.getpid(), signal.SIGINT)  # the first that came is delivered
            done.append(True)
    assert done == [True]
    assert signal.getsignal(signal.SIGTERM) is raising
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_ignored_sigint_stays_ignored_and_nested_blocks_deliver_at_the_outermost_end(handlers):
    handlers(signal.SIGINT, signal.SIG_IGN)
    with held_signals():
        os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    handlers(signal.SIGINT, signal.default_int_handler)
    steps = []
    with pytest.raises(KeyboardInterrupt):
        with held_signals():
            with held_signals():
                os.kill(os.getpid(), signal.SIGINT)
                steps.append("inner")
            steps.append("outer")  # the inner end does not deliver
    assert steps == ["inner", "outer"]


def test_a_signal_is_not_lost_when_the_held_block_raises(handlers):
    handlers(signal.SIGINT, signal.default_int_handler)
    with pytest.raises(KeyboardInterrupt) as raised:
        with held_signals():
            os.kill(os.getpid(), signal.SIGINT)
            raise OSError("disk full")
    assert isinstance(raised.value.__context__, OSError)


def test_interrupt_signals_counts_held_signals_and_a_third_stops_at_once(handlers, capsys):
    assert PATIENT_SIGNALS == 1
    with interrupt_signals("pinn solve burgers") as received:
        assert signal.getsignal(signal.SIGINT) is received
        with pytest.raises(KeyboardInterrupt, match=f"signal {int(signal.SIGTERM)}"):
            with held_signals():
                assert signal.getsignal(signal.SIGTERM) is received  # not replaced: it holds itself
                os.kill(os.getpid(), signal.SIGTERM)  # held
                os.kill(os.getpid(), signal.SIGINT)  # "again: saving"
                assert received.count == 2
        assert received.signum == signal.SIGTERM
        assert "pinn: SIGINT again: saving the checkpoint" in capsys.readouterr().err
        with pytest.raises(KeyboardInterrupt):  # the third, inside a held block: at once
            with held_signals():
                os.kill(os.getpid(), signal.SIGINT)
                pytest.fail("not reached")  # pragma: no cover
        assert received.count == 3
    assert signal.getsignal(signal.SIGINT) is not received


def test_exit_codes_for_signals():
    assert exit_code_for_signal(signal.SIGINT) == 130
    assert exit_code_for_signal(signal.SIGTERM) == 143
    assert exit_code_for_signal(None) == 130
