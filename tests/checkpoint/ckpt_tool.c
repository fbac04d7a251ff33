/* tests/checkpoint/ckpt_tool.c — helper of the checkpoint script tests (not installed).
 *
 *   ckpt_tool set-version IN OUT N   IN with the header's format version set to N (the
 *                                    header crc in the end record fixed), so only the
 *                                    version check can reject it
 *   ckpt_tool to-v1 IN OUT           IN (integer raw ids) as a format version 1 file: ids
 *                                    as int64 tensors ids.user_raw / ids.item_raw, as
 *                                    bivae-dist wrote them before string ids
 *   ckpt_tool seen CKPT RAWUSER      raw item ids of the user's training row, one a line
 *   ckpt_tool info CKPT              "epoch E phase P step S nranks R users U items I k K
 *                                    run ID" (ID "-" for a legacy file)
 *   ckpt_tool legacy IN OUT          IN without its run id: a file as written before run ids
 *   ckpt_tool same A B               exit 0 when A and B hold the same records apart from the
 *                                    run id and the seconds of an epoch in progress (two runs
 *                                    of one configuration), else 1 naming the first record
 *                                    that differs
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

/* ---- rewriting: set-version, legacy, to-v1 ------------------------------------------- */

/* One record edit: apply changes the decoded record before it is written (-1: refused,
 * with fail as the message), undo puts back what apply replaced so that free_unpacked
 * frees what unpack allocated. */
typedef struct record_edit {
    int (*apply)(BivaeCkpt__Record *r, struct record_edit *e);
    void (*undo)(BivaeCkpt__Record *r, struct record_edit *e);
    unsigned arg;               /* set-version: the version */
    char *run_id;               /* the header's run id while it is cleared */
    int64_t *vals;              /* to-v1: the int64 ids written in place of strings */
    size_t n_str;
    ProtobufCBinaryData *str;
    char *name;
    const char *fail;
} record_edit;

/* IN rewritten to OUT with e applied to every record and the end record's header crc
 * fixed, so only the edited fields differ. */
static int rewrite(const char *in_path, const char *out_path, record_edit *e)
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
        if (e->apply(r, e) != 0)
            return die(e->fail);
        if (r->kind_case == BIVAE_CKPT__RECORD__KIND_END)
            r->end->header_crc32 = header_crc;
        ckpt_out_record(&out, r, r->kind_case == BIVAE_CKPT__RECORD__KIND_HEADER ? &header_crc : NULL);
        e->undo(r, e);
        bivae_ckpt__record__free_unpacked(r, NULL);
    }
    if (st != CKPT_REC_EOF)
        return die(in.msg);
    ckpt_in_close(&in);
    if (ckpt_out_commit(&out) != 0)
        return die(out.msg);
    return 0;
}

static int is_header(const BivaeCkpt__Record *r) { return r->kind_case == BIVAE_CKPT__RECORD__KIND_HEADER; }

static int set_version(BivaeCkpt__Record *r, record_edit *e)
{
    if (is_header(r))
        r->header->format_version = e->arg;
    return 0;
}

static void nothing_to_undo(BivaeCkpt__Record *r, record_edit *e) { (void)r, (void)e; }

static int clear_run_id(BivaeCkpt__Record *r, record_edit *e)
{
    if (is_header(r)) {
        e->run_id = r->header->run_id;
        r->header->run_id = NULL;
    }
    return 0;
}

static void restore_run_id(BivaeCkpt__Record *r, record_edit *e)
{
    if (is_header(r))
        r->header->run_id = e->run_id;
}

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

static int to_v1(BivaeCkpt__Record *r, record_edit *e)
{
    e->arg = 1;
    set_version(r, e);
    e->vals = NULL;
    e->str = NULL;
    if (r->kind_case != BIVAE_CKPT__RECORD__KIND_CHUNK || r->chunk->n_str == 0)
        return 0;
    e->n_str = r->chunk->n_str;
    e->str = r->chunk->str;
    e->name = r->chunk->name;
    e->fail = "a raw id is not an integer: no version 1 file can hold it";
    return chunk_to_v1(r->chunk, &e->vals);
}

