/*
 * exif_read.h: the EXIF fields Bandpics exposes (capture time, camera,
 * orientation, GPS position), read from the bytes of a JPEG, of an APP1
 * payload or of a raw TIFF block through libexif. Pure: bytes in, struct
 * out, no I/O and no allocation that outlives a call.
 */
#ifndef BP_EXIF_READ_H
#define BP_EXIF_READ_H

#include <stdbool.h>
#include <stddef.h>

#include "rc.h"

/* "2024-05-01T20:15:03+02:00" plus NUL, with room to spare. */
#define BP_EXIF_TAKEN_AT_LEN 32

/* A GPS fix in signed decimal degrees (north and east positive). */
struct bp_exif_coords {
    bool has_position; /* latitude and longitude are both set */
    double latitude;   /* -90..90 */
    double longitude;  /* -180..180 */
    bool has_altitude;
    double altitude; /* metres, negative below sea level */
};

/*
 * What bp_exif_read found. Every string is NUL-terminated and "" when the
 * tag is absent or its value is malformed; no field is ever guessed.
 */
struct bp_exif_info {
    /* "2024-05-01T20:15:03", from DateTime (IFD0, last modification). */
    char date_time[20];
    /* "+02:00", from OffsetTime (0x9010), the offset of date_time. */
    char offset_time[7];
    /* From DateTimeOriginal (EXIF IFD, the capture). */
    char date_time_original[20];
    /* "+02:00", from OffsetTimeOriginal (0x9011). */
    char offset_time_original[7];
    /* Fraction-of-second digits, from SubSecTimeOriginal ("054"). */
    char subsec_time_original[16];
    /* Trimmed, valid UTF-8 without control characters, else "". */
    char make[128];
    char model[128];
    int orientation; /* 1..8, 0 when absent or invalid */
    struct bp_exif_coords coords;
    /* "2022-02-03T14:44:09Z", from GPSDateStamp + GPSTimeStamp
     * (fraction of second dropped). */
    char gps_utc[21];
};

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
