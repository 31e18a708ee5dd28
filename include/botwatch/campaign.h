// SPDX-License-Identifier: MIT
// Campaigns: spam that one template produced, found incrementally in the message stream.
// Each message's subject and visible text are normalised into a template text (case-folded
// words; numbers, hex/base64 ids, e-mail addresses, the recipient and URLs replaced by typed
// placeholders), shingled, and summarised by a keyed one-permutation MinHash signature.
// LSH banding finds the campaigns whose representative signatures are likely similar; the
// message joins the one with the highest estimated Jaccard similarity at or above the
// threshold, or starts a new one. Campaigns advertising the same registrable domain within
// a time window are linked (AutoRE). Each campaign keeps bounded statistics and a few
// members from which its Judo-style template ("buy <*> now at <url:dom>") is inferred.
//
// Input is a plain bw_campaign_msg (so tests and simulators need no parser); ingest fills
// one from a bw_mail_record with bw_campaign_msg_from_mail(). Memory is bounded: every
// per-campaign set is capped, and campaigns idle longer than idle_window leave the index
// (handed to on_evict first, so the store can keep them). Same key, same config, same
// input order => same campaign ids. The index is not thread-safe: one index is fed by one
// thread (the ordered writer in ingest); the per-message normalisation and MinHash can be
// done beforehand in any thread (bw_campaign_prepare). See docs/campaigns.md.
#ifndef BOTWATCH_CAMPAIGN_H
#define BOTWATCH_CAMPAIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "botwatch/error.h"
#include "botwatch/hash.h"
#include "botwatch/ip.h"
#include "botwatch/str.h"
#include "botwatch/url.h"

// MinHash signature length (bins of the one-permutation MinHash). Fixed so signatures
// stored by one build compare with another's.
#define BW_CAMPAIGN_SIG 128

// ---- Normalisation -------------------------------------------------------------------

typedef struct bw_campaign_norm_limits {
    size_t max_input_bytes;   // subject + text bytes looked at (the rest is ignored)
    size_t max_tokens;        // tokens kept per message
    size_t max_token_bytes;   // one word; longer words are cut (and flagged)
} bw_campaign_norm_limits;

void bw_campaign_norm_limits_default(bw_campaign_norm_limits *limits);

typedef enum bw_campaign_norm_flag {
    BW_NORM_INPUT_LIMIT = 1u << 0,   // input longer than max_input_bytes
    BW_NORM_TOKEN_LIMIT = 1u << 1,   // more than max_tokens tokens
    BW_NORM_LONG_TOKEN  = 1u << 2,   // a word cut at max_token_bytes
    BW_NORM_BAD_UTF8    = 1u << 3,   // invalid UTF-8 bytes (treated as separators)
} bw_campaign_norm_flag;

// Appends the template text of (subject, text) to out: tokens separated by one space.
// rcpt_addr/rcpt_name (may be empty) are the trap address and its display name; their
// occurrences become <rcpt>. Placeholders: <num> <hex> <b64> <id> <email> <rcpt> <url:dom>
// <url:ip> (docs/campaigns.md has the table). *token_count and *flags (bw_campaign_norm_flag) may be NULL. BW_ERR_NOMEM only.
bw_status bw_campaign_normalize(const bw_campaign_norm_limits *limits, bw_slice subject, bw_slice text,
                                bw_slice rcpt_addr, bw_slice rcpt_name, bw_buf *out,
                                size_t *token_count, unsigned *flags);

// Unicode simple case fold of one code point for Latin-1, Latin Extended-A, Greek and
// Cyrillic (the scripts of the spam corpora); others are returned unchanged.
uint32_t bw_campaign_fold(uint32_t cp);

// ---- MinHash -------------------------------------------------------------------------

// Keyed one-permutation MinHash (with optimal densification) of the k-token shingles of a
// template text (space-separated tokens, as bw_campaign_normalize writes). A text with
// fewer than k tokens is one shingle; an empty text gives the all-ones signature.
void bw_campaign_minhash(const bw_hash_key *key, unsigned shingle_k, bw_slice template_text,
                         uint32_t sig[BW_CAMPAIGN_SIG]);
// Estimated Jaccard similarity: the fraction of equal bins.
double bw_campaign_sig_similarity(const uint32_t a[BW_CAMPAIGN_SIG], const uint32_t b[BW_CAMPAIGN_SIG]);
// Probability that LSH with `bands` x `rows` proposes a pair of similarity s:
// 1 - (1 - s^rows)^bands (the S-curve of docs/campaigns.md).
double bw_campaign_lsh_probability(double s, unsigned bands, unsigned rows);

