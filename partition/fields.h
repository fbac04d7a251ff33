/* partition/fields.h — splitting a line into fields and parsing ids and ratings, without
 * copying (fields point into the line) and without fixed-size buffers. */
#ifndef BIVAE_PARTITION_FIELDS_H
#define BIVAE_PARTITION_FIELDS_H

#include <stddef.h>
#include <stdint.h>

typedef struct field {
    char *p;        /* first byte, inside the line */
    size_t n;       /* length (blanks around the field trimmed) */
} field;

enum { PARSE_OK = 0, PARSE_BAD = 1, PARSE_RANGE = 2 };

/* Splits line[len] at every occurrence of delim (one or two characters, e.g. "\t", ","
 * or "::"); stores the first `max` fields in out and returns the number of fields. */
int field_split(char *line, size_t len, const char *delim, field *out, int max);

/* Decimal integer with optional sign: PARSE_OK, PARSE_BAD (not an integer) or
 * PARSE_RANGE (outside int64). */
int field_parse_id(const field *f, int64_t *out);

/* Decimal or scientific number: PARSE_OK, PARSE_BAD (not a number) or PARSE_RANGE (not
 * finite, e.g. nan, inf, 1e999). May write a NUL just after the field. */
int field_parse_rating(field *f, float *out);

/* 1 when the field has the shape of a number (sign, digits, '.', exponent). */
int field_is_numeric(const field *f);

/* Writes the field into out[size] for a message, shortened with "..." when long. */
void field_excerpt(const field *f, char *out, size_t size);

#endif
