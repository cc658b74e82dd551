/*
 * test_jwt.c: bearer-token verification (and the strict base64url under
 * it). Keys are made here with OpenSSL, published as a JWK Set that
 * bp_jwks_parse reads, and tokens are signed by tests/jose_helper.c the
 * way an issuer signs them; every refusal of bp_jwt_verify has its own
 * test, and each checks the client sees only "invalid token".
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <curl/curl.h>

#include "auth/base64url.h"
#include "auth/jwks.h"
#include "auth/jwks_cache.h"
#include "auth/jwt.h"
#include "jose_helper.h"

#define ISS "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Test"
#define NOW 1800000000LL
#define RS_HEADER "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"typ\":\"JWT\"}"
#define ES_HEADER "{\"alg\":\"ES256\",\"kid\":\"ec1\"}"
/* A Cognito ID token's claims, valid at NOW. */
#define ID_CLAIMS                                                              \
    "{\"iss\":\"" ISS "\",\"sub\":\"user-1\",\"aud\":\"client-a\","            \
    "\"token_use\":\"id\",\"exp\":1800000600,\"iat\":1800000000,"              \
    "\"cognito:groups\":[\"editors\",\"viewers\"]}"
/* A Cognito access token's claims: client_id, no aud. */
#define ACCESS_CLAIMS                                                          \
    "{\"iss\":\"" ISS "\",\"sub\":\"user-2\",\"client_id\":\"client-b\","      \
    "\"token_use\":\"access\",\"exp\":1800000600,\"iat\":1800000000}"

static const char *const audiences[] = {"client-a", "client-b"};

/* The keys and key set shared by the tests, and the settings of one. */
struct fixture {
    EVP_PKEY *rsa;       /* kid rsa1, JWK alg RS256 */
    EVP_PKEY *rsa_other; /* not published */
    EVP_PKEY *ec;        /* kid ec1, no JWK alg */
    struct bp_jwks *set;
    char *jwks_json;
    struct bp_jwt_settings settings;
    /* When set, the key source answers this instead of looking. */
    enum bp_rc forced_rc;
    const struct bp_jwk *forced_key;
};

static int group_setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->rsa = bp_test_jose_rsa_key();
    fx->rsa_other = bp_test_jose_rsa_key();
    fx->ec = bp_test_jose_ec_key();
    char *a =
        bp_test_jose_jwk(fx->rsa, "rsa1", "\"alg\":\"RS256\",\"use\":\"sig\"");
    char *b = bp_test_jose_jwk(fx->ec, "ec1", NULL);
    size_t cap = strlen(a) + strlen(b) + 32;
    fx->jwks_json = malloc(cap);
    assert_non_null(fx->jwks_json);
    snprintf(fx->jwks_json, cap, "{\"keys\":[%s,%s]}", a, b);
    free(a);
    free(b);
    struct bp_error err = {{0}};
    assert_int_equal(
        bp_jwks_parse(fx->jwks_json, strlen(fx->jwks_json), &fx->set, &err),
        BP_OK);
    assert_int_equal(fx->set->count, 2);
    *state = fx;
    return 0;
}

static int group_teardown(void **state)
{
    struct fixture *fx = *state;
    bp_jwks_free(fx->set);
    free(fx->jwks_json);
    EVP_PKEY_free(fx->rsa);
    EVP_PKEY_free(fx->rsa_other);
    EVP_PKEY_free(fx->ec);
    free(fx);
    return 0;
}

/* Before each test: Cognito-like settings, the real key set. */
static int reset(void **state)
{
    struct fixture *fx = *state;
    bp_jwt_settings_init(&fx->settings);
    fx->settings.issuer = ISS;
    fx->settings.audiences = audiences;
    fx->settings.audience_count = 2;
    fx->settings.token_use = BP_JWT_USE_ACCESS | BP_JWT_USE_ID;
    fx->forced_rc = BP_OK;
    fx->forced_key = NULL;
    return 0;
}

/* The test's key source: the fixture's set, or what the test forces. */
static enum bp_rc find_key(void *arg, const char *kid, int64_t now_s,
                           const struct bp_jwk **key, struct bp_error *err)
{
    struct fixture *fx = arg;
    if (fx->forced_rc != BP_OK)
        return bp_error_set(err, fx->forced_rc, "keys are down");
    if (fx->forced_key != NULL) {
        *key = fx->forced_key;
        return BP_OK;
    }
    *key = bp_jwks_find(fx->set, kid);
    return *key != NULL ? BP_OK : bp_error_set(err, BP_EUNAUTHORIZED, "no");
}

