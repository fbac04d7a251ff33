/* tests/cli/test_cli_parse.c — defaults equal docs/cli.md, every flag of the table lands
 * in its field of bivae_config, in both the "--x v" and "--x=v" forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cli/capture.h"
#include "cli/cli_table.h"
#include "common/check.h"
#include "src/cli.h"

/* Names of the flags some test below parsed successfully (checked against the table). */
#define MAX_COVERED 512
static const char *covered[MAX_COVERED];
static int n_covered;

static void mark_covered(char **argv, int argc)
{
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) != 0)
            continue;
        size_t len = strcspn(argv[i] + 2, "=");
        static char names[MAX_COVERED][40];
        if (n_covered < MAX_COVERED && len < 40) {
            memcpy(names[n_covered], argv[i] + 2, len);
            names[n_covered][len] = '\0';
            covered[n_covered] = names[n_covered];
            n_covered++;
        }
    }
}

/* Parses line (argv[0] implied) and requires success with nothing on stderr. */
static bivae_config parse_ok(const char *line)
{
    char *argv[SPLIT_MAX];
    int argc = split_args(line, argv);
    bivae_config cfg;
    capture err;
    capture_begin(&err, 2);
    int rc = cli_parse(argc, argv, &cfg);
    char *text = capture_end(&err);
    if (rc != 0 || text[0])
        print_error("'%s': rc %d, stderr: %s\n", line, rc, text);
    assert_int_equal(rc, 0);
    assert_string_equal(text, "");
    free(text);
    mark_covered(argv, argc);
    return cfg;
}