// ---- The index -----------------------------------------------------------------------

typedef struct bw_campaign_top {
    bw_slice value;            // subject or domain (capped copy)
    uint64_t count;            // space-saving count (an upper bound, exact while few)
} bw_campaign_top;

typedef struct bw_campaign_link {
    uint64_t other_id;         // the campaign linked to
    bw_slice domain;           // the registrable domain both advertised
    int64_t time;              // when the link was seen
} bw_campaign_link;

// What is known about one campaign. Slices and arrays are owned by the index and valid
// until the next call that changes it (add, evict, load) or its free.
typedef struct bw_campaign_summary {
    uint64_t id;
    int64_t first_seen, last_seen;         // message times (seconds)
    uint64_t messages;
    uint64_t sender_ips, subnets24, asns;  // distinct; exact while under the caps, else
    bool sender_ips_exact;                 //   HyperLogLog estimates (ips, /24s)
    const bw_ip *ips;                      // the kept sender IPs (at most max_ips)
    size_t ip_count;
    const uint32_t *asn_list;              // distinct ASNs kept (at most max_asns)
    size_t asn_count;
    const bw_campaign_top *subjects;       // highest counts first
    size_t subject_count;
    const bw_campaign_top *domains;
    size_t domain_count;
    const uint64_t *samples;               // member message ids (reservoir, bounded)
    size_t sample_count;
    const bw_campaign_link *links;
    size_t link_count;
    bw_slice template_text;                // inferred template, "<*>" marks variable slots
    unsigned template_members;             // members it was inferred from
} bw_campaign_summary;

typedef void (*bw_campaign_evict_fn)(void *ctx, const bw_campaign_summary *campaign);

// Every count that untrusted mail controls is capped; see docs/campaigns.md for why each
// default is what it is.
typedef struct bw_campaign_config {
    bw_hash_key key;                 // MinHash/LSH key: store it with the database
    bw_campaign_norm_limits norm;
    unsigned shingle_k;              // tokens per shingle (3..5)
    double threshold;                // estimated Jaccard needed to join a campaign
    unsigned bands, rows;            // LSH banding; bands * rows <= BW_CAMPAIGN_SIG
    unsigned max_reps;               // representative signatures per campaign in LSH
    double new_rep_below;            // a member this dissimilar to all reps becomes one
    int64_t idle_window;             // seconds without a member before eviction
    int64_t link_window;             // seconds within which shared domains link campaigns
    size_t max_active;               // campaigns in memory; beyond, the idlest is evicted
    size_t max_ips;                  // sender IPs kept per campaign
    size_t max_subnets;              // /24s kept per campaign
    size_t max_asns;                 // ASNs kept per campaign
    size_t max_top;                  // top subjects / domains per campaign
    size_t max_value_bytes;          // one subject or domain kept
    size_t max_samples;              // member message ids kept per campaign
    size_t max_links;                // links kept per campaign
    size_t max_urls;                 // URLs of one message looked at
    size_t max_domains_tracked;      // domain -> campaign table for linking
    unsigned template_members;       // members kept for template inference
    size_t template_max_tokens;      // tokens of one member kept for it
    bw_campaign_evict_fn on_evict;   // may be NULL
    void *evict_ctx;
} bw_campaign_config;

// Defaults; the key is all zero: callers set a random one (bw_hash_key_random) for a new
// database, or the stored one.
void bw_campaign_config_default(bw_campaign_config *config);

// One message, as plain values (all may be empty). Slices are only read during the call.
typedef struct bw_campaign_msg {
    uint64_t id;              // caller's message id (store row id, stream index), for samples
    int64_t time;             // seconds (arrival or Date)
    bw_slice subject;         // decoded, UTF-8
    bw_slice text;            // visible text, UTF-8
    const bw_url *urls;       // only .domain and .host_is_ip are used
    size_t url_count;
    bw_slice sender_ip;       // text form; unparsable or empty = unknown
    const bw_ip *sender_addr; // sender_ip already parsed, or NULL (then it is parsed here)
    uint32_t asn;             // 0 = unknown
    bw_slice rcpt_addr, rcpt_name;  // the trap recipient, replaced by <rcpt>
} bw_campaign_msg;

