# launch/env.sh — sourced by the launch scripts: the environment Open MPI and OpenBLAS need
# for several ranks on one machine.
# Open MPI refuses to run as root unless told it is fine (containers, CI machines).
if [[ $(id -u) -eq 0 ]]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
# One BLAS thread per rank unless the user chose otherwise (bivae-dist --threads sets the
# threads it uses; this keeps OpenBLAS from starting idle threads on shared cores).
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
