/* src/app_cold.c — cold-start users: a feature file's rows through the checkpoint's CAP
 * user prior, θ = μ_prior = F·Wt_p + b_p (Wt_p [D × K], b_p [K]: the last D·K + K values of
 * the user encoder's parameters, src/model.h). Named feature formats (sparse, genome) are
 * refused: their columns are numbered by the names of the file read, and the checkpoint
 * does not keep the training file's names. */
#define _XOPEN_SOURCE 700
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "partition/feat_internal.h"
#include "src/app_cold.h"
#include "src/model.h"

typedef struct params_ctx { float *p; ckpt_tensor t; } params_ctx;

static int on_tensor(void *ctx, ckpt_tensor t, int64_t offset, const void *data, int64_t n,
                     char *err, size_t err_len)
{
    (void)err;
    (void)err_len;
    if (t == ((params_ctx *)ctx)->t)
        memcpy(((params_ctx *)ctx)->p + offset, data, sizeof(float) * (size_t)n);
    return 0;
}

/* The rows of s into F [ids × D] (zeros where not given); a second row of one id: error. */
static int fill_rows(const feature_sink *s, int64_t n_ids, int64_t D, float *F,
                     const char *flag, const char *path, char *err, size_t len)
{
    uint8_t *seen = xcalloc((size_t)(n_ids > 0 ? n_ids : 1), 1);
    int status = 0;
    for (size_t k = 0; k < s->n && !status; k++) {
        const feat_entry *e = &s->v[k];
        if (e->feat >= 0) {
            F[(int64_t)e->id * D + e->feat] = e->value;
        } else if (seen[e->id]++) {
            ckpt_errf(err, len, "%s %s:%lld: a second row of this id", flag, path,
                      (long long)e->line);
            status = BIVAE_EXIT_USAGE;
        }
    }
    free(seen);
    return status;
}

/* μ_prior [n × K] = F·Wt_p + b_p. */
static void prior_means(const float *F, int64_t n, int64_t D, int64_t K, const float *Wt_p,
                        const float *b_p, float *mu)
{
    for (int64_t i = 0; i < n; i++)
        for (int64_t c = 0; c < K; c++) {
            float v = b_p[c];
            for (int64_t d = 0; d < D; d++)
                v += F[i * D + d] * Wt_p[d * K + c];
            mu[i * K + c] = v;
        }
}

int cold_users_read(comm *c, const char *path, feature_format fmt, const char *model_path,
                    const ckpt_info *info, cold_users *out, char *err, size_t len)
{
    return cold_rows_read(c, SIDE_USER, path, fmt, model_path, info, out, err, len);
}

int cold_rows_read(comm *c, int side, const char *path, feature_format fmt,
                   const char *model_path, const ckpt_info *info, cold_users *out, char *err,
                   size_t len)
{
    int64_t D = info->n_features[side], K = info->K, np = info->n_params[side];
    const char *flag = side == SIDE_USER ? "--user-features" : "--new-items";
    const char *who = side == SIDE_USER ? "user" : "item";
    memset(out, 0, sizeof(*out));
    if (D <= 0) {
        ckpt_errf(err, len, "%s: the checkpoint %s has no %s prior (trained without "
                  "--cap-priors %s): cold start from features needs one", flag, model_path,
                  who, who);
        return BIVAE_EXIT_USAGE;
    }
    id_dict ids;
    feature_sink s;
    char desc[256];
    id_dict_init(&ids);
    feature_sink_init(&s, &ids);
    int status = features_read(c, path, fmt, &s, desc, sizeof desc);
    if (status)
        err[0] = '\0';                         /* printed by the reader */
    int64_t width = s.layout.fmt == FEAT_FORMAT_DENSE ? s.layout.n_fields - 1 : s.layout.width;
    if (!status && s.layout.named) {
        ckpt_errf(err, len, "%s %s: %s features are numbered by their names, which the "
                  "checkpoint does not keep: give the rows as a dense file", flag, path,
                  feature_format_name(s.layout.fmt));
        status = BIVAE_EXIT_USAGE;
    } else if (!status && width != D) {
        ckpt_errf(err, len, "%s %s: %lld features per row, the %s prior of %s reads %lld", flag,
                  path, (long long)width, who, model_path, (long long)D);
        status = BIVAE_EXIT_USAGE;
    } else if (!status && ids.n == 0) {
        ckpt_errf(err, len, "%s %s: no feature rows", flag, path);
        status = BIVAE_EXIT_USAGE;
    }
    float *F = NULL, *params = NULL;
    if (!status) {
        F = xcalloc((size_t)ids.n * (size_t)D, sizeof(float));     /* [n × D] */
        status = fill_rows(&s, ids.n, D, F, flag, path, err, len);
    }
    if (!status) {
        params = xmalloc(sizeof(float) * (size_t)np);               /* [n_params_full] */
        params_ctx x = {params, side == SIDE_USER ? CKPT_ENC_USER_PARAMS : CKPT_ENC_ITEM_PARAMS};
        ckpt_info again;
        if ((status = ckpt_read(model_path, &again, on_tensor, &x, err, len)) == 0)
            ckpt_info_free(&again);
    }
    if (!status) {
        out->n = ids.n;
        out->mu = xmalloc(sizeof(float) * (size_t)(ids.n * K));    /* [n × K] */
        prior_means(F, ids.n, D, K, params + np - D * K - K, params + np - K, out->mu);
        out->raw = xmalloc(sizeof(char *) * (size_t)ids.n);
        for (uint32_t i = 0; i < ids.n; i++) {
            raw_id r = id_dict_get(&ids, i);
            char buf[RAW_ID_INT_CHARS];
            size_t n;
            const char *t = raw_id_text(&r, buf, &n);
            out->raw[i] = xmalloc(n + 1);
            memcpy(out->raw[i], t, n);
            out->raw[i][n] = '\0';
        }
    }
    free(F);
    free(params);
    feature_sink_free(&s);
    id_dict_free(&ids);
    return status;
}

void cold_users_free(cold_users *u)
{
    for (int64_t i = 0; i < u->n; i++)
        free(u->raw[i]);
    free(u->raw);
    free(u->mu);
    memset(u, 0, sizeof(*u));
}
