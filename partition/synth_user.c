/* partition/synth_user.c — one synthetic user's ratings.
 *
 * Items are drawn without replacement from the user's mixture q (synth_model.h): first
 * the user's forced items, then draws from q rejecting repeats (cheap while the user
 * takes a small share of its mixture), then, for heavy users or when repeats pile up,
 * the exact method for the rest: key = Exp(1) / q[j] for every untaken item, keep the
 * smallest keys (Efraimidis-Spirakis: the same distribution as successive draws). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "partition/hash.h"
#include "partition/synth_model.h"

#define TAG_USER 0x75736572ULL

typedef struct synth_key { double key; int32_t item; } synth_key;

void synth_work_init(synth_work *w, const synth_model *m)
{
    size_t I = (size_t)m->shape.I, T = (size_t)m->T;
    w->taken = xcalloc(I, 1);
    w->chosen = xmalloc(sizeof(int32_t) * I);
    w->keys = xmalloc(sizeof(synth_key) * I);
    w->preferred = xcalloc(T, 1);
    w->pref = xmalloc(sizeof(int32_t) * T);
}

void synth_work_free(synth_work *w)
{
    free(w->taken);
    free(w->chosen);
    free(w->keys);
    free(w->preferred);
    free(w->pref);
    memset(w, 0, sizeof *w);
}

/* 1..3 preferred topics, more for heavy users (so they do not exhaust them); distinct. */
static int choose_topics(const synth_model *m, synth_work *w, rng64 *r, int64_t count)
{
    double per_topic = (double)m->shape.I / m->T;
    int64_t k = 1 + (int64_t)rng64_below(r, 3);
    int64_t need = (int64_t)ceil((double)count / (SYNTH_TOPIC_FILL * per_topic));
    k = k > need ? k : need;
    k = k < m->T ? k : m->T;
    for (int t = 0; t < m->T; t++)
        w->pref[t] = t;
    for (int64_t a = 0; a < k; a++) {                  /* partial Fisher-Yates */
        int64_t b = a + (int64_t)rng64_below(r, (uint64_t)(m->T - a));
        int32_t t = w->pref[a]; w->pref[a] = w->pref[b]; w->pref[b] = t;
        w->preferred[w->pref[a]] = 1;
    }
    return (int)k;
}

static int64_t take(synth_work *w, int64_t n, int32_t item)
{
    if (w->taken[item])
        return n;
    w->taken[item] = 1;
    w->chosen[n] = item;
    return n + 1;
}

static int64_t take_forced(const synth_model *m, synth_work *w, int64_t v)
{
    int64_t n = 0, I = m->shape.I;
    for (int64_t k = m->forced_first[v]; k < m->forced_first[v + 1]; k++)
        n = take(w, n, (int32_t)((k * m->stride) % I));
    return n;
}

static int32_t draw(const synth_model *m, const synth_work *w, int k, rng64 *r)
{
    if (rng64_unit(r) >= SYNTH_RHO)
        return alias_table_draw(&m->global, r);
    int32_t t = w->pref[rng64_below(r, (uint64_t)k)];
    return m->topic_items[m->topic_first[t] + alias_table_draw(&m->in_topic[t], r)];
}

static int64_t draw_rejecting(const synth_model *m, synth_work *w, int k, rng64 *r,
                              int64_t n, int64_t count)
{
    if (8 * count >= m->shape.I)
        return n;                                      /* heavy user: exact method only */
    int64_t budget = 4 * (count - n) + 64;
    for (int64_t a = 0; a < budget && n < count; a++)
        n = take(w, n, draw(m, w, k, r));
    return n;
}

/* q[j] of the user's mixture (up to a common factor). */
static double mixture_weight(const synth_model *m, const synth_work *w, int k, int32_t j)
{
    int t = m->topic[j];
    double q = (1.0 - SYNTH_RHO) * m->pop[j] / m->total_mass;
    if (w->preferred[t])
        q += SYNTH_RHO * m->pop[j] / ((double)k * m->topic_mass[t]);
    return q;
}

/* Rearranges keys[0..n) so that its `want` smallest keys come first (quickselect). */
static void select_smallest(synth_key *a, int64_t n, int64_t want)
{
    int64_t lo = 0, hi = n - 1;
    while (lo < hi) {
        double p = a[lo + (hi - lo) / 2].key;
        int64_t i = lo, j = hi;
        while (i <= j) {
            while (a[i].key < p) i++;
            while (a[j].key > p) j--;
            if (i <= j) {
                synth_key t = a[i]; a[i] = a[j]; a[j] = t;
                i++;
                j--;
            }
        }
        if (want - 1 <= j)
            hi = j;
        else if (want - 1 >= i)
            lo = i;
        else
            return;
    }
}

static int64_t draw_exact(const synth_model *m, synth_work *w, int k, rng64 *r, int64_t n,
                          int64_t count)
{
    int64_t nk = 0;
    for (int32_t j = 0; j < m->shape.I; j++) {
        if (w->taken[j])
            continue;
        double u = ((double)(rng64_next(r) >> 11) + 1.0) * 0x1.0p-53;   /* (0, 1] */
        w->keys[nk].key = -log(u) / mixture_weight(m, w, k, j);
        w->keys[nk++].item = j;
    }
    select_smallest(w->keys, nk, count - n);
    for (int64_t a = 0; a < count - n; a++)
        w->chosen[n + a] = w->keys[a].item;
    for (int64_t a = n; a < count; a++)
        w->taken[w->chosen[a]] = 1;
    return count;
}

/* 1..5: higher for items of the user's preferred topics. */
static float draw_rating(int preferred, rng64 *r)
{
    static const double cdf_pref[5] = {0.02, 0.06, 0.24, 0.64, 1.0};
    static const double cdf_other[5] = {0.12, 0.36, 0.71, 0.92, 1.0};
    const double *cdf = preferred ? cdf_pref : cdf_other;
    double u = rng64_unit(r);
    int s = 0;
    while (s < 4 && u >= cdf[s])
        s++;
    return (float)(s + 1);
}

int synth_user_topics(const synth_model *m, synth_work *w, int64_t u)
{
    rng64 r = rng64_seed(hash2(m->seed ^ TAG_USER, (uint64_t)u));
    return choose_topics(m, w, &r, m->count[u - 1]);
}

void synth_user(const synth_model *m, synth_work *w, int64_t u, rating_fn fn, void *ctx)
{
    int64_t v = u - 1, count = m->count[v];
    rng64 r = rng64_seed(hash2(m->seed ^ TAG_USER, (uint64_t)u));
    int k = choose_topics(m, w, &r, count);
    int64_t n = take_forced(m, w, v);
    n = draw_rejecting(m, w, k, &r, n, count);
    if (n < count)
        n = draw_exact(m, w, k, &r, n, count);
    raw_id user = raw_id_int(u);
    for (int64_t a = 0; a < n; a++) {
        int32_t j = w->chosen[a];
        raw_id item = raw_id_int((int64_t)j + 1);
        fn(ctx, &user, &item, draw_rating(w->preferred[m->topic[j]], &r));
        w->taken[j] = 0;
    }
    for (int a = 0; a < k; a++)
        w->preferred[w->pref[a]] = 0;
}
