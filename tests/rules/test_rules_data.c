// SPDX-License-Identifier: MIT
// The false-positive budget of the shipped rules (issue 3): every ham message of the
// SpamAssassin public corpus (easy_ham, easy_ham_2, hard_ham) and of CSDMC2010
// (SPAMTrain.label 1 = ham) goes through the real parser and analyzer (bw_mime + bw_mail)
// and the shipped rules; at most 0.1% may match any rule of family botnet. Prints the
// figure, the ham matched per rule, and how many spam messages each family and rule
// matches. Skips, saying why, when the data is absent.
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "botwatch/mail.h"
#include "botwatch/mime.h"
#include "botwatch/rules.h"

#define MAX_RULES 512

typedef struct tally {
    const char *name;
    unsigned long messages, botnet, ratware, generic;
    unsigned long per_rule[MAX_RULES];
} tally;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct ctx {
    double parse_seconds, match_seconds;    // bw_mime + bw_mail; bw_rules_match_labels
    unsigned long timed;
    bw_buf labels, labels_pcre2;
    bw_rules *rules_pcre2;              // the same rules, every pattern in PCRE2
    bw_rules_scratch *scratch_pcre2;
    unsigned long engine_mismatches;
    bw_rules *rules;
    bw_rules_scratch *scratch;
    bw_mime_parser *parser;
    bw_mail_analyzer *analyzer;
    char *buf;
    size_t cap;
} ctx;

static bool run_file(ctx *c, const char *path, tally *t)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    size_t n = fread(c->buf, 1, c->cap, f);
    fclose(f);
    const char *p = c->buf;
    // The SpamAssassin files start with an mbox "From " line; the parser sees the message.
    if (n >= 5 && memcmp(p, "From ", 5) == 0) {
        const char *nl = memchr(p, '\n', n);
        if (nl) {
            n -= (size_t)(nl + 1 - p);
            p = nl + 1;
        }
    }
    const bw_message *msg;
    bw_mail_record rec;
    double t0 = now();
    assert_int_equal(bw_mime_parse(c->parser, p, n, &msg), BW_OK);
    assert_int_equal(bw_mail_analyze(c->analyzer, msg, &rec), BW_OK);
    double t1 = now();
    bw_buf_clear(&c->labels);
    assert_int_equal(bw_rules_match_labels(c->rules, c->scratch, &rec, &c->labels), BW_OK);
    c->parse_seconds += t1 - t0;
    c->match_seconds += now() - t1;
    c->timed++;
    // Both engines must label every real message the same way.
    bw_buf_clear(&c->labels_pcre2);
    assert_int_equal(bw_rules_match_labels(c->rules_pcre2, c->scratch_pcre2, &rec, &c->labels_pcre2), BW_OK);
    if (c->labels.n != c->labels_pcre2.n || (c->labels.n && memcmp(c->labels.p, c->labels_pcre2.p, c->labels.n))) {
        c->engine_mismatches++;
        print_message("engines disagree on %s: \"%s\" vs \"%s\"\n", path, c->labels.n ? c->labels.p : "",
                      c->labels_pcre2.n ? c->labels_pcre2.p : "");
    }
    const bw_rules_hit *hits;
    size_t nhits;
    assert_int_equal(bw_rules_explain(c->rules, c->scratch, &rec, &hits, &nhits), BW_OK);
    bool fam[3] = { false, false, false };
    for (size_t i = 0; i < nhits; i++) {
        if (hits[i].rule < MAX_RULES)
            t->per_rule[hits[i].rule]++;
        fam[0] |= strcmp(hits[i].info.family, "botnet") == 0;
        fam[1] |= strcmp(hits[i].info.family, "ratware") == 0;
        fam[2] |= strcmp(hits[i].info.family, "generic") == 0;
        if (getenv("BW_RULES_VERBOSE") && !strcmp(hits[i].info.family, "botnet"))
            print_message("%s: %s %s\n", t->name, hits[i].info.name, path);
    }
    t->messages++;
    t->botnet += fam[0];
    t->ratware += fam[1];
    t->generic += fam[2];
    return true;
}

static void run_dir(ctx *c, const char *dir, tally *t)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[8192];
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".txt"))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        run_file(c, path, t);
    }
    closedir(d);
}

// CSDMC2010: SPAMTrain.label lines "L TRAIN_NNNNN.eml", 1 = ham, 0 = spam.
static bool run_csdmc(ctx *c, const char *base, tally *ham, tally *spam)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/SPAMTrain.label", base);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        int label;
        char name[128];
        if (sscanf(line, "%d %127s", &label, name) != 2)
            continue;
        snprintf(path, sizeof path, "%s/TRAINING/%s", base, name);
        run_file(c, path, label == 1 ? ham : spam);
    }
    fclose(f);
    return true;
}

static void print_tally(const ctx *c, const tally *t)
{
    print_message("%-16s %6lu messages: botnet %lu (%.3f%%), ratware %lu, generic %lu\n", t->name, t->messages,
                  t->botnet, t->messages ? 100.0 * (double)t->botnet / (double)t->messages : 0.0, t->ratware,
                  t->generic);
    for (size_t i = 0; i < bw_rules_count(c->rules) && i < MAX_RULES; i++) {
        if (!t->per_rule[i])
            continue;
        bw_rules_info info;
        bw_rules_get_info(c->rules, i, &info);
        print_message("    %6lu  %-30s %s\n", t->per_rule[i], info.name, info.family);
    }
}

