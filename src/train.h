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
    int status;           /* 0, or BIVAE_EXIT_RUNTIME: a checkpoint could not be written */
    int test_signal_epoch, test_signal_rank;   /* BIVAE_TEST_SIGNAL_AT (tests only) */
    int64_t test_signal_step;
} trainer;

/* Losses of one epoch: mean per row over the phase. */
typedef struct epoch_losses {
    double item, user;
} epoch_losses;

void trainer_init(trainer *t, bivae_model *m, comm *c, const dataset *d,
                  const bivae_config *cfg, run_log *log);
void trainer_free(trainer *t);

/* One phase (side s) of epoch `epoch` (1-based); returns its mean loss. */
double trainer_phase(trainer *t, bivae_side s, int epoch);

/* The whole run: epochs, periodic and final evaluation, logs. Returns the final metrics
 * (users == 0 when there is no test data).
 * With --checkpoint-dir: a checkpoint every --checkpoint-every epochs and after the last
 * one; and, before every step, the ranks agree on a pending preemption signal
 * (src/signals.h): when one arrived anywhere, the run stops at that step boundary, writes
 * a checkpoint there and returns with t->stopped = 1 (no final evaluation). A checkpoint
 * that cannot be written ends the run with t->status = BIVAE_EXIT_RUNTIME (the message
 * printed). See src/checkpoint.h for why a mid-epoch checkpoint resumes exactly. */
eval_result trainer_run(trainer *t, double *train_seconds);

/* Makes trainer_run continue from pos (a checkpoint loaded by ckpt_load). */
void trainer_resume_at(trainer *t, const ckpt_position *pos);

/* Encoder means for all own rows of both sides (items first), μ_β gathered in full. */
void trainer_infer(trainer *t);

/* Evaluates the current μ_θ / μ_β (call trainer_infer first). */
eval_result trainer_evaluate(trainer *t);

/* FNV-1a hash of both encoders' parameters and Adam states on this rank. */
uint64_t trainer_checksum(trainer *t);

#endif
