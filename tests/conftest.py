import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

from pathlib import Path

import pytest


def paper_data_folder() -> Path:
    """Where the original papers' data files are: $PINN_SHARED_DATA, else ../shared/data/raissi
    beside the repository (developers and CI have it; users do not)."""
    folder = os.environ.get("PINN_SHARED_DATA")
    return Path(folder) if folder else Path(__file__).resolve().parents[2] / "shared/data/raissi"


@pytest.fixture
def paper_file():
    """``paper_file(name) -> Path`` of one of the original papers' data files (``burgers_shock.mat``,
    ``Butcher_IRK100.txt``...); the test is skipped when the file is not at hand."""

    def find(name: str) -> Path:
        path = paper_data_folder() / name
        if not path.is_file():
            pytest.skip(f"paper data file {path} not available")
        return path

    return find


@pytest.fixture
def stop_at():
    """``stop_at(n)``: a pinn.Callback that stops the second phase at iteration n."""
    import pinn

    class StopAt(pinn.Callback):
        def __init__(self, iteration: int) -> None:
            self.iteration = iteration

        def on_iteration_end(self, iteration, logs):
            if logs["phase"] != "adam" and iteration == self.iteration:
                self.stop_training = True

    return StopAt


@pytest.fixture(autouse=True)
def _forget_earlier_interrupts():
    """Tests raise KeyboardInterrupt (as Ctrl-C would) one after another; a Trainer takes a second
    interrupt within 2 s of the first as "stop the script", so each test starts without one."""
    import pinn.trainer

    pinn.trainer._last_interrupt = float("-inf")
    yield
