// SPDX-License-Identifier: MIT
// botwatch: an observatory for spam botnets. This file only dispatches to subcommands;
// each lives in cmd_<name>.c and all logic lives in libbotwatch.
#include <stdio.h>
#include <string.h>

#include "commands.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

// One line per subcommand, in the order `botwatch --help` lists them.
static const command commands[] = {
    { "parse", cmd_parse, "show how botwatch reads one message (summary or --json)" },
    { "ingest", cmd_ingest, "read spam-trap mail (mbox, Maildir, archives, stdin) into the database" },
    { "flows", cmd_flows, "find beacons, C&C candidates, P2P bots and spam zombies in flow logs" },
    { "report", cmd_report, "summarise the store: daily volume, sender networks, domains (text/json/csv/html)" },
    { "export", cmd_export, "one row per stored message as CSV or JSON lines" },
    { "campaigns", cmd_campaigns, "campaigns (messages of one template) ranked by volume, with their templates" },
    { "campaign", cmd_campaign, "one campaign: template, timeline, senders, domains, links, samples" },
    { "botnets", cmd_botnets, "inferred botnets, their share of the spam, and how many send 90% of it" },
    { "explain", cmd_explain, "why a message is in its campaign and botnet, and which rules fired" },
    { "rules", cmd_rules, "check attribution rule files; test which rules match mail" },
    { NULL, NULL, NULL },
};

static void usage(FILE *out)
{
    fputs("usage: botwatch COMMAND [OPTIONS] [ARGS]\n\n"
          "botwatch observes spam botnets from spam-trap mail and flow logs. It only reads\n"
          "files and writes reports; it never contacts anything.\n\ncommands:\n", out);
    for (const command *c = commands; c->name; c++)
        fprintf(out, "  %-10s %s\n", c->name, c->summary);
    fputs("\nRun `botwatch COMMAND --help` for a command's options.\n"
          "A typical session:  botwatch ingest --db trap.db ~/spam/*.mbox\n"
          "                    botwatch report --db trap.db --format html -o report.html\n", out);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("botwatch %s\n", BW_VERSION);
        return 0;
    }
    for (const command *c = commands; c->name; c++)
        if (!strcmp(argv[1], c->name))
            return c->run(argc - 1, argv + 1);
    fprintf(stderr, "botwatch: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
