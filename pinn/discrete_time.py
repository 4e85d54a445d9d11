"""Discrete-time Runge–Kutta PINNs (Raissi, Perdikaris & Karniadakis 2019, Sec. 3.2 and 4.2).

A discrete-time PINN learns one time step of a PDE ``u_t = F[u]`` (first order in time) as the
stages of a q-stage implicit Runge–Kutta method (Gauss–Legendre, order 2q, so steps can be long:
the paper's Allen–Cahn step is dt = 0.8 with q = 100). The network maps *spatial* points to the
stage values of every field; the loss ties them to snapshot data through the Runge–Kutta
equations, with ``A`` (q, q), ``b`` (q,), ``c`` (q,) from :func:`pinn.gauss_legendre`::

    u^n     = U_i - dt sum_j A_ij F_j,            i = 1..q
    u^{n+1} = U_i + dt sum_j (b_j - A_ij) F_j,    i = 1..q    (the same step from the other end)
    u^{n+1} = u^n + dt sum_j b_j F_j

where ``U_j`` is the stage value at time ``t0 + c_j dt`` and ``F_j = F[U_j]``.

**The equation is an ordinary** :class:`~pinn.equation.Equation` in space-time coordinates, written
as for a continuous-time problem: ``residual = c u_t + N[u]`` (a dict of such residuals for
systems). :class:`DiscreteTimeProblem` finds the constant ``c`` once (see :class:`StageView`) and
evaluates ``F = -N[U] / c`` for all stages at once.

Two kinds of problem:

- **inference** (one snapshot ``u^n`` at ``t0``): the network has ``S = q + 1`` outputs per field,
  ``U_1..U_q`` and ``U_{q+1} = u^{n+1}`` (the solution at ``t0 + dt``); every output predicts
  ``u^n`` (``U_i - dt sum_j A_ij F_j`` for the stages, ``U_{q+1} - dt sum_j b_j F_j`` for the
  last) and all are compared with the snapshot (term ``"snapshot"``);
- **identification** (two snapshots at ``t0`` and ``t1 = t0 + dt``, ``next_snapshot`` given): the
  network has ``S = q`` outputs per field; the stages predict ``u^n`` at the first snapshot's points
  (term ``"snapshot"``) and ``u^{n+1}`` at the second's (term ``"next_snapshot"``). Trainable
  equation coefficients (:class:`~pinn.equation.Trainable`) are learned with the network.

Spatial conditions apply to all S outputs: :class:`Periodic` (values and first derivatives equal at
the two ends of a coordinate, as the paper's Allen–Cahn) and :class:`Dirichlet`.

Public names: :class:`DiscreteTimeProblem`, :class:`Snapshot`, :func:`grid_snapshot`,
:class:`StageView`, :class:`Periodic`, :class:`Dirichlet`, :func:`plot_snapshots`.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import numpy as np
import tensorflow as tf

from pinn.derivatives import ByName, Derivatives, parse_derivative
from pinn.equation import Equation
from pinn.flat import as_tf_variable
from pinn.loss import Loss, Term, mean_square
from pinn.runge_kutta import MAX_STAGES, gauss_legendre
from pinn.taylor import TaylorDerivatives, check_derivative_path, choose_derivatives
from pinn.validation import as_points, check_int, check_number

__all__ = ["DiscreteTimeProblem", "Snapshot", "grid_snapshot", "StageView", "SpatialCondition",
           "Periodic", "Dirichlet", "plot_snapshots"]


# -- snapshots -------------------------------------------------------------------------------------

class Snapshot(NamedTuple):
    """The fields at one time: ``points`` (N, d - 1) spatial coordinates, ``values`` (N, n_fields)
    (columns in the equation's field order; (N,) for one field), ``time`` (a number, in the
    units of the equation's time coordinate). A plain tuple ``(points, values, time)`` works too."""

    points: np.ndarray
    values: np.ndarray
    time: float


def _as_snapshot(snapshot: Any, argument: str, spatial: Sequence[str],
                 fields: Sequence[str]) -> Snapshot:
    """``snapshot`` checked: (N, d-1) finite points, (N, n_fields) finite values, a finite time."""
    if not isinstance(snapshot, (tuple, list)) or len(snapshot) != 3:
        raise TypeError(f"{argument} must be a pinn.discrete_time.Snapshot or a tuple (points (N, "
                        f"{len(spatial)}), values (N, {len(fields)}), time), got "
                        f"{type(snapshot).__name__}")
    points, values, time = snapshot
    points = as_points(points, f"{argument}.points")
    if points.shape[1] != len(spatial):
        raise ValueError(f"{argument}.points must have {len(spatial)} column(s) {list(spatial)} (the "
                         f"spatial coordinates), got shape {points.shape}")
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1 and len(fields) == 1:
        values = values[:, None]
    if values.shape != (points.shape[0], len(fields)):
        raise ValueError(f"{argument}.values must have shape (N, n_fields) = ({points.shape[0]}, "
                         f"{len(fields)}) for the fields {list(fields)} at its {points.shape[0]} "
                         f"points, got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{argument}.values contains NaN or infinite values")
    time = check_number(time, f"{argument}.time", meaning="the snapshot's time")
    return Snapshot(points, values, time)


def grid_snapshot(x: Any, t: Any, u: Any, time: float, n: int | None = None,
                  seed: int | np.random.Generator | None = None) -> Snapshot:
    """A snapshot taken from reference data on a space-time grid (1-D space).

    Args:
        x: (nx,) positions.
        t: (nt,) times, increasing.
        u: (nx, nt) values, ``u[i, j] = u(x_i, t_j)``, or (nx, nt, n_fields) for several fields.
        time: the snapshot's time: one of ``t`` (to 1e-9 of the data's time span).
        n: how many positions to draw, uniformly without replacement as in the paper's code;
            None for all of them.
        seed: a seed or NumPy generator for the draw.

    Returns:
        ``Snapshot(points (n, 1), values (n, n_fields), time)``, points in the order of ``x``.

    Raises:
        ValueError: ``u`` of the wrong shape, ``time`` outside ``[t.min(), t.max()]`` or between
            the data's times, ``n`` < 1 or larger than ``len(x)``, non-finite data.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    t = np.asarray(t, dtype=np.float64).reshape(-1)
    u = np.asarray(u)
    if u.ndim not in (2, 3) or u.shape[:2] != (x.size, t.size):
        raise ValueError(f"u must be a grid of shape (len(x), len(t)) = ({x.size}, {t.size}) "
                         f"(or (len(x), len(t), n_fields)), with u[i, j] = u(x_i, t_j); got shape "
                         f"{u.shape}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(t))):
        raise ValueError("x and t must be finite")
    time = check_number(time, "time", meaning="the snapshot's time")
    tolerance = 1e-9 * max(float(t.max() - t.min()), 1.0)
    if not t.min() - tolerance <= time <= t.max() + tolerance:
        raise ValueError(f"time {time:g} is outside the data's times [{t.min():g}, {t.max():g}]")
    j = int(np.argmin(np.abs(t - time)))
    if abs(t[j] - time) > tolerance:
        raise ValueError(f"time {time:g} is not one of the data's times; the nearest is {t[j]:g}")
    values = np.asarray(u[:, j], dtype=np.float64)
    values = values[:, None] if values.ndim == 1 else values
    if not np.all(np.isfinite(values)):
        raise ValueError(f"the data at time {time:g} contain NaN or infinite values")
    index = np.arange(x.size)
    if n is not None:
        n = check_int(n, "n", minimum=1, meaning="the number of snapshot points")
        if n > x.size:
            raise ValueError(f"n must be at most the data's {x.size} positions, got {n}")
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        index = np.sort(rng.choice(x.size, n, replace=False))
    return Snapshot(x[index, None], values[index], float(t[j]))


# -- the stage view --------------------------------------------------------------------------------

class StageView(ByName):
    """What an equation's ``residual(d)`` sees in a discrete-time problem: all stages at once.

    It answers the names a :class:`~pinn.derivatives.Derivatives` answers, for the q stages:

    - a field or a spatial derivative (``s.u``, ``s["u_xx"]``): the (N, q) block of that quantity
      for the q stage outputs ``U_1..U_q`` (column j is stage j), from one
      :class:`~pinn.derivatives.Derivatives` over all outputs (``d.block``: the number of backward
      passes does not grow with q);
    - a spatial coordinate (``s.x``): its (N, 1) column;
    - the time coordinate (``s.t``): the (1, q) row of stage times ``t0 + c_j dt``;
    - a first time derivative (``s.u_t``): a (1, 1) constant, 0 when the rates are computed (the
      problem probes it with 1 and 2 once, at construction, to find its coefficient).

    Residuals written with elementwise operations therefore broadcast to (N, q). Second time
    derivatives (``u_tt``) and mixed ones (``u_xt``) are errors: the stage equations need an
    equation first order in time, ``c u_t + N[u] = 0``.
    """

    def __init__(self, derivatives: Derivatives, *, equation: Equation, time: str,
                 stages: int, outputs_per_field: int, stage_times: tf.Tensor,
                 time_derivatives: Mapping[str, tf.Tensor], cache: dict | None = None) -> None:
        self._d = derivatives
        self._equation = equation
        self._time = time
        self._q = stages
        self._s = outputs_per_field
        self._stage_times = stage_times
        self._time_derivatives = dict(time_derivatives)
        self._cache = {} if cache is None else cache

    def with_time_derivatives(self, values: Mapping[str, tf.Tensor]) -> "StageView":
        """The same stages (and computed blocks) with other time-derivative values."""
        return StageView(self._d, equation=self._equation, time=self._time, stages=self._q,
                         outputs_per_field=self._s, stage_times=self._stage_times,
                         time_derivatives=values, cache=self._cache)

    @property
    def coordinates(self) -> tuple[str, ...]:
        """The equation's coordinates (space and time)."""
        return self._equation.coordinates

    @property
    def fields(self) -> tuple[str, ...]:
        return self._equation.fields

    @property
    def points(self) -> tf.Tensor:
        """The (N, d - 1) spatial points."""
        return self._d.points

    def coordinate(self, name: str) -> tf.Tensor:
        """A spatial coordinate's (N, 1) column, or the time coordinate's (1, q) stage times."""
        if name == self._time:
            return self._stage_times
        return self._d.coordinate(name)

    def derivative(self, field: str, *coordinates: str) -> tf.Tensor:
        """``d^k field / d coordinates...`` for all stages, e.g. ``derivative("u", "x", "x")``."""
        return self[field + ("_" + "".join(coordinates) if coordinates else "")]

    def _where(self) -> str:
        return f"{type(self._equation).__name__}.residual"

    def __getitem__(self, name: str) -> tf.Tensor:
        coordinates = self._equation.coordinates
        if name in coordinates and name not in self._equation.fields:
            return self.coordinate(name)
        field, orders = parse_derivative(name, self._equation.fields, coordinates)
        along = [coordinates[i] for i in orders]
        in_time = along.count(self._time)
        if in_time == 1 and len(along) == 1:
            return self._time_derivatives[field]
        if in_time >= 1 and len(along) == in_time:
            raise ValueError(
                f"{self._where()} uses {name!r}, a time derivative of order {in_time}: a discrete-time "
                f"(Runge–Kutta) problem needs an equation first order in time, c {field}_{self._time} "
                f"+ N[{field}] = 0 (write a second-order equation as a first-order system)")
        if in_time:
            raise ValueError(
                f"{self._where()} uses {name!r}, a mixed time-space derivative: a discrete-time "
                f"(Runge–Kutta) problem needs c {field}_{self._time} + N[{field}] = 0 with N[{field}] "
                f"made of {field} and its spatial derivatives only")
        key = (field, tuple(sorted(along)))
        block = self._cache.get(key)
        if block is None:
            k = self._equation.fields.index(field)
            full = self._d.block(*along)  # (N, n_fields * S), all outputs
            block = full[:, k * self._s:k * self._s + self._q]
            self._cache[key] = block
        return block


# -- spatial conditions ----------------------------------------------------------------------------

class SpatialCondition:
    """A condition on all S outputs of a discrete-time network at spatial points; one named term.

    Subclasses set ``name``, ``weight`` and ``sets`` (``{suffix: (M, d - 1) points}``; the point
    sets are ``"<name>.<suffix>"``) and implement ``residual(problem, points)`` returning an
    (M, k) tensor whose mean square is the term.
    """

    name: str
    weight: float
    sets: dict[str, np.ndarray]

    def bind(self, problem: "DiscreteTimeProblem") -> None:
        """Check against the problem's coordinates and fields (called by the problem)."""

    def residual(self, problem: "DiscreteTimeProblem", points: Mapping[str, tf.Tensor]) -> tf.Tensor:
        raise NotImplementedError

    def _field_columns(self, problem: "DiscreteTimeProblem", fields: Sequence[str] | None) -> list[int]:
        names = problem.equation.fields
        chosen = names if fields is None else tuple(fields)
        unknown = [f for f in chosen if f not in names]
        if unknown:
            raise ValueError(f"condition {self.name!r} names field(s) {unknown}; the fields are "
                             f"{list(names)}")
        s = problem.outputs_per_field
        return [k * s + j for k, f in enumerate(names) if f in chosen for j in range(s)]


def _check_weight(weight: float) -> float:
    return check_number(weight, "weight", minimum=0.0, meaning="the term's weight")


class Periodic(SpatialCondition):
    """Periodicity in one spatial coordinate for all S outputs: the values and the first
    ``derivatives`` derivatives along ``coordinate`` equal at ``lower`` and ``upper``.

    The term is ``weight * mean(diff^2)`` over every pair, output and derivative order (the paper's
    Allen–Cahn uses the sum of the squares of the value and first-derivative mismatches: the same
    minimiser, another scale).

    Args:
        coordinate: the periodic spatial coordinate, e.g. ``"x"``.
        lower, upper: its two ends.
        derivatives: the highest derivative order matched (0: values only; default 1).
        points: with several spatial coordinates, (M, d - 1) points on the face; their
            ``coordinate`` column is replaced by ``lower`` and by ``upper`` to make the pairs.
            Not needed in one space dimension.
        fields: the fields it applies to (default all).
        weight: the term's weight, >= 0.
        name: the term's name (default ``"periodic_<coordinate>"``).
    """

    def __init__(self, coordinate: str, lower: float, upper: float, *, derivatives: int = 1,
                 points: Any = None, fields: Sequence[str] | None = None, weight: float = 1.0,
                 name: str | None = None) -> None:
        if not isinstance(coordinate, str):
            raise TypeError(f"coordinate must be a coordinate name, got {coordinate!r}")
        self.coordinate = coordinate
        self.lower = check_number(lower, "lower", meaning="the lower end of the periodic coordinate")
        self.upper = check_number(upper, "upper", meaning="the upper end of the periodic coordinate")
        if not self.upper > self.lower:
            raise ValueError(f"upper must be > lower, got lower={self.lower:g}, upper={self.upper:g}")
        self.derivatives = check_int(derivatives, "derivatives", minimum=0,
                                     meaning="the highest derivative order matched")
        self.face = None if points is None else as_points(points, "points")
        self.fields = None if fields is None else tuple(fields)
        self.weight = _check_weight(weight)
        self.name = name or f"periodic_{coordinate}"
        self.sets: dict[str, np.ndarray] = {}

    def bind(self, problem: "DiscreteTimeProblem") -> None:
        spatial = problem.spatial
        if self.coordinate not in spatial:
            raise ValueError(f"condition {self.name!r}: {self.coordinate!r} is not a spatial "
                             f"coordinate; the spatial coordinates are {list(spatial)}")
        face = self.face
        if face is None:
            if len(spatial) != 1:
                raise ValueError(f"condition {self.name!r}: with {len(spatial)} spatial coordinates "
                                 f"give points (M, {len(spatial)}) on the periodic face")
            face = np.zeros((1, 1))
        if face.shape[1] != len(spatial):
            raise ValueError(f"condition {self.name!r}: points must have {len(spatial)} columns "
                             f"{list(spatial)}, got shape {face.shape}")
        i = spatial.index(self.coordinate)
        lower, upper = face.copy(), face.copy()
        lower[:, i], upper[:, i] = self.lower, self.upper
        self.sets = {"lower": lower, "upper": upper}
        self._columns = self._field_columns(problem, self.fields)

    def residual(self, problem: "DiscreteTimeProblem", points: Mapping[str, tf.Tensor]) -> tf.Tensor:
        ends = [problem._derivatives(points[f"{self.name}.{side}"], f"{self.name}.{side}")
                for side in ("lower", "upper")]
        columns = tf.constant(self._columns, tf.int32)
        diffs = [tf.gather(ends[0].block(*[self.coordinate] * k) - ends[1].block(*[self.coordinate] * k),
                           columns, axis=1)
                 for k in range(self.derivatives + 1)]
        return tf.concat(diffs, axis=1)


class Dirichlet(SpatialCondition):
    """Given values of fields at spatial points, for all S outputs.

    Args:
        points: (M, d - 1) spatial points.
        value: a number, an (M,) array (the same at every output's time), or a function
            ``value(points (M, d - 1), times (S,)) -> (M, S)`` (broadcastable) of the outputs'
            times: ``t0 + c_j dt`` for the stages, and ``t0 + dt`` for the last output of an
            inference problem.
        fields: the fields it applies to (default all), each with the same value.
        weight: the term's weight, >= 0.
        name: the term's name (default ``"dirichlet"``).
    """

    def __init__(self, points: Any, value: float | Any | Callable[..., Any] = 0.0, *,
                 fields: Sequence[str] | None = None, weight: float = 1.0,
                 name: str | None = None) -> None:
        self.points = as_points(points, "points")
        self.value = value
        self.fields = None if fields is None else tuple(fields)
        self.weight = _check_weight(weight)
        self.name = name or "dirichlet"
        self.sets = {"points": self.points}

    def bind(self, problem: "DiscreteTimeProblem") -> None:
        m, s = self.points.shape[0], problem.outputs_per_field
        if self.points.shape[1] != len(problem.spatial):
            raise ValueError(f"condition {self.name!r}: points must have {len(problem.spatial)} "
                             f"columns {list(problem.spatial)}, got shape {self.points.shape}")
        value = self.value
        if callable(value):
            value = value(self.points.copy(), problem.output_times.copy())
        value = np.asarray(value, dtype=np.float64)
        if value.ndim == 1 and value.shape == (m,):
            value = value[:, None]
        try:
            value = np.broadcast_to(value, (m, s)).copy()
        except ValueError:
            raise ValueError(f"condition {self.name!r}: value must be a number, an ({m},) array or "
                             f"broadcast to ({m}, {s}) (points x outputs), got shape "
                             f"{value.shape}") from None
        if not np.all(np.isfinite(value)):
            raise ValueError(f"condition {self.name!r}: value contains NaN or infinite values")
        self._columns = self._field_columns(problem, self.fields)
        self._target = np.tile(value, (1, len(self._columns) // s))

    def residual(self, problem: "DiscreteTimeProblem", points: Mapping[str, tf.Tensor]) -> tf.Tensor:
        out = tf.convert_to_tensor(problem.network(points[f"{self.name}.points"]))
        return tf.gather(out, tf.constant(self._columns, tf.int32), axis=1) - tf.constant(
            self._target, out.dtype)


# -- the problem -----------------------------------------------------------------------------------

class DiscreteTimeProblem(Loss):
    """The loss of a discrete-time (implicit Runge–Kutta) PINN, a :class:`~pinn.loss.Loss`.

    The network maps spatial points (N, d - 1) to (N, n_fields * S) outputs, field-major: field
    ``f``'s outputs are columns ``f * S .. (f + 1) * S - 1``. Inference (one ``snapshot``):
    ``S = q + 1``, the q stages then u at ``t0 + dt``. Identification (``next_snapshot`` given):
    ``S = q`` stages and ``dt = t1 - t0``. See :mod:`pinn.discrete_time` for the equations.

    The equation is an ordinary :class:`~pinn.equation.Equation` in space-time coordinates, first
    order in time: each residual must be ``c u_t + N[u]`` for exactly one field's time derivative,
    with a constant ``c != 0``, and each field's time derivative in exactly one residual. The
    coefficients are found at construction by evaluating the residuals on a :class:`StageView`
    with each time derivative set to 0, 1 and 2; then ``rate = -residual(time derivatives 0) / c``.
    An equation with ``u_tt``, ``u_xt``, a residual without a time derivative, a coefficient that
    varies (``u * u_t``) or is trainable, or a network with the wrong number of outputs is refused
    with an error naming the equation and the derivative. One dry run of the whole loss, traced
    as training traces it, catches naming, shape and NumPy-in-the-graph errors.

    Terms (:class:`~pinn.loss.Term` (sum, count)): ``"snapshot"`` (and ``"next_snapshot"``), the mean
    of the squared mismatches over all N x S predictions and fields; then one per condition.
    Raissi et al.'s scripts used sums instead of means: the scale differs, the minimiser does not.

    Point sets: ``"snapshot"`` and ``"next_snapshot"`` (chunkable; each row is a point's spatial
    coordinates followed by its snapshot values, so that chunks and devices carry their data),
    and ``"<condition>.<suffix>"``.

    Args:
        equation: an :class:`~pinn.equation.Equation` whose coordinates include ``time``.
        network: a Keras model (or callable) mapping (N, d - 1) spatial points to
            (N, n_fields * S) outputs; its variables must be of ``dtype``.
        q: the number of Runge–Kutta stages, an int in [1, 1000].
        dt: the step, > 0, in the time coordinate's units; with ``next_snapshot`` it may be None
            (then ``t1 - t0``), else it must equal ``t1 - t0``.
        snapshot: ``Snapshot(points (N, d - 1), values (N, n_fields), t0)`` (or such a tuple).
        next_snapshot: the snapshot at ``t1 > t0`` for identification, else None.
        boundary: :class:`SpatialCondition` objects (:class:`Periodic`, :class:`Dirichlet`).
        dtype: ``"float32"`` or ``"float64"``.
        time: the name of the time coordinate (default ``"t"``).
        derivatives: how the spatial derivatives of the S outputs are computed, as in
            :class:`pinn.Problem`: ``"tape"`` (reverse mode, any Keras model), ``"taylor"``
            (forward propagation through an MLP built by :func:`pinn.mlp`, all outputs in one
            pass), ``"auto"`` (Taylor where the network supports it). Both agree to round-off; the
            Taylor path was faster on the paper's Allen–Cahn and KdV networks (1.12x and 1.31x,
            one run, ``benchmarks/derivatives_eval.json``).

    Attributes:
        stages (q), outputs_per_field (S), dt, t0, spatial (spatial coordinate names),
        stage_times ((q,) ``t0 + c dt``), output_times ((S,)), butcher (A, b, c),
        time_coefficients (``{residual: (field, c)}``), terms' names ``term_names``,
        derivatives (the path chosen, ``"taylor"`` or ``"tape"``), derivatives_reason (why
        ``"auto"`` chose the tape, else None).
    """

    def __init__(self, equation: Equation, network: Callable[[tf.Tensor], Any], q: int,
                 dt: float | None, snapshot: Any, *, next_snapshot: Any = None,
                 boundary: Sequence[SpatialCondition] = (), dtype: str = "float64",
                 time: str = "t", derivatives: str = "tape") -> None:
        if not isinstance(equation, Equation):
            raise TypeError(f"equation must be a pinn.Equation instance, got {type(equation).__name__}")
        if not callable(network):
            raise TypeError(f"network must be a Keras model or callable, got {type(network).__name__}")
        if dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
        check_derivative_path(derivatives)
        name = type(equation).__name__
        if time not in equation.coordinates:
            raise ValueError(f"time {time!r} is not a coordinate of {name}; its coordinates are "
                             f"{list(equation.coordinates)} (pass time=... to name the time coordinate)")
        self.equation, self.network, self.dtype, self.time = equation, network, tf.as_dtype(dtype), time
        self.spatial = tuple(c for c in equation.coordinates if c != time)
        if not self.spatial:
            raise ValueError(f"{name} has no spatial coordinate: a discrete-time problem maps spatial "
                             "points to stage values (for an ODE, add a dummy coordinate)")
        self.stages = check_int(q, "q", minimum=1, meaning="the number of Runge–Kutta stages")
        if self.stages > MAX_STAGES:
            raise ValueError(f"q must be at most {MAX_STAGES}, got {self.stages}")
        fields = equation.fields
        self.snapshot = _as_snapshot(snapshot, "snapshot", self.spatial, fields)
        self.t0 = self.snapshot.time
        self.identification = next_snapshot is not None
        if self.identification:
            self.next_snapshot = _as_snapshot(next_snapshot, "next_snapshot", self.spatial, fields)
            step = self.next_snapshot.time - self.t0
            if not step > 0:
                raise ValueError(f"next_snapshot.time ({self.next_snapshot.time:g}) must be after "
                                 f"snapshot.time ({self.t0:g})")
            if dt is None:
                dt = step
            dt = check_number(dt, "dt", minimum=0.0, exclusive=True, meaning="the time step")
            if abs(dt - step) > 1e-9 * max(1.0, abs(step)):
                raise ValueError(f"dt ({dt:g}) must equal next_snapshot.time - snapshot.time "
                                 f"({step:g}) in identification, or be None")
        else:
            self.next_snapshot = None
            if dt is None:
                raise ValueError("dt must be a finite number > 0 (the time step) for inference "
                                 "(one snapshot); it may be None only with next_snapshot")
            dt = check_number(dt, "dt", minimum=0.0, exclusive=True, meaning="the time step")
        self.dt = dt
        a, b, c = gauss_legendre(self.stages)
        self.butcher = (a, b, c)
        self.outputs_per_field = self.stages if self.identification else self.stages + 1
        self.stage_times = self.t0 + c * dt
        self.output_times = (self.stage_times if self.identification
                             else np.append(self.stage_times, self.t0 + dt))
        if self.identification:  # u^n = U - dt F A^T,  u^{n+1} = U + dt F (b - A)^T
            self._to_now = -dt * a.T
            self._to_next = dt * (b[None, :] - a).T
        else:  # every output predicts u^n: U_i - dt sum_j W_ij F_j, W = [A; b]
            self._to_now = -dt * np.vstack([a, b[None, :]]).T
            self._to_next = None

        conditions = list(boundary)
        for i, condition in enumerate(conditions):
            if not isinstance(condition, SpatialCondition):
                raise TypeError(f"boundary[{i}] must be a pinn.discrete_time.Periodic, Dirichlet or "
                                f"another SpatialCondition, got {type(condition).__name__}")
        names = [cond.name for cond in conditions]
        taken = ["snapshot", "next_snapshot"]
        clash = sorted({n for n in names if names.count(n) > 1 or n in taken})
        if clash:
            raise ValueError(f"condition names must be unique and not {taken}; repeated or taken: {clash}")
        for condition in conditions:
            condition.bind(self)
        self.boundary = conditions

        equation.build(self.dtype)
        self._check_network()
        self._declared: dict[str, set] = {}  # point set -> derivative keys its terms read (Taylor)
        self._structure, self.derivatives_reason = choose_derivatives(
            derivatives, self.network, self.snapshot.points[:4], self.spatial, self._output_names(),
            self.dtype)
        self.derivatives = "taylor" if self._structure is not None else "tape"
        self.time_coefficients = self._find_time_coefficients()
        self.term_names = self._dry_run()

    # -- checks -----------------------------------------------------------------------------------
    def _check_network(self) -> None:
        variables = getattr(self.network, "trainable_variables", None) or []
        dtypes = sorted({as_tf_variable(v).dtype.name for v in variables})
        if dtypes and dtypes != [self.dtype.name]:
            raise ValueError(f"network variables have dtype {dtypes} but the problem's dtype is "
                             f"{self.dtype.name!r}; build the network with dtype={self.dtype.name!r}")
        fields, s = self.equation.fields, self.outputs_per_field
        expected = len(fields) * s
        probe = tf.constant(self.snapshot.points[:2], self.dtype)
        try:
            out = tf.convert_to_tensor(self.network(probe))
        except Exception as error:  # noqa: BLE001 (say what was called with what)
            raise ValueError(f"the network could not be called on (N, {len(self.spatial)}) spatial "
                             f"points {list(self.spatial)}: {error}") from error
        if out.shape.rank != 2 or out.shape[1] != expected:
            kind = (f"q = {self.stages} stages" if self.identification
                    else f"q + 1 = {s} outputs (q = {self.stages} stages and u at t0 + dt)")
            raise ValueError(
                f"network must map (N, {len(self.spatial)}) spatial points {list(self.spatial)} to "
                f"(N, {expected}) outputs: {len(fields)} field(s) {list(fields)} x {kind}, field-major; "
                f"got output shape {tuple(out.shape)}")

    def _output_names(self) -> tuple[str, ...]:
        """The network's (n_fields * S) output names, ``"u:0"``... field-major."""
        return tuple(f"{f}:{j}" for f in self.equation.fields for j in range(self.outputs_per_field))

    def _derivatives(self, points: tf.Tensor, point_set: str | None = None) -> Derivatives | TaylorDerivatives:
        """The outputs' spatial derivatives at ``points`` by the chosen path; on the Taylor path
        with a ``point_set`` name, what that set's terms read before is propagated in one pass."""
        if self._structure is not None:
            declared = None if point_set is None else self._declared.setdefault(point_set, set())
            return TaylorDerivatives(self._structure, points, self.spatial, self._output_names(),
                                     declared=declared)
        return Derivatives(self.network, points, self.spatial, self._output_names())

    def _view(self, points: tf.Tensor, time_values: Mapping[str, tf.Tensor],
              point_set: str | None = None) -> StageView:
        return StageView(self._derivatives(points, point_set), equation=self.equation, time=self.time,
                         stages=self.stages, outputs_per_field=self.outputs_per_field,
                         stage_times=tf.constant(self.stage_times[None, :], self.dtype),
                         time_derivatives=time_values)

    def _time_values(self, field: str | None = None, value: float = 0.0) -> dict[str, tf.Tensor]:
        return {f: tf.constant(value if f == field else 0.0, self.dtype, shape=(1, 1))
                for f in self.equation.fields}

    def _residuals(self, view: StageView, shape: Any) -> dict[str, tf.Tensor]:
        name = type(self.equation).__name__
        out = {}
        for key, value in self.equation.named_residuals(view).items():
            value = tf.convert_to_tensor(value, self.dtype)
            try:
                out[key] = tf.broadcast_to(value, shape)
            except (ValueError, tf.errors.InvalidArgumentError):
                raise ValueError(
                    f"residual {key!r} of {name} must broadcast to (N, q) for N points and q stages "
                    f"(elementwise operations on the stage view's (N, q) blocks), got shape "
                    f"{tuple(value.shape)}") from None
        return out

    def _find_time_coefficients(self) -> dict[str, tuple[str, float]]:
        """``{residual: (field, c)}``: each residual is ``c * field_t + N``; checked as the class
        docstring says, on up to 8 snapshot points (eagerly, once)."""
        name = type(self.equation).__name__
        fields, t = self.equation.fields, self.time
        points = tf.constant(self.snapshot.points[:8], self.dtype)
        trainable = self.equation.trainable_variables
        with tf.GradientTape(watch_accessed_variables=False, persistent=True) as tape:
            tape.watch(trainable)
            base = self._view(points, self._time_values())
            shape = tf.shape(base[fields[0]])
            zero = self._residuals(base, shape)
            probes = {}  # field -> [residual(f_t = 1) - residual(0), residual(f_t = 2) - residual(0)]
            for f in fields:
                probes[f] = [{r: value - zero[r] for r, value in self._residuals(
                    base.with_time_derivatives(self._time_values(f, v)), shape).items()}
                    for v in (1.0, 2.0)]
            totals = {(f, r): tf.reduce_sum(one) for f in fields for r, one in probes[f][0].items()}
        eps = float(np.finfo(self.dtype.as_numpy_dtype).eps)
        found: dict[str, tuple[str, float]] = {}
        for r, r0 in zero.items():
            tolerance = math.sqrt(eps) * (1.0 + float(tf.reduce_max(tf.abs(r0))))
            depends = []
            for f in fields:
                one, two = probes[f][0][r], probes[f][1][r]
                if float(tf.reduce_max(tf.abs(one))) <= tolerance and float(
                        tf.reduce_max(tf.abs(two))) <= tolerance:
                    continue
                c = float(tf.reduce_mean(one))
                spread = float(tf.reduce_max(tf.abs(one - c)))
                if spread > tolerance:
                    raise ValueError(
                        f"residual {r!r} of {name}: the coefficient of {f}_{t} is not constant (it "
                        f"varies from {float(tf.reduce_min(one)):.3g} to {float(tf.reduce_max(one)):.3g} "
                        f"over points and stages); a discrete-time problem needs c {f}_{t} + N[u] = 0 "
                        f"with a constant c (divide the residual by the factor)")
                if float(tf.reduce_max(tf.abs(two - 2.0 * one))) > tolerance:
                    raise ValueError(f"residual {r!r} of {name} depends on {f}_{t} nonlinearly; a "
                                     f"discrete-time problem needs c {f}_{t} + N[u] = 0")
                gradients = tape.gradient(totals[f, r], trainable) if trainable else []
                if any(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in gradients):
                    raise ValueError(f"residual {r!r} of {name}: the coefficient of {f}_{t} depends "
                                     "on a trainable coefficient; it must be a fixed number (put the "
                                     "trainable coefficients in N[u])")
                depends.append((f, c))
            if not depends:
                raise ValueError(
                    f"residual {r!r} of {name} has no time derivative ({', '.join(f + '_' + t for f in fields)}): "
                    f"a discrete-time problem needs each residual to be c u_{t} + N[u] for one field u")
            if len(depends) > 1:
                raise ValueError(
                    f"residual {r!r} of {name} holds the time derivatives of several fields "
                    f"({', '.join(f + '_' + t for f, _ in depends)}); each residual must hold exactly "
                    "one (write the system as u_t = ..., v_t = ...)")
            found[r] = depends[0]
        used = [f for f, _ in found.values()]
        missing = [f for f in fields if f not in used]
        repeated = sorted({f for f in used if used.count(f) > 1})
        if repeated or missing:
            raise ValueError(
                f"{name}: each field's time derivative must appear in exactly one residual; "
                + (f"{', '.join(f + '_' + t for f in repeated)} in several" if repeated else "")
                + ("; " if repeated and missing else "")
                + (f"{', '.join(f + '_' + t for f in missing)} in none" if missing else "")
                + f" (residuals: {list(found)})")
        del tape
        return found

    def _dry_run(self) -> list[str]:
        """Trace the whole loss once on a few points, as training traces it."""
        probe = {k: (v[:2] if k in self.chunkable else v) for k, v in self.point_sets().items()}
        found: dict[str, list[str]] = {}

        def run(points):
            terms = self.terms(points)
            found["names"] = list(terms)
            return tf.add_n([t.sum for t in terms.values()])

        specs = {k: tf.TensorSpec(v.shape, self.dtype) for k, v in probe.items()}
        try:
            tf.function(run, input_signature=[specs], autograph=False).get_concrete_function()
        except NotImplementedError as error:
            if "numpy" in str(error).lower():
                raise TypeError(
                    f"{type(self.equation).__name__}.residual calls NumPy on a tensor ({error}); use "
                    "TensorFlow's functions instead, e.g. tf.sin, tf.exp, tf.math.*") from None
            raise
        return found["names"]

    # -- the loss ---------------------------------------------------------------------------------
    @property
    def chunkable(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("snapshot", "next_snapshot") if self.identification else ("snapshot",)

    @property
    def variables(self) -> list[tf.Variable]:
        """Network variables, then trainable equation coefficients."""
        network = [as_tf_variable(v) for v in getattr(self.network, "trainable_variables", [])]
        return network + self.equation.trainable_variables

    def point_sets(self) -> dict[str, np.ndarray]:
        """``{"snapshot": (N, d - 1 + n_fields) [points | values], "next_snapshot": ...,
        "<condition>.<suffix>": (M, d - 1)}``, float64."""
        sets = {"snapshot": np.hstack([self.snapshot.points, self.snapshot.values])}
        if self.identification:
            sets["next_snapshot"] = np.hstack([self.next_snapshot.points, self.next_snapshot.values])
        for condition in self.boundary:
            for suffix, points in condition.sets.items():
                sets[f"{condition.name}.{suffix}"] = points
        return sets

    def _rates(self, points: tf.Tensor, point_set: str | None = None) -> tuple[tf.Tensor, list[tf.Tensor]]:
        """The (N, n_fields * S) outputs and each field's (N, q) stage rates F = -N[U] / c."""
        view = self._view(points, self._time_values(), point_set)
        first = view[self.equation.fields[0]]
        residuals = self._residuals(view, tf.shape(first))
        by_field = {f: (r, c) for r, (f, c) in self.time_coefficients.items()}
        rates = [-residuals[by_field[f][0]] / tf.constant(by_field[f][1], self.dtype)
                 for f in self.equation.fields]
        return view._d.outputs, rates

    def _predicted(self, outputs: tf.Tensor, rates: Sequence[tf.Tensor], matrix: np.ndarray) -> tf.Tensor:
        """``U + F @ matrix`` for every field, concatenated: (N, n_fields * S)."""
        s = self.outputs_per_field
        m = tf.constant(matrix, self.dtype)
        return tf.concat([outputs[:, k * s:(k + 1) * s] + tf.matmul(rate, m)
                          for k, rate in enumerate(rates)], axis=1)

    def _snapshot_term(self, rows: tf.Tensor, matrix: np.ndarray, point_set: str) -> Term:
        d, s = len(self.spatial), self.outputs_per_field
        outputs, rates = self._rates(rows[:, :d], point_set)
        values = tf.repeat(rows[:, d:], s, axis=1)  # field-major, like the outputs
        return mean_square(self._predicted(outputs, rates, matrix) - values)

    def terms(self, points: Mapping[str, tf.Tensor]) -> dict[str, Term]:
        """``"snapshot"`` (and ``"next_snapshot"``), then one term per condition."""
        terms = {"snapshot": self._snapshot_term(points["snapshot"], self._to_now, "snapshot")}
        if self.identification:
            terms["next_snapshot"] = self._snapshot_term(points["next_snapshot"], self._to_next,
                                                         "next_snapshot")
        for condition in self.boundary:
            terms[condition.name] = mean_square(condition.residual(self, points), condition.weight)
        return terms

    def coefficients(self) -> dict[str, tf.Tensor]:
        """The equation's trainable coefficients by name (values, e.g. exp(raw) for positive ones)."""
        return {name: self.equation.coefficient(name) for name in self.equation.trainable_names}

    def loss(self) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
        """Total loss and its named terms at the problem's own points, evaluated now (eagerly)."""
        points = {k: tf.constant(v, self.dtype) for k, v in self.point_sets().items()}
        values = {k: t.sum / tf.cast(t.count, t.sum.dtype) for k, t in self.terms(points).items()}
        return tf.add_n(list(values.values())), values

    # -- evaluation -------------------------------------------------------------------------------
    def _spatial_points(self, points: Any) -> np.ndarray:
        points = np.asarray(points, dtype=np.float64)
        if points.ndim == 1 and len(self.spatial) == 1:
            points = points[:, None]
        points = as_points(points, "points")
        if points.shape[1] != len(self.spatial):
            raise ValueError(f"points must have {len(self.spatial)} column(s) {list(self.spatial)}, "
                             f"got shape {points.shape}")
        return points

    def stages_at(self, points: Any) -> np.ndarray:
        """The network's outputs at spatial points as (N, n_fields, S) float64: ``[:, f, j]`` is
        field f's output j (stage j + 1; for inference ``j = q`` is u at ``t0 + dt``)."""
        points = self._spatial_points(points)
        out = np.asarray(self.network(tf.constant(points, self.dtype)), dtype=np.float64)
        return out.reshape(points.shape[0], len(self.equation.fields), self.outputs_per_field)

    def rates_at(self, points: Any) -> np.ndarray:
        """The stage rates ``F_j = -N[U_j] / c`` at spatial points, (N, n_fields, q) float64."""
        _, rates = self._rates(tf.constant(self._spatial_points(points), self.dtype))
        return np.stack([np.asarray(r, dtype=np.float64) for r in rates], axis=1)

    def predict_next(self, points: Any) -> np.ndarray:
        """Inference: u at ``t0 + dt`` (the network's last output per field), (N, n_fields) float64.

        Raises:
            ValueError: an identification problem (it learns the equation; its network has no
                output at ``t1``).
        """
        if self.identification:
            raise ValueError("predict_next is for inference (one snapshot); an identification "
                             "problem's network outputs the q stages only (see stages_at)")
        return self.stages_at(points)[:, :, -1]

    def predict(self, points: Any) -> np.ndarray:
        """The same as :meth:`predict_next` (u at ``t0 + dt``, (N, n_fields) float64)."""
        return self.predict_next(points)


# -- figures ---------------------------------------------------------------------------------------

def plot_snapshots(x: Any, t: Any, reference: Any, panels: Sequence[Mapping[str, Any]], *,
                   path: Any = "solution.png", field: str = "u", title: str | None = None,
                   status: str | None = None) -> Any:
    """The discrete-time figure of Raissi et al. (Figs. 5 and 6): the reference u(t, x) as a heat map
    with the snapshot times marked, and below it one panel per snapshot.

    Args:
        x: (nx,) positions; t: (nt,) times; reference: (nx, nt) values, ``reference[i, j] =
            u(x_i, t_j)``.
        panels: one dict per snapshot panel: ``time`` (the slice of the reference drawn), and
            optionally ``points``/``values`` ((n,) data marked with crosses) and
            ``prediction`` ((nx,) drawn dashed), ``label`` (panel title).
        path: output file (``.png`` etc.); title: figure title; status: a run's status (a run that
            did not finish gets a red "NOT FINAL" heading).

    Returns:
        The path written.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from pinn.plotting import _mark_status, _output_path, _save, _status_note

    x = np.asarray(x, dtype=np.float64).reshape(-1)
    t = np.asarray(t, dtype=np.float64).reshape(-1)
    reference = np.asarray(reference, dtype=np.float64)
    if reference.shape != (x.size, t.size):
        raise ValueError(f"reference must have shape (len(x), len(t)) = ({x.size}, {t.size}), got "
                         f"{reference.shape}")
    out, fmt = _output_path(path)
    _status_note(status)
    fig = Figure(figsize=(max(10.0, 5.0 * len(panels)), 7.0), layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 1, height_ratios=[1.0, 1.0])
    ax = fig.add_subplot(grid[0])
    mesh = ax.pcolormesh(t, x, reference, shading="nearest", cmap="viridis", rasterized=True)
    fig.colorbar(mesh, ax=ax, label=f"{field}(t, x)")
    for panel in panels:
        ax.axvline(float(panel["time"]), color="white", linewidth=1)
    ax.set_xlabel("t")
    ax.set_ylabel("x")
    ax.set_title(f"Reference {field}(t, x)")
    sub = grid[1].subgridspec(1, max(len(panels), 1))
    for k, panel in enumerate(panels):
        ax = fig.add_subplot(sub[k])
        j = int(np.argmin(np.abs(t - float(panel["time"]))))
        ax.plot(x, reference[:, j], color="tab:blue", linewidth=2, label="Exact")
        if panel.get("prediction") is not None:
            ax.plot(x, np.asarray(panel["prediction"]).reshape(-1), color="tab:red", linestyle="--",
                    linewidth=2, label="Prediction")
        if panel.get("points") is not None:
            ax.plot(np.asarray(panel["points"]).reshape(-1), np.asarray(panel["values"]).reshape(-1),
                    "kx", markersize=4, label=f"Data ({np.asarray(panel['points']).shape[0]} points)")
        ax.set_title(panel.get("label", f"t = {t[j]:.2f}"))
        ax.set_xlabel("x")
        ax.set_ylabel(f"{field}(t, x)")
        ax.legend(loc="best", fontsize="small")
    _mark_status(fig, status, title)
    return _save(fig, out, fmt)
