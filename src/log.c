/* src/log.c — the progress line (stderr), the JSON-lines metrics file and the final
 * metrics table (stdout); rank 0 only. See log.h. */
#include "src/log.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"

struct run_log {
    int rank, nranks, quiet;
    FILE *metrics;              /* NULL: no --metrics-out (or rank != 0) */
    const char *path;
    int write_errno;            /* first write error (0: none) */
};

/* ---------------------------------------------------------------------------------- */
/* human units                                                                          */

/* 1.23M style: 3 significant digits and a unit prefix. */
static void human_rate(char *buf, size_t n, double r)
{
    static const char units[] = {'k', 'M', 'G', 'T'};
    if (!isfinite(r) || r < 0) {
        snprintf(buf, n, "?");
        return;
    }
    if (r < 999.5) {
        snprintf(buf, n, "%.0f", r);
        return;
    }
    int u = 0;
    r /= 1e3;
    while (r >= 999.995 && u < 3) {
        r /= 1e3;
        u++;
    }
    snprintf(buf, n, "%.2f%c", r, units[u]);
}

/* "8 s", "3 min 12 s", "1 h 05 min". */
static void human_duration(char *buf, size_t n, double s)
{
    if (!isfinite(s) || s < 0) {
        snprintf(buf, n, "?");
        return;
    }
    long long t = s > 1e12 ? (long long)1e12 : llround(s);
    if (t < 60)
        snprintf(buf, n, "%lld s", t);
    else if (t < 3600)
        snprintf(buf, n, "%lld min %lld s", t / 60, t % 60);
    else
        snprintf(buf, n, "%lld h %02lld min", t / 3600, t % 3600 / 60);
}

/* ---------------------------------------------------------------------------------- */
/* JSON                                                                                 */

static void note_error(run_log *log, int rc)
{
    if (rc < 0 && !log->write_errno)
        log->write_errno = errno ? errno : EIO;
}

/* Writes `,"key":value` (the first call of an object passes first = 1: no comma). */
static void json_number(run_log *log, int first, const char *key, double v)
{
    if (isfinite(v))
        note_error(log, fprintf(log->metrics, "%s\"%s\":%.12g", first ? "" : ",", key, v));
    else
        note_error(log, fprintf(log->metrics, "%s\"%s\":null", first ? "" : ",", key));
}

static void json_integer(run_log *log, const char *key, int64_t v)
{
    note_error(log, fprintf(log->metrics, ",\"%s\":%" PRId64, key, v));
}

/* ,"map":..,"ndcg@K":..,"precision@K":..,"recall@K":..,"users":N */
static void json_metrics(run_log *log, const eval_result *r)
{
    char key[48];
    json_number(log, 0, "map", r->map);
    snprintf(key, sizeof key, "ndcg@%d", r->top_k);
    json_number(log, 0, key, r->ndcg);
    snprintf(key, sizeof key, "precision@%d", r->top_k);
    json_number(log, 0, key, r->precision);
    snprintf(key, sizeof key, "recall@%d", r->top_k);
    json_number(log, 0, key, r->recall);
    json_integer(log, "users", r->users);
}

/* Ends the object and the line, and flushes so the file can be tailed. */
static void json_end(run_log *log)
{
    note_error(log, fputs("}\n", log->metrics) == EOF ? -1 : 0);
    note_error(log, fflush(log->metrics) == EOF ? -1 : 0);
}

static void json_epoch(run_log *log, const epoch_record *rec)
{
    errno = 0;
    note_error(log, fputc('{', log->metrics) == EOF ? -1 : 0);
    json_number(log, 1, "epoch", rec->epoch);
    json_integer(log, "epochs", rec->epochs);
    json_number(log, 0, "loss_item", rec->loss_item);
    json_number(log, 0, "loss_user", rec->loss_user);
    json_number(log, 0, "seconds", rec->seconds);
    json_number(log, 0, "compute_seconds", rec->compute_seconds);
    json_number(log, 0, "comm_seconds", rec->comm_seconds);
    json_integer(log, "comm_bytes", (int64_t)(rec->allreduce_bytes + rec->allgather_bytes));
    json_integer(log, "allreduce_bytes", (int64_t)rec->allreduce_bytes);
    json_integer(log, "allgather_bytes", (int64_t)rec->allgather_bytes);
    json_number(log, 0, "ratings_per_second", rec->ratings_per_second);
    json_number(log, 0, "eta_seconds", rec->eta_seconds);
    json_integer(log, "ranks", log->nranks);
    if (rec->has_metrics)
        json_metrics(log, &rec->metrics);
    json_end(log);
}

