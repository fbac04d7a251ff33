/* partition/idmap.c — see idmap.h */
#include "partition/idmap.h"

#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "partition/dataset.h"
#include "partition/hash.h"

#define TAG_PERMUTE 0x7065726dULL
#define SAMPLES_PER_RANK 64

/* ---- ids on the wire -------------------------------------------------------------------
 * A record: one flags byte (ID_DICT_INT | ID_DICT_TRAIN), then the int64 value of an
 * integer id, or the uint32 length and the bytes of a string id. */

static size_t rec_size(const raw_id *id) { return 1 + (id->is_int ? 8 : 4 + (size_t)id->n); }

static size_t rec_put(char *dst, const raw_id *id, uint8_t flags)
{
    dst[0] = (char)((flags & ~ID_DICT_INT) | (id->is_int ? ID_DICT_INT : 0));
    if (id->is_int) {
        memcpy(dst + 1, &id->value, 8);
        return 9;
    }
    memcpy(dst + 1, &id->n, 4);
    memcpy(dst + 5, id->p, id->n);
    return 5 + (size_t)id->n;
}

static size_t rec_get(const char *src, raw_id *id, uint8_t *flags)
{
    *flags = (uint8_t)src[0];
    if (*flags & ID_DICT_INT) {
        int64_t v;
        memcpy(&v, src + 1, 8);
        *id = raw_id_int(v);
        return 9;
    }
    uint32_t n;
    memcpy(&n, src + 1, 4);
    raw_id r = {0, 0, src + 5, n};
    *id = r;
    return 5 + (size_t)n;
}

/* ids with their position (sorting keeps where each came from) */
typedef struct placed_id {
    raw_id id;
    uint32_t at;
    uint8_t flags;
} placed_id;

static int cmp_placed(const void *a, const void *b)
{
    const placed_id *x = a, *y = b;
    int c = raw_id_cmp(&x->id, &y->id);
    return c ? c : (x->at > y->at) - (x->at < y->at);
}

/* Records buf[bytes] (count unknown) -> placed ids in *n (at = record index). */
static placed_id *parse_records(const char *buf, size_t bytes, size_t *n)
{
    size_t cap = 64, k = 0;
    placed_id *v = xmalloc(sizeof(placed_id) * cap);
    for (size_t at = 0; at < bytes; k++) {
        if (k == cap)
            v = xrealloc(v, sizeof(placed_id) * (cap *= 2));
        at += rec_get(buf + at, &v[k].id, &v[k].flags);
        v[k].at = (uint32_t)k;
    }
    *n = k;
    return v;
}

/* ---- memory accounting ------------------------------------------------------------------ */

typedef struct mem_meter { size_t now, peak; } mem_meter;

static void meter_add(mem_meter *m, size_t bytes)
{
    m->now += bytes;
    if (m->now > m->peak)
        m->peak = m->now;
}

static void meter_sub(mem_meter *m, size_t bytes) { m->now -= bytes < m->now ? bytes : m->now; }

/* ---- this rank's ids, sorted ------------------------------------------------------------ */

static placed_id *sorted_entries(const id_dict *d)
{
    placed_id *v = xmalloc(sizeof(placed_id) * (d->n ? d->n : 1));
    for (uint32_t k = 0; k < d->n; k++) {
        v[k].id = id_dict_get(d, k);
        v[k].at = k;
        v[k].flags = d->flags[k] & (ID_DICT_INT | ID_DICT_TRAIN);
    }
    qsort(v, d->n, sizeof(placed_id), cmp_placed);
    return v;
}

/* Collective: P - 1 splitters (sp[k - 1] starts range k) from up to SAMPLES_PER_RANK evenly
 * spaced ids of every rank. They point into *keep (free it after use). Ranges may be empty. */
static raw_id *splitters(comm *c, const placed_id *mine, size_t n, char **keep)
{
    int P = comm_size(c);
    size_t s = n < SAMPLES_PER_RANK ? n : SAMPLES_PER_RANK, bytes = 0, got = 0, n_all = 0;
    for (size_t k = 0; k < s; k++)
        bytes += rec_size(&mine[(2 * k + 1) * n / (2 * s)].id);
    char *buf = xmalloc(bytes ? bytes : 1);
    for (size_t k = 0, at = 0; k < s; k++)
        at += rec_put(buf + at, &mine[(2 * k + 1) * n / (2 * s)].id, 0);
    *keep = comm_allgatherv_bytes(c, buf, bytes, 1, &got);
    free(buf);
    placed_id *all = parse_records(*keep, got, &n_all);
    qsort(all, n_all, sizeof(placed_id), cmp_placed);
    raw_id *sp = xmalloc(sizeof(raw_id) * (size_t)P);
    for (int k = 1; k < P; k++)
        sp[k - 1] = n_all ? all[(size_t)k * n_all / (size_t)P].id : raw_id_int(INT64_MAX);
    free(all);
    return sp;
}

