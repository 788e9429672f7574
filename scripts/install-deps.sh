#!/usr/bin/env bash
# Installs the Debian 12 packages isplitee needs. Idempotent: packages already present are skipped.
# Uses sudo when not root.
#   bash scripts/install-deps.sh          everything: build, test, benchmark and run the main job
#   bash scripts/install-deps.sh --core   the light build only (-DISPLITEE_BUILD_VISION=OFF):
#                                         isplitee::core and `isplitee replay/report/list/config`,
#                                         with its tests; no LibTorch, no OpenCV
set -euo pipefail

CORE_PACKAGES=(
  # toolchain
  build-essential cmake
  # isplitee::core and the CLI
  libeigen3-dev libcli11-dev libspdlog-dev nlohmann-json3-dev libssl-dev libboost-math-dev
  # tests and benchmarks (numpy: the .npy parity test)
  libgtest-dev libgmock-dev libbenchmark-dev python3-numpy
  # plots in run reports (`isplitee report`)
  gnuplot-nox
)
VISION_PACKAGES=(
  git pkg-config
  # isplitee::vision
  libtorch-dev libopencv-dev zlib1g-dev
  # fast BLAS for LibTorch (see BENCHMARKS.md: reference BLAS is ~30x slower for matmul)
  libopenblas0-pthread
  # oneDNN headers for the CPU inference engine (the library LibTorch already links; see BENCHMARKS.md)
  libdnnl-dev
  googletest
  # parity tests, export scripts and reference benchmarks (never a runtime dependency)
  python3 python3-torch python3-torchvision python3-scipy python3-skimage python3-pil
  # the embedded default dataset
  dataset-fashion-mnist
  # the live cloud over the network (isplitee::grpc, `isplitee serve`); openssl: the TLS test's
  # self-signed certificate
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler openssl
  # scale-out over the ranks of mpirun / Slurm's srun (isplitee::mpi; README, "MPI and Slurm")
  libopenmpi-dev openmpi-bin
)

case "${1:-}" in
  --core) PACKAGES=("${CORE_PACKAGES[@]}") ;;
  "") PACKAGES=("${CORE_PACKAGES[@]}" "${VISION_PACKAGES[@]}") ;;
  *)
    echo "usage: bash scripts/install-deps.sh [--core]" >&2
    exit 2
    ;;
esac

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
