// SPDX-License-Identifier: MIT
// Unit tests for campaign clustering: the normalisation table, case folding, MinHash
// estimates against exact Jaccard, LSH recall at the threshold, template inference,
// limits, eviction, persistence and determinism. Stream-level tests (spamsim, SpamAssassin)
// are in test_campaign_data.c.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "botwatch/campaign.h"
#include "campaign_internal.h"

static const bw_hash_key KEY = { 0x0123456789abcdefULL, 0xfedcba9876543210ULL };

static char *normalize(const char *subject, const char *text, const char *rcpt_addr, const char *rcpt_name,
                       unsigned *flags)
{
    bw_buf out = BW_BUF_INIT;
    assert_int_equal(bw_campaign_normalize(NULL, bw_slice_cstr(subject), bw_slice_cstr(text),
                                           bw_slice_cstr(rcpt_addr), bw_slice_cstr(rcpt_name), &out, NULL, flags),
                     BW_OK);
    return out.p;
}

static void test_normalize_table(void **state)
{
    (void)state;
    static const struct {
        const char *subject, *text, *rcpt_addr, *rcpt_name, *expect;
    } cases[] = {
        { "Hello World", "", "", "", "hello world" },
        { "", "Price: $1,299.95 only!", "", "", "price <num> only" },
        { "", "Call 1-800-555-0123 now", "", "", "call <num> now" },
        { "", "Visit http://www.cheap-meds.example.com/buy?id=42 today", "", "", "visit <url:dom> today" },
        { "", "Go to <http://192.0.2.7/x> or hxxp://198.51.100.1:8080/", "", "", "go to <url:ip> or <url:ip>" },
        { "", "see www.example.org.", "", "", "see <url:dom>" },
        { "", "mail sales@shop.example or mailto:info@x.example.net", "", "", "mail <email> or <email>" },
        { "", "Dear John Smith, write to john.smith@trap.example", "john.smith@trap.example", "John Smith",
          "dear <rcpt> <rcpt> write to <rcpt>" },
        { "", "Ref deadbeef0042 and ZXhhbXBsZTEyMzQ1Njc4OQ==", "", "", "ref <hex> and <b64>" },
        { "", "Order #AB12345 shipped", "", "", "order <id> shipped" },
        { "", "don't STOP", "", "", "dont stop" },
        { "", "\xc3\x89T\xc3\x89 \xc3\x84RGER \xce\xa3\xce\x9f\xce\xa6\xce\x99\xce\x91 \xd0\x9f\xd0\xa0\xd0\x98\xd0\x92\xd0\x95\xd0\xa2",
          "", "", "\xc3\xa9t\xc3\xa9 \xc3\xa4rger \xcf\x83\xce\xbf\xcf\x86\xce\xb9\xce\xb1 \xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82" },
        { "", "one\xe2\x80\x94two\xc2\xa0three", "", "", "one two three" },
        { "Re: [spam]", "  \t\r\n  ", "", "", "re spam" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = normalize(cases[i].subject, cases[i].text, cases[i].rcpt_addr, cases[i].rcpt_name, NULL);
        if (strcmp(got, cases[i].expect) != 0)
            print_error("case %zu: got \"%s\", want \"%s\"\n", i, got, cases[i].expect);
        assert_string_equal(got, cases[i].expect);
        free(got);
    }
}

static void test_fold(void **state)
{
    (void)state;
    static const uint32_t pairs[][2] = {
        { 'A', 'a' }, { 'z', 'z' }, { 0xC0, 0xE0 }, { 0xD7, 0xD7 }, { 0xDE, 0xFE }, { 0xDF, 0xDF },
        { 0x100, 0x101 }, { 0x139, 0x13A }, { 0x14A, 0x14B }, { 0x178, 0xFF }, { 0x17D, 0x17E },
        { 0x391, 0x3B1 }, { 0x3A3, 0x3C3 }, { 0x3C2, 0x3C3 }, { 0x386, 0x3AC }, { 0x401, 0x451 },
        { 0x410, 0x430 }, { 0x42F, 0x44F }, { 0x4E00, 0x4E00 }, { 0xB5, 0x3BC },
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        assert_int_equal(bw_campaign_fold(pairs[i][0]), pairs[i][1]);
}

static void test_normalize_limits(void **state)
{
    (void)state;
    bw_campaign_norm_limits limits = { .max_input_bytes = 1000, .max_tokens = 5, .max_token_bytes = 8 };
    bw_buf out = BW_BUF_INIT;
    size_t tokens;
    unsigned flags;
    assert_int_equal(bw_campaign_normalize(&limits, BW_SLICE_NULL, bw_slice_cstr("a b c d e f g extraordinarily"),
                                           BW_SLICE_NULL, BW_SLICE_NULL, &out, &tokens, &flags), BW_OK);
    assert_int_equal(tokens, 5);
    assert_string_equal(out.p, "a b c d e");
    assert_true(flags & BW_NORM_TOKEN_LIMIT);
    bw_buf_clear(&out);
    assert_int_equal(bw_campaign_normalize(&limits, BW_SLICE_NULL, bw_slice_cstr("extraordinarily"),
                                           BW_SLICE_NULL, BW_SLICE_NULL, &out, &tokens, &flags), BW_OK);
    assert_string_equal(out.p, "extraord");
    assert_true(flags & BW_NORM_LONG_TOKEN);
    bw_buf_clear(&out);
    limits.max_input_bytes = 3;
    assert_int_equal(bw_campaign_normalize(&limits, bw_slice_cstr("abcdef"), bw_slice_cstr("ghi"),
                                           BW_SLICE_NULL, BW_SLICE_NULL, &out, &tokens, &flags), BW_OK);
    assert_string_equal(out.p, "abc");
    assert_true(flags & BW_NORM_INPUT_LIMIT);
    bw_buf_clear(&out);
    assert_int_equal(bw_campaign_normalize(NULL, BW_SLICE_NULL, bw_slice_cstr("bad \xff\xfe utf8"),
                                           BW_SLICE_NULL, BW_SLICE_NULL, &out, &tokens, &flags), BW_OK);
    assert_string_equal(out.p, "bad utf8");
    assert_true(flags & BW_NORM_BAD_UTF8);
    bw_buf_free(&out);
}

// Words numbered start..end-1, spelt in letters (digits would normalise to <id>): token
// sets whose Jaccard we know exactly.
static void token_range(bw_buf *b, unsigned start, unsigned end)
{
    bw_buf_clear(b);
    for (unsigned i = start; i < end; i++) {
        char w[16];
        size_t n = 0;
        for (unsigned v = i; n == 0 || v > 0; v /= 26)
            w[n++] = (char)('a' + v % 26);
        bw_buf_printf(b, "%sw%.*s", i > start ? " " : "", (int)n, w);
    }
}

static void test_minhash_estimate(void **state)
{
    (void)state;
    // With k = 1 the shingles are the tokens: A = [0,n), B = [off, off+n).
    static const struct {
        unsigned n, off;
    } cases[] = { { 200, 0 }, { 200, 20 }, { 200, 67 }, { 200, 100 }, { 200, 150 }, { 60, 20 }, { 1000, 300 },
                  { 30, 10 } };
    bw_buf a = BW_BUF_INIT, b = BW_BUF_INIT;
    uint32_t sa[BW_CAMPAIGN_SIG], sb[BW_CAMPAIGN_SIG];
    double worst = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        token_range(&a, 0, cases[i].n);
        token_range(&b, cases[i].off, cases[i].off + cases[i].n);
        double exact = (double)(cases[i].n - cases[i].off) / (cases[i].n + cases[i].off);
        // Average over keys: the estimator must be unbiased, and each one within 4 sigma.
        double sum = 0;
        for (uint64_t k = 0; k < 16; k++) {
            bw_hash_key key = { KEY.k0 + k, KEY.k1 ^ k };
            bw_campaign_minhash(&key, 1, bw_buf_slice(&a), sa);
            bw_campaign_minhash(&key, 1, bw_buf_slice(&b), sb);
            double est = bw_campaign_sig_similarity(sa, sb);
            double sigma = __builtin_sqrt(exact * (1 - exact) / BW_CAMPAIGN_SIG);
            assert_true(__builtin_fabs(est - exact) <= 4 * sigma + 0.02);
            sum += est;
        }
        double bias = __builtin_fabs(sum / 16 - exact);
        if (bias > worst)
            worst = bias;
        assert_true(bias < 0.04);
    }
    print_message("minhash: worst mean error over 16 keys %.3f\n", worst);
    // Identical and empty texts.
    bw_campaign_minhash(&KEY, 3, bw_slice_cstr("same words here"), sa);
    bw_campaign_minhash(&KEY, 3, bw_slice_cstr("same words here"), sb);
    assert_true(bw_campaign_sig_similarity(sa, sb) == 1.0);
    bw_campaign_minhash(&KEY, 3, bw_slice_cstr(""), sa);
    for (unsigned i = 0; i < BW_CAMPAIGN_SIG; i++)
        assert_int_equal(sa[i], UINT32_MAX);
    // A different key gives a different signature (the key is an input).
    bw_hash_key other = { 1, 2 };
    bw_campaign_minhash(&KEY, 3, bw_slice_cstr("same words here"), sa);
    bw_campaign_minhash(&other, 3, bw_slice_cstr("same words here"), sb);
    assert_true(memcmp(sa, sb, sizeof sa) != 0);
    bw_buf_free(&a);
    bw_buf_free(&b);
}

static void test_lsh_curve(void **state)
{
    (void)state;
    assert_true(bw_campaign_lsh_probability(0.5, 42, 3) > 0.99);
    assert_true(bw_campaign_lsh_probability(0.2, 42, 3) < 0.30);
    assert_true(bw_campaign_lsh_probability(0.05, 42, 3) < 0.01);
}

static bw_campaign_index *new_index(bw_campaign_config *cfg)
{
    bw_campaign_config defaults;
    if (!cfg) {
        bw_campaign_config_default(&defaults);
        defaults.key = KEY;
        cfg = &defaults;
    }
    char errbuf[BW_ERRBUF_SIZE];
    bw_campaign_index *x = bw_campaign_index_new(cfg, errbuf);
    assert_non_null(x);
    return x;
}

static bw_campaign_assignment add_text(bw_campaign_index *x, uint64_t id, int64_t time, const char *text)
{
    bw_campaign_msg m = { .id = id, .time = time, .text = bw_slice_cstr(text) };
    bw_campaign_assignment a;
    assert_int_equal(bw_campaign_index_add(x, &m, &a), BW_OK);
    return a;
}

// Pairs at a known shingle Jaccard: the LSH must propose (and the check accept) nearly all
// pairs above the threshold, and nearly none well below.
static void test_lsh_recall(void **state)
{
    (void)state;
    bw_buf a = BW_BUF_INIT, b = BW_BUF_INIT;
    unsigned joined_high = 0, joined_low = 0, pairs = 200;
    for (unsigned p = 0; p < pairs; p++) {
        bw_campaign_config cfg;
        bw_campaign_config_default(&cfg);
        cfg.key = (bw_hash_key){ KEY.k0 + p, KEY.k1 };
        cfg.shingle_k = 1;
        bw_campaign_index *x = new_index(&cfg);
        unsigned base = p * 10000;
        // J = 140/260 = 0.54 ... well, 200 tokens, offset 60: (200-60)/(200+60) = 0.538.
        token_range(&a, base, base + 200);
        token_range(&b, base + 60, base + 260);
        add_text(x, 1, 0, a.p);
        joined_high += !add_text(x, 2, 0, b.p).is_new;
        // J = 20/380 = 0.05
        token_range(&a, base + 5000, base + 5200);
        token_range(&b, base + 5180, base + 5380);
        add_text(x, 3, 0, a.p);
        joined_low += !add_text(x, 4, 0, b.p).is_new;
        bw_campaign_index_free(x);
    }
    print_message("lsh: joined %u/%u pairs at J=0.54, %u/%u at J=0.05\n", joined_high, pairs, joined_low, pairs);
    assert_true(joined_high >= pairs * 0.75);   // est. >= 0.5 when J = 0.54: ~82% by the binomial
    assert_int_equal(joined_low, 0);
    bw_buf_free(&a);
    bw_buf_free(&b);
}

static void test_template_inference(void **state)
{
    (void)state;
    static const char *members[] = {
        "dear <rcpt> buy cheap viagra now at <url:dom> only <num> dollars",
        "dear <rcpt> buy discount viagra now at <url:dom> only <num> dollars bye",
        "hello <rcpt> buy cheap generic viagra now at <url:dom> only <num> dollars",
    };
    bw_slice s[3];
    for (int i = 0; i < 3; i++)
        s[i] = bw_slice_cstr(members[i]);
    bw_buf out = BW_BUF_INIT;
    assert_int_equal(bw_campaign_infer_template(s, 3, 256, &out), BW_OK);
    assert_string_equal(out.p, "<*> <rcpt> buy <*> viagra now at <url:dom> only <num> dollars <*>");
    bw_buf_clear(&out);
    assert_int_equal(bw_campaign_infer_template(s, 1, 256, &out), BW_OK);
    assert_string_equal(out.p, members[0]);
    bw_buf_clear(&out);
    assert_int_equal(bw_campaign_infer_template(s, 3, 4, &out), BW_OK);   // token cap
    assert_string_equal(out.p, "<*> <rcpt> buy <*>");
    bw_buf_free(&out);
}

static const char *SPAM_A = "Dear friend, our online pharmacy offers the best prices on all medications. "
                            "Order today and get free shipping on every order over fifty dollars. "
                            "Discreet packaging, no prescription needed, visit http://pills.example.com now";
static const char *SPAM_A2 = "Dear friend, our online pharmacy offers the lowest prices on all medications. "
                             "Order now and get free shipping on every order over fifty dollars. "
                             "Discreet packaging, no prescription needed, visit http://meds.example.net now";
static const char *SPAM_B = "Your account at the bank has been suspended because of unusual activity. "
                            "Please confirm your identity within 24 hours by following the link below "
                            "or your card will be blocked permanently.";

typedef struct evicted {
    uint64_t ids[64];
    uint64_t messages[64];
    char templates[64][512];
    size_t count;
} evicted;

static void on_evict(void *ctx, const bw_campaign_summary *s)
{
    evicted *e = ctx;
    if (e->count < 64) {
        e->ids[e->count] = s->id;
        e->messages[e->count] = s->messages;
        snprintf(e->templates[e->count], sizeof e->templates[0], "%.*s", (int)s->template_text.n, s->template_text.p);
        e->count++;
    }
}

static void test_index_basics(void **state)
{
    (void)state;
    bw_campaign_index *x = new_index(NULL);
    bw_url urls_a[] = { { .domain = BW_SLICE_LIT("example.com") } };
    bw_url urls_b[] = { { .domain = BW_SLICE_LIT("example.net") }, { .domain = BW_SLICE_LIT("example.com") } };
    bw_campaign_msg m1 = { .id = 10, .time = 1000, .subject = BW_SLICE_LIT("Cheap meds"), .text = bw_slice_cstr(SPAM_A),
                           .urls = urls_a, .url_count = 1, .sender_ip = BW_SLICE_LIT("198.51.100.7"), .asn = 64500 };
    bw_campaign_msg m2 = { .id = 11, .time = 1100, .subject = BW_SLICE_LIT("Cheap meds"), .text = bw_slice_cstr(SPAM_A2),
                           .urls = urls_b, .url_count = 2, .sender_ip = BW_SLICE_LIT("198.51.100.9"), .asn = 64500 };
    bw_campaign_msg m3 = { .id = 12, .time = 1200, .subject = BW_SLICE_LIT("Account suspended"),
                           .text = bw_slice_cstr(SPAM_B), .urls = urls_a, .url_count = 1,
                           .sender_ip = BW_SLICE_LIT("203.0.113.5"), .asn = 64501 };
    bw_campaign_assignment a1, a2, a3;
    assert_int_equal(bw_campaign_index_add(x, &m1, &a1), BW_OK);
    assert_int_equal(bw_campaign_index_add(x, &m2, &a2), BW_OK);
    assert_int_equal(bw_campaign_index_add(x, &m3, &a3), BW_OK);
    assert_true(a1.is_new);
    assert_false(a2.is_new);
    assert_int_equal(a1.campaign_id, a2.campaign_id);
    assert_true(a2.similarity >= 0.5);
    assert_true(a3.is_new);
    assert_int_not_equal(a3.campaign_id, a1.campaign_id);

    bw_campaign_summary s;
    assert_int_equal(bw_campaign_index_get(x, a1.campaign_id, &s), BW_OK);
    assert_int_equal(s.messages, 2);
    assert_int_equal(s.first_seen, 1000);
    assert_int_equal(s.last_seen, 1100);
    assert_int_equal(s.sender_ips, 2);
    assert_true(s.sender_ips_exact);
    assert_int_equal(s.subnets24, 1);
    assert_int_equal(s.asns, 1);
    assert_int_equal(s.subject_count, 1);
    assert_int_equal(s.subjects[0].count, 2);
    assert_int_equal(s.domain_count, 2);
    assert_int_equal(s.domains[0].count, 2);   // example.com, in both
    assert_memory_equal(s.domains[0].value.p, "example.com", 11);
    assert_int_equal(s.sample_count, 2);
    print_message("template: %s\n", s.template_text.p);
    assert_non_null(strstr(s.template_text.p, "our online pharmacy offers the <*> prices"));
    // AutoRE link: campaign B advertised example.com within the window.
    assert_int_equal(s.link_count, 1);
    assert_int_equal(s.links[0].other_id, a3.campaign_id);
    assert_memory_equal(s.links[0].domain.p, "example.com", 11);
    bw_campaign_stats st;
    bw_campaign_index_stats(x, &st);
    assert_int_equal(st.messages, 3);
    assert_int_equal(st.campaigns_active, 2);
    assert_int_equal(st.links, 1);
    assert_true(st.memory_bytes > 0);
    assert_int_equal(bw_campaign_index_get(x, 999, &s), BW_ERR_NOTFOUND);
    bw_campaign_index_free(x);
}

// A message whose signature equals a representative's is decided by the exact-signature
// table (one comparison, not the bands): same campaign, similarity 1, no new representative;
// a text of an evicted campaign is no longer there (test_eviction).
static void test_exact_repeats(void **state)
{
    (void)state;
    bw_campaign_index *x = new_index(NULL);
    bw_campaign_assignment a = add_text(x, 1, 0, SPAM_A);
    bw_campaign_assignment b = add_text(x, 2, 10, SPAM_B);
    bw_campaign_assignment a2 = add_text(x, 3, 20, SPAM_A2);
    assert_int_equal(a2.campaign_id, a.campaign_id);
    bw_campaign_stats before, after;
    bw_campaign_index_stats(x, &before);
    for (uint64_t i = 0; i < 5; i++) {
        bw_campaign_assignment r = add_text(x, 4 + i, 30 + (int64_t)i, i % 2 ? SPAM_B : SPAM_A);
        assert_false(r.is_new);
        assert_int_equal(r.campaign_id, i % 2 ? b.campaign_id : a.campaign_id);
        assert_true(r.similarity == 1.0);
    }
    bw_campaign_index_stats(x, &after);
    assert_int_equal(after.candidates_checked - before.candidates_checked, 5);   // one each
    assert_int_equal(after.campaigns_created, 2);
    bw_campaign_summary s;
    assert_int_equal(bw_campaign_index_get(x, a.campaign_id, &s), BW_OK);
    assert_int_equal(s.messages, 5);
    bw_campaign_index_free(x);
}

static void test_eviction(void **state)
{
    (void)state;
    evicted ev;
    memset(&ev, 0, sizeof ev);
    bw_campaign_config cfg;
    bw_campaign_config_default(&cfg);
    cfg.key = KEY;
    cfg.idle_window = 3600;
    cfg.on_evict = on_evict;
    cfg.evict_ctx = &ev;
    bw_campaign_index *x = new_index(&cfg);
    bw_campaign_assignment a = add_text(x, 1, 0, SPAM_A);
    add_text(x, 2, 600, SPAM_A2);
    bw_campaign_assignment b = add_text(x, 3, 10000, SPAM_B);   // far later: A is idle
    assert_int_equal(ev.count, 1);
    assert_int_equal(ev.ids[0], a.campaign_id);
    assert_int_equal(ev.messages[0], 2);
    assert_non_null(strstr(ev.templates[0], "online pharmacy"));
    size_t n;
    const uint64_t *ids = bw_campaign_index_ids(x, &n);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], b.campaign_id);
    // The evicted campaign's text now starts a new campaign (it left the LSH index).
    bw_campaign_assignment again = add_text(x, 4, 10100, SPAM_A);
    assert_true(again.is_new);
    bw_campaign_stats st;
    bw_campaign_index_stats(x, &st);
    assert_int_equal(st.campaigns_evicted, 1);
    // max_active: a third distinct campaign pushes out the idlest.
    bw_campaign_index_free(x);

    memset(&ev, 0, sizeof ev);
    cfg.idle_window = 86400;
    cfg.max_active = 2;
    x = new_index(&cfg);
    add_text(x, 1, 0, SPAM_A);
    add_text(x, 2, 10, SPAM_B);
    add_text(x, 3, 20, "a completely different message about lottery winnings and a claim form to fill");
    bw_campaign_index_stats(x, &st);
    assert_int_equal(st.campaigns_active, 2);
    assert_int_equal(st.evicted_for_cap, 1);
    assert_int_equal(ev.count, 1);
    assert_int_equal(ev.ids[0], 1);
    bw_campaign_index_evict_all(x);
    assert_int_equal(ev.count, 3);
    bw_campaign_index_free(x);
}

