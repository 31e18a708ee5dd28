// SPDX-License-Identifier: MIT
// The campaign and botnet read API (store_campaigns.h) and its views (report_campaigns.h)
// on the report fixture, whose campaigns and botnets are written as an ingest would:
// exact in-range counts that add up to the messages table, ranking and tie order, the
// detail view (timeline, senders, both directions of a link, the stored sample and the
// fallback when samples_json is not JSON), botnets with their JSON lists (a malformed one
// reads as empty), the 90% figure over a range, message lookups by id and SHA-256 prefix,
// the export lookups, and a database from before campaigns.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "botwatch/report_campaigns.h"
#include "botwatch/store_campaigns.h"
#include "fixture_db.h"

static char tmp_dir[64], db_path[128];

#define JAN01_2002 1009843200
#define FEB01_2002 1012521600

static int setup(void **state)
{
    (void)state;
    strcpy(tmp_dir, "/tmp/bw-camp-XXXXXX");
    if (!mkdtemp(tmp_dir))
        return -1;
    snprintf(db_path, sizeof db_path, "%s/fixture.db", tmp_dir);
    return fixture_db_create(db_path, true);
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static bw_store *open_ro(void)
{
    bw_store *store = NULL;
    char errbuf[BW_ERRBUF_SIZE];
    bw_store_options o = { .read_only = true };
    if (bw_store_open(db_path, &o, &store, errbuf) != BW_OK)
        fail_msg("open: %s", errbuf);
    return store;
}

typedef struct seen_campaigns {
    int64_t ids[16];
    uint64_t messages[16], subnets[16];
    int64_t botnets[16];
    char subjects[16][64], templates[16][64];
    size_t n;
} seen_campaigns;

static int on_campaign(void *ctx, const bw_store_campaign *c)
{
    seen_campaigns *s = ctx;
    assert_true(s->n < 16);
    s->ids[s->n] = c->id;
    s->messages[s->n] = c->messages;
    s->subnets[s->n] = c->subnets24;
    s->botnets[s->n] = c->botnet_id;
    snprintf(s->subjects[s->n], 64, "%.*s", (int)c->top_subject.n, c->top_subject.p ? c->top_subject.p : "");
    snprintf(s->templates[s->n], 64, "%.*s", (int)c->template_text.n, c->template_text.p ? c->template_text.p : "");
    s->n++;
    return 0;
}

static void test_totals_and_ranking(void **state)
{
    (void)state;
    bw_store *store = open_ro();
    char errbuf[BW_ERRBUF_SIZE];
    bw_store_campaign_totals t;
    assert_int_equal(bw_store_get_campaign_totals(store, &BW_STORE_RANGE_ALL, &t, errbuf), BW_OK);
    assert_int_equal(t.messages, FIXTURE_MESSAGES);
    assert_int_equal(t.in_campaigns, FIXTURE_IN_CAMPAIGNS);
    assert_int_equal(t.in_botnets, FIXTURE_IN_BOTNETS);
    assert_int_equal(t.campaigns, FIXTURE_CAMPAIGNS);
    assert_int_equal(t.botnets, FIXTURE_BOTNETS);
    assert_int_equal(t.campaigns_stored, FIXTURE_CAMPAIGNS);

    seen_campaigns s = { 0 };
    assert_int_equal(bw_store_list_campaigns(store, &BW_STORE_RANGE_ALL, 0, on_campaign, &s, errbuf), BW_OK);
    // By messages, ties by the smaller id: 1 (3), 2 (2), 3 (2), 4 (1); they add up.
    assert_int_equal(s.n, 4);
    static const int64_t ids[] = { 1, 2, 3, 4 };
    static const uint64_t msgs[] = { 3, 2, 2, 1 };
    uint64_t sum = 0;
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(s.ids[i], ids[i]);
        assert_int_equal(s.messages[i], msgs[i]);
        sum += s.messages[i];
    }
    assert_int_equal(sum, t.in_campaigns);
    assert_string_equal(s.subjects[0], "Cheap meds");
    assert_string_equal(s.templates[0], "cheap meds <url:dom>");
    assert_int_equal(s.botnets[0], 1);
    assert_int_equal(s.botnets[3], 0);
    // Campaign 2's senders are 198.51.100.7 and .8: one /24. Campaign 3: an IPv6 /48 and a /24.
    assert_int_equal(s.subnets[1], 1);
    assert_int_equal(s.subnets[2], 2);

    // A range: February holds messages 5, 6 (campaign 3) and 8 (campaign 1).
    bw_store_range feb = { .has_since = true, .since = FEB01_2002 };
    s = (seen_campaigns){ 0 };
    assert_int_equal(bw_store_list_campaigns(store, &feb, 1, on_campaign, &s, errbuf), BW_OK);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.ids[0], 3);
    assert_int_equal(s.messages[0], 2);
    bw_store_close(store, errbuf);
}

