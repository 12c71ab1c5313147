#!/usr/bin/env bash
# stop.sh: stops the daemons scripts/start.sh started (SIGTERM, then waits for them).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
var=${HIKYAKU_VAR:-$top/var}
for pidfile in "$var"/run/*.pid; do
  [[ -f $pidfile ]] || continue
  pid=$(cat "$pidfile")
  if kill -TERM "$pid" 2>/dev/null; then
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null && echo "stop: $(basename "$pidfile" .pid) killed" || echo "stop: $(basename "$pidfile" .pid) stopped"
  fi
  rm -f "$pidfile"
done
