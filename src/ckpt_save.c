/* src/ckpt_save.c — writing a checkpoint (collective; rank 0 writes). See checkpoint.h.
 *
 * Every rank walks the same sequence of tensors and chunks, so the collectives of the
 * distributed tensors line up; only rank 0 touches the file. A failed call on rank 0 makes
 * its later writes no-ops (ckpt_out), the others keep joining the gathers, and one
 * agreement at the end turns it into the same status on every rank. */
#define _XOPEN_SOURCE 700
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "src/checkpoint.h"
#include "src/ckpt_internal.h"
#include "src/ckpt_io.h"

/* Values per chunk record (CKPT_CHUNK_ELEMS; tests make it tiny to exercise chunking). */
static int64_t chunk_elems = CKPT_CHUNK_ELEMS;

void ckpt_test_set_chunk_elems(int64_t n)
{
    chunk_elems = n >= 1 && n <= CKPT_CHUNK_ELEMS ? n : CKPT_CHUNK_ELEMS;
}

typedef struct saver {
    ckpt_out out;            /* rank 0: the file */
    comm *c;
    kern *k;
    int rank, P;
    const ckpt_info *info;
    int64_t n_chunks;
    int64_t kill_after;      /* BIVAE_TEST_KILL_SAVE (tests only): SIGKILL after this many chunks */
    void *bounce;            /* rank 0: host [max(chunk_elems, K)] values of 8 bytes */
} saver;

/* ---- chunks ------------------------------------------------------------------------------- */

/* Rank 0: one chunk record. */
static void put_record(saver *s, BivaeCkpt__TensorChunk *ch)
{
    BivaeCkpt__Record rec = BIVAE_CKPT__RECORD__INIT;
    rec.kind_case = BIVAE_CKPT__RECORD__KIND_CHUNK;
    rec.chunk = ch;
    ckpt_out_record(&s->out, &rec, NULL);
    if (++s->n_chunks == s->kill_after && fflush(s->out.f) == 0)
        raise(SIGKILL);   /* a writer killed mid-save, with part of the file on disk */
}

/* A chunk record of tensor t from value `offset` on (its values and crc: the caller's). */
static BivaeCkpt__TensorChunk chunk_head(const saver *s, ckpt_tensor t, int64_t offset,
                                         int64_t shape[2])
{
    int ndim;
    ckpt_tensor_shape(s->info, t, &shape[0], &shape[1], &ndim);
    BivaeCkpt__TensorChunk ch = BIVAE_CKPT__TENSOR_CHUNK__INIT;
    ch.name = (char *)ckpt_tensor_name(t);
    ch.n_shape = (size_t)ndim;
    ch.shape = shape;
    ch.has_offset = 1;
    ch.offset = offset;
    ch.has_crc32 = 1;
    return ch;
}

/* Rank 0: chunk records for values [offset, offset + n) of t from host memory. */
static void put_values(saver *s, ckpt_tensor t, int64_t offset, const void *data, int64_t n)
{
    if (s->rank != 0 || s->out.failed)
        return;
    ckpt_dtype dt = ckpt_tensor_dtype(t);
    size_t esz = ckpt_dtype_size(dt);
    int64_t shape[2];
    const char *p = data;
    for (int64_t done = 0; done < n;) {
        int64_t part = n - done < chunk_elems ? n - done : chunk_elems;
        BivaeCkpt__TensorChunk ch = chunk_head(s, t, offset + done, shape);
        if (dt == CKPT_F32)
            ch.n_f32 = (size_t)part, ch.f32 = (float *)p;
        else if (dt == CKPT_I64)
            ch.n_i64 = (size_t)part, ch.i64 = (int64_t *)p;
        else
            ch.n_i32 = (size_t)part, ch.i32 = (int32_t *)p;
        ch.crc32 = ckpt_crc32(p, (size_t)part * esz);
        put_record(s, &ch);
        done += part;
        p += (size_t)part * esz;
    }
}

