// SPDX-License-Identifier: MIT
// `botwatch campaigns`, `botwatch botnets`, `botwatch campaign ID` and `botwatch explain`
// as text, JSON and CSV (report_campaigns.h). The ranking and botnet tables are the
// report's own writers (campaigns.c); the detail view and explain are written here. Every
// string from mail, ASN data or the store goes through the report's escaping.
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "botwatch/report_campaigns.h"
#include "report_internal.h"

#define EOL "\r\n"

enum {
    TIMELINE_TEXT_DAYS = 120,   // text lists this many days; JSON and CSV list them all
    BAR_WIDTH = 30,
};

static bw_status finish(bw_buf *b, int rc, FILE *out, char *errbuf)
{
    bw_status s = rc ? bw_error(errbuf, BW_ERR_NOMEM, "out of memory") : rep_flush(b, out, errbuf);
    if (s == BW_OK && fflush(out) != 0)
        s = bw_error(errbuf, BW_ERR_IO, "write failed");
    bw_buf_free(b);
    return s;
}

static int text_header(bw_buf *b, const char *title, const bw_report_options *o, bool with_range)
{
    int rc = bw_buf_printf(b, "%s\n", title);
    if (o->generated_at != BW_STORE_NO_TIME) {
        char d[32];
        rep_format_iso(o->generated_at, d);
        rc |= bw_buf_printf(b, "Generated    %s\n", d);
    }
    if (with_range)
        rc |= rep_text_range(b, &o->range);
    return rc;
}

static int json_header(bw_buf *b, const char *kind, const bw_report_options *o, bool with_range)
{
    int rc = bw_buf_printf(b, "{\n  \"%s\": 1,\n  \"generated_at\": ", kind);
    rc |= rep_json_time(b, o->generated_at);
    if (with_range) {
        rc |= bw_buf_append_cstr(b, ",\n  \"range\": {\"since\": ");
        rc |= rep_json_time(b, o->range.has_since ? o->range.since : BW_STORE_NO_TIME);
        rc |= bw_buf_append_cstr(b, ", \"until\": ");
        rc |= rep_json_time(b, o->range.has_until ? o->range.until : BW_STORE_NO_TIME);
        rc |= bw_buf_append_char(b, '}');
    }
    return rc | bw_buf_append_cstr(b, ",\n");
}

static bw_status list_view(bw_store *store, const bw_report_options *o, bw_report_format format, FILE *out,
                           bool campaigns, char *errbuf)
{
    if (format == BW_REPORT_HTML)
        return bw_error(errbuf, BW_ERR_INVALID, "html is only for `botwatch report`; use text, json or csv");
    bw_arena *arena = bw_arena_new(0);
    if (!arena)
        return bw_error(errbuf, BW_ERR_NOMEM, "out of memory");
    rep_campaigns c;
    size_t top = o->top ? o->top : 10;
    bw_status s = rep_campaigns_gather(store, &o->range, campaigns ? top : 0, campaigns ? 1 : top, 10, arena, &c,
                                       errbuf);
    if (s != BW_OK) {
        rep_campaigns_free(&c);
        bw_arena_free(arena);
        return s;
    }
    bw_buf b = BW_BUF_INIT;
    int rc = 0;
    uint64_t whole = c.totals.messages;
    switch (format) {
    case BW_REPORT_TEXT:
        rc |= text_header(&b, campaigns ? "botwatch campaigns" : "botwatch botnets", o, true);
        rc |= rep_text_campaign_summary(&b, &c);
        rc |= bw_buf_append_char(&b, '\n');
        rc |= campaigns ? rep_text_campaigns(&b, &c, whole) : rep_text_botnets(&b, &c, whole);
        break;
    case BW_REPORT_JSON:
        rc |= json_header(&b, campaigns ? "botwatch_campaigns" : "botwatch_botnets", o, true);
        rc |= rep_json_campaigns(&b, &c, "  ", campaigns, !campaigns);
        rc |= bw_buf_append_cstr(&b, "\n}\n");
        break;
    default:
        rc |= rep_csv_campaigns(&b, &c, campaigns, !campaigns);
        break;
    }
    rep_campaigns_free(&c);
    bw_arena_free(arena);
    return finish(&b, rc, out, errbuf);
}

bw_status bw_report_campaigns(bw_store *store, const bw_report_options *options, bw_report_format format,
                              FILE *out, char *errbuf)
{
    return list_view(store, options, format, out, true, errbuf);
}

bw_status bw_report_botnets(bw_store *store, const bw_report_options *options, bw_report_format format,
                            FILE *out, char *errbuf)
{
    return list_view(store, options, format, out, false, errbuf);
}

// ---- one campaign ----

static int text_heading(bw_buf *b, const char *title)
{
    int rc = bw_buf_printf(b, "\n%s\n", title);
    for (size_t i = 0; i < strlen(title); i++)
        rc |= bw_buf_append_char(b, '-');
    return rc | bw_buf_append_char(b, '\n');
}

static int text_day(bw_buf *b, int64_t t)
{
    char d[32] = "-";
    if (t != BW_STORE_NO_TIME)
        rep_format_day(t, d);
    return bw_buf_append_cstr(b, d);
}

