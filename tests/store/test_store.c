// SPDX-License-Identifier: MIT
// Unit tests for the SQLite store: write/read round trip of every field, duplicate
// detection by SHA-256, batches and rollback, error rows, the aggregates, migrations from
// an older schema (with backfill) and refusal of a newer one. Records are built by hand
// here (plain structs from mail.h) so the store is tested without the parser.
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
#include <time.h>
#include <unistd.h>

#include "botwatch/store.h"
#include "../../src/store/store_internal.h"

static char tmpdir[256];
static char dbpath[300];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/bw-test-store-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(dbpath, sizeof dbpath, "%s/t.db", tmpdir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char p[400];
    const char *suffix[] = { "", "-wal", "-shm" };
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", dbpath, suffix[i]);
        unlink(p);
    }
    rmdir(tmpdir);
    return 0;
}

// A hand-made parsed message + record, enough for every stored column.
typedef struct fake_mail {
    bw_message msg;
    bw_part parts[2];
    bw_received_hop hops[2];
    bw_url urls[3];
    bw_mail_record rec;
} fake_mail;

static void fake_init(fake_mail *f, int n, const char *subject, time_t date, time_t received)
{
    memset(f, 0, sizeof *f);
    f->msg.subject = bw_slice_cstr(subject);
    f->msg.from = BW_SLICE_LIT("Spammer <s@example.com>");
    f->msg.message_id = BW_SLICE_LIT("abc@example.com");
    f->msg.date = date;
    f->msg.has_date = date != 0;
    f->msg.parts = f->parts;
    f->msg.part_count = 2;
    f->msg.anomalies = BW_ANOM_BARE_LF | BW_ANOM_MISSING_MESSAGE_ID;
    f->hops[0].time = received;
    f->hops[0].has_time = received != 0;
    f->rec.message = &f->msg;
    f->rec.received = f->hops;
    f->rec.received_count = 1;
    f->rec.sender_hop = 0;
    f->rec.sender_ip = BW_SLICE_LIT("192.0.2.7");
    f->rec.helo = BW_SLICE_LIT("mail.example.com");
    f->rec.text = BW_SLICE_LIT("buy now");
    f->urls[0] = (bw_url){ .url = BW_SLICE_LIT("http://www.b.example.com/x"), .host = BW_SLICE_LIT("www.b.example.com"),
                           .domain = BW_SLICE_LIT("example.com"), .from_html = true };
    f->urls[1] = (bw_url){ .url = BW_SLICE_LIT("http://a.test/"), .host = BW_SLICE_LIT("a.test"),
                           .domain = BW_SLICE_LIT("a.test"), .obfuscated = true };
    f->urls[2] = (bw_url){ .url = BW_SLICE_LIT("http://example.com/y"), .host = BW_SLICE_LIT("example.com"),
                           .domain = BW_SLICE_LIT("example.com") };
    f->rec.urls = f->urls;
    f->rec.url_count = 3;
    f->rec.header_fingerprint = BW_SLICE_LIT("received,from,subject");
    f->rec.anomalies = f->msg.anomalies;
    // Distinct, deterministic hashes per n.
    snprintf(f->rec.sha256, sizeof f->rec.sha256, "%064x", n);
}

static bw_store *open_db(void)
{
    char err[BW_ERRBUF_SIZE];
    bw_store *store = NULL;
    bw_status s = bw_store_open(dbpath, NULL, &store, err);
    if (s != BW_OK)
        fail_msg("open: %s", err);
    return store;
}

static bw_store_message_meta meta_for(int64_t source, uint64_t offset, uint32_t asn)
{
    return (bw_store_message_meta){
        .source_id = source, .source_offset = offset, .size = 1000 + offset, .ingested_at = 1700000000,
        .envelope_from = BW_SLICE_LIT("bounce@example.com"), .sender_asn = asn,
        .sender_as_name = asn ? BW_SLICE_LIT("EXAMPLE-NET") : BW_SLICE_NULL,
        .sender_country = asn ? BW_SLICE_LIT("ZZ") : BW_SLICE_NULL,
    };
}

static bool slice_is(bw_slice s, const char *want)
{
    return s.n == strlen(want) && memcmp(s.p, want, s.n) == 0;
}

static void test_round_trip(void **state)
{
    (void)state;
    char err[BW_ERRBUF_SIZE];
    bw_store *store = open_db();
    assert_int_equal(bw_store_opened_version(store), 0);
    int64_t src;
    assert_int_equal(bw_store_source_open(store, "/trap/a.mbox", "mbox", &src, err), BW_OK);
    assert_int_equal(bw_store_begin(store, err), BW_OK);
    fake_mail f;
    fake_init(&f, 1, "Hello", 1000000000, 1000000100);
    bw_store_message_meta meta = meta_for(src, 42, 64500);
    bool inserted;
    assert_int_equal(bw_store_add_message(store, &f.rec, &meta, &inserted, err), BW_OK);
    assert_true(inserted);
    assert_int_equal(bw_store_commit(store, err), BW_OK);
    assert_int_equal(bw_store_close(store, err), BW_OK);

    // Reopen read-only: everything read back as written.
    bw_store_options ro = { .read_only = true };
    assert_int_equal(bw_store_open(dbpath, &ro, &store, err), BW_OK);
    assert_int_equal(bw_store_opened_version(store), BW_STORE_SCHEMA_VERSION);
    bw_store_iter *it = bw_store_iter_messages(store, &BW_STORE_RANGE_ALL, err);
    assert_non_null(it);
    bw_store_row row;
    assert_int_equal(bw_store_iter_next(it, &row, err), 1);
    assert_true(slice_is(row.sha256, f.rec.sha256));
    assert_int_equal(row.date, 1000000000);
    assert_int_equal(row.received_at, 1000000100);
    assert_int_equal(row.seen_at, 1000000100);   // the receiving hop's clock wins
    assert_int_equal(row.ingested_at, 1700000000);
    assert_true(slice_is(row.source_path, "/trap/a.mbox"));
    assert_int_equal(row.source_offset, 42);
    assert_int_equal(row.size, 1042);
    assert_true(slice_is(row.sender_ip, "192.0.2.7"));
    assert_true(slice_is(row.helo, "mail.example.com"));
    assert_int_equal(row.sender_asn, 64500);
    assert_true(slice_is(row.sender_as_name, "EXAMPLE-NET"));
    assert_true(slice_is(row.envelope_from, "bounce@example.com"));
    assert_int_equal(row.envelope_to.n, 0);
    assert_true(slice_is(row.subject, "Hello"));
    assert_true(slice_is(row.from_addr, "Spammer <s@example.com>"));
    assert_true(slice_is(row.message_id, "abc@example.com"));
    assert_true(slice_is(row.header_fingerprint, "received,from,subject"));
    assert_int_equal(row.anomalies, BW_ANOM_BARE_LF | BW_ANOM_MISSING_MESSAGE_ID);
    assert_int_equal(row.part_count, 2);
    assert_int_equal(row.url_count, 3);
    assert_int_equal(row.text_bytes, 7);
    assert_true(slice_is(row.url_domains, "example.com a.test"));
    assert_true(row.parsed);
    assert_int_equal(bw_store_iter_next(it, &row, err), 0);
    bw_store_iter_free(it);

    // Read-only handles refuse writes.
    assert_int_not_equal(bw_store_meta_set(store, "x", "y", err), BW_OK);
    assert_int_equal(bw_store_close(store, err), BW_OK);
}

