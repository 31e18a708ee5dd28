// SPDX-License-Identifier: MIT
// The flowscore engine: streaming aggregation of bw_flow records into per-pair state, then
// scoring at finish. Pairs (src, dst, dport, proto) live in one array indexed by an
// open-addressing table hashed with keyed SipHash (addresses and ports are chosen by
// whoever sends the traffic: CONVENTIONS 9). Each pair keeps its most recent calls in a
// ring capped by max_events_per_pair; the pair count is capped by max_pairs; both overflows
// are counted, never fatal. At finish, (src, dst) groups are scored by worker threads that
// split the groups by hash; each result depends only on its group and the seed, so the
// report is the same with any thread count.
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "botwatch/flowscore.h"
#include "botwatch/hash.h"
#include "flowscore_internal.h"

typedef struct fs_event {
    double ts;
    uint32_t bytes;     // orig bytes, saturated
    uint32_t failed;
} fs_event;

typedef struct fs_pair {
    bw_ip src, dst;
    uint16_t dport;
    uint8_t proto;
    uint8_t src_internal, dst_internal;
    uint32_t n_ev, cap_ev, head;   // ring: head is the oldest once n_ev == max
    fs_event *ev;
    uint64_t calls, failed, orig_bytes, resp_bytes;
    double first, last;
    uint64_t group_hash;           // hash of (src, dst): the thread partition key
} fs_pair;

typedef struct dst_count {
    bw_ip dst;
    unsigned hosts;
} dst_count;

typedef struct beacon_vec {
    bw_beacon *v;
    size_t n, cap;
    bool nomem;
} beacon_vec;

struct bw_flowscore {
    bw_flowscore_options opts;
    bw_cidr default_internal[4];
    bw_hash_key key;
    fs_pair *pairs;
    size_t n_pairs, cap_pairs;
    uint32_t *index;               // pair index + 1; 0 = empty
    size_t index_cap;              // power of two
    bw_flowscore_stats stats;
    bool finished;
    // Results
    bw_beacon *beacons;
    size_t n_beacons;
    bw_cc_candidate *cc;
    size_t n_cc;
    bw_p2p_host *p2p;
    size_t n_p2p;
    bw_smtp_host *smtp;
    size_t n_smtp;
    // Finish-time helpers
    size_t *order;                 // pair indices sorted by (src, dst)
    size_t *group_start;           // group g = order[group_start[g] .. group_start[g+1])
    size_t n_groups;
    dst_count *dst_hosts;
    size_t n_dst_hosts;
};

