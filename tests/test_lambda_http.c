/* test_lambda_http.c: AWS Lambda HTTP events as CGI requests, and CGI
 * answers as the events' responses (server/lambda_http.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "server/lambda_http.h"

/* The request of the event in json: its variables and body. */
struct translated {
    struct bp_cgi_params params;
    struct bp_buf body;
    struct bp_error err;
    enum bp_rc rc;
};

static void translate(const char *json, struct translated *out)
{
    memset(out, 0, sizeof(*out));
    bp_buf_init(&out->body, 1 << 20);
    json_object *event = json_tokener_parse(json);
    assert_non_null(event);
    out->rc = bp_lambda_http_request(event, "req-1", "Root=1-x", &out->params,
                                     &out->body, &out->err);
    json_object_put(event);
}

static void release(struct translated *t)
{
    bp_cgi_params_free(&t->params);
    bp_buf_free(&t->body);
}

/* The value of the CGI variable name, or NULL. */
static const char *var(const struct translated *t, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < t->params.count; i++)
        if (strncmp(t->params.vars[i], name, len) == 0 &&
            t->params.vars[i][len] == '=')
            return t->params.vars[i] + len + 1;
    return NULL;
}

static void test_payload_2_0_with_stage_cookies_and_forwarding(void **state)
{
    (void)state;
    struct translated t;
    translate("{\"version\":\"2.0\",\"rawPath\":\"/prod/image_groups\","
              "\"rawQueryString\":\"limit=2&name=a%20b\","
              "\"cookies\":[\"a=1\",\"b=2\"],"
              "\"headers\":{\"host\":\"h.example\",\"content-type\":"
              "\"application/json\",\"x-forwarded-proto\":\"https\","
              "\"x-forwarded-port\":\"443\",\"content-length\":\"99\"},"
              "\"requestContext\":{\"stage\":\"prod\",\"domainName\":"
              "\"a.execute-api.eu-west-1.amazonaws.com\",\"http\":{"
              "\"method\":\"POST\"}},\"body\":\"{}\","
              "\"isBase64Encoded\":false}",
              &t);
    assert_int_equal(t.rc, BP_OK);
    assert_string_equal(var(&t, "REQUEST_METHOD"), "POST");
    /* The stage is the mount point: the API's path is PATH_INFO. */
    assert_string_equal(var(&t, "PATH_INFO"), "/image_groups");
    assert_string_equal(var(&t, "SCRIPT_NAME"), "/prod");
    assert_string_equal(var(&t, "REQUEST_URI"),
                        "/prod/image_groups?limit=2&name=a%20b");
    assert_string_equal(var(&t, "QUERY_STRING"), "limit=2&name=a%20b");
    assert_string_equal(var(&t, "HTTP_COOKIE"), "a=1; b=2");
    assert_string_equal(var(&t, "HTTP_HOST"), "h.example");
    assert_string_equal(var(&t, "CONTENT_TYPE"), "application/json");
    /* The decoded body's length, not the header's. */
    assert_string_equal(var(&t, "CONTENT_LENGTH"), "2");
    assert_string_equal(var(&t, "REQUEST_SCHEME"), "https");
    assert_string_equal(var(&t, "SERVER_PORT"), "443");
    assert_string_equal(var(&t, "REQUEST_ID"), "req-1");
    assert_string_equal(var(&t, "BANDPICS_TRACE_ID"), "Root=1-x");
    assert_int_equal(t.body.len, 2);
    release(&t);
}

