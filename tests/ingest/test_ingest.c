// SPDX-License-Identifier: MIT
// End-to-end tests of the ingest pipeline on real data: the whole SpamAssassin corpus
// (6,046 messages) is ingested with no loss, a second run finds every message a duplicate
// and changes no campaign, and the database content (campaigns, their saved state and
// botnets included) is byte-identical for 1, 2 and 4 worker threads (a hash of every table,
// excluding wall-clock columns). A spamsim stream ingested as two days in two runs gives
// the same database as one run over both; a damaged campaign state is refused, or
// discarded with --reset-campaigns. Small crafted inputs check that bad inputs become
// ingest_errors rows with source and offset while the run goes on.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "botwatch/hash.h"
#include "botwatch/ingest.h"
#include "botwatch/rules.h"
#include "botwatch/store.h"
#include "ingest_internal.h"   // ingest_botnets: the end-of-run inference without the feed
#include "spamsim_gen.h"

#define SPAMASSASSIN_MESSAGES 6046

static char tmpdir[256];
static bw_rules *shipped_rules;   // the shipped attribution rules, run by every test ingest

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/bw-test-ingest-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *corpus_path(void)
{
    static char path[1024];
    const char *data = getenv("BW_DATA");
    if (!data)
        return NULL;
    snprintf(path, sizeof path, "%s/spamassassin.mbox", data);
    struct stat st;
    return stat(path, &st) == 0 && st.st_size > 0 ? path : NULL;
}

static bw_store *open_store(const char *name)
{
    char path[400], err[BW_ERRBUF_SIZE];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    bw_store *store = NULL;
    bw_store_options opts = { .bulk_load = true };
    if (bw_store_open(path, &opts, &store, err) != BW_OK)
        fail_msg("open %s: %s", path, err);
    // One key for every test database: campaign signatures are keyed, and databases are
    // compared with each other.
    if (bw_store_meta_set(store, "hash_key", "0123456789abcdeffedcba9876543210", err) != BW_OK)
        fail_msg("set key: %s", err);
    return store;
}

static bw_status ingest_with(bw_store *store, const char *const *paths, size_t n, size_t threads, size_t ring,
                             size_t max_inflight_bytes, bool reset_campaigns, bw_ingest_stats *stats, char *err)
{
    bw_ingest_config cfg;
    bw_ingest_config_default(&cfg);
    cfg.threads = threads;
    cfg.ring_messages = ring;
    cfg.max_inflight_bytes = max_inflight_bytes;
    cfg.batch_messages = 1000;
    cfg.reset_campaigns = reset_campaigns;
    if (!shipped_rules && bw_rules_builtin(&shipped_rules, err) != BW_OK)
        fail_msg("shipped rules: %s", err);
    const bw_rules *sets[] = { shipped_rules };
    cfg.rules = sets;
    cfg.rules_count = 1;
    return bw_ingest_paths(store, paths, n, &cfg, stats, err);
}

static void ingest_ring(bw_store *store, const char *const *paths, size_t n, size_t threads,
                        size_t ring, size_t max_inflight_bytes, bw_ingest_stats *stats)
{
    char err[BW_ERRBUF_SIZE];
    if (ingest_with(store, paths, n, threads, ring, max_inflight_bytes, false, stats, err) != BW_OK)
        fail_msg("ingest: %s", err);
}

static void ingest(bw_store *store, const char *const *paths, size_t n, size_t threads, bw_ingest_stats *stats)
{
    // A small ring and batch exercise wrap-around, back-pressure and many commits.
    ingest_ring(store, paths, n, threads, 64, 1u << 20, stats);
}

// SHA-256 over every row of every table, in key order, without the wall-clock columns
// (ingested_at, sources' ingest times, ingest_errors.at, campaign_state.saved_at).
static const char *const dump_queries[] = {
    "SELECT id, sha256, date, received_at, seen_at, source_id, source_offset, size, sender_ip,"
    " sender_asn, helo, envelope_from, envelope_to, subject, from_addr, message_id,"
    " (SELECT f.fingerprint FROM header_fingerprints f WHERE f.id = messages.header_fp_id),"
    " anomalies, part_count, text_bytes, url_count, campaign_id, similarity,"
    " rule_labels FROM messages ORDER BY id",
    "SELECT msg_id, seq, url, host, domain, from_html, obfuscated FROM urls ORDER BY msg_id, seq",
    "SELECT id, name FROM domains ORDER BY id",
    "SELECT domain_id, msg_id FROM url_domains ORDER BY domain_id, msg_id",
    "SELECT id, path, format, messages, duplicates, errors, bytes FROM sources ORDER BY id",
    "SELECT id, source_id, offset, reason FROM ingest_errors ORDER BY id",
    "SELECT asn, name, country FROM asns ORDER BY asn",
    "SELECT * FROM campaigns ORDER BY id",
    "SELECT * FROM campaign_links ORDER BY a, b, domain",
    "SELECT * FROM botnets ORDER BY id",
    "SELECT id, version, hex(blob) FROM campaign_state",
};

