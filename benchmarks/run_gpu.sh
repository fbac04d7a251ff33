#!/usr/bin/env bash
# benchmarks/run_gpu.sh — the GPU benchmark in one command, on a machine with a GPU:
#   1. dependencies: when MPI / OpenBLAS / protobuf-c / cmocka / Random123 are not installed
#      (or BIVAE_USE_DEBS=1), unpack the .debs of .deps/debs (benchmarks/fetch_deps.sh) into
#      a scratch prefix (never into /) and point CMake, pkg-config, the compiler, the loader
#      and Open MPI (OPAL_PREFIX) at it;
#   2. configure (Release, CUDA on) and build;
#   3. the CUDA tests (ctest -L cuda), log in the output folder; with BIVAE_CUDA_SYNC_CHECK=1
#      (every launch waited for), so a kernel fault on a first run names its kernel;
#   4. bench_gpu (synthetic ml-20m, k=50, encoder 100, batches 128 and 1024, fp32 and tf32)
#      writing bench_gpu.csv / bench_gpu.md; then batch 128 fp32 again with dense Adam
#      (dense_adam/), to compare with the default lazy Adam.
#
#   benchmarks/run_gpu.sh [--no-tests] [--no-bench] [--configure-only] [-- bench_gpu args]
# Environment: OUT (output folder, default benchmarks/out), BUILD_DIR (default build-gpu),
# DEPS_PREFIX (default /tmp/bivae-deps), BIVAE_USE_DEBS=1 (use the .debs even when the
# system has the packages), JOBS (build parallelism).
# Exit status: 0 when the tests and the benchmark succeed, 77 when there is no GPU (both
# skipped), otherwise the first failure's status.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT_DIR=${OUT:-$ROOT/benchmarks/out}
BUILD=${BUILD_DIR:-$ROOT/build-gpu}
PREFIX=${DEPS_PREFIX:-/tmp/bivae-deps}
DEBS=$ROOT/.deps/debs
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 4)}
RUN_TESTS=1 RUN_BENCH=1 CONFIGURE_ONLY=0
BENCH_ARGS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-tests) RUN_TESTS=0 ;;
    --no-bench) RUN_BENCH=0 ;;
    --configure-only) CONFIGURE_ONLY=1 ;;
    --) shift; BENCH_ARGS=("$@"); break ;;
    *) echo "run_gpu: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$OUT_DIR"
log() { echo "run_gpu: $*"; }

# ---- 1. dependencies ---------------------------------------------------------------------

have_system_deps() {
  command -v mpicc >/dev/null && command -v mpirun >/dev/null &&
    command -v protoc-c >/dev/null && command -v pkg-config >/dev/null &&
    pkg-config --exists cmocka libprotobuf-c 2>/dev/null &&
    [[ -e /usr/include/Random123/philox.h ]] && { [[ -e /usr/include/cblas.h ]] ||
    [[ -e /usr/include/x86_64-linux-gnu/cblas.h ]] || [[ -e /usr/include/openblas/cblas.h ]]; }
}

# dpkg-deb when there is one; otherwise ar + tar (binutils comes with any compiler)
extract_deb() {
  local deb=$1 dest=$2
  if command -v dpkg-deb >/dev/null; then
    dpkg-deb -x "$deb" "$dest"
    return
  fi
  local member
  member=$(ar t "$deb" | grep '^data\.tar') || return 1
  case "$member" in
    *.xz) ar p "$deb" "$member" | tar -xJ -C "$dest" ;;
    *.zst) ar p "$deb" "$member" | zstd -dc | tar -x -C "$dest" ;;
    *.gz) ar p "$deb" "$member" | tar -xz -C "$dest" ;;
    *) ar p "$deb" "$member" | tar -x -C "$dest" ;;
  esac
}

