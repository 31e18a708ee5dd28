// SPDX-License-Identifier: MIT
// bench/campaigns: clusters one spamsim stream three ways in the same run -- botwatch's
// campaign index, ssdeep (libfuzzy) and TLSH leader clustering at a similarity threshold --
// and prints for each the B-cubed precision, recall and F1 against spamsim's truth and the
// messages per second of the clustering work (hashing + matching; generating the messages
// is not timed). botwatch also gets its index memory and the peak RSS, to show that memory
// stays bounded as the stream grows (--scale 2, --scale 4).
//
// Input: by default every spamsim message's raw bytes go through the real parser and mail
// analyzer (bw_mime + bw_mail: decoded subject, visible text, URLs with registrable domains,
// sender IP from the Received chain), as ingest would, and bw_campaign_msg_from_mail()
// builds the clustering input; parsing is not timed. --records skips the parser and uses
// spamsim's own records instead. The peers hash the same subject + text.
//
// Botnets (docs/botnets.md): after clustering, bw_botnet_infer() runs over the predicted
// campaigns and their (campaign, sender IP, first/last seen, messages) sightings, as ingest
// feeds it from the store, and the inferred botnets are scored against spamsim's truth
// botnets: message-weighted purity and inverse purity, and botnets found vs true.
// --botnet-scale C,S skips spamsim and times the inference alone on a synthetic input of
// C campaigns and S sightings.
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <fuzzy.h>

#include "botwatch/botnet.h"
#include "botwatch/campaign.h"
#include "botwatch/mail.h"
#include "botwatch/mime.h"
#include "spamsim_campaign.h"
#include "spamsim_gen.h"
#include "tlsh_shim.h"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

// Clustering work is timed in this thread's CPU time, not wall time: the bench machine is
// shared, and CPU time is what the same work costs whoever else is running.
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

// B-cubed (Bagga & Baldwin 1998; Amigo et al. 2009): per message, the share of its
// predicted cluster that truly belongs with it (precision) and the share of its true
// cluster that was put with it (recall), averaged over messages.
static void bcubed(const uint64_t *pred, const uint32_t *truth, size_t n, double *p, double *r, size_t *clusters)
{
    spamsim_pair *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = (spamsim_pair){ pred[i], truth[i] };
    double ps = 0, rs = 0;
    size_t nclusters = 0;
    for (int pass = 0; pass < 2; pass++) {
        qsort(v, n, sizeof *v, pass == 0 ? spamsim_cmp_pred : spamsim_cmp_truth);
        for (size_t i = 0; i < n;) {
            size_t j = i;
            while (j < n && (pass == 0 ? v[j].pred == v[i].pred : v[j].truth == v[i].truth))
                j++;
            double group = (double)(j - i);
            if (pass == 0)
                nclusters++;
            // Cells (pred, truth) are contiguous inside the group (secondary sort key).
            for (size_t k = i; k < j;) {
                size_t l = k;
                while (l < j && v[l].pred == v[k].pred && v[l].truth == v[k].truth)
                    l++;
                double cell = (double)(l - k);
                if (pass == 0)
                    ps += cell * cell / group;
                else
                    rs += cell * cell / group;
                k = l;
            }
            i = j;
        }
    }
    free(v);
    *p = ps / (double)n;
    *r = rs / (double)n;
    *clusters = nclusters;
}

static void report(const char *name, const uint64_t *pred, const uint32_t *truth, size_t n, double seconds,
                   const char *extra)
{
    double p, r;
    size_t clusters;
    bcubed(pred, truth, n, &p, &r, &clusters);
    double f1 = p + r > 0 ? 2 * p * r / (p + r) : 0;
    printf("%-10s B3 precision %.4f  recall %.4f  F1 %.4f  clusters %6zu  %9.0f msg/s (CPU)  %s\n", name, p, r, f1,
           clusters, (double)n / seconds, extra);
}

// ---- botnets ---------------------------------------------------------------------------

