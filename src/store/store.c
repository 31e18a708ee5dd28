// SPDX-License-Identifier: MIT
// Opening, migrating and writing the SQLite store (include/botwatch/store.h). Writes go
// through statements prepared once per handle and are grouped by the caller into large
// transactions: on bulk ingest the cost per message is then a few B-tree inserts, not a
// journal sync. The reading side (iterator, aggregates) is in read.c.
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "botwatch/log.h"
#include "botwatch/store.h"
#include "store_internal.h"

// Cached write statements, prepared on first use.
enum store_stmt {
    STMT_BEGIN,
    STMT_COMMIT,
    STMT_ROLLBACK,
    STMT_INSERT_MESSAGE,
    STMT_UPSERT_ASN,
    STMT_FIND_SOURCE,
    STMT_INSERT_SOURCE,
    STMT_TOUCH_SOURCE,
    STMT_ADD_SOURCE_COUNTS,
    STMT_INSERT_ERROR,
    STMT_META_GET,
    STMT_META_SET,
    STMT_HAS_MESSAGE,
    STMT_NEXT_MESSAGE_ID,
    STMT_PUT_CAMPAIGN,
    STMT_ADD_CAMPAIGN_LINK,
    STMT_INSERT_MESSAGE_URLS,
    STMT_FIND_DOMAIN,
    STMT_INSERT_DOMAIN,
    STMT_FIND_FINGERPRINT,
    STMT_INSERT_FINGERPRINT,
    STMT_COUNT
};

