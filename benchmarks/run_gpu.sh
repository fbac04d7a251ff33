#!/usr/bin/env bash
# benchmarks/run_gpu.sh — everything a borrowed GPU machine is for, in one call (issue 14):
# build for the card found, CUDA tests, compute-sanitizer, the ml-1m / ml-20m synthetic
# shapes trained through the real CLI, equality checks, Cornac's BiVAECF on the same GPU,
# bench_gpu, and one JSON of every figure (benchmarks/gpu_summary.py).
#
#   benchmarks/run_gpu.sh [--dry-run] [--configure-only] [--rehearse] [--only S,S] [--skip S,S]
#                         [--no-tests] [--no-bench] [-- bench_gpu args]
#
#   --dry-run         print the plan (stages, timeouts, estimates) and every command; runs
#                     nothing heavy (no unpacking, no cmake, no GPU)
#   --configure-only  dependencies and cmake configure, then stop
#   --rehearse        the whole script on a machine without a GPU: the cuemu build
#                     (-DBIVAE_CUDA_EMU=ON, tests/cuemu: --device cuda runs on the CPU
#                     emulation), tiny shapes, a subset of the CUDA tests, the sanitizer
#                     commands without compute-sanitizer when it is absent, Cornac on the CPU
#   --only / --skip   stage names from the plan below (summary always runs)
#
# Stages (each under its own `timeout`; one failing does not stop the others, except that
# nothing runs without a build; the JSON says which failed and why). Estimates for one H100
# with 16 cores: guesses from the CPU rehearsal, the step counts and Cornac's loop (scipy
# slicing and a dense copy of every batch), NOT measured on a GPU yet:
#   stage      timeout  estimate  what
#   deps          30 s      8 s   unpack .deps/debs into a scratch prefix (when needed)
#   configure     60 s     20 s   cmake, CUDA on, CMAKE_CUDA_ARCHITECTURES from nvidia-smi
#   build        180 s     90 s   every target (ninja when present), -j nproc
#   tests        120 s     60 s   ctest -L cuda -j 4 with BIVAE_CUDA_SYNC_CHECK=1
#   sanitize      90 s     35 s   compute-sanitizer: memcheck on cuda_ops; racecheck and
#                                 synccheck on one epoch of a small run through the CLI (the
#                                 three in parallel)
#   train        180 s     70 s   np=1: ml-1m (4 epochs) and ml-20m (3) x fp32/tf32 x batch
#                                 128/1024; np=2 sharing the GPU, --comm mpi, fp32 batch 1024
#                                 (mostly data generation and set-up: ~6 s per ml-20m run)
#   compare       60 s     20 s   np=2 vs np=1 (rank-count tolerance, 1e-4 relative);
#                                 CPU vs GPU losses of the first 2 ml-1m epochs (1e-3)
#   cornac       150 s     75 s   Cornac BiVAECF on cuda, k 50 [100] tanh pois lr 0.001
#                                 batch 128: ml-1m 3 epochs, ml-20m 1 epoch (~35 s, most of
#                                 it scipy on one core, then its final inference pass); its
#                                 venv and data (generated, parsed into .npz) are prepared in
#                                 the background right after the build
#   bench         90 s     30 s   bench_gpu (ml-20m, batch 128/1024, fp32/tf32); with
#                                 DENSE_ADAM=1 also dense Adam at batch 128 fp32 (dense_adam/)
#   summary       30 s      2 s   gpu_summary.py -> $OUT/gpu_summary.json
#   total                 410 s   BUDGET_S (default 400) caps the stages before the summary:
#                                 a stage gets at most what is left of it, none once spent
#
# Output, all under OUT (small files only: it comes back whole): run_gpu.log (this),
# <stage>.log, stages.tsv, runs/*.jsonl and *.log (one per training run), checks/,
# sanitize-*.log, cornac/*.json, bench_gpu.* and gpu_summary.json with keys device, commit,
# runs, cornac, stages, checks, sanitizer, targets. Scratch (the Cornac venv, its data
# files) goes into BUILD_DIR.
# Environment: OUT (default benchmarks/out/gpu), BUILD_DIR (build-gpu; build-rehearse),
# DEPS_PREFIX (/tmp/bivae-deps), BIVAE_USE_DEBS=1 (the .debs even when the system has the
# packages), JOBS, BUDGET_S, TIMEOUT_SCALE (every timeout times this; 6 in a rehearsal),
# CUDA_ARCH (e.g. 90: skip the nvidia-smi query), PYTHON (the python with torch, default
# python3), CTEST_ARGS (ctest arguments instead of the default), CPU_ML20M=1 (also compare
# one ml-20m epoch with the CPU: about 30 s more), DENSE_ADAM=1, BIVAE_COMMIT (the commit
# to record where the tree came without .git, as on a borrowed machine).
# Exit status: 0 when every stage passed, 77 when no GPU was found (nothing measured), else 1.
set -uo pipefail