static void dump_hash_of(bw_store *store, const char *const *queries, size_t count, char hex[BW_SHA256_HEX_LEN + 1])
{
    bw_buf all = BW_BUF_INIT;
    sqlite3 *db = bw_store_sqlite(store);
    for (size_t q = 0; q < count; q++) {
        sqlite3_stmt *st;
        assert_int_equal(sqlite3_prepare_v2(db, queries[q], -1, &st, NULL), SQLITE_OK);
        while (sqlite3_step(st) == SQLITE_ROW) {
            for (int c = 0; c < sqlite3_column_count(st); c++) {
                const unsigned char *v = sqlite3_column_text(st, c);
                int n = sqlite3_column_bytes(st, c);
                assert_int_equal(bw_buf_append(&all, v ? (const char *)v : "\\N", v ? (size_t)n : 2), 0);
                assert_int_equal(bw_buf_append_char(&all, '\t'), 0);
            }
            assert_int_equal(bw_buf_append_char(&all, '\n'), 0);
        }
        sqlite3_finalize(st);
    }
    uint8_t digest[BW_SHA256_LEN];
    bw_sha256(all.p, all.n, digest);
    bw_hex(digest, sizeof digest, hex);
    bw_buf_free(&all);
}

static void dump_hash(bw_store *store, char hex[BW_SHA256_HEX_LEN + 1])
{
    dump_hash_of(store, dump_queries, sizeof dump_queries / sizeof dump_queries[0], hex);
}

// The campaign tables alone (campaigns, links, botnets, saved state).
static void campaign_hash(bw_store *store, char hex[BW_SHA256_HEX_LEN + 1])
{
    dump_hash_of(store, dump_queries + 5, 4, hex);
}

