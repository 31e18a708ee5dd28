// SPDX-License-Identifier: MIT
// Campaigns and botnets in the report and in `botwatch campaigns` / `botwatch botnets`:
// gathers the top campaigns and the botnets of a range from the store
// (store_campaigns.h), computes the smallest number of botnets that send 90% of the
// messages, and writes the tables as text, JSON, CSV and HTML with the same escaping as
// the rest of the report. Shares are of all messages in range, so campaigns and botnets
// compare with every other figure of the report.
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report_internal.h"

enum {
    TEMPLATE_CHARS = 88,     // text: one indented line of an 100-column terminal
    VALUE_CHARS = 60,        // subjects and domains in text
    LIST_ITEMS_TEXT = 3,     // networks/countries/campaigns per botnet in text
    NINETY_PERCENT = 90,
};

static bool dup(bw_arena *arena, bw_slice s, bw_slice *out)
{
    if (s.n == 0) {
        *out = BW_SLICE_LIT("");
        return true;
    }
    *out = bw_arena_slice_dup(arena, s);
    return out->p != NULL;
}

typedef struct gather_ctx {
    bw_arena *arena;
    rep_campaigns *out;
    size_t cap;
    bool failed;
} gather_ctx;

static int gather_campaign(void *ctx, const bw_store_campaign *c)
{
    gather_ctx *g = ctx;
    if (g->out->campaign_count == g->cap)
        return 1;
    rep_campaign *r = &g->out->campaigns[g->out->campaign_count];
    *r = (rep_campaign){
        .id = c->id, .messages = c->messages, .first_seen = c->first_seen, .last_seen = c->last_seen,
        .sender_ips = c->sender_ips, .subnets24 = c->subnets24, .asns = c->asns, .botnet_id = c->botnet_id,
        .top_subject_messages = c->top_subject_messages, .top_domain_messages = c->top_domain_messages,
    };
    if (!dup(g->arena, c->botnet_label, &r->botnet_label) || !dup(g->arena, c->template_text, &r->template_text)
        || !dup(g->arena, c->top_subject, &r->top_subject) || !dup(g->arena, c->top_domain, &r->top_domain)) {
        g->failed = true;
        return 1;
    }
    g->out->campaign_count++;
    return 0;
}

static bool copy_counts(bw_arena *arena, const bw_store_count *items, size_t n, rep_list *out)
{
    out->items = n ? calloc(n, sizeof *out->items) : NULL;
    if (n && !out->items)
        return false;
    out->cap = n;
    for (size_t i = 0; i < n; i++) {
        rep_item *it = &out->items[i];
        it->number = items[i].number;
        it->count = items[i].count;
        if (!dup(arena, items[i].key, &it->key) || !dup(arena, items[i].label, &it->label)
            || !dup(arena, items[i].extra, &it->extra))
            return false;
        out->n++;
    }
    return true;
}

typedef struct ninety_ctx {
    rep_campaigns *out;
    uint64_t whole, cumulative, rank;
} ninety_ctx;

// Largest first: the first rank at which the cumulative messages reach 90% of all.
static int ninety_step(void *ctx, const bw_store_count *item)
{
    ninety_ctx *n = ctx;
    n->rank++;
    n->cumulative += item->count;
    if (n->whole > 0 && n->cumulative * 100 >= n->whole * NINETY_PERCENT) {
        n->out->ninety_reached = true;
        n->out->ninety_botnets = n->rank;
        n->out->ninety_messages = n->cumulative;
        return 1;
    }
    return 0;
}

static int gather_botnet(void *ctx, const bw_store_botnet *b)
{
    gather_ctx *g = ctx;
    rep_campaigns *out = g->out;
    if (out->botnet_count == g->cap)
        return 1;
    rep_botnet *r = &out->botnets[out->botnet_count++];
    *r = (rep_botnet){
        .id = b->id, .messages = b->messages, .campaigns = b->campaigns, .first_seen = b->first_seen,
        .last_seen = b->last_seen, .sender_ips = b->sender_ips, .subnets24 = b->subnets24,
        .stored_messages = b->stored_messages, .stored_campaigns = b->stored_campaigns,
    };
    if (!dup(g->arena, b->label, &r->label) || !copy_counts(g->arena, b->asns, b->asn_count, &r->asns)
        || !copy_counts(g->arena, b->countries, b->country_count, &r->countries)
        || !copy_counts(g->arena, b->top_campaigns, b->top_campaign_count, &r->campaigns_top)) {
        g->failed = true;
        return 1;
    }
    return 0;
}

