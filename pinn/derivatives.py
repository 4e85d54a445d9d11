"""Fields and their derivatives by name (``u``, ``u_t``, ``u_xx``, ``u_xt``...) at a batch of points.

A :class:`Derivatives` object evaluates the network once at its points and computes derivatives
with respect to the input coordinates lazily, by reverse-mode automatic differentiation on one
persistent gradient tape, caching every result: a derivative is computed once per evaluation
however many terms use it. One backward pass through ``du/dX`` yields the derivatives of ``u`` with
respect to *all* coordinates at once, so ``u_x`` and ``u_t`` cost one pass, and ``u_xx`` and ``u_xt``
one more.

The network must act pointwise (row ``i`` of its output depends only on row ``i`` of its input; true
of MLPs, not of batch normalisation): derivatives are gradients of the batch sum.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import tensorflow as tf

__all__ = ["Derivatives", "DerivativeName", "parse_derivative"]


class DerivativeName(tuple):
    """A parsed derivative name: ``(field, coordinate indices in canonical (sorted) order)``."""

    @property
    def field(self) -> str:
        return self[0]

    @property
    def orders(self) -> tuple[int, ...]:
        return self[1]


def parse_derivative(
    name: str, fields: Sequence[str], coordinates: Sequence[str]
) -> DerivativeName:
    """Parse ``"u"``, ``"u_x"``, ``"u_xxt"`` into ``(field, sorted coordinate indices)``.

    The part after the field and ``_`` is split into coordinate names, longest name first, so
    coordinates may have names longer than one letter (``"u_x1x2"`` with coordinates x1, x2).
    Mixed partials are symmetric: ``u_xt`` and ``u_tx`` are the same derivative.

    Raises:
        KeyError: the name does not start with a known field, or its suffix is not a sequence of
            known coordinates; the message lists the fields and coordinates.
    """
    if not isinstance(name, str):
        raise KeyError(f"derivative names are strings like 'u_x', got {name!r}")
    candidates = sorted(
        (f for f in fields if name == f or name.startswith(f + "_")), key=len, reverse=True
    )
    for field in candidates:
        rest = name[len(field) + 1:]
        indices: list[int] = []
        while rest:
            match = max(
                (c for c in coordinates if rest.startswith(c)), key=len, default=None
            )
            if match is None:
                break
            indices.append(list(coordinates).index(match))
            rest = rest[len(match):]
        if not rest and (indices or name == field):
            return DerivativeName((field, tuple(sorted(indices))))
    raise KeyError(
        f"unknown field or derivative {name!r}: fields are {list(fields)}, coordinates are "
        f"{list(coordinates)}; write a derivative as <field>_<coordinates>, e.g. "
        f"'{fields[0]}_{coordinates[0]}{coordinates[0]}'"
    )


class Derivatives:
    """Network outputs and their coordinate derivatives at ``points``, by name, computed on demand.

    Args:
        network: callable mapping an (N, d) tensor to an (N, n_fields) tensor.
        points: (N, d) tensor of coordinates, columns in the order of ``coordinates``.
        coordinates: the d coordinate names (e.g. ``("x", "t")``).
        fields: the n_fields output names (e.g. ``("u",)``), in the network's output order.

    Use ``d["u_xx"]`` or ``d.u_xx`` for a derivative, ``d["x"]`` / ``d.x`` for a coordinate column;
    every value is an (N, 1) tensor. ``d.computed`` lists what has been computed (for tests).
    """

    def __init__(
        self,
        network: Callable[[tf.Tensor], Any],
        points: tf.Tensor,
        coordinates: Sequence[str],
        fields: Sequence[str],
    ) -> None:
        self._coordinates = tuple(coordinates)
        self._fields = tuple(fields)
        self._points = tf.convert_to_tensor(points)
        self._tape = tf.GradientTape(persistent=True, watch_accessed_variables=False)
        with self._tape:
            self._tape.watch(self._points)
            outputs = tf.convert_to_tensor(network(self._points))
            self._cache: dict[tuple, tf.Tensor] = {
                (f, ()): outputs[:, k:k + 1] for k, f in enumerate(self._fields)
            }
        self.outputs = outputs
        self.backward_passes = 0

    @property
    def points(self) -> tf.Tensor:
        """The (N, d) coordinates."""
        return self._points

    @property
    def coordinates(self) -> tuple[str, ...]:
        """The coordinate names, in the points' column order."""
        return self._coordinates

    @property
    def fields(self) -> tuple[str, ...]:
        """The field names, in the network's output order."""
        return self._fields

    @property
    def computed(self) -> list[str]:
        """Names of the derivatives computed so far (canonical spelling)."""
        return [self._name(key) for key in self._cache]

    def _name(self, key: tuple) -> str:
        field, orders = key
        return field if not orders else field + "_" + "".join(self._coordinates[i] for i in orders)

    def coordinate(self, name: str) -> tf.Tensor:
        """The column of coordinate ``name``, shape (N, 1)."""
        if name not in self._coordinates:
            raise KeyError(f"unknown coordinate {name!r}; coordinates are {list(self._coordinates)}")
        i = self._coordinates.index(name)
        return self._points[:, i:i + 1]

    def derivative(self, field: str, *coordinates: str) -> tf.Tensor:
        """``d^k field / d coordinates...`` as (N, 1), e.g. ``derivative("u", "x", "x")``."""
        name = field + ("_" + "".join(coordinates) if coordinates else "")
        return self[name]

    def __getitem__(self, name: str) -> tf.Tensor:
        if name in self._coordinates and name not in self._fields:
            return self.coordinate(name)
        key = tuple(parse_derivative(name, self._fields, self._coordinates))
        return self._compute(key)

    def __getattr__(self, name: str) -> tf.Tensor:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError as error:
            raise AttributeError(str(error)) from None

    def _compute(self, key: tuple) -> tf.Tensor:
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        field, orders = key
        parent = self._compute((field, orders[:-1]))
        with self._tape:  # record the gradient itself, for the next order and for the weights
            gradient = self._tape.gradient(parent, self._points)
            self.backward_passes += 1
            if gradient is None:  # the field does not depend on the inputs at all
                gradient = tf.zeros_like(self._points)
            for j in range(len(self._coordinates)):
                child = (field, tuple(sorted(orders[:-1] + (j,))))
                if child not in self._cache:
                    self._cache[child] = gradient[:, j:j + 1]
        return self._cache[key]
