/* tests/checkpoint/test_roundtrip.c — every tensor of a checkpoint survives save + load
 * bit for bit, on any rank count (ctest runs it on 1 and 3 ranks):
 *   - a model trained two epochs is saved in the middle of a user phase (the new samples
 *     of rows [0, step·B) differ from the table on purpose) with tiny chunks (partial rows,
 *     one user's training row over several chunks) and with the default chunks, once as a
 *     checkpoint of a run (its run id in the header and the file name) and once as a legacy
 *     file (neither: what files written before run ids look like);
 *   - a model initialized from another seed loads it; then the encoders, both Adam states
 *     and step counters, θ̃ and β̃ (the mix of new samples and table), the sampled rows and
 *     μ of this rank, and the position must be equal; the id maps and the training rows read
 *     back must be the dataset's;
 *   - every truncation and a flipped bit in every byte of a small file are rejected with
 *     exit status 2 (never a crash, never accepted). */
#include <mpi.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/check.h"
#include "src/checkpoint.h"
#include "src/cli.h"
#include "src/train.h"

typedef struct fixture {
    bivae_config cfg;
    comm *c;
    kern *k;
    dataset d;
    run_log *log;
    char dir[256];
} fixture;

static fixture F;
static char damaged[4200];   /* the rewritten file of the damage test (removed in teardown) */

static int setup(void **state)
{
    cli_defaults(&F.cfg);
    F.cfg.data.synthetic = "61x43x1300";
    F.cfg.model.k = 3;                 /* odd: chunks of 2 values split rows */
    F.cfg.model.hidden[0] = 5;
    F.cfg.train.batch_size = 8;
    F.c = comm_mpi_create();
    F.k = kern_cpu_create(1);
    assert_int_equal(dataset_load(&F.cfg.data, F.c, &F.d), 0);
    F.log = run_log_open(comm_rank(F.c), NULL, 1, comm_size(F.c));
    memset(F.dir, 0, sizeof F.dir);
    if (comm_rank(F.c) == 0) {
        snprintf(F.dir, sizeof F.dir, "/tmp/bivae-ckpt-XXXXXX");
        assert_non_null(mkdtemp(F.dir));
    }
    comm_bcast(F.c, F.dir, sizeof F.dir, 0);
    F.cfg.output.checkpoint_dir = F.dir;
    F.cfg.output.keep = 100;
    return 0;
}

static int teardown(void **state)
{
    comm_barrier(F.c);
    if (damaged[0])
        unlink(damaged);
    if (comm_rank(F.c) == 0) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", F.dir);
        assert_int_equal(system(cmd), 0);
    }
    run_log_close(F.log);
    dataset_free(&F.d);
    kern_destroy(F.k);
    comm_destroy(F.c);
    return 0;
}

static void make_model(bivae_model *m, uint64_t seed)
{
    const dataset *d = &F.d;
    int P = comm_size(F.c);
    model_init(m, F.k, &F.cfg.model, seed, comm_rank(F.c), P, d->n_users, d->n_items,
               d->Ru.rowptr, d->Ru.col, d->n_local_users, d->Ri.rowptr, d->Ri.col,
               d->n_local_items, (F.cfg.train.batch_size + P - 1) / P, F.c,
               F.cfg.system.first_layer == FIRST_LAYER_SHARDED);
}

/* host copy of n floats of backend memory (caller frees) */
static float *host(const float *p, int64_t n)
{
    float *h = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    kern_download(F.k, h, p, sizeof(float) * (size_t)n);
    return h;
}

static void assert_same(const float *a, const float *b, int64_t n, const char *what)
{
    float *x = host(a, n), *y = host(b, n);
    if (memcmp(x, y, sizeof(float) * (size_t)n) != 0)
        fail_msg("%s differs after save + load", what);
    free(x);
    free(y);
}

/* The id maps and training rows as read back from the file. */
typedef struct readback {
    const dataset *d;
    int64_t *rowptr;
    int32_t *col;
    int64_t ids_seen[2];      /* ids of this rank's own global ids found equal */
} readback;

