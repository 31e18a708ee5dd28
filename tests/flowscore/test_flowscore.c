// SPDX-License-Identifier: MIT
// Unit tests for the flowscore engine on synthetic series: clean, jittered and gappy beacons
// must score above the default threshold with the right period; Poisson and bursty traffic
// must not. Engine tests check the named limits (pairs, events per pair), allow-lists,
// thread-count independence, and the P2P / SMTP / C&C tables.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "botwatch/flowscore.h"
#include "botwatch/networks.h"

static uint64_t rng_state = 42;
static double unit(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return (double)((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
}

// Beacon with symmetric uniform jitter (fraction of the period) and independent misses.
static size_t make_beacon(double *ts, size_t max, double period, double jitter, double missed, double span)
{
    size_t n = 0;
    for (double t = 1000; t < 1000 + span && n < max; t += period * (1 + jitter * (2 * unit() - 1)))
        if (unit() >= missed)
            ts[n++] = t;
    return n;
}

static size_t make_poisson(double *ts, size_t max, double mean, double span)
{
    size_t n = 0;
    for (double t = 1000 - mean * log(1 - unit()); t < 1000 + span && n < max; t += -mean * log(1 - unit()))
        ts[n++] = t;
    return n;
}

typedef struct series_case {
    const char *name;
    double period, jitter, missed;
    bool beacon;
} series_case;

static void test_series_table(void **state)
{
    (void)state;
    static const series_case cases[] = {
        { "clean 60 s", 60, 0, 0, true },
        { "jitter 10% 300 s", 300, 0.10, 0, true },
        { "jitter 30% missed 20% 60 s", 60, 0.30, 0.20, true },
        { "jitter 30% missed 20% 1 h", 3600, 0.30, 0.20, true },
        { "clean 0.5 s", 0.5, 0.02, 0, true },
        { "missed 30% 10 s", 10, 0.05, 0.30, true },
    };
    bw_flowscore_options o;
    bw_flowscore_options_default(&o);
    static double ts[20000];
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        double span = cases[c].period < 10 ? 3600 : 86400;
        size_t n = make_beacon(ts, 20000, cases[c].period, cases[c].jitter, cases[c].missed, span);
        if (n > 8192)
            n = 8192;
        bw_beacon b;
        memset(&b, 0, sizeof b);
        assert_true(bw_flowscore_score_series(&o, ts, NULL, n, 1000, 1000 + span, c, &b));
        printf("# %-28s n=%zu score=%.3f ts=%.3f period_score=%.3f stat=%.3f null=%.3f P=%.2f\n", cases[c].name,
               n, b.score, b.ts_score, b.period_score, b.period_stat, b.period_null, b.period);
        assert_true(b.score >= o.threshold);
        assert_true(fabs(b.period - cases[c].period) <= 0.05 * cases[c].period);
    }
}

static void test_random_not_beacon(void **state)
{
    (void)state;
    bw_flowscore_options o;
    bw_flowscore_options_default(&o);
    static double ts[20000];
    unsigned above = 0;
    for (int rep = 0; rep < 200; rep++) {
        double mean = 30 + 3000 * unit();
        size_t n = make_poisson(ts, 20000, mean, 86400);
        bw_beacon b;
        memset(&b, 0, sizeof b);
        if (bw_flowscore_score_series(&o, ts, NULL, n, 1000, 87400, (uint64_t)rep, &b) && b.score >= o.threshold)
            above++;
    }
    printf("# poisson series above threshold: %u / 200\n", above);
    assert_true(above <= 1);
}

static void test_too_few_calls(void **state)
{
    (void)state;
    double ts[5] = { 1, 2, 3, 4, 5 };
    bw_beacon b;
    assert_false(bw_flowscore_score_series(NULL, ts, NULL, 5, 0, 0, 1, &b));
}

static bw_flow mk_flow(const char *src, const char *dst, uint16_t dport, double ts, bw_conn_state st,
                       uint64_t bytes)
{
    bw_flow f;
    memset(&f, 0, sizeof f);
    bw_ip_parse(bw_slice_cstr(src), &f.src);
    bw_ip_parse(bw_slice_cstr(dst), &f.dst);
    f.dport = dport;
    f.sport = 40000;
    f.proto = 6;
    f.ts = ts;
    f.state = st;
    f.orig_bytes = bytes;
    return f;
}

// A dead-controller beacon among noise, fed out of order (Zeek writes at connection end).
static bw_flowscore *run_engine(unsigned threads, const bw_flowscore_options *base)
{
    bw_flowscore_options o;
    if (base)
        o = *base;
    else
        bw_flowscore_options_default(&o);
    o.threads = threads;
    char err[BW_ERRBUF_SIZE];
    bw_flowscore *fs = bw_flowscore_new(&o, err);
    assert_non_null(fs);
    rng_state = 7;
    for (int i = 0; i < 500; i++) {
        bw_flow f = mk_flow("10.0.0.5", "203.0.113.9", 1177, 1000 + i * 11.5 + unit(), BW_CONN_S0, 0);
        assert_int_equal(bw_flowscore_add(fs, &f), BW_OK);
        char dst[32];
        snprintf(dst, sizeof dst, "198.51.100.%d", (int)(unit() * 40));
        bw_flow g = mk_flow("10.0.0.6", dst, 443, 1000 + unit() * 5750, BW_CONN_SF, (uint64_t)(unit() * 5000));
        assert_int_equal(bw_flowscore_add(fs, &g), BW_OK);
    }
    assert_int_equal(bw_flowscore_finish(fs, err), BW_OK);
    return fs;
}

static void test_engine_finds_dead_controller(void **state)
{
    (void)state;
    bw_flowscore *fs = run_engine(2, NULL);
    size_t n;
    const bw_beacon *b = bw_flowscore_beacons(fs, &n);
    assert_true(n >= 1);
    char ip[BW_IP_STRLEN];
    bw_ip_format(&b[0].dst, ip);
    assert_string_equal(ip, "203.0.113.9");
    assert_int_equal(b[0].dport, 1177);
    assert_int_equal(b[0].failed, 500);
    assert_true(fabs(b[0].period - 11.5) < 0.3);
    size_t ncc;
    const bw_cc_candidate *cc = bw_flowscore_cc(fs, &ncc);
    assert_int_equal(ncc, n);
    assert_int_equal(cc[0].hosts, 1);
    bw_flowscore_free(fs);
}

static void test_thread_count_independent(void **state)
{
    (void)state;
    bw_flowscore *a = run_engine(1, NULL), *b = run_engine(3, NULL);
    size_t na, nb;
    const bw_beacon *ba = bw_flowscore_beacons(a, &na), *bb = bw_flowscore_beacons(b, &nb);
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        assert_memory_equal(&ba[i].dst, &bb[i].dst, sizeof ba[i].dst);
        assert_true(ba[i].score == bb[i].score);
    }
    bw_flowscore_free(a);
    bw_flowscore_free(b);
}

