// SPDX-License-Identifier: MIT
// Zeek JSON lines (LogAscii::use_json=T or the JSON streaming plugins): one object per
// line with the same field names as the TSV header ("id.orig_h", ...) or, from some
// exporters, a nested "id" object. A small single-pass scanner picks out the fields we
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
    bool have_ts, have_orig, have_resp;
    const char *bad;
} json_flow;

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
        if (!bw_parse_seconds(v, n, &f->duration)) jf->bad = "bad duration";
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
            col = bw_zeek_column(full, plen + key_len);
        }
        char c = *s->p;
        if (c == '{' && plen == 0 && key_len == 2 && memcmp(key, "id", 2) == 0 && depth > 0) {
            s->p++;
            if (!members(s, jf, "id.", depth - 1))
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
    if (jf.bad) {
        bw_flows_bad_line(r, jf.bad);
        return;
    }
    if (!jf.have_ts || !jf.have_orig || !jf.have_resp) {
        bw_flows_bad_line(r, "json: missing ts, id.orig_h or id.resp_h");
        return;
    }
    bw_flows_emit(r, &jf.flow);
}
