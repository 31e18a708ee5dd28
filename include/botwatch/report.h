// SPDX-License-Identifier: MIT
// The first report and the per-message export, read from the store (store.h). A report is
// built once (a handful of aggregate queries; memory bounded by the top-N sizes and the
// number of distinct days) and then written as text, JSON, CSV or one self-contained HTML
// file. The export streams one row per message in constant memory. Every string that came
// from mail or from an ASN source is escaped for the output it goes to. Formats and
// columns: docs/report.md.
#ifndef BOTWATCH_REPORT_H
#define BOTWATCH_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "botwatch/error.h"
#include "botwatch/networks.h"
#include "botwatch/store.h"

typedef enum bw_report_format {
    BW_REPORT_TEXT,
    BW_REPORT_JSON,
    BW_REPORT_CSV,
    BW_REPORT_HTML,
} bw_report_format;

// Names one anomaly flag (1ull << bit), NULL if unknown: bw_mail_anomaly_name in the CLI.
// The report does not link the parser; without a namer flags print as "anomaly_<bit>".
typedef const char *(*bw_anomaly_namer)(uint64_t flag);

typedef struct bw_report_options {
    bw_store_range range;       // over seen_at, like every store query
    size_t top;                 // lines per top-N table
    size_t max_errors;          // ingest errors listed (the count is always complete)
    size_t max_sources;         // sources listed
    bool tty;                   // text: Unicode sparkline (else plain ASCII)
    bw_anomaly_namer anomaly_name;
    // Optional: when the store has sender IPs but no ASNs (ingested without ASN data),
    // sender networks and countries are looked up here at report time.
    const bw_asn_db *asn_db;
    int64_t generated_at;       // UTC seconds stamped in the output; BW_STORE_NO_TIME omits it
    const char *title;          // report title; NULL for "botwatch report"
} bw_report_options;

// top 10, 10 errors, 20 sources, not a TTY, all messages, no namer, no stamp.
void bw_report_options_default(bw_report_options *options);

typedef struct bw_report bw_report;

// Runs the queries and keeps the results (copied; the store may be closed afterwards).
// options is copied. BW_ERR_DB / BW_ERR_NOMEM with errbuf saying why.
bw_status bw_report_build(bw_store *store, const bw_report_options *options, bw_report **out,
                          char *errbuf);
// Writes the report to out (which the caller opened and closes). BW_ERR_IO on a write error.
bw_status bw_report_write(const bw_report *report, bw_report_format format, FILE *out, char *errbuf);
void bw_report_free(bw_report *report);

// Read-only view of the gathered figures, for callers that print their own summary.
const bw_store_totals *bw_report_totals(const bw_report *report);

// "text", "json", "csv", "html" -> format; false if unknown.
bool bw_report_format_parse(const char *name, bw_report_format *out);

typedef enum bw_export_format {
    BW_EXPORT_CSV,              // RFC 4180, header row, UTF-8
    BW_EXPORT_JSONL,            // one JSON object per line
} bw_export_format;

bool bw_export_format_parse(const char *name, bw_export_format *out);

// Streams every message in range (ordered by seen_at, id) to out, one row each, holding
// one row at a time. *rows (may be NULL) gets the number written. BW_ERR_DB or BW_ERR_IO.
bw_status bw_export_messages(bw_store *store, const bw_store_range *range, bw_export_format format,
                             bw_anomaly_namer anomaly_name, FILE *out, uint64_t *rows, char *errbuf);

#endif
