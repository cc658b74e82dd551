/*
 * jwks.c: a JWK Set document to OpenSSL public keys, with OpenSSL 3's
 * parameter builder (EVP_PKEY_fromdata) rather than the deprecated
 * RSA and EC_KEY setters. Every number is decoded with strict base64url
 * and bounded before use; every key is checked by OpenSSL
 * (EVP_PKEY_public_check: an RSA modulus that is odd and composite with
 * a sane exponent, an EC point on the curve) before it is kept. A key
 * that fails any check is skipped, so that one odd entry in an issuer's
 * document does not stop the others from working.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#include "auth/base64url.h"
#include "auth/jwks.h"
#include "http/json_input.h"

/* RSA moduli from 2048 to 8192 bits; exponents up to 64 bits. */
#define RSA_MIN_BITS 2048
#define RSA_MAX_BYTES 1024
#define RSA_MAX_E_BYTES 8
/* A P-256 coordinate, and the uncompressed point 04 || x || y. */
#define P256_COORD_LEN 32
#define P256_POINT_LEN (1 + 2 * P256_COORD_LEN)

/* True when obj has a member called name, whatever its value. */
static bool has_member(struct json_object *obj, const char *name)
{
    return json_object_object_get_ex(obj, name, NULL);
}

/*
 * Decodes the base64url string member name of obj into out (cap bytes)
 * and sets *len. False when it is absent, badly encoded or too long.
 */
static bool member_bytes(struct json_object *obj, const char *name,
                         unsigned char *out, size_t cap, size_t *len)
{
    const char *text = bp_json_member_string(obj, name);
    if (text == NULL)
        return false;
    size_t text_len = strlen(text);
    if (text_len == 0 || BP_BASE64URL_DECODED_MAX(text_len) > cap)
        return false;
    return bp_base64url_decode(text, text_len, out, len) == BP_OK;
}

/*
 * Builds a public key of OpenSSL type name ("RSA", "EC") from params and
 * checks it; NULL when OpenSSL refuses either step. The caller frees the
 * key with EVP_PKEY_free.
 */
static EVP_PKEY *checked_public_key(const char *name, OSSL_PARAM *params)
{
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, name, NULL);
    if (ctx == NULL)
        return NULL;
    if (EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        goto out_free_ctx;
    EVP_PKEY_CTX *check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    bool ok = check != NULL && EVP_PKEY_public_check(check) == 1;
    EVP_PKEY_CTX_free(check);
    if (!ok) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
out_free_ctx:
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

/* The RSA public key of the JWK jwk (n, e), or NULL. */
static EVP_PKEY *rsa_key(struct json_object *jwk)
{
    unsigned char n_bytes[RSA_MAX_BYTES + 2], e_bytes[RSA_MAX_E_BYTES + 2];
    size_t n_len = 0, e_len = 0;
    if (!member_bytes(jwk, "n", n_bytes, sizeof(n_bytes), &n_len) ||
        !member_bytes(jwk, "e", e_bytes, sizeof(e_bytes), &e_len) ||
        e_len > RSA_MAX_E_BYTES)
        return NULL;
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM *params = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    BIGNUM *n = BN_bin2bn(n_bytes, (int)n_len, NULL);
    BIGNUM *e = BN_bin2bn(e_bytes, (int)e_len, NULL);
    if (n == NULL || e == NULL || BN_num_bits(n) < RSA_MIN_BITS ||
        BN_num_bytes(n) > RSA_MAX_BYTES)
        goto out_free_numbers;
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1)
        goto out_free_builder;
    params = OSSL_PARAM_BLD_to_param(bld);
    if (params != NULL)
        pkey = checked_public_key("RSA", params);
    OSSL_PARAM_free(params);
out_free_builder:
    OSSL_PARAM_BLD_free(bld);
out_free_numbers:
    BN_free(n);
    BN_free(e);
    return pkey;
}

/* The P-256 public key of the JWK jwk (crv, x, y), or NULL. */
static EVP_PKEY *p256_key(struct json_object *jwk)
{
    const char *crv = bp_json_member_string(jwk, "crv");
    unsigned char point[P256_POINT_LEN];
    unsigned char coord[P256_COORD_LEN + 2];
    size_t len = 0;
    if (crv == NULL || strcmp(crv, "P-256") != 0)
        return NULL;
    point[0] = 0x04; /* uncompressed */
    if (!member_bytes(jwk, "x", coord, sizeof(coord), &len) ||
        len != P256_COORD_LEN)
        return NULL;
    memcpy(point + 1, coord, P256_COORD_LEN);
    if (!member_bytes(jwk, "y", coord, sizeof(coord), &len) ||
        len != P256_COORD_LEN)
        return NULL;
    memcpy(point + 1 + P256_COORD_LEN, coord, P256_COORD_LEN);
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM *params = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (bld == NULL ||
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                        SN_X9_62_prime256v1, 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point,
                                         sizeof(point)) != 1)
        goto out_free_builder;
    params = OSSL_PARAM_BLD_to_param(bld);
    if (params != NULL)
        pkey = checked_public_key("EC", params);
    OSSL_PARAM_free(params);