static int64_t count_rows(bw_store *store, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(bw_store_sqlite(store), sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static void write_file(const char *path, const char *text, size_t n);

static void test_spamassassin_and_reingest(void **state)
{
    (void)state;
    const char *mbox = corpus_path();
    if (!mbox) {
        printf("skipping: $BW_DATA/spamassassin.mbox missing (run scripts/fetch-data.sh)\n");
        skip();
    }
    char err[BW_ERRBUF_SIZE];
    bw_store *store = open_store("sa.db");
    bw_ingest_stats stats;
    ingest(store, &mbox, 1, 2, &stats);
    assert_int_equal(stats.messages, SPAMASSASSIN_MESSAGES);
    assert_int_equal(stats.new_messages + stats.duplicates, SPAMASSASSIN_MESSAGES);
    // The public corpus holds a handful of byte-identical messages in different folders;
    // whatever that number, every message is accounted for exactly once.
    assert_int_equal(count_rows(store, "SELECT count(*) FROM messages"), (int64_t)stats.new_messages);
    assert_int_equal(count_rows(store, "SELECT sum(messages) FROM sources"), SPAMASSASSIN_MESSAGES);
    assert_int_equal(count_rows(store, "SELECT count(*) FROM messages WHERE part_count IS NULL"), 0);
    assert_true(count_rows(store, "SELECT count(*) FROM urls") > 10000);
    // Each message's URLs (schema 5): valid JSON, one entry per URL counted, and the same
    // bytes SQLite's json_array() makes of the values read back through the urls view.
    assert_int_equal(count_rows(store, "SELECT count(*) FROM message_urls WHERE NOT json_valid(urls)"), 0);
    assert_int_equal(count_rows(store, "SELECT count(*) FROM messages m WHERE coalesce(m.url_count, 0) !="
                                       " (SELECT count(*) FROM urls u WHERE u.msg_id = m.id)"), 0);
    assert_int_equal(count_rows(store, "SELECT count(*) FROM message_urls mu WHERE mu.urls != (SELECT '[' ||"
                                       " group_concat(json_array(url, host, domain, from_html, obfuscated), ',')"
                                       " || ']' FROM (SELECT * FROM urls u WHERE u.msg_id = mu.msg_id ORDER BY seq))"), 0);
    assert_true(count_rows(store, "SELECT count(*) FROM messages WHERE sender_ip IS NOT NULL") > 3000);
    assert_true(count_rows(store, "SELECT count(*) FROM messages WHERE seen_at IS NOT NULL") > 6000);
    uint64_t first_new = stats.new_messages;
    printf("first run: %llu messages, %llu new, %llu duplicates, %llu errors\n",
           (unsigned long long)stats.messages, (unsigned long long)stats.new_messages,
           (unsigned long long)stats.duplicates, (unsigned long long)stats.errors);
    // Every new parsed message is in exactly one campaign; the rows add up.
    assert_int_equal(stats.campaign_messages, first_new);
    assert_int_equal(count_rows(store, "SELECT count(*) FROM messages WHERE campaign_id IS NULL"), 0);
    assert_int_equal(count_rows(store, "SELECT sum(messages) FROM campaigns"), (int64_t)first_new);
    assert_int_equal(count_rows(store, "SELECT count(*) FROM campaigns"), (int64_t)stats.campaigns_created);
    assert_int_equal(count_rows(store, "SELECT count(*) FROM campaigns WHERE in_memory = 1"),
                     (int64_t)stats.campaigns_active);
    assert_int_equal(count_rows(store, "SELECT count(*) FROM (SELECT campaign_id, count(*) AS n FROM messages"
                                       " GROUP BY 1) m JOIN campaigns c ON c.id = m.campaign_id WHERE c.messages = m.n"),
                     (int64_t)stats.campaigns_created);
    assert_int_equal(count_rows(store, "SELECT count(*) FROM campaign_state"), 1);
    assert_int_equal(count_rows(store, "SELECT count(*) FROM campaign_links WHERE a >= b"), 0);
    // The shipped rules label some of the corpus's spam (forged Outlook headers and the like).
    assert_true(stats.labelled > 100);
    assert_int_equal(count_rows(store, "SELECT count(*) FROM messages WHERE rule_labels IS NOT NULL"),
                     (int64_t)stats.labelled);
    // Botnets: rows and campaign links agree (campaigns sent from too few networks are in no
    // botnet: botnet_id NULL), ids are 1..N.
    assert_int_equal(count_rows(store, "SELECT count(*) FROM botnets"), (int64_t)stats.botnets);
    assert_int_equal(count_rows(store, "SELECT coalesce(max(id), 0) FROM botnets"), (int64_t)stats.botnets);
    assert_int_equal(count_rows(store, "SELECT count(*) FROM campaigns c LEFT JOIN botnets b ON b.id = c.botnet_id"
                                       " WHERE c.botnet_id IS NOT NULL AND b.id IS NULL"), 0);
    assert_int_equal(count_rows(store, "SELECT coalesce(sum(messages), 0) FROM botnets"),
                     count_rows(store, "SELECT coalesce(sum(messages), 0) FROM campaigns WHERE botnet_id IS NOT NULL"));
    assert_int_equal(count_rows(store, "SELECT coalesce(sum(campaigns), 0) FROM botnets"),
                     count_rows(store, "SELECT count(*) FROM campaigns WHERE botnet_id IS NOT NULL"));
    // The corpus has real campaigns: some hold many messages; starters have similarity 1.
    assert_true(count_rows(store, "SELECT max(messages) FROM campaigns") >= 10);
    assert_true(stats.campaigns_created < first_new * 9 / 10);
    assert_int_equal(count_rows(store, "SELECT count(*) FROM messages m JOIN campaigns c ON c.id = m.campaign_id"
                                       " WHERE m.id = (SELECT min(id) FROM messages WHERE campaign_id = c.id)"
                                       " AND m.similarity <> 1.0"), 0);
    printf("campaigns: %llu created, %llu evicted, %llu active\n", (unsigned long long)stats.campaigns_created,
           (unsigned long long)stats.campaigns_evicted, (unsigned long long)stats.campaigns_active);
    char before[BW_SHA256_HEX_LEN + 1], after[BW_SHA256_HEX_LEN + 1];
    campaign_hash(store, before);
    // A mark on the saved state: a run that changes no campaign must not rewrite it.
    assert_int_equal(sqlite3_exec(bw_store_sqlite(store), "UPDATE campaign_state SET saved_at = 7", NULL, NULL, NULL),
                     SQLITE_OK);

    // Same input again: nothing new, every message a duplicate.
    ingest(store, &mbox, 1, 2, &stats);
    assert_int_equal(stats.messages, SPAMASSASSIN_MESSAGES);
    assert_int_equal(stats.new_messages, 0);
    assert_int_equal(stats.duplicates, SPAMASSASSIN_MESSAGES);
    assert_int_equal(count_rows(store, "SELECT count(*) FROM messages"), (int64_t)first_new);
    assert_int_equal(count_rows(store, "SELECT count(*) FROM sources"), 1);
    assert_int_equal(count_rows(store, "SELECT sum(messages) FROM sources"), 2 * SPAMASSASSIN_MESSAGES);
    // Duplicates join no campaign: campaigns, links, botnets and the saved state unchanged.
    assert_int_equal(stats.campaign_messages, 0);
    assert_int_equal(stats.campaigns_created, 0);
    campaign_hash(store, after);
    assert_string_equal(before, after);
    assert_int_equal(count_rows(store, "SELECT saved_at FROM campaign_state"), 7);
    // One new message: the state is saved again.
    char one_more[400];
    snprintf(one_more, sizeof one_more, "%s/one_more.mbox", tmpdir);
    static const char msg[] = "From a@example.com Mon Jan  1 00:00:00 2001\n"
                              "Received: from h ([81.2.69.160]) by trap.example; Mon, 1 Jan 2001 00:00:05 +0000\n"
                              "From: a@example.com\nSubject: one more\nDate: Mon, 1 Jan 2001 00:00:00 +0000\n\n"
                              "a message nobody has sent before, about nothing in particular\n";
    write_file(one_more, msg, sizeof msg - 1);
    const char *one_path = one_more;
    ingest(store, &one_path, 1, 2, &stats);
    assert_int_equal(stats.campaign_messages, 1);
    assert_true(count_rows(store, "SELECT saved_at FROM campaign_state") > 7);
    assert_int_equal(bw_store_close(store, err), BW_OK);
}

static void test_determinism_across_threads(void **state)
{
    (void)state;
    const char *mbox = corpus_path();
    if (!mbox) {
        printf("skipping: $BW_DATA/spamassassin.mbox missing (run scripts/fetch-data.sh)\n");
        skip();
    }
    char err[BW_ERRBUF_SIZE];
    char hash1[BW_SHA256_HEX_LEN + 1], hash2[BW_SHA256_HEX_LEN + 1];
    bw_ingest_stats stats;
    // The same source path in both databases (sources.path is part of the dump).
    bw_store *one = open_store("t1.db");
    ingest(one, &mbox, 1, 1, &stats);
    dump_hash(one, hash1);
    assert_int_equal(bw_store_close(one, err), BW_OK);
    bw_store *two = open_store("t2.db");
    ingest(two, &mbox, 1, 2, &stats);
    dump_hash(two, hash2);
    assert_int_equal(bw_store_close(two, err), BW_OK);
    printf("dump sha256: 1 thread %s, 2 threads %s\n", hash1, hash2);
    assert_string_equal(hash1, hash2);
    char hash4[BW_SHA256_HEX_LEN + 1];
    bw_store *four = open_store("t4.db");
    ingest(four, &mbox, 1, 4, &stats);
    dump_hash(four, hash4);
    assert_true(count_rows(four, "SELECT count(*) FROM campaigns") > 100);
    assert_int_equal(bw_store_close(four, err), BW_OK);
    assert_string_equal(hash1, hash4);
    // A degenerate ring (2 slots, 1 byte in flight: every message alone over the byte
    // bound) and more workers than slots: still complete, still the same content.
    char hash3[BW_SHA256_HEX_LEN + 1];
    bw_store *three = open_store("t3.db");
    ingest_ring(three, &mbox, 1, 3, 2, 1, &stats);
    assert_int_equal(stats.messages, SPAMASSASSIN_MESSAGES);
    dump_hash(three, hash3);
    assert_int_equal(bw_store_close(three, err), BW_OK);
    assert_string_equal(hash1, hash3);
}

static void write_file(const char *path, const char *text, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, n, f), n);
    fclose(f);
}