static void test_default_stage_and_stage_like_paths_are_kept(void **state)
{
    (void)state;
    struct translated t;
    translate("{\"rawPath\":\"/production/x\",\"rawQueryString\":\"\","
              "\"requestContext\":{\"stage\":\"prod\",\"domainName\":"
              "\"a.execute-api.x\",\"http\":{\"method\":\"GET\"}}}",
              &t);
    assert_int_equal(t.rc, BP_OK);
    assert_string_equal(var(&t, "PATH_INFO"), "/production/x");
    assert_string_equal(var(&t, "SCRIPT_NAME"), "");
    release(&t);
    translate("{\"rawPath\":\"/$default/x\",\"requestContext\":{\"stage\":"
              "\"$default\",\"http\":{\"method\":\"GET\"}}}",
              &t);
    assert_string_equal(var(&t, "PATH_INFO"), "/$default/x");
    release(&t);
    translate("{\"rawPath\":\"/prod\",\"requestContext\":{\"stage\":"
              "\"prod\",\"domainName\":\"a.execute-api.x\",\"http\":{"
              "\"method\":\"GET\"}}}",
              &t);
    assert_string_equal(var(&t, "PATH_INFO"), "/");
    assert_string_equal(var(&t, "SCRIPT_NAME"), "/prod");
    release(&t);
    /* On a custom domain the path has no stage: a stage named like a
     * route stays in it. */
    translate("{\"rawPath\":\"/images/abc\",\"requestContext\":{"
              "\"stage\":\"images\",\"domainName\":\"api.example.com\","
              "\"http\":{\"method\":\"GET\"}}}",
              &t);
    assert_string_equal(var(&t, "PATH_INFO"), "/images/abc");
    assert_string_equal(var(&t, "SCRIPT_NAME"), "");
    release(&t);
}

static void test_paths_are_decoded_where_they_come_encoded(void **state)
{
    (void)state;
    struct translated t;
    /* A function URL passes the path as sent: decoded here, as CGI's
     * PATH_INFO is. */
    translate("{\"rawPath\":\"/a%20b\",\"requestContext\":{\"domainName\":"
              "\"x.lambda-url.eu-west-1.on.aws\",\"http\":{\"method\":"
              "\"GET\"}}}",
              &t);
    assert_string_equal(var(&t, "PATH_INFO"), "/a b");
    assert_string_equal(var(&t, "REQUEST_URI"), "/a%20b");
    release(&t);
    /* An HTTP API passes it decoded: not decoded twice. */
    translate("{\"rawPath\":\"/a%2541\",\"requestContext\":{\"domainName\":"
              "\"x.execute-api.eu-west-1.amazonaws.com\",\"http\":{"
              "\"method\":\"GET\"}}}",
              &t);
    assert_string_equal(var(&t, "PATH_INFO"), "/a%2541");
    release(&t);
    /* REST and ALB paths come as sent. */
    translate("{\"httpMethod\":\"GET\",\"path\":\"/my%20photo.jpg\"}", &t);
    assert_string_equal(var(&t, "PATH_INFO"), "/my photo.jpg");
    release(&t);
}

static void test_over_long_targets_and_odd_bodies_are_refused(void **state)
{
    (void)state;
    static char event[200 * 1024];
    char path[100 * 1024];
    memset(path, 'a', sizeof(path) - 1);
    path[0] = '/';
    path[sizeof(path) - 1] = '\0';
    snprintf(event, sizeof(event),
             "{\"rawPath\":\"%s\",\"requestContext\":{\"http\":{"
             "\"method\":\"GET\"}}}",
             path);
    struct translated t;
    translate(event, &t);
    assert_int_equal(t.rc, BP_ETOOBIG);
    release(&t);
    snprintf(event, sizeof(event),
             "{\"httpMethod\":\"GET\",\"path\":\"/x\","
             "\"queryStringParameters\":{\"q\":\"%s\"}}",
             path);
    translate(event, &t);
    assert_int_equal(t.rc, BP_ETOOBIG);
    release(&t);
    translate("{\"rawPath\":\"/x\",\"requestContext\":{\"http\":{"
              "\"method\":\"POST\"}},\"body\":12}",
              &t);
    assert_int_equal(t.rc, BP_EINVAL);
    release(&t);
    translate("{\"rawPath\":\"/x\",\"requestContext\":{\"http\":{"
              "\"method\":\"POST\"}},\"body\":\"====\","
              "\"isBase64Encoded\":true}",
              &t);
    assert_int_equal(t.rc, BP_EINVAL);
    release(&t);
    /* A text body keeps its NUL bytes. */
    translate("{\"rawPath\":\"/x\",\"requestContext\":{\"http\":{"
              "\"method\":\"POST\"}},\"body\":\"a\\u0000b\"}",
              &t);
    assert_int_equal(t.rc, BP_OK);
    assert_int_equal(t.body.len, 3);
    assert_string_equal(var(&t, "CONTENT_LENGTH"), "3");
    release(&t);
}

