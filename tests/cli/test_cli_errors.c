/* tests/cli/test_cli_errors.c — every bad usage returns BIVAE_EXIT_USAGE with ONE error
 * line naming the flag (and the hint line), never a silent default. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cli/capture.h"
#include "cli/cli_table.h"
#include "common/check.h"
#include "src/cli.h"

typedef struct bad_case {
    const char *line;       /* the arguments after argv[0] */
    const char *expect;     /* must appear in the error line */
} bad_case;

#define SYN "train --synthetic ml-100k "

static const bad_case cases[] = {
    /* commands, flags, values */
    {"frobnicate", "error: frobnicate: unknown command"},
    {"--version 2", "error: --version: takes no arguments (got '2')"},
    {"--help frobnicate", "error: --help: 'frobnicate' is not a command (train, eval,"},
    {"-h --k", "error: -h: '--k' is not a command"},
    {"--k 5 train", "error: --k: a command comes first"},
    {SYN "--epoch 5", "error: --epoch: unknown flag (did you mean --epochs?)"},
    {SYN "--lerning-rate 5", "error: --lerning-rate: unknown flag\n"},
    {SYN "-k 5", "error: -k: unknown flag (did you mean --k?)"},
    {SYN "--bach-size=5", "error: --bach-size: unknown flag (did you mean --batch-size?)"},
    {"eval --model m --epochs 5", "error: --epochs: not valid for 'eval' (applies to: train)"},
    {"gen --synthetic x --out f --k 5", "error: --k: not valid for 'gen'"},
    {"export --model m --out d --top-k 5", "error: --top-k: not valid for 'export'"},
    {SYN "--k", "error: --k: missing value"},
    {SYN "--metrics-out --quiet", "error: --metrics-out: missing value"},
    {SYN "--k abc", "error: --k: 'abc' is not an integer"},
    {SYN "--k 5x", "error: --k: '5x' is not an integer"},
    {SYN "--k 1.5", "error: --k: '1.5' is not an integer"},
    {SYN "--k=", "error: --k: '' is not an integer"},
    {SYN "--k 99999999999", "error: --k: 99999999999 is out of range (must be in [1, 65536])"},
    {SYN "--k 99999999999999999999999", "error: --k: 99999999999999999999999 is out of range"},
    {SYN "--k 0", "error: --k: 0 is out of range (must be in [1, 65536])"},
    {SYN "--k 65537", "error: --k: 65537 is out of range (must be in [1, 65536])"},
    {SYN "--k -3", "error: --k: -3 is out of range (must be in [1, 65536])"},
    {SYN "--lr nan", "error: --lr: 'nan' is not a finite number"},
    {SYN "--lr inf", "error: --lr: 'inf' is not a finite number"},
    {SYN "--lr -inf", "error: --lr: '-inf' is not a finite number"},
    {SYN "--lr 1e999", "error: --lr: '1e999' is not a finite number"},
    {SYN "--lr 0.1x", "error: --lr: '0.1x' is not a finite number"},
    {SYN "--lr 0", "error: --lr: 0 is out of range (must be in (0, 1])"},
    {SYN "--lr 1.5", "error: --lr: 1.5 is out of range (must be in (0, 1])"},
    {SYN "--lr -0.001", "error: --lr: -0.001 is out of range (must be in (0, 1])"},
    {SYN "--beta-kl -1", "error: --beta-kl: -1 is out of range (must be in [0, 10000])"},
    {SYN "--beta-kl 1e5",
     "error: --beta-kl: 1e5 is out of range (must be in [0, 10000])"},
    {SYN "--epochs 0", "error: --epochs: 0 is out of range (must be in [1, 1000000])"},
    {SYN "--epochs 1000001",
     "error: --epochs: 1000001 is out of range (must be in [1, 1000000])"},
    {SYN "--batch-size 0", "error: --batch-size: 0 is out of range (must be in [1, 16777216])"},
    {SYN "--batch-size 100000000",
     "error: --batch-size: 100000000 is out of range (must be in [1, 16777216])"},
    {SYN "--threads -1", "error: --threads: -1 is out of range (must be in [0, 1024])"},
    {SYN "--threads 100000",
     "error: --threads: 100000 is out of range (must be in [0, 1024])"},
    {SYN "--top-k 0", "error: --top-k: 0 is out of range (must be in [1, 100000])"},
    {"eval --model m --top-k=-1",
     "error: --top-k: -1 is out of range (must be in [1, 100000])"},
    {"recommend --model m --user 1 --top-k 100001",
     "error: --top-k: 100001 is out of range (must be in [1, 100000])"},
    {SYN "--eval-every -1",
     "error: --eval-every: -1 is out of range (must be in [0, 1000000])"},
    {SYN "--test-ratio 1", "error: --test-ratio: 1 is out of range (must be in [0, 1))"},
    {SYN "--test-ratio -0.1", "error: --test-ratio: -0.1 is out of range (must be in [0, 1))"},
    {SYN "--checkpoint-dir d --checkpoint-every -1",
     "error: --checkpoint-every: -1 is out of range (must be in [0, 1000000])"},
    {SYN "--checkpoint-dir d --keep 0",
     "error: --keep: 0 is out of range (must be in [1, 1000000])"},
    {SYN "--comm-timeout 86401",
     "error: --comm-timeout: 86401 is out of range (must be in [0, 86400])"},
    {SYN "--comm-timeout -1",
     "error: --comm-timeout: -1 is out of range (must be in [0, 86400])"},
    {SYN "--min-rating x", "error: --min-rating: 'x' is not a finite number"},
    {SYN "--seed -1", "error: --seed: '-1' is not a non-negative integer"},
    {SYN "--seed 18446744073709551616",
     "error: --seed: 18446744073709551616 is out of range (must be in [0, 18446744073709551615])"},
    {"gen --out f --synthetic x --seed 4x", "error: --seed: '4x' is not a non-negative"},
    {SYN "--encoder 0", "error: --encoder: 0 is out of range (must be in [1, 16777216])"},
    {SYN "--encoder 20,16777217",
     "error: --encoder: 16777217 is out of range (must be in [1, 16777216])"},
    {SYN "--encoder 20,,10", "error: --encoder: '20,,10' is not a comma-separated list"},
    {SYN "--encoder 20,", "error: --encoder: '20,' is not a comma-separated list"},
    {SYN "--encoder=", "error: --encoder: '' is not a comma-separated list"},
    {SYN "--encoder 20,x", "error: --encoder: 'x' is not an integer"},
    {SYN "--encoder 1,2,3,4,5,6,7,8,9", "error: --encoder: '1,2,3,4,5,6,7,8,9' has more than 8"},
    {SYN "--act foo", "error: --act: 'foo' is not one of: sigmoid, tanh, elu, relu, relu6"},
    {SYN "--likelihood normal", "error: --likelihood: 'normal' is not one of: pois, bern, gaus"},
    {SYN "--device gpu", "error: --device: 'gpu' is not one of: cpu, cuda, auto"},
    {SYN "--comm gloo", "error: --comm: 'gloo' is not one of: mpi, nccl, auto"},
    {SYN "--precision fp16", "error: --precision: 'fp16' is not one of: fp32, tf32, bf16"},
    {"train --data f --format json",
     "error: --format: 'json' is not one of: auto, ml-100k, ml-1m, ml-20m, csv, tsv"},
    {SYN "--id-order random", "error: --id-order: 'random' is not one of: permuted, sorted"},
    {SYN "--cap-priors users", "error: --cap-priors: 'users' is not one of: user, item"},
    {SYN "--cap-priors user,user", "error: --cap-priors: 'user,user' is not one of"},
    {SYN "--cap-priors user,", "error: --cap-priors: 'user,' is not one of"},
    {SYN "--cap-priors bothh", "error: --cap-priors: 'bothh' is not one of: user, item, both"},
    {SYN "--k 5 --k 6", "error: --k: given twice"},
    {SYN "--quiet --quiet", "error: --quiet: given twice"},
    {SYN "--quiet=1", "error: --quiet: takes no value"},
    {SYN "--data=", "error: --data: empty value"},
    {SYN "extra", "error: extra: unexpected argument"},
    {SYN "--k 5 6", "error: 6: unexpected argument"},
    {SYN "--", "error: --: unexpected argument"},
    /* cross-flag checks */
    {"train", "error: no training data: give --data FILE, --train FILE [--test FILE] or "
              "--synthetic PRESET"},
    {"train --epochs 3", "error: no training data"},
    {"train --test t", "error: --test: needs --train"},
    {"train --data d --test t", "error: --test: needs --train"},
    {"train --data d --synthetic x", "error: --synthetic: give only one data source"},
    {"train --data d --train t", "error: --train: give only one data source"},
    {"train --train t --test-ratio 0.1", "error: --test-ratio: only applies to --data"},
    {SYN "--format csv", "error: --format: does not apply to --synthetic"},
    {SYN "--sep ;", "error: --sep: does not apply to --synthetic"},
    {SYN "--header", "error: --header: does not apply to --synthetic"},
    {"train --data d --header --no-header", "error: --no-header: give either --header or --no-header"},
    {"train --data d --format ml-1m --sep ,", "error: --sep: applies to csv, tsv or auto files (--format ml-1m"},
    {"train --data d --format ml-20m --columns user=1,item=2", "error: --columns: applies to csv"},
    {SYN "--device cpu --precision tf32", "error: --precision: tf32 needs a GPU"},
    {SYN "--precision bf16 --device cpu", "error: --precision: bf16 needs a GPU"},
    {SYN "--device cpu --comm nccl", "error: --comm: nccl needs a GPU"},
    {SYN "--cap-priors user", "error: --cap-priors: user needs --user-features"},
    {SYN "--cap-priors user,item --user-features u",
     "error: --cap-priors: item needs --item-features"},
    {SYN "--features-format dense", "error: --features-format: needs --user-features FILE"},
    {SYN "--missing-features error", "error: --missing-features: needs --user-features FILE"},
    {SYN "--user-features u --missing-features maybe",
     "error: --missing-features: 'maybe' is not one of: zero, error"},
    {SYN "--user-features u --features-format svm", "error: --features-format: 'svm' is not"},
    {"train --data d --synthetic-features 4", "error: --synthetic-features: needs --synthetic"},
    {SYN "--synthetic-features 4 --user-features u",
     "error: --synthetic-features: makes the features of both sides: not with"},
    {SYN "--synthetic-features 4097", "error: --synthetic-features:"},
    {SYN "--synthetic-features 4 --cold-users 0.2", "error: --cold-users: needs --cap-priors"},
    {SYN "--synthetic-features 4 --cap-priors user --cold-users 1",
     "error: --cold-users: 1 is out of range (must be in (0, 1))"},
    {SYN "--synthetic-features 4 --cap-priors user --cold-history-ratio 0.5",
     "error: --cold-history-ratio: needs --cold-users F"},
    {SYN "--resume", "error: --resume: needs --checkpoint-dir"},
    {SYN "--keep 2", "error: --keep: needs --checkpoint-dir"},
    {SYN "--checkpoint-every 5", "error: --checkpoint-every: needs --checkpoint-dir"},
    {SYN "--overwrite", "error: --overwrite: needs --checkpoint-dir"},
    {SYN "--checkpoint-dir d --resume --overwrite",
     "error: --overwrite: starts a new run: not with --resume"},
    {"gen --synthetic x", "error: --out: required by 'gen'"},
    {"gen --out f", "error: --synthetic: required by 'gen'"},
    {"gen --out f --seed 3", "error: --synthetic: required by 'gen'"},
    {"eval", "error: --model: required by 'eval'"},
    {"eval --data d", "error: --model: required by 'eval'"},
    {"eval --model m --test t", "error: --test: needs --train"},
    {"eval --model m --data d --synthetic x", "error: --synthetic: give only one"},
    {"recommend --model m", "error: --user: recommend needs --user RAWID, --users FILE or "
     "--history FILE"},
    {"recommend --model m --user 1 --history h", "error: --history: give one of --user"},
    {"recommend --user 1", "error: --model: required by 'recommend'"},
    {"recommend --model m --user 1 --users f", "error: --users: give one of --user"},
    {"export --model m", "error: --out: required by 'export'"},
    {"export --out d", "error: --model: required by 'export'"},
};

