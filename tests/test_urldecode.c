/* test_urldecode.c: percent-decoding, UTF-8 validation and counting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http/urldecode.h"

/* Fails unless decoding text gives BP_OK and exactly want. */
static void expect_decoded(const char *text, bool plus_is_space,
                           const char *want)
{
    struct bp_buf out;
    bp_buf_init(&out, 0);
    assert_int_equal(bp_url_decode(text, strlen(text), plus_is_space, &out),
                     BP_OK);
    assert_non_null(out.data);
    assert_int_equal(out.len, strlen(want));
    assert_string_equal(out.data, want);
    bp_buf_free(&out);
}

/* Fails unless decoding text gives BP_EINVAL. */
static void expect_refused(const char *text, bool plus_is_space)
{
    struct bp_buf out;
    bp_buf_init(&out, 0);
    enum bp_rc rc = bp_url_decode(text, strlen(text), plus_is_space, &out);
    if (rc != BP_EINVAL)
        fail_msg("'%s' gave %d, not BP_EINVAL", text, rc);
    bp_buf_free(&out);
}

static void test_bp_url_decode_plain_text(void **state)
{
    expect_decoded("/image_groups/abc", false, "/image_groups/abc");
    expect_decoded("a-b_c.d~e", true, "a-b_c.d~e");
}

static void test_bp_url_decode_empty_gives_empty_string(void **state)
{
    expect_decoded("", false, "");
    expect_decoded("", true, "");
}

static void test_bp_url_decode_escapes(void **state)
{
    expect_decoded("a%20b", false, "a b");
    expect_decoded("%2f%2F%41%7e", false, "//A~");
    expect_decoded("%C3%A9%e2%82%ac", false, "\xc3\xa9\xe2\x82\xac");
    expect_decoded("%25", false, "%");
    expect_decoded("%2525", false, "%25");
}

static void test_bp_url_decode_plus_handling(void **state)
{
    expect_decoded("a+b", true, "a b");
    expect_decoded("a+b", false, "a+b");
    expect_decoded("%2B+", true, "+ ");
    expect_decoded("%2B+", false, "++");
}

static void test_bp_url_decode_rejects_bad_escapes(void **state)
{
    expect_refused("%", false);
    expect_refused("%4", false);
    expect_refused("a%", true);
    expect_refused("a%4", true);
    expect_refused("%zz", false);
    expect_refused("%4g", false);
    expect_refused("%g4", false);
    expect_refused("% 41", false);
}

static void test_bp_url_decode_respects_len(void **state)
{
    struct bp_buf out;
    bp_buf_init(&out, 0);
    assert_int_equal(bp_url_decode("abc%20def", 3, false, &out), BP_OK);
    assert_string_equal(out.data, "abc");
    bp_buf_reset(&out);
    /* The escape is cut by len, even though the text goes on. */
    assert_int_equal(bp_url_decode("a%20", 3, false, &out), BP_EINVAL);
    bp_buf_free(&out);
}

static void test_bp_url_decode_rejects_control_characters(void **state)
{
    expect_refused("%00", false);
    expect_refused("a%00b", true);
    expect_refused("%0A", false);
    expect_refused("%0d", false);
    expect_refused("%1F", false);
    expect_refused("%7F", false);
    expect_refused("a\tb", false);
    expect_refused("a\nb", true);
    expect_refused("a\x7f", false);
    expect_decoded("%20%7E", false, " ~");
}

static void test_bp_url_decode_rejects_invalid_utf8(void **state)
{
    expect_refused("%C3", false);
    expect_refused("%C3%28", false);
    expect_refused("%FF", false);
    expect_refused("%C0%80", false);
    expect_refused("%ED%A0%80", false);
    expect_refused("\xc3", false);
    expect_decoded("\xc3\xa9", false, "\xc3\xa9");
}

static void test_bp_url_decode_appends(void **state)
{
    struct bp_buf out;
    bp_buf_init(&out, 0);
    assert_int_equal(bp_buf_append_str(&out, "x="), BP_OK);
    assert_int_equal(bp_url_decode("%C3%A9", 6, false, &out), BP_OK);
    assert_string_equal(out.data, "x=\xc3\xa9");
    bp_buf_free(&out);
}

static void test_bp_url_decode_respects_buffer_cap(void **state)
{
    struct bp_buf out;
    bp_buf_init(&out, 4);
    assert_int_equal(bp_url_decode("abcdef", 6, false, &out), BP_ETOOBIG);
    bp_buf_free(&out);
}

/* Fails unless bp_utf8_valid gives want for the len bytes at text. */
static void expect_utf8(const char *text, size_t len, bool want)
{
    if (bp_utf8_valid(text, len) != want) {
        char hex[64] = "";
        for (size_t i = 0; i < len && 3 * i + 3 < sizeof(hex); i++)
            snprintf(hex + 3 * i, 4, "%02X ", (unsigned char)text[i]);
        fail_msg("bp_utf8_valid(%s) should be %s", hex,
                 want ? "true" : "false");
    }
}

