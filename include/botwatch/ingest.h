// SPDX-License-Identifier: MIT
// The ingest pipeline: spam-trap inputs (files, directories, archives, stdin) -> parsed and
// analyzed records -> the store. One reader thread pulls messages from intake, N worker
// threads each own a MIME parser and a mail analyzer, and the calling thread writes to the
// store in large transactions. They are joined through one bounded ring that is both the
// work queue and the reorder buffer, so memory is bounded (by messages and bytes in flight)
// and records are written in input order whatever the thread count: the database content
// does not depend on --threads.
//
// Campaigns and attribution (issue 3): workers also run the attribution rules and the
// campaign normaliser + MinHash on each message; the writer assigns every new parsed
// message to a campaign in stream order, stores campaign rows as campaigns leave memory,
// saves the campaign index at the end of the run (the next run continues it) and then
// re-infers the botnets over the whole store. docs/campaigns.md §7 and docs/store.md.
#ifndef BOTWATCH_INGEST_H
#define BOTWATCH_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "botwatch/campaign.h"
#include "botwatch/error.h"
#include "botwatch/mail.h"
#include "botwatch/mime.h"
#include "botwatch/networks.h"
#include "botwatch/store.h"

typedef struct bw_ingest_stats {
    uint64_t messages;        // read (new + duplicate), parse failures included
    uint64_t new_messages;    // stored
    uint64_t duplicates;      // already in the store (same SHA-256)
    uint64_t errors;          // ingest_errors rows written (bad messages and bad inputs)
    uint64_t bytes;           // message bytes read
    uint64_t sources;         // inputs opened
    uint64_t total_bytes;     // input size when known before the run (0 = unknown), for ETA
    uint64_t input_bytes;     // input bytes consumed so far (compressed, as on disk), for ETA
    double elapsed;           // seconds since the run started
    // CPU seconds by role, filled at the end: where the time went (bench/ingest prints it).
    double cpu_reader, cpu_workers, cpu_writer;
    // Campaigns and attribution (zero when disabled):
    uint64_t campaign_messages;   // new messages assigned to a campaign
    uint64_t campaigns_created;   // campaigns started by this run
    uint64_t campaigns_evicted;   // campaigns that left memory during this run (final rows)
    uint64_t campaigns_active;    // campaigns in the saved state at the end (continue next run)
    uint64_t labelled;            // new messages with at least one rule label
    uint64_t botnets;             // botnets after the end-of-run inference
    uint64_t botnet_rows_read;    // message rows it read back from the store: those no
                                  //   sighting_runs row covers (an older store, another
                                  //   writer's; this run's come from memory unless another
                                  //   writer inserted between its batches)
    bool campaign_state_reset;    // a saved state that could not be loaded was discarded
    bool botnets_kept;            // nothing new since the last botnet step: not inferred again
    bool indexes_rebuilt;         // the report indexes were dropped for the run and rebuilt
    double seconds_finish;        // wall time of the end-of-run campaign rows + state + botnets
} bw_ingest_stats;

typedef struct bw_rules bw_rules;   // botwatch/rules.h

// Called by the writer (the calling thread) at most every progress_interval seconds and
// once at the end (final = true).
typedef void (*bw_ingest_progress_fn)(void *ctx, const bw_ingest_stats *stats, bool final);

typedef struct bw_ingest_config {
    size_t threads;             // parser workers; 0 = number of online CPUs
    // In-flight bounds: messages read but not yet stored. Memory is about
    // ring_messages * average message + max_inflight_bytes at worst.
    size_t ring_messages;       // default 256: keeps 2-8 workers busy across a commit
    size_t max_inflight_bytes;  // default 128 MB: a few huge messages cannot exhaust memory
    size_t batch_messages;      // messages per transaction; default 5000
    // Bulk load: when the store holds at most this many messages, its report indexes are
    // dropped for the run and rebuilt at the end (one sort each instead of a random B-tree
    // insert per row; rebuilding is cheap at this size): at once into an empty store, else
    // once the run has added an eighth of what the store held (a small run into a large
    // store keeps them: rebuilding costs in proportion to the store). Default 1,000,000.
    uint64_t defer_index_max_messages;
    bool keep_indexes;          // always maintain the indexes row by row
    const bw_asn_db *asn;       // optional; shared read-only by the workers
    const bw_mime_limits *mime_limits;   // NULL = defaults
    const bw_mail_config *mail_config;   // NULL = defaults
    bw_ingest_progress_fn progress;
    void *progress_ctx;
    double progress_interval;   // seconds; default 0.25
    // Campaigns: on by default. Off = no campaign ids, no campaign rows, no state change, no
    // botnet inference (for speed comparisons or a store of mail you do not want clustered).
    bool campaigns;
    // A saved campaign state that cannot be loaded (corrupt, another key): false (default)
    // refuses the run with BW_ERR_PARSE before anything is written; true discards it (warned,
    // stats->campaign_state_reset) and starts new campaigns with ids after the old ones.
    bool reset_campaigns;
    const bw_campaign_config *campaign_config;   // NULL = defaults; the key is always the store's
    bool botnets;               // re-infer botnets at the end of the run (default true; needs campaigns)
    // Attribution rule sets run by the workers on every parsed message; the sorted distinct
    // labels of all sets go to messages.rule_labels. Shared read-only (each worker has its
    // own scratch); rules_count 0 = no rules.
    const bw_rules *const *rules;
    size_t rules_count;
} bw_ingest_config;

void bw_ingest_config_default(bw_ingest_config *config);

// Ingests every path ("-" = an mbox on stdin) into store. Bad messages and unreadable inputs
// are counted in stats->errors and stored in ingest_errors with their source and offset;
// they never stop the run. Returns BW_OK when the run completed (even with such errors),
// BW_ERR_DB if the store failed (batches committed so far stay), BW_ERR_NOMEM,
// BW_ERR_INVALID for a bad config, or BW_ERR_PARSE when the saved campaign state cannot be
// loaded and reset_campaigns is off (nothing is written then). stats is filled either way.
bw_status bw_ingest_paths(bw_store *store, const char *const *paths, size_t path_count,
                          const bw_ingest_config *config, bw_ingest_stats *stats, char *errbuf);

// The trap recipient of a message as ingest gives it to the campaign normaliser (whose
// occurrences become <rcpt>): the first To: address and its display name, raw header
// bytes, both possibly empty (intake knows no envelope recipient). Slices borrow from msg.
// Public so that `botwatch explain` recomputes exactly the template ingest computed.
void bw_ingest_recipient(const bw_message *msg, bw_slice *addr, bw_slice *name);

#endif
