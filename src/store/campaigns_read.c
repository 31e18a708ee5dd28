// SPDX-License-Identifier: MIT
// The campaign and botnet side of the store's read API (store_campaigns.h): campaign
// rankings, one campaign in detail, botnets and per-message attribution. In-range figures
// are counted from messages.campaign_id with the same seen_at range clause as read.c, so
// they add up to the messages table; the campaigns and botnets rows ingest wrote supply
// templates, labels, links, sample ids and the botnets' whole-store figures. JSON columns
// (samples_json, asns_json, countries_json) are read with SQLite's json_each and ignored
// when malformed, never trusted to be well formed.
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "botwatch/arena.h"
#include "botwatch/ip.h"
#include "botwatch/store_campaigns.h"
#include "store_internal.h"

static double col_similarity(sqlite3_stmt *st, int col)
{
    return sqlite3_column_type(st, col) == SQLITE_NULL ? -1.0 : sqlite3_column_double(st, col);
}

// A JSON column as json_each input: malformed text reads as an empty array.
#define JSON_OR_EMPTY(col) "CASE WHEN json_valid(" col ") THEN " col " ELSE '[]' END"

bw_status bw_store_file_schema_version(const char *path, int *version, char *errbuf)
{
    *version = 0;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        bw_status s = bw_error(errbuf, BW_ERR_DB, "%s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
        sqlite3_close(db);
        return s;
    }
    sqlite3_stmt *st = NULL;
    bw_status s = BW_OK;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
        s = bw_error(errbuf, BW_ERR_DB, "%s: %s", path, sqlite3_errmsg(db));
    else
        *version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return s;
}

// bw_store_prepare_ranged (read.c) with the statement as the result: NULL on failure.
static sqlite3_stmt *prepare_ranged(bw_store *store, const char *head, const bw_store_range *range,
                                    const char *tail, char *errbuf)
{
    sqlite3_stmt *st = NULL;
    bw_store_prepare_ranged(store, head, range, tail, &st, errbuf);
    return st;
}

static void bind_named(sqlite3_stmt *st, const char *name, int64_t value)
{
    int i = sqlite3_bind_parameter_index(st, name);
    if (i > 0)
        sqlite3_bind_int64(st, i, value);
}

static bw_status db_error(bw_store *store, char *errbuf, const char *what)
{
    return bw_error(errbuf, BW_ERR_DB, "%s: %s", what, sqlite3_errmsg(bw_store_sqlite(store)));
}

bw_status bw_store_get_campaign_totals(bw_store *store, const bw_store_range *range,
                                       bw_store_campaign_totals *out, char *errbuf)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = prepare_ranged(store,
        "SELECT count(*), count(m.campaign_id), total(c.botnet_id > 0), count(DISTINCT m.campaign_id),"
        " count(DISTINCT nullif(c.botnet_id, 0)), (SELECT count(*) FROM campaigns),"
        " (SELECT count(*) FROM botnets)"
        " FROM messages m LEFT JOIN campaigns c ON c.id = m.campaign_id WHERE 1", range, "", errbuf);
    if (!st)
        return BW_ERR_DB;
    bw_status s = BW_OK;
    if (sqlite3_step(st) == SQLITE_ROW) {
        out->messages = (uint64_t)sqlite3_column_int64(st, 0);
        out->in_campaigns = (uint64_t)sqlite3_column_int64(st, 1);
        out->in_botnets = (uint64_t)sqlite3_column_double(st, 2);
        out->campaigns = (uint64_t)sqlite3_column_int64(st, 3);
        out->botnets = (uint64_t)sqlite3_column_int64(st, 4);
        out->campaigns_stored = (uint64_t)sqlite3_column_int64(st, 5);
        out->botnets_stored = (uint64_t)sqlite3_column_int64(st, 6);
    } else {
        s = db_error(store, errbuf, "campaign totals");
    }
    sqlite3_finalize(st);
    return s;
}

// ---- distinct /24s (IPv4) and /48s (IPv6) of a set of sender IPs ----

typedef struct subnet_set {
    bw_ip *keys;
    size_t n, cap;
} subnet_set;

static int subnet_add(subnet_set *set, bw_slice ip_text)
{
    bw_ip ip;
    if (!bw_ip_parse(ip_text, &ip))
        return 0;   // unparsable text is not a network (it still counts as an IP)
    if (bw_ip_is_v4(&ip))
        ip.b[15] = 0;
    else
        memset(ip.b + 6, 0, 10);
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 64;
        bw_ip *keys = realloc(set->keys, cap * sizeof *keys);
        if (!keys)
            return -1;
        set->keys = keys;
        set->cap = cap;
    }
    set->keys[set->n++] = ip;
    return 0;
}

static int ip_order(const void *a, const void *b) { return bw_ip_cmp(a, b); }

static uint64_t subnet_count(subnet_set *set)
{
    if (set->n == 0)
        return 0;
    qsort(set->keys, set->n, sizeof *set->keys, ip_order);
    uint64_t distinct = 1;
    for (size_t i = 1; i < set->n; i++)
        distinct += bw_ip_cmp(&set->keys[i - 1], &set->keys[i]) != 0;
    return distinct;
}

// ---- one campaign's in-range figures ----

// The per-campaign statements of a listing, prepared once and re-bound per campaign.
typedef struct campaign_queries {
    sqlite3_stmt *row;        // the campaigns row (+ botnet label)
    sqlite3_stmt *subject;    // top subject in range
    sqlite3_stmt *domain;     // top domain in range
    sqlite3_stmt *ips;        // distinct sender IPs in range
    subnet_set subnets;
} campaign_queries;