/* Verifies token at now_s with the fixture's settings and keys. */
static enum bp_rc verify_at(struct fixture *fx, const char *token,
                            int64_t now_s, struct bp_jwt_claims *claims,
                            struct bp_error *err)
{
    const struct bp_jwt_key_source source = {find_key, fx};
    return bp_jwt_verify_with(token, &fx->settings, &source, now_s, claims,
                              err);
}

/* Asserts that token verifies at now_s; claims are left for the test. */
static void expect_ok_at(struct fixture *fx, const char *token, int64_t now_s,
                         struct bp_jwt_claims *claims)
{
    struct bp_error err = {{0}};
    enum bp_rc rc = verify_at(fx, token, now_s, claims, &err);
    if (rc != BP_OK)
        fail_msg("refused (%s): %s", bp_rc_name(rc), claims->reason);
}

/*
 * Asserts that token is refused at now_s as an invalid token, the
 * client's detail saying no more, the log's reason containing why.
 */
static void expect_refused_at(struct fixture *fx, const char *token,
                              int64_t now_s, const char *why)
{
    struct bp_jwt_claims claims;
    struct bp_error err = {{0}};
    assert_int_equal(verify_at(fx, token, now_s, &claims, &err),
                     BP_EUNAUTHORIZED);
    assert_string_equal(err.detail, "invalid token");
    if (strstr(claims.reason, why) == NULL)
        fail_msg("reason '%s' lacks '%s'", claims.reason, why);
    assert_string_equal(claims.sub, "");
    assert_int_equal(claims.role_count, 0);
}

static void expect_refused(struct fixture *fx, const char *token,
                           const char *why)
{
    expect_refused_at(fx, token, NOW, why);
}

/* Signs claims with the fixture's RSA key under RS_HEADER and checks. */
static void expect_rs_refused(struct fixture *fx, const char *claims,
                              const char *why)
{
    char *token = bp_test_jose_sign(RS_HEADER, claims, fx->rsa);
    expect_refused(fx, token, why);
    free(token);
}

/* The token of claims signed under RS_HEADER, verified at NOW. */
static void expect_rs_ok(struct fixture *fx, const char *claims,
                         struct bp_jwt_claims *out)
{
    char *token = bp_test_jose_sign(RS_HEADER, claims, fx->rsa);
    expect_ok_at(fx, token, NOW, out);
    free(token);
}

/* token cut after its second dot: "<header>.<payload>." (caller frees). */
static char *signing_prefix(const char *token)
{
    const char *last = strrchr(token, '.');
    assert_non_null(last);
    return strndup(token, (size_t)(last - token) + 1);
}

/* prefix followed by the base64url of len bytes (caller frees). */
static char *with_signature(const char *prefix, const unsigned char *sig,
                            size_t len)
{
    char *s = bp_test_jose_b64url(sig, len);
    size_t cap = strlen(prefix) + strlen(s) + 1;
    char *token = malloc(cap);
    assert_non_null(token);
    snprintf(token, cap, "%s%s", prefix, s);
    free(s);
    return token;
}

/* --- base64url --------------------------------------------------------- */

static void test_bp_base64url_round_trips(void **state)
{
    unsigned char bytes[40], back[BP_BASE64URL_DECODED_MAX(64)];
    for (size_t i = 0; i < sizeof(bytes); i++)
        bytes[i] = (unsigned char)(i * 37 + 250);
    for (size_t len = 0; len <= sizeof(bytes); len++) {
        char *text = bp_test_jose_b64url(bytes, len);
        struct bp_buf ours;
        bp_buf_init(&ours, 0);
        assert_int_equal(bp_base64url_encode(bytes, len, &ours), BP_OK);
        assert_string_equal(ours.data != NULL ? ours.data : "", text);
        size_t n = 0;
        assert_int_equal(bp_base64url_decode(text, strlen(text), back, &n),
                         BP_OK);
        assert_int_equal(n, len);
        assert_memory_equal(back, bytes, len);
        bp_buf_free(&ours);
        free(text);
    }
}

static void test_bp_base64url_decode_is_strict(void **state)
{
    static const char *const bad[] = {
        "QQ==",      /* padding */
        "QQ=",  "Q", /* a lone character */
        "QR",        /* non-zero bits after the last byte */
        "QUI+",      /* standard alphabet */
        "QUI/", "QU I", "QU\n",
    };
    unsigned char out[16];
    size_t n = 0;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (bp_base64url_decode(bad[i], strlen(bad[i]), out, &n) == BP_OK)
            fail_msg("'%s' decoded", bad[i]);
    assert_int_equal(bp_base64url_decode("QUI-", 4, out, &n), BP_OK);
    assert_int_equal(n, 3);
}

/* --- accepted tokens --------------------------------------------------- */

