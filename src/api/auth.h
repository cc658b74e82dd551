/*
 * auth.h: who is calling, and whether they may. bp_auth_identify turns
 * the request's "Authorization: Bearer ..." header into a principal (an
 * API key looked up in the store, or a JWT verified against the
 * issuer's keys); the bp_auth_* checks then answer 401 (no valid
 * credential) or 403 (a principal without the right) with a detail that
 * never says which check of a credential failed.
 */
#ifndef BP_AUTH_H
#define BP_AUTH_H

#include <stdbool.h>

#include "api/app.h"
#include "http/router.h"
#include "model/principal.h"

/* Longest Authorization header value accepted ("Bearer " + token). */
#define BP_AUTH_HEADER_MAX 8192

/* A worker's verifier of bearer JWTs (opaque; see auth.c). */
struct bp_auth_jwt;

/*
 * Prepares the JWT verifier for cfg into *out when auth_issuer is set
 * (else *out is NULL): the issuer's keys are read from auth_jwks_file,
 * else auth_jwks_url, else <auth_issuer>/.well-known/jwks.json, lazily,
 * when the first token comes. The caller frees *out with
 * bp_auth_jwt_free. BP_EINVAL for an unusable key source.
 */
enum bp_rc bp_auth_jwt_new(const struct bp_config *cfg,
                           struct bp_auth_jwt **out, struct bp_error *err);

/* Bounds every later read of the issuer's signing keys by deadline_ms
 * (epoch ms; 0: none); jwt may be NULL. */
void bp_auth_jwt_set_deadline(struct bp_auth_jwt *jwt, int64_t deadline_ms);

/* Frees what bp_auth_jwt_new made; jwt may be NULL. */
void bp_auth_jwt_free(struct bp_auth_jwt *jwt);

/*
 * Finds the principal of req into ctx->principal. Without credentials
 * (or with req NULL, for a route that never looks at them) it is
 * anonymous; with auth_mode = off everyone is an anonymous admin.
 * BP_EUNAUTHORIZED "invalid token" for a credential that is malformed,
 * unknown, revoked, expired or fails verification (the reason goes to
 * the log, with the key's id but never the credential); BP_EUNAVAILABLE
 * when the store or the issuer's keys cannot be reached to decide.
 */
enum bp_rc bp_auth_identify(struct bp_ctx *ctx, const struct bp_request *req,
                            struct bp_error *err);

/*
 * Checks what route needs of ctx->principal before its handler runs:
 * BP_EUNAUTHORIZED when a credential is needed (a write, or any read
 * with auth_mode = required) and none came.
 */
enum bp_rc bp_auth_check_route(const struct bp_ctx *ctx,
                               const struct bp_route *route,
                               struct bp_error *err);

/*
 * BP_OK when ctx->principal may create groups and images; else
 * BP_EUNAUTHORIZED (anonymous) or BP_EFORBIDDEN.
 */
enum bp_rc bp_auth_may_create(const struct bp_ctx *ctx, struct bp_error *err);

/*
 * BP_OK when ctx->principal may change or delete a record of owner
 * (what names it in the detail: "group 5f..."); else BP_EUNAUTHORIZED
 * (anonymous) or BP_EFORBIDDEN.
 */
enum bp_rc bp_auth_may_change(const struct bp_ctx *ctx, const char *owner,
                              const char *what, struct bp_error *err);

/*
 * BP_OK when the caller may change the group with id: an admin always
 * (without reading it), others when the store's record says they own it
 * (BP_ENOTFOUND when there is none); else 401/403 as bp_auth_may_change.
 */
enum bp_rc bp_auth_may_change_group(struct bp_ctx *ctx, struct bp_store *store,
                                    const char *id, struct bp_error *err);

/* BP_OK when the caller may change image; else 401/403. */
enum bp_rc bp_auth_may_change_image(struct bp_ctx *ctx,
                                    const struct bp_image *image,
                                    struct bp_error *err);

/* Returns true when ctx->principal sees owner's records GPS included. */
bool bp_auth_sees_private(const struct bp_ctx *ctx, const char *owner);

#endif