static int str_equal(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Field by field (memcmp would compare padding). */
static void assert_config_equal(const bivae_config *a, const bivae_config *b)
{
    const data_options *x = &a->data, *y = &b->data;
    assert_int_equal(a->command, b->command);
    assert_true(str_equal(x->data_path, y->data_path) && str_equal(x->train_path, y->train_path)
                && str_equal(x->test_path, y->test_path) && str_equal(x->synthetic, y->synthetic));
    assert_int_equal(x->format, y->format);
    assert_true(x->test_ratio == y->test_ratio);
    assert_int_equal(x->has_min_rating, y->has_min_rating);
    assert_true(x->min_rating == y->min_rating);
    assert_true(x->seed == y->seed);
    assert_int_equal(x->permute_ids, y->permute_ids);
    assert_memory_equal(&a->model, &b->model, sizeof a->model);    /* no padding inside */
    assert_memory_equal(&a->train, &b->train, sizeof a->train);
    assert_memory_equal(&a->system, &b->system, sizeof a->system);
    const bivae_output_config *o = &a->output, *p = &b->output;
    assert_int_equal(o->top_k, p->top_k);
    assert_int_equal(o->eval_every, p->eval_every);
    assert_int_equal(o->checkpoint_every, p->checkpoint_every);
    assert_int_equal(o->keep, p->keep);
    assert_int_equal(o->resume, p->resume);
    assert_int_equal(o->overwrite, p->overwrite);
    assert_int_equal(o->quiet, p->quiet);
    assert_true(str_equal(o->metrics_out, p->metrics_out) &&
                str_equal(o->checkpoint_dir, p->checkpoint_dir) && str_equal(o->out, p->out));
    assert_true(str_equal(a->model_path, b->model_path) && str_equal(a->user, b->user) &&
                str_equal(a->users_file, b->users_file) &&
                str_equal(x->user_features, y->user_features) &&
                str_equal(x->item_features, y->item_features));
    assert_int_equal(x->features_format, y->features_format);
    assert_int_equal(x->missing_features, y->missing_features);
    assert_int_equal(x->synthetic_features, y->synthetic_features);
}

/* ---------------------------------------------------------------------------------- */

static void test_defaults(void **state)
{
    bivae_config c;
    cli_defaults(&c);
    assert_int_equal(c.command, CMD_NONE);
    assert_int_equal(c.model.k, 10);
    assert_int_equal(c.model.n_hidden, 1);
    assert_int_equal(c.model.hidden[0], 20);
    assert_int_equal(c.model.act, KERN_ACT_TANH);
    assert_int_equal(c.model.likelihood, KERN_LIK_POIS);
    assert_true(c.model.beta_kl == 1.0);
    assert_int_equal(c.model.cap_user, 0);
    assert_int_equal(c.model.cap_item, 0);
    assert_int_equal(c.train.epochs, 100);
    assert_int_equal(c.train.batch_size, 100);
    assert_true(c.train.lr == 0.001);
    assert_true(c.train.seed == 42);
    assert_true(c.data.seed == 42);
    assert_int_equal(c.system.device, DEVICE_AUTO);
    assert_int_equal(c.system.comm, COMM_AUTO);
    assert_int_equal(c.system.precision, PRECISION_FP32);
    assert_int_equal(c.system.threads, 0);
    assert_int_equal(c.system.check_replicas, 0);
    assert_true(c.system.comm_timeout == 300.0);
    assert_int_equal(c.output.top_k, 10);
    assert_int_equal(c.output.eval_every, 0);
    assert_int_equal(c.output.resume, 0);
    assert_int_equal(c.output.overwrite, 0);
    assert_int_equal(c.output.quiet, 0);
    assert_true(c.data.test_ratio == 0.25);
    assert_int_equal(c.data.format, DATA_FORMAT_AUTO);
    assert_int_equal(c.data.has_min_rating, 0);
    assert_int_equal(c.data.permute_ids, 1);
    assert_null(c.data.data_path);
    assert_null(c.output.metrics_out);
    assert_null(c.model_path);
}

/* A parse with only the required flags leaves the defaults untouched. */
static void test_minimal_train_keeps_defaults(void **state)
{
    bivae_config d, c = parse_ok("train --synthetic ml-100k");
    cli_defaults(&d);
    assert_int_equal(c.command, CMD_TRAIN);
    assert_string_equal(c.data.synthetic, "ml-100k");
    c.command = d.command;
    c.data.synthetic = NULL;
    assert_config_equal(&c, &d);
}

static void test_data_flags(void **state)
{
    bivae_config c = parse_ok("train --data r.csv --format csv --test-ratio 0.1 "
                              "--min-rating 3.5 --id-order sorted");
    assert_string_equal(c.data.data_path, "r.csv");
    assert_int_equal(c.data.format, DATA_FORMAT_CSV);
    assert_true(c.data.test_ratio == 0.1);
    assert_int_equal(c.data.has_min_rating, 1);
    assert_true(c.data.min_rating == 3.5);
    assert_int_equal(c.data.permute_ids, 0);

    c = parse_ok("train --train a.tsv --test b.tsv --format=tsv --id-order=permuted");
    assert_string_equal(c.data.train_path, "a.tsv");
    assert_string_equal(c.data.test_path, "b.tsv");
    assert_int_equal(c.data.format, DATA_FORMAT_TSV);
    assert_int_equal(c.data.permute_ids, 1);

    c = parse_ok("train --synthetic=50000x8000x2000000 --test-ratio=0 --min-rating=-1");
    assert_string_equal(c.data.synthetic, "50000x8000x2000000");
    assert_true(c.data.test_ratio == 0.0);
    assert_true(c.data.min_rating == -1.0);
    assert_int_equal(c.data.header, DATA_HEADER_AUTO);

    c = parse_ok("train --data r.csv --sep ; --columns user=reviewerID,item=asin --header");
    assert_string_equal(c.data.sep, ";");
    assert_string_equal(c.data.columns, "user=reviewerID,item=asin");
    assert_int_equal(c.data.header, DATA_HEADER_YES);
    c = parse_ok("eval --model m --data r.txt --sep=space --no-header");
    assert_string_equal(c.data.sep, "space");
    assert_int_equal(c.data.header, DATA_HEADER_NO);
}

static void test_format_words(void **state)
{
    static const struct { const char *word; data_format f; } cases[] = {
        {"auto", DATA_FORMAT_AUTO}, {"ml-100k", DATA_FORMAT_ML100K},
        {"ml-1m", DATA_FORMAT_ML1M}, {"ml-20m", DATA_FORMAT_ML20M},
        {"csv", DATA_FORMAT_CSV}, {"tsv", DATA_FORMAT_TSV}};
    char line[128];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(line, sizeof line, "eval --model m --data f --format %s", cases[i].word);
        assert_int_equal(parse_ok(line).data.format, cases[i].f);
    }
}

