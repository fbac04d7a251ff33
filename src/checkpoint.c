/* src/checkpoint.c — the checkpoint format: the tensor table, the Header <-> ckpt_info
 * conversion and the checked streaming reader. Writing: ckpt_save.c; resume: ckpt_load.c;
 * the directory: ckpt_files.c. See checkpoint.h. */
#include "src/checkpoint.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "src/ckpt_io.h"
#include "src/ckpt_internal.h"
#include "partition/rawid.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "chunk crc32s are defined over little-endian bytes: port before using");

/* ---- the tensor table ------------------------------------------------------------------ */

static const struct {
    const char *name;
    ckpt_dtype dtype;
} tensor_table[CKPT_N_TENSORS] = {
    [CKPT_USER_IDS] = {"ids.user", CKPT_STR},
    [CKPT_ITEM_IDS] = {"ids.item", CKPT_STR},
    [CKPT_TRAIN_ROWPTR] = {"train.rowptr", CKPT_I64},
    [CKPT_TRAIN_COL] = {"train.col", CKPT_I32},
    [CKPT_ENC_USER_PARAMS] = {"encoder.user.params", CKPT_F32},
    [CKPT_ENC_USER_ADAM_M] = {"encoder.user.adam_m", CKPT_F32},
    [CKPT_ENC_USER_ADAM_V] = {"encoder.user.adam_v", CKPT_F32},
    [CKPT_ENC_ITEM_PARAMS] = {"encoder.item.params", CKPT_F32},
    [CKPT_ENC_ITEM_ADAM_M] = {"encoder.item.adam_m", CKPT_F32},
    [CKPT_ENC_ITEM_ADAM_V] = {"encoder.item.adam_v", CKPT_F32},
    [CKPT_THETA] = {"theta_tilde", CKPT_F32},
    [CKPT_BETA] = {"beta_tilde", CKPT_F32},
    [CKPT_MU_THETA] = {"mu_theta", CKPT_F32},
    [CKPT_MU_BETA] = {"mu_beta", CKPT_F32},
    [CKPT_MU_THETA_PRIOR] = {"mu_theta_prior", CKPT_F32},
    [CKPT_MU_BETA_PRIOR] = {"mu_beta_prior", CKPT_F32},
};

const char *ckpt_tensor_name(ckpt_tensor t) { return tensor_table[t].name; }
ckpt_dtype ckpt_tensor_dtype(ckpt_tensor t) { return tensor_table[t].dtype; }

/* Format version 1 stored the raw ids as int64 tensors under these names (read only). */
static const char *const legacy_ids[2] = {"ids.user_raw", "ids.item_raw"};

size_t ckpt_dtype_size(ckpt_dtype d) { return d == CKPT_F32 || d == CKPT_I32 ? 4 : 8; }

uint32_t ckpt_str_crc32(const ckpt_str *v, int64_t n)
{
    uint32_t crc = 0;
    for (int64_t k = 0; k < n; k++) {
        uint32_t len = (uint32_t)v[k].n;
        uint8_t le[4] = {(uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), (uint8_t)(len >> 24)};
        crc = ckpt_crc32_update(crc, le, 4);
        crc = ckpt_crc32_update(crc, v[k].p, v[k].n);
    }
    return crc;
}

