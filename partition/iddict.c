/* partition/iddict.c — see iddict.h */
#include "partition/iddict.h"

#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "partition/hash.h"

void id_dict_init(id_dict *d)
{
    memset(d, 0, sizeof *d);
    d->cap = 1024;
    d->val = xmalloc(sizeof(int64_t) * d->cap);
    d->len = xmalloc(sizeof(uint32_t) * d->cap);
    d->flags = xmalloc(d->cap);
    d->mask = 2047;
    d->slot = xcalloc(d->mask + 1, sizeof(uint32_t));
}

void id_dict_free(id_dict *d)
{
    free(d->val);
    free(d->len);
    free(d->flags);
    free(d->text);
    free(d->slot);
    memset(d, 0, sizeof *d);
}

static uint64_t id_hash(const raw_id *id)
{
    return id->is_int ? hash_mix64((uint64_t)id->value) : raw_id_hash_bytes(id->p, id->n);
}

raw_id id_dict_get(const id_dict *d, uint32_t k)
{
    if (d->flags[k] & ID_DICT_INT)
        return raw_id_int(d->val[k]);
    raw_id r = {0, 0, d->text + d->val[k], d->len[k]};
    return r;
}

static int same(const id_dict *d, uint32_t k, const raw_id *id)
{
    if (id->is_int)
        return (d->flags[k] & ID_DICT_INT) && d->val[k] == id->value;
    return !(d->flags[k] & ID_DICT_INT) && d->len[k] == id->n &&
           memcmp(d->text + d->val[k], id->p, id->n) == 0;
}

/* The slot holding id, or the empty slot where it belongs (linear probing). */
static uint64_t find_slot(const id_dict *d, const raw_id *id, uint64_t h)
{
    uint64_t s = h & d->mask;
    while (d->slot[s] && !same(d, d->slot[s] - 1, id))
        s = (s + 1) & d->mask;
    return s;
}

static void grow_slots(id_dict *d)
{
    free(d->slot);
    d->mask = 2 * (d->mask + 1) - 1;
    d->slot = xcalloc(d->mask + 1, sizeof(uint32_t));
    for (uint32_t k = 0; k < d->n; k++) {
        raw_id id = id_dict_get(d, k);
        d->slot[find_slot(d, &id, id_hash(&id))] = k + 1;
    }
}

static void grow_entries(id_dict *d)
{
    if (d->cap > UINT32_MAX / 2)
        FAIL_RUNTIME("more than %u distinct ids on one rank", UINT32_MAX - 1);
    d->cap *= 2;
    d->val = xrealloc(d->val, sizeof(int64_t) * d->cap);
    d->len = xrealloc(d->len, sizeof(uint32_t) * d->cap);
    d->flags = xrealloc(d->flags, d->cap);
}

static void append(id_dict *d, const raw_id *id)
{
    uint32_t k = d->n;
    if (k == d->cap)
        grow_entries(d);
    d->flags[k] = id->is_int ? ID_DICT_INT : 0;
    d->len[k] = id->is_int ? 0 : id->n;
    if (id->is_int) {
        d->val[k] = id->value;
    } else {
        if (d->text_len + id->n > d->text_cap) {
            d->text_cap = d->text_cap ? 2 * d->text_cap : 1 << 16;
            while (d->text_cap < d->text_len + id->n)
                d->text_cap *= 2;
            d->text = xrealloc(d->text, d->text_cap);
        }
        memcpy(d->text + d->text_len, id->p, id->n);
        d->val[k] = (int64_t)d->text_len;
        d->text_len += id->n;
    }
    d->n++;
}

uint32_t id_dict_intern(id_dict *d, const raw_id *id)
{
    if (d->last && same(d, d->last - 1, id))
        return d->last - 1;
    uint64_t s = find_slot(d, id, id_hash(id));
    uint32_t k = d->slot[s] - 1;
    if (!d->slot[s]) {
        append(d, id);
        k = d->n - 1;
        d->slot[s] = d->n;
        if (2 * (uint64_t)d->n > d->mask + 1)
            grow_slots(d);
    }
    d->last = k + 1;
    return k;
}

size_t id_dict_bytes(const id_dict *d)
{
    return (size_t)d->cap * (sizeof(int64_t) + sizeof(uint32_t) + 1) + d->text_cap +
           (size_t)(d->mask + 1) * sizeof(uint32_t);
}
