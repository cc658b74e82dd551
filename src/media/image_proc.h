/*
 * image_proc.h: accepting or refusing an uploaded image file and making
 * its two gallery sizes (fullsize and thumb, upright JPEGs without
 * metadata except the ICC profile) in one decode, with the format, the
 * stored size and the EXIF fields read along the way. ImageMagick is only
 * ever handed the coder that bp_image_sniff recognized.
 */
#ifndef BP_IMAGE_PROC_H
#define BP_IMAGE_PROC_H

#include <stdbool.h>

#include "media/exif_read.h"
#include "media/image_sniff.h"
#include "rc.h"

/* Longest edge of the fullsize gallery image, and of the thumb. */
#define BP_IMAGE_FULLSIZE_EDGE 2880
#define BP_IMAGE_THUMB_EDGE 300

/* Bytes read from the start of a file for sniffing and metadata. */
#define BP_IMAGE_HEAD_MAX (256 * 1024)

/*
 * The longest edge accepted: Debian's ImageMagick policy (policy.xml)
 * refuses wider or taller images anyway, and without saying why.
 */
#define BP_IMAGE_MAX_EDGE 16000

struct bp_image_limits {
    long max_pixels;   /* width * height above this is refused */
    long max_edge;     /* a width or height above this is refused */
    long memory_bytes; /* ImageMagick's memory and map resource limits */
    /* The formats ImageMagick decodes (all but JPEG) are refused from
     * their header when their pixels would take more than this decoded
     * (8 bytes a pixel, ImageMagick 6 Q16); 0: no such limit. */
    long max_decode_bytes;
    /* Decode JPEGs with ImageMagick as every other format, not with
     * libjpeg at an M/8 scale (the tests compare the two). */
    bool jpeg_by_magick;
    /* The caller made the two output files (empty): they are written,
     * not created (the decoder process may create no file). */
    bool outputs_exist;
};

struct bp_image_meta {
    enum bp_image_format format;
    /* Of the stored pixels, before any rotation (exiftool's ImageWidth
     * and ImageHeight; for HEIC/HEIF the primary item's "ispe"). */
    long width, height;
    bool has_exif;
    struct bp_exif_info exif; /* valid when has_exif */
};

/*
 * Sets ImageMagick's process-wide resource limits from limits: area,
 * width and height from max_pixels and max_edge, memory and map from
 * memory_bytes, no disk cache, one thread. The time limit is left alone
 * on purpose: ImageMagick 6 counts it from the first pixel cache of the
 * process and then exits, which would kill a long-lived worker. Call once
 * per worker process after MagickWandGenesis(); limits is borrowed.
 */
void bp_image_setup(const struct bp_image_limits *limits);

/*
 * Validates the image file at path and writes its gallery sizes:
 * fullsize_path (fits BP_IMAGE_FULLSIZE_EDGE) and thumb_path (fits
 * BP_IMAGE_THUMB_EDGE, made from the fullsize pixels), both JPEG quality
 * 85, auto-oriented, 8-bit sRGB, transparency flattened onto white, with
 * no metadata but an RGB ICC profile. Never upscales.
 *
 * The format comes from the file's first bytes only; the size is checked
 * against limits from the header (a ping) before any pixel is decoded;
 * then the image is decoded once with that format's coder forced (JPEGs
 * DCT-scaled to what the fullsize needs). EXIF comes from the file's
 * head for JPEG (and as a fallback for TIFF), else from ImageMagick's
 * "exif" profile; an image without EXIF is fine.
 *
 * Returns BP_OK and fills *meta, with both output files written;
 * BP_EUNSUPPORTED for a format that is not accepted; BP_ETOOBIG over a
 * limit; BP_EINVAL for a truncated or corrupt image; BP_EIO when a file
 * cannot be read or written; BP_ENOMEM or BP_EINTERNAL otherwise. On
 * failure *meta is untouched, err (which may be NULL) holds a message fit
 * for clients, and no output file is left behind. The output paths must
 * not exist yet (they are created exclusively, so a planted file or link
 * is never written through). All arguments are borrowed; the output
 * files belong to the caller.
 */
enum bp_rc bp_image_process(const char *path,
                            const struct bp_image_limits *limits,
                            const char *fullsize_path, const char *thumb_path,
                            struct bp_image_meta *meta, struct bp_error *err);

#endif