out_free_builder:
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

/* The algorithm named text ("RS256", "ES256"), or BP_JWS_ALG_NONE. */
static enum bp_jws_alg alg_from_name(const char *text)
{
    if (strcmp(text, "RS256") == 0)
        return BP_JWS_ALG_RS256;
    if (strcmp(text, "ES256") == 0)
        return BP_JWS_ALG_ES256;
    return BP_JWS_ALG_NONE;
}

/*
 * Fills key from the JWK jwk. False when the entry is to be skipped;
 * key->pkey is then NULL.
 */
static bool parse_key(struct json_object *jwk, const struct bp_jwks *set,
                      struct bp_jwk *key)
{
    memset(key, 0, sizeof(*key));
    if (!json_object_is_type(jwk, json_type_object))
        return false;
    const char *kty = bp_json_member_string(jwk, "kty");
    const char *kid = bp_json_member_string(jwk, "kid");
    const char *use = bp_json_member_string(jwk, "use");
    const char *alg = bp_json_member_string(jwk, "alg");
    if (kty == NULL || kid == NULL || kid[0] == '\0' ||
        strlen(kid) > BP_JWK_KID_MAX || bp_jwks_find(set, kid) != NULL)
        return false;
    /* "use" and "alg" may be absent, but not present and wrong. */
    if ((use == NULL && has_member(jwk, "use")) ||
        (use != NULL && strcmp(use, "sig") != 0) ||
        (alg == NULL && has_member(jwk, "alg")))
        return false;
    key->alg = alg != NULL ? alg_from_name(alg) : BP_JWS_ALG_NONE;
    if (alg != NULL && key->alg == BP_JWS_ALG_NONE)
        return false;
    if (strcmp(kty, "RSA") == 0) {
        key->type = BP_JWK_RSA;
        if (key->alg != BP_JWS_ALG_NONE && key->alg != BP_JWS_ALG_RS256)
            return false;
        key->pkey = rsa_key(jwk);
    } else if (strcmp(kty, "EC") == 0) {
        key->type = BP_JWK_EC_P256;
        if (key->alg != BP_JWS_ALG_NONE && key->alg != BP_JWS_ALG_ES256)
            return false;
        key->pkey = p256_key(jwk);
    }
    if (key->pkey == NULL)
        return false;
    memcpy(key->kid, kid, strlen(kid) + 1);
    return true;
}

enum bp_rc bp_jwks_parse(const char *json, size_t len, struct bp_jwks **out,
                         struct bp_error *err)
{
    struct json_object *doc = NULL, *keys = NULL;
    struct bp_error parse_err = {{0}};
    struct bp_jwks *set = NULL;
    enum bp_rc rc = bp_json_parse(json, len, &doc, &parse_err);
    if (rc != BP_OK)
        return bp_error_set(err, BP_EINVAL, "key set: %s", parse_err.detail);
    if (!json_object_is_type(doc, json_type_object) ||
        !json_object_object_get_ex(doc, "keys", &keys) ||
        !json_object_is_type(keys, json_type_array)) {
        rc = bp_error_set(err, BP_EINVAL,
                          "key set: not a JSON object with a \"keys\" array");
        goto out_put_doc;
    }
    size_t n = json_object_array_length(keys);
    set = calloc(1, sizeof(*set));
    if (set == NULL ||
        (n > 0 &&
         (set->keys = calloc(n < BP_JWKS_MAX_KEYS ? n : BP_JWKS_MAX_KEYS,
                             sizeof(*set->keys))) == NULL)) {
        rc = bp_error_set(err, BP_ENOMEM, "key set: out of memory");
        goto out_free_set;
    }
    for (size_t i = 0; i < n; i++) {
        if (set->count < BP_JWKS_MAX_KEYS &&
            parse_key(json_object_array_get_idx(keys, i), set,
                      &set->keys[set->count]))
            set->count++;
        else
            set->skipped++;
    }
    *out = set;
    set = NULL;
out_free_set:
    bp_jwks_free(set);
out_put_doc:
    json_object_put(doc);
    return rc;
}

const struct bp_jwk *bp_jwks_find(const struct bp_jwks *set, const char *kid)
{
    if (set == NULL)
        return NULL;
    for (size_t i = 0; i < set->count; i++)
        if (strcmp(set->keys[i].kid, kid) == 0)
            return &set->keys[i];
    return NULL;
}

const char *bp_jws_alg_name(enum bp_jws_alg alg)
{
    switch (alg) {
    case BP_JWS_ALG_RS256:
        return "RS256";
    case BP_JWS_ALG_ES256:
        return "ES256";
    case BP_JWS_ALG_NONE:
        break;
    }
    return "none";
}

void bp_jwks_free(struct bp_jwks *set)
{
    if (set == NULL)
        return;
    for (size_t i = 0; i < set->count; i++)
        EVP_PKEY_free(set->keys[i].pkey);
    free(set->keys);
    free(set);
}
