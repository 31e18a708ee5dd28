// SPDX-License-Identifier: MIT
// Botnet inference: campaigns sharing sender IPs (and /24s) within a time window form a
// weighted graph whose communities are the botnets. The work is a sparse co-occurrence
// product: an inverted index IP -> campaigns (the sightings sorted by address), walked
// from each campaign with a dense accumulator, so memory is linear in the sightings and
// the campaigns, never in the candidate pairs. Louvain then runs over the kept edges with
// a fixed node order and tie-breaks that depend only on values, never on input order.
// See docs/botnets.md.
#include "botwatch/botnet.h"
#include "botwatch/sort.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define DAY 86400

void bw_botnet_config_default(bw_botnet_config *c)
{
    memset(c, 0, sizeof *c);
    // DHCP leases of eyeball ISPs last hours to days; a week still catches a zombie that
    // sends two campaigns on two evenings, without joining strangers who inherited it.
    c->ip_window = 7 * DAY;
    c->subnet_window = 7 * DAY;
    // A shared /24 is weaker evidence than a shared IP (a dynamic pool holds many
    // customers, some infected by other families), so it only tips close calls.
    c->subnet_weight = 0.25;
    c->min_weight = 0.02;
    // One shared address is what an open relay, a webmail host or bad luck gives.
    c->min_shared_ips = 2;
    // Zombie pools of different families sit in the same big eyeball ISPs, so two /24s in
    // common happen by chance between a small campaign and a large one of another botnet
    // (measured on spamsim: it merged two botnets under connected components).
    c->min_shared_subnets = 3;
    // A real bot sends tens of campaigns; an address in hundreds is shared infrastructure.
    // This also bounds the pair work: at most max_campaigns_per_ip x sightings.
    c->max_campaigns_per_ip = 256;
    c->max_campaigns_per_subnet = 256;
    c->max_edges_per_campaign = 64;
    c->max_campaigns = 1000000;
    // About 100 bytes of working memory each: 4 M sightings is ~400 MB and ~15 s, the most
    // an end-of-ingest step on a small shared machine should take; callers may raise it.
    c->max_sightings = 4000000;
    c->max_label_bytes = 1024;
    // Zombies sit in many networks; five /24s is more than a mail server cluster or a
    // mailing list uses, and fewer than any botnet campaign worth the name (docs/botnets.md).
    c->min_subnets = 5;
    c->resolution = 1.0;
    c->max_levels = 32;
    c->max_passes = 64;
    c->method = BW_BOTNET_LOUVAIN;
}

// ---- tracked allocation (for stats.memory_bytes) ----------------------------------------

typedef struct mem {
    size_t cur, peak;
    bool failed;
} mem;

typedef struct mhdr {
    size_t size;
    size_t pad;  // keeps the payload 16-byte aligned
} mhdr;

static void *mem_alloc(mem *m, size_t count, size_t size, bool zero)
{
    if (size && count > (SIZE_MAX - sizeof(mhdr)) / size) {
        m->failed = true;
        return NULL;
    }
    size_t n = count * size;
    mhdr *h = zero ? calloc(1, sizeof *h + n) : malloc(sizeof *h + n);
    if (!h) {
        m->failed = true;
        return NULL;
    }
    h->size = n;
    m->cur += n;
    if (m->cur > m->peak)
        m->peak = m->cur;
    return h + 1;
}

static void mem_free(mem *m, void *p)
{
    if (!p)
        return;
    mhdr *h = (mhdr *)p - 1;
    m->cur -= h->size;
    free(h);
}

#define NEW(m, count, type) ((type *)mem_alloc((m), (count), sizeof(type), false))
#define NEWZ(m, count, type) ((type *)mem_alloc((m), (count), sizeof(type), true))

// ---- data ------------------------------------------------------------------------------

typedef struct camp {
    uint64_t id, messages;
    int64_t first, last;
    const char *labels;
    uint32_t rank;        // position by messages desc, id asc
    uint32_t ips, subnets;
    bool admitted;        // its sightings fit under max_sightings
} camp;

typedef struct sight {
    bw_ip ip;
    uint32_t camp;        // node index (campaigns by id)
    int64_t first, last;
} sight;

typedef struct post {     // one campaign in one /24
    uint32_t camp;
    int64_t first, last;
} post;

typedef struct edge {
    uint32_t a, b;
    double w;
} edge;

typedef struct graph {
    size_t n;
    size_t *off;          // n + 1
    uint32_t *nbr;
    double *w;
    double *self;         // internal weight of each node (aggregated levels)
} graph;

typedef struct botnet_rec {
    bw_botnet_info info;
    size_t camp_off, ip_off;
    uint32_t group;
} botnet_rec;

typedef struct camp_map {
    uint64_t campaign_id, botnet_id;
} camp_map;

struct bw_botnet_result {
    size_t count;
    botnet_rec *botnets;
    uint64_t *campaign_ids;
    bw_ip *ips;
    char *labels;
    camp_map *map;        // by campaign id
    size_t map_n;
    bw_botnet_stats stats;
};

static bool subnet_eq(const bw_ip *a, const bw_ip *b)
{
    bool v4a = bw_ip_is_v4(a), v4b = bw_ip_is_v4(b);
    if (v4a != v4b)
        return false;
    return memcmp(a->b, b->b, v4a ? 15 : 8) == 0;   // /24 of the mapped address, or /64
}

