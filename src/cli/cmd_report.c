// SPDX-License-Identifier: MIT
// `botwatch report`: the first report on a store (text on a terminal or a pipe, JSON, CSV
// or one self-contained HTML file). Front end only: it opens the store read-only, loads
// ASN data when the store has sender IPs but no networks (ingested without ASN data),
// builds the report with bw_report_build() and writes it, to -o FILE atomically (a
// temporary file renamed into place, so a reader never sees half a report).
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "botwatch/mail.h"
#include "botwatch/report.h"
#include "cli_util.h"
#include "commands.h"

#define MAX_ASN_SOURCES 8
// A top-N beyond this is a dump, not a report: `botwatch export` is for that.
#define MAX_TOP 1000

static void usage(FILE *out)
{
    fputs("usage: botwatch report [--db FILE] [--since TIME] [--until TIME] [--top N]\n"
          "                       [--format text|json|csv|html] [-o FILE] [--asn PATH]...\n"
          "\n"
          "Summarises the spam-trap mail in the store: totals, messages per day (a sparkline\n"
          "on a terminal) and per month, the top sender networks (AS number and name),\n"
          "countries, sender IPs, URL domains and subjects, anomaly counts, sources and\n"
          "ingest errors. Times are UTC; a message's time is when it arrived (its newest\n"
          "Received hop), else its Date: header.\n"
          "\n"
          "options:\n"
          "      --db FILE        the store (default " BW_DEFAULT_DB ")\n"
          "      --since TIME     only messages that arrived at or after TIME\n"
          "      --until TIME     only messages that arrived before TIME\n"
          "                       TIME: 2002-01-31, 2002-01-31T08:00[:00][Z] or Unix seconds\n"
          "  -n, --top N          lines in each top table (default 10, at most 1000)\n"
          "  -f, --format FMT     text (default), json, csv (one block per table) or html\n"
          "                       (one self-contained file: inline CSS and SVG, no scripts)\n"
          "  -o, --output FILE    write there instead of standard output\n"
          "      --asn PATH       ASN data (ip-location-db CSV, a directory holding\n"
          "                       asn-ipv4.csv/asn-ipv6.csv, or a MaxMind .mmdb) for a store\n"
          "                       ingested without it; repeatable. Default when needed:\n"
          "                       $BW_DATA/npm-asn/package if present\n"
          "      --errors N       ingest errors listed (default 10; the count is always full)\n"
          "      --title TEXT     the report's title\n"
          "  -h, --help           this help\n"
          "\n"
          "examples:\n"
          "  botwatch report --db trap.db\n"
          "  botwatch report --db trap.db --since 2002-01-01 --until 2003-01-01 --top 20\n"
          "  botwatch report --db trap.db --format html -o report.html\n"
          "  botwatch report --db trap.db --format json | jq '.top_asns[0]'\n"
          "\n"
          "Formats and columns: docs/report.md.\n",
          out);
}

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

// The fetched ip-location-db data, when the user gave no --asn.
static const char *default_asn_path(char *buf, size_t size)
{
    const char *data = getenv("BW_DATA");
    const char *home = getenv("HOME");
    if (data && *data)
        snprintf(buf, size, "%s/npm-asn/package", data);
    else if (home && *home)
        snprintf(buf, size, "%s/.cache/botwatch/npm-asn/package", home);
    else
        return NULL;
    struct stat st;
    return stat(buf, &st) == 0 && S_ISDIR(st.st_mode) ? buf : NULL;
}

