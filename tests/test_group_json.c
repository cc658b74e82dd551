/*
 * test_group_json.c: strict JSON body parsing, and the JSON shape of
 * image groups in both directions (patch from a body, group to JSON).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http/json_input.h"
#include "model/group_json.h"

static const struct bp_group_limits limits = {
    .max_name_length = 200,
    .max_description_length = 50,
};

/* Parses text, failing unless it is accepted; the caller puts the value. */
static struct json_object *parse(const char *text)
{
    struct json_object *value = NULL;
    struct bp_error err = {{0}};
    if (bp_json_parse(text, strlen(text), &value, &err) != BP_OK)
        fail_msg("'%s' was refused: %s", text, err.detail);
    assert_non_null(value);
    return value;
}

/* Fails unless the len bytes at text are refused as malformed JSON. */
static void expect_malformed_len(const char *text, size_t len)
{
    struct json_object *value = NULL;
    struct bp_error err = {{0}};
    enum bp_rc rc = bp_json_parse(text, len, &value, &err);
    if (rc == BP_OK)
        json_object_put(value);
    if (rc != BP_EBADREQUEST)
        fail_msg("'%.*s' was not refused", (int)len, text);
    assert_non_null(strstr(err.detail, "Malformed JSON"));
}

static void expect_malformed(const char *text)
{
    expect_malformed_len(text, strlen(text));
}

/* Returns n arrays nested in each other, in buf. */
static const char *nested_arrays(char *buf, size_t size, int n)
{
    assert_true((size_t)(2 * n) < size);
    for (int i = 0; i < n; i++) {
        buf[i] = '[';
        buf[2 * n - 1 - i] = ']';
    }
    buf[2 * n] = '\0';
    return buf;
}

static void test_bp_json_parse_accepts_object(void **state)
{
    struct json_object *v = parse("{\"name\": \"Gig\", \"n\": [1, 2.5, null]}");
    assert_true(json_object_is_type(v, json_type_object));
    assert_int_equal(json_object_object_length(v), 2);
    json_object_put(v);
}

static void test_bp_json_parse_allows_surrounding_whitespace(void **state)
{
    json_object_put(parse("{}  \r\n\t"));
    json_object_put(parse("  {\"a\": 1}\n"));
}

/* The header promises any one JSON value, scalars included. */
static void test_bp_json_parse_accepts_scalar(void **state)
{
    struct json_object *v = parse("123");
    assert_int_equal(json_object_get_int(v), 123);
    json_object_put(v);
    v = parse("true");
    assert_true(json_object_get_boolean(v));
    json_object_put(v);
}

static void test_bp_json_parse_rejects_malformed(void **state)
{
    expect_malformed("");
    expect_malformed("   ");
    expect_malformed("{");
    expect_malformed("{\"a\":}");
    expect_malformed("{\"a\" 1}");
    expect_malformed("[1,]");
    expect_malformed("{\"a\":1,}");
    expect_malformed("nul");
    expect_malformed("{a: 1}");
}

/* Strict parsing: JavaScript-style single quotes are not JSON. */
static void test_bp_json_parse_rejects_single_quotes(void **state)
{
    expect_malformed("{'a': 1}");
}

static void test_bp_json_parse_rejects_trailing_data(void **state)
{
    expect_malformed("{} x");
    expect_malformed("{}{}");
    expect_malformed("{\"a\":1}\n,");
    expect_malformed_len("{}\0", 3);
}

static void test_bp_json_parse_rejects_truncated(void **state)
{
    expect_malformed("{\"name\": \"ab");
    expect_malformed("{\"name\": \"ab\"");
    expect_malformed("[1, 2");
    /* The length counts, not the NUL: a cut-off object is refused. */
    expect_malformed_len("{\"a\": 1}", 6);
}

