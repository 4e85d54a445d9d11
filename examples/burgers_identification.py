"""Burgers' equation, data-driven discovery (Raissi, Perdikaris & Karniadakis 2019, Sec. 4.1.1, Fig. 6).

    u_t + lambda1 u u_x - lambda2 u_xx = 0,  x in [-1, 1], t in [0, 0.99],

with lambda1 and lambda2 unknown (true values 1 and 0.01/pi) and learned with the network from
N_u = 2000 observations of u drawn uniformly from the 256 x 100 reference grid
(data/burgers_shock.h5). As in the paper, the PDE residual is collocated at the same 2000 points,
the loss is ``mean((u - u_data)^2) + mean(f^2)``, lambda1 starts at 0 and lambda2 at exp(-6)
(learned as log lambda2, so it stays positive), and the network is [2, 20 x 8, 1] tanh with inputs
scaled to [-1, 1].

Clean data by default, optimised with L-BFGS-B only, as the paper. ``--noise 0.01`` adds 1 % noise
as the paper (``u + noise * std(u) * N(0, 1)``, seeded, :func:`add_noise`); noisy data get an Adam
warm-up of 10000 steps (learning rate 1e-3; 200 under --quick) before L-BFGS-B by default
(``--adam-steps`` overrides both defaults).

Writes metrics.json (with ``lambda1``, ``lambda2`` and their errors in percent
``lambda1_error_pct``, ``lambda2_error_pct``), solution.png (u with the data points, reference,
error; the identified coefficients in the title), loss_history.png, error_history.png and
checkpoint.h5 to --out. metrics.json's ``error_history`` (sampled every ``--error-every`` seconds
of training) tracks the coefficients, not u: its main key is ``lambda_error_pct``, the larger of
the two coefficients' errors in percent, with both errors, both values and u's
``relative_l2_error`` beside it.

    pinn solve burgers_identification                  # clean data, the paper's setup
    pinn solve burgers_identification --noise 0.01     # 1 % noise
    pinn solve burgers_identification --quick          # a smoke test, under a minute
    pinn plot runs/burgers_identification              # the figures again, from the saved run
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

import pinn
from pinn.equations import BurgersIdentification
from pinn.scripts import (NoiseDependentAdam, compute_strategy, example_parser, existing_file, replot, run_metrics,
                          run_example, train_example, set_seeds, write_outputs)
from pinn.settings import (FlagParser, RunSettings, UsageError, nonnegative_float, positive_float,
                           positive_int)

NAME = "burgers_identification"
DESCRIPTION = "Burgers' equation, identification of lambda1 and lambda2 from data (the PINN paper's Fig. 6)"

#: Adam warm-up steps by default: none on clean data (the paper: L-BFGS-B only), 10000 with noise.
ADAM_STEPS_CLEAN = 0
ADAM_STEPS_NOISY = 10000
LBFGS_MAXITER = 50000
DTYPE = "float64"
GTOL = 1e-10
N_U = 2000
TRUE_VALUES = dict(BurgersIdentification.TRUE_VALUES)  # lambda1 = 1, lambda2 = 0.01/pi
QUICK = {"lbfgs_maxiter": 300, "n_u": 500, "widths": 4}
#: Adam steps of a --quick run with noise (--quick on clean data: none).
QUICK_ADAM_STEPS_NOISY = 200
ADAM = NoiseDependentAdam(ADAM_STEPS_CLEAN, ADAM_STEPS_NOISY, QUICK_ADAM_STEPS_NOISY)


def build_parser(prog: str | None = None) -> FlagParser:
    """The example's flags: the shared ones (:func:`pinn.scripts.example_parser`) and its own."""
    parser = example_parser(NAME, __doc__, prog=prog, out="runs/burgers_identification",
                            adam_steps=ADAM_STEPS_CLEAN, lbfgs_maxiter=LBFGS_MAXITER, dtype=DTYPE)
    ADAM.add_to(parser, "the paper: 0 on clean data")
    parser.problem_flag("--n-u", type=positive_int, default=None,
                        help=f"observations drawn from the 256 x 100 reference grid, also the "
                             f"collocation points (default {N_U})")
    parser.problem_flag("--noise", type=nonnegative_float, default=0.0,
                        help="noise level: u + noise * std(u) * N(0, 1), seeded (default 0, clean; "
                             "the paper's noisy case is 0.01)")
    parser.problem_flag("--widths", type=positive_int, default=None,
                        help="hidden layers of 20 (default 8)")
    parser.problem_flag("--data", type=existing_file, default=None,
                        help="reference data (.h5 or .mat; default the packaged burgers_shock.h5)")
    parser.run_flag("--gtol", type=positive_float, default=GTOL,
                    help=f"L-BFGS-B gradient tolerance (default {GTOL:g})")
    parser.set_presets(full={"n_u": N_U, "widths": 8}, quick=QUICK)
    return parser


