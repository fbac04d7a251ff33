/* partition/fields.h — splitting a line into fields and parsing ratings, without copying
 * (fields point into the line) and without fixed-size buffers. */
#ifndef BIVAE_PARTITION_FIELDS_H
#define BIVAE_PARTITION_FIELDS_H

#include <stddef.h>
#include <stdint.h>

typedef struct field {
    char *p;        /* first byte, inside the line */
    size_t n;       /* length (blanks around the field and CSV quotes removed) */
} field;

enum { PARSE_OK = 0, PARSE_BAD = 1, PARSE_RANGE = 2 };

/* How fields are separated: a string of 1..15 bytes ("\t", ",", "::", "; "), or, with
 * blanks set, runs of spaces and tabs (leading and trailing blanks separate nothing). */
typedef struct field_sep {
    char s[16];
    size_t n;
    int blanks;
} field_sep;

/* --sep's value: "tab", "comma", "semicolon", "pipe", "space" or "whitespace" (runs of
 * blanks), "\t" for a tab, or the string itself (1..15 bytes, e.g. "::", ";", "|").
 * 0, or -1 when empty, too long or containing a newline. */
int field_sep_parse(const char *spec, field_sep *out);
/* The separator string s itself (1..15 bytes). */
field_sep field_sep_of(const char *s);

/* Splits line[len] at every separator; stores the first `max` fields in out and returns
 * the number of fields. Blanks around a field are trimmed. A field that starts with '"'
 * is quoted (CSV, RFC 4180): it runs to the closing quote, separators inside are data,
 * "" stands for one quote (unescaped in place: the line is writable). */
int field_split(char *line, size_t len, const field_sep *sep, field *out, int max);

/* Decimal or scientific number: PARSE_OK, PARSE_BAD (not a number) or PARSE_RANGE (not
 * finite, e.g. nan, inf, 1e999). May write a NUL just after the field. */
int field_parse_rating(field *f, float *out);

/* 1 when the field has the shape of a number (sign, digits, '.', exponent). */
int field_is_numeric(const field *f);

/* The field for a message: printable as is, other bytes as \xNN (partition/rawid.h),
 * shortened with "..." when long. */
void field_excerpt(const field *f, char *out, size_t size);

/* The field as a raw id (partition/rawid.h): 0, or -1 with the reason in msg, naming the id
 * "<what> id" ("id" when what is NULL): empty, too long, or with a control character. */
struct raw_id;
int field_parse_id(const field *f, const char *what, struct raw_id *out, char *msg,
                   size_t size);

#endif
