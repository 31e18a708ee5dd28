// SPDX-License-Identifier: MIT
// The ingest pipeline (include/botwatch/ingest.h): intake -> parse + analyze -> store.
//
// Three roles share one ring of slots under one mutex. The reader thread fills slots in
// input order (messages, intake errors); workers take filled message slots in any order,
// parse and analyze them with their own parser and analyzer, and copy what the store needs
// into the slot; the writer (the calling thread) consumes slots strictly in sequence, so the
// ring is at once the bounded work queue and the reorder buffer. A slot owns its buffers
// and keeps them between uses, so steady-state ingest does no per-message allocation.
// Workers never touch SQLite; the writer never parses: each does one thing.
//
// Campaigns follow the same split: a worker runs the attribution rules and the campaign
// normaliser + MinHash (bw_campaign_prepare, the expensive part) on its message; the writer
// only looks the signature up in the campaign index, in stream order, so campaign ids do
// not depend on the thread count either (campaigns.c, botnets.c).
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "botwatch/hash.h"
#include "botwatch/ingest.h"
#include "botwatch/intake.h"
#include "botwatch/ip.h"
#include "botwatch/log.h"
#include "botwatch/rules.h"
#include "ingest_internal.h"

// Defaults; ingest.h says what each bounds.
enum {
    DEFAULT_RING_MESSAGES = 256,
    DEFAULT_BATCH_MESSAGES = 5000,
    DEFAULT_DEFER_INDEX_MAX_MESSAGES = 1000000,
    // Workers beyond this add contention, not speed: the writer is one thread.
    MAX_THREADS = 64,
    // Slots handed over per lock round trip (reader -> workers, workers -> writer).
    PUBLISH_GROUP = 32,
    CLAIM_GROUP = 16,
};
#define DEFAULT_MAX_INFLIGHT_BYTES ((size_t)128 << 20)
// A slot's buffers above this are released after use, so the few big messages do not pin
// their memory in the ring for the rest of the run: the ring then holds at most
// ring_messages * 64 KB between messages (measured on bench/ingest: peak RSS 180 -> 115-150 MB).
#define SLOT_KEEP_BYTES ((size_t)64 << 10)

typedef enum slot_kind { SLOT_MESSAGE, SLOT_ERROR } slot_kind;
typedef enum slot_state { SLOT_EMPTY, SLOT_READY, SLOT_WORKING, SLOT_DONE } slot_state;

// A string the worker copied into slot->strings, by offset (the buffer may move as it grows).
typedef struct str_ref {
    size_t off, n;
} str_ref;

typedef struct url_ref {
    str_ref url, host, domain;
    bool host_is_ip, from_html, obfuscated;
} url_ref;

typedef struct slot {
    slot_kind kind;
    slot_state state;
    // Filled by the reader.
    bw_buf source;            // intake source name (file or archive member)
    int format;               // bw_intake_format
    uint64_t offset;
    uint64_t original_bytes;
    unsigned intake_flags;
    bw_buf raw;               // the message; for SLOT_ERROR, the reason
    bw_buf envelope_from;
    // Filled by a worker.
    bool parsed;
    char sha256[BW_SHA256_HEX_LEN + 1];
    char parse_error[96];
    bw_buf strings;
    str_ref subject, from, message_id, fingerprint, sender_ip, helo, as_name, as_country;
    int64_t date, received_at;
    bool has_date, has_received;
    uint64_t anomalies;
    size_t part_count, text_bytes;
    uint32_t asn;
    bool has_ip;              // sender_ip parses as an address: ip
    bw_ip ip;
    url_ref *urls;
    size_t url_count, url_cap;
    str_ref rule_labels;
    bool prepared;            // prep holds this message's campaign signature
    bw_campaign_prepared prep;
} slot;

typedef struct pipeline {
    pthread_mutex_t lock;
    pthread_cond_t can_fill;    // reader waits: ring full or too many bytes in flight
    pthread_cond_t can_work;    // workers wait: nothing to parse
    pthread_cond_t can_write;   // writer waits: next slot in sequence not done
    slot *ring;
    size_t ring_size;
    uint64_t filled;            // sequence numbers: slots [written, filled) are in use
    uint64_t next_work;         // lowest sequence a worker may still need to look at
    uint64_t written;
    size_t inflight_bytes, max_inflight_bytes;
    size_t worker_count;
    // Who sleeps on which condition: wake-ups are only sent to someone waiting.
    bool reader_waiting, writer_waiting;
    size_t workers_waiting;
    bool reader_done;
    bool abort;                       // the writer failed: everyone stops
    double cpu_reader, cpu_workers;   // added by each thread as it ends, under the lock
    bw_status reader_status;
    char reader_error[BW_ERRBUF_SIZE];
    bw_intake *intake;
    const bw_ingest_config *config;
    const bw_campaign_config *campaign_config;   // NULL: campaigns off
} pipeline;

typedef struct worker {
    pipeline *p;
    pthread_t thread;
    bw_mime_parser *parser;
    bw_mail_analyzer *analyzer;
    bw_campaign_token_cache *token_cache;   // campaigns on (optional: NULL is only slower)
    bw_rules_scratch **rules_scratch;       // one per rule set
    bw_buf labels, label_scratch;
} worker;

void bw_ingest_config_default(bw_ingest_config *config)
{
    memset(config, 0, sizeof *config);
    config->ring_messages = DEFAULT_RING_MESSAGES;
    config->max_inflight_bytes = DEFAULT_MAX_INFLIGHT_BYTES;
    config->batch_messages = DEFAULT_BATCH_MESSAGES;
    config->defer_index_max_messages = DEFAULT_DEFER_INDEX_MAX_MESSAGES;
    config->progress_interval = 0.25;
    config->campaigns = true;
    config->botnets = true;
}

