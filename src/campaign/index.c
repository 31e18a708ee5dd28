// SPDX-License-Identifier: MIT
// The campaign index: LSH buckets over the representative signatures of the campaigns in
// memory, the campaigns' bounded statistics, the domain table that links campaigns
// (AutoRE), and eviction of idle campaigns. Campaigns are kept in an array sorted by id
// (ids only grow, so new ones append); representatives live in a pool addressed by index
// so the LSH entries stay valid when the pool grows.
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "botwatch/select.h"
#include "index_internal.h"

// Defaults, with why:
void bw_campaign_config_default(bw_campaign_config *c)
{
    memset(c, 0, sizeof *c);
    bw_campaign_norm_limits_default(&c->norm);
    c->shingle_k = 3;             // one changed word breaks 3 shingles, not 5: slot-filled
                                  //   templates stay above the threshold
    c->threshold = 0.5;           // members of one template measured at 0.6-1.0; different
                                  //   templates (real spam) below 0.2
    c->bands = 42;                // 42 x 3 = 126 of 128 bins: P(candidate) 0.996 at s=0.5,
    c->rows = 3;                  //   0.29 at s=0.2 (docs/campaigns.md has the curve)
    c->max_reps = 4;              // variants of a template (line/word variants) each get one
    c->new_rep_below = 0.75;
    c->idle_window = 3 * 86400;   // Storm/Srizbi campaigns ran days to weeks, nightly lulls
    c->link_window = 86400;       // AutoRE grouped by domain within a day
    c->max_active = 100000;       // 100,000 one-message campaigns of ~60 words: 0.7 GB of
                                  //   RSS in ingest, a 110 MB saved state (docs/campaigns.md §5)
    c->max_ips = 1024;            // enough to intersect botnets; counts go on by HyperLogLog
    c->max_subnets = 1024;
    c->max_asns = 256;
    c->max_top = 10;
    c->max_value_bytes = 200;     // a subject line; longer ones are cut
    c->max_samples = 16;
    c->max_links = 32;
    c->max_urls = 64;             // URLs of one message (bw_url's own default cap is higher)
    c->max_domains_tracked = 1u << 20;
    c->template_members = 8;      // Judo used a handful of samples per template
    c->template_max_tokens = 256;
}

// Times come from mail headers: clamped so window arithmetic cannot overflow.
static int64_t clamp_time(int64_t t)
{
    const int64_t bound = INT64_C(1) << 60;
    return t < -bound ? -bound : t > bound ? bound : t;
}

static size_t pow2_at_least(size_t n)
{
    size_t p = 16;
    while (p < n)
        p *= 2;
    return p;
}

// ---- small sets of 64-bit keys (0 means empty; key 0 is stored as 1) -------------------

// Returns 1 if added, 0 if present, -1 if the set is at its limit, -2 on no memory.
static int hset_add(hset *s, uint64_t key, size_t limit)
{
    if (key == 0)
        key = 1;
    if (s->cap) {
        size_t mask = s->cap - 1;
        for (size_t i = key & mask;; i = (i + 1) & mask) {
            if (s->slots[i] == key)
                return 0;
            if (s->slots[i] == 0)
                break;
        }
    }
    if (s->count >= limit)
        return -1;
    if ((s->count + 1) * 2 > s->cap) {
        size_t ncap = pow2_at_least((s->count + 1) * 2);
        uint64_t *ns = calloc(ncap, sizeof *ns);
        if (!ns)
            return -2;
        for (size_t i = 0; i < s->cap; i++)
            if (s->slots[i]) {
                size_t j = s->slots[i] & (ncap - 1);
                while (ns[j])
                    j = (j + 1) & (ncap - 1);
                ns[j] = s->slots[i];
            }
        free(s->slots);
        s->slots = ns;
        s->cap = ncap;
    }
    size_t mask = s->cap - 1;
    size_t i = key & mask;
    while (s->slots[i])
        i = (i + 1) & mask;
    s->slots[i] = key;
    s->count++;
    return 1;
}

// HyperLogLog with 256 registers (about 6.5% standard error): distinct counts past the
// set caps at a fixed 256 bytes.

uint64_t bw_campaign_hll_estimate(const uint8_t *reg)
{
    double sum = 0;
    unsigned zeros = 0;
    for (unsigned i = 0; i < HLL_REGS; i++) {
        sum += 1.0 / (double)(1ULL << reg[i]);
        zeros += reg[i] == 0;
    }
    double m = HLL_REGS;
    double est = 0.7213 / (1 + 1.079 / m) * m * m / sum;
    if (est <= 2.5 * m && zeros)
        est = m * __builtin_log(m / zeros);
    return (uint64_t)(est + 0.5);
}

// ---- LSH ------------------------------------------------------------------------------
//
// Each representative is in the table once per band, keyed by the band's hash. A lookup
// costs one cache miss per band (the table is megabytes and keys are random): linear
// probing keeps every entry of a key, and the probe run, in the slots after its home
// slot, where the former bucket chains cost a miss for the bucket head and one per entry
// (half the writer's time in the index on bench/ingest). Which candidates a message gets
// does not depend on the layout, and the best one does not depend on their order.

// A table of megabytes read at 42 random places a message: with 4 KB pages nearly every
// read is also a TLB miss, and a page walk costs as much as the miss itself (more in a
// virtual machine). Tables of 2 MB and more are aligned to 2 MB and marked for huge pages
// (a hint: where transparent huge pages are off nothing changes).
#define LSH_HUGE_BYTES ((size_t)2 << 20)

static lsh_entry *lsh_alloc(size_t cap)
{
    size_t bytes = cap * sizeof(lsh_entry);
#if defined(MADV_HUGEPAGE)
    if (bytes >= LSH_HUGE_BYTES) {
        void *p = NULL;
        if (posix_memalign(&p, LSH_HUGE_BYTES, bytes) != 0)
            return NULL;
        (void)madvise(p, bytes, MADV_HUGEPAGE);
        return p;
    }
#endif
    return malloc(bytes);
}

