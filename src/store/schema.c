// SPDX-License-Identifier: MIT
// The store's schema history. Migration N takes a database from user_version N-1 to N;
// each is a list of SQL statements run in one transaction with the version bump, so a
// failed step leaves the file at the previous version. Never edit a released step: add
// a new one. docs/store.md describes the resulting tables.
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "botwatch/store.h"
#include "store_internal.h"

// v1: the tables ingest fills. Foreign keys are declared for readers of the schema; they
// are not enforced (PRAGMA foreign_keys stays off) because the only writer is this module.
static const char *const migration_1[] = {
    "CREATE TABLE meta ("
    "  key TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL"
    ") WITHOUT ROWID",
    "CREATE TABLE sources ("
    "  id INTEGER PRIMARY KEY,"
    "  path TEXT NOT NULL UNIQUE,"
    "  format TEXT NOT NULL,"
    "  first_ingest INTEGER NOT NULL,"
    "  last_ingest INTEGER NOT NULL,"
    "  messages INTEGER NOT NULL DEFAULT 0,"
    "  duplicates INTEGER NOT NULL DEFAULT 0,"
    "  errors INTEGER NOT NULL DEFAULT 0,"
    "  bytes INTEGER NOT NULL DEFAULT 0"
    ")",
    "CREATE TABLE messages ("
    "  id INTEGER PRIMARY KEY,"
    // 32 raw bytes: half the size of hex text in the row and in its UNIQUE index, which
    // every ingested message probes (readers get hex: lower(hex(sha256))).
    "  sha256 BLOB NOT NULL UNIQUE,"
    "  ingested_at INTEGER NOT NULL,"
    "  date INTEGER,"
    "  received_at INTEGER,"
    "  source_id INTEGER NOT NULL REFERENCES sources(id),"
    "  source_offset INTEGER NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  sender_ip TEXT,"
    "  sender_asn INTEGER,"
    "  helo TEXT,"
    "  envelope_from TEXT,"
    "  envelope_to TEXT,"
    "  subject TEXT,"
    "  from_addr TEXT,"
    "  message_id TEXT,"
    "  header_fingerprint TEXT,"
    "  anomalies INTEGER NOT NULL DEFAULT 0,"
    "  part_count INTEGER,"
    "  text_bytes INTEGER,"
    "  url_count INTEGER"
    ")",
    // Clustered by (msg_id, seq): a message's URLs are one range of the table, appended in
    // order at ingest, so they need no separate index.
    "CREATE TABLE urls ("
    "  msg_id INTEGER NOT NULL REFERENCES messages(id),"
    "  seq INTEGER NOT NULL,"
    "  url TEXT NOT NULL,"
    "  host TEXT,"
    "  domain TEXT,"
    "  from_html INTEGER NOT NULL,"
    "  obfuscated INTEGER NOT NULL,"
    "  PRIMARY KEY (msg_id, seq)"
    ") WITHOUT ROWID",
    "CREATE TABLE ingest_errors ("
    "  id INTEGER PRIMARY KEY,"
    "  source_id INTEGER REFERENCES sources(id),"
    "  offset INTEGER NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  at INTEGER NOT NULL"
    ")",
    "CREATE TABLE asns ("
    "  asn INTEGER PRIMARY KEY,"
    "  name TEXT,"
    "  country TEXT"
    ")",
    NULL,
};

// Secondary indexes that serve the report and export but not ingest itself. Bulk ingest may
// drop them and build them once at the end (bw_store_defer_indexes): one sort instead of a
// random B-tree insert per row. Migration 2 creates them with the same statements.
#define INDEX_MESSAGES_SEEN "CREATE INDEX IF NOT EXISTS messages_seen ON messages(seen_at)"
#define INDEX_MESSAGES_DATE "CREATE INDEX IF NOT EXISTS messages_date ON messages(date)"
#define INDEX_MESSAGES_ASN "CREATE INDEX IF NOT EXISTS messages_asn ON messages(sender_asn)"
#define INDEX_URLS_DOMAIN "CREATE INDEX IF NOT EXISTS urls_domain ON urls(domain, msg_id)"
#define INDEX_MESSAGES_CAMPAIGN "CREATE INDEX IF NOT EXISTS messages_campaign ON messages(campaign_id)"

