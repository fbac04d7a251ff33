/* partition/ingest.c — see ingest.h */
#include "partition/ingest.h"

#include <math.h>
#include <stdio.h>
#include <unistd.h>

#include "common/check.h"
#include "partition/errors.h"
#include "partition/reader.h"
#include "partition/synth.h"

/* This rank's part of one file: open, detect, parse its range. 0, or -1 with err. */
static int read_share(comm *c, const char *path, data_format *fmt, rating_sink *sink,
                      range_stats *st, read_error *err)
{
    int64_t size = 0, begin, end;
    int fd = reader_open(path, &size, err);
    if (fd < 0)
        return -1;
    int rc = *fmt == DATA_FORMAT_AUTO ? reader_detect(fd, path, size, fmt, err) : 0;
    if (rc == 0) {
        reader_range(size, comm_rank(c), comm_size(c), &begin, &end);
        rc = reader_parse_range(fd, path, *fmt, begin, end, rating_sink_add, sink, st, err);
    }
    close(fd);
    return rc;
}

int ingest_file(comm *c, const char *path, data_format fmt, rating_sink *sink,
                data_format *used)
{
    range_stats st = {0, 0};
    read_error err = {0, ""};
    int bad = read_share(c, path, &fmt, sink, &st, &err) != 0;
    /* Lines before this rank's range. A rank that stopped at its error counted the lines
     * up to it, so the first error of the file still gets its exact number. */
    int64_t before = comm_exscan_sum_i64(c, st.lines);
    int64_t line = bad && err.line > 0 ? before + err.line : 0;
    if (part_agree_error(c, bad, line, path, err.msg))
        return BIVAE_EXIT_USAGE;
    if (comm_allreduce_sum_i64(c, st.ratings) == 0) {
        if (comm_rank(c) == 0)
            part_error("%s: no ratings (the file is empty or has only a header)", path);
        return BIVAE_EXIT_USAGE;
    }
    *used = fmt;
    return 0;
}

/* Options that cannot work together; the same verdict on every rank. */
static const char *bad_options(const data_options *o)
{
    int sources = (o->synthetic != NULL) + (o->data_path != NULL) + (o->train_path != NULL);
    if (sources == 0)
        return o->test_path ? "--test needs --train" :
               "no data: give --data FILE, --train FILE [--test FILE] or --synthetic PRESET";
    if (sources > 1)
        return "give only one of --data, --train/--test and --synthetic";
    if (o->test_path && !o->train_path)
        return "--test needs --train";
    if ((unsigned)o->format > (unsigned)DATA_FORMAT_TSV)
        return "unknown --format (auto, ml-100k, ml-1m, ml-20m, csv, tsv)";
    if (!(o->test_ratio >= 0.0 && o->test_ratio <= 1.0))
        return "--test-ratio must be in [0, 1]";
    if (o->has_min_rating && !isfinite(o->min_rating))
        return "--min-rating must be a finite number";
    return NULL;
}

static int load_synthetic(const data_options *o, comm *c, rating_sink *sink, char *source,
                          size_t size)
{
    synth_shape s;
    char msg[512];
    int bad = synth_shape_from_spec(o->synthetic, &s, msg, sizeof msg) != 0;
    if (part_agree_error(c, bad, 0, NULL, msg))
        return BIVAE_EXIT_USAGE;
    synth_generate(&s, o->seed, comm_rank(c), comm_size(c), rating_sink_add, sink);
    snprintf(source, size, "synthetic %s (seed %llu)", s.name, (unsigned long long)o->seed);
    return 0;
}

static int load_split_files(const data_options *o, comm *c, rating_sink *sink, char *source,
                            size_t size)
{
    data_format f_train = o->format, f_test = o->format;
    sink->mode = SPLIT_ALL_TRAIN;
    int rc = ingest_file(c, o->train_path, o->format, sink, &f_train);
    if (rc || !o->test_path) {
        snprintf(source, size, "%s (%s)", o->train_path, data_format_name(f_train));
        return rc;
    }
    sink->mode = SPLIT_ALL_TEST;
    rc = ingest_file(c, o->test_path, o->format, sink, &f_test);
    snprintf(source, size, "train %s (%s), test %s (%s)", o->train_path,
             data_format_name(f_train), o->test_path, data_format_name(f_test));
    return rc;
}

int ingest_load(const data_options *opt, comm *c, rating_sink *sink, char *source,
                size_t size)
{
    const char *why = bad_options(opt);
    if (part_agree_error(c, why != NULL, 0, NULL, why))
        return BIVAE_EXIT_USAGE;
    sink->mode = SPLIT_BY_HASH;
    sink->test_ratio = opt->test_ratio;
    sink->seed = opt->seed;
    sink->has_min_rating = opt->has_min_rating;
    sink->min_rating = opt->min_rating;
    if (opt->synthetic)
        return load_synthetic(opt, c, sink, source, size);
    if (opt->train_path)
        return load_split_files(opt, c, sink, source, size);
    data_format used = DATA_FORMAT_AUTO;
    int rc = ingest_file(c, opt->data_path, opt->format, sink, &used);
    snprintf(source, size, "%s (%s)", opt->data_path, data_format_name(used));
    return rc;
}
