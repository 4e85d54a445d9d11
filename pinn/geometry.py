"""Axis-aligned space(-time) domains and collocation-point sampling.

A :class:`Domain` is a box ``[lower_0, upper_0] x ... x [lower_{d-1}, upper_{d-1}]`` in
named coordinates, one of which may be time.  Points are always returned as float64
arrays of shape ``(n, d)`` whose columns follow ``Domain.names``; they carry the units
of the bounds the domain was built with.

Products build space-time domains::

    domain = Interval(-1.0, 1.0) * TimeInterval(0.0, 1.0)   # names ("x", "t")
    x_f = domain.sample_interior(10_000, seed=0)             # (10000, 2) residual points
    x_b, n_b = domain.sample_boundary(100, seed=1)           # x = -1 and x = 1, t free
    x_0 = domain.sample_initial(100, seed=2)                 # t = 0, x free

Random methods take ``seed``: None (fresh entropy), a non-negative int (the same int
gives the same points) or a ``np.random.Generator`` (used, and advanced, in place).
"""

from __future__ import annotations

import math
import numbers
from typing import Iterable, Sequence

import numpy as np
from pydoe import lhs

__all__ = ["Domain", "Interval", "Box", "TimeInterval", "stratified_choice"]

SAMPLE_METHODS = ("lhs", "uniform", "grid")
BOUNDARY_METHODS = ("lhs", "uniform")
SIDES = ("lower", "upper")


