// SPDX-License-Identifier: MIT
// Campaigns in ingest (docs/campaigns.md §7): the index is loaded from the store at the
// start of a run, fed by the ordered writer, and every campaign it lets go (evicted, or
// still live at the end of the run and changed in it) becomes a `campaigns` row with its
// links; the index itself is saved back so the next run continues the same campaigns with
// the same ids.
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "botwatch/ingest.h"
#include "botwatch/log.h"
#include "ingest_internal.h"

// A To: value longer than this is not looked at past it: trap addresses are short, and the
// normaliser only needs the first address and its display name.
#define MAX_RECIPIENT_BYTES 512

static bw_slice strip_quotes(bw_slice s)
{
    s = bw_slice_trim(s);
    if (s.n >= 2 && s.p[0] == '"' && s.p[s.n - 1] == '"')
        s = bw_slice_trim(bw_slice_make(s.p + 1, s.n - 2));
    return s;
}

void bw_ingest_recipient(const bw_message *msg, bw_slice *addr, bw_slice *name)
{
    *addr = *name = BW_SLICE_NULL;
    const bw_header *h = msg ? bw_message_header(msg, "To", 0) : NULL;
    if (!h || !h->value.p)
        return;
    bw_slice v = h->value;
    if (v.n > MAX_RECIPIENT_BYTES)
        v.n = MAX_RECIPIENT_BYTES;
    // The first address: up to a comma outside quotes and angle brackets.
    size_t lt = SIZE_MAX, gt = SIZE_MAX, end = v.n;
    bool quoted = false;
    for (size_t i = 0; i < v.n; i++) {
        char c = v.p[i];
        bool in_angle = lt != SIZE_MAX && gt == SIZE_MAX;
        if (c == '"' && !in_angle)
            quoted = !quoted;
        else if (quoted)
            continue;
        else if (c == '<' && lt == SIZE_MAX)
            lt = i;
        else if (c == '>' && in_angle)
            gt = i;
        else if (c == ',' && !in_angle) {
            end = i;
            break;
        }
    }
    bw_slice a;
    if (lt != SIZE_MAX) {
        size_t stop = gt != SIZE_MAX ? gt : end;
        a = bw_slice_trim(bw_slice_make(v.p + lt + 1, stop > lt ? stop - lt - 1 : 0));
        *name = strip_quotes(bw_slice_make(v.p, lt));
    } else {
        a = bw_slice_trim(bw_slice_make(v.p, end));
    }
    // "undisclosed-recipients:;" and other non-addresses: no recipient.
    if (a.n && memchr(a.p, '@', a.n))
        *addr = a;
}

// ---- campaign rows ------------------------------------------------------------------

// Decimal digits of v after the prefix byte pre (0: none), without printf (ids, counts and
// times are most of the JSON a campaign row holds: 16 samples a campaign).
static int append_u64(bw_buf *b, char pre, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    if (pre)
        tmp[--i] = pre;
    return bw_buf_append(b, tmp + i, sizeof tmp - i);
}

static int append_i64(bw_buf *b, int64_t v)
{
    if (v >= 0)
        return append_u64(b, 0, (uint64_t)v);
    return bw_buf_append_char(b, '-') | append_u64(b, 0, (uint64_t)0 - (uint64_t)v);
}

static int json_top(bw_buf *b, const bw_campaign_top *top, size_t n)
{
    int rc = bw_buf_append_char(b, '[');
    for (size_t i = 0; i < n; i++) {
        rc |= bw_buf_append(b, i ? ",{\"value\":" : "{\"value\":", i ? 10 : 9);
        rc |= bw_buf_append_json_string(b, top[i].value);
        rc |= bw_buf_append(b, ",\"count\":", 9) | append_u64(b, 0, top[i].count) | bw_buf_append_char(b, '}');
    }
    return rc | bw_buf_append_char(b, ']');
}

static int json_samples(bw_buf *b, const uint64_t *ids, size_t n)
{
    int rc = bw_buf_append_char(b, '[');
    for (size_t i = 0; i < n; i++)
        rc |= append_u64(b, i ? ',' : 0, ids[i]);
    return rc | bw_buf_append_char(b, ']');
}

