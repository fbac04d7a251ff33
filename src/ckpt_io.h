/* src/ckpt_io.h — the record layer of checkpoint files (internal to src/checkpoint*.c and
 * the checkpoint test tools): Record messages of src/checkpoint.proto, each preceded by
 * its length as a varint, written through stdio to a temporary name and committed with
 * fsync + rename + directory fsync; read back with every failure named. The writer is
 * also the atomic file writer of `export` and `recommend --out` (ckpt_out_bytes).
 *
 * Nothing here prints or exits: failures are kept in the struct (`msg`, one line, starting
 * with the file name) and reported by the caller. */
#ifndef BIVAE_CKPT_IO_H
#define BIVAE_CKPT_IO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "checkpoint.pb-c.h"

/* Largest record accepted on reading: chunks hold <= CKPT_CHUNK_ELEMS values (8 MiB for
 * int64), the header a few KiB. Anything longer is not a record of ours. */
#define CKPT_MAX_RECORD_BYTES ((size_t)64 << 20)

/* crc32 (zlib) of n bytes, for any n (zlib's crc32 takes a uInt length). */
uint32_t ckpt_crc32(const void *p, size_t n);
/* crc32 continued over n more bytes (crc0: the crc32 so far, 0 to start). */
uint32_t ckpt_crc32_update(uint32_t crc0, const void *p, size_t n);

/* ---- writing ----------------------------------------------------------------------- */

typedef struct ckpt_out {
    FILE *f;
    char tmp_path[4096];     /* what is being written: <final>.tmp or <final>.tmp.XXXXXX */
    char final_path[4096];
    int failed;              /* 1 after the first failed call: later writes are skipped */
    int finished;            /* ckpt_out_finish done: the temporary is complete and closed */
    char msg[768];           /* the failure: "<final path>: <what>: <strerror>" */
    uint64_t bytes;          /* bytes written so far */
} ckpt_out;

/* Creates final_path + ".tmp" (truncating a stale one: checkpoints, in a folder of their
 * own whose leftovers --resume cleans). 0, or -1 with o->msg set ("... cannot create ..."). */
int ckpt_out_open(ckpt_out *o, const char *final_path);
/* The same for a file the user names (export, recommend --out): the temporary is a new
 * file "<final>.tmp.XXXXXX" (common/outfile.h), never one that exists. */
int ckpt_out_open_new(ckpt_out *o, const char *final_path);
/* Appends n raw bytes. No-op after a failure. */
void ckpt_out_bytes(ckpt_out *o, const void *p, size_t n);
/* Appends one framed record; *crc (may be NULL) gets the crc32 of the record's bytes.
 * No-op after a failure. */
void ckpt_out_record(ckpt_out *o, const BivaeCkpt__Record *r, uint32_t *crc);
/* fflush, fsync, fclose: the temporary is complete (renamed by a later commit, or removed
 * by abandon). 0, or -1 with o->msg set and the temporary removed. */
int ckpt_out_finish(ckpt_out *o);
/* ckpt_out_finish unless done, rename to the final name, fsync of the directory. 0, or -1
 * with o->msg set and the temporary removed (the final name is never touched on failure). */
int ckpt_out_commit(ckpt_out *o);
/* Closes and removes the temporary (after a failure elsewhere). */
void ckpt_out_abandon(ckpt_out *o);

/* ---- reading ----------------------------------------------------------------------- */

typedef enum {
    CKPT_REC_OK = 0,         /* a record is in buf[len] */
    CKPT_REC_EOF,            /* the file ended cleanly between records */
    CKPT_REC_BAD,            /* truncated or impossible length: msg says which */
    CKPT_REC_IO              /* read error: msg has the library's message */
} ckpt_rec_status;

typedef struct ckpt_in {
    FILE *f;
    const char *path;
    int64_t index;           /* records read so far */
    uint64_t offset;         /* byte offset of the next record */
    uint8_t *buf;            /* the last record's bytes */
    size_t len, cap;
    char msg[768];
} ckpt_in;

/* 0, or -1 with in->msg ("<path>: cannot open: <strerror>", "<path>: is a directory ..."). */
int ckpt_in_open(ckpt_in *in, const char *path);
ckpt_rec_status ckpt_in_next(ckpt_in *in);
void ckpt_in_close(ckpt_in *in);

#endif
