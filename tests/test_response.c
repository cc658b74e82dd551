/*
 * test_response.c: filling responses, writing them in CGI format, and
 * turning error codes into HTTP statuses and {"detail": ...} bodies.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http/http_error.h"
#include "http/response.h"

/* A write callback target: collects output, or fails on call fail_at. */
struct sink {
    struct bp_buf out;
    int calls;
    int fail_at; /* -1: never fail */
};

static ssize_t sink_write(void *opaque, const char *data, size_t len)
{
    struct sink *sink = opaque;
    if (sink->calls++ == sink->fail_at)
        return -1;
    if (bp_buf_append(&sink->out, data, len) != BP_OK)
        return -1;
    return (ssize_t)len;
}

/* Returns the "detail" string of res's JSON body, failing if there is none. */
static const char *detail_of(const struct bp_response *res,
                             struct json_object **parsed)
{
    assert_string_equal(res->content_type, "application/json");
    *parsed = json_tokener_parse(res->body.data);
    assert_non_null(*parsed);
    assert_true(json_object_is_type(*parsed, json_type_object));
    assert_int_equal(json_object_object_length(*parsed), 1);
    struct json_object *detail;
    assert_true(json_object_object_get_ex(*parsed, "detail", &detail));
    assert_true(json_object_is_type(detail, json_type_string));
    return json_object_get_string(detail);
}

static void test_bp_response_init_is_empty_200(void **state)
{
    struct bp_response res;
    bp_response_init(&res);
    assert_int_equal(res.status, 200);
    assert_null(res.content_type);
    assert_int_equal(res.headers.len, 0);
    assert_int_equal(res.body.len, 0);
    bp_response_free(&res);
    bp_response_free(NULL);
}

static void test_bp_response_header_adds_line(void **state)
{
    struct bp_response res;
    bp_response_init(&res);
    assert_int_equal(
        bp_response_header(&res, "Location", "/image_groups/%s", "abc"), BP_OK);
    assert_int_equal(bp_response_header(&res, "Retry-After", "%d", 1), BP_OK);
    assert_string_equal(res.headers.data,
                        "Location: /image_groups/abc\r\nRetry-After: 1\r\n");
    bp_response_free(&res);
}

static void test_bp_response_header_rejects_cr_lf(void **state)
{
    struct bp_response res;
    bp_response_init(&res);
    assert_int_equal(bp_response_header(&res, "X-Id", "%s", "a\r\nSet: x"),
                     BP_EINVAL);
    assert_int_equal(bp_response_header(&res, "X-Id", "%s", "a\nb"), BP_EINVAL);
    assert_int_equal(bp_response_header(&res, "X-Id", "%s", "a\rb"), BP_EINVAL);
    assert_int_equal(bp_response_header(&res, "X-Id", "a\n"), BP_EINVAL);
    assert_int_equal(res.headers.len, 0);
    bp_response_free(&res);
}

static void test_bp_response_json_sets_body_type_status(void **state)
{
    struct bp_response res;
    bp_response_init(&res);
    assert_int_equal(bp_buf_append_str(&res.body, "old body"), BP_OK);
    struct json_object *obj = json_object_new_object();
    json_object_object_add(obj, "id", json_object_new_string("x/y"));
    assert_int_equal(bp_response_json(&res, 201, obj), BP_OK);
    /* The response keeps a copy, not a reference to the caller's value. */
    json_object_put(obj);
    assert_int_equal(res.status, 201);
    assert_string_equal(res.content_type, "application/json");
    assert_string_equal(res.body.data, "{\"id\":\"x/y\"}");
    bp_response_free(&res);
}

static void test_bp_response_reset_empties(void **state)
{
    struct bp_response res;
    bp_response_init(&res);
    struct json_object *obj = json_object_new_array();
    assert_int_equal(bp_response_json(&res, 201, obj), BP_OK);
    json_object_put(obj);
    assert_int_equal(bp_response_header(&res, "A", "b"), BP_OK);
    bp_response_reset(&res);
    assert_int_equal(res.status, 200);
    assert_null(res.content_type);
    assert_int_equal(res.headers.len, 0);
    assert_int_equal(res.body.len, 0);
    bp_response_free(&res);
}

/* Fills res as a 201 with a JSON body and a Location header. */
static void make_created(struct bp_response *res)
{
    bp_response_init(res);
    struct json_object *obj = json_object_new_object();
    json_object_object_add(obj, "id", json_object_new_string("x"));
    assert_int_equal(bp_response_json(res, 201, obj), BP_OK);
    json_object_put(obj);
    assert_int_equal(bp_response_header(res, "Location", "/x"), BP_OK);
}

