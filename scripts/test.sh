#!/usr/bin/env bash
# Installs dependencies, then configures, builds and tests both configurations (what CI runs):
#   1. the light build (-DISPLITEE_BUILD_VISION=OFF, in build-light/): isplitee::core and the light
#      CLI, a minute or two;
#   2. the full build (in build/): everything, with LibTorch and OpenCV.
# Usage: bash scripts/test.sh [extra ctest args]   e.g. bash scripts/test.sh -L unit
# Slow checks (label "slow") are excluded by default; run them with ISPLITEE_SLOW=1 bash scripts/test.sh
# LIGHT_ONLY=1 stops after the light build; SKIP_LIGHT=1 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
ctest_args=(--output-on-failure -j "$JOBS")
if [ "${ISPLITEE_SLOW:-0}" != "1" ]; then ctest_args+=(-LE slow); fi

if [ "${SKIP_LIGHT:-0}" != "1" ]; then
  bash scripts/install-deps.sh --core
  LIGHT_DIR=${LIGHT_BUILD_DIR:-build-light}
  start=$(date +%s)
  cmake -S . -B "$LIGHT_DIR" -DCMAKE_BUILD_TYPE=Release -DISPLITEE_BUILD_VISION=OFF
  cmake --build "$LIGHT_DIR" -j "$JOBS"
  ctest --test-dir "$LIGHT_DIR" "${ctest_args[@]}" "$@"
  echo "test.sh: light build configured, built and tested in $(($(date +%s) - start)) s"
  if [ "${LIGHT_ONLY:-0}" = "1" ]; then exit 0; fi
fi

bash scripts/install-deps.sh
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
cmake --build "$BUILD_DIR" -j "$JOBS"
ctest --test-dir "$BUILD_DIR" "${ctest_args[@]}" "$@"

# ---- Sanitizers (issue 13): the suite again under ASan + UBSan, in build-asan --------------------
# Extra ctest args apply to it too; skipped with ISPLITEE_SANITIZERS=0 (e.g. a quick local run).
if [ "${ISPLITEE_SANITIZERS:-1}" != "0" ]; then bash scripts/ci-extra.sh "$@"; fi
