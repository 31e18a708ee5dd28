// SPDX-License-Identifier: MIT
// Streaming flow-log readers (issue 4). A bw_flow_reader is pushed bytes in chunks of any
// size and calls back once per flow record; the format (Zeek TSV, JSON lines from Zeek or
// Suricata EVE, Argus binetflow CSV, nfdump CSV or binary nfcapd files) is detected from
// the first bytes. Memory is bounded by max_line_len (max_binary_block for nfcapd)
// whatever the input size. Malformed lines are counted, reported through an optional
// error callback as "source:line: reason", and never stop the stream.
// bw_flow_read_file() wraps it for paths and stdin, with transparent gzip and pcap.
// Formats, detection, state mapping and limits: docs/flows-formats.md.
#ifndef BOTWATCH_FLOWREAD_H
#define BOTWATCH_FLOWREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "botwatch/error.h"
#include "botwatch/flow.h"

typedef enum bw_flow_format {
    BW_FLOW_FORMAT_UNKNOWN = 0,   // not yet detected (or empty input)
    BW_FLOW_FORMAT_ZEEK_TSV,
    BW_FLOW_FORMAT_ZEEK_JSON,     // JSON lines: Zeek conn logs or Suricata EVE flow events
    BW_FLOW_FORMAT_ARGUS,         // Argus ra/binetflow CSV (CTU-13), comma or tab separated
    BW_FLOW_FORMAT_NFDUMP,        // nfdump -o csv
    BW_FLOW_FORMAT_PCAP,          // pcap/pcapng, only through bw_flow_read_file / pcapflow.h
    BW_FLOW_FORMAT_NFDUMP_BINARY, // nfcapd/nfdump 1.6 files (layout 1, uncompressed)
} bw_flow_format;

const char *bw_flow_format_name(bw_flow_format format);

// Every limit is applied per input stream. Defaults by bw_flow_reader_limits_default().
typedef struct bw_flow_reader_limits {
    // Longest line accepted, LF excluded. Default 64 KiB: a real conn.log line is ~200-400
    // bytes, Zeek JSON with many extra fields < 4 KiB; 64 KiB leaves room for long
    // tunnel_parents sets while bounding what one hostile line can make us hold.
    size_t max_line_len;
    // Most columns in a TSV/CSV header. Default 512 (conn.log has 21-30).
    size_t max_fields;
    // Deepest JSON nesting skipped inside a Zeek JSON line. Default 32.
    unsigned max_json_depth;
    // Largest data block accepted in a binary nfdump file. Default 16 MiB: nfdump 1.6
    // writes blocks of at most 5 MiB (BUFFSIZE); the reader holds one block at a time.
    size_t max_binary_block;
} bw_flow_reader_limits;

void bw_flow_reader_limits_default(bw_flow_reader_limits *limits);

// Called once per flow. The record and the slices in it (service, labels) are valid only
// during the call. Return true to go on, false to stop the reader (later feeds are ignored).
typedef bool (*bw_flow_cb)(const bw_flow *flow, void *ctx);
// Optional: called for every malformed line, with source, 1-based line and a short reason.
typedef void (*bw_flow_error_cb)(const char *source, uint64_t line, const char *reason, void *ctx);

#define BW_FLOW_REASON_SIZE 96

typedef struct bw_flow_reader_stats {
    uint64_t lines;           // lines seen (headers, comments and blank lines included;
                              // records for nfcapd files, packets for pcap)
    uint64_t flows;           // records passed to the callback
    uint64_t malformed;       // lines rejected (bad field, wrong column count, too long, NUL...)
    uint64_t too_long;        // of which longer than max_line_len
    uint64_t skipped;         // well-formed lines that are not flows (non-conn Zeek logs,
                              // non-IP Argus records, nfdump summary lines, non-flow
                              // Suricata events, nfcapd exporter/statistics records)
    uint64_t headers;         // header/comment lines (Zeek #..., CSV header rows)
    uint64_t bytes;           // bytes fed
    uint64_t first_bad_line;  // 0 if none
    char first_bad_reason[BW_FLOW_REASON_SIZE];
    bw_flow_format format;    // what was detected (for pcap: lines = packets, skipped =
                              // non-IP packets and non-first fragments)
} bw_flow_reader_stats;

typedef struct bw_flow_reader bw_flow_reader;

// limits NULL means defaults. NULL on allocation failure or an invalid limit (0).
bw_flow_reader *bw_flow_reader_new(const bw_flow_reader_limits *limits, bw_flow_cb cb, void *ctx);
// Name used in messages ("conn.log:12: bad id.orig_h"); copied. Default "-".
void bw_flow_reader_set_source(bw_flow_reader *reader, const char *source);
void bw_flow_reader_set_error_cb(bw_flow_reader *reader, bw_flow_error_cb cb, void *ctx);
// Forces a format instead of detecting it (must be called before the first feed).
void bw_flow_reader_set_format(bw_flow_reader *reader, bw_flow_format format);

// Pushes n bytes. BW_OK even when lines were malformed (see stats). BW_ERR_UNSUPPORTED
// (with errbuf) when the first bytes are no known format (pcap goes to pcapflow.h;
// compressed or layout-2 nfdump files are refused); the reader then ignores further
// input. For binary nfdump, "lines" are records. errbuf may be NULL.
bw_status bw_flow_reader_feed(bw_flow_reader *reader, const void *bytes, size_t n, char *errbuf);
// Ends the stream: a last line without LF is parsed. Later feeds are ignored.
bw_status bw_flow_reader_finish(bw_flow_reader *reader, char *errbuf);

const bw_flow_reader_stats *bw_flow_reader_stats_get(const bw_flow_reader *reader);
bw_flow_format bw_flow_reader_format(const bw_flow_reader *reader);
// True once the flow callback returned false.
bool bw_flow_reader_stopped(const bw_flow_reader *reader);
void bw_flow_reader_free(bw_flow_reader *reader);

// Which format these first bytes look like (leading whitespace skipped); UNKNOWN if none.
// Gzip is not a flow format: the caller decompresses first (bw_flow_read_file does).
bw_flow_format bw_flow_detect(const void *bytes, size_t n);

// Reads path ("-" = stdin) to the end: gzip is decompressed transparently (streaming,
// bounded memory), pcap/pcapng is assembled into flows (pcapflow.h, options->pcap_limits),
// the other formats go through a bw_flow_reader. stats (may be NULL) receives the counts;
// on_error (may be NULL) gets every malformed line (for pcap: the first malformed
// packet). Returns BW_ERR_IO if the file cannot be read or its gzip data ends early (the
// flows before the cut were delivered), BW_ERR_UNSUPPORTED for an unknown format;
// malformed lines are not errors.
typedef struct bw_flow_read_options {
    const bw_flow_reader_limits *limits;  // NULL = defaults
    bw_flow_error_cb on_error;            // may be NULL
    void *error_ctx;
    size_t chunk_size;                    // read size; 0 = 256 KiB
    const struct bw_pcap_flow_limits *pcap_limits;  // NULL = defaults (pcapflow.h)
} bw_flow_read_options;

bw_status bw_flow_read_file(const char *path, const bw_flow_read_options *options,
                            bw_flow_cb cb, void *ctx, bw_flow_reader_stats *stats, char *errbuf);

#endif
