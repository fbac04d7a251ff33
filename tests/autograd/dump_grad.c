/* tests/autograd/dump_grad.c — dumps one training forward + backward of a tiny BiVAE for
 * every likelihood × activation × {1, 2} hidden layers × side, as JSON, for
 * check_torch.py to recompute with torch autograd in float64 from docs/bivae-model.md.
 *
 * usage: dump_grad OUT.json
 *
 * Per case it writes everything the loss depends on (the dense interaction matrix, the
 * batch window, the other side's table θ̃ / β̃, ε, λ, every parameter in the model's ONE
 * buffer layout) and everything the C code computed (μ, σ, the sampled latent, the batch
 * loss grad[n_params] / nr, and every gradient, from model_backward with scale = 1/nr). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernels/kernels.h"
#include "src/model.h"
#include "test_util.h"

enum { U = 7, I = 9, K = 3 };

/* the tests' deterministic generator (tests/kernels/test_util.h) */
typedef trng rng;
#define rng_u32 trng_u32
#define rng_unif trng_unif

static const char *lik_name[] = {"pois", "bern", "gaus"};
static const char *act_name[] = {"sigmoid", "tanh", "elu", "relu", "relu6"};

static void put_floats(FILE *f, const char *key, const float *x, int64_t n)
{
    fprintf(f, "\"%s\": [", key);
    for (int64_t i = 0; i < n; i++)
        fprintf(f, "%s%.9g", i ? ", " : "", (double)x[i]);
    fprintf(f, "]");
}

static void put_ints(FILE *f, const char *key, const int64_t *x, int64_t n)
{
    fprintf(f, "\"%s\": [", key);
    for (int64_t i = 0; i < n; i++)
        fprintf(f, "%s%lld", i ? ", " : "", (long long)x[i]);
    fprintf(f, "]");
}

/* One case: a fresh model, random decoder tables, one batch of side s, rows [l0, l1). */
static void dump_case(FILE *f, int first, int R[U][I], kern_lik lik, kern_act act, int layers,
                      bivae_side s, int64_t l0, int64_t l1)
{
    int64_t Ru_ptr[U + 1], Ri_ptr[I + 1];
    int32_t Ru_col[U * I], Ri_col[U * I];
    int64_t nnz = 0;
    Ru_ptr[0] = 0;
    for (int u = 0; u < U; u++) {
        for (int i = 0; i < I; i++)
            if (R[u][i])
                Ru_col[nnz++] = i;
        Ru_ptr[u + 1] = nnz;
    }
    nnz = 0;
    Ri_ptr[0] = 0;
    for (int i = 0; i < I; i++) {
        for (int u = 0; u < U; u++)
            if (R[u][i])
                Ri_col[nnz++] = u;
        Ri_ptr[i + 1] = nnz;
    }

    kern *k = kern_cpu_create(1);
    bivae_model_config cfg = {.k = K, .n_hidden = layers, .hidden = {5, 4}, .act = act,
                              .likelihood = lik, .beta_kl = 0.8};
    bivae_model m;
    uint64_t seed = 1000u + 100u * (unsigned)lik + 10u * (unsigned)act + (unsigned)layers;
    model_init(&m, k, &cfg, seed, 0, 1, U, I, Ru_ptr, Ru_col, U, Ri_ptr, Ri_col, I, 16, NULL, 1);
    /* decoder tables of useful size (the initial β̃ ~ N(0, 0.01²) would make z ≈ 0) */
    rng r = {seed * 7919u + (uint64_t)s};
    for (int64_t j = 0; j < U * K; j++)
        m.table[SIDE_USER][j] = rng_unif(&r, -1.2f, 1.2f);
    for (int64_t j = 0; j < I * K; j++)
        m.table[SIDE_ITEM][j] = rng_unif(&r, -1.2f, 1.2f);

    int64_t nr = l1 - l0;
    encoder *e = &m.enc[s];
    model_zero_grad(&m, s, nr);
    model_forward(&m, s, l0, l1, 3, PASS_TRAIN, 1);
    model_backward(&m, s, l0, l1, (float)(1.0 / (double)nr));
    double loss = (double)e->grad[e->n_params] / (double)nr;

    fprintf(f, "%s{\"lik\": \"%s\", \"act\": \"%s\", \"side\": \"%s\", ", first ? "" : ",\n",
            lik_name[lik], act_name[act], s == SIDE_USER ? "user" : "item");
    fprintf(f, "\"U\": %d, \"I\": %d, \"K\": %d, \"lambda\": %.9g, \"l0\": %lld, \"l1\": %lld, ",
            U, I, K, cfg.beta_kl, (long long)l0, (long long)l1);
    int64_t widths[BIVAE_MAX_HIDDEN + 1], offW[BIVAE_MAX_HIDDEN + 1], offb[BIVAE_MAX_HIDDEN + 1];
    for (int j = 0; j <= e->n_layers; j++) {
        widths[j] = e->width[j];
        offW[j] = e->off_W[j];
        offb[j] = e->off_b[j];
    }
    put_ints(f, "width", widths, e->n_layers + 1);
    fprintf(f, ", ");
    put_ints(f, "off_W", offW, e->n_layers + 1);
    fprintf(f, ", ");
    put_ints(f, "off_b", offb, e->n_layers + 1);
    fprintf(f, ", \"n_params\": %lld, ", (long long)e->n_params);
    int64_t dense[U * I];
    for (int u = 0; u < U; u++)
        for (int i = 0; i < I; i++)
            dense[u * I + i] = R[u][i];
    put_ints(f, "R", dense, U * I);
    fprintf(f, ", ");
    put_floats(f, "table_other", m.table[1 - s], (s == SIDE_USER ? I : U) * K);
    fprintf(f, ", ");
    put_floats(f, "eps", e->eps, nr * K);
    fprintf(f, ", ");
    put_floats(f, "params", e->params, e->n_params);
    fprintf(f, ", ");
    put_floats(f, "mu", e->mu, nr * K);
    fprintf(f, ", ");
    put_floats(f, "sigma", e->sigma, nr * K);
    fprintf(f, ", ");
    put_floats(f, "z", e->z, nr * K);
    fprintf(f, ", \"loss\": %.17g, ", loss);
    put_floats(f, "grad", e->grad, e->n_params);
    fprintf(f, "}");
    model_free(&m);
    kern_destroy(k);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: dump_grad OUT.json\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "w");
    if (!f) {
        perror(argv[1]);
        return 3;
    }
    int R[U][I] = {{0}};
    rng r = {2024};
    for (int u = 0; u < U; u++) {
        for (int i = 0; i < I; i++)
            R[u][i] = rng_u32(&r) % 3 == 0;
        R[u][u % I] = 1;         /* every user and item has at least one interaction */
    }
    for (int i = 0; i < I; i++)
        R[i % U][i] = 1;

    fprintf(f, "{\"cases\": [\n");
    int first = 1;
    for (int lik = KERN_LIK_POIS; lik <= KERN_LIK_GAUS; lik++)
        for (int act = KERN_ACT_SIGMOID; act <= KERN_ACT_RELU6; act++)
            for (int layers = 1; layers <= 2; layers++) {
                /* a window that is neither the whole side nor starts at row 0 */
                dump_case(f, first, R, (kern_lik)lik, (kern_act)act, layers, SIDE_USER, 1, 6);
                first = 0;
                dump_case(f, first, R, (kern_lik)lik, (kern_act)act, layers, SIDE_ITEM, 2, 9);
            }
    fprintf(f, "\n]}\n");
    if (fclose(f) != 0) {
        perror(argv[1]);
        return 3;
    }
    return 0;
}
