/* tests/partition/test_reader.c — raw ids, fields, line layouts, format detection, byte
 * ranges and compressed input (partition/rawid.h, fields.h, lineformat.h, reader.h),
 * without a communicator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#ifdef BIVAE_HAVE_ZSTD
#include <zstd.h>
#endif

#include "partition/fields.h"
#include "partition/lineformat.h"
#include "partition/rawid.h"
#include "partition/reader.h"
#include "test_util.h"

/* ---- raw ids ------------------------------------------------------------------------ */

static raw_id_status id_of(const char *s, raw_id *id)
{
    unsigned char bad = 0;
    return raw_id_parse(s, strlen(s), id, &bad);
}

static void test_raw_ids(void **state)
{
    (void)state;
    raw_id a, b;
    const struct { const char *s; int is_int; int64_t v; } ok[] = {
        {"123", 1, 123}, {"0", 1, 0}, {"-5", 1, -5}, {"9223372036854775807", 1, INT64_MAX},
        {"-9223372036854775808", 1, INT64_MIN}, {"9223372036854775808", 0, 0},
        {"007", 0, 0}, {"+5", 0, 0}, {"-0", 0, 0}, {"1e3", 0, 0}, {"B00004R9VR", 0, 0},
        {"x@example.org", 0, 0}, {"\xc3\xa9t\xc3\xa9", 0, 0}, {"a b", 0, 0}};
    for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
        assert_int_equal(id_of(ok[k].s, &a), RAW_ID_OK);
        if (a.is_int != ok[k].is_int || (a.is_int && a.value != ok[k].v))
            fail_msg("'%s': is_int %d value %lld", ok[k].s, a.is_int, (long long)a.value);
        if (!a.is_int)
            assert_true(a.n == strlen(ok[k].s) && a.p == ok[k].s);
    }
    assert_int_equal(id_of("", &a), RAW_ID_EMPTY);
    assert_int_equal(id_of("a\tb", &a), RAW_ID_CONTROL);
    assert_int_equal(id_of("a\x7f", &a), RAW_ID_CONTROL);
    char *big = malloc(RAW_ID_MAX_BYTES + 2);
    memset(big, 'x', RAW_ID_MAX_BYTES + 1);
    big[RAW_ID_MAX_BYTES + 1] = '\0';
    assert_int_equal(id_of(big, &a), RAW_ID_TOO_LONG);
    big[RAW_ID_MAX_BYTES] = '\0';
    assert_int_equal(id_of(big, &a), RAW_ID_OK);
    free(big);
    /* the total order: integers by value, then strings by bytes, a prefix first */
    const char *sorted[] = {"-3", "2", "10", "007", "10a", "A", "AB", "B", "a"};
    for (size_t k = 0; k + 1 < sizeof sorted / sizeof sorted[0]; k++) {
        assert_int_equal(id_of(sorted[k], &a), RAW_ID_OK);
        assert_int_equal(id_of(sorted[k + 1], &b), RAW_ID_OK);
        if (raw_id_cmp(&a, &b) >= 0 || raw_id_cmp(&b, &a) <= 0)
            fail_msg("'%s' must sort before '%s'", sorted[k], sorted[k + 1]);
    }
    assert_int_equal(id_of("77", &a), RAW_ID_OK);
    assert_true(raw_id_key(&a) == 77);                  /* the split of integer files */
    char buf[RAW_ID_INT_CHARS];
    size_t n;
    raw_id m = raw_id_int(INT64_MIN);
    assert_string_equal(raw_id_text(&m, buf, &n), "-9223372036854775808");
}

static void test_excerpt(void **state)
{
    (void)state;
    char out[48];
    raw_id_excerpt("ab\x01\xff" "c\xc3\xa9", 7, out, sizeof out);
    assert_string_equal(out, "ab\\x01\\xffc\xc3\xa9");   /* valid UTF-8 kept, the rest escaped */
    char longer[200];
    memset(longer, 'z', sizeof longer);
    raw_id_excerpt(longer, sizeof longer, out, sizeof out);
    assert_true(strlen(out) < sizeof out);
    assert_non_null(strstr(out, "..."));
}

