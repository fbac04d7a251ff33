/* src/cli.c — the command line of docs/cli.md. ONE table (cli_options below) lists every
 * flag: the commands it applies to, its value kind, default, help text and the field of
 * bivae_config it is stored in. The parser, the defaults (cli_defaults parses each
 * default text) and --help all walk that table, so they cannot drift apart. */
#include "src/cli.h"

#include <assert.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"

#ifndef BIVAE_VERSION
#define BIVAE_VERSION "unknown"
#endif

/* ---------------------------------------------------------------------------------- */
/* the table                                                                            */

typedef enum {
    OPT_INT,        /* int, range [lo, hi] */
    OPT_U64,        /* uint64_t, any value */
    OPT_DOUBLE,     /* double, finite, range [lo, hi] (lo_open / hi_open: exclusive) */
    OPT_STRING,     /* const char *, non-empty, points into argv */
    OPT_ENUM,       /* int-sized enum, one of `words` */
    OPT_LAYERS,     /* H[,H...] into bivae_model_config n_hidden / hidden[] */
    OPT_CAPS,       /* user | item | user,item into bivae_model_config cap_user / cap_item */
    OPT_FLAG        /* no value: int set to 1 */
} opt_kind;

typedef enum { GRP_INPUT, GRP_DATA, GRP_MODEL, GRP_TRAINING, GRP_SYSTEM, GRP_OUTPUT,
               GRP_COUNT } opt_group;

static const char *const group_titles[GRP_COUNT] = {
    "input", "data", "model", "training", "system", "output"
};

typedef struct cli_word {
    const char *word;
    int value;
} cli_word;

typedef struct cli_option {
    const char *name;           /* the flag without its leading "--" */
    unsigned cmds;              /* commands it applies to: bits (1u << bivae_command) */
    opt_group group;
    opt_kind kind;
    const char *arg;            /* value placeholder in --help (enums: the words) */
    const cli_word *words;      /* OPT_ENUM: allowed words, ended by {NULL, 0} */
    double lo, hi;              /* OPT_INT / OPT_DOUBLE: allowed range */
    int lo_open, hi_open;       /* OPT_DOUBLE: exclusive bounds */
    const char *def;            /* default (parsed by cli_defaults); NULL: none / off */
    const char *help;
    size_t at;                  /* offsetof(bivae_config, field) */
    size_t given_at;            /* int field set to 1 when the flag is given; 0: none */
} cli_option;

#define CMD_BIT(c) (1u << (c))
#define TRAIN CMD_BIT(CMD_TRAIN)
#define EVAL CMD_BIT(CMD_EVAL)
#define RECOMMEND CMD_BIT(CMD_RECOMMEND)
#define EXPORT CMD_BIT(CMD_EXPORT)
#define GEN CMD_BIT(CMD_GEN)
#define AT(field) offsetof(bivae_config, field)

/* given_at == 0 means "none": offset 0 is bivae_config.command, never a given-flag. */
_Static_assert(offsetof(bivae_config, command) == 0, "given_at 0 must mean none");
/* enums are written through int * */
_Static_assert(sizeof(kern_act) == sizeof(int) && sizeof(kern_lik) == sizeof(int) &&
               sizeof(data_format) == sizeof(int) && sizeof(bivae_device) == sizeof(int) &&
               sizeof(bivae_comm) == sizeof(int) && sizeof(bivae_precision) == sizeof(int) &&
               sizeof(bivae_first_layer) == sizeof(int) &&
               sizeof(feature_format) == sizeof(int) && sizeof(missing_features) == sizeof(int),
               "enums must be int-sized");

static const cli_word format_words[] = {
    {"auto", DATA_FORMAT_AUTO}, {"ml-100k", DATA_FORMAT_ML100K}, {"ml-1m", DATA_FORMAT_ML1M},
    {"ml-20m", DATA_FORMAT_ML20M}, {"csv", DATA_FORMAT_CSV}, {"tsv", DATA_FORMAT_TSV},
    {NULL, 0}
};
static const cli_word features_format_words[] = {
    {"auto", FEAT_FORMAT_AUTO}, {"dense", FEAT_FORMAT_DENSE}, {"sparse", FEAT_FORMAT_SPARSE},
    {"ml-100k-user", FEAT_FORMAT_ML100K_USER}, {"ml-100k-item", FEAT_FORMAT_ML100K_ITEM},
    {"ml-1m-user", FEAT_FORMAT_ML1M_USER}, {"ml-1m-item", FEAT_FORMAT_ML1M_ITEM},
    {"ml-20m-item", FEAT_FORMAT_ML20M_ITEM}, {"genome", FEAT_FORMAT_GENOME}, {NULL, 0}
};
static const cli_word missing_features_words[] = {
    {"zero", MISSING_FEATURES_ZERO}, {"error", MISSING_FEATURES_ERROR}, {NULL, 0}
};
static const cli_word id_order_words[] = { {"permuted", 1}, {"sorted", 0}, {NULL, 0} };
static const cli_word act_words[] = {
    {"sigmoid", KERN_ACT_SIGMOID}, {"tanh", KERN_ACT_TANH}, {"elu", KERN_ACT_ELU},
    {"relu", KERN_ACT_RELU}, {"relu6", KERN_ACT_RELU6}, {NULL, 0}
};
static const cli_word lik_words[] = {
    {"pois", KERN_LIK_POIS}, {"bern", KERN_LIK_BERN}, {"gaus", KERN_LIK_GAUS}, {NULL, 0}
};
static const cli_word device_words[] = {
    {"cpu", DEVICE_CPU}, {"cuda", DEVICE_CUDA}, {"auto", DEVICE_AUTO}, {NULL, 0}
};
static const cli_word comm_words[] = {
    {"mpi", COMM_MPI}, {"nccl", COMM_NCCL}, {"auto", COMM_AUTO}, {NULL, 0}
};
static const cli_word first_layer_words[] = {
    {"sharded", FIRST_LAYER_SHARDED}, {"replicated", FIRST_LAYER_REPLICATED}, {NULL, 0}
};
static const cli_word precision_words[] = {
    {"fp32", PRECISION_FP32}, {"tf32", PRECISION_TF32}, {"bf16", PRECISION_BF16}, {NULL, 0}
};

