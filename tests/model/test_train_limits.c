/* tests/model/test_train_limits.c — the benchmark-only switches of src/train.h on the CPU
 * backend, one rank: trainer.max_steps ends every phase after its first max_steps steps
 * (the phase end as usual: a finite loss, no guard tripping on the row count), a limit
 * beyond the phase is the whole phase; trainer.step_hook is called before every step with
 * its index and once after the last with the number of steps taken. */
#include <math.h>
#include <mpi.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "src/cli.h"
#include "src/train.h"

enum { MAX_CALLS = 64 };

typedef struct hook_call {
    bivae_side s;
    int64_t step;
    int done;
} hook_call;

typedef struct hook_log {
    hook_call calls[MAX_CALLS];
    int n;
} hook_log;

static void record(void *ctx, bivae_side s, int64_t step, int done)
{
    hook_log *h = (hook_log *)ctx;
    assert_true(h->n < MAX_CALLS);
    hook_call c = {s, step, done};
    h->calls[h->n++] = c;
}

typedef struct fixture {
    bivae_config cfg;
    comm *c;
    kern *k;
    dataset d;
    run_log *log;
    bivae_model m;
    trainer t;
    hook_log h;
} fixture;

static fixture F;

static int setup(void **state)
{
    (void)state;
    cli_defaults(&F.cfg);
    F.cfg.data.synthetic = "61x43x1300";
    F.cfg.model.k = 3;
    F.cfg.model.hidden[0] = 5;
    F.cfg.train.batch_size = 8;    /* item phase: 6 steps, user phase: 8 */
    F.c = comm_mpi_create();
    F.k = kern_cpu_create(1);
    assert_int_equal(dataset_load(&F.cfg.data, F.c, &F.d), 0);
    F.log = run_log_open(0, NULL, 1, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    run_log_close(F.log);
    dataset_free(&F.d);
    kern_destroy(F.k);
    comm_destroy(F.c);
    return 0;
}

/* A fresh model and trainer, the hook recording into F.h. */
static void start(int64_t max_steps)
{
    const dataset *d = &F.d;
    model_init(&F.m, F.k, &F.cfg.model, F.cfg.train.seed, 0, 1, d->n_users, d->n_items,
               d->Ru.rowptr, d->Ru.col, d->n_local_users, d->Ri.rowptr, d->Ri.col,
               d->n_local_items, F.cfg.train.batch_size, F.c, 1);
    trainer_init(&F.t, &F.m, F.c, d, &F.cfg, F.log);
    memset(&F.h, 0, sizeof F.h);
    F.t.max_steps = max_steps;
    F.t.step_hook = record;
    F.t.step_hook_ctx = &F.h;
}

static void stop(void)
{
    trainer_free(&F.t);
    model_free(&F.m);
}

static int64_t phase_steps(bivae_side s)
{
    int64_t B = F.cfg.train.batch_size;
    return (model_side_rows(&F.m, s) + B - 1) / B;
}

/* One phase of side s: a finite loss, `steps` hook calls then the done call, the side's
 * Adam step counter advanced by `steps`. */
static void check_phase(bivae_side s, int64_t steps)
{
    int first = F.h.n;
    int64_t t0 = F.m.enc[s].adam_step;
    double loss = trainer_phase(&F.t, s, 1);
    assert_int_equal(F.t.status, 0);
    assert_true(isfinite(loss));
    assert_int_equal(F.h.n - first, steps + 1);
    for (int64_t i = 0; i <= steps; i++) {
        const hook_call *c = &F.h.calls[first + i];
        assert_int_equal(c->s, s);
        assert_int_equal(c->step, i);
        assert_int_equal(c->done, i == steps);
    }
    assert_int_equal(F.m.enc[s].adam_step - t0, steps);
}

static void test_max_steps_ends_phases_early(void **state)
{
    (void)state;
    start(2);
    assert_true(phase_steps(SIDE_ITEM) > 2 && phase_steps(SIDE_USER) > 2);
    check_phase(SIDE_ITEM, 2);
    check_phase(SIDE_USER, 2);
    stop();
}

static void test_no_limit_and_a_limit_beyond_are_the_whole_phase(void **state)
{
    (void)state;
    start(0);
    check_phase(SIDE_ITEM, phase_steps(SIDE_ITEM));
    F.t.max_steps = phase_steps(SIDE_USER) + 5;
    check_phase(SIDE_USER, phase_steps(SIDE_USER));
    stop();
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_max_steps_ends_phases_early),
        cmocka_unit_test(test_no_limit_and_a_limit_beyond_are_the_whole_phase),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    MPI_Finalize();
    return failed;
}
