#!/usr/bin/env bash
# Installs dependencies, configures, builds everything and runs the test suite (what CI runs).
# Usage: bash scripts/test.sh [extra ctest args]   e.g. bash scripts/test.sh -L unit
# Slow checks (label "slow") are excluded by default; run them with ISPLITEE_SLOW=1 bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
cmake --build "$BUILD_DIR" -j "$JOBS"
ctest_args=(--test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS")
if [ "${ISPLITEE_SLOW:-0}" != "1" ]; then ctest_args+=(-LE slow); fi
ctest "${ctest_args[@]}" "$@"
