#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every libFuzzer target briefly (default 15 s each) from a copy of its seed corpus,
# so CI catches a crash that new code makes reachable. Long campaigns: run
# build-fuzz/fuzz/fuzz_NAME fuzz/corpus/NAME -max_total_time=600 by hand and add what it finds.
# Usage: scripts/fuzz-smoke.sh BUILD_DIR [SECONDS]   (targets are BUILD_DIR/fuzz/fuzz_*)
set -euo pipefail
build=${1:-build-fuzz}
secs=${2:-15}
root="$(cd "$(dirname "$0")/.." && pwd)"
shopt -s nullglob
targets=("$build"/fuzz/fuzz_*)
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz-smoke: no fuzz targets in $build" >&2
  exit 1
fi
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
failed=0
for t in "${targets[@]}"; do
  name=${t##*/fuzz_}
  mkdir -p "$work/$name"
  [ -d "$root/fuzz/corpus/$name" ] && cp -r "$root/fuzz/corpus/$name/." "$work/$name/"
  if "$t" "$work/$name" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$work/crash-$name-" >"$work/$name.log" 2>&1; then
    echo "fuzz-smoke: $name ok ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$work/$name.log" || tail -n1 "$work/$name.log" | cut -c1-80))"
  else
    echo "fuzz-smoke: $name FAILED; last lines:" >&2
    tail -n 30 "$work/$name.log" >&2
    failed=1
  fi
done
exit $failed