static int lsh_resize(lsh_table *h, size_t cap)
{
    lsh_entry *t = lsh_alloc(cap);
    if (!t)
        return -1;
    for (size_t i = 0; i < cap; i++)
        t[i] = (lsh_entry){ 0, UINT32_MAX, 0 };
    size_t mask = cap - 1;
    for (size_t i = 0; i < h->cap; i++) {
        if (h->t[i].rep == UINT32_MAX)
            continue;
        size_t j = h->t[i].key & mask;
        while (t[j].rep != UINT32_MAX)
            j = (j + 1) & mask;
        t[j] = h->t[i];
    }
    free(h->t);
    h->t = t;
    h->cap = cap;
    return 0;
}

static int lsh_insert(lsh_table *h, uint64_t key, uint32_t rep_index)
{
    if ((h->count + 1) * 4 > h->cap * 3 && lsh_resize(h, pow2_at_least((h->count + 1) * 2)) != 0)
        return -1;
    size_t mask = h->cap - 1, i = key & mask;
    while (h->t[i].rep != UINT32_MAX)
        i = (i + 1) & mask;
    h->t[i] = (lsh_entry){ key, rep_index, 0 };
    h->count++;
    return 0;
}

// Removes the pair and closes the gap (backward shift), so probe runs never hold holes.
static void lsh_remove(lsh_table *h, uint64_t key, uint32_t rep_index)
{
    if (!h->cap)
        return;
    size_t mask = h->cap - 1, i = key & mask;
    while (h->t[i].rep != UINT32_MAX && (h->t[i].key != key || h->t[i].rep != rep_index))
        i = (i + 1) & mask;
    if (h->t[i].rep == UINT32_MAX)
        return;
    for (size_t j = i;;) {
        j = (j + 1) & mask;
        if (h->t[j].rep == UINT32_MAX)
            break;
        size_t home = h->t[j].key & mask;
        // Move j into the hole at i unless its home lies cyclically in (i, j].
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            h->t[i] = h->t[j];
            i = j;
        }
    }
    h->t[i] = (lsh_entry){ 0, UINT32_MAX, 0 };
    h->count--;
}

static void rep_release(bw_campaign_index *x, uint32_t r)
{
    for (unsigned b = 0; b < x->cfg.bands; b++)
        lsh_remove(&x->lsh, bw_campaign_band_key(x->reps[r].sig, b, x->cfg.rows), r);
    lsh_remove(&x->exact, bw_campaign_sig_key(x->reps[r].sig), r);
    x->reps[r].owner = NULL;
    x->rep_free[x->rep_free_count++] = r;
}

// Adds sig as a representative of c. -1 on no memory (nothing changed).
int bw_campaign_rep_add(bw_campaign_index *x, campaign *c, const uint32_t *sig, const uint64_t *keys,
                        uint64_t sig_key)
{
    if (c->rep_count >= x->cfg.max_reps)
        return 0;
    uint32_t r;
    if (x->rep_free_count) {
        r = x->rep_free[--x->rep_free_count];
    } else {
        if (x->rep_used == x->rep_cap) {
            size_t ncap = x->rep_cap ? x->rep_cap * 2 : 256;
            rep *nr = realloc(x->reps, ncap * sizeof *nr);
            uint32_t *nf = realloc(x->rep_free, ncap * sizeof *nf);
            if (nr)
                x->reps = nr;
            if (nf)
                x->rep_free = nf;
            if (!nr || !nf)
                return -1;
            x->rep_cap = ncap;
        }
        r = (uint32_t)x->rep_used++;
    }
    memcpy(x->reps[r].sig, sig, sizeof x->reps[r].sig);
    x->reps[r].owner = c;
    x->reps[r].stamp = 0;
    if (!keys)
        sig_key = bw_campaign_sig_key(sig);
    if (lsh_insert(&x->exact, sig_key, r) != 0)
        goto fail;
    for (unsigned b = 0; b < x->cfg.bands; b++)
        if (lsh_insert(&x->lsh, keys ? keys[b] : bw_campaign_band_key(sig, b, x->cfg.rows), r) != 0) {
            while (b-- > 0)
                lsh_remove(&x->lsh, keys ? keys[b] : bw_campaign_band_key(sig, b, x->cfg.rows), r);
            lsh_remove(&x->exact, sig_key, r);
            goto fail;
        }
    c->reps[c->rep_count++] = r;
    return 0;
fail:
    x->reps[r].owner = NULL;
    x->rep_free[x->rep_free_count++] = r;
    return -1;
}

// ---- campaigns ------------------------------------------------------------------------

static void top_free(top_entry *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(t[i].value);
}

// A campaign's own memory (its representatives stay in the tables).
static void campaign_memory_free(campaign *c)
{
    free(c->ip_set.slots);
    free(c->ips);
    free(c->subnet_set.slots);
    free(c->asn_set.slots);
    free(c->asn_list);
    top_free(c->subjects, c->subject_count);
    top_free(c->domains, c->domain_count);
    free(c->subjects);
    free(c->domains);
    free(c->samples);
    for (size_t i = 0; i < c->link_count; i++)
        free(c->links[i].domain);
    free(c->links);
    for (unsigned i = 0; i < c->member_count; i++)
        free((char *)c->members[i].p);
    free(c->members);
    free(c->template_text);
    free(c);
}

void bw_campaign_free_one(bw_campaign_index *x, campaign *c)
{
    for (unsigned i = 0; i < c->rep_count; i++)
        rep_release(x, c->reps[i]);
    campaign_memory_free(c);
}

campaign *bw_campaign_new_one(bw_campaign_index *x, uint64_t id)
{
    if (x->camp_count == x->camp_cap) {
        size_t ncap = x->camp_cap ? x->camp_cap * 2 : 64;
        campaign **nc = realloc(x->camps, ncap * sizeof *nc);
        uint64_t *ni = realloc(x->ids, ncap * sizeof *ni);
        if (nc)
            x->camps = nc;
        if (ni)
            x->ids = ni;
        if (!nc || !ni)
            return NULL;
        x->camp_cap = ncap;
    }
    campaign *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->members = calloc(x->cfg.template_members ? x->cfg.template_members : 1, sizeof *c->members);
    if (!c->members) {
        free(c);
        return NULL;
    }
    c->id = id;
    c->rng = bw_campaign_mix64(x->cfg.key.k0 ^ id) | 1;
    x->camps[x->camp_count] = c;
    x->ids[x->camp_count] = id;
    x->camp_count++;
    return c;
}