static void from_v1(BivaeCkpt__Record *r, record_edit *e)
{
    if (e->str) {
        r->chunk->n_str = e->n_str;
        r->chunk->str = e->str;
        r->chunk->n_i64 = 0;
        r->chunk->i64 = NULL;
        r->chunk->name = e->name;
    }
    free(e->vals);
}

/* ---- same -------------------------------------------------------------------------------- */

/* The next record of in, packed again without the run id and the header crc: malloc'd
 * bytes in *out (NULL at the end of the file), their count in *n. -1 on a bad file. */
static int next_normalized(ckpt_in *in, uint8_t **out, size_t *n)
{
    *out = NULL;
    ckpt_rec_status st = ckpt_in_next(in);
    if (st == CKPT_REC_EOF)
        return 0;
    BivaeCkpt__Record *r = st == CKPT_REC_OK ? bivae_ckpt__record__unpack(NULL, in->len, in->buf) : NULL;
    if (!r)
        return -1;
    char *run_id = NULL;
    if (r->kind_case == BIVAE_CKPT__RECORD__KIND_HEADER) {
        run_id = r->header->run_id;
        r->header->run_id = NULL;
        r->header->has_epoch_seconds = r->header->has_epoch_comm_seconds = 0;   /* timings */
    }
    if (r->kind_case == BIVAE_CKPT__RECORD__KIND_END)
        r->end->has_header_crc32 = 0;
    *n = bivae_ckpt__record__get_packed_size(r);
    *out = malloc(*n ? *n : 1);
    bivae_ckpt__record__pack(r, *out);
    if (r->kind_case == BIVAE_CKPT__RECORD__KIND_HEADER)
        r->header->run_id = run_id;
    bivae_ckpt__record__free_unpacked(r, NULL);
    return 0;
}

static int same(const char *a_path, const char *b_path)
{
    ckpt_in a, b;
    if (ckpt_in_open(&a, a_path) != 0)
        return die(a.msg);
    if (ckpt_in_open(&b, b_path) != 0)
        return die(b.msg);
    for (long long rec = 0;; rec++) {
        uint8_t *x, *y;
        size_t nx = 0, ny = 0;
        if (next_normalized(&a, &x, &nx) != 0 || next_normalized(&b, &y, &ny) != 0)
            return die("a file is not a readable checkpoint");
        int equal = (!x && !y) || (x && y && nx == ny && memcmp(x, y, nx) == 0), end = !x || !y;
        free(x);
        free(y);
        if (!equal) {
            fprintf(stderr, "ckpt_tool: %s and %s differ in record %lld\n", a_path, b_path, rec);
            return 1;
        }
        if (end)
            break;
    }
    ckpt_in_close(&a);
    ckpt_in_close(&b);
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
    printf("epoch %d phase %d step %lld nranks %d users %lld items %lld k %lld run %s\n",
           i.pos.epoch, (int)i.pos.phase, (long long)i.pos.step, i.nranks, (long long)i.n_users,
           (long long)i.n_items, (long long)i.K, i.run_id[0] ? i.run_id : "-");
    ckpt_info_free(&i);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "set-version") == 0)
        return rewrite(argv[2], argv[3], &(record_edit){.apply = set_version, .undo = nothing_to_undo,
                                                        .arg = (unsigned)atoi(argv[4])});
    if (argc == 4 && strcmp(argv[1], "to-v1") == 0)
        return rewrite(argv[2], argv[3], &(record_edit){.apply = to_v1, .undo = from_v1});
    if (argc == 4 && strcmp(argv[1], "legacy") == 0)
        return rewrite(argv[2], argv[3], &(record_edit){.apply = clear_run_id, .undo = restore_run_id});
    if (argc == 4 && strcmp(argv[1], "same") == 0)
        return same(argv[2], argv[3]);
    if (argc == 4 && strcmp(argv[1], "seen") == 0)
        return seen(argv[2], argv[3]);
    if (argc == 3 && strcmp(argv[1], "info") == 0)
        return info(argv[2]);
    return die("usage: set-version IN OUT N | to-v1 IN OUT | legacy IN OUT | same A B | "
               "seen CKPT RAWUSER | info CKPT");
}
