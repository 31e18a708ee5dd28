// SPDX-License-Identifier: MIT
// From a parsed bw_message to the record botwatch stores and reports on: identity (SHA-256
// of the bytes), the Received chain and its sender hop, visible text (plain parts and HTML
// rendered to text), URLs from text and HTML with hosts normalised, and the header-order
// fingerprint. Used by ingest, `botwatch parse`, the SMTP trap and (later) campaigns.
//
// Lifetime: a bw_mail_record's slices point into the bw_message it came from or into the
// analyzer's own memory; both stay valid until the next bw_mail_analyze() on this analyzer
// or bw_mime_parser_reset() on the message's parser, whichever comes first.
#ifndef BOTWATCH_MAIL_H
#define BOTWATCH_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "botwatch/error.h"
#include "botwatch/hash.h"
#include "botwatch/mime.h"
#include "botwatch/received.h"
#include "botwatch/str.h"
#include "botwatch/url.h"

// Limits and settings for analysis; every count that untrusted mail controls is capped.
typedef struct bw_mail_config {
    size_t max_urls;            // URLs kept per message
    size_t max_url_bytes;       // one URL
    size_t max_text_bytes;      // visible text kept per message
    size_t max_received;        // Received hops parsed
    // Trusted relays: CIDRs ("10.0.0.0/8", "2001:db8::/32") and host names or domain
    // suffixes (".example.net") of the operator's own relays. Empty = inferred, as
    // SpamAssassin does: private/reserved addresses and hops inside the receiving domain.
    const char *const *trusted;
    size_t trusted_count;
} bw_mail_config;

void bw_mail_config_default(bw_mail_config *config);

// bw_received_hop is declared in received.h, bw_url in url.h.

typedef struct bw_mail_record {
    char sha256[BW_SHA256_HEX_LEN + 1];   // of the message bytes (after mbox unquoting)
    const bw_message *message;
    bw_received_hop *received;            // top (newest) first, as in the header
    size_t received_count;
    int sender_hop;                       // index into received, -1 if none found
    bw_slice sender_ip, helo;             // from the sender hop; empty if none
    bw_slice text;                        // visible text, UTF-8
    bw_url *urls;
    size_t url_count;
    bw_slice header_fingerprint;          // e.g. "received,from,to,subject,date,..." lowercased
    uint64_t anomalies;                   // message anomalies plus analysis ones
} bw_mail_record;

// Anomalies found by analysis, in the same 64-bit set as bw_anomaly (which uses the low
// bits; these start at bit 48 so the two can grow apart). Names: bw_mail_anomaly_name().
#define BW_MAIL_ANOM_RECEIVED_LIMIT    (1ull << 48)  // more Received fields than max_received
#define BW_MAIL_ANOM_BAD_RECEIVED      (1ull << 49)  // a Received value with no from/by structure
#define BW_MAIL_ANOM_FORGED_RECEIVED   (1ull << 50)  // a hop below the boundary is inconsistent
#define BW_MAIL_ANOM_NO_RECEIVED       (1ull << 51)  // no Received field at all
#define BW_MAIL_ANOM_TEXT_LIMIT        (1ull << 52)  // visible text cut at max_text_bytes
#define BW_MAIL_ANOM_URL_LIMIT         (1ull << 53)  // URL count or length limit hit
#define BW_MAIL_ANOM_OBFUSCATED_URL    (1ull << 54)  // at least one URL was obfuscated
#define BW_MAIL_ANOM_HTML_ONLY         (1ull << 55)  // HTML body without a text/plain alternative
#define BW_MAIL_ANOM_HTML_LIMIT        (1ull << 56)  // an HTML limit hit (text, links, tag, attribute)
#define BW_MAIL_ANOM_HTML_BROKEN       (1ull << 57)  // unclosed comment or tag, NULs in HTML

// Name of one anomaly bit, MIME or analysis ("bad_boundary", "forged_received"), or NULL.
const char *bw_mail_anomaly_name(uint64_t flag);

typedef struct bw_mail_analyzer bw_mail_analyzer;

// config may be NULL for the defaults; it is copied. NULL on allocation failure; errbuf
// names a bad trusted-relay entry.
bw_mail_analyzer *bw_mail_analyzer_new(const bw_mail_config *config, char *errbuf);
void bw_mail_analyzer_free(bw_mail_analyzer *analyzer);

// Analyzes msg into *out (owned by the analyzer). Never fails on bad mail; only
// BW_ERR_NOMEM is possible.
bw_status bw_mail_analyze(bw_mail_analyzer *analyzer, const bw_message *msg, bw_mail_record *out);

// Appends the record as the JSON object documented in docs/parse-json.md.
bw_status bw_mail_record_to_json(const bw_mail_record *record, bw_buf *out);

#endif
