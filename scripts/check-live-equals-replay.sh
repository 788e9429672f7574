#!/usr/bin/env bash
# Live equals replay on the Fashion-MNIST default: runs configs/fashion-mnist.json twice on the
# pristine stream and two distorted ones (Gaussian noise σ 0.08, Gaussian blur σ 1), policy
# i-splitee (plus cloud-only and final-exit, which exercise the cloud and the whole edge), paper
# cost, side_info strict, codec fp32, the whole test split, 5 repeats: once replaying the model's
# traces, once live with the embedded gRPC cloud. Every step (arm, exit, offload, prediction,
# correctness, cost, reward) and every metric both modes compute must be identical; prints the
# comparison and exits 1 on the first difference.
#
# The traces are recorded at batch 1, as the live edge runs: LibTorch's convolutions round the last
# bit of a float differently at other batch sizes (README, "Live edge and cloud").
#
#   bash scripts/check-live-equals-replay.sh [BUILD_DIR] [CACHE_DIR]
# Trains the model into CACHE_DIR first when it is not there (the main job's model; ~15 min).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
CACHE=${2:-cache}
BIN="$BUILD/apps/isplitee/isplitee"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
export OMP_WAIT_POLICY=PASSIVE
STREAMS='[{"name":"none"},{"name":"gaussian_noise","params":{"sigma":0.08,"units":"unit"}},{"name":"gaussian_blur","params":{"sigma":1.0}}]'
common=(--quiet run --config configs/fashion-mnist.json --set cache_dir="$CACHE"
  --set cost.side_info=strict --set trace.batch_size=1 --set "trace.distortions=$STREAMS"
  --set 'policies=[{"name":"i-splitee"},{"name":"cloud-only"},{"name":"final-exit"}]'
  --set experiment.record_steps=true --set experiment.plots=false)
start=$(date +%s)
"$BIN" "${common[@]}" --set experiment.mode=replay -o "$OUT/replay" >/dev/null
"$BIN" "${common[@]}" --set experiment.mode=live --set live.codec=fp32 -o "$OUT/live" >/dev/null
python3 - "$OUT/replay" "$OUT/live" "$(($(date +%s) - start))" <<'PY'
import csv, json, sys
replay, live, seconds = sys.argv[1], sys.argv[2], sys.argv[3]
a = list(csv.reader(open(f"{replay}/steps.csv")))
b = list(csv.reader(open(f"{live}/steps.csv")))
if len(a) != len(b):
    sys.exit(f"steps.csv: {len(a)} rows replayed, {len(b)} live")
for i, (x, y) in enumerate(zip(a, b)):
    if x[:13] != y[:13]:
        sys.exit(f"steps.csv row {i} differs:\n  replay {x[:13]}\n  live   {y[:13]}")
ra = json.load(open(f"{replay}/report.json"))["result"]["cells"]
rb = json.load(open(f"{live}/report.json"))["result"]["cells"]
compared = 0
for ca, cb in zip(ra, rb):
    mb = {m["name"]: m for m in cb["metrics"]}
    for m in ca["metrics"]:
        if m["name"] in ("regret", "dynamic_regret", "best_fixed_arm"):
            continue  # need the stored trace: not computed live
        if mb.get(m["name"]) != m:
            sys.exit(f"{ca['stream']} / {ca['policy']}: metric {m['name']} differs:\n"
                     f"  replay {m}\n  live   {mb.get(m['name'])}")
        compared += 1
    for h in ("arm_histogram", "exit_histogram"):
        if ca[h] != cb[h]:
            sys.exit(f"{ca['stream']} / {ca['policy']}: {h} differs")
offloads = sum(1 for r in b[1:] if r[7] == "1")
exits = sum(1 for r in b[1:] if r[6] == "1")
print(f"live equals replay: {len(a) - 1} steps identical ({offloads} offloads to the embedded "
      f"cloud, {exits} early exits), {compared} metrics of {len(ra)} cells identical; "
      f"{seconds} s for both runs")
PY
