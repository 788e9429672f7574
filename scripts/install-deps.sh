#!/usr/bin/env bash
# Installs every Debian 12 package isplitee needs to build, test, benchmark and run its main job.
# Idempotent: packages already present are skipped. Uses sudo when not root.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake git pkg-config
  # libraries (isplitee::core and isplitee::vision)
  libtorch-dev libopencv-dev libeigen3-dev libcli11-dev libspdlog-dev nlohmann-json3-dev libssl-dev zlib1g-dev
  # fast BLAS for LibTorch (see BENCHMARKS.md: reference BLAS is ~30x slower for matmul)
  libopenblas0-pthread
  # tests and benchmarks
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  # parity tests, export scripts and reference benchmarks (never a runtime dependency)
  python3 python3-torch python3-torchvision python3-numpy python3-scipy python3-skimage python3-pil
  # the embedded default dataset
  dataset-fashion-mnist
  # plots in run reports
  gnuplot-nox
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${#missing[@]} package(s): ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