// Index of the campaign with this id in camps[0..n) sorted by id, or n.
static size_t find_campaign(const camp *camps, size_t n, uint64_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (camps[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && camps[lo].id == id ? lo : n;
}

static int cmp_camp_id(const void *x, const void *y)
{
    const camp *a = x, *b = y;
    return (a->id > b->id) - (a->id < b->id);
}

static int cmp_camp_rank(const void *x, const void *y)
{
    const camp *a = x, *b = y;
    if (a->messages != b->messages)
        return a->messages > b->messages ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

static int cmp_sight(const void *x, const void *y)
{
    const sight *a = x, *b = y;
    int c = bw_ip_cmp(&a->ip, &b->ip);
    if (c)
        return c;
    return (a->camp > b->camp) - (a->camp < b->camp);
}

// cmp_sight as a strict less-than, for the inlined sort (botwatch/sort.h).
static inline bool sight_less(const sight *a, const sight *b) { return cmp_sight(a, b) < 0; }
BW_DEFINE_SORT(sort_sights, sight, sight_less)

static int cmp_post(const void *x, const void *y)
{
    const post *a = x, *b = y;
    return (a->camp > b->camp) - (a->camp < b->camp);
}

static int cmp_edge(const void *x, const void *y)
{
    const edge *a = x, *b = y;
    if (a->a != b->a)
        return a->a < b->a ? -1 : 1;
    if (a->b != b->b)
        return a->b < b->b ? -1 : 1;
    return (a->w > b->w) - (a->w < b->w);
}

typedef struct cand {
    uint32_t b;
    double w;
} cand;

static int cmp_cand(const void *x, const void *y)
{
    const cand *a = x, *b = y;
    if (a->w != b->w)
        return a->w > b->w ? -1 : 1;
    return (a->b > b->b) - (a->b < b->b);
}

static bool within(int64_t fa, int64_t la, int64_t fb, int64_t lb, int64_t window)
{
    int64_t start = fa > fb ? fa : fb, end = la < lb ? la : lb;
    // Overlapping intervals give start <= end; otherwise the gap between them, computed
    // unsigned: any two int64 times are at most 2^64 - 1 apart (no signed overflow).
    return start <= end || (uint64_t)start - (uint64_t)end <= (uint64_t)window;
}

// ---- graph building --------------------------------------------------------------------

static bool graph_from_edges(mem *m, graph *g, size_t n, const edge *e, size_t ne)
{
    memset(g, 0, sizeof *g);
    g->n = n;
    g->off = NEWZ(m, n + 1, size_t);
    g->self = NEWZ(m, n ? n : 1, double);
    g->nbr = NEW(m, 2 * ne + 1, uint32_t);
    g->w = NEW(m, 2 * ne + 1, double);
    if (!g->off || !g->self || !g->nbr || !g->w)
        return false;
    for (size_t i = 0; i < ne; i++) {
        g->off[e[i].a + 1]++;
        g->off[e[i].b + 1]++;
    }
    for (size_t i = 0; i < n; i++)
        g->off[i + 1] += g->off[i];
    size_t *fill = NEW(m, n ? n : 1, size_t);
    if (!fill)
        return false;
    memcpy(fill, g->off, n * sizeof *fill);
    // Edges are sorted by (a, b): each row comes out sorted by neighbour, because a row's
    // entries from "b" sides (smaller a) precede its own "a" sides (larger b).
    for (size_t i = 0; i < ne; i++) {
        size_t p = fill[e[i].b]++;
        g->nbr[p] = e[i].a;
        g->w[p] = e[i].w;
    }
    for (size_t i = 0; i < ne; i++) {
        size_t p = fill[e[i].a]++;
        g->nbr[p] = e[i].b;
        g->w[p] = e[i].w;
    }
    mem_free(m, fill);
    return true;
}

static void graph_free(mem *m, graph *g)
{
    mem_free(m, g->off);
    mem_free(m, g->nbr);
    mem_free(m, g->w);
    mem_free(m, g->self);
    memset(g, 0, sizeof *g);
}

// ---- Louvain (Blondel et al. 2008) ---------------------------------------------------------

// One local-moving phase on g; comm[] gets community labels (node indices). Returns the
// number of communities after renumbering them 0..k-1 by first node, or SIZE_MAX on OOM.
static size_t louvain_level(mem *m, const graph *g, double resolution, unsigned max_passes, uint32_t *comm)
{
    size_t n = g->n;
    double *k = NEW(m, n, double), *tot = NEW(m, n, double), *cw = NEWZ(m, n, double);
    uint32_t *touched = NEW(m, n, uint32_t);
    bool *seen = NEWZ(m, n, bool);
    size_t result = SIZE_MAX;
    if (!k || !tot || !cw || !touched || !seen)
        goto out;
    double m2 = 0;
    for (size_t i = 0; i < n; i++) {
        double d = 2 * g->self[i];
        for (size_t e = g->off[i]; e < g->off[i + 1]; e++)
            d += g->w[e];
        k[i] = d;
        tot[i] = d;
        comm[i] = (uint32_t)i;
        m2 += d;
    }
    if (m2 > 0) {
        const double eps = 1e-12 * m2;
        for (unsigned pass = 0; pass < max_passes; pass++) {
            size_t moved = 0;
            for (size_t i = 0; i < n; i++) {
                uint32_t c = comm[i];
                size_t nt = 0;
                touched[nt++] = c;
                seen[c] = true;
                for (size_t e = g->off[i]; e < g->off[i + 1]; e++) {
                    uint32_t j = g->nbr[e];
                    if (j == i)
                        continue;
                    uint32_t d = comm[j];
                    if (!seen[d]) {
                        seen[d] = true;
                        touched[nt++] = d;
                    }
                    cw[d] += g->w[e];
                }
                tot[c] -= k[i];
                uint32_t best = c;
                double best_gain = cw[c] - resolution * tot[c] * k[i] / m2;
                for (size_t t = 1; t < nt; t++) {
                    uint32_t d = touched[t];
                    double gain = cw[d] - resolution * tot[d] * k[i] / m2;
                    // Strictly better moves; among equal ones the smallest community, but
                    // never away from the current one on a tie (so passes terminate).
                    if (gain > best_gain + eps || (best != c && fabs(gain - best_gain) <= eps && d < best)) {
                        best = d;
                        best_gain = gain;
                    }
                }
                tot[best] += k[i];
                if (best != c) {
                    comm[i] = best;
                    moved++;
                }
                for (size_t t = 0; t < nt; t++) {
                    cw[touched[t]] = 0;
                    seen[touched[t]] = false;
                }
            }
            if (moved == 0)
                break;
        }
    }
    // Renumber by first node, deterministic.
    uint32_t *map = (uint32_t *)touched;
    for (size_t i = 0; i < n; i++)
        map[i] = UINT32_MAX;
    size_t next = 0;
    for (size_t i = 0; i < n; i++) {
        if (map[comm[i]] == UINT32_MAX)
            map[comm[i]] = (uint32_t)next++;
        comm[i] = map[comm[i]];
    }
    result = next;
out:
    mem_free(m, k);
    mem_free(m, tot);
    mem_free(m, cw);
    mem_free(m, touched);
    mem_free(m, seen);
    return result;
}

static bool graph_aggregate(mem *m, const graph *g, const uint32_t *comm, size_t k, graph *out)
{
    size_t ne = 0;
    for (size_t i = 0; i < g->n; i++)
        for (size_t e = g->off[i]; e < g->off[i + 1]; e++)
            if (g->nbr[e] > i && comm[g->nbr[e]] != comm[i])
                ne++;
    edge *es = NEW(m, ne + 1, edge);
    double *self = NEWZ(m, k ? k : 1, double);
    if (!es || !self) {
        mem_free(m, es);
        mem_free(m, self);
        return false;
    }
    size_t at = 0;
    for (size_t i = 0; i < g->n; i++) {
        self[comm[i]] += g->self[i];
        for (size_t e = g->off[i]; e < g->off[i + 1]; e++) {
            uint32_t j = g->nbr[e];
            if (j <= i)
                continue;
            uint32_t a = comm[i], b = comm[j];
            if (a == b) {
                self[a] += g->w[e];
            } else {
                es[at++] = (edge){ a < b ? a : b, a < b ? b : a, g->w[e] };
            }
        }
    }
    qsort(es, at, sizeof *es, cmp_edge);
    size_t u = 0;
    for (size_t i = 0; i < at; i++) {
        if (u > 0 && es[u - 1].a == es[i].a && es[u - 1].b == es[i].b)
            es[u - 1].w += es[i].w;
        else
            es[u++] = es[i];
    }
    bool ok = graph_from_edges(m, out, k, es, u);
    mem_free(m, es);
    if (ok) {
        memcpy(out->self, self, k * sizeof *self);
    }
    mem_free(m, self);
    return ok;
}

static bool louvain(mem *m, const graph *g0, const bw_botnet_config *cfg, uint32_t *comm, unsigned *levels)
{
    size_t n = g0->n;
    for (size_t i = 0; i < n; i++)
        comm[i] = (uint32_t)i;
    graph cur = *g0;
    bool owned = false, ok = true;
    uint32_t *lc = NEW(m, n ? n : 1, uint32_t);
    if (!lc)
        return false;
    *levels = 0;
    for (unsigned level = 0; level < cfg->max_levels; level++) {
        size_t k = louvain_level(m, &cur, cfg->resolution, cfg->max_passes, lc);
        if (k == SIZE_MAX) {
            ok = false;
            break;
        }
        (*levels)++;
        for (size_t i = 0; i < n; i++)
            comm[i] = lc[comm[i]];
        if (k == cur.n)
            break;
        graph next;
        if (!graph_aggregate(m, &cur, lc, k, &next)) {
            ok = false;
            break;
        }
        if (owned)
            graph_free(m, &cur);
        cur = next;
        owned = true;
    }
    if (owned)
        graph_free(m, &cur);
    mem_free(m, lc);
    return ok;
}

// ---- union-find --------------------------------------------------------------------------

static uint32_t uf_find(uint32_t *p, uint32_t x)
{
    while (p[x] != x) {
        p[x] = p[p[x]];
        x = p[x];
    }
    return x;
}

static void uf_union(uint32_t *p, uint32_t a, uint32_t b)
{
    a = uf_find(p, a);
    b = uf_find(p, b);
    if (a == b)
        return;
    // The smaller index becomes the root: roots do not depend on the union order.
    if (a < b)
        p[b] = a;
    else
        p[a] = b;
}

// ---- labels ------------------------------------------------------------------------------

typedef struct label_vote {
    uint32_t botnet;
    const char *p;
    size_t n;
    uint64_t messages;
} label_vote;

static int cmp_vote(const void *x, const void *y)
{
    const label_vote *a = x, *b = y;
    if (a->botnet != b->botnet)
        return a->botnet < b->botnet ? -1 : 1;
    size_t n = a->n < b->n ? a->n : b->n;
    int c = memcmp(a->p, b->p, n);
    if (c)
        return c;
    return (a->n > b->n) - (a->n < b->n);
}

// Distinct labels (space-separated tokens) of one campaign's string, at most max_bytes of it.
static size_t split_labels(const char *s, size_t max_bytes, uint32_t botnet, uint64_t messages, label_vote *out)
{
    if (!s)
        return 0;
    size_t len = strnlen(s, max_bytes), count = 0;
    for (size_t i = 0; i < len;) {
        while (i < len && (s[i] == ' ' || s[i] == '\t'))
            i++;
        size_t j = i;
        while (j < len && s[j] != ' ' && s[j] != '\t')
            j++;
        if (j > i) {
            bool dup = false;
            for (size_t k = 0; k < count && !dup; k++)
                dup = out[k].n == j - i && memcmp(out[k].p, s + i, j - i) == 0;
            if (!dup)
                out[count++] = (label_vote){ botnet, s + i, j - i, messages };
        }
        i = j;
    }
    return count;
}

// ---- the inference -----------------------------------------------------------------------

typedef struct group_order {
    uint64_t messages, min_id;
    uint32_t group;
    bool distributed;     // sent from at least min_subnets /24s: reported as a botnet
} group_order;

static int cmp_group(const void *x, const void *y)
{
    const group_order *a = x, *b = y;
    if (a->distributed != b->distributed)
        return a->distributed ? -1 : 1;
    if (a->messages != b->messages)
        return a->messages > b->messages ? -1 : 1;
    return (a->min_id > b->min_id) - (a->min_id < b->min_id);
}

static int cmp_map(const void *x, const void *y)
{
    const camp_map *a = x, *b = y;
    return (a->campaign_id > b->campaign_id) - (a->campaign_id < b->campaign_id);
}

static bw_status check_config(const bw_botnet_config *c, char *errbuf)
{
    if (c->ip_window < 0 || c->subnet_window < 0)
        return bw_error(errbuf, BW_ERR_INVALID, "botnet: negative time window");
    if (!(c->subnet_weight >= 0 && c->subnet_weight <= 1e6) || !(c->min_weight >= 0 && c->min_weight <= 1))
        return bw_error(errbuf, BW_ERR_INVALID, "botnet: subnet_weight or min_weight out of range");
    if (!(c->resolution > 0 && c->resolution <= 1e6))
        return bw_error(errbuf, BW_ERR_INVALID, "botnet: resolution must be > 0");
    if (c->max_campaigns == 0 || c->max_campaigns >= UINT32_MAX || c->max_sightings >= UINT32_MAX ||
        c->max_edges_per_campaign == 0 || c->max_levels == 0 || c->max_passes == 0)
        return bw_error(errbuf, BW_ERR_INVALID, "botnet: a limit is 0 or above 2^32-1");
    if (c->method != BW_BOTNET_LOUVAIN && c->method != BW_BOTNET_COMPONENTS)
        return bw_error(errbuf, BW_ERR_INVALID, "botnet: unknown method %d", (int)c->method);
    return BW_OK;
}

typedef struct work {
    mem m;
    camp *camps;
    sight *sights;
    uint32_t *ip_group;        // sight -> IP group
    size_t *ipg_off;           // IP group -> first sight
    size_t nipg;
    post *posts;               // /24 postings, grouped by /24
    uint32_t *post_group;
    size_t *subg_off;
    size_t nsubg;
    size_t *camp_sight_off;    // campaign -> its sights (indices)
    uint32_t *camp_sights;
    size_t *camp_post_off;
    uint32_t *camp_posts;
    edge *edges;
    graph g;
    uint32_t *comm;
    uint32_t *parent;
    label_vote *votes;
    group_order *order;
    uint32_t *botnet_of;       // node -> botnet index (0-based, by final order)
    uint32_t *by_botnet;       // sights ordered by botnet, then IP
} work;

static void work_free(work *w)
{
    mem *m = &w->m;
    mem_free(m, w->camps);
    mem_free(m, w->sights);
    mem_free(m, w->ip_group);
    mem_free(m, w->ipg_off);
    mem_free(m, w->posts);
    mem_free(m, w->post_group);
    mem_free(m, w->subg_off);
    mem_free(m, w->camp_sight_off);
    mem_free(m, w->camp_sights);
    mem_free(m, w->camp_post_off);
    mem_free(m, w->camp_posts);
    mem_free(m, w->edges);
    graph_free(m, &w->g);
    mem_free(m, w->comm);
    mem_free(m, w->parent);
    mem_free(m, w->votes);
    mem_free(m, w->order);
    mem_free(m, w->botnet_of);
    mem_free(m, w->by_botnet);
}

// Campaign -> indices of its entries, as CSR, from a per-entry campaign function.
static bool build_reverse(mem *m, size_t ncamp, size_t nentries, const void *entries, size_t stride,
                          size_t camp_offset, size_t **off_out, uint32_t **idx_out)
{
    size_t *off = NEWZ(m, ncamp + 1, size_t);
    uint32_t *idx = NEW(m, nentries ? nentries : 1, uint32_t);
    size_t *fill = NEW(m, ncamp ? ncamp : 1, size_t);
    if (!off || !idx || !fill) {
        mem_free(m, off);
        mem_free(m, idx);
        mem_free(m, fill);
        return false;
    }
    const char *base = entries;
    for (size_t i = 0; i < nentries; i++) {
        uint32_t c;
        memcpy(&c, base + i * stride + camp_offset, sizeof c);
        off[c + 1]++;
    }
    for (size_t i = 0; i < ncamp; i++)
        off[i + 1] += off[i];
    memcpy(fill, off, ncamp * sizeof *fill);
    for (size_t i = 0; i < nentries; i++) {
        uint32_t c;
        memcpy(&c, base + i * stride + camp_offset, sizeof c);
        idx[fill[c]++] = (uint32_t)i;
    }
    mem_free(m, fill);
    *off_out = off;
    *idx_out = idx;
    return true;
}

bw_status bw_botnet_infer(const bw_botnet_config *config, const bw_botnet_campaign *campaigns, size_t ncampaigns,
                          const bw_botnet_sighting *sightings, size_t nsightings, bw_botnet_result **out,
                          char *errbuf)
{
    bw_botnet_config defaults;
    if (!config) {
        bw_botnet_config_default(&defaults);
        config = &defaults;
    }
    const bw_botnet_config *cfg = config;
    if (!out || (ncampaigns && !campaigns) || (nsightings && !sightings))
        return bw_error(errbuf, BW_ERR_INVALID, "botnet: NULL argument");
    *out = NULL;
    bw_status st = check_config(cfg, errbuf);
    if (st != BW_OK)
        return st;

    work w;
    memset(&w, 0, sizeof w);
    mem *m = &w.m;
    bw_botnet_stats stats;
    memset(&stats, 0, sizeof stats);
    bw_botnet_result *res = NULL;

    // Campaigns: the max_campaigns largest, then by id (the node order).
    w.camps = NEW(m, ncampaigns ? ncampaigns : 1, camp);
    if (!w.camps)
        goto nomem;
    for (size_t i = 0; i < ncampaigns; i++)
        w.camps[i] = (camp){ campaigns[i].id, campaigns[i].messages, campaigns[i].first_seen,
                             campaigns[i].last_seen, campaigns[i].labels, 0, 0, 0, false };
    qsort(w.camps, ncampaigns, sizeof *w.camps, cmp_camp_id);
    for (size_t i = 1; i < ncampaigns; i++)
        if (w.camps[i].id == w.camps[i - 1].id) {
            st = bw_error(errbuf, BW_ERR_INVALID, "botnet: campaign id %llu given twice",
                          (unsigned long long)w.camps[i].id);
            goto fail;
        }
    size_t n = ncampaigns;
    if (n > cfg->max_campaigns) {
        qsort(w.camps, n, sizeof *w.camps, cmp_camp_rank);
        stats.campaigns_dropped = n - cfg->max_campaigns;
        n = cfg->max_campaigns;
        qsort(w.camps, n, sizeof *w.camps, cmp_camp_id);
        qsort(w.camps + n, ncampaigns - n, sizeof *w.camps, cmp_camp_id);
    }
    stats.campaigns = n;
    {
        // rank: messages desc, id asc (for the sightings cap)
        group_order *ro = NEW(m, n ? n : 1, group_order);
        if (!ro)
            goto nomem;
        for (size_t i = 0; i < n; i++)
            ro[i] = (group_order){ w.camps[i].messages, w.camps[i].id, (uint32_t)i, false };
        qsort(ro, n, sizeof *ro, cmp_group);
        for (size_t i = 0; i < n; i++)
            w.camps[ro[i].group].rank = (uint32_t)i;
        mem_free(m, ro);
    }

    // Sightings -> node indices, in two passes so that no more than max_sightings are
    // ever copied: the first counts each campaign's sightings, then whole campaigns are
    // admitted by rank (messages desc, id asc) while they fit; the second copies those.
    size_t ns = 0;
    {
        uint32_t *cnt = NEWZ(m, n ? n : 1, uint32_t);
        uint32_t *by_rank = NEW(m, n ? n : 1, uint32_t);
        if (!cnt || !by_rank) {
            mem_free(m, cnt);
            mem_free(m, by_rank);
            goto nomem;
        }
        for (size_t i = 0; i < nsightings; i++) {
            size_t c = find_campaign(w.camps, n, sightings[i].campaign_id);
            if (c < n && cnt[c] < UINT32_MAX)
                cnt[c]++;
        }
        for (size_t i = 0; i < n; i++)
            by_rank[w.camps[i].rank] = (uint32_t)i;
        size_t admitted = 0;
        bool full = false;
        for (size_t r = 0; r < n; r++) {
            camp *c = &w.camps[by_rank[r]];
            if (!full && cnt[by_rank[r]] <= cfg->max_sightings - admitted) {
                admitted += cnt[by_rank[r]];
                c->admitted = true;
            } else {
                full = true;   // later (smaller) campaigns are not let in past a bigger one
                c->admitted = false;
            }
        }
        mem_free(m, cnt);
        mem_free(m, by_rank);
        w.sights = NEW(m, admitted ? admitted : 1, sight);
        if (!w.sights)
            goto nomem;
    }
    for (size_t i = 0; i < nsightings; i++) {
        const bw_botnet_sighting *s = &sightings[i];
        size_t lo = find_campaign(w.camps, n, s->campaign_id);
        if (lo == n) {
            // A campaign cut by max_campaigns, or none at all.
            if (ncampaigns > n && find_campaign(w.camps + n, ncampaigns - n, s->campaign_id) < ncampaigns - n)
                stats.sightings_dropped++;
            else
                stats.sightings_unknown++;
            continue;
        }
        if (!w.camps[lo].admitted) {
            stats.sightings_dropped++;
            continue;
        }
        int64_t first = s->first_seen, last = s->last_seen;
        if (last < first) {
            int64_t t = first;
            first = last;
            last = t;
        }
        w.sights[ns++] = (sight){ s->ip, (uint32_t)lo, first, last };
    }
    if (!sort_sights(w.sights, ns))
        qsort(w.sights, ns, sizeof *w.sights, cmp_sight);
    {
        size_t u = 0;
        for (size_t i = 0; i < ns; i++) {
            if (u > 0 && w.sights[u - 1].camp == w.sights[i].camp && bw_ip_cmp(&w.sights[u - 1].ip, &w.sights[i].ip) == 0) {
                sight *p = &w.sights[u - 1];
                if (w.sights[i].first < p->first)
                    p->first = w.sights[i].first;
                if (w.sights[i].last > p->last)
                    p->last = w.sights[i].last;
            } else {
                w.sights[u++] = w.sights[i];
            }
        }
        ns = u;
    }
    stats.sightings = ns;

    // IP groups (the inverted index IP -> campaigns is the sorted array itself).
    w.ip_group = NEW(m, ns ? ns : 1, uint32_t);
    w.ipg_off = NEW(m, ns + 1, size_t);
    if (!w.ip_group || !w.ipg_off)
        goto nomem;
    for (size_t i = 0; i < ns; i++) {
        if (i == 0 || bw_ip_cmp(&w.sights[i - 1].ip, &w.sights[i].ip) != 0)
            w.ipg_off[w.nipg++] = i;
        w.ip_group[i] = (uint32_t)(w.nipg - 1);
        w.camps[w.sights[i].camp].ips++;
    }
    w.ipg_off[w.nipg] = ns;
    stats.distinct_ips = w.nipg;

    // /24 postings: per /24, one entry per campaign with the hull of its sightings there.
    w.posts = NEW(m, ns ? ns : 1, post);
    w.post_group = NEW(m, ns ? ns : 1, uint32_t);
    w.subg_off = NEW(m, ns + 1, size_t);
    if (!w.posts || !w.post_group || !w.subg_off)
        goto nomem;
    size_t np = 0;
    for (size_t i = 0; i < ns;) {
        size_t j = i + 1;
        while (j < ns && subnet_eq(&w.sights[i].ip, &w.sights[j].ip))
            j++;
        size_t start = np;
        for (size_t k = i; k < j; k++)
            w.posts[np++] = (post){ w.sights[k].camp, w.sights[k].first, w.sights[k].last };
        qsort(w.posts + start, np - start, sizeof *w.posts, cmp_post);
        size_t u = start;
        for (size_t k = start; k < np; k++) {
            if (u > start && w.posts[u - 1].camp == w.posts[k].camp) {
                if (w.posts[k].first < w.posts[u - 1].first)
                    w.posts[u - 1].first = w.posts[k].first;
                if (w.posts[k].last > w.posts[u - 1].last)
                    w.posts[u - 1].last = w.posts[k].last;
            } else {
                w.posts[u++] = w.posts[k];
            }
        }
        np = u;
        w.subg_off[w.nsubg] = start;
        for (size_t k = start; k < np; k++) {
            w.post_group[k] = (uint32_t)w.nsubg;
            w.camps[w.posts[k].camp].subnets++;
        }
        w.nsubg++;
        i = j;
    }
    w.subg_off[w.nsubg] = np;
    stats.distinct_subnets = w.nsubg;
    for (size_t g = 0; g < w.nipg; g++)
        if (w.ipg_off[g + 1] - w.ipg_off[g] > cfg->max_campaigns_per_ip)
            stats.ips_too_shared++;
    for (size_t g = 0; g < w.nsubg; g++)
        if (w.subg_off[g + 1] - w.subg_off[g] > cfg->max_campaigns_per_subnet)
            stats.subnets_too_shared++;

    if (!build_reverse(m, n, ns, w.sights, sizeof *w.sights, offsetof(sight, camp), &w.camp_sight_off,
                       &w.camp_sights) ||
        !build_reverse(m, n, np, w.posts, sizeof *w.posts, offsetof(post, camp), &w.camp_post_off, &w.camp_posts))
        goto nomem;

    // Edges: per campaign a, the shared IPs and /24s with every other campaign, accumulated
    // densely; the heaviest max_edges_per_campaign are kept from each side.
    size_t ne = 0, ecap = 0;
    uint64_t candidates = 0;
    {
        uint32_t *acc_ip = NEWZ(m, n ? n : 1, uint32_t), *acc_sub = NEWZ(m, n ? n : 1, uint32_t);
        uint32_t *touched = NEW(m, n ? n : 1, uint32_t);
        cand *cands = NEW(m, n ? n : 1, cand);
        bool ok = acc_ip && acc_sub && touched && cands;
        for (size_t a = 0; ok && a < n; a++) {
            size_t nt = 0;
            for (size_t x = w.camp_sight_off[a]; x < w.camp_sight_off[a + 1]; x++) {
                const sight *s = &w.sights[w.camp_sights[x]];
                uint32_t g = w.ip_group[w.camp_sights[x]];
                size_t lo = w.ipg_off[g], hi = w.ipg_off[g + 1];
                if (hi - lo > cfg->max_campaigns_per_ip)
                    continue;
                for (size_t t = lo; t < hi; t++) {
                    const sight *o = &w.sights[t];
                    if (o->camp == a)
                        continue;
                    stats.pairs_checked++;
                    if (!within(s->first, s->last, o->first, o->last, cfg->ip_window)) {
                        stats.pairs_outside_window++;
                        continue;
                    }
                    if (acc_ip[o->camp] == 0 && acc_sub[o->camp] == 0)
                        touched[nt++] = o->camp;
                    acc_ip[o->camp]++;
                }
            }
            for (size_t x = w.camp_post_off[a]; x < w.camp_post_off[a + 1]; x++) {
                const post *s = &w.posts[w.camp_posts[x]];
                uint32_t g = w.post_group[w.camp_posts[x]];
                size_t lo = w.subg_off[g], hi = w.subg_off[g + 1];
                if (hi - lo > cfg->max_campaigns_per_subnet)
                    continue;
                for (size_t t = lo; t < hi; t++) {
                    const post *o = &w.posts[t];
                    if (o->camp == a)
                        continue;
                    stats.pairs_checked++;
                    if (!within(s->first, s->last, o->first, o->last, cfg->subnet_window)) {
                        stats.pairs_outside_window++;
                        continue;
                    }
                    if (acc_ip[o->camp] == 0 && acc_sub[o->camp] == 0)
                        touched[nt++] = o->camp;
                    acc_sub[o->camp]++;
                }
            }
            size_t nc = 0;
            for (size_t t = 0; t < nt; t++) {
                uint32_t b = touched[t];
                const camp *ca = &w.camps[a], *cb = &w.camps[b];
                double ip_part = 0, sub_part = 0;
                if (acc_ip[b] >= cfg->min_shared_ips && acc_ip[b] > 0) {
                    uint32_t mn = ca->ips < cb->ips ? ca->ips : cb->ips;
                    ip_part = (double)acc_ip[b] / (double)mn;
                }
                if (acc_sub[b] >= cfg->min_shared_subnets && acc_sub[b] > 0) {
                    uint32_t mn = ca->subnets < cb->subnets ? ca->subnets : cb->subnets;
                    sub_part = (double)acc_sub[b] / (double)mn;
                }
                double weight = (ip_part + cfg->subnet_weight * sub_part) / (1 + cfg->subnet_weight);
                acc_ip[b] = acc_sub[b] = 0;
                if (weight <= 0)
                    continue;
                if (weight < cfg->min_weight) {
                    if (b > a)
                        stats.edges_light++;
                    continue;
                }
                cands[nc++] = (cand){ b, weight };
            }
            candidates += nc;
            if (nc > cfg->max_edges_per_campaign) {
                qsort(cands, nc, sizeof *cands, cmp_cand);
                nc = cfg->max_edges_per_campaign;
            }
            if (ne + nc > ecap) {
                size_t nc2 = ecap ? ecap * 2 : 1024;
                while (nc2 < ne + nc)
                    nc2 *= 2;
                edge *e2 = NEW(m, nc2, edge);
                if (!e2) {
                    ok = false;
                    break;
                }
                if (ne)
                    memcpy(e2, w.edges, ne * sizeof *e2);
                mem_free(m, w.edges);
                w.edges = e2;
                ecap = nc2;
            }
            for (size_t c = 0; c < nc; c++) {
                uint32_t b = cands[c].b;
                w.edges[ne++] = (edge){ a < b ? (uint32_t)a : b, a < b ? b : (uint32_t)a, cands[c].w };
            }
        }
        mem_free(m, acc_ip);
        mem_free(m, acc_sub);
        mem_free(m, touched);
        mem_free(m, cands);
        if (!ok)
            goto nomem;
    }
    // The inverted index is no longer needed; the sightings are (IP statistics).
    mem_free(m, w.posts);
    mem_free(m, w.post_group);
    mem_free(m, w.subg_off);
    mem_free(m, w.camp_sight_off);
    mem_free(m, w.camp_sights);
    mem_free(m, w.camp_post_off);
    mem_free(m, w.camp_posts);
    w.posts = NULL;
    w.post_group = NULL;
    w.subg_off = NULL;
    w.camp_sight_off = NULL;
    w.camp_sights = NULL;
    w.camp_post_off = NULL;
    w.camp_posts = NULL;

    if (ne)
        qsort(w.edges, ne, sizeof *w.edges, cmp_edge);
    {
        size_t u = 0;
        for (size_t i = 0; i < ne; i++)
            if (u == 0 || w.edges[u - 1].a != w.edges[i].a || w.edges[u - 1].b != w.edges[i].b)
                w.edges[u++] = w.edges[i];
        ne = u;
    }
    stats.edges = ne;
    stats.edges_dropped = (size_t)(candidates / 2 > ne ? candidates / 2 - ne : 0);
    if (!graph_from_edges(m, &w.g, n, w.edges, ne))
        goto nomem;

    // Communities.
    w.comm = NEW(m, n ? n : 1, uint32_t);
    w.parent = NEW(m, n ? n : 1, uint32_t);
    if (!w.comm || !w.parent)
        goto nomem;
    if (cfg->method == BW_BOTNET_LOUVAIN) {
        if (!louvain(m, &w.g, cfg, w.comm, &stats.levels))
            goto nomem;
    } else {
        for (size_t i = 0; i < n; i++)
            w.comm[i] = 0;   // one community: the split below yields the components
    }
    // Split every community into its connected parts (Louvain may leave a community
    // connected only through others); the root is the smallest node of each part.
    for (size_t i = 0; i < n; i++)
        w.parent[i] = (uint32_t)i;
    for (size_t i = 0; i < ne; i++)
        if (w.comm[w.edges[i].a] == w.comm[w.edges[i].b])
            uf_union(w.parent, w.edges[i].a, w.edges[i].b);
    for (size_t i = 0; i < n; i++)
        w.comm[i] = uf_find(w.parent, (uint32_t)i);
    {
        // Modularity of the final partition (resolution 1).
        double m2 = 0, in = 0;
        double *tot = NEWZ(m, n ? n : 1, double);
        if (!tot)
            goto nomem;
        for (size_t i = 0; i < ne; i++) {
            m2 += 2 * w.edges[i].w;
            tot[w.comm[w.edges[i].a]] += w.edges[i].w;
            tot[w.comm[w.edges[i].b]] += w.edges[i].w;
            if (w.comm[w.edges[i].a] == w.comm[w.edges[i].b])
                in += 2 * w.edges[i].w;
        }
        double q = 0;
        if (m2 > 0) {
            q = in / m2;
            for (size_t i = 0; i < n; i++)
                q -= (tot[i] / m2) * (tot[i] / m2);
        }
        stats.modularity = q;
        mem_free(m, tot);
    }

    // Botnets: groups ordered by messages desc, smallest member id asc; the groups reported
    // as botnets (distributed senders) first, so that ids 1..reported are the botnets and the
    // rest stay internal (their campaigns map to botnet 0).
    size_t nb = 0, reported = 0;
    w.order = NEW(m, n ? n : 1, group_order);
    w.botnet_of = NEW(m, n ? n : 1, uint32_t);
    if (!w.order || !w.botnet_of)
        goto nomem;
    {
        uint32_t *gi = w.parent;   // reuse: root -> group index
        for (size_t i = 0; i < n; i++)
            gi[i] = UINT32_MAX;
        for (size_t i = 0; i < n; i++) {
            uint32_t r = w.comm[i];
            if (gi[r] == UINT32_MAX) {
                gi[r] = (uint32_t)nb;
                w.order[nb++] = (group_order){ 0, w.camps[i].id, 0, false };   // nodes are in id order
            }
            w.order[gi[r]].messages += w.camps[i].messages;
            w.comm[i] = gi[r];
        }
        for (size_t b = 0; b < nb; b++) {
            w.order[b].group = (uint32_t)b;
            w.order[b].distributed = cfg->min_subnets == 0;   // groups without sightings too
        }
        // Distinct /24s per group: the sightings (in IP order) counting-sorted by group keep
        // IP order inside each group, so a new /24 is a change from the previous sighting.
        // A group sent from fewer than min_subnets networks is not reported as a botnet (a
        // mailing-list server, one user, a one-message fragment): its campaigns get no botnet.
        size_t *cnt = NEWZ(m, nb + 1, size_t);
        uint32_t *by_group = NEW(m, ns ? ns : 1, uint32_t);
        if (!cnt || !by_group) {
            mem_free(m, cnt);
            mem_free(m, by_group);
            goto nomem;
        }
        for (size_t i = 0; i < ns; i++)
            cnt[w.comm[w.sights[i].camp] + 1]++;
        for (size_t b = 0; b < nb; b++)
            cnt[b + 1] += cnt[b];
        for (size_t i = 0; i < ns; i++)
            by_group[cnt[w.comm[w.sights[i].camp]]++] = (uint32_t)i;
        for (size_t i = 0; i < ns;) {
            uint32_t g = w.comm[w.sights[by_group[i]].camp];
            uint64_t subnets = 0;
            const bw_ip *prev = NULL;
            for (; i < ns && w.comm[w.sights[by_group[i]].camp] == g; i++) {
                const bw_ip *ip = &w.sights[by_group[i]].ip;
                if (!prev || !subnet_eq(prev, ip))
                    subnets++;
                prev = ip;
            }
            w.order[g].distributed = subnets >= cfg->min_subnets;
        }
        mem_free(m, cnt);
        mem_free(m, by_group);
        qsort(w.order, nb, sizeof *w.order, cmp_group);
        while (reported < nb && w.order[reported].distributed)
            reported++;
        for (size_t b = 0; b < nb; b++)
            gi[w.order[b].group] = (uint32_t)b;
        for (size_t i = 0; i < n; i++)
            w.botnet_of[i] = gi[w.comm[i]];
    }
    stats.botnets = reported;
    stats.campaigns_unattributed = 0;
    for (size_t i = 0; i < n; i++)
        if (w.botnet_of[i] >= reported)
            stats.campaigns_unattributed++;

    res = calloc(1, sizeof *res);
    if (!res)
        goto nomem;
    res->count = reported;
    res->botnets = calloc(nb ? nb : 1, sizeof *res->botnets);
    res->campaign_ids = malloc((n ? n : 1) * sizeof *res->campaign_ids);
    res->map = malloc((ncampaigns ? ncampaigns : 1) * sizeof *res->map);
    if (!res->botnets || !res->campaign_ids || !res->map)
        goto nomem;
    for (size_t b = 0; b < nb; b++) {
        bw_botnet_info *bi = &res->botnets[b].info;
        bi->id = b + 1;
        bi->first_seen = INT64_MAX;
        bi->last_seen = INT64_MIN;
    }
    for (size_t i = 0; i < n; i++) {
        bw_botnet_info *bi = &res->botnets[w.botnet_of[i]].info;
        bi->campaigns++;
        bi->messages += w.camps[i].messages;
        if (w.camps[i].first < bi->first_seen)
            bi->first_seen = w.camps[i].first;
        if (w.camps[i].last > bi->last_seen)
            bi->last_seen = w.camps[i].last;
    }
    {
        size_t at = 0;
        for (size_t b = 0; b < nb; b++) {
            res->botnets[b].camp_off = at;
            at += res->botnets[b].info.campaigns;
            res->botnets[b].info.campaigns = 0;
        }
        for (size_t i = 0; i < n; i++) {
            botnet_rec *r = &res->botnets[w.botnet_of[i]];
            res->campaign_ids[r->camp_off + r->info.campaigns++] = w.camps[i].id;
        }
    }
    // Every input campaign in the map; dropped ones have botnet 0.
    {
        size_t at = 0;
        for (size_t i = 0; i < n; i++)
            res->map[at++] = (camp_map){ w.camps[i].id, w.botnet_of[i] < reported ? (uint64_t)w.botnet_of[i] + 1 : 0 };
        for (size_t i = n; i < ncampaigns; i++)
            res->map[at++] = (camp_map){ w.camps[i].id, 0 };
        res->map_n = at;
        qsort(res->map, at, sizeof *res->map, cmp_map);
    }

    // Distinct IPs and /24s per botnet: the sightings (in IP order) counting-sorted by
    // botnet keep IP order inside each botnet.
    w.by_botnet = NEW(m, ns ? ns : 1, uint32_t);
    if (!w.by_botnet)
        goto nomem;
    {
        size_t *cnt = NEWZ(m, nb + 1, size_t);
        if (!cnt)
            goto nomem;
        for (size_t i = 0; i < ns; i++)
            cnt[w.botnet_of[w.sights[i].camp] + 1]++;
        for (size_t b = 0; b < nb; b++)
            cnt[b + 1] += cnt[b];
        for (size_t i = 0; i < ns; i++)
            w.by_botnet[cnt[w.botnet_of[w.sights[i].camp]]++] = (uint32_t)i;
        mem_free(m, cnt);
        size_t distinct = 0;
        for (size_t i = 0; i < ns; i++)
            if (i == 0 || w.botnet_of[w.sights[w.by_botnet[i]].camp] != w.botnet_of[w.sights[w.by_botnet[i - 1]].camp] ||
                bw_ip_cmp(&w.sights[w.by_botnet[i]].ip, &w.sights[w.by_botnet[i - 1]].ip) != 0)
                distinct++;
        res->ips = malloc((distinct ? distinct : 1) * sizeof *res->ips);
        if (!res->ips)
            goto nomem;
        size_t at = 0;
        for (size_t i = 0; i < ns;) {
            uint32_t b = w.botnet_of[w.sights[w.by_botnet[i]].camp];
            botnet_rec *r = &res->botnets[b];
            r->ip_off = at;
            const bw_ip *prev = NULL;
            for (; i < ns && w.botnet_of[w.sights[w.by_botnet[i]].camp] == b; i++) {
                const bw_ip *ip = &w.sights[w.by_botnet[i]].ip;
                if (prev && bw_ip_cmp(prev, ip) == 0)
                    continue;
                if (!prev || !subnet_eq(prev, ip))
                    r->info.subnets24++;
                res->ips[at++] = *ip;
                r->info.sender_ips++;
                prev = ip;
            }
        }
    }

    // Labels: per botnet, the message-weighted vote of its campaigns' distinct labels.
    {
        size_t nv = 0, vcap = 0;
        for (size_t i = 0; i < n; i++) {
            const char *s = w.camps[i].labels;
            if (s) {
                size_t len = strnlen(s, cfg->max_label_bytes);
                vcap += len / 2 + 1;   // tokens are separated, so at most half the bytes + 1
            }
        }
        w.votes = NEW(m, vcap ? vcap : 1, label_vote);
        if (!w.votes)
            goto nomem;
        for (size_t i = 0; i < n; i++)
            nv += split_labels(w.camps[i].labels, cfg->max_label_bytes, w.botnet_of[i], w.camps[i].messages,
                               w.votes + nv);
        qsort(w.votes, nv, sizeof *w.votes, cmp_vote);
        // winners: index of the best vote per botnet
        size_t *best = NEW(m, nb ? nb : 1, size_t);
        uint64_t *best_sum = NEWZ(m, nb ? nb : 1, uint64_t);
        if (!best || !best_sum) {
            mem_free(m, best);
            mem_free(m, best_sum);
            goto nomem;
        }
        size_t label_bytes = 0;
        for (size_t i = 0; i < nv;) {
            size_t j = i;
            uint64_t sum = 0;
            while (j < nv && cmp_vote(&w.votes[i], &w.votes[j]) == 0)
                sum += w.votes[j++].messages;
            uint32_t b = w.votes[i].botnet;
            // Sorted by label, so the first of equal sums is the smallest label.
            if (sum > best_sum[b]) {
                best_sum[b] = sum;
                best[b] = i;
            }
            i = j;
        }
        for (size_t b = 0; b < nb; b++)
            if (best_sum[b] > 0 && best_sum[b] > res->botnets[b].info.messages - best_sum[b])
                label_bytes += w.votes[best[b]].n + 1;
        res->labels = malloc(label_bytes + 1);
        if (!res->labels) {
            mem_free(m, best);
            mem_free(m, best_sum);
            goto nomem;
        }
        res->labels[label_bytes] = '\0';
        size_t at = 0;
        for (size_t b = 0; b < nb; b++) {
            bw_botnet_info *bi = &res->botnets[b].info;
            if (best_sum[b] > 0 && best_sum[b] > bi->messages - best_sum[b]) {
                const label_vote *v = &w.votes[best[b]];
                memcpy(res->labels + at, v->p, v->n);
                res->labels[at + v->n] = '\0';
                bi->label = res->labels + at;
                at += v->n + 1;
            } else {
                bi->label = res->labels + label_bytes;   // ""
            }
        }
        mem_free(m, best);
        mem_free(m, best_sum);
    }
    for (size_t b = 0; b < nb; b++) {
        botnet_rec *r = &res->botnets[b];
        r->info.campaign_ids = res->campaign_ids + r->camp_off;
        r->info.ips = res->ips + r->ip_off;
        r->info.ip_count = (size_t)r->info.sender_ips;
        if (r->info.campaigns == 0 || r->info.first_seen == INT64_MAX) {
            r->info.first_seen = 0;
            r->info.last_seen = 0;
        }
    }
    stats.memory_bytes = m->peak;
    res->stats = stats;
    work_free(&w);
    *out = res;
    return BW_OK;

nomem:
    st = bw_error(errbuf, BW_ERR_NOMEM, "botnet: out of memory");
fail:
    bw_botnet_result_free(res);
    work_free(&w);
    return st;
}

void bw_botnet_result_free(bw_botnet_result *r)
{
    if (!r)
        return;
    free(r->botnets);
    free(r->campaign_ids);
    free(r->ips);
    free(r->labels);
    free(r->map);
    free(r);
}

size_t bw_botnet_result_count(const bw_botnet_result *r) { return r ? r->count : 0; }

bw_status bw_botnet_result_get(const bw_botnet_result *r, uint64_t id, bw_botnet_info *out)
{
    if (!r || id == 0 || id > r->count)
        return BW_ERR_NOTFOUND;
    *out = r->botnets[id - 1].info;
    return BW_OK;
}

uint64_t bw_botnet_result_campaign(const bw_botnet_result *r, uint64_t campaign_id)
{
    if (!r)
        return 0;
    size_t lo = 0, hi = r->map_n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->map[mid].campaign_id < campaign_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < r->map_n && r->map[lo].campaign_id == campaign_id ? r->map[lo].botnet_id : 0;
}

void bw_botnet_result_stats(const bw_botnet_result *r, bw_botnet_stats *out)
{
    if (r)
        *out = r->stats;
    else
        memset(out, 0, sizeof *out);
}
