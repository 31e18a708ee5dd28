// SPDX-License-Identifier: MIT
// Keyed MinHash of a template text's word shingles, and the LSH band keys built on it.
// One-permutation MinHash (Li, Owen, Zhang 2012) hashes each shingle once and keeps the
// minimum per bin, so a signature costs one keyed hash per token instead of one per token
// and bin; empty bins (short texts) are filled by optimal densification (Shrivastava 2017),
// which keeps the equal-bin fraction an unbiased estimate of Jaccard similarity.
#include <math.h>
#include <stddef.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "campaign_internal.h"

void bw_campaign_minhash(const bw_hash_key *key, unsigned shingle_k, bw_slice text, uint32_t sig[BW_CAMPAIGN_SIG])
{
    bw_campaign_minhash_cached(key, shingle_k, text, sig, NULL);
}

// The densification probe sequence of a bin: attempt 1, 2, ... names the bin it copies.
static unsigned probe_source(const bw_hash_key *key, unsigned bin, uint64_t attempt)
{
    return (unsigned)(bw_campaign_mix64(key->k1 ^ ((uint64_t)bin << 32) ^ attempt) >> 57);
}

// The token hash's NH key words: SipHash of a label under the index key.
static void nh_keys(const bw_hash_key *key, uint64_t nh[4])
{
    for (unsigned i = 0; i < 4; i++) {
        char label[16] = "campaign NH key";
        label[15] = (char)('0' + i);
        nh[i] = bw_siphash(key, label, sizeof label);
    }
}

// bw_campaign_token_hash's second product when the token's third word is zero, by length.
static void nh_tails(const uint64_t nh[4], uint64_t tail[BW_CAMPAIGN_TOKEN_KEY])
{
    for (unsigned n = 0; n < BW_CAMPAIGN_TOKEN_KEY; n++)
        tail[n] = bw_campaign_mul_fold(nh[2], n + nh[3]);
}

void bw_campaign_sketch_init(bw_campaign_sketch *s, const bw_hash_key *key, unsigned shingle_k,
                             uint32_t sig[BW_CAMPAIGN_SIG], bw_campaign_token_cache *cache)
{
    _Static_assert(BW_CAMPAIGN_SIG == 128, "bin selection uses the top 7 bits");
    _Static_assert((BW_CAMPAIGN_MAX_SHINGLE_K & (BW_CAMPAIGN_MAX_SHINGLE_K - 1)) == 0, "the window is a ring");
    if (shingle_k < 1)
        shingle_k = 1;
    if (shingle_k > BW_CAMPAIGN_MAX_SHINGLE_K)
        shingle_k = BW_CAMPAIGN_MAX_SHINGLE_K;
    // A cache holds one key's values: another key remakes them (once per worker in ingest).
    if (cache && (!cache->keyed || cache->key.k0 != key->k0 || cache->key.k1 != key->k1)) {
        nh_keys(key, cache->nh);
        nh_tails(cache->nh, cache->nh_tail);
        for (unsigned bin = 0; bin < BW_CAMPAIGN_SIG; bin++)
            for (unsigned a = 0; a < BW_CAMPAIGN_CACHE_PROBES; a++)
                cache->probes[bin][a] = (uint8_t)probe_source(key, bin, a + 1);
        cache->key = *key;
        cache->keyed = true;
    }
    if (cache) {
        memcpy(s->nh, cache->nh, sizeof s->nh);
        s->nh_tail = cache->nh_tail;
    } else {
        nh_keys(key, s->nh);
        nh_tails(s->nh, s->nh_tail_own);
        s->nh_tail = s->nh_tail_own;
    }
    s->key = key;
    s->cache = cache;
    s->sig = sig;
    s->k = shingle_k;
    s->tokens = 0;
    s->filled[0] = s->filled[1] = 0;
    s->roll = 0;
    s->base_k1 = 1;
    for (unsigned i = 1; i < shingle_k; i++)
        s->base_k1 *= BW_CAMPAIGN_SHINGLE_BASE;
    memset(s->window, 0, sizeof s->window);
    for (unsigned i = 0; i < BW_CAMPAIGN_SIG; i++)
        sig[i] = UINT32_MAX;
}