static void campaign_queries_free(campaign_queries *q)
{
    sqlite3_finalize(q->row);
    sqlite3_finalize(q->subject);
    sqlite3_finalize(q->domain);
    sqlite3_finalize(q->ips);
    free(q->subnets.keys);
    memset(q, 0, sizeof *q);
}

static bw_status campaign_queries_prepare(bw_store *store, const bw_store_range *range, campaign_queries *q,
                                          char *errbuf)
{
    memset(q, 0, sizeof *q);
    q->row = prepare_ranged(store,
        "SELECT c.template, coalesce(c.botnet_id, 0), b.label, c.messages, c.first_seen, c.last_seen,"
        " c.in_memory FROM campaigns c LEFT JOIN botnets b ON b.id = c.botnet_id WHERE c.id = :cid",
        NULL, "", errbuf);
    if (q->row)
        q->subject = prepare_ranged(store,
            "SELECT m.subject, count(*) AS n FROM messages m WHERE m.campaign_id = :cid AND m.subject IS NOT NULL",
            range, " GROUP BY m.subject ORDER BY n DESC, m.subject LIMIT 1", errbuf);
    if (q->subject)
        q->domain = prepare_ranged(store,
            "SELECT u.domain, count(DISTINCT u.msg_id) AS n FROM messages m JOIN urls u ON u.msg_id = m.id"
            " WHERE m.campaign_id = :cid AND u.domain IS NOT NULL",
            range, " GROUP BY u.domain ORDER BY n DESC, u.domain LIMIT 1", errbuf);
    if (q->domain)
        q->ips = prepare_ranged(store,
            "SELECT DISTINCT m.sender_ip FROM messages m WHERE m.campaign_id = :cid AND m.sender_ip IS NOT NULL",
            range, "", errbuf);
    if (!q->ips) {
        campaign_queries_free(q);
        return BW_ERR_DB;
    }
    return BW_OK;
}

// Fills c's campaign-row fields, top subject/domain and /24 count (c->id and the aggregate
// figures are set by the caller). The slices stay valid until the statements are reset.
static bw_status campaign_fill(bw_store *store, campaign_queries *q, bw_store_campaign *c, char *errbuf)
{
    sqlite3_stmt *sts[] = { q->row, q->subject, q->domain, q->ips };
    for (size_t i = 0; i < sizeof sts / sizeof sts[0]; i++) {
        sqlite3_reset(sts[i]);
        bind_named(sts[i], ":cid", c->id);
    }
    int rc = sqlite3_step(q->row);
    c->stored_first_seen = c->stored_last_seen = BW_STORE_NO_TIME;
    if (rc == SQLITE_ROW) {
        c->template_text = bw_store_col_slice(q->row, 0);
        c->botnet_id = sqlite3_column_int64(q->row, 1);
        c->botnet_label = bw_store_col_slice(q->row, 2);
        c->stored_messages = (uint64_t)sqlite3_column_int64(q->row, 3);
        c->stored_first_seen = bw_store_col_time(q->row, 4);
        c->stored_last_seen = bw_store_col_time(q->row, 5);
        c->in_memory = sqlite3_column_int64(q->row, 6) != 0;
    } else if (rc != SQLITE_DONE) {
        return db_error(store, errbuf, "campaign");
    }
    if ((rc = sqlite3_step(q->subject)) == SQLITE_ROW) {
        c->top_subject = bw_store_col_slice(q->subject, 0);
        c->top_subject_messages = (uint64_t)sqlite3_column_int64(q->subject, 1);
    } else if (rc != SQLITE_DONE) {
        return db_error(store, errbuf, "campaign subjects");
    }
    if ((rc = sqlite3_step(q->domain)) == SQLITE_ROW) {
        c->top_domain = bw_store_col_slice(q->domain, 0);
        c->top_domain_messages = (uint64_t)sqlite3_column_int64(q->domain, 1);
    } else if (rc != SQLITE_DONE) {
        return db_error(store, errbuf, "campaign domains");
    }
    q->subnets.n = 0;
    while ((rc = sqlite3_step(q->ips)) == SQLITE_ROW)
        if (subnet_add(&q->subnets, bw_store_col_slice(q->ips, 0)) != 0)
            return bw_error(errbuf, BW_ERR_NOMEM, "campaign networks: out of memory");
    if (rc != SQLITE_DONE)
        return db_error(store, errbuf, "campaign networks");
    c->subnets24 = subnet_count(&q->subnets);
    return BW_OK;
}

// Columns 1..5 of the aggregate: messages, first, last, distinct IPs, distinct ASNs.
#define CAMPAIGN_AGGREGATE "count(*), min(m.seen_at), max(m.seen_at), count(DISTINCT m.sender_ip)," \
                           " count(DISTINCT m.sender_asn)"

static void campaign_from_aggregate(sqlite3_stmt *st, bw_store_campaign *c)
{
    memset(c, 0, sizeof *c);
    c->id = sqlite3_column_int64(st, 0);
    c->messages = (uint64_t)sqlite3_column_int64(st, 1);
    c->first_seen = bw_store_col_time(st, 2);
    c->last_seen = bw_store_col_time(st, 3);
    c->sender_ips = (uint64_t)sqlite3_column_int64(st, 4);
    c->asns = (uint64_t)sqlite3_column_int64(st, 5);
}

