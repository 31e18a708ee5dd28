// SPDX-License-Identifier: MIT
// The campaign and botnet views of the store: `botwatch campaigns` (ranking), `botwatch
// campaign ID` (one campaign in detail), `botwatch botnets` and `botwatch explain MSG`, as
// text, JSON or CSV with the report's escaping (report.h). The data comes from
// store_campaigns.h; `explain` is handed what the CLI gathered (store attribution, the
// re-read message, the rules that fired) so this module links neither the parser nor the
// rules engine. Formats: docs/cli.md.
#ifndef BOTWATCH_REPORT_CAMPAIGNS_H
#define BOTWATCH_REPORT_CAMPAIGNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "botwatch/error.h"
#include "botwatch/report.h"
#include "botwatch/store_campaigns.h"

// Each reads options->range, ->top, ->generated_at (BW_STORE_NO_TIME omits it) and ->tty,
// writes format (text, JSON or CSV; HTML is BW_ERR_INVALID) to out. BW_ERR_DB, BW_ERR_IO,
// BW_ERR_NOMEM with errbuf saying why.
bw_status bw_report_campaigns(bw_store *store, const bw_report_options *options, bw_report_format format,
                              FILE *out, char *errbuf);
bw_status bw_report_botnets(bw_store *store, const bw_report_options *options, bw_report_format format,
                            FILE *out, char *errbuf);
// One campaign (its whole life; options->range is not used). BW_ERR_NOTFOUND if there is
// no campaign id.
bw_status bw_report_campaign(bw_store *store, int64_t id, const bw_report_options *options,
                             bw_report_format format, FILE *out, char *errbuf);

// ---- explain ----

typedef struct bw_explain_fact {
    bw_slice expr;              // the fact as the rule wrote it: has(X-Mailer)
    bool negated;               // the rule needed it false
    bw_slice value;             // the value that decided it; empty if none
    bool has_number;
    long long number;
} bw_explain_fact;

typedef struct bw_explain_rule {
    bw_slice name, label, family, source;
    int weight;
    const bw_explain_fact *facts;
    size_t fact_count;
} bw_explain_rule;

typedef enum bw_explain_bytes {
    BW_EXPLAIN_BYTES_NONE = 0,  // not read (message not stored and no file)
    BW_EXPLAIN_BYTES_SOURCE,    // re-read from the stored source at its offset, hash verified
    BW_EXPLAIN_BYTES_FILE,      // read from the FILE the user gave
    BW_EXPLAIN_BYTES_GONE,      // the source could not be read or no longer holds it (note says why)
} bw_explain_bytes;

typedef struct bw_explain {
    bw_slice query;                              // what the user asked about
    const bw_store_message_attribution *stored;  // NULL: not in the store
    bw_slice file_sha256;                        // FILE: the SHA-256 of its message
    bw_explain_bytes bytes;
    bw_slice bytes_note;                         // where read from, or why not
    bw_slice message_template;                   // the message's normalised template text
    double threshold;                            // the campaign join threshold
    bool rules_run;                              // rules were matched against the bytes
    bw_slice rules_note;                         // why not (no bytes, rule error)
    bw_slice rule_labels_now;                    // labels of the rules that fired now
    const bw_explain_rule *rules;
    size_t rule_count;
} bw_explain;

bw_status bw_report_explain(const bw_explain *explain, bw_report_format format, FILE *out, char *errbuf);

#endif
