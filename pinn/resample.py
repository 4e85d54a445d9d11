"""Resampling collocation points during training (an option of :class:`~pinn.trainer.Trainer`).

Point sets are inputs of the compiled function, so new points of the same shape cost no new
trace. Every ``every`` steps/iterations the trainer asks :class:`Resample` for new points:

- ``"uniform"`` / ``"lhs"``: a fresh draw from the domain (uniform or Latin hypercube);
- ``"residual"``: residual-based adaptive distribution (RAD, Wu et al., CMAME 2023): draw
  ``candidates`` uniform points, and keep N of them, without replacement, with probability
  proportional to ``|r|^k / mean(|r|^k) + c`` where ``r`` is the PDE residual there.

In a SciPy phase a resample ends the current SciPy run and starts a new one from the same weights
(a quasi-Newton method's line search needs a fixed function); Adam simply goes on.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pinn.validation import check_int, check_number

__all__ = ["Resample", "RESAMPLE_METHODS", "DEFAULT_RESAMPLE_METHOD"]

RESAMPLE_METHODS = ("uniform", "lhs", "residual")
#: How a :class:`Resample` draws unless told.
DEFAULT_RESAMPLE_METHOD = "lhs"


class Resample:
    """Draw new points for one point set every ``every`` steps/iterations.

    Args:
        domain: a :class:`~pinn.geometry.Domain` to draw from.
        every: steps/iterations between resamples (>= 1).
        method: ``"uniform"``, ``"lhs"`` or ``"residual"``.
        point_set: the point set to replace (default ``"collocation"``); its size stays the same.
        seed: seed of the draws; draw number i uses ``(seed, i)``, so a resumed run draws the same.
        candidates: for ``"residual"``: candidate points per draw (default 10 x the set's size).
        k, c: for ``"residual"``: the exponent and the uniform share of the distribution
            (defaults 1 and 1, RAD's recommended values).
    """

    def __init__(self, domain: Any, every: int, method: str = DEFAULT_RESAMPLE_METHOD, *,
                 point_set: str = "collocation", seed: int = 0, candidates: int | None = None,
                 k: float = 1.0, c: float = 1.0) -> None:
        if not hasattr(domain, "sample_interior"):
            raise TypeError(f"domain must be a pinn.Domain, got {type(domain).__name__}")
        self.domain = domain
        self.every = check_int(every, "every", minimum=1, meaning="steps/iterations between resamples")
        if method not in RESAMPLE_METHODS:
            raise ValueError(f"method must be one of {list(RESAMPLE_METHODS)}, got {method!r}")
        self.method = method
        if not isinstance(point_set, str):
            raise TypeError(f"point_set must be a str, got {type(point_set).__name__}")
        self.point_set = point_set
        self.seed = check_int(seed, "seed")
        self.candidates = None if candidates is None else check_int(candidates, "candidates", minimum=1)
        self.k = check_number(k, "k", minimum=0.0)
        self.c = check_number(c, "c", minimum=0.0)
        if self.c == 0 and self.k == 0:
            raise ValueError("k and c cannot both be 0")

    def draw(self, loss: Any, n: int, draw: int) -> np.ndarray:
        """``n`` new points (n, d) for draw number ``draw``."""
        rng = np.random.default_rng([self.seed, int(draw)])
        if self.method in ("uniform", "lhs"):
            return self.domain.sample_interior(n, self.method, seed=rng)
        pool = self.domain.sample_interior(max(self.candidates or 10 * n, n), "uniform", seed=rng)
        if not hasattr(loss, "residuals"):
            raise TypeError("residual-based resampling needs a loss with residuals(points), "
                            f"e.g. a pinn.Problem; got {type(loss).__name__}")
        magnitude = sum(np.abs(r) for r in loss.residuals(pool).values()) ** self.k
        weights = magnitude / max(float(np.mean(magnitude)), np.finfo(float).tiny) + self.c
        return pool[rng.choice(len(pool), n, replace=False, p=weights / weights.sum())]

    def __repr__(self) -> str:
        return f"Resample(every={self.every}, method={self.method!r}, point_set={self.point_set!r})"