static const char *const stmt_sql[STMT_COUNT] = {
    [STMT_BEGIN] = "BEGIN",
    [STMT_COMMIT] = "COMMIT",
    [STMT_ROLLBACK] = "ROLLBACK",
    [STMT_INSERT_MESSAGE] =
        "INSERT OR IGNORE INTO messages(sha256, ingested_at, date, received_at, seen_at, source_id,"
        " source_offset, size, sender_ip, sender_asn, helo, envelope_from, envelope_to, subject,"
        " from_addr, message_id, header_fp_id, anomalies, part_count, text_bytes, url_count,"
        " id, campaign_id, similarity, rule_labels)"
        " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,"
        " ?19, ?20, ?21, ?22, ?23, ?24, ?25)",
    [STMT_UPSERT_ASN] =
        "INSERT INTO asns(asn, name, country) VALUES(?1, ?2, ?3) ON CONFLICT(asn) DO UPDATE SET"
        " name = coalesce(excluded.name, asns.name), country = coalesce(excluded.country, asns.country)",
    [STMT_FIND_SOURCE] = "SELECT id FROM sources WHERE path = ?1",
    [STMT_INSERT_SOURCE] =
        "INSERT INTO sources(path, format, first_ingest, last_ingest) VALUES(?1, ?2, ?3, ?3)",
    [STMT_TOUCH_SOURCE] = "UPDATE sources SET last_ingest = ?2, format = ?3 WHERE id = ?1",
    [STMT_ADD_SOURCE_COUNTS] =
        "UPDATE sources SET messages = messages + ?2, duplicates = duplicates + ?3,"
        " errors = errors + ?4, bytes = bytes + ?5 WHERE id = ?1",
    [STMT_INSERT_ERROR] = "INSERT INTO ingest_errors(source_id, offset, reason, at) VALUES(?1, ?2, ?3, ?4)",
    [STMT_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [STMT_META_SET] = "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)",
    [STMT_HAS_MESSAGE] = "SELECT 1 FROM messages WHERE sha256 = ?1",
    [STMT_NEXT_MESSAGE_ID] = "SELECT coalesce(max(id), 0) + 1 FROM messages",
    [STMT_PUT_CAMPAIGN] =
        "INSERT INTO campaigns(id, first_seen, last_seen, messages, sender_ips, subnets24, asns, template,"
        " subjects_json, domains_json, samples_json, links_json, in_memory)"
        " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) ON CONFLICT(id) DO UPDATE SET"
        " first_seen = excluded.first_seen, last_seen = excluded.last_seen, messages = excluded.messages,"
        " sender_ips = excluded.sender_ips, subnets24 = excluded.subnets24, asns = excluded.asns,"
        " template = excluded.template, subjects_json = excluded.subjects_json,"
        " domains_json = excluded.domains_json, samples_json = excluded.samples_json,"
        " links_json = excluded.links_json, in_memory = excluded.in_memory",
    [STMT_ADD_CAMPAIGN_LINK] =
        "INSERT INTO campaign_links(a, b, domain, time) VALUES(?1, ?2, ?3, ?4)"
        " ON CONFLICT(a, b, domain) DO UPDATE SET time = min(time, excluded.time)",
    [STMT_INSERT_MESSAGE_URLS] = "INSERT OR FAIL INTO message_urls(msg_id, urls) VALUES(?1, ?2)",
    [STMT_FIND_DOMAIN] = "SELECT id FROM domains WHERE name = ?1",
    [STMT_INSERT_DOMAIN] = "INSERT INTO domains(name) VALUES(?1)",
    [STMT_FIND_FINGERPRINT] = "SELECT id FROM header_fingerprints WHERE fingerprint = ?1",
    [STMT_INSERT_FINGERPRINT] = "INSERT INTO header_fingerprints(fingerprint) VALUES(?1)",
};

// A message's url_domains rows go in with one statement per URL_GROUP rows: a statement
// step costs about as much as the B-tree insert it does (cursor open, halt, reset). When
// URLs had a row each, grouping took add_message on bench/ingest's 60,460 messages from
// 3.24 to 2.64 billion instructions (callgrind). The statement is INSERT OR IGNORE: a
// multi-row plain INSERT would keep a statement journal to undo a partial statement (it
// spilled to a temporary file: +0.2 s system time); the caller rolls the whole batch back
// on any error anyway.
enum { URL_GROUP = 8, DOMAIN_COLUMNS = 2 };

// Background checkpoints (bw_store_background_checkpoints). SQLite's automatic checkpoint
// runs inside the COMMIT that takes the WAL past its size (16 MB), on the committing thread, and
// with synchronous=NORMAL it waits there for two disk syncs (the WAL, then the database
// file). On bench/ingest the 13 commits of a run spent 0.34 s that way, during which the
// ingest writer stopped and, once the ring filled, so did the reader and the workers. A
// thread of our own with its own connection runs the same PASSIVE checkpoints while the
// writer goes on appending to the WAL.
//
// A WAL starts again from its beginning only when a transaction begins with every frame
// copied back. A writer that never pauses always has its last commit uncopied (the
// background thread is one commit behind it), so once the WAL holds CKPT_RESET_BYTES the
// committing thread waits for the background pass and copies the rest itself: the WAL file
// stays bounded and the next transaction restarts it.
// In bytes, so that they do not change with the page size: 16 MB is SQLite's default
// wal_autocheckpoint of 1000 pages at the 16 KB pages botwatch used first.
#define CKPT_BYTES ((int64_t)16 << 20)
#define CKPT_RESET_BYTES ((int64_t)64 << 20)

typedef struct bw_checkpointer {
    sqlite3 *db;                 // the checkpointer's own connection
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    bool requested, busy, stop;
    int pages, reset_pages;      // CKPT_BYTES, CKPT_RESET_BYTES in pages (tests make them small)
    int failed_rc;               // the last failure (SQLITE_OK: none), reported when stopped
    bw_store_checkpoint_counts counts;
} bw_checkpointer;

struct bw_store {
    sqlite3 *db;
    bw_checkpointer *ckpt;      // NULL: SQLite checkpoints on the committing thread
    int ckpt_pages, ckpt_reset_pages;
    bool read_only;
    bool in_batch;
    int opened_version;
    sqlite3_stmt *stmt[STMT_COUNT];
    sqlite3_stmt *domain_stmt[URL_GROUP];   // [n - 1] inserts n url_domains rows
    int64_t *domain_ids;        // scratch: one message's URL domain ids, sorted and made distinct
    size_t domain_cap;
    bw_id_cache *domain_cache;   // domain name -> domains.id (idcache.c)
    bw_id_cache *fingerprint_cache;   // header fingerprint -> header_fingerprints.id
    bw_buf urls_json;           // scratch: one message's message_urls value
    // ASNs already written to `asns` by this handle, so the upsert runs once per ASN and
    // not once per message. Open addressing; keys come from the ASN database (bounded by
    // its size, ~100k), not from mail, so an unkeyed hash cannot be flooded by an attacker.
    uint32_t *asn_seen;
    size_t asn_cap, asn_count;
    // The page cache follows the file's size (cache_for_size) unless the caller fixed it.
    bool auto_cache;
    int64_t cache_kb;
    // The id the next new message gets; 0 = not known (read again from the table). Reset at
    // every transaction boundary, where another writer may have inserted.
    int64_t next_message_id;
};

static bw_status db_error(bw_store *store, char *errbuf, const char *what)
{
    return bw_error(errbuf, BW_ERR_DB, "%s: %s", what, sqlite3_errmsg(store->db));
}

static sqlite3_stmt *stmt_get(bw_store *store, enum store_stmt which, char *errbuf)
{
    sqlite3_stmt *st = store->stmt[which];
    if (!st) {
        if (sqlite3_prepare_v3(store->db, stmt_sql[which], -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
            bw_error(errbuf, BW_ERR_DB, "preparing statement: %s", sqlite3_errmsg(store->db));
            return NULL;
        }
        store->stmt[which] = st;
    }
    return st;
}

// The statement inserting `rows` (1..URL_GROUP) rows of `columns` values, prepared on first
// use into *slot; head is "INSERT ... VALUES".
static sqlite3_stmt *group_stmt_get(bw_store *store, sqlite3_stmt **slot, const char *head, size_t columns,
                                    size_t rows, char *errbuf)
{
    if (*slot)
        return *slot;
    char sql[128 + URL_GROUP * (DOMAIN_COLUMNS * 2 + 4)];
    size_t n = (size_t)snprintf(sql, sizeof sql, "%s", head);
    for (size_t r = 0; r < rows && n < sizeof sql; r++) {
        n += (size_t)snprintf(sql + n, sizeof sql - n, "%s(?", r ? "," : "");
        for (size_t c = 1; c < columns && n < sizeof sql; c++)
            n += (size_t)snprintf(sql + n, sizeof sql - n, ",?");
        if (n < sizeof sql)
            n += (size_t)snprintf(sql + n, sizeof sql - n, ")");
    }
    if (sqlite3_prepare_v3(store->db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL) != SQLITE_OK) {
        bw_error(errbuf, BW_ERR_DB, "preparing statement: %s", sqlite3_errmsg(store->db));
        *slot = NULL;
    }
    return *slot;
}

static sqlite3_stmt *domain_stmt_get(bw_store *store, size_t rows, char *errbuf)
{
    return group_stmt_get(store, &store->domain_stmt[rows - 1],
                          "INSERT OR IGNORE INTO url_domains(domain_id, msg_id) VALUES", DOMAIN_COLUMNS, rows,
                          errbuf);
}

// Runs a cached statement that returns no rows; leaves it reset and unbound.
static bw_status stmt_run(bw_store *store, sqlite3_stmt *st, char *errbuf, const char *what)
{
    int rc = sqlite3_step(st);
    bw_status s = BW_OK;
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        s = db_error(store, errbuf, what);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return s;
}

// Text columns: an empty slice is stored as NULL ("not known"), which keeps the report's
// top-N queries from counting a blank subject or HELO as a value.
static int bind_slice(sqlite3_stmt *st, int index, bw_slice s)
{
    if (s.n == 0 || !s.p)
        return sqlite3_bind_null(st, index);
    return sqlite3_bind_text(st, index, s.p, s.n > INT_MAX ? INT_MAX : (int)s.n, SQLITE_STATIC);
}

static int bind_time(sqlite3_stmt *st, int index, bool known, int64_t t)
{
    return known ? sqlite3_bind_int64(st, index, t) : sqlite3_bind_null(st, index);
}

static bw_status exec_simple(sqlite3 *db, const char *sql, char *errbuf)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        bw_status s = bw_error(errbuf, BW_ERR_DB, "%s: %s", sql, msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return s;
    }
    return BW_OK;
}

// Automatic page cache for writers: 8 MB plus 1/16 of the file, at most 64 MB. Bulk ingest
// appends most pages once and never reads them again; what it reads at random is the sha256
// UNIQUE index (~4% of the file), so 1/16 keeps that index cached for the duplicate check
// while a small cache recycles the same warm pages instead of faulting in fresh ones for
// every page written: on bench/ingest (60k messages, 72 MB file) writer CPU fell ~20%
// (1.19-2.07 s -> 0.98-1.41 s) and peak RSS 124 -> 83 MB against a fixed 64 MB cache.
enum { AUTO_CACHE_MIN_KB = 8 * 1024, AUTO_CACHE_MAX_KB = 64 * 1024, READ_CACHE_KB = 64 * 1024 };

static int64_t cache_for_size(int64_t file_bytes)
{
    int64_t kb = AUTO_CACHE_MIN_KB + file_bytes / 16 / 1024;
    return kb > AUTO_CACHE_MAX_KB ? AUTO_CACHE_MAX_KB : kb;
}

static int64_t pragma_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

// A size in bytes as pages of this file (at least 16).
static int pages_for(sqlite3 *db, int64_t bytes)
{
    int64_t page = pragma_int(db, "PRAGMA page_size");
    int64_t n = page > 0 ? bytes / page : 1000;
    return n < 16 ? 16 : n > INT_MAX ? INT_MAX : (int)n;
}

// Grows (or sets) the automatic cache to fit the file as it is now; called at open and after
// each commit, so a long ingest into a new file gets a bigger cache as its index grows.
// Best effort: a failed pragma leaves the previous size.
static void tune_cache(bw_store *store)
{
    if (!store->auto_cache)
        return;
    int64_t pages = pragma_int(store->db, "PRAGMA page_count");
    int64_t page_size = pragma_int(store->db, "PRAGMA page_size");
    int64_t kb = cache_for_size(pages > 0 && page_size > 0 ? pages * page_size : 0);
    if (kb == store->cache_kb)
        return;
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA cache_size = -%lld", (long long)kb);
    if (exec_simple(store->db, pragma, NULL) == BW_OK)
        store->cache_kb = kb;
}

static bw_status ensure_hash_key(bw_store *store, char *errbuf)
{
    bw_buf value = BW_BUF_INIT;
    bw_status s = bw_store_meta_get(store, "hash_key", &value, errbuf);
    bw_buf_free(&value);
    if (s != BW_ERR_NOTFOUND)
        return s;
    bw_hash_key key;
    if (bw_hash_key_random(&key) != 0)
        return bw_error(errbuf, BW_ERR_IO, "no random source for the database hash key");
    char hex[33];
    snprintf(hex, sizeof hex, "%016" PRIx64 "%016" PRIx64, key.k0, key.k1);
    if ((s = bw_store_meta_set(store, "hash_key", hex, errbuf)) != BW_OK)
        return s;
    char now[32];
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    return bw_store_meta_set(store, "created_at", now, errbuf);
}

// SQLite keeps process-wide memory statistics unless told not to, and takes a global mutex
// on every allocation to do so: 7% of the instructions of a bulk insert (callgrind,
// store-only replay of bench/ingest). Nothing in botwatch reads those statistics. The call
// only works before SQLite initialises (the first open); if the application opened SQLite
// earlier it fails harmlessly and the statistics stay on.
static pthread_once_t sqlite_setup_once = PTHREAD_ONCE_INIT;
static void sqlite_setup(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

bw_status bw_store_open(const char *path, const bw_store_options *opts, bw_store **out, char *errbuf)
{
    *out = NULL;
    pthread_once(&sqlite_setup_once, sqlite_setup);
    bw_store_options defaults = { 0 };
    if (!opts)
        opts = &defaults;
    bw_store *store = calloc(1, sizeof *store);
    if (!store)
        return bw_error(errbuf, BW_ERR_NOMEM, "out of memory opening %s", path);
    store->read_only = opts->read_only;
    int flags = opts->read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    // NOMUTEX: a handle is used by one thread at a time (store.h), so SQLite's own
    // per-connection mutex would be pure overhead on every step.
    flags |= SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &store->db, flags, NULL) != SQLITE_OK) {
        bw_status s = bw_error(errbuf, BW_ERR_DB, "%s: %s", path,
                               store->db ? sqlite3_errmsg(store->db) : "cannot open");
        sqlite3_close(store->db);
        free(store);
        return s;
    }
    sqlite3_busy_timeout(store->db, 10000);
    bw_status s = BW_OK;
    char pragma[96];
    // Readers (report, export) keep a fixed cache: their GROUP BY sorts are sized by it.
    store->auto_cache = !opts->cache_mb && !opts->read_only;
    size_t cache_kb = opts->cache_mb ? opts->cache_mb * 1024 : opts->read_only ? READ_CACHE_KB : AUTO_CACHE_MIN_KB;
    snprintf(pragma, sizeof pragma, "PRAGMA cache_size = -%zu", cache_kb);
    if ((s = exec_simple(store->db, pragma, errbuf)) != BW_OK)
        goto fail;
    store->cache_kb = (int64_t)cache_kb;
    if ((s = bw_store_user_version(store->db, &store->opened_version, errbuf)) != BW_OK)
        goto fail;
    if (store->opened_version > BW_STORE_SCHEMA_VERSION) {
        s = bw_error(errbuf, BW_ERR_UNSUPPORTED,
                     "%s: database schema version %d is newer than this botwatch understands (%d); "
                     "use a newer botwatch", path, store->opened_version, BW_STORE_SCHEMA_VERSION);
        goto fail;
    }
    if (opts->read_only) {
        if (store->opened_version < BW_STORE_SCHEMA_VERSION) {
            s = bw_error(errbuf, BW_ERR_UNSUPPORTED,
                         "%s: schema version %d is older than %d (empty or not a botwatch database?); "
                         "open it once read-write (botwatch ingest) to migrate",
                         path, store->opened_version, BW_STORE_SCHEMA_VERSION);
            goto fail;
        }
    } else {
        // 32 KB pages for a new file (ignored for an existing one): the ingest writer is the
        // pipeline's serial stage and each WAL frame costs it two write system calls. 16 KB
        // made a quarter of the writes of the 4 KB default (63k -> 15k pwrites for 60k
        // messages); 32 KB took bench/ingest from 50.4-50.9k to 52.8-53.5k msgs/s (4 pairs,
        // 28 Nov 2026), and reports read no slower (docs/store.md).
        if (store->opened_version == 0 && (s = exec_simple(store->db, "PRAGMA page_size = 32768", errbuf)) != BW_OK)
            goto fail;
        // WAL: readers (report, export) run while ingest writes; NORMAL syncs only at
        // checkpoints, which WAL makes safe against corruption (a crash may lose the last
        // commits, never the file). OFF skips even those syncs for one-off bulk loads.
        if ((s = exec_simple(store->db, "PRAGMA journal_mode = WAL", errbuf)) != BW_OK)
            goto fail;
        // SQLite's automatic checkpoint counts pages: keep it at 16 MB whatever their size.
        sqlite3_wal_autocheckpoint(store->db, pages_for(store->db, CKPT_BYTES));
        if ((s = exec_simple(store->db, opts->bulk_load ? "PRAGMA synchronous = OFF"
                                                        : "PRAGMA synchronous = NORMAL", errbuf)) != BW_OK)
            goto fail;
        size_t count;
        const bw_store_migration *steps = bw_store_migrations(&count);
        char why[BW_ERRBUF_SIZE] = "";
        // Said before it starts: on a large store a migration rewrites tables for a while,
        // and a botwatch older than the new version will then refuse the file.
        if (store->opened_version > 0 && store->opened_version < BW_STORE_SCHEMA_VERSION)
            bw_warn("store", "upgrading %s from schema %d to %d (once; older botwatch versions cannot open it after)",
                    path, store->opened_version, BW_STORE_SCHEMA_VERSION);
        if ((s = bw_store_migrate(store->db, steps, count, BW_STORE_SCHEMA_VERSION, why)) != BW_OK) {
            bw_error(errbuf, s, "%s: %s", path, why);
            goto fail;
        }
        if ((s = ensure_hash_key(store, errbuf)) != BW_OK)
            goto fail;
        // A bulk load that stopped before rebuilding its indexes: rebuild them now.
        bw_buf flag = BW_BUF_INIT;
        bw_status fs = bw_store_meta_get(store, "indexes_deferred", &flag, NULL);
        bw_buf_free(&flag);
        if (fs == BW_OK && (s = bw_store_build_indexes(store, errbuf)) != BW_OK)
            goto fail;
        tune_cache(store);
    }
    *out = store;
    return BW_OK;
fail:
    bw_store_close(store, NULL);
    return s;
}

