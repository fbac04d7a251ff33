/* tests/fuzz/fuzz_reader.c — libFuzzer harness for the ratings readers.
 *
 * Input: byte 0 picks the --format (auto, ml-100k, ml-1m, ml-20m, csv, tsv) and the file
 * name (so auto-detection by name is exercised too), byte 1 the header mode and a
 * separator (the format's own, "space", ";") ; the rest is the file (which may be gzip or
 * zstd: told by its magic). Property checked (besides no crash, no sanitizer report):
 * reading the file as the shares of P = 1..4 ranks yields the same ratings (count and an
 * order-independent hash) or the same first error line as P = 1 — the invariant every
 * multi-rank ingest relies on. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "partition/reader.h"

typedef struct tally {
    uint64_t count, hash;
} tally;

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

static void add(void *ctx, const raw_id *u, const raw_id *i, float r)
{
    tally *t = ctx;
    uint32_t rb;
    memcpy(&rb, &r, sizeof(rb));
    t->count++;
    t->hash += mix(raw_id_key(u) * 0x9e3779b97f4a7c15ull ^ mix(raw_id_key(i)) ^ rb ^ (uint64_t)u->is_int);
}

/* Parses the file as the shares of P ranks: the tally, or the error the ranks agree on
 * as ingest_file does (the smallest line over the ranks; an error not tied to a line, 0,
 * comes first). Returns INT64_MAX when no share failed. A compressed file's shares count
 * lines from the start of the file, a plain file's from the start of their range. */
static int64_t parse_p(const char *path, const data_options *o, int P, tally *t)
{
    int64_t lines_before = 0, first = INT64_MAX;
    memset(t, 0, sizeof(*t));
    for (int r = 0; r < P; r++) {
        range_stats st = {0};
        static read_error err;
        data_file f;
        if (reader_open(&f, path, o, &err) != 0)
            return err.line > 0 ? err.line : 0;
        int rc = reader_parse_share(&f, r, P, add, t, &st, &err);
        reader_close(&f);
        if (rc != 0) {
            int64_t line = err.line > 0 ? (st.lines_global ? 0 : lines_before) + err.line : 0;
            if (line < first)
                first = line;
        }
        lines_before += st.lines;
    }
    return first;
}

static const char *names[] = {"u.data", "ratings.dat", "ratings.csv", "x.csv", "x.tsv", "data"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char dir[] = "/tmp/fuzz_reader_XXXXXX", path[64];
    if (!mkdtemp(dir))
        return 0;
    snprintf(path, sizeof(path), "%s/%s", dir, names[data[0] / 6 % 6]);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(data + 1, 1, size - 1, f);   /* byte 1 is both options and content: fine */
        fclose(f);
    }
    static const char *const seps[] = {NULL, "space", ";", NULL};
    data_options o;
    memset(&o, 0, sizeof o);
    o.format = (data_format)(data[0] % 6);
    o.header = size > 1 ? data[1] % 3 : 0;
    o.sep = size > 1 && (o.format == DATA_FORMAT_AUTO || o.format >= DATA_FORMAT_CSV)
                ? seps[data[1] / 3 % 4] : NULL;
    tally t1, tp;
    int64_t e1 = parse_p(path, &o, 1, &t1);
    for (int P = 2; P <= 4; P++) {
        int64_t ep = parse_p(path, &o, P, &tp);
        if (ep != e1 || (e1 == INT64_MAX && (tp.count != t1.count || tp.hash != t1.hash)))
            __builtin_trap();   /* shares disagree with the whole file */
    }
    unlink(path);
    rmdir(dir);
    return 0;
}
