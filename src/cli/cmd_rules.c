// SPDX-License-Identifier: MIT
// `botwatch rules check|test|list|show`: tools for rule authors. check compiles rule files
// and lists every error as file:line:col; test runs rules (the shipped set or --rules FILE)
// over mail read exactly as ingest reads it (bw_intake -> bw_mime -> bw_mail) and prints
// which rules fired on which facts; list prints the rule table; show prints the shipped
// rule text. Front end only: the language lives in src/rules (docs/rules.md).
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "botwatch/intake.h"
#include "botwatch/mail.h"
#include "botwatch/mime.h"
#include "botwatch/rules.h"
#include "cli_util.h"
#include "commands.h"

static void usage(FILE *out)
{
    fputs("usage: botwatch rules check FILE...\n"
          "       botwatch rules test [--rules FILE] [--json] [--summary] PATH...\n"
          "       botwatch rules list [--rules FILE]\n"
          "       botwatch rules show\n"
          "\n"
          "Attribution rules name the botnet or bulk mailer (\"ratware\") behind a message from\n"
          "its headers, Received chain, anomalies, URLs and text (docs/rules.md).\n"
          "\n"
          "  check    compile rule files; print every error as file:line:col: message, then\n"
          "           the rule and pattern counts. Exit 0 if all compile, 1 otherwise\n"
          "  test     read mail (files, mboxes, Maildirs, archives, '-') and print, per\n"
          "           message, the rules that fired and the facts that made them fire\n"
          "  list     the rules: name, label, family, weight, source\n"
          "  show     print the shipped rule file (rules/botwatch.rules)\n"
          "\n"
          "options:\n"
          "  -r, --rules FILE   rules to use instead of the shipped set\n"
          "  -j, --json         test: one JSON object per message\n"
          "  -s, --summary      test: only the count of messages each rule matched\n"
          "  -h, --help         this help\n"
          "\n"
          "examples:\n"
          "  botwatch rules check my.rules\n"
          "  botwatch rules test --rules my.rules spam.mbox\n"
          "  botwatch rules test --summary ~/traps/2026-*.mbox.gz\n",
          out);
}

// Reads a whole rule file (bounded by the language's file limit).
static char *read_file(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        cli_error("rules", "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = BW_RULES_MAX_FILE_BYTES + 2, n = 0;
    char *buf = malloc(cap);
    if (!buf)
        cli_out_of_memory();
    size_t got;
    while (n < cap && (got = fread(buf + n, 1, cap - n, f)) > 0)
        n += got;
    bool err = ferror(f);
    if (f != stdin)
        fclose(f);
    if (err) {
        cli_error("rules", "%s: read error", path);
        free(buf);
        return NULL;
    }
    *len = n;   // over the limit: the compiler reports it
    return buf;
}

static void print_error(void *ctx, const char *message)
{
    (void)ctx;
    fprintf(stderr, "%s\n", message);
}

static bw_rules *load_rules(const char *path)
{
    char errbuf[BW_ERRBUF_SIZE];
    bw_rules *rules = NULL;
    if (!path) {
        if (bw_rules_builtin(&rules, errbuf) != BW_OK) {
            cli_error("rules", "shipped rules: %s", errbuf);
            return NULL;
        }
        return rules;
    }
    size_t len;
    char *text = read_file(path, &len);
    if (!text)
        return NULL;
    bw_rules_options opts = { BW_RULES_ENGINE_AUTO, print_error, NULL };
    bw_status st = bw_rules_compile_ex(text, len, path, &opts, &rules, errbuf);
    free(text);
    if (st != BW_OK) {
        if (st == BW_ERR_NOMEM)
            cli_out_of_memory();
        return NULL;
    }
    return rules;
}

static int run_check(int argc, char **argv)
{
    if (argc < 1) {
        cli_error("rules", "check: expected at least one FILE");
        return 2;
    }
    int rc = 0;
    for (int i = 0; i < argc; i++) {
        bw_rules *rules = load_rules(argv[i]);
        if (!rules) {
            rc = 1;
            continue;
        }
        printf("%s: ok, %zu rules, %zu patterns (%zu in PCRE2)\n", argv[i], bw_rules_count(rules),
               bw_rules_pattern_count(rules), bw_rules_pcre2_pattern_count(rules));
        bw_rules_free(rules);
    }
    return rc;
}

static void print_safe(bw_slice s, size_t max)
{
    size_t n = s.n < max ? s.n : max;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        putchar(c < 0x20 || c == 0x7f ? '?' : c);
    }
    if (s.n > max)
        fputs("...", stdout);
}

static int run_list(const char *rules_path)
{
    bw_rules *rules = load_rules(rules_path);
    if (!rules)
        return 1;
    printf("%-28s %-24s %-8s %6s  %s\n", "rule", "label", "family", "weight", "source");
    for (size_t i = 0; i < bw_rules_count(rules); i++) {
        bw_rules_info info;
        bw_rules_get_info(rules, i, &info);
        printf("%-28s %-24s %-8s %6d  %s\n", info.name, info.label, info.family, info.weight, info.source);
    }
    bw_rules_free(rules);
    return 0;
}

