"""The PINN paper's Burgers inference tables, with the spread over seeds.

Raissi, Perdikaris & Karniadakis (2019), J. Comput. Phys. 378, continuous-time inference of
Burgers' equation, relative L2 error of u on the reference grid:

- Table 1: N_u (initial/boundary data points) in {20, 40, 60, 80, 100, 200} x N_f (collocation
  points) in {2000, 4000, 6000, 7000, 8000, 10000}, network [2, 20 x 8, 1];
- Table 2: hidden layers in {2, 4, 6, 8} x neurons per layer in {10, 20, 40}, N_u = 100,
  N_f = 10000.

Each cell x seed is one run of ``examples/burgers.py`` (a subprocess, ``--jobs`` at a time, each
with ``--threads`` TensorFlow threads) into ``OUT/<cell>/seed<N>``; flags after ``--`` go to every
run (budgets: ``-- --lbfgs-maxiter 2000``). Writes a Markdown table (the paper's value, our median,
min-max, number of seeds, per cell) and the JSON behind it (every run's metrics, the flags, the
machine). Resumable: a run whose finished metrics.json is in OUT (made with the same flags) is
reused, a killed one goes on from its checkpoint; ``--fresh`` starts them all again. So a long
table can be filled over several sessions, and ``--report-only`` writes the tables from what OUT
holds without running anything.

    python benchmarks/paper_tables.py --table 1 --cells 100x10000,200x4000 --seeds 0 1 2 --jobs 2 \\
        --threads 1 --out runs/tables -- --lbfgs-maxiter 2000
    python benchmarks/paper_tables.py --cells 1:100x10000,2:4x20 --seeds 0 1 2   # both tables
    python benchmarks/paper_tables.py --table 2 --seeds 0 1 2 3 4                # all of Table 2

The paper's figures are single runs (one seed); only the rows N_u = 100 and N_u = 200 of Table 1
are quoted here (PAPER_TABLE1). The other cells, and Table 2, say "n/a": their values were not
checked against the paper for this script.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import statistics
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _runs  # noqa: E402  (benchmarks/_runs.py: the subprocess runner shared with burgers_seeds.py)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from pinn.validation import check_int  # noqa: E402  (pinn.validation imports no TensorFlow)

TABLE1_N_U = (20, 40, 60, 80, 100, 200)
TABLE1_N_F = (2000, 4000, 6000, 7000, 8000, 10000)
TABLE2_LAYERS = (2, 4, 6, 8)
TABLE2_NEURONS = (10, 20, 40)
PAPER_LBFGS_MAXITER = 50000
PAPER_METHOD = _runs.PAPER_METHOD
# the paper's plan for every run, whatever examples/burgers.py's defaults are: no Adam phase, then
# L-BFGS-B for up to 50000 iterations on fixed collocation points; flags after '--' come later and
# win (budgets: --lbfgs-maxiter)
PAPER_PLAN = ("--method", PAPER_METHOD, "--adam-steps", "0", "--lbfgs-maxiter", str(PAPER_LBFGS_MAXITER),
              "--resample-every", "0")

# Raissi, Perdikaris & Karniadakis 2019, J. Comput. Phys. 378, Table 1, rows N_u = 100 and 200
# (relative L2 error; one run each). The other rows, and Table 2, are not quoted: "n/a".
PAPER_TABLE1: dict[tuple[int, int], float] = {
    **dict(zip(((100, f) for f in TABLE1_N_F), (6.6e-2, 2.7e-1, 7.2e-3, 6.8e-4, 2.2e-3, 6.7e-4))),
    **dict(zip(((200, f) for f in TABLE1_N_F), (1.5e-1, 2.3e-3, 8.2e-4, 8.9e-4, 6.1e-4, 4.9e-4))),
}
PAPER_TABLE2: dict[tuple[int, int], float] = {}

# flags each run gets from its cell and seed, or from the runner: not to be passed after "--"
OWN_FLAGS = ("--seed", "--n-u", "--n-f", "--widths", "--neurons", "--out", "--threads", "--resume",
             "--resume-or-start", "--overwrite", "--quick")


@dataclasses.dataclass(frozen=True)
class Cell:
    """One cell of Table 1 or 2: the Burgers problem it defines and the paper's value.

    Attributes:
        table: 1 or 2.
        n_u: initial/boundary data points. n_f: collocation points (plus the 456 grid points).
        layers: hidden layers. neurons: neurons per hidden layer.
    """

    table: int
    n_u: int
    n_f: int
    layers: int
    neurons: int

    @property
    def name(self) -> str:
        """``"1:100x10000"`` (Table 1: N_u x N_f) or ``"2:4x20"`` (Table 2: layers x neurons)."""
        return f"1:{self.n_u}x{self.n_f}" if self.table == 1 else f"2:{self.layers}x{self.neurons}"

    @property
    def folder(self) -> str:
        """The folder of its runs under OUT; the same for cells that define the same problem
        (Table 2's 8 x 20 is Table 1's 100 x 10000), so such runs are shared."""
        return f"nu{self.n_u}_nf{self.n_f}_l{self.layers}_w{self.neurons}"

    @property
    def paper(self) -> float | None:
        """The paper's relative L2 error, or None where it is not quoted here."""
        if self.table == 1:
            return PAPER_TABLE1.get((self.n_u, self.n_f))
        return PAPER_TABLE2.get((self.layers, self.neurons))

    def flags(self, seed: int) -> list[str]:
        return ["--seed", str(seed), "--n-u", str(self.n_u), "--n-f", str(self.n_f),
                "--widths", str(self.layers), "--neurons", str(self.neurons)]


