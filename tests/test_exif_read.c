/*
 * test_exif_read.c: reading EXIF fields from hand-built TIFF/EXIF blocks
 * (both byte orders, odd and broken values, truncation, JPEG wrapping),
 * choosing the capture time, and agreeing with exiftool on the shared
 * corpus of real camera images when that corpus is present.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <libexif/exif-format.h>
#include <libexif/exif-tag.h>

#include "corpus.h"
#include "media/exif_read.h"

#define N(array) (sizeof(array) / sizeof((array)[0]))
#define NUMS(...) (sizeof((uint32_t[]){__VA_ARGS__}) / sizeof(uint32_t))

/* Entries of a hand-built IFD, by format. */
/* clang-format off */
#define ASCII(tag, text) {(tag), EXIF_FORMAT_ASCII, sizeof(text), (text), {0}}
#define UNDEFINED(tag, text) \
    {(tag), EXIF_FORMAT_UNDEFINED, sizeof(text), (text), {0}}
#define BYTES(tag, bytes) \
    {(tag), EXIF_FORMAT_BYTE, sizeof(bytes) - 1, (bytes), {0}}
#define SHORTS(tag, ...) \
    {(tag), EXIF_FORMAT_SHORT, NUMS(__VA_ARGS__), NULL, {__VA_ARGS__}}
#define LONGS(tag, ...) \
    {(tag), EXIF_FORMAT_LONG, NUMS(__VA_ARGS__), NULL, {__VA_ARGS__}}
#define RATIONALS(tag, ...) \
    {(tag), EXIF_FORMAT_RATIONAL, NUMS(__VA_ARGS__) / 2, NULL, {__VA_ARGS__}}
#define SRATIONALS(tag, ...) \
    {(tag), EXIF_FORMAT_SRATIONAL, NUMS(__VA_ARGS__) / 2, NULL, {__VA_ARGS__}}
/* clang-format on */

/* Blocks with IFD0 only, and with IFD0 and an EXIF IFD. */
#define SPEC_IFD0(ifd0_entries)                                                \
    ((struct tspec){.ifd0 = (ifd0_entries), .n_ifd0 = N(ifd0_entries)})
#define SPEC_EXIF(ifd0_entries, exif_entries)                                  \
    ((struct tspec){.ifd0 = (ifd0_entries),                                    \
                    .n_ifd0 = N(ifd0_entries),                                 \
                    .exif = (exif_entries),                                    \
                    .n_exif = N(exif_entries)})

#define BLOCK_MAX 4096
#define EXIF_ID_LEN 6

/* Corpus files larger than this are not read. */
#define CORPUS_FILE_MAX (64L * 1024 * 1024)

/* One IFD entry of a hand-built block; numbers in host order. */
struct tentry {
    uint16_t tag;
    uint16_t format;
    uint32_t count;
    const char *bytes; /* BYTE, ASCII, UNDEFINED: count bytes; else NULL */
    uint32_t nums[6];  /* SHORT, LONG: values; (S)RATIONAL: num, den pairs */
};

/* A hand-built block: IFD0, and EXIF and GPS IFDs when not empty. */
struct tspec {
    bool big_endian;
    const struct tentry *ifd0, *exif, *gps;
    size_t n_ifd0, n_exif, n_gps;
};

/* Writes the TIFF data of a block, behind its "Exif\0\0". */
struct twriter {
    unsigned char *tiff;
    size_t cap;
    size_t data_at; /* next free byte of the value area */
    bool big_endian;
};

static const struct tentry camera_ifd0[] = {
    ASCII(EXIF_TAG_MAKE, "Canon"),
    ASCII(EXIF_TAG_MODEL, "Canon EOS 40D"),
    SHORTS(EXIF_TAG_ORIENTATION, 6),
    ASCII(EXIF_TAG_DATE_TIME, "2024:05:02 08:00:00"),
};

static const struct tentry camera_exif[] = {
    ASCII(EXIF_TAG_DATE_TIME_ORIGINAL, "2024:05:01 20:15:03"),
    ASCII(EXIF_TAG_OFFSET_TIME, "+02:00"),
    ASCII(EXIF_TAG_OFFSET_TIME_ORIGINAL, "+02:00"),
    ASCII(EXIF_TAG_SUB_SEC_TIME_ORIGINAL, "054"),
};

/* 48°51'24.05" N, 2°21'7.92" E, 35.5 m, 2024-05-01 18:15:03.05 UTC. */
static const struct tentry paris_gps[] = {
    BYTES(EXIF_TAG_GPS_VERSION_ID, "\2\3\0\0"),
    ASCII(EXIF_TAG_GPS_LATITUDE_REF, "N"),
    RATIONALS(EXIF_TAG_GPS_LATITUDE, 48, 1, 51, 1, 2405, 100),
    ASCII(EXIF_TAG_GPS_LONGITUDE_REF, "E"),
    RATIONALS(EXIF_TAG_GPS_LONGITUDE, 2, 1, 21, 1, 792, 100),
    BYTES(EXIF_TAG_GPS_ALTITUDE_REF, "\0"),
    RATIONALS(EXIF_TAG_GPS_ALTITUDE, 3550, 100),
    RATIONALS(EXIF_TAG_GPS_TIME_STAMP, 18, 1, 15, 1, 305, 100),
    ASCII(EXIF_TAG_GPS_DATE_STAMP, "2024:05:01"),
};

#define PARIS_LAT (48 + 51 / 60.0 + 24.05 / 3600)
#define PARIS_LON (2 + 21 / 60.0 + 7.92 / 3600)

/* ---- block builder ---- */

static void put16(const struct twriter *w, size_t at, uint32_t v)
{
    assert_true(at + 2 <= w->cap);
    w->tiff[at + (w->big_endian ? 0 : 1)] = (unsigned char)(v >> 8);
    w->tiff[at + (w->big_endian ? 1 : 0)] = (unsigned char)v;
}

static void put32(const struct twriter *w, size_t at, uint32_t v)
{
    put16(w, at + (w->big_endian ? 0 : 2), v >> 16);
    put16(w, at + (w->big_endian ? 2 : 0), v & 0xffff);
}

static size_t format_size(uint16_t format)
{
    switch (format) {
    case EXIF_FORMAT_SHORT:
    case EXIF_FORMAT_SSHORT:
        return 2;
    case EXIF_FORMAT_LONG:
    case EXIF_FORMAT_SLONG:
    case EXIF_FORMAT_FLOAT:
        return 4;
    case EXIF_FORMAT_RATIONAL:
    case EXIF_FORMAT_SRATIONAL:
    case EXIF_FORMAT_DOUBLE:
        return 8;
    default:
        return 1;
    }
}

/* Writes one entry at at, its value inline or in the value area. */
static void write_entry(struct twriter *w, size_t at, const struct tentry *e)
{
    size_t size = format_size(e->format);
    size_t total = size * e->count;
    size_t where = at + 8;

    put16(w, at, e->tag);
    put16(w, at + 2, e->format);
    put32(w, at + 4, e->count);
    put32(w, at + 8, 0);
    if (total > 4) {
        where = w->data_at;
        put32(w, at + 8, (uint32_t)where);
        w->data_at += (total + 1) & ~(size_t)1;
    }
    assert_true(where + total <= w->cap);
    for (size_t i = 0; i < e->count; i++) {
        if (size == 1) {
            w->tiff[where + i] = e->bytes != NULL ? (unsigned char)e->bytes[i]
                                                  : (unsigned char)e->nums[i];
        } else if (size == 8) {
            assert_true(2 * i + 1 < N(e->nums));
            put32(w, where + 8 * i, e->nums[2 * i]);
            put32(w, where + 8 * i + 4, e->nums[2 * i + 1]);
        } else {
            assert_true(i < N(e->nums));
            if (size == 2)
                put16(w, where + 2 * i, e->nums[i]);
            else
                put32(w, where + 4 * i, e->nums[i]);
        }
    }
}

