#!/usr/bin/env python3
"""Compare a resumed run's --metrics-out with an uninterrupted run's.

Usage: compare_tail.py FULL.jsonl RESUMED.jsonl [--exact] [--loss-rtol R] [--metric-atol A]
Every epoch line of RESUMED must match the same epoch of FULL (losses bit-identical as
printed with --exact, else within the relative tolerance), and the final metrics must
match (exactly, or within the absolute tolerance). Exits 1 on a mismatch."""
import argparse
import json
import sys


def load(path):
    epochs, final = {}, None
    with open(path) as f:
        for line in f:
            obj = json.loads(line)
            if obj.get("final"):
                final = obj
            else:
                epochs[obj["epoch"]] = obj
    return epochs, final


def main():
    p = argparse.ArgumentParser()
    p.add_argument("full")
    p.add_argument("resumed")
    p.add_argument("--exact", action="store_true")
    p.add_argument("--loss-rtol", type=float, default=1e-4)
    p.add_argument("--metric-atol", type=float, default=2e-3)
    o = p.parse_args()
    (ef, ff), (er, fr) = load(o.full), load(o.resumed)
    if not er:
        print(f"{o.resumed}: no epoch lines")
        return 1
    worst = 0.0
    for e, r in sorted(er.items()):
        if e not in ef:
            print(f"epoch {e} is not in {o.full}")
            return 1
        for key in ("loss_item", "loss_user"):
            a, b = ef[e][key], r[key]
            rel = abs(a - b) / max(abs(a), 1e-30)
            worst = max(worst, rel)
            if (o.exact and a != b) or rel > o.loss_rtol:
                print(f"epoch {e} {key}: {a!r} vs {b!r}")
                return 1
    print(f"epochs {min(er)}..{max(er)}: largest relative loss difference {worst:.3g}")
    if (ff is None) != (fr is None):
        print("only one run has final metrics")
        return 1
    for key in ff or {}:
        if key in ("final", "train_seconds") or not isinstance(ff[key], (int, float)):
            continue
        d = abs(ff[key] - fr[key])
        if (o.exact and d != 0) or d > o.metric_atol:
            print(f"final {key}: {ff[key]} vs {fr[key]}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
