/* partition/rawid.c — see rawid.h */
#include "partition/rawid.h"

#include <stdio.h>
#include <string.h>

#include "partition/hash.h"

/* The canonical decimal form of an int64: 1 with the value, else 0. */
static int canonical_int(const char *p, size_t n, int64_t *v)
{
    int neg = n > 0 && p[0] == '-';
    const char *d = p + neg;
    size_t nd = n - (size_t)neg;
    if (nd == 0 || nd > 19 || (d[0] == '0' && (nd > 1 || neg)))
        return 0;
    uint64_t x = 0;
    for (size_t k = 0; k < nd; k++) {
        if (d[k] < '0' || d[k] > '9')
            return 0;
        x = x * 10 + (uint64_t)(d[k] - '0');          /* 19 digits cannot wrap a uint64 */
    }
    if (x > (uint64_t)INT64_MAX + (uint64_t)neg)
        return 0;
    *v = neg ? (int64_t)(0 - x) : (int64_t)x;
    return 1;
}

raw_id_status raw_id_parse(const char *p, size_t n, raw_id *out, unsigned char *bad)
{
    if (n == 0)
        return RAW_ID_EMPTY;
    if (n > RAW_ID_MAX_BYTES)
        return RAW_ID_TOO_LONG;
    for (size_t k = 0; k < n; k++) {
        unsigned char ch = (unsigned char)p[k];
        if (ch < 0x20 || ch == 0x7f) {
            *bad = ch;
            return RAW_ID_CONTROL;
        }
    }
    int64_t v;
    if (canonical_int(p, n, &v)) {
        *out = raw_id_int(v);
        return RAW_ID_OK;
    }
    out->is_int = 0;
    out->value = 0;
    out->p = p;
    out->n = (uint32_t)n;
    return RAW_ID_OK;
}

int raw_id_cmp(const raw_id *a, const raw_id *b)
{
    if (a->is_int != b->is_int)
        return a->is_int ? -1 : 1;
    if (a->is_int)
        return (a->value > b->value) - (a->value < b->value);
    uint32_t m = a->n < b->n ? a->n : b->n;
    int c = memcmp(a->p, b->p, m);
    if (c)
        return c;
    return (a->n > b->n) - (a->n < b->n);
}

uint64_t raw_id_hash_bytes(const char *p, size_t n)
{
    uint64_t h = hash_mix64(0x7261776964ULL ^ (uint64_t)n);    /* "rawid" */
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        uint64_t w;
        memcpy(&w, p + k, 8);
        h = hash_mix64(h ^ w) + HASH_GOLDEN;
    }
    uint64_t tail = 0;
    memcpy(&tail, p + k, n - k);
    return hash_mix64(h ^ tail ^ ((uint64_t)(n - k) << 56));
}

uint64_t raw_id_key(const raw_id *id)
{
    return id->is_int ? (uint64_t)id->value : raw_id_hash_bytes(id->p, id->n);
}

const char *raw_id_text(const raw_id *id, char *buf, size_t *n)
{
    if (!id->is_int) {
        *n = id->n;
        return id->p;
    }
    int len = snprintf(buf, RAW_ID_INT_CHARS, "%lld", (long long)id->value);
    *n = (size_t)len;
    return buf;
}

/* Length of the valid UTF-8 sequence at p[0..n) (1..4), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    size_t len = p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
    if (p[0] >= 0xf5 || len == 0 || len > n)
        return 0;
    for (size_t k = 1; k < len; k++)
        if ((p[k] & 0xc0) != 0x80)
            return 0;
    return len;
}

void raw_id_excerpt(const char *p, size_t n, char *out, size_t size)
{
    const unsigned char *s = (const unsigned char *)p;
    size_t w = 0, limit = size > 8 ? size - 8 : 0;    /* room for one \xNN and "..." */
    for (size_t k = 0; k < n; k++) {
        if (w >= limit) {
            memcpy(out + w, "...", 4);
            return;
        }
        size_t u = s[k] >= 0x80 ? utf8_len(s + k, n - k) : 0;
        if (u > 0) {
            memcpy(out + w, s + k, u);
            w += u;
            k += u - 1;
        } else if (s[k] >= 0x20 && s[k] < 0x7f) {
            out[w++] = (char)s[k];
        } else {
            w += (size_t)snprintf(out + w, size - w, "\\x%02x", s[k]);
        }
    }
    out[w] = '\0';
}
