// SPDX-License-Identifier: MIT
// Internals shared by the files of the MIME module (src/mime/): the iconv cache, transfer
// decoders, RFC 2047 / 2231 header decoding and Content-Type parsing. Not a public API:
// everything here may change with the parser.
#ifndef BOTWATCH_MIME_INTERNAL_H
#define BOTWATCH_MIME_INTERNAL_H

#include <iconv.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "botwatch/mime.h"
#include "botwatch/str.h"

// Charset conversion to UTF-8. iconv_open() costs microseconds (it loads gconv modules and
// builds tables), far more than converting a typical part, so a parser keeps the
// descriptors it opened, keyed by the normalised charset name, and reuses them.
#define MIME_CHARSET_NAME_MAX 40

// Length of the ASCII prefix of s[0..n): the index of the first byte >= 0x80, or n. Bodies
// and header blocks are nearly all ASCII; every "is this ASCII" scan of the parser goes
// through here. With SSE2 (x86-64's baseline) a byte's top bit is one movemask away: 32
// bytes a step, then 16, then one 16-byte load ending at n (overlapping bytes already
// known ASCII), so a header field's tail costs one step instead of a byte loop. Without
// SSE2, or under 16 bytes: four words ORed per step, then a word, then bytes.
static inline size_t mime_ascii_prefix(const char *s, size_t n)
{
    size_t i = 0;
#ifdef __SSE2__
    if (n >= 16) {
        for (; i + 32 <= n; i += 32) {
            __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
            __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(s + i + 16));
            if (_mm_movemask_epi8(_mm_or_si128(a, b)))
                break;
        }
        for (; i + 16 <= n; i += 16) {
            unsigned m = (unsigned)_mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(const void *)(s + i)));
            if (m)
                return i + (size_t)__builtin_ctz(m);
        }
        if (i == n)
            return n;
        // s[n-16..n): byte i is bit 16 - (n - i); the bytes before it are ASCII.
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(const void *)(s + n - 16)));
        m >>= 16 - (n - i);
        return m ? i + (size_t)__builtin_ctz(m) : n;
    }
#endif
    const uint64_t high = 0x8080808080808080ull;
    for (; i + 32 <= n; i += 32) {
        uint64_t a, b, c, d;
        memcpy(&a, s + i, 8);
        memcpy(&b, s + i + 8, 8);
        memcpy(&c, s + i + 16, 8);
        memcpy(&d, s + i + 24, 8);
        if ((a | b | c | d) & high)
            break;
    }
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (w & high)
            break;
    }
    while (i < n && !((unsigned char)s[i] & 0x80))
        i++;
    return i;
}
#define MIME_CHARSET_CACHE 16

typedef struct mime_charset_entry {
    char name[MIME_CHARSET_NAME_MAX + 1];   // normalised (lowercase) name as declared
    iconv_t cd;                              // (iconv_t)-1 when the name is unknown
    uint64_t last_used;
} mime_charset_entry;

typedef struct mime_charsets {
    mime_charset_entry entries[MIME_CHARSET_CACHE];
    size_t count;
    uint64_t clock;
} mime_charsets;

void mime_charsets_init(mime_charsets *cs);
void mime_charsets_close(mime_charsets *cs);

// Appends the UTF-8 form of in[0..n) declared in `charset` to out. Invalid bytes become
// U+FFFD (BW_ANOM_CHARSET_ERRORS); an unknown charset falls back to windows-1252
// (BW_ANOM_BAD_CHARSET). An empty charset means us-ascii. cs may be NULL (no cache: one
// iconv_open per call). Returns 0, or -1 on allocation failure.
int mime_to_utf8(mime_charsets *cs, bw_slice charset, const char *in, size_t n, bw_buf *out,
                 uint64_t *anomalies);

// True if s is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool mime_utf8_valid(const char *s, size_t n);
// Appends s with each maximal ill-formed subsequence replaced by U+FFFD (the Unicode
// "best practice", which Python's decoder also follows). Returns 0 or -1 (no memory);
// *had_errors is set when a replacement happened.
int mime_utf8_sanitize(const char *s, size_t n, bw_buf *out, bool *had_errors);

// Transfer decoders. Each writes at most the stated bound into out and returns the bytes
// written; damage is reported as anomaly flags, never as failure.
// base64: out needs n / 4 * 3 + 3 bytes. Skips whitespace; other invalid characters are
// skipped and flagged BAD_BASE64; a dangling group is flagged TRUNCATED_BASE64.
size_t mime_base64_decode(const char *in, size_t n, unsigned char *out, uint64_t *anomalies);
// quoted-printable: out needs n bytes. Soft breaks removed; bad escapes kept literally
// and flagged BAD_QP.
size_t mime_qp_decode(const char *in, size_t n, unsigned char *out, uint64_t *anomalies);
// uuencode ("begin MODE NAME" ... "end"): out needs n bytes. Without a begin line the
// whole input is decoded as uuencoded lines; damage is flagged BAD_UUENCODE.
size_t mime_uu_decode(const char *in, size_t n, unsigned char *out, uint64_t *anomalies);
// RFC 2047 Q (header) and B decoding of one encoded word's text; out needs n bytes.
size_t mime_q_decode(const char *in, size_t n, unsigned char *out);

// Decodes RFC 2047 encoded words in an unstructured header value (Python's rules: words
// are decoded even inside atoms, whitespace between adjacent words dropped, words of the
// same charset joined before conversion so split multibyte characters survive) and
// converts to UTF-8; raw 8-bit bytes are read as UTF-8 (RFC 6532).
int mime_decode_header_cached(mime_charsets *cs, bw_slice value, bw_buf *out, uint64_t *anomalies);

// A parsed Content-Type / Content-Disposition value. Slices point into the header value
// or into `scratch` (RFC 2231 values, which need decoding).
typedef struct mime_param {
    bw_slice name;       // lowercase not guaranteed: compare case-insensitively
    bw_slice value;      // unquoted; for RFC 2231 values, decoded and in UTF-8
} mime_param;

#define MIME_MAX_PARAMS 32

typedef struct mime_field {
    bw_slice type;       // "text" (or "attachment"), as written (case kept)
    bw_slice subtype;    // "plain"; empty for dispositions
    bool valid;          // type/subtype syntax held (always true for dispositions)
    mime_param params[MIME_MAX_PARAMS];
    size_t param_count;
} mime_field;

// Parses `value` (a Content-Type when want_subtype, else a Content-Disposition): comments
// skipped, quoted strings unquoted, RFC 2231 continuations and charsets decoded (into
// scratch, which the caller keeps alive while using the result). Flags BAD_CONTENT_TYPE,
// BAD_RFC2231. Returns 0 or -1 on allocation failure.
int mime_parse_field(mime_charsets *cs, bw_slice value, bool want_subtype, mime_field *out,
                     bw_buf *scratch, uint64_t *anomalies);
// The first parameter named `name` (case-insensitive), or an empty slice with .p NULL.
bw_slice mime_field_param(const mime_field *f, const char *name);

#endif
