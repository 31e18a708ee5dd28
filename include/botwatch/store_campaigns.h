// SPDX-License-Identifier: MIT
// Reading campaigns and botnets back from the store (schema 3, docs/store.md): what
// `botwatch campaigns`, `campaign ID`, `botnets`, `explain` and the report's campaign
// section show. Ingest writes the tables (campaigns, campaign_links, botnets and the
// per-message campaign_id / similarity / rule_labels); this API only reads them.
//
// Figures "in range" are counted from the messages themselves (messages.campaign_id joined
// with seen_at in the bw_store_range, as every other store query), so they are exact and
// add up to the messages table; "stored" figures are what ingest recorded for the whole
// life of a campaign or botnet (campaigns.messages, botnets.sender_ips, HyperLogLog
// estimates past the campaign caps). Slices handed to callbacks are valid during the call;
// a bw_store_campaign_detail owns its memory until bw_store_campaign_detail_free().
#ifndef BOTWATCH_STORE_CAMPAIGNS_H
#define BOTWATCH_STORE_CAMPAIGNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "botwatch/error.h"
#include "botwatch/store.h"
#include "botwatch/str.h"

// The first schema version with campaign tables.
#define BW_STORE_CAMPAIGN_SCHEMA 3

// Limits of the detail views: a campaign's kept samples are bounded by the campaign
// module; the rest is bounded here so a hostile or huge store cannot make one view grow
// without end.
#define BW_STORE_MAX_TIMELINE_DAYS 4096   // 11 years of daily rows; older days are summed
#define BW_STORE_MAX_DETAIL_TOP 1000      // senders, domains, subjects, links, samples
#define BW_STORE_MAX_SAMPLES 64

// The schema version (PRAGMA user_version) of the SQLite file at path, opened read-only and
// never migrated, so a front end can explain why a file cannot be read ("written before
// campaigns existed"). BW_ERR_DB if the file cannot be opened or is not SQLite.
bw_status bw_store_file_schema_version(const char *path, int *version, char *errbuf);

typedef struct bw_store_campaign_totals {
    uint64_t messages;            // messages in range
    uint64_t in_campaigns;        // of those, assigned to a campaign
    uint64_t in_botnets;          // of those, in a campaign that belongs to a botnet
    uint64_t campaigns;           // campaigns with at least one message in range
    uint64_t botnets;             // botnets with at least one message in range
    uint64_t campaigns_stored;    // campaign rows, whatever the range
    uint64_t botnets_stored;      // botnet rows
} bw_store_campaign_totals;

bw_status bw_store_get_campaign_totals(bw_store *store, const bw_store_range *range,
                                       bw_store_campaign_totals *out, char *errbuf);

// One campaign. In-range figures are exact counts over its messages in the range.
typedef struct bw_store_campaign {
    int64_t id;
    uint64_t messages;                     // in range
    int64_t first_seen, last_seen;         // arrival times in range; BW_STORE_NO_TIME if none
    uint64_t sender_ips, subnets24, asns;  // distinct, in range (/24 for IPv4, /48 for IPv6)
    int64_t botnet_id;                     // 0: not in a botnet
    bw_slice botnet_label;                 // the botnet's rule label; empty if none
    bw_slice template_text;                // inferred template ("<*>" marks slots)
    bw_slice top_subject;                  // most frequent exact subject in range; empty if none
    uint64_t top_subject_messages;
    bw_slice top_domain;                   // most linked registrable URL domain in range
    uint64_t top_domain_messages;
    // As ingest stored them, for the campaign's whole life:
    uint64_t stored_messages;
    int64_t stored_first_seen, stored_last_seen;
    bool in_memory;                        // still in the ingest's in-memory index
} bw_store_campaign;

typedef int (*bw_store_campaign_fn)(void *ctx, const bw_store_campaign *campaign);

// The top `limit` campaigns (0 = all) by messages in range, ties by smaller id, each with
// its in-range figures. fn returning non-zero stops the walk.
bw_status bw_store_list_campaigns(bw_store *store, const bw_store_range *range, size_t limit,
                                  bw_store_campaign_fn fn, void *ctx, char *errbuf);

typedef struct bw_store_campaign_link {
    int64_t other_id;             // the linked campaign
    bw_slice domain;              // the registrable domain both advertised
    int64_t time;                 // when the link was seen
} bw_store_campaign_link;

typedef struct bw_store_message_brief {
    int64_t id;
    bw_slice sha256;              // 64 hex digits
    int64_t seen_at;
    bw_slice subject, sender_ip;
    uint32_t sender_asn;
    double similarity;            // to its campaign; < 0 if not recorded
} bw_store_message_brief;

typedef struct bw_store_campaign_detail {
    bw_store_campaign campaign;            // whole life (range unbounded)
    int64_t first_message_id;              // the message that started it (lowest id)
    const bw_store_count *per_day;         // number = day start, count; ascending
    size_t day_count;
    uint64_t days_omitted_messages;        // messages on days beyond BW_STORE_MAX_TIMELINE_DAYS
    uint64_t undated_messages;             // messages without an arrival time
    const bw_store_count *senders;         // key = IP, number = ASN, label = AS name, extra = country
    size_t sender_count;
    const bw_store_count *networks;        // number = ASN, label = AS name, extra = country; count = messages
    size_t network_count;
    const bw_store_count *domains;         // key = domain; count = messages linking to it
    size_t domain_count;
    const bw_store_count *subjects;        // key = subject
    size_t subject_count;
    const bw_store_campaign_link *links;   // both directions, oldest first
    size_t link_count;
    const bw_store_message_brief *samples; // the campaign's kept sample (else its first messages)
    size_t sample_count;
} bw_store_campaign_detail;

