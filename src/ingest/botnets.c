// SPDX-License-Identifier: MIT
// End of an ingest run: the botnets behind the campaigns, inferred again over the whole
// store (docs/botnets.md), because a new day's campaigns can join or bridge earlier ones.
// The store gives the campaigns (with the rule labels most of their messages carry) and
// one sighting per (campaign, sender IP); bw_botnet_infer does the rest; the botnets table
// and campaigns.botnet_id are rewritten in one transaction, so readers see the old botnets
// or the new ones, never a mix. Everything is read in key order, so the result does not
// depend on the order SQLite happens to return groups in.
#include <inttypes.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "botwatch/botnet.h"
#include "botwatch/endian.h"
#include "botwatch/ip.h"
#include "botwatch/log.h"
#include "botwatch/sort.h"
#include "ingest_internal.h"

// At most this many ASNs and countries per botnet in asns_json / countries_json (contract).
#define TOP_NETWORKS 10
// Distinct labels looked at per campaign (rule sets name a handful of families).
#define MAX_CAMPAIGN_LABELS 64

typedef struct ip_asn {
    bw_ip ip;
    uint32_t asn;
} ip_asn;

typedef struct as_info {
    uint32_t asn;
    char *name, *country;
} as_info;

typedef struct net_count {
    uint32_t asn;          // or a country code packed into the low 16 bits
    uint64_t ips;
} net_count;

typedef struct inputs {
    bw_botnet_campaign *campaigns;
    size_t ncampaigns, campaign_cap;
    bw_buf label_text;                // every campaign's labels, NUL-separated
    size_t *label_off;                // per campaign: offset into label_text, SIZE_MAX = none
    bw_botnet_sighting *sightings;
    size_t nsightings, sighting_cap;
    ip_asn *ips;                      // (ip, asn) of every sighting, sorted by ip, unique
    size_t nips;
    as_info *asns;                    // the asns table, by asn
    size_t nasns;
    uint64_t rows_read;               // message rows read from the store
    uint64_t runs_read;               // sighting_runs rows used instead
    struct run_segment *segments;     // sighting_runs rows to write (this run's, gaps read)
    size_t nsegments, segment_cap;
} inputs;

// One sighting_runs row to write: the merged sightings and votes of the campaign messages
// with ids in [first_id, last_id].
typedef struct run_segment {
    int64_t first_id, last_id;
    bw_buf blob;
} run_segment;

static bw_status db_fail(sqlite3 *db, char *errbuf, const char *what)
{
    return bw_error(errbuf, BW_ERR_DB, "botnets: %s: %s", what, sqlite3_errmsg(db));
}

static int64_t col_time(sqlite3_stmt *st, int col)
{
    return sqlite3_column_type(st, col) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, col);
}

static bw_status read_campaigns(sqlite3 *db, inputs *in, char *errbuf)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT id, messages, first_seen, last_seen FROM campaigns ORDER BY id", -1, &st,
                           NULL) != SQLITE_OK)
        return db_fail(db, errbuf, "reading campaigns");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (ingest_grow((void **)&in->campaigns, &in->campaign_cap, in->ncampaigns + 1, sizeof *in->campaigns)) {
            sqlite3_finalize(st);
            return bw_error(errbuf, BW_ERR_NOMEM, "botnets: out of memory");
        }
        int64_t messages = sqlite3_column_int64(st, 1);
        in->campaigns[in->ncampaigns++] = (bw_botnet_campaign){
            .id = (uint64_t)sqlite3_column_int64(st, 0), .messages = messages > 0 ? (uint64_t)messages : 0,
            .first_seen = col_time(st, 2), .last_seen = col_time(st, 3),
        };
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? BW_OK : db_fail(db, errbuf, "reading campaigns");
}

static size_t find_campaign(const inputs *in, uint64_t id)
{
    size_t lo = 0, hi = in->ncampaigns;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (in->campaigns[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < in->ncampaigns && in->campaigns[lo].id == id ? lo : SIZE_MAX;
}

// One (campaign, label) vote: the messages of the campaign that carry the label.
typedef struct label_vote {
    uint64_t campaign;
    size_t off, n;          // the label in the votes' text buffer
    const char *p;          // text + off, once the buffer stops growing
    uint64_t messages;
} label_vote;

static int cmp_vote(const void *a, const void *b)
{
    const label_vote *x = a, *y = b;
    if (x->campaign != y->campaign)
        return x->campaign < y->campaign ? -1 : 1;
    size_t n = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->p, y->p, n);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

// A campaign's senders at one IP: one message's, or several merged (merge_senders).
typedef struct sender_row {
    uint64_t campaign;
    bw_ip ip;
    int64_t first, last;
    uint64_t messages;
    uint32_t asn;
} sender_row;

static int cmp_sender(const void *a, const void *b)
{
    const sender_row *x = a, *y = b;
    if (x->campaign != y->campaign)
        return x->campaign < y->campaign ? -1 : 1;
    return bw_ip_cmp(&x->ip, &y->ip);
}

static int cmp_ip_asn(const void *a, const void *b)
{
    const ip_asn *x = a, *y = b;
    int c = bw_ip_cmp(&x->ip, &y->ip);
    return c ? c : (x->asn > y->asn) - (x->asn < y->asn);
}

// The same orders as strict less-thans, for the inlined sorts (botwatch/sort.h); qsort
// with the comparisons above stays the fallback when the sort has no scratch memory.
static inline bool vote_less(const label_vote *x, const label_vote *y) { return cmp_vote(x, y) < 0; }
static inline bool sender_less(const sender_row *x, const sender_row *y) { return cmp_sender(x, y) < 0; }
static inline bool ip_asn_less(const ip_asn *x, const ip_asn *y) { return cmp_ip_asn(x, y) < 0; }
BW_DEFINE_SORT(sort_votes, label_vote, vote_less)
BW_DEFINE_SORT(sort_senders, sender_row, sender_less)
BW_DEFINE_SORT(sort_ip_asns, ip_asn, ip_asn_less)

// Sorts rows by (campaign, IP) and merges each run into one: first and last times, the
// messages summed, the largest ASN (if lookups ever disagreed). Returns the new count.
static size_t merge_senders(sender_row *rows, size_t n)
{
    if (n < 2)
        return n;
    if (!sort_senders(rows, n))
        qsort(rows, n, sizeof *rows, cmp_sender);
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        sender_row *o = w ? &rows[w - 1] : NULL;
        if (o && cmp_sender(o, &rows[i]) == 0) {
            if (rows[i].first < o->first)
                o->first = rows[i].first;
            if (rows[i].last > o->last)
                o->last = rows[i].last;
            if (rows[i].asn > o->asn)
                o->asn = rows[i].asn;
            o->messages += rows[i].messages;
        } else {
            rows[w++] = rows[i];
        }
    }
    return w;
}

// Sorts votes by (campaign, label) and merges equal ones (their messages summed) into
// votes and a new text buffer. Returns the new count, or SIZE_MAX without memory.
static size_t merge_votes(label_vote *votes, size_t n, bw_buf *text)
{
    for (size_t i = 0; i < n; i++)
        votes[i].p = text->p + votes[i].off;
    if (n > 1 && !sort_votes(votes, n))
        qsort(votes, n, sizeof *votes, cmp_vote);
    bw_buf merged = BW_BUF_INIT;
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (w && cmp_vote(&votes[w - 1], &votes[i]) == 0) {
            votes[w - 1].messages += votes[i].messages;
            continue;
        }
        size_t off = merged.n;
        if (bw_buf_append(&merged, votes[i].p, votes[i].n)) {
            bw_buf_free(&merged);
            return SIZE_MAX;
        }
        votes[w] = votes[i];   // p stays in the old text, for the comparisons
        votes[w].off = off;
        w++;
    }
    for (size_t i = 0; i < w; i++)
        votes[i].p = NULL;   // offsets into the new text from here on
    bw_buf_free(text);
    *text = merged;
    return w;
}

