// SPDX-License-Identifier: MIT
// `botwatch ingest`: spam-trap inputs into the store. Front end only: options, the optional
// ASN database, a progress line on a terminal, a summary; the work is bw_ingest_paths().
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "botwatch/campaign.h"
#include "botwatch/ingest.h"
#include "botwatch/log.h"
#include "botwatch/mail.h"
#include "botwatch/networks.h"
#include "botwatch/rules.h"
#include "botwatch/store.h"
#include "cli_util.h"
#include "commands.h"

static void usage(FILE *out)
{
    fputs("usage: botwatch ingest [--db FILE] [--threads N] [--asn PATH | --no-asn]\n"
          "                       [--rules FILE]... [--no-rules] [--no-campaigns | --reset-campaigns]\n"
          "                       [--max-campaigns N]\n"
          "                       [--quiet | --verbose] PATH...\n\n"
          "Reads spam-trap mail into the database: mbox files (mboxo/mboxrd), Maildirs, single\n"
          "message files, directories (walked recursively) and compressed files or archives\n"
          "(gzip, bzip2, xz, zstd, tar, zip, 7z), all detected by content. `-` reads an mbox\n"
          "from standard input. Each message is parsed and analyzed (Received chain and sender\n"
          "IP, URLs, anomalies) and stored once: a message already in the database (same bytes,\n"
          "by SHA-256) is counted as a duplicate, so re-running on the same files is safe.\n"
          "Bad inputs are counted and listed by `botwatch report`; they never stop the run.\n"
          "The attribution rules (docs/rules.md) label each message with the botnet or ratware\n"
          "family whose signature it matches. Each new message joins a campaign (spam from one\n"
          "template, docs/campaigns.md); campaigns continue from run to run (the index is saved\n"
          "in the database), and the botnets behind them are inferred again over the whole\n"
          "database at the end (a run that stores no new message keeps them as they are).\n\n"
          "options:\n"
          "  --db FILE       database to create or extend (default " BW_DEFAULT_DB ")\n"
          "  --threads N     parser threads (default: one per CPU core); results are\n"
          "                  identical for any N\n"
          "  --asn PATH      IP->ASN data: an ip-location-db ASN CSV, a directory holding\n"
          "                  asn-ipv4.csv/asn-ipv6.csv, or a MaxMind ASN .mmdb. Default:\n"
          "                  $BW_DATA/npm-asn/package if present (BW_DATA defaults to\n"
          "                  ~/.cache/botwatch, filled by scripts/fetch-data.sh)\n"
          "  --no-asn        do not look up sender networks\n"
          "  --rules FILE    attribution rules to run instead of the shipped set; repeat for\n"
          "                  several files (labels of all of them are stored)\n"
          "  --no-rules      run no attribution rules\n"
          "  --trusted ENTRY a relay of yours (repeatable): CIDR (192.0.2.0/24), host name or\n"
          "                  domain (.example.net). The sender is the first hop outside them;\n"
          "                  without any, the boundary is inferred (private addresses and\n"
          "                  hops inside the receiving domain are trusted)\n"
          "  --no-campaigns  do not cluster messages into campaigns (nor infer botnets);\n"
          "                  the saved campaign state is left as it was\n"
          "  --reset-campaigns  if the saved campaign state cannot be loaded (damaged, or\n"
          "                  the database key changed), discard it and start new campaigns\n"
          "                  (earlier campaign rows are kept). Without it such a run stops\n"
          "                  before reading anything\n"
          "  --max-campaigns N  campaigns kept in memory between messages (default 100000);\n"
          "                  past it the idlest leave (their rows are final). Each takes\n"
          "                  about 7 KB, so the default can need 0.7 GB: lower it on a\n"
          "                  small machine. Clustering is the same while it is not reached\n"
          "  -q, --quiet     print nothing but errors\n"
          "  -v, --verbose   say what is used and log each bad input\n"
          "  -h, --help      this help\n\n"
          "On a terminal a progress line shows messages, MB/s, errors, duplicates and the time\n"
          "left; when output is piped it stays silent. Exit status: 0 when the run completed\n"
          "(even if some inputs were bad), 1 if nothing could be read or the database failed,\n"
          "2 on a usage error.\n\n"
          "examples:\n"
          "  botwatch ingest --db trap.db ~/spam/2024-*.mbox.gz\n"
          "  zcat old.mbox.gz | botwatch ingest --db trap.db -\n", out);
}