static void test_campaign_detail(void **state)
{
    (void)state;
    bw_store *store = open_ro();
    char errbuf[BW_ERRBUF_SIZE];
    bw_store_campaign_detail *d = NULL;
    assert_int_equal(bw_store_get_campaign(store, 1, NULL, &d, errbuf), BW_OK);
    assert_int_equal(d->campaign.messages, 3);
    assert_int_equal(d->first_message_id, 1);
    assert_int_equal(d->day_count, 2);            // Jan 5 (two messages) and Feb 10
    assert_int_equal(d->per_day[0].count, 2);
    assert_int_equal(d->per_day[1].count, 1);
    assert_int_equal(d->sender_count, 1);         // message 8 has no sender IP
    assert_int_equal(d->senders[0].count, 2);
    assert_int_equal(d->senders[0].number, 64500);
    assert_int_equal(d->link_count, 1);
    assert_int_equal(d->links[0].other_id, 2);
    assert_true(bw_slice_eq(d->links[0].domain, BW_SLICE_LIT("pills.example")));
    // The stored sample [8, 1, 2], in id order.
    assert_int_equal(d->sample_count, 3);
    assert_int_equal(d->samples[0].id, 1);
    assert_int_equal(d->samples[2].id, 8);
    assert_true(d->samples[1].similarity > 0.87 && d->samples[1].similarity < 0.88);
    bw_store_campaign_detail_free(d);

    // Campaign 2: the link seen from the other side; samples_json is not JSON, so its
    // first messages are the sample.
    assert_int_equal(bw_store_get_campaign(store, 2, NULL, &d, errbuf), BW_OK);
    assert_int_equal(d->link_count, 1);
    assert_int_equal(d->links[0].other_id, 1);
    assert_int_equal(d->sample_count, 2);
    assert_int_equal(d->samples[0].id, 3);
    assert_true(bw_slice_eq(d->campaign.botnet_label, BW_SLICE_LIT("<b>evil</b>")));
    bw_store_campaign_detail_free(d);

    // Campaign 4: undated.
    assert_int_equal(bw_store_get_campaign(store, 4, NULL, &d, errbuf), BW_OK);
    assert_int_equal(d->day_count, 0);
    assert_int_equal(d->undated_messages, 1);
    bw_store_campaign_detail_free(d);

    assert_int_equal(bw_store_get_campaign(store, 99, NULL, &d, errbuf), BW_ERR_NOTFOUND);
    assert_null(d);
    assert_non_null(strstr(errbuf, "no campaign 99"));
    bw_store_close(store, errbuf);
}

typedef struct seen_botnets {
    int64_t ids[8];
    uint64_t messages[8];
    size_t asns[8], countries[8], campaigns[8];
    size_t n;
} seen_botnets;

static int on_botnet(void *ctx, const bw_store_botnet *b)
{
    seen_botnets *s = ctx;
    s->ids[s->n] = b->id;
    s->messages[s->n] = b->messages;
    s->asns[s->n] = b->asn_count;
    s->countries[s->n] = b->country_count;
    s->campaigns[s->n] = b->top_campaign_count;
    s->n++;
    return 0;
}