static void test_bp_json_parse_rejects_invalid_utf8(void **state)
{
    expect_malformed("{\"name\": \"\xff\"}");
    expect_malformed("{\"name\": \"\x80\"}");
    expect_malformed("{\"name\": \"\xc3\x28\"}");
    expect_malformed("{\"name\": \"\xc3\"}");
    expect_malformed("{\"name\": \"\xe2\x82\"}");
}

/*
 * Valid UTF-8 also means no overlongs, surrogates or code points past
 * U+10FFFF, which a well-formed byte pattern alone does not rule out.
 */
static void test_bp_json_parse_rejects_non_scalar_utf8(void **state)
{
    expect_malformed("{\"name\": \"\xc0\x80\"}");
    expect_malformed("{\"name\": \"\xe0\x80\x80\"}");
    expect_malformed("{\"name\": \"\xed\xa0\x80\"}");
    expect_malformed("{\"name\": \"\xf4\x90\x80\x80\"}");
    expect_malformed("{\"\xc0\xaf\": 1}");
}

static void test_bp_json_parse_limits_depth(void **state)
{
    char buf[128];
    json_object_put(parse(nested_arrays(buf, sizeof(buf), 16)));
    expect_malformed(nested_arrays(buf, sizeof(buf), 17));
    expect_malformed(nested_arrays(buf, sizeof(buf), 60));
}

/* Reads a patch from text, expecting rc; the parsed body goes to *body. */
static enum bp_rc patch_from(const char *text, bool creating,
                             struct bp_group_patch *patch,
                             struct json_object **body, struct bp_error *err)
{
    *body = parse(text);
    return bp_group_patch_from_json(*body, creating, &limits, patch, err);
}

/* Fails unless text is refused as a create and as an update. */
static void expect_patch_invalid(const char *text, const char *detail_part)
{
    for (int creating = 0; creating <= 1; creating++) {
        struct bp_group_patch patch;
        struct json_object *body;
        struct bp_error err = {{0}};
        enum bp_rc rc = patch_from(text, creating, &patch, &body, &err);
        json_object_put(body);
        if (rc != BP_EINVAL)
            fail_msg("'%s' gave %d, not BP_EINVAL", text, rc);
        if (strstr(err.detail, detail_part) == NULL)
            fail_msg("'%s' does not mention '%s'", err.detail, detail_part);
    }
}

static void test_bp_group_patch_from_json_bare(void **state)
{
    struct bp_group_patch patch;
    struct json_object *body;
    struct bp_error err = {{0}};
    assert_int_equal(patch_from("{\"name\": \"Gig\", \"description\": \"d\","
                                " \"event\": \"0123456789abcdef01234567\"}",
                                true, &patch, &body, &err),
                     BP_OK);
    assert_true(patch.set_name);
    assert_string_equal(patch.name, "Gig");
    assert_true(patch.set_description);
    assert_string_equal(patch.description, "d");
    assert_true(patch.set_event);
    assert_string_equal(patch.event, "0123456789abcdef01234567");
    json_object_put(body);
}

static void test_bp_group_patch_from_json_wrapped(void **state)
{
    struct bp_group_patch patch;
    struct json_object *body;
    struct bp_error err = {{0}};
    assert_int_equal(patch_from("{\"group\": {\"name\": \"Tour 2024\"}}", false,
                                &patch, &body, &err),
                     BP_OK);
    assert_true(patch.set_name);
    assert_string_equal(patch.name, "Tour 2024");
    assert_false(patch.set_description);
    assert_false(patch.set_event);
    json_object_put(body);
}

static void test_bp_group_patch_from_json_empty_object(void **state)
{
    struct bp_group_patch patch;
    struct json_object *body;
    struct bp_error err = {{0}};
    assert_int_equal(patch_from("{}", false, &patch, &body, &err), BP_OK);
    assert_false(patch.set_name);
    assert_false(patch.set_description);
    assert_false(patch.set_event);
    json_object_put(body);
}

