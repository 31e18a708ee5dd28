// SPDX-License-Identifier: MIT
// Botnet inference on hand-built inputs: two zombie pools whose campaigns are joined by one
// weak link come out as two botnets (one with components); a shared IP outside the time
// window links nothing; the result does not depend on the input order; every limit cuts
// and counts what it cut; ids, sizes and labels follow the contract.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "botwatch/botnet.h"

#define DAY 86400
#define T0 1199145600

typedef struct input {
    bw_botnet_campaign camps[512];
    size_t nc;
    bw_botnet_sighting sights[65536];
    size_t ns;
} input;

static void add_campaign(input *in, uint64_t id, uint64_t messages, int64_t first, int64_t last, const char *labels)
{
    in->camps[in->nc++] = (bw_botnet_campaign){ id, messages, first, last, labels };
}

// Zombie k of pool p: one IP per /24, in distinct /16s per pool.
static bw_ip zombie(unsigned pool, unsigned k)
{
    bw_ip ip;
    bw_ip_from_v4((uint32_t)(60 + pool) << 24 | (uint32_t)k << 8 | 7u, &ip);
    return ip;
}

static void add_sighting(input *in, uint64_t campaign, bw_ip ip, int64_t first, int64_t last)
{
    in->sights[in->ns++] = (bw_botnet_sighting){ campaign, ip, first, last, 1 };
}

// Campaign c of pool p: 20 zombies out of a pool of 30, shifted per campaign.
static void pool_campaign(input *in, unsigned pool, uint64_t id, uint64_t messages, int64_t t, const char *labels)
{
    add_campaign(in, id, messages, t, t + 3600, labels);
    for (unsigned k = 0; k < 20; k++)
        add_sighting(in, id, zombie(pool, (unsigned)(id * 5 + k) % 30), t, t + 3600);
}

static bw_botnet_result *infer(const bw_botnet_config *cfg, const input *in)
{
    bw_botnet_result *r = NULL;
    char err[BW_ERRBUF_SIZE] = "";
    bw_status st = bw_botnet_infer(cfg, in->camps, in->nc, in->sights, in->ns, &r, err);
    if (st != BW_OK)
        fail_msg("bw_botnet_infer: %s", err);
    return r;
}

static void two_pools(input *in)
{
    memset(in, 0, sizeof *in);
    for (uint64_t id = 1; id <= 4; id++)
        pool_campaign(in, 0, id, 1000 + id, T0 + (int64_t)id * 3600, id == 4 ? "pharma" : "cutwail");
    for (uint64_t id = 5; id <= 8; id++)
        pool_campaign(in, 1, id, 100 + id, T0 + (int64_t)id * 3600, NULL);
    // The weak link: campaign 4 also used two zombies of pool 1.
    add_sighting(in, 4, zombie(1, 1), T0, T0 + 60);
    add_sighting(in, 4, zombie(1, 2), T0, T0 + 60);
}

