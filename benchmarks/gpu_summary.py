#!/usr/bin/env python3
"""benchmarks/gpu_summary.py — the one JSON of a benchmarks/run_gpu.sh run.

  gpu_summary.py --out-dir OUT [--root REPO] [--python VENV_PYTHON] [--rehearse 0|1]

Reads what run_gpu.sh left in OUT (stages.tsv, runs.tsv + runs/*.jsonl, checks.tsv,
cornac/*.json, sanitize-*.log, bench_gpu.json / bench_gpu.csv) and writes
OUT/gpu_summary.json:
  device    name, memory, compute capability, driver and CUDA versions (nvidia-smi; the
            cudaGetDeviceProperties fields through torch.cuda.get_device_properties when
            the Cornac venv's python has torch), the CUDA toolkit (nvcc), the CPU
  commit    the repository's HEAD (and whether the tree had changes)
  runs      one object per training run through the CLI: shape, batch, precision, ranks,
            ms_per_epoch (median of the trainer's own per-epoch "seconds" after the first
            epoch, which carries the start-up), first_epoch_ms, every epoch's seconds and
            losses, status; then bench_gpu's runs when it wrote bench_gpu.json
  cornac    Cornac BiVAECF per shape (compare_cornac.py cornac-epochs), with the ratio
            to bivae-dist at the same shape, batch 128, fp32
  stages    each stage: status (ok, failed, skipped, no-gpu), seconds, why it failed
  checks    np=2 vs np=1 and CPU vs GPU comparisons: passed or not, the largest difference
  targets   the issue's targets, each true / false / null (not measured)
Uses only the standard library (no numpy): it runs with any python3."""
import argparse
import csv
import datetime
import glob
import json
import os
import re
import statistics
import subprocess
import sys


def sh(cmd, cwd=None):
    """stdout of cmd, or None when it cannot run or fails"""
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30, cwd=cwd)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return r.stdout.strip() if r.returncode == 0 else None


def read_tsv(path, fields):
    if not os.path.exists(path):
        return []
    rows = []
    with open(path) as f:
        for line in f:
            cells = line.rstrip("\n").split("\t")
            cells += [""] * (len(fields) - len(cells))
            rows.append(dict(zip(fields, cells)))
    return rows


# ---- device ---------------------------------------------------------------------------

def device_info(python, rehearse):
    d = {}
    if rehearse:
        d["name"] = "cuemu (the CPU emulation of CUDA in tests/cuemu): a rehearsal, no GPU"
    q = sh(["nvidia-smi", "--query-gpu=name,memory.total,driver_version,compute_cap,"
            "pci.bus_id", "--format=csv,noheader,nounits"])
    if q:
        gpus = []
        for line in q.splitlines():
            name, mem, drv, cap, bus = [c.strip() for c in line.split(",")]
            gpus.append({"name": name, "memory_mib": int(float(mem)), "driver": drv,
                         "compute_capability": cap, "pci_bus_id": bus})
        d.update(gpus[0])
        d["count"] = len(gpus)
        head = sh(["nvidia-smi"]) or ""
        m = re.search(r"CUDA Version:\s*([0-9.]+)", head)
        d["driver_cuda_version"] = m.group(1) if m else None
    nvcc = sh(["nvcc", "--version"]) or sh(["/usr/local/cuda/bin/nvcc", "--version"])
    if nvcc:
        m = re.search(r"release ([0-9.]+), V([0-9.]+)", nvcc)
        d["cuda_toolkit"] = m.group(2) if m else nvcc.splitlines()[-1]
    if python and os.path.exists(python):
        props = sh([python, "-c", "import json, torch\n"
                    "if torch.cuda.is_available():\n"
                    "    p = torch.cuda.get_device_properties(0)\n"
                    "    print(json.dumps({'name': p.name, 'total_memory_bytes': p.total_memory,"
                    " 'major': p.major, 'minor': p.minor,"
                    " 'multi_processor_count': p.multi_processor_count,"
                    " 'torch_cuda': torch.version.cuda}))\n"])
        if props:
            d["cuda_device_properties"] = json.loads(props)
            d.setdefault("name", d["cuda_device_properties"]["name"])
    cpu = sh(["lscpu"]) or ""
    m = re.search(r"Model name:\s*(.+)", cpu)
    d["cpu"] = {"model": m.group(1).strip() if m else None, "cores": os.cpu_count()}
    d.setdefault("name", "unknown (no nvidia-smi, no torch CUDA device)")
    return d


