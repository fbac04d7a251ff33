/* src/npy.h — NumPy .npy files (format version 1.0: magic "\x93NUMPY", version 1.0, a
 * little-endian uint16 header length, a Python dict literal padded with spaces to a
 * multiple of 64 bytes and ended by '\n', then the raw values), as `export` writes them:
 * 2-D little-endian float32 ('<f4') in C order. Written as a stream — header, then values
 * in any number of pieces — to a new temporary <path>.tmp.XXXXXX, renamed when complete
 * (ckpt_out_open_new, src/ckpt_io.h). */
#ifndef BIVAE_NPY_H
#define BIVAE_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "src/ckpt_io.h"

typedef struct npy_out {
    ckpt_out out;
    int64_t expected, written;   /* values */
} npy_out;

/* The header of an [rows × cols] '<f4' array into buf[cap]; returns its length (a
 * multiple of 64), or 0 when cap is too small. */
size_t npy_header(char *buf, size_t cap, int64_t rows, int64_t cols);

/* 0, or -1 with the reason in w->out.msg. */
int npy_open(npy_out *w, const char *path, int64_t rows, int64_t cols);
void npy_write_f32(npy_out *w, const float *v, int64_t n);
/* Checks that rows × cols values were written, then completes and closes the temporary
 * (ckpt_out_finish): ckpt_out_commit renames it, npy_abandon removes it. 0, or -1
 * (w->out.msg; the temporary removed). */
int npy_finish(npy_out *w);
/* Drops the partial file. */
void npy_abandon(npy_out *w);

#endif