bw_status rep_campaigns_gather(bw_store *store, const bw_store_range *range, size_t top_campaigns,
                               size_t top_botnets, size_t top_lists, bw_arena *arena, rep_campaigns *out,
                               char *errbuf)
{
    memset(out, 0, sizeof *out);
    bw_status s = bw_store_get_campaign_totals(store, range, &out->totals, errbuf);
    if (s != BW_OK)
        return s;
    if (top_campaigns > 0) {
        out->campaigns = calloc(top_campaigns, sizeof *out->campaigns);
        if (!out->campaigns)
            return bw_error(errbuf, BW_ERR_NOMEM, "campaigns: out of memory");
        gather_ctx g = { .arena = arena, .out = out, .cap = top_campaigns };
        s = bw_store_list_campaigns(store, range, top_campaigns, gather_campaign, &g, errbuf);
        if (s == BW_OK && g.failed)
            s = bw_error(errbuf, BW_ERR_NOMEM, "campaigns: out of memory");
        if (s != BW_OK)
            return s;
    }
    if (out->totals.botnets > 0) {
        ninety_ctx n = { .out = out, .whole = out->totals.messages };
        if ((s = bw_store_botnet_volumes(store, range, ninety_step, &n, errbuf)) != BW_OK)
            return s;
        size_t cap = top_botnets ? top_botnets : (size_t)out->totals.botnets;
        out->botnets = calloc(cap, sizeof *out->botnets);
        if (!out->botnets)
            return bw_error(errbuf, BW_ERR_NOMEM, "botnets: out of memory");
        gather_ctx g = { .arena = arena, .out = out, .cap = cap };
        s = bw_store_list_botnets(store, range, cap, top_lists ? top_lists : 10, gather_botnet, &g, errbuf);
        if (s == BW_OK && g.failed)
            s = bw_error(errbuf, BW_ERR_NOMEM, "botnets: out of memory");
    }
    return s;
}

void rep_campaigns_free(rep_campaigns *c)
{
    for (size_t i = 0; i < c->botnet_count; i++) {
        free(c->botnets[i].asns.items);
        free(c->botnets[i].countries.items);
        free(c->botnets[i].campaigns_top.items);
    }
    free(c->botnets);
    free(c->campaigns);
    memset(c, 0, sizeof *c);
}

// ---- shared scalars ----

int rep_json_time(bw_buf *b, int64_t t)
{
    if (t == BW_STORE_NO_TIME)
        return bw_buf_append_cstr(b, "null");
    char text[32];
    rep_format_iso(t, text);
    return bw_buf_printf(b, "\"%s\"", text);
}

// CSV leaves an unknown time empty.
int rep_csv_time(bw_buf *b, int64_t t)
{
    if (t == BW_STORE_NO_TIME)
        return 0;
    char text[32];
    rep_format_iso(t, text);
    return bw_buf_append_cstr(b, text);
}

int rep_json_share(bw_buf *b, uint64_t part, uint64_t whole)
{
    uint64_t ten_thousandths = whole ? (part * 20000 / whole + 1) / 2 : 0;
    return bw_buf_printf(b, "%" PRIu64 ".%04" PRIu64, ten_thousandths / 10000, ten_thousandths % 10000);
}

int rep_text_range(bw_buf *b, const bw_store_range *range)
{
    if (!range->has_since && !range->has_until)
        return bw_buf_append_cstr(b, "Range        all messages\n");
    char d1[32] = "start", d2[32] = "end";
    if (range->has_since)
        rep_format_iso(range->since, d1);
    if (range->has_until)
        rep_format_iso(range->until, d2);
    return bw_buf_printf(b, "Range        %s .. %s (arrival time, until exclusive)\n", d1, d2);
}

// ---- text ----

static int text_day(bw_buf *b, int64_t t)
{
    char d[32] = "-";
    if (t != BW_STORE_NO_TIME)
        rep_format_day(t, d);
    return bw_buf_printf(b, "%-10s", d);
}

static int text_count_share(bw_buf *b, uint64_t count, uint64_t whole)
{
    char n[32], share[32];
    rep_format_count(count, n);
    rep_format_share(count, whole, share);
    return bw_buf_printf(b, "%10s %6s%%", n, share);
}

