/* partition/fields.c — see fields.h */
#include "partition/fields.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "partition/rawid.h"

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

field_sep field_sep_of(const char *s)
{
    field_sep f;
    memset(&f, 0, sizeof f);
    f.n = strlen(s) < sizeof f.s ? strlen(s) : sizeof f.s - 1;
    memcpy(f.s, s, f.n);
    return f;
}

int field_sep_parse(const char *spec, field_sep *out)
{
    static const char *const names[][2] = {
        {"tab", "\t"}, {"\\t", "\t"}, {"comma", ","}, {"semicolon", ";"}, {"pipe", "|"}};
    memset(out, 0, sizeof *out);
    if (strcmp(spec, "space") == 0 || strcmp(spec, "whitespace") == 0 || strcmp(spec, " ") == 0) {
        out->blanks = 1;
        return 0;
    }
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if (strcmp(spec, names[k][0]) == 0) {
            *out = field_sep_of(names[k][1]);
            return 0;
        }
    size_t n = strlen(spec);
    if (n == 0 || n >= sizeof out->s || strpbrk(spec, "\n\r") || spec[0] == '"')
        return -1;
    *out = field_sep_of(spec);
    return 0;
}

/* Next separator in [p, end): its start, its length in *sn; end (sn 0) when none. */
static char *find_sep(char *p, char *end, const field_sep *sep, size_t *sn)
{
    if (sep->blanks) {
        while (p < end && !is_blank(*p))
            p++;
        char *q = p;
        while (q < end && is_blank(*q))
            q++;
        *sn = (size_t)(q - p);
        return p;
    }
    for (;;) {
        char *q = memchr(p, sep->s[0], (size_t)(end - p));
        if (!q) {
            *sn = 0;
            return end;
        }
        if ((size_t)(end - q) >= sep->n && memcmp(q, sep->s, sep->n) == 0) {
            *sn = sep->n;
            return q;
        }
        p = q + 1;
    }
}

/* A quoted field at p (p[0] == '"'): unescapes it in place into f, returns the first byte
 * after the closing quote (end when the quote is not closed: the rest is the field). */
static char *quoted(char *p, char *end, field *f)
{
    char *w = p + 1, *r = p + 1;
    for (; r < end; r++) {
        if (*r == '"') {
            if (r + 1 < end && r[1] == '"') {
                *w++ = '"';
                r++;
                continue;
            }
            r++;
            break;
        }
        *w++ = *r;
    }
    f->p = p + 1;
    f->n = (size_t)(w - (p + 1));
    return r;
}

int field_split(char *line, size_t len, const field_sep *sep, field *out, int max)
{
    char *p = line, *end = line + len;
    int count = 0;
    if (sep->blanks) {
        while (p < end && is_blank(*p))
            p++;
        if (p == end)
            return 0;
    }
    for (;;) {
        field f;
        size_t sn;
        char *s = p, *q;
        while (s < end && (*s == ' ' || *s == '\t') && !(!sep->blanks && *s == sep->s[0]))
            s++;
        if (s < end && *s == '"')
            q = find_sep(quoted(s, end, &f), end, sep, &sn);
        else {
            q = find_sep(p, end, sep, &sn);
            f = trimmed(p, (size_t)(q - p));
        }
        if (count < max)
            out[count] = f;
        count++;
        if (sn == 0 || (sep->blanks && q + sn == end))
            return count;
        p = q + sn;
    }
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
    raw_id_excerpt(f->p, f->n, out, size);
}

int field_parse_id(const field *f, const char *what, raw_id *out, char *msg, size_t size)
{
    unsigned char bad = 0;
    char ex[48];
    const char *sp = what ? " " : "";
    raw_id_status st = raw_id_parse(f->p, f->n, out, &bad);
    if (st == RAW_ID_OK)
        return 0;
    what = what ? what : "";
    field_excerpt(f, ex, sizeof ex);
    if (st == RAW_ID_EMPTY)
        snprintf(msg, size, "empty %s%sid", what, sp);
    else if (st == RAW_ID_TOO_LONG)
        snprintf(msg, size, "%s%sid '%s' is longer than %d bytes", what, sp, ex,
                 RAW_ID_MAX_BYTES);
    else
        snprintf(msg, size, "%s%sid '%s' contains a control character (byte 0x%02x)", what,
                 sp, ex, bad);
    return -1;
}
