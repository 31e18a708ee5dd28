// SPDX-License-Identifier: MIT
// The two CSV flow formats: Argus ra/binetflow (CTU-13: StartTime,Dur,Proto,SrcAddr,...)
// and nfdump's `-o csv` (ts,te,td,sa,da,sp,dp,pr,flg,...). Both start with a header row
// naming the columns, so columns are mapped by name, in any order; a repeated header row
// (concatenated files) is recognised and re-read. Argus records for non-IP protocols
// (arp, llc, man) are well-formed but are not flows: they are counted as skipped.
#include <stdlib.h>
#include <string.h>

#include "reader_internal.h"

void bw_csv_free(bw_csv_state *s)
{
    free(s->cols);
    s->cols = NULL;
    s->ncols = 0;
}

typedef struct name_col {
    const char *name;
    bw_column col;
} name_col;

static const name_col argus_names[] = {
    { "StartTime", BW_COL_TS }, { "Dur", BW_COL_DURATION }, { "Proto", BW_COL_PROTO },
    { "SrcAddr", BW_COL_ORIG_H }, { "Sport", BW_COL_ORIG_P }, { "Dir", BW_COL_DIR },
    { "DstAddr", BW_COL_RESP_H }, { "Dport", BW_COL_RESP_P }, { "State", BW_COL_STATE },
    { "TotPkts", BW_COL_TOT_PKTS }, { "TotBytes", BW_COL_TOT_BYTES },
    { "SrcBytes", BW_COL_ORIG_BYTES }, { "SrcPkts", BW_COL_ORIG_PKTS },
    { "DstBytes", BW_COL_RESP_BYTES }, { "DstPkts", BW_COL_RESP_PKTS },
    { "Label", BW_COL_LABEL },
};

static const name_col nfdump_names[] = {
    { "ts", BW_COL_TS }, { "te", BW_COL_END_TS }, { "td", BW_COL_DURATION },
    { "sa", BW_COL_ORIG_H }, { "da", BW_COL_RESP_H }, { "sp", BW_COL_ORIG_P },
    { "dp", BW_COL_RESP_P }, { "pr", BW_COL_PROTO }, { "flg", BW_COL_TCP_FLAGS },
    { "ipkt", BW_COL_ORIG_PKTS }, { "ibyt", BW_COL_ORIG_BYTES },
    { "opkt", BW_COL_RESP_PKTS }, { "obyt", BW_COL_RESP_BYTES },
};

static uint8_t lookup(const name_col *names, size_t count, const char *p, size_t n)
{
    while (n > 0 && p[0] == ' ') {
        p++;
        n--;
    }
    while (n > 0 && p[n - 1] == ' ')
        n--;
    for (size_t i = 0; i < count; i++)
        if (strlen(names[i].name) == n && memcmp(names[i].name, p, n) == 0)
            return (uint8_t)names[i].col;
    return BW_COL_IGNORE;
}

static bool is_header(const bw_flow_reader *r, const char *p, size_t n)
{
    if (r->format == BW_FLOW_FORMAT_ARGUS)
        return n >= 9 && (memcmp(p, "StartTime", 9) == 0 || memmem(p, n, "SrcAddr", 7) != NULL);
    return n >= 5 && memcmp(p, "ts,te", 5) == 0;
}

// Splits p/n at the separator into r->field_p/field_n; returns the count, or 0 if there
// are more fields than max_fields.
static size_t split(bw_flow_reader *r, char sep, const char *p, size_t n)
{
    size_t count = 0;
    const char *end = p + n;
    for (;;) {
        if (count == r->limits.max_fields)
            return 0;
        const char *e = memchr(p, sep, (size_t)(end - p));
        r->field_p[count] = p;
        r->field_n[count] = e ? (size_t)(e - p) : (size_t)(end - p);
        count++;
        if (!e)
            return count;
        p = e + 1;
    }
}

