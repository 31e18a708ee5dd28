// SPDX-License-Identifier: MIT
// Shared between the campaign module's files: the hash mixer the signatures and tables use,
// and the template member scratch. Not part of the public API.
#ifndef BOTWATCH_CAMPAIGN_INTERNAL_H
#define BOTWATCH_CAMPAIGN_INTERNAL_H

#include <stdint.h>

#include "botwatch/campaign.h"

// MurmurHash3's 64-bit finaliser: a bijection that spreads every input bit over the word.
// Inputs here are already keyed (SipHash of tokens), so this only mixes, it does not key.
static inline uint64_t bw_campaign_mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

#define BW_CAMPAIGN_CACHE_TOKEN 22
#define BW_CAMPAIGN_CACHE_SLOTS 8192
typedef struct bw_campaign_token_slot {
    uint64_t hash;
    uint8_t len;            // token length + 1; 0 = empty
    char bytes[BW_CAMPAIGN_CACHE_TOKEN];
} bw_campaign_token_slot;
struct bw_campaign_token_cache {
    bw_campaign_token_slot slots[BW_CAMPAIGN_CACHE_SLOTS];
};

void bw_campaign_minhash_cached(const bw_hash_key *key, unsigned shingle_k, bw_slice text,
                                uint32_t sig[BW_CAMPAIGN_SIG], bw_campaign_token_cache *cache);

// The MinHash of a token stream, fed one token at a time (the normaliser hashes each token
// as it produces it, so no text is scanned twice): init, one token() per token in order,
// finish. Gives exactly bw_campaign_minhash() of the tokens joined by single spaces.
#define BW_CAMPAIGN_MAX_SHINGLE_K 8
typedef struct bw_campaign_sketch {
    const bw_hash_key *key;
    bw_campaign_token_cache *cache;       // may be NULL
    uint32_t *sig;                        // BW_CAMPAIGN_SIG bins
    unsigned k;                           // shingle size, clamped to 1..MAX_SHINGLE_K
    size_t tokens;
    uint64_t filled[2];                   // bins that got a shingle
    uint64_t window[BW_CAMPAIGN_MAX_SHINGLE_K];   // hashes of the last tokens (a ring)
} bw_campaign_sketch;

void bw_campaign_sketch_init(bw_campaign_sketch *s, const bw_hash_key *key, unsigned shingle_k,
                             uint32_t sig[BW_CAMPAIGN_SIG], bw_campaign_token_cache *cache);
// fnv: FNV-1a (32-bit) of the token's bytes, which picks its cache slot.
void bw_campaign_sketch_token(bw_campaign_sketch *s, const char *p, size_t n, uint32_t fnv);
void bw_campaign_sketch_finish(bw_campaign_sketch *s);

#define BW_CAMPAIGN_FNV_INIT 2166136261u
static inline uint32_t bw_campaign_fnv_step(uint32_t h, unsigned char c) { return (h ^ c) * 16777619u; }

// Normalisation fused with the sketch: the template text (first text_max_tokens tokens
// only) goes to out, and every token to sketch. Token count and flags are those of
// bw_campaign_normalize() on the same input.
bw_status bw_campaign_normalize_sketch(const bw_campaign_norm_limits *limits, bw_slice subject, bw_slice text,
                                       bw_slice rcpt_addr, bw_slice rcpt_name, bw_buf *out, size_t text_max_tokens,
                                       bw_campaign_sketch *sketch, size_t *token_count, unsigned *flags);

// Check value of the parameters that shape a signature (key, shingle size, bins, bands).
uint64_t bw_campaign_params_check(const bw_campaign_config *config);

// LSH key of band `band` of a signature (rows consecutive bins).
uint64_t bw_campaign_band_key(const uint32_t *sig, unsigned band, unsigned rows);

#endif