// A text of 40 words drawn from a 5,000-word vocabulary by a seeded generator: any two
// share almost no shingles, so each starts its own campaign.
static void random_text(uint64_t *rng, char *out, size_t cap)
{
    size_t o = 0;
    for (int w = 0; w < 40 && o + 12 < cap; w++) {
        *rng = *rng * 6364136223846793005ULL + 1442695040888963407ULL;
        unsigned v = (unsigned)(*rng >> 33) % 5000;
        // Letters only: digits would make the normaliser's <id> and <num> placeholders.
        o += (size_t)snprintf(out + o, cap - o, "%sw%c%c%c", w ? " " : "", 'a' + v % 26, 'a' + v / 26 % 26,
                              'a' + v / 676);
    }
}

typedef struct live {
    uint64_t id;
    int64_t last_seen;
} live;

static int cmp_live_idle(const void *a, const void *b)
{
    const live *x = a, *y = b;
    if (x->last_seen != y->last_seen)
        return x->last_seen < y->last_seen ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

typedef struct evict_log {
    uint64_t *ids;
    size_t count, cap;
} evict_log;

static void log_evict(void *ctx, const bw_campaign_summary *s)
{
    evict_log *l = ctx;
    if (l->count == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->ids = realloc(l->ids, l->cap * sizeof *l->ids);
        assert_non_null(l->ids);
    }
    l->ids[l->count++] = s->id;
}

// Over max_active the idlest campaigns leave a batch at a time (the excess and max_active/64
// more), chosen by (last seen, id), never the campaign the message just joined; idle sweeps
// evict every campaign past the window. Checked against a model of the live campaigns over
// 1,500 messages: new campaigns, repeats of live and evicted ones, times out of order.
static void test_eviction_batches(void **state)
{
    (void)state;
    bw_campaign_config cfg;
    bw_campaign_config_default(&cfg);
    cfg.key = KEY;
    cfg.max_active = 128;       // batches of the excess + 2
    cfg.idle_window = 2000;     // a sweep every 250 s of stream time
    evict_log log = { 0 };
    cfg.on_evict = log_evict;
    cfg.evict_ctx = &log;
    bw_campaign_index *x = new_index(&cfg);
    enum { TEXTS = 400, MESSAGES = 1500 };
    static char texts[TEXTS][512];
    uint64_t rng = 42;
    for (int i = 0; i < TEXTS; i++)
        random_text(&rng, texts[i], sizeof texts[i]);
    static live model[TEXTS * 4];
    size_t live_n = 0;
    uint64_t cap_evictions = 0;
    int64_t clock = 0, last_sweep = INT64_MIN;
    for (int m = 0; m < MESSAGES; m++) {
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        int t = (int)((rng >> 33) % TEXTS);
        // Mostly forward with a little jitter, and a quiet hour every 300 messages (the next
        // sweep then evicts whatever the cap left).
        int64_t when = m * 7 + (m / 300) * 3600 - (int64_t)((rng >> 20) % 50);
        bw_campaign_assignment a = add_text(x, (uint64_t)m + 1, when, texts[t]);
        // The model: the message joins or starts a campaign, then the sweep, then the cap.
        if (when > clock)
            clock = when;
        size_t j = 0;
        while (j < live_n && model[j].id != a.campaign_id)
            j++;
        assert_true(a.is_new == (j == live_n));
        if (j == live_n)
            model[live_n++] = (live){ a.campaign_id, when };
        else if (when > model[j].last_seen)
            model[j].last_seen = when;
        if (last_sweep == INT64_MIN) {
            last_sweep = clock;
        } else if (clock - last_sweep >= cfg.idle_window / 8) {
            size_t w = 0;
            for (size_t i = 0; i < live_n; i++)
                if (model[i].last_seen >= clock - cfg.idle_window)
                    model[w++] = model[i];
            live_n = w;
            last_sweep = clock;
        }
        if (live_n > cfg.max_active) {
            size_t excess = live_n - cfg.max_active, want = excess + cfg.max_active / 64;
            // Everything but the campaign just joined, idlest first.
            live keep = { a.campaign_id, 0 };
            size_t w = 0;
            for (size_t i = 0; i < live_n; i++)
                if (model[i].id == a.campaign_id)
                    keep = model[i];
                else
                    model[w++] = model[i];
            qsort(model, w, sizeof *model, cmp_live_idle);
            memmove(model, model + want, (w - want) * sizeof *model);
            live_n = w - want;
            model[live_n++] = keep;
            cap_evictions += want;
        }
        // The index holds exactly the model's campaigns.
        size_t n;
        const uint64_t *ids = bw_campaign_index_ids(x, &n);
        assert_int_equal(n, live_n);
        assert_true(n <= cfg.max_active);
        for (size_t i = 0; i < n; i++) {
            size_t k = 0;
            while (k < live_n && model[k].id != ids[i])
                k++;
            assert_true(k < live_n);
        }
    }
    bw_campaign_stats st;
    bw_campaign_index_stats(x, &st);
    printf("eviction batches: %llu by the cap, %llu in all\n", (unsigned long long)cap_evictions,
           (unsigned long long)st.campaigns_evicted);
    assert_true(cap_evictions > 200);   // the cap was hit many times over
    assert_int_equal(st.evicted_for_cap, cap_evictions);
    assert_int_equal(st.campaigns_evicted, log.count);
    // on_evict saw each evicted campaign once.
    for (size_t i = 1; i < log.count; i++)
        for (size_t k = 0; k < i; k++)
            assert_true(log.ids[i] != log.ids[k]);
    bw_campaign_index_free(x);
    free(log.ids);
}

static void test_caps(void **state)
{
    (void)state;
    bw_campaign_config cfg;
    bw_campaign_config_default(&cfg);
    cfg.key = KEY;
    cfg.max_ips = 8;
    cfg.max_subnets = 4;
    cfg.max_top = 3;
    cfg.max_samples = 5;
    cfg.template_members = 2;
    bw_campaign_index *x = new_index(&cfg);
    char ip[32], subject[32];
    uint64_t id = 0;
    for (unsigned i = 0; i < 500; i++) {
        snprintf(ip, sizeof ip, "10.%u.%u.1", i / 250, i % 250);
        snprintf(subject, sizeof subject, "subject %c", 'a' + (i % 2 == 0 ? 0 : (int)(i % 20)));
        bw_campaign_msg m = { .id = i, .time = i, .subject = bw_slice_cstr(subject), .text = bw_slice_cstr(SPAM_A),
                              .sender_ip = bw_slice_cstr(ip) };
        bw_campaign_assignment a;
        assert_int_equal(bw_campaign_index_add(x, &m, &a), BW_OK);
        if (i == 0)
            id = a.campaign_id;
        assert_int_equal(a.campaign_id, id);
    }
    bw_campaign_summary s;
    assert_int_equal(bw_campaign_index_get(x, id, &s), BW_OK);
    assert_int_equal(s.ip_count, 8);
    assert_false(s.sender_ips_exact);
    print_message("caps: 500 IPs estimated %llu, 500 /24s estimated %llu\n", (unsigned long long)s.sender_ips,
                  (unsigned long long)s.subnets24);
    assert_in_range(s.sender_ips, 400, 600);     // HyperLogLog, 6.5% standard error
    assert_in_range(s.subnets24, 400, 600);
    assert_int_equal(s.subject_count, 3);
    assert_memory_equal(s.subjects[0].value.p, "subject a", 9);   // the heavy hitter survives
    assert_int_equal(s.sample_count, 5);
    assert_int_equal(s.template_members, 2);
    bw_campaign_index_free(x);
}

static void run_stream(bw_campaign_index *x, unsigned from, unsigned to, uint64_t *ids)
{
    static const char *texts[] = { "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima",
                                   "one two three four five six seven eight nine ten eleven twelve",
                                   "red orange yellow green blue indigo violet black white grey brown pink" };
    char buf[256];
    for (unsigned i = from; i < to; i++) {
        snprintf(buf, sizeof buf, "%s extra%u", texts[i % 3], i % 5);
        bw_url url = { .domain = i % 2 ? BW_SLICE_LIT("shared.example") : BW_SLICE_LIT("other.example") };
        bw_campaign_msg m = { .id = i, .time = i * 60, .text = bw_slice_cstr(buf), .urls = &url, .url_count = 1,
                              .sender_ip = BW_SLICE_LIT("192.0.2.1") };
        bw_campaign_assignment a;
        assert_int_equal(bw_campaign_index_add(x, &m, &a), BW_OK);
        ids[i] = a.campaign_id;
    }
}

static void test_determinism_and_persistence(void **state)
{
    (void)state;
    enum { N = 300 };
    uint64_t first[N], second[N], resumed[N];
    bw_campaign_index *x = new_index(NULL);
    run_stream(x, 0, N, first);
    bw_campaign_index_free(x);
    x = new_index(NULL);
    run_stream(x, 0, N, second);
    assert_memory_equal(first, second, sizeof first);

    // Save half-way, load into a fresh index, continue: same ids as the uninterrupted run.
    bw_campaign_index_free(x);
    x = new_index(NULL);
    run_stream(x, 0, N / 2, resumed);
    bw_buf blob = BW_BUF_INIT;
    assert_int_equal(bw_campaign_index_save(x, &blob), BW_OK);
    bw_campaign_index_free(x);
    x = new_index(NULL);
    char errbuf[BW_ERRBUF_SIZE];
    assert_int_equal(bw_campaign_index_load(x, blob.p, blob.n, errbuf), BW_OK);
    run_stream(x, N / 2, N, resumed);
    assert_memory_equal(first, resumed, sizeof first);
    bw_buf again = BW_BUF_INIT;
    bw_campaign_index_free(x);

    // Round trip is byte-identical; every truncation and a wrong key are refused cleanly.
    x = new_index(NULL);
    assert_int_equal(bw_campaign_index_load(x, blob.p, blob.n, errbuf), BW_OK);
    assert_int_equal(bw_campaign_index_save(x, &again), BW_OK);
    assert_int_equal(again.n, blob.n);
    assert_memory_equal(again.p, blob.p, blob.n);
    assert_int_equal(bw_campaign_index_load(x, blob.p, blob.n, errbuf), BW_ERR_INVALID);
    bw_campaign_index_free(x);
    for (size_t cut = 0; cut < blob.n; cut += 1 + cut / 8) {
        x = new_index(NULL);
        assert_int_equal(bw_campaign_index_load(x, blob.p, cut, errbuf), BW_ERR_PARSE);
        size_t n;
        bw_campaign_index_ids(x, &n);
        assert_int_equal(n, 0);
        bw_campaign_index_free(x);
    }
    bw_campaign_config cfg;
    bw_campaign_config_default(&cfg);
    cfg.key = (bw_hash_key){ 7, 7 };
    x = new_index(&cfg);
    assert_int_equal(bw_campaign_index_load(x, blob.p, blob.n, errbuf), BW_ERR_PARSE);
    assert_non_null(strstr(errbuf, "another key"));
    bw_campaign_index_free(x);
    bw_buf_free(&again);
    bw_buf_free(&blob);
}

// The split API: prepare (in any thread) + add_prepared (in order) gives exactly what
// bw_campaign_index_add gives, with or without a token cache; a signature prepared with
// another key is refused; reserve_ids only moves ids forward.
enum { SPLIT_N = 240 };
typedef struct split_job {
    const bw_campaign_config *cfg;
    bw_campaign_prepared *prepared;
    unsigned from, to;
    bool use_cache;
} split_job;

static void split_message(unsigned i, char *buf, size_t n, bw_url *url, bw_campaign_msg *m)
{
    static const char *texts[] = { "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima",
                                   "one two three four five six seven eight nine ten eleven twelve",
                                   "red orange yellow green blue indigo violet black white grey brown pink" };
    snprintf(buf, n, "%s extra%u dear jane number %u", texts[(i / 40 + i % 2) % 3], i % 7, i * 37);
    *url = (bw_url){ .domain = i % 2 ? BW_SLICE_LIT("shared.example") : BW_SLICE_LIT("other.example") };
    *m = (bw_campaign_msg){ .id = i, .time = i * 600, .subject = BW_SLICE_LIT("Hello Jane"),
                            .text = bw_slice_cstr(buf), .urls = url, .url_count = 1,
                            .sender_ip = BW_SLICE_LIT("192.0.2.1"), .asn = 64500 + i % 3,
                            .rcpt_addr = BW_SLICE_LIT("jane.doe@trap.example"), .rcpt_name = BW_SLICE_LIT("Jane Doe") };
}

static void *split_worker(void *arg)
{
    split_job *job = arg;
    bw_campaign_token_cache *cache = job->use_cache ? bw_campaign_token_cache_new() : NULL;
    for (unsigned i = job->from; i < job->to; i++) {
        char buf[256];
        bw_url url;
        bw_campaign_msg m;
        split_message(i, buf, sizeof buf, &url, &m);
        if (bw_campaign_prepare_cached(job->cfg, &m, cache, &job->prepared[i]) != BW_OK)
            abort();
    }
    bw_campaign_token_cache_free(cache);
    return NULL;
}

// Ingest's duplicate handling: match, store the row, commit only if it was inserted. A
// match that is never committed must leave no trace, a committed one must give what
// add_prepared gives, and a match the index changed under must be refused.
static void test_match_commit(void **state)
{
    (void)state;
    bw_campaign_config cfg;
    bw_campaign_config_default(&cfg);
    cfg.key = KEY;
    cfg.idle_window = 3600;   // evictions happen inside the stream
    bw_campaign_index *ref = new_index(&cfg), *two = new_index(&cfg);
    bw_campaign_prepared prep = BW_CAMPAIGN_PREPARED_INIT;
    uint64_t skipped = 0;
    for (unsigned i = 0; i < SPLIT_N; i++) {
        char buf[256];
        bw_url url;
        bw_campaign_msg m;
        split_message(i, buf, sizeof buf, &url, &m);
        assert_int_equal(bw_campaign_prepare(&cfg, &m, &prep), BW_OK);
        bw_campaign_match match;
        assert_int_equal(bw_campaign_index_match(two, &prep, &match), BW_OK);
        if (i % 3 == 1) {   // "a duplicate": looked up, never committed, not given to ref
            skipped++;
            continue;
        }
        bw_campaign_assignment a, b;
        assert_int_equal(bw_campaign_index_add_prepared(ref, &m, &prep, &a), BW_OK);
        assert_int_equal(bw_campaign_index_commit(two, &m, &prep, &match, &b), BW_OK);
        assert_int_equal(match.campaign_id, b.campaign_id);
        assert_int_equal(match.is_new, b.is_new);
        assert_int_equal(a.campaign_id, b.campaign_id);
        assert_int_equal(a.is_new, b.is_new);
        assert_true(a.similarity == b.similarity && match.similarity == b.similarity);
    }
    assert_true(skipped > 0);
    bw_buf s1 = BW_BUF_INIT, s2 = BW_BUF_INIT;
    assert_int_equal(bw_campaign_index_save(ref, &s1), BW_OK);
    assert_int_equal(bw_campaign_index_save(two, &s2), BW_OK);
    assert_int_equal(s1.n, s2.n);
    assert_memory_equal(s1.p, s2.p, s1.n);
    bw_campaign_stats x, y;
    bw_campaign_index_stats(ref, &x);
    bw_campaign_index_stats(two, &y);
    assert_int_equal(x.messages, y.messages);
    assert_int_equal(x.candidates_checked, y.candidates_checked);
    assert_int_equal(x.campaigns_created, y.campaigns_created);
    assert_true(y.campaigns_evicted > 0);

    // Stale: two matches against the same state; once the first is committed, the second
    // (which may name the id the first just took) is refused, and so is a replay.
    char b1[256], b2[256];
    bw_url u1, u2;
    bw_campaign_msg m1, m2;
    split_message(SPLIT_N + 1, b1, sizeof b1, &u1, &m1);
    split_message(SPLIT_N + 2, b2, sizeof b2, &u2, &m2);
    bw_campaign_prepared p2 = BW_CAMPAIGN_PREPARED_INIT;
    assert_int_equal(bw_campaign_prepare(&cfg, &m1, &prep), BW_OK);
    assert_int_equal(bw_campaign_prepare(&cfg, &m2, &p2), BW_OK);
    bw_campaign_match k1, k2;
    assert_int_equal(bw_campaign_index_match(two, &prep, &k1), BW_OK);
    assert_int_equal(bw_campaign_index_match(two, &p2, &k2), BW_OK);
    bw_campaign_assignment a;
    assert_int_equal(bw_campaign_index_commit(two, &m1, &prep, &k1, &a), BW_OK);
    assert_int_equal(bw_campaign_index_commit(two, &m2, &p2, &k2, &a), BW_ERR_INVALID);
    assert_int_equal(bw_campaign_index_commit(two, &m1, &prep, &k1, &a), BW_ERR_INVALID);
    // A match for one prepared message cannot commit another's.
    assert_int_equal(bw_campaign_index_match(two, &p2, &k2), BW_OK);
    bw_campaign_config other = cfg;
    other.key = (bw_hash_key){ 7, 7 };
    bw_campaign_prepared foreign = BW_CAMPAIGN_PREPARED_INIT;
    assert_int_equal(bw_campaign_prepare(&other, &m2, &foreign), BW_OK);
    assert_int_equal(bw_campaign_index_commit(two, &m2, &foreign, &k2, &a), BW_ERR_INVALID);
    assert_int_equal(bw_campaign_index_match(two, &foreign, &k2), BW_ERR_INVALID);
    bw_campaign_prepared_free(&foreign);
    bw_campaign_prepared_free(&p2);
    bw_campaign_prepared_free(&prep);
    bw_buf_free(&s1);
    bw_buf_free(&s2);
    bw_campaign_index_free(ref);
    bw_campaign_index_free(two);
}

static void test_prepare_split(void **state)
{
    (void)state;
    bw_campaign_config cfg;
    bw_campaign_config_default(&cfg);
    cfg.key = KEY;
    cfg.idle_window = 3600;   // evictions happen inside the stream
    bw_campaign_index *whole = new_index(&cfg), *split = new_index(&cfg);
    bw_campaign_prepared *prepared = calloc(SPLIT_N, sizeof *prepared);
    assert_non_null(prepared);
    // Two threads prepare alternating halves, one with a token cache and one without.
    pthread_t threads[2];
    split_job jobs[2] = { { &cfg, prepared, 0, SPLIT_N / 2, true }, { &cfg, prepared, SPLIT_N / 2, SPLIT_N, false } };
    for (int t = 0; t < 2; t++)
        assert_int_equal(pthread_create(&threads[t], NULL, split_worker, &jobs[t]), 0);
    for (int t = 0; t < 2; t++)
        pthread_join(threads[t], NULL);
    for (unsigned i = 0; i < SPLIT_N; i++) {
        char buf[256];
        bw_url url;
        bw_campaign_msg m;
        split_message(i, buf, sizeof buf, &url, &m);
        bw_campaign_assignment a, b;
        assert_int_equal(bw_campaign_index_add(whole, &m, &a), BW_OK);
        // add_prepared must not read the text or the recipient again.
        m.text = BW_SLICE_NULL;
        m.rcpt_addr = m.rcpt_name = BW_SLICE_NULL;
        assert_int_equal(bw_campaign_index_add_prepared(split, &m, &prepared[i], &b), BW_OK);
        assert_int_equal(a.campaign_id, b.campaign_id);
        assert_int_equal(a.is_new, b.is_new);
        assert_true(a.similarity == b.similarity);
        assert_int_equal(a.norm_flags, b.norm_flags);
    }
    bw_buf s1 = BW_BUF_INIT, s2 = BW_BUF_INIT;
    assert_int_equal(bw_campaign_index_save(whole, &s1), BW_OK);
    assert_int_equal(bw_campaign_index_save(split, &s2), BW_OK);
    assert_int_equal(s1.n, s2.n);
    assert_memory_equal(s1.p, s2.p, s1.n);
    bw_campaign_stats st;
    bw_campaign_index_stats(split, &st);
    assert_true(st.campaigns_evicted > 0);

    // Another key: refused, nothing changes.
    bw_campaign_config other = cfg;
    other.key = (bw_hash_key){ 7, 7 };
    bw_campaign_prepared foreign = BW_CAMPAIGN_PREPARED_INIT;
    char buf[256];
    bw_url url;
    bw_campaign_msg m;
    split_message(0, buf, sizeof buf, &url, &m);
    assert_int_equal(bw_campaign_prepare(&other, &m, &foreign), BW_OK);
    bw_campaign_assignment a;
    assert_int_equal(bw_campaign_index_add_prepared(split, &m, &foreign, &a), BW_ERR_INVALID);
    bw_campaign_prepared_free(&foreign);

    // reserve_ids: the next new campaign gets at least the reserved id; never backwards.
    bw_campaign_index *fresh = new_index(&cfg);
    bw_campaign_index_reserve_ids(fresh, 1000);
    bw_campaign_index_reserve_ids(fresh, 10);
    assert_int_equal(bw_campaign_index_add(fresh, &m, &a), BW_OK);
    assert_int_equal(a.campaign_id, 1000);
    bw_campaign_index_free(fresh);

    for (unsigned i = 0; i < SPLIT_N; i++)
        bw_campaign_prepared_free(&prepared[i]);
    free(prepared);
    bw_buf_free(&s1);
    bw_buf_free(&s2);
    bw_campaign_index_free(whole);
    bw_campaign_index_free(split);
}

// The normaliser's fast path (one plain ASCII word per chunk, with leading and trailing
// punctuation and the digit and apostrophe joins) must give exactly what the general path
// gives: random texts over the bytes that matter (letters of both cases, digits, the
// join, trim and base64 punctuation, '@', ':', '/', "www", UTF-8, separators), with the
// default limits and with small ones, compared on text, token count and flags.
static void test_normalize_fast_path(void **state)
{
    (void)state;
    static const char *const pieces[] = {
        "a", "Z", "q", "F", "0", "7", "12", "www", "http", "://", ".", ",", ":", "/", "-", "'", "\"", "(", ")",
        "<", ">", "[", "]", "!", "?", ";", "$", "%", "*", "#", "@", "+", "=", "_", "|", "~", " ", " ", " ", "\n",
        "\t", "\xc3\xa9", "\xc3\x89", "\xe2\x80\x94", "\xff", "deadbeef", "ABCdef0123456789", "john", "Smith",
        "x.example", "don", "t", "1,299.95", "555-0123", "Re:", "--", ">>",
    };
    const size_t npieces = sizeof pieces / sizeof pieces[0];
    bw_campaign_norm_limits small = { .max_input_bytes = 4096, .max_tokens = 7, .max_token_bytes = 5 };
    bw_campaign_norm_limits mid = { .max_input_bytes = 4096, .max_tokens = 1000, .max_token_bytes = 16 };
    const bw_campaign_norm_limits *limits[] = { NULL, &small, &mid };
    bw_buf text = BW_BUF_INIT, fast = BW_BUF_INIT, general = BW_BUF_INIT;
    uint64_t rng = 0x9e3779b97f4a7c15ULL;
    for (unsigned round = 0; round < 20000; round++) {
        bw_buf_clear(&text);
        unsigned count = 1 + (unsigned)(round % 24);
        for (unsigned i = 0; i < count; i++) {
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            assert_int_equal(bw_buf_append_cstr(&text, pieces[(rng >> 33) % npieces]), 0);
        }
        const bw_campaign_norm_limits *lim = limits[round % 3];
        bw_slice rcpt_addr = round % 2 ? bw_slice_cstr("john.smith@x.example") : BW_SLICE_NULL;
        bw_slice rcpt_name = round % 2 ? bw_slice_cstr("John Smith") : BW_SLICE_NULL;
        size_t tokens_fast, tokens_general;
        unsigned flags_fast, flags_general;
        bw_buf_clear(&fast);
        bw_buf_clear(&general);
        assert_int_equal(bw_campaign_normalize(lim, BW_SLICE_NULL, bw_buf_slice(&text), rcpt_addr, rcpt_name, &fast,
                                               &tokens_fast, &flags_fast), BW_OK);
        assert_int_equal(bw_campaign_normalize_general(lim, BW_SLICE_NULL, bw_buf_slice(&text), rcpt_addr, rcpt_name,
                                                       &general, &tokens_general, &flags_general), BW_OK);
        if (strcmp(fast.p, general.p) != 0)
            print_error("input \"%s\": fast \"%s\", general \"%s\"\n", text.p, fast.p, general.p);
        assert_string_equal(fast.p, general.p);
        assert_int_equal(tokens_fast, tokens_general);
        assert_int_equal(flags_fast, flags_general);
    }
    bw_buf_free(&text);
    bw_buf_free(&fast);
    bw_buf_free(&general);
}

// Fast vs general on one text, with the limits given: text, token count and flags.
static void check_fast_general(const bw_campaign_norm_limits *lim, bw_slice input, bw_slice rcpt_addr,
                               bw_slice rcpt_name)
{
    // In a buffer of exactly its size, so that AddressSanitizer sees a read past its end.
    char *exact = malloc(input.n ? input.n : 1);
    assert_non_null(exact);
    if (input.n)
        memcpy(exact, input.p, input.n);
    bw_slice text = bw_slice_make(exact, input.n);
    bw_buf fast = BW_BUF_INIT, general = BW_BUF_INIT;
    size_t tokens_fast, tokens_general;
    unsigned flags_fast, flags_general;
    assert_int_equal(bw_campaign_normalize(lim, BW_SLICE_NULL, text, rcpt_addr, rcpt_name, &fast, &tokens_fast,
                                           &flags_fast), BW_OK);
    assert_int_equal(bw_campaign_normalize_general(lim, BW_SLICE_NULL, text, rcpt_addr, rcpt_name, &general,
                                                   &tokens_general, &flags_general), BW_OK);
    if (strcmp(fast.p, general.p) != 0)
        print_error("input \"%.*s\": fast \"%s\", general \"%s\"\n", (int)text.n, text.p, fast.p, general.p);
    assert_string_equal(fast.p, general.p);
    assert_int_equal(tokens_fast, tokens_general);
    assert_int_equal(flags_fast, flags_general);
    // Fused with the sketch (the block path hashes its words from a register): the same
    // text, and the MinHash of the general path's text, with and without the token cache.
    static bw_campaign_token_cache *cache;   // one, made once (its probes take a while)
    if (!cache)
        cache = bw_campaign_token_cache_new();
    assert_non_null(cache);
    uint32_t expect[BW_CAMPAIGN_SIG], got[BW_CAMPAIGN_SIG];
    bw_campaign_minhash(&KEY, 3, bw_buf_slice(&general), expect);
    bw_campaign_sketch sketch;
    bw_campaign_sketch_init(&sketch, &KEY, 3, got, input.n % 2 ? cache : NULL);
    bw_buf fused = BW_BUF_INIT;
    size_t tokens_fused;
    unsigned flags_fused;
    assert_int_equal(bw_campaign_normalize_sketch(lim, BW_SLICE_NULL, text, rcpt_addr, rcpt_name, &fused, SIZE_MAX,
                                                  &sketch, &tokens_fused, &flags_fused), BW_OK);
    bw_campaign_sketch_finish(&sketch);
    assert_string_equal(fused.p, general.p);
    assert_int_equal(tokens_fused, tokens_general);
    assert_int_equal(flags_fused, flags_general);
    assert_memory_equal(got, expect, sizeof got);
    bw_buf_free(&fused);
    bw_buf_free(&fast);
    bw_buf_free(&general);
    free(exact);
}

// The 16-byte block paths (plain words and whitespace in normalize_part, the chunk scan of
// the general path): every interesting chunk at every offset 0..31 of a block, with what
// follows it (a space, punctuation, another word, the text's end, so that the block does
// or does not hold 16 bytes), and runs of 13 to 17 word bytes, which straddle the block's
// end and the word cap. A stride or mask bug puts some chunk at a wrong offset here.
static void test_normalize_block_offsets(void **state)
{
    (void)state;
    static const char *const chunks[] = {
        "a", "Zq", "john", "Smith", "abc12", "1234", "12ab", "deadbeef42", "x,", "Re:", "word.", "ok)", "a-b",
        "(like", "can't", "1,299", "x@y.example", "http://h.example/p", "www.h.example", "\xc3\xa9t\xc3\xa9",
        "w\x7f", "\x7f", "--", "@", ":", "abcdefghijklm", "abcdefghijklmn", "ABCDEFGHIJKLMNO", "abcdefghijklmnop",
        "abcdefghijklmnopq", "a1b2c3d4e5f6a7b8c9", "QmFzZTY0IGlzIG5vdA", "x\xff",
    };
    static const char *const tails[] = { " ", "  \t\n", "", ",", " z", "\x7f", "\xc3\xa9 ", "-z ", ". Next words" };
    bw_campaign_norm_limits small = { .max_input_bytes = 4096, .max_tokens = 1000, .max_token_bytes = 5 };
    bw_campaign_norm_limits mid = { .max_input_bytes = 4096, .max_tokens = 1000, .max_token_bytes = 14 };
    bw_campaign_norm_limits few = { .max_input_bytes = 4096, .max_tokens = 3, .max_token_bytes = 64 };
    const bw_campaign_norm_limits *limits[] = { NULL, &small, &mid, &few };
    bw_buf text = BW_BUF_INIT;
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        for (size_t t = 0; t < sizeof tails / sizeof tails[0]; t++) {
            for (unsigned offset = 0; offset < 40; offset++) {
                for (unsigned lead = 0; lead < 2; lead++) {
                    // offset bytes before the chunk: spaces, or words ("ab cd ...") ending in a space.
                    bw_buf_clear(&text);
                    for (unsigned i = 0; i < offset; i++)
                        assert_int_equal(bw_buf_append(&text, lead == 0 || i + 1 == offset || i % 3 == 2 ? " "
                                                                                                      : "w", 1), 0);
                    assert_int_equal(bw_buf_append_cstr(&text, chunks[c]), 0);
                    assert_int_equal(bw_buf_append_cstr(&text, tails[t]), 0);
                    for (size_t l = 0; l < sizeof limits / sizeof limits[0]; l++) {
                        bw_slice whole = bw_buf_slice(&text);
                        check_fast_general(limits[l], whole, bw_slice_cstr("john.smith@x.example"),
                                           bw_slice_cstr("John Smith"));
                        // The same text followed by 16 more bytes, so that the block holds it all.
                        bw_buf longer = BW_BUF_INIT;
                        assert_int_equal(bw_buf_append(&longer, whole.p, whole.n), 0);
                        assert_int_equal(bw_buf_append_cstr(&longer, " tail words here"), 0);
                        check_fast_general(limits[l], bw_buf_slice(&longer), BW_SLICE_NULL, BW_SLICE_NULL);
                        bw_buf_free(&longer);
                    }
                }
            }
        }
    }
    bw_buf_free(&text);
}

