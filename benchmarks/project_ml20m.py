#!/usr/bin/env python3
"""Projection of the ML-20M epoch time of bivae-dist on H200 GPUs (one node of 8, and
2 nodes x 8 over InfiniBand), from the communication volume of design.md and a per-GPU
compute time that is either MEASURED (--compute-ms, from benchmarks/run_gpu.sh on one GPU)
or MODELED from FLOPs and bytes (the default, clearly labelled: no GPU run yet).

  project_ml20m.py [--k 50] [--hidden 100] [--batch 128] [--compute-ms MS]
                   [--adam-ms MS] [--markdown]

Model of one epoch on P GPUs (data parallel, design.md "One phase"):
  t(P) = t_rows / P            decoder GEMMs, likelihood pass, encoders: split by rows
       + t_adam                 dense Adam on the replicated parameters (every GPU, every step)
       + V_ar / algbw_ar(P)     gradient all-reduce, V_ar = Σ_steps params·4 B
       + V_ag / algbw_ag(P)     θ̃/β̃ all-gather
  NCCL all-reduce: algbw = busbw · P / (2(P−1));  all-gather: algbw = busbw · P / (P−1).
Bus bandwidths (issue 3): ≈475 GB/s NVLink inside an 8×H200 node; ≈46 GB/s per NDR NIC
between nodes (one NIC per GPU, so ≈46 GB/s per rank across nodes).
"""
import argparse
import math

U, I, NNZ = 138_493, 26_744, 20_000_263

# H200 SXM datasheet figures (dense): used only by the MODELED compute time
H200_FP32 = 67e12          # FLOP/s, CUDA cores
H200_TF32 = 494.7e12       # FLOP/s, tensor cores, dense
H200_HBM = 4.8e12          # B/s
EFF_GEMM, EFF_HBM = 0.6, 0.7   # assumed achievable fractions


def encoder_params(d_in, h, k):
    return d_in * h + h + h * 2 * k + 2 * k


def model(k, h, B):
    p_item, p_user = encoder_params(U, h, k), encoder_params(I, h, k)
    s_item, s_user = math.ceil(I / B), math.ceil(U / B)
    v_ar = (s_item * (p_item + 2) + s_user * (p_user + 2)) * 4
    v_ag = (U + I) * k * 4
    gemm_flop = 4 * 2 * U * I * k                 # z = θβᵀ and G_θ = G_z β, both phases
    z_bytes = 2 * U * I * 16                      # Z written, read+written, read: 16 B/entry
    adam_bytes = (s_item * p_item + s_user * p_user) * 32   # p,g,m,v read; p,m,v written; g zeroed
    return dict(p_item=p_item, p_user=p_user, s_item=s_item, s_user=s_user, v_ar=v_ar,
                v_ag=v_ag, gemm_flop=gemm_flop, z_bytes=z_bytes, adam_bytes=adam_bytes)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, default=50)
    ap.add_argument("--hidden", type=int, default=100)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--compute-ms", type=float, help="measured row-split compute per epoch on 1 GPU")
    ap.add_argument("--adam-ms", type=float, help="measured Adam time per epoch on 1 GPU")
    ap.add_argument("--markdown", action="store_true")
    o = ap.parse_args()
    m = model(o.k, o.hidden, o.batch)
    gemm_tf32 = m["gemm_flop"] / (H200_TF32 * EFF_GEMM)
    gemm_fp32 = m["gemm_flop"] / (H200_FP32 * EFF_GEMM)
    rows = m["z_bytes"] / (H200_HBM * EFF_HBM)
    if o.compute_ms is not None:
        t_rows, src = o.compute_ms / 1e3, "measured"
    else:
        t_rows, src = gemm_tf32 + rows, "modeled (TF32 GEMMs at 60% of peak + Z traffic at 70% of HBM)"
    t_adam = o.adam_ms / 1e3 if o.adam_ms is not None else m["adam_bytes"] / (H200_HBM * EFF_HBM)
    print(f"ML-20M {U} x {I}, k={o.k}, encoder [{o.hidden}], batch {o.batch}")
    print(f"  item encoder {m['p_item']:,} params x {m['s_item']} steps, user encoder "
          f"{m['p_user']:,} params x {m['s_user']} steps")
    print(f"  all-reduced per epoch {m['v_ar'] / 1e9:.2f} GB, all-gathered {m['v_ag'] / 1e6:.1f} MB")
    print(f"  decoder GEMMs {m['gemm_flop'] / 1e12:.2f} TFLOP/epoch: {gemm_tf32 * 1e3:.1f} ms TF32, "
          f"{gemm_fp32 * 1e3:.1f} ms FP32 (at 60% of peak); Z traffic {m['z_bytes'] / 1e9:.0f} GB "
          f"= {rows * 1e3:.1f} ms; Adam traffic {m['adam_bytes'] / 1e9:.0f} GB = {t_adam * 1e3:.1f} ms")
    print(f"  row-split compute on 1 GPU: {t_rows * 1e3:.1f} ms ({src}); Adam (replicated): "
          f"{t_adam * 1e3:.1f} ms ({'measured' if o.adam_ms is not None else 'modeled'})\n")
    configs = [("1 x H200", 1, None), ("8 x H200, one node (NVLink 475 GB/s)", 8, 475e9),
               ("2 x 8 H200, InfiniBand (46 GB/s per NIC)", 16, 46e9)]
    print("| configuration | compute ms | Adam ms | all-reduce ms | all-gather ms | epoch ms | 500 epochs |")
    print("|---|---|---|---|---|---|---|")
    for name, P, busbw in configs:
        ar = ag = 0.0
        if P > 1:
            ar = m["v_ar"] / (busbw * P / (2 * (P - 1)))
            ag = m["v_ag"] / (busbw * P / (P - 1))
        t = t_rows / P + t_adam + ar + ag
        print(f"| {name} | {t_rows / P * 1e3:.1f} | {t_adam * 1e3:.1f} | {ar * 1e3:.1f} | "
              f"{ag * 1e3:.2f} | {t * 1e3:.1f} | {t * 500:.0f} s |")
    print("\nThe gradient all-reduce and the replicated dense Adam dominate beyond one GPU: "
          "sharding Adam (ZeRO-1: reduce-scatter + all-gather, same bytes, Adam/P) and "
          "row-sharding the first layer (no W1 all-reduce) are the levers design.md names.")


if __name__ == "__main__":
    main()
