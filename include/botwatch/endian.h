// SPDX-License-Identifier: MIT
// Fixed-width integers read from bytes in a stated byte order, whatever the host's: one
// unaligned load (and a byte swap where the orders differ) instead of a byte loop. For the
// binary formats botwatch reads (nfdump files, its own saved blobs), hashing, and ordering
// IP addresses.
#ifndef BOTWATCH_ENDIAN_H
#define BOTWATCH_ENDIAN_H

#include <stdint.h>
#include <string.h>

static inline uint16_t bw_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static inline uint32_t bw_le32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#elif !defined(__BYTE_ORDER__)
    v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
#endif
    return v;
}

static inline uint64_t bw_le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#elif !defined(__BYTE_ORDER__)
    v = (uint64_t)bw_le32(p) | (uint64_t)bw_le32(p + 4) << 32;
#endif
    return v;
}

// Big-endian: two of these compare as memcmp compares the 8 bytes.
static inline uint64_t bw_be64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#elif !defined(__BYTE_ORDER__)
    v = ((uint64_t)p[0] << 56) | ((uint64_t)p[1] << 48) | ((uint64_t)p[2] << 40) | ((uint64_t)p[3] << 32) |
        ((uint64_t)p[4] << 24) | ((uint64_t)p[5] << 16) | ((uint64_t)p[6] << 8) | p[7];
#endif
    return v;
}

#endif
