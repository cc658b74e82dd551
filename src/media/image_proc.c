/*
 * image_proc.c: one uploaded image from file to gallery sizes. The file
 * is sniffed, pinged (header only) against the size limits, decoded once
 * through the sniffed coder from an open stream (so no file name and no
 * content can pick another coder or a delegate), its metadata read, and
 * the decoded pixels turned into the fullsize and thumb JPEGs. Also owns
 * ImageMagick's resource limits and the small ISO BMFF walk that finds a
 * HEIF image's stored size.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <wand/MagickWand.h>

#include "media/image_proc.h"
#include "media/jpeg_decode.h"
#include "media/jpeg_encode.h"
#include "media/rgb_image.h"

#define JPEG_QUALITY 85

/* Frames a file may hold (multi-page TIFF); only the first is used. */
#define MAX_FRAMES 64

/* An ICC header names its colour space at bytes 16..19. */
#define ICC_HEADER_LEN 20

/* Bytes of HEIF's Exif item before the TIFF header's offset field. */
#define HEIF_EXIF_OFFSET_LEN 4

/* One ISO BMFF box: its type and the bytes after its header. */
struct box {
    char type[4];
    const unsigned char *body;
    size_t len;
};

static uint32_t be16(const unsigned char *p)
{
    return ((uint32_t)p[0] << 8) | p[1];
}

static uint32_t be32(const unsigned char *p)
{
    return (be16(p) << 16) | be16(p + 2);
}

/*
 * Reads the box at *at of the len bytes at data into *out and moves *at
 * past it. Returns false at the end or on a box that does not fit.
 */
static bool next_box(const unsigned char *data, size_t len, size_t *at,
                     struct box *out)
{
    if (*at > len || len - *at < 8)
        return false;
    const unsigned char *p = data + *at;
    uint64_t size = be32(p);
    size_t header = 8;
    if (size == 1) {
        if (len - *at < 16)
            return false;
        size = ((uint64_t)be32(p + 8) << 32) | be32(p + 12);
        header = 16;
    } else if (size == 0) {
        size = len - *at;
    }
    if (size < header || size > len - *at)
        return false;
    memcpy(out->type, p + 4, 4);
    out->body = p + header;
    out->len = (size_t)size - header;
    *at += (size_t)size;
    return true;
}

/* Finds the first box of type among the boxes in data. */
static bool find_box(const unsigned char *data, size_t len, const char *type,
                     struct box *out)
{
    size_t at = 0;
    while (next_box(data, len, &at, out))
        if (memcmp(out->type, type, 4) == 0)
            return true;
    return false;
}

/* Finds the index-th box (from 1, as "ipma" counts) in data. */
static bool nth_box(const unsigned char *data, size_t len, uint32_t index,
                    struct box *out)
{
    size_t at = 0;
    for (uint32_t i = 0; i < index; i++)
        if (!next_box(data, len, &at, out))
            return false;
    return index > 0;
}

/* Reads the "ispe" property at property index of ipco, if it is one. */
static bool ispe_size(const struct box *ipco, uint32_t index, long *width,
                      long *height)
{
    struct box prop;
    if (!nth_box(ipco->body, ipco->len, index, &prop) ||
        memcmp(prop.type, "ispe", 4) != 0 || prop.len < 12)
        return false;
    uint32_t w = be32(prop.body + 4), h = be32(prop.body + 8);
    if (w == 0 || h == 0)
        return false;
    *width = (long)w;
    *height = (long)h;
    return true;
}

/*
 * Finds the size of the primary item of a HEIF file from its "ispe"
 * property (meta > pitm, iprp > ipco + ipma): the stored size, before
 * the "irot"/"imir" transformations that libheif applies on decoding.
 */