static void test_bp_jwt_verify_accepts_rs256_id_token(void **state)
{
    struct fixture *fx = *state;
    struct bp_jwt_claims claims;
    expect_rs_ok(fx, ID_CLAIMS, &claims);
    assert_string_equal(claims.sub, "user-1");
    assert_int_equal(claims.exp, 1800000600);
    assert_int_equal(claims.token_use, BP_JWT_USE_ID);
    assert_int_equal(claims.role_count, 2);
    assert_string_equal(claims.roles[0], "editors");
    assert_string_equal(claims.roles[1], "viewers");
    assert_true(bp_jwt_claims_has_role(&claims, "viewers"));
    assert_false(bp_jwt_claims_has_role(&claims, "admins"));
    bp_jwt_claims_clear(&claims);
    assert_string_equal(claims.sub, "");
    assert_int_equal(claims.role_count, 0);
}

static void test_bp_jwt_verify_accepts_es256(void **state)
{
    struct fixture *fx = *state;
    struct bp_jwt_claims claims;
    char *token = bp_test_jose_sign(ES_HEADER, ID_CLAIMS, fx->ec);
    expect_ok_at(fx, token, NOW, &claims);
    assert_string_equal(claims.sub, "user-1");
    free(token);
}

static void test_bp_jwt_verify_accepts_access_token_by_client_id(void **state)
{
    struct fixture *fx = *state;
    struct bp_jwt_claims claims;
    expect_rs_ok(fx, ACCESS_CLAIMS, &claims);
    assert_string_equal(claims.sub, "user-2");
    assert_int_equal(claims.token_use, BP_JWT_USE_ACCESS);
    assert_int_equal(claims.role_count, 0);
}

static void test_bp_jwt_verify_accepts_aud_array(void **state)
{
    struct fixture *fx = *state;
    struct bp_jwt_claims claims;
    expect_rs_ok(fx,
                 "{\"iss\":\"" ISS "\",\"sub\":\"u\",\"token_use\":\"id\","
                 "\"aud\":[\"other\",\"client-b\"],\"exp\":1800000600}",
                 &claims);
}

static void test_bp_jwt_verify_skips_audience_when_none_set(void **state)
{
    struct fixture *fx = *state;
    struct bp_jwt_claims claims;
    fx->settings.audience_count = 0;
    fx->settings.token_use = 0;
    expect_rs_ok(fx,
                 "{\"iss\":\"" ISS "\",\"sub\":\"u\",\"aud\":\"anyone\","
                 "\"exp\":1800000600}",
                 &claims);
    assert_int_equal(claims.token_use, 0);
}

static void test_bp_jwt_verify_exp_leeway_edge(void **state)
{
    struct fixture *fx = *state;
    struct bp_jwt_claims claims;
    char *token = bp_test_jose_sign(RS_HEADER, ID_CLAIMS, fx->rsa);
    /* exp 1800000600, leeway 60: the last good second is exp + 60. */
    expect_ok_at(fx, token, 1800000660, &claims);
    expect_refused_at(fx, token, 1800000661, "expired");
    fx->settings.leeway_s = 0;
    expect_ok_at(fx, token, 1800000600, &claims);
    expect_refused_at(fx, token, 1800000601, "expired");
    free(token);
}

static void test_bp_jwt_verify_nbf_leeway_edge(void **state)
{
    struct fixture *fx = *state;
    struct bp_jwt_claims claims;
    char *token = bp_test_jose_sign(
        RS_HEADER,
        "{\"iss\":\"" ISS "\",\"sub\":\"u\",\"aud\":\"client-a\","
        "\"token_use\":\"id\",\"nbf\":1800000100,\"exp\":1800000600}",
        fx->rsa);
    expect_ok_at(fx, token, 1800000040, &claims);
    expect_refused_at(fx, token, 1800000039, "nbf");
    free(token);
}

static void test_bp_jwt_verify_iat_leeway_edge(void **state)
{
    struct fixture *fx = *state;
    struct bp_jwt_claims claims;
    char *token = bp_test_jose_sign(
        RS_HEADER,
        "{\"iss\":\"" ISS "\",\"sub\":\"u\",\"aud\":\"client-a\","
        "\"token_use\":\"id\",\"iat\":1800000100,\"exp\":1800000600}",
        fx->rsa);
    expect_ok_at(fx, token, 1800000040, &claims);
    expect_refused_at(fx, token, 1800000039, "iat");
    free(token);
}

