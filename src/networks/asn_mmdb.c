// SPDX-License-Identifier: MIT
// MaxMind-format databases (GeoLite2-ASN, GeoLite2-Country/City, DB-IP's mmdb exports)
// through libmaxminddb: opened read-only with mmap, asked for autonomous_system_number,
// autonomous_system_organization and country.iso_code. Strings stay inside the mapping, so
// the slices handed out live as long as the bw_asn_db.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "asn_internal.h"

bw_status asn_mmdb_open(bw_asn_db *db, const char *path, char *errbuf)
{
    MMDB_s *grown = realloc(db->mmdbs, (db->mmdb_count + 1) * sizeof *grown);
    if (!grown)
        return bw_error(errbuf, BW_ERR_NOMEM, "%s: out of memory", path);
    db->mmdbs = grown;
    int rc = MMDB_open(path, MMDB_MODE_MMAP, &db->mmdbs[db->mmdb_count]);
    if (rc != MMDB_SUCCESS) {
        bw_status status = rc == MMDB_IO_ERROR ? BW_ERR_IO : BW_ERR_PARSE;
        return bw_error(errbuf, status, "%s: %s", path, MMDB_strerror(rc));
    }
    db->mmdb_count++;
    return BW_OK;
}

void asn_mmdb_close_all(bw_asn_db *db)
{
    for (size_t i = 0; i < db->mmdb_count; i++)
        MMDB_close(&db->mmdbs[i]);
    free(db->mmdbs);
    db->mmdbs = NULL;
    db->mmdb_count = 0;
}

static bool entry_uint(MMDB_entry_s *entry, const char *key, uint32_t *out)
{
    MMDB_entry_data_s data;
    if (MMDB_get_value(entry, &data, key, NULL) != MMDB_SUCCESS || !data.has_data)
        return false;
    switch (data.type) {
    case MMDB_DATA_TYPE_UINT16: *out = data.uint16; return true;
    case MMDB_DATA_TYPE_UINT32: *out = data.uint32; return true;
    case MMDB_DATA_TYPE_INT32: *out = data.int32 > 0 ? (uint32_t)data.int32 : 0; return true;
    case MMDB_DATA_TYPE_UINT64: *out = data.uint64 <= UINT32_MAX ? (uint32_t)data.uint64 : 0; return true;
    default: return false;
    }
}

static bool entry_string(MMDB_entry_s *entry, bw_slice *out, const char *key, const char *subkey)
{
    MMDB_entry_data_s data;
    if (MMDB_get_value(entry, &data, key, subkey, NULL) != MMDB_SUCCESS || !data.has_data
        || data.type != MMDB_DATA_TYPE_UTF8_STRING)
        return false;
    *out = bw_slice_make(data.utf8_string, data.data_size);
    return true;
}

void asn_mmdb_lookup(const bw_asn_db *db, const bw_ip *ip, bw_asn_info *out)
{
    struct sockaddr_in v4 = { .sin_family = AF_INET };
    struct sockaddr_in6 v6 = { .sin6_family = AF_INET6 };
    const struct sockaddr *addr;
    if (bw_ip_is_v4(ip)) {
        memcpy(&v4.sin_addr, ip->b + 12, 4);
        addr = (const struct sockaddr *)&v4;
    } else {
        memcpy(&v6.sin6_addr, ip->b, 16);
        addr = (const struct sockaddr *)&v6;
    }
    for (size_t i = 0; i < db->mmdb_count; i++) {
        int rc = MMDB_SUCCESS;
        MMDB_lookup_result_s result = MMDB_lookup_sockaddr(&db->mmdbs[i], addr, &rc);
        if (rc != MMDB_SUCCESS || !result.found_entry)
            continue;    // e.g. an IPv6 address asked of an IPv4-only database
        if (out->asn == 0) {
            uint32_t asn = 0;
            if (entry_uint(&result.entry, "autonomous_system_number", &asn) && asn != 0) {
                out->asn = asn;
                if (!entry_string(&result.entry, &out->org, "autonomous_system_organization", NULL))
                    out->org = BW_SLICE_NULL;
            }
        }
        if (out->country.n == 0 && !entry_string(&result.entry, &out->country, "country", "iso_code"))
            out->country = BW_SLICE_NULL;
    }
}