static size_t ifd_size(size_t n)
{
    return 2 + 12 * n + 4;
}

/* Writes an IFD of entries then pointer entries at at. */
static void write_ifd(struct twriter *w, size_t at, const struct tentry *e,
                      size_t n, const struct tentry *ptrs, size_t n_ptrs)
{
    put16(w, at, (uint32_t)(n + n_ptrs));
    for (size_t i = 0; i < n; i++)
        write_entry(w, at + 2 + 12 * i, &e[i]);
    for (size_t i = 0; i < n_ptrs; i++)
        write_entry(w, at + 2 + 12 * (n + i), &ptrs[i]);
    put32(w, at + 2 + 12 * (n + n_ptrs), 0);
}

/* Builds "Exif\0\0" and the TIFF data of spec into out; returns the length. */
static size_t build_block(const struct tspec *spec, unsigned char *out,
                          size_t cap)
{
    struct twriter w = {out + EXIF_ID_LEN, cap - EXIF_ID_LEN, 0,
                        spec->big_endian};
    struct tentry ptrs[2];
    size_t n_ptrs = 0;
    size_t ifd0_at = 8;
    size_t exif_at = ifd0_at + ifd_size(spec->n_ifd0 + (spec->n_exif > 0) +
                                        (spec->n_gps > 0));
    size_t gps_at = exif_at + (spec->n_exif > 0 ? ifd_size(spec->n_exif) : 0);

    if (spec->n_exif > 0)
        ptrs[n_ptrs++] = (struct tentry){EXIF_TAG_EXIF_IFD_POINTER,
                                         EXIF_FORMAT_LONG,
                                         1,
                                         NULL,
                                         {(uint32_t)exif_at}};
    if (spec->n_gps > 0)
        ptrs[n_ptrs++] = (struct tentry){EXIF_TAG_GPS_INFO_IFD_POINTER,
                                         EXIF_FORMAT_LONG,
                                         1,
                                         NULL,
                                         {(uint32_t)gps_at}};
    w.data_at = gps_at + (spec->n_gps > 0 ? ifd_size(spec->n_gps) : 0);
    memcpy(out, "Exif\0\0", EXIF_ID_LEN);
    memcpy(w.tiff, spec->big_endian ? "MM\0*" : "II*\0", 4);
    put32(&w, 4, (uint32_t)ifd0_at);
    write_ifd(&w, ifd0_at, spec->ifd0, spec->n_ifd0, ptrs, n_ptrs);
    if (spec->n_exif > 0)
        write_ifd(&w, exif_at, spec->exif, spec->n_exif, NULL, 0);
    if (spec->n_gps > 0)
        write_ifd(&w, gps_at, spec->gps, spec->n_gps, NULL, 0);
    return EXIF_ID_LEN + w.data_at;
}

/* The camera IFD0 and EXIF IFD with the given GPS IFD. */
static struct tspec camera_spec(const struct tentry *gps, size_t n_gps)
{
    struct tspec spec = SPEC_EXIF(camera_ifd0, camera_exif);
    spec.gps = gps;
    spec.n_gps = n_gps;
    return spec;
}

/* Builds spec, reads it and fails unless that succeeds. */
static struct bp_exif_info read_spec(const struct tspec *spec)
{
    unsigned char block[BLOCK_MAX];
    struct bp_exif_info info;
    struct bp_error err = {""};
    size_t len = build_block(spec, block, sizeof(block));
    assert_int_equal(bp_exif_read(block, len, &info, &err), BP_OK);
    return info;
}

static struct bp_exif_info read_with_gps(const struct tentry *gps, size_t n_gps)
{
    struct tspec spec = camera_spec(gps, n_gps);
    return read_spec(&spec);
}

/* Reads the camera IFD0 with an EXIF IFD holding only tag, as ASCII text. */
static struct bp_exif_info read_exif_text(uint16_t tag, const char *text)
{
    const struct tentry exif[] = {
        {tag, EXIF_FORMAT_ASCII, (uint32_t)strlen(text) + 1, text, {0}},
    };
    struct tspec spec = SPEC_EXIF(camera_ifd0, exif);
    return read_spec(&spec);
}

/* Appends a JPEG segment (marker, length, payload) at *at. */
static void put_segment(unsigned char *out, size_t cap, size_t *at,
                        unsigned char marker, const void *payload, size_t len)
{
    assert_true(*at + 4 + len <= cap);
    out[*at] = 0xff;
    out[*at + 1] = marker;
    out[*at + 2] = (unsigned char)((len + 2) >> 8);
    out[*at + 3] = (unsigned char)(len + 2);
    memcpy(out + *at + 4, payload, len);
    *at += 4 + len;
}

static void put_bytes(unsigned char *out, size_t cap, size_t *at,
                      const void *bytes, size_t len)
{
    assert_true(*at + len <= cap);
    memcpy(out + *at, bytes, len);
    *at += len;
}

/* Fails unless info holds everything the camera block with paris_gps has. */
static void assert_camera_info(const struct bp_exif_info *info)
{
    assert_string_equal(info->make, "Canon");
    assert_string_equal(info->model, "Canon EOS 40D");
    assert_int_equal(info->orientation, 6);
    assert_string_equal(info->date_time, "2024-05-02T08:00:00");
    assert_string_equal(info->offset_time, "+02:00");
    assert_string_equal(info->date_time_original, "2024-05-01T20:15:03");
    assert_string_equal(info->offset_time_original, "+02:00");
    assert_string_equal(info->subsec_time_original, "054");
    assert_true(info->coords.has_position);
    assert_float_equal(info->coords.latitude, PARIS_LAT, 1e-9);
    assert_float_equal(info->coords.longitude, PARIS_LON, 1e-9);
    assert_true(info->coords.has_altitude);
    assert_float_equal(info->coords.altitude, 35.5, 1e-9);
    assert_string_equal(info->gps_utc, "2024-05-01T18:15:03Z");
}

/* ---- bp_exif_read: where the block is ---- */

static void test_bp_exif_read_little_endian_block(void **state)
{
    struct bp_exif_info info = read_with_gps(paris_gps, N(paris_gps));
    assert_camera_info(&info);
}

static void test_bp_exif_read_big_endian_block(void **state)
{
    struct tspec spec = camera_spec(paris_gps, N(paris_gps));
    spec.big_endian = true;
    struct bp_exif_info info = read_spec(&spec);
    assert_camera_info(&info);
}

static void test_bp_exif_read_raw_tiff_block(void **state)
{
    unsigned char block[BLOCK_MAX];
    struct tspec spec = camera_spec(paris_gps, N(paris_gps));
    struct bp_exif_info info;
    for (int big = 0; big <= 1; big++) {
        spec.big_endian = big;
        size_t len = build_block(&spec, block, sizeof(block));
        memset(&info, 0, sizeof(info));
        assert_int_equal(
            bp_exif_read(block + EXIF_ID_LEN, len - EXIF_ID_LEN, &info, NULL),
            BP_OK);
        assert_camera_info(&info);
    }
}

