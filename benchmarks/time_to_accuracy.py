"""Time to accuracy of an example (Burgers by default): configurations against each other, over seeds.

Each configuration (a name and flags of ``examples/EXAMPLE.py``, ``--example``, e.g. ``ssbfgs="--method SSBFGS
--adam-steps 300"``) runs once per seed into ``OUT/<config>/seed<N>`` (``--jobs`` at a time, each
with ``--threads`` TensorFlow threads; resumable like ``paper_tables.py``: finished runs are
reused, ``--fresh`` redoes them). From each run's ``error_history`` (training time with the error
evaluations' own cost left out, the warm-up included, sampled every ``--error-every`` seconds)
it reads the training time at which the error (``--key``, default the relative L2 error) first
reached each threshold (``--thresholds``), and the error reached by given times (``--times``). Writes the JSON (every run's history, the flags, the machine) and a
Markdown table: per configuration, the median time to each threshold over the seeds that reached
it ("k/n" seeds), and the median error at each time.

    python benchmarks/time_to_accuracy.py --seeds 0 1 2 3 4 --jobs 2 --threads 1 \\
        --config "lbfgs=--method L-BFGS-B --adam-steps 1000 --lbfgs-maxiter 6000" \\
        --config "ssbfgs=--method SSBFGS --adam-steps 1000 --lbfgs-maxiter 4000" \\
        --out runs/tta --json benchmarks/time_to_accuracy.json --md benchmarks/time_to_accuracy.md

Seeds run before: ``--include REPORT.json`` adds the runs an earlier report of this script
recorded (its JSON keeps every run's error history), for the seeds not asked for now, where the
configuration has the same name and flags and the report was made on the same CPU with the same
``--example``, ``--threads`` and ``--error-every``; anything else, or a report that would add no
run, is an error. The report names the included report, its command, its date and the seeds taken
from it, e.g. seeds 3 and 4 run now and added to an earlier run of seeds 0-2 on this machine:

    python benchmarks/time_to_accuracy.py --seeds 3 4 --threads 2 --error-every 2 \
        --config "long=--lbfgs-maxiter 10000 --time-limit 600" --include runs/tta_long_seeds012.json \
        --out runs/tta_long --json runs/tta_long_seeds01234.json

The issue's targets (2-core CPU, the paper's setup, the example's defaults): 6.7e-4 within 45 s on
at least 3 of seeds 0-4; 1e-5 within 5 minutes on the median of seeds 0-4.

Runs made by hand (resumed from one checkpoint with another method, say) are read, not run, with
``--run NAME=DIR`` (a finished run's folder, its metrics.json; repeat for several, and a name
given twice collects several seeds): the same tables from their histories, the report naming each
folder and the run's own settings, e.g. two runs resumed from one checkpoint:

    python benchmarks/time_to_accuracy.py --example schrodinger --run lbfgsb=runs/nls_lbfgsb \\
        --run ssbfgs=runs/nls_ssbfgs --thresholds 1e-2 5e-3 2e-3 --times 1400 1600 1900

Equal training time on another example: ``--time-limit`` stops each run after so many seconds of
training by the error history's clock, e.g. the identification examples' largest coefficient
error in percent:

    python benchmarks/time_to_accuracy.py --example kdv_identification --key lambda_error_pct \
        --thresholds 10 1 0.5 0.1 --times 60 120 --seeds 0 1 2 --jobs 2 --threads 1 \
        --config "lbfgs=--time-limit 120" --config "ssbfgs=--method SSBFGS --time-limit 120" \
        --out runs/tta_kdv --json benchmarks/equal_time_kdv.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import statistics
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _runs  # noqa: E402  (benchmarks/_runs.py: the shared subprocess runner)

THRESHOLDS = (1e-2, 1e-3, 6.7e-4, 1e-4, 1e-5)
TIMES = (45.0, 60.0, 120.0, 300.0)
KEY = "relative_l2_error"


def time_to(history: Sequence[Mapping[str, Any]], threshold: float, key: str = KEY) -> float | None:
    """Training seconds at the first sample with error (``key``) <= ``threshold``; None if never."""
    for record in history:
        value = record.get(key)
        if value is not None and value <= threshold:
            return float(record["time_s"])
    return None


def error_at(history: Sequence[Mapping[str, Any]], seconds: float, key: str = KEY,
             finished: bool = False) -> float | None:
    """The smallest error (``key``) sampled up to ``seconds`` of training: the same reading as
    :func:`time_to` (``error_at(h, s) <= e`` exactly when ``time_to(h, e) <= s``). Not what a run
    stopped then keeps: it keeps its lowest-loss point, whose error is higher where the error rises
    late. None when the run has no sample by then, or when it ended before then without having
    ``finished`` its plan (stopped by ``--time-limit``, interrupted: what it would have reached is
    unknown; a run stopped by ``--time-limit`` ends with a sample at or after the limit). A run that
    finished its plan earlier counts with its samples: its training was over."""
    values = [r[key] for r in history if r["time_s"] <= seconds and r.get(key) is not None]
    if not values or (history[-1]["time_s"] < seconds and not finished):
        return None
    return float(min(values))


def parse_config(text: str) -> tuple[str, list[str]]:
    """``"name=--flag value ..."`` -> ``(name, flags)``."""
    name, sep, flags = text.partition("=")
    if not sep or not name.strip().isidentifier():
        raise argparse.ArgumentTypeError(
            f"expected NAME=FLAGS with an identifier NAME, e.g. 'ssbfgs=--method SSBFGS', got {text!r}")
    words = shlex.split(flags)
    own = [w for w in words if w.split("=")[0] in ("--seed", "--out", "--threads", "--error-every")]
    if own:
        raise argparse.ArgumentTypeError(f"config {name!r} must not set {own}: this script sets them")
    return name.strip(), words


def final_error(metrics: Mapping[str, Any], key: str = KEY) -> float | None:
    """A run's error at its end: metrics.json's ``key``, else its error history's last sample."""
    if metrics.get(key) is not None:
        return float(metrics[key])
    history = metrics.get("error_history") or []
    return float(history[-1][key]) if history and history[-1].get(key) is not None else None