static void test_bp_response_write_cgi_exact_output(void **state)
{
    struct bp_response res;
    make_created(&res);
    struct sink sink = {.fail_at = -1};
    bp_buf_init(&sink.out, 0);
    assert_int_equal(bp_response_write_cgi(&res, false, sink_write, &sink),
                     BP_OK);
    assert_string_equal(sink.out.data, "Status: 201 Created\r\n"
                                       "Content-Type: application/json\r\n"
                                       "Content-Length: 10\r\n"
                                       "Location: /x\r\n"
                                       "\r\n"
                                       "{\"id\":\"x\"}");
    bp_buf_free(&sink.out);
    bp_response_free(&res);
}

static void test_bp_response_write_cgi_omit_body(void **state)
{
    struct bp_response res;
    make_created(&res);
    struct sink sink = {.fail_at = -1};
    bp_buf_init(&sink.out, 0);
    assert_int_equal(bp_response_write_cgi(&res, true, sink_write, &sink),
                     BP_OK);
    assert_string_equal(sink.out.data, "Status: 201 Created\r\n"
                                       "Content-Type: application/json\r\n"
                                       "Content-Length: 10\r\n"
                                       "Location: /x\r\n"
                                       "\r\n");
    bp_buf_free(&sink.out);
    bp_response_free(&res);
}

static void test_bp_response_write_cgi_without_body(void **state)
{
    struct bp_response res;
    bp_response_init(&res);
    res.status = 204;
    struct sink sink = {.fail_at = -1};
    bp_buf_init(&sink.out, 0);
    assert_int_equal(bp_response_write_cgi(&res, false, sink_write, &sink),
                     BP_OK);
    /* 204 (and 304) say nothing of a body's length (RFC 9110 8.6). */
    assert_string_equal(sink.out.data, "Status: 204 No Content\r\n\r\n");
    bp_buf_free(&sink.out);
    bp_response_free(&res);
}

static void test_bp_response_write_cgi_write_failure(void **state)
{
    struct bp_response res;
    make_created(&res);
    /* Count the writes of a full response, then fail each one in turn. */
    struct sink sink = {.fail_at = -1};
    bp_buf_init(&sink.out, 0);
    assert_int_equal(bp_response_write_cgi(&res, false, sink_write, &sink),
                     BP_OK);
    int writes = sink.calls;
    assert_true(writes >= 2);
    for (int i = 0; i < writes; i++) {
        bp_buf_reset(&sink.out);
        sink.calls = 0;
        sink.fail_at = i;
        assert_int_equal(bp_response_write_cgi(&res, false, sink_write, &sink),
                         BP_EIO);
        assert_int_equal(sink.calls, i + 1);
    }
    bp_buf_free(&sink.out);
    bp_response_free(&res);
}

static void test_bp_response_has_header(void **state)
{
    struct bp_response res;
    bp_response_init(&res);
    assert_false(bp_response_has_header(&res, "Vary"));
    assert_int_equal(bp_response_header(&res, "Cache-Control", "public"),
                     BP_OK);
    assert_int_equal(bp_response_header(&res, "X-Varying", "1"), BP_OK);
    assert_true(bp_response_has_header(&res, "cache-control"));
    assert_false(bp_response_has_header(&res, "Vary"));
    assert_false(bp_response_has_header(&res, "Cache"));
    assert_true(bp_response_has_header(&res, "X-Varying"));
    bp_response_free(&res);
}

static void test_bp_http_reason_phrases(void **state)
{
    assert_string_equal(bp_http_reason(200), "OK");
    assert_string_equal(bp_http_reason(201), "Created");
    assert_string_equal(bp_http_reason(401), "Unauthorized");
    assert_string_equal(bp_http_reason(403), "Forbidden");
    assert_string_equal(bp_http_reason(404), "Not Found");
    assert_string_equal(bp_http_reason(405), "Method Not Allowed");
    assert_string_equal(bp_http_reason(413), "Content Too Large");
    assert_string_equal(bp_http_reason(422), "Unprocessable Content");
    assert_string_equal(bp_http_reason(503), "Service Unavailable");
    assert_string_equal(bp_http_reason(299), "Unknown");
}

static void test_bp_http_status_for_every_code(void **state)
{
    assert_int_equal(bp_http_status_for(BP_OK), 200);
    assert_int_equal(bp_http_status_for(BP_ENOTFOUND), 404);
    assert_int_equal(bp_http_status_for(BP_EINVAL), 422);
    assert_int_equal(bp_http_status_for(BP_EBADREQUEST), 400);
    assert_int_equal(bp_http_status_for(BP_ETOOBIG), 413);
    assert_int_equal(bp_http_status_for(BP_EUNSUPPORTED), 415);
    assert_int_equal(bp_http_status_for(BP_EMETHOD), 405);
    assert_int_equal(bp_http_status_for(BP_ECONFLICT), 409);
    assert_int_equal(bp_http_status_for(BP_EUNAVAILABLE), 503);
    assert_int_equal(bp_http_status_for(BP_ENOMEM), 500);
    assert_int_equal(bp_http_status_for(BP_EIO), 500);
    assert_int_equal(bp_http_status_for(BP_EINTERNAL), 500);
}