static bool heif_stored_size(const unsigned char *head, size_t len, long *width,
                             long *height)
{
    struct box meta, pitm, iprp, ipco, ipma;
    if (!find_box(head, len, "meta", &meta) || meta.len < 4)
        return false;
    const unsigned char *children = meta.body + 4; /* full box */
    size_t children_len = meta.len - 4;
    if (!find_box(children, children_len, "pitm", &pitm) ||
        !find_box(children, children_len, "iprp", &iprp) ||
        !find_box(iprp.body, iprp.len, "ipco", &ipco) ||
        !find_box(iprp.body, iprp.len, "ipma", &ipma) || pitm.len < 6 ||
        ipma.len < 8)
        return false;
    uint32_t primary = be16(pitm.body + 4);
    if (pitm.body[0] != 0) {
        if (pitm.len < 8)
            return false;
        primary = be32(pitm.body + 4);
    }

    size_t id_len = ipma.body[0] < 1 ? 2 : 4;
    size_t index_len = (ipma.body[3] & 1) ? 2 : 1;
    uint32_t entries = be32(ipma.body + 4);
    size_t at = 8;
    for (uint32_t i = 0; i < entries; i++) {
        if (ipma.len - at < id_len + 1)
            return false;
        uint32_t id = id_len == 2 ? be16(ipma.body + at) : be32(ipma.body + at);
        size_t count = ipma.body[at + id_len];
        at += id_len + 1;
        if (ipma.len - at < count * index_len)
            return false;
        for (size_t j = 0; id == primary && j < count; j++) {
            const unsigned char *p = ipma.body + at + j * index_len;
            uint32_t index = index_len == 2 ? be16(p) & 0x7fff : p[0] & 0x7f;
            if (ispe_size(&ipco, index, width, height))
                return true;
        }
        at += count * index_len;
    }
    return false;
}

void bp_image_setup(const struct bp_image_limits *limits)
{
    MagickSetResourceLimit(AreaResource, (MagickSizeType)limits->max_pixels);
    MagickSetResourceLimit(WidthResource, (MagickSizeType)limits->max_edge);
    MagickSetResourceLimit(HeightResource, (MagickSizeType)limits->max_edge);
    MagickSetResourceLimit(MemoryResource,
                           (MagickSizeType)limits->memory_bytes);
    MagickSetResourceLimit(MapResource, (MagickSizeType)limits->memory_bytes);
    /* Images beyond the memory limit spill to a disk cache (Debian's
     * policy.xml caps it at 1 GiB) rather than fail. */
    MagickSetResourceLimit(DiskResource, (MagickSizeType)1 << 30);
    MagickSetResourceLimit(ThreadResource, 1);
    MagickSetResourceLimit(ListLengthResource, MAX_FRAMES);
}

/* Reads up to BP_IMAGE_HEAD_MAX bytes from the start of in into *head. */
static enum bp_rc read_head(FILE *in, unsigned char **head, size_t *len,
                            struct bp_error *err)
{
    unsigned char *buf = malloc(BP_IMAGE_HEAD_MAX);
    if (buf == NULL)
        return bp_error_set(err, BP_ENOMEM, "Out of memory");
    size_t got = fread(buf, 1, BP_IMAGE_HEAD_MAX, in);
    if (ferror(in)) {
        free(buf);
        return bp_error_set(err, BP_EIO, "Cannot read the image");
    }
    *head = buf;
    *len = got;
    return BP_OK;
}

/*
 * Makes a wand that decodes only with coder, from a stream opened by
 * us: the "CODER:" file name sets ImageMagick's affirm flag, so the
 * content is never consulted to choose a coder.
 */
static enum bp_rc new_forced_wand(const char *coder, MagickWand **out,
                                  struct bp_error *err)
{
    char name[32];
    int n = snprintf(name, sizeof(name), "%s:", coder);
    if (n < 0 || (size_t)n >= sizeof(name))
        return bp_error_set(err, BP_EINTERNAL, "Image coder name too long");
    MagickWand *wand = NewMagickWand();
    if (wand == NULL)
        return bp_error_set(err, BP_ENOMEM, "Out of memory");
    if (MagickSetFilename(wand, name) == MagickFalse ||
        MagickSetFormat(wand, coder) == MagickFalse) {
        DestroyMagickWand(wand);
        return bp_error_set(err, BP_EINTERNAL, "Image coder %s unavailable",
                            coder);
    }
    *out = wand;
    return BP_OK;
}

/* Rewinds in for a new read; ImageMagick reads from where it stands. */
static enum bp_rc rewind_input(FILE *in, struct bp_error *err)
{
    if (fseek(in, 0, SEEK_SET) != 0)
        return bp_error_set(err, BP_EIO, "Cannot read the image");
    return BP_OK;
}