static int text_counts(bw_buf *b, const char *title, const bw_store_count *items, size_t n, uint64_t whole, int kind)
{
    int rc = text_heading(b, title);
    if (n == 0)
        return rc | bw_buf_append_cstr(b, "  (none)\n");
    for (size_t i = 0; i < n; i++) {
        const bw_store_count *it = &items[i];
        char c[32], s[32];
        rep_format_count(it->count, c);
        rep_format_share(it->count, whole, s);
        rc |= bw_buf_printf(b, "  %3zu  %8s %6s%%  ", i + 1, c, s);
        if (kind == 0) {            // sender IP + network
            size_t w = 0;
            rc |= rep_append_terminal(b, it->key, 39, &w);
            rc |= bw_buf_printf(b, "%*s", (int)(40 - (w < 39 ? w : 39)), "");
            if (it->number) {
                rc |= bw_buf_printf(b, "AS%" PRId64 " ", it->number);
                rc |= rep_append_terminal(b, it->label, 36, NULL);
            }
        } else if (kind == 1) {     // network
            rc |= bw_buf_printf(b, "AS%-8" PRId64 " ", it->number);
            if (it->extra.n) {
                rc |= rep_append_terminal(b, it->extra, 2, NULL);
                rc |= bw_buf_append_char(b, ' ');
            }
            rc |= rep_append_terminal(b, it->label.n ? it->label : BW_SLICE_LIT("(no name)"), 48, NULL);
        } else {
            rc |= rep_append_terminal(b, it->key, 80, NULL);
        }
        rc |= bw_buf_append_char(b, '\n');
    }
    return rc;
}

static int campaign_text(bw_buf *b, const bw_store_campaign_detail *d, const bw_report_options *o)
{
    const bw_store_campaign *c = &d->campaign;
    char title[64], n1[32], n2[32], n3[32], n4[32];
    snprintf(title, sizeof title, "botwatch campaign %" PRId64, c->id);
    int rc = text_header(b, title, o, false);
    rep_format_count(c->messages, n1);
    rc |= bw_buf_printf(b, "Messages     %s (started by message %" PRId64 ")\n", n1, d->first_message_id);
    rc |= bw_buf_append_cstr(b, "Seen         ");
    rc |= text_day(b, c->first_seen);
    rc |= bw_buf_append_cstr(b, " .. ");
    rc |= text_day(b, c->last_seen);
    rc |= bw_buf_append_cstr(b, c->in_memory ? " (still active in the ingest's index)\n" : "\n");
    rep_format_count(c->sender_ips, n2);
    rep_format_count(c->subnets24, n3);
    rep_format_count(c->asns, n4);
    rc |= bw_buf_printf(b, "Senders      %s IP%s in %s /24s, %s network%s\n", n2, c->sender_ips == 1 ? "" : "s", n3, n4,
                        c->asns == 1 ? "" : "s");
    if (c->botnet_id) {
        rc |= bw_buf_printf(b, "Botnet       %" PRId64, c->botnet_id);
        if (c->botnet_label.n) {
            rc |= bw_buf_append_cstr(b, " (");
            rc |= rep_append_terminal(b, c->botnet_label, 40, NULL);
            rc |= bw_buf_append_char(b, ')');
        }
        rc |= bw_buf_append_char(b, '\n');
    } else {
        rc |= bw_buf_append_cstr(b, "Botnet       none inferred\n");
    }
    rc |= bw_buf_append_cstr(b, "Template     ");
    // The template is the point of this view: shown whole (capped), wrapped by the terminal.
    rc |= rep_append_terminal(b, c->template_text.n ? c->template_text : BW_SLICE_LIT("(none stored)"), 2000, NULL);
    rc |= bw_buf_append_char(b, '\n');

    rc |= text_heading(b, "Messages per day");
    if (d->day_count == 0) {
        rc |= bw_buf_append_cstr(b, "  (no dated messages)\n");
    } else {
        uint64_t peak = 0;
        for (size_t i = 0; i < d->day_count; i++)
            peak = d->per_day[i].count > peak ? d->per_day[i].count : peak;
        for (size_t i = 0; i < d->day_count && i < TIMELINE_TEXT_DAYS; i++) {
            char n[32];
            rep_format_count(d->per_day[i].count, n);
            rc |= bw_buf_append_cstr(b, "  ");
            rc |= text_day(b, d->per_day[i].number);
            rc |= bw_buf_printf(b, " %8s  ", n);
            uint64_t bar = peak ? (d->per_day[i].count * BAR_WIDTH + peak - 1) / peak : 0;
            for (uint64_t k = 0; k < bar; k++)
                rc |= bw_buf_append_cstr(b, o->tty ? "\xE2\x96\x88" : "#");
            rc |= bw_buf_append_char(b, '\n');
        }
        if (d->day_count > TIMELINE_TEXT_DAYS)
            rc |= bw_buf_printf(b, "  ... %zu more days (--format json lists them all)\n",
                                d->day_count - TIMELINE_TEXT_DAYS);
    }
    if (d->undated_messages)
        rc |= bw_buf_printf(b, "  %" PRIu64 " message%s without an arrival time\n", d->undated_messages,
                            d->undated_messages == 1 ? "" : "s");
    rc |= text_counts(b, "Top sender IPs", d->senders, d->sender_count, c->messages, 0);
    rc |= text_counts(b, "Top sender networks", d->networks, d->network_count, c->messages, 1);
    rc |= text_counts(b, "Top URL domains (messages linking to them)", d->domains, d->domain_count, c->messages, 2);
    rc |= text_counts(b, "Top subjects", d->subjects, d->subject_count, c->messages, 2);
    rc |= text_heading(b, "Linked campaigns (same advertised domain within the link window)");
    if (d->link_count == 0)
        rc |= bw_buf_append_cstr(b, "  (none)\n");
    for (size_t i = 0; i < d->link_count; i++) {
        const bw_store_campaign_link *l = &d->links[i];
        char t[32] = "-";
        if (l->time != BW_STORE_NO_TIME)
            rep_format_iso(l->time, t);
        rc |= bw_buf_printf(b, "  campaign %-8" PRId64 " %-20s  ", l->other_id, t);
        rc |= rep_append_terminal(b, l->domain, 80, NULL);
        rc |= bw_buf_append_char(b, '\n');
    }
    rc |= text_heading(b, "Sample messages");
    if (d->sample_count == 0)
        rc |= bw_buf_append_cstr(b, "  (none)\n");
    else
        rc |= bw_buf_printf(b, "  %8s  %-12s  %-10s  %5s  %-39s  %s\n", "Message", "SHA-256", "Arrived", "Sim.",
                            "Sender IP", "Subject");
    for (size_t i = 0; i < d->sample_count; i++) {
        const bw_store_message_brief *m = &d->samples[i];
        rc |= bw_buf_printf(b, "  %8" PRId64 "  %-12.12s  ", m->id, m->sha256.n ? m->sha256.p : "");
        char day[32] = "-";
        if (m->seen_at != BW_STORE_NO_TIME)
            rep_format_day(m->seen_at, day);
        rc |= bw_buf_printf(b, "%-10s  ", day);
        if (m->similarity >= 0)
            rc |= bw_buf_printf(b, "%5.2f  ", m->similarity);
        else
            rc |= bw_buf_printf(b, "%5s  ", "-");
        size_t w = 0;
        rc |= rep_append_terminal(b, m->sender_ip.n ? m->sender_ip : BW_SLICE_LIT("-"), 39, &w);
        rc |= bw_buf_printf(b, "%*s  ", (int)(39 - (w < 39 ? w : 39)), "");
        rc |= rep_append_terminal(b, m->subject, 60, NULL);
        rc |= bw_buf_append_char(b, '\n');
    }
    return rc;
}

