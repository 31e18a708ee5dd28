// SPDX-License-Identifier: MIT
// IP and CIDR handling (include/botwatch/ip.h) on top of inet_pton/inet_ntop.
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "botwatch/ip.h"

// Dotted-quad IPv4 exactly as glibc's inet_pton(AF_INET) reads it (four decimal parts of
// 0..255 without leading zeros, the text ending at the first NUL), without the copy and
// the library call: Received chains hold several IPs per message. Anything it refuses
// goes on to inet_pton, so the results are inet_pton's.
static bool parse_v4_fast(bw_slice text, uint32_t *out)
{
    uint32_t value = 0, part = 0;
    unsigned parts = 0;
    bool saw_digit = false;
    for (size_t i = 0; i < text.n && text.p[i] != '\0'; i++) {
        char c = text.p[i];
        if (c >= '0' && c <= '9') {
            if (saw_digit && part == 0)
                return false;   // a leading zero
            part = part * 10 + (uint32_t)(c - '0');
            if (part > 255)
                return false;
            if (!saw_digit) {
                if (++parts > 4)
                    return false;
                saw_digit = true;
            }
        } else if (c == '.' && saw_digit) {
            if (parts == 4)
                return false;
            value = value << 8 | part;
            part = 0;
            saw_digit = false;
        } else {
            return false;
        }
    }
    if (parts < 4 || !saw_digit)
        return false;
    *out = value << 8 | part;
    return true;
}

bool bw_ip_parse(bw_slice text, bw_ip *out)
{
    char tmp[BW_IP_STRLEN];
    if (text.n == 0 || text.n >= sizeof tmp)
        return false;
    uint32_t v4fast;
    if (parse_v4_fast(text, &v4fast)) {
        bw_ip_from_v4(v4fast, out);
        return true;
    }
    memcpy(tmp, text.p, text.n);
    tmp[text.n] = '\0';
    struct in_addr v4;
    if (inet_pton(AF_INET, tmp, &v4) == 1) {
        bw_ip_from_v4(ntohl(v4.s_addr), out);
        return true;
    }
    return inet_pton(AF_INET6, tmp, out->b) == 1;
}

void bw_ip_format(const bw_ip *ip, char *buf)
{
    if (bw_ip_is_v4(ip))
        snprintf(buf, BW_IP_STRLEN, "%u.%u.%u.%u", ip->b[12], ip->b[13], ip->b[14], ip->b[15]);
    else if (!inet_ntop(AF_INET6, ip->b, buf, BW_IP_STRLEN))
        buf[0] = '\0';
}

static void mask_to_prefix(bw_ip *ip, unsigned prefix)
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned keep = prefix > 8 * i ? prefix - 8 * i : 0;
        if (keep < 8)
            ip->b[i] &= (uint8_t)(0xff00u >> keep);
    }
}

bool bw_cidr_parse(bw_slice text, bw_cidr *out)
{
    text = bw_slice_trim(text);
    const char *slash = text.n ? memchr(text.p, '/', text.n) : NULL;
    bw_slice addr = slash ? bw_slice_make(text.p, (size_t)(slash - text.p)) : text;
    if (!bw_ip_parse(addr, &out->base))
        return false;
    unsigned max = bw_ip_is_v4(&out->base) ? 32 : 128;
    unsigned prefix = max;
    if (slash) {
        size_t len = text.n - (size_t)(slash - text.p) - 1;
        if (len == 0 || len > 3)
            return false;
        prefix = 0;
        for (size_t i = 0; i < len; i++) {
            char c = slash[1 + i];
            if (c < '0' || c > '9')
                return false;
            prefix = prefix * 10 + (unsigned)(c - '0');
        }
        if (prefix > max)
            return false;
    }
    if (max == 32)
        prefix += 96;
    out->prefix = (uint8_t)prefix;
    mask_to_prefix(&out->base, prefix);
    return true;
}

// Compares the prefix's whole bytes, then its partial byte (base is stored masked):
// the same answer as masking a copy of ip, without touching the other bytes. It runs
// for every special range of every Received hop.
bool bw_cidr_contains(const bw_cidr *cidr, const bw_ip *ip)
{
    unsigned prefix = cidr->prefix > 128 ? 128 : cidr->prefix;
    unsigned whole = prefix / 8, bits = prefix % 8;
    for (unsigned i = 0; i < whole; i++)
        if (ip->b[i] != cidr->base.b[i])
            return false;
    return bits == 0 || (ip->b[whole] & (uint8_t)(0xff00u >> bits)) == cidr->base.b[whole];
}

// The special ranges are parsed once: this runs for every Received hop of every message.
static const char *const special_ranges[] = {
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
    "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    "::/128", "::1/128", "64:ff9b::/96", "100::/64", "2001::/23", "2001:db8::/32",
    "fc00::/7", "fe80::/10", "ff00::/8",
};
#define SPECIAL_COUNT (sizeof special_ranges / sizeof special_ranges[0])
// IPv4 ranges (stored as v4-mapped, prefix >= 96) can only contain v4-mapped addresses,
// so the two families are kept apart and an IPv4 address is tested with one mask per
// range (plus any IPv6 range wide enough to hold v4-mapped space: none today).
static bw_cidr special_v6[SPECIAL_COUNT];
static size_t special_v6_count;
static bw_cidr special_v6_holding_v4[SPECIAL_COUNT];
static size_t special_v6_holding_v4_count;
static struct {
    uint32_t base, mask;
} special_v4[SPECIAL_COUNT];
static size_t special_v4_count;
static pthread_once_t special_once = PTHREAD_ONCE_INIT;

static void parse_special_ranges(void)
{
    for (size_t i = 0; i < SPECIAL_COUNT; i++) {
        bw_cidr c;
        if (!bw_cidr_parse(bw_slice_cstr(special_ranges[i]), &c))
            continue;
        if (bw_ip_is_v4(&c.base) && c.prefix >= 96) {
            unsigned bits = c.prefix - 96u;
            uint32_t mask = bits == 0 ? 0 : 0xffffffffu << (32 - bits);
            special_v4[special_v4_count].base = bw_ip_v4(&c.base) & mask;
            special_v4[special_v4_count].mask = mask;
            special_v4_count++;
        } else {
            special_v6[special_v6_count++] = c;
            bw_ip mapped;
            bw_ip_from_v4(0, &mapped);
            if (c.prefix <= 96 && bw_cidr_contains(&c, &mapped))
                special_v6_holding_v4[special_v6_holding_v4_count++] = c;
        }
    }
}

bool bw_ip_is_special(const bw_ip *ip)
{
    pthread_once(&special_once, parse_special_ranges);
    if (bw_ip_is_v4(ip)) {
        uint32_t v4 = bw_ip_v4(ip);
        for (size_t i = 0; i < special_v4_count; i++)
            if ((v4 & special_v4[i].mask) == special_v4[i].base)
                return true;
        for (size_t i = 0; i < special_v6_holding_v4_count; i++)
            if (bw_cidr_contains(&special_v6_holding_v4[i], ip))
                return true;
        return false;
    }
    for (size_t i = 0; i < special_v6_count; i++)
        if (bw_cidr_contains(&special_v6[i], ip))
            return true;
    return false;
}
