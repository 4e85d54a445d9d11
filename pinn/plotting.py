"""Figures for solutions and loss histories (matplotlib, no pyplot).

Figures are built with :class:`matplotlib.figure.Figure` on a ``FigureCanvasAgg`` and written
with ``Figure.savefig``, so the user's pyplot state and chosen backend are never touched.
All arguments are checked before anything is drawn. Files are written atomically with the user's
umask (:mod:`pinn.atomic`). The figures of a run that did not finish (``status="interrupted"``...)
carry a red "NOT FINAL" heading.
"""

from __future__ import annotations

import pathlib
from typing import Mapping, Sequence, Union

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.transforms import blended_transform_factory
from numpy.typing import ArrayLike

from pinn.atomic import atomic_write
from pinn.history import History
from pinn.metrics import relative_l2_error

__all__ = ["plot_solution", "plot_history", "plot_error_history", "FINAL_STATUSES"]

PathLike = Union[str, pathlib.Path]
TrainPoints = Union[ArrayLike, Mapping[str, ArrayLike]]

_POINT_COLORS = ("black", "red", "cyan", "magenta", "orange", "lime")


# --------------------------------------------------------------------------- validation


def _axis(name: str, value: ArrayLike) -> np.ndarray:
    """A strictly increasing, finite 1-D coordinate array with at least 2 entries."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim != 1 or arr.size < 2:
        raise ValueError(f"{name} must be a 1-D array with at least 2 entries; got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf; expected finite coordinates")
    if not np.all(np.diff(arr) > 0):
        raise ValueError(f"{name} must be strictly increasing")
    return arr


def _field(name: str, value: ArrayLike, nx: int, nt: int) -> np.ndarray:
    """A finite (nx, nt) field; (nx*nt,) or (nx*nt, 1) in ``grid_points(x, t)`` order is reshaped."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape in ((nx * nt,), (nx * nt, 1)):
        arr = arr.reshape(nx, nt)
    if arr.shape != (nx, nt):
        hint = " (transposed?)" if arr.shape == (nt, nx) else ""
        raise ValueError(
            f"{name} must have shape (len(x), len(t)) = ({nx}, {nt}), or ({nx * nt},) / "
            f"({nx * nt}, 1) in grid_points(x, t) order; got {arr.shape}{hint}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf; expected finite values")
    return arr


