// SPDX-License-Identifier: MIT
// The one logging API (CONVENTIONS 14). Lines go to stderr (or a set sink) as
//   LEVEL id=<context> message key=value ...
// Contract: debug is for developers and off by default; info says what the program is
// doing; warn is bad input or a degraded result the run survives (counted elsewhere too);
// error is a failed operation the caller reports; fatal is only for front ends, after
// which they exit. Untrusted text must go through bw_buf_append_escaped() first.
#ifndef BOTWATCH_LOG_H
#define BOTWATCH_LOG_H

#include <stdio.h>

typedef enum bw_log_level {
    BW_LOG_DEBUG,
    BW_LOG_INFO,
    BW_LOG_WARN,
    BW_LOG_ERROR,
    BW_LOG_FATAL,
} bw_log_level;

// Messages below `level` are dropped. Default: BW_LOG_WARN. Not thread-safe to change
// while other threads log; set it once at start-up.
void bw_log_set_level(bw_log_level level);
bw_log_level bw_log_get_level(void);
// Where lines go (default stderr). Each line is written with one fputs, so lines from
// different threads do not interleave.
void bw_log_set_sink(FILE *sink);

// context: a session or message id (may be NULL). fmt is checked like printf.
void bw_log(bw_log_level level, const char *context, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define bw_debug(ctx, ...) do { if (bw_log_get_level() <= BW_LOG_DEBUG) bw_log(BW_LOG_DEBUG, ctx, __VA_ARGS__); } while (0)
#define bw_info(ctx, ...) bw_log(BW_LOG_INFO, ctx, __VA_ARGS__)
#define bw_warn(ctx, ...) bw_log(BW_LOG_WARN, ctx, __VA_ARGS__)
#define bw_err(ctx, ...) bw_log(BW_LOG_ERROR, ctx, __VA_ARGS__)

#endif
