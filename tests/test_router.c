/* test_router.c: matching methods and paths against a route table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "http/router.h"

/* Dummy handlers: the router only compares and returns them. */
#define DUMMY_HANDLER(fn)                                                      \
    static enum bp_rc fn(struct bp_ctx *ctx, const struct bp_request *req,     \
                         const struct bp_route_match *match,                   \
                         struct bp_response *res, struct bp_error *err)        \
    {                                                                          \
        return BP_OK;                                                          \
    }

DUMMY_HANDLER(handle_root)
DUMMY_HANDLER(handle_health)
DUMMY_HANDLER(handle_list)
DUMMY_HANDLER(handle_create)
DUMMY_HANDLER(handle_get)
DUMMY_HANDLER(handle_update)
DUMMY_HANDLER(handle_delete)
DUMMY_HANDLER(handle_image)

enum { ROOT, HEALTH, LIST, CREATE, GET, UPDATE, DELETE, IMAGE, NROUTES };

static const struct bp_route routes[] = {
    [ROOT] = {"GET", "/", handle_root},
    [HEALTH] = {"GET", "/healthz", handle_health},
    [LIST] = {"GET", "/image_groups", handle_list},
    [CREATE] = {"POST", "/image_groups", handle_create},
    [GET] = {"GET", "/image_groups/{id}", handle_get},
    [UPDATE] = {"PATCH", "/image_groups/{id}", handle_update},
    [DELETE] = {"DELETE", "/image_groups/{id}", handle_delete},
    [IMAGE] = {"GET", "/image_groups/{group}/images/{image}", handle_image},
};

/*
 * Matches method and path, expecting BP_OK on routes[want]; the match
 * is returned for the caller to check captures.
 */
static struct bp_route_match expect_route(const char *method, const char *path,
                                          int want)
{
    struct bp_route_match match;
    memset(&match, 0x5a, sizeof(match));
    char allow[64];
    enum bp_rc rc = bp_router_match(routes, NROUTES, method, path, &match,
                                    allow, sizeof(allow));
    if (rc != BP_OK)
        fail_msg("%s %s gave %d", method, path, rc);
    if (match.route != &routes[want])
        fail_msg("%s %s matched the wrong route", method, path);
    return match;
}

/* Fails unless method and path match no pattern at all. */
static void expect_not_found(const char *method, const char *path)
{
    struct bp_route_match match;
    char allow[64];
    enum bp_rc rc = bp_router_match(routes, NROUTES, method, path, &match,
                                    allow, sizeof(allow));
    if (rc != BP_ENOTFOUND)
        fail_msg("%s '%s' gave %d, not BP_ENOTFOUND", method, path, rc);
}

/* Fails unless path is known but not for method, with want as Allow. */
static void expect_method_refused(const char *method, const char *path,
                                  const char *want)
{
    struct bp_route_match match;
    char allow[64];
    enum bp_rc rc = bp_router_match(routes, NROUTES, method, path, &match,
                                    allow, sizeof(allow));
    if (rc != BP_EMETHOD)
        fail_msg("%s %s gave %d, not BP_EMETHOD", method, path, rc);
    assert_string_equal(allow, want);
}

static void test_bp_router_match_literal(void **state)
{
    struct bp_route_match m = expect_route("GET", "/healthz", HEALTH);
    assert_int_equal(m.count, 0);
    assert_true(m.route->handler == handle_health);
    m = expect_route("GET", "/image_groups", LIST);
    assert_int_equal(m.count, 0);
    m = expect_route("POST", "/image_groups", CREATE);
    assert_true(m.route->handler == handle_create);
}

static void test_bp_router_match_captures(void **state)
{
    struct bp_route_match m =
        expect_route("GET", "/image_groups/65f0a1b2c3d4e5f6a7b8c9d0", GET);
    assert_int_equal(m.count, 1);
    assert_string_equal(m.captures[0], "65f0a1b2c3d4e5f6a7b8c9d0");
    m = expect_route("PATCH", "/image_groups/abc", UPDATE);
    assert_int_equal(m.count, 1);
    assert_string_equal(m.captures[0], "abc");
    m = expect_route("DELETE", "/image_groups/x", DELETE);
    assert_string_equal(m.captures[0], "x");
    m = expect_route("GET", "/image_groups/g1/images/i2", IMAGE);
    assert_int_equal(m.count, 2);
    assert_string_equal(m.captures[0], "g1");
    assert_string_equal(m.captures[1], "i2");
}

static void test_bp_router_match_head_matches_get(void **state)
{
    expect_route("HEAD", "/healthz", HEALTH);
    struct bp_route_match m = expect_route("HEAD", "/image_groups/abc", GET);
    assert_string_equal(m.captures[0], "abc");
}

static void test_bp_router_match_ignores_trailing_slash(void **state)
{
    expect_route("GET", "/healthz/", HEALTH);
    expect_route("POST", "/image_groups/", CREATE);
    struct bp_route_match m = expect_route("GET", "/image_groups/abc/", GET);
    assert_int_equal(m.count, 1);
    assert_string_equal(m.captures[0], "abc");
}

static void test_bp_router_match_root_only_matches_root(void **state)
{
    expect_route("GET", "/", ROOT);
    expect_route("HEAD", "/", ROOT);
    expect_not_found("GET", "/x");
    expect_not_found("GET", "");
    expect_not_found("GET", "/favicon.ico");
}

