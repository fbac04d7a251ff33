/* src/npy.c — see npy.h. */
#include "src/npy.h"

#include <stdio.h>
#include <string.h>

#include "src/checkpoint.h"

size_t npy_header(char *buf, size_t cap, int64_t rows, int64_t cols)
{
    char dict[128];
    int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, "
                     "'shape': (%lld, %lld), }", (long long)rows, (long long)cols);
    size_t pre = 10, len = pre + (size_t)n + 1;   /* magic, version, length; dict; '\n' */
    size_t total = (len + 63) / 64 * 64;
    if (n < 0 || (size_t)n >= sizeof dict || total > cap || total - pre > 65535)
        return 0;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (char)((total - pre) & 0xff);        /* header length, little-endian uint16 */
    buf[9] = (char)((total - pre) >> 8);
    memcpy(buf + pre, dict, (size_t)n);
    memset(buf + pre + n, ' ', total - pre - (size_t)n - 1);
    buf[total - 1] = '\n';
    return total;
}

int npy_open(npy_out *w, const char *path, int64_t rows, int64_t cols)
{
    char head[256];
    memset(w, 0, sizeof(*w));
    w->expected = rows * cols;
    if (ckpt_out_open_new(&w->out, path) != 0)
        return -1;
    size_t n = npy_header(head, sizeof head, rows, cols);
    if (n == 0) {
        ckpt_errf(w->out.msg, sizeof w->out.msg, "%s: shape too large for an .npy header", path);
        w->out.failed = 1;
        return -1;
    }
    ckpt_out_bytes(&w->out, head, n);
    return w->out.failed ? -1 : 0;
}

void npy_write_f32(npy_out *w, const float *v, int64_t n)
{
    ckpt_out_bytes(&w->out, v, (size_t)n * sizeof(float));
    w->written += n;
}

int npy_finish(npy_out *w)
{
    if (!w->out.failed && w->written != w->expected) {
        ckpt_errf(w->out.msg, sizeof w->out.msg, "%s: %lld values written, %lld expected",
                 w->out.final_path, (long long)w->written, (long long)w->expected);
        w->out.failed = 1;
    }
    if (w->out.failed) {
        ckpt_out_abandon(&w->out);
        return -1;
    }
    return ckpt_out_finish(&w->out);
}

void npy_abandon(npy_out *w) { ckpt_out_abandon(&w->out); }
