#!/usr/bin/env python3
"""tests/autograd/check_torch.py — recomputes every case dumped by dump_grad with torch
autograd in float64, directly from the math of docs/bivae-model.md, and compares the loss
and every gradient with what the C code (float32) computed.

usage: check_torch.py DUMP.json

Exit status: 0 all cases agree, 1 a mismatch, 77 torch is not importable (skip).

Tolerance: for every compared array (loss, mu, sigma, z, each W and b gradient),
    |c - t| <= RTOL * |t| + ATOL * max(1, max|t| over that array)
with RTOL = 1e-4 and ATOL = 1e-6: relative 1e-4 on each entry, plus an absolute floor
of 1e-6 of the array's scale for entries that are tiny by cancellation (the C side
accumulates in float32, whose unit round-off is 6e-8).
"""
import json
import sys

RTOL = 1e-4
ATOL = 1e-6
E = 1e-10

try:
    import torch
except Exception:  # ImportError, or a broken install
    print("SKIP: python3 torch not installed")
    sys.exit(77)

torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)


def act_fn(name):
    return {
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "elu": torch.nn.functional.elu,          # alpha = 1
        "relu": torch.relu,
        "relu6": torch.nn.functional.relu6,
    }[name]


def loglik(lik, x, xh):
    if lik == "pois":
        return x * torch.log(xh + E) - xh
    if lik == "bern":
        return x * torch.log(xh + E) + (1 - x) * torch.log(1 - xh + E)
    if lik == "gaus":
        return -(x - xh) ** 2
    raise ValueError(lik)


def check_case(c):
    U, I, K = c["U"], c["I"], c["K"]
    lam = c["lambda"]
    l0, l1 = c["l0"], c["l1"]
    nr = l1 - l0
    R = torch.tensor(c["R"], dtype=torch.float64).reshape(U, I)
    if c["side"] == "user":
        x = R[l0:l1, :]                     # user rows, width I
        N = I
    else:
        x = R.t()[l0:l1, :]                 # item columns, width U
        N = U
    T = torch.tensor(c["table_other"]).reshape(N, K)          # β̃ or θ̃, fixed
    eps = torch.tensor(c["eps"]).reshape(nr, K)
    p = torch.tensor(c["params"])
    width = c["width"]
    L = len(width) - 1
    # PyTorch nn.Linear layout from the C layout: W = Wt^T, Wt stored [in x out] row-major
    Ws, bs = [], []
    for j in range(L + 1):
        n_in = width[j]
        n_out = width[j + 1] if j < L else 2 * K
        Wt = p[c["off_W"][j]:c["off_W"][j] + n_in * n_out].reshape(n_in, n_out)
        b = p[c["off_b"][j]:c["off_b"][j] + n_out]
        if j < L:
            Ws.append(Wt.t().clone().requires_grad_(True))
            bs.append(b.clone().requires_grad_(True))
        else:
            W_mu = Wt[:, :K].t().clone().requires_grad_(True)       # [K x h_L]
            W_sig = Wt[:, K:].t().clone().requires_grad_(True)
            b_mu = b[:K].clone().requires_grad_(True)
            b_sig = b[K:].clone().requires_grad_(True)
    f = act_fn(c["act"])
    h = x
    for W, b in zip(Ws, bs):
        h = f(h @ W.t() + b)
    mu = h @ W_mu.t() + b_mu
    sigma = torch.sigmoid(h @ W_sig.t() + b_sig)
    z = mu + sigma * eps
    xh = torch.sigmoid(z @ T.t())
    ll = loglik(c["lik"], x, xh).sum(dim=1)
    kl = (-0.5 * (1 + 2 * torch.log(sigma) - mu ** 2 - sigma ** 2)).sum(dim=1)
    loss = (lam * kl - ll).mean()
    loss.backward()

    # the torch gradients back in the C layout
    g = torch.zeros(c["n_params"])
    for j in range(L + 1):
        n_in = width[j]
        n_out = width[j + 1] if j < L else 2 * K
        if j < L:
            gWt = Ws[j].grad.t()
            gb = bs[j].grad
        else:
            gWt = torch.cat([W_mu.grad.t(), W_sig.grad.t()], dim=1)
            gb = torch.cat([b_mu.grad, b_sig.grad])
        g[c["off_W"][j]:c["off_W"][j] + n_in * n_out] = gWt.reshape(-1)
        g[c["off_b"][j]:c["off_b"][j] + n_out] = gb

    cg = torch.tensor(c["grad"])
    checks = [
        ("loss", torch.tensor([c["loss"]]), loss.detach().reshape(1)),
        ("mu", torch.tensor(c["mu"]), mu.detach().reshape(-1)),
        ("sigma", torch.tensor(c["sigma"]), sigma.detach().reshape(-1)),
        ("z", torch.tensor(c["z"]), z.detach().reshape(-1)),
    ]
    for j in range(L + 1):
        n_in = width[j]
        n_out = width[j + 1] if j < L else 2 * K
        name = "head" if j == L else "layer%d" % (j + 1)
        sW = slice(c["off_W"][j], c["off_W"][j] + n_in * n_out)
        sb = slice(c["off_b"][j], c["off_b"][j] + n_out)
        checks.append(("grad W_" + name, cg[sW], g[sW]))
        checks.append(("grad b_" + name, cg[sb], g[sb]))
    worst = 0.0
    errors = []
    for name, got, want in checks:
        scale = max(1.0, float(want.abs().max()))
        tol = RTOL * want.abs() + ATOL * scale
        excess = (got - want).abs() / tol
        worst = max(worst, float(excess.max()))
        if bool((excess > 1).any()):
            i = int(excess.argmax())
            errors.append("%s[%d]: C %.9g, torch %.9g" % (name, i, float(got[i]), float(want[i])))
    return worst, errors


def main():
    if len(sys.argv) != 2:
        print("usage: check_torch.py DUMP.json", file=sys.stderr)
        return 2
    with open(sys.argv[1]) as fh:
        cases = json.load(fh)["cases"]
    n_bad = 0
    worst_all = 0.0
    for c in cases:
        label = "%s %s %s layers=%d rows [%d,%d)" % (c["lik"], c["act"], c["side"],
                                                    len(c["width"]) - 1, c["l0"], c["l1"])
        worst, errors = check_case(c)
        worst_all = max(worst_all, worst)
        if errors:
            n_bad += 1
            print("FAIL %s: %s" % (label, "; ".join(errors)))
    print("torch %s: %d cases, %d failed; worst |C - torch| / tolerance = %.3g "
          "(tolerance %g·|t| + %g·max(1, max|t|))"
          % (torch.__version__, len(cases), n_bad, worst_all, RTOL, ATOL))
    if not cases:
        print("FAIL: no cases in the dump")
        return 1
    return 1 if n_bad else 0


if __name__ == "__main__":
    sys.exit(main())
