/*
 * test_image_proc.c: accepting, refusing and resizing images generated
 * here with MagickWand and libexif (orientation, transparency, metadata
 * stripping, truncation, a decompression bomb, unsupported formats), and
 * processing every file of the shared corpus of real camera images, with
 * their size and the EXIF of TIFF/HEIC/HEIF files checked against what
 * exiftool reads, when that corpus is present.
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <libexif/exif-data.h>
#include <wand/MagickWand.h>
#include <zlib.h>

#include "corpus.h"
#include "media/image_proc.h"

#define N(array) (sizeof(array) / sizeof((array)[0]))

/* Output files larger than this are not read back. */
#define OUTPUT_MAX (32L * 1024 * 1024)

/* The configuration's defaults. */
static const struct bp_image_limits test_limits = {
    .max_pixels = 100L * 1000 * 1000,
    .max_edge = 65500,
    .memory_bytes = 1024L * 1024 * 1024,
};

/* A scratch directory and the paths used in it. */
struct fixture {
    char dir[64];
    char input[96];
    char fullsize[96];
    char thumb[96];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/bp-test-image-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->input, sizeof(f->input), "%s/upload", f->dir);
    snprintf(f->fullsize, sizeof(f->fullsize), "%s/fullsize.jpg", f->dir);
    snprintf(f->thumb, sizeof(f->thumb), "%s/thumb.jpg", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static int group_setup(void **state)
{
    MagickWandGenesis();
    bp_image_setup(&test_limits);
    return 0;
}

static int group_teardown(void **state)
{
    MagickWandTerminus();
    return 0;
}

/* ---- helpers ---- */

static void write_bytes(const char *path, const void *bytes, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Reads a whole file; the caller frees *data. */
static bool read_bytes(const char *path, unsigned char **data, size_t *len)
{
    struct stat st;
    bool ok = false;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return false;
    if (fstat(fileno(f), &st) != 0 || st.st_size < 0 || st.st_size > OUTPUT_MAX)
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

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* A new wand holding one w x h image of color. */
static MagickWand *solid_image(size_t w, size_t h, const char *color)
{
    MagickWand *wand = NewMagickWand();
    PixelWand *pixel = NewPixelWand();
    assert_non_null(wand);
    assert_non_null(pixel);
    assert_true(PixelSetColor(pixel, color));
    assert_true(MagickNewImage(wand, w, h, pixel));
    DestroyPixelWand(pixel);
    return wand;
}

/* Encodes the wand's image as format into path; returns its size. */
static size_t save_image(MagickWand *wand, const char *format, const char *path)
{
    size_t len = 0;
    assert_true(MagickSetImageFormat(wand, format));
    unsigned char *blob = MagickGetImageBlob(wand, &len);
    assert_non_null(blob);
    write_bytes(path, blob, len);
    MagickRelinquishMemory(blob);
    return len;
}

/* A wand whose left half is red and right half blue, w x h. */
static MagickWand *red_blue_image(size_t w, size_t h)
{
    MagickWand *halves = solid_image(w / 2, h, "red");
    MagickWand *blue = solid_image(w / 2, h, "blue");
    assert_true(MagickAddImage(halves, blue));
    DestroyMagickWand(blue);
    MagickResetIterator(halves);
    MagickWand *joined = MagickAppendImages(halves, MagickFalse);
    assert_non_null(joined);
    DestroyMagickWand(halves);
    return joined;
}

/* Pings path as coder and returns its size. */
static void ping_size(const char *coder, const char *path, size_t *w, size_t *h)
{
    char name[PATH_MAX];
    snprintf(name, sizeof(name), "%s:%s", coder, path);
    MagickWand *wand = NewMagickWand();
    assert_true(MagickPingImage(wand, name));
    *w = MagickGetImageWidth(wand);
    *h = MagickGetImageHeight(wand);
    DestroyMagickWand(wand);
}

/* Fails unless path is a JPEG of w x h. */
static void assert_jpeg_size(const char *path, size_t w, size_t h)
{
    unsigned char *data;
    size_t len, got_w, got_h;
    assert_true(read_bytes(path, &data, &len));
    assert_true(len > 3 && memcmp(data, "\xff\xd8\xff", 3) == 0);
    free(data);
    ping_size("JPEG", path, &got_w, &got_h);
    assert_int_equal(got_w, w);
    assert_int_equal(got_h, h);
}

/* True when len bytes at data contain the needle. */
static bool contains(const unsigned char *data, size_t len, const void *needle,
                     size_t needle_len)
{
    return memmem(data, len, needle, needle_len) != NULL;
}

/* Fails if the JPEG at path carries EXIF, XMP, GPS or a comment. */
static void assert_no_metadata(const char *path)
{
    unsigned char *data;
    size_t len;
    assert_true(read_bytes(path, &data, &len));
    assert_false(contains(data, len, "Exif\0\0", 6));
    assert_false(contains(data, len, "http://ns.adobe.com/xap", 23));
    assert_false(contains(data, len, "\xff\xfe", 2)); /* COM segment */
    free(data);
}

/* The color at (x, y) of the JPEG at path, as 0..255 components. */
static void pixel_at(const char *path, size_t x, size_t y, int rgb[3])
{
    char name[PATH_MAX];
    snprintf(name, sizeof(name), "JPEG:%s", path);
    MagickWand *wand = NewMagickWand();
    PixelWand *pixel = NewPixelWand();
    assert_true(MagickReadImage(wand, name));
    assert_true(MagickGetImagePixelColor(wand, (ssize_t)x, (ssize_t)y, pixel));
    rgb[0] = (int)(PixelGetRed(pixel) * 255 + 0.5);
    rgb[1] = (int)(PixelGetGreen(pixel) * 255 + 0.5);
    rgb[2] = (int)(PixelGetBlue(pixel) * 255 + 0.5);
    DestroyPixelWand(pixel);
    DestroyMagickWand(wand);
}

static void assert_color_near(const int rgb[3], int r, int g, int b)
{
    assert_true(abs(rgb[0] - r) <= 40);
    assert_true(abs(rgb[1] - g) <= 40);
    assert_true(abs(rgb[2] - b) <= 40);
}

/* Processes f->input and expects rc and no output file. */
static void expect_refused(const struct fixture *f, enum bp_rc want,
                           const char *detail)
{
    struct bp_image_meta meta;
    struct bp_error err = {{0}};
    memset(&meta, 0x5a, sizeof(meta));
    struct bp_image_meta before = meta;
    enum bp_rc rc = bp_image_process(f->input, &test_limits, f->fullsize,
                                     f->thumb, &meta, &err);
    assert_int_equal(rc, want);
    assert_string_equal(err.detail, detail);
    assert_memory_equal(&meta, &before, sizeof(meta));
    assert_false(exists(f->fullsize));
    assert_false(exists(f->thumb));
}

/* Adds an entry of n values of format to ifd; returns it for filling. */
static ExifEntry *add_entry(ExifData *ed, ExifIfd ifd, ExifTag tag,
                            ExifFormat format, unsigned long n)
{
    ExifMem *mem = exif_mem_new_default();
    ExifEntry *e = exif_entry_new_mem(mem);
    assert_non_null(e);
    e->tag = tag;
    e->format = format;
    e->components = n;
    e->size = exif_format_get_size(format) * n;
    e->data = exif_mem_alloc(mem, e->size);
    assert_non_null(e->data);
    exif_content_add_entry(ed->ifd[ifd], e);
    exif_entry_unref(e);
    exif_mem_unref(mem);
    return e;
}

static void set_text(ExifData *ed, ExifIfd ifd, ExifTag tag, const char *text)
{
    ExifEntry *e = add_entry(ed, ifd, tag, EXIF_FORMAT_ASCII, strlen(text) + 1);
    memcpy(e->data, text, strlen(text) + 1);
}

/* Sets a degrees, minutes, seconds (x100) GPS coordinate. */
static void set_dms(ExifData *ed, ExifTag tag, unsigned d, unsigned m,
                    unsigned s100)
{
    ExifEntry *e = add_entry(ed, EXIF_IFD_GPS, tag, EXIF_FORMAT_RATIONAL, 3);
    ExifByteOrder order = exif_data_get_byte_order(ed);
    exif_set_rational(e->data, order, (ExifRational){d, 1});
    exif_set_rational(e->data + 8, order, (ExifRational){m, 1});
    exif_set_rational(e->data + 16, order, (ExifRational){s100, 100});
}

/*
 * An "Exif\0\0" block with Orientation 6, DateTimeOriginal and a GPS fix
 * of 33°51'36" S 151°12'36" E (Sydney); the caller frees *block.
 */
static void camera_exif(unsigned char **block, unsigned int *len)
{
    ExifData *ed = exif_data_new();
    assert_non_null(ed);
    exif_data_set_byte_order(ed, EXIF_BYTE_ORDER_INTEL);
    ExifEntry *o =
        add_entry(ed, EXIF_IFD_0, EXIF_TAG_ORIENTATION, EXIF_FORMAT_SHORT, 1);
    exif_set_short(o->data, EXIF_BYTE_ORDER_INTEL, 6);
    set_text(ed, EXIF_IFD_EXIF, EXIF_TAG_DATE_TIME_ORIGINAL,
             "2024:05:01 20:15:03");
    set_text(ed, EXIF_IFD_EXIF, EXIF_TAG_OFFSET_TIME_ORIGINAL, "+10:00");
    set_text(ed, EXIF_IFD_GPS, EXIF_TAG_GPS_LATITUDE_REF, "S");
    set_dms(ed, EXIF_TAG_GPS_LATITUDE, 33, 51, 3600);
    set_text(ed, EXIF_IFD_GPS, EXIF_TAG_GPS_LONGITUDE_REF, "E");
    set_dms(ed, EXIF_TAG_GPS_LONGITUDE, 151, 12, 3600);
    exif_data_save_data(ed, block, len);
    assert_non_null(*block);
    assert_true(*len > 6 && *len < 65000);
    exif_data_unref(ed);
}

/* Writes the JPEG of wand to path with block as an APP1 after SOI. */
static void save_jpeg_with_app1(MagickWand *wand, const unsigned char *block,
                                size_t block_len, const char *path)
{
    size_t len = 0;
    assert_true(MagickSetImageFormat(wand, "JPEG"));
    unsigned char *jpeg = MagickGetImageBlob(wand, &len);
    assert_non_null(jpeg);
    assert_true(len > 2 && block_len + 2 <= 0xffff);
    unsigned char *out = malloc(len + block_len + 4);
    assert_non_null(out);
    memcpy(out, jpeg, 2);
    out[2] = 0xff;
    out[3] = 0xe1;
    out[4] = (unsigned char)((block_len + 2) >> 8);
    out[5] = (unsigned char)(block_len + 2);
    memcpy(out + 6, block, block_len);
    memcpy(out + 6 + block_len, jpeg + 2, len - 2);
    write_bytes(path, out, len + block_len + 4);
    free(out);
    MagickRelinquishMemory(jpeg);
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Appends a PNG chunk with its CRC at *at. */
static void put_chunk(unsigned char *out, size_t cap, size_t *at,
                      const char *type, const unsigned char *data, size_t len)
{
    assert_true(*at + 12 + len <= cap);
    put_be32(out + *at, (uint32_t)len);
    memcpy(out + *at + 4, type, 4);
    if (len > 0)
        memcpy(out + *at + 8, data, len);
    uLong crc = crc32(0L, out + *at + 4, (uInt)(4 + len));
    put_be32(out + *at + 8 + len, (uint32_t)crc);
    *at += 12 + len;
}

/* Writes a PNG whose IHDR declares w x h RGB pixels, with a tiny IDAT. */
static void write_png_header_only(const char *path, uint32_t w, uint32_t h)
{
    static const unsigned char idat[] = {0x78, 0x9c, 0x63, 0x00,
                                         0x00, 0x00, 0x01, 0x00};
    unsigned char png[128], ihdr[13] = {0};
    size_t len = 0;
    memcpy(png, "\x89PNG\r\n\x1a\n", 8);
    len = 8;
    put_be32(ihdr, w);
    put_be32(ihdr + 4, h);
    ihdr[8] = 8; /* bit depth */
    ihdr[9] = 2; /* RGB */
    put_chunk(png, sizeof(png), &len, "IHDR", ihdr, sizeof(ihdr));
    put_chunk(png, sizeof(png), &len, "IDAT", idat, sizeof(idat));
    put_chunk(png, sizeof(png), &len, "IEND", NULL, 0);
    write_bytes(path, png, len);
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) +
           (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* ---- bp_image_process: accepted images ---- */

static void test_bp_image_process_png_transparent(void **state)
{
    struct fixture *f = *state;
    struct bp_image_meta meta;
    struct bp_error err = {{0}};
    MagickWand *wand = solid_image(640, 480, "transparent");
    save_image(wand, "PNG", f->input);
    DestroyMagickWand(wand);

    assert_int_equal(bp_image_process(f->input, &test_limits, f->fullsize,
                                      f->thumb, &meta, &err),
                     BP_OK);
    assert_int_equal(meta.format, BP_IMAGE_PNG);
    assert_int_equal(meta.width, 640);
    assert_int_equal(meta.height, 480);
    assert_false(meta.has_exif);
    assert_jpeg_size(f->fullsize, 640, 480); /* never upscaled */
    assert_jpeg_size(f->thumb, 300, 225);
    int rgb[3];
    pixel_at(f->thumb, 150, 112, rgb);
    assert_color_near(rgb, 255, 255, 255);
    assert_no_metadata(f->fullsize);
    assert_no_metadata(f->thumb);
}

static void test_bp_image_process_jpeg_orientation_6(void **state)
{
    struct fixture *f = *state;
    struct bp_image_meta meta;
    struct bp_error err = {{0}};
    unsigned char *block;
    unsigned int block_len;
    camera_exif(&block, &block_len);
    MagickWand *wand = red_blue_image(800, 400);
    save_jpeg_with_app1(wand, block, block_len, f->input);
    DestroyMagickWand(wand);
    free(block);

    assert_int_equal(bp_image_process(f->input, &test_limits, f->fullsize,
                                      f->thumb, &meta, &err),
                     BP_OK);
    assert_int_equal(meta.format, BP_IMAGE_JPEG);
    assert_int_equal(meta.width, 800); /* as stored, not as shown */
    assert_int_equal(meta.height, 400);
    assert_true(meta.has_exif);
    assert_int_equal(meta.exif.orientation, 6);
    assert_string_equal(meta.exif.date_time_original, "2024-05-01T20:15:03");
    assert_string_equal(meta.exif.offset_time_original, "+10:00");
    assert_true(meta.exif.coords.has_position);
    assert_float_equal(meta.exif.coords.latitude,
                       -(33 + 51 / 60.0 + 36 / 3600.0), 1e-9);
    assert_float_equal(meta.exif.coords.longitude,
                       151 + 12 / 60.0 + 36 / 3600.0, 1e-9);

    /* Rotated a quarter turn clockwise: the left (red) half is on top. */
    assert_jpeg_size(f->fullsize, 400, 800);
    assert_jpeg_size(f->thumb, 150, 300);
    int rgb[3];
    pixel_at(f->thumb, 75, 40, rgb);
    assert_color_near(rgb, 255, 0, 0);
    pixel_at(f->thumb, 75, 260, rgb);
    assert_color_near(rgb, 0, 0, 255);
    assert_no_metadata(f->fullsize);
    assert_no_metadata(f->thumb);
}

static void test_bp_image_process_large_jpeg_fits(void **state)
{
    struct fixture *f = *state;
    struct bp_image_meta meta;
    struct bp_error err = {{0}};
    /* 24 MP: ImageMagick's 256 MiB policy would not hold two copies. */
    MagickWand *wand = solid_image(6000, 4000, "orange");
    save_image(wand, "JPEG", f->input);
    DestroyMagickWand(wand);

    assert_int_equal(bp_image_process(f->input, &test_limits, f->fullsize,
                                      f->thumb, &meta, &err),
                     BP_OK);
    assert_int_equal(meta.width, 6000);
    assert_int_equal(meta.height, 4000);
    assert_jpeg_size(f->fullsize, 2880, 1920);
    assert_jpeg_size(f->thumb, 300, 200);
}

/* A fake RGB ICC profile: only its header matters to the code. */
static void fake_icc(unsigned char icc[132])
{
    memset(icc, 0, 132);
    put_be32(icc, 132);
    memcpy(icc + 12, "mntr", 4);
    memcpy(icc + 16, "RGB ", 4);
    memcpy(icc + 20, "XYZ ", 4);
    memcpy(icc + 36, "acsp", 4);
}

static void test_bp_image_process_keeps_only_icc(void **state)
{
    struct fixture *f = *state;
    struct bp_image_meta meta;
    struct bp_error err = {{0}};
    static const char xmp[] =
        "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF "
        "xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"/>"
        "</x:xmpmeta>";
    unsigned char icc[132];
    unsigned char *block;
    unsigned int block_len;
    fake_icc(icc);
    camera_exif(&block, &block_len);
    MagickWand *wand = solid_image(64, 48, "green");
    assert_true(MagickSetImageProfile(wand, "icc", icc, sizeof(icc)));
    assert_true(MagickSetImageProfile(wand, "xmp", xmp, sizeof(xmp) - 1));
    assert_true(MagickCommentImage(wand, "secret backstage"));
    save_jpeg_with_app1(wand, block, block_len, f->input);
    DestroyMagickWand(wand);
    free(block);

    unsigned char *data;
    size_t len;
    assert_true(read_bytes(f->input, &data, &len));
    assert_true(contains(data, len, "ICC_PROFILE", 11));
    assert_true(contains(data, len, "http://ns.adobe.com/xap", 23));
    assert_true(contains(data, len, "secret backstage", 16));
    free(data);

    assert_int_equal(bp_image_process(f->input, &test_limits, f->fullsize,
                                      f->thumb, &meta, &err),
                     BP_OK);
    assert_true(meta.has_exif);
    const char *outputs[] = {f->fullsize, f->thumb};
    for (size_t i = 0; i < N(outputs); i++) {
        assert_no_metadata(outputs[i]);
        assert_true(read_bytes(outputs[i], &data, &len));
        assert_true(contains(data, len, "ICC_PROFILE", 11));
        assert_false(contains(data, len, "secret backstage", 16));
        free(data);
    }
}

/* Writes the PNG of wand to path with an eXIf chunk (a bare TIFF block). */
static void save_png_with_exif(MagickWand *wand, const unsigned char *tiff,
                               size_t tiff_len, const char *path)
{
    size_t len = 0, at = 0;
    assert_true(MagickSetImageFormat(wand, "PNG"));
    unsigned char *png = MagickGetImageBlob(wand, &len);
    assert_non_null(png);
    assert_true(len > 33 && memcmp(png + 12, "IHDR", 4) == 0);
    size_t cap = len + tiff_len + 12;
    unsigned char *out = malloc(cap);
    assert_non_null(out);
    memcpy(out, png, 33); /* signature and IHDR */
    at = 33;
    put_chunk(out, cap, &at, "eXIf", tiff, tiff_len);
    memcpy(out + at, png + 33, len - 33);
    write_bytes(path, out, at + len - 33);
    free(out);
    MagickRelinquishMemory(png);
}

static void test_bp_image_process_png_exif_chunk(void **state)
{
    struct fixture *f = *state;
    struct bp_image_meta meta;
    struct bp_error err = {{0}};
    unsigned char *block;
    unsigned int block_len;
    camera_exif(&block, &block_len);
    MagickWand *wand = solid_image(40, 30, "white");
    save_png_with_exif(wand, block + 6, block_len - 6, f->input);
    DestroyMagickWand(wand);
    free(block);

    assert_int_equal(bp_image_process(f->input, &test_limits, f->fullsize,
                                      f->thumb, &meta, &err),
                     BP_OK);
    assert_int_equal(meta.format, BP_IMAGE_PNG);
    assert_true(meta.has_exif);
    assert_string_equal(meta.exif.date_time_original, "2024-05-01T20:15:03");
    assert_true(meta.exif.coords.has_position);
    assert_float_equal(meta.exif.coords.latitude,
                       -(33 + 51 / 60.0 + 36 / 3600.0), 1e-9);
    /* Orientation 6 applies to a PNG too. */
    assert_jpeg_size(f->fullsize, 30, 40);
    assert_no_metadata(f->fullsize);
}

/* ---- bp_image_process: refused images ---- */

static void test_bp_image_process_truncated_jpeg(void **state)
{
    struct fixture *f = *state;
    MagickWand *wand = solid_image(600, 400, "gray");
    assert_true(MagickAddNoiseImage(wand, GaussianNoise));
    size_t len = save_image(wand, "JPEG", f->input);
    DestroyMagickWand(wand);
    assert_int_equal(truncate(f->input, (off_t)(len / 2)), 0);
    expect_refused(f, BP_EINVAL, "Image is truncated or corrupt");
}

static void test_bp_image_process_corrupt_png(void **state)
{
    struct fixture *f = *state;
    write_png_header_only(f->input, 64, 64); /* IDAT far too short */
    expect_refused(f, BP_EINVAL, "Image is truncated or corrupt");
}

static void test_bp_image_process_unsupported(void **state)
{
    struct fixture *f = *state;
    static const char *const texts[] = {
        "",
        "hello, this is not an image\n",
        "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n",
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" "
        "height=\"10\"/>",
        "push graphic-context\nviewbox 0 0 10 10\npop graphic-context\n",
    };
    for (size_t i = 0; i < N(texts); i++) {
        write_bytes(f->input, texts[i], strlen(texts[i]));
        expect_refused(f, BP_EUNSUPPORTED, "Unsupported image format");
    }
    MagickWand *wand = solid_image(16, 16, "red");
    save_image(wand, "GIF", f->input);
    expect_refused(f, BP_EUNSUPPORTED, "Unsupported image format");
    save_image(wand, "BMP", f->input);
    expect_refused(f, BP_EUNSUPPORTED, "Unsupported image format");
    DestroyMagickWand(wand);
}

static void test_bp_image_process_decompression_bomb(void **state)
{
    struct fixture *f = *state;
    struct timespec start;

    write_png_header_only(f->input, 100000, 100000);
    clock_gettime(CLOCK_MONOTONIC, &start);
    expect_refused(f, BP_ETOOBIG,
                   "Image is too large: 100000x100000 pixels, at most 65500 "
                   "pixels a side");
    double took = seconds_since(&start);
    print_message("# 100000x100000 PNG refused in %.1f ms\n", took * 1000);
    assert_true(took < 1.0);

    /* Within the edge limit, over the pixel limit. */
    write_png_header_only(f->input, 12000, 10000);
    clock_gettime(CLOCK_MONOTONIC, &start);
    expect_refused(f, BP_ETOOBIG,
                   "Image is too large: 120000000 pixels, at most 100000000");
    took = seconds_since(&start);
    print_message("# 12000x10000 PNG refused in %.1f ms\n", took * 1000);
    assert_true(took < 1.0);
}

static void test_bp_image_process_removes_outputs_on_failure(void **state)
{
    struct fixture *f = *state;
    struct bp_image_meta meta;
    struct bp_error err = {{0}};
    char thumb[160];
    MagickWand *wand = solid_image(320, 200, "blue");
    save_image(wand, "PNG", f->input);
    DestroyMagickWand(wand);

    /* The thumb cannot be written: the fullsize goes too. */
    snprintf(thumb, sizeof(thumb), "%s/missing/thumb.jpg", f->dir);
    assert_int_equal(bp_image_process(f->input, &test_limits, f->fullsize,
                                      thumb, &meta, &err),
                     BP_EIO);
    assert_string_equal(err.detail, "Cannot write a gallery image");
    assert_false(exists(f->fullsize));
    assert_false(exists(thumb));

    /* An input that does not exist. */
    unlink(f->input);
    expect_refused(f, BP_EIO, "Cannot read the image");
}

/* ---- corpus: every real camera file processes, with exiftool's values ---- */

#define TIFF_IFD0_LATE                                                         \
    "IFD0 lies past the first 64 KiB of the file (ImageMagick 6 gives no "     \
    "exif profile for TIFF, and bp_exif_read reads at most 65534 bytes of a "  \
    "raw TIFF block, libexif's limit)"

/*
 * Where bp_image_process cannot agree with exiftool, with the reason.
 * Each entry must match a real difference, so the table cannot go stale.
 */
static const struct {
    const char *file, *field, *reason;
} corpus_exceptions[] = {
    {"tiff/BSG1.tiff", "orientation", TIFF_IFD0_LATE},
    {"tiff/DudleyLeavittUtah.tiff", "orientation", TIFF_IFD0_LATE},
    {"tiff/Rudless.tiff", "orientation", TIFF_IFD0_LATE},
};

/*
 * Files exiftool reads (it reads metadata only) that bp_image_process
 * refuses, with the reason. Each must be refused, so the list cannot go
 * stale.
 */
static const struct {
    const char *file, *reason;
} corpus_refused[] = {
    {"jpg/corrupted.jpg",
     "its scan data is corrupt from row 312 on and ends before the declared "
     "3648x2736 are covered (libjpeg: premature end of data segment): "
     "refused as truncated, not stored with grey rows"},
};

/* The state of one corpus run. */
struct corpus_run {
    const struct fixture *fixture;
    json_object *expected; /* owned */
    size_t files, dims_ok, exif_files, fields, matched, excused;
    int failures;
    bool exception_hit[N(corpus_exceptions)];
    bool refused_hit[N(corpus_refused)];
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
    print_message("# MISMATCH %s %s: got \"%s\", want \"%s\"\n", file, field,
                  got, want);
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

/* Whether entry has a number under field, into *out. */
static bool expected_number(json_object *entry, const char *field, double *out)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(entry, field, &v) || v == NULL ||
        !(json_object_is_type(v, json_type_double) ||
          json_object_is_type(v, json_type_int)))
        return false;
    *out = json_object_get_double(v);
    return true;
}

static void corpus_text(struct corpus_run *run, const char *file,
                        const char *field, const char *got, const char *want)
{
    corpus_record(run, file, field, strcmp(got, want) == 0, got, want);
}

/* Compares numbers that may be absent (has false). */
static void corpus_number(struct corpus_run *run, const char *file,
                          const char *field, bool has, double got,
                          bool want_has, double want, double tolerance)
{
    char got_text[64] = "null", want_text[64] = "null";
    if (has)
        snprintf(got_text, sizeof(got_text), "%.9f", got);
    if (want_has)
        snprintf(want_text, sizeof(want_text), "%.9f", want);
    bool same = has == want_has &&
                (!has || (got - want <= tolerance && want - got <= tolerance));
    corpus_record(run, file, field, same, got_text, want_text);
}

/* Compares the fields of got with exiftool's reading in entry. */
static void corpus_exif_vs_exiftool(struct corpus_run *run, const char *file,
                                    json_object *entry,
                                    const struct bp_exif_info *got)
{
    double want;
    bool has;
    const struct bp_exif_coords *c = &got->coords;
    has = expected_number(entry, "gps_latitude", &want);
    corpus_number(run, file, "gps_latitude", c->has_position, c->latitude, has,
                  want, 1e-6);
    has = expected_number(entry, "gps_longitude", &want);
    corpus_number(run, file, "gps_longitude", c->has_position, c->longitude,
                  has, want, 1e-6);
    has = expected_number(entry, "gps_altitude", &want);
    corpus_number(run, file, "gps_altitude", c->has_altitude, c->altitude, has,
                  want, 1e-3);
    has = expected_number(entry, "orientation", &want);
    corpus_number(run, file, "orientation", got->orientation != 0,
                  got->orientation, has, want, 0);
    corpus_text(run, file, "datetime_original", got->date_time_original,
                expected_text(entry, "datetime_original"));
    corpus_text(run, file, "offset_time_original", got->offset_time_original,
                expected_text(entry, "offset_time_original"));
}

/*
 * For a JPEG, the EXIF read from the file's bounded head must equal what
 * bp_exif_read finds in the whole file (its agreement with exiftool is
 * test_exif_read's business).
 */
static void corpus_exif_vs_whole_file(struct corpus_run *run, const char *path,
                                      const char *file,
                                      const struct bp_image_meta *meta)
{
    unsigned char *data;
    size_t len;
    struct bp_exif_info whole;
    if (!read_bytes(path, &data, &len)) {
        run->failures++;
        return;
    }
    memset(&whole, 0, sizeof(whole));
    bool has = bp_exif_read(data, len, &whole, NULL) == BP_OK;
    free(data);
    bool same = has == meta->has_exif &&
                (!has || memcmp(&whole, &meta->exif, sizeof(whole)) == 0);
    corpus_record(run, file, "exif_from_head", same, same ? "same" : "other",
                  "bp_exif_read of the whole file");
}

/* Fails the run unless an output fits edge and carries no EXIF. */
static void corpus_check_output(struct corpus_run *run, const char *file,
                                const char *path, size_t edge)
{
    unsigned char *data;
    size_t len, w, h;
    if (!read_bytes(path, &data, &len)) {
        print_message("# %s: no output %s\n", file, path);
        run->failures++;
        return;
    }
    bool clean = !contains(data, len, "Exif\0\0", 6);
    free(data);
    ping_size("JPEG", path, &w, &h);
    if (!clean || w > edge || h > edge) {
        print_message("# %s: output %zux%zu, exif %d\n", file, w, h, !clean);
        run->failures++;
    }
}

/* Processes one corpus file and compares it with exiftool's reading. */
static void corpus_check_file(struct corpus_run *run, const char *path,
                              const char *file)
{
    const struct fixture *f = run->fixture;
    struct bp_image_meta meta;
    struct bp_error err = {{0}};
    json_object *entry;
    double want_w = 0, want_h = 0;

    if (!json_object_object_get_ex(run->expected, file, &entry) ||
        entry == NULL) {
        print_message("# MISSING %s has no expected entry\n", file);
        run->failures++;
        return;
    }
    /* The outputs must be new files: clear the previous file's. */
    unlink(f->fullsize);
    unlink(f->thumb);
    enum bp_rc rc = bp_image_process(path, &test_limits, f->fullsize, f->thumb,
                                     &meta, &err);
    for (size_t i = 0; i < N(corpus_refused); i++) {
        if (strcmp(corpus_refused[i].file, file) != 0)
            continue;
        if (rc == BP_EINVAL) {
            run->refused_hit[i] = true;
            return;
        }
        print_message("# NOT REFUSED %s (%s): %s\n", file, bp_rc_name(rc),
                      corpus_refused[i].reason);
        run->failures++;
        return;
    }
    if (rc != BP_OK) {
        print_message("# FAILED %s: %s: %s\n", file, bp_rc_name(rc),
                      err.detail);
        run->failures++;
        return;
    }
    run->files++;
    corpus_check_output(run, file, f->fullsize, BP_IMAGE_FULLSIZE_EDGE);
    corpus_check_output(run, file, f->thumb, BP_IMAGE_THUMB_EDGE);

    char got_dims[48], want_dims[48];
    bool has_w = expected_number(entry, "width", &want_w);
    bool has_h = expected_number(entry, "height", &want_h);
    snprintf(got_dims, sizeof(got_dims), "%ldx%ld", meta.width, meta.height);
    snprintf(want_dims, sizeof(want_dims), "%.0fx%.0f", want_w, want_h);
    bool dims_same = has_w && has_h && (double)meta.width == want_w &&
                     (double)meta.height == want_h;
    run->dims_ok += dims_same;
    corpus_record(run, file, "dimensions", dims_same, got_dims, want_dims);

    if (meta.format == BP_IMAGE_JPEG) {
        corpus_exif_vs_whole_file(run, path, file, &meta);
        return;
    }
    struct bp_exif_info none;
    memset(&none, 0, sizeof(none));
    run->exif_files++;
    corpus_exif_vs_exiftool(run, file, entry,
                            meta.has_exif ? &meta.exif : &none);
}

/* Processes one corpus file (the walk's visitor). */
static void corpus_visit(void *user, const char *path, const char *rel)
{
    corpus_check_file(user, path, rel);
}

static void test_bp_image_process_corpus(void **state)
{
    char dir[PATH_MAX], samples[PATH_MAX], expected[PATH_MAX];
    struct corpus_run run;

    if (!bp_test_corpus_find(dir, sizeof(dir))) {
        print_message("# corpus not found at %s (set BANDPICS_CORPUS): "
                      "corpus processing not run\n",
                      dir);
        return;
    }
    int n = snprintf(samples, sizeof(samples), "%s/exif-samples", dir);
    int m = snprintf(expected, sizeof(expected),
                     "%s/exif-samples.expected.json", dir);
    assert_true(n >= 0 && (size_t)n < sizeof(samples));
    assert_true(m >= 0 && (size_t)m < sizeof(expected));
    memset(&run, 0, sizeof(run));
    run.fixture = *state;
    run.expected = json_object_from_file(expected);
    assert_non_null(run.expected);

    run.failures += (int)bp_test_corpus_walk(samples, "", corpus_visit, &run);
    size_t entries = (size_t)json_object_object_length(run.expected);
    json_object_put(run.expected);

    print_message("# corpus %s: %zu of %zu files processed, %zu sizes agree; "
                  "%zu TIFF/HEIC/HEIF files, %zu fields compared, %zu agree, "
                  "%zu known exceptions\n",
                  dir, run.files, entries, run.dims_ok, run.exif_files,
                  run.fields, run.matched, run.excused);
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
    for (size_t i = 0; i < N(corpus_refused); i++) {
        if (run.refused_hit[i])
            print_message("# refused %s: %s\n", corpus_refused[i].file,
                          corpus_refused[i].reason);
        assert_true(run.refused_hit[i]);
    }
    assert_int_equal(run.files + N(corpus_refused), entries);
    assert_int_equal(run.failures, 0);
}

/* ---- the libjpeg path against ImageMagick's: same sizes, same look ---- */

/* The 8-bit luma of the JPEG at path into *luma (caller frees). */
static void read_luma(const char *path, unsigned char **luma, size_t *w,
                      size_t *h)
{
    char name[PATH_MAX];
    snprintf(name, sizeof(name), "JPEG:%s", path);
    MagickWand *wand = NewMagickWand();
    assert_true(MagickReadImage(wand, name));
    *w = MagickGetImageWidth(wand);
    *h = MagickGetImageHeight(wand);
    unsigned char *rgb = malloc(*w * *h * 3);
    *luma = malloc(*w * *h);
    assert_non_null(rgb);
    assert_non_null(*luma);
    assert_true(
        MagickExportImagePixels(wand, 0, 0, *w, *h, "RGB", CharPixel, rgb));
    for (size_t i = 0; i < *w * *h; i++)
        (*luma)[i] = (unsigned char)((299 * rgb[3 * i] + 587 * rgb[3 * i + 1] +
                                      114 * rgb[3 * i + 2] + 500) /
                                     1000);
    free(rgb);
    DestroyMagickWand(wand);
}

/* Mean SSIM of two w x h luma planes over 8x8 windows. */
static double ssim(const unsigned char *a, const unsigned char *b, size_t w,
                   size_t h)
{
    const double c1 = 6.5025, c2 = 58.5225; /* (0.01*255)^2, (0.03*255)^2 */
    double total = 0;
    size_t windows = 0;
    for (size_t y = 0; y + 8 <= h; y += 8) {
        for (size_t x = 0; x + 8 <= w; x += 8) {
            double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
            for (size_t j = 0; j < 8; j++) {
                for (size_t i = 0; i < 8; i++) {
                    double va = a[(y + j) * w + x + i];
                    double vb = b[(y + j) * w + x + i];
                    sa += va;
                    sb += vb;
                    saa += va * va;
                    sbb += vb * vb;
                    sab += va * vb;
                }
            }
            double ma = sa / 64, mb = sb / 64;
            double va = saa / 64 - ma * ma, vb = sbb / 64 - mb * mb;
            double cov = sab / 64 - ma * mb;
            total += ((2 * ma * mb + c1) * (2 * cov + c2)) /
                     ((ma * ma + mb * mb + c1) * (va + vb + c2));
            windows++;
        }
    }
    return windows == 0 ? 1.0 : total / windows;
}

/*
 * The outputs of path by both decoders: same sizes, SSIM at least
 * least_ssim each; returns the lower.
 */
static double compare_decoders(const struct fixture *f, const char *path,
                               double least_ssim)
{
    char magick_full[128], magick_thumb[128];
    snprintf(magick_full, sizeof(magick_full), "%s/magick-full.jpg", f->dir);
    snprintf(magick_thumb, sizeof(magick_thumb), "%s/magick-thumb.jpg", f->dir);
    struct bp_image_limits by_magick = test_limits;
    by_magick.jpeg_by_magick = true;
    struct bp_image_meta ours, theirs;
    struct bp_error err = {{0}};
    if (bp_image_process(path, &test_limits, f->fullsize, f->thumb, &ours,
                         &err) != BP_OK) {
        /* Refused by both, or it is a failure. */
        assert_int_not_equal(bp_image_process(path, &by_magick, magick_full,
                                              magick_thumb, &theirs, &err),
                             BP_OK);
        return 1.0;
    }
    assert_int_equal(bp_image_process(path, &by_magick, magick_full,
                                      magick_thumb, &theirs, &err),
                     BP_OK);
    assert_int_equal(ours.width, theirs.width);
    assert_int_equal(ours.height, theirs.height);
    double worst = 1.0;
    const char *mine[] = {f->fullsize, f->thumb};
    const char *ref[] = {magick_full, magick_thumb};
    for (size_t i = 0; i < 2; i++) {
        unsigned char *a, *b;
        size_t aw, ah, bw, bh;
        read_luma(mine[i], &a, &aw, &ah);
        read_luma(ref[i], &b, &bw, &bh);
        assert_int_equal(aw, bw);
        assert_int_equal(ah, bh);
        double score = ssim(a, b, aw, ah);
        if (score < worst)
            worst = score;
        free(a);
        free(b);
    }
    if (worst < least_ssim)
        print_message("# %s: SSIM %.4f\n", path, worst);
    assert_true(worst >= least_ssim);
    return worst;
}

struct decoder_run {
    const struct fixture *fixture;
    size_t files;
    double worst;
};

static void decoder_visit(void *user, const char *path, const char *rel)
{
    struct decoder_run *run = user;
    size_t len = strlen(rel);
    if (len < 4 || strcasecmp(rel + len - 4, ".jpg") != 0)
        return;
    double score = compare_decoders(run->fixture, path, 0.97);
    if (score < run->worst)
        run->worst = score;
    run->files++;
}

static void test_bp_image_process_libjpeg_matches_magick(void **state)
{
    struct fixture *f = *state;
    /* A large photo-like JPEG, decoded at 6/8 by libjpeg: plasma and
     * noise. */
    MagickWand *wand = NewMagickWand();
    assert_true(MagickReadImage(wand, "plasma:red-blue"));
    assert_true(MagickResizeImage(wand, 4000, 3000, LanczosFilter, 1.0));
    /* Sensor-like noise: texture in every window, as in photos. */
    assert_true(MagickSetOption(wand, "attenuate", "0.25"));
    assert_true(MagickAddNoiseImage(wand, GaussianNoise));
    assert_true(MagickSetImageCompressionQuality(wand, 90));
    save_image(wand, "JPEG", f->input);
    DestroyMagickWand(wand);
    /* Pixel-level noise is where decoding at 6/8 and decoding whole
     * differ most (the DCT drops what area averaging would blend): a
     * looser bound than the corpus's photos get. */
    double synthetic = compare_decoders(f, f->input, 0.90);
    assert_jpeg_size(f->fullsize, 2880, 2160);
    /* The measure tells pictures apart: the negative scores low. */
    unsigned char *a, *b;
    size_t aw, ah;
    read_luma(f->fullsize, &a, &aw, &ah);
    b = malloc(aw * ah);
    assert_non_null(b);
    for (size_t i = 0; i < aw * ah; i++)
        b[i] = (unsigned char)(255 - a[i]);
    double unlike = ssim(a, b, aw, ah);
    free(a);
    free(b);
    assert_true(unlike < 0.5);

    char dir[PATH_MAX], samples[PATH_MAX];
    struct decoder_run run = {.fixture = f, .worst = 1.0};
    if (bp_test_corpus_find(dir, sizeof(dir))) {
        snprintf(samples, sizeof(samples), "%s/exif-samples", dir);
        assert_int_equal(bp_test_corpus_walk(samples, "", decoder_visit, &run),
                         0);
        assert_true(run.files > 0);
    }
    print_message("# libjpeg vs ImageMagick: 4000x3000 plasma SSIM %.5f "
                  "(its negative: %.3f); %zu corpus JPEGs, worst SSIM "
                  "%.5f\n",
                  synthetic, unlike, run.files, run.worst);
}

#define IMAGE_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        IMAGE_TEST(test_bp_image_process_png_transparent),
        IMAGE_TEST(test_bp_image_process_jpeg_orientation_6),
        IMAGE_TEST(test_bp_image_process_large_jpeg_fits),
        IMAGE_TEST(test_bp_image_process_keeps_only_icc),
        IMAGE_TEST(test_bp_image_process_png_exif_chunk),
        IMAGE_TEST(test_bp_image_process_truncated_jpeg),
        IMAGE_TEST(test_bp_image_process_corrupt_png),
        IMAGE_TEST(test_bp_image_process_unsupported),
        IMAGE_TEST(test_bp_image_process_decompression_bomb),
        IMAGE_TEST(test_bp_image_process_removes_outputs_on_failure),
        IMAGE_TEST(test_bp_image_process_corpus),
        IMAGE_TEST(test_bp_image_process_libjpeg_matches_magick),
    };
    return cmocka_run_group_tests_name("image_proc", tests, group_setup,
                                       group_teardown);
}
