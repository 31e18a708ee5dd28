// SPDX-License-Identifier: MIT
// Slices and owning buffers (include/botwatch/str.h). Growth doubles, checked for
// overflow, so appending n bytes in pieces costs O(n).
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "botwatch/str.h"

static inline unsigned char lower(unsigned char c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

bool bw_slice_eq(bw_slice a, bw_slice b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

bool bw_slice_eq_ci(bw_slice a, bw_slice b)
{
    if (a.n != b.n)
        return false;
    for (size_t i = 0; i < a.n; i++)
        if (lower((unsigned char)a.p[i]) != lower((unsigned char)b.p[i]))
            return false;
    return true;
}

// Both compare while walking the C string: parsers call these per token against short
// keywords, where a strlen first costs more than the comparison.
bool bw_slice_eq_ci_cstr(bw_slice a, const char *s)
{
    if (!s)
        return bw_slice_eq_ci(a, bw_slice_cstr(s));
    // Callers test names that mostly match, and mostly in the same case: equal bytes skip
    // the case folding.
    for (size_t i = 0; i < a.n; i++) {
        char c = s[i];
        if (c == '\0' || (a.p[i] != c && lower((unsigned char)a.p[i]) != lower((unsigned char)c)))
            return false;
    }
    return s[a.n] == '\0';
}

bool bw_slice_starts_with_ci(bw_slice s, const char *prefix)
{
    for (size_t i = 0; prefix[i] != '\0'; i++)
        if (i >= s.n || lower((unsigned char)s.p[i]) != lower((unsigned char)prefix[i]))
            return false;
    return true;
}

static inline bool is_trim(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bw_slice bw_slice_trim(bw_slice s)
{
    while (s.n && is_trim(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n && is_trim(s.p[s.n - 1]))
        s.n--;
    return s;
}

long bw_slice_find(bw_slice s, bw_slice needle)
{
    if (needle.n == 0)
        return 0;
    if (!s.p)
        return -1;
    const char *hit = memmem(s.p, s.n, needle.p, needle.n);
    return hit ? (long)(hit - s.p) : -1;
}

int bw_buf_reserve(bw_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->n - 1)
        return -1;
    size_t need = b->n + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 2)
            return -1;
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

int bw_buf_append(bw_buf *b, const void *data, size_t n)
{
    if (bw_buf_reserve(b, n) != 0)
        return -1;
    if (n)
        memcpy(b->p + b->n, data, n);
    b->n += n;
    b->p[b->n] = '\0';
    return 0;
}

int bw_buf_append_slice(bw_buf *b, bw_slice s) { return bw_buf_append(b, s.p, s.n); }
int bw_buf_append_cstr(bw_buf *b, const char *s) { return bw_buf_append(b, s, strlen(s)); }
int bw_buf_append_char(bw_buf *b, char c) { return bw_buf_append(b, &c, 1); }

int bw_buf_printf(bw_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int len = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (len < 0)
        return -1;
    if ((size_t)len < sizeof small)
        return bw_buf_append(b, small, (size_t)len);
    if (bw_buf_reserve(b, (size_t)len) != 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)len + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)len;
    return 0;
}

void bw_buf_free(bw_buf *b)
{
    free(b->p);
    *b = BW_BUF_INIT;
}

// Length of the valid UTF-8 sequence at s[0..n), or 0 if it is not one (overlongs,
// surrogates and code points past U+10FFFF are invalid).
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
    else return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return len;
}

int bw_buf_append_json_string(bw_buf *b, bw_slice s)
{
    static const char hex[] = "0123456789abcdef";
    if (bw_buf_reserve(b, s.n + 2) != 0 || bw_buf_append_char(b, '"') != 0)
        return -1;
    const unsigned char *p = (const unsigned char *)s.p;
    size_t i = 0;
    while (i < s.n) {
        size_t run = i;
        // Copy the longest run that needs no escaping in one go.
        while (run < s.n && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\')
            run++;
        if (run > i && bw_buf_append(b, p + i, run - i) != 0)
            return -1;
        i = run;
        if (i >= s.n)
            break;
        unsigned char c = p[i];
        int rc;
        if (c == '"') rc = bw_buf_append(b, "\\\"", 2);
        else if (c == '\\') rc = bw_buf_append(b, "\\\\", 2);
        else if (c == '\n') rc = bw_buf_append(b, "\\n", 2);
        else if (c == '\r') rc = bw_buf_append(b, "\\r", 2);
        else if (c == '\t') rc = bw_buf_append(b, "\\t", 2);
        else if (c < 0x20) {
            char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
            rc = bw_buf_append(b, esc, 6);
        } else {
            size_t len = utf8_seq_len(p + i, s.n - i);
            if (len == 0) {
                rc = bw_buf_append(b, "\xEF\xBF\xBD", 3);
                len = 1;
            } else {
                rc = bw_buf_append(b, p + i, len);
            }
            i += len - 1;
        }
        if (rc != 0)
            return -1;
        i++;
    }
    return bw_buf_append_char(b, '"');
}

int bw_buf_append_escaped(bw_buf *b, bw_slice s, size_t max_bytes)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = s.n < max_bytes ? s.n : max_bytes;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        int rc;
        if (c >= 0x20 && c < 0x7F && c != '\\') {
            rc = bw_buf_append_char(b, (char)c);
        } else {
            char esc[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };
            rc = bw_buf_append(b, esc, 4);
        }
        if (rc != 0)
            return -1;
    }
    return n < s.n ? bw_buf_append(b, "...", 3) : 0;
}
