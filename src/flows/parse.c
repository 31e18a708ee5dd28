// SPDX-License-Identifier: MIT
// Fast field parsers for the flow readers. A conn.log line has ~20 fields and we want
// well over a million lines per second, so the common shapes (decimal counts, Zeek's
// "seconds.micros", dotted IPv4) are parsed inline from (pointer, length) without copies;
// rarer shapes (IPv6, exponents) fall back to the libc parsers on a bounded copy.
#include <stdlib.h>
#include <string.h>

#include "reader_internal.h"

bool bw_parse_u64(const char *p, size_t n, uint64_t *out)
{
    if (n == 0 || n > 20)
        return false;
    // 19 digits always fit; only a 20th needs the overflow check.
    size_t safe = n < 19 ? n : 19;
    uint64_t v = 0;
    for (size_t i = 0; i < safe; i++) {
        unsigned d = (unsigned)(unsigned char)p[i] - '0';
        if (d > 9)
            return false;
        v = v * 10 + d;
    }
    if (n == 20) {
        unsigned d = (unsigned)(unsigned char)p[19] - '0';
        if (d > 9 || v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool bw_parse_u16(const char *p, size_t n, uint16_t *out)
{
    if (n == 0 || n > 5)
        return false;
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(unsigned char)p[i] - '0';
        if (d > 9)
            return false;
        v = v * 10 + d;
    }
    if (v > 65535)
        return false;
    *out = (uint16_t)v;
    return true;
}

static const double inv_pow10[] = {
    1, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11, 1e-12,
    1e-13, 1e-14, 1e-15, 1e-16, 1e-17, 1e-18, 1e-19,
};

static bool seconds_slow(const char *p, size_t n, double *out)
{
    char tmp[64];
    if (n >= sizeof tmp)
        return false;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    char *end;
    double v = strtod(tmp, &end);
    // Reject inf/nan and negatives: a time or duration is a finite, non-negative number.
    if (end != tmp + n || !(v >= 0) || v > 1e15)
        return false;
    *out = v;
    return true;
}

bool bw_parse_seconds(const char *p, size_t n, double *out)
{
    // Fast path for Zeek's "seconds.micros": at most 15 integer digits (exact in a double)
    // and up to 19 fraction digits (more are dropped: below a double's precision anyway).
    const char *q = p, *end = p + n;
    const char *int_end = n < 15 ? end : p + 15;
    uint64_t whole = 0;
    unsigned d;
    while (q < int_end && (d = (unsigned)(unsigned char)*q - '0') <= 9) {
        whole = whole * 10 + d;
        q++;
    }
    if (q == end) {
        if (q == p)
            return false;
        *out = (double)whole;
        return true;
    }
    if (*q != '.' || (q == p && n == 1))
        return seconds_slow(p, n, out);
    q++;
    const char *frac_start = q;
    const char *frac_end = end - q > 19 ? q + 19 : end;
    uint64_t frac = 0;
    while (q < frac_end && (d = (unsigned)(unsigned char)*q - '0') <= 9) {
        frac = frac * 10 + d;
        q++;
    }
    size_t digits = (size_t)(q - frac_start);
    while (q < end && (unsigned)(unsigned char)*q - '0' <= 9)
        q++;
    if (q != end)
        return seconds_slow(p, n, out);
    *out = (double)whole + (double)frac * inv_pow10[digits];
    return true;
}

// Dotted quad, no leading zeros (as inet_pton); false for anything else.
static bool parse_v4(const char *p, size_t n, uint32_t *out)
{
    const char *end = p + n;
    uint32_t addr = 0;
    for (int part = 0; part < 4; part++) {
        if (p >= end)
            return false;
        unsigned v = (unsigned)(unsigned char)*p - '0', d;
        if (v > 9)
            return false;
        p++;
        if (p < end && (d = (unsigned)(unsigned char)*p - '0') <= 9) {
            if (v == 0)
                return false;
            v = v * 10 + d;
            p++;
            if (p < end && (d = (unsigned)(unsigned char)*p - '0') <= 9) {
                v = v * 10 + d;
                p++;
                if (v > 255)
                    return false;
            }
        }
        addr = addr << 8 | v;
        if (part < 3) {
            if (p >= end || *p != '.')
                return false;
            p++;
        }
    }
    if (p != end)
        return false;
    *out = addr;
    return true;
}

// Hex digit value + 1, 0 for every other byte: one load per character in the hot loop.
static const uint8_t hex_plus_one[256] = {
    ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
    ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
    ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

// RFC 4291 text form with "::" and an optional dotted-quad tail, accepting exactly what
// glibc's inet_pton(AF_INET6) accepts (checked against it in the tests and by the fuzzer):
// inet_pton needs a NUL-terminated copy per address and was a quarter of the cost of an
// IPv6-heavy conn.log line.
static bool parse_v6(const char *p, size_t n, uint8_t out[16])
{
    uint16_t words[8];
    int count = 0, gap = -1;
    size_t i = 0;
    if (n < 2 || n > 45)
        return false;
    if (p[0] == ':') {
        if (p[1] != ':')
            return false;
        gap = 0;
        i = 2;
    }
    while (i < n) {
        size_t start = i;
        unsigned value = 0;
        int digits = 0;
        unsigned h;
        while (i < n && digits <= 4 && (h = hex_plus_one[(unsigned char)p[i]]) != 0) {
            value = value * 16 + h - 1;
            i++;
            digits++;
        }
        if (i < n && p[i] == '.') {
            uint32_t v4;
            if (count > 6 || !parse_v4(p + start, n - start, &v4))
                return false;
            words[count++] = (uint16_t)(v4 >> 16);
            words[count++] = (uint16_t)v4;
            i = n;
            break;
        }
        if (digits == 0 || digits > 4 || count == 8)
            return false;
        words[count++] = (uint16_t)value;
        if (i == n)
            break;
        if (p[i] != ':')
            return false;
        i++;
        if (i < n && p[i] == ':') {
            if (gap >= 0)
                return false;
            gap = count;
            i++;
        } else if (i == n) {
            return false;   // a single trailing colon
        }
    }
    if (gap < 0 ? count != 8 : count > 7)
        return false;
    int fill = gap < 0 ? 0 : 8 - count;   // zero groups the "::" stands for
    memset(out, 0, 16);
    for (int k = 0; k < count; k++) {
        int at = gap >= 0 && k >= gap ? k + fill : k;
        out[2 * at] = (uint8_t)(words[k] >> 8);
        out[2 * at + 1] = (uint8_t)words[k];
    }
    return true;
}

bool bw_parse_ip(const char *p, size_t n, bw_ip *out)
{
    uint32_t v4;
    if (n >= 7 && n <= 15 && parse_v4(p, n, &v4)) {
        bw_ip_from_v4(v4, out);
        return true;
    }
    bw_ip tmp;
    if (!parse_v6(p, n, tmp.b))
        return false;
    *out = tmp;
    return true;
}

static bool eq_ci(const char *p, size_t n, const char *lit)
{
    size_t len = strlen(lit);
    if (n != len)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != lit[i])
            return false;
    }
    return true;
}

bool bw_parse_proto(const char *p, size_t n, uint8_t *out)
{
    static const struct { const char *name; uint8_t number; } names[] = {
        { "tcp", 6 }, { "udp", 17 }, { "icmp", 1 }, { "ipv6-icmp", 58 }, { "icmp6", 58 },
        { "icmpv6", 58 }, { "igmp", 2 }, { "gre", 47 }, { "esp", 50 }, { "ah", 51 },
        { "sctp", 132 }, { "ipv6", 41 }, { "ipnip", 4 }, { "ipip", 4 }, { "pim", 103 },
        { "rtp", 17 }, { "rtcp", 17 }, { "udt", 17 }, { "unknown_transport", 0 },
    };
    if (n == 3 && p[0] == 't' && p[1] == 'c' && p[2] == 'p') {
        *out = 6;
        return true;
    }
    if (n == 3 && p[0] == 'u' && p[1] == 'd' && p[2] == 'p') {
        *out = 17;
        return true;
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (eq_ci(p, n, names[i].name)) {
            *out = names[i].number;
            return true;
        }
    uint64_t v;
    if (bw_parse_u64(p, n, &v) && v <= 255) {
        *out = (uint8_t)v;
        return true;
    }
    return false;
}

static const char *const state_names[] = {
    [BW_CONN_UNKNOWN] = "-", [BW_CONN_S0] = "S0", [BW_CONN_S1] = "S1", [BW_CONN_SF] = "SF",
    [BW_CONN_REJ] = "REJ", [BW_CONN_S2] = "S2", [BW_CONN_S3] = "S3", [BW_CONN_RSTO] = "RSTO",
    [BW_CONN_RSTR] = "RSTR", [BW_CONN_RSTOS0] = "RSTOS0", [BW_CONN_RSTRH] = "RSTRH",
    [BW_CONN_SH] = "SH", [BW_CONN_SHR] = "SHR", [BW_CONN_OTH] = "OTH",
};

const char *bw_conn_state_name(bw_conn_state state)
{
    if ((unsigned)state < sizeof state_names / sizeof state_names[0])
        return state_names[state];
    return "-";
}

bool bw_conn_state_failed(bw_conn_state state)
{
    // OTH is midstream traffic with no handshake seen: not evidence of a failed call, so it
    // is not counted here (a reader that knows no reply came maps it to S0/SH instead).
    switch (state) {
    case BW_CONN_S0: case BW_CONN_REJ: case BW_CONN_RSTOS0: case BW_CONN_RSTRH:
    case BW_CONN_SH: case BW_CONN_SHR:
        return true;
    default:
        return false;
    }
}

bw_conn_state bw_parse_conn_state(const char *p, size_t n)
{
    if (n == 2 && p[0] == 'S') {
        switch (p[1]) {
        case 'F': return BW_CONN_SF;
        case '0': return BW_CONN_S0;
        case '1': return BW_CONN_S1;
        case '2': return BW_CONN_S2;
        case '3': return BW_CONN_S3;
        case 'H': return BW_CONN_SH;
        default: break;
        }
    }
    if (n < 2 || n > 6)
        return BW_CONN_UNKNOWN;
    for (size_t s = 1; s < sizeof state_names / sizeof state_names[0]; s++)
        if (state_names[s][0] == p[0] && strncmp(state_names[s], p, n) == 0 && state_names[s][n] == '\0')
            return (bw_conn_state)s;
    return BW_CONN_UNKNOWN;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool digits_at(const char *p, size_t n, size_t at, size_t count, unsigned *out)
{
    if (at + count > n)
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < count; i++) {
        unsigned d = (unsigned)(unsigned char)p[at + i] - '0';
        if (d > 9)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool bw_parse_datetime(const char *p, size_t n, double *out)
{
    unsigned year, month, day, hour, minute, second;
    if (n >= 19 && (p[4] == '/' || p[4] == '-') && p[7] == p[4] && (p[10] == ' ' || p[10] == 'T')
        && p[13] == ':' && p[16] == ':' && digits_at(p, n, 0, 4, &year)
        && digits_at(p, n, 5, 2, &month) && digits_at(p, n, 8, 2, &day)
        && digits_at(p, n, 11, 2, &hour) && digits_at(p, n, 14, 2, &minute)
        && digits_at(p, n, 17, 2, &second)) {
        if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
            return false;
        double frac = 0;
        size_t rest = 19;
        if (rest < n && p[rest] == '.') {
            size_t end = rest + 1;
            while (end < n && (unsigned)(unsigned char)p[end] - '0' <= 9)
                end++;
            if (end == rest + 1 || !bw_parse_seconds(p + rest, end - rest, &frac))
                return false;
            rest = end;
        }
        int64_t offset = 0;   // seconds east of UTC
        if (rest < n && p[rest] == 'Z') {
            rest++;
        } else if (rest < n && (p[rest] == '+' || p[rest] == '-')) {
            // "+0200" (Suricata) or "+02:00" (ISO 8601)
            unsigned oh, om;
            bool colon = rest + 3 < n && p[rest + 3] == ':';
            if (!digits_at(p, n, rest + 1, 2, &oh) || !digits_at(p, n, rest + (colon ? 4 : 3), 2, &om) || oh > 23
                || om > 59)
                return false;
            offset = (int64_t)(oh * 3600 + om * 60) * (p[rest] == '-' ? -1 : 1);
            rest += colon ? 6 : 5;
        }
        if (rest != n)
            return false;
        int64_t days = days_from_civil(year, month, day);
        int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset;
        if (secs < 0)
            return false;
        *out = (double)secs + frac;
        return true;
    }
    return bw_parse_seconds(p, n, out);
}

// Argus TCP states are "<originator flags>_<responder flags>" (S SYN, A ACK, P PSH, F FIN,
// R RST, ...); other protocols use words (CON, INT, REQ, ECO, URP, ...). See
// docs/flows-formats.md for the table and why each maps where it does.
typedef struct tcp_flags {
    bool syn, ack, fin, rst, any;
} tcp_flags;

static tcp_flags flags_of(const char *p, size_t n)
{
    tcp_flags f = { false, false, false, false, false };
    for (size_t i = 0; i < n; i++) {
        switch (p[i]) {
        case 'S': f.syn = true; break;
        case 'A': f.ack = true; break;
        case 'F': f.fin = true; break;
        case 'R': f.rst = true; break;
        default: break;
        }
        if (p[i] != '.' && p[i] != ' ')
            f.any = true;
    }
    return f;
}

static bw_conn_state tcp_state(tcp_flags orig, tcp_flags resp)
{
    if (!resp.any) {
        if (orig.syn && !orig.ack)
            return orig.rst ? BW_CONN_RSTOS0 : BW_CONN_S0;
        if (orig.syn)
            return BW_CONN_SH;   // SYN and more, never answered
        return BW_CONN_OTH;
    }
    if (!orig.syn)
        return BW_CONN_OTH;       // midstream: no handshake seen
    if (!resp.syn)
        return resp.rst ? BW_CONN_REJ : BW_CONN_OTH;
    // Argus ORs the flags over the whole flow: both FINs mean an orderly close even if a
    // RST followed (as Windows stacks often send), so SF wins over RSTO/RSTR.
    if (orig.fin && resp.fin)
        return BW_CONN_SF;
    if (orig.rst)
        return BW_CONN_RSTO;
    if (resp.rst)
        return BW_CONN_RSTR;
    if (orig.fin)
        return BW_CONN_S2;
    if (resp.fin)
        return BW_CONN_S3;
    return BW_CONN_S1;
}

bw_conn_state bw_tcp_state_from_bits(uint8_t orig, uint8_t resp)
{
    tcp_flags o = { orig & 0x02, orig & 0x10, orig & 0x01, orig & 0x04, orig != 0 };
    tcp_flags r = { resp & 0x02, resp & 0x10, resp & 0x01, resp & 0x04, resp != 0 };
    return tcp_state(o, r);
}

bw_conn_state bw_argus_state(const char *p, size_t n, uint8_t proto)
{
    // Some converters (Slips' test files) write Zeek states into the Argus column.
    bw_conn_state zeek = bw_parse_conn_state(p, n);
    if (zeek != BW_CONN_UNKNOWN)
        return zeek;
    const char *underscore = memchr(p, '_', n);
    if (proto == 6 && underscore) {
        size_t left = (size_t)(underscore - p);
        return tcp_state(flags_of(p, left), flags_of(underscore + 1, n - left - 1));
    }
    static const struct { const char *word; bw_conn_state state; } words[] = {
        { "CON", BW_CONN_SF },    // traffic seen both ways
        { "ACC", BW_CONN_SF },    // accepted (reply seen)
        { "CLO", BW_CONN_SF },    // closed normally
        { "FIN", BW_CONN_SF },
        { "RSP", BW_CONN_SF },    // response seen
        { "ECR", BW_CONN_SF },    // ICMP echo answered
        { "INT", BW_CONN_S0 },    // initial: one direction only, no reply
        { "REQ", BW_CONN_S0 },    // request, no reply (ARP, ICMP, UDP)
        { "ECO", BW_CONN_S0 },    // ICMP echo, unanswered
        { "RST", BW_CONN_REJ },   // reset
        { "URP", BW_CONN_REJ },   // ICMP port unreachable: the attempt was refused
        { "URH", BW_CONN_REJ },   // host unreachable
        { "URN", BW_CONN_REJ },   // net unreachable
        { "URO", BW_CONN_REJ },
        { "URF", BW_CONN_REJ },
        { "URFIL", BW_CONN_REJ }, // administratively filtered
        { "URHPRO", BW_CONN_REJ },
        { "TXD", BW_CONN_OTH }, { "TST", BW_CONN_OTH }, { "STA", BW_CONN_OTH },
        { "MHR", BW_CONN_OTH }, { "RTA", BW_CONN_OTH }, { "SRC", BW_CONN_OTH },
        { "TIM", BW_CONN_OTH }, { "RED", BW_CONN_OTH }, { "PAR", BW_CONN_OTH },
        { "NNS", BW_CONN_OTH }, { "NRS", BW_CONN_OTH }, { "NRA", BW_CONN_OTH },
        { "UNK", BW_CONN_UNKNOWN },
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strlen(words[i].word) == n && memcmp(words[i].word, p, n) == 0)
            return words[i].state;
    if (proto == 6 && n > 0)   // TCP flags without the underscore: originator only
        return tcp_state(flags_of(p, n), flags_of("", 0));
    return BW_CONN_UNKNOWN;
}

bw_conn_state bw_nfdump_state_bits(uint8_t flag_bits, uint8_t proto, uint64_t out_pkts)
{
    if (proto != 6)
        return out_pkts > 0 ? BW_CONN_SF : BW_CONN_S0;
    // NetFlow records are unidirectional unless the exporter pairs them (NSEL, bi-flows),
    // and flags are OR-ed over the flow, so this is necessarily approximate.
    bool fin = flag_bits & 0x01, syn = flag_bits & 0x02, rst = flag_bits & 0x04, ack = flag_bits & 0x10;
    if (syn && !ack)
        return rst ? BW_CONN_RSTOS0 : BW_CONN_S0;
    if (syn && ack) {
        if (rst)
            return BW_CONN_RSTO;
        return fin ? BW_CONN_SF : BW_CONN_S1;
    }
    if (rst && !ack && !fin)
        return BW_CONN_REJ;
    return flag_bits ? BW_CONN_OTH : BW_CONN_UNKNOWN;
}

bw_conn_state bw_nfdump_state(const char *p, size_t n, uint8_t proto, uint64_t out_pkts)
{
    // Text form "CEUAPRSF", a '.' for each flag not set; some versions print hex ("0x1b").
    uint8_t bits = 0;
    if (n > 2 && p[0] == '0' && p[1] == 'x') {
        uint64_t v = 0;
        for (size_t i = 2; i < n && i < 4; i++) {
            char c = p[i];
            v <<= 4;
            if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        }
        bits = (uint8_t)v;
    } else {
        for (size_t i = 0; i < n; i++) {
            switch (p[i]) {
            case 'F': bits |= 0x01; break;
            case 'S': bits |= 0x02; break;
            case 'R': bits |= 0x04; break;
            case 'P': bits |= 0x08; break;
            case 'A': bits |= 0x10; break;
            case 'U': bits |= 0x20; break;
            case 'E': bits |= 0x40; break;
            case 'C': bits |= 0x80; break;
            default: break;
            }
        }
    }
    return bw_nfdump_state_bits(bits, proto, out_pkts);
}
