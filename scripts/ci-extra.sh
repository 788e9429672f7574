#!/usr/bin/env bash
# CI checks beyond the normal build and test suite (called at the end of scripts/test.sh): the
# sanitized core under AddressSanitizer + UndefinedBehaviorSanitizer, `scripts/sanitize.sh asan-ci`:
# every core unit test, the data readers and loader, and every fuzz corpus and regression input
# (ctest label "fuzz"). The whole suite under ASan (+ model, distort, train, tracegen, pipeline and
# CLI tests) does not fit CI's time on 2 cores next to the normal build (FUZZING.md, "CI time"):
# `bash scripts/sanitize.sh asan` runs it, and ISPLITEE_CI_ASAN=full makes CI run that instead.
# ThreadSanitizer (bash scripts/sanitize.sh tsan) and fuzzing (bash scripts/fuzz.sh) are run by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${ISPLITEE_CI_ASAN:-ci}" = full ]; then
  bash scripts/sanitize.sh asan "$@"  # extra ctest args, as scripts/test.sh got them
else
  bash scripts/sanitize.sh asan-ci "$@"
fi