def table_cells(table: int) -> list[Cell]:
    """Every cell of Table ``table`` (1 or 2), row by row."""
    if table == 1:
        return [Cell(1, n_u, n_f, 8, 20) for n_u in TABLE1_N_U for n_f in TABLE1_N_F]
    if table == 2:
        return [Cell(2, 100, 10000, layers, neurons) for layers in TABLE2_LAYERS
                for neurons in TABLE2_NEURONS]
    raise ValueError(f"table must be 1 or 2, got {table!r}")


def parse_cells(text: str | None, table: int = 1) -> list[Cell]:
    """The cells a ``--cells`` value names, in its order, each once.

    ``text``: comma-separated ``AxB`` (Table 1: ``N_UxN_F``; Table 2: ``LAYERSxNEURONS``), each
    optionally prefixed by its table (``1:100x10000``, ``2:4x20``; ``table`` for those without);
    ``"all"`` or None: every cell of ``table``.

    Raises:
        ValueError: naming ``--cells``, the bad item and what was expected (the table's values).
    """
    if table not in (1, 2):
        raise ValueError(f"--table must be 1 or 2, got {table!r}")
    if text is None or text.strip() == "all":
        return table_cells(table)
    cells: list[Cell] = []
    items = [item.strip() for item in text.split(",")]
    if not any(items):
        raise ValueError(f"--cells: expected cells such as 100x10000 or 2:4x20, got {text!r}")
    for item in items:
        which, _, pair = item.rpartition(":")
        try:
            cell_table = table if not which else int(which)
            a, b = (int(part) for part in pair.lower().split("x"))
        except ValueError:
            raise ValueError(f"--cells: expected AxB or T:AxB (Table 1: N_UxN_F such as 100x10000; "
                             f"Table 2: LAYERSxNEURONS such as 4x20), got {item!r}") from None
        if cell_table == 1:
            if a not in TABLE1_N_U or b not in TABLE1_N_F:
                raise ValueError(f"--cells: {item!r} is not a cell of Table 1: N_U must be one of "
                                 f"{list(TABLE1_N_U)} and N_F one of {list(TABLE1_N_F)}")
            cell = Cell(1, a, b, 8, 20)
        elif cell_table == 2:
            if a not in TABLE2_LAYERS or b not in TABLE2_NEURONS:
                raise ValueError(f"--cells: {item!r} is not a cell of Table 2: LAYERS must be one "
                                 f"of {list(TABLE2_LAYERS)} and NEURONS one of {list(TABLE2_NEURONS)}")
            cell = Cell(2, 100, 10000, a, b)
        else:
            raise ValueError(f"--cells: {item!r} names table {cell_table}; expected 1 or 2")
        if cell not in cells:
            cells.append(cell)
    return cells


def check_extra_flags(extra: Sequence[str]) -> list[str]:
    """The flags after ``--``, checked not to set what each cell and seed sets.

    Raises:
        ValueError: one of :data:`OWN_FLAGS` is among them.
    """
    own = sorted({flag.split("=")[0] for flag in extra if flag.split("=")[0] in OWN_FLAGS})
    if own:
        raise ValueError(f"flags after '--' must not set {own}: the cells, --seeds, --out and "
                         "--threads of paper_tables.py set them")
    return list(extra)


def jobs_for(cells: Sequence[Cell], seeds: Sequence[int], out: Path,
             extra: Sequence[str]) -> list[_runs.Run]:
    """One run per distinct (problem, seed); cells defining the same problem share runs."""
    jobs: dict[Path, _runs.Run] = {}
    for cell in cells:
        for seed in seeds:
            folder = out / cell.folder / f"seed{seed}"
            jobs.setdefault(folder, _runs.Run("burgers", folder, (*cell.flags(seed), *PAPER_PLAN, *extra)))
    return list(jobs.values())


