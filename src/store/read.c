// SPDX-License-Identifier: MIT
// The reading side of the store: a streaming iterator over messages for `botwatch export`
// and the aggregate queries behind `botwatch report`. Every query filters on seen_at
// (indexed) with the same range clause, so the report's sections and the export agree.
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "botwatch/store.h"
#include "store_internal.h"

bw_slice bw_store_col_slice(sqlite3_stmt *st, int col)
{
    const unsigned char *p = sqlite3_column_text(st, col);
    if (!p)
        return BW_SLICE_NULL;
    return bw_slice_make(p, (size_t)sqlite3_column_bytes(st, col));
}

int64_t bw_store_col_time(sqlite3_stmt *st, int col)
{
    return sqlite3_column_type(st, col) == SQLITE_NULL ? BW_STORE_NO_TIME : sqlite3_column_int64(st, col);
}

// Appends " AND <column> >= :since AND <column> < :until" for the bounds present, or, for
// an unbounded range, nothing (so messages with no known time are included).
static int append_range(bw_buf *sql, const bw_store_range *range, const char *column)
{
    int rc = 0;
    if (range && range->has_since)
        rc |= bw_buf_printf(sql, " AND %s >= :since", column);
    if (range && range->has_until)
        rc |= bw_buf_printf(sql, " AND %s < :until", column);
    return rc;
}

static void bind_range(sqlite3_stmt *st, const bw_store_range *range)
{
    if (!range)
        return;
    int i;
    if (range->has_since && (i = sqlite3_bind_parameter_index(st, ":since")) > 0)
        sqlite3_bind_int64(st, i, range->since);
    if (range->has_until && (i = sqlite3_bind_parameter_index(st, ":until")) > 0)
        sqlite3_bind_int64(st, i, range->until);
}

static sqlite3_stmt *prepare(bw_store *store, const bw_buf *sql, char *errbuf)
{
    sqlite3 *db = bw_store_sqlite(store);
    sqlite3_stmt *st = NULL;
    if (!sql->p) {
        bw_error(errbuf, BW_ERR_NOMEM, "out of memory building a query");
        return NULL;
    }
    if (sqlite3_prepare_v2(db, sql->p, (int)sql->n, &st, NULL) != SQLITE_OK) {
        bw_error(errbuf, BW_ERR_DB, "query: %s", sqlite3_errmsg(db));
        return NULL;
    }
    return st;
}

// The one path every time-ranged query takes (store_internal.h).
bw_status bw_store_prepare_ranged(bw_store *store, const char *head, const bw_store_range *range,
                                  const char *tail, sqlite3_stmt **st, char *errbuf)
{
    *st = NULL;
    bw_buf sql = BW_BUF_INIT;
    int rc = bw_buf_append_cstr(&sql, head);
    rc |= append_range(&sql, range, "m.seen_at");
    rc |= bw_buf_append_cstr(&sql, tail);
    if (rc) {
        bw_buf_free(&sql);
        return bw_error(errbuf, BW_ERR_NOMEM, "out of memory building a query");
    }
    *st = prepare(store, &sql, errbuf);
    bw_buf_free(&sql);
    if (!*st)
        return BW_ERR_DB;
    bind_range(*st, range);
    return BW_OK;
}

struct bw_store_iter {
    bw_store *store;
    sqlite3_stmt *st;
};

bw_store_iter *bw_store_iter_messages(bw_store *store, const bw_store_range *range, char *errbuf)
{
    sqlite3_stmt *st;
    if (bw_store_prepare_ranged(store,
        "SELECT m.id, lower(hex(m.sha256)), m.ingested_at, m.date, m.received_at, m.seen_at, s.path,"
        " m.source_offset, m.size, m.sender_ip, m.helo, m.sender_asn, a.name, m.envelope_from,"
        " m.envelope_to, m.subject, m.from_addr, m.message_id, f.fingerprint, m.anomalies,"
        " m.part_count, m.url_count, m.text_bytes,"
        " (SELECT group_concat(d, ' ') FROM (SELECT u.domain AS d FROM urls u"
        "   WHERE u.msg_id = m.id AND u.domain IS NOT NULL GROUP BY u.domain ORDER BY min(u.seq)))"
        " FROM messages m LEFT JOIN sources s ON s.id = m.source_id"
        " LEFT JOIN asns a ON a.asn = m.sender_asn LEFT JOIN header_fingerprints f ON f.id = m.header_fp_id"
        " WHERE 1",
        range, " ORDER BY m.seen_at, m.id", &st, errbuf) != BW_OK)
        return NULL;
    bw_store_iter *it = calloc(1, sizeof *it);
    if (!it) {
        sqlite3_finalize(st);
        bw_error(errbuf, BW_ERR_NOMEM, "out of memory");
        return NULL;
    }
    it->store = store;
    it->st = st;
    return it;
}

