/*
 * jpeg_decode.h: decoding a JPEG with libjpeg(-turbo) at the smallest
 * M/8 scale that still covers a wanted edge, into 8-bit RGB pixels, with
 * its ICC profile and EXIF block. ImageMagick 6 can only scale by 1/2,
 * 1/4 or 1/8, so a 4000-pixel photo would be decoded whole for a
 * 2880-pixel gallery size; here it is decoded at 6/8.
 */
#ifndef BP_JPEG_DECODE_H
#define BP_JPEG_DECODE_H

#include <stddef.h>
#include <stdio.h>

#include "rc.h"

struct bp_jpeg_image {
    unsigned char *rgb;   /* owned: width * height * 3 bytes */
    size_t width, height; /* of the decoded (scaled) pixels */
    unsigned char *icc;   /* owned ICC profile, or NULL */
    size_t icc_len;
    unsigned char *exif; /* owned EXIF block ("Exif\0\0" onwards), or NULL */
    size_t exif_len;
};

/*
 * Decodes the JPEG read from in (from its start) at the smallest scale
 * M/8 whose longer edge is at least min_edge (or the whole image when it
 * is smaller), into *out, which the caller releases with
 * bp_jpeg_image_free. BP_EUNSUPPORTED for a JPEG whose pixels are not
 * RGB-convertible here (CMYK, YCCK): decode it another way. BP_EINVAL
 * for a corrupt file or one whose scan data ends before its declared
 * size (libjpeg would fill the rest in grey), BP_ENOMEM.
 */
enum bp_rc bp_jpeg_decode(FILE *in, long min_edge, struct bp_jpeg_image *out,
                          struct bp_error *err);

/* Releases what bp_jpeg_decode filled in; image may be zeroed. */
void bp_jpeg_image_free(struct bp_jpeg_image *image);

#endif
