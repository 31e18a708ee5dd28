// SPDX-License-Identifier: MIT
// Flow analyses (issue 4): beacons, C&C candidates, P2P bots and spam zombies found in flow
// records. A bw_flowscore engine is fed bw_flow records one at a time from any reader (so
// input size is unbounded), keeps compact per-pair state in keyed hash tables under named
// memory limits, and scores everything at bw_flowscore_finish(). Results are plain arrays
// owned by the engine. See docs/flows.md for every metric, formula and default.
#ifndef BOTWATCH_FLOWSCORE_H
#define BOTWATCH_FLOWSCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "botwatch/error.h"
#include "botwatch/flow.h"
#include "botwatch/ip.h"
#include "botwatch/networks.h"

// Memory limits: what an attacker-sized (or simply huge) log can make the engine hold.
typedef struct bw_flowscore_limits {
    // Distinct (src, dst, dport, proto) pairs tracked. Default 4,000,000 (~130 bytes each
    // plus events, well under 2 GB at 10 M flows); new pairs beyond it are dropped and
    // counted in pairs_dropped.
    size_t max_pairs;
    // Calls kept per pair (the most recent; older ones are counted in events_evicted).
    // Default 8,192: a 10 s beacon over a full day is 8,640 calls; regularity is already
    // decided with a few hundred, and this bounds one chatty pair to 128 KiB.
    size_t max_events_per_pair;
} bw_flowscore_limits;

// Scoring options; defaults by bw_flowscore_options_default(), each reasoned in docs/flows.md.
typedef struct bw_flowscore_options {
    bw_flowscore_limits limits;
    unsigned threads;            // scoring threads (results do not depend on it); default 2
    uint64_t seed;               // permutation-test seed; results are deterministic per seed
    // Beacons
    unsigned min_calls;          // calls a pair needs to be scored; default 8
    double threshold;            // report score >= this; default 0.70
    double burst_merge_s;        // calls closer than this merge into one; default 0.01 s
    double min_period_s;         // faster rhythms (scans, floods) score 0; default 0.1 s
    double jitter_tolerance;     // comb half-width as a fraction of the period; default 0.35
    unsigned max_harmonic;       // longest run of missed calls bridged (multiples); default 4
    unsigned permutations;       // null replicates (x5 below 32 calls); default 19 (p<0.05)
    double min_z;                // and standard deviations above the replicates' mean; default 3
    double madm_ref;             // MAD/median at which the ts MAD score reaches 0; default 0.5
    double coverage_bins;        // bins over the observation span for coverage; default 24
    double persistence_s;        // lifetime that counts as fully persistent; default 6 h
    // Prevalence: a destination called by many internal hosts is down-weighted.
    unsigned prevalence_min_hosts; // only with at least this many internal hosts; default 10
    double prevalence_low;       // fraction of hosts where down-weighting starts; default 0.02
    double prevalence_high;      // fraction where it is fullest; default 0.10
    double prevalence_floor;     // multiplier at prevalence_high and above; default 0.5
    // P2P
    unsigned p2p_min_peers;      // distinct external peers; default 30
    double p2p_min_failed_ratio; // default 0.3
    // Spam zombies
    unsigned smtp_min_dsts;      // distinct SMTP destinations; default 20
    // Internal networks (RFC 1918 + ULA by default when none are given).
    const bw_cidr *internal;
    size_t n_internal;
    // Ignore flows to multicast, broadcast and link-local destinations (default true):
    // periodic by protocol design, and never a controller.
    bool skip_local_scope;
    // Allow-lists: flows matching any are ignored entirely.
    const bw_cidr *allow_cidrs;
    size_t n_allow_cidrs;
    const uint16_t *allow_ports;   // destination ports
    size_t n_allow_ports;
    const char *const *allow_names; // substrings of service/label fields (where logs carry them)
    size_t n_allow_names;
    const bw_asn_db *asn_db;       // optional, for C&C candidates (borrowed)
} bw_flowscore_options;

void bw_flowscore_options_default(bw_flowscore_options *opts);

