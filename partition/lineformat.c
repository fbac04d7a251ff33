/* partition/lineformat.c — see lineformat.h */
#include "partition/lineformat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *default_sep(data_format fmt)
{
    switch (fmt) {
    case DATA_FORMAT_ML1M: return "::";
    case DATA_FORMAT_ML20M:
    case DATA_FORMAT_CSV: return ",";
    default: return "\t";
    }
}

static void sep_text(const field_sep *s, char *buf, size_t n)
{
    if (s->blanks)
        snprintf(buf, n, " ");
    else if (s->n == 1 && s->s[0] == '\t')
        snprintf(buf, n, "<TAB>");
    else
        snprintf(buf, n, "%s", s->s);
}

static int is_blank_line(const char *s, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (s[k] != ' ' && s[k] != '\t' && s[k] != '\r')
            return 0;
    return 1;
}

static size_t skip_bom(char **line, size_t len)
{
    if (len >= 3 && memcmp(*line, "\xEF\xBB\xBF", 3) == 0) {
        *line += 3;
        return len - 3;
    }
    return len;
}

/* ---- header lines ------------------------------------------------------------------------ */

/* Column names that mark line 1 of a csv/tsv file as a header (compared without case). */
static int known_column_name(const field *f)
{
    static const char *const names[] = {
        "user", "users", "userid", "user_id", "uid", "customer", "customerid", "customer_id",
        "reviewerid", "reviewer_id", "item", "items", "itemid", "item_id", "iid", "movie",
        "movieid", "movie_id", "asin", "product", "productid", "product_id", "rating",
        "ratings", "score", "overall", "stars", "timestamp", "time", "date", "unixreviewtime"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if (strlen(names[k]) == f->n && strncasecmp(names[k], f->p, f->n) == 0)
            return 1;
    return 0;
}

/* No field is a number, and one of them is a known column name: 2; no number: 1; else 0. */
static int header_likeness(const field *f, int nf)
{
    int known = 0;
    for (int k = 0; k < nf; k++) {
        if (field_is_numeric(&f[k]))
            return 0;
        known |= known_column_name(&f[k]);
    }
    return nf > 0 ? 1 + known : 0;
}

/* "userId,movieId,rating" then nothing or more columns (ml-20m and ml-25m). */
static int is_ml20m_header(const char *s, size_t n)
{
    static const char want[] = "userId,movieId,rating";
    size_t m = sizeof want - 1;
    while (n && (s[n - 1] == '\r' || s[n - 1] == ' '))
        n--;
    return n >= m && memcmp(s, want, m) == 0 && (n == m || s[m] == ',');
}

/* ---- --columns ------------------------------------------------------------------------------ */

/* The column of one --columns value: a 1-based number, or a name found in the header. */
static int find_column(const char *val, size_t vn, const field *hdr, int nh, int *col,
                       char *msg, size_t size)
{
    char *end;
    char buf[128];
    snprintf(buf, sizeof buf, "%.*s", (int)(vn < 127 ? vn : 127), val);
    long k = strtol(buf, &end, 10);
    if (*buf >= '0' && *buf <= '9' && *end == '\0') {
        if (k < 1 || k > LINE_MAX_COLUMNS) {
            snprintf(msg, size, "--columns: column %s is out of range (must be in [1, %d])", buf,
                     LINE_MAX_COLUMNS);
            return -1;
        }
        *col = (int)k - 1;
        return 0;
    }
    for (int pass = 0; pass < 2; pass++)        /* exact first, then without case */
        for (int j = 0; j < nh && j < LINE_MAX_COLUMNS; j++)
            if (hdr[j].n == vn && (pass ? strncasecmp(hdr[j].p, val, vn) : memcmp(hdr[j].p, val, vn)) == 0) {
                *col = j;
                return 0;
            }
    if (nh == 0) {
        snprintf(msg, size, "--columns: '%s' names a column, but the file has no header line "
                 "(give column numbers, 1-based)", buf);
        return -1;
    }
    char names[256] = "", ex[48];
    for (int j = 0, at = 0; j < nh && at < (int)sizeof names - 60; j++) {
        field_excerpt(&hdr[j], ex, sizeof ex);
        at += snprintf(names + at, sizeof names - (size_t)at, "%s%s", j ? ", " : "", ex);
    }
    snprintf(msg, size, "--columns: no column '%s' in the header (line 1: %s)", buf, names);
    return -1;
}

/* --columns user=C,item=C[,rating=C] against header fields hdr[nh] (nh 0: no header). */
static int apply_columns(line_format *lf, const char *spec, const field *hdr, int nh, char *msg,
                         size_t size)
{
    int cols[3] = {-1, -1, -1}, named = 0;
    static const char *const keys[3] = {"user", "item", "rating"};
    for (const char *p = spec; *p;) {
        size_t len = strcspn(p, ","), eq = strcspn(p, "=");
        int key = -1;
        for (int k = 0; k < 3 && eq < len; k++)
            if (strlen(keys[k]) == eq && strncmp(p, keys[k], eq) == 0)
                key = k;
        if (key < 0 || eq + 1 >= len || cols[key] >= 0) {
            snprintf(msg, size, "--columns: '%.*s' is not user=C, item=C or rating=C (given "
                     "once each; C a header name or a 1-based column number)", (int)len, p);
            return -1;
        }
        const char *val = p + eq + 1;
        named |= !(val[0] >= '0' && val[0] <= '9');
        if (find_column(val, len - eq - 1, hdr, named ? nh : 0, &cols[key], msg, size))
            return -1;
        p += len + (p[len] == ',');
    }
    if (cols[0] < 0 || cols[1] < 0 || cols[0] == cols[1] || (cols[2] >= 0 && (cols[2] == cols[0] || cols[2] == cols[1]))) {
        snprintf(msg, size, "--columns: needs user=C and item=C (and optionally rating=C), "
                 "three different columns");
        return -1;
    }
    lf->col_user = cols[0];
    lf->col_item = cols[1];
    lf->col_rating = cols[2];
    lf->rating_optional = 0;
    int top = cols[0] > cols[1] ? cols[0] : cols[1];
    lf->need = (cols[2] > top ? cols[2] : top) + 1;
    return named;
}

/* ---- resolving ------------------------------------------------------------------------------- */

static void set_defaults(line_format *lf, data_format fmt)
{
    memset(lf, 0, sizeof *lf);
    lf->fmt = fmt;
    lf->sep = field_sep_of(default_sep(fmt));
    lf->col_user = 0;
    lf->col_item = 1;
    lf->col_rating = 2;
    lf->rating_optional = fmt == DATA_FORMAT_CSV || fmt == DATA_FORMAT_TSV;
    lf->need = lf->rating_optional ? 2 : 3;
}

static void set_layout(line_format *lf)
{
    char s[24];
    sep_text(&lf->sep, s, sizeof s);
    if (lf->fmt == DATA_FORMAT_ML20M)
        snprintf(lf->layout, sizeof lf->layout, "userId,movieId,rating,timestamp");
    else if (lf->fmt == DATA_FORMAT_ML1M)
        snprintf(lf->layout, sizeof lf->layout, "user::item::rating::timestamp");
    else if (lf->fmt == DATA_FORMAT_ML100K)
        snprintf(lf->layout, sizeof lf->layout, "user<TAB>item<TAB>rating<TAB>timestamp");
    else if (lf->col_user != 0 || lf->col_item != 1 || lf->col_rating > 2) {
        char rating[48] = "";
        if (lf->col_rating >= 0)
            snprintf(rating, sizeof rating, ", rating in column %d", lf->col_rating + 1);
        snprintf(lf->layout, sizeof lf->layout, "user in column %d, item in column %d%s, "
                 "separated by '%s'", lf->col_user + 1, lf->col_item + 1, rating, s);
    }
    else if (lf->rating_optional || lf->col_rating < 0)
        snprintf(lf->layout, sizeof lf->layout, "user%sitem[%srating[%s...]]", s, s, s);
    else
        snprintf(lf->layout, sizeof lf->layout, "user%sitem%srating%s...", s, s, s);
}

/* Is line 1 a header? 1 yes, 0 no, -1 error in msg. */
static int decide_header(line_format *lf, const data_options *opt, int named, const field *f,
                         int nf, const char *first, size_t len, char *msg, size_t size)
{
    if (lf->fmt == DATA_FORMAT_ML20M) {
        if (len == 0 || is_ml20m_header(first, len) || opt->header == DATA_HEADER_YES)
            return 1;
        snprintf(msg, size, "line 1: missing header '%s' (format ml-20m; --header if line 1 is "
                 "another header)", lf->layout);
        return -1;
    }
    if (opt->header == DATA_HEADER_YES || named)
        return 1;
    int like = opt->header == DATA_HEADER_NO ? 0 : header_likeness(f, nf);
    lf->header_like = like == 1;
    int auto_ok = lf->fmt == DATA_FORMAT_CSV || lf->fmt == DATA_FORMAT_TSV;
    return auto_ok && like == 2;
}

int line_format_resolve(line_format *lf, data_format fmt, const data_options *opt,
                        char *first, size_t len, char *msg, size_t size)
{
    set_defaults(lf, fmt);
    if (opt->sep && field_sep_parse(opt->sep, &lf->sep) != 0) {
        snprintf(msg, size, "--sep: '%s' is not a separator (tab, comma, semicolon, pipe, "
                 "space, or a string of 1 to 15 characters)", opt->sep);
        return -1;
    }
    len = skip_bom(&first, len);
    field f[LINE_MAX_COLUMNS];
    int nf = len ? field_split(first, len, &lf->sep, f, LINE_MAX_COLUMNS) : 0;
    if (nf > LINE_MAX_COLUMNS)
        nf = LINE_MAX_COLUMNS;
    int named = 0;
    if (opt->columns && (named = apply_columns(lf, opt->columns, f, nf, msg, size)) < 0)
        return -1;
    if (named && opt->header == DATA_HEADER_NO) {
        snprintf(msg, size, "--columns names columns of a header, but --no-header says line 1 "
                 "is data (give column numbers)");
        return -1;
    }
    set_layout(lf);
    int h = decide_header(lf, opt, named, f, nf, first, len, msg, size);
    if (h < 0)
        return -1;
    lf->header = h;
    if (h && len) {
        char ex[80];
        raw_id_excerpt(first, len, ex, sizeof ex);
        snprintf(lf->header_text, sizeof lf->header_text, "header '%s'", ex);
    }
    return 0;
}

/* ---- one line ---------------------------------------------------------------------------------- */

static int parse_id(const field *f, const char *what, raw_id *out, char *msg, size_t size)
{
    return field_parse_id(f, what, out, msg, size);
}

static int parse_rating(field *f, float *out, char *msg, size_t size)
{
    char ex[48];
    field_excerpt(f, ex, sizeof ex);              /* before field_parse_rating may write a NUL */
    int rc = field_parse_rating(f, out);
    if (rc == PARSE_OK)
        return 0;
    snprintf(msg, size, "rating '%s' is %s", ex, rc == PARSE_RANGE ? "not finite" : "not a number");
    return -1;
}

static int parse_fields(const line_format *lf, field *f, int nf, raw_id *u, raw_id *i, float *r,
                        char *msg, size_t size)
{
    if (nf < lf->need) {
        snprintf(msg, size, "expected %s: found %d field%s, need at least %d", lf->layout, nf,
                 nf == 1 ? "" : "s", lf->need);
        return -1;
    }
    if (parse_id(&f[lf->col_user], "user", u, msg, size) ||
        parse_id(&f[lf->col_item], "item", i, msg, size))
        return -1;
    *r = 1.0f;                                    /* no rating column, or an empty optional one */
    int c = lf->col_rating;
    if (c >= 0 && nf > c && (f[c].n > 0 || !lf->rating_optional))
        return parse_rating(&f[c], r, msg, size) ? -1 : 1;
    return 1;
}

int line_parse(const line_format *lf, char *line, size_t len, int first, raw_id *u, raw_id *i,
               float *r, char *msg, size_t size)
{
    if (first)
        len = skip_bom(&line, len);
    if (first && lf->header)
        return 0;
    if (is_blank_line(line, len))
        return 0;
    field f[LINE_MAX_COLUMNS];
    int nf = field_split(line, len, &lf->sep, f, LINE_MAX_COLUMNS);
    int got = parse_fields(lf, f, nf < LINE_MAX_COLUMNS ? nf : LINE_MAX_COLUMNS, u, i, r, msg, size);
    if (got < 0 && first && lf->header_like) {
        size_t n = strlen(msg);
        snprintf(msg + n, size - n, " (if line 1 is a header, pass --header)");
    }
    return got;
}
