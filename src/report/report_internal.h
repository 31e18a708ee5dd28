// SPDX-License-Identifier: MIT
// Inside the report module only: the gathered report (report.c fills it; report_text.c,
// report_data.c and report_html.c write it) and the escaping helpers every writer and the
// export share (escape.c). Not a public header.
#ifndef BW_REPORT_INTERNAL_H
#define BW_REPORT_INTERNAL_H

#include <stdint.h>

#include "botwatch/arena.h"
#include "botwatch/report.h"
#include "botwatch/store_campaigns.h"

// One line of a table: which fields mean what is said where each list is filled.
typedef struct rep_item {
    bw_slice key;       // domain, subject, IP, anomaly name, country, "YYYY-MM" month
    int64_t number;     // day/month start (UTC seconds), ASN
    bw_slice label;     // AS name
    bw_slice extra;     // country of an AS
    uint64_t count;     // messages
} rep_item;

typedef struct rep_list {
    rep_item *items;
    size_t n, cap;
} rep_list;

typedef struct rep_source {
    bw_slice path, format;
    int64_t last_ingest;
    bw_store_source_counts counts;
} rep_source;

typedef struct rep_error {
    bw_slice source, reason;
    uint64_t offset;
    int64_t at;
} rep_error;

// Campaigns and botnets (campaigns.c): the report's section and `botwatch campaigns` /
// `botwatch botnets` share this snapshot and its writers.
typedef struct rep_campaign {
    int64_t id;
    uint64_t messages;
    int64_t first_seen, last_seen;
    uint64_t sender_ips, subnets24, asns;
    int64_t botnet_id;
    bw_slice botnet_label, template_text, top_subject, top_domain;
    uint64_t top_subject_messages, top_domain_messages;
} rep_campaign;

typedef struct rep_botnet {
    int64_t id;
    bw_slice label;
    uint64_t messages, campaigns;          // in range
    int64_t first_seen, last_seen;         // in range
    uint64_t sender_ips, subnets24;        // inferred over the whole store
    uint64_t stored_messages, stored_campaigns;
    rep_list asns;                         // number = ASN, label = name, count = IPs
    rep_list countries;                    // key = country, count = IPs
    rep_list campaigns_top;                // number = campaign id, count = messages in range
} rep_botnet;

typedef struct rep_campaigns {
    bw_store_campaign_totals totals;
    rep_campaign *campaigns;
    size_t campaign_count;
    rep_botnet *botnets;
    size_t botnet_count;
    // The smallest number of botnets (largest first) sending >= 90% of the messages in
    // range; reached false when all botnets together send less.
    bool ninety_reached;
    uint64_t ninety_botnets, ninety_messages;
} rep_campaigns;

// Gathers the top `top_campaigns` campaigns and `top_botnets` botnets (0 = none / all) in
// range, copying strings into arena. BW_ERR_DB / BW_ERR_NOMEM.
bw_status rep_campaigns_gather(bw_store *store, const bw_store_range *range, size_t top_campaigns,
                               size_t top_botnets, size_t top_lists, bw_arena *arena, rep_campaigns *out,
                               char *errbuf);
void rep_campaigns_free(rep_campaigns *c);

struct bw_report {
    bw_report_options options;
    bw_arena *arena;            // every copied string
    bw_slice title;
    bw_store_totals totals;
    rep_list days;              // number = day start; non-empty days, ascending
    rep_list months;            // number = month start, key = "YYYY-MM"; ascending
    rep_list asns;              // number = ASN, label = name, extra = country
    rep_list countries;         // key = ISO code
    rep_list sender_ips;        // key = IP, number = ASN, label = AS name
    rep_list domains;           // key = registrable domain
    rep_list subjects;          // key = subject
    rep_list anomalies;         // key = name, number = bit
    bool asn_from_lookup;       // networks looked up at report time (store had no ASNs)
    rep_source *sources;
    size_t source_count;
    rep_error *errors;
    size_t error_count;
    // Where the daily chart looks: the days holding the central 99% of messages, so a few
    // forged dates (1970, 2038) do not squash two real years into one pixel.
    int64_t chart_first_day, chart_last_day;   // BW_STORE_NO_TIME if no dated messages
    uint64_t outside_chart;
    rep_campaigns campaigns;    // the "Campaigns and botnets" section
};

// Chart windows and bins shared by the text sparkline and the HTML chart.
#define REP_DAY 86400

