// SPDX-License-Identifier: MIT
// Helpers shared by CLI subcommands (cli_util.h).
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_util.h"

bool cli_parse_time(const char *text, time_t *out)
{
    size_t len = strlen(text);
    bool digits = len > 0;
    for (size_t i = 0; i < len; i++)
        digits = digits && isdigit((unsigned char)text[i]);
    if (digits && len > 8) {
        char *end;
        long long v = strtoll(text, &end, 10);
        *out = (time_t)v;
        return *end == '\0';
    }
    struct tm tm = { 0 };
    const char *rest = strptime(text, "%Y-%m-%d", &tm);
    if (!rest)
        return false;
    if (*rest == 'T' || *rest == ' ') {
        const char *r2 = strptime(rest + 1, "%H:%M:%S", &tm);
        if (!r2)
            r2 = strptime(rest + 1, "%H:%M", &tm);
        if (!r2)
            return false;
        rest = r2;
    }
    if (*rest == 'Z')
        rest++;
    if (*rest != '\0')
        return false;
    *out = timegm(&tm);
    return true;
}

void cli_error(const char *subcommand, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "botwatch %s: ", subcommand);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

bool cli_is_tty(FILE *stream) { return isatty(fileno(stream)) == 1; }

_Noreturn void cli_out_of_memory(void)
{
    fputs("botwatch: out of memory\n", stderr);
    exit(70);
}