static int json_counts(bw_buf *b, const char *name, const bw_store_count *items, size_t n, int kind)
{
    int rc = bw_buf_printf(b, ",\n  \"%s\": [", name);
    for (size_t i = 0; i < n; i++) {
        const bw_store_count *it = &items[i];
        rc |= bw_buf_append_cstr(b, i ? ",\n    {" : "\n    {");
        if (kind == 0) {
            rc |= bw_buf_append_cstr(b, "\"ip\": ");
            rc |= rep_append_json(b, it->key);
            rc |= it->number ? bw_buf_printf(b, ", \"asn\": %" PRId64, it->number) : bw_buf_append_cstr(b, ", \"asn\": null");
            rc |= bw_buf_append_cstr(b, ", \"as_name\": ");
            rc |= rep_append_json(b, it->label);
            rc |= bw_buf_append_cstr(b, ", \"country\": ");
            rc |= rep_append_json(b, it->extra);
        } else if (kind == 1) {
            rc |= bw_buf_printf(b, "\"asn\": %" PRId64 ", \"name\": ", it->number);
            rc |= rep_append_json(b, it->label);
            rc |= bw_buf_append_cstr(b, ", \"country\": ");
            rc |= rep_append_json(b, it->extra);
        } else if (kind == 3) {
            rc |= bw_buf_append_cstr(b, "\"day\": ");
            char d[32];
            rep_format_day(it->number, d);
            rc |= rep_append_json(b, bw_slice_cstr(d));
        } else {
            rc |= bw_buf_printf(b, "\"%s\": ", kind == 2 ? "domain" : "subject");
            rc |= rep_append_json(b, it->key);
        }
        rc |= bw_buf_printf(b, ", \"messages\": %" PRIu64 "}", it->count);
    }
    return rc | bw_buf_append_cstr(b, n ? "\n  ]" : "]");
}

