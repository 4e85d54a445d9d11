"""Training checkpoints: the whole training state in one HDF5 file, written atomically.

A checkpoint holds what a :class:`~pinn.trainer.Trainer` needs to go on where it stopped:

- ``weights``: the trainable variables as one flat float64 vector (the :class:`~pinn.flat.FlatLayout`
  order), with their names, shapes and dtype, so that loading into a different model is an error;
- ``adam``: Adam's moment vectors and step count, when an Adam phase has run;
- ``history``: every :class:`~pinn.history.HistoryRecord` so far (both phases, named terms);
- ``progress``: how far the current training plan got: Adam steps taken, L-BFGS iterations and
  evaluations, and how the L-BFGS phase ended (SciPy's status; None if it has not ended).

Files are written to a temporary file in the same folder and renamed over the old one, so a run
killed while writing leaves the previous checkpoint intact.

Layout of the file (format version 1)::

    attrs: pinn_checkpoint_version, pinn_version, written (ISO time), variable_names (JSON),
           variable_shapes (JSON), dtype, progress (JSON), settings (JSON)
    weights            float64 (n,)
    adam/m, adam/v     float64 (n,);  adam.attrs["iterations"]
    history/phase      str (k,);  history/step, history/phase_step, history/nfev  int64 (k,)
    history/loss, history/time  float64 (k,);  history/terms/<name>  float64 (k,), NaN where absent
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from pinn.history import History, HistoryRecord

__all__ = ["Checkpoint", "save_checkpoint", "load_checkpoint", "checkpoint_path", "fresh_progress",
           "CHECKPOINT_VERSION"]

CHECKPOINT_VERSION = 1

_HISTORY_INT_COLUMNS = ("step", "phase_step", "nfev")
_HISTORY_FLOAT_COLUMNS = ("loss", "time")


def fresh_progress() -> dict[str, Any]:
    """The progress of a plan not yet started (see :attr:`Checkpoint.progress`)."""
    return {"adam_steps": 0, "lbfgs_nit": 0, "lbfgs_nfev": 0, "lbfgs_status": None}


@dataclasses.dataclass
class Checkpoint:
    """The training state a checkpoint file holds.

    Attributes:
        weights: flat float64 vector of the trainable variables, shape (n,).
        variable_names: the variables' names, in the flat vector's order.
        variable_shapes: their shapes.
        dtype: the variables' dtype name (``"float32"`` or ``"float64"``).
        history: the loss history of every phase so far.
        adam: ``{"m": (n,), "v": (n,), "iterations": int}``, or None if no Adam phase has run.
        progress: ``adam_steps`` (Adam steps of the current plan taken), ``lbfgs_nit`` and
            ``lbfgs_nfev`` (L-BFGS iterations and evaluations of the current plan), ``lbfgs_status``
            (SciPy's status when the L-BFGS phase ended; None while it has not).
        settings: a JSON-serialisable description of the run (e.g. a script's flags), so that a
            resume can refuse a checkpoint of another setup.
        pinn_version: the pinn version that wrote the file.
        written: when the file was written (ISO 8601, UTC).
    """

    weights: np.ndarray
    variable_names: list[str]
    variable_shapes: list[tuple[int, ...]]
    dtype: str
    history: History = dataclasses.field(default_factory=History)
    adam: dict[str, Any] | None = None
    progress: dict[str, Any] = dataclasses.field(default_factory=fresh_progress)
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)
    pinn_version: str = ""
    written: str = ""


def checkpoint_path(path: Any, argument: str = "path") -> Path:
    """``path`` as a Path, checked to be an HDF5 file name (.h5 or .hdf5).

    Raises:
        TypeError: not a str or path. ValueError: another suffix. Both name ``argument``.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{argument} must be a file path, got {type(path).__name__}")
    path = Path(path)
    if path.suffix.lower() not in (".h5", ".hdf5"):
        raise ValueError(f"{argument} must be an HDF5 file path ending in .h5 or .hdf5, got {str(path)!r}")
    return path


def save_checkpoint(path: str | os.PathLike[str], checkpoint: Checkpoint) -> Path:
    """Write ``checkpoint`` to the HDF5 file ``path`` atomically; returns the path.

    The folder is created if needed. The file is first written next to ``path`` and then renamed
    over it, so an interrupted write never leaves a broken or half-new checkpoint.

    Raises:
        TypeError: ``checkpoint`` is not a :class:`Checkpoint`, or ``path`` not a path.
        ValueError: the weights are not a vector matching the shapes, or ``path`` is not .h5/.hdf5.
    """
    import h5py

    from pinn import __version__

    if not isinstance(checkpoint, Checkpoint):
        raise TypeError(f"checkpoint must be a pinn.checkpoint.Checkpoint, got {type(checkpoint).__name__}")
    path = checkpoint_path(path)
    weights = np.asarray(checkpoint.weights, dtype=np.float64)
    size = int(sum(int(np.prod(s, dtype=np.int64)) for s in checkpoint.variable_shapes))
    if weights.shape != (size,):
        raise ValueError(
            f"checkpoint weights must have shape ({size},) for the variable shapes "
            f"{checkpoint.variable_shapes}, got {weights.shape}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".h5.tmp")
    os.close(fd)
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["pinn_checkpoint_version"] = CHECKPOINT_VERSION
            f.attrs["pinn_version"] = __version__
            f.attrs["written"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
            f.attrs["variable_names"] = json.dumps(list(checkpoint.variable_names))
            f.attrs["variable_shapes"] = json.dumps([list(map(int, s)) for s in checkpoint.variable_shapes])
            f.attrs["dtype"] = str(checkpoint.dtype)
            f.attrs["progress"] = json.dumps({**fresh_progress(), **checkpoint.progress})
            f.attrs["settings"] = json.dumps(dict(checkpoint.settings))
            f.create_dataset("weights", data=weights)
            if checkpoint.adam is not None:
                group = f.create_group("adam")
                group.create_dataset("m", data=np.asarray(checkpoint.adam["m"], dtype=np.float64))
                group.create_dataset("v", data=np.asarray(checkpoint.adam["v"], dtype=np.float64))
                group.attrs["iterations"] = int(checkpoint.adam["iterations"])
            _write_history(f.create_group("history"), checkpoint.history)
        os.replace(tmp, path)
    except BaseException:  # a failed or interrupted write leaves the old checkpoint as it was
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def _write_history(group: Any, history: History) -> None:
    import h5py

    columns = history.to_dict()
    group.create_dataset("phase", data=np.asarray(columns["phase"], dtype=object),
                         dtype=h5py.string_dtype())
    for name in _HISTORY_INT_COLUMNS:
        group.create_dataset(name, data=np.asarray(columns[name], dtype=np.int64))
    for name in _HISTORY_FLOAT_COLUMNS:
        group.create_dataset(name, data=np.asarray(columns[name], dtype=np.float64))
    terms = group.create_group("terms")
    terms.attrs["order"] = json.dumps(history.term_names)
    for name in history.term_names:
        terms.create_dataset(name, data=history.column(name))


def _read_history(group: Any) -> History:
    phases = [p.decode() if isinstance(p, bytes) else str(p) for p in group["phase"][()]]
    ints = {name: group[name][()] for name in _HISTORY_INT_COLUMNS}
    floats = {name: group[name][()] for name in _HISTORY_FLOAT_COLUMNS}
    order = json.loads(group["terms"].attrs["order"])
    terms = {name: group["terms"][name][()] for name in order}
    history = History()
    for i, phase in enumerate(phases):
        history.append(HistoryRecord(
            phase=phase, step=int(ints["step"][i]), phase_step=int(ints["phase_step"][i]),
            loss=float(floats["loss"][i]), time=float(floats["time"][i]), nfev=int(ints["nfev"][i]),
            terms={name: float(values[i]) for name, values in terms.items() if not np.isnan(values[i])},
        ))
    return history


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is not a pinn checkpoint, or of a newer format version.
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint file at {str(path)!r}")
    try:
        file = h5py.File(path, "r")
    except OSError as error:
        raise ValueError(f"{str(path)!r} is not an HDF5 file, so not a pinn checkpoint ({error})") from None
    with file as f:
        version = f.attrs.get("pinn_checkpoint_version")
        if version is None or "weights" not in f:
            raise ValueError(f"{str(path)!r} is not a pinn checkpoint (no pinn_checkpoint_version or weights)")
        if int(version) > CHECKPOINT_VERSION:
            raise ValueError(
                f"{str(path)!r} is checkpoint format {int(version)}; this pinn reads up to "
                f"{CHECKPOINT_VERSION}: upgrade pinn"
            )
        adam = None
        if "adam" in f:
            adam = {"m": f["adam/m"][()], "v": f["adam/v"][()],
                    "iterations": int(f["adam"].attrs["iterations"])}
        return Checkpoint(
            weights=f["weights"][()],
            variable_names=list(json.loads(f.attrs["variable_names"])),
            variable_shapes=[tuple(s) for s in json.loads(f.attrs["variable_shapes"])],
            dtype=str(f.attrs["dtype"]),
            history=_read_history(f["history"]),
            adam=adam,
            progress={**fresh_progress(), **json.loads(f.attrs["progress"])},
            settings=json.loads(f.attrs.get("settings", "{}")),
            pinn_version=str(f.attrs["pinn_version"]),
            written=str(f.attrs["written"]),
        )
