"""A :class:`~pinn.loss.Loss` compiled into one value-and-gradient function of a flat vector.

The compiled function takes the flat float64 vector of the variables *and the loss's point sets*
as inputs, so new points of the same shapes (resampling) never trigger a new trace, and a point set
too large for one evaluation can be split into chunks whose sums, counts and gradients are added
(:class:`CompiledObjective` with ``chunk_size``): the result equals the unchunked one to round-off.
Every optimizer (Adam and the SciPy methods) calls the same compiled function.
"""

from __future__ import annotations

import math
import time
from typing import Any, Mapping, NamedTuple, Sequence

import numpy as np
import tensorflow as tf

from pinn.flat import FlatLayout
from pinn.loss import Loss, LossFn, as_loss, check_loss_fn, split_loss_output  # noqa: F401 (re-exported)
from pinn.validation import as_points, check_int

__all__ = ["CompiledObjective", "Evaluation", "LossFn", "check_loss_fn", "split_loss_output"]


class Evaluation(NamedTuple):
    """One evaluation of a :class:`CompiledObjective` at a flat vector.

    Attributes:
        fun: the loss (float).
        jac: its gradient, float64 of shape (n,).
        terms: the named loss terms (``sum / count`` of each term, or a loss function's named
            values), floats.
        coefficients: the loss's reported coefficients (e.g. trainable PDE coefficients), floats.
    """

    fun: float
    jac: np.ndarray
    terms: dict[str, float]
    coefficients: dict[str, float]


def _as_float64(values: Mapping[str, Any]) -> dict[str, tf.Tensor]:
    return {str(k): tf.cast(tf.convert_to_tensor(v), tf.float64) for k, v in values.items()}


