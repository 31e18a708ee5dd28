// SPDX-License-Identifier: MIT
// The machine-readable reports: JSON (one object) and CSV (one block per table, each with
// its own header row and a leading "section" column, blocks separated by an empty line;
// docs/report.md). Both carry exactly the figures of the text report, unrounded, plus the
// full list of days.
#include <inttypes.h>
#include <stddef.h>
#include <string.h>

#include "report_internal.h"

typedef struct data_out {
    bw_buf *b;
    int rc;
} data_out;

#define putf(o, ...) ((o)->rc |= bw_buf_printf((o)->b, __VA_ARGS__))
static void put(data_out *o, const char *s) { o->rc |= bw_buf_append_cstr(o->b, s); }
static void json_str(data_out *o, bw_slice s) { o->rc |= rep_append_json(o->b, s); }
static void csv_str(data_out *o, bw_slice s) { o->rc |= rep_append_csv(o->b, s); }

static void json_time(data_out *o, int64_t t, bool day_only)
{
    if (t == BW_STORE_NO_TIME) {
        put(o, "null");
        return;
    }
    char text[32];
    if (day_only)
        rep_format_day(t, text);
    else
        rep_format_iso(t, text);
    json_str(o, bw_slice_cstr(text));
}

// share as a JSON number with four decimals (a fraction of the messages in range)
static void json_share(data_out *o, uint64_t part, uint64_t whole)
{
    uint64_t ten_thousandths = whole ? (part * 20000 / whole + 1) / 2 : 0;
    putf(o, "%" PRIu64 ".%04" PRIu64, ten_thousandths / 10000, ten_thousandths % 10000);
}

static void json_items(data_out *o, const char *name, const rep_list *list, const char *key_name,
                       bool asn, uint64_t whole)
{
    putf(o, ",\n  \"%s\": [", name);
    for (size_t i = 0; i < list->n; i++) {
        const rep_item *it = &list->items[i];
        put(o, i ? ",\n    {" : "\n    {");
        if (asn) {
            putf(o, "\"asn\": %" PRId64 ", \"name\": ", it->number);
            json_str(o, it->label);
            put(o, ", \"country\": ");
            json_str(o, it->extra);
        } else {
            putf(o, "\"%s\": ", key_name);
            json_str(o, it->key);
            if (strcmp(key_name, "ip") == 0) {
                putf(o, ", \"asn\": %" PRId64 ", \"as_name\": ", it->number);
                json_str(o, it->label);
            }
        }
        putf(o, ", \"messages\": %" PRIu64 ", \"share\": ", it->count);
        json_share(o, it->count, whole);
        put(o, "}");
    }
    put(o, list->n ? "\n  ]" : "]");
}

