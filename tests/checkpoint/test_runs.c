/* tests/checkpoint/test_runs.c — runs in one checkpoint directory (src/checkpoint.h
 * "Runs", src/ckpt_run.c, src/ckpt_files.c), on empty files with checkpoint names:
 *   - run ids: the format, new ids unique in a directory that already uses the likely ones;
 *   - names: a run's names carry its id, legacy names none, and neither is taken for the
 *     other;
 *   - rotation removes only the rotating run's older checkpoints and its own .tmp files,
 *     never another run's or a legacy file;
 *   - the plan: a fresh run into checkpoints is refused, --overwrite gets a new id and
 *     deletes nothing, --resume follows current-run, else the newest run (legacy oldest),
 *     and a legacy checkpoint gets a new id; current-run is replaced atomically and a bad
 *     one is an error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/check.h"
#include "src/checkpoint.h"

#define RUN_A "20240101T000000Z-00aa"   /* older */
#define RUN_B "20240102T000000Z-00bb"   /* newer */

static char dir[256];

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/bivae-runs-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static void touch(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fclose(f), 0);
}

static int exists(const char *name)
{
    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

/* dir/name as the functions under test return paths */
static const char *in_dir(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static void test_run_ids(void **state)
{
    assert_true(ckpt_run_id_valid(RUN_A));
    assert_false(ckpt_run_id_valid("20240101T000000Z-00AA"));   /* upper-case hex */
    assert_false(ckpt_run_id_valid("20240101T000000Z-00a"));
    assert_false(ckpt_run_id_valid("2024010100000000-00aa"));
    assert_false(ckpt_run_id_valid(""));
    char id[CKPT_RUN_ID_LEN + 1], other[CKPT_RUN_ID_LEN + 1];
    ckpt_new_run_id(dir, id);
    assert_true(ckpt_run_id_valid(id));
    /* a directory that uses this second's ids already: the next one differs from them */
    char name[128];
    ckpt_position at3 = {3, CKPT_AT_EPOCH_END, 0, {0, 0}, 0, {0, 0, 0, 0}};
    ckpt_file_name(id, &at3, 10, name, sizeof name);
    touch(name);
    for (int i = 0; i < 50; i++) {
        ckpt_new_run_id(dir, other);
        assert_string_not_equal(other, id);
    }
}

static void test_names(void **state)
{
    char name[128];
    ckpt_position at3 = {3, CKPT_AT_EPOCH_END, 0, {0, 0}, 0, {0, 0, 0, 0}};
    ckpt_position item = {3, CKPT_IN_ITEM_PHASE, 4, {0, 0}, 0, {0, 0, 0, 0}};
    ckpt_position user = {3, CKPT_IN_USER_PHASE, 2, {0, 0}, 0, {0, 0, 0, 0}};
    ckpt_file_name(RUN_A, &at3, 10, name, sizeof name);
    assert_string_equal(name, "ckpt-" RUN_A "-000003.bvck");
    ckpt_file_name(RUN_A, &item, 10, name, sizeof name);
    assert_string_equal(name, "ckpt-" RUN_A "-000003-000004.bvck");
    ckpt_file_name(RUN_A, &user, 10, name, sizeof name);
    assert_string_equal(name, "ckpt-" RUN_A "-000003-000012.bvck");
    ckpt_file_name("", &at3, 10, name, sizeof name);
    assert_string_equal(name, "ckpt-000003.bvck");
    ckpt_file_name(NULL, &user, 10, name, sizeof name);
    assert_string_equal(name, "ckpt-000003-000012.bvck");
}

/* A directory of two runs and legacy files, complete and .tmp. */
static void populate(void)
{
    touch("ckpt-" RUN_A "-000001.bvck");
    touch("ckpt-" RUN_A "-000002.bvck");
    touch("ckpt-" RUN_A "-000002-000005.bvck");
    touch("ckpt-" RUN_A "-000003.bvck.tmp");
    touch("ckpt-" RUN_B "-000001.bvck");
    touch("ckpt-" RUN_B "-000002.bvck.tmp");
    touch("ckpt-000009.bvck");
    touch("ckpt-000010.bvck.tmp");
    touch("notes.txt");
}

static void test_rotation_stays_in_its_run(void **state)
{
    char err[1024], run[CKPT_RUN_ID_LEN + 1], path[512];
    populate();
    assert_int_equal(ckpt_find_runs(dir, run, path, sizeof path, err, sizeof err), 5);
    assert_string_equal(run, RUN_B);
    assert_string_equal(path, in_dir("ckpt-" RUN_B "-000001.bvck"));
    assert_int_equal(ckpt_find_latest(dir, RUN_A, path, sizeof path, err, sizeof err), 1);
    assert_string_equal(path, in_dir("ckpt-" RUN_A "-000002-000005.bvck"));
    assert_int_equal(ckpt_find_latest(dir, "", path, sizeof path, err, sizeof err), 1);
    assert_string_equal(path, in_dir("ckpt-000009.bvck"));
    assert_int_equal(ckpt_rotate(dir, RUN_A, 1, err, sizeof err), 0);
    assert_true(exists("ckpt-" RUN_A "-000002-000005.bvck"));
    assert_false(exists("ckpt-" RUN_A "-000002.bvck"));
    assert_false(exists("ckpt-" RUN_A "-000001.bvck"));
    assert_false(exists("ckpt-" RUN_A "-000003.bvck.tmp"));
    /* another run's and legacy files, complete or not, are untouched */
    assert_true(exists("ckpt-" RUN_B "-000001.bvck"));
    assert_true(exists("ckpt-" RUN_B "-000002.bvck.tmp"));
    assert_true(exists("ckpt-000009.bvck"));
    assert_true(exists("ckpt-000010.bvck.tmp"));
    assert_true(exists("notes.txt"));
}

static void test_plan(void **state)
{
    char err[1024], cur[CKPT_RUN_ID_LEN + 1];
    ckpt_run run;
    /* an empty (new, nested) directory: a fresh run, made as mkdir -p does */
    char nested[512];
    snprintf(nested, sizeof nested, "%s/a/b", dir);
    assert_int_equal(ckpt_run_plan(nested, 0, 0, &run, err, sizeof err), 0);
    assert_true(ckpt_run_id_valid(run.id));
    assert_string_equal(run.resume_path, "");
    assert_int_equal(ckpt_run_plan(nested, 1, 0, &run, err, sizeof err), 0);
    assert_string_equal(run.resume_path, "");
    /* checkpoints there: a fresh run is refused, naming the way out */
    populate();
    assert_int_equal(ckpt_run_plan(dir, 0, 0, &run, err, sizeof err), BIVAE_EXIT_USAGE);
    assert_non_null(strstr(err, "holds checkpoints"));
    assert_non_null(strstr(err, "--resume"));
    assert_non_null(strstr(err, "--overwrite"));
    /* --overwrite: a new run id, nothing removed */
    assert_int_equal(ckpt_run_plan(dir, 0, 1, &run, err, sizeof err), 0);
    assert_string_not_equal(run.id, RUN_A);
    assert_string_not_equal(run.id, RUN_B);
    assert_true(exists("ckpt-" RUN_A "-000001.bvck") && exists("ckpt-000009.bvck"));
    /* --resume without current-run: the newest run; with it: the run it names */
    assert_int_equal(ckpt_run_plan(dir, 1, 0, &run, err, sizeof err), 0);
    assert_string_equal(run.id, RUN_B);
    assert_string_equal(run.resume_path, in_dir("ckpt-" RUN_B "-000001.bvck"));
    assert_int_equal(ckpt_set_current_run(dir, RUN_A, err, sizeof err), 0);
    assert_int_equal(ckpt_current_run(dir, cur, err, sizeof err), 0);
    assert_string_equal(cur, RUN_A);
    assert_false(exists(CKPT_CURRENT_RUN ".tmp"));
    assert_int_equal(ckpt_run_plan(dir, 1, 0, &run, err, sizeof err), 0);
    assert_string_equal(run.id, RUN_A);
    assert_string_equal(run.resume_path, in_dir("ckpt-" RUN_A "-000002-000005.bvck"));
    /* the current run has no checkpoint yet: from scratch, as that run */
    const char *fresh = "20250101T000000Z-0001";
    assert_int_equal(ckpt_set_current_run(dir, fresh, err, sizeof err), 0);
    assert_int_equal(ckpt_run_plan(dir, 1, 0, &run, err, sizeof err), 0);
    assert_string_equal(run.id, fresh);
    assert_string_equal(run.resume_path, "");
    /* only legacy files: resumed under a new run id */
    char legacy[512];
    snprintf(legacy, sizeof legacy, "%s/legacy", dir);
    assert_int_equal(mkdir(legacy, 0777), 0);
    snprintf(nested, sizeof nested, "%.400s/ckpt-000004.bvck", legacy);
    FILE *f = fopen(nested, "w");
    assert_non_null(f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(ckpt_run_plan(legacy, 1, 0, &run, err, sizeof err), 0);
    assert_true(ckpt_run_id_valid(run.id));
    assert_string_equal(run.resume_path, nested);
    /* a current-run that is not a run id: an error naming it, for every command */
    f = fopen(in_dir(CKPT_CURRENT_RUN), "w");
    assert_non_null(f);
    fputs("garbage\n", f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(ckpt_run_plan(dir, 1, 0, &run, err, sizeof err), BIVAE_EXIT_USAGE);
    assert_non_null(strstr(err, "current-run: not a run id"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_run_ids, setup, teardown),
        cmocka_unit_test(test_names),
        cmocka_unit_test_setup_teardown(test_rotation_stays_in_its_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
