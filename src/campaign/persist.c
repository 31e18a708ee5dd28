// SPDX-License-Identifier: MIT
// Saving and loading the campaign index, so that ingesting day after day extends the
// campaigns already found. The format is explicit little-endian fields, each variable part
// preceded by its length, behind a magic, a version and a check value of the key and the
// parameters that shape signatures: a blob from another key or another banding is refused
// rather than silently producing different campaigns. Loading trusts nothing: every count
// is checked against the loading config's caps and every length against the bytes left.
#include <stdlib.h>
#include <string.h>

#include "index_internal.h"

static const char MAGIC[8] = { 'B', 'W', 'C', 'A', 'M', 'P', '\0', '\n' };
// 2 added the sweep clocks (last_sweep, dom_swept_at), so that a run continued from a
// saved state evicts at exactly the moments an uninterrupted run would.
//
// Campaign flags: 1 IPs capped, 2 subnets capped, 4 template final, 8 the IP HyperLogLog
// registers are not stored, 16 nor the subnet ones. A set under its cap holds exactly the
// hashes its registers were built from, so the loader rebuilds them (256 bytes each, a
// fifth of the state on bench/ingest); 8 and 16 are only written for such sets (and not
// when key 1 is in the set: hset stores hash 0 as 1). Blobs without them load as before.
#define FLAG_IPS_CAPPED 1u
#define FLAG_SUBNETS_CAPPED 2u
#define FLAG_TEMPLATE_FINAL 4u
#define FLAG_IP_HLL_DERIVED 8u
#define FLAG_SUBNET_HLL_DERIVED 16u
#define FLAGS_KNOWN 31u
#define FORMAT_VERSION ((uint32_t)BW_CAMPAIGN_STATE_VERSION)

// ---- writer ---------------------------------------------------------------------------

typedef struct writer {
    bw_buf *out;
    bool failed;
} writer;

static void put(writer *w, const void *p, size_t n)
{
    if (!w->failed && bw_buf_append(w->out, p, n) != 0)
        w->failed = true;
}

static void put_u64(writer *w, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    put(w, b, 8);
}

static void put_u32(writer *w, uint32_t v)
{
    unsigned char b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    put(w, b, 4);
}

// The 128 bins of a signature, little-endian.
static void put_sig(writer *w, const uint32_t *sig)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    put(w, sig, BW_CAMPAIGN_SIG * sizeof *sig);
#else
    for (unsigned b = 0; b < BW_CAMPAIGN_SIG; b++)
        put_u32(w, sig[b]);
#endif
}

static bool hset_has(const hset *s, uint64_t key)
{
    if (!s->cap)
        return false;
    for (size_t i = key & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (s->slots[i] == key)
            return true;
        if (s->slots[i] == 0)
            return false;
    }
}

// Registers of an uncapped set can be rebuilt from its keys (see the flags above).
static bool hll_derivable(const hset *s, bool capped)
{
    return !capped && !hset_has(s, 1);
}

static void put_bytes(writer *w, const void *p, size_t n)
{
    put_u32(w, (uint32_t)n);
    put(w, p, n);
}

uint64_t bw_campaign_params_check(const bw_campaign_config *c)
{
    uint64_t v[4] = { BW_CAMPAIGN_SIG, c->shingle_k, c->bands, c->rows };
    return bw_siphash(&c->key, v, sizeof v);
}