int rep_text_campaign_summary(bw_buf *b, const rep_campaigns *c)
{
    const bw_store_campaign_totals *t = &c->totals;
    char n1[32], n2[32], n3[32], s1[32], n4[32];
    rep_format_count(t->campaigns, n1);
    rep_format_count(t->in_campaigns, n2);
    rep_format_count(t->messages, n3);
    rep_format_share(t->in_campaigns, t->messages, s1);
    int rc = bw_buf_printf(b, "  %s campaign%s hold %s of %s messages (%s%%)", n1, t->campaigns == 1 ? "" : "s",
                           n2, n3, s1);
    rep_format_count(t->botnets, n4);
    rep_format_count(t->in_botnets, n2);
    rep_format_share(t->in_botnets, t->messages, s1);
    rc |= bw_buf_printf(b, "; %s botnet%s send %s (%s%%)\n", n4, t->botnets == 1 ? "" : "s", n2, s1);
    if (t->botnets == 0)
        return rc;
    if (c->ninety_reached) {
        rep_format_count(c->ninety_botnets, n1);
        rep_format_share(c->ninety_messages, t->messages, s1);
        rc |= bw_buf_printf(b, "  %s botnet%s send%s 90%% of the spam (%s%% with the largest first)\n", n1,
                            c->ninety_botnets == 1 ? "" : "s", c->ninety_botnets == 1 ? "s" : "", s1);
    } else {
        rep_format_share(t->in_botnets, t->messages, s1);
        rc |= bw_buf_printf(b, "  no number of botnets sends 90%% of the spam: all %s together send %s%%\n", n4, s1);
    }
    return rc;
}

static int text_labelled(bw_buf *b, const char *label, bw_slice value, size_t max_chars, uint64_t count,
                         bool with_count)
{
    int rc = bw_buf_printf(b, "         %-9s ", label);
    rc |= rep_append_terminal(b, value, max_chars, NULL);
    if (with_count) {
        char n[32];
        rep_format_count(count, n);
        rc |= bw_buf_printf(b, " (%s)", n);
    }
    return rc | bw_buf_append_char(b, '\n');
}

int rep_text_campaigns(bw_buf *b, const rep_campaigns *c, uint64_t whole)
{
    if (c->campaign_count == 0)
        return bw_buf_append_cstr(b, c->totals.campaigns_stored
                                         ? "  (no campaign has messages in this range)\n"
                                         : "  (no campaigns yet: `botwatch ingest` finds them as it stores mail)\n");
    int rc = bw_buf_printf(b, "  %3s  %8s %10s %7s  %-10s  %-10s %7s %6s %5s  %s\n", "#", "Campaign", "Messages",
                           "Share", "First", "Last", "IPs", "/24s", "ASNs", "Botnet");
    for (size_t i = 0; i < c->campaign_count; i++) {
        const rep_campaign *r = &c->campaigns[i];
        char ips[32], nets[32], asns[32];
        rep_format_count(r->sender_ips, ips);
        rep_format_count(r->subnets24, nets);
        rep_format_count(r->asns, asns);
        rc |= bw_buf_printf(b, "  %3zu  %8" PRId64 " ", i + 1, r->id);
        rc |= text_count_share(b, r->messages, whole);
        rc |= bw_buf_append_cstr(b, "  ");
        rc |= text_day(b, r->first_seen);
        rc |= bw_buf_append_cstr(b, "  ");
        rc |= text_day(b, r->last_seen);
        rc |= bw_buf_printf(b, " %7s %6s %5s  ", ips, nets, asns);
        if (r->botnet_id) {
            rc |= bw_buf_printf(b, "%" PRId64, r->botnet_id);
            if (r->botnet_label.n) {
                rc |= bw_buf_append_char(b, ' ');
                rc |= rep_append_terminal(b, r->botnet_label, 24, NULL);
            }
        } else {
            rc |= bw_buf_append_char(b, '-');
        }
        rc |= bw_buf_append_char(b, '\n');
        if (r->top_subject.n)
            rc |= text_labelled(b, "subject", r->top_subject, VALUE_CHARS, r->top_subject_messages, true);
        if (r->top_domain.n)
            rc |= text_labelled(b, "domain", r->top_domain, VALUE_CHARS, r->top_domain_messages, true);
        if (r->template_text.n)
            rc |= text_labelled(b, "template", r->template_text, TEMPLATE_CHARS, 0, false);
    }
    return rc;
}

static int text_list(bw_buf *b, const char *label, const rep_list *list, int kind)
{
    if (list->n == 0)
        return 0;
    int rc = bw_buf_printf(b, "         %-9s ", label);
    for (size_t i = 0; i < list->n && i < LIST_ITEMS_TEXT; i++) {
        const rep_item *it = &list->items[i];
        char n[32];
        rep_format_count(it->count, n);
        if (i)
            rc |= bw_buf_append_cstr(b, ", ");
        if (kind == 0) {          // networks: AS number, name, IPs
            rc |= bw_buf_printf(b, "AS%" PRId64 " ", it->number);
            rc |= rep_append_terminal(b, it->label.n ? it->label : BW_SLICE_LIT("(no name)"), 28, NULL);
            rc |= bw_buf_printf(b, " (%s IP%s)", n, it->count == 1 ? "" : "s");
        } else if (kind == 1) {   // countries
            rc |= rep_append_terminal(b, it->key, 8, NULL);
            rc |= bw_buf_printf(b, " (%s IP%s)", n, it->count == 1 ? "" : "s");
        } else {                  // campaigns
            rc |= bw_buf_printf(b, "%" PRId64 " (%s)", it->number, n);
        }
    }
    if (list->n > LIST_ITEMS_TEXT)
        rc |= bw_buf_append_cstr(b, ", ...");
    return rc | bw_buf_append_char(b, '\n');
}

