// SPDX-License-Identifier: MIT
// Gathers a report from the store: totals, messages per day (and per month), top sender
// networks, countries, sender IPs, URL domains and subjects, anomaly counts, sources and
// ingest errors, campaigns and botnets. Everything is copied into the report's arena so the writers (text, JSON,
// CSV, HTML) work from one consistent snapshot and the store can be closed. Top countries
// are the one figure store.h has no query for: they are counted here with SQL against the
// documented schema (messages.sender_asn -> asns.country, docs/store.md).
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report_internal.h"

void bw_report_options_default(bw_report_options *options)
{
    *options = (bw_report_options){
        .range = BW_STORE_RANGE_ALL,
        .top = 10,
        .max_errors = 10,
        .max_sources = 20,
        .tty = false,
        .anomaly_name = NULL,
        .asn_db = NULL,
        .generated_at = BW_STORE_NO_TIME,
        .title = NULL,
    };
}

bool bw_report_format_parse(const char *name, bw_report_format *out)
{
    static const struct { const char *name; bw_report_format format; } formats[] = {
        { "text", BW_REPORT_TEXT }, { "json", BW_REPORT_JSON },
        { "csv", BW_REPORT_CSV }, { "html", BW_REPORT_HTML },
    };
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        if (strcmp(name, formats[i].name) == 0) {
            *out = formats[i].format;
            return true;
        }
    }
    return false;
}

const bw_store_totals *bw_report_totals(const bw_report *report) { return &report->totals; }

static bool dup_slice(bw_report *r, bw_slice s, bw_slice *out)
{
    if (s.n == 0) {
        *out = BW_SLICE_LIT("");
        return true;
    }
    char *p = bw_arena_memdup(r->arena, s.p, s.n);
    if (!p)
        return false;
    *out = bw_slice_make(p, s.n);
    return true;
}

static bool list_push(rep_list *list, const rep_item *item)
{
    if (list->n == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 16;
        rep_item *items = realloc(list->items, cap * sizeof *items);
        if (!items)
            return false;
        list->items = items;
        list->cap = cap;
    }
    list->items[list->n++] = *item;
    return true;
}

typedef struct collect_ctx {
    bw_report *report;
    rep_list *list;
    bool failed;
} collect_ctx;

static int collect(void *ctx, const bw_store_count *item)
{
    collect_ctx *c = ctx;
    rep_item copy = { .number = item->number, .count = item->count };
    if (!dup_slice(c->report, item->key, &copy.key) || !dup_slice(c->report, item->label, &copy.label)
        || !dup_slice(c->report, item->extra, &copy.extra) || !list_push(c->list, &copy)) {
        c->failed = true;
        return 1;
    }
    return 0;
}

static bw_status collect_status(bw_status status, const collect_ctx *c, char *errbuf)
{
    if (status == BW_OK && c->failed)
        return bw_error(errbuf, BW_ERR_NOMEM, "report: out of memory");
    return status;
}

static int collect_anomaly(void *ctx, const bw_store_count *item)
{
    collect_ctx *c = ctx;
    char tmp[32];
    const char *name = rep_anomaly_name(c->report->options.anomaly_name, (unsigned)item->number, tmp);
    rep_item copy = { .number = item->number, .count = item->count, .label = BW_SLICE_LIT(""),
                      .extra = BW_SLICE_LIT("") };
    if (!dup_slice(c->report, bw_slice_cstr(name), &copy.key) || !list_push(c->list, &copy)) {
        c->failed = true;
        return 1;
    }
    return 0;
}

static int collect_source(void *ctx, const bw_store_source_row *row)
{
    collect_ctx *c = ctx;
    bw_report *r = c->report;
    if (r->source_count >= r->options.max_sources)
        return 1;
    rep_source *s = &r->sources[r->source_count];
    if (!dup_slice(r, row->path, &s->path) || !dup_slice(r, row->format, &s->format)) {
        c->failed = true;
        return 1;
    }
    s->last_ingest = row->last_ingest;
    s->counts = row->counts;
    r->source_count++;
    return 0;
}

static int collect_error(void *ctx, const bw_store_error_row *row)
{
    collect_ctx *c = ctx;
    bw_report *r = c->report;
    rep_error *e = &r->errors[r->error_count];
    if (!dup_slice(r, row->source_path, &e->source) || !dup_slice(r, row->reason, &e->reason)) {
        c->failed = true;
        return 1;
    }
    e->offset = row->offset;
    e->at = row->at;
    r->error_count++;
    return 0;
}

