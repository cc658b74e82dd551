/* test_timeutil.c: ISO 8601 formatting and parsing of epoch milliseconds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "model/timeutil.h"

/* 2024-05-01T20:15:03.123Z */
#define MAY_FIRST_MS INT64_C(1714594503123)
/* 2024-05-01T00:00:00Z */
#define MAY_FIRST_MIDNIGHT_MS INT64_C(1714521600000)

/* Fails unless bp_time_format_iso(ms) is want. */
static void expect_iso(int64_t ms, const char *want)
{
    char out[BP_TIME_ISO_LEN];
    memset(out, 'X', sizeof(out));
    bp_time_format_iso(ms, out);
    assert_string_equal(out, want);
}

static void test_bp_time_format_iso_epoch(void **state)
{
    expect_iso(0, "1970-01-01T00:00:00.000Z");
}

static void test_bp_time_format_iso_milliseconds(void **state)
{
    expect_iso(MAY_FIRST_MS, "2024-05-01T20:15:03.123Z");
    expect_iso(MAY_FIRST_MIDNIGHT_MS + 7, "2024-05-01T00:00:00.007Z");
    expect_iso(INT64_C(253402300799999), "9999-12-31T23:59:59.999Z");
}

static void test_bp_time_format_iso_negative(void **state)
{
    expect_iso(-1, "1969-12-31T23:59:59.999Z");
    expect_iso(-1000, "1969-12-31T23:59:59.000Z");
    expect_iso(-1001, "1969-12-31T23:59:58.999Z");
    expect_iso(-86400000, "1969-12-31T00:00:00.000Z");
}

static void test_bp_time_format_date(void **state)
{
    char out[11];
    bp_time_format_date(MAY_FIRST_MS, out);
    assert_string_equal(out, "2024-05-01");
    bp_time_format_date(0, out);
    assert_string_equal(out, "1970-01-01");
    bp_time_format_date(-1, out);
    assert_string_equal(out, "1969-12-31");
}

static void test_bp_time_now_ms_is_wall_clock(void **state)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t before = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    int64_t now = bp_time_now_ms();
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t after = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    assert_true(before <= now && now <= after);
}

/* Fails unless text parses to want. */
static void expect_parsed(const char *text, int64_t want)
{
    int64_t ms = -42;
    if (bp_time_parse_iso(text, &ms) != BP_OK)
        fail_msg("'%s' was refused", text);
    if (ms != want)
        fail_msg("'%s' gave %lld, not %lld", text, (long long)ms,
                 (long long)want);
}

/* Fails unless text is refused. */
static void expect_refused(const char *text)
{
    int64_t ms;
    if (bp_time_parse_iso(text, &ms) != BP_EINVAL)
        fail_msg("'%s' was accepted", text);
}

static void test_bp_time_parse_iso_date_only(void **state)
{
    expect_parsed("2024-05-01", MAY_FIRST_MIDNIGHT_MS);
    expect_parsed("1970-01-01", 0);
    expect_parsed("1969-12-31", -86400000);
}

static void test_bp_time_parse_iso_with_z(void **state)
{
    expect_parsed("2024-05-01T20:15:03Z", MAY_FIRST_MS - 123);
    expect_parsed("2024-05-01T20:15:03.123Z", MAY_FIRST_MS);
}

static void test_bp_time_parse_iso_with_offsets(void **state)
{
    expect_parsed("2024-05-01T22:15:03+02:00", MAY_FIRST_MS - 123);
    expect_parsed("2024-05-01T22:15:03+0200", MAY_FIRST_MS - 123);
    expect_parsed("2024-05-01T14:45:03-0530", MAY_FIRST_MS - 123);
    expect_parsed("2024-05-01T14:45:03.123-05:30", MAY_FIRST_MS);
    expect_parsed("2024-05-02T01:15:03+05:00", MAY_FIRST_MS - 123);
    expect_parsed("2024-05-01T20:15:03+00:00", MAY_FIRST_MS - 123);
}

