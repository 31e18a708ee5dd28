// SPDX-License-Identifier: MIT
// Intake throughput: is the mbox splitter near memory speed, so it is never the ingest
// bottleneck (ingest target >= 50,000 msgs/s, ~270 MB/s on 2 cores)? In one run on the
// same file it times, best of several rounds:
//   floor   memchr scan counting "From " line starts (the least any splitter must do),
//   peer    `grep -c '^From '` on the file (page cache),
//   split   bw_mbox_splitter over the file in memory, 256 KB chunks,
//   intake  bw_intake reading the file (page cache) end to end,
//   gz      bw_intake on a gzip of it, beside `gzip -dc > /dev/null` (the decoder's floor).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "botwatch/intake.h"

#define ROUNDS 5

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        fclose(f);
        return NULL;
    }
    char *p = malloc((size_t)st.st_size + 1);
    if (p && fread(p, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
        free(p);
        p = NULL;
    }
    fclose(f);
    *n = (size_t)st.st_size;
    return p;
}

static size_t memchr_floor(const char *p, size_t n)
{
    size_t count = 0;
    const char *end = p + n, *line = p;
    while (line < end) {
        if ((size_t)(end - line) >= 5 && memcmp(line, "From ", 5) == 0)
            count++;
        const char *lf = memchr(line, '\n', (size_t)(end - line));
        if (!lf)
            break;
        line = lf + 1;
    }
    return count;
}

static size_t split_memory(const char *p, size_t n, uint64_t *bytes)
{
    bw_mbox_splitter *sp = bw_mbox_splitter_new(NULL);
    size_t count = 0, pos = 0;
    bool ready;
    *bytes = 0;
    while (pos < n) {
        size_t len = n - pos < (256u << 10) ? n - pos : (256u << 10), used;
        bw_mbox_splitter_feed(sp, p + pos, len, &used, &ready);
        pos += used;
        if (ready) {
            count++;
            *bytes += bw_mbox_splitter_message(sp)->bytes.n;
        }
    }
    while (bw_mbox_splitter_finish(sp, &ready) == BW_OK && ready) {
        count++;
        *bytes += bw_mbox_splitter_message(sp)->bytes.n;
    }
    bw_mbox_splitter_free(sp);
    return count;
}

static size_t intake_file(const char *path, uint64_t *errors)
{
    bw_intake *in = bw_intake_new(NULL, NULL);
    bw_intake_add_path(in, path);
    bw_intake_event ev;
    size_t count = 0;
    *errors = 0;
    while (bw_intake_next(in, &ev) == BW_OK && ev.kind != BW_INTAKE_EV_END) {
        count += ev.kind == BW_INTAKE_EV_MESSAGE;
        *errors += ev.kind == BW_INTAKE_EV_ERROR;
    }
    bw_intake_free(in);
    return count;
}

static double time_command(const char *cmd, char *out, size_t cap)
{
    double t0 = now();
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    if (pclose(p) != 0)
        return -1;
    return now() - t0;
}

static void row(const char *what, size_t messages, double mb, double seconds)
{
    if (seconds <= 0) {
        printf("%-44s %10s\n", what, "n/a");
        return;
    }
    printf("%-44s %9zu msgs %9.0f msgs/s %8.0f MB/s\n", what, messages, (double)messages / seconds,
           mb / seconds);
}

int main(int argc, char **argv)
{
    char def[1024];
    const char *path = argc > 1 ? argv[1] : NULL;
    if (!path) {
        const char *data = getenv("BW_DATA");
        snprintf(def, sizeof def, "%s/spamassassin.mbox", data && *data ? data : BW_DATA_DEFAULT);
        path = def;
    }
    size_t n;
    char *file = read_all(path, &n);
    if (!file) {
        fprintf(stderr, "bench_intake: cannot read %s (run scripts/fetch-data.sh or pass an mbox)\n", path);
        return 2;
    }
    double mb = (double)n / 1e6;
    printf("bench_intake: %s, %.1f MB, best of %d rounds\n", path, mb, ROUNDS);

    double best_floor = 1e9, best_split = 1e9, best_intake = 1e9, best_grep = 1e9;
    size_t floor_count = 0, split_count = 0, intake_count = 0;
    uint64_t split_bytes = 0, errors = 0;
    char cmd[2200], out[256];
    snprintf(cmd, sizeof cmd, "grep -c '^From ' '%s'", path);
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = now();
        floor_count = memchr_floor(file, n);
        double t1 = now();
        split_count = split_memory(file, n, &split_bytes);
        double t2 = now();
        intake_count = intake_file(path, &errors);
        double t3 = now();
        double g = time_command(cmd, out, sizeof out);
        if (t1 - t0 < best_floor) best_floor = t1 - t0;
        if (t2 - t1 < best_split) best_split = t2 - t1;
        if (t3 - t2 < best_intake) best_intake = t3 - t2;
        if (g > 0 && g < best_grep) best_grep = g;
    }
    row("floor: memchr scan of \"From \" line starts", floor_count, mb, best_floor);
    printf("%-44s %9ld msgs %9s        %8.0f MB/s\n", "peer: grep -c '^From ' (page cache)", atol(out), "",
           mb / best_grep);
    row("botwatch: bw_mbox_splitter (in memory)", split_count, mb, best_split);
    row("botwatch: bw_intake (file, page cache)", intake_count, mb, best_intake);

    // The same mbox gzip-compressed: decompression dominates; gzip -dc is its floor.
    char gz[] = "/tmp/bench-intake-XXXXXX";
    int fd = mkstemp(gz);
    if (fd >= 0) {
        close(fd);
        snprintf(cmd, sizeof cmd, "gzip -c < '%s' > '%s'", path, gz);
        if (system(cmd) == 0) {
            double best_gz = 1e9, best_zcat = 1e9;
            size_t gz_count = 0;
            snprintf(cmd, sizeof cmd, "gzip -dc < '%s' | wc -c", gz);
            for (int r = 0; r < ROUNDS; r++) {
                double t0 = now();
                gz_count = intake_file(gz, &errors);
                double t = now() - t0;
                if (t < best_gz) best_gz = t;
                double z = time_command(cmd, out, sizeof out);
                if (z > 0 && z < best_zcat) best_zcat = z;
            }
            printf("%-44s %9s      %9s        %8.0f MB/s\n", "peer: gzip -dc (decompressed MB)", "", "", mb / best_zcat);
            row("botwatch: bw_intake on .gz (decompressed MB)", gz_count, mb, best_gz);
        }
        unlink(gz);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("split message bytes %llu, errors %llu, peak RSS %ld MB (includes the %.0f MB file held in memory)\n",
           (unsigned long long)split_bytes, (unsigned long long)errors, ru.ru_maxrss / 1024, mb);
    free(file);
    return split_count == intake_count && split_count == floor_count ? 0 : 1;
}
