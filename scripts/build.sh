#!/usr/bin/env bash
# build.sh: configures and builds hikyaku into DIR (default build/) with Ninja.
#   scripts/build.sh [DIR] [extra cmake args...]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$top/build}
# Let ccache reuse objects compiled in another checkout of the repository (CI clones into a
# fresh folder): paths under the top folder are hashed as relative paths.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$top}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
shift || true
cmake -S "$top" -B "$dir" -G Ninja "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