#define INT_RANGE(min, max) .lo = (min), .hi = (max)
#define ANY_DOUBLE .lo = -DBL_MAX, .hi = DBL_MAX

static const cli_option cli_options[] = {
    /* ---- input (checkpoints and users) ---- */
    {"model", EVAL | RECOMMEND | EXPORT, GRP_INPUT, OPT_STRING, "CKPT", NULL, 0, 0, 0, 0,
     NULL, "checkpoint to load", AT(model_path), 0},
    {"user", RECOMMEND, GRP_INPUT, OPT_STRING, "RAWID", NULL, 0, 0, 0, 0,
     NULL, "raw user id to recommend for", AT(user), 0},
    {"users", RECOMMEND, GRP_INPUT, OPT_STRING, "FILE", NULL, 0, 0, 0, 0,
     NULL, "file of raw user ids, one per line", AT(users_file), 0},
    {"history", RECOMMEND, GRP_INPUT, OPT_STRING, "FILE", NULL, 0, 0, 0, 0,
     NULL, "users with their items (a ratings file, user item [rating] lines): each is "
     "folded in by the user encoder from these items and gets top-K", AT(history_file), 0},
    {"new-items", RECOMMEND, GRP_INPUT, OPT_STRING, "FILE", NULL, 0, 0, 0, 0,
     NULL, "item features of items without ratings: they join the candidates with beta = mu_prior (a checkpoint with an item prior)", AT(new_items_file), 0},

    /* ---- data ---- */
    {"data", TRAIN | EVAL, GRP_DATA, OPT_STRING, "FILE", NULL, 0, 0, 0, 0,
     NULL, "all ratings, split into train/test by --test-ratio. Plain files: each rank reads "
     "its own byte range; gzip and zstd files (told by their first bytes): every rank "
     "inflates the whole stream and keeps every P-th line, so they do not read faster with "
     "more ranks", AT(data.data_path), 0},
    {"train", TRAIN | EVAL, GRP_DATA, OPT_STRING, "FILE", NULL, 0, 0, 0, 0,
     NULL, "training ratings (an explicit split; alone: no evaluation)", AT(data.train_path), 0},
    {"test", TRAIN | EVAL, GRP_DATA, OPT_STRING, "FILE", NULL, 0, 0, 0, 0,
     NULL, "test ratings (with --train)", AT(data.test_path), 0},
    {"format", TRAIN | EVAL | RECOMMEND, GRP_DATA, OPT_ENUM, NULL, format_words, 0, 0, 0, 0,
     "auto", "file format (auto: by name, then by content)", AT(data.format), 0},
    {"synthetic", TRAIN | EVAL | GEN, GRP_DATA, OPT_STRING, "PRESET", NULL, 0, 0, 0, 0,
     NULL, "built-in data: ml-100k, ml-1m, ml-20m or UxIxNNZ", AT(data.synthetic), 0},
    {"test-ratio", TRAIN | EVAL, GRP_DATA, OPT_DOUBLE, "R", NULL, 0, 1, 0, 1,
     "0.25", "test share of --data / --synthetic (hash split)", AT(data.test_ratio),
     AT(test_ratio_given)},
    {"min-rating", TRAIN | EVAL, GRP_DATA, OPT_DOUBLE, "R", NULL, ANY_DOUBLE, 0, 0,
     NULL, "keep only ratings >= R before binarizing (none: keep all ratings)", AT(data.min_rating),
     AT(data.has_min_rating)},
    {"id-order", TRAIN | EVAL, GRP_DATA, OPT_ENUM, NULL, id_order_words, 0, 0, 0, 0,
     "permuted", "dense id order: seeded permutation or sorted raw ids", AT(data.permute_ids),
     AT(id_order_given)},
    {"sep", TRAIN | EVAL, GRP_DATA, OPT_STRING, "S", NULL, 0, 0, 0, 0,
     NULL, "field separator of csv/tsv files: tab, comma, semicolon, pipe, space (runs of "
     "blanks) or the string itself, e.g. '::' (none: the format's own)", AT(data.sep), 0},
    {"columns", TRAIN | EVAL, GRP_DATA, OPT_STRING, "user=C,item=C[,rating=C]", NULL, 0, 0, 0,
     0, NULL, "where the ids and the rating are: C a header name (e.g. user=reviewerID,"
     "item=asin,rating=overall) or a 1-based column number; no rating: every rating is 1 "
     "(none: user, item and rating in columns 1, 2, 3)", AT(data.columns), 0},
    {"header", TRAIN | EVAL, GRP_DATA, OPT_FLAG, NULL, NULL, 0, 0, 0, 0,
     NULL, "line 1 of each file is a header: skip it (without it, line 1 of a csv/tsv file "
     "is a header only when it names columns such as user, item, rating)", AT(header_flag), 0},
    {"no-header", TRAIN | EVAL, GRP_DATA, OPT_FLAG, NULL, NULL, 0, 0, 0, 0,
     NULL, "line 1 of each file is data, never a header", AT(no_header_flag), 0},

    /* ---- model ---- */
    {"k", TRAIN, GRP_MODEL, OPT_INT, "K", NULL, INT_RANGE(1, BIVAE_MAX_K), 0, 0,
     "10", "latent size", AT(model.k), 0},
    {"encoder", TRAIN, GRP_MODEL, OPT_LAYERS, "H[,H...]", NULL,
     INT_RANGE(1, BIVAE_MAX_LAYER_SIZE), 0, 0,
     "20", "hidden layer sizes of both encoders", AT(model), 0},
    {"act", TRAIN, GRP_MODEL, OPT_ENUM, NULL, act_words, 0, 0, 0, 0,
     "tanh", "hidden activation", AT(model.act), 0},
    {"likelihood", TRAIN, GRP_MODEL, OPT_ENUM, NULL, lik_words, 0, 0, 0, 0,
     "pois", "decoder likelihood", AT(model.likelihood), 0},
    {"beta-kl", TRAIN, GRP_MODEL, OPT_DOUBLE, "X", NULL, 0, 10000, 0, 0,
     "1.0", "KL weight", AT(model.beta_kl), 0},
    {"cap-priors", TRAIN, GRP_MODEL, OPT_CAPS, "user|item|both", NULL, 0, 0, 0, 0,
     NULL, "constrained adaptive priors from that side's features (user, item, both)",
     AT(model), 0},
    {"user-features", TRAIN | RECOMMEND, GRP_MODEL, OPT_STRING, "FILE", NULL, 0, 0, 0, 0,
     NULL, "user features: dense (id,f1,...,fn), sparse (id feat[:value] ...) or the "
     "MovieLens u.user / users.dat; each rank holds the rows of its own users",
     AT(data.user_features), 0},
    {"item-features", TRAIN, GRP_MODEL, OPT_STRING, "FILE", NULL, 0, 0, 0, 0,
     NULL, "item features: dense, sparse or the MovieLens u.item / movies.dat / movies.csv / "
     "genome-scores.csv", AT(data.item_features), 0},
    {"features-format", TRAIN | RECOMMEND, GRP_MODEL, OPT_ENUM, NULL, features_format_words, 0, 0, 0, 0,
     "auto", "format of the feature files (auto: each by its name, then its first line)",
     AT(data.features_format), 0},
    {"missing-features", TRAIN, GRP_MODEL, OPT_ENUM, NULL, missing_features_words, 0, 0, 0, 0,
     "zero", "a user or item of the training split without a feature row: a zero row "
     "(counted), or an error", AT(data.missing_features), 0},
    {"synthetic-features", TRAIN, GRP_MODEL, OPT_INT, "D", NULL, INT_RANGE(0, 4096), 0, 0,
     "0", "with --synthetic: D features per user and item, noisy linear views of the "
     "generator's latent topics (0: none)", AT(data.synthetic_features), 0},
    {"cold-users", TRAIN, GRP_MODEL, OPT_DOUBLE, "F", NULL, 0, 1, 1, 1,
     NULL, "evaluation of cold start: a seeded fraction F of the users (0 < F < 1) gets all "
     "its ratings in the test split and is scored from its features (θ = μ_prior, needs "
     "--cap-priors user|both), apart from the warm users, beside the most-popular baseline",
     AT(data.cold_users), 0},
    {"cold-history-ratio", TRAIN, GRP_MODEL, OPT_DOUBLE, "R", NULL, 0, 1, 1, 1,
     NULL, "with --cold-users, one rank: a part R of each cold user's ratings is a history "
     "folded in through the user encoder (no training), the rest its test part",
     AT(cold_history_ratio), AT(cold_history_given)},

    /* ---- training ---- */
    {"epochs", TRAIN, GRP_TRAINING, OPT_INT, "N", NULL, INT_RANGE(1, BIVAE_MAX_EPOCHS), 0, 0,
     "100", "training epochs", AT(train.epochs), 0},
    {"batch-size", TRAIN, GRP_TRAINING, OPT_INT, "B", NULL, INT_RANGE(1, BIVAE_MAX_BATCH), 0,
     0,
     "100", "global batch size (the same for any rank count)", AT(train.batch_size), 0},
    {"lr", TRAIN, GRP_TRAINING, OPT_DOUBLE, "X", NULL, 0, 1, 1, 0,
     "0.001", "Adam learning rate", AT(train.lr), 0},
    {"seed", TRAIN | GEN, GRP_TRAINING, OPT_U64, "S", NULL, 0, 0, 0, 0,
     "42", "random seed (initialization, sampling, split, id order, synthetic data)",
     AT(train.seed), 0},

    /* ---- system ---- */
    {"device", TRAIN, GRP_SYSTEM, OPT_ENUM, NULL, device_words, 0, 0, 0, 0,
     "auto", "compute device (auto: cuda when every rank sees a GPU, else cpu)",
     AT(system.device), 0},
    {"comm", TRAIN, GRP_SYSTEM, OPT_ENUM, NULL, comm_words, 0, 0, 0, 0,
     "auto", "communicator (auto: nccl with cuda)", AT(system.comm), 0},
    {"precision", TRAIN, GRP_SYSTEM, OPT_ENUM, NULL, precision_words, 0, 0, 0, 0,
     "fp32", "GPU GEMM precision (tf32, bf16: an error without a GPU, also when --device "
     "auto finds none)", AT(system.precision), 0},
    {"threads", TRAIN, GRP_SYSTEM, OPT_INT, "N", NULL, INT_RANGE(0, BIVAE_MAX_THREADS), 0, 0,
     "0", "CPU threads per rank, at most the cores this rank may run on (its CPU affinity "
     "mask; 0: those cores, shared among the ranks of the node)", AT(system.threads), 0},
    {"check-replicas", TRAIN, GRP_SYSTEM, OPT_FLAG, NULL, NULL, 0, 0, 0, 0,
     NULL, "compare a parameter checksum across ranks", AT(system.check_replicas), 0},
    {"comm-timeout", TRAIN, GRP_SYSTEM, OPT_DOUBLE, "S", NULL, 0, 86400, 0, 0, "300",
     "seconds a collective may wait for a stalled or dead rank before the job fails (0: "
     "forever)", AT(system.comm_timeout), 0},
    {"first-layer", TRAIN, GRP_SYSTEM, OPT_ENUM, NULL, first_layer_words, 0, 0, 0, 0,
     "sharded", "first encoder layer across ranks: sharded (rows of W1 by feature owner, "
     "small all-reduces) or replicated (whole gradient all-reduced every step)",
     AT(system.first_layer), 0},

    /* ---- output ---- */
    {"top-k", TRAIN | EVAL | RECOMMEND, GRP_OUTPUT, OPT_INT, "K", NULL,
     INT_RANGE(1, BIVAE_MAX_TOP_K), 0, 0,
     "10", "metrics at K / items to recommend", AT(output.top_k), 0},
    {"eval-every", TRAIN, GRP_OUTPUT, OPT_INT, "N", NULL, INT_RANGE(0, BIVAE_MAX_EPOCHS), 0, 0,
     "0", "evaluate every N epochs (0: only at the end)", AT(output.eval_every), 0},
    {"metrics-out", TRAIN, GRP_OUTPUT, OPT_STRING, "FILE", NULL, 0, 0, 0, 0,
     NULL, "JSON lines: one object per epoch, then the final metrics", AT(output.metrics_out),
     0},
    {"checkpoint-dir", TRAIN, GRP_OUTPUT, OPT_STRING, "DIR", NULL, 0, 0, 0, 0,
     NULL, "write checkpoints into DIR (made as mkdir -p does); a new run there needs it free "
     "of checkpoints, or --resume / --overwrite", AT(output.checkpoint_dir), 0},
    {"checkpoint-every", TRAIN, GRP_OUTPUT, OPT_INT, "N", NULL,
     INT_RANGE(0, BIVAE_MAX_EPOCHS), 0, 0,
     "0", "checkpoint every N epochs (0: only at the end)", AT(output.checkpoint_every), 0},
    {"keep", TRAIN, GRP_OUTPUT, OPT_INT, "N", NULL, INT_RANGE(1, BIVAE_MAX_KEEP), 0, 0,
     "2", "checkpoints to keep", AT(output.keep), 0},
    {"resume", TRAIN, GRP_OUTPUT, OPT_FLAG, NULL, NULL, 0, 0, 0, 0,
     NULL, "continue the run in --checkpoint-dir (the one its file current-run names) from "
     "its newest checkpoint, appending to --metrics-out; none: start from scratch",
     AT(output.resume), 0},
    {"overwrite", TRAIN, GRP_OUTPUT, OPT_FLAG, NULL, NULL, 0, 0, 0, 0,
     NULL, "start a new run although --checkpoint-dir holds checkpoints of another run; "
     "nothing of that run is deleted (its files stay, rotation never touches them), and "
     "--resume then continues the new run", AT(output.overwrite), 0},
    {"quiet", TRAIN, GRP_OUTPUT, OPT_FLAG, NULL, NULL, 0, 0, 0, 0,
     NULL, "no progress line", AT(output.quiet), 0},
    {"out", RECOMMEND | EXPORT | GEN, GRP_OUTPUT, OPT_STRING, "PATH", NULL, 0, 0, 0, 0,
     NULL, "recommendations file (recommend; none or -: stdout), directory (export), "
     "ratings file (gen); missing folders are made", AT(output.out), 0},
};

