/* src/checkpoint.h — checkpoints: survive a crash, a time limit or preemption, and hand the
 * model to other tools (issue 5; docs/design.md "Out").
 *
 * ---- File format (src/checkpoint.proto, format version CKPT_FORMAT_VERSION) ------------
 * A stream of Record messages, each preceded by its byte length as a varint: one Header
 * (magic, format version, the model / training / data configuration, U, I, K, the
 * position: epochs done + phase + step, the loss accumulators of a phase in progress, the
 * RNG position, both Adam step counters, the rank count that wrote it, the run id, what the
 * epoch in progress cost so far), then the tensors
 * below in this order, each as TensorChunk records of <= CKPT_CHUNK_ELEMS values (name,
 * the whole tensor's shape, offset of the first value, the values, zlib crc32 of their
 * little-endian bytes), then one End record (chunk count, crc32 of the Header record).
 * Every tensor is in GLOBAL-id order, so the file does not depend on the rank count.
 * String chunks hold <= CKPT_CHUNK_ELEMS values and <= CKPT_CHUNK_STR_BYTES bytes. Format
 * version 1 (before string ids) stored int64 tensors ids.user_raw / ids.item_raw in their
 * place; such files are still read, their ids handed on as decimal text.
 *
 *   name                   type   shape        contents
 *   ids.user               str    [U]          global user id -> raw id (its token's bytes)
 *   ids.item               str    [I]          global item id -> raw id
 *   train.rowptr           int64  [U + 1]      training ratings, user rows (CSR) ...
 *   train.col              int32  [nnz]        ... over global item ids (recommend's "seen")
 *   encoder.user.params    fp32   [Pu]         the user encoder (layout: src/model.h)
 *   encoder.user.adam_m    fp32   [Pu]         Adam first moments
 *   encoder.user.adam_v    fp32   [Pu]         Adam second moments
 *   encoder.item.params    fp32   [Pi]         the item encoder, then its moments
 *   encoder.item.adam_m    fp32   [Pi]
 *   encoder.item.adam_v    fp32   [Pi]
 *   theta_tilde            fp32   [U × K]      sampled θ̃ (see "Position" for a phase in progress)
 *   beta_tilde             fp32   [I × K]      sampled β̃
 *   mu_theta               fp32   [U × K]      encoder means μ_θ under the stored parameters
 *   mu_beta                fp32   [I × K]      encoder means μ_β under the stored parameters
 *   mu_theta_prior         fp32   [U × K]      CAP: the user prior means F·Wt_p + b_p under the
 *                                              stored parameters ([0 × K], no chunk, without
 *                                              user CAP: files without CAP are unchanged)
 *   mu_beta_prior          fp32   [I × K]      CAP: the item prior means (likewise)
 *
 * RNG position: every random number is Philox keyed by (seed, epoch, side, pass, global
 * id) (src/model.c), so the seed and the position (next epoch) are the whole RNG state.
 *
 * ---- Position, and why a checkpoint can be taken at any step (preemption) --------------
 * A checkpoint holds `epoch` complete epochs plus `step` steps of `phase` of epoch
 * epoch + 1 (CKPT_AT_EPOCH_END: none). Periodic and final checkpoints are taken at epoch
 * ends. A signal (below) stops the run at the next STEP boundary and checkpoints exactly
 * there (choice (a) of the issue): inside phase s (steps [0, step) done) the state that
 * the rest of the run reads is
 *   - both encoders, both Adam states and step counters (replicated: rank 0's copy);
 *   - the other side's table (read by the decoder; complete: stored as is);
 *   - side s's rows sampled so far: rows [0, step·B) of side s's sample_local; they are
 *     stored in side s's table tensor, whose other rows keep the last complete sample (the
 *     values the in-memory table still holds; no step of the phase reads them, and the
 *     all-gather at the phase's end replaces them by the new samples);
 *   - the phase's loss accumulators (Σ loss, Σ rows: replicated doubles, stored as they
 *     are) and, in the user phase, the epoch's item loss;
 *   - for the epoch's --metrics-out line only: its seconds, communication seconds and
 *     bytes so far (ckpt_epoch_cost), so that the line of an epoch split by a stop has the
 *     whole epoch's bytes (and both parts' times).
 * Nothing else carries over (workspaces are rewritten by every forward; μ is recomputed
 * from the parameters for the file and again at the end of the run), so resuming on the
 * same rank count replays the remaining steps with the same operands in the same order:
 * bit-identical losses. On another rank count (or backend) only the reduction order
 * differs: equal within the rank-count tolerance.
 *
 * ---- Writing (ckpt_save, collective) ---------------------------------------------------
 * Rank 0 writes <dir>/<name>.tmp, then fflush, fsync, fclose, rename to <name>, fsync of
 * the directory; every call is checked. Distributed rows (μ, a phase's new samples, the
 * training rows) are gathered in chunks of <= CKPT_CHUNK_ELEMS values, so no rank holds a
 * whole table only for writing. Names: ckpt-RUN-EEEEEE.bvck after epoch E, and
 * ckpt-RUN-EEEEEE-SSSSSS.bvck for S steps into epoch E + 1 (item steps, then user steps),
 * RUN the run id (below). After a successful write the newest --keep complete checkpoints
 * OF THIS RUN are kept, its older ones and its stale .tmp files of killed writers are
 * removed; no file of another run is ever touched. A failed write (disk full, ...) prints
 * one line, removes the .tmp and returns BIVAE_EXIT_RUNTIME: the previous checkpoint is
 * untouched.
 *
 * ---- Runs: several in one directory, none of them lost ------------------------------------
 * A run is one training from its first epoch to its last, over any number of processes
 * (a stop and --resume, a Slurm requeue). A fresh `train` (no --resume) draws a run id,
 * "YYYYMMDDTHHMMSSZ-xxxx" (its UTC start time and 16 random bits, unique in the directory;
 * so run ids sort by age), printed in its first log lines; it is in the header of every
 * checkpoint of the run, in their file names, and in every line of --metrics-out. --resume
 * continues the run id of the checkpoint it resumes. The file <dir>/current-run (one line,
 * the id; replaced atomically) names the run --resume continues; it is written when a run
 * starts training (after its data loaded and any checkpoint was read), so a run that fails
 * before training changes nothing in the directory (beyond making it). The run id a
 * resumed run continues is the one in the checkpoint's header.
 *   - A fresh `train` into a directory that holds complete checkpoints (of any run) stops
 *     with exit 2 before anything is written: pass --resume, or --overwrite.
 *   - --overwrite starts a new run there anyway. Nothing is deleted or overwritten: the
 *     other runs' files keep their names and contents (rotation never touches them; remove
 *     them by hand when they are not wanted); current-run names the new run, so a later
 *     --resume continues it, even before it has a checkpoint of its own (then from scratch).
 *   - --resume continues the run current-run names, from its newest complete checkpoint
 *     (none: from scratch, under that run id). Without current-run (a directory of files
 *     written before run ids, or one whose current-run was removed) it continues the newest
 *     run that has checkpoints (by run id, i.e. start time; legacy files count as oldest).
 *   - Legacy files (ckpt-EEEEEE[-SSSSSS].bvck, no run id in the header) are one legacy run:
 *     --resume continues the newest of them under a NEW run id (noted), its checkpoints then
 *     have the new names; rotation never removes legacy files or legacy .tmp leftovers.
 * The run's --metrics-out follows it: a resumed run keeps the lines of the epochs its
 * checkpoint completed and appends (src/log.h), so a file holds one run's lines.
 *
 * ---- Resume (--resume) ------------------------------------------------------------------
 * The newest complete checkpoint of the current run in --checkpoint-dir ("Runs"; by its
 * position, not its mtime); none: the run starts from scratch with a note (what a Slurm
 * requeue loop wants). A newest file that is damaged is an error (exit 2), not skipped:
 * renames are atomic, so a damaged complete file means something else is wrong. The data is re-loaded from the
 * command line and must be the checkpoint's (same id maps, same training pairs); the model
 * (k, encoder, act, likelihood, beta-kl, cap-priors), --batch-size and --seed must match,
 * and each CAP side's feature rows must be the checkpoint's (feature count and
 * ckpt_features_hash; src/ckpt_load.c);
 * --epochs may differ (more: continue; the checkpoint's epoch or fewer: nothing left to
 * train); --lr may differ (a note says the run no longer replays an uninterrupted one).
 * Every rank reads the file itself: the checkpoint directory must be on a filesystem that
 * all ranks see (as on any cluster's shared scratch); a rank that cannot open it fails the
 * job with one line.
 *
 * ---- Preemption (src/signals.h) ----------------------------------------------------------
 * With --checkpoint-dir, SIGTERM and SIGUSR1 only set a flag (handlers installed when the
 * epochs start; before that the default action stays: nothing trained is lost). Before
 * every step the ranks agree on it with one 8-byte all-reduce (max); when set on any rank,
 * every rank stops at that step boundary, the checkpoint above is written, rank 0 prints
 * one line saying so, and the process exits 0 (Slurm: --signal=B:USR1@120 forwarded to
 * the ranks — Open MPI's mpirun forwards SIGUSR1 — with --requeue, then --resume).
 * Cost: the all-reduce follows the step's gradient all-reduce, so the ranks arrive
 * together: measured 0.3 µs (2 ranks, one node) to ~10 µs (4 ranks oversubscribed on 2
 * cores) per step; at ML-20M (~1,300 steps per epoch, each with a multi-MB gradient
 * all-reduce) that is ~13 ms per epoch at most, so every step is checked and a stop waits
 * for one step at most. SIGTERM to mpirun itself
 * also reaches the ranks and they checkpoint, but mpirun then exits 1: send SIGUSR1.
 *
 * ---- Test switches (environment, tests only) ---------------------------------------------
 * BIVAE_TEST_SIGNAL_AT=E:S:R  rank R raises SIGUSR1 before step S of epoch E (src/train.c;
 *                             its other switches: src/train.h);
 * BIVAE_TEST_KILL_SAVE=N      rank 0 SIGKILLs itself after writing N chunks (ckpt_save.c);
 * BIVAE_TEST_LOAD_FAIL=R      rank R's resume read fails at the first encoder chunk as a
 *                             read error would (ckpt_load.c): every rank must leave with
 *                             exit 3 and one line, agreed by ckpt_load's comm_agree.
 *
 * ---- Reading (ckpt_read) -----------------------------------------------------------------
 * Streams the file: every chunk is checked (known name, expected shape, contiguous offset,
 * crc32) and handed to a visitor; the End record checks completeness and the header's
 * crc32. A truncated, corrupt or foreign file, or one of a newer format version, gives
 * BIVAE_EXIT_USAGE with one line naming the file and the problem; never a crash. */
