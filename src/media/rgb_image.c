/*
 * rgb_image.c: area-average shrinking and EXIF orientation of 8-bit RGB
 * pixels.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/rgb_image.h"

/* Allocates width x height pixels for out. */
static enum bp_rc allocate(struct bp_rgb_image *out, size_t width,
                           size_t height)
{
    out->width = width;
    out->height = height;
    if (width != 0 && height > SIZE_MAX / 3 / width)
        return BP_ENOMEM;
    out->rgb = malloc(width * height * 3 + 1);
    return out->rgb == NULL ? BP_ENOMEM : BP_OK;
}

/*
 * The source span of each of out_len outputs over in_len inputs, as
 * weights: output i covers [i * in_len / out_len, (i + 1) * in_len /
 * out_len), each input counted by the part of it inside (fixed point:
 * the weights of one output add up to 1 << bits). first[i] is its first
 * input, count[i] how many, weights at weights + i * max_taps.
 */
struct spans {
    size_t *first, *count;
    uint32_t *weights;
    size_t max_taps;
};

static void spans_free(struct spans *s)
{
    free(s->first);
    free(s->count);
    free(s->weights);
}

static enum bp_rc spans_make(size_t in_len, size_t out_len, unsigned bits,
                             struct spans *s)
{
    s->max_taps = in_len / out_len + 2;
    s->first = calloc(out_len, sizeof(*s->first));
    s->count = calloc(out_len, sizeof(*s->count));
    s->weights = calloc(out_len * s->max_taps, sizeof(*s->weights));
    if (s->first == NULL || s->count == NULL || s->weights == NULL) {
        spans_free(s);
        return BP_ENOMEM;
    }
    for (size_t i = 0; i < out_len; i++) {
        /* In units of 1/out_len of an input pixel. */
        uint64_t from = (uint64_t)i * in_len, to = (uint64_t)(i + 1) * in_len;
        size_t first = (size_t)(from / out_len);
        s->first[i] = first;
        size_t n = 0;
        for (size_t x = first; (uint64_t)x * out_len < to; x++) {
            uint64_t lo = (uint64_t)x * out_len, hi = lo + out_len;
            uint64_t a = lo > from ? lo : from, b = hi < to ? hi : to;
            /* Share of output i in input x, scaled to 1 << bits. */
            s->weights[i * s->max_taps + n] =
                (uint32_t)(((b - a) << bits) / in_len);
            n++;
        }
        s->count[i] = n;
    }
    return BP_OK;
}

/* Shrinks row y of in across into dst (values with 8 fraction bits). */
static void shrink_row(const struct bp_rgb_image *in, size_t y,
                       const struct spans *across, size_t width, uint16_t *dst)
{
    const unsigned char *src = in->rgb + y * in->width * 3;
    for (size_t i = 0; i < width; i++) {
        uint32_t r = 0, g = 0, b = 0;
        const uint32_t *w = across->weights + i * across->max_taps;
        const unsigned char *p = src + across->first[i] * 3;
        size_t count = across->count[i];
        if (count == 2) {
            /* The common case of a small shrink, unrolled. */
            r = w[0] * p[0] + w[1] * p[3];
            g = w[0] * p[1] + w[1] * p[4];
            b = w[0] * p[2] + w[1] * p[5];
        } else {
            for (size_t k = 0; k < count; k++, p += 3) {
                r += w[k] * p[0];
                g += w[k] * p[1];
                b += w[k] * p[2];
            }
        }
        dst[3 * i] = (uint16_t)(r >> 8);
        dst[3 * i + 1] = (uint16_t)(g >> 8);
        dst[3 * i + 2] = (uint16_t)(b >> 8);
    }
}