/*
 * True when a read failed or left an image that is not whole. Errors go
 * to the wand; warnings stay on the image (ImageMagick 6 does not pass
 * them on). Of libjpeg's corrupt-data warnings two mean missing pixels
 * (libjpeg fills them in): "Premature end of JPEG file" and "premature
 * end of data segment" (the scan ends before the declared size is
 * covered); the others (extraneous bytes) leave a whole picture and are
 * common in camera files. XMP parse and libtiff unknown-tag warnings
 * are harmless too.
 */
static bool read_failed(MagickWand *wand, MagickBooleanType ok)
{
    static const char eof[] = "Premature end of JPEG file";
    static const char short_scan[] = "premature end of data segment";
    if (ok == MagickFalse || MagickGetExceptionType(wand) >= ErrorException)
        return true;
    const Image *image = GetImageFromMagickWand(wand);
    if (image == NULL)
        return true;
    const ExceptionInfo *e = &image->exception;
    return e->severity >= ErrorException ||
           e->severity == ResourceLimitWarning ||
           (e->severity == CorruptImageWarning && e->reason != NULL &&
            (strncmp(e->reason, eof, sizeof(eof) - 1) == 0 ||
             strstr(e->reason, short_scan) != NULL));
}

/* The client's error for a failed ping or read. */
static enum bp_rc read_error(MagickWand *wand, struct bp_error *err)
{
    ExceptionType severity = MagickGetExceptionType(wand);
    const Image *image = GetImageFromMagickWand(wand);
    if (image != NULL && image->exception.severity > severity)
        severity = image->exception.severity;
    switch (severity) {
    case ResourceLimitWarning:
    case ResourceLimitError:
    case ResourceLimitFatalError:
    case CacheError:
    case CacheFatalError:
        /* Cache errors: "cache resources exhausted" past the policy. */
        return bp_error_set(err, BP_ETOOBIG, "Image is too large to decode");
    default:
        return bp_error_set(err, BP_EINVAL, "Image is truncated or corrupt");
    }
}

/* The client's error when work on decoded pixels fails. */
static enum bp_rc wand_error(MagickWand *wand, struct bp_error *err)
{
    switch (MagickGetExceptionType(wand)) {
    case ResourceLimitWarning:
    case ResourceLimitError:
    case ResourceLimitFatalError:
    case CacheError:
    case CacheFatalError:
        return bp_error_set(err, BP_ETOOBIG, "Image is too large to process");
    default:
        return bp_error_set(err, BP_EINTERNAL, "Image processing failed");
    }
}

/* Refuses a size over the limits. */
static enum bp_rc check_size(double w, double h,
                             const struct bp_image_limits *limits,
                             struct bp_error *err)
{
    if (w > (double)limits->max_edge || h > (double)limits->max_edge)
        return bp_error_set(err, BP_ETOOBIG,
                            "Image is too large: %.0fx%.0f pixels, at most "
                            "%ld pixels a side",
                            w, h, limits->max_edge);
    if (w * h > (double)limits->max_pixels)
        return bp_error_set(err, BP_ETOOBIG,
                            "Image is too large: %.0f pixels, at most %ld",
                            w * h, limits->max_pixels);
    return BP_OK;
}

/*
 * Checks the size that a PNG's IHDR or a HEIF's "ispe" declares before
 * ImageMagick sees the file: its PNG coder refuses a size over its own
 * limits without saying why, so the refusal would read as corruption.
 */
static enum bp_rc check_declared_size(const struct bp_image_meta *meta,
                                      const unsigned char *head, size_t len,
                                      const struct bp_image_limits *limits,
                                      struct bp_error *err)
{
    long w = 0, h = 0;
    if (meta->format == BP_IMAGE_PNG && len >= 24 &&
        memcmp(head + 12, "IHDR", 4) == 0) {
        w = (long)be32(head + 16);
        h = (long)be32(head + 20);
    } else if (meta->format == BP_IMAGE_HEIC || meta->format == BP_IMAGE_HEIF) {
        heif_stored_size(head, len, &w, &h);
    }
    return check_size((double)w, (double)h, limits, err);
}

/* What ImageMagick 6 (Q16) holds of a decoded pixel: four 16-bit
 * channels. */
#define DECODED_BYTES_PER_PIXEL 8.0

