// SPDX-License-Identifier: MIT
// `botwatch botnets`: the botnets ingest inferred from campaigns that share sender IPs and
// /24s, largest first, with each one's share of the messages in range, its campaigns,
// zombie IPs and /24s, networks and countries, and the smallest number of botnets that
// send 90% of the spam. Front end only (report_campaigns.h). Formats: docs/cli.md.
#include <stdio.h>

#include "botwatch/report_campaigns.h"
#include "campaign_cli.h"
#include "cli_util.h"
#include "commands.h"

static void usage(FILE *out)
{
    fputs("usage: botwatch botnets [--db FILE] [--since TIME] [--until TIME] [--top N]\n"
          "                        [--format text|json|csv] [-o FILE]\n"
          "\n"
          "Lists the inferred botnets (communities of campaigns sharing sender IPs and /24s,\n"
          "named by the attribution-rule label their campaigns agree on) by messages in the\n"
          "range: messages, share and cumulative share, campaigns, zombie IPs and /24s, first\n"
          "and last arrival, top networks, countries and campaigns; and how many botnets,\n"
          "largest first, send 90% of the spam. Ingest re-infers botnets after every run.\n"
          "\n"
          "options:\n"
          "      --db FILE        the store (default " BW_DEFAULT_DB ")\n"
          "      --since TIME     only messages that arrived at or after TIME\n"
          "      --until TIME     only messages that arrived before TIME\n"
          "                       TIME: 2002-01-31, 2002-01-31T08:00[:00][Z] or Unix seconds\n"
          "  -n, --top N          botnets listed (default 10, at most 1000; the 90% figure\n"
          "                       always counts them all)\n"
          "  -f, --format FMT     text (default), json or csv\n"
          "  -o, --output FILE    write there instead of standard output\n"
          "  -h, --help           this help\n"
          "\n"
          "examples:\n"
          "  botwatch botnets --db trap.db\n"
          "  botwatch botnets --db trap.db --format json | jq .campaign_totals.botnets_for_90_percent\n"
          "\n"
          "Formats: docs/cli.md; how botnets are inferred: docs/botnets.md.\n",
          out);
}

static bw_status botnets_view(bw_store *store, const cli_view_options *o, FILE *out, void *ctx, char *errbuf)
{
    (void)ctx;
    return bw_report_botnets(store, &o->report, o->format, out, errbuf);
}

int cmd_botnets(int argc, char **argv)
{
    return cli_run_list_view("botnets", argc, argv, usage, botnets_view, "the store is given with --db");
}
