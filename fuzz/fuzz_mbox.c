// SPDX-License-Identifier: MIT
// libFuzzer target for the mbox splitter. The input is split twice: whole, and in chunks
// whose sizes come from the input's first byte, and the two runs must yield the same
// messages (bytes, offsets, envelopes, flags): chunk boundaries are where a push parser
// goes wrong. Small limits make truncation and envelope caps reachable.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "botwatch/intake.h"

typedef struct digest {
    size_t messages;
    uint64_t bytes, offsets, flags, envelope;
    uint64_t hash;  // FNV-1a over every message's bytes and envelope, in order
} digest;

static void mix(digest *d, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        d->hash = (d->hash ^ b[i]) * 1099511628211ull;
}

static void take(digest *d, const bw_intake_message *m, size_t input_size, const bw_intake_limits *limits)
{
    if (m->bytes.n > limits->max_message_bytes || m->bytes.n > input_size || m->offset > input_size ||
        m->original_bytes < m->bytes.n || m->envelope_sender.n + m->envelope_date.n > limits->max_envelope_bytes)
        abort();
    if (d->messages && m->offset < d->offsets)
        abort();  // offsets only grow
    d->messages++;
    d->bytes += m->bytes.n;
    d->offsets = m->offset;
    d->flags = d->flags * 31 + m->flags;
    d->envelope += m->envelope_sender.n + m->envelope_date.n + (uint64_t)m->has_envelope_time;
    mix(d, m->bytes.p, m->bytes.n);
    mix(d, m->envelope_sender.p, m->envelope_sender.n);
    mix(d, m->envelope_date.p, m->envelope_date.n);
}

static void split(const uint8_t *data, size_t size, size_t chunk, const bw_intake_limits *limits, digest *d)
{
    memset(d, 0, sizeof *d);
    d->hash = 1469598103934665603ull;
    bw_mbox_splitter *sp = bw_mbox_splitter_new(limits);
    if (!sp)
        return;
    size_t pos = 0;
    bool ready;
    while (pos < size) {
        size_t len = size - pos < chunk ? size - pos : chunk, used;
        if (bw_mbox_splitter_feed(sp, data + pos, len, &used, &ready) != BW_OK)
            abort();
        pos += used;
        if (ready)
            take(d, bw_mbox_splitter_message(sp), size, limits);
    }
    for (;;) {
        if (bw_mbox_splitter_finish(sp, &ready) != BW_OK)
            abort();
        if (!ready)
            break;
        take(d, bw_mbox_splitter_message(sp), size, limits);
    }
    if (bw_mbox_splitter_offset(sp) != size)
        abort();
    bw_mbox_splitter_free(sp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    bw_intake_limits limits;
    bw_intake_limits_default(&limits);
    limits.max_message_bytes = 4096;
    limits.max_envelope_bytes = 64;
    limits.mbox_split_any_line = data[0] & 0x80;
    size_t chunk = (size_t)(data[0] & 0x7f) % 17 + 1;
    digest whole, chunked;
    split(data + 1, size - 1, size, &limits, &whole);
    split(data + 1, size - 1, chunk, &limits, &chunked);
    if (memcmp(&whole, &chunked, sizeof whole) != 0)
        abort();  // chunking changed the result
    return 0;
}
