// SPDX-License-Identifier: MIT
// Escaping for everything the report and the export print: subjects, From fields, URL
// domains, HELO names and AS organisation names are attacker- or third-party-controlled,
// so each output gets the escaping its reader needs (terminal, HTML, CSV, JSON), and
// invalid UTF-8 never passes through. Also the small formatters (dates, counts, shares)
// that every writer shares, so the formats agree with each other.
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "report_internal.h"

size_t rep_utf8_next(const unsigned char *p, size_t n, uint32_t *cp)
{
    unsigned char c = p[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t min, v;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, min = 0x80, v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, min = 0x800, v = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, min = 0x10000, v = c & 0x07;
    } else {
        *cp = 0xFFFD;
        return 1;
    }
    if (n < len) {
        *cp = 0xFFFD;
        return 1;
    }
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
        v = v << 6 | (p[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
        *cp = 0xFFFD;
        return 1;
    }
    *cp = v;
    return len;
}

int rep_append_utf8(bw_buf *b, uint32_t cp)
{
    char out[4];
    size_t n;
    if (cp < 0x80) {
        out[0] = (char)cp, n = 1;
    } else if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6), out[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    } else if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12), out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    } else {
        out[0] = (char)(0xF0 | cp >> 18), out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), out[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    }
    return bw_buf_append(b, out, n);
}

static bool is_control(uint32_t cp)
{
    return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F);
}

// Invisible characters that reorder or hide text on screen (Trojan Source, CVE-2021-42574).
static bool is_bidi_or_invisible(uint32_t cp)
{
    return (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E)
        || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF;
}

int rep_append_terminal(bw_buf *b, bw_slice s, size_t max_chars, size_t *chars)
{
    const unsigned char *p = (const unsigned char *)s.p;
    size_t written = 0;
    bool pending_space = false;
    int rc = 0;
    for (size_t i = 0; i < s.n;) {
        uint32_t cp;
        i += rep_utf8_next(p + i, s.n - i, &cp);
        if (cp == '\t' || cp == '\n' || cp == '\r' || cp == ' ') {
            pending_space = written > 0;
            continue;
        }
        if (is_control(cp) || is_bidi_or_invisible(cp))
            continue;
        size_t need = pending_space ? 2 : 1;
        if (written + need > max_chars) {
            rc |= bw_buf_append_cstr(b, "...");
            written += 3;
            break;
        }
        if (pending_space) {
            rc |= bw_buf_append_char(b, ' ');
            written++;
            pending_space = false;
        }
        rc |= rep_append_utf8(b, cp);
        written++;
    }
    if (chars)
        *chars = written;
    return rc ? -1 : 0;
}

int rep_append_html(bw_buf *b, bw_slice s, size_t max_chars)
{
    const unsigned char *p = (const unsigned char *)s.p;
    int rc = 0;
    size_t written = 0;
    for (size_t i = 0; i < s.n;) {
        uint32_t cp;
        i += rep_utf8_next(p + i, s.n - i, &cp);
        if (cp == '\t' || cp == '\n' || cp == '\r')
            cp = ' ';
        if (is_control(cp) || is_bidi_or_invisible(cp))
            continue;
        if (max_chars && written == max_chars) {
            rc |= bw_buf_append_cstr(b, "\xE2\x80\xA6");
            break;
        }
        written++;
        switch (cp) {
        case '&': rc |= bw_buf_append_cstr(b, "&amp;"); break;
        case '<': rc |= bw_buf_append_cstr(b, "&lt;"); break;
        case '>': rc |= bw_buf_append_cstr(b, "&gt;"); break;
        case '"': rc |= bw_buf_append_cstr(b, "&quot;"); break;
        case '\'': rc |= bw_buf_append_cstr(b, "&#39;"); break;
        default: rc |= rep_append_utf8(b, cp); break;
        }
    }
    return rc ? -1 : 0;
}

int rep_append_csv(bw_buf *b, bw_slice s)
{
    bool quote = s.n > 0 && (s.p[0] == ' ' || s.p[s.n - 1] == ' ');
    for (size_t i = 0; i < s.n && !quote; i++)
        quote = s.p[i] == ',' || s.p[i] == '"' || s.p[i] == '\r' || s.p[i] == '\n';
    int rc = quote ? bw_buf_append_char(b, '"') : 0;
    const unsigned char *p = (const unsigned char *)s.p;
    for (size_t i = 0; i < s.n;) {
        uint32_t cp;
        i += rep_utf8_next(p + i, s.n - i, &cp);
        // Control characters other than tab and line breaks have no place in a subject or
        // a name and would reach a terminal when the file is viewed: dropped.
        if (is_control(cp) && cp != '\t' && cp != '\r' && cp != '\n')
            continue;
        if (cp == '"')
            rc |= bw_buf_append_char(b, '"');
        rc |= rep_append_utf8(b, cp);
    }
    if (quote)
        rc |= bw_buf_append_char(b, '"');
    return rc ? -1 : 0;
}

int rep_append_json(bw_buf *b, bw_slice s) { return bw_buf_append_json_string(b, s); }

static bool utc(int64_t t, struct tm *tm)
{
    time_t tt = (time_t)t;
    return (int64_t)tt == t && gmtime_r(&tt, tm) != NULL && tm->tm_year + 1900 >= 0
        && tm->tm_year + 1900 <= 9999;
}

void rep_format_day(int64_t t, char out[32])
{
    struct tm tm;
    if (!utc(t, &tm) || strftime(out, 32, "%Y-%m-%d", &tm) == 0)
        strcpy(out, "?");
}

void rep_format_iso(int64_t t, char out[32])
{
    struct tm tm;
    if (!utc(t, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        strcpy(out, "?");
}

void rep_format_month(int64_t t, char out[32])
{
    struct tm tm;
    if (!utc(t, &tm) || strftime(out, 32, "%Y-%m", &tm) == 0)
        strcpy(out, "?");
}

void rep_format_count(uint64_t v, char out[32])
{
    char digits[24];
    int n = snprintf(digits, sizeof digits, "%" PRIu64, v);
    size_t o = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
}

void rep_format_share(uint64_t part, uint64_t whole, char out[32])
{
    // Integer rounding to tenths, so every platform prints the same digits.
    uint64_t tenths = whole ? (part * 2000 / whole + 1) / 2 : 0;
    snprintf(out, 32, "%" PRIu64 ".%" PRIu64, tenths / 10, tenths % 10);
}

bw_status rep_flush(bw_buf *b, FILE *out, char *errbuf)
{
    if (b->n && fwrite(b->p, 1, b->n, out) != b->n)
        return bw_error(errbuf, BW_ERR_IO, "write failed");
    bw_buf_clear(b);
    return BW_OK;
}

const char *rep_anomaly_name(bw_anomaly_namer namer, unsigned bit, char tmp[32])
{
    const char *name = namer && bit < 64 ? namer(1ull << bit) : NULL;
    if (name)
        return name;
    snprintf(tmp, 32, "anomaly_%u", bit);
    return tmp;
}
