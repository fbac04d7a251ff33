/* tests/cli/cli_table.h — the option-table introspection lives in src/cli.h. */
#ifndef BIVAE_TESTS_CLI_TABLE_H
#define BIVAE_TESTS_CLI_TABLE_H
#include "src/cli.h"
#endif
