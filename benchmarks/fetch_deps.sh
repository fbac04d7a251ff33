#!/usr/bin/env bash
# benchmarks/fetch_deps.sh — download (never install) the Debian packages that a GPU machine
# without a package registry needs to configure, build and test bivae-dist, into
# .deps/debs/ (git-ignored). benchmarks/run_gpu.sh unpacks them into a scratch prefix there.
#
# The list is the dependency closure of what the build uses (apt-cache depends, Debian 12),
# minus what any machine with a C compiler already has (libc6, libgcc-s1, libstdc++6,
# libgomp1, zlib1g, libuuid1, libudev1) and minus what is optional at run time: compilers
# pulled by libopenmpi-dev for Fortran, Open MPI's -dev dependencies (hwloc, pmix, libevent,
# ibverbs headers; mpi.h needs none), hwloc's plugins and the ibverbs providers (dlopened
# when present), ssh (local launches only).
#
#   benchmarks/fetch_deps.sh            download the .debs (about 22 MB), write a manifest
#   benchmarks/fetch_deps.sh --check    also list direct dependencies left out, for review
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEST=$ROOT/.deps/debs

PKGS=(
  # Open MPI 4.1: headers, mpicc wrapper, mpirun, libraries and their runtime libraries
  libopenmpi-dev openmpi-bin openmpi-common libopenmpi3
  libhwloc15 libpmix2 libmunge2 libevent-core-2.1-7 libevent-pthreads-2.1-7
  libfabric1 libucx0 libibverbs1 librdmacm1 libnl-3-200 libnl-route-3-200
  libpsm2-2 libpsm-infinipath1 libnuma1 libatomic1
  # OpenBLAS (pthread flavour) and its Fortran runtime
  libopenblas-pthread-dev libopenblas0-pthread libgfortran5 libquadmath0
  # protobuf-c: headers, library, protoc-c and its C++ protobuf runtime
  libprotobuf-c-dev libprotobuf-c1 protobuf-c-compiler libprotoc32 libprotobuf32
  # tests, RNG headers, zlib headers, pkg-config
  libcmocka-dev libcmocka0 librandom123-dev zlib1g-dev
  pkgconf pkgconf-bin libpkgconf3
)

# Present on any machine that can compile C: not downloaded.
BASE=(libc6 libgcc-s1 libstdc++6 libgomp1 zlib1g libuuid1 libudev1 gcc-12-base adduser)

mkdir -p "$DEST"
cd "$DEST"
echo "fetch_deps: downloading ${#PKGS[@]} packages into $DEST"
apt-get download "${PKGS[@]}"
ls -1 ./*.deb > manifest.txt
echo "fetch_deps: $(du -ch ./*.deb | tail -1 | cut -f1) of .deb files"
echo "fetch_deps: $(wc -l < manifest.txt) files listed in $DEST/manifest.txt"

if [[ "${1:-}" == "--check" ]]; then
  # direct dependencies neither fetched nor in BASE: each is left out on purpose (see top)
  declare -A have=()
  for p in "${PKGS[@]}" "${BASE[@]}"; do have[$p]=1; done
  for p in "${PKGS[@]}"; do
    apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
        --no-enhances "$p" 2>/dev/null | awk '/^ +(Pre)?Depends:/ {print $2}' |
      while read -r d; do
        d=${d#<}; d=${d%>}
        [[ -n "${have[$d]:-}" ]] || echo "  left out: $d (needed by $p)"
      done
  done | sort -u
fi