SELF=$(readlink -f "$0")
ROOT=$(cd "$(dirname "$SELF")/.." && pwd)
STAGES=(deps configure build tests sanitize train compare cornac bench summary)

# ---- options ------------------------------------------------------------------------------

parse_args() {
  DRY=0 CONFIGURE_ONLY=0 REHEARSE=0 ONLY="" SKIP="" BENCH_ARGS=()
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --dry-run) DRY=1 ;;
      --configure-only) CONFIGURE_ONLY=1 ;;
      --rehearse) REHEARSE=1 ;;
      --only) ONLY=${2:?--only needs stage names}; shift ;;
      --skip) SKIP=${2:?--skip needs stage names}; shift ;;
      --no-tests) SKIP="$SKIP,tests,sanitize" ;;
      --no-bench) SKIP="$SKIP,bench" ;;
      --) shift; BENCH_ARGS=("$@"); break ;;
      *) echo "run_gpu: unknown argument $1 (see the header of $SELF)" >&2; exit 2 ;;
    esac
    shift
  done
  local s
  for s in ${ONLY//,/ } ${SKIP//,/ }; do
    [[ " ${STAGES[*]} " == *" $s "* ]] ||
      { echo "run_gpu: unknown stage $s (stages: ${STAGES[*]})" >&2; exit 2; }
  done
}

# Settings shared by the main process and the stage processes (exported once, read by all).
settings() {
  export RG_DRY=$DRY RG_REHEARSE=$REHEARSE
  export OUT_DIR=${OUT:-$ROOT/benchmarks/out/gpu}
  if [[ $REHEARSE == 1 ]]; then
    export BUILD=${BUILD_DIR:-$ROOT/build-rehearse}
  else
    export BUILD=${BUILD_DIR:-$ROOT/build-gpu}
  fi
  export PREFIX=${DEPS_PREFIX:-/tmp/bivae-deps} DEBS=$ROOT/.deps/debs WHEELS=$ROOT/.deps/wheels
  export JOBS=${JOBS:-$(nproc 2>/dev/null || echo 4)}
  export BUDGET_S=${BUDGET_S:-$([[ $REHEARSE == 1 ]] && echo 3600 || echo 400)}
  export PYTHON=${PYTHON:-python3}
  export BIN=$BUILD/bivae-dist VENV=$BUILD/cornac-venv
  export RG_BENCH_ARGS="${BENCH_ARGS[*]}"
  # the runs: shapes, epochs, the model of the issue's targets (k 50, encoder 100)
  if [[ $REHEARSE == 1 ]]; then
    export SHAPES="ml-100k 1200x900x30000" EPOCHS_SMALL=2 EPOCHS_BIG=2 BATCHES="128 1024"
    export CORNAC_EPOCHS="2 2" CORNAC_DEVICE=cpu
    export CTEST_DEFAULT="-R ^(cuda_ops|cuda_philox|cuda_comm_staged_np2)$"
  else
    export SHAPES="ml-1m ml-20m" EPOCHS_SMALL=4 EPOCHS_BIG=3 BATCHES="128 1024"
    export CORNAC_EPOCHS="3 1" CORNAC_DEVICE=cuda CTEST_DEFAULT=""
  fi
  export SAN_SHAPE=600x400x12000 CPU_EPOCHS=2
  # every timeout times this (the rehearsal's emulated GPU is some 100x slower)
  export RG_TSCALE=${TIMEOUT_SCALE:-$([[ $REHEARSE == 1 ]] && echo 6 || echo 1)}
  # large scratch files (Cornac's copies of the data): not under OUT, which comes back whole
  export WORK=$BUILD/run_gpu-work
  export MODEL_ARGS="--k 50 --encoder 100 --act tanh --likelihood pois --lr 0.001 --seed 42"
}

# ---- helpers ------------------------------------------------------------------------------

log() { echo "run_gpu: $*"; }

# x CMD...: runs CMD, or prints it under --dry-run
x() {
  if [[ $RG_DRY == 1 ]]; then
    printf '    $'; printf ' %q' "$@"; printf '\n'
    return 0
  fi
  "$@"
}

