/*
 * exif_info.h: the EXIF values an image record keeps (capture times,
 * camera, orientation, GPS position), as plain data. The media layer's
 * reader (media/exif_read.h) fills them from an image's bytes; the model
 * stores them and maps them to JSON, without knowing how they were read.
 */
#ifndef BP_EXIF_INFO_H
#define BP_EXIF_INFO_H

#include <stdbool.h>

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
 * What bp_exif_read (media/exif_read.h) found. Every string is NUL-terminated
 * and "" when the tag is absent or its value is malformed; no field is ever
 * guessed.
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

#endif
