/* common/outfile.c — see outfile.h */
#define _XOPEN_SOURCE 700
#include "common/outfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"

/* "<flag> <path>: <why>" where why comes from fsutil ("<component>: <reason>"): the
 * component is left out when it is the path itself. */
static void name_error(const char *flag, const char *path, const char *why, char *err,
                       size_t len)
{
    size_t n = strlen(path);
    if (strncmp(why, path, n) == 0 && strncmp(why + n, ": ", 2) == 0)
        why += n + 2;
    snprintf(err, len, "%s %s: %s", flag, path, why);
}

int outfile_prepare_dir(const char *flag, const char *dir, char *err, size_t len)
{
    char why[512];
    if (fs_mkdir_p(dir, why, sizeof why) == 0)
        return 0;
    name_error(flag, dir, why, err, len);
    return -1;
}

int outfile_prepare_file(const char *flag, const char *path, char *err, size_t len)
{
    char why[512];
    struct stat st;
    size_t n = strlen(path);
    if (n == 0 || path[n - 1] == '/') {
        snprintf(err, len, "%s %s: not a file name", flag, path);
        return -1;
    }
    if (fs_mkdir_parent(path, why, sizeof why) != 0) {
        name_error(flag, path, why, err, len);
        return -1;
    }
    if (stat(path, &st) != 0)
        return 0;                    /* a new file (other errors show when it is created) */
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, len, "%s %s: is a directory (give a file name)", flag, path);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {      /* the finished file would be renamed over it */
        snprintf(err, len, "%s %s: not a regular file (a device, pipe or socket)", flag, path);
        return -1;
    }
    return 0;
}

int outfile_create_temp(const char *path, char *tmp, size_t tmp_len)
{
    int n = snprintf(tmp, tmp_len, "%s.tmp.XXXXXX", path);
    if (n < 0 || (size_t)n >= tmp_len) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = mkstemp(tmp);
    if (fd < 0)
        return -1;
    mode_t mask = umask(0);                 /* mkstemp made it 0600: give it the mode */
    umask(mask);                            /* any new file gets, 0666 & ~umask      */
    if (fchmod(fd, 0666 & ~mask) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        errno = e;
        return -1;
    }
    return fd;
}
