// SPDX-License-Identifier: MIT
// Zeek TSV logs (conn.log and Stratosphere's labelled conn.logs). The header lines
// (#separator, #set_separator, #empty_field, #unset_field, #path, #fields) set how data
// lines are split and which column feeds which bw_flow member, so any column order and
// any extra columns work. A new #separator or #fields line starts a new header, which is
// how concatenated rotated logs (zcat conn.*.log.gz) arrive.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reader_internal.h"

void bw_zeek_tsv_free(bw_zeek_tsv_state *s)
{
    free(s->cols);
    s->cols = NULL;
    s->ncols = 0;
}

static void reset_header(bw_zeek_tsv_state *s)
{
    s->separator = '\t';
    s->set_separator = ',';
    memcpy(s->unset_field, "-", 2);
    s->unset_len = 1;
    memcpy(s->empty_field, "(empty)", 8);
    s->empty_len = 7;
    s->have_fields = false;
    s->is_conn = true;
    s->warned_no_fields = false;
}

static bool name_is(const char *p, size_t n, const char *name)
{
    return strlen(name) == n && memcmp(p, name, n) == 0;
}

// Which member a column named p/n feeds.
uint8_t bw_zeek_column(const char *p, size_t n)
{
    static const struct { const char *name; bw_column col; } names[] = {
        { "ts", BW_COL_TS }, { "id.orig_h", BW_COL_ORIG_H }, { "id.orig_p", BW_COL_ORIG_P },
        { "id.resp_h", BW_COL_RESP_H }, { "id.resp_p", BW_COL_RESP_P }, { "proto", BW_COL_PROTO },
        { "service", BW_COL_SERVICE }, { "duration", BW_COL_DURATION },
        { "orig_bytes", BW_COL_ORIG_BYTES }, { "resp_bytes", BW_COL_RESP_BYTES },
        { "conn_state", BW_COL_STATE }, { "orig_pkts", BW_COL_ORIG_PKTS },
        { "resp_pkts", BW_COL_RESP_PKTS }, { "label", BW_COL_LABEL }, { "Label", BW_COL_LABEL },
        { "detailed-label", BW_COL_DETAILED_LABEL }, { "detailedlabel", BW_COL_DETAILED_LABEL },
        { "detailed_label", BW_COL_DETAILED_LABEL },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (name_is(p, n, names[i].name))
            return (uint8_t)names[i].col;
    if (memchr(p, ' ', n) && memmem(p, n, "label", 5))
        return BW_COL_TUNNEL_LABEL_COMBO;
    return BW_COL_IGNORE;
}

// Decodes a header value such as "\x09" into one byte; false if it is not one byte.
static bool header_byte(const char *p, size_t n, char *out)
{
    if (n == 1) {
        *out = p[0];
        return true;
    }
    if (n == 4 && p[0] == '\\' && p[1] == 'x') {
        unsigned v = 0;
        for (int i = 2; i < 4; i++) {
            char c = p[i];
            v <<= 4;
            if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
            else return false;
        }
        *out = (char)v;
        return v != 0 && v != '\n';
    }
    return false;
}

static void header_line(bw_flow_reader *r, const char *p, size_t n)
{
    bw_zeek_tsv_state *s = &r->tsv;
    r->stats.headers++;
    if (n >= 11 && memcmp(p, "#separator ", 11) == 0) {
        reset_header(s);
        char sep;
        if (!header_byte(p + 11, n - 11, &sep)) {
            bw_flows_bad_line(r, "bad #separator value");
            return;
        }
        s->separator = sep;
        return;
    }
    // Other header lines are "#name<sep>value<sep>value...".
    const char *sep = memchr(p, s->separator, n);
    size_t name_len = sep ? (size_t)(sep - p) : n;
    const char *value = sep ? sep + 1 : p + n;
    size_t value_len = n - (size_t)(value - p);
    if (name_is(p, name_len, "#set_separator")) {
        if (!header_byte(value, value_len, &s->set_separator))
            bw_flows_bad_line(r, "bad #set_separator value");
    } else if (name_is(p, name_len, "#unset_field") || name_is(p, name_len, "#empty_field")) {
        bool unset = p[1] == 'u';
        char *dst = unset ? s->unset_field : s->empty_field;
        if (value_len == 0 || value_len >= sizeof s->unset_field) {
            bw_flows_bad_line(r, "bad #unset_field/#empty_field value");
            return;
        }
        memcpy(dst, value, value_len);
        dst[value_len] = '\0';
        *(unset ? &s->unset_len : &s->empty_len) = value_len;
    } else if (name_is(p, name_len, "#path")) {
        s->is_conn = value_len >= 4 && memcmp(value, "conn", 4) == 0;
    } else if (name_is(p, name_len, "#fields")) {
        size_t count = 0;
        for (const char *q = value; q <= p + n && value_len > 0;) {
            const char *e = memchr(q, s->separator, (size_t)(p + n - q));
            count++;
            if (!e)
                break;
            q = e + 1;
        }
        if (count == 0 || count > r->limits.max_fields) {
            bw_flows_bad_line(r, count ? "#fields has more columns than max_fields" : "empty #fields");
            s->have_fields = false;
            return;
        }
        uint8_t *cols = realloc(s->cols, count);
        if (!cols) {
            bw_flows_bad_line(r, "out of memory for #fields");
            s->have_fields = false;
            return;
        }
        s->cols = cols;
        s->ncols = count;
        bool has_ts = false, has_orig = false, has_resp = false;
        const char *q = value;
        for (size_t i = 0; i < count; i++) {
            const char *e = memchr(q, s->separator, (size_t)(p + n - q));
            size_t len = e ? (size_t)(e - q) : (size_t)(p + n - q);
            cols[i] = bw_zeek_column(q, len);
            has_ts |= cols[i] == BW_COL_TS;
            has_orig |= cols[i] == BW_COL_ORIG_H;
            has_resp |= cols[i] == BW_COL_RESP_H;
            q = e ? e + 1 : p + n;
        }
        s->have_fields = true;
        if (!has_ts || !has_orig || !has_resp) {
            // Not a connection log (no ts/id.orig_h/id.resp_h): its lines are skipped.
            s->is_conn = false;
        }
    }
    // #types, #open, #close and unknown # lines carry nothing we need.
}

// "-" and "(empty)" in a label column mean no label.
static bw_slice label_or_empty(const bw_zeek_tsv_state *s, bw_slice x)
{
    bool unset = x.n == s->unset_len && memcmp(x.p, s->unset_field, x.n) == 0;
    bool empty = x.n == s->empty_len && memcmp(x.p, s->empty_field, x.n) == 0;
    return unset || empty ? BW_SLICE_NULL : x;
}

// Splits "(empty)   Malicious   C&C-HeartBeat" (runs of spaces) into label fields.
static void split_combo(const bw_zeek_tsv_state *s, const char *p, size_t n, bw_flow *flow)
{
    bw_slice parts[3] = { BW_SLICE_NULL, BW_SLICE_NULL, BW_SLICE_NULL };
    size_t count = 0, i = 0;
    while (i < n && count < 3) {
        while (i < n && p[i] == ' ')
            i++;
        size_t start = i;
        while (i < n && p[i] != ' ')
            i++;
        if (i > start)
            parts[count++] = bw_slice_make(p + start, i - start);
    }
    // Three parts: tunnel_parents, label, detailed-label; fewer: the label comes first.
    bw_slice label = count == 3 ? parts[1] : parts[0];
    bw_slice detail = count == 3 ? parts[2] : parts[1];
    flow->label = label_or_empty(s, label);
    flow->detailed_label = label_or_empty(s, detail);
}

void bw_zeek_tsv_line(bw_flow_reader *r, const char *p, size_t n)
{
    bw_zeek_tsv_state *s = &r->tsv;
    if (s->separator == 0)
        reset_header(s);
    if (p[0] == '#') {
        header_line(r, p, n);
        return;
    }
    if ((p[0] == ' ' || p[0] == '\t')) {
        // Some exporters indent the first header line; a data line never starts blank.
        size_t i = 0;
        while (i < n && (p[i] == ' ' || p[i] == '\t'))
            i++;
        if (i < n && p[i] == '#') {
            header_line(r, p + i, n - i);
            return;
        }
    }
    if (!s->have_fields) {
        bw_flows_bad_line(r, "data line before any #fields header");
        return;
    }
    if (!s->is_conn) {
        r->stats.skipped++;
        return;
    }
    bw_flow flow;
    memset(&flow, 0, sizeof flow);
    bool have_ts = false, have_orig = false, have_resp = false;
    const char *end = p + n;
    const char *q = p;
    const char sep = s->separator;
    const size_t ncols = s->ncols;
    const uint8_t *cols = s->cols;
    const char *bad = NULL;
    size_t col = 0;
    for (; col < ncols; col++) {
        const char *e = memchr(q, sep, (size_t)(end - q));
        if (!e) {
            if (col + 1 != ncols) {
                bad = "fewer columns than #fields";
                break;
            }
            e = end;
        } else if (col + 1 == ncols) {
            bad = "more columns than #fields";
            break;
        }
        size_t len = (size_t)(e - q);
        uint8_t c = cols[col];
        if (c != BW_COL_IGNORE) {
            bool unset = len == s->unset_len && memcmp(q, s->unset_field, len) == 0;
            if (unset && c != BW_COL_TUNNEL_LABEL_COMBO) {
                if (c == BW_COL_TS || c == BW_COL_ORIG_H || c == BW_COL_RESP_H) {
                    bad = c == BW_COL_TS ? "ts unset" : "address unset";
                    break;
                }
            } else {
                switch (c) {
                case BW_COL_TS:
                    if (!bw_parse_seconds(q, len, &flow.ts)) bad = "bad ts";
                    have_ts = true;
                    break;
                case BW_COL_ORIG_H:
                    if (!bw_parse_ip(q, len, &flow.src)) bad = "bad id.orig_h";
                    have_orig = true;
                    break;
                case BW_COL_RESP_H:
                    if (!bw_parse_ip(q, len, &flow.dst)) bad = "bad id.resp_h";
                    have_resp = true;
                    break;
                case BW_COL_ORIG_P:
                    if (!bw_parse_u16(q, len, &flow.sport)) bad = "bad id.orig_p";
                    break;
                case BW_COL_RESP_P:
                    if (!bw_parse_u16(q, len, &flow.dport)) bad = "bad id.resp_p";
                    break;
                case BW_COL_PROTO:
                    if (!bw_parse_proto(q, len, &flow.proto)) bad = "bad proto";
                    break;
                case BW_COL_SERVICE:
                    if (!(len == s->empty_len && memcmp(q, s->empty_field, len) == 0))
                        flow.service = bw_slice_make(q, len);
                    break;
                case BW_COL_DURATION:
                    if (!bw_parse_seconds(q, len, &flow.duration)) bad = "bad duration";
                    break;
                case BW_COL_ORIG_BYTES:
                    if (!bw_parse_u64(q, len, &flow.orig_bytes)) bad = "bad orig_bytes";
                    break;
                case BW_COL_RESP_BYTES:
                    if (!bw_parse_u64(q, len, &flow.resp_bytes)) bad = "bad resp_bytes";
                    break;
                case BW_COL_ORIG_PKTS:
                    if (!bw_parse_u64(q, len, &flow.orig_pkts)) bad = "bad orig_pkts";
                    break;
                case BW_COL_RESP_PKTS:
                    if (!bw_parse_u64(q, len, &flow.resp_pkts)) bad = "bad resp_pkts";
                    break;
                case BW_COL_STATE:
                    flow.state = bw_parse_conn_state(q, len);
                    if (flow.state == BW_CONN_UNKNOWN) bad = "bad conn_state";
                    break;
                case BW_COL_LABEL:
                    flow.label = label_or_empty(s, bw_slice_make(q, len));
                    break;
                case BW_COL_DETAILED_LABEL:
                    flow.detailed_label = label_or_empty(s, bw_slice_make(q, len));
                    break;
                case BW_COL_TUNNEL_LABEL_COMBO:
                    split_combo(s, q, len, &flow);
                    break;
                default:
                    break;
                }
                if (bad)
                    break;
            }
        }
        q = e + 1;
    }
    if (!bad && (!have_ts || !have_orig || !have_resp))
        bad = "missing ts or address";
    if (bad) {
        bw_flows_bad_line(r, bad);
        return;
    }
    bw_flows_emit(r, &flow);
}
