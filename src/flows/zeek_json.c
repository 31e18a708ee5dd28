// SPDX-License-Identifier: MIT
// JSON-lines flow logs: Zeek (LogAscii::use_json=T or the JSON streaming plugins), one
// object per line with the TSV field names ("id.orig_h", ...) or a nested "id" object;
// and Suricata EVE, whose "flow" events carry src_ip/dest_ip, a "flow" object with
// start/end and per-direction counters, and a "tcp" object with per-direction flags
// (other event types are skipped). A small single-pass scanner picks out the fields we
// use and skips the rest (nested values bounded by max_json_depth) without allocating;
// string values are borrowed raw from the line (JSON escapes left as written).
#include <string.h>

#include "reader_internal.h"

typedef struct scan {
    const char *p, *end;
} scan;

static void skip_ws(scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\r'))
        s->p++;
}

// At an opening quote: returns the raw contents and moves past the closing quote.
static bool read_string(scan *s, const char **out, size_t *len)
{
    if (s->p >= s->end || *s->p != '"')
        return false;
    const char *start = ++s->p;
    for (;;) {
        const char *q = s->p;
        while (q < s->end && *q != '"' && *q != '\\')
            q++;
        if (q >= s->end)
            return false;
        if (*q == '"') {
            *out = start;
            *len = (size_t)(q - start);
            s->p = q + 1;
            return true;
        }
        if (q + 1 >= s->end)
            return false;
        s->p = q + 2;   // skip the escaped character
    }
}

// Skips any value (string, number, literal, object, array) up to the given depth.
static bool skip_value(scan *s, unsigned depth)
{
    skip_ws(s);
    if (s->p >= s->end)
        return false;
    char c = *s->p;
    if (c == '"') {
        const char *v;
        size_t n;
        return read_string(s, &v, &n);
    }
    if (c == '{' || c == '[') {
        if (depth == 0)
            return false;
        char close = c == '{' ? '}' : ']';
        s->p++;
        skip_ws(s);
        if (s->p < s->end && *s->p == close) {
            s->p++;
            return true;
        }
        for (;;) {
            if (c == '{') {
                const char *k;
                size_t kn;
                skip_ws(s);
                if (!read_string(s, &k, &kn))
                    return false;
                skip_ws(s);
                if (s->p >= s->end || *s->p != ':')
                    return false;
                s->p++;
            }
            if (!skip_value(s, depth - 1))
                return false;
            skip_ws(s);
            if (s->p >= s->end)
                return false;
            if (*s->p == ',') {
                s->p++;
                continue;
            }
            if (*s->p == close) {
                s->p++;
                return true;
            }
            return false;
        }
    }
    const char *start = s->p;
    while (s->p < s->end && (strchr("+-.0123456789eE", *s->p) != NULL || (*s->p >= 'a' && *s->p <= 'z')))
        s->p++;
    return s->p > start;
}

typedef struct json_flow {
    bw_flow flow;
    bool have_ts, have_orig, have_resp, have_state, have_duration, have_end, have_flags;
    double end_ts;
    uint8_t flags_ts, flags_tc;   // Suricata: TCP flags to server / to client
    bw_slice event_type;
    const char *bad;
} json_flow;

// Suricata EVE names (nested names joined with '.'); Zeek names go through bw_zeek_column.
static uint8_t json_column(const char *p, size_t n)
{
    uint8_t col = bw_zeek_column(p, n);
    if (col != BW_COL_IGNORE)
        return col;
    static const struct { const char *name; bw_column col; } names[] = {
        { "src_ip", BW_COL_ORIG_H }, { "dest_ip", BW_COL_RESP_H }, { "src_port", BW_COL_ORIG_P },
        { "dest_port", BW_COL_RESP_P }, { "app_proto", BW_COL_SERVICE }, { "flow.start", BW_COL_TS },
        { "flow.end", BW_COL_END_TS }, { "flow.pkts_toserver", BW_COL_ORIG_PKTS },
        { "flow.pkts_toclient", BW_COL_RESP_PKTS }, { "flow.bytes_toserver", BW_COL_ORIG_BYTES },
        { "flow.bytes_toclient", BW_COL_RESP_BYTES }, { "event_type", BW_COL_EVENT_TYPE },
        { "tcp.tcp_flags_ts", BW_COL_TCP_FLAGS_TS }, { "tcp.tcp_flags_tc", BW_COL_TCP_FLAGS_TC },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i].name) == n && memcmp(names[i].name, p, n) == 0)
            return (uint8_t)names[i].col;
    return BW_COL_IGNORE;
}