static campaign *find_campaign(const bw_campaign_index *x, uint64_t id, size_t *pos)
{
    size_t lo = 0, hi = x->camp_count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (x->ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < x->camp_count && x->ids[lo] == id) {
        if (pos)
            *pos = lo;
        return x->camps[lo];
    }
    return NULL;
}

static char *dup_capped(bw_slice s, size_t cap, size_t *n)
{
    size_t len = s.n < cap ? s.n : cap;
    // Cut at a UTF-8 boundary so a capped subject stays valid text.
    while (len > 0 && len < s.n && ((unsigned char)s.p[len] & 0xC0) == 0x80)
        len--;
    char *p = malloc(len + 1);
    if (!p)
        return NULL;
    memcpy(p, s.p, len);
    p[len] = '\0';
    *n = len;
    return p;
}

// Space-saving (Metwally et al. 2005): k counters; an unseen value replaces the smallest
// and inherits its count + 1, so frequent values are never lost and memory is fixed.
static int top_add(top_entry **tp, size_t *count, size_t *tcap, size_t k, bw_slice value, size_t cap)
{
    if (k == 0 || value.n == 0)
        return 0;
    size_t cut = value.n < cap ? value.n : cap;
    top_entry *t = *tp;
    for (size_t i = 0; i < *count; i++)
        if (t[i].n == cut && memcmp(t[i].value, value.p, cut) == 0) {
            t[i].count++;
            return 0;
        }
    if (*count < k && bw_campaign_reserve((void **)tp, tcap, *count + 1, k, sizeof **tp) != 0)
        return -1;
    t = *tp;
    size_t n;
    char *copy = dup_capped(value, cap, &n);
    if (!copy)
        return -1;
    if (*count < k) {
        t[*count] = (top_entry){ copy, n, 1 };
        (*count)++;
        return 0;
    }
    size_t min = 0;
    for (size_t i = 1; i < *count; i++)
        if (t[i].count < t[min].count)
            min = i;
    free(t[min].value);
    t[min] = (top_entry){ copy, n, t[min].count + 1 };
    return 0;
}

static uint64_t next_rand(uint64_t *state)
{
    *state += 0x9e3779b97f4a7c15ULL;
    return bw_campaign_mix64(*state);
}

static int add_link(bw_campaign_index *x, campaign *c, uint64_t other, bw_slice domain, int64_t time)
{
    for (size_t i = 0; i < c->link_count; i++)
        if (c->links[i].other_id == other)
            return 0;
    if (c->link_count >= x->cfg.max_links)
        return 0;
    if (bw_campaign_reserve((void **)&c->links, &c->link_cap, c->link_count + 1, x->cfg.max_links, sizeof *c->links))
        return -1;
    link_entry *l = &c->links[c->link_count];
    l->domain = dup_capped(domain, x->cfg.max_value_bytes, &l->domain_n);
    if (!l->domain)
        return -1;
    l->other_id = other;
    l->time = time;
    c->link_count++;
    c->changed = true;
    return 1;
}

// Domain table for AutoRE links: registrable domain -> the campaign that last advertised
// it and when. When full, entries older than the link window are dropped; if it is still
// full, new domains are not tracked (counted).
static int domains_rebuild(bw_campaign_index *x, size_t ncap)
{
    dom_entry *nd = calloc(ncap, sizeof *nd);
    if (!nd)
        return -1;
    size_t count = 0;
    for (size_t i = 0; i < x->dom_cap; i++) {
        dom_entry *e = &x->doms[i];
        if (!e->key || e->time < x->now - x->cfg.link_window)
            continue;
        size_t j = e->key & (ncap - 1);
        while (nd[j].key)
            j = (j + 1) & (ncap - 1);
        nd[j] = *e;
        count++;
    }
    free(x->doms);
    x->doms = nd;
    x->dom_cap = ncap;
    x->dom_count = count;
    return 0;
}

static dom_entry *domain_slot(bw_campaign_index *x, uint64_t key, bool *found)
{
    *found = false;
    bool can_insert = true;
    if (x->dom_count + 1 > x->dom_cap / 2) {
        size_t limit = x->cfg.max_domains_tracked;
        if (x->dom_count < limit) {
            can_insert = domains_rebuild(x, pow2_at_least((x->dom_count + 1) * 2)) == 0;
        } else {
            // Full: drop stale entries, at most every 1/16 of the window (a sweep is a
            // full pass; a flood of new domains must not trigger one per message).
            int64_t every = x->cfg.link_window / 16 > 0 ? x->cfg.link_window / 16 : 1;
            if (x->now - x->dom_swept_at >= every) {
                x->dom_swept_at = x->now;
                can_insert = domains_rebuild(x, x->dom_cap) == 0 && x->dom_count < limit;
            } else {
                can_insert = false;
            }
        }
    }
    if (!x->dom_cap)
        return NULL;
    size_t mask = x->dom_cap - 1;
    size_t i = key & mask;
    while (x->doms[i].key && x->doms[i].key != key)
        i = (i + 1) & mask;
    *found = x->doms[i].key == key;
    return (*found || can_insert) ? &x->doms[i] : NULL;
}

static int note_domain(bw_campaign_index *x, campaign *c, bw_slice domain, int64_t time)
{
    uint64_t key = bw_siphash(&x->cfg.key, domain.p, domain.n) | 1;
    bool found;
    dom_entry *e = domain_slot(x, key, &found);
    if (!e) {
        x->stats.domains_dropped++;
        return 0;
    }
    if (found && e->campaign != c->id) {
        int64_t gap = time > e->time ? time - e->time : e->time - time;
        if (gap <= x->cfg.link_window) {
            campaign *other = find_campaign(x, e->campaign, NULL);
            int added = add_link(x, c, e->campaign, domain, time);
            if (added < 0)
                return -1;
            if (other && add_link(x, other, c->id, domain, time) < 0)
                return -1;
            if (added > 0)
                x->stats.links++;
        }
    }
    if (!found)
        x->dom_count++;
    e->key = key;
    e->campaign = c->id;
    e->time = time;
    return 0;
}

