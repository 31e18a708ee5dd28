// SPDX-License-Identifier: MIT
// The HTML report: one self-contained file (inline CSS, inline SVG charts, no script, no
// font or image fetches; a Content-Security-Policy forbids anything else), so it can be
// mailed, archived or opened offline. Charts: messages per day as bars with month ticks,
// and horizontal bars for the top sender networks and URL domains. Every string from mail
// or from ASN data goes through rep_append_html().
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "report_internal.h"

typedef struct html_out {
    bw_buf *b;
    int rc;
} html_out;

#define putf(o, ...) ((o)->rc |= bw_buf_printf((o)->b, __VA_ARGS__))
static void put(html_out *o, const char *s) { o->rc |= bw_buf_append_cstr(o->b, s); }
static void text(html_out *o, bw_slice s, size_t max_chars) { o->rc |= rep_append_html(o->b, s, max_chars); }

static const char style[] =
    ":root{--fg:#1d2330;--muted:#5b6474;--bar:#3b6fd8;--bar2:#d9822b;--bg:#f4f5f7;--card:#fff;--line:#e2e5ea}"
    "*{box-sizing:border-box}"
    "body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;"
    "color:var(--fg);background:var(--bg)}"
    "header{background:#1d2330;color:#fff;padding:20px 32px}"
    "header h1{margin:0;font-size:22px;font-weight:600}header p{margin:4px 0 0;color:#c3c9d4}"
    "main{max-width:1200px;margin:0 auto;padding:20px 32px 40px}"
    ".cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(165px,1fr));gap:12px}"
    ".card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 14px}"
    ".card .v{font-size:22px;font-weight:600;font-variant-numeric:tabular-nums}"
    ".card .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}"
    "section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:14px 18px;margin-top:18px}"
    "h2{font-size:16px;margin:0 0 10px}"
    "table{border-collapse:collapse;width:100%}"
    "th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top}"
    "th{color:var(--muted);font-weight:600;font-size:12px;text-transform:uppercase;letter-spacing:.03em}"
    ".n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    ".w{overflow-wrap:anywhere}.d{white-space:nowrap}"
    ".grid2{display:grid;grid-template-columns:1fr 1fr;gap:18px;align-items:start}"
    ".grid2 section{margin-top:0}.row{margin-top:18px}"
    "@media (max-width:900px){.grid2{grid-template-columns:1fr}}"
    "svg{display:block;width:100%;height:auto}"
    "svg text{font:11px system-ui,-apple-system,'DejaVu Sans',sans-serif;fill:var(--muted)}"
    "svg .lbl{fill:var(--fg)}"
    ".muted{color:var(--muted)}footer{color:var(--muted);font-size:12px;margin-top:24px}";

static void card(html_out *o, const char *label, const char *value)
{
    putf(o, "<div class=\"card\"><div class=\"k\">%s</div><div class=\"v\">%s</div></div>", label, value);
}

static void count_cell(html_out *o, uint64_t count, uint64_t whole, bool with_share)
{
    char n[32], share[32];
    rep_format_count(count, n);
    putf(o, "<td class=\"n\">%s</td>", n);
    if (with_share) {
        rep_format_share(count, whole, share);
        putf(o, "<td class=\"n\">%s%%</td>", share);
    }
}

// The y axis: a gridline step of 1, 2 or 5 times a power of ten giving at most five
// whole-number gridlines, and the axis maximum as the first gridline at or above peak.
static void axis_scale(uint64_t peak, uint64_t *step_out, uint64_t *lines_out)
{
    uint64_t want = (peak + 4) / 5, step = 1;
    for (uint64_t base = 1;; base *= 10) {
        if (base >= want) { step = base; break; }
        if (2 * base >= want) { step = 2 * base; break; }
        if (5 * base >= want) { step = 5 * base; break; }
        if (base > UINT64_MAX / 100) { step = base * 10; break; }
    }
    uint64_t lines = (peak + step - 1) / step;
    *step_out = step;
    *lines_out = lines ? lines : 1;
}

static int64_t month_start(int64_t t, int add_months)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm))
        return t;
    tm.tm_mon += add_months;
    tm.tm_mday = 1;
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    return (int64_t)timegm(&tm);
}

