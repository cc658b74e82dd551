/*
 * exif_read.c: reads the EXIF fields Bandpics exposes out of a byte
 * buffer. It owns finding the EXIF block (a walk over the JPEG segments,
 * an APP1 payload or a raw TIFF block), loading it with libexif without
 * fix-ups, the checks on the format, count and range of every value it
 * keeps, and the choice of a capture time with its UTC offset.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libexif/exif-data.h>
#include <libexif/exif-utils.h>

#include "media/exif_read.h"
#include "media/jpeg_markers.h"

/* The identifier that opens an EXIF APP1 payload, before the TIFF data. */
#define EXIF_ID "Exif\0\0"
#define EXIF_ID_LEN 6
/* Byte order mark, the number 42 and the offset of IFD0. */
#define TIFF_HEADER_LEN 8
/* libexif reads no further into a block (an APP1 payload is shorter). */
#define EXIF_BLOCK_MAX 0xfffe

/* UTC offsets of real time zones lie within 14 hours. */
#define MAX_OFFSET_SECONDS (14 * 3600)
/* A GPS-implied offset is rounded to whole quarter hours. */
#define OFFSET_STEP_SECONDS (15 * 60)

/* Lengths of the text forms, without NUL. */
#define DATE_TIME_LEN 19 /* "2024-05-01T20:15:03" */
#define DATE_LEN 10      /* "2024-05-01" */
#define OFFSET_LEN 6     /* "+02:00" */

/* A calendar date and time of day (proleptic Gregorian, no zone). */
struct civil_time {
    int year, month, day, hour, minute, second;
};

/* The EXIF block found in the input: "Exif\0\0" then a TIFF header. */
struct exif_block {
    const unsigned char *data;
    size_t len;
    unsigned char *owned; /* data, when it had to be built; else NULL */
};

static bool has_exif_id(const unsigned char *p, size_t len)
{
    return len >= EXIF_ID_LEN && memcmp(p, EXIF_ID, EXIF_ID_LEN) == 0;
}

static bool has_tiff_header(const unsigned char *p, size_t len)
{
    return len >= TIFF_HEADER_LEN &&
           (memcmp(p, "II*\0", 4) == 0 || memcmp(p, "MM\0*", 4) == 0);
}

/*
 * Finds the payload of the first APP1 segment holding EXIF in the JPEG
 * data (which starts with SOI), walking the segments up to the start of
 * scan. A segment cut short by the end of data yields the bytes present.
 */
static bool find_jpeg_exif(const unsigned char *data, size_t len,
                           const unsigned char **payload, size_t *payload_len)
{
    size_t pos = 2;
    while (pos < len) {
        if (data[pos] != JPEG_MARKER)
            return false;
        while (pos < len && data[pos] == JPEG_MARKER)
            pos++;
        if (pos >= len)
            return false;
        unsigned char marker = data[pos++];
        if (marker == JPEG_SOI || marker == JPEG_TEM ||
            (marker >= JPEG_RST0 && marker <= JPEG_RST7))
            continue;
        if (marker == 0 || marker == JPEG_EOI || marker == JPEG_SOS ||
            len - pos < 2)
            return false;
        size_t seg_len = (size_t)data[pos] << 8 | data[pos + 1];
        if (seg_len < 2)
            return false;
        size_t avail = len - pos - 2;
        size_t body_len = seg_len - 2 < avail ? seg_len - 2 : avail;
        if (marker == JPEG_APP1 && has_exif_id(data + pos + 2, body_len)) {
            *payload = data + pos + 2;
            *payload_len = body_len;
            return true;
        }
        if (seg_len - 2 > avail)
            return false;
        pos += seg_len;
    }
    return false;
}

/*
 * Points block at the EXIF block of data, copying a raw TIFF block behind
 * an "Exif\0\0" identifier (block->owned, freed by the caller). Returns
 * BP_ENOTFOUND when there is no block with a TIFF header.
 */
