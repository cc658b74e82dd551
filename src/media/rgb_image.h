/*
 * rgb_image.h: 8-bit RGB pixels in memory and the two operations the
 * gallery sizes need on them: shrinking by area averaging (as
 * ImageMagick's ScaleImage: every source pixel counts, no ringing) and
 * turning by an EXIF orientation.
 */
#ifndef BP_RGB_IMAGE_H
#define BP_RGB_IMAGE_H

#include <stddef.h>

#include "rc.h"

struct bp_rgb_image {
    unsigned char *rgb; /* owned: width * height * 3 bytes, rows top down */
    size_t width, height;
};

/*
 * Writes into *out (the caller's, released with bp_rgb_image_free) in
 * shrunk to width x height (each at most in's), every output pixel the
 * average of the source area it covers. BP_EINVAL for a size of 0 or one
 * larger than in's, BP_ENOMEM.
 */
enum bp_rc bp_rgb_image_shrink(const struct bp_rgb_image *in, size_t width,
                               size_t height, struct bp_rgb_image *out);

/*
 * Writes into *out in turned upright for the EXIF orientation (1 to 8;
 * 5 to 8 swap width and height; other values copy). BP_ENOMEM.
 */
enum bp_rc bp_rgb_image_orient(const struct bp_rgb_image *in, int orientation,
                               struct bp_rgb_image *out);

/* Releases image's pixels; image may be zeroed. */
void bp_rgb_image_free(struct bp_rgb_image *image);

#endif
