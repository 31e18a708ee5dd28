// SPDX-License-Identifier: MIT
// Binary nfcapd/nfdump files, layout version 1 (nfdump 1.6, still what most archived
// NetFlow captures are), uncompressed. People keep NetFlow as these files, not as CSV,
// so reading them directly saves an `nfdump -o csv` round trip. The format is native
// byte order with 64-byte-aligned records: file header (140 bytes), stat record (136),
// then blocks {NumRecords, size, id, flags} of records {type, size}: extension maps
// (type 2) say which optional fields follow the common record (type 10) of each map id.
// Compressed (LZO/BZ2/LZ4) and layout-2 (nfdump 1.7) files are refused with the command
// that converts them. One block is buffered at a time (max_binary_block).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "botwatch/endian.h"
#include "reader_internal.h"

#define FILE_HEADER_SIZE 140
#define STAT_RECORD_SIZE 136
#define BLOCK_HEADER_SIZE 12
#define DATA_BLOCK_TYPE_2 2
#define EXTENSION_MAP_TYPE 2
#define COMMON_RECORD_TYPE 10
#define COMMON_RECORD_HEAD 32
#define FLAG_COMPRESSED (0x1u | 0x8u | 0x10u)   // LZO, BZ2, LZ4

enum { STAGE_FILE_HEADER, STAGE_STAT, STAGE_BLOCK_HEADER, STAGE_BLOCK, STAGE_SKIP };

// Sizes of nfdump 1.6 optional extensions by id (nffile.h extension_descriptor); ids 1-3
// are the implicit address/packet/byte fields; 0 ends a map. Beyond the table: unknown.
static const uint8_t extension_size[] = {
    0, 0, 0, 0, 4, 8, 4, 8, 4, 4, 16, 4, 16, 4, 4, 8, 4, 8, 4, 8, 16, 16, 40, 4, 16, 4, 8, 8,
};
#define EX_OUT_PKG_4 14
#define EX_OUT_PKG_8 15
#define EX_OUT_BYTES_4 16
#define EX_OUT_BYTES_8 17

void bw_nfdump_bin_free(bw_nfdump_bin_state *s)
{
    free(s->buf);
    s->buf = NULL;
    s->cap = 0;
}


static void extension_map(bw_nfdump_bin_state *s, const uint8_t *rec, size_t size)
{
    if (size < 8)
        return;
    uint16_t id = bw_le16(rec + 4);
    if (id >= sizeof s->maps / sizeof s->maps[0])
        return;
    s->maps[id].valid = true;
    s->maps[id].out_pkts_off = s->maps[id].out_bytes_off = -1;
    int32_t off = 0;
    for (size_t i = 8; i + 2 <= size; i += 2) {
        uint16_t ex = bw_le16(rec + i);
        if (ex == 0)
            break;
        if (ex >= sizeof extension_size)
            break;   // unknown extension: offsets after it are unknown
        if (ex == EX_OUT_PKG_4 || ex == EX_OUT_PKG_8) {
            s->maps[id].out_pkts_off = off;
            s->maps[id].out_pkts_len = ex == EX_OUT_PKG_4 ? 4 : 8;
        } else if (ex == EX_OUT_BYTES_4 || ex == EX_OUT_BYTES_8) {
            s->maps[id].out_bytes_off = off;
            s->maps[id].out_bytes_len = ex == EX_OUT_BYTES_4 ? 4 : 8;
        }
        off += extension_size[ex];
    }
}

static void ip_from_v6_words(const uint8_t *p, bw_ip *out)
{
    // Stored as two host-order (little-endian) uint64: high half first.
    for (int half = 0; half < 2; half++)
        for (int i = 0; i < 8; i++)
            out->b[half * 8 + i] = p[half * 8 + 7 - i];
}

static void common_record(bw_flow_reader *r, const uint8_t *rec, size_t size)
{
    bw_nfdump_bin_state *s = &r->nfbin;
    if (size < COMMON_RECORD_HEAD + 8 + 8) {
        bw_flows_bad_line(r, "nfdump: common record too short");
        return;
    }
    uint16_t flags = bw_le16(rec + 4);
    uint16_t map_id = bw_le16(rec + 6);
    size_t addr_len = (flags & 1) ? 32 : 8;
    size_t pkts_len = (flags & 2) ? 8 : 4;
    size_t bytes_len = (flags & 4) ? 8 : 4;
    size_t base = COMMON_RECORD_HEAD + addr_len + pkts_len + bytes_len;
    if (size < base) {
        bw_flows_bad_line(r, "nfdump: common record too short");
        return;
    }
    bw_flow flow;
    memset(&flow, 0, sizeof flow);
    uint16_t msec_first = bw_le16(rec + 8), msec_last = bw_le16(rec + 10);
    uint32_t first = bw_le32(rec + 12), last = bw_le32(rec + 16);
    flow.ts = (double)first + msec_first / 1000.0;
    double end = (double)last + msec_last / 1000.0;
    flow.duration = end > flow.ts ? end - flow.ts : 0;
    uint8_t tcp_flags = rec[21];
    flow.proto = rec[22];
    flow.sport = bw_le16(rec + 24);
    flow.dport = bw_le16(rec + 26);
    const uint8_t *d = rec + COMMON_RECORD_HEAD;
    if (flags & 1) {
        ip_from_v6_words(d, &flow.src);
        ip_from_v6_words(d + 16, &flow.dst);
    } else {
        bw_ip_from_v4(bw_le32(d), &flow.src);
        bw_ip_from_v4(bw_le32(d + 4), &flow.dst);
    }
    d += addr_len;
    flow.orig_pkts = pkts_len == 8 ? bw_le64(d) : bw_le32(d);
    d += pkts_len;
    flow.orig_bytes = bytes_len == 8 ? bw_le64(d) : bw_le32(d);
    if (map_id < sizeof s->maps / sizeof s->maps[0] && s->maps[map_id].valid) {
        int32_t po = s->maps[map_id].out_pkts_off, bo = s->maps[map_id].out_bytes_off;
        if (po >= 0 && base + (size_t)po + s->maps[map_id].out_pkts_len <= size)
            flow.resp_pkts = s->maps[map_id].out_pkts_len == 8 ? bw_le64(rec + base + po) : bw_le32(rec + base + po);
        if (bo >= 0 && base + (size_t)bo + s->maps[map_id].out_bytes_len <= size)
            flow.resp_bytes = s->maps[map_id].out_bytes_len == 8 ? bw_le64(rec + base + bo) : bw_le32(rec + base + bo);
    }
    flow.state = bw_nfdump_state_bits(tcp_flags, flow.proto, flow.resp_pkts);
    bw_flows_emit(r, &flow);
}