/*
 * Reads the size of the first frame from the header of in, without
 * decoding pixels, and refuses an edge over max_edge or, over all frames,
 * more than max_pixels, or more than max_decode_bytes decoded (0: no such
 * limit).
 */
static enum bp_rc ping_size(FILE *in, const char *coder, long max_decode_bytes,
                            const struct bp_image_limits *limits, long *width,
                            long *height, struct bp_error *err)
{
    MagickWand *wand = NULL;
    enum bp_rc rc = rewind_input(in, err);
    if (rc == BP_OK)
        rc = new_forced_wand(coder, &wand, err);
    if (rc != BP_OK)
        return rc;
    if (read_failed(wand, MagickPingImageFile(wand, in))) {
        rc = read_error(wand, err);
        goto out_destroy_wand;
    }
    double pixels = 0;
    bool first = true;
    MagickResetIterator(wand);
    while (MagickNextImage(wand) != MagickFalse) {
        double w = (double)MagickGetImageWidth(wand);
        double h = (double)MagickGetImageHeight(wand);
        if (w < 1 || h < 1) {
            rc = bp_error_set(err, BP_EINVAL, "Image is truncated or corrupt");
            goto out_destroy_wand;
        }
        rc = check_size(w, h, limits, err);
        if (rc != BP_OK)
            goto out_destroy_wand;
        if (first) {
            *width = (long)w;
            *height = (long)h;
            first = false;
        }
        pixels += w * h;
    }
    if (first)
        rc = bp_error_set(err, BP_EINVAL, "Image is truncated or corrupt");
    else if (pixels > (double)limits->max_pixels)
        rc = bp_error_set(err, BP_ETOOBIG,
                          "Image is too large: %.0f pixels, at most %ld",
                          pixels, limits->max_pixels);
    else if (max_decode_bytes > 0 &&
             pixels * DECODED_BYTES_PER_PIXEL > (double)max_decode_bytes)
        rc = bp_error_set(err, BP_ETOOBIG,
                          "Image is too large to decode: %.0f pixels would "
                          "take %.0f MB, over max_decode_bytes (%ld MB)",
                          pixels, pixels * DECODED_BYTES_PER_PIXEL / 1048576,
                          max_decode_bytes / 1048576);
out_destroy_wand:
    DestroyMagickWand(wand);
    return rc;
}

/*
 * Asks libjpeg to DCT-scale by the largest factor that keeps the longer
 * edge at least BP_IMAGE_FULLSIZE_EDGE. ImageMagick divides by the
 * smaller of the two edge ratios, so the hint has the image's shape.
 */
static void jpeg_size_hint(MagickWand *wand, long width, long height)
{
    long edge = width > height ? width : height;
    if (edge <= BP_IMAGE_FULLSIZE_EDGE)
        return;
    long long w = ((long long)width * BP_IMAGE_FULLSIZE_EDGE + edge - 1) / edge;
    long long h =
        ((long long)height * BP_IMAGE_FULLSIZE_EDGE + edge - 1) / edge;
    char hint[48];
    snprintf(hint, sizeof(hint), "%lldx%lld", w, h);
    MagickSetOption(wand, "jpeg:size", hint);
}

/* Decodes the first frame of in completely into a new wand, *out. */
static enum bp_rc decode(FILE *in, const char *coder,
                         const struct bp_image_meta *meta, MagickWand **out,
                         struct bp_error *err)
{
    MagickWand *wand = NULL;
    enum bp_rc rc = rewind_input(in, err);
    if (rc == BP_OK)
        rc = new_forced_wand(coder, &wand, err);
    if (rc != BP_OK)
        return rc;
    if (meta->format == BP_IMAGE_JPEG)
        jpeg_size_hint(wand, meta->width, meta->height);
    if (read_failed(wand, MagickReadImageFile(wand, in)) ||
        MagickGetNumberImages(wand) < 1) {
        rc = read_error(wand, err);
        DestroyMagickWand(wand);
        return rc;
    }
    MagickSetIteratorIndex(wand, 0);
    *out = wand;
    return BP_OK;
}