bw_status bw_store_list_campaigns(bw_store *store, const bw_store_range *range, size_t limit,
                                  bw_store_campaign_fn fn, void *ctx, char *errbuf)
{
    sqlite3_stmt *st = prepare_ranged(store,
        "SELECT m.campaign_id, " CAMPAIGN_AGGREGATE " FROM messages m WHERE m.campaign_id IS NOT NULL",
        range, " GROUP BY m.campaign_id ORDER BY count(*) DESC, m.campaign_id LIMIT :limit", errbuf);
    if (!st)
        return BW_ERR_DB;
    bind_named(st, ":limit", limit ? (int64_t)limit : -1);
    campaign_queries q;
    bw_status s = campaign_queries_prepare(store, range, &q, errbuf);
    int rc = SQLITE_DONE;
    while (s == BW_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        bw_store_campaign c;
        campaign_from_aggregate(st, &c);
        if ((s = campaign_fill(store, &q, &c, errbuf)) != BW_OK)
            break;
        if (fn(ctx, &c) != 0)
            break;
    }
    if (s == BW_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
        s = db_error(store, errbuf, "campaigns");
    campaign_queries_free(&q);
    sqlite3_finalize(st);
    return s;
}

// ---- one campaign in detail ----

typedef struct count_list {
    bw_store_count *items;
    size_t n, cap;
} count_list;

typedef struct detail_impl {
    bw_store_campaign_detail pub;    // first: the public struct is freed through it
    bw_arena *arena;
    count_list days, senders, networks, domains, subjects;
    bw_store_campaign_link *links;
    bw_store_message_brief *samples;
} detail_impl;

static bool arena_slice(bw_arena *arena, bw_slice s, bw_slice *out)
{
    if (s.n == 0) {
        *out = BW_SLICE_LIT("");
        return true;
    }
    *out = bw_arena_slice_dup(arena, s);
    return out->p != NULL;
}

static bool count_push(count_list *list, const bw_store_count *item)
{
    if (list->n == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 16;
        bw_store_count *items = realloc(list->items, cap * sizeof *items);
        if (!items)
            return false;
        list->items = items;
        list->cap = cap;
    }
    list->items[list->n++] = *item;
    return true;
}

// Runs st (columns: key, number, label, extra, count) into list, copying strings into the
// arena, at most max rows.
static bw_status collect_counts(bw_store *store, sqlite3_stmt *st, bw_arena *arena, count_list *list,
                                size_t max, const char *what, char *errbuf)
{
    int rc = SQLITE_DONE;
    while (list->n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        bw_store_count item = { .number = sqlite3_column_int64(st, 1),
                                .count = (uint64_t)sqlite3_column_int64(st, 4) };
        if (!arena_slice(arena, bw_store_col_slice(st, 0), &item.key) ||
            !arena_slice(arena, bw_store_col_slice(st, 2), &item.label) ||
            !arena_slice(arena, bw_store_col_slice(st, 3), &item.extra) || !count_push(list, &item))
            return bw_error(errbuf, BW_ERR_NOMEM, "%s: out of memory", what);
    }
    if (list->n < max && rc != SQLITE_DONE)
        return db_error(store, errbuf, what);
    return BW_OK;
}

static size_t cap_limit(size_t want, size_t dflt, size_t max)
{
    if (want == 0)
        want = dflt;
    return want > max ? max : want;
}

// Runs one detail query for campaign id into list.
static bw_status detail_counts(bw_store *store, int64_t id, const char *sql, size_t limit, bw_arena *arena,
                               count_list *list, const char *what, char *errbuf)
{
    sqlite3_stmt *st = prepare_ranged(store, sql, NULL, "", errbuf);
    if (!st)
        return BW_ERR_DB;
    bind_named(st, ":cid", id);
    bind_named(st, ":limit", (int64_t)limit);
    bw_status s = collect_counts(store, st, arena, list, limit, what, errbuf);
    sqlite3_finalize(st);
    return s;
}

static bw_status detail_samples(bw_store *store, detail_impl *d, int64_t id, size_t limit, char *errbuf)
{
    static const char *const queries[] = {
        // The campaign's kept reservoir sample, if ingest stored one ...
        "SELECT m.id, lower(hex(m.sha256)), m.seen_at, m.subject, m.sender_ip, m.sender_asn, m.similarity"
        " FROM json_each((SELECT " JSON_OR_EMPTY("c.samples_json") " FROM campaigns c WHERE c.id = :cid)) j"
        " JOIN messages m ON m.id = j.value WHERE m.campaign_id = :cid ORDER BY m.id LIMIT :limit",
        // ... else its first messages.
        "SELECT m.id, lower(hex(m.sha256)), m.seen_at, m.subject, m.sender_ip, m.sender_asn, m.similarity"
        " FROM messages m WHERE m.campaign_id = :cid ORDER BY m.id LIMIT :limit",
    };
    d->samples = calloc(limit ? limit : 1, sizeof *d->samples);
    if (!d->samples)
        return bw_error(errbuf, BW_ERR_NOMEM, "campaign samples: out of memory");
    for (size_t k = 0; k < 2 && d->pub.sample_count == 0; k++) {
        sqlite3_stmt *st = prepare_ranged(store, queries[k], NULL, "", errbuf);
        if (!st)
            return BW_ERR_DB;
        bind_named(st, ":cid", id);
        bind_named(st, ":limit", (int64_t)limit);
        int rc = SQLITE_DONE;
        while (d->pub.sample_count < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            bw_store_message_brief *b = &d->samples[d->pub.sample_count];
            b->id = sqlite3_column_int64(st, 0);
            b->seen_at = bw_store_col_time(st, 2);
            b->sender_asn = (uint32_t)sqlite3_column_int64(st, 5);
            b->similarity = col_similarity(st, 6);
            if (!arena_slice(d->arena, bw_store_col_slice(st, 1), &b->sha256)
                || !arena_slice(d->arena, bw_store_col_slice(st, 3), &b->subject)
                || !arena_slice(d->arena, bw_store_col_slice(st, 4), &b->sender_ip)) {
                sqlite3_finalize(st);
                return bw_error(errbuf, BW_ERR_NOMEM, "campaign samples: out of memory");
            }
            d->pub.sample_count++;
        }
        bool failed = d->pub.sample_count < limit && rc != SQLITE_DONE;
        sqlite3_finalize(st);
        if (failed)
            return db_error(store, errbuf, "campaign samples");
    }
    d->pub.samples = d->samples;
    return BW_OK;
}

static bw_status detail_links(bw_store *store, detail_impl *d, int64_t id, size_t limit, char *errbuf)
{
    sqlite3_stmt *st = prepare_ranged(store,
        "SELECT CASE WHEN l.a = :cid THEN l.b ELSE l.a END AS other, l.domain, l.time FROM campaign_links l"
        " WHERE l.a = :cid OR l.b = :cid ORDER BY l.time, other, l.domain LIMIT :limit", NULL, "", errbuf);
    if (!st)
        return BW_ERR_DB;
    bind_named(st, ":cid", id);
    bind_named(st, ":limit", (int64_t)limit);
    d->links = calloc(limit ? limit : 1, sizeof *d->links);
    bw_status s = d->links ? BW_OK : bw_error(errbuf, BW_ERR_NOMEM, "campaign links: out of memory");
    int rc = SQLITE_DONE;
    while (s == BW_OK && d->pub.link_count < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        bw_store_campaign_link *l = &d->links[d->pub.link_count];
        l->other_id = sqlite3_column_int64(st, 0);
        l->time = bw_store_col_time(st, 2);
        if (!arena_slice(d->arena, bw_store_col_slice(st, 1), &l->domain))
            s = bw_error(errbuf, BW_ERR_NOMEM, "campaign links: out of memory");
        else
            d->pub.link_count++;
    }
    if (s == BW_OK && d->pub.link_count < limit && rc != SQLITE_DONE)
        s = db_error(store, errbuf, "campaign links");
    sqlite3_finalize(st);
    d->pub.links = d->links;
    return s;
}

static bw_status detail_timeline(bw_store *store, detail_impl *d, int64_t id, char *errbuf)
{
    sqlite3_stmt *st = prepare_ranged(store,
        "SELECT NULL, m.seen_at - (((m.seen_at % 86400) + 86400) % 86400) AS day, NULL, NULL, count(*)"
        " FROM messages m WHERE m.campaign_id = :cid AND m.seen_at IS NOT NULL GROUP BY day ORDER BY day",
        NULL, "", errbuf);
    if (!st)
        return BW_ERR_DB;
    bind_named(st, ":cid", id);
    bw_status s = collect_counts(store, st, d->arena, &d->days, BW_STORE_MAX_TIMELINE_DAYS, "campaign timeline",
                                 errbuf);
    // Days beyond the cap (only if the cap was reached: stepping a finished statement
    // would run it again) are summed, not listed.
    int rc = SQLITE_DONE;
    while (s == BW_OK && d->days.n == BW_STORE_MAX_TIMELINE_DAYS && (rc = sqlite3_step(st)) == SQLITE_ROW)
        d->pub.days_omitted_messages += (uint64_t)sqlite3_column_int64(st, 4);
    if (s == BW_OK && rc != SQLITE_DONE)
        s = db_error(store, errbuf, "campaign timeline");
    sqlite3_finalize(st);
    if (s != BW_OK)
        return s;
    st = prepare_ranged(store, "SELECT count(*) FROM messages m WHERE m.campaign_id = :cid AND m.seen_at IS NULL",
                        NULL, "", errbuf);
    if (!st)
        return BW_ERR_DB;
    bind_named(st, ":cid", id);
    if (sqlite3_step(st) == SQLITE_ROW)
        d->pub.undated_messages = (uint64_t)sqlite3_column_int64(st, 0);
    else
        s = db_error(store, errbuf, "campaign timeline");
    sqlite3_finalize(st);
    return s;
}

static bw_status detail_gather(bw_store *store, detail_impl *d, int64_t id, const bw_store_campaign_limits *lim,
                               char *errbuf)
{
    size_t top = cap_limit(lim->top, 10, BW_STORE_MAX_DETAIL_TOP);
    bw_store_campaign *c = &d->pub.campaign;
    sqlite3_stmt *st = prepare_ranged(store,
        "SELECT :cid, " CAMPAIGN_AGGREGATE ", min(m.id), (SELECT count(*) FROM campaigns WHERE id = :cid)"
        " FROM messages m WHERE m.campaign_id = :cid", NULL, "", errbuf);
    if (!st)
        return BW_ERR_DB;
    bind_named(st, ":cid", id);
    bw_status s = BW_OK;
    if (sqlite3_step(st) != SQLITE_ROW) {
        s = db_error(store, errbuf, "campaign");
    } else if (sqlite3_column_int64(st, 1) == 0 && sqlite3_column_int64(st, 7) == 0) {
        s = bw_error(errbuf, BW_ERR_NOTFOUND, "no campaign %" PRId64, id);
    } else {
        campaign_from_aggregate(st, c);
        d->pub.first_message_id = sqlite3_column_int64(st, 6);
    }
    sqlite3_finalize(st);
    if (s != BW_OK)
        return s;
    campaign_queries q;
    if ((s = campaign_queries_prepare(store, NULL, &q, errbuf)) != BW_OK)
        return s;
    s = campaign_fill(store, &q, c, errbuf);
    if (s == BW_OK && (!arena_slice(d->arena, c->template_text, &c->template_text)
                       || !arena_slice(d->arena, c->botnet_label, &c->botnet_label)
                       || !arena_slice(d->arena, c->top_subject, &c->top_subject)
                       || !arena_slice(d->arena, c->top_domain, &c->top_domain)))
        s = bw_error(errbuf, BW_ERR_NOMEM, "campaign: out of memory");
    campaign_queries_free(&q);
    if (s == BW_OK)
        s = detail_timeline(store, d, id, errbuf);
    if (s == BW_OK)
        s = detail_counts(store, id,
            "SELECT t.ip, coalesce(t.asn, 0), a.name, a.country, t.n FROM"
            " (SELECT m.sender_ip AS ip, max(m.sender_asn) AS asn, count(*) AS n FROM messages m"
            "  WHERE m.campaign_id = :cid AND m.sender_ip IS NOT NULL GROUP BY m.sender_ip) t"
            " LEFT JOIN asns a ON a.asn = t.asn ORDER BY t.n DESC, t.ip LIMIT :limit",
            top, d->arena, &d->senders, "campaign senders", errbuf);
    if (s == BW_OK)
        s = detail_counts(store, id,
            "SELECT NULL, t.asn, a.name, a.country, t.n FROM"
            " (SELECT m.sender_asn AS asn, count(*) AS n FROM messages m"
            "  WHERE m.campaign_id = :cid AND m.sender_asn IS NOT NULL GROUP BY m.sender_asn) t"
            " LEFT JOIN asns a ON a.asn = t.asn ORDER BY t.n DESC, t.asn LIMIT :limit",
            top, d->arena, &d->networks, "campaign networks", errbuf);
    if (s == BW_OK)
        s = detail_counts(store, id,
            "SELECT u.domain, 0, NULL, NULL, count(DISTINCT u.msg_id) AS n FROM messages m"
            " JOIN urls u ON u.msg_id = m.id WHERE m.campaign_id = :cid AND u.domain IS NOT NULL"
            " GROUP BY u.domain ORDER BY n DESC, u.domain LIMIT :limit",
            top, d->arena, &d->domains, "campaign domains", errbuf);
    if (s == BW_OK)
        s = detail_counts(store, id,
            "SELECT m.subject, 0, NULL, NULL, count(*) AS n FROM messages m"
            " WHERE m.campaign_id = :cid AND m.subject IS NOT NULL"
            " GROUP BY m.subject ORDER BY n DESC, m.subject LIMIT :limit",
            top, d->arena, &d->subjects, "campaign subjects", errbuf);
    if (s == BW_OK)
        s = detail_links(store, d, id, cap_limit(lim->links, 32, BW_STORE_MAX_DETAIL_TOP), errbuf);
    if (s == BW_OK)
        s = detail_samples(store, d, id, cap_limit(lim->samples, 16, BW_STORE_MAX_SAMPLES), errbuf);
    d->pub.per_day = d->days.items;
    d->pub.day_count = d->days.n;
    d->pub.senders = d->senders.items;
    d->pub.sender_count = d->senders.n;
    d->pub.networks = d->networks.items;
    d->pub.network_count = d->networks.n;
    d->pub.domains = d->domains.items;
    d->pub.domain_count = d->domains.n;
    d->pub.subjects = d->subjects.items;
    d->pub.subject_count = d->subjects.n;
    return s;
}

bw_status bw_store_get_campaign(bw_store *store, int64_t id, const bw_store_campaign_limits *limits,
                                bw_store_campaign_detail **out, char *errbuf)
{
    *out = NULL;
    bw_store_campaign_limits defaults = { 0 };
    detail_impl *d = calloc(1, sizeof *d);
    if (!d || !(d->arena = bw_arena_new(0))) {
        free(d);
        return bw_error(errbuf, BW_ERR_NOMEM, "campaign: out of memory");
    }
    bw_status s = detail_gather(store, d, id, limits ? limits : &defaults, errbuf);
    if (s != BW_OK) {
        bw_store_campaign_detail_free(&d->pub);
        return s;
    }
    *out = &d->pub;
    return BW_OK;
}

void bw_store_campaign_detail_free(bw_store_campaign_detail *detail)
{
    if (!detail)
        return;
    detail_impl *d = (detail_impl *)detail;
    free(d->days.items);
    free(d->senders.items);
    free(d->networks.items);
    free(d->domains.items);
    free(d->subjects.items);
    free(d->links);
    free(d->samples);
    bw_arena_free(d->arena);
    free(d);
}

// ---- botnets ----

bw_status bw_store_botnet_volumes(bw_store *store, const bw_store_range *range, bw_store_count_fn fn, void *ctx,
                                  char *errbuf)
{
    sqlite3_stmt *st = prepare_ranged(store,
        "SELECT c.botnet_id, count(*) AS n FROM messages m JOIN campaigns c ON c.id = m.campaign_id"
        " WHERE c.botnet_id > 0", range, " GROUP BY c.botnet_id ORDER BY n DESC, c.botnet_id", errbuf);
    if (!st)
        return BW_ERR_DB;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        bw_store_count item = { .number = sqlite3_column_int64(st, 0), .count = (uint64_t)sqlite3_column_int64(st, 1),
                                .key = BW_SLICE_LIT(""), .label = BW_SLICE_LIT(""), .extra = BW_SLICE_LIT("") };
        if (fn(ctx, &item) != 0)
            break;
    }
    bw_status s = rc == SQLITE_ROW || rc == SQLITE_DONE ? BW_OK : db_error(store, errbuf, "botnet volumes");
    sqlite3_finalize(st);
    return s;
}

