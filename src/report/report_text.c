// SPDX-License-Identifier: MIT
// The text report: what `botwatch report` prints. On a terminal the daily volume is a
// Unicode block sparkline; piped, everything is plain ASCII (the sparkline uses an ASCII
// ramp) so the output diffs cleanly and survives any pager. Untrusted strings are cleaned
// of control and bidi characters and cut to their column width.
#include <inttypes.h>
#include <string.h>

#include "report_internal.h"

enum {
    SPARK_WIDTH = 64,       // sparkline columns: fits an 80-column terminal with its indent
    BAR_WIDTH = 30,         // month bars
    NAME_CHARS = 40,        // AS names, domains
    SUBJECT_CHARS = 64,
};

typedef struct text_out {
    bw_buf *b;
    int rc;
} text_out;

static void put(text_out *o, const char *s) { o->rc |= bw_buf_append_cstr(o->b, s); }

#define putf(o, ...) ((o)->rc |= bw_buf_printf((o)->b, __VA_ARGS__))

static void put_clean(text_out *o, bw_slice s, size_t max_chars)
{
    o->rc |= rep_append_terminal(o->b, s, max_chars, NULL);
}

static void heading(text_out *o, const char *title)
{
    putf(o, "\n%s\n", title);
    for (size_t i = 0; i < strlen(title); i++)
        put(o, "-");
    put(o, "\n");
}

static void sparkline(text_out *o, const bw_report *r)
{
    static const char *const unicode[] = { " ", "\xE2\x96\x81", "\xE2\x96\x82", "\xE2\x96\x83", "\xE2\x96\x84",
                                           "\xE2\x96\x85", "\xE2\x96\x86", "\xE2\x96\x87", "\xE2\x96\x88" };
    static const char ascii[] = " .:-=+*#@";
    int64_t first = r->chart_first_day, last = r->chart_last_day;
    uint64_t span = rep_days_between(first, last) + 1;
    uint64_t per_column = (span + SPARK_WIDTH - 1) / SPARK_WIDTH;
    size_t columns = (size_t)((span + per_column - 1) / per_column);
    uint64_t bins[SPARK_WIDTH] = { 0 };
    for (size_t i = 0; i < r->days.n; i++) {
        int64_t day = r->days.items[i].number;
        if (day < first || day > last)
            continue;
        bins[rep_days_between(first, day) / per_column] += r->days.items[i].count;
    }
    uint64_t peak = 0;
    for (size_t i = 0; i < columns; i++)
        peak = bins[i] > peak ? bins[i] : peak;
    char from[32], to[32], peak_text[32];
    rep_format_day(first, from);
    rep_format_day(last, to);
    rep_format_count(peak, peak_text);
    putf(o, "  %s .. %s, %" PRIu64 " day%s, 1 column = %" PRIu64 " day%s, peak %s messages/column\n  |",
         from, to, span, span == 1 ? "" : "s", per_column, per_column == 1 ? "" : "s", peak_text);
    for (size_t i = 0; i < columns; i++) {
        // Any mail at all shows as at least the lowest mark; the peak is the full block.
        unsigned level = bins[i] == 0 ? 0 : (unsigned)((bins[i] * 8 + peak - 1) / peak);
        if (r->options.tty)
            put(o, unicode[level]);
        else
            o->rc |= bw_buf_append_char(o->b, ascii[level]);
    }
    put(o, "|\n");
    if (r->outside_chart > 0) {
        char n[32], earliest[32], latest[32];
        rep_format_count(r->outside_chart, n);
        rep_format_day(r->days.items[0].number, earliest);
        rep_format_day(r->days.items[r->days.n - 1].number, latest);
        putf(o, "  %s messages lie outside the charted days (all days: %s .. %s)\n", n, earliest, latest);
    }
}

static void months_table(text_out *o, const bw_report *r)
{
    uint64_t peak = 0;
    for (size_t i = 0; i < r->months.n; i++)
        peak = r->months.items[i].count > peak ? r->months.items[i].count : peak;
    putf(o, "  %-8s %10s\n", "Month", "Messages");
    for (size_t i = 0; i < r->months.n; i++) {
        char n[32];
        rep_format_count(r->months.items[i].count, n);
        putf(o, "  %-8.*s %10s  ", (int)r->months.items[i].key.n, r->months.items[i].key.p, n);
        uint64_t bar = peak ? (r->months.items[i].count * BAR_WIDTH + peak - 1) / peak : 0;
        for (uint64_t k = 0; k < bar; k++)
            put(o, r->options.tty ? "\xE2\x96\x88" : "#");
        put(o, "\n");
    }
}

static void count_and_share(text_out *o, uint64_t count, uint64_t whole)
{
    char n[32], share[32];
    rep_format_count(count, n);
    rep_format_share(count, whole, share);
    putf(o, "%10s %6s%%", n, share);
}

