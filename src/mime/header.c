// SPDX-License-Identifier: MIT
// Header-value decoding for the MIME parser: RFC 2047 encoded words, Content-Type and
// Content-Disposition fields with RFC 2231 parameters, and RFC 5322 dates with the
// obsolete forms spam still uses. Decisions follow what Python's email package (the
// parser's test oracle) and mail clients do with malformed input, noted where they differ.
#include <stdlib.h>
#include <string.h>

#include "mime_internal.h"

static inline bool is_wsp(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
static inline unsigned char ascii_lower(unsigned char c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

// ---- RFC 2047 ---------------------------------------------------------------------------

typedef struct encoded_word {
    bw_slice charset;    // without any RFC 2231 "*lang" suffix
    char encoding;       // 'b' or 'q'
    bw_slice text;
    size_t end;          // offset just past "?="
    bool has_space;      // whitespace inside the text (accepted, flagged)
} encoded_word;

// Parses "=?charset?X?text?=" at s[pos] (which starts with "=?").
static bool parse_encoded_word(const char *s, size_t n, size_t pos, encoded_word *ew)
{
    size_t i = pos + 2;
    size_t cs_start = i;
    while (i < n && s[i] != '?' && !is_wsp(s[i]))
        i++;
    if (i >= n || s[i] != '?' || i == cs_start)
        return false;
    size_t cs_end = i;
    if (i + 2 >= n || s[i + 2] != '?')
        return false;
    char enc = (char)ascii_lower((unsigned char)s[i + 1]);
    if (enc != 'b' && enc != 'q')
        return false;
    size_t text_start = i + 3;
    const char *q = text_start < n ? memchr(s + text_start, '?', n - text_start) : NULL;
    if (!q || (size_t)(q - s) + 1 >= n || q[1] != '=')
        return false;
    ew->charset = bw_slice_make(s + cs_start, cs_end - cs_start);
    const char *star = memchr(ew->charset.p, '*', ew->charset.n);
    if (star)
        ew->charset.n = (size_t)(star - ew->charset.p);
    ew->encoding = enc;
    ew->text = bw_slice_make(s + text_start, (size_t)(q - s) - text_start);
    ew->end = (size_t)(q - s) + 2;
    ew->has_space = false;
    for (size_t k = 0; k < ew->text.n; k++)
        if (is_wsp(ew->text.p[k]))
            ew->has_space = true;
    return true;
}

typedef struct header_decoder {
    mime_charsets *cs;
    bw_buf *out;
    uint64_t *anomalies;
    bw_buf pending;          // bytes of adjacent encoded words sharing one charset
    bw_slice pending_charset;
    bool has_pending;
} header_decoder;

static int flush_pending(header_decoder *d)
{
    if (!d->has_pending)
        return 0;
    d->has_pending = false;
    int rc = mime_to_utf8(d->cs, d->pending_charset, d->pending.p, d->pending.n, d->out, d->anomalies);
    bw_buf_clear(&d->pending);
    return rc;
}

static int append_raw_text(header_decoder *d, const char *p, size_t n)
{
    if (flush_pending(d) != 0)
        return -1;
    if (mime_utf8_valid(p, n))
        return bw_buf_append(d->out, p, n);
    bool errors = false;
    int rc = mime_utf8_sanitize(p, n, d->out, &errors);
    if (errors)
        *d->anomalies |= BW_ANOM_CHARSET_ERRORS;
    return rc;
}

static int add_encoded_word(header_decoder *d, const encoded_word *ew)
{
    if (d->has_pending && !bw_slice_eq_ci(d->pending_charset, ew->charset) && flush_pending(d) != 0)
        return -1;
    if (bw_buf_reserve(&d->pending, ew->text.n + 4) != 0)
        return -1;
    unsigned char *w = (unsigned char *)d->pending.p + d->pending.n;
    size_t got;
    if (ew->encoding == 'b') {
        uint64_t flags = 0;
        got = mime_base64_decode(ew->text.p, ew->text.n, w, &flags);
        if (flags)
            *d->anomalies |= BW_ANOM_BAD_ENCODED_WORD;
    } else {
        got = mime_q_decode(ew->text.p, ew->text.n, w);
    }
    d->pending.n += got;
    d->pending.p[d->pending.n] = '\0';
    d->pending_charset = ew->charset;
    d->has_pending = true;
    if (ew->has_space)
        *d->anomalies |= BW_ANOM_BAD_ENCODED_WORD;
    return 0;
}

int mime_decode_header_cached(mime_charsets *cs, bw_slice value, bw_buf *out, uint64_t *anomalies)
{
    header_decoder d = { cs, out, anomalies, BW_BUF_INIT, BW_SLICE_NULL, false };
    const char *s = value.p;
    size_t n = value.n, pos = 0;
    bool last_was_word = false;
    int rc = 0;
    // Fast path: nothing encoded.
    if (!s || (n < 2) || !memmem(s, n, "=?", 2))
        return append_raw_text(&d, s ? s : "", n);
    while (pos < n && rc == 0) {
        encoded_word ew;
        if (is_wsp(s[pos])) {
            size_t end = pos;
            while (end < n && is_wsp(s[end]))
                end++;
            // RFC 2047 6.2: whitespace between adjacent encoded words is not displayed.
            if (last_was_word && end + 1 < n && s[end] == '=' && s[end + 1] == '?' &&
                parse_encoded_word(s, n, end, &ew)) {
                pos = end;
                continue;
            }
            rc = append_raw_text(&d, s + pos, end - pos);
            last_was_word = false;
            pos = end;
            continue;
        }
        if (pos + 1 < n && s[pos] == '=' && s[pos + 1] == '?') {
            if (parse_encoded_word(s, n, pos, &ew)) {
                rc = add_encoded_word(&d, &ew);
                pos = ew.end;
                last_was_word = true;
                continue;
            }
            *anomalies |= BW_ANOM_BAD_ENCODED_WORD;
        }
        // A run of text up to whitespace, or up to an encoded word glued to it (decoded
        // anyway, as Python and most clients do).
        size_t end = pos + 1;
        while (end < n && !is_wsp(s[end])) {
            if (s[end] == '=' && end + 1 < n && s[end + 1] == '?' && parse_encoded_word(s, n, end, &ew))
                break;
            end++;
        }
        rc = append_raw_text(&d, s + pos, end - pos);
        last_was_word = false;
        pos = end;
    }
    if (rc == 0)
        rc = flush_pending(&d);
    bw_buf_free(&d.pending);
    return rc;
}

bw_status bw_mime_decode_header(bw_slice value, bw_buf *out, uint64_t *anomalies)
{
    uint64_t ignored = 0;
    if (!out)
        return BW_ERR_INVALID;
    return mime_decode_header_cached(NULL, value, out, anomalies ? anomalies : &ignored) == 0 ? BW_OK
                                                                                            : BW_ERR_NOMEM;
}

// ---- Content-Type / Content-Disposition with RFC 2231 ------------------------------------

static size_t skip_cfws(const char *s, size_t n, size_t i)
{
    for (;;) {
        while (i < n && is_wsp(s[i]))
            i++;
        if (i < n && s[i] == '(') {
            int level = 0;
            while (i < n) {
                if (s[i] == '\\' && i + 1 < n) {
                    i += 2;
                    continue;
                }
                if (s[i] == '(')
                    level++;
                else if (s[i] == ')' && --level == 0) {
                    i++;
                    break;
                }
                i++;
            }
            continue;
        }
        return i;
    }
}

static inline bool is_token_char(unsigned char c)
{
    return c > ' ' && c < 127 && !strchr("()<>@,;:\\\"/[]?=", c);
}

typedef struct raw_param {
    bw_slice name;          // base name (before any '*')
    bw_slice value;         // raw (quoted strings already unescaped into scratch if needed)
    size_t value_scratch;   // offset into scratch when value lives there, else SIZE_MAX
    int section;            // RFC 2231 section number, -1 if none
    bool extended;          // RFC 2231 "*=" value: charset'lang'%XX
} raw_param;

static bw_slice raw_value(const raw_param *p, const bw_buf *scratch)
{
    if (p->value_scratch != SIZE_MAX)
        return bw_slice_make(scratch->p + p->value_scratch, p->value.n);
    return p->value;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

// Joins the RFC 2231 sections of raw[first]'s name into scratch as UTF-8; returns the
// offset or SIZE_MAX on allocation failure. *length gets the length.
static size_t join_rfc2231(mime_charsets *cs, raw_param *raw, size_t count, size_t first, bw_buf *scratch,
                           size_t *length, uint64_t *anomalies)
{
    bw_buf bytes = BW_BUF_INIT;
    bw_slice charset = BW_SLICE_NULL;
    bool ok = true;
    // Sections in numeric order; a missing section ends the value (RFC 2231 3).
    for (int section = 0; ok && section < MIME_MAX_PARAMS; section++) {
        size_t found = SIZE_MAX;
        for (size_t k = first; k < count; k++)
            if (raw[k].section == section && bw_slice_eq_ci(raw[k].name, raw[first].name)) {
                found = k;
                break;
            }
        if (found == SIZE_MAX) {
            for (size_t k = first; k < count; k++)
                if (raw[k].section > section && bw_slice_eq_ci(raw[k].name, raw[first].name))
                    *anomalies |= BW_ANOM_BAD_RFC2231;
            break;
        }
        raw[found].section = -2;   // consumed
        bw_slice v = raw_value(&raw[found], scratch);
        if (raw[found].extended) {
            if (section == 0) {
                const char *q1 = memchr(v.p, '\'', v.n);
                const char *q2 = q1 ? memchr(q1 + 1, '\'', v.n - (size_t)(q1 + 1 - v.p)) : NULL;
                if (q2) {
                    charset = bw_slice_make(v.p, (size_t)(q1 - v.p));
                    v = bw_slice_make(q2 + 1, v.n - (size_t)(q2 + 1 - v.p));
                } else {
                    *anomalies |= BW_ANOM_BAD_RFC2231;
                }
            }
            for (size_t i = 0; ok && i < v.n; i++) {
                int hi, lo;
                if (v.p[i] == '%' && i + 2 < v.n && (hi = hexval(v.p[i + 1])) >= 0 && (lo = hexval(v.p[i + 2])) >= 0) {
                    ok = bw_buf_append_char(&bytes, (char)(hi << 4 | lo)) == 0;
                    i += 2;
                } else {
                    if (v.p[i] == '%')
                        *anomalies |= BW_ANOM_BAD_RFC2231;
                    ok = bw_buf_append_char(&bytes, v.p[i]) == 0;
                }
            }
        } else {
            ok = bw_buf_append(&bytes, v.p, v.n) == 0;
        }
    }
    size_t offset = scratch->n;
    if (ok) {
        // The charset slice may point into scratch, which conversion appends to: copy it.
        char cs_name[MIME_CHARSET_NAME_MAX + 1] = "utf-8";
        if (charset.n && charset.n <= MIME_CHARSET_NAME_MAX) {
            memcpy(cs_name, charset.p, charset.n);
            cs_name[charset.n] = '\0';
        }
        ok = mime_to_utf8(cs, bw_slice_cstr(cs_name), bytes.p ? bytes.p : "", bytes.n, scratch, anomalies) == 0;
    }
    bw_buf_free(&bytes);
    *length = scratch->n - offset;
    return ok ? offset : SIZE_MAX;
}

int mime_parse_field(mime_charsets *cs, bw_slice value, bool want_subtype, mime_field *out,
                     bw_buf *scratch, uint64_t *anomalies)
{
    const char *s = value.p ? value.p : "";
    size_t n = value.n, i = skip_cfws(s, n, 0);
    memset(out, 0, sizeof *out);
    size_t start = i;
    while (i < n && is_token_char((unsigned char)s[i]))
        i++;
    out->type = bw_slice_make(s + start, i - start);
    out->valid = out->type.n > 0;
    if (want_subtype) {
        i = skip_cfws(s, n, i);
        if (i < n && s[i] == '/') {
            i = skip_cfws(s, n, i + 1);
            start = i;
            while (i < n && is_token_char((unsigned char)s[i]))
                i++;
            out->subtype = bw_slice_make(s + start, i - start);
        }
        if (!out->subtype.n)
            out->valid = false;
    }
    if (!out->valid)
        *anomalies |= BW_ANOM_BAD_CONTENT_TYPE;

    raw_param raw[MIME_MAX_PARAMS];
    size_t raw_count = 0;
    while (i < n) {
        // To the next parameter: anything unparsed up to ';' is skipped.
        const char *semi = memchr(s + i, ';', n - i);
        if (!semi)
            break;
        i = skip_cfws(s, n, (size_t)(semi - s) + 1);
        start = i;
        while (i < n && s[i] != '=' && s[i] != ';' && !is_wsp(s[i]))
            i++;
        bw_slice name = bw_slice_make(s + start, i - start);
        i = skip_cfws(s, n, i);
        if (i >= n || s[i] != '=' || name.n == 0)
            continue;
        i = skip_cfws(s, n, i + 1);
        raw_param p = { name, BW_SLICE_NULL, SIZE_MAX, -1, false };
        if (i < n && s[i] == '"') {
            size_t vstart = ++i;
            bool escaped = false;
            while (i < n && s[i] != '"') {
                if (s[i] == '\\' && i + 1 < n) {
                    escaped = true;
                    i++;
                }
                i++;
            }
            if (i >= n)
                *anomalies |= BW_ANOM_BAD_CONTENT_TYPE;   // unterminated quoted string
            if (escaped) {
                p.value_scratch = scratch->n;
                for (size_t k = vstart; k < i; k++) {
                    if (s[k] == '\\' && k + 1 < i)
                        k++;
                    if (bw_buf_append_char(scratch, s[k]) != 0)
                        return -1;
                }
                p.value = bw_slice_make(NULL, scratch->n - p.value_scratch);
            } else {
                p.value = bw_slice_make(s + vstart, i - vstart);
            }
            if (i < n)
                i++;
        } else {
            size_t vstart = i;
            while (i < n && s[i] != ';')
                i++;
            size_t vend = i;
            // A comment after an unquoted value: "charset=us-ascii (Plain Text)".
            for (size_t k = vstart; k + 1 < vend; k++)
                if (is_wsp(s[k]) && s[k + 1] == '(') {
                    vend = k;
                    break;
                }
            while (vend > vstart && is_wsp(s[vend - 1]))
                vend--;
            p.value = bw_slice_make(s + vstart, vend - vstart);
        }
        // RFC 2231: name*=..., name*0=..., name*1*=...
        const char *star = memchr(name.p, '*', name.n);
        if (star) {
            size_t base = (size_t)(star - name.p);
            const char *rest = star + 1;
            size_t rest_n = name.n - base - 1;
            if (rest_n == 0) {
                p.section = 0;
                p.extended = true;
            } else {
                int section = 0;
                size_t k = 0;
                while (k < rest_n && rest[k] >= '0' && rest[k] <= '9' && section < 1000)
                    section = section * 10 + (rest[k++] - '0');
                bool ext = k < rest_n && rest[k] == '*';
                if (k == 0 || k + (ext ? 1 : 0) != rest_n) {
                    *anomalies |= BW_ANOM_BAD_RFC2231;
                    continue;
                }
                p.section = section;
                p.extended = ext;
            }
            p.name = bw_slice_make(name.p, base);
        }
        if (raw_count < MIME_MAX_PARAMS)
            raw[raw_count++] = p;
    }

    // Plain parameters first, in order, then joined RFC 2231 ones (Python's order, so a
    // plain name= wins over name*= when a mailer sends both).
    size_t value_offsets[MIME_MAX_PARAMS];
    for (size_t k = 0; k < raw_count; k++) {
        if (raw[k].section != -1)
            continue;
        out->params[out->param_count].name = raw[k].name;
        out->params[out->param_count].value = raw[k].value;
        value_offsets[out->param_count++] = raw[k].value_scratch;
    }
    for (size_t k = 0; k < raw_count; k++) {
        if (raw[k].section < 0)
            continue;
        size_t len = 0;
        bw_slice name = raw[k].name;
        size_t off = join_rfc2231(cs, raw, raw_count, k, scratch, &len, anomalies);
        if (off == SIZE_MAX)
            return -1;
        out->params[out->param_count].name = name;
        out->params[out->param_count].value = bw_slice_make(NULL, len);
        value_offsets[out->param_count++] = off;
    }
    // scratch has stopped growing: turn offsets into pointers.
    for (size_t k = 0; k < out->param_count; k++)
        if (value_offsets[k] != SIZE_MAX)
            out->params[k].value.p = scratch->p + value_offsets[k];
    return 0;
}

bw_slice mime_field_param(const mime_field *f, const char *name)
{
    for (size_t k = 0; k < f->param_count; k++)
        if (bw_slice_eq_ci_cstr(f->params[k].name, name))
            return f->params[k].value.p ? f->params[k].value : bw_slice_make("", 0);
    return BW_SLICE_NULL;
}

// ---- Dates --------------------------------------------------------------------------------

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

// Three letters, lower-cased, as one integer: month and weekday names compare as numbers.
static inline uint32_t key3(const char *p)
{
    return (uint32_t)ascii_lower((unsigned char)p[0]) << 16 | (uint32_t)ascii_lower((unsigned char)p[1]) << 8 |
           ascii_lower((unsigned char)p[2]);
}
#define KEY3(a, b, c) ((uint32_t)(a) << 16 | (uint32_t)(b) << 8 | (uint32_t)(c))

static int month_index(const char *p, size_t n)
{
    static const uint32_t months[12] = {
        KEY3('j', 'a', 'n'), KEY3('f', 'e', 'b'), KEY3('m', 'a', 'r'), KEY3('a', 'p', 'r'),
        KEY3('m', 'a', 'y'), KEY3('j', 'u', 'n'), KEY3('j', 'u', 'l'), KEY3('a', 'u', 'g'),
        KEY3('s', 'e', 'p'), KEY3('o', 'c', 't'), KEY3('n', 'o', 'v'), KEY3('d', 'e', 'c'),
    };
    if (n < 3)
        return -1;
    uint32_t m = key3(p);
    for (int k = 0; k < 12; k++)
        if (months[k] == m)
            return k + 1;
    return -1;
}

// Named zones of RFC 5322 4.3 (and UTC); military letters are treated as +0000, as the
// RFC advises since their sign was historically inverted.
static bool zone_offset(const char *p, size_t n, int *minutes)
{
    static const struct { const char *name; int minutes; } zones[] = {
        { "ut", 0 }, { "utc", 0 }, { "gmt", 0 }, { "z", 0 }, { "est", -300 }, { "edt", -240 },
        { "cst", -360 }, { "cdt", -300 }, { "mst", -420 }, { "mdt", -360 }, { "pst", -480 },
        { "pdt", -420 }, { "cet", 60 }, { "cest", 120 }, { "bst", 60 }, { "jst", 540 },
        { "kst", 540 }, { "met", 60 }, { "mest", 120 }, { "eet", 120 }, { "eest", 180 },
    };
    char z[8];
    if (n == 0 || n >= sizeof z)
        return false;
    for (size_t k = 0; k < n; k++)
        z[k] = (char)ascii_lower((unsigned char)p[k]);
    z[n] = '\0';
    for (size_t k = 0; k < sizeof zones / sizeof zones[0]; k++)
        if (strcmp(zones[k].name, z) == 0) {
            *minutes = zones[k].minutes;
            return true;
        }
    if (n == 1 && z[0] >= 'a' && z[0] <= 'z' && z[0] != 'j') {
        *minutes = 0;
        return true;
    }
    return false;
}

static bool is_weekday(const char *p, size_t n)
{
    static const uint32_t days[7] = {
        KEY3('m', 'o', 'n'), KEY3('t', 'u', 'e'), KEY3('w', 'e', 'd'), KEY3('t', 'h', 'u'),
        KEY3('f', 'r', 'i'), KEY3('s', 'a', 't'), KEY3('s', 'u', 'n'),
    };
    if (n < 3)
        return false;
    uint32_t d = key3(p);
    for (int k = 0; k < 7; k++)
        if (days[k] == d)
            return true;
    return false;
}

static bool all_digits(const char *p, size_t n)
{
    if (n == 0)
        return false;
    for (size_t k = 0; k < n; k++)
        if (p[k] < '0' || p[k] > '9')
            return false;
    return true;
}

static int to_int(const char *p, size_t n)
{
    int v = 0;
    for (size_t k = 0; k < n && k < 9; k++)
        v = v * 10 + (p[k] - '0');
    return v;
}

// memchr for a date's few-byte tokens, where the libc call costs more than the scan.
static const char *token_chr(const char *p, char c, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (p[k] == c)
            return p + k;
    return NULL;
}

static bool date_fields_to_time(int year, int month, int day, int hour, int minute, int second, int zone,
                                time_t *out)
{
    if (day < 1 || day > 31 || month < 1 || year < 1900 || year > 9999 || hour < 0 || hour > 23 ||
        minute < 0 || minute > 59 || second > 60)
        return false;
    int64_t days = days_from_civil(year, (unsigned)month, (unsigned)day);
    int64_t t = days * 86400 + hour * 3600 + minute * 60 + second - (int64_t)zone * 60;
    *out = (time_t)t;
    return true;
}

// Byte classes of the fast date path: 1 = a separator (blank, CR, LF, comma), 2 = a digit.
static const unsigned char date_class[256] = {
    ['\t'] = 1, ['\n'] = 1, ['\r'] = 1, [' '] = 1, [','] = 1,
    ['0'] = 2, ['1'] = 2, ['2'] = 2, ['3'] = 2, ['4'] = 2, ['5'] = 2, ['6'] = 2, ['7'] = 2, ['8'] = 2, ['9'] = 2,
};
static inline bool is_digit(char c) { return date_class[(unsigned char)c] & 2; }
static inline bool date_sep(char c) { return date_class[(unsigned char)c] & 1; }
static inline int two_digits(const char *p) { return (p[0] - '0') * 10 + (p[1] - '0'); }

// The shape nearly every Date and Received date has, "[Tue, ]1 Jul 2003 10:52:37 +0200",
// read in one pass. Returns 1 with *out set, 0 for an invalid date, -1 when the text has
// another shape (or anything the general parser could read differently): the caller then
// runs the general parser, so both paths give the same answer.
static int parse_date_fast(const char *s, size_t n, time_t *out)
{
    size_t i = 0;
    while (i < n && date_sep(s[i]))
        i++;
    if (n - i >= 4 && is_weekday(s + i, 3) && date_sep(s[i + 3])) {
        i += 3;
        while (i < n && date_sep(s[i]))
            i++;
    }
    // D[D] Mon YYYY HH:MM:SS +ZZZZ: at least 1+1+3+1+4+1+8+1+5 bytes from here
    if (n - i < 25 || !is_digit(s[i]))
        return -1;
    int day = s[i++] - '0';
    if (is_digit(s[i]))
        day = day * 10 + (s[i++] - '0');
    if (!date_sep(s[i]))
        return -1;
    while (i < n && date_sep(s[i]))
        i++;
    if (n - i < 22 || !date_sep(s[i + 3]))
        return -1;
    int month = month_index(s + i, 3);
    if (month < 0)
        return -1;
    i += 3;
    while (i < n && date_sep(s[i]))
        i++;
    if (n - i < 18 || !is_digit(s[i]) || s[i] == '0' || !is_digit(s[i + 1]) || !is_digit(s[i + 2]) ||
        !is_digit(s[i + 3]) || !date_sep(s[i + 4]))
        return -1;
    int year = two_digits(s + i) * 100 + two_digits(s + i + 2);
    i += 4;
    while (i < n && date_sep(s[i]))
        i++;
    const char *t = s + i;
    if (n - i < 14 || !is_digit(t[0]) || !is_digit(t[1]) || t[2] != ':' || !is_digit(t[3]) || !is_digit(t[4]) ||
        t[5] != ':' || !is_digit(t[6]) || !is_digit(t[7]) || !date_sep(t[8]))
        return -1;
    int hour = two_digits(t), minute = two_digits(t + 3), second = two_digits(t + 6);
    i += 8;
    while (i < n && date_sep(s[i]))
        i++;
    const char *z = s + i;
    if (n - i < 5 || (z[0] != '+' && z[0] != '-') || !all_digits(z + 1, 4))
        return -1;
    i += 5;
    // What follows must end the zone token and hold nothing that could set another zone
    // (the general parser takes a later "+hhmm" or "-hhmm"); comments and names are fine.
    if (i < n && !date_sep(s[i]) && s[i] != '(')
        return -1;
    for (size_t k = i; k < n; k++)
        if (s[k] == '+' || s[k] == '-')
            return -1;
    int zone = (two_digits(z + 1) * 60 + two_digits(z + 3)) * (z[0] == '-' ? -1 : 1);
    return date_fields_to_time(year, month, day, hour, minute, second, zone, out) ? 1 : 0;
}

bool bw_mime_parse_date(bw_slice value, time_t *out)
{
    if (value.p) {
        int fast = parse_date_fast(value.p, value.n, out);
        if (fast >= 0)
            return fast == 1;
    }
    const char *s = value.p;
    size_t n = value.n, i = 0;
    int day = -1, month = -1, year = -1, hour = -1, minute = -1, second = 0, zone = 0;
    bool have_zone = false;
    if (!s)
        return false;
    // Tokens split on blanks and commas; each is recognised by its shape, which covers
    // "Tue, 1 Jul 2003 10:52:37 +0200", "1 Jul 03 10:52 EST", "Tue Jul  1 10:52:37 2003".
    while (i < n) {
        while (i < n && (is_wsp(s[i]) || s[i] == ','))
            i++;
        if (i < n && s[i] == '(') {
            i = skip_cfws(s, n, i);
            continue;
        }
        size_t start = i;
        while (i < n && !is_wsp(s[i]) && s[i] != ',' && s[i] != '(')
            i++;
        const char *t = s + start;
        size_t tn = i - start;
        if (tn == 0)
            break;
        const char *colon = token_chr(t, ':', tn);
        if (colon && hour < 0) {
            // hh:mm[:ss]
            size_t h_n = (size_t)(colon - t);
            const char *rest = colon + 1;
            size_t rest_n = tn - h_n - 1;
            const char *colon2 = token_chr(rest, ':', rest_n);
            size_t m_n = colon2 ? (size_t)(colon2 - rest) : rest_n;
            // One-digit minutes and seconds ("1:5:13") come from broken mailers; accepted.
            if (!all_digits(t, h_n) || h_n > 2 || !all_digits(rest, m_n) || m_n > 2)
                return false;
            hour = to_int(t, h_n);
            minute = to_int(rest, m_n);
            if (colon2) {
                size_t s_n = rest_n - m_n - 1;
                // Some mailers append fractions: "10:52:37.123".
                size_t digits = 0;
                while (digits < s_n && colon2[1 + digits] >= '0' && colon2[1 + digits] <= '9')
                    digits++;
                if (digits == 0 || digits > 2)
                    return false;
                second = to_int(colon2 + 1, digits);
            }
        } else if ((t[0] == '+' || t[0] == '-') && tn == 5 && all_digits(t + 1, 4) && hour >= 0) {
            int hh = to_int(t + 1, 2), mm = to_int(t + 3, 2);
            zone = (hh * 60 + mm) * (t[0] == '-' ? -1 : 1);
            have_zone = true;
        } else if (t[0] == '+' && tn == 6 && t[1] == '-' && all_digits(t + 2, 4) && hour >= 0) {
            zone = -(to_int(t + 2, 2) * 60 + to_int(t + 4, 2));   // "+-0500" (a sign bug)
            have_zone = true;
        } else if (tn == 10 && (t[4] == '/' || t[4] == '-') && t[7] == t[4] && all_digits(t, 4) &&
                   all_digits(t + 5, 2) && all_digits(t + 8, 2) && year < 0 && month < 0 && day < 0) {
            year = to_int(t, 4);   // "2002/09/14" or ISO "2002-09-14"
            month = to_int(t + 5, 2);
            day = to_int(t + 8, 2);
        } else if (all_digits(t, tn)) {
            int v = to_int(t, tn);
            if (year >= 0 && hour >= 0) {
                if (tn == 4 && !have_zone) {   // a zone without its sign: "0530"
                    zone = to_int(t, 2) * 60 + to_int(t + 2, 2);
                    have_zone = true;
                    continue;
                }
                break;
            }
            if (day < 0 && tn <= 2 && month < 0) {
                day = v;
            } else if (day < 0 && tn <= 2 && month > 0 && year < 0) {
                day = v;   // "Jul 1 2003" (asctime order)
            } else if (year < 0 && tn <= 4) {
                year = v;
                if (tn <= 2)
                    year += year < 50 ? 2000 : 1900;   // RFC 5322 4.3
                else if (year < 1000)
                    year += 1900;   // "101", and "0102": year - 1900 printed with %04d
            } else {
                return false;
            }
        } else if (month < 0 && month_index(t, tn) > 0 && tn <= 9) {
            month = month_index(t, tn);
        } else if (!have_zone && hour >= 0 && zone_offset(t, tn, &zone)) {
            have_zone = true;
        } else if ((month < 0 && day < 0 && tn >= 3) || is_weekday(t, tn)) {
            continue;   // a weekday name, wherever it is (or junk before the date)
        } else if (hour >= 0) {
            break;      // trailing junk after the time: the zone is unknown, use +0000
        } else {
            return false;
        }
    }
    return date_fields_to_time(year, month, day, hour, minute, second, zone, out);
}
