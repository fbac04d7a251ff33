/* tests/fuzz/fuzz_reader.c — libFuzzer harness for the ratings readers.
 *
 * Input: byte 0 picks the --format (auto, ml-100k, ml-1m, ml-20m, csv, tsv) and the file
 * name (so auto-detection by name is exercised too); the rest is the file. Property checked
 * (besides no crash, no sanitizer report): cutting the file into P = 1..4 byte ranges yields
 * the same ratings (count and an order-independent hash) or the same first error line as
 * P = 1 — the invariant every multi-rank ingest relies on. */
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

static void add(void *ctx, int64_t u, int64_t i, float r)
{
    tally *t = ctx;
    uint32_t rb;
    memcpy(&rb, &r, sizeof(rb));
    t->count++;
    t->hash += mix((uint64_t)u * 0x9e3779b97f4a7c15ull ^ mix((uint64_t)i) ^ rb);
}

/* Parses the file as P ranges: the tally, or the global line of the first error (0: none). */
static int64_t parse_p(int fd, const char *path, data_format fmt, int64_t size, int P, tally *t)
{
    int64_t lines_before = 0;
    memset(t, 0, sizeof(*t));
    for (int r = 0; r < P; r++) {
        int64_t b, e;
        range_stats st = {0};
        read_error err;
        reader_range(size, r, P, &b, &e);
        if (reader_parse_range(fd, path, fmt, b, e, add, t, &st, &err) != 0)
            return err.line > 0 ? lines_before + err.line : -1;
        lines_before += st.lines;
    }
    return 0;
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
        fwrite(data + 1, 1, size - 1, f);
        fclose(f);
    }
    read_error err;
    int64_t fsize;
    int fd = reader_open(path, &fsize, &err);
    data_format fmt = (data_format)(data[0] % 6);
    if (fd >= 0 && (fmt != DATA_FORMAT_AUTO || reader_detect(fd, path, fsize, &fmt, &err) == 0)) {
        tally t1, tp;
        int64_t e1 = parse_p(fd, path, fmt, fsize, 1, &t1);
        for (int P = 2; P <= 4; P++) {
            int64_t ep = parse_p(fd, path, fmt, fsize, P, &tp);
            if (ep != e1 || (e1 == 0 && (tp.count != t1.count || tp.hash != t1.hash)))
                __builtin_trap();   /* ranges disagree with the whole file */
        }
    }
    if (fd >= 0)
        close(fd);
    unlink(path);
    rmdir(dir);
    return 0;
}
