/* src/main.c — bivae-dist: parse the command line, start MPI, run the command. */
#include <fcntl.h>
#include <mpi.h>
#include <stdio.h>
#include <unistd.h>

#include "comm/comm.h"
#include "common/check.h"
#include "src/app.h"
#include "src/cli.h"

/* A runtime failure on one rank ends the whole job, so no rank waits forever in a
 * collective for a rank that is gone. */
static void abort_job(int code)
{
    int initialized = 0, finalized = 0, size = 1;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (!initialized || finalized)
        return;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size > 1)
        MPI_Abort(MPI_COMM_WORLD, code);
    MPI_Finalize();
}

/* Every rank parses the command line (they must agree on it), but only rank 0 speaks:
 * the others parse with stdout and stderr sent to /dev/null. */
static int parse_quietly_unless_rank0(int argc, char **argv, bivae_config *cfg, int rank)
{
    if (rank == 0)
        return cli_parse(argc, argv, cfg);
    fflush(stdout);
    fflush(stderr);
    int out = dup(1), err = dup(2), null = open("/dev/null", O_WRONLY);
    if (out < 0 || err < 0 || null < 0)
        return cli_parse(argc, argv, cfg);
    dup2(null, 1);
    dup2(null, 2);
    int status = cli_parse(argc, argv, cfg);
    fflush(stdout);
    fflush(stderr);
    dup2(out, 1);
    dup2(err, 2);
    close(out);
    close(err);
    close(null);
    return status;
}

static int run(const bivae_config *cfg, comm *c)
{
    switch (cfg->command) {
    case CMD_TRAIN: return app_train(cfg, c);
    case CMD_GEN: return app_gen(cfg, c);
    case CMD_EVAL: return app_eval(cfg, c);
    case CMD_RECOMMEND: return app_recommend(cfg, c);
    case CMD_EXPORT: return app_export(cfg, c);
    default: return 0;
    }
}

int main(int argc, char **argv)
{
    bivae_config cfg;
    int provided = 0;
    if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "bivae-dist: error: MPI_Init_thread failed\n");
        return BIVAE_EXIT_RUNTIME;
    }
    bivae_set_fail_hook(abort_job);
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    bivae_set_log_rank(rank);
    int status = parse_quietly_unless_rank0(argc, argv, &cfg, rank);
    if (status == 0 && cfg.command != CMD_HELP && cfg.command != CMD_VERSION) {
        comm *c = comm_mpi_create();
        status = run(&cfg, c);
        comm_destroy(c);
    }
    fflush(stdout);
    MPI_Finalize();
    return status;
}
