// SPDX-License-Identifier: MIT
// bench/prepare: the per-message cost of campaign preparation (normalisation + MinHash,
// bw_campaign_prepare_cached: what ingest's workers do per message) on the SpamAssassin
// corpus, parsed once up front by the real parser and analyzer (not timed). Prints CPU
// nanoseconds per message over --rounds passes with one token cache (as a worker has), the
// mean token count, and checksums of the template texts, token counts and flags, and of the
// signatures, so a change that must not alter results can be checked by comparing checksums.
// For a load-independent figure run it under callgrind and count only the prepare calls:
//   valgrind --tool=callgrind --toggle-collect=bw_campaign_prepare_cached
//            build-rel/bench/bench_prepare --rounds 1
// (instructions / messages = instructions per message).
//   bench_prepare [MBOX] [--limit N] [--rounds N] [--max-tokens N] [--agree]
// --agree also clusters the corpus (one index, in order) with the default token cap and with
// --max-tokens, and prints the B-cubed F1 of the one partition against the other.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "botwatch/campaign.h"
#include "botwatch/ingest.h"
#include "botwatch/mail.h"
#include "botwatch/mime.h"
#include "mime_test_util.h"

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

// A message's campaign input, copied out of the parser's memory.
typedef struct prep_input {
    char *subject, *text, *rcpt_addr, *rcpt_name;
    size_t subject_n, text_n, rcpt_addr_n, rcpt_name_n;
} prep_input;

static char *copy(bw_slice s)
{
    char *p = malloc(s.n + 1);
    if (!p) {
        fprintf(stderr, "bench_prepare: out of memory\n");
        exit(1);
    }
    if (s.n)
        memcpy(p, s.p, s.n);
    p[s.n] = '\0';
    return p;
}