static void *checkpointer_main(void *arg)
{
    bw_checkpointer *c = arg;
    pthread_setname_np(pthread_self(), "bw-checkpoint");   // for top/perf; failure is harmless
    pthread_mutex_lock(&c->lock);
    for (;;) {
        while (!c->requested && !c->stop)
            pthread_cond_wait(&c->wake, &c->lock);
        if (c->stop)
            break;   // what is left is checkpointed by the next commit or by close
        c->requested = false;
        c->busy = true;
        pthread_mutex_unlock(&c->lock);
        int rc = sqlite3_wal_checkpoint_v2(c->db, "main", SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&c->lock);
        c->busy = false;
        c->counts.runs++;
        // BUSY: another connection's checkpoint was running; the next request tries again.
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            c->failed_rc = rc;
        pthread_cond_broadcast(&c->done);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

// sqlite3_wal_hook: runs on the committing thread after each commit, with the WAL's size.
static int checkpoint_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    bw_checkpointer *c = arg;
    pthread_mutex_lock(&c->lock);
    if (pages > c->counts.max_wal_pages)
        c->counts.max_wal_pages = pages;
    if (pages < c->pages) {
        pthread_mutex_unlock(&c->lock);
        return SQLITE_OK;
    }
    if (pages < c->reset_pages) {
        if (!c->busy && !c->requested) {
            c->requested = true;
            pthread_cond_signal(&c->wake);
        }
        pthread_mutex_unlock(&c->lock);
        return SQLITE_OK;
    }
    while (c->busy || c->requested)
        pthread_cond_wait(&c->done, &c->lock);
    c->counts.resets++;
    pthread_mutex_unlock(&c->lock);
    // Errors here are SQLite's own automatic checkpoint's: not the commit's, which is done.
    sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return SQLITE_OK;
}

static void checkpointer_stop(bw_store *store)
{
    bw_checkpointer *c = store->ckpt;
    if (!c)
        return;
    // SQLite's own hook again (it replaces ours), at the size every handle uses.
    sqlite3_wal_autocheckpoint(store->db, pages_for(store->db, CKPT_BYTES));
    pthread_mutex_lock(&c->lock);
    c->stop = true;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->thread, NULL);
    bw_debug("store", "background checkpoints runs=%llu resets=%llu max_wal_pages=%d",
             (unsigned long long)c->counts.runs, (unsigned long long)c->counts.resets, c->counts.max_wal_pages);
    if (c->failed_rc != SQLITE_OK)
        bw_warn("store", "a background checkpoint failed: %s (the next commit or close checkpoints instead)",
                sqlite3_errstr(c->failed_rc));
    sqlite3_close(c->db);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->wake);
    pthread_cond_destroy(&c->done);
    free(c);
    store->ckpt = NULL;
}

