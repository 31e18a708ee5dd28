// SPDX-License-Identifier: MIT
// The beacon acceptance check of bench/beacons, small enough for CI: a few hundred flowsim
// hosts with beacons inside the acceptance region (jitter <= 30%, <= 20% missed calls, live
// and dead controllers, periods 10 s - 1 h), P2P bots and spam zombies. Asserts recall >= 95%,
// no false positive among the benign hosts (<= 1 per 1,000 needs 0 here), and that the P2P
// bots and spam zombies top their tables.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "botwatch/flowscore.h"
#include "flowsim_gen.h"

static void feed(const bw_flow *f, void *ctx) { bw_flowscore_add(ctx, f); }

static void test_simulated_network(void **state)
{
    (void)state;
    flowsim_config cfg;
    flowsim_config_default(&cfg);
    cfg.seed = 2026;
    cfg.hosts = 300;
    cfg.activity = 0.5;
    cfg.beacons = 60;
    cfg.jitter_max = 0.3;
    cfg.missed_max = 0.2;
    cfg.p2p_bots = 2;
    cfg.spam_zombies = 2;
    char err[BW_ERRBUF_SIZE];
    bw_flowscore *fs = bw_flowscore_new(NULL, err);
    assert_non_null(fs);
    flowsim_result sim;
    assert_int_equal(flowsim_run(&cfg, feed, fs, &sim), 0);
    assert_int_equal(bw_flowscore_finish(fs, err), BW_OK);
    size_t nb, np, ns;
    const bw_beacon *b = bw_flowscore_beacons(fs, &nb);
    const bw_p2p_host *p = bw_flowscore_p2p(fs, &np);
    const bw_smtp_host *s = bw_flowscore_smtp(fs, &ns);

    unsigned injected = 0, found = 0, p2p_top = 0, smtp_top = 0;
    for (size_t i = 0; i < sim.n_truth; i++) {
        const flowsim_truth *t = &sim.truth[i];
        if (t->kind == FLOWSIM_BEACON) {
            injected++;
            for (size_t k = 0; k < nb; k++)
                if (!bw_ip_cmp(&b[k].src, &t->src) && !bw_ip_cmp(&b[k].dst, &t->dst)) {
                    found++;
                    break;
                }
        } else if (t->kind == FLOWSIM_P2P) {
            for (size_t k = 0; k < np && k < cfg.p2p_bots; k++)
                p2p_top += !bw_ip_cmp(&p[k].src, &t->src);
        } else if (t->kind == FLOWSIM_SPAM) {
            for (size_t k = 0; k < ns && k < cfg.spam_zombies; k++)
                smtp_top += !bw_ip_cmp(&s[k].src, &t->src);
        }
    }
    unsigned fp = 0;
    for (size_t k = 0; k < nb; k++)
        for (size_t h = 0; h < sim.n_hosts; h++)
            if (!sim.infected[h] && !bw_ip_cmp(&sim.hosts[h], &b[k].src)) {
                fp++;
                break;
            }
    printf("# %llu flows: beacons found %u/%u, false positives %u, p2p top %u/%u, smtp top %u/%u\n",
           (unsigned long long)sim.flows, found, injected, fp, p2p_top, cfg.p2p_bots, smtp_top, cfg.spam_zombies);
    assert_true(found * 100 >= injected * 95);
    assert_int_equal(fp, 0);
    assert_int_equal(p2p_top, cfg.p2p_bots);
    assert_int_equal(smtp_top, cfg.spam_zombies);
    assert_true(np <= cfg.p2p_bots + 2);   // benign browsing hosts are not P2P bots
    assert_int_equal(ns, cfg.spam_zombies);
    flowsim_result_free(&sim);
    bw_flowscore_free(fs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simulated_network),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