// Appends one (campaign, label) vote per label of a space-separated list. -1: no memory.
static int add_votes(label_vote **votes, size_t *n, size_t *cap, bw_buf *text, uint64_t campaign,
                     const char *labels, size_t len, uint64_t messages)
{
    for (size_t i = 0; i < len;) {
        while (i < len && labels[i] == ' ')
            i++;
        size_t start = i;
        while (i < len && labels[i] != ' ')
            i++;
        if (i == start)
            continue;
        if (ingest_grow((void **)votes, cap, *n + 1, sizeof **votes) || bw_buf_append(text, labels + start, i - start))
            return -1;
        (*votes)[(*n)++] = (label_vote){ campaign, text->n - (i - start), i - start, NULL, messages };
    }
    return 0;
}

// This run's campaign messages as the writer stores them (ingest.c), so that the end of
// the run does not read back the rows it has just written (a scan of the whole run through
// the WAL, most of the botnet time on bench/ingest). The writer only appends (56 bytes a
// message: on a trap stream, where nearly every message comes from another zombie, a hash
// table merging (campaign, IP) as they came cost the writer, the pipeline's pacing stage,
// 0.35 us a message in cache misses); the rows are merged per (campaign, IP), and the
// votes per (campaign, label), once they reach FEED_MERGE_ROWS and again whenever they
// double after that, so a long run holds no more than about twice the sightings and votes
// the inference builds anyway.
#define FEED_MERGE_ROWS ((size_t)1 << 16)
struct ingest_botnet_feed {
    sender_row *rows;
    size_t nrows, row_cap, rows_merge_at, merge_rows;
    label_vote *votes;
    size_t nvotes, vote_cap, votes_merge_at;
    bw_buf text;
    int64_t first_id, last_id;   // the ids of every message this run inserted
    uint64_t inserted;
    bool nomem;                  // then the end of run reads the store as before
};

ingest_botnet_feed *ingest_botnet_feed_new(size_t merge_rows)
{
    ingest_botnet_feed *f = calloc(1, sizeof *f);
    if (f) {
        f->text = (bw_buf)BW_BUF_INIT;
        f->merge_rows = merge_rows ? merge_rows : FEED_MERGE_ROWS;
        f->rows_merge_at = f->votes_merge_at = f->merge_rows;
    }
    return f;
}

void ingest_botnet_feed_free(ingest_botnet_feed *f)
{
    if (!f)
        return;
    free(f->rows);
    free(f->votes);
    bw_buf_free(&f->text);
    free(f);
}

void ingest_botnet_feed_inserted(ingest_botnet_feed *f, int64_t id)
{
    if (!f->inserted || id < f->first_id)
        f->first_id = id;
    if (!f->inserted || id > f->last_id)
        f->last_id = id;
    f->inserted++;
}

void ingest_botnet_feed_add(ingest_botnet_feed *f, uint64_t campaign, const bw_ip *ip, int64_t time, uint32_t asn,
                            bw_slice labels)
{
    if (f->nomem)
        return;
    if (ip) {
        if (f->nrows >= f->rows_merge_at) {
            f->nrows = merge_senders(f->rows, f->nrows);
            f->rows_merge_at = f->nrows * 2 > f->merge_rows ? f->nrows * 2 : f->merge_rows;
        }
        if (ingest_grow((void **)&f->rows, &f->row_cap, f->nrows + 1, sizeof *f->rows)) {
            f->nomem = true;
            return;
        }
        f->rows[f->nrows++] = (sender_row){ campaign, *ip, time, time, 1, asn };
    }
    if (labels.n) {
        if (f->nvotes >= f->votes_merge_at) {
            size_t n = merge_votes(f->votes, f->nvotes, &f->text);
            if (n == SIZE_MAX) {
                f->nomem = true;
                return;
            }
            f->nvotes = n;
            f->votes_merge_at = n * 2 > f->merge_rows ? n * 2 : f->merge_rows;
        }
        if (add_votes(&f->votes, &f->nvotes, &f->vote_cap, &f->text, campaign, labels.p, labels.n, 1))
            f->nomem = true;
    }
}

// Whether the rows with ids in [first_id, last_id] are exactly this run's: no other
// writer inserted between its batches (the ids of one writer's messages run on without a
// gap: each is max(id) + 1).
static bool feed_usable(const ingest_botnet_feed *f)
{
    return f && !f->nomem && f->inserted && (uint64_t)(f->last_id - f->first_id) + 1 == f->inserted;
}

