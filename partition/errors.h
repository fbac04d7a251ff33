/* partition/errors.h — input errors found by one or more ranks, reported once.
 *
 * partition/ never exits on bad input: every rank reaches the same agreement call, the
 * error that comes first in the input (smallest line, then smallest rank) is printed by
 * the rank that found it, and every rank returns BIVAE_EXIT_USAGE. */
#ifndef BIVAE_PARTITION_ERRORS_H
#define BIVAE_PARTITION_ERRORS_H

#include <stdint.h>

#include "comm/comm.h"

/* Prints "bivae-dist: error: <message>" as one line on stderr; does not exit. */
void part_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Collective. bad: this rank found an error; line: its 1-based line in the whole file
 * (0: not tied to a line); file: named before the line (NULL when line is 0); msg: the
 * reason. The first error is printed once ("FILE:LINE: msg", or "msg" for line 0).
 * Returns 1 on every rank when any rank had an error, else 0. */
int part_agree_error(comm *c, int bad, int64_t line, const char *file, const char *msg);

/* The same with an exit status per rank (0: no error): returns the worst status over the
 * ranks (BIVAE_EXIT_RUNTIME before BIVAE_EXIT_USAGE), 0 when no rank had an error. */
int part_agree_status(comm *c, int status, int64_t line, const char *file, const char *msg);

#endif