static void test_bp_jwt_verify_reads_roles(void **state)
{
    struct fixture *fx = *state;
    struct bp_jwt_claims claims;
    /* One string is one role; another claim name may be configured. */
    expect_rs_ok(fx,
                 "{\"iss\":\"" ISS "\",\"sub\":\"u\",\"aud\":\"client-a\","
                 "\"token_use\":\"id\",\"exp\":1800000600,"
                 "\"cognito:groups\":\"admins\",\"roles\":[\"x\"]}",
                 &claims);
    assert_int_equal(claims.role_count, 1);
    assert_string_equal(claims.roles[0], "admins");
    fx->settings.roles_claim = "roles";
    expect_rs_ok(fx,
                 "{\"iss\":\"" ISS "\",\"sub\":\"u\",\"aud\":\"client-a\","
                 "\"token_use\":\"id\",\"exp\":1800000600,"
                 "\"cognito:groups\":\"admins\",\"roles\":[\"x\"]}",
                 &claims);
    assert_int_equal(claims.role_count, 1);
    assert_string_equal(claims.roles[0], "x");
    expect_rs_refused(fx,
                      "{\"iss\":\"" ISS "\",\"sub\":\"u\",\"aud\":\"client-a\","
                      "\"token_use\":\"id\",\"exp\":1800000600,"
                      "\"roles\":[\"x\",7]}",
                      "roles");
}

static void test_bp_jwt_verify_accepts_token_of_max_len(void **state)
{
    struct fixture *fx = *state;
    char payload[8192];
    char *best = NULL;
    /* The longest token this payload padding allows within 8 KiB. */
    for (int pad = 5500; pad < 6100; pad++) {
        snprintf(payload, sizeof(payload),
                 "{\"iss\":\"" ISS "\",\"sub\":\"u\",\"aud\":\"client-a\","
                 "\"token_use\":\"id\",\"exp\":1800000600,\"pad\":\"%0*d\"}",
                 pad, 0);
        char *token = bp_test_jose_sign(RS_HEADER, payload, fx->rsa);
        if (strlen(token) <= BP_JWT_MAX_LEN) {
            free(best);
            best = token;
        } else {
            free(token);
        }
    }
    assert_non_null(best);
    assert_true(strlen(best) >= BP_JWT_MAX_LEN - 3);
    struct bp_jwt_claims claims;
    expect_ok_at(fx, best, NOW, &claims);
    free(best);
}

/* --- refused tokens ---------------------------------------------------- */

static void test_bp_jwt_verify_rejects_over_8k(void **state)
{
    struct fixture *fx = *state;
    char *token = malloc(BP_JWT_MAX_LEN + 2);
    assert_non_null(token);
    memset(token, 'A', BP_JWT_MAX_LEN + 1);
    token[10] = '.';
    token[20] = '.';
    token[BP_JWT_MAX_LEN + 1] = '\0';
    expect_refused(fx, token, "over 8192");
    free(token);
}

static void test_bp_jwt_verify_rejects_wrong_segment_count(void **state)
{
    struct fixture *fx = *state;
    char *token = bp_test_jose_sign(RS_HEADER, ID_CLAIMS, fx->rsa);
    char two[4096], four[4096];
    snprintf(two, sizeof(two), "%.*s", (int)(strrchr(token, '.') - token),
             token);
    snprintf(four, sizeof(four), "%s.", token);
    expect_refused(fx, two, "three segments");
    expect_refused(fx, four, "three segments");
    expect_refused(fx, "", "three segments");
    free(token);
}

static void test_bp_jwt_verify_rejects_bad_base64url(void **state)
{
    struct fixture *fx = *state;
    char *token = bp_test_jose_sign(RS_HEADER, ID_CLAIMS, fx->rsa);
    const char *dot1 = strchr(token, '.');
    const char *dot2 = strchr(dot1 + 1, '.');
    int h = (int)(dot1 - token), p = (int)(dot2 - dot1 - 1);
    char bad[4096];
    /* Padding on the header. */
    snprintf(bad, sizeof(bad), "%.*s=%s", h, token, dot1);
    expect_refused(fx, bad, "header: bad base64url");
    /* A '+' inside the payload. */
    snprintf(bad, sizeof(bad), "%s", token);
    bad[h + 1 + p / 2] = '+';
    expect_refused(fx, bad, "payload: bad base64url");
    /* A '/' inside the signature. */
    snprintf(bad, sizeof(bad), "%s", token);
    bad[strlen(bad) - 5] = '/';
    expect_refused(fx, bad, "signature: bad base64url");
    /* A payload cut to 4k + 1 characters. */
    int q = p % 4 == 0 ? p - 3 : p - p % 4 + 1;
    snprintf(bad, sizeof(bad), "%.*s.%.*s%s", h, token, q, dot1 + 1, dot2);
    expect_refused(fx, bad, "payload: bad base64url");
    /* An empty signature. */
    snprintf(bad, sizeof(bad), "%.*s.", (int)(dot2 - token), token);
    expect_refused(fx, bad, "signature: bad base64url");
    free(token);
}

