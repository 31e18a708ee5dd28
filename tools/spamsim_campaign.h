// SPDX-License-Identifier: MIT
// Glue between spamsim (spamsim_gen.h) and the campaign index, shared by the spamsim-driven
// tests (tests/botnet, tests/campaign) and bench/campaigns: the data directories from the
// environment, and one rendered message as the index's input. Header-only so each target
// that already compiles spamsim_gen.c needs nothing more.
#ifndef BOTWATCH_SPAMSIM_CAMPAIGN_H
#define BOTWATCH_SPAMSIM_CAMPAIGN_H

#include <stdio.h>
#include <stdlib.h>

#include "botwatch/botnet.h"
#include "botwatch/campaign.h"
#include "botwatch/ip.h"
#include "spamsim_gen.h"

// "$env/sub" in out, or NULL when env is unset or empty.
static inline const char *spamsim_data_dir(const char *env, const char *sub, char *out, size_t n)
{
    const char *base = getenv(env);
    if (!base || !*base)
        return NULL;
    snprintf(out, n, "%s/%s", base, sub);
    return out;
}

// Where spamsim reads its sources; the config points into it, so it must outlive the
// spamsim_new() call.
typedef struct spamsim_data_paths {
    char sa[4096], csdmc[4096], asn[4096];
} spamsim_data_paths;

// Points cfg at the corpora under BW_DATA / BW_SHARED_DATA and makes the stream, or returns
// NULL with the reason in errbuf (at least 256 bytes): tests skip on NULL.
static inline spamsim *spamsim_from_env(spamsim_config *cfg, spamsim_data_paths *paths, char *errbuf)
{
    cfg->sa_dir = spamsim_data_dir("BW_DATA", "npm-spam-assassin/package/data", paths->sa, sizeof paths->sa);
    cfg->csdmc_dir = spamsim_data_dir("BW_SHARED_DATA", "mail/csdmc2010", paths->csdmc, sizeof paths->csdmc);
    cfg->asn_csv = spamsim_data_dir("BW_DATA", "npm-asn/package/asn-ipv4.csv", paths->asn, sizeof paths->asn);
    if (!cfg->sa_dir || !cfg->asn_csv) {
        snprintf(errbuf, 256, "BW_DATA not set");
        return NULL;
    }
    return spamsim_new(cfg, errbuf);
}

// Message m as the campaign index's input, from spamsim's own records (no parsing); the
// slices borrow from m.
static inline bw_campaign_msg spamsim_campaign_msg(const spamsim_msg *m)
{
    return (bw_campaign_msg){ .id = m->index, .time = m->time, .subject = m->subject, .text = m->text,
                              .urls = m->urls, .url_count = m->url_count,
                              .sender_ip = bw_slice_cstr(m->sender_ip), .asn = m->asn,
                              .rcpt_addr = m->rcpt_addr, .rcpt_name = m->rcpt_name };
}

// One clustered message's sender. Sorted with spamsim_sender_cmp (campaign, IP, time) the
// senders give bw_botnet_infer() its campaigns and sightings as the store query does
// (GROUP BY campaign_id, sender_ip).
typedef struct spamsim_sender {
    uint64_t campaign;
    uint32_t botnet;   // spamsim's truth
    bw_ip ip;          // all zero: no parsable sender IP
    int64_t time;
} spamsim_sender;

static inline int spamsim_sender_cmp(const void *a, const void *b)
{
    const spamsim_sender *x = a, *y = b;
    if (x->campaign != y->campaign)
        return x->campaign < y->campaign ? -1 : 1;
    int c = bw_ip_cmp(&x->ip, &y->ip);
    if (c)
        return c;
    return (x->time > y->time) - (x->time < y->time);
}

// Adds the next sorted sender to camps[*nc] / sights[*ns] (each with room for one entry a
// sender); a sender without an IP counts in its campaign only. Returns its campaign.
static inline bw_botnet_campaign *spamsim_botnet_add(bw_botnet_campaign *camps, size_t *nc,
                                                     bw_botnet_sighting *sights, size_t *ns,
                                                     const spamsim_sender *v)
{
    static const bw_ip none = { { 0 } };
    if (*nc == 0 || camps[*nc - 1].id != v->campaign)
        camps[(*nc)++] = (bw_botnet_campaign){ v->campaign, 0, v->time, v->time, NULL };
    bw_botnet_campaign *c = &camps[*nc - 1];
    c->messages++;
    if (v->time < c->first_seen)
        c->first_seen = v->time;
    if (v->time > c->last_seen)
        c->last_seen = v->time;
    if (bw_ip_cmp(&v->ip, &none) == 0)
        return c;
    if (*ns == 0 || sights[*ns - 1].campaign_id != v->campaign || bw_ip_cmp(&sights[*ns - 1].ip, &v->ip) != 0)
        sights[(*ns)++] = (bw_botnet_sighting){ v->campaign, v->ip, v->time, v->time, 0 };
    sights[*ns - 1].messages++;
    sights[*ns - 1].last_seen = v->time;   // sorted by time inside (campaign, ip)
    return c;
}

// A message's predicted and true cluster, for scoring a clustering against spamsim's truth.
typedef struct spamsim_pair {
    uint64_t pred;
    uint32_t truth;
} spamsim_pair;

static inline int spamsim_cmp_pred(const void *a, const void *b)
{
    const spamsim_pair *x = a, *y = b;
    if (x->pred != y->pred)
        return x->pred < y->pred ? -1 : 1;
    return (x->truth > y->truth) - (x->truth < y->truth);
}

static inline int spamsim_cmp_truth(const void *a, const void *b)
{
    const spamsim_pair *x = a, *y = b;
    if (x->truth != y->truth)
        return x->truth < y->truth ? -1 : 1;
    return (x->pred > y->pred) - (x->pred < y->pred);
}

// Purity (each predicted cluster counted by its largest true class) and inverse purity (each
// true class by its largest predicted cluster), message-weighted (Amigo et al. 2009).
static inline void spamsim_purity(const uint64_t *pred, const uint32_t *truth, size_t n, double *pur, double *inv,
                                  size_t *pred_clusters, size_t *true_clusters)
{
    spamsim_pair *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = (spamsim_pair){ pred[i], truth[i] };
    double sums[2] = { 0, 0 };
    size_t counts[2] = { 0, 0 };
    for (int pass = 0; pass < 2; pass++) {
        qsort(v, n, sizeof *v, pass == 0 ? spamsim_cmp_pred : spamsim_cmp_truth);
        for (size_t i = 0; i < n;) {
            size_t j = i, best = 0;
            while (j < n && (pass == 0 ? v[j].pred == v[i].pred : v[j].truth == v[i].truth))
                j++;
            for (size_t k = i; k < j;) {
                size_t l = k;
                while (l < j && v[l].pred == v[k].pred && v[l].truth == v[k].truth)
                    l++;
                if (l - k > best)
                    best = l - k;
                k = l;
            }
            sums[pass] += (double)best;
            counts[pass]++;
            i = j;
        }
    }
    free(v);
    *pur = n ? sums[0] / (double)n : 0;
    *inv = n ? sums[1] / (double)n : 0;
    *pred_clusters = counts[0];
    *true_clusters = counts[1];
}

#endif
