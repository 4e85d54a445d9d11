"""Input derivatives of an MLP by forward-mode (Taylor) propagation through its layers.

:class:`TaylorDerivatives` reads like :class:`pinn.Derivatives` (``d["u_xx"]``, ``d.u_t``, ``d.x``,
``d.block("x", "x")``, ``d.outputs``...), but instead of differentiating the network's output
backwards on a persistent tape it carries, through every layer, the partial derivatives of that
layer's values with respect to the input coordinates (a truncated multivariate Taylor expansion, or
"jet"). For a multi-index ``a`` (the coordinates differentiated along, e.g. ``(x, x)``):

* dense layer ``z = h W + b``: ``z_a = h_a W`` (the bias only enters ``z``);
* activation ``h = s(z)`` (elementwise): Faa di Bruno's formula
  ``h_a = sum over set partitions P of a: s^(|P|)(z) * prod_{B in P} z_B``, e.g.
  ``h_x = s'(z) z_x``, ``h_xt = s'(z) z_xt + s''(z) z_x z_t``,
  ``h_xxx = s'(z) z_xxx + 3 s''(z) z_x z_xx + s'''(z) z_x^3``;
* the input scaling of :func:`pinn.mlp` (``2 (x - lower) / (upper - lower) - 1``) multiplies a
  derivative along ``x_j`` by ``2 / (upper_j - lower_j)``; the first layer's first derivatives are
  rows of the kernel (no per-point work) and its higher ones are zero.

Inside, each jet entry is stored points-last, as a (width, N) tensor, and a layer computes
``z_a = W^T h_a``: the products then run along the long points axis, which measured up to 1.3
times faster per evaluation than (N, width) ``h_a W`` on an Intel Xeon (Burgers' narrow network;
the wide ones within the noise: benchmarks/README.md, "Points-last Taylor jets and chunks in a
loop"); what a reader gets is (N, 1) as before.

Only the multi-indices asked for, and the ones they are made of, are propagated: all of them in one
pass through the layers. A derivative
asked for later is propagated then (with what is missing under it) and cached, so any order and
any mixture works, e.g. ``u_xxx`` (KdV) or ``u_xy``. Everything is ordinary TensorFlow ops, so an
outer gradient tape gets the gradient of a loss built from these derivatives with respect to the
weights, as with the tape path.

Supported networks: what :func:`pinn.mlp` builds, i.e. a Keras model that is a chain of an optional
:class:`~pinn.networks.UnitBoxScaling` layer and ``Dense`` layers (also a ``keras.Sequential`` of
these), with activations tanh, sigmoid, sin, cos, exp (``"exponential"``), softplus, silu/swish or
linear, given by Keras name or as the TensorFlow/Keras function. :func:`taylor_unsupported_reason`
says why another network is not supported (such networks keep the tape path, which works for any
Keras model); :class:`pinn.Problem` chooses with its ``derivatives`` argument.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple, Sequence

import keras
import numpy as np
import tensorflow as tf

from pinn.derivatives import DerivativeReader, parse_derivative
from pinn.flat import as_tf_variable
from pinn.networks import UnitBoxScaling

__all__ = ["TaylorDerivatives", "MLPStructure", "mlp_structure", "taylor_unsupported_reason",
           "choose_derivatives", "check_derivative_path", "DERIVATIVE_PATHS",
           "TAYLOR_ACTIVATIONS"]

#: Activations whose derivatives of every order the Taylor path computes, by the names used here.
TAYLOR_ACTIVATIONS = ("tanh", "sigmoid", "sin", "cos", "exp", "softplus", "silu", "linear")

#: The values of a problem's ``derivatives`` argument (see :func:`choose_derivatives`).
DERIVATIVE_PATHS = ("auto", "taylor", "tape")


# -- activations -----------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _activation_table() -> dict[int, str]:
    """``id(function) -> name`` for the activation functions recognised (Keras and TF spellings)."""
    table: dict[Any, str] = {}
    candidates = {
        "tanh": ["keras.activations.tanh", "keras.ops.tanh", "tf.math.tanh", "tf.nn.tanh"],
        "sigmoid": ["keras.activations.sigmoid", "keras.ops.sigmoid", "tf.math.sigmoid", "tf.nn.sigmoid"],
        "sin": ["keras.ops.sin", "tf.math.sin"],
        "cos": ["keras.ops.cos", "tf.math.cos"],
        "exp": ["keras.activations.exponential", "keras.ops.exp", "tf.math.exp"],
        "softplus": ["keras.activations.softplus", "keras.ops.softplus", "tf.math.softplus", "tf.nn.softplus"],
        "silu": ["keras.activations.silu", "keras.ops.silu", "tf.nn.silu", "tf.nn.swish"],
        "linear": ["keras.activations.linear"],
    }
    roots = {"keras": keras, "tf": tf}
    for name, paths in candidates.items():
        for path in paths:
            obj: Any = roots[path.split(".")[0]]
            for part in path.split(".")[1:]:
                obj = getattr(obj, part, None)
                if obj is None:
                    break
            if obj is not None:
                table[id(obj)] = name
    return table


def _activation_name(function: Any) -> str | None:
    if function is None:
        return "linear"
    return _activation_table().get(id(function))


def _poly_derivatives(p0: np.ndarray, dp: np.ndarray, order: int) -> list[np.ndarray]:
    """Coefficients (NumPy polynomial, lowest first) of ``s^(n)`` as polynomials in ``s`` for
    ``n = 0..order``, where ``ds/dz = dp(s)``: ``P_{n+1} = P_n'(s) * dp(s)``."""
    polys = [p0]
    for _ in range(order):
        polys.append(np.polynomial.polynomial.polymul(np.polynomial.polynomial.polyder(polys[-1]), dp))
    return polys