int bw_store_iter_next(bw_store_iter *it, bw_store_row *row, char *errbuf)
{
    int rc = sqlite3_step(it->st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW) {
        bw_error(errbuf, BW_ERR_DB, "reading messages: %s", sqlite3_errmsg(bw_store_sqlite(it->store)));
        return -1;
    }
    sqlite3_stmt *st = it->st;
    memset(row, 0, sizeof *row);
    row->id = sqlite3_column_int64(st, 0);
    row->sha256 = bw_store_col_slice(st, 1);
    row->ingested_at = sqlite3_column_int64(st, 2);
    row->date = bw_store_col_time(st, 3);
    row->received_at = bw_store_col_time(st, 4);
    row->seen_at = bw_store_col_time(st, 5);
    row->source_path = bw_store_col_slice(st, 6);
    row->source_offset = (uint64_t)sqlite3_column_int64(st, 7);
    row->size = (uint64_t)sqlite3_column_int64(st, 8);
    row->sender_ip = bw_store_col_slice(st, 9);
    row->helo = bw_store_col_slice(st, 10);
    row->sender_asn = (uint32_t)sqlite3_column_int64(st, 11);
    row->sender_as_name = bw_store_col_slice(st, 12);
    row->envelope_from = bw_store_col_slice(st, 13);
    row->envelope_to = bw_store_col_slice(st, 14);
    row->subject = bw_store_col_slice(st, 15);
    row->from_addr = bw_store_col_slice(st, 16);
    row->message_id = bw_store_col_slice(st, 17);
    row->header_fingerprint = bw_store_col_slice(st, 18);
    row->anomalies = (uint64_t)sqlite3_column_int64(st, 19);
    row->parsed = sqlite3_column_type(st, 20) != SQLITE_NULL;
    row->part_count = (uint32_t)sqlite3_column_int64(st, 20);
    row->url_count = (uint32_t)sqlite3_column_int64(st, 21);
    row->text_bytes = (uint64_t)sqlite3_column_int64(st, 22);
    row->url_domains = bw_store_col_slice(st, 23);
    return 1;
}

void bw_store_iter_free(bw_store_iter *it)
{
    if (!it)
        return;
    sqlite3_finalize(it->st);
    free(it);
}

// Runs an aggregate whose columns are (key text, number, label, extra, count) and feeds
// each row to fn.
static bw_status run_counts(bw_store *store, sqlite3_stmt *st, size_t limit,
                            bw_store_count_fn fn, void *ctx, char *errbuf)
{
    int i = sqlite3_bind_parameter_index(st, ":limit");
    if (i > 0)
        sqlite3_bind_int64(st, i, limit ? (int64_t)limit : -1);
    bw_status s = BW_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        bw_store_count item = {
            .key = bw_store_col_slice(st, 0),
            .number = sqlite3_column_int64(st, 1),
            .label = bw_store_col_slice(st, 2),
            .extra = bw_store_col_slice(st, 3),
            .count = (uint64_t)sqlite3_column_int64(st, 4),
        };
        if (fn(ctx, &item) != 0)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        s = bw_error(errbuf, BW_ERR_DB, "aggregate: %s", sqlite3_errmsg(bw_store_sqlite(store)));
    sqlite3_finalize(st);
    return s;
}

static bw_status build_and_run(bw_store *store, const char *head, const char *tail,
                               const bw_store_range *range, size_t limit,
                               bw_store_count_fn fn, void *ctx, char *errbuf)
{
    sqlite3_stmt *st;
    bw_status s = bw_store_prepare_ranged(store, head, range, tail, &st, errbuf);
    return s != BW_OK ? s : run_counts(store, st, limit, fn, ctx, errbuf);
}

bw_status bw_store_count_per_day(bw_store *store, const bw_store_range *range,
                                 bw_store_count_fn fn, void *ctx, char *errbuf)
{
    // Floor division so days before 1970 (forged dates) still start at midnight.
    return build_and_run(store,
        "SELECT NULL, m.seen_at - (((m.seen_at % 86400) + 86400) % 86400) AS day, NULL, NULL, count(*)"
        " FROM messages m WHERE m.seen_at IS NOT NULL",
        " GROUP BY day ORDER BY day", range, 0, fn, ctx, errbuf);
}

