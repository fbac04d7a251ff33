/* src/log.h — what a run tells its user: the progress line per epoch (stderr, rank 0),
 * the JSON-lines metrics file (--metrics-out, rank 0) and the final metrics table
 * (stdout, rank 0). Other ranks pass rank != 0 and everything is a no-op for them.
 *
 * The metrics file across resumes: a resumed run keeps the lines of the epochs its
 * checkpoint completed and drops the rest (lines of a process that went on after that
 * checkpoint and died, a line cut by a kill, the final object), then appends; so the file
 * is always the file of one uninterrupted run. The drop is one ftruncate at
 * run_log_start, when the checkpoint has loaded: the kept lines are never rewritten, and
 * a run that fails earlier leaves the file as it was. A run from scratch empties the file
 * then (or creates it). */
#ifndef BIVAE_LOG_H
#define BIVAE_LOG_H

#include <stdint.h>
#include <stdio.h>

#include "src/eval.h"

typedef struct epoch_record {
    int epoch, epochs;              /* 1-based epoch, total epochs */
    double loss_item, loss_user;    /* mean loss per item / per user over the epoch */
    double seconds;                 /* wall time of the epoch */
    double compute_seconds;         /* seconds - comm_seconds */
    double comm_seconds;            /* time inside data-plane collectives */
    uint64_t allreduce_bytes;       /* bytes all-reduced this epoch (per rank) */
    uint64_t allgather_bytes;       /* bytes all-gathered this epoch */
    double ratings_per_second;      /* training ratings / epoch seconds */
    double eta_seconds;             /* estimated time to the last epoch */
    int has_metrics;                /* metrics evaluated this epoch (--eval-every) */
    eval_result metrics;
} epoch_record;

typedef struct run_log run_log;

/* rank: this process's rank (only rank 0 prints or writes). metrics_path may be NULL; else
 * it is opened as run_log_open_metrics does for a run from scratch (no run id) and
 * run_log_start follows at once; when that fails the one line is printed and NULL is
 * returned. quiet suppresses the progress lines (not errors, not the final table). */
run_log *run_log_open(int rank, const char *metrics_path, int quiet, int nranks);
/* Rank 0 (others: 0, nothing): opens --metrics-out `path` for run run_id, making its folder
 * as mkdir -p does and the file when it is missing, changing nothing in an existing one yet.
 * keep_epochs < 0: a run from scratch (run_log_start empties the file); >= 0: a resumed
 * run with that many complete epochs: the complete lines of epochs 1..keep_epochs before
 * the first other line are kept. Every complete line must be a bivae-dist metrics line and
 * none of another run ("run" key; lines without one are of a legacy run and accepted).
 * A device or pipe (/dev/stdout) is only appended to. Returns 0, or BIVAE_EXIT_USAGE with
 * one line in err: "--metrics-out PATH: cannot ..." (the folder or file cannot be made or
 * opened) or "PATH:LINE: ..." (a line of something else); BIVAE_EXIT_RUNTIME for a read
 * error. */
int run_log_open_metrics(run_log *log, const char *path, const char *run_id, int keep_epochs,
                         char *err, size_t len);
/* Rank 0: the run starts training: the metrics file is cut to the lines kept (one
 * ftruncate; a note says how many lines were dropped). 0, or BIVAE_EXIT_RUNTIME with err. */
int run_log_start(run_log *log, char *err, size_t len);
/* Rank 0: BIVAE_EXIT_RUNTIME with "cannot write --metrics-out PATH: reason" in err when a
 * write to the metrics file has failed (then run_log_close does not print it again), else
 * 0. For the trainer to agree on it with the other ranks at an epoch's end. */
int run_log_check(run_log *log, char *err, size_t len);
/* One progress line on stderr, e.g.
 * "epoch   3/100  loss_item 123.4567  loss_user 45.6789  0.081 s (comm 0.010 s)  1.23M ratings/s  ETA 8 s"
 * and one JSON object line in the metrics file with at least epoch, loss_item, loss_user,
 * seconds, comm_seconds, comm_bytes (= allreduce_bytes + allgather_bytes), compute_seconds,
 * allreduce_bytes, allgather_bytes, and, when has_metrics, map, ndcg@K, precision@K,
 * recall@K, users; the line starts {"epoch":N, and ends with "run":"ID" (when the run has
 * an id). */
void run_log_epoch(run_log *log, const epoch_record *rec);
/* The hosts the ranks run on: every later epoch line gets "hosts":H and "ranks_per_host":N
 * (the same on every host) or [N1,..,NH] (in order of each host's lowest rank). */
void run_log_set_hosts(run_log *log, int n_hosts, const int *ranks_per_host);
/* A free-form note on stderr (rank 0, unless quiet): "bivae-dist: <message>". */
void run_log_note(run_log *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The final metrics: a small table on stdout and the final JSON object
 * {"final": true, "map": .., "ndcg@K": .., "precision@K": .., "recall@K": .., "users": N,
 *  "train_seconds": .., ["test_rows_unknown_user": .., "test_rows_unknown_item": ..,]
 *  "run": ID} in the metrics file. */
void run_log_final(run_log *log, const eval_result *r, double train_seconds);
/* --cold-users: the warm / cold table (rank 0) and one metrics line
 * {"cold_start":true,"cold_users":F,"warm":{..},"warm_popular":{..},"cold":{..},
 * "cold_popular":{..}} (docs: README, --cold-users). */
void run_log_cold(run_log *log, const cold_report *c);
/* What the data dropped or could not score, for the final JSON object:
 * "test_rows_unknown_user" (test rows dropped: user not in training) and
 * "test_rows_unknown_item" (test pairs kept whose item is not in training). */
void run_log_data_counts(run_log *log, int64_t test_unknown_user, int64_t test_unknown_item);
/* Flushes and closes; returns 0, or 3 after printing an error if the file could not be
 * written completely. A metrics file run_log_open_metrics created and the run never
 * started is removed. */
int run_log_close(run_log *log);

#endif