static enum bp_rc locate_block(const unsigned char *data, size_t len,
                               struct exif_block *block, struct bp_error *err)
{
    block->data = NULL;
    block->len = 0;
    block->owned = NULL;
    if (data == NULL || len == 0)
        return bp_error_set(err, BP_ENOTFOUND, "no data to read EXIF from");
    if (has_exif_id(data, len)) {
        block->data = data;
        block->len = len;
    } else if (len >= 2 && data[0] == JPEG_MARKER && data[1] == JPEG_SOI) {
        if (!find_jpeg_exif(data, len, &block->data, &block->len))
            return bp_error_set(err, BP_ENOTFOUND,
                                "the JPEG has no EXIF segment");
    } else if (has_tiff_header(data, len)) {
        size_t tiff_len = len < EXIF_BLOCK_MAX - EXIF_ID_LEN
                              ? len
                              : EXIF_BLOCK_MAX - EXIF_ID_LEN;
        block->owned = malloc(EXIF_ID_LEN + tiff_len);
        if (block->owned == NULL)
            return bp_error_set(err, BP_ENOMEM, "out of memory reading EXIF");
        memcpy(block->owned, EXIF_ID, EXIF_ID_LEN);
        memcpy(block->owned + EXIF_ID_LEN, data, tiff_len);
        block->data = block->owned;
        block->len = EXIF_ID_LEN + tiff_len;
    } else {
        return bp_error_set(err, BP_ENOTFOUND,
                            "the data is no JPEG, EXIF or TIFF block");
    }
    if (block->len > EXIF_BLOCK_MAX)
        block->len = EXIF_BLOCK_MAX;
    if (!has_tiff_header(block->data + EXIF_ID_LEN, block->len - EXIF_ID_LEN)) {
        free(block->owned);
        block->owned = NULL;
        return bp_error_set(err, BP_ENOTFOUND,
                            "the EXIF block has no TIFF header");
    }
    return BP_OK;
}

/* Tells whether libexif found any entry at all. */
static bool has_entries(const ExifData *ed)
{
    for (int i = 0; i < EXIF_IFD_COUNT; i++)
        if (ed->ifd[i] != NULL && ed->ifd[i]->count > 0)
            return true;
    return false;
}

static ExifEntry *find_entry(ExifData *ed, ExifIfd ifd, ExifTag tag)
{
    return exif_content_get_entry(ed->ifd[ifd], tag);
}

/*
 * Finds an image tag in its home IFD (IFD0 or the EXIF IFD), else in the
 * other one, where some writers misplace it (exiftool reads it there
 * too; the two IFDs share one tag space, unlike the GPS IFD).
 */
static ExifEntry *find_image_entry(ExifData *ed, ExifIfd home, ExifTag tag)
{
    ExifEntry *e = find_entry(ed, home, tag);
    if (e != NULL)
        return e;
    return find_entry(ed, home == EXIF_IFD_0 ? EXIF_IFD_EXIF : EXIF_IFD_0, tag);
}

/*
 * Tells whether e (which may be NULL) has the given format and at least
 * min_count components, all backed by data.
 */
static bool entry_fits(const ExifEntry *e, ExifFormat format,
                       unsigned long min_count)
{
    if (e == NULL || e->format != format || e->data == NULL ||
        e->components < min_count)
        return false;
    return e->components <= e->size / exif_format_get_size(format);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
}

/*
 * Copies the text of an ASCII entry e (which may be NULL), up to its
 * first NUL and without surrounding white space, into buf of size cap.
 * Returns false, leaving buf alone, when e holds no such text or the text
 * does not fit.
 */
static bool read_ascii(const ExifEntry *e, char *buf, size_t cap)
{
    if (!entry_fits(e, EXIF_FORMAT_ASCII, 1))
        return false;
    const char *s = (const char *)e->data;
    size_t n = strnlen(s, e->components);
    while (n > 0 && is_space(s[0])) {
        s++;
        n--;
    }
    while (n > 0 && is_space(s[n - 1]))
        n--;
    if (n >= cap)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return true;
}

/* Tells whether s is valid UTF-8 without any control character. */
static bool is_clean_utf8(const char *s)
{
    static const uint32_t min_code[] = {0, 0, 0x80, 0x800, 0x10000};
    const unsigned char *p = (const unsigned char *)s;
    while (*p != '\0') {
        uint32_t code;
        size_t n;
        if (p[0] < 0x80) {
            code = p[0];
            n = 1;
        } else if ((p[0] & 0xe0) == 0xc0) {
            code = p[0] & 0x1f;
            n = 2;
        } else if ((p[0] & 0xf0) == 0xe0) {
            code = p[0] & 0x0f;
            n = 3;
        } else if ((p[0] & 0xf8) == 0xf0) {
            code = p[0] & 0x07;
            n = 4;
        } else {
            return false;
        }
        for (size_t i = 1; i < n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            code = code << 6 | (p[i] & 0x3f);
        }
        if (code < min_code[n] || code > 0x10ffff ||
            (code >= 0xd800 && code <= 0xdfff))
            return false;
        if (code < 0x20 || (code >= 0x7f && code <= 0x9f))
            return false;
        p += n;
    }
    return true;
}

