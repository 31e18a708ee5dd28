// SPDX-License-Identifier: MIT
// The SQLite store: one row per distinct message (identified by the SHA-256 of its bytes),
// its URLs, per-source ingest statistics and errors, and a key/value meta table. Ingest
// writes it in large batched transactions; report, export and (later) campaigns read it.
// The schema grows only through numbered migrations (PRAGMA user_version); a database
// newer than this code is refused rather than misread. Schema reference: docs/store.md.
//
// Threads: a bw_store handle belongs to one thread at a time. Several processes may read
// while one writes (WAL).
#ifndef BOTWATCH_STORE_H
#define BOTWATCH_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "botwatch/error.h"
#include "botwatch/hash.h"
#include "botwatch/mail.h"
#include "botwatch/str.h"

// The schema version this code writes and understands (the number of migrations).
#define BW_STORE_SCHEMA_VERSION 7

// A time that is not known (a message with no Date:, no dated Received hop).
#define BW_STORE_NO_TIME INT64_MIN

typedef struct bw_store bw_store;

typedef struct bw_store_options {
    bool read_only;       // never writes or migrates; an older schema is an error then
    bool bulk_load;       // synchronous=OFF: fastest; an OS crash may lose recent batches
    size_t cache_mb;      // SQLite page cache; 0 = default (writers: 8 MB + file/16, max 64; readers: 64)
} bw_store_options;

// Opens or creates the database at path and migrates it to BW_STORE_SCHEMA_VERSION (in one
// transaction per step). opts may be NULL (read-write, synchronous=NORMAL, WAL). Fails with
// BW_ERR_UNSUPPORTED if the file's schema is newer than this code, BW_ERR_DB otherwise.
bw_status bw_store_open(const char *path, const bw_store_options *opts, bw_store **out, char *errbuf);
// Commits an open batch (if any), finalizes statements and closes. NULL is ignored.
bw_status bw_store_close(bw_store *store, char *errbuf);

// Runs this handle's WAL checkpoints on a thread of their own (own connection), so that a
// commit never waits for the checkpoint's disk syncs; durability is unchanged (the same
// syncs happen, on the other thread). For a long stream of batches (ingest). Off again with
// on = false, and at close. Read-write handles only; a failure to start leaves checkpoints
// where they were (on the committing thread) and says why.
bw_status bw_store_background_checkpoints(bw_store *store, bool on, char *errbuf);

// The schema version found in the file when it was opened (0 for a new file).
int bw_store_opened_version(const bw_store *store);

// Batches: writes between begin and commit form one transaction (ingest commits every few
// thousand messages; a write outside a batch is its own transaction, which is slow).
bw_status bw_store_begin(bw_store *store, char *errbuf);
bw_status bw_store_commit(bw_store *store, char *errbuf);
bw_status bw_store_rollback(bw_store *store, char *errbuf);
bool bw_store_in_batch(const bw_store *store);

// Bulk loading: when the store holds at most max_messages messages, drops the secondary
// (report) indexes so that inserts only touch the tables and the sha256 index, and records
// that in meta ("indexes_deferred"); *deferred says whether it did. bw_store_build_indexes()
// recreates them in one sort each. If a run stops in between, the next read-write open
// rebuilds them. Must be called outside a batch.
bw_status bw_store_defer_indexes(bw_store *store, uint64_t max_messages, bool *deferred, char *errbuf);
bw_status bw_store_build_indexes(bw_store *store, char *errbuf);

// ---- Writing -----------------------------------------------------------------------

// Finds the source row for path (a file, directory, archive or "-" for stdin), creating
// it with this format name ("mbox", "maildir", "eml", "tar", ...) if new, and stamps its
// last ingest time. *source_id identifies it in the calls below.
bw_status bw_store_source_open(bw_store *store, const char *path, const char *format,
                               int64_t *source_id, char *errbuf);

typedef struct bw_store_source_counts {
    uint64_t messages;    // messages read (new + duplicate), parse failures included
    uint64_t duplicates;  // of those, already stored (same SHA-256)
    uint64_t errors;      // ingest_errors rows written
    uint64_t bytes;       // message bytes read
} bw_store_source_counts;

// Adds delta to the source's running totals (they accumulate over re-ingests).
bw_status bw_store_source_add_counts(bw_store *store, int64_t source_id,
                                     const bw_store_source_counts *delta, char *errbuf);

// What ingest knows about a message beyond its parsed record.
typedef struct bw_store_message_meta {
    int64_t source_id;
    uint64_t source_offset;   // byte offset of the message in its source (or its archive member)
    uint64_t size;            // bytes of the message as stored-hashed
    int64_t ingested_at;      // UTC seconds
    bw_slice envelope_from;   // mbox From_ sender / SMTP MAIL FROM; empty if unknown
    bw_slice envelope_to;     // SMTP RCPT TO (comma-separated); empty if unknown
    uint32_t sender_asn;      // 0 = unknown
    bw_slice sender_as_name;  // AS organisation (kept once per ASN in `asns`); may be empty
    bw_slice sender_country;  // ISO 3166 code if known; may be empty
    // Schema 3 (issue 3). Zero/empty = not known (NULL in the row).
    int64_t id;               // row id to use (from bw_store_next_message_id); 0 = automatic
    uint64_t campaign_id;     // campaign the message joined; 0 = none
    double similarity;        // its similarity to the campaign (stored with campaign_id)
    bw_slice rule_labels;     // space-separated sorted labels of matching rules
} bw_store_message_meta;