def best_sample(history: Sequence[Mapping[str, Any]], key: str = KEY) -> dict[str, float] | None:
    """The history's smallest error (``key``) and the training time it was sampled at; None
    without samples. Training ends at its best loss, not at this point: the reference is not
    part of training, so the run's own result is its final error."""
    samples = [r for r in history if r.get(key) is not None]
    if not samples:
        return None
    best = min(samples, key=lambda r: r[key])
    return {"error": float(best[key]), "time_s": float(best["time_s"])}


def summarize(runs: Mapping[str, list[dict[str, Any]]], key: str = KEY,
              thresholds: Sequence[float] = THRESHOLDS, times: Sequence[float] = TIMES) -> list[dict[str, Any]]:
    """One row per configuration: medians over its seeds."""
    rows = []
    for name, metrics in runs.items():
        histories = [m.get("error_history") or [] for m in metrics]
        row: dict[str, Any] = {"config": name, "seeds": [m["seed"] for m in metrics],
                               "final_error": [final_error(m, key) for m in metrics],
                               "best_sampled": [best_sample(h, key) for h in histories]}
        for threshold in thresholds:
            times_to = [time_to(h, threshold, key) for h in histories]
            reached = [t for t in times_to if t is not None]
            row[f"time_to_{threshold:g}"] = times_to
            row[f"median_time_to_{threshold:g}"] = statistics.median(reached) if reached else None
        for seconds in times:
            errors = [error_at(h, seconds, key, finished=m.get("status") == "completed")
                      for h, m in zip(histories, metrics)]
            known = [e for e in errors if e is not None]
            row[f"error_at_{seconds:g}s"] = errors
            row[f"median_error_at_{seconds:g}s"] = statistics.median(known) if known else None
        rows.append(row)
    return rows