static void read_header(bw_flow_reader *r, const char *p, size_t n)
{
    bw_csv_state *s = &r->csv;
    r->stats.headers++;
    s->separator = memchr(p, '\t', n) && !memchr(p, ',', n) ? '\t' : ',';
    size_t count = split(r, s->separator, p, n);
    if (count == 0) {
        bw_flows_bad_line(r, "header has more columns than max_fields");
        s->have_header = false;
        return;
    }
    uint8_t *cols = realloc(s->cols, count);
    if (!cols) {
        bw_flows_bad_line(r, "out of memory for the header");
        s->have_header = false;
        return;
    }
    s->cols = cols;
    s->ncols = count;
    bool argus = r->format == BW_FLOW_FORMAT_ARGUS;
    for (size_t i = 0; i < count; i++)
        cols[i] = argus ? lookup(argus_names, sizeof argus_names / sizeof argus_names[0], r->field_p[i], r->field_n[i])
                        : lookup(nfdump_names, sizeof nfdump_names / sizeof nfdump_names[0], r->field_p[i], r->field_n[i]);
    s->have_header = true;
    s->in_summary = false;
}

static void trim(const char **p, size_t *n)
{
    while (*n > 0 && (**p == ' ' || **p == '\t')) {
        (*p)++;
        (*n)--;
    }
    while (*n > 0 && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
        (*n)--;
}

// Argus prints ICMP type/code as hex ("0x0008"); nfdump prints ICMP as "type.code".
static bool parse_port(const char *p, size_t n, uint16_t *out)
{
    if (n == 0) {
        *out = 0;
        return true;
    }
    if (n > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        if (n > 6)
            return false;
        unsigned v = 0;
        for (size_t i = 2; i < n; i++) {
            char c = p[i];
            v <<= 4;
            if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
            else return false;
        }
        *out = (uint16_t)v;
        return true;
    }
    const char *dot = memchr(p, '.', n);
    if (dot) {
        uint16_t type, code;
        if (!bw_parse_u16(p, (size_t)(dot - p), &type) || !bw_parse_u16(dot + 1, n - (size_t)(dot - p) - 1, &code)
            || type > 255 || code > 255)
            return false;
        *out = (uint16_t)(type << 8 | code);
        return true;
    }
    return bw_parse_u16(p, n, out);
}

static bool parse_count(const char *p, size_t n, uint64_t *out)
{
    if (n == 0) {
        *out = 0;
        return true;
    }
    return bw_parse_u64(p, n, out);
}

static void data_line(bw_flow_reader *r, const char *p, size_t n)
{
    bw_csv_state *s = &r->csv;
    bool argus = r->format == BW_FLOW_FORMAT_ARGUS;
    size_t count = split(r, s->separator, p, n);
    if (count != s->ncols) {
        bw_flows_bad_line(r, count < s->ncols ? "fewer columns than the header" : "more columns than the header");
        return;
    }
    bw_flow flow;
    memset(&flow, 0, sizeof flow);
    bool have_ts = false, have_src = false, have_dst = false, have_proto = false, known_proto = true;
    bool have_orig_pkts = false, have_resp_bytes = false, have_resp_pkts = false;
    uint64_t tot_pkts = 0, tot_bytes = 0;
    const char *state = NULL, *addr_src = NULL, *addr_dst = NULL;
    size_t state_len = 0, src_len = 0, dst_len = 0;
    const char *bad = NULL;
    for (size_t i = 0; i < count && !bad; i++) {
        const char *v = r->field_p[i];
        size_t len = r->field_n[i];
        trim(&v, &len);
        switch (s->cols[i]) {
        case BW_COL_TS:
            have_ts = true;
            if (!bw_parse_datetime(v, len, &flow.ts)) bad = "bad start time";
            break;
        case BW_COL_DURATION:
            if (len && !bw_parse_seconds(v, len, &flow.duration)) bad = "bad duration";
            break;
        case BW_COL_PROTO:
            have_proto = true;
            known_proto = bw_parse_proto(v, len, &flow.proto);
            break;
        case BW_COL_ORIG_H: addr_src = v; src_len = len; have_src = true; break;
        case BW_COL_RESP_H: addr_dst = v; dst_len = len; have_dst = true; break;
        case BW_COL_ORIG_P:
            if (!parse_port(v, len, &flow.sport)) bad = "bad source port";
            break;
        case BW_COL_RESP_P:
            if (!parse_port(v, len, &flow.dport)) bad = "bad destination port";
            break;
        case BW_COL_STATE: case BW_COL_TCP_FLAGS: state = v; state_len = len; break;
        case BW_COL_TOT_PKTS:
            if (!parse_count(v, len, &tot_pkts)) bad = "bad TotPkts";
            break;
        case BW_COL_TOT_BYTES:
            if (!parse_count(v, len, &tot_bytes)) bad = "bad TotBytes";
            break;
        case BW_COL_ORIG_BYTES:
            if (!parse_count(v, len, &flow.orig_bytes)) bad = "bad source bytes";
            break;
        case BW_COL_ORIG_PKTS:
            have_orig_pkts = true;
            if (!parse_count(v, len, &flow.orig_pkts)) bad = "bad source packets";
            break;
        case BW_COL_RESP_BYTES:
            have_resp_bytes = true;
            if (!parse_count(v, len, &flow.resp_bytes)) bad = "bad destination bytes";
            break;
        case BW_COL_RESP_PKTS:
            have_resp_pkts = true;
            if (!parse_count(v, len, &flow.resp_pkts)) bad = "bad destination packets";
            break;
        case BW_COL_LABEL: flow.label = bw_slice_make(v, len); break;
        default: break;
        }
    }
    if (!bad && (!have_ts || !have_src || !have_dst))
        bad = "missing start time or address column";
    if (!bad && argus && have_proto && !known_proto) {
        r->stats.skipped++;   // arp, llc, man, ...: not an IP flow
        return;
    }
    if (!bad && !known_proto)
        bad = "bad protocol";
    if (!bad && !bw_parse_ip(addr_src, src_len, &flow.src))
        bad = "bad source address";
    if (!bad && !bw_parse_ip(addr_dst, dst_len, &flow.dst))
        bad = "bad destination address";
    if (bad) {
        bw_flows_bad_line(r, bad);
        return;
    }
    if (argus) {
        // Argus gives totals and the source side; the responder side is the difference.
        if (!have_resp_bytes)
            flow.resp_bytes = tot_bytes > flow.orig_bytes ? tot_bytes - flow.orig_bytes : 0;
        if (!have_orig_pkts) {
            // No SrcPkts (older CTU-13 files): all packets are the originator's if the
            // responder sent no bytes; otherwise split in proportion to bytes (an estimate).
            if (flow.resp_bytes == 0 || tot_bytes == 0)
                flow.orig_pkts = tot_pkts;
            else {
                flow.orig_pkts = (uint64_t)((double)tot_pkts * (double)flow.orig_bytes / (double)tot_bytes + 0.5);
                if (flow.orig_pkts == 0 && tot_pkts > 0)
                    flow.orig_pkts = 1;
                if (flow.orig_pkts == tot_pkts && tot_pkts > 1)
                    flow.orig_pkts--;
            }
        }
        if (!have_resp_pkts)
            flow.resp_pkts = tot_pkts > flow.orig_pkts ? tot_pkts - flow.orig_pkts : 0;
        flow.state = state ? bw_argus_state(state, state_len, flow.proto) : BW_CONN_UNKNOWN;
    } else {
        flow.state = bw_nfdump_state(state ? state : "", state_len, flow.proto, flow.resp_pkts);
    }
    bw_flows_emit(r, &flow);
}

static void csv_line(bw_flow_reader *r, const char *p, size_t n)
{
    bw_csv_state *s = &r->csv;
    if (is_header(r, p, n)) {
        read_header(r, p, n);
        return;
    }
    if (s->in_summary) {
        r->stats.skipped++;
        return;
    }
    if (r->format == BW_FLOW_FORMAT_NFDUMP
        && ((n == 7 && memcmp(p, "Summary", 7) == 0) || (n >= 7 && memcmp(p, "Summary", 7) == 0 && p[7] == ':'))) {
        s->in_summary = true;   // nfdump's trailer: totals, not flows
        r->stats.skipped++;
        return;
    }
    if (r->format == BW_FLOW_FORMAT_NFDUMP && n >= 10 && memcmp(p, "No matched", 10) == 0) {
        r->stats.skipped++;
        return;
    }
    if (!s->have_header) {
        bw_flows_bad_line(r, "data line before the header row");
        return;
    }
    data_line(r, p, n);
}

void bw_argus_line(bw_flow_reader *r, const char *p, size_t n) { csv_line(r, p, n); }
void bw_nfdump_line(bw_flow_reader *r, const char *p, size_t n) { csv_line(r, p, n); }
