// SPDX-License-Identifier: MIT
// Flow simulator generator (see flowsim_gen.h). Hosts are simulated one after another, each
// from its own PRNG stream derived from the seed and its index, so a host's traffic does
// not change when other hosts are added. The background mixes what a real office network
// shows: bursts of web connections during working hours (site popularity is Zipf-like, so
// a few sites are visited by everyone), DNS to the internal resolver, and benign timers -
// an ESET-like poller every ~301.6 s, a Microsoft-like one every 900 s, NTP, IMAP polling -
// that are periodic but run on many hosts (the prevalence modifier's job). Injected bots:
// beacons with a period, jitter (uniform +-j of the period per interval), independently
// missed calls, live (SF) or dead (S0/REJ) controller; P2P bots talking to many random peers
// on random high ports with many failures; spam zombies opening SMTP to many MX hosts.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "flowsim_gen.h"

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static double unit(rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }
static double expo(rng *r, double mean) { return -mean * log(1 - unit(r)); }
static unsigned below(rng *r, unsigned n) { return n ? (unsigned)(unit(r) * n) : 0; }
static double lognormal(rng *r, double median, double sigma)
{
    double u1 = unit(r) + 1e-300, u2 = unit(r);
    return median * exp(sigma * sqrt(-2 * log(u1)) * cos(2 * M_PI * u2));
}

void flowsim_config_default(flowsim_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->seed = 1;
    cfg->hosts = 1000;
    cfg->start = 1767571200;   // 2026-01-05 00:00:00 UTC, a Monday
    cfg->duration = 86400;
    cfg->activity = 1;
    cfg->beacons = 20;
    cfg->period_min = 10;
    cfg->period_max = 3600;
    cfg->jitter_max = 0.5;
    cfg->missed_max = 0.3;
    cfg->dead_fraction = 0.5;
    cfg->p2p_bots = 2;
    cfg->spam_zombies = 2;
}

const char *flowsim_kind_name(flowsim_kind kind)
{
    switch (kind) {
    case FLOWSIM_BEACON: return "beacon";
    case FLOWSIM_P2P: return "p2p";
    case FLOWSIM_SPAM: return "spam";
    case FLOWSIM_BENIGN_PERIODIC: return "benign-periodic";
    }
    return "?";
}

static void v4(bw_ip *ip, unsigned a, unsigned b, unsigned c, unsigned d)
{
    bw_ip_from_v4(((uint32_t)a << 24) | ((b & 255u) << 16) | ((c & 255u) << 8) | (d & 255u), ip);
}

static void host_ip(size_t i, bw_ip *ip) { v4(ip, 10, 1 + (unsigned)(i / 62500), (unsigned)(i / 250 % 250), (unsigned)(i % 250 + 1)); }

// A public-looking address from a 32-bit draw, avoiding private and special ranges.
static void public_ip(uint32_t x, bw_ip *ip)
{
    static const unsigned firsts[] = { 23, 31, 37, 45, 52, 62, 77, 85, 91, 104, 142, 151, 176, 185, 193, 212 };
    v4(ip, firsts[x % 16], (x >> 4) & 255, (x >> 12) & 255, 1 + ((x >> 20) % 254));
}

typedef struct gen {
    const flowsim_config *cfg;
    flowsim_emit_fn emit;
    void *ctx;
    uint64_t flows;
} gen;

static void emit_flow(gen *g, rng *r, const bw_ip *src, const bw_ip *dst, uint16_t dport, uint8_t proto,
                      double ts, double duration, bw_conn_state state, uint64_t ob, uint64_t rb, const char *service)
{
    if (ts < g->cfg->start || ts >= g->cfg->start + g->cfg->duration)
        return;
    bw_flow f;
    memset(&f, 0, sizeof f);
    f.ts = ts;
    f.duration = duration;
    f.src = *src;
    f.dst = *dst;
    f.sport = (uint16_t)(49152 + below(r, 16384));
    f.dport = dport;
    f.proto = proto;
    f.state = state;
    f.orig_bytes = ob;
    f.resp_bytes = rb;
    f.orig_pkts = 1 + ob / 1400 + (state == BW_CONN_SF ? 3 : 0);
    f.resp_pkts = rb ? 1 + rb / 1400 + 2 : (state == BW_CONN_REJ ? 1 : 0);
    f.service = service ? bw_slice_cstr(service) : BW_SLICE_NULL;
    f.line = ++g->flows;
    g->emit(&f, g->ctx);
}

