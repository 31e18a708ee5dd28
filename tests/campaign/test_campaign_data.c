// SPDX-License-Identifier: MIT
// Campaign clustering on data: a small spamsim stream must be clustered with B-cubed F1 >=
// 0.95, and hand-picked near-duplicate groups of real SpamAssassin spam must each land in
// one campaign while different groups stay apart. The SpamAssassin messages go through the
// real parser and mail analyzer (bw_mime + bw_mail) and bw_campaign_msg_from_mail(), as
// ingest will. Skips, saying why, when the data is absent.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "botwatch/campaign.h"
#include "botwatch/mail.h"
#include "botwatch/mime.h"
#include "spamsim_campaign.h"
#include "spamsim_gen.h"

static const bw_hash_key KEY = { 0x1111222233334444ULL, 0x5555666677778888ULL };

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

// B-cubed F1 of pred against truth (both small: quadratic-free via sorted cell keys).
static double bcubed_f1(const uint64_t *pred, const uint32_t *truth, size_t n, double *prec, double *rec)
{
    uint64_t *cell = malloc(n * sizeof *cell), *p = malloc(n * sizeof *p), *t = malloc(n * sizeof *t);
    for (size_t i = 0; i < n; i++) {
        cell[i] = pred[i] << 20 | truth[i];
        p[i] = pred[i];
        t[i] = truth[i];
    }
    qsort(cell, n, sizeof *cell, cmp_u64);
    qsort(p, n, sizeof *p, cmp_u64);
    qsort(t, n, sizeof *t, cmp_u64);
    double ps = 0, rs = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && cell[j] == cell[i])
            j++;
        double c = (double)(j - i);
        uint64_t pk = cell[i] >> 20, tk = cell[i] & 0xfffff;
        // sizes of the predicted and true clusters
        size_t lo = 0, hi = n;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (p[mid] < pk)
                lo = mid + 1;
            else
                hi = mid;
        }
        size_t ps_n = 0;
        while (lo + ps_n < n && p[lo + ps_n] == pk)
            ps_n++;
        lo = 0, hi = n;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (t[mid] < tk)
                lo = mid + 1;
            else
                hi = mid;
        }
        size_t ts_n = 0;
        while (lo + ts_n < n && t[lo + ts_n] == tk)
            ts_n++;
        ps += c * c / (double)ps_n;
        rs += c * c / (double)ts_n;
        i = j;
    }
    free(cell), free(p), free(t);
    *prec = ps / (double)n;
    *rec = rs / (double)n;
    return 2 * *prec * *rec / (*prec + *rec);
}

static void test_spamsim_stream(void **state)
{
    (void)state;
    spamsim_config cfg;
    spamsim_config_default(&cfg);
    cfg.seed = 7;
    cfg.messages = 5000;
    cfg.campaigns = 50;
    cfg.botnets = 6;
    cfg.days = 7;
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
    // The same stream through the split API (as ingest runs it): identical assignments.
    bw_campaign_index *split = bw_campaign_index_new(&cc, NULL);
    assert_non_null(split);
    bw_campaign_prepared prep = BW_CAMPAIGN_PREPARED_INIT;
    bw_campaign_token_cache *cache = bw_campaign_token_cache_new();
    size_t n = spamsim_count(sim);
    assert_int_equal(n, 5000);
    uint64_t *pred = malloc(n * sizeof *pred);
    uint32_t *truth = malloc(n * sizeof *truth);
    spamsim_msg m;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(spamsim_render(sim, i, &m), 0);
        bw_campaign_msg cm = spamsim_campaign_msg(&m);
        bw_campaign_assignment a, b;
        assert_int_equal(bw_campaign_index_add(x, &cm, &a), BW_OK);
        assert_int_equal(bw_campaign_prepare_cached(&cc, &cm, cache, &prep), BW_OK);
        assert_int_equal(bw_campaign_index_add_prepared(split, &cm, &prep, &b), BW_OK);
        assert_int_equal(a.campaign_id, b.campaign_id);
        assert_true(a.similarity == b.similarity);
        pred[i] = a.campaign_id;
        truth[i] = m.campaign;
    }
    bw_campaign_prepared_free(&prep);
    bw_campaign_token_cache_free(cache);
    bw_campaign_index_free(split);
    double p, r;
    double f1 = bcubed_f1(pred, truth, n, &p, &r);
    bw_campaign_stats st;
    bw_campaign_index_stats(x, &st);
    print_message("spamsim 5000/50/6: B-cubed P %.4f R %.4f F1 %.4f, %llu campaigns\n", p, r, f1,
                  (unsigned long long)st.campaigns_created);
    assert_true(f1 >= 0.95);
    free(pred);
    free(truth);
    bw_campaign_index_free(x);
    spamsim_free(sim);
}

