/* src/cli.h — the command line (docs/cli.md), parsed from ONE table that also generates
 * --help, so the usage text can never drift from the parser. */
#ifndef BIVAE_CLI_H
#define BIVAE_CLI_H

#include <stdio.h>

#include "src/config.h"

/* Sets every default of cli.md in cfg. */
void cli_defaults(bivae_config *cfg);

/* Parses argv (argv[1] is the command). On success returns 0 with cfg filled; for --help /
 * --version it prints the text on stdout and sets cfg->command to CMD_HELP / CMD_VERSION.
 * On bad usage prints ONE line "bivae-dist: error: <flag>: <reason>" (plus a hint to run
 * --help) on stderr and returns BIVAE_EXIT_USAGE. Strings in cfg point into argv. */
int cli_parse(int argc, char **argv, bivae_config *cfg);

/* The usage text of a command (CMD_NONE: the overview of all commands). */
void cli_print_help(FILE *out, bivae_command cmd);

/* Introspection of the option table (for tests that must cover every flag): option i's
 * name (without "--"), or NULL past the end; *cmds: bits (1u << bivae_command) of the
 * commands it applies to; *def: its default text (NULL: none); *takes_value: 0 for flags
 * without a value. */
const char *cli_table_entry(int i, unsigned *cmds, const char **def, int *takes_value);

#endif
