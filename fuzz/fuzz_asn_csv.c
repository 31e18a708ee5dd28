// SPDX-License-Identifier: MIT
// Fuzz target for the ASN CSV loader: any bytes are loaded as CSV rows (small limits, so
// the limit paths are reached too), then looked up at addresses taken from the input and
// at the edges of the address space, which exercises the sort and overlap resolution.
#include <stdint.h>
#include <string.h>

#include "botwatch/networks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bw_asn_limits limits;
    bw_asn_limits_default(&limits);
    limits.max_ranges = 4096;
    limits.max_line_bytes = 256;
    limits.max_org_bytes = 64;
    bw_asn_db *db = bw_asn_db_new_with_limits(&limits);
    if (!db)
        return 0;
    char errbuf[BW_ERRBUF_SIZE];
    (void)bw_asn_db_load_csv_buffer(db, "fuzz.csv", (const char *)data, size, errbuf);
    bw_ip ip;
    bw_asn_info info;
    memset(ip.b, 0, sizeof ip.b);
    (void)bw_asn_lookup(db, &ip, &info);
    memset(ip.b, 0xff, sizeof ip.b);
    (void)bw_asn_lookup(db, &ip, &info);
    for (size_t off = 0; off + 16 <= size && off < 16 * 64; off += 16) {
        memcpy(ip.b, data + off, 16);
        if (bw_asn_lookup(db, &ip, &info) && info.org.n > 0)
            (void)info.org.p[info.org.n - 1];   // the slice must be readable
    }
    bw_asn_db_free(db);
    return 0;
}
