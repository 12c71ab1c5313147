#!/usr/bin/env bash
# start.sh: the README's first command. Installs what is missing, builds (Release) quietly
# (one progress line; the compiler's output in var/log/build.log, shown on failure), makes a
# self-signed certificate and a development configuration under var/, initializes the store
# with a demo domain and user, starts the daemons that exist in the background, and waits
# for each to be serving (its "started" line, logged after it listened on every port,
# dropped privileges and checked the store) before it prints where they listen.
# Run it again to rebuild and restart; scripts/stop.sh stops everything it started.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
var=${HIKYAKU_VAR:-$top/var}
mkdir -p "$var/log" "$var/run" "$var/tls"
bash scripts/install-deps.sh build
HIKYAKU_BUILD_LOG=$var/log/build.log \
  bash scripts/build.sh "$top/build" -DCMAKE_BUILD_TYPE=Release -DHIKYAKU_TESTS=OFF
bash scripts/stop.sh >/dev/null 2>&1 || true

if [[ ! -f $var/tls/cert.pem ]]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
    -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$var/tls/key.pem" -out "$var/tls/cert.pem" 2>/dev/null
  chmod 600 "$var/tls/key.pem"
fi
conf=$var/hikyaku.toml
[[ -f $conf ]] || sed "s|@VAR@|$var|g" conf/dev.toml.in > "$conf"

domain=example.test
user=demo@$domain
mailctl=build/mailctl/mailctl
if [[ -x $mailctl ]]; then
  [[ -f $var/store.db ]] || $mailctl -c "$conf" init >/dev/null
  $mailctl -c "$conf" domain list | grep -qx "$domain" || $mailctl -c "$conf" domain add "$domain" >/dev/null
  if ! $mailctl -c "$conf" user list | grep -q "^$user"; then
    [[ -f $var/demo.password ]] || (umask 077; openssl rand -hex 8 > "$var/demo.password")
    $mailctl -c "$conf" user add "$user" --password-stdin < "$var/demo.password" >/dev/null
  fi
fi

# Waits (30 s at most) until daemon $1 with pid $2 logs "started" in $3; fails if it exits.
wait_started() {
  local daemon=$1 pid=$2 log=$3
  for _ in $(seq 1 300); do
    grep -q "$daemon\[$pid\] .* started, pid $pid" "$log" 2>/dev/null && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "start: $daemon exited; the end of $log:" >&2
      tail -5 "$log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "start: $daemon did not start within 30 s; see $log" >&2
  return 1
}

started=()
for daemon in smtpd pop3d imapd deliverd; do
  bin=build/$daemon/$daemon
  [[ -x $bin ]] || continue
  nohup "$bin" -c "$conf" >>"$var/log/$daemon.log" 2>&1 &
  echo $! > "$var/run/$daemon.pid"
  started+=("$daemon")
done
listening=()
for daemon in "${started[@]}"; do
  pid=$(cat "$var/run/$daemon.pid")
  wait_started "$daemon" "$pid" "$var/log/$daemon.log" || { bash scripts/stop.sh >/dev/null; exit 1; }
  if [[ $daemon == deliverd ]]; then  # listens nowhere: it sends
    listening+=("  deliverd: sends mail for other domains (mailctl queue list)")
    continue
  fi
  # "listening role=submission address=127.0.0.1:2587 tls=implicit" -> "submission 127.0.0.1:2587 (TLS)"
  listening+=("  $daemon: $(sed -n "s/^.* $daemon\[$pid\] info .* listening role=\([a-z0-9]*\) address=\([^ ]*\)\( tls=implicit\)\{0,1\}$/\1 \2\3/p" \
    "$var/log/$daemon.log" | sed 's/ tls=implicit/ (TLS)/' | paste -sd, - | sed 's/,/, /g')")
done

echo
echo "hikyaku is built in build/ and configured in $conf"
if [[ ${#started[@]} -gt 0 ]]; then
  echo "running: ${started[*]} (logs in $var/log/, stop with scripts/stop.sh)"
  printf '%s\n' "${listening[@]}"
else
  echo "no daemon is built yet; nothing started"
fi
[[ -f $var/demo.password ]] && echo "demo user: $user  password: $(cat "$var/demo.password")  (in $var/demo.password)"
echo "TLS certificate (self-signed, for localhost): $var/tls/cert.pem"