// Messages in range per (botnet, campaign), sorted by botnet, then messages descending:
// one pass over the messages instead of one campaign scan per botnet.
typedef struct botnet_campaign {
    int64_t botnet, campaign;
    uint64_t messages;
} botnet_campaign;

static int botnet_campaign_order(const void *a, const void *b)
{
    const botnet_campaign *x = a, *y = b;
    if (x->botnet != y->botnet)
        return x->botnet < y->botnet ? -1 : 1;
    if (x->messages != y->messages)
        return x->messages > y->messages ? -1 : 1;
    return (x->campaign > y->campaign) - (x->campaign < y->campaign);
}

static bw_status load_botnet_campaigns(bw_store *store, const bw_store_range *range, botnet_campaign **out,
                                       size_t *count, char *errbuf)
{
    *out = NULL;
    *count = 0;
    sqlite3_stmt *st = prepare_ranged(store,
        "SELECT c.botnet_id, m.campaign_id, count(*) FROM messages m JOIN campaigns c ON c.id = m.campaign_id"
        " WHERE c.botnet_id > 0", range, " GROUP BY m.campaign_id", errbuf);
    if (!st)
        return BW_ERR_DB;
    botnet_campaign *items = NULL;
    size_t n = 0, cap = 0;
    bw_status s = BW_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t grown = cap ? cap * 2 : 256;
            botnet_campaign *p = realloc(items, grown * sizeof *p);
            if (!p) {
                s = bw_error(errbuf, BW_ERR_NOMEM, "botnet campaigns: out of memory");
                break;
            }
            items = p;
            cap = grown;
        }
        items[n++] = (botnet_campaign){ sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                                        (uint64_t)sqlite3_column_int64(st, 2) };
    }
    if (s == BW_OK && rc != SQLITE_DONE)
        s = db_error(store, errbuf, "botnet campaigns");
    sqlite3_finalize(st);
    if (s != BW_OK) {
        free(items);
        return s;
    }
    if (n > 1)
        qsort(items, n, sizeof *items, botnet_campaign_order);
    *out = items;
    *count = n;
    return BW_OK;
}