static void test_bp_group_patch_from_json_rejects_bad_shape(void **state)
{
    expect_patch_invalid("{\"name\": \"a\", \"colour\": \"red\"}", "colour");
    expect_patch_invalid("{\"group\": {\"colour\": \"red\"}}", "colour");
    expect_patch_invalid("{\"group\": {\"name\": \"a\"}, \"x\": 1}", "group");
    expect_patch_invalid("{\"x\": 1, \"group\": {\"name\": \"a\"}}", "group");
    expect_patch_invalid("{\"group\": \"a\"}", "group");
    expect_patch_invalid("{\"group\": null}", "group");
    expect_patch_invalid("{\"group\": [{\"name\": \"a\"}]}", "group");
    expect_patch_invalid("[{\"name\": \"a\"}]", "object");
    expect_patch_invalid("\"name\"", "object");
}

static void test_bp_group_patch_from_json_rejects_bad_name(void **state)
{
    expect_patch_invalid("{\"name\": 5}", "name");
    expect_patch_invalid("{\"name\": true}", "name");
    expect_patch_invalid("{\"name\": [\"a\"]}", "name");
    expect_patch_invalid("{\"name\": {}}", "name");
    expect_patch_invalid("{\"name\": \"\"}", "name");
    expect_patch_invalid("{\"name\": \" \\t\\r\\n \"}", "name");
    expect_patch_invalid("{\"name\": \"a\\u0001b\"}", "name");
    expect_patch_invalid("{\"name\": \"a\\nb\"}", "name");
    expect_patch_invalid("{\"name\": \"a\\u007fb\"}", "name");
    expect_patch_invalid("{\"name\": \"a\\u0000b\"}", "name");
}

