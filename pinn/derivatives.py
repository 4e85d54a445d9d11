"""Fields and their derivatives by name (``u``, ``u_t``, ``u_xx``, ``u_xt``...) at a batch of points.

A :class:`Derivatives` object evaluates the network once at its points and computes derivatives
with respect to the input coordinates lazily, by reverse-mode automatic differentiation on one
persistent gradient tape, caching every result: a derivative is computed once per evaluation
however many terms use it. Everything is recorded on that tape, so derivatives of any order can be
taken, and an outer tape gets the gradients of a loss built from them with respect to the weights.

Two kinds of backward pass, for a network with k fields and d coordinates:

* per field: ``tape.gradient(G_f (N, 1), X)`` gives the derivatives of one field ``f`` along *all*
  d coordinates at once (``u`` -> ``u_x``, ``u_t``): one pass per field;
* per block ("double backward"): the derivatives of one order of *all* k fields form an (N, k)
  block ``G``. With a watched dummy ``V = ones (N, k)``, ``g = tape.gradient(G, X,
  output_gradients=V)`` (N, d) is one pass (once per block), and ``dG/dx_j =
  tape.gradient(g[:, j], V)`` (N, k) one more pass per coordinate ``j``: the cost does not grow
  with k.

A requested derivative uses a per-field pass when the network has one or two fields, or for the
first field asked for at a given order, or when at most two fields of that order are still without
one; otherwise it switches that order to block passes. So one field's derivatives cost what they
always did (one pass per order), and the derivatives of all k fields along c coordinates cost at
most ``2 + c`` passes per order, whatever k. :meth:`Derivatives.block` asks for all fields at once
and uses block passes directly (``1 + c`` per order).

The network must act pointwise (row ``i`` of its output depends only on row ``i`` of its input; true
of MLPs, not of batch normalisation): derivatives are gradients of the batch sum.

Computing gradients on a persistent tape inside its context is what higher-order derivatives
need, so TensorFlow's warning about it ("Calling GradientTape.gradient on a persistent tape inside
its context is significantly less efficient...") is filtered out while this module computes
derivatives; TensorFlow's other messages, and that one from other code, are left alone.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections import deque
from typing import Any, Callable, Iterator, Sequence

import tensorflow as tf

__all__ = ["Derivatives", "DerivativeReader", "ByName", "DerivativeName", "parse_derivative",
           "check_names"]


# -- TensorFlow's "persistent tape inside its context" warning -----------------------------------
_TAPE_WARNING = "Calling GradientTape.gradient on a persistent tape inside its context"
_quiet = threading.local()


class _PersistentTapeWarningFilter(logging.Filter):
    """Drops TF's persistent-tape-inside-context warning while :mod:`pinn.derivatives` computes."""

    pinn_tape_warning_filter = True  # marker: install once, even if this module is reloaded

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(_quiet, "depth", 0) <= 0:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is not ours to judge
            return True
        return not message.startswith(_TAPE_WARNING)


def _install_warning_filter() -> None:
    logger = tf.get_logger()
    if not any(getattr(f, "pinn_tape_warning_filter", False) for f in logger.filters):
        logger.addFilter(_PersistentTapeWarningFilter())


_install_warning_filter()


@contextlib.contextmanager
def _tape_warning_suppressed() -> Iterator[None]:
    """Within this block (this thread), TF's persistent-tape warning is dropped."""
    _quiet.depth = getattr(_quiet, "depth", 0) + 1
    try:
        yield
    finally:
        _quiet.depth -= 1


# -- names ---------------------------------------------------------------------------------------
class DerivativeName(tuple):
    """A parsed derivative name: ``(field, coordinate indices in canonical (sorted) order)``."""

    @property
    def field(self) -> str:
        return self[0]

    @property
    def orders(self) -> tuple[int, ...]:
        return self[1]


def _readings(name: str, fields: tuple[str, ...], coordinates: tuple[str, ...]) -> set[tuple]:
    """Every ``(field, sorted coordinate indices)`` that ``name`` can be read as."""

    @functools.lru_cache(maxsize=None)
    def splits(rest: str) -> frozenset[tuple[int, ...]]:  # all ways to cut rest into coordinates
        if not rest:
            return frozenset({()})
        found = set()
        for i, c in enumerate(coordinates):
            if rest.startswith(c):
                found.update(tuple(sorted((i,) + tail)) for tail in splits(rest[len(c):]))
        return frozenset(found)

    readings = set()
    for field in fields:
        if name == field:
            readings.add((field, ()))
        elif name.startswith(field + "_"):
            readings.update((field, s) for s in splits(name[len(field) + 1:]) if s)
    return readings