class CompiledObjective:
    """``x (float64, (n,)) -> Evaluation(fun, jac (n,), terms, coefficients)`` for a loss.

    The call assigns ``x`` to the variables (cast to their dtype), evaluates the loss's terms at
    its point sets under a gradient tape and returns the loss and the flat gradient as float64.
    The work is one ``tf.function`` whose inputs are the flat vector, the point sets and a per-term
    scale vector; it is traced once and never again (``trace_count``), also when the points are
    replaced by :meth:`set_points`. Calls go straight to its concrete function, which skips
    ``tf.function``'s argument binding (about 0.1 ms per call).

    Args:
        loss: a :class:`~pinn.loss.Loss` (e.g. a :class:`~pinn.problem.Problem`), or a function of
            no arguments returning a scalar tensor or ``(scalar, {name: scalar})``, given with
            ``variables``.
        variables: the variables of a loss function (not with a Loss).
        jit_compile: compile with XLA.
        allow_unused: if False (default), a variable the loss does not depend on is an error
            (it is almost always a mistake, e.g. a coefficient never used in the residual); if True,
            its gradient is zero and the optimizer leaves it where it is.
        chunk_size: evaluate the loss's ``chunkable`` point sets in chunks of at most this many
            rows (None: all at once). Sums, counts and gradients of the chunks are added, so the
            loss and gradient equal the unchunked ones to round-off while memory holds one chunk.
            Each chunkable set of R rows is cut into k = ceil(R_max / chunk_size) equal pieces
            of R // k rows, which a loop inside the compiled function evaluates one after the
            other; the R - k (R // k) rows left over (fewer than k) are evaluated once, with the
            other point sets whole. Besides memory, chunks that fit the processor's cache make
            an evaluation faster on one CPU thread (benchmarks/README.md, "Points-last Taylor jets
            and chunks in a loop"). A term must depend on the chunkable sets or not at all.
        strategy: a ``tf.distribute`` strategy (MirroredStrategy, MultiWorkerMirroredStrategy...):
            data parallelism. The chunkable point sets are split into one piece per replica (per
            replica and chunk with ``chunk_size``), each replica evaluates its pieces' sums,
            counts and gradient, and these are all-reduced, so the loss and gradient equal the
            single-device ones to round-off, also for uneven pieces. Every worker evaluates at the
            chief's flat vector. The variables need not be created under ``strategy.scope()``.

    Attributes:
        loss: the :class:`~pinn.loss.Loss`.
        layout: the :class:`~pinn.flat.FlatLayout` of its variables.
        term_names: the loss terms' names (known after the first call).
        trace_count: how many times the function was traced (1 after the first call).
        nfev: number of evaluations so far.
        eval_time: seconds spent inside evaluations so far (for overhead measurements).
    """

    def __init__(
        self,
        loss: Loss | LossFn,
        variables: Sequence[Any] | None = None,
        jit_compile: bool = False,
        allow_unused: bool = False,
        *,
        chunk_size: int | None = None,
        strategy: Any = None,
    ) -> None:
        self.loss = as_loss(loss, variables)
        self.layout = FlatLayout(self.loss.variables)
        self.allow_unused = bool(allow_unused)
        self.jit_compile = bool(jit_compile)
        if chunk_size is not None:
            check_int(chunk_size, "chunk_size", minimum=1, meaning="rows per chunk")
        self.chunk_size = chunk_size
        self.trace_count = 0
        self.nfev = 0
        self.eval_time = 0.0
        self.term_names: list[str] = []
        self.dtype = tf.as_dtype(self.loss.dtype) if self.loss.dtype is not None else self.layout.dtype
        self.points: dict[str, np.ndarray] = {}
        for name, values in dict(self.loss.point_sets()).items():
            self.points[str(name)] = as_points(values, f"point set {name!r}")
        unknown = sorted(set(self.loss.chunkable) - set(self.points))
        if unknown:
            raise ValueError(f"chunkable names point sets {unknown} that the loss does not have")
        self.strategy = strategy
        self.replicas = int(strategy.num_replicas_in_sync) if strategy is not None else 1
        if strategy is not None and not self.loss.chunkable:
            raise ValueError(f"a strategy shards the loss's chunkable point sets, and "
                             f"{type(self.loss).__name__} has none")
        largest = max([self.points[name].shape[0] for name in self.loss.chunkable], default=0)
        per_piece = chunk_size if chunk_size is not None else largest
        self._pieces = self.replicas * max(1, math.ceil(largest / (self.replicas * max(per_piece, 1))))
        self._chunked = self._pieces > 1 or strategy is not None
        self._looped = self._chunked and strategy is None  # chunks in a loop inside the function
        rows = [None if self._chunked else p.shape[0] for p in self.points.values()]
        point_spec = {
            name: tf.TensorSpec([n, p.shape[1]], self.dtype)
            for (name, p), n in zip(self.points.items(), rows)
        }
        flat_spec, scale_spec = tf.TensorSpec([self.layout.size], tf.float64), tf.TensorSpec([None], tf.float64)
        self._inputs: list[Any] = []
        self._make_inputs()
        if self._looped:  # the (stacked, rest) shapes are those _make_inputs cut (set_points keeps them)
            stacked_spec, rest_spec = tf.nest.map_structure(tf.TensorSpec.from_tensor, self._inputs[0])
            self._function = tf.function(
                self._chunk_loop, input_signature=[flat_spec, stacked_spec, rest_spec] + [scale_spec] * 3,
                jit_compile=self.jit_compile, autograph=False)
            self._count_terms = tf.function(  # the plan's term counts (shapes only; not compiled)
                lambda flat, points: self._terms_and_gradient(points, self._no_scale)[3], autograph=False)
        else:
            self._function = tf.function(
                self._value_and_gradient, input_signature=[flat_spec, point_spec, scale_spec],
                jit_compile=self.jit_compile, autograph=False)
        if strategy is not None:  # XLA inside each replica; the reductions outside it
            replica = tf.function(self._replica, jit_compile=True) if self.jit_compile else self._replica
            self._distributed = tf.function(
                lambda flat, points, scale, mask, chief: self._distributed_step(
                    replica, flat, points, scale, mask, chief),
                autograph=False, reduce_retracing=True)
        self._concrete = None
        self._no_scale = tf.zeros([0], tf.float64)
        self._scales: list[tf.Tensor] | None = None  # per chunk: the terms' scales
        self._masks: list[np.ndarray] = []  # per chunk: which terms' sums count there
        self._counts: np.ndarray | None = None

    # -- points ---------------------------------------------------------------------------------
    def set_points(self, name: str, values: Any) -> None:
        """Replace point set ``name`` by new points of the same shape (no new trace)."""
        if name not in self.points:
            raise KeyError(f"no point set {name!r}; point sets are {sorted(self.points)}")
        values = as_points(values, f"point set {name!r}")
        if values.shape != self.points[name].shape:
            raise ValueError(
                f"new points for {name!r} must have the shape {self.points[name].shape} of the "
                f"old ones, got {values.shape}"
            )
        self.points[name] = values
        self._make_inputs()

    def _make_inputs(self) -> None:
        """The point tensors of each chunk (one chunk when not chunked). Chunks in a loop: one
        ``(stacked, rest)`` pair, ``stacked[name]`` the (k, R // k, d) equal pieces of each
        chunkable set, ``rest`` its rows left over and every other set whole. With a strategy:
        chunk i holds row piece i of every chunkable set (the pieces differ in size by at most one
        row) and the whole of every other set, and goes to replica i mod R."""
        tensors = {k: tf.constant(v, self.dtype) for k, v in self.points.items()}
        if not self._chunked:
            self._inputs = [tensors]
            return
        self._empty_chunk = {k: t[:0] if k in self.loss.chunkable else t for k, t in tensors.items()}
        if self._looped:  # k equal pieces of each chunkable set, stacked, and the rest
            k = self._pieces
            stacked, rest = {}, {}
            for name, values in self.points.items():
                if name in self.loss.chunkable:
                    c = values.shape[0] // k
                    stacked[name] = tf.constant(values[:k * c].reshape(k, c, values.shape[1]), self.dtype)
                    rest[name] = tf.constant(values[k * c:], self.dtype)
                else:
                    rest[name] = tensors[name]
            self._inputs = [(stacked, rest)]
            return

        def piece(name: str, tensor: tf.Tensor, i: int) -> tf.Tensor:
            if name not in self.loss.chunkable:
                return tensor
            bounds = np.linspace(0, self.points[name].shape[0], self._pieces + 1).round().astype(int)
            return tensor[bounds[i]:bounds[i + 1]]

        self._inputs = [{k: piece(k, t, i) for k, t in tensors.items()} for i in range(self._pieces)]
        self._distributed_inputs = None

    def _plan_chunks(self, flat: tf.Tensor) -> None:
        """Find, once, which terms depend on the chunked sets (their count is 0 when those sets
        are empty) and the total counts, and so each chunk's per-term scale: 1 / total count for
        terms over chunked sets, and for the other terms 1 / count in the first chunk only.
        Chunks in a loop: the counts of the rest, of the other sets alone and of one piece (three
        calls of an uncompiled function) give the total counts; the rest's terms are weighted by
        1 / total count, and in the loop the terms over the chunked sets too, the others by 0."""
        if self._looped:  # counts of the rest, of the chunkable sets alone, of one piece
            stacked, rest = self._inputs[0]
            rest_counts = self._count_terms(flat, rest).numpy()
            alone = self._count_terms(flat, self._empty_chunk).numpy()
            piece = self._count_terms(flat, dict(self._empty_chunk, **{k: t[0] for k, t in stacked.items()}))
            chunked = alone == 0
            self._counts = rest_counts + self._pieces * chunked * piece.numpy()
            inverse = np.divide(1.0, self._counts, out=np.zeros_like(self._counts), where=self._counts != 0)
            self._masks = [np.ones_like(chunked)]
            self._scales = [tuple(tf.constant(v, tf.float64) for v in (inverse, chunked * inverse, chunked))]
            return
        alone = self._call_chunk(flat, self._empty_chunk, self._no_scale)[3].numpy()
        counts = [self._call_chunk(flat, chunk, self._no_scale)[3].numpy() for chunk in self._inputs]
        chunked = alone == 0
        self._masks = [chunked | (i == 0) for i in range(len(counts))]
        self._counts = sum(m * c for m, c in zip(self._masks, counts))
        inverse = np.divide(1.0, self._counts, out=np.zeros_like(self._counts), where=self._counts != 0)
        self._scales = [tf.constant(m * inverse, tf.float64) for m in self._masks]
        if self.strategy is not None:
            self._distribute_inputs()

    # -- data parallelism -----------------------------------------------------------------------
    def _distribute_inputs(self) -> None:
        """Per-replica values of each round's pieces, scales, masks, and the chief's 1/0 flag."""
        strategy, replicas = self.strategy, self.replicas
        self._distributed_inputs = []
        for start in range(0, len(self._inputs), replicas):
            def value(context, start=start):
                i = start + context.replica_id_in_sync_group
                return (self._inputs[i], self._scales[i],
                        tf.constant(self._masks[i].astype(np.float64)),
                        tf.constant(1.0 if i == 0 else 0.0, tf.float64))
            self._distributed_inputs.append(
                strategy.experimental_distribute_values_from_function(value))

    def _distributed_step(self, replica, flat, points, scale, mask, chief):
        """One data-parallel evaluation: the chief's flat vector goes to every worker (a sum in
        which only the chief's copy is non-zero), each replica evaluates its piece, and the
        sums, counts and gradients are all-reduced."""
        ReduceOp = tf.distribute.ReduceOp
        strategy = self.strategy
        flat = strategy.reduce(ReduceOp.SUM, strategy.run(lambda c: flat * c, args=(chief,)), axis=None)
        self.layout.assign(flat)
        total, gradient, sums, counts, named, coefficients = strategy.run(
            replica, args=(points, scale, mask))
        reduce = lambda v: strategy.reduce(ReduceOp.SUM, v, axis=None)  # noqa: E731
        first = lambda v: strategy.experimental_local_results(v)[0]  # noqa: E731
        return (reduce(total), reduce(gradient), reduce(sums), reduce(counts),
                {k: first(v) for k, v in named.items()}, {k: first(v) for k, v in coefficients.items()})

    def _replica(self, points, scale, mask):
        """One replica's piece: its weighted total, gradient, and masked sums and counts."""
        total, gradient, sums, counts, named, coefficients = self._terms_and_gradient(points, scale)
        return total, gradient, sums * mask, counts * mask, named, coefficients

    @property
    def num_chunks(self) -> int:
        """How many chunks make one evaluation (1 when not chunked): with chunks in a loop, the
        number of equal pieces (the few rows left over go with the other point sets)."""
        return self._pieces if self._looped else len(self._inputs)

    # -- the compiled function ------------------------------------------------------------------
    def _value_and_gradient(self, flat: tf.Tensor, points: dict[str, tf.Tensor], scale: tf.Tensor):
        """(sum_k w_k S_k, its flat gradient, S (K,), C (K,), named values, coefficients), where
        w = ``scale`` if given, else 1 / C."""
        self.trace_count += 1
        self.layout.assign(flat)
        return self._terms_and_gradient(points, scale)

    def _chunk_loop(self, flat: tf.Tensor, stacked: dict[str, tf.Tensor], rest: dict[str, tf.Tensor],
                    scale: tf.Tensor, loop_scale: tf.Tensor, loop_mask: tf.Tensor):
        """:meth:`_value_and_gradient` summed over the rest (the rows left over and the other
        point sets, weighted by ``scale``) and, in a loop, over the k equal pieces of the chunkable
        sets (with the other sets whole, whose terms ``loop_scale`` and ``loop_mask`` zero);
        sums, counts and gradients added."""
        self.trace_count += 1
        self.layout.assign(flat)
        total, gradient, sums, counts, named, coefficients = self._terms_and_gradient(rest, scale)
        others = {name: t for name, t in rest.items() if name not in stacked}
        pieces = next(iter(stacked.values())).shape[0]

        def body(i, total, gradient, sums, counts):
            points = dict(others, **{name: t[i] for name, t in stacked.items()})
            t, g, s, c = self._terms_and_gradient(points, loop_scale)[:4]
            return i + 1, total + t, gradient + g, sums + s * loop_mask, counts + c * loop_mask

        _, total, gradient, sums, counts = tf.while_loop(
            lambda i, *_: i < pieces, body, (tf.constant(0), total, gradient, sums, counts))
        return total, gradient, sums, counts, named, coefficients

    def _terms_and_gradient(self, points: dict[str, tf.Tensor], scale: tf.Tensor):
        """The body of :meth:`_value_and_gradient` at the variables' current values."""
        variables = self.layout.variables
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(variables)
            terms = _check_terms(self.loss.terms(points), type(self.loss).__name__)
            sums = tf.stack([tf.cast(t.sum, self.layout.dtype) for t in terms.values()])
            counts = tf.stack([tf.cast(t.count, tf.float64) for t in terms.values()])
            weights = tf.cond(
                tf.size(scale) > 0, lambda: scale, lambda: tf.math.divide_no_nan(1.0, counts)
            )
            total = tf.reduce_sum(tf.stop_gradient(tf.cast(weights, self.layout.dtype)) * sums)
        self.term_names = list(terms)
        gradients = tape.gradient(total, variables)
        unused = [v.name for v, g in zip(variables, gradients) if g is None]
        if unused and not self.allow_unused:
            raise ValueError(
                f"the loss does not depend on variables {unused}; remove them from `variables` "
                "or pass allow_unused=True to keep them fixed with a zero gradient"
            )
        gradients = [tf.zeros_like(v) if g is None else g for v, g in zip(variables, gradients)]
        named = self.loss.named_values()
        return (
            tf.cast(total, tf.float64),
            tf.cast(self.layout.pack(gradients), tf.float64),
            tf.cast(sums, tf.float64),
            counts,
            _as_float64(named) if named is not None else {},
            _as_float64(self.loss.coefficients()),
        )

    def _call_chunk(self, x: tf.Tensor, points: Any, scale: tf.Tensor):
        if self._concrete is None:
            self._concrete = self._function.get_concrete_function()
        if self._looped:
            return self._concrete(x, *points, *scale)
        return self._concrete(x, points, scale)

    def __call__(self, x: np.ndarray) -> Evaluation:
        """Evaluate at the flat float64 vector ``x`` of shape (n,)."""
        start = time.perf_counter()
        flat = tf.constant(x, dtype=tf.float64)
        if not self._chunked:
            total, gradient, sums, counts, named, coefficients = self._call_chunk(
                flat, self._inputs[0], self._no_scale)
            fun, jac = float(total), gradient.numpy()
            sums, counts = sums.numpy(), counts.numpy()
        else:
            if self._scales is None:
                self._plan_chunks(flat)
            fun, jac, sums, counts = 0.0, 0.0, 0.0, 0.0
            if self.strategy is not None:
                if self._distributed_inputs is None:  # new points
                    self._distribute_inputs()
                rounds = [(self._distributed(flat, *inputs), 1.0) for inputs in self._distributed_inputs]
            else:
                rounds = [(self._call_chunk(flat, chunk, scale), mask)
                          for chunk, scale, mask in zip(self._inputs, self._scales, self._masks)]
            for (total, gradient, s, c, named, coefficients), mask in rounds:
                fun, jac = fun + float(total), jac + gradient.numpy()
                sums, counts = sums + mask * s.numpy(), counts + mask * c.numpy()
            if not np.array_equal(counts, self._counts):
                raise ValueError("the loss's term counts changed between evaluations; a Term's "
                                 "count must depend only on the shapes of the points")
        if named:
            terms = {k: float(v) for k, v in named.items()}
        else:
            terms = {name: float(s / c) if c else 0.0
                     for name, s, c in zip(self.term_names, sums, counts)}
        result = Evaluation(fun, jac, terms, {k: float(v) for k, v in coefficients.items()})
        self.nfev += 1
        self.eval_time += time.perf_counter() - start
        return result


def _check_terms(terms: Any, owner: str) -> dict[str, Any]:
    from pinn.loss import Term

    if not isinstance(terms, Mapping) or not terms:
        raise TypeError(
            f"{owner}.terms(points) must return a non-empty dict {{name: pinn.Term(sum, count)}}, "
            f"got {type(terms).__name__}"
        )
    for name, term in terms.items():
        if not isinstance(term, Term):
            raise TypeError(
                f"{owner}.terms(points)[{name!r}] must be a pinn.Term(sum, count), "
                f"got {type(term).__name__}"
            )
        if tf.convert_to_tensor(term.sum).shape.rank != 0:
            raise ValueError(f"term {name!r}: sum must be a scalar, got shape "
                             f"{tuple(tf.convert_to_tensor(term.sum).shape)}")
    return dict(terms)