/* ---- fields --------------------------------------------------------------------------- */

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

static void assert_field(const field *f, const char *want)
{
    if (f->n != strlen(want) || memcmp(f->p, want, f->n) != 0)
        fail_msg("field '%.*s', want '%s'", (int)f->n, f->p, want);
}

static void test_fields_split(void **state)
{
    (void)state;
    char a[] = "1::22::3::4", b[] = " 7 , 8 ,", c[] = "x", d[] = "  u1   i2\t 5  ";
    char e[] = "\"A,1\",\"say \"\"hi\"\"\", 3", g[] = "a; b;c";
    field f[4];
    field_sep colons = field_sep_of("::"), comma = field_sep_of(","), blanks, semi;
    assert_int_equal(field_split(a, strlen(a), &colons, f, 3), 4);
    assert_field(&f[1], "22");
    assert_int_equal(field_split(b, strlen(b), &comma, f, 3), 3);
    assert_field(&f[0], "7");
    assert_field(&f[2], "");
    assert_int_equal(field_split(c, 1, &comma, f, 3), 1);
    assert_int_equal(field_sep_parse("space", &blanks), 0);
    assert_int_equal(field_split(d, strlen(d), &blanks, f, 4), 3);
    assert_field(&f[0], "u1");
    assert_field(&f[1], "i2");
    assert_field(&f[2], "5");
    assert_int_equal(field_split(e, strlen(e), &comma, f, 4), 3);    /* CSV quotes */
    assert_field(&f[0], "A,1");
    assert_field(&f[1], "say \"hi\"");
    assert_field(&f[2], "3");
    assert_int_equal(field_sep_parse("; ", &semi), 0);
    assert_int_equal(field_split(g, strlen(g), &semi, f, 4), 2);
    assert_field(&f[1], "b;c");
    field_sep s;
    assert_int_equal(field_sep_parse("tab", &s), 0);
    assert_true(s.n == 1 && s.s[0] == '\t');
    assert_int_equal(field_sep_parse("\\t", &s), 0);
    assert_true(s.n == 1 && s.s[0] == '\t');
    assert_int_equal(field_sep_parse("pipe", &s), 0);
    assert_true(s.n == 1 && s.s[0] == '|');
    assert_int_equal(field_sep_parse("", &s), -1);
    assert_int_equal(field_sep_parse("0123456789abcdef", &s), -1);
}

/* ---- layouts and lines ------------------------------------------------------------------ */

static data_options opts(const char *sep, const char *columns, int header)
{
    data_options o;
    memset(&o, 0, sizeof o);
    o.sep = sep;
    o.columns = columns;
    o.header = header;
    return o;
}

/* The layout of format fmt with options o and line 1 `first`; msg on failure. */
static int layout(line_format *lf, data_format fmt, const data_options *o, const char *first,
                  char *msg)
{
    char line[256];
    snprintf(line, sizeof line, "%s", first);
    return line_format_resolve(lf, fmt, o, line, strlen(line), msg, 512);
}

typedef struct line_case {
    data_format fmt;
    int first;
    const char *text;
    int want;               /* 1 rating, 0 nothing, -1 error */
    const char *u, *i;
    float r;
    const char *msg;        /* substring of the error */
} line_case;

static void check_line(const line_format *lf, const line_case *c, size_t k)
{
    char line[256], msg[512] = "", ub[RAW_ID_INT_CHARS], ib[RAW_ID_INT_CHARS];
    raw_id u, i;
    float r = 0;
    snprintf(line, sizeof line, "%s", c->text);
    int got = line_parse(lf, line, strlen(line), c->first, &u, &i, &r, msg, sizeof msg);
    if (got != c->want)
        fail_msg("case %zu (%s): got %d, want %d (%s)", k, c->text, got, c->want, msg);
    if (got == 1) {
        size_t un, in;
        const char *us = raw_id_text(&u, ub, &un), *is = raw_id_text(&i, ib, &in);
        if (un != strlen(c->u) || memcmp(us, c->u, un) || in != strlen(c->i) ||
            memcmp(is, c->i, in) || r != c->r)
            fail_msg("case %zu: got '%.*s' '%.*s' %g", k, (int)un, us, (int)in, is, r);
    }
    if (got < 0 && !strstr(msg, c->msg))
        fail_msg("case %zu: message '%s' lacks '%s'", k, msg, c->msg);
}

