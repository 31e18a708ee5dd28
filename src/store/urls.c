// SPDX-License-Identifier: MIT
// How a message's URLs are stored (schema v5, docs/store.md): one message_urls row holding
// a JSON array of [url, host, domain, from_html, obfuscated], read back as rows through the
// `urls` view, and one url_domains row per distinct domain, keyed by the integer id of the
// domain's name in `domains`. The writer keeps the ids it has seen in memory (this file's
// cache), so a known domain costs a hash lookup instead of a B-tree search on its text.
//
// Why not one row per URL any more: the ingest writer is the pipeline's one serial stage
// and on bench/ingest it, not the parsers, set the pace (the ring sat full 86% of the run
// with both workers idle a quarter of it). Per URL it paid a statement step and a B-tree
// insert (~18k instructions a message at 4.5 URLs), per domain a text-keyed B-tree insert
// (~13k); one JSON row and integer-keyed pairs take the writer from 0.75-0.79 s to 0.63-0.70 s
// of CPU and the run from 44.7-46.1k to 49.4-49.7k msgs/s (paired, 28 Nov 2026).
#include <stdlib.h>
#include <string.h>

#include "botwatch/hash.h"
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

// ---- Domain ids ----------------------------------------------------------------------

// Open addressing with keyed SipHash-1-3: the names come from mail, so an unkeyed hash
// could be flooded. Bounded: at DOMAIN_CACHE_MAX names the cache starts again empty (the
// ids stay in the table; a miss only costs one statement).
enum { DOMAIN_CACHE_MIN_SLOTS = 1024, DOMAIN_CACHE_MAX = 1 << 20 };

typedef struct domain_slot {
    uint64_t hash;
    int64_t id;          // 0: empty slot
    uint32_t off, n;     // the name in names
} domain_slot;

struct bw_domain_cache {
    bw_hash_key key;
    domain_slot *slots;
    size_t cap, count;   // cap: a power of two
    bw_buf names;
};

bw_domain_cache *bw_domain_cache_new(void)
{
    bw_domain_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (bw_hash_key_random(&c->key) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

void bw_domain_cache_free(bw_domain_cache *c)
{
    if (!c)
        return;
    free(c->slots);
    bw_buf_free(&c->names);
    free(c);
}

void bw_domain_cache_clear(bw_domain_cache *c)
{
    if (!c)
        return;
    if (c->slots)
        memset(c->slots, 0, c->cap * sizeof *c->slots);
    c->count = 0;
    bw_buf_clear(&c->names);
}

static domain_slot *find_slot(const bw_domain_cache *c, uint64_t h, bw_slice name)
{
    size_t mask = c->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        domain_slot *s = &c->slots[i];
        if (!s->id || (s->hash == h && s->n == name.n && !memcmp(c->names.p + s->off, name.p, name.n)))
            return s;
    }
}

int64_t bw_domain_cache_get(const bw_domain_cache *c, bw_slice name)
{
    if (!c->count)
        return 0;
    return find_slot(c, bw_siphash13(&c->key, name.p, name.n), name)->id;
}

static int grow(bw_domain_cache *c)
{
    size_t cap = c->cap ? c->cap * 2 : DOMAIN_CACHE_MIN_SLOTS;
    domain_slot *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < c->cap; i++) {
        const domain_slot *s = &c->slots[i];
        if (!s->id)
            continue;
        size_t j = (size_t)s->hash & (cap - 1);
        while (slots[j].id)
            j = (j + 1) & (cap - 1);
        slots[j] = *s;
    }
    free(c->slots);
    c->slots = slots;
    c->cap = cap;
    return 0;
}

int bw_domain_cache_put(bw_domain_cache *c, bw_slice name, int64_t id)
{
    if (id <= 0 || name.n > UINT32_MAX)
        return -1;
    if (c->count >= DOMAIN_CACHE_MAX || c->names.n > (size_t)UINT32_MAX - name.n)
        bw_domain_cache_clear(c);
    if ((c->count + 1) * 4 > c->cap * 3 && grow(c) != 0)
        return -1;
    uint64_t h = bw_siphash13(&c->key, name.p, name.n);
    domain_slot *s = find_slot(c, h, name);
    if (s->id)
        return 0;
    size_t off = c->names.n;
    if (bw_buf_append(&c->names, name.p, name.n) != 0)
        return -1;
    *s = (domain_slot){ .hash = h, .id = id, .off = (uint32_t)off, .n = (uint32_t)name.n };
    c->count++;
    return 0;
}