bw_status bw_store_list_botnets(bw_store *store, const bw_store_range *range, size_t limit, size_t top,
                                bw_store_botnet_fn fn, void *ctx, char *errbuf)
{
    if (top == 0)
        top = 10;
    if (top > BW_STORE_MAX_DETAIL_TOP)
        top = BW_STORE_MAX_DETAIL_TOP;
    botnet_campaign *bc = NULL;
    size_t bc_count = 0;
    bw_status s = load_botnet_campaigns(store, range, &bc, &bc_count, errbuf);
    if (s != BW_OK)
        return s;
    sqlite3_stmt *st = prepare_ranged(store,
        "SELECT b.id, b.label, count(*) AS n, count(DISTINCT m.campaign_id), min(m.seen_at), max(m.seen_at),"
        " b.messages, b.campaigns, b.sender_ips, b.subnets24, b.first_seen, b.last_seen"
        " FROM messages m JOIN campaigns c ON c.id = m.campaign_id JOIN botnets b ON b.id = c.botnet_id WHERE 1",
        range, " GROUP BY b.id ORDER BY n DESC, b.id LIMIT :limit", errbuf);
    sqlite3_stmt *asns = st ? prepare_ranged(store,
        "SELECT NULL, json_extract(j.value, '$.asn'), json_extract(j.value, '$.name'), NULL,"
        " json_extract(j.value, '$.ips') FROM botnets b, json_each(" JSON_OR_EMPTY("b.asns_json") ") j"
        " WHERE b.id = :bid AND json_type(j.value) = 'object' LIMIT :limit", NULL, "", errbuf) : NULL;
    sqlite3_stmt *countries = asns ? prepare_ranged(store,
        "SELECT json_extract(j.value, '$.country'), 0, NULL, NULL, json_extract(j.value, '$.ips')"
        " FROM botnets b, json_each(" JSON_OR_EMPTY("b.countries_json") ") j"
        " WHERE b.id = :bid AND json_type(j.value) = 'object' LIMIT :limit", NULL, "", errbuf) : NULL;
    s = countries ? BW_OK : BW_ERR_DB;
    if (st)
        bind_named(st, ":limit", limit ? (int64_t)limit : -1);
    bw_arena *arena = bw_arena_new(0);
    if (s == BW_OK && !arena)
        s = bw_error(errbuf, BW_ERR_NOMEM, "botnets: out of memory");
    count_list lists[3] = { { 0 } };
    int rc = SQLITE_DONE;
    while (s == BW_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        bw_store_botnet b = {
            .id = sqlite3_column_int64(st, 0),
            .label = bw_store_col_slice(st, 1),
            .messages = (uint64_t)sqlite3_column_int64(st, 2),
            .campaigns = (uint64_t)sqlite3_column_int64(st, 3),
            .first_seen = bw_store_col_time(st, 4),
            .last_seen = bw_store_col_time(st, 5),
            .stored_messages = (uint64_t)sqlite3_column_int64(st, 6),
            .stored_campaigns = (uint64_t)sqlite3_column_int64(st, 7),
            .sender_ips = (uint64_t)sqlite3_column_int64(st, 8),
            .subnets24 = (uint64_t)sqlite3_column_int64(st, 9),
            .stored_first_seen = bw_store_col_time(st, 10),
            .stored_last_seen = bw_store_col_time(st, 11),
        };
        bw_arena_reset(arena);
        sqlite3_stmt *subs[2] = { asns, countries };
        static const char *const what[2] = { "botnet networks", "botnet countries" };
        for (size_t k = 0; k < 2 && s == BW_OK; k++) {
            lists[k].n = 0;
            sqlite3_reset(subs[k]);
            bind_named(subs[k], ":bid", b.id);
            bind_named(subs[k], ":limit", (int64_t)top);
            s = collect_counts(store, subs[k], arena, &lists[k], top, what[k], errbuf);
        }
        if (s != BW_OK)
            break;
        // Its campaigns: the run of bc with this botnet id (binary search for its start).
        lists[2].n = 0;
        size_t lo = 0, hi = bc_count;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (bc[mid].botnet < b.id)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (size_t i = lo; i < bc_count && bc[i].botnet == b.id && lists[2].n < top; i++) {
            bw_store_count item = { .number = bc[i].campaign, .count = bc[i].messages, .key = BW_SLICE_LIT(""),
                                    .label = BW_SLICE_LIT(""), .extra = BW_SLICE_LIT("") };
            if (!count_push(&lists[2], &item)) {
                s = bw_error(errbuf, BW_ERR_NOMEM, "botnets: out of memory");
                break;
            }
        }
        if (s != BW_OK)
            break;
        b.asns = lists[0].items;
        b.asn_count = lists[0].n;
        b.countries = lists[1].items;
        b.country_count = lists[1].n;
        b.top_campaigns = lists[2].items;
        b.top_campaign_count = lists[2].n;
        if (fn(ctx, &b) != 0)
            break;
    }
    if (s == BW_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
        s = db_error(store, errbuf, "botnets");
    for (size_t k = 0; k < 3; k++)
        free(lists[k].items);
    free(bc);
    bw_arena_free(arena);
    sqlite3_finalize(countries);
    sqlite3_finalize(asns);
    sqlite3_finalize(st);
    return s;
}

// ---- one message ----

#define ATTRIBUTION_SELECT                                                                         \
    "SELECT m.id, lower(hex(m.sha256)), s.path, m.source_offset, m.size, m.seen_at, m.subject,"    \
    " m.sender_ip, m.sender_asn, a.name, m.part_count IS NOT NULL, coalesce(m.campaign_id, 0),"     \
    " m.similarity, m.rule_labels, c.template, coalesce(c.botnet_id, 0), b.label,"                 \
    " (SELECT min(x.id) FROM messages x WHERE x.campaign_id = m.campaign_id),"                     \
    " (SELECT count(*) FROM messages x WHERE x.campaign_id = m.campaign_id)"                       \
    " FROM messages m LEFT JOIN sources s ON s.id = m.source_id LEFT JOIN asns a ON a.asn = m.sender_asn" \
    " LEFT JOIN campaigns c ON c.id = m.campaign_id LEFT JOIN botnets b ON b.id = c.botnet_id"

static void attribution_from_row(sqlite3_stmt *st, bw_store_message_attribution *m)
{
    memset(m, 0, sizeof *m);
    m->id = sqlite3_column_int64(st, 0);
    m->sha256 = bw_store_col_slice(st, 1);
    m->source_path = bw_store_col_slice(st, 2);
    m->source_offset = (uint64_t)sqlite3_column_int64(st, 3);
    m->size = (uint64_t)sqlite3_column_int64(st, 4);
    m->seen_at = bw_store_col_time(st, 5);
    m->subject = bw_store_col_slice(st, 6);
    m->sender_ip = bw_store_col_slice(st, 7);
    m->sender_asn = (uint32_t)sqlite3_column_int64(st, 8);
    m->sender_as_name = bw_store_col_slice(st, 9);
    m->parsed = sqlite3_column_int(st, 10) != 0;
    m->campaign_id = sqlite3_column_int64(st, 11);
    m->similarity = col_similarity(st, 12);
    m->rule_labels = bw_store_col_slice(st, 13);
    m->campaign_template = bw_store_col_slice(st, 14);
    m->botnet_id = sqlite3_column_int64(st, 15);
    m->botnet_label = bw_store_col_slice(st, 16);
    m->started_campaign = m->campaign_id != 0 && sqlite3_column_int64(st, 17) == m->id;
    m->campaign_messages = m->campaign_id ? (uint64_t)sqlite3_column_int64(st, 18) : 0;
}

bw_status bw_store_find_message_id(bw_store *store, int64_t id, bw_store_attribution_fn fn, void *ctx,
                                   char *errbuf)
{
    sqlite3_stmt *st = prepare_ranged(store, ATTRIBUTION_SELECT " WHERE m.id = :id", NULL, "", errbuf);
    if (!st)
        return BW_ERR_DB;
    bind_named(st, ":id", id);
    bw_status s = BW_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        bw_store_message_attribution m;
        attribution_from_row(st, &m);
        fn(ctx, &m);
    } else if (rc == SQLITE_DONE) {
        s = bw_error(errbuf, BW_ERR_NOTFOUND, "no message with id %" PRId64, id);
    } else {
        s = db_error(store, errbuf, "message");
    }
    sqlite3_finalize(st);
    return s;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bw_status bw_store_find_message_sha256(bw_store *store, const char *hex_prefix,
                                       bw_store_attribution_fn fn, void *ctx, char *errbuf)
{
    size_t n = strlen(hex_prefix);
    if (n < 8 || n > 64)
        return bw_error(errbuf, BW_ERR_INVALID, "a SHA-256 prefix needs 8 to 64 hex digits, not %zu", n);
    // [low, high): the prefix padded with zero nibbles, and the prefix plus one in its last
    // nibble (no upper bound when the prefix is all f).
    uint8_t low[32] = { 0 }, high[32];
    for (size_t i = 0; i < n; i++) {
        int v = hex_value(hex_prefix[i]);
        if (v < 0)
            return bw_error(errbuf, BW_ERR_INVALID, "'%.64s' is not a hex SHA-256 prefix", hex_prefix);
        low[i / 2] |= (uint8_t)(i % 2 ? v : v << 4);
    }
    memcpy(high, low, sizeof high);
    bool bounded = false;
    for (size_t i = n; i-- > 0;) {
        unsigned shift = i % 2 ? 0 : 4;
        unsigned nibble = (high[i / 2] >> shift) & 0xF;
        high[i / 2] &= (uint8_t)~(0xF << shift);
        if (nibble < 15) {
            high[i / 2] |= (uint8_t)((nibble + 1) << shift);
            bounded = true;
            break;
        }
    }
    sqlite3_stmt *st = prepare_ranged(store,
        bounded ? ATTRIBUTION_SELECT " WHERE m.sha256 >= :low AND m.sha256 < :high ORDER BY m.sha256 LIMIT 2"
                : ATTRIBUTION_SELECT " WHERE m.sha256 >= :low ORDER BY m.sha256 LIMIT 2",
        NULL, "", errbuf);
    if (!st)
        return BW_ERR_DB;
    sqlite3_bind_blob(st, sqlite3_bind_parameter_index(st, ":low"), low, sizeof low, SQLITE_STATIC);
    if (bounded)
        sqlite3_bind_blob(st, sqlite3_bind_parameter_index(st, ":high"), high, sizeof high, SQLITE_STATIC);
    bw_status s = BW_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        bw_store_message_attribution m;
        attribution_from_row(st, &m);
        // Copy what the callback needs before stepping again to check for a second match.
        int64_t first_id = m.id;
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            s = bw_error(errbuf, BW_ERR_INVALID, "SHA-256 prefix %s matches more than one message; give more digits",
                         hex_prefix);
        } else if (rc == SQLITE_DONE) {
            sqlite3_finalize(st);
            return bw_store_find_message_id(store, first_id, fn, ctx, errbuf);
        } else {
            s = db_error(store, errbuf, "message");
        }
    } else if (rc == SQLITE_DONE) {
        s = bw_error(errbuf, BW_ERR_NOTFOUND, "no message whose SHA-256 starts with %s", hex_prefix);
    } else {
        s = db_error(store, errbuf, "message");
    }
    sqlite3_finalize(st);
    return s;
}

