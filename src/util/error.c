// SPDX-License-Identifier: MIT
// The error contract of include/botwatch/error.h.
#include <stdarg.h>
#include <stdio.h>

#include "botwatch/error.h"

const char *bw_status_name(bw_status status)
{
    switch (status) {
    case BW_OK: return "ok";
    case BW_ERR_NOMEM: return "out of memory";
    case BW_ERR_IO: return "I/O error";
    case BW_ERR_PARSE: return "parse error";
    case BW_ERR_LIMIT: return "limit exceeded";
    case BW_ERR_INVALID: return "invalid argument";
    case BW_ERR_NOTFOUND: return "not found";
    case BW_ERR_DB: return "database error";
    case BW_ERR_UNSUPPORTED: return "unsupported";
    }
    return "unknown error";
}

bw_status bw_error(char *errbuf, bw_status status, const char *fmt, ...)
{
    if (errbuf) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, BW_ERRBUF_SIZE, fmt, ap);
        va_end(ap);
    }
    return status;
}
