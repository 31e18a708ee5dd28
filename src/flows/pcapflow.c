// SPDX-License-Identifier: MIT
// Packet captures to flow records. libpcap reads pcap/pcapng; we decode link, IP and
// transport headers ourselves (bounds-checked against caplen), key flows by a canonical
// 5-tuple in a chained table hashed with keyed SipHash (the tuples are attacker-chosen),
// keep the flows on a least-recently-seen list so idle expiry and eviction at max_flows
// are O(1) per packet, and map the per-direction TCP flags onto Zeek's conn_state.
#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "botwatch/hash.h"
#include "botwatch/pcapflow.h"

#define DEFAULT_IDLE 60.0
#define DEFAULT_TCP_IDLE 300.0
#define DEFAULT_ACTIVE 3600.0
#define DEFAULT_MAX_FLOWS 1000000u
#define NO_ENTRY UINT32_MAX
#define MAX_IPV6_EXT_HEADERS 8   // more than any real packet carries; bounds the walk

void bw_pcap_flow_limits_default(bw_pcap_flow_limits *limits)
{
    limits->idle_timeout = DEFAULT_IDLE;
    limits->tcp_idle_timeout = DEFAULT_TCP_IDLE;
    limits->active_timeout = DEFAULT_ACTIVE;
    limits->max_flows = DEFAULT_MAX_FLOWS;
}

typedef struct flow_key {
    bw_ip a, b;          // a <= b (with ports as tie-break): both directions share a key
    uint16_t port_a, port_b;
    uint8_t proto;
    uint8_t pad[3];
} flow_key;

enum {
    F_SYN = 1, F_SYNACK = 2, F_FIN = 4, F_RST = 8, F_ANY = 16,
};

typedef struct flow_entry {
    flow_key key;
    bool orig_is_a;       // which side of the key opened the flow
    uint8_t orig_flags, resp_flags;
    bool fin_both_before_rst;
    double first, last;
    uint64_t orig_bytes, resp_bytes, orig_pkts, resp_pkts;
    uint64_t first_packet;
    uint32_t hash_next;   // chain in the bucket
    uint32_t lru_prev, lru_next;
    uint64_t hash;
} flow_entry;

typedef struct assembler {
    bw_pcap_flow_limits limits;
    bw_flow_cb cb;
    void *ctx;
    bool stopped;
    bw_hash_key key;
    flow_entry *entries;
    uint32_t entries_cap, entries_used, free_head, count;
    uint32_t *buckets;
    uint32_t nbuckets;    // power of two
    // Two least-recently-seen lists (head = oldest), one per idle timeout class (TCP and
    // the rest), so each list's head is always the next flow to time out.
    uint32_t lru_head[2], lru_tail[2];
    bw_pcap_flow_stats *stats;
} assembler;

static int lru_class(const flow_entry *e) { return e->key.proto == 6 ? 0 : 1; }

static void lru_unlink(assembler *as, uint32_t i)
{
    flow_entry *e = &as->entries[i];
    int c = lru_class(e);
    if (e->lru_prev != NO_ENTRY) as->entries[e->lru_prev].lru_next = e->lru_next;
    else as->lru_head[c] = e->lru_next;
    if (e->lru_next != NO_ENTRY) as->entries[e->lru_next].lru_prev = e->lru_prev;
    else as->lru_tail[c] = e->lru_prev;
    e->lru_prev = e->lru_next = NO_ENTRY;
}

static void lru_append(assembler *as, uint32_t i)
{
    flow_entry *e = &as->entries[i];
    int c = lru_class(e);
    e->lru_prev = as->lru_tail[c];
    e->lru_next = NO_ENTRY;
    if (as->lru_tail[c] != NO_ENTRY) as->entries[as->lru_tail[c]].lru_next = i;
    else as->lru_head[c] = i;
    as->lru_tail[c] = i;
}