/* ---- to the directories and back ---------------------------------------------------------- */

/* Collective: every sorted local id to the directory of its range. Returns the records
 * this rank received (its range, from every rank) and their byte count per source. */
static char *send_to_directories(comm *c, const placed_id *mine, size_t n, size_t *counts,
                                 size_t *recv_bytes, size_t *from, mem_meter *mem)
{
    int P = comm_size(c);
    char *keep = NULL;
    raw_id *sp = P > 1 ? splitters(c, mine, n, &keep) : NULL;
    size_t bytes = 0;
    memset(counts, 0, sizeof(size_t) * (size_t)P);
    for (size_t k = 0, dir = 0; k < n; k++) {
        while ((int)dir < P - 1 && raw_id_cmp(&mine[k].id, &sp[dir]) >= 0)
            dir++;
        size_t r = rec_size(&mine[k].id);
        counts[dir] += r;
        bytes += r;
    }
    char *send = xmalloc(bytes ? bytes : 1);
    meter_add(mem, bytes);
    for (size_t k = 0, at = 0; k < n; k++)
        at += rec_put(send + at, &mine[k].id, mine[k].flags);
    free(sp);
    free(keep);
    char *recv = comm_alltoallv_bytes(c, send, counts, 1, recv_bytes, from);
    meter_add(mem, *recv_bytes);
    free(send);
    meter_sub(mem, bytes);
    return recv;
}

/* A directory's range: its distinct ids in order, the training ones first numbered. */
typedef struct range_ids {
    placed_id *v;           /* [m] every received record, sorted (at: record index) */
    size_t m;
    int64_t *number;        /* [m] by record index: position among this range's training ids,
                               or ~position among its test-only ids */
    int64_t n_train, n_test_only;
} range_ids;

static void number_range(range_ids *r, const char *recv, size_t bytes, mem_meter *mem)
{
    r->v = parse_records(recv, bytes, &r->m);
    qsort(r->v, r->m, sizeof(placed_id), cmp_placed);
    r->number = xmalloc(sizeof(int64_t) * (r->m ? r->m : 1));
    meter_add(mem, r->m * (sizeof(placed_id) + sizeof(int64_t)));
    r->n_train = r->n_test_only = 0;
    for (size_t a = 0, b; a < r->m; a = b) {
        int train = 0;
        for (b = a; b < r->m && raw_id_cmp(&r->v[a].id, &r->v[b].id) == 0; b++)
            train |= r->v[b].flags & ID_DICT_TRAIN;
        int64_t num = train ? r->n_train++ : ~r->n_test_only++;
        for (size_t k = a; k < b; k++)
            r->number[r->v[k].at] = num;
    }
}

/* Collective: the global ids of this directory's training ids [first, first + count) of the
 * total order: the slice of the inverse permutation rank 0 computes (NULL: not permuted). */
static int32_t *permutation_slice(comm *c, int64_t n, int64_t first, int64_t count,
                                  uint64_t seed, id_side side, mem_meter *mem)
{
    int P = comm_size(c), rank = comm_rank(c);
    int64_t *firsts = xmalloc(sizeof(int64_t) * (size_t)P);
    size_t *counts = xcalloc((size_t)P, sizeof(size_t)), got = 0;
    comm_allgather_i64(c, first, firsts);
    int32_t *inv = NULL;
    if (rank == 0) {
        inv = xmalloc(sizeof(int32_t) * (size_t)(n ? n : 1));
        meter_add(mem, sizeof(int32_t) * (size_t)n);
        idmap_inverse_permutation(inv, n, seed, side);
        for (int r = 0; r < P; r++)
            counts[r] = (size_t)((r + 1 < P ? firsts[r + 1] : n) - firsts[r]);
    }
    int32_t *slice = comm_alltoallv_bytes(c, inv, counts, sizeof(int32_t), &got, NULL);
    if (got != (size_t)count)
        FAIL_RUNTIME("id map: %zu permuted ids for a range of %lld", got, (long long)count);
    meter_add(mem, sizeof(int32_t) * got);
    if (inv)
        meter_sub(mem, sizeof(int32_t) * (size_t)n);
    free(inv);
    free(firsts);
    free(counts);
    return slice;
}