static void put_top(writer *w, const top_entry *t, size_t n)
{
    put_u32(w, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        put_u64(w, t[i].count);
        put_bytes(w, t[i].value, t[i].n);
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

// Sets and the domain table are written in key order, not slot order: the same content
// gives the same bytes whatever the table's history (its capacity and insertion order
// differ between a continued run and an uninterrupted one).
static void put_hset(writer *w, const hset *s)
{
    put_u32(w, (uint32_t)s->count);
    if (!s->count)
        return;
    uint64_t *keys = malloc(s->count * sizeof *keys);
    if (!keys) {
        w->failed = true;
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < s->cap && n < s->count; i++)
        if (s->slots[i])
            keys[n++] = s->slots[i];
    qsort(keys, n, sizeof *keys, cmp_u64);
    for (size_t i = 0; i < n; i++)
        put_u64(w, keys[i]);
    free(keys);
}

static int cmp_dom(const void *a, const void *b)
{
    const dom_entry *x = a, *y = b;
    return (x->key > y->key) - (x->key < y->key);
}

// An upper bound of the bytes save writes for c, so the buffer grows once.
static size_t campaign_save_bytes(const campaign *c)
{
    size_t n = 64 + c->rep_count * BW_CAMPAIGN_SIG * 4 + c->ip_count * 16 + c->ip_set.count * 8 +
               c->subnet_set.count * 8 + c->asn_set.count * 4 + 2 * 256 + 16 + c->sample_count * 8;
    for (size_t i = 0; i < c->subject_count; i++)
        n += 12 + c->subjects[i].n;
    for (size_t i = 0; i < c->domain_count; i++)
        n += 12 + c->domains[i].n;
    for (size_t i = 0; i < c->link_count; i++)
        n += 20 + c->links[i].domain_n;
    if (c->template_final)
        n += 4 + c->template_n;
    else
        for (unsigned i = 0; i < c->member_count; i++)
            n += 4 + c->members[i].n;
    return n;
}

bw_status bw_campaign_index_save(const bw_campaign_index *x, bw_buf *out)
{
    writer w = { out, false };
    size_t need = 256 + x->dom_count * 24;
    for (size_t ci = 0; ci < x->camp_count; ci++)
        need += campaign_save_bytes(x->camps[ci]);
    if (bw_buf_reserve(out, need) != 0)
        return BW_ERR_NOMEM;
    put(&w, MAGIC, sizeof MAGIC);
    put_u32(&w, FORMAT_VERSION);
    put_u64(&w, bw_campaign_params_check(&x->cfg));
    put_u64(&w, x->next_id);
    put_u64(&w, (uint64_t)x->now);
    put_u64(&w, (uint64_t)x->last_sweep);
    put_u64(&w, (uint64_t)x->dom_swept_at);
    const bw_campaign_stats *s = &x->stats;
    uint64_t counters[8] = { s->messages, s->campaigns_created, s->campaigns_evicted, s->evicted_for_cap,
                             s->candidates_checked, s->links, s->domains_dropped, s->truncated_messages };
    for (int i = 0; i < 8; i++)
        put_u64(&w, counters[i]);
    put_u32(&w, (uint32_t)x->camp_count);
    for (size_t ci = 0; ci < x->camp_count; ci++) {
        const campaign *c = x->camps[ci];
        put_u64(&w, c->id);
        put_u64(&w, (uint64_t)c->first_seen);
        put_u64(&w, (uint64_t)c->last_seen);
        put_u64(&w, c->messages);
        put_u64(&w, c->rng);
        bool ip_hll_derived = hll_derivable(&c->ip_set, c->ips_capped);
        bool subnet_hll_derived = hll_derivable(&c->subnet_set, c->subnets_capped);
        put_u32(&w, (c->ips_capped ? FLAG_IPS_CAPPED : 0) | (c->subnets_capped ? FLAG_SUBNETS_CAPPED : 0) |
                        (c->template_final ? FLAG_TEMPLATE_FINAL : 0) | (ip_hll_derived ? FLAG_IP_HLL_DERIVED : 0) |
                        (subnet_hll_derived ? FLAG_SUBNET_HLL_DERIVED : 0));
        put_u32(&w, c->rep_count);
        for (unsigned r = 0; r < c->rep_count; r++)
            put_sig(&w, x->reps[c->reps[r]].sig);
        put_u32(&w, (uint32_t)c->ip_count);
        for (size_t i = 0; i < c->ip_count; i++)
            put(&w, c->ips[i].b, 16);
        put_hset(&w, &c->ip_set);
        put_hset(&w, &c->subnet_set);
        put_u32(&w, (uint32_t)c->asn_set.count);
        for (size_t i = 0; i < c->asn_set.count; i++)
            put_u32(&w, c->asn_list[i]);
        if (!ip_hll_derived)
            put(&w, c->hll_ips, HLL_REGS);
        if (!subnet_hll_derived)
            put(&w, c->hll_subnets, HLL_REGS);
        put_top(&w, c->subjects, c->subject_count);
        put_top(&w, c->domains, c->domain_count);
        put_u32(&w, (uint32_t)c->sample_count);
        for (size_t i = 0; i < c->sample_count; i++)
            put_u64(&w, c->samples[i]);
        put_u32(&w, (uint32_t)c->link_count);
        for (size_t i = 0; i < c->link_count; i++) {
            put_u64(&w, c->links[i].other_id);
            put_u64(&w, (uint64_t)c->links[i].time);
            put_bytes(&w, c->links[i].domain, c->links[i].domain_n);
        }
        // A final template is saved instead of the members it was inferred from.
        put_u32(&w, c->member_count);
        if (c->template_final)
            put_bytes(&w, c->template_text, c->template_n);
        else
            for (unsigned i = 0; i < c->member_count; i++)
                put_bytes(&w, c->members[i].p, c->members[i].n);
    }
    // Only entries that can still link (within link_window of the clock): older ones are
    // dropped whenever the table is rebuilt, so which of them survive is history, not state.
    dom_entry *doms = x->dom_count ? malloc(x->dom_count * sizeof *doms) : NULL;
    size_t live = 0;
    if (x->dom_count && !doms)
        w.failed = true;
    for (size_t i = 0; doms && i < x->dom_cap; i++)
        if (x->doms[i].key && x->doms[i].time >= x->now - x->cfg.link_window && live < x->dom_count)
            doms[live++] = x->doms[i];
    if (live)
        qsort(doms, live, sizeof *doms, cmp_dom);
    put_u32(&w, (uint32_t)live);
    for (size_t i = 0; i < live; i++) {
        put_u64(&w, doms[i].key);
        put_u64(&w, doms[i].campaign);
        put_u64(&w, (uint64_t)doms[i].time);
    }
    free(doms);
    return w.failed ? BW_ERR_NOMEM : BW_OK;
}

// ---- reader ---------------------------------------------------------------------------

typedef struct reader {
    const unsigned char *p;
    size_t n, off;
    const char *error;      // first problem, NULL while fine
    size_t error_off;
    bool nomem;
} reader;

static bool fail(reader *r, const char *what)
{
    if (!r->error) {
        r->error = what;
        r->error_off = r->off;
    }
    return false;
}

static bool get(reader *r, void *dst, size_t n)
{
    if (r->error)
        return false;
    if (n > r->n - r->off)
        return fail(r, "truncated");
    memcpy(dst, r->p + r->off, n);
    r->off += n;
    return true;
}

static uint64_t get_u64(reader *r)
{
    unsigned char b[8] = { 0 };
    get(r, b, 8);
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | b[i];
    return v;
}

static uint32_t get_u32(reader *r)
{
    unsigned char b[4] = { 0 };
    get(r, b, 4);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

// A count that must not exceed cap (a config limit) nor the bytes left at `unit` each.
static size_t get_count(reader *r, size_t cap, size_t unit, const char *what)
{
    uint32_t v = get_u32(r);
    if (r->error)
        return 0;
    if (v > cap || (unit && v > (r->n - r->off) / unit)) {
        fail(r, what);
        return 0;
    }
    return v;
}

// A length-prefixed byte string copied into a new NUL-terminated allocation.
static char *get_bytes(reader *r, size_t cap, size_t *n, const char *what)
{
    size_t len = get_count(r, cap, 1, what);
    if (r->error)
        return NULL;
    char *p = malloc(len + 1);
    if (!p) {
        r->nomem = true;
        fail(r, "out of memory");
        return NULL;
    }
    get(r, p, len);
    p[len] = '\0';
    *n = len;
    return p;
}

static bool get_hset(reader *r, hset *s, size_t limit, const char *what)
{
    size_t count = get_count(r, limit, 8, what);
    for (size_t i = 0; i < count && !r->error; i++) {
        uint64_t key = get_u64(r);
        if (r->error)
            break;
        if (key == 0)
            return fail(r, what);
        // hset_add is private to index.c; re-insert through a local probe.
        if ((s->count + 1) * 2 > s->cap) {
            size_t ncap = 16;
            while (ncap < (s->count + 1) * 2)
                ncap *= 2;
            uint64_t *ns = calloc(ncap, sizeof *ns);
            if (!ns) {
                r->nomem = true;
                return fail(r, "out of memory");
            }
            for (size_t j = 0; j < s->cap; j++)
                if (s->slots[j]) {
                    size_t k = s->slots[j] & (ncap - 1);
                    while (ns[k])
                        k = (k + 1) & (ncap - 1);
                    ns[k] = s->slots[j];
                }
            free(s->slots);
            s->slots = ns;
            s->cap = ncap;
        }
        size_t k = key & (s->cap - 1);
        while (s->slots[k] && s->slots[k] != key)
            k = (k + 1) & (s->cap - 1);
        if (s->slots[k] == key)
            return fail(r, what);
        s->slots[k] = key;
        s->count++;
    }
    return !r->error;
}

static bool get_top(reader *r, top_entry **tp, size_t *count, size_t *cap, size_t k, size_t value_cap,
                    const char *what)
{
    size_t n = get_count(r, k, 12, what);
    if (n && !r->error && bw_campaign_reserve((void **)tp, cap, n, k, sizeof **tp) != 0) {
        r->nomem = true;
        return fail(r, "out of memory");
    }
    top_entry *t = *tp;
    for (size_t i = 0; i < n && !r->error; i++) {
        uint64_t c = get_u64(r);
        size_t len = 0;
        char *v = get_bytes(r, value_cap, &len, what);
        if (!v)
            break;
        t[(*count)++] = (top_entry){ v, len, c };
    }
    return !r->error;
}

static void load_campaign(bw_campaign_index *x, reader *r, uint64_t prev_id)
{
    const bw_campaign_config *cfg = &x->cfg;
    uint64_t id = get_u64(r);
    if (r->error)
        return;
    if (id <= prev_id || id >= x->next_id) {
        fail(r, "campaign id out of order");
        return;
    }
    campaign *c = bw_campaign_new_one(x, id);
    if (!c) {
        r->nomem = true;
        fail(r, "out of memory");
        return;
    }
    c->first_seen = (int64_t)get_u64(r);
    c->last_seen = (int64_t)get_u64(r);
    c->messages = get_u64(r);
    c->rng = get_u64(r);
    uint32_t flags = get_u32(r);
    c->ips_capped = flags & FLAG_IPS_CAPPED;
    c->subnets_capped = flags & FLAG_SUBNETS_CAPPED;
    bool template_final = flags & FLAG_TEMPLATE_FINAL;
    bool ip_hll_derived = flags & FLAG_IP_HLL_DERIVED, subnet_hll_derived = flags & FLAG_SUBNET_HLL_DERIVED;
    if (!r->error && (flags > FLAGS_KNOWN || (ip_hll_derived && c->ips_capped) ||
                      (subnet_hll_derived && c->subnets_capped)))
        fail(r, "unknown campaign flags");
    size_t reps = get_count(r, cfg->max_reps, BW_CAMPAIGN_SIG * 4, "representative count");
    if (!r->error && reps == 0)
        fail(r, "campaign without representative");
    for (size_t i = 0; i < reps && !r->error; i++) {
        uint32_t sig[BW_CAMPAIGN_SIG];
        for (unsigned b = 0; b < BW_CAMPAIGN_SIG; b++)
            sig[b] = get_u32(r);
        if (!r->error && bw_campaign_rep_add(x, c, sig, NULL, 0) != 0) {
            r->nomem = true;
            fail(r, "out of memory");
        }
    }
    size_t ips = get_count(r, cfg->max_ips, 16, "sender IP count");
    if (!r->error && ips) {
        c->ips = malloc(ips * sizeof *c->ips);
        if (!c->ips) {
            r->nomem = true;
            fail(r, "out of memory");
            return;
        }
        c->ip_alloc = ips;
        for (size_t i = 0; i < ips && !r->error; i++)
            if (get(r, c->ips[i].b, 16))
                c->ip_count++;
    }
    get_hset(r, &c->ip_set, cfg->max_ips, "sender IP set");
    if (!r->error && c->ip_set.count != c->ip_count)
        fail(r, "sender IP set does not match the list");
    get_hset(r, &c->subnet_set, cfg->max_subnets, "subnet set");
    size_t asns = get_count(r, cfg->max_asns, 4, "ASN count");
    if (!r->error && asns) {
        c->asn_list = malloc(asns * sizeof *c->asn_list);
        if (!c->asn_list) {
            r->nomem = true;
            fail(r, "out of memory");
            return;
        }
        for (size_t i = 0; i < asns && !r->error; i++) {
            c->asn_list[i] = get_u32(r);
            uint64_t key = bw_campaign_mix64(c->asn_list[i]);
            key = key ? key : 1;
            // Rebuild the set from the list (it only serves membership).
            if ((c->asn_set.count + 1) * 2 > c->asn_set.cap) {
                size_t ncap = 16;
                while (ncap < (asns + 1) * 2)
                    ncap *= 2;
                c->asn_set.slots = calloc(ncap, sizeof *c->asn_set.slots);
                if (!c->asn_set.slots) {
                    r->nomem = true;
                    fail(r, "out of memory");
                    return;
                }
                c->asn_set.cap = ncap;
            }
            size_t k = key & (c->asn_set.cap - 1);
            while (c->asn_set.slots[k] && c->asn_set.slots[k] != key)
                k = (k + 1) & (c->asn_set.cap - 1);
            if (c->asn_set.slots[k] == key) {
                fail(r, "duplicate ASN");
                return;
            }
            c->asn_set.slots[k] = key;
            c->asn_set.count++;
        }
    }
    if (ip_hll_derived) {
        for (size_t i = 0; i < c->ip_set.cap; i++)
            if (c->ip_set.slots[i])
                bw_campaign_hll_add(c->hll_ips, c->ip_set.slots[i]);
    } else {
        get(r, c->hll_ips, HLL_REGS);
    }
    if (subnet_hll_derived) {
        for (size_t i = 0; i < c->subnet_set.cap; i++)
            if (c->subnet_set.slots[i])
                bw_campaign_hll_add(c->hll_subnets, c->subnet_set.slots[i]);
    } else {
        get(r, c->hll_subnets, HLL_REGS);
    }
    for (unsigned i = 0; i < HLL_REGS && !r->error; i++)
        if (c->hll_ips[i] > 57 || c->hll_subnets[i] > 57)
            fail(r, "HyperLogLog register out of range");
    get_top(r, &c->subjects, &c->subject_count, &c->subject_cap, cfg->max_top, cfg->max_value_bytes, "subjects");
    get_top(r, &c->domains, &c->domain_count, &c->domain_cap, cfg->max_top, cfg->max_value_bytes, "domains");
    size_t samples = get_count(r, cfg->max_samples, 8, "sample count");
    if (!r->error && samples) {
        c->samples = calloc(cfg->max_samples, sizeof *c->samples);
        if (!c->samples) {
            r->nomem = true;
            fail(r, "out of memory");
            return;
        }
        for (size_t i = 0; i < samples && !r->error; i++)
            c->samples[c->sample_count++] = get_u64(r);
    }
    size_t links = get_count(r, cfg->max_links, 20, "link count");
    if (!r->error && links) {
        if (bw_campaign_reserve((void **)&c->links, &c->link_cap, links, cfg->max_links, sizeof *c->links) != 0) {
            r->nomem = true;
            fail(r, "out of memory");
            return;
        }
        for (size_t i = 0; i < links && !r->error; i++) {
            link_entry *l = &c->links[i];
            l->other_id = get_u64(r);
            l->time = (int64_t)get_u64(r);
            l->domain = get_bytes(r, cfg->max_value_bytes, &l->domain_n, "link domain");
            if (l->domain)
                c->link_count++;
        }
    }
    size_t members = get_count(r, cfg->template_members, 4, "template member count");
    if (template_final && !r->error) {
        // The template of all members: template_max_tokens tokens and "<*>" slots between.
        size_t len = 0, cap = 2 * cfg->template_max_tokens * (cfg->norm.max_token_bytes + 1);
        char *p = get_bytes(r, cap, &len, "template");
        if (p) {
            c->template_text = p;
            c->template_n = len;
            c->template_final = true;
            c->member_count = (unsigned)members;
            if (members == 0)
                fail(r, "final template without members");
        }
        members = 0;
    }
    for (size_t i = 0; i < members && !r->error; i++) {
        size_t len = 0;
        // A member holds template_max_tokens tokens of at most max_token_bytes + a space.
        size_t cap = cfg->template_max_tokens * (cfg->norm.max_token_bytes + 1);
        char *p = get_bytes(r, cap, &len, "template member");
        if (p) {
            c->members[c->member_count++] = (bw_slice){ p, len };
            c->template_dirty = true;
        }
    }
    if (!r->error && c->messages == 0)
        fail(r, "campaign without messages");
}

static void clear(bw_campaign_index *x)
{
    for (size_t i = 0; i < x->camp_count; i++)
        bw_campaign_free_one(x, x->camps[i]);
    x->camp_count = 0;
    free(x->doms);
    x->doms = NULL;
    x->dom_cap = x->dom_count = 0;
    x->next_id = 1;
    memset(&x->stats, 0, sizeof x->stats);
}

bw_status bw_campaign_index_load(bw_campaign_index *x, const void *data, size_t n, char *errbuf)
{
    x->generation++;   // no bw_campaign_match made before survives a load
    if (x->camp_count || x->stats.messages)
        return bw_error(errbuf, BW_ERR_INVALID, "campaign: load needs an empty index");
    reader r = { data, n, 0, NULL, 0, false };
    char magic[sizeof MAGIC];
    if (get(&r, magic, sizeof magic) && memcmp(magic, MAGIC, sizeof MAGIC) != 0)
        fail(&r, "not a campaign index (bad magic)");
    if (get_u32(&r) != FORMAT_VERSION && !r.error)
        fail(&r, "unsupported format version");
    if (get_u64(&r) != bw_campaign_params_check(&x->cfg) && !r.error)
        fail(&r, "saved with another key or other shingle/band parameters");
    x->next_id = get_u64(&r);
    if (!r.error && (x->next_id == 0 || x->next_id == UINT64_MAX))
        fail(&r, "bad next campaign id");
    int64_t now = (int64_t)get_u64(&r);
    const int64_t bound = INT64_C(1) << 60;
    if (!r.error && (now < -bound || now > bound))
        fail(&r, "time out of range");
    int64_t last_sweep = (int64_t)get_u64(&r), dom_swept_at = (int64_t)get_u64(&r);
    if (!r.error && ((last_sweep != INT64_MIN && (last_sweep < -bound || last_sweep > bound)) ||
                     dom_swept_at < -bound || dom_swept_at > bound))
        fail(&r, "sweep time out of range");
    uint64_t counters[8];
    for (int i = 0; i < 8; i++)
        counters[i] = get_u64(&r);
    size_t camps = get_count(&r, x->cfg.max_active, 64, "campaign count");
    uint64_t prev = 0;
    for (size_t i = 0; i < camps && !r.error; i++) {
        load_campaign(x, &r, prev);
        if (!r.error)
            prev = x->ids[x->camp_count - 1];
    }
    size_t doms = get_count(&r, x->cfg.max_domains_tracked, 24, "domain count");
    if (!r.error && doms) {
        size_t cap = 16;
        while (cap < doms * 2)
            cap *= 2;
        x->doms = calloc(cap, sizeof *x->doms);
        if (!x->doms) {
            r.nomem = true;
            fail(&r, "out of memory");
        } else {
            x->dom_cap = cap;
        }
        for (size_t i = 0; i < doms && !r.error; i++) {
            dom_entry e = { get_u64(&r), get_u64(&r), (int64_t)get_u64(&r) };
            if (r.error)
                break;
            if (!(e.key & 1) || e.time < -bound || e.time > bound) {
                fail(&r, "bad domain entry");
                break;
            }
            size_t k = e.key & (cap - 1);
            while (x->doms[k].key && x->doms[k].key != e.key)
                k = (k + 1) & (cap - 1);
            if (x->doms[k].key) {
                fail(&r, "duplicate domain entry");
                break;
            }
            x->doms[k] = e;
            x->dom_count++;
        }
    }
    if (!r.error && r.off != r.n)
        fail(&r, "trailing bytes");
    if (r.error) {
        clear(x);
        return bw_error(errbuf, r.nomem ? BW_ERR_NOMEM : BW_ERR_PARSE, "campaign index: %s at byte %zu",
                        r.error, r.error_off);
    }
    x->now = now;
    x->last_sweep = last_sweep;
    x->dom_swept_at = dom_swept_at;
    x->stats.messages = counters[0];
    x->stats.campaigns_created = counters[1];
    x->stats.campaigns_evicted = counters[2];
    x->stats.evicted_for_cap = counters[3];
    x->stats.candidates_checked = counters[4];
    x->stats.links = counters[5];
    x->stats.domains_dropped = counters[6];
    x->stats.truncated_messages = counters[7];
    return BW_OK;
}
