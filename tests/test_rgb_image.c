/* test_rgb_image.c: area-average shrinking and EXIF orientation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "media/rgb_image.h"

/* A w x h image whose pixel (x, y) is (x, y, 7). */
static struct bp_rgb_image coordinates(size_t w, size_t h)
{
    struct bp_rgb_image image = {malloc(w * h * 3), w, h};
    assert_non_null(image.rgb);
    for (size_t y = 0; y < h; y++)
        for (size_t x = 0; x < w; x++) {
            unsigned char *p = image.rgb + (y * w + x) * 3;
            p[0] = (unsigned char)x;
            p[1] = (unsigned char)y;
            p[2] = 7;
        }
    return image;
}

static const unsigned char *at(const struct bp_rgb_image *image, size_t x,
                               size_t y)
{
    return image->rgb + (y * image->width + x) * 3;
}

static void test_bp_rgb_image_shrink_averages_areas(void **state)
{
    /* Halving: each output is the mean of a 2x2 block. */
    struct bp_rgb_image in = coordinates(8, 6), out;
    assert_int_equal(bp_rgb_image_shrink(&in, 4, 3, &out), BP_OK);
    assert_int_equal(out.width, 4);
    assert_int_equal(out.height, 3);
    for (size_t y = 0; y < 3; y++)
        for (size_t x = 0; x < 4; x++) {
            /* (2x + 2x + 1) / 2 = 2x + 0.5, rounded. */
            assert_int_equal(at(&out, x, y)[0], 2 * x + 1);
            assert_int_equal(at(&out, x, y)[1], 2 * y + 1);
            assert_int_equal(at(&out, x, y)[2], 7);
        }
    bp_rgb_image_free(&out);
    /* A third off: the middle output takes a share of both neighbours. */
    memset(in.rgb, 0, in.width * in.height * 3);
    for (size_t y = 0; y < in.height; y++)
        memset(in.rgb + (y * in.width + 4) * 3, 255, 4 * 3);
    assert_int_equal(bp_rgb_image_shrink(&in, 3, 6, &out), BP_OK);
    /* Outputs cover inputs [0, 8/3), [8/3, 16/3), [16/3, 8). */
    assert_int_equal(at(&out, 0, 0)[0], 0);
    assert_int_equal(at(&out, 1, 0)[0], 128); /* 4/3 white of 8/3 */
    assert_int_equal(at(&out, 2, 0)[0], 255);
    bp_rgb_image_free(&out);
    /* The same size copies; a larger or empty one is refused. */
    assert_int_equal(bp_rgb_image_shrink(&in, 8, 6, &out), BP_OK);
    assert_memory_equal(out.rgb, in.rgb, 8 * 6 * 3);
    bp_rgb_image_free(&out);
    assert_int_equal(bp_rgb_image_shrink(&in, 9, 6, &out), BP_EINVAL);
    assert_int_equal(bp_rgb_image_shrink(&in, 0, 6, &out), BP_EINVAL);
    assert_null(out.rgb);
    /* A large ratio: one pixel for the whole, the mean. */
    struct bp_rgb_image wide = coordinates(200, 3);
    assert_int_equal(bp_rgb_image_shrink(&wide, 1, 1, &out), BP_OK);
    assert_true(at(&out, 0, 0)[0] == 99 || at(&out, 0, 0)[0] == 100); /* 99.5 */
    assert_int_equal(at(&out, 0, 0)[1], 1);
    bp_rgb_image_free(&out);
    bp_rgb_image_free(&wide);
    bp_rgb_image_free(&in);
}

/* The exact area average of in over output pixel (ox, oy), channel c,
 * for an out_w x out_h result. */