static int collect(void *ctx, ckpt_tensor t, int64_t off, const void *data, int64_t n,
                   char *err, size_t len)
{
    readback *r = ctx;
    if (t == CKPT_USER_IDS || t == CKPT_ITEM_IDS) {      /* against the owner's ids */
        int rc = ckpt_compare_ids(r->d, "file", t, off, data, n, err, len);
        for (int64_t g = off; rc == 0 && g < off + n; g++)
            r->ids_seen[t] += g % r->d->nranks == r->d->rank;
        return rc;
    }
    size_t esz = t == CKPT_TRAIN_COL ? 4 : 8;
    char *dst = t == CKPT_TRAIN_ROWPTR ? (char *)r->rowptr : t == CKPT_TRAIN_COL ? (char *)r->col
              : NULL;
    if (dst)
        memcpy(dst + (size_t)off * esz, data, (size_t)n * esz);
    return 0;
}

static void check_readback(const char *path)
{
    const dataset *d = &F.d;
    readback r = {d, malloc(8 * (size_t)(d->n_users + 1)), malloc(4 * (size_t)d->nnz_train), {0, 0}};
    ckpt_info info;
    char err[1024];
    assert_int_equal(ckpt_read(path, &info, collect, &r, err, sizeof err), 0);
    assert_int_equal(info.nranks, comm_size(F.c));
    assert_true(info.n_users == d->n_users && info.n_items == d->n_items && info.K == 3);
    assert_int_equal(r.ids_seen[CKPT_USER_IDS], d->n_local_users);
    assert_int_equal(r.ids_seen[CKPT_ITEM_IDS], d->n_local_items);
    int rank = comm_rank(F.c), P = comm_size(F.c);
    for (int64_t l = 0; l < d->n_local_users; l++) {
        int64_t g = partition_global(l, rank, P), n = d->Ru.rowptr[l + 1] - d->Ru.rowptr[l];
        assert_int_equal(r.rowptr[g + 1] - r.rowptr[g], n);
        assert_memory_equal(r.col + r.rowptr[g], d->Ru.col + d->Ru.rowptr[l], 4 * (size_t)n);
    }
    ckpt_info_free(&info);
    free(r.rowptr);
    free(r.col);
}

/* θ̃ as the file must hold it: the table, with rows [0, split) from the new samples. */
static float *expected_theta(const bivae_model *m, int64_t split, float shift)
{
    int64_t U = m->n_users, K = m->K;
    float *t = host(m->table[SIDE_USER], U * K);
    for (int64_t i = 0; i < split * K; i++)
        t[i] += shift;
    return t;
}

/* run_id: the run the checkpoint is of (NULL: a legacy file, no run id in the header) */
static void roundtrip(int64_t chunk, const char *run_id)
{
    bivae_model m, m2;
    trainer t;
    make_model(&m, 42);
    trainer_init(&t, &m, F.c, &F.d, &F.cfg, F.log);
    for (int e = 1; e <= 2; e++) {
        trainer_phase(&t, SIDE_ITEM, e);
        trainer_phase(&t, SIDE_USER, e);
    }
    trainer_infer(&t);
    /* in the user phase of epoch 3, 2 steps done: rows [0, 16) of θ̃ are new samples */
    const float shift = 0.5f;
    int64_t K = m.K, nl = m.n_local[SIDE_USER], split = 2 * F.cfg.train.batch_size;
    float *own = host(m.sample_local[SIDE_USER], nl * K);
    for (int64_t l = 0; l < nl; l++)
        if (partition_global(l, m.rank, m.nranks) < split)
            for (int64_t j = 0; j < K; j++)
                own[l * K + j] += shift;
    kern_upload(F.k, m.sample_local[SIDE_USER], own, sizeof(float) * (size_t)(nl * K));
    ckpt_position pos = {2, CKPT_IN_USER_PHASE, 2, {123.25, 16.0}, 77.125, {1.5, 0.25, 4096, 512}};
    char path[4096];
    ckpt_test_set_chunk_elems(chunk);
    assert_int_equal(ckpt_save(&m, &F.d, &F.cfg, F.c, run_id, &pos, path, sizeof path), 0);
    ckpt_test_set_chunk_elems(0);
    check_readback(path);
    char name[128], want_path[4200];
    ckpt_file_name(run_id, &pos, (F.d.n_items + 7) / 8, name, sizeof name);
    snprintf(want_path, sizeof want_path, "%s/%s", F.dir, name);
    assert_string_equal(path, want_path);
    ckpt_info info;
    char err[1024];
    assert_int_equal(ckpt_read_header(path, &info, err, sizeof err), 0);
    assert_string_equal(info.run_id, run_id ? run_id : "");
    ckpt_info_free(&info);

    make_model(&m2, 7);
    ckpt_position got;
    assert_int_equal(ckpt_load(path, &m2, &F.d, F.c, &got), 0);
    assert_memory_equal(&got, &pos, sizeof pos);
    for (int s = 0; s < 2; s++) {
        const encoder *a = &m.enc[s], *b = &m2.enc[s];
        assert_int_equal(a->adam_step, b->adam_step);
        assert_same(a->params, b->params, a->n_params, "encoder params");
        assert_same(a->adam_m, b->adam_m, a->n_params, "adam_m");
        assert_same(a->adam_v, b->adam_v, a->n_params, "adam_v");
        assert_same(m.mu_local[s], m2.mu_local[s], m.n_local[s] * K, "own rows of mu");
    }
    assert_same(m.table[SIDE_ITEM], m2.table[SIDE_ITEM], m.n_items * K, "beta_tilde");
    assert_same(m.sample_local[SIDE_USER], m2.sample_local[SIDE_USER], nl * K, "own new samples");
    float *want = expected_theta(&m, split, shift), *got_theta = host(m2.table[SIDE_USER], m.n_users * K);
    assert_memory_equal(want, got_theta, sizeof(float) * (size_t)(m.n_users * K));
    free(want);
    free(got_theta);
    free(own);
    model_free(&m2);
    trainer_free(&t);
    model_free(&m);
}