// Activity level at time t for a host whose working day starts at shift hours: office
// hours on weekdays, a little at night (background apps), a light evening.
static double activity_at(double t, double start, double shift)
{
    double hour = fmod((t - start) / 3600 + 24, 24);
    double h = fmod(hour - shift + 24, 24);
    if (h >= 8 && h < 18)
        return 1.0;
    if (h >= 18 && h < 22)
        return 0.25;
    return 0.03;
}

enum { N_SITES = 4000 };

static void site_ip(unsigned site, bw_ip *ip) { public_ip((uint32_t)(site * 2654435761u) ^ 0x5173u, ip); }

static unsigned zipf_site(rng *r)
{
    // Inverse-transform approximation of Zipf(s = 1) over N_SITES: popular sites dominate.
    double u = unit(r);
    unsigned s = (unsigned)(exp(u * log((double)N_SITES)) - 1);
    return s >= N_SITES ? N_SITES - 1 : s;
}

static void web_and_dns(gen *g, rng *r, const bw_ip *src, double shift)
{
    const flowsim_config *c = g->cfg;
    bw_ip resolver;
    v4(&resolver, 10, 0, 0, 1);
    double rate_peak = 4.0 * c->activity / 3600;   // browsing sessions per second at peak
    for (double t = c->start + expo(r, 1 / rate_peak); t < c->start + c->duration; t += expo(r, 1 / rate_peak)) {
        if (unit(r) > activity_at(t, c->start, shift))
            continue;   // thinning: a non-homogeneous Poisson process of sessions
        unsigned sites = 1 + below(r, 5);
        double at = t;
        for (unsigned s = 0; s < sites; s++) {
            unsigned site = zipf_site(r);
            bw_ip dst;
            site_ip(site, &dst);
            emit_flow(g, r, src, &resolver, 53, 17, at, 0.02, BW_CONN_SF, 40, 120, "dns");
            unsigned conns = 2 + below(r, 14);
            double ct = at + 0.05;
            for (unsigned k = 0; k < conns; k++) {
                bool tls = unit(r) < 0.9;
                double fail = unit(r);
                bw_conn_state st = fail < 0.01 ? BW_CONN_S0 : fail < 0.02 ? BW_CONN_REJ : BW_CONN_SF;
                uint64_t ob = st == BW_CONN_SF ? (uint64_t)lognormal(r, 900, 0.8) : 0;
                uint64_t rb = st == BW_CONN_SF ? (uint64_t)lognormal(r, 20000, 1.5) : 0;
                emit_flow(g, r, src, &dst, tls ? 443 : 80, 6, ct, lognormal(r, 2, 1.2), st, ob, rb,
                          tls ? "ssl" : "http");
                ct += expo(r, 3);
            }
            at = ct + expo(r, 40);
        }
    }
    // Background DNS from the OS and applications.
    for (double t = c->start + expo(r, 600); t < c->start + c->duration; t += expo(r, 600 / c->activity))
        emit_flow(g, r, src, &resolver, 53, 17, t, 0.03, BW_CONN_SF, 45, 130, "dns");
}

// A benign timer: period with small jitter, calling one of a few servers of a pool.
static void benign_timer(gen *g, rng *r, const bw_ip *src, double period, double jitter, uint32_t pool_base,
                         unsigned pool, uint16_t port, uint8_t proto, uint64_t ob, const char *service)
{
    const flowsim_config *c = g->cfg;
    bw_ip dst;
    // A host sticks to one server of the pool; pools sit in one /24, as update farms do.
    public_ip(pool_base, &dst);
    dst.b[15] = (uint8_t)(10 + below(r, pool));
    for (double t = c->start + unit(r) * period; t < c->start + c->duration;
         t += period * (1 + jitter * (2 * unit(r) - 1))) {
        if (unit(r) < 0.02)
            continue;   // the odd call lost to sleep or a reboot
        emit_flow(g, r, src, &dst, port, proto, t, 0.2, BW_CONN_SF, ob + below(r, 40), 300 + below(r, 2000), service);
    }
}

