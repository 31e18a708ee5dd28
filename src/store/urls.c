// SPDX-License-Identifier: MIT
// How a message's URLs are stored (schema v5, docs/store.md): one message_urls row holding
// a JSON array of [url, host, domain, from_html, obfuscated], read back as rows through the
// `urls` view, and one url_domains row per distinct domain, keyed by the integer id of the
// domain's name in `domains`. The writer keeps the ids it has seen in memory (idcache.c),
// so a known domain costs a hash lookup instead of a B-tree search on its text.
//
// Why not one row per URL any more: the ingest writer is the pipeline's one serial stage
// and on bench/ingest it, not the parsers, set the pace (the ring sat full 86% of the run
// with both workers idle a quarter of it). Per URL it paid a statement step and a B-tree
// insert (~18k instructions a message at 4.5 URLs), per domain a text-keyed B-tree insert
// (~13k); one JSON row and integer-keyed pairs took the writer from 0.74-0.77 s to
// 0.62-0.64 s of CPU and the run from 43.0-44.6k to 47.7-50.2k msgs/s (alternating pairs,
// 28 Nov 2026; docs/store.md).
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "store_internal.h"

// ---- JSON --------------------------------------------------------------------------

// Bytes a JSON string must escape: the control bytes, quote and backslash.
static bool needs_escape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

// Writes the escape of byte c at d, as SQLite's json_array() writes it: \" \\ \b \f \n \r
// \t, \u00XX for the other control bytes.
static char *put_escape(char *d, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    *d++ = '\\';
    switch (c) {
    case '"': *d++ = '"'; break;
    case '\\': *d++ = '\\'; break;
    case '\b': *d++ = 'b'; break;
    case '\f': *d++ = 'f'; break;
    case '\n': *d++ = 'n'; break;
    case '\r': *d++ = 'r'; break;
    case '\t': *d++ = 't'; break;
    default:
        memcpy(d, "u00", 3);
        d[3] = hex[c >> 4];
        d[4] = hex[c & 15];
        d += 5;
    }
    return d;
}

// Writes s as a JSON string at d, which has room for the worst case (6 bytes a byte, plus
// the quotes), escaped as SQLite's json_array() does so that the two agree byte for byte
// (tests compare them). Every byte that needs no escape goes through as it is, 8-bit ones
// included, so a URL reads back byte for byte (SQLite's JSON functions do not require valid
// UTF-8 inside strings). Returns the end of what it wrote.
static char *put_string(char *d, bw_slice s)
{
    *d++ = '"';
    size_t i = 0;
#if defined(__SSE2__)
    // 16 bytes a step: stored as they are (the room covers it), then the first byte that
    // needs an escape, if any, is written over with its escape.
    const __m128i ctl_max = _mm_set1_epi8(0x1f), quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
    while (s.n - i >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s.p + i));
        __m128i esc = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(x, ctl_max), x),
                                   _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)));
        unsigned m = (unsigned)_mm_movemask_epi8(esc);
        _mm_storeu_si128((__m128i *)(void *)d, x);
        if (!m) {
            d += 16;
            i += 16;
            continue;
        }
        unsigned k = (unsigned)__builtin_ctz(m);
        d = put_escape(d + k, (unsigned char)s.p[i + k]);
        i += k + 1;
    }
#endif
    for (; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (needs_escape(c))
            d = put_escape(d, c);
        else
            *d++ = (char)c;
    }
    *d++ = '"';
    return d;
}

// An empty host or domain is stored as null, as the per-URL rows stored NULL ("not known").
static char *put_text_or_null(char *d, bw_slice s)
{
    if (!s.n || !s.p) {
        memcpy(d, "null", 4);
        return d + 4;
    }
    return put_string(d, s);
}

// One reservation for the worst case (every byte escaped as \u00XX) and direct writes: the
// ingest writer, the pipeline's serial stage, encodes every message's URLs, and appending
// piece by piece cost ~8.9k instructions a message on bench/ingest (callgrind), about as
// much as one of its B-tree inserts.
int bw_store_urls_json(bw_buf *out, const bw_url *urls, size_t count)
{
    bw_buf_clear(out);
    size_t worst = 2;
    for (size_t i = 0; i < count; i++) {
        size_t text = urls[i].url.n + urls[i].host.n + urls[i].domain.n;
        if (text > (SIZE_MAX - worst) / 6 - 32)
            return -1;
        worst += 6 * text + 32;   // [,"","","",1,1] plus nulls
    }
    if (bw_buf_reserve(out, worst) != 0)
        return -1;
    char *d = out->p;
    *d++ = '[';
    for (size_t i = 0; i < count; i++) {
        const bw_url *u = &urls[i];
        if (i)
            *d++ = ',';
        *d++ = '[';
        d = put_string(d, u->url.p ? u->url : (bw_slice){ "", 0 });
        *d++ = ',';
        d = put_text_or_null(d, u->host);
        *d++ = ',';
        d = put_text_or_null(d, u->domain);
        memcpy(d, u->from_html ? ",1" : ",0", 2);
        memcpy(d + 2, u->obfuscated ? ",1]" : ",0]", 3);
        d += 5;
    }
    *d++ = ']';
    out->n = (size_t)(d - out->p);
    out->p[out->n] = '\0';
    return 0;
}
