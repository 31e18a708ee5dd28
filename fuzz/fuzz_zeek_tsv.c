// SPDX-License-Identifier: MIT
// libFuzzer target: the zeek_tsv flow reader (format forced, so every input reaches it),
// one-shot against chunked feeding (see fuzz_flows_common.h); short inputs also check the
// address parser against inet_pton.
#include <arpa/inet.h>

#include "fuzz_flows_common.h"
#include "../src/flows/reader_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    // The hand-written address parser must accept exactly what inet_pton accepts.
    if (size < 48 && memchr(data, 0, size) == NULL) {   // inet_pton stops at a NUL
        char z[48];
        memcpy(z, data, size);
        z[size] = '\0';
        uint8_t want[16];
        struct in_addr v4;
        bool ok6 = inet_pton(AF_INET6, z, want) == 1;
        bool ok4 = !ok6 && inet_pton(AF_INET, z, &v4) == 1;
        if (ok4) {
            bw_ip mapped;
            bw_ip_from_v4(ntohl(v4.s_addr), &mapped);
            memcpy(want, mapped.b, 16);
        }
        bw_ip got;
        bool ok = bw_parse_ip((const char *)data, size, &got);
        if (ok != (ok4 || ok6) || (ok && memcmp(got.b, want, 16) != 0))
            abort();
    }
    return fuzz_flows(BW_FLOW_FORMAT_ZEEK_TSV, data, size);
}