static int run_test(const char *rules_path, bool json, bool summary, int argc, char **argv)
{
    if (argc < 1) {
        cli_error("rules", "test: expected at least one PATH (or '-')");
        return 2;
    }
    bw_rules *rules = load_rules(rules_path);
    if (!rules)
        return 1;
    char errbuf[BW_ERRBUF_SIZE];
    bw_rules_scratch *scratch = bw_rules_scratch_new(rules);
    bw_intake *in = bw_intake_new(NULL, errbuf);
    bw_mime_parser *parser = bw_mime_parser_new(NULL);
    bw_mail_analyzer *analyzer = bw_mail_analyzer_new(NULL, errbuf);
    if (!scratch || !in || !parser || !analyzer)
        cli_out_of_memory();
    for (int i = 0; i < argc; i++)
        if (bw_intake_add_path(in, argv[i]) != BW_OK)
            cli_out_of_memory();
    size_t nrules = bw_rules_count(rules);
    unsigned long long *per_rule = calloc(nrules ? nrules : 1, sizeof *per_rule);
    if (!per_rule)
        cli_out_of_memory();
    unsigned long long messages = 0, matched = 0, errors = 0;
    bw_buf out = BW_BUF_INIT;
    for (;;) {
        bw_intake_event ev;
        if (bw_intake_next(in, &ev) != BW_OK)
            cli_out_of_memory();
        if (ev.kind == BW_INTAKE_EV_END)
            break;
        if (ev.kind == BW_INTAKE_EV_ERROR) {
            errors++;
            fprintf(stderr, "botwatch rules: %.*s:%llu: %s\n", (int)ev.error.source.n, ev.error.source.p,
                    (unsigned long long)ev.error.offset, ev.error.reason);
            continue;
        }
        if (ev.kind != BW_INTAKE_EV_MESSAGE)
            continue;
        const bw_message *msg;
        bw_mail_record rec;
        if (bw_mime_parse(parser, ev.message.bytes.p, ev.message.bytes.n, &msg) != BW_OK ||
            bw_mail_analyze(analyzer, msg, &rec) != BW_OK)
            cli_out_of_memory();
        const bw_rules_hit *hits;
        size_t nhits;
        if (bw_rules_explain(rules, scratch, &rec, &hits, &nhits) != BW_OK)
            cli_out_of_memory();
        messages++;
        matched += nhits > 0;
        for (size_t h = 0; h < nhits; h++)
            per_rule[hits[h].rule]++;
        if (summary)
            continue;
        if (json) {
            bw_buf_clear(&out);
            int e = bw_buf_append_cstr(&out, "{\"source\":");
            e |= bw_buf_append_json_string(&out, ev.message.source);
            e |= bw_buf_printf(&out, ",\"offset\":%llu,\"sha256\":\"%s\",\"subject\":",
                               (unsigned long long)ev.message.offset, rec.sha256);
            e |= bw_buf_append_json_string(&out, msg->subject);
            e |= bw_buf_append_cstr(&out, ",\"hits\":");
            if (e || bw_rules_hits_to_json(hits, nhits, &out) != BW_OK || bw_buf_append_cstr(&out, "}\n"))
                cli_out_of_memory();
            fwrite(out.p, 1, out.n, stdout);
            continue;
        }
        print_safe(ev.message.source, 200);
        printf(":%llu  ", (unsigned long long)ev.message.offset);
        print_safe(msg->subject, 80);
        putchar('\n');
        if (!nhits)
            puts("  (no rule matched)");
        for (size_t h = 0; h < nhits; h++) {
            printf("  %s [%s, %s, weight %d]\n", hits[h].info.name, hits[h].info.label, hits[h].info.family,
                   hits[h].info.weight);
            for (size_t k = 0; k < hits[h].fact_count; k++) {
                const bw_rules_fact *f = &hits[h].facts[k];
                printf("      %s%s", f->negated ? "false: " : "", f->expr);
                if (f->has_number)
                    printf("  (= %lld)", f->number);
                else if (f->value.n) {
                    fputs("  \"", stdout);
                    print_safe(f->value, 120);
                    putchar('"');
                }
                putchar('\n');
            }
        }
    }
    if (summary || !json) {
        printf("%s%llu messages, %llu matched at least one rule, %llu input errors\n", summary ? "" : "\n", messages,
               matched, errors);
        for (size_t i = 0; i < nrules; i++) {
            bw_rules_info info;
            bw_rules_get_info(rules, i, &info);
            printf("  %8llu  %-28s %-24s %s\n", per_rule[i], info.name, info.label, info.family);
        }
    }
    bw_buf_free(&out);
    free(per_rule);
    bw_mail_analyzer_free(analyzer);
    bw_mime_parser_free(parser);
    bw_intake_free(in);
    bw_rules_scratch_free(scratch);
    bw_rules_free(rules);
    if (fflush(stdout) != 0) {
        cli_error("rules", "writing output: %s", strerror(errno));
        return 1;
    }
    return 0;
}

int cmd_rules(int argc, char **argv)
{
    static const struct option options[] = {
        { "rules", required_argument, NULL, 'r' },
        { "json", no_argument, NULL, 'j' },
        { "summary", no_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *rules_path = NULL;
    bool json = false, summary = false;
    int c;
    while ((c = getopt_long(argc, argv, "r:jsh", options, NULL)) != -1) {
        switch (c) {
        case 'r':
            rules_path = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 's':
            summary = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    const char *sub = argv[optind++];
    if (!strcmp(sub, "check"))
        return run_check(argc - optind, argv + optind);
    if (!strcmp(sub, "test"))
        return run_test(rules_path, json, summary, argc - optind, argv + optind);
    if (!strcmp(sub, "list"))
        return run_list(rules_path);
    if (!strcmp(sub, "show")) {
        size_t len;
        const char *text = bw_rules_builtin_text(&len);
        fwrite(text, 1, len, stdout);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    cli_error("rules", "unknown subcommand '%s' (check, test, list, show)", sub);
    usage(stderr);
    return 2;
}