/* Reads exactly n decimal digits at s into *out. */
static bool read_digits(const char *s, int n, int *out)
{
    int value = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        value = value * 10 + (s[i] - '0');
    }
    *out = value;
    return true;
}

/* Writes value as exactly n decimal digits at p (no NUL). */
static void put_digits(char *p, int value, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + value % 10);
        value /= 10;
    }
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/*
 * Parses the date "YYYY<sep>MM<sep>DD" at s into t (years 1..9999, real
 * days). Reads no further than the first character that does not match.
 */
static bool parse_date(const char *s, char sep, struct civil_time *t)
{
    if (!read_digits(s, 4, &t->year) || s[4] != sep ||
        !read_digits(s + 5, 2, &t->month) || s[7] != sep ||
        !read_digits(s + 8, 2, &t->day))
        return false;
    return t->year >= 1 && t->month >= 1 && t->month <= 12 && t->day >= 1 &&
           t->day <= days_in_month(t->year, t->month);
}

/*
 * Parses exactly "YYYY<dsep>MM<dsep>DD<tsep>HH:MM:SS" followed by end,
 * the character expected after the seconds ('\0' or 'Z' then '\0').
 */
static bool parse_date_time(const char *s, char dsep, char tsep,
                            const char *end, struct civil_time *t)
{
    const char *p = s + DATE_LEN + 1;
    if (!parse_date(s, dsep, t) || s[DATE_LEN] != tsep ||
        !read_digits(p, 2, &t->hour) || p[2] != ':' ||
        !read_digits(p + 3, 2, &t->minute) || p[5] != ':' ||
        !read_digits(p + 6, 2, &t->second))
        return false;
    if (strncmp(s + DATE_TIME_LEN, end, strlen(end) + 1) != 0)
        return false;
    return t->hour <= 23 && t->minute <= 59 && t->second <= 59;
}

/* Writes t as "YYYY-MM-DDTHH:MM:SS" plus NUL into out. */
static void format_date_time(const struct civil_time *t,
                             char out[DATE_TIME_LEN + 1])
{
    put_digits(out, t->year, 4);
    out[4] = '-';
    put_digits(out + 5, t->month, 2);
    out[7] = '-';
    put_digits(out + 8, t->day, 2);
    out[10] = 'T';
    put_digits(out + 11, t->hour, 2);
    out[13] = ':';
    put_digits(out + 14, t->minute, 2);
    out[16] = ':';
    put_digits(out + 17, t->second, 2);
    out[DATE_TIME_LEN] = '\0';
}

/* Reads an EXIF date "YYYY:MM:DD HH:MM:SS" into out in ISO form. */
static void read_date_time(ExifEntry *e, char out[DATE_TIME_LEN + 1])
{
    char text[DATE_TIME_LEN + 2];
    struct civil_time t;
    if (read_ascii(e, text, sizeof(text)) &&
        parse_date_time(text, ':', ' ', "", &t))
        format_date_time(&t, out);
}

/* Tells whether s is exactly a UTC offset "+HH:MM" within 14 hours. */
static bool parse_offset(const char *s, int *seconds)
{
    int hours, minutes;
    if ((s[0] != '+' && s[0] != '-') || !read_digits(s + 1, 2, &hours) ||
        s[3] != ':' || !read_digits(s + 4, 2, &minutes) || s[6] != '\0')
        return false;
    if (minutes > 59 || hours * 3600 + minutes * 60 > MAX_OFFSET_SECONDS)
        return false;
    *seconds = (s[0] == '-' ? -1 : 1) * (hours * 3600 + minutes * 60);
    return true;
}

/* Reads an OffsetTime tag ("+02:00") into out. */
static void read_offset(ExifEntry *e, char out[OFFSET_LEN + 1])
{
    char text[OFFSET_LEN + 2];
    int seconds;
    if (read_ascii(e, text, sizeof(text)) && parse_offset(text, &seconds))
        memcpy(out, text, OFFSET_LEN + 1);
}

