"""Boundary, initial and data conditions: named loss terms ``weight * mean(residual**2)``.

Every condition holds one or more point sets ((N, d) arrays in the equation's coordinate order)
and a ``residual(*ds)`` computed from one :class:`~pinn.derivatives.Derivatives` per point set.
The built-in conditions are all "a combination of fields/derivatives equals a target":

========================  ===============================================  =====================
condition                 residual                                         default name
========================  ===============================================  =====================
``DirichletBC``           ``u - g``                                         ``"dirichlet_u"``
``InitialCondition``      ``u - g``                                         ``"initial_u"``
``InitialDerivative``     ``u_t - g``                                       ``"initial_u_t"``
``NeumannBC``             ``n . grad u - g`` (spatial normal ``n``)          ``"neumann_u"``
``RobinBC``               ``alpha u + beta n . grad u - g``                 ``"robin_u"``
``PeriodicBC``            ``u(lower) - u(upper)`` (and derivatives)         ``"periodic_u_x"``
``Observations``          ``fields - data``                                 ``"data"``
========================  ===============================================  =====================

Targets ``g`` are a number, an array of shape (N,) or (N, 1), or a callable ``points (N, d) ->
values``, evaluated once when the condition is made. Subclass :class:`Condition` for anything else.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import tensorflow as tf

from pinn.derivatives import Derivatives
from pinn.loss import Term, mean_square
from pinn.validation import as_points, check_number

__all__ = [
    "Condition", "DirichletBC", "InitialCondition", "InitialDerivative", "NeumannBC", "RobinBC",
    "PeriodicBC", "Observations", "as_points",
]

Target = float | np.ndarray | Callable[[np.ndarray], np.ndarray]


def _target(value: Target, points: np.ndarray, columns: int, argument: str) -> np.ndarray:
    """Evaluate a target at ``points`` into an (N, columns) float64 array."""
    n = points.shape[0]
    raw = value(points) if callable(value) else value
    array = np.asarray(raw, dtype=np.float64)
    if array.ndim == 0:
        array = np.full((n, columns), float(array))
    elif array.ndim == 1 and columns == 1 and array.shape[0] == n:
        array = array[:, None]
    if array.shape != (n, columns):
        raise ValueError(
            f"{argument} must give {n} values of {columns} column(s) (shape ({n}, {columns})"
            + (" or (N,)" if columns == 1 else "") + f"), got shape {np.asarray(raw).shape}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{argument} contains NaN or infinite values")
    return array


def _name(name: str | None, default: str) -> str:
    """A condition's term name: ``default`` when None; else a non-empty str."""
    if name is None:
        return default
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"name must be a non-empty str (the loss term's name), got {name!r}")
    return name


def _field_name(field: Any, argument: str = "field", kind: str = "field") -> str:
    example = "'u'" if kind == "field" else "'t'"
    if not isinstance(field, str) or not field.isidentifier():
        raise TypeError(f"{argument} must be a {kind} name (a str such as {example}), got {field!r}")
    return field


