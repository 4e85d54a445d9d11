"""pinn: physics-informed neural networks for TensorFlow 2.

The public API:

- losses: :class:`Loss` (what the engine trains: named point sets in, named :class:`Term`
  (sum, count) pairs out), :class:`FunctionLoss`, :func:`mean_square`;
- optimisation: :func:`minimize` (SciPy L-BFGS-B and other gradient methods over TensorFlow
  variables), :func:`adam` / :class:`Adam`, :class:`FlatLayout`, :class:`CompiledObjective`;
  dense self-scaled quasi-Newton phases: :func:`pinn.quasi_newton.quasi_newton`,
  :class:`QuasiNewtonState`;
  how a phase ended: :class:`Status`, :class:`PhaseResult`; resampling: :class:`Resample`;
- discrete time: :class:`DiscreteTimeProblem` (Runge–Kutta PINNs, :mod:`pinn.discrete_time`),
  :class:`Snapshot`, :func:`grid_snapshot`; :func:`gauss_legendre` / :func:`irk_weights` (implicit
  Runge–Kutta weights);
- callbacks and history: :class:`Callback`, :class:`ProgressLogger`, :class:`HistoryRecorder`,
  :class:`LambdaCallback`, :class:`ErrorMonitor` (time-to-accuracy samples), :class:`TimeLimit`, :class:`History`;
- PDEs: :class:`Equation`, :class:`Trainable`, :class:`Derivatives`, :class:`TaylorDerivatives`
  (forward-mode input derivatives of :func:`mlp` networks: ``Problem(..., derivatives="taylor")``);
- conditions: :class:`DirichletBC`, :class:`NeumannBC`, :class:`RobinBC`, :class:`PeriodicBC`,
  :class:`InitialCondition`, :class:`InitialDerivative`, :class:`Observations`, :class:`Condition`;
- domains and sampling: :class:`Domain`, :func:`Interval`, :func:`Box`, :func:`TimeInterval`,
  :func:`stratified_choice`;
- networks: :func:`mlp`;
- problems and training: :class:`Problem`, :class:`Trainer`, :class:`TrainingResult`;
  checkpoints: :class:`Checkpoint`, :func:`save_checkpoint`, :func:`load_checkpoint`;
- postprocessing: :func:`relative_l2_error`, :func:`grid_points`, :func:`plot_solution`,
  :func:`plot_history`, :func:`plot_error_history`; data: :func:`load_reference`,
  :func:`save_reference`, :func:`load_burgers`, :func:`load_navier_stokes` (the paper's
  cylinder-wake layout, .mat or .h5) / :class:`NavierStokesData`.
"""

import os as _os

# TensorFlow's C++ info and warning lines (oneDNN notices, CPU feature hints) are noise for a
# training run; a user's own setting wins.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# TensorFlow's pooled (BFC) allocator for CPU tensors instead of the system malloc: a loss-and-
# gradient evaluation allocates and frees tens of MB, which glibc hands back to the kernel and
# faults in again on the next call (about 14000 page faults per Burgers evaluation, 28000 with XLA).
# Pooled, an evaluation makes none and the Burgers example's float64 XLA evaluation takes about
# half the time (benchmarks/evaluation_speed.py, "allocator" runs). TensorFlow reads the variable
# when it creates its CPU allocator (its first operation), so it has no effect in a process that ran
# TensorFlow operations before importing pinn; a user's own setting ("false") wins.
_os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")

from pinn.adam import Adam, adam  # noqa: E402
from pinn.callbacks import (Callback, CallbackList, ErrorMonitor, HistoryRecorder, LambdaCallback, TimeLimit,
                            ProgressLogger)
from pinn.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from pinn.conditions import (
    Condition,
    DirichletBC,
    InitialCondition,
    InitialDerivative,
    NeumannBC,
    Observations,
    PeriodicBC,
    RobinBC,
)
from pinn.data import NavierStokesData, load_burgers, load_navier_stokes, load_reference, save_reference
from pinn.derivatives import Derivatives
from pinn.discrete_time import DiscreteTimeProblem, Snapshot, grid_snapshot
from pinn.equation import Equation, Trainable
from pinn.flat import FlatLayout
from pinn.geometry import Box, Domain, Interval, TimeInterval, stratified_choice
from pinn.history import History, HistoryRecord
from pinn.metrics import grid_points, max_abs_error, relative_l2_error
from pinn.networks import mlp
from pinn.loss import FunctionLoss, Loss, Term, mean_square
from pinn.objective import CompiledObjective, Evaluation
from pinn.optimize import (GRADIENT_METHODS, LBFGS_DEFAULTS, METHOD_NAMES, MethodSpec, minimize,
                           resolve_method)
from pinn.quasi_newton import QUASI_NEWTON_METHODS, QuasiNewtonState
from pinn.resample import Resample
from pinn import signals  # noqa: E402  (pinn.signals.interrupt_signals, held_signals)
from pinn.runge_kutta import gauss_legendre, irk_weights
from pinn.status import Status
from pinn.taylor import TaylorDerivatives
from pinn.tracking import PhaseResult
from pinn.plotting import plot_error_history, plot_history, plot_solution
from pinn.problem import Problem
from pinn.trainer import Trainer, TrainingResult

__version__ = "0.1.0"

__all__ = [
    "Adam", "adam", "Callback", "CallbackList", "HistoryRecorder", "LambdaCallback", "ProgressLogger",
    "Checkpoint", "load_checkpoint", "save_checkpoint", "Condition", "DirichletBC", "InitialCondition", "InitialDerivative", "NeumannBC", "Observations",
    "PeriodicBC", "RobinBC", "load_burgers", "load_reference", "save_reference", "Derivatives",
    "Equation", "Trainable", "FlatLayout", "Box", "Domain", "Interval", "TimeInterval",
    "stratified_choice", "History",
    "HistoryRecord", "grid_points", "max_abs_error", "relative_l2_error", "mlp", "CompiledObjective",
    "GRADIENT_METHODS", "LBFGS_DEFAULTS", "minimize", "plot_history", "plot_solution", "Problem",
    "Trainer", "TrainingResult", "__version__", "Loss", "FunctionLoss", "Term", "mean_square",
    "Evaluation", "ErrorMonitor", "TimeLimit", "Resample", "Status", "PhaseResult", "gauss_legendre", "irk_weights",
    "QUASI_NEWTON_METHODS", "QuasiNewtonState", "METHOD_NAMES", "MethodSpec", "resolve_method",
    "plot_error_history", "DiscreteTimeProblem", "Snapshot", "grid_snapshot", "NavierStokesData",
    "load_navier_stokes", "TaylorDerivatives", "signals",
]