static void two_cliques_weak_edge(void **state)
{
    (void)state;
    static input in;
    two_pools(&in);
    bw_botnet_result *r = infer(NULL, &in);
    assert_int_equal(bw_botnet_result_count(r), 2);
    for (uint64_t id = 1; id <= 4; id++)
        assert_int_equal(bw_botnet_result_campaign(r, id), 1);
    for (uint64_t id = 5; id <= 8; id++)
        assert_int_equal(bw_botnet_result_campaign(r, id), 2);
    assert_int_equal(bw_botnet_result_campaign(r, 99), 0);

    bw_botnet_info b;
    assert_int_equal(bw_botnet_result_get(r, 1, &b), BW_OK);
    assert_int_equal(b.id, 1);
    assert_int_equal(b.campaigns, 4);
    assert_int_equal(b.campaign_ids[0], 1);
    assert_int_equal(b.campaign_ids[3], 4);
    assert_int_equal(b.messages, 1001 + 1002 + 1003 + 1004);
    // 30 zombies of pool 0 plus the two of pool 1 that campaign 4 used.
    assert_int_equal(b.sender_ips, 32);
    assert_int_equal(b.ip_count, 32);
    assert_int_equal(b.subnets24, 32);
    for (size_t i = 1; i < b.ip_count; i++)
        assert_true(bw_ip_cmp(&b.ips[i - 1], &b.ips[i]) < 0);
    assert_int_equal(b.first_seen, T0 + 3600);
    assert_int_equal(b.last_seen, T0 + 4 * 3600 + 3600);
    // 3006 of 4010 messages carry "cutwail": a majority.
    assert_string_equal(b.label, "cutwail");
    assert_int_equal(bw_botnet_result_get(r, 2, &b), BW_OK);
    assert_int_equal(b.campaigns, 4);
    assert_int_equal(b.sender_ips, 30);
    assert_string_equal(b.label, "");
    assert_int_equal(bw_botnet_result_get(r, 3, &b), BW_ERR_NOTFOUND);
    assert_int_equal(bw_botnet_result_get(r, 0, &b), BW_ERR_NOTFOUND);

    bw_botnet_stats st;
    bw_botnet_result_stats(r, &st);
    assert_int_equal(st.campaigns, 8);
    assert_int_equal(st.botnets, 2);
    assert_int_equal(st.distinct_ips, 60);
    assert_true(st.modularity > 0.3);
    // 6 + 6 edges inside the pools and the weak ones: campaigns 5 and 6 used zombies 1, 2.
    assert_int_equal(st.edges, 14);
    bw_botnet_result_free(r);

    // Connected components cannot tell the two apart.
    bw_botnet_config cfg;
    bw_botnet_config_default(&cfg);
    cfg.method = BW_BOTNET_COMPONENTS;
    r = infer(&cfg, &in);
    assert_int_equal(bw_botnet_result_count(r), 1);
    bw_botnet_result_free(r);

    // Extreme (hostile or corrupt) times: no overflow, no link; last < first is swapped.
    bw_botnet_config_default(&cfg);
    memset(&in, 0, sizeof in);
    pool_campaign(&in, 0, 1, 100, INT64_MIN, NULL);
    pool_campaign(&in, 0, 2, 100, INT64_MAX - 3600, NULL);
    for (size_t i = 0; i < 20; i++)
        in.sights[i].last_seen = INT64_MIN;
    r = infer(&cfg, &in);
    assert_int_equal(bw_botnet_result_count(r), 2);
    bw_botnet_result_free(r);
}

static void label_majority(void **state)
{
    (void)state;
    static input in;
    memset(&in, 0, sizeof in);
    // Three campaigns of one pool: labels "a b" (40), "b" (30), "a c" (30): b has 70%,
    // a 70% too: equal sums go to the smaller label.
    pool_campaign(&in, 0, 1, 40, T0, "a b");
    pool_campaign(&in, 0, 2, 30, T0, "b  b");
    pool_campaign(&in, 0, 3, 30, T0, "c a");
    bw_botnet_result *r = infer(NULL, &in);
    bw_botnet_info b;
    assert_int_equal(bw_botnet_result_count(r), 1);
    assert_int_equal(bw_botnet_result_get(r, 1, &b), BW_OK);
    assert_string_equal(b.label, "a");
    bw_botnet_result_free(r);
    // Exactly half is no majority.
    in.camps[0].labels = "x";
    in.camps[1].labels = "x";
    in.camps[2].labels = "y";
    in.camps[0].messages = 20;
    r = infer(NULL, &in);
    assert_int_equal(bw_botnet_result_get(r, 1, &b), BW_OK);
    assert_string_equal(b.label, "x");   // 50 of 80
    bw_botnet_result_free(r);
    in.camps[1].messages = 10;
    in.camps[2].messages = 30;
    r = infer(NULL, &in);
    assert_int_equal(bw_botnet_result_get(r, 1, &b), BW_OK);
    assert_string_equal(b.label, "");    // 30 of 60
    bw_botnet_result_free(r);
}

static void window(void **state)
{
    (void)state;
    static input in;
    memset(&in, 0, sizeof in);
    // The same 20 zombies, 30 days apart: addresses reassigned, no evidence.
    pool_campaign(&in, 0, 1, 100, T0, NULL);
    pool_campaign(&in, 0, 2, 100, T0 + 30 * DAY, NULL);
    pool_campaign(&in, 0, 3, 100, T0 + 30 * DAY + 3600, NULL);
    // The ids differ by one, so campaigns 2 and 3 use shifted zombie sets; all overlap.
    bw_botnet_result *r = infer(NULL, &in);
    assert_int_equal(bw_botnet_result_count(r), 2);
    assert_int_equal(bw_botnet_result_campaign(r, 1), 2);   // equal messages: smaller id first
    assert_int_equal(bw_botnet_result_campaign(r, 2), 1);
    assert_int_equal(bw_botnet_result_campaign(r, 3), 1);
    bw_botnet_stats st;
    bw_botnet_result_stats(r, &st);
    assert_true(st.pairs_outside_window > 0);
    assert_int_equal(st.edges, 1);
    bw_botnet_result_free(r);

    bw_botnet_config cfg;
    bw_botnet_config_default(&cfg);
    cfg.ip_window = cfg.subnet_window = 60 * DAY;
    r = infer(&cfg, &in);
    assert_int_equal(bw_botnet_result_count(r), 1);
    bw_botnet_result_free(r);

    // Overlapping or touching intervals are always within the window, even of 0.
    cfg.ip_window = cfg.subnet_window = 0;
    memset(&in, 0, sizeof in);
    pool_campaign(&in, 0, 1, 100, T0, NULL);
    pool_campaign(&in, 0, 2, 100, T0 + 3600, NULL);
    r = infer(&cfg, &in);
    assert_int_equal(bw_botnet_result_count(r), 1);
    bw_botnet_result_free(r);
}

