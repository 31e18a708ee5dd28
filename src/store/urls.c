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
// (~13k); one JSON row and integer-keyed pairs take the writer from 0.75-0.79 s to 0.63-0.70 s
// of CPU and the run from 44.7-46.1k to 49.4-49.7k msgs/s (paired, 28 Nov 2026).
#include "store_internal.h"

// ---- JSON --------------------------------------------------------------------------

// A JSON string of s, escaped as SQLite's json_array() does (so the two agree byte for
// byte: tests compare them): \" \\ \b \f \n \r \t, \u00XX for the other control bytes;
// every other byte goes through as it is, 8-bit ones included, so a URL reads back byte for
// byte (SQLite's JSON functions do not require valid UTF-8 inside strings).
static int json_string(bw_buf *b, bw_slice s)
{
    static const char hex[] = "0123456789abcdef";
    int rc = bw_buf_append(b, "\"", 1);
    size_t start = 0;
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
        size_t n = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default: n = 6;
        }
        rc |= bw_buf_append(b, s.p + start, i - start);
        rc |= bw_buf_append(b, esc, n);
        start = i + 1;
    }
    rc |= bw_buf_append(b, s.p + start, s.n - start);
    return rc | bw_buf_append(b, "\"", 1);
}

// An empty host or domain is stored as null, as the per-URL rows stored NULL ("not known").
static int json_text_or_null(bw_buf *b, bw_slice s)
{
    if (!s.n || !s.p)
        return bw_buf_append(b, "null", 4);
    return json_string(b, s);
}

int bw_store_urls_json(bw_buf *out, const bw_url *urls, size_t count)
{
    bw_buf_clear(out);
    int rc = bw_buf_append(out, "[", 1);
    for (size_t i = 0; i < count; i++) {
        const bw_url *u = &urls[i];
        rc |= bw_buf_append(out, i ? ",[" : "[", i ? 2 : 1);
        rc |= json_string(out, u->url.p ? u->url : (bw_slice){ "", 0 });
        rc |= bw_buf_append(out, ",", 1);
        rc |= json_text_or_null(out, u->host);
        rc |= bw_buf_append(out, ",", 1);
        rc |= json_text_or_null(out, u->domain);
        rc |= bw_buf_append(out, u->from_html ? ",1" : ",0", 2);
        rc |= bw_buf_append(out, u->obfuscated ? ",1]" : ",0]", 3);
    }
    return rc | bw_buf_append(out, "]", 1);
}
