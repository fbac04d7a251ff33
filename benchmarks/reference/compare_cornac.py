#!/usr/bin/env python3
"""benchmarks/reference/compare_cornac.py — Cornac's BiVAECF (the reference implementation)
against bivae-dist on the same data and hyper-parameters. run.sh drives it; see README.md.

Subcommands:
  split   DATA OUTDIR --seed S [--ratio 0.75]
          75/25 random split of the rows, exactly like recommenders' python_random_split
          (sklearn train_test_split(train_size=ratio, random_state=seed)): permutation from
          numpy RandomState(seed), test = the first n − floor(ratio·n) rows of it, train =
          the rest, both written in permuted order (the order Cornac assigns its ids in).
  cornac  --train F --test F --seed S --out JSON [--epochs 500] [--k 50] [--encoder 100]
          [--act tanh] [--likelihood pois] [--batch-size 128] [--lr 0.001] [--threads 1]
          [--top-k 10] [--no-eval] [--no-warmup]
          fits BiVAECF on the CPU with torch.set_num_threads(threads), times fit(), scores
          every training user against every training item with μ_θ·μ_β (the order of
          Cornac's score(), which applies a monotone sigmoid to it), and computes the
          metrics of docs/metrics.md; also cross-checks NDCG/Precision/Recall per user
          with cornac.metrics (whose per-user definitions coincide with metrics.md).
          With --cap-priors user,item (and --user-features F / --item-features F, dense
          `id,f1,...` files as `features` writes them): BiVAECF(cap_priors=...) with the
          rows of those files handed to Cornac as FeatureModality(features, ids), built on
          the training set's id maps (train_set.user_feature / item_feature, which Cornac's
          BiVAE reads as features[:num_users] by internal id).
  features DIR --seed S [--dim 16] [--noise 0.5]
          dense feature files for the CAP comparison, from DIR/train.tsv only: the rank-dim
          truncated SVD of the binary training matrix (users: U·√s, items: V·√s), each
          column scaled to unit variance, plus N(0, noise²) noise from RandomState(S);
          DIR/user_features.csv and DIR/item_features.csv (`id,f1,...,fD`, header line,
          rows by raw id, not in Cornac's id order: Cornac's FeatureModality swaps them).
  cornac-epochs --data F --out JSON [--device cuda|cpu] [--epochs 3] [--preset P] and the
          model flags of `cornac`: seconds of each epoch of BiVAECF.fit (a clock around the
          epochs of Cornac's training loop) on the given device, for run_gpu.sh. The data is a
          `bivae-dist gen` file (integer ids), read with numpy and handed to cornac's Dataset
          as arrays (ids in order of first appearance, duplicate pairs dropped, as
          Dataset.from_uir does), so that ML-20M-sized files load in seconds, not minutes.
  cornac-cache --data F
          those arrays saved as F.arrays.npz, which cornac-epochs then loads instead of F
  bivae   --metrics-out JSONL --out JSON [--seed S]
          reads a bivae-dist --metrics-out file: the final metrics, seconds per epoch.
  bivae-timing --metrics-out JSONL --out JSON --preset P --epochs-lo N --epochs-hi N
          --cpu-lo S --cpu-hi S [--rep R]
          bivae-dist seconds per epoch from two runs of different lengths (run.sh timing).
  score-export EXPORT_DIR --train F --test F --metrics-out JSONL [--top-k 10] [--tol 1e-6]
          our python metrics on bivae-dist's exported μ_θ / μ_β (bivae-dist export) against
          the metrics bivae-dist computed itself (a cross-check of its evaluation code).
  table   RESULT.json...
          prints per-seed rows and mean ± std per system (Markdown).
  cap-table RESULT.json...
          the same grouped by system and prior (CAP or none), and per prior whether
          bivae-dist's mean is within one std of Cornac's on every metric.
  timing-table RESULT.json...
          seconds per epoch (wall and CPU) per shape and system, median over repetitions.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np


# ---- data ---------------------------------------------------------------------------

def read_ratings(path):
    """(user, item, rating) as raw string ids, in file order (tab, comma or :: separated)."""
    rows = []
    with open(path) as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            if "::" in line:
                parts = line.split("::")
            elif "\t" in line:
                parts = line.split("\t")
            else:
                parts = line.split(",")
            rating = float(parts[2]) if len(parts) > 2 else 1.0
            rows.append((parts[0], parts[1], rating))
    return rows


def cmd_split(a):
    with open(a.data) as fh:
        lines = [ln for ln in fh if ln.strip()]
    n = len(lines)
    n_train = int(math.floor(a.ratio * n))
    n_test = n - n_train
    perm = np.random.RandomState(a.seed).permutation(n)
    os.makedirs(a.outdir, exist_ok=True)
    with open(os.path.join(a.outdir, "test.tsv"), "w") as fh:
        fh.writelines(lines[i] for i in perm[:n_test])
    with open(os.path.join(a.outdir, "train.tsv"), "w") as fh:
        fh.writelines(lines[i] for i in perm[n_test:])
    print("split: %d rows -> %d train, %d test (seed %d)" % (n, n_train, n_test, a.seed))


def cmd_features(a):
    """informative dense side features of the training users and items (see docstring)"""
    rows = read_ratings(os.path.join(a.dir, "train.tsv"))
    users = list(dict.fromkeys(u for u, _, _ in rows))
    items = list(dict.fromkeys(i for _, i, _ in rows))
    uidx = {u: j for j, u in enumerate(users)}
    iidx = {i: j for j, i in enumerate(items)}
    X = np.zeros((len(users), len(items)))                # [U × I] binary training matrix
    for u, i, _ in rows:
        X[uidx[u], iidx[i]] = 1.0
    U, s_vals, Vt = np.linalg.svd(X, full_matrices=False)
    root = np.sqrt(s_vals[:a.dim])
    rng = np.random.RandomState(a.seed)
    for name, ids, F in (("user", users, U[:, :a.dim] * root),       # [U × D]
                         ("item", items, Vt[:a.dim].T * root)):      # [I × D]
        F = F / F.std(axis=0)
        F = F + a.noise * rng.standard_normal(F.shape)
        path = os.path.join(a.dir, "%s_features.csv" % name)
        order = sorted(range(len(ids)), key=lambda j: (len(ids[j]), ids[j]))  # by raw id
        with open(path, "w") as fh:
            fh.write("id," + ",".join("f%d" % (j + 1) for j in range(a.dim)) + "\n")
            for j in order:
                fh.write(ids[j] + "," + ",".join("%.6f" % v for v in F[j]) + "\n")
        print("features: %s: %d rows x %d (noise %.2f, seed %d)" % (path, len(ids), a.dim,
                                                                   a.noise, a.seed))


def read_dense_features(path):
    """`id,f1,...` with a header line -> (raw ids, [rows × D] float64)"""
    ids, rows = [], []
    with open(path) as fh:
        fh.readline()
        for line in fh:
            parts = line.rstrip("\n").split(",")
            ids.append(parts[0])
            rows.append([float(v) for v in parts[1:]])
    return ids, np.array(rows, dtype=np.float64)


def feature_modality(path, id_map):
    """a dense file -> cornac FeatureModality built on id_map (Cornac's own row swap), and a
    check that row id_map[raw] holds raw's features for every id of the training set"""
    from cornac.data import FeatureModality
    ids, F = read_dense_features(path)
    if len(ids) < len(id_map):
        raise SystemExit("%s: %d rows, fewer than the %d ids of the training set"
                         % (path, len(ids), len(id_map)))
    fm = FeatureModality(features=F, ids=ids, normalized=False)
    fm.build(id_map=id_map)
    row = dict(zip(ids, F))
    for raw, idx in id_map.items():
        if raw not in row or not np.array_equal(fm.features[idx], row[raw]):
            raise SystemExit("%s: the FeatureModality row of %s is not its file row" % (path, raw))
    return fm


# ---- metrics, exactly as docs/metrics.md --------------------------------------------

def ranking_metrics(top, train_items, test_items, k):
    """top: {user: [item raw ids, best first, at most k]} for every training user (seen
    items already removed); test_items: {user: set of raw ids}; n_u = len(test_items[u])
    (the test rows: unique pairs). Users: in both training and test."""
    users = [u for u in test_items if u in train_items]
    s_p = s_r = s_map = s_ndcg = 0.0
    for u in users:
        rel = test_items[u]
        n_u = len(rel)
        hits = 0
        ap = dcg = 0.0
        for r, item in enumerate(top[u][:k], start=1):
            if item in rel:
                hits += 1
                ap += hits / r
                dcg += 1.0 / math.log(1 + r)
        idcg = sum(1.0 / math.log(1 + j) for j in range(1, min(n_u, k) + 1))
        s_p += hits / k
        s_r += hits / n_u
        s_map += ap / n_u
        s_ndcg += dcg / idcg
    n = len(users)
    return {"map": s_map / n, "ndcg@%d" % k: s_ndcg / n, "precision@%d" % k: s_p / n,
            "recall@%d" % k: s_r / n, "users": n}


def top_k_from_scores(S, seen_rows, k):
    """S: [n_users × n_items] scores (dense), seen_rows[u]: item indices to remove.
    Returns [n_users × k] item indices, best first, ties by item index."""
    S = S.copy()
    for u, seen in enumerate(seen_rows):
        if len(seen):
            S[u, seen] = -np.inf
    cand = np.argpartition(-S, k, axis=1)[:, :k + 1] if S.shape[1] > k else \
        np.tile(np.arange(S.shape[1]), (S.shape[0], 1))
    out = np.empty((S.shape[0], min(k, S.shape[1])), dtype=np.int64)
    for u in range(S.shape[0]):
        c = cand[u]
        order = np.lexsort((c, -S[u, c]))          # score descending, then item index
        out[u] = c[order][:out.shape[1]]
    return out


# ---- Cornac ------------------------------------------------------------------------

def cmd_cornac(a):
    import torch
    torch.set_num_threads(a.threads)
    import cornac
    from cornac.models import BiVAECF

    train = read_ratings(a.train)
    train_set = cornac.data.Dataset.from_uir(train, seed=a.seed)
    cap = {"user": "user" in a.cap_priors, "item": "item" in a.cap_priors}
    feats = {"user": a.user_features, "item": a.item_features}
    for side, id_map in (("user", train_set.uid_map), ("item", train_set.iid_map)):
        if cap[side] and not feats[side]:
            raise SystemExit("cornac: --cap-priors %s needs --%s-features" % (side, side))
    train_set.add_modalities(
        user_feature=feature_modality(a.user_features, train_set.uid_map) if cap["user"] else None,
        item_feature=feature_modality(a.item_features, train_set.iid_map) if cap["item"] else None)
    model = BiVAECF(k=a.k, encoder_structure=[int(h) for h in a.encoder.split(",")],
                    act_fn=a.act, likelihood=a.likelihood, n_epochs=a.epochs,
                    batch_size=a.batch_size, learning_rate=a.lr, beta_kl=a.beta_kl,
                    cap_priors=cap, seed=a.seed, use_gpu=False, verbose=False)
    if a.warmup:
        # one throw-away epoch first: the first fit() pays ~2 s of one-time lazy imports
        # and allocator warm-up that are not a per-epoch cost (fit() reseeds torch, so the
        # timed run is unaffected by it)
        BiVAECF(k=a.k, encoder_structure=[int(h) for h in a.encoder.split(",")],
                act_fn=a.act, likelihood=a.likelihood, n_epochs=1, batch_size=a.batch_size,
                learning_rate=a.lr, beta_kl=a.beta_kl, cap_priors=cap, seed=a.seed,
                use_gpu=False).fit(train_set)
    t0, c0 = time.perf_counter(), time.process_time()
    model.fit(train_set)
    fit_s = time.perf_counter() - t0
    cpu_s = time.process_time() - c0
    for side in ("user", "item"):    # Cornac built (and trained) the prior encoder it was asked for
        if cap[side] != hasattr(model.bivae, "%s_prior_encoder" % side):
            raise SystemExit("cornac: cap_priors %s=%s but BiVAE %s a %s_prior_encoder" % (
                side, cap[side], "lacks" if cap[side] else "has", side))
    res = {"system": "cornac", "seed": a.seed, "epochs": a.epochs, "train": a.train,
           "fit_seconds": fit_s, "seconds_per_epoch": fit_s / a.epochs,
           "fit_cpu_seconds": cpu_s, "cpu_seconds_per_epoch": cpu_s / a.epochs,
           "loadavg_1min_after": os.getloadavg()[0],
           "prior": "cap " + a.cap_priors if a.cap_priors else "none", "beta_kl": a.beta_kl,
           "preset": a.preset, "rep": a.rep, "threads": a.threads, "warmup": a.warmup, "torch": torch.__version__, "cornac": cornac.__version__,
           "n_users": train_set.num_users, "n_items": train_set.num_items}
    if not a.no_eval:
        res.update(evaluate_cornac(model, train_set, a))
    with open(a.out, "w") as fh:
        json.dump(res, fh, indent=1)
    print(json.dumps({k: v for k, v in res.items() if k != "crosscheck"}))


def evaluate_cornac(model, train_set, a):
    k = a.top_k
    uid_map, iid_map = train_set.uid_map, train_set.iid_map
    inv_item = np.empty(len(iid_map), dtype=object)
    for raw, idx in iid_map.items():
        inv_item[idx] = raw
    mu_theta = model.bivae.mu_theta.detach().cpu().numpy().astype(np.float64)
    mu_beta = model.bivae.mu_beta.detach().cpu().numpy().astype(np.float64)
    S = mu_theta @ mu_beta.T                              # [n_users × n_items]
    # sanity: Cornac's own score() ranks the same (it is sigmoid of this dot product)
    u0 = 0
    s_cornac = np.asarray(model.score(u0), dtype=np.float64)
    assert np.allclose(s_cornac, 1 / (1 + np.exp(-S[u0])), atol=1e-5), "score() mismatch"

    train_items, seen_rows = {}, [[] for _ in range(len(uid_map))]
    for u, i, _ in read_ratings(a.train):
        train_items.setdefault(u, set()).add(i)
        seen_rows[uid_map[u]].append(iid_map[i])
    test_items = {}
    for u, i, _ in read_ratings(a.test):
        test_items.setdefault(u, set()).add(i)
    top_idx = top_k_from_scores(S, [np.array(s, dtype=np.int64) for s in seen_rows], k)
    top = {raw: list(inv_item[top_idx[idx]]) for raw, idx in uid_map.items()}
    m = ranking_metrics(top, train_items, test_items, k)

    # cross-check with cornac.metrics on the same rankings (test-only items are given
    # their own ids so that they count in the denominators, as metrics.md says)
    from cornac.metrics import NDCG, Precision, Recall
    ext = {raw: idx for raw, idx in iid_map.items()}
    def eid(raw):
        if raw not in ext:
            ext[raw] = len(ext)
        return ext[raw]
    ndcg, prec, rec = NDCG(k=k), Precision(k=k), Recall(k=k)
    sums = np.zeros(3)
    users = [u for u in test_items if u in train_items]
    for u in users:
        gt = np.array([eid(i) for i in test_items[u]])
        pd_rank = top_idx[uid_map[u]]
        sums += [ndcg.compute(gt, pd_rank), prec.compute(gt, pd_rank), rec.compute(gt, pd_rank)]
    cc = dict(zip(["ndcg@%d" % k, "precision@%d" % k, "recall@%d" % k], sums / len(users)))
    for name, v in cc.items():
        if abs(v - m[name]) > 1e-9:
            raise SystemExit("metric cross-check failed: %s ours %.9f cornac.metrics %.9f"
                             % (name, m[name], v))
    m["crosscheck"] = {"cornac.metrics": cc, "agree_to": 1e-9}
    return m


# ---- Cornac, seconds per epoch on a device (run_gpu.sh) ------------------------------

def first_appearance_ids(raw):
    """raw int64 ids -> (dense ids numbered in order of first appearance, raw id by dense id)"""
    uniq, first, inv = np.unique(raw, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")     # unique ids by first appearance
    dense_of_uniq = np.empty(len(uniq), dtype=np.int64)
    dense_of_uniq[order] = np.arange(len(uniq))
    return dense_of_uniq[inv], uniq[order]


def gen_file_arrays(path):
    """a `bivae-dist gen` file (user, item, rating[, time] per line, whitespace separated,
    integer ids) -> dense user ids, dense item ids, ratings, raw user ids, raw item ids"""
    with open(path, "rb") as fh:
        raw = fh.read()
    ncol = len(raw[:raw.index(b"\n")].split())
    table = np.fromstring(raw, dtype=np.float64, sep=" ")   # [rows × ncol]
    del raw
    if ncol < 2 or table.size % ncol:
        raise SystemExit("%s: not a table of %d numeric columns" % (path, ncol))
    table = table.reshape(-1, ncol)
    u_raw, i_raw = table[:, 0].astype(np.int64), table[:, 1].astype(np.int64)
    r = table[:, 2].copy() if ncol > 2 else np.ones(len(table))
    del table
    u, u_ids = first_appearance_ids(u_raw)
    i, i_ids = first_appearance_ids(i_raw)
    # the first of duplicate (user, item) pairs, in file order
    _, keep = np.unique(u * len(i_ids) + i, return_index=True)
    keep.sort()
    return u[keep], i[keep], r[keep], u_ids, i_ids


def cache_path(path):
    return path + ".arrays.npz"


def cmd_cornac_cache(a):
    """the arrays of a gen file, saved beside it (run_gpu.sh: while the tests run)"""
    t0 = time.perf_counter()
    u, i, r, u_ids, i_ids = gen_file_arrays(a.data)
    np.savez(cache_path(a.data), u=u, i=i, r=r, u_ids=u_ids, i_ids=i_ids)
    print("cornac-cache: %s: %d users, %d items, %d ratings in %.1f s" % (
        cache_path(a.data), len(u_ids), len(i_ids), len(u), time.perf_counter() - t0))


def load_gen_file(path):
    """a gen file -> cornac Dataset built from arrays (from its cache when that is newer
    than the file), and the load time"""
    from collections import OrderedDict
    import cornac
    t0 = time.perf_counter()
    c = cache_path(path)
    if os.path.exists(c) and os.path.getmtime(c) >= os.path.getmtime(path):
        z = np.load(c)
        u, i, r, u_ids, i_ids = z["u"], z["i"], z["r"], z["u_ids"], z["i_ids"]
    else:
        u, i, r, u_ids, i_ids = gen_file_arrays(path)
    uid_map = OrderedDict((str(x), k) for k, x in enumerate(u_ids.tolist()))
    iid_map = OrderedDict((str(x), k) for k, x in enumerate(i_ids.tolist()))
    ds = cornac.data.Dataset(len(uid_map), len(iid_map), uid_map, iid_map, (u, i, r))
    return ds, time.perf_counter() - t0


class EpochClock:
    """Stands in for tqdm's trange in cornac's BiVAE training loop: the same epochs, and the
    wall time of each (the device synchronized at each epoch end) and its postfix losses."""
    def __init__(self, *args, sync=None, **_):
        self.epochs, self.seconds, self.losses, self.sync = range(*args), [], [], sync

    def __iter__(self):
        for e in self.epochs:
            t0 = time.perf_counter()
            yield e
            self.sync()
            self.seconds.append(time.perf_counter() - t0)

    def set_postfix(self, **kw):
        self.last = kw

    def end_epoch_losses(self):
        return getattr(self, "last", {})


def cmd_cornac_epochs(a):
    import torch
    import cornac
    import scipy
    from cornac.models import BiVAECF
    import cornac.models.bivaecf.bivae as bivae_mod
    if a.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("cornac-epochs: --device cuda but torch sees no CUDA device "
                         "(torch %s, built for CUDA %s)" % (torch.__version__, torch.version.cuda))
    train_set, load_s = load_gen_file(a.data)
    sync = torch.cuda.synchronize if a.device == "cuda" else (lambda: None)
    clocks = []

    def trange(*args, **kw):
        clocks.append(EpochClock(*args, sync=sync))
        return clocks[-1]
    bivae_mod.trange = trange
    model = BiVAECF(k=a.k, encoder_structure=[int(h) for h in a.encoder.split(",")],
                    act_fn=a.act, likelihood=a.likelihood, n_epochs=a.epochs,
                    batch_size=a.batch_size, learning_rate=a.lr, seed=a.seed,
                    use_gpu=a.device == "cuda", verbose=False)
    t0 = time.perf_counter()
    model.fit(train_set)
    fit_s = time.perf_counter() - t0
    sec = clocks[-1].seconds
    steady = sec[1:] if len(sec) > 1 else sec          # epoch 1 carries CUDA/cuBLAS start-up
    res = {"system": "cornac", "preset": a.preset, "data": a.data, "device": str(model.device),
           "device_name": torch.cuda.get_device_name(0) if a.device == "cuda" else "cpu",
           "epochs": a.epochs, "epoch_seconds": sec,
           "ms_per_epoch": 1000 * float(np.median(steady)),
           "first_epoch_ms": 1000 * sec[0], "fit_seconds": fit_s, "load_seconds": load_s,
           "losses_last_epoch": clocks[-1].end_epoch_losses(),
           "shape": a.preset, "batch": a.batch_size, "precision": "fp32" if not
           torch.backends.cuda.matmul.allow_tf32 else "tf32",
           "k": a.k, "encoder": a.encoder, "act": a.act, "likelihood": a.likelihood,
           "lr": a.lr, "seed": a.seed, "n_users": train_set.num_users,
           "n_items": train_set.num_items, "n_ratings": train_set.num_ratings,
           "torch": torch.__version__, "torch_cuda": torch.version.cuda,
           "cornac": cornac.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
           "torch_threads": torch.get_num_threads()}
    with open(a.out, "w") as fh:
        json.dump(res, fh, indent=1)
    print(json.dumps({k: v for k, v in res.items() if k != "epoch_seconds"}))


# ---- bivae-dist --------------------------------------------------------------------

def cmd_bivae(a):
    epochs, final = [], None
    with open(a.metrics_out) as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            o = json.loads(line)
            if o.get("final"):
                final = o
            elif "epoch" in o:
                epochs.append(o)
    if final is None:
        raise SystemExit("%s: no final metrics line" % a.metrics_out)
    sec = [float(o["seconds"]) for o in epochs]
    res = {"system": "bivae-dist", "seed": a.seed, "epochs": len(epochs),
           "seconds_per_epoch": sum(sec) / len(sec) if sec else None,
           "sum_epoch_seconds": sum(sec), "train_seconds": final.get("train_seconds"),
           "loss_item_last": epochs[-1]["loss_item"] if epochs else None,
           "loss_user_last": epochs[-1]["loss_user"] if epochs else None}
    res["prior"] = a.prior
    for key in ("map", "ndcg@10", "precision@10", "recall@10", "users"):
        if key in final:
            res[key] = final[key]
    with open(a.out, "w") as fh:
        json.dump(res, fh, indent=1)
    print(json.dumps(res))


def cmd_bivae_timing(a):
    """bivae-dist seconds per epoch: wall = mean of the JSON per-epoch "seconds" of the
    long run; CPU = (CPU time of the long run - that of the short one) / (epoch difference),
    which cancels loading and evaluation."""
    sec = []
    with open(a.metrics_out) as fh:
        for line in fh:
            if line.strip():
                o = json.loads(line)
                if "epoch" in o and not o.get("final"):
                    sec.append(float(o["seconds"]))
    res = {"system": "bivae-dist", "preset": a.preset, "rep": a.rep, "epochs": len(sec),
           "seconds_per_epoch": sum(sec) / len(sec),
           "cpu_seconds_per_epoch": (a.cpu_hi - a.cpu_lo) / (a.epochs_hi - a.epochs_lo),
           "loadavg_1min_after": os.getloadavg()[0]}
    with open(a.out, "w") as fh:
        json.dump(res, fh, indent=1)
    print(json.dumps(res))


def cmd_timing_table(a):
    import statistics as st
    rows = {}
    for p in a.results:
        with open(p) as fh:
            r = json.load(fh)
        rows.setdefault((r["preset"], r["system"]), []).append(r)
    print("| shape | system | runs | wall s/epoch: median (min–max) | CPU s/epoch: median "
          "(min–max) | 1-min load avg after each run |")
    print("|---|---|---|---|---|---|")
    for (preset, system), rs in sorted(rows.items(), key=lambda kv: (kv[0][0] != "ml-100k",
                                                                      kv[0])):
        w = [r["seconds_per_epoch"] for r in rs]
        c = [r["cpu_seconds_per_epoch"] for r in rs]
        load = ", ".join("%.1f" % r.get("loadavg_1min_after", float("nan")) for r in rs)
        print("| %s | %s | %d | %.4f (%.4f–%.4f) | %.4f (%.4f–%.4f) | %s |" % (
            preset, system, len(rs), st.median(w), min(w), max(w), st.median(c), min(c),
            max(c), load))


def read_id_map(path):
    """index,raw_id CSV (bivae-dist export) -> list of raw ids by index."""
    ids = []
    with open(path) as fh:
        header = fh.readline()
        assert header.strip() == "index,raw_id", header
        for line in fh:
            idx, raw = line.rstrip("\n").split(",", 1)
            assert int(idx) == len(ids)
            ids.append(raw)
    return ids


def cmd_score_export(a):
    """Our python metrics on bivae-dist's exported μ_θ, μ_β (bivae-dist export), against the
    metrics bivae-dist computed itself (its --metrics-out final line)."""
    mu_theta = np.load(os.path.join(a.export_dir, "mu_theta.npy")).astype(np.float64)
    mu_beta = np.load(os.path.join(a.export_dir, "mu_beta.npy")).astype(np.float64)
    users = read_id_map(os.path.join(a.export_dir, "user_ids.csv"))
    items = read_id_map(os.path.join(a.export_dir, "item_ids.csv"))
    uidx = {u: j for j, u in enumerate(users)}
    iidx = {i: j for j, i in enumerate(items)}
    train_items, seen_rows = {}, [[] for _ in users]
    for u, i, _ in read_ratings(a.train):
        train_items.setdefault(u, set()).add(i)
        seen_rows[uidx[u]].append(iidx[i])
    test_items = {}
    for u, i, _ in read_ratings(a.test):
        test_items.setdefault(u, set()).add(i)
    S = mu_theta @ mu_beta.T
    top_idx = top_k_from_scores(S, [np.array(s, dtype=np.int64) for s in seen_rows], a.top_k)
    top = {u: [items[j] for j in top_idx[uidx[u]]] for u in users}
    ours = ranking_metrics(top, train_items, test_items, a.top_k)
    final = None
    with open(a.metrics_out) as fh:
        for line in fh:
            if line.strip() and json.loads(line).get("final"):
                final = json.loads(line)
    worst = 0.0
    out = {"python": ours, "bivae-dist": {k: final[k] for k in ours if k in final}}
    for k, v in ours.items():
        d = abs(v - final[k])
        worst = max(worst, d)
        print("%-13s python %.6f  bivae-dist %.6f  |diff| %.2g" % (k, v, final[k], d))
    out["max_abs_diff"] = worst
    if a.out:
        with open(a.out, "w") as fh:
            json.dump(out, fh, indent=1)
    if worst > a.tol:
        raise SystemExit("score-export: metrics differ by %.3g > %.3g" % (worst, a.tol))


# ---- table -------------------------------------------------------------------------

KEYS = ["map", "ndcg@10", "precision@10", "recall@10"]


def mean_std(v):
    v = np.asarray(v, dtype=np.float64)
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0


def load_runs(paths):
    """The result JSON files that carry every metric of KEYS."""
    runs = []
    for p in paths:
        with open(p) as fh:
            runs.append(json.load(fh))
    return [r for r in runs if all(k in r for k in KEYS)]


def cmd_table(a):
    runs = load_runs(a.results)
    systems = ["cornac", "bivae-dist"]
    by = {s: sorted([r for r in runs if r["system"] == s], key=lambda r: r["seed"])
          for s in systems}
    hdr = ["system", "seed", "MAP", "NDCG@10", "Precision@10", "Recall@10", "users", "s/epoch"]
    lines = ["| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
    for s in systems:
        for r in by[s]:
            lines.append("| %s | %s | %s | %d | %.4f |" % (
                s, r["seed"], " | ".join("%.4f" % r[k] for k in KEYS), r["users"],
                r["seconds_per_epoch"]))
    for s in systems:
        if not by[s]:
            continue
        cells = []
        for k in KEYS + ["seconds_per_epoch"]:
            m, sd = mean_std([r[k] for r in by[s]])
            cells.append("%.4f ± %.4f" % (m, sd))
        lines.append("| **%s mean ± std (n=%d)** | | %s | | %s |" % (
            s, len(by[s]), " | ".join(cells[:4]), cells[4]))
    # paired differences on the seeds both systems ran
    seeds = sorted(set(r["seed"] for r in by["cornac"]) & set(r["seed"] for r in by["bivae-dist"]))
    if seeds:
        cm = {r["seed"]: r for r in by["cornac"]}
        bm = {r["seed"]: r for r in by["bivae-dist"]}
        cells = []
        for k in KEYS:
            m, sd = mean_std([bm[s][k] - cm[s][k] for s in seeds])
            cells.append("%+.4f ± %.4f" % (m, sd))
        lines.append("| **bivae-dist − cornac, paired (n=%d)** | | %s | | |" % (
            len(seeds), " | ".join(cells)))
    print("\n".join(lines))


def cmd_cap_table(a):
    runs = load_runs(a.results)
    priors = sorted(set(r.get("prior", "none") for r in runs), key=lambda p: p == "none")
    systems = ["cornac", "bivae-dist"]
    hdr = ["system", "prior", "seed", "MAP", "NDCG@10", "Precision@10", "Recall@10", "users"]
    lines = ["| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
    group = {}
    for pr in priors:
        for s in systems:
            group[s, pr] = sorted([r for r in runs if r["system"] == s and
                                   r.get("prior", "none") == pr], key=lambda r: r["seed"])
            for r in group[s, pr]:
                lines.append("| %s | %s | %s | %s | %d |" % (
                    s, pr, r["seed"], " | ".join("%.4f" % r[k] for k in KEYS), r["users"]))
    verdicts = []
    for pr in priors:
        stats = {}
        for s in systems:
            if not group[s, pr]:
                continue
            stats[s] = [mean_std([r[k] for r in group[s, pr]]) for k in KEYS]
            lines.append("| **%s, mean ± std (n=%d)** | %s | | %s | |" % (
                s, len(group[s, pr]), pr, " | ".join("%.4f ± %.4f" % m for m in stats[s])))
        if len(stats) == 2:
            within = [abs(b[0] - c[0]) <= c[1] for b, c in zip(stats["bivae-dist"], stats["cornac"])]
            verdicts.append("prior %s: bivae-dist mean within one Cornac std on %s: %s" % (
                pr, ", ".join("%s %s" % (k, "yes" if w else "NO") for k, w in zip(KEYS, within)),
                "every metric" if all(within) else "NOT every metric"))
    print("\n".join(lines))
    print()
    print("\n".join(verdicts))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("split")
    s.add_argument("data")
    s.add_argument("outdir")
    s.add_argument("--seed", type=int, required=True)
    s.add_argument("--ratio", type=float, default=0.75)
    c = sub.add_parser("cornac")
    c.add_argument("--train", required=True)
    c.add_argument("--test")
    c.add_argument("--seed", type=int, required=True)
    c.add_argument("--out", required=True)
    c.add_argument("--epochs", type=int, default=500)
    c.add_argument("--k", type=int, default=50)
    c.add_argument("--encoder", default="100")
    c.add_argument("--act", default="tanh")
    c.add_argument("--likelihood", default="pois")
    c.add_argument("--batch-size", type=int, default=128)
    c.add_argument("--lr", type=float, default=0.001)
    c.add_argument("--threads", type=int, default=1)
    c.add_argument("--top-k", type=int, default=10)
    c.add_argument("--no-eval", action="store_true")
    c.add_argument("--preset", help="label stored in the result (timing runs)")
    c.add_argument("--rep", type=int, help="label stored in the result (timing runs)")
    c.add_argument("--beta-kl", type=float, default=1.0)
    c.add_argument("--cap-priors", default="", help="user, item or user,item (CAP priors)")
    c.add_argument("--user-features", help="dense id,f1,... file (with --cap-priors user)")
    c.add_argument("--item-features", help="dense id,f1,... file (with --cap-priors item)")
    c.add_argument("--no-warmup", dest="warmup", action="store_false",
                   help="do not run the one-epoch warm-up fit before the timed fit")
    cc = sub.add_parser("cornac-cache")
    cc.add_argument("--data", required=True)
    ce = sub.add_parser("cornac-epochs")
    ce.add_argument("--data", required=True)
    ce.add_argument("--out", required=True)
    ce.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    ce.add_argument("--preset", default="")
    ce.add_argument("--epochs", type=int, default=3)
    ce.add_argument("--seed", type=int, default=42)
    ce.add_argument("--k", type=int, default=50)
    ce.add_argument("--encoder", default="100")
    ce.add_argument("--act", default="tanh")
    ce.add_argument("--likelihood", default="pois")
    ce.add_argument("--batch-size", type=int, default=128)
    ce.add_argument("--lr", type=float, default=0.001)
    b = sub.add_parser("bivae")
    b.add_argument("--metrics-out", required=True)
    b.add_argument("--out", required=True)
    b.add_argument("--seed", type=int)
    b.add_argument("--prior", default="none", help="label stored in the result")
    f = sub.add_parser("features")
    f.add_argument("dir")
    f.add_argument("--seed", type=int, required=True)
    f.add_argument("--dim", type=int, default=16)
    f.add_argument("--noise", type=float, default=0.5)
    ct = sub.add_parser("cap-table")
    ct.add_argument("results", nargs="+")
    bt = sub.add_parser("bivae-timing")
    bt.add_argument("--metrics-out", required=True)
    bt.add_argument("--out", required=True)
    bt.add_argument("--preset", required=True)
    bt.add_argument("--rep", type=int, default=1)
    bt.add_argument("--epochs-lo", type=int, required=True)
    bt.add_argument("--epochs-hi", type=int, required=True)
    bt.add_argument("--cpu-lo", type=float, required=True)
    bt.add_argument("--cpu-hi", type=float, required=True)
    se = sub.add_parser("score-export")
    se.add_argument("export_dir")
    se.add_argument("--train", required=True)
    se.add_argument("--test", required=True)
    se.add_argument("--metrics-out", required=True)
    se.add_argument("--top-k", type=int, default=10)
    se.add_argument("--tol", type=float, default=1e-6)
    se.add_argument("--out")
    tt = sub.add_parser("timing-table")
    tt.add_argument("results", nargs="+")
    t = sub.add_parser("table")
    t.add_argument("results", nargs="+")
    a = p.parse_args()
    if a.cmd == "cornac" and not a.no_eval and not a.test:
        p.error("cornac: --test is required unless --no-eval")
    {"split": cmd_split, "cornac": cmd_cornac, "cornac-epochs": cmd_cornac_epochs,
     "cornac-cache": cmd_cornac_cache, "features": cmd_features, "cap-table": cmd_cap_table,
     "bivae": cmd_bivae, "table": cmd_table,
     "bivae-timing": cmd_bivae_timing, "score-export": cmd_score_export, "timing-table": cmd_timing_table}[a.cmd](a)


if __name__ == "__main__":
    main()
