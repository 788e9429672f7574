#!/usr/bin/env bash
# Builds isplitee under a sanitizer in its own build directory and runs the tests; any report fails.
#
# Usage: bash scripts/sanitize.sh [asan|asan-ci|tsan] [extra ctest args]
#   asan     everything (core, vision, the CLI, all tests incl. integration, kill tests and
#            fuzz-corpus replays) with AddressSanitizer + UndefinedBehaviorSanitizer and libstdc++
#            bounds assertions, in build-asan; runs the non-slow suite. Every report is fatal; leak
#            detection is on.
#   asan-ci  what CI runs (scripts/ci-extra.sh), the same build directory and options: every core
#            unit test, the data readers and loader (unit_data) and every fuzz-corpus replay
#            (config, traces, NPY, reports, policies, activations, IDX, CIFAR, checkpoint
#            metadata). `asan` runs the rest: model, distort, train, tracegen, pipeline, the CLI.
#   tsan     the threaded parts with ThreadSanitizer, in build-tsan: the replay threads (sim), the
#            data loader (data), and training and trace generation, which run the loader (train,
#            tracegen); runs their tests. The live edge/cloud code joins this list when it exists.
#            SANITIZE_VISION=0: the light build (no LibTorch/OpenCV), replay threads only.
# Environment: BUILD_DIR (build-asan / build-tsan), JOBS (nproc), ISPLITEE_SLOW=1 (also slow
# tests), CCACHE_DISABLE=1 (no ccache). LibTorch, OpenCV and other system libraries are not
# instrumented; reports inside them that are not our bug are suppressed, narrowly and with a
# reason per entry, in tests/sanitizers/*.supp.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
mode=${1:-asan}
[ $# -gt 0 ] && shift
JOBS=${JOBS:-$(nproc)}
supp=$root/tests/sanitizers

configure=(-DCMAKE_BUILD_TYPE=Release -DISPLITEE_BUILD_BENCH=OFF)
if command -v ccache >/dev/null 2>&1 && [ "${CCACHE_DISABLE:-0}" != "1" ]; then
  configure+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
ctest_args=(--output-on-failure -j "$JOBS")
if [ "${ISPLITEE_SLOW:-0}" != "1" ]; then ctest_args+=(-LE slow); fi

# One line per phase for CI logs: wall seconds, and the CPU seconds (user + sys) of everything run
# so far, which is what the time on idle cores follows (FUZZING.md, "CI time").
phase() {
  local cpu
  times >"$BUILD_DIR/.times"  # in this shell: a pipe would run `times` in a subshell
  cpu=$(tail -1 "$BUILD_DIR/.times" |
        awk '{ split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.0f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }')
  echo "sanitize.sh: $mode $1 done at ${SECONDS} s wall, ${cpu} s CPU (user + sys) so far"
}

case "$mode" in
  asan | asan-ci)
    BUILD_DIR=${BUILD_DIR:-build-asan}
    # Set before the build too: gtest_discover_tests runs the test binaries at build time.
    export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:suppressions=$supp/asan.supp"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$supp/ubsan.supp"
    export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
    cmake -S . -B "$BUILD_DIR" "${configure[@]}" -DISPLITEE_SANITIZE=address
    if [ "$mode" = asan ]; then
      cmake --build "$BUILD_DIR" -j "$JOBS"
      phase build
      ctest --test-dir "$BUILD_DIR" "${ctest_args[@]}" "$@"
    else
      core=(common config cost policy stream sim trace report transport)
      replays=$(sed -n 's/^ *isplitee_add_fuzz_target(\([a-z_0-9]*\).*/fuzz_replay_\1/p' \
                tests/fuzz/CMakeLists.txt)
      # shellcheck disable=SC2086  # one target per word
      cmake --build "$BUILD_DIR" -j "$JOBS" --target "${core[@]/#/unit_}" unit_data $replays
      phase build
      # Test binaries run directly: ctest's labels say "unit", not the module, and the tests of
      # binaries not built here would count as failures.
      for m in "${core[@]}" data; do "$BUILD_DIR/tests/unit_$m" --gtest_brief=1; done
      ctest --test-dir "$BUILD_DIR/tests/fuzz" "${ctest_args[@]}" "$@"
    fi
    phase tests
    ;;
  tsan)
    BUILD_DIR=${BUILD_DIR:-build-tsan}
    export TSAN_OPTIONS="halt_on_error=1:abort_on_error=1:second_deadlock_stack=1:suppressions=$supp/tsan.supp"
    threaded=(sim data train tracegen)
    vision=ON
    if [ "${SANITIZE_VISION:-1}" = "0" ]; then threaded=(sim) vision=OFF; fi
    cmake -S . -B "$BUILD_DIR" "${configure[@]}" -DISPLITEE_SANITIZE=thread -DISPLITEE_BUILD_APPS=OFF \
      -DISPLITEE_BUILD_VISION=$vision
    cmake --build "$BUILD_DIR" -j "$JOBS" --target "${threaded[@]/#/unit_}"
    phase build
    for m in "${threaded[@]}"; do "$BUILD_DIR/tests/unit_$m" --gtest_brief=1; done  # as in asan-ci
    phase tests
    ;;
  *)
    echo "usage: bash scripts/sanitize.sh [asan|asan-ci|tsan] [extra ctest args]" >&2
    exit 2
    ;;
esac