static double thread_cpu_seconds(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

// For --verbose: a thread's CPU split into user and system time, which tells memory- and
// syscall-bound roles (the writer's I/O, the reader's copies) from compute-bound ones.
static void log_thread_cpu(const char *role)
{
    struct rusage ru;
    if (bw_log_get_level() > BW_LOG_INFO || getrusage(RUSAGE_THREAD, &ru) != 0)
        return;
    bw_info("ingest", "thread cpu role=%s user=%.3f sys=%.3f minflt=%ld", role,
            (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
            (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6, ru.ru_minflt);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

// ---- Reader --------------------------------------------------------------------------

// The reader fills slots beyond `filled` without the lock (no one else looks past
// `filled`) and publishes them in groups: one lock round trip and one wake-up per group
// instead of per message, which matters when workers parse 50k+ messages a second.
typedef struct reader_state {
    pipeline *p;
    uint64_t pending;           // filled slots not yet published
    size_t pending_bytes;
    uint64_t written_seen;      // p->written when last looked at (only grows)
    size_t inflight_seen;       // p->inflight_bytes then, plus what we published since
} reader_state;

static void publish_locked(reader_state *r)
{
    pipeline *p = r->p;
    if (!r->pending)
        return;
    p->filled += r->pending;
    p->inflight_bytes += r->pending_bytes;
    r->pending = 0;
    r->pending_bytes = 0;
    if (p->workers_waiting)
        pthread_cond_broadcast(&p->can_work);
    if (p->writer_waiting)
        pthread_cond_signal(&p->can_write);
}

static bool has_room(const reader_state *r, size_t bytes)
{
    const pipeline *p = r->p;
    uint64_t used = p->filled + r->pending - r->written_seen;
    if (used >= p->ring_size)
        return false;
    // A message larger than the byte bound alone still goes through when nothing else is
    // in flight, or it could never be ingested.
    return used == 0 || r->inflight_seen + r->pending_bytes + bytes <= p->max_inflight_bytes;
}

// Returns the next slot to fill, publishing pending ones first when the ring is full or a
// group is complete; NULL on abort.
static slot *next_slot(reader_state *r, size_t bytes)
{
    pipeline *p = r->p;
    if (r->pending < PUBLISH_GROUP && has_room(r, bytes))
        return &p->ring[(p->filled + r->pending) % p->ring_size];
    pthread_mutex_lock(&p->lock);
    publish_locked(r);
    for (;;) {
        r->written_seen = p->written;
        r->inflight_seen = p->inflight_bytes;
        if (p->abort || has_room(r, bytes))
            break;
        p->reader_waiting = true;
        pthread_cond_wait(&p->can_fill, &p->lock);
        p->reader_waiting = false;
    }
    slot *s = p->abort ? NULL : &p->ring[(p->filled + r->pending) % p->ring_size];
    pthread_mutex_unlock(&p->lock);
    return s;
}

static int copy_slice(bw_buf *b, bw_slice s)
{
    bw_buf_clear(b);
    return bw_buf_append(b, s.p ? s.p : "", s.n);
}

static void *reader_main(void *arg)
{
    pipeline *p = arg;
    reader_state r = { .p = p };
    pthread_setname_np(pthread_self(), "bw-reader");   // for top/perf; failure is harmless
    bw_intake_event ev;
    for (;;) {
        bw_status st = bw_intake_next(p->intake, &ev);
        if (st != BW_OK) {
            p->reader_status = st;
            bw_error(p->reader_error, st, "intake: %s", bw_status_name(st));
            break;
        }
        if (ev.kind == BW_INTAKE_EV_END)
            break;
        if (ev.kind == BW_INTAKE_EV_INPUT_DONE) {
            bw_debug("ingest", "input done path=%s messages=%llu errors=%llu", ev.input_path,
                     (unsigned long long)ev.input_stats.messages, (unsigned long long)ev.input_stats.errors);
            continue;
        }
        bool is_msg = ev.kind == BW_INTAKE_EV_MESSAGE;
        size_t bytes = is_msg ? ev.message.bytes.n : 0;
        slot *s = next_slot(&r, bytes);
        if (!s)
            break;
        int rc;
        if (is_msg) {
            const bw_intake_message *m = &ev.message;
            s->kind = SLOT_MESSAGE;
            s->format = (int)m->format;
            s->offset = m->offset;
            s->original_bytes = m->original_bytes;
            s->intake_flags = m->flags;
            rc = copy_slice(&s->source, m->source) | copy_slice(&s->raw, m->bytes) |
                 copy_slice(&s->envelope_from, m->envelope_sender);
        } else {
            const bw_intake_error *e = &ev.error;
            s->kind = SLOT_ERROR;
            s->format = 0;
            s->offset = e->offset;
            s->original_bytes = 0;
            rc = copy_slice(&s->source, e->source) | copy_slice(&s->raw, BW_SLICE_NULL);
            rc |= bw_buf_printf(&s->raw, "intake %s: %s", bw_intake_error_kind_name(e->kind),
                                e->reason ? e->reason : "");
        }
        if (rc) {
            // Publish the slot as an error, so the sequence stays unbroken, and stop.
            p->reader_status = BW_ERR_NOMEM;
            bw_error(p->reader_error, BW_ERR_NOMEM, "out of memory copying a message");
            s->kind = SLOT_ERROR;
            bytes = 0;
            bw_buf_clear(&s->raw);
        }
        s->state = s->kind == SLOT_MESSAGE ? SLOT_READY : SLOT_DONE;
        r.pending++;
        r.pending_bytes += bytes;
        if (rc)
            break;
    }
    log_thread_cpu("reader");
    pthread_mutex_lock(&p->lock);
    publish_locked(&r);
    p->cpu_reader = thread_cpu_seconds();
    p->reader_done = true;
    pthread_cond_broadcast(&p->can_work);
    pthread_cond_broadcast(&p->can_write);
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

// ---- Workers -------------------------------------------------------------------------

static int keep(slot *s, bw_slice v, str_ref *out)
{
    out->off = s->strings.n;
    out->n = v.n;
    return v.n ? bw_buf_append(&s->strings, v.p, v.n) : 0;
}

// Copies what the store needs out of the parser's and analyzer's memory into the slot.
static bw_status keep_record(worker *w, slot *s, const bw_mail_record *rec)
{
    const bw_message *msg = rec->message;
    bw_buf_clear(&s->strings);
    memcpy(s->sha256, rec->sha256, sizeof s->sha256);
    int rc = keep(s, msg->subject, &s->subject) | keep(s, msg->from, &s->from) |
             keep(s, msg->message_id, &s->message_id) | keep(s, rec->header_fingerprint, &s->fingerprint) |
             keep(s, rec->sender_ip, &s->sender_ip) | keep(s, rec->helo, &s->helo);
    s->date = msg->has_date ? (int64_t)msg->date : 0;
    s->has_date = msg->has_date;
    s->has_received = rec->received_count > 0 && rec->received[0].has_time;
    s->received_at = s->has_received ? (int64_t)rec->received[0].time : 0;
    s->anomalies = rec->anomalies;
    if (s->intake_flags & BW_INTAKE_MSG_TRUNCATED)
        s->anomalies |= BW_ANOM_TRUNCATED;
    s->part_count = msg->part_count;
    s->text_bytes = rec->text.n;
    s->asn = 0;
    s->as_name = s->as_country = (str_ref){ 0, 0 };
    s->has_ip = rec->sender_ip.n && bw_ip_parse(rec->sender_ip, &s->ip);
    if (w->p->config->asn && s->has_ip) {
        bw_asn_info info;
        if (bw_asn_lookup(w->p->config->asn, &s->ip, &info) && info.asn) {
            s->asn = info.asn;
            rc |= keep(s, info.org, &s->as_name) | keep(s, info.country, &s->as_country);
        }
    }
    if (rec->url_count > s->url_cap) {
        url_ref *grown = realloc(s->urls, rec->url_count * sizeof *grown);
        if (!grown)
            return BW_ERR_NOMEM;
        s->urls = grown;
        s->url_cap = rec->url_count;
    }
    s->url_count = rec->url_count;
    for (size_t i = 0; i < rec->url_count; i++) {
        const bw_url *u = &rec->urls[i];
        url_ref *r = &s->urls[i];
        rc |= keep(s, u->url, &r->url) | keep(s, u->host, &r->host) | keep(s, u->domain, &r->domain);
        r->host_is_ip = u->host_is_ip;
        r->from_html = u->from_html;
        r->obfuscated = u->obfuscated;
    }
    return rc ? BW_ERR_NOMEM : BW_OK;
}

static int cmp_slice(const void *a, const void *b)
{
    const bw_slice *x = a, *y = b;
    size_t n = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->p, y->p, n);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

// Several rule sets: their label lists joined by spaces become one sorted, distinct list
// (what messages.rule_labels promises). Bounded by the labels the rule sets define.
static int merge_labels(bw_buf *labels, bw_buf *scratch)
{
    size_t count = 0;
    for (size_t i = 0; i < labels->n; i++)
        count += labels->p[i] != ' ' && (i == 0 || labels->p[i - 1] == ' ');
    if (count == 0) {
        bw_buf_clear(labels);
        return 0;
    }
    bw_slice *words = malloc(count * sizeof *words);
    if (!words)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < labels->n;) {
        while (i < labels->n && labels->p[i] == ' ')
            i++;
        size_t start = i;
        while (i < labels->n && labels->p[i] != ' ')
            i++;
        if (i > start)
            words[n++] = bw_slice_make(labels->p + start, i - start);
    }
    qsort(words, n, sizeof *words, cmp_slice);
    bw_buf_clear(scratch);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (i && cmp_slice(&words[i - 1], &words[i]) == 0)
            continue;
        if (scratch->n)
            rc |= bw_buf_append_char(scratch, ' ');
        rc |= bw_buf_append(scratch, words[i].p, words[i].n);
    }
    free(words);
    if (rc)
        return -1;
    bw_buf tmp = *labels;
    *labels = *scratch;
    *scratch = tmp;
    return 0;
}

// Rules and the campaign signature: the per-message work that needs the full record
// (text, headers), done here so the ordered writer does not have to.
static bw_status attribute(worker *w, slot *s, const bw_mail_record *rec)
{
    const pipeline *p = w->p;
    if (p->config->rules_count) {
        bw_buf_clear(&w->labels);
        for (size_t i = 0; i < p->config->rules_count; i++)
            if (bw_rules_match_labels(p->config->rules[i], w->rules_scratch[i], rec, &w->labels) != BW_OK ||
                (i + 1 < p->config->rules_count && bw_buf_append_char(&w->labels, ' ')))
                return BW_ERR_NOMEM;
        if (p->config->rules_count > 1 && merge_labels(&w->labels, &w->label_scratch) != 0)
            return BW_ERR_NOMEM;
        if (keep(s, bw_buf_slice(&w->labels), &s->rule_labels))
            return BW_ERR_NOMEM;
    }
    if (p->campaign_config) {
        bw_campaign_msg cm = { 0 };
        bw_campaign_msg_from_mail(rec, &cm);
        // The trap address: the envelope recipient is not known to intake (mbox and Maildir
        // do not keep it), so the first To: address stands for it.
        bw_ingest_recipient(rec->message, &cm.rcpt_addr, &cm.rcpt_name);
        if (bw_campaign_prepare_cached(p->campaign_config, &cm, w->token_cache, &s->prep) != BW_OK)
            return BW_ERR_NOMEM;
        s->prepared = true;
    }
    return BW_OK;
}

static void process_message(worker *w, slot *s)
{
    const bw_message *msg = NULL;
    bw_mail_record rec;
    s->parse_error[0] = '\0';
    bw_status st = bw_mime_parse(w->parser, s->raw.p ? s->raw.p : "", s->raw.n, &msg);
    const char *stage = "parse";
    if (st == BW_OK) {
        stage = "analyze";
        st = bw_mail_analyze(w->analyzer, msg, &rec);
    }
    if (st == BW_OK) {
        stage = "copy";
        st = keep_record(w, s, &rec);
    }
    s->prepared = false;
    s->rule_labels = (str_ref){ 0, 0 };
    if (st == BW_OK)
        st = attribute(w, s, &rec);
    s->parsed = st == BW_OK;
    if (!s->parsed) {
        // Still counted and stored by its hash: malformed or oversized mail is data.
        uint8_t digest[BW_SHA256_LEN];
        bw_sha256(s->raw.p ? s->raw.p : "", s->raw.n, digest);
        bw_hex(digest, sizeof digest, s->sha256);
        snprintf(s->parse_error, sizeof s->parse_error, "%s: %s", stage, bw_status_name(st));
        s->url_count = 0;
    }
    bw_mime_parser_reset(w->parser);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    pipeline *p = w->p;
    slot *claimed[CLAIM_GROUP];
    pthread_setname_np(pthread_self(), "bw-worker");
    pthread_mutex_lock(&p->lock);
    for (;;) {
        // Slots the writer already consumed (intake errors need no worker) are behind us.
        if (p->next_work < p->written)
            p->next_work = p->written;
        // Claim a run of READY slots: a group per lock round trip, but no more than a fair
        // share of what is available so that the other workers are not left idle.
        size_t n = 0;
        uint64_t available = p->filled - p->next_work;
        size_t want = (size_t)(available / p->worker_count);
        want = want < 1 ? 1 : want > CLAIM_GROUP ? CLAIM_GROUP : want;
        while (n < want && p->next_work < p->filled) {
            slot *s = &p->ring[p->next_work % p->ring_size];
            p->next_work++;
            if (s->state != SLOT_READY)
                continue;
            s->state = SLOT_WORKING;
            claimed[n++] = s;
        }
        if (n == 0) {
            if (p->abort || p->reader_done)
                break;
            p->workers_waiting++;
            pthread_cond_wait(&p->can_work, &p->lock);
            p->workers_waiting--;
            continue;
        }
        pthread_mutex_unlock(&p->lock);
        for (size_t i = 0; i < n; i++)
            process_message(w, claimed[i]);
        pthread_mutex_lock(&p->lock);
        for (size_t i = 0; i < n; i++)
            claimed[i]->state = SLOT_DONE;
        if (p->writer_waiting)
            pthread_cond_signal(&p->can_write);
        if (p->abort)
            break;
    }
    p->cpu_workers += thread_cpu_seconds();
    pthread_mutex_unlock(&p->lock);
    log_thread_cpu("worker");
    return NULL;
}

// ---- Writer --------------------------------------------------------------------------

typedef struct writer {
    bw_store *store;
    const bw_ingest_config *config;
    bw_ingest_stats *stats;
    bw_buf source;              // current source name; its row is source_id
    int64_t source_id;
    bw_store_source_counts counts;   // not yet added to the source row
    bw_url *urls;
    size_t url_cap;
    size_t in_batch;
    int64_t run_started;        // ingested_at of every row of this run (UTC seconds)
    ingest_campaigns *campaigns;   // NULL: off
    ingest_botnet_feed *botnet_feed;   // NULL: botnets off (or no memory: read from the store)
    uint64_t defer_after;       // drop the report indexes once this run has added this many
                                //   messages (0: not during the run)
    bool deferred;              // the report indexes are dropped (rebuilt at the end)
} writer;

static bw_status flush_counts(writer *wr, char *errbuf)
{
    if (wr->source_id <= 0 || !(wr->counts.messages | wr->counts.errors | wr->counts.bytes))
        return BW_OK;
    bw_status s = bw_store_source_add_counts(wr->store, wr->source_id, &wr->counts, errbuf);
    memset(&wr->counts, 0, sizeof wr->counts);
    return s;
}

static bw_status switch_source(writer *wr, const slot *s, char *errbuf)
{
    if (wr->source_id > 0 && wr->source.n == s->source.n &&
        memcmp(wr->source.p ? wr->source.p : "", s->source.p ? s->source.p : "", s->source.n) == 0)
        return BW_OK;
    bw_status st = flush_counts(wr, errbuf);
    if (st != BW_OK)
        return st;
    if (copy_slice(&wr->source, bw_buf_slice(&s->source)))
        return bw_error(errbuf, BW_ERR_NOMEM, "out of memory");
    const char *format = s->kind == SLOT_MESSAGE ? bw_intake_format_name((bw_intake_format)s->format) : "unknown";
    st = bw_store_source_open(wr->store, wr->source.p ? wr->source.p : "", format, &wr->source_id, errbuf);
    if (st == BW_OK)
        wr->stats->sources++;
    return st;
}

static bw_slice ref(const slot *s, str_ref r)
{
    return r.n ? bw_slice_make(s->strings.p + r.off, r.n) : BW_SLICE_NULL;
}

// For --verbose: each bad input as it is recorded (the source name comes from the input).
static void log_bad_input(const slot *s, const char *reason)
{
    if (bw_log_get_level() > BW_LOG_INFO)
        return;
    bw_buf name = BW_BUF_INIT;
    if (bw_buf_append_escaped(&name, bw_buf_slice(&s->source), 200) == 0)
        bw_info("ingest", "bad input source=%s offset=%llu reason=%s", name.p ? name.p : "",
                (unsigned long long)s->offset, reason);
    bw_buf_free(&name);
}

// A new message's row carries its campaign: the writer looks the message up in the index
// (bw_campaign_index_match changes nothing), stores the row with that campaign id and the
// row id it gets (the campaign's sample id), and commits the match only if the row was
// inserted. A duplicate (same SHA-256 stored before, in this run or an earlier one) is
// ignored by the INSERT and never joins: the INSERT's own uniqueness check finds it, so
// there is no separate lookup of the hash (a B-tree probe of 32-byte keys per message).
static bw_status match_campaign(writer *wr, const slot *s, const bw_message *msg, const bw_mail_record *rec,
                                bw_store_message_meta *meta, bw_campaign_msg *cm, bw_campaign_match *m,
                                char *errbuf)
{
    int64_t id;
    bw_status st = bw_store_next_message_id(wr->store, &id, errbuf);
    if (st != BW_OK)
        return st;
    // The arrival time every report uses (seen_at). A message without one is dated by the
    // stream (the latest time the index has seen), not by the wall clock: one undated
    // message must not jump the index's clock to today and evict every campaign of an
    // archive from years ago. Only a stream that starts undated uses the run's time.
    int64_t when = wr->run_started;
    if (s->has_received)
        when = s->received_at;
    else if (s->has_date)
        when = s->date;
    else
        bw_campaign_index_now(wr->campaigns->index, &when);
    *cm = (bw_campaign_msg){
        .id = (uint64_t)id, .time = when, .subject = msg->subject, .urls = rec->urls, .url_count = rec->url_count,
        .sender_ip = rec->sender_ip, .sender_addr = s->has_ip ? &s->ip : NULL, .asn = s->asn,
    };
    if ((st = bw_campaign_index_match(wr->campaigns->index, &s->prep, m)) != BW_OK)
        return bw_error(errbuf, st, "campaigns: %s", bw_status_name(st));
    meta->id = id;
    meta->campaign_id = m->campaign_id;
    meta->similarity = m->similarity;
    return BW_OK;
}

static bw_status commit_campaign(writer *wr, const slot *s, const bw_campaign_msg *cm, const bw_campaign_match *m,
                                 char *errbuf)
{
    ingest_campaigns *c = wr->campaigns;
    bw_campaign_assignment a;
    bw_status st = bw_campaign_index_commit(c->index, cm, &s->prep, m, &a);
    if (c->status != BW_OK)   // storing an evicted campaign failed
        return bw_error(errbuf, c->status, "%s", c->error);
    if (st != BW_OK)
        return bw_error(errbuf, st, "campaigns: %s", bw_status_name(st));
    wr->stats->campaign_messages++;
    return BW_OK;
}

static bw_status write_slot(writer *wr, const slot *s, char *errbuf)
{
    bw_status st = switch_source(wr, s, errbuf);
    if (st != BW_OK)
        return st;
    if (s->kind == SLOT_ERROR) {
        log_bad_input(s, s->raw.p ? s->raw.p : "");
        st = bw_store_add_error(wr->store, wr->source_id, s->offset, s->raw.p ? s->raw.p : "",
                                wr->run_started, errbuf);
        wr->counts.errors++;
        wr->stats->errors++;
        return st;
    }
    bw_message msg = { 0 };
    bw_received_hop top = { 0 };
    bw_mail_record rec = { 0 };
    memcpy(rec.sha256, s->sha256, sizeof rec.sha256);
    rec.sender_hop = -1;
    if (s->parsed) {
        msg.subject = ref(s, s->subject);
        msg.from = ref(s, s->from);
        msg.message_id = ref(s, s->message_id);
        msg.date = (time_t)s->date;
        msg.has_date = s->has_date;
        msg.part_count = s->part_count;
        msg.anomalies = s->anomalies;
        rec.message = &msg;
        if (s->has_received) {
            top.time = (time_t)s->received_at;
            top.has_time = true;
            rec.received = &top;
            rec.received_count = 1;
        }
        rec.sender_ip = ref(s, s->sender_ip);
        rec.helo = ref(s, s->helo);
        rec.header_fingerprint = ref(s, s->fingerprint);
        rec.anomalies = s->anomalies;
        rec.text = bw_slice_make(NULL, s->text_bytes);   // the store keeps only its length
        if (s->url_count > wr->url_cap) {
            bw_url *grown = realloc(wr->urls, s->url_count * sizeof *grown);
            if (!grown)
                return bw_error(errbuf, BW_ERR_NOMEM, "out of memory");
            wr->urls = grown;
            wr->url_cap = s->url_count;
        }
        for (size_t i = 0; i < s->url_count; i++) {
            const url_ref *r = &s->urls[i];
            wr->urls[i] = (bw_url){ .url = ref(s, r->url), .host = ref(s, r->host), .domain = ref(s, r->domain),
                                    .host_is_ip = r->host_is_ip, .from_html = r->from_html,
                                    .obfuscated = r->obfuscated };
        }
        rec.urls = wr->urls;
        rec.url_count = s->url_count;
    }
    bw_store_message_meta meta = {
        .source_id = wr->source_id,
        .source_offset = s->offset,
        .size = s->original_bytes,
        .ingested_at = wr->run_started,
        .envelope_from = bw_buf_slice(&s->envelope_from),
        .sender_asn = s->parsed ? s->asn : 0,
        .sender_as_name = s->parsed ? ref(s, s->as_name) : BW_SLICE_NULL,
        .sender_country = s->parsed ? ref(s, s->as_country) : BW_SLICE_NULL,
        .rule_labels = s->parsed ? ref(s, s->rule_labels) : BW_SLICE_NULL,
    };
    bool inserted;
    bool campaign = wr->campaigns && s->parsed && s->prepared;
    bw_campaign_msg cm;
    bw_campaign_match match;
    if (campaign && (st = match_campaign(wr, s, &msg, &rec, &meta, &cm, &match, errbuf)) != BW_OK)
        return st;
    if ((st = bw_store_add_message(wr->store, &rec, &meta, &inserted, errbuf)) != BW_OK)
        return st;
    if (campaign && inserted && (st = commit_campaign(wr, s, &cm, &match, errbuf)) != BW_OK)
        return st;
    if (inserted && wr->botnet_feed) {
        // The id the store gave the row (campaign messages chose theirs; it is cached, so
        // this asks nothing of SQLite).
        int64_t next;
        if ((st = bw_store_next_message_id(wr->store, &next, errbuf)) != BW_OK)
            return st;
        ingest_botnet_feed_inserted(wr->botnet_feed, next - 1);
        if (campaign)
            ingest_botnet_feed_add(wr->botnet_feed, meta.campaign_id, s->has_ip ? &s->ip : NULL,
                                   s->has_received ? s->received_at : s->has_date ? s->date : wr->run_started,
                                   meta.sender_asn, meta.rule_labels);
    }
    if (inserted && meta.rule_labels.n)
        wr->stats->labelled++;
    wr->counts.messages++;
    wr->counts.bytes += s->original_bytes;
    wr->stats->messages++;
    wr->stats->bytes += s->original_bytes;
    if (inserted) {
        wr->stats->new_messages++;
    } else {
        wr->counts.duplicates++;
        wr->stats->duplicates++;
    }
    if (!s->parsed) {
        char reason[160];
        snprintf(reason, sizeof reason, "%s (message stored by hash only)", s->parse_error);
        log_bad_input(s, reason);
        if ((st = bw_store_add_error(wr->store, wr->source_id, s->offset, reason, wr->run_started, errbuf)) != BW_OK)
            return st;
        wr->counts.errors++;
        wr->stats->errors++;
    }
    return BW_OK;
}

static bw_status commit_batch(writer *wr, char *errbuf)
{
    bw_status st = flush_counts(wr, errbuf);
    if (st == BW_OK && bw_store_in_batch(wr->store))
        st = bw_store_commit(wr->store, errbuf);
    wr->in_batch = 0;
    return st;
}

// Between two batches of a run that goes on: once it has grown large against its store,
// the report indexes are dropped for the rest of it (see bw_ingest_paths).
static bw_status maybe_defer_indexes(writer *wr, char *errbuf)
{
    if (!wr->defer_after || wr->deferred || wr->stats->new_messages < wr->defer_after)
        return BW_OK;
    bw_status st = bw_store_defer_indexes(wr->store, UINT64_MAX, &wr->deferred, errbuf);
    if (wr->deferred)
        bw_info("ingest", "bulk load: report indexes dropped for the rest of the run (%llu new messages)",
                (unsigned long long)wr->stats->new_messages);
    return st;
}

static void report_progress(writer *wr, pipeline *p, double started, bool final)
{
    if (!wr->config->progress)
        return;
    uint64_t read_bytes, total;
    bw_intake_progress(p->intake, &read_bytes, &total);
    wr->stats->input_bytes = read_bytes;
    wr->stats->total_bytes = total;
    wr->stats->elapsed = now_seconds() - started;
    wr->config->progress(wr->config->progress_ctx, wr->stats, final);
}

// Returns written slots (and their bytes) to the reader; p->lock held.
static void hand_back_locked(pipeline *p, uint64_t *done, size_t *released)
{
    if (!*done)
        return;
    p->written += *done;
    p->inflight_bytes -= *released;
    *done = 0;
    *released = 0;
    if (p->reader_waiting)
        pthread_cond_signal(&p->can_fill);
}

static bw_status run_writer(pipeline *p, writer *wr, double started, char *errbuf)
{
    bw_status st = BW_OK;
    double next_progress = started + wr->config->progress_interval;
    uint64_t done = 0;       // slots written but not yet handed back to the reader
    size_t released = 0;     // their message bytes
    for (;;) {
        // Take every slot that is done, in sequence, in one lock round trip; hand back the
        // ones written since the last time in the same trip.
        pthread_mutex_lock(&p->lock);
        hand_back_locked(p, &done, &released);
        uint64_t ready = 0;
        for (;;) {
            while (p->written + ready < p->filled &&
                   p->ring[(p->written + ready) % p->ring_size].state == SLOT_DONE)
                ready++;
            if (ready || (p->reader_done && p->written >= p->filled) || p->abort)
                break;
            p->writer_waiting = true;
            pthread_cond_wait(&p->can_write, &p->lock);
            p->writer_waiting = false;
        }
        uint64_t first = p->written;
        pthread_mutex_unlock(&p->lock);
        if (!ready)
            break;
        for (uint64_t i = 0; i < ready; i++) {
            slot *s = &p->ring[(first + i) % p->ring_size];
            if (!wr->in_batch && (st = bw_store_begin(wr->store, errbuf)) != BW_OK)
                return st;
            wr->in_batch++;
            // The next message's LSH slots start loading now and arrive while this one is
            // written (campaigns.c: bw_campaign_index_prefetch only hints the cache).
            if (wr->campaigns && i + 1 < ready) {
                const slot *next = &p->ring[(first + i + 1) % p->ring_size];
                if (next->prepared)
                    bw_campaign_index_prefetch(wr->campaigns->index, &next->prep);
            }
            if ((st = write_slot(wr, s, errbuf)) != BW_OK)
                return st;
            released += s->kind == SLOT_MESSAGE ? s->raw.n : 0;
            if (s->raw.cap > SLOT_KEEP_BYTES)
                bw_buf_free(&s->raw);
            if (s->strings.cap > SLOT_KEEP_BYTES)
                bw_buf_free(&s->strings);
            if (s->prep.text.cap > SLOT_KEEP_BYTES)
                bw_buf_free(&s->prep.text);
            // The slot stays DONE until the reader refills it: nobody looks at it before.
            done++;
            if (done >= PUBLISH_GROUP && i + 1 < ready) {
                // Hand written slots back while the rest of the run is written, so the reader
                // and workers refill the ring alongside the writer instead of waiting for the
                // whole run: handing back only after the run left the writer waiting 0.59 s
                // of a 1.66 s bench/ingest run for slots the stalled workers had not done.
                pthread_mutex_lock(&p->lock);
                hand_back_locked(p, &done, &released);
                pthread_mutex_unlock(&p->lock);
            }
            if (wr->in_batch >= wr->config->batch_messages &&
                ((st = commit_batch(wr, errbuf)) != BW_OK || (st = maybe_defer_indexes(wr, errbuf)) != BW_OK))
                return st;
            if ((wr->stats->messages & 255) == 0) {
                double t = now_seconds();
                if (t >= next_progress) {
                    report_progress(wr, p, started, false);
                    next_progress = t + wr->config->progress_interval;
                }
            }
        }
    }
    return commit_batch(wr, errbuf);
}

// The end of run's second thread. It saves the campaign state (handed to the writer as soon
// as it is made) and builds the campaign rows (template inference, JSON: the index only)
// while the writer's connection rebuilds the report indexes and stores the state; then,
// once the rows are handed over too, it reads and infers the botnets on a read connection
// of its own while the writer is still busy (the messages are all committed; the rows just
// built stand in for the campaign rows not written yet). It never touches the writer's
// connection. Inferring the botnets only after the writer had written the rows (a thread of
// its own, started then) put all of it on the run's critical path: 31 ms of a 0.63 s run on
// a 60,000-message spamsim stream, where 57,000 sightings come from as many zombies.
typedef struct finisher {
    ingest_campaigns *campaigns;
    const ingest_botnet_feed *feed;   // this run's messages (may be NULL)
    const char *db_path;           // NULL: botnets are inferred later, on the writer
    ingest_botnet_plan *plan;      // the botnets, if inferred here
    bool botnets_tried;            // inference ran here (plan, or why it failed)
    char why[BW_ERRBUF_SIZE];      // why not, if it failed (the writer then does it)
    double cpu;                    // CPU seconds of the thread (counted as the writer's)
    pthread_mutex_t lock;
    pthread_cond_t progressed;     // state_ready or rows_ready became true
    bool state_ready;              // campaigns->state is made (or failed)
    bool rows_ready;               // campaigns->final is built (or failed)
} finisher;

static void finisher_botnets(finisher *f)
{
    sqlite3 *db = NULL;
    f->botnets_tried = true;
    if (sqlite3_open_v2(f->db_path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        snprintf(f->why, sizeof f->why, "read connection: %s", db ? sqlite3_errmsg(db) : "out of memory");
    } else {
        sqlite3_busy_timeout(db, 5000);
        ingest_botnets_infer(db, &f->campaigns->final, f->feed, INGEST_SIGHTING_RUNS_COMPACT, &f->plan, f->why);
    }
    sqlite3_close(db);
}

static void finisher_signal(finisher *f, bool *flag)
{
    pthread_mutex_lock(&f->lock);
    *flag = true;
    pthread_cond_broadcast(&f->progressed);
    pthread_mutex_unlock(&f->lock);
}

static void finisher_wait(finisher *f, const bool *flag)
{
    pthread_mutex_lock(&f->lock);
    while (!*flag)
        pthread_cond_wait(&f->progressed, &f->lock);
    pthread_mutex_unlock(&f->lock);
}

static void *finisher_rows_main(void *arg)
{
    finisher *f = arg;
    double cpu0 = thread_cpu_seconds();
    ingest_campaigns_save_state(f->campaigns);
    finisher_signal(f, &f->state_ready);
    ingest_campaigns_build_rows(f->campaigns);
    bool botnets = f->db_path && f->campaigns->rows_status == BW_OK;
    finisher_signal(f, &f->rows_ready);
    // The writer only reads campaigns->final from here on, as this does.
    if (botnets)
        finisher_botnets(f);
    f->cpu += thread_cpu_seconds() - cpu0;
    return NULL;
}

static void *finisher_botnets_main(void *arg)
{
    finisher *f = arg;
    double cpu0 = thread_cpu_seconds();
    finisher_botnets(f);
    f->cpu += thread_cpu_seconds() - cpu0;
    return NULL;
}

// How many new messages the inputs hold, estimated as their bytes not read before (a file
// ingested before counts only what it grew by since: a trap's mbox is appended to) over the
// store's input bytes a message so far; 0 when not known (a path that is not a regular
// file, or no history).
static uint64_t expected_messages(bw_store *store, const char *const *paths, size_t path_count)
{
    sqlite3 *db = bw_store_sqlite(store);
    sqlite3_stmt *q = NULL, *prev = NULL;
    uint64_t bytes = 0, seen_bytes = 0, seen_messages = 0;
    bool known = sqlite3_prepare_v2(db, "SELECT coalesce(sum(bytes), 0) FROM sources WHERE path = ?1", -1, &prev,
                                    NULL) == SQLITE_OK;
    for (size_t i = 0; i < path_count && known; i++) {
        struct stat sb;
        if (strcmp(paths[i], "-") == 0 || stat(paths[i], &sb) != 0 || !S_ISREG(sb.st_mode)) {
            known = false;
            break;
        }
        uint64_t read_before = 0;
        sqlite3_bind_text(prev, 1, paths[i], -1, SQLITE_STATIC);
        if (sqlite3_step(prev) == SQLITE_ROW)
            read_before = (uint64_t)sqlite3_column_int64(prev, 0);
        sqlite3_reset(prev);
        bytes += (uint64_t)sb.st_size > read_before ? (uint64_t)sb.st_size - read_before : 0;
    }
    sqlite3_finalize(prev);
    if (known && sqlite3_prepare_v2(db, "SELECT coalesce(sum(bytes), 0), coalesce(sum(messages), 0) FROM sources",
                                    -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW) {
        seen_bytes = (uint64_t)sqlite3_column_int64(q, 0);
        seen_messages = (uint64_t)sqlite3_column_int64(q, 1);
    }
    sqlite3_finalize(q);
    if (!known || !seen_bytes || !seen_messages)
        return 0;
    return bytes / (seen_bytes / seen_messages + 1);
}

static long online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? n : 1;
}

bw_status bw_ingest_paths(bw_store *store, const char *const *paths, size_t path_count,
                          const bw_ingest_config *config, bw_ingest_stats *stats, char *errbuf)
{
    memset(stats, 0, sizeof *stats);
    bw_ingest_config cfg;
    if (config)
        cfg = *config;
    else
        bw_ingest_config_default(&cfg);
    if (!cfg.threads)
        cfg.threads = (size_t)online_cpus();
    if (cfg.threads > MAX_THREADS)
        cfg.threads = MAX_THREADS;
    if (!cfg.ring_messages)
        cfg.ring_messages = DEFAULT_RING_MESSAGES;
    if (!cfg.max_inflight_bytes)
        cfg.max_inflight_bytes = DEFAULT_MAX_INFLIGHT_BYTES;
    if (!cfg.batch_messages)
        cfg.batch_messages = DEFAULT_BATCH_MESSAGES;
    if (cfg.progress_interval <= 0)
        cfg.progress_interval = 0.25;
    if (bw_store_in_batch(store))
        return bw_error(errbuf, BW_ERR_INVALID, "ingest needs a store without an open batch");

    double started = now_seconds();
    double writer_cpu_started = thread_cpu_seconds();
    bw_status st = BW_OK;
    pipeline p = { 0 };
    worker *workers = NULL;
    size_t started_workers = 0;
    bool deferred = false;
    bool background_ckpt = false;
    ingest_campaigns campaigns;
    bool campaigns_open = false;
    writer wr = { .store = store, .config = &cfg, .stats = stats, .run_started = (int64_t)time(NULL) };
    p.config = &cfg;
    p.ring_size = cfg.ring_messages;
    p.worker_count = cfg.threads;
    p.max_inflight_bytes = cfg.max_inflight_bytes;
    pthread_mutex_init(&p.lock, NULL);
    pthread_cond_init(&p.can_fill, NULL);
    pthread_cond_init(&p.can_work, NULL);
    pthread_cond_init(&p.can_write, NULL);

    // Campaigns first: a saved state that cannot be loaded stops the run before anything
    // is read or written.
    if (cfg.campaigns) {
        campaigns_open = true;
        if ((st = ingest_campaigns_open(&campaigns, store, cfg.campaign_config, cfg.reset_campaigns, errbuf)) != BW_OK)
            goto done;
        stats->campaign_state_reset = campaigns.state_reset;
        wr.campaigns = &campaigns;
        p.campaign_config = &campaigns.cfg;
        if (cfg.botnets)
            wr.botnet_feed = ingest_botnet_feed_new(0);   // without it, botnets read the store

    }
    p.ring = calloc(p.ring_size, sizeof *p.ring);
    workers = calloc(cfg.threads, sizeof *workers);
    p.intake = bw_intake_new(NULL, errbuf);
    if (!p.ring || !workers || !p.intake) {
        st = p.intake ? bw_error(errbuf, BW_ERR_NOMEM, "out of memory") : BW_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < path_count; i++)
        if ((st = bw_intake_add_path(p.intake, paths[i])) != BW_OK) {
            bw_error(errbuf, st, "%s: %s", paths[i], bw_status_name(st));
            goto done;
        }
    for (size_t i = 0; i < p.ring_size; i++)
        p.ring[i].prep = (bw_campaign_prepared)BW_CAMPAIGN_PREPARED_INIT;
    for (size_t i = 0; i < cfg.threads; i++) {
        worker *w = &workers[i];
        w->p = &p;
        w->parser = bw_mime_parser_new(cfg.mime_limits);
        w->analyzer = bw_mail_analyzer_new(cfg.mail_config, errbuf);
        if (!w->parser || !w->analyzer) {
            st = w->parser ? BW_ERR_INVALID : bw_error(errbuf, BW_ERR_NOMEM, "out of memory");
            goto done;
        }
        if (p.campaign_config)
            w->token_cache = bw_campaign_token_cache_new();
        if (cfg.rules_count) {
            w->rules_scratch = calloc(cfg.rules_count, sizeof *w->rules_scratch);
            if (!w->rules_scratch) {
                st = bw_error(errbuf, BW_ERR_NOMEM, "out of memory");
                goto done;
            }
            for (size_t r = 0; r < cfg.rules_count; r++)
                if (!(w->rules_scratch[r] = bw_rules_scratch_new(cfg.rules[r]))) {
                    st = bw_error(errbuf, BW_ERR_NOMEM, "out of memory for the rules' scratch space");
                    goto done;
                }
        }
    }
    pthread_t reader;
    if (pthread_create(&reader, NULL, reader_main, &p) != 0) {
        st = bw_error(errbuf, BW_ERR_NOMEM, "cannot start the reader thread: %s", strerror(errno));
        goto done;
    }
    for (; started_workers < cfg.threads; started_workers++)
        if (pthread_create(&workers[started_workers].thread, NULL, worker_main, &workers[started_workers]) != 0)
            break;
    if (started_workers == 0) {
        st = bw_error(errbuf, BW_ERR_NOMEM, "cannot start worker threads");
        pthread_mutex_lock(&p.lock);
        p.abort = true;
        pthread_cond_broadcast(&p.can_fill);
        pthread_mutex_unlock(&p.lock);
        goto join;
    }
    // The writer is the pipeline's one serial stage: its commits must not wait for the
    // disk. Best effort: without the thread, SQLite checkpoints inside the commits.
    char ckpt_why[BW_ERRBUF_SIZE];
    background_ckpt = bw_store_background_checkpoints(store, true, ckpt_why) == BW_OK;
    if (!background_ckpt)
        bw_info("ingest", "checkpoints stay on the writer thread: %s", ckpt_why);
    // The reader and workers never touch the store, so indexes can change while they run.
    // Bulk load: rebuilding the report indexes at the end costs in proportion to the whole
    // store, keeping them costs in proportion to the run. Into a store of R messages (at
    // most defer_index_max_messages) they are dropped at once if the run will add R/8 or
    // more (into an empty store, or files whose unread bytes promise that many messages at
    // the store's bytes a message so far), else kept, and dropped after all once the run
    // has added R/8 (a directory's size is not known ahead; a compressed file holds more
    // than its bytes suggest). A run of 2,000 spamsim messages into 353,000 took 0.48 s with them
    // dropped and rebuilt and 0.38 s with them kept; at 50,000 into 350,000 the two were
    // even (29 Nov 2026).
    if (!cfg.keep_indexes) {
        // max(id): the row count's upper bound, read from the end of the table.
        uint64_t rows = UINT64_MAX;
        sqlite3_stmt *q = NULL;
        if (sqlite3_prepare_v2(bw_store_sqlite(store), "SELECT coalesce(max(id), 0) FROM messages", -1, &q, NULL) ==
                SQLITE_OK &&
            sqlite3_step(q) == SQLITE_ROW)
            rows = (uint64_t)sqlite3_column_int64(q, 0);
        sqlite3_finalize(q);
        if (rows <= cfg.defer_index_max_messages) {
            if (rows / 8 == 0 || expected_messages(store, paths, path_count) >= rows / 8)
                st = bw_store_defer_indexes(store, cfg.defer_index_max_messages, &wr.deferred, errbuf);
            else
                wr.defer_after = rows / 8;
        }
    }
    if (wr.deferred)
        bw_info("ingest", "bulk load: report indexes dropped for the run");
    if (st == BW_OK)
        st = run_writer(&p, &wr, started, errbuf);
    deferred = wr.deferred;
    if (st != BW_OK) {
        if (bw_store_in_batch(store))
            bw_store_rollback(store, NULL);
        pthread_mutex_lock(&p.lock);
        p.abort = true;
        pthread_cond_broadcast(&p.can_fill);
        pthread_cond_broadcast(&p.can_work);
        pthread_mutex_unlock(&p.lock);
    }
join:
    pthread_join(reader, NULL);
    for (size_t i = 0; i < started_workers; i++)
        pthread_join(workers[i].thread, NULL);
    if (st == BW_OK && p.reader_status != BW_OK) {
        // Intake ran out of memory: what was read is stored; the run did not complete.
        st = p.reader_status;
        if (errbuf)
            snprintf(errbuf, BW_ERRBUF_SIZE, "%s", p.reader_error);
    }
    double finish_started = now_seconds();
    // End of run (see finisher). Not after a failed run: its messages keep their campaign
    // ids, the next run continues from the previous state and never reuses those ids.
    bool finish_campaigns = campaigns_open && st == BW_OK;
    finisher fin = { .campaigns = &campaigns, .feed = wr.botnet_feed, .lock = PTHREAD_MUTEX_INITIALIZER,
                     .progressed = PTHREAD_COND_INITIALIZER };
    // A run that stored no message, into a store whose every message the last botnet step
    // saw (its sighting_runs rows cover them all; they were written with the botnets, in one
    // transaction), leaves the botnets as they are: nothing they are made of changed.
    bool botnets_current = finish_campaigns && cfg.botnets && stats->new_messages == 0 &&
                           ingest_botnets_current(bw_store_sqlite(store));
    if (cfg.botnets && !botnets_current) {
        const char *path = sqlite3_db_filename(bw_store_sqlite(store), "main");
        fin.db_path = path && *path ? path : NULL;   // a temporary database has no path
    }
    pthread_t rows_thread, botnets_thread;
    bool rows_started = finish_campaigns && deferred &&
                        pthread_create(&rows_thread, NULL, finisher_rows_main, &fin) == 0;
    if (deferred) {
        // Also after a failed run: what was committed gets its indexes now (if this fails
        // too, the next read-write open rebuilds them).
        char why[BW_ERRBUF_SIZE];
        double build_started = now_seconds();
        bw_status bs = bw_store_build_indexes(store, why);
        bw_info("ingest", "report indexes rebuilt seconds=%.2f", now_seconds() - build_started);
        if (bs != BW_OK && st == BW_OK) {
            st = bs;
            if (errbuf)
                snprintf(errbuf, BW_ERRBUF_SIZE, "%s", why);
        }
    }
    bool botnets_started = false;
    if (finish_campaigns) {
        // The state blob first (ready long before the rows), the rows while the botnets are
        // read, one transaction (write_state begins it, finish commits it).
        double rows_at = now_seconds();
        if (rows_started)
            finisher_wait(&fin, &fin.state_ready);
        char rows_why[BW_ERRBUF_SIZE];   // the first failure keeps errbuf
        char *why = st == BW_OK ? errbuf : rows_why;
        bw_status cs_st = ingest_campaigns_write_state(&campaigns, why);
        if (rows_started)
            finisher_wait(&fin, &fin.rows_ready);   // the botnets go on there
        else if (cs_st == BW_OK)
            ingest_campaigns_build_rows(&campaigns);
        if (cs_st == BW_OK) {
            // Without the second thread (a small run keeps its indexes), the botnets get one now.
            botnets_started = !rows_started && !botnets_current && st == BW_OK && fin.db_path &&
                              campaigns.rows_status == BW_OK &&
                              pthread_create(&botnets_thread, NULL, finisher_botnets_main, &fin) == 0;
            cs_st = ingest_campaigns_finish(&campaigns, why);
        }
        if (st == BW_OK)
            st = cs_st;
        bw_info("ingest", "campaign rows and state saved seconds=%.2f (built alongside the indexes: %s%s)",
                now_seconds() - rows_at, rows_started ? "yes" : "no",
                campaigns.state_unchanged ? "; no campaign changed, the saved state is kept as it was" : "");
        bw_campaign_stats cs;
        bw_campaign_index_stats(campaigns.index, &cs);
        stats->campaigns_created = cs.campaigns_created - campaigns.created_before;
        stats->campaigns_evicted = cs.campaigns_evicted - campaigns.evicted_before;
        stats->campaigns_active = cs.campaigns_active;
    }
    if (rows_started)
        pthread_join(rows_thread, NULL);   // the rows were handed over; the botnets follow them
    if (botnets_started)
        pthread_join(botnets_thread, NULL);
    if (campaigns_open && cfg.botnets && st == BW_OK) {
        // Over the whole store, after the indexes are back (messages_campaign serves it).
        double botnets_at = now_seconds();
        if (botnets_current) {
            st = ingest_botnets_count(store, &stats->botnets, errbuf);
            stats->botnets_kept = true;
            bw_info("ingest", "botnets kept: no message stored, and the last botnet step saw every message");
        } else if (fin.plan) {
            stats->botnet_rows_read = ingest_botnet_plan_rows_read(fin.plan);
            st = ingest_botnets_write(store, fin.plan, &stats->botnets, errbuf);
        } else {
            if (fin.botnets_tried)
                bw_info("ingest", "botnets inferred on the writer: %s", fin.why);
            st = ingest_botnets(store, &stats->botnets, &stats->botnet_rows_read, errbuf);
        }
        bw_info("ingest", "botnets inferred and stored seconds=%.2f", now_seconds() - botnets_at);
    }
    ingest_botnet_plan_free(fin.plan);
    if (background_ckpt)
        bw_store_background_checkpoints(store, false, NULL);
    stats->seconds_finish = now_seconds() - finish_started;
    stats->indexes_rebuilt = deferred;
    stats->cpu_reader = p.cpu_reader;
    stats->cpu_workers = p.cpu_workers;
    // The end-of-run thread works for the writer: its CPU is the writer's.
    stats->cpu_writer = thread_cpu_seconds() - writer_cpu_started + fin.cpu;
    log_thread_cpu("writer");
    report_progress(&wr, &p, started, true);
    stats->elapsed = now_seconds() - started;
done:
    if (workers)
        for (size_t i = 0; i < cfg.threads; i++) {
            bw_mime_parser_free(workers[i].parser);
            bw_mail_analyzer_free(workers[i].analyzer);
            bw_campaign_token_cache_free(workers[i].token_cache);
            if (workers[i].rules_scratch)
                for (size_t r = 0; r < cfg.rules_count; r++)
                    bw_rules_scratch_free(workers[i].rules_scratch[r]);
            free(workers[i].rules_scratch);
            bw_buf_free(&workers[i].labels);
            bw_buf_free(&workers[i].label_scratch);
        }
    free(workers);
    if (p.ring)
        for (size_t i = 0; i < p.ring_size; i++) {
            slot *sl = &p.ring[i];
            bw_buf_free(&sl->source);
            bw_buf_free(&sl->raw);
            bw_buf_free(&sl->envelope_from);
            bw_buf_free(&sl->strings);
            bw_campaign_prepared_free(&sl->prep);
            free(sl->urls);
        }
    free(p.ring);
    bw_intake_free(p.intake);
    if (campaigns_open)
        ingest_campaigns_close(&campaigns);
    bw_buf_free(&wr.source);
    free(wr.urls);
    ingest_botnet_feed_free(wr.botnet_feed);
    pthread_mutex_destroy(&p.lock);
    pthread_cond_destroy(&p.can_fill);
    pthread_cond_destroy(&p.can_work);
    pthread_cond_destroy(&p.can_write);
    return st;
}
