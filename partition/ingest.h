/* partition/ingest.h — every rank's share of the ratings, from files or the synthetic
 * generator, filtered and split into raw (user, item) pairs. */
#ifndef BIVAE_PARTITION_INGEST_H
#define BIVAE_PARTITION_INGEST_H

#include <stddef.h>

#include "comm/comm.h"
#include "partition/dataset.h"
#include "partition/split.h"

/* Collective. Fills sink->train / sink->test with this rank's kept ratings (a file: the
 * lines of its byte range; synthetic: users u with (u-1) mod P == rank) and source[size]
 * with a description. Returns 0, or BIVAE_EXIT_USAGE on every rank after one rank printed
 * the error (bad options, unreadable or malformed file, no ratings). */
int ingest_load(const data_options *opt, comm *c, rating_sink *sink, char *source,
                size_t size);

/* Collective: one file, every rank its share (partition/reader.h), into sink (as
 * configured), read as opt says (--format, --sep, --columns, --header). desc[size] gets
 * what was read ("csv, gzip, header '...' skipped"). 0, or BIVAE_EXIT_USAGE (a bad file)
 * / BIVAE_EXIT_RUNTIME (an I/O error) on every rank after one rank printed the error. */
int ingest_file(comm *c, const char *path, const data_options *opt, rating_sink *sink,
                char *desc, size_t size);

#endif
