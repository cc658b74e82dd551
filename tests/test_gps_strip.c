/*
 * test_gps_strip.c: removing GPS data from images generated here with
 * MagickWand, with EXIF blocks (both byte orders) and XMP packets built
 * by hand and put into JPEG, PNG, WebP, TIFF and hand-built HEIF files:
 * the GPS position is gone, the other fields stay, every byte outside
 * the metadata is unchanged and the pixels decode the same; broken
 * blocks and containers fail or are skipped safely; the file wrapper
 * writes atomically. Over the shared corpus of real camera images too,
 * when it is present.
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
#include <unistd.h>

#include <cmocka.h>
#include <wand/MagickWand.h>
#include <zlib.h>

#include "corpus.h"
#include "media/exif_read.h"
#include "media/gps_strip.h"
#include "media/image_sniff.h"

#define N(array) (sizeof(array) / sizeof((array)[0]))

#define BLOCK_MAX 8192
#define EXIF_ID_LEN 6
#define MAX_REGIONS 8

/* Corpus files larger than this are not read. */
#define CORPUS_FILE_MAX ((size_t)64 * 1024 * 1024)

/* TIFF field types and tags used here. */
#define T_BYTE 1
#define T_ASCII 2
#define T_SHORT 3
#define T_LONG 4
#define T_RATIONAL 5
#define T_UNDEFINED 7

#define TAG_WIDTH 0x0100
#define TAG_HEIGHT 0x0101
#define TAG_BITS 0x0102
#define TAG_COMPRESSION 0x0103
#define TAG_PHOTOMETRIC 0x0106
#define TAG_MAKE 0x010f
#define TAG_MODEL 0x0110
#define TAG_STRIP_OFFSETS 0x0111
#define TAG_SAMPLES 0x0115
#define TAG_ROWS 0x0116
#define TAG_STRIP_BYTES 0x0117
#define TAG_XMP 0x02bc
#define TAG_EXIF_IFD 0x8769
#define TAG_GPS_IFD 0x8825
#define TAG_DATE_ORIGINAL 0x9003

/* A TIFF block under construction. */
struct tb {
    unsigned char *p;
    size_t cap, len;
    bool be;
};

/* Where a hand-built EXIF block keeps its parts. */
struct exif_layout {
    size_t len;
    size_t ifd0, exif, gps;
};

/* A byte range of a file that stripping may change. */
struct region {
    size_t at, len;
};

/* An image file with the metadata regions put into it. */
struct image {
    unsigned char *data;
    size_t len;
    struct region regions[MAX_REGIONS];
    size_t n_regions;
    size_t exif_at[MAX_REGIONS]; /* where each EXIF TIFF block starts */
    size_t exif_len[MAX_REGIONS];
    size_t n_exif;
};

/* A growing byte buffer for containers. */
struct bytes {
    unsigned char *p;
    size_t len, cap;
};

static const char xmp_packet[] =
    "<?xpacket begin=\"\xef\xbb\xbf\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"
    "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n"
    " <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n"
    "  <rdf:Description rdf:about=\"\"\n"
    "    xmlns:exif=\"http://ns.adobe.com/exif/1.0/\"\n"
    "    xmlns:tiff=\"http://ns.adobe.com/tiff/1.0/\"\n"
    "    exif:GPSLatitude=\"48,51.4008N\" tiff:Make=\"Canon\"\n"
    "    exif:GPSLongitude='2,21.132E'>\n"
    "   <exif:GPSAltitude>355/10</exif:GPSAltitude>\n"
    "   <!-- exif:GPSComment=\"kept\" -->\n"
    "   <tiff:Model>Canon EOS 40D</tiff:Model>\n"
    "   <exif:GPSVersionID/>\n"
    "   <exif:GPSTimeStamp>\n"
    "    2024-05-01T18:15:03Z\n"
    "   </exif:GPSTimeStamp>\n"
    "  </rdf:Description>\n"
    " </rdf:RDF>\n"
    "</x:xmpmeta>\n"
    "<?xpacket end=\"w\"?>";
#define XMP_GPS_PROPERTIES 5

/* ---- TIFF blocks ---- */

static void tb_put16(struct tb *b, size_t at, uint32_t v)
{
    assert_true(at + 2 <= b->cap);
    b->p[at + (b->be ? 0 : 1)] = (unsigned char)(v >> 8);
    b->p[at + (b->be ? 1 : 0)] = (unsigned char)v;
}

static void tb_put32(struct tb *b, size_t at, uint32_t v)
{
    tb_put16(b, at + (b->be ? 0 : 2), v >> 16);
    tb_put16(b, at + (b->be ? 2 : 0), v & 0xffff);
}

/* Reserves n bytes (at an even offset) at the end of the block. */
static size_t tb_alloc(struct tb *b, size_t n)
{
    size_t at = (b->len + 1) & ~(size_t)1;
    assert_true(at + n <= b->cap);
    memset(b->p + b->len, 0, at + n - b->len);
    b->len = at + n;
    return at;
}

static void tb_header(struct tb *b)
{
    memcpy(b->p, b->be ? "MM\0*" : "II*\0", 4);
    b->len = 8;
    tb_put32(b, 4, 0);
}

/* Appends an IFD of n entries (next offset 0) and returns its offset. */
static size_t tb_ifd(struct tb *b, size_t n)
{
    size_t at = tb_alloc(b, 2 + 12 * n + 4);
    tb_put16(b, at, (uint32_t)n);
    return at;
}

static size_t entry_at(size_t ifd, size_t i)
{
    return ifd + 2 + 12 * i;
}

/* Writes entry i of ifd with count values of 1, 2 or 4 bytes each. */
static void tb_entry(struct tb *b, size_t ifd, size_t i, uint16_t tag,
                     uint16_t type, uint32_t count, const uint32_t *values,
                     const char *bytes)
{
    size_t at = entry_at(ifd, i);
    size_t size = type == T_SHORT ? 2 : type == T_LONG ? 4 : 1;
    if (type == T_RATIONAL)
        size = 8;
    size_t total = size * count;
    size_t where = at + 8;
    tb_put16(b, at, tag);
    tb_put16(b, at + 2, type);
    tb_put32(b, at + 4, count);
    tb_put32(b, at + 8, 0);
    if (total > 4) {
        where = tb_alloc(b, total);
        tb_put32(b, at + 8, (uint32_t)where);
    }
    for (size_t k = 0; k < count; k++) {
        if (size == 1)
            b->p[where + k] = bytes != NULL ? (unsigned char)bytes[k]
                                            : (unsigned char)values[k];
        else if (size == 2)
            tb_put16(b, where + 2 * k, values[k]);
        else if (size == 4)
            tb_put32(b, where + 4 * k, values[k]);
        else {
            tb_put32(b, where + 8 * k, values[2 * k]);
            tb_put32(b, where + 8 * k + 4, values[2 * k + 1]);
        }
    }
}

static void tb_ascii(struct tb *b, size_t ifd, size_t i, uint16_t tag,
                     const char *text)
{
    tb_entry(b, ifd, i, tag, T_ASCII, (uint32_t)strlen(text) + 1, NULL, text);
}

static void tb_long(struct tb *b, size_t ifd, size_t i, uint16_t tag,
                    uint32_t v)
{
    tb_entry(b, ifd, i, tag, T_LONG, 1, &v, NULL);
}

static void tb_short(struct tb *b, size_t ifd, size_t i, uint16_t tag,
                     uint32_t v)
{
    tb_entry(b, ifd, i, tag, T_SHORT, 1, &v, NULL);
}

/* Writes a GPS IFD of 48°51'24.05" N, 2°21'7.92" E, 35.5 m. */
static size_t tb_gps_ifd(struct tb *b)
{
    static const uint32_t lat[] = {48, 1, 51, 1, 2405, 100};
    static const uint32_t lon[] = {2, 1, 21, 1, 792, 100};
    static const uint32_t alt[] = {3550, 100};
    size_t gps = tb_ifd(b, 7);
    tb_entry(b, gps, 0, 0x0000, T_BYTE, 4, NULL, "\2\3\0\0");
    tb_ascii(b, gps, 1, 0x0001, "N");
    tb_entry(b, gps, 2, 0x0002, T_RATIONAL, 3, lat, NULL);
    tb_ascii(b, gps, 3, 0x0003, "E");
    tb_entry(b, gps, 4, 0x0004, T_RATIONAL, 3, lon, NULL);
    tb_entry(b, gps, 5, 0x0005, T_BYTE, 1, NULL, "\0");
    tb_entry(b, gps, 6, 0x0006, T_RATIONAL, 1, alt, NULL);
    return gps;
}