static const char *const default_internal_text[4] = { "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                                       "fc00::/7" };

bw_flowscore *bw_flowscore_new(const bw_flowscore_options *opts, char *errbuf)
{
    bw_flowscore *fs = calloc(1, sizeof *fs);
    if (!fs) {
        bw_error(errbuf, BW_ERR_NOMEM, "flowscore: out of memory");
        return NULL;
    }
    if (opts)
        fs->opts = *opts;
    else
        bw_flowscore_options_default(&fs->opts);
    const bw_flowscore_options *o = &fs->opts;
    if (o->limits.max_pairs == 0 || o->limits.max_pairs >= UINT32_MAX / 2 || o->limits.max_events_per_pair < 2 ||
        o->limits.max_events_per_pair >= UINT32_MAX / 2 || o->min_calls < 3 || o->max_harmonic < 1 ||
        o->jitter_tolerance <= 0 || o->jitter_tolerance >= 0.5 || o->madm_ref <= 0 || o->threads == 0 ||
        o->threads > 64 || !(o->burst_merge_s >= 0) || o->permutations > 10000 || !(o->coverage_bins >= 1) ||
        o->coverage_bins > 4096 || !(o->threshold >= 0) || !(o->persistence_s >= 0) || !isfinite(o->min_z) ||
        !(o->prevalence_floor >= 0 && o->prevalence_floor <= 1)) {
        bw_error(errbuf, BW_ERR_INVALID, "flowscore: invalid options (a limit is 0 or out of range)");
        free(fs);
        return NULL;
    }
    if (o->n_internal == 0) {
        for (int i = 0; i < 4; i++)
            bw_cidr_parse(bw_slice_cstr(default_internal_text[i]), &fs->default_internal[i]);
        fs->opts.internal = fs->default_internal;
        fs->opts.n_internal = 4;
    }
    if (bw_hash_key_random(&fs->key) != 0) {
        // No OS randomness: still keyed, just less secret. Not worth failing the analysis.
        fs->key.k0 = 0x736f6d6570736575ULL ^ (uint64_t)(uintptr_t)fs;
        fs->key.k1 = 0x646f72616e646f6dULL;
    }
    fs->stats.span_first = INFINITY;
    fs->stats.span_last = -INFINITY;
    return fs;
}

bool bw_flowscore_is_internal(const bw_flowscore *fs, const bw_ip *ip)
{
    for (size_t i = 0; i < fs->opts.n_internal; i++)
        if (bw_cidr_contains(&fs->opts.internal[i], ip))
            return true;
    return false;
}

// Multicast, broadcast and link-local destinations: neighbour discovery, mDNS, SSDP and
// LLMNR are periodic by design, and no controller can sit behind such an address.
static bool local_scope_dst(const bw_ip *ip)
{
    if (bw_ip_is_v4(ip)) {
        uint32_t a = bw_ip_v4(ip);
        return (a >> 28) == 0xe || a == 0xffffffffu || (a >> 16) == 0xa9fe;
    }
    return ip->b[0] == 0xff || (ip->b[0] == 0xfe && (ip->b[1] & 0xc0) == 0x80);
}

static bool allow_listed(const bw_flowscore *fs, const bw_flow *f)
{
    const bw_flowscore_options *o = &fs->opts;
    if (o->skip_local_scope && local_scope_dst(&f->dst))
        return true;
    for (size_t i = 0; i < o->n_allow_ports; i++)
        if (f->dport == o->allow_ports[i])
            return true;
    for (size_t i = 0; i < o->n_allow_cidrs; i++)
        if (bw_cidr_contains(&o->allow_cidrs[i], &f->dst) || bw_cidr_contains(&o->allow_cidrs[i], &f->src))
            return true;
    for (size_t i = 0; i < o->n_allow_names; i++) {
        bw_slice name = bw_slice_cstr(o->allow_names[i]);
        if (name.n == 0)
            continue;
        if ((f->service.n && bw_slice_find(f->service, name) >= 0) ||
            (f->label.n && bw_slice_find(f->label, name) >= 0) ||
            (f->detailed_label.n && bw_slice_find(f->detailed_label, name) >= 0))
            return true;
    }
    return false;
}

// Failed attempts count as calls (a zombie calling a dead controller is a finding). Kept
// here rather than taken from the readers module so the engine links without any reader.
static bool state_failed(bw_conn_state state)
{
    switch (state) {
    case BW_CONN_S0: case BW_CONN_REJ: case BW_CONN_RSTOS0: case BW_CONN_RSTRH: case BW_CONN_SH:
    case BW_CONN_SHR:
        return true;
    default:
        return false;
    }
}

typedef struct pair_key {
    uint8_t src[16], dst[16];
    uint8_t dport[2], proto;
} pair_key;

static uint64_t hash_pair(const bw_flowscore *fs, const bw_ip *src, const bw_ip *dst, uint16_t dport, uint8_t proto)
{
    pair_key k;
    memcpy(k.src, src->b, 16);
    memcpy(k.dst, dst->b, 16);
    k.dport[0] = (uint8_t)(dport >> 8);
    k.dport[1] = (uint8_t)dport;
    k.proto = proto;
    return bw_siphash(&fs->key, &k, sizeof k);
}

static int grow_index(bw_flowscore *fs)
{
    size_t new_cap = fs->index_cap ? fs->index_cap * 2 : 1024;
    uint32_t *idx = calloc(new_cap, sizeof *idx);
    if (!idx)
        return -1;
    for (size_t i = 0; i < fs->n_pairs; i++) {
        const fs_pair *p = &fs->pairs[i];
        uint64_t h = hash_pair(fs, &p->src, &p->dst, p->dport, p->proto);
        size_t slot = h & (new_cap - 1);
        while (idx[slot])
            slot = (slot + 1) & (new_cap - 1);
        idx[slot] = (uint32_t)(i + 1);
    }
    free(fs->index);
    fs->index = idx;
    fs->index_cap = new_cap;
    return 0;
}

static fs_pair *find_or_add_pair(bw_flowscore *fs, const bw_flow *f)
{
    if (fs->n_pairs * 2 >= fs->index_cap && grow_index(fs) != 0)
        return NULL;
    uint64_t h = hash_pair(fs, &f->src, &f->dst, f->dport, f->proto);
    size_t slot = h & (fs->index_cap - 1);
    while (fs->index[slot]) {
        fs_pair *p = &fs->pairs[fs->index[slot] - 1];
        if (p->dport == f->dport && p->proto == f->proto && !bw_ip_cmp(&p->src, &f->src) && !bw_ip_cmp(&p->dst, &f->dst))
            return p;
        slot = (slot + 1) & (fs->index_cap - 1);
    }
    if (fs->n_pairs >= fs->opts.limits.max_pairs)
        return NULL;
    if (fs->n_pairs == fs->cap_pairs) {
        size_t new_cap = fs->cap_pairs ? fs->cap_pairs * 2 : 1024;
        if (new_cap > fs->opts.limits.max_pairs)
            new_cap = fs->opts.limits.max_pairs;
        fs_pair *np = realloc(fs->pairs, new_cap * sizeof *np);
        if (!np)
            return NULL;
        fs->pairs = np;
        fs->cap_pairs = new_cap;
    }
    fs_pair *p = &fs->pairs[fs->n_pairs];
    memset(p, 0, sizeof *p);
    p->src = f->src;
    p->dst = f->dst;
    p->dport = f->dport;
    p->proto = f->proto;
    p->src_internal = bw_flowscore_is_internal(fs, &f->src);
    p->dst_internal = bw_flowscore_is_internal(fs, &f->dst);
    p->first = INFINITY;
    p->last = -INFINITY;
    fs->index[slot] = (uint32_t)(++fs->n_pairs);
    return p;
}

bw_status bw_flowscore_add(bw_flowscore *fs, const bw_flow *f)
{
    if (fs->finished)
        return BW_ERR_INVALID;
    fs->stats.flows++;
    if (!isfinite(f->ts) || allow_listed(fs, f)) {
        fs->stats.ignored++;
        return BW_OK;
    }
    fs_pair *p = find_or_add_pair(fs, f);
    if (!p) {
        fs->stats.pairs_dropped++;
        return BW_OK;
    }
    if (f->ts < fs->stats.span_first)
        fs->stats.span_first = f->ts;
    if (f->ts > fs->stats.span_last)
        fs->stats.span_last = f->ts;
    bool failed = state_failed(f->state);
    p->calls++;
    p->failed += failed;
    p->orig_bytes += f->orig_bytes;
    p->resp_bytes += f->resp_bytes;
    if (f->ts < p->first)
        p->first = f->ts;
    if (f->ts > p->last)
        p->last = f->ts;
    fs_event ev = { f->ts, f->orig_bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)f->orig_bytes, failed };
    uint32_t max_ev = (uint32_t)fs->opts.limits.max_events_per_pair;
    if (p->n_ev == max_ev) {
        p->ev[p->head] = ev;
        p->head = (p->head + 1) % max_ev;
        fs->stats.events_evicted++;
        return BW_OK;
    }
    if (p->n_ev == p->cap_ev) {
        uint32_t new_cap = p->cap_ev ? p->cap_ev * 2 : 2;
        if (new_cap > max_ev)
            new_cap = max_ev;
        fs_event *ne = realloc(p->ev, new_cap * sizeof *ne);
        if (!ne) {
            fs->stats.events_evicted++;
            return BW_OK;
        }
        p->ev = ne;
        p->cap_ev = new_cap;
    }
    p->ev[p->n_ev++] = ev;
    return BW_OK;
}