static void test_model_flags(void **state)
{
    bivae_config c = parse_ok("train --synthetic ml-1m --k 50 --encoder 40,30,20 --act relu6 "
                              "--likelihood bern --beta-kl 0 --cap-priors user,item "
                              "--user-features u.txt --item-features i.txt");
    assert_int_equal(c.model.k, 50);
    assert_int_equal(c.model.n_hidden, 3);
    assert_int_equal(c.model.hidden[0], 40);
    assert_int_equal(c.model.hidden[1], 30);
    assert_int_equal(c.model.hidden[2], 20);
    assert_int_equal(c.model.act, KERN_ACT_RELU6);
    assert_int_equal(c.model.likelihood, KERN_LIK_BERN);
    assert_true(c.model.beta_kl == 0.0);
    assert_int_equal(c.model.cap_user, 1);
    assert_int_equal(c.model.cap_item, 1);
    assert_string_equal(c.data.user_features, "u.txt");
    assert_string_equal(c.data.item_features, "i.txt");
    assert_int_equal(c.data.features_format, FEAT_FORMAT_AUTO);
    assert_int_equal(c.data.missing_features, MISSING_FEATURES_ZERO);

    /* --cap-priors both (= user,item), and a side from --synthetic-features alone */
    c = parse_ok("train --data r.csv --cap-priors both --user-features u.txt --item-features i.txt");
    assert_int_equal(c.model.cap_user, 1);
    assert_int_equal(c.model.cap_item, 1);
    c = parse_ok("train --synthetic ml-100k --synthetic-features 8 --cap-priors item");
    assert_int_equal(c.model.cap_user, 0);
    assert_int_equal(c.model.cap_item, 1);

    /* features without --cap-priors: read and reported, no prior encoder */
    c = parse_ok("train --data r.csv --user-features u.user --item-features m.csv "
                 "--features-format genome --missing-features error");
    assert_int_equal(c.model.cap_user, 0);
    assert_string_equal(c.data.user_features, "u.user");
    assert_int_equal(c.data.features_format, FEAT_FORMAT_GENOME);
    assert_int_equal(c.data.missing_features, MISSING_FEATURES_ERROR);
    c = parse_ok("train --synthetic ml-100k --synthetic-features 8 --cap-priors user "
                 "--cold-users 0.2 --cold-history-ratio 0.5");
    assert_true(c.data.cold_users == 0.2 && c.cold_history_ratio == 0.5);
    assert_int_equal(c.cold_history_given, 1);
    c = parse_ok("train --synthetic 100x50x2000 --synthetic-features 8");
    assert_int_equal(c.data.synthetic_features, 8);
    assert_null(c.data.user_features);

    c = parse_ok("train --synthetic ml-1m --k=1 --encoder=8,8,8,8,8,8,8,8 --act=elu "
                 "--likelihood=gaus --beta-kl=2.5 --cap-priors=item --item-features=f");
    assert_int_equal(c.model.k, 1);
    assert_int_equal(c.model.n_hidden, 8);
    assert_int_equal(c.model.hidden[7], 8);
    assert_int_equal(c.model.act, KERN_ACT_ELU);
    assert_int_equal(c.model.likelihood, KERN_LIK_GAUS);
    assert_true(c.model.beta_kl == 2.5);
    assert_int_equal(c.model.cap_user, 0);
    assert_int_equal(c.model.cap_item, 1);

    c = parse_ok("train --synthetic ml-1m --cap-priors user --user-features f --act sigmoid");
    assert_int_equal(c.model.cap_user, 1);
    assert_int_equal(c.model.cap_item, 0);
    assert_int_equal(c.model.act, KERN_ACT_SIGMOID);
    assert_int_equal(parse_ok("train --synthetic x --act relu").model.act, KERN_ACT_RELU);
    assert_int_equal(parse_ok("train --synthetic x --act tanh").model.act, KERN_ACT_TANH);
    assert_int_equal(parse_ok("train --synthetic x --likelihood pois").model.likelihood,
                     KERN_LIK_POIS);
}