static void test_bp_exif_read_jpeg_segments(void **state)
{
    static const char jfif[] = "JFIF\0\1\1\0\0\1\0\1\0";
    static const char xmp[] = "http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>";
    static const char comment[] = "made by hand";
    static const unsigned char sos[] = {0xff, 0xda, 0x00, 0x02, 0x12,
                                        0x34, 0xff, 0xe1, 0xff, 0xd9};
    unsigned char block[BLOCK_MAX], jpeg[BLOCK_MAX + 256];
    struct tspec spec = camera_spec(paris_gps, N(paris_gps));
    size_t block_len = build_block(&spec, block, sizeof(block));
    size_t len = 0;
    struct bp_exif_info info;

    put_bytes(jpeg, sizeof(jpeg), &len, "\xff\xd8", 2);
    put_segment(jpeg, sizeof(jpeg), &len, 0xe0, jfif, sizeof(jfif));
    put_segment(jpeg, sizeof(jpeg), &len, 0xe1, xmp, sizeof(xmp));
    put_bytes(jpeg, sizeof(jpeg), &len, "\xff", 1); /* a fill byte */
    put_segment(jpeg, sizeof(jpeg), &len, 0xfe, comment, sizeof(comment));
    put_segment(jpeg, sizeof(jpeg), &len, 0xe1, block, block_len);
    put_bytes(jpeg, sizeof(jpeg), &len, sos, sizeof(sos));
    assert_int_equal(bp_exif_read(jpeg, len, &info, NULL), BP_OK);
    assert_camera_info(&info);

    /* Cut inside the EXIF segment: what is there is read. */
    size_t cut = len - sizeof(sos) - 1;
    memset(&info, 0, sizeof(info));
    assert_int_equal(bp_exif_read(jpeg, cut, &info, NULL), BP_OK);
    assert_string_equal(info.make, "Canon");
    assert_string_equal(info.date_time_original, "2024-05-01T20:15:03");
}

static void test_bp_exif_read_no_exif(void **state)
{
    static const char xmp[] = "http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>";
    static const unsigned char sos[] = {0xff, 0xda, 0x00, 0x02, 0x12, 0x34};
    static const char exif_after_scan[] = "Exif\0\0II*\0\10\0\0\0\0\0";
    unsigned char jpeg[256];
    size_t len = 0;
    struct bp_exif_info info, before;
    struct bp_error err = {""};

    memset(&info, 0x5a, sizeof(info));
    before = info;
    assert_int_equal(bp_exif_read(NULL, 0, &info, &err), BP_ENOTFOUND);
    assert_int_equal(bp_exif_read((const unsigned char *)"", 0, &info, &err),
                     BP_ENOTFOUND);
    assert_int_equal(
        bp_exif_read((const unsigned char *)"hello world", 11, &info, &err),
        BP_ENOTFOUND);

    /* A JPEG with XMP only, and EXIF behind the start of scan. */
    put_bytes(jpeg, sizeof(jpeg), &len, "\xff\xd8", 2);
    put_segment(jpeg, sizeof(jpeg), &len, 0xe1, xmp, sizeof(xmp));
    put_bytes(jpeg, sizeof(jpeg), &len, sos, sizeof(sos));
    put_segment(jpeg, sizeof(jpeg), &len, 0xe1, exif_after_scan,
                sizeof(exif_after_scan));
    err.detail[0] = '\0';
    assert_int_equal(bp_exif_read(jpeg, len, &info, &err), BP_ENOTFOUND);
    assert_string_not_equal(err.detail, "");

    /* An EXIF identifier without a TIFF header, or with an empty IFD0. */
    assert_int_equal(bp_exif_read((const unsigned char *)"Exif\0\0XX*\0\10\0",
                                  12, &info, &err),
                     BP_ENOTFOUND);
    assert_int_equal(
        bp_exif_read((const unsigned char *)"Exif\0\0II*\0\10\0\0\0\0\0", 16,
                     &info, &err),
        BP_ENOTFOUND);
    assert_int_equal(
        bp_exif_read((const unsigned char *)"II*\0\377\0\0\0", 8, &info, &err),
        BP_ENOTFOUND);
    assert_memory_equal(&info, &before, sizeof(info));
}

/* Every prefix of a block reads without error, and only exact values. */
static void test_bp_exif_read_truncated_block(void **state)
{
    unsigned char block[BLOCK_MAX];
    struct bp_exif_info info;
    for (int big = 0; big <= 1; big++) {
        struct tspec spec = camera_spec(paris_gps, N(paris_gps));
        spec.big_endian = big;
        size_t full = build_block(&spec, block, sizeof(block));
        size_t ok = 0;
        for (size_t len = 0; len <= full; len++) {
            unsigned char *copy = malloc(len > 0 ? len : 1);
            assert_non_null(copy);
            memcpy(copy, block, len);
            memset(&info, 0, sizeof(info));
            enum bp_rc rc = bp_exif_read(copy, len, &info, NULL);
            free(copy);
            assert_true(rc == BP_OK || rc == BP_ENOTFOUND);
            if (rc != BP_OK)
                continue;
            ok++;
            assert_true(strcmp(info.make, "") == 0 ||
                        strcmp(info.make, "Canon") == 0);
            assert_true(
                strcmp(info.date_time_original, "") == 0 ||
                strcmp(info.date_time_original, "2024-05-01T20:15:03") == 0);
            assert_true(info.orientation == 0 || info.orientation == 6);
            assert_true(strcmp(info.gps_utc, "") == 0 ||
                        strcmp(info.gps_utc, "2024-05-01T18:15:03Z") == 0);
            if (info.coords.has_position) {
                assert_float_equal(info.coords.latitude, PARIS_LAT, 1e-9);
                assert_float_equal(info.coords.longitude, PARIS_LON, 1e-9);
            }
            if (info.coords.has_altitude)
                assert_float_equal(info.coords.altitude, 35.5, 1e-9);
        }
        assert_true(ok > 0);

        /* Cutting into the last value (GPSDateStamp) loses it alone. */
        assert_int_equal(bp_exif_read(block, full - 2, &info, NULL), BP_OK);
        assert_string_equal(info.make, "Canon");
        assert_true(info.coords.has_position);
        assert_string_equal(info.gps_utc, "");
    }
}

/* ---- bp_exif_read: GPS ---- */

static void test_bp_exif_read_gps_zero_denominator(void **state)
{
    const struct tentry no_fix[] = {
        ASCII(EXIF_TAG_GPS_LATITUDE_REF, "N"),
        RATIONALS(EXIF_TAG_GPS_LATITUDE, 0, 0, 0, 0, 0, 0),
        ASCII(EXIF_TAG_GPS_LONGITUDE_REF, "E"),
        RATIONALS(EXIF_TAG_GPS_LONGITUDE, 0, 0, 0, 0, 0, 0),
        BYTES(EXIF_TAG_GPS_ALTITUDE_REF, "\0"),
        RATIONALS(EXIF_TAG_GPS_ALTITUDE, 0, 0),
        RATIONALS(EXIF_TAG_GPS_TIME_STAMP, 0, 0, 0, 0, 0, 0),
        ASCII(EXIF_TAG_GPS_DATE_STAMP, "2024:05:01"),
    };
    const struct tentry seconds_only[] = {
        ASCII(EXIF_TAG_GPS_LATITUDE_REF, "N"),
        RATIONALS(EXIF_TAG_GPS_LATITUDE, 48, 1, 51, 1, 2405, 0),
        ASCII(EXIF_TAG_GPS_LONGITUDE_REF, "E"),
        RATIONALS(EXIF_TAG_GPS_LONGITUDE, 2, 1, 21, 1, 792, 100),
    };
    const struct tentry infinite_altitude[] = {
        BYTES(EXIF_TAG_GPS_ALTITUDE_REF, "\0"),
        RATIONALS(EXIF_TAG_GPS_ALTITUDE, 3550, 0),
    };
    const struct tentry equator[] = {
        ASCII(EXIF_TAG_GPS_LATITUDE_REF, "N"),
        RATIONALS(EXIF_TAG_GPS_LATITUDE, 0, 1, 0, 1, 0, 1),
        ASCII(EXIF_TAG_GPS_LONGITUDE_REF, "W"),
        RATIONALS(EXIF_TAG_GPS_LONGITUDE, 0, 1, 0, 1, 0, 1),
    };

    struct bp_exif_info info = read_with_gps(no_fix, N(no_fix));
    assert_false(info.coords.has_position);
    assert_float_equal(info.coords.latitude, 0, 0);
    assert_float_equal(info.coords.longitude, 0, 0);
    assert_false(info.coords.has_altitude);
    assert_string_equal(info.gps_utc, "");

    info = read_with_gps(seconds_only, N(seconds_only));
    assert_false(info.coords.has_position);

    assert_false(read_with_gps(infinite_altitude, N(infinite_altitude))
                     .coords.has_altitude);

    /* A real fix at 0,0 (0/1) is a position. */
    info = read_with_gps(equator, N(equator));
    assert_true(info.coords.has_position);
    assert_float_equal(info.coords.latitude, 0, 0);
    assert_float_equal(info.coords.longitude, 0, 0);
}

