/* src/train.h — the training loop of docs/bivae-model.md distributed as docs/design.md
 * "One phase" says: global batches, one all-reduce per step, all-gather of the sampled
 * table after each phase, the final inference pass, evaluation. */
#ifndef BIVAE_TRAIN_H
#define BIVAE_TRAIN_H

#include "comm/comm.h"
#include "src/checkpoint.h"
#include "src/eval.h"
#include "src/log.h"
#include "src/model.h"

typedef struct trainer {
    bivae_model *m;
    comm *c;
    const dataset *d;
    const bivae_config *cfg;
    run_log *log;
    const char *run_id;   /* the run its checkpoints belong to (src/checkpoint.h "Runs");
                             NULL (trainer_init's): legacy file names, for tests */
    float *staging[2];    /* [N × K] all-gather target per side (rank-blocked order) */
    float *mu_beta_full;  /* [n_items × K] μ_β in global order, for evaluation */
    double *loss_acc;     /* [2] backend: Σ loss, Σ count of the current phase */
    int32_t *nonfinite;   /* [1] backend: first step of the phase with a NaN/Inf loss or
                             gradient (−1: none), checked at every phase end */
    ckpt_position start;  /* where trainer_run begins (trainer_resume_at); zero: epoch 1 */
    double epoch_t0;          /* when this process began the current epoch (or its part) */
    comm_stats epoch_before;  /* the communicator's statistics then */
    ckpt_epoch_cost carried;  /* the current epoch's cost before that (a mid-epoch resume) */
    ckpt_epoch_cost stop_cost;   /* the current epoch's cost when the ranks agreed to stop */
    int stopped;          /* trainer_run stopped on a preemption signal, checkpoint written */
    int stop_signal;      /* the signal it stopped on */
    int status;           /* 0, or BIVAE_EXIT_RUNTIME: the run failed (the line printed) */
    int test_signal_epoch, test_signal_rank;   /* BIVAE_TEST_SIGNAL_AT (tests only) */
    int64_t test_signal_step;
    int test_nan_param, test_nan_epoch, test_nan_rank;   /* BIVAE_TEST_NAN_AT (tests only) */
    int64_t test_nan_step;
    int test_perturb_rank;                     /* BIVAE_TEST_PERTURB_RANK (tests only) */
    /* Benchmarks and tests only (trainer_init: off). max_steps > 0: every phase takes at
     * most its first max_steps steps (the phase end as usual, without the
     * row-count check, which needs every step). step_hook, when set, is called on the
     * host before every step of a phase (done 0, step its index) and once after the last
     * (done 1, step the number of steps taken), before the phase's end; it must not
     * synchronize with the device unless it measures that itself. */
    int64_t max_steps;
    void (*step_hook)(void *ctx, bivae_side s, int64_t step, int done);
    void *step_hook_ctx;
} trainer;

/* Losses of one epoch: mean per row over the phase. */
typedef struct epoch_losses {
    double item, user;
} epoch_losses;

void trainer_init(trainer *t, bivae_model *m, comm *c, const dataset *d,
                  const bivae_config *cfg, run_log *log);
void trainer_free(trainer *t);

/* One phase (side s) of epoch `epoch` (1-based); returns its mean loss (NaN with
 * t->status set when a guard below stopped it). */
double trainer_phase(trainer *t, bivae_side s, int epoch);

/* The whole run: epochs, periodic and final evaluation, logs. Returns the final metrics
 * (users == 0 when there is no test data).
 * With --checkpoint-dir: a checkpoint every --checkpoint-every epochs and after the last
 * one; and, before every step, the ranks agree on a pending preemption signal
 * (src/signals.h): when one arrived anywhere, the run stops at that step boundary, writes
 * a checkpoint there and returns with t->stopped = 1 (no final evaluation). A checkpoint
 * that cannot be written, a guard below, or a write error of --metrics-out (agreed at every
 * epoch's end; the run then writes a checkpoint of that epoch when it checkpoints at all)
 * end the run on every rank with t->status = BIVAE_EXIT_RUNTIME, the one line printed.
 * See src/checkpoint.h for why a mid-epoch checkpoint resumes exactly. */