// Months from days: the store already skips empty days, so months with no mail are
// skipped too.
static bool derive_months(bw_report *r)
{
    for (size_t i = 0; i < r->days.n; i++) {
        char month[32];
        rep_format_month(r->days.items[i].number, month);
        rep_list *m = &r->months;
        if (m->n > 0 && bw_slice_eq(m->items[m->n - 1].key, bw_slice_cstr(month))) {
            m->items[m->n - 1].count += r->days.items[i].count;
            continue;
        }
        rep_item item = { .number = r->days.items[i].number, .count = r->days.items[i].count,
                          .label = BW_SLICE_LIT(""), .extra = BW_SLICE_LIT("") };
        time_t t = (time_t)item.number;
        struct tm tm;
        if (gmtime_r(&t, &tm)) {
            tm.tm_mday = 1;
            tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
            item.number = (int64_t)timegm(&tm);
        }
        if (!dup_slice(r, bw_slice_cstr(month), &item.key) || !list_push(m, &item))
            return false;
    }
    return true;
}

// The central 99% of dated messages (0.5% trimmed at each end, whole days), so a handful
// of forged far-away dates leave the chart readable; what falls outside is counted.
static void choose_chart_window(bw_report *r)
{
    r->chart_first_day = r->chart_last_day = BW_STORE_NO_TIME;
    r->outside_chart = 0;
    uint64_t total = 0;
    for (size_t i = 0; i < r->days.n; i++)
        total += r->days.items[i].count;
    if (total == 0)
        return;
    uint64_t trim = total / 200;
    size_t lo = 0, hi = r->days.n - 1;
    uint64_t cut = 0;
    while (lo < hi && cut + r->days.items[lo].count <= trim)
        cut += r->days.items[lo++].count;
    uint64_t cut_hi = 0;
    while (hi > lo && cut_hi + r->days.items[hi].count <= trim)
        cut_hi += r->days.items[hi--].count;
    r->chart_first_day = r->days.items[lo].number;
    r->chart_last_day = r->days.items[hi].number;
    r->outside_chart = cut + cut_hi;
}

typedef struct asn_tally {
    uint32_t asn;
    bw_slice org, country;
    uint64_t count;
} asn_tally;

typedef struct lookup_ctx {
    bw_report *report;
    asn_tally *tallies;
    size_t n, cap;
    uint64_t with_asn;
    bool failed;
} lookup_ctx;

static int lookup_ip(void *ctx, const bw_store_count *item)
{
    lookup_ctx *c = ctx;
    bw_ip ip;
    bw_asn_info info;
    if (!bw_ip_parse(item->key, &ip) || !bw_asn_lookup(c->report->options.asn_db, &ip, &info) || info.asn == 0)
        return 0;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        asn_tally *t = realloc(c->tallies, cap * sizeof *t);
        if (!t) {
            c->failed = true;
            return 1;
        }
        c->tallies = t;
        c->cap = cap;
    }
    c->tallies[c->n++] = (asn_tally){ info.asn, info.org, info.country, item->count };
    c->with_asn += item->count;
    return 0;
}

static int tally_by_asn(const void *a, const void *b)
{
    const asn_tally *x = a, *y = b;
    return x->asn < y->asn ? -1 : x->asn > y->asn;
}

static int tally_by_count(const void *a, const void *b)
{
    const asn_tally *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return x->asn < y->asn ? -1 : x->asn > y->asn;
}

static int item_by_count(const void *a, const void *b)
{
    const rep_item *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    size_t n = x->key.n < y->key.n ? x->key.n : y->key.n;
    int c = memcmp(x->key.p, y->key.p, n);
    return c ? c : (x->key.n > y->key.n) - (x->key.n < y->key.n);
}