bw_status bw_store_background_checkpoints(bw_store *store, bool on, char *errbuf)
{
    if (!on) {
        checkpointer_stop(store);
        return BW_OK;
    }
    if (store->ckpt)
        return BW_OK;
    if (store->read_only)
        return bw_error(errbuf, BW_ERR_INVALID, "a read-only store makes no checkpoints");
    const char *path = sqlite3_db_filename(store->db, "main");
    if (!path || !*path)
        return bw_error(errbuf, BW_ERR_INVALID, "a temporary database has no WAL to checkpoint");
    bw_checkpointer *c = calloc(1, sizeof *c);
    if (!c)
        return bw_error(errbuf, BW_ERR_NOMEM, "out of memory");
    if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        bw_status s = bw_error(errbuf, BW_ERR_DB, "%s: checkpoint connection: %s", path,
                               c->db ? sqlite3_errmsg(c->db) : "cannot open");
        sqlite3_close(c->db);
        free(c);
        return s;
    }
    // A connection opens the WAL at its first read; until then its checkpoints do nothing.
    if (exec_simple(c->db, "SELECT count(*) FROM sqlite_schema", NULL) != BW_OK) {
        bw_status s = bw_error(errbuf, BW_ERR_DB, "%s: checkpoint connection: %s", path, sqlite3_errmsg(c->db));
        sqlite3_close(c->db);
        free(c);
        return s;
    }
    c->pages = store->ckpt_pages > 0 ? store->ckpt_pages : pages_for(store->db, CKPT_BYTES);
    c->reset_pages = store->ckpt_reset_pages > c->pages ? store->ckpt_reset_pages
                                                        : pages_for(store->db, CKPT_RESET_BYTES);
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->wake, NULL);
    pthread_cond_init(&c->done, NULL);
    if (pthread_create(&c->thread, NULL, checkpointer_main, c) != 0) {
        sqlite3_close(c->db);
        pthread_mutex_destroy(&c->lock);
        pthread_cond_destroy(&c->wake);
        pthread_cond_destroy(&c->done);
        free(c);
        return bw_error(errbuf, BW_ERR_NOMEM, "cannot start the checkpoint thread");
    }
    store->ckpt = c;
    sqlite3_wal_hook(store->db, checkpoint_hook, c);
    return BW_OK;
}

void bw_store_set_checkpoint_pages(bw_store *store, int pages, int reset_pages)
{
    store->ckpt_pages = pages;
    store->ckpt_reset_pages = reset_pages;
}

bool bw_store_checkpoint_counts_get(bw_store *store, bw_store_checkpoint_counts *out)
{
    bw_checkpointer *c = store->ckpt;
    if (!c)
        return false;
    pthread_mutex_lock(&c->lock);
    *out = c->counts;
    pthread_mutex_unlock(&c->lock);
    return true;
}

bw_status bw_store_close(bw_store *store, char *errbuf)
{
    if (!store)
        return BW_OK;
    bw_status s = BW_OK;
    if (store->in_batch)
        s = bw_store_commit(store, errbuf);
    checkpointer_stop(store);
    for (int i = 0; i < STMT_COUNT; i++)
        sqlite3_finalize(store->stmt[i]);
    for (int i = 0; i < URL_GROUP; i++)
        sqlite3_finalize(store->domain_stmt[i]);
    if (!store->read_only && s == BW_OK)
        sqlite3_exec(store->db, "PRAGMA optimize", NULL, NULL, NULL);
    if (sqlite3_close(store->db) != SQLITE_OK && s == BW_OK)
        s = bw_error(errbuf, BW_ERR_DB, "closing the database: %s", sqlite3_errmsg(store->db));
    free(store->asn_seen);
    free(store->domain_ids);
    bw_id_cache_free(store->domain_cache);
    bw_id_cache_free(store->fingerprint_cache);
    bw_buf_free(&store->urls_json);
    free(store);
    return s;
}