def markdown(rows: Sequence[Mapping[str, Any]], configs: Mapping[str, list[str]], command: str,
             machine: Mapping[str, Any], key: str = KEY, thresholds: Sequence[float] = THRESHOLDS,
             times: Sequence[float] = TIMES, runs: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
             included: Sequence[Mapping[str, Any]] = ()) -> str:
    def seconds(row, threshold):
        times = row[f"time_to_{threshold:g}"]
        reached = [t for t in times if t is not None]
        if not reached:
            return f"- (0/{len(times)})"
        return f"{statistics.median(reached):.0f} s ({len(reached)}/{len(times)})"

    def error(value):
        return "-" if value is None else f"{value:.1e}"

    lines = ["Generated by `benchmarks/time_to_accuracy.py` with:", "", f"    {command}", "",
             f"Machine: {machine['cpu']}, {machine['cores']} cores; TensorFlow {machine['tensorflow']}, "
             f"SciPy {machine['scipy']}, NumPy {machine['numpy']}; {machine['date']}. One run per seed; "
             "training time includes the warm-up and leaves out the error evaluations.", ""]
    lines += [f"The runs of seeds {', '.join(map(str, note['seeds']))} come from an earlier report, `{note['report']}` "
              f"({note['date']}), made with:\n\n    {note['command']}\n" for note in included]
    lines += [f"- `{name}`: `{' '.join(flags)}`" for name, flags in configs.items()]
    lines += ["", f"Median training time to reach the error `{key}` (seeds that reached it / seeds):", "",
              "| config | " + " | ".join(f"{t:g}" for t in thresholds) + " |",
              "|---|" + "---|" * len(thresholds)]
    lines += [f"| {r['config']} | " + " | ".join(seconds(r, t) for t in thresholds) + " |" for r in rows]
    lines += ["", "Median error reached by a training time (best so far), and at the end of the run:", "",
              "| config | " + " | ".join(f"{s:g} s" for s in times) + " | end |",
              "|---|" + "---|" * (len(times) + 1)]

    def end(row):
        known = [e for e in row["final_error"] if e is not None]
        return error(statistics.median(known) if known else None)

    lines += [f"| {r['config']} | " + " | ".join(error(r[f'median_error_at_{s:g}s']) for s in times)
              + f" | {end(r)} |" for r in rows]
    if runs:
        lines += ["", "Every run (the best sampled error is not what the run keeps: training ends at its "
                  "best loss, and the reference plays no part in it):", "",
                  "| config | seed | status | Adam steps | second-phase iterations | training time | "
                  "final error | best sampled error (at) |", "|---|---|---|---|---|---|---|---|"]
        for row in rows:  # the runs of each configuration, in the order summarize read them
            for m, best in zip(runs[row["config"]], row["best_sampled"]):
                time_s = m.get("training_time_s")
                lines.append(f"| {row['config']} | {m.get('seed')} | {m.get('status')} | {m.get('adam_steps')} | "
                             f"{m.get('lbfgs_nit')} | {'-' if time_s is None else f'{time_s:.0f} s'} | "
                             f"{error(final_error(m, key))} | "
                             + ("-" if best is None else f"{best['error']:.1e} ({best['time_s']:.0f} s)") + " |")
    return "\n".join(lines) + "\n"