static void daily_chart(html_out *o, const bw_report *r)
{
    enum { W = 1120, H = 270, LEFT = 56, RIGHT = 14, TOP = 14, BOTTOM = 42 };
    const double plot_w = W - LEFT - RIGHT, plot_h = H - TOP - BOTTOM;
    int64_t first = r->chart_first_day, last = r->chart_last_day;
    double span = (double)rep_days_between(first, last) + 1;
    uint64_t peak = 0;
    for (size_t i = 0; i < r->days.n; i++)
        if (r->days.items[i].number >= first && r->days.items[i].number <= last && r->days.items[i].count > peak)
            peak = r->days.items[i].count;
    uint64_t y_step, lines;
    axis_scale(peak ? peak : 1, &y_step, &lines);
    uint64_t y_max = y_step * lines;
    putf(o, "<svg viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"Messages per day\">", W, H);
    for (uint64_t g = 0; g <= lines; g++) {
        double y = TOP + plot_h - plot_h * (double)g / (double)lines;
        char n[32];
        rep_format_count(y_step * g, n);
        putf(o, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\"/>", LEFT, y, W - RIGHT, y,
             g ? "#e2e5ea" : "#9aa3b2");
        putf(o, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>", LEFT - 6, y + 4, n);
    }
    double slot = plot_w / span;
    double bar_w = slot > 2 ? slot * 0.8 : (slot > 0.6 ? slot : 0.6);
    for (size_t i = 0; i < r->days.n; i++) {
        const rep_item *d = &r->days.items[i];
        if (d->number < first || d->number > last)
            continue;
        double x = LEFT + (double)rep_days_between(first, d->number) * slot;
        double h = plot_h * (double)d->count / (double)y_max;
        char day[32];
        rep_format_day(d->number, day);
        putf(o, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#3b6fd8\"><title>%s: %" PRIu64
                "</title></rect>",
             x, TOP + plot_h - h, bar_w, h < 0.5 ? 0.5 : h, day, d->count);
    }
    // Month ticks; labels thinned so they never overlap (about 70 px each).
    int months = 0;
    for (int64_t m = month_start(first, 0); m <= last && months < 100000; m = month_start(m, 1))
        months++;
    static const int steps[] = { 1, 2, 3, 6, 12, 24, 60, 120, 600 };
    int step = steps[0];
    for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
        step = steps[k];
        if (plot_w / ((double)months / step + 1) >= 70)
            break;
    }
    int index = 0;
    for (int64_t m = month_start(first, 0); m <= last && index < 100000; m = month_start(m, 1), index++) {
        time_t tt = (time_t)m;
        struct tm tm;
        if (!gmtime_r(&tt, &tm))
            break;
        int month_number = tm.tm_year * 12 + tm.tm_mon;
        if (m < first || month_number % step != 0)
            continue;
        double x = LEFT + (double)((uint64_t)m - (uint64_t)first) / REP_DAY * slot;
        char label[32];
        strftime(label, sizeof label, step >= 12 ? "%Y" : "%b %Y", &tm);
        putf(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#9aa3b2\"/>", x, TOP + plot_h, x,
             TOP + plot_h + 5);
        putf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>", x, TOP + plot_h + 18, label);
    }
    put(o, "</svg>");
}

// Horizontal bars: label (AS name or domain), bar, count.
static void bar_chart(html_out *o, const rep_list *list, bool asn, const char *aria)
{
    enum { W = 540, ROW = 24, LABEL = 210, COUNT = 60 };
    if (list->n == 0)
        return;
    uint64_t peak = list->items[0].count ? list->items[0].count : 1;
    int h = (int)list->n * ROW + 6;
    putf(o, "<svg viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"%s\">", W, h, aria);
    for (size_t i = 0; i < list->n; i++) {
        const rep_item *it = &list->items[i];
        int y = (int)i * ROW + 4;
        put(o, "<text class=\"lbl\" x=\"0\" y=\"");
        putf(o, "%d\">", y + 15);
        if (asn) {
            putf(o, "AS%" PRId64 " ", it->number);
            text(o, it->label, 24);
        } else {
            text(o, it->key, 32);
        }
        put(o, "</text>");
        double w = (double)(W - LABEL - COUNT) * (double)it->count / (double)peak;
        char n[32];
        rep_format_count(it->count, n);
        putf(o, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"16\" rx=\"2\" fill=\"%s\"/>", LABEL, y + 3,
             w < 1 ? 1 : w, asn ? "#3b6fd8" : "#d9822b");
        putf(o, "<text x=\"%.1f\" y=\"%d\">%s</text>", LABEL + (w < 1 ? 1 : w) + 6, y + 15, n);
    }
    put(o, "</svg>");
}

static void empty_note(html_out *o, const char *what) { putf(o, "<p class=\"muted\">%s</p>", what); }

