/* src/log.h — what a run tells its user: the progress line per epoch (stderr, rank 0),
 * the JSON-lines metrics file (--metrics-out, rank 0) and the final metrics table
 * (stdout, rank 0). Other ranks pass rank != 0 and everything is a no-op for them. */
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

/* rank: this process's rank (only rank 0 prints or writes). metrics_path may be NULL.
 * quiet suppresses the progress lines (not errors, not the final table).
 * Returns NULL and prints "bivae-dist: error: cannot open --metrics-out FILE: reason"
 * when the metrics file cannot be created (exit 3 follows in the caller). */
run_log *run_log_open(int rank, const char *metrics_path, int quiet, int nranks);
/* One progress line on stderr, e.g.
 * "epoch   3/100  loss_item 123.4567  loss_user 45.6789  0.081 s (comm 0.010 s)  1.23M ratings/s  ETA 8 s"
 * and one JSON object line in the metrics file with at least epoch, loss_item, loss_user,
 * seconds, comm_seconds, comm_bytes (= allreduce_bytes + allgather_bytes), compute_seconds,
 * allreduce_bytes, allgather_bytes, and, when has_metrics, map, ndcg@K, precision@K,
 * recall@K, users. */
void run_log_epoch(run_log *log, const epoch_record *rec);
/* A free-form note on stderr (rank 0, unless quiet): "bivae-dist: <message>". */
void run_log_note(run_log *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The final metrics: a small table on stdout and the final JSON object
 * {"final": true, "map": .., "ndcg@K": .., "precision@K": .., "recall@K": .., "users": N,
 *  "train_seconds": ..} in the metrics file. */
void run_log_final(run_log *log, const eval_result *r, double train_seconds);
/* Flushes and closes; returns 0, or 3 after printing an error if the file could not be
 * written completely. */
int run_log_close(run_log *log);

#endif