static void walk_block(bw_flow_reader *r, const uint8_t *p, size_t size)
{
    size_t off = 0;
    while (off + 4 <= size && !r->stopped) {
        uint16_t type = bw_le16(p + off), rsize = bw_le16(p + off + 2);
        r->stats.lines++;
        if (rsize < 4 || off + rsize > size) {
            bw_flows_bad_line(r, "nfdump: bad record size (rest of block skipped)");
            return;
        }
        if (type == COMMON_RECORD_TYPE)
            common_record(r, p + off, rsize);
        else if (type == EXTENSION_MAP_TYPE) {
            extension_map(&r->nfbin, p + off, rsize);
            r->stats.headers++;
        } else
            r->stats.skipped++;   // exporter, sampler and statistics records
        off += rsize;
    }
    if (off < size && !r->stopped) {
        r->stats.lines++;
        bw_flows_bad_line(r, "nfdump: trailing bytes in block");
    }
}

static bool reserve(bw_nfdump_bin_state *s, size_t want)
{
    if (want <= s->cap)
        return true;
    uint8_t *grown = realloc(s->buf, want);
    if (!grown)
        return false;
    s->buf = grown;
    s->cap = want;
    return true;
}

bool bw_nfdump_bin_feed(bw_flow_reader *r, const uint8_t *p, size_t n, const char **reason)
{
    bw_nfdump_bin_state *s = &r->nfbin;
    if (s->want == 0) {
        s->stage = STAGE_FILE_HEADER;
        s->want = FILE_HEADER_SIZE;
        if (!reserve(s, 4096)) {
            *reason = "out of memory";
            return false;
        }
    }
    while (n > 0 && !r->stopped) {
        size_t take = s->want - s->have < n ? s->want - s->have : n;
        if (s->stage == STAGE_SKIP) {
            s->have += take;
        } else {
            memcpy(s->buf + s->have, p, take);
            s->have += take;
        }
        p += take;
        n -= take;
        if (s->have < s->want)
            break;
        s->have = 0;
        switch (s->stage) {
        case STAGE_FILE_HEADER: {
            uint16_t magic = bw_le16(s->buf), version = bw_le16(s->buf + 2);
            uint32_t flags = bw_le32(s->buf + 4);
            if (magic != 0xA50C) {
                *reason = "not a little-endian nfdump file";
                return false;
            }
            if (version != 1) {
                *reason = "nfdump file layout 2 (nfdump 1.7) is not read: convert it with `nfdump -r FILE -o csv`";
                return false;
            }
            if (flags & FLAG_COMPRESSED) {
                *reason = "compressed nfdump file: convert it with `nfdump -r FILE -o csv` (or `nfdump -J 0`)";
                return false;
            }
            r->stats.headers++;
            s->stage = STAGE_STAT;
            s->want = STAT_RECORD_SIZE;
            break;
        }
        case STAGE_STAT:
            s->stage = STAGE_BLOCK_HEADER;
            s->want = BLOCK_HEADER_SIZE;
            break;
        case STAGE_BLOCK_HEADER: {
            uint32_t size = bw_le32(s->buf + 4);
            uint16_t id = bw_le16(s->buf + 8);
            s->block_records = bw_le32(s->buf);
            if (size == 0) {
                s->want = BLOCK_HEADER_SIZE;
                break;
            }
            if (id != DATA_BLOCK_TYPE_2 || size > r->limits.max_binary_block) {
                if (id == DATA_BLOCK_TYPE_2) {
                    r->stats.lines++;
                    r->stats.too_long++;
                    bw_flows_bad_line(r, "nfdump: data block larger than max_binary_block (skipped)");
                }
                s->stage = STAGE_SKIP;
                s->want = size;
                break;
            }
            if (!reserve(s, size)) {
                *reason = "out of memory for an nfdump block";
                return false;
            }
            s->stage = STAGE_BLOCK;
            s->want = size;
            break;
        }
        case STAGE_BLOCK:
            walk_block(r, s->buf, s->want);
            s->stage = STAGE_BLOCK_HEADER;
            s->want = BLOCK_HEADER_SIZE;
            break;
        case STAGE_SKIP:
            s->stage = STAGE_BLOCK_HEADER;
            s->want = BLOCK_HEADER_SIZE;
            break;
        default:
            break;
        }
    }
    return true;
}

void bw_nfdump_bin_finish(bw_flow_reader *r)
{
    bw_nfdump_bin_state *s = &r->nfbin;
    if (s->have > 0 || (s->stage == STAGE_FILE_HEADER && s->want > 0) || s->stage == STAGE_STAT) {
        r->stats.lines++;
        bw_flows_bad_line(r, "nfdump: file ends inside a header or block");
    }
}
