/* tests/cli/capture.h — helpers of the cli_ / log_ tests: capture what a call writes to
 * a file descriptor (stdout / stderr), and build an argv from a line. */
#ifndef BIVAE_TESTS_CLI_CAPTURE_H
#define BIVAE_TESTS_CLI_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct capture {
    int fd, saved;
    char path[64];
} capture;

/* From now on, what is written to fd goes into a temporary file. */
static inline void capture_begin(capture *c, int fd)
{
    fflush(stdout);
    fflush(stderr);
    snprintf(c->path, sizeof c->path, "/tmp/bivae_cli_capture_XXXXXX");
    int tmp = mkstemp(c->path);
    if (tmp < 0) {
        perror("mkstemp");
        abort();
    }
    c->fd = fd;
    c->saved = dup(fd);
    dup2(tmp, fd);
    close(tmp);
}

/* Reads a whole file into a malloc'd string (NULL if it cannot be opened). */
static inline char *read_file_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len - 1 == 0)
            buf = realloc(buf, cap *= 2);
    }
    buf[len] = '\0';
    fclose(f);
    return buf;
}

/* Restores fd and returns what was written (malloc'd, NUL-terminated). */
static inline char *capture_end(capture *c)
{
    fflush(stdout);
    fflush(stderr);
    dup2(c->saved, c->fd);
    close(c->saved);
    char *text = read_file_text(c->path);
    unlink(c->path);
    return text;
}

/* Number of lines (newline-terminated) in s. */
static inline int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Splits line at spaces into argv (argv[0] = "bivae-dist"); the strings live in static
 * buffers that are reused after 4 more calls. Returns argc. */
#define SPLIT_MAX 64
static inline int split_args(const char *line, char **argv)
{
    static char bufs[4][2048];
    static int next;
    static char prog[] = "bivae-dist";
    char *buf = bufs[next++ % 4];
    int argc = 0;
    argv[argc++] = prog;
    snprintf(buf, sizeof bufs[0], "%s", line);
    for (char *tok = strtok(buf, " "); tok && argc < SPLIT_MAX - 1; tok = strtok(NULL, " "))
        argv[argc++] = tok;
    argv[argc] = NULL;
    return argc;
}

#endif