// Builds campaigns and sightings from per-message (campaign, sender IP, time), as the store
// query does (GROUP BY campaign_id, sender_ip), infers botnets, and scores them against the
// true botnets. Messages without a parsable sender IP count in their campaign only.
static void botnet_report(const char *name, const bw_botnet_config *bc, const uint64_t *campaign, const bw_ip *ip,
                          const bool *has_ip, const int64_t *time, const uint32_t *truth_botnet, size_t n,
                          bool verbose)
{
    bw_botnet_config defaults;
    if (!bc) {
        bw_botnet_config_default(&defaults);
        bc = &defaults;
    }
    spamsim_sender *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = (spamsim_sender){ .campaign = campaign[i], .ip = has_ip[i] ? ip[i] : (bw_ip){ { 0 } }, .time = time[i] };
    qsort(v, n, sizeof *v, spamsim_sender_cmp);
    bw_botnet_campaign *camps = malloc(n * sizeof *camps);
    bw_botnet_sighting *sights = malloc(n * sizeof *sights);
    size_t nc = 0, ns = 0;
    for (size_t i = 0; i < n; i++)
        spamsim_botnet_add(camps, &nc, sights, &ns, &v[i]);
    free(v);
    bw_botnet_result *res = NULL;
    char errbuf[BW_ERRBUF_SIZE];
    double t0 = cpu_seconds();
    if (bw_botnet_infer(bc, camps, nc, sights, ns, &res, errbuf) != BW_OK) {
        fprintf(stderr, "bench_campaigns: botnets: %s\n", errbuf);
        exit(1);
    }
    double spent = cpu_seconds() - t0;
    uint64_t *pred = malloc(n * sizeof *pred);
    size_t unattributed = 0;
    for (size_t i = 0; i < n; i++) {
        pred[i] = bw_botnet_result_campaign(res, campaign[i]);
        if (pred[i] == 0) {   // in no botnet (sent from < min_subnets /24s): its own cell
            pred[i] = (1ull << 40) + campaign[i];
            unattributed++;
        }
    }
    double pur, inv;
    size_t found, truth_count;   // found counts each unattributed campaign as a cluster
    spamsim_purity(pred, truth_botnet, n, &pur, &inv, &found, &truth_count);
    bw_botnet_stats st;
    bw_botnet_result_stats(res, &st);
    // Botnets holding at least 1% of the messages: what an analyst would look at.
    size_t big = 0;
    for (uint64_t id = 1; id <= bw_botnet_result_count(res); id++) {
        bw_botnet_info bi;
        if (bw_botnet_result_get(res, id, &bi) == BW_OK && bi.messages * 100 >= n)
            big++;
    }
    printf("%-10s botnets: purity %.4f  inverse purity %.4f  found %zu (%zu with >= 1%% of messages) vs %zu "
           "true  [%zu campaigns, %zu sightings, %zu edges, Q %.3f, %.3f s CPU, %.1f MB]\n",
           name, pur, inv, bw_botnet_result_count(res), big, truth_count, nc, ns, st.edges, st.modularity, spent,
           (double)st.memory_bytes / 1e6);
    printf("%-10s botnets: %zu messages (%.2f%%) in %zu campaigns sent from < %zu /24s are in no botnet\n", name,
           unattributed, n ? 100.0 * (double)unattributed / (double)n : 0.0, st.campaigns_unattributed,
           bc->min_subnets);
    if (verbose) {
        for (uint64_t id = 1; id <= bw_botnet_result_count(res) && id <= 12; id++) {
            bw_botnet_info bi;
            if (bw_botnet_result_get(res, id, &bi) != BW_OK)
                break;
            printf("  botnet %llu: %zu campaigns, %llu msgs, %llu IPs, %llu /24s\n", (unsigned long long)id,
                   bi.campaigns, (unsigned long long)bi.messages, (unsigned long long)bi.sender_ips,
                   (unsigned long long)bi.subnets24);
        }
    }
    free(pred);
    bw_botnet_result_free(res);
    free(camps);
    free(sights);
}

