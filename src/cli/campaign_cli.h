// SPDX-License-Identifier: MIT
// What `botwatch campaigns`, `campaign`, `botnets` and `explain` share (cmd_campaigns.c):
// their common options and a store opener that explains a database written before
// campaigns existed instead of a bare schema-version error.
#ifndef BOTWATCH_CLI_CAMPAIGN_CLI_H
#define BOTWATCH_CLI_CAMPAIGN_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "botwatch/report.h"
#include "botwatch/store.h"

typedef struct cli_view_options {
    const char *db_path;
    const char *output;          // -o FILE, NULL = standard output
    bw_report_format format;     // text, json or csv
    bw_report_options report;    // range (if allowed), top, tty, generated_at
    const char *rules_path;      // explain: --rules FILE
} cli_view_options;

// Parses --db, --format, --top, -o, --help and, when ranged, --since/--until; for explain
// also --rules. Returns -1 to go on (positional arguments start at *first_arg), or the
// exit status (0 after --help, 2 on a usage error, message printed).
int cli_view_parse(const char *subcommand, int argc, char **argv, bool ranged, bool explain,
                   void (*usage)(FILE *), cli_view_options *o, int *first_arg);

// Opens db_path read-only. A file written before campaigns existed (schema < 3) gets a
// message that says so and how to migrate it; other failures as cli_open_store_readonly.
bw_store *cli_open_campaign_store(const char *subcommand, const char *db_path);

// Runs view (which writes to out) with the -o temp-file-then-rename handling; prints
// errors; returns the exit status. NOTFOUND is status 1 with its message.
typedef bw_status (*cli_view_fn)(bw_store *store, const cli_view_options *o, FILE *out, void *ctx, char *errbuf);
int cli_run_view(const char *subcommand, const cli_view_options *o, cli_view_fn view, void *ctx);

// A ranged listing with no positional arguments (`campaigns`, `botnets`): parses the
// options, refuses an argument with "unexpected argument '...' (hint)", runs view.
int cli_run_list_view(const char *subcommand, int argc, char **argv, void (*usage)(FILE *), cli_view_fn view,
                      const char *hint);

#endif