static void test_duplicates_and_sources(void **state)
{
    (void)state;
    char err[BW_ERRBUF_SIZE];
    bw_store *store = open_db();
    int64_t src, src2, again;
    assert_int_equal(bw_store_source_open(store, "a.mbox", "mbox", &src, err), BW_OK);
    assert_int_equal(bw_store_source_open(store, "b.mbox", "mbox", &src2, err), BW_OK);
    assert_int_equal(bw_store_source_open(store, "a.mbox", "mbox", &again, err), BW_OK);
    assert_int_equal(src, again);
    assert_int_not_equal(src, src2);
    assert_int_equal(bw_store_begin(store, err), BW_OK);
    fake_mail f;
    int new_count = 0, dup_count = 0;
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 100; i++) {
            fake_init(&f, i, "s", 1000000000 + i * 3600, 0);
            bw_store_message_meta meta = meta_for(round ? src2 : src, (uint64_t)i, 0);
            bool inserted;
            assert_int_equal(bw_store_add_message(store, &f.rec, &meta, &inserted, err), BW_OK);
            inserted ? new_count++ : dup_count++;
        }
    }
    assert_int_equal(new_count, 100);
    assert_int_equal(dup_count, 100);
    bw_store_source_counts c = { .messages = 100, .duplicates = 100, .errors = 1, .bytes = 5000 };
    assert_int_equal(bw_store_source_add_counts(store, src2, &c, err), BW_OK);
    assert_int_equal(bw_store_add_error(store, src2, 777, "parse: out of memory", 1700000000, err), BW_OK);
    assert_int_equal(bw_store_commit(store, err), BW_OK);

    bw_store_totals t;
    assert_int_equal(bw_store_get_totals(store, &BW_STORE_RANGE_ALL, &t, err), BW_OK);
    assert_int_equal(t.messages, 100);
    assert_int_equal(t.duplicates, 100);
    assert_int_equal(t.errors, 1);
    assert_int_equal(t.sources, 2);
    assert_int_equal(t.urls, 300);
    assert_int_equal(t.with_sender_ip, 100);
    assert_int_equal(t.with_asn, 0);
    assert_int_equal(t.first_seen, 1000000000);
    assert_int_equal(t.last_seen, 1000000000 + 99 * 3600);
    sqlite3 *db = bw_store_sqlite(store);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM urls", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 300);   // the duplicates added no URLs
    sqlite3_finalize(st);
    assert_int_equal(bw_store_close(store, err), BW_OK);
}

static void test_rollback(void **state)
{
    (void)state;
    char err[BW_ERRBUF_SIZE];
    bw_store *store = open_db();
    int64_t src;
    assert_int_equal(bw_store_source_open(store, "a", "mbox", &src, err), BW_OK);
    fake_mail f;
    bool inserted;
    assert_int_equal(bw_store_begin(store, err), BW_OK);
    assert_int_equal(bw_store_begin(store, err), BW_ERR_INVALID);   // no nesting
    for (int i = 0; i < 10; i++) {
        fake_init(&f, i, "kept", 1000000000, 0);
        bw_store_message_meta meta = meta_for(src, (uint64_t)i, 0);
        assert_int_equal(bw_store_add_message(store, &f.rec, &meta, &inserted, err), BW_OK);
    }
    assert_int_equal(bw_store_commit(store, err), BW_OK);
    assert_int_equal(bw_store_begin(store, err), BW_OK);
    for (int i = 10; i < 20; i++) {
        fake_init(&f, i, "lost", 1000000000, 0);
        bw_store_message_meta meta = meta_for(src, (uint64_t)i, 64501);
        assert_int_equal(bw_store_add_message(store, &f.rec, &meta, &inserted, err), BW_OK);
    }
    assert_int_equal(bw_store_rollback(store, err), BW_OK);
    assert_false(bw_store_in_batch(store));
    // The ASN seen in the rolled-back batch must be written again by a later message.
    assert_int_equal(bw_store_begin(store, err), BW_OK);
    fake_init(&f, 30, "after", 1000000000, 0);
    bw_store_message_meta meta = meta_for(src, 30, 64501);
    assert_int_equal(bw_store_add_message(store, &f.rec, &meta, &inserted, err), BW_OK);
    // Unparsed message: only hash and size.
    fake_mail g;
    fake_init(&g, 31, "", 0, 0);
    g.rec.message = NULL;
    g.rec.received_count = 0;
    g.rec.url_count = 0;
    meta = meta_for(src, 31, 0);
    assert_int_equal(bw_store_add_message(store, &g.rec, &meta, &inserted, err), BW_OK);
    assert_true(inserted);
    assert_int_equal(bw_store_commit(store, err), BW_OK);
    bw_store_totals t;
    assert_int_equal(bw_store_get_totals(store, &BW_STORE_RANGE_ALL, &t, err), BW_OK);
    assert_int_equal(t.messages, 12);
    assert_int_equal(t.unparsed, 1);
    assert_int_equal(t.with_asn, 1);
    assert_int_equal(bw_store_close(store, err), BW_OK);
    // Read back the AS name written after the rollback.
    store = open_db();
    bw_store_iter *it = bw_store_iter_messages(store, &BW_STORE_RANGE_ALL, err);
    bw_store_row row;
    int n = 0, with_name = 0, unparsed = 0;
    while (bw_store_iter_next(it, &row, err) == 1) {
        n++;
        if (row.sender_as_name.n)
            with_name++;
        if (!row.parsed) {
            unparsed++;
            assert_int_equal(row.seen_at, BW_STORE_NO_TIME);
            assert_int_equal(row.subject.n, 0);
        }
    }
    bw_store_iter_free(it);
    assert_int_equal(n, 12);
    assert_int_equal(with_name, 1);
    assert_int_equal(unparsed, 1);
    assert_int_equal(bw_store_close(store, err), BW_OK);
}