/*
 * Builds an EXIF TIFF block: IFD0 (Make, Model, the EXIF pointer, the
 * GPS pointer when gps, tag 700 with xmp when not NULL), an EXIF IFD
 * with DateTimeOriginal and the GPS IFD.
 */
static struct exif_layout build_exif(unsigned char *out, size_t cap, bool be,
                                     bool gps, const char *xmp)
{
    struct tb b = {out, cap, 0, be};
    struct exif_layout l = {0};
    size_t n0 = 3 + (gps ? 1 : 0) + (xmp != NULL ? 1 : 0);
    size_t i = 0;
    tb_header(&b);
    l.ifd0 = tb_ifd(&b, n0);
    tb_put32(&b, 4, (uint32_t)l.ifd0);
    tb_ascii(&b, l.ifd0, i++, TAG_MAKE, "Canon");
    tb_ascii(&b, l.ifd0, i++, TAG_MODEL, "Canon EOS 40D");
    if (xmp != NULL)
        tb_entry(&b, l.ifd0, i++, TAG_XMP, T_BYTE, (uint32_t)strlen(xmp), NULL,
                 xmp);
    l.exif = tb_ifd(&b, 1);
    tb_ascii(&b, l.exif, 0, TAG_DATE_ORIGINAL, "2024:05:01 20:15:03");
    tb_long(&b, l.ifd0, i++, TAG_EXIF_IFD, (uint32_t)l.exif);
    if (gps) {
        l.gps = tb_gps_ifd(&b);
        tb_long(&b, l.ifd0, i++, TAG_GPS_IFD, (uint32_t)l.gps);
    }
    l.len = b.len;
    return l;
}

/* Reads the EXIF of a TIFF block and checks the fields it must keep. */
static bool read_block(const unsigned char *p, size_t len,
                       struct bp_exif_info *info)
{
    return bp_exif_read(p, len, info, NULL) == BP_OK;
}

static void assert_stripped_block(const unsigned char *p, size_t len)
{
    struct bp_exif_info info;
    assert_true(read_block(p, len, &info));
    assert_false(info.coords.has_position);
    assert_false(info.coords.has_altitude);
    assert_string_equal(info.make, "Canon");
    assert_string_equal(info.model, "Canon EOS 40D");
    assert_string_equal(info.date_time_original, "2024-05-01T20:15:03");
}

static void assert_gps_block(const unsigned char *p, size_t len)
{
    struct bp_exif_info info;
    assert_true(read_block(p, len, &info));
    assert_true(info.coords.has_position);
    assert_true(info.coords.latitude > 48.8 && info.coords.latitude < 48.9);
}

/* ---- byte buffers ---- */

