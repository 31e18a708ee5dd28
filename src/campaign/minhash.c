// SPDX-License-Identifier: MIT
// Keyed MinHash of a template text's word shingles, and the LSH band keys built on it.
// One-permutation MinHash (Li, Owen, Zhang 2012) hashes each shingle once and keeps the
// minimum per bin, so a signature costs one keyed hash per token instead of one per token
// and bin; empty bins (short texts) are filled by optimal densification (Shrivastava 2017),
// which keeps the equal-bin fraction an unbiased estimate of Jaccard similarity.
#include <math.h>
#include <string.h>

#include "campaign_internal.h"

// Enough token hashes for a shingle window without allocating: tokens are hashed as the
// text is walked and only the last k are needed.
#define MAX_SHINGLE_K BW_CAMPAIGN_MAX_SHINGLE_K

static void add_shingle(uint32_t sig[BW_CAMPAIGN_SIG], uint64_t *filled, uint64_t h)
{
    // Top 7 bits pick the bin (BW_CAMPAIGN_SIG == 128), the low 32 bits are the value.
    unsigned bin = (unsigned)(h >> 57);
    uint32_t v = (uint32_t)h;
    if (v < sig[bin])
        sig[bin] = v;
    filled[bin >> 6] |= 1ULL << (bin & 63);
}

static uint64_t shingle_hash(const uint64_t *window, unsigned start, unsigned k)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    for (unsigned j = 0; j < k; j++)
        h = bw_campaign_mix64(h ^ window[(start + j) % MAX_SHINGLE_K]) + j;
    return h;
}

void bw_campaign_minhash(const bw_hash_key *key, unsigned shingle_k, bw_slice text, uint32_t sig[BW_CAMPAIGN_SIG])
{
    bw_campaign_minhash_cached(key, shingle_k, text, sig, NULL);
}

// Token hashes repeat across messages (a template's vocabulary), so the index keeps a
// direct-mapped cache of short tokens and their SipHash: the slot is chosen by a cheap
// unkeyed hash (FNV-1a, computed by the caller while it finds the token's end) and the
// token bytes are compared, so a hit returns exactly the keyed hash.
static uint64_t token_hash(const bw_hash_key *key, const char *p, size_t n, uint32_t fnv,
                           bw_campaign_token_cache *cache)
{
    if (!cache || n > BW_CAMPAIGN_CACHE_TOKEN)
        return bw_siphash(key, p, n);
    bw_campaign_token_slot *slot = &cache->slots[fnv & (BW_CAMPAIGN_CACHE_SLOTS - 1)];
    if (slot->len == n + 1) {
        // Tokens are short: a byte loop beats a call to memcmp.
        size_t i = 0;
        while (i < n && slot->bytes[i] == p[i])
            i++;
        if (i == n)
            return slot->hash;
    }
    slot->hash = bw_siphash(key, p, n);
    slot->len = (uint8_t)(n + 1);
    memcpy(slot->bytes, p, n);
    return slot->hash;
}

void bw_campaign_sketch_init(bw_campaign_sketch *s, const bw_hash_key *key, unsigned shingle_k,
                             uint32_t sig[BW_CAMPAIGN_SIG], bw_campaign_token_cache *cache)
{
    _Static_assert(BW_CAMPAIGN_SIG == 128, "bin selection uses the top 7 bits");
    if (shingle_k < 1)
        shingle_k = 1;
    if (shingle_k > MAX_SHINGLE_K)
        shingle_k = MAX_SHINGLE_K;
    s->key = key;
    s->cache = cache;
    s->sig = sig;
    s->k = shingle_k;
    s->tokens = 0;
    s->filled[0] = s->filled[1] = 0;
    for (unsigned i = 0; i < BW_CAMPAIGN_SIG; i++)
        sig[i] = UINT32_MAX;
}

void bw_campaign_sketch_token(bw_campaign_sketch *s, const char *p, size_t n, uint32_t fnv)
{
    s->window[s->tokens % MAX_SHINGLE_K] = token_hash(s->key, p, n, fnv, s->cache);
    s->tokens++;
    if (s->tokens >= s->k)
        add_shingle(s->sig, s->filled, shingle_hash(s->window, (unsigned)((s->tokens - s->k) % MAX_SHINGLE_K), s->k));
}

void bw_campaign_sketch_finish(bw_campaign_sketch *s)
{
    if (s->tokens == 0)
        return;
    if (s->tokens < s->k)
        add_shingle(s->sig, s->filled, shingle_hash(s->window, 0, (unsigned)s->tokens));
    // Optimal densification: an empty bin copies the bin a keyed probe sequence of its own
    // lands on first; both messages of a pair use the same sequence, so a copied bin
    // agrees exactly when the source bin does.
    for (unsigned bin = 0; bin < BW_CAMPAIGN_SIG; bin++) {
        if (s->filled[bin >> 6] & (1ULL << (bin & 63)))
            continue;
        for (uint64_t attempt = 1;; attempt++) {
            unsigned src = (unsigned)(bw_campaign_mix64(s->key->k1 ^ ((uint64_t)bin << 32) ^ attempt) >> 57);
            if (s->filled[src >> 6] & (1ULL << (src & 63))) {
                s->sig[bin] = s->sig[src];
                break;
            }
        }
    }
}

void bw_campaign_minhash_cached(const bw_hash_key *key, unsigned shingle_k, bw_slice text,
                                uint32_t sig[BW_CAMPAIGN_SIG], bw_campaign_token_cache *cache)
{
    bw_campaign_sketch s;
    bw_campaign_sketch_init(&s, key, shingle_k, sig, cache);
    size_t i = 0;
    while (i < text.n) {
        while (i < text.n && text.p[i] == ' ')
            i++;
        size_t start = i;
        uint32_t fnv = BW_CAMPAIGN_FNV_INIT;
        while (i < text.n && text.p[i] != ' ')
            fnv = bw_campaign_fnv_step(fnv, (unsigned char)text.p[i++]);
        if (i == start)
            break;
        bw_campaign_sketch_token(&s, text.p + start, i - start, fnv);
    }
    bw_campaign_sketch_finish(&s);
}

double bw_campaign_sig_similarity(const uint32_t a[BW_CAMPAIGN_SIG], const uint32_t b[BW_CAMPAIGN_SIG])
{
    unsigned equal = 0;
    for (unsigned i = 0; i < BW_CAMPAIGN_SIG; i++)
        equal += a[i] == b[i];
    return (double)equal / BW_CAMPAIGN_SIG;
}

double bw_campaign_lsh_probability(double s, unsigned bands, unsigned rows)
{
    return 1.0 - pow(1.0 - pow(s, rows), bands);
}

uint64_t bw_campaign_band_key(const uint32_t *sig, unsigned band, unsigned rows)
{
    uint64_t h = 0x243f6a8885a308d3ULL ^ band;
    for (unsigned r = 0; r < rows; r++)
        h = bw_campaign_mix64(h ^ sig[band * rows + r]) + r;
    return h;
}
