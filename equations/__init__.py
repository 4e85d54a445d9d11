"""Equation modules, one per PDE; each defines a subclass of :class:`pinn.Equation`."""

from .burgers import Burgers, BurgersIdentification
from .schrodinger import Schrodinger

__all__ = ["Burgers", "BurgersIdentification", "Schrodinger"]