# xt SECONDS LOG CMD...: CMD under timeout, its output into LOG (appended); prints
# "cmd ... rc N" so that each stage log shows every command and its status
xt() {
  local t=$(($1 * RG_TSCALE)) out=$2; shift 2
  if [[ $RG_DRY == 1 ]]; then
    printf '    $ timeout %s' "$t"; printf ' %q' "$@"; printf ' >>%s\n' "${out#"$OUT_DIR"/}"
    return 0
  fi
  local rc=0
  { printf '+ timeout %s' "$t"; printf ' %q' "$@"; printf '\n'; } >>"$out"
  timeout -k 5 "$t" "$@" >>"$out" 2>&1 || rc=$?
  echo "+ rc $rc" >>"$out"
  return $rc
}

record() {   # record FILE field... : one tab-separated line
  [[ $RG_DRY == 1 ]] && return 0
  local f=$1; shift
  (IFS=$'\t'; echo "$*") >>"$f"
}

# ---- stage: deps --------------------------------------------------------------------------

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
  export RG_DEP_ARGS="-DMPI_C_COMPILER=$P/usr/bin/mpicc -DMPIEXEC_EXECUTABLE=$P/usr/bin/mpirun \
-DPKG_CONFIG_EXECUTABLE=$P/usr/bin/pkg-config -DRANDOM123_INCLUDE_DIR=$P/usr/include \
-DBLAS_LIBRARIES=$lib/openblas-pthread/libopenblas.so"
}

# The .debs are Debian 12's: libevent needs glibc >= 2.36 (arc4random).
warn_old_glibc() {
  local v
  v=$(ldd --version 2>/dev/null | head -1 | grep -o '[0-9]\+\.[0-9]\+$') || return 0
  if [[ -n "$v" && "$(printf '%s\n2.36\n' "$v" | sort -V | head -1)" != 2.36 ]]; then
    echo "run_gpu: warning: glibc $v < 2.36: the Debian 12 Open MPI libraries may not load" >&2
  fi
}

need_debs() { [[ "${BIVAE_USE_DEBS:-0}" == 1 ]] || ! have_system_deps; }

# The environment every stage runs in (the main process sets it once after the deps stage).
stage_env() {
  export RG_DEP_ARGS=""
  if need_debs && [[ -f "$PREFIX/.complete" ]]; then use_prefix "$PREFIX"; fi
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  export OMPI_MCA_rmaps_base_oversubscribe=1
  if ! command -v nvcc >/dev/null && [[ -x /usr/local/cuda/bin/nvcc ]]; then
    export PATH=/usr/local/cuda/bin:$PATH CUDACXX=/usr/local/cuda/bin/nvcc
  fi
}