int rep_text_botnets(bw_buf *b, const rep_campaigns *c, uint64_t whole)
{
    if (c->botnet_count == 0)
        return bw_buf_append_cstr(b, c->totals.botnets_stored
                                         ? "  (no botnet has messages in this range)\n"
                                         : "  (no botnets inferred yet: `botwatch ingest` infers them after each run)\n");
    int rc = bw_buf_printf(b, "  %3s  %6s %10s %7s %7s %9s %7s %6s  %-10s  %-10s  %s\n", "#", "Botnet", "Messages",
                           "Share", "Cumul.", "Campaigns", "IPs", "/24s", "First", "Last", "Label");
    uint64_t cumulative = 0;
    for (size_t i = 0; i < c->botnet_count; i++) {
        const rep_botnet *r = &c->botnets[i];
        cumulative += r->messages;
        char cum[32], camps[32], ips[32], nets[32];
        rep_format_share(cumulative, whole, cum);
        rep_format_count(r->campaigns, camps);
        rep_format_count(r->sender_ips, ips);
        rep_format_count(r->subnets24, nets);
        rc |= bw_buf_printf(b, "  %3zu  %6" PRId64 " ", i + 1, r->id);
        rc |= text_count_share(b, r->messages, whole);
        rc |= bw_buf_printf(b, " %6s%% %9s %7s %6s  ", cum, camps, ips, nets);
        rc |= text_day(b, r->first_seen);
        rc |= bw_buf_append_cstr(b, "  ");
        rc |= text_day(b, r->last_seen);
        rc |= bw_buf_append_cstr(b, "  ");
        rc |= rep_append_terminal(b, r->label.n ? r->label : BW_SLICE_LIT("-"), 32, NULL);
        rc |= bw_buf_append_char(b, '\n');
        rc |= text_list(b, "networks", &r->asns, 0);
        rc |= text_list(b, "countries", &r->countries, 1);
        rc |= text_list(b, "campaigns", &r->campaigns_top, 2);
    }
    if (c->totals.botnets > c->botnet_count)
        rc |= bw_buf_printf(b, "  ... and %" PRIu64 " more\n", c->totals.botnets - c->botnet_count);
    return rc;
}

// ---- JSON ----

static int json_value_count(bw_buf *b, const char *name, bw_slice value, uint64_t count)
{
    int rc = bw_buf_printf(b, ", \"%s\": ", name);
    if (value.n == 0)
        return rc | bw_buf_append_cstr(b, "null");
    rc |= bw_buf_append_cstr(b, "{\"value\": ");
    rc |= rep_append_json(b, value);
    return rc | bw_buf_printf(b, ", \"messages\": %" PRIu64 "}", count);
}

static int json_totals(bw_buf *b, const rep_campaigns *c, const char *indent)
{
    const bw_store_campaign_totals *t = &c->totals;
    int rc = bw_buf_printf(b, "%s\"campaign_totals\": {\"messages\": %" PRIu64 ", \"in_campaigns\": %" PRIu64
                              ", \"in_botnets\": %" PRIu64 ", \"campaigns\": %" PRIu64 ", \"botnets\": %" PRIu64
                              ", \"campaigns_stored\": %" PRIu64 ", \"botnets_stored\": %" PRIu64,
                           indent, t->messages, t->in_campaigns, t->in_botnets, t->campaigns, t->botnets,
                           t->campaigns_stored, t->botnets_stored);
    rc |= bw_buf_append_cstr(b, ",\n");
    rc |= bw_buf_printf(b, "%s  \"botnets_for_90_percent\": ", indent);
    rc |= c->ninety_reached ? bw_buf_printf(b, "%" PRIu64, c->ninety_botnets) : bw_buf_append_cstr(b, "null");
    rc |= bw_buf_printf(b, ", \"messages_of_those_botnets\": %" PRIu64 "}", c->ninety_reached ? c->ninety_messages : 0);
    return rc;
}

