// SPDX-License-Identifier: MIT
// IP -> autonomous system (number and organisation name). Sources: the ip-location-db ASN
// CSV (start,end,asn,org; inclusive ranges; IPv4 and IPv6 files) and MaxMind-format ASN
// databases (.mmdb, e.g. GeoLite2-ASN, through libmaxminddb), detected by content.
// Loaded once, then looked up in O(log n); a loaded database is read-only and safe to
// share between threads.
#ifndef BOTWATCH_NETWORKS_H
#define BOTWATCH_NETWORKS_H

#include <stdbool.h>
#include <stdint.h>

#include "botwatch/error.h"
#include "botwatch/ip.h"
#include "botwatch/str.h"

typedef struct bw_asn_db bw_asn_db;

typedef struct bw_asn_info {
    uint32_t asn;       // 0 when unknown
    bw_slice org;       // AS organisation name (owned by the database), empty if unknown
    bw_slice country;   // ISO 3166 code if the source has one, else empty
} bw_asn_info;

// Limits on what one source file may make the database hold (a CSV is fetched from the
// network, so it is treated as untrusted). Hitting max_ranges stops loading that file with
// BW_ERR_LIMIT, keeping what was loaded; the other limits make a row count as skipped.
typedef struct bw_asn_limits {
    size_t max_ranges;      // ranges over all CSV sources
    size_t max_line_bytes;  // one CSV row
    size_t max_org_bytes;   // one organisation name
    size_t max_file_bytes;  // one CSV file
} bw_asn_limits;

void bw_asn_limits_default(bw_asn_limits *limits);

// NULL on allocation failure. bw_asn_db_new() uses the default limits.
bw_asn_db *bw_asn_db_new(void);
bw_asn_db *bw_asn_db_new_with_limits(const bw_asn_limits *limits);
// Adds a source file: an ASN CSV (IPv4 or IPv6 rows, or both), or an .mmdb, or a directory
// holding asn-ipv4.csv / asn-ipv6.csv. Bad CSV rows are skipped and counted (errbuf names
// the first with file:line); a file that cannot be read at all fails.
bw_status bw_asn_db_load(bw_asn_db *db, const char *path, char *errbuf);
// Number of ranges loaded from CSV sources, and rows skipped as malformed.
size_t bw_asn_db_range_count(const bw_asn_db *db);
size_t bw_asn_db_skipped_rows(const bw_asn_db *db);
// Input ranges that overlapped others and were clipped or dropped (see docs/networks.md:
// the more specific range wins; of two identical ranges the first loaded wins).
size_t bw_asn_db_overlaps(const bw_asn_db *db);
// Distinct organisation names held (one pool; each range points into it).
size_t bw_asn_db_org_count(const bw_asn_db *db);
// .mmdb databases opened by bw_asn_db_load().
size_t bw_asn_db_mmdb_count(const bw_asn_db *db);
// Adds CSV rows from memory (tests, fuzzing); name is used in messages. Same contract as
// bw_asn_db_load() for a CSV file; data need not outlive the call.
bw_status bw_asn_db_load_csv_buffer(bw_asn_db *db, const char *name, const char *data, size_t n,
                                    char *errbuf);
// True when the bytes look like a MaxMind DB (the metadata marker within its last 128 KiB).
bool bw_asn_is_mmdb(const void *data, size_t n);
// True and *out filled if ip is covered; false (out->asn = 0) otherwise. .mmdb sources are
// asked first (in load order; the first that knows the ASN, and the first that knows the
// country, answer), then the CSV ranges.
bool bw_asn_lookup(const bw_asn_db *db, const bw_ip *ip, bw_asn_info *out);
void bw_asn_db_free(bw_asn_db *db);

#endif