#define N_OPTIONS ((int)(sizeof cli_options / sizeof cli_options[0]))

typedef struct cli_command {
    const char *name;
    bivae_command cmd;
    const char *usage;
    const char *about;
} cli_command;

static const cli_command cli_commands[] = {
    {"train", CMD_TRAIN, "[data] [model] [training] [system] [output]",
     "train a BiVAE model"},
    {"eval", CMD_EVAL, "--model CKPT [data] [--top-k K]", "evaluate a checkpoint"},
    {"recommend", CMD_RECOMMEND,
     "--model CKPT (--user RAWID | --users FILE) [--top-k K] [--out FILE]",
     "top-K items for users of a checkpoint"},
    {"export", CMD_EXPORT, "--model CKPT --out DIR",
     "embeddings as .npy with the raw-id maps"},
    {"gen", CMD_GEN, "--synthetic PRESET --out FILE [--seed S]", "write synthetic ratings"},
};

#define N_COMMANDS ((int)(sizeof cli_commands / sizeof cli_commands[0]))

/* Introspection of the table, see cli.h. */
const char *cli_table_entry(int i, unsigned *cmds, const char **def, int *takes_value)
{
    if (i < 0 || i >= N_OPTIONS)
        return NULL;
    *cmds = cli_options[i].cmds;
    *def = cli_options[i].def;
    *takes_value = cli_options[i].kind != OPT_FLAG;
    return cli_options[i].name;
}

