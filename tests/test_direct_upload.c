/*
 * test_direct_upload.c: the parts of direct uploads that need no
 * storage traffic: the type a file name must be sent with, reading the
 * requested names, pending records, and the upload URLs of the local
 * store (host, port, scheme, api_base_url, token).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/direct_upload.h"
#include "blob/upload_token.h"

/* Writable copies of string literals, as the params array wants. */
#define P(text) ((char[]){text})

static unsigned char secret[] = "a test secret of 32 bytes, really";

/* A context with a local blob store in a fresh temporary directory. */
struct fixture {
    struct bp_config cfg;
    struct bp_ctx ctx;
    char root[64];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    struct bp_config_source src = {0};
    struct bp_error err = {{0}};
    assert_int_equal(bp_config_load(&f->cfg, &src, &err), BP_OK);
    f->cfg.upload_expires_s = 600;
    snprintf(f->root, sizeof(f->root), "/tmp/bp-test-direct-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    assert_int_equal(bp_blob_local_open(f->root, &f->ctx.blobs, &err), BP_OK);
    f->ctx.config = &f->cfg;
    f->ctx.upload_secret = secret;
    f->ctx.upload_secret_len = sizeof(secret) - 1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    bp_blob_store_close(f->ctx.blobs);
    rmdir(f->root);
    bp_config_free(&f->cfg);
    free(f);
    return 0;
}

static void test_bp_direct_upload_type_by_extension(void **state)
{
    assert_string_equal(bp_direct_upload_type("a.jpg"), "image/jpeg");
    assert_string_equal(bp_direct_upload_type("A.JPEG"), "image/jpeg");
    assert_string_equal(bp_direct_upload_type("x.y.png"), "image/png");
    assert_string_equal(bp_direct_upload_type("w.webp"), "image/webp");
    assert_string_equal(bp_direct_upload_type("t.TIF"), "image/tiff");
    assert_string_equal(bp_direct_upload_type("h.heic"), "image/heic");
    assert_null(bp_direct_upload_type("a.gif"));
    assert_null(bp_direct_upload_type("jpg"));
    assert_null(bp_direct_upload_type(".jpg"));
    assert_null(bp_direct_upload_type("a.jpg.exe"));
    assert_null(bp_direct_upload_type("a."));
}

/* Reads names from JSON text, expecting rc. */
static enum bp_rc read_names(const char *text, long max,
                             struct bp_direct_upload_names *names)
{
    struct json_object *value = json_tokener_parse(text);
    struct bp_error err = {{0}};
    enum bp_rc rc = bp_direct_upload_names_read(value, max, names, &err);
    if (rc != BP_OK)
        assert_true(err.detail[0] != '\0');
    json_object_put(value);
    return rc;
}

static void test_bp_direct_upload_names_read_sanitizes(void **state)
{
    struct bp_direct_upload_names names;
    assert_int_equal(read_names("[\"a.jpg\", \"../../etc/b.png\", "
                                "\"c\\u0001d.webp\"]",
                                5, &names),
                     BP_OK);
    assert_int_equal(names.count, 3);
    assert_string_equal(names.names[0], "a.jpg");
    assert_string_equal(names.names[1], "b.png");
    assert_string_equal(names.names[2], "c_d.webp");
    bp_direct_upload_names_free(&names);
}

static void test_bp_direct_upload_names_read_refuses(void **state)
{
    struct bp_direct_upload_names names;
    assert_int_equal(read_names("[]", 5, &names), BP_EINVAL);
    bp_direct_upload_names_free(&names);
    assert_int_equal(read_names("\"a.jpg\"", 5, &names), BP_EINVAL);
    bp_direct_upload_names_free(&names);
    assert_int_equal(read_names("[\"a.jpg\", 1]", 5, &names), BP_EINVAL);
    bp_direct_upload_names_free(&names);
    assert_int_equal(read_names("[\"\"]", 5, &names), BP_EINVAL);
    bp_direct_upload_names_free(&names);
    assert_int_equal(read_names("[\"a.jpg\", \"b.gif\"]", 5, &names),
                     BP_EUNSUPPORTED);
    bp_direct_upload_names_free(&names);
    assert_int_equal(read_names("[\"a.jpg\", \"b.jpg\", \"c.jpg\"]", 2, &names),
                     BP_ETOOBIG);
    bp_direct_upload_names_free(&names);
}

static void test_bp_direct_upload_records_are_pending(void **state)
{
    struct fixture *f = *state;
    struct bp_direct_upload_names names;
    assert_int_equal(read_names("[\"a.jpg\", \"b.png\"]", 5, &names), BP_OK);
    struct bp_image_list list = {0};
    const char group[] = "0123456789abcdef01234567";
    assert_int_equal(
        bp_direct_upload_records(&f->ctx, &names, group, 1000000, &list),
        BP_OK);
    assert_int_equal(list.count, 2);
    const struct bp_image *b = &list.items[1];
    assert_string_equal(b->filename, "b.png");
    assert_string_equal(b->upload_filename, "b.png");
    assert_string_equal(b->content_type, "image/png");
    assert_string_equal(b->group, group);
    assert_int_equal(b->upload_expires_at, 1000000 + 600 * 1000);
    assert_int_equal(b->created_at, 1000000);
    assert_true(bp_image_upload_awaited(b));
    assert_false(bp_image_has_file(b));
    assert_string_not_equal(list.items[0].id, b->id);
    bp_image_list_free(&list);
    bp_direct_upload_names_free(&names);
}

/* Returns the upload URL of one new pending image for a request with
 * params, or NULL with rc set (the caller frees the result). */
static char *url_for(struct fixture *f, char **params, enum bp_rc *rc)
{
    struct bp_direct_upload_names names;
    assert_int_equal(read_names("[\"a.jpg\"]", 5, &names), BP_OK);
    struct bp_image_list list = {0};
    int64_t now = (int64_t)time(NULL) * 1000;
    assert_int_equal(
        bp_direct_upload_records(&f->ctx, &names, NULL, now, &list), BP_OK);
    struct bp_request req = {.params = params, .base = ""};
    struct json_object *items = NULL;
    struct bp_error err = {{0}};
    *rc = bp_direct_upload_items(&f->ctx, &req, &list, &items, &err);
    char *url = NULL;
    if (*rc == BP_OK) {
        struct json_object *item = json_object_array_get_idx(items, 0);
        struct json_object *field;
        assert_true(json_object_object_get_ex(item, "presigned_url", &field));
        url = strdup(json_object_get_string(field));
        assert_true(json_object_object_get_ex(item, "type", &field));
        assert_string_equal(json_object_get_string(field), "image/jpeg");
        /* The token in the URL is valid for this image's upload. */
        const char *token = strstr(url, "/uploads/") + strlen("/uploads/");
        char id[BP_ID_LEN + 1];
        int64_t expires = 0;
        assert_int_equal(bp_upload_token_verify(secret, sizeof(secret) - 1,
                                                token, now, id, &expires, &err),
                         BP_OK);
        assert_string_equal(id, list.items[0].id);
        assert_int_equal(expires, list.items[0].upload_expires_at);
    }
    json_object_put(items);
    bp_image_list_free(&list);
    bp_direct_upload_names_free(&names);
    return url;
}

/* Asserts that the upload URL for params starts with prefix. */
static void expect_url_prefix(struct fixture *f, char **params,
                              const char *prefix)
{
    enum bp_rc rc;
    char *url = url_for(f, params, &rc);
    assert_int_equal(rc, BP_OK);
    if (strncmp(url, prefix, strlen(prefix)) != 0)
        fail_msg("'%s' does not start with '%s'", url, prefix);
    free(url);
}

static void test_bp_direct_upload_items_local_url(void **state)
{
    struct fixture *f = *state;
    char *plain[] = {P("HTTP_HOST=photos.example"), P("SERVER_PORT=8080"),
                     NULL};
    expect_url_prefix(f, plain, "http://photos.example:8080/uploads/");
    char *default_port[] = {P("HTTP_HOST=photos.example"), P("SERVER_PORT=80"),
                            NULL};
    expect_url_prefix(f, default_port, "http://photos.example/uploads/");
    char *tls[] = {P("HTTP_HOST=photos.example"), P("HTTPS=on"),
                   P("SERVER_PORT=443"), NULL};
    expect_url_prefix(f, tls, "https://photos.example/uploads/");
    char *with_port[] = {P("HTTP_HOST=[::1]:9000"), P("SERVER_PORT=80"), NULL};
    expect_url_prefix(f, with_port, "http://[::1]:9000/uploads/");
}

static void test_bp_direct_upload_items_api_base_url_wins(void **state)
{
    struct fixture *f = *state;
    free(f->cfg.api_base_url);
    f->cfg.api_base_url = strdup("https://api.bandpics.example/");
    char *params[] = {P("HTTP_HOST=internal:8080"), NULL};
    expect_url_prefix(f, params, "https://api.bandpics.example/uploads/");
}

static void test_bp_direct_upload_items_needs_a_host(void **state)
{
    struct fixture *f = *state;
    enum bp_rc rc;
    char *none[] = {NULL};
    assert_null(url_for(f, none, &rc));
    assert_int_equal(rc, BP_EINVAL);
    static const char *const bad_hosts[] = {"HTTP_HOST=evil.example/path?",
                                            "HTTP_HOST=a]b",
                                            "HTTP_HOST=x:1:2",
                                            "HTTP_HOST=-x",
                                            "HTTP_HOST=[zz]",
                                            "HTTP_HOST=host:",
                                            "HTTP_HOST=a_b",
                                            "HTTP_HOST=h:123456"};
    for (size_t i = 0; i < sizeof(bad_hosts) / sizeof(bad_hosts[0]); i++) {
        char param[64];
        snprintf(param, sizeof(param), "%s", bad_hosts[i]);
        char *bad[] = {param, NULL};
        assert_null(url_for(f, bad, &rc));
        assert_int_equal(rc, BP_EINVAL);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bp_direct_upload_type_by_extension),
        cmocka_unit_test(test_bp_direct_upload_names_read_sanitizes),
        cmocka_unit_test(test_bp_direct_upload_names_read_refuses),
        cmocka_unit_test_setup_teardown(
            test_bp_direct_upload_records_are_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bp_direct_upload_items_local_url,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_bp_direct_upload_items_api_base_url_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_bp_direct_upload_items_needs_a_host, setup, teardown),
    };
    return cmocka_run_group_tests_name("direct_upload", tests, NULL, NULL);
}
