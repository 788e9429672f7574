#!/usr/bin/env bash
# Downloads Caltech-256 (256_ObjectCategories, 257 classes incl. clutter, ~30,607 JPEGs, ~1.2 GB) into
# DIR (default data/caltech256) and unpacks it. Needs curl or wget and internet.
# The archive contains a few non-image files (e.g. 198.spider/RENAME2): set data.on_bad_image to
# "skip" to skip them with one warning, or delete them.
# usage: scripts/download-caltech256.sh [DIR]
set -euo pipefail
dir="${1:-data/caltech256}"
url="${CALTECH256_URL:-https://data.caltech.edu/records/nyy15-4j048/files/256_ObjectCategories.tar}"
mkdir -p "$dir"
archive="$dir/256_ObjectCategories.tar"
if [ ! -f "$archive" ]; then
  if command -v curl >/dev/null; then curl -fL --retry 3 -o "$archive.part" "$url"
  else wget -O "$archive.part" "$url"; fi
  mv "$archive.part" "$archive"
fi
tar -xf "$archive" -C "$dir"
n=$(find "$dir/256_ObjectCategories" -mindepth 1 -maxdepth 1 -type d | wc -l)
echo "Caltech-256 ready in $dir/256_ObjectCategories ($n class folders; expected 257)"