// How much of each list a detail view gathers (each capped at BW_STORE_MAX_DETAIL_TOP,
// samples at BW_STORE_MAX_SAMPLES).
typedef struct bw_store_campaign_limits {
    size_t top;                   // senders, networks, domains, subjects
    size_t links;
    size_t samples;
} bw_store_campaign_limits;

// One campaign with its timeline, senders, networks, domains, subjects, links and
// sample messages. BW_ERR_NOTFOUND (errbuf says so) if there is no campaign `id`.
// limits may be NULL (10, 32, 16).
bw_status bw_store_get_campaign(bw_store *store, int64_t id, const bw_store_campaign_limits *limits,
                                bw_store_campaign_detail **out, char *errbuf);
void bw_store_campaign_detail_free(bw_store_campaign_detail *detail);

// One inferred botnet.
typedef struct bw_store_botnet {
    int64_t id;                   // 1..N, largest first at inference time
    bw_slice label;               // rule label its campaigns agree on; empty if none
    uint64_t messages;            // in range: its campaigns' messages in range
    uint64_t campaigns;           // of its campaigns, those with messages in range
    int64_t first_seen, last_seen;   // in range
    // As ingest inferred them over the whole store:
    uint64_t stored_messages, stored_campaigns, sender_ips, subnets24;
    int64_t stored_first_seen, stored_last_seen;
    const bw_store_count *asns;   // number = ASN, label = AS name, count = sender IPs
    size_t asn_count;
    const bw_store_count *countries;  // key = ISO code, count = sender IPs
    size_t country_count;
    const bw_store_count *top_campaigns;  // number = campaign id, count = messages in range
    size_t top_campaign_count;
} bw_store_botnet;

typedef int (*bw_store_botnet_fn)(void *ctx, const bw_store_botnet *botnet);

// Botnets by messages in range (descending, ties by id), at most `limit` (0 = all);
// botnets with no message in range are skipped. Each carries up to `top` of its ASNs,
// countries and campaigns.
bw_status bw_store_list_botnets(bw_store *store, const bw_store_range *range, size_t limit, size_t top,
                                bw_store_botnet_fn fn, void *ctx, char *errbuf);

// Messages in range per botnet, largest first (ties by id): number = botnet id, count =
// messages. Cheap (no per-botnet lists): the input of "N botnets send 90% of the spam".
bw_status bw_store_botnet_volumes(bw_store *store, const bw_store_range *range, bw_store_count_fn fn, void *ctx,
                                  char *errbuf);

// What the store knows about one message's attribution.
typedef struct bw_store_message_attribution {
    int64_t id;
    bw_slice sha256;              // 64 hex digits
    bw_slice source_path;         // where ingest read it (as the intake named it)
    uint64_t source_offset, size;
    int64_t seen_at;
    bw_slice subject, sender_ip;
    uint32_t sender_asn;
    bw_slice sender_as_name;
    bool parsed;
    int64_t campaign_id;          // 0: none (unparsed, or stored before campaigns existed)
    double similarity;            // estimated Jaccard to the campaign; < 0 if not recorded
    bool started_campaign;        // the campaign's first message (it opened the campaign)
    uint64_t campaign_messages;   // the campaign's messages in the store
    bw_slice campaign_template;
    bw_slice rule_labels;         // space-separated; empty if no rule matched
    int64_t botnet_id;            // 0: none
    bw_slice botnet_label;
} bw_store_message_attribution;

typedef int (*bw_store_attribution_fn)(void *ctx, const bw_store_message_attribution *msg);

// Looks a message up by its row id. BW_ERR_NOTFOUND if absent.
bw_status bw_store_find_message_id(bw_store *store, int64_t id, bw_store_attribution_fn fn, void *ctx,
                                   char *errbuf);
// Looks a message up by a prefix of its SHA-256 (8..64 hex digits, any case).
// BW_ERR_NOTFOUND if none matches, BW_ERR_INVALID if the prefix is malformed or matches
// more than one message (errbuf says how many: give more digits).
bw_status bw_store_find_message_sha256(bw_store *store, const char *hex_prefix,
                                       bw_store_attribution_fn fn, void *ctx, char *errbuf);

// Per-row lookups for the export: campaign id, rule labels and botnet id of a message id,
// with one prepared statement reused for every row.
typedef struct bw_store_attrib_reader bw_store_attrib_reader;
bw_store_attrib_reader *bw_store_attrib_reader_new(bw_store *store, char *errbuf);
// 1 and the fields filled (0 / empty when unknown), 0 if there is no such message, -1 on a
// database error. *rule_labels is valid until the next call or free.
int bw_store_attrib_get(bw_store_attrib_reader *reader, int64_t msg_id, int64_t *campaign_id,
                        bw_slice *rule_labels, int64_t *botnet_id, char *errbuf);
void bw_store_attrib_reader_free(bw_store_attrib_reader *reader);

#endif