/* Reads the EXIF block of ImageMagick's "exif" profile, if any. */
static enum bp_rc exif_from_profile(MagickWand *wand, struct bp_exif_info *out)
{
    size_t len = 0;
    unsigned char *profile = MagickGetImageProfile(wand, "exif", &len);
    if (profile == NULL)
        return BP_ENOTFOUND;
    const unsigned char *block = profile;
    /* A raw HEIF Exif item starts with the offset of the TIFF header. */
    if (len > HEIF_EXIF_OFFSET_LEN + 6 &&
        (memcmp(profile + HEIF_EXIF_OFFSET_LEN, "Exif\0\0", 6) == 0 ||
         memcmp(profile + HEIF_EXIF_OFFSET_LEN, "II*\0", 4) == 0 ||
         memcmp(profile + HEIF_EXIF_OFFSET_LEN, "MM\0*", 4) == 0)) {
        block += HEIF_EXIF_OFFSET_LEN;
        len -= HEIF_EXIF_OFFSET_LEN;
    }
    /* bp_exif_read takes "Exif\0\0" + TIFF and a bare TIFF block alike. */
    enum bp_rc rc = bp_exif_read(block, len, out, NULL);
    MagickRelinquishMemory(profile);
    return rc;
}

/*
 * Finds the eXIf chunk (a bare TIFF block) among the chunks of a PNG
 * within the len bytes of its head. ImageMagick 6 reads only its own
 * "Raw profile type exif" text chunk, not eXIf.
 */
static bool png_exif_chunk(const unsigned char *head, size_t len,
                           const unsigned char **block, size_t *block_len)
{
    size_t at = 8; /* after the signature */
    while (at <= len && len - at >= 12) {
        size_t chunk_len = be32(head + at);
        const unsigned char *type = head + at + 4;
        if (chunk_len > len - at - 12 || memcmp(type, "IEND", 4) == 0)
            return false;
        if (memcmp(type, "eXIf", 4) == 0) {
            *block = head + at + 8;
            *block_len = chunk_len;
            return true;
        }
        at += 12 + chunk_len;
    }
    return false;
}

/*
 * Fills meta->exif: for JPEG from the APP1 segment in the file's head;
 * otherwise from ImageMagick's "exif" profile; failing that, for a PNG
 * from its eXIf chunk, and for a TIFF (ImageMagick 6 keeps TIFF tags as
 * properties only) from the file's own IFD0, which bp_exif_read reads as
 * a raw TIFF block.
 */
static enum bp_rc read_exif(MagickWand *wand, const unsigned char *head,
                            size_t head_len, struct bp_image_meta *meta,
                            struct bp_error *err)
{
    enum bp_rc rc;
    if (meta->format == BP_IMAGE_JPEG)
        rc = bp_exif_read(head, head_len, &meta->exif, NULL);
    else
        rc = exif_from_profile(wand, &meta->exif);
    const unsigned char *chunk;
    size_t chunk_len;
    if (rc == BP_ENOTFOUND && meta->format == BP_IMAGE_PNG &&
        png_exif_chunk(head, head_len, &chunk, &chunk_len))
        rc = bp_exif_read(chunk, chunk_len, &meta->exif, NULL);
    if (rc == BP_ENOTFOUND && meta->format == BP_IMAGE_TIFF)
        rc = bp_exif_read(head, head_len, &meta->exif, NULL);
    meta->has_exif = rc == BP_OK;
    if (rc == BP_ENOMEM)
        return bp_error_set(err, BP_ENOMEM, "Out of memory");
    return BP_OK;
}

/*
 * Strips every profile, comment and property that a JPEG writer would
 * carry, except an RGB ICC profile (the output is RGB; a CMYK or gray
 * profile would misdescribe it).
 */
static enum bp_rc strip_metadata(MagickWand *wand, struct bp_error *err)
{
    size_t len = 0;
    unsigned char *icc = MagickGetImageProfile(wand, "icc", &len);
    if (icc == NULL)
        icc = MagickGetImageProfile(wand, "icm", &len);
    bool keep = icc != NULL && len >= ICC_HEADER_LEN &&
                memcmp(icc + 16, "RGB ", 4) == 0;
    enum bp_rc rc = BP_OK;
    if (MagickStripImage(wand) == MagickFalse ||
        (keep && MagickSetImageProfile(wand, "icc", icc, len) == MagickFalse))
        rc = wand_error(wand, err);
    if (icc != NULL)
        MagickRelinquishMemory(icc);
    return rc;
}

