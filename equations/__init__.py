"""Equation modules, one per PDE; each defines a subclass of :class:`pinn.Equation`."""

from equations.burgers import Burgers

__all__ = ["Burgers"]