@functools.lru_cache(maxsize=4096)
def _parse(name: str, fields: tuple[str, ...], coordinates: tuple[str, ...]) -> DerivativeName:
    readings = _readings(name, fields, coordinates)
    if len(readings) == 1:
        return DerivativeName(readings.pop())
    if readings:
        described = " or ".join(
            sorted(_describe(field, [coordinates[i] for i in orders]) for field, orders in readings)
        )
        raise KeyError(
            f"derivative name {name!r} is ambiguous: it reads as {described}; fields are "
            f"{list(fields)}, coordinates are {list(coordinates)} (pinn.Equation rejects such "
            "names when the equation is defined; see pinn.derivatives.check_names)"
        )
    raise KeyError(
        f"unknown field or derivative {name!r}: fields are {list(fields)}, coordinates are "
        f"{list(coordinates)}; write a derivative as <field>_<coordinates>, e.g. "
        f"'{fields[0]}_{coordinates[0]}{coordinates[0]}'"
    )


def parse_derivative(
    name: str, fields: Sequence[str], coordinates: Sequence[str]
) -> DerivativeName:
    """Parse ``"u"``, ``"u_x"``, ``"u_xxt"`` into ``(field, sorted coordinate indices)``.

    The part after the field and ``_`` is cut into coordinate names in every possible way, so
    coordinates may have names longer than one letter (``"u_x1x2"`` with coordinates x1, x2).
    Mixed partials are symmetric: ``u_xt`` and ``u_tx`` are the same derivative.

    Raises:
        KeyError: the name does not start with a known field, or its suffix is not a sequence of
            known coordinates, or it reads as two different derivatives (names that
            :func:`check_names` rejects); the message lists the fields and coordinates.
    """
    if not isinstance(name, str):
        raise KeyError(f"derivative names are strings like 'u_x', got {name!r}")
    return _parse(name, tuple(fields), tuple(coordinates))


def _describe(field: str, coordinates: Sequence[str]) -> str:
    if not coordinates:
        return f"field {field!r}"
    return f"{field!r} differentiated along {', '.join(repr(c) for c in coordinates)}"


def _ambiguous_name(
    fields: tuple[str, ...], coordinates: tuple[str, ...]
) -> tuple[str, tuple, tuple] | None:
    """A name ``<field>[_<coordinates>]`` with two readings, as ``(name, reading, reading)``.

    A reading is ``(field, (coordinate names...))`` in written order. Sardinas-Patterson style
    search: two different readings that write the same string start with different first tokens
    (``field`` alone, or ``field_<coordinate>``), one a prefix of the other; then the reading that
    is behind appends coordinates until both end together (an ambiguity) or they part.
    """
    firsts = [(f, (f, ()), False) for f in fields]
    firsts += [(f + "_" + c, (f, (c,)), True) for f in fields for c in coordinates]
    # state: (dangling suffix, behind reading, behind may continue, ahead reading, ahead may continue)
    queue: deque = deque()
    seen: set = set()
    for a_text, a, a_more in firsts:
        for b_text, b, b_more in firsts:
            if a == b or not b_text.startswith(a_text):
                continue
            if a_text == b_text:
                return a_text, a, b
            queue.append((b_text[len(a_text):], a, a_more, b, b_more, b_text))
    while queue:
        rest, behind, behind_more, ahead, ahead_more, text = queue.popleft()
        if not behind_more or (rest, ahead_more) in seen:
            continue
        seen.add((rest, ahead_more))
        for c in coordinates:
            extended = (behind[0], behind[1] + (c,))
            if c == rest:
                return text, extended, ahead
            if rest.startswith(c):
                queue.append((rest[len(c):], extended, True, ahead, ahead_more, text))
            elif c.startswith(rest):
                queue.append((c[len(rest):], ahead, ahead_more, extended, True, text + c[len(rest):]))
    return None


