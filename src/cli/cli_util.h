// SPDX-License-Identifier: MIT
// Small helpers shared by the CLI subcommands: the default database path, time-range
// options, output-format names and fatal allocation handling (front ends may abort).
#ifndef BOTWATCH_CLI_UTIL_H
#define BOTWATCH_CLI_UTIL_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#define BW_DEFAULT_DB "botwatch.db"

// Parses "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS][Z]" or a Unix time as UTC seconds.
bool cli_parse_time(const char *text, time_t *out);
// Prints "botwatch SUBCMD: message" to stderr.
void cli_error(const char *subcommand, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// True when the stream is a terminal (progress lines, sparklines, colours).
bool cli_is_tty(FILE *stream);
// Aborts the process with a message: for allocation failures in the front end only.
_Noreturn void cli_out_of_memory(void);

#endif
