// SPDX-License-Identifier: MIT
// The campaign index's in-memory layout, shared by index.c (the algorithm) and persist.c
// (its serialisation). Not part of the public API.
#ifndef BOTWATCH_CAMPAIGN_INDEX_INTERNAL_H
#define BOTWATCH_CAMPAIGN_INDEX_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "campaign_internal.h"

#define MAX_REPS 16     // hard ceiling of config.max_reps (fixed array per campaign)
#define HLL_REGS 256

typedef struct hset {
    uint64_t *slots;    // open addressing, 0 = empty
    size_t cap, count;
} hset;

typedef struct top_entry {
    char *value;
    size_t n;
    uint64_t count;
} top_entry;

typedef struct link_entry {
    uint64_t other_id;
    char *domain;
    size_t domain_n;
    int64_t time;
} link_entry;

typedef struct campaign {
    uint64_t id;
    int64_t first_seen, last_seen;
    uint64_t messages;
    uint32_t reps[MAX_REPS];
    unsigned rep_count;
    hset ip_set;
    bw_ip *ips;
    size_t ip_count, ip_alloc;
    bool ips_capped, subnets_capped;
    bool has_last_ip;       // last_ip is the sender IP last added (in memory only, not saved)
    bw_ip last_ip;
    hset subnet_set;
    hset asn_set;
    uint32_t *asn_list;
    uint8_t hll_ips[HLL_REGS], hll_subnets[HLL_REGS];
    // Grown as needed (most campaigns have a subject or two and a few domains), up to
    // max_top and max_links: allocated whole, they were a fifth of the index's memory.
    top_entry *subjects, *domains;
    size_t subject_count, domain_count, subject_cap, domain_cap;
    uint64_t *samples;
    size_t sample_count;
    uint64_t rng;
    link_entry *links;
    size_t link_count, link_cap;
    bw_slice *members;      // owned copies of member template texts
    unsigned member_count;
    char *template_text;
    size_t template_n;
    bool template_dirty;
    // All template_members members are in: the template can no longer change, so it is
    // inferred once and the members' texts are freed (memory, and the saved state).
    bool template_final;
    bool changed;           // a message or link since created or loaded (not saved)
    bool evicting;          // chosen by the eviction under way (evict_marked)
} campaign;

typedef struct rep {
    uint32_t sig[BW_CAMPAIGN_SIG];
    campaign *owner;        // NULL when free
    uint32_t stamp;         // last add() that compared it, to compare each rep once
} rep;

// One (band key, representative) pair of the LSH table: open addressing with linear
// probing, so the entries of one key sit together in one or two cache lines.
typedef struct lsh_entry {
    uint64_t key;
    uint32_t rep;           // UINT32_MAX when the slot is empty
    uint32_t unused;
} lsh_entry;

// An open-addressing multimap of lsh_entry: cap slots (a power of two, 0 = none yet), at
// most 3/4 of them used.
typedef struct lsh_table {
    lsh_entry *t;
    size_t cap, count;
} lsh_table;

typedef struct dom_entry {
    uint64_t key;           // keyed hash of the domain | 1; 0 = empty
    uint64_t campaign;
    int64_t time;
} dom_entry;

struct bw_campaign_index {
    bw_campaign_config cfg;
    uint64_t next_id;
    int64_t now, last_sweep, dom_swept_at;
    campaign **camps;       // sorted by id
    uint64_t *ids;          // the same order, for bw_campaign_index_ids
    size_t camp_count, camp_cap;
    rep *reps;
    size_t rep_used, rep_cap;
    uint32_t *rep_free;
    size_t rep_free_count;
    uint32_t stamp;
    uint64_t generation;    // bumped by every change a bw_campaign_match may not outlive
    lsh_table lsh;          // (band key, representative), once per band
    // (signature key, representative), once per representative: a message whose signature
    // equals a representative's is decided by one lookup here instead of the bands.
    lsh_table exact;
    dom_entry *doms;
    size_t dom_cap, dom_count;
    bw_campaign_prepared prep;   // bw_campaign_index_add's own prepared message
    uint64_t params;             // what prepared messages must match (prepared_params)
    bw_campaign_token_cache *token_cache;
    bw_campaign_stats stats;
    bw_campaign_top *view_subjects, *view_domains;
    bw_campaign_link *view_links;
};

// HyperLogLog register update (index.c adds every sender IP and /24; persist.c rebuilds
// the registers of an uncapped set from its keys, which are exactly the hashes added).
static inline void bw_campaign_hll_add(uint8_t *reg, uint64_t h)
{
    unsigned r = (unsigned)(h >> 56);
    uint64_t rest = (h << 8) | 0x80;
    uint8_t rank = (uint8_t)(__builtin_clzll(rest) + 1);
    if (rank > reg[r])
        reg[r] = rank;
}

// Room for need elements in *p (capacity *cap, doubling from 2, at most max >= need).
// -1: no memory (nothing changed).
static inline int bw_campaign_reserve(void **p, size_t *cap, size_t need, size_t max, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 2;
    if (ncap < need)
        ncap = need;
    if (ncap > max)
        ncap = max;
    void *np = realloc(*p, ncap * size);
    if (!np)
        return -1;
    *p = np;
    *cap = ncap;
    return 0;
}

campaign *bw_campaign_new_one(bw_campaign_index *x, uint64_t id);
void bw_campaign_free_one(bw_campaign_index *x, campaign *c);
// keys and sig_key: the signature's band keys and bw_campaign_sig_key, or NULL (and any
// sig_key) to compute them.
int bw_campaign_rep_add(bw_campaign_index *x, campaign *c, const uint32_t *sig, const uint64_t *keys,
                        uint64_t sig_key);
uint64_t bw_campaign_hll_estimate(const uint8_t *reg);

#endif
