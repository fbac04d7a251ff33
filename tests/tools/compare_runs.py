#!/usr/bin/env python3
"""Compare two --metrics-out JSON-lines files of bivae-dist runs.

Usage: compare_runs.py A.jsonl B.jsonl [--loss-rtol R] [--metric-atol A] [--exact] [--tail]
                       [--whole]
Epoch losses must agree within the relative tolerance, the final metrics within the
absolute tolerance (--exact: bit-identical losses and metrics). --tail: B is a resumed run,
each of its epochs is compared with the same epoch of A (A may have more). --whole: B must
be A line for line, every value equal apart from the timings and the run id (a run stopped
and resumed against an uninterrupted one). Prints the largest differences; exits 1 on a
mismatch, 2 on unusable input."""
import argparse
import json
import math
import sys


def load(path):
    epochs, final = [], None
    with open(path) as f:
        for n, line in enumerate(f, 1):
            try:
                obj = json.loads(line)
            except ValueError as e:
                sys.exit(f"{path}:{n}: not JSON: {e}")
            if obj.get("final"):
                final = obj
            else:
                epochs.append(obj)
    if not epochs:
        sys.exit(f"{path}: no epoch lines")
    return epochs, final


def epoch_pairs(ea, eb, tail, a_path):
    """(A epoch, B epoch) pairs: all, in order; with tail, B's epochs by number."""
    if not tail:
        if len(ea) != len(eb):
            print(f"epoch count differs: {len(ea)} vs {len(eb)}")
            return None
        return list(zip(ea, eb))
    by_epoch = {x["epoch"]: x for x in ea}
    missing = [y["epoch"] for y in eb if y["epoch"] not in by_epoch]
    if missing:
        print(f"epoch {missing[0]} is not in {a_path}")
        return None
    return [(by_epoch[y["epoch"]], y) for y in eb]


# keys that differ between two runs of the same computation
TIMINGS = {"seconds", "compute_seconds", "comm_seconds", "ratings_per_second", "eta_seconds",
           "train_seconds"}


def whole(a_path, b_path):
    """--whole: line for line, every key but TIMINGS and "run" equal."""
    a = [json.loads(l) for l in open(a_path)]
    b = [json.loads(l) for l in open(b_path)]
    if len(a) != len(b):
        print(f"{len(a)} lines in {a_path}, {len(b)} in {b_path}")
        return 1
    for n, (x, y) in enumerate(zip(a, b), 1):
        keys = (set(x) | set(y)) - TIMINGS - {"run"}
        diff = sorted(k for k in keys if x.get(k) != y.get(k))
        if diff:
            print(f"line {n}: {', '.join(f'{k} {x.get(k)!r} != {y.get(k)!r}' for k in diff)}")
            return 1
    runs = {o.get("run") for o in b}
    if len(runs) != 1:
        print(f"{b_path}: lines of {len(runs)} runs: {sorted(map(str, runs))}")
        return 1
    print(f"whole: {len(a)} lines equal apart from timings and the run id")
    return 0


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--loss-rtol", type=float, default=1e-4)
    p.add_argument("--metric-atol", type=float, default=1e-3)
    p.add_argument("--exact", action="store_true")
    p.add_argument("--tail", action="store_true")
    p.add_argument("--whole", action="store_true")
    o = p.parse_args(argv)
    if o.whole:
        return whole(o.a, o.b)
    loss_rtol, metric_atol, exact = o.loss_rtol, o.metric_atol, o.exact
    a_path, b_path = o.a, o.b
    (ea, fa), (eb, fb) = load(a_path), load(b_path)
    pairs = epoch_pairs(ea, eb, o.tail, a_path)
    if pairs is None:
        return 1
    worst = 0.0
    for x, y in pairs:
        for key in ("loss_item", "loss_user"):
            u, v = x[key], y[key]
            if exact and u != v:
                print(f"epoch {x['epoch']} {key}: {u!r} != {v!r}")
                return 1
            rel = abs(u - v) / max(abs(u), 1e-30)
            worst = max(worst, rel)
            if not rel <= loss_rtol:
                print(f"epoch {x['epoch']} {key}: {u} vs {v} (relative {rel:.3g} > {loss_rtol})")
                return 1
    print(f"losses: {len(pairs)} epochs, largest relative difference {worst:.3g}")
    if (fa is None) != (fb is None):
        print("only one run has final metrics")
        return 1
    if fa is not None:
        for key in fa:
            if key in ("final", "train_seconds") or not isinstance(fa[key], (int, float)):
                continue
            u, v = fa[key], fb.get(key)
            if v is None:
                print(f"final {key} missing in {b_path}")
                return 1
            d = abs(u - v)
            tol = 0 if exact else (0 if key == "users" else metric_atol)
            print(f"final {key}: {u} vs {v} (|diff| {d:.3g})")
            if not d <= tol or math.isnan(d):
                print(f"final {key} differs by more than {tol}")
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