// Inference alone at scale: campaigns in pools of 50 (botnets), sightings drawn from each
// pool's 20,000 zombies, times over 60 days.
static int botnet_scale(size_t ncamp, size_t nsight)
{
    bw_botnet_campaign *camps = malloc(ncamp * sizeof *camps);
    bw_botnet_sighting *sights = malloc(nsight * sizeof *sights);
    uint64_t x = 88172645463325252ULL;
#define XS() (x ^= x << 13, x ^= x >> 7, x ^= x << 17, x)
    for (size_t c = 0; c < ncamp; c++) {
        int64_t t = 1199145600 + (int64_t)(XS() % (60 * 86400));
        camps[c] = (bw_botnet_campaign){ c + 1, 0, t, t + 2 * 86400, (c / 50) % 2 ? "cutwail" : "srizbi" };
    }
    for (size_t i = 0; i < nsight; i++) {
        size_t c = XS() % ncamp;
        uint32_t pool = (uint32_t)(c / 50), z = (uint32_t)(XS() % 20000);
        bw_ip ip;
        bw_ip_from_v4(0x0b000000u + pool * 0x40000u + z * 13u, &ip);   // pools do not overlap
        camps[c].messages++;
        sights[i] = (bw_botnet_sighting){ c + 1, ip, camps[c].first_seen, camps[c].last_seen, 1 };
    }
#undef XS
    bw_botnet_result *res = NULL;
    char errbuf[BW_ERRBUF_SIZE];
    double t0 = now_seconds(), c0 = cpu_seconds();
    bw_status s = bw_botnet_infer(NULL, camps, ncamp, sights, nsight, &res, errbuf);
    double spent = now_seconds() - t0, cpu = cpu_seconds() - c0;
    if (s != BW_OK) {
        fprintf(stderr, "bench_campaigns: botnets: %s\n", errbuf);
        return 1;
    }
    bw_botnet_stats st;
    bw_botnet_result_stats(res, &st);
    printf("botnet inference: %zu campaigns, %zu sightings -> %zu botnets (%zu pools), %zu edges, "
           "%llu pairs checked, %.2f s CPU (%.2f s wall), working memory %.1f MB, peak RSS %.1f MB\n",
           ncamp, nsight, st.botnets, (ncamp + 49) / 50, st.edges, (unsigned long long)st.pairs_checked, cpu, spent,
           (double)st.memory_bytes / 1e6, (double)peak_rss_kb() / 1024.0);
    bw_botnet_result_free(res);
    free(camps);
    free(sights);
    return 0;
}

// ---- leader clustering for the peers --------------------------------------------------

// Each message is compared with the representative (first member) of every live cluster
// and joins the best one within the threshold, else founds one. Clusters idle for the same
// window as botwatch's are dropped, and at most max_live are kept (the idlest dropped), so
// the peers get the same memory bound and are not made quadratic by the stream length.
typedef struct leader {
    uint64_t id;
    int64_t last;
    char *ssdeep;       // ssdeep
    void *tlsh;         // TLSH
} leader;

typedef struct leaders {
    leader *v;
    size_t n, cap, max_live;
    uint64_t next_id;
    int64_t idle;
} leaders;

static void leaders_expire(leaders *l, int64_t now)
{
    size_t w = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i].last < now - l->idle) {
            free(l->v[i].ssdeep);
            if (l->v[i].tlsh)
                tlsh_shim_free(l->v[i].tlsh);
        } else {
            l->v[w++] = l->v[i];
        }
    }
    l->n = w;
    while (l->n > l->max_live) {
        size_t idlest = 0;
        for (size_t i = 1; i < l->n; i++)
            if (l->v[i].last < l->v[idlest].last)
                idlest = i;
        free(l->v[idlest].ssdeep);
        if (l->v[idlest].tlsh)
            tlsh_shim_free(l->v[idlest].tlsh);
        memmove(&l->v[idlest], &l->v[idlest + 1], (l->n - idlest - 1) * sizeof *l->v);
        l->n--;
    }
}

static leader *leaders_add(leaders *l, int64_t t)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
    }
    leader *x = &l->v[l->n++];
    memset(x, 0, sizeof *x);
    x->id = l->next_id++;
    x->last = t;
    return x;
}

static void leaders_free(leaders *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].ssdeep);
        if (l->v[i].tlsh)
            tlsh_shim_free(l->v[i].tlsh);
    }
    free(l->v);
}

