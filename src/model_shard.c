/* src/model_shard.c — an encoder's whole tensors in the checkpoint layout (all width[0]
 * rows of Wt_1, global order), from and to a rank's local layout (its own Wt_1 rows; see
 * model.h). With a replicated first layer the two layouts are the same. */
#include "src/cyclic_rows.h"
#include "src/model.h"

float *model_tensor(const bivae_model *m, bivae_side s, encoder_tensor which)
{
    const encoder *e = &m->enc[s];
    return which == ENC_PARAMS ? e->params : which == ENC_ADAM_M ? e->adam_m : e->adam_v;
}

float *model_full_tensor(const bivae_model *m, bivae_side s, encoder_tensor which)
{
    const encoder *e = &m->enc[s];
    const float *src = model_tensor(m, s, which);
    float *full = kern_alloc(m->k, sizeof(float) * (size_t)e->n_params_full);
    if (e->n_params_full == e->n_params) {
        kern_copy(m->k, full, src, sizeof(float) * (size_t)e->n_params);
        return full;
    }
    int64_t d_in = e->width[0], H = e->width[1];
    float *staging = kern_alloc(m->k, sizeof(float) * (size_t)(d_in * H));   /* [d_in × H] */
    cyclic_rows_allgather(m->k, m->c, src, d_in, H, staging, full);
    kern_copy(m->k, full + d_in * H, src + e->off_b[0],
              sizeof(float) * (size_t)(e->n_params - e->off_b[0]));
    kern_free(m->k, staging);
    return full;
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
    if (offset < w1)   /* Wt_1 rows are owned like the ids they stand for */
        cyclic_rows_scatter(m->k, dst, e->width[1], m->rank, m->nranks, offset, data,
                            (end < w1 ? end : w1) - offset);
    if (end > w1) {
        int64_t from = offset > w1 ? offset : w1;
        kern_upload(m->k, dst + e->off_b[0] + (from - w1), data + (from - offset),
                    sizeof(float) * (size_t)(end - from));
    }
}
