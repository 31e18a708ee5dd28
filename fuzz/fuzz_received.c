// SPDX-License-Identifier: MIT
// libFuzzer target for bw_received: each input line is one Received value; the hops are
// walked with inferred trust and with a configured list, as bw_mail does. Times come from
// the input so the time checks run without the date parser.
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "botwatch/received.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HOPS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bw_received_hop hops[MAX_HOPS];
    size_t count = 0;
    const char *p = (const char *)data;
    size_t start = 0;
    for (size_t i = 0; i <= size && count < MAX_HOPS; i++) {
        if (i == size || p[i] == '\n') {
            bw_received_parse(bw_slice_make(p + start, i - start), &hops[count]);
            hops[count].has_time = (i - start) % 2 == 0;
            hops[count].time = (time_t)(i * 1000);
            count++;
            start = i + 1;
        }
    }
    bw_received_find_sender(NULL, hops, count);
    static const char *const entries[] = { "10.0.0.0/8", ".example.net", "mx.example.org", "2001:db8::/32" };
    char errbuf[BW_ERRBUF_SIZE];
    bw_received_trust *trust = bw_received_trust_new(entries, 4, errbuf);
    if (trust) {
        bw_received_find_sender(trust, hops, count);
        bw_received_trust_free(trust);
    }
    return 0;
}
