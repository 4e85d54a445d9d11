"""Equation modules, one per PDE; each defines a subclass of :class:`pinn.Equation`."""

from .burgers import Burgers

__all__ = ["Burgers"]
