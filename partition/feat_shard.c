/* partition/feat_shard.c — feature entries to the owners of their ids: the feature names
 * numbered alike on every rank, entries routed by global id (partition/route.h), each
 * owner's dense block filled, duplicates, unknown and missing ids found. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "partition/dataset.h"
#include "partition/errors.h"
#include "partition/feat_internal.h"
#include "partition/route.h"

/* An entry in global ids; routed by gid (the first field). */
typedef struct feat_rec {
    int32_t gid;
    int32_t feat;               /* -1: the row itself */
    float value;
    int32_t pad;
    int64_t line;
} feat_rec;

/* ---- feature names: the same numbers on every rank ----------------------------------------- */

/* Appends name k of d to buf as [is_int 1][value 8] or [0][len 4][bytes]. */
static size_t pack_name(const id_dict *d, uint32_t k, char *buf)
{
    raw_id id = id_dict_get(d, k);
    buf[0] = (char)id.is_int;
    if (id.is_int) {
        memcpy(buf + 1, &id.value, 8);
        return 9;
    }
    memcpy(buf + 1, &id.n, 4);
    memcpy(buf + 5, id.p, id.n);
    return 5 + id.n;
}

static size_t unpack_name(const char *buf, raw_id *id)
{
    memset(id, 0, sizeof *id);
    id->is_int = buf[0];
    if (id->is_int) {
        memcpy(&id->value, buf + 1, 8);
        return 9;
    }
    memcpy(&id->n, buf + 1, 4);
    id->p = buf + 5;
    return 5 + id->n;
}

typedef struct ranked_name { raw_id id; uint32_t k; } ranked_name;

static int cmp_ranked(const void *a, const void *b)
{
    return raw_id_cmp(&((const ranked_name *)a)->id, &((const ranked_name *)b)->id);
}

/* Collective: every local name's global number (out[names->n]: malloc'd); the count. */
static int64_t number_names(comm *c, const id_dict *names, int32_t **out)
{
    char *mine = xmalloc(names->text_len + 9 * (size_t)names->n + 1);
    size_t at = 0, got = 0;
    for (uint32_t k = 0; k < names->n; k++)
        at += pack_name(names, k, mine + at);
    char *all = comm_allgatherv_bytes(c, mine, at, 1, &got);
    free(mine);
    id_dict every;
    id_dict_init(&every);
    for (size_t p = 0; p < got;) {
        raw_id id;
        p += unpack_name(all + p, &id);
        id_dict_intern(&every, &id);
    }
    free(all);
    ranked_name *r = xmalloc(sizeof(ranked_name) * (every.n + 1));
    for (uint32_t k = 0; k < every.n; k++) {
        r[k].id = id_dict_get(&every, k);
        r[k].k = k;
    }
    qsort(r, every.n, sizeof *r, cmp_ranked);
    int32_t *rank_of = xmalloc(sizeof(int32_t) * (every.n + 1));
    for (uint32_t j = 0; j < every.n; j++)
        rank_of[r[j].k] = (int32_t)j;
    *out = xmalloc(sizeof(int32_t) * (names->n + 1));
    for (uint32_t k = 0; k < names->n; k++) {
        raw_id id = id_dict_get(names, k);
        (*out)[k] = rank_of[id_dict_intern(&every, &id)];
    }
    int64_t n = every.n;
    free(r);
    free(rank_of);
    id_dict_free(&every);
    return n;
}

/* ---- routing ---------------------------------------------------------------------------------- */

static feat_rec *to_records(feature_sink *s, const id_map *m, const int32_t *feat_of)
{
    feat_rec *v = xmalloc(sizeof(feat_rec) * (s->n ? s->n : 1));
    for (size_t k = 0; k < s->n; k++) {
        const feat_entry *e = &s->v[k];
        feat_rec r = {(int32_t)m->of_local[e->id], e->feat, e->value, 0, e->line};
        if (feat_of && e->feat >= 0)
            r.feat = feat_of[e->feat];
        v[k] = r;
    }
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
    return v;
}

