"""Argument checks shared by the public functions, raising errors that name the argument."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["check_int"]


def check_int(value: Any, name: str, minimum: int = 0, meaning: str = "") -> int:
    """``value`` as an int, checked to be an integer (not a bool) ``>= minimum``.

    Raises:
        ValueError: ``"<name> must be an int >= <minimum> [(meaning)], got <value>"``, or
            ``"... must be a positive int ..."`` when ``minimum`` is 1.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        expected = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        note = f" ({meaning})" if meaning else ""
        raise ValueError(f"{name} must be {expected}{note}, got {value!r}")
    return int(value)
