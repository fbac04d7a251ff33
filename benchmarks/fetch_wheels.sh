#!/usr/bin/env bash
# benchmarks/fetch_wheels.sh — download (never install) the Python wheels that Cornac's
# BiVAECF needs on a GPU machine that has PyTorch and numpy 2 but no package registry, into
# .deps/wheels/ (git-ignored). benchmarks/run_gpu.sh installs them with
# `pip install --no-index --find-links .deps/wheels --no-deps` into a venv that also sees the
# machine's own packages (torch, numpy), and installs scipy / tqdm / powerlaw only where the
# machine lacks them.
#
# The explicit list (pip download --no-deps, pinned: what `import cornac` and BiVAECF.fit
# import, minus torch and numpy):
#   cornac 3.0.1     binary, one wheel per Python. Slimmed here: its extension modules are
#                    shipped with debug info (strip --strip-debug: 31 MB -> about 5 MB per
#                    wheel) and it carries boost and eigen headers (cornac/utils/external,
#                    27 MB unpacked) that only a source build reads; RECORD is rewritten.
#   scipy 1.18.1     binary (cornac.data builds scipy.sparse matrices), 35 MB per Python
#                    (1.15.3 for Python 3.10, 1.17.1 for 3.11: the newest for each)
#   tqdm 4.70.1      pure Python
#   powerlaw 1.5     pure Python; `import cornac` imports it (eval_methods), 1.5 does not import
#                    matplotlib at import time (2.0 does, and would pull matplotlib in)
# Size: the repository, .deps/debs (22.6 MB) and .deps/wheels must stay under 64 MiB
# together (what a borrowed GPU machine gets). One Python's set is about 40 MB; so only
# PYVERS="312" by default, the GPU machines' Python (3.12); PYVERS="310 311 312" fetches all
# three (124 MB: then carry only the device's), or, with SCIPY=0 for a machine that has
# scipy, cornac alone for all three (15 MB). Measured: cornac 5.2 / 5.2 / 5.0 MB slimmed
# (30-31 MB as published), scipy 37.7 (1.15.3, cp310) / 35.3 / 35.3 MB, tqdm 0.08, powerlaw 0.02.
#
#   benchmarks/fetch_wheels.sh          download, slim, write manifest.txt, print the sizes
# Environment: PYVERS (default "312"), SCIPY=0 (no scipy wheels), WHEELS_DIR (default
# .deps/wheels), PLATFORM (default manylinux_2_28_x86_64; the older manylinux tags too).
# Exit status: 0, 1 on a failed download, 3 when what travels would exceed 64 MiB.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEST=${WHEELS_DIR:-$ROOT/.deps/wheels}
PYVERS=${PYVERS:-312}
PLATFORM=${PLATFORM:-manylinux_2_28_x86_64}
scipy_for() {   # the newest scipy of each Python (1.16+ dropped 3.10, 1.18 dropped 3.11)
  case $1 in 310) echo scipy==1.15.3 ;; 311) echo scipy==1.17.1 ;; *) echo scipy==1.18.1 ;; esac
}
PURE=(tqdm==4.70.1 powerlaw==1.5)

die() { echo "fetch_wheels: error: $*" >&2; exit 1; }
command -v strip >/dev/null || die "strip (binutils) not found"
PY=$(command -v python3) || die "python3 not found"
"$PY" -m pip --version >/dev/null 2>&1 || die "$PY has no pip"

mkdir -p "$DEST"
cd "$DEST"
platforms=(--platform "$PLATFORM" --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64
           --platform manylinux1_x86_64)
for v in $PYVERS; do
  want=(cornac==3.0.1)
  [[ ${SCIPY:-1} == 0 ]] || want+=("$(scipy_for "$v")")
  echo "fetch_wheels: cp$v: ${want[*]}"
  "$PY" -m pip download -q --no-deps --only-binary=:all: --implementation cp \
    --python-version "$v" --abi "cp$v" "${platforms[@]}" -d "$DEST" "${want[@]}" ||
    die "pip download for cp$v failed"
done
echo "fetch_wheels: ${PURE[*]}"
"$PY" -m pip download -q --no-deps --only-binary=:all: -d "$DEST" "${PURE[@]}" ||
  die "pip download of the pure-Python wheels failed"

# slim_wheel WHEEL: strip the debug info of its .so files, drop cornac/utils/external,
# rewrite RECORD (sha256, size) — the same wheel otherwise, same name
slim_wheel() {
  local whl=$1 tmp
  tmp=$(mktemp -d)
  "$PY" - "$whl" "$tmp" <<'EOF'
import base64, hashlib, os, subprocess, sys, zipfile
whl, tmp = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(whl) as z:
    names = [n for n in z.namelist() if not n.startswith("cornac/utils/external/")]
    if len(names) == len(z.namelist()) and not any(n.endswith(".so") for n in names):
        sys.exit(0)
    for n in names:
        z.extract(n, tmp)
sos = [os.path.join(tmp, n) for n in names if n.endswith(".so")]
if sos:
    subprocess.run(["strip", "--strip-debug"] + sos, check=True)
record = next(n for n in names if n.endswith(".dist-info/RECORD"))
lines = []
for n in names:
    if n == record:
        continue
    data = open(os.path.join(tmp, n), "rb").read()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    lines.append("%s,sha256=%s,%d" % (n, digest, len(data)))
lines.append(record + ",,")
with open(os.path.join(tmp, record), "w") as f:
    f.write("\n".join(lines) + "\n")
out = whl + ".slim"
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    for n in names:                      # dist-info last, as wheels have it
        if ".dist-info/" not in n:
            z.write(os.path.join(tmp, n), n)
    for n in names:
        if ".dist-info/" in n:
            z.write(os.path.join(tmp, n), n)
os.replace(out, whl)
EOF
  rm -rf "$tmp"
}

for whl in cornac-*.whl; do
  before=$(stat -c %s "$whl")
  slim_wheel "$whl"
  echo "fetch_wheels: $whl: $((before / 1000000)) MB -> $(($(stat -c %s "$whl") / 1000000)) MB"
done
ls -1 ./*.whl >manifest.txt
ls -l ./*.whl | awk '{printf "fetch_wheels: %9d  %s\n", $5, $9}'
echo "fetch_wheels: $(du -cb ./*.whl | tail -1 | cut -f1) bytes of wheels in $DEST"

# what travels to the GPU machine: the repository's files, .deps/debs, .deps/wheels
repo=$(cd "$ROOT" && git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
debs=$(du -cb "$ROOT"/.deps/debs/*.deb 2>/dev/null | tail -1 | cut -f1)
wheels=$(du -cb ./*.whl | tail -1 | cut -f1)
total=$((repo + ${debs:-0} + wheels))
echo "fetch_wheels: repository $repo + .debs ${debs:-0} + wheels $wheels = $total bytes" \
     "($((total / 1048576)) MiB of the 64 MiB a GPU machine gets)"
[[ $total -lt $((64 * 1048576)) ]] || {
  echo "fetch_wheels: warning: over 64 MiB: carry fewer Pythons' wheels (PYVERS)" >&2; exit 3; }