static int cmp_rec(const void *a, const void *b)
{
    const feat_rec *x = a, *y = b;
    if (x->gid != y->gid)
        return x->gid < y->gid ? -1 : 1;
    if (x->feat != y->feat)
        return x->feat < y->feat ? -1 : 1;
    return (x->line > y->line) - (x->line < y->line);
}

/* ---- the owner's rows -------------------------------------------------------------------------- */

typedef struct shard_scan {
    int64_t dup_line, dup_first;        /* the first duplicate entry's line (0: none) */
    int32_t dup_gid, dup_feat;
    int64_t rows, unknown_ids, unknown_rows;
    uint8_t *has_row;                   /* [nrows] */
} shard_scan;

static void scan_records(const feat_rec *v, size_t n, const id_map *m, int P, int genome,
                         feature_block *b, shard_scan *sc)
{
    for (size_t k = 0; k < n; k++) {
        const feat_rec *r = &v[k];
        int new_id = k == 0 || v[k - 1].gid != r->gid;
        /* the same (id, feature) on two lines; on one line (a genre listed twice) it is
         * the same one-hot entry */
        if (k > 0 && !new_id && v[k - 1].feat == r->feat && v[k - 1].line != r->line &&
            (sc->dup_line == 0 || r->line < sc->dup_line)) {
            sc->dup_line = r->line;
            sc->dup_first = v[k - 1].line;
            sc->dup_gid = r->gid;
            sc->dup_feat = r->feat;
        }
        if (r->gid >= m->n) {
            sc->unknown_ids += new_id;
            sc->unknown_rows += genome || r->feat < 0;
            continue;
        }
        int64_t local = partition_local(r->gid, P);
        sc->rows += new_id;
        sc->has_row[local] = 1;
        if (r->feat >= 0)
            b->x[local * b->n_features + r->feat] = r->value;
    }
}

/* The raw id of an own global id g, for messages. */
static void own_id_text(const id_table *own, int64_t g, int P, char *out, size_t size)
{
    size_t len;
    const char *p = id_table_get(own, partition_local(g, P), &len);
    raw_id_excerpt(p, len, out, size);
}

static int agree_duplicate(comm *c, const shard_scan *sc, const id_map *m, const id_table *own,
                           const char *path, int genome, int P)
{
    char msg[512] = "", id[96] = "";
    if (sc->dup_line && sc->dup_gid < m->n)
        own_id_text(own, sc->dup_gid, P, id, sizeof id);
    if (sc->dup_line && genome)
        snprintf(msg, sizeof msg, "a second line for movie %s%s%s and one tag (the first is "
                 "line %lld)", id[0] ? "'" : "", id[0] ? id : "(not in the ratings)",
                 id[0] ? "'" : "", (long long)sc->dup_first);
    else if (sc->dup_line)
        snprintf(msg, sizeof msg, "a second feature row for id %s%s%s (the first is line %lld)",
                 id[0] ? "'" : "", id[0] ? id : "(not in the ratings)", id[0] ? "'" : "",
                 (long long)sc->dup_first);
    return part_agree_error(c, sc->dup_line != 0, sc->dup_line, path, msg);
}

/* Collective: with --missing-features error, the first missing id (in raw-id order over
 * every rank) is reported. */
