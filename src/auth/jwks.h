/*
 * jwks.h: JSON Web Key Sets (RFC 7517) as published by an OpenID Connect
 * issuer such as Amazon Cognito (".well-known/jwks.json"), turned into
 * OpenSSL public keys. Only signature keys of the two kinds a token may
 * be signed with are kept: RSA (for RS256) and EC on P-256 (for ES256).
 * Pure: bytes in, a key set out; fetching and caching are jwks_cache.h.
 */
#ifndef BP_JWKS_H
#define BP_JWKS_H

#include <stddef.h>

#include <openssl/evp.h>

#include "rc.h"

/* The longest kid kept, in bytes; a key with a longer one is skipped. */
#define BP_JWK_KID_MAX 128
/* The most keys kept from one document; later ones are skipped. */
#define BP_JWKS_MAX_KEYS 64

/* What a key is, which decides the one algorithm it can verify. */
enum bp_jwk_type {
    BP_JWK_RSA,     /* kty RSA, at least 2048 bits: RS256 */
    BP_JWK_EC_P256, /* kty EC, crv P-256: ES256 */
};

/* The signature algorithms of tokens; BP_JWS_ALG_NONE means unstated. */
enum bp_jws_alg {
    BP_JWS_ALG_NONE = 0,
    BP_JWS_ALG_RS256,
    BP_JWS_ALG_ES256,
};

/* One public key of a set. */
struct bp_jwk {
    char kid[BP_JWK_KID_MAX + 1];
    enum bp_jwk_type type;
    enum bp_jws_alg alg; /* the JWK's own "alg", or BP_JWS_ALG_NONE */
    EVP_PKEY *pkey;      /* owned by the set */
};

/* A parsed key set. */
struct bp_jwks {
    struct bp_jwk *keys; /* owned; count entries */
    size_t count;
    size_t skipped; /* entries of "keys" that were not kept */
};

/*
 * Parses the len bytes at json as a JWK Set into *out, which the caller
 * frees with bp_jwks_free. Keys whose "use" is not "sig", whose kty or
 * crv is not one of the above, whose "alg" is another algorithm or does
 * not fit the kty, whose numbers are badly encoded or out of range, or
 * whose kid is missing, too long or already seen are skipped and counted
 * in skipped, not fatal. BP_EINVAL (with a detail) when json is not a
 * JSON object with a "keys" array; BP_ENOMEM when allocation fails.
 */
enum bp_rc bp_jwks_parse(const char *json, size_t len, struct bp_jwks **out,
                         struct bp_error *err);

/*
 * Returns the key of set named kid, or NULL when there is none. The key
 * is borrowed from set. set may be NULL.
 */
const struct bp_jwk *bp_jwks_find(const struct bp_jwks *set, const char *kid);

/* Returns "RS256", "ES256" or "none" for alg (a static string). */
const char *bp_jws_alg_name(enum bp_jws_alg alg);

/* Frees set and its keys; set may be NULL. */
void bp_jwks_free(struct bp_jwks *set);

#endif
