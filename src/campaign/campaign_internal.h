// SPDX-License-Identifier: MIT
// Shared between the campaign module's files: the hash mixer the signatures and tables use,
// and the template member scratch. Not part of the public API.
#ifndef BOTWATCH_CAMPAIGN_INTERNAL_H
#define BOTWATCH_CAMPAIGN_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "botwatch/hash.h"

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

// Tokens reach the sketch as a *padded token*: n bytes, and when n < BW_CAMPAIGN_TOKEN_KEY
// the buffer is readable up to BW_CAMPAIGN_TOKEN_KEY bytes and zero after the token, so
// the token is three 64-bit words (tokens never contain NUL, so the words and the length
// name it exactly).
#define BW_CAMPAIGN_TOKEN_KEY 24

// Per-thread scratch for preparing messages, made for one key: the token hash's NH key
// words and the first probes of every bin's densification sequence (computing them is most
// of what densifying a short text costs).
#define BW_CAMPAIGN_CACHE_PROBES 32
struct bw_campaign_token_cache {
    bw_hash_key key;                      // the key the NH words and probes were made with
    bool keyed;
    uint64_t nh[4];
    uint64_t nh_tail[BW_CAMPAIGN_TOKEN_KEY];   // see bw_campaign_sketch
    uint8_t probes[BW_CAMPAIGN_SIG][BW_CAMPAIGN_CACHE_PROBES];
    // prepared_params() (a SipHash) of the config below, when params_made.
    bool params_made;
    bw_hash_key params_key;
    unsigned params_k, params_bands, params_rows;
    size_t params_text;
    uint64_t params;
};

void bw_campaign_minhash_cached(const bw_hash_key *key, unsigned shingle_k, bw_slice text,
                                uint32_t sig[BW_CAMPAIGN_SIG], bw_campaign_token_cache *cache);

// The MinHash of a token stream, fed one token at a time (the normaliser hashes each token
// as it produces it, so no text is scanned twice): init, one token per token in order,
// finish. Gives exactly bw_campaign_minhash() of the tokens joined by single spaces.
// A shingle's hash is a polynomial of its k token hashes, kept rolling (one multiply-add
// a token), then mixed once.
#define BW_CAMPAIGN_MAX_SHINGLE_K 8
#define BW_CAMPAIGN_SHINGLE_BASE 0x9e3779b97f4a7c15ULL   // odd: the polynomial is a bijection per slot
typedef struct bw_campaign_sketch {
    const bw_hash_key *key;
    bw_campaign_token_cache *cache;       // may be NULL
    uint64_t nh[4];                       // NH key words (from key)
    // The token hash's second product for a token whose third word is zero (of fewer than
    // 17 bytes: nearly all), by length: one multiplication a token instead of two.
    const uint64_t *nh_tail;              // the cache's, or nh_tail_own
    uint64_t nh_tail_own[BW_CAMPAIGN_TOKEN_KEY];
    uint32_t *sig;                        // BW_CAMPAIGN_SIG bins
    unsigned k;                           // shingle size, clamped to 1..MAX_SHINGLE_K
    size_t tokens;
    uint64_t filled[2];                   // bins that got a shingle
    uint64_t roll;                        // sum of window[i] * BASE^(age of token i), last k tokens
    uint64_t base_k1;                     // BASE^(k-1): the weight of the token leaving the window
    uint64_t window[BW_CAMPAIGN_MAX_SHINGLE_K];   // hashes of the last tokens (a ring)
} bw_campaign_sketch;

void bw_campaign_sketch_init(bw_campaign_sketch *s, const bw_hash_key *key, unsigned shingle_k,
                             uint32_t sig[BW_CAMPAIGN_SIG], bw_campaign_token_cache *cache);
void bw_campaign_sketch_finish(bw_campaign_sketch *s);
// Any token (p need not be padded).
void bw_campaign_sketch_token(bw_campaign_sketch *s, const char *p, size_t n);
// Token hashes (bw_campaign_token_hash) in a batch, as bw_campaign_sketch_padded() would
// take their tokens one by one: h[0, count) are the new hashes, and the
// BW_CAMPAIGN_SKETCH_HISTORY words before h must be the sketch's last token hashes, oldest
// first (0 before its first token), as bw_campaign_sketch_history() writes them. The
// shingle state then stays in registers over the batch (the normaliser queues its hashes).
#define BW_CAMPAIGN_SKETCH_HISTORY BW_CAMPAIGN_MAX_SHINGLE_K
void bw_campaign_sketch_history(const bw_campaign_sketch *s, uint64_t history[BW_CAMPAIGN_SKETCH_HISTORY]);
void bw_campaign_sketch_hashes(bw_campaign_sketch *s, const uint64_t *h, size_t count);

static inline uint64_t bw_campaign_load64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