// The block path takes every chunk a 32-byte window holds whole from one set of masks and
// stops at a chunk it cannot take or that runs past the window: texts of random plain
// words (1 to 17 bytes, so some straddle a block or the window, some are too long), joins,
// punctuation and separators, of every length from 1 to 96 bytes, each in a buffer of
// exactly its size, so that every window position and every text end is met and a read
// past the end is seen by AddressSanitizer.
static void test_normalize_block_window(void **state)
{
    (void)state;
    static const char *const after[] = { " ", " ", " ", "  ", "\n", ", ", ". ", "! ", "' ", ".\" ", ")",
                                         "-", "'s ", ":", " (", " \xc3\xa9 ", "\x7f", "@", ",9 ", " -- " };
    static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    static const char *const names[] = { "John Smith", "Abcdefghijklm" };
    bw_campaign_norm_limits mid = { .max_input_bytes = 4096, .max_tokens = 1000, .max_token_bytes = 14 };
    bw_campaign_norm_limits few = { .max_input_bytes = 4096, .max_tokens = 5, .max_token_bytes = 64 };
    const bw_campaign_norm_limits *limits[] = { NULL, &mid, &few };
    bw_buf text = BW_BUF_INIT;
    uint64_t rng = 0x853c49e6748fea9bULL;
    for (unsigned round = 0; round < 3000; round++) {
        bw_buf_clear(&text);
        size_t want = 1 + round % 96;
        while (text.n < want) {
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            unsigned len = 1 + (unsigned)((rng >> 33) % 17), kind = (unsigned)(rng >> 50) % 8;
            for (unsigned i = 0; i < len; i++) {
                rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
                // Mostly lower-case letters; some words of digits, or mixed, or a name.
                size_t pick = kind == 0 ? 52 + (rng >> 33) % 10 : kind == 1 ? (rng >> 33) % 62 : (rng >> 33) % 26;
                assert_int_equal(bw_buf_append(&text, &letters[pick], 1), 0);
            }
            if (kind == 2)
                assert_int_equal(bw_buf_append_cstr(&text, " john "), 0);
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            assert_int_equal(bw_buf_append_cstr(&text, after[(rng >> 33) % (sizeof after / sizeof after[0])]), 0);
        }
        bw_slice whole = bw_buf_slice(&text);
        whole.n = want;
        check_fast_general(limits[round % 3], whole, BW_SLICE_NULL, bw_slice_cstr(names[round % 2]));
    }
    bw_buf_free(&text);
}