/* Numbers of the range in place: training ids -> global ids, test-only -> n + position. */
static void finish_numbers(range_ids *r, int64_t n, int64_t first_train, int64_t first_test,
                           const int32_t *perm)
{
    for (size_t k = 0; k < r->m; k++) {
        int64_t num = r->number[k];
        r->number[k] = num >= 0 ? (perm ? perm[num] : first_train + num) : n + first_test + ~num;
    }
}

/* Records in each source's block of recv (block sizes in bytes: from_bytes[P]). */
static void records_per_source(const char *recv, const size_t *from_bytes, int P, size_t *counts)
{
    raw_id id;
    uint8_t flags;
    for (int src = 0; src < P; src++) {
        counts[src] = 0;
        for (size_t at = 0; at < from_bytes[src]; counts[src]++)
            at += rec_get(recv + at, &id, &flags);
        recv += from_bytes[src];
    }
}

/* Collective: the directory's numbers back to the ranks that asked, in the order they sent
 * their ids (their sorted order): into of_local by dictionary index. */
static void answer(comm *c, const range_ids *r, const size_t *from_bytes, const char *recv,
                   const placed_id *mine, size_t n_mine, int64_t *of_local)
{
    int P = comm_size(c);
    size_t *counts = xmalloc(sizeof(size_t) * (size_t)P), got = 0;
    records_per_source(recv, from_bytes, P, counts);
    int64_t *back = comm_alltoallv_bytes(c, r->number, counts, sizeof(int64_t), &got, NULL);
    if (got != n_mine)
        FAIL_RUNTIME("id map: %zu answers for %zu ids", got, n_mine);
    for (size_t k = 0; k < n_mine; k++)
        of_local[mine[k].at] = back[k];
    free(back);
    free(counts);
}

/* ---- the text of each global id to its owner ------------------------------------------- */

/* An owner record: int64 global id, uint32 length, the text. */
static size_t owner_rec_size(const raw_id *id, char *buf)
{
    size_t len;
    raw_id_text(id, buf, &len);
    return 12 + len;
}

/* Collective: the training ids of the range (one per distinct id) to the owners of their
 * global ids; this rank's own ids into m->owned. */
static void send_to_owners(comm *c, const range_ids *r, id_map *m, mem_meter *mem)
{
    int P = comm_size(c), rank = comm_rank(c);
    size_t *counts = xcalloc((size_t)P, sizeof(size_t)), *fill = xmalloc(sizeof(size_t) * (size_t)P);
    size_t bytes = 0, got = 0;
    char tmp[RAW_ID_INT_CHARS];
    for (size_t k = 0; k < r->m; k++)                 /* first of each group, training ids */
        if ((k == 0 || raw_id_cmp(&r->v[k - 1].id, &r->v[k].id) != 0) && r->number[r->v[k].at] < m->n) {
            size_t b = owner_rec_size(&r->v[k].id, tmp);
            counts[partition_owner(r->number[r->v[k].at], P)] += b;
            bytes += b;
        }
    size_t off = 0;
    for (int d = 0; d < P; d++) {
        fill[d] = off;
        off += counts[d];
    }
    char *send = xmalloc(bytes ? bytes : 1);
    meter_add(mem, bytes);
    for (size_t k = 0; k < r->m; k++) {
        int64_t g = r->number[r->v[k].at];
        if ((k > 0 && raw_id_cmp(&r->v[k - 1].id, &r->v[k].id) == 0) || g >= m->n)
            continue;
        size_t len;
        const char *text = raw_id_text(&r->v[k].id, tmp, &len);
        uint32_t len32 = (uint32_t)len;
        char *dst = send + fill[partition_owner(g, P)];
        memcpy(dst, &g, 8);
        memcpy(dst + 8, &len32, 4);
        memcpy(dst + 12, text, len);
        fill[partition_owner(g, P)] += 12 + len;
    }
    char *recv = comm_alltoallv_bytes(c, send, counts, 1, &got, NULL);
    meter_add(mem, got);
    free(send);
    meter_sub(mem, bytes);
    int64_t own = partition_owned_count(m->n, rank, P);
    id_table *t = &m->owned;
    t->n = own;
    t->off = xcalloc((size_t)own + 1, sizeof(int64_t));
    for (size_t at = 0; at < got;) {                   /* lengths, then offsets, then text */
        int64_t g;
        uint32_t len;
        memcpy(&g, recv + at, 8);
        memcpy(&len, recv + at + 8, 4);
        t->off[partition_local(g, P) + 1] = len;
        at += 12 + len;
    }
    for (int64_t j = 0; j < own; j++)
        t->off[j + 1] += t->off[j];
    t->text = xmalloc((size_t)(t->off[own] ? t->off[own] : 1));
    for (size_t at = 0; at < got;) {
        int64_t g;
        uint32_t len;
        memcpy(&g, recv + at, 8);
        memcpy(&len, recv + at + 8, 4);
        memcpy(t->text + t->off[partition_local(g, P)], recv + at + 12, len);
        at += 12 + len;
    }
    meter_add(mem, id_table_bytes(t));
    free(recv);
    meter_sub(mem, got);
    free(counts);
    free(fill);
}

