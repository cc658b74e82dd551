/*
 * auth.c: the request's principal and the route- and record-level
 * checks. API keys are looked up in the store and compared in constant
 * time; bearer JWTs are verified against the issuer's keys. A refused
 * credential is logged with its reason and key id, never with its text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "api/auth.h"
#include "auth/jwks_cache.h"
#include "auth/jwt.h"
#include "buf.h"
#include "log.h"
#include "model/api_key.h"
#include "model/timeutil.h"

#define INVALID_TOKEN "invalid token"

_Static_assert(BP_JWT_SUB_MAX <= BP_PRINCIPAL_ID_MAX,
               "a token's sub must fit a principal id");

/* The most app client ids auth_audience may list. */
#define MAX_AUDIENCES 16

/* Tokens whose verification a worker remembers (until they expire). */
#define VERIFIED_SLOTS 64

/* How long a verification is remembered at most, in seconds. */
#define VERIFIED_FOR_S 60

/* A token that verified: who it names, until when (by its hash). */
struct verified {
    unsigned char hash[32];
    int64_t exp;         /* Unix seconds; 0: an empty slot */
    int64_t verified_at; /* Unix seconds */
    unsigned long reads; /* the key cache's reads then */
    enum bp_role role;
    char sub[BP_JWT_SUB_MAX + 1];
};

struct bp_auth_jwt {
    struct bp_jwks_cache *keys;
    struct bp_jwt_settings settings;
    char *audience_text; /* auth_audience, cut into the strings below */
    const char *audiences[MAX_AUDIENCES];
    struct verified verified[VERIFIED_SLOTS];
    size_t next_slot; /* the slot the next verified token replaces */
};

/* Splits the comma/space list text (modified in place) into jwt's ids. */
static enum bp_rc split_audiences(struct bp_auth_jwt *jwt, char *text,
                                  struct bp_error *err)
{
    size_t n = 0;
    for (char *p = text; *p != '\0';) {
        p += strspn(p, ", ");
        size_t len = strcspn(p, ", ");
        if (len == 0)
            break;
        if (n == MAX_AUDIENCES)
            return bp_error_set(err, BP_EINVAL,
                                "auth_audience: at most %d client ids",
                                MAX_AUDIENCES);
        jwt->audiences[n++] = p;
        p += len;
        if (*p != '\0')
            *p++ = '\0';
    }
    jwt->settings.audiences = jwt->audiences;
    jwt->settings.audience_count = n;
    return BP_OK;
}

enum bp_rc bp_auth_jwt_new(const struct bp_config *cfg,
                           struct bp_auth_jwt **out, struct bp_error *err)
{
    *out = NULL;
    if (cfg->auth_issuer[0] == '\0')
        return BP_OK;
    struct bp_auth_jwt *jwt = calloc(1, sizeof(*jwt));
    if (jwt == NULL)
        return BP_ENOMEM;
    bp_jwt_settings_init(&jwt->settings);
    jwt->settings.issuer = cfg->auth_issuer;
    jwt->settings.leeway_s = cfg->auth_leeway_s;
    jwt->settings.roles_claim = cfg->auth_roles_claim;
    jwt->settings.token_use =
        (bp_config_list_has(cfg->auth_token_use, "access") ? BP_JWT_USE_ACCESS
                                                           : 0) |
        (bp_config_list_has(cfg->auth_token_use, "id") ? BP_JWT_USE_ID : 0);
    struct bp_buf source;
    bp_buf_init(&source, 4096);
    enum bp_rc rc = BP_OK;
    jwt->audience_text = strdup(cfg->auth_audience);
    if (jwt->audience_text == NULL)
        rc = BP_ENOMEM;
    if (rc == BP_OK)
        rc = split_audiences(jwt, jwt->audience_text, err);
    if (rc == BP_OK) {
        if (cfg->auth_jwks_file[0] != '\0')
            rc = bp_buf_append_str(&source, cfg->auth_jwks_file);
        else if (cfg->auth_jwks_url[0] != '\0')
            rc = bp_buf_append_str(&source, cfg->auth_jwks_url);
        else
            rc = bp_buf_printf(
                &source, "%s%s.well-known/jwks.json", cfg->auth_issuer,
                cfg->auth_issuer[strlen(cfg->auth_issuer) - 1] == '/' ? ""
                                                                      : "/");
    }
    if (rc == BP_OK) {
        struct bp_jwks_cache_settings keys = {
            .source = source.data,
            .ttl_s = cfg->auth_jwks_ttl_s,
            .min_refetch_s = cfg->auth_jwks_refetch_s,
        };
        rc = bp_jwks_cache_new(&keys, &jwt->keys, err);
    }
    bp_buf_free(&source);
    if (rc != BP_OK) {
        bp_auth_jwt_free(jwt);
        return rc;
    }
    *out = jwt;
    return BP_OK;
}