// The fused sketch (bw_campaign_normalize_sketch: token hashes queued and sketched in
// batches) gives exactly bw_campaign_minhash() of the normalised text, for every shingle
// size, across batch boundaries and at the token cap, with and without the token cache;
// and the sketch it leaves takes more tokens as if they had been in the text.
static void test_sketch_fused(void **state)
{
    (void)state;
    static const char *const words[] = { "buy", "Cheap", "meds", "now", "at", "http://x.example/a", "only", "$39.95",
                                         "dollars", "don't", "E-mail", "deadbeef0042", "caf\xc3\xa9", "x", "Re:" };
    const size_t nwords = sizeof words / sizeof words[0];
    static const size_t lengths[] = { 0, 1, 2, 3, 4, 9, 255, 256, 257, 520, 1100 };
    bw_campaign_token_cache *cache = bw_campaign_token_cache_new();
    assert_non_null(cache);
    bw_buf text = BW_BUF_INIT, norm = BW_BUF_INIT, fused_text = BW_BUF_INIT;
    uint64_t rng = 0x2545f4914f6cdd1dULL;
    for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
        bw_buf_clear(&text);
        for (size_t i = 0; i < lengths[li]; i++) {
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            bw_buf_printf(&text, "%s%s", i ? " " : "", words[(rng >> 33) % nwords]);
        }
        for (unsigned k = 1; k <= BW_CAMPAIGN_MAX_SHINGLE_K; k++) {
            for (unsigned capped = 0; capped < 2; capped++) {
                bw_campaign_norm_limits lim;
                bw_campaign_norm_limits_default(&lim);
                if (capped)
                    lim.max_tokens = 300;
                bw_buf_clear(&norm);
                assert_int_equal(bw_campaign_normalize(&lim, BW_SLICE_NULL, bw_buf_slice(&text), BW_SLICE_NULL,
                                                       BW_SLICE_NULL, &norm, NULL, NULL), BW_OK);
                uint32_t expect[BW_CAMPAIGN_SIG], got[BW_CAMPAIGN_SIG];
                bw_campaign_minhash(&KEY, k, bw_buf_slice(&norm), expect);
                bw_campaign_sketch sketch;
                bw_campaign_sketch_init(&sketch, &KEY, k, got, (k + capped) % 2 ? cache : NULL);
                bw_buf_clear(&fused_text);
                assert_int_equal(bw_campaign_normalize_sketch(&lim, BW_SLICE_NULL, bw_buf_slice(&text),
                                                              BW_SLICE_NULL, BW_SLICE_NULL, &fused_text, SIZE_MAX,
                                                              &sketch, NULL, NULL), BW_OK);
                assert_string_equal(fused_text.p, norm.p);
                // Two more tokens after the fused part: the shingle window must carry over.
                bw_campaign_sketch_token(&sketch, "more", 4);
                bw_campaign_sketch_token(&sketch, "words", 5);
                bw_campaign_sketch_finish(&sketch);
                bw_buf_printf(&norm, "%smore words", norm.n ? " " : "");
                bw_campaign_minhash(&KEY, k, bw_buf_slice(&norm), expect);
                assert_memory_equal(got, expect, sizeof got);
            }
        }
    }
    bw_buf_free(&text);
    bw_buf_free(&norm);
    bw_buf_free(&fused_text);
    bw_campaign_token_cache_free(cache);

    // A shingle whose value is UINT32_MAX leaves its bin at UINT32_MAX but filled (the batch
    // marks it apart from the bins it reads off the signature). The hash is made by
    // inverting the mixer (with k = 1 a token's shingle is its own hash).
    uint64_t c1 = 0xff51afd7ed558ccdULL, c2 = 0xc4ceb9fe1a85ec53ULL, inv1 = c1, inv2 = c2;
    for (int i = 0; i < 6; i++) {
        inv1 *= 2 - c1 * inv1;   // Newton's iteration for the inverse mod 2^64
        inv2 *= 2 - c2 * inv2;
    }
    uint64_t h = (77ULL << 57) | UINT32_MAX;
    h ^= h >> 33;
    h *= inv2;
    h ^= h >> 33;
    h *= inv1;
    h ^= h >> 33;
    assert_int_equal(bw_campaign_mix64(h), (77ULL << 57) | UINT32_MAX);
    uint32_t sig[BW_CAMPAIGN_SIG];
    bw_campaign_sketch sketch;
    bw_campaign_sketch_init(&sketch, &KEY, 1, sig, NULL);
    uint64_t hashes[BW_CAMPAIGN_SKETCH_HISTORY + 1];
    bw_campaign_sketch_history(&sketch, hashes);
    hashes[BW_CAMPAIGN_SKETCH_HISTORY] = h;
    bw_campaign_sketch_hashes(&sketch, hashes + BW_CAMPAIGN_SKETCH_HISTORY, 1);
    assert_int_equal(sig[77], UINT32_MAX);
    assert_int_equal(sketch.filled[0], 0);
    assert_int_equal(sketch.filled[1], 1ULL << (77 - 64));
}

