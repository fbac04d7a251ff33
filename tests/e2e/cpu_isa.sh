#!/usr/bin/env bash
# Every build of the CPU kernels this binary holds and this CPU runs (BIVAE_CPU_ISA: x86-64,
# x86-64-v3, x86-64-v4 in a portable build) trains to the same bits: losses, metrics and the
# exported embeddings, on 1 and 2 ranks, for the default model and for bern + elu. A build
# this CPU cannot run is refused with one clear line. The run line names OpenBLAS's kernel
# family, and a note says when OPENBLAS_CORETYPE keeps it on AVX2 on an AVX-512 CPU. Skip
# (77) where fewer than two builds run.
source "$(dirname "$0")/lib.sh"
isas=()
for isa in x86-64 x86-64-v3 x86-64-v4; do
    if BIVAE_CPU_ISA=$isa "$BIVAE" train --synthetic 50x60x1200 --epochs 1 \
        >"$TMP/probe.out" 2>"$TMP/probe.err"; then
        grep -Eq "^bivae-dist: run .*: bivae-dist .*, CPU kernels $isa, OpenBLAS [A-Za-z0-9_]+$" "$TMP/probe.err" \
            || { cat "$TMP/probe.err" >&2; fail "BIVAE_CPU_ISA=$isa: the run line does not name it"; }
        isas+=("$isa")
    elif grep -q "this build holds the CPU kernels for" "$TMP/probe.err"; then
        echo "cpu_isa: skip: not a portable build ($(cat "$TMP/probe.err"))"; exit 77
    else
        grep -Eq "^bivae-dist: error: BIVAE_CPU_ISA=$isa: this CPU cannot run" "$TMP/probe.err" \
            || { cat "$TMP/probe.err" >&2; fail "BIVAE_CPU_ISA=$isa: unexpected failure"; }
    fi
done
# OpenBLAS's kernel family: a note when it leaves this CPU's AVX-512 unused, none otherwise
avx512=1
for f in avx512f avx512bw avx512dq avx512vl; do grep -qw "$f" /proc/cpuinfo || avx512=0; done
for core in Haswell SkylakeX; do
    OPENBLAS_CORETYPE=$core "$BIVAE" train --synthetic 50x60x1200 --epochs 1 \
        >"$TMP/blas.out" 2>"$TMP/blas.err" || { cat "$TMP/blas.err" >&2; fail "OPENBLAS_CORETYPE=$core: the run failed"; }
    grep -Eq "^bivae-dist: run .*, OpenBLAS $core$" "$TMP/blas.err" \
        || { cat "$TMP/blas.err" >&2; fail "OPENBLAS_CORETYPE=$core: the run line does not name it"; }
    want=0
    [[ $core == Haswell && $avx512 == 1 ]] && want=1
    got=$(grep -c "^bivae-dist: note: OPENBLAS_CORETYPE=$core (set in the environment) keeps OpenBLAS on its $core (AVX2) kernels on this AVX-512 CPU" "$TMP/blas.err" || true)
    [[ $got == "$want" ]] || { cat "$TMP/blas.err" >&2; fail "OPENBLAS_CORETYPE=$core, AVX-512 $avx512: $got notes, want $want"; }
done

(( ${#isas[@]} >= 2 )) || { echo "cpu_isa: skip: this CPU runs only ${isas[*]}"; exit 77; }
expect_exit 2 "^bivae-dist: error: BIVAE_CPU_ISA=avx9: this build holds the CPU kernels for x86-64, x86-64-v3, x86-64-v4 only$" \
    env BIVAE_CPU_ISA=avx9 "$BIVAE" train --synthetic 50x60x1200 --epochs 1

configs=("--k 10 --encoder 20" "--k 8 --encoder 24,12 --act elu --likelihood bern")
for np in 1 2; do
    for i in "${!configs[@]}"; do
        read -r -a model <<<"${configs[$i]}"
        for isa in "${isas[@]}"; do
            out=$TMP/$isa-$np-$i
            BIVAE_CPU_ISA=$isa run_np "$np" "$out.jsonl" --synthetic ml-100k --epochs 3 \
                "${model[@]}" --checkpoint-dir "$out.ckpt"
            ckpt=$(ls "$out.ckpt"/ckpt-*.bvck)
            "$BIVAE" export --model "$ckpt" --out "$out.emb" >/dev/null 2>&1 \
                || fail "export of $out.ckpt failed"
            ref=$TMP/${isas[0]}-$np-$i
            [[ $isa == "${isas[0]}" ]] && continue
            $COMPARE "$ref.jsonl" "$out.jsonl" --exact \
                || fail "np $np, ${configs[$i]}: $isa trained differently from ${isas[0]}"
            diff -r "$ref.emb" "$out.emb" >/dev/null \
                || fail "np $np, ${configs[$i]}: $isa exported other embeddings than ${isas[0]}"
        done
    done
done
# eval and recommend refuse a build they cannot have as train does
for cmd in "eval --model $ckpt" "recommend --model $ckpt --user 1"; do
    read -r -a argv <<<"$cmd"
    expect_exit 2 "^bivae-dist: error: BIVAE_CPU_ISA=avx9: this build holds" \
        env BIVAE_CPU_ISA=avx9 "$BIVAE" "${argv[@]}"
done
echo "cpu_isa: OK (${isas[*]}: same bits on 1 and 2 ranks)"
