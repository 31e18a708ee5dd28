// SPDX-License-Identifier: MIT
// flowsim: writes a simulated Zeek conn.log (TSV with #fields/#types headers) and a truth
// file, for benchmarks and demos of `botwatch flows`. The traffic comes from flowsim_gen.c:
// background (diurnal web, DNS, benign periodic updaters) plus injected beacons, P2P bots
// and spam zombies. Deterministic from --seed. It only writes files.
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flowsim_gen.h"

typedef struct writer {
    FILE *out;
    uint64_t n;
    int err;
} writer;

static const char *state_name(bw_conn_state s)
{
    switch (s) {
    case BW_CONN_S0: return "S0";
    case BW_CONN_REJ: return "REJ";
    case BW_CONN_SF: return "SF";
    case BW_CONN_S1: return "S1";
    case BW_CONN_RSTO: return "RSTO";
    default: return "OTH";
    }
}

static const char *history(bw_conn_state s)
{
    return s == BW_CONN_S0 ? "S" : s == BW_CONN_REJ ? "Sr" : s == BW_CONN_SF ? "ShADadFf" : "-";
}

static void write_flow(const bw_flow *f, void *ctx)
{
    writer *w = ctx;
    char src[BW_IP_STRLEN], dst[BW_IP_STRLEN];
    bw_ip_format(&f->src, src);
    bw_ip_format(&f->dst, dst);
    // Zeek uids are random; these are derived from the record number so runs are identical.
    uint64_t x = ++w->n * 0x9E3779B97F4A7C15ULL;
    char uid[20] = "C";
    static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    for (int i = 1; i < 18; i++, x /= 62)
        uid[i] = b62[x % 62];
    uid[18] = '\0';
    const char *proto = f->proto == 6 ? "tcp" : f->proto == 17 ? "udp" : "icmp";
    char service[32] = "-";
    if (f->service.n && f->service.n < sizeof service) {
        memcpy(service, f->service.p, f->service.n);
        service[f->service.n] = '\0';
    }
    if (fprintf(w->out, "%.6f\t%s\t%s\t%u\t%s\t%u\t%s\t%s\t%.6f\t%llu\t%llu\t%s\tT\tF\t0\t%s\t%llu\t%llu\t%llu\t%llu\t(empty)\n",
                f->ts, uid, src, f->sport, dst, f->dport, proto, service, f->duration,
                (unsigned long long)f->orig_bytes, (unsigned long long)f->resp_bytes, state_name(f->state),
                history(f->state), (unsigned long long)f->orig_pkts,
                (unsigned long long)(f->orig_bytes + 40 * f->orig_pkts), (unsigned long long)f->resp_pkts,
                (unsigned long long)(f->resp_bytes + 40 * f->resp_pkts)) < 0)
        w->err = errno ? errno : EIO;
}

static void usage(FILE *out)
{
    fputs("usage: flowsim [OPTIONS] -o conn.log -t truth.tsv\n"
          "Writes a simulated Zeek conn.log and the truth about what was injected.\n\n"
          "  -o, --out FILE        conn.log to write (required)\n"
          "  -t, --truth FILE      truth TSV to write (required): kind src dst port period jitter missed dead\n"
          "  -n, --hosts N         internal hosts (default 1000)\n"
          "  -b, --beacons N       infected hosts with a beacon (default 20)\n"
          "  -p, --p2p N           P2P bots (default 2)\n"
          "  -z, --spam N          spam zombies (default 2)\n"
          "  -d, --duration SECS   observed seconds (default 86400)\n"
          "  -a, --activity X      background volume scale (default 1)\n"
          "  -s, --seed N          PRNG seed (default 1); the same seed writes the same files\n"
          "      --period-min S, --period-max S, --jitter-max F, --missed-max F, --dead F\n", out);
}

