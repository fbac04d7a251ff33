/* src/model_foldin.c — fold-in: μ_θ (μ_β) of rows the model was not trained on, through
 * the trained encoder of their side (docs/bivae-model.md: μ = head_μ(f(...f(x·Wt_1 + b_1)...))),
 * without sampling and without touching the model's tables. See model_fold_in in
 * src/model.h. */
#include <stdio.h>
#include <stdlib.h>

#include "common/check.h"
#include "src/model.h"

/* Rows [r0, r1) of a CSR as a window of it (rowptr keeps absolute offsets into col). */
static kern_csr rows_window(kern_csr X, int64_t r0, int64_t r1)
{
    X.rowptr += r0;
    X.nrows = r1 - r0;
    return X;
}

void model_fold_in(bivae_model *m, bivae_side s, kern_csr rows, float *mu_out)
{
    encoder *e = &m->enc[s];
    int64_t K = e->K, H = e->width[1];
    if (m->nranks != 1 || e->n_feat_local != e->width[0]) {
        fprintf(stderr, "%s:%d: model_fold_in needs the whole first layer (one rank; here %d "
                "ranks)\n", __FILE__, __LINE__, m->nranks);
        abort();
    }
    if (rows.ncols != e->width[0]) {
        fprintf(stderr, "%s:%d: model_fold_in: rows have %lld columns, the encoder reads %lld\n",
                __FILE__, __LINE__, (long long)rows.ncols, (long long)e->width[0]);
        abort();
    }
    const float *Wt_1 = e->params + e->off_W[0], *b_1 = e->params + e->off_b[0];
    for (int64_t r0 = 0; r0 < rows.nrows; r0 += e->max_rows) {
        int64_t r1 = r0 + e->max_rows < rows.nrows ? r0 + e->max_rows : rows.nrows;
        kern_csr_matmul_bias(m->k, rows_window(rows, r0, r1), Wt_1, b_1, H, e->a[1]);
        model_encode_from_a1(m, s, r1 - r0);                         /* e->mu [nr × K] */
        kern_copy(m->k, mu_out + r0 * K, e->mu, (size_t)((r1 - r0) * K) * sizeof(float));
    }
}
