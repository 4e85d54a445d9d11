import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest


@pytest.fixture(autouse=True)
def _forget_earlier_interrupts():
    """Tests raise KeyboardInterrupt (as Ctrl-C would) one after another; a Trainer takes a second
    interrupt within 2 s of the first as "stop the script", so each test starts without one."""
    import pinn.trainer

    pinn.trainer._last_interrupt = float("-inf")
    yield