// The store has sender IPs but no ASNs (ingested without ASN data): every distinct sender
// IP is looked up now, and networks and countries are counted from those answers.
static bw_status networks_by_lookup(bw_report *r, bw_store *store, char *errbuf)
{
    lookup_ctx c = { .report = r };
    bw_status status = bw_store_top_sender_ips(store, &r->options.range, 0, lookup_ip, &c, errbuf);
    if (status == BW_OK && c.failed)
        status = bw_error(errbuf, BW_ERR_NOMEM, "report: out of memory");
    if (status == BW_OK && c.n > 0) {
        qsort(c.tallies, c.n, sizeof *c.tallies, tally_by_asn);
        size_t merged = 0;
        for (size_t i = 0; i < c.n; i++) {
            if (merged > 0 && c.tallies[merged - 1].asn == c.tallies[i].asn)
                c.tallies[merged - 1].count += c.tallies[i].count;
            else
                c.tallies[merged++] = c.tallies[i];
        }
        qsort(c.tallies, merged, sizeof *c.tallies, tally_by_count);
        rep_list countries = { 0 };
        for (size_t i = 0; i < merged && status == BW_OK; i++) {
            rep_item item = { .number = c.tallies[i].asn, .count = c.tallies[i].count, .key = BW_SLICE_LIT("") };
            if (!dup_slice(r, c.tallies[i].org, &item.label) || !dup_slice(r, c.tallies[i].country, &item.extra)
                || (i < r->options.top && !list_push(&r->asns, &item)))
                status = bw_error(errbuf, BW_ERR_NOMEM, "report: out of memory");
            if (status == BW_OK && item.extra.n > 0) {
                size_t k = 0;
                while (k < countries.n && !bw_slice_eq(countries.items[k].key, item.extra))
                    k++;
                rep_item country = { .key = item.extra, .count = 0, .label = BW_SLICE_LIT(""), .extra = BW_SLICE_LIT("") };
                if (k == countries.n && !list_push(&countries, &country))
                    status = bw_error(errbuf, BW_ERR_NOMEM, "report: out of memory");
                else
                    countries.items[k].count += item.count;
            }
        }
        if (status == BW_OK) {
            if (countries.n > 1)
                qsort(countries.items, countries.n, sizeof *countries.items, item_by_count);
            for (size_t i = 0; i < countries.n && i < r->options.top && status == BW_OK; i++)
                if (!list_push(&r->countries, &countries.items[i]))
                    status = bw_error(errbuf, BW_ERR_NOMEM, "report: out of memory");
        }
        free(countries.items);
        r->asn_from_lookup = true;
        r->totals.with_asn = c.with_asn;
    }
    free(c.tallies);
    return status;
}

// Top countries of the sender networks, from the asns table the ingest filled.
static bw_status countries_from_store(bw_report *r, bw_store *store, char *errbuf)
{
    const bw_store_range *range = &r->options.range;
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT a.country, count(*) AS c FROM messages m JOIN asns a ON a.asn = m.sender_asn"
             " WHERE a.country IS NOT NULL AND a.country <> ''%s%s"
             " GROUP BY a.country ORDER BY c DESC, a.country LIMIT ?",
             range->has_since ? " AND m.seen_at >= ?" : "", range->has_until ? " AND m.seen_at < ?" : "");
    sqlite3 *db = bw_store_sqlite(store);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return bw_error(errbuf, BW_ERR_DB, "top countries: %s", sqlite3_errmsg(db));
    int param = 1;
    if (range->has_since)
        sqlite3_bind_int64(st, param++, range->since);
    if (range->has_until)
        sqlite3_bind_int64(st, param++, range->until);
    sqlite3_bind_int64(st, param, (int64_t)r->options.top);
    bw_status status = BW_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        rep_item item = { .count = (uint64_t)sqlite3_column_int64(st, 1), .label = BW_SLICE_LIT(""),
                          .extra = BW_SLICE_LIT("") };
        bw_slice key = bw_slice_make(sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0));
        if (!dup_slice(r, key, &item.key) || !list_push(&r->countries, &item)) {
            status = bw_error(errbuf, BW_ERR_NOMEM, "report: out of memory");
            break;
        }
    }
    if (status == BW_OK && rc != SQLITE_DONE)
        status = bw_error(errbuf, BW_ERR_DB, "top countries: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return status;
}

