#!/usr/bin/env python3
"""tests/cuemu/translate.py IN.cu OUT.cpp — cuemu: CUDA C++ to host C++.

The only syntax CUDA adds that C++ cannot express with macros is the launch
`kernel<<<grid, block[, shmem[, stream]]>>>(args)`; it becomes
`cuemu_launch(cuemu_cfg(grid, block, ...), "kernel", kernel, args)`. Line numbers are kept
(a #line directive names the original file), so compiler messages point into the .cu."""
import re
import sys

LAUNCH = re.compile(r"\b([A-Za-z_]\w*)\s*<<<(.*?)>>>\s*\(\s*(\)?)", re.S)


def rewrite(m):
    name, cfg, empty = m.group(1), m.group(2), m.group(3)
    head = 'cuemu_launch(cuemu_cfg(%s), "%s", %s' % (cfg, name, name)
    return head + ")" if empty else head + ", "


def main():
    src_path, out_path = sys.argv[1], sys.argv[2]
    with open(src_path, encoding="utf-8") as f:
        src = f.read()
    out, n = LAUNCH.subn(rewrite, src)
    if "<<<" in out:
        sys.exit("translate.py: %s: a launch it could not rewrite" % src_path)
    with open(out_path, "w", encoding="utf-8") as f:
        f.write('#line 1 "%s"\n' % src_path)
        f.write(out)


if __name__ == "__main__":
    main()
