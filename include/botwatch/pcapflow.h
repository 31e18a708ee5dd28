// SPDX-License-Identifier: MIT
// Flow assembly from packet captures (pcap and pcapng, through libpcap): packets are
// grouped into bidirectional flows by 5-tuple in a keyed-hash table, TCP state is tracked
// per direction and mapped onto Zeek's conn_state (S0 for unanswered SYNs, REJ for a RST
// answer, SF for an orderly close, ...), and flows end on idle or active timeout, on a new
// SYN after a close, when the table is full (oldest evicted, counted), or at the end.
// Records are emitted as flows end (so roughly in end-time order), then the rest in
// start-time order; each record's `line` is the number of its first packet.
#ifndef BOTWATCH_PCAPFLOW_H
#define BOTWATCH_PCAPFLOW_H

#include <stdint.h>
#include <stdio.h>

#include "botwatch/error.h"
#include "botwatch/flowread.h"

typedef struct bw_pcap_flow_limits {
    // A flow with no packet for this long ends. Default 60 s for UDP/ICMP/other (Zeek's
    // udp/icmp_inactivity_timeout) and 300 s for TCP (Zeek's tcp_inactivity_timeout).
    double idle_timeout;
    double tcp_idle_timeout;
    // A flow longer than this is cut and continued as a new record. Default 3600 s, so a
    // day-long tunnel still shows up hour by hour instead of only at the end.
    double active_timeout;
    // Most flows tracked at once: bounds memory (~150 bytes each) against floods of
    // spoofed sources. Default 1,000,000 (at most 2^30); when full the least recently seen
    // flow ends early.
    size_t max_flows;
} bw_pcap_flow_limits;

void bw_pcap_flow_limits_default(bw_pcap_flow_limits *limits);

typedef struct bw_pcap_flow_stats {
    uint64_t packets;          // packets read
    uint64_t ip_packets;       // IPv4/IPv6 packets assembled into flows
    uint64_t non_ip;           // ARP, LLC, ... (not flows)
    uint64_t malformed;        // truncated or inconsistent IP/TCP/UDP headers
    uint64_t fragments;        // non-first IP fragments (no ports: not counted in flows)
    uint64_t flows;            // records emitted
    uint64_t evicted;          // flows ended early because max_flows was reached
    uint64_t first_bad_packet; // 1-based number of the first malformed packet, 0 if none
    char first_bad_reason[BW_FLOW_REASON_SIZE];
} bw_pcap_flow_stats;

// Reads a whole capture from f (a file, pipe or fmemopen stream; libpcap takes it over and
// it is closed on return, whatever the outcome) and calls cb
// per flow. source names the input in messages. limits NULL = defaults. Returns BW_OK,
// BW_ERR_PARSE if libpcap cannot read the capture header (errbuf says why), BW_ERR_NOMEM.
// A capture truncated mid-packet ends the read with BW_OK: the flows so far are emitted
// and the cut is counted as one malformed packet (libpcap's reason in first_bad_reason).
bw_status bw_pcap_flows_read(FILE *f, const char *source, const bw_pcap_flow_limits *limits,
                             bw_flow_cb cb, void *ctx, bw_pcap_flow_stats *stats, char *errbuf);

// Same, from a path (not "-"; use bw_pcap_flows_read(stdin, ...)). BW_ERR_IO if unopenable.
bw_status bw_pcap_flows_read_path(const char *path, const bw_pcap_flow_limits *limits,
                                  bw_flow_cb cb, void *ctx, bw_pcap_flow_stats *stats, char *errbuf);

#endif