static void test_parse_line(void **state)
{
    (void)state;
    const line_case cases[] = {
        {DATA_FORMAT_ML100K, 0, "196\t242\t3\t881250949", 1, "196", "242", 3, NULL},
        {DATA_FORMAT_ML1M, 0, "1::1193::5::978300760", 1, "1", "1193", 5, NULL},
        {DATA_FORMAT_ML20M, 0, "1,2,3.5,1112486027", 1, "1", "2", 3.5f, NULL},
        {DATA_FORMAT_CSV, 0, "10,20", 1, "10", "20", 1.0f, NULL},
        {DATA_FORMAT_CSV, 0, "10,20,", 1, "10", "20", 1.0f, NULL},
        {DATA_FORMAT_CSV, 0, "10,20,2.5,x,y", 1, "10", "20", 2.5f, NULL},
        {DATA_FORMAT_CSV, 0, "A1B2C3,B00004R9VR,5", 1, "A1B2C3", "B00004R9VR", 5, NULL},
        {DATA_FORMAT_CSV, 0, "007,x@y.org,4", 1, "007", "x@y.org", 4, NULL},
        {DATA_FORMAT_CSV, 0, "\"a,b\",\"i\",2", 1, "a,b", "i", 2, NULL},
        {DATA_FORMAT_CSV, 0, "user,item,rating", -1, NULL, NULL, 0, "rating 'rating' is not a number"},
        {DATA_FORMAT_TSV, 0, "3\t4\t5\r", 1, "3", "4", 5, NULL},
        {DATA_FORMAT_TSV, 0, "  \r", 0, NULL, NULL, 0, NULL},
        {DATA_FORMAT_TSV, 0, "", 0, NULL, NULL, 0, NULL},
        {DATA_FORMAT_TSV, 0, "3", -1, NULL, NULL, 0, "found 1 field, need at least 2"},
        {DATA_FORMAT_TSV, 0, "\t4", -1, NULL, NULL, 0, "empty user id"},
        {DATA_FORMAT_CSV, 0, "u\x01v,4", -1, NULL, NULL, 0, "user id 'u\\x01v' contains a control character (byte 0x01)"},
        {DATA_FORMAT_ML1M, 0, "1::2", -1, NULL, NULL, 0, "found 2 fields, need at least 3"},
        {DATA_FORMAT_ML100K, 0, "1\tx7\t3\t0", 1, "1", "x7", 3, NULL},
        {DATA_FORMAT_TSV, 0, "99999999999999999999\t1", 1, "99999999999999999999", "1", 1, NULL},
        {DATA_FORMAT_TSV, 0, "1\t2\tnan", -1, NULL, NULL, 0, "rating 'nan' is not finite"},
        {DATA_FORMAT_CSV, 0, "1,2,good", -1, NULL, NULL, 0, "rating 'good' is not a number"},
    };
    data_options o = opts(NULL, NULL, DATA_HEADER_AUTO);
    char msg[512];
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        line_format lf;
        assert_int_equal(layout(&lf, cases[k].fmt, &o, cases[k].fmt == DATA_FORMAT_ML20M ?
                                "userId,movieId,rating" : "1,2", msg), 0);
        check_line(&lf, &cases[k], k);
    }
}

