// SPDX-License-Identifier: MIT
// `botwatch campaigns` (campaigns ranked by messages in a time range) and `botwatch
// campaign ID` (one campaign: template, timeline, senders, domains, subjects, links,
// samples), plus the option parsing and store opening that `botnets` and `explain` share
// (campaign_cli.h). Front end only: the data comes from store_campaigns.h and is written
// by report_campaigns.h. Formats: docs/cli.md.
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "botwatch/report_campaigns.h"
#include "botwatch/store_campaigns.h"
#include "campaign_cli.h"
#include "cli_util.h"
#include "commands.h"

// As `botwatch report`: a longer list is a dump (`botwatch export` has every message).
#define MAX_TOP 1000

static bool parse_count(const char *text, size_t max, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text || *end || text[0] == '-' || v == 0 || v > max)
        return false;
    *out = (size_t)v;
    return true;
}

int cli_view_parse(const char *subcommand, int argc, char **argv, bool ranged, bool explain,
                   void (*usage)(FILE *), cli_view_options *o, int *first_arg)
{
    static const struct option longopts[] = {
        { "db", required_argument, NULL, 'd' },
        { "since", required_argument, NULL, 's' },
        { "until", required_argument, NULL, 'u' },
        { "top", required_argument, NULL, 'n' },
        { "format", required_argument, NULL, 'f' },
        { "output", required_argument, NULL, 'o' },
        { "rules", required_argument, NULL, 'r' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    memset(o, 0, sizeof *o);
    o->db_path = BW_DEFAULT_DB;
    o->format = BW_REPORT_TEXT;
    bw_report_options_default(&o->report);
    time_t t;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "n:f:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': o->db_path = optarg; break;
        case 's':
        case 'u':
            if (!ranged) {
                cli_error(subcommand, "--%s: this command takes no time range", c == 's' ? "since" : "until");
                return 2;
            }
            if (!cli_parse_time(optarg, &t)) {
                cli_error(subcommand, "--%s: cannot read time '%s' (use 2002-01-31 or 2002-01-31T08:00Z)",
                          c == 's' ? "since" : "until", optarg);
                return 2;
            }
            if (c == 's') {
                o->report.range.has_since = true;
                o->report.range.since = (int64_t)t;
            } else {
                o->report.range.has_until = true;
                o->report.range.until = (int64_t)t;
            }
            break;
        case 'n':
            if (!parse_count(optarg, MAX_TOP, &o->report.top)) {
                cli_error(subcommand, "--top: expected a number from 1 to %d, not '%s'", MAX_TOP, optarg);
                return 2;
            }
            break;
        case 'f':
            if (!bw_report_format_parse(optarg, &o->format) || o->format == BW_REPORT_HTML) {
                cli_error(subcommand, "--format: expected text, json or csv, not '%s'", optarg);
                return 2;
            }
            break;
        case 'o': o->output = optarg; break;
        case 'r':
            if (!explain) {
                cli_error(subcommand, "--rules: only `botwatch explain` takes a rule file");
                return 2;
            }
            o->rules_path = optarg;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (o->report.range.has_since && o->report.range.has_until && o->report.range.since >= o->report.range.until) {
        cli_error(subcommand, "--since must be before --until");
        return 2;
    }
    *first_arg = optind;
    return -1;
}

bw_store *cli_open_campaign_store(const char *subcommand, const char *db_path)
{
    char errbuf[BW_ERRBUF_SIZE];
    int version = 0;
    if (access(db_path, F_OK) == 0 && bw_store_file_schema_version(db_path, &version, errbuf) == BW_OK && version > 0
        && version < BW_STORE_CAMPAIGN_SCHEMA) {
        cli_error(subcommand,
                  "%s was written by an older botwatch (schema %d), before campaigns existed.\n"
                  "  Open it once read-write to add the campaign tables: botwatch ingest --db %s PATH...\n"
                  "  Mail ingested from then on is grouped into campaigns and botnets; to group the mail\n"
                  "  already stored, ingest its sources again into a new database.",
                  db_path, version, db_path);
        return NULL;
    }
    return cli_open_store_readonly(subcommand, db_path);
}

int cli_run_view(const char *subcommand, const cli_view_options *o, cli_view_fn view, void *ctx)
{
    bw_store *store = cli_open_campaign_store(subcommand, o->db_path);
    if (!store)
        return 1;
    char errbuf[BW_ERRBUF_SIZE];
    int status = 1;
    cli_output out;
    if (cli_output_open(&out, subcommand, o->output)) {
        cli_view_options local = *o;
        local.report.tty = o->format == BW_REPORT_TEXT && !o->output && cli_is_tty(stdout);
        local.report.generated_at = (int64_t)time(NULL);
        bw_status s = view(store, &local, out.fp, ctx, errbuf);
        if (s != BW_OK)
            cli_error(subcommand, "%s", errbuf);
        else if (cli_output_commit(&out, subcommand))
            status = 0;
    }
    cli_output_abort(&out);
    bw_store_close(store, errbuf);
    return status;
}

int cli_run_list_view(const char *subcommand, int argc, char **argv, void (*usage)(FILE *), cli_view_fn view,
                      const char *hint)
{
    cli_view_options o;
    int first;
    int rc = cli_view_parse(subcommand, argc, argv, true, false, usage, &o, &first);
    if (rc >= 0)
        return rc;
    if (first < argc) {
        cli_error(subcommand, "unexpected argument '%s' (%s)", argv[first], hint);
        return 2;
    }
    return cli_run_view(subcommand, &o, view, NULL);
}

static void campaigns_usage(FILE *out)
{
    fputs("usage: botwatch campaigns [--db FILE] [--since TIME] [--until TIME] [--top N]\n"
          "                          [--format text|json|csv] [-o FILE]\n"
          "\n"
          "Lists the campaigns (messages one template produced) ranked by their messages in\n"
          "the range: id, first and last arrival, messages and share, distinct sender IPs,\n"
          "/24s and networks, the botnet it belongs to, its top subject and URL domain and its\n"
          "inferred template (\"<*>\" marks the slots the spammer filled in). Ingest finds\n"
          "campaigns as it stores mail.\n"
          "\n"
          "options:\n"
          "      --db FILE        the store (default " BW_DEFAULT_DB ")\n"
          "      --since TIME     only messages that arrived at or after TIME\n"
          "      --until TIME     only messages that arrived before TIME\n"
          "                       TIME: 2002-01-31, 2002-01-31T08:00[:00][Z] or Unix seconds\n"
          "  -n, --top N          campaigns listed (default 10, at most 1000)\n"
          "  -f, --format FMT     text (default), json or csv\n"
          "  -o, --output FILE    write there instead of standard output\n"
          "  -h, --help           this help\n"
          "\n"
          "examples:\n"
          "  botwatch campaigns --db trap.db --top 20\n"
          "  botwatch campaigns --db trap.db --since 2002-06-01 --format json | jq '.campaigns[0]'\n"
          "  botwatch campaign 17 --db trap.db          # one campaign in detail\n"
          "\n"
          "Formats: docs/cli.md.\n",
          out);
}

static bw_status campaigns_view(bw_store *store, const cli_view_options *o, FILE *out, void *ctx, char *errbuf)
{
    (void)ctx;
    return bw_report_campaigns(store, &o->report, o->format, out, errbuf);
}

int cmd_campaigns(int argc, char **argv)
{
    return cli_run_list_view("campaigns", argc, argv, campaigns_usage, campaigns_view,
                             "one campaign: botwatch campaign ID");
}

static void campaign_usage(FILE *out)
{
    fputs("usage: botwatch campaign ID [--db FILE] [--top N] [--format text|json|csv] [-o FILE]\n"
          "\n"
          "Shows one campaign over its whole life: its inferred template, messages per day, top\n"
          "sender IPs (with network) and networks, URL domains and subjects, the campaigns it\n"
          "is linked to (they advertised the same domain within a day), and sample messages\n"
          "(id, SHA-256 prefix, similarity to the campaign, sender IP, subject; pass an id or\n"
          "SHA-256 prefix to `botwatch explain`).\n"
          "\n"
          "options:\n"
          "      --db FILE        the store (default " BW_DEFAULT_DB ")\n"
          "  -n, --top N          lines in each top list (default 10, at most 1000)\n"
          "  -f, --format FMT     text (default), json or csv (one block per list)\n"
          "  -o, --output FILE    write there instead of standard output\n"
          "  -h, --help           this help\n"
          "\n"
          "examples:\n"
          "  botwatch campaign 17 --db trap.db\n"
          "  botwatch campaign 17 --db trap.db --format json | jq -r .template\n",
          out);
}

typedef struct campaign_ctx {
    int64_t id;
    const char *db_path;
} campaign_ctx;

static bw_status campaign_view(bw_store *store, const cli_view_options *o, FILE *out, void *ctx, char *errbuf)
{
    campaign_ctx *c = ctx;
    bw_status s = bw_report_campaign(store, c->id, &o->report, o->format, out, errbuf);
    if (s == BW_ERR_NOTFOUND) {
        bw_store_campaign_totals t;
        char why[BW_ERRBUF_SIZE];
        if (bw_store_get_campaign_totals(store, NULL, &t, why) == BW_OK && t.campaigns_stored == 0)
            bw_error(errbuf, s, "no campaign %" PRId64 ": %s has no campaigns yet (ingest mail to find them)", c->id,
                     c->db_path);
        else
            bw_error(errbuf, s, "no campaign %" PRId64 " in %s (`botwatch campaigns --db %s` lists them)", c->id,
                     c->db_path, c->db_path);
    }
    return s;
}

int cmd_campaign(int argc, char **argv)
{
    cli_view_options o;
    int first;
    int rc = cli_view_parse("campaign", argc, argv, false, false, campaign_usage, &o, &first);
    if (rc >= 0)
        return rc;
    if (first >= argc) {
        cli_error("campaign", "which campaign? give its id (botwatch campaigns lists them)");
        return 2;
    }
    if (first + 1 < argc) {
        cli_error("campaign", "unexpected argument '%s' (one campaign id)", argv[first + 1]);
        return 2;
    }
    char *end;
    errno = 0;
    long long id = strtoll(argv[first], &end, 10);
    if (errno || end == argv[first] || *end || id <= 0) {
        cli_error("campaign", "'%s' is not a campaign id (a positive number)", argv[first]);
        return 2;
    }
    campaign_ctx ctx = { .id = id, .db_path = o.db_path };
    return cli_run_view("campaign", &o, campaign_view, &ctx);
}
