/*
 * fuzz_exif_read.c: a libFuzzer target for the metadata reader. Every
 * input is read as a JPEG, an "Exif\0\0" block or a TIFF block (whatever
 * it starts with), and again with an "Exif\0\0" header put in front, and
 * the capture time is derived from what was read. The invariants: no
 * crash or sanitizer report, every string field NUL-terminated and valid
 * in length, positions and orientation in range.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/exif_read.h"

static void check(const struct bp_exif_info *info)
{
    if (memchr(info->date_time, '\0', sizeof(info->date_time)) == NULL ||
        memchr(info->make, '\0', sizeof(info->make)) == NULL ||
        memchr(info->model, '\0', sizeof(info->model)) == NULL ||
        memchr(info->gps_utc, '\0', sizeof(info->gps_utc)) == NULL)
        abort();
    if (info->orientation < 0 || info->orientation > 8)
        abort();
    if (info->coords.has_position &&
        (info->coords.latitude < -90 || info->coords.latitude > 90 ||
         info->coords.longitude < -180 || info->coords.longitude > 180))
        abort();
    char taken[BP_EXIF_TAKEN_AT_LEN];
    bp_exif_taken_at(info, taken);
    if (memchr(taken, '\0', sizeof(taken)) == NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bp_exif_info info;
    if (bp_exif_read(data, size, &info, NULL) == BP_OK)
        check(&info);
    unsigned char *framed = malloc(size + 6);
    if (framed == NULL)
        return 0;
    memcpy(framed, "Exif\0\0", 6);
    memcpy(framed + 6, data, size);
    if (bp_exif_read(framed, size + 6, &info, NULL) == BP_OK)
        check(&info);
    free(framed);
    return 0;
}
