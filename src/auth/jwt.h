/*
 * jwt.h: checking the bearer tokens of an OpenID Connect issuer (Amazon
 * Cognito first): a compact JWS (RFC 7515) signed with RS256 or ES256
 * under a key of the issuer's key set, whose claims (RFC 7519) name the
 * issuer, one of our app clients, a time window that holds now, and a
 * subject. Every refusal is BP_EUNAUTHORIZED with the detail "invalid
 * token", so a client learns nothing from it; the precise reason goes
 * to the claims' reason field, for the log. Pure apart from the key
 * lookup, which the caller supplies (the cache of jwks_cache.h, or a
 * fixed set in tests); the clock is the caller's.
 */
#ifndef BP_JWT_H
#define BP_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/jwks.h"
#include "auth/jwks_cache.h"
#include "rc.h"

/* The longest token looked at, in bytes. */
#define BP_JWT_MAX_LEN 8192
/* The longest subject accepted, in bytes. */
#define BP_JWT_SUB_MAX 255
/* The most roles a token may carry, and the longest role, in bytes. */
#define BP_JWT_MAX_ROLES 32
#define BP_JWT_ROLE_MAX 128
#define BP_JWT_REASON_LEN 128
#define BP_JWT_DEFAULT_LEEWAY_S 60
#define BP_JWT_DEFAULT_ROLES_CLAIM "cognito:groups"

/* Cognito's token_use claim, as a set of bits. */
enum bp_jwt_use {
    BP_JWT_USE_ACCESS = 1, /* "access" */
    BP_JWT_USE_ID = 2,     /* "id" */
};

/* What a token must show; strings and arrays are borrowed. */
struct bp_jwt_settings {
    const char *issuer;           /* iss, compared exactly; required */
    const char *const *audiences; /* app client ids */
    size_t audience_count;        /* 0: the audience is not checked */
    unsigned token_use;           /* BP_JWT_USE_* bits allowed; 0: the
                                     claim is not checked */
    int64_t leeway_s;             /* clock skew allowed for exp, nbf, iat */
    const char *roles_claim;      /* claim holding the roles; NULL: none */
};

/* What a verified token says; plain storage, no pointers. */
struct bp_jwt_claims {
    char sub[BP_JWT_SUB_MAX + 1];
    int64_t exp;        /* Unix seconds */
    unsigned token_use; /* one BP_JWT_USE_* bit, or 0 if absent */
    size_t role_count;
    char roles[BP_JWT_MAX_ROLES][BP_JWT_ROLE_MAX + 1];
    char reason[BP_JWT_REASON_LEN]; /* why the token was refused */
};

/*
 * Where a verifier finds the key named kid at now_s: on BP_OK *key is
 * borrowed until the verification ends; BP_EUNAVAILABLE (with a detail)
 * when the keys cannot be known; any other code refuses the token.
 */
struct bp_jwt_key_source {
    enum bp_rc (*find)(void *arg, const char *kid, int64_t now_s,
                       const struct bp_jwk **key, struct bp_error *err);
    void *arg;
};

/*
 * Fills settings with the defaults: no issuer, no audience, token_use
 * not checked, BP_JWT_DEFAULT_LEEWAY_S, BP_JWT_DEFAULT_ROLES_CLAIM.
 */
void bp_jwt_settings_init(struct bp_jwt_settings *settings);

/*
 * Verifies token at now_s (Unix seconds) under settings with the keys of
 * source, and fills out. On BP_OK every field of out but reason is set.
 * On failure out holds only reason (the precise cause, for the log):
 * BP_EUNAUTHORIZED, detail "invalid token", for any token that does not
 * verify; BP_EUNAVAILABLE with the source's detail when its keys cannot
 * be known; BP_EINVAL for settings without an issuer.
 */
enum bp_rc bp_jwt_verify_with(const char *token,
                              const struct bp_jwt_settings *settings,
                              const struct bp_jwt_key_source *source,
                              int64_t now_s, struct bp_jwt_claims *out,
                              struct bp_error *err);

/* bp_jwt_verify_with over the keys of cache (bp_jwks_cache_find). */
enum bp_rc bp_jwt_verify(const char *token,
                         const struct bp_jwt_settings *settings,
                         struct bp_jwks_cache *keys, int64_t now_s,
                         struct bp_jwt_claims *out, struct bp_error *err);

/*
 * Empties claims (wipes every field). claims owns no memory, so this is
 * all its release takes; claims may be NULL.
 */
void bp_jwt_claims_clear(struct bp_jwt_claims *claims);

/* True when claims carries role (exact match). */
bool bp_jwt_claims_has_role(const struct bp_jwt_claims *claims,
                            const char *role);

#endif
