/* common/check.c — see check.h */
#include "common/check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* The whole line in one write(2), so lines of several ranks sharing a terminal or a log
 * never interleave. */
static void write_line(const char *prefix, const char *fmt, va_list ap)
{
    char buf[4096];
    int n = snprintf(buf, sizeof buf, "%s", prefix);
    if (n < 0)
        n = 0;
    int m = vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
    size_t len = strnlen(buf, sizeof buf - 2);
    (void)m;
    buf[len++] = '\n';
    fflush(stderr);
    ssize_t w = write(2, buf, len);
    (void)w;
}

void bivae_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    write_line("bivae-dist: error: ", fmt, ap);
    va_end(ap);
    finish(code);
}

void bivae_fail_at(int code, const char *file, int line, const char *fmt, ...)
{
    char prefix[512];
    snprintf(prefix, sizeof prefix, "bivae-dist: error: %s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    write_line(prefix, fmt, ap);
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
