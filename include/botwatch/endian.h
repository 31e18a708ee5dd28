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

static inline uint64_t bw_bswap64(uint64_t v)
{
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_bswap64(v);
#else
    v = (v >> 32) | (v << 32);
    v = ((v & 0xFFFF0000FFFF0000ULL) >> 16) | ((v & 0x0000FFFF0000FFFFULL) << 16);
    return ((v & 0xFF00FF00FF00FF00ULL) >> 8) | ((v & 0x00FF00FF00FF00FFULL) << 8);
#endif
}

// Big-endian: two of these compare as memcmp compares the 8 bytes.
static inline uint64_t bw_be64(const uint8_t *p) { return bw_bswap64(bw_le64(p)); }

#endif
