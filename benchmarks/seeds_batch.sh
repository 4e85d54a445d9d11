#!/bin/bash
# Several seeds of the long example runs at once, on a machine with many cores (one core per
# identification run, 4 per Burgers run), for a fixed wall-time budget; then every run is stopped
# with SIGTERM (an example writes metrics.json at its best point when interrupted, status
# "interrupted") and the results are collected into one JSON.
#
#   bash benchmarks/seeds_batch.sh OUT_DIR BUDGET_SECONDS
#   python benchmarks/checkpoint_errors.py OUT_DIR/burgers/seed*   # Burgers runs stopped early
#
# Runs: the Burgers defaults (examples/burgers.py), seeds 0-2; Burgers identification
# (examples/burgers_identification.py) with its defaults, clean and --noise 0.01, seeds 0-2.
# Writes OUT_DIR/seeds_batch.json: {run name: metrics.json without its error_history}.
set -u
out=${1:?usage: seeds_batch.sh OUT_DIR BUDGET_SECONDS}
budget=${2:?usage: seeds_batch.sh OUT_DIR BUDGET_SECONDS}
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out/logs"
export TF_CPP_MIN_LOG_LEVEL=2 PYTHONUNBUFFERED=1 OPENBLAS_NUM_THREADS=1
pids=()
for s in 0 1 2; do
  TF_NUM_INTRAOP_THREADS=4 TF_NUM_INTEROP_THREADS=2 python3 "$here/examples/burgers.py" --seed $s \
    --out "$out/burgers/seed$s" > "$out/logs/burgers_seed$s.log" 2>&1 < /dev/null &
  pids+=($!)
  for n in 0 0.01; do
    TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 python3 "$here/examples/burgers_identification.py" \
      --seed $s --noise $n --out "$out/identification/seed${s}_noise$n" \
      > "$out/logs/identification_seed${s}_noise$n.log" 2>&1 < /dev/null &
    pids+=($!)
  done
done
end=$((SECONDS + budget))
while [ $SECONDS -lt $end ] && kill -0 "${pids[@]}" 2>/dev/null; do sleep 10; done
kill -TERM "${pids[@]}" 2>/dev/null
wait
python3 - "$out" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
rows = {}
for f in sorted(out.glob("*/*/metrics.json")):
    metrics = json.loads(f.read_text())
    metrics.pop("error_history", None)
    rows[f"{f.parent.parent.name}/{f.parent.name}"] = metrics
(out / "seeds_batch.json").write_text(json.dumps(rows, indent=1) + "\n")
for name, m in rows.items():
    print(name, m.get("status"), m.get("relative_l2_error"), m.get("lambda1_error_pct"), m.get("lambda2_error_pct"))
PY