static void test_bp_exif_read_gps_missing_ref(void **state)
{
    const struct tentry no_lat_ref[] = {
        RATIONALS(EXIF_TAG_GPS_LATITUDE, 48, 1, 51, 1, 2405, 100),
        ASCII(EXIF_TAG_GPS_LONGITUDE_REF, "E"),
        RATIONALS(EXIF_TAG_GPS_LONGITUDE, 2, 1, 21, 1, 792, 100),
    };
    const struct tentry no_lon_ref[] = {
        ASCII(EXIF_TAG_GPS_LATITUDE_REF, "N"),
        RATIONALS(EXIF_TAG_GPS_LATITUDE, 48, 1, 51, 1, 2405, 100),
        RATIONALS(EXIF_TAG_GPS_LONGITUDE, 2, 1, 21, 1, 792, 100),
    };
    const struct tentry bad_refs[] = {
        ASCII(EXIF_TAG_GPS_LATITUDE_REF, "E"),
        RATIONALS(EXIF_TAG_GPS_LATITUDE, 48, 1, 51, 1, 2405, 100),
        ASCII(EXIF_TAG_GPS_LONGITUDE_REF, "N"),
        RATIONALS(EXIF_TAG_GPS_LONGITUDE, 2, 1, 21, 1, 792, 100),
    };
    const struct tentry empty_ref[] = {
        ASCII(EXIF_TAG_GPS_LATITUDE_REF, ""),
        RATIONALS(EXIF_TAG_GPS_LATITUDE, 48, 1, 51, 1, 2405, 100),
        ASCII(EXIF_TAG_GPS_LONGITUDE_REF, "E"),
        RATIONALS(EXIF_TAG_GPS_LONGITUDE, 2, 1, 21, 1, 792, 100),
    };
    const struct tentry lower_case[] = {
        ASCII(EXIF_TAG_GPS_LATITUDE_REF, "n"),
        RATIONALS(EXIF_TAG_GPS_LATITUDE, 48, 1, 51, 1, 2405, 100),
        ASCII(EXIF_TAG_GPS_LONGITUDE_REF, "e"),
        RATIONALS(EXIF_TAG_GPS_LONGITUDE, 2, 1, 21, 1, 792, 100),
    };

    assert_false(read_with_gps(no_lat_ref, N(no_lat_ref)).coords.has_position);
    assert_false(read_with_gps(no_lon_ref, N(no_lon_ref)).coords.has_position);
    assert_false(read_with_gps(bad_refs, N(bad_refs)).coords.has_position);
    assert_false(read_with_gps(empty_ref, N(empty_ref)).coords.has_position);
    struct bp_exif_info info = read_with_gps(lower_case, N(lower_case));
    assert_true(info.coords.has_position);
    assert_float_equal(info.coords.latitude, PARIS_LAT, 1e-9);
}

static void test_bp_exif_read_gps_south_west(void **state)
{
    /* 33°52'4" S, 151°12'26" W, as written by big-endian cameras too. */
    const struct tentry sydney[] = {
        ASCII(EXIF_TAG_GPS_LATITUDE_REF, "S"),
        RATIONALS(EXIF_TAG_GPS_LATITUDE, 33, 1, 52, 1, 4, 1),
        ASCII(EXIF_TAG_GPS_LONGITUDE_REF, "W"),
        RATIONALS(EXIF_TAG_GPS_LONGITUDE, 1512, 10, 124, 10, 26000, 1000),
    };
    for (int big = 0; big <= 1; big++) {
        struct tspec spec = camera_spec(sydney, N(sydney));
        spec.big_endian = big;
        struct bp_exif_info info = read_spec(&spec);
        assert_true(info.coords.has_position);
        assert_float_equal(info.coords.latitude, -(33 + 52 / 60.0 + 4 / 3600.0),
                           1e-9);
        assert_float_equal(info.coords.longitude,
                           -(151.2 + 12.4 / 60.0 + 26 / 3600.0), 1e-9);
        assert_false(info.coords.has_altitude);
    }
}

static void test_bp_exif_read_gps_below_sea_level(void **state)
{
    const struct tentry dead_sea[] = {
        BYTES(EXIF_TAG_GPS_ALTITUDE_REF, "\1"),
        RATIONALS(EXIF_TAG_GPS_ALTITUDE, 430500, 1000),
    };
    const struct tentry no_ref[] = {
        RATIONALS(EXIF_TAG_GPS_ALTITUDE, 4305, 10),
    };
    const struct tentry reserved_ref[] = {
        BYTES(EXIF_TAG_GPS_ALTITUDE_REF, "\2"),
        RATIONALS(EXIF_TAG_GPS_ALTITUDE, 4305, 10),
    };
    const struct tentry short_ref[] = {
        SHORTS(EXIF_TAG_GPS_ALTITUDE_REF, 1),
        RATIONALS(EXIF_TAG_GPS_ALTITUDE, 4305, 10),
    };

    struct bp_exif_info info = read_with_gps(dead_sea, N(dead_sea));
    assert_true(info.coords.has_altitude);
    assert_float_equal(info.coords.altitude, -430.5, 1e-9);
    assert_false(info.coords.has_position);

    /* The standard's default reference is 0, above sea level. */
    info = read_with_gps(no_ref, N(no_ref));
    assert_true(info.coords.has_altitude);
    assert_float_equal(info.coords.altitude, 430.5, 1e-9);

    /* A reference that cannot be read leaves the sign unknown. */
    assert_false(
        read_with_gps(reserved_ref, N(reserved_ref)).coords.has_altitude);
    assert_false(read_with_gps(short_ref, N(short_ref)).coords.has_altitude);
}

