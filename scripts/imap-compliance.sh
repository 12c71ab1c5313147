#!/usr/bin/env bash
# imap-compliance.sh: a development tool (not part of the test command): runs Dovecot's
# imaptest compliance scripts against hikyaku's imapd, on a free loopback port with a
# temporary store, and prints imaptest's totals.
#
#   scripts/imap-compliance.sh IMAPTEST_DIR [BUILD_DIR] [imaptest args, e.g. test=.../fetch]
#
# IMAPTEST_DIR holds the imaptest wrapper and its tests/ (for example ../shared/tools/imaptest).
# BUILD_DIR defaults to build/. Everything it starts is stopped at exit.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
imaptest_dir=$(cd "${1:?usage: imap-compliance.sh IMAPTEST_DIR [BUILD_DIR] [imaptest args]}" && pwd)
build=${2:-$top/build}
shift $(( $# >= 2 ? 2 : 1 ))
[[ -x $build/imapd/imapd && -x $build/mailctl/mailctl ]] || { echo "build imapd and mailctl in $build first" >&2; exit 2; }

work=$(mktemp -d /tmp/hikyaku-imaptest-XXXXXX)
pid=""
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/hikyaku.toml" <<CONF
[storage]
path = "$work/store.db"
[imapd]
listen = ["127.0.0.1:$port"]
[log]
level = "${HIKYAKU_LOG_LEVEL:-warn}"
CONF
"$build/mailctl/mailctl" -c "$work/hikyaku.toml" init >/dev/null
"$build/mailctl/mailctl" -c "$work/hikyaku.toml" domain add example.test >/dev/null
echo imaptest-pw | "$build/mailctl/mailctl" -c "$work/hikyaku.toml" user add tester@example.test --password-stdin >/dev/null
"$build/imapd/imapd" -c "$work/hikyaku.toml" 2>"$work/imapd.log" &
pid=$!
for _ in $(seq 1 100); do
  grep -q "listening role=imap" "$work/imapd.log" 2>/dev/null && break
  sleep 0.1
done
args=("$@")
[[ ${#args[@]} -gt 0 ]] || args=("test=$imaptest_dir/tests")
"$imaptest_dir/imaptest" host=127.0.0.1 port="$port" user=tester@example.test pass=imaptest-pw "${args[@]}" || true
if ! kill -0 "$pid" 2>/dev/null; then
  echo "imapd died; its log:" >&2
  tail -50 "$work/imapd.log" >&2
  exit 1
fi
