// SPDX-License-Identifier: MIT
// Library error contract, after libpcap's: every fallible call returns a bw_status and,
// where it says so, writes a one-line, human-readable reason into a caller-provided
// buffer of BW_ERRBUF_SIZE bytes (always NUL-terminated, never longer). The library never
// aborts on bad input or allocation failure; only front ends decide to exit.
#ifndef BOTWATCH_ERROR_H
#define BOTWATCH_ERROR_H

#include <stddef.h>

#define BW_ERRBUF_SIZE 256

typedef enum bw_status {
    BW_OK = 0,
    BW_ERR_NOMEM,     // allocation failed or a size computation overflowed
    BW_ERR_IO,        // a read/write/open failed (errno-based message)
    BW_ERR_PARSE,     // input is malformed beyond recovery (the reason names where)
    BW_ERR_LIMIT,     // input exceeds a configured limit (the reason names which)
    BW_ERR_INVALID,   // a caller passed an invalid argument or used an API out of order
    BW_ERR_NOTFOUND,  // a looked-up item does not exist
    BW_ERR_DB,        // the store (SQLite) reported an error
    BW_ERR_UNSUPPORTED, // a format or feature this build does not handle
} bw_status;

// A static, never-NULL name for a status ("ok", "out of memory", ...).
const char *bw_status_name(bw_status status);

// Formats into errbuf (if not NULL) and returns status, so a failing path reads
// `return bw_error(errbuf, BW_ERR_IO, "%s: %s", path, strerror(errno));`.
bw_status bw_error(char *errbuf, bw_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