// A larger random input: 12 pools, 150 campaigns, noise sightings.
static uint64_t rng_state;
static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)((rng_state >> 33) % n);
}

static void random_input(input *in)
{
    memset(in, 0, sizeof *in);
    rng_state = 42;
    for (uint64_t id = 1; id <= 150; id++) {
        unsigned pool = (unsigned)(id % 12);
        int64_t t = T0 + (int64_t)rnd(10) * DAY;
        add_campaign(in, id * 7, 20 + rnd(500), t, t + DAY, pool % 3 == 0 ? "storm" : NULL);
        unsigned k = 5 + rnd(60);
        for (unsigned j = 0; j < k; j++)
            add_sighting(in, id * 7, zombie(pool, rnd(200)), t + rnd(DAY), t + DAY);
        if (rnd(4) == 0)   // a stray zombie of another pool
            add_sighting(in, id * 7, zombie(rnd(12), rnd(200)), t, t);
    }
    add_sighting(in, 12345, zombie(0, 0), T0, T0);   // unknown campaign
}

static void compare_results(const bw_botnet_result *a, const bw_botnet_result *b, const input *in)
{
    assert_int_equal(bw_botnet_result_count(a), bw_botnet_result_count(b));
    for (size_t i = 0; i < in->nc; i++)
        assert_int_equal(bw_botnet_result_campaign(a, in->camps[i].id), bw_botnet_result_campaign(b, in->camps[i].id));
    for (uint64_t id = 1; id <= bw_botnet_result_count(a); id++) {
        bw_botnet_info x, y;
        assert_int_equal(bw_botnet_result_get(a, id, &x), BW_OK);
        assert_int_equal(bw_botnet_result_get(b, id, &y), BW_OK);
        assert_int_equal(x.campaigns, y.campaigns);
        assert_memory_equal(x.campaign_ids, y.campaign_ids, x.campaigns * sizeof *x.campaign_ids);
        assert_int_equal(x.sender_ips, y.sender_ips);
        assert_memory_equal(x.ips, y.ips, x.ip_count * sizeof *x.ips);
        assert_int_equal(x.subnets24, y.subnets24);
        assert_int_equal(x.messages, y.messages);
        assert_int_equal(x.first_seen, y.first_seen);
        assert_int_equal(x.last_seen, y.last_seen);
        assert_string_equal(x.label, y.label);
    }
    bw_botnet_stats sa, sb;
    bw_botnet_result_stats(a, &sa);
    bw_botnet_result_stats(b, &sb);
    assert_int_equal(sa.edges, sb.edges);
    assert_true(sa.modularity == sb.modularity);
}

static void order_independence(void **state)
{
    (void)state;
    static input in, shuffled;
    random_input(&in);
    bw_botnet_result *ref = infer(NULL, &in);
    bw_botnet_stats st;
    bw_botnet_result_stats(ref, &st);
    assert_int_equal(st.sightings_unknown, 1);
    // The pools come out (12 botnets, give or take a campaign without shared zombies).
    assert_true(bw_botnet_result_count(ref) >= 12 && bw_botnet_result_count(ref) <= 20);
    for (uint64_t seed = 1; seed <= 5; seed++) {
        shuffled = in;
        rng_state = seed * 977;
        for (size_t i = shuffled.nc; i > 1; i--) {
            size_t j = rnd((uint32_t)i);
            bw_botnet_campaign t = shuffled.camps[i - 1];
            shuffled.camps[i - 1] = shuffled.camps[j];
            shuffled.camps[j] = t;
        }
        for (size_t i = shuffled.ns; i > 1; i--) {
            size_t j = rnd((uint32_t)i);
            bw_botnet_sighting t = shuffled.sights[i - 1];
            shuffled.sights[i - 1] = shuffled.sights[j];
            shuffled.sights[j] = t;
        }
        bw_botnet_result *r = infer(NULL, &shuffled);
        compare_results(ref, r, &in);
        bw_botnet_result_free(r);
    }
    bw_botnet_result_free(ref);
}

