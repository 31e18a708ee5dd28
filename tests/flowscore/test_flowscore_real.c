// SPDX-License-Identifier: MIT
// Acceptance 1 of issue 4 on real labelled captures ($BW_SHARED_DATA/flows), read through the
// project's readers (bw_flow_read_file: Zeek TSV and pcap): the NjRAT and RemcosRAT C&C
// pairs rank first among their captures' beacon findings; the `curl; sleep 2` pcap is found
// with a 2.2 s period and its jittered sibling is found too; the benign 24-hour captures
// show their periodic update services, and where each ranks is asserted and explained.
// Each test skips, saying why, when the data set is absent.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "botwatch/flowread.h"
#include "botwatch/flowscore.h"

static bool feed(const bw_flow *f, void *ctx)
{
    bw_flowscore_add(ctx, f);
    return true;
}

// Scores one capture; NULL (after skip()) when the file is absent.
static bw_flowscore *score_capture(const char *rel, double threshold)
{
    const char *base = getenv("BW_SHARED_DATA");
    char path[1024];
    snprintf(path, sizeof path, "%s/flows/%s", base ? base : "", rel);
    if (!base || access(path, R_OK) != 0) {
        printf("# skipping: %s not found (set BW_SHARED_DATA)\n", path);
        return NULL;
    }
    bw_flowscore_options o;
    bw_flowscore_options_default(&o);
    o.threshold = threshold;
    char err[BW_ERRBUF_SIZE];
    bw_flowscore *fs = bw_flowscore_new(&o, err);
    assert_non_null(fs);
    bw_flow_reader_stats st;
    bw_status s = bw_flow_read_file(path, NULL, feed, fs, &st, err);
    if (s != BW_OK)
        printf("# %s: %s\n", path, err);
    assert_int_equal(s, BW_OK);
    assert_int_equal(bw_flowscore_finish(fs, err), BW_OK);
    size_t n;
    const bw_beacon *b = bw_flowscore_beacons(fs, &n);
    printf("# %s: %llu flows, %zu beacon findings >= %.2f\n", rel, (unsigned long long)st.flows, n, threshold);
    for (size_t i = 0; i < n && i < 12; i++) {
        char s_ip[BW_IP_STRLEN], d_ip[BW_IP_STRLEN];
        bw_ip_format(&b[i].src, s_ip);
        bw_ip_format(&b[i].dst, d_ip);
        printf("#  %2zu %.3f %s -> %s:%u%s period %.2f calls %llu failed %llu ts %.2f per %.2f z %.1f ds %.2f cov %.2f\n",
               i + 1, b[i].score, s_ip, d_ip, b[i].dport, b[i].any_port ? " (any port)" : "", b[i].period,
               (unsigned long long)b[i].calls, (unsigned long long)b[i].failed, b[i].ts_score, b[i].period_score,
               b[i].period_z, b[i].ds_score, b[i].coverage_score);
    }
    return fs;
}

// 1-based rank of the first finding src -> dst (any port unless dport != 0), 0 if absent.
static size_t rank_of(const bw_flowscore *fs, const char *src, const char *dst, uint16_t dport, double *period)
{
    bw_ip s, d;
    assert_true(bw_ip_parse(bw_slice_cstr(src), &s));
    assert_true(bw_ip_parse(bw_slice_cstr(dst), &d));
    size_t n;
    const bw_beacon *b = bw_flowscore_beacons(fs, &n);
    for (size_t i = 0; i < n; i++)
        if (!bw_ip_cmp(&b[i].src, &s) && !bw_ip_cmp(&b[i].dst, &d) && (!dport || b[i].dport == dport)) {
            if (period)
                *period = b[i].period;
            return i + 1;
        }
    return 0;
}

static void test_njrat(void **state)
{
    (void)state;
    bw_flowscore *fs = score_capture("stratosphere/001-zeek-scenario-malicious/conn.log", 0.70);
    if (!fs)
        skip();
    double period = 0;
    assert_int_equal(rank_of(fs, "192.168.1.115", "41.108.179.197", 1177, &period), 1);
    bw_flowscore_free(fs);
}

static void test_remcos(void **state)
{
    (void)state;
    bw_flowscore *fs = score_capture("slips/test18-malicious-ctu-sme-11-win/zeek-labeled/conn.log.labeled", 0.70);
    if (!fs)
        skip();
    double period = 0;
    assert_int_equal(rank_of(fs, "192.168.1.107", "66.63.168.35", 5888, &period), 1);
    bw_flowscore_free(fs);
}

// slips test-cc 1: `while true; do curl ...; sleep 2; done` against one HTTPS server. The
// period is the 2 s sleep plus the ~0.2 s the request takes.
static void test_cc1(void **state)
{
    (void)state;
    bw_flowscore *fs = score_capture("slips/test-cc/test-cc-capture-1.pcap", 0.70);
    if (!fs)
        skip();
    double period = 0;
    assert_int_equal(rank_of(fs, "147.32.80.37", "141.193.213.21", 443, &period), 1);
    assert_true(fabs(period - 2.2) <= 0.1);
    bw_flowscore_free(fs);
}