bw_status rep_write_json(const bw_report *r, bw_buf *b)
{
    data_out o = { .b = b };
    const bw_store_totals *t = &r->totals;
    put(&o, "{\n  \"botwatch_report\": 1,\n  \"title\": ");
    json_str(&o, r->title);
    put(&o, ",\n  \"generated_at\": ");
    json_time(&o, r->options.generated_at, false);
    put(&o, ",\n  \"range\": {\"since\": ");
    json_time(&o, r->options.range.has_since ? r->options.range.since : BW_STORE_NO_TIME, false);
    put(&o, ", \"until\": ");
    json_time(&o, r->options.range.has_until ? r->options.range.until : BW_STORE_NO_TIME, false);
    put(&o, "},\n  \"totals\": {");
    putf(&o, "\"messages\": %" PRIu64 ", \"unparsed\": %" PRIu64 ", \"with_sender_ip\": %" PRIu64
             ", \"with_asn\": %" PRIu64 ", \"with_urls\": %" PRIu64 ", \"urls\": %" PRIu64
             ", \"bytes\": %" PRIu64 ",\n    \"first_seen\": ",
         t->messages, t->unparsed, t->with_sender_ip, t->with_asn, t->with_urls, t->urls, t->bytes);
    json_time(&o, t->first_seen, false);
    put(&o, ", \"last_seen\": ");
    json_time(&o, t->last_seen, false);
    putf(&o, ", \"sources\": %" PRIu64 ", \"duplicates\": %" PRIu64 ", \"errors\": %" PRIu64
             ", \"networks_looked_up\": %s}",
         t->sources, t->duplicates, t->errors, r->asn_from_lookup ? "true" : "false");

    put(&o, ",\n  \"per_day\": [");
    for (size_t i = 0; i < r->days.n; i++) {
        put(&o, i % 4 ? ", " : (i ? ",\n    " : "\n    "));
        put(&o, "{\"day\": ");
        json_time(&o, r->days.items[i].number, true);
        putf(&o, ", \"messages\": %" PRIu64 "}", r->days.items[i].count);
    }
    put(&o, r->days.n ? "\n  ]" : "]");
    put(&o, ",\n  \"chart\": {\"first_day\": ");
    json_time(&o, r->chart_first_day, true);
    put(&o, ", \"last_day\": ");
    json_time(&o, r->chart_last_day, true);
    putf(&o, ", \"messages_outside\": %" PRIu64 "}", r->outside_chart);
    put(&o, ",\n  \"per_month\": [");
    for (size_t i = 0; i < r->months.n; i++) {
        put(&o, i ? ",\n    {\"month\": " : "\n    {\"month\": ");
        json_str(&o, r->months.items[i].key);
        putf(&o, ", \"messages\": %" PRIu64 "}", r->months.items[i].count);
    }
    put(&o, r->months.n ? "\n  ]" : "]");
    json_items(&o, "top_asns", &r->asns, NULL, true, t->messages);
    json_items(&o, "top_countries", &r->countries, "country", false, t->messages);
    json_items(&o, "top_sender_ips", &r->sender_ips, "ip", false, t->messages);
    json_items(&o, "top_domains", &r->domains, "domain", false, t->messages);
    json_items(&o, "top_subjects", &r->subjects, "subject", false, t->messages);
    json_items(&o, "anomalies", &r->anomalies, "name", false, t->messages);
    put(&o, ",\n  \"campaigns_and_botnets\": {\n");
    o.rc |= rep_json_campaigns(b, &r->campaigns, "    ", true, true);
    put(&o, "\n  }");

    put(&o, ",\n  \"sources\": [");
    for (size_t i = 0; i < r->source_count; i++) {
        const rep_source *s = &r->sources[i];
        put(&o, i ? ",\n    {\"path\": " : "\n    {\"path\": ");
        json_str(&o, s->path);
        put(&o, ", \"format\": ");
        json_str(&o, s->format);
        putf(&o, ", \"messages\": %" PRIu64 ", \"duplicates\": %" PRIu64 ", \"errors\": %" PRIu64
                 ", \"bytes\": %" PRIu64 "}",
             s->counts.messages, s->counts.duplicates, s->counts.errors, s->counts.bytes);
    }
    put(&o, r->source_count ? "\n  ]" : "]");
    putf(&o, ",\n  \"ingest_errors\": {\"count\": %" PRIu64 ", \"first\": [", t->errors);
    for (size_t i = 0; i < r->error_count; i++) {
        const rep_error *e = &r->errors[i];
        put(&o, i ? ",\n    {\"source\": " : "\n    {\"source\": ");
        json_str(&o, e->source);
        putf(&o, ", \"offset\": %" PRIu64 ", \"reason\": ", e->offset);
        json_str(&o, e->reason);
        put(&o, ", \"at\": ");
        json_time(&o, e->at, false);
        put(&o, "}");
    }
    put(&o, r->error_count ? "\n  ]}\n}\n" : "]}\n}\n");
    return o.rc ? BW_ERR_NOMEM : BW_OK;
}

static void csv_time(data_out *o, int64_t t, bool day_only)
{
    if (t == BW_STORE_NO_TIME)
        return;
    char text[32];
    if (day_only)
        rep_format_day(t, text);
    else
        rep_format_iso(t, text);
    put(o, text);
}

static void csv_share(data_out *o, uint64_t part, uint64_t whole)
{
    put(o, ",");
    json_share(o, part, whole);   // same digits as JSON: a plain decimal fraction
    put(o, "\r\n");
}

// RFC 4180 lines end in CRLF.
#define EOL "\r\n"

