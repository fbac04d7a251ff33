/* tests/common/test_fsutil.c — fs_mkdir_p / fs_mkdir_parent behave as `mkdir -p`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"

#define TMPDIR_TAG "fsutil"
#include "tests/common/tmpdir.h"

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void nested_and_existing(void **state)
{
    (void)state;
    char dir[512], err[256] = "";
    snprintf(dir, sizeof dir, "%s/a/b//c/", root);
    assert_int_equal(fs_mkdir_p(dir, err, sizeof err), 0);
    snprintf(dir, sizeof dir, "%s/a/b/c", root);
    assert_true(is_dir(dir));
    assert_int_equal(fs_mkdir_p(dir, err, sizeof err), 0);   /* exists: fine */
}

static void parent_of_file(void **state)
{
    (void)state;
    char path[512], dir[512], err[256] = "";
    snprintf(path, sizeof path, "%s/x/y/metrics.jsonl", root);
    assert_int_equal(fs_mkdir_parent(path, err, sizeof err), 0);
    snprintf(dir, sizeof dir, "%s/x/y", root);
    assert_true(is_dir(dir));
    snprintf(path, sizeof path, "%s/x/y/metrics.jsonl", root);
    assert_false(is_dir(path));                               /* the file itself: not made */
    assert_int_equal(fs_mkdir_parent("bare-name.jsonl", err, sizeof err), 0);
}

static void a_file_in_the_way(void **state)
{
    (void)state;
    char file[512], dir[512], err[256] = "";
    snprintf(file, sizeof file, "%s/plain", root);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(dir, sizeof dir, "%s/plain/sub", root);
    assert_int_equal(fs_mkdir_p(dir, err, sizeof err), -1);
    assert_non_null(strstr(err, "plain: not a directory"));
    assert_int_equal(fs_mkdir_p("", err, sizeof err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nested_and_existing),
        cmocka_unit_test(parent_of_file),
        cmocka_unit_test(a_file_in_the_way),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
