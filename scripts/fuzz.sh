#!/usr/bin/env bash
# fuzz.sh: builds the fuzz targets (fuzz/*.cmake) with clang, libFuzzer, AddressSanitizer and
# UndefinedBehaviorSanitizer into their own build folder, and runs each target for a while on a
# fresh copy of its seed corpus (fuzz/corpus/<target>/). Prints, per target, the inputs run,
# the coverage libFuzzer reached (cov: edges, ft: features), and the new corpus entries;
# exits non-zero, naming the input that crashed, if any target crashed, leaked or hung.
# The lines printed are kept in build-fuzz/run/summary (one per target, "ok" or "FAILED").
# Never writes to fuzz/corpus: new entries stay in the build folder (copy good ones by hand).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   SECONDS per target (default 20); all targets
#                                           unless some are named
# Environment: HIKYAKU_FUZZ_BUILD_DIR (default build-fuzz/), HIKYAKU_FUZZ_JOBS (targets run at
# once, default: the number of cores).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
seconds=${1:-20}
shift || true
[[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 ]] || { echo "fuzz.sh: SECONDS must be a positive integer" >&2; exit 2; }
dir=${HIKYAKU_FUZZ_BUILD_DIR:-$top/build-fuzz}
jobs=${HIKYAKU_FUZZ_JOBS:-$(nproc)}

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  mapfile -t targets < <(sed -n 's/^ *hikyaku_fuzz_target(\([a-z0-9_]*\) .*/\1/p' fuzz/*.cmake | sort)
fi

bash scripts/install-deps.sh fuzz
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$top} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
start=$(date +%s)
CC=clang CXX=clang++ cmake -S "$top" -B "$dir" -G Ninja -DHIKYAKU_FUZZ=ON -DHIKYAKU_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$dir" -j"$(nproc)" --target "${targets[@]}"
echo "fuzz.sh: build took $(( $(date +%s) - start )) s"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# run_target NAME: one libFuzzer run in $dir/run/NAME/ (corpus/, log, crash files); writes a
# one-line summary to $dir/run/NAME/summary and returns non-zero if the target failed.
run_target() {
  local name=$1 work=$dir/run/$1
  rm -rf "$work"
  mkdir -p "$work/corpus"
  if [[ -d fuzz/corpus/$name ]]; then cp -R "fuzz/corpus/$name/." "$work/corpus/"; fi
  local seeds
  seeds=$(find "$work/corpus" -type f | wc -l)
  local rc=0
  "$dir/fuzz/$name" "$work/corpus" -max_total_time="$seconds" -print_final_stats=1 \
    -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$work/" >"$work/log" 2>&1 || rc=$?
  local runs inited final entries
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n1)
  # libFuzzer status lines: "#N<TAB>INITED cov: E ft: F corp: ..." and "#N<TAB>DONE cov: ...".
  inited=$(grep -E '^#[0-9]+[[:space:]]+INITED' "$work/log" | grep -oE 'cov: [0-9]+ ft: [0-9]+' | tail -n1 || true)
  final=$(grep -E '^#[0-9]+[[:space:]]' "$work/log" | grep -oE 'cov: [0-9]+ ft: [0-9]+' | tail -n1 || true)
  entries=$(( $(find "$work/corpus" -type f | wc -l) - seeds ))
  local verdict=ok
  if [[ $rc -ne 0 ]]; then
    local input
    input=$(grep -oE '(Test unit|Crash|Leak|Timeout|Slow unit|OOM)[^/]*written to [^ ]+' "$work/log" | sed 's/.*written to //' | tail -n1 || true)
    verdict="FAILED (exit $rc) input: ${input:-none written}, log: $work/log"
  fi
  printf '%-22s %10s runs  seeds %-18s final %-18s %5d new entries  %s\n' "$name" "${runs:-?}" \
    "${inited:-?}" "${final:-?}" "$entries" "$verdict" >"$work/summary"
  [[ $rc -eq 0 ]]
}

start=$(date +%s)
echo "fuzz.sh: ${#targets[@]} targets, ${seconds} s each, ${jobs} at a time"
running=0
failed=0
for name in "${targets[@]}"; do
  if [[ $running -ge $jobs ]]; then
    wait -n || failed=1
    running=$(( running - 1 ))
  fi
  run_target "$name" &
  running=$(( running + 1 ))
done
while [[ $running -gt 0 ]]; do
  wait -n || failed=1
  running=$(( running - 1 ))
done
for name in "${targets[@]}"; do cat "$dir/run/$name/summary"; done >"$dir/run/summary"
cat "$dir/run/summary"
echo "fuzz.sh: fuzzing took $(( $(date +%s) - start )) s"
if [[ $failed -ne 0 ]]; then
  echo "fuzz.sh: a target failed; reproduce with: $dir/fuzz/<target> <input>" >&2
  exit 1
fi