static void test_bp_jwt_verify_rejects_payload_json_array(void **state)
{
    struct fixture *fx = *state;
    expect_rs_refused(fx, "[\"iss\",\"sub\"]", "payload: not a JSON object");
    expect_rs_refused(fx, "{\"iss\":", "payload: not JSON");
}

static void test_bp_jwt_verify_rejects_header_not_object(void **state)
{
    struct fixture *fx = *state;
    char *token = bp_test_jose_sign("\"RS256\"", ID_CLAIMS, fx->rsa);
    expect_refused(fx, token, "header: not a JSON object");
    free(token);
    token = bp_test_jose_sign("{alg:RS256}", ID_CLAIMS, fx->rsa);
    expect_refused(fx, token, "header: not JSON");
    free(token);
}

static void test_bp_jwt_verify_rejects_alg_none(void **state)
{
    struct fixture *fx = *state;
    char *token = bp_test_jose_sign("{\"alg\":\"none\",\"kid\":\"rsa1\"}",
                                    ID_CLAIMS, NULL);
    expect_refused(fx, token, "alg not allowed");
    free(token);
}

static void test_bp_jwt_verify_rejects_hs256_with_public_key(void **state)
{
    struct fixture *fx = *state;
    /* The classic confusion: the RSA public key's PEM used as an HMAC
     * secret, which a verifier that trusted alg would check against. */
    char *pem = bp_test_jose_public_pem(fx->rsa);
    char *token = bp_test_jose_sign_hmac("{\"alg\":\"HS256\",\"kid\":\"rsa1\"}",
                                         ID_CLAIMS, pem, strlen(pem));
    expect_refused(fx, token, "alg not allowed");
    free(token);
    free(pem);
}

static void test_bp_jwt_verify_rejects_rs256_naming_ec_key(void **state)
{
    struct fixture *fx = *state;
    char *token = bp_test_jose_sign("{\"alg\":\"RS256\",\"kid\":\"ec1\"}",
                                    ID_CLAIMS, fx->rsa);
    expect_refused(fx, token, "key type");
    free(token);
}

static void test_bp_jwt_verify_rejects_es256_naming_rsa_key(void **state)
{
    struct fixture *fx = *state;
    char *token = bp_test_jose_sign("{\"alg\":\"ES256\",\"kid\":\"rsa1\"}",
                                    ID_CLAIMS, fx->ec);
    expect_refused(fx, token, "key type");
    free(token);
}

static void test_bp_jwt_verify_rejects_alg_other_than_jwk_alg(void **state)
{
    struct fixture *fx = *state;
    /* An RSA key whose JWK said ES256 (bp_jwks_parse would skip such a
     * key; a key source could still hand one over). */
    struct bp_jwk odd = {"rsa1", BP_JWK_RSA, BP_JWS_ALG_ES256, fx->rsa};
    fx->forced_key = &odd;
    expect_rs_refused(fx, ID_CLAIMS, "key's alg");
}

static void test_bp_jwt_verify_rejects_es256_wrong_sig_length(void **state)
{
    struct fixture *fx = *state;
    char *token = bp_test_jose_sign(ES_HEADER, ID_CLAIMS, fx->ec);
    char *prefix = signing_prefix(token);
    unsigned char sig[BP_BASE64URL_DECODED_MAX(128)];
    size_t n = 0;
    const char *s = strrchr(token, '.') + 1;
    assert_int_equal(bp_base64url_decode(s, strlen(s), sig, &n), BP_OK);
    assert_int_equal(n, 64);
    char *shorter = with_signature(prefix, sig, 63);
    sig[64] = 0;
    char *longer = with_signature(prefix, sig, 65);
    expect_refused(fx, shorter, "not 64 bytes");
    expect_refused(fx, longer, "not 64 bytes");
    free(shorter);
    free(longer);
    free(prefix);
    free(token);
}

static void test_bp_jwt_verify_rejects_missing_kid(void **state)
{
    struct fixture *fx = *state;
    char *token = bp_test_jose_sign("{\"alg\":\"RS256\"}", ID_CLAIMS, fx->rsa);
    expect_refused(fx, token, "no kid");
    free(token);
    token = bp_test_jose_sign("{\"alg\":\"RS256\",\"kid\":\"\"}", ID_CLAIMS,
                              fx->rsa);
    expect_refused(fx, token, "no kid");
    free(token);
}