void bp_auth_jwt_set_deadline(struct bp_auth_jwt *jwt, int64_t deadline_ms)
{
    if (jwt != NULL)
        bp_jwks_cache_set_deadline(jwt->keys, deadline_ms);
}

void bp_auth_jwt_free(struct bp_auth_jwt *jwt)
{
    if (jwt == NULL)
        return;
    bp_jwks_cache_free(jwt->keys);
    free(jwt->audience_text);
    free(jwt);
}

/* Logs why a credential was refused and answers 401 "invalid token". */
static enum bp_rc refuse(struct bp_ctx *ctx, const char *kind,
                         const char *reason, struct bp_error *err)
{
    ctx->credential_refused = true;
    bp_log_info("%s refused: %s", kind, reason);
    return bp_error_set(err, BP_EUNAUTHORIZED, INVALID_TOKEN);
}

/* Identifies the API key text as ctx->principal. */
static enum bp_rc identify_key(struct bp_ctx *ctx, const char *text,
                               struct bp_error *err)
{
    char id[BP_ID_LEN + 1];
    char secret[BP_API_KEY_SECRET_LEN + 1];
    if (!bp_api_key_split(text, id, secret))
        return refuse(ctx, "API key", "malformed", err);
    struct bp_store *store;
    enum bp_rc rc = bp_app_store(ctx, &store, err);
    if (rc != BP_OK)
        return rc;
    struct bp_api_key key;
    struct bp_error why = {{0}};
    rc = bp_store_key_get(store, id, &key, &why);
    if (rc == BP_ENOTFOUND)
        return refuse(ctx, "API key", "unknown id", err);
    if (rc != BP_OK)
        return bp_error_set(err, rc, "%s", why.detail);
    if (!bp_api_key_accepts(&key, secret, bp_time_now_ms())) {
        char reason[96];
        snprintf(reason, sizeof(reason), "key %s: %s", id,
                 key.revoked_at != 0 ? "revoked" : "wrong secret or expired");
        return refuse(ctx, "API key", reason, err);
    }
    if (key.role == BP_ROLE_ANONYMOUS)
        return refuse(ctx, "API key", "stored role unknown", err);
    ctx->principal.role = key.role;
    ctx->principal.kind = "key";
    snprintf(ctx->principal.id, sizeof(ctx->principal.id), "%s%s",
             BP_PRINCIPAL_KEY_PREFIX, key.id);
    return BP_OK;
}

/* The role a token's groups map to: admin, contributor, else reader. */
static enum bp_role role_of(const struct bp_config *cfg,
                            const struct bp_jwt_claims *claims)
{
    enum bp_role role = BP_ROLE_READER;
    for (size_t i = 0; i < claims->role_count; i++) {
        if (bp_config_list_has(cfg->auth_admin_roles, claims->roles[i]))
            return BP_ROLE_ADMIN;
        if (bp_config_list_has(cfg->auth_contributor_roles, claims->roles[i]))
            role = BP_ROLE_CONTRIBUTOR;
    }
    return role;
}

/*
 * Returns the remembered verification of the token with hash, or NULL
 * when there is none that is still valid at now_s: before the token's
 * expiry, for at most VERIFIED_FOR_S, and while the issuer's key set is
 * the one it was checked against (a key withdrawn from the set stops
 * its tokens at the next read of the set).
 */
