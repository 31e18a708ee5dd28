// SPDX-License-Identifier: MIT
// Tests for the flow readers: every format on the real captures in $BW_SHARED_DATA/flows
// (exact counts, known labelled pairs), crafted malformed inputs with exact malformed
// counts, limits, and chunked feeding giving the same records as one-shot feeding.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include "botwatch/flowread.h"
#include "botwatch/hash.h"
#include "botwatch/pcapflow.h"
#include "../../src/flows/reader_internal.h"   // the field parsers, checked against libc
#include <arpa/inet.h>

// ---------------------------------------------------------------- helpers

typedef struct collect {
    uint64_t count;
    uint64_t digest;           // order-sensitive hash of every record's fields
    bw_hash_key key;
    // a pair to look for
    bw_ip want_src, want_dst;
    uint16_t want_dport;
    uint64_t pair_count;
    char pair_label[64];
    char pair_detail[64];
    bw_conn_state pair_state;
    uint64_t states[BW_CONN_OTH + 1];
    uint64_t stop_after;       // 0 = never stop
} collect;

static void collect_init(collect *c)
{
    memset(c, 0, sizeof *c);
    c->key.k0 = 1;
    c->key.k1 = 2;
}

static void want_pair(collect *c, const char *src, const char *dst, uint16_t dport)
{
    assert_true(bw_ip_parse(bw_slice_cstr(src), &c->want_src));
    assert_true(bw_ip_parse(bw_slice_cstr(dst), &c->want_dst));
    c->want_dport = dport;
}

static bool on_flow(const bw_flow *f, void *ctx)
{
    collect *c = ctx;
    c->count++;
    struct {
        double ts, dur;
        bw_ip src, dst;
        uint16_t sp, dp;
        uint32_t proto, state;
        uint64_t ob, rb, op, rp;
    } rec;
    memset(&rec, 0, sizeof rec);
    rec.ts = f->ts;
    rec.dur = f->duration;
    rec.src = f->src;
    rec.dst = f->dst;
    rec.sp = f->sport;
    rec.dp = f->dport;
    rec.proto = f->proto;
    rec.state = f->state;
    rec.ob = f->orig_bytes;
    rec.rb = f->resp_bytes;
    rec.op = f->orig_pkts;
    rec.rp = f->resp_pkts;
    uint64_t h = bw_siphash(&c->key, &rec, sizeof rec);
    h ^= bw_siphash(&c->key, f->label.p ? f->label.p : "", f->label.n) * 31;
    h ^= bw_siphash(&c->key, f->service.p ? f->service.p : "", f->service.n) * 7;
    c->digest = c->digest * 1000003u ^ h;
    if ((unsigned)f->state <= BW_CONN_OTH)
        c->states[f->state]++;
    if (c->want_dport && f->dport == c->want_dport && bw_ip_cmp(&f->src, &c->want_src) == 0
        && bw_ip_cmp(&f->dst, &c->want_dst) == 0) {
        c->pair_count++;
        snprintf(c->pair_label, sizeof c->pair_label, "%.*s", (int)f->label.n, f->label.p ? f->label.p : "");
        snprintf(c->pair_detail, sizeof c->pair_detail, "%.*s", (int)f->detailed_label.n,
                 f->detailed_label.p ? f->detailed_label.p : "");
        c->pair_state = f->state;
    }
    return !(c->stop_after && c->count >= c->stop_after);
}

static const char *shared_data(void)
{
    const char *d = getenv("BW_SHARED_DATA");
    return d && *d ? d : NULL;
}

// Builds $BW_SHARED_DATA/flows/<rel> into path; false (after saying why) if absent.
static bool data_path(const char *rel, char *path, size_t size)
{
    const char *d = shared_data();
    struct stat st;
    if (!d) {
        print_message("BW_SHARED_DATA not set: skipping\n");
        return false;
    }
    snprintf(path, size, "%s/flows/%s", d, rel);
    if (stat(path, &st) != 0) {
        print_message("%s absent: skipping\n", path);
        return false;
    }
    return true;
}