/* Returns {"name": "<n copies of ch>"} in buf. */
static const char *name_of_length(char *buf, size_t size, const char *ch, int n)
{
    size_t used = (size_t)snprintf(buf, size, "{\"name\": \"");
    for (int i = 0; i < n; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s", ch);
    snprintf(buf + used, size - used, "\"}");
    assert_true(used + 3 <= size);
    return buf;
}

static void test_bp_group_patch_from_json_name_length(void **state)
{
    char buf[2048];
    struct bp_group_patch patch;
    struct json_object *body;
    struct bp_error err = {{0}};
    /* 200 two-byte characters: 400 bytes but within 200 characters. */
    assert_int_equal(
        patch_from(name_of_length(buf, sizeof(buf), "\xc3\xa9", 200), true,
                   &patch, &body, &err),
        BP_OK);
    assert_int_equal(strlen(patch.name), 400);
    json_object_put(body);
    expect_patch_invalid(name_of_length(buf, sizeof(buf), "\xc3\xa9", 201),
                         "200");
    /* An escaped form counts the same. */
    assert_int_equal(
        patch_from(name_of_length(buf, sizeof(buf), "\\u00e9", 200), false,
                   &patch, &body, &err),
        BP_OK);
    json_object_put(body);
    expect_patch_invalid(name_of_length(buf, sizeof(buf), "\\u00e9", 201),
                         "200");
    assert_int_equal(patch_from(name_of_length(buf, sizeof(buf), "a", 200),
                                false, &patch, &body, &err),
                     BP_OK);
    json_object_put(body);
    expect_patch_invalid(name_of_length(buf, sizeof(buf), "a", 201), "name");
}

static void test_bp_group_patch_from_json_null_name(void **state)
{
    struct bp_group_patch patch;
    struct json_object *body;
    struct bp_error err = {{0}};
    assert_int_equal(patch_from("{\"name\": null}", true, &patch, &body, &err),
                     BP_OK);
    assert_false(patch.set_name);
    json_object_put(body);
    assert_int_equal(patch_from("{\"name\": null}", false, &patch, &body, &err),
                     BP_EINVAL);
    assert_non_null(strstr(err.detail, "name"));
    json_object_put(body);
}

static void test_bp_group_patch_from_json_description(void **state)
{
    struct bp_group_patch patch;
    struct json_object *body;
    struct bp_error err = {{0}};
    assert_int_equal(
        patch_from("{\"description\": null}", false, &patch, &body, &err),
        BP_OK);
    assert_true(patch.set_description);
    assert_null(patch.description);
    assert_false(patch.set_name);
    json_object_put(body);
    assert_int_equal(patch_from("{\"description\": \"Line 1\\nLine 2\"}", false,
                                &patch, &body, &err),
                     BP_OK);
    assert_true(patch.set_description);
    assert_string_equal(patch.description, "Line 1\nLine 2");
    json_object_put(body);
    expect_patch_invalid("{\"description\": 3}", "description");
    expect_patch_invalid("{\"description\": [\"x\"]}", "description");
    expect_patch_invalid("{\"description\": \"a\\u0000b\"}", "description");
    char buf[256];
    snprintf(buf, sizeof(buf), "{\"description\": \"%051d\"}", 0);
    expect_patch_invalid(buf, "description");
}

static void test_bp_group_patch_from_json_event(void **state)
{
    struct bp_group_patch patch;
    struct json_object *body;
    struct bp_error err = {{0}};
    assert_int_equal(
        patch_from("{\"event\": null}", false, &patch, &body, &err), BP_OK);
    assert_true(patch.set_event);
    assert_string_equal(patch.event, "");
    json_object_put(body);
    assert_int_equal(patch_from("{\"event\": \"65F0A1B2C3D4E5F6A7B8C9D0\"}",
                                false, &patch, &body, &err),
                     BP_OK);
    assert_true(patch.set_event);
    assert_string_equal(patch.event, "65f0a1b2c3d4e5f6a7b8c9d0");
    json_object_put(body);
    expect_patch_invalid("{\"event\": \"xyz\"}", "event");
    expect_patch_invalid("{\"event\": \"\"}", "event");
    expect_patch_invalid("{\"event\": \"65f0a1b2c3d4e5f6a7b8c9d\"}", "event");
    expect_patch_invalid("{\"event\": \"65f0a1b2c3d4e5f6a7b8c9dg\"}", "event");
    expect_patch_invalid("{\"event\": 5}", "event");
    expect_patch_invalid("{\"event\": {}}", "event");
}

static void test_bp_group_to_json_nulls(void **state)
{
    char name[] = "Gig";
    struct bp_group group = {
        .id = "0123456789abcdef01234567",
        .name = name,
        .description = NULL,
        .event = "",
        .created_at = INT64_C(1714594503123),
        .updated_at = 0,
    };
    struct json_object *obj = bp_group_to_json(&group);
    assert_non_null(obj);
    assert_string_equal(
        json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN),
        "{\"id\":\"0123456789abcdef01234567\",\"name\":\"Gig\","
        "\"description\":null,\"event\":null,\"owner\":null,"
        "\"location\":\"public\","
        "\"created_at\":\"2024-05-01T20:15:03.123Z\","
        "\"updated_at\":\"1970-01-01T00:00:00.000Z\",\"images\":[]}");
    json_object_put(obj);
}