def budget_label(runs: Iterable[Mapping[str, Any]]) -> str:
    """``"reduced: L-BFGS-B maxiter N, not the paper's 50000; Adam M steps first (the paper:
    none)"`` when any run had a smaller budget (read from its metrics' settings), else
    ``"full: ..."``; a second phase other than the paper's L-BFGS-B is named."""
    runs = list(runs)
    budgets = sorted({int(r["settings"]["run"]["lbfgs_maxiter"]) for r in runs})
    if not budgets:
        return "no runs yet"
    methods = sorted({str(r["settings"]["run"].get("method", PAPER_METHOD)) for r in runs})
    method = ", ".join(methods) + ("" if methods == [PAPER_METHOD] else f" (the paper: {PAPER_METHOD})")
    steps = sorted({int(r["settings"]["run"]["adam_steps"]) for r in runs})
    adam = ("no Adam phase, as the paper" if steps == [0] else
            f"Adam {', '.join(str(a) for a in steps)} steps first (the paper: none)")
    every = sorted({int(r["settings"]["run"].get("resample_every") or 0) for r in runs} - {0})
    points = (f"; new collocation points every {', '.join(str(e) for e in every)} iterations (the "
              "paper: fixed points)" if every else "")
    shown = ", ".join(str(b) for b in budgets)
    if budgets[0] < PAPER_LBFGS_MAXITER:
        return f"reduced: {method} maxiter {shown}, not the paper's {PAPER_LBFGS_MAXITER}; {adam}{points}"
    return f"full: {method} maxiter {shown} (the paper's {PAPER_LBFGS_MAXITER}); {adam}{points}"