// ---- finish: grouping and prevalence -------------------------------------------------

static int cmp_order(const void *a, const void *b, void *ctx)
{
    const fs_pair *pairs = ctx;
    const fs_pair *x = &pairs[*(const size_t *)a], *y = &pairs[*(const size_t *)b];
    int c = bw_ip_cmp(&x->src, &y->src);
    if (!c)
        c = bw_ip_cmp(&x->dst, &y->dst);
    if (!c)
        c = (x->proto > y->proto) - (x->proto < y->proto);
    if (!c)
        c = (x->dport > y->dport) - (x->dport < y->dport);
    return c;
}

// Prevalence counts hosts per destination network (IPv4 /24, IPv6 /64), not per address:
// update farms, CDNs and NTP pools spread their clients over neighbouring addresses, and
// per address each of them would look rare.
static bw_ip prevalence_net(const bw_ip *ip)
{
    bw_ip net = *ip;
    if (bw_ip_is_v4(ip))
        net.b[15] = 0;
    else
        memset(net.b + 8, 0, 8);
    return net;
}

static int cmp_dst_src(const void *a, const void *b)
{
    const bw_ip *x = a, *y = b;
    int c = bw_ip_cmp(&x[0], &y[0]);
    return c ? c : bw_ip_cmp(&x[1], &y[1]);
}