typedef struct collected {
    int n;
    int64_t number[16];
    char key[16][64];
    uint64_t count[16];
    char label[16][32];
} collected;

static int collect(void *ctx, const bw_store_count *item)
{
    collected *c = ctx;
    if (c->n >= 16)
        return 1;
    c->number[c->n] = item->number;
    snprintf(c->key[c->n], sizeof c->key[0], "%.*s", (int)item->key.n, item->key.p ? item->key.p : "");
    snprintf(c->label[c->n], sizeof c->label[0], "%.*s", (int)item->label.n, item->label.p ? item->label.p : "");
    c->count[c->n] = item->count;
    c->n++;
    return 0;
}

static int count_errors(void *ctx, const bw_store_error_row *row)
{
    int *n = ctx;
    assert_int_equal(row->offset, 99);
    assert_true(slice_is(row->reason, "intake: truncated"));
    assert_true(slice_is(row->source_path, "agg.mbox"));
    (*n)++;
    return 0;
}

static void test_aggregates(void **state)
{
    (void)state;
    char err[BW_ERRBUF_SIZE];
    bw_store *store = open_db();
    int64_t src;
    assert_int_equal(bw_store_source_open(store, "agg.mbox", "mbox", &src, err), BW_OK);
    assert_int_equal(bw_store_begin(store, err), BW_OK);
    // Day 0: 3 messages (2 from AS 100), day 2: 1 message (AS 200); one with no time.
    const struct { int64_t t; uint32_t asn; const char *subject; } rows[] = {
        { 86400 * 11000 + 10, 100, "viagra" },
        { 86400 * 11000 + 20, 100, "viagra" },
        { 86400 * 11000 + 30, 0, "loans" },
        { 86400 * 11002 + 5, 200, "viagra" },
        { 0, 300, "timeless" },
    };
    bool inserted;
    for (int i = 0; i < 5; i++) {
        fake_mail f;
        fake_init(&f, 1000 + i, rows[i].subject, rows[i].t, 0);
        if (i == 1)
            f.rec.anomalies |= BW_ANOM_BAD_BOUNDARY;
        bw_store_message_meta meta = meta_for(src, (uint64_t)i, rows[i].asn);
        assert_int_equal(bw_store_add_message(store, &f.rec, &meta, &inserted, err), BW_OK);
    }
    assert_int_equal(bw_store_add_error(store, src, 99, "intake: truncated", 5, err), BW_OK);
    assert_int_equal(bw_store_commit(store, err), BW_OK);

    collected c = { 0 };
    assert_int_equal(bw_store_count_per_day(store, &BW_STORE_RANGE_ALL, collect, &c, err), BW_OK);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.number[0], 86400 * 11000);
    assert_int_equal(c.count[0], 3);
    assert_int_equal(c.number[1], 86400 * 11002);
    assert_int_equal(c.count[1], 1);

    memset(&c, 0, sizeof c);
    assert_int_equal(bw_store_top_asns(store, &BW_STORE_RANGE_ALL, 2, collect, &c, err), BW_OK);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.number[0], 100);
    assert_int_equal(c.count[0], 2);
    assert_string_equal(c.label[0], "EXAMPLE-NET");

    // A range excludes the timeless message and day 2.
    bw_store_range day0 = { true, true, 86400 * 11000, 86400 * 11001 };
    memset(&c, 0, sizeof c);
    assert_int_equal(bw_store_top_subjects(store, &day0, 10, collect, &c, err), BW_OK);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.key[0], "viagra");
    assert_int_equal(c.count[0], 2);
    assert_string_equal(c.key[1], "loans");

    memset(&c, 0, sizeof c);
    assert_int_equal(bw_store_top_domains(store, &BW_STORE_RANGE_ALL, 10, collect, &c, err), BW_OK);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.key[0], "a.test");        // 5 messages each; tie broken by name
    assert_int_equal(c.count[0], 5);
    assert_string_equal(c.key[1], "example.com");   // two URLs per message, counted once
    assert_int_equal(c.count[1], 5);
    memset(&c, 0, sizeof c);
    assert_int_equal(bw_store_top_domains(store, &day0, 10, collect, &c, err), BW_OK);
    assert_int_equal(c.count[0], 3);

    memset(&c, 0, sizeof c);
    assert_int_equal(bw_store_top_sender_ips(store, &BW_STORE_RANGE_ALL, 10, collect, &c, err), BW_OK);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.key[0], "192.0.2.7");
    assert_int_equal(c.count[0], 5);

    memset(&c, 0, sizeof c);
    assert_int_equal(bw_store_anomaly_counts(store, &BW_STORE_RANGE_ALL, collect, &c, err), BW_OK);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.number[0], 2);    // bare LF
    assert_int_equal(c.count[0], 5);
    assert_int_equal(c.number[1], 9);    // missing Message-ID
    assert_int_equal(c.number[2], 14);   // bad boundary
    assert_int_equal(c.count[2], 1);

    int errors = 0;
    assert_int_equal(bw_store_list_errors(store, 0, count_errors, &errors, err), BW_OK);
    assert_int_equal(errors, 1);

    bw_store_iter *it = bw_store_iter_messages(store, &day0, err);
    bw_store_row row;
    int n = 0;
    int64_t last = 0;
    while (bw_store_iter_next(it, &row, err) == 1) {
        assert_true(row.seen_at >= last);
        last = row.seen_at;
        n++;
    }
    bw_store_iter_free(it);
    assert_int_equal(n, 3);
    assert_int_equal(bw_store_close(store, err), BW_OK);
}