def _sigmoid_like(s: tf.Tensor, order: int, dp: np.ndarray) -> list[tf.Tensor | None]:
    polys = _poly_derivatives(np.array([0.0, 1.0]), dp, order)
    return [s] + [_polyval(p, s) for p in polys[1:]]


def _polyval(coefficients: np.ndarray, s: tf.Tensor) -> tf.Tensor | None:
    """``sum_i c_i s^i`` by Horner's rule (None when every coefficient is zero)."""
    c = np.trim_zeros(np.asarray(coefficients, dtype=np.float64), "b")
    if c.size == 0:
        return None
    if c.size == 1:
        return tf.fill(tf.shape(s), tf.constant(c[0], s.dtype))
    value = c[-1] * s
    for i in range(c.size - 2, -1, -1):
        if c[i]:
            value = value + c[i]
        if i > 0:
            value = value * s
    return value


def _activation_derivatives(name: str, z: tf.Tensor, order: int) -> list[Any]:
    """``[s(z), s'(z), ..., s^(order)(z)]`` for activation ``name``; an entry is a tensor shaped
    like ``z``, ``None`` for an identically zero derivative, or the Python float 1.0."""
    if name == "linear":
        return [z, 1.0] + [None] * (order - 1)
    if name == "tanh":
        t = tf.math.tanh(z)
        out: list[Any] = [t]
        if order >= 1:
            t2 = t * t
            s1 = 1.0 - t2
            out.append(s1)
            if order >= 2:
                out.append(-2.0 * t * s1)
            if order >= 3:
                out.append(s1 * (6.0 * t2 - 2.0))
            if order >= 4:
                polys = _poly_derivatives(np.array([0.0, 1.0]), np.array([1.0, 0.0, -1.0]), order)
                out += [_polyval(p, t) for p in polys[4:]]
        return out
    if name == "sigmoid":
        return _sigmoid_like(tf.math.sigmoid(z), order, np.array([0.0, 1.0, -1.0]))
    if name in ("sin", "cos"):
        s, c = tf.math.sin(z), tf.math.cos(z)
        cycle = [s, c, -s, -c] if name == "sin" else [c, -s, -c, s]
        return [cycle[n % 4] for n in range(order + 1)]
    if name == "exp":
        e = tf.math.exp(z)
        return [e] * (order + 1)
    if name == "softplus":
        sig = _sigmoid_like(tf.math.sigmoid(z), max(order - 1, 0), np.array([0.0, 1.0, -1.0]))
        return [tf.math.softplus(z)] + sig[:order]
    if name == "silu":
        sig = _sigmoid_like(tf.math.sigmoid(z), order, np.array([0.0, 1.0, -1.0]))
        return [z * sig[0]] + [z * sig[n] + n * sig[n - 1] for n in range(1, order + 1)]
    raise ValueError(f"no Taylor rule for activation {name!r}")  # guarded by mlp_structure