int bw_store_opened_version(const bw_store *store) { return store->opened_version; }
bool bw_store_in_batch(const bw_store *store) { return store->in_batch; }
struct sqlite3 *bw_store_sqlite(bw_store *store) { return store->db; }

bw_status bw_store_begin(bw_store *store, char *errbuf)
{
    if (store->in_batch)
        return bw_error(errbuf, BW_ERR_INVALID, "a batch is already open");
    sqlite3_stmt *st = stmt_get(store, STMT_BEGIN, errbuf);
    if (!st)
        return BW_ERR_DB;
    bw_status s = stmt_run(store, st, errbuf, "begin");
    if (s == BW_OK)
        store->in_batch = true;
    store->next_message_id = 0;
    return s;
}

bw_status bw_store_commit(bw_store *store, char *errbuf)
{
    if (!store->in_batch)
        return bw_error(errbuf, BW_ERR_INVALID, "no batch is open");
    sqlite3_stmt *st = stmt_get(store, STMT_COMMIT, errbuf);
    if (!st)
        return BW_ERR_DB;
    bw_status s = stmt_run(store, st, errbuf, "commit");
    if (s == BW_OK) {
        store->in_batch = false;
        tune_cache(store);
    }
    store->next_message_id = 0;
    return s;
}

bw_status bw_store_rollback(bw_store *store, char *errbuf)
{
    if (!store->in_batch)
        return bw_error(errbuf, BW_ERR_INVALID, "no batch is open");
    sqlite3_stmt *st = stmt_get(store, STMT_ROLLBACK, errbuf);
    if (!st)
        return BW_ERR_DB;
    bw_status s = stmt_run(store, st, errbuf, "rollback");
    store->in_batch = false;
    store->next_message_id = 0;
    // The rolled-back batch may have held the first row of some ASN: forget what we know.
    store->asn_count = 0;
    if (store->asn_seen)
        memset(store->asn_seen, 0, store->asn_cap * sizeof *store->asn_seen);
    // Likewise the interned ids: the batch may have inserted the names they point at.
    bw_id_cache_clear(store->domain_cache);
    bw_id_cache_clear(store->fingerprint_cache);
    return s;
}

bw_status bw_store_defer_indexes(bw_store *store, uint64_t max_messages, bool *deferred, char *errbuf)
{
    *deferred = false;
    if (store->in_batch)
        return bw_error(errbuf, BW_ERR_INVALID, "cannot change indexes inside a batch");
    // max(id) is an upper bound of the row count read from the end of the table, not a scan.
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(store->db, "SELECT coalesce(max(id), 0) FROM messages", -1, &st, NULL) != SQLITE_OK)
        return db_error(store, errbuf, "counting messages");
    uint64_t rows = sqlite3_step(st) == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : UINT64_MAX;
    sqlite3_finalize(st);
    if (rows > max_messages)
        return BW_OK;
    size_t count;
    const bw_store_index *indexes = bw_store_secondary_indexes(&count);
    bw_status s;
    if ((s = exec_simple(store->db, "BEGIN", errbuf)) != BW_OK)
        return s;
    if ((s = bw_store_meta_set(store, "indexes_deferred", "1", errbuf)) != BW_OK)
        goto fail;
    for (size_t i = 0; i < count; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "DROP INDEX IF EXISTS %s", indexes[i].name);
        if ((s = exec_simple(store->db, sql, errbuf)) != BW_OK)
            goto fail;
    }
    if ((s = exec_simple(store->db, "COMMIT", errbuf)) != BW_OK)
        goto fail;
    *deferred = true;
    return BW_OK;
fail:
    exec_simple(store->db, "ROLLBACK", NULL);
    return s;
}

bw_status bw_store_build_indexes(bw_store *store, char *errbuf)
{
    if (store->in_batch)
        return bw_error(errbuf, BW_ERR_INVALID, "cannot change indexes inside a batch");
    size_t count;
    const bw_store_index *indexes = bw_store_secondary_indexes(&count);
    bw_status s;
    if ((s = exec_simple(store->db, "BEGIN", errbuf)) != BW_OK)
        return s;
    for (size_t i = 0; i < count; i++)
        if ((s = exec_simple(store->db, indexes[i].create_sql, errbuf)) != BW_OK)
            goto fail;
    if ((s = exec_simple(store->db, "DELETE FROM meta WHERE key = 'indexes_deferred'", errbuf)) != BW_OK ||
        (s = exec_simple(store->db, "COMMIT", errbuf)) != BW_OK)
        goto fail;
    return BW_OK;
fail:
    exec_simple(store->db, "ROLLBACK", NULL);
    return s;
}

bw_status bw_store_source_open(bw_store *store, const char *path, const char *format,
                               int64_t *source_id, char *errbuf)
{
    sqlite3_stmt *find = stmt_get(store, STMT_FIND_SOURCE, errbuf);
    if (!find)
        return BW_ERR_DB;
    int64_t now = (int64_t)time(NULL);
    sqlite3_bind_text(find, 1, path, -1, SQLITE_STATIC);
    int rc = sqlite3_step(find);
    if (rc == SQLITE_ROW) {
        *source_id = sqlite3_column_int64(find, 0);
        sqlite3_reset(find);
        sqlite3_clear_bindings(find);
        sqlite3_stmt *touch = stmt_get(store, STMT_TOUCH_SOURCE, errbuf);
        if (!touch)
            return BW_ERR_DB;
        sqlite3_bind_int64(touch, 1, *source_id);
        sqlite3_bind_int64(touch, 2, now);
        sqlite3_bind_text(touch, 3, format, -1, SQLITE_STATIC);
        return stmt_run(store, touch, errbuf, "updating source");
    }
    sqlite3_reset(find);
    sqlite3_clear_bindings(find);
    if (rc != SQLITE_DONE)
        return db_error(store, errbuf, "finding source");
    sqlite3_stmt *ins = stmt_get(store, STMT_INSERT_SOURCE, errbuf);
    if (!ins)
        return BW_ERR_DB;
    sqlite3_bind_text(ins, 1, path, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 2, format, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 3, now);
    bw_status s = stmt_run(store, ins, errbuf, "adding source");
    if (s == BW_OK)
        *source_id = sqlite3_last_insert_rowid(store->db);
    return s;
}

bw_status bw_store_source_add_counts(bw_store *store, int64_t source_id,
                                     const bw_store_source_counts *delta, char *errbuf)
{
    sqlite3_stmt *st = stmt_get(store, STMT_ADD_SOURCE_COUNTS, errbuf);
    if (!st)
        return BW_ERR_DB;
    sqlite3_bind_int64(st, 1, source_id);
    sqlite3_bind_int64(st, 2, (int64_t)delta->messages);
    sqlite3_bind_int64(st, 3, (int64_t)delta->duplicates);
    sqlite3_bind_int64(st, 4, (int64_t)delta->errors);
    sqlite3_bind_int64(st, 5, (int64_t)delta->bytes);
    return stmt_run(store, st, errbuf, "updating source counts");
}