#ifndef BIVAE_CHECKPOINT_H
#define BIVAE_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "comm/comm.h"
#include "partition/dataset.h"
#include "src/config.h"
#include "src/model.h"

#define CKPT_MAGIC 0x4B435642u          /* "BVCK" as the little-endian bytes of a fixed32 */
#define CKPT_FORMAT_VERSION 2u
#define CKPT_CHUNK_ELEMS ((int64_t)1 << 20)   /* values per chunk record (4-8 MiB) */
#define CKPT_CHUNK_STR_BYTES ((int64_t)4 << 20) /* bytes of the strings of one chunk record */
#define CKPT_RUN_ID_LEN 21                    /* "YYYYMMDDTHHMMSSZ-xxxx" ("Runs") */
#define CKPT_CURRENT_RUN "current-run"        /* the file naming a directory's current run */

typedef enum { CKPT_F32 = 0, CKPT_I64, CKPT_I32, CKPT_STR } ckpt_dtype;

/* One value of a string tensor (not NUL-terminated). */
typedef struct ckpt_str {
    const char *p;
    size_t n;
} ckpt_str;

typedef enum {
    CKPT_USER_IDS = 0, CKPT_ITEM_IDS, CKPT_TRAIN_ROWPTR, CKPT_TRAIN_COL,
    CKPT_ENC_USER_PARAMS, CKPT_ENC_USER_ADAM_M, CKPT_ENC_USER_ADAM_V,
    CKPT_ENC_ITEM_PARAMS, CKPT_ENC_ITEM_ADAM_M, CKPT_ENC_ITEM_ADAM_V,
    CKPT_THETA, CKPT_BETA, CKPT_MU_THETA, CKPT_MU_BETA,
    CKPT_MU_THETA_PRIOR, CKPT_MU_BETA_PRIOR,
    CKPT_N_TENSORS
} ckpt_tensor;

