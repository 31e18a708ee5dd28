// SPDX-License-Identifier: MIT
// The logging API of include/botwatch/log.h. Each line is formatted into one buffer and
// written with a single fputs so concurrent threads never interleave within a line.
#include <stdarg.h>
#include <stdio.h>

#include "botwatch/log.h"

static bw_log_level current_level = BW_LOG_WARN;
static FILE *log_sink;

void bw_log_set_level(bw_log_level level) { current_level = level; }
bw_log_level bw_log_get_level(void) { return current_level; }
void bw_log_set_sink(FILE *sink) { log_sink = sink; }

void bw_log(bw_log_level level, const char *context, const char *fmt, ...)
{
    static const char *const names[] = { "debug", "info", "warn", "error", "fatal" };
    if (level < current_level)
        return;
    char line[2048];
    int off = snprintf(line, sizeof line, "botwatch: %s: ", names[level]);
    if (context && off > 0 && (size_t)off < sizeof line)
        off += snprintf(line + off, sizeof line - (size_t)off, "id=%s ", context);
    if (off > 0 && (size_t)off < sizeof line) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line + off, sizeof line - (size_t)off, fmt, ap);
        va_end(ap);
    }
    size_t len = 0;
    while (len < sizeof line - 2 && line[len])
        len++;
    line[len] = '\n';
    line[len + 1] = '\0';
    fputs(line, log_sink ? log_sink : stderr);
}
