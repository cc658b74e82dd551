/* test_query.c: looking up text and integer parameters in query strings. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <string.h>

#include <cmocka.h>

#include "http/query.h"

/*
 * Looks name up in query, expecting BP_OK and found; fails unless the
 * decoded value equals want.
 */
static void expect_query_value(const char *query, const char *name,
                               const char *want)
{
    struct bp_buf value;
    bp_buf_init(&value, 0);
    bool found = false;
    struct bp_error err = {{0}};
    assert_int_equal(bp_query_get(query, name, &value, &found, &err), BP_OK);
    if (!found)
        fail_msg("'%s' not found in '%s'", name, query);
    assert_int_equal(value.len, strlen(want));
    assert_memory_equal(value.len > 0 ? value.data : "", want, value.len);
    bp_buf_free(&value);
}

/* Fails unless name is absent from query and value stays empty. */
static void expect_absent(const char *query, const char *name)
{
    struct bp_buf value;
    bp_buf_init(&value, 0);
    bool found = true;
    struct bp_error err = {{0}};
    assert_int_equal(bp_query_get(query, name, &value, &found, &err), BP_OK);
    if (found)
        fail_msg("'%s' found in '%s'", name, query);
    assert_int_equal(value.len, 0);
    bp_buf_free(&value);
}

/* Fails unless looking name up in query gives BP_EINVAL naming it. */
static void expect_invalid_text(const char *query, const char *name)
{
    struct bp_buf value;
    bp_buf_init(&value, 0);
    bool found;
    struct bp_error err = {{0}};
    assert_int_equal(bp_query_get(query, name, &value, &found, &err),
                     BP_EINVAL);
    if (strstr(err.detail, name) == NULL)
        fail_msg("'%s' does not name '%s'", err.detail, name);
    bp_buf_free(&value);
}

static void test_bp_query_get_finds_first_match(void **state)
{
    expect_query_value("a=1&b=2&a=3", "a", "1");
    expect_query_value("a=1&b=2&a=3", "b", "2");
    expect_query_value("x=0&a=first&a=second", "a", "first");
}

static void test_bp_query_get_matches_whole_names(void **state)
{
    expect_query_value("ab=1&a=2", "a", "2");
    expect_query_value("a=1&ab=2", "ab", "2");
    expect_absent("ab=1&ba=2", "a");
    expect_absent("limit=5", "lim");
}

static void test_bp_query_get_decodes_percent_and_plus(void **state)
{
    expect_query_value("q=x%20y+z%2B%2b", "q", "x y z++");
    expect_query_value("q=%C3%A9t%c3%a9", "q", "\xc3\xa9t\xc3\xa9");
    expect_query_value("q=a%26b%3Dc", "q", "a&b=c");
}

static void test_bp_query_get_missing_equals_gives_empty(void **state)
{
    expect_query_value("flag&x=1", "flag", "");
    expect_query_value("x=1&flag", "flag", "");
    expect_query_value("x=1&flag=", "flag", "");
    expect_query_value("flag=&flag=2", "flag", "");
}

static void test_bp_query_get_absent(void **state)
{
    expect_absent("", "a");
    expect_absent("b=1&c=2", "a");
    expect_absent("&&", "a");
    expect_absent("=a", "a");
}

static void test_bp_query_get_rejects_bad_text(void **state)
{
    expect_invalid_text("q=%zz", "q");
    expect_invalid_text("q=%00", "q");
    expect_invalid_text("q=a%0Ab", "q");
    expect_invalid_text("q=%C3", "q");
    expect_invalid_text("q=%C3%28", "q");
    expect_invalid_text("q=%FF", "q");
    expect_invalid_text("q=%4", "q");
}

static void test_bp_query_get_ignores_other_bad_params(void **state)
{
    expect_query_value("bad=%zz&q=ok", "q", "ok");
}