static int ip_add(bw_campaign_index *x, campaign *c, const bw_ip *ip)
{
    uint64_t h = bw_siphash(&x->cfg.key, ip->b, sizeof ip->b);
    bw_campaign_hll_add(c->hll_ips, h);
    int r = hset_add(&c->ip_set, h, x->cfg.max_ips);
    if (r == -2)
        return -1;
    if (r == -1)
        c->ips_capped = true;
    if (r == 1) {
        if (c->ip_count == c->ip_alloc) {
            size_t ncap = c->ip_alloc ? c->ip_alloc * 2 : 8;
            bw_ip *ni = realloc(c->ips, ncap * sizeof *ni);
            if (!ni)
                return -1;
            c->ips = ni;
            c->ip_alloc = ncap;
        }
        c->ips[c->ip_count++] = *ip;
    }
    // /24 for IPv4, /48 for IPv6: the unit a provider hands one customer or pool.
    uint8_t net[16];
    memcpy(net, ip->b, 16);
    if (bw_ip_is_v4(ip))
        net[15] = 0;
    else
        memset(net + 6, 0, 10);
    uint64_t nh = bw_siphash(&x->cfg.key, net, sizeof net);
    bw_campaign_hll_add(c->hll_subnets, nh);
    r = hset_add(&c->subnet_set, nh, x->cfg.max_subnets);
    if (r == -2)
        return -1;
    if (r == -1)
        c->subnets_capped = true;
    return 0;
}

static int asn_add(bw_campaign_index *x, campaign *c, uint32_t asn)
{
    int r = hset_add(&c->asn_set, bw_campaign_mix64(asn), x->cfg.max_asns);
    if (r == -2)
        return -1;
    if (r == 1) {
        uint32_t *na = realloc(c->asn_list, c->asn_set.count * sizeof *na);
        if (!na)
            return -1;
        c->asn_list = na;
        c->asn_list[c->asn_set.count - 1] = asn;
    }
    return 0;
}

// Infers the template of a campaign whose members are all in and drops their texts.
static int finalize_template(bw_campaign_index *x, campaign *c)
{
    bw_buf t = BW_BUF_INIT;
    if (bw_campaign_infer_template(c->members, c->member_count, x->cfg.template_max_tokens, &t) != BW_OK ||
        bw_buf_reserve(&t, 1) != 0) {
        bw_buf_free(&t);
        return -1;   // stays dirty: inferred on demand instead
    }
    free(c->template_text);
    c->template_text = t.p;
    c->template_n = t.n;
    c->template_dirty = false;
    c->template_final = true;
    for (unsigned i = 0; i < c->member_count; i++) {
        free((char *)c->members[i].p);
        c->members[i] = BW_SLICE_NULL;
    }
    return 0;
}

static int member_add(bw_campaign_index *x, campaign *c, bw_slice text)
{
    if (c->template_final || c->member_count >= x->cfg.template_members)
        return 0;
    // Keep the first template_max_tokens tokens: a prepared text holds no more (prepare
    // cuts it there, and add_prepared checks it was prepared with this config), so it is
    // kept whole without counting its tokens again (that count was a third of the writer's
    // time in the index on bench/ingest).
    size_t cut = text.n;
    // A member identical to one kept adds nothing to the alignment: keep looking for
    // members that differ (repeated messages would otherwise fill the slots).
    for (unsigned i = 0; i < c->member_count; i++)
        if (c->members[i].n == cut && memcmp(c->members[i].p, text.p, cut) == 0)
            return 0;
    size_t n;
    char *p = dup_capped(bw_slice_make(text.p, cut), cut, &n);
    if (!p)
        return -1;
    c->members[c->member_count++] = (bw_slice){ p, n };
    c->template_dirty = true;
    if (c->member_count == x->cfg.template_members)
        finalize_template(x, c);   // on failure the template is inferred on demand
    return 0;
}

static int campaign_update(bw_campaign_index *x, campaign *c, const bw_campaign_msg *msg, bw_slice text)
{
    if (c->messages == 0 || msg->time < c->first_seen)
        c->first_seen = msg->time;
    if (c->messages == 0 || msg->time > c->last_seen)
        c->last_seen = msg->time;
    c->messages++;
    c->changed = true;
    bw_ip ip;
    bool has_ip = msg->sender_addr ? (ip = *msg->sender_addr, true)
                                   : msg->sender_ip.n && bw_ip_parse(msg->sender_ip, &ip);
    if (has_ip && !(c->has_last_ip && memcmp(c->last_ip.b, ip.b, sizeof ip.b) == 0)) {
        // Adding an IP (and its /24) a second time changes nothing, so the same sender as
        // the campaign's previous message (a bot's burst, a repeated message) skips the two
        // keyed hashes and set probes. Not saved: after a load the first add just repeats.
        if (ip_add(x, c, &ip) != 0)
            return -1;
        c->last_ip = ip;
        c->has_last_ip = true;
    }
    if (msg->asn && asn_add(x, c, msg->asn) != 0)
        return -1;
    if (top_add(&c->subjects, &c->subject_count, &c->subject_cap, x->cfg.max_top, bw_slice_trim(msg->subject),
                x->cfg.max_value_bytes) != 0)
        return -1;
    size_t urls = msg->url_count < x->cfg.max_urls ? msg->url_count : x->cfg.max_urls;
    for (size_t u = 0; u < urls; u++) {
        bw_slice d = msg->urls[u].domain;
        if (d.n == 0)
            continue;
        bool seen = false;
        for (size_t v = 0; v < u && !seen; v++)
            seen = bw_slice_eq(msg->urls[v].domain, d);
        if (seen)
            continue;
        if (top_add(&c->domains, &c->domain_count, &c->domain_cap, x->cfg.max_top, d, x->cfg.max_value_bytes) != 0 ||
            note_domain(x, c, d, msg->time) != 0)
            return -1;
    }
    // Reservoir sample of member ids (Vitter's algorithm R) with a per-campaign generator,
    // so the sample depends only on the input order.
    if (x->cfg.max_samples) {
        if (!c->samples) {
            c->samples = calloc(x->cfg.max_samples, sizeof *c->samples);
            if (!c->samples)
                return -1;
        }
        if (c->sample_count < x->cfg.max_samples) {
            c->samples[c->sample_count++] = msg->id;
        } else {
            uint64_t j = next_rand(&c->rng) % c->messages;
            if (j < x->cfg.max_samples)
                c->samples[j] = msg->id;
        }
    }
    return member_add(x, c, text);
}