// Stores one message: the messages row plus one urls row per record URL, unless a message
// with the same record->sha256 is already stored, in which case nothing is written and
// *inserted is false. record->message may be NULL for a message that could not be parsed:
// only the hash, sizes and source are stored then. Strings are copied by SQLite. With
// meta->id set (ingest takes it from bw_store_next_message_id before the INSERT, so that
// the message's campaign can name it), a duplicate hash is still a duplicate, and a row
// with that id already present under another hash is an error (BW_ERR_DB).
bw_status bw_store_add_message(bw_store *store, const bw_mail_record *record,
                               const bw_store_message_meta *meta, bool *inserted, char *errbuf);

// Whether a message with this SHA-256 (64 hex digits) is stored: lets a writer that must
// know whether a hash is stored without writing anything.
bw_status bw_store_has_message(bw_store *store, const char *sha256_hex, bool *found, char *errbuf);
// The row id the next new message gets (max(id) + 1, tracked across inserts of this
// handle). Only meaningful inside a batch, where no other writer can insert.
bw_status bw_store_next_message_id(bw_store *store, int64_t *id, char *errbuf);

// ---- Campaigns and botnets (schema 3): written by ingest, read via store_campaigns.h --

// One campaigns row; the JSON columns are written by the caller in the documented shapes
// (docs/store.md). Slices are copied.
typedef struct bw_store_campaign_row {
    uint64_t id;
    int64_t first_seen, last_seen;
    uint64_t messages, sender_ips, subnets24, asns;
    bw_slice template_text, subjects_json, domains_json, samples_json, links_json;
    bool in_memory;           // still in the saved campaign index (may grow in a later run)
} bw_store_campaign_row;

// Inserts or updates the campaign's row; its botnet_id is kept.
bw_status bw_store_put_campaign(bw_store *store, const bw_store_campaign_row *row, char *errbuf);
// Records that campaigns a and b (a != b, either order) advertised domain at time; stored
// once per (min, max, domain) with the earliest time.
bw_status bw_store_add_campaign_link(bw_store *store, uint64_t a, uint64_t b, bw_slice domain,
                                     int64_t time, char *errbuf);
// Sets in_memory = 0 on every campaign row (the saved index state was discarded).
bw_status bw_store_campaigns_forget_memory(bw_store *store, char *errbuf);
// The highest campaign id in use (campaigns rows and messages.campaign_id); 0 if none.
bw_status bw_store_max_campaign_id(bw_store *store, uint64_t *id, char *errbuf);

// The saved campaign index (campaign_state). get appends the blob to out and fills version
// and saved_at (either may be NULL); BW_ERR_NOTFOUND when none is saved. put replaces it.
bw_status bw_store_campaign_state_get(bw_store *store, bw_buf *out, int64_t *version, int64_t *saved_at,
                                      char *errbuf);
bw_status bw_store_campaign_state_put(bw_store *store, int64_t version, int64_t saved_at, const void *blob,
                                      size_t n, char *errbuf);

// Records a problem with the input at source_id:offset (reason is untrusted-free text
// written by botwatch, e.g. "parse: out of memory" or "intake: truncated gzip member").
bw_status bw_store_add_error(bw_store *store, int64_t source_id, uint64_t offset,
                             const char *reason, int64_t at, char *errbuf);

// meta table: small key/value settings shared across runs (schema info, hash keys).
// get appends the value to out; BW_ERR_NOTFOUND if the key is absent.
bw_status bw_store_meta_get(bw_store *store, const char *key, bw_buf *out, char *errbuf);
bw_status bw_store_meta_set(bw_store *store, const char *key, const char *value, char *errbuf);
// The database's own random SipHash key, created with the database and kept in meta
// ("hash_key"), so keyed results (campaign shingles, ...) reproduce across runs.
bw_status bw_store_hash_key(bw_store *store, bw_hash_key *out, char *errbuf);

// ---- Reading -----------------------------------------------------------------------

// A time range over seen_at (the message's best arrival time: its top Received hop's
// time, else its Date:, else unknown). [since, until); an absent bound is open.
// Messages with no known time are included only when both bounds are absent.
typedef struct bw_store_range {
    bool has_since, has_until;
    int64_t since, until;
} bw_store_range;

#define BW_STORE_RANGE_ALL ((bw_store_range){ false, false, 0, 0 })