# -- Faa di Bruno -----------------------------------------------------------------------------------
def _set_partitions(items: tuple[int, ...]) -> list[list[tuple[int, ...]]]:
    if not items:
        return [[]]
    first, rest = items[0], items[1:]
    partitions = []
    for partition in _set_partitions(rest):
        partitions.append([(first,)] + partition)
        for i in range(len(partition)):
            partitions.append(partition[:i] + [(first,) + partition[i]] + partition[i + 1:])
    return partitions


@functools.lru_cache(maxsize=None)
def _faa_di_bruno(orders: tuple[int, ...]) -> tuple[tuple[int, tuple[tuple[tuple[int, ...], ...], int], ...], ...]:
    """Terms of ``d^orders s(z)``: per number of blocks k (ascending), ``(k, ((blocks, count), ...))``
    where ``blocks`` are the multi-indices of the z-derivatives multiplied together."""
    grouped: dict[int, dict[tuple, int]] = {}
    for partition in _set_partitions(tuple(range(len(orders)))):
        blocks = tuple(sorted(tuple(sorted(orders[p] for p in block)) for block in partition))
        terms = grouped.setdefault(len(partition), {})
        terms[blocks] = terms.get(blocks, 0) + 1
    return tuple((k, tuple(sorted(grouped[k].items()))) for k in sorted(grouped))


def _closure(orders: tuple[int, ...]) -> set[tuple[int, ...]]:
    """``orders`` and every non-empty sub-multiset of it (what its Faa di Bruno terms use), and ()."""
    found = {()}
    m = len(orders)
    for mask in range(1, 1 << m):
        found.add(tuple(sorted(orders[i] for i in range(m) if mask >> i & 1)))
    return found


# -- the network's structure ------------------------------------------------------------------------
class MLPStructure(NamedTuple):
    """What the Taylor path needs of an MLP.

    Attributes:
        inputs: number of input coordinates d.
        lower, upper: the input bounds of its :class:`~pinn.networks.UnitBoxScaling` layer (d floats
            each), or None without one.
        layers: the Dense layers in order, as ``(layer, activation name)``.
    """

    inputs: int
    lower: tuple[float, ...] | None
    upper: tuple[float, ...] | None
    layers: tuple[tuple[Any, str], ...]


