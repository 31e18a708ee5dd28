// SPDX-License-Identifier: MIT
// Inside the ingest module: the campaign and botnet steps the writer runs around the
// message stream (campaigns.c, botnets.c). Not part of the public API.
#ifndef BOTWATCH_INGEST_INTERNAL_H
#define BOTWATCH_INGEST_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "botwatch/campaign.h"
#include "botwatch/error.h"
#include "botwatch/ip.h"
#include "botwatch/mime.h"
#include "botwatch/store.h"
#include "botwatch/str.h"

// Grows *p (an array of *cap elements of size bytes) to hold need elements, doubling;
// -1 (nothing changed) if out of memory.
static inline int ingest_grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 256;
    while (ncap < need)
        ncap *= 2;
    void *np = realloc(*p, ncap * size);
    if (!np)
        return -1;
    *p = np;
    *cap = ncap;
    return 0;
}

// Campaign rows built but not yet written (campaigns.c): the JSON columns and link
// domains live in text (offsets, since it grows while rows are added); a row's template
// points into the index, which does not change before the rows are written.
typedef struct row_out {
    bw_store_campaign_row row;
    size_t json_off[4], json_len[4];
    size_t link_first, link_count;   // into rows_out.links
} row_out;

typedef struct link_out {
    uint64_t other_id;
    int64_t time;
    size_t domain_off, domain_len;
} link_out;

typedef struct rows_out {
    row_out *rows;
    size_t count, cap;
    link_out *links;
    size_t link_count, link_cap;
    bw_buf text;
} rows_out;

// The campaign index of one ingest run, fed by the ordered writer, and what it writes.
typedef struct ingest_campaigns {
    bw_store *store;
    bw_campaign_config cfg;     // the caller's (or default) config with the store's key
    bw_campaign_index *index;
    bw_buf json[4];             // scratch for the JSON columns of one campaign row
    bw_status status;           // first failure inside on_evict (it cannot return one)
    char error[BW_ERRBUF_SIZE];
    uint64_t created_before;    // campaigns_created when the run started
    uint64_t evicted_before;
    uint64_t messages_before;   // messages the index had taken when the run started
    // The index differs from the saved state before any message: none was saved, it was
    // discarded, or ids were reserved past it. Otherwise a run in which no message joined a
    // campaign (all duplicates) leaves the saved state as it is instead of rewriting it.
    bool state_differs;
    bool state_unchanged;       // set by save_state: nothing to write
    bool state_reset;           // the saved state could not be loaded and was discarded
    rows_out evicted;           // scratch for the row of an evicted campaign
    // End of run: rows of the campaigns still in memory and the state blob, built by
    // ingest_campaigns_save_state and _build_rows (possibly on another thread), written by
    // ingest_campaigns_write_state and _finish.
    rows_out final;
    bw_buf state;
    bool state_saved, state_written, rows_built;
    bw_status state_status, rows_status;
    char state_error[BW_ERRBUF_SIZE], rows_error[BW_ERRBUF_SIZE];
} ingest_campaigns;

// Reads the store's key and saved index (outside any batch). A saved state that cannot be
// loaded fails with BW_ERR_PARSE unless reset: then it is discarded (logged, counted in
// c->state_reset), the old campaign rows are marked evicted and new ids continue after the
// highest one in use. base may be NULL (defaults).
bw_status ingest_campaigns_open(ingest_campaigns *c, bw_store *store, const bw_campaign_config *base, bool reset,
                                char *errbuf);
// End of a run, in steps that let the CPU work run on another thread while the writer's
// connection is busy (ingest.c), and in one transaction (outside any batch):
// - save_state: the index state as a blob (the index only, no store; any thread);
// - build_rows: a row for every campaign still in memory that changed in this run
//   (in_memory = 1): template inference and JSON, the index only (any thread);
// - write_state: begins the transaction and stores the state (the writer);
// - finish: the rows, and commits (the writer). It does any step nobody did.
// save_state and build_rows may run at once with nothing else touching the index, but not
// with each other (build_rows infers templates into the index). The rows (c->final) stay
// until close, for the botnet inference that reads them while finish writes them.
bw_status ingest_campaigns_save_state(ingest_campaigns *c);
bw_status ingest_campaigns_build_rows(ingest_campaigns *c);
bw_status ingest_campaigns_write_state(ingest_campaigns *c, char *errbuf);
bw_status ingest_campaigns_finish(ingest_campaigns *c, char *errbuf);
void ingest_campaigns_close(ingest_campaigns *c);


// End of a run: botnets inferred over every campaign of the store, written with
// campaigns.botnet_id in one transaction (outside any batch). *botnets = how many.
bw_status ingest_botnets(bw_store *store, uint64_t *botnets, uint64_t *rows_read, char *errbuf);
// The sighting_runs rows one botnet step reads from which it merges them all into one;
// ingest_botnets_with takes another count (a test lowers it).
#define INGEST_SIGHTING_RUNS_COMPACT 64
bw_status ingest_botnets_with(bw_store *store, size_t compact_at, uint64_t *botnets, uint64_t *rows_read,
                              char *errbuf);
// The same in two steps, so that the reading and inference can run on another thread with
// a read connection of its own while the writer still writes: infer reads db as if the
// rows in override (may be NULL) were already upserted into campaigns; write stores the
// result on the writer's handle.
typedef struct ingest_botnet_plan ingest_botnet_plan;
typedef struct sqlite3 sqlite3;
// This run's campaign messages, fed by the writer as it stores them, so that infer reads
// only the rows of earlier runs (and of any other writer) from db. The feed is used only
// if the ids of every message this run inserted (campaign or not, each reported to
// _inserted) form one unbroken range; otherwise, or after running out of memory, infer
// reads every row as before.
typedef struct ingest_botnet_feed ingest_botnet_feed;
// merge_rows: rows (and votes) before the first merge; 0 = the default (2^16).
ingest_botnet_feed *ingest_botnet_feed_new(size_t merge_rows);
void ingest_botnet_feed_free(ingest_botnet_feed *feed);
void ingest_botnet_feed_inserted(ingest_botnet_feed *feed, int64_t id);
// ip: the sender IP as the stored text parses (NULL if it does not); time: the row's
// coalesce(seen_at, ingested_at); labels: its rule_labels.
void ingest_botnet_feed_add(ingest_botnet_feed *feed, uint64_t campaign, const bw_ip *ip, int64_t time,
                            uint32_t asn, bw_slice labels);
bw_status ingest_botnets_infer(sqlite3 *db, const rows_out *override, const ingest_botnet_feed *feed,
                               size_t compact_at, ingest_botnet_plan **plan, char *errbuf);
bw_status ingest_botnets_write(bw_store *store, const ingest_botnet_plan *plan, uint64_t *botnets, char *errbuf);
void ingest_botnet_plan_free(ingest_botnet_plan *plan);
uint64_t ingest_botnet_plan_rows_read(const ingest_botnet_plan *plan);   // message rows read from db
// Whether the botnets stored are those of the store's messages as they are: the sighting_runs
// rows (written with the botnets) cover every message id without a gap. For a run that
// stored nothing, which then keeps them (ingest_botnets_count gives their number).
bool ingest_botnets_current(sqlite3 *db);
bw_status ingest_botnets_count(bw_store *store, uint64_t *botnets, char *errbuf);
// Whether blob is a sighting_runs blob the botnet step would use (BW_OK), and if not why
// (BW_ERR_PARSE, with the offset; BW_ERR_NOMEM). For the fuzz target.
bw_status ingest_sighting_run_check(const void *blob, size_t n, char *why, size_t why_size);

#endif