static void bytes_add(struct bytes *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = (b->len + n) * 2 + 64;
        b->p = realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void bytes_be32(struct bytes *b, uint32_t v)
{
    unsigned char q[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    bytes_add(b, q, 4);
}

static void bytes_be16(struct bytes *b, uint32_t v)
{
    unsigned char q[2] = {(unsigned char)(v >> 8), (unsigned char)v};
    bytes_add(b, q, 2);
}

static void bytes_le32(struct bytes *b, uint32_t v)
{
    unsigned char q[4] = {(unsigned char)v, (unsigned char)(v >> 8),
                          (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
    bytes_add(b, q, 4);
}

static void set_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t get_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static uint32_t get_le32(const unsigned char *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 |
           p[0];
}

static void image_region(struct image *img, size_t at, size_t len)
{
    assert_true(img->n_regions < MAX_REGIONS);
    img->regions[img->n_regions++] = (struct region){at, len};
}

static void image_exif(struct image *img, size_t at, size_t len)
{
    assert_true(img->n_exif < MAX_REGIONS);
    img->exif_at[img->n_exif] = at;
    img->exif_len[img->n_exif++] = len;
}

static unsigned char *dup_bytes(const unsigned char *p, size_t len)
{
    unsigned char *q = malloc(len > 0 ? len : 1);
    assert_non_null(q);
    memcpy(q, p, len);
    return q;
}

/* ---- MagickWand ---- */

/* Encodes a 48x32 gradient in format ("JPEG", "PNG", "WEBP"). */
static unsigned char *make_image(const char *format, size_t *len)
{
    MagickWand *wand = NewMagickWand();
    assert_true(MagickReadImage(wand, "gradient:#3060c0-#f0d020"));
    assert_true(MagickResizeImage(wand, 48, 32, LanczosFilter, 1.0));
    assert_true(MagickStripImage(wand));
    assert_true(MagickSetImageFormat(wand, format));
    unsigned char *blob = MagickGetImageBlob(wand, len);
    assert_non_null(blob);
    unsigned char *copy = dup_bytes(blob, *len);
    MagickRelinquishMemory(blob);
    DestroyMagickWand(wand);
    return copy;
}

/*
 * Decodes data and returns its RGBA pixels (freed by the caller), or
 * NULL when it does not decode.
 */
static unsigned char *decode(const unsigned char *data, size_t len,
                             size_t *n_bytes)
{
    MagickWand *wand = NewMagickWand();
    unsigned char *pixels = NULL;
    if (MagickReadImageBlob(wand, data, len) == MagickFalse)
        goto out_destroy;
    size_t w = MagickGetImageWidth(wand), h = MagickGetImageHeight(wand);
    *n_bytes = w * h * 4;
    pixels = malloc(*n_bytes);
    assert_non_null(pixels);
    if (MagickExportImagePixels(wand, 0, 0, w, h, "RGBA", CharPixel, pixels) ==
        MagickFalse) {
        free(pixels);
        pixels = NULL;
    }
out_destroy:
    DestroyMagickWand(wand);
    return pixels;
}

static void assert_same_pixels(const unsigned char *a, size_t a_len,
                               const unsigned char *b, size_t b_len)
{
    size_t na, nb;
    unsigned char *pa = decode(a, a_len, &na);
    unsigned char *pb = decode(b, b_len, &nb);
    assert_non_null(pa);
    assert_non_null(pb);
    assert_int_equal(na, nb);
    assert_memory_equal(pa, pb, na);
    free(pa);
    free(pb);
}

/* ---- containers ---- */

/* A JPEG with the given APP segments (marker, body) after its SOI. */
static struct image jpeg_with(const unsigned char *const *bodies,
                              const size_t *lens, const int *markers, size_t n)
{
    size_t base_len;
    unsigned char *base = make_image("JPEG", &base_len);
    struct bytes out = {0};
    struct image img = {0};
    bytes_add(&out, base, 2);
    for (size_t i = 0; i < n; i++) {
        unsigned char hdr[4] = {0xff, (unsigned char)markers[i],
                                (unsigned char)((lens[i] + 2) >> 8),
                                (unsigned char)(lens[i] + 2)};
        bytes_add(&out, hdr, 4);
        image_region(&img, out.len, lens[i]);
        if (markers[i] == 0xe1 && memcmp(bodies[i], "Exif\0\0", 6) == 0)
            image_exif(&img, out.len + EXIF_ID_LEN, lens[i] - EXIF_ID_LEN);
        bytes_add(&out, bodies[i], lens[i]);
    }
    bytes_add(&out, base + 2, base_len - 2);
    free(base);
    img.data = out.p;
    img.len = out.len;
    return img;
}

/* An APP1 EXIF body: "Exif\0\0" and a block; returns its length. */
static size_t exif_app1(unsigned char *out, size_t cap, bool be, bool gps,
                        const char *xmp)
{
    memcpy(out, "Exif\0\0", EXIF_ID_LEN);
    return EXIF_ID_LEN +
           build_exif(out + EXIF_ID_LEN, cap - EXIF_ID_LEN, be, gps, xmp).len;
}

/* An APP1 XMP body; returns its length. */
static size_t xmp_app1(unsigned char *out, size_t cap)
{
    static const char id[] = "http://ns.adobe.com/xap/1.0/";
    assert_true(sizeof(id) + sizeof(xmp_packet) <= cap);
    memcpy(out, id, sizeof(id));
    memcpy(out + sizeof(id), xmp_packet, sizeof(xmp_packet) - 1);
    return sizeof(id) + sizeof(xmp_packet) - 1;
}

static void png_chunk(struct bytes *out, struct image *img, const char *type,
                      const unsigned char *body, size_t len)
{
    size_t start = out->len;
    bytes_be32(out, (uint32_t)len);
    bytes_add(out, type, 4);
    bytes_add(out, body, len);
    uLong crc = crc32(crc32(0, (const Bytef *)type, 4), body, (uInt)len);
    bytes_be32(out, (uint32_t)crc);
    if (img != NULL)
        image_region(img, start + 8, len + 4); /* body and CRC */
}

/* A PNG with the given chunks (type, body) after IHDR. */
static struct image png_with(const char *const *types,
                             const unsigned char *const *bodies,
                             const size_t *lens, size_t n)
{
    size_t base_len;
    unsigned char *base = make_image("PNG", &base_len);
    struct bytes out = {0};
    struct image img = {0};
    assert_memory_equal(base + 12, "IHDR", 4);
    bytes_add(&out, base, 33);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(types[i], "eXIf") == 0)
            image_exif(&img, out.len + 8, lens[i]);
        png_chunk(&out, &img, types[i], bodies[i], lens[i]);
    }
    bytes_add(&out, base + 33, base_len - 33);
    free(base);
    img.data = out.p;
    img.len = out.len;
    return img;
}

/* Checks the CRC of every chunk of a PNG. */
static void assert_png_crcs(const unsigned char *p, size_t len)
{
    size_t at = 8;
    while (at + 12 <= len) {
        uint32_t size = get_be32(p + at);
        assert_true(at + 12 + size <= len);
        uLong crc = crc32(0, p + at + 4, size + 4);
        assert_int_equal(get_be32(p + at + 8 + size), (uint32_t)crc);
        at += 12 + size;
    }
}

/*
 * A WebP in the extended format (VP8X) with an EXIF chunk (when exif is
 * not NULL) and an XMP chunk (when xmp).
 */
static struct image webp_with(const unsigned char *exif, size_t exif_len,
                              bool xmp)
{
    size_t base_len;
    unsigned char *base = make_image("WEBP", &base_len);
    struct bytes out = {0};
    struct image img = {0};
    assert_true(base_len > 20);
    assert_true(memcmp(base + 12, "VP8 ", 4) == 0 ||
                memcmp(base + 12, "VP8L", 4) == 0);
    size_t image_chunk = 8 + get_le32(base + 16);
    image_chunk += image_chunk & 1;
    assert_true(12 + image_chunk <= base_len);
    unsigned char vp8x[10] = {(exif != NULL ? 0x08 : 0) | (xmp ? 0x04 : 0),
                              0,
                              0,
                              0,
                              47,
                              0,
                              0,
                              31,
                              0,
                              0};
    bytes_add(&out, "RIFF\0\0\0\0WEBPVP8X", 16);
    bytes_le32(&out, sizeof(vp8x));
    bytes_add(&out, vp8x, sizeof(vp8x));
    bytes_add(&out, base + 12, image_chunk);
    if (exif != NULL) {
        bytes_add(&out, "EXIF", 4);
        bytes_le32(&out, (uint32_t)exif_len);
        image_region(&img, out.len, exif_len);
        image_exif(&img, out.len, exif_len);
        bytes_add(&out, exif, exif_len);
        if (exif_len & 1)
            bytes_add(&out, "", 1);
    }
    if (xmp) {
        size_t n = sizeof(xmp_packet) - 1;
        bytes_add(&out, "XMP ", 4);
        bytes_le32(&out, (uint32_t)n);
        image_region(&img, out.len, n);
        bytes_add(&out, xmp_packet, n);
        if (n & 1)
            bytes_add(&out, "", 1);
    }
    unsigned char size[4];
    size[0] = (unsigned char)(out.len - 8);
    size[1] = (unsigned char)((out.len - 8) >> 8);
    size[2] = (unsigned char)((out.len - 8) >> 16);
    size[3] = (unsigned char)((out.len - 8) >> 24);
    memcpy(out.p + 4, size, 4);
    free(base);
    img.data = out.p;
    img.len = out.len;
    return img;
}

/*
 * An uncompressed 8x4 RGB TIFF file with Make, Model, an EXIF IFD and a
 * GPS IFD; the whole file is the one metadata region.
 */
static struct image tiff_file(bool be)
{
    struct image img = {0};
    unsigned char *p = calloc(1, BLOCK_MAX);
    assert_non_null(p);
    struct tb b = {p, BLOCK_MAX, 0, be};
    static const uint32_t bits[] = {8, 8, 8};
    tb_header(&b);
    size_t ifd0 = tb_ifd(&b, 14);
    tb_put32(&b, 4, (uint32_t)ifd0);
    tb_short(&b, ifd0, 0, TAG_WIDTH, 8);
    tb_short(&b, ifd0, 1, TAG_HEIGHT, 4);
    tb_entry(&b, ifd0, 2, TAG_BITS, T_SHORT, 3, bits, NULL);
    tb_short(&b, ifd0, 3, TAG_COMPRESSION, 1);
    tb_short(&b, ifd0, 4, TAG_PHOTOMETRIC, 2);
    tb_ascii(&b, ifd0, 5, TAG_MAKE, "Canon");
    tb_ascii(&b, ifd0, 6, TAG_MODEL, "Canon EOS 40D");
    size_t pixels = tb_alloc(&b, 8 * 4 * 3);
    for (size_t i = 0; i < 8 * 4 * 3; i++)
        p[pixels + i] = (unsigned char)(i * 7);
    tb_long(&b, ifd0, 7, TAG_STRIP_OFFSETS, (uint32_t)pixels);
    tb_short(&b, ifd0, 8, TAG_SAMPLES, 3);
    tb_short(&b, ifd0, 9, TAG_ROWS, 4);
    tb_long(&b, ifd0, 10, TAG_STRIP_BYTES, 8 * 4 * 3);
    tb_short(&b, ifd0, 11, 0x011c, 1); /* PlanarConfiguration */
    size_t exif = tb_ifd(&b, 1);
    tb_ascii(&b, exif, 0, TAG_DATE_ORIGINAL, "2024:05:01 20:15:03");
    tb_long(&b, ifd0, 12, TAG_EXIF_IFD, (uint32_t)exif);
    size_t gps = tb_gps_ifd(&b);
    tb_long(&b, ifd0, 13, TAG_GPS_IFD, (uint32_t)gps);
    img.data = p;
    img.len = b.len;
    image_region(&img, gps, b.len - gps); /* the GPS IFD and its values */
    image_exif(&img, 0, b.len);
    return img;
}

/* ---- checks ---- */

static bool in_regions(const struct image *img, size_t at)
{
    for (size_t i = 0; i < img->n_regions; i++)
        if (at >= img->regions[i].at &&
            at - img->regions[i].at < img->regions[i].len)
            return true;
    return false;
}

/* Fails unless stripped equals img outside the metadata regions. */
static void assert_same_outside(const struct image *img,
                                const unsigned char *stripped)
{
    for (size_t i = 0; i < img->len; i++)
        if (!in_regions(img, i) && img->data[i] != stripped[i]) {
            print_error("byte %zu changed outside the metadata\n", i);
            fail();
        }
}

/*
 * Strips a copy of img and checks: BP_OK, the report, same bytes outside
 * the metadata, no GPS in any EXIF block but the other fields, same
 * pixels; stripping again changes nothing. Returns the copy.
 */
static unsigned char *check_strip(const struct image *img,
                                  enum bp_image_format format,
                                  size_t want_gps_ifds, size_t want_xmp)
{
    struct bp_gps_strip_report report, again;
    struct bp_error err = {""};
    unsigned char *copy = dup_bytes(img->data, img->len);
    for (size_t i = 0; i < img->n_exif; i++)
        assert_gps_block(img->data + img->exif_at[i], img->exif_len[i]);
    assert_int_equal(bp_gps_strip_buffer(copy, img->len, format, &report, &err),
                     BP_OK);
    assert_int_equal(report.gps_ifds, want_gps_ifds);
    assert_int_equal(report.xmp_properties, want_xmp);
    assert_true(report.exif_blocks >= img->n_exif);
    assert_same_outside(img, copy);
    for (size_t i = 0; i < img->n_exif; i++)
        assert_stripped_block(copy + img->exif_at[i], img->exif_len[i]);
    if (format != BP_IMAGE_HEIC)
        assert_same_pixels(img->data, img->len, copy, img->len);
    unsigned char *twice = dup_bytes(copy, img->len);
    assert_int_equal(bp_gps_strip_buffer(twice, img->len, format, &again, &err),
                     BP_OK);
    assert_int_equal(again.gps_ifds, 0);
    assert_int_equal(again.xmp_properties, 0);
    assert_memory_equal(twice, copy, img->len);
    free(twice);
    return copy;
}

/* Fails unless the XMP text at p has no GPS left but the rest. */
static void assert_xmp_stripped(const unsigned char *p, size_t len)
{
    char *text = malloc(len + 1);
    assert_non_null(text);
    memcpy(text, p, len);
    text[len] = '\0';
    assert_int_equal(strlen(text), len);
    assert_non_null(strstr(text, "exif:GPSComment=\"kept\" -->"));
    char *comment = strstr(text, "<!--");
    memset(comment, ' ', strlen("<!-- exif:GPSComment=\"kept\" -->"));
    assert_null(strstr(text, "GPS"));
    assert_null(strstr(text, "48,51"));
    assert_null(strstr(text, "2024-05-01"));
    assert_non_null(strstr(text, "tiff:Make=\"Canon\""));
    assert_non_null(strstr(text, "<tiff:Model>Canon EOS 40D</tiff:Model>"));
    assert_non_null(
        strstr(text, "xmlns:exif=\"http://ns.adobe.com/exif/1.0/\""));
    assert_non_null(strstr(text, "  </rdf:Description>\n"));
    assert_non_null(strstr(text, "<?xpacket end=\"w\"?>"));
    free(text);
}

/* ---- tests: formats ---- */

static void strip_jpeg_case(bool be)
{
    unsigned char body[BLOCK_MAX];
    size_t len = exif_app1(body, sizeof(body), be, true, NULL);
    const unsigned char *bodies[] = {body};
    int markers[] = {0xe1};
    struct image img = jpeg_with(bodies, &len, markers, 1);
    unsigned char *copy = check_strip(&img, BP_IMAGE_JPEG, 1, 0);
    /* The scan data, from SOS to EOI, is byte-identical. */
    size_t sos = img.regions[0].at + img.regions[0].len;
    assert_memory_equal(img.data + sos, copy + sos, img.len - sos);
    free(copy);
    free(img.data);
}

static void test_bp_gps_strip_buffer_jpeg_little_endian(void **state)
{
    strip_jpeg_case(false);
}

static void test_bp_gps_strip_buffer_jpeg_big_endian(void **state)
{
    strip_jpeg_case(true);
}

static void test_bp_gps_strip_buffer_jpeg_two_exif_and_xmp(void **state)
{
    unsigned char exif1[BLOCK_MAX], exif2[BLOCK_MAX], xmp[BLOCK_MAX];
    size_t lens[] = {exif_app1(exif1, sizeof(exif1), false, true, NULL),
                     xmp_app1(xmp, sizeof(xmp)),
                     exif_app1(exif2, sizeof(exif2), true, true, xmp_packet)};
    const unsigned char *bodies[] = {exif1, xmp, exif2};
    int markers[] = {0xe1, 0xe1, 0xe1};
    struct image img = jpeg_with(bodies, lens, markers, 3);
    unsigned char *copy =
        check_strip(&img, BP_IMAGE_JPEG, 2, 2 * XMP_GPS_PROPERTIES);
    assert_xmp_stripped(copy + img.regions[1].at + 29, lens[1] - 29);
    free(copy);
    free(img.data);
}

static void test_bp_gps_strip_buffer_jpeg_photoshop_irb(void **state)
{
    unsigned char body[BLOCK_MAX];
    size_t at = 0;
    memcpy(body, "Photoshop 3.0", 14);
    at = 14;
    memcpy(body + at, "8BIM\x04\x22\0\0", 8); /* EXIF data 1, empty name */
    at += 8;
    size_t size_at = at;
    at += 4;
    size_t tiff_at = at;
    size_t n = build_exif(body + at, sizeof(body) - at, true, true, NULL).len;
    set_be32(body + size_at, (uint32_t)n);
    at += n + (n & 1);
    const unsigned char *bodies[] = {body};
    int markers[] = {0xed};
    struct image img = jpeg_with(bodies, &at, markers, 1);
    image_exif(&img, img.regions[0].at + tiff_at, n);
    free(check_strip(&img, BP_IMAGE_JPEG, 1, 0));
    free(img.data);
}

static void test_bp_gps_strip_buffer_png_exif_and_xmp(void **state)
{
    unsigned char exif[BLOCK_MAX], itxt[BLOCK_MAX];
    size_t exif_len = build_exif(exif, sizeof(exif), true, true, NULL).len;
    static const char head[] = "XML:com.adobe.xmp\0\0\0\0\0";
    size_t head_len = sizeof(head) - 1;
    memcpy(itxt, head, head_len);
    memcpy(itxt + head_len, xmp_packet, sizeof(xmp_packet) - 1);
    size_t itxt_len = head_len + sizeof(xmp_packet) - 1;
    const char *types[] = {"eXIf", "iTXt"};
    const unsigned char *bodies[] = {exif, itxt};
    size_t lens[] = {exif_len, itxt_len};
    struct image img = png_with(types, bodies, lens, 2);
    unsigned char *copy =
        check_strip(&img, BP_IMAGE_PNG, 1, XMP_GPS_PROPERTIES);
    assert_png_crcs(copy, img.len);
    assert_xmp_stripped(copy + img.regions[1].at + head_len,
                        itxt_len - head_len);
    free(copy);
    free(img.data);
}

/* Writes an ImageMagick raw profile text of data into out. */
static size_t raw_profile(char *out, size_t cap, const char *type,
                          const unsigned char *data, size_t len)
{
    int n = snprintf(out, cap, "\n%s\n%8zu", type, len);
    assert_true(n > 0 && (size_t)n < cap);
    size_t at = (size_t)n;
    for (size_t i = 0; i < len; i++) {
        if (i % 36 == 0)
            out[at++] = '\n';
        assert_true(at + 3 < cap);
        snprintf(out + at, 3, "%02x", data[i]);
        at += 2;
    }
    out[at++] = '\n';
    return at;
}

static void test_bp_gps_strip_buffer_png_raw_profile_text(void **state)
{
    unsigned char exif[BLOCK_MAX];
    char body[4 * BLOCK_MAX];
    memcpy(exif, "Exif\0\0", EXIF_ID_LEN);
    size_t exif_len =
        EXIF_ID_LEN + build_exif(exif + EXIF_ID_LEN, sizeof(exif) - EXIF_ID_LEN,
                                 false, true, NULL)
                          .len;
    static const char key[] = "Raw profile type exif";
    memcpy(body, key, sizeof(key));
    size_t len = sizeof(key) + raw_profile(body + sizeof(key),
                                           sizeof(body) - sizeof(key), "exif",
                                           exif, exif_len);
    const char *types[] = {"tEXt"};
    const unsigned char *bodies[] = {(const unsigned char *)body};
    struct image img = png_with(types, bodies, &len, 1);
    struct bp_gps_strip_report report;
    unsigned char *copy = dup_bytes(img.data, img.len);
    assert_int_equal(
        bp_gps_strip_buffer(copy, img.len, BP_IMAGE_PNG, &report, NULL), BP_OK);
    assert_int_equal(report.gps_ifds, 1);
    assert_same_outside(&img, copy);
    assert_png_crcs(copy, img.len);
    /* Decode the hex back and read it. */
    const unsigned char *hex = copy + img.regions[0].at + sizeof(key);
    size_t hex_len = len - sizeof(key), k = 0;
    unsigned char decoded[BLOCK_MAX];
    size_t skip = strlen("\nexif\n") + 8;
    for (size_t i = skip; i + 1 < hex_len && k < exif_len; i++) {
        if (hex[i] == '\n')
            continue;
        char pair[3] = {(char)hex[i], (char)hex[i + 1], 0};
        decoded[k++] = (unsigned char)strtoul(pair, NULL, 16);
        i++;
    }
    assert_int_equal(k, exif_len);
    assert_stripped_block(decoded, exif_len);
    assert_same_pixels(img.data, img.len, copy, img.len);
    free(copy);
    free(img.data);
}

static void ztxt_case(bool gps, enum bp_rc want)
{
    unsigned char exif[BLOCK_MAX];
    char text[4 * BLOCK_MAX];
    unsigned char body[4 * BLOCK_MAX];
    memcpy(exif, "Exif\0\0", EXIF_ID_LEN);
    size_t exif_len =
        EXIF_ID_LEN + build_exif(exif + EXIF_ID_LEN, sizeof(exif) - EXIF_ID_LEN,
                                 true, gps, NULL)
                          .len;
    size_t text_len = raw_profile(text, sizeof(text), "exif", exif, exif_len);
    static const char key[] = "Raw profile type exif";
    memcpy(body, key, sizeof(key));
    body[sizeof(key)] = 0; /* deflate */
    uLongf packed = sizeof(body) - sizeof(key) - 1;
    assert_int_equal(compress(body + sizeof(key) + 1, &packed,
                              (const Bytef *)text, text_len),
                     Z_OK);
    size_t len = sizeof(key) + 1 + packed;
    const char *types[] = {"zTXt"};
    const unsigned char *bodies[] = {body};
    struct image img = png_with(types, bodies, &len, 1);
    unsigned char *copy = dup_bytes(img.data, img.len);
    struct bp_error err = {""};
    assert_int_equal(
        bp_gps_strip_buffer(copy, img.len, BP_IMAGE_PNG, NULL, &err), want);
    if (want == BP_OK)
        assert_memory_equal(copy, img.data, img.len);
    else
        assert_non_null(strstr(err.detail, "compressed"));
    free(copy);
    free(img.data);
}

static void test_bp_gps_strip_buffer_png_compressed_profile(void **state)
{
    ztxt_case(true, BP_EUNSUPPORTED);
    ztxt_case(false, BP_OK);
}

static void test_bp_gps_strip_buffer_webp(void **state)
{
    unsigned char exif[BLOCK_MAX];
    size_t len = build_exif(exif, sizeof(exif), false, true, NULL).len;
    struct image img = webp_with(exif, len, true);
    unsigned char *copy =
        check_strip(&img, BP_IMAGE_WEBP, 1, XMP_GPS_PROPERTIES);
    assert_xmp_stripped(copy + img.regions[1].at, img.regions[1].len);
    free(copy);
    free(img.data);
}

static void test_bp_gps_strip_buffer_tiff_file(void **state)
{
    for (int be = 0; be < 2; be++) {
        struct image img = tiff_file(be);
        free(check_strip(&img, BP_IMAGE_TIFF, 1, 0));
        free(img.data);
    }
}

/*
 * A minimal HEIF file (no decodable image): ftyp, a meta box whose iinf
 * lists an Exif item (and an XMP item when xmp), an iloc of the given
 * version and construction method, and the items in mdat (method 0) or
 * idat (method 1).
 */
static struct image heif_file(int iloc_version, int method, bool xmp)
{
    unsigned char item[BLOCK_MAX];
    struct bytes b = {0};
    struct image img = {0};
    set_be32(item, 6);
    memcpy(item + 4, "Exif\0\0", EXIF_ID_LEN);
    size_t item_len =
        4 + EXIF_ID_LEN +
        build_exif(item + 4 + EXIF_ID_LEN, sizeof(item) - 10, true, true, NULL)
            .len;
    size_t xmp_len = sizeof(xmp_packet) - 1;
    size_t n_items = xmp ? 2 : 1;

    bytes_be32(&b, 20);
    bytes_add(&b, "ftypheic\0\0\0\0mif1", 16);
    size_t meta = b.len;
    bytes_add(&b, "\0\0\0\0meta\0\0\0\0", 12);
    bytes_be32(&b, 33);
    bytes_add(&b, "hdlr\0\0\0\0\0\0\0\0pict", 16);
    bytes_add(&b, "\0\0\0\0\0\0\0\0\0\0\0\0\0", 13);
    bytes_be32(&b, (uint32_t)(14 + 21 + (xmp ? 41 : 0)));
    bytes_add(&b, "iinf\0\0\0\0", 8);
    bytes_be16(&b, (uint32_t)n_items);
    bytes_be32(&b, 21);
    bytes_add(&b, "infe\2\0\0\0\0\1\0\0Exif\0", 17);
    if (xmp) {
        bytes_be32(&b, 41);
        bytes_add(&b, "infe\2\0\0\0\0\2\0\0mime\0application/rdf+xml\0", 37);
    }
    size_t per_item = iloc_version == 0 ? 14 : 16;
    bytes_be32(&b, (uint32_t)(8 + 4 + 2 + 2 + per_item * n_items));
    bytes_add(&b, "iloc", 4);
    unsigned char head[4] = {(unsigned char)iloc_version, 0, 0, 0};
    bytes_add(&b, head, 4);
    bytes_add(&b, "\x44\x00", 2); /* offset and length 4 bytes, no base */
    bytes_be16(&b, (uint32_t)n_items);
    size_t offset_fields[2];
    for (size_t i = 0; i < n_items; i++) {
        bytes_be16(&b, (uint32_t)(i + 1));
        if (iloc_version > 0)
            bytes_be16(&b, (uint32_t)method);
        bytes_be16(&b, 0); /* this file */
        bytes_be16(&b, 1); /* one extent */
        offset_fields[i] = b.len;
        bytes_be32(&b, 0);
        bytes_be32(&b, (uint32_t)(i == 0 ? item_len : xmp_len));
    }
    size_t store = b.len;
    bytes_be32(&b, (uint32_t)(8 + item_len + (xmp ? xmp_len : 0)));
    bytes_add(&b, method == 1 ? "idat" : "mdat", 4);
    size_t item_at = b.len;
    bytes_add(&b, item, item_len);
    size_t xmp_at = b.len;
    if (xmp)
        bytes_add(&b, xmp_packet, xmp_len);
    if (method == 1) {
        /* idat sits inside meta; offsets count from its body. */
        set_be32(b.p + offset_fields[0], 0);
        if (xmp)
            set_be32(b.p + offset_fields[1], (uint32_t)item_len);
        set_be32(b.p + meta, (uint32_t)(b.len - meta));
        bytes_be32(&b, 16);
        bytes_add(&b, "mdat\0\0\0\0\0\0\0\0", 12);
    } else {
        set_be32(b.p + meta, (uint32_t)(store - meta));
        set_be32(b.p + offset_fields[0], (uint32_t)item_at);
        if (xmp)
            set_be32(b.p + offset_fields[1], (uint32_t)xmp_at);
    }
    image_region(&img, item_at, item_len);
    image_exif(&img, item_at + 10, item_len - 10);
    if (xmp)
        image_region(&img, xmp_at, xmp_len);
    img.data = b.p;
    img.len = b.len;
    return img;
}

static void test_bp_gps_strip_buffer_heif_items(void **state)
{
    struct image img = heif_file(0, 0, true);
    assert_int_equal(bp_image_sniff(img.data, img.len), BP_IMAGE_HEIC);
    unsigned char *copy =
        check_strip(&img, BP_IMAGE_HEIC, 1, XMP_GPS_PROPERTIES);
    assert_xmp_stripped(copy + img.regions[1].at, img.regions[1].len);
    free(copy);
    free(img.data);

    img = heif_file(1, 1, true);
    copy = check_strip(&img, BP_IMAGE_HEIC, 1, XMP_GPS_PROPERTIES);
    free(copy);
    free(img.data);

    img = heif_file(1, 0, false);
    free(check_strip(&img, BP_IMAGE_HEIC, 1, 0));
    free(img.data);
}

static void test_bp_gps_strip_buffer_heif_unlocatable(void **state)
{
    /* Construction method 2 (from other items) cannot be rewritten. */
    struct image img = heif_file(1, 2, false);
    struct bp_error err = {""};
    assert_int_equal(
        bp_gps_strip_buffer(img.data, img.len, BP_IMAGE_HEIC, NULL, &err),
        BP_EUNSUPPORTED);
    free(img.data);

    /* An item that starts in ftyp and runs over meta is refused. */
    img = heif_file(0, 0, false);
    size_t iloc = 0;
    while (memcmp(img.data + iloc, "iloc", 4) != 0)
        iloc++;
    /* size, "iloc", version and flags, sizes, count, id, ref, extents */
    set_be32(img.data + iloc + 4 + 4 + 2 + 2 + 2 + 2 + 2, 4);
    assert_int_equal(
        bp_gps_strip_buffer(img.data, img.len, BP_IMAGE_HEIC, NULL, &err),
        BP_EINVAL);
    assert_non_null(strstr(err.detail, "box boundary"));
    free(img.data);
}

/* ---- tests: nothing to do ---- */

static void test_bp_gps_strip_buffer_no_gps_unchanged(void **state)
{
    unsigned char body[BLOCK_MAX];
    size_t len = exif_app1(body, sizeof(body), false, false, NULL);
    const unsigned char *bodies[] = {body};
    int markers[] = {0xe1};
    struct image img = jpeg_with(bodies, &len, markers, 1);
    struct bp_gps_strip_report report;
    unsigned char *copy = dup_bytes(img.data, img.len);
    assert_int_equal(
        bp_gps_strip_buffer(copy, img.len, BP_IMAGE_JPEG, &report, NULL),
        BP_OK);
    assert_int_equal(report.exif_blocks, 1);
    assert_int_equal(report.gps_ifds, 0);
    assert_int_equal(report.xmp_properties, 0);
    assert_memory_equal(copy, img.data, img.len);
    free(copy);
    free(img.data);

    static const char *const formats[] = {"JPEG", "PNG", "WEBP"};
    static const enum bp_image_format sniffed[] = {BP_IMAGE_JPEG, BP_IMAGE_PNG,
                                                   BP_IMAGE_WEBP};
    for (size_t i = 0; i < N(formats); i++) {
        size_t n;
        unsigned char *plain = make_image(formats[i], &n);
        copy = dup_bytes(plain, n);
        assert_int_equal(
            bp_gps_strip_buffer(copy, n, sniffed[i], &report, NULL), BP_OK);
        assert_int_equal(report.exif_blocks, 0);
        assert_memory_equal(copy, plain, n);
        free(copy);
        free(plain);
    }
}

static void test_bp_gps_strip_buffer_bad_format(void **state)
{
    size_t n;
    unsigned char *png = make_image("PNG", &n);
    struct bp_error err = {""};
    assert_int_equal(bp_gps_strip_buffer(png, n, BP_IMAGE_UNKNOWN, NULL, &err),
                     BP_EUNSUPPORTED);
    assert_int_equal(bp_gps_strip_buffer(png, n, BP_IMAGE_JPEG, NULL, &err),
                     BP_EINVAL);
    assert_int_equal(bp_gps_strip_buffer(png, n, BP_IMAGE_WEBP, NULL, &err),
                     BP_EINVAL);
    assert_int_equal(bp_gps_strip_buffer(png, n, BP_IMAGE_TIFF, NULL, &err),
                     BP_EINVAL);
    assert_int_equal(bp_gps_strip_buffer(NULL, 0, BP_IMAGE_JPEG, NULL, &err),
                     BP_EINVAL);
    unsigned char bigtiff[16] = "II+\0\x08\0\0\0";
    assert_int_equal(bp_gps_strip_buffer(bigtiff, sizeof(bigtiff),
                                         BP_IMAGE_TIFF, NULL, &err),
                     BP_EUNSUPPORTED);
    free(png);
}

/* ---- tests: broken blocks ---- */

/* Builds a little-endian block with GPS and applies a change to it. */
static size_t broken_block(unsigned char *block, struct exif_layout *l)
{
    memset(block, 0, BLOCK_MAX);
    *l = build_exif(block, BLOCK_MAX, false, true, NULL);
    return l->len;
}

static void le32_at(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

/* The value field of the GPS pointer entry of IFD0 (its last entry). */
static unsigned char *gps_pointer(unsigned char *block,
                                  const struct exif_layout *l)
{
    return block + entry_at(l->ifd0, 3) + 8;
}

static enum bp_rc strip_block(unsigned char *block, size_t len,
                              struct bp_gps_strip_report *report)
{
    struct bp_error err = {""};
    enum bp_rc rc =
        bp_gps_strip_buffer(block, len, BP_IMAGE_TIFF, report, &err);
    if (rc != BP_OK)
        assert_true(err.detail[0] != '\0');
    return rc;
}

static void test_bp_gps_strip_buffer_broken_blocks(void **state)
{
    unsigned char block[BLOCK_MAX], before[BLOCK_MAX];
    struct exif_layout l;
    struct bp_gps_strip_report r;
    size_t len;

    /* GPS pointer past the end: no reader finds it, nothing changes. */
    len = broken_block(block, &l);
    le32_at(gps_pointer(block, &l), 0xffffff00u);
    memcpy(before, block, len);
    assert_int_equal(strip_block(block, len, &r), BP_OK);
    assert_int_equal(r.gps_ifds, 0);
    assert_memory_equal(block, before, len);

    /* GPS IFD at IFD0, which holds no GPS tag: nothing to remove. */
    len = broken_block(block, &l);
    le32_at(gps_pointer(block, &l), (uint32_t)l.ifd0);
    memcpy(before, block, len);
    assert_int_equal(strip_block(block, len, &r), BP_OK);
    assert_int_equal(r.gps_ifds, 0);
    assert_memory_equal(block, before, len);

    /* The GPS IFD is also the EXIF IFD, in the header, or has a value
     * inside IFD0: refused. */
    len = broken_block(block, &l);
    le32_at(block + entry_at(l.ifd0, 2) + 8, (uint32_t)l.gps);
    assert_int_equal(strip_block(block, len, &r), BP_EINVAL);
    len = broken_block(block, &l);
    le32_at(gps_pointer(block, &l), 2);
    assert_int_equal(strip_block(block, len, &r), BP_EINVAL);
    len = broken_block(block, &l);
    le32_at(block + entry_at(l.gps, 2) + 8, (uint32_t)l.ifd0 + 2);
    assert_int_equal(strip_block(block, len, &r), BP_EINVAL);

    /* IFD loops: IFD0 chained to itself, the EXIF IFD pointing at IFD0. */
    len = broken_block(block, &l);
    le32_at(block + entry_at(l.ifd0, 4), (uint32_t)l.ifd0);
    assert_int_equal(strip_block(block, len, &r), BP_OK);
    assert_int_equal(r.gps_ifds, 1);
    assert_stripped_block(block, len);
    len = broken_block(block, &l);
    block[entry_at(l.exif, 0)] = 0x69;
    block[entry_at(l.exif, 0) + 1] = 0x87;
    le32_at(block + entry_at(l.exif, 0) + 8, (uint32_t)l.ifd0);
    assert_int_equal(strip_block(block, len, &r), BP_OK);
    assert_int_equal(r.gps_ifds, 1);

    /* A huge GPS entry count: emptied as far as the block goes. */
    len = broken_block(block, &l);
    block[l.gps] = 0xff;
    block[l.gps + 1] = 0xff;
    assert_int_equal(strip_block(block, len, &r), BP_OK);
    assert_int_equal(r.gps_ifds, 1);
    assert_int_equal(block[l.gps] | block[l.gps + 1], 0);

    /* A huge value count and an offset past the end in the GPS IFD. */
    len = broken_block(block, &l);
    le32_at(block + entry_at(l.gps, 2) + 4, 0xffffffffu);
    le32_at(block + entry_at(l.gps, 4) + 8, 0xfffffff0u);
    assert_int_equal(strip_block(block, len, &r), BP_OK);
    assert_int_equal(r.gps_ifds, 1);

    /* Every truncation of the block. */
    len = broken_block(block, &l);
    memcpy(before, block, len);
    for (size_t cut = 0; cut <= len; cut++) {
        unsigned char *part = dup_bytes(before, cut);
        enum bp_rc rc = bp_gps_strip_buffer(part, cut, BP_IMAGE_TIFF, &r, NULL);
        assert_true(rc == BP_OK || rc == BP_EINVAL);
        struct bp_exif_info info;
        if (rc == BP_OK && read_block(part, cut, &info))
            assert_false(info.coords.has_position);
        free(part);
    }
}

static void test_bp_gps_strip_buffer_too_many_ifds(void **state)
{
    unsigned char block[BLOCK_MAX];
    struct tb b = {block, sizeof(block), 0, true};
    tb_header(&b);
    size_t prev = 4;
    for (int i = 0; i < 80; i++) {
        size_t ifd = tb_ifd(&b, 0);
        tb_put32(&b, prev, (uint32_t)ifd);
        prev = ifd + 2;
    }
    assert_int_equal(strip_block(block, b.len, NULL), BP_EINVAL);
}

static void test_bp_gps_strip_buffer_broken_containers(void **state)
{
    unsigned char body[BLOCK_MAX], xmp[BLOCK_MAX];
    size_t lens[] = {exif_app1(body, sizeof(body), true, true, NULL),
                     xmp_app1(xmp, sizeof(xmp))};
    const unsigned char *bodies[] = {body, xmp};
    int markers[] = {0xe1, 0xe1};
    struct image jpeg = jpeg_with(bodies, lens, markers, 2);
    const char *types[] = {"eXIf"};
    size_t exif_len = lens[0] - EXIF_ID_LEN;
    const unsigned char *png_bodies[] = {body + EXIF_ID_LEN};
    struct image png = png_with(types, png_bodies, &exif_len, 1);
    struct image webp = webp_with(body, lens[0], true);
    struct image heif = heif_file(1, 0, true);
    struct image tiff = tiff_file(false);
    const struct image *images[] = {&jpeg, &png, &webp, &heif, &tiff};
    enum bp_image_format formats[] = {BP_IMAGE_JPEG, BP_IMAGE_PNG,
                                      BP_IMAGE_WEBP, BP_IMAGE_HEIC,
                                      BP_IMAGE_TIFF};

    /* A JPEG segment whose length runs past the end of the file. */
    unsigned char *copy = dup_bytes(jpeg.data, jpeg.len);
    copy[4] = 0xff;
    copy[5] = 0xff;
    assert_int_equal(
        bp_gps_strip_buffer(copy, jpeg.len, BP_IMAGE_JPEG, NULL, NULL),
        BP_EINVAL);
    free(copy);
    /* A PNG chunk longer than the file. */
    copy = dup_bytes(png.data, png.len);
    set_be32(copy + 33, 0x7ffffff0u);
    assert_int_equal(
        bp_gps_strip_buffer(copy, png.len, BP_IMAGE_PNG, NULL, NULL),
        BP_EINVAL);
    free(copy);

    /*
     * Every truncation and, in the first 600 bytes, every byte set to
     * 0xff and to 0: no sanitizer report, and on success no GPS left in
     * what libexif reads from a JPEG.
     */
    for (size_t f = 0; f < N(images); f++) {
        const struct image *img = images[f];
        for (size_t cut = 0; cut <= img->len; cut += cut < 800 ? 1 : 97) {
            copy = dup_bytes(img->data, cut);
            enum bp_rc rc =
                bp_gps_strip_buffer(copy, cut, formats[f], NULL, NULL);
            struct bp_exif_info info;
            if (rc == BP_OK && formats[f] == BP_IMAGE_JPEG &&
                bp_exif_read(copy, cut, &info, NULL) == BP_OK)
                assert_false(info.coords.has_position);
            free(copy);
        }
        for (size_t at = 0; at < img->len && at < 600; at++) {
            for (int v = 0; v < 2; v++) {
                copy = dup_bytes(img->data, img->len);
                copy[at] = v == 0 ? 0xff : 0x00;
                struct bp_gps_strip_report once;
                if (bp_gps_strip_buffer(copy, img->len, formats[f], &once,
                                        NULL) == BP_OK) {
                    unsigned char *again = dup_bytes(copy, img->len);
                    assert_int_equal(bp_gps_strip_buffer(again, img->len,
                                                         formats[f], NULL,
                                                         NULL),
                                     BP_OK);
                    assert_memory_equal(again, copy, img->len);
                    free(again);
                }
                free(copy);
            }
        }
    }
    free(jpeg.data);
    free(png.data);
    free(webp.data);
    free(heif.data);
    free(tiff.data);
}

/* ---- tests: the file wrapper ---- */

static bool write_file(const char *path, const unsigned char *p, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return false;
    bool ok = fwrite(p, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

static unsigned char *read_file(const char *path, size_t max, size_t *len)
{
    struct stat st;
    if (stat(path, &st) != 0 || (size_t)st.st_size > max)
        return NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    unsigned char *p = malloc((size_t)st.st_size + 1);
    assert_non_null(p);
    *len = fread(p, 1, (size_t)st.st_size, f);
    fclose(f);
    if (*len != (size_t)st.st_size) {
        free(p);
        return NULL;
    }
    return p;
}

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static void test_bp_gps_strip_file_writes_copy(void **state)
{
    char dir[] = "/tmp/bp-test-gps-XXXXXX";
    char src[64], dst[64], bad[64], missing[64];
    unsigned char body[BLOCK_MAX];
    struct bp_gps_strip_report report;
    struct bp_error err = {""};
    size_t len = exif_app1(body, sizeof(body), false, true, NULL);
    const unsigned char *bodies[] = {body};
    int markers[] = {0xe1};
    struct image img = jpeg_with(bodies, &len, markers, 1);

    assert_non_null(mkdtemp(dir));
    snprintf(src, sizeof(src), "%s/src.jpg", dir);
    snprintf(dst, sizeof(dst), "%s/dst.jpg", dir);
    snprintf(bad, sizeof(bad), "%s/bad.jpg", dir);
    snprintf(missing, sizeof(missing), "%s/missing.jpg", dir);
    assert_true(write_file(src, img.data, img.len));
    assert_int_equal(
        bp_gps_strip_file(src, dst, BP_IMAGE_JPEG, 0, &report, &err), BP_OK);
    assert_int_equal(report.gps_ifds, 1);
    size_t out_len, src_len;
    unsigned char *out = read_file(dst, 1 << 20, &out_len);
    unsigned char *in = read_file(src, 1 << 20, &src_len);
    assert_non_null(out);
    assert_non_null(in);
    assert_int_equal(out_len, img.len);
    assert_memory_equal(in, img.data, img.len); /* the source is untouched */
    unsigned char *want = dup_bytes(img.data, img.len);
    assert_int_equal(
        bp_gps_strip_buffer(want, img.len, BP_IMAGE_JPEG, NULL, NULL), BP_OK);
    assert_memory_equal(out, want, img.len);
    assert_int_equal(count_entries(dir), 2);

    /* Failures leave nothing behind, and an existing target as it was. */
    img.data[img.regions[0].at - 2] = 0xff; /* segment length past the end */
    img.data[img.regions[0].at - 1] = 0xff;
    assert_true(write_file(bad, img.data, img.len));
    assert_int_equal(
        bp_gps_strip_file(bad, dst, BP_IMAGE_JPEG, 0, &report, &err),
        BP_EINVAL);
    free(out);
    out = read_file(dst, 1 << 20, &out_len);
    assert_non_null(out);
    assert_memory_equal(out, want, img.len);
    char fresh[64];
    snprintf(fresh, sizeof(fresh), "%s/fresh.jpg", dir);
    assert_int_equal(
        bp_gps_strip_file(bad, fresh, BP_IMAGE_JPEG, 0, NULL, &err), BP_EINVAL);
    assert_int_equal(
        bp_gps_strip_file(src, fresh, BP_IMAGE_JPEG, 100, NULL, &err),
        BP_ETOOBIG);
    assert_int_equal(
        bp_gps_strip_file(missing, fresh, BP_IMAGE_JPEG, 0, NULL, &err),
        BP_ENOTFOUND);
    /* Nothing to remove: no copy is written. */
    char plain[64];
    snprintf(plain, sizeof(plain), "%s/plain.jpg", dir);
    struct image none = jpeg_with(NULL, NULL, NULL, 0);
    assert_true(write_file(plain, none.data, none.len));
    assert_int_equal(
        bp_gps_strip_file(plain, fresh, BP_IMAGE_JPEG, 0, &report, &err),
        BP_OK);
    assert_int_equal(report.gps_ifds + report.xmp_properties, 0);
    assert_int_equal(access(fresh, F_OK), -1);
    unlink(plain);
    free(none.data);
    char nodir[96];
    snprintf(nodir, sizeof(nodir), "%s/no/such/dir.jpg", dir);
    assert_int_equal(
        bp_gps_strip_file(src, nodir, BP_IMAGE_JPEG, 0, NULL, &err), BP_EIO);
    assert_int_equal(count_entries(dir), 3); /* src, dst, bad */

    unlink(src);
    unlink(dst);
    unlink(bad);
    rmdir(dir);
    free(want);
    free(in);
    free(out);
    free(img.data);
}

/* ---- the corpus ---- */

/* The state of one corpus run. */
struct corpus_run {
    size_t files, with_gps, stripped, changed, refused, failures;
};

/* Reads the EXIF of a whole file: JPEG and TIFF directly, else the
 * first "Exif\0\0" followed by a TIFF header (HEIF's Exif item). */
static bool read_file_exif(const unsigned char *p, size_t len,
                           enum bp_image_format format,
                           struct bp_exif_info *info)
{
    if (format == BP_IMAGE_JPEG || format == BP_IMAGE_TIFF)
        return bp_exif_read(p, len, info, NULL) == BP_OK;
    for (size_t i = 0; i + 10 <= len; i++)
        if (memcmp(p + i, "Exif\0\0", 6) == 0 &&
            (memcmp(p + i + 6, "MM\0*", 4) == 0 ||
             memcmp(p + i + 6, "II*\0", 4) == 0))
            return bp_exif_read(p + i, len - i, info, NULL) == BP_OK;
    return false;
}

static void corpus_visit(void *user, const char *path, const char *rel)
{
    struct corpus_run *run = user;
    size_t len;
    unsigned char *data = read_file(path, CORPUS_FILE_MAX, &len);
    if (data == NULL) {
        print_message("# UNREADABLE %s\n", rel);
        run->failures++;
        return;
    }
    enum bp_image_format format = bp_image_sniff(data, len);
    if (format == BP_IMAGE_UNKNOWN) {
        free(data);
        return;
    }
    run->files++;
    struct bp_exif_info before, after;
    bool had = read_file_exif(data, len, format, &before) &&
               before.coords.has_position;
    unsigned char *copy = dup_bytes(data, len);
    struct bp_gps_strip_report report;
    struct bp_error err = {""};
    enum bp_rc rc = bp_gps_strip_buffer(copy, len, format, &report, &err);
    run->with_gps += had;
    if (rc != BP_OK) {
        print_message("# refused %s: %s (%s)\n", rel, bp_rc_name(rc),
                      err.detail);
        if (rc != BP_EINVAL && rc != BP_EUNSUPPORTED)
            run->failures++;
        run->refused++;
        goto out_free;
    }
    if (read_file_exif(copy, len, format, &after) &&
        after.coords.has_position) {
        print_message("# GPS LEFT in %s\n", rel);
        run->failures++;
    }
    if (had && report.gps_ifds > 0)
        run->stripped++;
    else if (had) {
        print_message("# GPS NOT FOUND in %s\n", rel);
        run->failures++;
    }
    /*
     * A changed file still decodes to the same pixels (when the original
     * decodes); an unchanged one needs no decoding.
     */
    if (memcmp(copy, data, len) == 0)
        goto out_free;
    run->changed++;
    MagickWand *a = NewMagickWand(), *b = NewMagickWand();
    if (MagickReadImageBlob(a, data, len) != MagickFalse) {
        if (MagickReadImageBlob(b, copy, len) == MagickFalse) {
            print_message("# NO LONGER DECODES %s\n", rel);
            run->failures++;
        } else {
            char *sa = MagickGetImageSignature(a);
            char *sb = MagickGetImageSignature(b);
            if (sa == NULL || sb == NULL || strcmp(sa, sb) != 0) {
                print_message("# PIXELS CHANGED %s\n", rel);
                run->failures++;
            }
            MagickRelinquishMemory(sa);
            MagickRelinquishMemory(sb);
        }
    }
    DestroyMagickWand(a);
    DestroyMagickWand(b);
out_free:
    free(copy);
    free(data);
}

static void test_bp_gps_strip_buffer_corpus(void **state)
{
    char dir[PATH_MAX], samples[PATH_MAX];
    struct corpus_run run = {0};
    if (!bp_test_corpus_find(dir, sizeof(dir))) {
        print_message("# exif corpus not found at %s (set BANDPICS_CORPUS): "
                      "corpus stripping not run\n",
                      dir);
        return;
    }
    int n = snprintf(samples, sizeof(samples), "%s/exif-samples", dir);
    assert_true(n >= 0 && (size_t)n < sizeof(samples));
    run.failures += bp_test_corpus_walk(samples, "", corpus_visit, &run);
    print_message("# gps corpus %s: %zu files, %zu with a GPS position, "
                  "%zu stripped, %zu changed and decoded, %zu refused\n",
                  dir, run.files, run.with_gps, run.stripped, run.changed,
                  run.refused);
    assert_true(run.files > 0);
    assert_true(run.stripped > 0);
    assert_int_equal(run.failures, 0);
}

static int group_setup(void **state)
{
    MagickWandGenesis();
    return 0;
}

static int group_teardown(void **state)
{
    MagickWandTerminus();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bp_gps_strip_buffer_jpeg_little_endian),
        cmocka_unit_test(test_bp_gps_strip_buffer_jpeg_big_endian),
        cmocka_unit_test(test_bp_gps_strip_buffer_jpeg_two_exif_and_xmp),
        cmocka_unit_test(test_bp_gps_strip_buffer_jpeg_photoshop_irb),
        cmocka_unit_test(test_bp_gps_strip_buffer_png_exif_and_xmp),
        cmocka_unit_test(test_bp_gps_strip_buffer_png_raw_profile_text),
        cmocka_unit_test(test_bp_gps_strip_buffer_png_compressed_profile),
        cmocka_unit_test(test_bp_gps_strip_buffer_webp),
        cmocka_unit_test(test_bp_gps_strip_buffer_tiff_file),
        cmocka_unit_test(test_bp_gps_strip_buffer_heif_items),
        cmocka_unit_test(test_bp_gps_strip_buffer_heif_unlocatable),
        cmocka_unit_test(test_bp_gps_strip_buffer_no_gps_unchanged),
        cmocka_unit_test(test_bp_gps_strip_buffer_bad_format),
        cmocka_unit_test(test_bp_gps_strip_buffer_broken_blocks),
        cmocka_unit_test(test_bp_gps_strip_buffer_too_many_ifds),
        cmocka_unit_test(test_bp_gps_strip_buffer_broken_containers),
        cmocka_unit_test(test_bp_gps_strip_file_writes_copy),
        cmocka_unit_test(test_bp_gps_strip_buffer_corpus),
    };
    return cmocka_run_group_tests_name("gps_strip", tests, group_setup,
                                       group_teardown);
}