static void test_bp_exif_read_gps_wrong_formats(void **state)
{
    const struct tentry short_lat[] = {
        ASCII(EXIF_TAG_GPS_LATITUDE_REF, "N"),
        SHORTS(EXIF_TAG_GPS_LATITUDE, 48, 51, 24),
        ASCII(EXIF_TAG_GPS_LONGITUDE_REF, "E"),
        RATIONALS(EXIF_TAG_GPS_LONGITUDE, 2, 1, 21, 1, 792, 100),
    };
    const struct tentry two_components[] = {
        ASCII(EXIF_TAG_GPS_LATITUDE_REF, "N"),
        RATIONALS(EXIF_TAG_GPS_LATITUDE, 48, 1, 51, 1),
        ASCII(EXIF_TAG_GPS_LONGITUDE_REF, "E"),
        RATIONALS(EXIF_TAG_GPS_LONGITUDE, 2, 1, 21, 1, 792, 100),
    };
    const struct tentry ascii_lon[] = {
        ASCII(EXIF_TAG_GPS_LATITUDE_REF, "N"),
        RATIONALS(EXIF_TAG_GPS_LATITUDE, 48, 1, 51, 1, 2405, 100),
        ASCII(EXIF_TAG_GPS_LONGITUDE_REF, "E"),
        ASCII(EXIF_TAG_GPS_LONGITUDE, "2.3522"),
    };
    const struct tentry byte_ref[] = {
        BYTES(EXIF_TAG_GPS_LATITUDE_REF, "N"),
        RATIONALS(EXIF_TAG_GPS_LATITUDE, 48, 1, 51, 1, 2405, 100),
        ASCII(EXIF_TAG_GPS_LONGITUDE_REF, "E"),
        RATIONALS(EXIF_TAG_GPS_LONGITUDE, 2, 1, 21, 1, 792, 100),
    };
    const struct tentry odd_altitude_and_time[] = {
        BYTES(EXIF_TAG_GPS_ALTITUDE_REF, "\0"),
        LONGS(EXIF_TAG_GPS_ALTITUDE, 35),
        RATIONALS(EXIF_TAG_GPS_TIME_STAMP, 18, 1, 15, 1),
        ASCII(EXIF_TAG_GPS_DATE_STAMP, "2024:05:01"),
    };
    const struct tentry bad_date_stamp[] = {
        RATIONALS(EXIF_TAG_GPS_TIME_STAMP, 18, 1, 15, 1, 3, 1),
        ASCII(EXIF_TAG_GPS_DATE_STAMP, "2024:02:30"),
        ASCII(EXIF_TAG_GPS_LATITUDE_REF, "N"),
    };
    const struct tentry late_time[] = {
        RATIONALS(EXIF_TAG_GPS_TIME_STAMP, 23, 1, 59, 1, 60, 1),
        ASCII(EXIF_TAG_GPS_DATE_STAMP, "2024:05:01"),
    };
    const struct tentry signed_rationals[] = {
        ASCII(EXIF_TAG_GPS_LATITUDE_REF, "N"),
        SRATIONALS(EXIF_TAG_GPS_LATITUDE, 48, 1, 51, 1, 2405, 100),
        ASCII(EXIF_TAG_GPS_LONGITUDE_REF, "E"),
        SRATIONALS(EXIF_TAG_GPS_LONGITUDE, 2, 1, 21, 1, 792, 100),
    };
    const struct tentry negative_rationals[] = {
        ASCII(EXIF_TAG_GPS_LATITUDE_REF, "S"),
        SRATIONALS(EXIF_TAG_GPS_LATITUDE, (uint32_t)-48, 1, 51, 1, 2405, 100),
        ASCII(EXIF_TAG_GPS_LONGITUDE_REF, "E"),
        SRATIONALS(EXIF_TAG_GPS_LONGITUDE, 2, 1, 21, 1, 792, 100),
        BYTES(EXIF_TAG_GPS_ALTITUDE_REF, "\0"),
        SRATIONALS(EXIF_TAG_GPS_ALTITUDE, (uint32_t)-10, 1),
    };

    assert_false(read_with_gps(short_lat, N(short_lat)).coords.has_position);
    assert_false(
        read_with_gps(two_components, N(two_components)).coords.has_position);
    assert_false(read_with_gps(ascii_lon, N(ascii_lon)).coords.has_position);
    assert_false(read_with_gps(byte_ref, N(byte_ref)).coords.has_position);
    struct bp_exif_info info =
        read_with_gps(odd_altitude_and_time, N(odd_altitude_and_time));
    assert_false(info.coords.has_altitude);
    assert_string_equal(info.gps_utc, "");
    assert_string_equal(
        read_with_gps(bad_date_stamp, N(bad_date_stamp)).gps_utc, "");
    assert_string_equal(read_with_gps(late_time, N(late_time)).gps_utc, "");

    info = read_with_gps(signed_rationals, N(signed_rationals));
    assert_true(info.coords.has_position);
    assert_float_equal(info.coords.latitude, PARIS_LAT, 1e-9);
    info = read_with_gps(negative_rationals, N(negative_rationals));
    assert_false(info.coords.has_position);
    assert_false(info.coords.has_altitude);
}

static void test_bp_exif_read_gps_out_of_range(void **state)
{
    const struct tentry lat_91[] = {
        ASCII(EXIF_TAG_GPS_LATITUDE_REF, "N"),
        RATIONALS(EXIF_TAG_GPS_LATITUDE, 90, 1, 0, 1, 36, 1),
        ASCII(EXIF_TAG_GPS_LONGITUDE_REF, "E"),
        RATIONALS(EXIF_TAG_GPS_LONGITUDE, 2, 1, 0, 1, 0, 1),
    };
    const struct tentry lon_181[] = {
        ASCII(EXIF_TAG_GPS_LATITUDE_REF, "N"),
        RATIONALS(EXIF_TAG_GPS_LATITUDE, 48, 1, 0, 1, 0, 1),
        ASCII(EXIF_TAG_GPS_LONGITUDE_REF, "W"),
        RATIONALS(EXIF_TAG_GPS_LONGITUDE, 180, 1, 1, 1, 0, 1),
    };
    const struct tentry corners[] = {
        ASCII(EXIF_TAG_GPS_LATITUDE_REF, "S"),
        RATIONALS(EXIF_TAG_GPS_LATITUDE, 90, 1, 0, 1, 0, 1),
        ASCII(EXIF_TAG_GPS_LONGITUDE_REF, "W"),
        RATIONALS(EXIF_TAG_GPS_LONGITUDE, 179, 1, 59, 1, 60, 1),
    };

    assert_false(read_with_gps(lat_91, N(lat_91)).coords.has_position);
    assert_false(read_with_gps(lon_181, N(lon_181)).coords.has_position);
    struct bp_exif_info info = read_with_gps(corners, N(corners));
    assert_true(info.coords.has_position);
    assert_float_equal(info.coords.latitude, -90, 1e-9);
    assert_float_equal(info.coords.longitude, -180, 1e-9);
}

/* GPS tag numbers mean other things outside the GPS IFD. */
static void test_bp_exif_read_gps_only_from_gps_ifd(void **state)
{
    const struct tentry ifd0[] = {
        ASCII(EXIF_TAG_GPS_LATITUDE_REF, "N"),
        RATIONALS(EXIF_TAG_GPS_LATITUDE, 48, 1, 51, 1, 2405, 100),
        ASCII(EXIF_TAG_GPS_LONGITUDE_REF, "E"),
        RATIONALS(EXIF_TAG_GPS_LONGITUDE, 2, 1, 21, 1, 792, 100),
        ASCII(EXIF_TAG_MAKE, "Canon"),
    };
    const struct tentry exif[] = {
        ASCII(EXIF_TAG_GPS_LATITUDE_REF, "N"),
        RATIONALS(EXIF_TAG_GPS_LATITUDE, 48, 1, 51, 1, 2405, 100),
        ASCII(EXIF_TAG_GPS_LONGITUDE_REF, "E"),
        RATIONALS(EXIF_TAG_GPS_LONGITUDE, 2, 1, 21, 1, 792, 100),
        BYTES(EXIF_TAG_GPS_ALTITUDE_REF, "\0"),
        RATIONALS(EXIF_TAG_GPS_ALTITUDE, 3550, 100),
    };
    struct tspec spec = SPEC_EXIF(ifd0, exif);
    struct bp_exif_info info = read_spec(&spec);
    assert_string_equal(info.make, "Canon");
    assert_false(info.coords.has_position);
    assert_false(info.coords.has_altitude);
}