/* Reads a SubSecTime tag (decimal digits only) into out of size cap. */
static void read_subsec(ExifEntry *e, char *out, size_t cap)
{
    char text[32];
    if (!read_ascii(e, text, sizeof(text)) || text[0] == '\0' ||
        strlen(text) >= cap || strspn(text, "0123456789") != strlen(text))
        return;
    memcpy(out, text, strlen(text) + 1);
}

/* Reads Make or Model: trimmed, clean UTF-8 text that fits, else "". */
static void read_text(ExifEntry *e, char *out, size_t cap)
{
    if (!read_ascii(e, out, cap) || !is_clean_utf8(out))
        out[0] = '\0';
}

/* Reads Orientation: one SHORT (or LONG) between 1 and 8, else 0. */
static int read_orientation(ExifData *ed)
{
    ExifEntry *e = find_image_entry(ed, EXIF_IFD_0, EXIF_TAG_ORIENTATION);
    ExifByteOrder order = exif_data_get_byte_order(ed);
    unsigned long value;
    if (entry_fits(e, EXIF_FORMAT_SHORT, 1) && e->components == 1)
        value = exif_get_short(e->data, order);
    else if (entry_fits(e, EXIF_FORMAT_LONG, 1) && e->components == 1)
        value = exif_get_long(e->data, order);
    else
        return 0;
    return value >= 1 && value <= 8 ? (int)value : 0;
}

/*
 * Returns the GPS IFD entry for tag when it holds exactly count RATIONAL
 * (or SRATIONAL) components, else NULL.
 */
static ExifEntry *find_rationals(ExifData *ed, ExifTag tag, unsigned long count)
{
    ExifEntry *e = find_entry(ed, EXIF_IFD_GPS, tag);
    if ((entry_fits(e, EXIF_FORMAT_RATIONAL, count) ||
         entry_fits(e, EXIF_FORMAT_SRATIONAL, count)) &&
        e->components == count)
        return e;
    return NULL;
}

/*
 * Reads component i of a RATIONAL or SRATIONAL entry. Returns false for a
 * zero denominator (no value) and for a negative value.
 */
static bool read_rational(const ExifEntry *e, ExifByteOrder order,
                          unsigned long i, double *out)
{
    const unsigned char *p = e->data + i * exif_format_get_size(e->format);
    double value;
    if (e->format == EXIF_FORMAT_RATIONAL) {
        ExifRational r = exif_get_rational(p, order);
        if (r.denominator == 0)
            return false;
        value = (double)r.numerator / (double)r.denominator;
    } else {
        ExifSRational r = exif_get_srational(p, order);
        if (r.denominator == 0)
            return false;
        value = (double)r.numerator / (double)r.denominator;
    }
    if (!(value >= 0))
        return false;
    *out = value + 0.0; /* 0/-1 is -0.0; adding 0.0 makes it 0.0 */
    return true;
}

/*
 * Reads the letter of a GPS reference tag: pos or neg, either case.
 * Returns +1 or -1, or 0 when the tag is missing or holds anything else.
 */
static int read_gps_ref(ExifData *ed, ExifTag tag, char pos, char neg)
{
    char text[2];
    if (!read_ascii(find_entry(ed, EXIF_IFD_GPS, tag), text, sizeof(text)))
        return 0;
    if (text[0] == pos || text[0] == pos - 'A' + 'a')
        return 1;
    if (text[0] == neg || text[0] == neg - 'A' + 'a')
        return -1;
    return 0;
}

/*
 * Reads a GPS latitude or longitude: degrees, minutes and seconds as
 * three rationals, signed by the reference letter. Returns false when a
 * tag is missing or malformed or the angle exceeds limit.
 */
static bool read_gps_angle(ExifData *ed, ExifTag tag, ExifTag ref_tag, char pos,
                           char neg, double limit, double *out)
{
    ExifEntry *e = find_rationals(ed, tag, 3);
    ExifByteOrder order = exif_data_get_byte_order(ed);
    int sign = read_gps_ref(ed, ref_tag, pos, neg);
    double deg, min, sec;
    if (e == NULL || sign == 0 || !read_rational(e, order, 0, &deg) ||
        !read_rational(e, order, 1, &min) || !read_rational(e, order, 2, &sec))
        return false;
    double angle = deg + min / 60.0 + sec / 3600.0;
    if (!(angle <= limit))
        return false;
    *out = angle == 0 ? 0 : sign * angle;
    return true;
}