class Condition:
    """Base class of a named loss term over one or more point sets.

    Args:
        point_sets: one or more (N, d) arrays.
        name: the loss term's name (unique within a problem).
        weight: multiplies ``mean(residual**2)``; >= 0.

    Subclasses implement ``residual(self, *ds)`` (one ``Derivatives`` per point set) returning an
    (N, k) tensor, use ``self.target(i)`` for their targets in the problem dtype, and list in
    ``fields`` and ``coordinates`` the names they use so that problems can check them early.
    """

    fields: tuple[str, ...] = ()
    coordinates: tuple[str, ...] = ()

    def __init__(self, point_sets: Sequence[Any], name: str, weight: float = 1.0) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"name must be a non-empty str (the loss term's name), got {name!r}")
        weight = check_number(weight, f"weight of condition {name!r}", minimum=0.0)
        self.name = name
        self.weight = weight
        self.point_sets = [as_points(p, f"points of condition {name!r}") for p in point_sets]
        sizes = {p.shape for p in self.point_sets}
        if len(sizes) > 1:
            raise ValueError(f"point sets of condition {name!r} must have equal shapes, got {sorted(sizes)}")
        self._targets: list[np.ndarray] = []
        self._target_tensors: list[tf.Tensor] = []

    @property
    def num_points(self) -> int:
        return self.point_sets[0].shape[0]

    @property
    def targets(self) -> tuple[np.ndarray, ...]:
        """The targets added so far, float64 arrays of shape (N, columns), as evaluated when the
        condition was made (``target(i)`` gives them in the problem's dtype)."""
        return tuple(self._targets)

    def add_target(self, value: Target, columns: int = 1, argument: str = "value") -> None:
        """Evaluate and store a target at the first point set (shape (N, columns))."""
        self._targets.append(_target(value, self.point_sets[0], columns, f"{argument} of {self.name!r}"))

    def build(self, dtype: tf.DType) -> None:
        """Convert targets to constants of ``dtype`` (called by ``Problem``)."""
        self._target_tensors = [tf.constant(t, dtype=dtype) for t in self._targets]

    def target(self, index: int = 0) -> tf.Tensor:
        return self._target_tensors[index]

    def residual(self, *ds: Derivatives) -> tf.Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement residual(self, *ds)")

    def term(self, *ds: Derivatives) -> Term:
        """``weight * mean(residual**2)`` as a (sum, count) :class:`~pinn.loss.Term`."""
        return mean_square(self.residual(*ds), self.weight)

    def loss(self, *ds: Derivatives) -> tf.Tensor:
        """``weight * mean(residual**2)``, a scalar."""
        term = self.term(*ds)
        return term.sum / tf.cast(term.count, term.sum.dtype)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, points={self.num_points}, weight={self.weight})"


class _ExpressionCondition(Condition):
    """A derivative (``"u"``, ``"u_t"``...) equals a target at the points."""

    def __init__(self, expression: str, points: Any, value: Target, name: str, weight: float,
                 field: str, coordinates: tuple[str, ...] = ()) -> None:
        super().__init__([points], name, weight)
        self.expression = expression
        self.fields = (field,)
        self.coordinates = coordinates
        self.add_target(value)

    def residual(self, d: Derivatives) -> tf.Tensor:
        return d[self.expression] - self.target()


class DirichletBC(_ExpressionCondition):
    """``field = value`` at boundary points."""

    def __init__(self, field: str, points: Any, value: Target = 0.0, *, name: str | None = None,
                 weight: float = 1.0) -> None:
        _field_name(field)
        super().__init__(field, points, value, _name(name, f"dirichlet_{field}"), weight, field)


class InitialCondition(_ExpressionCondition):
    """``field = value`` at points of the initial time slice."""

    def __init__(self, field: str, points: Any, value: Target, *, name: str | None = None,
                 weight: float = 1.0) -> None:
        _field_name(field)
        super().__init__(field, points, value, _name(name, f"initial_{field}"), weight, field)


class InitialDerivative(_ExpressionCondition):
    """``d field / d time = value`` at initial points (second-order-in-time equations)."""

    def __init__(self, field: str, points: Any, value: Target, *, time: str = "t",
                 name: str | None = None, weight: float = 1.0) -> None:
        _field_name(field)
        _field_name(time, "time", "coordinate")
        super().__init__(f"{field}_{time}", points, value, _name(name, f"initial_{field}_{time}"),
                         weight, field, (time,))


class RobinBC(Condition):
    """``alpha * field + beta * (n . grad field) = value`` with outward normals ``n``.

    Args:
        normals: (N, d) outward unit normals in the equation's coordinates (zero in time), as
            returned by ``Domain.sample_boundary``.
    """

    def __init__(self, field: str, points: Any, *, normals: Any, alpha: float, beta: float,
                 value: Target = 0.0, name: str | None = None, weight: float = 1.0) -> None:
        _field_name(field)
        super().__init__([points], _name(name, f"robin_{field}"), weight)
        alpha = check_number(alpha, f"alpha of {self.name!r}")
        beta = check_number(beta, f"beta of {self.name!r}")
        if alpha == 0 and beta == 0:
            raise ValueError(f"alpha and beta of {self.name!r} are both 0: the condition says nothing")
        try:
            normals = np.asarray(normals, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"normals of {self.name!r} must be a finite (N, d) array, got "
                             f"{type(normals).__name__}") from None
        if normals.shape != self.point_sets[0].shape or not np.all(np.isfinite(normals)):
            raise ValueError(
                f"normals of {self.name!r} must be a finite array of the points' shape "
                f"{self.point_sets[0].shape}, got {normals.shape}"
            )
        self.field = field
        self.fields = (field,)
        self.alpha, self.beta = float(alpha), float(beta)
        self.normals = normals
        self.add_target(value)

    def build(self, dtype: tf.DType) -> None:
        super().build(dtype)
        self._normals = tf.constant(self.normals, dtype=dtype)

    def residual(self, d: Derivatives) -> tf.Tensor:
        value = self.alpha * d[self.field] if self.alpha else 0.0
        if self.beta:
            gradient = tf.concat([d.derivative(self.field, c) for c in d.coordinates], axis=1)
            value = value + self.beta * tf.reduce_sum(self._normals * gradient, axis=1, keepdims=True)
        return value - self.target()