static void test_bp_jwt_verify_rejects_crit_header(void **state)
{
    struct fixture *fx = *state;
    char *token = bp_test_jose_sign(
        "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"crit\":[\"exp\"]}", ID_CLAIMS,
        fx->rsa);
    expect_refused(fx, token, "crit");
    free(token);
}

static void test_bp_jwt_verify_rejects_unknown_kid(void **state)
{
    struct fixture *fx = *state;
    char *token = bp_test_jose_sign("{\"alg\":\"RS256\",\"kid\":\"rsa9\"}",
                                    ID_CLAIMS, fx->rsa);
    expect_refused(fx, token, "unknown kid");
    free(token);
}

static void test_bp_jwt_verify_passes_keys_unavailable_on(void **state)
{
    struct fixture *fx = *state;
    char *token = bp_test_jose_sign(RS_HEADER, ID_CLAIMS, fx->rsa);
    fx->forced_rc = BP_EUNAVAILABLE;
    struct bp_jwt_claims claims;
    struct bp_error err = {{0}};
    assert_int_equal(verify_at(fx, token, NOW, &claims, &err), BP_EUNAVAILABLE);
    assert_string_equal(err.detail, "keys are down");
    free(token);
}

static void test_bp_jwt_verify_rejects_bad_signature(void **state)
{
    struct fixture *fx = *state;
    /* Signed by a key the issuer never published, under its kid. */
    char *token = bp_test_jose_sign(RS_HEADER, ID_CLAIMS, fx->rsa_other);
    expect_refused(fx, token, "signature does not verify");
    free(token);
    EVP_PKEY *other_ec = bp_test_jose_ec_key();
    token = bp_test_jose_sign(ES_HEADER, ID_CLAIMS, other_ec);
    expect_refused(fx, token, "signature does not verify");
    free(token);
    EVP_PKEY_free(other_ec);
}

static void test_bp_jwt_verify_rejects_tampered_payload(void **state)
{
    struct fixture *fx = *state;
    char *good = bp_test_jose_sign(RS_HEADER, ID_CLAIMS, fx->rsa);
    /* The same claims but another subject, with good's signature. */
    char *forged = bp_test_jose_sign(
        RS_HEADER,
        "{\"iss\":\"" ISS "\",\"sub\":\"admin\",\"aud\":\"client-a\","
        "\"token_use\":\"id\",\"exp\":1800000600,\"iat\":1800000000}",
        NULL);
    char spliced[4096];
    snprintf(spliced, sizeof(spliced), "%s%s", forged, strrchr(good, '.') + 1);
    expect_refused(fx, spliced, "signature does not verify");
    free(good);
    free(forged);
}

static void test_bp_jwt_verify_rejects_wrong_iss(void **state)
{
    struct fixture *fx = *state;
    expect_rs_refused(fx,
                      "{\"iss\":\"" ISS "/other\",\"sub\":\"u\","
                      "\"aud\":\"client-a\",\"token_use\":\"id\","
                      "\"exp\":1800000600}",
                      "wrong iss");
    expect_rs_refused(fx,
                      "{\"sub\":\"u\",\"aud\":\"client-a\","
                      "\"token_use\":\"id\",\"exp\":1800000600}",
                      "wrong iss");
}

static void test_bp_jwt_verify_rejects_wrong_aud(void **state)
{
    struct fixture *fx = *state;
    expect_rs_refused(fx,
                      "{\"iss\":\"" ISS "\",\"sub\":\"u\",\"aud\":\"client-z\","
                      "\"token_use\":\"id\",\"exp\":1800000600}",
                      "wrong aud");
    expect_rs_refused(fx,
                      "{\"iss\":\"" ISS "\",\"sub\":\"u\",\"aud\":[\"x\",1],"
                      "\"token_use\":\"id\",\"exp\":1800000600}",
                      "wrong aud");
}

static void test_bp_jwt_verify_rejects_wrong_client_id(void **state)
{
    struct fixture *fx = *state;
    expect_rs_refused(fx,
                      "{\"iss\":\"" ISS "\",\"sub\":\"u\","
                      "\"client_id\":\"client-z\",\"token_use\":\"access\","
                      "\"exp\":1800000600}",
                      "client_id");
    /* client_id stands for aud only in access tokens. */
    expect_rs_refused(fx,
                      "{\"iss\":\"" ISS "\",\"sub\":\"u\","
                      "\"client_id\":\"client-a\",\"token_use\":\"id\","
                      "\"exp\":1800000600}",
                      "client_id");
}