static void test_meta_and_hash_key(void **state)
{
    (void)state;
    char err[BW_ERRBUF_SIZE];
    bw_store *store = open_db();
    bw_hash_key k1, k2;
    assert_int_equal(bw_store_hash_key(store, &k1, err), BW_OK);
    assert_true(k1.k0 || k1.k1);
    assert_int_equal(bw_store_meta_set(store, "note", "hello", err), BW_OK);
    bw_buf v = BW_BUF_INIT;
    assert_int_equal(bw_store_meta_get(store, "absent", &v, err), BW_ERR_NOTFOUND);
    assert_int_equal(bw_store_close(store, err), BW_OK);
    store = open_db();
    assert_int_equal(bw_store_hash_key(store, &k2, err), BW_OK);
    assert_memory_equal(&k1, &k2, sizeof k1);   // stored with the database, not regenerated
    assert_int_equal(bw_store_meta_get(store, "note", &v, err), BW_OK);
    assert_string_equal(v.p, "hello");
    bw_buf_free(&v);
    assert_int_equal(bw_store_close(store, err), BW_OK);
}

// A database written at schema v1 (before seen_at existed) opens, migrates, and its rows
// get their arrival time backfilled.
static void test_migrate_from_v1(void **state)
{
    (void)state;
    char err[BW_ERRBUF_SIZE];
    sqlite3 *db;
    assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
    size_t count;
    const bw_store_migration *steps = bw_store_migrations(&count);
    assert_int_equal(count, BW_STORE_SCHEMA_VERSION);
    assert_int_equal(bw_store_migrate(db, steps, count, 1, err), BW_OK);
    assert_int_equal(sqlite3_exec(db,
        "INSERT INTO sources(id, path, format, first_ingest, last_ingest) VALUES(1, 'old.mbox', 'mbox', 1, 1);"
        "INSERT INTO messages(sha256, ingested_at, date, received_at, source_id, source_offset, size)"
        " VALUES('aa', 1, 1000, 2000, 1, 0, 10), ('bb', 1, 3000, NULL, 1, 10, 10),"
        " ('cc', 1, NULL, NULL, 1, 20, 10);", NULL, NULL, NULL), SQLITE_OK);
    int v;
    assert_int_equal(bw_store_user_version(db, &v, err), BW_OK);
    assert_int_equal(v, 1);
    sqlite3_close(db);

    // Read-only refuses to use the old schema; read-write migrates it.
    bw_store *store = NULL;
    bw_store_options ro = { .read_only = true };
    assert_int_equal(bw_store_open(dbpath, &ro, &store, err), BW_ERR_UNSUPPORTED);
    assert_non_null(strstr(err, "older"));
    store = open_db();
    assert_int_equal(bw_store_opened_version(store), 1);
    bw_store_iter *it = bw_store_iter_messages(store, &BW_STORE_RANGE_ALL, err);
    bw_store_row row;
    int64_t seen[3];
    int n = 0;
    while (bw_store_iter_next(it, &row, err) == 1 && n < 3)
        seen[n++] = row.seen_at;
    bw_store_iter_free(it);
    assert_int_equal(n, 3);
    assert_int_equal(seen[0], BW_STORE_NO_TIME);   // NULLs sort first
    assert_int_equal(seen[1], 2000);
    assert_int_equal(seen[2], 3000);
    assert_int_equal(bw_store_close(store, err), BW_OK);
}

static void test_refuse_newer(void **state)
{
    (void)state;
    char err[BW_ERRBUF_SIZE];
    bw_store *store = open_db();
    assert_int_equal(bw_store_close(store, err), BW_OK);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", BW_STORE_SCHEMA_VERSION + 1);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(bw_store_open(dbpath, NULL, &store, err), BW_ERR_UNSUPPORTED);
    assert_null(store);
    assert_non_null(strstr(err, "newer than this botwatch"));
}

static void test_not_a_database(void **state)
{
    (void)state;
    char err[BW_ERRBUF_SIZE];
    FILE *f = fopen(dbpath, "w");
    assert_non_null(f);
    fputs("From x Mon Jan  1 00:00:00 2001\nSubject: not sqlite\n\nhello, this is mail, not a database file\n", f);
    fclose(f);
    bw_store *store = NULL;
    assert_int_not_equal(bw_store_open(dbpath, NULL, &store, err), BW_OK);
    assert_null(store);
    assert_true(strlen(err) > 0);
}