// ---- export lookups ----

struct bw_store_attrib_reader {
    bw_store *store;
    sqlite3_stmt *st;
};

bw_store_attrib_reader *bw_store_attrib_reader_new(bw_store *store, char *errbuf)
{
    sqlite3_stmt *st = prepare_ranged(store,
        "SELECT m.campaign_id, m.rule_labels, c.botnet_id FROM messages m"
        " LEFT JOIN campaigns c ON c.id = m.campaign_id WHERE m.id = :id", NULL, "", errbuf);
    if (!st)
        return NULL;
    bw_store_attrib_reader *r = calloc(1, sizeof *r);
    if (!r) {
        sqlite3_finalize(st);
        bw_error(errbuf, BW_ERR_NOMEM, "out of memory");
        return NULL;
    }
    r->store = store;
    r->st = st;
    return r;
}

int bw_store_attrib_get(bw_store_attrib_reader *r, int64_t msg_id, int64_t *campaign_id, bw_slice *rule_labels,
                        int64_t *botnet_id, char *errbuf)
{
    *campaign_id = *botnet_id = 0;
    *rule_labels = BW_SLICE_LIT("");
    sqlite3_reset(r->st);
    sqlite3_bind_int64(r->st, 1, msg_id);
    int rc = sqlite3_step(r->st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW) {
        db_error(r->store, errbuf, "message attribution");
        return -1;
    }
    *campaign_id = sqlite3_column_int64(r->st, 0);
    *rule_labels = bw_store_col_slice(r->st, 1);
    *botnet_id = sqlite3_column_int64(r->st, 2);
    return 1;
}

void bw_store_attrib_reader_free(bw_store_attrib_reader *r)
{
    if (!r)
        return;
    sqlite3_finalize(r->st);
    free(r);
}