/* Rank 0: chunk records of a string tensor, values [offset, offset + n) of v, none with
 * more than chunk_elems values or CKPT_CHUNK_STR_BYTES bytes (one value at least). */
static void put_strings(saver *s, ckpt_tensor t, int64_t offset, const ckpt_str *v, int64_t n)
{
    if (s->rank != 0 || s->out.failed)
        return;
    int64_t shape[2];
    ProtobufCBinaryData *bin = xmalloc(sizeof(ProtobufCBinaryData) *
                                       (size_t)(n < chunk_elems ? (n ? n : 1) : chunk_elems));
    for (int64_t done = 0; done < n;) {
        int64_t part = 0, bytes = 0;
        while (done + part < n && part < chunk_elems &&
               (part == 0 || bytes + (int64_t)v[done + part].n <= CKPT_CHUNK_STR_BYTES)) {
            bin[part].len = v[done + part].n;
            bin[part].data = (uint8_t *)v[done + part].p;
            bytes += (int64_t)v[done + part].n;
            part++;
        }
        BivaeCkpt__TensorChunk ch = chunk_head(s, t, offset + done, shape);
        ch.n_str = (size_t)part;
        ch.str = bin;
        ch.crc32 = ckpt_str_crc32(v + done, part);
        put_record(s, &ch);
        done += part;
    }
    free(bin);
}

/* Rank 0: a replicated tensor in backend memory, downloaded chunk by chunk. */
static void put_backend(saver *s, ckpt_tensor t, const void *src, int64_t n)
{
    if (s->rank != 0)
        return;
    size_t esz = ckpt_dtype_size(ckpt_tensor_dtype(t));
    for (int64_t off = 0; off < n; off += chunk_elems) {
        int64_t part = n - off < chunk_elems ? n - off : chunk_elems;
        kern_download(s->k, s->bounce, (const char *)src + (size_t)off * esz, (size_t)part * esz);
        put_values(s, t, off, s->bounce, part);
    }
}

/* ---- gathers of cyclically distributed rows ---------------------------------------------- */

/* Rank r's rows of the global range [g0, g1) arrive rank after rank in `all`; this puts
 * row j of rank r's block at dst row (global id − g0). width: values per row of esz bytes. */
static void unblock_rows(int P, int64_t g0, int64_t g1, const char *all, size_t row_bytes,
                         char *dst)
{
    size_t at = 0;
    for (int r = 0; r < P; r++)
        for (int64_t l = partition_local_begin(g0, r, P); l < partition_local_begin(g1, r, P); l++) {
            int64_t g = partition_global(l, r, P);
            memcpy(dst + (size_t)(g - g0) * row_bytes, all + at, row_bytes);
            at += row_bytes;
        }
}

/* Collective: rows [g0, g1) × K of a cyclically distributed fp32 table (this rank's rows:
 * local [n_local × K], backend memory) into rank 0's host dst [(g1 − g0) × K]. */
static void gather_rows(saver *s, const float *local, int64_t K, int64_t g0, int64_t g1,
                        float *dst)
{
    int64_t l0 = partition_local_begin(g0, s->rank, s->P);
    int64_t l1 = partition_local_begin(g1, s->rank, s->P);
    size_t n_send = (size_t)((l1 - l0) * K), n_recv = 0;
    float *send = xmalloc(n_send * sizeof(float));
    if (n_send > 0)
        kern_download(s->k, send, local + l0 * K, n_send * sizeof(float));
    char *all = comm_allgatherv_bytes(s->c, send, n_send, sizeof(float), &n_recv);
    if (n_recv != (size_t)((g1 - g0) * K))
        FAIL_RUNTIME("checkpoint gather: %zu values for rows [%lld, %lld) × %lld", n_recv,
                     (long long)g0, (long long)g1, (long long)K);
    if (s->rank == 0)
        unblock_rows(s->P, g0, g1, all, (size_t)K * sizeof(float), (char *)dst);
    free(all);
    free(send);
}