static size_t asn_slot(uint32_t asn, size_t cap)
{
    return (size_t)((asn * 2654435761u) & (cap - 1));
}

// True if asn was already written by this handle; otherwise records it (best effort:
// on allocation failure it just says "not seen" and the upsert runs again).
static bool asn_seen_before(bw_store *store, uint32_t asn)
{
    if (store->asn_count * 2 >= store->asn_cap) {
        size_t cap = store->asn_cap ? store->asn_cap * 2 : 1024;
        uint32_t *grown = calloc(cap, sizeof *grown);
        if (!grown)
            return false;
        for (size_t i = 0; i < store->asn_cap; i++) {
            uint32_t a = store->asn_seen[i];
            if (!a)
                continue;
            size_t j = asn_slot(a, cap);
            while (grown[j])
                j = (j + 1) & (cap - 1);
            grown[j] = a;
        }
        free(store->asn_seen);
        store->asn_seen = grown;
        store->asn_cap = cap;
    }
    size_t j = asn_slot(asn, store->asn_cap);
    while (store->asn_seen[j]) {
        if (store->asn_seen[j] == asn)
            return true;
        j = (j + 1) & (store->asn_cap - 1);
    }
    store->asn_seen[j] = asn;
    store->asn_count++;
    return false;
}

static bw_status store_asn(bw_store *store, const bw_store_message_meta *meta, char *errbuf)
{
    if (asn_seen_before(store, meta->sender_asn))
        return BW_OK;
    sqlite3_stmt *st = stmt_get(store, STMT_UPSERT_ASN, errbuf);
    if (!st)
        return BW_ERR_DB;
    sqlite3_bind_int64(st, 1, meta->sender_asn);
    bind_slice(st, 2, meta->sender_as_name);
    bind_slice(st, 3, meta->sender_country);
    return stmt_run(store, st, errbuf, "storing AS");
}

static int hex_digit(char c);

