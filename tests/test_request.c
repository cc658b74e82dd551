/*
 * test_request.c: building requests from CGI-style variables and reading
 * bodies with a size cap, through a fake body source over memory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/request.h"

/* Writable copies of string literals, as the params array wants. */
#define P(text) ((char[]){text})

/* A body source over memory, handing out at most chunk bytes per read. */
struct mem_source {
    const char *data;
    size_t len;
    size_t pos;
    size_t chunk; /* 0: as much as asked for */
    int fail_at;  /* read call that fails; -1: none */
    int calls;
    size_t most_asked; /* largest len passed to read */
};

static ssize_t mem_read(void *opaque, char *dst, size_t len)
{
    struct mem_source *src = opaque;
    if (src->calls++ == src->fail_at)
        return -1;
    if (len > src->most_asked)
        src->most_asked = len;
    size_t n = src->len - src->pos;
    if (n > len)
        n = len;
    if (src->chunk > 0 && n > src->chunk)
        n = src->chunk;
    memcpy(dst, src->data + src->pos, n);
    src->pos += n;
    return (ssize_t)n;
}

/* Returns a new buffer of n pseudo-random bytes for the caller to free. */
static char *make_bytes(size_t n)
{
    char *data = malloc(n);
    assert_non_null(data);
    for (size_t i = 0; i < n; i++)
        data[i] = (char)(i * 31 + i / 7);
    return data;
}

/* Fills req's body from src with the given Content-Length. */
static void attach(struct bp_request *req, struct mem_source *src,
                   long long length)
{
    memset(req, 0, sizeof(*req));
    req->body.read = mem_read;
    req->body.source = src;
    req->body.length = length;
}

static void test_bp_request_from_params_reads_fields(void **state)
{
    char *params[] = {P("REQUEST_METHOD=PATCH"),
                      P("QUERY_STRING=a=1&b=%20"),
                      P("CONTENT_TYPE=application/json"),
                      P("REQUEST_ID=req-1"),
                      P("CONTENT_LENGTH=42"),
                      P("DOCUMENT_URI=/image_groups/abc"),
                      NULL};
    struct bp_request req;
    struct bp_buf path;
    bp_buf_init(&path, 0);
    struct bp_error err = {{0}};
    assert_int_equal(bp_request_from_params(&req, params, &path, &err), BP_OK);
    assert_string_equal(req.method, "PATCH");
    assert_string_equal(req.query, "a=1&b=%20");
    assert_string_equal(req.content_type, "application/json");
    assert_string_equal(req.request_id, "req-1");
    assert_int_equal(req.body.length, 42);
    assert_string_equal(req.path, "/image_groups/abc");
    assert_ptr_equal(req.params, params);
    bp_buf_free(&path);
}

static void test_bp_request_from_params_defaults_to_empty(void **state)
{
    char *params[] = {P("REQUEST_URI=/healthz"), NULL};
    struct bp_request req;
    struct bp_buf path;
    bp_buf_init(&path, 0);
    struct bp_error err = {{0}};
    assert_int_equal(bp_request_from_params(&req, params, &path, &err), BP_OK);
    assert_string_equal(req.method, "");
    assert_string_equal(req.query, "");
    assert_string_equal(req.content_type, "");
    assert_string_equal(req.request_id, "");
    assert_int_equal(req.body.length, -1);
    assert_string_equal(req.path, "/healthz");
    bp_buf_free(&path);
}

static void test_bp_request_from_params_prefers_path_info(void **state)
{
    char *params[] = {P("REQUEST_URI=/cgi/bandpics/c?x=1"),
                      P("DOCUMENT_URI=/cgi/bandpics/b"), P("PATH_INFO=/a"),
                      NULL};
    struct bp_request req;
    struct bp_buf path;
    bp_buf_init(&path, 0);
    struct bp_error err = {{0}};
    assert_int_equal(bp_request_from_params(&req, params, &path, &err), BP_OK);
    assert_string_equal(req.path, "/a");
    bp_buf_free(&path);
}

