#!/usr/bin/env python3
"""Check an `export` directory and `recommend` output against each other.

Usage: npy_check.py DIR U I K [RECS.tsv SEEN_USER SEEN.txt]
- every .npy: the header parsed by hand (magic, version 1.0, header length, 64-byte
  alignment, the dict: '<f4', C order, shape), the file size; then numpy.load when numpy
  is installed (a note says so when it is not);
- user_ids.csv / item_ids.csv: header line, U / I rows "index,raw_id";
- with RECS: the scores of SEEN_USER's recommendations are mu_theta[u] . mu_beta[i]
  (relative 1e-4), descending, none of the items in SEEN.txt, and the first one is the
  best of all items not in SEEN.txt.
Exits 1 on a mismatch."""
import array
import ast
import os
import sys


def fail(msg):
    print("npy_check:", msg)
    sys.exit(1)


def read_npy(path, rows, cols):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x93NUMPY\x01\x00":
        fail(f"{path}: bad magic / version {data[:8]!r}")
    hlen = data[8] | (data[9] << 8)
    if (10 + hlen) % 64 != 0 or data[10 + hlen - 1:10 + hlen] != b"\n":
        fail(f"{path}: header of {hlen} bytes is not 64-aligned or not ended by a newline")
    d = ast.literal_eval(data[10:10 + hlen].decode("latin1").strip())
    if d != {"descr": "<f4", "fortran_order": False, "shape": (rows, cols)}:
        fail(f"{path}: header {d}")
    if len(data) != 10 + hlen + 4 * rows * cols:
        fail(f"{path}: {len(data)} bytes for shape {(rows, cols)}")
    values = array.array("f")
    values.frombytes(data[10 + hlen:])
    if sys.byteorder != "little":
        values.byteswap()
    return [values[r * cols:(r + 1) * cols] for r in range(rows)]


def with_numpy(path, rows, cols, values):
    try:
        import numpy
    except ImportError:
        return False
    a = numpy.load(path)
    if a.shape != (rows, cols) or a.dtype != numpy.float32:
        fail(f"numpy.load({path}): {a.shape} {a.dtype}")
    if any(a[r, c] != values[r][c] for r in (0, rows - 1) for c in range(cols)):
        fail(f"numpy.load({path}): values differ")
    return True


def read_ids(path, n):
    with open(path) as f:
        lines = f.read().splitlines()
    if lines[0] != "index,raw_id" or len(lines) != n + 1:
        fail(f"{path}: {len(lines)} lines, header {lines[0]!r}")
    ids = []
    for j, line in enumerate(lines[1:]):
        idx, raw = line.split(",")
        if int(idx) != j:
            fail(f"{path}: line {j + 2} is {line!r}")
        ids.append(int(raw))
    return ids


def check_recs(recs, user, seen_path, mu_theta, mu_beta, user_ids, item_ids):
    seen = {int(x) for x in open(seen_path).read().split()}
    u = user_ids.index(user)
    dot = lambda i: sum(a * b for a, b in zip(mu_theta[u], mu_beta[i]))
    rows = [l.split("\t") for l in open(recs).read().splitlines()]
    if rows[0] != ["user", "rank", "item", "score"]:
        fail(f"{recs}: header {rows[0]}")
    mine = [r for r in rows[1:] if int(r[0]) == user]
    if not mine:
        fail(f"{recs}: no rows for user {user}")
    last = float("inf")
    for rank, r in enumerate(mine, 1):
        item, score = int(r[2]), float(r[3])
        if int(r[1]) != rank or item in seen or score > last:
            fail(f"{recs}: row {r} (rank order, unseen items, descending scores)")
        want = dot(item_ids.index(item))
        if abs(score - want) > 1e-4 * max(1.0, abs(want)):
            fail(f"{recs}: score {score} for item {item}, mu_theta . mu_beta = {want}")
        last = score
    best = max((dot(i), raw) for i, raw in enumerate(item_ids) if raw not in seen)
    if best[1] != int(mine[0][2]):
        fail(f"{recs}: the best unseen item is {best[1]} ({best[0]}), not {mine[0][2]}")


def main(a):
    out, U, I, K = a[0], int(a[1]), int(a[2]), int(a[3])
    shapes = {"mu_theta": U, "theta_tilde": U, "mu_beta": I, "beta_tilde": I}
    arrays, numpy_used = {}, False
    for name, rows in shapes.items():
        path = os.path.join(out, name + ".npy")
        arrays[name] = read_npy(path, rows, K)
        numpy_used = with_numpy(path, rows, K, arrays[name]) or numpy_used
    print("npy headers OK;", "numpy.load OK" if numpy_used else "numpy not installed: numpy.load skipped")
    user_ids = read_ids(os.path.join(out, "user_ids.csv"), U)
    item_ids = read_ids(os.path.join(out, "item_ids.csv"), I)
    if len(a) > 4:
        check_recs(a[4], int(a[5]), a[6], arrays["mu_theta"], arrays["mu_beta"], user_ids, item_ids)
        print("recommendations OK")


if __name__ == "__main__":
    main(sys.argv[1:])
