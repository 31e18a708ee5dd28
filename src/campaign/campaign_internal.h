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

// Check value of the parameters that shape a signature (key, shingle size, bins, bands).
uint64_t bw_campaign_params_check(const bw_campaign_config *config);

// LSH key of band `band` of a signature (rows consecutive bins).
uint64_t bw_campaign_band_key(const uint32_t *sig, unsigned band, unsigned rows);

#endif