static void test_rest_stage_is_the_mount(void **state)
{
    (void)state;
    struct translated t;
    translate("{\"httpMethod\":\"GET\",\"path\":\"/images/1\","
              "\"headers\":{\"X-Forwarded-Proto\":\"https\","
              "\"X-Forwarded-Port\":\"443\"},"
              "\"requestContext\":{\"stage\":\"prod\",\"path\":"
              "\"/prod/images/1\"}}",
              &t);
    assert_int_equal(t.rc, BP_OK);
    /* REST APIs keep the header names' case. */
    assert_string_equal(var(&t, "REQUEST_SCHEME"), "https");
    assert_string_equal(var(&t, "SERVER_PORT"), "443");
    assert_string_equal(var(&t, "PATH_INFO"), "/images/1");
    assert_string_equal(var(&t, "SCRIPT_NAME"), "/prod");
    assert_string_equal(var(&t, "REQUEST_URI"), "/prod/images/1");
    release(&t);
}

static void test_payload_1_0_multi_values_are_encoded(void **state)
{
    (void)state;
    struct translated t;
    translate("{\"httpMethod\":\"GET\",\"path\":\"/images\","
              "\"queryStringParameters\":{\"tag\":\"b\"},"
              "\"multiValueQueryStringParameters\":{\"tag\":[\"a b\",\"b\"]},"
              "\"headers\":{\"accept\":\"*/*\"},"
              "\"multiValueHeaders\":{\"accept\":[\"text/html\",\"*/*\"],"
              "\"cookie\":[\"a=1\",\"b=2\"]}}",
              &t);
    assert_int_equal(t.rc, BP_OK);
    assert_string_equal(var(&t, "QUERY_STRING"), "tag=a%20b&tag=b");
    assert_string_equal(var(&t, "HTTP_ACCEPT"), "text/html, */*");
    assert_string_equal(var(&t, "HTTP_COOKIE"), "a=1; b=2");
    assert_string_equal(var(&t, "CONTENT_LENGTH"), "0");
    release(&t);
}

static void test_alb_query_is_passed_as_sent(void **state)
{
    (void)state;
    struct translated t;
    translate("{\"requestContext\":{\"elb\":{\"targetGroupArn\":\"x\"}},"
              "\"httpMethod\":\"GET\",\"path\":\"/image_groups\","
              "\"multiValueQueryStringParameters\":{\"q\":[\"a%20b\"]}}",
              &t);
    assert_int_equal(t.rc, BP_OK);
    assert_string_equal(var(&t, "QUERY_STRING"), "q=a%20b");
    release(&t);
}

static void test_base64_bodies(void **state)
{
    (void)state;
    struct translated t;
    translate("{\"rawPath\":\"/images\",\"requestContext\":{\"http\":{"
              "\"method\":\"POST\"}},\"body\":\"/9j/4A==\","
              "\"isBase64Encoded\":true}",
              &t);
    assert_int_equal(t.rc, BP_OK);
    assert_int_equal(t.body.len, 4);
    assert_memory_equal(t.body.data, "\xff\xd8\xff\xe0", 4);
    assert_string_equal(var(&t, "CONTENT_LENGTH"), "4");
    release(&t);
    translate("{\"rawPath\":\"/images\",\"requestContext\":{\"http\":{"
              "\"method\":\"POST\"}},\"body\":\"!!not base64\","
              "\"isBase64Encoded\":true}",
              &t);
    assert_int_equal(t.rc, BP_EINVAL);
    assert_non_null(strstr(t.err.detail, "base64"));
    release(&t);
}

static void test_other_events_are_no_requests(void **state)
{
    (void)state;
    struct translated t;
    translate("{\"hello\":\"world\"}", &t);
    assert_int_equal(t.rc, BP_EBADREQUEST);
    release(&t);
    translate("{\"rawPath\":\"/x\"}", &t);
    assert_int_equal(t.rc, BP_EBADREQUEST);
    release(&t);
}

/* The answer to the event in event_json for the CGI output cgi. */
static json_object *answer(const char *cgi, size_t len, const char *event_json)
{
    struct bp_buf out;
    bp_buf_init(&out, 1 << 20);
    assert_int_equal(bp_buf_append(&out, cgi, len), BP_OK);
    json_object *event = json_tokener_parse(event_json);
    json_object *doc = bp_lambda_http_answer(&out, event);
    json_object_put(event);
    bp_buf_free(&out);
    assert_non_null(doc);
    return doc;
}

