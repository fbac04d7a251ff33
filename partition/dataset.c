/* partition/dataset.c — dataset_load: ingest -> id maps -> route -> local CSR matrices. */
#include "partition/dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "partition/csr.h"
#include "partition/errors.h"
#include "partition/feat_internal.h"
#include "partition/idmap.h"
#include "partition/ingest.h"
#include "partition/route.h"
#include "partition/synth.h"

/* Both id maps from the rank's dictionaries; BIVAE_EXIT_USAGE (reported) when they are
 * empty or too large to index with int32. */
static int build_maps(const data_options *opt, comm *c, const rating_sink *sink, id_map *users,
                      id_map *items)
{
    int big = idmap_build(c, &sink->users, ID_SIDE_USER, opt->permute_ids, opt->seed, users);
    big |= idmap_build(c, &sink->items, ID_SIDE_ITEM, opt->permute_ids, opt->seed, items);
    const char *why = NULL;
    if (big)
        why = "too many distinct users or items (at most 2147483647 each, test-only ones included)";
    else if (users->n == 0)
        why = "no training ratings left (all dropped by --min-rating or sent to the test split)";
    return part_agree_error(c, why != NULL, 0, NULL, why) ? BIVAE_EXIT_USAGE : 0;
}

/* Training pairs of local indices -> global-id pairs (the list is freed). */
static gpair *to_global(pair_list *l, const id_map *users, const id_map *items)
{
    gpair *g = xmalloc(sizeof(gpair) * (l->n ? l->n : 1));
    for (size_t k = 0; k < l->n; k++) {
        g[k].row = (int32_t)users->of_local[l->v[k].user];
        g[k].col = (int32_t)items->of_local[l->v[k].item];
    }
    pair_list_free(l);
    return g;
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
    int64_t stats[4] = {0, 0, 0, 0};   /* nnz_test, n_test_users, unknown user, unknown item */
    for (size_t k = 0; k < test->n; k++) {
        int64_t gu = users->of_local[test->v[k].user];
        if (gu >= users->n) {
            stats[2]++;
            continue;
        }
        test_row t = {(int32_t)gu, (int32_t)items->of_local[test->v[k].item]};
        rows[n++] = t;
    }
    pair_list_free(test);
    test_row *recv = route_by_owner(c, rows, n, sizeof(test_row), &n_recv);
    d->test_count = xcalloc((size_t)d->n_local_users + 1, sizeof(int32_t));
    stats[3] = part_csr_build_test(recv, n_recv, d->n_local_users, d->n_items, d->nranks, &d->Tu,
                                   d->test_count);
    free(recv);
    for (int64_t r = 0; r < d->n_local_users; r++) {
        stats[0] += d->test_count[r];
        stats[1] += d->test_count[r] > 0;
    }
    comm_allreduce_sum_i64v(c, stats, 4);
    d->nnz_test = stats[0];
    d->n_test_users = stats[1];
    d->test_unknown_user = stats[2];
    d->test_unknown_item = stats[3];
}

static void take_maps(dataset *d, id_map *users, id_map *items)
{
    d->n_users = users->n;
    d->n_items = items->n;
    d->user_ids = users->owned;
    d->item_ids = items->owned;
    memset(&users->owned, 0, sizeof users->owned);
    memset(&items->owned, 0, sizeof items->owned);
    d->n_local_users = partition_owned_count(d->n_users, d->rank, d->nranks);
    d->n_local_items = partition_owned_count(d->n_items, d->rank, d->nranks);
}

/* Collective: memory and drop counts over the ranks. */
static void gather_counts(comm *c, const rating_sink *sink, const id_map *users,
                          const id_map *items, dataset *d)
{
    d->below_min_rating = comm_allreduce_sum_i64(c, sink->below_min);
    size_t peak = users->peak_bytes > items->peak_bytes ? users->peak_bytes : items->peak_bytes;
    d->idmap_peak_bytes = comm_allreduce_max_i64(c, (int64_t)peak);
    d->idmap_bytes = comm_allreduce_max_i64(c, (int64_t)(id_table_bytes(&d->user_ids) +
                                                         id_table_bytes(&d->item_ids)));
}

/* Test rows were read, yet none has a user of the training split: reported, usage error. */
static int check_test_users(const data_options *opt, comm *c, size_t local_rows,
                            const dataset *d)
{
    int64_t rows = comm_allreduce_sum_i64(c, (int64_t)local_rows);
    char why[600];
    snprintf(why, sizeof why, "%s%s: none of its %lld test rows has a user of the training "
             "split (another id scheme or another data set?)", opt->test_path ? "--test " : "",
             opt->test_path ? opt->test_path : "the test split", (long long)rows);
    int bad = rows > 0 && d->n_test_users == 0;
    return part_agree_error(c, bad, 0, NULL, why) ? BIVAE_EXIT_USAGE : 0;
}

/* Collective: both feature files (those given), every rank its share, ids interned into
 * the ratings' dictionaries (so the id maps number them). */