static void test_ham_false_positives(void **state)
{
    (void)state;
    const char *data = getenv("BW_DATA"), *shared = getenv("BW_SHARED_DATA");
    char sa[4096] = "", cs[4096] = "";
    if (data && *data)
        snprintf(sa, sizeof sa, "%s/npm-spam-assassin/package/data", data);
    if (shared && *shared)
        snprintf(cs, sizeof cs, "%s/mail/csdmc2010", shared);
    ctx c;
    memset(&c, 0, sizeof c);
    char errbuf[BW_ERRBUF_SIZE];
    // BW_RULES_PCRE2=1 runs every pattern in PCRE2, to compare the engines' cost.
    size_t builtin_len;
    const char *builtin = bw_rules_builtin_text(&builtin_len);
    bw_rules_options opts = { getenv("BW_RULES_PCRE2") ? BW_RULES_ENGINE_PCRE2 : BW_RULES_ENGINE_AUTO, NULL, NULL };
    assert_int_equal(bw_rules_compile_ex(builtin, builtin_len, "rules/botwatch.rules", &opts, &c.rules, errbuf), BW_OK);
    assert_true(bw_rules_count(c.rules) <= MAX_RULES);
    c.scratch = bw_rules_scratch_new(c.rules);
    bw_rules_options pcre2_only = { BW_RULES_ENGINE_PCRE2, NULL, NULL };
    assert_int_equal(bw_rules_compile_ex(builtin, builtin_len, "rules/botwatch.rules", &pcre2_only, &c.rules_pcre2, errbuf),
                     BW_OK);
    c.scratch_pcre2 = bw_rules_scratch_new(c.rules_pcre2);
    assert_non_null(c.scratch_pcre2);
    c.parser = bw_mime_parser_new(NULL);
    c.analyzer = bw_mail_analyzer_new(NULL, errbuf);
    c.cap = 4 << 20;
    c.buf = malloc(c.cap);
    assert_non_null(c.scratch);
    assert_non_null(c.buf);
    static tally ham_sa = { .name = "sa ham" }, spam_sa = { .name = "sa spam" }, ham_cs = { .name = "csdmc ham" },
                 spam_cs = { .name = "csdmc spam" };
    static const char *const ham_groups[] = { "easy-ham-1", "easy-ham-2", "hard-ham-1" };
    static const char *const spam_groups[] = { "spam-1", "spam-2" };
    char dir[8192];
    if (sa[0]) {
        for (size_t i = 0; i < 3; i++) {
            snprintf(dir, sizeof dir, "%s/%s", sa, ham_groups[i]);
            run_dir(&c, dir, &ham_sa);
        }
        for (size_t i = 0; i < 2; i++) {
            snprintf(dir, sizeof dir, "%s/%s", sa, spam_groups[i]);
            run_dir(&c, dir, &spam_sa);
        }
    }
    if (cs[0])
        run_csdmc(&c, cs, &ham_cs, &spam_cs);
    unsigned long ham = ham_sa.messages + ham_cs.messages, fp = ham_sa.botnet + ham_cs.botnet;
    if (ham == 0) {
        print_message("skipping: no ham found (BW_DATA=%s: run scripts/fetch-data.sh; BW_SHARED_DATA=%s)\n",
                      data ? data : "unset", shared ? shared : "unset");
        bw_rules_scratch_free(c.scratch);
        bw_rules_free(c.rules);
        bw_rules_scratch_free(c.scratch_pcre2);
        bw_rules_free(c.rules_pcre2);
        bw_mime_parser_free(c.parser);
        bw_mail_analyzer_free(c.analyzer);
        free(c.buf);
        skip();
    }
    if (!ham_sa.messages)
        print_message("note: SpamAssassin corpus absent (run scripts/fetch-data.sh)\n");
    if (!ham_cs.messages)
        print_message("note: CSDMC2010 absent (../shared/data/mail/csdmc2010)\n");
    print_tally(&c, &ham_sa);
    print_tally(&c, &ham_cs);
    print_tally(&c, &spam_sa);
    print_tally(&c, &spam_cs);
    double rate = 100.0 * (double)fp / (double)ham;
    print_message("time per message: parse+analyze %.1f us, bw_rules_match_labels %.1f us (%lu messages; "
                  "meaningful in a build without sanitizers)\n",
                  1e6 * c.parse_seconds / (double)c.timed, 1e6 * c.match_seconds / (double)c.timed, c.timed);
    print_message("HAM FALSE POSITIVES (family botnet): %lu of %lu ham messages = %.3f%% (budget 0.1%%)\n", fp, ham,
                  rate);
    bw_rules_scratch_free(c.scratch);
    bw_rules_free(c.rules);
    bw_rules_scratch_free(c.scratch_pcre2);
    bw_rules_free(c.rules_pcre2);
    bw_mime_parser_free(c.parser);
    bw_mail_analyzer_free(c.analyzer);
    free(c.buf);
    bw_buf_free(&c.labels);
    bw_buf_free(&c.labels_pcre2);
    print_message("engines (Hyperscan+PCRE2 vs PCRE2 only) disagree on %lu of %lu messages\n", c.engine_mismatches,
                  c.timed);
    assert_int_equal(c.engine_mismatches, 0);
    assert_true(fp * 1000 <= ham);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ham_false_positives),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