static const struct verified *recall(const struct bp_auth_jwt *jwt,
                                     const unsigned char hash[32],
                                     int64_t now_s)
{
    unsigned long reads = bp_jwks_cache_reads(jwt->keys);
    for (size_t i = 0; i < VERIFIED_SLOTS; i++) {
        const struct verified *v = &jwt->verified[i];
        if (v->exp != 0 && now_s <= v->exp + jwt->settings.leeway_s &&
            now_s - v->verified_at < VERIFIED_FOR_S && v->reads == reads &&
            CRYPTO_memcmp(v->hash, hash, 32) == 0)
            return v;
    }
    return NULL;
}

/* Remembers that the token with hash verified as claims, with role. */
static void remember(struct bp_auth_jwt *jwt, const unsigned char hash[32],
                     const struct bp_jwt_claims *claims, enum bp_role role,
                     int64_t now_s)
{
    struct verified *v = &jwt->verified[jwt->next_slot];
    jwt->next_slot = (jwt->next_slot + 1) % VERIFIED_SLOTS;
    memcpy(v->hash, hash, 32);
    v->exp = claims->exp;
    v->verified_at = now_s;
    v->reads = bp_jwks_cache_reads(jwt->keys);
    v->role = role;
    memcpy(v->sub, claims->sub, sizeof(v->sub));
}

/* Sets ctx->principal to the token's subject sub with role. */
static void act_as(struct bp_ctx *ctx, const char *sub, enum bp_role role)
{
    ctx->principal.role = role;
    ctx->principal.kind = "jwt";
    snprintf(ctx->principal.id, sizeof(ctx->principal.id), "%s", sub);
}

/*
 * Identifies the bearer JWT token as ctx->principal. A token verified
 * before is recognized by its SHA-256 until it expires (its signature
 * and claims cannot change); the others are verified.
 */
static enum bp_rc identify_jwt(struct bp_ctx *ctx, const char *token,
                               struct bp_error *err)
{
    if (ctx->jwt == NULL)
        return refuse(ctx, "bearer token", "no auth_issuer is configured", err);
    int64_t now_s = bp_time_now_ms() / 1000;
    size_t len = strlen(token);
    unsigned char hash[32];
    unsigned int hash_len = 0;
    bool hashed =
        len <= BP_JWT_MAX_LEN &&
        EVP_Digest(token, len, hash, &hash_len, EVP_sha256(), NULL) == 1 &&
        hash_len == 32;
    const struct verified *known =
        hashed ? recall(ctx->jwt, hash, now_s) : NULL;
    if (known != NULL) {
        act_as(ctx, known->sub, known->role);
        return BP_OK;
    }
    struct bp_jwt_claims claims;
    struct bp_error why = {{0}};
    enum bp_rc rc = bp_jwt_verify(token, &ctx->jwt->settings, ctx->jwt->keys,
                                  now_s, &claims, &why);
    if (rc == BP_EUNAVAILABLE) {
        bp_log_warn("bearer token not checked: %s", why.detail);
        rc = bp_error_set(err, rc,
                          "The issuer's signing keys cannot be read now; "
                          "try again later");
    } else if (rc == BP_EUNAUTHORIZED) {
        rc = refuse(ctx, "bearer token",
                    claims.reason[0] ? claims.reason : why.detail, err);
    } else if (rc != BP_OK) {
        rc = bp_error_set(err, rc, "%s", why.detail);
    } else if (strncmp(claims.sub, BP_PRINCIPAL_KEY_PREFIX,
                       strlen(BP_PRINCIPAL_KEY_PREFIX)) == 0) {
        /* Owners name API keys "key:<id>": no token may pass for one. */
        rc = refuse(ctx, "bearer token", "sub names an API key", err);
    } else {
        enum bp_role role = role_of(ctx->config, &claims);
        act_as(ctx, claims.sub, role);
        if (hashed)
            remember(ctx->jwt, hash, &claims, role, now_s);
    }
    bp_jwt_claims_clear(&claims);
    return rc;
}