static int campaign_json(bw_buf *b, const bw_store_campaign_detail *d, const bw_report_options *o)
{
    const bw_store_campaign *c = &d->campaign;
    int rc = json_header(b, "botwatch_campaign", o, false);
    rc |= bw_buf_printf(b, "  \"id\": %" PRId64 ", \"messages\": %" PRIu64 ", \"first_message\": %" PRId64
                           ", \"first_seen\": ", c->id, c->messages, d->first_message_id);
    rc |= rep_json_time(b, c->first_seen);
    rc |= bw_buf_append_cstr(b, ", \"last_seen\": ");
    rc |= rep_json_time(b, c->last_seen);
    rc |= bw_buf_printf(b, ",\n  \"sender_ips\": %" PRIu64 ", \"subnets24\": %" PRIu64 ", \"asns\": %" PRIu64
                           ", \"botnet\": ", c->sender_ips, c->subnets24, c->asns);
    rc |= c->botnet_id ? bw_buf_printf(b, "%" PRId64, c->botnet_id) : bw_buf_append_cstr(b, "null");
    rc |= bw_buf_append_cstr(b, ", \"botnet_label\": ");
    rc |= rep_append_json(b, c->botnet_label);
    rc |= bw_buf_printf(b, ", \"in_memory\": %s,\n  \"stored\": {\"messages\": %" PRIu64 ", \"first_seen\": ",
                        c->in_memory ? "true" : "false", c->stored_messages);
    rc |= rep_json_time(b, c->stored_first_seen);
    rc |= bw_buf_append_cstr(b, ", \"last_seen\": ");
    rc |= rep_json_time(b, c->stored_last_seen);
    rc |= bw_buf_append_cstr(b, "},\n  \"template\": ");
    rc |= rep_append_json(b, c->template_text);
    rc |= bw_buf_printf(b, ",\n  \"undated_messages\": %" PRIu64 ", \"days_omitted_messages\": %" PRIu64,
                        d->undated_messages, d->days_omitted_messages);
    rc |= json_counts(b, "per_day", d->per_day, d->day_count, 3);
    rc |= json_counts(b, "senders", d->senders, d->sender_count, 0);
    rc |= json_counts(b, "networks", d->networks, d->network_count, 1);
    rc |= json_counts(b, "domains", d->domains, d->domain_count, 2);
    rc |= json_counts(b, "subjects", d->subjects, d->subject_count, 4);
    rc |= bw_buf_append_cstr(b, ",\n  \"links\": [");
    for (size_t i = 0; i < d->link_count; i++) {
        const bw_store_campaign_link *l = &d->links[i];
        rc |= bw_buf_printf(b, "%s\n    {\"campaign\": %" PRId64 ", \"domain\": ", i ? "," : "", l->other_id);
        rc |= rep_append_json(b, l->domain);
        rc |= bw_buf_append_cstr(b, ", \"time\": ");
        rc |= rep_json_time(b, l->time);
        rc |= bw_buf_append_char(b, '}');
    }
    rc |= bw_buf_append_cstr(b, d->link_count ? "\n  ],\n  \"samples\": [" : "],\n  \"samples\": [");
    for (size_t i = 0; i < d->sample_count; i++) {
        const bw_store_message_brief *m = &d->samples[i];
        rc |= bw_buf_printf(b, "%s\n    {\"id\": %" PRId64 ", \"sha256\": ", i ? "," : "", m->id);
        rc |= rep_append_json(b, m->sha256);
        rc |= bw_buf_append_cstr(b, ", \"seen_at\": ");
        rc |= rep_json_time(b, m->seen_at);
        rc |= bw_buf_append_cstr(b, ", \"similarity\": ");
        rc |= m->similarity >= 0 ? bw_buf_printf(b, "%.4f", m->similarity) : bw_buf_append_cstr(b, "null");
        rc |= bw_buf_append_cstr(b, ", \"sender_ip\": ");
        rc |= m->sender_ip.n ? rep_append_json(b, m->sender_ip) : bw_buf_append_cstr(b, "null");
        rc |= m->sender_asn ? bw_buf_printf(b, ", \"asn\": %" PRIu32, m->sender_asn) : bw_buf_append_cstr(b, ", \"asn\": null");
        rc |= bw_buf_append_cstr(b, ", \"subject\": ");
        rc |= m->subject.n ? rep_append_json(b, m->subject) : bw_buf_append_cstr(b, "null");
        rc |= bw_buf_append_char(b, '}');
    }
    return rc | bw_buf_append_cstr(b, d->sample_count ? "\n  ]\n}\n" : "]\n}\n");
}

