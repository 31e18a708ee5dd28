// SPDX-License-Identifier: MIT
// Content-Transfer-Encoding decoders for the MIME parser: base64, quoted-printable,
// uuencode, and RFC 2047's Q. They are written for hostile input: they never fail, never
// write past the bound the caller sized from the input length, and report damage as
// anomaly flags. Tolerance follows what mail clients show the reader, because that is
// what a spammer targets: base64 keeps decoding after stray characters and after inner
// padding (concatenated blocks), quoted-printable keeps bad escapes as written.
#include <string.h>

#include "mime_internal.h"

enum { B64_WS = 0x40, B64_PAD = 0x41, B64_BAD = 0x42 };

// Decoding table: 0..63 values, B64_WS for skippable blanks, B64_PAD for '=', else bad.
static const unsigned char b64_table[256] = {
#define BAD8 B64_BAD, B64_BAD, B64_BAD, B64_BAD, B64_BAD, B64_BAD, B64_BAD, B64_BAD
    B64_BAD, B64_BAD, B64_BAD, B64_BAD, B64_BAD, B64_BAD, B64_BAD, B64_BAD,
    B64_BAD, B64_WS, B64_WS, B64_WS, B64_WS, B64_WS, B64_BAD, B64_BAD,   // \t \n \v \f \r
    BAD8, BAD8,
    B64_WS, B64_BAD, B64_BAD, B64_BAD, B64_BAD, B64_BAD, B64_BAD, B64_BAD,   // ' '
    B64_BAD, B64_BAD, B64_BAD, 62, B64_BAD, B64_BAD, B64_BAD, 63,           // + /
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, B64_BAD, B64_BAD, B64_BAD, B64_PAD, B64_BAD, B64_BAD,
    B64_BAD, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, B64_BAD, B64_BAD, B64_BAD, B64_BAD, B64_BAD,
    B64_BAD, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, B64_BAD, B64_BAD, B64_BAD, B64_BAD, B64_BAD,
    BAD8, BAD8, BAD8, BAD8, BAD8, BAD8, BAD8, BAD8,
    BAD8, BAD8, BAD8, BAD8, BAD8, BAD8, BAD8, BAD8,
#undef BAD8
};

size_t mime_base64_decode(const char *in, size_t n, unsigned char *out, uint64_t *anomalies)
{
    const unsigned char *s = (const unsigned char *)in;
    unsigned char *w = out;
    uint32_t acc = 0;
    int quad = 0;
    bool bad = false, padded = false;
    size_t i = 0;
    while (i < n) {
        // Fast path: four alphabet characters in a row, the bulk of any base64 body.
        if (quad == 0) {
            while (i + 4 <= n) {
                unsigned a = b64_table[s[i]], b = b64_table[s[i + 1]], c = b64_table[s[i + 2]],
                         d = b64_table[s[i + 3]];
                if ((a | b | c | d) & 0xC0)
                    break;
                uint32_t v = (a << 18) | (b << 12) | (c << 6) | d;
                w[0] = (unsigned char)(v >> 16);
                w[1] = (unsigned char)(v >> 8);
                w[2] = (unsigned char)v;
                w += 3;
                i += 4;
            }
            if (i >= n)
                break;
        }
        unsigned v = b64_table[s[i++]];
        if (v < 64) {
            padded = false;
            acc = (acc << 6) | v;
            if (++quad == 4) {
                w[0] = (unsigned char)(acc >> 16);
                w[1] = (unsigned char)(acc >> 8);
                w[2] = (unsigned char)acc;
                w += 3;
                quad = 0;
                acc = 0;
            }
        } else if (v == B64_WS) {
            continue;
        } else if (v == B64_PAD) {
            // Padding ends a group early; decoding resumes after it because mailers that
            // encode line by line concatenate padded blocks, and clients show them all.
            if (quad == 2) {
                *w++ = (unsigned char)(acc >> 4);
            } else if (quad == 3) {
                *w++ = (unsigned char)(acc >> 10);
                *w++ = (unsigned char)(acc >> 2);
            } else if (quad == 1) {
                bad = true;
            } else if (!padded && w == out) {
                bad = true;   // '=' with nothing before it
            }
            quad = 0;
            acc = 0;
            padded = true;
            // After the padding: more base64 (blocks that were encoded line by line and
            // concatenated) is decoded; anything else (a mailing-list footer appended to a
            // single-part message) ends the data, as Python's decoder and clients treat it.
            size_t j = i;
            while (j < n && (s[j] == '=' || b64_table[s[j]] == B64_WS))
                j++;
            size_t k = j;
            while (k < n && s[k] != '\n' && s[k] != '\r' && b64_table[s[k]] <= B64_PAD)
                k++;
            if (j < n && k < n && s[k] != '\n' && s[k] != '\r') {
                bad = true;
                break;
            }
            i = j;
        } else {
            bad = true;
        }
    }
    if (quad) {
        // A dangling group: decode what it holds, as lenient decoders do.
        if (quad == 2) {
            *w++ = (unsigned char)(acc >> 4);
        } else if (quad == 3) {
            *w++ = (unsigned char)(acc >> 10);
            *w++ = (unsigned char)(acc >> 2);
        }
        *anomalies |= BW_ANOM_TRUNCATED_BASE64;
    }
    if (bad)
        *anomalies |= BW_ANOM_BAD_BASE64;
    return (size_t)(w - out);
}