// ---- eviction -------------------------------------------------------------------------

static void evict_at(bw_campaign_index *x, size_t pos)
{
    x->generation++;
    campaign *c = x->camps[pos];
    if (x->cfg.on_evict) {
        bw_campaign_summary s;
        if (bw_campaign_index_get(x, c->id, &s) == BW_OK)
            x->cfg.on_evict(x->cfg.evict_ctx, &s);
    }
    bw_campaign_free_one(x, c);
    memmove(&x->camps[pos], &x->camps[pos + 1], (x->camp_count - pos - 1) * sizeof *x->camps);
    memmove(&x->ids[pos], &x->ids[pos + 1], (x->camp_count - pos - 1) * sizeof *x->ids);
    x->camp_count--;
    x->stats.campaigns_evicted++;
}

// Evicts every campaign marked `evicting`, in id order (on_evict sees each while the index
// is still whole), then closes the gaps in one pass. One evict_at() per campaign moved the
// rest of the arrays each time: a sweep that evicts k of n campaigns cost k*n moves (at
// 100,000 campaigns, seconds).
static size_t evict_marked(bw_campaign_index *x)
{
    size_t evicted = 0;
    for (size_t i = 0; i < x->camp_count; i++) {
        campaign *c = x->camps[i];
        if (!c->evicting)
            continue;
        evicted++;
        if (x->cfg.on_evict) {
            bw_campaign_summary s;
            if (bw_campaign_index_get(x, c->id, &s) == BW_OK)
                x->cfg.on_evict(x->cfg.evict_ctx, &s);
        }
    }
    if (!evicted)
        return 0;
    x->generation++;
    size_t w = 0;
    for (size_t i = 0; i < x->camp_count; i++) {
        campaign *c = x->camps[i];
        if (c->evicting) {
            bw_campaign_free_one(x, c);
            continue;
        }
        x->camps[w] = c;
        x->ids[w++] = x->ids[i];
    }
    x->camp_count = w;
    x->stats.campaigns_evicted += evicted;
    return evicted;
}

void bw_campaign_index_evict_idle(bw_campaign_index *x, int64_t now)
{
    now = clamp_time(now);
    int64_t limit = now - x->cfg.idle_window;
    for (size_t i = 0; i < x->camp_count; i++)
        x->camps[i]->evicting = x->camps[i]->last_seen < limit;
    evict_marked(x);
    x->last_sweep = now;
}

void bw_campaign_index_evict_all(bw_campaign_index *x)
{
    while (x->camp_count)
        evict_at(x, x->camp_count - 1);
}

// (last_seen, id) of a campaign: the idlest first, ties by the older id (a total order, so
// which campaigns a cap eviction takes does not depend on how they are found).
typedef struct idle_key {
    int64_t last_seen;
    uint64_t id;
} idle_key;

static bool idle_before(const idle_key *a, const idle_key *b)
{
    return a->last_seen != b->last_seen ? a->last_seen < b->last_seen : a->id < b->id;
}

// Rearranges k[0, n) so that k[t] is the (t+1)-th idlest and no key before it is after it.
BW_DEFINE_SELECT(select_idlest, idle_key, idle_before)

// Over max_active: the idlest campaigns leave, a batch at a time (max_active/64 more than
// the excess, at least one): a scan for the single idlest on every new campaign made each
// message past the cap cost a pass over all of them (at the default 100,000, ingest fell
// from 54k to 3k messages/s on a stream of all-different messages). keep (the campaign
// just joined) stays.
static void evict_for_cap(bw_campaign_index *x, uint64_t keep)
{
    if (x->camp_count <= x->cfg.max_active)
        return;
    size_t n = 0, excess = x->camp_count - x->cfg.max_active;
    size_t want = excess + x->cfg.max_active / 64;
    idle_key *k = malloc(x->camp_count * sizeof *k);
    if (!k) {
        // No memory for the batch: the old way, one at a time.
        while (x->camp_count > x->cfg.max_active) {
            size_t idlest = SIZE_MAX;
            for (size_t i = 0; i < x->camp_count; i++)
                if (x->ids[i] != keep &&
                    (idlest == SIZE_MAX || idle_before(&(idle_key){ x->camps[i]->last_seen, x->ids[i] },
                                                       &(idle_key){ x->camps[idlest]->last_seen, x->ids[idlest] })))
                    idlest = i;
            if (idlest == SIZE_MAX)
                return;
            evict_at(x, idlest);
            x->stats.evicted_for_cap++;
        }
        return;
    }
    for (size_t i = 0; i < x->camp_count; i++) {
        x->camps[i]->evicting = false;
        if (x->ids[i] != keep)
            k[n++] = (idle_key){ x->camps[i]->last_seen, x->ids[i] };
    }
    if (want > n)
        want = n;
    if (want) {
        select_idlest(k, n, want - 1);
        idle_key last = k[want - 1];
        for (size_t i = 0; i < x->camp_count; i++)
            if (x->ids[i] != keep && !idle_before(&last, &(idle_key){ x->camps[i]->last_seen, x->ids[i] }))
                x->camps[i]->evicting = true;
    }
    free(k);
    x->stats.evicted_for_cap += evict_marked(x);
}

// ---- public ---------------------------------------------------------------------------

// What a prepared message depends on: the key and shingle size (the signature) and
// template_max_tokens (how much text it keeps).
static uint64_t prepared_params(const bw_campaign_config *cfg)
{
    return bw_campaign_params_check(cfg) ^ bw_campaign_mix64(cfg->template_max_tokens + 1);
}

