/* tests/fuzz/fuzz_features.c — libFuzzer harness for the feature-file line parsers
 * (partition/feat_internal.h).
 *
 * Input: byte 0 picks the format (0: auto, told by a file name byte 0 / 9 picks, then by
 * line 1; 1..8: dense ... genome), the rest is the file. Line 1 resolves the layout, then
 * every line is parsed. Properties checked (besides no crash, no sanitizer report): a row
 * of a fixed-layout format has feature indices in [0, width); a dense row has exactly the
 * features of line 1; a named format's names are valid ids; a refused line has a reason. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "partition/feat_internal.h"

static void check_row(const feat_layout *L, const feat_row *r)
{
    if (L->fmt == FEAT_FORMAT_DENSE && r->n != L->n_fields - 1)
        abort();
    for (int k = 0; k < r->n; k++) {
        if (L->named && (r->name[k].is_int ? 0 : r->name[k].n == 0))
            abort();
        if (!L->named && L->fmt != FEAT_FORMAT_DENSE && (r->feat[k] < 0 || r->feat[k] >= L->width))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"f.txt", "u.user", "u.item", "users.dat", "movies.dat",
                                        "movies.csv", "genome-scores.csv", "f.svm", "f.csv"};
    if (size < 1)
        return 0;
    feature_format fmt = (feature_format)(data[0] % 9);
    const char *name = names[(data[0] / 9) % 9];
    char *text = malloc(size);                        /* the file, NUL-terminated */
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    size_t n = size - 1, first_len = strcspn(text, "\n");
    char *first = malloc(first_len + 1), msg[512];
    memcpy(first, text, first_len);
    first[first_len] = '\0';
    feat_layout L;
    if (feat_layout_resolve(&L, fmt, name, first, strlen(first), msg, sizeof msg) == 0) {
        feat_row r;
        feat_row_init(&r);
        for (size_t at = 0, line = 0; at <= n; line++) {
            size_t len = strcspn(text + at, "\n");
            char *l = malloc(len + 1);
            memcpy(l, text + at, len);
            l[len] = '\0';
            msg[0] = '\0';
            int got = feat_line_parse(&L, l, strlen(l), line == 0, &r, msg, sizeof msg);
            if (got > 0)
                check_row(&L, &r);
            if (got < 0 && !msg[0])
                abort();
            free(l);
            at += len + 1;
        }
        feat_row_free(&r);
    }
    free(first);
    free(text);
    return 0;
}