typedef enum {
    CKPT_AT_EPOCH_END = 0,     /* `epoch` epochs complete, nothing of the next */
    CKPT_IN_ITEM_PHASE = 1,    /* plus `step` steps of the item phase of epoch + 1 */
    CKPT_IN_USER_PHASE = 2     /* plus the item phase and `step` steps of the user phase */
} ckpt_phase;

/* What the epoch in progress cost so far, so that its --metrics-out line covers the whole
 * epoch when a stop and resume split it over processes (zero at an epoch end). */
typedef struct ckpt_epoch_cost {
    double seconds, comm_seconds;                /* wall time; inside data-plane collectives */
    uint64_t allreduce_bytes, allgather_bytes;   /* per rank */
} ckpt_epoch_cost;

typedef struct ckpt_position {
    int epoch;                 /* epochs complete */
    ckpt_phase phase;
    int64_t step;              /* steps of `phase` done (0 at an epoch end) */
    double phase_loss[2];      /* the phase's Σ loss, Σ rows so far (trainer loss_acc) */
    double epoch_loss_item;    /* CKPT_IN_USER_PHASE: the item loss of epoch + 1 */
    ckpt_epoch_cost cost;      /* epoch + 1 so far (not part of the model state) */
} ckpt_position;

/* The Header, decoded. ckpt_info_free releases the data paths. */
typedef struct ckpt_info {
    uint32_t format_version;
    char writer[64];
    bivae_model_config model;
    bivae_train_config train;
    data_options data;              /* as the writing run had them (paths absolute) */
    int64_t n_users, n_items, K;
    int64_t nnz_train;
    uint64_t train_hash;            /* ckpt_train_hash of the training data */
    ckpt_position pos;
    int64_t adam_step[2];           /* [SIDE_USER], [SIDE_ITEM] */
    int64_t n_params[2];            /* encoder parameter counts */
    int nranks;                     /* rank count of the writing run */
    char run_id[CKPT_RUN_ID_LEN + 1];   /* the run that wrote it; "" : a legacy file */
    int64_t n_features[2];          /* CAP prior encoders' features (0: no CAP on the side) */
    uint64_t features_hash[2];      /* ckpt_features_hash of the side's feature rows */
} ckpt_info;