static int campaign_csv(bw_buf *b, const bw_store_campaign_detail *d)
{
    const bw_store_campaign *c = &d->campaign;
    int rc = bw_buf_append_cstr(b, "section,key,value" EOL);
    rc |= bw_buf_printf(b, "campaign,id,%" PRId64 EOL "campaign,messages,%" PRIu64 EOL "campaign,first_message,%" PRId64
                           EOL "campaign,first_seen,", c->id, c->messages, d->first_message_id);
    rc |= rep_csv_time(b, c->first_seen);
    rc |= bw_buf_append_cstr(b, EOL "campaign,last_seen,");
    rc |= rep_csv_time(b, c->last_seen);
    rc |= bw_buf_printf(b, EOL "campaign,sender_ips,%" PRIu64 EOL "campaign,subnets24,%" PRIu64 EOL
                           "campaign,asns,%" PRIu64 EOL "campaign,botnet,", c->sender_ips, c->subnets24, c->asns);
    if (c->botnet_id)
        rc |= bw_buf_printf(b, "%" PRId64, c->botnet_id);
    rc |= bw_buf_append_cstr(b, EOL "campaign,botnet_label,");
    rc |= rep_append_csv(b, c->botnet_label);
    rc |= bw_buf_append_cstr(b, EOL "campaign,template,");
    rc |= rep_append_csv(b, c->template_text);
    rc |= bw_buf_append_cstr(b, EOL EOL "section,day,messages" EOL);
    for (size_t i = 0; i < d->day_count; i++) {
        char day[32];
        rep_format_day(d->per_day[i].number, day);
        rc |= bw_buf_printf(b, "per_day,%s,%" PRIu64 EOL, day, d->per_day[i].count);
    }
    rc |= bw_buf_append_cstr(b, EOL "section,rank,ip,asn,as_name,messages" EOL);
    for (size_t i = 0; i < d->sender_count; i++) {
        const bw_store_count *it = &d->senders[i];
        rc |= bw_buf_printf(b, "senders,%zu,", i + 1);
        rc |= rep_append_csv(b, it->key);
        rc |= bw_buf_append_char(b, ',');
        if (it->number)
            rc |= bw_buf_printf(b, "%" PRId64, it->number);
        rc |= bw_buf_append_char(b, ',');
        rc |= rep_append_csv(b, it->label);
        rc |= bw_buf_printf(b, ",%" PRIu64 EOL, it->count);
    }
    rc |= bw_buf_append_cstr(b, EOL "section,rank,asn,name,country,messages" EOL);
    for (size_t i = 0; i < d->network_count; i++) {
        const bw_store_count *it = &d->networks[i];
        rc |= bw_buf_printf(b, "networks,%zu,%" PRId64 ",", i + 1, it->number);
        rc |= rep_append_csv(b, it->label);
        rc |= bw_buf_append_char(b, ',');
        rc |= rep_append_csv(b, it->extra);
        rc |= bw_buf_printf(b, ",%" PRIu64 EOL, it->count);
    }
    static const char *const names[2] = { "domains", "subjects" };
    const bw_store_count *lists[2] = { d->domains, d->subjects };
    size_t counts[2] = { d->domain_count, d->subject_count };
    for (size_t k = 0; k < 2; k++) {
        rc |= bw_buf_printf(b, EOL "section,rank,%s,messages" EOL, k ? "subject" : "domain");
        for (size_t i = 0; i < counts[k]; i++) {
            rc |= bw_buf_printf(b, "%s,%zu,", names[k], i + 1);
            rc |= rep_append_csv(b, lists[k][i].key);
            rc |= bw_buf_printf(b, ",%" PRIu64 EOL, lists[k][i].count);
        }
    }
    rc |= bw_buf_append_cstr(b, EOL "section,campaign,domain,time" EOL);
    for (size_t i = 0; i < d->link_count; i++) {
        rc |= bw_buf_printf(b, "links,%" PRId64 ",", d->links[i].other_id);
        rc |= rep_append_csv(b, d->links[i].domain);
        rc |= bw_buf_append_char(b, ',');
        rc |= rep_csv_time(b, d->links[i].time);
        rc |= bw_buf_append_cstr(b, EOL);
    }
    rc |= bw_buf_append_cstr(b, EOL "section,id,sha256,seen_at,similarity,sender_ip,asn,subject" EOL);
    for (size_t i = 0; i < d->sample_count; i++) {
        const bw_store_message_brief *m = &d->samples[i];
        rc |= bw_buf_printf(b, "samples,%" PRId64 ",", m->id);
        rc |= rep_append_csv(b, m->sha256);
        rc |= bw_buf_append_char(b, ',');
        rc |= rep_csv_time(b, m->seen_at);
        rc |= bw_buf_append_char(b, ',');
        if (m->similarity >= 0)
            rc |= bw_buf_printf(b, "%.4f", m->similarity);
        rc |= bw_buf_append_char(b, ',');
        rc |= rep_append_csv(b, m->sender_ip);
        rc |= bw_buf_append_char(b, ',');
        if (m->sender_asn)
            rc |= bw_buf_printf(b, "%" PRIu32, m->sender_asn);
        rc |= bw_buf_append_char(b, ',');
        rc |= rep_append_csv(b, m->subject);
        rc |= bw_buf_append_cstr(b, EOL);
    }
    return rc;
}

bw_status bw_report_campaign(bw_store *store, int64_t id, const bw_report_options *options,
                             bw_report_format format, FILE *out, char *errbuf)
{
    if (format == BW_REPORT_HTML)
        return bw_error(errbuf, BW_ERR_INVALID, "html is only for `botwatch report`; use text, json or csv");
    size_t top = options->top ? options->top : 10;
    bw_store_campaign_limits limits = { .top = top, .links = 32, .samples = 16 };
    bw_store_campaign_detail *d = NULL;
    bw_status s = bw_store_get_campaign(store, id, &limits, &d, errbuf);
    if (s != BW_OK)
        return s;
    bw_buf b = BW_BUF_INIT;
    int rc = format == BW_REPORT_TEXT ? campaign_text(&b, d, options)
           : format == BW_REPORT_JSON ? campaign_json(&b, d, options)
                                      : campaign_csv(&b, d);
    bw_store_campaign_detail_free(d);
    return finish(&b, rc, out, errbuf);
}

// ---- explain ----

static const char *bytes_name(bw_explain_bytes k)
{
    switch (k) {
    case BW_EXPLAIN_BYTES_SOURCE: return "source";
    case BW_EXPLAIN_BYTES_FILE: return "file";
    case BW_EXPLAIN_BYTES_GONE: return "gone";
    default: return "none";
    }
}

