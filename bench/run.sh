#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every benchmark on its default input (the fetched SpamAssassin corpus, the shared
# flow captures, simulator output) and prints each one's figures beside its peer's. These
# are measurements, not tests: compare ratios within one run, since the machine may be
# shared. Usage: bench/run.sh BUILD_DIR [NAME...]   (names: parse ingest intake flows_read
# flows_score beacons campaigns; default all)
set -uo pipefail
build=${1:-build}
shift || true
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(parse ingest intake flows_read flows_score beacons campaigns)
export BW_DATA="${BW_DATA:-$HOME/.cache/botwatch}"
root="$(cd "$(dirname "$0")/.." && pwd)"
export BW_SHARED_DATA="${BW_SHARED_DATA:-$root/../shared/data}"
status=0
for n in "${names[@]}"; do
  bin="$build/bench/bench_$n"
  echo "== bench/$n"
  if [ ! -x "$bin" ]; then
    echo "   (not built: $bin)"; status=1; continue
  fi
  "$bin" || { echo "   bench_$n failed with status $?"; status=1; }
  echo
done
exit $status
