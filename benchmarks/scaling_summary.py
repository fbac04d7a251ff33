#!/usr/bin/env python3
"""Helpers of benchmarks/scaling.sh.

  scaling_summary.py row JSONL mode shape np oversubscribed device  → one CSV row
  scaling_summary.py table CSV                                      → a table on stdout
  scaling_summary.py plots CSV OUTDIR                               → PNGs with gnuplot
  scaling_summary.py record CSV RESULTS.md                          → appends a summary
"""
import csv
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys


def row(path, mode, shape, np, over, device):
    epochs = [json.loads(l) for l in open(path)]
    epochs = [e for e in epochs if not e.get("final")]
    timed = epochs[1:]  # the first epoch is warm-up
    med = lambda k: statistics.median(e[k] for e in timed)
    print(f"{mode},{shape},{np},{over},{device},{len(timed)},{med('seconds'):.6f},"
          f"{med('compute_seconds'):.6f},{med('comm_seconds'):.6f},"
          f"{int(med('allreduce_bytes'))},{int(med('allgather_bytes'))}")


def load(path):
    rows = list(csv.DictReader(open(path)))
    for r in rows:
        for k in ("np", "epochs", "allreduce_bytes", "allgather_bytes"):
            r[k] = int(r[k])
        for k in ("sec_per_epoch", "compute_s", "comm_s"):
            r[k] = float(r[k])
    base = {}
    for r in rows:
        if r["np"] == 1:
            base[(r["mode"], r["shape"])] = r["sec_per_epoch"]
    for r in rows:
        b = base.get((r["mode"], r["shape"]))
        if b is None:
            r["speedup"] = r["efficiency"] = float("nan")
        elif r["mode"] == "strong":
            r["speedup"] = b / r["sec_per_epoch"]
            r["efficiency"] = r["speedup"] / r["np"]
        else:  # weak: work grows with np; efficiency = t1 / tnp
            r["efficiency"] = b / r["sec_per_epoch"]
            r["speedup"] = r["efficiency"] * r["np"]
    return rows


def table(path, out=sys.stdout):
    rows = load(path)
    hdr = ("| mode | shape | np | s/epoch | compute s | comm s (incl. wait) | all-reduce MB | "
           "all-gather MB | speed-up | efficiency | note |")
    print(hdr, file=out)
    print("|" + "---|" * 11, file=out)
    for r in rows:
        note = "oversubscribed" if r["oversubscribed"] == "yes" else ""
        print(f"| {r['mode']} | {r['shape']} | {r['np']} | {r['sec_per_epoch']:.4f} | "
              f"{r['compute_s']:.4f} | {r['comm_s']:.4f} | {r['allreduce_bytes'] / 1e6:.1f} | "
              f"{r['allgather_bytes'] / 1e6:.2f} | {r['speedup']:.2f}x | "
              f"{100 * r['efficiency']:.0f}% | {note} |", file=out)


def plots(path, outdir):
    rows = load(path)
    for mode in ("strong", "weak"):
        sel = [r for r in rows if r["mode"] == mode]
        if not sel:
            continue
        shapes = sorted({r["shape"] for r in sel})
        dat = os.path.join(outdir, f"{mode}.dat")
        with open(dat, "w") as f:
            for s in shapes:
                f.write(f"# {s}\n")
                for r in sorted((r for r in sel if r["shape"] == s), key=lambda r: r["np"]):
                    over = 1 if r["oversubscribed"] == "yes" else 0
                    f.write(f"{r['np']} {r['speedup']:.4f} {r['compute_s']:.5f} "
                            f"{r['comm_s']:.5f} {(r['allreduce_bytes'] + r['allgather_bytes']) / 1e6:.2f} {over}\n")
                f.write("\n\n")
        maxnp = max(r["np"] for r in sel)
        ylabel = "speed-up over np=1" if mode == "strong" else "scaled speed-up (np x t1/tnp)"
        script = f"""
set terminal pngcairo size 900,600 noenhanced
set datafile separator whitespace
set output '{outdir}/{mode}_speedup.png'
set title '{mode} scaling: speed-up (hollow points: more ranks than cores)'
set xlabel 'ranks'; set ylabel '{ylabel}'; set key left top
set xrange [0.5:{maxnp + 0.5}]; set yrange [0:*]
plot x title 'ideal' with lines dt 2 lc rgb 'gray', \\
""" + ", \\\n".join(
            f"  '{dat}' index {i} using 1:2:($6 > 0 ? 6 : 7) title '{s}' with linespoints "
            f"pt variable ps 1.5"
            for i, s in enumerate(shapes)) + f"""
set output '{outdir}/{mode}_split.png'
set title '{mode} scaling: seconds per epoch, compute and communication (incl. waiting)'
set ylabel 'seconds per epoch'; set style data histograms; set style histogram rowstacked
set style fill solid 0.8 border -1; set boxwidth 0.7; set xrange [*:*]
plot """ + ", ".join(
            f"'{dat}' index {i} using 3:xtic(sprintf('%s np%d', '{s}', $1)) title 'compute {s}', "
            f"'' index {i} using 4 title 'comm {s}'" for i, s in enumerate(shapes)) + f"""
set output '{outdir}/{mode}_bytes.png'
set title '{mode} scaling: bytes communicated per epoch (per rank)'
set style data linespoints; set ylabel 'MB per epoch'; set xrange [0.5:{maxnp + 0.5}]
plot """ + ", ".join(f"'{dat}' index {i} using 1:5 title '{s}' pt 7" for i, s in enumerate(shapes)) + "\n"
        gp = os.path.join(outdir, f"{mode}.gp")
        open(gp, "w").write(script)
        subprocess.run(["gnuplot", gp], check=True)
        print(f"plots: {outdir}/{mode}_speedup.png {mode}_split.png {mode}_bytes.png")


def record(path, results):
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "?"
    cpu = "?"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    with open(results, "a") as f:
        f.write(f"\n### Scaling over MPI ranks ({datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC, "
                f"commit {commit}, {cpu}, {os.cpu_count()} cores, {platform.node()})\n\n")
        table(path, f)
        f.write("\nProduced by `benchmarks/scaling.sh -r`; rows marked oversubscribed ran more "
                "ranks than cores and show function, not scaling.\n")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"row": row, "table": table, "plots": plots, "record": record}[cmd](*args)