static void test_bp_jwt_verify_rejects_token_use_not_allowed(void **state)
{
    struct fixture *fx = *state;
    fx->settings.token_use = BP_JWT_USE_ACCESS;
    expect_rs_refused(fx, ID_CLAIMS, "token_use");
    fx->settings.token_use = BP_JWT_USE_ID;
    expect_rs_refused(fx, ACCESS_CLAIMS, "token_use");
    /* Missing, or a value Cognito does not use. */
    fx->settings.token_use = BP_JWT_USE_ACCESS | BP_JWT_USE_ID;
    expect_rs_refused(fx,
                      "{\"iss\":\"" ISS "\",\"sub\":\"u\",\"aud\":\"client-a\","
                      "\"exp\":1800000600}",
                      "token_use");
    expect_rs_refused(fx,
                      "{\"iss\":\"" ISS "\",\"sub\":\"u\",\"aud\":\"client-a\","
                      "\"token_use\":\"refresh\",\"exp\":1800000600}",
                      "token_use");
}

static void test_bp_jwt_verify_rejects_expired(void **state)
{
    struct fixture *fx = *state;
    expect_rs_refused(fx,
                      "{\"iss\":\"" ISS "\",\"sub\":\"u\",\"aud\":\"client-a\","
                      "\"token_use\":\"id\",\"exp\":1799999000}",
                      "expired");
}

static void test_bp_jwt_verify_rejects_missing_exp(void **state)
{
    struct fixture *fx = *state;
    expect_rs_refused(fx,
                      "{\"iss\":\"" ISS "\",\"sub\":\"u\",\"aud\":\"client-a\","
                      "\"token_use\":\"id\"}",
                      "no exp");
    expect_rs_refused(fx,
                      "{\"iss\":\"" ISS "\",\"sub\":\"u\",\"aud\":\"client-a\","
                      "\"token_use\":\"id\",\"exp\":\"1800000600\"}",
                      "exp not a date");
}

static void test_bp_jwt_verify_rejects_nbf_in_future(void **state)
{
    struct fixture *fx = *state;
    expect_rs_refused(fx,
                      "{\"iss\":\"" ISS "\",\"sub\":\"u\",\"aud\":\"client-a\","
                      "\"token_use\":\"id\",\"nbf\":1800000300,"
                      "\"exp\":1800000600}",
                      "nbf");
}

static void test_bp_jwt_verify_rejects_iat_in_future(void **state)
{
    struct fixture *fx = *state;
    expect_rs_refused(fx,
                      "{\"iss\":\"" ISS "\",\"sub\":\"u\",\"aud\":\"client-a\","
                      "\"token_use\":\"id\",\"iat\":1800000300,"
                      "\"exp\":1800000600}",
                      "iat");
}

static void test_bp_jwt_verify_rejects_bad_sub(void **state)
{
    struct fixture *fx = *state;
    expect_rs_refused(fx,
                      "{\"iss\":\"" ISS "\",\"aud\":\"client-a\","
                      "\"token_use\":\"id\",\"exp\":1800000600}",
                      "sub");
    expect_rs_refused(fx,
                      "{\"iss\":\"" ISS "\",\"sub\":\"\",\"aud\":\"client-a\","
                      "\"token_use\":\"id\",\"exp\":1800000600}",
                      "sub");
    char claims[1024];
    snprintf(claims, sizeof(claims),
             "{\"iss\":\"" ISS "\",\"sub\":\"%0256d\",\"aud\":\"client-a\","
             "\"token_use\":\"id\",\"exp\":1800000600}",
             0);
    expect_rs_refused(fx, claims, "sub");
    /* 255 bytes is the most. */
    snprintf(claims, sizeof(claims),
             "{\"iss\":\"" ISS "\",\"sub\":\"%0255d\",\"aud\":\"client-a\","
             "\"token_use\":\"id\",\"exp\":1800000600}",
             0);
    struct bp_jwt_claims out;
    expect_rs_ok(fx, claims, &out);
    assert_int_equal(strlen(out.sub), 255);
}

static void test_bp_jwt_verify_rejects_too_many_roles(void **state)
{
    struct fixture *fx = *state;
    char claims[2048];
    int used = snprintf(claims, sizeof(claims),
                        "{\"iss\":\"" ISS "\",\"sub\":\"u\","
                        "\"aud\":\"client-a\",\"token_use\":\"id\","
                        "\"exp\":1800000600,\"cognito:groups\":[");
    for (int i = 0; i <= BP_JWT_MAX_ROLES; i++)
        used += snprintf(claims + used, sizeof(claims) - (size_t)used,
                         "%s\"g%d\"", i > 0 ? "," : "", i);
    snprintf(claims + used, sizeof(claims) - (size_t)used, "]}");
    expect_rs_refused(fx, claims, "roles: too many");
}