void bw_campaign_sketch_token(bw_campaign_sketch *s, const char *p, size_t n)
{
    if (n >= BW_CAMPAIGN_TOKEN_KEY) {
        bw_campaign_sketch_padded(s, p, n);
        return;
    }
    char padded[BW_CAMPAIGN_TOKEN_KEY] = { 0 };
    memcpy(padded, p, n);
    bw_campaign_sketch_padded(s, padded, n);
}

void bw_campaign_sketch_history(const bw_campaign_sketch *s, uint64_t history[BW_CAMPAIGN_SKETCH_HISTORY])
{
    // The ring holds the last hashes, and zeros where there was no token yet.
    for (size_t age = 1; age <= BW_CAMPAIGN_SKETCH_HISTORY; age++)
        history[BW_CAMPAIGN_SKETCH_HISTORY - age] = s->window[(s->tokens - age) & (BW_CAMPAIGN_MAX_SHINGLE_K - 1)];
}

// Bit i set for each of the 64 bins at sig whose value is below UINT32_MAX.
static uint64_t below_max(const uint32_t *sig)
{
    uint64_t bits = 0;
#ifdef __SSE2__
    const __m128i max = _mm_set1_epi32(-1);
    for (unsigned i = 0; i < 64; i += 16) {
        // Four compares packed to 16 bytes: one movemask for 16 bins.
        __m128i a = _mm_cmpeq_epi32(_mm_loadu_si128((const __m128i *)(const void *)(sig + i)), max);
        __m128i b = _mm_cmpeq_epi32(_mm_loadu_si128((const __m128i *)(const void *)(sig + i + 4)), max);
        __m128i c = _mm_cmpeq_epi32(_mm_loadu_si128((const __m128i *)(const void *)(sig + i + 8)), max);
        __m128i d = _mm_cmpeq_epi32(_mm_loadu_si128((const __m128i *)(const void *)(sig + i + 12)), max);
        __m128i at_max = _mm_packs_epi16(_mm_packs_epi32(a, b), _mm_packs_epi32(c, d));
        bits |= (uint64_t)(~(unsigned)_mm_movemask_epi8(at_max) & 0xFFFFu) << i;
    }
#else
    for (unsigned i = 0; i < 64; i++)
        bits |= (uint64_t)(sig[i] != UINT32_MAX) << i;
#endif
    return bits;
}

void bw_campaign_sketch_hashes(bw_campaign_sketch *s, const uint64_t *h, size_t count)
{
    if (count == 0)
        return;
    const size_t k = s->k, tokens = s->tokens;
    const uint64_t base_k1 = s->base_k1;
    const uint64_t *leaving = h - k;     // the hash k tokens back (k <= the history)
    uint32_t *sig = s->sig;
    uint64_t roll = s->roll, filled[2] = { s->filled[0], s->filled[1] };
    size_t i = 0;
    // The first k - 1 tokens of the text make no shingle of their own.
    for (; i < count && tokens + i + 1 < k; i++)
        roll = bw_campaign_roll(roll, leaving[i], base_k1, h[i]);
    // bw_campaign_sketch_add(), but the filled bits are not set per shingle: a bin below
    // UINT32_MAX got a shingle (bins start at UINT32_MAX and only shingles lower them), so
    // only a shingle whose value is UINT32_MAX itself (about one in 2^32) is marked here,
    // and the rest are read off the bins after the batch (5 of ~30 instructions a token).
    // The minimum is stored whether or not it changed: whether a shingle lowers its bin is
    // a coin toss while the bins fill, and as a branch it mispredicted so often that this
    // loop's compare-and-branch took a third of its samples (perf, bench_prepare, 28 Nov 2026).
    for (; i < count; i++) {
        roll = bw_campaign_roll(roll, leaving[i], base_k1, h[i]);
        uint64_t m = bw_campaign_mix64(roll);
        unsigned bin = (unsigned)(m >> 57);
        uint32_t v = (uint32_t)m, old = sig[bin];
        sig[bin] = v < old ? v : old;
        if (__builtin_expect(v == UINT32_MAX, 0))
            filled[bin >> 6] |= 1ULL << (bin & 63);
    }
    for (unsigned bin = 0; bin < BW_CAMPAIGN_SIG; bin += 64)
        filled[bin >> 6] |= below_max(sig + bin);
    s->roll = roll;
    s->filled[0] = filled[0];
    s->filled[1] = filled[1];
    s->tokens = tokens + count;
    // The ring as bw_campaign_sketch_padded() would have left it (h[-1], ... are history).
    for (size_t age = 1; age <= BW_CAMPAIGN_SKETCH_HISTORY; age++)
        s->window[(s->tokens - age) & (BW_CAMPAIGN_MAX_SHINGLE_K - 1)] = h[(ptrdiff_t)count - (ptrdiff_t)age];
}