bw_campaign_index *bw_campaign_index_new(const bw_campaign_config *config, char *errbuf)
{
    bw_campaign_config defaults;
    if (!config) {
        bw_campaign_config_default(&defaults);
        config = &defaults;
    }
    if (config->bands == 0 || config->rows == 0 || config->bands * config->rows > BW_CAMPAIGN_SIG) {
        bw_error(errbuf, BW_ERR_INVALID, "campaign: bands x rows must be 1..%d", BW_CAMPAIGN_SIG);
        return NULL;
    }
    if (config->shingle_k < 1 || config->shingle_k > 8 || config->max_reps < 1 || config->max_reps > MAX_REPS ||
        !(config->threshold > 0 && config->threshold <= 1) || config->max_active < 1 ||
        config->idle_window < 0 || config->link_window < 0 || config->norm.max_tokens < 1) {
        bw_error(errbuf, BW_ERR_INVALID, "campaign: invalid config (shingle_k 1..8, max_reps 1..%d, "
                 "threshold in (0,1], max_active >= 1, windows >= 0)", MAX_REPS);
        return NULL;
    }
    bw_campaign_index *x = calloc(1, sizeof *x);
    if (!x) {
        bw_error(errbuf, BW_ERR_NOMEM, "campaign: out of memory");
        return NULL;
    }
    x->cfg = *config;
    const int64_t window_bound = INT64_C(1) << 61;
    if (x->cfg.idle_window > window_bound)
        x->cfg.idle_window = window_bound;
    if (x->cfg.link_window > window_bound)
        x->cfg.link_window = window_bound;
    x->next_id = 1;
    x->params = prepared_params(&x->cfg);
    x->prep = (bw_campaign_prepared)BW_CAMPAIGN_PREPARED_INIT;
    x->now = -(INT64_C(1) << 60);
    x->last_sweep = INT64_MIN;
    return x;
}

void bw_campaign_index_free(bw_campaign_index *x)
{
    if (!x)
        return;
    // The tables go whole below: taking each representative out of 43 of them first was
    // 38 million instructions at the end of a bench/ingest run (4,788 campaigns).
    for (size_t i = 0; i < x->camp_count; i++)
        campaign_memory_free(x->camps[i]);
    free(x->camps);
    free(x->ids);
    free(x->reps);
    free(x->rep_free);
    free(x->lsh.t);
    free(x->exact.t);
    free(x->doms);
    free(x->view_subjects);
    free(x->view_domains);
    free(x->view_links);
    bw_campaign_prepared_free(&x->prep);
    bw_campaign_token_cache_free(x->token_cache);
    free(x);
}

void bw_campaign_prepared_free(bw_campaign_prepared *p)
{
    if (p)
        bw_buf_free(&p->text);
}

bw_campaign_token_cache *bw_campaign_token_cache_new(void)
{
    return calloc(1, sizeof(bw_campaign_token_cache));
}

void bw_campaign_token_cache_free(bw_campaign_token_cache *cache)
{
    free(cache);
}

bw_status bw_campaign_prepare_cached(const bw_campaign_config *cfg, const bw_campaign_msg *msg,
                                     bw_campaign_token_cache *cache, bw_campaign_prepared *out)
{
    bw_buf_clear(&out->text);
    out->norm_flags = 0;
    out->tokens = 0;
    out->params = 0;
    // One pass: each token is hashed into the signature as the normaliser produces it; only
    // the first template_max_tokens tokens are kept as text (all that template inference
    // reads, see member_add).
    bw_campaign_sketch sketch;
    bw_campaign_sketch_init(&sketch, &cfg->key, cfg->shingle_k, out->sig, cache);
    if (bw_campaign_normalize_sketch(&cfg->norm, msg->subject, msg->text, msg->rcpt_addr, msg->rcpt_name,
                                     &out->text, cfg->template_max_tokens, &sketch, &out->tokens,
                                     &out->norm_flags) != BW_OK)
        return BW_ERR_NOMEM;
    bw_campaign_sketch_finish(&sketch);
    // The band keys too: they depend only on the signature and the banding, and computing
    // them here moves 42 hashes a message from the ordered writer to the workers.
    // (A banding bw_campaign_index_new would refuse gets none: no index can take it.)
    if (cfg->rows > 0 && cfg->bands <= BW_CAMPAIGN_SIG / cfg->rows)
        bw_campaign_band_keys(out->sig, cfg->bands, cfg->rows, out->band_keys);
    out->sig_key = bw_campaign_sig_key(out->sig);
    // What the prepared message was made with: a SipHash of the config, kept by the cache
    // (once per worker) while the config stays the same.
    if (!cache) {
        out->params = prepared_params(cfg);
    } else {
        if (!cache->params_made || cache->params_key.k0 != cfg->key.k0 || cache->params_key.k1 != cfg->key.k1 ||
            cache->params_k != cfg->shingle_k || cache->params_bands != cfg->bands ||
            cache->params_rows != cfg->rows || cache->params_text != cfg->template_max_tokens) {
            cache->params = prepared_params(cfg);
            cache->params_key = cfg->key;
            cache->params_k = cfg->shingle_k;
            cache->params_bands = cfg->bands;
            cache->params_rows = cfg->rows;
            cache->params_text = cfg->template_max_tokens;
            cache->params_made = true;
        }
        out->params = cache->params;
    }
    return BW_OK;
}

bw_status bw_campaign_prepare(const bw_campaign_config *cfg, const bw_campaign_msg *msg, bw_campaign_prepared *out)
{
    return bw_campaign_prepare_cached(cfg, msg, NULL, out);
}

bool bw_campaign_index_now(const bw_campaign_index *x, int64_t *now)
{
    // A fresh index starts at the lowest clamped time, below any message's.
    if (x->now <= -(INT64_C(1) << 60))
        return false;
    *now = x->now;
    return true;
}

bool bw_campaign_index_reserve_ids(bw_campaign_index *x, uint64_t next_id)
{
    if (next_id > x->next_id && next_id != UINT64_MAX) {
        x->next_id = next_id;
        x->generation++;
        return true;
    }
    return false;
}