typedef struct bw_mail_record bw_mail_record;
// Fills msg from an analysed message (subject, text, URLs, sender IP); the caller sets
// id, time, asn and the recipient. msg's slices borrow from record.
void bw_campaign_msg_from_mail(const bw_mail_record *record, bw_campaign_msg *msg);

typedef struct bw_campaign_assignment {
    uint64_t campaign_id;
    bool is_new;              // this message started the campaign
    double similarity;        // estimated Jaccard to the best representative (1 if new)
    unsigned norm_flags;      // bw_campaign_norm_flag of the message
} bw_campaign_assignment;

typedef struct bw_campaign_stats {
    uint64_t messages;
    uint64_t campaigns_created;
    uint64_t campaigns_active;
    uint64_t campaigns_evicted;       // idle, or beyond max_active
    uint64_t evicted_for_cap;         // of which because of max_active
    uint64_t candidates_checked;      // representatives compared in full
    uint64_t links;
    uint64_t domains_dropped;         // not tracked because the table was full
    uint64_t truncated_messages;      // messages hitting a normalisation limit
    size_t memory_bytes;              // bytes the index holds now
} bw_campaign_stats;

typedef struct bw_campaign_index bw_campaign_index;

// config may be NULL for the defaults (zero key). NULL on allocation failure or an invalid
// config (reason in errbuf, which may be NULL).
bw_campaign_index *bw_campaign_index_new(const bw_campaign_config *config, char *errbuf);
// Frees without calling on_evict (call bw_campaign_index_evict_all first to flush).
void bw_campaign_index_free(bw_campaign_index *index);

// Assigns msg to a campaign. Only BW_ERR_NOMEM is possible; the message may then be
// counted in its campaign's statistics but not assigned (out is not written).
// Same as bw_campaign_prepare() followed by bw_campaign_index_add_prepared().
bw_status bw_campaign_index_add(bw_campaign_index *index, const bw_campaign_msg *msg,
                                bw_campaign_assignment *out);

// ---- Split for pipelines: prepare in parallel, add in order ------------------------------
// Normalisation and MinHash (most of a message's cost) depend only on the config and the
// message, so workers can prepare messages in parallel; the index itself is fed in stream
// order by one thread (bw_campaign_index_add_prepared), which keeps ids deterministic.

// A prepared message: its signature and template text. Reuse one per slot/thread (the
// buffer keeps its memory); init with BW_CAMPAIGN_PREPARED_INIT, free with
// bw_campaign_prepared_free().
typedef struct bw_campaign_prepared {
    uint32_t sig[BW_CAMPAIGN_SIG];
    bw_buf text;              // template text (tokens separated by one space)
    size_t tokens;
    unsigned norm_flags;      // bw_campaign_norm_flag
    uint64_t params;          // which key/shingle size made sig (checked by add_prepared)
    uint64_t band_keys[BW_CAMPAIGN_SIG];   // LSH key of each band (config.bands of them),
                                           //   computed with sig so the ordered writer need not
    uint64_t sig_key;         // key of the whole signature (the index's exact-signature table)
} bw_campaign_prepared;
#define BW_CAMPAIGN_PREPARED_INIT { .text = BW_BUF_INIT }
void bw_campaign_prepared_free(bw_campaign_prepared *prepared);

// Per-thread scratch (about 4 KB: values derived from the key once instead of per
// message) that makes preparing cheaper; one per thread, never shared. It only saves work:
// results are the same with or without it.
typedef struct bw_campaign_token_cache bw_campaign_token_cache;
bw_campaign_token_cache *bw_campaign_token_cache_new(void);
void bw_campaign_token_cache_free(bw_campaign_token_cache *cache);

// Normalises msg (subject, text, recipient) and computes its signature into *out, reading
// only config (key, shingle_k, norm limits). Thread-safe for distinct out (and cache).
// BW_ERR_NOMEM only. The _cached form uses a thread's token cache (may be NULL).
bw_status bw_campaign_prepare(const bw_campaign_config *config, const bw_campaign_msg *msg,
                              bw_campaign_prepared *out);
bw_status bw_campaign_prepare_cached(const bw_campaign_config *config, const bw_campaign_msg *msg,
                                     bw_campaign_token_cache *cache, bw_campaign_prepared *out);

// Assigns a prepared message: msg gives id, time, subject, URLs, sender IP and ASN (its
// text and recipient are not read again). Results are those of bw_campaign_index_add() on
// the same message. BW_ERR_INVALID if prepared was made with another key or shingle size;
// otherwise as bw_campaign_index_add().
bw_status bw_campaign_index_add_prepared(bw_campaign_index *index, const bw_campaign_msg *msg,
                                         const bw_campaign_prepared *prepared, bw_campaign_assignment *out);

