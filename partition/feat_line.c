/* partition/feat_line.c — the layout of a feature file and one line of it (formats:
 * partition/features.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/check.h"
#include "partition/feat_internal.h"

/* ---- the fixed vocabularies of the MovieLens side files ---------------------------------- */

#define N_AGE_GROUPS 7
#define N_GENDERS 2
#define N_OCCUPATIONS 21
#define N_USER_FEATURES (N_AGE_GROUPS + N_GENDERS + N_OCCUPATIONS)

/* ml-100k u.occupation, in its order (ml-1m's codes 0-20 are another list of 21). */
static const char *const occupations_100k[N_OCCUPATIONS] = {
    "administrator", "artist", "doctor", "educator", "engineer", "entertainment", "executive",
    "healthcare", "homemaker", "lawyer", "librarian", "marketing", "none", "other",
    "programmer", "retired", "salesman", "scientist", "student", "technician", "writer"};
/* ml-1m users.dat age codes: the first age of each group */
static const int age_groups_1m[N_AGE_GROUPS] = {1, 18, 25, 35, 45, 50, 56};

#define N_GENRES_100K 19            /* u.genre: unknown, then the 18 of ml-1m */
/* movies.dat (1M, 10M) and movies.csv (20M, 25M): ml-1m's 18 and IMAX (10M on), in
 * alphabetical order; 1M's "Children's" is 10M's and 20M's "Children". */