/* ---- bp_exif_read: dates, text, orientation ---- */

static void test_bp_exif_read_dates_validated(void **state)
{
    static const char *const bad[] = {
        "0000:00:00 00:00:00",
        "    :  :     :  :  ",
        "2024:13:01 00:00:00",
        "2023:02:29 10:00:00",
        "2024:05:01 24:00:00",
        "2024:05:01 20:60:00",
        "2024-05-01 20:15:03",
        "2024:05:01 20:15",
        "2024:05:01T20:15:03",
        "2024:05:01 20:15:03x",
        "",
    };

    for (size_t i = 0; i < N(bad); i++) {
        struct bp_exif_info info =
            read_exif_text(EXIF_TAG_DATE_TIME_ORIGINAL, bad[i]);
        assert_string_equal(info.date_time_original, "");
        assert_string_equal(info.date_time, "2024-05-02T08:00:00");
    }

    const struct tentry leap_day[] = {
        ASCII(EXIF_TAG_DATE_TIME_ORIGINAL, "2024:02:29 23:59:59  "),
    };
    const struct tentry undefined[] = {
        UNDEFINED(EXIF_TAG_DATE_TIME_ORIGINAL, "2024:05:01 20:15:03"),
    };
    const struct tentry in_ifd0[] = {
        ASCII(EXIF_TAG_DATE_TIME_ORIGINAL, "2024:05:01 20:15:03"),
    };
    struct tspec spec = SPEC_EXIF(camera_ifd0, leap_day);
    assert_string_equal(read_spec(&spec).date_time_original,
                        "2024-02-29T23:59:59");
    spec.exif = undefined;
    assert_string_equal(read_spec(&spec).date_time_original, "");

    /* Misplaced in IFD0, it is still DateTimeOriginal (as for exiftool). */
    spec = SPEC_IFD0(in_ifd0);
    assert_string_equal(read_spec(&spec).date_time_original,
                        "2024-05-01T20:15:03");
}

static void test_bp_exif_read_offset_and_subsec(void **state)
{
    static const char *const bad_offsets[] = {
        "+2:00", "+15:00", "+02:60", "Z", "02:00", "+02:00:00", "+14:30", ""};
    static const char *const bad_subsecs[] = {"  ", "12a", "-1",
                                              "1234567890123456", ""};
    struct bp_exif_info info;

    for (size_t i = 0; i < N(bad_offsets); i++)
        assert_string_equal(
            read_exif_text(EXIF_TAG_OFFSET_TIME_ORIGINAL, bad_offsets[i])
                .offset_time_original,
            "");
    for (size_t i = 0; i < N(bad_subsecs); i++)
        assert_string_equal(
            read_exif_text(EXIF_TAG_SUB_SEC_TIME_ORIGINAL, bad_subsecs[i])
                .subsec_time_original,
            "");

    const struct tentry good[] = {
        ASCII(EXIF_TAG_OFFSET_TIME_ORIGINAL, "-05:30"),
        ASCII(EXIF_TAG_SUB_SEC_TIME_ORIGINAL, "07 "),
        ASCII(EXIF_TAG_OFFSET_TIME, "+14:00"),
    };
    struct tspec spec = SPEC_EXIF(camera_ifd0, good);
    info = read_spec(&spec);
    assert_string_equal(info.offset_time_original, "-05:30");
    assert_string_equal(info.subsec_time_original, "07");
    assert_string_equal(info.offset_time, "+14:00");
}

static void test_bp_exif_read_text_cleaned(void **state)
{
    static const char long_make[] =
        "0123456789012345678901234567890123456789012345678901234567890123"
        "4567890123456789012345678901234567890123456789012345678901234567";
    const struct tentry padded[] = {
        ASCII(EXIF_TAG_MAKE, "  NIKON CORPORATION  "),
        ASCII(EXIF_TAG_MODEL, "Caf\xc3\xa9 \xe2\x98\x95 \xf0\x9f\x93\xb7"),
    };
    const struct tentry broken[] = {
        ASCII(EXIF_TAG_MAKE, "Can\x01on"),
        ASCII(EXIF_TAG_MODEL, "Caf\xe9"),
    };
    const struct tentry overlong[] = {
        ASCII(EXIF_TAG_MAKE, "\xc0\xaf"),
        ASCII(EXIF_TAG_MODEL, "A\xc2\x85Z"),
    };
    const struct tentry too_long[] = {
        ASCII(EXIF_TAG_MAKE, long_make),
        UNDEFINED(EXIF_TAG_MODEL, "Canon EOS 40D"),
    };
    const struct tentry embedded_nul[] = {
        {EXIF_TAG_MAKE, EXIF_FORMAT_ASCII, 12, "Canon\0junk!", {0}},
        {EXIF_TAG_MODEL, EXIF_FORMAT_ASCII, 3, "EOS", {0}},
    };
    struct tspec spec = SPEC_IFD0(padded);
    struct bp_exif_info info = read_spec(&spec);
    assert_string_equal(info.make, "NIKON CORPORATION");
    assert_string_equal(info.model,
                        "Caf\xc3\xa9 \xe2\x98\x95 \xf0\x9f\x93\xb7");

    spec = SPEC_IFD0(broken);
    info = read_spec(&spec);
    assert_string_equal(info.make, "");
    assert_string_equal(info.model, "");

    spec = SPEC_IFD0(overlong);
    info = read_spec(&spec);
    assert_string_equal(info.make, "");
    assert_string_equal(info.model, "");

    spec = SPEC_IFD0(too_long);
    info = read_spec(&spec);
    assert_string_equal(info.make, "");
    assert_string_equal(info.model, "");

    /* Text ends at the first NUL, or with the components. */
    spec = SPEC_IFD0(embedded_nul);
    info = read_spec(&spec);
    assert_string_equal(info.make, "Canon");
    assert_string_equal(info.model, "EOS");
}

static void test_bp_exif_read_orientation_checked(void **state)
{
    const struct tentry nine[] = {SHORTS(EXIF_TAG_ORIENTATION, 9)};
    const struct tentry zero[] = {SHORTS(EXIF_TAG_ORIENTATION, 0)};
    const struct tentry two[] = {SHORTS(EXIF_TAG_ORIENTATION, 3, 1)};
    const struct tentry text[] = {ASCII(EXIF_TAG_ORIENTATION, "3")};
    const struct tentry as_long[] = {LONGS(EXIF_TAG_ORIENTATION, 8)};
    struct tspec spec = SPEC_IFD0(nine);
    spec.big_endian = true;

    assert_int_equal(read_spec(&spec).orientation, 0);
    spec.ifd0 = zero;
    assert_int_equal(read_spec(&spec).orientation, 0);
    spec.ifd0 = two;
    assert_int_equal(read_spec(&spec).orientation, 0);
    spec.ifd0 = text;
    assert_int_equal(read_spec(&spec).orientation, 0);
    spec.ifd0 = as_long;
    assert_int_equal(read_spec(&spec).orientation, 8);
}

/* ---- bp_exif_taken_at ---- */

static void set(char *dst, size_t cap, const char *text)
{
    int n = snprintf(dst, cap, "%s", text);
    assert_true(n >= 0 && (size_t)n < cap);
}