/* ---------------------------------------------------------------------------------- */
/* the log                                                                              */

run_log *run_log_open(int rank, const char *metrics_path, int quiet, int nranks)
{
    run_log *log = xcalloc(1, sizeof *log);
    log->rank = rank;
    log->nranks = nranks;
    log->quiet = quiet;
    log->path = metrics_path;
    if (rank != 0 || !metrics_path)
        return log;
    log->metrics = fopen(metrics_path, "w");
    if (!log->metrics) {
        fprintf(stderr, "bivae-dist: error: cannot open --metrics-out %s: %s\n", metrics_path,
                strerror(errno));
        free(log);
        return NULL;
    }
    return log;
}

static void print_progress(const epoch_record *rec)
{
    char rate[32], eta[32];
    int width = 1;
    for (int e = rec->epochs; e >= 10; e /= 10)
        width++;
    human_rate(rate, sizeof rate, rec->ratings_per_second);
    human_duration(eta, sizeof eta, rec->eta_seconds);
    fprintf(stderr, "epoch %*d/%d  loss_item %.4f  loss_user %.4f  %.3f s (comm %.3f s)  "
            "%s ratings/s  ETA %s", width, rec->epoch, rec->epochs, rec->loss_item,
            rec->loss_user, rec->seconds, rec->comm_seconds, rate, eta);
    if (rec->has_metrics)
        fprintf(stderr, "  ndcg@%d %.4f  recall@%d %.4f", rec->metrics.top_k,
                rec->metrics.ndcg, rec->metrics.top_k, rec->metrics.recall);
    fputc('\n', stderr);
}

void run_log_epoch(run_log *log, const epoch_record *rec)
{
    if (!log || log->rank != 0)
        return;
    if (!log->quiet)
        print_progress(rec);
    if (log->metrics && !log->write_errno)
        json_epoch(log, rec);
}

void run_log_note(run_log *log, const char *fmt, ...)
{
    if (!log || log->rank != 0 || log->quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("bivae-dist: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void print_table(const eval_result *r)
{
    char at[16];
    snprintf(at, sizeof at, "@%d", r->top_k);
    printf("%-13s %s\n", "metric", at);
    printf("%-13s %.4f\n", "MAP", r->map);
    printf("%-13s %.4f\n", "NDCG", r->ndcg);
    printf("%-13s %.4f\n", "Precision", r->precision);
    printf("%-13s %.4f\n", "Recall", r->recall);
    printf("%-13s %" PRId64 "\n", "users", r->users);
    fflush(stdout);
}

/* r may be NULL (no test data): no table, and the final object has no metrics. */
void run_log_final(run_log *log, const eval_result *r, double train_seconds)
{
    if (!log || log->rank != 0)
        return;
    if (r)
        print_table(r);
    if (!log->metrics || log->write_errno)
        return;
    errno = 0;
    note_error(log, fputs("{\"final\":true", log->metrics) == EOF ? -1 : 0);
    if (r) {
        json_metrics(log, r);
        json_integer(log, "top_k", r->top_k);
    }
    json_number(log, 0, "train_seconds", train_seconds);
    json_end(log);
}

int run_log_close(run_log *log)
{
    if (!log)
        return 0;
    if (log->metrics) {
        errno = 0;
        if (fclose(log->metrics) == EOF && !log->write_errno)
            log->write_errno = errno ? errno : EIO;
    }
    int rc = 0;
    if (log->write_errno) {
        fprintf(stderr, "bivae-dist: error: cannot write --metrics-out %s: %s\n", log->path,
                strerror(log->write_errno));
        rc = BIVAE_EXIT_RUNTIME;
    }
    free(log);
    return rc;
}
