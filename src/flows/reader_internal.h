// SPDX-License-Identifier: MIT
// Private to the flows module: the reader state shared by the line framer (reader.c) and
// the per-format line parsers (zeek_tsv.c, zeek_json.c, csv_formats.c), plus the fast
// field parsers (numbers, timestamps, addresses) they all use. Not installed.
#ifndef BW_FLOWS_READER_INTERNAL_H
#define BW_FLOWS_READER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "botwatch/flowread.h"

// Which bw_flow member a column feeds. Columns we do not use are BW_COL_IGNORE.
typedef enum bw_column {
    BW_COL_IGNORE = 0,
    BW_COL_TS, BW_COL_ORIG_H, BW_COL_ORIG_P, BW_COL_RESP_H, BW_COL_RESP_P, BW_COL_PROTO,
    BW_COL_SERVICE, BW_COL_DURATION, BW_COL_ORIG_BYTES, BW_COL_RESP_BYTES, BW_COL_STATE,
    BW_COL_ORIG_PKTS, BW_COL_RESP_PKTS, BW_COL_LABEL, BW_COL_DETAILED_LABEL,
    // Stratosphere's IoT-23 "tunnel_parents   label   detailed-label": one tab column whose
    // value holds the three, separated by runs of spaces.
    BW_COL_TUNNEL_LABEL_COMBO,
    // CSV formats only
    BW_COL_END_TS,       // nfdump te
    BW_COL_TOT_PKTS, BW_COL_TOT_BYTES, BW_COL_DIR, BW_COL_TCP_FLAGS,
    // Suricata EVE JSON flow events
    BW_COL_EVENT_TYPE, BW_COL_TCP_FLAGS_TS, BW_COL_TCP_FLAGS_TC,
    BW_COL_COUNT_
} bw_column;

typedef struct bw_zeek_tsv_state {
    char separator;            // from #separator (default tab)
    char set_separator;
    char unset_field[16];      // "-"
    size_t unset_len;
    char empty_field[16];      // "(empty)"
    size_t empty_len;
    bool have_fields;          // a #fields line was seen for the current header
    bool is_conn;              // #path conn (or no #path)
    bool warned_no_fields;
    size_t ncols;
    uint8_t *cols;             // ncols bw_column values
} bw_zeek_tsv_state;

typedef struct bw_csv_state {
    char separator;            // ',' or '\t'
    bool have_header;
    bool in_summary;           // nfdump: after "Summary" everything is not flows
    size_t ncols;
    uint8_t *cols;
} bw_csv_state;

// Binary nfdump (layout 1): a byte-level state machine over file header, stat record,
// then blocks, each buffered whole (at most max_binary_block bytes) and then walked.
typedef struct bw_nfdump_bin_state {
    uint8_t *buf;
    size_t have, want, cap;
    int stage;                 // reading: 0 file header, 1 stat record, 2 block header, 3 block body
    uint32_t block_records;
    uint32_t blocks_left;
    // extension maps by id: offsets of out packets/bytes in the extension area (or -1)
    struct { int32_t out_pkts_off, out_bytes_off; uint8_t out_pkts_len, out_bytes_len; bool valid; } maps[256];
} bw_nfdump_bin_state;

struct bw_flow_reader {
    bw_flow_reader_limits limits;
    bw_flow_cb cb;
    void *cb_ctx;
    bw_flow_error_cb err_cb;
    void *err_ctx;
    char *source;
    bw_flow_format format;
    bool format_forced;
    bool stopped;
    bool finished;
    bool failed;               // unsupported input: ignore the rest
    char fail_text[BW_ERRBUF_SIZE];
    bool skipping_long_line;   // discarding up to the next LF after an over-long line
    char head[4];              // first bytes, held until the binary magics can be checked
    size_t head_len;
    bool head_done;
    char *pending;             // partial line carried between feeds (max_line_len bytes)
    size_t pending_len;
    bw_flow_reader_stats stats;
    bw_zeek_tsv_state tsv;
    bw_csv_state csv;
    bw_nfdump_bin_state nfbin;
    const char **field_p;      // scratch for split fields (max_fields entries)
    size_t *field_n;
};