static bw_status build_groups(bw_flowscore *fs)
{
    fs->order = malloc((fs->n_pairs + 1) * sizeof *fs->order);
    fs->group_start = malloc((fs->n_pairs + 1) * sizeof *fs->group_start);
    if (!fs->order || !fs->group_start)
        return BW_ERR_NOMEM;
    for (size_t i = 0; i < fs->n_pairs; i++)
        fs->order[i] = i;
    qsort_r(fs->order, fs->n_pairs, sizeof *fs->order, cmp_order, fs->pairs);
    fs->n_groups = 0;
    for (size_t i = 0; i < fs->n_pairs; i++) {
        const fs_pair *p = &fs->pairs[fs->order[i]];
        if (i == 0 || bw_ip_cmp(&p->src, &fs->pairs[fs->order[i - 1]].src) ||
            bw_ip_cmp(&p->dst, &fs->pairs[fs->order[i - 1]].dst))
            fs->group_start[fs->n_groups++] = i;
    }
    fs->group_start[fs->n_groups] = fs->n_pairs;
    for (size_t g = 0; g < fs->n_groups; g++) {
        fs_pair *first = &fs->pairs[fs->order[fs->group_start[g]]];
        uint8_t k[32];
        memcpy(k, first->src.b, 16);
        memcpy(k + 16, first->dst.b, 16);
        uint64_t h = bw_siphash(&fs->key, k, sizeof k);
        for (size_t i = fs->group_start[g]; i < fs->group_start[g + 1]; i++)
            fs->pairs[fs->order[i]].group_hash = h;
    }

    // Prevalence: distinct internal sources per destination, and the internal host count.
    bw_ip *ds = malloc((fs->n_groups + 1) * 2 * sizeof *ds);
    if (!ds)
        return BW_ERR_NOMEM;
    size_t n = 0;
    for (size_t g = 0; g < fs->n_groups; g++) {
        const fs_pair *p = &fs->pairs[fs->order[fs->group_start[g]]];
        if (!p->src_internal)
            continue;
        ds[2 * n] = prevalence_net(&p->dst);
        ds[2 * n + 1] = p->src;
        n++;
    }
    qsort(ds, n, 2 * sizeof *ds, cmp_dst_src);
    fs->dst_hosts = malloc((n + 1) * sizeof *fs->dst_hosts);
    if (!fs->dst_hosts) {
        free(ds);
        return BW_ERR_NOMEM;
    }
    fs->n_dst_hosts = 0;
    for (size_t i = 0; i < n; i++) {
        if (fs->n_dst_hosts && !bw_ip_cmp(&fs->dst_hosts[fs->n_dst_hosts - 1].dst, &ds[2 * i]))
            fs->dst_hosts[fs->n_dst_hosts - 1].hosts++;
        else
            fs->dst_hosts[fs->n_dst_hosts++] = (dst_count){ ds[2 * i], 1 };
    }
    free(ds);
    // Internal hosts: groups are sorted by src, so count src changes among internal ones.
    unsigned hosts = 0;
    const bw_ip *last = NULL;
    for (size_t g = 0; g < fs->n_groups; g++) {
        const fs_pair *p = &fs->pairs[fs->order[fs->group_start[g]]];
        if (!p->src_internal)
            continue;
        if (!last || bw_ip_cmp(last, &p->src))
            hosts++;
        last = &p->src;
    }
    fs->stats.internal_hosts = hosts;
    return BW_OK;
}

static unsigned dst_host_count(const bw_flowscore *fs, const bw_ip *dst_addr)
{
    bw_ip net = prevalence_net(dst_addr);
    const bw_ip *dst = &net;
    size_t lo = 0, hi = fs->n_dst_hosts;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = bw_ip_cmp(&fs->dst_hosts[mid].dst, dst);
        if (c == 0)
            return fs->dst_hosts[mid].hosts;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

// A destination most hosts call (an update server, a CDN, the resolver) is what every
// machine does, not what a zombie does: its score is scaled down from 1 at prevalence_low
// to prevalence_floor at prevalence_high. Only meaningful with enough hosts to count.
static double prevalence_factor(const bw_flowscore *fs, double prevalence)
{
    const bw_flowscore_options *o = &fs->opts;
    if (fs->stats.internal_hosts < o->prevalence_min_hosts || prevalence <= o->prevalence_low)
        return 1;
    double span = o->prevalence_high - o->prevalence_low;
    double t = span > 0 ? fs_clamp01((prevalence - o->prevalence_low) / span) : 1;
    return 1 - t * (1 - o->prevalence_floor);
}

// ---- finish: threaded beacon scoring --------------------------------------------------

static int cmp_event_ts(const void *a, const void *b)
{
    const fs_event *x = a, *y = b;
    return (x->ts > y->ts) - (x->ts < y->ts);
}

static bool vec_push(beacon_vec *v, const bw_beacon *b)
{
    if (v->n == v->cap) {
        size_t nc = v->cap ? v->cap * 2 : 64;
        bw_beacon *nv = realloc(v->v, nc * sizeof *nv);
        if (!nv) {
            v->nomem = true;
            return false;
        }
        v->v = nv;
        v->cap = nc;
    }
    v->v[v->n++] = *b;
    return true;
}

typedef struct worker {
    bw_flowscore *fs;
    unsigned id, count;
    beacon_vec found;
    uint64_t scored;
    // Scratch reused across pairs
    fs_event *ev;
    double *ts;
    uint64_t *bytes;
    size_t scratch_cap;
} worker;

static bool ensure_scratch(worker *w, size_t n)
{
    if (n <= w->scratch_cap)
        return true;
    size_t cap = n * 2;
    fs_event *ev = realloc(w->ev, cap * sizeof *ev);
    if (!ev)
        return false;
    w->ev = ev;
    double *ts = realloc(w->ts, cap * sizeof *ts);
    if (!ts)
        return false;
    w->ts = ts;
    uint64_t *bytes = realloc(w->bytes, cap * sizeof *bytes);
    if (!bytes)
        return false;
    w->bytes = bytes;
    w->scratch_cap = cap;
    return true;
}

// Appends pair p's events (ring order does not matter: they are sorted after).
static size_t gather(worker *w, const fs_pair *p, size_t at)
{
    if (p->n_ev)
        memcpy(w->ev + at, p->ev, p->n_ev * sizeof *p->ev);
    return at + p->n_ev;
}

static uint64_t series_seed(uint64_t seed, const fs_pair *p, bool any_port)
{
    // FNV-1a over the key: unkeyed on purpose so the result is reproducible run to run;
    // it only seeds the Monte Carlo null, it never indexes a table.
    uint64_t h = 0xcbf29ce484222325ULL ^ seed;
    const uint8_t *parts[2] = { p->src.b, p->dst.b };
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 16; i++)
            h = (h ^ parts[k][i]) * 0x100000001b3ULL;
    if (!any_port) {
        h = (h ^ p->dport) * 0x100000001b3ULL;
        h = (h ^ p->proto) * 0x100000001b3ULL;
    }
    return h;
}

