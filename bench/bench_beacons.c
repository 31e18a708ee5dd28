// SPDX-License-Identifier: MIT
// bench/beacons: the beacon detector's accuracy on flowsim traffic. Generates N hosts of
// background traffic with injected beacons (every jitter/missed-call bin), runs the engine
// at its default threshold and prints recall per (jitter, missed) bin and false positives
// per 1,000 benign hosts. Acceptance (issue 4): recall >= 95% for jitter <= 30% and <= 20%
// missed calls; <= 1 false positive per 1,000 benign hosts. Exit status 1 if missed.
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "botwatch/flowscore.h"
#include "flowsim_gen.h"

static void feed(const bw_flow *f, void *ctx) { bw_flowscore_add(ctx, f); }

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool found(const bw_beacon *b, size_t n, const flowsim_truth *t)
{
    for (size_t i = 0; i < n; i++)
        if (!bw_ip_cmp(&b[i].src, &t->src) && !bw_ip_cmp(&b[i].dst, &t->dst))
            return true;
    return false;
}

static int cmp_ip(const void *a, const void *b) { return bw_ip_cmp(a, b); }

int main(int argc, char **argv)
{
    flowsim_config cfg;
    flowsim_config_default(&cfg);
    cfg.hosts = 5000;
    cfg.beacons = 480;
    cfg.p2p_bots = 5;
    cfg.spam_zombies = 5;
    static const struct option longopts[] = { { "hosts", required_argument, NULL, 'n' },
                                              { "beacons", required_argument, NULL, 'b' },
                                              { "seed", required_argument, NULL, 's' },
                                              { "duration", required_argument, NULL, 'd' },
                                              { "help", no_argument, NULL, 'h' },
                                              { NULL, 0, NULL, 0 } };
    int c;
    while ((c = getopt_long(argc, argv, "n:b:s:d:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'n': cfg.hosts = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'b': cfg.beacons = (unsigned)strtoul(optarg, NULL, 10); break;
        case 's': cfg.seed = strtoull(optarg, NULL, 10); break;
        case 'd': cfg.duration = strtod(optarg, NULL); break;
        default:
            fprintf(stderr, "usage: bench_beacons [--hosts N] [--beacons N] [--seed S] [--duration SECONDS]\n");
            return c == 'h' ? 0 : 2;
        }
    }
    char err[BW_ERRBUF_SIZE];
    bw_flowscore_options opts;
    bw_flowscore_options_default(&opts);
    bw_flowscore *fs = bw_flowscore_new(&opts, err);
    if (!fs) {
        fprintf(stderr, "bench_beacons: %s\n", err);
        return 1;
    }
    double t0 = now();
    flowsim_result sim;
    if (flowsim_run(&cfg, feed, fs, &sim) != 0 || bw_flowscore_finish(fs, err) != BW_OK) {
        fprintf(stderr, "bench_beacons: simulation or scoring failed: %s\n", err);
        return 1;
    }
    double secs = now() - t0;
    size_t nb;
    const bw_beacon *b = bw_flowscore_beacons(fs, &nb);

    // Recall per (jitter, missed) bin.
    enum { NJ = 6, NM = 4 };
    unsigned tot[NJ][NM] = { { 0 } }, hit[NJ][NM] = { { 0 } };
    unsigned acc_tot = 0, acc_hit = 0;
    for (size_t i = 0; i < sim.n_truth; i++) {
        const flowsim_truth *t = &sim.truth[i];
        if (t->kind != FLOWSIM_BEACON)
            continue;
        int j = (int)lround(t->jitter * 10), m = (int)lround(t->missed * 10);
        bool ok = found(b, nb, t);
        tot[j][m]++;
        hit[j][m] += ok;
        if (t->jitter <= 0.301 && t->missed <= 0.201) {
            acc_tot++;
            acc_hit += ok;
        }
    }
    // False positives: benign hosts (no injected activity) with any beacon finding.
    bw_ip *flagged = malloc((nb + 1) * sizeof *flagged);
    size_t nf = 0;
    for (size_t i = 0; i < nb; i++)
        flagged[nf++] = b[i].src;
    qsort(flagged, nf, sizeof *flagged, cmp_ip);
    unsigned benign = 0, fp_hosts = 0;
    for (size_t h = 0; h < sim.n_hosts; h++) {
        if (sim.infected[h])
            continue;
        benign++;
        if (bsearch(&sim.hosts[h], flagged, nf, sizeof *flagged, cmp_ip)) {
            fp_hosts++;
            if (fp_hosts <= 5)
                for (size_t i = 0; i < nb; i++)
                    if (!bw_ip_cmp(&b[i].src, &sim.hosts[h])) {
                        char s[BW_IP_STRLEN], d[BW_IP_STRLEN];
                        bw_ip_format(&b[i].src, s);
                        bw_ip_format(&b[i].dst, d);
                        printf("  false positive: %s -> %s:%u score %.3f ts %.2f per %.2f stat %.2f null %.2f ds %.2f cov %.2f prev %.3f period %.1f calls %llu\n",
                               s, d, b[i].dport, b[i].score, b[i].ts_score, b[i].period_score, b[i].period_stat,
                               b[i].period_null, b[i].ds_score, b[i].coverage_score, b[i].prevalence, b[i].period,
                               (unsigned long long)b[i].calls);
                    }
        }
    }
    const bw_flowscore_stats *st = bw_flowscore_stats_get(fs);
    printf("bench/beacons: seed %llu, %u hosts (%u benign), %llu flows, %llu pairs, %.1f h observed, %.1f s\n",
           (unsigned long long)cfg.seed, cfg.hosts, benign, (unsigned long long)sim.flows,
           (unsigned long long)st->pairs, cfg.duration / 3600, secs);
    printf("recall by jitter (rows) x missed calls (columns), found/injected:\n%-8s", "jitter");
    for (int m = 0; m < NM; m++)
        printf("   missed %2d%%", m * 10);
    printf("\n");
    for (int j = 0; j < NJ; j++) {
        printf("%5d%%  ", j * 10);
        for (int m = 0; m < NM; m++)
            printf("   %4u/%-4u  ", hit[j][m], tot[j][m]);
        printf("\n");
    }
    double recall = acc_tot ? 100.0 * acc_hit / acc_tot : 0;
    double fp_rate = benign ? 1000.0 * fp_hosts / benign : 0;
    printf("recall (jitter <= 30%%, missed <= 20%%): %.1f%% (%u/%u)   target >= 95%%\n", recall, acc_hit, acc_tot);
    printf("false positives: %u benign hosts flagged = %.2f per 1,000 benign hosts   target <= 1\n", fp_hosts,
           fp_rate);
    printf("peer: RITA is not run here (no Go toolchain in the build); see docs/flows.md\n");
    free(flagged);
    flowsim_result_free(&sim);
    bw_flowscore_free(fs);
    return recall >= 95 && fp_rate <= 1 ? 0 : 1;
}