enum bp_rc bp_rgb_image_shrink(const struct bp_rgb_image *in, size_t width,
                               size_t height, struct bp_rgb_image *out)
{
    memset(out, 0, sizeof(*out));
    if (width == 0 || height == 0 || width > in->width || height > in->height)
        return BP_EINVAL;
    struct spans across = {0}, down = {0};
    uint16_t *rows = NULL;
    size_t *row_of = NULL;
    const uint16_t **taps = NULL;
    /* Across: 16-bit weights on 8-bit values, kept with 8 fraction bits
     * (at most 255 << 8); down: 14-bit weights on those, so that a sum
     * stays under 1 << 30. */
    enum bp_rc rc = spans_make(in->width, width, 16, &across);
    if (rc == BP_OK)
        rc = spans_make(in->height, height, 14, &down);
    /* The input rows shrunk across: one slot per tap down, input row y
     * in slot y % max_taps (an output's rows are consecutive). */
    size_t line = width * 3, slots = down.max_taps;
    if (rc == BP_OK && ((rows = malloc(slots * line * sizeof(*rows))) == NULL ||
                        (row_of = malloc(slots * sizeof(*row_of))) == NULL ||
                        (taps = malloc(slots * sizeof(*taps))) == NULL))
        rc = BP_ENOMEM;
    if (rc == BP_OK)
        rc = allocate(out, width, height);
    if (rc != BP_OK)
        goto out_free;
    for (size_t k = 0; k < slots; k++)
        row_of[k] = SIZE_MAX;
    for (size_t j = 0; j < height; j++) {
        size_t count = down.count[j];
        const uint32_t *w = down.weights + j * down.max_taps;
        for (size_t k = 0; k < count; k++) {
            size_t y = down.first[j] + k, slot = y % slots;
            if (row_of[slot] != y) {
                shrink_row(in, y, &across, width, rows + slot * line);
                row_of[slot] = y;
            }
            taps[k] = rows + slot * line;
        }
        unsigned char *dst = out->rgb + j * line;
        if (count == 2) {
            /* The common case of a small shrink, in a loop the compiler
             * can vectorize. The weights add up to at most 1 << 14, so a
             * value never passes 255 (no clamp). */
            const uint16_t *restrict a = taps[0], *restrict b = taps[1];
            unsigned char *restrict d = dst;
            uint32_t wa = w[0], wb = w[1];
            for (size_t i = 0; i < line; i++)
                d[i] =
                    (unsigned char)((wa * a[i] + wb * b[i] + (1u << 21)) >> 22);
            continue;
        }
        for (size_t i = 0; i < line; i++) {
            uint32_t sum = 0;
            for (size_t k = 0; k < count; k++)
                sum += w[k] * taps[k][i];
            /* 14 bits of weight down, 8 of fraction across. */
            uint32_t v = (sum + (1u << 21)) >> 22;
            dst[i] = (unsigned char)(v > 255 ? 255 : v);
        }
    }
out_free:
    free(rows);
    free(row_of);
    free(taps);
    spans_free(&across);
    spans_free(&down);
    if (rc != BP_OK)
        bp_rgb_image_free(out);
    return rc;
}

enum bp_rc bp_rgb_image_orient(const struct bp_rgb_image *in, int orientation,
                               struct bp_rgb_image *out)
{
    memset(out, 0, sizeof(*out));
    if (orientation < 1 || orientation > 8)
        orientation = 1;
    bool swap = orientation >= 5;
    size_t w = swap ? in->height : in->width;
    size_t h = swap ? in->width : in->height;
    enum bp_rc rc = allocate(out, w, h);
    if (rc != BP_OK)
        return rc;
    /* For each output (x, y), the stored pixel it shows. */
    for (size_t y = 0; y < h; y++) {
        for (size_t x = 0; x < w; x++) {
            size_t sx, sy;
            switch (orientation) {
            case 2:
                sx = in->width - 1 - x;
                sy = y;
                break;
            case 3:
                sx = in->width - 1 - x;
                sy = in->height - 1 - y;
                break;
            case 4:
                sx = x;
                sy = in->height - 1 - y;
                break;
            case 5:
                sx = y;
                sy = x;
                break;
            case 6:
                sx = y;
                sy = in->height - 1 - x;
                break;
            case 7:
                sx = in->width - 1 - y;
                sy = in->height - 1 - x;
                break;
            case 8:
                sx = in->width - 1 - y;
                sy = x;
                break;
            default:
                sx = x;
                sy = y;
                break;
            }
            memcpy(out->rgb + (y * w + x) * 3,
                   in->rgb + (sy * in->width + sx) * 3, 3);
        }
    }
    return BP_OK;
}

void bp_rgb_image_free(struct bp_rgb_image *image)
{
    free(image->rgb);
    memset(image, 0, sizeof(*image));
}
