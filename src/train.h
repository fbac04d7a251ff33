/* src/train.h — the training loop of docs/bivae-model.md distributed as docs/design.md
 * "One phase" says: global batches, one all-reduce per step, all-gather of the sampled
 * table after each phase, the final inference pass, evaluation. */
#ifndef BIVAE_TRAIN_H
#define BIVAE_TRAIN_H

#include "comm/comm.h"
#include "src/eval.h"
#include "src/log.h"
#include "src/model.h"

typedef struct trainer {
    bivae_model *m;
    comm *c;
    const dataset *d;
    const bivae_config *cfg;
    run_log *log;
    float *staging[2];    /* [N × K] all-gather target per side (rank-blocked order) */
    float *mu_beta_full;  /* [n_items × K] μ_β in global order, for evaluation */
    double *loss_acc;     /* [2] backend: Σ loss, Σ count of the current phase */
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
 * (users == 0 when there is no test data). */
eval_result trainer_run(trainer *t, double *train_seconds);

/* Encoder means for all own rows of both sides (items first), μ_β gathered in full. */
void trainer_infer(trainer *t);

/* Evaluates the current μ_θ / μ_β (call trainer_infer first). */
eval_result trainer_evaluate(trainer *t);

/* FNV-1a hash of both encoders' parameters and Adam states on this rank. */
uint64_t trainer_checksum(trainer *t);

#endif