/* ---------------------------------------------------------------------------------- */
/* helpers                                                                              */

static const char *command_name(bivae_command cmd)
{
    for (int i = 0; i < N_COMMANDS; i++)
        if (cli_commands[i].cmd == cmd)
            return cli_commands[i].name;
    return NULL;
}

/* Prints the error line and the hint; returns BIVAE_EXIT_USAGE. flag may be NULL. */
static int usage_error(bivae_command cmd, const char *flag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int usage_error(bivae_command cmd, const char *flag, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bivae-dist: error: ", stderr);
    if (flag)
        fprintf(stderr, "%s: ", flag);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    const char *name = command_name(cmd);
    fprintf(stderr, "run 'bivae-dist %s%s--help' for usage\n", name ? name : "",
            name ? " " : "");
    return BIVAE_EXIT_USAGE;
}

/* Writes "a, b, c" of the words into buf. */
static void join_words(const cli_word *w, const char *sep, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; w[i].word && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? sep : "", w[i].word);
}

static int find_option(const char *name, size_t len)
{
    for (int i = 0; i < N_OPTIONS; i++)
        if (strlen(cli_options[i].name) == len && strncmp(cli_options[i].name, name, len) == 0)
            return i;
    return -1;
}

static int option_index(const char *name) { return find_option(name, strlen(name)); }

