/*
 * image_sniff.h: recognizing the accepted image formats by their first
 * bytes, never by file name or the client's Content-Type.
 */
#ifndef BP_IMAGE_SNIFF_H
#define BP_IMAGE_SNIFF_H

#include <stddef.h>

enum bp_image_format {
    BP_IMAGE_UNKNOWN = 0,
    BP_IMAGE_JPEG,
    BP_IMAGE_PNG,
    BP_IMAGE_WEBP,
    BP_IMAGE_HEIC,
    BP_IMAGE_HEIF,
    BP_IMAGE_TIFF,
};

/* How many leading bytes bp_image_sniff needs at most. */
#define BP_IMAGE_SNIFF_LEN 64

/*
 * Returns the format that the len bytes at head (the start of a file)
 * announce, or BP_IMAGE_UNKNOWN.
 */
enum bp_image_format bp_image_sniff(const unsigned char *head, size_t len);

/* Returns the media type of format ("image/jpeg"), NULL for unknown. */
const char *bp_image_mime_type(enum bp_image_format format);

/*
 * Returns the ImageMagick coder that must decode format ("JPEG"), NULL
 * for unknown.
 */
const char *bp_image_coder(enum bp_image_format format);

#endif
