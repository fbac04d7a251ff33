/* tests/e2e/test_quality.c — the trained model must learn the latent structure of the
 * synthetic data: on the synthetic ml-100k shape (75/25 hash split) NDCG@10 must beat the
 * most-popular baseline by a clear margin (k 50, encoder 100, 120 epochs: the reference
 * configuration, shorter). Also: the loss falls over the epochs. */
#include <mpi.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "src/cli.h"
#include "src/train.h"

static void test_beats_most_popular(void **state)
{
    bivae_config cfg;
    cli_defaults(&cfg);
    cfg.data.synthetic = "ml-100k";
    cfg.data.seed = cfg.train.seed = 5;
    cfg.model.k = 50;
    cfg.model.hidden[0] = 100;
    cfg.train.epochs = 120;
    cfg.train.batch_size = 128;
    cfg.output.top_k = 10;
    comm *c = comm_mpi_create();
    kern *k = kern_cpu_create(1);
    dataset d;
    assert_int_equal(dataset_load(&cfg.data, c, &d), 0);
    run_log *log = run_log_open(comm_rank(c), NULL, 1, comm_size(c));
    bivae_model m;
    trainer t;
    model_init(&m, k, &cfg.model, cfg.train.seed, 0, 1, d.n_users, d.n_items, d.Ru.rowptr,
               d.Ru.col, d.n_local_users, d.Ri.rowptr, d.Ri.col, d.n_local_items,
               cfg.train.batch_size, c, 1);
    trainer_init(&t, &m, c, &d, &cfg, log);
    double first_item = trainer_phase(&t, SIDE_ITEM, 1);
    double first_user = trainer_phase(&t, SIDE_USER, 1);
    double secs;
    cfg.train.epochs = 119;
    eval_result r = trainer_run(&t, &secs);
    double last_item = trainer_phase(&t, SIDE_ITEM, 121), last_user = trainer_phase(&t, SIDE_USER, 121);
    eval_result pop = eval_most_popular(c, &d, 10);
    printf("loss item %.3f -> %.3f, user %.3f -> %.3f\n", first_item, last_item, first_user,
           last_user);
    printf("model: NDCG@10 %.4f MAP %.4f P@10 %.4f R@10 %.4f (%lld users)\n", r.ndcg, r.map,
           r.precision, r.recall, (long long)r.users);
    printf("most popular: NDCG@10 %.4f MAP %.4f P@10 %.4f R@10 %.4f\n", pop.ndcg, pop.map,
           pop.precision, pop.recall);
    assert_true(last_item < first_item && last_user < first_user);
    assert_true(r.users == pop.users && r.users > 900);
    assert_true(r.ndcg > 1.5 * pop.ndcg && r.ndcg > pop.ndcg + 0.1);
    assert_true(r.precision > pop.precision && r.recall > pop.recall && r.map > pop.map);
    trainer_free(&t);
    model_free(&m);
    run_log_close(log);
    dataset_free(&d);
    kern_destroy(k);
    comm_destroy(c);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_beats_most_popular)};
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    MPI_Finalize();
    return failed;
}
