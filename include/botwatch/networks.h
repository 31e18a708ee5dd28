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

bw_asn_db *bw_asn_db_new(void);
// Adds a source file: an ASN CSV (IPv4 or IPv6 rows, or both), or an .mmdb, or a directory
// holding asn-ipv4.csv / asn-ipv6.csv. Bad CSV rows are skipped and counted (errbuf names
// the first with file:line); a file that cannot be read at all fails.
bw_status bw_asn_db_load(bw_asn_db *db, const char *path, char *errbuf);
// Number of ranges loaded from CSV sources, and rows skipped as malformed.
size_t bw_asn_db_range_count(const bw_asn_db *db);
size_t bw_asn_db_skipped_rows(const bw_asn_db *db);
// True and *out filled if ip is covered; false (out->asn = 0) otherwise.
bool bw_asn_lookup(const bw_asn_db *db, const bw_ip *ip, bw_asn_info *out);
void bw_asn_db_free(bw_asn_db *db);

#endif
