/* tests/partition/test_reader.c — fields, line parsing, format detection and byte ranges
 * (partition/reader.h), without a communicator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "partition/fields.h"
#include "partition/reader.h"
#include "test_util.h"

/* ---- fields --------------------------------------------------------------------- */

static int id_of(const char *s, int64_t *v)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", s);
    field f = {buf, strlen(buf)};
    return field_parse_id(&f, v);
}

static void test_parse_id(void **state)
{
    (void)state;
    int64_t v = 0;
    assert_int_equal(id_of("123", &v), PARSE_OK);
    assert_int_equal(v, 123);
    assert_int_equal(id_of("-5", &v), PARSE_OK);
    assert_int_equal(v, -5);
    assert_int_equal(id_of("9223372036854775807", &v), PARSE_OK);
    assert_true(v == INT64_MAX);
    assert_int_equal(id_of("-9223372036854775808", &v), PARSE_OK);
    assert_true(v == INT64_MIN);
    assert_int_equal(id_of("9223372036854775808", &v), PARSE_RANGE);
    assert_int_equal(id_of("-9223372036854775809", &v), PARSE_RANGE);
    assert_int_equal(id_of("123456789012345678901234567890", &v), PARSE_RANGE);
    assert_int_equal(id_of("", &v), PARSE_BAD);
    assert_int_equal(id_of("-", &v), PARSE_BAD);
    assert_int_equal(id_of("12a", &v), PARSE_BAD);
    assert_int_equal(id_of("1.5", &v), PARSE_BAD);
    assert_int_equal(id_of("99999999999999999999x", &v), PARSE_BAD);
}

static int rating_of(const char *s, float *r)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", s);
    field f = {buf, strlen(buf)};
    return field_parse_rating(&f, r);
}

static void test_parse_rating(void **state)
{
    (void)state;
    float r = 0;
    const char *ok[] = {"4", "3.5", "0.25", ".5", "4.", "1e1", "-2", "3.700000000000000000001"};
    const float want[] = {4.0f, 3.5f, 0.25f, 0.5f, 4.0f, 10.0f, -2.0f, 3.7f};
    for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
        assert_int_equal(rating_of(ok[k], &r), PARSE_OK);
        assert_true(r == want[k]);
    }
    assert_int_equal(rating_of("abc", &r), PARSE_BAD);
    assert_int_equal(rating_of("4x", &r), PARSE_BAD);
    assert_int_equal(rating_of("", &r), PARSE_BAD);
    assert_int_equal(rating_of("nan", &r), PARSE_RANGE);
    assert_int_equal(rating_of("inf", &r), PARSE_RANGE);
    assert_int_equal(rating_of("1e999", &r), PARSE_RANGE);
    assert_int_equal(rating_of("1e300", &r), PARSE_RANGE);      /* not finite as a float */
}

static void test_fields_split(void **state)
{
    (void)state;
    char a[] = "1::22::3::4", b[] = " 7 , 8 ,", c[] = "x";
    field f[3];
    assert_int_equal(field_split(a, strlen(a), "::", f, 3), 4);
    assert_int_equal(f[1].n, 2);
    assert_memory_equal(f[1].p, "22", 2);
    assert_int_equal(field_split(b, strlen(b), ",", f, 3), 3);
    assert_memory_equal(f[0].p, "7", 1);
    assert_int_equal(f[0].n, 1);
    assert_int_equal(f[2].n, 0);
    assert_int_equal(field_split(c, 1, ",", f, 3), 1);
}

/* ---- one line ------------------------------------------------------------------- */

typedef struct line_case {
    data_format fmt;
    int first;
    const char *text;
    int want;               /* 1 rating, 0 nothing, -1 error */
    int64_t u, i;
    float r;
    const char *msg;        /* substring of the error */
} line_case;