void ckpt_tensor_shape(const ckpt_info *info, ckpt_tensor t, int64_t *rows, int64_t *cols,
                       int *ndim)
{
    static const int64_t one = 1;
    const int64_t *vec_len[CKPT_N_TENSORS] = {
        [CKPT_USER_IDS] = &info->n_users, [CKPT_ITEM_IDS] = &info->n_items,
        [CKPT_TRAIN_COL] = &info->nnz_train,
        [CKPT_ENC_USER_PARAMS] = &info->n_params[SIDE_USER],
        [CKPT_ENC_USER_ADAM_M] = &info->n_params[SIDE_USER],
        [CKPT_ENC_USER_ADAM_V] = &info->n_params[SIDE_USER],
        [CKPT_ENC_ITEM_PARAMS] = &info->n_params[SIDE_ITEM],
        [CKPT_ENC_ITEM_ADAM_M] = &info->n_params[SIDE_ITEM],
        [CKPT_ENC_ITEM_ADAM_V] = &info->n_params[SIDE_ITEM]};
    *ndim = 1;
    *cols = one;
    if (t == CKPT_TRAIN_ROWPTR) {
        *rows = info->n_users + 1;
    } else if (vec_len[t]) {
        *rows = *vec_len[t];
    } else if (t == CKPT_MU_THETA_PRIOR || t == CKPT_MU_BETA_PRIOR) {   /* CAP sides only */
        bivae_side s = t == CKPT_MU_THETA_PRIOR ? SIDE_USER : SIDE_ITEM;
        *ndim = 2;
        *rows = info->n_features[s] > 0 ? (s == SIDE_USER ? info->n_users : info->n_items) : 0;
        *cols = info->K;
    } else {
        *ndim = 2;
        *rows = t == CKPT_THETA || t == CKPT_MU_THETA ? info->n_users : info->n_items;
        *cols = info->K;
    }
}

int64_t ckpt_tensor_numel(const ckpt_info *info, ckpt_tensor t)
{
    int64_t rows, cols;
    int ndim;
    ckpt_tensor_shape(info, t, &rows, &cols, &ndim);
    return rows * cols;
}

int64_t ckpt_encoder_params(int64_t d_in, const bivae_model_config *mc, int64_t n_features)
{
    int64_t n = 0, in = d_in;
    for (int j = 0; j <= mc->n_hidden; j++) {
        int64_t out = j < mc->n_hidden ? mc->hidden[j] : 2 * (int64_t)mc->k;
        n += in * out + out;
        in = out;
    }
    if (n_features > 0)   /* CAP: Wt_p [n_features × K], b_p [K] (src/model.h) */
        n += n_features * mc->k + mc->k;
    return n;
}