// The least recently seen flow of both lists, or NO_ENTRY.
static uint32_t oldest(const assembler *as)
{
    uint32_t a = as->lru_head[0], b = as->lru_head[1];
    if (a == NO_ENTRY) return b;
    if (b == NO_ENTRY) return a;
    return as->entries[a].last <= as->entries[b].last ? a : b;
}

static bw_conn_state tcp_state(const flow_entry *e)
{
    uint8_t o = e->orig_flags, r = e->resp_flags;
    bool syn = o & F_SYN, synack = r & F_SYNACK;
    if (syn && !synack) {
        if (r & F_RST) return BW_CONN_REJ;
        if (o & F_RST) return BW_CONN_RSTOS0;
        if (o & F_FIN) return BW_CONN_SH;
        if (!(r & F_ANY)) return BW_CONN_S0;
        return BW_CONN_OTH;
    }
    if (!syn && synack) {
        if (r & F_RST) return BW_CONN_RSTRH;
        if (r & F_FIN) return BW_CONN_SHR;
        return BW_CONN_OTH;
    }
    if (!syn)
        return BW_CONN_OTH;   // midstream: the handshake was before the capture
    if (e->fin_both_before_rst || ((o & F_FIN) && (r & F_FIN) && !((o | r) & F_RST)))
        return BW_CONN_SF;
    if (o & F_RST) return BW_CONN_RSTO;
    if (r & F_RST) return BW_CONN_RSTR;
    if (o & F_FIN) return BW_CONN_S2;
    if (r & F_FIN) return BW_CONN_S3;
    return BW_CONN_S1;
}

static void to_record(const flow_entry *e, bw_flow *f)
{
    memset(f, 0, sizeof *f);
    f->ts = e->first;
    f->duration = e->last - e->first;
    f->src = e->orig_is_a ? e->key.a : e->key.b;
    f->dst = e->orig_is_a ? e->key.b : e->key.a;
    f->sport = e->orig_is_a ? e->key.port_a : e->key.port_b;
    f->dport = e->orig_is_a ? e->key.port_b : e->key.port_a;
    f->proto = e->key.proto;
    f->orig_bytes = e->orig_bytes;
    f->resp_bytes = e->resp_bytes;
    f->orig_pkts = e->orig_pkts;
    f->resp_pkts = e->resp_pkts;
    f->line = e->first_packet;
    if (e->key.proto == 6)
        f->state = tcp_state(e);
    else
        f->state = e->resp_pkts > 0 ? BW_CONN_SF : BW_CONN_S0;
}

static void emit(assembler *as, const flow_entry *e)
{
    if (as->stopped)
        return;
    bw_flow f;
    to_record(e, &f);
    as->stats->flows++;
    if (!as->cb(&f, as->ctx))
        as->stopped = true;
}

// Removes entry i from the table (after emitting it if asked).
static void remove_entry(assembler *as, uint32_t i, bool emit_it)
{
    flow_entry *e = &as->entries[i];
    if (emit_it)
        emit(as, e);
    uint32_t *link = &as->buckets[e->hash & (as->nbuckets - 1)];
    while (*link != i)
        link = &as->entries[*link].hash_next;
    *link = e->hash_next;
    lru_unlink(as, i);
    e->hash_next = as->free_head;
    as->free_head = i;
    as->count--;
}

static bool grow_buckets(assembler *as)
{
    uint32_t n = as->nbuckets ? as->nbuckets * 2 : 4096;
    uint32_t *b = malloc((size_t)n * sizeof *b);
    if (!b)
        return false;
    for (uint32_t i = 0; i < n; i++)
        b[i] = NO_ENTRY;
    // Rehash every live entry: walk the LRU lists (they hold exactly the live entries).
    for (int c = 0; c < 2; c++)
        for (uint32_t i = as->lru_head[c]; i != NO_ENTRY; i = as->entries[i].lru_next) {
            uint32_t slot = (uint32_t)(as->entries[i].hash & (n - 1));
            as->entries[i].hash_next = b[slot];
            b[slot] = i;
        }
    free(as->buckets);
    as->buckets = b;
    as->nbuckets = n;
    return true;
}