// ---- spamsim: day after day ---------------------------------------------------------

static const char *data_dir(const char *env, const char *sub, char *buf, size_t n)
{
    const char *base = getenv(env);
    if (!base || !*base)
        return NULL;
    snprintf(buf, n, "%s/%s", base, sub);
    struct stat st;
    return stat(buf, &st) == 0 ? buf : NULL;
}

// mboxrd: a body line starting with ">*From " gets one more '>'.
static void put_mboxrd(FILE *f, bw_slice raw)
{
    size_t i = 0;
    while (i < raw.n) {
        const char *nl = memchr(raw.p + i, '\n', raw.n - i);
        size_t e = nl ? (size_t)(nl - raw.p) + 1 : raw.n;
        size_t k = i;
        while (k < e && raw.p[k] == '>')
            k++;
        if (e - k >= 5 && memcmp(raw.p + k, "From ", 5) == 0)
            fputc('>', f);
        assert_int_equal(fwrite(raw.p + i, 1, e - i, f), e - i);
        i = e;
    }
    fputc('\n', f);
}

// A spamsim stream (real spam templates sent by simulated botnets over `days` days) as two
// mbox files: the first half of the days and the second. False when the data is absent.
static bool write_spamsim_days(const char *day1, const char *day2, size_t messages, unsigned days)
{
    char sa[1024], asn[1024], csdmc[1024];
    spamsim_config cfg;
    spamsim_config_default(&cfg);
    cfg.seed = 11;
    cfg.messages = messages;
    cfg.campaigns = 40;
    cfg.botnets = 5;
    cfg.days = days;
    cfg.sa_dir = data_dir("BW_DATA", "npm-spam-assassin/package/data", sa, sizeof sa);
    cfg.asn_csv = data_dir("BW_DATA", "npm-asn/package/asn-ipv4.csv", asn, sizeof asn);
    cfg.csdmc_dir = data_dir("BW_SHARED_DATA", "mail/csdmc2010", csdmc, sizeof csdmc);
    char errbuf[256] = "BW_DATA not set";
    spamsim *sim = cfg.sa_dir && cfg.asn_csv ? spamsim_new(&cfg, errbuf) : NULL;
    if (!sim) {
        printf("skipping: spamsim data unavailable: %s\n", errbuf);
        return false;
    }
    FILE *f1 = fopen(day1, "w"), *f2 = fopen(day2, "w");
    assert_non_null(f1);
    assert_non_null(f2);
    int64_t split = cfg.start_time + (int64_t)(days / 2) * 86400;
    spamsim_msg m;
    for (size_t i = 0; i < spamsim_count(sim); i++) {
        assert_int_equal(spamsim_render(sim, i, &m), 0);
        FILE *f = m.time < split ? f1 : f2;
        fputs("From MAILER-DAEMON Mon Jan  1 00:00:00 2001\n", f);
        put_mboxrd(f, m.raw);
    }
    assert_int_equal(fclose(f1), 0);
    assert_int_equal(fclose(f2), 0);
    spamsim_free(sim);
    return true;
}

// The botnet feed a writer would have built for every message of the store (its rows read
// back), merged every merge_rows rows; with gap, the 100th message is left out, as if
// another writer had stored it between two of the run's batches.
static ingest_botnet_feed *feed_from_store(bw_store *store, size_t merge_rows, bool gap)
{
    ingest_botnet_feed *feed = ingest_botnet_feed_new(merge_rows);
    assert_non_null(feed);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(bw_store_sqlite(store),
                                        "SELECT id, campaign_id, sender_ip, coalesce(seen_at, ingested_at),"
                                        " coalesce(sender_asn, 0), rule_labels FROM messages ORDER BY id",
                                        -1, &st, NULL), SQLITE_OK);
    for (int row = 1; sqlite3_step(st) == SQLITE_ROW; row++) {
        if (gap && row == 100)
            continue;
        ingest_botnet_feed_inserted(feed, sqlite3_column_int64(st, 0));
        if (sqlite3_column_type(st, 1) == SQLITE_NULL)
            continue;
        bw_ip ip;
        const char *text = (const char *)sqlite3_column_text(st, 2);
        bool has_ip = text && bw_ip_parse(bw_slice_make(text, (size_t)sqlite3_column_bytes(st, 2)), &ip);
        const char *labels = (const char *)sqlite3_column_text(st, 5);
        ingest_botnet_feed_add(feed, (uint64_t)sqlite3_column_int64(st, 1), has_ip ? &ip : NULL,
                               sqlite3_column_int64(st, 3), (uint32_t)sqlite3_column_int64(st, 4),
                               bw_slice_make(labels, labels ? (size_t)sqlite3_column_bytes(st, 5) : 0));
    }
    sqlite3_finalize(st);
    return feed;
}