// slips test-cc 2: the same loop with a random sleep (jitter); found first, period ~3 s.
static void test_cc2(void **state)
{
    (void)state;
    bw_flowscore *fs = score_capture("slips/test-cc/test-cc-capture-2.pcap", 0.70);
    if (!fs)
        skip();
    double period = 0;
    assert_int_equal(rank_of(fs, "147.32.80.37", "141.193.213.20", 443, &period), 1);
    assert_true(period > 2 && period < 5);
    bw_flowscore_free(fs);
}

typedef struct expected_rank {
    const char *src, *dst;
    uint16_t dport;
    size_t rank;
    double period;
} expected_rank;

static void check_ranks(const char *capture, const expected_rank *want, size_t n)
{
    // 0.5 rather than the default 0.70: this test documents the benign timers' place in the
    // ranking, including the ones the default threshold already hides.
    bw_flowscore *fs = score_capture(capture, 0.5);
    if (!fs)
        skip();
    for (size_t i = 0; i < n; i++) {
        double period = 0;
        size_t rank = rank_of(fs, want[i].src, want[i].dst, want[i].dport, &period);
        printf("# %s -> %s:%u rank %zu period %.1f\n", want[i].src, want[i].dst, want[i].dport, rank, period);
        assert_int_equal(rank, want[i].rank);
        assert_true(fabs(period - want[i].period) <= 0.02 * want[i].period);
    }
    bw_flowscore_free(fs);
}

// Benign 24-hour captures (CTU-Normal, one Windows desktop each, on a public address so the
// prevalence modifier has nobody to compare with). Their update services are exactly what
// a beacon detector must see - they ARE beacons, just benign ones - and the analyst
// allow-lists them (--allow-cidr / --allow-name). The ranks observed and why:
static void test_benign_008(void **state)
{
    (void)state;
    static const expected_rank want[] = {
        // ESET push service (AS50881 ESET; MQTT-over-TLS port 8883), every ~301.6 s all day:
        // perfectly regular, constant size, full coverage - the strongest beacon in the log.
        { "147.32.81.167", "91.228.167.171", 8883, 1, 301.6 },
        // Windows push notifications (Azure, no SNI) every 28 min, equally regular.
        { "147.32.81.167", "20.199.120.151", 443, 2, 1680 },
        // Microsoft Delivery Optimization (array614.prod.do.dsp.mp.microsoft.com) every 900 s;
        // a few failed calls lower it a little.
        { "147.32.81.167", "20.54.24.231", 443, 3, 900 },
        // The second ESET server, used for part of the day (fewer calls).
        { "147.32.81.167", "91.228.165.146", 8883, 4, 301.6 },
        // array604.prod.do.dsp.mp.microsoft.com, 900 s, sizes vary more (ds 0.5).
        { "147.32.81.167", "51.104.162.168", 443, 6, 900 },
    };
    check_ranks("stratosphere/008-zeek-mixed/data/conn.log.labeled", want, sizeof want / sizeof *want);
}

static void test_benign_010(void **state)
{
    (void)state;
    static const expected_rank want[] = {
        // Ranks 1-3 are inbound: Internet census pings (Colorado State, ISI) every 88 min to
        // this publicly addressed host - periodic by design, and not from the host itself.
        { "129.82.138.44", "147.32.83.234", 0, 1, 5280 },
        // Rank 4 is an AWS-hosted HTTPS endpoint polled every ~29 min (no SNI in ssl.log).
        // An app polling a CloudFront endpoint (d27xxe7juh1us6.cloudfront.net) every ~300 s.
        { "147.32.83.234", "65.9.94.12", 443, 5, 300.4 },
        // LastPass pollserver.lastpass.com every 900 s.
        { "147.32.83.234", "104.64.125.191", 443, 6, 900 },
        // Microsoft Delivery Optimization (array603.prod.do.dsp.mp.microsoft.com) every 900 s.
        { "147.32.83.234", "51.104.162.50", 443, 7, 900 },
    };
    check_ranks("stratosphere/010-zeek-mixed/data/conn.log.labeled", want, sizeof want / sizeof *want);
}

static void test_benign_011(void **state)
{
    (void)state;
    static const expected_rank want[] = {
        // The four census pingers lead again (ranks 1-4); then PerimeterX bot-detection
        // telemetry (collector-...px-cloud.net, QUIC on 443/udp) every ~421 s, and the same
        // CloudFront poller as in 010 every ~300 s (rank 6: its request sizes vary, ds 0.46).
        { "195.251.255.69", "147.32.83.165", 0, 1, 5280 },
        { "147.32.83.165", "35.186.220.184", 443, 5, 421.2 },
        { "147.32.83.165", "65.9.94.12", 443, 6, 300.4 },
    };
    check_ranks("stratosphere/011-zeek-mixed/data/conn.log.labeled", want, sizeof want / sizeof *want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cc1),
        cmocka_unit_test(test_cc2),
        cmocka_unit_test(test_benign_008),
        cmocka_unit_test(test_benign_010),
        cmocka_unit_test(test_benign_011),
        cmocka_unit_test(test_njrat),
        cmocka_unit_test(test_remcos),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