/* An info with the given DateTimeOriginal, offset and GPS UTC time. */
static struct bp_exif_info taken_info(const char *original, const char *offset,
                                      const char *gps_utc)
{
    struct bp_exif_info info;
    memset(&info, 0, sizeof(info));
    set(info.date_time_original, sizeof(info.date_time_original), original);
    set(info.offset_time_original, sizeof(info.offset_time_original), offset);
    set(info.gps_utc, sizeof(info.gps_utc), gps_utc);
    return info;
}

static void expect_taken_at(const struct bp_exif_info *info, const char *want)
{
    char out[BP_EXIF_TAKEN_AT_LEN];
    memset(out, 'X', sizeof(out));
    bp_exif_taken_at(info, out);
    assert_string_equal(out, want);
}

static void test_bp_exif_taken_at_offset_original(void **state)
{
    struct bp_exif_info info =
        taken_info("2024-05-01T20:15:03", "+02:00", "2024-05-01T10:00:00Z");
    expect_taken_at(&info, "2024-05-01T20:15:03+02:00");
    info = taken_info("2024-05-01T20:15:03", "-09:30", "");
    expect_taken_at(&info, "2024-05-01T20:15:03-09:30");
}

static void test_bp_exif_taken_at_gps_implied_offset(void **state)
{
    static const struct {
        const char *local, *utc, *want;
    } cases[] = {
        {"2015-04-10T20:12:23", "2015-04-10T18:12:22Z",
         "2015-04-10T20:12:23+02:00"},
        {"2024-05-01T20:15:03", "2024-05-02T01:15:03Z",
         "2024-05-01T20:15:03-05:00"},
        {"2024-05-01T20:15:03", "2024-05-01T14:52:00Z",
         "2024-05-01T20:15:03+05:30"},
        {"2024-05-01T20:15:03", "2024-05-01T15:28:03Z",
         "2024-05-01T20:15:03+04:45"},
        {"2024-12-31T23:30:00", "2024-12-31T23:37:29Z",
         "2024-12-31T23:30:00+00:00"},
        {"2025-01-01T01:00:00", "2024-12-31T11:00:00Z",
         "2025-01-01T01:00:00+14:00"},
        {"2024-02-29T01:00:00", "2024-02-29T13:00:00Z",
         "2024-02-29T01:00:00-12:00"},
        /* More than 14 hours apart: a wrong clock, no offset. */
        {"2008-10-22T16:28:39", "2008-10-23T14:27:07Z", "2008-10-22T16:28:39"},
        {"2024-05-01T00:00:00", "2024-05-01T14:15:00Z", "2024-05-01T00:00:00"},
        /* An unreadable GPS time is ignored. */
        {"2024-05-01T20:15:03", "2024-05-01T18:15:03", "2024-05-01T20:15:03"},
        {"2024-05-01T20:15:03", "2024-05-01 18:15:03Z", "2024-05-01T20:15:03"},
    };
    for (size_t i = 0; i < N(cases); i++) {
        struct bp_exif_info info = taken_info(cases[i].local, "", cases[i].utc);
        expect_taken_at(&info, cases[i].want);
    }
}

static void test_bp_exif_taken_at_without_offset(void **state)
{
    struct bp_exif_info info = taken_info("2024-05-01T20:15:03", "", "");
    expect_taken_at(&info, "2024-05-01T20:15:03");
    info = taken_info("2024-05-01T20:15:03", "+2:00", "");
    expect_taken_at(&info, "2024-05-01T20:15:03");
}

static void test_bp_exif_taken_at_falls_back_to_date_time(void **state)
{
    struct bp_exif_info info = taken_info("", "+02:00", "2024-05-01T18:15:03Z");
    set(info.date_time, sizeof(info.date_time), "2024-05-02T08:00:00");
    expect_taken_at(&info, "2024-05-02T08:00:00");
    set(info.offset_time, sizeof(info.offset_time), "-03:00");
    expect_taken_at(&info, "2024-05-02T08:00:00-03:00");
    set(info.date_time_original, sizeof(info.date_time_original),
        "2024-02-30T08:00:00");
    expect_taken_at(&info, "2024-05-02T08:00:00-03:00");
}

static void test_bp_exif_taken_at_empty(void **state)
{
    struct bp_exif_info info;
    memset(&info, 0, sizeof(info));
    expect_taken_at(&info, "");
    info = taken_info("not a date", "+02:00", "2024-05-01T18:15:03Z");
    set(info.date_time, sizeof(info.date_time), "2024:05:02 08:00:00");
    expect_taken_at(&info, "");

    /* Fields without their NUL are read no further than their size. */
    memset(&info, '1', sizeof(info));
    expect_taken_at(&info, "");
}

static void test_bp_exif_taken_at_from_block(void **state)
{
    const struct tentry exif[] = {
        ASCII(EXIF_TAG_DATE_TIME_ORIGINAL, "2024:05:01 20:15:03"),
    };
    struct tspec spec = SPEC_EXIF(camera_ifd0, exif);
    spec.gps = paris_gps;
    spec.n_gps = N(paris_gps);
    struct bp_exif_info info = read_spec(&spec);
    expect_taken_at(&info, "2024-05-01T20:15:03+02:00");
}

/* ---- corpus: agreement with exiftool ---- */

/*
 * Where libexif cannot agree with exiftool. Each entry must match a real
 * difference, so the table cannot go stale.
 */
static const struct {
    const char *file, *field, *reason;
} corpus_exceptions[] = {
    {"jpg/tests/30-type_error.jpg", "datetime_original",
     "IFD0's ExifIFD pointer has format ASCII: exiftool refuses to follow "
     "it, libexif follows any pointer and does not expose its format"},
};

/* The state of one corpus comparison. */
struct corpus_run {
    json_object *expected; /* owned */
    size_t files, fields, matched, excused;
    int failures;
    bool exception_hit[N(corpus_exceptions)];
};

/* Counts one compared field and reports it unless it agrees or is excused. */
static void corpus_record(struct corpus_run *run, const char *file,
                          const char *field, bool same, const char *got,
                          const char *want)
{
    run->fields++;
    if (same) {
        run->matched++;
        return;
    }
    for (size_t i = 0; i < N(corpus_exceptions); i++) {
        if (strcmp(corpus_exceptions[i].file, file) == 0 &&
            strcmp(corpus_exceptions[i].field, field) == 0) {
            run->excused++;
            run->exception_hit[i] = true;
            return;
        }
    }
    run->failures++;
    print_message("# MISMATCH %s %s: got \"%s\", exiftool \"%s\"\n", file,
                  field, got, want);
}

/* The expected string of field, "" for null. */
static const char *expected_text(json_object *entry, const char *field)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(entry, field, &v) ||
        !json_object_is_type(v, json_type_string))
        return "";
    return json_object_get_string(v);
}

static void corpus_text(struct corpus_run *run, const char *file,
                        json_object *entry, const char *field, const char *got)
{
    const char *want = expected_text(entry, field);
    corpus_record(run, file, field, strcmp(got, want) == 0, got, want);
}

/* Compares a number that may be absent (has false, JSON null). */
static void corpus_number(struct corpus_run *run, const char *file,
                          json_object *entry, const char *field, bool has,
                          double got, double tolerance)
{
    json_object *v = NULL;
    bool want_has = json_object_object_get_ex(entry, field, &v) && v != NULL &&
                    (json_object_is_type(v, json_type_double) ||
                     json_object_is_type(v, json_type_int));
    double want = want_has ? json_object_get_double(v) : 0;
    char got_text[64] = "null", want_text[64] = "null";
    if (has)
        snprintf(got_text, sizeof(got_text), "%.9f", got);
    if (want_has)
        snprintf(want_text, sizeof(want_text), "%.9f", want);
    bool same = has == want_has &&
                (!has || (got - want <= tolerance && want - got <= tolerance));
    corpus_record(run, file, field, same, got_text, want_text);
}