// A campaign's labels are those carried by at least half of its messages: one stray match
// in a large campaign does not name it; the botnet vote (docs/botnets.md) then weighs each
// campaign by its size.
static bw_status labels_from_votes(inputs *in, label_vote *votes, size_t nvotes, const bw_buf *text, char *errbuf)
{
    bw_status s = BW_OK;
    for (size_t i = 0; i < nvotes; i++)
        votes[i].p = text->p + votes[i].off;
    if (nvotes && !sort_votes(votes, nvotes))
        qsort(votes, nvotes, sizeof *votes, cmp_vote);
    for (size_t i = 0; i < nvotes && s == BW_OK;) {
        uint64_t campaign = votes[i].campaign;
        size_t end = i;
        while (end < nvotes && votes[end].campaign == campaign)
            end++;
        size_t c = find_campaign(in, campaign);
        size_t off = in->label_text.n;
        bool any = false;
        for (size_t j = i; j < end && c != SIZE_MAX && s == BW_OK;) {
            size_t k = j;
            uint64_t m = 0;
            while (k < end && cmp_vote(&votes[j], &votes[k]) == 0)
                m += votes[k++].messages;
            if (m * 2 >= in->campaigns[c].messages) {
                if ((any && bw_buf_append_char(&in->label_text, ' ')) ||
                    bw_buf_append(&in->label_text, votes[j].p, votes[j].n))
                    s = bw_error(errbuf, BW_ERR_NOMEM, "botnets: out of memory");
                any = true;
            }
            j = k;
        }
        if (any && s == BW_OK) {
            if (bw_buf_append_char(&in->label_text, '\0'))
                s = bw_error(errbuf, BW_ERR_NOMEM, "botnets: out of memory");
            in->label_off[c] = off;
        }
        i = end;
    }
    return s;
}

// ---- sighting runs (schema v7) ------------------------------------------------------
// A row of sighting_runs holds the merged (campaign, sender IP) sightings and (campaign,
// label) votes of the campaign messages with ids in [first_id, last_id]: what reading those
// messages would give, in 52 bytes a sighting instead of a messages row. Every run leaves
// one for its own messages (from the writer's feed) and one for each range of ids it had
// to read from messages (at most SEGMENT_IDS ids each: older stores, another writer's
// messages, a run that stopped before its end), so the next run reads only what is new.
// Blob, little-endian:
//   "BWSIGHT1" | u64 sightings | u64 votes
//   sighting: u64 campaign | 16-byte IP | i64 first | i64 last | u64 messages | u32 ASN
//   vote:     u64 campaign | u64 messages | u16 length | the label (1..SEGMENT_MAX_LABEL bytes)
// A blob that does not parse to its last byte is not used: its ids are read from messages
// again, and the row is replaced.
#define SEGMENT_MAGIC "BWSIGHT1"
#define SEGMENT_SIGHTING_BYTES 52
#define SEGMENT_MAX_LABEL 65535
#define SEGMENT_IDS ((int64_t)1 << 20)
// A run's own row larger than this (about 5 million sightings) is not written: SQLite's
// blobs stop at 1 GB, and the next run reads those messages in SEGMENT_IDS pieces instead.
#define SEGMENT_MAX_BYTES ((size_t)256 << 20)