def adam_steps(settings: RunSettings) -> int:
    """The Adam steps of a run: ``--adam-steps`` if given, else :data:`ADAM` by ``--noise``."""
    return ADAM.steps(settings)


def add_noise(values: np.ndarray, noise: float, rng: np.random.Generator | int | None) -> np.ndarray:
    """The paper's noisy data: ``values + noise * std(values) * N(0, 1)``, one draw per value.

    Args:
        values: (N,) or (N, k) clean data (``std`` is over all of them, as the paper's code).
        noise: the noise level, >= 0 (0.01 is 1 %); 0 returns the data unchanged (a copy).
        rng: a NumPy generator or a seed.

    Returns:
        float64 array of the shape of ``values``.

    Raises:
        ValueError: a negative or non-finite ``noise``.
    """
    values = np.asarray(values, dtype=np.float64)
    noise = float(noise)
    if not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number >= 0, got {noise}")
    if noise == 0:
        return values.copy()
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    return values + noise * np.std(values) * rng.standard_normal(values.shape)


#: The main error of metrics.json's error_history: the larger of the two coefficients' errors, in
#: percent (this example identifies coefficients, so u's error is not the one tracked).
TRACKED_ERROR = "lambda_error_pct"


def tracked_errors(setup: "Setup") -> dict[str, float]:
    """One error_history sample: ``lambda_error_pct`` (max of the two errors, percent) first, then
    ``lambda1_error_pct``, ``lambda2_error_pct``, ``lambda1``, ``lambda2`` and u's
    ``relative_l2_error`` on the reference grid, at the network's current weights."""
    values = setup.coefficients()
    errors = coefficient_errors(values)
    return {TRACKED_ERROR: max(errors.values()), **errors, **values,
            "relative_l2_error": pinn.relative_l2_error(setup.predict(), setup.usol)}


def coefficient_errors(values: dict[str, float]) -> dict[str, float]:
    """``{"lambda1_error_pct": 100 |lambda1 - 1|, "lambda2_error_pct": 100 |lambda2 - nu| / nu}``."""
    return {f"{name}_error_pct": 100.0 * abs(float(values[name]) - true) / abs(true)
            for name, true in TRUE_VALUES.items()}


@dataclasses.dataclass
class Setup:
    """What :func:`build` makes from the problem flags: the reference grid and solution, the
    observations (clean and as trained on) and the problem."""

    x: np.ndarray  # (nx,)
    t: np.ndarray  # (nt,)
    usol: np.ndarray  # (nx, nt)
    grid: np.ndarray  # (nx * nt, 2), pinn.grid_points order
    chosen: np.ndarray  # (N_u,) indices of the observations among the grid's points
    points: np.ndarray  # (N_u, 2) the observation (and collocation) points
    clean: np.ndarray  # (N_u,) u there
    observed: np.ndarray  # (N_u,) what is trained on (clean plus noise)
    equation: BurgersIdentification
    network: Any
    problem: pinn.Problem

    def predict(self) -> np.ndarray:
        """u on the reference grid, (len(x), len(t))."""
        return self.problem.predict(self.grid)[:, 0].reshape(len(self.x), len(self.t))

    def coefficients(self) -> dict[str, float]:
        """The current lambda1 and lambda2."""
        return self.equation.coefficient_values()


def build(settings: RunSettings) -> Setup:
    """The problem the settings' problem flags define (seeds set, nothing trained).

    Raises:
        UsageError: ``--n-u`` larger than the reference grid.
    """
    rng = set_seeds(settings.seed)
    x, t, usol = pinn.load_burgers(settings.data)
    grid = pinn.grid_points(x, t)
    values = usol.reshape(-1)  # grid_points order: u[i, j] = u(x_i, t_j)
    if settings.n_u > len(grid):
        raise UsageError(f"argument --n-u: expected at most {len(grid)} (the reference grid's "
                         f"{len(x)} x {len(t)} points), got {settings.n_u}")
    chosen = rng.choice(len(grid), settings.n_u, replace=False)  # the paper's uniform draw
    points, clean = grid[chosen], values[chosen]
    observed = add_noise(clean, settings.noise, rng)

    domain = pinn.Interval(x.min(), x.max(), "x") * pinn.TimeInterval(t.min(), t.max(), "t")
    network = pinn.mlp(2, 1, [20] * settings.widths, "tanh", lower=domain.lower, upper=domain.upper,
                       dtype=settings.dtype, seed=settings.seed)
    equation = BurgersIdentification()
    # the paper's identification loss: data misfit and PDE residual, both at the N_u points
    problem = pinn.Problem(equation, network, points, [pinn.Observations(points, observed, "u")],
                           dtype=settings.dtype, derivatives=settings.derivatives)
    return Setup(x=x, t=t, usol=usol, grid=grid, chosen=chosen, points=points, clean=clean,
                 observed=observed, equation=equation, network=network, problem=problem)


