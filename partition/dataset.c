/* partition/dataset.c — dataset_load: ingest -> id maps -> route -> local CSR matrices. */
#include "partition/dataset.h"

#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "partition/csr.h"
#include "partition/errors.h"
#include "partition/idmap.h"
#include "partition/ingest.h"
#include "partition/route.h"

/* Both id maps from the training pairs; BIVAE_EXIT_USAGE (reported) when they are empty
 * or too large to index with int32. */
static int build_maps(const data_options *opt, comm *c, const pair_list *train, id_map *users,
                      id_map *items)
{
    int big = idmap_build(c, train->v, train->n, ID_SIDE_USER, opt->permute_ids, opt->seed, users);
    big |= idmap_build(c, train->v, train->n, ID_SIDE_ITEM, opt->permute_ids, opt->seed, items);
    const char *why = NULL;
    if (big)
        why = "too many distinct users or items (at most 2147483647 each)";
    else if (users->n == 0)
        why = "no training ratings left (all dropped by --min-rating or sent to the test split)";
    return part_agree_error(c, why != NULL, 0, NULL, why) ? BIVAE_EXIT_USAGE : 0;
}

/* Raw pairs -> global-id pairs, in place (8 of the 16 bytes per pair; shrinks the list). */
static gpair *to_global(pair_list *l, const id_map *users, const id_map *items)
{
    gpair *g = (gpair *)(void *)l->v;
    int64_t last_raw = 0;
    int32_t last_g = -1;
    for (size_t k = 0; k < l->n; k++) {
        raw_pair p = l->v[k];
        if (last_g < 0 || p.user != last_raw) {
            last_raw = p.user;
            last_g = idmap_global(users, p.user);
        }
        g[k].row = last_g;
        g[k].col = idmap_global(items, p.item);
    }
    l->v = NULL;
    l->cap = 0;
    return xrealloc(g, sizeof(gpair) * (l->n ? l->n : 1));
}

/* Ru from the training pairs routed to user owners; Ri from Ru's (de-duplicated) ones
 * routed to item owners. */
static void build_train(comm *c, pair_list *train, const id_map *users, const id_map *items,
                        dataset *d)
{
    size_t n = train->n, n_recv;
    gpair *g = to_global(train, users, items);
    gpair *recv = route_by_owner(c, g, n, sizeof(gpair), &n_recv);
    part_csr_build(recv, n_recv, d->n_local_users, d->n_items, d->nranks, &d->Ru);
    gpair *t = part_csr_transpose(&d->Ru, d->rank, d->nranks, &n);
    recv = route_by_owner(c, t, n, sizeof(gpair), &n_recv);
    part_csr_build(recv, n_recv, d->n_local_items, d->n_users, d->nranks, &d->Ri);
    d->nnz_train = comm_allreduce_sum_i64(c, d->Ru.rowptr[d->Ru.nrows]);
}

static void build_test(comm *c, pair_list *test, const id_map *users, const id_map *items,
                       dataset *d)
{
    test_row *rows = xmalloc(sizeof(test_row) * (test->n ? test->n : 1));
    size_t n = 0, n_recv;
    int64_t stats[3] = {0, 0, 0};         /* nnz_test, n_test_users, test_rows_dropped */
    for (size_t k = 0; k < test->n; k++) {
        int32_t gu = idmap_global(users, test->v[k].user);
        if (gu < 0) {
            stats[2]++;
            continue;
        }
        test_row t = {gu, 0, test->v[k].item};
        rows[n++] = t;
    }
    pair_list_free(test);
    test_row *recv = route_by_owner(c, rows, n, sizeof(test_row), &n_recv);
    d->test_count = xcalloc((size_t)d->n_local_users + 1, sizeof(int32_t));
    part_csr_build_test(recv, n_recv, d->n_local_users, items, d->nranks, &d->Tu, d->test_count);
    free(recv);
    for (int64_t r = 0; r < d->n_local_users; r++) {
        stats[0] += d->test_count[r];
        stats[1] += d->test_count[r] > 0;
    }
    comm_allreduce_sum_i64v(c, stats, 3);
    d->nnz_test = stats[0];
    d->n_test_users = stats[1];
    d->test_rows_dropped = stats[2];
}

static void take_maps(dataset *d, id_map *users, id_map *items)
{
    d->n_users = users->n;
    d->n_items = items->n;
    d->user_raw = users->raw;
    d->item_raw = items->raw;
    users->raw = items->raw = NULL;
    d->n_local_users = partition_owned_count(d->n_users, d->rank, d->nranks);
    d->n_local_items = partition_owned_count(d->n_items, d->rank, d->nranks);
}

int dataset_load(const data_options *opt, comm *c, dataset *d)
{
    memset(d, 0, sizeof *d);
    d->rank = comm_rank(c);
    d->nranks = comm_size(c);
    rating_sink sink;
    memset(&sink, 0, sizeof sink);
    id_map users, items;
    memset(&users, 0, sizeof users);
    memset(&items, 0, sizeof items);
    int rc = ingest_load(opt, c, &sink, d->source, sizeof d->source);
    if (rc == 0)
        rc = build_maps(opt, c, &sink.train, &users, &items);
    if (rc == 0) {
        take_maps(d, &users, &items);
        build_train(c, &sink.train, &users, &items, d);
        build_test(c, &sink.test, &users, &items, d);
    }
    rating_sink_free(&sink);
    idmap_free(&users);
    idmap_free(&items);
    if (rc != 0)
        dataset_free(d);
    return rc;
}

void dataset_free(dataset *d)
{
    free(d->user_raw);
    free(d->item_raw);
    part_csr_free(&d->Ru);
    part_csr_free(&d->Ri);
    part_csr_free(&d->Tu);
    free(d->test_count);
    int rank = d->rank, nranks = d->nranks;
    memset(d, 0, sizeof *d);
    d->rank = rank;
    d->nranks = nranks;
}
