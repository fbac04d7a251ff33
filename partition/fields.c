/* partition/fields.c — see fields.h */
#include "partition/fields.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int is_blank(char ch) { return ch == ' ' || ch == '\t' || ch == '\r'; }
static int is_digit(char ch) { return ch >= '0' && ch <= '9'; }

static field trimmed(char *p, size_t n)
{
    while (n && is_blank(*p)) {
        p++;
        n--;
    }
    while (n && is_blank(p[n - 1]))
        n--;
    field f = {p, n};
    return f;
}

/* Next occurrence of delim (length dn) in [p, end), or end. */
static char *find_delim(char *p, char *end, const char *delim, size_t dn)
{
    for (;;) {
        char *q = memchr(p, delim[0], (size_t)(end - p));
        if (!q)
            return end;
        if (dn == 1 || (end - q >= 2 && q[1] == delim[1]))
            return q;
        p = q + 1;
    }
}

int field_split(char *line, size_t len, const char *delim, field *out, int max)
{
    size_t dn = strlen(delim);
    char *p = line, *end = line + len;
    int count = 0;
    for (;;) {
        char *q = find_delim(p, end, delim, dn);
        if (count < max)
            out[count] = trimmed(p, (size_t)(q - p));
        count++;
        if (q == end)
            return count;
        p = q + dn;
    }
}

int field_parse_id(const field *f, int64_t *out)
{
    const char *p = f->p, *end = f->p + f->n;
    int neg = 0;
    if (p < end && (*p == '+' || *p == '-'))
        neg = *p++ == '-';
    if (p == end)
        return PARSE_BAD;
    uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    int range = 0;
    for (; p < end; p++) {
        if (!is_digit(*p))
            return PARSE_BAD;
        unsigned d = (unsigned)(*p - '0');
        if (v > (limit - d) / 10)
            range = 1;                      /* keep scanning: "123abc" stays PARSE_BAD */
        else
            v = v * 10 + d;
    }
    if (range)
        return PARSE_RANGE;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return PARSE_OK;
}

/* The common case "4", "3.5", "0.25": up to 15 significant digits, exact in a double,
 * divided once by an exact power of ten: the correctly rounded value, as strtod gives. */
static int rating_fast(const field *f, double *out)
{
    static const double pow10[16] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    const char *p = f->p, *end = f->p + f->n;
    uint64_t m = 0;
    int digits = 0, frac = -1;
    for (; p < end; p++) {
        if (*p == '.' && frac < 0) {
            frac = 0;
            continue;
        }
        if (!is_digit(*p) || ++digits > 15)
            return 0;
        m = m * 10 + (uint64_t)(*p - '0');
        if (frac >= 0)
            frac++;
    }
    if (digits == 0)
        return 0;
    *out = (double)m / pow10[frac > 0 ? frac : 0];
    return 1;
}

int field_parse_rating(field *f, float *out)
{
    double v;
    if (!rating_fast(f, &v)) {
        if (f->n == 0)
            return PARSE_BAD;
        char *stop;
        f->p[f->n] = '\0';                  /* the byte after a field is a delimiter/blank/NUL */
        v = strtod(f->p, &stop);
        if (stop != f->p + f->n)
            return PARSE_BAD;
    }
    if (!isfinite(v) || !isfinite((float)v))
        return PARSE_RANGE;
    *out = (float)v;
    return PARSE_OK;
}

int field_is_numeric(const field *f)
{
    const char *p = f->p, *end = f->p + f->n;
    int digits = 0;
    if (p < end && (*p == '+' || *p == '-'))
        p++;
    for (; p < end && (is_digit(*p) || *p == '.'); p++)
        digits += is_digit(*p);
    if (digits && p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        while (p < end && is_digit(*p))
            p++;
    }
    return digits > 0 && p == end;
}

void field_excerpt(const field *f, char *out, size_t size)
{
    size_t keep = size - 1;
    if (f->n <= keep) {
        memcpy(out, f->p, f->n);
        out[f->n] = '\0';
        return;
    }
    memcpy(out, f->p, keep - 3);
    memcpy(out + keep - 3, "...", 4);
}