static inline int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

size_t mime_qp_decode(const char *in, size_t n, unsigned char *out, uint64_t *anomalies)
{
    const unsigned char *s = (const unsigned char *)in;
    unsigned char *w = out;
    size_t i = 0;
    while (i < n) {
        const unsigned char *eq = memchr(s + i, '=', n - i);
        size_t run = eq ? (size_t)(eq - (s + i)) : n - i;
        memcpy(w, s + i, run);
        w += run;
        i += run;
        if (!eq)
            break;
        i++;   // past '='
        if (i >= n)
            break;   // soft break at the very end
        if (s[i] == '\n') {
            i++;
            continue;
        }
        if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') {
            i += 2;
            continue;
        }
        int hi = hex_value(s[i]), lo = i + 1 < n ? hex_value(s[i + 1]) : -1;
        if (hi >= 0 && lo >= 0) {
            *w++ = (unsigned char)(hi << 4 | lo);
            i += 2;
            continue;
        }
        // "=" followed by blanks to the end of the line: a soft break whose trailing
        // whitespace some gateway added (RFC 2045 6.7 rule 3 lets decoders drop it).
        size_t j = i;
        while (j < n && (s[j] == ' ' || s[j] == '\t'))
            j++;
        if (j > i && (j == n || s[j] == '\n' || (s[j] == '\r' && j + 1 < n && s[j + 1] == '\n'))) {
            i = j < n ? j + (s[j] == '\r' ? 2 : 1) : j;
            continue;
        }
        *w++ = '=';
        *anomalies |= BW_ANOM_BAD_QP;
    }
    return (size_t)(w - out);
}

size_t mime_q_decode(const char *in, size_t n, unsigned char *out)
{
    const unsigned char *s = (const unsigned char *)in;
    unsigned char *w = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '_') {
            *w++ = ' ';
        } else if (s[i] == '=' && i + 2 < n && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
            *w++ = (unsigned char)(hex_value(s[i + 1]) << 4 | hex_value(s[i + 2]));
            i += 2;
        } else {
            *w++ = s[i];
        }
    }
    return (size_t)(w - out);
}

static bool line_starts(const unsigned char *line, size_t len, const char *word)
{
    size_t k = strlen(word);
    return len >= k && memcmp(line, word, k) == 0;
}

size_t mime_uu_decode(const char *in, size_t n, unsigned char *out, uint64_t *anomalies)
{
    const unsigned char *s = (const unsigned char *)in;
    unsigned char *w = out;
    size_t pos = 0;
    // Skip to just after a "begin " line if there is one.
    for (size_t p = 0; p < n;) {
        const unsigned char *nl = memchr(s + p, '\n', n - p);
        size_t end = nl ? (size_t)(nl - s) : n;
        if (line_starts(s + p, end - p, "begin ")) {
            pos = nl ? end + 1 : n;
            break;
        }
        p = nl ? end + 1 : n;
    }
    bool bad = false;
    while (pos < n) {
        const unsigned char *nl = memchr(s + pos, '\n', n - pos);
        size_t end = nl ? (size_t)(nl - s) : n;
        size_t len = end - pos;
        const unsigned char *line = s + pos;
        pos = nl ? end + 1 : n;
        while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
            len--;
        if (len == 0)
            continue;
        if (len == 3 && memcmp(line, "end", 3) == 0)
            break;
        size_t want = (size_t)((line[0] - 32) & 63);
        if (want == 0)
            continue;
        // Decode only what the line's characters carry; a length byte that promises more
        // is damage, not a reason to read past the line.
        size_t avail = (len - 1) * 3 / 4;
        if (want > avail) {
            bad = true;
            want = avail;
        }
        size_t have = 0;
        for (size_t k = 1; have < want; k += 4) {
            unsigned char c[4];
            for (int j = 0; j < 4; j++) {
                size_t idx = k + (size_t)j;
                unsigned char ch = idx < len ? line[idx] : '`';
                if (ch < 32 || ch > 96)
                    bad = true;
                c[j] = (unsigned char)((ch - 32) & 63);
            }
            unsigned char bytes[3] = { (unsigned char)(c[0] << 2 | c[1] >> 4),
                                       (unsigned char)(c[1] << 4 | c[2] >> 2),
                                       (unsigned char)(c[2] << 6 | c[3]) };
            for (int j = 0; j < 3 && have < want; j++, have++)
                *w++ = bytes[j];
        }
    }
    if (bad)
        *anomalies |= BW_ANOM_BAD_UUENCODE;
    return (size_t)(w - out);
}
