// SPDX-License-Identifier: MIT
// Helpers for the tests that run the botwatch binary on real data (tests/cli_campaigns):
// running a command line, reading a file, and evaluating SQL over JSON output with SQLite's
// own JSON functions (an independent parser: the test never trusts botwatch to read back
// what it wrote).
#ifndef BW_TEST_CLI_UTIL_H
#define BW_TEST_CLI_UTIL_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#define BOTWATCH BW_BINARY_DIR "/botwatch"

// Runs `sh -c cmd`; returns its exit status (-1 if it did not exit).
int cli_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
// The whole file, NUL-terminated (NULL if unreadable); *n its size (may be NULL).
char *cli_read_file(const char *path, size_t *n);
// Opens path read-only with SQLite (fails the test on error).
sqlite3 *cli_db_open(const char *path);
// Evaluates sql (one row, column 0 as an integer) with ?1 bound to text (may be NULL).
// Fails the test on an SQL error; NULL results are -1.
int64_t cli_sql_int(sqlite3 *db, const char *text, const char *sql);
// A fresh temporary directory /tmp/bw-<tag>-XXXXXX in out (size >= 64).
void cli_tmpdir(const char *tag, char *out);
void cli_rmdir(const char *dir);

#endif