// Records a malformed line (counts it, keeps the first reason, calls the error callback).
void bw_flows_bad_line(bw_flow_reader *r, const char *reason);
// Passes a record to the callback; false if the callback asked to stop.
bool bw_flows_emit(bw_flow_reader *r, bw_flow *flow);

// Per-format line handlers: p/n is one line without its LF (a trailing CR is stripped).
void bw_zeek_tsv_line(bw_flow_reader *r, const char *p, size_t n);
void bw_zeek_json_line(bw_flow_reader *r, const char *p, size_t n);
void bw_argus_line(bw_flow_reader *r, const char *p, size_t n);
void bw_nfdump_line(bw_flow_reader *r, const char *p, size_t n);
void bw_zeek_tsv_free(bw_zeek_tsv_state *s);
// Binary nfdump: consumes n bytes; returns false (with reason) if the file cannot be read
// at all (bad header, compressed, other layout), which stops the reader.
bool bw_nfdump_bin_feed(bw_flow_reader *r, const uint8_t *p, size_t n, const char **reason);
// At the end of input: counts a truncated trailing block or record as malformed.
void bw_nfdump_bin_finish(bw_flow_reader *r);
void bw_nfdump_bin_free(bw_nfdump_bin_state *s);
// Which bw_flow member a Zeek field name ("id.orig_h", "label", ...) feeds.
uint8_t bw_zeek_column(const char *p, size_t n);
void bw_csv_free(bw_csv_state *s);

// ---- fast field parsers (parse.c); all take (pointer, length), none needs a NUL ----

// Unsigned decimal, at most 20 digits, no sign; false on anything else or overflow.
bool bw_parse_u64(const char *p, size_t n, uint64_t *out);
bool bw_parse_u16(const char *p, size_t n, uint16_t *out);
// Non-negative decimal with an optional fraction and exponent ("1677024003.714845",
// "9.5e-05"). Plain digits.digits (the Zeek case) are parsed in fixed point without
// strtod; other shapes fall back to strtod on a bounded copy.
bool bw_parse_seconds(const char *p, size_t n, double *out);
// Dotted IPv4 parsed inline; IPv6 through bw_ip_parse. False if neither.
bool bw_parse_ip(const char *p, size_t n, bw_ip *out);
// "tcp"/"udp"/"icmp"/... (any case) or a protocol number; false if unknown.
bool bw_parse_proto(const char *p, size_t n, uint8_t *out);
// Zeek conn_state name (S0, SF, ...); BW_CONN_UNKNOWN if not one.
bw_conn_state bw_parse_conn_state(const char *p, size_t n);
// "YYYY/MM/DD hh:mm:ss[.frac]" or "YYYY-MM-DD hh:mm:ss[.frac]" (taken as UTC), ISO 8601
// with 'T' and an optional 'Z' or UTC offset (+0200, +02:00), or plain epoch seconds.
bool bw_parse_datetime(const char *p, size_t n, double *out);
// Zeek state from the TCP flags each side sent over the whole flow (bit values as on the
// wire: FIN 1, SYN 2, RST 4, ACK 16), for formats that give flags per direction.
bw_conn_state bw_tcp_state_from_bits(uint8_t orig, uint8_t resp);
// Maps an Argus State string ("S_RA", "FSPA_FSPA", "CON", "INT", ...) onto Zeek states.
bw_conn_state bw_argus_state(const char *p, size_t n, uint8_t proto);
// Maps cumulated nfdump TCP flags ("...AP.SF", or the raw bits) onto Zeek states.
bw_conn_state bw_nfdump_state(const char *p, size_t n, uint8_t proto, uint64_t out_pkts);
bw_conn_state bw_nfdump_state_bits(uint8_t flag_bits, uint8_t proto, uint64_t out_pkts);

#endif
