/* partition/detect.c — DATA_FORMAT_AUTO: by file name first, then by the first line. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "partition/linereader.h"
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

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

/* By name alone; DATA_FORMAT_AUTO when the name does not decide (or a .csv, whose
 * header decides between ml-20m and csv). */
static data_format by_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (strcmp(base, "u.data") == 0 || ends_with(base, ".data"))
        return DATA_FORMAT_ML100K;
    if (ends_with(base, ".dat"))
        return DATA_FORMAT_ML1M;
    if (ends_with(base, ".tsv"))
        return DATA_FORMAT_TSV;
    return DATA_FORMAT_AUTO;
}

static data_format by_content(const char *path, const char *line)
{
    if (ends_with(path, ".csv"))
        return strncmp(line, "userId,movieId", 14) == 0 ? DATA_FORMAT_ML20M : DATA_FORMAT_CSV;
    if (strstr(line, "::"))
        return DATA_FORMAT_ML1M;
    if (strchr(line, '\t'))
        return DATA_FORMAT_TSV;
    if (strchr(line, ','))
        return DATA_FORMAT_CSV;
    return DATA_FORMAT_AUTO;
}

int reader_detect(int fd, const char *path, int64_t size, data_format *fmt, read_error *err)
{
    *fmt = size == 0 ? DATA_FORMAT_TSV : by_name(path);
    if (*fmt != DATA_FORMAT_AUTO)
        return 0;
    line_reader lr;
    char *line = NULL;
    size_t len = 0;
    int64_t off;
    line_reader_init(&lr, fd, path, 0);
    line_reader_next(&lr, &line, &len, &off);
    if (len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0)
        line += 3;
    *fmt = by_content(path, line);
    line_reader_free(&lr);
    if (*fmt != DATA_FORMAT_AUTO)
        return 0;
    err->line = 0;
    snprintf(err->msg, sizeof err->msg,
             "cannot tell the format of %s: neither its name nor its first line "
             "('::', tab or comma) decides; give --format", path);
    return -1;
}