def check_names(fields: Sequence[str], coordinates: Sequence[str]) -> None:
    """Check that every derivative name ``<field>[_<coordinates>]`` reads exactly one way.

    Rejected, for example: coordinates ``x`` and ``xx`` (``u_xx`` is ``u`` along x twice, or along
    xx once); a field ``u_x`` next to a field ``u`` and a coordinate ``x``; a coordinate named like a
    field or a derivative (``d["u_x"]`` would be both). Accepted: coordinates ``x1``, ``x2``
    (``u_x1x2``), ``x``, ``t``; fields ``u``, ``v``.

    Args:
        fields: the field names, e.g. ``("u", "v")``.
        coordinates: the coordinate names, e.g. ``("x", "t")``.

    Raises:
        ValueError: a name reads two ways; the message gives it, its readings, the clashing
            fields/coordinates, and what to rename.
    """
    fields, coordinates = tuple(fields), tuple(coordinates)
    for kind, names in (("field", fields), ("coordinate", coordinates)):
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"{kind} names must be unique; repeated: {repeated}")
    both = sorted(set(fields) & set(coordinates))
    if both:
        raise ValueError(f"names {both} are both fields and coordinates; rename one of each pair")
    for c in coordinates:
        readings = _readings(c, fields, coordinates)
        if readings:
            field, orders = min(readings)
            raise ValueError(
                f"coordinate {c!r} is also the name of {_describe(field, [coordinates[i] for i in orders])}, "
                f"so d[{c!r}] would read two ways; rename coordinate {c!r}"
            )
    found = _ambiguous_name(fields, coordinates)
    if found is None:
        return
    name, one, other = found
    kinds = {**{c: "coordinate" for c in coordinates}, **{f: "field" for f in fields}}
    clashing = sorted({one[0], *one[1]} ^ {other[0], *other[1]}, key=lambda n: (kinds[n], n))
    listed = ", ".join(f"{kinds[n]} {n!r}" for n in clashing)
    raise ValueError(
        f"derivative name {name!r} reads two ways: as {_describe(*one)} and as {_describe(*other)}; "
        f"rename one of {listed} so that every name reads one way (e.g. coordinates that are not "
        "made of other coordinates' names, such as 'x1', 'x2' rather than 'x', 'xx', and no field "
        "named '<field>_<coordinates>')"
    )


# -- derivatives -----------------------------------------------------------------------------------
class ByName:
    """``reader.u_xx`` reads ``reader["u_xx"]``: attribute access by derivative name, for every
    object that gives derivatives by name (a name it lacks is an AttributeError)."""

    def __getattr__(self, name: str) -> tf.Tensor:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]  # type: ignore[index]
        except KeyError as error:
            raise AttributeError(str(error)) from None


class DerivativeReader(ByName):
    """What :class:`Derivatives` (reverse mode) and :class:`pinn.taylor.TaylorDerivatives` (forward
    mode) share: the points, coordinate and field names they were made with (set as ``_points``,
    ``_coordinates``, ``_fields``), and access by name."""

    _points: tf.Tensor
    _coordinates: tuple[str, ...]
    _fields: tuple[str, ...]

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