# What Debian's alternatives and absolute .pc paths would have provided.
fix_prefix() {
  local P=$1 lib=$1/usr/lib/x86_64-linux-gnu inc=$1/usr/include/x86_64-linux-gnu
  local t
  for t in mpicc mpirun mpiexec; do ln -sf "$t.openmpi" "$P/usr/bin/$t"; done
  for t in libopenblas.so libopenblas.so.0 libblas.so libblas.so.3 liblapack.so liblapack.so.3; do
    ln -sf "openblas-pthread/$t" "$lib/$t"
  done
  for t in cblas.h f77blas.h openblas_config.h; do ln -sf "openblas-pthread/$t" "$inc/$t"; done
  find "$P" -name '*.pc' -type f -print0 | xargs -0 -r sed -i \
    -e "s|=/usr|=$P/usr|g" -e "s|-I/usr/include|-I$P/usr/include|g" -e "s|-L/usr/lib|-L$P/usr/lib|g"
}

use_prefix() {
  local P=$1 lib=$1/usr/lib/x86_64-linux-gnu
  export PATH=$P/usr/bin:$PATH
  LD_LIBRARY_PATH=$lib:$lib/openblas-pthread:$lib/openmpi/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  export LD_LIBRARY_PATH
  export LIBRARY_PATH=$lib:$lib/openblas-pthread${LIBRARY_PATH:+:$LIBRARY_PATH}
  export CPATH=$P/usr/include:$P/usr/include/x86_64-linux-gnu${CPATH:+:$CPATH}
  export CMAKE_PREFIX_PATH=$P/usr${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}
  export CMAKE_INCLUDE_PATH=$P/usr/include:$P/usr/include/x86_64-linux-gnu
  export CMAKE_LIBRARY_PATH=$lib:$lib/openblas-pthread
  export PKG_CONFIG_PATH=$lib/pkgconfig:$lib/openblas-pthread/pkgconfig:$P/usr/share/pkgconfig
  export OPAL_PREFIX=$P/usr          # relocates Open MPI (wrappers, components, help files)
  CMAKE_DEP_ARGS=(-DMPI_C_COMPILER="$P/usr/bin/mpicc" -DMPIEXEC_EXECUTABLE="$P/usr/bin/mpirun"
                  -DPKG_CONFIG_EXECUTABLE="$P/usr/bin/pkg-config"
                  -DRANDOM123_INCLUDE_DIR="$P/usr/include"
                  -DBLAS_LIBRARIES="$lib/openblas-pthread/libopenblas.so")
}

# The .debs are Debian 12's: libevent needs glibc >= 2.36 (arc4random).
warn_old_glibc() {
  local v
  v=$(ldd --version 2>/dev/null | head -1 | grep -o '[0-9]\+\.[0-9]\+$') || return 0
  if [[ -n "$v" && "$(printf '%s\n2.36\n' "$v" | sort -V | head -1)" != 2.36 ]]; then
    echo "run_gpu: warning: glibc $v < 2.36: the Debian 12 Open MPI libraries may not load" >&2
  fi
}