static void test_bp_jwt_verify_requires_issuer_setting(void **state)
{
    struct fixture *fx = *state;
    char *token = bp_test_jose_sign(RS_HEADER, ID_CLAIMS, fx->rsa);
    fx->settings.issuer = NULL;
    struct bp_jwt_claims claims;
    struct bp_error err = {{0}};
    assert_int_equal(verify_at(fx, token, NOW, &claims, &err), BP_EINVAL);
    free(token);
}

/* --- through the key cache --------------------------------------------- */

static void test_bp_jwt_verify_through_cache(void **state)
{
    struct fixture *fx = *state;
    char dir[] = "/tmp/bp-test-jwt-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof(path), "%s/jwks.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(fx->jwks_json, f);
    fclose(f);
    struct bp_jwks_cache_settings cs = {.source = path};
    struct bp_jwks_cache *cache = NULL;
    struct bp_error err = {{0}};
    assert_int_equal(bp_jwks_cache_new(&cs, &cache, &err), BP_OK);
    char *token = bp_test_jose_sign(ES_HEADER, ID_CLAIMS, fx->ec);
    struct bp_jwt_claims claims;
    assert_int_equal(
        bp_jwt_verify(token, &fx->settings, cache, NOW, &claims, &err), BP_OK);
    assert_string_equal(claims.sub, "user-1");
    bp_jwks_cache_free(cache);
    /* A source that cannot be read: 503, not 401. */
    unlink(path);
    assert_int_equal(bp_jwks_cache_new(&cs, &cache, &err), BP_OK);
    assert_int_equal(
        bp_jwt_verify(token, &fx->settings, cache, NOW, &claims, &err),
        BP_EUNAVAILABLE);
    assert_non_null(strstr(err.detail, "signing keys unavailable"));
    bp_jwks_cache_free(cache);
    free(token);
    rmdir(dir);
}

#define T(name) cmocka_unit_test_setup(name, reset)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_bp_base64url_round_trips),
        T(test_bp_base64url_decode_is_strict),
        T(test_bp_jwt_verify_accepts_rs256_id_token),
        T(test_bp_jwt_verify_accepts_es256),
        T(test_bp_jwt_verify_accepts_access_token_by_client_id),
        T(test_bp_jwt_verify_accepts_aud_array),
        T(test_bp_jwt_verify_skips_audience_when_none_set),
        T(test_bp_jwt_verify_exp_leeway_edge),
        T(test_bp_jwt_verify_nbf_leeway_edge),
        T(test_bp_jwt_verify_iat_leeway_edge),
        T(test_bp_jwt_verify_reads_roles),
        T(test_bp_jwt_verify_accepts_token_of_max_len),
        T(test_bp_jwt_verify_rejects_over_8k),
        T(test_bp_jwt_verify_rejects_wrong_segment_count),
        T(test_bp_jwt_verify_rejects_bad_base64url),
        T(test_bp_jwt_verify_rejects_payload_json_array),
        T(test_bp_jwt_verify_rejects_header_not_object),
        T(test_bp_jwt_verify_rejects_alg_none),
        T(test_bp_jwt_verify_rejects_hs256_with_public_key),
        T(test_bp_jwt_verify_rejects_rs256_naming_ec_key),
        T(test_bp_jwt_verify_rejects_es256_naming_rsa_key),
        T(test_bp_jwt_verify_rejects_alg_other_than_jwk_alg),
        T(test_bp_jwt_verify_rejects_es256_wrong_sig_length),
        T(test_bp_jwt_verify_rejects_missing_kid),
        T(test_bp_jwt_verify_rejects_crit_header),
        T(test_bp_jwt_verify_rejects_unknown_kid),
        T(test_bp_jwt_verify_passes_keys_unavailable_on),
        T(test_bp_jwt_verify_rejects_bad_signature),
        T(test_bp_jwt_verify_rejects_tampered_payload),
        T(test_bp_jwt_verify_rejects_wrong_iss),
        T(test_bp_jwt_verify_rejects_wrong_aud),
        T(test_bp_jwt_verify_rejects_wrong_client_id),
        T(test_bp_jwt_verify_rejects_token_use_not_allowed),
        T(test_bp_jwt_verify_rejects_expired),
        T(test_bp_jwt_verify_rejects_missing_exp),
        T(test_bp_jwt_verify_rejects_nbf_in_future),
        T(test_bp_jwt_verify_rejects_iat_in_future),
        T(test_bp_jwt_verify_rejects_bad_sub),
        T(test_bp_jwt_verify_rejects_too_many_roles),
        T(test_bp_jwt_verify_requires_issuer_setting),
        T(test_bp_jwt_verify_through_cache),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int failed =
        cmocka_run_group_tests_name("jwt", tests, group_setup, group_teardown);
    curl_global_cleanup();
    return failed;
}