// The filled bin an empty bin copies: the first filled one of its probe sequence (the
// cached probes first, in their own loop, then computed ones).
static inline unsigned densify_source(const bw_hash_key *key, const bw_campaign_token_cache *cache,
                                      const uint64_t filled[2], unsigned bin)
{
    uint64_t attempt = 1;
    if (cache) {
        const uint8_t *probe = cache->probes[bin];
        for (; attempt <= BW_CAMPAIGN_CACHE_PROBES; attempt++) {
            unsigned src = probe[attempt - 1];
            if ((filled[src >> 6] >> (src & 63)) & 1)
                return src;
        }
    }
    for (;; attempt++) {
        unsigned src = probe_source(key, bin, attempt);
        if ((filled[src >> 6] >> (src & 63)) & 1)
            return src;
    }
}

void bw_campaign_sketch_finish(bw_campaign_sketch *s)
{
    if (s->tokens == 0)
        return;
    if (s->tokens < s->k)   // shorter than one shingle: the whole text is the shingle
        bw_campaign_sketch_add(s->sig, s->filled, bw_campaign_mix64(s->roll));
    uint64_t f0 = s->filled[0], f1 = s->filled[1];
    if (f0 == UINT64_MAX && f1 == UINT64_MAX)
        return;
    // Optimal densification: an empty bin copies the bin a keyed probe sequence of its own
    // lands on first; both messages of a pair use the same sequence, so a copied bin
    // agrees exactly when the source bin does.
    uint64_t one = f0 ? f0 : f1;
    if (!(f0 && f1) && (one & (one - 1)) == 0) {
        // Every sequence ends on the one filled bin (the common case of a short text).
        unsigned only = f0 ? (unsigned)__builtin_ctzll(f0) : 64 + (unsigned)__builtin_ctzll(f1);
        for (unsigned bin = 0; bin < BW_CAMPAIGN_SIG; bin++)
            s->sig[bin] = s->sig[only];
        return;
    }
    const uint64_t filled[2] = { f0, f1 };
    const bw_campaign_token_cache *cache = s->cache;
    uint32_t *sig = s->sig;
    uint64_t empty[2] = { ~f0, ~f1 };
    if (cache) {
        // Each empty bin takes the first filled bin of its first four probes without a
        // branch a probe, and the bins all four miss are left for the loop below (which
        // tries those four again, in vain): which probe hits is a coin toss, and as a loop
        // exit a bin it mispredicted; densifying was 8% of preparation's samples, and this
        // took about a fifth off it (perf, bench_prepare, 28 Nov 2026). With a third of the
        // bins empty (the median message) all four miss for one empty bin in 81, more in
        // shorter texts. Bins copy only filled bins, whose values stay.
        for (unsigned half = 0; half < 2; half++) {
            uint64_t missed = 0;
            for (uint64_t e = empty[half]; e; e &= e - 1) {
                unsigned bit = (unsigned)__builtin_ctzll(e), bin = half * 64 + bit;
                const uint8_t *probe = cache->probes[bin];
                unsigned src = bin;   // none: the bin keeps its value
                for (unsigned a = 4; a-- > 0;) {
                    unsigned p = probe[a];
                    src = ((p & 64 ? f1 : f0) >> (p & 63)) & 1 ? p : src;
                }
                sig[bin] = sig[src];
                missed |= (uint64_t)(src == bin) << bit;
            }
            empty[half] = missed;
        }
    }
    for (unsigned half = 0; half < 2; half++) {
        for (uint64_t e = empty[half]; e; e &= e - 1) {
            unsigned bin = half * 64 + (unsigned)__builtin_ctzll(e);
            sig[bin] = sig[densify_source(s->key, cache, filled, bin)];
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
        while (i < text.n && text.p[i] != ' ')
            i++;
        if (i == start)
            break;
        bw_campaign_sketch_token(&s, text.p + start, i - start);
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

// Half-word j of a band as bw_campaign_band_key reads it: the bins, then band + 1 (never
// zero), then zeros.
static inline uint64_t band_half(const uint32_t *s, unsigned rows, unsigned band, unsigned j)
{
    return j < rows ? s[j] : j == rows ? (uint64_t)band + 1 : 0;
}

uint64_t bw_campaign_band_key(const uint32_t *sig, unsigned band, unsigned rows)
{
    // NH (as for the tokens, with fixed keys) over the band's bins and its number, two 32-bit
    // halves to a word: one 64x64->128-bit multiply, folded, per pair of words. The bins are
    // keyed minima already, so fixed constants spread them well enough: the key only names
    // an in-memory table slot (the table is rebuilt from the signatures when a state is
    // loaded), and a rare collision of two bands only offers a candidate that the full
    // signature then rejects. The default 3 rows take one multiply, where a multiply-rotate
    // step per bin and a finaliser took 51 instructions a band, 2,100 a message of
    // bench/ingest (callgrind, 29 Nov 2026).
    const uint32_t *s = sig + (size_t)band * rows;
    unsigned words = rows / 2 + 1;   // rows + 1 halves
    uint64_t h = 0;
    for (unsigned i = 0; i < words; i += 2) {
        uint64_t a = band_half(s, rows, band, 2 * i) | band_half(s, rows, band, 2 * i + 1) << 32;
        uint64_t b = i + 1 < words ? band_half(s, rows, band, 2 * i + 2) | band_half(s, rows, band, 2 * i + 3) << 32 : 0;
        h += bw_campaign_mul_fold(a + 0x243f6a8885a308d3ULL + i, b + 0x13198a2e03707344ULL + i);
    }
    return h;
}

void bw_campaign_band_keys(const uint32_t *sig, unsigned bands, unsigned rows, uint64_t *keys)
{
    if (rows == 3) {
        // The default banding, unrolled: bw_campaign_band_key's loop for 3 rows.
        for (unsigned b = 0; b < bands; b++) {
            const uint32_t *s = sig + 3 * (size_t)b;
            keys[b] = bw_campaign_mul_fold((s[0] | (uint64_t)s[1] << 32) + 0x243f6a8885a308d3ULL,
                                           (s[2] | ((uint64_t)b + 1) << 32) + 0x13198a2e03707344ULL);
        }
        return;
    }
    for (unsigned b = 0; b < bands; b++)
        keys[b] = bw_campaign_band_key(sig, b, rows);
}

uint64_t bw_campaign_sig_key(const uint32_t *sig)
{
    // Two independent lanes of multiply-rotate over the signature's 64-bit words (the bins
    // are keyed minima already, so this only has to spread them), folded by the finaliser.
    uint64_t a = 0x452821e638d01377ULL, b = 0xbe5466cf34e90c6cULL;
    for (unsigned i = 0; i < BW_CAMPAIGN_SIG; i += 4) {
        uint64_t w0, w1;
        memcpy(&w0, sig + i, 8);
        memcpy(&w1, sig + i + 2, 8);
        a = ((a ^ w0) * 0x9e3779b97f4a7c15ULL);
        a = (a << 29) | (a >> 35);
        b = ((b ^ w1) * 0xc2b2ae3d27d4eb4fULL);
        b = (b << 31) | (b >> 33);
    }
    return bw_campaign_mix64(a ^ bw_campaign_mix64(b));
}