bool ingest_botnets_current(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int64_t max_id = -1, covered_to = 0;
    bool gap = false;
    if (sqlite3_prepare_v2(db, "SELECT coalesce(max(id), 0) FROM messages", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        max_id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (max_id < 0 ||
        sqlite3_prepare_v2(db, "SELECT first_id, last_id FROM sighting_runs ORDER BY first_id", -1, &st, NULL) !=
            SQLITE_OK) {
        sqlite3_finalize(st);
        return false;
    }
    int rc;
    while (!gap && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t first = sqlite3_column_int64(st, 0), last = sqlite3_column_int64(st, 1);
        if (first != covered_to + 1 || last < first)
            gap = true;
        else
            covered_to = last;
    }
    sqlite3_finalize(st);
    return !gap && covered_to == max_id && max_id > 0;
}

bw_status ingest_botnets_count(bw_store *store, uint64_t *botnets, char *errbuf)
{
    sqlite3_stmt *st = NULL;
    sqlite3 *db = bw_store_sqlite(store);
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM botnets", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return db_fail(db, errbuf, "counting botnets");
    }
    *botnets = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return BW_OK;
}

static void put_le(bw_buf *b, uint64_t v, unsigned bytes, bool *fail)
{
    unsigned char t[8];
    for (unsigned i = 0; i < bytes; i++)
        t[i] = (unsigned char)(v >> (8 * i));
    if (bw_buf_append(b, t, bytes))
        *fail = true;
}

// Encodes rows and votes (merged here: copies are sorted and equal ones summed) as a blob.
// The votes' labels are in text at their offsets. -1 on no memory.
static int encode_segment(const sender_row *rows, size_t nrows, const label_vote *votes, size_t nvotes,
                          const bw_buf *text, bw_buf *out)
{
    sender_row *r = nrows ? malloc(nrows * sizeof *r) : NULL;
    label_vote *v = nvotes ? malloc(nvotes * sizeof *v) : NULL;
    if ((nrows && !r) || (nvotes && !v)) {
        free(r);
        free(v);
        return -1;
    }
    if (nrows)
        memcpy(r, rows, nrows * sizeof *r);
    size_t nr = merge_senders(r, nrows);
    for (size_t i = 0; i < nvotes; i++) {
        v[i] = votes[i];
        v[i].p = text->p + votes[i].off;
    }
    if (nvotes > 1 && !sort_votes(v, nvotes))
        qsort(v, nvotes, sizeof *v, cmp_vote);
    size_t nv = 0;   // merged in place: equal (campaign, label) votes summed
    for (size_t i = 0; i < nvotes; i++) {
        if (nv && cmp_vote(&v[nv - 1], &v[i]) == 0)
            v[nv - 1].messages += v[i].messages;
        else if (v[i].n >= 1 && v[i].n <= SEGMENT_MAX_LABEL)
            v[nv++] = v[i];
    }
    bool fail = bw_buf_reserve(out, 24 + nr * SEGMENT_SIGHTING_BYTES) != 0;
    if (!fail && bw_buf_append(out, SEGMENT_MAGIC, 8))
        fail = true;
    put_le(out, nr, 8, &fail);
    put_le(out, nv, 8, &fail);
    for (size_t i = 0; i < nr && !fail; i++) {
        put_le(out, r[i].campaign, 8, &fail);
        if (bw_buf_append(out, r[i].ip.b, 16))
            fail = true;
        put_le(out, (uint64_t)r[i].first, 8, &fail);
        put_le(out, (uint64_t)r[i].last, 8, &fail);
        put_le(out, r[i].messages, 8, &fail);
        put_le(out, r[i].asn, 4, &fail);
    }
    for (size_t i = 0; i < nv && !fail; i++) {
        put_le(out, v[i].campaign, 8, &fail);
        put_le(out, v[i].messages, 8, &fail);
        put_le(out, v[i].n, 2, &fail);
        if (bw_buf_append(out, v[i].p, v[i].n))
            fail = true;
    }
    free(r);
    free(v);
    return fail ? -1 : 0;
}

// Appends a blob's sightings and votes (labels to text) to the arrays. On a malformed blob
// nothing is appended, and why says what is wrong at which offset. BW_ERR_NOMEM or
// BW_ERR_PARSE.
static bw_status decode_segment(const uint8_t *p, size_t n, sender_row **rows, size_t *nrows, size_t *row_cap,
                                label_vote **votes, size_t *nvotes, size_t *vote_cap, bw_buf *text, char *why,
                                size_t why_size)
{
    if (n < 24 || memcmp(p, SEGMENT_MAGIC, 8) != 0) {
        snprintf(why, why_size, "not a sightings blob (%zu bytes)", n);
        return BW_ERR_PARSE;
    }
    uint64_t nr = bw_le64(p + 8), nv = bw_le64(p + 16);
    size_t at = 24;
    if (nr > (n - at) / SEGMENT_SIGHTING_BYTES) {
        snprintf(why, why_size, "%" PRIu64 " sightings do not fit in %zu bytes", nr, n);
        return BW_ERR_PARSE;
    }
    // Each vote takes at least 19 bytes: the count cannot promise more than the bytes hold.
    if (nv > (n - at - nr * SEGMENT_SIGHTING_BYTES) / 19) {
        snprintf(why, why_size, "%" PRIu64 " votes do not fit in %zu bytes", nv, n);
        return BW_ERR_PARSE;
    }
    size_t rows_before = *nrows, votes_before = *nvotes, text_before = text->n;
    if (ingest_grow((void **)rows, row_cap, *nrows + (size_t)nr, sizeof **rows) ||
        ingest_grow((void **)votes, vote_cap, *nvotes + (size_t)nv, sizeof **votes))
        return BW_ERR_NOMEM;
    for (uint64_t i = 0; i < nr; i++, at += SEGMENT_SIGHTING_BYTES) {
        sender_row r;
        r.campaign = bw_le64(p + at);
        memcpy(r.ip.b, p + at + 8, 16);
        r.first = (int64_t)bw_le64(p + at + 24);
        r.last = (int64_t)bw_le64(p + at + 32);
        r.messages = bw_le64(p + at + 40);
        r.asn = (uint32_t)bw_le32(p + at + 48);
        if (r.first > r.last || r.messages == 0) {
            snprintf(why, why_size, "sighting %" PRIu64 " at offset %zu: bad times or count", i, at);
            goto bad;
        }
        (*rows)[(*nrows)++] = r;
    }
    for (uint64_t i = 0; i < nv; i++) {
        if (n - at < 18) {
            snprintf(why, why_size, "vote %" PRIu64 " at offset %zu: truncated", i, at);
            goto bad;
        }
        uint64_t campaign = bw_le64(p + at), messages = bw_le64(p + at + 8);
        size_t len = (size_t)bw_le16(p + at + 16);
        at += 18;
        if (len < 1 || len > SEGMENT_MAX_LABEL || n - at < len || messages == 0 || memchr(p + at, ' ', len) ||
            memchr(p + at, '\0', len)) {
            snprintf(why, why_size, "vote %" PRIu64 " at offset %zu: bad label or count", i, at - 18);
            goto bad;
        }
        size_t off = text->n;
        if (bw_buf_append(text, p + at, len)) {
            *nrows = rows_before, *nvotes = votes_before, text->n = text_before;
            return BW_ERR_NOMEM;
        }
        (*votes)[(*nvotes)++] = (label_vote){ campaign, off, len, NULL, messages };
        at += len;
    }
    if (at != n) {
        snprintf(why, why_size, "%zu bytes after the last vote", n - at);
        goto bad;
    }
    return BW_OK;
bad:
    *nrows = rows_before, *nvotes = votes_before, text->n = text_before;
    return BW_ERR_PARSE;
}

bw_status ingest_sighting_run_check(const void *blob, size_t n, char *why, size_t why_size)
{
    sender_row *rows = NULL;
    label_vote *votes = NULL;
    size_t nrows = 0, row_cap = 0, nvotes = 0, vote_cap = 0;
    bw_buf text = BW_BUF_INIT;
    bw_status s = decode_segment(blob, n, &rows, &nrows, &row_cap, &votes, &nvotes, &vote_cap, &text, why, why_size);
    if (s == BW_OK) {
        // What the end of run does with them next: merge, and encode again the same.
        bw_buf again = BW_BUF_INIT;
        if (encode_segment(rows, nrows, votes, nvotes, &text, &again) != 0)
            s = BW_ERR_NOMEM;
        bw_buf_free(&again);
    }
    free(rows);
    free(votes);
    bw_buf_free(&text);
    return s;
}

static int add_segment(inputs *in, int64_t first_id, int64_t last_id, const sender_row *rows, size_t nrows,
                       const label_vote *votes, size_t nvotes, const bw_buf *text)
{
    if (ingest_grow((void **)&in->segments, &in->segment_cap, in->nsegments + 1, sizeof *in->segments))
        return -1;
    run_segment *g = &in->segments[in->nsegments];
    *g = (run_segment){ first_id, last_id, BW_BUF_INIT };
    if (encode_segment(rows, nrows, votes, nvotes, text, &g->blob) != 0) {
        bw_buf_free(&g->blob);
        return -1;
    }
    if (g->blob.n > SEGMENT_MAX_BYTES) {
        bw_buf_free(&g->blob);
        return 0;
    }
    in->nsegments++;
    return 0;
}

typedef struct id_range {
    int64_t first, last;
} id_range;

// Sightings (one per campaign and sender IP: first and last time, messages) and the rule
// label votes, from one pass over the messages in row order: a sequential read of the
// table, where grouping in SQL walked the campaign index and fetched every row out of
// order, twice (over half of the end-of-run botnet time on bench/ingest). Times are as the
// campaign index dated the messages: seen_at, else when ingested. Rows whose sender IP
// does not parse are left out, as before; rows are merged by the parsed address (the
// analyzer writes one text per address, and bw_botnet_infer merges repeats anyway).
// With a usable feed, this run's rows (its id range) come from the feed instead.
static bw_status read_messages(sqlite3 *db, inputs *in, const ingest_botnet_feed *feed, size_t compact_at,
                               char *errbuf)
{
    in->label_off = malloc((in->ncampaigns ? in->ncampaigns : 1) * sizeof *in->label_off);
    if (!in->label_off)
        return bw_error(errbuf, BW_ERR_NOMEM, "botnets: out of memory");
    for (size_t i = 0; i < in->ncampaigns; i++)
        in->label_off[i] = SIZE_MAX;
    bool use_feed = feed_usable(feed);
    sender_row *rows = NULL;
    size_t nrows = 0, row_cap = 0;
    bw_buf text = BW_BUF_INIT;
    label_vote *votes = NULL;
    size_t nvotes = 0, vote_cap = 0;
    bool nomem = false;
    int rc = SQLITE_DONE;
    const char *failed = NULL;   // what the database refused
    // The ids covered without reading messages: this run's (its feed) and each usable
    // sighting_runs row; the rest, up to the largest id, are read and leave rows of their own.
    id_range *covered = NULL;
    size_t ncovered = 0, covered_cap = 0;
    int64_t max_id = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT coalesce(max(id), 0) FROM messages", -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, errbuf, "reading the largest message id");
    if (sqlite3_step(st) == SQLITE_ROW)
        max_id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (use_feed) {
        if (ingest_grow((void **)&covered, &covered_cap, 1, sizeof *covered))
            return bw_error(errbuf, BW_ERR_NOMEM, "botnets: out of memory");
        covered[ncovered++] = (id_range){ feed->first_id, feed->last_id };
    }
    if (sqlite3_prepare_v2(db, "SELECT first_id, last_id, blob FROM sighting_runs ORDER BY first_id", -1, &st,
                           NULL) != SQLITE_OK) {
        free(covered);
        return db_fail(db, errbuf, "reading sighting_runs");
    }
    int64_t accepted_last = 0;   // runs come in first-id order; each must start after the last
    while (!nomem && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t first = sqlite3_column_int64(st, 0), last = sqlite3_column_int64(st, 1);
        const void *blob = sqlite3_column_blob(st, 2);
        size_t len = (size_t)sqlite3_column_bytes(st, 2);
        char why[160];
        bool overlaps_feed = use_feed && first <= feed->last_id && last >= feed->first_id;
        if (first < 1 || last < first || last > max_id || first <= accepted_last || overlaps_feed) {
            bw_warn("botnets", "sighting_runs row %" PRId64 "-%" PRId64 " overlaps another or lies outside the"
                    " messages; its messages are read again", first, last);
            continue;
        }
        bw_status d = decode_segment(blob ? blob : "", len, &rows, &nrows, &row_cap, &votes, &nvotes, &vote_cap,
                                     &text, why, sizeof why);
        if (d == BW_ERR_NOMEM) {
            nomem = true;
        } else if (d != BW_OK) {
            bw_warn("botnets", "sighting_runs row %" PRId64 "-%" PRId64 ": %s; its messages are read again", first,
                    last, why);
        } else if (ingest_grow((void **)&covered, &covered_cap, ncovered + 1, sizeof *covered)) {
            nomem = true;
        } else {
            covered[ncovered++] = (id_range){ first, last };
            accepted_last = last;
            in->runs_read++;
        }
    }
    if (rc != SQLITE_DONE && !nomem)
        failed = "reading sighting_runs";
    sqlite3_finalize(st);
    st = NULL;
    // The feed's range went first; put it in its place among the runs.
    for (size_t i = 1; use_feed && i < ncovered && covered[i].first < covered[i - 1].first; i++) {
        id_range t = covered[i];
        covered[i] = covered[i - 1];
        covered[i - 1] = t;
    }
    if (!nomem && !failed &&
        sqlite3_prepare_v2(db,
                           "SELECT campaign_id, sender_ip, coalesce(seen_at, ingested_at), coalesce(sender_asn, 0),"
                           " rule_labels FROM messages NOT INDEXED WHERE id > ?1 AND id < ?2"
                           " AND campaign_id IS NOT NULL",
                           -1, &st, NULL) != SQLITE_OK)
        failed = "reading campaign messages";
    int64_t done_to = 0;   // every id up to this one is covered or read
    for (size_t c = 0; c <= ncovered && !nomem && !failed; c++) {
        int64_t gap_last = c < ncovered ? covered[c].first - 1 : max_id;
        for (int64_t lo = done_to + 1; lo <= gap_last && !nomem && !failed; lo += SEGMENT_IDS) {
            int64_t hi = gap_last - lo >= SEGMENT_IDS ? lo + SEGMENT_IDS - 1 : gap_last;
            size_t rows_before = nrows, votes_before = nvotes;
            sqlite3_bind_int64(st, 1, lo - 1);
            sqlite3_bind_int64(st, 2, hi + 1);
            while (!nomem && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                in->rows_read++;
                uint64_t id = (uint64_t)sqlite3_column_int64(st, 0);
                const char *ip_text = (const char *)sqlite3_column_text(st, 1);
                bw_ip ip;
                if (ip_text && bw_ip_parse(bw_slice_make(ip_text, (size_t)sqlite3_column_bytes(st, 1)), &ip)) {
                    if (ingest_grow((void **)&rows, &row_cap, nrows + 1, sizeof *rows)) {
                        nomem = true;
                        break;
                    }
                    int64_t t = col_time(st, 2);
                    rows[nrows++] = (sender_row){ id, ip, t, t, 1, (uint32_t)sqlite3_column_int64(st, 3) };
                }
                const char *labels = (const char *)sqlite3_column_text(st, 4);
                if (labels && add_votes(&votes, &nvotes, &vote_cap, &text, id, labels,
                                        (size_t)sqlite3_column_bytes(st, 4), 1))
                    nomem = true;
            }
            if (rc != SQLITE_DONE && !nomem)
                failed = "reading campaign messages";
            sqlite3_reset(st);
            // Those ids, read once, need not be read again.
            if (!nomem && !failed &&
                add_segment(in, lo, hi, rows + rows_before, nrows - rows_before, votes + votes_before,
                            nvotes - votes_before, &text))
                nomem = true;
        }
        if (c < ncovered && covered[c].last > done_to)
            done_to = covered[c].last;
    }
    sqlite3_finalize(st);
    free(covered);
    if (!nomem && !failed && use_feed) {
        // This run's own sightings, and a row of them for the next run.
        if (add_segment(in, feed->first_id, feed->last_id, feed->rows, feed->nrows, feed->votes, feed->nvotes,
                        &feed->text) ||
            ingest_grow((void **)&rows, &row_cap, nrows + feed->nrows, sizeof *rows) ||
            ingest_grow((void **)&votes, &vote_cap, nvotes + feed->nvotes, sizeof *votes) ||
            bw_buf_reserve(&text, feed->text.n)) {
            nomem = true;
        } else {
            if (feed->nrows)
                memcpy(rows + nrows, feed->rows, feed->nrows * sizeof *rows);
            nrows += feed->nrows;
            for (size_t i = 0; i < feed->nvotes; i++) {
                votes[nvotes] = feed->votes[i];
                votes[nvotes++].off += text.n;
            }
            bw_buf_append(&text, feed->text.p, feed->text.n);   // reserved above
        }
    }
    // Many rows (one a run) repeat the sightings of campaigns that run for weeks: past
    // compact_at of them, everything read becomes one row for [1, the last id], which
    // replaces them all (written last, it deletes the rows it overlaps).
    if (!nomem && !failed && in->runs_read >= compact_at &&
        add_segment(in, 1, max_id, rows, nrows, votes, nvotes, &text))
        nomem = true;
    bw_status s = nomem ? bw_error(errbuf, BW_ERR_NOMEM, "botnets: out of memory")
                  : failed ? db_fail(db, errbuf, failed) : BW_OK;
    if (s == BW_OK)
        s = labels_from_votes(in, votes, nvotes, &text, errbuf);
    free(votes);
    bw_buf_free(&text);
    // Sightings: rows merged per (campaign, IP).
    nrows = merge_senders(rows, nrows);
    if (s == BW_OK && nrows) {
        in->sightings = malloc(nrows * sizeof *in->sightings);
        in->ips = malloc(nrows * sizeof *in->ips);
        if (!in->sightings || !in->ips)
            s = bw_error(errbuf, BW_ERR_NOMEM, "botnets: out of memory");
        for (size_t i = 0; i < nrows && s == BW_OK; i++) {
            in->sightings[i] = (bw_botnet_sighting){
                .campaign_id = rows[i].campaign, .ip = rows[i].ip, .first_seen = rows[i].first,
                .last_seen = rows[i].last, .messages = rows[i].messages,
            };
            in->ips[i] = (ip_asn){ rows[i].ip, rows[i].asn };
        }
        if (s == BW_OK)
            in->nsightings = in->nips = nrows;
    }
    free(rows);
    if (s != BW_OK)
        return s;
    // One ASN per IP (the largest seen, if lookups ever disagreed).
    if (in->nips && !sort_ip_asns(in->ips, in->nips))
        qsort(in->ips, in->nips, sizeof *in->ips, cmp_ip_asn);
    size_t w = 0;
    for (size_t i = 0; i < in->nips; i++) {
        if (w && bw_ip_cmp(&in->ips[w - 1].ip, &in->ips[i].ip) == 0)
            in->ips[w - 1].asn = in->ips[i].asn;
        else
            in->ips[w++] = in->ips[i];
    }
    in->nips = w;
    return BW_OK;
}

static char *dup_text(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    if (!t)
        return NULL;
    return strdup((const char *)t);
}

static bw_status read_asns(sqlite3 *db, inputs *in, char *errbuf)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT asn, name, country FROM asns ORDER BY asn", -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, errbuf, "reading AS names");
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (ingest_grow((void **)&in->asns, &cap, in->nasns + 1, sizeof *in->asns)) {
            sqlite3_finalize(st);
            return bw_error(errbuf, BW_ERR_NOMEM, "botnets: out of memory");
        }
        in->asns[in->nasns++] = (as_info){ (uint32_t)sqlite3_column_int64(st, 0), dup_text(st, 1), dup_text(st, 2) };
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? BW_OK : db_fail(db, errbuf, "reading AS names");
}

