#!/usr/bin/env bash
# --device cuda where no GPU can be used says why in words a user can act on (issue 12.8),
# one line, exit 3; a GPU-only flag where --device auto falls back to the CPU is exit 2.
# Real CUDA builds: CUDA_VISIBLE_DEVICES="" hides every GPU (on a machine without a driver,
# as this project's CPU machines are, the runtime's "driver version is insufficient" is the
# no-driver case for real). Under cuemu (tests/cuemu) the emulated driver also plays a
# missing driver, an old driver and a machine without devices.
source "$(dirname "$0")/../e2e/lib.sh"
base=(train --synthetic 60x50x1300 --epochs 1 --k 2 --encoder 4 --threads 1)
tiny=("${base[@]}" --quiet)
nodev="no NVIDIA driver / no GPU found"
no_runtime_text() {
    ! grep -q "insufficient" "$TMP/err" || fail "the runtime's version text instead of the reason: $(cat "$TMP/err")"
}

CUDA_VISIBLE_DEVICES="" expect_exit 3 "^bivae-dist: error: --device cuda: rank 0: $nodev" \
    "$BIVAE" "${tiny[@]}" --device cuda
no_runtime_text
[[ $(wc -l <"$TMP/err") -eq 1 ]] || fail "more than one line: $(cat "$TMP/err")"
if [[ ${BIVAE_CUDA_EMU:?} != ON ]]; then
    echo "no_device: OK (CUDA_VISIBLE_DEVICES=\"\": $(cat "$TMP/err"))"
    exit 0
fi

# cuemu: the emulated driver and devices
CUEMU_DRIVER=none expect_exit 3 "error: --device cuda: rank 0: $nodev\$" \
    "$BIVAE" "${tiny[@]}" --device cuda
no_runtime_text
CUDA_VISIBLE_DEVICES="" expect_exit 3 "error: --device cuda: rank 0: $nodev \\(CUDA_VISIBLE_DEVICES=\"\"\\)\$" \
    "$BIVAE" "${tiny[@]}" --device cuda
CUEMU_DEVICES=0 expect_exit 3 "error: --device cuda: rank 0: $nodev\$" "$BIVAE" "${tiny[@]}" --device cuda
CUEMU_DRIVER=12040 expect_exit 3 "error: --device cuda: rank 0: the NVIDIA driver \\(CUDA 12.4\\) is older than this build's CUDA runtime 13.0: update the driver \\(CUDA driver version is insufficient for CUDA runtime version\\)\$" \
    "$BIVAE" "${tiny[@]}" --device cuda
# --device auto without a driver: the CPU, unless a GPU-only flag was given (every rank: exit 2)
CUEMU_DRIVER=none expect_exit 0 "device: cpu" "$BIVAE" "${base[@]}"
CUEMU_DRIVER=none expect_exit 2 "error: --precision bf16 needs a GPU, but --device auto found none on rank [01] \\($nodev\\): drop --precision bf16 to train on the CPU" \
    "$MPIRUN" -np 2 --oversubscribe -x CUEMU_DRIVER "$BIVAE" "${tiny[@]}" --precision bf16
[[ $(grep -c "error:" "$TMP/err") -eq 1 ]] || fail "--precision on 2 ranks: not exactly one error line"
echo "no_device: OK (cuemu: no driver, an old driver, no device, none visible; --device auto)"