static int explain_text(bw_buf *b, const bw_explain *e)
{
    const bw_store_message_attribution *m = e->stored;
    int rc = bw_buf_append_cstr(b, "botwatch explain ");
    rc |= rep_append_terminal(b, e->query, 200, NULL);
    rc |= bw_buf_append_char(b, '\n');
    if (!m) {
        rc |= bw_buf_append_cstr(b, "Stored       no: this message is not in the store");
        if (e->file_sha256.n) {
            rc |= bw_buf_append_cstr(b, " (SHA-256 ");
            rc |= rep_append_terminal(b, e->file_sha256, 64, NULL);
            rc |= bw_buf_append_char(b, ')');
        }
        rc |= bw_buf_append_cstr(b, "; `botwatch ingest` it to give it a campaign\n\nCampaign\n--------\n"
                                    "  none (not stored)\n");
    } else {
        rc |= bw_buf_printf(b, "Message      %" PRId64 "  sha256 %.*s\n", m->id, (int)m->sha256.n, m->sha256.p);
        rc |= bw_buf_append_cstr(b, "Source       ");
        rc |= rep_append_terminal(b, m->source_path.n ? m->source_path : BW_SLICE_LIT("?"), 200, NULL);
        rc |= bw_buf_printf(b, " at byte %" PRIu64 " (%" PRIu64 " bytes)\n", m->source_offset, m->size);
        rc |= bw_buf_append_cstr(b, "Arrived      ");
        rc |= text_day(b, m->seen_at);
        rc |= bw_buf_append_cstr(b, "\nSubject      ");
        rc |= rep_append_terminal(b, m->subject.n ? m->subject : BW_SLICE_LIT("(none)"), 100, NULL);
        rc |= bw_buf_append_cstr(b, "\nSender       ");
        rc |= rep_append_terminal(b, m->sender_ip.n ? m->sender_ip : BW_SLICE_LIT("(unknown)"), 40, NULL);
        if (m->sender_asn) {
            rc |= bw_buf_printf(b, "  AS%" PRIu32 " ", m->sender_asn);
            rc |= rep_append_terminal(b, m->sender_as_name, 48, NULL);
        }
        rc |= bw_buf_append_cstr(b, "\n\nCampaign\n--------\n");
        if (!m->parsed) {
            rc |= bw_buf_append_cstr(b, "  none: the message could not be parsed, so it has no template\n");
        } else if (m->campaign_id == 0) {
            rc |= bw_buf_append_cstr(b, "  none recorded (stored before campaigns existed, or by an ingest without them)\n");
        } else {
            char n[32];
            rep_format_count(m->campaign_messages, n);
            rc |= bw_buf_printf(b, "  campaign %" PRId64 " (%s message%s)\n", m->campaign_id, n,
                                m->campaign_messages == 1 ? "" : "s");
            if (m->started_campaign)
                rc |= bw_buf_printf(b, "  why: it started the campaign: no earlier campaign's representative reached "
                                       "the join threshold (estimated Jaccard %.2f)\n", e->threshold);
            else if (m->similarity >= 0)
                rc |= bw_buf_printf(b, "  why: the estimated Jaccard similarity of its template's word 3-shingles to "
                                       "the campaign's closest representative is %.3f, at or above the join threshold "
                                       "%.2f\n", m->similarity, e->threshold);
            else
                rc |= bw_buf_append_cstr(b, "  why: joined the campaign (no similarity recorded)\n");
            rc |= bw_buf_append_cstr(b, "  campaign template: ");
            rc |= rep_append_terminal(b, m->campaign_template.n ? m->campaign_template : BW_SLICE_LIT("(none stored)"),
                                      600, NULL);
            rc |= bw_buf_append_char(b, '\n');
        }
    }
    if (e->message_template.n) {
        rc |= bw_buf_append_cstr(b, "  this message:      ");
        rc |= rep_append_terminal(b, e->message_template, 600, NULL);
        rc |= bw_buf_append_char(b, '\n');
    }
    rc |= bw_buf_append_cstr(b, "\nBotnet\n------\n");
    if (m && m->botnet_id) {
        rc |= bw_buf_printf(b, "  botnet %" PRId64, m->botnet_id);
        if (m->botnet_label.n) {
            rc |= bw_buf_append_cstr(b, " (");
            rc |= rep_append_terminal(b, m->botnet_label, 40, NULL);
            rc |= bw_buf_append_char(b, ')');
        }
        rc |= bw_buf_printf(b, ": its campaign %" PRId64 " shares sender IPs or /24s with the botnet's other campaigns\n",
                            m->campaign_id);
    } else {
        rc |= bw_buf_append_cstr(b, m && m->campaign_id ? "  none: its campaign and those sharing its senders were sent from too few\n"
                                                          "  networks (< 5 /24s) to be a botnet (docs/botnets.md)\n"
                                                        : "  none\n");
    }
    rc |= bw_buf_append_cstr(b, "\nRules\n-----\n");
    if (m) {
        rc |= bw_buf_append_cstr(b, "  labels stored at ingest: ");
        rc |= rep_append_terminal(b, m->rule_labels.n ? m->rule_labels : BW_SLICE_LIT("(none)"), 200, NULL);
        rc |= bw_buf_append_char(b, '\n');
    }
    rc |= bw_buf_printf(b, "  message bytes: %s", bytes_name(e->bytes));
    if (e->bytes_note.n) {
        rc |= bw_buf_append_cstr(b, " (");
        rc |= rep_append_terminal(b, e->bytes_note, 300, NULL);
        rc |= bw_buf_append_char(b, ')');
    }
    rc |= bw_buf_append_char(b, '\n');
    if (!e->rules_run) {
        rc |= bw_buf_append_cstr(b, "  rules not run: ");
        rc |= rep_append_terminal(b, e->rules_note.n ? e->rules_note : BW_SLICE_LIT("no message bytes"), 300, NULL);
        rc |= bw_buf_append_char(b, '\n');
        return rc;
    }
    if (e->rule_count == 0)
        rc |= bw_buf_append_cstr(b, "  no rule fired\n");
    for (size_t i = 0; i < e->rule_count; i++) {
        const bw_explain_rule *r = &e->rules[i];
        rc |= bw_buf_append_cstr(b, "  rule ");
        rc |= rep_append_terminal(b, r->name, 64, NULL);
        rc |= bw_buf_append_cstr(b, " -> label ");
        rc |= rep_append_terminal(b, r->label.n ? r->label : BW_SLICE_LIT("(none)"), 64, NULL);
        rc |= bw_buf_printf(b, " (weight %d", r->weight);
        if (r->family.n) {
            rc |= bw_buf_append_cstr(b, ", family ");
            rc |= rep_append_terminal(b, r->family, 40, NULL);
        }
        rc |= bw_buf_append_cstr(b, ")\n");
        for (size_t k = 0; k < r->fact_count; k++) {
            const bw_explain_fact *f = &r->facts[k];
            rc |= bw_buf_append_cstr(b, f->negated ? "      not " : "      ");
            rc |= rep_append_terminal(b, f->expr, 120, NULL);
            if (f->value.n) {
                rc |= bw_buf_append_cstr(b, "  <- \"");
                rc |= rep_append_terminal(b, f->value, 100, NULL);
                rc |= bw_buf_append_char(b, '"');
            }
            if (f->has_number)
                rc |= bw_buf_printf(b, "  = %lld", f->number);
            rc |= bw_buf_append_char(b, '\n');
        }
        if (r->source.n) {
            rc |= bw_buf_append_cstr(b, "      source: ");
            rc |= rep_append_terminal(b, r->source, 200, NULL);
            rc |= bw_buf_append_char(b, '\n');
        }
    }
    return rc;
}

