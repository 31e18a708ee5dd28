// SPDX-License-Identifier: MIT
// `botwatch flows beacons|cc|p2p|smtp [options] FILE...`: reads flow logs through the
// readers (Zeek TSV/JSON, Argus, nfdump, pcap; '-' = stdin; .gz transparently), feeds the
// flowscore engine and prints one table. Front end only: the metrics are computed by
// libbotwatch; this file parses options, describes each column once (a field table that
// drives text, CSV and JSON output, --sort and --where) and prints.
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "botwatch/flowread.h"
#include "botwatch/flowscore.h"
#include "botwatch/networks.h"
#include "cli_util.h"
#include "commands.h"

#define SUB "flows"

typedef enum kind { K_BEACONS, K_CC, K_P2P, K_SMTP } kind;
typedef enum fmt { F_TEXT, F_JSON, F_CSV } fmt;

// One output column: numeric (num) or text (str). width is for the text table.
typedef struct field {
    const char *name;
    int width;
    const char *help;
    double (*num)(const void *row);
    void (*str)(const void *row, char *out, size_t n);
    int decimals;
} field;

static void fmt_time(double t, char *out, size_t n)
{
    if (!isfinite(t)) {
        snprintf(out, n, "-");
        return;
    }
    time_t s = (time_t)t;
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void ip_str(const bw_ip *ip, char *out, size_t n)
{
    char b[BW_IP_STRLEN];
    bw_ip_format(ip, b);
    snprintf(out, n, "%s", b);
}

// ---- beacons ----
#define B(r) ((const bw_beacon *)(r))
static double b_score(const void *r) { return B(r)->score; }
static double b_raw(const void *r) { return B(r)->raw_score; }
static double b_ts(const void *r) { return B(r)->ts_score; }
static double b_skew(const void *r) { return B(r)->ts_skew_score; }
static double b_madm(const void *r) { return B(r)->ts_madm_score; }
static double b_per(const void *r) { return B(r)->period_score; }
static double b_z(const void *r) { return isfinite(B(r)->period_z) ? B(r)->period_z : 99; }
static double b_ds(const void *r) { return B(r)->ds_score; }
static double b_cov(const void *r) { return B(r)->coverage_score; }
static double b_prev(const void *r) { return B(r)->prevalence; }
static double b_period(const void *r) { return B(r)->period; }
static double b_pmad(const void *r) { return B(r)->period_mad; }
static double b_calls(const void *r) { return (double)B(r)->calls; }
static double b_failed(const void *r) { return (double)B(r)->failed; }
static double b_obytes(const void *r) { return (double)B(r)->orig_bytes; }
static double b_first(const void *r) { return B(r)->first_seen; }
static double b_last(const void *r) { return B(r)->last_seen; }
static void b_src(const void *r, char *o, size_t n) { ip_str(&B(r)->src, o, n); }
static void b_dst(const void *r, char *o, size_t n) { ip_str(&B(r)->dst, o, n); }
static void b_port(const void *r, char *o, size_t n)
{
    uint8_t p = B(r)->proto;
    const char *name = p == 6 ? "tcp" : p == 17 ? "udp" : p == 1 ? "icmp" : p == 58 ? "icmp6" : "ip";
    if (B(r)->any_port)
        snprintf(o, n, "*");
    else
        snprintf(o, n, "%u/%s", B(r)->dport, name);   // for ICMP the "port" is the type, as in Zeek
}
static void b_first_s(const void *r, char *o, size_t n) { fmt_time(B(r)->first_seen, o, n); }
static void b_last_s(const void *r, char *o, size_t n) { fmt_time(B(r)->last_seen, o, n); }

static const field beacon_fields[] = {
    { "score", 5, "final score 0-1: raw score x prevalence modifier", b_score, NULL, 3 },
    { "raw", 5, "score before the prevalence modifier", b_raw, NULL, 3 },
    { "ts", 4, "RITA-style timing: mean of skew and madm", b_ts, NULL, 2 },
    { "skew", 4, "1 - |Bowley skew| of inter-call times", b_skew, NULL, 2 },
    { "madm", 4, "1 - (MAD/median of inter-call times)/madm_ref", b_madm, NULL, 2 },
    { "per", 4, "periodicity: share of intervals on the period comb, vs permuted copies", b_per, NULL, 2 },
    { "z", 5, "periodicity test: standard deviations above the permutation null", b_z, NULL, 1 },
    { "ds", 4, "data-size regularity of orig bytes (skew and MAD/median)", b_ds, NULL, 2 },
    { "cov", 4, "persistence x fill of the pair's lifetime", b_cov, NULL, 2 },
    { "prev", 5, "fraction of internal hosts calling the destination /24", b_prev, NULL, 3 },
    { "period", 9, "estimated period, seconds", b_period, NULL, 2 },
    { "period_mad", 8, "MAD of per-interval period estimates, seconds", b_pmad, NULL, 2 },
    { "calls", 7, "flows seen", b_calls, NULL, 0 },
    { "failed", 7, "failed attempts (S0, REJ, ...)", b_failed, NULL, 0 },
    { "orig_bytes", 10, "bytes sent by the caller", b_obytes, NULL, 0 },
    { "src", 15, "caller", NULL, b_src, 0 },
    { "dst", 15, "called destination", NULL, b_dst, 0 },
    { "port", 9, "destination port/protocol (* = all ports aggregated)", NULL, b_port, 0 },
    { "first", 20, "first call (UTC)", b_first, b_first_s, 0 },
    { "last", 20, "last call (UTC)", b_last, b_last_s, 0 },
};

// ---- C&C ----
#define C(r) ((const bw_cc_candidate *)(r))
static double c_hosts(const void *r) { return C(r)->hosts; }
static double c_score(const void *r) { return C(r)->best_score; }
static double c_period(const void *r) { return C(r)->period; }
static double c_calls(const void *r) { return (double)C(r)->calls; }
static double c_failed(const void *r) { return (double)C(r)->failed; }
static double c_asn(const void *r) { return C(r)->asn; }
static double c_first(const void *r) { return C(r)->first_seen; }
static double c_last(const void *r) { return C(r)->last_seen; }
static void c_dst(const void *r, char *o, size_t n) { ip_str(&C(r)->dst, o, n); }
static void c_port(const void *r, char *o, size_t n) { snprintf(o, n, "%u", C(r)->dport); }
static void c_asname(const void *r, char *o, size_t n)
{
    size_t k = C(r)->as_name.n < n - 1 ? C(r)->as_name.n : n - 1;
    if (k)
        memcpy(o, C(r)->as_name.p, k);
    o[k] = '\0';
    if (!k)
        snprintf(o, n, "-");
}
static void c_first_s(const void *r, char *o, size_t n) { fmt_time(C(r)->first_seen, o, n); }
static void c_last_s(const void *r, char *o, size_t n) { fmt_time(C(r)->last_seen, o, n); }

static const field cc_fields[] = {
    { "hosts", 5, "distinct internal hosts with a beacon to it", c_hosts, NULL, 0 },
    { "score", 5, "best beacon score towards it", c_score, NULL, 3 },
    { "dst", 15, "candidate controller", NULL, c_dst, 0 },
    { "port", 5, "port of its best beacon", NULL, c_port, 0 },
    { "period", 9, "period of its best beacon, seconds", c_period, NULL, 2 },
    { "calls", 7, "calls from all its beacons", c_calls, NULL, 0 },
    { "failed", 7, "of which failed (a dead controller still called)", c_failed, NULL, 0 },
    { "asn", 7, "autonomous system (with --asn)", c_asn, NULL, 0 },
    { "as_name", 24, "AS organisation (with --asn)", NULL, c_asname, 0 },
    { "first", 20, "first call (UTC)", c_first, c_first_s, 0 },
    { "last", 20, "last call (UTC)", c_last, c_last_s, 0 },
};

// ---- P2P ----
#define P(r) ((const bw_p2p_host *)(r))
static double p_score(const void *r) { return P(r)->score; }
static double p_peers(const void *r) { return P(r)->peers; }
static double p_ports(const void *r) { return P(r)->ports; }
static double p_failed(const void *r) { return P(r)->failed_ratio; }
static double p_bytes(const void *r) { return P(r)->mean_bytes; }
static double p_high(const void *r) { return P(r)->high_port_ratio; }
static double p_cov(const void *r) { return P(r)->coverage; }
static double p_flows(const void *r) { return (double)P(r)->flows; }
static double p_first(const void *r) { return P(r)->first_seen; }
static double p_last(const void *r) { return P(r)->last_seen; }
static void p_src(const void *r, char *o, size_t n) { ip_str(&P(r)->src, o, n); }
static void p_first_s(const void *r, char *o, size_t n) { fmt_time(P(r)->first_seen, o, n); }
static void p_last_s(const void *r, char *o, size_t n) { fmt_time(P(r)->last_seen, o, n); }

static const field p2p_fields[] = {
    { "score", 5, "P2P score 0-1 (peers, failures, smallness, coverage, odd ports)", p_score, NULL, 3 },
    { "src", 15, "internal host", NULL, p_src, 0 },
    { "peers", 6, "distinct external peers", p_peers, NULL, 0 },
    { "ports", 6, "distinct destination ports", p_ports, NULL, 0 },
    { "failed", 6, "failed-connection ratio", p_failed, NULL, 2 },
    { "bytes", 8, "mean bytes per flow (both ways)", p_bytes, NULL, 0 },
    { "high", 5, "share of flows to unusual high ports", p_high, NULL, 2 },
    { "cov", 4, "share of the observation span with activity", p_cov, NULL, 2 },
    { "flows", 7, "flows (SMTP excluded)", p_flows, NULL, 0 },
    { "first", 20, "first flow (UTC)", p_first, p_first_s, 0 },
    { "last", 20, "last flow (UTC)", p_last, p_last_s, 0 },
};

// ---- SMTP ----
#define S(r) ((const bw_smtp_host *)(r))
static double s_score(const void *r) { return S(r)->score; }
static double s_dsts(const void *r) { return S(r)->dsts; }
static double s_flows(const void *r) { return (double)S(r)->flows; }
static double s_failed(const void *r) { return (double)S(r)->failed; }
static double s_first(const void *r) { return S(r)->first_seen; }
static double s_last(const void *r) { return S(r)->last_seen; }
static void s_src(const void *r, char *o, size_t n) { ip_str(&S(r)->src, o, n); }
static void s_first_s(const void *r, char *o, size_t n) { fmt_time(S(r)->first_seen, o, n); }
static void s_last_s(const void *r, char *o, size_t n) { fmt_time(S(r)->last_seen, o, n); }

static const field smtp_fields[] = {
    { "score", 5, "log(destinations)/log(1000), capped at 1", s_score, NULL, 3 },
    { "src", 15, "internal host", NULL, s_src, 0 },
    { "dsts", 6, "distinct SMTP destinations (25/465/587)", s_dsts, NULL, 0 },
    { "flows", 7, "SMTP connections", s_flows, NULL, 0 },
    { "failed", 7, "of which failed", s_failed, NULL, 0 },
    { "first", 20, "first SMTP connection (UTC)", s_first, s_first_s, 0 },
    { "last", 20, "last SMTP connection (UTC)", s_last, s_last_s, 0 },
};

typedef struct table {
    const field *fields;
    size_t n_fields;
    const char *rows;
    size_t n_rows, row_size;
} table;

typedef struct filter {
    const field *f;
    char op[3];
    double value;
} filter;

static const field *find_field(const table *t, const char *name, size_t len)
{
    for (size_t i = 0; i < t->n_fields; i++)
        if (strlen(t->fields[i].name) == len && !strncmp(t->fields[i].name, name, len))
            return &t->fields[i];
    return NULL;
}

static bool pass(const filter *fl, const void *row)
{
    double v = fl->f->num(row);
    if (!strcmp(fl->op, ">="))
        return v >= fl->value;
    if (!strcmp(fl->op, "<="))
        return v <= fl->value;
    if (!strcmp(fl->op, ">"))
        return v > fl->value;
    if (!strcmp(fl->op, "<"))
        return v < fl->value;
    return v == fl->value;
}

typedef struct sort_order {
    const field *f;
    bool asc;
} sort_order;

static int cmp_rows(const void *a, const void *b, void *ctx)
{
    const sort_order *sp = ctx;
    const void *x = *(const void *const *)a, *y = *(const void *const *)b;
    double u = sp->f->num(x), v = sp->f->num(y);
    int c = (u > v) - (u < v);
    if (!c)   // keep the engine's order among ties: rows are pointers into one array
        return (x > y) - (x < y);
    return sp->asc ? c : -c;
}

static void print_cell(FILE *out, const field *f, const void *row, fmt format)
{
    char buf[128];
    if (f->str) {
        f->str(row, buf, sizeof buf);
        if (format == F_JSON) {
            bw_buf b = BW_BUF_INIT;
            if (bw_buf_append_json_string(&b, bw_slice_cstr(buf)) != 0)
                cli_out_of_memory();
            fputs(b.p, out);
            bw_buf_free(&b);
        } else if (format == F_CSV) {
            fputc('"', out);   // RFC 4180 quoting: AS names carry commas
            for (const char *p = buf; *p; p++) {
                if (*p == '"')
                    fputc('"', out);
                fputc(*p, out);
            }
            fputc('"', out);
        } else if (f->str == c_asname) {
            fprintf(out, "%-*.*s", f->width, f->width, buf);   // AS names run long; keep the table
        } else {
            fprintf(out, "%-*s", f->width, buf);
        }
        return;
    }
    double v = f->num(row);
    if (format == F_TEXT)
        fprintf(out, "%*.*f", f->width, f->decimals, v);
    else
        fprintf(out, "%.*f", f->decimals ? f->decimals + 2 : 0, v);
}

static void print_table(FILE *out, const table *t, fmt format, const filter *filters, size_t n_filters,
                        const field *sort, bool asc, size_t limit)
{
    const void **rows = malloc((t->n_rows + 1) * sizeof *rows);
    if (!rows)
        cli_out_of_memory();
    size_t n = 0;
    for (size_t i = 0; i < t->n_rows; i++) {
        const void *row = t->rows + i * t->row_size;
        bool ok = true;
        for (size_t k = 0; k < n_filters && ok; k++)
            ok = pass(&filters[k], row);
        if (ok)
            rows[n++] = row;
    }
    if (sort) {
        sort_order sp = { sort, asc };
        qsort_r(rows, n, sizeof *rows, cmp_rows, &sp);
    }
    if (limit && n > limit)
        n = limit;
    if (format == F_JSON)
        fputs("[\n", out);
    else
        for (size_t c = 0; c < t->n_fields; c++) {
            if (format == F_CSV)
                fprintf(out, "%s%s", c ? "," : "", t->fields[c].name);
            else
                fprintf(out, c ? " %*s" : "%*s", t->fields[c].str ? -t->fields[c].width : t->fields[c].width,
                        t->fields[c].name);
        }
    if (format != F_JSON)
        fputc('\n', out);
    for (size_t i = 0; i < n; i++) {
        if (format == F_JSON)
            fputs("  {", out);
        for (size_t c = 0; c < t->n_fields; c++) {
            if (format == F_JSON)
                fprintf(out, "%s\"%s\": ", c ? ", " : "", t->fields[c].name);
            else if (c)
                fputc(format == F_CSV ? ',' : ' ', out);
            print_cell(out, &t->fields[c], rows[i], format);
        }
        fputs(format == F_JSON ? (i + 1 < n ? "},\n" : "}\n") : "\n", out);
    }
    if (format == F_JSON)
        fputs("]\n", out);
    free(rows);
}

static void usage(FILE *out)
{
    fputs("usage: botwatch flows beacons|cc|p2p|smtp [OPTIONS] FILE...\n"
          "\n"
          "Finds zombies and their controllers in flow logs: Zeek conn.log (TSV or JSON, .gz too),\n"
          "Argus binetflow, nfdump CSV, pcap/pcapng. FILE '-' reads stdin, so\n"
          "  zcat conn.*.log.gz | botwatch flows beacons -\n"
          "works. Memory is bounded (see --max-pairs); nothing is sent anywhere.\n"
          "\n"
          "analyses:\n"
          "  beacons  pairs (src, dst, port, proto) that call at a regular rhythm, live or dead\n"
          "           controller alike (failed S0/REJ attempts count as calls). Also (src, dst)\n"
          "           over all ports (port '*') when no single port shows it.\n"
          "  cc       beacon destinations: how many internal hosts call each, best score, ASN.\n"
          "  p2p      internal hosts with many external peers, many failed connections, small\n"
          "           flows, steady activity and odd high ports.\n"
          "  smtp     internal hosts opening SMTP (25/465/587) to many destinations.\n"
          "\n"
          "beacon metrics (each 0-1 unless noted):\n"
          "  skew     1 - |Bowley skew| of inter-call times: a beacon's intervals are symmetric.\n"
          "  madm     1 - (MAD/median of intervals)/madm_ref: small spread around the period.\n"
          "  ts       (skew + madm)/2, as RITA scores timing.\n"
          "  per      periodicity that survives jitter and missed calls: the share of intervals\n"
          "           near a multiple (1..4) of the estimated period, compared with the same\n"
          "           number of calls placed at random over the same time (permutations, as\n"
          "           BAYWATCH does). 0 unless above every permutation and --min-z deviations.\n"
          "  z        how many standard deviations the periodicity beats the permutations by.\n"
          "  ds       regularity of the bytes sent: beacons ask the same question each time.\n"
          "  cov      how long the pair lasts (up to 6 h counts fully) x how evenly it fills it.\n"
          "  prev     share of internal hosts calling the same /24; above 2% the score is scaled\n"
          "           down, to half at 10% (update servers, CDNs), with >= 10 internal hosts.\n"
          "  score    max(ts, per) x (0.5 + 0.15 ds + 0.35 cov) x prevalence factor; without a\n"
          "           significant periodicity, half of ts is used instead of max(ts, per).\n"
          "  period   estimated period in seconds (robust to missed calls).\n"
          "\n"
          "options:\n"
          "  --format text|json|csv   output format (default text)\n"
          "  --threshold X            report beacons with score >= X (default 0.70)\n"
          "  --min-calls N            calls a pair needs to be judged (default 8)\n"
          "  --jitter-tolerance F     comb half-width, fraction of the period (default 0.35)\n"
          "  --permutations N         permuted copies in the null (default 19)\n"
          "  --min-z Z                periodicity significance (default 3)\n"
          "  --internal CIDR          internal network (repeatable; default RFC 1918 + fc00::/7)\n"
          "  --allow-cidr CIDR        ignore flows from/to it (repeatable)\n"
          "  --allow-port N           ignore flows to this destination port (repeatable)\n"
          "  --allow-name TEXT        ignore flows whose service/label fields contain TEXT\n"
          "  --include-local-scope    keep multicast/broadcast/link-local destinations\n"
          "  --no-prevalence          do not down-weight destinations many hosts call\n"
          "  --p2p-min-peers N        (default 30)   --smtp-min-dsts N   (default 20)\n"
          "  --asn PATH               ASN CSV/mmdb/directory, for AS names in the cc table\n"
          "  --sort FIELD[:asc]       sort by any column (default: by score, descending)\n"
          "  --where EXPR             filter rows, e.g. --where 'calls>=100' --where 'prev<0.05'\n"
          "  --limit N                print at most N rows (default 50 for text, 0 = all)\n"
          "  --threads N              scoring threads (default 2; results do not depend on it)\n"
          "  --max-pairs N            pairs tracked (default 4000000; more are dropped, counted)\n"
          "  --max-events N           calls kept per pair (default 8192; oldest evicted, counted)\n"
          "  --seed N                 permutation seed (default fixed: same input, same report)\n"
          "  --burst-merge SECONDS    calls closer than this are one call (default 0.01)\n"
          "  --min-period SECONDS     faster rhythms are scans or floods, not beacons (default 0.1)\n"
          "  -q, --quiet              no summary on stderr\n"
          "\nSee docs/flows.md for every formula and default with the reason.\n",
          out);
}

typedef struct read_ctx {
    bw_flowscore *fs;
    unsigned errors_shown;
} read_ctx;

static bool on_flow(const bw_flow *f, void *ctx)
{
    bw_flowscore_add(((read_ctx *)ctx)->fs, f);
    return true;
}

static void on_bad_line(const char *source, uint64_t line, const char *reason, void *ctx)
{
    read_ctx *rc = ctx;
    if (rc->errors_shown++ < 10)
        fprintf(stderr, "botwatch flows: %s:%llu: %s\n", source, (unsigned long long)line, reason);
}

static bool parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || v > max || s[0] == '-')
        return false;
    *out = v;
    return true;
}

