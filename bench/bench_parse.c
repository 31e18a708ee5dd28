// SPDX-License-Identifier: MIT
// bench/parse (issue 2, acceptance 5): single-threaded parse throughput on the same
// messages, in one run, best of 3:
//   gmime  GMime 3: parse from memory, walk every part, decode every leaf to a null stream
//   bw     botwatch: parse, walk the tree, read every decoded leaf byte (and its text)
//   full   botwatch parse + bw_mail_analyze (visible text, URLs, Received chain, sender
//          hop, header fingerprint and the SHA-256 of the message), when the mail module
//          is built (BW_BENCH_MAIL)
//   sha    the SHA-256 alone (bw_sha256 of every message), for reading the full figure:
//          GMime's side hashes nothing, and the hash is a fixed part of full's time
// Prints msgs/s, MB/s and the ratio to GMime. Targets: bw >= 5x, full >= 3x GMime.
// Usage: bench_parse [MBOX] [--limit N] [--only gmime|bw|full|sha|none] [--rounds N]
// (--limit and --only are for profiling: valgrind --tool=callgrind bench_parse --limit 500 --only bw)
#include <gmime/gmime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "botwatch/hash.h"
#include "botwatch/mime.h"
#include "mime_test_util.h"
#ifdef BW_BENCH_MAIL
#include "botwatch/mail.h"
#endif

#ifndef BW_DATA_DEFAULT
#define BW_DATA_DEFAULT ""
#endif

static volatile unsigned long sink;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

// ---- GMime ---------------------------------------------------------------------------------

static void gmime_leaf(GMimeObject *parent, GMimeObject *part, gpointer data)
{
    (void)parent;
    GMimeStream *null_stream = data;
    if (!GMIME_IS_PART(part))
        return;
    GMimeDataWrapper *content = g_mime_part_get_content(GMIME_PART(part));
    if (content)
        sink += (unsigned long)g_mime_data_wrapper_write_to_stream(content, null_stream);
}

static void run_gmime(const mt_mbox *mbox, size_t count)
{
    GMimeStream *null_stream = g_mime_stream_null_new();
    for (size_t i = 0; i < count; i++) {
        GMimeStream *stream = g_mime_stream_mem_new_with_buffer(mbox->messages[i], mbox->lengths[i]);
        GMimeParser *parser = g_mime_parser_new_with_stream(stream);
        GMimeMessage *message = g_mime_parser_construct_message(parser, NULL);
        if (message) {
            g_mime_message_foreach(message, gmime_leaf, null_stream);
            g_object_unref(message);
        }
        g_object_unref(parser);
        g_object_unref(stream);
    }
    g_object_unref(null_stream);
}

// ---- botwatch ------------------------------------------------------------------------------

static unsigned long touch(bw_slice s)
{
    unsigned long sum = 0;
    for (size_t i = 0; i < s.n; i++)
        sum += (unsigned char)s.p[i];
    return sum;
}

static void run_botwatch(bw_mime_parser *parser, const mt_mbox *mbox, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const bw_message *m;
        if (bw_mime_parse(parser, mbox->messages[i], mbox->lengths[i], &m) != BW_OK)
            continue;
        for (size_t k = 0; k < m->part_count; k++) {
            const bw_part *p = &m->parts[k];
            if (!p->is_multipart && !p->is_message)
                sink += touch(p->decoded) + touch(p->text);
        }
    }
}

#ifdef BW_BENCH_MAIL
static void run_full(bw_mime_parser *parser, bw_mail_analyzer *analyzer, const mt_mbox *mbox, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const bw_message *m;
        bw_mail_record record;
        if (bw_mime_parse(parser, mbox->messages[i], mbox->lengths[i], &m) != BW_OK)
            continue;
        if (bw_mail_analyze(analyzer, m, &record) == BW_OK)
            sink += record.url_count + record.text.n + record.received_count;
    }
}
#endif