static int json_list(bw_buf *b, const rep_list *list, int kind)
{
    int rc = bw_buf_append_char(b, '[');
    for (size_t i = 0; i < list->n; i++) {
        const rep_item *it = &list->items[i];
        rc |= bw_buf_append_cstr(b, i ? ", {" : "{");
        if (kind == 0) {
            rc |= bw_buf_printf(b, "\"asn\": %" PRId64 ", \"name\": ", it->number);
            rc |= rep_append_json(b, it->label);
            rc |= bw_buf_printf(b, ", \"ips\": %" PRIu64 "}", it->count);
        } else if (kind == 1) {
            rc |= bw_buf_append_cstr(b, "\"country\": ");
            rc |= rep_append_json(b, it->key);
            rc |= bw_buf_printf(b, ", \"ips\": %" PRIu64 "}", it->count);
        } else {
            rc |= bw_buf_printf(b, "\"campaign\": %" PRId64 ", \"messages\": %" PRIu64 "}", it->number, it->count);
        }
    }
    return rc | bw_buf_append_char(b, ']');
}

int rep_json_campaigns(bw_buf *b, const rep_campaigns *c, const char *indent, bool campaigns, bool botnets)
{
    uint64_t whole = c->totals.messages;
    int rc = json_totals(b, c, indent);
    if (campaigns) {
        rc |= bw_buf_printf(b, ",\n%s\"campaigns\": [", indent);
        for (size_t i = 0; i < c->campaign_count; i++) {
            const rep_campaign *r = &c->campaigns[i];
            rc |= bw_buf_printf(b, "%s\n%s  {\"rank\": %zu, \"id\": %" PRId64 ", \"messages\": %" PRIu64 ", \"share\": ",
                                i ? "," : "", indent, i + 1, r->id, r->messages);
            rc |= rep_json_share(b, r->messages, whole);
            rc |= bw_buf_append_cstr(b, ", \"first_seen\": ");
            rc |= rep_json_time(b, r->first_seen);
            rc |= bw_buf_append_cstr(b, ", \"last_seen\": ");
            rc |= rep_json_time(b, r->last_seen);
            rc |= bw_buf_printf(b, ",\n%s   \"sender_ips\": %" PRIu64 ", \"subnets24\": %" PRIu64 ", \"asns\": %" PRIu64
                                   ", \"botnet\": ", indent, r->sender_ips, r->subnets24, r->asns);
            rc |= r->botnet_id ? bw_buf_printf(b, "%" PRId64, r->botnet_id) : bw_buf_append_cstr(b, "null");
            rc |= bw_buf_append_cstr(b, ", \"botnet_label\": ");
            rc |= rep_append_json(b, r->botnet_label);
            rc |= json_value_count(b, "top_subject", r->top_subject, r->top_subject_messages);
            rc |= json_value_count(b, "top_domain", r->top_domain, r->top_domain_messages);
            rc |= bw_buf_printf(b, ",\n%s   \"template\": ", indent);
            rc |= rep_append_json(b, r->template_text);
            rc |= bw_buf_append_char(b, '}');
        }
        rc |= bw_buf_printf(b, c->campaign_count ? "\n%s]" : "%s]", c->campaign_count ? indent : "");
    }
    if (botnets) {
        rc |= bw_buf_printf(b, ",\n%s\"botnets\": [", indent);
        for (size_t i = 0; i < c->botnet_count; i++) {
            const rep_botnet *r = &c->botnets[i];
            rc |= bw_buf_printf(b, "%s\n%s  {\"rank\": %zu, \"id\": %" PRId64 ", \"label\": ", i ? "," : "", indent, i + 1,
                                r->id);
            rc |= rep_append_json(b, r->label);
            rc |= bw_buf_printf(b, ", \"messages\": %" PRIu64 ", \"share\": ", r->messages);
            rc |= rep_json_share(b, r->messages, whole);
            rc |= bw_buf_printf(b, ", \"campaigns\": %" PRIu64 ", \"sender_ips\": %" PRIu64 ", \"subnets24\": %" PRIu64,
                                r->campaigns, r->sender_ips, r->subnets24);
            rc |= bw_buf_append_cstr(b, ",\n");
            rc |= bw_buf_printf(b, "%s   \"first_seen\": ", indent);
            rc |= rep_json_time(b, r->first_seen);
            rc |= bw_buf_append_cstr(b, ", \"last_seen\": ");
            rc |= rep_json_time(b, r->last_seen);
            rc |= bw_buf_printf(b, ", \"stored_messages\": %" PRIu64 ", \"stored_campaigns\": %" PRIu64 ",\n",
                                r->stored_messages, r->stored_campaigns);
            rc |= bw_buf_printf(b, "%s   \"top_asns\": ", indent);
            rc |= json_list(b, &r->asns, 0);
            rc |= bw_buf_append_cstr(b, ",\n");
            rc |= bw_buf_printf(b, "%s   \"top_countries\": ", indent);
            rc |= json_list(b, &r->countries, 1);
            rc |= bw_buf_append_cstr(b, ",\n");
            rc |= bw_buf_printf(b, "%s   \"top_campaigns\": ", indent);
            rc |= json_list(b, &r->campaigns_top, 2);
            rc |= bw_buf_append_char(b, '}');
        }
        rc |= bw_buf_printf(b, c->botnet_count ? "\n%s]" : "%s]", c->botnet_count ? indent : "");
    }
    return rc;
}

