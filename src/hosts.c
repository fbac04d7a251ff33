/* src/hosts.c — see hosts.h. */
#include "src/hosts.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/check.h"

typedef struct rank_place {
    char host[HOSTS_NAME_LEN];  /* hostname, cut to fit */
    int32_t local_rank, local_size;
} rank_place;

static void this_place(const comm *c, rank_place *p)
{
    memset(p, 0, sizeof *p);
    if (gethostname(p->host, sizeof p->host - 1) != 0)
        snprintf(p->host, sizeof p->host, "?(gethostname: %s)", strerror(errno));
    p->local_rank = comm_local_rank(c);
    p->local_size = comm_local_size(c);
}

/* appends printf-style to buf[len] at *at (cut when full) */
static void append(char *buf, size_t len, size_t *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t len, size_t *at, const char *fmt, ...)
{
    if (*at >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *at, len - *at, fmt, ap);
    va_end(ap);
    *at = n < 0 ? len : (*at + (size_t)n < len ? *at + (size_t)n : len);
}

/* "NAME: ranks 0,1 (local 0,1)" of the node whose local rank 0 is `leader` */
static void describe_host(const rank_place *all, int P, int leader, char *buf, size_t len,
                          size_t *at)
{
    append(buf, len, at, "%s: ranks", all[leader].host);
    for (int r = 0, n = 0; r < P; r++)
        if (!strcmp(all[r].host, all[leader].host))
            append(buf, len, at, "%s%d", n++ ? "," : " ", r);
    append(buf, len, at, " (local");
    for (int r = 0, n = 0; r < P; r++)
        if (!strcmp(all[r].host, all[leader].host))
            append(buf, len, at, "%s%d", n++ ? "," : " ", all[r].local_rank);
    append(buf, len, at, ")");
}

enum { HOSTS_LISTED = 16, HOSTS_SUMMARY_LEN = 4096 };

void hosts_gather(comm *c, run_hosts *h)
{
    rank_place mine;
    size_t n = 0;
    this_place(c, &mine);
    rank_place *all = comm_allgatherv_bytes(c, &mine, 1, sizeof mine, &n);   /* [P] */
    int P = (int)n;
    memset(h, 0, sizeof *h);
    h->ranks_per_host = xcalloc((size_t)P, sizeof *h->ranks_per_host);
    h->summary = xcalloc(HOSTS_SUMMARY_LEN, 1);
    size_t at = 0;
    for (int r = 0; r < P; r++) {
        if (all[r].local_rank != 0)
            continue;
        if (h->n_hosts < HOSTS_LISTED)
            append(h->summary, HOSTS_SUMMARY_LEN, &at, "%s", h->n_hosts ? "; " : "");
        if (h->n_hosts < HOSTS_LISTED)
            describe_host(all, P, r, h->summary, HOSTS_SUMMARY_LEN, &at);
        h->ranks_per_host[h->n_hosts++] = all[r].local_size;
    }
    if (h->n_hosts > HOSTS_LISTED)
        append(h->summary, HOSTS_SUMMARY_LEN, &at, "; and %d more", h->n_hosts - HOSTS_LISTED);
    h->uniform = 1;
    for (int i = 1; i < h->n_hosts; i++)
        h->uniform &= h->ranks_per_host[i] == h->ranks_per_host[0];
    free(all);
}

void hosts_free(run_hosts *h)
{
    free(h->ranks_per_host);
    free(h->summary);
    memset(h, 0, sizeof *h);
}

void hosts_describe(const run_hosts *h, int n_ranks, char *buf, size_t len)
{
    size_t at = 0;
    append(buf, len, &at, "%d on %d host%s", n_ranks, h->n_hosts, h->n_hosts == 1 ? "" : "s");
    if (h->n_hosts > 1 && h->uniform)
        append(buf, len, &at, " (%d per host)", h->ranks_per_host[0]);
    for (int i = 0; h->n_hosts > 1 && !h->uniform && i < h->n_hosts && i < HOSTS_LISTED; i++)
        append(buf, len, &at, "%s%d", i ? ", " : " (", h->ranks_per_host[i]);
    if (h->n_hosts > 1 && !h->uniform)
        append(buf, len, &at, "%s per host)", h->n_hosts > HOSTS_LISTED ? ", ..." : "");
}

void hosts_name_partial_failure(comm *c, int failed, const char *what, char *msg,
                                size_t len)
{
    int64_t n_failed = comm_allreduce_sum_i64(c, failed != 0);
    if (!failed || n_failed == comm_size(c))
        return;
    rank_place p;
    this_place(c, &p);
    size_t at = strlen(msg);
    append(msg, len, &at, " on host %s (rank %d; %lld of %d ranks read it): every host needs %s "
           "at the same path", p.host, comm_rank(c), (long long)(comm_size(c) - n_failed),
           comm_size(c), what);
}

int hosts_gpu_index(const comm *c, int n_gpus)
{
    return n_gpus > 0 ? comm_local_rank(c) % n_gpus : -1;
}

int hosts_test_report_gpu_index(const comm *c, char *err, size_t len)
{
    const char *v = getenv("BIVAE_TEST_REPORT_GPU_INDEX");
    if (!v || !*v)
        return 0;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end || n < 1 || n > 1024) {
        snprintf(err, len, "BIVAE_TEST_REPORT_GPU_INDEX=%s: want a GPU count (1 to 1024)", v);
        return -1;
    }
    rank_place p;
    this_place(c, &p);
    fprintf(stderr, "bivae-dist: test hook: rank %d host %s local rank %d of %d: GPU index %d "
            "of %ld\n", comm_rank(c), p.host, p.local_rank, p.local_size,
            hosts_gpu_index(c, (int)n), n);
    fflush(stderr);
    return 1;
}
