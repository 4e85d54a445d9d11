"""Fully connected networks as Keras 3 models, with inputs scaled to [-1, 1] as in the PINN paper."""

from __future__ import annotations

from typing import Any, Sequence

import keras
import numpy as np

from pinn.validation import check_int

__all__ = ["mlp", "UnitBoxScaling"]


@keras.saving.register_keras_serializable(package="pinn")
class UnitBoxScaling(keras.layers.Layer):
    """Maps inputs from the box [lower, upper] to [-1, 1]: ``2 (x - lower) / (upper - lower) - 1``.

    Args:
        lower, upper: sequences of d bounds, ``lower < upper`` in each coordinate.
    """

    def __init__(self, lower: Sequence[float], upper: Sequence[float], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        lower_a = np.asarray(lower, dtype=np.float64).reshape(-1)
        upper_a = np.asarray(upper, dtype=np.float64).reshape(-1)
        if lower_a.shape != upper_a.shape:
            raise ValueError(f"lower and upper must have equal lengths, got {lower_a.shape} and {upper_a.shape}")
        if not np.all(lower_a < upper_a):
            raise ValueError(f"lower must be < upper in every coordinate, got lower={lower_a}, upper={upper_a}")
        self.lower = [float(v) for v in lower_a]
        self.upper = [float(v) for v in upper_a]

    def call(self, inputs):
        lower = keras.ops.convert_to_tensor(self.lower, dtype=inputs.dtype)
        upper = keras.ops.convert_to_tensor(self.upper, dtype=inputs.dtype)
        return 2.0 * (inputs - lower) / (upper - lower) - 1.0

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "lower": self.lower, "upper": self.upper}


def mlp(
    inputs: int,
    outputs: int,
    widths: Sequence[int] = (20,) * 8,
    activation: str = "tanh",
    *,
    lower: Sequence[float] | None = None,
    upper: Sequence[float] | None = None,
    dtype: str = "float64",
    seed: int | None = None,
    kernel_initializer: str = "glorot_normal",
    name: str = "mlp",
) -> keras.Model:
    """A fully connected network ``inputs -> widths... -> outputs`` (linear output layer).

    Args:
        inputs: number of input coordinates d.
        outputs: number of output fields.
        widths: hidden layer widths (the Burgers paper's network is 8 x 20).
        activation: hidden activation (Keras name), tanh by default as in the paper.
        lower, upper: input bounds; when given, a :class:`UnitBoxScaling` layer maps the inputs to
            [-1, 1] first (pass ``domain.lower, domain.upper``).
        dtype: the variables' and computations' dtype, "float32" or "float64".
        seed: seed of the Glorot (Xavier) normal initialisation; biases start at zero.
        kernel_initializer: Keras initializer name for the kernels.

    Returns:
        A ``keras.Model`` mapping (N, inputs) to (N, outputs).

    Raises:
        TypeError, ValueError: a bad argument (the message names it), before anything is built:
            e.g. ``widths=20`` (not a list), ``widths=[]`` (a linear model), an unknown
            ``activation`` or ``kernel_initializer``, a negative ``seed``.
    """
    for argument, value in (("inputs", inputs), ("outputs", outputs)):
        check_int(value, argument, minimum=1)
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence):
        raise TypeError(f"widths must be a list of hidden layer widths, e.g. [20] * 8, got {widths!r}")
    widths = list(widths)
    if not widths:
        raise ValueError("widths must list at least one hidden layer width (with none the network "
                         "is linear, which cannot fit a PDE's solution), got []")
    if not all(not isinstance(w, bool) and isinstance(w, (int, np.integer)) and w >= 1 for w in widths):
        raise ValueError(f"widths must be positive ints, got {widths!r}")
    widths = [int(w) for w in widths]
    if not isinstance(activation, str) and not callable(activation):
        raise TypeError(f"activation must be a Keras activation name or a callable, got {activation!r}")
    try:
        keras.activations.get(activation)
    except (ValueError, TypeError):
        raise ValueError(f"activation must be a Keras activation name such as 'tanh', or a callable "
                         f"such as tf.sin, got {activation!r}") from None
    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    if (lower is None) != (upper is None):
        raise ValueError("give both lower and upper, or neither")
    if lower is not None:
        for argument, value in (("lower", lower), ("upper", upper)):
            if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
                raise TypeError(f"{argument} must be a sequence of {inputs} input bounds (e.g. "
                                f"domain.{argument}), got {value!r}")
    if seed is not None:
        seed = check_int(seed, "seed")  # a Python int: Keras refuses NumPy integers
    if not isinstance(kernel_initializer, str):
        raise TypeError(f"kernel_initializer must be a Keras initializer name such as "
                        f"'glorot_normal', got {kernel_initializer!r}")
    try:
        keras.initializers.get({"class_name": kernel_initializer, "config": {"seed": None}})
    except (ValueError, TypeError):
        raise ValueError(f"kernel_initializer must be a Keras initializer name such as "
                         f"'glorot_normal', got {kernel_initializer!r}") from None
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty str, got {name!r}")

    x = keras.Input(shape=(inputs,), dtype=dtype, name="coordinates")
    h = x
    if lower is not None:
        if len(lower) != inputs or len(upper) != inputs:  # type: ignore[arg-type]
            raise ValueError(
                f"lower and upper must have {inputs} entries (one per input), got {len(lower)} and {len(upper)}"  # type: ignore[arg-type]
            )
        h = UnitBoxScaling(lower, upper, dtype=dtype, name="scale_to_unit_box")(h)
    for i, width in enumerate(list(widths) + [outputs]):
        last = i == len(widths)
        initializer = keras.initializers.get(
            {"class_name": kernel_initializer, "config": {"seed": None if seed is None else seed + i}}
        )
        h = keras.layers.Dense(
            width,
            activation=None if last else activation,
            kernel_initializer=initializer,
            bias_initializer="zeros",
            dtype=dtype,
            name="output" if last else f"hidden_{i}",
        )(h)
    return keras.Model(x, h, name=name)
