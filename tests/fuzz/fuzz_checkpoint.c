/* tests/fuzz/fuzz_checkpoint.c — libFuzzer harness for the checkpoint reader (ckpt_read):
 * any byte string must be either read completely or rejected with a status and one line,
 * never crash, and every chunk handed to the visitor must lie inside its tensor's shape. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "src/checkpoint.h"

static int visit(void *ctx, ckpt_tensor t, int64_t offset, const void *data, int64_t n,
                 char *err, size_t err_len)
{
    (void)err;
    (void)err_len;
    const ckpt_info *info = ctx;
    int64_t rows, cols;
    int ndim;
    ckpt_tensor_shape(info, t, &rows, &cols, &ndim);
    if (offset < 0 || n < 0 || offset + n > rows * cols)
        __builtin_trap();   /* the reader let a chunk outside its tensor through */
    volatile unsigned char sink = 0;
    if (ckpt_tensor_dtype(t) == CKPT_STR) {      /* every string: readable, a possible id */
        const ckpt_str *v = data;
        for (int64_t k = 0; k < n; k++) {
            if (v[k].n == 0 || v[k].n > 1024)
                __builtin_trap();
            sink ^= (unsigned char)(v[k].p[0] ^ v[k].p[v[k].n - 1]);
        }
        return 0;
    }
    size_t elem = ckpt_tensor_dtype(t) == CKPT_I64 ? 8 : 4;
    if (n > 0)   /* touch the first and last byte: must be readable */
        sink ^= ((const unsigned char *)data)[0] ^ ((const unsigned char *)data)[n * elem - 1];
    (void)sink;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/fuzz_ckpt_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        unlink(path);
        return 0;
    }
    close(fd);
    ckpt_info info;
    char err[1024];
    if (ckpt_read_header(path, &info, err, sizeof err) == 0) {
        ckpt_info_free(&info);
        ckpt_read(path, &info, visit, &info, err, sizeof err);   /* status: any */
        ckpt_info_free(&info);   /* safe after a failed read too (pointers reset) */
    }
    unlink(path);
    return 0;
}