// A migration step that fails leaves the file at the previous version, untouched.
static void test_failed_migration_rolls_back(void **state)
{
    (void)state;
    char err[BW_ERRBUF_SIZE];
    sqlite3 *db;
    assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
    static const char *const ok_steps[] = { "CREATE TABLE t1(x)", NULL };
    static const char *const bad_steps[] = { "CREATE TABLE t2(x)", "THIS IS NOT SQL", NULL };
    const bw_store_migration steps[] = { { 1, "one", ok_steps }, { 2, "two", bad_steps } };
    assert_int_equal(bw_store_migrate(db, steps, 2, 2, err), BW_ERR_DB);
    assert_non_null(strstr(err, "migration 2"));
    int v;
    assert_int_equal(bw_store_user_version(db, &v, err), BW_OK);
    assert_int_equal(v, 1);
    assert_int_not_equal(sqlite3_exec(db, "SELECT * FROM t2", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static int64_t index_count(bw_store *store)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(bw_store_sqlite(store),
        "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

// Schema 3 (issue 3): the campaign columns and tables exist with the contract's columns.
static void test_schema_v3(void **state)
{
    (void)state;
    bw_store *store = open_db();
    static const char *const queries[] = {
        "SELECT campaign_id, similarity, rule_labels FROM messages",
        "SELECT id, first_seen, last_seen, messages, sender_ips, subnets24, asns, template, subjects_json,"
        " domains_json, samples_json, links_json, botnet_id, in_memory FROM campaigns",
        "SELECT a, b, domain, time FROM campaign_links",
        "SELECT id, label, campaigns, sender_ips, subnets24, messages, first_seen, last_seen, asns_json,"
        " countries_json FROM botnets",
        "SELECT id, version, saved_at, blob FROM campaign_state",
    };
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++)
        assert_int_equal(sqlite3_exec(bw_store_sqlite(store), queries[i], NULL, NULL, NULL), SQLITE_OK);
    // Only one state row.
    assert_int_not_equal(sqlite3_exec(bw_store_sqlite(store),
                                      "INSERT INTO campaign_state(id, version) VALUES(2, 1)", NULL, NULL, NULL),
                         SQLITE_OK);
    char err[BW_ERRBUF_SIZE];
    assert_int_equal(bw_store_close(store, err), BW_OK);
}

// Bulk load drops the report indexes and rebuilds them; a run that stopped in between gets
// them back at the next open; a store over the threshold keeps them.
static void test_deferred_indexes(void **state)
{
    (void)state;
    char err[BW_ERRBUF_SIZE];
    bw_store *store = open_db();
    int64_t all = index_count(store);
    assert_int_equal(all, 3);   // messages_seen, _asn, _campaign (urls_domain: gone in v4, _date in v5)
    bool deferred;
    assert_int_equal(bw_store_defer_indexes(store, 0, &deferred, err), BW_OK);
    assert_true(deferred);
    assert_int_equal(index_count(store), 0);
    int64_t src;
    assert_int_equal(bw_store_source_open(store, "a", "mbox", &src, err), BW_OK);
    assert_int_equal(bw_store_begin(store, err), BW_OK);
    assert_int_equal(bw_store_defer_indexes(store, 0, &deferred, err), BW_ERR_INVALID);   // not in a batch
    fake_mail f;
    bool inserted;
    for (int i = 0; i < 3; i++) {
        fake_init(&f, i, "x", 1000000000, 0);
        bw_store_message_meta meta = meta_for(src, (uint64_t)i, 0);
        assert_int_equal(bw_store_add_message(store, &f.rec, &meta, &inserted, err), BW_OK);
    }
    assert_int_equal(bw_store_commit(store, err), BW_OK);
    // "Crash": close without rebuilding; the next open rebuilds.
    assert_int_equal(bw_store_close(store, err), BW_OK);
    store = open_db();
    assert_int_equal(index_count(store), all);
    bw_buf v = BW_BUF_INIT;
    assert_int_equal(bw_store_meta_get(store, "indexes_deferred", &v, err), BW_ERR_NOTFOUND);
    // Above the threshold nothing is dropped.
    assert_int_equal(bw_store_defer_indexes(store, 2, &deferred, err), BW_OK);
    assert_false(deferred);
    assert_int_equal(index_count(store), all);
    assert_int_equal(bw_store_defer_indexes(store, 3, &deferred, err), BW_OK);
    assert_true(deferred);
    assert_int_equal(bw_store_build_indexes(store, err), BW_OK);
    assert_int_equal(index_count(store), all);
    assert_int_equal(bw_store_close(store, err), BW_OK);
}

static int64_t query_int(bw_store *store, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(bw_store_sqlite(store), sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

// Every row of sql as "a|b|c\n" lines.
static void dump_rows(bw_store *store, const char *sql, bw_buf *out)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(bw_store_sqlite(store), sql, -1, &st, NULL), SQLITE_OK);
    bw_buf_clear(out);
    while (sqlite3_step(st) == SQLITE_ROW) {
        for (int c = 0; c < sqlite3_column_count(st); c++) {
            const unsigned char *v = sqlite3_column_text(st, c);
            assert_int_equal(bw_buf_append(out, c ? "|" : "", c ? 1 : 0), 0);
            assert_int_equal(bw_buf_append(out, v ? (const char *)v : "", (size_t)sqlite3_column_bytes(st, c)), 0);
        }
        assert_int_equal(bw_buf_append(out, "\n", 1), 0);
    }
    sqlite3_finalize(st);
}

static int collect_domain(void *ctx, const bw_store_count *c)
{
    bw_buf *out = ctx;
    char line[128];
    snprintf(line, sizeof line, "%.*s=%llu ", (int)c->key.n, c->key.p, (unsigned long long)c->count);
    return bw_buf_append_cstr(out, line);
}

// Schema 4: url_domains holds each message's distinct URL domains (exactly the distinct
// (domain, msg_id) pairs of urls), also for messages with more URLs than one insert
// statement takes, and top_domains counts messages per domain from it. Schema 5 keys the
// pairs by domain id (PAIRS below reads them back as names).
static void test_url_domains(void **state)
{
    (void)state;
    char err[BW_ERRBUF_SIZE];
    bw_store *store = open_db();
    int64_t src;
    assert_int_equal(bw_store_source_open(store, "u.mbox", "mbox", &src, err), BW_OK);
    assert_int_equal(bw_store_begin(store, err), BW_OK);
    bool inserted;
    fake_mail f;
    fake_init(&f, 1, "a", 1000000000, 0);   // example.com, a.test, example.com
    bw_store_message_meta meta = meta_for(src, 0, 0);
    assert_int_equal(bw_store_add_message(store, &f.rec, &meta, &inserted, err), BW_OK);
    assert_int_equal(bw_store_add_message(store, &f.rec, &meta, &inserted, err), BW_OK);
    assert_false(inserted);   // a duplicate adds no pairs either
    // 21 URLs (three statements of URL rows), 5 domains in no order, one URL without one.
    bw_url many[21];
    const char *const names[] = { "e.test", "b.test", "e.test", "a.test", "c.test", "b.test", "d.test" };
    for (size_t i = 0; i < 21; i++)
        many[i] = (bw_url){ .url = BW_SLICE_LIT("http://x/"), .host = BW_SLICE_LIT("x"),
                            .domain = i == 20 ? BW_SLICE_NULL : bw_slice_make(names[i % 7], strlen(names[i % 7])) };
    fake_init(&f, 2, "b", 1000000000, 0);
    f.rec.urls = many;
    f.rec.url_count = 21;
    meta = meta_for(src, 1, 0);
    assert_int_equal(bw_store_add_message(store, &f.rec, &meta, &inserted, err), BW_OK);
    assert_true(inserted);
    assert_int_equal(bw_store_commit(store, err), BW_OK);
#define PAIRS "SELECT n.name, d.msg_id FROM url_domains d JOIN domains n ON n.id = d.domain_id"
    assert_int_equal(query_int(store, "SELECT count(*) FROM urls"), 3 + 21);
    assert_int_equal(query_int(store, "SELECT count(*) FROM url_domains"), 2 + 5);
    assert_int_equal(query_int(store, "SELECT count(*) FROM domains"), 6);   // example.com, a-e.test
    assert_int_equal(query_int(store, "SELECT count(*) FROM (" PAIRS " EXCEPT"
                                      " SELECT DISTINCT domain, msg_id FROM urls WHERE domain IS NOT NULL)"), 0);
    assert_int_equal(query_int(store, "SELECT count(*) FROM (SELECT DISTINCT domain, msg_id FROM urls"
                                      " WHERE domain IS NOT NULL EXCEPT " PAIRS ")"), 0);
#undef PAIRS
    bw_buf got = BW_BUF_INIT;
    assert_int_equal(bw_store_top_domains(store, &BW_STORE_RANGE_ALL, 3, collect_domain, &got, err), BW_OK);
    assert_string_equal(got.p, "a.test=2 b.test=1 c.test=1 ");
    bw_buf_clear(&got);
    bw_store_range range = { .has_since = true, .since = 999999999 };
    assert_int_equal(bw_store_top_domains(store, &range, 2, collect_domain, &got, err), BW_OK);
    assert_string_equal(got.p, "a.test=2 b.test=1 ");
    bw_buf_free(&got);
    assert_int_equal(bw_store_close(store, err), BW_OK);
}

// Schema 5: a URL's bytes come back through the urls view exactly as written, whatever
// they hold (quote, backslash, control bytes, DEL, 8-bit bytes that are not UTF-8), with an
// empty host or domain as NULL; and a domain first stored in a batch that is rolled back is
// not pointed at afterwards (the writer's id cache forgets it with the batch).
static void test_url_values_and_rollback(void **state)
{
    (void)state;
    char err[BW_ERRBUF_SIZE];
    bw_store *store = open_db();
    int64_t src;
    assert_int_equal(bw_store_source_open(store, "v.mbox", "mbox", &src, err), BW_OK);
    static const char odd[] = "http://q.test/\"a\\b\x01\t\n\x1f\x7f\xff\xc3\xa9/";
    bw_url urls[2] = {
        { .url = { odd, sizeof odd - 1 }, .host = BW_SLICE_LIT("q.test"), .domain = BW_SLICE_LIT("q.test"),
          .from_html = true, .obfuscated = true },
        { .url = BW_SLICE_LIT("http://1.2.3.4/"), .host = BW_SLICE_NULL, .domain = BW_SLICE_NULL },
    };
    fake_mail f;
    bool inserted;
    // Batch 1 stores q.test and is rolled back.
    assert_int_equal(bw_store_begin(store, err), BW_OK);
    fake_init(&f, 1, "a", 1000000000, 0);
    f.rec.urls = urls;
    f.rec.url_count = 2;
    bw_store_message_meta meta = meta_for(src, 0, 0);
    assert_int_equal(bw_store_add_message(store, &f.rec, &meta, &inserted, err), BW_OK);
    assert_int_equal(bw_store_rollback(store, err), BW_OK);
    assert_int_equal(query_int(store, "SELECT count(*) FROM domains"), 0);
    // Batch 2 stores it again and commits: every pair names a stored domain.
    assert_int_equal(bw_store_begin(store, err), BW_OK);
    assert_int_equal(bw_store_add_message(store, &f.rec, &meta, &inserted, err), BW_OK);
    assert_true(inserted);
    assert_int_equal(bw_store_commit(store, err), BW_OK);
    assert_int_equal(query_int(store, "SELECT count(*) FROM url_domains WHERE domain_id NOT IN (SELECT id FROM domains)"), 0);
    assert_int_equal(query_int(store, "SELECT count(*) FROM url_domains"), 1);
    // The stored JSON is what SQLite's own json_array() makes of the same values.
    assert_int_equal(query_int(store, "SELECT count(*) FROM message_urls mu WHERE mu.urls = (SELECT '[' ||"
                                      " group_concat(json_array(url, host, domain, from_html, obfuscated), ',')"
                                      " || ']' FROM (SELECT * FROM urls u WHERE u.msg_id = mu.msg_id ORDER BY seq))"), 1);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(bw_store_sqlite(store),
                                        "SELECT url, host, domain, from_html, obfuscated, typeof(seq) FROM urls ORDER BY seq",
                                        -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_bytes(st, 0), (int)sizeof odd - 1);
    assert_memory_equal(sqlite3_column_blob(st, 0), odd, sizeof odd - 1);
    assert_string_equal((const char *)sqlite3_column_text(st, 1), "q.test");
    assert_int_equal(sqlite3_column_int(st, 3), 1);
    assert_int_equal(sqlite3_column_int(st, 4), 1);
    assert_string_equal((const char *)sqlite3_column_text(st, 5), "integer");
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "http://1.2.3.4/");
    assert_int_equal(sqlite3_column_type(st, 1), SQLITE_NULL);
    assert_int_equal(sqlite3_column_type(st, 2), SQLITE_NULL);
    assert_int_equal(sqlite3_column_int(st, 3), 0);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    assert_int_equal(bw_store_close(store, err), BW_OK);
}

// The writer's id cache stays bounded whatever mail sends it: past 16 MB of names it starts
// again empty (the first names are gone, the newest found), and a name longer than that is
// never kept. Ids come back for the names they were put with.
static void test_id_cache_bounds(void **state)
{
    (void)state;
    bw_id_cache *c = bw_id_cache_new();
    assert_non_null(c);
    static char name[4096];
    bw_slice s = bw_slice_make(name, sizeof name);
    enum { FILL = (16 << 20) / sizeof name };   // names that fit in the byte bound
    for (int i = 0; i < FILL; i++) {
        snprintf(name, sizeof name, "%08d", i);
        assert_int_equal(bw_id_cache_put(c, s, i + 1), 0);
    }
    snprintf(name, sizeof name, "%08d", 0);
    assert_int_equal(bw_id_cache_get(c, s), 1);
    snprintf(name, sizeof name, "%08d", FILL - 1);
    assert_int_equal(bw_id_cache_get(c, s), FILL);
    snprintf(name, sizeof name, "%08d", FILL);   // one more: over the bound
    assert_int_equal(bw_id_cache_put(c, s, FILL + 1), 0);
    assert_int_equal(bw_id_cache_get(c, s), FILL + 1);
    snprintf(name, sizeof name, "%08d", 0);
    assert_int_equal(bw_id_cache_get(c, s), 0);
    char *huge = calloc(1, (16u << 20) + 1);
    assert_non_null(huge);
    bw_slice h = bw_slice_make(huge, (16u << 20) + 1);
    assert_int_equal(bw_id_cache_put(c, h, 7), 0);
    assert_int_equal(bw_id_cache_get(c, h), 0);
    free(huge);
    bw_id_cache_free(c);
}

// bw_store_urls_json against SQLite's own json_array() on random byte strings (lengths
// across the 16-byte steps of the vector scan, bytes biased to the ones that need escapes).
static void test_urls_json_matches_sqlite(void **state)
{
    (void)state;
    sqlite3 *db;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT '[' || json_array(?1, ?2, ?3, ?4, ?5) || ']'", -1, &st, NULL),
                     SQLITE_OK);
    static const unsigned char special[] = { 0, 1, 8, 9, 10, 12, 13, 0x1f, ' ', '"', '\\', 0x7f, 0x80, 0xc3, 0xff, 'a' };
    uint64_t r = 0x9e3779b97f4a7c15ULL;
    char text[3][80];
    bw_buf out = BW_BUF_INIT;
    for (int round = 0; round < 5000; round++) {
        bw_url u = { .from_html = round & 1, .obfuscated = (round >> 1) & 1 };
        bw_slice *fields[3] = { &u.url, &u.host, &u.domain };
        for (int f = 0; f < 3; f++) {
            r ^= r << 13, r ^= r >> 7, r ^= r << 17;
            size_t n = (size_t)(r % 70);
            for (size_t i = 0; i < n; i++) {
                r ^= r << 13, r ^= r >> 7, r ^= r << 17;
                text[f][i] = (char)((r & 3) ? 'a' + (char)(r >> 8) % 26 : (char)special[(r >> 8) & 15]);
            }
            *fields[f] = bw_slice_make(text[f], n);
        }
        assert_int_equal(bw_store_urls_json(&out, &u, 1), 0);
        sqlite3_bind_text(st, 1, u.url.p, (int)u.url.n, SQLITE_STATIC);
        for (int f = 1; f < 3; f++) {
            if (fields[f]->n)
                sqlite3_bind_text(st, f + 1, fields[f]->p, (int)fields[f]->n, SQLITE_STATIC);
            else
                sqlite3_bind_null(st, f + 1);
        }
        sqlite3_bind_int(st, 4, u.from_html);
        sqlite3_bind_int(st, 5, u.obfuscated);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        int n = sqlite3_column_bytes(st, 0);
        assert_int_equal((size_t)n, out.n);
        assert_memory_equal(sqlite3_column_text(st, 0), out.p, out.n);
        sqlite3_reset(st);
    }
    bw_buf_free(&out);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

// A schema-3 file: migration 4 fills url_domains from its urls rows and drops the old
// urls(domain, msg_id) index.
static void test_migrate_from_v3(void **state)
{
    (void)state;
    char err[BW_ERRBUF_SIZE];
    sqlite3 *db;
    assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
    size_t count;
    const bw_store_migration *steps = bw_store_migrations(&count);
    assert_int_equal(bw_store_migrate(db, steps, count, 3, err), BW_OK);
    assert_int_equal(sqlite3_exec(db,
        "INSERT INTO sources(id, path, format, first_ingest, last_ingest) VALUES(1, 'old.mbox', 'mbox', 1, 1);"
        "INSERT INTO messages(id, sha256, ingested_at, source_id, source_offset, size)"
        " VALUES(1, 'aa', 1, 1, 0, 10), (2, 'bb', 1, 1, 10, 10);"
        "INSERT INTO urls(msg_id, seq, url, domain, from_html, obfuscated) VALUES"
        " (1, 0, 'http://a.test/', 'a.test', 0, 0), (1, 1, 'http://a.test/x', 'a.test', 0, 0),"
        " (1, 2, 'http://b.test/', 'b.test', 0, 0), (2, 0, 'http://a.test/', 'a.test', 0, 0),"
        " (2, 1, 'http://10.1.2.3/', NULL, 0, 0);", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    bw_store *store = open_db();
    assert_int_equal(bw_store_opened_version(store), 3);
    assert_int_equal(query_int(store, "PRAGMA user_version"), BW_STORE_SCHEMA_VERSION);
    assert_int_equal(query_int(store, "SELECT count(*) FROM sqlite_master WHERE name = 'urls_domain'"), 0);
    assert_int_equal(query_int(store, "SELECT count(*) FROM url_domains"), 3);
    assert_int_equal(query_int(store, "SELECT count(*) FROM url_domains d JOIN domains n ON n.id = d.domain_id"
                                      " WHERE n.name = 'a.test'"), 2);
    // Migration 5 turned the URL rows into one JSON row a message; the urls view gives
    // them back unchanged, in order, with the NULL domain still NULL.
    assert_int_equal(query_int(store, "SELECT count(*) FROM message_urls"), 2);
    assert_int_equal(query_int(store, "SELECT count(*) FROM sqlite_master WHERE name = 'messages_date'"), 0);
    bw_buf rows = BW_BUF_INIT;
    dump_rows(store, "SELECT msg_id, seq, url, coalesce(domain, 'NULL'), from_html FROM urls ORDER BY msg_id, seq", &rows);
    assert_string_equal(rows.p, "1|0|http://a.test/|a.test|0\n1|1|http://a.test/x|a.test|0\n1|2|http://b.test/|b.test|0\n"
                                "2|0|http://a.test/|a.test|0\n2|1|http://10.1.2.3/|NULL|0\n");
    bw_buf_free(&rows);
    assert_int_equal(bw_store_close(store, err), BW_OK);
}

// A schema-5 file: migration 6 interns the header fingerprints (one row per distinct one,
// each message pointing at its own) and drops the text column; reads give the same text.
static void test_migrate_from_v5(void **state)
{
    (void)state;
    char err[BW_ERRBUF_SIZE];
    sqlite3 *db;
    assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
    size_t count;
    const bw_store_migration *steps = bw_store_migrations(&count);
    assert_int_equal(bw_store_migrate(db, steps, count, 5, err), BW_OK);
    assert_int_equal(sqlite3_exec(db,
        "INSERT INTO sources(id, path, format, first_ingest, last_ingest) VALUES(1, 'old.mbox', 'mbox', 1, 1);"
        "INSERT INTO messages(id, sha256, ingested_at, source_id, source_offset, size, seen_at, header_fingerprint)"
        " VALUES(1, x'aa', 1, 1, 0, 10, 5, 'from,to,subject'), (2, x'bb', 1, 1, 10, 10, 6, 'received,from'),"
        " (3, x'cc', 1, 1, 20, 10, 7, 'from,to,subject'), (4, x'dd', 1, 1, 30, 10, 8, NULL);",
        NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    bw_store *store = open_db();
    assert_int_equal(bw_store_opened_version(store), 5);
    assert_int_equal(query_int(store, "PRAGMA user_version"), BW_STORE_SCHEMA_VERSION);
    assert_int_equal(query_int(store, "SELECT count(*) FROM header_fingerprints"), 2);
    assert_int_equal(query_int(store, "SELECT count(*) FROM pragma_table_info('messages')"
                                      " WHERE name = 'header_fingerprint'"), 0);
    bw_buf rows = BW_BUF_INIT;
    dump_rows(store, "SELECT m.id, coalesce(f.fingerprint, 'NULL') FROM messages m"
                     " LEFT JOIN header_fingerprints f ON f.id = m.header_fp_id ORDER BY m.id", &rows);
    assert_string_equal(rows.p, "1|from,to,subject\n2|received,from\n3|from,to,subject\n4|NULL\n");
    bw_buf_free(&rows);
    // The read API (export) gives the text back.
    bw_store_iter *it = bw_store_iter_messages(store, &BW_STORE_RANGE_ALL, err);
    assert_non_null(it);
    bw_store_row row;
    assert_int_equal(bw_store_iter_next(it, &row, err), 1);
    assert_true(slice_is(row.header_fingerprint, "from,to,subject"));
    bw_store_iter_free(it);
    assert_int_equal(bw_store_close(store, err), BW_OK);
}

// Background checkpoints: the thread copies the WAL back while commits go on, the WAL
// restarts once it holds the reset size (so the file on disk stays bounded), and every
// row written is there afterwards, in a file that passes SQLite's integrity check.
static void test_background_checkpoints(void **state)
{
    (void)state;
    char err[BW_ERRBUF_SIZE];
    bw_store *store = open_db();
    enum { PAGES = 8, RESET = 40, BATCHES = 80, PER_BATCH = 20 };
    bw_store_set_checkpoint_pages(store, PAGES, RESET);
    bw_store_checkpoint_counts counts;
    assert_false(bw_store_checkpoint_counts_get(store, &counts));
    assert_int_equal(bw_store_background_checkpoints(store, true, err), BW_OK);
    assert_int_equal(bw_store_background_checkpoints(store, true, err), BW_OK);   // already on: no-op
    int64_t src;
    assert_int_equal(bw_store_source_open(store, "a", "mbox", &src, err), BW_OK);
    char subject[2100];
    memset(subject, 'x', sizeof subject - 1);
    subject[sizeof subject - 1] = '\0';
    char walpath[320];
    snprintf(walpath, sizeof walpath, "%s-wal", dbpath);
    off_t max_wal_bytes = 0;
    fake_mail f;
    bool inserted;
    for (int b = 0; b < BATCHES; b++) {
        assert_int_equal(bw_store_begin(store, err), BW_OK);
        for (int i = 0; i < PER_BATCH; i++) {
            int n = b * PER_BATCH + i;
            subject[n % 2000] = 'y';   // distinct rows, each ~2 KB
            fake_init(&f, n, subject, 1000000000 + n, 0);
            bw_store_message_meta meta = meta_for(src, (uint64_t)n, 0);
            assert_int_equal(bw_store_add_message(store, &f.rec, &meta, &inserted, err), BW_OK);
            assert_true(inserted);
        }
        assert_int_equal(bw_store_commit(store, err), BW_OK);
        struct stat st;
        if (stat(walpath, &st) == 0 && st.st_size > max_wal_bytes)
            max_wal_bytes = st.st_size;
    }
    // The background pass is asynchronous: give it a moment to have run at least once.
    for (int i = 0; i < 500; i++) {
        assert_true(bw_store_checkpoint_counts_get(store, &counts));
        if (counts.runs > 0)
            break;
        nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
    }
    assert_true(counts.runs > 0);
    // 80 batches of ~40 KB write some 100-200 pages: the WAL must have restarted.
    assert_true(counts.resets > 0);
    // One batch dirties a few pages: the WAL never holds much more than the reset size.
    assert_true(counts.max_wal_pages >= RESET);
    assert_true(counts.max_wal_pages < RESET + 20);
    off_t page = (off_t)query_int(store, "PRAGMA page_size");
    assert_true(max_wal_bytes < (off_t)(RESET + 20) * (page + 24) + 32);
    assert_int_equal(bw_store_background_checkpoints(store, false, err), BW_OK);
    assert_false(bw_store_checkpoint_counts_get(store, &counts));
    // Back on, and closed while on.
    assert_int_equal(bw_store_background_checkpoints(store, true, err), BW_OK);
    assert_int_equal(bw_store_begin(store, err), BW_OK);
    fake_init(&f, BATCHES * PER_BATCH, "last", 1000000000, 0);
    bw_store_message_meta meta = meta_for(src, 0, 0);
    assert_int_equal(bw_store_add_message(store, &f.rec, &meta, &inserted, err), BW_OK);
    assert_int_equal(bw_store_commit(store, err), BW_OK);
    assert_int_equal(bw_store_close(store, err), BW_OK);

    bw_store_options ro = { .read_only = true };
    assert_int_equal(bw_store_open(dbpath, &ro, &store, err), BW_OK);
    assert_int_equal(bw_store_background_checkpoints(store, true, err), BW_ERR_INVALID);
    bw_store_totals t;
    assert_int_equal(bw_store_get_totals(store, &BW_STORE_RANGE_ALL, &t, err), BW_OK);
    assert_int_equal(t.messages, BATCHES * PER_BATCH + 1);
    assert_int_equal(t.urls, 3 * (BATCHES * PER_BATCH + 1));
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(bw_store_sqlite(store), "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    assert_int_equal(bw_store_close(store, err), BW_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates_and_sources, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aggregates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_meta_and_hash_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_from_v1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuse_newer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_migration_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_v3, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deferred_indexes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_url_domains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_url_values_and_rollback, setup, teardown),
        cmocka_unit_test(test_urls_json_matches_sqlite),
        cmocka_unit_test(test_id_cache_bounds),
        cmocka_unit_test_setup_teardown(test_migrate_from_v3, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_from_v5, setup, teardown),
        cmocka_unit_test_setup_teardown(test_background_checkpoints, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