static void test_limits_counted(void **state)
{
    (void)state;
    bw_flowscore_options o;
    bw_flowscore_options_default(&o);
    o.limits.max_pairs = 3;
    o.limits.max_events_per_pair = 16;
    char err[BW_ERRBUF_SIZE];
    bw_flowscore *fs = bw_flowscore_new(&o, err);
    assert_non_null(fs);
    for (int i = 0; i < 10; i++) {
        char dst[32];
        snprintf(dst, sizeof dst, "198.51.100.%d", i);
        bw_flow f = mk_flow("10.0.0.1", dst, 80, 100 + i, BW_CONN_SF, 10);
        bw_flowscore_add(fs, &f);
    }
    for (int i = 0; i < 40; i++) {
        bw_flow f = mk_flow("10.0.0.1", "198.51.100.0", 80, 200 + i * 10, BW_CONN_SF, 10);
        bw_flowscore_add(fs, &f);
    }
    assert_int_equal(bw_flowscore_finish(fs, err), BW_OK);
    const bw_flowscore_stats *st = bw_flowscore_stats_get(fs);
    assert_int_equal(st->pairs, 3);
    assert_int_equal(st->pairs_dropped, 7);
    assert_int_equal(st->events_evicted, 41 - 16);
    bw_flowscore_free(fs);

    o.limits.max_pairs = 0;
    assert_null(bw_flowscore_new(&o, err));
    assert_non_null(strstr(err, "invalid"));
}

static void test_allow_list(void **state)
{
    (void)state;
    bw_flowscore_options o;
    bw_flowscore_options_default(&o);
    bw_cidr allow;
    assert_true(bw_cidr_parse(BW_SLICE_LIT("203.0.113.0/24"), &allow));
    o.allow_cidrs = &allow;
    o.n_allow_cidrs = 1;
    bw_flowscore *fs = run_engine(2, &o);
    size_t n;
    bw_flowscore_beacons(fs, &n);
    assert_int_equal(n, 0);
    assert_int_equal(bw_flowscore_stats_get(fs)->ignored, 500);
    bw_flowscore_free(fs);

    uint16_t port = 1177;
    bw_flowscore_options_default(&o);
    o.allow_ports = &port;
    o.n_allow_ports = 1;
    fs = run_engine(2, &o);
    bw_flowscore_beacons(fs, &n);
    assert_int_equal(n, 0);
    bw_flowscore_free(fs);
}