class Domain:
    """An axis-aligned box in named coordinates, optionally with a time coordinate.

    Args:
        lower: lower bounds, length ``d >= 1``, finite, in the units of each coordinate.
        upper: upper bounds, length ``d``, each strictly greater than its lower bound.
        names: ``d`` distinct non-empty coordinate names, e.g. ``("x", "t")``.
        time: ``None`` or the name (one of ``names``) of the time coordinate.

    Attributes:
        names: coordinate names, in column order of every sampled array.
        lower, upper: read-only float64 arrays of shape ``(d,)``.
        dim: ``d``, the number of coordinates.
        time: the time coordinate's name, or ``None``.
        space_names: ``names`` without the time coordinate.
    """

    def __init__(
        self,
        lower: Sequence[float],
        upper: Sequence[float],
        names: Sequence[str],
        time: str | None = None,
    ) -> None:
        if isinstance(names, str) or not isinstance(names, Iterable):
            raise TypeError(f"names must be a sequence of str (e.g. ('x', 't')), got {names!r}")
        names = tuple(names)
        if not names:
            raise ValueError("names must contain at least one coordinate name, got ()")
        for name in names:
            if not isinstance(name, str) or not name:
                raise ValueError(f"names must be non-empty str, got {name!r} in {names!r}")
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"names must be distinct, got duplicates {duplicates} in {names!r}")
        lower_arr = _bounds(lower, "lower", len(names))
        upper_arr = _bounds(upper, "upper", len(names))
        for name, lo, hi in zip(names, lower_arr, upper_arr):
            if not (math.isfinite(lo) and math.isfinite(hi)):
                raise ValueError(
                    f"lower and upper must be finite; coordinate {name!r} has "
                    f"lower={lo}, upper={hi}"
                )
            if lo >= hi:
                raise ValueError(
                    f"lower must be < upper in every coordinate; coordinate {name!r} has "
                    f"lower={lo} >= upper={hi}"
                )
        if time is not None and (not isinstance(time, str) or time not in names):
            raise ValueError(f"time must be None or one of names {list(names)}, got {time!r}")

        lower_arr.flags.writeable = False
        upper_arr.flags.writeable = False
        self.names: tuple[str, ...] = names
        self.lower: np.ndarray = lower_arr
        self.upper: np.ndarray = upper_arr
        self.dim: int = len(names)
        self.time: str | None = time
        self.space_names: tuple[str, ...] = tuple(n for n in names if n != time)

    # ------------------------------------------------------------------ basics

    def __repr__(self) -> str:
        bounds = ", ".join(
            f"{name}=[{lo:g}, {hi:g}]" for name, lo, hi in zip(self.names, self.lower, self.upper)
        )
        return f"Domain({bounds}, time={self.time!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Domain):
            return NotImplemented
        return (
            self.names == other.names
            and self.time == other.time
            and np.array_equal(self.lower, other.lower)
            and np.array_equal(self.upper, other.upper)
        )

    def __hash__(self) -> int:
        return hash((self.names, self.time, self.lower.tobytes(), self.upper.tobytes()))

    def index(self, name: str) -> int:
        """Column of coordinate ``name`` in sampled arrays (ValueError if unknown)."""
        if name not in self.names:
            known = list(self.names)
            raise ValueError(f"unknown coordinate {name!r}; known coordinates are {known}")
        return self.names.index(name)

    def contains(self, points: np.ndarray, tol: float = 0.0) -> np.ndarray:
        """Whether each point lies in the closed box, enlarged by ``tol`` on every side.

        Args:
            points: array of shape ``(n, d)``.
            tol: non-negative slack, in coordinate units.

        Returns:
            bool array of shape ``(n,)`` (False for points with NaN).
        """
        if not _is_real(tol) or not (tol >= 0 and math.isfinite(tol)):
            raise ValueError(f"tol must be a finite real number >= 0, got {tol!r}")
        points = np.asarray(points, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != self.dim:
            raise ValueError(
                f"points must have shape (n, {self.dim}) for coordinates {list(self.names)}, "
                f"got shape {points.shape}"
            )
        inside = (points >= self.lower - tol) & (points <= self.upper + tol)
        return inside.all(axis=1)

    def __mul__(self, other: Domain) -> Domain:
        """Cartesian product; coordinates of ``self`` come first."""
        if not isinstance(other, Domain):
            return NotImplemented
        shared = [name for name in other.names if name in self.names]
        if shared:
            raise ValueError(
                f"cannot multiply domains with shared coordinate names {shared}: "
                f"{list(self.names)} * {list(other.names)}"
            )
        if self.time is not None and other.time is not None:
            raise ValueError(
                f"cannot multiply two domains with a time coordinate "
                f"({self.time!r} and {other.time!r}); a product has at most one"
            )
        return Domain(
            np.concatenate([self.lower, other.lower]),
            np.concatenate([self.upper, other.upper]),
            self.names + other.names,
            time=self.time if self.time is not None else other.time,
        )

    # ---------------------------------------------------------------- sampling

    def sample_interior(
        self,
        n: int | Sequence[int],
        method: str = "lhs",
        seed: int | np.random.Generator | None = None,
    ) -> np.ndarray:
        """Points filling the whole box (time included).

        Args:
            n: number of points for ``"lhs"`` and ``"uniform"``; for ``"grid"`` the
                points per axis, an int or a sequence of ``d`` ints.
            method: ``"lhs"`` (pydoe Latin hypercube: one point per stratum of width
                ``(upper - lower) / n`` in every coordinate), ``"uniform"`` (i.i.d.) or
                ``"grid"`` (``np.linspace(lower, upper, n_i)`` per axis, product in C
                order, the last coordinate varying fastest).
            seed: None, an int or a ``np.random.Generator`` (ignored by ``"grid"``).

        Returns:
            float64 array of shape ``(n, d)``; ``(prod(n_i), d)`` for ``"grid"``.
        """
        return self._sample(list(range(self.dim)), {}, n, method, seed, SAMPLE_METHODS)

    def sample_boundary(
        self,
        n: int,
        method: str = "uniform",
        seed: int | np.random.Generator | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Points on the spatial boundary and their outward unit normals.

        The ``2 * len(space_names)`` faces (``lower`` then ``upper`` face of each space
        coordinate, in ``names`` order) get ``n // faces`` points each, the first
        ``n % faces`` faces one more.  On each face the other coordinates, time
        included, are sampled by ``method``; time is never fixed to a face.

        Args:
            n: total number of points, a positive int.
            method: ``"lhs"`` or ``"uniform"``, for the free coordinates of each face.
            seed: None, an int or a ``np.random.Generator``.

        Returns:
            ``(points, normals)``, both float64 of shape ``(n, d)``, grouped by face;
            normals are unit vectors along the face's coordinate (zero in time).
        """
        _check_method(method, BOUNDARY_METHODS)
        n = _check_count(n, "n")
        rng = _rng(seed)
        if not self.space_names:
            raise ValueError(f"domain {self!r} has no space coordinate, so no spatial boundary")

        faces = [(self.index(name), side) for name in self.space_names for side in SIDES]
        base, extra = divmod(n, len(faces))
        points, normals = [], []
        for k, (axis, side) in enumerate(faces):
            count = base + (k < extra)
            if count == 0:
                continue
            value = self.lower[axis] if side == "lower" else self.upper[axis]
            free = [i for i in range(self.dim) if i != axis]
            points.append(self._fill(free, {axis: value}, count, method, rng))
            normal = np.zeros((count, self.dim))
            normal[:, axis] = -1.0 if side == "lower" else 1.0
            normals.append(normal)
        return np.concatenate(points), np.concatenate(normals)

    def sample_initial(
        self,
        n: int | Sequence[int],
        method: str = "lhs",
        seed: int | np.random.Generator | None = None,
    ) -> np.ndarray:
        """Points at the initial time ``t = lower[time]``, space sampled by ``method``.

        Args:
            n: number of points; for ``"grid"`` points per space axis (an int or a
                sequence of ``len(space_names)`` ints).
            method: ``"lhs"``, ``"uniform"`` or ``"grid"`` (see :meth:`sample_interior`).
            seed: None, an int or a ``np.random.Generator``.

        Returns:
            float64 array of shape ``(n, d)`` (``(prod(n_i), d)`` for ``"grid"``).
        """
        if self.time is None:
            raise ValueError(f"domain {self!r} has no time coordinate (time=None)")
        axis = self.index(self.time)
        free = [i for i in range(self.dim) if i != axis]
        return self._sample(free, {axis: self.lower[axis]}, n, method, seed, SAMPLE_METHODS)

    def sample_face(
        self,
        name: str,
        side: str,
        n: int | Sequence[int],
        method: str = "uniform",
        seed: int | np.random.Generator | None = None,
    ) -> np.ndarray:
        """Points with coordinate ``name`` fixed at its ``side`` bound, the others sampled.

        Args:
            name: the coordinate to fix (any coordinate, time included).
            side: ``"lower"`` or ``"upper"``.
            n: number of points; for ``"grid"`` points per free axis.
            method: ``"lhs"``, ``"uniform"`` or ``"grid"``.
            seed: None, an int or a ``np.random.Generator``.

        Returns:
            float64 array of shape ``(n, d)``.
        """
        axis = self.index(name)
        if side not in SIDES:
            raise ValueError(f"side must be one of {list(SIDES)}, got {side!r}")
        value = self.lower[axis] if side == "lower" else self.upper[axis]
        free = [i for i in range(self.dim) if i != axis]
        return self._sample(free, {axis: value}, n, method, seed, SAMPLE_METHODS)

    def periodic_pairs(
        self,
        name: str,
        n: int | Sequence[int],
        method: str = "uniform",
        seed: int | np.random.Generator | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Matching points on the two faces of coordinate ``name``, for periodic conditions.

        Returns:
            ``(at_lower, at_upper)``, float64 arrays of shape ``(n, d)``, equal except
            column ``name``, which holds ``lower[name]`` and ``upper[name]`` respectively.
        """
        at_lower = self.sample_face(name, "lower", n, method, seed)
        axis = self.index(name)
        at_upper = at_lower.copy()
        at_upper[:, axis] = self.upper[axis]
        return at_lower, at_upper

    # ----------------------------------------------------------------- helpers

    def _sample(
        self,
        free: list[int],
        fixed: dict[int, float],
        n: int | Sequence[int],
        method: str,
        seed: int | np.random.Generator | None,
        methods: tuple[str, ...],
    ) -> np.ndarray:
        """Validate the arguments, then sample the ``free`` axes with ``fixed`` ones set."""
        _check_method(method, methods)
        if method == "grid":
            counts = _grid_counts(n, [self.names[i] for i in free])
            _rng(seed)  # validated for consistency, unused
            axes = [np.linspace(self.lower[i], self.upper[i], c) for i, c in zip(free, counts)]
            columns = [m.reshape(-1) for m in np.meshgrid(*axes, indexing="ij")]
            points = np.empty((math.prod(counts), self.dim))
            for i, column in zip(free, columns):
                points[:, i] = column
            for i, value in fixed.items():
                points[:, i] = value
            return points
        n = _check_count(n, "n")
        return self._fill(free, fixed, n, method, _rng(seed))

    def _fill(
        self,
        free: list[int],
        fixed: dict[int, float],
        n: int,
        method: str,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """``n`` random points: ``free`` axes by ``"lhs"``/``"uniform"``, ``fixed`` set."""
        lo, hi = self.lower[free], self.upper[free]
        if method == "lhs" and free:
            unit = lhs(len(free), samples=n, seed=rng)
            values = np.clip(lo + unit * (hi - lo), lo, hi)
        else:
            values = rng.uniform(lo, hi, size=(n, len(free)))
        points = np.empty((n, self.dim))
        points[:, free] = values
        for i, value in fixed.items():
            points[:, i] = value
        return points


# -------------------------------------------------------------- constructors


def Interval(lower: float, upper: float, name: str = "x") -> Domain:
    """The 1-D space domain ``[lower, upper]`` in coordinate ``name``."""
    return Domain([_scalar(lower, "lower")], [_scalar(upper, "upper")], [name])


def Box(
    lower: Sequence[float],
    upper: Sequence[float],
    names: Sequence[str] | None = None,
) -> Domain:
    """A d-dimensional space box; ``names`` defaults to ``("x", "y", "z")[:d]`` for d <= 3."""
    if names is None:
        d = len(lower) if np.ndim(lower) == 1 else 0
        if not 1 <= d <= 3:
            raise ValueError(
                f"names must be given unless lower has 1 to 3 entries, got lower={lower!r}"
            )
        names = ("x", "y", "z")[:d]
    return Domain(lower, upper, names)


def TimeInterval(start: float, end: float, name: str = "t") -> Domain:
    """The time domain ``[start, end]`` in coordinate ``name`` (``Domain.time == name``)."""
    start, end = _scalar(start, "start"), _scalar(end, "end")
    if not start < end:
        raise ValueError(f"start must be < end, got start={start}, end={end}")
    return Domain([start], [end], [name], time=name)


def stratified_choice(
    population: int,
    n: int,
    seed: int | np.random.Generator | None = None,
) -> np.ndarray:
    """Draw ``n`` of ``population`` ordered items, one uniformly from each of ``n`` strata.

    The index range ``[0, population)`` is cut into ``n`` contiguous strata of sizes differing by
    at most one, and one index is drawn uniformly in each: a 1-D Latin hypercube over an ordered
    list of points (e.g. the grid points along a boundary). Every draw is random, as with
    ``rng.choice(population, n, replace=False)``, but two consecutive chosen indices are less than
    two strata apart, so the draw leaves no large gap.

    Args:
        population: number of items to draw from, >= n.
        n: number of items to draw, >= 1.
        seed: int, ``numpy.random.Generator`` or None.

    Returns:
        ``(n,)`` int array of distinct indices, increasing.
    """
    population = _check_count(population, "population")
    n = _check_count(n, "n")
    if n > population:
        raise ValueError(f"n must be at most population ({population}), got {n}")
    edges = (np.arange(n + 1) * population) // n
    return edges[:-1] + _rng(seed).integers(0, np.diff(edges))


# ---------------------------------------------------------------- validation


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _scalar(value: object, arg: str) -> float:
    if not _is_real(value):
        raise TypeError(f"{arg} must be a real number, got {value!r}")
    return float(value)


def _bounds(values: object, arg: str, d: int) -> np.ndarray:
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{arg} must be a sequence of real numbers, got {values!r}")
    try:
        arr = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{arg} must be a sequence of real numbers, got {values!r}") from None
    if arr.ndim != 1:
        raise ValueError(f"{arg} must be a 1-D sequence of {d} numbers, got shape {arr.shape}")
    if arr.shape[0] != d:
        raise ValueError(f"{arg} must have one entry per name ({d}), got {arr.shape[0]}")
    return arr


def _check_count(n: object, arg: str) -> int:
    if not isinstance(n, numbers.Integral) or isinstance(n, (bool, np.bool_)):
        raise TypeError(f"{arg} must be a positive int, got {n!r}")
    if n <= 0:
        raise ValueError(f"{arg} must be a positive int, got {n}")
    return int(n)


def _grid_counts(n: object, axis_names: list[str]) -> list[int]:
    if isinstance(n, Sequence) and not isinstance(n, str):
        if len(n) != len(axis_names):
            raise ValueError(
                f"n must be an int or {len(axis_names)} ints (one per axis {axis_names}), got {n!r}"
            )
        return [_check_count(c, "n") for c in n]
    return [_check_count(n, "n")] * len(axis_names)


def _check_method(method: object, methods: tuple[str, ...]) -> None:
    if method not in methods:
        raise ValueError(f"method must be one of {list(methods)}, got {method!r}")


def _rng(seed: object) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, numbers.Integral) and not isinstance(seed, (bool, np.bool_)) and seed >= 0:
        return np.random.default_rng(int(seed))
    raise TypeError(
        f"seed must be None, a non-negative int or a numpy.random.Generator, got {seed!r}"
    )
