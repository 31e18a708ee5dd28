// SPDX-License-Identifier: MIT
// The writer's memory of text -> row id for the tables that intern strings (domains and
// header_fingerprints, docs/store.md): a name seen before costs a hash lookup instead of a
// statement and a B-tree search on its text.
#include <stdlib.h>
#include <string.h>

#include "botwatch/hash.h"
#include "store_internal.h"

// Open addressing with keyed SipHash-1-3: the names come from mail, so an unkeyed hash
// could be flooded. Bounded, since mail decides how many names there are and how long they
// are (a fingerprint can be kilobytes): past ID_CACHE_MAX names or ID_CACHE_MAX_BYTES of
// them the cache starts again empty (the ids stay in their table; a miss costs one
// statement). At most ~12 MB of slots and 16-32 MB of name buffer a cache.
enum { ID_CACHE_MIN_SLOTS = 1024, ID_CACHE_MAX = 1 << 18 };
#define ID_CACHE_MAX_BYTES ((size_t)16 << 20)

typedef struct id_slot {
    uint64_t hash;
    int64_t id;          // 0: empty slot
    uint32_t off, n;     // the name in names
} id_slot;

struct bw_id_cache {
    bw_hash_key key;
    id_slot *slots;
    size_t cap, count;   // cap: a power of two
    bw_buf names;
};

bw_id_cache *bw_id_cache_new(void)
{
    bw_id_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (bw_hash_key_random(&c->key) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

void bw_id_cache_free(bw_id_cache *c)
{
    if (!c)
        return;
    free(c->slots);
    bw_buf_free(&c->names);
    free(c);
}

void bw_id_cache_clear(bw_id_cache *c)
{
    if (!c)
        return;
    if (c->slots)
        memset(c->slots, 0, c->cap * sizeof *c->slots);
    c->count = 0;
    bw_buf_clear(&c->names);
}

static id_slot *find_slot(const bw_id_cache *c, uint64_t h, bw_slice name)
{
    size_t mask = c->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        id_slot *s = &c->slots[i];
        if (!s->id || (s->hash == h && s->n == name.n && !memcmp(c->names.p + s->off, name.p, name.n)))
            return s;
    }
}

int64_t bw_id_cache_get(const bw_id_cache *c, bw_slice name)
{
    if (!c->count)
        return 0;
    return find_slot(c, bw_siphash13(&c->key, name.p, name.n), name)->id;
}

static int grow(bw_id_cache *c)
{
    size_t cap = c->cap ? c->cap * 2 : ID_CACHE_MIN_SLOTS;
    id_slot *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < c->cap; i++) {
        const id_slot *s = &c->slots[i];
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

int bw_id_cache_put(bw_id_cache *c, bw_slice name, int64_t id)
{
    if (id <= 0)
        return -1;
    if (name.n > ID_CACHE_MAX_BYTES)
        return 0;   // not kept: looked up in the table every time (and off/n fit 32 bits)
    if (c->count >= ID_CACHE_MAX || c->names.n + name.n > ID_CACHE_MAX_BYTES)
        bw_id_cache_clear(c);
    if ((c->count + 1) * 4 > c->cap * 3 && grow(c) != 0)
        return -1;
    uint64_t h = bw_siphash13(&c->key, name.p, name.n);
    id_slot *s = find_slot(c, h, name);
    if (s->id)
        return 0;
    size_t off = c->names.n;
    if (bw_buf_append(&c->names, name.p, name.n) != 0)
        return -1;
    *s = (id_slot){ .hash = h, .id = id, .off = (uint32_t)off, .n = (uint32_t)name.n };
    c->count++;
    return 0;
}
