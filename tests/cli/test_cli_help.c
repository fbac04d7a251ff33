/* tests/cli/test_cli_help.c — --help of each command lists every flag of the table that
 * applies to it, with its default, grouped as docs/cli.md groups them; nothing else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cli/capture.h"
#include "cli/cli_table.h"
#include "common/check.h"
#include "src/cli.h"

static const char *const cmd_names[] = {
    [CMD_TRAIN] = "train", [CMD_EVAL] = "eval", [CMD_RECOMMEND] = "recommend",
    [CMD_EXPORT] = "export", [CMD_GEN] = "gen"};

static char *help_text(bivae_command cmd)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    cli_print_help(f, cmd);
    assert_int_equal(fclose(f), 0);
    return buf;
}

/* The entry of --name in help: from its line up to the next flag line or blank line;
 * NULL when no line starts with "  --name" followed by a space or a newline. Returns a
 * malloc'd copy. */
static char *find_entry(const char *help, const char *name)
{
    char pat[64];
    size_t plen = (size_t)snprintf(pat, sizeof pat, "\n  --%s", name);
    for (const char *p = strstr(help, pat); p; p = strstr(p + 1, pat)) {
        char next = p[plen];
        if (next != ' ' && next != '\n')
            continue;
        const char *start = p + 1, *end = start;
        do {
            end = strchr(end, '\n');
            end = end ? end + 1 : start + strlen(start);
        } while (*end == ' ' && strncmp(end, "  --", 4) != 0);
        char *entry = malloc((size_t)(end - start) + 1);
        memcpy(entry, start, (size_t)(end - start));
        entry[end - start] = '\0';
        return entry;
    }
    return NULL;
}

static void test_every_flag_with_default(void **state)
{
    unsigned cmds;
    const char *def, *name;
    int takes_value, checked = 0;
    for (int cmd = CMD_TRAIN; cmd <= CMD_GEN; cmd++) {
        char *help = help_text(cmd);
        for (int i = 0; (name = cli_table_entry(i, &cmds, &def, &takes_value)); i++) {
            char *entry = find_entry(help, name);
            if (!(cmds & (1u << cmd))) {
                if (entry)
                    print_error("%s --help lists --%s\n", cmd_names[cmd], name);
                assert_null(entry);
                continue;
            }
            if (!entry)
                print_error("%s --help misses --%s:\n%s\n", cmd_names[cmd], name, help);
            assert_non_null(entry);
            char want[96];
            snprintf(want, sizeof want, "(default: %s)",
                     def ? def : takes_value ? "none" : "off");
            if (!strstr(entry, want))
                print_error("entry of --%s lacks '%s':\n%s\n", name, want, entry);
            assert_non_null(strstr(entry, want));
            free(entry);
            checked++;
        }
        free(help);
    }
    assert_true(checked > 30);
}

/* Defaults that docs/cli.md states, as the help shows them. */
static void test_documented_defaults(void **state)
{
    static const char *const want[][2] = {
        {"k", "10"}, {"encoder", "20"}, {"act", "tanh"}, {"likelihood", "pois"},
        {"beta-kl", "1.0"}, {"epochs", "100"}, {"batch-size", "100"}, {"lr", "0.001"},
        {"seed", "42"}, {"device", "auto"}, {"comm", "auto"}, {"precision", "fp32"},
        {"threads", "0"}, {"top-k", "10"}, {"eval-every", "0"}, {"test-ratio", "0.25"},
        {"format", "auto"}, {"min-rating", "none"}, {"cap-priors", "none"},
        {"id-order", "permuted"}, {"features-format", "auto"}, {"missing-features", "zero"},
        {"synthetic-features", "0"}};
    char *help = help_text(CMD_TRAIN);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char *entry = find_entry(help, want[i][0]);
        char d[64];
        snprintf(d, sizeof d, "(default: %s)", want[i][1]);
        assert_non_null(entry);
        assert_non_null(strstr(entry, d));
        free(entry);
    }
    free(help);
}

/* Enum flags list their words; groups come in the order of cli.md. */
static void test_words_and_groups(void **state)
{
    char *help = help_text(CMD_TRAIN);
    char *entry = find_entry(help, "act");
    assert_non_null(strstr(entry, "sigmoid|tanh|elu|relu|relu6"));
    free(entry);
    entry = find_entry(help, "format");
    assert_non_null(strstr(entry, "auto|ml-100k|ml-1m|ml-20m|csv|tsv"));
    free(entry);
    static const char *const groups[] = {"\ndata:\n", "\nmodel:\n", "\ntraining:\n",
                                         "\nsystem:\n", "\noutput:\n"};
    const char *prev = help;
    for (int g = 0; g < 5; g++) {
        const char *at = strstr(help, groups[g]);
        assert_non_null(at);
        assert_true(at > prev);
        prev = at;
    }
    /* each flag sits under its group: --k after model:, before training: */
    assert_true(strstr(help, "\n  --k ") > strstr(help, "\nmodel:\n"));
    assert_true(strstr(help, "\n  --k ") < strstr(help, "\ntraining:\n"));
    assert_true(strstr(help, "\n  --quiet ") > strstr(help, "\noutput:\n"));
    free(help);
}

/* cli_parse of LINE prints exactly cli_print_help(CMD) on stdout and asks for nothing else. */
static void expect_help(const char *line, int cmd)
{
    char buf[64], *argv[SPLIT_MAX];
    snprintf(buf, sizeof buf, "%s", line);
    bivae_config cfg;
    capture out;
    capture_begin(&out, 1);
    int rc = cli_parse(split_args(buf, argv), argv, &cfg);
    char *text = capture_end(&out);
    char *want = help_text(cmd);
    assert_int_equal(rc, 0);
    assert_int_equal(cfg.command, CMD_HELP);
    assert_string_equal(text, want);
    assert_non_null(strstr(text, cmd_names[cmd]));
    free(text);
    free(want);
}

/* "bivae-dist CMD --help" prints exactly cli_print_help(CMD) on stdout. */
static void test_command_help_through_parse(void **state)
{
    for (int cmd = CMD_TRAIN; cmd <= CMD_GEN; cmd++) {
        char line[64];
        snprintf(line, sizeof line, "%s --k 0 --help", cmd_names[cmd]);
        expect_help(line, cmd);
    }
}

/* "bivae-dist --help CMD" (and -h CMD) prints CMD's help, as "bivae-dist CMD --help" does. */
static void test_help_before_command(void **state)
{
    for (int cmd = CMD_TRAIN; cmd <= CMD_GEN; cmd++)
        for (int dash = 0; dash < 2; dash++) {
            char line[64];
            snprintf(line, sizeof line, "%s %s", dash ? "-h" : "--help", cmd_names[cmd]);
            expect_help(line, cmd);
        }
}

static void test_overview(void **state)
{
    char *help = help_text(CMD_NONE);
    for (int cmd = CMD_TRAIN; cmd <= CMD_GEN; cmd++) {
        char want[64];
        snprintf(want, sizeof want, "bivae-dist %s ", cmd_names[cmd]);
        assert_non_null(strstr(help, want));
    }
    assert_non_null(strstr(help, "--version"));
    assert_null(strstr(help, "\n  --k "));     /* flags are in the command help */
    free(help);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_flag_with_default),
        cmocka_unit_test(test_documented_defaults),
        cmocka_unit_test(test_words_and_groups),
        cmocka_unit_test(test_command_help_through_parse),
        cmocka_unit_test(test_help_before_command),
        cmocka_unit_test(test_overview),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
