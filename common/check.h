/* common/check.h — error reporting and checked allocation shared by every folder.
 *
 * Exit codes (cli.md): 0 success, 2 bad usage or bad input, 3 runtime failure.
 * Every failure prints one line on stderr, "bivae-dist: error: <message>", where the
 * message names the file:line of the input or the flag for user errors, and the source
 * file:line plus the library's message for failed library calls. */
#ifndef BIVAE_COMMON_CHECK_H
#define BIVAE_COMMON_CHECK_H

#include <stddef.h>
#include <stdnoreturn.h>

enum { BIVAE_EXIT_OK = 0, BIVAE_EXIT_USAGE = 2, BIVAE_EXIT_RUNTIME = 3 };

/* Called by bivae_fail before exiting; the trainer installs one that aborts the whole
 * MPI job when more than one rank runs (so a failing rank never leaves others hanging). */
typedef void (*bivae_fail_hook)(int exit_code);
void bivae_set_fail_hook(bivae_fail_hook hook);

/* Prints "bivae-dist: error: <fmt...>" and exits with `code` (through the hook). */
noreturn void bivae_fail(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Internal failure with source location: "bivae-dist: error: <file>:<line>: <msg>". */
noreturn void bivae_fail_at(int code, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define FAIL_RUNTIME(...) bivae_fail_at(BIVAE_EXIT_RUNTIME, __FILE__, __LINE__, __VA_ARGS__)

/* Checked allocation: out of memory is a runtime failure naming the size and call site. */
void *bivae_malloc(size_t bytes, const char *file, int line);
void *bivae_calloc(size_t n, size_t size, const char *file, int line);
void *bivae_realloc(void *p, size_t bytes, const char *file, int line);
char *bivae_strdup(const char *s, const char *file, int line);
#define xmalloc(bytes) bivae_malloc((bytes), __FILE__, __LINE__)
#define xcalloc(n, size) bivae_calloc((n), (size), __FILE__, __LINE__)
#define xrealloc(p, bytes) bivae_realloc((p), (bytes), __FILE__, __LINE__)
#define xstrdup(s) bivae_strdup((s), __FILE__, __LINE__)

/* Prints to stderr only on the process whose rank was set to 0 (default: every process). */
void bivae_set_log_rank(int rank);
int bivae_log_rank(void);

#endif
