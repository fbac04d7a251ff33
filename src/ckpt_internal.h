/* src/ckpt_internal.h — helpers shared by src/checkpoint.c, ckpt_save.c, ckpt_load.c and
 * ckpt_files.c (not part of the checkpoint interface). */
#ifndef BIVAE_CKPT_INTERNAL_H
#define BIVAE_CKPT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "checkpoint.pb-c.h"
#include "src/checkpoint.h"

/* What the RNG position means (stored in the header for readers of the file). */
#define CKPT_RNG_STREAM "philox4x32-10 keyed (seed, epoch, side, pass, global id)"

size_t ckpt_dtype_size(ckpt_dtype d);     /* fixed-size types */
/* crc32 of a string chunk: of each value's uint32 length (little-endian), then its bytes. */
uint32_t ckpt_str_crc32(const ckpt_str *v, int64_t n);
int64_t ckpt_tensor_numel(const ckpt_info *info, ckpt_tensor t);
/* Parameters of one encoder with input width d_in (layout of src/model.h). */
int64_t ckpt_encoder_params(int64_t d_in, const bivae_model_config *mc, int64_t n_features);
/* 1 when a checkpoint or .tmp name in dir carries run_id, 0 when none does, -1 (err) when
 * dir cannot be read (src/ckpt_files.c). */
int ckpt_name_uses(const char *dir, const char *run_id, char *err, size_t err_len);
/* Fills h (and the sub-messages given) from info; strings point into info. */
void ckpt_info_to_header(const ckpt_info *info, BivaeCkpt__Header *h, BivaeCkpt__ModelConfig *mc,
                         BivaeCkpt__TrainConfig *tc, BivaeCkpt__DataConfig *dc,
                         int32_t hidden[BIVAE_MAX_HIDDEN]);

#endif
