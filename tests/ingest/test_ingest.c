// SPDX-License-Identifier: MIT
// End-to-end tests of the ingest pipeline on real data: the whole SpamAssassin corpus
// (6,046 messages) is ingested with no loss, a second run finds every message a duplicate,
// and the database content is byte-identical for 1 and 2 worker threads (a hash of every
// table, excluding wall-clock columns). Small crafted inputs check that bad inputs become
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
#include "botwatch/store.h"

#define SPAMASSASSIN_MESSAGES 6046

static char tmpdir[256];

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
    return store;
}

static void ingest_ring(bw_store *store, const char *const *paths, size_t n, size_t threads,
                        size_t ring, size_t max_inflight_bytes, bw_ingest_stats *stats)
{
    char err[BW_ERRBUF_SIZE];
    bw_ingest_config cfg;
    bw_ingest_config_default(&cfg);
    cfg.threads = threads;
    cfg.ring_messages = ring;
    cfg.max_inflight_bytes = max_inflight_bytes;
    cfg.batch_messages = 1000;
    bw_status s = bw_ingest_paths(store, paths, n, &cfg, stats, err);
    if (s != BW_OK)
        fail_msg("ingest: %s", err);
}

static void ingest(bw_store *store, const char *const *paths, size_t n, size_t threads, bw_ingest_stats *stats)
{
    // A small ring and batch exercise wrap-around, back-pressure and many commits.
    ingest_ring(store, paths, n, threads, 64, 1u << 20, stats);
}

// SHA-256 over every row of every table, in key order, without the wall-clock columns.
static void dump_hash(bw_store *store, char hex[BW_SHA256_HEX_LEN + 1])
{
    static const char *const queries[] = {
        "SELECT id, sha256, date, received_at, seen_at, source_id, source_offset, size, sender_ip,"
        " sender_asn, helo, envelope_from, envelope_to, subject, from_addr, message_id,"
        " header_fingerprint, anomalies, part_count, text_bytes, url_count FROM messages ORDER BY id",
        "SELECT msg_id, seq, url, host, domain, from_html, obfuscated FROM urls ORDER BY msg_id, seq",
        "SELECT id, path, format, messages, duplicates, errors, bytes FROM sources ORDER BY id",
        "SELECT id, source_id, offset, reason FROM ingest_errors ORDER BY id",
        "SELECT asn, name, country FROM asns ORDER BY asn",
    };
    bw_buf all = BW_BUF_INIT;
    sqlite3 *db = bw_store_sqlite(store);
    for (size_t q = 0; q < sizeof queries / sizeof queries[0]; q++) {
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

static int64_t count_rows(bw_store *store, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(bw_store_sqlite(store), sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

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
    assert_true(count_rows(store, "SELECT count(*) FROM messages WHERE sender_ip IS NOT NULL") > 3000);
    assert_true(count_rows(store, "SELECT count(*) FROM messages WHERE seen_at IS NOT NULL") > 6000);
    uint64_t first_new = stats.new_messages;
    printf("first run: %llu messages, %llu new, %llu duplicates, %llu errors\n",
           (unsigned long long)stats.messages, (unsigned long long)stats.new_messages,
           (unsigned long long)stats.duplicates, (unsigned long long)stats.errors);

    // Same input again: nothing new, every message a duplicate.
    ingest(store, &mbox, 1, 2, &stats);
    assert_int_equal(stats.messages, SPAMASSASSIN_MESSAGES);
    assert_int_equal(stats.new_messages, 0);
    assert_int_equal(stats.duplicates, SPAMASSASSIN_MESSAGES);
    assert_int_equal(count_rows(store, "SELECT count(*) FROM messages"), (int64_t)first_new);
    assert_int_equal(count_rows(store, "SELECT count(*) FROM sources"), 1);
    assert_int_equal(count_rows(store, "SELECT sum(messages) FROM sources"), 2 * SPAMASSASSIN_MESSAGES);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