// Near-duplicate groups in the SpamAssassin spam, picked by hand: each is one mailing sent
// to different recipients (the To: differs; the body is the same template, sometimes with
// a different tracking number, link or signature). Different groups are different
// mailings, so they must not share a campaign.
static const char *const GROUPS[][5] = {
    // "FORTUNE 500 COMPANY HIRING, AT HOME REPS." to mike23@ and byrt5@hotmail.com, text/plain
    { "spam-1/00007.d8521faf753ff9ee989122f6816f87d7.txt", "spam-1/00043.548c447db5d9ba3f5546de96baa9b0e6.txt",
      "spam-1/00051.fd20658f0e586d1f27f9396401f4981c.txt", NULL },
    // "BANNED CD! BANNED CD!" to urgent@ and members@dogma.slashnull.org, text/plain cp1252
    { "spam-2/00629.5feadfcb7530c08a54c98178600b2f70.txt", "spam-2/00676.db7b2b22e127c1a69e369bc62f7fcedb.txt",
      NULL },
    // Known different under the same subject: "BANNED CD! BANNED CD!" again, but the body
    // sells the "Bulker CD 2003" (a different product and text): its own campaign.
    { "spam-2/00657.7e326e955029c898a6ddf27e3c79cdf0.txt", NULL },
    // "New Version 7: Uncover the TRUTH about ANYONE!" to pairs of aol.com users, text/plain
    { "spam-1/00444.33afc8c1f9cea3100ca8502e8a785259.txt", "spam-2/00914.b4f1e9f517f85e68f8326f3a1525ebc2.txt",
      "spam-2/00995.694aa424a2433d32b9e4997edeeed9b2.txt", "spam-2/01333.1e5a572d1c326c109f613a9d2137acc8.txt",
      NULL },
    // "ADV: Search Engine Placement" to Website@/Web.Site@ of netnoteinc hosts, text/plain
    { "spam-2/00211.4a52fb081c7087c4a82402342751e755.txt", "spam-2/00306.9e12acdecaf3825733a1aadc2455b166.txt",
      "spam-2/00597.77c914c24bd38a4cfa7ef06aae438d17.txt", "spam-2/00925.6ba2770acb214c661a26e54b4d03c119.txt",
      NULL },
    // "Harvest lots of E-mail addresses quickly !" to list addresses, HTML
    { "spam-1/00200.bacd4b2168049778b480367ca670254f.txt", "spam-2/00964.59eef46bf356dffc1102aba1dc34f4ca.txt",
      "spam-2/00965.2003cb62905ba569e7599826ed228c94.txt", NULL },
};
#define NGROUPS (sizeof GROUPS / sizeof GROUPS[0])

static void test_spamassassin_groups(void **state)
{
    (void)state;
    char dir[4096];
    if (!spamsim_data_dir("BW_DATA", "npm-spam-assassin/package/data", dir, sizeof dir)) {
        print_message("skipping: BW_DATA not set\n");
        skip();
    }
    bw_campaign_config cc;
    bw_campaign_config_default(&cc);
    cc.key = KEY;
    bw_campaign_index *x = bw_campaign_index_new(&cc, NULL);
    bw_mime_parser *parser = bw_mime_parser_new(NULL);
    char errbuf[BW_ERRBUF_SIZE];
    bw_mail_analyzer *analyzer = bw_mail_analyzer_new(NULL, errbuf);
    assert_non_null(parser);
    assert_non_null(analyzer);
    uint64_t ids[NGROUPS][5];
    for (size_t g = 0; g < NGROUPS; g++) {
        for (size_t k = 0; GROUPS[g][k]; k++) {
            char path[8192];
            snprintf(path, sizeof path, "%s/%s", dir, GROUPS[g][k]);
            FILE *f = fopen(path, "rb");
            if (!f) {
                print_message("skipping: %s missing\n", path);
                bw_campaign_index_free(x);
                bw_mail_analyzer_free(analyzer);
                bw_mime_parser_free(parser);
                skip();
            }
            static char raw[1 << 20];
            size_t n = fread(raw, 1, sizeof raw, f);
            fclose(f);
            const bw_message *msg;
            bw_mail_record rec;
            assert_int_equal(bw_mime_parse(parser, raw, n, &msg), BW_OK);
            assert_int_equal(bw_mail_analyze(analyzer, msg, &rec), BW_OK);
            bw_campaign_msg m;
            memset(&m, 0, sizeof m);
            bw_campaign_msg_from_mail(&rec, &m);
            // The real messages' times are spread over months: one time for all, so this
            // tests the text clustering, not the idle window.
            m.id = g * 10 + k;
            m.time = 1030000000;
            bw_campaign_assignment a;
            assert_int_equal(bw_campaign_index_add(x, &m, &a), BW_OK);
            ids[g][k] = a.campaign_id;
            print_message("%s -> campaign %llu (similarity %.2f)\n", GROUPS[g][k], (unsigned long long)a.campaign_id,
                          a.similarity);
        }
    }
    for (size_t g = 0; g < NGROUPS; g++) {
        for (size_t k = 1; GROUPS[g][k]; k++)
            assert_int_equal(ids[g][k], ids[g][0]);
        for (size_t h = 0; h < g; h++)
            assert_int_not_equal(ids[g][0], ids[h][0]);
    }
    bw_campaign_summary s;
    assert_int_equal(bw_campaign_index_get(x, ids[0][0], &s), BW_OK);
    print_message("template of group 0: %.*s\n", (int)(s.template_text.n < 400 ? s.template_text.n : 400),
                  s.template_text.p);
    assert_int_equal(s.messages, 3);
    bw_campaign_index_free(x);
    bw_mail_analyzer_free(analyzer);
    bw_mime_parser_free(parser);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spamsim_stream),
        cmocka_unit_test(test_spamassassin_groups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
