// SPDX-License-Identifier: MIT
// The mbox From_ line ("From sender asctime-date"), kept as envelope metadata: the store
// records the envelope sender and the date the trap's MTA wrote, which dates messages
// whose Date header is forged or missing. Writers vary (extra tokens, zones, "remote from"),
// so parsing looks for the month-day-time-year pattern rather than fixed columns.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "intake_internal.h"

static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static bool parse_uint(const char *s, size_t n, long max, long *out)
{
    if (n == 0 || n > 9)
        return false;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

// "hh:mm" or "hh:mm:ss"
static bool parse_clock(bw_slice t, long *h, long *m, long *s)
{
    const char *c1 = memchr(t.p, ':', t.n);
    if (!c1)
        return false;
    size_t rest = t.n - (size_t)(c1 + 1 - t.p);
    const char *c2 = memchr(c1 + 1, ':', rest);
    *s = 0;
    if (!parse_uint(t.p, (size_t)(c1 - t.p), 23, h))
        return false;
    if (c2) {
        return parse_uint(c1 + 1, (size_t)(c2 - c1 - 1), 59, m) &&
               parse_uint(c2 + 1, (size_t)(t.p + t.n - c2 - 1), 60, s);
    }
    return parse_uint(c1 + 1, rest, 59, m);
}

#define MAX_TOKENS 16

bool bw_intake_parse_asctime(bw_slice date, time_t *out)
{
    bw_slice tok[MAX_TOKENS];
    size_t count = 0;
    size_t i = 0;
    while (i < date.n && count < MAX_TOKENS) {
        while (i < date.n && (date.p[i] == ' ' || date.p[i] == '\t'))
            i++;
        size_t start = i;
        while (i < date.n && date.p[i] != ' ' && date.p[i] != '\t')
            i++;
        if (i > start)
            tok[count++] = bw_slice_make(date.p + start, i - start);
    }
    for (size_t k = 0; k + 3 < count; k++) {
        if (tok[k].n != 3)
            continue;
        int month = -1;
        for (int mo = 0; mo < 12; mo++)
            if (memcmp(tok[k].p, months[mo], 3) == 0)
                month = mo;
        if (month < 0)
            continue;
        long day, hour, minute, second, year;
        if (!parse_uint(tok[k + 1].p, tok[k + 1].n, 31, &day) || day < 1 ||
            !parse_clock(tok[k + 2], &hour, &minute, &second))
            continue;
        // The year follows the time, possibly after a zone token ("+0100", "EST").
        size_t y = k + 3;
        if (y < count && !parse_uint(tok[y].p, tok[y].n, 9999, &year) && y + 1 < count)
            y++;
        if (y >= count || !parse_uint(tok[y].p, tok[y].n, 9999, &year) || year < 1970)
            continue;
        struct tm tm = { 0 };
        tm.tm_year = (int)year - 1900;
        tm.tm_mon = month;
        tm.tm_mday = (int)day;
        tm.tm_hour = (int)hour;
        tm.tm_min = (int)minute;
        tm.tm_sec = (int)(second > 59 ? 59 : second);
        time_t t = timegm(&tm);
        if (t == (time_t)-1)
            return false;
        *out = t;
        return true;
    }
    return false;
}

void bw_intake_parse_envelope(bw_slice line, bw_intake_message *m)
{
    while (line.n && (line.p[line.n - 1] == '\r' || line.p[line.n - 1] == ' ' || line.p[line.n - 1] == '\t'))
        line.n--;
    size_t i = 0;
    while (i < line.n && (line.p[i] == ' ' || line.p[i] == '\t'))
        i++;
    size_t start = i;
    while (i < line.n && line.p[i] != ' ' && line.p[i] != '\t')
        i++;
    m->envelope_sender = bw_slice_make(line.p + start, i - start);
    while (i < line.n && (line.p[i] == ' ' || line.p[i] == '\t'))
        i++;
    m->envelope_date = bw_slice_make(line.p + i, line.n - i);
    if (!m->envelope_sender.p)
        m->envelope_sender = bw_slice_make("", 0);
    if (!m->envelope_date.p)
        m->envelope_date = bw_slice_make("", 0);
    m->has_envelope_time = bw_intake_parse_asctime(m->envelope_date, &m->envelope_time);
}