// (urls_domain, created by migration 2, was dropped by migration 4 for url_domains.)
// (messages_date, created by migration 2, was dropped by migration 5: no query used it.)
static const bw_store_index secondary_indexes[] = {
    { "messages_seen", INDEX_MESSAGES_SEEN },
    { "messages_asn", INDEX_MESSAGES_ASN },
    { "messages_campaign", INDEX_MESSAGES_CAMPAIGN },
};

const bw_store_index *bw_store_secondary_indexes(size_t *count)
{
    *count = sizeof secondary_indexes / sizeof secondary_indexes[0];
    return secondary_indexes;
}

// v2: one arrival time per message so report, export and campaigns agree on "when"
// (the receiving hop's clock first: a spammer writes the Date: header), backfilled for
// rows written by v1, and the indexes the report's range and top-N queries use.
static const char *const migration_2[] = {
    "ALTER TABLE messages ADD COLUMN seen_at INTEGER",
    "UPDATE messages SET seen_at = coalesce(received_at, date)",
    INDEX_MESSAGES_SEEN,
    INDEX_MESSAGES_DATE,
    INDEX_MESSAGES_ASN,
    INDEX_URLS_DOMAIN,
    NULL,
};

// v3: campaigns (docs/campaigns.md) and botnets (docs/botnets.md), issue 3. Per message the
// campaign it joined and how similar it was, and the labels of the attribution rules that
// matched; one row per campaign (upserted from the in-memory index when a campaign is
// evicted and at the end of every run), the AutoRE links between campaigns, the botnets
// inferred over the whole store (rewritten at the end of every run) and the saved state
// of the campaign index, so a later run continues the same campaigns.
static const char *const migration_3[] = {
    "ALTER TABLE messages ADD COLUMN campaign_id INTEGER",
    "ALTER TABLE messages ADD COLUMN similarity REAL",
    "ALTER TABLE messages ADD COLUMN rule_labels TEXT",
    "CREATE TABLE campaigns ("
    "  id INTEGER PRIMARY KEY,"
    "  first_seen INTEGER,"
    "  last_seen INTEGER,"
    "  messages INTEGER,"
    "  sender_ips INTEGER,"
    "  subnets24 INTEGER,"
    "  asns INTEGER,"
    "  template TEXT,"
    "  subjects_json TEXT,"
    "  domains_json TEXT,"
    "  samples_json TEXT,"
    "  links_json TEXT,"
    "  botnet_id INTEGER,"
    "  in_memory INTEGER"
    ")",
    // One row per linked pair, a < b: the pair's key is its clustering order.
    "CREATE TABLE campaign_links ("
    "  a INTEGER NOT NULL,"
    "  b INTEGER NOT NULL,"
    "  domain TEXT NOT NULL,"
    "  time INTEGER,"
    "  PRIMARY KEY (a, b, domain)"
    ") WITHOUT ROWID",
    "CREATE TABLE botnets ("
    "  id INTEGER PRIMARY KEY,"
    "  label TEXT,"
    "  campaigns INTEGER,"
    "  sender_ips INTEGER,"
    "  subnets24 INTEGER,"
    "  messages INTEGER,"
    "  first_seen INTEGER,"
    "  last_seen INTEGER,"
    "  asns_json TEXT,"
    "  countries_json TEXT"
    ")",
    "CREATE TABLE campaign_state ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  version INTEGER,"
    "  saved_at INTEGER,"
    "  blob BLOB"
    ")",
    INDEX_MESSAGES_CAMPAIGN,
    NULL,
};

// v4: the top-domains question ("how many messages link to each domain") gets its own
// table of distinct (domain, message) pairs, written with each message, instead of the
// index urls(domain, msg_id). That index held every URL row (269,140 on bench/ingest for
// 121,080 distinct pairs) and, rebuilt at the end of every bulk load by a sort on text
// keys, was 1.1 of the writer's 4.2 billion instructions, all of it on one core while the
// workers sat idle; the table costs a few inserts per message while the workers run.
static const char *const migration_4[] = {
    "CREATE TABLE url_domains ("
    "  domain TEXT NOT NULL,"
    "  msg_id INTEGER NOT NULL REFERENCES messages(id),"
    "  PRIMARY KEY (domain, msg_id)"
    ") WITHOUT ROWID",
    "INSERT INTO url_domains(domain, msg_id) SELECT DISTINCT domain, msg_id FROM urls WHERE domain IS NOT NULL",
    "DROP INDEX IF EXISTS urls_domain",
    NULL,
};