def summarize(cells: Sequence[Cell], runs: Mapping[str, Sequence[Mapping[str, Any]]],
              command: str = "", extra: Sequence[str] = (),
              machine: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The JSON document: per cell the paper's value, our median, min, max and seed count of the
    relative L2 error, and every run's metrics (``runs[cell.name]``, finished runs only)."""
    rows = []
    for cell in cells:
        metrics = sorted(runs.get(cell.name, ()), key=lambda m: m["seed"])
        errors = [float(m["relative_l2_error"]) for m in metrics]
        rows.append({
            "cell": cell.name, "table": cell.table, "n_u": cell.n_u, "n_f": cell.n_f,
            "layers": cell.layers, "neurons": cell.neurons, "paper": cell.paper,
            "n_seeds": len(errors), "seeds": [m["seed"] for m in metrics],
            "median": statistics.median(errors) if errors else None,
            "min": min(errors) if errors else None, "max": max(errors) if errors else None,
            "runs": [dict(m) for m in metrics],
        })
    every = [m for row in rows for m in row["runs"]]
    return {"title": "Raissi et al. (2019) Burgers inference, Tables 1 and 2: relative L2 error",
            "label": budget_label(every), "command": command, "flags": list(extra),
            "machine": dict(machine or {}), "cells": rows}


def fmt(value: float | None) -> str:
    """``6.7e-4`` (two significant digits), ``n/a`` for None."""
    if value is None:
        return "n/a"
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def markdown(summary: Mapping[str, Any]) -> str:
    """The Markdown tables of a :func:`summarize` document (one per table, then every run)."""
    machine = summary.get("machine") or {}
    lines = [f"### {summary['title']}", "",
             f"**{summary['label']}.** Generated by `benchmarks/paper_tables.py`"
             + (f" with:\n\n    {summary['command']}" if summary.get("command") else "."), ""]
    if machine:
        lines += [f"Machine: {machine.get('cpu')}, {machine.get('cores')} cores; TensorFlow "
                  f"{machine.get('tensorflow')}, SciPy {machine.get('scipy')}, NumPy "
                  f"{machine.get('numpy')}; {machine.get('date')}. The paper's values are single "
                  "runs; n/a: not quoted here. Wall times are of a shared machine under other "
                  "load: not timings.", ""]
    for table, heads in ((1, ("N_u", "N_f")), (2, ("hidden layers", "neurons"))):
        rows = [r for r in summary["cells"] if r["table"] == table]
        if not rows:
            continue
        lines += [f"Table {table}" + (" (N_u = 100, N_f = 10000)" if table == 2 else
                                      " (network [2, 20 x 8, 1])") + ":", "",
                  f"| {heads[0]} | {heads[1]} | paper | ours: median | min - max | seeds |",
                  "|---|---|---|---|---|---|"]
        for r in rows:
            a, b = (r["n_u"], r["n_f"]) if table == 1 else (r["layers"], r["neurons"])
            spread = f"{fmt(r['min'])} - {fmt(r['max'])}" if r["n_seeds"] else "not run"
            lines.append(f"| {a} | {b} | {fmt(r['paper'])} | **{fmt(r['median'])}** | {spread} | "
                         f"{r['n_seeds']} |")
        lines.append("")
    runs = [(r["cell"], m) for r in summary["cells"] for m in r["runs"]]
    if runs:
        lines += ["Every run:", "",
                  "| cell | seed | rel. L2 error | Adam steps | L-BFGS-B iterations / evaluations | "
                  "stop | final loss | wall time |", "|---|---|---|---|---|---|---|---|"]
        for name, m in runs:
            lines.append(f"| {name} | {m['seed']} | {fmt(m['relative_l2_error'])} | {m['adam_steps']} | "
                         f"{m['lbfgs_nit']} / {m['lbfgs_nfev']} | {m.get('lbfgs_message', '')} | "
                         f"{fmt(m.get('final_loss'))} | {m.get('wall_time_s', 0):.0f} s |")
        lines.append("")
    return "\n".join(lines)


def collect(cells: Sequence[Cell], seeds: Sequence[int], out: Path,
            extra: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """The finished runs' metrics in ``out`` per cell name (runs made with other flags left out)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for cell in cells:
        for job in jobs_for([cell], seeds, out, extra):
            metrics = _runs.finished_metrics(job)
            if metrics is not None and _runs.recorded_flags(job) == list(job.flags):
                found.setdefault(cell.name, []).append(metrics)
    return found


def split_argv(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """``(own arguments, flags after "--")``."""
    argv = list(argv)
    if "--" in argv:
        return argv[: argv.index("--")], argv[argv.index("--") + 1:]
    return argv, []


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Flags after '--' go to every run of examples/burgers.py (e.g. -- --lbfgs-maxiter 2000).")
    parser.add_argument("--table", type=int, choices=(1, 2), default=1,
                        help="the table of --cells without a 'T:' prefix (default 1)")
    parser.add_argument("--cells", default=None,
                        help="comma-separated cells: Table 1 N_UxN_F (100x10000), Table 2 "
                             "LAYERSxNEURONS (4x20), 'T:' prefix for the table (2:4x20); "
                             "default every cell of --table")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel (default 1)")
    parser.add_argument("--threads", type=int, default=0,
                        help="TensorFlow threads per run, 0 for TensorFlow's choice (default 0)")
    parser.add_argument("--out", default="runs/paper_tables", help="run folders (default runs/paper_tables)")
    parser.add_argument("--json", default=None, help="JSON output (default OUT/paper_tables.json)")
    parser.add_argument("--md", default=None, help="Markdown output (default OUT/paper_tables.md)")
    parser.add_argument("--fresh", action="store_true",
                        help="start every run again (--overwrite), not reusing finished ones")
    parser.add_argument("--report-only", action="store_true",
                        help="run nothing; write the tables from the finished runs in OUT")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; the exit code (0, 1 when a run failed, 2 for bad arguments)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    own, extra = split_argv(argv)
    parser = build_parser()
    args = parser.parse_args(own)
    try:
        cells = parse_cells(args.cells, args.table)
        seeds = [check_int(s, "--seeds") for s in args.seeds]
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"--seeds must be distinct, got {seeds}")
        check_int(args.jobs, "--jobs", 1)
        check_int(args.threads, "--threads", 0)
        extra = check_extra_flags(extra)
        if args.fresh and args.report_only:
            raise ValueError("--fresh and --report-only exclude each other")
    except ValueError as error:
        parser.error(str(error))
    out = Path(args.out)
    jobs = jobs_for(cells, seeds, out, extra)
    failed = None
    if not args.report_only:
        try:
            _runs.check_runs(jobs, args.fresh)
        except _runs.FlagsMismatch as error:
            parser.error(str(error))
        print(f"{len(jobs)} runs ({len(_runs.check_runs(jobs, args.fresh))} to run), "
              f"{args.jobs} at a time, into {out}", flush=True)

        def report(job: _runs.Run, metrics: Mapping[str, Any]) -> None:
            print(f"{job.folder}: relative L2 error {metrics['relative_l2_error']:.2e}"
                  f"{' (reused)' if metrics.get('reused') else ''}", flush=True)

        try:
            _runs.run_all(jobs, args.jobs, args.threads, args.fresh, report)
        except _runs.RunFailed as error:
            failed = error
    command = "python benchmarks/paper_tables.py " + shlex.join(argv)
    summary = summarize(cells, collect(cells, seeds, out, extra), command, extra, _runs.machine_info())
    json_path = Path(args.json or out / "paper_tables.json")
    md_path = Path(args.md or out / "paper_tables.md")
    for path, text in ((json_path, json.dumps(summary, indent=1) + "\n"), (md_path, markdown(summary))):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    print(markdown(summary))
    print(f"wrote {json_path} and {md_path}")
    if failed is not None:
        print(f"paper_tables: error: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
