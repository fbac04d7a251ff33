/* tests/common/tmpdir.h — a cmocka group fixture for tests that write files: setup makes a
 * fresh directory /tmp/bivae-<TMPDIR_TAG>-XXXXXX in `root`, teardown removes it with all
 * it holds. Define TMPDIR_TAG (a string) before including. */
#ifndef BIVAE_TESTS_TMPDIR_H
#define BIVAE_TESTS_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>

static char root[256];

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/bivae-%s-XXXXXX", TMPDIR_TAG);
    return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
