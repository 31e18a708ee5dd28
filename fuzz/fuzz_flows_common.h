// SPDX-License-Identifier: MIT
// Shared body of the text flow-reader fuzz targets (zeek_tsv, zeek_json, argus, nfdump):
// the input is parsed once in one piece and once split into chunks chosen by the input
// itself, with small limits so the limit paths are reached, and the two runs must agree
// on every count and on a digest of every record (chunking must never change results).
#ifndef BW_FUZZ_FLOWS_COMMON_H
#define BW_FUZZ_FLOWS_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "botwatch/flowread.h"

typedef struct fuzz_digest {
    uint64_t flows, hash;
} fuzz_digest;

static uint64_t fuzz_mix(uint64_t h, const void *p, size_t n)
{
    const unsigned char *u = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ u[i]) * 0x100000001b3ull;
    return h;
}

static bool fuzz_on_flow(const bw_flow *f, void *ctx)
{
    fuzz_digest *d = ctx;
    d->flows++;
    d->hash = fuzz_mix(d->hash, &f->ts, sizeof f->ts);
    d->hash = fuzz_mix(d->hash, &f->src, sizeof f->src);
    d->hash = fuzz_mix(d->hash, &f->dst, sizeof f->dst);
    d->hash = fuzz_mix(d->hash, &f->dport, sizeof f->dport);
    d->hash = fuzz_mix(d->hash, &f->state, sizeof f->state);
    d->hash = fuzz_mix(d->hash, &f->orig_bytes, sizeof f->orig_bytes);
    // Touch every byte of the borrowed slices so ASan checks they are in bounds.
    d->hash = fuzz_mix(d->hash, f->label.p, f->label.n);
    d->hash = fuzz_mix(d->hash, f->detailed_label.p, f->detailed_label.n);
    d->hash = fuzz_mix(d->hash, f->service.p, f->service.n);
    return true;
}

static void fuzz_run(bw_flow_format format, const uint8_t *data, size_t size, size_t chunk,
                     fuzz_digest *d, bw_flow_reader_stats *st)
{
    bw_flow_reader_limits lim;
    bw_flow_reader_limits_default(&lim);
    lim.max_line_len = 2048;
    lim.max_fields = 40;
    lim.max_json_depth = 8;
    bw_flow_reader *r = bw_flow_reader_new(&lim, fuzz_on_flow, d);
    if (!r)
        abort();
    bw_flow_reader_set_format(r, format);
    for (size_t off = 0; off < size; off += chunk)
        bw_flow_reader_feed(r, data + off, size - off < chunk ? size - off : chunk, NULL);
    bw_flow_reader_finish(r, NULL);
    *st = *bw_flow_reader_stats_get(r);
    bw_flow_reader_free(r);
}

static int fuzz_flows(bw_flow_format format, const uint8_t *data, size_t size)
{
    fuzz_digest one = { 0, 0 }, chunked = { 0, 0 };
    bw_flow_reader_stats st_one, st_chunked;
    fuzz_run(format, data, size, size ? size : 1, &one, &st_one);
    size_t chunk = size ? (size_t)data[0] % 61 + 1 : 1;
    fuzz_run(format, data, size, chunk, &chunked, &st_chunked);
    if (one.flows != chunked.flows || one.hash != chunked.hash || st_one.malformed != st_chunked.malformed
        || st_one.lines != st_chunked.lines)
        abort();   // chunk boundaries changed the result
    // Detection must not crash on arbitrary bytes either.
    (void)bw_flow_detect(data, size);
    return 0;
}

#endif