// add_prepared in two steps, for a writer that learns only after the lookup whether the
// message is new: ingest looks the message up, stores its row with the campaign id the
// match names (INSERT OR IGNORE by SHA-256), and commits the match only if the row was
// inserted; a duplicate is dropped without a separate lookup of its hash.
// bw_campaign_index_match changes nothing the index's results depend on. The match is
// valid until the index changes (a commit, an eviction, reserve_ids, a load): commit
// refuses a stale one with BW_ERR_INVALID. match then commit of one message is exactly
// add_prepared. On a new campaign, campaign_id is the id it will get.
typedef struct bw_campaign_match {
    uint64_t campaign_id;     // the campaign the message joins, or the id a new one gets
    double similarity;        // as bw_campaign_assignment
    bool is_new;
    // Private to the index.
    void *priv_campaign;
    uint64_t priv_checked, priv_generation, priv_params;
} bw_campaign_match;
bw_status bw_campaign_index_match(bw_campaign_index *index, const bw_campaign_prepared *prepared,
                                  bw_campaign_match *match);
bw_status bw_campaign_index_commit(bw_campaign_index *index, const bw_campaign_msg *msg,
                                   const bw_campaign_prepared *prepared, const bw_campaign_match *match,
                                   bw_campaign_assignment *out);

// The index's clock: the latest message time it has seen (saved with its state); false if
// it has seen none. Ingest dates a message without any time by it.
bool bw_campaign_index_now(const bw_campaign_index *index, int64_t *now);

// New campaigns get ids >= next_id from now on (ids never go down): after a saved state
// was lost, the store's highest campaign id + 1 keeps new ids from reusing old ones.
// True when it raised the next id (the index then differs from the state it was loaded from).
bool bw_campaign_index_reserve_ids(bw_campaign_index *index, uint64_t next_id);

// Evicts campaigns idle since before now - idle_window (add does this by itself as time
// advances); evict_all hands every campaign to on_evict and empties the index.
void bw_campaign_index_evict_idle(bw_campaign_index *index, int64_t now);
void bw_campaign_index_evict_all(bw_campaign_index *index);

// A hint before add_prepared of a message that comes later (the next one in the writer):
// starts loading the LSH slots its bands will read, so that the cache misses overlap the
// work in between. Changes nothing; ignores a prepared message of another config.
void bw_campaign_index_prefetch(const bw_campaign_index *index, const bw_campaign_prepared *prepared);

// Ids of the campaigns in memory, ascending; valid until the index changes.
const uint64_t *bw_campaign_index_ids(const bw_campaign_index *index, size_t *count);
// True if the in-memory campaign got a message or a link since it was created or loaded
// (bw_campaign_index_load): its summary may differ from the one saved with that state.
bool bw_campaign_index_changed(const bw_campaign_index *index, uint64_t id);
// Summary (with the inferred template) of an in-memory campaign; BW_ERR_NOTFOUND if it
// is not (or no longer) in memory, BW_ERR_NOMEM.
bw_status bw_campaign_index_get(bw_campaign_index *index, uint64_t id, bw_campaign_summary *out);
void bw_campaign_index_stats(const bw_campaign_index *index, bw_campaign_stats *out);

// Persistence: the whole in-memory state (key-dependent parameters, next id, counters,
// campaigns with their representatives, template members and sets, the domain table) as
// one versioned, little-endian, length-checked byte string (no raw structs). Store it as a
// blob next to the key; load it into a fresh index made with the same config. Load checks
// every length and count against the config's caps: BW_ERR_PARSE (reason in errbuf) on
// bad or foreign bytes, leaving the index empty; BW_ERR_INVALID if the index is not empty.
#define BW_CAMPAIGN_STATE_VERSION 3   // the format bw_campaign_index_save writes (3: signatures of the NH token hash)
bw_status bw_campaign_index_save(const bw_campaign_index *index, bw_buf *out);
bw_status bw_campaign_index_load(bw_campaign_index *index, const void *data, size_t n, char *errbuf);

// Appends the Judo-style template of the given members (template texts) to out:
// progressive LCS alignment, variable runs as "<*>". Exposed for tests.
bw_status bw_campaign_infer_template(const bw_slice *members, size_t count, size_t max_tokens, bw_buf *out);

#endif
