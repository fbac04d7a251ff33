#!/usr/bin/env python3
"""Projection of the ML-20M epoch time of bivae-dist on H200 GPUs (one node of 8, and
2 nodes x 8 over InfiniBand), from the communication volume of design.md and a per-GPU
compute time that is either MEASURED (--compute-ms, from benchmarks/run_gpu.sh on one GPU)
or MODELED from FLOPs and bytes (the default, clearly labelled: no GPU run yet).

  project_ml20m.py [--k 50] [--hidden 100] [--batch 128] [--first-layer sharded|replicated]
                   [--compute-ms MS] [--adam-ms MS] [--touched F]

Model of one epoch on P GPUs (data parallel, design.md "One phase"):
  t(P) = t_rows / P            decoder GEMMs, likelihood pass, encoders: split by rows
       + t_adam(P)              Adam: the replicated parameters on every GPU, every step;
                                a sharded Wt_1 (src/model.h) only 1/P of its rows; with
                                --touched F < 0.4, lazy Adam (src/model_adam.c): 2F of them
       + V_ar / algbw_ar(P)     all-reduce volume (tests/e2e/volume.sh checks the formulas):
                                  replicated: Σ_steps (all params + 2)·4 B
                                  sharded:    Σ_steps (params after Wt_1 + 2)·4 B + N·H·4 B
                                              + (steps + 1)·2·B'·H·4 B, B' = ceil(B/P)·P
       + n_ar · alpha           all-reduce latency: replicated 1 per step, sharded 2 per step
                                (+1 per phase)
       + V_ag / algbw_ag(P)     θ̃/β̃ all-gather
  NCCL all-reduce: algbw = busbw · P / (2(P−1));  all-gather: algbw = busbw · P / (P−1).
Bus bandwidths (issue 3): ≈475 GB/s NVLink inside an 8×H200 node; ≈46 GB/s per NDR NIC
between nodes (one NIC per GPU, so ≈46 GB/s per rank across nodes). Latency per small
all-reduce, ASSUMED (not measured here): 15 µs inside a node, 30 µs across nodes.
"""
import argparse
import math

U, I, NNZ = 138_493, 26_744, 20_000_263
LAZY_MAX_TOUCHED = 0.4   # src/model_adam.c: lazy Adam on a GPU below this share

# H200 SXM datasheet figures (dense): used only by the MODELED compute time
H200_FP32 = 67e12          # FLOP/s, CUDA cores
H200_TF32 = 494.7e12       # FLOP/s, tensor cores, dense
H200_HBM = 4.8e12          # B/s
EFF_GEMM, EFF_HBM = 0.6, 0.7   # assumed achievable fractions


def encoder_params(d_in, h, k):
    return d_in * h + h + h * 2 * k + 2 * k


