"""Training checkpoints: the whole training state in one HDF5 file, written atomically.

A checkpoint holds what a :class:`~pinn.trainer.Trainer` needs to go on where it stopped:

- ``weights``: the trainable variables as one flat float64 vector (the :class:`~pinn.flat.FlatLayout`
  order), with their names, shapes and dtype, so that loading into a different model is an error;
- ``adam``: Adam's moment vectors and step count, when an Adam phase has run;
- ``history``: every :class:`~pinn.history.HistoryRecord` so far (both phases, named terms);
- ``progress``: how far the current training plan got: Adam steps taken and how that phase
  ended, the second (SciPy) phase's iterations and evaluations and how it ended (a
  :class:`~pinn.status.Status` value; None while it has not), resamples drawn, whether a
  float32 stage has ended;
- ``points``: point sets replaced during training (resampling), so a resume uses the same points;
- ``quasi_newton``: the state of a dense quasi-Newton second phase
  (:class:`~pinn.quasi_newton.QuasiNewtonState`: the inverse-Hessian estimate, the last iterate,
  its loss, gradient and search direction, the scaling and the counters), so that a resumed
  SSBFGS/SSBroyden run continues exactly where it stopped (optional; see "Size" below);
- ``callbacks``: the state of callbacks that keep one (a ``checkpoint_key``, e.g. an
  :class:`~pinn.callbacks.ErrorMonitor`'s samples and its training clock), as JSON.

Files are built in memory, written to a temporary file in the same folder and renamed over the old
one (:mod:`pinn.atomic`), so a run killed while writing leaves the previous checkpoint intact, and a
full disk is an ``OSError`` that leaves it intact too.

Loading checks the whole file before anything is returned (no HDF5 external or soft links,
external storage or datasets larger than their data, before anything is read; then shapes, finite
weights, integer counters), and names the file and the bad entry.

Layout of the file (format version 2; version 1 files are read too)::

    attrs: pinn_checkpoint_version, pinn_version, written (ISO time), variable_names (JSON),
           variable_shapes (JSON), dtype, progress (JSON), settings (JSON)
    weights            float64 (n,)
    adam/m, adam/v     float64 (n,);  adam.attrs["iterations"]
    history/phase      str (k,);  history/step, history/phase_step, history/nfev  int64 (k,)
    history/loss, history/time  float64 (k,);  history/terms/<name>  float64 (k,), NaN where absent
    history/coefficients/<name>  float64 (k,), NaN where absent
    points/<name>      float64 (N, d)
    quasi_newton/H_upper   float64 (n (n + 1) / 2,): the upper triangle of H_hat, row by row
    quasi_newton/x, /g, /p float64 (n,), when the state has an iterate
    quasi_newton.attrs: size, has_iterate, iteration, updates, skipped, restarts, weak_steps
                        (ints), H_scale, f, f_prev, gamma (floats; f_prev and gamma may be NaN)
    attrs["callbacks"]  JSON {key: state}

The ``quasi_newton`` group and the ``callbacks`` attribute are optional: files without them (all
files written before they existed) load as before, and a pinn that does not know them ignores
them, so the format number stays 2.

Size. A dense quasi-Newton state keeps an n x n float64 matrix. Only its upper triangle is stored,
``4 n (n + 1)`` bytes: 36.5 MB for the Burgers network's n = 3021 (``8 n^2`` = 73 MB in memory),
besides the weights, Adam's moments and the history. It is written uncompressed: gzip saves only a
few per cent on a float64 matrix of full-precision values at many times the write time
(``benchmarks/quasi_newton_checkpoint.py`` measures both; see its JSON).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from pinn.atomic import hdf5_image, write_atomic
from pinn.data import check_hdf5_file
from pinn.history import History, HistoryRecord

__all__ = ["Checkpoint", "save_checkpoint", "load_checkpoint", "checkpoint_path", "fresh_progress",
           "CHECKPOINT_VERSION"]

CHECKPOINT_VERSION = 2

_HISTORY_INT_COLUMNS = ("step", "phase_step", "nfev")
_HISTORY_FLOAT_COLUMNS = ("loss", "time")


def fresh_progress() -> dict[str, Any]:
    """The progress of a plan not yet started (see :attr:`Checkpoint.progress`)."""
    return {"adam_steps": 0, "adam_status": None, "adam_current": True, "lbfgs_nit": 0,
            "lbfgs_nfev": 0, "lbfgs_status": None, "resamples": 0, "float32_ended": False}


_PROGRESS_INTS = ("adam_steps", "lbfgs_nit", "lbfgs_nfev", "resamples")
_V1_LBFGS_STATUS = {0: "converged", 1: "limit_reached"}  # format 1 stored SciPy's L-BFGS-B code


def _check_progress(progress: Any, where: str) -> dict[str, Any]:
    from pinn.status import Status

    if not isinstance(progress, dict):
        raise ValueError(f"{where}: progress must be a JSON object, got {type(progress).__name__}")
    merged = {**fresh_progress(), **progress}
    for key in _PROGRESS_INTS:
        value = merged[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{where}: progress[{key!r}] must be an int >= 0, got {value!r}")
    status = merged["lbfgs_status"]
    if isinstance(status, int) and not isinstance(status, bool):
        merged["lbfgs_status"] = status = _V1_LBFGS_STATUS.get(status, "failed")
    for key in ("adam_status", "lbfgs_status"):
        if merged[key] is not None and merged[key] not in {s.value for s in Status}:
            raise ValueError(f"{where}: progress[{key!r}] must be None or one of "
                             f"{[s.value for s in Status]}, got {merged[key]!r}")
    for key in ("adam_current", "float32_ended"):
        if not isinstance(merged[key], bool):
            raise ValueError(f"{where}: progress[{key!r}] must be true or false")
    return merged


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
        progress: ``adam_steps`` (Adam steps of the current plan taken), ``adam_status`` (how the
            Adam phase last ended), ``adam_current`` (Adam's moments belong to the weights: no
            other phase moved them since), ``lbfgs_nit`` and ``lbfgs_nfev`` (iterations and
            evaluations of the second, SciPy phase), ``lbfgs_status`` (how it ended, a
            :class:`~pinn.status.Status` value; None while it has not), ``resamples`` (point
            draws so far), ``float32_ended`` (a float32 stage of the plan is over: see
            :meth:`pinn.Trainer.train`'s ``float32_iterations``).
        settings: a JSON-serialisable description of the run (e.g. a script's flags), so that a
            resume can refuse a checkpoint of another setup.
        points: point sets replaced during training, ``{name: (N, d) float64}``.
        quasi_newton: the dense quasi-Newton state, the dict of
            :meth:`pinn.quasi_newton.QuasiNewtonState.state` (``"H"`` (n, n), ``"x"``, ``"g"``,
            ``"p"`` (n,), scalars and counters), or None when no such phase has run.
        callbacks: ``{checkpoint_key: state}`` of callbacks that keep a state (JSON values).
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
    points: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    quasi_newton: dict[str, Any] | None = None
    callbacks: dict[str, Any] = dataclasses.field(default_factory=dict)
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

    The folder is created if needed. The file is built in memory, written to a temporary file
    next to ``path`` and renamed over it (:func:`pinn.atomic.atomic_write`), so an interrupted or
    failed write never leaves a broken or half-new checkpoint, nor a temporary file; the file gets
    the user's usual permissions (mode 0o666 filtered by the umask).

    Raises:
        TypeError: ``checkpoint`` is not a :class:`Checkpoint`, or ``path`` not a path.
        ValueError: the weights are not a vector matching the shapes, or ``path`` is not .h5/.hdf5.
        OSError: the file cannot be written (a full disk, a read-only folder); the old file stays.
    """
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
    quasi_newton = checkpoint.quasi_newton
    if quasi_newton is not None:
        if not isinstance(quasi_newton, dict) or "H" not in quasi_newton:
            raise ValueError("checkpoint.quasi_newton must be the dict of QuasiNewtonState.state() "
                             "(with 'H') or None")
        if np.shape(quasi_newton["H"]) != (size, size):
            raise ValueError(f"checkpoint.quasi_newton['H'] must have shape ({size}, {size}) for "
                             f"{size} weights, got {np.shape(quasi_newton['H'])}")

    def fill(f: Any) -> None:
        f.attrs["pinn_checkpoint_version"] = CHECKPOINT_VERSION
        f.attrs["pinn_version"] = __version__
        f.attrs["written"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        f.attrs["variable_names"] = json.dumps(list(checkpoint.variable_names))
        f.attrs["variable_shapes"] = json.dumps([list(map(int, s)) for s in checkpoint.variable_shapes])
        f.attrs["dtype"] = str(checkpoint.dtype)
        f.attrs["progress"] = json.dumps({**fresh_progress(), **checkpoint.progress})
        f.attrs["settings"] = json.dumps(dict(checkpoint.settings))
        if checkpoint.callbacks:
            f.attrs["callbacks"] = json.dumps(dict(checkpoint.callbacks))
        f.create_dataset("weights", data=weights)
        if checkpoint.adam is not None:
            group = f.create_group("adam")
            group.create_dataset("m", data=np.asarray(checkpoint.adam["m"], dtype=np.float64))
            group.create_dataset("v", data=np.asarray(checkpoint.adam["v"], dtype=np.float64))
            group.attrs["iterations"] = int(checkpoint.adam["iterations"])
        _write_history(f.create_group("history"), checkpoint.history)
        if checkpoint.points:
            group = f.create_group("points")
            for name, values in checkpoint.points.items():
                group.create_dataset(name, data=np.asarray(values, dtype=np.float64))
        if quasi_newton is not None:
            _write_quasi_newton(f.create_group("quasi_newton"), quasi_newton)

    # built in memory, then written as bytes: HDF5 writing to a full disk itself can crash the
    # process; a plain write raises OSError (ENOSPC), the old file stays and no temporary file is left
    write_atomic(path, hdf5_image(fill))
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
    coefficients = group.create_group("coefficients")
    coefficients.attrs["order"] = json.dumps(history.coefficient_names)
    for name in history.coefficient_names:
        coefficients.create_dataset(name, data=history.coefficient(name))


_QN_INTS = ("size", "has_iterate", "iteration", "updates", "skipped", "restarts", "weak_steps")
_QN_FLOATS = ("H_scale", "f_prev", "gamma")


def pack_upper(matrix: np.ndarray) -> np.ndarray:
    """The upper triangle of a square (n, n) array, row by row: float64 (n (n + 1) / 2,)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    return matrix[np.triu_indices(matrix.shape[0])]


def unpack_upper(packed: np.ndarray, n: int) -> np.ndarray:
    """The symmetric float64 (n, n) array whose upper triangle :func:`pack_upper` gave."""
    matrix = np.zeros((n, n), dtype=np.float64)
    matrix[np.triu_indices(n)] = packed
    return matrix + np.triu(matrix, 1).T


def _write_quasi_newton(group: Any, state: dict[str, Any]) -> None:
    n = int(state["size"])
    group.create_dataset("H_upper", data=pack_upper(state["H"]))
    for key in _QN_INTS:
        group.attrs[key] = int(state[key])
    for key in _QN_FLOATS:
        group.attrs[key] = float(state[key])
    if int(state["has_iterate"]):
        group.attrs["f"] = float(state["f"])
        for key in ("x", "g", "p"):
            group.create_dataset(key, data=np.asarray(state[key], dtype=np.float64).reshape(n))


class _Reader:
    """Reads entries of an open checkpoint, each checked, with errors naming the file and entry."""

    def __init__(self, file: Any, path: Path) -> None:
        self.file, self.path = file, path

    def fail(self, entry: str, problem: str) -> ValueError:
        return ValueError(f"checkpoint {str(self.path)!r}: entry {entry!r} {problem}")

    def dataset(self, name: str, dtype: Any, shape: tuple | None = None, finite: bool = False,
                ndim: int | None = None) -> np.ndarray:
        import h5py

        link = self.file.get(name, getlink=True)
        if link is None:
            raise self.fail(name, "is missing")
        if not isinstance(link, h5py.HardLink):
            raise self.fail(name, "is a link to elsewhere; checkpoints hold their own data")
        node = self.file[name]
        if not isinstance(node, h5py.Dataset):
            raise self.fail(name, "is not a dataset")
        if node.external or node.is_virtual:
            raise self.fail(name, "keeps its data in other files; checkpoints hold their own data")
        if shape is not None and node.shape != shape:
            raise self.fail(name, f"must have shape {shape}, has {node.shape}")
        if ndim is not None and node.ndim != ndim:
            raise self.fail(name, f"must have {ndim} dimension(s), has shape {node.shape}")
        try:
            values = np.asarray(node[()]).astype(dtype) if dtype is not object else node[()]
        except (TypeError, ValueError) as error:
            raise self.fail(name, f"cannot be read as {np.dtype(dtype).name} ({error})") from None
        if finite and not np.all(np.isfinite(values)):
            raise self.fail(name, "holds NaN or infinite values")
        return values

    def json_attr(self, owner: Any, name: str, default: Any = None) -> Any:
        if name not in owner.attrs:
            if default is not None:
                return default
            raise self.fail(name, "is missing (attribute)")
        try:
            return json.loads(owner.attrs[name])
        except (TypeError, ValueError) as error:
            raise self.fail(name, f"is not valid JSON ({error})") from None


def _read_history(reader: _Reader) -> History:
    group = reader.file["history"]
    phases_raw = reader.dataset("history/phase", object, ndim=1)
    k = len(phases_raw)
    phases = [p.decode() if isinstance(p, bytes) else str(p) for p in phases_raw]
    ints = {name: reader.dataset(f"history/{name}", np.int64, (k,)) for name in _HISTORY_INT_COLUMNS}
    floats = {name: reader.dataset(f"history/{name}", np.float64, (k,)) for name in _HISTORY_FLOAT_COLUMNS}
    columns = {}
    for kind in ("terms", "coefficients"):
        columns[kind] = {}
        if kind in group:
            for name in reader.json_attr(group[kind], "order", []):
                columns[kind][name] = reader.dataset(f"history/{kind}/{name}", np.float64, (k,))
    history = History()
    for i, phase in enumerate(phases):
        history.append(HistoryRecord(
            phase=phase, step=int(ints["step"][i]), phase_step=int(ints["phase_step"][i]),
            loss=float(floats["loss"][i]), time=float(floats["time"][i]), nfev=int(ints["nfev"][i]),
            terms={n: float(v[i]) for n, v in columns["terms"].items() if not np.isnan(v[i])},
            coefficients={n: float(v[i]) for n, v in columns["coefficients"].items() if not np.isnan(v[i])},
        ))
    return history


def _read_quasi_newton(reader: "_Reader", size: int) -> dict[str, Any]:
    """The quasi-Newton group as the dict :meth:`QuasiNewtonState.from_state` takes, checked
    (the message names the file and the entry); from_state checks it again as a whole."""
    from pinn.quasi_newton import QuasiNewtonState

    group = reader.file["quasi_newton"]
    state: dict[str, Any] = {}
    for key in _QN_INTS:
        value = group.attrs.get(key)
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 0:
            raise reader.fail(f"quasi_newton/{key}", f"must be an int >= 0, got {value!r}")
        state[key] = int(value)
    if state["size"] != size:
        raise reader.fail("quasi_newton/size", f"is {state['size']}, but the checkpoint holds "
                          f"{size} weights")
    for key in _QN_FLOATS + (("f",) if state["has_iterate"] else ()):
        value = group.attrs.get(key)
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (float, int, np.floating, np.integer)):
            raise reader.fail(f"quasi_newton/{key}", f"must be a number, got {value!r}")
        state[key] = float(value)
    n = state["size"]
    packed = reader.dataset("quasi_newton/H_upper", np.float64, (n * (n + 1) // 2,), finite=True)
    state["H"] = unpack_upper(packed, n)
    if state["has_iterate"]:
        for key in ("x", "g", "p"):
            state[key] = reader.dataset(f"quasi_newton/{key}", np.float64, (n,), finite=True)
    try:
        QuasiNewtonState.from_state(state)
    except (ValueError, TypeError) as error:
        raise reader.fail("quasi_newton", f"is not a valid quasi-Newton state ({error})") from None
    return state


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`, checking every entry first.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is not a pinn checkpoint, is of a newer format version, or an entry
            is bad (the message names the file and the entry): weights of the wrong length or not
            finite, non-integer counters, a malformed Adam state, history or progress, HDF5
            external or soft links, external storage, virtual datasets, or a dataset that declares
            more data than the file stores (checked before anything is read, so a crafted file
            cannot make the loader read other files or allocate unbounded memory).
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
        reader = _Reader(f, path)
        # links, external storage and oversized datasets first: nothing is read before this
        check_hdf5_file(f, f"checkpoint {str(path)!r}")
        version = f.attrs.get("pinn_checkpoint_version")
        if version is None or "weights" not in f:
            raise ValueError(f"{str(path)!r} is not a pinn checkpoint (no pinn_checkpoint_version or weights)")
        if isinstance(version, (bool, np.bool_)) or not isinstance(version, (int, np.integer)) or version < 1:
            raise reader.fail("pinn_checkpoint_version", f"must be an int >= 1, got {version!r}")
        if "history" not in f or not isinstance(f["history"], h5py.Group):
            raise reader.fail("history", "is missing (a group)")
        if "adam" in f and not isinstance(f["adam"], h5py.Group):
            raise reader.fail("adam", "must be a group")
        if "points" in f and not isinstance(f["points"], h5py.Group):
            raise reader.fail("points", "must be a group")
        if "quasi_newton" in f and not isinstance(f["quasi_newton"], h5py.Group):
            raise reader.fail("quasi_newton", "must be a group")
        if int(version) > CHECKPOINT_VERSION:
            raise ValueError(
                f"{str(path)!r} is checkpoint format {int(version)}; this pinn reads up to "
                f"{CHECKPOINT_VERSION}: upgrade pinn"
            )
        names = reader.json_attr(f, "variable_names")
        shapes = reader.json_attr(f, "variable_shapes")
        if (not isinstance(shapes, list) or not isinstance(names, list) or len(names) != len(shapes)
                or not all(isinstance(s, list) and all(isinstance(d, int) and not isinstance(d, bool)
                                                       and d >= 0 for d in s) for s in shapes)):
            raise reader.fail("variable_shapes", "must be a list of shapes (lists of ints >= 0), "
                              "one per variable name")
        size = int(sum(int(np.prod(s, dtype=np.int64)) for s in shapes))
        weights = reader.dataset("weights", np.float64, (size,), finite=True)
        adam = None
        if "adam" in f:
            iterations = f["adam"].attrs.get("iterations")
            if isinstance(iterations, (bool, np.bool_)) or not isinstance(iterations, (int, np.integer)) \
                    or iterations < 0:
                raise reader.fail("adam/iterations", f"must be an int >= 0, got {iterations!r}")
            adam = {"m": reader.dataset("adam/m", np.float64, (size,), finite=True),
                    "v": reader.dataset("adam/v", np.float64, (size,), finite=True),
                    "iterations": int(iterations)}
        points = {}
        if "points" in f:
            for name in f["points"]:
                points[name] = reader.dataset(f"points/{name}", np.float64, finite=True, ndim=2)
        settings = reader.json_attr(f, "settings", {})
        if not isinstance(settings, dict):
            raise reader.fail("settings", "must be a JSON object")
        callbacks = reader.json_attr(f, "callbacks", {})
        if not isinstance(callbacks, dict):
            raise reader.fail("callbacks", "must be a JSON object")
        quasi_newton = _read_quasi_newton(reader, size) if "quasi_newton" in f else None
        dtype = str(f.attrs.get("dtype", ""))
        if dtype not in ("float16", "bfloat16", "float32", "float64"):
            raise reader.fail("dtype", f"must be a float dtype name, got {dtype!r}")
        return Checkpoint(
            weights=weights,
            variable_names=[str(n) for n in names],
            variable_shapes=[tuple(s) for s in shapes],
            dtype=dtype,
            history=_read_history(reader),
            adam=adam,
            progress=_check_progress(reader.json_attr(f, "progress"), f"checkpoint {str(path)!r}"),
            settings=settings,
            points=points,
            quasi_newton=quasi_newton,
            callbacks=callbacks,
            pinn_version=str(f.attrs.get("pinn_version", "")),
            written=str(f.attrs.get("written", "")),
        )