// Whole days from a to b (b >= a), in unsigned arithmetic: forged dates can sit at the
// ends of the 64-bit range, where a signed difference would overflow.
static inline uint64_t rep_days_between(int64_t a, int64_t b)
{
    return ((uint64_t)b - (uint64_t)a) / REP_DAY;
}

// ---- escape.c: UTF-8 aware escaping of untrusted text ----
// Decodes one code point; invalid or overlong sequences and surrogates give U+FFFD and
// consume one byte. Returns the bytes consumed (>= 1 when n > 0).
size_t rep_utf8_next(const unsigned char *p, size_t n, uint32_t *cp);
int rep_append_utf8(bw_buf *b, uint32_t cp);
// Terminal text: control characters (C0, DEL, C1), bidirectional overrides and invalid
// UTF-8 removed or replaced, whitespace runs become one space, at most max_chars code
// points (then "..."). *chars (may be NULL) gets the code points written. 0 or -1 (NOMEM).
int rep_append_terminal(bw_buf *b, bw_slice s, size_t max_chars, size_t *chars);
// HTML text and attribute values: & < > " ' escaped, controls dropped, invalid UTF-8 to
// U+FFFD; at most max_chars code points (0 = no limit, else "…").
int rep_append_html(bw_buf *b, bw_slice s, size_t max_chars);
// One RFC 4180 field: quoted when it holds , " CR LF or leading/trailing space; invalid
// UTF-8 becomes U+FFFD; control characters other than tab, CR and LF are dropped.
int rep_append_csv(bw_buf *b, bw_slice s);
// JSON string (bw_buf_append_json_string).
int rep_append_json(bw_buf *b, bw_slice s);

// "2002-01-31" / "2002-01-31T12:00:00Z" / "2002-01"; "?" for times gmtime cannot express.
void rep_format_day(int64_t t, char out[32]);
void rep_format_iso(int64_t t, char out[32]);
void rep_format_month(int64_t t, char out[32]);
// 6046 -> "6,046".
void rep_format_count(uint64_t v, char out[32]);
// 100 * part / whole with one decimal ("12.5"), "0.0" when whole is 0.
void rep_format_share(uint64_t part, uint64_t whole, char out[32]);

// Writes b to out; BW_ERR_IO with errbuf on failure.
bw_status rep_flush(bw_buf *b, FILE *out, char *errbuf);

// ---- writers ----
bw_status rep_write_text(const bw_report *r, bw_buf *b);
bw_status rep_write_json(const bw_report *r, bw_buf *b);
bw_status rep_write_csv(const bw_report *r, bw_buf *b);
bw_status rep_write_html(const bw_report *r, bw_buf *b);

// Writers of the campaign and botnet tables (campaigns.c), used by the report's section
// and by `botwatch campaigns` / `botwatch botnets`. Each returns 0 or -1 (out of memory).
// whole: the messages in range that shares are of.
int rep_text_campaigns(bw_buf *b, const rep_campaigns *c, uint64_t whole);
int rep_text_botnets(bw_buf *b, const rep_campaigns *c, uint64_t whole);
// One summary line: "N campaigns hold M of W messages (x%); K botnets send 90% of them".
int rep_text_campaign_summary(bw_buf *b, const rep_campaigns *c);
// JSON members (without braces), each line starting with indent: "totals", "campaigns"
// and/or "botnets" (with the 90% figure), comma-separated, no trailing comma.
int rep_json_campaigns(bw_buf *b, const rep_campaigns *c, const char *indent, bool campaigns, bool botnets);
// CSV blocks (header row with a leading "section" column, CRLF lines), separated by an
// empty line: campaign_totals, top_campaigns and/or botnets.
int rep_csv_campaigns(bw_buf *b, const rep_campaigns *c, bool campaigns, bool botnets);
int rep_html_campaigns(bw_buf *b, const rep_campaigns *c);
// "Range        all messages" / "Range        A .. B (arrival time, until exclusive)"
int rep_text_range(bw_buf *b, const bw_store_range *range);
// JSON/CSV scalars shared by the writers.
int rep_json_time(bw_buf *b, int64_t t);
int rep_csv_time(bw_buf *b, int64_t t);
int rep_json_share(bw_buf *b, uint64_t part, uint64_t whole);

// The name of anomaly bit `bit` through the options' namer, or "anomaly_<bit>" in tmp.
const char *rep_anomaly_name(bw_anomaly_namer namer, unsigned bit, char tmp[32]);

#endif
