// SPDX-License-Identifier: MIT
// `botwatch export`: every stored message as one CSV row or JSON line, for pandas,
// Elasticsearch or any other tool. Front end only: the rows stream from the store through
// bw_export_messages() in constant memory; -o FILE is written atomically.
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "botwatch/mail.h"
#include "botwatch/report.h"
#include "cli_util.h"
#include "commands.h"

static void usage(FILE *out)
{
    fputs("usage: botwatch export [--db FILE] [--since TIME] [--until TIME]\n"
          "                       [--format csv|jsonl] [-o FILE]\n"
          "\n"
          "Writes one row per stored message, ordered by arrival time: sha256, message_id,\n"
          "date, received_at, seen_at (ISO 8601 UTC), sender_ip, helo, asn, as_name, subject,\n"
          "from, envelope_from, url_domains, anomalies, source, source_offset, size, parsed.\n"
          "Memory stays constant whatever the size of the store.\n"
          "\n"
          "options:\n"
          "      --db FILE        the store (default " BW_DEFAULT_DB ")\n"
          "      --since TIME     only messages that arrived at or after TIME\n"
          "      --until TIME     only messages that arrived before TIME\n"
          "                       TIME: 2002-01-31, 2002-01-31T08:00[:00][Z] or Unix seconds\n"
          "  -f, --format FMT     csv (default; RFC 4180, header row, lists joined with ';')\n"
          "                       or jsonl (one JSON object per line, lists as arrays)\n"
          "  -o, --output FILE    write there instead of standard output\n"
          "  -h, --help           this help\n"
          "\n"
          "examples:\n"
          "  botwatch export --db trap.db -o messages.csv\n"
          "  botwatch export --db trap.db --format jsonl --since 2002-06-01 | jq .subject\n"
          "  python3 -c \"import pandas; print(pandas.read_csv('messages.csv').asn.value_counts())\"\n"
          "\n"
          "Columns: docs/report.md.\n",
          out);
}

int cmd_export(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "db", required_argument, NULL, 'd' },
        { "since", required_argument, NULL, 's' },
        { "until", required_argument, NULL, 'u' },
        { "format", required_argument, NULL, 'f' },
        { "output", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *db_path = BW_DEFAULT_DB, *output = NULL;
    bw_export_format format = BW_EXPORT_CSV;
    bw_store_range range = BW_STORE_RANGE_ALL;
    time_t t;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': db_path = optarg; break;
        case 's':
            if (!cli_parse_time(optarg, &t)) {
                cli_error("export", "--since: cannot read time '%s' (use 2002-01-31 or 2002-01-31T08:00Z)", optarg);
                return 2;
            }
            range.has_since = true;
            range.since = (int64_t)t;
            break;
        case 'u':
            if (!cli_parse_time(optarg, &t)) {
                cli_error("export", "--until: cannot read time '%s' (use 2002-01-31 or 2002-01-31T08:00Z)", optarg);
                return 2;
            }
            range.has_until = true;
            range.until = (int64_t)t;
            break;
        case 'f':
            if (!bw_export_format_parse(optarg, &format)) {
                cli_error("export", "--format: expected csv or jsonl, not '%s'", optarg);
                return 2;
            }
            break;
        case 'o': output = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        cli_error("export", "unexpected argument '%s' (the store is given with --db)", argv[optind]);
        return 2;
    }
    if (range.has_since && range.has_until && range.since >= range.until) {
        cli_error("export", "--since must be before --until");
        return 2;
    }
    char errbuf[BW_ERRBUF_SIZE];
    bw_store *store = cli_open_store_readonly("export", db_path);
    if (!store)
        return 1;
    int status = 1;
    cli_output out;
    if (!cli_output_open(&out, "export", output))
        goto done;
    uint64_t rows = 0;
    if (bw_export_messages(store, &range, format, bw_mail_anomaly_name, out.fp, &rows, errbuf) != BW_OK) {
        cli_error("export", "%s", errbuf);
        goto done;
    }
    if (!cli_output_commit(&out, "export"))
        goto done;
    if (output) {
        if (cli_is_tty(stderr))
            fprintf(stderr, "botwatch export: %" PRIu64 " messages written to %s\n", rows, output);
    }
    status = 0;
done:
    cli_output_abort(&out);
    bw_store_close(store, errbuf);
    return status;
}