/* Collective: an [N × K] fp32 tensor whose rows [0, split) are gathered from the ranks'
 * `local` rows and rows [split, N) come from rank 0's full `table` (backend memory; may be
 * NULL when split == N). Chunks of whole rows. */
static void put_rows(saver *s, ckpt_tensor t, const float *local, const float *table,
                     int64_t N, int64_t K, int64_t split)
{
    int64_t per = chunk_elems / K > 0 ? chunk_elems / K : 1;
    float *buf = s->bounce;
    for (int64_t g0 = 0; g0 < N; g0 += per) {
        int64_t g1 = g0 + per < N ? g0 + per : N;
        if (g0 < split)
            gather_rows(s, local, K, g0, g1 < split ? g1 : split, buf);
        int64_t from = g0 > split ? g0 : split;
        if (s->rank == 0 && g1 > from)
            kern_download(s->k, buf + (from - g0) * K, table + from * K,
                          (size_t)((g1 - from) * K) * sizeof(float));
        put_values(s, t, g0 * K, buf, (g1 - g0) * K);
    }
}

/* ---- raw ids (owned by their global id's rank) -------------------------------------------- */

/* Collective: ids.user / ids.item [N] from the owners' id tables, in blocks of global ids. */
static void put_ids(saver *s, ckpt_tensor t, const id_table *own, int64_t N)
{
    int64_t per = chunk_elems < 65536 ? chunk_elems : 65536;
    ckpt_str *v = s->rank == 0 ? xmalloc(sizeof(ckpt_str) * (size_t)per) : NULL;
    for (int64_t g0 = 0; g0 < N; g0 += per) {
        int64_t g1 = g0 + per < N ? g0 + per : N;
        int64_t l0 = partition_local_begin(g0, s->rank, s->P), l1 = partition_local_begin(g1, s->rank, s->P);
        size_t bytes = (size_t)(own->off[l1] - own->off[l0]) + 4 * (size_t)(l1 - l0), got = 0;
        char *send = xmalloc(bytes ? bytes : 1), *at = send;
        for (int64_t l = l0; l < l1; l++) {            /* uint32 length, then the bytes */
            size_t len;
            const char *p = id_table_get(own, l, &len);
            uint32_t len32 = (uint32_t)len;
            memcpy(at, &len32, 4);
            memcpy(at + 4, p, len);
            at += 4 + len;
        }
        char *all = comm_allgatherv_bytes(s->c, send, bytes, 1, &got);
        free(send);
        const char *q = all;
        for (int r = 0; s->rank == 0 && r < s->P; r++)
            for (int64_t l = partition_local_begin(g0, r, s->P); l < partition_local_begin(g1, r, s->P); l++) {
                uint32_t len;
                memcpy(&len, q, 4);
                v[partition_global(l, r, s->P) - g0] = (ckpt_str){q + 4, len};
                q += 4 + len;
            }
        if (s->rank == 0 && (size_t)(q - all) != got)
            FAIL_RUNTIME("checkpoint gather: %zu bytes of ids for [%lld, %lld), %zu parsed", got,
                         (long long)g0, (long long)g1, (size_t)(q - all));
        put_strings(s, t, g0, v, g1 - g0);
        free(all);
    }
    free(v);
}

/* ---- the training rows (CSR over global ids) --------------------------------------------- */

/* Collective: the training-row lengths of users [g0, g1), in global order, on every rank. */
static void gather_degrees(saver *s, const dataset *d, int64_t g0, int64_t g1, int64_t *deg)
{
    int64_t l0 = partition_local_begin(g0, s->rank, s->P);
    int64_t l1 = partition_local_begin(g1, s->rank, s->P);
    int64_t *send = xmalloc(sizeof(int64_t) * (size_t)(l1 - l0 + 1));
    for (int64_t l = l0; l < l1; l++)
        send[l - l0] = d->Ru.rowptr[l + 1] - d->Ru.rowptr[l];
    size_t n_recv = 0;
    char *all = comm_allgatherv_bytes(s->c, send, (size_t)(l1 - l0), sizeof(int64_t), &n_recv);
    if (n_recv != (size_t)(g1 - g0))
        FAIL_RUNTIME("checkpoint gather: %zu degrees for users [%lld, %lld)", n_recv,
                     (long long)g0, (long long)g1);
    unblock_rows(s->P, g0, g1, all, sizeof(int64_t), (char *)deg);
    free(all);
    free(send);
}

