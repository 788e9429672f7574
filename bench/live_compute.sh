#!/usr/bin/env bash
# "Compute follows decisions": edge CPU time per sample of a live run, as a fraction of the whole
# network's edge time at batch 1, against the fraction of the network's MACs the run's decisions
# needed (1 − the run's MAC reduction). Goal: time fraction ≤ MAC fraction + 0.10, at batch 1 and 64.
# Also prints the bytes sent per offload against the activation bytes of the chosen splits.
#
#   bash bench/live_compute.sh [BUILD_DIR] [CACHE_DIR] [SAMPLES]
#
# Uses configs/fashion-mnist.json (its trained model from CACHE_DIR), the pristine stream only,
# policy i-splitee, side_info strict, codec fp32, one repeat of SAMPLES samples.
set -euo pipefail
BUILD=${1:-build}
CACHE=${2:-cache}
SAMPLES=${3:-2000}
BIN="$BUILD/apps/isplitee/isplitee"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
export OMP_WAIT_POLICY=PASSIVE
echo "uptime: $(uptime)"
for BATCH in 1 64; do
  "$BIN" --quiet --threads 1 run --config configs/fashion-mnist.json \
    --set cache_dir="$CACHE" --set experiment.mode=live --set cost.side_info=strict \
    --set trace.max_samples="$SAMPLES" --set 'trace.distortions=[{"name":"none"}]' \
    --set 'policies=[{"name":"i-splitee"}]' --set experiment.repeats=1 \
    --set experiment.plots=false --set live.batch="$BATCH" -o "$OUT/b$BATCH" >/dev/null
  python3 - "$OUT/b$BATCH/report.json" "$BATCH" <<'PY'
import json, sys
j = json.load(open(sys.argv[1])); r = j["result"]
cell = next(c for c in r["cells"] if c["policy"] == "i-splitee")
m = {x["name"]: x["mean"] for x in cell["metrics"]}
exits = j["meta"]["model"]["exits"]
macs = [e["macs_millions"] for e in exits]
hist = cell["arm_histogram"]  # K split arms, then cloud-only (no edge MACs)
mac_fraction = sum(h * macs[a] for a, h in enumerate(hist[:len(macs)])) / macs[-1]
full_ms = r["live_units"]["full_network_ms"]
time_fraction = m["edge_ms_per_sample"] / full_ms
split_bytes = r["live_units"]["split_bytes"]
offload = m["offload_pct"] / 100
print(f"batch {sys.argv[2]}: edge {m['edge_ms_per_sample']:.4f} ms/sample, full network "
      f"{full_ms:.4f} ms -> time fraction {time_fraction:.3f}; MAC fraction {mac_fraction:.3f} "
      f"(MAC reduction {100 * (1 - mac_fraction):.1f}%); goal time <= MAC + 0.10: "
      f"{'reached' if time_fraction <= mac_fraction + 0.10 else 'NOT reached'}")
if offload > 0:
    per_offload = m["bytes_sent_per_sample"] / offload
    print(f"  offloads {100 * offload:.1f}%: {per_offload:.1f} bytes per offload; activation bytes "
          f"per split {split_bytes}; latency p50/p95/p99 {m['latency_p50_ms']:.3f}/"
          f"{m['latency_p95_ms']:.3f}/{m['latency_p99_ms']:.3f} ms, {m['throughput_per_s']:.0f} samples/s")
PY
done
