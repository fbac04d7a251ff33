/* src/config.h — the whole configuration of a bivae-dist run, as parsed from the command
 * line (src/cli.c) and stored in checkpoints. Defaults follow cli.md. */
#ifndef BIVAE_CONFIG_H
#define BIVAE_CONFIG_H

#include <stdint.h>

#include "kernels/kernels.h"
#include "partition/dataset.h"

#define BIVAE_MAX_HIDDEN 8

/* Upper bounds of the numeric flags (src/cli.c; --help shows them). K and the hidden sizes
 * are the checkpoint reader's limits (src/checkpoint.c); the others keep a typo from
 * asking for absurd amounts of memory or time. */
#define BIVAE_MAX_K 65536                  /* --k */
#define BIVAE_MAX_LAYER_SIZE (1 << 24)     /* each --encoder size */
#define BIVAE_MAX_EPOCHS 1000000           /* --epochs, --eval-every, --checkpoint-every */
#define BIVAE_MAX_BATCH (1 << 24)          /* --batch-size */
#define BIVAE_MAX_TOP_K 100000             /* --top-k */
#define BIVAE_MAX_THREADS 1024             /* --threads (and the cores of the rank, app.c) */
#define BIVAE_MAX_KEEP 1000000             /* --keep */

typedef enum {
    CMD_NONE = 0, CMD_TRAIN, CMD_EVAL, CMD_RECOMMEND, CMD_EXPORT, CMD_GEN, CMD_HELP, CMD_VERSION
} bivae_command;

typedef enum { DEVICE_AUTO = 0, DEVICE_CPU, DEVICE_CUDA } bivae_device;
typedef enum { COMM_AUTO = 0, COMM_MPI, COMM_NCCL } bivae_comm;
typedef enum { PRECISION_FP32 = 0, PRECISION_TF32, PRECISION_BF16 } bivae_precision;
typedef enum { FIRST_LAYER_SHARDED = 0, FIRST_LAYER_REPLICATED } bivae_first_layer;

typedef struct bivae_model_config {
    int k;                              /* latent size K                      (--k, 10) */
    int n_hidden;                       /* number of hidden layers                      */
    int hidden[BIVAE_MAX_HIDDEN];       /* hidden sizes                  (--encoder, 20) */
    kern_act act;                       /* hidden activation             (--act, tanh) */
    kern_lik likelihood;                /* decoder likelihood      (--likelihood, pois) */
    double beta_kl;                     /* KL weight λ                 (--beta-kl, 1.0) */
    int cap_user, cap_item;             /* constrained adaptive priors (--cap-priors)   */
} bivae_model_config;

typedef struct bivae_train_config {
    int epochs;                         /* --epochs, 100 */
    int batch_size;                     /* --batch-size, 100 (global batch) */
    double lr;                          /* --lr, 0.001 */
    uint64_t seed;                      /* --seed, 42 */
} bivae_train_config;

typedef struct bivae_system_config {
    bivae_device device;                /* --device auto */
    bivae_comm comm;                    /* --comm auto */
    bivae_precision precision;          /* --precision fp32 */
    int threads;                        /* --threads, 0 = auto (cores / ranks on the node) */
    int check_replicas;                 /* --check-replicas: compare parameter checksums */
    double comm_timeout;                /* --comm-timeout S, 300 (0: wait forever) */
    bivae_first_layer first_layer;      /* --first-layer sharded (src/model.h) */
} bivae_system_config;

typedef struct bivae_output_config {
    int top_k;                          /* --top-k, 10 */
    int eval_every;                     /* --eval-every, 0 = only at the end */
    const char *metrics_out;            /* --metrics-out FILE (JSON lines) */
    const char *checkpoint_dir;         /* --checkpoint-dir */
    int checkpoint_every;               /* --checkpoint-every */
    int keep;                           /* --keep */
    int resume;                         /* --resume */
    int overwrite;                      /* --overwrite: a new run beside another's checkpoints */
    int quiet;                          /* --quiet */
    const char *out;                    /* --out (gen, recommend, export) */
} bivae_output_config;

typedef struct bivae_config {
    bivae_command command;
    data_options data;                  /* --data/--train/--test/--format/--synthetic/... */
    bivae_model_config model;
    bivae_train_config train;
    bivae_system_config system;
    bivae_output_config output;
    const char *model_path;             /* --model CKPT (eval, recommend, export) */
    const char *user;                   /* --user RAWID (recommend) */
    const char *users_file;             /* --users FILE (recommend) */
    const char *history_file;           /* --history FILE (recommend: fold-in users) */
    const char *new_items_file;         /* --new-items FILE (recommend: not built yet) */
    int test_ratio_given, id_order_given;        /* set when the flag is on the command line */
    double cold_history_ratio;          /* --cold-history-ratio R (refused: not built yet) */
    int cold_history_given;
    int header_flag, no_header_flag;             /* --header / --no-header (-> data.header) */
} bivae_config;

#endif
