// SPDX-License-Identifier: MIT
// IP addresses and CIDR ranges, IPv4 and IPv6 in one type: IPv4 is stored as the
// IPv4-mapped IPv6 address (::ffff:a.b.c.d) so comparisons, sorting and range lookups need
// one code path. Shared by mail (sender hops), networks (ASN lookup) and flows.
#ifndef BOTWATCH_IP_H
#define BOTWATCH_IP_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "botwatch/endian.h"
#include "botwatch/str.h"

typedef struct bw_ip {
    uint8_t b[16];   // network byte order, IPv4 mapped
} bw_ip;

typedef struct bw_cidr {
    bw_ip base;      // masked to prefix
    uint8_t prefix;  // 0..128 (IPv4 prefixes are stored +96)
} bw_cidr;

#define BW_IP_STRLEN 46   // INET6_ADDRSTRLEN

// Parses dotted IPv4 or IPv6 text (no brackets, no zone). True on success.
bool bw_ip_parse(bw_slice text, bw_ip *out);
static inline bool bw_ip_is_v4(const bw_ip *ip)
{
    static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    return memcmp(ip->b, prefix, 12) == 0;
}
static inline void bw_ip_from_v4(uint32_t host_order, bw_ip *out)
{
    memset(out->b, 0, 10);
    out->b[10] = out->b[11] = 0xff;
    out->b[12] = (uint8_t)(host_order >> 24);
    out->b[13] = (uint8_t)(host_order >> 16);
    out->b[14] = (uint8_t)(host_order >> 8);
    out->b[15] = (uint8_t)host_order;
}
static inline uint32_t bw_ip_v4(const bw_ip *ip)
{
    return ((uint32_t)ip->b[12] << 24) | ((uint32_t)ip->b[13] << 16) | ((uint32_t)ip->b[14] << 8) | ip->b[15];
}
// -1, 0 or 1 as the 16 bytes order under memcmp (numeric order of the addresses), in two
// 64-bit compares: a memcmp call was most of the cost of the sorts and binary searches
// over addresses (the ASN table, the botnet step's sightings, the flow scorer's pairs).
static inline int bw_ip_cmp(const bw_ip *a, const bw_ip *b)
{
    uint64_t a0 = bw_be64(a->b), b0 = bw_be64(b->b);
    if (a0 != b0)
        return a0 < b0 ? -1 : 1;
    uint64_t a1 = bw_be64(a->b + 8), b1 = bw_be64(b->b + 8);
    return (a1 > b1) - (a1 < b1);
}
// Formats as dotted quad (IPv4) or RFC 5952 text (IPv6) into buf (BW_IP_STRLEN bytes).
void bw_ip_format(const bw_ip *ip, char *buf);

// Parses "a.b.c.d/n", "x::/n" or a bare address (a /32 or /128). True on success.
bool bw_cidr_parse(bw_slice text, bw_cidr *out);
bool bw_cidr_contains(const bw_cidr *cidr, const bw_ip *ip);

// Private, loopback, link-local, CGNAT, documentation, multicast, reserved: addresses that
// are never a real Internet sender (RFC 6890 special-purpose registries).
bool bw_ip_is_special(const bw_ip *ip);

#endif