static void none_line(text_out *o, const char *what)
{
    putf(o, "  (%s)\n", what);
}

bw_status rep_write_text(const bw_report *r, bw_buf *b)
{
    text_out o = { .b = b };
    const bw_store_totals *t = &r->totals;
    char n1[32], n2[32], n3[32], d1[32], d2[32];

    put_clean(&o, r->title, 120);
    put(&o, "\n");
    if (r->options.generated_at != BW_STORE_NO_TIME) {
        rep_format_iso(r->options.generated_at, d1);
        putf(&o, "Generated    %s\n", d1);
    }
    const bw_store_range *range = &r->options.range;
    if (range->has_since || range->has_until) {
        if (range->has_since)
            rep_format_iso(range->since, d1);
        if (range->has_until)
            rep_format_iso(range->until, d2);
        putf(&o, "Range        %s .. %s (arrival time, until exclusive)\n", range->has_since ? d1 : "start",
             range->has_until ? d2 : "end");
    } else {
        put(&o, "Range        all messages\n");
    }
    rep_format_count(t->messages, n1);
    rep_format_count(t->unparsed, n2);
    putf(&o, "Messages     %s stored, %s could not be parsed\n", n1, n2);
    if (t->first_seen != BW_STORE_NO_TIME) {
        rep_format_day(t->first_seen, d1);
        rep_format_day(t->last_seen, d2);
        putf(&o, "Arrivals     %s .. %s\n", d1, d2);
    } else {
        put(&o, "Arrivals     (no dated messages)\n");
    }
    rep_format_count(t->sources, n1);
    rep_format_count(t->duplicates, n2);
    rep_format_count(t->errors, n3);
    putf(&o, "Sources      %s spam-trap input%s; %s duplicate%s skipped, %s ingest error%s\n", n1,
         t->sources == 1 ? "" : "s", n2, t->duplicates == 1 ? "" : "s", n3, t->errors == 1 ? "" : "s");
    char s1[32], s2[32], s3[32];
    rep_format_count(t->with_sender_ip, n1);
    rep_format_share(t->with_sender_ip, t->messages, s1);
    rep_format_count(t->with_asn, n2);
    rep_format_share(t->with_asn, t->messages, s2);
    rep_format_count(t->with_urls, n3);
    rep_format_share(t->with_urls, t->messages, s3);
    putf(&o, "Sender IP    %s (%s%%); network known %s (%s%%)%s\n", n1, s1, n2, s2,
         r->asn_from_lookup ? ", looked up now" : "");
    rep_format_count(t->urls, n1);
    putf(&o, "URLs         %s in %s messages (%s%%)\n", n1, n3, s3);

    heading(&o, "Messages per day");
    if (r->days.n == 0)
        none_line(&o, "no dated messages");
    else
        sparkline(&o, r);

    heading(&o, "Messages per month");
    if (r->months.n == 0)
        none_line(&o, "no dated messages");
    else
        months_table(&o, r);

    heading(&o, "Top sender networks");
    if (r->asns.n == 0) {
        none_line(&o, "no sender networks known: ingest with ASN data (see docs/networks.md)");
    } else {
        putf(&o, "  %3s  %-10s %10s %7s  %-2s  %s\n", "#", "ASN", "Messages", "Share", "CC", "AS name");
        for (size_t i = 0; i < r->asns.n; i++) {
            const rep_item *it = &r->asns.items[i];
            char asn[24];
            snprintf(asn, sizeof asn, "AS%" PRId64, it->number);
            putf(&o, "  %3zu  %-10s ", i + 1, asn);
            count_and_share(&o, it->count, t->messages);
            put(&o, "  ");
            size_t cc = 0;
            o.rc |= rep_append_terminal(b, it->extra, 2, &cc);
            putf(&o, "%*s  ", (int)(2 - (cc < 2 ? cc : 2)), "");
            put_clean(&o, it->label.n ? it->label : BW_SLICE_LIT("(no name)"), NAME_CHARS);
            put(&o, "\n");
        }
    }

    heading(&o, "Top sender countries");
    if (r->countries.n == 0) {
        none_line(&o, "no countries known: the ASN source has none");
    } else {
        putf(&o, "  %3s  %-8s %10s %7s\n", "#", "Country", "Messages", "Share");
        for (size_t i = 0; i < r->countries.n; i++) {
            putf(&o, "  %3zu  ", i + 1);
            size_t cc = 0;
            o.rc |= rep_append_terminal(b, r->countries.items[i].key, 8, &cc);
            putf(&o, "%*s ", (int)(8 - (cc < 8 ? cc : 8)), "");
            count_and_share(&o, r->countries.items[i].count, t->messages);
            put(&o, "\n");
        }
    }

    heading(&o, "Top sender IPs");
    if (r->sender_ips.n == 0) {
        none_line(&o, "no sender IPs");
    } else {
        putf(&o, "  %3s  %-39s %10s %7s  %s\n", "#", "IP", "Messages", "Share", "Network");
        for (size_t i = 0; i < r->sender_ips.n; i++) {
            const rep_item *it = &r->sender_ips.items[i];
            putf(&o, "  %3zu  ", i + 1);
            size_t w = 0;
            o.rc |= rep_append_terminal(b, it->key, 39, &w);
            putf(&o, "%*s ", (int)(39 - (w < 39 ? w : 39)), "");
            count_and_share(&o, it->count, t->messages);
            if (it->number) {
                putf(&o, "  AS%" PRId64 " ", it->number);
                put_clean(&o, it->label, NAME_CHARS);
            }
            put(&o, "\n");
        }
    }

    heading(&o, "Top URL domains (messages linking to them)");
    if (r->domains.n == 0) {
        none_line(&o, "no URLs");
    } else {
        putf(&o, "  %3s  %10s %7s  %s\n", "#", "Messages", "Share", "Domain");
        for (size_t i = 0; i < r->domains.n; i++) {
            putf(&o, "  %3zu  ", i + 1);
            count_and_share(&o, r->domains.items[i].count, t->messages);
            put(&o, "  ");
            put_clean(&o, r->domains.items[i].key, 2 * NAME_CHARS);
            put(&o, "\n");
        }
    }

    heading(&o, "Top subjects");
    if (r->subjects.n == 0) {
        none_line(&o, "no subjects");
    } else {
        putf(&o, "  %3s  %10s  %s\n", "#", "Messages", "Subject");
        for (size_t i = 0; i < r->subjects.n; i++) {
            rep_format_count(r->subjects.items[i].count, n1);
            putf(&o, "  %3zu  %10s  ", i + 1, n1);
            put_clean(&o, r->subjects.items[i].key, SUBJECT_CHARS);
            put(&o, "\n");
        }
    }

    heading(&o, "Campaigns and botnets");
    o.rc |= rep_text_campaign_summary(b, &r->campaigns);
    put(&o, "\n  Top campaigns\n");
    o.rc |= rep_text_campaigns(b, &r->campaigns, r->campaigns.totals.messages);
    put(&o, "\n  Botnets (largest first)\n");
    o.rc |= rep_text_botnets(b, &r->campaigns, r->campaigns.totals.messages);

    heading(&o, "Anomalies (messages carrying each)");
    if (r->anomalies.n == 0) {
        none_line(&o, "none");
    } else {
        for (size_t i = 0; i < r->anomalies.n; i++) {
            put(&o, "  ");
            size_t w = 0;
            o.rc |= rep_append_terminal(b, r->anomalies.items[i].key, 28, &w);
            putf(&o, "%*s ", (int)(28 - (w < 28 ? w : 28)), "");
            count_and_share(&o, r->anomalies.items[i].count, t->messages);
            put(&o, "\n");
        }
    }

    heading(&o, "Sources");
    if (r->source_count == 0) {
        none_line(&o, "none");
    } else {
        putf(&o, "  %-8s %10s %10s %8s  %s\n", "Format", "Messages", "Duplicates", "Errors", "Path");
        for (size_t i = 0; i < r->source_count; i++) {
            const rep_source *s = &r->sources[i];
            put(&o, "  ");
            size_t w = 0;
            o.rc |= rep_append_terminal(b, s->format, 8, &w);
            putf(&o, "%*s ", (int)(8 - (w < 8 ? w : 8)), "");
            rep_format_count(s->counts.messages, n1);
            rep_format_count(s->counts.duplicates, n2);
            rep_format_count(s->counts.errors, n3);
            putf(&o, "%10s %10s %8s  ", n1, n2, n3);
            put_clean(&o, s->path, 100);
            put(&o, "\n");
        }
        if (t->sources > r->source_count)
            putf(&o, "  ... and %" PRIu64 " more\n", t->sources - r->source_count);
    }

    rep_format_count(t->errors, n1);
    char title[64];
    snprintf(title, sizeof title, "Ingest errors (%s)", n1);
    heading(&o, title);
    if (r->error_count == 0) {
        none_line(&o, "none");
    } else {
        for (size_t i = 0; i < r->error_count; i++) {
            const rep_error *e = &r->errors[i];
            put(&o, "  ");
            put_clean(&o, e->source, 80);
            putf(&o, ":%" PRIu64 ": ", e->offset);
            put_clean(&o, e->reason, 100);
            put(&o, "\n");
        }
        if (t->errors > r->error_count)
            putf(&o, "  ... and %" PRIu64 " more\n", t->errors - r->error_count);
    }
    return o.rc ? BW_ERR_NOMEM : BW_OK;
}