/* Runs one case: exit 2, the error line first, then only the hint line. */
static void check_case(const bad_case *c)
{
    char *argv[SPLIT_MAX];
    int argc = split_args(c->line, argv);
    bivae_config cfg;
    capture err, out;
    capture_begin(&out, 1);
    capture_begin(&err, 2);
    int rc = cli_parse(argc, argv, &cfg);
    char *text = capture_end(&err);
    char *stdout_text = capture_end(&out);
    if (rc != BIVAE_EXIT_USAGE || !strstr(text, c->expect))
        print_error("'%s': rc %d, stderr:\n%s(expected '%s')\n", c->line, rc, text, c->expect);
    assert_int_equal(rc, BIVAE_EXIT_USAGE);
    assert_string_equal(stdout_text, "");
    assert_true(strncmp(text, "bivae-dist: error: ", 19) == 0);
    size_t first_line = strcspn(text, "\n");
    char *hit = strstr(text, c->expect);
    assert_non_null(hit);
    assert_true((size_t)(hit - text) < first_line);
    assert_int_equal(count_lines(text), 2);
    assert_non_null(strstr(text + first_line, "\nrun 'bivae-dist "));
    free(text);
    free(stdout_text);
}

static void test_bad_usage(void **state)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(&cases[i]);
}