static void test_roundtrip_tiny_chunks(void **state) { roundtrip(2, "20240229T235959Z-0a9f"); }
static void test_roundtrip_default_chunks(void **state) { roundtrip(0, NULL); }

/* ---- damaged files (rank 0; a small file, default chunks) ---------------------------- */

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    rewind(f);
    unsigned char *b = malloc(*n);
    assert_int_equal(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

static int read_bytes(const unsigned char *b, size_t n, const char *tmp)
{
    FILE *f = fopen(tmp, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    ckpt_info info;
    char err[1024];
    int rc = ckpt_read(tmp, &info, NULL, NULL, err, sizeof err);
    if (rc == 0)
        ckpt_info_free(&info);
    return rc;
}

static void test_every_truncation_and_flip(void **state)
{
    bivae_model m;
    trainer t;
    make_model(&m, 42);
    trainer_init(&t, &m, F.c, &F.d, &F.cfg, F.log);
    trainer_infer(&t);
    ckpt_position pos = {0, CKPT_AT_EPOCH_END, 0, {0, 0}, 0, {0, 0, 0, 0}};
    char path[4096], *tmp = damaged;
    assert_int_equal(ckpt_save(&m, &F.d, &F.cfg, F.c, "20240101T000000Z-0000", &pos, path,
                               sizeof path), 0);
    if (comm_rank(F.c) == 0) {
        size_t n;
        unsigned char *b = slurp(path, &n);
        /* rewritten for every case: in memory where there is a tmpfs */
        snprintf(tmp, sizeof damaged, "%s/bivae-damaged-%d", access("/dev/shm", W_OK) == 0 ?
                 "/dev/shm" : F.dir, (int)getpid());
        assert_int_equal(read_bytes(b, n, tmp), 0);
        for (size_t len = 0; len < n; len++)
            if (read_bytes(b, len, tmp) != BIVAE_EXIT_USAGE)
                fail_msg("a file truncated to %zu of %zu bytes was not rejected", len, n);
        for (size_t i = 0; i < n; i++) {   /* one bit per byte, each bit position in turn */
            unsigned bit = (unsigned)(i % 8);
            b[i] ^= (unsigned char)(1u << bit);
            if (read_bytes(b, n, tmp) != BIVAE_EXIT_USAGE)
                fail_msg("bit %u of byte %zu of %zu flipped was not rejected", bit, i, n);
            b[i] ^= (unsigned char)(1u << bit);
        }
        free(b);
        printf("%zu truncations and %zu flipped bits rejected\n", n, n);
    }
    trainer_free(&t);
    model_free(&m);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_tiny_chunks),
        cmocka_unit_test(test_roundtrip_default_chunks),
        cmocka_unit_test(test_every_truncation_and_flip),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    MPI_Finalize();
    return failed;
}