typedef struct progress_state {
    bool tty;
    bool shown;     // a progress line is on screen and must be cleared
} progress_state;

static void on_progress(void *ctx, const bw_ingest_stats *s, bool final)
{
    progress_state *ps = ctx;
    if (!ps->tty)
        return;
    if (final) {
        if (ps->shown)
            fputs("\r\033[K", stderr);
        ps->shown = false;
        return;
    }
    double mb = (double)s->bytes / 1e6;
    double rate = s->elapsed > 0 ? mb / s->elapsed : 0;
    char eta[32] = "";
    // Input bytes on disk against their known total: compressed inputs progress correctly.
    if (s->total_bytes && s->input_bytes && s->input_bytes <= s->total_bytes && s->elapsed > 0.5) {
        double left = s->elapsed * (double)(s->total_bytes - s->input_bytes) / (double)s->input_bytes;
        snprintf(eta, sizeof eta, "  ETA %d:%02d", (int)left / 60, (int)left % 60);
    }
    fprintf(stderr, "\r\033[K%llu messages  %.1f MB/s  %llu errors  %llu duplicates%s",
            (unsigned long long)s->messages, rate, (unsigned long long)s->errors,
            (unsigned long long)s->duplicates, eta);
    fflush(stderr);
    ps->shown = true;
}

// At most this many --rules files: each is compiled and scanned per message.
#define MAX_RULE_FILES 16
// Trusted relays given with --trusted (an operator's relays are a handful of networks).
#define MAX_TRUSTED 64

static void print_rule_error(void *ctx, const char *message)
{
    (void)ctx;
    fprintf(stderr, "botwatch: ingest: %s\n", message);
}

// Compiles one --rules file (bounded by the rule language's file limit); NULL after
// printing why.
static bw_rules *load_rule_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_error("ingest", "rules %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = BW_RULES_MAX_FILE_BYTES + 1, n = 0, got;
    char *text = malloc(cap);
    if (!text)
        cli_out_of_memory();
    while (n < cap && (got = fread(text + n, 1, cap - n, f)) > 0)
        n += got;
    bool failed = ferror(f);
    fclose(f);
    if (failed) {
        cli_error("ingest", "rules %s: read error", path);
        free(text);
        return NULL;
    }
    char err[BW_ERRBUF_SIZE];
    bw_rules *rules = NULL;
    bw_rules_options opts = { BW_RULES_ENGINE_AUTO, print_rule_error, NULL };
    bw_status st = bw_rules_compile_ex(text, n, path, &opts, &rules, err);   // over the limit: it says so
    free(text);
    if (st == BW_ERR_NOMEM)
        cli_out_of_memory();
    return st == BW_OK ? rules : NULL;
}

// The ASN data to use: --asn, else the fetched default if it exists, else none.
static const char *default_asn_path(char *buf, size_t n)
{
    const char *data = getenv("BW_DATA");
    const char *home = getenv("HOME");
    if (data && *data)
        snprintf(buf, n, "%s/npm-asn/package", data);
    else if (home && *home)
        snprintf(buf, n, "%s/.cache/botwatch/npm-asn/package", home);
    else
        return NULL;
    struct stat st;
    return stat(buf, &st) == 0 ? buf : NULL;
}