/* Flattens any transparency onto white. */
static enum bp_rc flatten_alpha(MagickWand *wand, struct bp_error *err)
{
    if (MagickGetImageAlphaChannel(wand) == MagickFalse)
        return BP_OK;
    PixelWand *white = NewPixelWand();
    if (white == NULL)
        return bp_error_set(err, BP_ENOMEM, "Out of memory");
    enum bp_rc rc = BP_OK;
    if (PixelSetColor(white, "white") == MagickFalse ||
        MagickSetImageBackgroundColor(wand, white) == MagickFalse ||
        MagickSetImageAlphaChannel(wand, RemoveAlphaChannel) == MagickFalse)
        rc = wand_error(wand, err);
    DestroyPixelWand(white);
    return rc;
}

/*
 * Turns the decoded image into upright, metadata-free, opaque 8-bit
 * sRGB, and makes every later write a colour (not grayscale) JPEG.
 */
static enum bp_rc normalize(MagickWand *wand, struct bp_error *err)
{
    if (MagickAutoOrientImage(wand) == MagickFalse)
        return wand_error(wand, err);
    enum bp_rc rc = strip_metadata(wand, err);
    if (rc == BP_OK)
        rc = flatten_alpha(wand, err);
    if (rc != BP_OK)
        return rc;
    if ((MagickGetImageColorspace(wand) != sRGBColorspace &&
         MagickTransformImageColorspace(wand, sRGBColorspace) == MagickFalse) ||
        MagickSetImageDepth(wand, 8) == MagickFalse ||
        MagickSetType(wand, TrueColorType) == MagickFalse)
        return wand_error(wand, err);
    return BP_OK;
}

/*
 * The size within edge x edge that a w x h image is shown at (never
 * larger than it is), into *nw x *nh.
 */
static void fit_size(long long w, long long h, long edge, long long *nw,
                     long long *nh)
{
    *nw = w;
    *nh = h;
    if (w <= edge && h <= edge)
        return;
    *nw = edge;
    *nh = edge;
    if (w >= h)
        *nh = (h * edge + w / 2) / w;
    else
        *nw = (w * edge + h / 2) / h;
    *nw = *nw > 0 ? *nw : 1;
    *nh = *nh > 0 ? *nh : 1;
}

/*
 * Shrinks the image to fit within edge x edge, with the size an image of
 * w x h would have there (the decoded size, or the stored one when the
 * decoder already scaled it down); never enlarges it.
 */
static enum bp_rc fit_from(MagickWand *wand, long edge, long long w,
                           long long h, struct bp_error *err)
{
    long long nw, nh;
    fit_size(w, h, edge, &nw, &nh);
    if ((size_t)nw == MagickGetImageWidth(wand) &&
        (size_t)nh == MagickGetImageHeight(wand))
        return BP_OK;
    /* Area averaging: every source pixel counts, with no ringing, and
     * at a fraction of a windowed filter's cost on photos this size. */
    if (MagickScaleImage(wand, (size_t)nw, (size_t)nh) == MagickFalse)
        return wand_error(wand, err);
    return BP_OK;
}

/* Shrinks the image to fit within edge x edge; never enlarges it. */
static enum bp_rc fit(MagickWand *wand, long edge, struct bp_error *err)
{
    return fit_from(wand, edge, (long long)MagickGetImageWidth(wand),
                    (long long)MagickGetImageHeight(wand), err);
}

/* Writes the current image to path as a JPEG; removes path on failure. */
static enum bp_rc write_jpeg(MagickWand *wand, const char *path, bool create,
                             struct bp_error *err)
{
    int fd = bp_gallery_output_open(path, create);
    FILE *out = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (out == NULL) {
        enum bp_rc failed = bp_rc_for_write_errno(errno, BP_EIO);
        if (fd >= 0)
            close(fd);
        return bp_error_set(err, failed, "Cannot write a gallery image");
    }
    enum bp_rc rc = BP_OK;
    if (MagickSetImageFormat(wand, "JPEG") == MagickFalse ||
        MagickSetImageFilename(wand, "JPEG:") == MagickFalse ||
        MagickSetImageCompressionQuality(wand, JPEG_QUALITY) == MagickFalse ||
        MagickWriteImageFile(wand, out) == MagickFalse)
        rc = wand_error(wand, err);
    /* A full disk shows at the last flush, whatever the coder said. */
    bool failed = ferror(out) != 0;
    if (fclose(out) != 0 || failed) {
        enum bp_rc write_rc = bp_rc_for_write_errno(errno, BP_EIO);
        if (rc == BP_OK || write_rc == BP_ENOSPACE)
            rc = bp_error_set(err, write_rc, "Cannot write a gallery image");
    }
    if (rc != BP_OK)
        unlink(path);
    return rc;
}