// ---- CSV ----

#define EOL "\r\n"

static int csv_list(bw_buf *b, const rep_list *list, int kind, bw_buf *scratch)
{
    bw_buf_clear(scratch);
    int rc = 0;
    for (size_t i = 0; i < list->n; i++) {
        const rep_item *it = &list->items[i];
        if (i)
            rc |= bw_buf_append_char(scratch, ';');
        if (kind == 0) {
            rc |= bw_buf_printf(scratch, "AS%" PRId64 " ", it->number);
            rc |= bw_buf_append_slice(scratch, it->label);
        } else if (kind == 1) {
            rc |= bw_buf_append_slice(scratch, it->key);
        } else {
            rc |= bw_buf_printf(scratch, "%" PRId64, it->number);
        }
        rc |= bw_buf_printf(scratch, " (%" PRIu64 ")", it->count);
    }
    return rc | rep_append_csv(b, bw_buf_slice(scratch));
}

int rep_csv_campaigns(bw_buf *b, const rep_campaigns *c, bool campaigns, bool botnets)
{
    const bw_store_campaign_totals *t = &c->totals;
    uint64_t whole = t->messages;
    int rc = bw_buf_append_cstr(b, "section,key,value" EOL);
    rc |= bw_buf_printf(b, "campaign_totals,messages,%" PRIu64 EOL "campaign_totals,in_campaigns,%" PRIu64 EOL
                           "campaign_totals,in_botnets,%" PRIu64 EOL "campaign_totals,campaigns,%" PRIu64 EOL
                           "campaign_totals,botnets,%" PRIu64 EOL "campaign_totals,campaigns_stored,%" PRIu64 EOL
                           "campaign_totals,botnets_stored,%" PRIu64 EOL "campaign_totals,botnets_for_90_percent,",
                        t->messages, t->in_campaigns, t->in_botnets, t->campaigns, t->botnets, t->campaigns_stored,
                        t->botnets_stored);
    if (c->ninety_reached)
        rc |= bw_buf_printf(b, "%" PRIu64, c->ninety_botnets);
    rc |= bw_buf_append_cstr(b, EOL);
    if (campaigns) {
        rc |= bw_buf_append_cstr(b, EOL "section,rank,campaign,messages,share,first_seen,last_seen,sender_ips,"
                                        "subnets24,asns,botnet,botnet_label,top_subject,top_subject_messages,"
                                        "top_domain,top_domain_messages,template" EOL);
        for (size_t i = 0; i < c->campaign_count; i++) {
            const rep_campaign *r = &c->campaigns[i];
            rc |= bw_buf_printf(b, "top_campaigns,%zu,%" PRId64 ",%" PRIu64 ",", i + 1, r->id, r->messages);
            rc |= rep_json_share(b, r->messages, whole);
            rc |= bw_buf_append_char(b, ',');
            rc |= rep_csv_time(b, r->first_seen);
            rc |= bw_buf_append_char(b, ',');
            rc |= rep_csv_time(b, r->last_seen);
            rc |= bw_buf_printf(b, ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",", r->sender_ips, r->subnets24, r->asns);
            if (r->botnet_id)
                rc |= bw_buf_printf(b, "%" PRId64, r->botnet_id);
            rc |= bw_buf_append_char(b, ',');
            rc |= rep_append_csv(b, r->botnet_label);
            rc |= bw_buf_append_char(b, ',');
            rc |= rep_append_csv(b, r->top_subject);
            rc |= bw_buf_printf(b, ",%" PRIu64 ",", r->top_subject_messages);
            rc |= rep_append_csv(b, r->top_domain);
            rc |= bw_buf_printf(b, ",%" PRIu64 ",", r->top_domain_messages);
            rc |= rep_append_csv(b, r->template_text);
            rc |= bw_buf_append_cstr(b, EOL);
        }
    }
    if (botnets) {
        bw_buf scratch = BW_BUF_INIT;
        rc |= bw_buf_append_cstr(b, EOL "section,rank,botnet,label,messages,share,cumulative_share,campaigns,"
                                        "sender_ips,subnets24,first_seen,last_seen,top_asns,top_countries,"
                                        "top_campaigns" EOL);
        uint64_t cumulative = 0;
        for (size_t i = 0; i < c->botnet_count; i++) {
            const rep_botnet *r = &c->botnets[i];
            cumulative += r->messages;
            rc |= bw_buf_printf(b, "botnets,%zu,%" PRId64 ",", i + 1, r->id);
            rc |= rep_append_csv(b, r->label);
            rc |= bw_buf_printf(b, ",%" PRIu64 ",", r->messages);
            rc |= rep_json_share(b, r->messages, whole);
            rc |= bw_buf_append_char(b, ',');
            rc |= rep_json_share(b, cumulative, whole);
            rc |= bw_buf_printf(b, ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",", r->campaigns, r->sender_ips, r->subnets24);
            rc |= rep_csv_time(b, r->first_seen);
            rc |= bw_buf_append_char(b, ',');
            rc |= rep_csv_time(b, r->last_seen);
            rc |= bw_buf_append_char(b, ',');
            rc |= csv_list(b, &r->asns, 0, &scratch);
            rc |= bw_buf_append_char(b, ',');
            rc |= csv_list(b, &r->countries, 1, &scratch);
            rc |= bw_buf_append_char(b, ',');
            rc |= csv_list(b, &r->campaigns_top, 2, &scratch);
            rc |= bw_buf_append_cstr(b, EOL);
        }
        bw_buf_free(&scratch);
    }
    return rc;
}