static bw_status feed_all(const char *text, size_t n, size_t chunk, const bw_flow_reader_limits *lim,
                          collect *c, bw_flow_reader_stats *stats)
{
    bw_flow_reader *r = bw_flow_reader_new(lim, on_flow, c);
    assert_non_null(r);
    bw_flow_reader_set_source(r, "test");
    bw_status st = BW_OK;
    for (size_t off = 0; off < n && st == BW_OK; off += chunk) {
        size_t len = n - off < chunk ? n - off : chunk;
        st = bw_flow_reader_feed(r, text + off, len, NULL);
    }
    if (st == BW_OK)
        st = bw_flow_reader_finish(r, NULL);
    *stats = *bw_flow_reader_stats_get(r);
    bw_flow_reader_free(r);
    return st;
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long size = ftell(f);
    assert_true(size >= 0);
    rewind(f);
    char *buf = malloc((size_t)size + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    *n = (size_t)size;
    return buf;
}

// ---------------------------------------------------------------- Zeek TSV

static const char tsv_header[] =
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\t"
    "orig_bytes\tresp_bytes\tconn_state\torig_pkts\tresp_pkts\tlabel\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\t"
    "count\tcount\tstring\n";

static void test_tsv_basic(void **state)
{
    (void)state;
    char text[4096];
    snprintf(text, sizeof text, "%s%s", tsv_header,
             "1677024003.714845\tC1\t192.168.1.107\t65164\t66.63.168.35\t5888\ttcp\t-\t0.037629\t0\t0\tREJ\t2\t2\tMalicious\n"
             "12.5\tC2\t2001:db8::1\t53\t2001:db8::2\t53\tudp\tdns\t-\t-\t-\tS0\t1\t0\t(empty)\n");
    collect c;
    collect_init(&c);
    want_pair(&c, "192.168.1.107", "66.63.168.35", 5888);
    bw_flow_reader_stats st;
    assert_int_equal(feed_all(text, strlen(text), 1 << 20, NULL, &c, &st), BW_OK);
    assert_int_equal(st.flows, 2);
    assert_int_equal(st.malformed, 0);
    assert_int_equal(st.lines, 9);
    assert_int_equal(st.headers, 7);
    assert_int_equal(c.pair_count, 1);
    assert_string_equal(c.pair_label, "Malicious");
    assert_int_equal(c.pair_state, BW_CONN_REJ);
    assert_int_equal(c.states[BW_CONN_S0], 1);
}

// One row of a table-driven malformed-input test.
typedef struct bad_case {
    const char *name;
    const char *body;        // appended after tsv_header (or alone when no_header)
    size_t body_len;         // bodies may hold NULs
    bool no_header;
    uint64_t flows, malformed, first_bad_line;
    const char *reason;
} bad_case;

static void test_tsv_malformed(void **state)
{
    (void)state;
#define B(lit) lit, sizeof(lit) - 1
    static const bad_case cases[] = {
        { "bad orig ip", B("1.0\tC\t1.2.3.256\t1\t5.6.7.8\t80\ttcp\t-\t1\t1\t1\tSF\t1\t1\t-\n"
                         "1.0\tC\t1.2.3.4\t1\t5.6.7.8\t80\ttcp\t-\t1\t1\t1\tSF\t1\t1\t-\n"),
          false, 1, 1, 8, "bad id.orig_h" },
        { "bad v6", B("1.0\tC\t1::2::3\t1\t5.6.7.8\t80\ttcp\t-\t1\t1\t1\tSF\t1\t1\t-\n"), false, 0, 1, 8, "bad id.orig_h" },
        { "too few columns", B("1.0\tC\t1.2.3.4\t1\t5.6.7.8\t80\ttcp\n"), false, 0, 1, 8, "fewer columns than #fields" },
        { "too many columns", B("1.0\tC\t1.2.3.4\t1\t5.6.7.8\t80\ttcp\t-\t1\t1\t1\tSF\t1\t1\t-\textra\n"), false, 0, 1, 8,
          "more columns than #fields" },
        { "NUL byte", B("1.0\tC\t1.2.3.4\t1\t5.6.7.8\t80\ttcp\t-\t1\t1\t1\tSF\t1\t1\t-\n"
                      "1.0\tC\t1.2.3.4\t1\t5.6.7.8\t8\0\ttcp\t-\t1\t1\t1\tSF\t1\t1\t-\n"), false, 1, 1, 9, "NUL byte in line" },
        { "missing #fields", B("1.0\tC\t1.2.3.4\t1\t5.6.7.8\t80\ttcp\t-\t1\t1\t1\tSF\t1\t1\t-\n"
                             "2.0\tC\t1.2.3.4\t1\t5.6.7.8\t80\ttcp\t-\t1\t1\t1\tSF\t1\t1\t-\n"),
          true, 0, 2, 2, "data line before any #fields header" },
        { "bad port", B("1.0\tC\t1.2.3.4\t65536\t5.6.7.8\t80\ttcp\t-\t1\t1\t1\tSF\t1\t1\t-\n"), false, 0, 1, 8, "bad id.orig_p" },
        { "bad ts", B("x1.0\tC\t1.2.3.4\t1\t5.6.7.8\t80\ttcp\t-\t1\t1\t1\tSF\t1\t1\t-\n"), false, 0, 1, 8, "bad ts" },
        { "unset ts", B("-\tC\t1.2.3.4\t1\t5.6.7.8\t80\ttcp\t-\t1\t1\t1\tSF\t1\t1\t-\n"), false, 0, 1, 8, "ts unset" },
        { "bad state", B("1.0\tC\t1.2.3.4\t1\t5.6.7.8\t80\ttcp\t-\t1\t1\t1\tXX\t1\t1\t-\n"), false, 0, 1, 8, "bad conn_state" },
        { "count overflow", B("1.0\tC\t1.2.3.4\t1\t5.6.7.8\t80\ttcp\t-\t1\t99999999999999999999\t1\tSF\t1\t1\t-\n"), false, 0, 1, 8,
          "bad orig_bytes" },
        { "leading zero octet", B("1.0\tC\t01.2.3.4\t1\t5.6.7.8\t80\ttcp\t-\t1\t1\t1\tSF\t1\t1\t-\n"), false, 0, 1, 8, "bad id.orig_h" },
        { "trailing dot", B("1.0\tC\t1.2.3.4.\t1\t5.6.7.8\t80\ttcp\t-\t1\t1\t1\tSF\t1\t1\t-\n"), false, 0, 1, 8, "bad id.orig_h" },
        { "u64 max then max+1", B("1.0\tC\t1.2.3.4\t1\t5.6.7.8\t80\ttcp\t-\t1\t18446744073709551615\t1\tSF\t1\t1\t-\n"
                                 "1.0\tC\t1.2.3.4\t1\t5.6.7.8\t80\ttcp\t-\t1\t18446744073709551616\t1\tSF\t1\t1\t-\n"),
          false, 1, 1, 9, "bad orig_bytes" },
        { "exponent ts (slow path) and junk", B("1.5e3\tC\t1.2.3.4\t1\t5.6.7.8\t80\ttcp\t-\t1\t1\t1\tSF\t1\t1\t-\n"
                                                "1.5.3\tC\t1.2.3.4\t1\t5.6.7.8\t80\ttcp\t-\t1\t1\t1\tSF\t1\t1\t-\n"),
          false, 1, 1, 9, "bad ts" },
        { "negative duration", B("1.0\tC\t1.2.3.4\t1\t5.6.7.8\t80\ttcp\t-\t-1\t1\t1\tSF\t1\t1\t-\n"), false, 0, 1, 8, "bad duration" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const bad_case *bc = &cases[i];
        char text[4096];
        size_t hlen = bc->no_header ? 0 : strlen(tsv_header);
        memcpy(text, tsv_header, hlen);
        size_t blen = bc->body_len;
        memcpy(text + hlen, bc->body, blen);
        if (bc->no_header) {
            // Without a header the first line is still Zeek TSV-shaped: force the format.
            collect c;
            collect_init(&c);
            bw_flow_reader *r = bw_flow_reader_new(NULL, on_flow, &c);
            bw_flow_reader_set_format(r, BW_FLOW_FORMAT_ZEEK_TSV);
            assert_int_equal(bw_flow_reader_feed(r, text, blen, NULL), BW_OK);
            assert_int_equal(bw_flow_reader_finish(r, NULL), BW_OK);
            const bw_flow_reader_stats *st = bw_flow_reader_stats_get(r);
            print_message("%s: flows %llu malformed %llu\n", bc->name, (unsigned long long)st->flows,
                          (unsigned long long)st->malformed);
            assert_int_equal(st->flows, bc->flows);
            assert_int_equal(st->malformed, bc->malformed);
            assert_int_equal(st->first_bad_line, 1);
            assert_string_equal(st->first_bad_reason, bc->reason);
            bw_flow_reader_free(r);
            continue;
        }
        collect c;
        collect_init(&c);
        bw_flow_reader_stats st;
        assert_int_equal(feed_all(text, hlen + blen, 7, NULL, &c, &st), BW_OK);
        print_message("%s: flows %llu malformed %llu first %llu %s\n", bc->name, (unsigned long long)st.flows,
                      (unsigned long long)st.malformed, (unsigned long long)st.first_bad_line, st.first_bad_reason);
        assert_int_equal(st.flows, bc->flows);
        assert_int_equal(st.malformed, bc->malformed);
        assert_int_equal(st.first_bad_line, bc->first_bad_line);
        assert_string_equal(st.first_bad_reason, bc->reason);
    }
}

static void test_tsv_long_line_limit(void **state)
{
    (void)state;
    const char *good = "1.0\tC\t1.2.3.4\t1\t5.6.7.8\t80\ttcp\t-\t1\t1\t1\tSF\t1\t1\t-\n";
    size_t glen = strlen(good);
    size_t huge = 200000;
    size_t total = strlen(tsv_header) + glen + huge + 1 + glen;
    char *text = malloc(total);
    assert_non_null(text);
    size_t off = 0;
    memcpy(text, tsv_header, strlen(tsv_header));
    off += strlen(tsv_header);
    memcpy(text + off, good, glen);
    off += glen;
    memset(text + off, 'A', huge);
    off += huge;
    text[off++] = '\n';
    memcpy(text + off, good, glen);
    off += glen;
    assert_int_equal(off, total);
    for (size_t chunk = 1000; chunk <= 1 << 20; chunk *= 1000) {
        collect c;
        collect_init(&c);
        bw_flow_reader_stats st;
        assert_int_equal(feed_all(text, total, chunk, NULL, &c, &st), BW_OK);
        assert_int_equal(st.flows, 2);
        assert_int_equal(st.malformed, 1);
        assert_int_equal(st.too_long, 1);
        assert_int_equal(st.first_bad_line, 9);
        assert_int_equal(st.lines, 10);
    }
    // A tighter configured limit rejects the ordinary lines too.
    bw_flow_reader_limits lim;
    bw_flow_reader_limits_default(&lim);
    lim.max_line_len = 40;
    collect c;
    collect_init(&c);
    bw_flow_reader_stats st;
    assert_int_equal(feed_all(text, total, 4096, &lim, &c, &st), BW_OK);
    assert_int_equal(st.flows, 0);
    assert_int_equal(st.too_long, 3 + 2);   // 3 data lines + #fields and #types headers
    // max_fields: a #fields header wider than the limit is refused, and so are the data
    // lines that would need it (their meaning is unknown).
    bw_flow_reader_limits_default(&lim);
    lim.max_fields = 10;
    collect_init(&c);
    assert_int_equal(feed_all(text, total, 4096, &lim, &c, &st), BW_OK);
    assert_int_equal(st.flows, 0);
    assert_int_equal(st.malformed, 1 + 2 + 1);   // #fields, the two data lines, the over-long line
    assert_int_equal(st.first_bad_line, 6);
    assert_string_equal(st.first_bad_reason, "#fields has more columns than max_fields");
    free(text);

}

static void test_tsv_rotated_and_reordered(void **state)
{
    (void)state;
    // Two logs back to back: the second with another column order, a pipe separator and a
    // non-conn log in between whose lines are skipped.
    const char text[] =
        "#separator \\x09\n#fields\tts\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\n"
        "1.5\t10.0.0.1\t1000\t10.0.0.2\t80\ttcp\n"
        "#close\t2020\n"
        "#separator \\x09\n#path\tdns\n#fields\tts\tquery\n2.0\texample.com\n"
        "#separator |\n#path|conn\n#fields|id.resp_p|id.resp_h|ts|id.orig_h|tunnel_parents   label   detailed-label\n"
        "443|10.0.0.9|3.25|10.0.0.8|(empty)   Malicious   C&C-HeartBeat\n";
    collect c;
    collect_init(&c);
    want_pair(&c, "10.0.0.8", "10.0.0.9", 443);
    bw_flow_reader_stats st;
    assert_int_equal(feed_all(text, sizeof text - 1, 3, NULL, &c, &st), BW_OK);
    assert_int_equal(st.flows, 2);
    assert_int_equal(st.malformed, 0);
    assert_int_equal(st.skipped, 1);
    assert_int_equal(c.pair_count, 1);
    assert_string_equal(c.pair_label, "Malicious");
    assert_string_equal(c.pair_detail, "C&C-HeartBeat");
}

static void test_stratosphere_001(void **state)
{
    (void)state;
    char path[1024];
    if (!data_path("stratosphere/001-zeek-scenario-malicious/labeled-conn.log", path, sizeof path)) {
        skip();
        return;
    }
    collect c;
    collect_init(&c);
    want_pair(&c, "192.168.1.115", "41.108.179.197", 1177);
    bw_flow_reader_stats st;
    char errbuf[BW_ERRBUF_SIZE];
    assert_int_equal(bw_flow_read_file(path, NULL, on_flow, &c, &st, errbuf), BW_OK);
    assert_int_equal(st.lines, 1000);
    assert_int_equal(st.headers, 8);
    assert_int_equal(st.flows, 992);
    assert_int_equal(st.malformed, 0);
    assert_int_equal(c.pair_count, 237);   // awk: the NjRAT pair's lines
    assert_string_equal(c.pair_label, "Malicious");
    assert_string_equal(c.pair_detail, "CC");
    assert_int_equal(c.pair_state, BW_CONN_S0);

    // Chunked feeding (odd chunk sizes) gives exactly the same records.
    size_t n;
    char *text = slurp(path, &n);
    static const size_t chunks[] = { 1, 2, 3, 7, 64, 1000, 4093, 1 << 20 };
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        collect c2;
        collect_init(&c2);
        bw_flow_reader_stats st2;
        assert_int_equal(feed_all(text, n, chunks[i], NULL, &c2, &st2), BW_OK);
        assert_int_equal(st2.flows, 992);
        assert_true(c2.digest == c.digest);
    }
    free(text);
}

static void test_slips_test18(void **state)
{
    (void)state;
    char path[1024];
    if (!data_path("slips/test18-malicious-ctu-sme-11-win/zeek-labeled/conn.log.labeled", path, sizeof path)) {
        skip();
        return;
    }
    collect c;
    collect_init(&c);
    want_pair(&c, "192.168.1.107", "66.63.168.35", 5888);
    bw_flow_reader_stats st;
    assert_int_equal(bw_flow_read_file(path, NULL, on_flow, &c, &st, NULL), BW_OK);
    assert_int_equal(st.flows, 766);
    assert_int_equal(st.malformed, 0);
    assert_int_equal(c.pair_count, 719);
    assert_string_equal(c.pair_label, "Malicious");
    assert_string_equal(c.pair_detail, "From_malicious-To_malicious-Malware_data_exfiltration-RemcosRAT");
}

// Every other Zeek TSV capture in the shared data: exact counts (data lines = flows, no
// malformed lines), and the states the capture is known for.
static void test_tsv_real_files(void **state)
{
    (void)state;
    static const struct { const char *rel; uint64_t lines, flows; bw_conn_state st; uint64_t st_count; } files[] = {
        { "slips/test10-mixed-zeek-dir/conn.log", 150, 141, BW_CONN_S0, 48 },   // indented first header line
        { "slips/port-scans/horizontal/conn.log", 49, 41, BW_CONN_S0, 11 },
        { "stratosphere/001-zeek-scenario-malicious/conn.log", 1000, 992, BW_CONN_S0, 257 },
        { "stratosphere/003-zeek-scenario-malicious/conn.log", 370, 361, BW_CONN_SF, 279 },
        { "stratosphere/005-zeek-scenario-malicious/conn.log", 1000, 992, BW_CONN_SF, 768 },
        { "stratosphere/008-zeek-mixed/data/conn.log.labeled", 5671, 5663, BW_CONN_S0, 4080 },
        { "stratosphere/010-zeek-mixed/data/conn.log.labeled", 5355, 5347, BW_CONN_S0, 3297 },
        { "stratosphere/011-zeek-mixed/data/conn.log.labeled", 9056, 9048, BW_CONN_S0, 3997 },
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[1024];
        if (!data_path(files[i].rel, path, sizeof path)) {
            skip();
            return;
        }
        collect c;
        collect_init(&c);
        bw_flow_reader_stats st;
        assert_int_equal(bw_flow_read_file(path, NULL, on_flow, &c, &st, NULL), BW_OK);
        assert_int_equal(st.format, BW_FLOW_FORMAT_ZEEK_TSV);
        assert_int_equal(st.lines, files[i].lines);
        assert_int_equal(st.flows, files[i].flows);
        assert_int_equal(st.malformed, 0);
        assert_int_equal(c.states[files[i].st], files[i].st_count);
    }
}

static void test_gzip_and_stop(void **state)
{
    (void)state;
    char path[1024];
    if (!data_path("stratosphere/001-zeek-scenario-malicious/labeled-conn.log", path, sizeof path)) {
        skip();
        return;
    }
    size_t n;
    char *text = slurp(path, &n);
    char gzpath[] = "/tmp/bw_flows_test_XXXXXX";
    int fd = mkstemp(gzpath);
    assert_true(fd >= 0);
    gzFile gz = gzdopen(fd, "wb");
    assert_non_null(gz);
    // Two gzip members back to back, as `cat a.gz b.gz` makes: both logs are read.
    assert_int_equal(gzwrite(gz, text, (unsigned)n), (int)n);
    assert_int_equal(gzclose(gz), Z_OK);
    FILE *f = fopen(gzpath, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long one = ftell(f);
    char *member = malloc((size_t)one);
    rewind(f);
    assert_int_equal(fread(member, 1, (size_t)one, f), (size_t)one);
    fclose(f);
    f = fopen(gzpath, "ab");
    assert_int_equal(fwrite(member, 1, (size_t)one, f), (size_t)one);
    fclose(f);
    free(member);
    collect c;
    collect_init(&c);
    bw_flow_reader_stats st;
    bw_flow_read_options opts = { NULL, NULL, NULL, 1000, NULL };
    assert_int_equal(bw_flow_read_file(gzpath, &opts, on_flow, &c, &st, NULL), BW_OK);
    assert_int_equal(st.flows, 2 * 992);
    assert_int_equal(st.malformed, 0);
    // A callback returning false stops the reader.
    collect_init(&c);
    c.stop_after = 10;
    assert_int_equal(bw_flow_read_file(gzpath, NULL, on_flow, &c, &st, NULL), BW_OK);
    assert_int_equal(c.count, 10);
    // "-" reads stdin (here the gzip file put on fd 0).
    int saved = dup(STDIN_FILENO);
    int in = open(gzpath, O_RDONLY);
    assert_true(saved >= 0 && in >= 0);
    assert_int_equal(dup2(in, STDIN_FILENO), STDIN_FILENO);
    close(in);
    collect_init(&c);
    assert_int_equal(bw_flow_read_file("-", NULL, on_flow, &c, &st, NULL), BW_OK);
    assert_int_equal(st.flows, 2 * 992);
    assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
    close(saved);
    // A gzip stream cut short: the flows before the cut arrive, then BW_ERR_IO says so.
    assert_int_equal(truncate(gzpath, one / 2), 0);
    collect_init(&c);
    char errbuf2[BW_ERRBUF_SIZE];
    assert_int_equal(bw_flow_read_file(gzpath, NULL, on_flow, &c, &st, errbuf2), BW_ERR_IO);
    assert_non_null(strstr(errbuf2, "ends early"));
    assert_true(st.flows > 100 && st.flows < 992);
    assert_int_equal(c.count, st.flows);
    unlink(gzpath);
    free(text);
    char errbuf[BW_ERRBUF_SIZE];
    assert_int_equal(bw_flow_read_file("/nonexistent/conn.log", NULL, on_flow, &c, &st, errbuf), BW_ERR_IO);
    assert_non_null(strstr(errbuf, "/nonexistent/conn.log"));
}


// ---------------------------------------------------------------- Zeek JSON

static void test_json(void **state)
{
    (void)state;
    const char text[] =
        "{\"ts\":1700828217.314165,\"uid\":\"C1\",\"id.orig_h\":\"192.168.1.9\",\"id.orig_p\":50820,"
        "\"id.resp_h\":\"45.33.32.156\",\"id.resp_p\":443,\"proto\":\"tcp\",\"duration\":2.06e-01,"
        "\"orig_bytes\":0,\"resp_bytes\":0,\"conn_state\":\"REJ\",\"tunnel_parents\":[\"a\",{\"b\":[1]}],"
        "\"label\":\"Malicious\",\"detailed-label\":\"C&C\"}\n"
        "{\"ts\":\"2020-10-06T17:32:56.500000Z\",\"id\":{\"orig_h\":\"10.0.0.1\",\"orig_p\":1,\"resp_h\":\"10.0.0.2\","
        "\"resp_p\":53},\"proto\":\"udp\",\"service\":null,\"conn_state\":\"S0\"}\n"
        "\n"
        "{\"ts\":1.0,\"id.orig_h\":\"10.0.0.1\"}\n"                                  // no responder
        "{\"ts\":1.0,\"id.orig_h\":\"10.0.0.1\",\"id.resp_h\":\"10.0.0.300\"}\n"     // bad address
        "{\"ts\":1.0,\"id.orig_h\":\"10.0.0.1\",\"id.resp_h\":\"10.0.0.3\"\n"        // unterminated
        "{\"ts\":1.0,\"id.orig_h\":\"10.0.0.1\",\"id.resp_h\":\"10.0.0.3\"} x\n"     // trailing text
        "[1,2]\n"                                                                    // not an object
        "{\"ts\":1.0,\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],"
        "\"id.orig_h\":\"10.0.0.1\",\"id.resp_h\":\"10.0.0.3\"}\n";                   // too deep
    collect c;
    collect_init(&c);
    want_pair(&c, "192.168.1.9", "45.33.32.156", 443);
    bw_flow_reader_stats st;
    for (size_t chunk = 1; chunk <= 4096; chunk *= 8) {
        collect_init(&c);
        want_pair(&c, "192.168.1.9", "45.33.32.156", 443);
        assert_int_equal(feed_all(text, sizeof text - 1, chunk, NULL, &c, &st), BW_OK);
        assert_int_equal(st.flows, 2);
        assert_int_equal(st.malformed, 6);
        assert_int_equal(st.first_bad_line, 4);
        assert_string_equal(st.first_bad_reason, "json: missing ts, id.orig_h or id.resp_h");
        assert_int_equal(c.pair_count, 1);
        assert_string_equal(c.pair_label, "Malicious");
        assert_string_equal(c.pair_detail, "C&C");
        assert_int_equal(c.pair_state, BW_CONN_REJ);
        assert_int_equal(c.states[BW_CONN_S0], 1);
    }
}

static void test_json_real(void **state)
{
    (void)state;
    static const struct { const char *rel; uint64_t flows; bw_conn_state st; uint64_t st_count; } files[] = {
        { "slips/test9-mixed-zeek-dir/conn.log", 576, BW_CONN_RSTO, 157 },
        { "slips/test14-malicious-zeek-dir/conn.log", 5, BW_CONN_REJ, 5 },
        { "slips/port-scans/vertical/conn.log", 50, BW_CONN_REJ, 43 },
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[1024];
        if (!data_path(files[i].rel, path, sizeof path)) {
            skip();
            return;
        }
        collect c;
        collect_init(&c);
        bw_flow_reader_stats st;
        assert_int_equal(bw_flow_read_file(path, NULL, on_flow, &c, &st, NULL), BW_OK);
        assert_int_equal(st.flows, files[i].flows);
        assert_int_equal(st.malformed, 0);
        assert_int_equal(c.states[files[i].st], files[i].st_count);
    }
}

static void test_suricata_eve(void **state)
{
    (void)state;
    const char text[] =
        "{\"timestamp\":\"2021-06-06T15:57:37.272281+0200\",\"event_type\":\"flow\",\"src_ip\":\"192.168.1.129\","
        "\"src_port\":49200,\"dest_ip\":\"91.238.203.56\",\"dest_port\":443,\"proto\":\"TCP\",\"app_proto\":\"tls\","
        "\"flow\":{\"pkts_toserver\":5,\"pkts_toclient\":4,\"bytes_toserver\":700,\"bytes_toclient\":900,"
        "\"start\":\"2021-06-06T16:38:55.500000+02:00\",\"end\":\"2021-06-06T16:38:57.500000+0200\",\"state\":\"closed\"},"
        "\"tcp\":{\"tcp_flags\":\"1b\",\"tcp_flags_ts\":\"1b\",\"tcp_flags_tc\":\"1b\",\"syn\":true}}\n"
        "{\"timestamp\":\"2021-06-06T15:57:37+0200\",\"event_type\":\"alert\",\"src_ip\":\"1.2.3.4\"}\n"
        "{\"event_type\":\"flow\",\"src_ip\":\"192.168.1.129\",\"dest_ip\":\"8.8.8.8\",\"proto\":\"UDP\","
        "\"flow\":{\"start\":\"2021-06-06T16:38:55+0200\",\"pkts_toclient\":0}}\n"
        "{\"event_type\":\"flow\",\"src_ip\":\"192.168.1.129\",\"dest_ip\":\"8.8.8.8\",\"proto\":\"UDP\","
        "\"flow\":{\"start\":\"2021-06-06T16:38:55+2500\"}}\n";   // bad offset
    collect c;
    collect_init(&c);
    want_pair(&c, "192.168.1.129", "91.238.203.56", 443);
    bw_flow_reader_stats st;
    assert_int_equal(feed_all(text, sizeof text - 1, 13, NULL, &c, &st), BW_OK);
    assert_int_equal(st.flows, 2);
    assert_int_equal(st.skipped, 1);
    assert_int_equal(st.malformed, 1);
    assert_string_equal(st.first_bad_reason, "bad ts");
    assert_int_equal(c.pair_count, 1);
    assert_int_equal(c.pair_state, BW_CONN_SF);   // SYN, ACK, PSH, FIN both ways
    assert_int_equal(c.states[BW_CONN_S0], 1);    // the unanswered UDP flow

    char path[1024];
    if (!data_path("slips/test6-malicious.suricata.json", path, sizeof path)) {
        skip();
        return;
    }
    collect_init(&c);
    assert_int_equal(bw_flow_read_file(path, NULL, on_flow, &c, &st, NULL), BW_OK);
    assert_int_equal(st.flows, 3512);     // its "flow" events
    assert_int_equal(st.skipped, 1488);   // alert, dns, http, tls, fileinfo, anomaly
    assert_int_equal(st.malformed, 0);
    assert_int_equal(c.states[BW_CONN_REJ], 1939);   // refused attempts: 445, 23, 22, ... (scans)
}

// ---------------------------------------------------------------- Argus and nfdump

static void test_argus(void **state)
{
    (void)state;
    const char text[] =
        "StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,sTos,dTos,TotPkts,TotBytes,SrcBytes,Label\n"
        "2011/08/10 09:46:59.607825,1.026539,tcp,147.32.84.165,1027,   ->,74.125.232.195,80,FSPA_FSPA,0,0,8,1000,400,flow=From-Botnet-V42-TCP-CC\n"
        "2011/08/10 09:47:00.000000,3.0,tcp,147.32.84.165,1028,   ->,66.63.168.35,5888,S_RA,0,0,2,120,60,flow=Background\n"
        "2011/08/10 09:47:01.000000,0,udp,147.32.84.165,53,  <->,8.8.8.8,53,INT,0,0,1,70,70,\n"
        "2011/08/10 09:47:02.000000,0,icmp,147.32.84.165,0x0008,  <->,8.8.8.8,0x0000,ECO,0,0,1,70,70,\n"
        "2011/08/10 09:47:03.000000,0,arp,00:11:22:33:44:55,,  who,00:11:22:33:44:66,,INT,0,0,1,60,60,\n"
        "2011/08/10 09:47:04.000000,0,tcp,147.32.84.999,1,   ->,8.8.8.8,80,S_,0,0,1,60,60,\n"  // bad address
        "2011/13/10 09:47:04.000000,0,tcp,147.32.84.9,1,   ->,8.8.8.8,80,S_,0,0,1,60,60,\n"    // bad month
        "2011/08/10 09:47:04.000000,0,tcp,147.32.84.9,1,   ->,8.8.8.8,80,S_,0,0,1,60\n";       // short row
    collect c;
    collect_init(&c);
    want_pair(&c, "147.32.84.165", "74.125.232.195", 80);
    bw_flow_reader_stats st;
    assert_int_equal(feed_all(text, sizeof text - 1, 5, NULL, &c, &st), BW_OK);
    assert_int_equal(st.flows, 4);
    assert_int_equal(st.skipped, 1);
    assert_int_equal(st.malformed, 3);
    assert_int_equal(st.first_bad_line, 7);
    assert_string_equal(st.first_bad_reason, "bad source address");
    assert_int_equal(c.pair_count, 1);
    assert_string_equal(c.pair_label, "flow=From-Botnet-V42-TCP-CC");
    assert_int_equal(c.pair_state, BW_CONN_SF);
    assert_int_equal(c.states[BW_CONN_REJ], 1);
    assert_int_equal(c.states[BW_CONN_S0], 2);
}

static void test_argus_real(void **state)
{
    (void)state;
    static const struct { const char *rel; uint64_t flows, skipped; } files[] = {
        { "slips/test2-malicious.binetflow", 6751, 0 },
        { "slips/test3-mixed.binetflow", 89, 0 },
        { "slips/test4-malicious.binetflow", 392, 2 },
        { "slips/test5-mixed.binetflow", 296, 4 },   // tab separated; arp/llc/man skipped
        { "slips/test11-portscan.binetflow", 66, 0 },
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[1024];
        if (!data_path(files[i].rel, path, sizeof path)) {
            skip();
            return;
        }
        collect c;
        collect_init(&c);
        bw_flow_reader_stats st;
        assert_int_equal(bw_flow_read_file(path, NULL, on_flow, &c, &st, NULL), BW_OK);
        assert_int_equal(st.flows, files[i].flows);
        assert_int_equal(st.skipped, files[i].skipped);
        assert_int_equal(st.malformed, 0);
        if (i == 4)
            assert_int_equal(c.states[BW_CONN_S0], 66);   // a SYN scan: every attempt unanswered
    }
}

static void test_nfdump_csv(void **state)
{
    (void)state;
    const char text[] =
        "ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das\n"
        "2018-01-12 15:57:46,2018-01-12 15:57:46,0.000,147.32.82.62,147.32.84.165,58742,445,TCP,......S.,0,0,1,62,0,0,0,0,0,0\n"
        "2018-01-12 15:57:47.250,2018-01-12 15:57:49,1.750,147.32.82.62,8.8.8.8,5353,53,UDP,........,0,0,1,70,1,120,0,0,0,0\n"
        "2018-01-12 15:57:48,2018-01-12 15:57:49,1.000,2001:db8::1,2001:db8::2,1,443,TCP,...AP..F,0,0,9,900,0,0,0,0,0,0\n"
        "2018-01-12 15:57:48,2018-01-12 15:57:49,1.000,147.32.82.62,8.8.8.8,5353,53,UDP,........,0,0,x,70,1,120,0,0,0,0\n"
        "Summary\n"
        "flows,bytes,packets,avg_bps,avg_pps,avg_bpp\n"
        "4,1000,12,0,0,0\n";
    collect c;
    collect_init(&c);
    want_pair(&c, "147.32.82.62", "147.32.84.165", 445);
    bw_flow_reader_stats st;
    assert_int_equal(feed_all(text, sizeof text - 1, 11, NULL, &c, &st), BW_OK);
    assert_int_equal(bw_flow_detect(text, sizeof text - 1), BW_FLOW_FORMAT_NFDUMP);
    assert_int_equal(st.flows, 3);
    assert_int_equal(st.malformed, 1);
    assert_int_equal(st.first_bad_line, 5);
    assert_int_equal(st.skipped, 3);
    assert_int_equal(c.pair_count, 1);
    assert_int_equal(c.pair_state, BW_CONN_S0);
    assert_int_equal(c.states[BW_CONN_SF], 1);   // the UDP flow with a reply
    assert_int_equal(c.states[BW_CONN_OTH], 1);  // ACK/PSH/FIN without SYN: midstream
}

static void test_nfdump_binary(void **state)
{
    (void)state;
    char path[1024];
    if (!data_path("slips/test1-malicious.nfdump", path, sizeof path)) {
        skip();
        return;
    }
    // nfdump 1.6 layout-1 file; its stat record says 4593 flows.
    collect c;
    collect_init(&c);
    want_pair(&c, "147.32.80.119", "147.32.82.62", 902);
    bw_flow_reader_stats st;
    char errbuf[BW_ERRBUF_SIZE];
    assert_int_equal(bw_flow_read_file(path, NULL, on_flow, &c, &st, errbuf), BW_OK);
    assert_int_equal(st.format, BW_FLOW_FORMAT_NFDUMP_BINARY);
    assert_int_equal(st.flows, 4593);
    assert_int_equal(st.malformed, 0);
    assert_int_equal(c.states[BW_CONN_S0], 2322);
    assert_true(c.pair_count > 0);
    assert_int_equal(c.pair_state, BW_CONN_S0);
    size_t n;
    char *bytes = slurp(path, &n);
    static const size_t chunks[] = { 1, 3, 139, 4096, 1 << 20 };
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        collect c2;
        collect_init(&c2);
        bw_flow_reader_stats st2;
        assert_int_equal(feed_all(bytes, n, chunks[i], NULL, &c2, &st2), BW_OK);
        assert_int_equal(st2.flows, 4593);
        assert_true(c2.digest == c.digest);
    }
    // Cut inside the block: the records before the cut are kept, the cut is reported.
    collect_init(&c);
    assert_int_equal(feed_all(bytes, 276 + 12 + 1000, 4096, NULL, &c, &st), BW_OK);
    assert_int_equal(st.malformed, 1);
    assert_string_equal(st.first_bad_reason, "nfdump: file ends inside a header or block");
    // A block over max_binary_block is skipped and counted, not buffered.
    bw_flow_reader_limits lim;
    bw_flow_reader_limits_default(&lim);
    lim.max_binary_block = 1000;
    collect_init(&c);
    assert_int_equal(feed_all(bytes, n, 4096, &lim, &c, &st), BW_OK);
    assert_int_equal(st.flows, 0);
    assert_int_equal(st.too_long, 1);
    // Compressed files are refused with the conversion command.
    bytes[4] = 0x10;   // FLAG_LZ4_COMPRESSED
    collect_init(&c);
    assert_int_equal(feed_all(bytes, n, 4096, NULL, &c, &st), BW_ERR_UNSUPPORTED);
    free(bytes);
}

// ---------------------------------------------------------------- pcap

static void test_pcap_real(void **state)
{
    (void)state;
    char path[1024];
    if (!data_path("slips/test-cc/test-cc-capture-1.pcap", path, sizeof path)) {
        skip();
        return;
    }
    // The capture holds 299 SYNs from 147.32.80.37, 297 of them to 141.193.213.21:443 and
    // 2 to 141.193.213.20:443 (counted independently with a packet walk): one flow each.
    collect c;
    collect_init(&c);
    want_pair(&c, "147.32.80.37", "141.193.213.21", 443);
    bw_flow_reader_stats st;
    assert_int_equal(bw_flow_read_file(path, NULL, on_flow, &c, &st, NULL), BW_OK);
    assert_int_equal(st.format, BW_FLOW_FORMAT_PCAP);
    assert_int_equal(st.lines, 7931);
    assert_int_equal(st.flows, 299);
    assert_int_equal(st.malformed, 0);
    assert_int_equal(c.pair_count, 297);
    assert_int_equal(c.states[BW_CONN_SF], 299);

    static const struct { const char *rel; uint64_t packets, flows, s0, sf, rej, skipped; } files[] = {
        { "slips/test7-malicious.pcap", 2000, 369, 314, 50, 5, 31 },
        { "slips/test8-malicious.pcap", 534, 1, 0, 1, 0, 519 },   // 519 ARP packets
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if (!data_path(files[i].rel, path, sizeof path)) {
            skip();
            return;
        }
        collect_init(&c);
        assert_int_equal(bw_flow_read_file(path, NULL, on_flow, &c, &st, NULL), BW_OK);
        assert_int_equal(st.lines, files[i].packets);
        assert_int_equal(st.flows, files[i].flows);
        assert_int_equal(st.skipped, files[i].skipped);
        assert_int_equal(c.states[BW_CONN_S0], files[i].s0);
        assert_int_equal(c.states[BW_CONN_SF], files[i].sf);
        assert_int_equal(c.states[BW_CONN_REJ], files[i].rej);
    }
}

// A tiny pcap writer for crafted captures (Ethernet, IPv4, TCP/UDP).
typedef struct pcap_builder {
    uint8_t buf[1 << 16];
    size_t n;
} pcap_builder;

static void put(pcap_builder *b, const void *p, size_t n)
{
    assert_true(b->n + n <= sizeof b->buf);
    memcpy(b->buf + b->n, p, n);
    b->n += n;
}

static void pcap_begin(pcap_builder *b)
{
    b->n = 0;
    const uint32_t hdr[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1 };
    put(b, hdr, sizeof hdr);
}

static void pcap_tcp(pcap_builder *b, double ts, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
                     uint8_t flags, size_t payload, uint8_t proto)
{
    uint8_t pkt[14 + 20 + 20 + 64];
    memset(pkt, 0, sizeof pkt);
    pkt[12] = 0x08;
    uint8_t *ip = pkt + 14;
    size_t l4 = proto == 6 ? 20 : 8;
    size_t total = 20 + l4 + payload;
    ip[0] = 0x45;
    ip[2] = (uint8_t)(total >> 8);
    ip[3] = (uint8_t)total;
    ip[8] = 64;
    ip[9] = proto;
    for (int i = 0; i < 4; i++) {
        ip[12 + i] = (uint8_t)(src >> (24 - 8 * i));
        ip[16 + i] = (uint8_t)(dst >> (24 - 8 * i));
    }
    uint8_t *t = ip + 20;
    t[0] = (uint8_t)(sport >> 8);
    t[1] = (uint8_t)sport;
    t[2] = (uint8_t)(dport >> 8);
    t[3] = (uint8_t)dport;
    if (proto == 6) {
        t[12] = 0x50;
        t[13] = flags;
    }
    size_t caplen = 14 + total;
    assert_true(caplen <= sizeof pkt);
    uint32_t rec[4] = { (uint32_t)ts, (uint32_t)((ts - (uint32_t)ts) * 1e6 + 0.5), (uint32_t)caplen, (uint32_t)caplen };
    put(b, rec, sizeof rec);
    put(b, pkt, caplen);
}

enum { FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10 };
#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

static bw_status run_pcap(pcap_builder *b, const bw_pcap_flow_limits *lim, collect *c, bw_pcap_flow_stats *st)
{
    FILE *f = fmemopen(b->buf, b->n, "rb");
    assert_non_null(f);
    return bw_pcap_flows_read(f, "crafted", lim, on_flow, c, st, NULL);
}

static void test_pcap_states(void **state)
{
    (void)state;
    pcap_builder *b = calloc(1, sizeof *b);
    assert_non_null(b);
    pcap_begin(b);
    uint32_t h = IP4(10, 0, 0, 1), s1 = IP4(192, 0, 2, 1), s2 = IP4(192, 0, 2, 2), s3 = IP4(192, 0, 2, 3);
    // S0: SYN and a retransmission, no answer.
    pcap_tcp(b, 100.0, h, 40000, s1, 443, SYN, 0, 6);
    pcap_tcp(b, 101.0, h, 40000, s1, 443, SYN, 0, 6);
    // REJ: SYN answered by RST-ACK.
    pcap_tcp(b, 102.0, h, 40001, s2, 443, SYN, 0, 6);
    pcap_tcp(b, 102.1, s2, 443, h, 40001, RST | ACK, 0, 6);
    // SF: handshake, data, FINs; then the same 5-tuple reused: a second SF flow.
    for (int k = 0; k < 2; k++) {
        double t0 = 103.0 + 10 * k;
        pcap_tcp(b, t0, h, 40002, s3, 80, SYN, 0, 6);
        pcap_tcp(b, t0 + 0.1, s3, 80, h, 40002, SYN | ACK, 0, 6);
        pcap_tcp(b, t0 + 0.2, h, 40002, s3, 80, ACK | PSH, 30, 6);
        pcap_tcp(b, t0 + 0.3, s3, 80, h, 40002, ACK | PSH, 50, 6);
        pcap_tcp(b, t0 + 0.4, h, 40002, s3, 80, FIN | ACK, 0, 6);
        pcap_tcp(b, t0 + 0.5, s3, 80, h, 40002, FIN | ACK, 0, 6);
    }
    // UDP: one answered (SF), one not (S0); the unanswered one times out and recurs.
    pcap_tcp(b, 130.0, h, 5353, s1, 53, 0, 20, 17);
    pcap_tcp(b, 130.1, s1, 53, h, 5353, 0, 40, 17);
    pcap_tcp(b, 131.0, h, 5354, s2, 53, 0, 20, 17);
    pcap_tcp(b, 300.0, h, 5354, s2, 53, 0, 20, 17);   // 169 s later: past the 60 s idle timeout
    collect c;
    collect_init(&c);
    want_pair(&c, "10.0.0.1", "192.0.2.3", 80);
    bw_pcap_flow_stats st;
    assert_int_equal(run_pcap(b, NULL, &c, &st), BW_OK);
    assert_int_equal(st.packets, 20);
    assert_int_equal(st.flows, 7);
    assert_int_equal(st.malformed, 0);
    assert_int_equal(c.states[BW_CONN_S0], 3);   // TCP SYN-only + the UDP flow twice
    assert_int_equal(c.states[BW_CONN_REJ], 1);
    assert_int_equal(c.states[BW_CONN_SF], 3);
    assert_int_equal(c.pair_count, 2);
    assert_int_equal(c.pair_state, BW_CONN_SF);

    // max_flows 2: every further new flow evicts the least recently seen one, counted,
    // and no flow is lost.
    bw_pcap_flow_limits lim;
    bw_pcap_flow_limits_default(&lim);
    lim.max_flows = 2;
    collect_init(&c);
    assert_int_equal(run_pcap(b, &lim, &c, &st), BW_OK);
    assert_int_equal(st.evicted, 3);
    assert_int_equal(st.flows, 7);

    // Active timeout: a UDP stream with a packet every 10 s for 100 s, cut every 30 s.
    pcap_builder *b2 = calloc(1, sizeof *b2);
    assert_non_null(b2);
    pcap_begin(b2);
    for (int k = 0; k <= 10; k++)
        pcap_tcp(b2, 1000.0 + 10 * k, h, 7000, s1, 7001, 0, 10, 17);
    bw_pcap_flow_limits_default(&lim);
    lim.active_timeout = 30;
    collect_init(&c);
    want_pair(&c, "10.0.0.1", "192.0.2.1", 7001);
    assert_int_equal(run_pcap(b2, &lim, &c, &st), BW_OK);
    assert_int_equal(st.flows, 3);             // packets 0-3, 4-7, 8-10
    assert_int_equal(c.pair_count, 3);
    // A short idle timeout splits the same stream at every gap instead.
    bw_pcap_flow_limits_default(&lim);
    lim.idle_timeout = 5;
    collect_init(&c);
    assert_int_equal(run_pcap(b2, &lim, &c, &st), BW_OK);
    assert_int_equal(st.flows, 11);
    free(b2);

    // A truncated capture: the flows seen so far still come out.
    b->n -= 10;
    collect_init(&c);
    assert_int_equal(run_pcap(b, NULL, &c, &st), BW_OK);
    assert_int_equal(st.flows, 6);
    assert_int_equal(st.packets, 19);
    assert_int_equal(st.malformed, 1);
    assert_int_equal(st.first_bad_packet, 20);
    print_message("truncated capture: %s\n", st.first_bad_reason);
    // Not a capture at all.
    const char junk[] = "this is not a pcap file at all, sorry";
    FILE *f = fmemopen((void *)junk, sizeof junk, "rb");
    char errbuf[BW_ERRBUF_SIZE];
    assert_int_equal(bw_pcap_flows_read(f, "junk", NULL, on_flow, &c, &st, errbuf), BW_ERR_PARSE);
    free(b);
}

// bw_parse_ip against inet_pton on a table of edge cases and on random strings over the
// characters addresses are made of: they must accept the same strings and agree on bytes.
static void check_ip_against_libc(const char *text, size_t n)
{
    char z[64];
    memcpy(z, text, n);
    z[n] = '\0';
    uint8_t want[16];
    bool ok4 = false, ok6 = inet_pton(AF_INET6, z, want) == 1;
    struct in_addr v4;
    if (!ok6 && inet_pton(AF_INET, z, &v4) == 1) {
        ok4 = true;
        bw_ip mapped;
        bw_ip_from_v4(ntohl(v4.s_addr), &mapped);
        memcpy(want, mapped.b, 16);
    }
    bw_ip got;
    bool ok = bw_parse_ip(text, n, &got);
    if (ok != (ok4 || ok6))
        fail_msg("'%s': bw_parse_ip says %d, inet_pton %d", z, ok, ok4 || ok6);
    if (ok && memcmp(got.b, want, 16) != 0)
        fail_msg("'%s': bytes differ from inet_pton", z);
}

static void test_ip_parser_matches_libc(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "1.2.3.4", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.5", "0.0.0.0", "1..2.3",
        "::", "::1", "1::", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8",
        "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", "1::2::3", ":::", ":1::", "1:::2", "1:2:", "12345::",
        "fd2d:ab8c:225:0:81d3:fd3e:7f62:aec8", "fe80::5dd3:6bb3:7720:1e83", "FF02::1:3", "::ffff:1.2.3.4",
        "::1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", "::ffff:01.2.3.4", "1.2.3.4::",
        "::ffff:1.2.3", "0:0:0:0:0:0:0:0", "2001:db8::", "2001:db8:0:0:1::1", "g::1", "1:2:3:4:5:6:7:",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_ip_against_libc(cases[i], strlen(cases[i]));
    static const char alphabet[] = "0123456789abcdefABCDEF::::....g";
    uint64_t x = 88172645463325252ull;
    for (int iter = 0; iter < 300000; iter++) {
        char text[48];
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t n = (size_t)(x % 40);
        for (size_t k = 0; k < n; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            text[k] = alphabet[x % (sizeof alphabet - 1)];
        }
        check_ip_against_libc(text, n);
    }
    // Address-shaped strings: 1-9 groups of 0-5 hex digits joined by ':' or '::', some
    // with a dotted tail, so that many are valid and the edges are near.
    int valid = 0;
    for (int iter = 0; iter < 200000; iter++) {
        char text[64];
        size_t n = 0;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int groups = 1 + (int)(x % 9);
        for (int g = 0; g < groups && n < 40; g++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            if (g > 0 || x % 5 == 0)
                text[n++] = ':';
            if (x % 7 == 0 && n < 40)
                text[n++] = ':';
            int digits = (int)((x >> 8) % 6);
            for (int d = 0; d < digits && n < 44; d++)
                text[n++] = "0123456789abcdef"[(x >> (12 + 4 * d)) & 15];
        }
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        if (x % 4 == 0 && n < 30)
            n += (size_t)snprintf(text + n, sizeof text - n, ":%u.%u.%u.%u", (unsigned)(x >> 8) % 300,
                                  (unsigned)(x >> 16) % 256, (unsigned)(x >> 24) % 256, (unsigned)(x >> 32) % 256);
        check_ip_against_libc(text, n);
        bw_ip ip;
        valid += bw_parse_ip(text, n, &ip);
    }
    print_message("address-shaped strings: %d of 200000 valid\n", valid);
    assert_true(valid > 5000);
}

static void test_state_names(void **state)
{
    (void)state;
    assert_string_equal(bw_conn_state_name(BW_CONN_RSTOS0), "RSTOS0");
    assert_true(bw_conn_state_failed(BW_CONN_S0));
    assert_true(bw_conn_state_failed(BW_CONN_REJ));
    assert_false(bw_conn_state_failed(BW_CONN_SF));
    assert_false(bw_conn_state_failed(BW_CONN_S1));
    assert_string_equal(bw_conn_state_name((bw_conn_state)99), "-");
}

static void test_unknown_format(void **state)
{
    (void)state;
    collect c;
    collect_init(&c);
    bw_flow_reader_stats st;
    const char text[] = "hello world\nnot a flow log\n";
    assert_int_equal(feed_all(text, sizeof text - 1, 100, NULL, &c, &st), BW_ERR_UNSUPPORTED);
    assert_int_equal(st.flows, 0);
    const char pcap_magic[] = "\xd4\xc3\xb2\xa1\x02\x00\x04\x00";
    assert_int_equal(feed_all(pcap_magic, 8, 100, NULL, &c, &st), BW_ERR_UNSUPPORTED);
    assert_int_equal(bw_flow_detect(pcap_magic, 8), BW_FLOW_FORMAT_PCAP);
    assert_int_equal(bw_flow_detect("\t#separator \\x09\n", 17), BW_FLOW_FORMAT_ZEEK_TSV);
    // A byte order mark before an Argus header (saved from a Windows editor).
    const char bom[] = "\xef\xbb\xbfStartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State\n"
                       "2011/08/10 09:46:59.607825,1.0,tcp,1.2.3.4,1027,   ->,5.6.7.8,80,S_\n";
    collect_init(&c);
    assert_int_equal(feed_all(bom, sizeof bom - 1, 2, NULL, &c, &st), BW_OK);
    assert_int_equal(st.format, BW_FLOW_FORMAT_ARGUS);
    assert_int_equal(st.flows, 1);
    assert_int_equal(st.malformed, 0);
    assert_int_equal(bw_flow_detect("{\"ts\":1}\n", 9), BW_FLOW_FORMAT_ZEEK_JSON);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_names),
        cmocka_unit_test(test_ip_parser_matches_libc),
        cmocka_unit_test(test_tsv_basic),
        cmocka_unit_test(test_tsv_malformed),
        cmocka_unit_test(test_tsv_long_line_limit),
        cmocka_unit_test(test_tsv_rotated_and_reordered),
        cmocka_unit_test(test_unknown_format),
        cmocka_unit_test(test_stratosphere_001),
        cmocka_unit_test(test_slips_test18),
        cmocka_unit_test(test_tsv_real_files),
        cmocka_unit_test(test_gzip_and_stop),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_json_real),
        cmocka_unit_test(test_suricata_eve),
        cmocka_unit_test(test_argus),
        cmocka_unit_test(test_argus_real),
        cmocka_unit_test(test_nfdump_csv),
        cmocka_unit_test(test_nfdump_binary),
        cmocka_unit_test(test_pcap_real),
        cmocka_unit_test(test_pcap_states),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