static void test_smtp_and_p2p(void **state)
{
    (void)state;
    char err[BW_ERRBUF_SIZE];
    bw_flowscore *fs = bw_flowscore_new(NULL, err);
    assert_non_null(fs);
    rng_state = 99;
    for (int i = 0; i < 300; i++) {
        char dst[32];
        snprintf(dst, sizeof dst, "198.18.%d.%d", i / 200, i % 200 + 1);
        bw_flow f = mk_flow("192.168.1.50", dst, 25, 1000 + i * 7.0, i % 3 ? BW_CONN_SF : BW_CONN_REJ, 3000);
        bw_flowscore_add(fs, &f);
        snprintf(dst, sizeof dst, "100.%d.%d.%d", 1 + i % 50, i % 7, i % 251 + 1);
        bw_flow p = mk_flow("192.168.1.60", dst, (uint16_t)(20000 + i * 37 % 40000), 1000 + unit() * 86400,
                            unit() < 0.6 ? BW_CONN_S0 : BW_CONN_SF, 120);
        p.proto = 17;
        bw_flowscore_add(fs, &p);
    }
    bw_flow mail = mk_flow("192.168.1.70", "198.51.100.25", 587, 1000, BW_CONN_SF, 5000);
    bw_flowscore_add(fs, &mail);
    assert_int_equal(bw_flowscore_finish(fs, err), BW_OK);
    size_t n;
    const bw_smtp_host *s = bw_flowscore_smtp(fs, &n);
    assert_int_equal(n, 1);
    char ip[BW_IP_STRLEN];
    bw_ip_format(&s[0].src, ip);
    assert_string_equal(ip, "192.168.1.50");
    assert_int_equal(s[0].dsts, 300);
    const bw_p2p_host *p = bw_flowscore_p2p(fs, &n);
    assert_int_equal(n, 1);
    bw_ip_format(&p[0].src, ip);
    assert_string_equal(ip, "192.168.1.60");
    assert_true(p[0].failed_ratio > 0.5);
    assert_true(p[0].high_port_ratio > 0.9);
    assert_true(p[0].score > 0.6);
    bw_flowscore_free(fs);
}

// A bot that picks one of five ports per call: no single port is regular, the (src, dst)
// aggregate is, and it is reported with port '*'.
static void test_port_rotation_aggregate(void **state)
{
    (void)state;
    char err[BW_ERRBUF_SIZE];
    bw_flowscore *fs = bw_flowscore_new(NULL, err);
    assert_non_null(fs);
    rng_state = 11;
    static const uint16_t ports[5] = { 80, 443, 8080, 8443, 53 };
    for (int i = 0; i < 600; i++) {
        bw_flow f = mk_flow("10.9.9.9", "198.51.100.77", ports[(int)(unit() * 5)], 1000 + i * 120 + unit() * 10,
                            BW_CONN_SF, 300);
        bw_flowscore_add(fs, &f);
    }
    assert_int_equal(bw_flowscore_finish(fs, err), BW_OK);
    size_t n;
    const bw_beacon *b = bw_flowscore_beacons(fs, &n);
    assert_int_equal(n, 1);
    assert_true(b[0].any_port);
    assert_int_equal(b[0].calls, 600);
    assert_true(fabs(b[0].period - 120) < 3);
    bw_flowscore_free(fs);
}

// Twenty of forty hosts calling one /24 every 300 s: prevalence 50 % halves the score (the
// default floor), which takes it below the threshold; raw_score keeps the evidence.
static void test_prevalence_downweights(void **state)
{
    (void)state;
    bw_flowscore_options o;
    bw_flowscore_options_default(&o);
    o.threshold = 0.3;
    char err[BW_ERRBUF_SIZE];
    bw_flowscore *fs = bw_flowscore_new(&o, err);
    assert_non_null(fs);
    rng_state = 5;
    for (int h = 0; h < 40; h++) {
        char src[32], dst[32];
        snprintf(src, sizeof src, "10.0.1.%d", h + 1);
        snprintf(dst, sizeof dst, "203.0.113.%d", 10 + h % 4);
        for (int i = 0; i < (h < 20 ? 200 : 1); i++) {
            bw_flow f = mk_flow(src, h < 20 ? dst : "198.51.100.1", 443, 1000 + i * 300 + unit(), BW_CONN_SF, 500);
            bw_flowscore_add(fs, &f);
        }
    }
    assert_int_equal(bw_flowscore_finish(fs, err), BW_OK);
    size_t n;
    const bw_beacon *b = bw_flowscore_beacons(fs, &n);
    assert_int_equal(n, 20);
    for (size_t i = 0; i < n; i++) {
        assert_true(fabs(b[i].prevalence - 0.5) < 1e-9);
        assert_true(fabs(b[i].score - 0.5 * b[i].raw_score) < 1e-9);
        assert_true(b[i].raw_score >= 0.70 && b[i].score < 0.70);
    }
    assert_int_equal(bw_flowscore_stats_get(fs)->internal_hosts, 40);
    bw_flowscore_free(fs);
}