/* exiftool's "2008:10:23 14:27:07.24Z" as "2008-10-23T14:27:07Z". */
static void expected_gps_utc(json_object *entry, char out[21])
{
    const char *text = expected_text(entry, "gps_datetime_utc");
    out[0] = '\0';
    if (strlen(text) < 19)
        return;
    memcpy(out, text, 19);
    out[4] = '-';
    out[7] = '-';
    out[10] = 'T';
    out[19] = 'Z';
    out[20] = '\0';
}

/* Reads a whole file into memory; the caller frees *data. */
static bool read_whole_file(const char *path, unsigned char **data, size_t *len)
{
    struct stat st;
    bool ok = false;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return false;
    if (fstat(fileno(f), &st) != 0 || st.st_size < 0 ||
        st.st_size > CORPUS_FILE_MAX)
        goto out_close;
    *len = (size_t)st.st_size;
    *data = malloc(*len > 0 ? *len : 1);
    if (*data == NULL)
        goto out_close;
    if (fread(*data, 1, *len, f) != *len) {
        free(*data);
        goto out_close;
    }
    ok = true;
out_close:
    fclose(f);
    return ok;
}

/* Reads one corpus file and compares it with exiftool's reading. */
static void corpus_check_file(struct corpus_run *run, const char *path,
                              const char *file)
{
    unsigned char *data;
    size_t len;
    struct bp_exif_info info;
    json_object *entry;
    char want_utc[21];

    if (!json_object_object_get_ex(run->expected, file, &entry) ||
        entry == NULL) {
        print_message("# MISSING %s has no expected entry\n", file);
        run->failures++;
        return;
    }
    if (!read_whole_file(path, &data, &len)) {
        print_message("# UNREADABLE %s\n", path);
        run->failures++;
        return;
    }
    enum bp_rc rc = bp_exif_read(data, len, &info, NULL);
    free(data);
    if (rc != BP_OK && rc != BP_ENOTFOUND) {
        print_message("# FAILED %s: %s\n", file, bp_rc_name(rc));
        run->failures++;
        return;
    }
    if (rc == BP_ENOTFOUND)
        memset(&info, 0, sizeof(info));
    run->files++;

    const struct bp_exif_coords *c = &info.coords;
    corpus_number(run, file, entry, "gps_latitude", c->has_position,
                  c->latitude, 1e-6);
    corpus_number(run, file, entry, "gps_longitude", c->has_position,
                  c->longitude, 1e-6);
    corpus_number(run, file, entry, "gps_altitude", c->has_altitude,
                  c->altitude, 1e-3);
    corpus_number(run, file, entry, "orientation", info.orientation != 0,
                  info.orientation, 0);
    corpus_text(run, file, entry, "datetime_original", info.date_time_original);
    corpus_text(run, file, entry, "offset_time_original",
                info.offset_time_original);
    corpus_text(run, file, entry, "subsec_time_original",
                info.subsec_time_original);
    corpus_text(run, file, entry, "make", info.make);
    corpus_text(run, file, entry, "model", info.model);
    expected_gps_utc(entry, want_utc);
    corpus_record(run, file, "gps_datetime_utc",
                  strcmp(info.gps_utc, want_utc) == 0, info.gps_utc, want_utc);
}

static bool is_jpeg_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot != NULL &&
           (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0);
}

/* Compares one corpus file when it is a JPEG (the walk's visitor). */
static void corpus_visit(void *user, const char *path, const char *rel)
{
    const char *name = strrchr(rel, '/');
    if (is_jpeg_name(name != NULL ? name + 1 : rel))
        corpus_check_file(user, path, rel);
}

static void test_bp_exif_read_corpus_matches_exiftool(void **state)
{
    char dir[PATH_MAX], samples[PATH_MAX], expected[PATH_MAX];
    struct corpus_run run;

    if (!bp_test_corpus_find(dir, sizeof(dir))) {
        print_message("# exif corpus not found at %s (set BANDPICS_CORPUS): "
                      "corpus comparison not run\n",
                      dir);
        return;
    }
    int n = snprintf(samples, sizeof(samples), "%s/exif-samples", dir);
    int m = snprintf(expected, sizeof(expected),
                     "%s/exif-samples.expected.json", dir);
    assert_true(n >= 0 && (size_t)n < sizeof(samples));
    assert_true(m >= 0 && (size_t)m < sizeof(expected));
    memset(&run, 0, sizeof(run));
    run.expected = json_object_from_file(expected);
    assert_non_null(run.expected);

    run.failures += (int)bp_test_corpus_walk(samples, "", corpus_visit, &run);
    json_object_put(run.expected);

    print_message("# exif corpus %s: %zu JPEG files, %zu fields compared, "
                  "%zu agree, %zu known exceptions\n",
                  dir, run.files, run.fields, run.matched, run.excused);
    for (size_t i = 0; i < N(corpus_exceptions); i++) {
        if (run.exception_hit[i])
            print_message("# exception %s %s: %s\n", corpus_exceptions[i].file,
                          corpus_exceptions[i].field,
                          corpus_exceptions[i].reason);
        else
            print_message("# STALE exception %s %s: they agree now\n",
                          corpus_exceptions[i].file,
                          corpus_exceptions[i].field);
        assert_true(run.exception_hit[i]);
    }
    assert_true(run.files > 0);
    assert_int_equal(run.failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bp_exif_read_little_endian_block),
        cmocka_unit_test(test_bp_exif_read_big_endian_block),
        cmocka_unit_test(test_bp_exif_read_raw_tiff_block),
        cmocka_unit_test(test_bp_exif_read_jpeg_segments),
        cmocka_unit_test(test_bp_exif_read_no_exif),
        cmocka_unit_test(test_bp_exif_read_truncated_block),
        cmocka_unit_test(test_bp_exif_read_gps_zero_denominator),
        cmocka_unit_test(test_bp_exif_read_gps_missing_ref),
        cmocka_unit_test(test_bp_exif_read_gps_south_west),
        cmocka_unit_test(test_bp_exif_read_gps_below_sea_level),
        cmocka_unit_test(test_bp_exif_read_gps_wrong_formats),
        cmocka_unit_test(test_bp_exif_read_gps_out_of_range),
        cmocka_unit_test(test_bp_exif_read_gps_only_from_gps_ifd),
        cmocka_unit_test(test_bp_exif_read_dates_validated),
        cmocka_unit_test(test_bp_exif_read_offset_and_subsec),
        cmocka_unit_test(test_bp_exif_read_text_cleaned),
        cmocka_unit_test(test_bp_exif_read_orientation_checked),
        cmocka_unit_test(test_bp_exif_taken_at_offset_original),
        cmocka_unit_test(test_bp_exif_taken_at_gps_implied_offset),
        cmocka_unit_test(test_bp_exif_taken_at_without_offset),
        cmocka_unit_test(test_bp_exif_taken_at_falls_back_to_date_time),
        cmocka_unit_test(test_bp_exif_taken_at_empty),
        cmocka_unit_test(test_bp_exif_taken_at_from_block),
        cmocka_unit_test(test_bp_exif_read_corpus_matches_exiftool),
    };
    return cmocka_run_group_tests_name("exif_read", tests, NULL, NULL);
}
