/* test_upload_token.c: signing and checking local upload tokens. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/hmac.h>

#include "blob/upload_token.h"

static const unsigned char secret[] = "0123456789abcdef0123456789abcdef";
#define SECRET_LEN (sizeof(secret) - 1)
static const char id[] = "5f1e2d3c4b5a697887766554";

/* Makes the token of id expiring at expires_ms into out (caller frees). */
static void make(int64_t expires_ms, struct bp_buf *out)
{
    bp_buf_init(out, 0);
    assert_int_equal(
        bp_upload_token_make(secret, SECRET_LEN, id, expires_ms, out), BP_OK);
}

/* Asserts that token is refused at now_ms with a detail containing what. */
static void expect_forbidden(const char *token, int64_t now_ms,
                             const char *what)
{
    char got[BP_ID_LEN + 1];
    int64_t expires = 0;
    struct bp_error err = {{0}};
    assert_int_equal(bp_upload_token_verify(secret, SECRET_LEN, token, now_ms,
                                            got, &expires, &err),
                     BP_EFORBIDDEN);
    if (strstr(err.detail, what) == NULL)
        fail_msg("detail '%s' lacks '%s'", err.detail, what);
}

static void test_bp_upload_token_make_has_id_expiry_and_hmac(void **state)
{
    struct bp_buf token;
    make(1800000000000, &token);
    /* The MAC is HMAC-SHA256 of "<id>.<expires>", computed here apart. */
    unsigned char mac[32];
    unsigned int mac_len = 0;
    const char message[] = "5f1e2d3c4b5a697887766554.1800000000000";
    HMAC(EVP_sha256(), secret, (int)SECRET_LEN, (const unsigned char *)message,
         sizeof(message) - 1, mac, &mac_len);
    char expected[200];
    int used = snprintf(expected, sizeof(expected), "%s.", message);
    for (unsigned int i = 0; i < mac_len; i++)
        used += snprintf(expected + used, sizeof(expected) - (size_t)used,
                         "%02x", mac[i]);
    assert_string_equal(token.data, expected);
    bp_buf_free(&token);
}

static void test_bp_upload_token_verify_accepts_until_expiry(void **state)
{
    struct bp_buf token;
    make(1800000000000, &token);
    char got[BP_ID_LEN + 1];
    int64_t expires = 0;
    struct bp_error err = {{0}};
    assert_int_equal(bp_upload_token_verify(secret, SECRET_LEN, token.data,
                                            1800000000000, got, &expires, &err),
                     BP_OK);
    assert_string_equal(got, id);
    assert_int_equal(expires, 1800000000000);
    expect_forbidden(token.data, 1800000000001, "expired");
    bp_buf_free(&token);
}

static void test_bp_upload_token_verify_rejects_tampering(void **state)
{
    struct bp_buf token;
    make(1800000000000, &token);
    char copy[256];
    /* Another id, a later expiry, a changed MAC digit. */
    snprintf(copy, sizeof(copy), "%s", token.data);
    copy[0] = copy[0] == '5' ? '6' : '5';
    expect_forbidden(copy, 0, "signature");
    snprintf(copy, sizeof(copy), "%s", token.data);
    copy[BP_ID_LEN + 1] = '9';
    expect_forbidden(copy, 0, "signature");
    snprintf(copy, sizeof(copy), "%s", token.data);
    size_t last = strlen(copy) - 1;
    copy[last] = copy[last] == '0' ? '1' : '0';
    expect_forbidden(copy, 0, "signature");
    bp_buf_free(&token);
}

static void test_bp_upload_token_verify_rejects_other_secret(void **state)
{
    struct bp_buf token;
    make(1800000000000, &token);
    static const unsigned char other[] = "ffffffffffffffffffffffffffffffff";
    char got[BP_ID_LEN + 1];
    int64_t expires = 0;
    struct bp_error err = {{0}};
    assert_int_equal(bp_upload_token_verify(other, sizeof(other) - 1,
                                            token.data, 0, got, &expires, &err),
                     BP_EFORBIDDEN);
    bp_buf_free(&token);
}

static void test_bp_upload_token_verify_rejects_malformed(void **state)
{
    static const char *const bad[] = {
        "",
        "5f1e2d3c4b5a697887766554",
        "5f1e2d3c4b5a697887766554.1800000000000",
        "5f1e2d3c4b5a697887766554..abcd",
        "5f1e2d3c4b5a69788776655.1800000000000."
        "0000000000000000000000000000000000000000000000000000000000000000",
        "5f1e2d3c4b5a697887766554.18x0000000."
        "0000000000000000000000000000000000000000000000000000000000000000",
        "5f1e2d3c4b5a697887766554.1800000000000.00",
        /* Other spellings of a valid token: upper-case id, leading 0. */
        "5F1E2D3C4B5A697887766554.1800000000000."
        "0000000000000000000000000000000000000000000000000000000000000000",
        "5f1e2d3c4b5a697887766554.01800000000000."
        "0000000000000000000000000000000000000000000000000000000000000000",
        "5f1e2d3c4b5a697887766554.9999999999999999."
        "0000000000000000000000000000000000000000000000000000000000000000",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_forbidden(bad[i], 0, "token");
}

static void test_bp_upload_token_make_rejects_bad_input(void **state)
{
    struct bp_buf out;
    bp_buf_init(&out, 0);
    assert_int_equal(bp_upload_token_make(secret, 8, id, 1, &out), BP_EINVAL);
    assert_int_equal(
        bp_upload_token_make(secret, SECRET_LEN, "not-an-id", 1, &out),
        BP_EINVAL);
    assert_int_equal(bp_upload_token_make(secret, SECRET_LEN, id, -1, &out),
                     BP_EINVAL);
    assert_int_equal(
        bp_upload_token_make(secret, SECRET_LEN, id, 1000000000000000, &out),
        BP_EINVAL);
    bp_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bp_upload_token_make_has_id_expiry_and_hmac),
        cmocka_unit_test(test_bp_upload_token_verify_accepts_until_expiry),
        cmocka_unit_test(test_bp_upload_token_verify_rejects_tampering),
        cmocka_unit_test(test_bp_upload_token_verify_rejects_other_secret),
        cmocka_unit_test(test_bp_upload_token_verify_rejects_malformed),
        cmocka_unit_test(test_bp_upload_token_make_rejects_bad_input),
    };
    return cmocka_run_group_tests_name("upload_token", tests, NULL, NULL);
}
