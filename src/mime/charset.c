// SPDX-License-Identifier: MIT
// Charset conversion of decoded text to UTF-8 for the MIME parser. us-ascii, utf-8 and
// iso-8859-1 are converted here without iconv (they are most of the mail and need no
// tables); everything else goes through glibc iconv with descriptors cached per parser.
// Declared names are normalised and mapped through an alias table of the names mailers
// really write (ks_c_5601-1987, x-sjis, ...); a name iconv does not know falls back to
// windows-1252, the most common undeclared charset of Western mail, and is flagged.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime_internal.h"

enum charset_kind { CS_ASCII, CS_UTF8, CS_LATIN1, CS_CP1252, CS_ICONV };

static const struct charset_alias {
    const char *alias;
    const char *canonical;     // name given to iconv_open, or "" for a built-in kind
    enum charset_kind kind;
} charset_aliases[] = {
    { "", "", CS_ASCII },
    { "us-ascii", "", CS_ASCII },
    { "ascii", "", CS_ASCII },
    { "us", "", CS_ASCII },
    { "ansi_x3.4-1968", "", CS_ASCII },
    { "iso646-us", "", CS_ASCII },
    { "646", "", CS_ASCII },
    { "utf-8", "", CS_UTF8 },
    { "utf8", "", CS_UTF8 },
    { "iso-8859-1", "", CS_LATIN1 },
    { "iso8859-1", "", CS_LATIN1 },
    { "iso_8859-1", "", CS_LATIN1 },
    { "iso-8859-1:1987", "", CS_LATIN1 },
    { "latin1", "", CS_LATIN1 },
    { "latin-1", "", CS_LATIN1 },
    { "l1", "", CS_LATIN1 },
    { "cp819", "", CS_LATIN1 },
    { "iso-ir-100", "", CS_LATIN1 },
    { "windows-1252", "", CS_CP1252 },
    { "cp1252", "", CS_CP1252 },
    { "x-cp1252", "", CS_CP1252 },
    // Korean mail declares the Windows code page under its old standard's name.
    { "ks_c_5601-1987", "CP949", CS_ICONV },
    { "ks_c_5601", "CP949", CS_ICONV },
    { "ks_c_5601-1989", "CP949", CS_ICONV },
    { "ksc5601", "CP949", CS_ICONV },
    { "ksc_5601", "CP949", CS_ICONV },
    { "x-windows-949", "CP949", CS_ICONV },
    { "windows-949", "CP949", CS_ICONV },
    { "x-sjis", "SHIFT_JIS", CS_ICONV },
    { "x-shift_jis", "SHIFT_JIS", CS_ICONV },
    { "shift-jis", "SHIFT_JIS", CS_ICONV },
    { "windows-31j", "CP932", CS_ICONV },
    { "x-euc-jp", "EUC-JP", CS_ICONV },
    { "x-euc", "EUC-JP", CS_ICONV },
    { "x-gbk", "GBK", CS_ICONV },
    { "x-big5", "BIG5", CS_ICONV },
    { "x-mac-roman", "MACINTOSH", CS_ICONV },
    { "x-mac-cyrillic", "MAC-CYRILLIC", CS_ICONV },
    { "iso-8859-8-i", "ISO-8859-8", CS_ICONV },
    { "iso-8859-6-i", "ISO-8859-6", CS_ICONV },
    { "unicode-1-1-utf-7", "UTF-7", CS_ICONV },
    { "x-unicode-2-0-utf-7", "UTF-7", CS_ICONV },
    { "windows-874", "CP874", CS_ICONV },
    { "x-cp1250", "CP1250", CS_ICONV },
    { "x-cp1251", "CP1251", CS_ICONV },
};

static inline unsigned char ascii_lower(unsigned char c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

// Lowercase, quotes and blanks stripped; false if the name holds characters no charset
// name has. That check also keeps iconv's "//TRANSLIT"-style suffixes out of reach of mail.
static bool normalise_name(bw_slice charset, char out[MIME_CHARSET_NAME_MAX + 1])
{
    bw_slice s = bw_slice_trim(charset);
    while (s.n && (s.p[0] == '"' || s.p[0] == '\'')) {
        s.p++;
        s.n--;
    }
    while (s.n && (s.p[s.n - 1] == '"' || s.p[s.n - 1] == '\''))
        s.n--;
    s = bw_slice_trim(s);
    if (s.n > MIME_CHARSET_NAME_MAX)
        return false;
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = ascii_lower((unsigned char)s.p[i]);
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
              c == ':' || c == '+'))
            return false;
        out[i] = (char)c;
    }
    out[s.n] = '\0';
    return true;
}

void mime_charsets_init(mime_charsets *cs) { memset(cs, 0, sizeof *cs); }

