#!/usr/bin/env bash
# Live split computing over three links and three activation codecs: the README's table "Live runs
# per link and codec". For each link (loopback = the embedded gRPC cloud with no emulation,
# configs/net/wifi.csv, configs/net/lte.csv) and each codec (fp32, fp16, int8), one live run of
# configs/fashion-mnist.json (its trained model from CACHE_DIR): policy i-splitee, side_info strict,
# paper cost, live.batch 1, one repeat, the first SAMPLES test images of three streams (pristine,
# Gaussian noise σ 0.15, Gaussian blur σ 1.5). Prints one markdown row per link and codec: the
# mean over the three streams of accuracy, cost cut, offload share, bytes sent per offload, the
# latency percentiles and the fallback share.
#
#   bash bench/live_links.sh [BUILD_DIR] [CACHE_DIR] [SAMPLES]
set -euo pipefail
BUILD=${1:-build}
CACHE=${2:-cache}
SAMPLES=${3:-2000}
BIN="$BUILD/apps/isplitee/isplitee"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
export OMP_WAIT_POLICY=PASSIVE
echo "uptime: $(uptime)"
STREAMS='[{"name":"none"},{"name":"gaussian_noise","params":{"sigma":0.15,"units":"unit"}},{"name":"gaussian_blur","params":{"sigma":1.5}}]'
echo "| link | codec | accuracy % | cost cut % | offload % | bytes per offload | latency p50 ms | p95 ms | p99 ms | fallbacks |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for NET in none configs/net/wifi.csv configs/net/lte.csv; do
  for CODEC in fp32 fp16 int8; do
    RUN="$OUT/$(basename "$NET" .csv)-$CODEC"
    "$BIN" --quiet --threads 1 run --config configs/fashion-mnist.json \
      --set cache_dir="$CACHE" --set experiment.mode=live --set cost.side_info=strict \
      --set trace.max_samples="$SAMPLES" --set "trace.distortions=$STREAMS" \
      --set 'policies=[{"name":"i-splitee"}]' --set experiment.repeats=1 \
      --set experiment.plots=false --set live.codec="$CODEC" --set live.network="$NET" \
      -o "$RUN" >/dev/null
    python3 - "$RUN/report.json" "$NET" "$CODEC" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["result"]
cells = [c for c in r["cells"] if c["policy"] == "i-splitee"]
def mean(name):
    return sum(next(m["mean"] for m in c["metrics"] if m["name"] == name) for c in cells) / len(cells)
offload = mean("offload_pct") / 100
per_offload = mean("bytes_sent_per_sample") / offload if offload > 0 else 0
link = "loopback" if sys.argv[2] == "none" else sys.argv[2].split("/")[-1].removesuffix(".csv")
fallbacks = mean("fallback_fraction") * 100
print(f"| {link} | {sys.argv[3]} | {mean('accuracy'):.2f} | {mean('cost_reduction'):.1f} | "
      f"{100 * offload:.1f} | {per_offload:.0f} | {mean('latency_p50_ms'):.3f} | "
      f"{mean('latency_p95_ms'):.3f} | {mean('latency_p99_ms'):.3f} | {fallbacks:.2f} % |")
PY
  done
done
