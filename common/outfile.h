/* common/outfile.h — the output files and folders a user names on the command line
 * (export --out DIR, recommend --out FILE, gen --out FILE): made ready before anything is
 * computed, with one message naming the flag and the user's path, and the new temporary a
 * file is written to before it is renamed over its final name. */
#ifndef BIVAE_COMMON_OUTFILE_H
#define BIVAE_COMMON_OUTFILE_H

#include <stddef.h>

/* An output folder: created with every missing parent, as `mkdir -p` does. 0, or -1 with
 * one line in err naming flag, dir and the component at fault ("--out runs/emb: runs: not a
 * directory", "--out /proc/x: Permission denied"). */
int outfile_prepare_dir(const char *flag, const char *dir, char *err, size_t len);

/* An output file: its folder created as `mkdir -p` does; path must end in a file name and
 * must not be an existing directory, device, pipe or socket (the finished file is renamed
 * over it). 0, or -1 with one line in err ("--out recs: is a directory (give a file name)"). */
int outfile_prepare_file(const char *flag, const char *path, char *err, size_t len);

/* Creates a new, empty file "<path>.tmp.XXXXXX" beside path (mkstemp: never an existing
 * file, so nothing of the user's is truncated) with the mode a new file gets (0666 &
 * ~umask). Its name goes to tmp[tmp_len]. The open descriptor, or -1 with errno set. */
int outfile_create_temp(const char *path, char *tmp, size_t tmp_len);

#endif
