/* test_ids.c: making new ids and parsing ids from clients. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "model/ids.h"

/* Fails unless text is exactly BP_ID_LEN lower-case hex digits. */
static void assert_lower_hex_id(const char *text)
{
    assert_int_equal(strlen(text), BP_ID_LEN);
    if (strspn(text, "0123456789abcdef") != BP_ID_LEN)
        fail_msg("'%s' is not 24 lower-case hex digits", text);
}

static void test_bp_id_new_is_lower_case_hex(void **state)
{
    char id[BP_ID_LEN + 1];
    memset(id, 'X', sizeof(id));
    bp_id_new(id);
    assert_lower_hex_id(id);
}

static void test_bp_id_new_differs_call_to_call(void **state)
{
    enum { N = 64 };
    char ids[N][BP_ID_LEN + 1];
    for (int i = 0; i < N; i++)
        bp_id_new(ids[i]);
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            if (strcmp(ids[i], ids[j]) == 0)
                fail_msg("ids %d and %d are both %s", i, j, ids[i]);
}

static void test_bp_id_new_parses_back(void **state)
{
    char id[BP_ID_LEN + 1], parsed[BP_ID_LEN + 1];
    bp_id_new(id);
    assert_true(bp_id_parse(id, parsed));
    assert_string_equal(parsed, id);
}

static void test_bp_id_parse_accepts_lower_case(void **state)
{
    char out[BP_ID_LEN + 1];
    assert_true(bp_id_parse("0123456789abcdef01234567", out));
    assert_string_equal(out, "0123456789abcdef01234567");
}

static void test_bp_id_parse_lowercases_upper_case(void **state)
{
    char out[BP_ID_LEN + 1];
    assert_true(bp_id_parse("65F0A1B2C3D4E5F6a7B8c9D0", out));
    assert_string_equal(out, "65f0a1b2c3d4e5f6a7b8c9d0");
}

/* Fails unless bp_id_parse rejects text and leaves out as it was. */
static void expect_rejected(const char *text)
{
    char out[BP_ID_LEN + 1];
    memset(out, '#', sizeof(out));
    if (bp_id_parse(text, out))
        fail_msg("'%s' was accepted", text ? text : "(null)");
    for (size_t i = 0; i < sizeof(out); i++)
        assert_int_equal(out[i], '#');
}

static void test_bp_id_parse_rejects_wrong_length(void **state)
{
    expect_rejected("");
    expect_rejected("0123456789abcdef0123456");   /* 23 */
    expect_rejected("0123456789abcdef012345678"); /* 25 */
    expect_rejected("0123456789abcdef01234567 ");
}

static void test_bp_id_parse_rejects_non_hex(void **state)
{
    expect_rejected("0123456789abcdef0123456g");
    expect_rejected("g123456789abcdef01234567");
    expect_rejected("0123456789abcde 01234567");
    expect_rejected("0x23456789abcdef01234567");
    expect_rejected("-123456789abcdef01234567");
    expect_rejected("0123456789abcdef0123456\xc3");
}

static void test_bp_id_parse_rejects_null(void **state)
{
    expect_rejected(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bp_id_new_is_lower_case_hex),
        cmocka_unit_test(test_bp_id_new_differs_call_to_call),
        cmocka_unit_test(test_bp_id_new_parses_back),
        cmocka_unit_test(test_bp_id_parse_accepts_lower_case),
        cmocka_unit_test(test_bp_id_parse_lowercases_upper_case),
        cmocka_unit_test(test_bp_id_parse_rejects_wrong_length),
        cmocka_unit_test(test_bp_id_parse_rejects_non_hex),
        cmocka_unit_test(test_bp_id_parse_rejects_null),
    };
    return cmocka_run_group_tests_name("ids", tests, NULL, NULL);
}
