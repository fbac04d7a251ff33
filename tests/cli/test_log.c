/* tests/cli/test_log.c — src/log.c: the progress line, the JSON-lines metrics file (valid
 * JSON, required keys, null for non-finite numbers, flushed per epoch, the run id), the
 * final table, rank != 0 silence, write errors (exit 3), an unusable path (exit 2), and a
 * resumed run's file: the lines of its complete epochs kept, the rest (later epochs, the
 * final line, a cut line) dropped only at run_log_start, foreign lines refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <math.h>

#include "cli/capture.h"
#include "common/check.h"
#include "src/log.h"

/* ---------------------------------------------------------------------------------- */
/* a tiny JSON checker: one object per line; records the top-level keys and values      */

typedef struct json_obj {
    int n;
    char key[32][48];
    char val[32][48];          /* the raw text of the value (scalars), "{" / "[" otherwise */
} json_obj;

static const char *json_value(const char *p);

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

static const char *json_string(const char *p)
{
    if (*p++ != '"')
        return NULL;
    for (; *p && *p != '"'; p++)
        if (*p == '\\' && !*++p)
            return NULL;
        else if ((unsigned char)*p < 0x20)
            return NULL;
    return *p == '"' ? p + 1 : NULL;
}

/* JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static const char *json_number(const char *p)
{
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (isdigit((unsigned char)*p))
            p++;
    else
        return NULL;
    if (*p == '.') {
        if (!isdigit((unsigned char)*++p))
            return NULL;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!isdigit((unsigned char)*p))
            return NULL;
        while (isdigit((unsigned char)*p))
            p++;
    }
    return p;
}

/* Parses {..} or [..] (closing char close) with members (object: key ':' value). */
static const char *json_container(const char *p, char close, json_obj *top)
{
    p = skip_ws(p + 1);
    if (*p == close)
        return p + 1;
    for (;;) {
        const char *v = p;
        if (close == '}') {
            const char *k = p;
            if (!(p = json_string(p)))
                return NULL;
            if (top && top->n < 32)
                snprintf(top->key[top->n], 48, "%.*s", (int)(p - k - 2), k + 1);
            p = skip_ws(p);
            if (*p++ != ':')
                return NULL;
            v = p = skip_ws(p);
        }
        if (!(p = json_value(p)))
            return NULL;
        if (top && top->n < 32)
            snprintf(top->val[top->n++], 48, "%.*s", (int)(p - v), v);
        p = skip_ws(p);
        if (*p == close)
            return p + 1;
        if (*p++ != ',')
            return NULL;
        p = skip_ws(p);
    }
}

static const char *json_value(const char *p)
{
    if (*p == '{')
        return json_container(p, '}', NULL);
    if (*p == '[')
        return json_container(p, ']', NULL);
    if (*p == '"')
        return json_string(p);
    if (strncmp(p, "true", 4) == 0 || strncmp(p, "null", 4) == 0)
        return p + 4;
    if (strncmp(p, "false", 5) == 0)
        return p + 5;
    return json_number(p);
}

/* 0 if line (without its newline) is exactly one JSON object; fills o. */
static int json_parse_line(const char *line, size_t len, json_obj *o)
{
    char buf[4096];
    if (len >= sizeof buf)
        return -1;
    memcpy(buf, line, len);
    buf[len] = '\0';
    memset(o, 0, sizeof *o);
    const char *p = skip_ws(buf);
    if (*p != '{' || !(p = json_container(p, '}', o)))
        return -1;
    return *skip_ws(p) == '\0' ? 0 : -1;
}

static const char *json_get(const json_obj *o, const char *key)
{
    for (int i = 0; i < o->n; i++)
        if (strcmp(o->key[i], key) == 0)
            return o->val[i];
    return NULL;
}