/*
 * Reads GPSAltitude, signed by GPSAltitudeRef: one BYTE, 0 above and 1
 * below sea level, 0 when absent (the default the EXIF standard gives).
 * A reference of another format or value leaves the sign unknown.
 */
static bool read_gps_altitude(ExifData *ed, double *out)
{
    ExifEntry *e = find_rationals(ed, EXIF_TAG_GPS_ALTITUDE, 1);
    ExifEntry *ref = find_entry(ed, EXIF_IFD_GPS, EXIF_TAG_GPS_ALTITUDE_REF);
    ExifByteOrder order = exif_data_get_byte_order(ed);
    bool below = false;
    double altitude;
    if (ref != NULL) {
        if (!entry_fits(ref, EXIF_FORMAT_BYTE, 1) || ref->components != 1 ||
            ref->data[0] > 1)
            return false;
        below = ref->data[0] == 1;
    }
    if (e == NULL || !read_rational(e, order, 0, &altitude))
        return false;
    *out = below && altitude != 0 ? -altitude : altitude;
    return true;
}

/*
 * Reads GPSDateStamp ("YYYY:MM:DD") and GPSTimeStamp (hours, minutes and
 * seconds as rationals, normalized like exiftool) into out as
 * "YYYY-MM-DDTHH:MM:SSZ", dropping the fraction of a second.
 */
static void read_gps_utc(ExifData *ed, char out[DATE_TIME_LEN + 2])
{
    char text[DATE_LEN + 2];
    struct civil_time t;
    ExifEntry *e = find_rationals(ed, EXIF_TAG_GPS_TIME_STAMP, 3);
    ExifByteOrder order = exif_data_get_byte_order(ed);
    double h, m, s;
    if (!read_ascii(find_entry(ed, EXIF_IFD_GPS, EXIF_TAG_GPS_DATE_STAMP), text,
                    sizeof(text)) ||
        !parse_date(text, ':', &t) || text[DATE_LEN] != '\0' || e == NULL ||
        !read_rational(e, order, 0, &h) || !read_rational(e, order, 1, &m) ||
        !read_rational(e, order, 2, &s))
        return;
    double total = (h * 60 + m) * 60 + s;
    if (!(total < 24 * 3600))
        return;
    long seconds = (long)total;
    t.hour = (int)(seconds / 3600);
    t.minute = (int)(seconds / 60 % 60);
    t.second = (int)(seconds % 60);
    format_date_time(&t, out);
    out[DATE_TIME_LEN] = 'Z';
    out[DATE_TIME_LEN + 1] = '\0';
}

/* Fills the GPS fields of info from the GPS IFD. */
static void read_gps(ExifData *ed, struct bp_exif_info *info)
{
    struct bp_exif_coords *c = &info->coords;
    c->has_position =
        read_gps_angle(ed, EXIF_TAG_GPS_LATITUDE, EXIF_TAG_GPS_LATITUDE_REF,
                       'N', 'S', 90, &c->latitude) &&
        read_gps_angle(ed, EXIF_TAG_GPS_LONGITUDE, EXIF_TAG_GPS_LONGITUDE_REF,
                       'E', 'W', 180, &c->longitude);
    if (!c->has_position) {
        c->latitude = 0;
        c->longitude = 0;
    }
    c->has_altitude = read_gps_altitude(ed, &c->altitude);
    read_gps_utc(ed, info->gps_utc);
}

enum bp_rc bp_exif_read(const unsigned char *data, size_t len,
                        struct bp_exif_info *out, struct bp_error *err)
{
    struct exif_block block;
    struct bp_exif_info info;
    ExifData *ed;
    enum bp_rc rc;