/* ---- tensors ------------------------------------------------------------------------- */
const char *ckpt_tensor_name(ckpt_tensor t);
ckpt_dtype ckpt_tensor_dtype(ckpt_tensor t);
/* The shape of t under info: rows × cols (cols == 1 and *ndim == 1 for vectors). */
void ckpt_tensor_shape(const ckpt_info *info, ckpt_tensor t, int64_t *rows, int64_t *cols,
                       int *ndim);

/* ---- reading --------------------------------------------------------------------------- */
/* Called for every chunk in file order: values [offset, offset + n) (row-major elements)
 * of tensor t, in host memory of t's type (CKPT_STR: ckpt_str[n]), valid during the call. Returns 0 to go on, or
 * an exit status (with a one-line message in err[err_len]) to stop reading. */
typedef int (*ckpt_visit_fn)(void *ctx, ckpt_tensor t, int64_t offset, const void *data,
                             int64_t n, char *err, size_t err_len);

/* Reads and checks the whole file, decoding the header into *info and passing every chunk
 * to visit (NULL: check only). Returns 0; BIVAE_EXIT_USAGE for a missing, truncated,
 * corrupt or foreign file or a newer format (one line in err, starting with the path);
 * BIVAE_EXIT_RUNTIME for a read error; or the visitor's status. Prints nothing. The
 * visitor may have seen chunks of a file that later turns out damaged. */
int ckpt_read(const char *path, ckpt_info *info, ckpt_visit_fn visit, void *ctx, char *err,
              size_t err_len);
/* Only the header (the first record): cheap, for checks before loading data. */
int ckpt_read_header(const char *path, ckpt_info *info, char *err, size_t err_len);
void ckpt_info_free(ckpt_info *info);

/* ---- training side --------------------------------------------------------------------- */
/* Collective. Order-free hash of the training pairs (global user, global item): the same
 * for any rank count. */
uint64_t ckpt_train_hash(const dataset *d, comm *c);
/* Collective. Order-free hash of one side's feature rows (global id, every value's bits):
 * the same for any rank count; 0 for a block without features. */
uint64_t ckpt_features_hash(const feature_block *b, comm *c);

/* Collective. Writes the state of m at pos as a checkpoint of run run_id (NULL or "": a
 * legacy file, for tests) into cfg->output.checkpoint_dir (μ_θ / μ_β must be current in
 * m->mu_local: trainer_infer) and keeps the newest cfg->output.keep of that run. Returns
 * 0 with the file's path in path[path_len], or BIVAE_EXIT_RUNTIME on every rank after one
 * rank printed the one line. Brings lazily updated parameters up to date first
 * (model_adam_flush). */
int ckpt_save(bivae_model *m, const dataset *d, const bivae_config *cfg, comm *c,
              const char *run_id, const ckpt_position *pos, char *path, size_t path_len);

/* For resume: the model and training settings of cfg against the checkpoint's. Returns 0,
 * or BIVAE_EXIT_USAGE with the one-line reason in err. *lr_changed: --lr differs. */
int ckpt_check_config(const ckpt_info *info, const bivae_config *cfg, const char *path,
                      int *lr_changed, char *err, size_t err_len);

/* Collective, for resume: every rank reads `path`, checks it against d (counts, training
 * pairs, id maps) and loads the state into m (made by model_init for d and the
 * checkpoint's model config); *pos gets the position. Returns 0, or BIVAE_EXIT_USAGE /
 * BIVAE_EXIT_RUNTIME on every rank after one line was printed. */
