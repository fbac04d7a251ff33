/* partition/lineparse.c — one line of a ratings file -> (user, item, rating). */
#include <stdio.h>
#include <string.h>

#include "partition/fields.h"
#include "partition/reader.h"

static const char *delimiter(data_format fmt)
{
    switch (fmt) {
    case DATA_FORMAT_ML1M: return "::";
    case DATA_FORMAT_ML20M:
    case DATA_FORMAT_CSV: return ",";
    default: return "\t";
    }
}

static const char *layout(data_format fmt)
{
    switch (fmt) {
    case DATA_FORMAT_ML100K: return "user<TAB>item<TAB>rating<TAB>timestamp";
    case DATA_FORMAT_ML1M: return "user::item::rating::timestamp";
    case DATA_FORMAT_ML20M: return "userId,movieId,rating,timestamp";
    case DATA_FORMAT_CSV: return "user,item[,rating[,...]]";
    default: return "user<TAB>item[<TAB>rating[<TAB>...]]";
    }
}

static int is_blank_line(const char *s, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (s[k] != ' ' && s[k] != '\t' && s[k] != '\r')
            return 0;
    return 1;
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

static int parse_id_field(const field *f, const char *what, int64_t *out, char *msg,
                          size_t size)
{
    char ex[48];
    int rc = field_parse_id(f, out);
    if (rc == PARSE_OK)
        return 0;
    field_excerpt(f, ex, sizeof ex);
    if (rc == PARSE_RANGE)
        snprintf(msg, size, "%s id out of range (int64): '%s'", what, ex);
    else
        snprintf(msg, size, "%s id '%s' is not an integer", what, ex);
    return -1;
}

static int parse_rating_field(field *f, float *out, char *msg, size_t size)
{
    char ex[48];
    field_excerpt(f, ex, sizeof ex);              /* before field_parse_rating may write a NUL */
    int rc = field_parse_rating(f, out);
    if (rc == PARSE_OK)
        return 0;
    snprintf(msg, size, "rating '%s' is %s", ex, rc == PARSE_RANGE ? "not finite" : "not a number");
    return -1;
}

/* Fields of a data line -> rating; -1 with msg when malformed. */
static int parse_fields(data_format fmt, field *f, int nf, int64_t *u, int64_t *i, float *r,
                        char *msg, size_t size)
{
    int need = (fmt == DATA_FORMAT_CSV || fmt == DATA_FORMAT_TSV) ? 2 : 3;
    if (nf < need) {
        snprintf(msg, size, "expected %s: found %d field%s, need at least %d", layout(fmt), nf,
                 nf == 1 ? "" : "s", need);
        return -1;
    }
    if (parse_id_field(&f[0], "user", u, msg, size) || parse_id_field(&f[1], "item", i, msg, size))
        return -1;
    *r = 1.0f;                                    /* csv/tsv without a rating column */
    if (nf >= 3 && (f[2].n > 0 || need == 3))
        return parse_rating_field(&f[2], r, msg, size) ? -1 : 1;
    return 1;
}

int reader_parse_line(data_format fmt, char *line, size_t len, int first, int64_t *u,
                      int64_t *i, float *r, char *msg, size_t size)
{
    if (first && len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
        line += 3;
        len -= 3;
    }
    if (first && fmt == DATA_FORMAT_ML20M) {
        if (is_ml20m_header(line, len))
            return 0;
        snprintf(msg, size, "missing header '%s' (format ml-20m)", layout(fmt));
        return -1;
    }
    if (is_blank_line(line, len))
        return 0;
    field f[3];
    int nf = field_split(line, len, delimiter(fmt), f, 3);
    int header_ok = fmt == DATA_FORMAT_CSV || fmt == DATA_FORMAT_TSV;
    if (first && header_ok && !field_is_numeric(&f[0]))
        return 0;                                 /* optional header line */
    return parse_fields(fmt, f, nf, u, i, r, msg, size);
}
