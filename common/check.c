/* common/check.c — see check.h */
#include "common/check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bivae_fail_hook fail_hook;
static int log_rank;

void bivae_set_fail_hook(bivae_fail_hook hook) { fail_hook = hook; }
void bivae_set_log_rank(int rank) { log_rank = rank; }
int bivae_log_rank(void) { return log_rank; }

static noreturn void finish(int code)
{
    fflush(stdout);
    fflush(stderr);
    if (fail_hook)
        fail_hook(code);
    exit(code);
}

void bivae_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bivae-dist: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    finish(code);
}

void bivae_fail_at(int code, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bivae-dist: error: %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    finish(code);
}

void *bivae_malloc(size_t bytes, const char *file, int line)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p)
        bivae_fail_at(BIVAE_EXIT_RUNTIME, file, line, "out of memory allocating %zu bytes", bytes);
    return p;
}

void *bivae_calloc(size_t n, size_t size, const char *file, int line)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        bivae_fail_at(BIVAE_EXIT_RUNTIME, file, line, "out of memory allocating %zu x %zu bytes",
                      n, size);
    return p;
}

void *bivae_realloc(void *old, size_t bytes, const char *file, int line)
{
    void *p = realloc(old, bytes ? bytes : 1);
    if (!p)
        bivae_fail_at(BIVAE_EXIT_RUNTIME, file, line, "out of memory reallocating %zu bytes", bytes);
    return p;
}

char *bivae_strdup(const char *s, const char *file, int line)
{
    size_t n = strlen(s) + 1;
    char *p = bivae_malloc(n, file, line);
    memcpy(p, s, n);
    return p;
}
