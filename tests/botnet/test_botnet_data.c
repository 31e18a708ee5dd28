// SPDX-License-Identifier: MIT
// Botnet inference on a small spamsim stream: messages are clustered by the real campaign
// index, (campaign, sender IP) sightings are aggregated as the store query does, and the
// inferred botnets must match spamsim's truth botnets with message-weighted purity and
// inverse purity >= 0.9 each, whatever the order of the input arrays. Campaigns carry the
// family name of their zombies as a label (what a mailer-habit rule would say), and every
// large botnet must be named after its family. Skips, saying why, when the data is absent.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "botwatch/botnet.h"
#include "botwatch/campaign.h"
#include "spamsim_campaign.h"
#include "spamsim_gen.h"

static const bw_hash_key KEY = { 0x1111222233334444ULL, 0x5555666677778888ULL };

static void test_spamsim_botnets(void **state)
{
    (void)state;
    spamsim_config cfg;
    spamsim_config_default(&cfg);
    cfg.seed = 11;
    cfg.messages = 20000;
    cfg.campaigns = 60;
    cfg.botnets = 6;
    cfg.days = 10;
    spamsim_data_paths paths;
    char errbuf[256];
    spamsim *sim = spamsim_from_env(&cfg, &paths, errbuf);
    if (!sim) {
        print_message("skipping: spamsim data unavailable: %s\n", errbuf);
        skip();
    }
    bw_campaign_config cc;
    bw_campaign_config_default(&cc);
    cc.key = KEY;
    bw_campaign_index *x = bw_campaign_index_new(&cc, NULL);
    assert_non_null(x);
    size_t n = spamsim_count(sim);
    spamsim_sender *msgs = malloc(n * sizeof *msgs);
    assert_non_null(msgs);
    spamsim_msg m;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(spamsim_render(sim, i, &m), 0);
        bw_campaign_msg cm = spamsim_campaign_msg(&m);
        bw_campaign_assignment a;
        assert_int_equal(bw_campaign_index_add(x, &cm, &a), BW_OK);
        msgs[i] = (spamsim_sender){ a.campaign_id, m.botnet, { { 0 } }, m.time };
        assert_true(bw_ip_parse(bw_slice_cstr(m.sender_ip), &msgs[i].ip));
    }
    bw_campaign_index_free(x);

    // Campaigns and sightings, as ingest reads them from the store. Each campaign is
    // labelled with the family of the botnet most of its messages came from.
    qsort(msgs, n, sizeof *msgs, spamsim_sender_cmp);
    bw_botnet_campaign *camps = calloc(n, sizeof *camps);
    bw_botnet_sighting *sights = calloc(n, sizeof *sights);
    size_t nc = 0, ns = 0;
    unsigned votes[64];
    for (size_t i = 0; i < n; i++) {
        if (nc == 0 || camps[nc - 1].id != msgs[i].campaign)
            memset(votes, 0, sizeof votes);
        bw_botnet_campaign *c = spamsim_botnet_add(camps, &nc, sights, &ns, &msgs[i]);
        votes[msgs[i].botnet % 64]++;
        unsigned best = 0;
        for (unsigned b = 1; b < 64; b++)
            if (votes[b] > votes[best])
                best = b;
        c->labels = spamsim_botnet_name(sim, best);
    }

    bw_botnet_result *r = NULL, *rev = NULL;
    assert_int_equal(bw_botnet_infer(NULL, camps, nc, sights, ns, &r, errbuf), BW_OK);
    // Reversed input arrays: the same botnets.
    for (size_t i = 0; i < nc / 2; i++) {
        bw_botnet_campaign t = camps[i];
        camps[i] = camps[nc - 1 - i];
        camps[nc - 1 - i] = t;
    }
    for (size_t i = 0; i < ns / 2; i++) {
        bw_botnet_sighting t = sights[i];
        sights[i] = sights[ns - 1 - i];
        sights[ns - 1 - i] = t;
    }
    assert_int_equal(bw_botnet_infer(NULL, camps, nc, sights, ns, &rev, errbuf), BW_OK);
    assert_int_equal(bw_botnet_result_count(r), bw_botnet_result_count(rev));
    for (size_t i = 0; i < nc; i++)
        assert_int_equal(bw_botnet_result_campaign(r, camps[i].id), bw_botnet_result_campaign(rev, camps[i].id));
    bw_botnet_result_free(rev);

    uint64_t *pred = malloc(n * sizeof *pred);
    uint32_t *truth = malloc(n * sizeof *truth);
    size_t unattributed = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t b = bw_botnet_result_campaign(r, msgs[i].campaign);
        if (b == 0) {   // a campaign sent from under min_subnets /24s: its own cell
            unattributed++;
            b = (1ull << 40) + msgs[i].campaign;
        }
        pred[i] = b;
        truth[i] = msgs[i].botnet;
    }
    double pur, inv;
    size_t pred_clusters, true_clusters;
    spamsim_purity(pred, truth, n, &pur, &inv, &pred_clusters, &true_clusters);
    size_t big = 0;
    for (uint64_t id = 1; id <= bw_botnet_result_count(r); id++) {
        bw_botnet_info bi;
        assert_int_equal(bw_botnet_result_get(r, id, &bi), BW_OK);
        if (bi.messages * 100 < n)
            continue;
        big++;
        // Named after the family that sent it.
        size_t family[64] = { 0 };
        for (size_t i = 0; i < n; i++)
            if (bw_botnet_result_campaign(r, msgs[i].campaign) == id)
                family[msgs[i].botnet % 64]++;
        unsigned best = 0;
        for (unsigned b = 1; b < 64; b++)
            if (family[b] > family[best])
                best = b;
        assert_string_equal(bi.label, spamsim_botnet_name(sim, best));
    }
    bw_botnet_stats st;
    bw_botnet_result_stats(r, &st);
    print_message("spamsim 20000/60/6: botnet purity %.4f, inverse purity %.4f, %zu botnets (%zu with >= 1%% "
                  "of messages) from %zu campaigns, %zu edges; %zu messages (%zu campaigns) in no botnet\n",
                  pur, inv, bw_botnet_result_count(r), big, nc, st.edges, unattributed, st.campaigns_unattributed);
    assert_true(pur >= 0.9);
    assert_true(inv >= 0.9);
    assert_int_equal(big, 6);
    // Botnet ids go to real botnets, not to the split-off fragments of their campaigns
    // (before min_subnets, every one-message fragment was a botnet of its own).
    assert_true(bw_botnet_result_count(r) <= big + 2);
    assert_true(unattributed * 100 < n);   // fragments too small to report: under 1%
    free(pred);
    free(truth);
    bw_botnet_result_free(r);
    free(camps);
    free(sights);
    free(msgs);
    spamsim_free(sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spamsim_botnets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
