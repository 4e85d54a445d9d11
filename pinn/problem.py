"""A PINN problem: equation + network + collocation points + conditions, as one loss."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np
import tensorflow as tf

from pinn.conditions import Condition, as_points
from pinn.derivatives import Derivatives, parse_derivative
from pinn.equation import Equation
from pinn.flat import as_tf_variable
from pinn.loss import Loss, Term, mean_square
from pinn.taylor import TaylorDerivatives, check_derivative_path, choose_derivatives
from pinn.validation import check_number

__all__ = ["Problem"]


class Problem(Loss):
    """The loss of a continuous-time PINN, a :class:`~pinn.loss.Loss`.

    ``loss = sum_r w_r * mean(residual_r(collocation)**2) + sum_c condition_c.loss``, each term
    named: the equation's residuals (``"pde"``, or the keys of the dict ``residual`` returns) and
    the conditions (their names); names must be unique across both. Every input is checked when
    the problem is made: the points' shapes and values, the names of fields and coordinates the
    conditions use, and one small dry run of every residual, traced as training traces it, so that
    mistakes surface before training.

    Point sets (inputs of the compiled function, see :meth:`point_sets`): ``"collocation"``
    (chunkable: it may be evaluated in row chunks, and resampled) and ``"<condition>.<i>"`` for the
    i-th point set of each condition.

    Args:
        equation: an :class:`~pinn.equation.Equation` instance.
        network: a Keras model (or any callable) mapping (N, d) coordinates to (N, n_fields) outputs,
            d = len(equation.coordinates), n_fields = len(equation.fields); its variables must be
            of ``dtype``.
        collocation: (N_f, d) points where the residuals are enforced.
        conditions: :class:`~pinn.conditions.Condition` objects (boundary, initial, data).
        dtype: ``"float32"`` or ``"float64"``, the one dtype of the whole problem.
        residual_weight: weight of the equation's residual terms, >= 0 (a number, or a dict by
            term name).
        derivatives: how input derivatives are computed. ``"taylor"``: forward (Taylor)
            propagation through the layers (:class:`~pinn.taylor.TaylorDerivatives`), for an MLP
            built by :func:`pinn.mlp`; an error for other networks. ``"tape"``: reverse mode on a
            persistent tape (:class:`~pinn.derivatives.Derivatives`), for any Keras model.
            ``"auto"``: ``"taylor"`` where the network supports it, else ``"tape"``. Both agree
            to round-off. The default is ``"tape"``: ``benchmarks/evaluation_speed.py`` did not
            show the Taylor path reliably faster on our shared 2-core machine. With ``"taylor"``
            the derivatives each point set needs are learned from the dry run and then
            propagated together.

    Attributes:
        variables: network variables followed by the equation's trainable coefficients; the flat
            vector L-BFGS-B optimises.
        derivatives: the path chosen, ``"taylor"`` or ``"tape"``.
        derivatives_reason: why ``"auto"`` chose the tape (None otherwise).
    """

    def __init__(
        self,
        equation: Equation,
        network: Callable[[tf.Tensor], Any],
        collocation: Any,
        conditions: Sequence[Condition] = (),
        *,
        dtype: str = "float64",
        residual_weight: float | Mapping[str, float] = 1.0,
        derivatives: str = "tape",
    ) -> None:
        if not isinstance(equation, Equation):
            raise TypeError(f"equation must be a pinn.Equation instance, got {type(equation).__name__}")
        if not callable(network):
            raise TypeError(f"network must be a Keras model or callable, got {type(network).__name__}")
        if dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
        check_derivative_path(derivatives)
        self.equation = equation
        self.network = network
        self.dtype = tf.as_dtype(dtype)
        coordinates, fields = equation.coordinates, equation.fields
        d = len(coordinates)

        self.collocation = as_points(collocation, "collocation")
        if self.collocation.shape[1] != d:
            raise ValueError(
                f"collocation must have {d} columns {list(coordinates)}, got shape {self.collocation.shape}"
            )
        conditions = list(conditions)
        for i, c in enumerate(conditions):
            if not isinstance(c, Condition):
                raise TypeError(f"conditions[{i}] must be a pinn.Condition, got {type(c).__name__}")
        names = [c.name for c in conditions]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"condition names must be unique; repeated: {duplicated}")
        for c in conditions:
            for p in c.point_sets:
                if p.shape[1] != d:
                    raise ValueError(
                        f"points of condition {c.name!r} must have {d} columns {list(coordinates)}, "
                        f"got shape {p.shape}"
                    )
            unknown_fields = [f for f in c.fields if f not in fields]
            if unknown_fields:
                raise ValueError(
                    f"condition {c.name!r} uses field(s) {unknown_fields} that {type(equation).__name__} "
                    f"lacks; its fields are {list(fields)}"
                )
            unknown_coords = [x for x in c.coordinates if x not in coordinates]
            if unknown_coords:
                raise ValueError(
                    f"condition {c.name!r} uses coordinate(s) {unknown_coords} that the domain lacks; "
                    f"coordinates are {list(coordinates)}"
                )
            for expression in getattr(c, "expressions", [getattr(c, "expression", None)]):
                if expression is not None:
                    parse_derivative(expression, fields, coordinates)
        self.conditions = conditions

        equation.build(self.dtype)
        for c in conditions:
            c.build(self.dtype)
        self._check_network_dtype()
        self._choose_derivatives(derivatives)
        weights = residual_weight.items() if isinstance(residual_weight, Mapping) else [("", residual_weight)]
        for key, value in weights:
            check_number(value, f"residual_weight[{key!r}]" if key else "residual_weight", minimum=0.0)
        self._residual_weight = residual_weight
        self.residual_names = self._dry_run()
        if isinstance(residual_weight, Mapping):
            unknown = sorted(set(residual_weight) - set(self.residual_names))
            if unknown:
                raise ValueError(f"residual_weight names unknown residual(s) {unknown}; residuals are {self.residual_names}")
        clash = sorted(set(self.residual_names) & set(names))
        if clash:
            raise ValueError(
                f"term names must be unique: residual(s) {clash} of {type(equation).__name__} have the "
                "names of conditions; rename the conditions (name=...) or the residual keys"
            )

    # -- checks ---------------------------------------------------------------------------------
    def _check_network_dtype(self) -> None:
        variables = getattr(self.network, "trainable_variables", None)
        if variables is None:
            return
        dtypes = sorted({as_tf_variable(v).dtype.name for v in variables})
        if dtypes and dtypes != [self.dtype.name]:
            raise ValueError(
                f"network variables have dtype {dtypes} but the problem's dtype is "
                f"{self.dtype.name!r}; build the network with dtype={self.dtype.name!r} "
                "(e.g. pinn.mlp(..., dtype=...))"
            )

    def _choose_derivatives(self, choice: str) -> None:
        """Resolve ``derivatives`` (:func:`pinn.taylor.choose_derivatives`, probed on a few
        collocation points)."""
        self._declared: dict[str, set] = {}  # point set -> derivative keys its terms read
        self._structure, self.derivatives_reason = choose_derivatives(
            choice, self.network, self.collocation[:4], self.equation.coordinates,
            self.equation.fields, self.dtype)
        self.derivatives = "taylor" if self._structure is not None else "tape"

    def _dry_run(self) -> list[str]:
        """Evaluate every residual and condition on a few points, traced as training traces it
        (a graph, not eagerly), to catch naming, shape and NumPy-in-the-graph errors early."""
        n_fields = len(self.equation.fields)
        probe_points = {"collocation": self.collocation[:2]}
        for c in self.conditions:
            for i, p in enumerate(c.point_sets):
                probe_points[f"{c.name}.{i}"] = p
        n = probe_points["collocation"].shape[0]
        found: dict[str, Any] = {}

        def probe(points):
            out = tf.convert_to_tensor(self.network(points["collocation"]))
            if out.shape.rank != 2 or out.shape[1] != n_fields:
                raise ValueError(
                    f"network must map (N, {len(self.equation.coordinates)}) points to (N, {n_fields}) "
                    f"outputs {list(self.equation.fields)}, got output shape {tuple(out.shape)}"
                )
            d = self._derivatives(points["collocation"])
            terms = self.equation.named_residuals(d)
            for name, value in terms.items():
                shape = tuple(tf.convert_to_tensor(value).shape)
                if shape not in ((n, 1), (n,)):
                    raise ValueError(
                        f"residual {name!r} of {type(self.equation).__name__} must have shape (N, 1) or "
                        f"(N,) for N points, got {shape} for N = {n}"
                    )
            for c in self.conditions:
                ds = [self._derivatives(points[f"{c.name}.{i}"], f"{c.name}.{i}")
                      for i in range(len(c.point_sets))]
                value = tf.convert_to_tensor(c.residual(*ds))
                if value.shape.rank not in (1, 2) or value.shape[0] != c.num_points:
                    raise ValueError(
                        f"residual of condition {c.name!r} must have shape (N, k) for its N = "
                        f"{c.num_points} points, got {tuple(value.shape)}"
                    )
            found["names"] = list(terms)
            return tf.constant(0.0)

        specs = {k: tf.TensorSpec(v.shape, self.dtype) for k, v in probe_points.items()}
        try:
            tf.function(probe, input_signature=[specs], autograph=False).get_concrete_function()
        except NotImplementedError as error:
            if "numpy" in str(error).lower():
                raise TypeError(
                    f"{type(self.equation).__name__}.residual (or a condition) calls NumPy on a tensor "
                    f"({error}); use TensorFlow's functions instead, e.g. tf.sin, tf.exp, tf.math.*"
                ) from None
            raise
        return found["names"]

    # -- the loss -------------------------------------------------------------------------------
    def _derivatives(self, points: tf.Tensor, point_set: str = "collocation") -> Derivatives | TaylorDerivatives:
        """Derivatives at the points of ``point_set`` by the chosen path; the Taylor path
        propagates at once what that point set's terms read before (learned in the dry run)."""
        if self._structure is not None:
            return TaylorDerivatives(self._structure, points, self.equation.coordinates,
                                     self.equation.fields, declared=self._declared.setdefault(point_set, set()))
        return Derivatives(self.network, points, self.equation.coordinates, self.equation.fields)

    def _weight(self, name: str) -> float:
        w = self._residual_weight
        return float(w.get(name, 1.0)) if isinstance(w, Mapping) else float(w)

    chunkable = ("collocation",)

    def point_sets(self) -> dict[str, np.ndarray]:
        """``{"collocation": (N_f, d), "<condition>.<i>": (N_c, d), ...}``, float64."""
        sets = {"collocation": self.collocation}
        for c in self.conditions:
            for i, p in enumerate(c.point_sets):
                sets[f"{c.name}.{i}"] = p
        return sets

    def terms(self, points: Mapping[str, tf.Tensor]) -> dict[str, Term]:
        """The named terms at ``points`` (see :meth:`point_sets`): residuals, then conditions."""
        d = self._derivatives(points["collocation"])
        terms: dict[str, Term] = {}
        for name, residual in self.equation.named_residuals(d).items():
            terms[name] = mean_square(residual, self._weight(name))
        for c in self.conditions:
            ds = [self._derivatives(points[f"{c.name}.{i}"], f"{c.name}.{i}")
                  for i in range(len(c.point_sets))]
            terms[c.name] = c.term(*ds)
        return terms

    def coefficients(self) -> dict[str, tf.Tensor]:
        """The equation's trainable coefficients by name (values, e.g. exp(raw) for positive ones)."""
        return {name: self.equation.coefficient(name) for name in self.equation.trainable_names}

    def loss(self) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
        """Total loss and its named terms (each already weighted) at the problem's own points,
        evaluated now (eagerly, for inspection; training evaluates :meth:`terms`)."""
        points = {k: tf.constant(v, self.dtype) for k, v in self.point_sets().items()}
        values = {k: t.sum / tf.cast(t.count, t.sum.dtype) for k, t in self.terms(points).items()}
        return tf.add_n(list(values.values())), values

    @property
    def variables(self) -> list[tf.Variable]:
        """Network variables, then trainable equation coefficients."""
        network_vars = [as_tf_variable(v) for v in getattr(self.network, "trainable_variables", [])]
        return network_vars + self.equation.trainable_variables

    # -- evaluation -----------------------------------------------------------------------------
    def predict(self, points: Any, batch_size: int = 65536) -> np.ndarray:
        """Network outputs at (N, d) points as an (N, n_fields) float64 array."""
        points = as_points(points, "points")
        if points.shape[1] != len(self.equation.coordinates):
            raise ValueError(
                f"points must have {len(self.equation.coordinates)} columns, got shape {points.shape}"
            )
        chunks = [
            np.asarray(self.network(tf.constant(points[i:i + batch_size], self.dtype)), dtype=np.float64)
            for i in range(0, points.shape[0], batch_size)
        ]
        return np.concatenate(chunks, axis=0)

    def residuals(self, points: Any) -> dict[str, np.ndarray]:
        """The equation's residuals at (N, d) points, each (N,) float64 (eager; for diagnostics)."""
        d = self._derivatives(tf.constant(as_points(points, "points"), self.dtype))
        return {
            k: np.asarray(v, dtype=np.float64).reshape(-1)
            for k, v in self.equation.named_residuals(d).items()
        }