// What a peer hashes: the subject and visible text, as botwatch reads them.
static size_t peer_input(const bw_campaign_msg *m, char **buf, size_t *cap)
{
    size_t n = m->subject.n + 1 + m->text.n;
    if (n + 1 > *cap) {
        *cap = n + 1;
        *buf = realloc(*buf, *cap);
    }
    if (m->subject.n)
        memcpy(*buf, m->subject.p, m->subject.n);
    (*buf)[m->subject.n] = '\n';
    if (m->text.n)
        memcpy(*buf + m->subject.n + 1, m->text.p, m->text.n);
    return n;
}

// The message as the clustering sees it: parsed (subject, text and URLs from bw_mail) or
// spamsim's records. Sender IP, ASN and recipient come from spamsim either way (the ASN
// lookup and the envelope are ingest's business).
typedef struct input {
    bw_mime_parser *parser;
    bw_mail_analyzer *analyzer;
    bool parse;
    uint64_t parse_failures, ip_mismatches;
} input;

static bool make_input(input *in, const spamsim_msg *m, bw_campaign_msg *cm)
{
    *cm = spamsim_campaign_msg(m);
    if (!in->parse)
        return true;
    const bw_message *msg;
    bw_mail_record rec;
    if (bw_mime_parse(in->parser, m->raw.p, m->raw.n, &msg) != BW_OK ||
        bw_mail_analyze(in->analyzer, msg, &rec) != BW_OK) {
        in->parse_failures++;
        return false;
    }
    bw_campaign_msg_from_mail(&rec, cm);
    if (!bw_slice_eq(rec.sender_ip, bw_slice_cstr(m->sender_ip)))
        in->ip_mismatches++;
    return true;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "messages", required_argument, NULL, 'n' }, { "campaigns", required_argument, NULL, 'c' },
        { "botnets", required_argument, NULL, 'b' },  { "days", required_argument, NULL, 'd' },
        { "seed", required_argument, NULL, 's' },     { "scale", required_argument, NULL, 'x' },
        { "no-peers", no_argument, NULL, 'P' },       { "ssdeep-threshold", required_argument, NULL, 'S' },
        { "tlsh-threshold", required_argument, NULL, 'T' }, { "threshold", required_argument, NULL, 'J' },
        { "max-reps", required_argument, NULL, 'R' },       { "records", no_argument, NULL, 'r' },
        { "max-tokens", required_argument, NULL, 'K' },
        { "botnet-window", required_argument, NULL, 'W' }, { "botnet-components", no_argument, NULL, 'C' },
        { "botnet-min-weight", required_argument, NULL, 'M' }, { "botnet-subnet-weight", required_argument, NULL, 'U' },
        { "botnet-cross", required_argument, NULL, 'Y' }, { "botnet-resolution", required_argument, NULL, 'Z' },
        { "botnet-scale", required_argument, NULL, 'X' },  { "botnet-min-subnets", required_argument, NULL, 'N' },  { "botnet-verbose", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    spamsim_config cfg;
    spamsim_config_default(&cfg);
    unsigned scale = 1;
    bool peers = true;
    input in = { .parse = true };
    // Peer thresholds: the best F1 of a sweep on a 20,000-message stream (ssdeep 20/30/40/50,
    // TLSH 100/150/200/250), so the peers are compared at their best, not a strawman.
    int ssdeep_threshold = 30, tlsh_threshold = 150;
    double threshold = 0;
    unsigned max_reps = 0;
    size_t max_tokens = 0;
    bw_botnet_config bc;
    bw_botnet_config_default(&bc);
    bool botnet_verbose = false;
    double botnet_cross = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'n': cfg.messages = strtoull(optarg, NULL, 10); break;
        case 'c': cfg.campaigns = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'b': cfg.botnets = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'd': cfg.days = (unsigned)strtoul(optarg, NULL, 10); break;
        case 's': cfg.seed = strtoull(optarg, NULL, 10); break;
        case 'x': scale = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'P': peers = false; break;
        case 'r': in.parse = false; break;
        case 'S': ssdeep_threshold = atoi(optarg); break;
        case 'T': tlsh_threshold = atoi(optarg); break;
        case 'J': threshold = atof(optarg); break;
        case 'R': max_reps = (unsigned)atoi(optarg); break;
        case 'K': max_tokens = (size_t)atol(optarg); break;
        case 'W': bc.ip_window = bc.subnet_window = (int64_t)(atof(optarg) * 86400); break;
        case 'C': bc.method = BW_BOTNET_COMPONENTS; break;
        case 'M': bc.min_weight = atof(optarg); break;
        case 'U': bc.subnet_weight = atof(optarg); break;
        case 'V': botnet_verbose = true; break;
        case 'N': bc.min_shared_subnets = (unsigned)atoi(optarg); break;
        case 'Y': botnet_cross = atof(optarg); break;
        case 'Z': bc.resolution = atof(optarg); break;
        case 'X': {
            size_t nc = 0, ns = 0;
            if (sscanf(optarg, "%zu,%zu", &nc, &ns) != 2 || nc == 0 || ns == 0) {
                fprintf(stderr, "bench_campaigns: --botnet-scale CAMPAIGNS,SIGHTINGS\n");
                return 2;
            }
            return botnet_scale(nc, ns);
        }
        case 'h':
            printf("usage: bench_campaigns [--messages N] [--campaigns N] [--botnets N] [--days N] [--seed N]\n"
                   "                       [--scale K] [--no-peers] [--ssdeep-threshold S] [--tlsh-threshold D]\n"
                   "                       [--threshold J] [--max-reps N] [--max-tokens N]   (botwatch parameters)\n"
                   "                       [--records]   (spamsim's records instead of parsing each message)\n"
                   "                       [--botnet-window DAYS] [--botnet-components] [--botnet-min-weight W]\n"
                   "                       [--botnet-subnet-weight W] [--botnet-min-subnets N] [--botnet-verbose]\n"
                   "                       [--botnet-cross P]   (share of messages sent by a zombie of another botnet)\n"
                   "                       [--botnet-resolution R]   (Louvain resolution)\n"
                   "                       [--botnet-scale CAMPAIGNS,SIGHTINGS]   (inference alone, synthetic)\n"
                   "--scale K multiplies messages, campaigns and days (same rate, longer stream).\n");
            return 0;
        default:
            return 2;
        }
    }
    if (scale < 1)
        scale = 1;
    cfg.messages *= scale;
    cfg.campaigns *= scale;
    cfg.days *= scale;
    const char *data = getenv("BW_DATA"), *shared = getenv("BW_SHARED_DATA");
    char sa[4096], csdmc[4096], asn[4096];
    snprintf(sa, sizeof sa, "%s/npm-spam-assassin/package/data", data ? data : ".");
    snprintf(csdmc, sizeof csdmc, "%s/mail/csdmc2010", shared ? shared : ".");
    snprintf(asn, sizeof asn, "%s/npm-asn/package/asn-ipv4.csv", data ? data : ".");
    cfg.sa_dir = sa;
    cfg.csdmc_dir = csdmc;
    cfg.asn_csv = asn;
    char errbuf[256];
    double t0 = now_seconds();
    spamsim *sim = spamsim_new(&cfg, errbuf);
    if (!sim) {
        fprintf(stderr, "bench_campaigns: %s (set BW_DATA and BW_SHARED_DATA)\n", errbuf);
        return 1;
    }
    size_t n = spamsim_count(sim);
    printf("spamsim: %zu messages, %u campaigns, %u botnets, %u days, seed %llu (set up in %.1f s)\n", n,
           cfg.campaigns, cfg.botnets, cfg.days, (unsigned long long)cfg.seed, now_seconds() - t0);
    if (in.parse) {
        in.parser = bw_mime_parser_new(NULL);
        in.analyzer = bw_mail_analyzer_new(NULL, errbuf);
        if (!in.parser || !in.analyzer) {
            fprintf(stderr, "bench_campaigns: parser: %s\n", in.analyzer ? "out of memory" : errbuf);
            return 1;
        }
    }
    printf("input: %s\n", in.parse ? "raw messages through bw_mime + bw_mail (parsing not timed)" : "spamsim records");
    uint32_t *truth = malloc(n * sizeof *truth), *truth_botnet = malloc(n * sizeof *truth_botnet);
    uint64_t *pred = malloc(n * sizeof *pred), *truth_campaign = malloc(n * sizeof *truth_campaign);
    bw_ip *sender = malloc(n * sizeof *sender);
    bool *has_sender = malloc(n * sizeof *has_sender);
    int64_t *when = malloc(n * sizeof *when);
    spamsim_msg m;

    // botwatch
    bw_campaign_config cc;
    bw_campaign_config_default(&cc);
    cc.key = (bw_hash_key){ 0x6b6579206f6e6521ULL, 0x626f747761746368ULL };   // fixed: reproducible
    if (threshold > 0)
        cc.threshold = threshold;
    if (max_reps > 0)
        cc.max_reps = max_reps;
    if (max_tokens > 0)
        cc.norm.max_tokens = max_tokens;
    bw_campaign_index *idx = bw_campaign_index_new(&cc, errbuf);
    double spent = 0;
    size_t peak_index = 0, bytes_in = 0;
    for (size_t i = 0; i < n; i++) {
        if (spamsim_render(sim, i, &m) != 0)
            return 1;
        truth[i] = m.campaign;
        truth_campaign[i] = m.campaign;
        truth_botnet[i] = m.botnet;
        when[i] = m.time;
        bw_campaign_msg cm;
        make_input(&in, &m, &cm);
        // The sender IP the parser found (spamsim's own without --records' parser).
        has_sender[i] = bw_ip_parse(cm.sender_ip, &sender[i]);
        bytes_in += cm.subject.n + cm.text.n;
        bw_campaign_assignment a;
        double s = cpu_seconds();
        if (bw_campaign_index_add(idx, &cm, &a) != BW_OK) {
            fprintf(stderr, "bench_campaigns: out of memory\n");
            return 1;
        }
        spent += cpu_seconds() - s;
        pred[i] = a.campaign_id;
        if (i % 8192 == 0) {
            bw_campaign_stats st;
            bw_campaign_index_stats(idx, &st);
            if (st.memory_bytes > peak_index)
                peak_index = st.memory_bytes;
        }
    }
    bw_campaign_stats st;
    bw_campaign_index_stats(idx, &st);
    if (st.memory_bytes > peak_index)
        peak_index = st.memory_bytes;
    char extra[256];
    snprintf(extra, sizeof extra, "(index peak %.1f MB; %llu created, %llu evicted, %llu links)",
             (double)peak_index / 1e6, (unsigned long long)st.campaigns_created,
             (unsigned long long)st.campaigns_evicted, (unsigned long long)st.links);
    report("botwatch", pred, truth, n, spent, extra);
    long rss_botwatch = peak_rss_kb();
    // A sample template, to see what the clustering found.
    size_t nids;
    const uint64_t *ids = bw_campaign_index_ids(idx, &nids);
    bw_campaign_summary sum;
    if (nids && bw_campaign_index_get(idx, ids[nids / 2], &sum) == BW_OK)
        printf("  e.g. campaign %llu (%llu msgs, %llu IPs, %llu /24s, %llu ASNs): %.*s\n",
               (unsigned long long)sum.id, (unsigned long long)sum.messages, (unsigned long long)sum.sender_ips,
               (unsigned long long)sum.subnets24, (unsigned long long)sum.asns,
               (int)(sum.template_text.n < 300 ? sum.template_text.n : 300), sum.template_text.p);
    bw_campaign_index_free(idx);

    // --botnet-cross P: a share P of the messages comes from a zombie another family also
    // infected (a host in two botnets): its IP is one recently used by another botnet.
    // Stresses the community step with true cross-botnet links that spamsim lacks.
    if (botnet_cross > 0 && cfg.botnets > 1) {
        enum { RING = 512 };
        bw_ip *ring = calloc((size_t)cfg.botnets * RING, sizeof *ring);
        size_t *filled = calloc(cfg.botnets, sizeof *filled);
        uint64_t x = 0x9e3779b97f4a7c15ULL;
        size_t crossed = 0;
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            uint32_t b = truth_botnet[i];
            if (has_sender[i] && (double)(x % 1000000) / 1e6 < botnet_cross) {
                uint32_t other = (b + 1 + (uint32_t)((x >> 20) % (cfg.botnets - 1))) % cfg.botnets;
                size_t have = filled[other] < RING ? filled[other] : RING;
                if (have) {
                    sender[i] = ring[(size_t)other * RING + (x >> 40) % have];
                    crossed++;
                    continue;
                }
            }
            if (has_sender[i])
                ring[(size_t)b * RING + filled[b]++ % RING] = sender[i];
        }
        printf("botnet-cross: %zu messages (%.2f%%) sent from another botnet's zombie\n", crossed,
               100.0 * (double)crossed / (double)n);
        free(ring);
        free(filled);
    }
    // Botnets from the predicted campaigns, and (for reference) from the true ones.
    botnet_report("botwatch", &bc, pred, sender, has_sender, when, truth_botnet, n, botnet_verbose);
    botnet_report("truecamps", &bc, truth_campaign, sender, has_sender, when, truth_botnet, n, false);
    free(truth_campaign);
    free(sender);
    free(has_sender);
    free(when);

    if (peers) {
        char *buf = NULL;
        size_t cap = 0;
        // ssdeep
        leaders l = { .max_live = 2048, .next_id = 1, .idle = cc.idle_window };
        spent = 0;
        char sig[FUZZY_MAX_RESULT];
        for (size_t i = 0; i < n; i++) {
            if (spamsim_render(sim, i, &m) != 0)
                return 1;
            bw_campaign_msg cm;
            make_input(&in, &m, &cm);
            size_t len = peer_input(&cm, &buf, &cap);
            double s = cpu_seconds();
            if (fuzzy_hash_buf((const unsigned char *)buf, (uint32_t)len, sig) != 0)
                sig[0] = '\0';
            leader *best = NULL;
            int best_score = -1;
            for (size_t k = 0; k < l.n; k++) {
                int score = fuzzy_compare(sig, l.v[k].ssdeep);
                if (score > best_score)
                    best_score = score, best = &l.v[k];
            }
            if (!best || best_score < ssdeep_threshold) {
                best = leaders_add(&l, m.time);
                best->ssdeep = strdup(sig);
            }
            best->last = m.time;
            pred[i] = best->id;
            if (i % 1024 == 0)
                leaders_expire(&l, m.time);
            spent += cpu_seconds() - s;
        }
        snprintf(extra, sizeof extra, "(score >= %d, leader clustering)", ssdeep_threshold);
        report("ssdeep", pred, truth, n, spent, extra);
        leaders_free(&l);

        // TLSH
        l = (leaders){ .max_live = 2048, .next_id = 1, .idle = cc.idle_window };
        spent = 0;
        for (size_t i = 0; i < n; i++) {
            if (spamsim_render(sim, i, &m) != 0)
                return 1;
            bw_campaign_msg cm;
            make_input(&in, &m, &cm);
            size_t len = peer_input(&cm, &buf, &cap);
            double s = cpu_seconds();
            void *h = tlsh_shim_hash((const unsigned char *)buf, len);
            leader *best = NULL;
            int best_diff = 1 << 30;
            for (size_t k = 0; h && k < l.n; k++) {
                if (!l.v[k].tlsh)
                    continue;
                int d = tlsh_shim_diff(h, l.v[k].tlsh);
                if (d < best_diff)
                    best_diff = d, best = &l.v[k];
            }
            if (!best || best_diff > tlsh_threshold) {
                best = leaders_add(&l, m.time);
                best->tlsh = h;
            } else if (h) {
                tlsh_shim_free(h);
            }
            best->last = m.time;
            pred[i] = best->id;
            if (i % 1024 == 0)
                leaders_expire(&l, m.time);
            spent += cpu_seconds() - s;
        }
        snprintf(extra, sizeof extra, "(distance <= %d, leader clustering)", tlsh_threshold);
        report("tlsh", pred, truth, n, spent, extra);
        leaders_free(&l);
        free(buf);
    }
    if (in.parse)
        printf("parser: %llu messages failed to parse, %llu with a sender IP other than the zombie's\n",
               (unsigned long long)in.parse_failures, (unsigned long long)in.ip_mismatches);
    bw_mail_analyzer_free(in.analyzer);
    bw_mime_parser_free(in.parser);
    printf("input %.1f MB of subject+text; peak RSS %.1f MB after botwatch (spamsim schedule and truth "
           "arrays included), %.1f MB at the end\n",
           (double)bytes_in / 1e6, (double)rss_botwatch / 1024.0, (double)peak_rss_kb() / 1024.0);
    free(truth);
    free(truth_botnet);
    free(pred);
    spamsim_free(sim);
    return 0;
}