static int json_opt_text(bw_buf *b, bw_slice s)
{
    return s.n ? rep_append_json(b, s) : bw_buf_append_cstr(b, "null");
}

static int explain_json(bw_buf *b, const bw_explain *e)
{
    const bw_store_message_attribution *m = e->stored;
    int rc = bw_buf_append_cstr(b, "{\n  \"botwatch_explain\": 1,\n  \"query\": ");
    rc |= rep_append_json(b, e->query);
    rc |= bw_buf_printf(b, ",\n  \"stored\": %s", m ? "true" : "false");
    if (!m) {
        rc |= bw_buf_append_cstr(b, ", \"sha256\": ");
        rc |= json_opt_text(b, e->file_sha256);
    } else {
        rc |= bw_buf_printf(b, ",\n  \"message\": {\"id\": %" PRId64 ", \"sha256\": ", m->id);
        rc |= rep_append_json(b, m->sha256);
        rc |= bw_buf_append_cstr(b, ", \"source\": ");
        rc |= json_opt_text(b, m->source_path);
        rc |= bw_buf_printf(b, ", \"source_offset\": %" PRIu64 ", \"size\": %" PRIu64 ", \"seen_at\": ", m->source_offset,
                            m->size);
        rc |= rep_json_time(b, m->seen_at);
        rc |= bw_buf_append_cstr(b, ",\n    \"subject\": ");
        rc |= json_opt_text(b, m->subject);
        rc |= bw_buf_append_cstr(b, ", \"sender_ip\": ");
        rc |= json_opt_text(b, m->sender_ip);
        rc |= m->sender_asn ? bw_buf_printf(b, ", \"asn\": %" PRIu32, m->sender_asn) : bw_buf_append_cstr(b, ", \"asn\": null");
        rc |= bw_buf_append_cstr(b, ", \"as_name\": ");
        rc |= json_opt_text(b, m->sender_as_name);
        rc |= bw_buf_printf(b, ", \"parsed\": %s}", m->parsed ? "true" : "false");
        rc |= bw_buf_append_cstr(b, ",\n  \"campaign\": ");
        if (m->campaign_id) {
            rc |= bw_buf_printf(b, "{\"id\": %" PRId64 ", \"messages\": %" PRIu64 ", \"similarity\": ", m->campaign_id,
                                m->campaign_messages);
            rc |= m->similarity >= 0 ? bw_buf_printf(b, "%.4f", m->similarity) : bw_buf_append_cstr(b, "null");
            rc |= bw_buf_printf(b, ", \"threshold\": %.2f, \"started_campaign\": %s, \"template\": ", e->threshold,
                                m->started_campaign ? "true" : "false");
            rc |= rep_append_json(b, m->campaign_template);
            rc |= bw_buf_append_char(b, '}');
        } else {
            rc |= bw_buf_append_cstr(b, "null");
        }
        rc |= bw_buf_append_cstr(b, ",\n  \"botnet\": ");
        if (m->botnet_id) {
            rc |= bw_buf_printf(b, "{\"id\": %" PRId64 ", \"label\": ", m->botnet_id);
            rc |= rep_append_json(b, m->botnet_label);
            rc |= bw_buf_append_char(b, '}');
        } else {
            rc |= bw_buf_append_cstr(b, "null");
        }
        rc |= bw_buf_append_cstr(b, ",\n  \"rule_labels_stored\": ");
        rc |= rep_append_json(b, m->rule_labels);
    }
    rc |= bw_buf_append_cstr(b, ",\n  \"message_template\": ");
    rc |= json_opt_text(b, e->message_template);
    rc |= bw_buf_printf(b, ",\n  \"bytes\": \"%s\", \"bytes_note\": ", bytes_name(e->bytes));
    rc |= json_opt_text(b, e->bytes_note);
    rc |= bw_buf_printf(b, ",\n  \"rules_run\": %s, \"rules_note\": ", e->rules_run ? "true" : "false");
    rc |= json_opt_text(b, e->rules_note);
    rc |= bw_buf_append_cstr(b, ", \"rule_labels_now\": ");
    rc |= e->rules_run ? rep_append_json(b, e->rule_labels_now) : bw_buf_append_cstr(b, "null");
    rc |= bw_buf_append_cstr(b, ",\n  \"rules\": [");
    for (size_t i = 0; i < e->rule_count; i++) {
        const bw_explain_rule *r = &e->rules[i];
        rc |= bw_buf_append_cstr(b, i ? ",\n    {\"rule\": " : "\n    {\"rule\": ");
        rc |= rep_append_json(b, r->name);
        rc |= bw_buf_append_cstr(b, ", \"label\": ");
        rc |= rep_append_json(b, r->label);
        rc |= bw_buf_append_cstr(b, ", \"family\": ");
        rc |= rep_append_json(b, r->family);
        rc |= bw_buf_printf(b, ", \"weight\": %d, \"source\": ", r->weight);
        rc |= rep_append_json(b, r->source);
        rc |= bw_buf_append_cstr(b, ", \"facts\": [");
        for (size_t k = 0; k < r->fact_count; k++) {
            const bw_explain_fact *f = &r->facts[k];
            rc |= bw_buf_append_cstr(b, k ? ", {\"fact\": " : "{\"fact\": ");
            rc |= rep_append_json(b, f->expr);
            rc |= bw_buf_printf(b, ", \"negated\": %s, \"value\": ", f->negated ? "true" : "false");
            rc |= json_opt_text(b, f->value);
            if (f->has_number)
                rc |= bw_buf_printf(b, ", \"number\": %lld", f->number);
            rc |= bw_buf_append_char(b, '}');
        }
        rc |= bw_buf_append_cstr(b, "]}");
    }
    return rc | bw_buf_append_cstr(b, e->rule_count ? "\n  ]\n}\n" : "]\n}\n");
}