/*
 * Gives the image the EXIF orientation where ImageMagick found none (a
 * PNG's eXIf chunk, a WebP's EXIF). Not for HEIF: libheif has already
 * applied the file's own rotation, and ImageMagick says so.
 */
static void apply_exif_orientation(MagickWand *wand,
                                   const struct bp_image_meta *meta)
{
    if (meta->has_exif && meta->exif.orientation > 1 &&
        meta->format != BP_IMAGE_HEIC && meta->format != BP_IMAGE_HEIF &&
        MagickGetImageOrientation(wand) == UndefinedOrientation)
        MagickSetImageOrientation(wand,
                                  (OrientationType)meta->exif.orientation);
}

/* The RGB ICC profile of image worth keeping, or NULL (as strip_metadata). */
static const unsigned char *rgb_icc(const struct bp_jpeg_image *image)
{
    if (image->icc != NULL && image->icc_len >= ICC_HEADER_LEN &&
        memcmp(image->icc + 16, "RGB ", 4) == 0)
        return image->icc;
    return NULL;
}

/*
 * Both gallery sizes of a JPEG without ImageMagick: libjpeg decodes it at
 * the smallest M/8 scale covering the fullsize edge, the fullsize is
 * shrunk from that by area averaging (to the size the stored pixels give)
 * and turned upright, the thumb is shrunk from the fullsize, and libjpeg
 * writes both with the RGB ICC profile, if any. BP_EUNSUPPORTED when
 * libjpeg cannot give RGB (CMYK): ImageMagick's path takes it.
 */
static enum bp_rc make_sizes_jpeg(FILE *in, const unsigned char *head,
                                  size_t head_len, const char *fullsize_path,
                                  const char *thumb_path, bool create,
                                  struct bp_image_meta *meta,
                                  struct bp_error *err)
{
    struct bp_jpeg_image decoded;
    enum bp_rc rc = bp_jpeg_decode(in, BP_IMAGE_FULLSIZE_EDGE, &decoded, err);
    if (rc != BP_OK)
        return rc;
    rc = read_exif(NULL, head, head_len, meta, err);
    struct bp_rgb_image source = {
        .rgb = decoded.rgb, .width = decoded.width, .height = decoded.height};
    struct bp_rgb_image shrunk = {0}, full = {0}, thumb = {0};
    long long fw, fh, tw, th;
    fit_size(meta->width, meta->height, BP_IMAGE_FULLSIZE_EDGE, &fw, &fh);
    int orientation = meta->has_exif ? meta->exif.orientation : 1;
    if (rc == BP_OK &&
        bp_rgb_image_shrink(&source, (size_t)fw, (size_t)fh, &shrunk) != BP_OK)
        rc = bp_error_set(err, BP_ETOOBIG, "Image is too large to process");
    if (rc == BP_OK && orientation > 1 && orientation <= 8) {
        if (bp_rgb_image_orient(&shrunk, orientation, &full) != BP_OK)
            rc = bp_error_set(err, BP_ETOOBIG, "Image is too large to process");
        bp_rgb_image_free(&shrunk);
    } else {
        full = shrunk; /* upright already: no copy */
    }
    const unsigned char *icc = rgb_icc(&decoded);
    if (rc == BP_OK)
        rc = bp_jpeg_encode(&full, JPEG_QUALITY, icc, decoded.icc_len,
                            fullsize_path, create, err);
    if (rc == BP_OK) {
        fit_size((long long)full.width, (long long)full.height,
                 BP_IMAGE_THUMB_EDGE, &tw, &th);
        if (bp_rgb_image_shrink(&full, (size_t)tw, (size_t)th, &thumb) != BP_OK)
            rc = bp_error_set(err, BP_ETOOBIG, "Image is too large to process");
        else
            rc = bp_jpeg_encode(&thumb, JPEG_QUALITY, icc, decoded.icc_len,
                                thumb_path, create, err);
        if (rc != BP_OK)
            unlink(fullsize_path);
    }
    bp_rgb_image_free(&thumb);
    bp_rgb_image_free(&full);
    bp_jpeg_image_free(&decoded);
    return rc;
}