def included_runs(path: str | Path, parser: argparse.ArgumentParser, args: argparse.Namespace,
                  configs: Mapping[str, list[str]]) -> tuple[dict[str, list[dict[str, Any]]], dict[str, Any]]:
    """The runs of an earlier report (its JSON) to add to this one: per configuration of this
    report, the recorded runs of the seeds not in ``args.seeds``. The report must have been made
    on a machine with the same CPU, with the same example, key, threads and error sampling (read
    from its command with this script's ``parser``), and every configuration it shares a name
    with must have the same flags.
    Returns the runs by configuration and a note for the report (path, command, date, seeds)."""
    try:
        report = json.loads(Path(path).read_text())
        earlier = parser.parse_args(shlex.split(report["command"])[2:])
        recorded, recorded_configs = report["runs"], report["configs"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        parser.error(f"--include {path}: expected the JSON of an earlier time_to_accuracy.py report ({error})")
    for name in ("example", "key", "threads", "error_every"):
        if getattr(earlier, name) != getattr(args, name):
            parser.error(f"--include {path}: its runs were made with --{name.replace('_', '-')} "
                         f"{getattr(earlier, name)}, this report asks for {getattr(args, name)}")
    cpu, recorded_cpu = _runs.machine_info()["cpu"], report.get("machine", {}).get("cpu")
    if recorded_cpu != cpu:  # runs are deterministic on one machine only, and clocks differ
        parser.error(f"--include {path}: its runs were made on {recorded_cpu!r}, this machine is {cpu!r}")
    runs: dict[str, list[dict[str, Any]]] = {}
    for name, flags in configs.items():
        if name not in recorded_configs:
            continue
        if list(recorded_configs[name]) != list(flags):
            parser.error(f"--include {path}: config {name!r} was run with {recorded_configs[name]}, "
                         f"this report asks for {flags}")
        runs[name] = [m for m in recorded.get(name, []) if m.get("seed") not in args.seeds]
    if not any(runs.values()):
        parser.error(f"--include {path}: adds no run (it has no run of configs {sorted(configs)} "
                     f"for seeds other than {args.seeds}; its configs are {sorted(recorded_configs)})")
    note = {"report": str(path), "command": report["command"], "date": report.get("machine", {}).get("date"),
            "seeds": sorted({m["seed"] for ms in runs.values() for m in ms})}
    return runs, note


def run_settings(metrics: Mapping[str, Any]) -> str:
    """A finished run's flags as its metrics.json recorded them (``settings.run`` and
    ``settings.problem``, those not None/False), for the report of a ``--run``."""
    settings = metrics.get("settings", {})
    flags = {**settings.get("problem", {}), **settings.get("run", {})}
    return " ".join(_runs.flag_words({k: v for k, v in sorted(flags.items()) if k != "out"}))


def finished_runs(parser: argparse.ArgumentParser, pairs: Sequence[tuple[str, list[str]]], example: str,
                  config_names: set[str]) -> list[tuple[str, tuple[str, dict[str, Any]]]]:
    """``--run NAME=DIR``: each folder's metrics.json, checked: a run of ``example`` that ended
    with samples in its error history; a name may not also be a ``--config``."""
    out = []
    for name, words in pairs:
        if name in config_names:
            parser.error(f"--run {name}: also a --config name")
        folder = " ".join(words)
        try:
            metrics = json.loads((Path(folder) / "metrics.json").read_text())
        except (OSError, ValueError) as error:
            parser.error(f"--run {name}={folder}: expected a finished run's folder with metrics.json ({error})")
        if metrics.get("example", metrics.get("settings", {}).get("example")) != example:
            parser.error(f"--run {name}={folder}: a run of {metrics.get('example')!r}, not --example {example}")
        if not metrics.get("error_history"):
            parser.error(f"--run {name}={folder}: its metrics.json has no error_history")
        out.append((name, (folder, metrics)))
    return out


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=parse_config, action="append", default=[],
                        help="NAME=FLAGS of examples/EXAMPLE.py (repeat for several)")
    parser.add_argument("--run", type=parse_config, action="append", default=[], metavar="NAME=DIR",
                        help="a finished run's folder to read instead of running (repeat for several)")
    parser.add_argument("--example", default="burgers", help="the example script (default burgers)")
    parser.add_argument("--key", default=KEY, help=f"the error in error_history (default {KEY})")
    parser.add_argument("--thresholds", type=float, nargs="+", default=list(THRESHOLDS),
                        help="errors whose time to reach is reported (default the Burgers ones)")
    parser.add_argument("--times", type=float, nargs="+", default=list(TIMES),
                        help="training times whose error is reported (default 45 60 120 300)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="TF threads per run (default 1)")
    parser.add_argument("--error-every", type=float, default=1.0,
                        help="seconds of training between error samples (default 1)")
    parser.add_argument("--out", default="runs/time_to_accuracy")
    parser.add_argument("--fresh", action="store_true", help="redo finished runs")
    parser.add_argument("--json", default=None)
    parser.add_argument("--md", default=None)
    parser.add_argument("--include", action="append", default=[], metavar="REPORT",
                        help="an earlier report's JSON: add its runs of the seeds not run now (same "
                             "CPU, configs, --example, --threads, --error-every)")
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.threads < 0 or args.error_every <= 0 or min(args.seeds) < 0:
        parser.error("expected --jobs >= 1, --threads >= 0, --error-every > 0 and seeds >= 0")
    if min(args.thresholds) <= 0 or min(args.times) <= 0:
        parser.error("expected --thresholds and --times > 0")
    if not (_runs.ROOT / "examples" / f"{args.example}.py").is_file():
        parser.error(f"--example: no examples/{args.example}.py")
    configs = dict(args.config)
    if len(configs) != len(args.config):
        parser.error("config names must be unique")
    if not configs and not args.run:
        parser.error("give at least one --config NAME=FLAGS or --run NAME=DIR")
    read_runs = finished_runs(parser, args.run, args.example, set(configs))
    included = [included_runs(path, parser, args, configs) for path in args.include]
    out = Path(args.out)
    jobs = {name: [_runs.Run(args.example, out / name / f"seed{seed}",
                             ("--seed", str(seed), *flags, "--error-every", f"{args.error_every:g}"))
                   for seed in args.seeds] for name, flags in configs.items()}
    # seed by seed, the configurations in turn: a slow stretch of a shared machine hits them alike
    every = [jobs[name][i] for i in range(len(args.seeds)) for name in configs]
    try:
        metrics = _runs.run_all(every, args.jobs, args.threads, args.fresh,
                                report=lambda job, m: print(f"{job.folder}: {m['status']}, {args.key} "
                                                            f"{final_error(m, args.key)}", flush=True))
    except _runs.FlagsMismatch as error:
        parser.error(str(error))
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in configs}
    for job, m in zip(every, metrics):
        runs[job.folder.parent.name].append(m)
    for name, (folder, m) in read_runs:
        runs.setdefault(name, []).append(m)
        configs.setdefault(name, [])
        configs[name] = configs[name] + [f"(read from {folder}: {run_settings(m)})"]
    for earlier, _ in included:
        for name, ms in earlier.items():
            known = {m["seed"] for m in runs[name]}
            runs[name] += [m for m in ms if m["seed"] not in known]
    for name in runs:
        runs[name].sort(key=lambda m: m["seed"])
    rows = summarize(runs, args.key, args.thresholds, args.times)
    command = "python benchmarks/time_to_accuracy.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    machine = _runs.machine_info()
    finished = [(job.folder / "metrics.json").stat().st_mtime for job in every
                if (job.folder / "metrics.json").is_file()]
    finished += [(Path(folder) / "metrics.json").stat().st_mtime for _, (folder, _) in read_runs]
    if finished:  # when the runs were made, not when this report was written
        machine["date"] = datetime.datetime.fromtimestamp(max(finished), datetime.timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC (the last run's end)")
    report = {"command": command, "example": args.example, "key": args.key, "configs": configs,
              "machine": machine, "included": [note for _, note in included], "rows": rows,
              "runs": {name: [{k: m.get(k) for k in ("seed", "status", args.key, "adam_steps", "lbfgs_nit",
                                                     "lbfgs_nfev", "training_time_s", "error_history")}
                              for m in ms] for name, ms in runs.items()}}
    text = markdown(rows, configs, command, machine, args.key, args.thresholds, args.times, report["runs"],
                    report["included"])
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    if args.md:
        Path(args.md).write_text(text)
    return report


if __name__ == "__main__":
    main()
