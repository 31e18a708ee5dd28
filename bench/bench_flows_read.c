// SPDX-License-Identifier: MIT
// Flow-reader throughput (issue 4, acceptance 3: Zeek TSV >= 1,000,000 flows/s per core).
// Builds a ~2M-line conn.log by repeating the real Stratosphere captures (or takes a path),
// times botwatch's reader on it in memory and through bw_flow_read_file, and times the
// honest alternative a user would reach for on the same file in the same run:
// `awk -F'\t' '!/^#/ {n++; s+=$10} END {...}'` (split every line, sum orig_bytes).
// Rates are given per CPU-second (the reader is single-threaded, so that is per core, and
// it is what a loaded machine inflates least) and per wall-clock second.
//   usage: bench_flows_read [CONN_LOG] [--lines N]
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "botwatch/flowread.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

// CPU seconds of this process (single-threaded reader: CPU time is per-core time, and it is
// what a loaded shared machine does not inflate) and of finished children (the peer).
static double cpu_self(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_children(void)
{
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec
           + (double)ru.ru_stime.tv_usec / 1e6;
}

static void report(const char *name, uint64_t flows, double mb, double wall, double cpu, const char *note)
{
    printf("%-42s %10.0f flows/s %7.1f MB/s per CPU-second | wall %10.0f flows/s  %s\n", name,
           (double)flows / cpu, mb / cpu, (double)flows / wall, note);
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 20, len = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            char *bigger = realloc(buf, cap *= 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
            }
            buf = bigger;
        }
    }
    fclose(f);
    *n = len;
    return buf;
}

// Writes the data lines of the real captures, repeated, under one header, to path.
static long build_input(const char *path, long want_lines)
{
    const char *data = getenv("BW_SHARED_DATA");
    if (!data || !*data)
        data = BW_SHARED_DATA_DEFAULT;
    static const char *const rel[] = {
        "flows/stratosphere/011-zeek-mixed/data/conn.log.labeled",
        "flows/stratosphere/008-zeek-mixed/data/conn.log.labeled",
        "flows/stratosphere/010-zeek-mixed/data/conn.log.labeled",
    };
    char *body[3] = { NULL, NULL, NULL };
    size_t body_n[3] = { 0, 0, 0 };
    char *header = NULL;
    size_t header_n = 0;
    long per_round = 0;
    for (int i = 0; i < 3; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", data, rel[i]);
        size_t n;
        char *text = slurp(p, &n);
        if (!text) {
            fprintf(stderr, "bench_flows_read: %s missing (set BW_SHARED_DATA or pass a conn.log)\n", p);
            return -1;
        }
        // Split off the header lines (they start with '#').
        size_t off = 0;
        while (off < n && text[off] == '#') {
            char *nl = memchr(text + off, '\n', n - off);
            off = nl ? (size_t)(nl - text) + 1 : n;
        }
        if (!header) {
            header = malloc(off);
            memcpy(header, text, off);
            header_n = off;
        }
        size_t end = n;
        body[i] = malloc(end - off);
        memcpy(body[i], text + off, end - off);
        body_n[i] = end - off;
        for (size_t k = 0; k < body_n[i]; k++)
            per_round += body[i][k] == '\n';
        free(text);
    }
    FILE *out = fopen(path, "wb");
    if (!out)
        return -1;
    fwrite(header, 1, header_n, out);
    long lines = 0;
    while (lines < want_lines) {
        for (int i = 0; i < 3; i++)
            fwrite(body[i], 1, body_n[i], out);
        lines += per_round;
    }
    fclose(out);
    for (int i = 0; i < 3; i++)
        free(body[i]);
    free(header);
    return lines;
}

typedef struct sink {
    uint64_t flows, orig_bytes;
} sink;

static bool on_flow(const bw_flow *flow, void *ctx)
{
    sink *s = ctx;
    s->flows++;
    s->orig_bytes += flow->orig_bytes;
    return true;
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    long want = 2000000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--lines") == 0 && i + 1 < argc)
            want = atol(argv[++i]);
        else
            path = argv[i];
    }
    char tmp[] = "/tmp/bw_bench_conn_XXXXXX";
    bool generated = false;
    if (!path) {
        int fd = mkstemp(tmp);
        if (fd < 0)
            return 1;
        close(fd);
        if (build_input(tmp, want) < 0)
            return 1;
        path = tmp;
        generated = true;
    }
    size_t n;
    char *text = slurp(path, &n);
    if (!text) {
        perror(path);
        return 1;
    }
    double mb = (double)n / 1e6;
    printf("input: %s (%.1f MB)\n", generated ? "stratosphere 008/010/011 conn.logs repeated" : path, mb);

    // 1. botwatch, in memory, 1 MiB chunks: parsing cost alone. Best of 3 runs.
    double best_wall = 1e9, best_cpu = 1e9;
    sink s = { 0, 0 };
    for (int run = 0; run < 3; run++) {
        s = (sink){ 0, 0 };
        bw_flow_reader *r = bw_flow_reader_new(NULL, on_flow, &s);
        double t0 = now(), c0 = cpu_self();
        for (size_t off = 0; off < n; off += 1 << 20)
            bw_flow_reader_feed(r, text + off, n - off < (1u << 20) ? n - off : 1u << 20, NULL);
        bw_flow_reader_finish(r, NULL);
        double t = now() - t0, c = cpu_self() - c0;
        if (t < best_wall)
            best_wall = t;
        if (c < best_cpu)
            best_cpu = c;
        bw_flow_reader_free(r);
    }
    char note[192];
    snprintf(note, sizeof note, "(%" PRIu64 " flows, sum orig_bytes %" PRIu64 ")", s.flows, s.orig_bytes);
    report("botwatch reader (in memory, best of 3)", s.flows, mb, best_wall, best_cpu, note);

    // 2. botwatch through bw_flow_read_file (read + zlib pass-through + parse).
    s = (sink){ 0, 0 };
    double t0 = now(), c0 = cpu_self();
    bw_flow_reader_stats st;
    bw_flow_read_file(path, NULL, on_flow, &s, &st, NULL);
    double t = now() - t0, c = cpu_self() - c0;
    snprintf(note, sizeof note, "(%" PRIu64 " flows)", s.flows);
    report("botwatch bw_flow_read_file", s.flows, mb, t, c, note);

    // 3. The peer: awk splitting every line on tabs and summing a column.
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "LC_ALL=C awk -F'\\t' '!/^#/ {n++; s+=$10} END {printf \"%%d %%.0f\", n, s}' '%s'", path);
    t0 = now();
    c0 = cpu_children();
    FILE *p = popen(cmd, "r");
    char out[128] = "";
    if (p) {
        if (!fgets(out, sizeof out, p))
            out[0] = '\0';
        pclose(p);
    }
    t = now() - t0;
    c = cpu_children() - c0;
    long awk_lines = atol(out);
    snprintf(note, sizeof note, "(awk says: %s)", out);
    report("awk -F'\\t' (split lines, sum orig_bytes)", (uint64_t)awk_lines, mb, t, c, note);
    free(text);
    if (generated)
        unlink(tmp);
    return 0;
}