static void test_botnets_and_ninety(void **state)
{
    (void)state;
    bw_store *store = open_ro();
    char errbuf[BW_ERRBUF_SIZE];
    seen_botnets s = { 0 };
    assert_int_equal(bw_store_list_botnets(store, &BW_STORE_RANGE_ALL, 0, 10, on_botnet, &s, errbuf), BW_OK);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.ids[0], 1);
    assert_int_equal(s.messages[0], 5);
    assert_int_equal(s.asns[0], 2);
    assert_int_equal(s.countries[0], 2);
    assert_int_equal(s.campaigns[0], 2);
    assert_int_equal(s.messages[1], 2);
    assert_int_equal(s.countries[1], 0);   // 'broken' JSON reads as no countries
    bw_store_close(store, errbuf);

    // Whole range: 7 of 9 messages in botnets, so 90% is never reached.
    bw_report_options o;
    bw_report_options_default(&o);
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);
    assert_int_equal(bw_report_botnets(store = open_ro(), &o, BW_REPORT_JSON, f, errbuf), BW_OK);
    fclose(f);
    assert_non_null(strstr(out, "\"botnets_for_90_percent\": null"));
    free(out);
    // February: messages 5, 6 (botnet 1) and 8 (campaign 1, botnet 1): one botnet sends all.
    o.range = (bw_store_range){ .has_since = true, .since = FEB01_2002 };
    f = open_memstream(&out, &n);
    assert_int_equal(bw_report_botnets(store, &o, BW_REPORT_TEXT, f, errbuf), BW_OK);
    fclose(f);
    assert_non_null(strstr(out, "1 botnet sends 90% of the spam (100.0% with the largest first)"));
    free(out);
    // HTML is the report's format only.
    f = open_memstream(&out, &n);
    assert_int_equal(bw_report_campaigns(store, &o, BW_REPORT_HTML, f, errbuf), BW_ERR_INVALID);
    fclose(f);
    free(out);
    bw_store_close(store, errbuf);
}

typedef struct found {
    int64_t id, campaign, botnet;
    bool started;
    double similarity;
    char labels[64];
    int calls;
} found;

static int on_found(void *ctx, const bw_store_message_attribution *m)
{
    found *f = ctx;
    f->id = m->id;
    f->campaign = m->campaign_id;
    f->botnet = m->botnet_id;
    f->started = m->started_campaign;
    f->similarity = m->similarity;
    snprintf(f->labels, sizeof f->labels, "%.*s", (int)m->rule_labels.n, m->rule_labels.p ? m->rule_labels.p : "");
    f->calls++;
    return 0;
}