bw_status bw_store_top_asns(bw_store *store, const bw_store_range *range, size_t limit,
                            bw_store_count_fn fn, void *ctx, char *errbuf)
{
    return build_and_run(store,
        "SELECT NULL, t.asn, a.name, a.country, t.c FROM"
        " (SELECT m.sender_asn AS asn, count(*) AS c FROM messages m WHERE m.sender_asn IS NOT NULL",
        " GROUP BY m.sender_asn) t LEFT JOIN asns a ON a.asn = t.asn"
        " ORDER BY t.c DESC, t.asn LIMIT :limit", range, limit, fn, ctx, errbuf);
}

bw_status bw_store_top_sender_ips(bw_store *store, const bw_store_range *range, size_t limit,
                                  bw_store_count_fn fn, void *ctx, char *errbuf)
{
    return build_and_run(store,
        "SELECT t.ip, coalesce(t.asn, 0), a.name, a.country, t.c FROM"
        " (SELECT m.sender_ip AS ip, max(m.sender_asn) AS asn, count(*) AS c FROM messages m"
        "  WHERE m.sender_ip IS NOT NULL",
        " GROUP BY m.sender_ip) t LEFT JOIN asns a ON a.asn = t.asn"
        " ORDER BY t.c DESC, t.ip LIMIT :limit", range, limit, fn, ctx, errbuf);
}

bw_status bw_store_top_domains(bw_store *store, const bw_store_range *range, size_t limit,
                               bw_store_count_fn fn, void *ctx, char *errbuf)
{
    // url_domains holds each (domain id, message) pair once, in id order: unranged it is
    // one scan of that table; ranged, each pair is checked against its message's time.
    bool ranged = range && (range->has_since || range->has_until);
    return build_and_run(store,
        ranged ? "SELECT n.name, 0, NULL, NULL, count(*) AS c FROM url_domains d"
                 " JOIN domains n ON n.id = d.domain_id JOIN messages m ON m.id = d.msg_id WHERE 1"
               : "SELECT n.name, 0, NULL, NULL, count(*) AS c FROM url_domains d"
                 " JOIN domains n ON n.id = d.domain_id WHERE 1",
        " GROUP BY d.domain_id ORDER BY c DESC, n.name LIMIT :limit", ranged ? range : NULL, limit,
        fn, ctx, errbuf);
}

bw_status bw_store_top_subjects(bw_store *store, const bw_store_range *range, size_t limit,
                                bw_store_count_fn fn, void *ctx, char *errbuf)
{
    return build_and_run(store,
        "SELECT m.subject, 0, NULL, NULL, count(*) AS c FROM messages m WHERE m.subject IS NOT NULL",
        " GROUP BY m.subject ORDER BY c DESC, m.subject LIMIT :limit", range, limit, fn, ctx, errbuf);
}

bw_status bw_store_anomaly_counts(bw_store *store, const bw_store_range *range,
                                  bw_store_count_fn fn, void *ctx, char *errbuf)
{
    // One pass over the table: 64 sums in one SELECT rather than one scan per flag.
    enum { BITS = 64 };
    bw_buf head = BW_BUF_INIT;
    int rc = bw_buf_append_cstr(&head, "SELECT ");
    for (int b = 0; b < BITS; b++)
        rc |= bw_buf_printf(&head, "%stotal((m.anomalies >> %d) & 1)", b ? ", " : "", b);
    rc |= bw_buf_append_cstr(&head, " FROM messages m WHERE 1");
    if (rc) {
        bw_buf_free(&head);
        return bw_error(errbuf, BW_ERR_NOMEM, "out of memory building a query");
    }
    sqlite3_stmt *st;
    bw_status s = bw_store_prepare_ranged(store, head.p, range, "", &st, errbuf);
    bw_buf_free(&head);
    if (s != BW_OK)
        return s;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        for (int b = 0; b < BITS; b++) {
            uint64_t n = (uint64_t)sqlite3_column_double(st, b);
            if (!n)
                continue;
            bw_store_count item = { .number = b, .count = n };
            if (fn(ctx, &item) != 0)
                break;
        }
    } else {
        s = bw_error(errbuf, BW_ERR_DB, "anomaly counts: %s", sqlite3_errmsg(bw_store_sqlite(store)));
    }
    sqlite3_finalize(st);
    return s;
}