def mlp_structure(network: Any) -> MLPStructure:
    """The structure of ``network`` if the Taylor path supports it, else an error saying why.

    Supported: a built ``keras.Model`` (functional, as :func:`pinn.mlp` makes, or ``Sequential``)
    whose layers are, in order, an optional input layer, an optional
    :class:`~pinn.networks.UnitBoxScaling` and one or more ``Dense`` layers chained one into the
    next, each with an activation in :data:`TAYLOR_ACTIVATIONS`.

    Raises:
        TypeError: ``network`` is not such a model; the message names what is not supported.
    """
    if not isinstance(network, keras.Model):
        raise TypeError(f"the Taylor path needs a Keras MLP built by pinn.mlp, got a "
                        f"{type(network).__name__}; use derivatives='tape' for other networks")
    if isinstance(network, keras.Sequential):
        layers = list(network.layers)
    elif type(network) is keras.Model or type(network).__name__ == "Functional":
        layers = [layer for layer in network.layers if not isinstance(layer, keras.layers.InputLayer)]
        if len(network.inputs) != 1 or len(network.outputs) != 1:
            raise TypeError(f"the Taylor path needs a model with one input and one output, "
                            f"{network.name!r} has {len(network.inputs)} and {len(network.outputs)}")
        # a chain: each layer's one input is the previous layer's output
        previous = network.inputs[0]
        for layer in layers:
            nodes = getattr(layer, "_inbound_nodes", [])
            if len(nodes) != 1 or len(nodes[0].input_tensors) != 1 or nodes[0].input_tensors[0] is not previous:
                raise TypeError(f"the Taylor path needs a chain of layers (as pinn.mlp builds); layer "
                                f"{layer.name!r} of {network.name!r} is not fed by the layer before it")
            previous = nodes[0].output_tensors[0]
        if previous is not network.outputs[0]:
            raise TypeError(f"the Taylor path needs a chain of layers ending at the model's output; "
                            f"{network.name!r} ends elsewhere")
    else:
        raise TypeError(f"the Taylor path needs a Keras MLP built by pinn.mlp (a functional chain or "
                        f"Sequential of Dense layers); {type(network).__name__} is a subclassed model, "
                        "whose call the Taylor path cannot read: use derivatives='tape'")
    lower = upper = None
    if layers and isinstance(layers[0], UnitBoxScaling):
        lower, upper = tuple(layers[0].lower), tuple(layers[0].upper)
        layers = layers[1:]
    dense = []
    for layer in layers:
        if type(layer) is not keras.layers.Dense:
            raise TypeError(f"the Taylor path supports Dense layers (after an optional UnitBoxScaling); "
                            f"layer {layer.name!r} is a {type(layer).__name__}: use derivatives='tape'")
        if getattr(layer, "quantization_mode", None) or getattr(layer, "lora_enabled", False):
            raise TypeError(f"the Taylor path does not support quantized or LoRA Dense layers "
                            f"({layer.name!r}): use derivatives='tape'")
        name = _activation_name(layer.activation)
        if name is None:
            shown = getattr(layer.activation, "__name__", repr(layer.activation))
            raise TypeError(f"the Taylor path has no derivative rule for activation {shown!r} of "
                            f"layer {layer.name!r}; supported: {', '.join(TAYLOR_ACTIVATIONS)}: use "
                            "derivatives='tape'")
        if not layer.built:
            raise TypeError(f"layer {layer.name!r} is not built yet; call the network once first")
        dense.append((layer, name))
    if not dense:
        raise TypeError(f"the Taylor path needs at least one Dense layer; {network.name!r} has none")
    inputs = int(dense[0][0].kernel.shape[0])
    if lower is not None and len(lower) != inputs:
        raise TypeError(f"the scaling layer of {network.name!r} has {len(lower)} bounds for {inputs} inputs")
    for (a, _), (b, _) in zip(dense, dense[1:]):
        if int(a.kernel.shape[1]) != int(b.kernel.shape[0]):
            raise TypeError(f"layers {a.name!r} and {b.name!r} of {network.name!r} do not chain")
    return MLPStructure(inputs, lower, upper, tuple(dense))


def taylor_unsupported_reason(network: Any) -> str | None:
    """None if the Taylor path supports ``network``, else the reason it does not (one sentence)."""
    try:
        mlp_structure(network)
    except TypeError as error:
        return str(error)
    return None


def check_derivative_path(choice: Any) -> str:
    """``choice`` if it is one of :data:`DERIVATIVE_PATHS`, else a ValueError naming the argument."""
    if not isinstance(choice, str) or choice not in DERIVATIVE_PATHS:
        raise ValueError(f"derivatives must be 'auto', 'taylor' or 'tape', got {choice!r}")
    return choice


