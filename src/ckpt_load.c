/* src/ckpt_load.c — resume: checks of a checkpoint against the run's settings and data,
 * and loading its state into a model (collective; every rank reads the file). See
 * checkpoint.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "src/checkpoint.h"
#include "src/ckpt_internal.h"
#include "src/cyclic_rows.h"
#include "partition/rawid.h"

/* ---- settings ------------------------------------------------------------------------------ */

static const char *act_name(kern_act a)
{
    static const char *const names[] = {"sigmoid", "tanh", "elu", "relu", "relu6"};
    return (unsigned)a < 5 ? names[a] : "?";
}

static const char *lik_name(kern_lik l)
{
    static const char *const names[] = {"pois", "bern", "gaus"};
    return (unsigned)l < 3 ? names[l] : "?";
}

static void layers_text(const bivae_model_config *m, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int j = 0; j < m->n_hidden && at < len; j++)
        at += (size_t)snprintf(buf + at, len - at, "%s%d", j ? "," : "", m->hidden[j]);
}

static int same_layers(const bivae_model_config *a, const bivae_model_config *b)
{
    if (a->n_hidden != b->n_hidden)
        return 0;
    for (int j = 0; j < a->n_hidden; j++)
        if (a->hidden[j] != b->hidden[j])
            return 0;
    return 1;
}

#define MISMATCH(fmt, ...)                                                                \
    do {                                                                                  \
        ckpt_errf(err, err_len, "%s: " fmt " (resume needs the checkpoint's model, batch " \
                  "size and seed; use another --checkpoint-dir for a new run)", path,     \
                  __VA_ARGS__);                                                           \
        return BIVAE_EXIT_USAGE;                                                          \
    } while (0)

int ckpt_check_config(const ckpt_info *info, const bivae_config *cfg, const char *path,
                      int *lr_changed, char *err, size_t err_len)
{
    const bivae_model_config *a = &cfg->model, *b = &info->model;
    char la[128], lb[128];
    if (a->k != b->k)
        MISMATCH("--k %d does not match the checkpoint's k %d", a->k, b->k);
    if (!same_layers(a, b)) {
        layers_text(a, la, sizeof la);
        layers_text(b, lb, sizeof lb);
        MISMATCH("--encoder %s does not match the checkpoint's encoder %s", la, lb);
    }
    if (a->act != b->act)
        MISMATCH("--act %s does not match the checkpoint's act %s", act_name(a->act),
                 act_name(b->act));
    if (a->likelihood != b->likelihood)
        MISMATCH("--likelihood %s does not match the checkpoint's likelihood %s",
                 lik_name(a->likelihood), lik_name(b->likelihood));
    if (a->beta_kl != b->beta_kl)
        MISMATCH("--beta-kl %g does not match the checkpoint's beta-kl %g", a->beta_kl,
                 b->beta_kl);
    if (a->cap_user != b->cap_user || a->cap_item != b->cap_item)
        MISMATCH("--cap-priors %s%s%s does not match the checkpoint's", a->cap_user ? "user" : "",
                 a->cap_user && a->cap_item ? "," : "", a->cap_item ? "item" : "none");
    if (cfg->train.batch_size != info->train.batch_size)
        MISMATCH("--batch-size %d does not match the checkpoint's batch size %d",
                 cfg->train.batch_size, info->train.batch_size);
    if (cfg->train.seed != info->train.seed)
        MISMATCH("--seed %llu does not match the checkpoint's seed %llu",
                 (unsigned long long)cfg->train.seed, (unsigned long long)info->train.seed);
    *lr_changed = cfg->train.lr != info->train.lr;
    return 0;
}

/* ---- data ------------------------------------------------------------------------------------ */