static bool score_events(worker *w, size_t n, const fs_pair *tmpl, bool any_port, bw_beacon *out)
{
    bw_flowscore *fs = w->fs;
    qsort(w->ev, n, sizeof *w->ev, cmp_event_ts);
    for (size_t i = 0; i < n; i++) {
        w->ts[i] = w->ev[i].ts;
        w->bytes[i] = w->ev[i].bytes;
    }
    memset(out, 0, sizeof *out);
    if (!bw_flowscore_score_series(&fs->opts, w->ts, w->bytes, n, fs->stats.span_first, fs->stats.span_last,
                                   series_seed(fs->opts.seed, tmpl, any_port), out))
        return false;
    w->scored++;
    out->src = tmpl->src;
    out->dst = tmpl->dst;
    out->any_port = any_port;
    out->dport = any_port ? 0 : tmpl->dport;
    out->proto = any_port ? 0 : tmpl->proto;
    return true;
}

static void finish_finding(const bw_flowscore *fs, bw_beacon *b)
{
    unsigned hosts = dst_host_count(fs, &b->dst);
    b->prevalence = fs->stats.internal_hosts ? (double)hosts / fs->stats.internal_hosts : 0;
    b->score = b->raw_score * prevalence_factor(fs, b->prevalence);
}

static void *worker_run(void *arg)
{
    worker *w = arg;
    bw_flowscore *fs = w->fs;
    for (size_t g = 0; g < fs->n_groups && !w->found.nomem; g++) {
        const fs_pair *head = &fs->pairs[fs->order[fs->group_start[g]]];
        if (head->group_hash % w->count != w->id)
            continue;
        size_t lo = fs->group_start[g], hi = fs->group_start[g + 1];
        size_t total = 0;
        bool pair_found = false;
        for (size_t i = lo; i < hi; i++) {
            const fs_pair *p = &fs->pairs[fs->order[i]];
            total += p->n_ev;
            if (p->n_ev < fs->opts.min_calls)
                continue;
            if (!ensure_scratch(w, p->n_ev)) {
                w->found.nomem = true;
                break;
            }
            bw_beacon b;
            size_t n = gather(w, p, 0);
            if (!score_events(w, n, p, false, &b))
                continue;
            b.calls = p->calls;
            b.failed = p->failed;
            b.orig_bytes = p->orig_bytes;
            b.resp_bytes = p->resp_bytes;
            b.first_seen = p->first;
            b.last_seen = p->last;
            finish_finding(fs, &b);
            if (b.score >= fs->opts.threshold) {
                pair_found = true;
                vec_push(&w->found, &b);
            }
        }
        // The (src, dst) aggregate is reported only when it finds what no single port did:
        // a bot rotating ports or protocols across calls to one controller.
        if (pair_found || hi - lo < 2 || total < fs->opts.min_calls || w->found.nomem)
            continue;
        if (!ensure_scratch(w, total)) {
            w->found.nomem = true;
            break;
        }
        size_t n = 0;
        bw_beacon b;
        for (size_t i = lo; i < hi; i++)
            n = gather(w, &fs->pairs[fs->order[i]], n);
        if (!score_events(w, n, head, true, &b))
            continue;
        b.first_seen = INFINITY;
        b.last_seen = -INFINITY;
        for (size_t i = lo; i < hi; i++) {
            const fs_pair *p = &fs->pairs[fs->order[i]];
            b.calls += p->calls;
            b.failed += p->failed;
            b.orig_bytes += p->orig_bytes;
            b.resp_bytes += p->resp_bytes;
            b.first_seen = fmin(b.first_seen, p->first);
            b.last_seen = fmax(b.last_seen, p->last);
        }
        finish_finding(fs, &b);
        if (b.score >= fs->opts.threshold)
            vec_push(&w->found, &b);
    }
    return NULL;
}

static int cmp_beacon(const void *a, const void *b)
{
    const bw_beacon *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    if (x->calls != y->calls)
        return x->calls < y->calls ? 1 : -1;
    int c = bw_ip_cmp(&x->src, &y->src);
    if (!c)
        c = bw_ip_cmp(&x->dst, &y->dst);
    if (!c)
        c = (x->dport > y->dport) - (x->dport < y->dport);
    if (!c)
        c = (x->proto > y->proto) - (x->proto < y->proto);
    return c;
}

