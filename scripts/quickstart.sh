#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: installs dependencies, builds the isplitee CLI, then runs
# the embedded default experiment (Fashion-MNIST: train a multi-exit network, trace it under noise and
# blur, replay I-SplitEE and the baselines, write the report). A second run reuses model and traces.
# Usage: bash scripts/quickstart.sh [extra isplitee run args, e.g. --force or --set experiment.repeats=3]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
cmake --build "$BUILD_DIR" -j "$(nproc)" --target isplitee
exec "$BUILD_DIR/apps/isplitee/isplitee" run --config configs/fashion-mnist.json "$@"
