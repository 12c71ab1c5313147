#!/usr/bin/env bash
# build.sh: configures and builds hikyaku into DIR (default build/) with Ninja.
#   scripts/build.sh [DIR] [extra cmake args...]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$top/build}
shift || true
cmake -S "$top" -B "$dir" -G Ninja "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
