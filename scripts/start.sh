#!/usr/bin/env bash
# start.sh: the README's first command. Installs what is missing, builds (Release), makes a
# self-signed certificate and a development configuration under var/, initializes the store
# with a demo domain and user, and starts the daemons that exist, in the background.
# Run it again to rebuild and restart; scripts/stop.sh stops everything it started.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash scripts/install-deps.sh build
echo "start: building (Release) into build/ ..."
bash scripts/build.sh "$top/build" -DCMAKE_BUILD_TYPE=Release -DHIKYAKU_TESTS=OFF
var=${HIKYAKU_VAR:-$top/var}
mkdir -p "$var/log" "$var/run" "$var/tls"
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
  [[ -f $var/store.db ]] || $mailctl -c "$conf" init
  $mailctl -c "$conf" domain list | grep -qx "$domain" || $mailctl -c "$conf" domain add "$domain"
  if ! $mailctl -c "$conf" user list | grep -q "^$user"; then
    [[ -f $var/demo.password ]] || (umask 077; openssl rand -hex 8 > "$var/demo.password")
    $mailctl -c "$conf" user add "$user" --password-stdin < "$var/demo.password"
  fi
fi

started=()
for daemon in smtpd pop3d imapd; do
  bin=build/$daemon/$daemon
  [[ -x $bin ]] || continue
  nohup "$bin" -c "$conf" >>"$var/log/$daemon.log" 2>&1 &
  echo $! > "$var/run/$daemon.pid"
  started+=("$daemon")
done
sleep 0.5
for daemon in "${started[@]}"; do
  kill -0 "$(cat "$var/run/$daemon.pid")" 2>/dev/null || { echo "start: $daemon failed; see $var/log/$daemon.log"; tail -5 "$var/log/$daemon.log"; exit 1; }
done

echo
echo "hikyaku is built in build/ and configured in $conf"
if [[ ${#started[@]} -gt 0 ]]; then
  echo "running: ${started[*]} (logs in $var/log/, stop with scripts/stop.sh)"
  echo "  SMTP 127.0.0.1:2525 (inbound), 2587 (submission, STARTTLS), 2465 (submissions, TLS)"
  echo "  POP3 127.0.0.1:2110 (STLS), 2995 (TLS)"
  [[ " ${started[*]} " == *" imapd "* ]] && echo "  IMAP 127.0.0.1:2143 (STARTTLS), 2993 (TLS)"
else
  echo "no daemon is built yet; nothing started"
fi
[[ -f $var/demo.password ]] && echo "demo user: $user  password: $(cat "$var/demo.password")  (in $var/demo.password)"
echo "TLS certificate (self-signed): $var/tls/cert.pem"