static void test_training_flags(void **state)
{
    bivae_config c = parse_ok("train --synthetic ml-100k --epochs 7 --batch-size 512 "
                              "--lr 3e-4 --seed 18446744073709551615");
    assert_int_equal(c.train.epochs, 7);
    assert_int_equal(c.train.batch_size, 512);
    assert_true(c.train.lr == 3e-4);
    assert_true(c.train.seed == UINT64_MAX);
    assert_true(c.data.seed == UINT64_MAX);   /* the data split / synthetic use it too */

    c = parse_ok("train --synthetic ml-100k --epochs=1 --batch-size=1 --lr=0.5 --seed=0");
    assert_int_equal(c.train.epochs, 1);
    assert_int_equal(c.train.batch_size, 1);
    assert_true(c.train.lr == 0.5);
    assert_true(c.train.seed == 0 && c.data.seed == 0);
}

static void test_system_flags(void **state)
{
    bivae_config c = parse_ok("train --synthetic ml-100k --device cuda --comm nccl "
                              "--precision bf16 --threads 4 --check-replicas "
                              "--comm-timeout 12.5 --first-layer replicated");
    assert_true(c.system.comm_timeout == 12.5);
    assert_int_equal(c.system.first_layer, FIRST_LAYER_REPLICATED);
    assert_int_equal(c.system.device, DEVICE_CUDA);
    assert_int_equal(c.system.comm, COMM_NCCL);
    assert_int_equal(c.system.precision, PRECISION_BF16);
    assert_int_equal(c.system.threads, 4);
    assert_int_equal(c.system.check_replicas, 1);

    c = parse_ok("train --synthetic ml-100k --device=cpu --comm=mpi --precision=fp32 "
                 "--threads=0 --first-layer=sharded");
    assert_int_equal(c.system.first_layer, FIRST_LAYER_SHARDED);
    assert_int_equal(c.system.device, DEVICE_CPU);
    assert_int_equal(c.system.comm, COMM_MPI);
    assert_int_equal(c.system.precision, PRECISION_FP32);
    assert_int_equal(c.system.threads, 0);

    c = parse_ok("train --synthetic ml-100k --device auto --comm auto --precision tf32");
    assert_int_equal(c.system.device, DEVICE_AUTO);
    assert_int_equal(c.system.comm, COMM_AUTO);
    assert_int_equal(c.system.precision, PRECISION_TF32);
}

static void test_output_flags(void **state)
{
    bivae_config c = parse_ok("train --synthetic ml-100k --top-k 20 --eval-every 5 "
                              "--metrics-out m.jsonl --checkpoint-dir ck "
                              "--checkpoint-every 10 --keep 3 --resume --quiet");
    assert_int_equal(c.output.top_k, 20);
    assert_int_equal(c.output.eval_every, 5);
    assert_string_equal(c.output.metrics_out, "m.jsonl");
    assert_string_equal(c.output.checkpoint_dir, "ck");
    assert_int_equal(c.output.checkpoint_every, 10);
    assert_int_equal(c.output.keep, 3);
    assert_int_equal(c.output.resume, 1);
    assert_int_equal(c.output.quiet, 1);

    c = parse_ok("train --synthetic ml-100k --top-k=1 --eval-every=0 --metrics-out=x "
                 "--checkpoint-dir=d --checkpoint-every=0 --keep=1 --overwrite");
    assert_int_equal(c.output.top_k, 1);
    assert_int_equal(c.output.overwrite, 1);
    assert_int_equal(c.output.resume, 0);
    assert_string_equal(c.output.metrics_out, "x");
    assert_string_equal(c.output.checkpoint_dir, "d");
    assert_int_equal(c.output.checkpoint_every, 0);
    assert_int_equal(c.output.keep, 1);
}

