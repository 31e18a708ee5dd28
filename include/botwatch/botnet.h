// SPDX-License-Identifier: MIT
// Botnets inferred from shared senders (issue 3). Campaigns sent by the same zombies belong
// to the same botnet (BotGraph, Zhao et al. NSDI'09; AutoRE, Xie et al. SIGCOMM'08): real
// bots send many campaigns, and an infected home PC keeps its address for days. Campaigns
// become the nodes of a weighted graph; two campaigns are joined when they share sender IPs
// seen in both within a time window (dynamic addresses are reassigned, so an IP shared weeks
// apart proves little) and, with a lower weight, shared /24s (NAT and DHCP pools). The
// weight is an overlap coefficient, so a small campaign of a large botnet still links to its
// siblings. Communities of the graph (Louvain modularity, fixed node order, split into
// connected parts) are the inferred botnets, named by the rule label most of their messages
// carry.
//
// A pure algorithm over plain arrays: no store, no clock, no global state. The result does
// not depend on the order of the input arrays (campaigns are processed by id, sightings by
// campaign and address). Every count is capped by the config and what a cap dropped is
// counted in bw_botnet_stats. Thread-safe in the sense that calls share nothing.
// See docs/botnets.md for the model, the defaults and the measured purity on spamsim.
#ifndef BOTWATCH_BOTNET_H
#define BOTWATCH_BOTNET_H

#include <stddef.h>
#include <stdint.h>

#include "botwatch/error.h"
#include "botwatch/ip.h"

// One campaign as the store (or the campaign index) knows it. labels: the campaign's rule
// labels, space-separated (e.g. "cutwail pharma"), NUL-terminated; NULL or "" = none. Only
// read during bw_botnet_infer.
typedef struct bw_botnet_campaign {
    uint64_t id;                 // campaign id, unique in the input (0 is allowed)
    uint64_t messages;
    int64_t first_seen, last_seen;
    const char *labels;
} bw_botnet_campaign;

// One sender IP seen in one campaign: the aggregate of that campaign's messages from that
// IP (SELECT campaign_id, sender_ip, min(seen_at), max(seen_at), count(*) ... GROUP BY 1,2).
// The /24 (IPv4) or /64 (IPv6) is derived from ip. Repeated (campaign_id, ip) pairs are
// merged; sightings of campaigns not in the input are counted and ignored.
typedef struct bw_botnet_sighting {
    uint64_t campaign_id;
    bw_ip ip;
    int64_t first_seen, last_seen;
    uint64_t messages;
} bw_botnet_sighting;

typedef enum bw_botnet_method {
    BW_BOTNET_LOUVAIN = 0,       // modularity communities (default)
    BW_BOTNET_COMPONENTS,        // connected components of the edges kept (for comparison)
} bw_botnet_method;

typedef struct bw_botnet_config {
    int64_t ip_window;           // seconds: an IP links two campaigns only if its sightings
                                 //   in both are at most this far apart (default 7 days)
    int64_t subnet_window;       // the same for /24s (default 7 days)
    double subnet_weight;        // weight of the /24 overlap beside the IP overlap (0.25)
    double min_weight;           // edges lighter than this are not kept (0.02)
    unsigned min_shared_ips;     // IP overlap counts only from this many shared IPs (2)
    unsigned min_shared_subnets; // /24 overlap counts only from this many shared /24s (3)
    size_t max_campaigns_per_ip; // an IP seen in more campaigns links none (open relays,
                                 //   webmail, carrier NAT) (default 2000)
    size_t max_campaigns_per_subnet;  // the same for a /24 (default 2000)
    size_t max_edges_per_campaign;    // heaviest edges kept per campaign (default 64)
    size_t max_campaigns;        // campaigns considered: the most messages first (1,000,000)
    size_t max_sightings;        // sightings considered: those of the larger campaigns first
                                 //   (default 4,000,000: about 400 MB)
    size_t min_subnets;          // a community is reported as a botnet only when its
                                 //   campaigns were sent from at least this many /24s (or
                                 //   /64s): distributed sending is what marks a botnet; a
                                 //   mail server cluster or a lone zombie's one-off is not (5)
    size_t max_label_bytes;      // one campaign's labels string looked at (1024)
    double resolution;           // Louvain resolution (1.0)
    unsigned max_levels;         // Louvain aggregation levels (32)
    unsigned max_passes;         // local-moving passes per level (64)
    bw_botnet_method method;
} bw_botnet_config;