class NeumannBC(RobinBC):
    """``n . grad field = value`` with outward unit normals ``n`` (see :class:`RobinBC`)."""

    def __init__(self, field: str, points: Any, *, normals: Any, value: Target = 0.0,
                 name: str | None = None, weight: float = 1.0) -> None:
        _field_name(field)
        super().__init__(field, points, normals=normals, alpha=0.0, beta=1.0, value=value,
                         name=_name(name, f"neumann_{field}"), weight=weight)


class PeriodicBC(Condition):
    """``field`` (and its derivatives along ``coordinate``) equal at paired points.

    Args:
        field: the periodic field.
        coordinate: the periodic coordinate.
        lower, upper: (N, d) arrays identical but for ``coordinate`` at its two bounds, as returned
            by ``Domain.periodic_pairs``.
        derivatives: derivative orders along ``coordinate`` to match, default ``(0, 1)``: values and
            first derivatives (what the PINN paper's Schrödinger example uses).
    """

    def __init__(self, field: str, coordinate: str, lower: Any, upper: Any, *,
                 derivatives: Sequence[int] = (0, 1), name: str | None = None,
                 weight: float = 1.0) -> None:
        _field_name(field)
        _field_name(coordinate, "coordinate", "coordinate")
        super().__init__([lower, upper], _name(name, f"periodic_{field}_{coordinate}"), weight)
        if isinstance(derivatives, np.ndarray) and derivatives.ndim == 1:
            derivatives = derivatives.tolist()
        if (isinstance(derivatives, (str, bytes)) or not isinstance(derivatives, Sequence)
                or not derivatives or not all(isinstance(k, (int, np.integer))
                                              and not isinstance(k, bool) and k >= 0 for k in derivatives)):
            raise ValueError(f"derivatives must be a non-empty list of derivative orders (ints >= 0), "
                             f"e.g. (0, 1), got {derivatives!r}")
        orders = tuple(int(k) for k in derivatives)
        self.fields = (field,)
        self.coordinates = (coordinate,)
        self.expressions = [field + ("_" + coordinate * k if k else "") for k in orders]

    def residual(self, lower: Derivatives, upper: Derivatives) -> tf.Tensor:
        return tf.concat([lower[e] - upper[e] for e in self.expressions], axis=1)


class Observations(Condition):
    """Measured values of fields at points (data for inverse problems, or the paper's N_u points).

    Args:
        points: (N, d) coordinates.
        values: (N, k) values of ``fields`` (or (N,) when one field).
        fields: the k observed fields, in the columns' order (default ``("u",)``; a str is one
            field).
    """

    def __init__(self, points: Any, values: Any, fields: Sequence[str] = ("u",), *,
                 name: str = "data", weight: float = 1.0) -> None:
        super().__init__([points], name, weight)
        if isinstance(fields, str):  # one field
            fields = (fields,)
        if not isinstance(fields, Sequence) or not fields:
            raise ValueError(f"fields of {name!r} must name at least one field, got {fields!r}")
        self.fields = tuple(_field_name(f, f"fields of {name!r}") for f in fields)
        self.add_target(values, columns=len(self.fields), argument="values")

    def residual(self, d: Derivatives) -> tf.Tensor:
        return tf.concat([d[f] for f in self.fields], axis=1) - self.target()