/* Fails unless name in query parses to want within [min, max]. */
static void expect_long(const char *query, long min, long max, long want)
{
    long out = 12345;
    struct bp_error err = {{0}};
    assert_int_equal(bp_query_get_long(query, "n", min, max, &out, &err),
                     BP_OK);
    assert_int_equal(out, want);
}

/* Fails unless n in query is refused and *out is left alone. */
static void expect_long_invalid(const char *query, long min, long max)
{
    long out = 12345;
    struct bp_error err = {{0}};
    if (bp_query_get_long(query, "n", min, max, &out, &err) != BP_EINVAL)
        fail_msg("'%s' was not refused", query);
    assert_int_equal(out, 12345);
    if (strstr(err.detail, "'n'") == NULL)
        fail_msg("'%s' does not name the parameter", err.detail);
}

static void test_bp_query_get_long_in_range(void **state)
{
    expect_long("n=5", 1, 10, 5);
    expect_long("n=1", 1, 10, 1);
    expect_long("n=10", 1, 10, 10);
    expect_long("n=0", 0, 10, 0);
    expect_long("n=007", 0, 10, 7);
    expect_long("n=%35", 0, 10, 5);
    expect_long("a=x&n=1099511627776", 0, 1L << 40, 1L << 40);
}

static void test_bp_query_get_long_rejects_non_integers(void **state)
{
    expect_long_invalid("n=", 0, 100);
    expect_long_invalid("n", 0, 100);
    expect_long_invalid("n=abc", 0, 100);
    expect_long_invalid("n=1x", 0, 100);
    expect_long_invalid("n=+5", 0, 100);
    expect_long_invalid("n=%2B5", 0, 100);
    expect_long_invalid("n=+", 0, 100);
    expect_long_invalid("n=%205", 0, 100);
    expect_long_invalid("n=5%20", 0, 100);
    expect_long_invalid("n=0x10", 0, 100);
    expect_long_invalid("n=1.5", 0, 100);
    expect_long_invalid("n=%zz", 0, 100);
}

static void test_bp_query_get_long_rejects_out_of_range(void **state)
{
    expect_long_invalid("n=-1", 0, 100);
    expect_long_invalid("n=0", 1, 100);
    expect_long_invalid("n=101", 0, 100);
    expect_long_invalid("n=99999999999999999999", 0, 100);
    expect_long_invalid("n=99999999999999999999", 0, 9223372036854775807L);
}

/* The documented range [min, max] may include negative numbers. */
static void test_bp_query_get_long_accepts_negative_in_range(void **state)
{
    expect_long("n=-5", -10, 10, -5);
    expect_long("n=-10", -10, 10, -10);
}

static void test_bp_query_get_long_keeps_out_when_absent(void **state)
{
    long out = 50;
    struct bp_error err = {{0}};
    assert_int_equal(bp_query_get_long("", "n", 1, 100, &out, &err), BP_OK);
    assert_int_equal(out, 50);
    assert_int_equal(bp_query_get_long("m=3&nn=4", "n", 1, 100, &out, &err),
                     BP_OK);
    assert_int_equal(out, 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bp_query_get_finds_first_match),
        cmocka_unit_test(test_bp_query_get_matches_whole_names),
        cmocka_unit_test(test_bp_query_get_decodes_percent_and_plus),
        cmocka_unit_test(test_bp_query_get_missing_equals_gives_empty),
        cmocka_unit_test(test_bp_query_get_absent),
        cmocka_unit_test(test_bp_query_get_rejects_bad_text),
        cmocka_unit_test(test_bp_query_get_ignores_other_bad_params),
        cmocka_unit_test(test_bp_query_get_long_in_range),
        cmocka_unit_test(test_bp_query_get_long_rejects_non_integers),
        cmocka_unit_test(test_bp_query_get_long_rejects_out_of_range),
        cmocka_unit_test(test_bp_query_get_long_accepts_negative_in_range),
        cmocka_unit_test(test_bp_query_get_long_keeps_out_when_absent),
    };
    return cmocka_run_group_tests_name("query", tests, NULL, NULL);
}