static void test_bp_group_to_json_values(void **state)
{
    char name[] = "Caf\xc3\xa9 \"live\"";
    char description[] = "Set list";
    struct bp_group group = {
        .id = "0123456789abcdef01234567",
        .name = name,
        .description = description,
        .event = "65f0a1b2c3d4e5f6a7b8c9d0",
        .created_at = 0,
        .updated_at = -1,
        .owner = "user-1",
        .location_hidden = true,
    };
    struct json_object *obj = bp_group_to_json(&group);
    assert_non_null(obj);
    struct json_object *v;
    assert_true(json_object_object_get_ex(obj, "name", &v));
    assert_string_equal(json_object_get_string(v), name);
    assert_true(json_object_object_get_ex(obj, "description", &v));
    assert_string_equal(json_object_get_string(v), "Set list");
    assert_true(json_object_object_get_ex(obj, "event", &v));
    assert_string_equal(json_object_get_string(v), "65f0a1b2c3d4e5f6a7b8c9d0");
    assert_true(json_object_object_get_ex(obj, "updated_at", &v));
    assert_string_equal(json_object_get_string(v), "1969-12-31T23:59:59.999Z");
    assert_true(json_object_object_get_ex(obj, "images", &v));
    assert_true(json_object_is_type(v, json_type_array));
    assert_int_equal(json_object_array_length(v), 0);
    assert_true(json_object_object_get_ex(obj, "owner", &v));
    assert_string_equal(json_object_get_string(v), "user-1");
    assert_true(json_object_object_get_ex(obj, "location", &v));
    assert_string_equal(json_object_get_string(v), "hidden");
    assert_int_equal(json_object_object_length(obj), 9);
    json_object_put(obj);
}

static void test_bp_group_patch_from_json_location(void **state)
{
    struct bp_group_patch patch;
    struct bp_error err = {{0}};
    struct json_object *body = json_tokener_parse("{\"location\": \"hidden\"}");
    assert_int_equal(
        bp_group_patch_from_json(body, false, &limits, &patch, &err), BP_OK);
    assert_true(patch.set_location);
    assert_true(patch.location_hidden);
    json_object_put(body);
    body = json_tokener_parse("{\"location\": \"public\"}");
    assert_int_equal(
        bp_group_patch_from_json(body, false, &limits, &patch, &err), BP_OK);
    assert_true(patch.set_location);
    assert_false(patch.location_hidden);
    json_object_put(body);
    static const char *const bad[] = {"{\"location\": \"secret\"}",
                                      "{\"location\": null}",
                                      "{\"location\": 1}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        body = json_tokener_parse(bad[i]);
        assert_int_equal(
            bp_group_patch_from_json(body, false, &limits, &patch, &err),
            BP_EINVAL);
        assert_non_null(strstr(err.detail, "location"));
        json_object_put(body);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bp_json_parse_accepts_object),
        cmocka_unit_test(test_bp_json_parse_allows_surrounding_whitespace),
        cmocka_unit_test(test_bp_json_parse_accepts_scalar),
        cmocka_unit_test(test_bp_json_parse_rejects_malformed),
        cmocka_unit_test(test_bp_json_parse_rejects_single_quotes),
        cmocka_unit_test(test_bp_json_parse_rejects_trailing_data),
        cmocka_unit_test(test_bp_json_parse_rejects_truncated),
        cmocka_unit_test(test_bp_json_parse_rejects_invalid_utf8),
        cmocka_unit_test(test_bp_json_parse_rejects_non_scalar_utf8),
        cmocka_unit_test(test_bp_json_parse_limits_depth),
        cmocka_unit_test(test_bp_group_patch_from_json_bare),
        cmocka_unit_test(test_bp_group_patch_from_json_wrapped),
        cmocka_unit_test(test_bp_group_patch_from_json_empty_object),
        cmocka_unit_test(test_bp_group_patch_from_json_rejects_bad_shape),
        cmocka_unit_test(test_bp_group_patch_from_json_rejects_bad_name),
        cmocka_unit_test(test_bp_group_patch_from_json_name_length),
        cmocka_unit_test(test_bp_group_patch_from_json_null_name),
        cmocka_unit_test(test_bp_group_patch_from_json_description),
        cmocka_unit_test(test_bp_group_patch_from_json_event),
        cmocka_unit_test(test_bp_group_to_json_nulls),
        cmocka_unit_test(test_bp_group_to_json_values),
        cmocka_unit_test(test_bp_group_patch_from_json_location),
    };
    return cmocka_run_group_tests_name("group_json", tests, NULL, NULL);
}
