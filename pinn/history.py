"""Loss history shared by the Adam and L-BFGS phases."""

from __future__ import annotations

import dataclasses
from typing import Iterator, Mapping

import numpy as np


@dataclasses.dataclass(frozen=True)
class HistoryRecord:
    """One logged step.

    Attributes:
        phase: ``"adam"`` or ``"lbfgs"`` (or any other optimizer's name).
        step: global step counter across phases (0-based, increasing).
        phase_step: step within the phase (Adam step or L-BFGS iteration, 1-based).
        loss: total (weighted) loss.
        terms: unweighted-or-weighted values of the named loss terms (see ``Problem``),
            empty when the loss has no named terms.
        time: wall time in seconds since the start of training.
        nfev: cumulative loss-and-gradient evaluations within the phase.
        coefficients: values of the loss's reported coefficients (trainable PDE coefficients,
            e.g. ``{"lambda1": 0.98}``), empty when it has none.
    """

    phase: str
    step: int
    phase_step: int
    loss: float
    time: float
    nfev: int = 0
    terms: Mapping[str, float] = dataclasses.field(default_factory=dict)
    coefficients: Mapping[str, float] = dataclasses.field(default_factory=dict)


def _names(mappings) -> list[str]:
    names: dict[str, None] = {}
    for mapping in mappings:
        names.update(dict.fromkeys(mapping))
    return list(names)


class History:
    """Ordered list of :class:`HistoryRecord` covering every training phase.

    ``History`` is a plain container: optimizers append to it, postprocessing reads it.
    """

    def __init__(self) -> None:
        self.records: list[HistoryRecord] = []

    def append(self, record: HistoryRecord) -> None:
        self.records.append(record)

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[HistoryRecord]:
        return iter(self.records)

    def __getitem__(self, index: int) -> HistoryRecord:
        return self.records[index]

    @property
    def next_step(self) -> int:
        """The global step number the next record should take."""
        return self.records[-1].step + 1 if self.records else 0

    @property
    def phases(self) -> list[str]:
        """Phase names in the order they first appear."""
        seen: list[str] = []
        for r in self.records:
            if r.phase not in seen:
                seen.append(r.phase)
        return seen

    @property
    def term_names(self) -> list[str]:
        """Names of the loss terms, in the order first seen."""
        return _names(r.terms for r in self.records)

    @property
    def coefficient_names(self) -> list[str]:
        """Names of the reported coefficients, in the order first seen."""
        return _names(r.coefficients for r in self.records)

    def coefficient(self, name: str) -> np.ndarray:
        """Coefficient ``name`` at every record, (len(self),), NaN where a record lacks it."""
        return np.asarray([r.coefficients.get(name, np.nan) for r in self.records], dtype=float)

    def column(self, name: str) -> np.ndarray:
        """One column as an array: ``"step"``, ``"phase_step"``, ``"loss"``, ``"time"``, ``"nfev"``,
        ``"phase"`` (array of str) or a term name (NaN where a record lacks it). Shape (len(self),)."""
        if name in ("step", "phase_step", "loss", "time", "nfev", "phase"):
            values = [getattr(r, name) for r in self.records]
            return np.asarray(values, dtype=object if name == "phase" else None)
        return np.asarray([r.terms.get(name, np.nan) for r in self.records], dtype=float)

    def phase_boundaries(self) -> list[tuple[str, int]]:
        """(phase, first global step) for every phase change, the first phase included."""
        out: list[tuple[str, int]] = []
        for r in self.records:
            if not out or out[-1][0] != r.phase:
                out.append((r.phase, r.step))
        return out

    def to_dict(self) -> dict:
        """JSON-serialisable columns."""
        return {
            "phase": [r.phase for r in self.records],
            "step": [r.step for r in self.records],
            "phase_step": [r.phase_step for r in self.records],
            "loss": [r.loss for r in self.records],
            "time": [r.time for r in self.records],
            "nfev": [r.nfev for r in self.records],
            "terms": {k: self.column(k).tolist() for k in self.term_names},
            "coefficients": {k: self.coefficient(k).tolist() for k in self.coefficient_names},
        }
