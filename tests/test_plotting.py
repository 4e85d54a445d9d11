"""Tests for pinn.metrics and pinn.plotting (NumPy + matplotlib only, no TensorFlow)."""

from __future__ import annotations

import pathlib

import matplotlib.image
import numpy as np
import pytest

from pinn.history import History, HistoryRecord
from pinn.metrics import grid_points, max_abs_error, relative_l2_error
from pinn.plotting import plot_history, plot_solution

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- metrics


def test_relative_l2_error_known_values():
    ref = np.ones((4, 3))
    assert relative_l2_error(1.1 * ref, ref) == pytest.approx(0.1)
    assert relative_l2_error(ref, ref) == 0.0
    # ||(3, 4) - 0|| / ||(3, 4)|| = 1; a single wrong entry out of [3, 4]: 4 / 5.
    assert relative_l2_error([0.0, 0.0], [3.0, 4.0]) == pytest.approx(1.0)
    assert relative_l2_error([3.0, 0.0], [3.0, 4.0]) == pytest.approx(0.8)
    assert isinstance(relative_l2_error(ref, ref), float)


def test_max_abs_error_known_value():
    assert max_abs_error([1.0, -2.0, 3.0], [1.0, 2.0, 2.5]) == pytest.approx(4.0)


def test_metric_errors():
    with pytest.raises(ValueError, match=r"prediction \(3, 1\).*reference \(3,\)"):
        relative_l2_error(np.ones((3, 1)), np.ones(3))
    with pytest.raises(ValueError, match="zero L2 norm"):
        relative_l2_error(np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match="prediction contains NaN"):
        relative_l2_error([1.0, np.nan], [1.0, 1.0])
    with pytest.raises(ValueError, match="reference contains NaN or inf"):
        max_abs_error([1.0, 1.0], [1.0, np.inf])
    with pytest.raises(ValueError, match="empty"):
        max_abs_error([], [])


def test_grid_points_matches_reshape_convention():
    x = np.array([-1.0, 0.0, 0.5, 1.0])
    t = np.array([0.0, 0.1, 0.2])
    pts = grid_points(x, t)
    assert pts.shape == (12, 2)
    u = lambda p: p[:, 0] ** 2 + 10.0 * p[:, 1]  # noqa: E731
    U = u(pts).reshape(len(x), len(t))
    X, T = np.meshgrid(x, t, indexing="ij")
    np.testing.assert_allclose(U, X**2 + 10.0 * T)
    np.testing.assert_array_equal(pts[1], [x[0], t[1]])  # last axis fastest


def test_grid_points_general_axes_and_dtype():
    a, b, c = np.arange(2.0), np.arange(3.0), np.arange(4, dtype=np.float32)
    pts = grid_points(a, b, c)
    assert pts.shape == (24, 3)
    np.testing.assert_array_equal(pts[:5], [[0, 0, 0], [0, 0, 1], [0, 0, 2], [0, 0, 3], [0, 1, 0]])
    assert grid_points(np.arange(3, dtype=np.float32)).dtype == np.float32
    assert grid_points(np.arange(3)).dtype == np.float64
    with pytest.raises(ValueError, match=r"axes\[1\].*\(2, 2\)"):
        grid_points(a, np.ones((2, 2)))
    with pytest.raises(ValueError, match="at least one axis"):
        grid_points()


# --------------------------------------------------------------------------- plot_solution


@pytest.fixture(scope="module")
def burgers_like():
    x = np.linspace(-1.0, 1.0, 64)
    t = np.linspace(0.0, 0.99, 40)
    X, T = np.meshgrid(x, t, indexing="ij")
    ref = -np.sin(np.pi * X) * np.exp(-2.0 * T)
    pred = ref + 0.02 * np.cos(2.0 * X) * T
    return x, t, pred, ref


def assert_real_png(path: pathlib.Path, min_kb: float = 10.0) -> None:
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > min_kb * 1024
    img = matplotlib.image.imread(path)
    colours = np.unique(img[..., :3].reshape(-1, 3), axis=0)
    assert len(colours) > 50  # heat maps, not a blank canvas


