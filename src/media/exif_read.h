/*
 * exif_read.h: the EXIF fields Bandpics exposes (capture time, camera,
 * orientation, GPS position), read from the bytes of a JPEG, of an APP1
 * payload or of a raw TIFF block through libexif. Pure: bytes in, struct
 * out, no I/O and no allocation that outlives a call.
 */
#ifndef BP_EXIF_READ_H
#define BP_EXIF_READ_H

#include <stddef.h>

#include "model/exif_info.h"
#include "rc.h"

/*
 * Reads the EXIF fields of data, which is either a whole JPEG (the first
 * APP1 segment holding "Exif\0\0" is used), an APP1 payload starting with
 * "Exif\0\0", or a raw TIFF block starting with "II*\0" or "MM\0*". Only
 * the first 65534 bytes of an EXIF block are read (libexif's limit, also
 * the largest JPEG APP1 segment). libexif loads the block without any
 * fix-up; GPS tags are read from the GPS IFD only, the others from their
 * own IFD, else from the other of IFD0 and the EXIF IFD. Each value is
 * used only when its format, component count and range are right: a zero
 * denominator, a missing GPS latitude or longitude reference letter or an
 * out-of-range value leave the field empty. A missing GPSAltitudeRef
 * means above sea level, the standard's default.
 *
 * Returns BP_OK and fills *out with whatever could be read faithfully;
 * BP_ENOTFOUND when data holds no EXIF block or the block holds no
 * readable entry; BP_ENOMEM when memory runs out. On failure *out is left
 * untouched and err (which may be NULL) says why. data is borrowed and
 * nothing is allocated for the caller.
 */
enum bp_rc bp_exif_read(const unsigned char *data, size_t len,
                        struct bp_exif_info *out, struct bp_error *err);

/*
 * Writes into out the best capture time for the API's taken_at:
 * date_time_original with offset_time_original ("2024-05-01T20:15:03+02:00")
 * when both are present; else date_time_original with the offset implied
 * by gps_utc (their difference rounded to the nearest 15 minutes, used
 * only within +-14 hours); else date_time_original alone; else date_time
 * with offset_time, or alone; "" when there is no valid date. Fields of
 * info that do not parse are treated as absent. info is borrowed.
 */
void bp_exif_taken_at(const struct bp_exif_info *info,
                      char out[BP_EXIF_TAKEN_AT_LEN]);

#endif
