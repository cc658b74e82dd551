/* test_buf.c: the capped growable buffer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

static void test_bp_buf_append_grows_and_terminates(void **state)
{
    struct bp_buf buf;
    bp_buf_init(&buf, 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(bp_buf_append(&buf, "abc", 3), BP_OK);
    assert_int_equal(buf.len, 3000);
    assert_int_equal(buf.data[3000], '\0');
    assert_memory_equal(buf.data + 2997, "abc", 3);
    bp_buf_free(&buf);
    assert_null(buf.data);
}

static void test_bp_buf_append_refuses_past_cap(void **state)
{
    struct bp_buf buf;
    bp_buf_init(&buf, 5);
    assert_int_equal(bp_buf_append(&buf, "abcd", 4), BP_OK);
    assert_int_equal(bp_buf_append(&buf, "ef", 2), BP_ETOOBIG);
    assert_string_equal(buf.data, "abcd");
    assert_int_equal(bp_buf_append(&buf, "e", 1), BP_OK);
    assert_int_equal(bp_buf_printf(&buf, "%d", 1), BP_ETOOBIG);
    assert_string_equal(buf.data, "abcde");
    bp_buf_free(&buf);
}

static void test_bp_buf_printf_formats(void **state)
{
    struct bp_buf buf;
    bp_buf_init(&buf, 0);
    assert_int_equal(bp_buf_printf(&buf, "%s=%d", "x", 42), BP_OK);
    assert_int_equal(bp_buf_printf(&buf, ";%05.1f", 2.25), BP_OK);
    assert_string_equal(buf.data, "x=42;002.2");
    bp_buf_reset(&buf);
    assert_int_equal(buf.len, 0);
    assert_string_equal(buf.data, "");
    bp_buf_free(&buf);
}

static void test_bp_buf_append_uri_component_escapes(void **state)
{
    struct bp_buf buf;
    bp_buf_init(&buf, 0);
    assert_int_equal(bp_buf_append_uri_component(&buf, "a b&c=d/é~"), BP_OK);
    assert_string_equal(buf.data, "a%20b%26c%3Dd%2F%C3%A9~");
    bp_buf_free(&buf);
}

static void test_bp_buf_free_accepts_null(void **state)
{
    bp_buf_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bp_buf_append_grows_and_terminates),
        cmocka_unit_test(test_bp_buf_append_refuses_past_cap),
        cmocka_unit_test(test_bp_buf_printf_formats),
        cmocka_unit_test(test_bp_buf_append_uri_component_escapes),
        cmocka_unit_test(test_bp_buf_free_accepts_null),
    };
    return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