/* Line 1: a header by name, by flag, or data (then a failure names --header). */
static void test_headers(void **state)
{
    (void)state;
    line_format lf;
    char msg[512] = "";
    data_options a = opts(NULL, NULL, DATA_HEADER_AUTO), y = opts(NULL, NULL, DATA_HEADER_YES),
                 no = opts(NULL, NULL, DATA_HEADER_NO);
    assert_int_equal(layout(&lf, DATA_FORMAT_CSV, &a, "user,item,rating", msg), 0);
    assert_true(lf.header);
    assert_int_equal(layout(&lf, DATA_FORMAT_CSV, &a, "reviewerID,asin,overall", msg), 0);
    assert_true(lf.header);
    assert_int_equal(layout(&lf, DATA_FORMAT_TSV, &a, "\xEF\xBB\xBFUserId\tMovieId", msg), 0);
    assert_true(lf.header);
    assert_int_equal(layout(&lf, DATA_FORMAT_CSV, &a, "A1,B2,5", msg), 0);       /* data */
    assert_false(lf.header);
    assert_int_equal(layout(&lf, DATA_FORMAT_CSV, &a, "u,i,r", msg), 0);         /* data */
    assert_false(lf.header);
    assert_true(lf.header_like);
    line_case bad = {DATA_FORMAT_CSV, 1, "u,i,r", -1, NULL, NULL, 0, "(if line 1 is a header, pass --header)"};
    check_line(&lf, &bad, 0);
    assert_int_equal(layout(&lf, DATA_FORMAT_CSV, &y, "u,i,r", msg), 0);
    assert_true(lf.header);
    line_case skipped = {DATA_FORMAT_CSV, 1, "u,i,r", 0, NULL, NULL, 0, NULL};
    check_line(&lf, &skipped, 1);
    assert_int_equal(layout(&lf, DATA_FORMAT_CSV, &no, "user,item", msg), 0);
    assert_false(lf.header);
    line_case data = {DATA_FORMAT_CSV, 1, "user,item", 1, "user", "item", 1, NULL};
    check_line(&lf, &data, 2);
    assert_int_equal(layout(&lf, DATA_FORMAT_ML100K, &a, "user\titem\trating", msg), 0);
    assert_false(lf.header);                     /* MovieLens files have no header */
    assert_int_equal(layout(&lf, DATA_FORMAT_ML20M, &a, "1,2,3.5,1112486027", msg), -1);
    assert_non_null(strstr(msg, "missing header 'userId,movieId,rating,timestamp'"));
}

static void test_columns(void **state)
{
    (void)state;
    line_format lf;
    char msg[512] = "";
    data_options named = opts(NULL, "user=reviewerID,item=asin,rating=overall", 0);
    assert_int_equal(layout(&lf, DATA_FORMAT_CSV, &named, "asin,overall,reviewerID,time", msg), 0);
    assert_true(lf.header);
    line_case c1 = {DATA_FORMAT_CSV, 0, "B01,4.0,A77,123", 1, "A77", "B01", 4, NULL};
    check_line(&lf, &c1, 0);
    line_case c2 = {DATA_FORMAT_CSV, 0, "B01,4.0", -1, NULL, NULL, 0, "need at least 3"};
    check_line(&lf, &c2, 1);
    data_options nums = opts("space", "user=2,item=1", DATA_HEADER_NO);
    assert_int_equal(layout(&lf, DATA_FORMAT_CSV, &nums, "i1 u1 5", msg), 0);
    assert_false(lf.header);
    line_case c3 = {DATA_FORMAT_CSV, 1, "i1  u1 5", 1, "u1", "i1", 1, NULL};   /* no rating column */
    check_line(&lf, &c3, 2);
    data_options missing = opts(NULL, "user=reviewerID,item=productId", 0);
    assert_int_equal(layout(&lf, DATA_FORMAT_CSV, &missing, "reviewerID,asin", msg), -1);
    assert_non_null(strstr(msg, "no column 'productId' in the header (line 1: reviewerID, asin)"));
    data_options twice = opts(NULL, "user=1,user=2,item=3", 0);
    assert_int_equal(layout(&lf, DATA_FORMAT_CSV, &twice, "a,b,c", msg), -1);
    assert_non_null(strstr(msg, "--columns"));
    data_options same = opts(NULL, "user=1,item=1", 0);
    assert_int_equal(layout(&lf, DATA_FORMAT_CSV, &same, "a,b,c", msg), -1);
    data_options range = opts(NULL, "user=0,item=2", 0);
    assert_int_equal(layout(&lf, DATA_FORMAT_CSV, &range, "a,b,c", msg), -1);
    assert_non_null(strstr(msg, "must be in [1, 64]"));
    data_options clash = opts(NULL, "user=a,item=b", DATA_HEADER_NO);
    assert_int_equal(layout(&lf, DATA_FORMAT_CSV, &clash, "a,b", msg), -1);
    assert_non_null(strstr(msg, "--no-header"));
    data_options badsep = opts("", NULL, 0);
    assert_int_equal(layout(&lf, DATA_FORMAT_CSV, &badsep, "a,b", msg), -1);
    assert_non_null(strstr(msg, "--sep"));
}