static void run_sha(const mt_mbox *mbox, size_t count)
{
    uint8_t digest[BW_SHA256_LEN];
    for (size_t i = 0; i < count; i++) {
        bw_sha256(mbox->messages[i], mbox->lengths[i], digest);
        sink += digest[0];
    }
}

typedef struct result {
    const char *name;
    double seconds;
} result;

int main(int argc, char **argv)
{
    const char *path = NULL, *only = NULL;
    size_t limit = 0;
    int rounds = 3;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc)
            limit = (size_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("usage: %s [MBOX] [--limit N] [--only gmime|bw|full|sha|none] [--rounds N]\n", argv[0]);
            return 0;
        } else
            path = argv[i];
    }
    char corpus[4096];
    mt_mbox mbox;
    if (mt_mbox_load_corpus(path, BW_DATA_DEFAULT, "bench_parse", corpus, sizeof corpus, &mbox) != 0)
        return 1;
    path = corpus;
    size_t count = limit && limit < mbox.count ? limit : mbox.count;
    size_t bytes = 0;
    for (size_t i = 0; i < count; i++)
        bytes += mbox.lengths[i];
    printf("bench_parse: %zu messages, %.1f MB from %s, single thread, best of %d\n", count, (double)bytes / 1e6,
           path, rounds);

    g_mime_init();
    bw_mime_parser *parser = bw_mime_parser_new(NULL);
#ifdef BW_BENCH_MAIL
    bw_mail_analyzer *analyzer = bw_mail_analyzer_new(NULL, NULL);
#endif
    result results[4] = { { "gmime (parse+walk+decode)", 0 }, { "botwatch (same work)", 0 },
                          { "botwatch full extraction", 0 }, { "  of which SHA-256 alone", 0 } };
    for (int r = 0; r < rounds; r++) {
        for (int engine = 0; engine < 4; engine++) {
            static const char *const keys[] = { "gmime", "bw", "full", "sha" };
            if (only && strcmp(only, keys[engine]) != 0)
                continue;
            double t0 = now(), t;
            if (engine == 0)
                run_gmime(&mbox, count);
            else if (engine == 1)
                run_botwatch(parser, &mbox, count);
            else if (engine == 3)
                run_sha(&mbox, count);
            else {
#ifdef BW_BENCH_MAIL
                // A fresh analyzer each round (made before the clock starts): its caches
                // that outlive a message (the URL module's host -> domain cache) then help
                // only within the round, as on a stream that does not repeat itself.
                t = now();
                bw_mail_analyzer_free(analyzer);
                analyzer = bw_mail_analyzer_new(NULL, NULL);
                if (!analyzer) {
                    fprintf(stderr, "bench_parse: cannot create the mail analyzer\n");
                    return 1;
                }
                t0 += now() - t;
                run_full(parser, analyzer, &mbox, count);
#else
                continue;
#endif
            }
            t = now() - t0;
            if (results[engine].seconds == 0 || t < results[engine].seconds)
                results[engine].seconds = t;
        }
    }
    double gmime_rate = results[0].seconds > 0 ? (double)count / results[0].seconds : 0;
    for (int engine = 0; engine < 4; engine++) {
        if (results[engine].seconds == 0) {
            if (engine == 2 && !only)
                printf("  %-28s not built (src/mail absent)\n", results[engine].name);
            continue;
        }
        double rate = (double)count / results[engine].seconds;
        printf("  %-28s %10.0f msgs/s %8.1f MB/s", results[engine].name, rate,
               (double)bytes / 1e6 / results[engine].seconds);
        if (engine == 3 && results[2].seconds > 0)
            printf("   %.0f%% of full's time", 100.0 * results[3].seconds / results[2].seconds);
        else if (engine > 0 && gmime_rate > 0)
            printf("   %.2fx GMime", rate / gmime_rate);
        printf("\n");
    }
    bw_mime_parser_free(parser);
#ifdef BW_BENCH_MAIL
    bw_mail_analyzer_free(analyzer);
#endif
    mt_mbox_free(&mbox);
    return sink == 42 ? 1 : 0;   // keeps the work observable
}