static void test_parse_line(void **state)
{
    (void)state;
    const line_case cases[] = {
        {DATA_FORMAT_ML100K, 0, "196\t242\t3\t881250949", 1, 196, 242, 3, NULL},
        {DATA_FORMAT_ML1M, 0, "1::1193::5::978300760", 1, 1, 1193, 5, NULL},
        {DATA_FORMAT_ML20M, 1, "userId,movieId,rating,timestamp", 0, 0, 0, 0, NULL},
        {DATA_FORMAT_ML20M, 1, "\xEF\xBB\xBFuserId,movieId,rating,timestamp\r", 0, 0, 0, 0, NULL},
        {DATA_FORMAT_ML20M, 0, "1,2,3.5,1112486027", 1, 1, 2, 3.5f, NULL},
        {DATA_FORMAT_ML20M, 1, "1,2,3.5,1112486027", -1, 0, 0, 0, "missing header 'userId,movieId,rating,timestamp'"},
        {DATA_FORMAT_CSV, 0, "10,20", 1, 10, 20, 1.0f, NULL},
        {DATA_FORMAT_CSV, 0, "10,20,", 1, 10, 20, 1.0f, NULL},
        {DATA_FORMAT_CSV, 0, "10,20,2.5,x,y", 1, 10, 20, 2.5f, NULL},
        {DATA_FORMAT_CSV, 1, "user,item,rating", 0, 0, 0, 0, NULL},
        {DATA_FORMAT_CSV, 1, "\xEF\xBB\xBF" "5,6\r", 1, 5, 6, 1.0f, NULL},
        {DATA_FORMAT_CSV, 0, "user,item,rating", -1, 0, 0, 0, "user id 'user' is not an integer"},
        {DATA_FORMAT_TSV, 1, "u\ti", 0, 0, 0, 0, NULL},
        {DATA_FORMAT_TSV, 0, "3\t4\t5\r", 1, 3, 4, 5, NULL},
        {DATA_FORMAT_TSV, 0, "  \r", 0, 0, 0, 0, NULL},
        {DATA_FORMAT_TSV, 0, "", 0, 0, 0, 0, NULL},
        {DATA_FORMAT_TSV, 0, "3", -1, 0, 0, 0, "found 1 field, need at least 2"},
        {DATA_FORMAT_ML1M, 0, "1::2", -1, 0, 0, 0, "found 2 fields, need at least 3"},
        {DATA_FORMAT_ML100K, 0, "1\tx7\t3\t0", -1, 0, 0, 0, "item id 'x7' is not an integer"},
        {DATA_FORMAT_TSV, 0, "99999999999999999999\t1", -1, 0, 0, 0, "user id out of range"},
        {DATA_FORMAT_TSV, 0, "1\t2\tnan", -1, 0, 0, 0, "rating 'nan' is not finite"},
        {DATA_FORMAT_CSV, 0, "1,2,good", -1, 0, 0, 0, "rating 'good' is not a number"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const line_case *c = &cases[k];
        char line[256], msg[512] = "";
        int64_t u = 0, i = 0;
        float r = 0;
        snprintf(line, sizeof line, "%s", c->text);
        int got = reader_parse_line(c->fmt, line, strlen(line), c->first, &u, &i, &r, msg, sizeof msg);
        if (got != c->want)
            fail_msg("case %zu (%s): got %d, want %d (%s)", k, c->text, got, c->want, msg);
        if (got == 1 && (u != c->u || i != c->i || r != c->r))
            fail_msg("case %zu: got %lld %lld %g", k, (long long)u, (long long)i, r);
        if (got < 0 && !strstr(msg, c->msg))
            fail_msg("case %zu: message '%s' lacks '%s'", k, msg, c->msg);
    }
}

/* ---- detection ------------------------------------------------------------------ */

/* Detects the format of a file written with content; msg (if not NULL) gets the error. */
static int detect(const char *name, const char *content, data_format *fmt, read_error *msg)
{
    const char *path = test_write_str(name, content);
    read_error err = {0, ""};
    int64_t size = 0;
    int fd = reader_open(path, &size, &err);
    assert_true(fd >= 0);
    int rc = reader_detect(fd, path, size, fmt, &err);
    close(fd);
    if (msg)
        *msg = err;
    return rc;
}

static void test_detect(void **state)
{
    (void)state;
    const struct { const char *name, *content; data_format want; } cases[] = {
        {"u.data", "1,2,3\n", DATA_FORMAT_ML100K},
        {"ml.data", "1\t2\t3\t4\n", DATA_FORMAT_ML100K},
        {"ratings.dat", "1::2::3::4\n", DATA_FORMAT_ML1M},
        {"other.DAT", "x", DATA_FORMAT_ML1M},
        {"ratings.csv", "userId,movieId,rating,timestamp\n1,2,3,4\n", DATA_FORMAT_ML20M},
        {"bom.csv", "\xEF\xBB\xBFuserId,movieId,rating,timestamp\n", DATA_FORMAT_ML20M},
        {"plain.csv", "user,item\n1,2\n", DATA_FORMAT_CSV},
        {"x.tsv", "1,2\n", DATA_FORMAT_TSV},
        {"noext1", "1::2::3::4\n", DATA_FORMAT_ML1M},
        {"noext2", "1\t2\t3\n", DATA_FORMAT_TSV},
        {"noext3", "1,2\n", DATA_FORMAT_CSV},
        {"empty", "", DATA_FORMAT_TSV},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        data_format f = DATA_FORMAT_AUTO;
        assert_int_equal(detect(cases[k].name, cases[k].content, &f, NULL), 0);
        if (f != cases[k].want)
            fail_msg("%s: detected %s, want %s", cases[k].name, data_format_name(f),
                     data_format_name(cases[k].want));
    }
    data_format f;
    static read_error e;
    assert_int_equal(detect("spaces.txt", "1 2 3\n", &f, &e), -1);
    assert_non_null(strstr(e.msg, "cannot tell the format of"));
    assert_non_null(strstr(e.msg, "spaces.txt"));
    assert_non_null(strstr(e.msg, "--format"));
}

static void test_open_errors(void **state)
{
    (void)state;
    read_error err = {0, ""};
    int64_t size;
    const char *missing = test_path("missing.tsv");
    assert_int_equal(reader_open(missing, &size, &err), -1);
    char want[600];
    snprintf(want, sizeof want, "cannot open %s: No such file or directory", missing);
    assert_string_equal(err.msg, want);
    assert_int_equal(reader_open("/", &size, &err), -1);
    assert_non_null(strstr(err.msg, "Is a directory"));
}

/* ---- byte ranges ---------------------------------------------------------------- */

typedef struct triplets { int64_t v[4096][3]; size_t n; } triplets;

static void collect(void *ctx, int64_t u, int64_t i, float r)
{
    triplets *t = ctx;
    assert_true(t->n < 4096);
    t->v[t->n][0] = u;
    t->v[t->n][1] = i;
    t->v[t->n][2] = (int64_t)(r * 2);
    t->n++;
}

/* Parses [begin, end) of path, appending to t; returns lines and (on error) err->line. */
static int parse(const char *path, data_format fmt, int64_t begin, int64_t end, triplets *t,
                 range_stats *st, read_error *err)
{
    int64_t size;
    int fd = reader_open(path, &size, err);
    assert_true(fd >= 0);
    int rc = reader_parse_range(fd, path, fmt, begin, end, collect, t, st, err);
    close(fd);
    return rc;
}

/* A file with a header, CRLF and LF lines, blank lines, a line longer than the reader's
 * 1 MiB chunk, and no final newline. */
static const char *tricky_file(int64_t *size, char **body)
{
    size_t cap = 3u << 20, n = 0;
    char *s = malloc(cap);
    n += (size_t)sprintf(s + n, "\xEF\xBB\xBFuser,item,rating,timestamp\r\n");
    for (int k = 1; k <= 40; k++) {
        n += (size_t)sprintf(s + n, "%d,%d,%d.5,%d%s", k, 100 + k % 7, k % 5, k,
                             k % 3 ? "\n" : "\r\n");
        if (k % 11 == 0)
            n += (size_t)sprintf(s + n, "\n  \r\n");
        if (k == 20) {                                    /* one very long line */
            n += (size_t)sprintf(s + n, "777,778,4,");
            memset(s + n, '9', (size_t)2 << 20);
            n += (size_t)2 << 20;
            s[n++] = '\n';
        }
    }
    n += (size_t)sprintf(s + n, "41,141,1");              /* no final newline */
    *size = (int64_t)n;
    *body = s;
    return test_write("tricky.csv", s, n);
}

static void test_ranges_cover_every_line_once(void **state)
{
    (void)state;
    int64_t size;
    char *body;
    const char *path = tricky_file(&size, &body);
    static triplets whole, parts;
    range_stats st, st2;
    read_error err;
    whole.n = 0;
    assert_int_equal(parse(path, DATA_FORMAT_CSV, 0, size, &whole, &st, &err), 0);
    assert_int_equal(whole.n, 42);                        /* 40 + the long one + the last */
    int64_t lines = st.lines;
    /* two ranges cut at every byte around the interesting places, and P = 1..9 */
    for (int64_t cut = 0; cut <= size; cut += cut < 2000 || cut > size - 2000 ? 1 : 4099) {
        parts.n = 0;
        assert_int_equal(parse(path, DATA_FORMAT_CSV, 0, cut, &parts, &st, &err), 0);
        assert_int_equal(parse(path, DATA_FORMAT_CSV, cut, size, &parts, &st2, &err), 0);
        assert_int_equal(st.lines + st2.lines, lines);
        assert_int_equal(parts.n, whole.n);
        assert_memory_equal(parts.v, whole.v, whole.n * sizeof whole.v[0]);
    }
    for (int P = 1; P <= 9; P++) {
        parts.n = 0;
        int64_t total = 0, b, e, prev_end = 0;
        for (int r = 0; r < P; r++) {
            reader_range(size, r, P, &b, &e);
            assert_int_equal(b, prev_end);
            prev_end = e;
            assert_int_equal(parse(path, DATA_FORMAT_CSV, b, e, &parts, &st, &err), 0);
            total += st.lines;
        }
        assert_int_equal(prev_end, size);
        assert_int_equal(total, lines);
        assert_memory_equal(parts.v, whole.v, whole.n * sizeof whole.v[0]);
    }
    free(body);
}

/* The bad line 7 gets number 7 however the file is cut in two. */
static void test_range_error_line_numbers(void **state)
{
    (void)state;
    char text[512];
    size_t n = 0;
    for (int k = 1; k <= 12; k++)
        n += (size_t)sprintf(text + n, k == 7 ? "%d\tbad\t1\n" : "%d\t%d\t1\n", k, k);
    const char *path = test_write("bad7.tsv", text, n);
    static triplets t;
    for (int64_t cut = 0; cut <= (int64_t)n; cut++) {
        range_stats st0, st1;
        read_error e0 = {0, ""}, e1 = {0, ""};
        t.n = 0;
        int rc0 = parse(path, DATA_FORMAT_TSV, 0, cut, &t, &st0, &e0);
        int rc1 = parse(path, DATA_FORMAT_TSV, cut, (int64_t)n, &t, &st1, &e1);
        assert_int_equal(rc0 + rc1, -1);                  /* exactly one range has it */
        int64_t line = rc0 ? e0.line : st0.lines + e1.line;
        assert_int_equal(line, 7);
        assert_non_null(strstr(rc0 ? e0.msg : e1.msg, "item id 'bad' is not an integer"));
    }
}

static void test_long_field_error_is_short(void **state)
{
    (void)state;
    size_t n = (size_t)3 << 20;
    char *s = malloc(n + 8);
    memset(s, '7', n);
    memcpy(s + n, "\t1\t5\n", 5);
    const char *path = test_write("longid.tsv", s, n + 5);
    static triplets t;
    range_stats st;
    read_error err;
    t.n = 0;
    assert_int_equal(parse(path, DATA_FORMAT_TSV, 0, (int64_t)n + 5, &t, &st, &err), -1);
    assert_int_equal(err.line, 1);
    assert_non_null(strstr(err.msg, "user id out of range"));
    assert_true(strlen(err.msg) < 120);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_id),
        cmocka_unit_test(test_parse_rating),
        cmocka_unit_test(test_fields_split),
        cmocka_unit_test(test_parse_line),
        cmocka_unit_test(test_detect),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_ranges_cover_every_line_once),
        cmocka_unit_test(test_range_error_line_numbers),
        cmocka_unit_test(test_long_field_error_is_short),
    };
    return cmocka_run_group_tests(tests, test_tmpdir_setup, test_tmpdir_teardown);
}