static void test_json_checker_itself(void **state)
{
    json_obj o;
    const char *good = "{\"a\":1,\"b@10\":-0.5e-3,\"c\":null,\"d\":true,\"e\":[1,{}],\"f\":\"x\"}";
    assert_int_equal(json_parse_line(good, strlen(good), &o), 0);
    assert_int_equal(o.n, 6);
    assert_string_equal(json_get(&o, "b@10"), "-0.5e-3");
    static const char *const bad[] = {"{\"a\":nan}", "{\"a\":inf}", "{\"a\":1,}", "{\"a\" 1}",
                                      "{\"a\":01}", "{\"a\":1} x", "{\"a\":1.}", "[1]", "{"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(json_parse_line(bad[i], strlen(bad[i]), &o), -1);
}

/* ---------------------------------------------------------------------------------- */

static epoch_record example_record(void)
{
    epoch_record r = {0};
    r.epoch = 3;
    r.epochs = 100;
    r.loss_item = 123.4567;
    r.loss_user = 45.6789;
    r.seconds = 0.081;
    r.comm_seconds = 0.010;
    r.compute_seconds = 0.071;
    r.allreduce_bytes = 1000;
    r.allgather_bytes = 234;
    r.ratings_per_second = 1.23e6;
    r.eta_seconds = 8;
    return r;
}

static char *progress_of(const epoch_record *rec, int rank, int quiet)
{
    capture err;
    capture_begin(&err, 2);
    run_log *log = run_log_open(rank, NULL, quiet, 1);
    assert_non_null(log);
    run_log_epoch(log, rec);
    int rc = run_log_close(log);
    char *text = capture_end(&err);
    assert_int_equal(rc, 0);
    return text;
}

/* The line of log.h, character for character. */
static void test_progress_line(void **state)
{
    epoch_record r = example_record();
    char *text = progress_of(&r, 0, 0);
    assert_string_equal(text, "epoch   3/100  loss_item 123.4567  loss_user 45.6789  0.081 s "
                              "(comm 0.010 s)  1.23M ratings/s  ETA 8 s\n");
    free(text);
}

static void check_units(double rate, double eta, const char *want_rate, const char *want_eta)
{
    epoch_record r = example_record();
    r.ratings_per_second = rate;
    r.eta_seconds = eta;
    char *text = progress_of(&r, 0, 0);
    char want[64];
    snprintf(want, sizeof want, "  %s ratings/s  ", want_rate);
    if (!strstr(text, want) || !strstr(text, want_eta))
        print_error("got: %s want '%s' and '%s'\n", text, want, want_eta);
    assert_non_null(strstr(text, want));
    assert_non_null(strstr(text, want_eta));
    free(text);
}

static void test_human_units(void **state)
{
    check_units(999, 0, "999", "ETA 0 s\n");
    check_units(12300, 59.4, "12.30k", "ETA 59 s\n");
    check_units(999999, 192, "1.00M", "ETA 3 min 12 s\n");
    check_units(2.5e9, 3900, "2.50G", "ETA 1 h 05 min\n");
    check_units(0, 36000 + 59 * 60, "0", "ETA 10 h 59 min\n");
    check_units(NAN, INFINITY, "?", "ETA ?\n");
}

static void test_quiet_and_other_ranks(void **state)
{
    epoch_record r = example_record();
    char *text = progress_of(&r, 0, 1);
    assert_string_equal(text, "");
    free(text);
    text = progress_of(&r, 1, 0);
    assert_string_equal(text, "");
    free(text);

    /* a rank != 0 neither creates the metrics file nor prints the table */
    char path[] = "/tmp/bivae_log_rank1_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    unlink(path);
    capture out, err;
    capture_begin(&out, 1);
    capture_begin(&err, 2);
    run_log *log = run_log_open(1, path, 0, 2);
    run_log_epoch(log, &r);
    run_log_note(log, "hello %d", 1);
    eval_result m = {0.1, 0.2, 0.3, 0.4, 5, 10};
    run_log_final(log, &m, 1.0);
    int rc = run_log_close(log);
    char *e = capture_end(&err), *o = capture_end(&out);
    assert_int_equal(rc, 0);
    assert_string_equal(e, "");
    assert_string_equal(o, "");
    assert_int_equal(access(path, F_OK), -1);
    free(e);
    free(o);
}

static void test_note(void **state)
{
    capture err;
    capture_begin(&err, 2);
    run_log *log = run_log_open(0, NULL, 0, 1);
    run_log_note(log, "loaded %d ratings", 42);
    run_log_close(log);
    char *text = capture_end(&err);
    assert_string_equal(text, "bivae-dist: loaded 42 ratings\n");
    free(text);

    capture_begin(&err, 2);
    log = run_log_open(0, NULL, 1, 1);
    run_log_note(log, "quiet");
    run_log_close(log);
    text = capture_end(&err);
    assert_string_equal(text, "");
    free(text);
}

/* ---------------------------------------------------------------------------------- */
/* the metrics file                                                                     */

static const char *const epoch_keys[] = {
    "epoch", "loss_item", "loss_user", "seconds", "comm_seconds", "comm_bytes",
    "compute_seconds", "allreduce_bytes", "allgather_bytes"};

static void check_epoch_object(const json_obj *o, int epoch, int with_metrics)
{
    for (size_t i = 0; i < sizeof epoch_keys / sizeof epoch_keys[0]; i++) {
        if (!json_get(o, epoch_keys[i]))
            print_error("missing key %s\n", epoch_keys[i]);
        assert_non_null(json_get(o, epoch_keys[i]));
    }
    assert_int_equal(atoi(json_get(o, "epoch")), epoch);
    assert_string_equal(json_get(o, "comm_bytes"), "1234");
    assert_string_equal(json_get(o, "allreduce_bytes"), "1000");
    assert_string_equal(json_get(o, "allgather_bytes"), "234");
    assert_int_equal(json_get(o, "ndcg@10") != NULL, with_metrics);
    assert_int_equal(json_get(o, "map") != NULL, with_metrics);
    assert_null(json_get(o, "final"));
}

/* Splits text into lines and parses each; returns the count. */
static int parse_lines(const char *text, json_obj *objs, int max)
{
    int n = 0;
    for (const char *p = text; *p; n++) {
        size_t len = strcspn(p, "\n");
        assert_true(n < max);
        assert_int_equal(p[len], '\n');            /* every line is complete */
        if (json_parse_line(p, len, &objs[n]) != 0)
            print_error("not JSON: %.*s\n", (int)len, p);
        assert_int_equal(json_parse_line(p, len, &objs[n]), 0);
        p += len + 1;
    }
    return n;
}

static void make_temp_path(char *path)
{
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
}

static void test_metrics_file(void **state)
{
    char path[] = "/tmp/bivae_log_metrics_XXXXXX";
    make_temp_path(path);
    capture out, err;
    capture_begin(&out, 1);
    capture_begin(&err, 2);
    run_log *log = run_log_open(0, path, 1, 4);
    assert_non_null(log);

    epoch_record r = example_record();
    r.epoch = 1;
    r.loss_item = 123.456789012345;
    run_log_epoch(log, &r);
    char *partial = read_file_text(path);     /* flushed: can be tailed during a run */
    assert_int_equal(count_lines(partial), 1);
    free(partial);

    r.epoch = 2;
    r.loss_user = NAN;
    r.eta_seconds = INFINITY;
    r.has_metrics = 1;
    r.metrics = (eval_result){0.1446, 0.4731, 0.4127, 0.2247, 943, 10};
    run_log_epoch(log, &r);
    eval_result m = {0.15, 0.48, 0.42, 0.23, 943, 10};
    run_log_final(log, &m, 12.5);
    int rc = run_log_close(log);
    char *e = capture_end(&err), *o = capture_end(&out);
    assert_int_equal(rc, 0);
    assert_string_equal(e, "");

    char *text = read_file_text(path);
    json_obj objs[4];
    assert_int_equal(parse_lines(text, objs, 4), 3);
    check_epoch_object(&objs[0], 1, 0);
    check_epoch_object(&objs[1], 2, 1);
    assert_true(fabs(strtod(json_get(&objs[0], "loss_item"), NULL) - 123.456789012345) < 1e-9);
    assert_string_equal(json_get(&objs[1], "loss_user"), "null");
    assert_string_equal(json_get(&objs[1], "eta_seconds"), "null");
    assert_true(strtod(json_get(&objs[1], "ndcg@10"), NULL) == 0.4731);
    assert_string_equal(json_get(&objs[1], "users"), "943");

    const json_obj *f = &objs[2];
    assert_string_equal(json_get(f, "final"), "true");
    assert_true(strtod(json_get(f, "map"), NULL) == 0.15);
    assert_true(strtod(json_get(f, "ndcg@10"), NULL) == 0.48);
    assert_true(strtod(json_get(f, "precision@10"), NULL) == 0.42);
    assert_true(strtod(json_get(f, "recall@10"), NULL) == 0.23);
    assert_string_equal(json_get(f, "users"), "943");
    assert_true(strtod(json_get(f, "train_seconds"), NULL) == 12.5);

    /* the final table on stdout */
    assert_string_equal(o, "metric        @10\n"
                           "MAP           0.1500\n"
                           "NDCG          0.4800\n"
                           "Precision     0.4200\n"
                           "Recall        0.2300\n"
                           "users         943\n");
    if (system("command -v python3 >/dev/null 2>&1") == 0) {   /* a second opinion */
        char cmd[256];
        snprintf(cmd, sizeof cmd, "python3 -c 'import json,sys; "
                 "[json.loads(l) for l in open(sys.argv[1])]' %s", path);
        assert_int_equal(system(cmd), 0);
    }
    free(text);
    free(e);
    free(o);
    unlink(path);
}

/* The K of the keys follows top_k; a final without metrics (no test data) has none. */
static void test_final_keys(void **state)
{
    char path[] = "/tmp/bivae_log_final_XXXXXX";
    make_temp_path(path);
    capture out;
    capture_begin(&out, 1);
    run_log *log = run_log_open(0, path, 0, 1);
    eval_result m = {0.1, 0.2, 0.3, NAN, 7, 20};
    run_log_final(log, &m, 1.0);
    run_log_final(log, NULL, 2.0);
    assert_int_equal(run_log_close(log), 0);
    char *o = capture_end(&out);
    assert_non_null(strstr(o, "metric        @20\n"));
    char *text = read_file_text(path);
    json_obj objs[3];
    assert_int_equal(parse_lines(text, objs, 3), 2);
    assert_non_null(json_get(&objs[0], "ndcg@20"));
    assert_null(json_get(&objs[0], "ndcg@10"));
    assert_string_equal(json_get(&objs[0], "recall@20"), "null");
    assert_string_equal(json_get(&objs[1], "final"), "true");
    assert_null(json_get(&objs[1], "map"));
    free(o);
    free(text);
    unlink(path);
}

/* Write errors: one line, exit 3 from run_log_close. */
static void test_write_error(void **state)
{
    if (access("/dev/full", W_OK) != 0) {
        skip();
    }
    capture err;
    capture_begin(&err, 2);
    run_log *log = run_log_open(0, "/dev/full", 1, 1);
    assert_non_null(log);
    epoch_record r = example_record();
    run_log_epoch(log, &r);
    int rc = run_log_close(log);
    char *e = capture_end(&err);
    assert_int_equal(rc, BIVAE_EXIT_RUNTIME);
    assert_int_equal(count_lines(e), 1);
    assert_non_null(strstr(e, "bivae-dist: error: cannot write --metrics-out /dev/full: "));
    free(e);
}

static void test_open_error(void **state)
{
    capture err;
    capture_begin(&err, 2);
    run_log *log = run_log_open(0, "/dev/null/m.jsonl", 0, 1);
    char *e = capture_end(&err);
    assert_null(log);
    assert_int_equal(count_lines(e), 1);
    assert_non_null(strstr(e, "bivae-dist: error: --metrics-out /dev/null/m.jsonl: cannot "
                              "create its folder: /dev/null: not a directory"));
    free(e);
    char msg[1024];
    log = run_log_open(0, NULL, 1, 1);
    assert_int_equal(run_log_open_metrics(log, "/tmp", "", -1, msg, sizeof msg), BIVAE_EXIT_USAGE);
    assert_string_equal(msg, "--metrics-out /tmp: cannot open: Is a directory");
    assert_int_equal(run_log_close(log), 0);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

#define R "\"run\":\"20240101T000000Z-00aa\""
#define RUN "20240101T000000Z-00aa"

/* A resumed run with 2 complete epochs: lines of epochs 1-2 kept (one without a run id:
 * a legacy line), epoch 3, the final line and a cut line dropped, at run_log_start only. */
static void test_resume_keeps_complete_epochs(void **state)
{
    char path[] = "/tmp/bivae_log_resume_XXXXXX", err[1024];
    make_temp_path(path);
    const char *before = "{\"epoch\":1,\"epochs\":5}\n"
                         "{\"epoch\":2,\"epochs\":5," R "}\n"
                         "{\"epoch\":3,\"epochs\":5," R "}\n"
                         "{\"final\":true," R "}\n"
                         "{\"epoch\":4,\"epo";
    write_text(path, before);
    capture e;
    capture_begin(&e, 2);
    run_log *log = run_log_open(0, NULL, 0, 1);
    assert_int_equal(run_log_open_metrics(log, path, RUN, 2, err, sizeof err), 0);
    char *text = read_file_text(path);
    assert_string_equal(text, before);            /* nothing changed before the start */
    free(text);
    assert_int_equal(run_log_start(log, err, sizeof err), 0);
    epoch_record r = example_record();
    r.epoch = 3;
    run_log_epoch(log, &r);
    assert_int_equal(run_log_close(log), 0);
    char *note = capture_end(&e);
    assert_non_null(strstr(note, "kept the lines of 2 epoch(s), dropped 3 line(s) past the "
                                 "checkpoint"));
    text = read_file_text(path);
    const char *kept = "{\"epoch\":1,\"epochs\":5}\n{\"epoch\":2,\"epochs\":5," R "}\n";
    assert_memory_equal(text, kept, strlen(kept));
    json_obj objs[4];
    assert_int_equal(parse_lines(text, objs, 4), 3);
    assert_string_equal(json_get(&objs[2], "epoch"), "3");
    assert_string_equal(json_get(&objs[2], "run"), "\"" RUN "\"");
    free(note);
    free(text);
    unlink(path);
}

/* Lines that are not a metrics line of this run: exit 2 naming FILE:LINE, file as it was. */
static void test_resume_refuses_foreign_lines(void **state)
{
    static const char *const files[] = {
        "{\"epoch\":1,\"epochs\":5," R "}\nmy own note\n",
        "{\"epoch\":1,\"epochs\":5,\"run\":\"20240101T000000Z-00bb\"}\n",
    };
    static const char *const want[] = {":2: not a line of a bivae-dist metrics file",
                                       ":1: a metrics line of run 20240101T000000Z-00bb, "
                                       "but this run is " RUN};
    for (int i = 0; i < 2; i++) {
        char path[] = "/tmp/bivae_log_foreign_XXXXXX", err[1024];
        make_temp_path(path);
        write_text(path, files[i]);
        run_log *log = run_log_open(0, NULL, 1, 1);
        assert_int_equal(run_log_open_metrics(log, path, RUN, 1, err, sizeof err),
                         BIVAE_EXIT_USAGE);
        if (!strstr(err, want[i]))
            print_error("%s\n", err);
        assert_non_null(strstr(err, want[i]));
        assert_int_equal(run_log_close(log), 0);
        char *text = read_file_text(path);
        assert_string_equal(text, files[i]);
        free(text);
        unlink(path);
    }
}

/* A file made for a run that never starts is removed again; an existing one is kept. */
/* run_log_set_hosts: "hosts" and "ranks_per_host" (a number when every host runs as many
 * ranks, else a list in host order) on the epoch lines after it; none before. */
static void test_hosts_in_epoch_lines(void **state)
{
    (void)state;
    char path[] = "/tmp/bivae_log_hosts_XXXXXX";
    make_temp_path(path);
    run_log *log = run_log_open(0, path, 1, 3);
    assert_non_null(log);
    epoch_record r = example_record();
    r.epoch = 1;
    run_log_epoch(log, &r);
    run_log_set_hosts(log, 2, (const int[]){2, 1});
    r.epoch = 2;
    run_log_epoch(log, &r);
    run_log_set_hosts(log, 3, (const int[]){1, 1, 1});
    r.epoch = 3;
    run_log_epoch(log, &r);
    assert_int_equal(run_log_close(log), 0);
    char *text = read_file_text(path);
    json_obj objs[3];
    assert_int_equal(parse_lines(text, objs, 3), 3);
    assert_null(json_get(&objs[0], "hosts"));
    assert_null(json_get(&objs[0], "ranks_per_host"));
    assert_string_equal(json_get(&objs[1], "hosts"), "2");
    assert_non_null(strstr(text, ",\"hosts\":2,\"ranks_per_host\":[2,1]}\n"));
    assert_string_equal(json_get(&objs[2], "hosts"), "3");
    assert_string_equal(json_get(&objs[2], "ranks_per_host"), "1");
    free(text);
    unlink(path);
}

static void test_unstarted_run_leaves_no_file(void **state)
{
    char dir[] = "/tmp/bivae_log_dir_XXXXXX", path[128], err[1024];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/sub/m.jsonl", dir);
    run_log *log = run_log_open(0, NULL, 1, 1);
    assert_int_equal(run_log_open_metrics(log, path, RUN, -1, err, sizeof err), 0);
    assert_int_equal(access(path, F_OK), 0);      /* made, with its folder */
    assert_int_equal(run_log_close(log), 0);
    assert_int_equal(access(path, F_OK), -1);
    write_text(path, "{\"epoch\":1,\"epochs\":5}\n");
    log = run_log_open(0, NULL, 1, 1);
    assert_int_equal(run_log_open_metrics(log, path, RUN, -1, err, sizeof err), 0);
    assert_int_equal(run_log_close(log), 0);
    char *text = read_file_text(path);
    assert_string_equal(text, "{\"epoch\":1,\"epochs\":5}\n");
    free(text);
    unlink(path);
    snprintf(path, sizeof path, "%s/sub", dir);
    rmdir(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_checker_itself),
        cmocka_unit_test(test_progress_line),
        cmocka_unit_test(test_human_units),
        cmocka_unit_test(test_quiet_and_other_ranks),
        cmocka_unit_test(test_note),
        cmocka_unit_test(test_metrics_file),
        cmocka_unit_test(test_final_keys),
        cmocka_unit_test(test_write_error),
        cmocka_unit_test(test_open_error),
        cmocka_unit_test(test_resume_keeps_complete_epochs),
        cmocka_unit_test(test_resume_refuses_foreign_lines),
        cmocka_unit_test(test_unstarted_run_leaves_no_file),
        cmocka_unit_test(test_hosts_in_epoch_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