def _title(values: dict[str, float], error: float, noise: float) -> str:
    errors = coefficient_errors(values)
    return (f"Burgers identification ({'clean' if noise == 0 else f'{100 * noise:g} % noise'}): "
            f"u_t + {values['lambda1']:.5f} u u_x - {values['lambda2']:.6f} u_xx = 0\n"
            f"errors {errors['lambda1_error_pct']:.3f} % / {errors['lambda2_error_pct']:.3f} % "
            f"(true 1, {TRUE_VALUES['lambda2']:.6f}); u rel. L2 error {error:.2e}")


def write_figures(setup: Setup, out: str | os.PathLike, history: pinn.History, noise: float,
                  prediction: np.ndarray | None = None, status: str | None = None) -> list[Path]:
    """``solution.png`` (prediction with the data points, reference, error; the identified
    equation in the title) and ``loss_history.png`` in ``out``."""
    prediction = setup.predict() if prediction is None else prediction
    error = pinn.relative_l2_error(prediction, setup.usol)
    os.makedirs(out, exist_ok=True)
    written = [pinn.plot_solution(setup.x, setup.t, prediction, setup.usol,
                                  path=os.path.join(out, "solution.png"),
                                  train_points={"data": setup.points},
                                  title=_title(setup.coefficients(), error, noise), status=status)]
    if len(history):
        written.append(pinn.plot_history(history, path=os.path.join(out, "loss_history.png"),
                                         status=status))
    return [Path(p) for p in written]


def solve(settings: RunSettings) -> dict:
    """Train as the settings say; writes metrics.json, the checkpoint and the figures to
    ``settings.out``. Returns the metrics."""
    strategy = compute_strategy(settings)  # devices, before TensorFlow starts
    start = time.perf_counter()
    settings = settings.replace(adam_steps=adam_steps(settings))  # the noise-dependent default
    setup = build(settings)
    usol, problem = setup.usol, setup.problem

    def tracked_error() -> dict[str, float]:  # metrics.json's error_history
        return tracked_errors(setup)

    data = "clean" if settings.noise == 0 else f"noise {settings.noise:g}"
    print(f"Burgers identification: N_u={settings.n_u} ({data}), "
          f"network [2, 20 x {settings.widths}, 1], {settings.dtype}, seed {settings.seed}, Adam "
          f"{settings.adam_steps}, {settings.method} maxiter {settings.lbfgs_maxiter}", flush=True)
    result = train_example(settings, problem, strategy, error=tracked_error,
                           error_name=TRACKED_ERROR)

    prediction = setup.predict()
    error = pinn.relative_l2_error(prediction, usol)
    values = setup.coefficients()
    errors = coefficient_errors(values)
    wall = time.perf_counter() - start
    summary = result.summary()  # counts of the whole run; lambda1, lambda2 by name
    print(f"status {result.status}; Adam {summary['adam_steps']} steps, {settings.method} {summary['lbfgs_nit']} "
          f"iterations ({summary['lbfgs_nfev']} evaluations){' in all, resumed' if result.resumed else ''}; "
          f"lambda1 {values['lambda1']:.6f} (error {errors['lambda1_error_pct']:.3f} %), lambda2 "
          f"{values['lambda2']:.6f} (error {errors['lambda2_error_pct']:.3f} %); u relative L2 error "
          f"{error:.3e}; final loss {result.final_loss:.3e}; {wall:.1f} s", flush=True)
    metrics = {
        **run_metrics(NAME, settings, result, wall),
        "lambda1": values["lambda1"],
        "lambda2": values["lambda2"],
        **errors,
        "lambda1_true": TRUE_VALUES["lambda1"],
        "lambda2_true": TRUE_VALUES["lambda2"],
        "relative_l2_error": error,
        "max_abs_error": pinn.max_abs_error(prediction, usol),
        "n_u": settings.n_u,
        "noise": settings.noise,
        "layers": [2] + [20] * settings.widths + [1],
    }
    write_outputs(settings.out, metrics, lambda: write_figures(
        setup, settings.out, result.history, settings.noise, prediction, status=result.status),
        prog=settings.prog or NAME)
    return metrics


def plot(run_dir: str | os.PathLike, out: str | os.PathLike | None = None) -> list[Path]:
    """The figures of a run again, from its directory: the problem rebuilt from the settings saved
    in its checkpoint, the saved weights (and coefficients) loaded. Writes to ``out`` (default
    ``run_dir``)."""
    return replot(sys.modules[__name__], run_dir, out, lambda settings: (settings.noise,))


def main(argv: list[str] | None = None, prog: str | None = None, command: str | None = None) -> int:
    """The command line (``python examples/burgers_identification.py``, ``pinn solve
    burgers_identification``); the exit code."""
    return run_example(sys.modules[__name__], argv, prog=prog, command=command)


if __name__ == "__main__":
    sys.exit(main(command=f"python {sys.argv[0]}"))