static void test_other_commands(void **state)
{
    bivae_config c = parse_ok("eval --model ck/model.pb --train a --test b --top-k 5");
    assert_int_equal(c.command, CMD_EVAL);
    assert_string_equal(c.model_path, "ck/model.pb");
    assert_string_equal(c.data.train_path, "a");
    assert_int_equal(c.output.top_k, 5);

    c = parse_ok("eval --model=m");
    assert_string_equal(c.model_path, "m");
    assert_null(c.data.data_path);

    c = parse_ok("recommend --model m --user 196 --top-k 3 --out r.tsv");
    assert_int_equal(c.command, CMD_RECOMMEND);
    assert_string_equal(c.user, "196");
    assert_null(c.users_file);
    assert_string_equal(c.output.out, "r.tsv");
    assert_int_equal(c.output.top_k, 3);

    c = parse_ok("recommend --model m --users=ids.txt --out -");
    assert_string_equal(c.users_file, "ids.txt");
    assert_string_equal(c.output.out, "-");

    c = parse_ok("recommend --model m --history h.tsv --format tsv");
    assert_string_equal(c.history_file, "h.tsv");
    assert_null(c.user);
    assert_int_equal(c.data.format, DATA_FORMAT_TSV);
    /* cold start from features */
    c = parse_ok("recommend --model m --user-features u.csv --new-items i.csv");
    assert_string_equal(c.data.user_features, "u.csv");
    assert_string_equal(c.new_items_file, "i.csv");

    c = parse_ok("export --model m --out dir");
    assert_int_equal(c.command, CMD_EXPORT);
    assert_string_equal(c.output.out, "dir");

    c = parse_ok("gen --synthetic ml-20m --out r.csv --seed 7");
    assert_int_equal(c.command, CMD_GEN);
    assert_string_equal(c.data.synthetic, "ml-20m");
    assert_true(c.train.seed == 7 && c.data.seed == 7);
}

static void test_help_and_version(void **state)
{
    bivae_config c;
    char *argv[SPLIT_MAX];
    capture out;

    capture_begin(&out, 1);
    int rc = cli_parse(split_args("--version", argv), argv, &c);
    char *text = capture_end(&out);
    assert_int_equal(rc, 0);
    assert_int_equal(c.command, CMD_VERSION);
    assert_string_equal(text, "bivae-dist " BIVAE_VERSION "\n");
    free(text);

    capture_begin(&out, 1);
    rc = cli_parse(split_args("--help", argv), argv, &c);
    text = capture_end(&out);
    assert_int_equal(rc, 0);
    assert_int_equal(c.command, CMD_HELP);
    assert_non_null(strstr(text, "bivae-dist recommend"));
    free(text);
}

/* Every flag of the table was parsed by some test above (a new flag needs a test). */
static void test_every_flag_covered(void **state)
{
    unsigned cmds;
    const char *def, *name;
    int takes_value;
    for (int i = 0; (name = cli_table_entry(i, &cmds, &def, &takes_value)); i++) {
        int found = 0;
        for (int j = 0; j < n_covered && !found; j++)
            found = strcmp(covered[j], name) == 0;
        if (!found)
            print_error("--%s is not covered by a parse test\n", name);
        assert_true(found);
    }
}

/* Every flag is accepted by each command it applies to, with its default as the value
 * (or nothing for a flag), and the default stays the stored value. */
static void test_default_values_parse(void **state)
{
    static const char *const base[] = {
        [CMD_TRAIN] = "train --data f --checkpoint-dir c", [CMD_EVAL] = "eval --model m",
        [CMD_RECOMMEND] = "recommend --model m --user 1",
        [CMD_EXPORT] = "export --model m --out d", [CMD_GEN] = "gen --synthetic x --out f"};
    unsigned cmds;
    const char *def, *name;
    int takes_value;
    for (int i = 0; (name = cli_table_entry(i, &cmds, &def, &takes_value)); i++) {
        if (!def)
            continue;
        for (int cmd = CMD_TRAIN; cmd <= CMD_GEN; cmd++) {
            char line[256];
            char flag[64];
            snprintf(flag, sizeof flag, " --%s ", name);
            if (!(cmds & (1u << cmd)) || strstr(base[cmd], flag))
                continue;
            snprintf(line, sizeof line, "%s --%s %s", base[cmd], name, def);
            bivae_config c = parse_ok(line), d = parse_ok(base[cmd]);
            assert_config_equal(&c, &d);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_minimal_train_keeps_defaults),
        cmocka_unit_test(test_data_flags),
        cmocka_unit_test(test_format_words),
        cmocka_unit_test(test_model_flags),
        cmocka_unit_test(test_training_flags),
        cmocka_unit_test(test_system_flags),
        cmocka_unit_test(test_output_flags),
        cmocka_unit_test(test_other_commands),
        cmocka_unit_test(test_help_and_version),
        cmocka_unit_test(test_default_values_parse),
        cmocka_unit_test(test_every_flag_covered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