def choose_derivatives(choice: str, network: Any, probe: Any, coordinates: Sequence[str],
                       fields: Sequence[str], dtype: Any) -> tuple[MLPStructure | None, str | None]:
    """Resolve a problem's ``derivatives`` argument to the Taylor path or the tape.

    ``"tape"``: the tape. ``"taylor"``: the Taylor path, an error if ``network`` is not supported.
    ``"auto"``: the Taylor path where supported, else the tape. Supported means that
    :func:`mlp_structure` reads the network and that propagating it reproduces the network's output
    on ``probe`` (rtol 1e-10 in float64, 1e-4 in float32).

    Args:
        choice: one of :data:`DERIVATIVE_PATHS`.
        network: the problem's network.
        probe: (n, d) points (a few) in the network's input coordinates.
        coordinates: the d input names; ``fields``: the network's output names.
        dtype: the problem's dtype.

    Returns:
        ``(structure, reason)``: the :class:`MLPStructure` for the Taylor path or None for the tape;
        with ``"auto"`` and the tape, why the network is not supported (else None).

    Raises:
        ValueError: ``choice`` is not one of :data:`DERIVATIVE_PATHS`.
        TypeError: ``"taylor"`` and the network is not supported (the message says why).
    """
    check_derivative_path(choice)
    if choice == "tape":
        return None, None
    dtype = tf.as_dtype(dtype)
    try:
        structure = mlp_structure(network)
        points = tf.constant(np.asarray(probe, dtype=np.float64), dtype)
        expected = np.asarray(network(points), dtype=np.float64)
        got = np.asarray(TaylorDerivatives(structure, points, coordinates, fields).outputs, dtype=np.float64)
        tolerance = 1e-10 if dtype == tf.float64 else 1e-4
        if not np.allclose(got, expected, rtol=tolerance, atol=tolerance * np.abs(expected).max()):
            raise TypeError("the Taylor path's forward pass does not reproduce the network's "
                            "output (its layers are not used as a plain chain)")
    except (TypeError, ValueError) as error:
        if choice == "taylor":
            raise TypeError(f"derivatives='taylor' cannot be used here: {error}") from None
        return None, str(error)
    return structure, None