// v5: the ingest writer is the pipeline's serial stage, and it spent most of its time on
// URL rows: a statement step and B-tree insert per URL (4.5 a message) and a text-keyed
// insert per distinct domain. A message's URLs become one JSON row (message_urls), read as
// rows through the view `urls` with the same columns as the v1-v4 table; url_domains pairs
// are keyed by integer domain ids (domains); the unused messages_date index goes. On
// bench/ingest: writer CPU 0.75-0.79 -> 0.63-0.70 s, 44.7-46.1k -> 49.4-49.7k msgs/s.
static const char *const migration_5[] = {
    "CREATE TABLE domains ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE"
    ")",
    "INSERT INTO domains(name) SELECT DISTINCT domain FROM url_domains ORDER BY domain",
    "CREATE TABLE url_domains_v5 ("
    "  domain_id INTEGER NOT NULL REFERENCES domains(id),"
    "  msg_id INTEGER NOT NULL REFERENCES messages(id),"
    "  PRIMARY KEY (domain_id, msg_id)"
    ") WITHOUT ROWID",
    "INSERT INTO url_domains_v5(domain_id, msg_id)"
    " SELECT d.id, u.msg_id FROM url_domains u JOIN domains d ON d.name = u.domain ORDER BY 1, 2",
    "DROP TABLE url_domains",
    "ALTER TABLE url_domains_v5 RENAME TO url_domains",
    // [url, host, domain, from_html, obfuscated] per URL, in the order the parser found them.
    "CREATE TABLE message_urls ("
    "  msg_id INTEGER PRIMARY KEY REFERENCES messages(id),"
    "  urls TEXT NOT NULL"
    ")",
    "INSERT INTO message_urls(msg_id, urls)"
    " SELECT msg_id, '[' || group_concat(json_array(url, host, domain, from_html, obfuscated), ',') || ']'"
    " FROM (SELECT * FROM urls ORDER BY msg_id, seq) GROUP BY msg_id",
    "DROP TABLE urls",
    "CREATE VIEW urls(msg_id, seq, url, host, domain, from_html, obfuscated) AS"
    " SELECT mu.msg_id, j.key, j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4"
    " FROM message_urls mu, json_each(mu.urls) j",
    "DROP INDEX IF EXISTS messages_date",
    NULL,
};

// v6: a message's header fingerprint (the order of its header names, ~260 bytes) was half
// of every messages row, while a trap sees few distinct ones (2,475 in the 60,460 messages
// of bench/ingest: bulk mailers write their headers the same way every time). It is
// interned in header_fingerprints and the row keeps its id: the table is half the size, and
// so is every scan of it (the end-of-run index builds) and the pages the writer dirties.
// DROP COLUMN needs SQLite 3.35 (Debian 12 has 3.40).
static const char *const migration_6[] = {
    "CREATE TABLE header_fingerprints ("
    "  id INTEGER PRIMARY KEY,"
    "  fingerprint TEXT NOT NULL UNIQUE"
    ")",
    "INSERT INTO header_fingerprints(fingerprint)"
    " SELECT DISTINCT header_fingerprint FROM messages WHERE header_fingerprint IS NOT NULL ORDER BY 1",
    "ALTER TABLE messages ADD COLUMN header_fp_id INTEGER REFERENCES header_fingerprints(id)",
    "UPDATE messages SET header_fp_id = (SELECT f.id FROM header_fingerprints f"
    " WHERE f.fingerprint = messages.header_fingerprint) WHERE header_fingerprint IS NOT NULL",
    "ALTER TABLE messages DROP COLUMN header_fingerprint",
    NULL,
};

// v7: the botnet step read every earlier run's messages at the end of each run (0.21 s of
// a 0.46 s run of 5,000 messages into a store of 350,000 spamsim messages). Each run now
// leaves its messages' (campaign, sender IP) sightings and rule-label votes, merged, in one
// row per range of message ids (src/ingest/botnets.c has the blob format); the step reads
// these and only the messages no row covers. Older stores get their rows as the first run
// after the upgrade reads their messages.
static const char *const migration_7[] = {
    "CREATE TABLE sighting_runs ("
    "  first_id INTEGER PRIMARY KEY,"
    "  last_id INTEGER NOT NULL,"
    "  blob BLOB NOT NULL"
    ")",
    NULL,
};