/* Collective: the columns of users [a, b) (row lengths deg[b − a], nnz in all) into rank
 * 0's dst [nnz], in global user order. */
static void gather_cols(saver *s, const dataset *d, int64_t a, int64_t b, const int64_t *deg,
                        int32_t *dst)
{
    int64_t la = partition_local_begin(a, s->rank, s->P), lb = partition_local_begin(b, s->rank, s->P);
    const int64_t *rp = d->Ru.rowptr;
    size_t n_recv = 0;
    int32_t *all = comm_allgatherv_bytes(s->c, d->Ru.col + rp[la], (size_t)(rp[lb] - rp[la]),
                                         sizeof(int32_t), &n_recv);
    if (s->rank == 0) {
        int64_t *pos = xmalloc(sizeof(int64_t) * (size_t)(b - a + 1));
        pos[0] = 0;
        for (int64_t j = 0; j < b - a; j++)
            pos[j + 1] = pos[j] + deg[j];
        if (n_recv != (size_t)pos[b - a])
            FAIL_RUNTIME("checkpoint gather: %zu columns for users [%lld, %lld)", n_recv,
                         (long long)a, (long long)b);
        size_t at = 0;
        for (int r = 0; r < s->P; r++)
            for (int64_t l = partition_local_begin(a, r, s->P); l < partition_local_begin(b, r, s->P); l++) {
                int64_t j = partition_global(l, r, s->P) - a;
                memcpy(dst + pos[j], all + at, sizeof(int32_t) * (size_t)deg[j]);
                at += (size_t)deg[j];
            }
        free(pos);
    }
    free(all);
}

/* Collective: train.rowptr [U + 1], users in chunks of chunk_elems − 1 (+ the end). */
static void put_rowptr(saver *s, const dataset *d)
{
    int64_t U = d->n_users, span = chunk_elems > 1 ? chunk_elems - 1 : 1, running = 0;
    int64_t *deg = xmalloc(sizeof(int64_t) * (size_t)span), *vals = s->bounce;
    for (int64_t g0 = 0; g0 < U; g0 += span) {
        int64_t g1 = g0 + span < U ? g0 + span : U, n = g1 - g0;
        gather_degrees(s, d, g0, g1, deg);
        if (s->rank != 0)
            continue;
        for (int64_t j = 0; j < n; j++) {
            vals[j] = running;
            running += deg[j];
        }
        if (g1 == U)
            vals[n++] = running;
        put_values(s, CKPT_TRAIN_ROWPTR, g0, vals, n);
    }
    free(deg);
}

/* Collective: train.col [nnz], in runs of users holding <= chunk_elems columns (one user
 * at least). */
static void put_cols(saver *s, const dataset *d)
{
    int64_t U = d->n_users, span = chunk_elems > 1 ? chunk_elems - 1 : 1, at = 0;
    int64_t *deg = xmalloc(sizeof(int64_t) * (size_t)span);
    for (int64_t g0 = 0; g0 < U; g0 += span) {
        int64_t g1 = g0 + span < U ? g0 + span : U;
        gather_degrees(s, d, g0, g1, deg);
        for (int64_t a = g0, b; a < g1; a = b) {
            int64_t nnz = deg[a - g0];
            for (b = a + 1; b < g1 && nnz + deg[b - g0] <= chunk_elems; b++)
                nnz += deg[b - g0];
            int32_t *cols = xmalloc(sizeof(int32_t) * (size_t)(nnz > 0 ? nnz : 1));
            gather_cols(s, d, a, b, deg + (a - g0), cols);
            put_values(s, CKPT_TRAIN_COL, at, cols, nnz);
            at += nnz;
            free(cols);
        }
    }
    free(deg);
}

