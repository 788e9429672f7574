#!/usr/bin/env bash
# Proves the light build on a clean Debian 12 root that has neither LibTorch nor OpenCV:
#   1. makes (once) a minimal Debian 12 root with debootstrap and checks that libtorch-dev and
#      libopencv-dev are not in it;
#   2. copies this working tree in, runs `scripts/install-deps.sh --core`, then a core-only
#      configure, build, ctest and `cmake --install` inside the root (timed);
#   3. replays the same traces with the installed light `isplitee replay` (inside the root) and with
#      the full build's `isplitee replay` (here), every policy, and checks that the two --json
#      outputs agree bit for bit (all but the wall time and the thread count, which are not results).
#
# Usage (as root; needs Debian's archive and a full build in build/):
#   bash scripts/check-light-build.sh [TRACE ...]
# TRACE: trace directories or CSV files. Without them, the full build records the traces of
# configs/fashion-mnist.json with CHECKPOINT (a best.pt) when set, else with the config's cached
# (or freshly trained) model in ./cache.
# Environment: LIGHT_ROOT (default /var/tmp/isplitee-light/root; FRESH=1 makes it anew),
# FULL_BIN (default build/apps/isplitee/isplitee), DEBIAN_MIRROR, JOBS, RESULT (summary file,
# default build-light-check/result.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$(pwd)
ROOT=${LIGHT_ROOT:-/var/tmp/isplitee-light/root}
FULL_BIN=$(realpath -m "${FULL_BIN:-build/apps/isplitee/isplitee}")
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
JOBS=${JOBS:-2}
OUT=$SRC/build-light-check
RESULT=${RESULT:-$OUT/result.txt}
mkdir -p "$OUT"

say() { echo "check-light-build: $*"; }
die() {
  echo "check-light-build: error: $*" >&2
  exit 1
}

[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap and chroot need it)"
[ -x "$FULL_BIN" ] || die "$FULL_BIN: no full build (cmake -S . -B build && cmake --build build --target isplitee)"
if ! command -v debootstrap >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap
fi

# ---- 1. a clean Debian 12 root ------------------------------------------------------------------
if [ "${FRESH:-0}" = "1" ]; then rm -rf "$ROOT"; fi
if [ ! -f "$ROOT/etc/debian_version" ]; then
  say "debootstrap bookworm into $ROOT"
  mkdir -p "$ROOT"
  debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR" >"$OUT/debootstrap.log" 2>&1 ||
    die "debootstrap failed (see $OUT/debootstrap.log)"