bw_status rep_write_csv(const bw_report *r, bw_buf *b)
{
    data_out o = { .b = b };
    const bw_store_totals *t = &r->totals;
    put(&o, "section,key,value" EOL);
    put(&o, "totals,title,");
    csv_str(&o, r->title);
    put(&o, EOL "totals,generated_at,");
    csv_time(&o, r->options.generated_at, false);
    put(&o, EOL "totals,since,");
    csv_time(&o, r->options.range.has_since ? r->options.range.since : BW_STORE_NO_TIME, false);
    put(&o, EOL "totals,until,");
    csv_time(&o, r->options.range.has_until ? r->options.range.until : BW_STORE_NO_TIME, false);
    putf(&o, EOL "totals,messages,%" PRIu64 EOL "totals,unparsed,%" PRIu64 EOL
                 "totals,with_sender_ip,%" PRIu64 EOL "totals,with_asn,%" PRIu64 EOL
                 "totals,with_urls,%" PRIu64 EOL "totals,urls,%" PRIu64 EOL "totals,bytes,%" PRIu64 EOL
                 "totals,first_seen,",
         t->messages, t->unparsed, t->with_sender_ip, t->with_asn, t->with_urls, t->urls, t->bytes);
    csv_time(&o, t->first_seen, false);
    put(&o, EOL "totals,last_seen,");
    csv_time(&o, t->last_seen, false);
    putf(&o, EOL "totals,sources,%" PRIu64 EOL "totals,duplicates,%" PRIu64 EOL "totals,errors,%" PRIu64 EOL
                 "totals,networks_looked_up,%s" EOL,
         t->sources, t->duplicates, t->errors, r->asn_from_lookup ? "true" : "false");

    put(&o, EOL "section,day,messages" EOL);
    for (size_t i = 0; i < r->days.n; i++) {
        put(&o, "per_day,");
        csv_time(&o, r->days.items[i].number, true);
        putf(&o, ",%" PRIu64 EOL, r->days.items[i].count);
    }
    put(&o, EOL "section,month,messages" EOL);
    for (size_t i = 0; i < r->months.n; i++) {
        put(&o, "per_month,");
        csv_str(&o, r->months.items[i].key);
        putf(&o, ",%" PRIu64 EOL, r->months.items[i].count);
    }
    put(&o, EOL "section,rank,asn,name,country,messages,share" EOL);
    for (size_t i = 0; i < r->asns.n; i++) {
        const rep_item *it = &r->asns.items[i];
        putf(&o, "top_asns,%zu,%" PRId64 ",", i + 1, it->number);
        csv_str(&o, it->label);
        put(&o, ",");
        csv_str(&o, it->extra);
        putf(&o, ",%" PRIu64, it->count);
        csv_share(&o, it->count, t->messages);
    }
    static const struct { const char *section, *header; size_t offset; } simple[] = {
        { "top_countries", "country", offsetof(bw_report, countries) },
        { "top_domains", "domain", offsetof(bw_report, domains) },
        { "top_subjects", "subject", offsetof(bw_report, subjects) },
        { "anomalies", "name", offsetof(bw_report, anomalies) },
    };
    for (size_t k = 0; k < sizeof simple / sizeof simple[0]; k++) {
        const rep_list *list = (const rep_list *)((const char *)r + simple[k].offset);
        putf(&o, EOL "section,rank,%s,messages,share" EOL, simple[k].header);
        for (size_t i = 0; i < list->n; i++) {
            putf(&o, "%s,%zu,", simple[k].section, i + 1);
            csv_str(&o, list->items[i].key);
            putf(&o, ",%" PRIu64, list->items[i].count);
            csv_share(&o, list->items[i].count, t->messages);
        }
    }
    put(&o, EOL "section,rank,ip,asn,as_name,messages,share" EOL);
    for (size_t i = 0; i < r->sender_ips.n; i++) {
        const rep_item *it = &r->sender_ips.items[i];
        putf(&o, "top_sender_ips,%zu,", i + 1);
        csv_str(&o, it->key);
        putf(&o, ",%" PRId64 ",", it->number);
        csv_str(&o, it->label);
        putf(&o, ",%" PRIu64, it->count);
        csv_share(&o, it->count, t->messages);
    }
    put(&o, EOL "section,path,format,messages,duplicates,errors,bytes" EOL);
    for (size_t i = 0; i < r->source_count; i++) {
        const rep_source *s = &r->sources[i];
        put(&o, "sources,");
        csv_str(&o, s->path);
        put(&o, ",");
        csv_str(&o, s->format);
        putf(&o, ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 EOL, s->counts.messages, s->counts.duplicates,
             s->counts.errors, s->counts.bytes);
    }
    put(&o, EOL "section,source,offset,reason,at" EOL);
    for (size_t i = 0; i < r->error_count; i++) {
        const rep_error *e = &r->errors[i];
        put(&o, "ingest_errors,");
        csv_str(&o, e->source);
        putf(&o, ",%" PRIu64 ",", e->offset);
        csv_str(&o, e->reason);
        put(&o, ",");
        csv_time(&o, e->at, false);
        put(&o, EOL);
    }
    put(&o, EOL);
    o.rc |= rep_csv_campaigns(b, &r->campaigns, true, true);
    return o.rc ? BW_ERR_NOMEM : BW_OK;
}