static int json_links(bw_buf *b, const bw_campaign_link *links, size_t n)
{
    int rc = bw_buf_append_char(b, '[');
    for (size_t i = 0; i < n; i++) {
        rc |= bw_buf_append(b, i ? ",{\"campaign\":" : "{\"campaign\":", i ? 13 : 12) |
              append_u64(b, 0, links[i].other_id) | bw_buf_append(b, ",\"domain\":", 10);
        rc |= bw_buf_append_json_string(b, links[i].domain);
        rc |= bw_buf_append(b, ",\"time\":", 8) | append_i64(b, links[i].time) | bw_buf_append_char(b, '}');
    }
    return rc | bw_buf_append_char(b, ']');
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void rows_free(rows_out *r)
{
    free(r->rows);
    free(r->links);
    bw_buf_free(&r->text);
    memset(r, 0, sizeof *r);
}

// Builds the row of one summary into r (appended); CPU only, no store access.
static bw_status build_row(ingest_campaigns *c, rows_out *r, const bw_campaign_summary *s, bool in_memory)
{
    if (ingest_grow((void **)&r->rows, &r->cap, r->count + 1, sizeof *r->rows) ||
        ingest_grow((void **)&r->links, &r->link_cap, r->link_count + s->link_count, sizeof *r->links))
        return BW_ERR_NOMEM;
    for (int i = 0; i < 4; i++)
        bw_buf_clear(&c->json[i]);
    // Samples in ascending id order: the reservoir's slot order is an implementation detail.
    uint64_t *samples = s->sample_count ? malloc(s->sample_count * sizeof *samples) : NULL;
    if (s->sample_count && !samples)
        return BW_ERR_NOMEM;
    if (s->sample_count) {
        memcpy(samples, s->samples, s->sample_count * sizeof *samples);
        qsort(samples, s->sample_count, sizeof *samples, cmp_u64);
    }
    int rc = json_top(&c->json[0], s->subjects, s->subject_count) | json_top(&c->json[1], s->domains, s->domain_count) |
             json_samples(&c->json[2], samples, s->sample_count) | json_links(&c->json[3], s->links, s->link_count);
    free(samples);
    if (rc)
        return BW_ERR_NOMEM;
    row_out *o = &r->rows[r->count];
    *o = (row_out){ .row = {
        .id = s->id, .first_seen = s->first_seen, .last_seen = s->last_seen, .messages = s->messages,
        .sender_ips = s->sender_ips, .subnets24 = s->subnets24, .asns = s->asns,
        .template_text = s->template_text, .in_memory = in_memory,
    } };
    for (int i = 0; i < 4; i++) {
        o->json_off[i] = r->text.n;
        o->json_len[i] = c->json[i].n;
        if (bw_buf_append(&r->text, c->json[i].p ? c->json[i].p : "", c->json[i].n) != 0)
            return BW_ERR_NOMEM;
    }
    o->link_first = r->link_count;
    for (size_t i = 0; i < s->link_count; i++) {
        if (s->links[i].other_id == s->id)
            continue;
        link_out *l = &r->links[r->link_count++];
        *l = (link_out){ s->links[i].other_id, s->links[i].time, r->text.n, s->links[i].domain.n };
        if (bw_buf_append(&r->text, s->links[i].domain.p ? s->links[i].domain.p : "", s->links[i].domain.n) != 0)
            return BW_ERR_NOMEM;
    }
    o->link_count = r->link_count - o->link_first;
    r->count++;
    return BW_OK;
}

static bw_status write_rows(ingest_campaigns *c, const rows_out *r, char *errbuf)
{
    bw_status st = BW_OK;
    for (size_t k = 0; k < r->count && st == BW_OK; k++) {
        bw_store_campaign_row row = r->rows[k].row;
        bw_slice *cols[4] = { &row.subjects_json, &row.domains_json, &row.samples_json, &row.links_json };
        for (int i = 0; i < 4; i++)
            *cols[i] = bw_slice_make(r->text.p + r->rows[k].json_off[i], r->rows[k].json_len[i]);
        st = bw_store_put_campaign(c->store, &row, errbuf);
        for (size_t i = 0; st == BW_OK && i < r->rows[k].link_count; i++) {
            const link_out *l = &r->links[r->rows[k].link_first + i];
            st = bw_store_add_campaign_link(c->store, row.id, l->other_id,
                                            bw_slice_make(r->text.p + l->domain_off, l->domain_len), l->time, errbuf);
        }
    }
    return st;
}

static bw_status put_summary(ingest_campaigns *c, const bw_campaign_summary *s, bool in_memory, char *errbuf)
{
    rows_out *r = &c->evicted;
    r->count = r->link_count = 0;
    bw_buf_clear(&r->text);
    if (build_row(c, r, s, in_memory) != BW_OK)
        return bw_error(errbuf, BW_ERR_NOMEM, "out of memory writing campaign %llu", (unsigned long long)s->id);
    return write_rows(c, r, errbuf);
}

// The index hands over a campaign it evicts: its row becomes final (in_memory = 0). Runs in
// the writer, inside its batch; a failure is kept for the writer to return.
static void on_evict(void *ctx, const bw_campaign_summary *summary)
{
    ingest_campaigns *c = ctx;
    if (c->status != BW_OK)
        return;
    c->status = put_summary(c, summary, false, c->error);
}

// ---- open / finish ------------------------------------------------------------------

bw_status ingest_campaigns_open(ingest_campaigns *c, bw_store *store, const bw_campaign_config *base, bool reset,
                                char *errbuf)
{
    memset(c, 0, sizeof *c);
    c->store = store;
    for (int i = 0; i < 4; i++)
        c->json[i] = BW_BUF_INIT;
    c->evicted.text = c->final.text = c->state = (bw_buf)BW_BUF_INIT;
    if (base)
        c->cfg = *base;
    else
        bw_campaign_config_default(&c->cfg);
    bw_status st = bw_store_hash_key(store, &c->cfg.key, errbuf);
    if (st != BW_OK)
        return st;
    c->cfg.on_evict = on_evict;
    c->cfg.evict_ctx = c;
    c->index = bw_campaign_index_new(&c->cfg, errbuf);
    if (!c->index)
        return BW_ERR_INVALID;

    bw_buf blob = BW_BUF_INIT;
    int64_t version = 0, saved_at = 0;
    st = bw_store_campaign_state_get(store, &blob, &version, &saved_at, errbuf);
    if (st == BW_OK) {
        char why[BW_ERRBUF_SIZE];
        st = bw_campaign_index_load(c->index, blob.p, blob.n, why);
        if (st == BW_ERR_PARSE && reset) {
            bw_warn("ingest", "discarding the saved campaign state (%s, saved_at=%lld, %zu bytes): "
                    "campaigns start afresh, earlier campaign rows are kept as final", why, (long long)saved_at,
                    blob.n);
            c->state_reset = true;
            st = bw_store_campaigns_forget_memory(store, errbuf);
        } else if (st == BW_ERR_PARSE) {
            st = bw_error(errbuf, BW_ERR_PARSE,
                          "the saved campaign state cannot be loaded (%s); nothing was ingested. "
                          "Run again with --reset-campaigns to discard it: earlier campaigns stay in the "
                          "database, new messages start new campaigns", why);
        } else if (st != BW_OK) {
            bw_error(errbuf, st, "%s", why);
        }
    } else if (st == BW_ERR_NOTFOUND) {
        c->state_differs = true;   // the first run: there is no state yet
        st = BW_OK;
    }
    if (c->state_reset)
        c->state_differs = true;
    bw_buf_free(&blob);
    // New ids never reuse one already in the store: after a discarded state, and after a run
    // that stopped before saving its state (its messages keep their campaign ids).
    uint64_t max_id = 0;
    if (st == BW_OK && (st = bw_store_max_campaign_id(store, &max_id, errbuf)) == BW_OK && max_id &&
        bw_campaign_index_reserve_ids(c->index, max_id + 1))
        c->state_differs = true;
    if (st == BW_OK) {
        bw_campaign_stats stats;
        bw_campaign_index_stats(c->index, &stats);
        c->created_before = stats.campaigns_created;
        c->evicted_before = stats.campaigns_evicted;
        c->messages_before = stats.messages;
        size_t active;
        bw_campaign_index_ids(c->index, &active);
        bw_debug("ingest", "campaign state loaded campaigns=%zu next_created=%llu", active,
                 (unsigned long long)stats.campaigns_created);
    }
    return st;
}

bw_status ingest_campaigns_save_state(ingest_campaigns *c)
{
    bw_status st = c->status;
    bw_buf_clear(&c->state);
    // Only commits change the index (a match, a lookup or a lazily inferred template do not
    // reach the saved bytes), and every commit counts a message.
    bw_campaign_stats now;
    bw_campaign_index_stats(c->index, &now);
    c->state_unchanged = st == BW_OK && !c->state_differs && now.messages == c->messages_before;
    if (c->state_unchanged) {
        c->state_status = BW_OK;
        c->state_saved = true;
        return BW_OK;
    }
    if (st == BW_OK && (st = bw_campaign_index_save(c->index, &c->state)) != BW_OK)
        snprintf(c->state_error, sizeof c->state_error, "saving the campaign state: %s", bw_status_name(st));
    c->state_status = st;
    c->state_saved = true;
    return st;
}

bw_status ingest_campaigns_build_rows(ingest_campaigns *c)
{
    if (c->status != BW_OK)
        return c->rows_status = c->status;
    rows_out *r = &c->final;
    r->count = r->link_count = 0;
    bw_buf_clear(&r->text);
    size_t count;
    const uint64_t *ids = bw_campaign_index_ids(c->index, &count);
    bw_status st = BW_OK;
    for (size_t i = 0; i < count && st == BW_OK; i++) {
        // A campaign that got neither a message nor a link in this run still has the row
        // the previous run wrote with the state it was loaded from.
        if (!bw_campaign_index_changed(c->index, ids[i]))
            continue;
        bw_campaign_summary s;
        if ((st = bw_campaign_index_get(c->index, ids[i], &s)) != BW_OK) {
            snprintf(c->rows_error, sizeof c->rows_error, "campaign %llu: %s", (unsigned long long)ids[i],
                     bw_status_name(st));
            break;
        }
        if ((st = build_row(c, r, &s, true)) != BW_OK)
            snprintf(c->rows_error, sizeof c->rows_error, "out of memory writing campaign %llu",
                     (unsigned long long)ids[i]);
    }
    c->rows_status = st;
    c->rows_built = true;
    return st;
}

bw_status ingest_campaigns_write_state(ingest_campaigns *c, char *errbuf)
{
    if (c->status != BW_OK)
        return bw_error(errbuf, c->status, "%s", c->error);
    if (!c->state_saved)
        ingest_campaigns_save_state(c);
    if (c->state_status != BW_OK)
        return bw_error(errbuf, c->state_status, "%s", c->state_error);
    bw_status st = bw_store_begin(c->store, errbuf);
    if (st != BW_OK)
        return st;
    if (!c->state_unchanged)
        st = bw_store_campaign_state_put(c->store, BW_CAMPAIGN_STATE_VERSION, (int64_t)time(NULL), c->state.p,
                                         c->state.n, errbuf);
    bw_buf_free(&c->state);
    if (st != BW_OK) {
        bw_store_rollback(c->store, NULL);
        return st;
    }
    c->state_written = true;
    return BW_OK;
}

bw_status ingest_campaigns_finish(ingest_campaigns *c, char *errbuf)
{
    bw_status st = BW_OK;
    if (!c->state_written && (st = ingest_campaigns_write_state(c, errbuf)) != BW_OK)
        return st;
    c->state_written = false;
    if (!c->rows_built)
        ingest_campaigns_build_rows(c);
    c->rows_built = false;
    if (c->rows_status != BW_OK)
        st = bw_error(errbuf, c->rows_status, "%s", c->rows_error);
    else
        st = write_rows(c, &c->final, errbuf);
    // The rows stay until close: the botnet inference may still be reading them.
    if (st == BW_OK)
        return bw_store_commit(c->store, errbuf);
    bw_store_rollback(c->store, NULL);
    return st;
}

void ingest_campaigns_close(ingest_campaigns *c)
{
    bw_campaign_index_free(c->index);
    c->index = NULL;
    for (int i = 0; i < 4; i++)
        bw_buf_free(&c->json[i]);
    rows_free(&c->evicted);
    rows_free(&c->final);
    bw_buf_free(&c->state);
}