static int agree_missing(comm *c, const feature_block *b, const shard_scan *sc,
                         const id_table *own, const char *path, const char *side)
{
    const char *best = NULL;
    size_t best_n = 0;
    raw_id best_id;
    for (int64_t r = 0; r < b->nrows; r++) {
        if (sc->has_row[r])
            continue;
        size_t len;
        const char *p = id_table_get(own, r, &len);
        raw_id id;
        unsigned char bad;
        raw_id_parse(p, len, &id, &bad);
        if (!best || raw_id_cmp(&id, &best_id) < 0) {
            best = p;
            best_n = len;
            best_id = id;
        }
    }
    size_t got = 0;
    int64_t n_best = best ? (int64_t)best_n : -1;
    int64_t *lens = xmalloc(sizeof(int64_t) * (size_t)comm_size(c));
    comm_allgather_i64(c, n_best, lens);
    char *texts = comm_allgatherv_bytes(c, best ? best : "", best ? best_n : 0, 1, &got);
    int winner = -1;
    raw_id w;
    size_t at = 0;
    for (int r = 0; r < comm_size(c); at += lens[r] > 0 ? (size_t)lens[r] : 0, r++) {
        if (lens[r] < 0)
            continue;
        raw_id id;
        unsigned char bad;
        raw_id_parse(texts + at, (size_t)lens[r], &id, &bad);
        if (winner < 0 || raw_id_cmp(&id, &w) < 0) {
            winner = r;
            w = id;
        }
    }
    if (winner == comm_rank(c)) {
        char ex[96];
        raw_id_excerpt(best, best_n, ex, sizeof ex);
        part_error("%s: no feature row for %s '%s' (%lld %ss of the training split have none; "
                   "--missing-features zero gives them zero rows)", path, side, ex,
                   (long long)b->missing, side);
    }
    free(lens);
    free(texts);
    return winner >= 0 ? BIVAE_EXIT_USAGE : 0;
}

static int alloc_block(comm *c, feature_block *b, const char *path)
{
    double bytes = (double)b->nrows * (double)b->n_features * sizeof(float);
    int big = bytes > 32.0 * (1 << 30);
    char msg[600];
    snprintf(msg, sizeof msg, "%s: %lld features for %lld rows per rank need %.1f GB as a "
             "dense block: too large (use fewer features or more ranks)", path,
             (long long)b->n_features, (long long)b->nrows, bytes / 1e9);
    if (part_agree_error(c, big, 0, NULL, msg))
        return BIVAE_EXIT_USAGE;
    b->x = xcalloc((size_t)(b->nrows * b->n_features) + 1, sizeof(float));
    return 0;
}

int features_shard(comm *c, feature_sink *s, const id_map *m, const id_table *own,
                   const char *path, const char *side, missing_features policy,
                   feature_block *b)
{
    int P = comm_size(c), genome = s->layout.fmt == FEAT_FORMAT_GENOME;
    int32_t *feat_of = NULL;
    memset(b, 0, sizeof *b);
    b->fmt = s->layout.fmt;
    b->nrows = partition_owned_count(m->n, comm_rank(c), P);
    b->n_features = s->layout.named ? number_names(c, &s->names, &feat_of) : s->layout.width;
    if (s->layout.fmt == FEAT_FORMAT_DENSE)
        b->n_features = s->layout.n_fields - 1;
    size_t n = s->n, n_recv;
    feat_rec *v = route_by_owner(c, to_records(s, m, feat_of), n, sizeof(feat_rec), &n_recv);
    free(feat_of);
    qsort(v, n_recv, sizeof *v, cmp_rec);
    shard_scan sc;
    memset(&sc, 0, sizeof sc);
    sc.has_row = xcalloc((size_t)b->nrows + 1, 1);
    int status = alloc_block(c, b, path);
    if (!status) {
        scan_records(v, n_recv, m, P, genome, b, &sc);
        status = agree_duplicate(c, &sc, m, own, path, genome, P) ? BIVAE_EXIT_USAGE : 0;
    }
    free(v);
    if (!status) {
        int64_t st[4] = {sc.rows, b->nrows - sc.rows, sc.unknown_ids, sc.unknown_rows};
        comm_allreduce_sum_i64v(c, st, 4);
        b->rows_read = st[0];
        b->missing = st[1];
        b->unknown_ids = st[2];
        b->unknown_rows = st[3];
        if (policy == MISSING_FEATURES_ERROR)
            status = agree_missing(c, b, &sc, own, path, side);
    }
    free(sc.has_row);
    if (status)
        feature_block_free(b);
    return status;
}