/* ---- the map ------------------------------------------------------------------------------ */

void idmap_inverse_permutation(int32_t *inv, int64_t n, uint64_t seed, id_side side)
{
    for (int64_t j = 0; j < n; j++)
        inv[j] = (int32_t)j;
    rng64 r = rng64_seed(hash3(seed ^ TAG_PERMUTE, (uint64_t)side, (uint64_t)n));
    for (int64_t k = n - 1; k > 0; k--) {      /* inv[g] = position of global id g for now */
        int64_t j = (int64_t)rng64_below(&r, (uint64_t)k + 1);
        int32_t t = inv[k]; inv[k] = inv[j]; inv[j] = t;
    }
    for (int64_t i = 0; i < n; i++) {          /* inverted in place, cycle by cycle */
        if (inv[i] < 0)
            continue;
        int32_t prev = (int32_t)i, cur = inv[i];
        while (cur != (int32_t)i) {
            int32_t next = inv[cur];
            inv[cur] = ~prev;                  /* marked done: ~x < 0 */
            prev = cur;
            cur = next;
        }
        inv[i] = ~prev;
    }
    for (int64_t i = 0; i < n; i++)
        inv[i] = ~inv[i];
}

int idmap_build(comm *c, const id_dict *d, id_side side, int permute, uint64_t seed, id_map *m)
{
    int P = comm_size(c);
    mem_meter mem = {0, 0};
    memset(m, 0, sizeof *m);
    placed_id *mine = sorted_entries(d);
    meter_add(&mem, id_dict_bytes(d) + sizeof(placed_id) * d->n);
    size_t *from = xmalloc(sizeof(size_t) * (size_t)P), *counts = xmalloc(sizeof(size_t) * (size_t)P);
    size_t recv_bytes = 0;
    char *recv = send_to_directories(c, mine, d->n, counts, &recv_bytes, from, &mem);
    range_ids r;
    number_range(&r, recv, recv_bytes, &mem);
    int64_t first_train = comm_exscan_sum_i64(c, r.n_train);
    int64_t first_test = comm_exscan_sum_i64(c, r.n_test_only);
    m->n = comm_allreduce_sum_i64(c, r.n_train);
    m->n_test_only = comm_allreduce_sum_i64(c, r.n_test_only);
    int big = m->n > INT32_MAX || m->n + m->n_test_only > INT32_MAX;
    if (!big) {
        int32_t *perm = permute ? permutation_slice(c, m->n, first_train, r.n_train, seed, side, &mem)
                                : NULL;
        finish_numbers(&r, m->n, first_train, first_test, perm);
        free(perm);
        m->of_local = xmalloc(sizeof(int64_t) * (d->n ? d->n : 1));
        meter_add(&mem, sizeof(int64_t) * d->n);
        answer(c, &r, from, recv, mine, d->n, m->of_local);
        send_to_owners(c, &r, m, &mem);
    }
    free(r.v);
    free(r.number);
    free(recv);
    free(mine);
    free(from);
    free(counts);
    m->peak_bytes = mem.peak;
    if (big) {
        m->n = m->n_test_only = 0;
        return -1;
    }
    return 0;
}

void id_table_free(id_table *t)
{
    free(t->off);
    free(t->text);
    memset(t, 0, sizeof *t);
}

size_t id_table_bytes(const id_table *t)
{
    return t->off ? sizeof(int64_t) * (size_t)(t->n + 1) + (size_t)t->off[t->n] : 0;
}

void idmap_free(id_map *m)
{
    free(m->of_local);
    id_table_free(&m->owned);
    memset(m, 0, sizeof *m);
}
