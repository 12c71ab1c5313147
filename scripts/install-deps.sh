#!/usr/bin/env bash
# install-deps.sh: installs, with apt-get, exactly the Debian packages hikyaku needs that are
# missing. Idempotent and non-interactive; runs `apt-get update` once, only if something is
# missing. Never starts a system-wide mail service: packages such as dovecot are installed
# with service starts blocked (policy-rc.d), since tests run their own instances.
#
#   scripts/install-deps.sh build   compilers and libraries
#   scripts/install-deps.sh fuzz    build + clang, libFuzzer and the sanitizer runtimes
#   scripts/install-deps.sh test    fuzz + the real clients the tests drive
set -euo pipefail

# scdoc turns man/*.scd into the man pages; dpkg-dev gives CPack dpkg-shlibdeps, which
# computes the package's library dependencies.
build_packages=(
  g++ cmake ninja-build ccache pkg-config make
  libboost1.81-dev libssl-dev libsqlite3-dev libspdlog-dev libfmt-dev doctest-dev
  libtomlplusplus-dev libcli11-dev libargon2-dev libmagic-dev zlib1g-dev libunbound-dev
  openssl ca-certificates python3 scdoc dpkg-dev
)
# scripts/fuzz.sh: clang with libFuzzer and its sanitizer runtimes (libclang-rt-dev), and
# llvm-symbolizer (llvm) so that a crash report names files and lines.
fuzz_packages=(clang libclang-rt-dev llvm)
# libnet-ssleay-perl: swaks without its recommends cannot do TLS. adduser and ssl-cert are
# what the hikyaku package depends on (tests/install installs it with dpkg -i); systemd gives
# systemd-analyze to verify its units, logrotate checks its rotation file. dnsmasq-base is
# deliverd's tests' DNS server (MX records); postfix is their peer (installed unconfigured).
# isync (mbsync), getmail6, mutt and tmux (which drives mutt's screen) are the IMAP clients
# tests/imap runs.
test_packages=(
  sqlite3 curl swaks libnet-ssleay-perl msmtp fetchmail python3-aiosmtpd procps netcat-openbsd
  dovecot-core dovecot-pop3d dovecot-imapd adduser ssl-cert systemd logrotate dnsmasq-base postfix
  isync getmail6 mutt tmux
)

packages=("${build_packages[@]}")
case "${1:-build}" in
  build) ;;
  fuzz) packages+=("${fuzz_packages[@]}") ;;
  test) packages+=("${fuzz_packages[@]}" "${test_packages[@]}") ;;
  *) echo "install-deps: unknown list '$1' (build, fuzz or test)" >&2; exit 2 ;;
esac

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
# Postfix (a peer of deliverd's tests) without any system configuration or listener.
if [[ " ${missing[*]} " == *" postfix "* ]]; then
  echo "postfix postfix/main_mailer_type select No configuration" | $sudo debconf-set-selections
fi
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