void bw_botnet_config_default(bw_botnet_config *config);

typedef struct bw_botnet_stats {
    size_t campaigns;                // considered (after max_campaigns)
    size_t campaigns_dropped;        // beyond max_campaigns (their botnet id is 0)
    size_t sightings;                // considered, after merging repeats
    size_t sightings_dropped;        // beyond max_sightings
    size_t sightings_unknown;        // naming a campaign not in the input
    size_t distinct_ips, distinct_subnets;
    size_t ips_too_shared;           // IPs ignored for linking (max_campaigns_per_ip)
    size_t subnets_too_shared;
    uint64_t pairs_checked;          // (campaign, campaign, IP or /24) co-occurrences seen
    uint64_t pairs_outside_window;   // of which too far apart in time
    size_t edges;                    // edges of the graph
    size_t edges_dropped;            // candidate edges beyond max_edges_per_campaign
    size_t edges_light;              // candidate edges under min_weight
    unsigned levels;                 // Louvain levels run
    double modularity;               // of the final partition (Louvain and components)
    size_t botnets;                  // reported (at least min_subnets /24s)
    size_t campaigns_unattributed;   // in communities too small to report (botnet id 0)
    size_t memory_bytes;             // peak working memory of the call, approximately
} bw_botnet_stats;

// One inferred botnet. Pointers are owned by the result and valid until it is freed.
typedef struct bw_botnet_info {
    uint64_t id;                     // 1..N: messages desc, ties by smallest member campaign id
    size_t campaigns;
    const uint64_t *campaign_ids;    // member campaign ids, ascending
    uint64_t sender_ips;             // distinct
    uint64_t subnets24;              // distinct /24 (IPv4) and /64 (IPv6)
    const bw_ip *ips;                // the distinct sender IPs, ascending (for ASN/country
    size_t ip_count;                 //   lookups); ip_count == sender_ips
    uint64_t messages;               // sum of the member campaigns' messages
    int64_t first_seen, last_seen;   // over the member campaigns
    const char *label;               // the label of a strict majority of its messages, or ""
} bw_botnet_info;

typedef struct bw_botnet_result bw_botnet_result;

// Infers botnets. campaigns/sightings may be in any order (NULL when the count is 0).
// config NULL = defaults. Errors: BW_ERR_INVALID (a repeated campaign id, a bad config:
// the reason in errbuf, which may be NULL), BW_ERR_NOMEM. On success *out is a new result.
bw_status bw_botnet_infer(const bw_botnet_config *config, const bw_botnet_campaign *campaigns, size_t ncampaigns,
                          const bw_botnet_sighting *sightings, size_t nsightings, bw_botnet_result **out,
                          char *errbuf);
void bw_botnet_result_free(bw_botnet_result *result);

size_t bw_botnet_result_count(const bw_botnet_result *result);
// Botnet with id (1..count); BW_ERR_NOTFOUND otherwise.
bw_status bw_botnet_result_get(const bw_botnet_result *result, uint64_t id, bw_botnet_info *out);
// Botnet id of a campaign (0 if it was not in the input, was dropped by max_campaigns or
// belongs to a community sent from fewer than min_subnets /24s).
uint64_t bw_botnet_result_campaign(const bw_botnet_result *result, uint64_t campaign_id);
void bw_botnet_result_stats(const bw_botnet_result *result, bw_botnet_stats *out);

#endif