static uint32_t asn_of(const inputs *in, const bw_ip *ip)
{
    size_t lo = 0, hi = in->nips;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (bw_ip_cmp(&in->ips[mid].ip, ip) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < in->nips && bw_ip_cmp(&in->ips[lo].ip, ip) == 0 ? in->ips[lo].asn : 0;
}

static const as_info *as_lookup(const inputs *in, uint32_t asn)
{
    size_t lo = 0, hi = in->nasns;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (in->asns[mid].asn < asn)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < in->nasns && in->asns[lo].asn == asn ? &in->asns[lo] : NULL;
}

static int cmp_net_key(const void *a, const void *b)
{
    const net_count *x = a, *y = b;
    return (x->asn > y->asn) - (x->asn < y->asn);
}

// Highest count first, ties by smaller key: a stable, documented order.
static int cmp_net_count(const void *a, const void *b)
{
    const net_count *x = a, *y = b;
    if (x->ips != y->ips)
        return x->ips > y->ips ? -1 : 1;
    return cmp_net_key(a, b);
}

// Sorts keys, merges equal ones into counts, orders by count; returns the distinct count.
static size_t count_keys(net_count *keys, size_t n)
{
    if (!n)
        return 0;
    qsort(keys, n, sizeof *keys, cmp_net_key);
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (w && keys[w - 1].asn == keys[i].asn)
            keys[w - 1].ips++;
        else
            keys[w++] = (net_count){ keys[i].asn, 1 };
    }
    qsort(keys, w, sizeof *keys, cmp_net_count);
    return w;
}