/* Decodes in and writes both gallery sizes; fills meta's EXIF. */
static enum bp_rc make_sizes(FILE *in, const unsigned char *head,
                             size_t head_len, const char *fullsize_path,
                             const char *thumb_path, bool jpeg_by_magick,
                             bool create, struct bp_image_meta *meta,
                             struct bp_error *err)
{
    if (meta->format == BP_IMAGE_JPEG && !jpeg_by_magick) {
        enum bp_rc rc = make_sizes_jpeg(in, head, head_len, fullsize_path,
                                        thumb_path, create, meta, err);
        if (rc != BP_EUNSUPPORTED)
            return rc;
    }
    MagickWand *wand = NULL;
    enum bp_rc rc = decode(in, bp_image_coder(meta->format), meta, &wand, err);
    if (rc != BP_OK)
        return rc;
    rc = read_exif(wand, head, head_len, meta, err);
    if (rc == BP_OK)
        apply_exif_orientation(wand, meta);
    /* Shrink first: orienting, flattening and converting then work on
     * the fullsize pixels, not the decoded ones (the fit box is square,
     * so rotating after it changes nothing). The size is the one the
     * stored pixels give, whatever scale they were decoded at. */
    if (rc == BP_OK)
        rc = fit(wand, BP_IMAGE_FULLSIZE_EDGE, err);
    if (rc == BP_OK)
        rc = normalize(wand, err);
    if (rc == BP_OK)
        rc = write_jpeg(wand, fullsize_path, create, err);
    if (rc != BP_OK)
        goto out_destroy_wand;
    rc = fit(wand, BP_IMAGE_THUMB_EDGE, err);
    if (rc == BP_OK)
        rc = write_jpeg(wand, thumb_path, create, err);
    if (rc != BP_OK)
        goto out_unlink_fullsize;
    goto out_destroy_wand;
out_unlink_fullsize:
    unlink(fullsize_path);
out_destroy_wand:
    DestroyMagickWand(wand);
    return rc;
}

enum bp_rc bp_image_process(const char *path,
                            const struct bp_image_limits *limits,
                            const char *fullsize_path, const char *thumb_path,
                            struct bp_image_meta *meta, struct bp_error *err)
{
    struct bp_image_meta found;
    unsigned char *head = NULL;
    size_t head_len = 0;
    enum bp_rc rc;

    memset(&found, 0, sizeof(found));
    FILE *in = fopen(path, "rbe");
    if (in == NULL)
        return bp_error_set(err, BP_EIO, "Cannot read the image");
    rc = read_head(in, &head, &head_len, err);
    if (rc != BP_OK)
        goto out_close_input;
    found.format = bp_image_sniff(head, head_len);
    if (bp_image_coder(found.format) == NULL) {
        rc = bp_error_set(err, BP_EUNSUPPORTED, "Unsupported image format");
        goto out_free_head;
    }
    rc = check_declared_size(&found, head, head_len, limits, err);
    /* A JPEG decodes scaled down to what the fullsize needs (unless the
     * tests ask for ImageMagick): max_decode_bytes is for the others. */
    bool scaled_jpeg = found.format == BP_IMAGE_JPEG && !limits->jpeg_by_magick;
    if (rc == BP_OK)
        rc = ping_size(in, bp_image_coder(found.format),
                       scaled_jpeg ? 0 : limits->max_decode_bytes, limits,
                       &found.width, &found.height, err);
    if (rc == BP_OK)
        rc = make_sizes(in, head, head_len, fullsize_path, thumb_path,
                        limits->jpeg_by_magick, !limits->outputs_exist, &found,
                        err);
    if (rc != BP_OK)
        goto out_free_head;
    /* libheif hands over pixels already rotated; report the stored size. */
    if (found.format == BP_IMAGE_HEIC || found.format == BP_IMAGE_HEIF)
        heif_stored_size(head, head_len, &found.width, &found.height);
    *meta = found;
out_free_head:
    free(head);
out_close_input:
    fclose(in);
    return rc;
}
