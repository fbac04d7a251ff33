/* partition/synth_model.c — the synthetic model's fixed parts: topics, popularity, alias
 * tables, per-user counts (see synth_model.h). Identical on every rank. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "partition/hash.h"
#include "partition/synth_model.h"

#define TAG_TOPICS 0x746f70696373ULL

static int topic_count(int64_t I)
{
    int64_t T = I / SYNTH_ITEMS_PER_TOPIC;
    return (int)(T < 2 ? 2 : T > SYNTH_MAX_TOPICS ? SYNTH_MAX_TOPICS : T);
}

/* Balanced topics: a seeded shuffle of the items, dealt round-robin. */
static void deal_topics(synth_model *m)
{
    int64_t I = m->shape.I;
    int32_t *perm = xmalloc(sizeof(int32_t) * (size_t)I);
    for (int64_t j = 0; j < I; j++)
        perm[j] = (int32_t)j;
    rng64 r = rng64_seed(m->seed ^ TAG_TOPICS);
    for (int64_t j = I - 1; j > 0; j--) {
        int64_t k = (int64_t)rng64_below(&r, (uint64_t)j + 1);
        int32_t t = perm[j]; perm[j] = perm[k]; perm[k] = t;
    }
    m->topic = xmalloc(sizeof(int32_t) * (size_t)I);
    for (int64_t k = 0; k < I; k++)
        m->topic[perm[k]] = (int32_t)(k % m->T);
    free(perm);
}

/* topic_first/topic_items (items ascending within a topic), masses and alias tables. */
static void index_topics(synth_model *m)
{
    int64_t I = m->shape.I;
    m->topic_first = xcalloc((size_t)m->T + 1, sizeof(int64_t));
    m->topic_items = xmalloc(sizeof(int32_t) * (size_t)I);
    m->topic_mass = xcalloc((size_t)m->T, sizeof(double));
    for (int64_t j = 0; j < I; j++)
        m->topic_first[m->topic[j] + 1]++;
    for (int t = 0; t < m->T; t++)
        m->topic_first[t + 1] += m->topic_first[t];
    int64_t *fill = xmalloc(sizeof(int64_t) * (size_t)m->T);
    memcpy(fill, m->topic_first, sizeof(int64_t) * (size_t)m->T);
    for (int64_t j = 0; j < I; j++) {
        m->topic_items[fill[m->topic[j]]++] = (int32_t)j;
        m->topic_mass[m->topic[j]] += m->pop[j];
    }
    free(fill);
    double *w = xmalloc(sizeof(double) * (size_t)I);
    m->in_topic = xmalloc(sizeof(alias_table) * (size_t)m->T);
    for (int t = 0; t < m->T; t++) {
        int64_t a = m->topic_first[t], n = m->topic_first[t + 1] - a;
        for (int64_t k = 0; k < n; k++)
            w[k] = m->pop[m->topic_items[a + k]];
        alias_table_build(&m->in_topic[t], w, n);
    }
    free(w);
}

static int64_t gcd64(int64_t a, int64_t b)
{
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

void synth_model_init(synth_model *m, const synth_shape *s, uint64_t seed)
{
    memset(m, 0, sizeof *m);
    m->shape = *s;
    m->seed = hash3(seed, (uint64_t)s->U, hash2((uint64_t)s->I, (uint64_t)s->nnz));
    int64_t U = s->U, I = s->I;
    m->count = xmalloc(sizeof(int64_t) * (size_t)U);
    m->forced_first = xmalloc(sizeof(int64_t) * ((size_t)U + 1));
    synth_user_counts(s, m->seed, m->count);
    synth_forced_slots(s, m->count, m->forced_first);
    m->stride = (int64_t)(0.6180339887 * (double)I) | 1;
    while (gcd64(m->stride, I) != 1)
        m->stride++;
    m->T = topic_count(I);
    m->pop = xmalloc(sizeof(double) * (size_t)I);
    for (int64_t j = 0; j < I; j++) {
        m->pop[j] = pow((double)j + 1.0 + SYNTH_POP_OFFSET, -SYNTH_POP_EXPONENT);
        m->total_mass += m->pop[j];
    }
    alias_table_build(&m->global, m->pop, I);
    deal_topics(m);
    index_topics(m);
}

void synth_model_free(synth_model *m)
{
    for (int t = 0; m->in_topic && t < m->T; t++)
        alias_table_free(&m->in_topic[t]);
    alias_table_free(&m->global);
    free(m->in_topic);
    free(m->count);
    free(m->forced_first);
    free(m->topic);
    free(m->pop);
    free(m->topic_first);
    free(m->topic_items);
    free(m->topic_mass);
    memset(m, 0, sizeof *m);
}