static void limits(void **state)
{
    (void)state;
    static input in;
    two_pools(&in);
    bw_botnet_config cfg;
    bw_botnet_stats st;
    bw_botnet_result *r;

    // max_campaigns: the largest kept, the others have botnet 0 and their sightings count.
    bw_botnet_config_default(&cfg);
    cfg.min_subnets = 0;   // count every community, reported or not
    cfg.max_campaigns = 3;
    r = infer(&cfg, &in);
    bw_botnet_result_stats(r, &st);
    assert_int_equal(st.campaigns, 3);
    assert_int_equal(st.campaigns_dropped, 5);
    assert_int_equal(st.sightings_dropped, 5 * 20);   // campaigns 1, 5..8
    assert_int_equal(bw_botnet_result_campaign(r, 4), 1);
    assert_int_equal(bw_botnet_result_campaign(r, 1), 0);
    assert_int_equal(bw_botnet_result_campaign(r, 8), 0);
    bw_botnet_result_free(r);

    // max_campaigns_per_ip: every zombie is in more than one campaign -> no edges.
    bw_botnet_config_default(&cfg);
    cfg.min_subnets = 0;   // count every community, reported or not
    cfg.max_campaigns_per_ip = 1;
    cfg.max_campaigns_per_subnet = 1;
    r = infer(&cfg, &in);
    bw_botnet_result_stats(r, &st);
    assert_int_equal(st.edges, 0);
    assert_true(st.ips_too_shared > 0 && st.subnets_too_shared > 0);
    assert_int_equal(bw_botnet_result_count(r), 8);
    bw_botnet_result_free(r);

    // max_edges_per_campaign: one edge per side at most.
    bw_botnet_config_default(&cfg);
    cfg.min_subnets = 0;   // count every community, reported or not
    cfg.max_edges_per_campaign = 1;
    r = infer(&cfg, &in);
    bw_botnet_result_stats(r, &st);
    assert_true(st.edges_dropped > 0);
    assert_true(st.edges <= 8);
    bw_botnet_result_free(r);

    // max_sightings: whole campaigns by size while they fit: 4 (22 sightings), 3, 2 (20
    // each) make 62; campaign 1 would make 82 > 80, so it and all smaller ones are cut.
    bw_botnet_config_default(&cfg);
    cfg.min_subnets = 0;   // count every community, reported or not
    cfg.max_sightings = 80;
    r = infer(&cfg, &in);
    bw_botnet_result_stats(r, &st);
    assert_int_equal(st.sightings, 62);
    assert_int_equal(st.sightings_dropped, in.ns - 62);
    bw_botnet_info b;
    assert_int_equal(bw_botnet_result_get(r, 1, &b), BW_OK);
    assert_int_equal(b.campaigns, 3);
    assert_int_equal(b.campaign_ids[0], 2);
    assert_int_equal(bw_botnet_result_count(r), 6);   // 1, 5, 6, 7, 8 alone
    bw_botnet_result_free(r);

    // min_weight: nothing is heavy enough.
    bw_botnet_config_default(&cfg);
    cfg.min_subnets = 0;   // count every community, reported or not
    cfg.min_weight = 1.0;
    r = infer(&cfg, &in);
    bw_botnet_result_stats(r, &st);
    assert_int_equal(st.edges, 0);
    assert_true(st.edges_light > 0);
    bw_botnet_result_free(r);

    // A repeated campaign id and a bad config are errors naming the problem.
    char err[BW_ERRBUF_SIZE];
    bw_botnet_result *out = NULL;
    in.camps[1].id = in.camps[0].id;
    assert_int_equal(bw_botnet_infer(NULL, in.camps, in.nc, in.sights, in.ns, &out, err), BW_ERR_INVALID);
    assert_non_null(strstr(err, "given twice"));
    assert_null(out);
    bw_botnet_config_default(&cfg);
    cfg.min_subnets = 0;   // count every community, reported or not
    cfg.resolution = 0;
    assert_int_equal(bw_botnet_infer(&cfg, NULL, 0, NULL, 0, &out, err), BW_ERR_INVALID);

    // Nothing in, nothing out.
    assert_int_equal(bw_botnet_infer(NULL, NULL, 0, NULL, 0, &out, err), BW_OK);
    assert_int_equal(bw_botnet_result_count(out), 0);
    bw_botnet_result_free(out);
}