def model(k, h, B, sharded, P=8):
    p_item, p_user = encoder_params(U, h, k), encoder_params(I, h, k)
    rest = h + h * 2 * k + 2 * k                  # b_1, head: everything after Wt_1
    s_item, s_user = math.ceil(I / B), math.ceil(U / B)
    if sharded:   # P only rounds the forward blocks up (B' = ceil(B/P)·P; = B for P | B)
        Bp = -(-B // P) * P
        v_ar = ((s_item + s_user) * (rest + 2) + (U + I) * h
                + (s_item + s_user + 2) * 2 * Bp * h) * 4
        n_ar = 2 * (s_item + s_user) + 2
    else:
        v_ar = (s_item * (p_item + 2) + s_user * (p_user + 2)) * 4
        n_ar = s_item + s_user
    v_ag = (U + I) * k * 4
    gemm_flop = 4 * 2 * U * I * k                 # z = θβᵀ and G_θ = G_z β, both phases
    z_bytes = 2 * U * I * 16                      # Z written, read+written, read: 16 B/entry

    def adam_bytes(P, touched=None):
        # dense: p,g,m,v read; p,m,v written; g zeroed: 32 B per parameter and step.
        # lazy (src/model_adam.c, sharded Wt_1 only): a step moves the touched share of the
        # Wt_1 rows twice (catch-up, then the step), plus one flush pass per phase.
        w1_item, w1_user = U * h, I * h
        split = P if sharded else 1
        lazy = sharded and touched is not None and touched < LAZY_MAX_TOUCHED
        per_step = 2 * touched if lazy else 1.0
        flush = (w1_item + w1_user) / split * 32 if lazy else 0.0
        return (s_item * (w1_item / split * per_step + p_item - w1_item)
                + s_user * (w1_user / split * per_step + p_user - w1_user)) * 32 + flush
    return dict(p_item=p_item, p_user=p_user, s_item=s_item, s_user=s_user, v_ar=v_ar,
                n_ar=n_ar, v_ag=v_ag, gemm_flop=gemm_flop, z_bytes=z_bytes, adam_bytes=adam_bytes)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, default=50)
    ap.add_argument("--hidden", type=int, default=100)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--compute-ms", type=float, help="measured row-split compute per epoch on 1 GPU")
    ap.add_argument("--adam-ms", type=float, help="measured Adam time per epoch on 1 GPU")
    ap.add_argument("--first-layer", choices=("sharded", "replicated"), default="sharded")
    ap.add_argument("--touched", type=float,
                    help="share of Wt_1 rows a batch touches, from the trainer's 'adam:' log "
                         "line (synthetic ml-20m: 0.30 at batch 128, 0.80-0.84 at 1024): "
                         "models lazy Adam where the GPU uses it (< 0.4); default: dense")
    o = ap.parse_args()
    m = model(o.k, o.hidden, o.batch, o.first_layer == "sharded")
    gemm_tf32 = m["gemm_flop"] / (H200_TF32 * EFF_GEMM)
    gemm_fp32 = m["gemm_flop"] / (H200_FP32 * EFF_GEMM)
    rows = m["z_bytes"] / (H200_HBM * EFF_HBM)
    if o.compute_ms is not None:
        t_rows, src = o.compute_ms / 1e3, "measured"
    else:
        t_rows, src = gemm_tf32 + rows, "modeled (TF32 GEMMs at 60% of peak + Z traffic at 70% of HBM)"
    def t_adam(P):
        b = m["adam_bytes"](P, o.touched)
        if o.adam_ms is not None:   # measured on one GPU: scale by the modeled share
            return o.adam_ms / 1e3 * b / m["adam_bytes"](1, o.touched)
        return b / (H200_HBM * EFF_HBM)
    print(f"ML-20M {U} x {I}, k={o.k}, encoder [{o.hidden}], batch {o.batch}, "
          f"first layer {o.first_layer}")
    print(f"  item encoder {m['p_item']:,} params x {m['s_item']} steps, user encoder "
          f"{m['p_user']:,} params x {m['s_user']} steps")
    print(f"  all-reduced per epoch (P > 1) {m['v_ar'] / 1e9:.3f} GB in {m['n_ar']} all-reduces, "
          f"all-gathered {m['v_ag'] / 1e6:.1f} MB")
    print(f"  decoder GEMMs {m['gemm_flop'] / 1e12:.2f} TFLOP/epoch: {gemm_tf32 * 1e3:.1f} ms TF32, "
          f"{gemm_fp32 * 1e3:.1f} ms FP32 (at 60% of peak); Z traffic {m['z_bytes'] / 1e9:.0f} GB "
          f"= {rows * 1e3:.1f} ms; Adam traffic on 1 GPU {m['adam_bytes'](1, o.touched) / 1e9:.0f} GB = "
          f"{t_adam(1) * 1e3:.1f} ms")
    print(f"  row-split compute on 1 GPU: {t_rows * 1e3:.1f} ms ({src}); Adam: "
          f"{'measured' if o.adam_ms is not None else 'modeled'}\n")
    configs = [("1 x H200", 1, None, 0.0), ("8 x H200, one node (NVLink 475 GB/s)", 8, 475e9, 15e-6),
               ("2 x 8 H200, InfiniBand (46 GB/s per NIC)", 16, 46e9, 30e-6)]
    print("| configuration | compute ms | Adam ms | all-reduce ms (bytes + latency) | all-gather ms | epoch ms | 500 epochs |")
    print("|---|---|---|---|---|---|---|")
    for name, P, busbw, alpha in configs:
        ar = ag = lat = 0.0
        if P > 1:
            ar = m["v_ar"] / (busbw * P / (2 * (P - 1)))
            lat = m["n_ar"] * alpha
            ag = m["v_ag"] / (busbw * P / (P - 1))
        t = t_rows / P + t_adam(P) + ar + lat + ag
        print(f"| {name} | {t_rows / P * 1e3:.1f} | {t_adam(P) * 1e3:.1f} | {ar * 1e3:.1f} + "
              f"{lat * 1e3:.1f} | {ag * 1e3:.2f} | {t * 1e3:.1f} | {t * 500:.0f} s |")


if __name__ == "__main__":
    main()
