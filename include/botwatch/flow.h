// SPDX-License-Identifier: MIT
// Flow records and the streaming flow-log readers. A reader is pushed bytes (from a file,
// a decompressor or stdin) and emits bw_flow records through a callback; the format is
// detected from the first bytes (Zeek TSV, Zeek JSON lines, Argus binetflow CSV, nfdump
// CSV; pcap/pcapng go through bw_pcap_flows in pcapflow.h). Malformed lines are counted
// and reported with their line number, never fatal. Memory is bounded by the longest
// allowed line, whatever the input size.
#ifndef BOTWATCH_FLOW_H
#define BOTWATCH_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "botwatch/error.h"
#include "botwatch/ip.h"
#include "botwatch/str.h"

// Connection outcome, in Zeek's conn_state terms (other formats are mapped onto them).
typedef enum bw_conn_state {
    BW_CONN_UNKNOWN = 0,
    BW_CONN_S0,     // attempt seen, no reply (a zombie calling a dead controller)
    BW_CONN_S1,     // established, not terminated
    BW_CONN_SF,     // normal establishment and termination
    BW_CONN_REJ,    // attempt rejected
    BW_CONN_S2, BW_CONN_S3, BW_CONN_RSTO, BW_CONN_RSTR, BW_CONN_RSTOS0, BW_CONN_RSTRH,
    BW_CONN_SH, BW_CONN_SHR, BW_CONN_OTH,
} bw_conn_state;

typedef struct bw_flow {
    double ts;                  // start, seconds since the Unix epoch
    double duration;            // seconds; 0 if unknown
    bw_ip src, dst;             // originator and responder
    uint16_t sport, dport;
    uint8_t proto;              // IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, ...
    bw_conn_state state;
    uint64_t orig_bytes, resp_bytes, orig_pkts, resp_pkts;
    bw_slice service;           // Zeek service / app protocol, if given
    bw_slice label;             // passthrough label column (Stratosphere label/detailed-label)
    bw_slice detailed_label;    // Stratosphere detailed-label (e.g. "C&C-HeartBeat"), if given
    uint64_t line;              // 1-based line (or packet) number in its input
} bw_flow;

// Whether the state is a failed attempt (S0, REJ, RSTOS0, RSTRH, SH, SHR, OTH w/o reply).
bool bw_conn_state_failed(bw_conn_state state);
const char *bw_conn_state_name(bw_conn_state state);

#endif