// Suricata writes TCP flags as a hex byte ("1b").
static bool parse_hex_byte(const char *p, size_t n, uint8_t *out)
{
    if (n == 0 || n > 2)
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return false;
    }
    *out = (uint8_t)v;
    return true;
}

static void set_field(json_flow *jf, uint8_t col, const char *v, size_t n, bool is_string)
{
    bw_flow *f = &jf->flow;
    switch (col) {
    case BW_COL_TS:
        jf->have_ts = true;
        if (!(is_string ? bw_parse_datetime(v, n, &f->ts) : bw_parse_seconds(v, n, &f->ts)))
            jf->bad = "bad ts";
        break;
    case BW_COL_ORIG_H:
        jf->have_orig = true;
        if (!bw_parse_ip(v, n, &f->src)) jf->bad = "bad id.orig_h";
        break;
    case BW_COL_RESP_H:
        jf->have_resp = true;
        if (!bw_parse_ip(v, n, &f->dst)) jf->bad = "bad id.resp_h";
        break;
    case BW_COL_ORIG_P:
        if (!bw_parse_u16(v, n, &f->sport)) jf->bad = "bad id.orig_p";
        break;
    case BW_COL_RESP_P:
        if (!bw_parse_u16(v, n, &f->dport)) jf->bad = "bad id.resp_p";
        break;
    case BW_COL_PROTO:
        if (!bw_parse_proto(v, n, &f->proto)) jf->bad = "bad proto";
        break;
    case BW_COL_SERVICE: f->service = bw_slice_make(v, n); break;
    case BW_COL_DURATION:
        jf->have_duration = true;
        if (!bw_parse_seconds(v, n, &f->duration)) jf->bad = "bad duration";
        break;
    case BW_COL_END_TS:
        jf->have_end = true;
        if (!bw_parse_datetime(v, n, &jf->end_ts)) jf->bad = "bad flow.end";
        break;
    case BW_COL_EVENT_TYPE: jf->event_type = bw_slice_make(v, n); break;
    case BW_COL_TCP_FLAGS_TS:
        jf->have_flags = true;
        if (!parse_hex_byte(v, n, &jf->flags_ts)) jf->bad = "bad tcp_flags_ts";
        break;
    case BW_COL_TCP_FLAGS_TC:
        jf->have_flags = true;
        if (!parse_hex_byte(v, n, &jf->flags_tc)) jf->bad = "bad tcp_flags_tc";
        break;
    case BW_COL_ORIG_BYTES:
        if (!bw_parse_u64(v, n, &f->orig_bytes)) jf->bad = "bad orig_bytes";
        break;
    case BW_COL_RESP_BYTES:
        if (!bw_parse_u64(v, n, &f->resp_bytes)) jf->bad = "bad resp_bytes";
        break;
    case BW_COL_ORIG_PKTS:
        if (!bw_parse_u64(v, n, &f->orig_pkts)) jf->bad = "bad orig_pkts";
        break;
    case BW_COL_RESP_PKTS:
        if (!bw_parse_u64(v, n, &f->resp_pkts)) jf->bad = "bad resp_pkts";
        break;
    case BW_COL_STATE:
        jf->have_state = true;
        f->state = bw_parse_conn_state(v, n);
        if (f->state == BW_CONN_UNKNOWN) jf->bad = "bad conn_state";
        break;
    case BW_COL_LABEL: f->label = bw_slice_make(v, n); break;
    case BW_COL_DETAILED_LABEL: f->detailed_label = bw_slice_make(v, n); break;
    default: break;
    }
}