// C&C candidates carry the ASN and AS name of the destination when a database is given,
// and rank a controller called by several hosts above single-host beacons.
static void test_cc_asn(void **state)
{
    (void)state;
    char err[BW_ERRBUF_SIZE];
    bw_asn_db *db = bw_asn_db_new();
    assert_non_null(db);
    static const char csv[] = "203.0.113.0,203.0.113.255,64500,\"Example Bulletproof, Ltd\"\n";
    assert_int_equal(bw_asn_db_load_csv_buffer(db, "test.csv", csv, sizeof csv - 1, err), BW_OK);
    bw_flowscore_options o;
    bw_flowscore_options_default(&o);
    o.asn_db = db;
    bw_flowscore *fs = bw_flowscore_new(&o, err);
    assert_non_null(fs);
    rng_state = 3;
    for (int h = 0; h < 3; h++) {
        char src[32];
        snprintf(src, sizeof src, "10.0.2.%d", h + 1);
        for (int i = 0; i < 100; i++) {
            bw_flow f = mk_flow(src, "203.0.113.66", 4444, 1000 + i * 60 + unit(), BW_CONN_S0, 0);
            bw_flowscore_add(fs, &f);
        }
    }
    for (int i = 0; i < 100; i++) {
        bw_flow f = mk_flow("10.0.2.9", "198.51.100.200", 8080, 1000 + i * 61 + unit(), BW_CONN_SF, 90);
        bw_flowscore_add(fs, &f);
        // An outside pinger every 90 s: a beacon, but inbound, so no C&C candidate.
        bw_flow in = mk_flow("192.0.2.50", "10.0.2.9", 22, 1000 + i * 90 + unit(), BW_CONN_REJ, 0);
        bw_flowscore_add(fs, &in);
    }
    assert_int_equal(bw_flowscore_finish(fs, err), BW_OK);
    size_t n;
    bw_flowscore_beacons(fs, &n);
    assert_int_equal(n, 5);   // 3 zombies + 1 single-host beacon + the inbound pinger
    const bw_cc_candidate *cc = bw_flowscore_cc(fs, &n);
    assert_int_equal(n, 2);
    assert_int_equal(cc[0].hosts, 3);
    assert_int_equal(cc[0].asn, 64500);
    assert_true(bw_slice_eq(cc[0].as_name, BW_SLICE_LIT("Example Bulletproof, Ltd")));
    assert_int_equal(cc[0].failed, 300);
    assert_int_equal(cc[1].hosts, 1);
    assert_int_equal(cc[1].asn, 0);
    bw_flowscore_free(fs);
    bw_asn_db_free(db);
}

static void test_invalid_options(void **state)
{
    (void)state;
    char err[BW_ERRBUF_SIZE];
    bw_flowscore_options o;
    bw_flowscore_options_default(&o);
    o.jitter_tolerance = 0.6;
    assert_null(bw_flowscore_new(&o, err));
    bw_flowscore_options_default(&o);
    o.coverage_bins = 100000;
    assert_null(bw_flowscore_new(&o, err));
    bw_flowscore_options_default(&o);
    o.limits.max_events_per_pair = 1;
    assert_null(bw_flowscore_new(&o, err));
    bw_flowscore *fs = bw_flowscore_new(NULL, err);
    assert_int_equal(bw_flowscore_finish(fs, err), BW_OK);
    bw_flow f = mk_flow("10.0.0.1", "198.51.100.1", 80, 1, BW_CONN_SF, 1);
    assert_int_equal(bw_flowscore_add(fs, &f), BW_ERR_INVALID);
    assert_int_equal(bw_flowscore_finish(fs, err), BW_ERR_INVALID);
    bw_flowscore_free(fs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_series_table),
        cmocka_unit_test(test_random_not_beacon),
        cmocka_unit_test(test_too_few_calls),
        cmocka_unit_test(test_engine_finds_dead_controller),
        cmocka_unit_test(test_thread_count_independent),
        cmocka_unit_test(test_limits_counted),
        cmocka_unit_test(test_allow_list),
        cmocka_unit_test(test_smtp_and_p2p),
        cmocka_unit_test(test_port_rotation_aggregate),
        cmocka_unit_test(test_prevalence_downweights),
        cmocka_unit_test(test_cc_asn),
        cmocka_unit_test(test_invalid_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
