/* common/fsutil.c — see fsutil.h */
#include "common/fsutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* One component: exists as a directory, or is created now. */
static int make_one(const char *dir, char *err, size_t len)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return 0;
        snprintf(err, len, "%s: not a directory", dir);
        return -1;
    }
    if (errno != ENOENT) {
        snprintf(err, len, "%s: %s", dir, strerror(errno));
        return -1;
    }
    if (mkdir(dir, 0777) == 0 || (errno == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode)))
        return 0;                       /* EEXIST: another rank or process made it meanwhile */
    snprintf(err, len, "%s: %s", dir, strerror(errno));
    return -1;
}

int fs_mkdir_p(const char *dir, char *err, size_t len)
{
    char buf[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof buf) {
        snprintf(err, len, "%.200s: %s", dir, n ? "path too long" : "empty path");
        return -1;
    }
    memcpy(buf, dir, n + 1);
    while (n > 1 && buf[n - 1] == '/')
        buf[--n] = '\0';
    for (size_t i = 1; i < n; i++) {
        if (buf[i] != '/' || buf[i - 1] == '/')
            continue;
        buf[i] = '\0';
        int rc = make_one(buf, err, len);
        buf[i] = '/';
        if (rc)
            return rc;
    }
    return make_one(buf, err, len);
}

int fs_mkdir_parent(const char *path, char *err, size_t len)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return 0;
    char dir[4096];
    size_t n = (size_t)(slash - path);
    if (n >= sizeof dir) {
        snprintf(err, len, "%.200s: path too long", path);
        return -1;
    }
    memcpy(dir, path, n);
    dir[n] = '\0';
    return fs_mkdir_p(dir, err, len);
}