def _train_sets(train_points: TrainPoints | None) -> dict[str, np.ndarray]:
    """Training points as {legend label: (n, 2) array of (x, t) rows}."""
    if train_points is None:
        return {}
    if isinstance(train_points, Mapping):
        items = [(str(k), v, f"train_points[{k!r}]") for k, v in train_points.items()]
    else:
        items = [("training points", train_points, "train_points")]
    sets: dict[str, np.ndarray] = {}
    for label, value, arg in items:
        arr = np.asarray(value, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise ValueError(f"{arg} must have shape (n, 2) with (x, t) rows; got {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{arg} contains NaN or inf; expected finite coordinates")
        sets[f"{label} ({len(arr)})"] = arr
    return sets


def _slice_indices(slice_times: Sequence[float], t: np.ndarray) -> list[int]:
    """Index of the nearest ``t`` entry for each slice time, each checked to lie in [t.min(), t.max()]."""
    times = np.asarray(slice_times, dtype=np.float64)
    if times.ndim != 1:
        raise ValueError(f"slice_times must be a 1-D sequence of times; got shape {times.shape}")
    for s in times:
        if not (t[0] <= s <= t[-1]):
            raise ValueError(
                f"slice_times entry {s:g} lies outside the time range [{t[0]:g}, {t[-1]:g}] of t"
            )
    return [int(np.argmin(np.abs(t - s))) for s in times]


def _output_path(path: PathLike) -> tuple[pathlib.Path, str]:
    """The path and the file format taken from its suffix (PNG when there is none)."""
    out = pathlib.Path(path)
    fmt = out.suffix[1:].lower() or "png"
    supported = FigureCanvasAgg.get_supported_filetypes()
    if fmt not in supported:
        raise ValueError(
            f"path suffix {out.suffix!r} is not a supported image format; "
            f"expected one of {sorted(supported)}"
        )
    return out, fmt


#: Run statuses whose results are final: other ones are marked in the figures' titles.
FINAL_STATUSES = ("completed", "stopped")


def _status_note(status: str | None) -> str | None:
    """The line a figure of a run that did not finish carries, or None."""
    if status is None:
        return None
    if not isinstance(status, str):
        raise TypeError(f"status must be a str such as 'completed' or 'interrupted', or None; "
                        f"got {status!r}")
    if status in FINAL_STATUSES:
        return None
    what = {
        "interrupted": "training was interrupted",
        "nonfinite": "the loss became NaN or infinite",
        "failed": "training failed",
        "unfinished": "the run did not finish",
    }.get(status, f"training ended with status {status!r}")
    return f"NOT FINAL: {what}"


def _mark_status(fig: Figure, status: str | None, title: str | None) -> None:
    """Put ``title`` (if any) above the figure, with the note of a ``status`` that is not final
    (then the whole heading in red)."""
    note = _status_note(status)
    if note is None:
        if title:
            fig.suptitle(title)
        return
    fig.suptitle((f"{title}\n" if title else "") + note, color="firebrick")


def _save(fig: Figure, path: pathlib.Path, fmt: str) -> pathlib.Path:
    """Write the figure atomically with the user's umask (creating parent folders) and free it."""
    try:
        with atomic_write(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=150)
    finally:
        fig.clear()
    return path


# --------------------------------------------------------------------------- solution


def plot_solution(
    x: ArrayLike,
    t: ArrayLike,
    prediction: ArrayLike,
    reference: ArrayLike | None = None,
    *,
    train_points: TrainPoints | None = None,
    slice_times: Sequence[float] = (0.25, 0.50, 0.75),
    path: PathLike = "solution.png",
    field: str = "u",
    coordinates: tuple[str, str] = ("x", "t"),
    title: str | None = None,
    status: str | None = None,
) -> pathlib.Path:
    """Plot a space-time solution in the layout of Raissi et al.'s Figure 1 and save it.

    Rows: (1) the predicted field as a heat map, time horizontal and space vertical, with a
    colorbar, the training points as small crosses and dashed lines at the slice times;
    (2) only with ``reference``: the reference heat map and ``|prediction - reference|`` side by
    side, the relative L2 error in the title; (3) one panel per slice time: reference (solid)
    and prediction (dashed) against x at the ``t`` entry nearest that time.

    Args:
        x: space coordinates, shape (nx,), strictly increasing.
        t: time coordinates, shape (nt,), strictly increasing.
        prediction: predicted field, shape (nx, nt) with ``prediction[i, j] = u(x_i, t_j)``;
            (nx*nt,) or (nx*nt, 1) in ``grid_points(x, t)`` order is also accepted.
        reference: exact field of the same shape, or None to skip the comparison row.
        train_points: (n, 2) array of (x, t) rows, or a dict {name: (n, 2) array} to mark
            several sets with a legend.
        slice_times: times (in the units of ``t``) of the bottom-row slices, each within
            [t.min(), t.max()]; empty for no bottom row.
        path: output file; the suffix picks the format (``.png`` when there is none).
            Parent folders are created.
        field: name of the field, for labels.
        coordinates: names of the (space, time) coordinates, for labels.
        title: figure title, if any.
        status: how the training run ended (``"completed"``, ``"interrupted"``, ``"nonfinite"``,
            ``"failed"``, ``"unfinished"``...), or None; a run that did not finish gets a red
            "NOT FINAL" line in the title, so that its figure is not taken for a result.

    Returns:
        The path written.

    Raises:
        ValueError: a wrong shape (naming the argument, expected vs got), non-finite values,
            a slice time outside the range of ``t`` or an unsupported path suffix.
    """
    x = _axis("x", x)
    t = _axis("t", t)
    nx, nt = x.size, t.size
    pred = _field("prediction", prediction, nx, nt)
    ref = None if reference is None else _field("reference", reference, nx, nt)
    points = _train_sets(train_points)
    slices = _slice_indices(slice_times, t)
    if len(coordinates) != 2:
        raise ValueError(f"coordinates must be 2 names (space, time); got {coordinates!r}")
    out, fmt = _output_path(path)
    _status_note(status)  # checked before anything is drawn
    x_name, t_name = coordinates
    error = None
    if ref is not None and np.any(ref != 0):
        error = relative_l2_error(pred, ref)

    rows = [1.0] + ([1.0] if ref is not None else []) + ([0.9] if slices else [])
    fig = Figure(figsize=(max(10.0, 3.4 * len(slices)), 3.2 * len(rows)), layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(len(rows), 1, height_ratios=rows)
    both = pred if ref is None else np.concatenate([pred, ref])
    vmin, vmax = float(both.min()), float(both.max())

    def heat_map(ax, values, label, **kwargs):
        mesh = ax.pcolormesh(t, x, values, shading="nearest", rasterized=True, **kwargs)
        fig.colorbar(mesh, ax=ax, label=label)
        ax.set_xlabel(t_name)
        ax.set_ylabel(x_name)

    # Row 1: prediction, training points, slice markers.
    ax = fig.add_subplot(grid[0])
    heat_map(ax, pred, f"{field}({x_name}, {t_name})", cmap="viridis", vmin=vmin, vmax=vmax)
    ax.set_title(f"Predicted {field}({x_name}, {t_name})")
    for j in slices:
        ax.axvline(t[j], color="white", linestyle="--", linewidth=1)
    for k, (label, pts) in enumerate(points.items()):
        ax.scatter(pts[:, 1], pts[:, 0], marker="x", s=12, linewidths=0.8,
                   color=_POINT_COLORS[k % len(_POINT_COLORS)], label=label, clip_on=False)
    if points:
        ax.legend(loc="upper right", fontsize="small", framealpha=0.8)
    row = 1

    # Row 2: reference and pointwise error.
    if ref is not None:
        sub = grid[row].subgridspec(1, 2)
        ax = fig.add_subplot(sub[0])
        heat_map(ax, ref, f"{field}({x_name}, {t_name})", cmap="viridis", vmin=vmin, vmax=vmax)
        ax.set_title(f"Reference {field}({x_name}, {t_name})")
        ax = fig.add_subplot(sub[1])
        heat_map(ax, np.abs(pred - ref), f"|error in {field}|", cmap="magma")
        note = "undefined (zero reference)" if error is None else f"{error:.3e}"
        ax.set_title(f"|prediction - reference|\nrelative L2 error {note}")
        row += 1

    # Row 3: slices at fixed times.
    if slices:
        sub = grid[row].subgridspec(1, len(slices))
        margin = 0.05 * (vmax - vmin) or 0.5
        first = None
        for k, j in enumerate(slices):
            ax = fig.add_subplot(sub[k], sharey=first)
            if first is None:
                first = ax
            if ref is not None:
                ax.plot(x, ref[:, j], color="tab:blue", linewidth=2, label="Reference")
            ax.plot(x, pred[:, j], color="tab:red", linestyle="--", linewidth=2, label="Prediction")
            ax.set_title(f"{t_name} = {t[j]:.3g}")
            ax.set_xlabel(x_name)
            ax.set_ylim(vmin - margin, vmax + margin)
            if k == 0:
                ax.set_ylabel(f"{field}({x_name}, {t_name})")
                ax.legend(loc="best", fontsize="small")
    _mark_status(fig, status, title)
    return _save(fig, out, fmt)


# --------------------------------------------------------------------------- history


def plot_history(
    history: History, path: PathLike = "loss_history.png", title: str | None = None,
    status: str | None = None,
) -> pathlib.Path:
    """Plot the total loss and every named loss term against the global step and save it.

    The y axis is logarithmic; non-positive and non-finite values are left out (gaps in the
    lines), and the axis falls back to linear when no positive value remains. Each phase
    change (e.g. Adam -> L-BFGS) gets a vertical dotted line, and each phase a text label at
    its first step.

    Args:
        history: training history with at least one record.
        path: output file; the suffix picks the format (``.png`` when there is none).
            Parent folders are created.
        title: axes title, if any.
        status: how the training run ended, or None; as in :func:`plot_solution`, a run that did
            not finish gets a red "NOT FINAL" heading.

    Returns:
        The path written.

    Raises:
        TypeError: ``history`` is not a :class:`pinn.history.History`.
        ValueError: the history is empty, or the path suffix is not a supported format.
    """
    if not isinstance(history, History):
        raise TypeError(f"history must be a pinn.history.History; got {type(history).__name__}")
    if len(history) == 0:
        raise ValueError("history is empty; expected at least one record to plot")
    out, fmt = _output_path(path)
    _status_note(status)

    steps = history.column("step").astype(np.float64)
    series = {"total loss": history.column("loss").astype(np.float64)}
    series.update({name: history.column(name) for name in history.term_names})

    fig = Figure(figsize=(8.0, 4.8), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    log = any(np.any(np.isfinite(v) & (v > 0)) for v in series.values())
    for k, (label, values) in enumerate(series.items()):
        keep = np.isfinite(values) & (values > 0) if log else np.isfinite(values)
        if not np.any(keep):
            continue
        ax.plot(steps, np.where(keep, values, np.nan), label=label,
                linewidth=2.0 if k == 0 else 1.2, color="black" if k == 0 else None,
                marker="." if len(steps) == 1 else None)
    ax.set_yscale("log" if log else "linear")

    label_at = blended_transform_factory(ax.transData, ax.transAxes)
    for k, (phase, step) in enumerate(history.phase_boundaries()):
        if k > 0:
            ax.axvline(step, color="gray", linestyle=":", linewidth=1)
        ax.text(step, 0.98, f" {phase}", transform=label_at, ha="left", va="top", color="gray")

    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    if title:
        ax.set_title(title)
    _mark_status(fig, status, None)
    return _save(fig, out, fmt)


# --------------------------------------------------------------------------- error vs time


def plot_error_history(
    records: Sequence[Mapping[str, object]], path: PathLike = "error_history.png",
    key: str | None = None, title: str | None = None, status: str | None = None,
) -> pathlib.Path:
    """Plot an error against training time (``time_s``, seconds) and save it: the time-to-accuracy
    curve of an :class:`~pinn.callbacks.ErrorMonitor` (``error_history`` of metrics.json).

    One line per phase (the phase's name in the legend), markers at the samples, a logarithmic
    error axis (linear when no value is positive); non-finite and non-positive values are left out.

    Args:
        records: samples ``{"phase", "iteration", "time_s", key, ...}`` in training order.
        path: output file; the suffix picks the format (``.png`` when there is none).
        key: the error to plot (default: the first key of the first record that is not phase,
            iteration or time_s: an ErrorMonitor's main error).
        title: axes title, if any.
        status: how the run ended; a run that did not finish gets a red "NOT FINAL" heading.

    Returns:
        The path written.

    Raises:
        TypeError: ``records`` is not a list of mappings. ValueError: no records, a record without
        ``phase``/``time_s``/``key``, or an unsupported path suffix.
    """
    if isinstance(records, (str, bytes)) or not isinstance(records, Sequence) or \
            not all(isinstance(r, Mapping) for r in records):
        raise TypeError(f"records must be a list of dicts (ErrorMonitor.records), got "
                        f"{type(records).__name__}")
    if not records:
        raise ValueError("records is empty; expected at least one error sample to plot")
    if key is None:
        names = [k for k in records[0] if k not in ("phase", "iteration", "time_s")]
        key = names[0] if names else None
    for i, record in enumerate(records):
        missing = [k for k in ("phase", "time_s", key) if k is None or k not in record]
        if missing:
            raise ValueError(f"records[{i}] lacks {missing}; each sample needs phase, time_s and "
                             f"the error {key!r}")
    out, fmt = _output_path(path)
    _status_note(status)
    times = np.array([float(r["time_s"]) for r in records])
    values = np.array([np.nan if r[key] is None else float(r[key]) for r in records])
    phases = [str(r["phase"]) for r in records]
    log = bool(np.any(np.isfinite(values) & (values > 0)))

    fig = Figure(figsize=(8.0, 4.8), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    order: list[str] = []
    for phase in phases:
        if phase not in order:
            order.append(phase)
    for phase in order:
        pick = np.array([p == phase for p in phases])
        keep = pick & (np.isfinite(values) & (values > 0) if log else np.isfinite(values))
        if np.any(keep):
            ax.plot(times[keep], values[keep], marker=".", linewidth=1.2, label=phase)
    ax.set_yscale("log" if log else "linear")
    ax.set_xlabel("training time (s), error evaluations left out")
    ax.set_ylabel(key)
    ax.grid(True, which="major", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper right", fontsize="small")
    if title:
        ax.set_title(title)
    _mark_status(fig, status, None)
    return _save(fig, out, fmt)
