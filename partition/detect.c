/* partition/detect.c — DATA_FORMAT_AUTO: by file name first, then by the first line. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "partition/reader.h"

const char *data_format_name(data_format f)
{
    switch (f) {
    case DATA_FORMAT_ML100K: return "ml-100k";
    case DATA_FORMAT_ML1M: return "ml-1m";
    case DATA_FORMAT_ML20M: return "ml-20m";
    case DATA_FORMAT_CSV: return "csv";
    case DATA_FORMAT_TSV: return "tsv";
    default: return "auto";
    }
}

int data_name_ends_with(const char *s, size_t n, const char *suffix)
{
    size_t m = strlen(suffix);
    return n >= m && strncasecmp(s + n - m, suffix, m) == 0;
}

/* The base name's length without a compression suffix (.gz, .gzip, .zst, .zstd). */
size_t data_name_stem_length(const char *base)
{
    static const char *const suffixes[] = {".gz", ".gzip", ".zst", ".zstd"};
    size_t n = strlen(base);
    for (size_t k = 0; k < sizeof suffixes / sizeof suffixes[0]; k++)
        if (data_name_ends_with(base, n, suffixes[k]))
            return n - strlen(suffixes[k]);
    return n;
}

/* By name alone; DATA_FORMAT_AUTO when the name does not decide (or a .csv, whose
 * header decides between ml-20m and csv). */
static data_format by_name(const char *base, size_t n, int *csv)
{
    *csv = data_name_ends_with(base, n, ".csv");
    if ((n == 6 && strncmp(base, "u.data", 6) == 0) || data_name_ends_with(base, n, ".data"))
        return DATA_FORMAT_ML100K;
    if (data_name_ends_with(base, n, ".dat"))
        return DATA_FORMAT_ML1M;
    if (data_name_ends_with(base, n, ".tsv"))
        return DATA_FORMAT_TSV;
    return DATA_FORMAT_AUTO;
}

static data_format by_content(int csv, const char *line)
{
    if (csv)
        return strncmp(line, "userId,movieId", 14) == 0 ? DATA_FORMAT_ML20M : DATA_FORMAT_CSV;
    if (strstr(line, "::"))
        return DATA_FORMAT_ML1M;
    if (strchr(line, '\t'))
        return DATA_FORMAT_TSV;
    if (strchr(line, ','))
        return DATA_FORMAT_CSV;
    return DATA_FORMAT_AUTO;
}

data_format reader_detect(const char *path, const char *first, size_t len)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    int csv;
    data_format f = by_name(base, data_name_stem_length(base), &csv);
    if (f != DATA_FORMAT_AUTO)
        return f;
    if (len >= 3 && memcmp(first, "\xEF\xBB\xBF", 3) == 0)
        first += 3;
    return by_content(csv, first);
}