// The full 128-bit product of two 64-bit words, folded to 64 bits (high ^ low).
static inline uint64_t bw_campaign_mul_fold(uint64_t a, uint64_t b)
{
#ifdef __SIZEOF_INT128__
    __extension__ unsigned __int128 p = (unsigned __int128)a * b;
    return (uint64_t)p ^ (uint64_t)(p >> 64);
#else
    uint64_t al = (uint32_t)a, ah = a >> 32, bl = (uint32_t)b, bh = b >> 32;
    uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
    uint64_t mid = (ll >> 32) + (uint32_t)lh + (uint32_t)hl;
    uint64_t lo = (mid << 32) | (uint32_t)ll;
    uint64_t hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
    return lo ^ hi;
#endif
}

// The keyed hash of a padded token. Short tokens (nearly all) take NH, the universal hash
// of UMAC (Black et al., CRYPTO 1999): key words added to the token's words, multiplied in
// pairs to 128 bits; then folded. Its keys are secret (derived from the index
// key), so which tokens collide or land where cannot be chosen by a sender; NH's collision
// bound (2^-64 for any two inputs) makes distinct tokens distinct in practice. It costs two
// multiplications instead of a SipHash (or a lookup in a 256 KB cache of SipHashes, as
// before). Longer tokens take SipHash-2-4.
static inline uint64_t bw_campaign_token_hash(const bw_hash_key *key, const uint64_t nh[4], const char *tok,
                                              size_t n)
{
    if (n >= BW_CAMPAIGN_TOKEN_KEY)
        return bw_siphash(key, tok, n);
    uint64_t w0 = bw_campaign_load64(tok), w1 = bw_campaign_load64(tok + 8), w2 = bw_campaign_load64(tok + 16);
    // Not mixed further: the shingle hash mixes its tokens' hashes.
    return bw_campaign_mul_fold(w0 + nh[0], w1 + nh[1]) + bw_campaign_mul_fold(w2 + nh[2], n + nh[3]);
}

static inline void bw_campaign_sketch_add(uint32_t *sig, uint64_t *filled, uint64_t h)
{
    // Top 7 bits pick the bin (BW_CAMPAIGN_SIG == 128), the low 32 bits are the value.
    unsigned bin = (unsigned)(h >> 57);
    uint32_t v = (uint32_t)h;
    if (v < sig[bin])
        sig[bin] = v;
    filled[bin >> 6] |= 1ULL << (bin & 63);
}

// The rolling shingle polynomial after one more token hash (th), the token k back leaving.
static inline uint64_t bw_campaign_roll(uint64_t roll, uint64_t leaving, uint64_t base_k1, uint64_t th)
{
    return (roll - leaving * base_k1) * BW_CAMPAIGN_SHINGLE_BASE + th;
}

// One padded token into the sketch: its hash enters the rolling window, the oldest leaves,
// and (once k tokens are in) the window's shingle is added.
static inline void bw_campaign_sketch_padded(bw_campaign_sketch *s, const char *tok, size_t n)
{
    uint64_t th = bw_campaign_token_hash(s->key, s->nh, tok, n);
    // The ring slot k tokens back; zero until k tokens were seen (k <= ring size).
    uint64_t *leaving = &s->window[(s->tokens - s->k) & (BW_CAMPAIGN_MAX_SHINGLE_K - 1)];
    s->roll = bw_campaign_roll(s->roll, *leaving, s->base_k1, th);
    s->window[s->tokens & (BW_CAMPAIGN_MAX_SHINGLE_K - 1)] = th;
    s->tokens++;
    if (s->tokens >= s->k)
        bw_campaign_sketch_add(s->sig, s->filled, bw_campaign_mix64(s->roll));
}

// Normalisation fused with the sketch: the template text (first text_max_tokens tokens
// only) goes to out, and every token to sketch. Token count and flags are those of
// bw_campaign_normalize() on the same input.
bw_status bw_campaign_normalize_sketch(const bw_campaign_norm_limits *limits, bw_slice subject, bw_slice text,
                                       bw_slice rcpt_addr, bw_slice rcpt_name, bw_buf *out, size_t text_max_tokens,
                                       bw_campaign_sketch *sketch, size_t *token_count, unsigned *flags);

// bw_campaign_normalize() with the fast path for plain words off: every chunk takes the
// general path. For tests, which check that both give the same text, tokens and flags.
bw_status bw_campaign_normalize_general(const bw_campaign_norm_limits *limits, bw_slice subject, bw_slice text,
                                        bw_slice rcpt_addr, bw_slice rcpt_name, bw_buf *out, size_t *token_count,
                                        unsigned *flags);

// Check value of the parameters that shape a signature (key, shingle size, bins, bands).
uint64_t bw_campaign_params_check(const bw_campaign_config *config);

// LSH key of band `band` of a signature (rows consecutive bins).
uint64_t bw_campaign_band_key(const uint32_t *sig, unsigned band, unsigned rows);
// The keys of bands 0..bands-1 (a loop the key inlines into).
void bw_campaign_band_keys(const uint32_t *sig, unsigned bands, unsigned rows, uint64_t *keys);

// Key of a whole signature, for the index's exact-signature table (equal signatures, equal
// keys; a lookup compares the signatures themselves, so a collision costs only a compare).
uint64_t bw_campaign_sig_key(const uint32_t *sig);

#endif