static void simple_table(html_out *o, const rep_list *list, const char *header, uint64_t whole, size_t max_chars)
{
    putf(o, "<table><tr><th>#</th><th>%s</th><th class=\"n\">Messages</th><th class=\"n\">Share</th></tr>", header);
    for (size_t i = 0; i < list->n; i++) {
        putf(o, "<tr><td class=\"n\">%zu</td><td class=\"w\">", i + 1);
        text(o, list->items[i].key, max_chars);
        put(o, "</td>");
        count_cell(o, list->items[i].count, whole, true);
        put(o, "</tr>");
    }
    put(o, "</table>");
}

bw_status rep_write_html(const bw_report *r, bw_buf *b)
{
    html_out o = { .b = b };
    const bw_store_totals *t = &r->totals;
    char n[40], d1[32], d2[32], s1[32];

    put(&o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
    text(&o, r->title, 200);
    putf(&o, "</title>\n<style>%s</style>\n</head>\n<body>\n<header><h1>", style);
    text(&o, r->title, 200);
    put(&o, "</h1><p>");
    if (t->first_seen != BW_STORE_NO_TIME) {
        rep_format_day(t->first_seen, d1);
        rep_format_day(t->last_seen, d2);
        putf(&o, "Spam-trap mail arriving %s to %s", d1, d2);
    } else {
        put(&o, "No dated messages");
    }
    const bw_store_range *range = &r->options.range;
    if (range->has_since || range->has_until) {
        if (range->has_since)
            rep_format_iso(range->since, d1);
        if (range->has_until)
            rep_format_iso(range->until, d2);
        putf(&o, " &middot; range %s .. %s", range->has_since ? d1 : "start", range->has_until ? d2 : "end");
    }
    put(&o, "</p></header>\n<main>\n<div class=\"cards\">");
    rep_format_count(t->messages, n);
    card(&o, "Messages", n);
    rep_format_count(t->sources, n);
    card(&o, "Spam-trap sources", n);
    rep_format_count(t->duplicates, n);
    card(&o, "Duplicates skipped", n);
    rep_format_count(t->errors, n);
    card(&o, "Ingest errors", n);
    rep_format_share(t->with_sender_ip, t->messages, s1);
    snprintf(n, sizeof n, "%s%%", s1);
    card(&o, "With sender IP", n);
    rep_format_share(t->with_asn, t->messages, s1);
    snprintf(n, sizeof n, "%s%%", s1);
    card(&o, "Network known", n);
    rep_format_count(t->urls, n);
    card(&o, "URLs", n);
    rep_format_count(t->unparsed, n);
    card(&o, "Unparsed", n);
    put(&o, "</div>\n");

    put(&o, "<section><h2>Messages per day</h2>");
    if (r->days.n == 0) {
        empty_note(&o, "No dated messages.");
    } else {
        daily_chart(&o, r);
        if (r->outside_chart > 0) {
            rep_format_count(r->outside_chart, n);
            rep_format_day(r->days.items[0].number, d1);
            rep_format_day(r->days.items[r->days.n - 1].number, d2);
            putf(&o, "<p class=\"muted\">%s messages with far-off dates are outside the chart (all days: %s to %s).</p>",
                 n, d1, d2);
        }
    }
    put(&o, "</section>\n");

    put(&o, "<div class=\"grid2 row\"><section><h2>Top sender networks</h2>");
    if (r->asns.n == 0) {
        empty_note(&o, "No sender networks known: ingest with ASN data.");
    } else {
        bar_chart(&o, &r->asns, true, "Top sender networks");
        put(&o, "<table><tr><th>#</th><th>ASN</th><th>AS name</th><th>CC</th><th class=\"n\">Messages</th>"
                "<th class=\"n\">Share</th></tr>");
        for (size_t i = 0; i < r->asns.n; i++) {
            const rep_item *it = &r->asns.items[i];
            putf(&o, "<tr><td class=\"n\">%zu</td><td>AS%" PRId64 "</td><td class=\"w\">", i + 1, it->number);
            text(&o, it->label, 80);
            put(&o, "</td><td>");
            text(&o, it->extra, 8);
            put(&o, "</td>");
            count_cell(&o, it->count, t->messages, true);
            put(&o, "</tr>");
        }
        put(&o, "</table>");
    }
    put(&o, "</section><section><h2>Top URL domains</h2>");
    if (r->domains.n == 0) {
        empty_note(&o, "No URLs.");
    } else {
        bar_chart(&o, &r->domains, false, "Top URL domains");
        simple_table(&o, &r->domains, "Domain", t->messages, 100);
    }
    put(&o, "</section></div>\n");

    put(&o, "<div class=\"grid2 row\"><section><h2>Top sender countries</h2>");
    if (r->countries.n == 0)
        empty_note(&o, "No countries known (the ASN source has none).");
    else
        simple_table(&o, &r->countries, "Country", t->messages, 8);
    put(&o, "</section><section><h2>Messages per month</h2>");
    if (r->months.n == 0) {
        empty_note(&o, "No dated messages.");
    } else {
        put(&o, "<table><tr><th>Month</th><th class=\"n\">Messages</th></tr>");
        for (size_t i = 0; i < r->months.n; i++) {
            put(&o, "<tr><td>");
            text(&o, r->months.items[i].key, 16);
            put(&o, "</td>");
            count_cell(&o, r->months.items[i].count, 0, false);
            put(&o, "</tr>");
        }
        put(&o, "</table>");
    }
    put(&o, "</section></div>\n");

    put(&o, "<section><h2>Top subjects</h2>");
    if (r->subjects.n == 0)
        empty_note(&o, "No subjects.");
    else
        simple_table(&o, &r->subjects, "Subject", t->messages, 160);
    put(&o, "</section>\n");

    put(&o, "<div class=\"grid2 row\"><section><h2>Top sender IPs</h2>");
    if (r->sender_ips.n == 0) {
        empty_note(&o, "No sender IPs.");
    } else {
        put(&o, "<table><tr><th>#</th><th>IP</th><th>Network</th><th class=\"n\">Messages</th></tr>");
        for (size_t i = 0; i < r->sender_ips.n; i++) {
            const rep_item *it = &r->sender_ips.items[i];
            putf(&o, "<tr><td class=\"n\">%zu</td><td>", i + 1);
            text(&o, it->key, 48);
            put(&o, "</td><td class=\"w\">");
            if (it->number) {
                putf(&o, "AS%" PRId64 " ", it->number);
                text(&o, it->label, 60);
            }
            put(&o, "</td>");
            count_cell(&o, it->count, t->messages, false);
            put(&o, "</tr>");
        }
        put(&o, "</table>");
    }
    put(&o, "</section><section><h2>Anomalies</h2>");
    if (r->anomalies.n == 0)
        empty_note(&o, "None.");
    else
        simple_table(&o, &r->anomalies, "Anomaly", t->messages, 40);
    put(&o, "</section></div>\n");

    o.rc |= rep_html_campaigns(b, &r->campaigns);

    put(&o, "<section><h2>Sources</h2>");
    if (r->source_count == 0) {
        empty_note(&o, "None.");
    } else {
        put(&o, "<table><tr><th>Path</th><th>Format</th><th class=\"n\">Messages</th><th class=\"n\">Duplicates</th>"
                "<th class=\"n\">Errors</th></tr>");
        for (size_t i = 0; i < r->source_count; i++) {
            const rep_source *s = &r->sources[i];
            put(&o, "<tr><td class=\"w\">");
            text(&o, s->path, 200);
            put(&o, "</td><td>");
            text(&o, s->format, 16);
            put(&o, "</td>");
            count_cell(&o, s->counts.messages, 0, false);
            count_cell(&o, s->counts.duplicates, 0, false);
            count_cell(&o, s->counts.errors, 0, false);
            put(&o, "</tr>");
        }
        put(&o, "</table>");
        if (t->sources > r->source_count) {
            rep_format_count(t->sources - r->source_count, n);
            putf(&o, "<p class=\"muted\">and %s more</p>", n);
        }
    }
    put(&o, "</section>\n");

    rep_format_count(t->errors, n);
    putf(&o, "<section><h2>Ingest errors (%s)</h2>", n);
    if (r->error_count == 0) {
        empty_note(&o, "None.");
    } else {
        put(&o, "<table><tr><th>Source</th><th class=\"n\">Offset</th><th>Reason</th></tr>");
        for (size_t i = 0; i < r->error_count; i++) {
            const rep_error *e = &r->errors[i];
            put(&o, "<tr><td class=\"w\">");
            text(&o, e->source, 200);
            putf(&o, "</td><td class=\"n\">%" PRIu64 "</td><td class=\"w\">", e->offset);
            text(&o, e->reason, 200);
            put(&o, "</td></tr>");
        }
        put(&o, "</table>");
        if (t->errors > r->error_count) {
            rep_format_count(t->errors - r->error_count, n);
            putf(&o, "<p class=\"muted\">and %s more</p>", n);
        }
    }
    put(&o, "</section>\n<footer>botwatch report");
    if (r->options.generated_at != BW_STORE_NO_TIME) {
        rep_format_iso(r->options.generated_at, d1);
        putf(&o, " &middot; generated %s", d1);
    }
    put(&o, " &middot; self-contained: no scripts, no external resources</footer>\n</main>\n</body></html>\n");
    return o.rc ? BW_ERR_NOMEM : BW_OK;
}
