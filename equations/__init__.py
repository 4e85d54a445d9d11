"""Equation modules, one per PDE; each defines a subclass of :class:`pinn.Equation`."""

from .allen_cahn import AllenCahn
from .burgers import Burgers, BurgersIdentification
from .kdv import KdV, KdVIdentification
from .navier_stokes import DerivativeObservations, NavierStokes, NavierStokesIdentification
from .schrodinger import Schrodinger

__all__ = ["Burgers", "BurgersIdentification", "Schrodinger"]
__all__ += ["NavierStokes", "NavierStokesIdentification", "DerivativeObservations"]
__all__ += ["AllenCahn", "KdV", "KdVIdentification"]