int cmd_report(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "db", required_argument, NULL, 'd' },
        { "since", required_argument, NULL, 's' },
        { "until", required_argument, NULL, 'u' },
        { "top", required_argument, NULL, 'n' },
        { "format", required_argument, NULL, 'f' },
        { "output", required_argument, NULL, 'o' },
        { "asn", required_argument, NULL, 'a' },
        { "errors", required_argument, NULL, 'e' },
        { "title", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *db_path = BW_DEFAULT_DB, *output = NULL;
    const char *asn_paths[MAX_ASN_SOURCES];
    size_t asn_count = 0;
    bw_report_format format = BW_REPORT_TEXT;
    bw_report_options opts;
    bw_report_options_default(&opts);
    opts.anomaly_name = bw_mail_anomaly_name;
    time_t t;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "n:f:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': db_path = optarg; break;
        case 's':
            if (!cli_parse_time(optarg, &t)) {
                cli_error("report", "--since: cannot read time '%s' (use 2002-01-31 or 2002-01-31T08:00Z)", optarg);
                return 2;
            }
            opts.range.has_since = true;
            opts.range.since = (int64_t)t;
            break;
        case 'u':
            if (!cli_parse_time(optarg, &t)) {
                cli_error("report", "--until: cannot read time '%s' (use 2002-01-31 or 2002-01-31T08:00Z)", optarg);
                return 2;
            }
            opts.range.has_until = true;
            opts.range.until = (int64_t)t;
            break;
        case 'n':
            if (!parse_count(optarg, MAX_TOP, &opts.top)) {
                cli_error("report", "--top: expected a number from 1 to %d, not '%s'", MAX_TOP, optarg);
                return 2;
            }
            break;
        case 'e':
            if (!parse_count(optarg, MAX_TOP, &opts.max_errors)) {
                cli_error("report", "--errors: expected a number from 1 to %d, not '%s'", MAX_TOP, optarg);
                return 2;
            }
            break;
        case 'f':
            if (!bw_report_format_parse(optarg, &format)) {
                cli_error("report", "--format: expected text, json, csv or html, not '%s'", optarg);
                return 2;
            }
            break;
        case 'o': output = optarg; break;
        case 'a':
            if (asn_count == MAX_ASN_SOURCES) {
                cli_error("report", "--asn: at most %d sources", MAX_ASN_SOURCES);
                return 2;
            }
            asn_paths[asn_count++] = optarg;
            break;
        case 't': opts.title = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        cli_error("report", "unexpected argument '%s' (the store is given with --db)", argv[optind]);
        return 2;
    }
    if (opts.range.has_since && opts.range.has_until && opts.range.since >= opts.range.until) {
        cli_error("report", "--since must be before --until");
        return 2;
    }
    char errbuf[BW_ERRBUF_SIZE];
    bw_store *store = cli_open_store_readonly("report", db_path);
    if (!store)
        return 1;
    int status = 1;
    bw_asn_db *asn = NULL;
    bw_report *report = NULL;
    cli_output out = { .fp = stdout };

    // ASN data is only loaded when the store lacks networks: it costs ~0.3 s.
    bw_store_totals totals;
    if (bw_store_get_totals(store, &opts.range, &totals, errbuf) != BW_OK) {
        cli_error("report", "%s: %s", db_path, errbuf);
        goto done;
    }
    char default_path[4096];
    if (asn_count == 0 && totals.with_asn == 0 && totals.with_sender_ip > 0) {
        const char *path = default_asn_path(default_path, sizeof default_path);
        if (path)
            asn_paths[asn_count++] = path;
    }
    if (asn_count > 0 && totals.with_asn == 0) {
        asn = bw_asn_db_new();
        if (!asn)
            cli_out_of_memory();
        for (size_t i = 0; i < asn_count; i++) {
            bw_status s = bw_asn_db_load(asn, asn_paths[i], errbuf);
            if (s != BW_OK) {
                cli_error("report", "%s", errbuf);
                goto done;
            }
            if (errbuf[0])
                cli_error("report", "warning: %s", errbuf);
        }
        opts.asn_db = asn;
    }

    if (!cli_output_open(&out, "report", output))
        goto done;
    opts.tty = format == BW_REPORT_TEXT && !output && cli_is_tty(stdout);
    opts.generated_at = (int64_t)time(NULL);
    if (bw_report_build(store, &opts, &report, errbuf) != BW_OK) {
        cli_error("report", "%s: %s", db_path, errbuf);
        goto done;
    }
    if (bw_report_write(report, format, out.fp, errbuf) != BW_OK) {
        cli_error("report", "%s: %s", output ? output : "standard output", errbuf);
        goto done;
    }
    if (!cli_output_commit(&out, "report"))
        goto done;
    status = 0;
done:
    cli_output_abort(&out);
    bw_report_free(report);
    bw_asn_db_free(asn);
    bw_store_close(store, errbuf);
    return status;
}