CMAKE_DEP_ARGS=()
if [[ "${BIVAE_USE_DEBS:-0}" == 1 ]] || ! have_system_deps; then
  warn_old_glibc
  if ! ls "$DEBS"/*.deb >/dev/null 2>&1; then
    echo "run_gpu: missing build dependencies and no .debs in $DEBS" >&2
    echo "run_gpu: run benchmarks/fetch_deps.sh on a Debian 12 machine with apt first" >&2
    exit 2
  fi
  if [[ ! -f "$PREFIX/.complete" ]]; then
    log "unpacking $(ls "$DEBS"/*.deb | wc -l) .debs into $PREFIX"
    rm -rf "$PREFIX" && mkdir -p "$PREFIX"
    for d in "$DEBS"/*.deb; do
      extract_deb "$d" "$PREFIX" || { echo "run_gpu: cannot unpack $d" >&2; exit 2; }
    done
    fix_prefix "$PREFIX"
    touch "$PREFIX/.complete"
  fi
  use_prefix "$PREFIX"
  log "dependencies from $PREFIX"
else
  log "dependencies from the system"
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
if ! command -v nvcc >/dev/null && [[ -x /usr/local/cuda/bin/nvcc ]]; then
  export PATH=/usr/local/cuda/bin:$PATH CUDACXX=/usr/local/cuda/bin/nvcc
fi

# ---- 2. configure and build ----------------------------------------------------------------

log "machine: $(. /etc/os-release 2>/dev/null; echo "${PRETTY_NAME:-?}"), \
$(ldd --version 2>/dev/null | head -1)"
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader |
    sed 's/^/run_gpu: gpu: /'
fi
GEN=()
# Ninja when there is one, unless the build folder was configured with another generator
if command -v ninja >/dev/null &&
   [[ ! -f "$BUILD/CMakeCache.txt" || -f "$BUILD/build.ninja" ]]; then
  GEN=(-G Ninja)
fi
cmake -B "$BUILD" -S "$ROOT" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release -DBIVAE_ENABLE_CUDA=ON \
      "${CMAKE_DEP_ARGS[@]}" 2>&1 | tee "$OUT_DIR/configure.log"
rc=${PIPESTATUS[0]}
if [[ $rc -ne 0 ]]; then
  echo "run_gpu: configure failed ($OUT_DIR/configure.log)" >&2
  exit $rc
fi
if ! grep -q "CUDA backend ON" "$OUT_DIR/configure.log"; then
  echo "run_gpu: CUDA was not enabled (no nvcc?)" >&2
  exit 2
fi
[[ $CONFIGURE_ONLY == 1 ]] && exit 0
cmake --build "$BUILD" -j "$JOBS" 2>&1 | tail -n 200 > "$OUT_DIR/build.log"
rc=${PIPESTATUS[0]}
if [[ $rc -ne 0 ]]; then
  tail -n 40 "$OUT_DIR/build.log" >&2
  echo "run_gpu: build failed" >&2
  exit $rc
fi
log "built in $BUILD"

# ---- 3. CUDA tests, 4. benchmark -----------------------------------------------------------

status=0
if [[ $RUN_TESTS == 1 ]]; then
  (cd "$BUILD" && BIVAE_CUDA_SYNC_CHECK=${BIVAE_CUDA_SYNC_CHECK:-1} \
    ctest -L cuda --output-on-failure --timeout 600) 2>&1 |
    tee "$OUT_DIR/ctest_cuda.log"
  trc=${PIPESTATUS[0]}
  if grep -q "(Skipped)" "$OUT_DIR/ctest_cuda.log" && ! grep -q " Passed " "$OUT_DIR/ctest_cuda.log"
  then
    log "every CUDA test skipped: no usable GPU here"
    status=77
  fi
  [[ $trc -eq 0 ]] || status=$trc
fi
if [[ $RUN_BENCH == 1 ]]; then
  OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-4} "$BUILD/benchmarks/bench_gpu" \
      --out "$OUT_DIR" "${BENCH_ARGS[@]}" 2>&1 | tee "$OUT_DIR/bench_gpu.log"
  brc=${PIPESTATUS[0]}
  [[ $brc -eq 0 || $status -ne 0 ]] || status=$brc
  # the same at batch 128, fp32, with dense Adam (every Wt_1 row at every step), against
  # the default lazy Adam of the run above (src/model_adam.c)
  if [[ ${#BENCH_ARGS[@]} -eq 0 ]]; then
    BIVAE_TEST_ADAM=dense OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-4} \
      "$BUILD/benchmarks/bench_gpu" --batches 128 --maths fp32 --out "$OUT_DIR/dense_adam" \
      2>&1 | tee "$OUT_DIR/bench_gpu_dense_adam.log"
  fi
fi
log "results in $OUT_DIR (status $status)"
exit $status