// 64 hex digits -> 32 bytes; false if not hex.
static bool parse_digest(const char *hex, uint8_t digest[BW_SHA256_LEN])
{
    for (size_t i = 0; i < BW_SHA256_LEN; i++) {
        int hi = hex_digit(hex[2 * i]), lo = hi < 0 ? -1 : hex_digit(hex[2 * i + 1]);
        if (lo < 0)
            return false;
        digest[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int compare_ids(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

// An interned string's row id (domains, header_fingerprints): from the writer's cache,
// else the table (find), else a new row (insert). name is not empty.
typedef struct intern_table {
    enum store_stmt find, insert;
    const char *what;
} intern_table;

static const intern_table DOMAINS = { STMT_FIND_DOMAIN, STMT_INSERT_DOMAIN, "a URL domain" };
static const intern_table FINGERPRINTS = { STMT_FIND_FINGERPRINT, STMT_INSERT_FINGERPRINT, "a header fingerprint" };

static bw_status intern(bw_store *store, bw_id_cache **cache, const intern_table *t, bw_slice name, int64_t *id,
                        char *errbuf)
{
    if (!*cache && !(*cache = bw_id_cache_new()))
        return bw_error(errbuf, BW_ERR_NOMEM, "out of memory");
    if ((*id = bw_id_cache_get(*cache, name)) > 0)
        return BW_OK;
    sqlite3_stmt *find = stmt_get(store, t->find, errbuf);
    if (!find)
        return BW_ERR_DB;
    bind_slice(find, 1, name);
    int rc = sqlite3_step(find);
    *id = rc == SQLITE_ROW ? sqlite3_column_int64(find, 0) : 0;
    sqlite3_reset(find);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return bw_error(errbuf, BW_ERR_DB, "looking up %s: %s", t->what, sqlite3_errmsg(store->db));
    if (!*id) {
        sqlite3_stmt *ins = stmt_get(store, t->insert, errbuf);
        if (!ins)
            return BW_ERR_DB;
        bind_slice(ins, 1, name);
        bw_status s = stmt_run(store, ins, errbuf, t->what);
        if (s != BW_OK)
            return s;
        *id = sqlite3_last_insert_rowid(store->db);
    }
    if (bw_id_cache_put(*cache, name, *id) != 0)
        return bw_error(errbuf, BW_ERR_NOMEM, "out of memory");
    return BW_OK;
}

// A message's URLs: one message_urls row (the JSON array) and one url_domains row per
// distinct non-empty domain (at most the analyzer's max_urls of them), sorted by id so the
// rows go in in key order.
static bw_status store_urls(bw_store *store, int64_t id, const bw_mail_record *record, char *errbuf)
{
    if (bw_store_urls_json(&store->urls_json, record->urls, record->url_count) != 0)
        return bw_error(errbuf, BW_ERR_NOMEM, "out of memory");
    sqlite3_stmt *st = stmt_get(store, STMT_INSERT_MESSAGE_URLS, errbuf);
    if (!st)
        return BW_ERR_DB;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, store->urls_json.p, store->urls_json.n > INT_MAX ? INT_MAX : (int)store->urls_json.n,
                      SQLITE_STATIC);
    bw_status s = stmt_run(store, st, errbuf, "storing URLs");
    if (s != BW_OK)
        return s;
    if (record->url_count > store->domain_cap) {
        int64_t *grown = realloc(store->domain_ids, record->url_count * sizeof *grown);
        if (!grown)
            return bw_error(errbuf, BW_ERR_NOMEM, "out of memory");
        store->domain_ids = grown;
        store->domain_cap = record->url_count;
    }
    size_t n = 0;
    for (size_t i = 0; i < record->url_count; i++) {
        bw_slice d = record->urls[i].domain;
        if (!d.n || !d.p)
            continue;
        if ((s = intern(store, &store->domain_cache, &DOMAINS, d, &store->domain_ids[n], errbuf)) != BW_OK)
            return s;
        n++;
    }
    if (n > 1)
        qsort(store->domain_ids, n, sizeof *store->domain_ids, compare_ids);
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || store->domain_ids[i - 1] != store->domain_ids[i])
            store->domain_ids[distinct++] = store->domain_ids[i];
    for (size_t done = 0; done < distinct;) {
        size_t rows = distinct - done;
        if (rows > URL_GROUP)
            rows = URL_GROUP;
        sqlite3_stmt *ins = domain_stmt_get(store, rows, errbuf);
        if (!ins)
            return BW_ERR_DB;
        for (size_t r = 0; r < rows; r++) {
            sqlite3_bind_int64(ins, (int)(2 * r + 1), store->domain_ids[done + r]);
            sqlite3_bind_int64(ins, (int)(2 * r + 2), id);
        }
        int rc = sqlite3_step(ins);
        sqlite3_reset(ins);
        if (rc != SQLITE_DONE)
            return db_error(store, errbuf, "storing URL domains");
        done += rows;
    }
    return BW_OK;
}

bw_status bw_store_add_message(bw_store *store, const bw_mail_record *record,
                               const bw_store_message_meta *meta, bool *inserted, char *errbuf)
{
    *inserted = false;
    uint8_t digest[BW_SHA256_LEN];
    if (!parse_digest(record->sha256, digest))
        return bw_error(errbuf, BW_ERR_INVALID, "message hash is not 64 hex digits");
    const bw_message *msg = record->message;
    // A duplicate has the fingerprint of the stored copy, so interning first adds no row
    // that no message refers to.
    int64_t fingerprint_id = 0;
    bw_status s;
    if (msg && record->header_fingerprint.n &&
        (s = intern(store, &store->fingerprint_cache, &FINGERPRINTS, record->header_fingerprint, &fingerprint_id,
                    errbuf)) != BW_OK)
        return s;
    sqlite3_stmt *st = stmt_get(store, STMT_INSERT_MESSAGE, errbuf);
    if (!st)
        return BW_ERR_DB;
    bool has_received = record->received_count > 0 && record->received[0].has_time;
    int64_t received_at = has_received ? (int64_t)record->received[0].time : 0;
    bool has_date = msg && msg->has_date;
    int64_t date = has_date ? (int64_t)msg->date : 0;

    sqlite3_bind_blob(st, 1, digest, sizeof digest, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, meta->ingested_at);
    bind_time(st, 3, has_date, date);
    bind_time(st, 4, has_received, received_at);
    bind_time(st, 5, has_received || has_date, has_received ? received_at : date);
    sqlite3_bind_int64(st, 6, meta->source_id);
    sqlite3_bind_int64(st, 7, (int64_t)meta->source_offset);
    sqlite3_bind_int64(st, 8, (int64_t)meta->size);
    bind_slice(st, 9, record->sender_ip);
    if (meta->sender_asn)
        sqlite3_bind_int64(st, 10, meta->sender_asn);
    bind_slice(st, 11, record->helo);
    bind_slice(st, 12, meta->envelope_from);
    bind_slice(st, 13, meta->envelope_to);
    // The anomaly mask is stored as a signed 64-bit integer; bit 63 keeps its meaning.
    sqlite3_bind_int64(st, 18, (int64_t)(msg ? record->anomalies : 0));
    if (msg) {
        bind_slice(st, 14, msg->subject);
        bind_slice(st, 15, msg->from);
        bind_slice(st, 16, msg->message_id);
        if (fingerprint_id)
            sqlite3_bind_int64(st, 17, fingerprint_id);
        sqlite3_bind_int64(st, 19, (int64_t)msg->part_count);
        sqlite3_bind_int64(st, 20, (int64_t)record->text.n);
        sqlite3_bind_int64(st, 21, (int64_t)record->url_count);
    }
    if (meta->id > 0)
        sqlite3_bind_int64(st, 22, meta->id);
    if (meta->campaign_id) {
        sqlite3_bind_int64(st, 23, (int64_t)meta->campaign_id);
        sqlite3_bind_double(st, 24, meta->similarity);
    }
    bind_slice(st, 25, meta->rule_labels);
    s = stmt_run(store, st, errbuf, "storing message");
    if (s != BW_OK)
        return s;
    if (sqlite3_changes(store->db) == 0) {
        // Same sha256 already stored: a duplicate. With an explicit id (from
        // bw_store_next_message_id, so normally free) make sure it is the hash and not the id
        // that is taken: a duplicate is rare, and this lookup runs only then.
        if (meta->id > 0) {
            bool found = false;
            if ((s = bw_store_has_message(store, record->sha256, &found, errbuf)) != BW_OK)
                return s;
            if (!found)
                return bw_error(errbuf, BW_ERR_DB, "storing message: row id %lld is already in use",
                                (long long)meta->id);
        }
        return BW_OK;
    }
    *inserted = true;
    int64_t id = sqlite3_last_insert_rowid(store->db);
    store->next_message_id = id < INT64_MAX ? id + 1 : 0;
    if (meta->sender_asn && (s = store_asn(store, meta, errbuf)) != BW_OK)
        return s;
    if (!msg || record->url_count == 0)
        return BW_OK;
    return store_urls(store, id, record, errbuf);
}

bw_status bw_store_add_error(bw_store *store, int64_t source_id, uint64_t offset,
                             const char *reason, int64_t at, char *errbuf)
{
    sqlite3_stmt *st = stmt_get(store, STMT_INSERT_ERROR, errbuf);
    if (!st)
        return BW_ERR_DB;
    if (source_id > 0)
        sqlite3_bind_int64(st, 1, source_id);
    sqlite3_bind_int64(st, 2, (int64_t)offset);
    sqlite3_bind_text(st, 3, reason ? reason : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, at);
    return stmt_run(store, st, errbuf, "storing ingest error");
}

bw_status bw_store_meta_get(bw_store *store, const char *key, bw_buf *out, char *errbuf)
{
    sqlite3_stmt *st = stmt_get(store, STMT_META_GET, errbuf);
    if (!st)
        return BW_ERR_DB;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    bw_status s = BW_OK;
    if (rc == SQLITE_ROW) {
        const unsigned char *v = sqlite3_column_text(st, 0);
        int n = sqlite3_column_bytes(st, 0);
        if (bw_buf_append(out, v ? (const char *)v : "", v ? (size_t)n : 0) != 0)
            s = bw_error(errbuf, BW_ERR_NOMEM, "out of memory reading meta %s", key);
    } else if (rc == SQLITE_DONE) {
        s = bw_error(errbuf, BW_ERR_NOTFOUND, "meta key %s not set", key);
    } else {
        s = db_error(store, errbuf, "reading meta");
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return s;
}

bw_status bw_store_meta_set(bw_store *store, const char *key, const char *value, char *errbuf)
{
    if (store->read_only)
        return bw_error(errbuf, BW_ERR_INVALID, "database opened read-only");
    sqlite3_stmt *st = stmt_get(store, STMT_META_SET, errbuf);
    if (!st)
        return BW_ERR_DB;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    return stmt_run(store, st, errbuf, "writing meta");
}

bw_status bw_store_hash_key(bw_store *store, bw_hash_key *out, char *errbuf)
{
    bw_buf value = BW_BUF_INIT;
    bw_status s = bw_store_meta_get(store, "hash_key", &value, errbuf);
    if (s == BW_OK) {
        char half[17];
        if (value.n != 32) {
            s = bw_error(errbuf, BW_ERR_PARSE, "meta hash_key is not 32 hex digits");
        } else {
            memcpy(half, value.p, 16);
            half[16] = '\0';
            out->k0 = strtoull(half, NULL, 16);
            memcpy(half, value.p + 16, 16);
            out->k1 = strtoull(half, NULL, 16);
        }
    }
    bw_buf_free(&value);
    return s;
}

bw_status bw_store_has_message(bw_store *store, const char *sha256_hex, bool *found, char *errbuf)
{
    *found = false;
    uint8_t digest[BW_SHA256_LEN];
    if (!parse_digest(sha256_hex, digest))
        return bw_error(errbuf, BW_ERR_INVALID, "message hash is not 64 hex digits");
    sqlite3_stmt *st = stmt_get(store, STMT_HAS_MESSAGE, errbuf);
    if (!st)
        return BW_ERR_DB;
    sqlite3_bind_blob(st, 1, digest, sizeof digest, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *found = rc == SQLITE_ROW;
    bw_status s = rc == SQLITE_ROW || rc == SQLITE_DONE ? BW_OK : db_error(store, errbuf, "looking up a message");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return s;
}

bw_status bw_store_next_message_id(bw_store *store, int64_t *id, char *errbuf)
{
    if (store->next_message_id <= 0) {
        sqlite3_stmt *st = stmt_get(store, STMT_NEXT_MESSAGE_ID, errbuf);
        if (!st)
            return BW_ERR_DB;
        int rc = sqlite3_step(st);
        int64_t next = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        sqlite3_reset(st);
        if (rc != SQLITE_ROW || next <= 0)
            return db_error(store, errbuf, "finding the next message id");
        store->next_message_id = next;
    }
    *id = store->next_message_id;
    return BW_OK;
}

bw_status bw_store_put_campaign(bw_store *store, const bw_store_campaign_row *row, char *errbuf)
{
    sqlite3_stmt *st = stmt_get(store, STMT_PUT_CAMPAIGN, errbuf);
    if (!st)
        return BW_ERR_DB;
    sqlite3_bind_int64(st, 1, (int64_t)row->id);
    sqlite3_bind_int64(st, 2, row->first_seen);
    sqlite3_bind_int64(st, 3, row->last_seen);
    sqlite3_bind_int64(st, 4, (int64_t)row->messages);
    sqlite3_bind_int64(st, 5, (int64_t)row->sender_ips);
    sqlite3_bind_int64(st, 6, (int64_t)row->subnets24);
    sqlite3_bind_int64(st, 7, (int64_t)row->asns);
    bind_slice(st, 8, row->template_text);
    bind_slice(st, 9, row->subjects_json);
    bind_slice(st, 10, row->domains_json);
    bind_slice(st, 11, row->samples_json);
    bind_slice(st, 12, row->links_json);
    sqlite3_bind_int(st, 13, row->in_memory);
    return stmt_run(store, st, errbuf, "storing campaign");
}

bw_status bw_store_add_campaign_link(bw_store *store, uint64_t a, uint64_t b, bw_slice domain, int64_t time,
                                     char *errbuf)
{
    if (a == b)
        return bw_error(errbuf, BW_ERR_INVALID, "a campaign cannot link to itself");
    sqlite3_stmt *st = stmt_get(store, STMT_ADD_CAMPAIGN_LINK, errbuf);
    if (!st)
        return BW_ERR_DB;
    sqlite3_bind_int64(st, 1, (int64_t)(a < b ? a : b));
    sqlite3_bind_int64(st, 2, (int64_t)(a < b ? b : a));
    if (domain.n)
        bind_slice(st, 3, domain);
    else
        sqlite3_bind_text(st, 3, "", 0, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, time);
    return stmt_run(store, st, errbuf, "storing campaign link");
}

bw_status bw_store_campaigns_forget_memory(bw_store *store, char *errbuf)
{
    return exec_simple(store->db, "UPDATE campaigns SET in_memory = 0 WHERE in_memory <> 0", errbuf);
}

static bw_status query_u64(bw_store *store, const char *sql, uint64_t *out, char *errbuf)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(store->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_error(store, errbuf, "preparing a query");
    int rc = sqlite3_step(st);
    int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return db_error(store, errbuf, "querying");
    *out = v > 0 ? (uint64_t)v : 0;
    return BW_OK;
}

bw_status bw_store_max_campaign_id(bw_store *store, uint64_t *id, char *errbuf)
{
    // max() over an indexed column reads one end of the index; without the index (during a
    // deferred bulk load) it is one scan at the start of a run.
    uint64_t rows = 0, messages = 0;
    bw_status s = query_u64(store, "SELECT coalesce(max(id), 0) FROM campaigns", &rows, errbuf);
    if (s == BW_OK)
        s = query_u64(store, "SELECT coalesce(max(campaign_id), 0) FROM messages", &messages, errbuf);
    if (s == BW_OK)
        *id = rows > messages ? rows : messages;
    return s;
}

bw_status bw_store_campaign_state_get(bw_store *store, bw_buf *out, int64_t *version, int64_t *saved_at,
                                      char *errbuf)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(store->db, "SELECT version, saved_at, blob FROM campaign_state WHERE id = 1", -1, &st,
                           NULL) != SQLITE_OK)
        return db_error(store, errbuf, "reading the campaign state");
    int rc = sqlite3_step(st);
    bw_status s = BW_OK;
    if (rc == SQLITE_ROW) {
        if (version)
            *version = sqlite3_column_int64(st, 0);
        if (saved_at)
            *saved_at = sqlite3_column_int64(st, 1);
        const void *p = sqlite3_column_blob(st, 2);
        int n = sqlite3_column_bytes(st, 2);
        if (n > 0 && bw_buf_append(out, p, (size_t)n) != 0)
            s = bw_error(errbuf, BW_ERR_NOMEM, "out of memory reading the campaign state");
    } else if (rc == SQLITE_DONE) {
        s = bw_error(errbuf, BW_ERR_NOTFOUND, "no saved campaign state");
    } else {
        s = db_error(store, errbuf, "reading the campaign state");
    }
    sqlite3_finalize(st);
    return s;
}

bw_status bw_store_campaign_state_put(bw_store *store, int64_t version, int64_t saved_at, const void *blob,
                                      size_t n, char *errbuf)
{
    if (n > INT_MAX)
        return bw_error(errbuf, BW_ERR_LIMIT, "campaign state of %zu bytes is larger than SQLite takes", n);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(store->db,
                           "INSERT OR REPLACE INTO campaign_state(id, version, saved_at, blob) VALUES(1, ?1, ?2, ?3)",
                           -1, &st, NULL) != SQLITE_OK)
        return db_error(store, errbuf, "saving the campaign state");
    sqlite3_bind_int64(st, 1, version);
    sqlite3_bind_int64(st, 2, saved_at);
    sqlite3_bind_blob(st, 3, n ? blob : "", (int)n, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? BW_OK : db_error(store, errbuf, "saving the campaign state");
}