stage_deps() {
  log "machine: $(. /etc/os-release 2>/dev/null; echo "${PRETTY_NAME:-?}"), \
$(ldd --version 2>/dev/null | head -1)"
  if ! need_debs; then
    log "dependencies from the system"
    return 0
  fi
  warn_old_glibc
  if ! ls "$DEBS"/*.deb >/dev/null 2>&1; then
    echo "run_gpu: missing build dependencies and no .debs in $DEBS" \
         "(run benchmarks/fetch_deps.sh on a Debian 12 machine with apt first)" >&2
    return 2
  fi
  if [[ -f "$PREFIX/.complete" ]]; then
    log "dependencies from $PREFIX (already unpacked)"
    return 0
  fi
  log "unpacking $(ls "$DEBS"/*.deb | wc -l) .debs into $PREFIX"
  x rm -rf "$PREFIX"
  x mkdir -p "$PREFIX"
  local d
  for d in "$DEBS"/*.deb; do
    x extract_deb "$d" "$PREFIX" || { echo "run_gpu: cannot unpack $d" >&2; return 2; }
  done
  x fix_prefix "$PREFIX"
  x touch "$PREFIX/.complete"
}

# ---- stage: configure, build --------------------------------------------------------------

# CUDA architectures of the visible cards only: compute_cap 9.0 -> 90
cuda_arch() {
  if [[ -n "${CUDA_ARCH:-}" ]]; then echo "$CUDA_ARCH"; return 0; fi
  command -v nvidia-smi >/dev/null || return 1
  local caps
  caps=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null |
         tr -d ' .' | grep -E '^[0-9]+$' | sort -u | paste -sd';') || return 1
  [[ -n "$caps" ]] || return 1
  echo "$caps"
}

stage_configure() {
  local args=(-B "$BUILD" -S "$ROOT" -DCMAKE_BUILD_TYPE=Release)
  # Ninja when there is one, unless the build folder was configured with another generator
  if command -v ninja >/dev/null &&
     [[ ! -f "$BUILD/CMakeCache.txt" || -f "$BUILD/build.ninja" ]]; then
    args+=(-G Ninja)
  fi
  if [[ $RG_REHEARSE == 1 ]]; then
    args+=(-DBIVAE_CUDA_EMU=ON)
  else
    local arch
    if arch=$(cuda_arch); then
      log "CUDA architectures: $arch (the card found)"
    else
      arch="80;90"
      log "warning: no compute capability from nvidia-smi (no GPU?): building for $arch"
    fi
    args+=(-DBIVAE_ENABLE_CUDA=ON "-DCMAKE_CUDA_ARCHITECTURES=$arch")
  fi
  # shellcheck disable=SC2206  # RG_DEP_ARGS holds whole -D words without blanks
  args+=($RG_DEP_ARGS)
  x cmake "${args[@]}" || return $?
  [[ $RG_DRY == 1 ]] && return 0
  if ! grep -q "CUDA backend ON" "$OUT_DIR/configure.log"; then
    echo "run_gpu: CUDA was not enabled (no nvcc?)" >&2
    return 2
  fi
}

stage_build() {
  x cmake --build "$BUILD" -j "$JOBS" || return $?
  [[ $RG_DRY == 1 || -x "$BIN" ]] || { echo "run_gpu: no $BIN after the build" >&2; return 2; }
}

# ---- stage: tests, sanitize ---------------------------------------------------------------

stage_tests() {
  local extra
  read -r -a extra <<<"${CTEST_ARGS:-$CTEST_DEFAULT}"
  # every launch waited for, so that a kernel fault on a first run names its kernel
  local rc=0
  x env BIVAE_CUDA_SYNC_CHECK=1 ctest --test-dir "$BUILD" -L cuda -j 4 --output-on-failure \
    --timeout $((110 * RG_TSCALE)) "${extra[@]}" || rc=$?
  [[ $RG_DRY == 1 ]] && return 0
  if [[ $rc -ne 0 ]]; then
    local failed
    failed=$(sed -n '/tests FAILED:/,$s/^[[:space:]]*[0-9]* - //p' "$OUT_DIR/tests.log" |
             head -8 | paste -sd, -)
    echo "run_gpu: failed tests: ${failed:-none listed (see tests.log)}"
    return $rc
  fi
  if grep -q "(Skipped)" "$OUT_DIR/tests.log" && ! grep -q " Passed " "$OUT_DIR/tests.log"; then
    echo "run_gpu: every CUDA test skipped: no usable GPU here" >&2
    return 77
  fi
}

find_sanitizer() {
  local c
  for c in "$(command -v compute-sanitizer 2>/dev/null)" \
           "$(dirname "$(command -v nvcc 2>/dev/null || echo /x/x)")/compute-sanitizer" \
           /usr/local/cuda/bin/compute-sanitizer /usr/local/cuda/compute-sanitizer/compute-sanitizer; do
    [[ -n "$c" && -x "$c" ]] && { echo "$c"; return 0; }
  done
  return 1
}

# one tool on one command, its own log; exit status 1 when the tool reports an error
sanitize_one() {
  local san=$1 tool=$2 name=$3; shift 3
  local pre=()
  [[ -n "$san" ]] && pre=("$san" --tool "$tool" --error-exitcode 1 --print-limit 20)
  xt 85 "$OUT_DIR/sanitize-$name.log" "${pre[@]}" "$@"
}

stage_sanitize() {
  local san
  if ! san=$(find_sanitizer); then
    if [[ $RG_DRY == 1 ]]; then
      san=compute-sanitizer
    elif [[ $RG_REHEARSE != 1 ]]; then
      echo "run_gpu: compute-sanitizer not found (PATH, beside nvcc, /usr/local/cuda)" >&2
      return 2
    else
      san=""
      log "rehearsal: compute-sanitizer not found: the commands run without it"
    fi
  fi
  log "sanitizer: ${san:-none}"
  local small=(train --synthetic "$SAN_SHAPE" --test-ratio 0 --k 16 --encoder 32 --epochs 1
               --batch-size 64 --device cuda --comm mpi --quiet)
  # the three at once, each on its own log (they share the GPU; none is timed)
  if [[ $RG_DRY == 1 ]]; then
    sanitize_one "$san" memcheck memcheck-cuda_ops "$BUILD/tests/cuda_ops"
    sanitize_one "$san" racecheck racecheck-train "$BIN" "${small[@]}"
    sanitize_one "$san" synccheck synccheck-train "$BIN" "${small[@]}"
    return 0
  fi
  local pids=() rcs=() i rc=0
  sanitize_one "$san" memcheck memcheck-cuda_ops "$BUILD/tests/cuda_ops" & pids+=($!)
  sanitize_one "$san" racecheck racecheck-train "$BIN" "${small[@]}" & pids+=($!)
  sanitize_one "$san" synccheck synccheck-train "$BIN" "${small[@]}" & pids+=($!)
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}"; rcs[i]=$?
    [[ ${rcs[i]} -eq 0 ]] || rc=1
  done
  log "memcheck cuda_ops rc ${rcs[0]}, racecheck train rc ${rcs[1]}, synccheck train rc ${rcs[2]}"
  grep -h "ERROR SUMMARY" "$OUT_DIR"/sanitize-*.log 2>/dev/null | sed 's/^/run_gpu: /'
  return $rc
}

# ---- stage: train, compare ----------------------------------------------------------------

# train_run NAME NP EPOCHS SHAPE BATCH PRECISION [extra args]: one run of the CLI, metrics in
# runs/NAME.jsonl, output in runs/NAME.log, a line in runs.tsv (the summary reads both)
train_run() {
  local name=$1 np=$2 epochs=$3 shape=$4 batch=$5 prec=$6; shift 6
  local launch=() model
  read -r -a model <<<"$MODEL_ARGS"
  [[ $np -gt 1 ]] && launch=(mpirun -np "$np" --bind-to none)
  local m=$OUT_DIR/runs/$name.jsonl
  [[ $RG_DRY == 1 ]] || rm -f "$m"
  local t0=$SECONDS rc=0
  xt 60 "$OUT_DIR/runs/$name.log" "${launch[@]}" "$BIN" train --synthetic "$shape" \
    --test-ratio 0 "${model[@]}" --epochs "$epochs" --batch-size "$batch" \
    --precision "$prec" --quiet --metrics-out "$m" "$@" || rc=$?
  record "$OUT_DIR/runs.tsv" "$name" "$shape" "$batch" "$prec" "$np" "$rc" \
    "$((SECONDS - t0))" "$*"
  [[ $RG_DRY == 1 ]] || log "train $name: rc $rc, $((SECONDS - t0)) s"
  return $rc
}

epochs_of() { [[ $1 == "${SHAPES%% *}" ]] && echo "$EPOCHS_SMALL" || echo "$EPOCHS_BIG"; }

stage_train() {
  x mkdir -p "$OUT_DIR/runs"
  local shape prec batch rc=0
  for shape in $SHAPES; do
    for prec in fp32 tf32; do
      for batch in $BATCHES; do
        train_run "$shape-$prec-b$batch-np1" 1 "$(epochs_of "$shape")" "$shape" "$batch" \
          "$prec" --device cuda || rc=1
      done
    done
    # two ranks on the one GPU, device buffers staged through host memory
    CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-0} train_run "$shape-fp32-b1024-np2" 2 \
      "$(epochs_of "$shape")" "$shape" 1024 fp32 --device cuda --comm mpi || rc=1
  done
  return $rc
}

# compare_one WHAT A B ARGS...: compare_runs.py, a line in checks.tsv
compare_one() {
  local what=$1 a=$2 b=$3; shift 3
  local rc=0 lg=$OUT_DIR/checks/${what// /_}.log
  x mkdir -p "$OUT_DIR/checks"
  [[ $RG_DRY == 1 ]] || rm -f "$lg"
  xt 30 "$lg" python3 "$ROOT/tests/tools/compare_runs.py" "$a" "$b" "$@" || rc=$?
  local detail=""
  [[ $RG_DRY == 1 ]] || detail=$(grep -vE '^\+ ' "$lg" | tail -1)
  record "$OUT_DIR/checks.tsv" "$what" "$rc" "$detail" "$*"
  [[ $RG_DRY == 1 ]] || log "check $what: rc $rc: $detail"
  return $rc
}

stage_compare() {
  local shape rc=0 r=$OUT_DIR/runs batch
  for shape in $SHAPES; do
    # the rank-count tolerance of tests/e2e/ranks.sh: only the reduction order differs
    compare_one "np2-vs-np1 $shape fp32 b1024" "$r/$shape-fp32-b1024-np1.jsonl" \
      "$r/$shape-fp32-b1024-np2.jsonl" --loss-rtol 1e-4 || rc=1
  done
  # CPU vs GPU, the first epochs (tests/cuda/train_gpu.sh's tolerance: 1e-3 relative)
  local first=${SHAPES%% *} cpu_shapes=("${SHAPES%% *}")
  [[ ${CPU_ML20M:-0} == 1 ]] && cpu_shapes+=("${SHAPES##* }")
  for shape in "${cpu_shapes[@]}"; do
    for batch in $BATCHES; do
      [[ $shape != "$first" && $batch != 1024 ]] && continue
      train_run "$shape-fp32-b$batch-cpu" 1 "$CPU_EPOCHS" "$shape" "$batch" fp32 \
        --device cpu || { rc=1; continue; }
      # A: the GPU run (more epochs), B: the CPU run, compared epoch by epoch (--tail)
      compare_one "cpu-vs-gpu $shape fp32 b$batch" "$r/$shape-fp32-b$batch-np1.jsonl" \
        "$r/$shape-fp32-b$batch-cpu.jsonl" --tail --loss-rtol 1e-3 || rc=1
    done
  done
  return $rc
}

# ---- stage: cornac ------------------------------------------------------------------------

# The Cornac environment and data, in the background while the tests run: a venv that sees
# the host python's packages (torch, numpy 2), the wheels of .deps/wheels (fetch_wheels.sh)
# that it lacks, and the synthetic shapes as files (bivae-dist gen, the same generator and
# seed as --synthetic).
cornac_prep() {
  x mkdir -p "$WORK"
  x "$PYTHON" -c 'import sys, torch, numpy; print(sys.version.split()[0], "torch",
torch.__version__, "numpy", numpy.__version__, "cuda", torch.cuda.is_available())' || {
    echo "run_gpu: $PYTHON cannot import torch and numpy (set PYTHON=)" >&2; return 2; }
  local pip=("$VENV/bin/python" -m pip)
  if ! x "$PYTHON" -m venv --system-site-packages "$VENV"; then
    # a python without ensurepip (Debian's without python3-venv): a venv without pip, filled
    # by the host's own pip
    log "no venv with pip from $PYTHON: a venv without pip, installed into by $PYTHON's pip"
    x "$PYTHON" -m venv --system-site-packages --without-pip --clear "$VENV" || return 2
    pip=("$PYTHON" -m pip)
    local site
    site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    PIP_TARGET=$site && export PIP_TARGET
  fi
  # the host python may itself be a venv or conda env: its site folders go on the path too
  x "$VENV/bin/python" - "$PYTHON" <<'EOF' || return 2
import os, subprocess, sys, sysconfig
host = subprocess.run([sys.argv[1], "-c", "import site, sys; print('\\n'.join("
                       "[p for p in sys.path if p.endswith('-packages')]))"],
                      capture_output=True, text=True, check=True).stdout.split()
pth = os.path.join(sysconfig.get_paths()["purelib"], "zz_host_site.pth")
with open(pth, "w") as f:
    f.write("\n".join(host) + "\n")
print("host site folders:", host)
EOF
  local req=() p
  # cornac always (its wheel is slimmed by fetch_wheels.sh); the rest only when missing
  for p in cornac scipy tqdm powerlaw; do
    if [[ $p == cornac ]] || ! x "$VENV/bin/python" -c "import $p" 2>/dev/null; then
      req+=("$p")
    fi
  done
  log "installing from $WHEELS: ${req[*]}"
  x "${pip[@]}" install --no-index --find-links "$WHEELS" --no-deps \
    --no-warn-script-location -q "${req[@]}" || {
    echo "run_gpu: pip could not install ${req[*]} from $WHEELS (wheels for this python?" \
         "see benchmarks/fetch_wheels.sh)" >&2; return 2; }
  x "$VENV/bin/python" -c 'import cornac, torch, scipy; print("cornac", cornac.__version__,
"scipy", scipy.__version__, "torch", torch.__version__)' || return 2
  local shape
  for shape in $SHAPES; do
    x "$BIN" gen --synthetic "$shape" --seed 42 --out "$WORK/$shape.tsv" || return 2
    # parsed once here, beside the tests, not inside the Cornac stage's time
    x "$VENV/bin/python" "$ROOT/benchmarks/reference/compare_cornac.py" cornac-cache \
      --data "$WORK/$shape.tsv" || return 2
  done
}

stage_cornac() {
  local w=$OUT_DIR/cornac
  if [[ $RG_DRY != 1 ]]; then
    mkdir -p "$w"
    if [[ -z "${RG_PREP_PID:-}" ]]; then     # no build stage in this run (--only cornac)
      log "running cornac_prep now (it starts after the build stage, which did not run)"
      local r=0
      cornac_prep >"$OUT_DIR/cornac_prep.log" 2>&1 || r=$?
      echo "$r" >"$w/prep.rc"
    fi
    # wait for cornac_prep, started in the background after the build
    while [[ ! -f "$w/prep.rc" && -n "${RG_PREP_PID:-}" ]] && kill -0 "$RG_PREP_PID" 2>/dev/null
    do sleep 1; done
    local prc
    prc=$(cat "$w/prep.rc" 2>/dev/null) || prc="none: it did not finish in time or never started"
    [[ $prc == 0 ]] || { echo "run_gpu: the Cornac preparation failed (rc $prc):" \
                         "$(grep -v '^+ ' "$OUT_DIR/cornac_prep.log" | tail -1)" >&2; return 2; }
  else
    log "(after the build, in the background: cornac_prep, output in cornac_prep.log)"
    cornac_prep
  fi
  local shapes epochs i rc=0
  read -r -a shapes <<<"$SHAPES"
  read -r -a epochs <<<"$CORNAC_EPOCHS"
  for i in "${!shapes[@]}"; do
    xt 120 "$w/${shapes[$i]}.log" "$VENV/bin/python" \
      "$ROOT/benchmarks/reference/compare_cornac.py" cornac-epochs \
      --data "$WORK/${shapes[$i]}.tsv" --preset "${shapes[$i]}" --device "$CORNAC_DEVICE" \
      --epochs "${epochs[$i]}" --k 50 --encoder 100 --act tanh --likelihood pois \
      --batch-size 128 --lr 0.001 --seed 42 --out "$w/${shapes[$i]}.json" || rc=1
    [[ $RG_DRY == 1 ]] || grep -v '^+ ' "$w/${shapes[$i]}.log" | tail -n 1 | sed 's/^/cornac: /'
  done
  return $rc
}

# ---- stage: bench, summary ----------------------------------------------------------------

stage_bench() {
  local args rc=0
  read -r -a args <<<"$RG_BENCH_ARGS"
  if [[ ${#args[@]} -eq 0 && $RG_REHEARSE == 1 ]]; then
    args=(--synthetic 200x150x5000 --k 4 --hidden 8 --batches "16,64" --maths "fp32,tf32")
  fi
  x env OPENBLAS_NUM_THREADS=4 "$BUILD/benchmarks/bench_gpu" --out "$OUT_DIR" "${args[@]}" ||
    return $?
  # batch 128 fp32 with dense Adam (every Wt_1 row at every step), against the default lazy
  # Adam of the run above (src/model_adam.c)
  if [[ ${DENSE_ADAM:-0} == 1 && -z "$RG_BENCH_ARGS" ]]; then
    x env BIVAE_TEST_ADAM=dense OPENBLAS_NUM_THREADS=4 "$BUILD/benchmarks/bench_gpu" \
      --batches 128 --maths fp32 --out "$OUT_DIR/dense_adam" || rc=$?
  fi
  return $rc
}

stage_summary() {
  x python3 "$ROOT/benchmarks/gpu_summary.py" --out-dir "$OUT_DIR" --root "$ROOT" \
    --python "$VENV/bin/python" --rehearse "$RG_REHEARSE"
}

# ---- the driver ---------------------------------------------------------------------------

declare -A TIMEOUT=([deps]=30 [configure]=60 [build]=180 [tests]=120 [sanitize]=90 [train]=180
                   [compare]=60 [cornac]=150 [bench]=90 [summary]=30)
declare -A EST=([deps]=8 [configure]=20 [build]=90 [tests]=60 [sanitize]=35 [train]=70
               [compare]=20 [cornac]=75 [bench]=30 [summary]=2)

wanted() {
  local s=$1
  [[ $s == summary ]] && return 0
  [[ -n "$ONLY" && ",$ONLY," != *",$s,"* ]] && return 1
  [[ ",$SKIP," == *",$s,"* ]] && return 1
  [[ $CONFIGURE_ONLY == 1 && $s != deps && $s != configure ]] && return 1
  return 0
}

# run_stage NAME: the stage in its own process under `timeout` (at most what is left of the
# budget), output in NAME.log, a line in stages.tsv: name, status, seconds, reason
run_stage() {
  local s=$1 t0=$SECONDS rc=0 reason="" left t=$((${TIMEOUT[$1]} * RG_TSCALE))
  left=$((BUDGET_S - (SECONDS - START)))
  if [[ $s != summary ]]; then
    if [[ $left -le 0 ]]; then
      record "$OUT_DIR/stages.tsv" "$s" skipped 0 "the budget of $BUDGET_S s is spent"
      log "stage $s: skipped (budget spent)"
      return 0
    fi
    [[ $left -lt $t ]] && t=$left
  fi
  log "stage $s (timeout $t s)"
  timeout -k 10 "$t" bash "$SELF" --stage "$s" >"$OUT_DIR/$s.log" 2>&1 || rc=$?
  if [[ $rc -ne 0 ]]; then
    if [[ $rc -eq 124 || $rc -eq 137 ]]; then reason="timed out after $t s"
    else reason=$(grep -E "run_gpu: |rror|FAIL" "$OUT_DIR/$s.log" | grep -v "^+ " | tail -1)
    fi
    reason=${reason:-exit $rc, see $s.log}
  fi
  local status=ok
  [[ $rc -eq 0 ]] || status=failed
  [[ $rc -eq 77 ]] && status=no-gpu
  record "$OUT_DIR/stages.tsv" "$s" "$status" "$((SECONDS - t0))" "${reason//$'\t'/ }"
  log "stage $s: $status, $((SECONDS - t0)) s${reason:+: $reason}"
  return $rc
}

print_plan() {
  local s t e total=0
  echo "run_gpu: plan ($([[ $REHEARSE == 1 ]] && echo "rehearsal: cuemu build, tiny shapes" ||
    echo "GPU run")), output in $OUT_DIR, budget $BUDGET_S s"
  for s in "${STAGES[@]}"; do
    wanted "$s" || { echo "stage $s: not run"; continue; }
    t=${TIMEOUT[$s]} e=${EST[$s]}
    total=$((total + e))
    echo "stage $s: timeout $t s, estimate $e s on one H100"
    RG_STAGE_DRY=1 "stage_$s" | sed 's/^/  /'
  done
  echo "run_gpu: estimated total $total s on one H100"
  travel_size
}

# what a borrowed machine must be given: the repository's files and the two bundles
travel_size() {
  local repo debs wheels total
  repo=$(cd "$ROOT" && git ls-files -z 2>/dev/null | xargs -0 -r du -cb 2>/dev/null | tail -1 | cut -f1)
  debs=$(du -cb "$DEBS"/*.deb 2>/dev/null | tail -1 | cut -f1)
  wheels=$(du -cb "$WHEELS"/*.whl 2>/dev/null | tail -1 | cut -f1)
  [[ -n "$debs" ]] || echo "run_gpu: no .debs in $DEBS (benchmarks/fetch_deps.sh)"
  [[ -n "$wheels" ]] || echo "run_gpu: no wheels in $WHEELS (benchmarks/fetch_wheels.sh)"
  total=$((${repo:-0} + ${debs:-0} + ${wheels:-0}))
  echo "run_gpu: to carry: repository ${repo:-?} + .deps/debs ${debs:-0} + .deps/wheels" \
       "${wheels:-0} = $total bytes ($((total / 1048576)) MiB, at most 64 MiB)"
}

main() {
  parse_args "$@"
  settings
  if [[ $DRY == 1 ]]; then
    stage_env
    print_plan
    exit 0
  fi
  mkdir -p "$OUT_DIR"
  rm -f "$OUT_DIR/stages.tsv" "$OUT_DIR/runs.tsv" "$OUT_DIR/checks.tsv" "$OUT_DIR/cornac/prep.rc"
  exec > >(tee "$OUT_DIR/run_gpu.log") 2>&1
  START=$SECONDS
  local s rc=0 built=1 prep_pid=""
  for s in "${STAGES[@]}"; do
    wanted "$s" || continue
    if [[ $built == 0 && $s != summary ]]; then
      record "$OUT_DIR/stages.tsv" "$s" skipped 0 "no build"
      continue
    fi
    run_stage "$s" || {
      rc=1
      case "$s" in deps|configure|build) built=0 ;; esac
    }
    # deps exports the prefix environment for every later stage
    [[ $s == deps ]] && stage_env
    if [[ $s == build && $built == 1 ]] && wanted cornac; then
      # (timeout passes a TERM on to the preparation: the kill below ends both)
      mkdir -p "$OUT_DIR/cornac"
      timeout -k 5 $((200 * RG_TSCALE)) bash "$SELF" --stage cornac_prep >"$OUT_DIR/cornac_prep.log" 2>&1 &
      prep_pid=$!
      export RG_PREP_PID=$prep_pid
    fi
  done
  [[ -n "$prep_pid" ]] && { kill "$prep_pid" 2>/dev/null; wait "$prep_pid" 2>/dev/null; }
  if grep -q "no-gpu" "$OUT_DIR/stages.tsv" 2>/dev/null; then rc=77; fi
  log "results in $OUT_DIR (gpu_summary.json), $((SECONDS - START)) s, status $rc"
  exit $rc
}

# A stage process: `run_gpu.sh --stage NAME` (the settings come through the environment).
if [[ "${1:-}" == --stage ]]; then
  stage_env
  case "$2" in
    cornac_prep) rc=0; cornac_prep || rc=$?; echo "$rc" >"$OUT_DIR/cornac/prep.rc"; exit $rc ;;
    *) "stage_$2"; exit $? ;;
  esac
fi
main "$@"
