/* src/model_shard.c — an encoder's whole tensors in the checkpoint layout (all width[0]
 * rows of Wt_1, global order), from and to a rank's local layout (its own Wt_1 rows; see
 * model.h). With a replicated first layer the two layouts are the same. */
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "partition/dataset.h"
#include "src/model.h"

float *model_tensor(bivae_model *m, bivae_side s, encoder_tensor which)
{
    encoder *e = &m->enc[s];
    return which == ENC_PARAMS ? e->params : which == ENC_ADAM_M ? e->adam_m : e->adam_v;
}

float *model_full_tensor(bivae_model *m, bivae_side s, encoder_tensor which)
{
    encoder *e = &m->enc[s];
    const float *src = model_tensor(m, s, which);
    float *full = kern_alloc(m->k, sizeof(float) * (size_t)e->n_params_full);
    if (e->n_params_full == e->n_params) {
        kern_copy(m->k, full, src, sizeof(float) * (size_t)e->n_params);
        return full;
    }
    int P = m->nranks;
    int64_t d_in = e->width[0], H = e->width[1];
    size_t *counts = xmalloc(sizeof(size_t) * (size_t)P), *displs = xmalloc(sizeof(size_t) * (size_t)P);
    size_t off = 0;
    for (int r = 0; r < P; r++) {
        counts[r] = (size_t)(partition_owned_count(d_in, r, P) * H);
        displs[r] = off;
        off += counts[r];
    }
    float *blocked = kern_alloc(m->k, sizeof(float) * (off > 0 ? off : 1));   /* [d_in × H] */
    comm_allgatherv_f32(m->c, src, counts[m->rank], blocked, counts, displs);
    kern_rows_cyclic_from_blocked(m->k, full, blocked, d_in, H, P);
    kern_copy(m->k, full + d_in * H, src + e->off_b[0],
              sizeof(float) * (size_t)(e->n_params - e->off_b[0]));
    kern_free(m->k, blocked);
    free(counts);
    free(displs);
    return full;
}

/* The own elements of full-layout Wt_1 elements [a, b) are consecutive in the local
 * layout (own rows j, j + P, ... are local rows j/P, j/P + 1, ...): one upload. */
static void set_first_layer(bivae_model *m, encoder *e, float *dst, int64_t a, int64_t b,
                            const float *data)
{
    int64_t H = e->width[1], P = m->nranks, first = -1, n = 0;
    float *stage = xmalloc(sizeof(float) * (size_t)(b - a > 0 ? b - a : 1));
    for (int64_t i = a; i < b; i++) {
        int64_t j = i / H;
        if (j % P != m->rank)
            continue;
        if (first < 0)
            first = (j / P) * H + i % H;
        stage[n++] = data[i - a];
    }
    if (n > 0)
        kern_upload(m->k, dst + first, stage, sizeof(float) * (size_t)n);
    free(stage);
}

void model_set_from_full(bivae_model *m, bivae_side s, encoder_tensor which, int64_t offset,
                         const float *data, int64_t n)
{
    encoder *e = &m->enc[s];
    float *dst = model_tensor(m, s, which);
    if (e->n_params_full == e->n_params) {
        kern_upload(m->k, dst + offset, data, sizeof(float) * (size_t)n);
        return;
    }
    int64_t w1 = e->width[0] * e->width[1], end = offset + n;
    if (offset < w1)
        set_first_layer(m, e, dst, offset, end < w1 ? end : w1, data);
    if (end > w1) {
        int64_t from = offset > w1 ? offset : w1;
        kern_upload(m->k, dst + e->off_b[0] + (from - w1), data + (from - offset),
                    sizeof(float) * (size_t)(end - from));
    }
}