bw_status bw_store_list_errors(bw_store *store, size_t limit, bw_store_error_fn fn, void *ctx,
                               char *errbuf)
{
    bw_buf sql = BW_BUF_INIT;
    if (bw_buf_append_cstr(&sql, "SELECT s.path, e.offset, e.reason, e.at FROM ingest_errors e"
                                 " LEFT JOIN sources s ON s.id = e.source_id ORDER BY e.id LIMIT :limit")) {
        bw_buf_free(&sql);
        return bw_error(errbuf, BW_ERR_NOMEM, "out of memory building a query");
    }
    sqlite3_stmt *st = prepare(store, &sql, errbuf);
    bw_buf_free(&sql);
    if (!st)
        return BW_ERR_DB;
    sqlite3_bind_int64(st, 1, limit ? (int64_t)limit : -1);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        bw_store_error_row row = {
            .source_path = bw_store_col_slice(st, 0),
            .offset = (uint64_t)sqlite3_column_int64(st, 1),
            .reason = bw_store_col_slice(st, 2),
            .at = sqlite3_column_int64(st, 3),
        };
        if (fn(ctx, &row) != 0)
            break;
    }
    bw_status s = BW_OK;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        s = bw_error(errbuf, BW_ERR_DB, "ingest errors: %s", sqlite3_errmsg(bw_store_sqlite(store)));
    sqlite3_finalize(st);
    return s;
}

bw_status bw_store_list_sources(bw_store *store, bw_store_source_fn fn, void *ctx, char *errbuf)
{
    sqlite3 *db = bw_store_sqlite(store);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT id, path, format, first_ingest, last_ingest, messages, duplicates,"
                               " errors, bytes FROM sources ORDER BY id", -1, &st, NULL) != SQLITE_OK)
        return bw_error(errbuf, BW_ERR_DB, "sources: %s", sqlite3_errmsg(db));
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        bw_store_source_row row = {
            .id = sqlite3_column_int64(st, 0),
            .path = bw_store_col_slice(st, 1),
            .format = bw_store_col_slice(st, 2),
            .first_ingest = sqlite3_column_int64(st, 3),
            .last_ingest = sqlite3_column_int64(st, 4),
            .counts = {
                .messages = (uint64_t)sqlite3_column_int64(st, 5),
                .duplicates = (uint64_t)sqlite3_column_int64(st, 6),
                .errors = (uint64_t)sqlite3_column_int64(st, 7),
                .bytes = (uint64_t)sqlite3_column_int64(st, 8),
            },
        };
        if (fn(ctx, &row) != 0)
            break;
    }
    bw_status s = BW_OK;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        s = bw_error(errbuf, BW_ERR_DB, "sources: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return s;
}

bw_status bw_store_get_totals(bw_store *store, const bw_store_range *range, bw_store_totals *out,
                              char *errbuf)
{
    memset(out, 0, sizeof *out);
    out->first_seen = out->last_seen = BW_STORE_NO_TIME;
    sqlite3_stmt *st;
    bw_status s = bw_store_prepare_ranged(store,
        "SELECT count(*), total(m.part_count IS NULL), total(m.sender_ip IS NOT NULL),"
        " total(m.sender_asn IS NOT NULL), total(m.url_count > 0), total(m.url_count), total(m.size),"
        " min(m.seen_at), max(m.seen_at),"
        " (SELECT count(*) FROM sources), (SELECT total(duplicates) FROM sources),"
        " (SELECT count(*) FROM ingest_errors)"
        " FROM messages m WHERE 1", range, "", &st, errbuf);
    if (s != BW_OK)
        return s;
    if (sqlite3_step(st) == SQLITE_ROW) {
        out->messages = (uint64_t)sqlite3_column_int64(st, 0);
        out->unparsed = (uint64_t)sqlite3_column_double(st, 1);
        out->with_sender_ip = (uint64_t)sqlite3_column_double(st, 2);
        out->with_asn = (uint64_t)sqlite3_column_double(st, 3);
        out->with_urls = (uint64_t)sqlite3_column_double(st, 4);
        out->urls = (uint64_t)sqlite3_column_double(st, 5);
        out->bytes = (uint64_t)sqlite3_column_double(st, 6);
        out->first_seen = bw_store_col_time(st, 7);
        out->last_seen = bw_store_col_time(st, 8);
        out->sources = (uint64_t)sqlite3_column_int64(st, 9);
        out->duplicates = (uint64_t)sqlite3_column_double(st, 10);
        out->errors = (uint64_t)sqlite3_column_int64(st, 11);
    } else {
        s = bw_error(errbuf, BW_ERR_DB, "totals: %s", sqlite3_errmsg(bw_store_sqlite(store)));
    }
    sqlite3_finalize(st);
    return s;
}