static void test_bp_http_error_respond_client_error(void **state)
{
    struct bp_response res;
    bp_response_init(&res);
    assert_int_equal(bp_buf_append_str(&res.body, "partial"), BP_OK);
    assert_int_equal(bp_response_header(&res, "Location", "/x"), BP_OK);
    struct bp_error err = {{0}};
    bp_error_set(&err, BP_EINVAL, "name must be a \"string\"");
    bp_http_error_respond(&res, BP_EINVAL, &err);
    assert_int_equal(res.status, 422);
    assert_int_equal(res.headers.len, 0);
    struct json_object *parsed;
    assert_string_equal(detail_of(&res, &parsed), "name must be a \"string\"");
    json_object_put(parsed);
    bp_response_free(&res);
}

static void test_bp_http_error_respond_generic_detail(void **state)
{
    struct bp_response res;
    bp_response_init(&res);
    struct json_object *parsed;
    bp_http_error_respond(&res, BP_ENOTFOUND, NULL);
    assert_int_equal(res.status, 404);
    assert_string_equal(detail_of(&res, &parsed), "not found");
    json_object_put(parsed);

    struct bp_error empty = {{0}};
    bp_http_error_respond(&res, BP_ECONFLICT, &empty);
    assert_int_equal(res.status, 409);
    assert_string_equal(detail_of(&res, &parsed), "conflict");
    json_object_put(parsed);
    bp_response_free(&res);
}

static void test_bp_http_error_respond_hides_internal_detail(void **state)
{
    const enum bp_rc codes[] = {BP_EINTERNAL, BP_EIO, BP_ENOMEM};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        struct bp_response res;
        bp_response_init(&res);
        struct bp_error err = {{0}};
        bp_error_set(&err, codes[i], "sqlite: /var/lib/bandpics/x.db locked");
        bp_http_error_respond(&res, codes[i], &err);
        assert_int_equal(res.status, 500);
        assert_null(strstr(res.body.data, "sqlite"));
        struct json_object *parsed;
        assert_string_equal(detail_of(&res, &parsed), "Internal server error");
        json_object_put(parsed);
        bp_response_free(&res);
    }
}

static void test_bp_http_error_respond_unavailable_retry_after(void **state)
{
    struct bp_response res;
    bp_response_init(&res);
    bp_http_error_respond(&res, BP_EUNAVAILABLE, NULL);
    assert_int_equal(res.status, 503);
    assert_string_equal(res.headers.data, "Retry-After: 1\r\n");
    struct json_object *parsed;
    detail_of(&res, &parsed);
    json_object_put(parsed);
    bp_response_free(&res);
}

/* The header promises that no 5xx response shows internal detail. */
static void test_bp_http_error_respond_names_unavailable_part(void **state)
{
    struct bp_response res;
    bp_response_init(&res);
    struct bp_error err = {{0}};
    bp_error_set(&err, BP_EUNAVAILABLE, "store: database is locked");
    bp_http_error_respond(&res, BP_EUNAVAILABLE, &err);
    assert_int_equal(res.status, 503);
    struct json_object *parsed;
    assert_string_equal(detail_of(&res, &parsed), "store: database is locked");
    json_object_put(parsed);
    bp_response_free(&res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bp_response_init_is_empty_200),
        cmocka_unit_test(test_bp_response_header_adds_line),
        cmocka_unit_test(test_bp_response_header_rejects_cr_lf),
        cmocka_unit_test(test_bp_response_json_sets_body_type_status),
        cmocka_unit_test(test_bp_response_reset_empties),
        cmocka_unit_test(test_bp_response_write_cgi_exact_output),
        cmocka_unit_test(test_bp_response_write_cgi_omit_body),
        cmocka_unit_test(test_bp_response_write_cgi_without_body),
        cmocka_unit_test(test_bp_response_write_cgi_write_failure),
        cmocka_unit_test(test_bp_http_reason_phrases),
        cmocka_unit_test(test_bp_response_has_header),
        cmocka_unit_test(test_bp_http_status_for_every_code),
        cmocka_unit_test(test_bp_http_error_respond_client_error),
        cmocka_unit_test(test_bp_http_error_respond_generic_detail),
        cmocka_unit_test(test_bp_http_error_respond_hides_internal_detail),
        cmocka_unit_test(test_bp_http_error_respond_unavailable_retry_after),
        cmocka_unit_test(test_bp_http_error_respond_names_unavailable_part),
    };
    return cmocka_run_group_tests_name("response", tests, NULL, NULL);
}