/* 1 when text holds "(must be in " + '[' or '(' + a number + ", " + a number + ']' or ')'. */
static int states_both_bounds(const char *text)
{
    const char *p = strstr(text, "(must be in ");
    if (!p || (p[12] != '[' && p[12] != '('))
        return 0;
    char *end;
    strtod(p + 13, &end);
    if (end == p + 13 || strncmp(end, ", ", 2) != 0)
        return 0;
    const char *hi = end + 2;
    strtod(hi, &end);
    return end != hi && (*end == ']' || *end == ')') && end[1] == ')';
}

/* Every numeric flag of the table (a number as its default) refuses a value far below and
 * one far above its range with both bounds stated (--seed: unsigned 64-bit, refuses a
 * negative value as not a non-negative integer). */
static void test_ranges_state_both_bounds(void **state)
{
    static const char *const cmd_names[] = {
        [CMD_TRAIN] = "train", [CMD_EVAL] = "eval", [CMD_RECOMMEND] = "recommend",
        [CMD_EXPORT] = "export", [CMD_GEN] = "gen"};
    static const char *const values[] = {"-999999999", "999999999999"};
    unsigned cmds;
    const char *def, *name;
    int takes_value, checked = 0;
    for (int i = 0; (name = cli_table_entry(i, &cmds, &def, &takes_value)); i++) {
        char *end;
        if (!def || !takes_value || strcmp(name, "seed") == 0 || (strtod(def, &end), *end))
            continue;                                   /* not a numeric flag */
        int cmd = CMD_TRAIN;
        while (!(cmds & (1u << cmd)))
            cmd++;
        for (int v = 0; v < 2; v++) {
            char line[128], expect[128], *argv[SPLIT_MAX];
            snprintf(line, sizeof line, "%s --%s %s", cmd_names[cmd], name, values[v]);
            snprintf(expect, sizeof expect, "error: --%s: %s is out of range (must be in ",
                     name, values[v]);
            bad_case c = {line, expect};
            check_case(&c);
            bivae_config cfg;
            capture err;
            capture_begin(&err, 2);
            cli_parse(split_args(line, argv), argv, &cfg);
            char *text = capture_end(&err);
            if (!states_both_bounds(text))
                print_error("'%s': the bounds are not both stated:\n%s", line, text);
            assert_true(states_both_bounds(text));
            free(text);
            checked++;
        }
    }
    assert_true(checked >= 2 * 12);
}