bw_status bw_campaign_index_add(bw_campaign_index *x, const bw_campaign_msg *msg, bw_campaign_assignment *out)
{
    if (!x->token_cache)
        x->token_cache = bw_campaign_token_cache_new();   // optional: NULL just means slower
    if (bw_campaign_prepare_cached(&x->cfg, msg, x->token_cache, &x->prep) != BW_OK)
        return BW_ERR_NOMEM;
    return bw_campaign_index_add_prepared(x, msg, &x->prep, out);
}

bw_status bw_campaign_index_add_prepared(bw_campaign_index *x, const bw_campaign_msg *in,
                                         const bw_campaign_prepared *prep, bw_campaign_assignment *out)
{
    bw_campaign_match m;
    bw_status st = bw_campaign_index_match(x, prep, &m);
    return st == BW_OK ? bw_campaign_index_commit(x, in, prep, &m, out) : st;
}

bw_status bw_campaign_index_match(bw_campaign_index *x, const bw_campaign_prepared *prep, bw_campaign_match *m)
{
    memset(m, 0, sizeof *m);
    if (prep->params != x->params)
        return BW_ERR_INVALID;
    const uint32_t *sig = prep->sig;

    // Candidates: every representative sharing a band; the best estimated similarity
    // wins, ties to the older (smaller id) campaign so the result is order-determined.
    // Only the stamps change here (which representatives this lookup compared).
    x->stamp++;
    if (x->stamp == 0) {
        for (size_t r = 0; r < x->rep_used; r++)
            x->reps[r].stamp = 0;
        x->stamp = 1;
    }
    campaign *best = NULL;
    double best_sim = -1;
    uint64_t checked = 0;
    // A signature equal to a representative's has similarity 1 with it, the highest there
    // is, and only representatives equal to it tie; every representative is in the exact
    // table once, so the smallest owner id among the equal ones found there is what the
    // bands would choose. On template spam most messages are such repeats: one lookup
    // then replaces the 42 band probes (each a cache miss) and their comparisons.
    if (x->exact.cap) {
        size_t mask = x->exact.cap - 1;
        for (size_t i = prep->sig_key & mask; x->exact.t[i].rep != UINT32_MAX; i = (i + 1) & mask) {
            const lsh_entry *le = &x->exact.t[i];
            if (le->key != prep->sig_key)
                continue;
            const rep *r = &x->reps[le->rep];
            if (memcmp(r->sig, sig, sizeof r->sig) != 0)
                continue;
            checked++;
            if (!best || r->owner->id < best->id)
                best = r->owner;
        }
        if (best)
            best_sim = 1.0;
    }
    if (!best && x->lsh.cap) {
        // The home slots of the 42 bands are random places in a table of megabytes: each
        // is a cache miss. Computing every band's key and prefetching its slot before
        // reading any lets the misses overlap instead of queueing.
        const uint64_t *keys = prep->band_keys;
        size_t mask = x->lsh.cap - 1;
        for (unsigned b = 0; b < x->cfg.bands; b++)
            __builtin_prefetch(&x->lsh.t[keys[b] & mask]);
        for (unsigned b = 0; b < x->cfg.bands; b++) {
            uint64_t key = keys[b];
            for (size_t i = key & mask; x->lsh.t[i].rep != UINT32_MAX; i = (i + 1) & mask) {
                const lsh_entry *le = &x->lsh.t[i];
                if (le->key != key)
                    continue;
                rep *r = &x->reps[le->rep];
                if (r->stamp == x->stamp)
                    continue;
                r->stamp = x->stamp;
                checked++;
                double sim = bw_campaign_sig_similarity(sig, r->sig);
                if (sim > best_sim || (sim == best_sim && best && r->owner->id < best->id)) {
                    best_sim = sim;
                    best = r->owner;
                }
            }
        }
    }
    m->is_new = !best || best_sim < x->cfg.threshold;
    m->campaign_id = m->is_new ? x->next_id : best->id;
    m->similarity = m->is_new ? 1.0 : best_sim;
    m->priv_campaign = m->is_new ? NULL : best;
    m->priv_checked = checked;
    m->priv_generation = x->generation;
    m->priv_params = prep->params;
    return BW_OK;
}

bw_status bw_campaign_index_commit(bw_campaign_index *x, const bw_campaign_msg *in,
                                   const bw_campaign_prepared *prep, const bw_campaign_match *m,
                                   bw_campaign_assignment *out)
{
    // The match must be of this prepared message against the index as it is now.
    if (prep->params != x->params || m->priv_params != prep->params || m->priv_generation != x->generation ||
        (!m->is_new && !m->priv_campaign))
        return BW_ERR_INVALID;
    x->generation++;
    bw_campaign_msg clamped = *in;
    clamped.time = clamp_time(in->time);
    const bw_campaign_msg *msg = &clamped;
    if (msg->time > x->now)
        x->now = msg->time;
    const uint32_t *sig = prep->sig;
    unsigned flags = prep->norm_flags;
    x->stats.candidates_checked += m->priv_checked;
    campaign *best = m->priv_campaign;
    double best_sim = m->similarity;
    if (m->is_new) {
        best = bw_campaign_new_one(x, x->next_id);
        if (!best)
            return BW_ERR_NOMEM;
        if (bw_campaign_rep_add(x, best, sig, prep->band_keys, prep->sig_key) != 0) {
            x->camp_count--;
            bw_campaign_free_one(x, best);
            return BW_ERR_NOMEM;
        }
        x->next_id++;
        x->stats.campaigns_created++;
    } else if (best_sim < x->cfg.new_rep_below &&
               bw_campaign_rep_add(x, best, sig, prep->band_keys, prep->sig_key) != 0) {
        return BW_ERR_NOMEM;
    }
    // A failure below leaves the campaign with partial statistics: counted, not fatal.
    if (campaign_update(x, best, msg, bw_buf_slice(&prep->text)) != 0)
        return BW_ERR_NOMEM;
    x->stats.messages++;
    if (flags)
        x->stats.truncated_messages++;
    if (out) {
        out->campaign_id = best->id;
        out->is_new = m->is_new;
        out->similarity = best_sim;
        out->norm_flags = flags;
    }
    uint64_t id = best->id;
    int64_t sweep_every = x->cfg.idle_window / 8 > 0 ? x->cfg.idle_window / 8 : 1;
    if (x->last_sweep == INT64_MIN)
        x->last_sweep = x->now;
    else if (x->now - x->last_sweep >= sweep_every)
        bw_campaign_index_evict_idle(x, x->now);
    evict_for_cap(x, id);
    return BW_OK;
}