/* ---- hash of the training pairs ----------------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

uint64_t ckpt_train_hash(const dataset *d, comm *c)
{
    int rank = comm_rank(c), P = comm_size(c);
    uint64_t local = 0;
    for (int64_t l = 0; l < d->n_local_users; l++) {
        uint64_t h = mix64((uint64_t)partition_global(l, rank, P) + 1);
        for (int64_t j = d->Ru.rowptr[l]; j < d->Ru.rowptr[l + 1]; j++)
            h = mix64(h ^ (uint64_t)(uint32_t)d->Ru.col[j]);
        local += h;   /* a sum over users: independent of who owns them */
    }
    int64_t *all = xmalloc(sizeof(int64_t) * (size_t)P);
    comm_allgather_i64(c, (int64_t)local, all);
    uint64_t sum = 0;
    for (int r = 0; r < P; r++)
        sum += (uint64_t)all[r];
    free(all);
    return sum;
}

uint64_t ckpt_features_hash(const feature_block *b, comm *c)
{
    int rank = comm_rank(c), P = comm_size(c);
    uint64_t local = 0;
    for (int64_t l = 0; b->n_features > 0 && l < b->nrows; l++) {
        uint64_t h = mix64((uint64_t)partition_global(l, rank, P) + 1);
        const float *row = b->x + l * b->n_features;          /* [n_features] */
        for (int64_t j = 0; j < b->n_features; j++) {
            uint32_t bits;
            memcpy(&bits, &row[j], sizeof bits);
            h = mix64(h ^ bits);
        }
        local += h;   /* a sum over rows: independent of who owns them */
    }
    int64_t *all = xmalloc(sizeof(int64_t) * (size_t)P);
    comm_allgather_i64(c, (int64_t)local, all);
    uint64_t sum = (uint64_t)b->n_features;
    for (int r = 0; r < P; r++)
        sum += (uint64_t)all[r];
    free(all);
    return sum;
}

/* ---- header and end ------------------------------------------------------------------------ */

/* An absolute copy of a data path when it resolves (eval may run elsewhere), else as given. */
static const char *absolute(const char *p, char *buf)
{
    return p && realpath(p, buf) ? buf : p;
}

static void fill_info(ckpt_info *info, const bivae_model *m, const dataset *d,
                      const bivae_config *cfg, const ckpt_position *pos, uint64_t hash,
                      const uint64_t feat_hash[2], char paths[3][PATH_MAX])
{
    memset(info, 0, sizeof(*info));
    snprintf(info->writer, sizeof info->writer, "bivae-dist %s", BIVAE_VERSION);
    info->model = m->cfg;
    info->train = cfg->train;
    info->data = cfg->data;
    info->data.data_path = absolute(cfg->data.data_path, paths[0]);
    info->data.train_path = absolute(cfg->data.train_path, paths[1]);
    info->data.test_path = absolute(cfg->data.test_path, paths[2]);
    info->n_users = d->n_users;
    info->n_items = d->n_items;
    info->K = m->K;
    info->nnz_train = d->nnz_train;
    info->train_hash = hash;
    info->pos = *pos;
    for (int s = 0; s < 2; s++) {
        info->adam_step[s] = m->enc[s].adam_step;
        info->n_params[s] = m->enc[s].n_params_full;
    }
    info->nranks = m->nranks;
    for (int s = 0; s < 2; s++) {
        info->n_features[s] = m->enc[s].n_prior_in;
        info->features_hash[s] = feat_hash[s];
    }
    if (info->n_params[SIDE_USER] != ckpt_encoder_params(d->n_items, &m->cfg,
                                                         info->n_features[SIDE_USER]) ||
        info->n_params[SIDE_ITEM] != ckpt_encoder_params(d->n_users, &m->cfg,
                                                         info->n_features[SIDE_ITEM]))
        FAIL_RUNTIME("checkpoint: encoder parameter counts disagree with src/model.h's layout");
}

