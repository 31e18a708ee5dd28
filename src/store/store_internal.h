// SPDX-License-Identifier: MIT
// Inside the store module (and its tests): the migration table and the function that
// applies it, so tests can build a database at an older schema version and open it.
#ifndef BOTWATCH_STORE_INTERNAL_H
#define BOTWATCH_STORE_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "botwatch/error.h"
#include "botwatch/store.h"
#include "botwatch/str.h"
#include "botwatch/url.h"

typedef struct bw_store_migration {
    int version;                 // the user_version after this step
    const char *summary;         // one line, for errors and docs
    const char *const *steps;    // SQL statements, NULL-terminated
} bw_store_migration;

const bw_store_migration *bw_store_migrations(size_t *count);

typedef struct bw_store_index {
    const char *name;
    const char *create_sql;      // CREATE INDEX IF NOT EXISTS ...
} bw_store_index;

// The indexes bulk ingest may drop and rebuild (current schema version).
const bw_store_index *bw_store_secondary_indexes(size_t *count);
bw_status bw_store_user_version(sqlite3 *db, int *version, char *errbuf);
// Applies steps[version..target) to db; refuses a database newer than step_count.
bw_status bw_store_migrate(sqlite3 *db, const bw_store_migration *steps, size_t step_count,
                           int target, char *errbuf);

// Shared by the read side (read.c, campaigns_read.c), defined in read.c. A NULL text column
// reads as BW_SLICE_NULL and a NULL time as BW_STORE_NO_TIME.
bw_slice bw_store_col_slice(sqlite3_stmt *st, int col);
int64_t bw_store_col_time(sqlite3_stmt *st, int col);
// Builds head + " AND m.seen_at >= :since AND m.seen_at < :until" (the bounds present) + tail,
// prepares it and binds the range: the one clause every time-ranged query carries, so the
// report, the campaign views and export agree. On failure *st is NULL and errbuf says why.
bw_status bw_store_prepare_ranged(bw_store *store, const char *head, const bw_store_range *range,
                                  const char *tail, sqlite3_stmt **st, char *errbuf);

// Background checkpoints (bw_store_background_checkpoints), for tests: the WAL sizes in
// pages that start a background pass and that make the committing thread finish one so the
// WAL restarts (0: the defaults), set before the thread starts; and what it has done.
typedef struct bw_store_checkpoint_counts {
    uint64_t runs;        // background passes
    uint64_t resets;      // passes finished by the committing thread
    int max_wal_pages;    // the largest WAL seen after a commit
} bw_store_checkpoint_counts;
void bw_store_set_checkpoint_pages(bw_store *store, int pages, int reset_pages);
// false when no background thread runs.
bool bw_store_checkpoint_counts_get(bw_store *store, bw_store_checkpoint_counts *out);

// A message's URLs as stored in message_urls.urls (urls.c): a JSON array of
// [url, host, domain, from_html, obfuscated], empty host/domain as null. 0 or -1 (no memory).
int bw_store_urls_json(bw_buf *out, const bw_url *urls, size_t count);

// The writer's map from an interned string (a domain name, a header fingerprint) to its
// row id (idcache.c). Keyed hash, bounded (it starts again empty past a million names);
// holds only ids the caller read or inserted, so it must be cleared when a transaction
// that inserted some is rolled back.
typedef struct bw_id_cache bw_id_cache;
bw_id_cache *bw_id_cache_new(void);
void bw_id_cache_free(bw_id_cache *c);
void bw_id_cache_clear(bw_id_cache *c);
int64_t bw_id_cache_get(const bw_id_cache *c, bw_slice name);   // 0: not cached
int bw_id_cache_put(bw_id_cache *c, bw_slice name, int64_t id);  // 0 or -1

#endif
