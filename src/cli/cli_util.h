// SPDX-License-Identifier: MIT
// Small helpers shared by the CLI subcommands: the default database path, time-range
// options, output-format names and fatal allocation handling (front ends may abort).
#ifndef BOTWATCH_CLI_UTIL_H
#define BOTWATCH_CLI_UTIL_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "botwatch/store.h"

#define BW_DEFAULT_DB "botwatch.db"

// Parses "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS][Z]" or a Unix time as UTC seconds.
bool cli_parse_time(const char *text, time_t *out);
// Prints "botwatch SUBCMD: message" to stderr.
void cli_error(const char *subcommand, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// True when the stream is a terminal (progress lines, sparklines, colours).
bool cli_is_tty(FILE *stream);
// Aborts the process with a message: for allocation failures in the front end only.
_Noreturn void cli_out_of_memory(void);

// Opens the store read-only for a command that reads it (report, export); prints why and
// returns NULL when the file is missing or not a botwatch database.
bw_store *cli_open_store_readonly(const char *subcommand, const char *db_path);

// Output to a file named by the user goes through a temporary file renamed into place by
// cli_output_commit(), so a failed run never leaves a half-written report behind.
// With path NULL, fp is stdout and commit/abort do nothing to it.
typedef struct cli_output {
    FILE *fp;
    const char *path;
    char tmp_path[4096];
} cli_output;

bool cli_output_open(cli_output *out, const char *subcommand, const char *path);
bool cli_output_commit(cli_output *out, const char *subcommand);
void cli_output_abort(cli_output *out);

#endif