static uint32_t new_entry(assembler *as)
{
    if (as->free_head != NO_ENTRY) {
        uint32_t i = as->free_head;
        as->free_head = as->entries[i].hash_next;
        return i;
    }
    if (as->entries_used == as->entries_cap) {
        uint32_t cap = as->entries_cap ? as->entries_cap * 2 : 1024;
        if (cap > as->limits.max_flows)
            cap = (uint32_t)as->limits.max_flows;
        flow_entry *grown = realloc(as->entries, (size_t)cap * sizeof *grown);
        if (!grown)
            return NO_ENTRY;
        as->entries = grown;
        as->entries_cap = cap;
    }
    return as->entries_used++;
}

static void expire_idle(assembler *as, double now)
{
    for (int c = 0; c < 2; c++) {
        double idle = c == 0 ? as->limits.tcp_idle_timeout : as->limits.idle_timeout;
        while (as->lru_head[c] != NO_ENTRY && !as->stopped && now - as->entries[as->lru_head[c]].last > idle)
            remove_entry(as, as->lru_head[c], true);
    }
}

typedef struct packet_info {
    bw_ip src, dst;
    uint16_t sport, dport;
    uint8_t proto;
    uint8_t tcp_flags;   // raw TCP flags byte
    uint64_t payload;    // transport payload bytes (Zeek's orig_bytes/resp_bytes count these)
} packet_info;

static void add_packet(assembler *as, double ts, const packet_info *p, uint64_t packet_no)
{
    flow_key key;
    memset(&key, 0, sizeof key);
    int order = bw_ip_cmp(&p->src, &p->dst);
    bool src_is_a = order < 0 || (order == 0 && p->sport <= p->dport);
    key.a = src_is_a ? p->src : p->dst;
    key.b = src_is_a ? p->dst : p->src;
    key.port_a = src_is_a ? p->sport : p->dport;
    key.port_b = src_is_a ? p->dport : p->sport;
    key.proto = p->proto;
    uint64_t h = bw_siphash(&as->key, &key, sizeof key);
    expire_idle(as, ts);
    uint32_t i = as->buckets[h & (as->nbuckets - 1)];
    while (i != NO_ENTRY && !(as->entries[i].hash == h && memcmp(&as->entries[i].key, &key, sizeof key) == 0))
        i = as->entries[i].hash_next;
    bool syn_only = p->proto == 6 && (p->tcp_flags & 0x02) && !(p->tcp_flags & 0x10);
    if (i != NO_ENTRY) {
        flow_entry *e = &as->entries[i];
        bool closed = (e->orig_flags & (F_FIN | F_RST)) || (e->resp_flags & (F_FIN | F_RST));
        // A fresh SYN on a closed connection is port reuse: a new flow. So is a flow that
        // has run past the active timeout.
        if ((syn_only && closed) || ts - e->first > as->limits.active_timeout) {
            remove_entry(as, i, true);
            i = NO_ENTRY;
        }
    }
    if (i == NO_ENTRY) {
        if (as->count >= as->limits.max_flows && oldest(as) != NO_ENTRY) {
            as->stats->evicted++;
            remove_entry(as, oldest(as), true);
        }
        if (as->count + 1 > as->nbuckets && !grow_buckets(as))
            return;
        i = new_entry(as);
        if (i == NO_ENTRY)
            return;
        flow_entry *e = &as->entries[i];
        memset(e, 0, sizeof *e);
        e->key = key;
        e->hash = h;
        // The sender of the first packet opened the flow, unless that packet is a SYN-ACK
        // (the SYN was missed): then its receiver did.
        bool synack = p->proto == 6 && (p->tcp_flags & 0x12) == 0x12;
        e->orig_is_a = synack ? !src_is_a : src_is_a;
        e->first = e->last = ts;
        e->first_packet = packet_no;
        uint32_t slot = (uint32_t)(h & (as->nbuckets - 1));
        e->hash_next = as->buckets[slot];
        as->buckets[slot] = i;
        e->lru_prev = e->lru_next = NO_ENTRY;
        lru_append(as, i);
        as->count++;
    } else {
        lru_unlink(as, i);
        lru_append(as, i);
    }
    flow_entry *e = &as->entries[i];
    if (ts > e->last)
        e->last = ts;
    bool from_orig = e->orig_is_a == src_is_a;
    uint8_t *flags = from_orig ? &e->orig_flags : &e->resp_flags;
    if (from_orig) {
        e->orig_pkts++;
        e->orig_bytes += p->payload;
    } else {
        e->resp_pkts++;
        e->resp_bytes += p->payload;
    }
    *flags |= F_ANY;
    if (p->proto == 6) {
        uint8_t t = p->tcp_flags;
        if ((t & 0x12) == 0x02) *flags |= F_SYN;
        if ((t & 0x12) == 0x12) *flags |= F_SYNACK;
        if (t & 0x01) *flags |= F_FIN;
        if (t & 0x04) {
            if ((e->orig_flags & F_FIN) && (e->resp_flags & F_FIN))
                e->fin_both_before_rst = true;
            *flags |= F_RST;
        }
    }
}

