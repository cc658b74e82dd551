/*
 * image_sniff.c: magic numbers of JPEG, PNG, WebP, HEIC/HEIF (ISO BMFF
 * "ftyp" brands) and TIFF.
 */
#include <string.h>

#include "media/image_sniff.h"

static int starts_with(const unsigned char *head, size_t len, const char *magic,
                       size_t magic_len)
{
    return len >= magic_len && memcmp(head, magic, magic_len) == 0;
}

/* HEIC brands carry HEVC images; "mif1"/"msf1" are generic HEIF. */
static enum bp_image_format heif_brand(const unsigned char *brand)
{
    static const char *const heic[] = {"heic", "heix", "hevc",
                                       "hevx", "heim", "heis"};
    for (size_t i = 0; i < sizeof(heic) / sizeof(heic[0]); i++)
        if (memcmp(brand, heic[i], 4) == 0)
            return BP_IMAGE_HEIC;
    if (memcmp(brand, "mif1", 4) == 0 || memcmp(brand, "msf1", 4) == 0)
        return BP_IMAGE_HEIF;
    return BP_IMAGE_UNKNOWN;
}

/*
 * Reads an ISO BMFF "ftyp" box: the major brand, then the compatible
 * brands, as far as the box and the bytes at hand go. A HEIC brand
 * anywhere wins over a generic HEIF one.
 */
static enum bp_image_format sniff_ftyp(const unsigned char *head, size_t len)
{
    if (len < 12 || memcmp(head + 4, "ftyp", 4) != 0)
        return BP_IMAGE_UNKNOWN;
    size_t box = ((size_t)head[0] << 24) | ((size_t)head[1] << 16) |
                 ((size_t)head[2] << 8) | head[3];
    if (box < 16 || box > 4096)
        return BP_IMAGE_UNKNOWN;
    size_t end = box < len ? box : len;
    enum bp_image_format found = heif_brand(head + 8);
    /* Compatible brands start after the 4-byte minor version. */
    for (size_t at = 16; at + 4 <= end && found != BP_IMAGE_HEIC; at += 4) {
        enum bp_image_format brand = heif_brand(head + at);
        if (brand != BP_IMAGE_UNKNOWN)
            found = brand;
    }
    return found;
}

enum bp_image_format bp_image_sniff(const unsigned char *head, size_t len)
{
    if (starts_with(head, len, "\xff\xd8\xff", 3))
        return BP_IMAGE_JPEG;
    if (starts_with(head, len, "\x89PNG\r\n\x1a\n", 8))
        return BP_IMAGE_PNG;
    if (len >= 12 && memcmp(head, "RIFF", 4) == 0 &&
        memcmp(head + 8, "WEBP", 4) == 0)
        return BP_IMAGE_WEBP;
    if (starts_with(head, len, "II*\0", 4) ||
        starts_with(head, len, "MM\0*", 4))
        return BP_IMAGE_TIFF;
    return sniff_ftyp(head, len);
}

const char *bp_image_mime_type(enum bp_image_format format)
{
    switch (format) {
    case BP_IMAGE_JPEG:
        return "image/jpeg";
    case BP_IMAGE_PNG:
        return "image/png";
    case BP_IMAGE_WEBP:
        return "image/webp";
    case BP_IMAGE_HEIC:
        return "image/heic";
    case BP_IMAGE_HEIF:
        return "image/heif";
    case BP_IMAGE_TIFF:
        return "image/tiff";
    case BP_IMAGE_UNKNOWN:
        break;
    }
    return NULL;
}

const char *bp_image_coder(enum bp_image_format format)
{
    switch (format) {
    case BP_IMAGE_JPEG:
        return "JPEG";
    case BP_IMAGE_PNG:
        return "PNG";
    case BP_IMAGE_WEBP:
        return "WEBP";
    case BP_IMAGE_HEIC:
    case BP_IMAGE_HEIF:
        return "HEIC";
    case BP_IMAGE_TIFF:
        return "TIFF";
    case BP_IMAGE_UNKNOWN:
        break;
    }
    return NULL;
}