static const char *const genres_20m[19] = {
    "Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "IMAX", "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller", "War", "Western"};

int feature_format_width(feature_format f)
{
    switch (f) {
    case FEAT_FORMAT_ML100K_USER:
    case FEAT_FORMAT_ML1M_USER: return N_USER_FEATURES;
    case FEAT_FORMAT_ML100K_ITEM: return N_GENRES_100K + 1;
    case FEAT_FORMAT_ML1M_ITEM:
    case FEAT_FORMAT_ML20M_ITEM: return 19;
    default: return 0;
    }
}

/* ---- rows --------------------------------------------------------------------------------- */

void feat_row_init(feat_row *r) { memset(r, 0, sizeof *r); }

void feat_row_free(feat_row *r)
{
    free(r->feat);
    free(r->name);
    free(r->value);
    free(r->fields);
    memset(r, 0, sizeof *r);
}

static void row_reserve(feat_row *r, int n)
{
    if (n <= r->cap)
        return;
    r->cap = n > 2 * r->cap ? n : 2 * r->cap;
    r->feat = xrealloc(r->feat, sizeof(int32_t) * (size_t)r->cap);
    r->name = xrealloc(r->name, sizeof(raw_id) * (size_t)r->cap);
    r->value = xrealloc(r->value, sizeof(float) * (size_t)r->cap);
}

static void put(feat_row *r, int32_t feat, float value)
{
    row_reserve(r, r->n + 1);
    r->feat[r->n] = feat;
    r->value[r->n++] = value;
}

static void put_named(feat_row *r, const raw_id *name, float value)
{
    row_reserve(r, r->n + 1);
    r->name[r->n] = *name;
    r->value[r->n++] = value;
}

/* Splits the line into r->fields (at least 64 of them); the field count (which may be
 * more than r->fields_cap: the fields past it are not stored). */
static int split(feat_row *r, char *line, size_t len, const field_sep *sep)
{
    if (r->fields_cap < 64) {
        r->fields_cap = 64;
        r->fields = xrealloc(r->fields, sizeof(field) * 64);
    }
    return field_split(line, len, sep, r->fields, r->fields_cap);
}

/* ---- small parsers -------------------------------------------------------------------------- */

static int field_is(const field *f, const char *s)
{
    return f->n == strlen(s) && memcmp(f->p, s, f->n) == 0;
}

static int parse_id(const field *f, raw_id *out, char *msg, size_t size)
{
    return field_parse_id(f, NULL, out, msg, size);
}

/* A number field: 0, or -1 with "<what> '<text>' is not a number" in msg. */
static int parse_value(field *f, const char *what, float *out, char *msg, size_t size)
{
    char ex[48];
    field_excerpt(f, ex, sizeof ex);
    if (f->n == 0) {
        snprintf(msg, size, "%s is empty", what);
        return -1;
    }
    int rc = field_parse_rating(f, out);
    if (rc == PARSE_OK)
        return 0;
    snprintf(msg, size, "%s '%s' is %s", what, ex, rc == PARSE_RANGE ? "not finite" : "not a number");
    return -1;
}

/* A small non-negative integer field (ages, codes, flags): 0, or -1. */
static int parse_small_int(const field *f, long *out)
{
    if (f->n == 0 || f->n > 9)
        return -1;
    long v = 0;
    for (size_t k = 0; k < f->n; k++) {
        if (f->p[k] < '0' || f->p[k] > '9')
            return -1;
        v = v * 10 + (f->p[k] - '0');
    }
    *out = v;
    return 0;
}

static int expect_fields(int nf, int want, const char *layout, char *msg, size_t size)
{
    if (nf == want)
        return 0;
    snprintf(msg, size, "expected %s: found %d field%s, need %d", layout, nf,
             nf == 1 ? "" : "s", want);
    return -1;
}

/* ---- MovieLens users --------------------------------------------------------------------- */

static int age_group_of_years(long age)
{
    int g = 0;
    while (g + 1 < N_AGE_GROUPS && age >= age_groups_1m[g + 1])
        g++;
    return g;
}

static int put_gender(feat_row *r, const field *f, char *msg, size_t size)
{
    char ex[48];
    if (field_is(f, "M") || field_is(f, "F")) {
        put(r, N_AGE_GROUPS + (f->p[0] == 'F'), 1.0f);
        return 0;
    }
    field_excerpt(f, ex, sizeof ex);
    snprintf(msg, size, "gender '%s' is not M or F", ex);
    return -1;
}

/* u.user: id|age|gender|occupation|zip */
static int parse_ml100k_user(feat_row *r, int nf, char *msg, size_t size)
{
    field *f = r->fields;
    char ex[48];
    long age;
    if (expect_fields(nf, 5, "id|age|gender|occupation|zip (u.user)", msg, size) ||
        parse_id(&f[0], &r->id, msg, size))
        return -1;
    if (parse_small_int(&f[1], &age) || age > 150) {
        field_excerpt(&f[1], ex, sizeof ex);
        snprintf(msg, size, "age '%s' is not a whole number of years (0-150)", ex);
        return -1;
    }
    put(r, age_group_of_years(age), 1.0f);
    if (put_gender(r, &f[2], msg, size))
        return -1;
    for (int k = 0; k < N_OCCUPATIONS; k++)
        if (field_is(&f[3], occupations_100k[k])) {
            put(r, N_AGE_GROUPS + N_GENDERS + k, 1.0f);
            return 1;
        }
    field_excerpt(&f[3], ex, sizeof ex);
    snprintf(msg, size, "occupation '%s' is not one of u.occupation's 21", ex);
    return -1;
}

/* users.dat: UserID::Gender::Age::Occupation::Zip-code */
static int parse_ml1m_user(feat_row *r, int nf, char *msg, size_t size)
{
    field *f = r->fields;
    char ex[48];
    long age, occ;
    int group = -1;
    if (expect_fields(nf, 5, "UserID::Gender::Age::Occupation::Zip-code (users.dat)", msg,
                      size) ||
        parse_id(&f[0], &r->id, msg, size) || put_gender(r, &f[1], msg, size))
        return -1;
    if (parse_small_int(&f[2], &age) == 0)
        for (int g = 0; g < N_AGE_GROUPS; g++)
            group = age == age_groups_1m[g] ? g : group;
    if (group < 0) {
        field_excerpt(&f[2], ex, sizeof ex);
        snprintf(msg, size, "age '%s' is not an ml-1m age code (1, 18, 25, 35, 45, 50, 56)", ex);
        return -1;
    }
    if (parse_small_int(&f[3], &occ) || occ > 20) {
        field_excerpt(&f[3], ex, sizeof ex);
        snprintf(msg, size, "occupation '%s' is not an ml-1m occupation code (0-20)", ex);
        return -1;
    }
    put(r, group, 1.0f);
    put(r, N_AGE_GROUPS + N_GENDERS + (int32_t)occ, 1.0f);
    return 1;
}

/* ---- MovieLens items ----------------------------------------------------------------------- */

/* "01-Jan-1995" -> 1995; empty -> 0; -1 when malformed. */
static long release_year(const field *f)
{
    long year;
    if (f->n == 0)
        return 0;
    field y = {f->p + (f->n >= 4 ? f->n - 4 : 0), f->n >= 4 ? 4 : f->n};
    if (f->n != 11 || f->p[2] != '-' || f->p[6] != '-' || parse_small_int(&y, &year))
        return -1;
    return year;
}

/* u.item: id|title|release date|video release date|URL|19 genre flags */
static int parse_ml100k_item(feat_row *r, int nf, char *msg, size_t size)
{
    field *f = r->fields;
    char ex[48];
    if (expect_fields(nf, 5 + N_GENRES_100K, "id|title|release date|video release date|URL|"
                      "19 genre flags (u.item)", msg, size) ||
        parse_id(&f[0], &r->id, msg, size))
        return -1;
    for (int k = 0; k < N_GENRES_100K; k++) {
        if (!field_is(&f[5 + k], "0") && !field_is(&f[5 + k], "1")) {
            field_excerpt(&f[5 + k], ex, sizeof ex);
            snprintf(msg, size, "genre flag %d ('%s') is not 0 or 1", k + 1, ex);
            return -1;
        }
        if (f[5 + k].p[0] == '1')
            put(r, k, 1.0f);
    }
    long year = release_year(&f[2]);
    if (year < 0) {
        field_excerpt(&f[2], ex, sizeof ex);
        snprintf(msg, size, "release date '%s' is not dd-Mon-yyyy", ex);
        return -1;
    }
    if (year > 0)
        put(r, N_GENRES_100K, (float)(year - 1900) / 100.0f);
    return 1;
}

/* Genres "A|B|C" of a fixed list into r; none (an empty field or "(no genres listed)"). */
static int put_genres(feat_row *r, const field *f, const char *const *names, int n_names,
                      char *msg, size_t size)
{
    if (f->n == 0 || (f->n == 18 && memcmp(f->p, "(no genres listed)", 18) == 0))
        return 0;
    for (size_t at = 0; at <= f->n;) {
        const char *p = f->p + at;
        size_t len = 0;
        while (at + len < f->n && p[len] != '|')
            len++;
        int k = 0;
        while (k < n_names && !(strlen(names[k]) == len && memcmp(names[k], p, len) == 0))
            k++;
        if (len == 10 && memcmp(p, "Children's", 10) == 0)
            k = 3;                                      /* ml-1m's spelling of Children */
        if (k == n_names) {
            char ex[48];
            raw_id_excerpt(p, len, ex, sizeof ex);
            snprintf(msg, size, "unknown genre '%s'", ex);
            return -1;
        }
        put(r, k, 1.0f);
        at += len + 1;
    }
    return 0;
}

/* movies.dat: MovieID::Title (Year)::Genres */
static int parse_ml1m_item(feat_row *r, int nf, char *msg, size_t size)
{
    if (expect_fields(nf, 3, "MovieID::Title::Genres (movies.dat)", msg, size) ||
        parse_id(&r->fields[0], &r->id, msg, size) ||
        put_genres(r, &r->fields[2], genres_20m, 19, msg, size))
        return -1;
    return 1;
}

/* movies.csv: movieId,title,genres (titles quoted when they hold commas) */
static int parse_ml20m_item(feat_row *r, int nf, char *msg, size_t size)
{
    if (expect_fields(nf, 3, "movieId,title,genres (movies.csv)", msg, size) ||
        parse_id(&r->fields[0], &r->id, msg, size) ||
        put_genres(r, &r->fields[2], genres_20m, 19, msg, size))
        return -1;
    return 1;
}

/* genome-scores.csv: movieId,tagId,relevance */
static int parse_genome(feat_row *r, int nf, char *msg, size_t size)
{
    field *f = r->fields;
    raw_id tag;
    float v;
    if (expect_fields(nf, 3, "movieId,tagId,relevance (genome-scores.csv)", msg, size) ||
        parse_id(&f[0], &r->id, msg, size))
        return -1;
    if (parse_id(&f[1], &tag, msg, size)) {
        memmove(msg + 4, msg, strlen(msg) + 1 < size - 4 ? strlen(msg) + 1 : size - 4);
        memcpy(msg, "tag ", 4);
        return -1;
    }
    if (parse_value(&f[2], "relevance", &v, msg, size))
        return -1;
    put_named(r, &tag, v);
    return 1;
}

/* ---- dense and sparse ------------------------------------------------------------------------ */

static int parse_dense(const feat_layout *L, feat_row *r, int nf, char *msg, size_t size)
{
    char what[48];
    if (nf != L->n_fields) {
        snprintf(msg, size, "expected id and %d features (as line 1): found %d field%s",
                 L->n_fields - 1, nf, nf == 1 ? "" : "s");
        return -1;
    }
    if (parse_id(&r->fields[0], &r->id, msg, size))
        return -1;
    for (int k = 1; k < nf; k++) {
        float v;
        snprintf(what, sizeof what, "feature %d", k);
        if (parse_value(&r->fields[k], what, &v, msg, size))
            return -1;
        put(r, k - 1, v);
    }
    return 1;
}

/* One token "feat[:value]" of a sparse line. */
static int parse_sparse_token(feat_row *r, field *f, char *msg, size_t size)
{
    float v = 1.0f;
    field name = *f;
    char *colon = NULL;
    for (size_t k = f->n; k > 0 && !colon; k--)
        colon = f->p[k - 1] == ':' ? f->p + k - 1 : NULL;
    if (colon && colon > f->p) {
        field val = {colon + 1, (size_t)(f->p + f->n - colon - 1)};
        if (val.n > 0 && field_is_numeric(&val)) {
            if (parse_value(&val, "feature value", &v, msg, size))
                return -1;
            name.n = (size_t)(colon - f->p);
        }
    }
    raw_id id;
    if (parse_id(&name, &id, msg, size)) {
        char tmp[256];
        snprintf(tmp, sizeof tmp, "feature name: %s", msg);
        snprintf(msg, size, "%s", tmp);
        return -1;
    }
    put_named(r, &id, v);
    return 0;
}

static int parse_sparse(feat_row *r, int nf, char *msg, size_t size)
{
    if (parse_id(&r->fields[0], &r->id, msg, size))
        return -1;
    for (int k = 1; k < nf; k++)
        if (parse_sparse_token(r, &r->fields[k], msg, size))
            return -1;
    return 1;
}

/* ---- layout ------------------------------------------------------------------------------------ */

static size_t skip_bom(char **line, size_t len)
{
    if (len >= 3 && memcmp(*line, "\xEF\xBB\xBF", 3) == 0) {
        *line += 3;
        return len - 3;
    }
    return len;
}

static int is_blank_line(const char *s, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (s[k] != ' ' && s[k] != '\t' && s[k] != '\r')
            return 0;
    return 1;
}

static const char *sep_of(feature_format f, const char *first)
{
    switch (f) {
    case FEAT_FORMAT_ML100K_USER:
    case FEAT_FORMAT_ML100K_ITEM: return "|";
    case FEAT_FORMAT_ML1M_USER:
    case FEAT_FORMAT_ML1M_ITEM: return "::";
    case FEAT_FORMAT_ML20M_ITEM:
    case FEAT_FORMAT_GENOME: return ",";
    case FEAT_FORMAT_SPARSE: return NULL;
    default:
        return strstr(first, "::") ? "::" : strchr(first, '\t') ? "\t" : ",";
    }
}

/* The header a format requires on line 1 (NULL: none). */
static const char *required_header(feature_format f)
{
    return f == FEAT_FORMAT_ML20M_ITEM ? "movieId,title,genres"
         : f == FEAT_FORMAT_GENOME    ? "movieId,tagId,relevance" : NULL;
}

static int starts_with_header(const char *s, size_t n, const char *want)
{
    size_t m = strlen(want);
    while (n && (s[n - 1] == '\r' || s[n - 1] == ' '))
        n--;
    return n == m && memcmp(s, want, m) == 0;
}

/* Dense line 1: its field count; a header when a field after the id is not a number. */
static int resolve_dense(feat_layout *L, char *first, size_t len, char *msg, size_t size)
{
    feat_row r;
    feat_row_init(&r);
    int nf = len ? split(&r, first, len, &L->sep) : 0;
    if (nf > r.fields_cap) {
        r.fields_cap = nf;
        r.fields = xrealloc(r.fields, sizeof(field) * (size_t)nf);
        nf = field_split(first, len, &L->sep, r.fields, nf);
    }
    for (int k = 1; k < nf && k < r.fields_cap; k++)
        L->header |= r.fields[k].n > 0 && !field_is_numeric(&r.fields[k]);
    feat_row_free(&r);
    if (len > 0 && nf < 2) {
        snprintf(msg, size, "line 1: expected id,f1,...,fn (comma, tab or '::' between "
                 "fields): found 1 field");
        return -1;
    }
    L->n_fields = nf;
    return 0;
}

int feat_layout_resolve(feat_layout *L, feature_format fmt, const char *path, char *first,
                        size_t len, char *msg, size_t size)
{
    memset(L, 0, sizeof *L);
    len = skip_bom(&first, len);
    L->fmt = fmt != FEAT_FORMAT_AUTO ? fmt : feature_detect(path, first, len);
    if (L->fmt == FEAT_FORMAT_AUTO) {
        snprintf(msg, size, "cannot tell the feature format of %s: neither its name nor its "
                 "first line decides; give --features-format", path);
        return -1;
    }
    const char *sep = sep_of(L->fmt, first);
    if (sep)
        L->sep = field_sep_of(sep);
    else
        L->sep.blanks = 1;
    L->named = L->fmt == FEAT_FORMAT_SPARSE || L->fmt == FEAT_FORMAT_GENOME;
    L->width = feature_format_width(L->fmt);
    const char *want = required_header(L->fmt);
    if (want && len > 0 && !starts_with_header(first, len, want)) {
        snprintf(msg, size, "line 1: missing header '%s' (format %s)", want,
                 feature_format_name(L->fmt));
        return -1;
    }
    L->header = want != NULL;
    if (L->fmt == FEAT_FORMAT_DENSE && resolve_dense(L, first, len, msg, size))
        return -1;
    if (L->header && len) {
        char ex[80];
        raw_id_excerpt(first, len, ex, sizeof ex);
        snprintf(L->header_text, sizeof L->header_text, "header '%s'", ex);
    }
    return 0;
}

/* ---- one line ----------------------------------------------------------------------------------- */

int feat_line_parse(const feat_layout *L, char *line, size_t len, int first, feat_row *r,
                    char *msg, size_t size)
{
    if (first)
        len = skip_bom(&line, len);
    if ((first && L->header) || is_blank_line(line, len))
        return 0;
    r->n = 0;
    if (r->fields_cap < L->n_fields + 1) {
        r->fields_cap = L->n_fields + 1;
        r->fields = xrealloc(r->fields, sizeof(field) * (size_t)r->fields_cap);
    }
    int nf = split(r, line, len, &L->sep);
    if (nf > r->fields_cap && L->fmt == FEAT_FORMAT_SPARSE) {
        r->fields_cap = nf;                  /* a long sparse row: every token is needed */
        r->fields = xrealloc(r->fields, sizeof(field) * (size_t)nf);
        nf = field_split(line, len, &L->sep, r->fields, nf);
    }
    switch (L->fmt) {
    case FEAT_FORMAT_DENSE: return parse_dense(L, r, nf, msg, size);
    case FEAT_FORMAT_SPARSE: return parse_sparse(r, nf, msg, size);
    case FEAT_FORMAT_ML100K_USER: return parse_ml100k_user(r, nf, msg, size);
    case FEAT_FORMAT_ML1M_USER: return parse_ml1m_user(r, nf, msg, size);
    case FEAT_FORMAT_ML100K_ITEM: return parse_ml100k_item(r, nf, msg, size);
    case FEAT_FORMAT_ML1M_ITEM: return parse_ml1m_item(r, nf, msg, size);
    case FEAT_FORMAT_ML20M_ITEM: return parse_ml20m_item(r, nf, msg, size);
    default: return parse_genome(r, nf, msg, size);
    }
}