/* ---- detection and opening ---------------------------------------------------------------- */

static data_format detect(const char *name, const char *content)
{
    return reader_detect(name, content, strlen(content));
}

static void test_detect(void **state)
{
    (void)state;
    const struct { const char *name, *content; data_format want; } cases[] = {
        {"u.data", "1,2,3", DATA_FORMAT_ML100K},
        {"ml.data", "1\t2\t3\t4", DATA_FORMAT_ML100K},
        {"dir/u.data.gz", "1\t2\t3\t4", DATA_FORMAT_ML100K},
        {"ratings.dat", "1::2::3::4", DATA_FORMAT_ML1M},
        {"ratings.dat.zst", "1::2::3::4", DATA_FORMAT_ML1M},
        {"other.DAT", "x", DATA_FORMAT_ML1M},
        {"ratings.csv", "userId,movieId,rating,timestamp", DATA_FORMAT_ML20M},
        {"ratings.csv.gz", "userId,movieId,rating,timestamp", DATA_FORMAT_ML20M},
        {"bom.csv", "\xEF\xBB\xBFuserId,movieId,rating,timestamp", DATA_FORMAT_ML20M},
        {"plain.csv", "user,item", DATA_FORMAT_CSV},
        {"x.tsv", "1,2", DATA_FORMAT_TSV},
        {"noext1", "1::2::3::4", DATA_FORMAT_ML1M},
        {"noext2", "1\t2\t3", DATA_FORMAT_TSV},
        {"noext3", "A,B", DATA_FORMAT_CSV},
        {"spaces.txt", "1 2 3", DATA_FORMAT_AUTO},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        data_format f = detect(cases[k].name, cases[k].content);
        if (f != cases[k].want)
            fail_msg("%s: detected %s, want %s", cases[k].name, data_format_name(f),
                     data_format_name(cases[k].want));
    }
}

/* reader_open of a file with content[n] and options o: 0, or -1 with *err. */
static int open_file(const char *name, const char *content, size_t n, const data_options *o,
                     data_file *f, read_error *err)
{
    const char *path = test_write(name, content, n);
    int rc = reader_open(f, path, o, err);
    if (rc == 0)
        reader_close(f);
    return rc;
}

