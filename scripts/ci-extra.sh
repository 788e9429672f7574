#!/usr/bin/env bash
# CI checks beyond the normal build and test suite (called at the end of scripts/test.sh):
# the whole suite under AddressSanitizer + UndefinedBehaviorSanitizer (scripts/sanitize.sh asan),
# which includes replaying every fuzz corpus and regression input (ctest label "fuzz").
# The ThreadSanitizer run (bash scripts/sanitize.sh tsan) and fuzzing itself (bash scripts/fuzz.sh)
# are run by hand; FUZZING.md has the commands and the measured CI time.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/sanitize.sh asan "$@"  # extra ctest args, as scripts/test.sh got them
