#!/usr/bin/env bash
# test.sh: the README's second command. Installs what is missing, builds everything with
# AddressSanitizer + UndefinedBehaviorSanitizer, and runs every test with CTest.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash scripts/install-deps.sh test
dir=${HIKYAKU_TEST_BUILD_DIR:-$top/build-test}
start=$(date +%s)
bash scripts/build.sh "$dir" -DHIKYAKU_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "test.sh: build took $(( $(date +%s) - start )) s"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
ctest --test-dir "$dir" --output-on-failure -j2 --timeout 900 "$@"
