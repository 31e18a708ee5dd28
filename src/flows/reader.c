// SPDX-License-Identifier: MIT
// The push reader: line framing within a bounded buffer, format detection from the first
// bytes, malformed-line accounting, and dispatch to the per-format line parsers. Lines are
// parsed in place in the caller's chunk whenever they are whole there; only a line split
// across two feeds is copied (into `pending`, at most max_line_len bytes).
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reader_internal.h"

// 64 KiB: see flowread.h. 512 columns and JSON depth 32 are far beyond any real log.
#define DEFAULT_MAX_LINE_LEN (64u * 1024u)
#define DEFAULT_MAX_FIELDS 512u
#define DEFAULT_MAX_JSON_DEPTH 32u
#define DEFAULT_MAX_BINARY_BLOCK (16u * 1024u * 1024u)

void bw_flow_reader_limits_default(bw_flow_reader_limits *limits)
{
    limits->max_line_len = DEFAULT_MAX_LINE_LEN;
    limits->max_fields = DEFAULT_MAX_FIELDS;
    limits->max_json_depth = DEFAULT_MAX_JSON_DEPTH;
    limits->max_binary_block = DEFAULT_MAX_BINARY_BLOCK;
}

const char *bw_flow_format_name(bw_flow_format format)
{
    switch (format) {
    case BW_FLOW_FORMAT_ZEEK_TSV: return "zeek-tsv";
    case BW_FLOW_FORMAT_ZEEK_JSON: return "zeek-json";
    case BW_FLOW_FORMAT_ARGUS: return "argus";
    case BW_FLOW_FORMAT_NFDUMP: return "nfdump-csv";
    case BW_FLOW_FORMAT_PCAP: return "pcap";
    case BW_FLOW_FORMAT_NFDUMP_BINARY: return "nfdump";
    case BW_FLOW_FORMAT_UNKNOWN: break;
    }
    return "unknown";
}

bw_flow_reader *bw_flow_reader_new(const bw_flow_reader_limits *limits, bw_flow_cb cb, void *ctx)
{
    bw_flow_reader_limits lim;
    if (limits)
        lim = *limits;
    else
        bw_flow_reader_limits_default(&lim);
    if (lim.max_line_len == 0 || lim.max_fields == 0 || lim.max_json_depth == 0 || !cb
        || lim.max_binary_block == 0 || lim.max_binary_block > ((size_t)1 << 30)
        || lim.max_line_len > ((size_t)1 << 30) || lim.max_fields > 65536)
        return NULL;
    bw_flow_reader *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->limits = lim;
    r->cb = cb;
    r->cb_ctx = ctx;
    r->pending = malloc(lim.max_line_len);
    r->source = strdup("-");
    r->field_p = calloc(lim.max_fields, sizeof *r->field_p);
    r->field_n = calloc(lim.max_fields, sizeof *r->field_n);
    if (!r->pending || !r->source || !r->field_p || !r->field_n) {
        bw_flow_reader_free(r);
        return NULL;
    }
    return r;
}

void bw_flow_reader_free(bw_flow_reader *r)
{
    if (!r)
        return;
    free(r->pending);
    free(r->source);
    free(r->field_p);
    free(r->field_n);
    bw_zeek_tsv_free(&r->tsv);
    bw_csv_free(&r->csv);
    bw_nfdump_bin_free(&r->nfbin);
    free(r);
}

void bw_flow_reader_set_source(bw_flow_reader *r, const char *source)
{
    char *copy = strdup(source ? source : "-");
    if (copy) {
        free(r->source);
        r->source = copy;
    }
}

void bw_flow_reader_set_error_cb(bw_flow_reader *r, bw_flow_error_cb cb, void *ctx)
{
    r->err_cb = cb;
    r->err_ctx = ctx;
}

static void set_format(bw_flow_reader *r, bw_flow_format format)
{
    r->format = format;
    r->stats.format = format;
}

void bw_flow_reader_set_format(bw_flow_reader *r, bw_flow_format format)
{
    if (r->stats.bytes == 0 && format != BW_FLOW_FORMAT_PCAP) {
        set_format(r, format);
        r->format_forced = format != BW_FLOW_FORMAT_UNKNOWN;
    }
}

const bw_flow_reader_stats *bw_flow_reader_stats_get(const bw_flow_reader *r) { return &r->stats; }

bw_flow_format bw_flow_reader_format(const bw_flow_reader *r) { return r->format; }
bool bw_flow_reader_stopped(const bw_flow_reader *r) { return r->stopped; }