int ckpt_check_data(const ckpt_info *info, const char *path, const dataset *d, comm *c,
                    char *err, size_t err_len)
{
    uint64_t hash = ckpt_train_hash(d, c);   /* collective: first, on every rank */
    const char *pre = "data do not match the checkpoint";
    if (d->n_users != info->n_users || d->n_items != info->n_items) {
        ckpt_errf(err, err_len, "%s %s: %lld users x %lld items in the data, %lld x %lld in "
                  "the checkpoint", pre, path, (long long)d->n_users, (long long)d->n_items,
                  (long long)info->n_users, (long long)info->n_items);
        return BIVAE_EXIT_USAGE;
    }
    if (d->nnz_train != info->nnz_train) {
        ckpt_errf(err, err_len, "%s %s: %lld training ratings in the data, %lld in the "
                  "checkpoint", pre, path, (long long)d->nnz_train, (long long)info->nnz_train);
        return BIVAE_EXIT_USAGE;
    }
    if (hash != info->train_hash) {
        ckpt_errf(err, err_len, "%s %s: the training ratings differ (same counts, other "
                  "pairs: another file, split, --seed or --min-rating?)", pre, path);
        return BIVAE_EXIT_USAGE;
    }
    return 0;
}

int ckpt_compare_ids(const dataset *d, const char *path, ckpt_tensor t, int64_t offset,
                     const ckpt_str *ids, int64_t n, char *err, size_t err_len)
{
    int user = t == CKPT_USER_IDS, P = d->nranks;
    const id_table *own = user ? &d->user_ids : &d->item_ids;
    int64_t count = user ? d->n_users : d->n_items;
    for (int64_t g = partition_local_begin(offset, d->rank, P) * P + d->rank; g < offset + n;
         g += P) {
        size_t len = 0;
        const char *mine = g < count ? id_table_get(own, partition_local(g, P), &len) : "";
        const ckpt_str *theirs = &ids[g - offset];
        if (g < count && len == theirs->n && memcmp(mine, theirs->p, len) == 0)
            continue;
        char a[64], b[64];
        raw_id_excerpt(theirs->p, theirs->n, a, sizeof a);
        raw_id_excerpt(mine, len, b, sizeof b);
        ckpt_errf(err, err_len, "data do not match the checkpoint %s: %s id %lld is raw id '%s' "
                  "in the checkpoint but '%s' in the data (another file, or --id-order / "
                  "--seed?)", path, user ? "user" : "item", (long long)g, a, b);
        return BIVAE_EXIT_USAGE;
    }
    return 0;
}

/* ---- loading ------------------------------------------------------------------------------ */

typedef struct load_ctx {
    bivae_model *m;
    const dataset *d;
    const char *path;
    int fail;   /* BIVAE_TEST_LOAD_FAIL names this rank (tests only): a read error */
} load_ctx;

static int load_visit(void *ctx, ckpt_tensor t, int64_t offset, const void *data, int64_t n,
                      char *err, size_t err_len)
{
    load_ctx *x = ctx;
    bivae_model *m = x->m;
    size_t bytes = (size_t)n * sizeof(float);
    if (x->fail && t == CKPT_ENC_USER_PARAMS) {   /* as a read error at this chunk would */
        ckpt_errf(err, err_len, "%s: read error at tensor %s (rank %d, BIVAE_TEST_LOAD_FAIL)",
                  x->path, ckpt_tensor_name(t), m->rank);
        return BIVAE_EXIT_RUNTIME;
    }
    switch (t) {
    case CKPT_USER_IDS:
    case CKPT_ITEM_IDS:
        return ckpt_compare_ids(x->d, x->path, t, offset, data, n, err, err_len);
    case CKPT_TRAIN_ROWPTR:
    case CKPT_TRAIN_COL:
        return 0;   /* compared through the hash (ckpt_check_data) */
    case CKPT_MU_THETA_PRIOR:
    case CKPT_MU_BETA_PRIOR:
        return 0;   /* for export: recomputed from the parameters and features */
    case CKPT_THETA:
    case CKPT_BETA: {
        bivae_side s = t == CKPT_THETA ? SIDE_USER : SIDE_ITEM;
        kern_upload(m->k, m->table[s] + offset, data, bytes);
        cyclic_rows_scatter(m->k, m->sample_local[s], m->K, m->rank, m->nranks, offset, data, n);
        return 0;
    }
    case CKPT_MU_THETA:
    case CKPT_MU_BETA:
        cyclic_rows_scatter(m->k, m->mu_local[t == CKPT_MU_THETA ? SIDE_USER : SIDE_ITEM], m->K,
                              m->rank, m->nranks, offset, data, n);
        return 0;
    default:   /* encoder tensors, in file order user/item × params/adam_m/adam_v */
        model_set_from_full(m, t <= CKPT_ENC_USER_ADAM_V ? SIDE_USER : SIDE_ITEM,
                            (encoder_tensor)((t - CKPT_ENC_USER_PARAMS) % 3), offset, data, n);
        return 0;
    }
}

