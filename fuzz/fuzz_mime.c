// SPDX-License-Identifier: MIT
// libFuzzer target for the MIME parser (src/mime). The first byte picks how the rest is
// fed (one chunk, or chunks of 1..127 bytes, so splits land everywhere) and whether tight
// limits are used (so every limit path is reached); the target then walks the whole tree
// and reads every byte the parser exposes, so a dangling slice is an ASan report. The same
// bytes are then parsed in place (bw_mime_parse, no copy) by a second parser, and the two
// views must agree.
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "botwatch/mime.h"

static volatile unsigned sink;

static void touch(bw_slice s)
{
    unsigned sum = 0;
    for (size_t i = 0; i < s.n; i++)
        sum += (unsigned char)s.p[i];
    sink += sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t mode = data[0];
    data++;
    size--;
    bw_mime_limits limits;
    bw_mime_limits_default(&limits);
    if (mode & 0x80) {
        limits.max_message_bytes = 4096;
        limits.max_header_bytes = 64;
        limits.max_header_count = 8;
        limits.max_line_bytes = 100;
        limits.max_depth = 3;
        limits.max_parts = 6;
        limits.max_boundary_bytes = 8;
        limits.max_decoded_bytes = 256;
    }
    bw_mime_parser *parser = bw_mime_parser_new(&limits);
    if (!parser)
        return 0;
    size_t chunk = (mode & 0x7F) ? (size_t)(mode & 0x7F) : size;
    for (size_t at = 0; at < size;) {
        size_t n = size - at < chunk ? size - at : chunk;
        if (bw_mime_parser_feed(parser, data + at, n) != BW_OK)
            break;
        at += n;
    }
    const bw_message *m;
    if (bw_mime_parser_finish(parser, &m) == BW_OK) {
        touch(m->raw);
        touch(m->subject);
        touch(m->from);
        touch(m->message_id);
        for (size_t i = 0; i < m->header_count; i++) {
            touch(m->headers[i].name);
            touch(m->headers[i].value);
        }
        for (size_t i = 0; i < m->part_count; i++) {
            const bw_part *p = &m->parts[i];
            touch(p->content_type);
            touch(p->charset);
            touch(p->boundary);
            touch(p->transfer_encoding);
            touch(p->disposition);
            touch(p->filename);
            touch(p->name);
            touch(p->decoded);
            touch(p->text);
            if (p->body_offset + p->body_length > m->raw.n)
                __builtin_trap();
            if (p->parent >= (int)i)
                __builtin_trap();
            for (size_t h = 0; h < p->header_count; h++)
                touch(p->headers[h].value);
        }
        for (int bit = 0; bit < BW_ANOM_COUNT; bit++)
            if ((m->anomalies >> bit) & 1)
                sink += (unsigned)strlen(bw_mime_anomaly_name(1ull << bit));
        const bw_header *date = bw_message_header(m, "date", 0);
        time_t t;
        if (date && bw_mime_parse_date(date->value, &t))
            sink += (unsigned)t;
        // In place must see exactly what the fed copy saw (the feed path keeps at most
        // max_message_bytes, the in-place path looks at no more than that).
        bw_mime_parser *direct = bw_mime_parser_new(&limits);
        const bw_message *d;
        if (direct && bw_mime_parse(direct, data, size, &d) == BW_OK) {
            if (d->raw.n != m->raw.n || d->part_count != m->part_count || d->header_count != m->header_count ||
                d->anomalies != m->anomalies || d->total_bytes != m->total_bytes ||
                d->subject.n != m->subject.n || (d->subject.n && memcmp(d->subject.p, m->subject.p, d->subject.n)))
                __builtin_trap();
            for (size_t i = 0; i < d->part_count; i++)
                if (d->parts[i].decoded.n != m->parts[i].decoded.n || d->parts[i].text.n != m->parts[i].text.n ||
                    d->parts[i].body_offset != m->parts[i].body_offset)
                    __builtin_trap();
        }
        bw_mime_parser_free(direct);
    }
    // The standalone header decoder, on the raw input as one header value.
    bw_buf out = BW_BUF_INIT;
    uint64_t flags = 0;
    if (size < 4096 && bw_mime_decode_header(bw_slice_make(data, size), &out, &flags) == BW_OK)
        touch(bw_buf_slice(&out));
    bw_buf_free(&out);
    bw_mime_parser_free(parser);
    return 0;
}