static bw_status score_beacons(bw_flowscore *fs)
{
    unsigned nthreads = fs->opts.threads;
    worker *ws = calloc(nthreads, sizeof *ws);
    pthread_t *tids = calloc(nthreads, sizeof *tids);
    bool *started = calloc(nthreads, sizeof *started);
    bw_status st = BW_OK;
    if (!ws || !tids || !started) {
        st = BW_ERR_NOMEM;
        goto out;
    }
    for (unsigned t = 0; t < nthreads; t++) {
        ws[t].fs = fs;
        ws[t].id = t;
        ws[t].count = nthreads;
    }
    for (unsigned t = 1; t < nthreads; t++)
        started[t] = pthread_create(&tids[t], NULL, worker_run, &ws[t]) == 0;
    worker_run(&ws[0]);
    // A thread that could not start: do its share here, the result is the same.
    for (unsigned t = 1; t < nthreads; t++) {
        if (started[t])
            pthread_join(tids[t], NULL);
        else
            worker_run(&ws[t]);
    }
    size_t total = 0;
    for (unsigned t = 0; t < nthreads; t++) {
        if (ws[t].found.nomem)
            st = BW_ERR_NOMEM;
        total += ws[t].found.n;
        fs->stats.pairs_scored += ws[t].scored;
    }
    if (st == BW_OK) {
        fs->beacons = malloc((total + 1) * sizeof *fs->beacons);
        if (!fs->beacons) {
            st = BW_ERR_NOMEM;
        } else {
            for (unsigned t = 0; t < nthreads; t++) {
                if (ws[t].found.n)
                    memcpy(fs->beacons + fs->n_beacons, ws[t].found.v, ws[t].found.n * sizeof *fs->beacons);
                fs->n_beacons += ws[t].found.n;
            }
            qsort(fs->beacons, fs->n_beacons, sizeof *fs->beacons, cmp_beacon);
        }
    }
out:
    if (ws)
        for (unsigned t = 0; t < nthreads; t++) {
            free(ws[t].found.v);
            free(ws[t].ev);
            free(ws[t].ts);
            free(ws[t].bytes);
        }
    free(ws);
    free(tids);
    free(started);
    return st;
}

// ---- finish: C&C candidates -------------------------------------------------------------

static int cmp_beacon_by_dst(const void *a, const void *b)
{
    const bw_beacon *x = *(const bw_beacon *const *)a, *y = *(const bw_beacon *const *)b;
    int c = bw_ip_cmp(&x->dst, &y->dst);
    if (!c)
        c = bw_ip_cmp(&x->src, &y->src);
    return c;
}

static int cmp_cc(const void *a, const void *b)
{
    const bw_cc_candidate *x = a, *y = b;
    if (x->hosts != y->hosts)
        return x->hosts < y->hosts ? 1 : -1;
    if (x->best_score != y->best_score)
        return x->best_score < y->best_score ? 1 : -1;
    return bw_ip_cmp(&x->dst, &y->dst);
}

static bw_status build_cc(bw_flowscore *fs)
{
    const bw_beacon **byd = malloc((fs->n_beacons + 1) * sizeof *byd);
    fs->cc = malloc((fs->n_beacons + 1) * sizeof *fs->cc);
    if (!byd || !fs->cc) {
        free(byd);
        return BW_ERR_NOMEM;
    }
    // With internal hosts known, a controller is something they call: inbound periodic
    // traffic (census pings, scanners) to one of them is not a C&C candidate.
    size_t n = 0;
    for (size_t i = 0; i < fs->n_beacons; i++)
        if (!fs->stats.internal_hosts || bw_flowscore_is_internal(fs, &fs->beacons[i].src))
            byd[n++] = &fs->beacons[i];
    qsort(byd, n, sizeof *byd, cmp_beacon_by_dst);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        bw_cc_candidate c;
        memset(&c, 0, sizeof c);
        c.dst = byd[i]->dst;
        c.first_seen = INFINITY;
        c.last_seen = -INFINITY;
        const bw_ip *last_src = NULL;
        for (; j < n && !bw_ip_cmp(&byd[j]->dst, &c.dst); j++) {
            const bw_beacon *b = byd[j];
            if (!last_src || bw_ip_cmp(last_src, &b->src))
                c.hosts++;
            last_src = &b->src;
            if (b->score > c.best_score) {
                c.best_score = b->score;
                c.dport = b->dport;
                c.period = b->period;
            }
            c.calls += b->calls;
            c.failed += b->failed;
            c.first_seen = fmin(c.first_seen, b->first_seen);
            c.last_seen = fmax(c.last_seen, b->last_seen);
        }
        if (fs->opts.asn_db) {
            bw_asn_info info;
            if (bw_asn_lookup(fs->opts.asn_db, &c.dst, &info)) {
                c.asn = info.asn;
                c.as_name = info.org;
            }
        }
        fs->cc[fs->n_cc++] = c;
        i = j;
    }
    free(byd);
    qsort(fs->cc, fs->n_cc, sizeof *fs->cc, cmp_cc);
    return BW_OK;
}