static void test_bp_time_parse_iso_fractions(void **state)
{
    expect_parsed("2024-05-01T20:15:03.1Z", MAY_FIRST_MS - 23);
    expect_parsed("2024-05-01T20:15:03.12Z", MAY_FIRST_MS - 3);
    expect_parsed("2024-05-01T20:15:03.123456789Z", MAY_FIRST_MS);
    expect_parsed("2024-05-01T20:15:03.000Z", MAY_FIRST_MS - 123);
    expect_refused("2024-05-01T20:15:03.Z");
    expect_refused("2024-05-01T20:15:03.");
}

static void test_bp_time_parse_iso_no_offset_is_utc(void **state)
{
    expect_parsed("2024-05-01T20:15:03", MAY_FIRST_MS - 123);
    expect_parsed("2024-05-01T20:15:03.123", MAY_FIRST_MS);
}

static void test_bp_time_parse_iso_round_trips_format(void **state)
{
    const int64_t samples[] = {0, MAY_FIRST_MS, -1, INT64_C(951782400000)};
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        char text[BP_TIME_ISO_LEN];
        bp_time_format_iso(samples[i], text);
        expect_parsed(text, samples[i]);
    }
}

static void test_bp_time_parse_iso_checks_calendar(void **state)
{
    expect_parsed("2024-02-29", INT64_C(1709164800000));
    expect_parsed("2000-02-29", INT64_C(951782400000));
    expect_refused("2023-02-29");
    expect_refused("2100-02-29");
    expect_refused("2024-02-30");
    expect_refused("2024-04-31");
    expect_refused("2024-13-01");
    expect_refused("2024-00-10");
    expect_refused("2024-01-00");
    expect_refused("2024-01-32");
    expect_refused("2024-12-32T00:00:00Z");
}

static void test_bp_time_parse_iso_checks_clock(void **state)
{
    expect_refused("2024-05-01T24:00:00Z");
    expect_refused("2024-05-01T20:60:00Z");
    expect_refused("2024-05-01T20:15:61Z");
    expect_refused("2024-05-01T20:15:03+24:00");
    expect_refused("2024-05-01T20:15:03+02:60");
    expect_refused("2024-05-01T20:15:03+02");
    expect_refused("2024-05-01T20:15:03+2:00");
}

static void test_bp_time_parse_iso_rejects_garbage(void **state)
{
    expect_refused("");
    expect_refused("yesterday");
    expect_refused("2024");
    expect_refused("2024-05");
    expect_refused("2024-5-1");
    expect_refused("24-05-01");
    expect_refused("2024/05/01");
    expect_refused("2024-05-01T");
    expect_refused("2024-05-01T20");
    expect_refused("2024-05-01T2:15:03Z");
    expect_refused("2024-05-01T20:15:3Z");
    expect_refused("-2024-05-01");
}

static void test_bp_time_parse_iso_rejects_trailing_junk(void **state)
{
    expect_refused("2024-05-01x");
    expect_refused("2024-05-01Z");
    expect_refused("2024-05-01 ");
    expect_refused("2024-05-01T20:15:03Zjunk");
    expect_refused("2024-05-01T20:15:03ZZ");
    expect_refused("2024-05-01T20:15:03+02:00x");
    expect_refused("2024-05-01T20:15:03 ");
    expect_refused("2024-05-01T20:15:03.123Z ");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bp_time_format_iso_epoch),
        cmocka_unit_test(test_bp_time_format_iso_milliseconds),
        cmocka_unit_test(test_bp_time_format_iso_negative),
        cmocka_unit_test(test_bp_time_format_date),
        cmocka_unit_test(test_bp_time_now_ms_is_wall_clock),
        cmocka_unit_test(test_bp_time_parse_iso_date_only),
        cmocka_unit_test(test_bp_time_parse_iso_with_z),
        cmocka_unit_test(test_bp_time_parse_iso_with_offsets),
        cmocka_unit_test(test_bp_time_parse_iso_fractions),
        cmocka_unit_test(test_bp_time_parse_iso_no_offset_is_utc),
        cmocka_unit_test(test_bp_time_parse_iso_round_trips_format),
        cmocka_unit_test(test_bp_time_parse_iso_checks_calendar),
        cmocka_unit_test(test_bp_time_parse_iso_checks_clock),
        cmocka_unit_test(test_bp_time_parse_iso_rejects_garbage),
        cmocka_unit_test(test_bp_time_parse_iso_rejects_trailing_junk),
    };
    return cmocka_run_group_tests_name("timeutil", tests, NULL, NULL);
}
