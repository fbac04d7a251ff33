/* common/fsutil.h — creating the folders a user names for output, as `mkdir -p` does. */
#ifndef BIVAE_COMMON_FSUTIL_H
#define BIVAE_COMMON_FSUTIL_H

#include <stddef.h>

/* Creates dir and every missing parent (mode 0777 before the umask), like `mkdir -p`.
 * An existing directory is fine. 0, or -1 with the reason in err[len]: the component that
 * could not be made or is not a directory, and strerror ("runs/a: not a directory",
 * "/root/x: Permission denied"). */
int fs_mkdir_p(const char *dir, char *err, size_t len);

/* fs_mkdir_p of the folder that holds file `path` (nothing for a bare file name). */
int fs_mkdir_parent(const char *path, char *err, size_t len);

#endif
