/* partition/rawid.h — raw ids: the user and item tokens of the input, as they are written.
 *
 * Any non-empty token of at most RAW_ID_MAX_BYTES bytes without control characters is an id
 * (as in Cornac): "42", "A1B2C3", "B00004R9VR", "x@example.org", UTF-8 text. A token that is
 * the canonical decimal form of an int64 ("0", "42", "-7": no '+', no leading zero, not
 * "-0") is an INTEGER id and carries its value; every other token ("007", "+5", "1e3",
 * "B00004R9VR") is a STRING id. Two ids are the same id exactly when their tokens are the
 * same bytes (for integer ids: the same value).
 *
 * Total order (global ids are the ids in this order, then permuted, partition/idmap.h):
 * integer ids by value first, then string ids by their bytes (memcmp order, a prefix before
 * its extensions). A file of integer ids is ordered exactly by value. */
#ifndef BIVAE_PARTITION_RAWID_H
#define BIVAE_PARTITION_RAWID_H

#include <stddef.h>
#include <stdint.h>

#define RAW_ID_MAX_BYTES 1024       /* longest token accepted as an id */
#define RAW_ID_INT_CHARS 21         /* "-9223372036854775808" and its NUL */

typedef struct raw_id {
    int is_int;                     /* 1: an integer id (value); 0: a string id (p, n) */
    int64_t value;                  /* is_int: the integer */
    const char *p;                  /* !is_int: the token's bytes (not NUL-terminated) */
    uint32_t n;                     /* !is_int: its length, 1..RAW_ID_MAX_BYTES */
} raw_id;

typedef enum {
    RAW_ID_OK = 0,
    RAW_ID_EMPTY,                   /* nothing between the separators */
    RAW_ID_TOO_LONG,                /* more than RAW_ID_MAX_BYTES bytes */
    RAW_ID_CONTROL                  /* a control character (byte < 0x20 or 0x7f) */
} raw_id_status;

/* The id of token p[n] (blanks already trimmed). RAW_ID_CONTROL: *bad gets the offending
 * byte. The id points into p. */
raw_id_status raw_id_parse(const char *p, size_t n, raw_id *out, unsigned char *bad);

static inline raw_id raw_id_int(int64_t v)
{
    raw_id r = {1, v, NULL, 0};
    return r;
}

/* <0, 0, >0 in the total order above. */
int raw_id_cmp(const raw_id *a, const raw_id *b);

/* 64-bit key of an id for hashing: the value of an integer id (so the hash split of an
 * integer file is what it always was), a hash of the bytes of a string id. */
uint64_t raw_id_key(const raw_id *id);

/* A hash of bytes (for hash tables of string ids). */
uint64_t raw_id_hash_bytes(const char *p, size_t n);

/* The token's text: the bytes of a string id, or the decimal form of an integer id written
 * into buf[RAW_ID_INT_CHARS]. Returns the pointer and the length in *n. */
const char *raw_id_text(const raw_id *id, char *buf, size_t *n);

/* A token of an input line for a message: printable as is, every other byte (control
 * characters, bytes that are not valid UTF-8) as \xNN, shortened with "..." to out[size]. */
void raw_id_excerpt(const char *p, size_t n, char *out, size_t size);

#endif
