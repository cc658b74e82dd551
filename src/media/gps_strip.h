/*
 * gps_strip.h: lossless removal of GPS data from an image file. The
 * metadata is rewritten in place and keeps its size, so no offset in the
 * file moves and the compressed image data stays byte-identical: every
 * EXIF GPS IFD is emptied (its entries and values zeroed, the pointer to
 * it kept) and every XMP GPS property is overwritten with spaces. Pure
 * core (bytes in, bytes rewritten) plus a wrapper that writes a stripped
 * copy of a file.
 */
#ifndef BP_GPS_STRIP_H
#define BP_GPS_STRIP_H

#include <stddef.h>

#include "media/image_sniff.h"
#include "rc.h"

/* bp_gps_strip_file reads no larger file when the caller gives no cap. */
#define BP_GPS_STRIP_FILE_MAX ((size_t)256 * 1024 * 1024)

/* What one strip found and changed; all counts, zero when nothing was. */
struct bp_gps_strip_report {
    size_t exif_blocks;    /* EXIF TIFF blocks walked */
    size_t gps_ifds;       /* GPS IFDs that held entries and were emptied */
    size_t xmp_packets;    /* XMP packets searched */
    size_t xmp_properties; /* XMP GPS attributes and elements blanked */
};

/*
 * Removes the GPS data of the len bytes at data, an image file of the
 * given (sniffed) format, in place; the length never changes and only
 * metadata bytes are written (and the CRC of a PNG chunk that changed).
 * Handled: JPEG APP1 EXIF and XMP (also extended XMP) and Photoshop APP13
 * EXIF/XMP resources, in every image of the file (MPF secondary images
 * that follow the first EOI too); PNG eXIf, iTXt XMP and the
 * "Raw profile type exif/APP1/xmp" text chunks of ImageMagick; WebP EXIF
 * and "XMP " chunks; a TIFF file's own IFDs (every page) and its XMP tag
 * 700; the Exif and XMP items of a HEIC/HEIF file, found through
 * meta/iinf/iloc. GPS hidden in maker notes is not looked for.
 *
 * Returns BP_OK and fills *out (which may be NULL) with what was done;
 * a file without GPS is left unchanged and reports zero GPS IFDs and XMP
 * properties. BP_EUNSUPPORTED when the format or a piece of metadata that
 * holds GPS cannot be rewritten in place (a compressed PNG text chunk, a
 * HEIF item built from several extents or from other items, BigTIFF, an
 * unknown format); BP_EINVAL when the container or an EXIF block is
 * malformed in a way that cannot be walked safely; BP_ENOMEM when memory
 * runs out. On failure data may be partly rewritten and must not be
 * served; *out is untouched and err (which may be NULL) says why. data is
 * borrowed; nothing is allocated for the caller.
 */
enum bp_rc bp_gps_strip_buffer(unsigned char *data, size_t len,
                               enum bp_image_format format,
                               struct bp_gps_strip_report *out,
                               struct bp_error *err);

/*
 * Writes to dst_path a copy of the file at src_path with its GPS data
 * removed as bp_gps_strip_buffer does. A file without GPS is not copied:
 * dst_path is left as it was, and the report's GPS IFD and XMP counts
 * are zero. The source is read whole, up to max_len bytes
 * (BP_GPS_STRIP_FILE_MAX when max_len is 0); the copy is written to a
 * temporary file in dst_path's directory, flushed with fsync and renamed
 * over dst_path, so dst_path holds either the whole stripped copy or what
 * it held before. The copy is created with mode 0640.
 *
 * Returns BP_OK and fills *out (which may be NULL); the errors of
 * bp_gps_strip_buffer, BP_ETOOBIG when the source is larger than the cap,
 * BP_ENOTFOUND when it does not exist, BP_EIO when reading or writing
 * fails, BP_ENOMEM. On failure nothing is left at dst_path that was not
 * there, no temporary file remains, *out is untouched and err (which may
 * be NULL) says why. Both paths are borrowed.
 */
enum bp_rc bp_gps_strip_file(const char *src_path, const char *dst_path,
                             enum bp_image_format format, size_t max_len,
                             struct bp_gps_strip_report *out,
                             struct bp_error *err);

#endif