# -- derivatives ------------------------------------------------------------------------------------
class TaylorDerivatives(DerivativeReader):
    """Network outputs and their coordinate derivatives at ``points``, by forward propagation.

    The same reading interface as :class:`pinn.Derivatives`: ``d["u_xx"]``, ``d.u_xx``,
    ``d.derivative("u", "x", "x")``, ``d["x"]`` / ``d.x`` (a coordinate column), ``d.block("x",
    "x")`` ((N, n_fields): that derivative of every field), ``d.outputs``, ``d.points``,
    ``d.coordinates``, ``d.fields``, ``d.computed``. Every value is an (N, 1) tensor in the units
    of the field divided by those of the coordinates.

    Args:
        network: an MLP the Taylor path supports (see :func:`mlp_structure`), mapping (N, d) to
            (N, n_fields); or its :class:`MLPStructure`.
        points: (N, d) tensor of coordinates, columns in the order of ``coordinates``.
        coordinates: the d coordinate names.
        fields: the n_fields output names, in the network's output order.
        declared: derivative names (``"u_xx"``) or ``(field, orders)`` keys to propagate at once,
            in one pass through the layers. A ``set`` given here is also *updated* with every key
            asked for later, so that an owner (:class:`pinn.Problem`) can learn, from a first
            evaluation, what to declare next time.

    Attributes:
        propagated: the multi-indices (tuples of coordinate indices) propagated so far.
        passes: the number of propagations through the layers (1 when everything was declared).

    Raises:
        TypeError: the network is not supported (the message says why).
        ValueError: ``points`` has the wrong number of columns.
    """

    def __init__(
        self,
        network: Any,
        points: tf.Tensor,
        coordinates: Sequence[str],
        fields: Sequence[str],
        declared: Any = None,
    ) -> None:
        self._structure = network if isinstance(network, MLPStructure) else mlp_structure(network)
        self._coordinates = tuple(coordinates)
        self._fields = tuple(fields)
        self._points = tf.convert_to_tensor(points)
        if self._points.shape.rank != 2 or self._points.shape[1] != len(self._coordinates):
            raise ValueError(f"points must have shape (N, {len(self._coordinates)}) for coordinates "
                             f"{list(self._coordinates)}, got {tuple(self._points.shape)}")
        if self._structure.inputs != len(self._coordinates):
            raise ValueError(f"the network takes {self._structure.inputs} inputs, but there are "
                             f"{len(self._coordinates)} coordinates {list(self._coordinates)}")
        n_out = int(self._structure.layers[-1][0].kernel.shape[1])
        if n_out != len(self._fields):
            raise ValueError(f"the network has {n_out} outputs, but there are {len(self._fields)} "
                             f"fields {list(self._fields)}")
        self._declared = declared if isinstance(declared, set) else None
        self._cache: dict[tuple, tf.Tensor] = {}
        self._outputs: dict[tuple[int, ...], tf.Tensor] = {}
        # per Dense layer: multi-index -> its activation's jet entry (N, width)
        self._jets: list[dict[tuple[int, ...], Any]] = [{} for _ in self._structure.layers]
        # per Dense layer: multi-index -> z jet entry, and the activation's derivatives s, s', ...
        self._zs: list[dict[tuple[int, ...], Any]] = [{} for _ in self._structure.layers]
        self._sigmas: dict[int, list[Any]] = {}
        self.passes = 0
        self._setup_input()
        wanted: set[tuple[int, ...]] = {()}
        for item in (declared or ()):
            key = self._key(item)
            wanted |= _closure(key[1])
        self._propagate(wanted)
        self.outputs = self._outputs[()]

    # -- reading --------------------------------------------------------------------------------
    @property
    def propagated(self) -> list[tuple[int, ...]]:
        """The multi-indices propagated so far, e.g. ``[(), (0,), (1,), (0, 0)]``."""
        return sorted(self._outputs, key=lambda k: (len(k), k))

    @property
    def computed(self) -> list[str]:
        """Names of the derivatives read so far (canonical spelling)."""
        return [self._name(key) for key in self._cache]

    def _name(self, key: tuple) -> str:
        field, orders = key
        return field if not orders else field + "_" + "".join(self._coordinates[i] for i in orders)

    def _key(self, item: Any) -> tuple:
        if isinstance(item, str):
            return tuple(parse_derivative(item, self._fields, self._coordinates))
        field, orders = item
        return field, tuple(sorted(orders))

    def coordinate(self, name: str) -> tf.Tensor:
        """The column of coordinate ``name``, shape (N, 1)."""
        if name not in self._coordinates:
            raise KeyError(f"unknown coordinate {name!r}; coordinates are {list(self._coordinates)}")
        i = self._coordinates.index(name)
        return self._points[:, i:i + 1]

    def derivative(self, field: str, *coordinates: str) -> tf.Tensor:
        """``d^k field / d coordinates...`` as (N, 1), e.g. ``derivative("u", "x", "x")``."""
        return self[field + ("_" + "".join(coordinates) if coordinates else "")]

    def block(self, *coordinates: str) -> tf.Tensor:
        """The derivative along ``coordinates`` of every field, as one (N, n_fields) tensor."""
        unknown = [c for c in coordinates if c not in self._coordinates]
        if unknown:
            raise KeyError(f"unknown coordinate(s) {unknown}; coordinates are {list(self._coordinates)}")
        orders = tuple(sorted(self._coordinates.index(c) for c in coordinates))
        for field in self._fields:
            self._note((field, orders))
        return self._output(orders)

    def __getitem__(self, name: str) -> tf.Tensor:
        if name in self._coordinates and name not in self._fields:
            return self.coordinate(name)
        key = tuple(parse_derivative(name, self._fields, self._coordinates))
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        field, orders = key
        k = self._fields.index(field)
        value = self._output(orders)[:, k:k + 1]
        self._cache[key] = value
        self._note(key)
        return value

    def _note(self, key: tuple) -> None:
        if self._declared is not None:
            self._declared.add(key)

    def _output(self, orders: tuple[int, ...]) -> tf.Tensor:
        if orders not in self._outputs:
            self._propagate(_closure(orders))
        return self._outputs[orders]

    # -- propagation ----------------------------------------------------------------------------
    def _setup_input(self) -> None:
        """The scaled input and the per-coordinate factor ``d(scaled x_j)/dx_j``."""
        s = self._structure
        dtype = self._points.dtype
        if s.lower is None:
            scaled = self._points
            self._factors = [1.0] * s.inputs
        else:
            lower = tf.constant(s.lower, dtype)
            upper = tf.constant(s.upper, dtype)
            scaled = 2.0 * (self._points - lower) / (upper - lower) - 1.0  # as UnitBoxScaling
            self._factors = [2.0 / (u - l) for l, u in zip(s.lower, s.upper)]
        self._scaled_columns = tf.transpose(scaled)  # (d, N): points along the last axis

    def _propagate(self, wanted: set[tuple[int, ...]]) -> None:
        """Propagate the multi-indices of ``wanted`` not yet propagated (``wanted`` is closed
        under taking sub-multisets) through all layers."""
        new = sorted((k for k in wanted if k not in self._outputs), key=lambda k: (len(k), k))
        if not new:
            return
        self.passes += 1
        order = max(len(k) for k in new)
        dtype = self._points.dtype
        for i, (layer, activation) in enumerate(self._structure.layers):
            kernel = tf.convert_to_tensor(as_tf_variable(layer.kernel))
            bias = None if layer.bias is None else tf.convert_to_tensor(as_tf_variable(layer.bias))
            z: dict[tuple[int, ...], Any] = {}
            if i == 0:
                # the inputs' jet: x_() = scaled points, x_(j) = factor_j e_j, higher ones zero;
                # so z_(j) is row j of the kernel times factor_j (a (width, 1) column, the same
                # at every point), and higher z's are zero
                for k in new:
                    if k == ():
                        z[k] = tf.matmul(kernel, self._scaled_columns, transpose_a=True)
                    elif len(k) == 1:
                        j = k[0]
                        z[k] = tf.constant(self._factors[j], dtype) * tf.reshape(kernel[j], (-1, 1))
                    else:
                        z[k] = None
            else:
                previous = self._jets[i - 1]
                # one product per multi-index: one product of the stacked jets measured slower
                # on our CPUs (the concatenation and the split copy every jet)
                for k in new:
                    if previous[k] is not None:
                        z[k] = tf.matmul(kernel, previous[k], transpose_a=True)
                for k in new:
                    z.setdefault(k, None)
            if () in z and bias is not None:
                z[()] = z[()] + tf.expand_dims(bias, 1)
            # z's of orders propagated before (needed by the new ones' Faa di Bruno terms)
            zs = self._zs[i]
            zs.update(z)
            jet = self._jets[i]
            if () in new:
                sigma = _activation_derivatives(activation, zs[()], order)
            else:
                sigma = self._sigma_cache(i, activation, zs[()], order)
            if len(sigma) > len(self._sigmas.get(i, [])):
                self._sigmas[i] = sigma
            for k in new:
                value = sigma[0] if k == () else self._faa(k, sigma, zs)
                if value is not None and value.shape[1] == 1 and zs[()].shape[1] != 1:
                    value = tf.broadcast_to(value, tf.shape(zs[()]))  # a column (linear activation)
                jet[k] = value
        last = self._jets[-1]
        for k in new:
            value = last[k]
            self._outputs[k] = tf.transpose(tf.zeros_like(last[()]) if value is None else value)

    def _faa(self, orders: tuple[int, ...], sigma: list[Any], zs: dict) -> Any:
        """``d^orders s(z)`` from s's derivatives and the z jet (Faa di Bruno); None when zero."""
        total = None
        for k, terms in _faa_di_bruno(orders):
            if sigma[k] is None:
                continue
            inner = None
            for blocks, count in terms:
                product = None
                for b in blocks:
                    factor = zs[b]
                    if factor is None:
                        product = None
                        break
                    product = factor if product is None else product * factor
                else:
                    if count != 1:
                        product = float(count) * product
                    inner = product if inner is None else inner + product
            if inner is None:
                continue
            term = inner if isinstance(sigma[k], float) else sigma[k] * inner
            total = term if total is None else total + term
        return total

    def _sigma_cache(self, i: int, activation: str, z0: tf.Tensor, order: int) -> list[Any]:
        """Layer i's activation derivatives up to ``order``: the cached ones if enough."""
        cached = self._sigmas.get(i, [])
        return cached if len(cached) > order else _activation_derivatives(activation, z0, order)