// Band keys: the unrolled default (3 rows) gives what the general key gives; every bin of
// the band and the band's number change the key; other rows agree between the two as well.
static void test_band_keys(void **state)
{
    (void)state;
    uint64_t rng = 99;
    uint32_t sig[BW_CAMPAIGN_SIG];
    uint64_t keys[BW_CAMPAIGN_SIG];
    for (int round = 0; round < 200; round++) {
        for (unsigned i = 0; i < BW_CAMPAIGN_SIG; i++) {
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            // Some rounds with many equal bins (short texts densify into copies).
            sig[i] = round % 4 == 0 ? (uint32_t)(rng >> 62) : (uint32_t)(rng >> 32);
        }
        for (unsigned rows = 1; rows <= 6; rows++) {
            unsigned bands = BW_CAMPAIGN_SIG / rows;
            bw_campaign_band_keys(sig, bands, rows, keys);
            for (unsigned b = 0; b < bands; b++)
                assert_true(keys[b] == bw_campaign_band_key(sig, b, rows));
        }
    }
    // Equal bins in two bands: the keys still differ (the band number is hashed in).
    for (unsigned i = 0; i < BW_CAMPAIGN_SIG; i++)
        sig[i] = 7;
    bw_campaign_band_keys(sig, 42, 3, keys);
    for (unsigned b = 1; b < 42; b++)
        assert_true(keys[b] != keys[0]);
    // Each bin of a band changes its key (and only its own band's).
    for (unsigned bin = 0; bin < 3; bin++) {
        uint64_t before[42];
        bw_campaign_band_keys(sig, 42, 3, before);
        sig[3 * 5 + bin] = 8;
        bw_campaign_band_keys(sig, 42, 3, keys);
        for (unsigned b = 0; b < 42; b++)
            assert_true((keys[b] != before[b]) == (b == 5));
        sig[3 * 5 + bin] = 7;
    }
}

