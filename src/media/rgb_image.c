/*
 * rgb_image.c: area-average shrinking and EXIF orientation of 8-bit RGB
 * pixels.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

/*
 * One output pixel of a two-tap shrink across: the pixels at p and p + 3
 * weighted by wa and wb (14-bit weights, adding up to at most 1 << 14),
 * kept with 8 fraction bits.
 */
static void blend_two_pixels(const unsigned char *p, uint32_t wa, uint32_t wb,
                             uint16_t *dst)
{
    dst[0] = (uint16_t)((wa * p[0] + wb * p[3]) >> 6);
    dst[1] = (uint16_t)((wa * p[1] + wb * p[4]) >> 6);
    dst[2] = (uint16_t)((wa * p[2] + wb * p[5]) >> 6);
}

/*
 * Shrinks row y of in across into dst (values with 8 fraction bits): the
 * outputs of two taps (a small shrink) through blend_two_pixels, with
 * SSE2 where the eight bytes it loads lie inside the row, the others
 * through the general sum.
 */
static void shrink_row(const struct bp_rgb_image *in, size_t y,
                       const struct spans *across, size_t width, uint16_t *dst)
{
    const unsigned char *src = in->rgb + y * in->width * 3;
    size_t row_bytes = in->width * 3;
#if defined(__SSE2__)
    const __m128i zero = _mm_setzero_si128();
    const __m128i bias32 = _mm_set1_epi32(32768);
    const __m128i bias16 = _mm_set1_epi16((short)-32768);
#endif
    for (size_t i = 0; i < width; i++) {
        const uint32_t *w = across->weights + i * across->max_taps;
        size_t at = across->first[i] * 3;
        const unsigned char *p = src + at;
        size_t count = across->count[i];
        if (count == 2) {
            /* 16-bit weights to 14, so that two products and their sum
             * fit a signed 32-bit lane. */
            uint32_t wa = w[0] >> 2, wb = w[1] >> 2;
#if defined(__SSE2__)
            /* The last output of the row writes a fourth value, which the
             * next output (or the slack of the row) overwrites. */
            if (at + 8 <= row_bytes && i + 1 < width) {
                __m128i px = _mm_unpacklo_epi8(
                    _mm_loadl_epi64((const __m128i *)p), zero);
                /* (p0, p3), (p1, p4), (p2, p5) as 16-bit pairs. */
                __m128i pairs = _mm_unpacklo_epi16(px, _mm_srli_si128(px, 6));
                __m128i weights = _mm_set1_epi32((int)(wa | (wb << 16)));
                __m128i sums =
                    _mm_srli_epi32(_mm_madd_epi16(pairs, weights), 6);
                /* Up to 255 << 8, past a signed 16-bit pack: packed less
                 * 32768, then shifted back. */
                sums = _mm_sub_epi32(sums, bias32);
                __m128i values =
                    _mm_add_epi16(_mm_packs_epi32(sums, sums), bias16);
                _mm_storel_epi64((__m128i *)(dst + 3 * i), values);
                continue;
            }
#endif
            blend_two_pixels(p, wa, wb, dst + 3 * i);
            continue;
        }
        /* Many taps (a large shrink, as for the thumb): the inputs wholly
         * inside the span all weigh the same, so they are summed first
         * and weighed once; the two ends weigh their shares. */
        uint32_t r = w[0] * p[0], g = w[0] * p[1], b = w[0] * p[2];
        if (count > 1) {
            uint32_t mid_r = 0, mid_g = 0, mid_b = 0;
            const unsigned char *q = p + 3;
            for (size_t k = 1; k + 1 < count; k++, q += 3) {
                mid_r += q[0];
                mid_g += q[1];
                mid_b += q[2];
            }
            uint32_t mid = count > 2 ? w[1] : 0, last = w[count - 1];
            r += mid * mid_r + last * q[0];
            g += mid * mid_g + last * q[1];
            b += mid * mid_b + last * q[2];
        }
        dst[3 * i] = (uint16_t)(r >> 8);
        dst[3 * i + 1] = (uint16_t)(g >> 8);
        dst[3 * i + 2] = (uint16_t)(b >> 8);
    }
}

/*
 * The common case of a small shrink down: d[i] = a[i] * wa + b[i] * wb,
 * rounded, for values with 8 fraction bits and 14-bit weights. The
 * weights add up to at most 1 << 14, so a value never passes 255 (no
 * clamp). SSE2 (every x86-64) takes 16 values a step; the scalar loop
 * does the rest and every other machine.
 */
static void blend_two_rows(const uint16_t *restrict a,
                           const uint16_t *restrict b, uint32_t wa, uint32_t wb,
                           size_t len, unsigned char *restrict d)
{
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i weight_a = _mm_set1_epi16((short)wa);
    const __m128i weight_b = _mm_set1_epi16((short)wb);
    const __m128i half = _mm_set1_epi32(1 << 21);
    for (; i + 16 <= len; i += 16) {
        __m128i packed[2];
        for (int h = 0; h < 2; h++) {
            __m128i va = _mm_loadu_si128((const __m128i *)(a + i + 8 * h));
            __m128i vb = _mm_loadu_si128((const __m128i *)(b + i + 8 * h));
            /* 16 x 16 -> 32-bit products from their low and high halves. */
            __m128i a_lo = _mm_mullo_epi16(va, weight_a);
            __m128i a_hi = _mm_mulhi_epu16(va, weight_a);
            __m128i b_lo = _mm_mullo_epi16(vb, weight_b);
            __m128i b_hi = _mm_mulhi_epu16(vb, weight_b);
            __m128i sum_low4 = _mm_add_epi32(_mm_unpacklo_epi16(a_lo, a_hi),
                                             _mm_unpacklo_epi16(b_lo, b_hi));
            __m128i sum_high4 = _mm_add_epi32(_mm_unpackhi_epi16(a_lo, a_hi),
                                              _mm_unpackhi_epi16(b_lo, b_hi));
            sum_low4 = _mm_srli_epi32(_mm_add_epi32(sum_low4, half), 22);
            sum_high4 = _mm_srli_epi32(_mm_add_epi32(sum_high4, half), 22);
            packed[h] = _mm_packs_epi32(sum_low4, sum_high4);
        }
        _mm_storeu_si128((__m128i *)(d + i),
                         _mm_packus_epi16(packed[0], packed[1]));
    }
#endif
    for (; i < len; i++)
        d[i] = (unsigned char)((wa * a[i] + wb * b[i] + (1u << 21)) >> 22);
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
            blend_two_rows(taps[0], taps[1], w[0], w[1], line, dst);
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
