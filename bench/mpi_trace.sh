#!/usr/bin/env bash
# Trace generation over MPI ranks: wall and CPU time of `isplitee trace --force` (every trace of the
# config recomputed) at 1 rank (plain, and under mpirun) and N ranks, and whether the trace files
# are byte-identical across them. Needs a trained model of the config in CACHE_DIR (`isplitee train`).
#
#   bash bench/mpi_trace.sh [BUILD_DIR] [CONFIG] [CACHE_DIR] [RANKS] [THREADS_PER_RANK_AT_N] [--set …]
#
# Example (BENCHMARKS.md, "Scale-out with MPI"): the Fashion-MNIST default, 9 traces × 10,000 images:
#   bash bench/mpi_trace.sh build configs/fashion-mnist.json /tmp/mpibench/cache 2 1 --set train.epochs=1
set -euo pipefail
BUILD=${1:-build}
CONFIG=${2:-configs/fashion-mnist.json}
CACHE=${3:-cache}
RANKS=${4:-2}
THREADS_N=${5:-1}
shift $(($# < 5 ? $# : 5))
SETS=("$@")
BIN="$BUILD/apps/isplitee/isplitee"
MPIRUN=(mpirun --oversubscribe --bind-to none)
if [ "$(id -u)" -eq 0 ]; then MPIRUN+=(--allow-run-as-root); fi
export OMP_WAIT_POLICY=PASSIVE
TRACES="$CACHE/traces"
SUMS=$(mktemp -d)
trap 'rm -rf "$SUMS"' EXIT

measure() {  # name, command…
  local name=$1
  shift
  echo "== $name: $*"
  echo "   uptime before: $(uptime)"
  /usr/bin/time -f "   %e s wall, %U s user + %S s sys CPU (max RSS of one process %M KiB)" \
    "$@" --set cache_dir="$CACHE" "${SETS[@]}" 2>&1 |
    grep -E "samples in|trace shards|s wall|error" | sed 's/^/   /'
  (cd "$TRACES" && find . -type f ! -path './.*' -print0 | sort -z | xargs -0 sha256sum) >"$SUMS/$name"
}

measure "1-process-t2" "$BIN" --threads 2 trace --config "$CONFIG" --force
measure "1-process-t1" "$BIN" --threads 1 trace --config "$CONFIG" --force
measure "mpirun-np1-t2" "${MPIRUN[@]}" -np 1 "$BIN" --threads 2 trace --config "$CONFIG" --force
measure "mpirun-np$RANKS-t2" "${MPIRUN[@]}" -np "$RANKS" "$BIN" --threads 2 \
  trace --config "$CONFIG" --force
measure "mpirun-np$RANKS-t$THREADS_N" "${MPIRUN[@]}" -np "$RANKS" "$BIN" --threads "$THREADS_N" \
  trace --config "$CONFIG" --force
for f in "$SUMS"/*; do
  if cmp -s "$f" "$SUMS/1-process-t2"; then
    echo "trace files of $(basename "$f"): identical to 1-process-t2"
  else
    echo "trace files of $(basename "$f"): DIFFER from 1-process-t2"
  fi
done
