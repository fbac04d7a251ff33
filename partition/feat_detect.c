/* partition/feat_detect.c — FEAT_FORMAT_AUTO: by file name first, then by line 1 (as the
 * ratings reader does, partition/detect.c). */
#include <stdlib.h>
#include <string.h>

#include "partition/features.h"
#include "partition/fields.h"
#include "partition/reader.h"

const char *feature_format_name(feature_format f)
{
    switch (f) {
    case FEAT_FORMAT_DENSE: return "dense";
    case FEAT_FORMAT_SPARSE: return "sparse";
    case FEAT_FORMAT_ML100K_USER: return "ml-100k-user";
    case FEAT_FORMAT_ML100K_ITEM: return "ml-100k-item";
    case FEAT_FORMAT_ML1M_USER: return "ml-1m-user";
    case FEAT_FORMAT_ML1M_ITEM: return "ml-1m-item";
    case FEAT_FORMAT_ML20M_ITEM: return "ml-20m-item";
    case FEAT_FORMAT_GENOME: return "genome";
    default: return "auto";
    }
}

void feature_block_free(feature_block *b)
{
    free(b->x);
    memset(b, 0, sizeof *b);
}

static feature_format by_name(const char *base, size_t n)
{
    static const struct { const char *name; feature_format f; } names[] = {
        {"u.user", FEAT_FORMAT_ML100K_USER}, {"u.item", FEAT_FORMAT_ML100K_ITEM},
        {"users.dat", FEAT_FORMAT_ML1M_USER}, {"movies.dat", FEAT_FORMAT_ML1M_ITEM},
        {"movies.csv", FEAT_FORMAT_ML20M_ITEM}, {"genome-scores.csv", FEAT_FORMAT_GENOME}};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if (strlen(names[k].name) == n && strncmp(base, names[k].name, n) == 0)
            return names[k].f;
    if (data_name_ends_with(base, n, ".svm") || data_name_ends_with(base, n, ".libsvm"))
        return FEAT_FORMAT_SPARSE;
    return FEAT_FORMAT_AUTO;
}

/* The number of fields of line split at sep, and whether field `k` is "M" or "F". */
static int fields_and_gender(const char *line, const char *sep, int k, int *gender)
{
    size_t m = strlen(sep);
    int nf = 1;
    const char *p = line, *start = line;
    *gender = 0;
    for (;; p++) {
        int end = *p == '\0' || *p == '\r';
        if (end || strncmp(p, sep, m) == 0) {
            if (nf - 1 == k)
                *gender = p - start == 1 && (*start == 'M' || *start == 'F');
            if (end)
                return nf;
            nf++;
            p += m - 1;
            start = p + 1;
        }
    }
}

static int has_letter(const char *s)
{
    for (; *s; s++)
        if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
            return 1;
    return 0;
}

static feature_format by_content(const char *line)
{
    int gender;
    if (strncmp(line, "movieId,title,genres", 20) == 0)
        return FEAT_FORMAT_ML20M_ITEM;
    if (strncmp(line, "movieId,tagId,relevance", 23) == 0)
        return FEAT_FORMAT_GENOME;
    if (strstr(line, "::")) {
        int nf = fields_and_gender(line, "::", 1, &gender);
        return nf == 5 && gender ? FEAT_FORMAT_ML1M_USER
             : nf == 3 && has_letter(strrchr(line, ':')) ? FEAT_FORMAT_ML1M_ITEM
             : FEAT_FORMAT_DENSE;
    }
    if (strchr(line, '|')) {
        int nf = fields_and_gender(line, "|", 2, &gender);
        return nf == 5 && gender ? FEAT_FORMAT_ML100K_USER
             : nf == 24 ? FEAT_FORMAT_ML100K_ITEM : FEAT_FORMAT_AUTO;
    }
    if (strchr(line, '\t') || strchr(line, ','))
        return FEAT_FORMAT_DENSE;
    return FEAT_FORMAT_SPARSE;
}

feature_format feature_detect(const char *path, const char *first, size_t len)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    feature_format f = by_name(base, data_name_stem_length(base));
    if (f != FEAT_FORMAT_AUTO)
        return f;
    if (len >= 3 && memcmp(first, "\xEF\xBB\xBF", 3) == 0)
        first += 3;
    return by_content(first);
}