enum bp_rc bp_auth_identify(struct bp_ctx *ctx, const struct bp_request *req,
                            struct bp_error *err)
{
    memset(&ctx->principal, 0, sizeof(ctx->principal));
    ctx->principal.kind = "";
    ctx->credential_refused = false;
    if (strcmp(ctx->config->auth_mode, "off") == 0) {
        ctx->principal.role = BP_ROLE_ADMIN;
        return BP_OK;
    }
    const char *header =
        req != NULL ? bp_request_param(req, "HTTP_AUTHORIZATION") : NULL;
    if (header == NULL || header[0] == '\0')
        return BP_OK;
    if (strlen(header) > BP_AUTH_HEADER_MAX)
        return refuse(ctx, "credential", "header over 8 KiB", err);
    if (strncasecmp(header, "Bearer ", 7) != 0)
        return refuse(ctx, "credential", "not a Bearer credential", err);
    const char *token = header + 7;
    token += strspn(token, " ");
    if (strncmp(token, BP_API_KEY_PREFIX, strlen(BP_API_KEY_PREFIX)) == 0)
        return identify_key(ctx, token, err);
    return identify_jwt(ctx, token, err);
}

enum bp_rc bp_auth_check_route(const struct bp_ctx *ctx,
                               const struct bp_route *route,
                               struct bp_error *err)
{
    if (route->access == BP_ROUTE_PUBLIC ||
        ctx->principal.role != BP_ROLE_ANONYMOUS)
        return BP_OK;
    if (route->access == BP_ROUTE_WRITE)
        return bp_error_set(err, BP_EUNAUTHORIZED,
                            "Authentication required: send Authorization: "
                            "Bearer <token or API key>");
    if (strcmp(ctx->config->auth_mode, "required") == 0)
        return bp_error_set(err, BP_EUNAUTHORIZED,
                            "Authentication required to read: send "
                            "Authorization: Bearer <token or API key>");
    return BP_OK;
}

/* 401 for anonymous callers, 403 for the others. */
static enum bp_rc lacks_right(const struct bp_ctx *ctx, const char *detail,
                              struct bp_error *err)
{
    if (ctx->principal.role == BP_ROLE_ANONYMOUS)
        return bp_error_set(err, BP_EUNAUTHORIZED,
                            "Authentication required: send Authorization: "
                            "Bearer <token or API key>");
    return bp_error_set(err, BP_EFORBIDDEN, "%s", detail);
}

enum bp_rc bp_auth_may_create(const struct bp_ctx *ctx, struct bp_error *err)
{
    if (bp_principal_may_create(&ctx->principal))
        return BP_OK;
    return lacks_right(ctx, "Creating needs the contributor or admin role",
                       err);
}

enum bp_rc bp_auth_may_change(const struct bp_ctx *ctx, const char *owner,
                              const char *what, struct bp_error *err)
{
    if (bp_principal_may_change(&ctx->principal, owner))
        return BP_OK;
    char detail[160];
    snprintf(detail, sizeof(detail),
             "Only the owner of %.100s or an admin may change it", what);
    return lacks_right(ctx, detail, err);
}

bool bp_auth_sees_private(const struct bp_ctx *ctx, const char *owner)
{
    return bp_principal_sees_private(&ctx->principal, owner);
}

enum bp_rc bp_auth_may_change_group(struct bp_ctx *ctx, struct bp_store *store,
                                    const char *id, struct bp_error *err)
{
    /* An admin may change any group: no need to read it first. */
    if (ctx->principal.role == BP_ROLE_ADMIN)
        return BP_OK;
    struct bp_group group;
    enum bp_rc rc = bp_store_group_get(store, id, &group, err);
    if (rc != BP_OK)
        return rc;
    char what[BP_ID_LEN + 8];
    snprintf(what, sizeof(what), "group %s", id);
    rc = bp_auth_may_change(ctx, group.owner, what, err);
    bp_group_clear(&group);
    return rc;
}

enum bp_rc bp_auth_may_change_image(struct bp_ctx *ctx,
                                    const struct bp_image *image,
                                    struct bp_error *err)
{
    char what[BP_ID_LEN + 8];
    snprintf(what, sizeof(what), "image %s", image->id);
    return bp_auth_may_change(ctx, image->owner, what, err);
}