static bw_status gather(bw_report *r, bw_store *store, char *errbuf)
{
    const bw_store_range *range = &r->options.range;
    size_t top = r->options.top;
    bw_status s = bw_store_get_totals(store, range, &r->totals, errbuf);
    if (s != BW_OK)
        return s;
    collect_ctx c = { .report = r, .list = &r->days };
    if ((s = collect_status(bw_store_count_per_day(store, range, collect, &c, errbuf), &c, errbuf)) != BW_OK)
        return s;
    if (!derive_months(r))
        return bw_error(errbuf, BW_ERR_NOMEM, "report: out of memory");
    choose_chart_window(r);
    if (r->totals.with_asn == 0 && r->totals.with_sender_ip > 0 && r->options.asn_db) {
        if ((s = networks_by_lookup(r, store, errbuf)) != BW_OK)
            return s;
    } else {
        c = (collect_ctx){ .report = r, .list = &r->asns };
        if ((s = collect_status(bw_store_top_asns(store, range, top, collect, &c, errbuf), &c, errbuf)) != BW_OK)
            return s;
        if ((s = countries_from_store(r, store, errbuf)) != BW_OK)
            return s;
    }
    c = (collect_ctx){ .report = r, .list = &r->sender_ips };
    if ((s = collect_status(bw_store_top_sender_ips(store, range, top, collect, &c, errbuf), &c, errbuf)) != BW_OK)
        return s;
    c = (collect_ctx){ .report = r, .list = &r->domains };
    if ((s = collect_status(bw_store_top_domains(store, range, top, collect, &c, errbuf), &c, errbuf)) != BW_OK)
        return s;
    c = (collect_ctx){ .report = r, .list = &r->subjects };
    if ((s = collect_status(bw_store_top_subjects(store, range, top, collect, &c, errbuf), &c, errbuf)) != BW_OK)
        return s;
    c = (collect_ctx){ .report = r, .list = &r->anomalies };
    if ((s = collect_status(bw_store_anomaly_counts(store, range, collect_anomaly, &c, errbuf), &c, errbuf)) != BW_OK)
        return s;
    // Anomalies most frequent first; the store gives them in bit order.
    if (r->anomalies.n > 1)
        qsort(r->anomalies.items, r->anomalies.n, sizeof *r->anomalies.items, item_by_count);
    // Campaigns and botnets: the top campaigns, the top botnets (each with its top 5
    // networks, countries and campaigns) and the 90% figure over all botnets.
    if ((s = rep_campaigns_gather(store, range, top, top, 5, r->arena, &r->campaigns, errbuf)) != BW_OK)
        return s;
    r->sources = calloc(r->options.max_sources ? r->options.max_sources : 1, sizeof *r->sources);
    r->errors = calloc(r->options.max_errors ? r->options.max_errors : 1, sizeof *r->errors);
    if (!r->sources || !r->errors)
        return bw_error(errbuf, BW_ERR_NOMEM, "report: out of memory");
    c = (collect_ctx){ .report = r };
    if ((s = collect_status(bw_store_list_sources(store, collect_source, &c, errbuf), &c, errbuf)) != BW_OK)
        return s;
    if (r->options.max_errors > 0) {
        c = (collect_ctx){ .report = r };
        s = bw_store_list_errors(store, r->options.max_errors, collect_error, &c, errbuf);
        if ((s = collect_status(s, &c, errbuf)) != BW_OK)
            return s;
    }
    return BW_OK;
}

bw_status bw_report_build(bw_store *store, const bw_report_options *options, bw_report **out, char *errbuf)
{
    *out = NULL;
    bw_report *r = calloc(1, sizeof *r);
    if (!r)
        return bw_error(errbuf, BW_ERR_NOMEM, "report: out of memory");
    if (options)
        r->options = *options;
    else
        bw_report_options_default(&r->options);
    r->arena = bw_arena_new(0);
    bw_status s = r->arena ? BW_OK : bw_error(errbuf, BW_ERR_NOMEM, "report: out of memory");
    if (s == BW_OK && !dup_slice(r, bw_slice_cstr(r->options.title ? r->options.title : "botwatch report"), &r->title))
        s = bw_error(errbuf, BW_ERR_NOMEM, "report: out of memory");
    r->options.title = NULL;   // the copy in the arena is used; the caller's may go away
    if (s == BW_OK)
        s = gather(r, store, errbuf);
    if (s != BW_OK) {
        bw_report_free(r);
        return s;
    }
    *out = r;
    return BW_OK;
}

void bw_report_free(bw_report *r)
{
    if (!r)
        return;
    rep_list *lists[] = { &r->days, &r->months, &r->asns, &r->countries, &r->sender_ips,
                          &r->domains, &r->subjects, &r->anomalies };
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
        free(lists[i]->items);
    rep_campaigns_free(&r->campaigns);
    free(r->sources);
    free(r->errors);
    bw_arena_free(r->arena);
    free(r);
}

bw_status bw_report_write(const bw_report *report, bw_report_format format, FILE *out, char *errbuf)
{
    bw_buf b = BW_BUF_INIT;
    bw_status s;
    switch (format) {
    case BW_REPORT_TEXT: s = rep_write_text(report, &b); break;
    case BW_REPORT_JSON: s = rep_write_json(report, &b); break;
    case BW_REPORT_CSV: s = rep_write_csv(report, &b); break;
    case BW_REPORT_HTML: s = rep_write_html(report, &b); break;
    default: s = BW_ERR_INVALID; break;
    }
    if (s == BW_ERR_NOMEM)
        bw_error(errbuf, s, "report: out of memory");
    else if (s != BW_OK)
        bw_error(errbuf, s, "report: unknown format");
    else
        s = rep_flush(&b, out, errbuf);
    if (s == BW_OK && fflush(out) != 0)
        s = bw_error(errbuf, BW_ERR_IO, "write failed");
    bw_buf_free(&b);
    return s;
}