static const bw_store_migration migrations[] = {
    { 1, "core tables: messages, urls, sources, ingest_errors, asns, meta", migration_1 },
    { 2, "seen_at arrival time and report indexes", migration_2 },
    { 3, "campaigns, campaign links, botnets, campaign index state; messages.campaign_id, similarity, rule_labels", migration_3 },
    { 4, "url_domains: distinct (domain, message) pairs replace the urls(domain, msg_id) index", migration_4 },
    { 5, "message_urls (one JSON row a message) and the urls view; url_domains keyed by domain ids", migration_5 },
    { 6, "header_fingerprints: messages.header_fingerprint interned as header_fp_id", migration_6 },
    { 7, "sighting_runs: each run's merged (campaign, sender IP) sightings and label votes for the botnet step", migration_7 },
};

_Static_assert(sizeof migrations / sizeof migrations[0] == BW_STORE_SCHEMA_VERSION,
               "one migration per schema version");

const bw_store_migration *bw_store_migrations(size_t *count)
{
    *count = sizeof migrations / sizeof migrations[0];
    return migrations;
}

static bw_status exec_sql(sqlite3 *db, const char *sql, char *errbuf)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        bw_status st = bw_error(errbuf, BW_ERR_DB, "%s (in: %.80s)", msg ? msg : sqlite3_errmsg(db), sql);
        sqlite3_free(msg);
        return st;
    }
    return BW_OK;
}

bw_status bw_store_user_version(sqlite3 *db, int *version, char *errbuf)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return bw_error(errbuf, BW_ERR_DB, "reading schema version: %s", sqlite3_errmsg(db));
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        bw_status s = bw_error(errbuf, BW_ERR_DB, "reading schema version: %s", sqlite3_errmsg(db));
        sqlite3_finalize(st);
        return s;
    }
    *version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return BW_OK;
}

bw_status bw_store_migrate(sqlite3 *db, const bw_store_migration *steps, size_t step_count,
                           int target, char *errbuf)
{
    int version;
    bw_status s = bw_store_user_version(db, &version, errbuf);
    if (s != BW_OK)
        return s;
    if (version > (int)step_count)
        return bw_error(errbuf, BW_ERR_UNSUPPORTED,
                        "database schema version %d is newer than this botwatch understands (%zu); "
                        "use a newer botwatch", version, step_count);
    if (target > (int)step_count)
        return bw_error(errbuf, BW_ERR_INVALID, "no migration to schema version %d", target);
    while (version < target) {
        // IMMEDIATE takes the write lock first; the version is read again under the lock
        // so that two processes opening a new file do not both run the same step.
        if ((s = exec_sql(db, "BEGIN IMMEDIATE", errbuf)) != BW_OK)
            return s;
        if ((s = bw_store_user_version(db, &version, errbuf)) != BW_OK) {
            exec_sql(db, "ROLLBACK", NULL);
            return s;
        }
        if (version >= target) {
            exec_sql(db, "ROLLBACK", NULL);
            break;
        }
        const bw_store_migration *m = &steps[version];
        if (m->version != version + 1) {
            exec_sql(db, "ROLLBACK", NULL);
            return bw_error(errbuf, BW_ERR_INVALID, "migration table out of order at %d", m->version);
        }
        for (const char *const *sql = m->steps; *sql; sql++) {
            if ((s = exec_sql(db, *sql, errbuf)) != BW_OK) {
                exec_sql(db, "ROLLBACK", NULL);
                char why[BW_ERRBUF_SIZE];
                snprintf(why, sizeof why, "%s", errbuf ? errbuf : "");
                return bw_error(errbuf, BW_ERR_DB, "migration %d (%s): %s", m->version, m->summary, why);
            }
        }
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version = %d", m->version);
        if ((s = exec_sql(db, bump, errbuf)) != BW_OK || (s = exec_sql(db, "COMMIT", errbuf)) != BW_OK) {
            exec_sql(db, "ROLLBACK", NULL);
            return s;
        }
        version = m->version;
    }
    return BW_OK;
}