static const char *member(json_object *obj, const char *key)
{
    json_object *value = NULL;
    if (!json_object_object_get_ex(obj, key, &value))
        return NULL;
    return json_object_get_string(value);
}

static void test_answers_text_and_bytes(void **state)
{
    (void)state;
    static const char text[] = "Status: 201 Created\r\nContent-Type: "
                               "application/json\r\nX-A: 1\r\nX-A: 2\r\n\r\n"
                               "{\"ok\":1}";
    json_object *doc = answer(text, sizeof(text) - 1,
                              "{\"version\":\"2.0\",\"rawPath\":\"/\"}");
    assert_string_equal(member(doc, "statusCode"), "201");
    assert_string_equal(member(doc, "body"), "{\"ok\":1}");
    assert_string_equal(member(doc, "isBase64Encoded"), "false");
    json_object *headers = NULL;
    assert_true(json_object_object_get_ex(doc, "headers", &headers));
    /* A repeated header: its values joined. */
    assert_string_equal(member(headers, "X-A"), "1, 2");
    assert_null(member(doc, "statusDescription"));
    json_object_put(doc);
    static const char bytes[] = "Content-Type: image/jpeg\r\n\r\n\xff\xd8\xff";
    doc = answer(bytes, sizeof(bytes) - 1, "{}");
    assert_string_equal(member(doc, "statusCode"), "200");
    assert_string_equal(member(doc, "body"), "/9j/");
    assert_string_equal(member(doc, "isBase64Encoded"), "true");
    json_object_put(doc);
}

static void test_alb_answers_have_a_status_line_and_lists(void **state)
{
    (void)state;
    static const char text[] = "Status: 404 Not Found\r\nContent-Type: "
                               "application/json\r\nLink: <a>\r\nLink: <b>"
                               "\r\n\r\n{}";
    json_object *doc =
        answer(text, sizeof(text) - 1,
               "{\"requestContext\":{\"elb\":{}},\"multiValueHeaders\":{}}");
    assert_string_equal(member(doc, "statusDescription"), "404 Not Found");
    json_object *headers = NULL;
    assert_true(json_object_object_get_ex(doc, "multiValueHeaders", &headers));
    json_object *list = NULL;
    assert_true(json_object_object_get_ex(headers, "Content-Type", &list));
    assert_int_equal(json_object_array_length(list), 1);
    /* A repeated header: each value in the list. */
    assert_true(json_object_object_get_ex(headers, "Link", &list));
    assert_int_equal(json_object_array_length(list), 2);
    json_object_put(doc);
}

static void test_refusals_have_the_common_headers(void **state)
{
    (void)state;
    json_object *doc = bp_lambda_http_refusal(413, "too \"big\"", "req-9");
    assert_string_equal(member(doc, "statusCode"), "413");
    json_object *body = json_tokener_parse(member(doc, "body"));
    assert_string_equal(member(body, "detail"), "too \"big\"");
    json_object_put(body);
    json_object *headers = NULL;
    assert_true(json_object_object_get_ex(doc, "headers", &headers));
    assert_string_equal(member(headers, "X-Request-Id"), "req-9");
    assert_string_equal(member(headers, "X-Content-Type-Options"), "nosniff");
    assert_string_equal(member(headers, "Content-Type"), "application/json");
    char length[32];
    snprintf(length, sizeof(length), "%zu", strlen(member(doc, "body")));
    assert_string_equal(member(headers, "Content-Length"), length);
    json_object_put(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_payload_2_0_with_stage_cookies_and_forwarding),
        cmocka_unit_test(test_default_stage_and_stage_like_paths_are_kept),
        cmocka_unit_test(test_paths_are_decoded_where_they_come_encoded),
        cmocka_unit_test(test_over_long_targets_and_odd_bodies_are_refused),
        cmocka_unit_test(test_rest_stage_is_the_mount),
        cmocka_unit_test(test_payload_1_0_multi_values_are_encoded),
        cmocka_unit_test(test_alb_query_is_passed_as_sent),
        cmocka_unit_test(test_base64_bodies),
        cmocka_unit_test(test_other_events_are_no_requests),
        cmocka_unit_test(test_answers_text_and_bytes),
        cmocka_unit_test(test_alb_answers_have_a_status_line_and_lists),
        cmocka_unit_test(test_refusals_have_the_common_headers),
    };
    return cmocka_run_group_tests_name("lambda_http", tests, NULL, NULL);
}