static int explain_csv(bw_buf *b, const bw_explain *e)
{
    const bw_store_message_attribution *m = e->stored;
    int rc = bw_buf_append_cstr(b, "section,key,value" EOL "message,query,");
    rc |= rep_append_csv(b, e->query);
    rc |= bw_buf_printf(b, EOL "message,stored,%s" EOL, m ? "true" : "false");
    if (m) {
        rc |= bw_buf_printf(b, "message,id,%" PRId64 EOL "message,sha256,", m->id);
        rc |= rep_append_csv(b, m->sha256);
        rc |= bw_buf_append_cstr(b, EOL "message,source,");
        rc |= rep_append_csv(b, m->source_path);
        rc |= bw_buf_printf(b, EOL "message,source_offset,%" PRIu64 EOL "message,subject,", m->source_offset);
        rc |= rep_append_csv(b, m->subject);
        rc |= bw_buf_append_cstr(b, EOL "message,sender_ip,");
        rc |= rep_append_csv(b, m->sender_ip);
        rc |= bw_buf_append_cstr(b, EOL "campaign,id,");
        if (m->campaign_id)
            rc |= bw_buf_printf(b, "%" PRId64, m->campaign_id);
        rc |= bw_buf_append_cstr(b, EOL "campaign,similarity,");
        if (m->campaign_id && m->similarity >= 0)
            rc |= bw_buf_printf(b, "%.4f", m->similarity);
        rc |= bw_buf_printf(b, EOL "campaign,started_campaign,%s" EOL "campaign,template,",
                            m->started_campaign ? "true" : "false");
        rc |= rep_append_csv(b, m->campaign_template);
        rc |= bw_buf_append_cstr(b, EOL "botnet,id,");
        if (m->botnet_id)
            rc |= bw_buf_printf(b, "%" PRId64, m->botnet_id);
        rc |= bw_buf_append_cstr(b, EOL "botnet,label,");
        rc |= rep_append_csv(b, m->botnet_label);
        rc |= bw_buf_append_cstr(b, EOL "rules,labels_stored,");
        rc |= rep_append_csv(b, m->rule_labels);
        rc |= bw_buf_append_cstr(b, EOL);
    }
    rc |= bw_buf_append_cstr(b, "message,template,");
    rc |= rep_append_csv(b, e->message_template);
    rc |= bw_buf_printf(b, EOL "rules,bytes,%s" EOL "rules,bytes_note,", bytes_name(e->bytes));
    rc |= rep_append_csv(b, e->bytes_note);
    rc |= bw_buf_printf(b, EOL "rules,run,%s" EOL "rules,labels_now,", e->rules_run ? "true" : "false");
    rc |= rep_append_csv(b, e->rule_labels_now);
    rc |= bw_buf_append_cstr(b, EOL EOL "section,rule,label,weight,fact,negated,value" EOL);
    for (size_t i = 0; i < e->rule_count; i++) {
        const bw_explain_rule *r = &e->rules[i];
        for (size_t k = 0; k < (r->fact_count ? r->fact_count : 1); k++) {
            rc |= bw_buf_append_cstr(b, "fired,");
            rc |= rep_append_csv(b, r->name);
            rc |= bw_buf_append_char(b, ',');
            rc |= rep_append_csv(b, r->label);
            rc |= bw_buf_printf(b, ",%d,", r->weight);
            if (r->fact_count) {
                rc |= rep_append_csv(b, r->facts[k].expr);
                rc |= bw_buf_printf(b, ",%s,", r->facts[k].negated ? "true" : "false");
                rc |= rep_append_csv(b, r->facts[k].value);
            } else {
                rc |= bw_buf_append_cstr(b, ",,");
            }
            rc |= bw_buf_append_cstr(b, EOL);
        }
    }
    return rc;
}

bw_status bw_report_explain(const bw_explain *e, bw_report_format format, FILE *out, char *errbuf)
{
    if (format == BW_REPORT_HTML)
        return bw_error(errbuf, BW_ERR_INVALID, "html is only for `botwatch report`; use text, json or csv");
    bw_buf b = BW_BUF_INIT;
    int rc = format == BW_REPORT_TEXT ? explain_text(&b, e) : format == BW_REPORT_JSON ? explain_json(&b, e)
                                                                                       : explain_csv(&b, e);
    return finish(&b, rc, out, errbuf);
}