fi
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
mounted=()
cleanup() {
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount "${mounted[$i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
for m in proc dev; do
  mkdir -p "$ROOT/$m"
  if ! mountpoint -q "$ROOT/$m"; then
    if [ "$m" = proc ]; then mount -t proc proc "$ROOT/proc"; else mount --bind /dev "$ROOT/dev"; fi
    mounted+=("$ROOT/$m")
  fi
done
in_root() { chroot "$ROOT" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 bash -c "$1"; }

# ---- 2. core-only install, configure, build, test, install --------------------------------------
rm -rf "$ROOT/src/isplitee" "$ROOT/opt/isplitee" "$ROOT/check"
mkdir -p "$ROOT/src/isplitee" "$ROOT/check/traces"
git -C "$SRC" ls-files -z --cached --others --exclude-standard |
  (cd "$SRC" && tar --null -T - -cf -) | tar -C "$ROOT/src/isplitee" -xf -
t0=$(date +%s)
in_root "cd /src/isplitee && bash scripts/install-deps.sh --core" >"$OUT/deps.log" 2>&1 ||
  die "install-deps.sh --core failed in the root (see $OUT/deps.log)"
t1=$(date +%s)
for pkg in libtorch-dev libopencv-dev libopencv-core-dev; do
  if in_root "dpkg-query -W -f='\${Status}' $pkg 2>/dev/null | grep -q 'install ok installed'"; then
    die "$pkg is installed in $ROOT: not a proof"
  fi
done
in_root "test ! -e /usr/include/torch && test ! -e /usr/include/c10 && test ! -e /usr/include/opencv4" ||
  die "LibTorch or OpenCV headers exist in $ROOT"
packages=$(in_root "dpkg-query -W -f='\${Package}\n' | wc -l")
in_root "cd /src/isplitee && cmake -S . -B build-light -DCMAKE_BUILD_TYPE=Release -DISPLITEE_BUILD_VISION=OFF" \
  >"$OUT/configure.log" 2>&1 || die "configure failed (see $OUT/configure.log)"
t2=$(date +%s)
in_root "cd /src/isplitee && cmake --build build-light -j $JOBS" >"$OUT/build.log" 2>&1 ||
  die "build failed (see $OUT/build.log)"
t3=$(date +%s)
in_root "cd /src/isplitee && ctest --test-dir build-light -j $JOBS --output-on-failure -LE slow" \
  >"$OUT/ctest.log" 2>&1 || die "ctest failed (see $OUT/ctest.log)"
t4=$(date +%s)
in_root "cd /src/isplitee && cmake --install build-light --prefix /opt/isplitee" >"$OUT/install.log" 2>&1 ||
  die "install failed (see $OUT/install.log)"
tests=$(grep -E "tests passed" "$OUT/ctest.log" | tail -1)
say "light build in the root: deps $((t1 - t0)) s, configure $((t2 - t1)) s, build $((t3 - t2)) s, ctest $((t4 - t3)) s: $tests"

# ---- 3. the same replay, light (installed, in the root) vs full (here) --------------------------
traces=("$@")
if [ ${#traces[@]} -eq 0 ]; then
  say "recording the traces of configs/fashion-mnist.json with the full build"
  args=(trace --config configs/fashion-mnist.json --out "$OUT/traces")
  if [ -n "${CHECKPOINT:-}" ]; then args+=(--checkpoint "$CHECKPOINT"); fi
  "$FULL_BIN" --quiet "${args[@]}" >"$OUT/trace.log" 2>&1 || die "tracing failed (see $OUT/trace.log)"
  for d in "$OUT"/traces/*/; do traces+=("${d%/}"); done
fi
replay_args=()
for t in "${traces[@]}"; do
  name=$(basename "$t")
  cp -r "$t" "$ROOT/check/traces/$name"
  replay_args+=(--trace "traces/$name")
done
replay_args+=(--policy all --repeats 5 --seed 1 --json --threads 2)
(cd "$ROOT/check" && "$FULL_BIN" --quiet replay "${replay_args[@]}") >"$OUT/replay-full.json"
in_root "cd /check && /opt/isplitee/bin/isplitee --quiet replay ${replay_args[*]}" >"$OUT/replay-light.json"
verdict=0
python3 - "$OUT/replay-full.json" "$OUT/replay-light.json" >"$OUT/compare.txt" <<'EOF' || verdict=1
import json, sys
full, light = (json.load(open(p)) for p in sys.argv[1:3])
for j in (full, light):
    for key in ("wall_seconds", "threads"):  # how long and on how many threads, not what
        j.pop(key)
def numbers(j):
    if isinstance(j, dict): return sum(numbers(v) for v in j.values())
    if isinstance(j, list): return sum(numbers(v) for v in j)
    return 1 if isinstance(j, float) else 0
same = full == light  # floats compare exactly: equal only when bit for bit equal
print(f"{'identical' if same else 'DIFFERENT'}: {len(full['cells'])} cells "
      f"(streams x policies), {numbers(full)} floating-point values compared")
sys.exit(0 if same else 1)
EOF
{
  echo "light build check, $(date -u +%Y-%m-%dT%H:%M:%SZ), git $(git -C "$SRC" rev-parse --short=12 HEAD)"
  echo "root: Debian $(cat "$ROOT/etc/debian_version") (debootstrap --variant=minbase), $packages packages after install-deps.sh --core; libtorch-dev, libopencv-dev: not installed"
  echo "install-deps --core: $((t1 - t0)) s; configure: $((t2 - t1)) s; build: $((t3 - t2)) s; ctest: $((t4 - t3)) s ($tests); install: ok"
  echo "replay (traces: ${#traces[@]}; every policy; 5 repeats), light vs full --json: $(cat "$OUT/compare.txt")"
} | tee "$RESULT"
exit $verdict
