#!/usr/bin/env bash
# test.sh: the README's second command, and all that CI runs. Installs what is missing, then:
#   1. builds everything with AddressSanitizer + UndefinedBehaviorSanitizer and -Werror, and
#      runs every test with CTest (arguments are passed to this CTest run);
#   2. builds the storage and core tests with ThreadSanitizer and runs them: any report fails;
#   3. runs every fuzz target (scripts/fuzz.sh) for HIKYAKU_FUZZ_SECONDS (default 20) each:
#      a crash fails.
# HIKYAKU_TSAN=0 or HIKYAKU_FUZZ_SECONDS=0 leaves a step out (when iterating on one test).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash scripts/install-deps.sh test
dir=${HIKYAKU_TEST_BUILD_DIR:-$top/build-test}
passed=0
# count_passed LOG: the number in CTest's closing "... 0 tests failed out of N" line.
count_passed() {
  local n
  n=$(sed -n 's/.*tests passed, 0 tests failed out of \([0-9]*\)$/\1/p' "$1" | tail -n1)
  echo "${n:-0}"
}

start=$(date +%s)
bash scripts/build.sh "$dir" -DHIKYAKU_SANITIZE=ON -DHIKYAKU_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "test.sh: build took $(( $(date +%s) - start )) s"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
start=$(date +%s)
ctest --test-dir "$dir" --output-on-failure -j2 --timeout 900 "$@" | tee "$dir/ctest.log"
echo "test.sh: tests took $(( $(date +%s) - start )) s"
passed=$(( passed + $(count_passed "$dir/ctest.log") ))

# The threads of a process (event loops, the blocking pool, the group-commit writer, the change
# listener) share the store and the connection core: ThreadSanitizer watches those tests.
# Without -Werror: the ASan build above compiles every file with it, and under -fsanitize=thread
# g++ 12 reports false -Warray-bounds inside std::string (tests/core/test_connection.cpp).
if [[ ${HIKYAKU_TSAN:-1} != 0 ]]; then
  tsan_dir=${HIKYAKU_TSAN_BUILD_DIR:-$top/build-tsan}
  start=$(date +%s)
  CCACHE_BASEDIR=${CCACHE_BASEDIR:-$top} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1} \
    cmake -S "$top" -B "$tsan_dir" -G Ninja -DHIKYAKU_TSAN=ON -DHIKYAKU_WERROR=OFF \
      -DHIKYAKU_TEST_AREAS="core;storage" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  # The unit tests of those two areas (a unit test's name is its target's); only they are
  # built, not the daemons and clients the full tree holds.
  mapfile -t tsan_tests < <(ctest --test-dir "$tsan_dir" -N -L unit | sed -n 's/^ *Test *#[0-9]*: //p')
  CCACHE_BASEDIR=${CCACHE_BASEDIR:-$top} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1} \
    cmake --build "$tsan_dir" -j"$(nproc)" --target "${tsan_tests[@]}"
  echo "test.sh: ThreadSanitizer build took $(( $(date +%s) - start )) s"
  start=$(date +%s)
  TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1} \
    ctest --test-dir "$tsan_dir" --output-on-failure -j2 --timeout 900 -L unit | tee "$tsan_dir/ctest.log"
  echo "test.sh: ThreadSanitizer tests took $(( $(date +%s) - start )) s"
  passed=$(( passed + $(count_passed "$tsan_dir/ctest.log") ))
fi

fuzz_seconds=${HIKYAKU_FUZZ_SECONDS:-20}
if [[ $fuzz_seconds != 0 ]]; then
  start=$(date +%s)
  bash scripts/fuzz.sh "$fuzz_seconds"
  echo "test.sh: fuzzing (build and runs) took $(( $(date +%s) - start )) s"
  passed=$(( passed + $(grep -c ' ok$' "${HIKYAKU_FUZZ_BUILD_DIR:-$top/build-fuzz}/run/summary") ))
fi
# One closing line for the three runs: CTest's tests, ThreadSanitizer's, and fuzz targets.
echo "test.sh: $passed passed, 0 failed"