def test_plot_solution_with_reference_and_dict_points(tmp_path, burgers_like):
    x, t, pred, ref = burgers_like
    rng = np.random.default_rng(0)
    points = {
        "initial": np.c_[rng.uniform(-1, 1, 20), np.zeros(20)],
        "collocation": np.c_[rng.uniform(-1, 1, 50), rng.uniform(0, 0.99, 50)],
    }
    out = plot_solution(x, t, pred, ref, train_points=points, path=tmp_path / "sub" / "dir" / "sol.png",
                        title="Burgers")
    assert out == tmp_path / "sub" / "dir" / "sol.png"
    assert_real_png(out)
    height = matplotlib.image.imread(out).shape[0]
    # Without the reference the middle row is gone: a shorter figure.
    out2 = plot_solution(x, t, pred, train_points=points["initial"], path=tmp_path / "pred.png")
    assert_real_png(out2)
    assert matplotlib.image.imread(out2).shape[0] < height


def test_plot_solution_accepts_flat_prediction_and_other_formats(tmp_path, burgers_like):
    x, t, pred, ref = burgers_like
    out = plot_solution(x, t, pred.reshape(-1, 1), ref.reshape(-1), slice_times=(), path=tmp_path / "s.svg")
    assert out.read_text().lstrip().startswith("<?xml")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(prediction=np.ones((40, 64))), r"prediction must have shape .*\(64, 40\).*got \(40, 64\) \(transposed\?\)"),
        (dict(reference=np.ones((64, 39))), r"reference must have shape .*\(64, 40\).*got \(64, 39\)"),
        (dict(x=np.ones((64, 1))), r"x must be a 1-D array.*got shape \(64, 1\)"),
        (dict(t=np.linspace(1.0, 0.0, 40)), "t must be strictly increasing"),
        (dict(slice_times=(0.5, 1.2)), r"slice_times entry 1\.2 lies outside .*\[0, 0\.99\]"),
        (dict(train_points=np.ones((5, 3))), r"train_points must have shape \(n, 2\).*got \(5, 3\)"),
        (dict(train_points={"ic": np.ones(4)}), r"train_points\['ic'\] must have shape \(n, 2\).*got \(4,\)"),
        (dict(prediction=np.full((64, 40), np.nan)), "prediction contains NaN"),
        (dict(path="out/sol.xyz"), "suffix '.xyz' is not a supported"),
    ],
)
def test_plot_solution_errors_before_drawing(tmp_path, burgers_like, kwargs, message):
    x, t, pred, ref = burgers_like
    args = dict(x=x, t=t, prediction=pred, reference=ref, path=tmp_path / "out" / "sol.png")
    args.update(kwargs)
    if isinstance(args["path"], str):
        args["path"] = tmp_path / args["path"]
    with pytest.raises(ValueError, match=message):
        plot_solution(**args)
    assert not (tmp_path / "out").exists()  # nothing drawn or written


# --------------------------------------------------------------------------- plot_history


def two_phase_history() -> History:
    history = History()
    for step in range(60):
        phase, phase_step = ("adam", step + 1) if step < 40 else ("lbfgs", step - 39)
        loss = np.exp(-step / 10.0)
        if step == 5:
            loss = 0.0  # must be skipped on the log axis, not crash
        history.append(HistoryRecord(
            phase=phase, step=step, phase_step=phase_step, loss=loss, time=0.01 * step, nfev=phase_step,
            terms={"pde": 0.7 * np.exp(-step / 8.0), "ic": 0.3 * np.exp(-step / 12.0)},
        ))
    return history


def test_plot_history_writes_png(tmp_path):
    history = two_phase_history()
    assert history.phase_boundaries() == [("adam", 0), ("lbfgs", 40)]
    out = plot_history(history, path=tmp_path / "h" / "loss.png", title="two phases")
    assert out == tmp_path / "h" / "loss.png"
    assert_real_png(out, min_kb=10.0)


def test_plot_history_single_record_and_no_positive_values(tmp_path):
    history = History()
    history.append(HistoryRecord(phase="adam", step=0, phase_step=1, loss=0.0, time=0.0))
    assert plot_history(history, path=tmp_path / "zero.png").stat().st_size > 1000


def test_plot_history_errors(tmp_path):
    with pytest.raises(ValueError, match="history is empty"):
        plot_history(History(), path=tmp_path / "empty.png")
    with pytest.raises(TypeError, match="pinn.history.History"):
        plot_history([1.0, 0.5], path=tmp_path / "list.png")
    assert not list(tmp_path.iterdir())