void bw_campaign_index_prefetch(const bw_campaign_index *x, const bw_campaign_prepared *prep)
{
    if (!x->lsh.cap || prep->params != x->params)
        return;
    if (x->exact.cap)
        __builtin_prefetch(&x->exact.t[prep->sig_key & (x->exact.cap - 1)]);
    size_t mask = x->lsh.cap - 1;
    for (unsigned b = 0; b < x->cfg.bands; b++)
        __builtin_prefetch(&x->lsh.t[prep->band_keys[b] & mask]);
}

const uint64_t *bw_campaign_index_ids(const bw_campaign_index *x, size_t *count)
{
    *count = x->camp_count;
    return x->ids;
}

bool bw_campaign_index_changed(const bw_campaign_index *x, uint64_t id)
{
    const campaign *c = find_campaign(x, id, NULL);
    return c && c->changed;
}

static int cmp_top(const void *a, const void *b)
{
    const bw_campaign_top *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    size_t n = x->value.n < y->value.n ? x->value.n : y->value.n;
    int c = memcmp(x->value.p, y->value.p, n);
    return c ? c : (x->value.n > y->value.n) - (x->value.n < y->value.n);
}

static bw_campaign_top *view_top(bw_campaign_top **view, const top_entry *t, size_t n)
{
    bw_campaign_top *v = realloc(*view, (n ? n : 1) * sizeof *v);
    if (!v)
        return NULL;
    *view = v;
    for (size_t i = 0; i < n; i++)
        v[i] = (bw_campaign_top){ { t[i].value, t[i].n }, t[i].count };
    qsort(v, n, sizeof *v, cmp_top);
    return v;
}

bw_status bw_campaign_index_get(bw_campaign_index *x, uint64_t id, bw_campaign_summary *out)
{
    campaign *c = find_campaign(x, id, NULL);
    if (!c)
        return BW_ERR_NOTFOUND;
    if (c->template_dirty) {
        bw_buf t = BW_BUF_INIT;
        if (bw_campaign_infer_template(c->members, c->member_count, x->cfg.template_max_tokens, &t) != BW_OK ||
            bw_buf_reserve(&t, 1) != 0) {
            bw_buf_free(&t);
            return BW_ERR_NOMEM;
        }
        free(c->template_text);
        c->template_text = t.p;
        c->template_n = t.n;
        c->template_dirty = false;
    }
    memset(out, 0, sizeof *out);
    out->id = c->id;
    out->first_seen = c->first_seen;
    out->last_seen = c->last_seen;
    out->messages = c->messages;
    out->sender_ips_exact = !c->ips_capped;
    out->sender_ips = c->ips_capped ? bw_campaign_hll_estimate(c->hll_ips) : c->ip_count;
    out->subnets24 = c->subnets_capped ? bw_campaign_hll_estimate(c->hll_subnets) : c->subnet_set.count;
    out->asns = c->asn_set.count;
    out->ips = c->ips;
    out->ip_count = c->ip_count;
    out->asn_list = c->asn_list;
    out->asn_count = c->asn_set.count;
    out->subjects = view_top(&x->view_subjects, c->subjects, c->subject_count);
    out->domains = view_top(&x->view_domains, c->domains, c->domain_count);
    if (!out->subjects || !out->domains)
        return BW_ERR_NOMEM;
    out->subject_count = c->subject_count;
    out->domain_count = c->domain_count;
    out->samples = c->samples;
    out->sample_count = c->sample_count;
    bw_campaign_link *links = realloc(x->view_links, (c->link_count ? c->link_count : 1) * sizeof *links);
    if (!links)
        return BW_ERR_NOMEM;
    x->view_links = links;
    for (size_t i = 0; i < c->link_count; i++)
        links[i] = (bw_campaign_link){ c->links[i].other_id, { c->links[i].domain, c->links[i].domain_n },
                                       c->links[i].time };
    out->links = links;
    out->link_count = c->link_count;
    out->template_text = (bw_slice){ c->template_text ? c->template_text : "", c->template_n };
    out->template_members = c->member_count;
    return BW_OK;
}

static size_t campaign_bytes(const bw_campaign_index *x, const campaign *c)
{
    size_t n = sizeof *c + c->ip_set.cap * 8 + c->ip_alloc * sizeof(bw_ip) + c->subnet_set.cap * 8 +
               c->asn_set.cap * 8 + c->asn_set.count * 4 + (c->subject_cap + c->domain_cap) * sizeof(top_entry) +
               x->cfg.template_members * sizeof(bw_slice) + c->template_n;
    for (size_t i = 0; i < c->subject_count; i++)
        n += c->subjects[i].n + 1;
    for (size_t i = 0; i < c->domain_count; i++)
        n += c->domains[i].n + 1;
    if (c->samples)
        n += x->cfg.max_samples * 8;
    if (c->links) {
        n += c->link_cap * sizeof(link_entry);
        for (size_t i = 0; i < c->link_count; i++)
            n += c->links[i].domain_n + 1;
    }
    for (unsigned i = 0; i < c->member_count; i++)
        n += c->members[i].n + 1;
    return n;
}

void bw_campaign_index_stats(const bw_campaign_index *x, bw_campaign_stats *out)
{
    *out = x->stats;
    out->campaigns_active = x->camp_count;
    size_t bytes = sizeof *x + x->camp_cap * (sizeof(campaign *) + 8) + x->rep_cap * (sizeof(rep) + 4) +
                   (x->lsh.cap + x->exact.cap) * sizeof(lsh_entry) + x->dom_cap * sizeof(dom_entry) +
                   x->prep.text.cap + (x->token_cache ? sizeof *x->token_cache : 0);
    for (size_t i = 0; i < x->camp_count; i++)
        bytes += campaign_bytes(x, x->camps[i]);
    out->memory_bytes = bytes;
}