static int read_features(const data_options *opt, comm *c, feature_sink *fu, feature_sink *fi,
                         dataset *d)
{
    char desc[160] = "";
    int rc = 0;
    if (opt->user_features) {
        rc = features_read(c, opt->user_features, opt->features_format, fu, desc, sizeof desc);
        snprintf(d->user_features_source, sizeof d->user_features_source, "%s (%s)",
                 opt->user_features, desc);
    }
    if (rc == 0 && opt->item_features) {
        rc = features_read(c, opt->item_features, opt->features_format, fi, desc, sizeof desc);
        snprintf(d->item_features_source, sizeof d->item_features_source, "%s (%s)",
                 opt->item_features, desc);
    }
    return rc;
}

/* The integer raw ids of an id table (synthetic ids are 1..U, 1..I). */
static int64_t *integer_ids(const id_table *t)
{
    int64_t *v = xmalloc(sizeof(int64_t) * (size_t)(t->n + 1));
    for (int64_t j = 0; j < t->n; j++) {
        size_t len;
        const char *p = id_table_get(t, j, &len);
        raw_id id;
        unsigned char bad;
        raw_id_parse(p, len, &id, &bad);
        v[j] = id.value;
    }
    return v;
}

static void synth_side(const synth_shape *s, const data_options *opt, int side,
                       const id_table *own, feature_block *b)
{
    int D = opt->synthetic_features;
    int64_t *ids = integer_ids(own);
    b->n_features = D;
    b->nrows = own->n;
    b->x = xcalloc((size_t)(own->n * D) + 1, sizeof(float));
    b->dense_ids = 1;
    synth_features(s, opt->seed, side, D, ids, own->n, b->x);
    free(ids);
}

/* --synthetic-features D: rows made for the rank's own users and items (synth.h). */
static int synth_features_load(const data_options *opt, dataset *d)
{
    synth_shape s;
    char msg[512];
    if (synth_shape_from_spec(opt->synthetic, &s, msg, sizeof msg) != 0)
        return BIVAE_EXIT_USAGE;                    /* ingest reported it already */
    synth_side(&s, opt, 0, &d->user_ids, &d->user_features);
    synth_side(&s, opt, 1, &d->item_ids, &d->item_features);
    d->user_features.rows_read = d->n_users;
    d->item_features.rows_read = d->n_items;
    snprintf(d->user_features_source, sizeof d->user_features_source, "synthetic (seed %llu)",
             (unsigned long long)opt->seed);
    snprintf(d->item_features_source, sizeof d->item_features_source, "%s",
             d->user_features_source);
    return 0;
}

/* Collective: the feature rows of the rank's own users and items (files or synthetic). */
static int shard_features(const data_options *opt, comm *c, feature_sink *fu, feature_sink *fi,
                          const id_map *users, const id_map *items, dataset *d)
{
    int rc = 0;
    if (opt->user_features)
        rc = features_shard(c, fu, users, &d->user_ids, opt->user_features, "user",
                            opt->missing_features, &d->user_features);
    if (rc == 0 && opt->item_features)
        rc = features_shard(c, fi, items, &d->item_ids, opt->item_features, "item",
                            opt->missing_features, &d->item_features);
    if (rc == 0 && opt->synthetic && opt->synthetic_features > 0)
        rc = synth_features_load(opt, d);
    return rc;
}

int dataset_load(const data_options *opt, comm *c, dataset *d)
{
    memset(d, 0, sizeof *d);
    d->rank = comm_rank(c);
    d->nranks = comm_size(c);
    rating_sink sink;
    rating_sink_init(&sink);
    id_map users, items;
    memset(&users, 0, sizeof users);
    memset(&items, 0, sizeof items);
    feature_sink fu, fi;
    feature_sink_init(&fu, &sink.users);
    feature_sink_init(&fi, &sink.items);
    int rc = ingest_load(opt, c, &sink, d->source, sizeof d->source);
    if (rc == 0)
        rc = read_features(opt, c, &fu, &fi, d);
    if (rc == 0)
        rc = build_maps(opt, c, &sink, &users, &items);
    if (rc == 0) {
        take_maps(d, &users, &items);
        gather_counts(c, &sink, &users, &items, d);
        size_t test_rows = sink.test.n;
        build_train(c, &sink.train, &users, &items, d);
        build_test(c, &sink.test, &users, &items, d);
        rc = check_test_users(opt, c, test_rows, d);
        if (rc == 0)
            rc = shard_features(opt, c, &fu, &fi, &users, &items, d);
    }
    feature_sink_free(&fu);
    feature_sink_free(&fi);
    rating_sink_free(&sink);
    idmap_free(&users);
    idmap_free(&items);
    if (rc != 0)
        dataset_free(d);
    return rc;
}

void dataset_free(dataset *d)
{
    id_table_free(&d->user_ids);
    id_table_free(&d->item_ids);
    part_csr_free(&d->Ru);
    part_csr_free(&d->Ri);
    part_csr_free(&d->Tu);
    free(d->test_count);
    feature_block_free(&d->user_features);
    feature_block_free(&d->item_features);
    int rank = d->rank, nranks = d->nranks;
    memset(d, 0, sizeof *d);
    d->rank = rank;
    d->nranks = nranks;
}