static double area_mean(const struct bp_rgb_image *in, size_t out_w,
                        size_t out_h, size_t ox, size_t oy, int c)
{
    double x0 = (double)ox * in->width / out_w;
    double x1 = (double)(ox + 1) * in->width / out_w;
    double y0 = (double)oy * in->height / out_h;
    double y1 = (double)(oy + 1) * in->height / out_h;
    double sum = 0;
    for (size_t y = (size_t)y0; (double)y < y1; y++)
        for (size_t x = (size_t)x0; (double)x < x1; x++) {
            double wx = (x + 1 < x1 ? x + 1 : x1) - (x > x0 ? x : x0);
            double wy = (y + 1 < y1 ? y + 1 : y1) - (y > y0 ? y : y0);
            sum += wx * wy * at(in, x, y)[c];
        }
    return sum / ((x1 - x0) * (y1 - y0));
}

static void test_bp_rgb_image_shrink_matches_exact_means(void **state)
{
    (void)state;
    /* Noise, so that every byte lane of the vector paths matters; sizes
     * for two taps (a small shrink, as for the fullsize) both ways, and
     * for many (as for the thumb). */
    static const size_t sizes[][4] = {{101, 67, 97, 64},
                                      {64, 40, 61, 39},
                                      {300, 200, 29, 19},
                                      {33, 9, 32, 8}};
    unsigned seed = 12345;
    for (size_t t = 0; t < sizeof(sizes) / sizeof(sizes[0]); t++) {
        size_t w = sizes[t][0], h = sizes[t][1];
        struct bp_rgb_image in = {malloc(w * h * 3), w, h}, out;
        assert_non_null(in.rgb);
        for (size_t i = 0; i < w * h * 3; i++) {
            seed = seed * 1103515245u + 12345u;
            in.rgb[i] = (unsigned char)(seed >> 16);
        }
        size_t ow = sizes[t][2], oh = sizes[t][3];
        assert_int_equal(bp_rgb_image_shrink(&in, ow, oh, &out), BP_OK);
        for (size_t y = 0; y < oh; y++)
            for (size_t x = 0; x < ow; x++)
                for (int c = 0; c < 3; c++) {
                    double want = area_mean(&in, ow, oh, x, y, c);
                    double got = at(&out, x, y)[c];
                    if (got < want - 1.0 || got > want + 1.0)
                        fail_msg("%zux%zu -> %zux%zu at (%zu, %zu) channel %d: "
                                 "%.0f, the mean is %.2f",
                                 w, h, ow, oh, x, y, c, got, want);
                }
        bp_rgb_image_free(&out);
        bp_rgb_image_free(&in);
    }
}

static void test_bp_rgb_image_orient_each_value(void **state)
{
    struct bp_rgb_image in = coordinates(3, 2), out;
    /* Where stored pixel (0, 0) (the top-left as stored) ends up, for
     * orientations 1 to 8 (EXIF: 6 is turned 90 degrees clockwise). */
    static const struct {
        size_t w, h, x, y;
    } corner[] = {
        {3, 2, 0, 0}, {3, 2, 2, 0}, {3, 2, 2, 1}, {3, 2, 0, 1},
        {2, 3, 0, 0}, {2, 3, 1, 0}, {2, 3, 1, 2}, {2, 3, 0, 2},
    };
    for (int o = 1; o <= 8; o++) {
        assert_int_equal(bp_rgb_image_orient(&in, o, &out), BP_OK);
        assert_int_equal(out.width, corner[o - 1].w);
        assert_int_equal(out.height, corner[o - 1].h);
        const unsigned char *p = at(&out, corner[o - 1].x, corner[o - 1].y);
        assert_int_equal(p[0], 0);
        assert_int_equal(p[1], 0);
        bp_rgb_image_free(&out);
    }
    /* Out of range: as stored. */
    assert_int_equal(bp_rgb_image_orient(&in, 9, &out), BP_OK);
    assert_memory_equal(out.rgb, in.rgb, 3 * 2 * 3);
    bp_rgb_image_free(&out);
    bp_rgb_image_free(&in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bp_rgb_image_shrink_averages_areas),
        cmocka_unit_test(test_bp_rgb_image_shrink_matches_exact_means),
        cmocka_unit_test(test_bp_rgb_image_orient_each_value),
    };
    return cmocka_run_group_tests_name("rgb_image", tests, NULL, NULL);
}