int main(int argc, char **argv)
{
    flowsim_config cfg;
    flowsim_config_default(&cfg);
    const char *out_path = NULL, *truth_path = NULL;
    static const struct option longopts[] = {
        { "out", required_argument, NULL, 'o' },      { "truth", required_argument, NULL, 't' },
        { "hosts", required_argument, NULL, 'n' },    { "beacons", required_argument, NULL, 'b' },
        { "p2p", required_argument, NULL, 'p' },      { "spam", required_argument, NULL, 'z' },
        { "duration", required_argument, NULL, 'd' }, { "activity", required_argument, NULL, 'a' },
        { "seed", required_argument, NULL, 's' },     { "period-min", required_argument, NULL, 1 },
        { "period-max", required_argument, NULL, 2 }, { "jitter-max", required_argument, NULL, 3 },
        { "missed-max", required_argument, NULL, 4 }, { "dead", required_argument, NULL, 5 },
        { "help", no_argument, NULL, 'h' },           { NULL, 0, NULL, 0 } };
    int c;
    while ((c = getopt_long(argc, argv, "o:t:n:b:p:z:d:a:s:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': out_path = optarg; break;
        case 't': truth_path = optarg; break;
        case 'n': cfg.hosts = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'b': cfg.beacons = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'p': cfg.p2p_bots = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'z': cfg.spam_zombies = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'd': cfg.duration = strtod(optarg, NULL); break;
        case 'a': cfg.activity = strtod(optarg, NULL); break;
        case 's': cfg.seed = strtoull(optarg, NULL, 10); break;
        case 1: cfg.period_min = strtod(optarg, NULL); break;
        case 2: cfg.period_max = strtod(optarg, NULL); break;
        case 3: cfg.jitter_max = strtod(optarg, NULL); break;
        case 4: cfg.missed_max = strtod(optarg, NULL); break;
        case 5: cfg.dead_fraction = strtod(optarg, NULL); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!out_path || !truth_path || cfg.hosts == 0 || cfg.duration <= 0 || cfg.period_min <= 0 ||
        cfg.period_max < cfg.period_min) {
        usage(stderr);
        return 2;
    }
    writer w = { fopen(out_path, "w"), 0, 0 };
    if (!w.out) {
        fprintf(stderr, "flowsim: %s: %s\n", out_path, strerror(errno));
        return 1;
    }
    fprintf(w.out, "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
                   "#open\tflowsim-seed-%llu\n"
                   "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\t"
                   "orig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\t"
                   "orig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n"
                   "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\t"
                   "bool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\n",
            (unsigned long long)cfg.seed);
    flowsim_result res;
    if (flowsim_run(&cfg, write_flow, &w, &res) != 0) {
        fprintf(stderr, "flowsim: out of memory\n");
        fclose(w.out);
        return 1;
    }
    fprintf(w.out, "#close\tflowsim\n");
    if (fclose(w.out) != 0 || w.err) {
        fprintf(stderr, "flowsim: %s: write failed\n", out_path);
        flowsim_result_free(&res);
        return 1;
    }
    FILE *t = fopen(truth_path, "w");
    if (!t) {
        fprintf(stderr, "flowsim: %s: %s\n", truth_path, strerror(errno));
        flowsim_result_free(&res);
        return 1;
    }
    fprintf(t, "kind\tsrc\tdst\tport\tperiod\tjitter\tmissed\tdead\n");
    for (size_t i = 0; i < res.n_truth; i++) {
        const flowsim_truth *tr = &res.truth[i];
        char src[BW_IP_STRLEN] = "-", dst[BW_IP_STRLEN] = "-";
        if (tr->kind != FLOWSIM_BENIGN_PERIODIC)
            bw_ip_format(&tr->src, src);
        if (tr->kind == FLOWSIM_BEACON)
            bw_ip_format(&tr->dst, dst);
        fprintf(t, "%s\t%s\t%s\t%u\t%.3f\t%.2f\t%.2f\t%s\n", flowsim_kind_name(tr->kind), src, dst, tr->port,
                tr->period, tr->jitter, tr->missed, tr->kind == FLOWSIM_BEACON ? (tr->dead ? "dead" : "live") : "-");
    }
    int rc = fclose(t) == 0 ? 0 : 1;
    fprintf(stderr, "flowsim: %llu flows, %zu truth rows\n", (unsigned long long)res.flows, res.n_truth);
    flowsim_result_free(&res);
    return rc;
}
