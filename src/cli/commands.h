// SPDX-License-Identifier: MIT
// Subcommands of the botwatch CLI. Each is `int cmd_NAME(int argc, char **argv)` with
// argv[0] the subcommand name; it returns the process exit status (0 ok, 1 failure,
// 2 usage error) and prints its own --help.
#ifndef BOTWATCH_CLI_COMMANDS_H
#define BOTWATCH_CLI_COMMANDS_H

int cmd_parse(int argc, char **argv);
int cmd_ingest(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_flows(int argc, char **argv);
int cmd_campaigns(int argc, char **argv);
int cmd_campaign(int argc, char **argv);
int cmd_botnets(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_rules(int argc, char **argv);

#endif
