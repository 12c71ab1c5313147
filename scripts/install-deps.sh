#!/usr/bin/env bash
# install-deps.sh: installs, with apt-get, exactly the Debian packages hikyaku needs that are
# missing. Idempotent and non-interactive; runs `apt-get update` once, only if something is
# missing. Never starts a system-wide mail service: packages such as dovecot are installed
# with service starts blocked (policy-rc.d), since tests run their own instances.
#
#   scripts/install-deps.sh build   compilers and libraries
#   scripts/install-deps.sh test    build + the real clients the tests drive
set -euo pipefail

build_packages=(
  g++ cmake ninja-build ccache pkg-config make
  libboost1.81-dev libssl-dev libsqlite3-dev libspdlog-dev libfmt-dev doctest-dev
  libtomlplusplus-dev libcli11-dev libargon2-dev libmagic-dev zlib1g-dev
  openssl ca-certificates python3
)
test_packages=(
  sqlite3 curl swaks msmtp fetchmail python3-aiosmtpd procps netcat-openbsd
  dovecot-core dovecot-pop3d
)

packages=("${build_packages[@]}")
if [[ "${1:-build}" == "test" ]]; then packages+=("${test_packages[@]}"); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Keep package scripts from starting system-wide daemons (postfix, dovecot) on install.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee $policy >/dev/null
  $sudo chmod +x $policy
  created_policy=1
fi
cleanup() { if [[ $created_policy -eq 1 ]]; then $sudo rm -f $policy; fi; }
trap cleanup EXIT
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
