// SPDX-License-Identifier: MIT
// Keyed SipHash-2-4 (Aumasson & Bernstein, reference description) for hash tables keyed
// by attacker data, and SHA-256 through OpenSSL for message identity.
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/random.h>

#include "botwatch/endian.h"
#include "botwatch/hash.h"

int bw_hash_key_random(bw_hash_key *key)
{
    uint64_t k[2];
    size_t got = 0;
    while (got < sizeof k) {
        ssize_t r = getrandom((char *)k + got, sizeof k - got, 0);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    key->k0 = k[0];
    key->k1 = k[1];
    return 0;
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                               \
    do {                                                                       \
        v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);              \
        v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                                 \
        v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                                 \
        v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);              \
    } while (0)

// SipHash-c-d: c rounds per 8-byte block, d to finish. Inlined into the two variants, so
// the round counts are constants.
static inline uint64_t siphash_cd(const bw_hash_key *key, const unsigned char *in, size_t n, int c, int d)
{
    uint64_t v0 = 0x736f6d6570736575ULL ^ key->k0;
    uint64_t v1 = 0x646f72616e646f6dULL ^ key->k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ key->k0;
    uint64_t v3 = 0x7465646279746573ULL ^ key->k1;
    size_t blocks = n & ~(size_t)7;
    for (size_t i = 0; i < blocks; i += 8) {
        uint64_t m = bw_le64(in + i);
        v3 ^= m;
        for (int r = 0; r < c; r++)
            SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)n << 56;
    for (size_t i = 0; i < (n & 7); i++)
        b |= (uint64_t)in[blocks + i] << (8 * i);
    v3 ^= b;
    for (int r = 0; r < c; r++)
        SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    for (int r = 0; r < d; r++)
        SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t bw_siphash(const bw_hash_key *key, const void *data, size_t n)
{
    return siphash_cd(key, data, n, 2, 4);
}

uint64_t bw_siphash13(const bw_hash_key *key, const void *data, size_t n)
{
    return siphash_cd(key, data, n, 1, 3);
}

// OpenSSL 3's one-shot SHA256() looks the algorithm up in the provider registry on every
// call (~7,600 instructions under callgrind, a third of a small message's hashing); the
// digest is fetched once and reused, read-only, by every thread. EVP_Digest() would still
// allocate, set up and free a context per message, so each thread keeps one context (freed
// by the key's destructor when the thread ends) and re-initialises it.
static EVP_MD *sha256_md;
static pthread_key_t sha256_ctx_key;
static bool sha256_key_ok;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_ctx_free(void *ctx) { EVP_MD_CTX_free(ctx); }

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    sha256_key_ok = pthread_key_create(&sha256_ctx_key, sha256_ctx_free) == 0;
}

void bw_sha256(const void *data, size_t n, uint8_t out[BW_SHA256_LEN])
{
    pthread_once(&sha256_once, sha256_fetch);
    unsigned int len = 0;
    EVP_MD_CTX *ctx = sha256_key_ok ? pthread_getspecific(sha256_ctx_key) : NULL;
    if (!ctx && sha256_key_ok && (ctx = EVP_MD_CTX_new()) != NULL && pthread_setspecific(sha256_ctx_key, ctx) != 0) {
        EVP_MD_CTX_free(ctx);
        ctx = NULL;
    }
    bool ok = sha256_md && (ctx ? EVP_DigestInit_ex2(ctx, sha256_md, NULL) && EVP_DigestUpdate(ctx, data, n) &&
                                      EVP_DigestFinal_ex(ctx, out, &len)
                                : EVP_Digest(data, n, out, &len, sha256_md, NULL));
    if (!ok || len != BW_SHA256_LEN)
        memset(out, 0, BW_SHA256_LEN);   // only on allocation failure inside OpenSSL
}

void bw_hex(const uint8_t *bytes, size_t n, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = digits[bytes[i] >> 4];
        hex[2 * i + 1] = digits[bytes[i] & 15];
    }
    hex[2 * n] = '\0';
}