// Signatures are stored (saved state, BW_CAMPAIGN_STATE_VERSION): a change of the token or
// shingle hash must be deliberate, so a few values are pinned.
static void test_signature_pinned(void **state)
{
    (void)state;
    uint32_t sig[BW_CAMPAIGN_SIG];
    bw_campaign_minhash(&KEY, 3, bw_slice_cstr("buy cheap meds now at <url:dom> only <num> dollars"), sig);
    static const uint32_t expect[4] = { 956121665u, 480489739u, 2750729131u, 1195677850u };   // bins 0, 32, 64, 96
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(sig[i * 32], expect[i]);
    // Cached and uncached preparation agree (the cache only saves work).
    bw_campaign_token_cache *cache = bw_campaign_token_cache_new();
    assert_non_null(cache);
    uint32_t cached[BW_CAMPAIGN_SIG];
    bw_campaign_minhash_cached(&KEY, 3, bw_slice_cstr("buy cheap meds now at <url:dom> only <num> dollars"), cached,
                               cache);
    assert_memory_equal(sig, cached, sizeof sig);
    bw_campaign_token_cache_free(cache);
}

static void test_bad_config(void **state)
{
    (void)state;
    bw_campaign_config cfg;
    bw_campaign_config_default(&cfg);
    cfg.bands = 50;
    cfg.rows = 3;
    char errbuf[BW_ERRBUF_SIZE];
    assert_null(bw_campaign_index_new(&cfg, errbuf));
    assert_non_null(strstr(errbuf, "bands"));
    bw_campaign_config_default(&cfg);
    cfg.threshold = 0;
    assert_null(bw_campaign_index_new(&cfg, errbuf));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize_table),
        cmocka_unit_test(test_fold),
        cmocka_unit_test(test_normalize_limits),
        cmocka_unit_test(test_minhash_estimate),
        cmocka_unit_test(test_lsh_curve),
        cmocka_unit_test(test_lsh_recall),
        cmocka_unit_test(test_template_inference),
        cmocka_unit_test(test_index_basics),
        cmocka_unit_test(test_exact_repeats),
        cmocka_unit_test(test_eviction),
        cmocka_unit_test(test_eviction_batches),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_determinism_and_persistence),
        cmocka_unit_test(test_prepare_split),
        cmocka_unit_test(test_match_commit),
        cmocka_unit_test(test_bad_config),
        cmocka_unit_test(test_normalize_fast_path),
        cmocka_unit_test(test_normalize_block_offsets),
        cmocka_unit_test(test_normalize_block_window),
        cmocka_unit_test(test_sketch_fused),
        cmocka_unit_test(test_band_keys),
        cmocka_unit_test(test_signature_pinned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