int cmd_ingest(int argc, char **argv)
{
    static const struct option options[] = {
        { "db", required_argument, NULL, 'd' },
        { "threads", required_argument, NULL, 't' },
        { "asn", required_argument, NULL, 'a' },
        { "no-asn", no_argument, NULL, 'n' },
        { "no-campaigns", no_argument, NULL, 'C' },
        { "rules", required_argument, NULL, 'r' },
        { "no-rules", no_argument, NULL, 'N' },
        { "reset-campaigns", no_argument, NULL, 'R' },
        { "max-campaigns", required_argument, NULL, 'M' },
        { "trusted", required_argument, NULL, 'T' },
        { "quiet", no_argument, NULL, 'q' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *db_path = BW_DEFAULT_DB;
    const char *asn_path = NULL;
    bool no_asn = false, quiet = false, verbose = false, no_campaigns = false, reset_campaigns = false;
    long threads = 0;
    long max_campaigns = 0;
    const char *rule_files[MAX_RULE_FILES];
    size_t rule_file_count = 0;
    bool no_rules = false;
    const char *trusted[MAX_TRUSTED];
    size_t trusted_count = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:t:a:nqvh", options, NULL)) != -1) {
        switch (c) {
        case 'd': db_path = optarg; break;
        case 't': {
            char *end;
            threads = strtol(optarg, &end, 10);
            if (*end || threads < 1 || threads > 64) {
                cli_error("ingest", "--threads wants a number from 1 to 64, not '%s'", optarg);
                return 2;
            }
            break;
        }
        case 'a': asn_path = optarg; break;
        case 'n': no_asn = true; break;
        case 'C': no_campaigns = true; break;
        case 'R': reset_campaigns = true; break;
        case 'M': {
            char *end;
            max_campaigns = strtol(optarg, &end, 10);
            if (*end || end == optarg || max_campaigns < 1 || max_campaigns > 10000000) {
                cli_error("ingest", "--max-campaigns wants a number from 1 to 10000000, not '%s'", optarg);
                return 2;
            }
            break;
        }
        case 'r':
            if (rule_file_count == MAX_RULE_FILES) {
                cli_error("ingest", "at most %d --rules files", MAX_RULE_FILES);
                return 2;
            }
            rule_files[rule_file_count++] = optarg;
            break;
        case 'N': no_rules = true; break;
        case 'T':
            if (trusted_count == MAX_TRUSTED) {
                cli_error("ingest", "at most %d --trusted entries", MAX_TRUSTED);
                return 2;
            }
            trusted[trusted_count++] = optarg;
            break;
        case 'q': quiet = true; break;
        case 'v': verbose = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind >= argc) {
        cli_error("ingest", "no input: give one or more files, directories or - (stdin)");
        usage(stderr);
        return 2;
    }
    if (quiet && verbose) {
        cli_error("ingest", "--quiet and --verbose contradict each other");
        return 2;
    }
    if (no_rules && rule_file_count) {
        cli_error("ingest", "--rules and --no-rules contradict each other");
        return 2;
    }
    if (no_campaigns && reset_campaigns) {
        cli_error("ingest", "--no-campaigns and --reset-campaigns contradict each other");
        return 2;
    }
    if (no_asn && asn_path) {
        cli_error("ingest", "--asn and --no-asn contradict each other");
        return 2;
    }
    if (verbose)
        bw_log_set_level(BW_LOG_INFO);
    else if (quiet)
        bw_log_set_level(BW_LOG_ERROR);

    char err[BW_ERRBUF_SIZE];
    // A bad --trusted entry is a usage error, found before any work.
    bw_mail_config mail_config;
    bw_mail_config_default(&mail_config);
    mail_config.trusted = trusted;
    mail_config.trusted_count = trusted_count;
    {
        bw_mail_analyzer *probe = bw_mail_analyzer_new(&mail_config, err);
        if (!probe) {
            cli_error("ingest", "--trusted: %s", err);
            return 2;
        }
        bw_mail_analyzer_free(probe);
    }
    bw_asn_db *asn = NULL;
    char default_buf[1024];
    bool explicit_asn = asn_path != NULL;
    if (!no_asn && !asn_path)
        asn_path = default_asn_path(default_buf, sizeof default_buf);
    if (asn_path) {
        asn = bw_asn_db_new();
        if (!asn)
            cli_out_of_memory();
        if (bw_asn_db_load(asn, asn_path, err) != BW_OK) {
            cli_error("ingest", "ASN data %s: %s", asn_path, err);
            bw_asn_db_free(asn);
            if (explicit_asn)
                return 1;
            asn = NULL;   // the default is a convenience: go on without it
        } else if (verbose) {
            fprintf(stderr, "ingest: ASN data %s (%s, %zu ranges)\n", asn_path,
                    explicit_asn ? "--asn" : "default", bw_asn_db_range_count(asn));
        }
    } else if (verbose) {
        fprintf(stderr, "ingest: no ASN data (%s); sender networks will be unknown\n",
                no_asn ? "--no-asn" : "none at $BW_DATA/npm-asn/package; see scripts/fetch-data.sh");
    }

    // Rules before the database: a bad rule file is a usage problem, found before any work.
    bw_rules *rules[MAX_RULE_FILES];
    size_t rules_count = 0;
    if (!no_rules && rule_file_count == 0) {
        if (bw_rules_builtin(&rules[0], err) != BW_OK) {
            cli_error("ingest", "shipped rules: %s", err);
            bw_asn_db_free(asn);
            return 1;
        }
        rules_count = 1;
    }
    for (size_t i = 0; i < rule_file_count; i++) {
        if (!(rules[rules_count] = load_rule_file(rule_files[i]))) {
            for (size_t j = 0; j < rules_count; j++)
                bw_rules_free(rules[j]);
            bw_asn_db_free(asn);
            return 2;
        }
        rules_count++;
    }
    if (verbose)
        fprintf(stderr, "ingest: %s\n", no_rules ? "no attribution rules (--no-rules)"
                                     : rule_file_count ? "attribution rules from --rules" : "shipped attribution rules");

    bw_store *store = NULL;
    if (bw_store_open(db_path, NULL, &store, err) != BW_OK) {
        cli_error("ingest", "%s", err);
        for (size_t j = 0; j < rules_count; j++)
            bw_rules_free(rules[j]);
        bw_asn_db_free(asn);
        return 1;
    }
    if (verbose)
        fprintf(stderr, "ingest: database %s (schema version %d%s)\n", db_path, BW_STORE_SCHEMA_VERSION,
                bw_store_opened_version(store) == 0 ? ", new" : "");

    progress_state ps = { .tty = !quiet && cli_is_tty(stderr) };
    bw_ingest_config cfg;
    bw_ingest_config_default(&cfg);
    cfg.threads = (size_t)threads;
    cfg.asn = asn;
    cfg.mail_config = &mail_config;
    cfg.progress = on_progress;
    cfg.progress_ctx = &ps;
    cfg.progress_interval = 0.25;   // at most 4 refreshes a second
    cfg.campaigns = !no_campaigns;
    cfg.reset_campaigns = reset_campaigns;
    bw_campaign_config campaign_cfg;
    if (max_campaigns) {
        bw_campaign_config_default(&campaign_cfg);   // the store's key replaces the default one
        campaign_cfg.max_active = (size_t)max_campaigns;
        cfg.campaign_config = &campaign_cfg;
    }
    cfg.rules = (const bw_rules *const *)rules;
    cfg.rules_count = rules_count;
    bw_ingest_stats stats;
    bw_status st = bw_ingest_paths(store, (const char *const *)argv + optind, (size_t)(argc - optind),
                                   &cfg, &stats, err);
    if (st != BW_OK)
        cli_error("ingest", "%s", err);
    char close_err[BW_ERRBUF_SIZE];
    if (bw_store_close(store, close_err) != BW_OK) {
        cli_error("ingest", "%s", close_err);
        st = BW_ERR_DB;
    }
    bw_asn_db_free(asn);
    for (size_t j = 0; j < rules_count; j++)
        bw_rules_free(rules[j]);
    if (!quiet) {
        double mb = (double)stats.bytes / 1e6;
        double secs = stats.elapsed > 0 ? stats.elapsed : 1e-9;
        printf("ingested %llu messages (%llu new, %llu duplicate, %llu errors), %.1f MB in %.2f s, %.0f msgs/s\n",
               (unsigned long long)stats.messages, (unsigned long long)stats.new_messages,
               (unsigned long long)stats.duplicates, (unsigned long long)stats.errors, mb, stats.elapsed,
               (double)stats.messages / secs);
        if (rules_count)
            printf("rules: %llu new messages labelled\n", (unsigned long long)stats.labelled);
        if (!no_campaigns)
            printf("campaigns: %llu messages clustered, %llu new campaigns, %llu active (kept for the next run), "
                   "%llu botnets%s%s\n",
                   (unsigned long long)stats.campaign_messages, (unsigned long long)stats.campaigns_created,
                   (unsigned long long)stats.campaigns_active, (unsigned long long)stats.botnets,
                   stats.botnets_kept ? " (unchanged: no new message)" : "",
                   stats.campaign_state_reset ? "; the unreadable saved state was discarded" : "");
        if (stats.errors)
            printf("%llu input problems recorded: see `botwatch report --db %s`\n",
                   (unsigned long long)stats.errors, db_path);
    }
    if (st != BW_OK)
        return 1;
    if (stats.messages == 0 && stats.errors > 0) {
        cli_error("ingest", "nothing could be read");
        return 1;
    }
    return 0;
}
