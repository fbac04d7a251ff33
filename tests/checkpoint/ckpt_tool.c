/* tests/checkpoint/ckpt_tool.c — helper of the checkpoint script tests (not installed).
 *
 *   ckpt_tool set-version IN OUT N   IN with the header's format version set to N (the
 *                                    header crc in the end record fixed), so only the
 *                                    version check can reject it
 *   ckpt_tool to-v1 IN OUT           IN (integer raw ids) as a format version 1 file: ids
 *                                    as int64 tensors ids.user_raw / ids.item_raw, as
 *                                    bivae-dist wrote them before string ids
 *   ckpt_tool seen CKPT RAWUSER      raw item ids of the user's training row, one a line
 *   ckpt_tool info CKPT              "epoch E phase P step S nranks R users U items I k K"
 *
 * Exit 0, or 1 with a message. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/checkpoint.h"
#include "src/ckpt_io.h"

static int die(const char *msg)
{
    fprintf(stderr, "ckpt_tool: %s\n", msg);
    return 1;
}

/* ---- set-version ---------------------------------------------------------------------- */

static int set_version(const char *in_path, const char *out_path, unsigned version)
{
    ckpt_in in;
    ckpt_out out;
    if (ckpt_in_open(&in, in_path) != 0)
        return die(in.msg);
    if (ckpt_out_open(&out, out_path) != 0)
        return die(out.msg);
    uint32_t header_crc = 0;
    ckpt_rec_status st;
    while ((st = ckpt_in_next(&in)) == CKPT_REC_OK) {
        BivaeCkpt__Record *r = bivae_ckpt__record__unpack(NULL, in.len, in.buf);
        if (!r)
            return die("a record does not parse");
        if (r->kind_case == BIVAE_CKPT__RECORD__KIND_HEADER)
            r->header->format_version = version;
        if (r->kind_case == BIVAE_CKPT__RECORD__KIND_END)
            r->end->header_crc32 = header_crc;
        ckpt_out_record(&out, r, r->kind_case == BIVAE_CKPT__RECORD__KIND_HEADER ? &header_crc : NULL);
        bivae_ckpt__record__free_unpacked(r, NULL);
    }
    if (st != CKPT_REC_EOF)
        return die(in.msg);
    ckpt_in_close(&in);
    if (ckpt_out_commit(&out) != 0)
        return die(out.msg);
    return 0;
}

/* ---- to-v1 ----------------------------------------------------------------------------- */

/* A string id chunk of integer ids as the int64 chunk of version 1 (fields of ch replaced;
 * the int64 values in *vals, to free). */
static int chunk_to_v1(BivaeCkpt__TensorChunk *ch, int64_t **vals)
{
    *vals = malloc(sizeof(int64_t) * (ch->n_str ? ch->n_str : 1));
    for (size_t k = 0; k < ch->n_str; k++) {
        char buf[32];
        if (ch->str[k].len >= sizeof buf)
            return -1;
        memcpy(buf, ch->str[k].data, ch->str[k].len);
        buf[ch->str[k].len] = '\0';
        char *end;
        (*vals)[k] = strtoll(buf, &end, 10);
        if (*end)
            return -1;
    }
    ch->name = strcmp(ch->name, "ids.user") == 0 ? "ids.user_raw" : "ids.item_raw";
    ch->n_i64 = ch->n_str;
    ch->i64 = *vals;
    ch->n_str = 0;
    ch->crc32 = ckpt_crc32(*vals, 8 * ch->n_i64);
    return 0;
}