// One message as read back. Slices are valid until the next bw_store_iter_next() or
// bw_store_iter_free(); empty when the column is NULL. Times are BW_STORE_NO_TIME if unknown.
typedef struct bw_store_row {
    int64_t id;
    bw_slice sha256;          // 64 lowercase hex digits
    int64_t ingested_at, date, received_at, seen_at;
    bw_slice source_path;
    uint64_t source_offset, size;
    bw_slice sender_ip, helo;
    uint32_t sender_asn;      // 0 = unknown
    bw_slice sender_as_name;
    bw_slice envelope_from, envelope_to;
    bw_slice subject, from_addr, message_id, header_fingerprint;
    uint64_t anomalies;       // bit flags of mime.h / mail.h (bw_mime_anomaly_name)
    uint32_t part_count, url_count;
    uint64_t text_bytes;
    bw_slice url_domains;     // distinct registrable domains, space-separated, first-seen order
    bool parsed;              // false: the message could not be parsed (only hash/size known)
} bw_store_row;

typedef struct bw_store_iter bw_store_iter;

// Streams the messages in range ordered by (seen_at, id), one prepared-statement step per
// row, so memory does not grow with the database. NULL on error (errbuf says why).
bw_store_iter *bw_store_iter_messages(bw_store *store, const bw_store_range *range, char *errbuf);
// 1 and *row filled, 0 at the end, -1 on a database error (errbuf says why).
int bw_store_iter_next(bw_store_iter *it, bw_store_row *row, char *errbuf);
void bw_store_iter_free(bw_store_iter *it);

// One line of an aggregate. Which fields mean what is said at each query.
typedef struct bw_store_count {
    bw_slice key;             // text key (domain, subject, IP, anomaly name)
    int64_t number;           // numeric key (day start, ASN, flag bit)
    bw_slice label;           // AS name for ASNs; else empty
    bw_slice extra;           // AS country for ASNs; else empty
    uint64_t count;
} bw_store_count;

// Called once per line, in order; slices valid during the call only. Return non-zero to stop.
typedef int (*bw_store_count_fn)(void *ctx, const bw_store_count *item);

// Messages per UTC day: number = the day's start (UTC seconds), ascending; empty days skipped.
bw_status bw_store_count_per_day(bw_store *store, const bw_store_range *range,
                                 bw_store_count_fn fn, void *ctx, char *errbuf);
// Top `limit` sender ASNs by messages (unknown ASN excluded): number = ASN, label = name.
bw_status bw_store_top_asns(bw_store *store, const bw_store_range *range, size_t limit,
                            bw_store_count_fn fn, void *ctx, char *errbuf);
// Top sender IPs: key = IP text, number = its ASN (0 unknown), label = AS name.
bw_status bw_store_top_sender_ips(bw_store *store, const bw_store_range *range, size_t limit,
                                  bw_store_count_fn fn, void *ctx, char *errbuf);
// Top registrable URL domains by the number of messages linking to them: key = domain.
bw_status bw_store_top_domains(bw_store *store, const bw_store_range *range, size_t limit,
                               bw_store_count_fn fn, void *ctx, char *errbuf);
// Top subjects (exact decoded text): key = subject.
bw_status bw_store_top_subjects(bw_store *store, const bw_store_range *range, size_t limit,
                                bw_store_count_fn fn, void *ctx, char *errbuf);
// Messages carrying each anomaly flag, flags with a zero count skipped, in bit order:
// number = bit index, key empty (name it with bw_mime_anomaly_name(1ull << number); the
// store does not link the parser).
bw_status bw_store_anomaly_counts(bw_store *store, const bw_store_range *range,
                                  bw_store_count_fn fn, void *ctx, char *errbuf);

typedef struct bw_store_error_row {
    bw_slice source_path;
    uint64_t offset;
    bw_slice reason;
    int64_t at;
} bw_store_error_row;
typedef int (*bw_store_error_fn)(void *ctx, const bw_store_error_row *row);
// Ingest errors, oldest first, at most limit (0 = all).
bw_status bw_store_list_errors(bw_store *store, size_t limit, bw_store_error_fn fn, void *ctx,
                               char *errbuf);

typedef struct bw_store_source_row {
    int64_t id;
    bw_slice path, format;
    int64_t first_ingest, last_ingest;
    bw_store_source_counts counts;
} bw_store_source_row;
typedef int (*bw_store_source_fn)(void *ctx, const bw_store_source_row *row);
bw_status bw_store_list_sources(bw_store *store, bw_store_source_fn fn, void *ctx, char *errbuf);

typedef struct bw_store_totals {
    uint64_t messages;        // stored (distinct) messages in range
    uint64_t unparsed;        // of those, stored without a parse
    uint64_t with_sender_ip, with_asn, with_urls;
    uint64_t urls;            // URL rows
    uint64_t bytes;           // sum of message sizes
    int64_t first_seen, last_seen;   // BW_STORE_NO_TIME if none
    // Over all sources, whatever the range:
    uint64_t sources, duplicates, errors;
} bw_store_totals;
bw_status bw_store_get_totals(bw_store *store, const bw_store_range *range, bw_store_totals *out,
                              char *errbuf);

// The underlying SQLite connection, for modules that add their own tables through a store
// migration (campaigns). Owned by the store; do not close it.
struct sqlite3 *bw_store_sqlite(bw_store *store);

#endif