static void test_message_lookups(void **state)
{
    (void)state;
    bw_store *store = open_ro();
    char errbuf[BW_ERRBUF_SIZE];
    found f = { 0 };
    assert_int_equal(bw_store_find_message_id(store, 5, on_found, &f, errbuf), BW_OK);
    assert_int_equal(f.campaign, 3);
    assert_int_equal(f.botnet, 1);
    assert_true(f.started);
    assert_string_equal(f.labels, "bulk ratware_demo");
    f = (found){ 0 };
    assert_int_equal(bw_store_find_message_id(store, 6, on_found, &f, errbuf), BW_OK);
    assert_false(f.started);
    assert_true(f.similarity > 0.49 && f.similarity < 0.51);
    assert_int_equal(bw_store_find_message_id(store, 9, on_found, &f, errbuf), BW_OK);
    assert_int_equal(f.campaign, 0);   // the unparsed message
    assert_int_equal(bw_store_find_message_id(store, 77, on_found, &f, errbuf), BW_ERR_NOTFOUND);

    // Message 1 is sha256("msg-0") = ca226b15...; any case, odd lengths work.
    static const char *const prefixes[] = { "ca226b15", "CA226B159", "ca226b1595403371d332cbe167aba17c0b16c83e6e6989a97e18985ab5a80a2c" };
    for (size_t i = 0; i < 3; i++) {
        f = (found){ 0 };
        assert_int_equal(bw_store_find_message_sha256(store, prefixes[i], on_found, &f, errbuf), BW_OK);
        assert_int_equal(f.id, 1);
        assert_int_equal(f.calls, 1);
    }
    assert_int_equal(bw_store_find_message_sha256(store, "ca226b1", on_found, &f, errbuf), BW_ERR_INVALID);
    assert_int_equal(bw_store_find_message_sha256(store, "ca226b1x", on_found, &f, errbuf), BW_ERR_INVALID);
    assert_int_equal(bw_store_find_message_sha256(store, "ffffffff", on_found, &f, errbuf), BW_ERR_NOTFOUND);
    assert_int_equal(bw_store_find_message_sha256(store, "00000000", on_found, &f, errbuf), BW_ERR_NOTFOUND);

    // Export lookups.
    bw_store_attrib_reader *r = bw_store_attrib_reader_new(store, errbuf);
    assert_non_null(r);
    int64_t campaign, botnet;
    bw_slice labels;
    assert_int_equal(bw_store_attrib_get(r, 3, &campaign, &labels, &botnet, errbuf), 1);
    assert_int_equal(campaign, 2);
    assert_int_equal(botnet, 2);
    assert_true(bw_slice_eq(labels, BW_SLICE_LIT("ratware_demo")));
    assert_int_equal(bw_store_attrib_get(r, 7, &campaign, &labels, &botnet, errbuf), 1);
    assert_int_equal(campaign, 4);
    assert_int_equal(botnet, 0);
    assert_int_equal(labels.n, 0);
    assert_int_equal(bw_store_attrib_get(r, 1000, &campaign, &labels, &botnet, errbuf), 0);
    bw_store_attrib_reader_free(r);
    bw_store_close(store, errbuf);
}

static void test_old_and_empty_databases(void **state)
{
    (void)state;
    char path[160], errbuf[BW_ERRBUF_SIZE];
    // A schema-2 file, as botwatch wrote before campaigns: user_version 2.
    snprintf(path, sizeof path, "%s/v2.db", tmp_dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(x); PRAGMA user_version = 2", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    int version = -1;
    assert_int_equal(bw_store_file_schema_version(path, &version, errbuf), BW_OK);
    assert_int_equal(version, 2);
    snprintf(path, sizeof path, "%s/not-sqlite.db", tmp_dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("this is not a database, it is a text file long enough to have a header......................", f);
    fclose(f);
    assert_int_equal(bw_store_file_schema_version(path, &version, errbuf), BW_ERR_DB);

    // A new, empty store: no campaigns, no botnets, every view still writes.
    snprintf(path, sizeof path, "%s/empty.db", tmp_dir);
    bw_store *store = NULL;
    assert_int_equal(bw_store_open(path, NULL, &store, errbuf), BW_OK);
    bw_report_options o;
    bw_report_options_default(&o);
    for (int fmt = BW_REPORT_TEXT; fmt <= BW_REPORT_CSV; fmt++) {
        char *out = NULL;
        size_t n = 0;
        f = open_memstream(&out, &n);
        assert_int_equal(bw_report_campaigns(store, &o, (bw_report_format)fmt, f, errbuf), BW_OK);
        assert_int_equal(bw_report_botnets(store, &o, (bw_report_format)fmt, f, errbuf), BW_OK);
        fclose(f);
        if (fmt == BW_REPORT_TEXT) {
            assert_non_null(strstr(out, "(no campaigns yet"));
            assert_non_null(strstr(out, "(no botnets inferred yet"));
        }
        free(out);
    }
    bw_store_close(store, errbuf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_totals_and_ranking),
        cmocka_unit_test(test_campaign_detail),
        cmocka_unit_test(test_botnets_and_ninety),
        cmocka_unit_test(test_message_lookups),
        cmocka_unit_test(test_old_and_empty_databases),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