/* Levenshtein distance of a[0..la) and b[0..lb); names longer than 63 count as far. */
static int edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
    int row[64];
    if (la > 63 || lb > 63)
        return 99;
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* The flag of cmd closest to name, when within edit distance 2; else NULL. */
static const char *closest_option(const char *name, size_t len, bivae_command cmd)
{
    const char *best = NULL;
    int best_d = 3;
    for (int i = 0; i < N_OPTIONS; i++) {
        if (!(cli_options[i].cmds & CMD_BIT(cmd)))
            continue;
        int d = edit_distance(name, len, cli_options[i].name, strlen(cli_options[i].name));
        if (d < best_d) {
            best_d = d;
            best = cli_options[i].name;
        }
    }
    return best;
}

/* ---------------------------------------------------------------------------------- */
/* values                                                                               */

/* o's range as "[1, 65536]" or "(0, 1]" into buf; "" when any finite value is allowed. */
static void range_bounds(const cli_option *o, char *buf, size_t n)
{
    buf[0] = '\0';
    if (o->kind == OPT_DOUBLE && o->lo == -DBL_MAX && o->hi == DBL_MAX)
        return;
    if (o->kind == OPT_DOUBLE)
        snprintf(buf, n, "%c%g, %g%c", o->lo_open ? '(' : '[', o->lo, o->hi,
                 o->hi_open ? ')' : ']');
    else
        snprintf(buf, n, "[%lld, %lld]", (long long)o->lo, (long long)o->hi);
}

/* "V is out of range (must be in [lo, hi])" into why: both bounds, always. */
static void range_text(const cli_option *o, char *why, size_t n, const char *val)
{
    char bounds[64];
    range_bounds(o, bounds, sizeof bounds);
    snprintf(why, n, "%s is out of range (must be in %s)", val, bounds);
}

static int in_range(const cli_option *o, double v)
{
    if (o->lo_open ? v <= o->lo : v < o->lo)
        return 0;
    return o->hi_open ? v < o->hi : v <= o->hi;
}

/* A decimal integer (optional sign), nothing else. */
static int parse_long(const char *s, long long *out)
{
    char *end;
    if (!*s || !(*s == '-' || *s == '+' || (*s >= '0' && *s <= '9')))
        return -1;
    errno = 0;
    *out = strtoll(s, &end, 10);
    if (*end)
        return -1;
    return errno == ERANGE ? 1 : 0;
}

static int store_int(const cli_option *o, const char *val, int *dst, char *why, size_t n)
{
    long long v;
    int rc = parse_long(val, &v);
    if (rc < 0) {
        snprintf(why, n, "'%s' is not an integer", val);
        return -1;
    }
    if (rc > 0 || !in_range(o, (double)v)) {
        range_text(o, why, n, val);
        return -1;
    }
    *dst = (int)v;
    return 0;
}

static int store_u64(const char *val, uint64_t *dst, char *why, size_t n)
{
    char *end;
    if (!(*val >= '0' && *val <= '9')) {
        snprintf(why, n, "'%s' is not a non-negative integer", val);
        return -1;
    }
    errno = 0;
    unsigned long long v = strtoull(val, &end, 10);
    if (*end) {
        snprintf(why, n, "'%s' is not a non-negative integer", val);
        return -1;
    }
    if (errno == ERANGE) {
        snprintf(why, n, "%s is out of range (must be in [0, %llu])", val,
                 (unsigned long long)UINT64_MAX);
        return -1;
    }
    *dst = (uint64_t)v;
    return 0;
}

static int store_double(const cli_option *o, const char *val, double *dst, char *why,
                        size_t n)
{
    char *end;
    const char *p = (*val == '-' || *val == '+') ? val + 1 : val;
    if (!((*p >= '0' && *p <= '9') || *p == '.')) {  /* also refuses nan, inf, spaces */
        snprintf(why, n, "'%s' is not a finite number", val);
        return -1;
    }
    errno = 0;
    double v = strtod(val, &end);
    if (*end || !isfinite(v)) {
        snprintf(why, n, "'%s' is not a finite number", val);
        return -1;
    }
    if (!in_range(o, v)) {      /* underflow (ERANGE, v ~ 0) is judged by the range */
        range_text(o, why, n, val);
        return -1;
    }
    *dst = v;
    return 0;
}

static int store_enum(const cli_option *o, const char *val, int *dst, char *why, size_t n)
{
    for (int i = 0; o->words[i].word; i++)
        if (strcmp(o->words[i].word, val) == 0) {
            *dst = o->words[i].value;
            return 0;
        }
    char list[128];
    join_words(o->words, ", ", list, sizeof list);
    snprintf(why, n, "'%s' is not one of: %s", val, list);
    return -1;
}

