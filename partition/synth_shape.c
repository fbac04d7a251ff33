/* partition/synth_shape.c — --synthetic presets and UxIxNNZ specs. */
#include <stdio.h>
#include <string.h>

#include "common/check.h"
#include "partition/errors.h"
#include "partition/synth.h"

static const synth_shape presets[] = {
    {943, 1682, 100000, "ml-100k"},
    {6040, 3706, 1000209, "ml-1m"},
    {138493, 26744, 20000263, "ml-20m"},
};

/* Positive decimal number ending at 'x' or at the end of the string. */
static int parse_count(const char **p, int64_t *out)
{
    const char *s = *p;
    int64_t v = 0;
    if (*s < '0' || *s > '9')
        return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    *p = s;
    return 0;
}

static int parse_custom(const char *spec, synth_shape *s)
{
    const char *p = spec;
    if (parse_count(&p, &s->U) || *p++ != 'x' || parse_count(&p, &s->I) || *p++ != 'x' ||
        parse_count(&p, &s->nnz) || *p != '\0')
        return -1;
    snprintf(s->name, sizeof s->name, "%lldx%lldx%lld", (long long)s->U, (long long)s->I,
             (long long)s->nnz);
    return 0;
}

/* The shape's limits; 0 or -1 with err. */
static int validate(const char *spec, const synth_shape *s, char *err, size_t size)
{
    long long U = s->U, I = s->I, nnz = s->nnz, per = I < 20 ? I : 20;
    const char *why = NULL;
    char buf[160];
    if (U <= 0 || I <= 0 || nnz <= 0)
        why = "users, items and ratings must all be positive";
    else if (U > INT32_MAX || I > INT32_MAX)
        why = "at most 2147483647 users and 2147483647 items";
    else if (nnz < U * per)
        why = buf, snprintf(buf, sizeof buf, "need at least users x min(20, items) = %lld ratings",
                            U * per);
    else if (nnz > U * I / 2)
        why = buf, snprintf(buf, sizeof buf, "need at most users x items / 2 = %lld ratings",
                            U * I / 2);
    else if (nnz < I)
        why = "need at least one rating per item (ratings >= items)";
    if (!why)
        return 0;
    snprintf(err, size, "--synthetic %s: %s", spec, why);
    return -1;
}

int synth_shape_from_spec(const char *spec, synth_shape *s, char *err, size_t size)
{
    for (size_t k = 0; k < sizeof presets / sizeof presets[0]; k++)
        if (strcmp(spec, presets[k].name) == 0) {
            *s = presets[k];
            return 0;
        }
    memset(s, 0, sizeof *s);
    if (strlen(spec) >= sizeof s->name || parse_custom(spec, s) != 0) {
        snprintf(err, size, "--synthetic '%s': expected ml-100k, ml-1m, ml-20m or "
                 "USERSxITEMSxRATINGS (e.g. 50000x8000x2000000)", spec);
        return -1;
    }
    return validate(spec, s, err, size);
}

int synth_parse_shape(const char *spec, int64_t *U, int64_t *I, int64_t *nnz)
{
    synth_shape s;
    char err[512];
    if (synth_shape_from_spec(spec, &s, err, sizeof err) != 0) {
        part_error("%s", err);
        return BIVAE_EXIT_USAGE;
    }
    *U = s.U;
    *I = s.I;
    *nnz = s.nnz;
    return 0;
}