// ---- finish: per-host P2P and SMTP --------------------------------------------------------

static bool is_common_high_port(uint16_t port)
{
    // High ports that ordinary clients use every day; a P2P bot's random ports are not these.
    static const uint16_t common[] = { 1194, 1900, 3389, 3478, 4500, 5060, 5222, 5228, 5353, 5355, 8080, 8443, 8888 };
    for (size_t i = 0; i < sizeof common / sizeof *common; i++)
        if (port == common[i])
            return true;
    return false;
}

static int cmp_u16(const void *a, const void *b)
{
    uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
    return (x > y) - (x < y);
}

static int cmp_p2p(const void *a, const void *b)
{
    const bw_p2p_host *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return bw_ip_cmp(&x->src, &y->src);
}

static int cmp_smtp(const void *a, const void *b)
{
    const bw_smtp_host *x = a, *y = b;
    if (x->dsts != y->dsts)
        return x->dsts < y->dsts ? 1 : -1;
    return bw_ip_cmp(&x->src, &y->src);
}

static bool is_smtp_port(uint16_t port) { return port == 25 || port == 465 || port == 587; }

static bw_status build_hosts(bw_flowscore *fs)
{
    const bw_flowscore_options *o = &fs->opts;
    size_t cap = 64;
    fs->p2p = malloc(cap * sizeof *fs->p2p);
    fs->smtp = malloc(cap * sizeof *fs->smtp);
    uint16_t *ports = malloc((fs->n_pairs + 1) * sizeof *ports);
    if (!fs->p2p || !fs->smtp || !ports) {
        free(ports);
        return BW_ERR_NOMEM;
    }
    size_t p2p_cap = cap, smtp_cap = cap;
    double span = fs->stats.span_last - fs->stats.span_first;
    unsigned nbins = o->coverage_bins >= 1 && o->coverage_bins <= 4096 ? (unsigned)o->coverage_bins : 24;
    unsigned char seen[4096];
    bw_status st = BW_OK;
    for (size_t g = 0; g < fs->n_groups && st == BW_OK;) {
        const bw_ip src = fs->pairs[fs->order[fs->group_start[g]]].src;
        bool internal = fs->pairs[fs->order[fs->group_start[g]]].src_internal;
        size_t g_end = g;
        while (g_end < fs->n_groups && !bw_ip_cmp(&fs->pairs[fs->order[fs->group_start[g_end]]].src, &src))
            g_end++;
        if (!internal) {
            g = g_end;
            continue;
        }
        bw_p2p_host h;
        memset(&h, 0, sizeof h);
        h.src = src;
        h.first_seen = INFINITY;
        h.last_seen = -INFINITY;
        bw_smtp_host sm;
        memset(&sm, 0, sizeof sm);
        sm.src = src;
        sm.first_seen = INFINITY;
        sm.last_seen = -INFINITY;
        uint64_t bytes = 0;
        double peer_failed = 0, peer_high = 0;   // sums over external peers of per-peer ratios
        size_t n_ports = 0;
        memset(seen, 0, nbins);
        for (size_t gg = g; gg < g_end; gg++) {
            bool ext = !fs->pairs[fs->order[fs->group_start[gg]]].dst_internal;
            bool smtp_dst = false, pair_ext = false;
            uint64_t g_flows = 0, g_failed = 0, g_high = 0;
            for (size_t i = fs->group_start[gg]; i < fs->group_start[gg + 1]; i++) {
                const fs_pair *p = &fs->pairs[fs->order[i]];
                if (p->proto == 6 && is_smtp_port(p->dport)) {
                    smtp_dst = true;
                    sm.flows += p->calls;
                    sm.failed += p->failed;
                    sm.first_seen = fmin(sm.first_seen, p->first);
                    sm.last_seen = fmax(sm.last_seen, p->last);
                    continue;   // SMTP is the spam analysis's evidence, not P2P's
                }
                pair_ext |= ext;
                h.flows += p->calls;
                g_flows += p->calls;
                g_failed += p->failed;
                bytes += p->orig_bytes + p->resp_bytes;
                if (p->dport >= 1024 && !is_common_high_port(p->dport))
                    g_high += p->calls;
                ports[n_ports++] = p->dport;
                h.first_seen = fmin(h.first_seen, p->first);
                h.last_seen = fmax(h.last_seen, p->last);
                for (uint32_t e = 0; e < p->n_ev; e++) {
                    unsigned b = span > 0 ? (unsigned)((p->ev[e].ts - fs->stats.span_first) / span * nbins) : 0;
                    seen[b >= nbins ? nbins - 1 : b] = 1;
                }
            }
            h.peers += pair_ext;
            if (pair_ext && g_flows) {
                peer_failed += (double)g_failed / g_flows;
                peer_high += (double)g_high / g_flows;
            }
            sm.dsts += smtp_dst;
        }
        qsort(ports, n_ports, sizeof *ports, cmp_u16);
        for (size_t i = 0; i < n_ports; i++)
            h.ports += i == 0 || ports[i] != ports[i - 1];
        unsigned filled = 0;
        for (unsigned b = 0; b < nbins; b++)
            filled += seen[b];
        h.coverage = (double)filled / nbins;
        // Ratios are averaged over peers, not flows: one chatty destination (a beacon to a
        // dead controller on a high port) must not make its host look like a P2P node.
        h.failed_ratio = h.peers ? peer_failed / h.peers : 0;
        h.mean_bytes = h.flows ? (double)bytes / h.flows : 0;
        h.high_port_ratio = h.peers ? peer_high / h.peers : 0;
        if (h.peers >= o->p2p_min_peers && (h.failed_ratio >= o->p2p_min_failed_ratio || h.high_port_ratio >= 0.5)) {
            // Many peers, many failures, little data, always on, odd ports: each counts.
            double peers_part = fs_clamp01(log((double)h.peers / o->p2p_min_peers) / log(30.0));
            double failed_part = fs_clamp01(h.failed_ratio / 0.6);
            double small_part = fs_clamp01(1 - h.mean_bytes / 20000.0);
            h.score = 0.3 * peers_part + 0.25 * failed_part + 0.15 * small_part + 0.15 * h.coverage +
                      0.15 * h.high_port_ratio;
            if (fs->n_p2p == p2p_cap) {
                bw_p2p_host *np = realloc(fs->p2p, 2 * p2p_cap * sizeof *np);
                if (!np) {
                    st = BW_ERR_NOMEM;
                    break;
                }
                fs->p2p = np;
                p2p_cap *= 2;
            }
            fs->p2p[fs->n_p2p++] = h;
        }
        if (sm.dsts >= o->smtp_min_dsts) {
            // A workstation talks to one submission server; a zombie to hundreds of MXes.
            sm.score = fs_clamp01(log((double)sm.dsts) / log(1000.0));
            if (fs->n_smtp == smtp_cap) {
                bw_smtp_host *ns = realloc(fs->smtp, 2 * smtp_cap * sizeof *ns);
                if (!ns) {
                    st = BW_ERR_NOMEM;
                    break;
                }
                fs->smtp = ns;
                smtp_cap *= 2;
            }
            fs->smtp[fs->n_smtp++] = sm;
        }
        g = g_end;
    }
    free(ports);
    qsort(fs->p2p, fs->n_p2p, sizeof *fs->p2p, cmp_p2p);
    qsort(fs->smtp, fs->n_smtp, sizeof *fs->smtp, cmp_smtp);
    return st;
}