// ---- HTML ----

static int html_count(bw_buf *b, uint64_t count, uint64_t whole, bool share)
{
    char n[32], s[32];
    rep_format_count(count, n);
    int rc = bw_buf_printf(b, "<td class=\"n\">%s</td>", n);
    if (share) {
        rep_format_share(count, whole, s);
        rc |= bw_buf_printf(b, "<td class=\"n\">%s%%</td>", s);
    }
    return rc;
}

static int html_day(bw_buf *b, int64_t t)
{
    char d[32] = "";
    if (t != BW_STORE_NO_TIME)
        rep_format_day(t, d);
    return bw_buf_printf(b, "<td class=\"d\">%s</td>", d);
}

int rep_html_campaigns(bw_buf *b, const rep_campaigns *c)
{
    const bw_store_campaign_totals *t = &c->totals;
    uint64_t whole = t->messages;
    char n[32], s[32];
    int rc = bw_buf_append_cstr(b, "<section><h2>Campaigns and botnets</h2><div class=\"cards\">");
    rep_format_count(t->campaigns, n);
    rc |= bw_buf_printf(b, "<div class=\"card\"><div class=\"k\">Campaigns</div><div class=\"v\">%s</div></div>", n);
    rep_format_share(t->in_campaigns, whole, s);
    rc |= bw_buf_printf(b, "<div class=\"card\"><div class=\"k\">In campaigns</div><div class=\"v\">%s%%</div></div>", s);
    rep_format_count(t->botnets, n);
    rc |= bw_buf_printf(b, "<div class=\"card\"><div class=\"k\">Botnets</div><div class=\"v\">%s</div></div>", n);
    if (c->ninety_reached) {
        rep_format_count(c->ninety_botnets, n);
        rc |= bw_buf_printf(b, "<div class=\"card\"><div class=\"k\">Botnets sending 90%%</div>"
                               "<div class=\"v\">%s</div></div>", n);
    } else {
        rep_format_share(t->in_botnets, whole, s);
        rc |= bw_buf_printf(b, "<div class=\"card\"><div class=\"k\">Sent by botnets</div>"
                               "<div class=\"v\">%s%%</div></div>", s);
    }
    rc |= bw_buf_append_cstr(b, "</div>");
    if (t->botnets > 0) {
        if (c->ninety_reached) {
            rep_format_count(c->ninety_botnets, n);
            rc |= bw_buf_printf(b, "<p><strong>%s botnet%s send%s 90%% of the spam.</strong></p>", n,
                                c->ninety_botnets == 1 ? "" : "s", c->ninety_botnets == 1 ? "s" : "");
        } else {
            rep_format_share(t->in_botnets, whole, s);
            rc |= bw_buf_printf(b, "<p>No number of botnets sends 90%% of the spam: together they send %s%%.</p>", s);
        }
    }
    // Botnet shares as horizontal bars, then the tables.
    if (c->botnet_count > 0) {
        enum { W = 1100, ROW = 22, LABEL = 240, COUNT = 90 };
        int h = (int)c->botnet_count * ROW + 6;
        uint64_t peak = c->botnets[0].messages ? c->botnets[0].messages : 1;
        rc |= bw_buf_printf(b, "<svg viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"Botnets by messages\">", W, h);
        for (size_t i = 0; i < c->botnet_count; i++) {
            const rep_botnet *r = &c->botnets[i];
            int y = (int)i * ROW + 4;
            rc |= bw_buf_printf(b, "<text class=\"lbl\" x=\"0\" y=\"%d\">Botnet %" PRId64 " ", y + 14, r->id);
            rc |= rep_append_html(b, r->label, 24);
            rc |= bw_buf_append_cstr(b, "</text>");
            double w = (double)(W - LABEL - COUNT) * (double)r->messages / (double)peak;
            rep_format_share(r->messages, whole, s);
            rc |= bw_buf_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"15\" rx=\"2\" fill=\"#7a4fd8\"/>"
                                   "<text x=\"%.1f\" y=\"%d\">%s%%</text>",
                                LABEL, y + 3, w < 1 ? 1 : w, LABEL + (w < 1 ? 1 : w) + 6, y + 14, s);
        }
        rc |= bw_buf_append_cstr(b, "</svg>");
        rc |= bw_buf_append_cstr(b, "<table><tr><th>Botnet</th><th>Label</th><th class=\"n\">Messages</th>"
                                    "<th class=\"n\">Share</th><th class=\"n\">Campaigns</th><th class=\"n\">IPs</th>"
                                    "<th class=\"n\">/24s</th><th>First</th><th>Last</th><th>Top networks</th></tr>");
        for (size_t i = 0; i < c->botnet_count; i++) {
            const rep_botnet *r = &c->botnets[i];
            rc |= bw_buf_printf(b, "<tr><td class=\"n\">%" PRId64 "</td><td class=\"w\">", r->id);
            rc |= rep_append_html(b, r->label, 60);
            rc |= bw_buf_append_cstr(b, "</td>");
            rc |= html_count(b, r->messages, whole, true);
            rc |= html_count(b, r->campaigns, 0, false);
            rc |= html_count(b, r->sender_ips, 0, false);
            rc |= html_count(b, r->subnets24, 0, false);
            rc |= html_day(b, r->first_seen);
            rc |= html_day(b, r->last_seen);
            rc |= bw_buf_append_cstr(b, "<td class=\"w\">");
            for (size_t k = 0; k < r->asns.n && k < 3; k++) {
                rc |= bw_buf_printf(b, "%sAS%" PRId64 " ", k ? ", " : "", r->asns.items[k].number);
                rc |= rep_append_html(b, r->asns.items[k].label, 40);
            }
            rc |= bw_buf_append_cstr(b, "</td></tr>");
        }
        rc |= bw_buf_append_cstr(b, "</table>");
    }
    if (c->campaign_count == 0) {
        rc |= bw_buf_append_cstr(b, t->campaigns_stored ? "<p class=\"muted\">No campaign has messages in this range.</p>"
                                                        : "<p class=\"muted\">No campaigns yet.</p>");
    } else {
        rc |= bw_buf_append_cstr(b, "<h2 class=\"row\">Top campaigns</h2><table><tr><th>#</th><th>Campaign</th>"
                                    "<th class=\"n\">Messages</th><th class=\"n\">Share</th><th>First</th><th>Last</th>"
                                    "<th class=\"n\">IPs</th><th>Botnet</th><th>Top subject</th><th>Template</th></tr>");
        for (size_t i = 0; i < c->campaign_count; i++) {
            const rep_campaign *r = &c->campaigns[i];
            rc |= bw_buf_printf(b, "<tr><td class=\"n\">%zu</td><td class=\"n\">%" PRId64 "</td>", i + 1, r->id);
            rc |= html_count(b, r->messages, whole, true);
            rc |= html_day(b, r->first_seen);
            rc |= html_day(b, r->last_seen);
            rc |= html_count(b, r->sender_ips, 0, false);
            if (r->botnet_id)
                rc |= bw_buf_printf(b, "<td class=\"n\">%" PRId64 "</td>", r->botnet_id);
            else
                rc |= bw_buf_append_cstr(b, "<td></td>");
            rc |= bw_buf_append_cstr(b, "<td class=\"w\">");
            rc |= rep_append_html(b, r->top_subject, 80);
            rc |= bw_buf_append_cstr(b, "</td><td class=\"w\"><code>");
            rc |= rep_append_html(b, r->template_text, 160);
            rc |= bw_buf_append_cstr(b, "</code></td></tr>");
        }
        rc |= bw_buf_append_cstr(b, "</table>");
    }
    return rc | bw_buf_append_cstr(b, "</section>\n");
}
