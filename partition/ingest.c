/* partition/ingest.c — see ingest.h */
#include "partition/ingest.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/check.h"
#include "partition/errors.h"
#include "partition/reader.h"
#include "partition/synth.h"

/* Appends printf text to out[size] (holding a string). */
static void append(char *out, size_t size, const char *fmt, const char *arg)
{
    size_t n = strlen(out);
    if (n + 1 < size)
        snprintf(out + n, size - n, fmt, arg);
}

/* What was read, for the data line: "csv, gzip, --sep ';', header 'user;item' skipped". */
static void describe(const data_file *f, const data_options *opt, char *out, size_t size)
{
    snprintf(out, size, "%s", data_format_name(f->fmt));
    if (f->src.kind != SOURCE_PLAIN)
        append(out, size, ", %s", source_kind_name(f->src.kind));
    if (opt->sep)
        append(out, size, ", --sep '%s'", opt->sep);
    if (opt->columns)
        append(out, size, ", --columns %s", opt->columns);
    if (f->lf.header && f->lf.header_text[0])
        append(out, size, ", %s skipped", f->lf.header_text);
}

/* Collective. When the file opened on some ranks and not on others (a host without it, or
 * with another file at its path), a failing rank's message gets its host and rank: every
 * host must see the same file at the same path (each rank reads its share itself). */
static void name_host_if_partial(comm *c, int failed, read_error *err)
{
    int64_t n_failed = comm_allreduce_sum_i64(c, failed != 0);
    if (!failed || n_failed == comm_size(c))
        return;
    char host[256] = "?";
    if (gethostname(host, sizeof host - 1) != 0)
        snprintf(host, sizeof host, "? (gethostname failed)");
    size_t n = strlen(err->msg);
    snprintf(err->msg + n, sizeof err->msg - n, " on host %s (rank %d; %lld of %d ranks opened "
             "it): every host needs the data file at the same path", host, comm_rank(c),
             (long long)(comm_size(c) - n_failed), comm_size(c));
}

int ingest_file(comm *c, const char *path, const data_options *opt, rating_sink *sink,
                char *desc, size_t desc_size)
{
    range_stats st;
    read_error err;
    data_file f;
    memset(&st, 0, sizeof st);
    int status = reader_open(&f, path, opt, &err) != 0 ? err.status : 0;
    int opened = status == 0;
    name_host_if_partial(c, status, &err);
    /* every rank opens the file and reads its line 1: the same verdict everywhere */
    if ((status = part_agree_status(c, status, err.line, path, err.msg)))
        return status;
    if (reader_parse_share(&f, comm_rank(c), comm_size(c), rating_sink_add, sink, &st, &err))
        status = err.status;
    if (opened)
        describe(&f, opt, desc, desc_size);
    reader_close(&f);
    /* Lines before this rank's range (plain files). A rank that stopped at its error
     * counted the lines up to it, so the first error of the file gets its exact number. */
    int64_t before = comm_exscan_sum_i64(c, st.lines_global ? 0 : st.lines);
    int64_t line = status && err.line > 0 ? (st.lines_global ? 0 : before) + err.line : 0;
    if ((status = part_agree_status(c, status, line, path, err.msg)))
        return status;
    if (comm_allreduce_sum_i64(c, st.ratings) == 0) {
        if (comm_rank(c) == 0)
            part_error("%s: no ratings (the file is empty or has only a header)", path);
        return BIVAE_EXIT_USAGE;
    }
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
    if (!(o->cold_users >= 0.0 && o->cold_users < 1.0))
        return "--cold-users must be in (0, 1)";
    if (o->cold_users > 0.0 && o->train_path)
        return "--cold-users needs --data or --synthetic (a hash split), not --train/--test";
    if (o->has_min_rating && !isfinite(o->min_rating))
        return "--min-rating must be a finite number";
    int custom = o->format == DATA_FORMAT_AUTO || o->format == DATA_FORMAT_CSV ||
                 o->format == DATA_FORMAT_TSV;
    if (o->sep && !custom)
        return "--sep applies to csv, tsv or auto files (the MovieLens formats have their own "
               "separator)";
    if (o->columns && !custom)
        return "--columns applies to csv, tsv or auto files (the MovieLens formats have fixed "
               "columns)";
    if ((unsigned)o->header > (unsigned)DATA_HEADER_NO)
        return "unknown header mode";
    if ((unsigned)o->features_format > (unsigned)FEAT_FORMAT_GENOME)
        return "unknown --features-format";
    if ((unsigned)o->missing_features > (unsigned)MISSING_FEATURES_ERROR)
        return "unknown --missing-features (zero, error)";
    if (o->synthetic_features < 0 || o->synthetic_features > 4096)
        return "--synthetic-features must be in [0, 4096]";
    if (o->synthetic_features && !o->synthetic)
        return "--synthetic-features needs --synthetic";
    if (o->synthetic_features && (o->user_features || o->item_features))
        return "--synthetic-features: not with --user-features / --item-features";
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
    char d_train[160] = "", d_test[160] = "";
    sink->mode = SPLIT_ALL_TRAIN;
    int rc = ingest_file(c, o->train_path, o, sink, d_train, sizeof d_train);
    if (rc || !o->test_path) {
        snprintf(source, size, "%s (%s)", o->train_path, d_train);
        return rc;
    }
    sink->mode = SPLIT_ALL_TEST;
    rc = ingest_file(c, o->test_path, o, sink, d_test, sizeof d_test);
    snprintf(source, size, "train %s (%s), test %s (%s)", o->train_path, d_train, o->test_path,
             d_test);
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
    sink->cold_users = opt->cold_users;
    sink->seed = opt->seed;
    sink->has_min_rating = opt->has_min_rating;
    sink->min_rating = opt->min_rating;
    if (opt->synthetic)
        return load_synthetic(opt, c, sink, source, size);
    if (opt->train_path)
        return load_split_files(opt, c, sink, source, size);
    char d[160] = "";
    int rc = ingest_file(c, opt->data_path, opt, sink, d, sizeof d);
    snprintf(source, size, "%s (%s)", opt->data_path, d);
    return rc;
}
