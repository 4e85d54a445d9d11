"""The base class users subclass to define a PDE."""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import tensorflow as tf

from pinn.validation import check_number
from pinn.derivatives import Derivatives, check_names

__all__ = ["Equation", "Trainable"]


class Trainable:
    """A PDE coefficient learned with the network (inverse problems).

    Args:
        initial: starting value of the coefficient.
        positive: keep it positive by learning ``raw`` with ``value = exp(raw)`` (as the PINN paper
            does for viscosities); then ``initial`` must be > 0.
    """

    def __init__(self, initial: float, positive: bool = False) -> None:
        initial = check_number(initial, "initial", meaning="the coefficient's starting value")
        if positive and initial <= 0:
            raise ValueError(f"initial must be > 0 for a positive coefficient, got {initial}")
        self.initial = initial
        self.positive = bool(positive)

    def __repr__(self) -> str:
        return f"Trainable({self.initial!r}, positive={self.positive})"


class Equation:
    """A PDE (or system) in named coordinates and fields; subclass it.

    Class attributes a subclass sets:
        coordinates: input coordinate names, in the network's input column order, e.g. ``("x", "t")``.
        fields: output field names, in the network's output column order, e.g. ``("u",)``.
            Every derivative name must read one way: no coordinates ``x`` and ``xx``, no field
            ``u_x`` beside ``u`` and ``x`` (see :func:`pinn.derivatives.check_names`).
        coefficients: default coefficient values by name: numbers, or :class:`Trainable`.

    and one method:
        ``residual(self, d)`` returning the residual as an (N, 1) tensor, or a dict
        ``{name: (N, 1) tensor}`` for several residuals (systems); ``d`` is a
        :class:`~pinn.derivatives.Derivatives` giving ``d["u_t"]``, ``d.u_xx``, ``d["x"]``...
        Coefficients are attributes: ``self.nu``.

    Example::

        class Burgers(pinn.Equation):
            coordinates = ("x", "t")
            fields = ("u",)
            coefficients = {"nu": 0.01 / np.pi}

            def residual(self, d):
                return d.u_t + d.u * d.u_x - self.nu * d.u_xx

    Constructor keywords override coefficient defaults: ``Burgers(nu=pinn.Trainable(0.05,
    positive=True))`` turns the Burgers example into an inverse problem.
    """

    coordinates: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    coefficients: Mapping[str, float | Trainable] = {}

    def __init__(self, **coefficients: float | Trainable) -> None:
        cls = type(self)
        for attr in ("coordinates", "fields"):
            names = tuple(getattr(cls, attr))
            if not names or not all(isinstance(n, str) and n.isidentifier() for n in names):
                raise TypeError(
                    f"{cls.__name__}.{attr} must be a non-empty tuple of identifier strings, got {names!r}"
                )
            if len(set(names)) != len(names):
                raise ValueError(f"{cls.__name__}.{attr} has duplicate names: {names!r}")
            setattr(self, attr, names)
        clash = set(self.coordinates) & set(self.fields)
        if clash:
            raise ValueError(f"{cls.__name__}: names {sorted(clash)} are both coordinates and fields")
        try:  # every derivative name (u_xx...) must read one way
            check_names(self.fields, self.coordinates)
        except ValueError as error:
            raise ValueError(f"{cls.__name__}: {error}") from None
        unknown = set(coefficients) - set(cls.coefficients)
        if unknown:
            raise TypeError(
                f"{cls.__name__} has no coefficient(s) {sorted(unknown)}; "
                f"its coefficients are {sorted(cls.coefficients)}"
            )
        specs = {**dict(cls.coefficients), **coefficients}
        for name, spec in specs.items():
            if not isinstance(spec, Trainable):
                if isinstance(spec, bool) or not isinstance(spec, (int, float, np.floating, np.integer)):
                    raise TypeError(
                        f"coefficient {name!r} must be a number or pinn.Trainable, got {type(spec).__name__}"
                    )
                if not math.isfinite(float(spec)):
                    raise ValueError(f"coefficient {name!r} must be finite, got {spec}")
        self._specs: dict[str, float | Trainable] = specs
        self._raw: dict[str, tf.Variable] = {}
        self._dtype: tf.DType | None = None

    # -- coefficients ---------------------------------------------------------------------------
    def build(self, dtype: Any = "float64") -> None:
        """Create the variables of trainable coefficients in ``dtype`` (called by ``Problem``).

        Building again with the same dtype keeps the existing variables (and their values).
        """
        dtype = tf.as_dtype(dtype)
        if self._dtype == dtype:
            return
        self._dtype = dtype
        self._raw = {}
        for name, spec in self._specs.items():
            if isinstance(spec, Trainable):
                raw = math.log(spec.initial) if spec.positive else spec.initial
                self._raw[name] = tf.Variable(raw, dtype=dtype, name=f"{type(self).__name__}_{name}")

    @property
    def trainable_variables(self) -> list[tf.Variable]:
        """Variables of the trainable coefficients (the raw ones: log-values for positive ones)."""
        return list(self._raw.values())

    @property
    def trainable_names(self) -> list[str]:
        """Names of the trainable coefficients, in the order of :attr:`trainable_variables`."""
        return [name for name, spec in self._specs.items() if isinstance(spec, Trainable)]

    @property
    def coefficient_names(self) -> list[str]:
        return list(self._specs)

    def coefficient(self, name: str) -> Any:
        """The value of coefficient ``name``: a number, or a tensor for a trainable one."""
        spec = self._specs[name]
        if not isinstance(spec, Trainable):
            return float(spec)
        if name not in self._raw:
            self.build(self._dtype or "float64")
        raw = self._raw[name]
        return tf.exp(raw) if spec.positive else tf.identity(raw)

    def coefficient_values(self) -> dict[str, float]:
        """Current values of all coefficients as floats (e.g. for reports)."""
        return {name: float(self.coefficient(name)) for name in self._specs}

    def __getattr__(self, name: str) -> Any:
        specs = self.__dict__.get("_specs")
        if specs is not None and name in specs:
            return self.coefficient(name)
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")

    # -- the PDE --------------------------------------------------------------------------------
    def residual(self, d: Derivatives) -> tf.Tensor | Mapping[str, tf.Tensor]:
        """The PDE residual(s) at the points of ``d``; zero where the equation holds."""
        raise NotImplementedError(f"{type(self).__name__} must implement residual(self, d)")

    def named_residuals(self, d: Derivatives) -> dict[str, tf.Tensor]:
        """:meth:`residual`'s value by term name, as the problems name their loss terms:
        ``{"pde": r}`` for one tensor, ``{"pde_0": r0, "pde_1": r1, ...}`` for a tuple or list,
        the dict's own keys (as strings) for a dict."""
        output = self.residual(d)
        if isinstance(output, Mapping):
            return {str(k): v for k, v in output.items()}
        if isinstance(output, (tuple, list)):
            return {f"pde_{i}": v for i, v in enumerate(output)}
        return {"pde": output}

    def __repr__(self) -> str:
        coefs = ", ".join(f"{k}={v!r}" for k, v in self._specs.items())
        return f"{type(self).__name__}({coefs})"