/* The hint names the command's help. */
static void test_hint_names_command(void **state)
{
    char *argv[SPLIT_MAX];
    bivae_config cfg;
    capture err;
    capture_begin(&err, 2);
    int rc = cli_parse(split_args("eval --model m --k 3", argv), argv, &cfg);
    char *text = capture_end(&err);
    assert_int_equal(rc, BIVAE_EXIT_USAGE);
    assert_non_null(strstr(text, "\nrun 'bivae-dist eval --help' for usage\n"));
    free(text);

    capture_begin(&err, 2);
    rc = cli_parse(split_args("nope", argv), argv, &cfg);
    text = capture_end(&err);
    assert_non_null(strstr(text, "\nrun 'bivae-dist --help' for usage\n"));
    free(text);
}

/* No arguments: the overview on stderr, exit 2. */
static void test_no_arguments(void **state)
{
    char *argv[SPLIT_MAX];
    bivae_config cfg;
    capture err, out;
    capture_begin(&out, 1);
    capture_begin(&err, 2);
    int rc = cli_parse(split_args("", argv), argv, &cfg);
    char *text = capture_end(&err);
    char *stdout_text = capture_end(&out);
    assert_int_equal(rc, BIVAE_EXIT_USAGE);
    assert_string_equal(stdout_text, "");
    assert_non_null(strstr(text, "usage:"));
    assert_non_null(strstr(text, "bivae-dist train"));
    free(text);
    free(stdout_text);
}

/* Every flag of the table is refused by each command it does not apply to. */
static void test_flags_refused_elsewhere(void **state)
{
    static const char *const cmd_names[] = {
        [CMD_TRAIN] = "train", [CMD_EVAL] = "eval", [CMD_RECOMMEND] = "recommend",
        [CMD_EXPORT] = "export", [CMD_GEN] = "gen"};
    unsigned cmds;
    const char *def, *name;
    int takes_value, refusals = 0;
    for (int i = 0; (name = cli_table_entry(i, &cmds, &def, &takes_value)); i++)
        for (int cmd = CMD_TRAIN; cmd <= CMD_GEN; cmd++) {
            if (cmds & (1u << cmd))
                continue;
            char line[128], expect[128];
            snprintf(line, sizeof line, "%s --%s%s", cmd_names[cmd], name,
                     takes_value ? " 1" : "");
            snprintf(expect, sizeof expect, "error: --%s: not valid for '%s'", name,
                     cmd_names[cmd]);
            bad_case c = {line, expect};
            check_case(&c);
            refusals++;
        }
    assert_true(refusals > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_usage),
        cmocka_unit_test(test_ranges_state_both_bounds),
        cmocka_unit_test(test_hint_names_command),
        cmocka_unit_test(test_no_arguments),
        cmocka_unit_test(test_flags_refused_elsewhere),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
