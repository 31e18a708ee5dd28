// SPDX-License-Identifier: MIT
// Shared inside the networks module only: the database layout that the CSV scanner fills
// (asn_csv.c), the core sorts and searches (asn_db.c) and the MaxMind side reads
// (asn_mmdb.c). Not a public header.
#ifndef BW_NETWORKS_ASN_INTERNAL_H
#define BW_NETWORKS_ASN_INTERNAL_H

#include <maxminddb.h>
#include <stddef.h>
#include <stdint.h>

#include "botwatch/hash.h"
#include "botwatch/networks.h"

// One inclusive range; 40 bytes, so the ~515k ranges of ip-location-db take ~20 MB.
typedef struct asn_range {
    bw_ip start, end;
    uint32_t asn;
    uint32_t org;       // index into orgs
} asn_range;

typedef struct asn_org {
    uint32_t offset;    // into pool
    uint32_t len;
} asn_org;

struct bw_asn_db {
    bw_asn_limits limits;
    asn_range *ranges;
    size_t range_count, range_cap;
    bw_buf pool;                    // every organisation name once, back to back
    asn_org *orgs;
    size_t org_count, org_cap;
    uint32_t *org_table;            // open addressing: org index + 1, 0 = empty
    size_t org_table_cap;           // power of two
    bw_hash_key org_key;
    size_t skipped_rows, overlaps;
    // v4_index[p]: the first range starting at or after ::ffff:p.0.0 (p < 65536), and
    // v4_index[65536] the first after the IPv4-mapped block. An IPv4 lookup searches only
    // between the neighbouring entries (a few ranges) instead of the whole 20 MB array.
    uint32_t *v4_index;
    MMDB_s *mmdbs;
    size_t mmdb_count;
};

// Appends a range (org already interned). BW_ERR_LIMIT at max_ranges, BW_ERR_NOMEM.
bw_status asn_db_add_range(bw_asn_db *db, const bw_ip *start, const bw_ip *end, uint32_t asn,
                           uint32_t org);
// Makes room for `count` ranges in all (a hint; BW_ERR_NOMEM only).
bw_status asn_db_reserve(bw_asn_db *db, size_t count);
// Interns name (already unquoted) and returns its index through *org.
bw_status asn_db_intern(bw_asn_db *db, bw_slice name, uint32_t *org);
// Scans CSV rows into db (unsorted); the caller sorts afterwards.
bw_status asn_csv_scan(bw_asn_db *db, const char *name, const char *data, size_t n, char *errbuf);
// Opens path as a MaxMind DB and keeps it open for lookups.
bw_status asn_mmdb_open(bw_asn_db *db, const char *path, char *errbuf);
// Fills what the .mmdb sources know about ip (asn/org, country), leaving known fields alone.
void asn_mmdb_lookup(const bw_asn_db *db, const bw_ip *ip, bw_asn_info *out);
void asn_mmdb_close_all(bw_asn_db *db);

#endif