bw_status bw_flowscore_finish(bw_flowscore *fs, char *errbuf)
{
    if (fs->finished)
        return bw_error(errbuf, BW_ERR_INVALID, "flowscore: finish called twice");
    fs->finished = true;
    fs->stats.pairs = fs->n_pairs;
    if (fs->n_pairs == 0) {
        fs->stats.span_first = fs->stats.span_last = 0;
        return BW_OK;
    }
    bw_status st = build_groups(fs);
    if (st == BW_OK)
        st = score_beacons(fs);
    if (st == BW_OK)
        st = build_cc(fs);
    if (st == BW_OK)
        st = build_hosts(fs);
    if (st != BW_OK)
        return bw_error(errbuf, st, "flowscore: out of memory while scoring %zu pairs", fs->n_pairs);
    return BW_OK;
}

const bw_beacon *bw_flowscore_beacons(const bw_flowscore *fs, size_t *count)
{
    *count = fs->n_beacons;
    return fs->beacons;
}

const bw_cc_candidate *bw_flowscore_cc(const bw_flowscore *fs, size_t *count)
{
    *count = fs->n_cc;
    return fs->cc;
}

const bw_p2p_host *bw_flowscore_p2p(const bw_flowscore *fs, size_t *count)
{
    *count = fs->n_p2p;
    return fs->p2p;
}

const bw_smtp_host *bw_flowscore_smtp(const bw_flowscore *fs, size_t *count)
{
    *count = fs->n_smtp;
    return fs->smtp;
}

const bw_flowscore_stats *bw_flowscore_stats_get(const bw_flowscore *fs) { return &fs->stats; }

void bw_flowscore_free(bw_flowscore *fs)
{
    if (!fs)
        return;
    for (size_t i = 0; i < fs->n_pairs; i++)
        free(fs->pairs[i].ev);
    free(fs->pairs);
    free(fs->index);
    free(fs->beacons);
    free(fs->cc);
    free(fs->p2p);
    free(fs->smtp);
    free(fs->order);
    free(fs->group_start);
    free(fs->dst_hosts);
    free(fs);
}