static const double jitter_bins[] = { 0, 0.1, 0.2, 0.3, 0.4, 0.5 };
static const double missed_bins[] = { 0, 0.1, 0.2, 0.3 };

static int push_truth(flowsim_result *out, size_t *cap, const flowsim_truth *t)
{
    if (out->n_truth == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        flowsim_truth *nt = realloc(out->truth, nc * sizeof *nt);
        if (!nt)
            return -1;
        out->truth = nt;
        *cap = nc;
    }
    out->truth[out->n_truth++] = *t;
    return 0;
}

static void beacon(gen *g, rng *r, const bw_ip *src, size_t idx, flowsim_truth *t)
{
    const flowsim_config *c = g->cfg;
    double lmin = log(c->period_min), lmax = log(c->period_max);
    t->kind = FLOWSIM_BEACON;
    t->src = *src;
    public_ip(0xC0DE0000u ^ (uint32_t)(idx * 2246822519u), &t->dst);
    static const uint16_t ports[] = { 443, 80, 8080, 1177, 5888, 4444, 8443, 53 };
    t->port = unit(r) < 0.2 ? (uint16_t)(1024 + below(r, 60000)) : ports[below(r, 8)];
    t->period = exp(lmin + unit(r) * (lmax - lmin));
    unsigned nj = 0, nm = 0;
    while (nj < 6 && jitter_bins[nj] <= c->jitter_max + 1e-9)
        nj++;
    while (nm < 4 && missed_bins[nm] <= c->missed_max + 1e-9)
        nm++;
    t->jitter = jitter_bins[below(r, nj ? nj : 1)];
    t->missed = missed_bins[below(r, nm ? nm : 1)];
    t->dead = unit(r) < c->dead_fraction;
    bw_conn_state dead_state = unit(r) < 0.5 ? BW_CONN_S0 : BW_CONN_REJ;
    uint64_t req = 150 + below(r, 400);
    for (double at = c->start + unit(r) * t->period; at < c->start + c->duration;
         at += t->period * (1 + t->jitter * (2 * unit(r) - 1))) {
        if (unit(r) < t->missed)
            continue;
        if (t->dead)
            emit_flow(g, r, src, &t->dst, t->port, 6, at, dead_state == BW_CONN_S0 ? 3.0 : 0.04, dead_state, 0, 0,
                      NULL);
        else
            emit_flow(g, r, src, &t->dst, t->port, 6, at, 0.3 + unit(r), BW_CONN_SF, req + below(r, 16),
                      200 + below(r, 3000), t->port == 443 ? "ssl" : NULL);
    }
}

static void p2p_bot(gen *g, rng *r, const bw_ip *src, size_t idx, flowsim_truth *t)
{
    const flowsim_config *c = g->cfg;
    t->kind = FLOWSIM_P2P;
    t->src = *src;
    unsigned peers = 300 + below(r, 2000);
    uint32_t base = 0xB07B0000u ^ (uint32_t)(idx * 0x9E3779B1u);
    double gap = 5 + unit(r) * 40;
    for (double at = c->start + unit(r) * gap; at < c->start + c->duration; at += expo(r, gap)) {
        unsigned peer = below(r, peers);
        bw_ip dst;
        public_ip(base + peer * 7919u, &dst);
        uint16_t port = (uint16_t)(10000 + (peer * 40503u) % 50000);
        bool udp = unit(r) < 0.7;
        double u = unit(r);
        bw_conn_state st = u < 0.45 ? BW_CONN_S0 : u < 0.6 ? BW_CONN_REJ : BW_CONN_SF;
        emit_flow(g, r, src, &dst, port, udp ? 17 : 6, at, st == BW_CONN_SF ? unit(r) : 0, st,
                  st == BW_CONN_SF ? 60 + below(r, 300) : 0, st == BW_CONN_SF ? 60 + below(r, 400) : 0, NULL);
    }
}