def commit_info(root):
    """HEAD of the repository; where the tree came without .git (a copy on a borrowed
    machine), $BIVAE_COMMIT as the caller passed it"""
    head = sh(["git", "-C", root, "rev-parse", "HEAD"])
    if head is None:
        return {"sha": os.environ.get("BIVAE_COMMIT"), "dirty": None, "subject": None,
                "from": "BIVAE_COMMIT (no git repository here)"}
    dirty = sh(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"])
    return {"sha": head, "dirty": bool(dirty), "subject":
            sh(["git", "-C", root, "log", "-1", "--format=%s"]), "from": "git"}


# ---- runs -----------------------------------------------------------------------------

def epochs_of(path):
    if not os.path.exists(path):
        return []
    out = []
    with open(path) as f:
        for line in f:
            try:
                o = json.loads(line)
            except ValueError:
                continue                  # a line cut by a timeout
            if not o.get("final") and "epoch" in o:
                out.append(o)
    return out


def run_record(out_dir, row):
    extra = row["args"]
    ep = epochs_of(os.path.join(out_dir, "runs", row["name"] + ".jsonl"))
    sec = [float(e["seconds"]) for e in ep]
    steady = sec[1:] if len(sec) > 1 else sec
    rc = int(row["rc"]) if row["rc"].lstrip("-").isdigit() else None
    r = {"name": row["name"], "shape": row["shape"], "batch": int(row["batch"]),
         "precision": row["precision"], "ranks": int(row["ranks"]),
         "device": "cpu" if "--device cpu" in extra else "cuda",
         "comm": "mpi" if "--comm mpi" in extra else "default (nccl; no collective at 1 rank)",
         "ms_per_epoch": round(1000 * statistics.median(steady), 3) if steady else None,
         "first_epoch_ms": round(1000 * sec[0], 3) if sec else None,
         "epochs_done": len(ep), "epoch_seconds": sec,
         "compute_seconds": [e.get("compute_seconds") for e in ep],
         "comm_seconds": [e.get("comm_seconds") for e in ep],
         "loss_item": [e.get("loss_item") for e in ep],
         "loss_user": [e.get("loss_user") for e in ep],
         "status": "ok" if rc == 0 else ("timed out" if rc in (124, 137) else "failed"),
         "exit": rc, "wall_seconds": int(row["wall"] or 0), "source": "bivae-dist train"}
    if ep and "ratings_per_second" in ep[-1]:
        r["ratings_per_second"] = ep[-1]["ratings_per_second"]
    return r


def bench_runs(out_dir):
    """bench_gpu.json's runs (the trainer's own bench), else bench_gpu.csv's rows"""
    runs, extra = [], {}
    for sub in ("", "dense_adam"):
        j = os.path.join(out_dir, sub, "bench_gpu.json")
        c = os.path.join(out_dir, sub, "bench_gpu.csv")
        tag = "bench_gpu" + ("/dense_adam" if sub else "")
        if os.path.exists(j):
            try:
                b = json.load(open(j))
            except ValueError as e:
                extra[tag] = "unreadable: %s" % e
                continue
            for r in b.get("runs", []):
                r = dict(r, source=tag)
                runs.append(r)
            extra[tag + ".device"] = b.get("device")
        elif os.path.exists(c):
            extra[tag + ".csv"] = list(csv.DictReader(open(c)))
    return runs, extra


# ---- checks, sanitizer, cornac ----------------------------------------------------------

def check_records(out_dir):
    out = []
    for row in read_tsv(os.path.join(out_dir, "checks.tsv"), ["what", "rc", "detail", "args"]):
        m = re.search(r"largest relative difference ([0-9.e+-]+)", row["detail"])
        out.append({"what": row["what"], "passed": row["rc"] == "0", "detail": row["detail"],
                    "largest_relative_difference": float(m.group(1)) if m else None,
                    "tolerance": row["args"]})
    return out


def sanitizer_records(out_dir):
    out = {}
    for p in sorted(glob.glob(os.path.join(out_dir, "sanitize-*.log"))):
        name = os.path.basename(p)[len("sanitize-"):-len(".log")]
        text = open(p, errors="replace").read()
        m = re.search(r"ERROR SUMMARY: (\d+) error", text)
        rc = re.findall(r"^\+ rc (\d+)", text, re.M)
        out[name] = {"errors": int(m.group(1)) if m else None,
                     "exit": int(rc[-1]) if rc else None,
                     "with_sanitizer": "compute-sanitizer" in text.split("\n", 1)[0]}
    return out


def cornac_records(out_dir, runs):
    out = []
    for p in sorted(glob.glob(os.path.join(out_dir, "cornac", "*.json"))):
        try:
            c = json.load(open(p))
        except ValueError:
            continue
        ours = [r for r in runs if r["shape"] == c.get("preset") and r["batch"] == c.get("batch")
                and r["precision"] == "fp32" and r["ranks"] == 1 and r["device"] == "cuda"
                and r["ms_per_epoch"]]
        if ours and c.get("ms_per_epoch"):
            c["bivae_dist_ms_per_epoch"] = ours[0]["ms_per_epoch"]
            c["speedup_bivae_dist_over_cornac"] = round(c["ms_per_epoch"] / ours[0]["ms_per_epoch"], 2)
        out.append(c)
    return out


def targets(runs, cornac, checks, san):
    def ms(shape, batch):
        v = [r["ms_per_epoch"] for r in runs if r["shape"] == shape and r["batch"] == batch
             and r["ranks"] == 1 and r["device"] == "cuda" and r["ms_per_epoch"]
             and r.get("source") == "bivae-dist train"]
        return min(v) if v else None
    t128, t1024 = ms("ml-20m", 128), ms("ml-20m", 1024)
    sp = [c.get("speedup_bivae_dist_over_cornac") for c in cornac if c.get("preset") == "ml-20m"]
    errs = [s["errors"] for s in san.values() if s["with_sanitizer"]]
    return {"ml20m_b128_le_25ms": None if t128 is None else t128 <= 25, "ml20m_b128_ms": t128,
            "ml20m_b1024_le_10ms": None if t1024 is None else t1024 <= 10, "ml20m_b1024_ms": t1024,
            "ge_100x_cornac_ml20m": None if not sp or sp[0] is None else sp[0] >= 100,
            "equal_within_tolerance": None if not checks else all(c["passed"] for c in checks),
            "sanitizer_clean": None if not errs or None in errs else sum(errs) == 0}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--python", help="a python with torch (the Cornac venv's)")
    ap.add_argument("--rehearse", default="0")
    a = ap.parse_args()
    out = a.out_dir
    if not os.path.isdir(out):
        sys.exit("gpu_summary: error: %s is not a folder" % out)
    rehearse = a.rehearse == "1"
    fields = ["name", "shape", "batch", "precision", "ranks", "rc", "wall", "args"]
    runs = [run_record(out, r) for r in read_tsv(os.path.join(out, "runs.tsv"), fields)]
    b_runs, b_extra = bench_runs(out)
    checks = check_records(out)
    san = sanitizer_records(out)
    cornac = cornac_records(out, runs)
    stages = [{"stage": r["stage"], "status": r["status"],
               "seconds": int(r["seconds"] or 0), "why": r["why"] or None}
              for r in read_tsv(os.path.join(out, "stages.tsv"),
                                ["stage", "status", "seconds", "why"])]
    dev = device_info(a.python, rehearse)
    now = datetime.datetime.now(datetime.timezone.utc)
    short = re.sub(r"[^a-z0-9]+", "-", dev["name"].lower().replace("nvidia", "")).strip("-")
    summary = {
        "device": dev, "commit": commit_info(a.root),
        "date_utc": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "rehearsal": rehearse,
        "runs": runs + b_runs, "cornac": cornac, "stages": stages, "checks": checks,
        "sanitizer": san, "bench_gpu": b_extra,
        "targets": targets(runs, cornac, checks, san),
        "suggested_results_file": "benchmarks/results/gpu-%s-%s.json" % (
            now.strftime("%Y%m%d"), short.split("-")[0] if short else "gpu"),
    }
    path = os.path.join(out, "gpu_summary.json")
    with open(path, "w") as f:
        json.dump(summary, f, indent=1)
    print("gpu_summary: %s (%s, commit %s)" % (path, dev["name"], (summary["commit"]["sha"] or "?")[:12]))
    for s in stages:
        print("  stage %-9s %-8s %4d s %s" % (s["stage"], s["status"], s["seconds"], s["why"] or ""))
    for r in runs:
        print("  run %-26s %-6s %8s ms/epoch (first %s) %s" % (
            r["name"], r["device"], r["ms_per_epoch"], r["first_epoch_ms"], r["status"]))
    for c in checks:
        print("  check %-28s %s %s" % (c["what"], "passed" if c["passed"] else "FAILED", c["detail"]))
    for c in cornac:
        print("  cornac %-8s %s: %.1f ms/epoch%s" % (c.get("preset"), c.get("device"),
              c.get("ms_per_epoch", float("nan")),
              ", bivae-dist %.3gx faster" % c["speedup_bivae_dist_over_cornac"]
              if "speedup_bivae_dist_over_cornac" in c else ""))
    print("  targets: %s" % json.dumps(summary["targets"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
