// SPDX-License-Identifier: MIT
// libFuzzer target for bw_html: any bytes as an HTML document, rendered with small limits
// (so limit paths are reached) and with the defaults; every link slice is read back so
// ASan sees any slice that points outside the renderer's buffers.
#include <stddef.h>
#include <stdint.h>

#include "botwatch/html.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t touch(bw_slice s)
{
    size_t sum = 0;
    for (size_t i = 0; i < s.n; i++)
        sum += (unsigned char)s.p[i];
    return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bw_html_limits small = { .max_text_bytes = 64, .max_tag_bytes = 48, .max_attr_bytes = 16,
                             .max_links = 3, .max_link_text_bytes = 8 };
    const bw_html_limits *configs[2] = { &small, NULL };
    volatile size_t sink = 0;
    for (int c = 0; c < 2; c++) {
        bw_html_renderer *r = bw_html_renderer_new(configs[c]);
        if (!r)
            return 0;
        bw_html_doc doc;
        if (bw_html_render(r, bw_slice_make(data, size), &doc) == BW_OK) {
            sink += touch(doc.text);
            for (size_t i = 0; i < doc.link_count; i++)
                sink += touch(doc.links[i].target) + touch(doc.links[i].text);
        }
        bw_html_renderer_free(r);
    }
    (void)sink;
    return 0;
}