eval_result trainer_run(trainer *t, double *train_seconds);

/* Makes trainer_run continue from pos (a checkpoint loaded by ckpt_load). */
void trainer_resume_at(trainer *t, const ckpt_position *pos);

/* Encoder means for all own rows of both sides (items first), μ_β gathered in full. */
void trainer_infer(trainer *t);

/* Evaluates the current μ_θ / μ_β (call trainer_infer first). */
eval_result trainer_evaluate(trainer *t);

/* --cold-users: warm and cold users apart (cold: θ = μ_prior of their feature row), each
 * beside the most-popular baseline (call trainer_infer first; collective). */
void trainer_evaluate_cold(trainer *t, cold_report *out);

/* ---- Guards (src/train_guard.c) -------------------------------------------------------
 * Every rank leaves through the same door: a condition that can hold on one rank and not
 * another is agreed through a collective before anyone acts on it, then rank 0 prints the
 * one line and every rank returns BIVAE_EXIT_RUNTIME (t->status), so no rank is left
 * waiting in a collective the others have left. Costs: one all-gather of P int64 per phase
 * end and a pass over the phase's encoder state (3 × its parameters on this rank: at
 * ML-20M's item encoder with k=50, [100], 42 M floats / P: 13 ms measured on one CPU core
 * for P = 1, against a phase of seconds). */

/* Rank 0 prints "bivae-dist: error: <fmt...>"; every rank sets and returns t->status =
 * BIVAE_EXIT_RUNTIME. Call it on every rank with the same agreed condition. */
int trainer_fail(trainer *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Collective numerical guard, at a phase's end (done == n_steps) or before a stop
 * checkpoint (done steps taken): the phase's flag (a non-finite all-reduced loss, or a
 * non-finite gradient element seen by Adam — its own first-layer rows are the one part of
 * the gradient that differs between ranks) plus a scan of this rank's whole encoder state
 * of side s (parameters, Adam moments: a value can overflow with a finite gradient), then
 * an all-gather of every rank's first bad step. 0, or the status after the one line: "non-
 * finite loss or gradient ..." when every rank saw the same step, else "non-finite value on
 * rank R only ..." ("first on rank R" when the others saw it later). Never a checkpoint of
 * a bad state. */
int trainer_check_finite(trainer *t, bivae_side s, int epoch, int64_t n_steps, int64_t done);
/* The all-reduced row count of a phase against the side's rows (an internal invariant). */
int trainer_check_rows(trainer *t, bivae_side s, int epoch, double counted);
/* Collective --check-replicas: the checksum of every rank against rank 0's. */
int trainer_check_replicas(trainer *t, int epoch);
/* FNV-1a hash of both encoders' replicated parameters and Adam states on this rank. */
uint64_t trainer_checksum(trainer *t);

/* Test switches (read in trainer_init; tests only):
 *   BIVAE_TEST_SIGNAL_AT=E:S:R     rank R raises SIGUSR1 before step S of epoch E (item
 *                                  steps, then user steps);
 *   BIVAE_TEST_NAN_AT=WHAT:E:S:R   at step S of epoch E (numbered alike) rank R puts a NaN
 *                                  into the first of the first-layer rows it owns: WHAT
 *                                  grad: its gradient, after the step's all-reduce (dense
 *                                  Adam reads it; lazy Adam only when the batch touches the
 *                                  row); param: the parameter, after the step's Adam update;
 *   BIVAE_TEST_PERTURB_RANK=R      rank R changes one replicated parameter after epoch 1. */
void trainer_test_nan(trainer *t, bivae_side s, int epoch, int64_t step, int after_adam);
void trainer_test_perturb(trainer *t, int epoch);

#endif