// One beacon finding: a (src, dst, dport, proto) pair, or a (src, dst) aggregate over every
// port and protocol (dport 0, proto 0, any_port true).
typedef struct bw_beacon {
    bw_ip src, dst;
    uint16_t dport;
    uint8_t proto;
    bool any_port;
    double score;            // 0-1, after the prevalence modifier
    double raw_score;        // before it
    double ts_score;         // RITA-style: mean of ts_skew_score and ts_madm_score
    double ts_skew_score;    // 1 - |Bowley skew| of inter-call times
    double ts_madm_score;    // 1 - (MAD/median of inter-call times)/madm_ref, clamped
    double period_score;     // jitter-tolerant comb test vs permutation null (0 if not significant)
    double period_stat;      // fraction of intervals on the period comb
    double period_null;      // largest fraction among the permuted replicates
    double period_z;         // (period_stat - replicates' mean) / their standard deviation
    double ds_score;         // data-size regularity (orig bytes)
    double coverage_score;   // persistence (lifetime / min(span, persistence_s)) x bin fill
    double prevalence;       // fraction of internal hosts calling dst's /24 (IPv6 /64)
    double period;           // estimated period, seconds
    double period_mad;       // MAD of the per-interval period estimates, seconds
    uint64_t calls;          // flows seen (incl. evicted)
    uint64_t failed;         // of which failed attempts (S0, REJ, ...)
    uint64_t orig_bytes, resp_bytes;
    double first_seen, last_seen;
} bw_beacon;

typedef struct bw_cc_candidate {
    bw_ip dst;
    uint16_t dport;          // the port of its best beacon
    double best_score;
    unsigned hosts;          // distinct internal hosts with a beacon to it
    uint64_t calls, failed;
    double period;           // period of its best beacon
    uint32_t asn;            // 0 when unknown or no database
    bw_slice as_name;        // owned by the ASN database
    double first_seen, last_seen;
} bw_cc_candidate;

typedef struct bw_p2p_host {
    bw_ip src;
    double score;            // 0-1
    unsigned peers;          // distinct external destinations
    unsigned ports;          // distinct destination ports
    double failed_ratio;     // failed attempts / flows, averaged over external peers
    double mean_bytes;       // mean orig+resp bytes per flow
    double high_port_ratio;  // share of flows to unusual ports >= 1024, averaged over peers
    double coverage;         // fraction of coverage bins with activity
    uint64_t flows;
    double first_seen, last_seen;
} bw_p2p_host;

typedef struct bw_smtp_host {
    bw_ip src;
    double score;            // 0-1
    unsigned dsts;           // distinct SMTP destinations
    uint64_t flows, failed;
    double first_seen, last_seen;
} bw_smtp_host;

typedef struct bw_flowscore_stats {
    uint64_t flows;          // flows fed
    uint64_t ignored;        // allow-listed, or not TCP/UDP
    uint64_t pairs;          // pairs tracked
    uint64_t pairs_dropped;  // flows whose new pair did not fit max_pairs
    uint64_t events_evicted; // calls dropped by max_events_per_pair
    uint64_t pairs_scored;   // pairs with >= min_calls
    unsigned internal_hosts; // distinct internal sources
    double span_first, span_last;
} bw_flowscore_stats;

typedef struct bw_flowscore bw_flowscore;

// opts NULL = defaults; opts (and what it points to) must outlive the engine. NULL on
// allocation failure or invalid options, with errbuf saying why.
bw_flowscore *bw_flowscore_new(const bw_flowscore_options *opts, char *errbuf);
// Adds one flow (copied; the record may be reused afterwards). BW_ERR_INVALID after finish.
// Never fails on limits: what does not fit is counted in the stats.
bw_status bw_flowscore_add(bw_flowscore *fs, const bw_flow *flow);
// Scores everything once; BW_ERR_NOMEM on allocation failure. Results below stay valid until
// bw_flowscore_free(). Beacons are sorted by score (descending), the others likewise.
bw_status bw_flowscore_finish(bw_flowscore *fs, char *errbuf);

const bw_beacon *bw_flowscore_beacons(const bw_flowscore *fs, size_t *count);
const bw_cc_candidate *bw_flowscore_cc(const bw_flowscore *fs, size_t *count);
const bw_p2p_host *bw_flowscore_p2p(const bw_flowscore *fs, size_t *count);
const bw_smtp_host *bw_flowscore_smtp(const bw_flowscore *fs, size_t *count);
const bw_flowscore_stats *bw_flowscore_stats_get(const bw_flowscore *fs);
// True if ip is in the configured internal networks.
bool bw_flowscore_is_internal(const bw_flowscore *fs, const bw_ip *ip);
void bw_flowscore_free(bw_flowscore *fs);

// Scores one series of call times and sizes as a beacon (the engine's per-pair scorer),
// for tests and tools: ts must be sorted; bytes may be NULL. Fills every sub-score and
// period of out (addresses untouched). span is the observation span for coverage (0 = the
// series' own). Returns false if there are fewer than min_calls calls after burst merging.
bool bw_flowscore_score_series(const bw_flowscore_options *opts, const double *ts,
                               const uint64_t *bytes, size_t n, double span_first,
                               double span_last, uint64_t seed, bw_beacon *out);

#endif