void mime_charsets_close(mime_charsets *cs)
{
    for (size_t i = 0; i < cs->count; i++)
        if (cs->entries[i].cd != (iconv_t)-1)
            iconv_close(cs->entries[i].cd);
    cs->count = 0;
}

// The cached descriptor for `name` (an iconv name), opening it on a miss; (iconv_t)-1 if
// iconv does not know the name. The least recently used entry is evicted when full.
static iconv_t cached_iconv(mime_charsets *cs, const char *key, const char *iconv_name)
{
    cs->clock++;
    for (size_t i = 0; i < cs->count; i++) {
        if (strcmp(cs->entries[i].name, key) == 0) {
            cs->entries[i].last_used = cs->clock;
            return cs->entries[i].cd;
        }
    }
    mime_charset_entry *slot;
    if (cs->count < MIME_CHARSET_CACHE) {
        slot = &cs->entries[cs->count++];
    } else {
        slot = &cs->entries[0];
        for (size_t i = 1; i < cs->count; i++)
            if (cs->entries[i].last_used < slot->last_used)
                slot = &cs->entries[i];
        if (slot->cd != (iconv_t)-1)
            iconv_close(slot->cd);
    }
    snprintf(slot->name, sizeof slot->name, "%s", key);
    slot->cd = iconv_open("UTF-8", iconv_name);
    slot->last_used = cs->clock;
    return slot->cd;
}

static int append_replacement(bw_buf *out) { return bw_buf_append(out, "\xEF\xBF\xBD", 3); }

// Length of the well-formed UTF-8 sequence at s (1..4), or 0 if ill-formed; *bad_len is
// then the length of the maximal ill-formed subpart to replace with one U+FFFD.
static inline size_t utf8_seq(const unsigned char *s, size_t n, size_t *bad_len)
{
    unsigned char c = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        *bad_len = 1;
        return 0;
    }
    size_t i = 1;
    for (; i < need; i++) {
        if (i >= n) {
            *bad_len = i;
            return 0;
        }
        unsigned char d = s[i];
        if (i == 1 ? (d < lo || d > hi) : (d < 0x80 || d > 0xBF)) {
            *bad_len = i;
            return 0;
        }
    }
    return need;
}

bool mime_utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        i += mime_ascii_prefix(str + i, n - i);   // ASCII, the common case, in big steps
        if (i >= n)
            break;
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t bad;
        size_t len = utf8_seq(s + i, n - i, &bad);
        if (!len)
            return false;
        i += len;
    }
    return true;
}

int mime_utf8_sanitize(const char *str, size_t n, bw_buf *out, bool *had_errors)
{
    const unsigned char *s = (const unsigned char *)str;
    if (bw_buf_reserve(out, n + 16) != 0)
        return -1;
    size_t i = 0, run = 0;
    while (i < n) {
        size_t bad;
        size_t len = s[i] < 0x80 ? 1 : utf8_seq(s + i, n - i, &bad);
        if (len) {
            i += len;
            continue;
        }
        if (bw_buf_append(out, str + run, i - run) != 0 || append_replacement(out) != 0)
            return -1;
        *had_errors = true;
        i += bad;
        run = i;
    }
    return bw_buf_append(out, str + run, n - run);
}

static int ascii_to_utf8(const char *in, size_t n, bw_buf *out, bool *had_errors)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        i += mime_ascii_prefix(in + i, n - i);
        if (i >= n)
            break;
        if ((unsigned char)in[i] >= 0x80) {
            if (bw_buf_append(out, in + run, i - run) != 0 || append_replacement(out) != 0)
                return -1;
            *had_errors = true;
            run = i + 1;
        }
    }
    return bw_buf_append(out, in + run, n - run);
}

static int latin1_to_utf8(const char *in, size_t n, bw_buf *out)
{
    if (n > (SIZE_MAX - 16) / 2 || bw_buf_reserve(out, 2 * n) != 0)
        return -1;
    char *w = out->p + out->n;
    for (size_t i = 0; i < n; i++) {
        // ASCII runs, most of any Western text, eight bytes at a time.
        while (i + 8 <= n) {
            uint64_t word;
            memcpy(&word, in + i, 8);
            if (word & 0x8080808080808080ull)
                break;
            memcpy(w, &word, 8);
            w += 8;
            i += 8;
        }
        if (i >= n)
            break;
        unsigned char c = (unsigned char)in[i];
        if (c < 0x80) {
            *w++ = (char)c;
        } else {
            *w++ = (char)(0xC0 | (c >> 6));
            *w++ = (char)(0x80 | (c & 0x3F));
        }
    }
    out->n = (size_t)(w - out->p);
    out->p[out->n] = '\0';
    return 0;
}

// windows-1252 is latin-1 but for 0x80-0x9F; built in because it is both common and the
// fallback. 0 marks the five undefined bytes (U+FFFD, as iconv and Python do).
static const uint16_t cp1252_high[32] = {
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
    0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
};