/* A match is "filled" for the root too: no captures, count 0. */
static void test_bp_router_match_root_has_no_captures(void **state)
{
    struct bp_route_match m = expect_route("GET", "/", ROOT);
    assert_int_equal(m.count, 0);
}

static void test_bp_router_match_unknown_path(void **state)
{
    expect_not_found("GET", "/nope");
    expect_not_found("GET", "/health");
    expect_not_found("GET", "/healthzz");
    expect_not_found("GET", "healthz");
    expect_not_found("GET", "/Healthz");
    expect_not_found("GET", "/image_group");
    expect_not_found("DELETE", "/image_groupsx");
}

static void test_bp_router_match_extra_segments(void **state)
{
    expect_not_found("GET", "/healthz/x");
    expect_not_found("GET", "/image_groups/abc/def");
    expect_not_found("GET", "/image_groups/g/images/i/more");
    expect_not_found("GET", "/image_groups/g/images");
    expect_not_found("GET", "/image_groups/g/imagex/i");
}

static void test_bp_router_match_empty_segment(void **state)
{
    /* An empty segment is never an {id}, and is not the collection. */
    expect_not_found("GET", "/image_groups//");
    expect_not_found("DELETE", "/image_groups//");
    expect_not_found("GET", "/image_groups//images/i");
    expect_not_found("GET", "//image_groups");
    expect_not_found("GET", "/healthz//");
}

static void test_bp_router_match_wrong_method(void **state)
{
    expect_method_refused("PUT", "/image_groups/abc",
                          "GET, HEAD, PATCH, DELETE");
    expect_method_refused("POST", "/image_groups/abc/",
                          "GET, HEAD, PATCH, DELETE");
    expect_method_refused("DELETE", "/image_groups", "GET, HEAD, POST");
    expect_method_refused("POST", "/healthz", "GET, HEAD");
    expect_method_refused("get", "/healthz", "GET, HEAD");
}

static void test_bp_router_match_allow_fits_buffer(void **state)
{
    struct bp_route_match match;
    char allow[32];
    memset(allow, 'X', sizeof(allow));
    assert_int_equal(bp_router_match(routes, NROUTES, "PUT", "/image_groups/a",
                                     &match, allow, 12),
                     BP_EMETHOD);
    assert_true(strlen(allow) < 12);
    assert_true(strncmp(allow, "GET, HEAD", 9) == 0);
    for (size_t i = 12; i < sizeof(allow); i++)
        assert_int_equal(allow[i], 'X');
}

static void test_bp_router_match_truncates_long_capture(void **state)
{
    char path[512] = "/image_groups/";
    size_t prefix = strlen(path);
    memset(path + prefix, 'a', 300);
    path[prefix + 300] = '\0';
    struct bp_route_match m = expect_route("GET", path, GET);
    assert_int_equal(m.count, 1);
    assert_int_equal(strlen(m.captures[0]), BP_ROUTE_CAPTURE_LEN - 1);
    assert_int_equal(strspn(m.captures[0], "a"), BP_ROUTE_CAPTURE_LEN - 1);

    /* Exactly one byte short of the limit is kept whole. */
    path[prefix + BP_ROUTE_CAPTURE_LEN - 1] = '\0';
    m = expect_route("GET", path, GET);
    assert_int_equal(strlen(m.captures[0]), BP_ROUTE_CAPTURE_LEN - 1);
}

static void test_bp_router_match_too_many_captures(void **state)
{
    static const struct bp_route wide[] = {
        {"GET", "/{a}/{b}/{c}/{d}/{e}", handle_root, BP_ROUTE_READ},
        {"GET", "/{a}/{b}/{c}/{d}", handle_health, BP_ROUTE_READ},
    };
    struct bp_route_match match;
    char allow[16];
    assert_int_equal(
        bp_router_match(wide, 2, "GET", "/1/2/3/4/5", &match, allow, 16),
        BP_ENOTFOUND);
    assert_int_equal(
        bp_router_match(wide, 2, "GET", "/1/2/3/4", &match, allow, 16), BP_OK);
    assert_ptr_equal(match.route, &wide[1]);
    assert_int_equal(match.count, BP_ROUTE_MAX_CAPTURES);
    assert_string_equal(match.captures[3], "4");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bp_router_match_literal),
        cmocka_unit_test(test_bp_router_match_captures),
        cmocka_unit_test(test_bp_router_match_head_matches_get),
        cmocka_unit_test(test_bp_router_match_ignores_trailing_slash),
        cmocka_unit_test(test_bp_router_match_root_only_matches_root),
        cmocka_unit_test(test_bp_router_match_root_has_no_captures),
        cmocka_unit_test(test_bp_router_match_unknown_path),
        cmocka_unit_test(test_bp_router_match_extra_segments),
        cmocka_unit_test(test_bp_router_match_empty_segment),
        cmocka_unit_test(test_bp_router_match_wrong_method),
        cmocka_unit_test(test_bp_router_match_allow_fits_buffer),
        cmocka_unit_test(test_bp_router_match_truncates_long_capture),
        cmocka_unit_test(test_bp_router_match_too_many_captures),
    };
    return cmocka_run_group_tests_name("router", tests, NULL, NULL);
}