static void repeats_and_ipv6(void **state)
{
    (void)state;
    static input in;
    memset(&in, 0, sizeof in);
    add_campaign(&in, 10, 5, T0, T0, "x");
    add_campaign(&in, 11, 5, T0, T0, "x");
    bw_ip a, b, c;
    assert_true(bw_ip_parse(bw_slice_cstr("2001:db8:1:2::5"), &a));
    assert_true(bw_ip_parse(bw_slice_cstr("2001:db8:1:2::9"), &b));
    assert_true(bw_ip_parse(bw_slice_cstr("2001:db8:1:3::9"), &c));
    // Repeats of (campaign, ip) merge; two /64s, three IPs.
    add_sighting(&in, 10, a, T0, T0);
    add_sighting(&in, 10, a, T0 + 5, T0 + 9);
    add_sighting(&in, 10, b, T0, T0);
    add_sighting(&in, 10, c, T0, T0);
    add_sighting(&in, 11, a, T0, T0);
    add_sighting(&in, 11, b, T0, T0);
    bw_botnet_config cfg;
    bw_botnet_config_default(&cfg);
    cfg.min_subnets = 2;   // two /64s: reported
    bw_botnet_result *r = infer(&cfg, &in);
    bw_botnet_stats st;
    bw_botnet_result_stats(r, &st);
    assert_int_equal(st.sightings, 5);
    assert_int_equal(st.distinct_ips, 3);
    assert_int_equal(st.distinct_subnets, 2);
    assert_int_equal(bw_botnet_result_count(r), 1);
    bw_botnet_info info;
    assert_int_equal(bw_botnet_result_get(r, 1, &info), BW_OK);
    assert_int_equal(info.sender_ips, 3);
    assert_int_equal(info.subnets24, 2);
    assert_string_equal(info.label, "x");
    bw_botnet_result_free(r);
}

// Only communities sent from at least min_subnets /24s are reported; the campaigns of the
// others map to botnet 0 and do not take an id.
static void min_subnets_reporting(void **state)
{
    (void)state;
    static input in;
    two_pools(&in);
    // A mail server: two campaigns from the same two addresses of one /24.
    bw_ip s1, s2;
    assert_true(bw_ip_parse(bw_slice_cstr("192.0.2.10"), &s1));
    assert_true(bw_ip_parse(bw_slice_cstr("192.0.2.11"), &s2));
    add_campaign(&in, 20, 5000, T0, T0 + 60, NULL);   // the largest community by messages
    add_campaign(&in, 21, 5000, T0, T0 + 60, NULL);
    add_sighting(&in, 20, s1, T0, T0);
    add_sighting(&in, 20, s2, T0, T0);
    add_sighting(&in, 21, s1, T0, T0);
    add_sighting(&in, 21, s2, T0, T0);
    bw_botnet_result *r = infer(NULL, &in);
    assert_int_equal(bw_botnet_result_count(r), 2);
    assert_int_equal(bw_botnet_result_campaign(r, 20), 0);
    assert_int_equal(bw_botnet_result_campaign(r, 21), 0);
    assert_int_equal(bw_botnet_result_campaign(r, 1), 1);
    assert_int_equal(bw_botnet_result_campaign(r, 5), 2);
    bw_botnet_stats st;
    bw_botnet_result_stats(r, &st);
    assert_int_equal(st.botnets, 2);
    assert_int_equal(st.campaigns_unattributed, 2);
    bw_botnet_result_free(r);

    // With the bar at one network the server cluster is a botnet, and the largest.
    bw_botnet_config cfg;
    bw_botnet_config_default(&cfg);
    cfg.min_subnets = 1;
    r = infer(&cfg, &in);
    assert_int_equal(bw_botnet_result_count(r), 3);
    assert_int_equal(bw_botnet_result_campaign(r, 20), 1);
    assert_int_equal(bw_botnet_result_campaign(r, 21), 1);
    bw_botnet_result_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(two_cliques_weak_edge),
        cmocka_unit_test(label_majority),
        cmocka_unit_test(window),
        cmocka_unit_test(order_independence),
        cmocka_unit_test(limits),
        cmocka_unit_test(repeats_and_ipv6),
        cmocka_unit_test(min_subnets_reporting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