// Campaigns persist day after day: ingesting day 1 and then day 2 in a second run gives the
// database one run over both gives (same message rows and campaign ids, same campaign rows,
// links, botnets and saved state), for different thread counts too.
static void test_campaigns_day_after_day(void **state)
{
    (void)state;
    // Day 2 comes in a directory: its size is not known ahead, so the second run into `two`
    // keeps the report indexes until it has added an eighth of day 1, then drops them.
    char day1_buf[400], day2_buf[400], day2_dir_buf[400];
    const char *day1 = day1_buf, *day2 = day2_dir_buf;
    snprintf(day1_buf, sizeof day1_buf, "%s/day1.mbox", tmpdir);
    snprintf(day2_dir_buf, sizeof day2_dir_buf, "%s/day2dir", tmpdir);
    snprintf(day2_buf, sizeof day2_buf, "%s/day2dir/day2.mbox", tmpdir);
    assert_int_equal(mkdir(day2_dir_buf, 0700), 0);
    if (!write_spamsim_days(day1, day2_buf, 6000, 8))
        skip();
    char err[BW_ERRBUF_SIZE], one_hash[BW_SHA256_HEX_LEN + 1], two_hash[BW_SHA256_HEX_LEN + 1];
    bw_ingest_stats stats;
    const char *both[] = { day1, day2 };
    bw_store *one = open_store("one.db");
    ingest(one, both, 2, 2, &stats);
    assert_int_equal(stats.new_messages, 6000);
    assert_int_equal(stats.campaign_messages, 6000);
    // The botnets of a first run come from the writer's feed: no row is read back.
    assert_int_equal(stats.botnet_rows_read, 0);
    uint64_t campaigns_one = stats.campaigns_created;
    dump_hash(one, one_hash);
    // spamsim's 40 templates: a few splits, never a merge of all of them.
    int64_t big = count_rows(one, "SELECT count(*) FROM campaigns WHERE messages >= 20");
    printf("one run: %llu campaigns, %lld with >= 20 messages, %lld botnets\n", (unsigned long long)campaigns_one,
           (long long)big, (long long)count_rows(one, "SELECT count(*) FROM botnets"));
    assert_true(big >= 30 && big <= 80);
    // 5 simulated botnets: their campaigns group into a few botnets, far fewer than campaigns,
    // holding nearly all messages, and five of them carry almost everything. (A split-off
    // piece of a campaign whose senders share no /24 with its siblings becomes a small botnet
    // of its own: 9 to 11 of them here, depending on the MinHash function, with the five
    // largest holding 97%.)
    int64_t botnets = count_rows(one, "SELECT count(*) FROM botnets");
    assert_true(botnets >= 3 && botnets <= 15 && botnets * 3 < (int64_t)campaigns_one);
    assert_true(count_rows(one, "SELECT sum(messages) FROM botnets") >= 5700);
    assert_true(count_rows(one, "SELECT sum(messages) FROM (SELECT messages FROM botnets ORDER BY messages DESC LIMIT 5)") >=
                5700);

    bw_store *two = open_store("two.db");
    ingest(two, &day1, 1, 1, &stats);
    uint64_t first_day = stats.campaigns_created;
    assert_true(stats.campaigns_active > 0);
    int64_t max_after_day1 = count_rows(two, "SELECT max(id) FROM campaigns");
    // Into an empty store the report indexes are dropped for the run and rebuilt.
    assert_true(stats.indexes_rebuilt);
    // Day 1 left its sightings in one sighting_runs row covering its ids.
    assert_int_equal(count_rows(two, "SELECT count(*) FROM sighting_runs"), 1);
    assert_int_equal(count_rows(two, "SELECT last_id FROM sighting_runs WHERE first_id = 1"),
                     count_rows(two, "SELECT max(id) FROM messages"));
    ingest(two, &day2, 1, 3, &stats);
    // Day 2 (as large as day 1) drops them once it has added an eighth of day 1, between
    // two batches, and rebuilds them; the result is the one-run store's (below).
    assert_true(stats.indexes_rebuilt);
    // The second run reads no message back: day 1's sightings come from its row, its own
    // from its feed; it leaves a row of its own.
    assert_int_equal(stats.botnet_rows_read, 0);
    assert_int_equal(count_rows(two, "SELECT count(*) FROM sighting_runs"), 2);
    assert_int_equal(count_rows(two, "SELECT max(last_id) FROM sighting_runs"),
                     count_rows(two, "SELECT max(id) FROM messages"));
    // Day 2 extends campaigns of day 1: some of its messages join ids created on day 1.
    int64_t extended = count_rows(two, "SELECT count(DISTINCT campaign_id) FROM messages m JOIN sources s"
                                       " ON s.id = m.source_id WHERE s.path LIKE '%day2.mbox' AND m.campaign_id <= "
                                       "(SELECT max(campaign_id) FROM messages m2 JOIN sources s2 ON s2.id ="
                                       " m2.source_id WHERE s2.path LIKE '%day1.mbox')");
    printf("two runs: %llu + %llu campaigns, %lld day-1 campaigns continued on day 2\n",
           (unsigned long long)first_day, (unsigned long long)stats.campaigns_created, (long long)extended);
    assert_true(extended > 5);
    assert_true(max_after_day1 > 0);
    assert_int_equal(first_day + stats.campaigns_created, campaigns_one);
    dump_hash(two, two_hash);
    assert_string_equal(one_hash, two_hash);
    // Rows merged: with the threshold at 2, the next botnet step reads day 1's and day 2's
    // rows and leaves one for every id instead; the botnets are the same.
    {
        uint64_t n = 0, read = 0;
        int64_t sum_before = count_rows(two, "SELECT sum(id * 7 + campaigns * 3 + messages + sender_ips) FROM botnets");
        assert_int_equal(ingest_botnets_with(two, 2, &n, &read, err), BW_OK);
        assert_int_equal(read, 0);
        assert_int_equal(count_rows(two, "SELECT count(*) FROM sighting_runs"), 1);
        assert_int_equal(count_rows(two, "SELECT first_id FROM sighting_runs"), 1);
        assert_int_equal(count_rows(two, "SELECT last_id FROM sighting_runs"),
                         count_rows(two, "SELECT max(id) FROM messages"));
        assert_int_equal(count_rows(two, "SELECT sum(id * 7 + campaigns * 3 + messages + sender_ips) FROM botnets"),
                         sum_before);
        assert_int_equal(ingest_botnets(two, &n, &read, err), BW_OK);   // and it reads back
        assert_int_equal(read, 0);
        assert_int_equal(count_rows(two, "SELECT sum(id * 7 + campaigns * 3 + messages + sender_ips) FROM botnets"),
                         sum_before);
    }
    // A run that adds nothing to the store keeps its indexes, and its botnets: the last
    // botnet step saw every message (its sighting_runs rows cover them all).
    const char *botnets_sql = "SELECT sum(id * 7 + campaigns * 3 + messages + sender_ips) FROM botnets";
    int64_t botnets_sum = count_rows(two, botnets_sql);
    ingest(two, &day1, 1, 2, &stats);
    assert_int_equal(stats.new_messages, 0);
    assert_false(stats.indexes_rebuilt);
    assert_int_equal(
        count_rows(two, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'messages_seen'"), 1);
    assert_int_equal(stats.botnets, (uint64_t)count_rows(two, "SELECT count(*) FROM botnets"));
    assert_int_equal(stats.botnet_rows_read, 0);
    assert_true(stats.botnets_kept);
    assert_int_equal(count_rows(two, botnets_sql), botnets_sum);
    // With the last run's row gone (as after a run that stopped before its botnet step), a
    // run that adds nothing infers them again, reading those messages: the same botnets.
    assert_int_equal(sqlite3_exec(bw_store_sqlite(two), "DELETE FROM sighting_runs WHERE first_id ="
                                  " (SELECT max(first_id) FROM sighting_runs)", NULL, NULL, NULL),
                     SQLITE_OK);
    ingest(two, &day1, 1, 2, &stats);
    assert_false(stats.botnets_kept);
    assert_true(stats.botnet_rows_read > 0);
    assert_int_equal(count_rows(two, botnets_sql), botnets_sum);
    assert_int_equal(count_rows(two, "SELECT max(last_id) FROM sighting_runs"),
                     count_rows(two, "SELECT max(id) FROM messages"));
    // Inferred again from the store alone (no feed): from the sighting_runs rows, then with
    // them gone from every message read back, then with a damaged row (its ids read back,
    // the row written anew), the botnets and the campaigns' botnet ids are the same.
    uint64_t again = 0, rows_read = 0;
    assert_int_equal(ingest_botnets(one, &again, &rows_read, err), BW_OK);
    assert_int_equal(rows_read, 0);
    assert_int_equal(again, (uint64_t)botnets);
    dump_hash(one, two_hash);
    assert_string_equal(one_hash, two_hash);
    assert_int_equal(sqlite3_exec(bw_store_sqlite(one), "DELETE FROM sighting_runs", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(ingest_botnets(one, &again, &rows_read, err), BW_OK);
    assert_int_equal(rows_read, 6000);
    assert_int_equal(again, (uint64_t)botnets);
    dump_hash(one, two_hash);
    assert_string_equal(one_hash, two_hash);
    assert_int_equal(count_rows(one, "SELECT count(*) FROM sighting_runs"), 1);
    assert_int_equal(sqlite3_exec(bw_store_sqlite(one),
                                  "UPDATE sighting_runs SET blob = substr(blob, 1, length(blob) - 3)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(ingest_botnets(one, &again, &rows_read, err), BW_OK);
    assert_int_equal(rows_read, 6000);
    dump_hash(one, two_hash);
    assert_string_equal(one_hash, two_hash);
    assert_int_equal(ingest_botnets(one, &again, &rows_read, err), BW_OK);
    assert_int_equal(rows_read, 0);   // mended
    dump_hash(one, two_hash);
    assert_string_equal(one_hash, two_hash);
    // The blob's checks: the mended row passes; cut, grown, with a wrong magic or a count
    // that promises more than the bytes hold, it is refused with the reason.
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(bw_store_sqlite(one), "SELECT blob FROM sighting_runs", -1, &q, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    size_t blob_n = (size_t)sqlite3_column_bytes(q, 0);
    unsigned char *blob = malloc(blob_n + 1);
    assert_non_null(blob);
    memcpy(blob, sqlite3_column_blob(q, 0), blob_n);
    sqlite3_finalize(q);
    char why[160];
    assert_int_equal(ingest_sighting_run_check(blob, blob_n, why, sizeof why), BW_OK);
    assert_int_equal(ingest_sighting_run_check(blob, blob_n - 1, why, sizeof why), BW_ERR_PARSE);
    blob[blob_n] = 0;
    assert_int_equal(ingest_sighting_run_check(blob, blob_n + 1, why, sizeof why), BW_ERR_PARSE);
    assert_non_null(strstr(why, "after the last vote"));
    blob[0] ^= 1;
    assert_int_equal(ingest_sighting_run_check(blob, blob_n, why, sizeof why), BW_ERR_PARSE);
    blob[0] ^= 1;
    blob[15] = 0x7f;   // the sightings count's top byte
    assert_int_equal(ingest_sighting_run_check(blob, blob_n, why, sizeof why), BW_ERR_PARSE);
    assert_non_null(strstr(why, "do not fit"));
    free(blob);
    // A feed merged many times over (every 64 rows, then as it doubles) gives the same
    // botnets as reading the rows; with a gap in its ids it is not used.
    for (int gap = 0; gap < 2; gap++) {
        // (Without the sighting_runs rows, which would cover the ids a feed cannot.)
        assert_int_equal(sqlite3_exec(bw_store_sqlite(one), "DELETE FROM sighting_runs", NULL, NULL, NULL), SQLITE_OK);
        ingest_botnet_feed *feed = feed_from_store(one, 64, gap);
        ingest_botnet_plan *plan = NULL;
        assert_int_equal(
            ingest_botnets_infer(bw_store_sqlite(one), NULL, feed, INGEST_SIGHTING_RUNS_COMPACT, &plan, err), BW_OK);
        assert_int_equal(ingest_botnet_plan_rows_read(plan), gap ? 6000 : 0);
        assert_int_equal(ingest_botnets_write(one, plan, &again, err), BW_OK);
        ingest_botnet_plan_free(plan);
        ingest_botnet_feed_free(feed);
        dump_hash(one, two_hash);
        assert_string_equal(one_hash, two_hash);
    }
    assert_int_equal(bw_store_close(one, err), BW_OK);
    assert_int_equal(bw_store_close(two, err), BW_OK);
}

// A damaged saved state: the run is refused before anything is written; with
// reset_campaigns it is discarded, the old rows become final and new ids follow the old.
static void test_corrupt_campaign_state(void **state)
{
    (void)state;
    char good[400], more[400], err[BW_ERRBUF_SIZE];
    snprintf(good, sizeof good, "%s/a.mbox", tmpdir);
    snprintf(more, sizeof more, "%s/b.mbox", tmpdir);
    static const char a[] =
        "From a@example.com Mon Jan  1 00:00:00 2001\n"
        "Received: from helo.example ([81.2.69.160]) by trap.example; Mon, 1 Jan 2001 00:00:05 +0000\n"
        "From: a@example.com\nTo: Jane Doe <jane@trap.example>\nSubject: cheap meds\n"
        "Date: Mon, 1 Jan 2001 00:00:00 +0000\n\n"
        "Dear Jane, buy cheap meds now at http://pills.example.com/x only 12 dollars, discreet shipping\n\n"
        "From a@example.com Mon Jan  1 00:00:00 2001\n"
        "Received: from helo.example ([81.2.69.161]) by trap.example; Mon, 1 Jan 2001 00:10:05 +0000\n"
        "From: a@example.com\nTo: John Roe <john@trap.example>\nSubject: cheap meds\n"
        "Date: Mon, 1 Jan 2001 00:10:00 +0000\n\n"
        "Dear John, buy cheap meds now at http://pills.example.net/y only 15 dollars, discreet shipping\n";
    static const char b[] =
        "From b@example.com Mon Jan  1 00:00:00 2001\n"
        "Received: from helo.example ([81.2.69.162]) by trap.example; Mon, 1 Jan 2001 01:00:05 +0000\n"
        "From: b@example.com\nTo: jane@trap.example\nSubject: cheap meds\n"
        "Date: Mon, 1 Jan 2001 01:00:00 +0000\n\n"
        "Dear Jane, buy cheap meds now at http://pills.example.org/z only 19 dollars, discreet shipping\n";
    write_file(good, a, sizeof a - 1);
    write_file(more, b, sizeof b - 1);
    bw_store *store = open_store("corrupt.db");
    bw_ingest_stats stats;
    ingest(store, (const char *const[]){ good }, 1, 2, &stats);
    assert_int_equal(stats.campaign_messages, 2);
    assert_int_equal(stats.campaigns_created, 1);   // the recipient's name is a slot, not a difference
    assert_int_equal(count_rows(store, "SELECT count(DISTINCT campaign_id) FROM messages"), 1);
    // Damage: the last bytes lost (as a torn copy would).
    bw_buf blob = BW_BUF_INIT;
    int64_t version;
    assert_int_equal(bw_store_campaign_state_get(store, &blob, &version, NULL, err), BW_OK);
    assert_int_equal(version, BW_CAMPAIGN_STATE_VERSION);
    assert_true(blob.n > 100);
    assert_int_equal(bw_store_campaign_state_put(store, version, 0, blob.p, blob.n - 7, err), BW_OK);
    bw_buf_free(&blob);
    // Refused: nothing read, nothing written.
    assert_int_equal(ingest_with(store, (const char *const[]){ more }, 1, 2, 64, 1u << 20, false, &stats, err),
                     BW_ERR_PARSE);
    printf("refused: %s\n", err);
    assert_non_null(strstr(err, "--reset-campaigns"));
    assert_int_equal(count_rows(store, "SELECT count(*) FROM messages"), 2);
    // Discarded on request: the old campaign stays (final), the new message starts campaign 2.
    assert_int_equal(ingest_with(store, (const char *const[]){ more }, 1, 2, 64, 1u << 20, true, &stats, err), BW_OK);
    assert_true(stats.campaign_state_reset);
    assert_int_equal(stats.campaigns_created, 1);
    assert_int_equal(count_rows(store, "SELECT count(*) FROM messages"), 3);
    assert_int_equal(count_rows(store, "SELECT campaign_id FROM messages WHERE id = 3"), 2);
    assert_int_equal(count_rows(store, "SELECT in_memory FROM campaigns WHERE id = 1"), 0);
    assert_int_equal(count_rows(store, "SELECT in_memory FROM campaigns WHERE id = 2"), 1);
    // The state saved by that run loads again.
    ingest(store, (const char *const[]){ more }, 1, 2, &stats);
    assert_false(stats.campaign_state_reset);

    // Campaigns off: the new message gets no campaign and the campaign tables and the saved
    // state are left exactly as they were.
    char other[400], before[BW_SHA256_HEX_LEN + 1], after[BW_SHA256_HEX_LEN + 1];
    snprintf(other, sizeof other, "%s/c.mbox", tmpdir);
    static const char c[] =
        "From c@example.com Mon Jan  1 00:00:00 2001\n"
        "Received: from helo.example ([81.2.69.163]) by trap.example; Mon, 1 Jan 2001 02:00:05 +0000\n"
        "From: c@example.com\nTo: jane@trap.example\nSubject: cheap meds\n"
        "Date: Mon, 1 Jan 2001 02:00:00 +0000\n\n"
        "Dear Jane, buy cheap meds now at http://pills.example.org/w only 21 dollars, discreet shipping\n";
    write_file(other, c, sizeof c - 1);
    campaign_hash(store, before);
    bw_ingest_config cfg;
    bw_ingest_config_default(&cfg);
    cfg.campaigns = false;
    assert_int_equal(bw_ingest_paths(store, (const char *const[]){ other }, 1, &cfg, &stats, err), BW_OK);
    assert_int_equal(stats.new_messages, 1);
    assert_int_equal(stats.campaign_messages, 0);
    assert_int_equal(count_rows(store, "SELECT count(*) FROM messages WHERE campaign_id IS NULL"), 1);
    campaign_hash(store, after);
    assert_string_equal(before, after);
    assert_int_equal(bw_store_close(store, err), BW_OK);
}


// Bad inputs are counted and recorded with their source; good ones around them are kept.
static void test_bad_inputs_are_recorded(void **state)
{
    (void)state;
    char err[BW_ERRBUF_SIZE];
    char good[400], missing[400], binary[400];
    snprintf(good, sizeof good, "%s/good.mbox", tmpdir);
    snprintf(missing, sizeof missing, "%s/does-not-exist.mbox", tmpdir);
    snprintf(binary, sizeof binary, "%s/binary.bin", tmpdir);
    static const char mbox[] =
        "From a@example.com Mon Jan  1 00:00:00 2001\n"
        "Received: from helo.example ([81.2.69.160]) by trap.example; Mon, 1 Jan 2001 00:00:05 +0000\n"
        "From: a@example.com\nSubject: one\nDate: Mon, 1 Jan 2001 00:00:00 +0000\n"
        "Message-ID: <1@example.com>\n\nvisit http://spam.example.com/x now\n\n"
        "From b@example.com Mon Jan  1 00:00:00 2001\n"
        "Subject: two: no blank line, no date\nContent-Type: multipart/mixed; boundary=\"zz\"\n"
        "--zz\nbroken\n\n"
        "From a@example.com Mon Jan  1 00:00:00 2001\n"
        "Received: from helo.example ([81.2.69.160]) by trap.example; Mon, 1 Jan 2001 00:00:05 +0000\n"
        "From: a@example.com\nSubject: one\nDate: Mon, 1 Jan 2001 00:00:00 +0000\n"
        "Message-ID: <1@example.com>\n\nvisit http://spam.example.com/x now\n";
    write_file(good, mbox, sizeof mbox - 1);
    static const char junk[] = { 0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0 };
    write_file(binary, junk, sizeof junk);
    const char *paths[] = { missing, good, binary };
    bw_store *store = open_store("bad.db");
    bw_ingest_stats stats;
    for (size_t threads = 1; threads <= 3; threads++) {
        ingest(store, paths, 3, threads, &stats);
        assert_int_equal(stats.messages, 3);
        assert_true(stats.errors >= 2);   // the missing file and the binary one
    }
    assert_int_equal(count_rows(store, "SELECT count(*) FROM messages"), 2);   // third = first
    assert_int_equal(count_rows(store, "SELECT count(*) FROM urls"), 1);
    assert_int_equal(count_rows(store, "SELECT count(*) FROM ingest_errors e JOIN sources s ON s.id = e.source_id"
                                       " WHERE s.path LIKE '%does-not-exist.mbox'"), 3);
    assert_int_equal(count_rows(store, "SELECT count(*) FROM ingest_errors e JOIN sources s ON s.id = e.source_id"
                                       " WHERE s.path LIKE '%binary.bin'"), 3);
    assert_int_equal(count_rows(store, "SELECT source_offset FROM messages WHERE subject LIKE 'two%'"),
                     (int64_t)(strstr(mbox, "From b@") - mbox));
    assert_int_equal(count_rows(store, "SELECT count(*) FROM messages WHERE sender_ip = '81.2.69.160'"
                                       " AND envelope_from = 'a@example.com'"), 1);
    assert_int_equal(count_rows(store, "SELECT duplicates FROM sources WHERE path LIKE '%good.mbox'"), 7);
    assert_int_equal(bw_store_close(store, err), BW_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bad_inputs_are_recorded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spamassassin_and_reingest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_determinism_across_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_campaigns_day_after_day, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_campaign_state, setup, teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    bw_rules_free(shipped_rules);
    return failed;
}