static uint32_t country_key(const char *cc)
{
    if (!cc || strlen(cc) != 2)
        return 0;
    return (uint32_t)(unsigned char)cc[0] << 8 | (unsigned char)cc[1];
}

// asns_json and countries_json of one botnet from its distinct sender IPs.
static int networks_json(const inputs *in, const bw_botnet_info *b, net_count *scratch, bw_buf *asns,
                         bw_buf *countries)
{
    bw_buf_clear(asns);
    bw_buf_clear(countries);
    size_t n = 0;
    for (size_t i = 0; i < b->ip_count; i++) {
        uint32_t asn = asn_of(in, &b->ips[i]);
        if (asn)
            scratch[n++] = (net_count){ asn, 0 };
    }
    n = count_keys(scratch, n);
    int rc = bw_buf_append_char(asns, '[');
    for (size_t i = 0; i < n && i < TOP_NETWORKS; i++) {
        const as_info *as = as_lookup(in, scratch[i].asn);
        rc |= bw_buf_printf(asns, "%s{\"asn\":%" PRIu32 ",\"name\":", i ? "," : "", scratch[i].asn);
        rc |= bw_buf_append_json_string(asns, bw_slice_cstr(as && as->name ? as->name : ""));
        rc |= bw_buf_printf(asns, ",\"ips\":%" PRIu64 "}", scratch[i].ips);
    }
    rc |= bw_buf_append_char(asns, ']');
    // Countries: the registration country of each IP's AS (the ASN data has no per-IP
    // geolocation); IPs of unknown country are left out.
    size_t m = 0;
    for (size_t i = 0; i < b->ip_count; i++) {
        const as_info *as = as_lookup(in, asn_of(in, &b->ips[i]));
        uint32_t key = as ? country_key(as->country) : 0;
        if (key)
            scratch[m++] = (net_count){ key, 0 };
    }
    m = count_keys(scratch, m);
    rc |= bw_buf_append_char(countries, '[');
    for (size_t i = 0; i < m && i < TOP_NETWORKS; i++) {
        char cc[3] = { (char)(scratch[i].asn >> 8), (char)scratch[i].asn, 0 };
        rc |= bw_buf_printf(countries, "%s{\"country\":", i ? "," : "");
        rc |= bw_buf_append_json_string(countries, bw_slice_cstr(cc));
        rc |= bw_buf_printf(countries, ",\"ips\":%" PRIu64 "}", scratch[i].ips);
    }
    return rc | bw_buf_append_char(countries, ']');
}

