/*
 * jwt.c: verification of compact JWS bearer tokens. The order is fixed
 * so that nothing a token says is believed before its signature holds:
 * size and shape; the header (alg RS256 or ES256 only, so "none" and
 * the HMAC algorithms, which could be fed a public key as a secret, are
 * refused; a kid; no "crit" extension; "jku", "x5u" and other key hints
 * are never followed); the payload is a JSON object; the key named by
 * kid comes from the caller's source and must be of the type alg needs
 * (and of the JWK's own alg when it states one); the signature over the
 * two first segments as sent; only then the claims (iss, time window,
 * token_use, aud or client_id, sub, roles). Base64url is strict and
 * JSON is parsed strictly, so each token has one spelling.
 */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include "auth/base64url.h"
#include "auth/jwt.h"
#include "http/json_input.h"

/* An ES256 signature in a JWS: r || s, 32 bytes each. */
#define ES256_COORD_LEN 32
#define ES256_SIG_LEN (2 * ES256_COORD_LEN)
/* Its DER form is at most 72 bytes (two 33-byte INTEGERs and headers). */
#define ES256_DER_MAX 80
/* NumericDate values up to 9999-12-31T23:59:59Z. */
#define MAX_NUMERIC_DATE 253402300799LL
/* The leeway is capped so that time sums cannot overflow. */
#define MAX_LEEWAY_S 86400LL

/* The three segments of a compact JWS, pointing into the token. */
struct segments {
    const char *header;
    size_t header_len;
    const char *payload;
    size_t payload_len;
    const char *signature;
    size_t signature_len;
};

/* What the JOSE header says. */
struct header {
    enum bp_jws_alg alg;
    const char *kid; /* borrowed from the parsed header */
};

/*
 * Refuses the token: writes the reason into out (for the log) and the
 * uninformative detail into err. Returns BP_EUNAUTHORIZED.
 */
static enum bp_rc refuse(struct bp_jwt_claims *out, struct bp_error *err,
                         const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum bp_rc refuse(struct bp_jwt_claims *out, struct bp_error *err,
                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
    va_end(ap);
    return bp_error_set(err, BP_EUNAUTHORIZED, "invalid token");
}

void bp_jwt_settings_init(struct bp_jwt_settings *settings)
{
    memset(settings, 0, sizeof(*settings));
    settings->leeway_s = BP_JWT_DEFAULT_LEEWAY_S;
    settings->roles_claim = BP_JWT_DEFAULT_ROLES_CLAIM;
}

/* Cuts token (len bytes) at its two dots; false unless exactly two. */
static bool split(const char *token, size_t len, struct segments *seg)
{
    const char *dot1 = memchr(token, '.', len);
    if (dot1 == NULL)
        return false;
    const char *rest = dot1 + 1;
    const char *dot2 = memchr(rest, '.', len - (size_t)(rest - token));
    if (dot2 == NULL)
        return false;
    const char *sig = dot2 + 1;
    size_t sig_len = len - (size_t)(sig - token);
    if (memchr(sig, '.', sig_len) != NULL)
        return false;
    seg->header = token;
    seg->header_len = (size_t)(dot1 - token);
    seg->payload = rest;
    seg->payload_len = (size_t)(dot2 - rest);
    seg->signature = sig;
    seg->signature_len = sig_len;
    return true;
}

/*
 * Decodes a base64url segment into a JSON object, *out (the caller puts
 * it). Returns NULL, or why the segment is refused.
 */
static const char *segment_object(const char *text, size_t len,
                                  struct json_object **out)
{
    unsigned char bytes[BP_BASE64URL_DECODED_MAX(BP_JWT_MAX_LEN)];
    size_t n = 0;
    struct json_object *value = NULL;
    if (len == 0 || len > BP_JWT_MAX_LEN ||
        bp_base64url_decode(text, len, bytes, &n) != BP_OK)
        return "bad base64url";
    if (bp_json_parse((const char *)bytes, n, &value, NULL) != BP_OK)
        return "not JSON";
    if (!json_object_is_type(value, json_type_object)) {
        json_object_put(value);
        return "not a JSON object";
    }
    *out = value;
    return NULL;
}

/* Reads the JOSE header; NULL, or why it is refused. */
static const char *read_header(struct json_object *obj, struct header *h)
{
    const char *alg = bp_json_member_string(obj, "alg");
    if (alg == NULL)
        return "header: no alg";
    if (strcmp(alg, "RS256") == 0)
        h->alg = BP_JWS_ALG_RS256;
    else if (strcmp(alg, "ES256") == 0)
        h->alg = BP_JWS_ALG_ES256;
    else
        return "header: alg not allowed";
    if (json_object_object_get_ex(obj, "crit", NULL))
        return "header: crit not supported";
    h->kid = bp_json_member_string(obj, "kid");
    if (h->kid == NULL || h->kid[0] == '\0')
        return "header: no kid";
    return NULL;
}

/*
 * Converts the JWS form of an ES256 signature (r || s) to the DER that
 * OpenSSL verifies; false when it cannot.
 */
static bool es256_der(const unsigned char raw[ES256_SIG_LEN],
                      unsigned char der[ES256_DER_MAX], size_t *der_len)
{
    bool ok = false;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, ES256_COORD_LEN, NULL);
    BIGNUM *s = BN_bin2bn(raw + ES256_COORD_LEN, ES256_COORD_LEN, NULL);
    if (sig == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(sig, r, s) != 1)
        goto out_free;
    r = s = NULL; /* sig owns them now */
    int len = i2d_ECDSA_SIG(sig, NULL);
    if (len <= 0 || len > ES256_DER_MAX)
        goto out_free;
    unsigned char *p = der;
    ok = i2d_ECDSA_SIG(sig, &p) == len;
    *der_len = (size_t)len;
out_free:
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return ok;
}