/* "H[,H...]": 1..BIVAE_MAX_HIDDEN sizes, each in o's range. */
static int store_layers(const cli_option *o, const char *val, bivae_model_config *m,
                        char *why, size_t n)
{
    int sizes[BIVAE_MAX_HIDDEN], count = 0;
    const char *p = val;
    for (;;) {
        char item[32];
        size_t len = strcspn(p, ",");
        if (count == BIVAE_MAX_HIDDEN) {
            snprintf(why, n, "'%s' has more than %d layers", val, BIVAE_MAX_HIDDEN);
            return -1;
        }
        if (len == 0 || len >= sizeof item) {
            snprintf(why, n, "'%s' is not a comma-separated list of integers", val);
            return -1;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        if (store_int(o, item, &sizes[count], why, n) != 0)
            return -1;
        count++;
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    m->n_hidden = count;
    memcpy(m->hidden, sizes, sizeof(int) * (size_t)count);
    return 0;
}

/* "user", "item", "user,item" (or "item,user"). */
static int store_caps(const char *val, bivae_model_config *m, char *why, size_t n)
{
    int user = 0, item = 0;
    const char *p = val;
    if (strcmp(val, "both") == 0) {
        m->cap_user = m->cap_item = 1;
        return 0;
    }
    for (;;) {
        size_t len = strcspn(p, ",");
        int *flag = len == 4 && strncmp(p, "user", 4) == 0   ? &user
                    : len == 4 && strncmp(p, "item", 4) == 0 ? &item
                                                              : NULL;
        if (!flag || *flag) {
            snprintf(why, n, "'%s' is not one of: user, item, both", val);
            return -1;
        }
        *flag = 1;
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    m->cap_user = user;
    m->cap_item = item;
    return 0;
}

/* Stores val into o's field of cfg; on error writes the reason into why. */
static int store_value(const cli_option *o, const char *val, bivae_config *cfg, char *why,
                       size_t n)
{
    void *field = (char *)cfg + o->at;
    switch (o->kind) {
    case OPT_INT: return store_int(o, val, field, why, n);
    case OPT_U64: return store_u64(val, field, why, n);
    case OPT_DOUBLE: return store_double(o, val, field, why, n);
    case OPT_ENUM: return store_enum(o, val, field, why, n);
    case OPT_LAYERS: return store_layers(o, val, field, why, n);
    case OPT_CAPS: return store_caps(val, field, why, n);
    case OPT_STRING:
        if (!*val) {
            snprintf(why, n, "empty value");
            return -1;
        }
        *(const char **)field = val;
        return 0;
    case OPT_FLAG:
        *(int *)field = 1;
        return 0;
    }
    return -1;
}

/* Fields derived from others. */
static void finish_config(bivae_config *cfg)
{
    cfg->data.seed = cfg->train.seed;
    cfg->data.header = cfg->header_flag ? DATA_HEADER_YES
                       : cfg->no_header_flag ? DATA_HEADER_NO : DATA_HEADER_AUTO;
}

void cli_defaults(bivae_config *cfg)
{
    char why[160];
    memset(cfg, 0, sizeof *cfg);
    for (int i = 0; i < N_OPTIONS; i++) {
        if (!cli_options[i].def)
            continue;
        int rc = store_value(&cli_options[i], cli_options[i].def, cfg, why, sizeof why);
        assert(rc == 0 && "every default of the table parses");
        (void)rc;
    }
    finish_config(cfg);
}

/* ---------------------------------------------------------------------------------- */
/* help                                                                                 */

static void print_option_help(FILE *out, const cli_option *o)
{
    char left[160], words[128];
    const char *arg = o->arg;
    if (o->kind == OPT_ENUM) {
        join_words(o->words, "|", words, sizeof words);
        arg = words;
    }
    int len = snprintf(left, sizeof left, "  --%s%s%s", o->name, arg ? " " : "",
                       arg ? arg : "");
    if (len > 28)
        fprintf(out, "%s\n%30s", left, "");
    else
        fprintf(out, "%-30s", left);
    const char *def = o->def ? o->def : o->kind == OPT_FLAG ? "off" : "none";
    char bounds[64] = "";
    if (o->kind == OPT_INT || o->kind == OPT_DOUBLE || o->kind == OPT_LAYERS)
        range_bounds(o, bounds, sizeof bounds);
    fprintf(out, "%s%s%s (default: %s)\n", o->help,
            !bounds[0] ? "" : o->kind == OPT_LAYERS ? ", each in " : ", in ", bounds, def);
}

static void print_command_help(FILE *out, const cli_command *c)
{
    fprintf(out, "usage: bivae-dist %s %s\n\n%s.\n", c->name, c->usage, c->about);
    for (int g = 0; g < GRP_COUNT; g++) {
        int shown = 0;
        for (int i = 0; i < N_OPTIONS; i++) {
            const cli_option *o = &cli_options[i];
            if (o->group != (opt_group)g || !(o->cmds & CMD_BIT(c->cmd)))
                continue;
            if (!shown++)
                fprintf(out, "\n%s:\n", group_titles[g]);
            print_option_help(out, o);
        }
    }
    fputs("\nFlags take --name value or --name=value.\n", out);
}

static void print_overview(FILE *out)
{
    fputs("usage:\n", out);
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  bivae-dist %-9s %s\n", cli_commands[i].name, cli_commands[i].usage);
    fputs("  bivae-dist --help | --version\n\ncommands:\n", out);
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-11s %s\n", cli_commands[i].name, cli_commands[i].about);
    fputs("\nrun 'bivae-dist <command> --help' for the flags of a command and their "
          "defaults.\n", out);
}

void cli_print_help(FILE *out, bivae_command cmd)
{
    for (int i = 0; i < N_COMMANDS; i++)
        if (cli_commands[i].cmd == cmd) {
            print_command_help(out, &cli_commands[i]);
            return;
        }
    print_overview(out);
}

/* ---------------------------------------------------------------------------------- */
/* parsing                                                                              */

typedef struct parser {
    bivae_command cmd;
    bivae_config *cfg;
    char seen[N_OPTIONS];
} parser;

static int given(const parser *p, const char *name)
{
    int i = option_index(name);
    assert(i >= 0 && "cross-check names a flag of the table");
    return i >= 0 && p->seen[i];
}

static int is_help(const char *a) { return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0; }

/* A value that is really the next flag ("--k" after "--data"). */
static int looks_like_flag(const char *a) { return a[0] == '-' && a[1] == '-' && a[2]; }

static int unknown_flag(const parser *p, const char *arg, const char *name, size_t len)
{
    const char *near = closest_option(name, len, p->cmd);
    if (near)
        return usage_error(p->cmd, NULL, "%.*s: unknown flag (did you mean --%s?)",
                           (int)(name - arg + len), arg, near);
    return usage_error(p->cmd, NULL, "%.*s: unknown flag", (int)(name - arg + len), arg);
}

static int not_for_command(const parser *p, const cli_option *o)
{
    char list[64] = "";
    size_t len = 0;
    for (int i = 0; i < N_COMMANDS; i++)
        if (o->cmds & CMD_BIT(cli_commands[i].cmd))
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", len ? ", " : "",
                                    cli_commands[i].name);
    char flag[64];
    snprintf(flag, sizeof flag, "--%s", o->name);
    return usage_error(p->cmd, flag, "not valid for '%s' (applies to: %s)",
                       command_name(p->cmd), list);
}

/* Parses argv[*i] (and its value); advances *i past what it used. */
static int parse_one(parser *p, int argc, char **argv, int *i)
{
    const char *arg = argv[*i];
    if (arg[0] != '-' || strcmp(arg, "-") == 0 || strcmp(arg, "--") == 0)
        return usage_error(p->cmd, NULL, "%s: unexpected argument (flags take --name value)",
                           arg);
    const char *name = arg + strspn(arg, "-");
    size_t len = strcspn(name, "=");
    int idx = name - arg == 2 ? find_option(name, len) : -1;
    if (idx < 0)
        return unknown_flag(p, arg, name, len);
    const cli_option *o = &cli_options[idx];
    char flag[64], why[192];
    snprintf(flag, sizeof flag, "--%s", o->name);
    if (!(o->cmds & CMD_BIT(p->cmd)))
        return not_for_command(p, o);
    if (p->seen[idx])
        return usage_error(p->cmd, flag, "given twice");
    p->seen[idx] = 1;
    const char *val = name[len] == '=' ? name + len + 1 : NULL;
    if (o->kind == OPT_FLAG && val)
        return usage_error(p->cmd, flag, "takes no value (got '%s')", val);
    if (o->kind != OPT_FLAG && !val) {
        if (*i + 1 >= argc || looks_like_flag(argv[*i + 1]))
            return usage_error(p->cmd, flag, "missing value");
        val = argv[++*i];
    }
    if (store_value(o, val ? val : "", p->cfg, why, sizeof why) != 0)
        return usage_error(p->cmd, flag, "%s", why);
    if (o->given_at)
        *(int *)((char *)p->cfg + o->given_at) = 1;
    return 0;
}

/* ---------------------------------------------------------------------------------- */
/* cross-flag checks                                                                    */

static int check_data(const parser *p, int require)
{
    int sources = given(p, "data") + given(p, "train") + given(p, "synthetic");
    if (given(p, "test") && !given(p, "train"))
        return usage_error(p->cmd, "--test", "needs --train FILE (--data and --synthetic "
                           "are split by --test-ratio)");
    if (sources == 0 && require)
        return usage_error(p->cmd, NULL, "no training data: give --data FILE, "
                           "--train FILE [--test FILE] or --synthetic PRESET");
    if (sources > 1)
        return usage_error(p->cmd, given(p, "synthetic") ? "--synthetic" : "--train",
                           "give only one data source (--data, --train [--test] or "
                           "--synthetic)");
    if (given(p, "test-ratio") && given(p, "train"))
        return usage_error(p->cmd, "--test-ratio", "only applies to --data or --synthetic "
                           "(--train/--test is an explicit split)");
    static const char *const file_only[] = {"format", "sep", "columns", "header", "no-header"};
    for (int k = 0; k < 5; k++)
        if (given(p, file_only[k]) && given(p, "synthetic")) {
            char flag[32];
            snprintf(flag, sizeof flag, "--%s", file_only[k]);
            return usage_error(p->cmd, flag, "does not apply to --synthetic");
        }
    if (given(p, "header") && given(p, "no-header"))
        return usage_error(p->cmd, "--no-header", "give either --header or --no-header");
    const data_format f = p->cfg->data.format;
    int delimited = f == DATA_FORMAT_AUTO || f == DATA_FORMAT_CSV || f == DATA_FORMAT_TSV;
    if (!delimited && (given(p, "sep") || given(p, "columns")))
        return usage_error(p->cmd, given(p, "sep") ? "--sep" : "--columns", "applies to csv, "
                           "tsv or auto files (--format %s has its own layout)",
                           f == DATA_FORMAT_ML100K ? "ml-100k" : f == DATA_FORMAT_ML1M ? "ml-1m"
                                                                                   : "ml-20m");
    return 0;
}

static int check_model(const parser *p)
{
    const bivae_config *c = p->cfg;
    int files = given(p, "user-features") || given(p, "item-features");
    int synth = c->data.synthetic_features > 0;   /* features of both sides */
    if (c->model.cap_user && !c->data.user_features && !synth)
        return usage_error(p->cmd, "--cap-priors", "user needs --user-features FILE (or "
                           "--synthetic-features D)");
    if (c->model.cap_item && !c->data.item_features && !synth)
        return usage_error(p->cmd, "--cap-priors", "item needs --item-features FILE (or "
                           "--synthetic-features D)");
    int fmt = c->data.features_format != FEAT_FORMAT_AUTO;      /* values other than defaults */
    if (!files && (fmt || c->data.missing_features != MISSING_FEATURES_ZERO))
        return usage_error(p->cmd, fmt ? "--features-format" : "--missing-features",
                           "needs --user-features FILE or --item-features FILE");
    if (c->data.synthetic_features > 0 && !given(p, "synthetic"))
        return usage_error(p->cmd, "--synthetic-features", "needs --synthetic PRESET");
    if (given(p, "cold-history-ratio") && !given(p, "cold-users"))
        return usage_error(p->cmd, "--cold-history-ratio", "needs --cold-users F");
    if (given(p, "cold-users") && !c->model.cap_user)
        return usage_error(p->cmd, "--cold-users", "needs --cap-priors user|both (cold users "
                           "are scored from their features)");
    if (c->data.synthetic_features > 0 && files)
        return usage_error(p->cmd, "--synthetic-features", "makes the features of both "
                           "sides: not with --user-features / --item-features");
    return 0;
}

static int check_system(const parser *p)
{
    const bivae_system_config *s = &p->cfg->system;
    if (s->device == DEVICE_CPU && s->precision != PRECISION_FP32)
        return usage_error(p->cmd, "--precision", "%s needs a GPU (--device cpu given)",
                           s->precision == PRECISION_TF32 ? "tf32" : "bf16");
    if (s->device == DEVICE_CPU && s->comm == COMM_NCCL)
        return usage_error(p->cmd, "--comm", "nccl needs a GPU (--device cpu given)");
    return 0;
}

static int check_output(const parser *p)
{
    static const char *const needs_dir[] = {"resume", "checkpoint-every", "keep", "overwrite"};
    if (p->cfg->output.resume && p->cfg->output.overwrite)
        return usage_error(p->cmd, "--overwrite", "starts a new run: not with --resume");
    if (p->cfg->output.checkpoint_dir)
        return 0;
    for (int i = 0; i < 4; i++)
        if (given(p, needs_dir[i])) {
            char flag[64];
            snprintf(flag, sizeof flag, "--%s", needs_dir[i]);
            return usage_error(p->cmd, flag, "needs --checkpoint-dir DIR");
        }
    return 0;
}

/* Each name in the NULL-ended list must have been given. */
static int check_required(const parser *p, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (!given(p, names[i])) {
            char flag[64];
            snprintf(flag, sizeof flag, "--%s", names[i]);
            return usage_error(p->cmd, flag, "required by '%s'", command_name(p->cmd));
        }
    return 0;
}

static int check_recommend(const parser *p)
{
    static const char *const req[] = {"model", NULL};
    int rc = check_required(p, req);
    if (rc)
        return rc;
    if (given(p, "user") + given(p, "users") + given(p, "history") + given(p, "user-features") > 1)
        return usage_error(p->cmd, given(p, "history") ? "--history" : given(p, "user-features") ?
                           "--user-features" : "--users", "give one of --user RAWID, --users "
                           "FILE, --history FILE and --user-features FILE");
    if (!given(p, "user") && !given(p, "users") && !given(p, "history") &&
        !given(p, "user-features"))
        return usage_error(p->cmd, "--user", "recommend needs --user RAWID, --users FILE or "
                           "--history FILE");
    return 0;
}

static int check_command(const parser *p)
{
    static const char *const model_req[] = {"model", NULL};
    static const char *const export_req[] = {"model", "out", NULL};
    static const char *const gen_req[] = {"synthetic", "out", NULL};
    int rc;
    switch (p->cmd) {
    case CMD_TRAIN:
        if ((rc = check_data(p, 1)) || (rc = check_model(p)) || (rc = check_system(p)))
            return rc;
        return check_output(p);
    case CMD_EVAL:
        if ((rc = check_required(p, model_req)))
            return rc;
        return check_data(p, 0);
    case CMD_RECOMMEND: return check_recommend(p);
    case CMD_EXPORT: return check_required(p, export_req);
    case CMD_GEN: return check_required(p, gen_req);
    default: return 0;
    }
}

/* The first argument: a command, --help or --version. */
static int parse_command(const char *a, bivae_config *cfg)
{
    for (int i = 0; i < N_COMMANDS; i++)
        if (strcmp(a, cli_commands[i].name) == 0) {
            cfg->command = cli_commands[i].cmd;
            return 0;
        }
    if (is_help(a)) {
        print_overview(stdout);
        cfg->command = CMD_HELP;
        return 0;
    }
    if (strcmp(a, "--version") == 0) {
        printf("bivae-dist %s\n", BIVAE_VERSION);
        cfg->command = CMD_VERSION;
        return 0;
    }
    if (a[0] == '-')
        return usage_error(CMD_NONE, a, "a command comes first "
                           "(train, eval, recommend, export, gen)");
    return usage_error(CMD_NONE, a, "unknown command (train, eval, recommend, export, gen)");
}

/* "--help CMD [...]": CMD's help; "--help x", "--version x": an error, not silence. 1 when
 * argv is neither (parse_command takes it from there), else the status. */
static int parse_help_or_version_args(int argc, char **argv, bivae_config *cfg)
{
    if (argc < 3 || (!is_help(argv[1]) && strcmp(argv[1], "--version") != 0))
        return 1;
    if (strcmp(argv[1], "--version") == 0)
        return usage_error(CMD_NONE, "--version", "takes no arguments (got '%s')", argv[2]);
    for (int i = 0; i < N_COMMANDS; i++)
        if (strcmp(argv[2], cli_commands[i].name) == 0) {
            cli_print_help(stdout, cli_commands[i].cmd);
            cfg->command = CMD_HELP;
            return 0;
        }
    return usage_error(CMD_NONE, argv[1], "'%s' is not a command (train, eval, recommend, "
                       "export, gen)", argv[2]);
}

int cli_parse(int argc, char **argv, bivae_config *cfg)
{
    cli_defaults(cfg);
    if (argc < 2) {
        print_overview(stderr);
        return BIVAE_EXIT_USAGE;
    }
    int rc = parse_help_or_version_args(argc, argv, cfg);
    if (rc != 1)
        return rc;
    rc = parse_command(argv[1], cfg);
    if (rc || cfg->command == CMD_HELP || cfg->command == CMD_VERSION)
        return rc;
    for (int i = 2; i < argc; i++)
        if (is_help(argv[i])) {
            cli_print_help(stdout, cfg->command);
            cfg->command = CMD_HELP;
            return 0;
        }
    parser p = {.cmd = cfg->command, .cfg = cfg};
    memset(p.seen, 0, sizeof p.seen);
    for (int i = 2; i < argc; i++)
        if ((rc = parse_one(&p, argc, argv, &i)))
            return rc;
    finish_config(cfg);
    return check_command(&p);
}