static void test_bp_request_from_params_script_name_is_the_base(void **state)
{
    char *params[] = {P("SCRIPT_NAME=/cgi-bin/bandpics"),
                      P("PATH_INFO=/image_groups"), NULL};
    struct bp_request req;
    struct bp_buf path;
    bp_buf_init(&path, 0);
    struct bp_error err = {{0}};
    assert_int_equal(bp_request_from_params(&req, params, &path, &err), BP_OK);
    assert_string_equal(req.base, "/cgi-bin/bandpics");
    assert_string_equal(req.path, "/image_groups");
    /* A configured base does not apply on top of the script's. */
    bp_request_mount(&req, "/api");
    assert_string_equal(req.base, "/cgi-bin/bandpics");
    bp_buf_free(&path);
}

static void test_bp_request_from_params_base_from_rewritten_uri(void **state)
{
    static const struct {
        const char *uri, *script, *path_info, *base;
    } cases[] = {
        /* .htaccess: /bandpics/x rewritten to /bandpics/bandpics.cgi/x */
        {"/bandpics/image_groups?limit=1", "/bandpics/bandpics.cgi",
         "/image_groups", "/bandpics"},
        /* ScriptAlias: the URI starts with the script name */
        {"/cgi-bin/bandpics/image_groups", "/cgi-bin/bandpics", "/image_groups",
         "/cgi-bin/bandpics"},
        /* at the root */
        {"/image_groups", "/bandpics.cgi", "/image_groups", ""},
        /* compared decoded, as PATH_INFO is */
        {"/b/images/a%20b", "/b/x.cgi", "/images/a b", "/b"},
        /* a prefix that decodes to unsafe text: the script name stands */
        {"/b%0A/image_groups", "/b/x.cgi", "/image_groups", "/b/x.cgi"},
        /* an unsafe prefix is ignored for the script name */
        {"//evil.example/image_groups", "/x.cgi", "/image_groups", "/x.cgi"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char uri[128], script[128], path_info[128];
        snprintf(uri, sizeof(uri), "REQUEST_URI=%s", cases[i].uri);
        snprintf(script, sizeof(script), "SCRIPT_NAME=%s", cases[i].script);
        snprintf(path_info, sizeof(path_info), "PATH_INFO=%s",
                 cases[i].path_info);
        char *params[] = {uri, script, path_info, NULL};
        struct bp_request req;
        struct bp_buf path;
        bp_buf_init(&path, 0);
        struct bp_error err = {{0}};
        assert_int_equal(bp_request_from_params(&req, params, &path, &err),
                         BP_OK);
        assert_string_equal(req.base, cases[i].base);
        assert_string_equal(req.path, cases[i].path_info);
        bp_buf_free(&path);
    }
}

static void test_bp_request_from_params_unique_id(void **state)
{
    char *apache[] = {P("UNIQUE_ID=ZBx3fH8AAQEAAB@aAAAAAA"), NULL};
    char *both[] = {P("UNIQUE_ID=u"), P("REQUEST_ID=r"), NULL};
    struct bp_request req;
    struct bp_buf path;
    bp_buf_init(&path, 0);
    struct bp_error err = {{0}};
    assert_int_equal(bp_request_from_params(&req, apache, &path, &err), BP_OK);
    assert_string_equal(req.request_id, "ZBx3fH8AAQEAAB@aAAAAAA");
    assert_int_equal(bp_request_from_params(&req, both, &path, &err), BP_OK);
    assert_string_equal(req.request_id, "r");
    bp_buf_free(&path);
}

static void test_bp_request_from_params_unsafe_script_name_ignored(void **state)
{
    char *params[] = {P("SCRIPT_NAME=/x\r\nSet-Cookie: a"),
                      P("PATH_INFO=/image_groups"), NULL};
    struct bp_request req;
    struct bp_buf path;
    bp_buf_init(&path, 0);
    struct bp_error err = {{0}};
    assert_int_equal(bp_request_from_params(&req, params, &path, &err), BP_OK);
    assert_string_equal(req.base, "");
    bp_buf_free(&path);
}

static void test_bp_request_mount_strips_the_configured_base(void **state)
{
    static const struct {
        const char *uri, *base, *path;
    } cases[] = {
        {"/api/image_groups", "/api", "/image_groups"},
        {"/api", "/api", "/"},
        {"/api/", "/api", "/"},
        {"/apiary/x", "", "/apiary/x"}, /* not under /api */
        {"/image_groups", "", "/image_groups"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char uri[64];
        snprintf(uri, sizeof(uri), "DOCUMENT_URI=%s", cases[i].uri);
        char *params[] = {uri, NULL};
        struct bp_request req;
        struct bp_buf path;
        bp_buf_init(&path, 0);
        struct bp_error err = {{0}};
        assert_int_equal(bp_request_from_params(&req, params, &path, &err),
                         BP_OK);
        bp_request_mount(&req, "/api");
        assert_string_equal(req.base, cases[i].base);
        assert_string_equal(req.path, cases[i].path);
        bp_buf_free(&path);
    }
}

static void test_bp_request_from_params_then_document_uri(void **state)
{
    char *params[] = {P("PATH_INFO="), P("REQUEST_URI=/c?x=1"),
                      P("DOCUMENT_URI=/b"), NULL};
    struct bp_request req;
    struct bp_buf path;
    bp_buf_init(&path, 0);
    struct bp_error err = {{0}};
    assert_int_equal(bp_request_from_params(&req, params, &path, &err), BP_OK);
    assert_string_equal(req.path, "/b");
    bp_buf_free(&path);
}

static void test_bp_request_from_params_decodes_request_uri(void **state)
{
    char *params[] = {P("DOCUMENT_URI="),
                      P("REQUEST_URI=/image_groups/a%20b%C3%A9+c?x=%41&y"),
                      P("QUERY_STRING=x=%41&y"), NULL};
    struct bp_request req;
    struct bp_buf path;
    bp_buf_init(&path, 0);
    struct bp_error err = {{0}};
    assert_int_equal(bp_request_from_params(&req, params, &path, &err), BP_OK);
    assert_string_equal(req.path, "/image_groups/a b\xc3\xa9+c");
    assert_string_equal(req.query, "x=%41&y");
    bp_buf_free(&path);
}

static void test_bp_request_from_params_no_path_is_root(void **state)
{
    char *params[] = {P("REQUEST_METHOD=GET"), NULL};
    struct bp_request req;
    struct bp_buf path;
    bp_buf_init(&path, 0);
    struct bp_error err = {{0}};
    assert_int_equal(bp_request_from_params(&req, params, &path, &err), BP_OK);
    assert_string_equal(req.path, "/");
    char *query_only[] = {P("REQUEST_URI=?a=1"), NULL};
    assert_int_equal(bp_request_from_params(&req, query_only, &path, &err),
                     BP_OK);
    assert_string_equal(req.path, "/");
    bp_buf_free(&path);
}

/* Fails unless a request with REQUEST_URI=uri is refused as bad. */
static void expect_bad_uri(const char *uri)
{
    char var[128];
    snprintf(var, sizeof(var), "REQUEST_URI=%s", uri);
    char *params[] = {var, NULL};
    struct bp_request req;
    struct bp_buf path;
    bp_buf_init(&path, 0);
    struct bp_error err = {{0}};
    if (bp_request_from_params(&req, params, &path, &err) != BP_EBADREQUEST)
        fail_msg("'%s' was not refused", uri);
    assert_true(err.detail[0] != '\0');
    bp_buf_free(&path);
}

static void test_bp_request_from_params_rejects_bad_path(void **state)
{
    expect_bad_uri("/a%zz");
    expect_bad_uri("/a%2");
    expect_bad_uri("/a%00b");
    expect_bad_uri("/a%0Ab?x=1");
    expect_bad_uri("/a%FF");
}

/* Fails unless CONTENT_LENGTH=value is refused as a bad request. */
static void expect_bad_length(const char *value)
{
    char var[128];
    snprintf(var, sizeof(var), "CONTENT_LENGTH=%s", value);
    char *params[] = {P("REQUEST_URI=/"), var, NULL};
    struct bp_request req;
    struct bp_buf path;
    bp_buf_init(&path, 0);
    struct bp_error err = {{0}};
    if (bp_request_from_params(&req, params, &path, &err) != BP_EBADREQUEST)
        fail_msg("CONTENT_LENGTH '%s' was not refused", value);
    assert_non_null(strstr(err.detail, "Content-Length"));
    bp_buf_free(&path);
}

static void test_bp_request_from_params_content_length(void **state)
{
    char *params[] = {P("CONTENT_LENGTH=0"), NULL};
    struct bp_request req;
    struct bp_buf path;
    bp_buf_init(&path, 0);
    struct bp_error err = {{0}};
    assert_int_equal(bp_request_from_params(&req, params, &path, &err), BP_OK);
    assert_int_equal(req.body.length, 0);
    char *empty[] = {P("CONTENT_LENGTH="), NULL};
    assert_int_equal(bp_request_from_params(&req, empty, &path, &err), BP_OK);
    assert_int_equal(req.body.length, -1);
    bp_buf_free(&path);

    expect_bad_length("abc");
    expect_bad_length("12x");
    expect_bad_length("-1");
    expect_bad_length("99999999999999999999999");
}

static void test_bp_request_param_lookup(void **state)
{
    char *params[] = {P("HTTP_ACCEPT_ENCODING=gzip"), P("HTTP_ACCEPT=*/*"),
                      P("EMPTY="), NULL};
    struct bp_request req = {.params = params};
    assert_string_equal(bp_request_param(&req, "HTTP_ACCEPT"), "*/*");
    assert_string_equal(bp_request_param(&req, "HTTP_ACCEPT_ENCODING"), "gzip");
    assert_string_equal(bp_request_param(&req, "EMPTY"), "");
    assert_null(bp_request_param(&req, "HTTP"));
    assert_null(bp_request_param(&req, "MISSING"));
    struct bp_request none = {.params = NULL};
    assert_null(bp_request_param(&none, "HTTP_ACCEPT"));
}

static void test_bp_request_read_body_exact_length(void **state)
{
    enum { LEN = 40000 };
    char *data = make_bytes(LEN);
    struct mem_source src = {.data = data, .len = LEN, .fail_at = -1};
    struct bp_request req;
    attach(&req, &src, LEN);
    struct bp_buf out;
    bp_buf_init(&out, 0);
    struct bp_error err = {{0}};
    assert_int_equal(bp_request_read_body(&req, LEN, &out, &err), BP_OK);
    assert_int_equal(out.len, LEN);
    assert_memory_equal(out.data, data, LEN);
    bp_buf_free(&out);
    free(data);
}

static void test_bp_request_read_body_short_reads(void **state)
{
    struct mem_source src = {
        .data = "hello, world", .len = 12, .chunk = 5, .fail_at = -1};
    struct bp_request req;
    attach(&req, &src, 12);
    struct bp_buf out;
    bp_buf_init(&out, 0);
    struct bp_error err = {{0}};
    assert_int_equal(bp_request_read_body(&req, 100, &out, &err), BP_OK);
    assert_string_equal(out.data, "hello, world");
    bp_buf_free(&out);
}

static void test_bp_request_read_body_stops_at_length(void **state)
{
    struct mem_source src = {.data = "abcdefghij", .len = 10, .fail_at = -1};
    struct bp_request req;
    attach(&req, &src, 4);
    struct bp_buf out;
    bp_buf_init(&out, 0);
    struct bp_error err = {{0}};
    assert_int_equal(bp_request_read_body(&req, 100, &out, &err), BP_OK);
    assert_int_equal(out.len, 4);
    assert_string_equal(out.data, "abcd");
    assert_int_equal(src.pos, 4);
    assert_true(src.most_asked <= 4);
    bp_buf_free(&out);
}

static void test_bp_request_read_body_refuses_big_length(void **state)
{
    struct mem_source src = {.data = "abcdefghij", .len = 10, .fail_at = -1};
    struct bp_request req;
    attach(&req, &src, 10);
    struct bp_buf out;
    bp_buf_init(&out, 0);
    struct bp_error err = {{0}};
    assert_int_equal(bp_request_read_body(&req, 9, &out, &err), BP_ETOOBIG);
    assert_int_equal(src.calls, 0);
    assert_non_null(strstr(err.detail, "9 bytes"));
    bp_buf_free(&out);
}

static void test_bp_request_read_body_unknown_length_over_max(void **state)
{
    enum { LEN = 50000 };
    char *data = make_bytes(LEN);
    struct mem_source src = {.data = data, .len = LEN, .fail_at = -1};
    struct bp_request req;
    attach(&req, &src, -1);
    struct bp_buf out;
    bp_buf_init(&out, 0);
    struct bp_error err = {{0}};
    assert_int_equal(bp_request_read_body(&req, 20000, &out, &err), BP_ETOOBIG);
    assert_true(out.len <= 20000);
    assert_true(src.pos < LEN);
    bp_buf_free(&out);
    free(data);
}

static void test_bp_request_read_body_unknown_length_to_eof(void **state)
{
    enum { LEN = 30000 };
    char *data = make_bytes(LEN);
    struct mem_source src = {
        .data = data, .len = LEN, .chunk = 1000, .fail_at = -1};
    struct bp_request req;
    attach(&req, &src, -1);
    struct bp_buf out;
    bp_buf_init(&out, 0);
    struct bp_error err = {{0}};
    /* A body of exactly max bytes is still accepted. */
    assert_int_equal(bp_request_read_body(&req, LEN, &out, &err), BP_OK);
    assert_int_equal(out.len, LEN);
    assert_memory_equal(out.data, data, LEN);
    bp_buf_free(&out);
    free(data);
}

static void test_bp_request_read_body_shorter_than_length(void **state)
{
    struct mem_source src = {.data = "abc", .len = 3, .fail_at = -1};
    struct bp_request req;
    attach(&req, &src, 10);
    struct bp_buf out;
    bp_buf_init(&out, 0);
    struct bp_error err = {{0}};
    assert_int_equal(bp_request_read_body(&req, 100, &out, &err),
                     BP_EBADREQUEST);
    assert_non_null(strstr(err.detail, "Content-Length"));
    bp_buf_free(&out);
}

static void test_bp_request_read_body_read_error(void **state)
{
    struct mem_source src = {
        .data = "abcdefghij", .len = 10, .chunk = 3, .fail_at = 1};
    struct bp_request req;
    attach(&req, &src, 10);
    struct bp_buf out;
    bp_buf_init(&out, 0);
    struct bp_error err = {{0}};
    assert_int_equal(bp_request_read_body(&req, 100, &out, &err), BP_EIO);
    bp_buf_free(&out);

    src.pos = 0;
    src.calls = 0;
    src.fail_at = 0;
    attach(&req, &src, -1);
    bp_buf_init(&out, 0);
    assert_int_equal(bp_request_read_body(&req, 100, &out, &err), BP_EIO);
    bp_buf_free(&out);
}

static void test_bp_request_read_body_empty(void **state)
{
    struct mem_source src = {.data = "abc", .len = 3, .fail_at = -1};
    struct bp_request req;
    attach(&req, &src, 0);
    struct bp_buf out;
    bp_buf_init(&out, 0);
    struct bp_error err = {{0}};
    assert_int_equal(bp_request_read_body(&req, 100, &out, &err), BP_OK);
    assert_int_equal(out.len, 0);
    assert_int_equal(src.calls, 0);

    /* No body source at all reads as an empty body. */
    memset(&req, 0, sizeof(req));
    req.body.length = -1;
    assert_int_equal(bp_request_read_body(&req, 100, &out, &err), BP_OK);
    assert_int_equal(out.len, 0);
    bp_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bp_request_from_params_reads_fields),
        cmocka_unit_test(test_bp_request_from_params_defaults_to_empty),
        cmocka_unit_test(test_bp_request_from_params_prefers_path_info),
        cmocka_unit_test(test_bp_request_from_params_script_name_is_the_base),
        cmocka_unit_test(test_bp_request_from_params_base_from_rewritten_uri),
        cmocka_unit_test(test_bp_request_from_params_unique_id),
        cmocka_unit_test(
            test_bp_request_from_params_unsafe_script_name_ignored),
        cmocka_unit_test(test_bp_request_mount_strips_the_configured_base),
        cmocka_unit_test(test_bp_request_from_params_then_document_uri),
        cmocka_unit_test(test_bp_request_from_params_decodes_request_uri),
        cmocka_unit_test(test_bp_request_from_params_no_path_is_root),
        cmocka_unit_test(test_bp_request_from_params_rejects_bad_path),
        cmocka_unit_test(test_bp_request_from_params_content_length),
        cmocka_unit_test(test_bp_request_param_lookup),
        cmocka_unit_test(test_bp_request_read_body_exact_length),
        cmocka_unit_test(test_bp_request_read_body_short_reads),
        cmocka_unit_test(test_bp_request_read_body_stops_at_length),
        cmocka_unit_test(test_bp_request_read_body_refuses_big_length),
        cmocka_unit_test(test_bp_request_read_body_unknown_length_over_max),
        cmocka_unit_test(test_bp_request_read_body_unknown_length_to_eof),
        cmocka_unit_test(test_bp_request_read_body_shorter_than_length),
        cmocka_unit_test(test_bp_request_read_body_read_error),
        cmocka_unit_test(test_bp_request_read_body_empty),
    };
    return cmocka_run_group_tests_name("request", tests, NULL, NULL);
}
