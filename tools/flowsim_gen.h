// SPDX-License-Identifier: MIT
// The flow simulator's generator, shared by tools/flowsim (which writes a Zeek conn.log
// and a truth file), bench/beacons, bench/flows_score and the flowscore tests (which feed
// the engine in memory). It emits bw_flow records host by host: realistic background
// (diurnal web browsing bursts, DNS, periodic benign updaters such as the ESET ~301.6 s and
// Microsoft 900 s pollers seen in the real captures), plus injected beacons, P2P bots and
// spam zombies. Everything is derived from the seed, so a run is reproducible.
#ifndef BOTWATCH_FLOWSIM_GEN_H
#define BOTWATCH_FLOWSIM_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "botwatch/flow.h"

typedef struct flowsim_config {
    uint64_t seed;
    unsigned hosts;            // internal hosts (benign and infected)
    double start;              // Unix time of the first second (default 2026-01-05 00:00 UTC)
    double duration;           // seconds observed (default 86,400)
    double activity;           // scale of browsing/DNS volume (1 = an office desktop)
    unsigned beacons;          // infected hosts with one beacon each
    double period_min, period_max;   // beacon periods, log-uniform (default 10 s .. 3,600 s)
    double jitter_max;         // beacon jitter drawn from {0, 0.1, ..} up to this (default 0.5)
    double missed_max;         // missed-call fraction from {0, 0.1, ..} up to this (default 0.3)
    double dead_fraction;      // fraction of beacons whose controller is dead (S0/REJ), 0.5
    unsigned p2p_bots;
    unsigned spam_zombies;
} flowsim_config;

void flowsim_config_default(flowsim_config *cfg);

typedef enum flowsim_kind {
    FLOWSIM_BEACON,
    FLOWSIM_P2P,
    FLOWSIM_SPAM,
    FLOWSIM_BENIGN_PERIODIC,   // updaters: periodic, benign, on many hosts (for explanation)
} flowsim_kind;

typedef struct flowsim_truth {
    flowsim_kind kind;
    bw_ip src, dst;            // dst unset (all zero) for P2P and spam (many destinations)
    uint16_t port;
    double period, jitter, missed;
    bool dead;
} flowsim_truth;

const char *flowsim_kind_name(flowsim_kind kind);

// Called once per flow; the record is valid only during the call.
typedef void (*flowsim_emit_fn)(const bw_flow *flow, void *ctx);

typedef struct flowsim_result {
    flowsim_truth *truth;      // malloc'ed; the caller frees it
    size_t n_truth;
    uint64_t flows;
    bw_ip *hosts;              // malloc'ed list of every internal host address
    bool *infected;            // parallel to hosts: has any injected malicious activity
    size_t n_hosts;
} flowsim_result;

// Runs the simulation. 0 on success, -1 on allocation failure. Free with flowsim_result_free.
int flowsim_run(const flowsim_config *cfg, flowsim_emit_fn emit, void *ctx, flowsim_result *out);
void flowsim_result_free(flowsim_result *res);

#endif
