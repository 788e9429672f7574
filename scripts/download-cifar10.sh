#!/usr/bin/env bash
# Downloads the CIFAR-10 binary version (data_batch_1..5.bin, test_batch.bin) into DIR
# (default data/cifar10), verifies the archive's MD5 and unpacks it. Needs curl or wget and internet.
# usage: scripts/download-cifar10.sh [DIR]
set -euo pipefail
dir="${1:-data/cifar10}"
url="https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
md5="c32a1d4ab5d03f1284b67883e8d87530"
mkdir -p "$dir"
archive="$dir/cifar-10-binary.tar.gz"
if [ ! -f "$archive" ]; then
  if command -v curl >/dev/null; then curl -fL --retry 3 -o "$archive.part" "$url"
  else wget -O "$archive.part" "$url"; fi
  mv "$archive.part" "$archive"
fi
echo "$md5  $archive" | md5sum -c -
tar -xzf "$archive" -C "$dir"
echo "CIFAR-10 ready in $dir/cifar-10-batches-bin (use data.root: \"$dir\")"