int ckpt_load(const char *path, bivae_model *m, const dataset *d, comm *c,
              ckpt_position *pos);

/* Collective, for eval and resume: U, I and the training pairs of d against the header.
 * 0, or BIVAE_EXIT_USAGE on every rank with "data do not match the checkpoint PATH: ..."
 * in err (nothing printed). */
int ckpt_check_data(const ckpt_info *info, const char *path, const dataset *d, comm *c,
                    char *err, size_t err_len);

/* ---- helpers for visitors ----------------------------------------------------------- */
/* A chunk of ids.user / ids.item against the raw ids of the global ids this rank owns in
 * d: 0, or BIVAE_EXIT_USAGE with "data do not match the checkpoint PATH: ..." in err. */
int ckpt_compare_ids(const dataset *d, const char *path, ckpt_tensor t, int64_t offset,
                     const ckpt_str *ids, int64_t n, char *err, size_t err_len);

/* ---- runs (src/ckpt_run.c; "Runs" above) ------------------------------------------------ */
/* 1 when s is a run id: CKPT_RUN_ID_LEN characters "YYYYMMDDTHHMMSSZ-xxxx" (x: 0-9a-f). */
int ckpt_run_id_valid(const char *s);
/* A new run id (UTC now, random) that neither dir's current-run nor a file name in dir
 * uses (dir NULL: no check). */
void ckpt_new_run_id(const char *dir, char id[CKPT_RUN_ID_LEN + 1]);
/* The run dir/current-run names into id ("" when the file does not exist). 0, or -1 with
 * the reason in err (unreadable, or not a run id). */
int ckpt_current_run(const char *dir, char id[CKPT_RUN_ID_LEN + 1], char *err, size_t len);
/* Makes dir/current-run name run_id: temporary, fsync, rename, directory fsync. 0, or -1
 * with the reason in err. */
int ckpt_set_current_run(const char *dir, const char *run_id, char *err, size_t len);

/* What a `train` does in its checkpoint directory. */
typedef struct ckpt_run {
    char id[CKPT_RUN_ID_LEN + 1];   /* its run id: new, or the run --resume continues */
    char resume_path[4096];         /* the checkpoint to resume; "": start from scratch */
} ckpt_run;

/* Rank 0, for train: prepares dir (ckpt_prepare_dir) and decides the run from --resume /
 * --overwrite as "Runs" says; writes nothing else (current-run is the caller's, when the
 * run starts). The run id is the one of the file names; a caller that reads the resumed
 * header continues the header's run id when it has one. 0, or BIVAE_EXIT_USAGE with the
 * one line in err (a fresh run into checkpoints, an unreadable directory or current-run). */
int ckpt_run_plan(const char *dir, int resume, int overwrite, ckpt_run *run, char *err,
                  size_t len);

/* ---- the checkpoint directory (src/ckpt_files.c) ------------------------------------------ */
/* The file name (no directory) of a position of run run_id (NULL or "": the legacy name);
 * item_steps: steps of an item phase. */
void ckpt_file_name(const char *run_id, const ckpt_position *pos, int64_t item_steps,
                    char *buf, size_t len);
/* The newest complete checkpoint of run run_id ("": the legacy files) in dir into
 * path[len]: 1 found, 0 none, -1 the directory cannot be read (reason in err). */
int ckpt_find_latest(const char *dir, const char *run_id, char *path, size_t len, char *err,
                     size_t err_len);
/* Complete checkpoints of every run in dir: their count, the newest run's id (by run id;
 * "" when it is the legacy run or there is none) and that run's newest file into path[len];
 * -1 (err) when dir cannot be read. */
int ckpt_find_runs(const char *dir, char run_id[CKPT_RUN_ID_LEN + 1], char *path, size_t len,
                   char *err, size_t err_len);
/* Keeps the newest `keep` complete checkpoints of run run_id in dir, removes its older
 * ones and its stale .tmp files; files of other runs (legacy files included, unless run_id
 * is "") are never touched. 0, or -1 with the reason in err. */
int ckpt_rotate(const char *dir, const char *run_id, int keep, char *err, size_t err_len);
/* Creates dir with its missing parents (as mkdir -p); checks it is a writable directory.
 * 0, or BIVAE_EXIT_USAGE with the one line (naming --checkpoint-dir) in err. */
int ckpt_prepare_dir(const char *dir, char *err, size_t err_len);

/* Tests only: values per chunk record written from now on (1..CKPT_CHUNK_ELEMS; other
 * values restore the default). */
void ckpt_test_set_chunk_elems(int64_t n);

/* vsnprintf into err[len] (messages that embed paths: no truncation warnings). */
void ckpt_errf(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