static void spam_zombie(gen *g, rng *r, const bw_ip *src, size_t idx, flowsim_truth *t)
{
    const flowsim_config *c = g->cfg;
    t->kind = FLOWSIM_SPAM;
    t->src = *src;
    t->port = 25;
    unsigned runs = 3 + below(r, 6);
    for (unsigned run = 0; run < runs; run++) {
        double at = c->start + unit(r) * c->duration;
        unsigned msgs = 100 + below(r, 600);
        for (unsigned m = 0; m < msgs; m++) {
            bw_ip dst;
            public_ip((uint32_t)(0x5A4D0000u ^ (idx * 131u + run * 7919u + m) * 2654435761u), &dst);
            double u = unit(r);
            bw_conn_state st = u < 0.2 ? BW_CONN_S0 : u < 0.35 ? BW_CONN_REJ : BW_CONN_SF;
            emit_flow(g, r, src, &dst, 25, 6, at, st == BW_CONN_SF ? 1 + unit(r) * 4 : 0, st,
                      st == BW_CONN_SF ? 2000 + below(r, 20000) : 0, st == BW_CONN_SF ? 400 : 0, "smtp");
            at += expo(r, 2);
        }
    }
}

int flowsim_run(const flowsim_config *cfg, flowsim_emit_fn emit, void *ctx, flowsim_result *out)
{
    memset(out, 0, sizeof *out);
    gen g = { cfg, emit, ctx, 0 };
    size_t truth_cap = 0;
    out->hosts = malloc((cfg->hosts + 1) * sizeof *out->hosts);
    out->infected = calloc(cfg->hosts + 1, sizeof *out->infected);
    if (!out->hosts || !out->infected) {
        flowsim_result_free(out);
        return -1;
    }
    out->n_hosts = cfg->hosts;
    // Infected hosts are spread over the index range, deterministically.
    size_t n_bad = (size_t)cfg->beacons + cfg->p2p_bots + cfg->spam_zombies;
    size_t stride = n_bad && cfg->hosts > n_bad ? cfg->hosts / n_bad : 1;
    for (size_t i = 0; i < cfg->hosts; i++) {
        rng r = { cfg->seed * 0x9E3779B97F4A7C15ULL ^ (i + 1) * 0xD1B54A32D192ED03ULL };
        bw_ip src;
        host_ip(i, &src);
        out->hosts[i] = src;
        double shift = -1.5 + 3 * unit(&r);
        web_and_dns(&g, &r, &src, shift);
        // Benign timers, each on a share of the hosts (hence prevalent).
        if (unit(&r) < 0.4)
            benign_timer(&g, &r, &src, 301.6, 0.003, 0xE5E70000u, 4, 443, 6, 200, "ssl");      // ESET-like
        if (unit(&r) < 0.6)
            benign_timer(&g, &r, &src, 900, 0.01, 0x3C000000u, 3, 443, 6, 600, "ssl");         // Microsoft-like
        if (unit(&r) < 0.3)
            benign_timer(&g, &r, &src, 1024, 0.0, 0x4E770000u, 4, 123, 17, 48, "ntp");         // NTP
        if (unit(&r) < 0.5)
            benign_timer(&g, &r, &src, 600, 0.02, 0x1A4A0000u, 1, 993, 6, 300, "ssl");         // IMAP poll
        size_t slot = stride ? i / stride : i;
        if (i % stride == 0 && slot < n_bad) {
            flowsim_truth t;
            memset(&t, 0, sizeof t);
            if (slot < cfg->beacons)
                beacon(&g, &r, &src, slot, &t);
            else if (slot < (size_t)cfg->beacons + cfg->p2p_bots)
                p2p_bot(&g, &r, &src, slot, &t);
            else
                spam_zombie(&g, &r, &src, slot, &t);
            out->infected[i] = true;
            if (push_truth(out, &truth_cap, &t) != 0) {
                flowsim_result_free(out);
                return -1;
            }
        }
    }
    // The benign timers, for the truth file's explanation column.
    static const struct { double period; uint16_t port; } timers[] = { { 301.6, 443 }, { 900, 443 }, { 1024, 123 },
                                                                      { 600, 993 } };
    for (size_t k = 0; k < 4; k++) {
        flowsim_truth t;
        memset(&t, 0, sizeof t);
        t.kind = FLOWSIM_BENIGN_PERIODIC;
        t.port = timers[k].port;
        t.period = timers[k].period;
        if (push_truth(out, &truth_cap, &t) != 0) {
            flowsim_result_free(out);
            return -1;
        }
    }
    out->flows = g.flows;
    return 0;
}

void flowsim_result_free(flowsim_result *res)
{
    free(res->truth);
    free(res->hosts);
    free(res->infected);
    memset(res, 0, sizeof *res);
}