#define VALID(s) expect_utf8(s, sizeof(s) - 1, true)
#define INVALID(s) expect_utf8(s, sizeof(s) - 1, false)

static void test_bp_utf8_valid_accepts_valid(void **state)
{
    VALID("");
    VALID("plain ASCII \x01\x7f");
    VALID("\xc2\x80");               /* U+0080, smallest 2-byte */
    VALID("\xc3\xa9");               /* é */
    VALID("\xdf\xbf");               /* U+07FF */
    VALID("\xe0\xa0\x80");           /* U+0800, smallest 3-byte */
    VALID("\xe2\x82\xac");           /* € */
    VALID("\xed\x9f\xbf");           /* U+D7FF, below the surrogates */
    VALID("\xee\x80\x80");           /* U+E000, above the surrogates */
    VALID("\xef\xbf\xbf");           /* U+FFFF */
    VALID("\xf0\x90\x80\x80");       /* U+10000, smallest 4-byte */
    VALID("\xf0\x9f\x98\x80");       /* emoji */
    VALID("\xf4\x8f\xbf\xbf");       /* U+10FFFF */
    VALID("a\xc3\xa9z\xe2\x82\xac"); /* mixed */
    expect_utf8("a\0b", 3, true);
}

static void test_bp_utf8_valid_rejects_overlongs(void **state)
{
    INVALID("\xc0\x80");
    INVALID("\xc1\xbf");
    INVALID("\xe0\x80\x80");
    INVALID("\xe0\x9f\xbf");
    INVALID("\xf0\x80\x80\x80");
    INVALID("\xf0\x8f\xbf\xbf");
}

static void test_bp_utf8_valid_rejects_surrogates(void **state)
{
    INVALID("\xed\xa0\x80"); /* U+D800 */
    INVALID("\xed\xbf\xbf"); /* U+DFFF */
    INVALID("\xed\xa0\xbd\xed\xb8\x80");
}

static void test_bp_utf8_valid_rejects_above_max(void **state)
{
    INVALID("\xf4\x90\x80\x80"); /* U+110000 */
    INVALID("\xf5\x80\x80\x80");
    INVALID("\xf7\xbf\xbf\xbf");
    INVALID("\xf8\x88\x80\x80\x80");
    INVALID("\xfe");
    INVALID("\xff");
}

static void test_bp_utf8_valid_rejects_truncated(void **state)
{
    INVALID("\xc3");
    INVALID("\xe2\x82");
    INVALID("\xf0\x9f\x98");
    INVALID("a\xc3");
    /* The length counts, not the NUL: a sequence cut by len is invalid. */
    expect_utf8("\xc3\xa9", 1, false);
    expect_utf8("\xf0\x9f\x98\x80", 3, false);
}

static void test_bp_utf8_valid_rejects_bad_continuations(void **state)
{
    INVALID("\x80");
    INVALID("\xbf");
    INVALID("a\x80z");
    INVALID("\xc3\x28");
    INVALID("\xe2\x28\xac");
    INVALID("\xe2\x82\x28");
    INVALID("\xf0\x9f\x28\x80");
    INVALID("\xc3\xa9\xa9");
}

static void test_bp_utf8_length_counts_code_points(void **state)
{
    assert_int_equal(bp_utf8_length(""), 0);
    assert_int_equal(bp_utf8_length("abc"), 3);
    assert_int_equal(bp_utf8_length("\xc3\xa9"), 1);
    assert_int_equal(bp_utf8_length("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z"),
                     5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bp_url_decode_plain_text),
        cmocka_unit_test(test_bp_url_decode_empty_gives_empty_string),
        cmocka_unit_test(test_bp_url_decode_escapes),
        cmocka_unit_test(test_bp_url_decode_plus_handling),
        cmocka_unit_test(test_bp_url_decode_rejects_bad_escapes),
        cmocka_unit_test(test_bp_url_decode_respects_len),
        cmocka_unit_test(test_bp_url_decode_rejects_control_characters),
        cmocka_unit_test(test_bp_url_decode_rejects_invalid_utf8),
        cmocka_unit_test(test_bp_url_decode_appends),
        cmocka_unit_test(test_bp_url_decode_respects_buffer_cap),
        cmocka_unit_test(test_bp_utf8_valid_accepts_valid),
        cmocka_unit_test(test_bp_utf8_valid_rejects_overlongs),
        cmocka_unit_test(test_bp_utf8_valid_rejects_surrogates),
        cmocka_unit_test(test_bp_utf8_valid_rejects_above_max),
        cmocka_unit_test(test_bp_utf8_valid_rejects_truncated),
        cmocka_unit_test(test_bp_utf8_valid_rejects_bad_continuations),
        cmocka_unit_test(test_bp_utf8_length_counts_code_points),
    };
    return cmocka_run_group_tests_name("urldecode", tests, NULL, NULL);
}
