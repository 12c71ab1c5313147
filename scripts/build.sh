#!/usr/bin/env bash
# build.sh: configures and builds hikyaku into DIR (default build/) with Ninja.
#   scripts/build.sh [DIR] [extra cmake args...]
# With HIKYAKU_BUILD_LOG=FILE the compiler's output goes to FILE and the terminal gets one
# progress line (start.sh, package.sh); on failure the last lines and FILE's path are shown.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$top/build}
# Let ccache reuse objects compiled in another checkout of the repository (CI clones into a
# fresh folder): paths under the top folder are hashed as relative paths.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$top}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
shift || true
log=${HIKYAKU_BUILD_LOG:-}
if [[ -z $log ]]; then
  cmake -S "$top" -B "$dir" -G Ninja "$@" >/dev/null
  cmake --build "$dir" -j"$(nproc)"
  exit 0
fi

mkdir -p "$(dirname "$log")"
: > "$log"
label="building $(basename "$dir")/"
# Ninja's "[N/M] ..." lines become one line rewritten in place (on a terminal; elsewhere the
# label is printed once and "done" at the end).
progress() {
  local line
  while IFS= read -r line; do
    printf '%s\n' "$line" >> "$log"
    if [[ -t 1 && $line =~ ^\[([0-9]+)/([0-9]+)\] ]]; then
      printf '\r%s %s/%s ' "$label" "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
    fi
  done
}
[[ -t 1 ]] && printf '%s ' "$label" || echo "$label (log: $log)"
if ! { cmake -S "$top" -B "$dir" -G Ninja "$@" && cmake --build "$dir" -j"$(nproc)"; } 2>&1 | progress; then
  echo
  echo "build failed; the last lines (the whole log is $log):" >&2
  grep -E "error|Error|FAILED" "$log" | tail -15 >&2 || tail -15 "$log" >&2
  exit 1
fi
[[ -t 1 ]] && printf '\r%s done (log: %s)\n' "$label" "$log" || echo "$label done"