void bw_flows_bad_line(bw_flow_reader *r, const char *reason)
{
    r->stats.malformed++;
    if (r->stats.first_bad_line == 0) {
        r->stats.first_bad_line = r->stats.lines;
        snprintf(r->stats.first_bad_reason, sizeof r->stats.first_bad_reason, "%s", reason);
    }
    if (r->err_cb)
        r->err_cb(r->source, r->stats.lines, reason, r->err_ctx);
}

bool bw_flows_emit(bw_flow_reader *r, bw_flow *flow)
{
    flow->line = r->stats.lines;
    r->stats.flows++;
    if (!r->cb(flow, r->cb_ctx)) {
        r->stopped = true;
        return false;
    }
    return true;
}

static bool has_prefix(const char *p, size_t n, const char *prefix)
{
    size_t len = strlen(prefix);
    return n >= len && memcmp(p, prefix, len) == 0;
}

static bool contains(const char *p, size_t n, const char *needle)
{
    return memmem(p, n, needle, strlen(needle)) != NULL;
}

bw_flow_format bw_flow_detect(const void *bytes, size_t n)
{
    const unsigned char *u = bytes;
    if (n >= 4) {
        uint32_t be = (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
        if (be == 0xa1b2c3d4 || be == 0xd4c3b2a1 || be == 0xa1b23c4d || be == 0x4d3cb2a1
            || be == 0x0a0d0d0a)
            return BW_FLOW_FORMAT_PCAP;
        if (u[0] == 0x0c && u[1] == 0xa5)   // nfdump magic 0xA50C, little-endian
            return BW_FLOW_FORMAT_NFDUMP_BINARY;
    }
    size_t i = 0;
    if (n >= 3 && u[0] == 0xef && u[1] == 0xbb && u[2] == 0xbf)
        i = 3;   // UTF-8 byte order mark
    while (i < n && (u[i] == ' ' || u[i] == '\t' || u[i] == '\r' || u[i] == '\n'))
        i++;
    const char *p = (const char *)u + i;
    const unsigned char *eol = memchr(p, '\n', n - i);
    size_t len = eol ? (size_t)((const char *)eol - p) : n - i;
    if (len == 0)
        return BW_FLOW_FORMAT_UNKNOWN;
    if (memchr(p, '\0', len))
        return BW_FLOW_FORMAT_UNKNOWN;
    if (p[0] == '#')
        return BW_FLOW_FORMAT_ZEEK_TSV;
    if (p[0] == '{')
        return BW_FLOW_FORMAT_ZEEK_JSON;
    if (has_prefix(p, len, "StartTime") || (contains(p, len, "SrcAddr") && contains(p, len, "DstAddr")))
        return BW_FLOW_FORMAT_ARGUS;
    if (has_prefix(p, len, "ts,te,") || (contains(p, len, "sa,da") && contains(p, len, "ts")))
        return BW_FLOW_FORMAT_NFDUMP;
    return BW_FLOW_FORMAT_UNKNOWN;
}

static void fail(bw_flow_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(bw_flow_reader *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->fail_text, sizeof r->fail_text, fmt, ap);
    va_end(ap);
    r->failed = true;
}

static bool blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return false;
    return true;
}

static void process_line(bw_flow_reader *r, const char *p, size_t n)
{
    r->stats.lines++;
    if (n && p[n - 1] == '\r')
        n--;
    if (r->format == BW_FLOW_FORMAT_UNKNOWN) {
        if (n >= 3 && (unsigned char)p[0] == 0xef && (unsigned char)p[1] == 0xbb && (unsigned char)p[2] == 0xbf) {
            p += 3;   // a UTF-8 byte order mark (Windows editors) before the first header
            n -= 3;
        }
        if (blank(p, n)) {
            r->stats.headers++;
            return;
        }
        set_format(r, bw_flow_detect(p, n));
        if (r->format == BW_FLOW_FORMAT_UNKNOWN || r->format == BW_FLOW_FORMAT_PCAP
            || r->format == BW_FLOW_FORMAT_NFDUMP_BINARY) {
            bool binary = r->format != BW_FLOW_FORMAT_UNKNOWN || memchr(p, '\0', n) != NULL;
            set_format(r, BW_FLOW_FORMAT_UNKNOWN);
            fail(r, "%s:%llu: %s (expected Zeek TSV/JSON, Argus or nfdump CSV)", r->source,
                 (unsigned long long)r->stats.lines,
                 binary ? "binary input, not a text flow log" : "unrecognised flow log format");
            return;
        }
    }
    if (n == 0)
        return;
    if (memchr(p, '\0', n)) {
        bw_flows_bad_line(r, "NUL byte in line");
        return;
    }
    switch (r->format) {
    case BW_FLOW_FORMAT_ZEEK_TSV: bw_zeek_tsv_line(r, p, n); break;
    case BW_FLOW_FORMAT_ZEEK_JSON: bw_zeek_json_line(r, p, n); break;
    case BW_FLOW_FORMAT_ARGUS: bw_argus_line(r, p, n); break;
    case BW_FLOW_FORMAT_NFDUMP: bw_nfdump_line(r, p, n); break;
    default: break;
    }
}