    assert(out != NULL);
    rc = locate_block(data, len, &block, err);
    if (rc != BP_OK)
        return rc;
    ed = exif_data_new();
    if (ed == NULL) {
        rc = bp_error_set(err, BP_ENOMEM, "out of memory reading EXIF");
        goto out_free_block;
    }
    exif_data_unset_option(ed, EXIF_DATA_OPTION_IGNORE_UNKNOWN_TAGS);
    exif_data_unset_option(ed, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
    exif_data_load_data(ed, block.data, (unsigned int)block.len);
    if (!has_entries(ed)) {
        rc = bp_error_set(err, BP_ENOTFOUND,
                          "the EXIF block holds no readable entry");
        goto out_unref_data;
    }

    memset(&info, 0, sizeof(info));
    read_date_time(find_image_entry(ed, EXIF_IFD_0, EXIF_TAG_DATE_TIME),
                   info.date_time);
    read_offset(find_image_entry(ed, EXIF_IFD_EXIF, EXIF_TAG_OFFSET_TIME),
                info.offset_time);
    read_date_time(
        find_image_entry(ed, EXIF_IFD_EXIF, EXIF_TAG_DATE_TIME_ORIGINAL),
        info.date_time_original);
    read_offset(
        find_image_entry(ed, EXIF_IFD_EXIF, EXIF_TAG_OFFSET_TIME_ORIGINAL),
        info.offset_time_original);
    read_subsec(
        find_image_entry(ed, EXIF_IFD_EXIF, EXIF_TAG_SUB_SEC_TIME_ORIGINAL),
        info.subsec_time_original, sizeof(info.subsec_time_original));
    read_text(find_image_entry(ed, EXIF_IFD_0, EXIF_TAG_MAKE), info.make,
              sizeof(info.make));
    read_text(find_image_entry(ed, EXIF_IFD_0, EXIF_TAG_MODEL), info.model,
              sizeof(info.model));
    info.orientation = read_orientation(ed);
    read_gps(ed, &info);
    *out = info;
    rc = BP_OK;

out_unref_data:
    exif_data_unref(ed);
out_free_block:
    free(block.owned);
    return rc;
}

/* Days from 1970-01-01 to the given date (proleptic Gregorian). */
static int64_t days_from_civil(int year, int month, int day)
{
    int y = year - (month <= 2);
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int64_t)era * 146097 + doe - 719468;
}

static int64_t seconds_from_civil(const struct civil_time *t)
{
    return days_from_civil(t->year, t->month, t->day) * 86400 + t->hour * 3600 +
           t->minute * 60 + t->second;
}

/*
 * Computes the UTC offset implied by a local time and the UTC time of the
 * same instant, rounded to the nearest quarter hour, into text ("+02:00").
 * Returns false when it exceeds 14 hours.
 */
static bool implied_offset(const struct civil_time *local,
                           const struct civil_time *utc,
                           char text[OFFSET_LEN + 1])
{
    int64_t diff = seconds_from_civil(local) - seconds_from_civil(utc);
    int64_t half = OFFSET_STEP_SECONDS / 2;
    int64_t steps = diff >= 0 ? (diff + half) / OFFSET_STEP_SECONDS
                              : -((-diff + half) / OFFSET_STEP_SECONDS);
    int64_t offset = steps * OFFSET_STEP_SECONDS;
    if (offset > MAX_OFFSET_SECONDS || offset < -MAX_OFFSET_SECONDS)
        return false;
    int minutes = (int)((offset < 0 ? -offset : offset) / 60);
    text[0] = offset < 0 ? '-' : '+';
    put_digits(text + 1, minutes / 60, 2);
    text[3] = ':';
    put_digits(text + 4, minutes % 60, 2);
    text[OFFSET_LEN] = '\0';
    return true;
}

/* Writes date (ISO, validated) and offset (may be "") into out. */
static void join_taken_at(const struct civil_time *date, const char *offset,
                          char out[BP_EXIF_TAKEN_AT_LEN])
{
    format_date_time(date, out);
    memcpy(out + DATE_TIME_LEN, offset, strnlen(offset, OFFSET_LEN) + 1);
}

void bp_exif_taken_at(const struct bp_exif_info *info,
                      char out[BP_EXIF_TAKEN_AT_LEN])
{
    struct civil_time local, utc;
    char implied[OFFSET_LEN + 1];
    int seconds;

    assert(info != NULL);
    out[0] = '\0';
    if (parse_date_time(info->date_time_original, '-', 'T', "", &local)) {
        if (parse_offset(info->offset_time_original, &seconds))
            join_taken_at(&local, info->offset_time_original, out);
        else if (parse_date_time(info->gps_utc, '-', 'T', "Z", &utc) &&
                 implied_offset(&local, &utc, implied))
            join_taken_at(&local, implied, out);
        else
            join_taken_at(&local, "", out);
    } else if (parse_date_time(info->date_time, '-', 'T', "", &local)) {
        join_taken_at(
            &local,
            parse_offset(info->offset_time, &seconds) ? info->offset_time : "",
            out);
    }
}