static uint64_t fnv64(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

// Campaign ids of the n messages clustered in order by one index with cfg (time = order).
static uint64_t *cluster_all(const bw_campaign_config *cfg, const prep_input *in, size_t n)
{
    uint64_t *ids = calloc(n ? n : 1, sizeof *ids);
    bw_campaign_index *x = bw_campaign_index_new(cfg, NULL);
    if (!ids || !x) {
        fprintf(stderr, "bench_prepare: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        bw_campaign_msg cm = { .id = i + 1, .time = (int64_t)i };
        cm.subject = bw_slice_make(in[i].subject, in[i].subject_n);
        cm.text = bw_slice_make(in[i].text, in[i].text_n);
        cm.rcpt_addr = bw_slice_make(in[i].rcpt_addr, in[i].rcpt_addr_n);
        cm.rcpt_name = bw_slice_make(in[i].rcpt_name, in[i].rcpt_name_n);
        bw_campaign_assignment a;
        if (bw_campaign_index_add(x, &cm, &a) != BW_OK) {
            fprintf(stderr, "bench_prepare: out of memory\n");
            exit(1);
        }
        ids[i] = a.campaign_id;
    }
    bw_campaign_index_free(x);
    return ids;
}

// B-cubed F1 of partition b against partition a (campaign ids, each < n + 2), O(n^2)
// worst case but fine for a corpus of thousands.
static double bcubed_f1(const uint64_t *a, const uint64_t *b, size_t n)
{
    size_t *size_a = calloc(n + 2, sizeof *size_a), *size_b = calloc(n + 2, sizeof *size_b);
    if (!size_a || !size_b)
        exit(1);
    for (size_t i = 0; i < n; i++)
        size_a[a[i]]++, size_b[b[i]]++;
    double prec = 0, rec = 0;
    for (size_t i = 0; i < n; i++) {
        size_t both = 0;
        for (size_t j = 0; j < n; j++)
            both += a[j] == a[i] && b[j] == b[i];
        prec += (double)both / (double)size_b[b[i]];
        rec += (double)both / (double)size_a[a[i]];
    }
    free(size_a), free(size_b);
    prec /= (double)n, rec /= (double)n;
    return prec + rec > 0 ? 2 * prec * rec / (prec + rec) : 0;
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    size_t limit = 0, max_tokens = 0;
    bool agree = false;
    int rounds = 5;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc)
            limit = (size_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (strcmp(argv[i], "--max-tokens") == 0 && i + 1 < argc)
            max_tokens = (size_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--agree") == 0)
            agree = true;
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("usage: %s [MBOX] [--limit N] [--rounds N] [--max-tokens N] [--agree]\n", argv[0]);
            return 0;
        } else
            path = argv[i];
    }
    if (rounds < 1)
        rounds = 1;
    char corpus[4096];
    mt_mbox mbox;
    if (mt_mbox_load_corpus(path, BW_DATA_DEFAULT, "bench_prepare", corpus, sizeof corpus, &mbox) != 0)
        return 1;
    path = corpus;
    size_t count = limit && limit < mbox.count ? limit : mbox.count;
    prep_input *in = calloc(count, sizeof *in);
    bw_mime_parser *parser = bw_mime_parser_new(NULL);
    bw_mail_analyzer *analyzer = bw_mail_analyzer_new(NULL, NULL);
    if (!in || !parser || !analyzer) {
        fprintf(stderr, "bench_prepare: out of memory\n");
        return 1;
    }
    size_t n = 0, text_bytes = 0;
    for (size_t i = 0; i < count; i++) {
        const bw_message *m;
        bw_mail_record rec;
        if (bw_mime_parse(parser, mbox.messages[i], mbox.lengths[i], &m) != BW_OK ||
            bw_mail_analyze(analyzer, m, &rec) != BW_OK)
            continue;
        bw_campaign_msg cm = { 0 };
        bw_campaign_msg_from_mail(&rec, &cm);
        bw_ingest_recipient(rec.message, &cm.rcpt_addr, &cm.rcpt_name);
        prep_input *p = &in[n++];
        p->subject = copy(cm.subject), p->subject_n = cm.subject.n;
        p->text = copy(cm.text), p->text_n = cm.text.n;
        p->rcpt_addr = copy(cm.rcpt_addr), p->rcpt_addr_n = cm.rcpt_addr.n;
        p->rcpt_name = copy(cm.rcpt_name), p->rcpt_name_n = cm.rcpt_name.n;
        text_bytes += cm.subject.n + cm.text.n;
    }
    bw_mail_analyzer_free(analyzer);
    bw_mime_parser_free(parser);

    bw_campaign_config cfg;
    bw_campaign_config_default(&cfg);
    cfg.key.k0 = 0x0123456789abcdefULL;
    cfg.key.k1 = 0xfedcba9876543210ULL;
    if (max_tokens)
        cfg.norm.max_tokens = max_tokens;   // what a lower token cap would save
    bw_campaign_token_cache *cache = bw_campaign_token_cache_new();
    bw_campaign_prepared prep = BW_CAMPAIGN_PREPARED_INIT;
    double best = 0;
    uint64_t check = 0xcbf29ce484222325ULL, text_check = check;
    size_t tokens = 0;
    for (int r = 0; r < rounds; r++) {
        double t0 = cpu_seconds();
        for (size_t i = 0; i < n; i++) {
            bw_campaign_msg cm = { 0 };
            cm.subject = bw_slice_make(in[i].subject, in[i].subject_n);
            cm.text = bw_slice_make(in[i].text, in[i].text_n);
            cm.rcpt_addr = bw_slice_make(in[i].rcpt_addr, in[i].rcpt_addr_n);
            cm.rcpt_name = bw_slice_make(in[i].rcpt_name, in[i].rcpt_name_n);
            if (bw_campaign_prepare_cached(&cfg, &cm, cache, &prep) != BW_OK) {
                fprintf(stderr, "bench_prepare: out of memory\n");
                return 1;
            }
            if (r == 0) {
                check = fnv64(check, prep.sig, sizeof prep.sig);
                text_check = fnv64(text_check, prep.text.p, prep.text.n);
                uint64_t meta[2] = { prep.tokens, prep.norm_flags };
                text_check = fnv64(text_check, meta, sizeof meta);
                tokens += prep.tokens;
            }
        }
        double t = cpu_seconds() - t0;
        if (r == 0 || t < best)
            best = t;
    }
    printf("bench_prepare: %zu messages (%zu parsed), %.1f MB subject+text, %.1f tokens/msg, best of %d\n", count,
           n, (double)text_bytes / 1e6, n ? (double)tokens / (double)n : 0.0, rounds);
    printf("prepare: %.2f us/msg CPU (%.3f s per pass)\n", n ? best * 1e6 / (double)n : 0.0, best);
    printf("checksums: text+tokens+flags %016llx  signatures %016llx\n", (unsigned long long)text_check,
           (unsigned long long)check);
    if (agree && n) {
        bw_campaign_config base = cfg;
        bw_campaign_norm_limits_default(&base.norm);
        uint64_t *a = cluster_all(&base, in, n), *b = cluster_all(&cfg, in, n);
        size_t ca = 0, cb = 0;
        for (size_t i = 0; i < n; i++)
            ca = a[i] > ca ? a[i] : ca, cb = b[i] > cb ? b[i] : cb;
        printf("agreement: max_tokens %zu vs %zu: %zu vs %zu campaigns, B-cubed F1 %.4f\n",
               base.norm.max_tokens, cfg.norm.max_tokens, ca, cb, bcubed_f1(a, b, n));
        free(a), free(b);
    }
    bw_campaign_prepared_free(&prep);
    bw_campaign_token_cache_free(cache);
    for (size_t i = 0; i < n; i++) {
        free(in[i].subject);
        free(in[i].text);
        free(in[i].rcpt_addr);
        free(in[i].rcpt_name);
    }
    free(in);
    mt_mbox_free(&mbox);
    return 0;
}