void ckpt_errf(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

/* ---- Header <-> ckpt_info ---------------------------------------------------------------- */

#define PUT(msg, field, value) ((msg)->has_##field = 1, (msg)->field = (value))

static char *opt_string(const char *s) { return s ? (char *)s : NULL; }

/* The header of info, pointing into info (and into the static sub-messages given). */
void ckpt_info_to_header(const ckpt_info *info, BivaeCkpt__Header *h, BivaeCkpt__ModelConfig *mc,
                         BivaeCkpt__TrainConfig *tc, BivaeCkpt__DataConfig *dc,
                         int32_t hidden[BIVAE_MAX_HIDDEN])
{
    const bivae_model_config *m = &info->model;
    PUT(mc, k, m->k);
    for (int j = 0; j < m->n_hidden; j++)
        hidden[j] = m->hidden[j];
    mc->n_hidden = (size_t)m->n_hidden;
    mc->hidden = hidden;
    PUT(mc, act, (int32_t)m->act);
    PUT(mc, likelihood, (int32_t)m->likelihood);
    PUT(mc, beta_kl, m->beta_kl);
    PUT(mc, cap_user, m->cap_user != 0);
    PUT(mc, cap_item, m->cap_item != 0);
    PUT(tc, epochs, info->train.epochs);
    PUT(tc, batch_size, info->train.batch_size);
    PUT(tc, lr, info->train.lr);
    PUT(tc, seed, info->train.seed);
    const data_options *d = &info->data;
    dc->data_path = opt_string(d->data_path);
    dc->train_path = opt_string(d->train_path);
    dc->test_path = opt_string(d->test_path);
    dc->synthetic = opt_string(d->synthetic);
    PUT(dc, format, (int32_t)d->format);
    PUT(dc, test_ratio, d->test_ratio);
    dc->has_min_rating = d->has_min_rating != 0;
    dc->min_rating = d->min_rating;
    PUT(dc, permute_ids, d->permute_ids != 0);
    PUT(dc, seed, d->seed);
    dc->sep = opt_string(d->sep);
    dc->columns = opt_string(d->columns);
    PUT(dc, header, (int32_t)d->header);
    h->model = mc;
    h->train = tc;
    h->data = dc;
    PUT(h, magic, CKPT_MAGIC);
    PUT(h, format_version, CKPT_FORMAT_VERSION);
    h->writer = (char *)info->writer;
    PUT(h, n_users, info->n_users);
    PUT(h, n_items, info->n_items);
    PUT(h, k, (int32_t)info->K);
    PUT(h, nnz_train, info->nnz_train);
    PUT(h, train_hash, info->train_hash);
    PUT(h, epoch, info->pos.epoch);
    PUT(h, phase, (int32_t)info->pos.phase);
    PUT(h, step, info->pos.step);
    PUT(h, phase_loss_sum, info->pos.phase_loss[0]);
    PUT(h, phase_loss_count, info->pos.phase_loss[1]);
    PUT(h, epoch_loss_item, info->pos.epoch_loss_item);
    PUT(h, rng_epoch, info->pos.epoch + 1);
    h->rng_stream = (char *)CKPT_RNG_STREAM;
    PUT(h, adam_step_user, info->adam_step[SIDE_USER]);
    PUT(h, adam_step_item, info->adam_step[SIDE_ITEM]);
    PUT(h, nranks, info->nranks);
    PUT(h, n_params_user, info->n_params[SIDE_USER]);
    PUT(h, n_params_item, info->n_params[SIDE_ITEM]);
    h->run_id = info->run_id[0] ? (char *)info->run_id : NULL;   /* "": a legacy file (tests) */
    const ckpt_epoch_cost *cost = &info->pos.cost;
    PUT(h, epoch_seconds, cost->seconds);
    PUT(h, epoch_comm_seconds, cost->comm_seconds);
    PUT(h, epoch_allreduce_bytes, cost->allreduce_bytes);
    PUT(h, epoch_allgather_bytes, cost->allgather_bytes);
    if (info->n_features[SIDE_USER] > 0) {
        PUT(h, n_features_user, info->n_features[SIDE_USER]);
        PUT(h, features_hash_user, info->features_hash[SIDE_USER]);
    }
    if (info->n_features[SIDE_ITEM] > 0) {
        PUT(h, n_features_item, info->n_features[SIDE_ITEM]);
        PUT(h, features_hash_item, info->features_hash[SIDE_ITEM]);
    }
}

/* A missing field of a decoded header: the file is corrupt (or not ours). */
#define NEED(msg, field, what)                                                      \
    do {                                                                            \
        if (!(msg) || !(msg)->has_##field) {                                        \
            ckpt_errf(err, err_len, "%s: corrupt header: no %s", path, what);       \
            return BIVAE_EXIT_USAGE;                                                \
        }                                                                           \
    } while (0)

static char *dup_or_null(const char *s) { return s ? xstrdup(s) : NULL; }

static int decode_model(const BivaeCkpt__ModelConfig *mc, bivae_model_config *m,
                        const char *path, char *err, size_t err_len)
{
    NEED(mc, k, "model.k");
    NEED(mc, act, "model.act");
    NEED(mc, likelihood, "model.likelihood");
    NEED(mc, beta_kl, "model.beta_kl");
    if (mc->n_hidden < 1 || mc->n_hidden > BIVAE_MAX_HIDDEN) {
        ckpt_errf(err, err_len, "%s: corrupt header: %zu hidden layers", path, mc->n_hidden);
        return BIVAE_EXIT_USAGE;
    }
    memset(m, 0, sizeof(*m));
    m->k = mc->k;
    m->n_hidden = (int)mc->n_hidden;
    for (size_t j = 0; j < mc->n_hidden; j++)
        m->hidden[j] = mc->hidden[j];
    m->act = (kern_act)mc->act;
    m->likelihood = (kern_lik)mc->likelihood;
    m->beta_kl = mc->beta_kl;
    m->cap_user = mc->has_cap_user && mc->cap_user;
    m->cap_item = mc->has_cap_item && mc->cap_item;
    return 0;
}

static int decode_configs(const BivaeCkpt__Header *h, ckpt_info *info, const char *path,
                          char *err, size_t err_len)
{
    int rc = decode_model(h->model, &info->model, path, err, err_len);
    if (rc)
        return rc;
    const BivaeCkpt__TrainConfig *tc = h->train;
    NEED(tc, epochs, "train.epochs");
    NEED(tc, batch_size, "train.batch_size");
    NEED(tc, lr, "train.lr");
    NEED(tc, seed, "train.seed");
    info->train = (bivae_train_config){tc->epochs, tc->batch_size, tc->lr, tc->seed};
    const BivaeCkpt__DataConfig *dc = h->data;
    NEED(dc, format, "data.format");
    NEED(dc, test_ratio, "data.test_ratio");
    NEED(dc, seed, "data.seed");
    data_options *d = &info->data;
    d->data_path = dup_or_null(dc->data_path);
    d->train_path = dup_or_null(dc->train_path);
    d->test_path = dup_or_null(dc->test_path);
    d->synthetic = dup_or_null(dc->synthetic);
    d->format = (data_format)dc->format;
    d->test_ratio = dc->test_ratio;
    d->has_min_rating = dc->has_min_rating;
    d->min_rating = dc->has_min_rating ? dc->min_rating : 0.0;
    d->permute_ids = dc->has_permute_ids && dc->permute_ids;
    d->seed = dc->seed;
    d->sep = dup_or_null(dc->sep);
    d->columns = dup_or_null(dc->columns);
    d->header = dc->has_header && dc->header >= 0 && dc->header <= DATA_HEADER_NO
                    ? (int)dc->header : DATA_HEADER_AUTO;
    return 0;
}

/* Range checks of a decoded header: values the rest of the code relies on. */
static int check_header_values(const ckpt_info *i, const char *path, char *err, size_t err_len)
{
    const bivae_model_config *m = &i->model;
    const char *bad = NULL;
    if (i->n_users < 1 || i->n_items < 1 || i->n_users > INT32_MAX || i->n_items > INT32_MAX)
        bad = "user or item count";
    else if (m->k < 1 || m->k > (1 << 16) || i->K != m->k)
        bad = "latent size";
    else if ((int)m->act < KERN_ACT_SIGMOID || m->act > KERN_ACT_RELU6 ||
             (int)m->likelihood < KERN_LIK_POIS || m->likelihood > KERN_LIK_GAUS)
        bad = "activation or likelihood";
    else if (i->nnz_train < 0 || i->pos.epoch < 0 || i->pos.step < 0 ||
             (int)i->pos.phase < CKPT_AT_EPOCH_END || i->pos.phase > CKPT_IN_USER_PHASE)
        bad = "position";
    else if (i->adam_step[0] < 0 || i->adam_step[1] < 0 || i->nranks < 1 ||
             i->train.batch_size < 1 || !(i->train.lr > 0))
        bad = "training settings";
    for (int j = 0; !bad && j < m->n_hidden; j++)
        if (m->hidden[j] < 1 || m->hidden[j] > (1 << 24))
            bad = "hidden layer size";
    const int64_t *D = i->n_features;
    if (!bad && (D[0] < 0 || D[1] < 0 || D[0] > INT32_MAX || D[1] > INT32_MAX ||
                 (D[SIDE_USER] > 0) != (m->cap_user != 0) ||
                 (D[SIDE_ITEM] > 0) != (m->cap_item != 0)))
        bad = "feature count of --cap-priors";
    if (!bad && (i->n_params[SIDE_USER] != ckpt_encoder_params(i->n_items, m, D[SIDE_USER]) ||
                 i->n_params[SIDE_ITEM] != ckpt_encoder_params(i->n_users, m, D[SIDE_ITEM])))
        bad = "encoder parameter count";
    if (bad) {
        ckpt_errf(err, err_len, "%s: corrupt header: impossible %s", path, bad);
        return BIVAE_EXIT_USAGE;
    }
    return 0;
}

static int decode_header(const BivaeCkpt__Header *h, ckpt_info *info, const char *path,
                         char *err, size_t err_len)
{
    memset(info, 0, sizeof(*info));
    NEED(h, format_version, "format version");
    info->format_version = h->format_version;
    snprintf(info->writer, sizeof info->writer, "%s", h->writer ? h->writer : "?");
    int rc = decode_configs(h, info, path, err, err_len);
    if (rc)
        return rc;
    NEED(h, n_users, "user count");
    NEED(h, n_items, "item count");
    NEED(h, k, "latent size");
    NEED(h, nnz_train, "training count");
    NEED(h, train_hash, "training hash");
    NEED(h, epoch, "epoch");
    NEED(h, phase, "phase");
    NEED(h, step, "step");
    NEED(h, phase_loss_sum, "loss accumulators");
    NEED(h, phase_loss_count, "loss accumulators");
    NEED(h, epoch_loss_item, "item loss");
    NEED(h, adam_step_user, "Adam step");
    NEED(h, adam_step_item, "Adam step");
    NEED(h, nranks, "rank count");
    NEED(h, n_params_user, "parameter count");
    NEED(h, n_params_item, "parameter count");
    info->n_users = h->n_users;
    info->n_items = h->n_items;
    info->K = h->k;
    info->nnz_train = h->nnz_train;
    info->train_hash = h->train_hash;
    info->pos = (ckpt_position){h->epoch, (ckpt_phase)h->phase, h->step,
                                {h->phase_loss_sum, h->phase_loss_count}, h->epoch_loss_item,
                                {0.0, 0.0, 0, 0}};   /* cost: below, with run_id */
    info->adam_step[SIDE_USER] = h->adam_step_user;
    info->adam_step[SIDE_ITEM] = h->adam_step_item;
    info->nranks = h->nranks;
    info->n_params[SIDE_USER] = h->n_params_user;
    info->n_params[SIDE_ITEM] = h->n_params_item;
    info->n_features[SIDE_USER] = h->has_n_features_user ? h->n_features_user : 0;
    info->n_features[SIDE_ITEM] = h->has_n_features_item ? h->n_features_item : 0;
    info->features_hash[SIDE_USER] = h->has_features_hash_user ? h->features_hash_user : 0;
    info->features_hash[SIDE_ITEM] = h->has_features_hash_item ? h->features_hash_item : 0;
    if (h->run_id && !ckpt_run_id_valid(h->run_id)) {   /* absent: a legacy file, run_id "" */
        ckpt_errf(err, err_len, "%s: corrupt header: impossible run id", path);
        return BIVAE_EXIT_USAGE;
    }
    snprintf(info->run_id, sizeof info->run_id, "%s", h->run_id ? h->run_id : "");
    info->pos.cost = (ckpt_epoch_cost){h->has_epoch_seconds ? h->epoch_seconds : 0.0,
                                       h->has_epoch_comm_seconds ? h->epoch_comm_seconds : 0.0,
                                       h->has_epoch_allreduce_bytes ? h->epoch_allreduce_bytes : 0,
                                       h->has_epoch_allgather_bytes ? h->epoch_allgather_bytes : 0};
    return check_header_values(info, path, err, err_len);
}

void ckpt_info_free(ckpt_info *info)
{
    free((char *)info->data.data_path);
    free((char *)info->data.train_path);
    free((char *)info->data.test_path);
    free((char *)info->data.synthetic);
    free((char *)info->data.sep);
    free((char *)info->data.columns);
    info->data.data_path = info->data.train_path = NULL;
    info->data.test_path = info->data.synthetic = NULL;
    info->data.sep = info->data.columns = NULL;
}

/* ---- reading ------------------------------------------------------------------------------ */

typedef struct reader {
    ckpt_in in;
    const char *path;
    ckpt_info *info;
    ckpt_visit_fn visit;
    void *ctx;
    char *err;
    size_t err_len;
    int cur;                              /* tensor of the last chunk */
    int64_t done[CKPT_N_TENSORS];         /* values read per tensor */
    int64_t n_chunks;
    uint32_t header_crc;
    ckpt_str *strs;                       /* the last string chunk's values */
    char *text;                           /* a version-1 chunk's ids as text */
} reader;

static int rd_fail(reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int rd_fail(reader *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(r->err, r->err_len, "%s: ", r->path);
    if (n >= 0 && (size_t)n < r->err_len)
        vsnprintf(r->err + n, r->err_len - (size_t)n, fmt, ap);
    va_end(ap);
    return BIVAE_EXIT_USAGE;
}

/* The record layer's failure: its message, and exit 2 (bad file) or 3 (read error). */
static int rd_record_fail(reader *r, ckpt_rec_status st)
{
    snprintf(r->err, r->err_len, "%s", r->in.msg);
    return st == CKPT_REC_IO ? BIVAE_EXIT_RUNTIME : BIVAE_EXIT_USAGE;
}

/* Magic and version first, from the first record parsed as a Probe. */
static int probe_first(reader *r)
{
    BivaeCkpt__Probe *p = bivae_ckpt__probe__unpack(NULL, r->in.len, r->in.buf);
    int ours = p && p->header && p->header->has_magic && p->header->magic == CKPT_MAGIC;
    uint32_t version = ours && p->header->has_format_version ? p->header->format_version : 0;
    if (p)
        bivae_ckpt__probe__free_unpacked(p, NULL);
    if (!ours)
        return rd_fail(r, "not a bivae-dist checkpoint (no checkpoint header)");
    if (version > CKPT_FORMAT_VERSION)
        return rd_fail(r, "checkpoint format version %u is newer than this bivae-dist reads "
                       "(%u): use a newer bivae-dist", version, CKPT_FORMAT_VERSION);
    if (version < 1)
        return rd_fail(r, "corrupt header: format version %u", version);
    return 0;
}

static int read_header(reader *r)
{
    ckpt_rec_status st = ckpt_in_next(&r->in);
    if (st == CKPT_REC_EOF)
        return rd_fail(r, "empty file: not a bivae-dist checkpoint");
    if (st == CKPT_REC_BAD)
        return rd_fail(r, "not a bivae-dist checkpoint, or truncated inside its header");
    if (st != CKPT_REC_OK)
        return rd_record_fail(r, st);
    int rc = probe_first(r);
    if (rc)
        return rc;
    r->header_crc = ckpt_crc32(r->in.buf, r->in.len);
    BivaeCkpt__Record *rec = bivae_ckpt__record__unpack(NULL, r->in.len, r->in.buf);
    if (!rec || rec->kind_case != BIVAE_CKPT__RECORD__KIND_HEADER)
        rc = rd_fail(r, "corrupt header: it does not parse");
    else
        rc = decode_header(rec->header, r->info, r->path, r->err, r->err_len);
    if (rec)
        bivae_ckpt__record__free_unpacked(rec, NULL);
    return rc;
}

/* A version-1 file's int64 raw ids as decimal text (the ids of version 2 files). */
static const ckpt_str *legacy_to_text(reader *r, const int64_t *v, size_t n)
{
    r->strs = xrealloc(r->strs, sizeof(ckpt_str) * (n ? n : 1));
    r->text = xrealloc(r->text, (size_t)RAW_ID_INT_CHARS * (n ? n : 1));
    for (size_t k = 0; k < n; k++) {
        raw_id id = raw_id_int(v[k]);
        char *dst = r->text + (size_t)RAW_ID_INT_CHARS * k;
        r->strs[k].p = raw_id_text(&id, dst, &r->strs[k].n);
    }
    return r->strs;
}

/* The strings of a chunk, each checked to be a possible raw id. */
static int chunk_strings(reader *r, const BivaeCkpt__TensorChunk *ch, ckpt_tensor t)
{
    r->strs = xrealloc(r->strs, sizeof(ckpt_str) * (ch->n_str ? ch->n_str : 1));
    for (size_t k = 0; k < ch->n_str; k++) {
        raw_id id;
        unsigned char bad;
        if (raw_id_parse((const char *)ch->str[k].data, ch->str[k].len, &id, &bad) != RAW_ID_OK)
            return rd_fail(r, "corrupt: tensor %s holds an impossible raw id (record %lld)",
                           ckpt_tensor_name(t), (long long)r->in.index);
        r->strs[k].p = (const char *)ch->str[k].data;
        r->strs[k].n = ch->str[k].len;
    }
    return 0;
}

/* The values of a chunk: exactly the array of t's type, 1..CKPT_CHUNK_ELEMS values; string
 * tensors as ckpt_str (a version-1 file's int64 ids converted). *crc: the values' crc32. */
static int chunk_values(reader *r, const BivaeCkpt__TensorChunk *ch, ckpt_tensor t, int legacy,
                        const void **data, int64_t *n, uint32_t *crc)
{
    size_t counts[4] = {ch->n_f32, ch->n_i64, ch->n_i32, ch->n_str};
    const void *arrays[4] = {ch->f32, ch->i64, ch->i32, ch->str};
    ckpt_dtype d = legacy ? CKPT_I64 : ckpt_tensor_dtype(t);
    for (int k = 0; k < 4; k++)
        if (k != (int)d && counts[k] != 0)
            return rd_fail(r, "corrupt: tensor %s has values of the wrong type (record %lld)",
                           ckpt_tensor_name(t), (long long)r->in.index);
    if (counts[d] < 1 || counts[d] > (size_t)CKPT_CHUNK_ELEMS)
        return rd_fail(r, "corrupt: tensor %s has a chunk of %zu values (record %lld)",
                       ckpt_tensor_name(t), counts[d], (long long)r->in.index);
    *n = (int64_t)counts[d];
    if (d == CKPT_STR) {
        int rc = chunk_strings(r, ch, t);
        *data = r->strs;
        *crc = rc ? 0 : ckpt_str_crc32(r->strs, *n);
        return rc;
    }
    *crc = ckpt_crc32(arrays[d], (size_t)*n * ckpt_dtype_size(d));
    *data = legacy ? (const void *)legacy_to_text(r, ch->i64, counts[d]) : arrays[d];
    return 0;
}

/* The tensor a chunk belongs to (*legacy: a version-1 int64 id tensor). */
static int chunk_tensor(reader *r, const BivaeCkpt__TensorChunk *ch, ckpt_tensor *t, int *legacy)
{
    int found = -1;
    *legacy = 0;
    for (int k = 0; ch->name && k < CKPT_N_TENSORS; k++)
        if (strcmp(ch->name, tensor_table[k].name) == 0)
            found = k;
    for (int k = 0; ch->name && found < 0 && r->info->format_version == 1 && k < 2; k++)
        if (strcmp(ch->name, legacy_ids[k]) == 0)
            found = k, *legacy = 1;
    if (found < 0)
        return rd_fail(r, "corrupt: unknown tensor '%.64s' (record %lld)",
                       ch->name ? ch->name : "", (long long)r->in.index);
    if (found < r->cur)
        return rd_fail(r, "corrupt: tensor %s out of order (record %lld)",
                       ckpt_tensor_name((ckpt_tensor)found), (long long)r->in.index);
    for (int k = r->cur; k < found; k++)
        if (r->done[k] != ckpt_tensor_numel(r->info, (ckpt_tensor)k))
            return rd_fail(r, "corrupt: tensor %s is incomplete (%lld of %lld values)",
                           tensor_table[k].name, (long long)r->done[k],
                           (long long)ckpt_tensor_numel(r->info, (ckpt_tensor)k));
    *t = (ckpt_tensor)found;
    return 0;
}

static int chunk_place(reader *r, const BivaeCkpt__TensorChunk *ch, ckpt_tensor t, int64_t n)
{
    int64_t rows, cols;
    int ndim;
    ckpt_tensor_shape(r->info, t, &rows, &cols, &ndim);
    if (ch->n_shape != (size_t)ndim || ch->shape[0] != rows || (ndim == 2 && ch->shape[1] != cols))
        return rd_fail(r, "corrupt: tensor %s has the wrong shape for this header (record %lld)",
                       ckpt_tensor_name(t), (long long)r->in.index);
    if (!ch->has_offset || ch->offset != r->done[t] || n > rows * cols - ch->offset)
        return rd_fail(r, "corrupt: tensor %s chunk at a wrong offset (record %lld)",
                       ckpt_tensor_name(t), (long long)r->in.index);
    return 0;
}

static int read_chunk(reader *r, const BivaeCkpt__TensorChunk *ch)
{
    ckpt_tensor t = CKPT_USER_IDS;
    const void *data = NULL;
    int64_t n = 0;
    uint32_t crc = 0;
    int legacy = 0, rc = chunk_tensor(r, ch, &t, &legacy);
    if (!rc)
        rc = chunk_values(r, ch, t, legacy, &data, &n, &crc);
    if (!rc)
        rc = chunk_place(r, ch, t, n);
    if (rc)
        return rc;
    if (!ch->has_crc32 || ch->crc32 != crc)
        return rd_fail(r, "corrupt: crc32 mismatch in tensor %s, values %lld..%lld (record %lld)",
                       ckpt_tensor_name(t), (long long)ch->offset,
                       (long long)(ch->offset + n - 1), (long long)r->in.index);
    r->cur = (int)t;
    r->n_chunks++;
    if (r->visit && (rc = r->visit(r->ctx, t, ch->offset, data, n, r->err, r->err_len)))
        return rc;
    r->done[t] += n;
    return 0;
}

static int read_end(reader *r, const BivaeCkpt__End *e)
{
    for (int k = 0; k < CKPT_N_TENSORS; k++)
        if (r->done[k] != ckpt_tensor_numel(r->info, (ckpt_tensor)k))
            return rd_fail(r, "corrupt: tensor %s is incomplete (%lld of %lld values)",
                           tensor_table[k].name, (long long)r->done[k],
                           (long long)ckpt_tensor_numel(r->info, (ckpt_tensor)k));
    if (!e->has_n_chunks || e->n_chunks != r->n_chunks)
        return rd_fail(r, "corrupt: the end record counts %lld chunks, the file has %lld",
                       (long long)e->n_chunks, (long long)r->n_chunks);
    if (!e->has_header_crc32 || e->header_crc32 != r->header_crc)
        return rd_fail(r, "corrupt: crc32 mismatch in the header");
    ckpt_rec_status st = ckpt_in_next(&r->in);
    if (st == CKPT_REC_IO)
        return rd_record_fail(r, st);
    if (st != CKPT_REC_EOF)
        return rd_fail(r, "corrupt: data after the end record");
    return 0;
}

/* Records after the header until the End: 0 when the whole file checked out. */
static int read_body(reader *r)
{
    for (;;) {
        ckpt_rec_status st = ckpt_in_next(&r->in);
        if (st == CKPT_REC_EOF)
            return rd_fail(r, "truncated: the file ends after %lld chunks, without its end "
                           "record", (long long)r->n_chunks);
        if (st != CKPT_REC_OK)
            return rd_record_fail(r, st);
        BivaeCkpt__Record *rec = bivae_ckpt__record__unpack(NULL, r->in.len, r->in.buf);
        int rc, end = 0;
        if (!rec)
            rc = rd_fail(r, "corrupt: record %lld does not parse", (long long)r->in.index);
        else if (rec->kind_case == BIVAE_CKPT__RECORD__KIND_CHUNK)
            rc = read_chunk(r, rec->chunk);
        else if (rec->kind_case == BIVAE_CKPT__RECORD__KIND_END)
            rc = read_end(r, rec->end), end = 1;
        else
            rc = rd_fail(r, "corrupt: unexpected record %lld", (long long)r->in.index);
        if (rec)
            bivae_ckpt__record__free_unpacked(rec, NULL);
        if (rc || end)
            return rc;
    }
}

static int read_file(const char *path, ckpt_info *info, int header_only, ckpt_visit_fn visit,
                     void *ctx, char *err, size_t err_len)
{
    reader r;
    memset(&r, 0, sizeof r);
    r.path = path;
    r.info = info;
    r.visit = visit;
    r.ctx = ctx;
    r.err = err;
    r.err_len = err_len;
    memset(info, 0, sizeof(*info));
    if (ckpt_in_open(&r.in, path) != 0) {
        snprintf(err, err_len, "%s", r.in.msg);
        return BIVAE_EXIT_USAGE;     /* a missing or unreadable file the user named */
    }
    int rc = read_header(&r);
    if (!rc && !header_only)
        rc = read_body(&r);
    ckpt_in_close(&r.in);
    free(r.strs);
    free(r.text);
    if (rc)
        ckpt_info_free(info);
    return rc;
}

int ckpt_read(const char *path, ckpt_info *info, ckpt_visit_fn visit, void *ctx, char *err,
              size_t err_len)
{
    return read_file(path, info, 0, visit, ctx, err, err_len);
}

int ckpt_read_header(const char *path, ckpt_info *info, char *err, size_t err_len)
{
    return read_file(path, info, 1, NULL, NULL, err, err_len);
}