/* True when sig (len bytes, as OpenSSL wants it) signs data under pkey. */
static bool sha256_signature_valid(EVP_PKEY *pkey, const void *data,
                                   size_t data_len, const unsigned char *sig,
                                   size_t sig_len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx != NULL &&
              EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pkey) == 1 &&
              EVP_DigestVerify(ctx, sig, sig_len, data, data_len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

/* Checks the signature segment of seg under key; NULL, or why not. */
static const char *check_signature(const struct segments *seg,
                                   enum bp_jws_alg alg,
                                   const struct bp_jwk *key)
{
    unsigned char sig[BP_BASE64URL_DECODED_MAX(BP_JWT_MAX_LEN)];
    size_t sig_len = 0;
    if (seg->signature_len == 0 ||
        bp_base64url_decode(seg->signature, seg->signature_len, sig,
                            &sig_len) != BP_OK)
        return "signature: bad base64url";
    /* The signing input is the first two segments as sent. */
    size_t data_len = seg->header_len + 1 + seg->payload_len;
    if (alg == BP_JWS_ALG_RS256)
        return sha256_signature_valid(key->pkey, seg->header, data_len, sig,
                                      sig_len)
                   ? NULL
                   : "signature does not verify";
    if (sig_len != ES256_SIG_LEN)
        return "signature: ES256 signature not 64 bytes";
    unsigned char der[ES256_DER_MAX];
    size_t der_len = 0;
    if (!es256_der(sig, der, &der_len))
        return "signature: ES256 signature unusable";
    return sha256_signature_valid(key->pkey, seg->header, data_len, der,
                                  der_len)
               ? NULL
               : "signature does not verify";
}

/* Checks that key may verify alg; NULL, or why not. */
static const char *check_key(const struct bp_jwk *key, enum bp_jws_alg alg)
{
    enum bp_jwk_type needed =
        alg == BP_JWS_ALG_RS256 ? BP_JWK_RSA : BP_JWK_EC_P256;
    if (key->type != needed)
        return "alg does not match the key type";
    if (key->alg != BP_JWS_ALG_NONE && key->alg != alg)
        return "alg does not match the key's alg";
    return NULL;
}

/*
 * Reads the NumericDate member name of claims into *out. Returns 0 when
 * absent, 1 when read, -1 when it is not a number from 0 to year 9999.
 */
static int numeric_date(struct json_object *claims, const char *name,
                        int64_t *out)
{
    struct json_object *value = NULL;
    if (!json_object_object_get_ex(claims, name, &value))
        return 0;
    if (json_object_is_type(value, json_type_int)) {
        int64_t v = json_object_get_int64(value);
        if (v < 0 || v > MAX_NUMERIC_DATE)
            return -1;
        *out = v;
        return 1;
    }
    if (json_object_is_type(value, json_type_double)) {
        double v = json_object_get_double(value);
        if (!isfinite(v) || v < 0 || v > (double)MAX_NUMERIC_DATE)
            return -1;
        *out = (int64_t)floor(v);
        return 1;
    }
    return -1;
}

/* Checks exp, nbf and iat against now_s; NULL, or why not. */
static const char *check_times(struct json_object *claims, int64_t now_s,
                               int64_t leeway_s, int64_t *exp)
{
    int64_t nbf = 0, iat = 0;
    int found = numeric_date(claims, "exp", exp);
    if (found == 0)
        return "no exp";
    if (found < 0)
        return "exp not a date";
    if (now_s > *exp + leeway_s)
        return "expired";
    found = numeric_date(claims, "nbf", &nbf);
    if (found < 0)
        return "nbf not a date";
    if (found > 0 && nbf > now_s + leeway_s)
        return "not valid yet (nbf)";
    found = numeric_date(claims, "iat", &iat);
    if (found < 0)
        return "iat not a date";
    if (found > 0 && iat > now_s + leeway_s)
        return "issued in the future (iat)";
    return NULL;
}

/* True when text is one of settings' audiences. */
static bool audience_known(const struct bp_jwt_settings *settings,
                           const char *text)
{
    for (size_t i = 0; i < settings->audience_count; i++)
        if (settings->audiences[i] != NULL &&
            strcmp(settings->audiences[i], text) == 0)
            return true;
    return false;
}

/* True when the aud claim (a string or an array of them) names one of
 * settings' audiences. */
static bool aud_matches(struct json_object *claims,
                        const struct bp_jwt_settings *settings)
{
    struct json_object *aud = NULL;
    if (!json_object_object_get_ex(claims, "aud", &aud))
        return false;
    const char *one = bp_json_member_string(claims, "aud");
    if (one != NULL)
        return audience_known(settings, one);
    if (!json_object_is_type(aud, json_type_array))
        return false;
    size_t n = json_object_array_length(aud);
    for (size_t i = 0; i < n; i++) {
        struct json_object *item = json_object_array_get_idx(aud, i);
        if (!json_object_is_type(item, json_type_string))
            continue;
        const char *text = json_object_get_string(item);
        if ((size_t)json_object_get_string_len(item) == strlen(text) &&
            audience_known(settings, text))
            return true;
    }
    return false;
}

/* Copies one role into out; false when it is not a usable string. */
static bool add_role(struct json_object *value, struct bp_jwt_claims *out)
{
    if (!json_object_is_type(value, json_type_string))
        return false;
    const char *text = json_object_get_string(value);
    size_t len = strlen(text);
    if ((size_t)json_object_get_string_len(value) != len ||
        len > BP_JWT_ROLE_MAX || out->role_count >= BP_JWT_MAX_ROLES)
        return false;
    if (len == 0)
        return true; /* an empty role grants nothing: skipped */
    memcpy(out->roles[out->role_count++], text, len + 1);
    return true;
}

/* Reads the roles claim into out; NULL, or why it is refused. */
static const char *read_roles(struct json_object *claims, const char *name,
                              struct bp_jwt_claims *out)
{
    struct json_object *value = NULL;
    if (name == NULL || name[0] == '\0' ||
        !json_object_object_get_ex(claims, name, &value))
        return NULL;
    if (json_object_is_type(value, json_type_string))
        return add_role(value, out) ? NULL : "roles: unusable role";
    if (!json_object_is_type(value, json_type_array))
        return "roles: neither a string nor an array";
    size_t n = json_object_array_length(value);
    if (n > BP_JWT_MAX_ROLES)
        return "roles: too many";
    for (size_t i = 0; i < n; i++)
        if (!add_role(json_object_array_get_idx(value, i), out))
            return "roles: unusable role";
    return NULL;
}

/* Checks the claims of a token whose signature holds and fills out. */
static const char *check_claims(struct json_object *claims,
                                const struct bp_jwt_settings *settings,
                                int64_t now_s, struct bp_jwt_claims *out)
{
    const char *iss = bp_json_member_string(claims, "iss");
    if (iss == NULL || strcmp(iss, settings->issuer) != 0)
        return "wrong iss";
    int64_t leeway = settings->leeway_s;
    if (leeway < 0)
        leeway = 0;
    if (leeway > MAX_LEEWAY_S)
        leeway = MAX_LEEWAY_S;
    const char *why = check_times(claims, now_s, leeway, &out->exp);
    if (why != NULL)
        return why;
    const char *use = bp_json_member_string(claims, "token_use");
    if (use != NULL && strcmp(use, "access") == 0)
        out->token_use = BP_JWT_USE_ACCESS;
    else if (use != NULL && strcmp(use, "id") == 0)
        out->token_use = BP_JWT_USE_ID;
    if (settings->token_use != 0 && (out->token_use & settings->token_use) == 0)
        return "token_use missing or not allowed";
    if (settings->audience_count > 0) {
        /* Cognito access tokens carry client_id instead of aud. */
        const char *client_id = bp_json_member_string(claims, "client_id");
        bool client_ok = out->token_use == BP_JWT_USE_ACCESS &&
                         client_id != NULL &&
                         audience_known(settings, client_id);
        if (!client_ok && !aud_matches(claims, settings))
            return "wrong aud or client_id";
    }
    const char *sub = bp_json_member_string(claims, "sub");
    if (sub == NULL || sub[0] == '\0' || strlen(sub) > BP_JWT_SUB_MAX)
        return "sub missing, empty or too long";
    memcpy(out->sub, sub, strlen(sub) + 1);
    return read_roles(claims, settings->roles_claim, out);
}

enum bp_rc bp_jwt_verify_with(const char *token,
                              const struct bp_jwt_settings *settings,
                              const struct bp_jwt_key_source *source,
                              int64_t now_s, struct bp_jwt_claims *out,
                              struct bp_error *err)
{
    struct json_object *header_obj = NULL, *claims = NULL;
    struct segments seg;
    struct header header = {BP_JWS_ALG_NONE, NULL};
    const struct bp_jwk *key = NULL;
    const char *why;
    enum bp_rc rc;
    bp_jwt_claims_clear(out);
    if (settings->issuer == NULL || settings->issuer[0] == '\0')
        return bp_error_set(err, BP_EINVAL, "token settings: no issuer");
    size_t len = strnlen(token, BP_JWT_MAX_LEN + 1);
    if (len > BP_JWT_MAX_LEN)
        return refuse(out, err, "token over %d bytes", BP_JWT_MAX_LEN);
    if (!split(token, len, &seg))
        return refuse(out, err, "not three segments");
    why = segment_object(seg.header, seg.header_len, &header_obj);
    if (why != NULL)
        return refuse(out, err, "header: %s", why);
    why = read_header(header_obj, &header);
    if (why != NULL) {
        rc = refuse(out, err, "%s", why);
        goto out_put;
    }
    why = segment_object(seg.payload, seg.payload_len, &claims);
    if (why != NULL) {
        rc = refuse(out, err, "payload: %s", why);
        goto out_put;
    }
    struct bp_error key_err = {{0}};
    rc = source->find(source->arg, header.kid, now_s, &key, &key_err);
    if (rc == BP_EUNAVAILABLE) {
        snprintf(out->reason, sizeof(out->reason), "%s", key_err.detail);
        rc = bp_error_set(err, BP_EUNAVAILABLE, "%s", key_err.detail);
        goto out_put;
    }
    if (rc != BP_OK) {
        rc = refuse(out, err, "unknown kid");
        goto out_put;
    }
    why = check_key(key, header.alg);
    if (why == NULL)
        why = check_signature(&seg, header.alg, key);
    if (why == NULL)
        why = check_claims(claims, settings, now_s, out);
    if (why != NULL) {
        char reason[BP_JWT_REASON_LEN];
        snprintf(reason, sizeof(reason), "%s", why);
        bp_jwt_claims_clear(out);
        rc = refuse(out, err, "%s", reason);
        goto out_put;
    }
    rc = BP_OK;
out_put:
    json_object_put(claims);
    json_object_put(header_obj);
    return rc;
}

/* bp_jwt_key_source's find over a struct bp_jwks_cache. */
static enum bp_rc cache_find(void *arg, const char *kid, int64_t now_s,
                             const struct bp_jwk **key, struct bp_error *err)
{
    return bp_jwks_cache_find(arg, kid, now_s, key, err);
}

enum bp_rc bp_jwt_verify(const char *token,
                         const struct bp_jwt_settings *settings,
                         struct bp_jwks_cache *keys, int64_t now_s,
                         struct bp_jwt_claims *out, struct bp_error *err)
{
    const struct bp_jwt_key_source source = {cache_find, keys};
    return bp_jwt_verify_with(token, settings, &source, now_s, out, err);
}

void bp_jwt_claims_clear(struct bp_jwt_claims *claims)
{
    if (claims != NULL)
        memset(claims, 0, sizeof(*claims));
}

bool bp_jwt_claims_has_role(const struct bp_jwt_claims *claims,
                            const char *role)
{
    for (size_t i = 0; i < claims->role_count; i++)
        if (strcmp(claims->roles[i], role) == 0)
            return true;
    return false;
}