static void line_too_long(bw_flow_reader *r)
{
    r->stats.lines++;
    r->stats.too_long++;
    char reason[BW_FLOW_REASON_SIZE];
    snprintf(reason, sizeof reason, "line longer than max_line_len (%zu bytes)", r->limits.max_line_len);
    bw_flows_bad_line(r, reason);
}

static bw_status result(bw_flow_reader *r, char *errbuf)
{
    if (r->failed)
        return bw_error(errbuf, BW_ERR_UNSUPPORTED, "%s", r->fail_text);
    return BW_OK;
}

// Frames lines (or, for binary nfdump, passes bytes on) after the format is known.
static void consume(bw_flow_reader *r, const char *data, size_t n)
{
    if (r->format == BW_FLOW_FORMAT_NFDUMP_BINARY) {
        const char *reason = NULL;
        if (!bw_nfdump_bin_feed(r, (const uint8_t *)data, n, &reason))
            fail(r, "%s: %s", r->source, reason);
        return;
    }
    const size_t max = r->limits.max_line_len;
    while (n > 0 && !r->stopped && !r->failed) {
        const char *nl = memchr(data, '\n', n);
        size_t take = nl ? (size_t)(nl - data) : n;
        size_t consumed = nl ? take + 1 : n;
        if (r->skipping_long_line) {
            if (nl)
                r->skipping_long_line = false;
        } else if (r->pending_len > 0) {
            if (r->pending_len + take > max) {
                r->pending_len = 0;
                line_too_long(r);
                r->skipping_long_line = nl == NULL;
            } else {
                memcpy(r->pending + r->pending_len, data, take);
                r->pending_len += take;
                if (nl) {
                    size_t len = r->pending_len;
                    r->pending_len = 0;
                    process_line(r, r->pending, len);
                }
            }
        } else if (take > max) {
            line_too_long(r);
            r->skipping_long_line = nl == NULL;
        } else if (nl) {
            process_line(r, data, take);
        } else {
            memcpy(r->pending, data, take);
            r->pending_len = take;
        }
        data += consumed;
        n -= consumed;
    }
}

// The binary formats are told apart by their first 4 bytes, which may arrive in pieces.
static void detect_head(bw_flow_reader *r)
{
    r->head_done = true;
    bw_flow_format f = bw_flow_detect(r->head, r->head_len);
    if (f == BW_FLOW_FORMAT_PCAP)
        fail(r, "%s: pcap/pcapng input: read it with bw_flow_read_file or pcapflow.h", r->source);
    else if (f == BW_FLOW_FORMAT_NFDUMP_BINARY)
        set_format(r, f);
}

bw_status bw_flow_reader_feed(bw_flow_reader *r, const void *bytes, size_t n, char *errbuf)
{
    if (r->failed)
        return result(r, errbuf);
    if (r->stopped || r->finished)
        return BW_OK;
    const char *data = bytes;
    r->stats.bytes += n;
    if (!r->head_done && !r->format_forced) {
        size_t take = sizeof r->head - r->head_len < n ? sizeof r->head - r->head_len : n;
        memcpy(r->head + r->head_len, data, take);
        r->head_len += take;
        data += take;
        n -= take;
        if (r->head_len < sizeof r->head)
            return BW_OK;
        detect_head(r);
        if (!r->failed)
            consume(r, r->head, r->head_len);
    }
    if (!r->failed)
        consume(r, data, n);
    return result(r, errbuf);
}

bw_status bw_flow_reader_finish(bw_flow_reader *r, char *errbuf)
{
    if (r->failed)
        return result(r, errbuf);
    if (r->finished)
        return BW_OK;
    if (!r->head_done && !r->format_forced && r->head_len > 0) {
        detect_head(r);
        if (!r->failed)
            consume(r, r->head, r->head_len);
        if (r->failed)
            return result(r, errbuf);
    }
    r->finished = true;
    if (r->format == BW_FLOW_FORMAT_NFDUMP_BINARY) {
        if (!r->stopped)
            bw_nfdump_bin_finish(r);
        return result(r, errbuf);
    }
    if (!r->stopped && r->pending_len > 0) {
        size_t len = r->pending_len;
        r->pending_len = 0;
        process_line(r, r->pending, len);
    }
    r->skipping_long_line = false;
    return result(r, errbuf);
}
