/*
 * jpeg_encode.h: writing 8-bit RGB pixels as a baseline JPEG with
 * libjpeg(-turbo), with an optional ICC profile and nothing else.
 */
#ifndef BP_JPEG_ENCODE_H
#define BP_JPEG_ENCODE_H

#include <stdbool.h>
#include <stddef.h>

#include "media/rgb_image.h"
#include "rc.h"

/*
 * Writes image to path (created with mode 0640, replacing nothing: it
 * must not exist) as a JPEG of quality (1 to 100), 4:2:0, with the ICC
 * profile icc (icc_len bytes) when icc is not NULL. On failure path is
 * removed. BP_EIO when it cannot be written, BP_ENOMEM.
 */
enum bp_rc bp_jpeg_encode(const struct bp_rgb_image *image, int quality,
                          const unsigned char *icc, size_t icc_len,
                          const char *path, bool create, struct bp_error *err);

/*
 * Opens the gallery image at path for writing: created (it must not
 * exist) when create is true, else an existing file truncated (a decoder
 * process that may create no file writes into files made for it).
 * Returns the descriptor, or -1 with errno.
 */
int bp_gallery_output_open(const char *path, bool create);

#endif
