/*
 * fuzz_gps_strip.c: a libFuzzer target for the GPS stripper. Each input
 * is stripped as the format it sniffs as, or, when it sniffs as none, as
 * the format its first byte picks (so every container walk sees garbage
 * too). The invariants: no crash or sanitizer report; the rewrite keeps
 * the length (the API cannot change it) and is idempotent, stripping
 * the result again succeeds, finds nothing to remove and changes no
 * byte; and after a successful strip libexif reads no GPS position from
 * a JPEG or TIFF.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/exif_read.h"
#include "media/gps_strip.h"
#include "media/image_sniff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum bp_image_format formats[] = {BP_IMAGE_JPEG, BP_IMAGE_PNG,
                                                   BP_IMAGE_WEBP, BP_IMAGE_TIFF,
                                                   BP_IMAGE_HEIC};
    enum bp_image_format format = bp_image_sniff(data, size);
    if (format == BP_IMAGE_UNKNOWN)
        format = size > 0 ? formats[data[0] % 5] : BP_IMAGE_JPEG;

    unsigned char *once = malloc(size > 0 ? 2 * size : 2);
    if (once == NULL)
        return 0;
    unsigned char *twice = once + size;
    memcpy(once, data, size);
    struct bp_gps_strip_report first, second;
    if (bp_gps_strip_buffer(once, size, format, &first, NULL) != BP_OK)
        goto out_free;
    memcpy(twice, once, size);
    if (bp_gps_strip_buffer(twice, size, format, &second, NULL) != BP_OK ||
        second.gps_ifds != 0 || second.xmp_properties != 0 ||
        memcmp(once, twice, size) != 0)
        abort();
    struct bp_exif_info info;
    if ((format == BP_IMAGE_JPEG || format == BP_IMAGE_TIFF) &&
        bp_exif_read(once, size, &info, NULL) == BP_OK &&
        info.coords.has_position)
        abort();
out_free:
    free(once);
    return 0;
}
