// SPDX-License-Identifier: MIT
// libFuzzer target for bw_url: the input as plain text and as one HTML attribute value,
// into a set with small limits (count and length limits reached) that is reused across
// inputs like bw_mail reuses it across messages.
#include <stddef.h>
#include <stdint.h>

#include "botwatch/url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bw_url_set *set;   // reachable for the process lifetime: psl loads once
    if (!set) {
        char errbuf[BW_ERRBUF_SIZE];
        bw_url_limits limits = { .max_urls = 8, .max_url_bytes = 96 };
        set = bw_url_set_new(&limits, errbuf);
        if (!set)
            return 0;
    }
    bw_url_set_reset(set);
    if (bw_url_scan_text(set, bw_slice_make(data, size)) != BW_OK)
        return 0;
    if (bw_url_add_html_link(set, bw_slice_make(data, size), size % 2) != BW_OK)
        return 0;
    size_t count;
    const bw_url *urls = bw_url_set_items(set, &count);
    volatile size_t sink = 0;
    for (size_t i = 0; i < count; i++) {
        for (size_t k = 0; k < urls[i].url.n; k++)
            sink += (unsigned char)urls[i].url.p[k];
        sink += urls[i].host.n + urls[i].domain.n;
        if (urls[i].domain.n)
            sink += (unsigned char)urls[i].domain.p[urls[i].domain.n - 1];
    }
    (void)sink;
    return 0;
}