static void bad_packet(assembler *as, uint64_t packet_no, const char *reason)
{
    as->stats->malformed++;
    if (as->stats->first_bad_packet == 0) {
        as->stats->first_bad_packet = packet_no;
        snprintf(as->stats->first_bad_reason, sizeof as->stats->first_bad_reason, "%s", reason);
    }
}

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

// Decodes one packet; returns false with *reason set if it is malformed, false with
// reason NULL if it is not IP (or a non-first fragment), true with *out filled otherwise.
static bool decode(int linktype, const uint8_t *d, size_t caplen, packet_info *out, const char **reason,
                   bool *fragment)
{
    *reason = NULL;
    *fragment = false;
    size_t off = 0;
    unsigned ethertype = 0;
    switch (linktype) {
    case DLT_EN10MB:
        if (caplen < 14) { *reason = "truncated Ethernet header"; return false; }
        ethertype = be16(d + 12);
        off = 14;
        for (int tags = 0; (ethertype == 0x8100 || ethertype == 0x88a8) && tags < 2; tags++) {
            if (caplen < off + 4) { *reason = "truncated VLAN tag"; return false; }
            ethertype = be16(d + off + 2);
            off += 4;
        }
        break;
    case DLT_LINUX_SLL:
        if (caplen < 16) { *reason = "truncated SLL header"; return false; }
        ethertype = be16(d + 14);
        off = 16;
        break;
    case DLT_LINUX_SLL2:
        if (caplen < 20) { *reason = "truncated SLL2 header"; return false; }
        ethertype = be16(d);
        off = 20;
        break;
    case DLT_NULL: case DLT_LOOP:
        if (caplen < 4) { *reason = "truncated loopback header"; return false; }
        {
            uint32_t family = linktype == DLT_LOOP ? (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3]
                                                   : (uint32_t)d[3] << 24 | (uint32_t)d[2] << 16 | (uint32_t)d[1] << 8 | d[0];
            ethertype = family == 2 ? 0x0800 : (family == 24 || family == 28 || family == 30) ? 0x86dd : 0;
        }
        off = 4;
        break;
    case DLT_RAW: case 228 /* DLT_IPV4 */: case 229 /* DLT_IPV6 */:
        if (caplen < 1) { *reason = "empty packet"; return false; }
        ethertype = (d[0] >> 4) == 6 ? 0x86dd : 0x0800;
        break;
    default:
        return false;
    }
    const uint8_t *ip = d + off;
    size_t len = caplen - off;
    size_t l4_off;
    uint64_t ip_payload;
    uint8_t proto;
    if (ethertype == 0x0800) {
        if (len < 20) { *reason = "truncated IPv4 header"; return false; }
        if ((ip[0] >> 4) != 4) { *reason = "IPv4 version mismatch"; return false; }
        size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
        size_t total = be16(ip + 2);
        if (ihl < 20 || total < ihl || len < ihl) { *reason = "bad IPv4 header length"; return false; }
        uint16_t frag = be16(ip + 6);
        if (frag & 0x1fff) { *fragment = true; return false; }
        bw_ip_from_v4((uint32_t)ip[12] << 24 | (uint32_t)ip[13] << 16 | (uint32_t)ip[14] << 8 | ip[15], &out->src);
        bw_ip_from_v4((uint32_t)ip[16] << 24 | (uint32_t)ip[17] << 16 | (uint32_t)ip[18] << 8 | ip[19], &out->dst);
        proto = ip[9];
        l4_off = ihl;
        ip_payload = total - ihl;
    } else if (ethertype == 0x86dd) {
        if (len < 40) { *reason = "truncated IPv6 header"; return false; }
        if ((ip[0] >> 4) != 6) { *reason = "IPv6 version mismatch"; return false; }
        memcpy(out->src.b, ip + 8, 16);
        memcpy(out->dst.b, ip + 24, 16);
        proto = ip[6];
        l4_off = 40;
        ip_payload = be16(ip + 4);
        for (int ext = 0; ext < MAX_IPV6_EXT_HEADERS; ext++) {
            if (proto != 0 && proto != 43 && proto != 44 && proto != 60)
                break;
            if (len < l4_off + 8) { *reason = "truncated IPv6 extension header"; return false; }
            size_t ext_len = proto == 44 ? 8 : ((size_t)ip[l4_off + 1] + 1) * 8;
            if (proto == 44 && (be16(ip + l4_off + 2) & 0xfff8)) { *fragment = true; return false; }
            proto = ip[l4_off];
            l4_off += ext_len;
            ip_payload = ip_payload > ext_len ? ip_payload - ext_len : 0;
        }
    } else {
        return false;
    }
    out->proto = proto;
    out->sport = out->dport = 0;
    out->tcp_flags = 0;
    out->payload = ip_payload;
    const uint8_t *l4 = ip + l4_off;
    size_t l4_len = len > l4_off ? len - l4_off : 0;
    if (proto == 6) {
        if (l4_len < 14) { *reason = "truncated TCP header"; return false; }
        out->sport = be16(l4);
        out->dport = be16(l4 + 2);
        size_t doff = (size_t)(l4[12] >> 4) * 4;
        if (doff < 20) { *reason = "bad TCP data offset"; return false; }
        out->tcp_flags = l4[13];
        out->payload = ip_payload > doff ? ip_payload - doff : 0;
    } else if (proto == 17) {
        if (l4_len < 8) { *reason = "truncated UDP header"; return false; }
        out->sport = be16(l4);
        out->dport = be16(l4 + 2);
        out->payload = ip_payload > 8 ? ip_payload - 8 : 0;
    } else if (proto == 1 || proto == 58) {
        // As Zeek does: ICMP type in the source port, code in the destination port.
        if (l4_len < 4) { *reason = "truncated ICMP header"; return false; }
        out->sport = l4[0];
        out->dport = l4[1];
        out->payload = ip_payload > 8 ? ip_payload - 8 : 0;
    }
    return true;
}

