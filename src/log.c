/* src/log.c — the progress line (stderr), the JSON-lines metrics file and the final
 * metrics table (stdout); rank 0 only. See log.h. */
#define _GNU_SOURCE
#include "src/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/check.h"
#include "common/fsutil.h"

struct run_log {
    int rank, nranks, quiet;
    FILE *metrics;              /* NULL: no --metrics-out (or rank != 0) */
    const char *path;
    char run_id[32];            /* written into every line ("": none) */
    int write_errno;            /* first write error (0: none) */
    int reported;               /* run_log_check handed the write error to the caller */
    int regular;                /* a regular file (else a device or pipe: only appended to) */
    int created, started;       /* made by run_log_open_metrics; cut by run_log_start */
    int resuming;               /* keeps lines of a resumed run */
    off_t keep_bytes;           /* run_log_start cuts the file to this length */
    long kept, dropped;         /* epoch lines kept, lines dropped */
    int has_counts;             /* run_log_data_counts was called */
    int n_hosts;                /* run_log_set_hosts (0: not given, no keys written) */
    int *ranks_per_host;        /* [n_hosts] */
    int64_t test_unknown_user, test_unknown_item;
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

/* ,"run":"ID" (the run's id: which run a line belongs to, across resumes) */
static void json_run(run_log *log)
{
    if (log->run_id[0])
        note_error(log, fprintf(log->metrics, ",\"run\":\"%s\"", log->run_id));
}

/* Ends the object and the line, and flushes so the file can be tailed. */
static void json_end(run_log *log)
{
    note_error(log, fputs("}\n", log->metrics) == EOF ? -1 : 0);
    note_error(log, fflush(log->metrics) == EOF ? -1 : 0);
}

/* ,"hosts":H,"ranks_per_host":N (the same on every host) or [N1,N2,..] */
static void json_hosts(run_log *log)
{
    if (log->n_hosts <= 0)
        return;
    json_integer(log, "hosts", log->n_hosts);
    int uniform = 1;
    for (int i = 1; i < log->n_hosts; i++)
        uniform &= log->ranks_per_host[i] == log->ranks_per_host[0];
    if (uniform) {
        json_integer(log, "ranks_per_host", log->ranks_per_host[0]);
        return;
    }
    for (int i = 0; i < log->n_hosts; i++)
        note_error(log, fprintf(log->metrics, "%s%d", i ? "," : ",\"ranks_per_host\":[",
                                log->ranks_per_host[i]));
    note_error(log, fputc(']', log->metrics) == EOF ? -1 : 0);
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
    json_hosts(log);
    if (rec->has_metrics)
        json_metrics(log, &rec->metrics);
    json_run(log);
    json_end(log);
}

/* ---------------------------------------------------------------------------------- */
/* the log                                                                              */

/* ---------------------------------------------------------------------------------- */
/* the metrics file across resumes (log.h)                                              */

/* "--metrics-out PATH: what: why" into err: the user's path is unusable. */
static int path_error(const char *path, const char *what, const char *why, char *err, size_t len)
{
    snprintf(err, len, "--metrics-out %s: %s: %s", path, what, why);
    return BIVAE_EXIT_USAGE;
}

/* The folder (mkdir -p) and the file, opened without changing it. */
static int open_file(run_log *log, const char *path, char *err, size_t len)
{
    char why[1024];
    struct stat st;
    if (fs_mkdir_parent(path, why, sizeof why) != 0)
        return path_error(path, "cannot create its folder", why, err, len);
    int exists = stat(path, &st) == 0;
    if (exists && S_ISDIR(st.st_mode))
        return path_error(path, "cannot open", strerror(EISDIR), err, len);
    log->regular = !exists || S_ISREG(st.st_mode);
    int flags = O_CLOEXEC | O_APPEND | (log->regular ? O_RDWR : O_WRONLY);
    int fd = exists ? open(path, flags) : open(path, flags | O_CREAT | O_EXCL, 0666);
    if (fd < 0)
        return path_error(path, "cannot open", strerror(errno), err, len);
    log->created = !exists;
    log->metrics = fdopen(fd, log->regular ? "a+" : "a");
    if (!log->metrics) {
        int e = errno;
        close(fd);   /* nothing written */
        if (log->created)
            unlink(path);
        return path_error(path, "cannot open", strerror(e), err, len);
    }
    return 0;
}

/* One complete line: 1 an epoch object (*epoch), 2 the final object, 3 blank, 0 none of
 * ours. run[32] gets its "run" ("" when it has none). */
static int parse_line(const char *line, long *epoch, char run[32])
{
    const char *r = strstr(line, "\"run\":\"");
    run[0] = '\0';
    if (r) {
        size_t n = strcspn(r += 7, "\"");
        if (n >= 32 || r[n] != '"')
            return 0;
        memcpy(run, r, n);
        run[n] = '\0';
    }
    if (line[strspn(line, " \t\r\n")] == '\0')
        return 3;
    if (strncmp(line, "{\"final\":true", 13) == 0)
        return 2;
    if (strncmp(line, "{\"epoch\":", 9) != 0)
        return 0;
    char *end;
    errno = 0;
    *epoch = strtol(line + 9, &end, 10);
    return end != line + 9 && *end == ',' && *epoch >= 1 && errno == 0;
}

/* A line that must not be dropped: an error naming it; the file stays as it is. */
static int line_error(const run_log *log, long lineno, const char *what, const char *run,
                      char *err, size_t len)
{
    if (run)
        snprintf(err, len, "%s:%ld: a metrics line of run %s, but this run is %s: give this "
                 "run's --metrics-out or a new file (this one is left as it is)", log->path,
                 lineno, run, log->run_id);
    else
        snprintf(err, len, "%s:%ld: %s: give another --metrics-out (this one is left as it is)",
                 log->path, lineno, what);
    return BIVAE_EXIT_USAGE;
}

/* A resumed run: keep_bytes = the end of the complete lines of epochs 1..keep_epochs before
 * the first other line; every line checked. */
static int scan(run_log *log, int keep_epochs, char *err, size_t len)
{
    char *line = NULL, run[32];
    size_t cap = 0;
    ssize_t n;
    long lineno = 0, epoch = 0;
    int keeping = 1, rc = 0;
    rewind(log->metrics);
    while (!rc && (n = getline(&line, &cap, log->metrics)) > 0) {
        lineno++;
        int kind = line[n - 1] == '\n' ? parse_line(line, &epoch, run) : -1;   /* -1: cut */
        if (kind == 0)
            rc = line_error(log, lineno, "not a line of a bivae-dist metrics file", NULL, err, len);
        else if (kind > 0 && run[0] && strcmp(run, log->run_id) != 0)
            rc = line_error(log, lineno, NULL, run, err, len);
        else if (keeping && (kind == 3 || (kind == 1 && epoch <= keep_epochs))) {
            log->keep_bytes += n;
            log->kept += kind == 1;
        } else {
            keeping = 0;
            log->dropped++;
        }
    }
    if (!rc && ferror(log->metrics)) {
        snprintf(err, len, "cannot read --metrics-out %s: %s", log->path, strerror(errno));
        rc = BIVAE_EXIT_RUNTIME;
    }
    free(line);
    return rc;
}

int run_log_open_metrics(run_log *log, const char *path, const char *run_id, int keep_epochs,
                         char *err, size_t len)
{
    if (!log || log->rank != 0 || !path)
        return 0;
    log->path = path;
    snprintf(log->run_id, sizeof log->run_id, "%s", run_id ? run_id : "");
    log->resuming = keep_epochs >= 0;
    int rc = open_file(log, path, err, len);
    if (!rc && log->regular && log->resuming && !log->created)
        rc = scan(log, keep_epochs, err, len);
    return rc;
}

int run_log_start(run_log *log, char *err, size_t len)
{
    if (!log || !log->metrics)
        return 0;
    log->started = 1;
    if (!log->regular)
        return 0;
    if (ftruncate(fileno(log->metrics), log->keep_bytes) != 0 ||
        fseeko(log->metrics, 0, SEEK_END) != 0) {
        snprintf(err, len, "cannot write --metrics-out %s: cannot cut it to the lines kept: %s",
                 log->path, strerror(errno));
        return BIVAE_EXIT_RUNTIME;
    }
    if (log->resuming && log->dropped > 0)
        run_log_note(log, "--metrics-out %s: kept the lines of %ld epoch(s), dropped %ld "
                     "line(s) past the checkpoint", log->path, log->kept, log->dropped);
    return 0;
}

int run_log_check(run_log *log, char *err, size_t len)
{
    if (!log || !log->write_errno)
        return 0;
    snprintf(err, len, "cannot write --metrics-out %s: %s", log->path, strerror(log->write_errno));
    log->reported = 1;
    return BIVAE_EXIT_RUNTIME;
}

/* ---------------------------------------------------------------------------------- */
/* the log                                                                              */

run_log *run_log_open(int rank, const char *metrics_path, int quiet, int nranks)
{
    run_log *log = xcalloc(1, sizeof *log);
    char err[1024] = "";
    log->rank = rank;
    log->nranks = nranks;
    log->quiet = quiet;
    if (run_log_open_metrics(log, metrics_path, "", -1, err, sizeof err) == 0 &&
        run_log_start(log, err, sizeof err) == 0)
        return log;
    fprintf(stderr, "bivae-dist: error: %s\n", err);
    run_log_close(log);
    return NULL;
}

void run_log_set_hosts(run_log *log, int n_hosts, const int *ranks_per_host)
{
    free(log->ranks_per_host);
    log->ranks_per_host = xmalloc((size_t)(n_hosts > 0 ? n_hosts : 1) * sizeof(int));
    memcpy(log->ranks_per_host, ranks_per_host, (size_t)(n_hosts > 0 ? n_hosts : 0) * sizeof(int));
    log->n_hosts = n_hosts;
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
    if (log->has_counts) {
        json_integer(log, "test_rows_unknown_user", log->test_unknown_user);
        json_integer(log, "test_rows_unknown_item", log->test_unknown_item);
    }
    json_run(log);
    json_end(log);
}

/* The columns of a cold_report (five with --cold-history-ratio), one metric a line. */
static void print_cold_table(const cold_report *c)
{
    const eval_result *col[5] = {&c->warm, &c->warm_popular, &c->cold, &c->cold_popular,
                                 &c->cold_foldin};
    int n = c->history_ratio > 0.0 ? 5 : 4;
    printf("%-13s %-10s %-10s %-10s %-10s", "cold start", "warm", "warm-pop", "cold-cap",
           "cold-pop");
    if (n == 5)
        printf(" %-10s (@%d, --cold-users %g, --cold-history-ratio %g)\n", "cold-fold",
               c->warm.top_k, c->fraction, c->history_ratio);
    else
        printf(" (@%d, --cold-users %g)\n", c->warm.top_k, c->fraction);
    const char *name[4] = {"MAP", "NDCG", "Precision", "Recall"};
    for (int row = 0; row < 4; row++) {
        printf("%-13s", name[row]);
        for (int j = 0; j < n; j++) {
            const eval_result *r = col[j];
            double v[4] = {r->map, r->ndcg, r->precision, r->recall};
            printf(" %-10.4f", v[row]);
        }
        printf("\n");
    }
    printf("%-13s", "users");
    for (int j = 0; j < n; j++)
        printf(" %-10" PRId64, col[j]->users);
    printf("\n");
    fflush(stdout);
}

/* ,"KEY":{"top_k":K,"map":..,...,"users":N} */
static void json_group(run_log *log, const char *key, const eval_result *r)
{
    note_error(log, fprintf(log->metrics, ",\"%s\":{\"top_k\":%d", key, r->top_k));
    json_metrics(log, r);
    note_error(log, fputs("}", log->metrics) == EOF ? -1 : 0);
}

void run_log_cold(run_log *log, const cold_report *c)
{
    if (!log || log->rank != 0)
        return;
    print_cold_table(c);
    if (!log->metrics || log->write_errno)
        return;
    errno = 0;
    note_error(log, fputs("{\"cold_start\":true", log->metrics) == EOF ? -1 : 0);
    json_number(log, 0, "cold_users", c->fraction);
    json_group(log, "warm", &c->warm);
    json_group(log, "warm_popular", &c->warm_popular);
    json_group(log, "cold", &c->cold);
    json_group(log, "cold_popular", &c->cold_popular);
    if (c->history_ratio > 0.0) {
        json_number(log, 0, "cold_history_ratio", c->history_ratio);
        json_group(log, "cold_foldin", &c->cold_foldin);
    }
    json_run(log);
    json_end(log);
}

void run_log_data_counts(run_log *log, int64_t test_unknown_user, int64_t test_unknown_item)
{
    if (!log)
        return;
    log->has_counts = 1;
    log->test_unknown_user = test_unknown_user;
    log->test_unknown_item = test_unknown_item;
}

int run_log_close(run_log *log)
{
    if (!log)
        return 0;
    if (log->metrics) {
        errno = 0;
        if (fclose(log->metrics) == EOF && !log->write_errno)
            log->write_errno = errno ? errno : EIO;
        if (log->created && !log->started)
            unlink(log->path);   /* made for a run that never started: nothing in it */
    }
    int rc = 0;
    if (log->write_errno) {
        if (!log->reported)
            fprintf(stderr, "bivae-dist: error: cannot write --metrics-out %s: %s\n", log->path,
                    strerror(log->write_errno));
        rc = BIVAE_EXIT_RUNTIME;
    }
    free(log->ranks_per_host);
    free(log);
    return rc;
}
