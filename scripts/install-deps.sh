#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs every Debian package botwatch's build, tests, demo and benchmarks need.
# Idempotent: packages already present are skipped, so `make demo`/`make check` can
# call it every time at almost no cost. Run as root (or with sudo available).
set -euo pipefail

PKGS=(
  # build
  build-essential cmake pkg-config clang libclang-rt-14-dev
  # libbotwatch
  libsqlite3-dev libarchive-dev libidn2-dev libpsl-dev publicsuffix libmaxminddb-dev
  libpcap-dev zlib1g-dev libevent-dev libpcre2-dev libssl-dev
  # tests, fuzzing, oracles and peers for benchmarks
  libcmocka-dev libgmime-3.0-dev libfuzzy-dev libtlsh-dev
  python3 ca-certificates xz-utils bzip2 zstd
)
# npm fetches the data sets; a machine whose nodejs already ships npm must not get Debian's.
command -v npm >/dev/null 2>&1 || PKGS+=(npm)
# Hyperscan only exists for x86-64; PCRE2 covers the rest.
if [ "$(dpkg --print-architecture)" = amd64 ]; then PKGS+=(libhyperscan-dev); fi
# Headless Chromium for the HTML report screenshot test; optional (the test skips without it).
if [ "${BW_WITH_CHROMIUM:-1}" = 1 ]; then PKGS+=(chromium); fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