static bw_status exec(sqlite3 *db, const char *sql, char *errbuf)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        bw_status s = bw_error(errbuf, BW_ERR_DB, "botnets: %s: %s", sql, msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return s;
    }
    return BW_OK;
}

static bw_status write_botnets(sqlite3 *db, const inputs *in, const bw_botnet_result *result, char *errbuf)
{
    sqlite3_stmt *ins = NULL, *upd = NULL;
    bw_buf asns = BW_BUF_INIT, countries = BW_BUF_INIT;
    net_count *scratch = NULL;
    bw_status s = exec(db, "BEGIN IMMEDIATE", errbuf);
    if (s != BW_OK)
        return s;
    if ((s = exec(db, "DELETE FROM botnets", errbuf)) != BW_OK ||
        (s = exec(db, "UPDATE campaigns SET botnet_id = NULL WHERE botnet_id IS NOT NULL", errbuf)) != BW_OK)
        goto done;
    // The sightings of the ids this step read or fed, for the next run (a row they replace
    // covered some of the same ids: a damaged or overlapping one).
    if (in->nsegments) {
        sqlite3_stmt *del = NULL, *put = NULL;
        if (sqlite3_prepare_v2(db, "DELETE FROM sighting_runs WHERE first_id <= ?2 AND last_id >= ?1", -1, &del,
                               NULL) != SQLITE_OK ||
            sqlite3_prepare_v2(db, "INSERT INTO sighting_runs(first_id, last_id, blob) VALUES(?1, ?2, ?3)", -1, &put,
                               NULL) != SQLITE_OK) {
            s = db_fail(db, errbuf, "preparing sighting_runs");
        }
        for (size_t i = 0; i < in->nsegments && s == BW_OK; i++) {
            const run_segment *g = &in->segments[i];
            sqlite3_bind_int64(del, 1, g->first_id);
            sqlite3_bind_int64(del, 2, g->last_id);
            sqlite3_bind_int64(put, 1, g->first_id);
            sqlite3_bind_int64(put, 2, g->last_id);
            sqlite3_bind_blob64(put, 3, g->blob.p, g->blob.n, SQLITE_STATIC);
            if (sqlite3_step(del) != SQLITE_DONE || sqlite3_step(put) != SQLITE_DONE)
                s = db_fail(db, errbuf, "writing sighting_runs");
            sqlite3_reset(del);
            sqlite3_reset(put);
        }
        sqlite3_finalize(del);
        sqlite3_finalize(put);
        if (s != BW_OK)
            goto done;
    }
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO botnets(id, label, campaigns, sender_ips, subnets24, messages, first_seen,"
                           " last_seen, asns_json, countries_json) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                           -1, &ins, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "UPDATE campaigns SET botnet_id = ?1 WHERE id = ?2", -1, &upd, NULL) != SQLITE_OK) {
        s = db_fail(db, errbuf, "preparing");
        goto done;
    }
    size_t count = bw_botnet_result_count(result);
    for (uint64_t id = 1; id <= count && s == BW_OK; id++) {
        bw_botnet_info b;
        if ((s = bw_botnet_result_get(result, id, &b)) != BW_OK) {
            bw_error(errbuf, s, "botnets: botnet %" PRIu64 " missing from the result", id);
            break;
        }
        net_count *grown = realloc(scratch, (b.ip_count ? b.ip_count : 1) * sizeof *scratch);
        if (!grown || networks_json(in, &b, grown, &asns, &countries)) {
            scratch = grown ? grown : scratch;
            s = bw_error(errbuf, BW_ERR_NOMEM, "botnets: out of memory");
            break;
        }
        scratch = grown;
        sqlite3_bind_int64(ins, 1, (int64_t)id);
        if (b.label && *b.label)
            sqlite3_bind_text(ins, 2, b.label, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(ins, 2);
        sqlite3_bind_int64(ins, 3, (int64_t)b.campaigns);
        sqlite3_bind_int64(ins, 4, (int64_t)b.sender_ips);
        sqlite3_bind_int64(ins, 5, (int64_t)b.subnets24);
        sqlite3_bind_int64(ins, 6, (int64_t)b.messages);
        sqlite3_bind_int64(ins, 7, b.first_seen);
        sqlite3_bind_int64(ins, 8, b.last_seen);
        sqlite3_bind_text(ins, 9, asns.p, (int)asns.n, SQLITE_STATIC);
        sqlite3_bind_text(ins, 10, countries.p, (int)countries.n, SQLITE_STATIC);
        int rc = sqlite3_step(ins);
        sqlite3_reset(ins);
        if (rc != SQLITE_DONE) {
            s = db_fail(db, errbuf, "writing a botnet");
            break;
        }
        for (size_t i = 0; i < b.campaigns; i++) {
            sqlite3_bind_int64(upd, 1, (int64_t)id);
            sqlite3_bind_int64(upd, 2, (int64_t)b.campaign_ids[i]);
            rc = sqlite3_step(upd);
            sqlite3_reset(upd);
            if (rc != SQLITE_DONE) {
                s = db_fail(db, errbuf, "writing a campaign's botnet");
                break;
            }
        }
    }
done:
    sqlite3_finalize(ins);
    sqlite3_finalize(upd);
    free(scratch);
    bw_buf_free(&asns);
    bw_buf_free(&countries);
    if (s == BW_OK)
        return exec(db, "COMMIT", errbuf);
    exec(db, "ROLLBACK", NULL);
    return s;
}

// The campaigns table as it will be once override's rows are upserted: a reader opened
// before the end-of-run rows are written sees the older rows of in-memory campaigns (or
// none), so their (messages, first_seen, last_seen) come from the rows themselves.
static bw_status merge_override(inputs *in, const rows_out *override, char *errbuf)
{
    if (!override || !override->count)
        return BW_OK;
    size_t n = in->ncampaigns + override->count;
    bw_botnet_campaign *merged = malloc(n * sizeof *merged);
    if (!merged)
        return bw_error(errbuf, BW_ERR_NOMEM, "botnets: out of memory");
    size_t i = 0, j = 0, k = 0;
    // Both are in ascending id order (the index lists its campaigns by id).
    while (i < in->ncampaigns || j < override->count) {
        const bw_store_campaign_row *r = j < override->count ? &override->rows[j].row : NULL;
        if (r && j > 0 && override->rows[j - 1].row.id >= r->id) {
            free(merged);
            return bw_error(errbuf, BW_ERR_INVALID, "botnets: campaign rows out of order");
        }
        if (!r || (i < in->ncampaigns && in->campaigns[i].id < r->id)) {
            merged[k++] = in->campaigns[i++];
            continue;
        }
        if (i < in->ncampaigns && in->campaigns[i].id == r->id)
            i++;
        merged[k++] = (bw_botnet_campaign){ .id = r->id, .messages = r->messages, .first_seen = r->first_seen,
                                            .last_seen = r->last_seen };
        j++;
    }
    free(in->campaigns);
    in->campaigns = merged;
    in->ncampaigns = k;
    in->campaign_cap = n;
    return BW_OK;
}

struct ingest_botnet_plan {
    inputs in;
    bw_botnet_result *result;
};

void ingest_botnet_plan_free(ingest_botnet_plan *plan)
{
    if (!plan)
        return;
    inputs *in = &plan->in;
    bw_botnet_result_free(plan->result);
    free(in->campaigns);
    free(in->label_off);
    bw_buf_free(&in->label_text);
    free(in->sightings);
    free(in->ips);
    for (size_t i = 0; i < in->nasns; i++) {
        free(in->asns[i].name);
        free(in->asns[i].country);
    }
    free(in->asns);
    for (size_t i = 0; i < in->nsegments; i++)
        bw_buf_free(&in->segments[i].blob);
    free(in->segments);
    free(plan);
}

bw_status ingest_botnets_infer(sqlite3 *db, const rows_out *override, const ingest_botnet_feed *feed,
                               size_t compact_at, ingest_botnet_plan **out, char *errbuf)
{
    *out = NULL;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ingest_botnet_plan *plan = calloc(1, sizeof *plan);
    if (!plan)
        return bw_error(errbuf, BW_ERR_NOMEM, "botnets: out of memory");
    inputs *in = &plan->in;
    in->label_text = (bw_buf)BW_BUF_INIT;
    // One read transaction: the three reads see the same database.
    bool txn = sqlite3_get_autocommit(db) && sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
    bw_status s = read_campaigns(db, in, errbuf);
    if (s == BW_OK)
        s = merge_override(in, override, errbuf);
    if (s == BW_OK)
        s = read_messages(db, in, feed, compact_at, errbuf);
    if (s == BW_OK)
        s = read_asns(db, in, errbuf);
    if (txn)
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (s == BW_OK) {
        // label_text no longer moves: offsets become the strings the inference reads.
        for (size_t i = 0; i < in->ncampaigns; i++)
            in->campaigns[i].labels = in->label_off[i] == SIZE_MAX ? NULL : in->label_text.p + in->label_off[i];
        s = bw_botnet_infer(NULL, in->campaigns, in->ncampaigns, in->sightings, in->nsightings, &plan->result,
                            errbuf);
    }
    if (s != BW_OK) {
        ingest_botnet_plan_free(plan);
        return s;
    }
    bw_botnet_stats st;
    bw_botnet_result_stats(plan->result, &st);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    bw_info("ingest", "botnets inferred seconds=%.3f botnets=%zu campaigns=%zu sightings=%zu edges=%zu modularity=%.3f"
            " (this run's messages %s; %" PRIu64 " sighting_runs rows, %" PRIu64 " message rows read)",
            (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, st.botnets,
            st.campaigns, st.sightings, st.edges, st.modularity,
            feed_usable(feed) ? "from memory" : "read back from the store", in->runs_read, in->rows_read);
    *out = plan;
    return BW_OK;
}

uint64_t ingest_botnet_plan_rows_read(const ingest_botnet_plan *plan)
{
    return plan ? plan->in.rows_read : 0;
}

bw_status ingest_botnets_write(bw_store *store, const ingest_botnet_plan *plan, uint64_t *botnets, char *errbuf)
{
    *botnets = 0;
    if (bw_store_in_batch(store))
        return bw_error(errbuf, BW_ERR_INVALID, "botnets: the store has an open batch");
    bw_status s = write_botnets(bw_store_sqlite(store), &plan->in, plan->result, errbuf);
    if (s == BW_OK)
        *botnets = bw_botnet_result_count(plan->result);
    return s;
}

bw_status ingest_botnets(bw_store *store, uint64_t *botnets, uint64_t *rows_read, char *errbuf)
{
    return ingest_botnets_with(store, INGEST_SIGHTING_RUNS_COMPACT, botnets, rows_read, errbuf);
}

bw_status ingest_botnets_with(bw_store *store, size_t compact_at, uint64_t *botnets, uint64_t *rows_read,
                              char *errbuf)
{
    *botnets = 0;
    *rows_read = 0;
    if (bw_store_in_batch(store))
        return bw_error(errbuf, BW_ERR_INVALID, "botnets: the store has an open batch");
    ingest_botnet_plan *plan;
    bw_status s = ingest_botnets_infer(bw_store_sqlite(store), NULL, NULL, compact_at, &plan, errbuf);
    if (s == BW_OK) {
        *rows_read = plan->in.rows_read;
        s = ingest_botnets_write(store, plan, botnets, errbuf);
    }
    ingest_botnet_plan_free(plan);
    return s;
}