class Derivatives(DerivativeReader):
    """Network outputs and their coordinate derivatives at ``points``, by name, computed on demand.

    Args:
        network: callable mapping an (N, d) tensor to an (N, n_fields) tensor.
        points: (N, d) tensor of coordinates, columns in the order of ``coordinates``.
        coordinates: the d coordinate names (e.g. ``("x", "t")``).
        fields: the n_fields output names (e.g. ``("u",)``), in the network's output order.

    Use ``d["u_xx"]``, ``d.u_xx`` or ``d.derivative("u", "x", "x")`` for a derivative, ``d["x"]`` /
    ``d.x`` for a coordinate column; every value is an (N, 1) tensor, in the units of the field
    divided by those of the coordinates. ``d.block("x", "x")`` gives that derivative of all fields as
    one (N, n_fields) tensor. A field that does not depend on the inputs has zero derivatives.
    ``d.computed`` lists what has been computed and ``d.backward_passes`` counts the backward passes
    taken (for tests). ``d.outputs`` is the (N, n_fields) network output.
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
        # orders -> (N, k) derivatives of all fields; orders -> (g (N, d), V (N, k)) of a block
        # differentiated by the double-backward trick; orders -> fields given a per-field pass there
        self._blocks: dict[tuple[int, ...], tf.Tensor] = {(): outputs}
        self._block_gradients: dict[tuple[int, ...], tuple[tf.Tensor, tf.Tensor]] = {}
        self._field_passes: dict[tuple[int, ...], set[str]] = {}

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

    def block(self, *coordinates: str) -> tf.Tensor:
        """The derivative along ``coordinates`` of every field, as one (N, n_fields) tensor.

        ``d.block()`` is the network output, ``d.block("x", "x")`` is ``[u_xx, v_xx, ...]``; column
        ``i`` equals ``d.derivative(fields[i], *coordinates)``. With two or more fields this uses
        block (double-backward) passes: one per order plus one per coordinate differentiated along.
        """
        unknown = [c for c in coordinates if c not in self._coordinates]
        if unknown:
            raise KeyError(f"unknown coordinate(s) {unknown}; coordinates are {list(self._coordinates)}")
        return self._block(tuple(sorted(self._coordinates.index(c) for c in coordinates)))

    def __getitem__(self, name: str) -> tf.Tensor:
        if name in self._coordinates and name not in self._fields:
            return self.coordinate(name)
        key = tuple(parse_derivative(name, self._fields, self._coordinates))
        return self._compute(key)


    # -- the passes -------------------------------------------------------------------------------
    def _compute(self, key: tuple) -> tf.Tensor:
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        field, orders = key
        parent, j = self._route(orders)
        if parent in self._block_gradients or not self._per_field_is_cheaper(field, parent):
            self._column(parent, j)
        else:
            self._field_pass(field, parent)
        return self._cache[key]

    def _route(self, orders: tuple[int, ...]) -> tuple[tuple[int, ...], int]:
        """``(parent orders, coordinate index)`` to reach ``orders`` from: one whose block already
        had its block pass (so one more pass gives all fields) if any, else ``orders[:-1]``."""
        for j in sorted(set(orders), reverse=True):
            i = orders.index(j)
            parent = orders[:i] + orders[i + 1:]
            if parent in self._block_gradients:
                return parent, j
        return orders[:-1], orders[-1]

    def _per_field_is_cheaper(self, field: str, parent: tuple[int, ...]) -> bool:
        """Whether ``field``'s next derivatives from order ``parent`` take a per-field pass.

        Yes for one or two fields, for the first field asked for at this order (maybe no other
        will be), and while at most two fields are left without a pass: those cost at most two
        passes, no more than a block pass and one column would.
        """
        done = self._field_passes.get(parent, set())
        left = len(self._fields) - len(done - {field})
        return len(self._fields) <= 2 or not done or left <= 2

    def _field_pass(self, field: str, parent: tuple[int, ...]) -> None:
        """One pass: ``field``'s derivatives of order ``parent`` + 1 along all coordinates."""
        value = self._compute((field, parent))
        # every op on the tape (slices too), for the next order and for the weights
        with self._tape, _tape_warning_suppressed():
            gradient = self._tape.gradient(
                value, self._points, unconnected_gradients=tf.UnconnectedGradients.ZERO
            )
            for j in range(len(self._coordinates)):
                key = (field, tuple(sorted(parent + (j,))))
                if key not in self._cache:
                    self._cache[key] = gradient[:, j:j + 1]
        self.backward_passes += 1
        self._field_passes.setdefault(parent, set()).add(field)

    def _block(self, orders: tuple[int, ...]) -> tf.Tensor:
        """All fields' derivatives of ``orders`` as (N, k), by block passes where not cached."""
        block = self._blocks.get(orders)
        if block is not None:
            return block
        cached = [self._cache.get((f, orders)) for f in self._fields]
        if all(c is not None for c in cached):
            with self._tape:
                block = cached[0] if len(cached) == 1 else tf.concat(cached, axis=1)
        elif len(self._fields) == 1:
            block = self._compute((self._fields[0], orders))
        else:
            block = self._column(*self._route(orders))
        self._blocks[orders] = block
        return block

    def _column(self, parent: tuple[int, ...], j: int) -> tf.Tensor:
        """All fields' derivatives of order ``parent`` + 1 along coordinate ``j``, (N, k).

        Double backward: ``g = d(sum V * G)/dX`` (N, d) with ``V = ones`` (N, k) watched, once per
        ``parent``; then ``dG/dx_j = d g[:, j] / dV`` (N, k), one pass.
        """
        if parent not in self._block_gradients:
            block = self._block(parent)
            with self._tape, _tape_warning_suppressed():
                dummy = tf.ones_like(block)
                self._tape.watch(dummy)
                g = self._tape.gradient(
                    block, self._points, output_gradients=dummy,
                    unconnected_gradients=tf.UnconnectedGradients.ZERO,
                )
            self.backward_passes += 1
            self._block_gradients[parent] = (g, dummy)
        g, dummy = self._block_gradients[parent]
        orders = tuple(sorted(parent + (j,)))
        with self._tape, _tape_warning_suppressed():
            column = self._tape.gradient(
                g[:, j], dummy, unconnected_gradients=tf.UnconnectedGradients.ZERO
            )
            for i, f in enumerate(self._fields):
                if (f, orders) not in self._cache:
                    self._cache[(f, orders)] = column[:, i:i + 1]
        self.backward_passes += 1
        self._blocks.setdefault(orders, column)
        return column