static int to_v1(const char *in_path, const char *out_path)
{
    ckpt_in in;
    ckpt_out out;
    if (ckpt_in_open(&in, in_path) != 0)
        return die(in.msg);
    if (ckpt_out_open(&out, out_path) != 0)
        return die(out.msg);
    uint32_t header_crc = 0;
    ckpt_rec_status st;
    while ((st = ckpt_in_next(&in)) == CKPT_REC_OK) {
        BivaeCkpt__Record *r = bivae_ckpt__record__unpack(NULL, in.len, in.buf);
        int64_t *vals = NULL;
        size_t n_str = 0;
        ProtobufCBinaryData *str = NULL;
        char *name = NULL;
        if (!r)
            return die("a record does not parse");
        if (r->kind_case == BIVAE_CKPT__RECORD__KIND_HEADER)
            r->header->format_version = 1;
        if (r->kind_case == BIVAE_CKPT__RECORD__KIND_END)
            r->end->header_crc32 = header_crc;
        if (r->kind_case == BIVAE_CKPT__RECORD__KIND_CHUNK && r->chunk->n_str > 0) {
            n_str = r->chunk->n_str;
            str = r->chunk->str;
            name = r->chunk->name;
            if (chunk_to_v1(r->chunk, &vals) != 0)
                return die("a raw id is not an integer: no version 1 file can hold it");
        }
        ckpt_out_record(&out, r, r->kind_case == BIVAE_CKPT__RECORD__KIND_HEADER ? &header_crc : NULL);
        if (str) {                      /* back as unpacked, for free_unpacked */
            r->chunk->n_str = n_str;
            r->chunk->str = str;
            r->chunk->n_i64 = 0;
            r->chunk->i64 = NULL;
            r->chunk->name = name;
        }
        free(vals);
        bivae_ckpt__record__free_unpacked(r, NULL);
    }
    if (st != CKPT_REC_EOF)
        return die(in.msg);
    ckpt_in_close(&in);
    if (ckpt_out_commit(&out) != 0)
        return die(out.msg);
    return 0;
}

/* ---- seen ------------------------------------------------------------------------------- */

typedef struct seen_ctx {
    const char *raw;          /* the user */
    int64_t g;                /* its global id; −1 until found */
    char **item_raw;          /* [I] */
    int64_t row[2];           /* its span in train.col */
} seen_ctx;

static int seen_visit(void *ctx, ckpt_tensor t, int64_t off, const void *data, int64_t n,
                      char *err, size_t len)
{
    (void)err;
    (void)len;
    seen_ctx *x = ctx;
    const ckpt_str *ids = data;
    const int64_t *v = data;
    for (int64_t j = 0; j < n; j++) {
        int64_t at = off + j;
        if (t == CKPT_USER_IDS && ids[j].n == strlen(x->raw) && memcmp(ids[j].p, x->raw, ids[j].n) == 0)
            x->g = at;
        else if (t == CKPT_ITEM_IDS)
            x->item_raw[at] = strndup(ids[j].p, ids[j].n);
        else if (t == CKPT_TRAIN_ROWPTR && x->g >= 0 && (at == x->g || at == x->g + 1))
            x->row[at - x->g] = v[j];
        else if (t == CKPT_TRAIN_COL && at >= x->row[0] && at < x->row[1])
            printf("%s\n", x->item_raw[((const int32_t *)data)[j]]);
    }
    return 0;
}

static int seen(const char *path, const char *user)
{
    ckpt_info info;
    char err[1024];
    if (ckpt_read_header(path, &info, err, sizeof err) != 0)
        return die(err);
    int64_t I = info.n_items;
    seen_ctx x = {user, -1, calloc((size_t)I, sizeof(char *)), {0, 0}};
    ckpt_info_free(&info);
    if (ckpt_read(path, &info, seen_visit, &x, err, sizeof err) != 0)
        return die(err);
    ckpt_info_free(&info);
    for (int64_t i = 0; i < I; i++)
        free(x.item_raw[i]);
    free(x.item_raw);
    return x.g >= 0 ? 0 : die("no such user");
}

/* ---- info ------------------------------------------------------------------------------- */

static int info(const char *path)
{
    ckpt_info i;
    char err[1024];
    if (ckpt_read(path, &i, NULL, NULL, err, sizeof err) != 0)
        return die(err);
    printf("epoch %d phase %d step %lld nranks %d users %lld items %lld k %lld\n", i.pos.epoch,
           (int)i.pos.phase, (long long)i.pos.step, i.nranks, (long long)i.n_users,
           (long long)i.n_items, (long long)i.K);
    ckpt_info_free(&i);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "set-version") == 0)
        return set_version(argv[2], argv[3], (unsigned)atoi(argv[4]));
    if (argc == 4 && strcmp(argv[1], "to-v1") == 0)
        return to_v1(argv[2], argv[3]);
    if (argc == 4 && strcmp(argv[1], "seen") == 0)
        return seen(argv[2], argv[3]);
    if (argc == 3 && strcmp(argv[1], "info") == 0)
        return info(argv[2]);
    return die("usage: set-version IN OUT N | to-v1 IN OUT | seen CKPT RAWUSER | info CKPT");
}