static int cp1252_to_utf8(const char *in, size_t n, bw_buf *out, bool *had_errors)
{
    if (n > (SIZE_MAX - 16) / 3 || bw_buf_reserve(out, 3 * n) != 0)
        return -1;
    char *w = out->p + out->n;
    for (size_t i = 0; i < n; i++) {
        while (i + 8 <= n) {
            uint64_t word;
            memcpy(&word, in + i, 8);
            if (word & 0x8080808080808080ull)
                break;
            memcpy(w, &word, 8);
            w += 8;
            i += 8;
        }
        if (i >= n)
            break;
        unsigned c = (unsigned char)in[i];
        if (c >= 0x80 && c < 0xA0) {
            c = cp1252_high[c - 0x80];
            if (!c) {
                c = 0xFFFD;
                *had_errors = true;
            }
        }
        if (c < 0x80) {
            *w++ = (char)c;
        } else if (c < 0x800) {
            *w++ = (char)(0xC0 | (c >> 6));
            *w++ = (char)(0x80 | (c & 0x3F));
        } else {
            *w++ = (char)(0xE0 | (c >> 12));
            *w++ = (char)(0x80 | ((c >> 6) & 0x3F));
            *w++ = (char)(0x80 | (c & 0x3F));
        }
    }
    out->n = (size_t)(w - out->p);
    out->p[out->n] = '\0';
    return 0;
}

static int iconv_to_utf8(iconv_t cd, const char *in, size_t n, bw_buf *out, bool *had_errors)
{
    iconv(cd, NULL, NULL, NULL, NULL);   // back to the initial shift state (ISO-2022-*)
    char *inp = (char *)in;
    size_t inleft = n;
    while (inleft > 0) {
        size_t room = inleft * 3 + 16;
        if (bw_buf_reserve(out, room) != 0)
            return -1;
        char *outp = out->p + out->n;
        size_t outleft = out->cap - out->n - 1;
        size_t before = outleft;
        size_t rc = iconv(cd, &inp, &inleft, &outp, &outleft);
        out->n += before - outleft;
        if (rc != (size_t)-1)
            break;
        if (errno == E2BIG)
            continue;
        // EILSEQ (invalid) or EINVAL (incomplete at the end): one U+FFFD per bad byte,
        // then carry on from the next byte, as Python's errors="replace" does.
        if (append_replacement(out) != 0)
            return -1;
        *had_errors = true;
        inp++;
        inleft--;
        iconv(cd, NULL, NULL, NULL, NULL);
    }
    // Flush any pending shift sequence output.
    if (bw_buf_reserve(out, 16) != 0)
        return -1;
    char *outp = out->p + out->n;
    size_t outleft = out->cap - out->n - 1, before = outleft;
    iconv(cd, NULL, NULL, &outp, &outleft);
    out->n += before - outleft;
    out->p[out->n] = '\0';
    return 0;
}

int mime_to_utf8(mime_charsets *cs, bw_slice charset, const char *in, size_t n, bw_buf *out,
                 uint64_t *anomalies)
{
    char name[MIME_CHARSET_NAME_MAX + 1];
    enum charset_kind kind = CS_ICONV;
    const char *iconv_name = NULL;
    bool known_name = normalise_name(charset, name);
    if (known_name) {
        iconv_name = name;
        for (size_t i = 0; i < sizeof charset_aliases / sizeof charset_aliases[0]; i++) {
            if (strcmp(charset_aliases[i].alias, name) == 0) {
                kind = charset_aliases[i].kind;
                iconv_name = charset_aliases[i].canonical;
                break;
            }
        }
    }
    bool had_errors = false;
    int rc = 0;
    if (known_name && kind == CS_ASCII) {
        rc = ascii_to_utf8(in, n, out, &had_errors);
    } else if (known_name && kind == CS_UTF8) {
        rc = mime_utf8_sanitize(in, n, out, &had_errors);
    } else if (known_name && kind == CS_LATIN1) {
        rc = latin1_to_utf8(in, n, out);
    } else if (known_name && kind == CS_CP1252) {
        rc = cp1252_to_utf8(in, n, out, &had_errors);
    } else {
        iconv_t cd = (iconv_t)-1;
        if (known_name)
            cd = cs ? cached_iconv(cs, name, iconv_name) : iconv_open("UTF-8", iconv_name);
        if (cd == (iconv_t)-1) {
            *anomalies |= BW_ANOM_BAD_CHARSET;
            rc = cp1252_to_utf8(in, n, out, &had_errors);
        } else {
            rc = iconv_to_utf8(cd, in, n, out, &had_errors);
            if (!cs)
                iconv_close(cd);
        }
    }
    if (had_errors)
        *anomalies |= BW_ANOM_CHARSET_ERRORS;
    return rc;
}