static void put_header(saver *s, uint32_t *crc)
{
    if (s->rank != 0)
        return;
    BivaeCkpt__Header h = BIVAE_CKPT__HEADER__INIT;
    BivaeCkpt__ModelConfig mc = BIVAE_CKPT__MODEL_CONFIG__INIT;
    BivaeCkpt__TrainConfig tc = BIVAE_CKPT__TRAIN_CONFIG__INIT;
    BivaeCkpt__DataConfig dc = BIVAE_CKPT__DATA_CONFIG__INIT;
    int32_t hidden[BIVAE_MAX_HIDDEN];
    ckpt_info_to_header(s->info, &h, &mc, &tc, &dc, hidden);
    BivaeCkpt__Record rec = BIVAE_CKPT__RECORD__INIT;
    rec.kind_case = BIVAE_CKPT__RECORD__KIND_HEADER;
    rec.header = &h;
    ckpt_out_record(&s->out, &rec, crc);
}

static void put_end(saver *s, uint32_t header_crc)
{
    if (s->rank != 0)
        return;
    BivaeCkpt__End e = BIVAE_CKPT__END__INIT;
    e.has_n_chunks = 1;
    e.n_chunks = s->n_chunks;
    e.has_header_crc32 = 1;
    e.header_crc32 = header_crc;
    BivaeCkpt__Record rec = BIVAE_CKPT__RECORD__INIT;
    rec.kind_case = BIVAE_CKPT__RECORD__KIND_END;
    rec.end = &e;
    ckpt_out_record(&s->out, &rec, NULL);
}

/* ---- the tensors, in file order (collective) ---------------------------------------------- */

/* Collective. CAP: μ_prior of every row of side `side` [N × K] (nothing without its prior). */
static void put_prior_means(saver *s, const bivae_model *m, ckpt_tensor t, bivae_side side)
{
    if (m->enc[side].n_prior_in <= 0)
        return;
    int64_t n_local = m->n_local[side], K = m->K;
    float *mu_prior = kern_alloc(m->k, sizeof(float) * (size_t)((n_local > 0 ? n_local : 1) * K));
    model_prior_means((bivae_model *)m, side, 0, n_local, mu_prior);   /* [n_local × K] */
    int64_t N = model_side_rows(m, side);
    put_rows(s, t, mu_prior, NULL, N, K, N);
    kern_free(m->k, mu_prior);
}

static void put_tensors(saver *s, const bivae_model *m, const dataset *d, int64_t B)
{
    static const ckpt_tensor enc_tensors[2][3] = {
        {CKPT_ENC_USER_PARAMS, CKPT_ENC_USER_ADAM_M, CKPT_ENC_USER_ADAM_V},
        {CKPT_ENC_ITEM_PARAMS, CKPT_ENC_ITEM_ADAM_M, CKPT_ENC_ITEM_ADAM_V}};
    const ckpt_position *pos = &s->info->pos;
    int64_t U = d->n_users, I = d->n_items, K = m->K;
    put_ids(s, CKPT_USER_IDS, &d->user_ids, U);
    put_ids(s, CKPT_ITEM_IDS, &d->item_ids, I);
    put_rowptr(s, d);
    put_cols(s, d);
    for (int side = 0; side < 2; side++)
        for (int b = 0; b < 3; b++) {   /* gathered: a sharded Wt_1 lives on all ranks */
            float *full = model_full_tensor(m, (bivae_side)side, (encoder_tensor)b);
            put_backend(s, enc_tensors[side][b], full, m->enc[side].n_params_full);
            kern_free(m->k, full);
        }
    /* rows [0, step·B) of the side whose phase is in progress are new samples (local);
     * every other row is in the full table */
    int64_t new_users = pos->phase == CKPT_IN_USER_PHASE ? pos->step * B : 0;
    int64_t new_items = pos->phase == CKPT_IN_ITEM_PHASE ? pos->step * B : 0;
    put_rows(s, CKPT_THETA, m->sample_local[SIDE_USER], m->table[SIDE_USER], U, K,
             new_users < U ? new_users : U);
    put_rows(s, CKPT_BETA, m->sample_local[SIDE_ITEM], m->table[SIDE_ITEM], I, K,
             new_items < I ? new_items : I);
    put_rows(s, CKPT_MU_THETA, m->mu_local[SIDE_USER], NULL, U, K, U);
    put_rows(s, CKPT_MU_BETA, m->mu_local[SIDE_ITEM], NULL, I, K, I);
    put_prior_means(s, m, CKPT_MU_THETA_PRIOR, SIDE_USER);
    put_prior_means(s, m, CKPT_MU_BETA_PRIOR, SIDE_ITEM);
}

