#!/usr/bin/env bash
# Fuzzes isplitee's parsers of untrusted input with libFuzzer (FUZZING.md).
#
# Usage: bash scripts/fuzz.sh [TARGET|all|list] [SECONDS]      (default: all, 60 s per target)
# Builds the libFuzzer binaries with clang (ASan + UBSan) in build-fuzz (ISPLITEE_FUZZ=ON) and runs
# each target for SECONDS, one after the other, at nice 19. Seeds: tests/fuzz/corpus/TARGET and
# tests/fuzz/regressions/TARGET (read only); inputs found while fuzzing: build-fuzz/corpus/TARGET;
# findings (crash-*, leak-*, timeout-*, oom-*): build-fuzz/artifacts/TARGET/. An input that takes
# longer than FUZZ_TIMEOUT seconds (10) is a hang, one that needs more than FUZZ_RSS_MB MiB (2048)
# is a runaway allocation. Prints one summary line per target (also appended to
# build-fuzz/fuzz-summary.tsv). Exit status 1 when any target found something.
# Environment: FUZZ_BUILD_DIR, FUZZ_JOBS (2), FUZZ_RSS_MB, FUZZ_TIMEOUT, FUZZ_CXX (clang++-14),
# FUZZ_BUILD=0 (run the binaries already in FUZZ_BUILD_DIR without configuring or building).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
targets_all=(config policy_arg trace_csv npy trace_manifest idx cifar report_json checkpoint_meta
             activation_tensor activation_message)  # activation_message: a build with gRPC
what=${1:-all}
seconds=${2:-60}
build=${FUZZ_BUILD_DIR:-build-fuzz}
rss=${FUZZ_RSS_MB:-2048}
timeout=${FUZZ_TIMEOUT:-10}
cxx=${FUZZ_CXX:-$(command -v clang++-14 || command -v clang++ || true)}

if [ "$what" = list ]; then printf '%s\n' "${targets_all[@]}"; exit 0; fi
if [ "$what" = all ]; then
  targets=("${targets_all[@]}")
elif printf '%s\n' "${targets_all[@]}" | grep -qx -- "$what"; then
  targets=("$what")
else
  echo "fuzz.sh: unknown target '$what' (targets: ${targets_all[*]})" >&2
  exit 2
fi
if [ -z "$cxx" ]; then
  echo "fuzz.sh: clang++ not found (Debian: apt-get install clang-14 libclang-rt-14-dev)" >&2
  exit 2
fi

launcher=()
if command -v ccache >/dev/null 2>&1 && [ "${CCACHE_DISABLE:-0}" != "1" ]; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
if [ "${FUZZ_BUILD:-1}" != "0" ]; then
  cmake -S . -B "$build" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Release -DISPLITEE_FUZZ=ON \
    -DISPLITEE_BUILD_APPS=OFF -DISPLITEE_BUILD_BENCH=OFF "${launcher[@]}" >/dev/null
  nice -n 10 cmake --build "$build" -j "${FUZZ_JOBS:-2}" --target "${targets[@]/#/fuzz_}"
fi

export ASAN_OPTIONS="detect_leaks=1:detect_stack_use_after_return=1:suppressions=$root/tests/sanitizers/asan.supp"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$root/tests/sanitizers/ubsan.supp"
export LSAN_OPTIONS="suppressions=$root/tests/sanitizers/lsan.supp:print_suppressions=0"
status=0
for t in "${targets[@]}"; do
  work="$build/corpus/$t" artifacts="$build/artifacts/$t" log="$build/logs/$t.log"
  mkdir -p "$work" "$artifacts" "$(dirname "$log")"
  seeds=("tests/fuzz/corpus/$t")
  [ -d "tests/fuzz/regressions/$t" ] && seeds+=("tests/fuzz/regressions/$t")
  args=(-max_total_time="$seconds" -rss_limit_mb="$rss" -malloc_limit_mb="$rss" -timeout="$timeout"
        -print_final_stats=1 -artifact_prefix="$artifacts/")
  [ -f "tests/fuzz/dict/$t.dict" ] && args+=(-dict="tests/fuzz/dict/$t.dict")
  echo "fuzz.sh: $t for $seconds s (log: $log)"
  set +e
  start=$SECONDS
  nice -n 19 "$build/tests/fuzz/fuzz_$t" "${args[@]}" "$work" "${seeds[@]}" >"$log" 2>&1
  rc=$?
  ran=$((SECONDS - start))  # less than asked when a finding stopped the run
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  corpus=$(find "$work" -type f | wc -l)  # the corpus directory after the run
  findings=$(find "$artifacts" -type f | wc -l)
  line="$t	${ran}s of ${seconds}s	${execs:-?} execs	${rate:-?} exec/s	corpus $corpus	findings $findings	rc $rc"
  echo "$line" | tee -a "$build/fuzz-summary.tsv"
  if [ "$rc" -ne 0 ] || [ "$findings" -ne 0 ]; then
    status=1
    grep -m3 -E 'ERROR|SUMMARY|fuzz contract|deadly|leak|timeout|out-of-memory' "$log" || true
  fi
done
exit $status
