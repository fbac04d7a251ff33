/* tests/common/test_outfile.c — the output paths a user names: folders made as `mkdir -p`
 * does, one message naming the flag and the user's path, and new temporaries that never
 * touch an existing file. */
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

#include "common/outfile.h"

#define TMPDIR_TAG "outfile"
#include "tests/common/tmpdir.h"

static const char *at(const char *name)
{
    static char slots[4][512];
    static int next;
    char *p = slots[next++ % 4];
    snprintf(p, 512, "%s/%s", root, name);
    return p;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void folders_made(void **state)
{
    (void)state;
    char err[1024] = "";
    struct stat st;
    assert_int_equal(outfile_prepare_dir("--out", at("a/b/c"), err, sizeof err), 0);
    assert_int_equal(stat(at("a/b/c"), &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(outfile_prepare_file("--out", at("d/e/f.tsv"), err, sizeof err), 0);
    assert_int_equal(stat(at("d/e"), &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_not_equal(stat(at("d/e/f.tsv"), &st), 0);         /* the file: not made */
    assert_int_equal(outfile_prepare_file("--out", "bare.tsv", err, sizeof err), 0);
}

static void messages_name_flag_and_path(void **state)
{
    (void)state;
    char err[1024] = "", want[1024];
    write_file(at("plain"), "x");
    assert_int_equal(outfile_prepare_dir("--out", at("plain/sub"), err, sizeof err), -1);
    snprintf(want, sizeof want, "--out %s: %s: not a directory", at("plain/sub"), at("plain"));
    assert_string_equal(err, want);
    assert_int_equal(outfile_prepare_dir("--out", at("plain"), err, sizeof err), -1);
    snprintf(want, sizeof want, "--out %s: not a directory", at("plain"));   /* once */
    assert_string_equal(err, want);
    assert_int_equal(outfile_prepare_file("--out", at("plain/x.tsv"), err, sizeof err), -1);
    snprintf(want, sizeof want, "--out %s: %s: not a directory", at("plain/x.tsv"), at("plain"));
    assert_string_equal(err, want);
    assert_int_equal(outfile_prepare_file("--out", root, err, sizeof err), -1);
    assert_non_null(strstr(err, ": is a directory (give a file name)"));
    assert_int_equal(outfile_prepare_file("--out", "dir/", err, sizeof err), -1);
    assert_string_equal(err, "--out dir/: not a file name");
    assert_int_equal(outfile_prepare_file("--out", "/dev/null", err, sizeof err), -1);
    assert_string_equal(err, "--out /dev/null: not a regular file (a device, pipe or socket)");
    assert_int_equal(outfile_prepare_file("--out", at("plain"), err, sizeof err), 0); /* replaced */
}

static void temporaries_are_new(void **state)
{
    (void)state;
    char t1[600], t2[600];
    const char *path = at("out.tsv");
    write_file(at("out.tsv.tmp"), "the user's");              /* named like a temporary */
    mode_t mask = umask(022);
    int a = outfile_create_temp(path, t1, sizeof t1);
    int b = outfile_create_temp(path, t2, sizeof t2);
    umask(mask);
    assert_true(a >= 0 && b >= 0);
    assert_string_not_equal(t1, t2);
    assert_int_equal(strncmp(t1, path, strlen(path)), 0);
    assert_int_equal(strncmp(t1 + strlen(path), ".tmp.", 5), 0);
    struct stat st;
    assert_int_equal(fstat(a, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);               /* 0666 & ~umask */
    close(a);
    close(b);
    FILE *f = fopen(at("out.tsv.tmp"), "r");
    char text[32] = "";
    assert_non_null(f);
    assert_non_null(fgets(text, sizeof text, f));
    fclose(f);
    assert_string_equal(text, "the user's");
    char small[8];
    assert_int_equal(outfile_create_temp(path, small, sizeof small), -1);   /* too long */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(folders_made),
        cmocka_unit_test(messages_name_flag_and_path),
        cmocka_unit_test(temporaries_are_new),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