/* ---- ckpt_save -------------------------------------------------------------------------------- */

int ckpt_save(bivae_model *m, const dataset *d, const bivae_config *cfg, comm *c,
              const char *run_id, const ckpt_position *pos, char *path, size_t path_len)
{
    const char *dir = cfg->output.checkpoint_dir;
    int64_t B = cfg->train.batch_size, item_steps = (d->n_items + B - 1) / B;
    char name[96], paths[3][PATH_MAX];
    model_adam_flush(m, SIDE_USER);   /* the file holds every row as dense Adam has it */
    model_adam_flush(m, SIDE_ITEM);
    if (!run_id)
        run_id = "";
    ckpt_file_name(run_id, pos, item_steps, name, sizeof name);
    snprintf(path, path_len, "%s/%s", dir, name);
    ckpt_info info;
    uint64_t train_hash = ckpt_train_hash(d, c);
    uint64_t feat_hash[2] = {0, 0};   /* collective, only for the CAP sides (every rank alike) */
    if (m->enc[SIDE_USER].n_prior_in > 0)
        feat_hash[SIDE_USER] = ckpt_features_hash(&d->user_features, c);
    if (m->enc[SIDE_ITEM].n_prior_in > 0)
        feat_hash[SIDE_ITEM] = ckpt_features_hash(&d->item_features, c);
    fill_info(&info, m, d, cfg, pos, train_hash, feat_hash, paths);
    snprintf(info.run_id, sizeof info.run_id, "%s", run_id);
    saver s;
    memset(&s, 0, sizeof s);
    s.c = c;
    s.k = m->k;
    s.rank = comm_rank(c);
    s.P = comm_size(c);
    s.info = &info;
    uint32_t header_crc = 0;
    if (s.rank == 0) {
        s.bounce = xmalloc(8 * (size_t)(chunk_elems > m->K ? chunk_elems : m->K));
        const char *kill = getenv("BIVAE_TEST_KILL_SAVE");
        s.kill_after = kill ? atoll(kill) : 0;
        ckpt_out_open(&s.out, path);   /* a failure is kept in s.out: later writes skip */
    }
    put_header(&s, &header_crc);
    put_tensors(&s, m, d, B);
    put_end(&s, header_crc);
    int status = 0;
    char msg[1024] = "";
    if (s.rank == 0 && (s.out.failed || ckpt_out_commit(&s.out) != 0)) {
        if (s.out.f)
            ckpt_out_abandon(&s.out);
        ckpt_errf(msg, sizeof msg, "cannot write checkpoint: %s", s.out.msg);
        status = BIVAE_EXIT_RUNTIME;
    }
    free(s.bounce);
    status = comm_agree(c, status, msg);
    if (status == 0 && s.rank == 0 && ckpt_rotate(dir, run_id, cfg->output.keep, msg, sizeof msg) != 0)
        fprintf(stderr, "bivae-dist: warning: %s\n", msg);
    return status;
}