static bool parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v))
        return false;
    *out = v;
    return true;
}

enum {
    O_FORMAT = 256, O_THRESHOLD, O_MIN_CALLS, O_JITTER, O_PERMS, O_MIN_Z, O_INTERNAL, O_ALLOW_CIDR, O_ALLOW_PORT,
    O_ALLOW_NAME, O_LOCAL, O_NO_PREV, O_P2P_PEERS, O_SMTP_DSTS, O_ASN, O_SORT, O_WHERE, O_LIMIT, O_THREADS,
    O_MAX_PAIRS, O_MAX_EVENTS, O_SEED, O_BURST, O_MIN_PERIOD,
};

#define MAX_LIST 64

int cmd_flows(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    kind k;
    if (!strcmp(argv[1], "beacons"))
        k = K_BEACONS;
    else if (!strcmp(argv[1], "cc"))
        k = K_CC;
    else if (!strcmp(argv[1], "p2p"))
        k = K_P2P;
    else if (!strcmp(argv[1], "smtp"))
        k = K_SMTP;
    else {
        cli_error(SUB, "unknown analysis '%s' (beacons, cc, p2p or smtp)", argv[1]);
        return 2;
    }
    argc--;
    argv++;

    bw_flowscore_options o;
    bw_flowscore_options_default(&o);
    fmt format = F_TEXT;
    bw_cidr internal[MAX_LIST], allow[MAX_LIST];
    uint16_t ports[MAX_LIST];
    const char *names[MAX_LIST];
    const char *asn_paths[8];
    const char *sort_spec = NULL;
    const char *where[MAX_LIST];
    size_t n_internal = 0, n_allow = 0, n_ports = 0, n_names = 0, n_asn = 0, n_where = 0;
    long long limit = -1;
    bool quiet = false;
    static const struct option longopts[] = {
        { "format", required_argument, NULL, O_FORMAT },
        { "threshold", required_argument, NULL, O_THRESHOLD },
        { "min-calls", required_argument, NULL, O_MIN_CALLS },
        { "jitter-tolerance", required_argument, NULL, O_JITTER },
        { "permutations", required_argument, NULL, O_PERMS },
        { "min-z", required_argument, NULL, O_MIN_Z },
        { "internal", required_argument, NULL, O_INTERNAL },
        { "allow-cidr", required_argument, NULL, O_ALLOW_CIDR },
        { "allow-port", required_argument, NULL, O_ALLOW_PORT },
        { "allow-name", required_argument, NULL, O_ALLOW_NAME },
        { "include-local-scope", no_argument, NULL, O_LOCAL },
        { "no-prevalence", no_argument, NULL, O_NO_PREV },
        { "p2p-min-peers", required_argument, NULL, O_P2P_PEERS },
        { "smtp-min-dsts", required_argument, NULL, O_SMTP_DSTS },
        { "asn", required_argument, NULL, O_ASN },
        { "sort", required_argument, NULL, O_SORT },
        { "where", required_argument, NULL, O_WHERE },
        { "limit", required_argument, NULL, O_LIMIT },
        { "threads", required_argument, NULL, O_THREADS },
        { "max-pairs", required_argument, NULL, O_MAX_PAIRS },
        { "max-events", required_argument, NULL, O_MAX_EVENTS },
        { "seed", required_argument, NULL, O_SEED },
        { "burst-merge", required_argument, NULL, O_BURST },
        { "min-period", required_argument, NULL, O_MIN_PERIOD },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    unsigned long long u = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
        bool ok = true;
        switch (c) {
        case O_FORMAT:
            if (!strcmp(optarg, "text"))
                format = F_TEXT;
            else if (!strcmp(optarg, "json"))
                format = F_JSON;
            else if (!strcmp(optarg, "csv"))
                format = F_CSV;
            else
                ok = false;
            break;
        case O_THRESHOLD: ok = parse_double(optarg, &o.threshold) && o.threshold >= 0 && o.threshold <= 1; break;
        case O_MIN_CALLS: ok = parse_uint(optarg, 1000000, &u) && u >= 3; o.min_calls = (unsigned)u; break;
        case O_JITTER: ok = parse_double(optarg, &o.jitter_tolerance) && o.jitter_tolerance > 0 && o.jitter_tolerance < 0.5; break;
        case O_PERMS: ok = parse_uint(optarg, 1000, &u); o.permutations = (unsigned)u; break;
        case O_MIN_Z: ok = parse_double(optarg, &o.min_z); break;
        case O_INTERNAL:
            ok = n_internal < MAX_LIST && bw_cidr_parse(bw_slice_cstr(optarg), &internal[n_internal]);
            n_internal += ok;
            break;
        case O_ALLOW_CIDR:
            ok = n_allow < MAX_LIST && bw_cidr_parse(bw_slice_cstr(optarg), &allow[n_allow]);
            n_allow += ok;
            break;
        case O_ALLOW_PORT:
            ok = n_ports < MAX_LIST && parse_uint(optarg, 65535, &u);
            if (ok)
                ports[n_ports++] = (uint16_t)u;
            break;
        case O_ALLOW_NAME:
            ok = n_names < MAX_LIST && optarg[0];
            if (ok)
                names[n_names++] = optarg;
            break;
        case O_LOCAL: o.skip_local_scope = false; break;
        case O_NO_PREV: o.prevalence_floor = 1; break;
        case O_P2P_PEERS: ok = parse_uint(optarg, 10000000, &u) && u > 0; o.p2p_min_peers = (unsigned)u; break;
        case O_SMTP_DSTS: ok = parse_uint(optarg, 10000000, &u) && u > 0; o.smtp_min_dsts = (unsigned)u; break;
        case O_ASN:
            ok = n_asn < 8;
            if (ok)
                asn_paths[n_asn++] = optarg;
            break;
        case O_SORT: sort_spec = optarg; break;
        case O_WHERE:
            ok = n_where < MAX_LIST;
            if (ok)
                where[n_where++] = optarg;
            break;
        case O_LIMIT: ok = parse_uint(optarg, 100000000, &u); limit = (long long)u; break;
        case O_THREADS: ok = parse_uint(optarg, 64, &u) && u > 0; o.threads = (unsigned)u; break;
        case O_MAX_PAIRS: ok = parse_uint(optarg, UINT32_MAX / 2 - 1, &u) && u > 0; o.limits.max_pairs = u; break;
        case O_MAX_EVENTS: ok = parse_uint(optarg, UINT32_MAX / 2 - 1, &u) && u >= 2; o.limits.max_events_per_pair = u; break;
        case O_SEED: ok = parse_uint(optarg, UINT64_MAX, &u); o.seed = u; break;
        case O_BURST: ok = parse_double(optarg, &o.burst_merge_s) && o.burst_merge_s >= 0; break;
        case O_MIN_PERIOD: ok = parse_double(optarg, &o.min_period_s) && o.min_period_s >= 0; break;
        case 'q': quiet = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (!ok) {
            cli_error(SUB, "invalid value for --%s: '%s' (see --help)", longopts[c - O_FORMAT].name, optarg);
            return 2;
        }
    }
    if (optind >= argc) {
        cli_error(SUB, "no input files (use '-' for stdin)");
        return 2;
    }
    if (n_internal) {
        o.internal = internal;
        o.n_internal = n_internal;
    }
    o.allow_cidrs = allow;
    o.n_allow_cidrs = n_allow;
    o.allow_ports = ports;
    o.n_allow_ports = n_ports;
    o.allow_names = names;
    o.n_allow_names = n_names;

    table t;
    memset(&t, 0, sizeof t);
    switch (k) {
    case K_BEACONS: t.fields = beacon_fields; t.n_fields = sizeof beacon_fields / sizeof *beacon_fields; t.row_size = sizeof(bw_beacon); break;
    case K_CC: t.fields = cc_fields; t.n_fields = sizeof cc_fields / sizeof *cc_fields; t.row_size = sizeof(bw_cc_candidate); break;
    case K_P2P: t.fields = p2p_fields; t.n_fields = sizeof p2p_fields / sizeof *p2p_fields; t.row_size = sizeof(bw_p2p_host); break;
    case K_SMTP: t.fields = smtp_fields; t.n_fields = sizeof smtp_fields / sizeof *smtp_fields; t.row_size = sizeof(bw_smtp_host); break;
    }
    // Validate --sort and --where against this table before reading gigabytes.
    const field *sort = NULL;
    bool asc = false;
    if (sort_spec) {
        const char *colon = strchr(sort_spec, ':');
        size_t len = colon ? (size_t)(colon - sort_spec) : strlen(sort_spec);
        sort = find_field(&t, sort_spec, len);
        if (!sort || !sort->num || (colon && strcmp(colon, ":asc") && strcmp(colon, ":desc"))) {
            cli_error(SUB, "cannot sort by '%s': use a numeric column name, optionally :asc", sort_spec);
            return 2;
        }
        asc = colon && !strcmp(colon, ":asc");
    }
    filter filters[MAX_LIST];
    for (size_t i = 0; i < n_where; i++) {
        const char *p = where[i];
        size_t len = strcspn(p, "<>=");
        const char *op = p + len;
        size_t oplen = strspn(op, "<>=");
        if (oplen == 0 || oplen > 2 || !(filters[i].f = find_field(&t, p, len)) || !filters[i].f->num ||
            !parse_double(op + oplen, &filters[i].value)) {
            cli_error(SUB, "bad --where '%s': expected COLUMN(>=|<=|>|<|=)NUMBER with a numeric column", p);
            return 2;
        }
        memcpy(filters[i].op, op, oplen);
        filters[i].op[oplen] = '\0';
        if (strcmp(filters[i].op, ">=") && strcmp(filters[i].op, "<=") && strcmp(filters[i].op, ">") &&
            strcmp(filters[i].op, "<") && strcmp(filters[i].op, "=")) {
            cli_error(SUB, "bad --where '%s': the operator must be >=, <=, >, < or =", p);
            return 2;
        }
    }

    char err[BW_ERRBUF_SIZE];
    bw_asn_db *asn = NULL;
    if (n_asn) {
        asn = bw_asn_db_new();
        if (!asn)
            cli_out_of_memory();
        for (size_t i = 0; i < n_asn; i++)
            if (bw_asn_db_load(asn, asn_paths[i], err) != BW_OK) {
                cli_error(SUB, "%s", err);
                bw_asn_db_free(asn);
                return 1;
            }
        o.asn_db = asn;
    }
    bw_flowscore *fs = bw_flowscore_new(&o, err);
    if (!fs) {
        cli_error(SUB, "%s", err);
        bw_asn_db_free(asn);
        return 1;
    }
    read_ctx rc = { fs, 0 };
    bw_flow_read_options ro;
    memset(&ro, 0, sizeof ro);
    ro.on_error = on_bad_line;
    ro.error_ctx = &rc;
    int status = 0;
    uint64_t malformed = 0;
    for (int i = optind; i < argc; i++) {
        bw_flow_reader_stats st;
        memset(&st, 0, sizeof st);
        if (bw_flow_read_file(argv[i], &ro, on_flow, &rc, &st, err) != BW_OK) {
            cli_error(SUB, "%s", err);
            status = 1;   // go on: the other files still count
        }
        malformed += st.malformed;
    }
    if (bw_flowscore_finish(fs, err) != BW_OK) {
        cli_error(SUB, "%s", err);
        bw_flowscore_free(fs);
        bw_asn_db_free(asn);
        return 1;
    }
    switch (k) {
    case K_BEACONS: t.rows = (const char *)bw_flowscore_beacons(fs, &t.n_rows); break;
    case K_CC: t.rows = (const char *)bw_flowscore_cc(fs, &t.n_rows); break;
    case K_P2P: t.rows = (const char *)bw_flowscore_p2p(fs, &t.n_rows); break;
    case K_SMTP: t.rows = (const char *)bw_flowscore_smtp(fs, &t.n_rows); break;
    }
    if (limit < 0)
        limit = format == F_TEXT ? 50 : 0;
    print_table(stdout, &t, format, filters, n_where, sort, asc, (size_t)limit);
    const bw_flowscore_stats *s = bw_flowscore_stats_get(fs);
    if (!quiet)
        fprintf(stderr,
                "botwatch flows: %llu flows (%llu malformed lines, %llu ignored), %llu pairs (%llu scored), "
                "%u internal hosts, %zu rows; limits: %llu flows lost to max-pairs, %llu calls evicted\n",
                (unsigned long long)s->flows, (unsigned long long)malformed, (unsigned long long)s->ignored,
                (unsigned long long)s->pairs, (unsigned long long)s->pairs_scored, s->internal_hosts, t.n_rows,
                (unsigned long long)s->pairs_dropped, (unsigned long long)s->events_evicted);
    bw_flowscore_free(fs);
    bw_asn_db_free(asn);
    return status;
}