/* The model m was made for: the checkpoint's shapes (an internal mismatch, not the user's). */
static void check_model_shapes(const bivae_model *m, const ckpt_info *info)
{
    if (m->K != info->K || m->n_users != info->n_users || m->n_items != info->n_items ||
        m->enc[SIDE_USER].n_params_full != info->n_params[SIDE_USER] ||
        m->enc[SIDE_ITEM].n_params_full != info->n_params[SIDE_ITEM])
        FAIL_RUNTIME("resume: the model was not built with the checkpoint's settings");
}

/* Collective. CAP: the feature rows of each prior encoder against the checkpoint's
 * fingerprint (the user's error: other feature files than the run had). */
static int check_features(const ckpt_info *info, const char *path, const bivae_model *m,
                          const dataset *d, comm *c, char *err, size_t err_len)
{
    static const char *const flag[2] = {"--user-features", "--item-features"};
    const feature_block *fb[2] = {&d->user_features, &d->item_features};
    const char *src[2] = {d->user_features_source, d->item_features_source};
    for (int s = 0; s < 2; s++) {
        if (info->n_features[s] <= 0)
            continue;
        uint64_t h = ckpt_features_hash(fb[s], c);   /* collective: every rank alike */
        if (m->enc[s].n_prior_in != info->n_features[s]) {
            ckpt_errf(err, err_len, "%s %s: %lld features, the checkpoint %s was trained on "
                      "%lld", flag[s], src[s], (long long)m->enc[s].n_prior_in, path,
                      (long long)info->n_features[s]);
            return BIVAE_EXIT_USAGE;
        }
        if (h != info->features_hash[s]) {
            ckpt_errf(err, err_len, "%s %s: not the feature rows the checkpoint %s was trained "
                      "on (another file, or other values)", flag[s], src[s], path);
            return BIVAE_EXIT_USAGE;
        }
    }
    return 0;
}

int ckpt_load(const char *path, bivae_model *m, const dataset *d, comm *c, ckpt_position *pos)
{
    char err[1024] = "";
    ckpt_info info;
    int rc = comm_agree(c, ckpt_read_header(path, &info, err, sizeof err), err);
    if (rc)
        return rc;
    rc = comm_agree(c, ckpt_check_data(&info, path, d, c, err, sizeof err), err);
    if (!rc)
        rc = comm_agree(c, check_features(&info, path, m, d, c, err, sizeof err), err);
    if (!rc)
        check_model_shapes(m, &info);
    ckpt_info_free(&info);
    if (rc)
        return rc;
    const char *fail = getenv("BIVAE_TEST_LOAD_FAIL");
    load_ctx x = {m, d, path, fail && atoi(fail) == comm_rank(c)};
    rc = comm_agree(c, ckpt_read(path, &info, load_visit, &x, err, sizeof err), err);
    if (rc) {   /* another rank's failure: this rank's header was read (freeing twice is safe) */
        ckpt_info_free(&info);
        return rc;
    }
    m->enc[SIDE_USER].adam_step = info.adam_step[SIDE_USER];
    m->enc[SIDE_ITEM].adam_step = info.adam_step[SIDE_ITEM];
    model_adam_restart(m);
    *pos = info.pos;
    ckpt_info_free(&info);
    return 0;
}
