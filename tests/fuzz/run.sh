#!/usr/bin/env bash
# tests/fuzz/run.sh — build the libFuzzer harnesses with clang (ASan + UBSan) into
# build-fuzz/, write their seed corpora, run each for SECONDS (default 60) and print the
# executions and the crash count. Crashes are kept in build-fuzz/artifacts/.
#   tests/fuzz/run.sh [SECONDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-60}
command -v clang >/dev/null || { echo "fuzz: clang not installed" >&2; exit 77; }
cd "$root"
mkdir -p build-fuzz
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DBIVAE_FUZZ=ON \
    -DBIVAE_ENABLE_CUDA=OFF -DBIVAE_ARCH= >build-fuzz/configure.log 2>&1 \
    || { cat build-fuzz/configure.log >&2; exit 3; }
cmake --build build-fuzz -j "$(nproc)" --target fuzz_reader fuzz_dataset fuzz_features fuzz_checkpoint >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target bivae-dist >/dev/null
source "$root/launch/env.sh"
export ASAN_OPTIONS="fast_unwind_on_malloc=0:detect_leaks=1"
export LSAN_OPTIONS="suppressions=$root/tests/sanitizers/lsan.supp:print_suppressions=0"
export OMPI_MCA_mca_base_component_disable_dlclose=1
corpus=build-fuzz/corpus
mkdir -p build-fuzz/artifacts
# Seed corpora: byte 0 selects the format (and options), the rest is a file of that format.
seed() {  # harness name format-byte content
    mkdir -p "$corpus/$1"
    printf "\\x$(printf %02x "$2")%b" "$3" >"$corpus/$1/seed-$2-$(printf %s "$3" | cksum | cut -d' ' -f1)"
}
for h in fuzz_reader fuzz_dataset; do
    seed $h 1 '1\t10\t5\t881250949\n1\t20\t3\t881250950\n2\t10\t4\t1\n'
    seed $h 2 '1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::1\n'
    seed $h 3 'userId,movieId,rating,timestamp\n1,2,3.5,1112486027\n1,29,3.5,1112484676\n'
    seed $h 4 'user,item,rating\n7,8,1\n9,8,2\n'
    seed $h 5 '\xef\xbb\xbf1\t2\r\n3\t4\t5\r\n'
    seed $h 0 '1,2\n2,3\n'
    seed $h 12 '1\t2\t5\n1\tx\t5\n'
    seed $h 4 'A1B2C3\tB00004R9VR\t5\nuser@example.com\t\xc3\xa9t\xc3\xa9\t3\n007\t7\t1\n'
    seed $h 3 'reviewerID,asin,overall\nA1,"B0,1",4.0\nA2,B02,5.0\n'
    # compressed seeds: gzip and zstd streams of a small tsv (told by their magic bytes)
    for z in gzip zstd; do
        command -v $z >/dev/null || continue
        { printf '\x04'; printf '1\t2\t5\nA\tB\t3\n2\t2\t1\n' | $z -q -c; } >"$corpus/$h/seed-$z"
    done
done
# the feature parsers' seeds: byte 0 is the format (1 dense ... 8 genome; 0 auto, by name)
seed fuzz_features 1 'id,a,b\n1,0.5,2\n2,1,3\n'
seed fuzz_features 2 '1 a:1 b c:2\n2\n'
seed fuzz_features 3 '1|24|M|technician|85711\n2|53|F|other|94043\n'
seed fuzz_features 4 '1|T (1995)|01-Jan-1995||http://u|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n'
seed fuzz_features 5 '1::F::1::10::48067\n2::M::56::16::70072\n'
seed fuzz_features 6 "1::T (1995)::Comedy|Children's\n"
seed fuzz_features 7 'movieId,title,genres\n1,"A, The (1995)",Comedy|IMAX\n2,B,(no genres listed)\n'
seed fuzz_features 8 'movieId,tagId,relevance\n1,1,0.025\n1,2,1\n'
# the checkpoint reader's seeds: real checkpoints of a tiny model (end of epoch, mid-phase)
mkdir -p "$corpus/fuzz_checkpoint"
ck=$(mktemp -d)
./build-fuzz/bivae-dist train --synthetic 60x45x1300 --epochs 2 --k 3 --encoder 4 --quiet \
    --checkpoint-dir "$ck" --keep 5 >/dev/null 2>&1 || { echo "fuzz: seed checkpoint run failed" >&2; exit 3; }
cp "$ck"/*.bvck "$corpus/fuzz_checkpoint/"
rm -rf "$ck"
status=0
for h in fuzz_reader fuzz_dataset fuzz_features fuzz_checkpoint; do
    log=build-fuzz/$h.log
    maxlen=4096
    [[ $h == fuzz_checkpoint ]] && maxlen=65536
    ./build-fuzz/tests/fuzz/$h "$corpus/$h" -max_total_time="$secs" -max_len=$maxlen \
        -artifact_prefix=build-fuzz/artifacts/$h- -close_fd_mask=3 >"$log" 2>&1 || status=1
    execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}' || true)
    [[ -n $execs ]] || execs=$(grep -Eo '#[0-9]+' "$log" | tail -1 | tr -d '#')
    crashes=$(ls build-fuzz/artifacts/ | grep -c "^$h-" || true)
    echo "fuzz: $h: ${secs} s, ${execs:-?} executions, $crashes crash(es) (log $log)"
done
exit $status