// Parses the members of an object whose '{' was consumed; names get `prefix` ("id.")
// prepended before the lookup.
static bool members(scan *s, json_flow *jf, const char *prefix, unsigned depth)
{
    skip_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return true;
    }
    for (;;) {
        const char *key;
        size_t key_len;
        skip_ws(s);
        if (!read_string(s, &key, &key_len))
            return false;
        skip_ws(s);
        if (s->p >= s->end || *s->p != ':')
            return false;
        s->p++;
        skip_ws(s);
        if (s->p >= s->end)
            return false;
        uint8_t col = BW_COL_IGNORE;
        char full[32];
        size_t plen = strlen(prefix);
        if (plen + key_len < sizeof full) {
            memcpy(full, prefix, plen);
            memcpy(full + plen, key, key_len);
            col = json_column(full, plen + key_len);
        }
        char c = *s->p;
        // Objects whose members we use: Zeek's "id", Suricata's "flow" and "tcp".
        const char *nested = NULL;
        if (c == '{' && plen == 0 && depth > 0) {
            if (key_len == 2 && memcmp(key, "id", 2) == 0)
                nested = "id.";
            else if (key_len == 4 && memcmp(key, "flow", 4) == 0)
                nested = "flow.";
            else if (key_len == 3 && memcmp(key, "tcp", 3) == 0)
                nested = "tcp.";
        }
        if (nested) {
            s->p++;
            if (!members(s, jf, nested, depth - 1))
                return false;
        } else if (col != BW_COL_IGNORE && c == '"') {
            const char *v;
            size_t n;
            if (!read_string(s, &v, &n))
                return false;
            set_field(jf, col, v, n, true);
        } else if (col != BW_COL_IGNORE && c != '{' && c != '[' && c != 'n') {
            const char *start = s->p;
            if (!skip_value(s, 0))
                return false;
            set_field(jf, col, start, (size_t)(s->p - start), false);
        } else if (!skip_value(s, depth)) {
            return false;
        }
        skip_ws(s);
        if (s->p >= s->end)
            return false;
        if (*s->p == ',') {
            s->p++;
            continue;
        }
        if (*s->p == '}') {
            s->p++;
            return true;
        }
        return false;
    }
}

void bw_zeek_json_line(bw_flow_reader *r, const char *p, size_t n)
{
    scan s = { p, p + n };
    skip_ws(&s);
    if (s.p >= s.end) {
        r->stats.headers++;
        return;
    }
    if (*s.p != '{') {
        bw_flows_bad_line(r, "json: line is not an object");
        return;
    }
    s.p++;
    json_flow jf;
    memset(&jf, 0, sizeof jf);
    if (!members(&s, &jf, "", r->limits.max_json_depth)) {
        bw_flows_bad_line(r, "json: syntax error or nesting deeper than max_json_depth");
        return;
    }
    skip_ws(&s);
    if (s.p != s.end) {
        bw_flows_bad_line(r, "json: text after the object");
        return;
    }
    if (jf.event_type.p && !(jf.event_type.n == 4 && memcmp(jf.event_type.p, "flow", 4) == 0)) {
        r->stats.skipped++;   // Suricata alert, dns, http, ... events: not flows
        return;
    }
    if (jf.bad) {
        bw_flows_bad_line(r, jf.bad);
        return;
    }
    if (!jf.have_ts || !jf.have_orig || !jf.have_resp) {
        bw_flows_bad_line(r, "json: missing ts, id.orig_h or id.resp_h");
        return;
    }
    bw_flow *f = &jf.flow;
    if (jf.have_end && !jf.have_duration && jf.end_ts > f->ts)
        f->duration = jf.end_ts - f->ts;
    if (!jf.have_state) {
        // Suricata gives no conn_state: derive it as for the other formats.
        if (f->proto == 6 && jf.have_flags)
            f->state = bw_tcp_state_from_bits(jf.flags_ts, jf.flags_tc);
        else if (f->proto != 6)
            f->state = f->resp_pkts > 0 ? BW_CONN_SF : BW_CONN_S0;
    }
    bw_flows_emit(r, f);
}