static void test_open_errors(void **state)
{
    (void)state;
    static read_error err;
    data_file f;
    data_options o = opts(NULL, NULL, 0);
    const char *missing = test_path("missing.tsv");
    assert_int_equal(reader_open(&f, missing, &o, &err), -1);
    char want[600];
    snprintf(want, sizeof want, "cannot open %s: No such file or directory", missing);
    assert_string_equal(err.msg, want);
    assert_int_equal(reader_open(&f, "/", &o, &err), -1);
    assert_non_null(strstr(err.msg, "Is a directory"));
    const struct { const char *name, *bytes; size_t n; const char *want; } bad[] = {
        {"r.bz2", "BZh91AY&SY", 10, "compressed with bzip2"},
        {"r.xz", "\xfd" "7zXZ\0\0", 7, "compressed with xz"},
        {"r.zip", "PK\x03\x04\x14\0", 6, "compressed with zip"},
        {"spaces.txt", "1 2 3\n", 6, "give --format or --sep"},
        {"nul.tsv", "1\t2\0\t3\n", 7, "binary data (a NUL byte)"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        memset(&err, 0, sizeof err);
        assert_int_equal(open_file(bad[k].name, bad[k].bytes, bad[k].n, &o, &f, &err), -1);
        if (!strstr(err.msg, bad[k].want))
            fail_msg("%s: '%s' lacks '%s'", bad[k].name, err.msg, bad[k].want);
        assert_int_equal(err.status, 2);
        assert_null(memchr(err.msg, '\0', strlen(err.msg)));   /* no raw bytes echoed */
    }
    assert_int_equal(open_file("e.tsv", "", 0, &o, &f, &err), 0);
    assert_int_equal(open_file("spaces.txt", "1 2 3\n", 6, &(data_options){.sep = "space"}, &f, &err), 0);
}

/* ---- shares -------------------------------------------------------------------------------- */

typedef struct rating_rec { char u[40], i[40]; int r2; } rating_rec;
typedef struct triplets { rating_rec v[4096]; size_t n; } triplets;

static void collect(void *ctx, const raw_id *u, const raw_id *i, float r)
{
    triplets *t = ctx;
    char b[RAW_ID_INT_CHARS];
    size_t n;
    assert_true(t->n < 4096);
    rating_rec *x = &t->v[t->n++];
    memset(x, 0, sizeof *x);
    const char *p = raw_id_text(u, b, &n);
    snprintf(x->u, sizeof x->u, "%.*s", (int)n, p);
    p = raw_id_text(i, b, &n);
    snprintf(x->i, sizeof x->i, "%.*s", (int)n, p);
    x->r2 = (int)(r * 2);
}

static int cmp_rec(const void *a, const void *b) { return memcmp(a, b, sizeof(rating_rec)); }

/* Parses [begin, end) of a plain file (begin < 0: rank's share of P), appending to t. */
static int parse(const char *path, data_format fmt, int64_t begin, int64_t end, triplets *t,
                 range_stats *st, read_error *err)
{
    data_file f;
    data_options o = opts(NULL, NULL, 0);
    o.format = fmt;
    assert_int_equal(reader_open(&f, path, &o, err), 0);
    int rc = reader_parse_range(&f, begin, end, collect, t, st, err);
    reader_close(&f);
    return rc;
}

static int parse_share(const char *path, int rank, int P, triplets *t, range_stats *st,
                       read_error *err)
{
    data_file f;
    data_options o = opts(NULL, NULL, 0);
    if (reader_open(&f, path, &o, err) != 0)
        return -1;
    int rc = reader_parse_share(&f, rank, P, collect, t, st, err);
    reader_close(&f);
    return rc;
}

/* A file with a header, CRLF and LF lines, blank lines, string ids, a line longer than the
 * reader's 1 MiB chunk, and no final newline. */
static char *tricky_body(size_t *len)
{
    size_t cap = 3u << 20, n = 0;
    char *s = malloc(cap);
    n += (size_t)sprintf(s + n, "\xEF\xBB\xBFuser,item,rating,timestamp\r\n");
    for (int k = 1; k <= 40; k++) {
        n += (size_t)sprintf(s + n, k % 4 ? "%d,%d,%d.5,%d%s" : "u%d,B%07d,%d.5,%d%s", k,
                             100 + k % 7, k % 5, k, k % 3 ? "\n" : "\r\n");
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
    *len = n;
    return s;
}

static void test_ranges_cover_every_line_once(void **state)
{
    (void)state;
    size_t size;
    char *body = tricky_body(&size);
    const char *path = test_write("tricky.csv", body, size);
    static triplets whole, parts;
    range_stats st, st2;
    read_error err;
    whole.n = 0;
    assert_int_equal(parse(path, DATA_FORMAT_CSV, 0, (int64_t)size, &whole, &st, &err), 0);
    assert_int_equal(whole.n, 42);                        /* 40 + the long one + the last */
    assert_string_equal(whole.v[3].u, "u4");
    int64_t lines = st.lines;
    /* two ranges cut at every byte around the interesting places, and P = 1..9 */
    for (int64_t cut = 0; cut <= (int64_t)size; cut += cut < 2000 || cut > (int64_t)size - 2000 ? 1 : 4099) {
        parts.n = 0;
        assert_int_equal(parse(path, DATA_FORMAT_CSV, 0, cut, &parts, &st, &err), 0);
        assert_int_equal(parse(path, DATA_FORMAT_CSV, cut, (int64_t)size, &parts, &st2, &err), 0);
        assert_int_equal(st.lines + st2.lines, lines);
        assert_int_equal(parts.n, whole.n);
        assert_memory_equal(parts.v, whole.v, whole.n * sizeof whole.v[0]);
    }
    for (int P = 1; P <= 9; P++) {
        parts.n = 0;
        int64_t total = 0, b, e, prev_end = 0;
        for (int r = 0; r < P; r++) {
            reader_range((int64_t)size, r, P, &b, &e);
            assert_int_equal(b, prev_end);
            prev_end = e;
            assert_int_equal(parse(path, DATA_FORMAT_CSV, b, e, &parts, &st, &err), 0);
            total += st.lines;
        }
        assert_int_equal(prev_end, (int64_t)size);
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
        n += (size_t)sprintf(text + n, k == 7 ? "%d\t7\tbad\n" : "%d\t%d\t1\n", k, k);
    const char *path = test_write("bad7.tsv", text, n);
    static triplets t;
    for (int64_t cut = 0; cut <= (int64_t)n; cut++) {
        range_stats st0, st1;
        static read_error e0, e1;
        t.n = 0;
        int rc0 = parse(path, DATA_FORMAT_TSV, 0, cut, &t, &st0, &e0);
        int rc1 = parse(path, DATA_FORMAT_TSV, cut, (int64_t)n, &t, &st1, &e1);
        assert_int_equal(rc0 + rc1, -1);                  /* exactly one range has it */
        int64_t line = rc0 ? e0.line : st0.lines + e1.line;
        assert_int_equal(line, 7);
        assert_non_null(strstr(rc0 ? e0.msg : e1.msg, "rating 'bad' is not a number"));
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
    static read_error err;
    t.n = 0;
    assert_int_equal(parse(path, DATA_FORMAT_TSV, 0, (int64_t)n + 5, &t, &st, &err), -1);
    assert_int_equal(err.line, 1);
    assert_non_null(strstr(err.msg, "is longer than 1024 bytes"));
    assert_true(strlen(err.msg) < 120);
    free(s);
}

/* ---- compressed input ---------------------------------------------------------------------- */

/* gzip of data[n] (members: split into that many concatenated gzip streams). */
static char *gzip_of(const char *data, size_t n, int members, size_t *out_len)
{
    size_t cap = n + 1024 * (size_t)members + 4096, at = 0;
    char *out = malloc(cap);
    for (int m = 0; m < members; m++) {
        size_t a = n * (size_t)m / (size_t)members, b = n * (size_t)(m + 1) / (size_t)members;
        z_stream z;
        memset(&z, 0, sizeof z);
        assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
        z.next_in = (Bytef *)(data + a);
        z.avail_in = (uInt)(b - a);
        z.next_out = (Bytef *)(out + at);
        z.avail_out = (uInt)(cap - at);
        assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
        at = cap - z.avail_out;
        deflateEnd(&z);
    }
    *out_len = at;
    return out;
}

/* Every rank's share of the compressed file together = the plain file's ratings. */
static void assert_same_ratings(const char *path, const triplets *whole)
{
    static triplets parts;
    static read_error err;
    for (int P = 1; P <= 4; P++) {
        parts.n = 0;
        range_stats st;
        for (int r = 0; r < P; r++) {
            if (parse_share(path, r, P, &parts, &st, &err) != 0)
                fail_msg("%s, P %d, rank %d: %s", path, P, r, err.msg);
            assert_true(st.lines_global);
        }
        assert_int_equal(parts.n, whole->n);
        qsort(parts.v, parts.n, sizeof(rating_rec), cmp_rec);
        assert_memory_equal(parts.v, whole->v, whole->n * sizeof whole->v[0]);
    }
}

static void test_compressed(void **state)
{
    (void)state;
    size_t size, gz_len, gz2_len;
    char *body = tricky_body(&size);
    const char *plain = test_write("t.csv", body, size);
    static triplets whole;
    static read_error err;
    range_stats st;
    whole.n = 0;
    assert_int_equal(parse_share(plain, 0, 1, &whole, &st, &err), 0);
    qsort(whole.v, whole.n, sizeof(rating_rec), cmp_rec);
    char *gz = gzip_of(body, size, 1, &gz_len), *gz3 = gzip_of(body, size, 3, &gz2_len);
    assert_same_ratings(test_write("t.csv.gz", gz, gz_len), &whole);
    assert_same_ratings(test_write("t-members.csv.gz", gz3, gz2_len), &whole);
    assert_same_ratings(test_write("gz-named-plain.csv", gz, gz_len), &whole);  /* by magic */
#ifdef BIVAE_HAVE_ZSTD
    size_t zcap = ZSTD_compressBound(size), z_len;
    char *zs = malloc(zcap);
    z_len = ZSTD_compress(zs, zcap, body, size, 3);
    assert_false(ZSTD_isError(z_len));
    assert_same_ratings(test_write("t.csv.zst", zs, z_len), &whole);
    static triplets t;
    t.n = 0;
    assert_int_equal(parse_share(test_write("cut.zst", zs, z_len / 2), 0, 1, &t, &st, &err), -1);
    assert_non_null(strstr(err.msg, "truncated zstd data"));
    free(zs);
#endif
    static triplets t2;
    t2.n = 0;
    assert_int_equal(parse_share(test_write("cut.csv.gz", gz, gz_len / 2), 0, 1, &t2, &st, &err), -1);
    assert_non_null(strstr(err.msg, "truncated gzip data"));
    assert_int_equal(err.status, 2);
    gz[gz_len / 2] ^= 0x55;
    gz[gz_len / 2 + 1] ^= 0x55;
    t2.n = 0;
    assert_int_equal(parse_share(test_write("bad.csv.gz", gz, gz_len), 0, 1, &t2, &st, &err), -1);
    assert_true(strstr(err.msg, "corrupt gzip data") || strstr(err.msg, "truncated"));
    free(gz);
    free(gz3);
    free(body);
}

/* An error on line 7 of a compressed file is line 7 on whichever rank parses it. */
static void test_compressed_error_line(void **state)
{
    (void)state;
    char text[512];
    size_t n = 0, gz_len;
    for (int k = 1; k <= 12; k++)
        n += (size_t)sprintf(text + n, k == 7 ? "%d\t7\tbad\n" : "%d\t%d\t1\n", k, k);
    char *gz = gzip_of(text, n, 1, &gz_len);
    const char *path = test_write("bad7.tsv.gz", gz, gz_len);
    static triplets t;
    static read_error err;
    for (int P = 1; P <= 4; P++)
        for (int r = 0; r < P; r++) {
            range_stats st;
            t.n = 0;
            int rc = parse_share(path, r, P, &t, &st, &err);
            assert_int_equal(rc, r == 6 % P ? -1 : 0);
            if (rc)
                assert_int_equal(err.line, 7);
        }
    free(gz);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raw_ids),
        cmocka_unit_test(test_excerpt),
        cmocka_unit_test(test_parse_rating),
        cmocka_unit_test(test_fields_split),
        cmocka_unit_test(test_parse_line),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_columns),
        cmocka_unit_test(test_detect),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_ranges_cover_every_line_once),
        cmocka_unit_test(test_range_error_line_numbers),
        cmocka_unit_test(test_long_field_error_is_short),
        cmocka_unit_test(test_compressed),
        cmocka_unit_test(test_compressed_error_line),
    };
    return cmocka_run_group_tests(tests, test_tmpdir_setup, test_tmpdir_teardown);
}