static int cmp_first(const void *a, const void *b)
{
    const flow_entry *x = *(const flow_entry *const *)a, *y = *(const flow_entry *const *)b;
    if (x->first != y->first)
        return x->first < y->first ? -1 : 1;
    return x->first_packet < y->first_packet ? -1 : x->first_packet > y->first_packet;
}

static bw_status flush_all(assembler *as)
{
    if (as->count == 0)
        return BW_OK;
    const flow_entry **order = malloc((size_t)as->count * sizeof *order);
    if (!order)
        return BW_ERR_NOMEM;
    size_t n = 0;
    for (int c = 0; c < 2; c++)
        for (uint32_t i = as->lru_head[c]; i != NO_ENTRY; i = as->entries[i].lru_next)
            order[n++] = &as->entries[i];
    qsort(order, n, sizeof *order, cmp_first);
    for (size_t i = 0; i < n && !as->stopped; i++)
        emit(as, order[i]);
    free(order);
    return BW_OK;
}

bw_status bw_pcap_flows_read(FILE *f, const char *source, const bw_pcap_flow_limits *limits,
                             bw_flow_cb cb, void *ctx, bw_pcap_flow_stats *stats, char *errbuf)
{
    bw_pcap_flow_stats local_stats;
    if (!stats)
        stats = &local_stats;
    memset(stats, 0, sizeof *stats);
    if (!source)
        source = "-";
    assembler as;
    memset(&as, 0, sizeof as);
    if (limits)
        as.limits = *limits;
    else
        bw_pcap_flow_limits_default(&as.limits);
    if (as.limits.max_flows == 0 || as.limits.max_flows > (1u << 30) || !(as.limits.idle_timeout > 0)
        || !(as.limits.tcp_idle_timeout > 0) || !(as.limits.active_timeout > 0)) {
        fclose(f);
        return bw_error(errbuf, BW_ERR_INVALID, "%s: invalid pcap flow limits", source);
    }
    as.cb = cb;
    as.ctx = ctx;
    as.stats = stats;
    as.free_head = NO_ENTRY;
    as.lru_head[0] = as.lru_head[1] = as.lru_tail[0] = as.lru_tail[1] = NO_ENTRY;
    if (bw_hash_key_random(&as.key) != 0) {
        fclose(f);
        return bw_error(errbuf, BW_ERR_IO, "%s: no random source for the flow table key", source);
    }
    char pcap_err[PCAP_ERRBUF_SIZE] = "";
    pcap_t *pc = pcap_fopen_offline(f, pcap_err);
    if (!pc) {
        fclose(f);
        return bw_error(errbuf, BW_ERR_PARSE, "%s: %s", source, pcap_err);
    }
    if (!grow_buckets(&as)) {
        pcap_close(pc);
        return bw_error(errbuf, BW_ERR_NOMEM, "%s: out of memory", source);
    }
    int linktype = pcap_datalink(pc);
    struct pcap_pkthdr *hdr;
    const u_char *data;
    int rc = 0;
    while (!as.stopped && (rc = pcap_next_ex(pc, &hdr, &data)) >= 0) {
        if (rc == 0)
            continue;
        stats->packets++;
        double ts = (double)hdr->ts.tv_sec + (double)hdr->ts.tv_usec / 1e6;
        packet_info info;
        const char *reason;
        bool fragment;
        // pcapng may mix link types per interface; libpcap reports the current one.
        linktype = pcap_datalink(pc);
        if (decode(linktype, data, hdr->caplen, &info, &reason, &fragment)) {
            stats->ip_packets++;
            add_packet(&as, ts, &info, stats->packets);
        } else if (reason) {
            bad_packet(&as, stats->packets, reason);
        } else if (fragment) {
            stats->fragments++;
        } else {
            stats->non_ip++;
        }
    }
    if (rc == PCAP_ERROR)   // e.g. "truncated dump file": the packets before it count
        bad_packet(&as, stats->packets + 1, pcap_geterr(pc));
    bw_status status = flush_all(&as);
    pcap_close(pc);
    free(as.entries);
    free(as.buckets);
    if (status != BW_OK)
        return bw_error(errbuf, status, "%s: out of memory", source);
    return BW_OK;
}

bw_status bw_pcap_flows_read_path(const char *path, const bw_pcap_flow_limits *limits,
                                  bw_flow_cb cb, void *ctx, bw_pcap_flow_stats *stats, char *errbuf)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return bw_error(errbuf, BW_ERR_IO, "%s: %s", path, strerror(errno));
    return bw_pcap_flows_read(f, path, limits, cb, ctx, stats, errbuf);
}
