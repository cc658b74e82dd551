/*
 * app.c: the worker context's lifetime and request dispatch: routing,
 * the 404/405 answers, and turning handler errors into responses.
 */
#include <string.h>

#include <wand/MagickWand.h>

#include "app.h"
#include "http_error.h"
#include "routes.h"

enum bp_rc bp_app_open(struct bp_ctx *ctx, const struct bp_config *cfg,
                       struct bp_error *err)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->config = cfg;
    MagickWandGenesis();
    enum bp_rc rc = bp_store_open(cfg, &ctx->store, err);
    if (rc == BP_EUNAVAILABLE) {
        fprintf(stderr, "bandpics: store unavailable, will retry: %s\n",
                err->detail);
        ctx->store = NULL;
        return BP_OK;
    }
    if (rc != BP_OK)
        MagickWandTerminus();
    return rc;
}

void bp_app_close(struct bp_ctx *ctx)
{
    bp_store_close(ctx->store);
    ctx->store = NULL;
    MagickWandTerminus();
}

enum bp_rc bp_app_store(struct bp_ctx *ctx, struct bp_store **out,
                        struct bp_error *err)
{
    if (ctx->store == NULL) {
        enum bp_rc rc = bp_store_open(ctx->config, &ctx->store, err);
        if (rc != BP_OK)
            return rc == BP_EINVAL ? BP_EUNAVAILABLE : rc;
    }
    *out = ctx->store;
    return BP_OK;
}

void bp_app_handle(struct bp_ctx *ctx, const struct bp_request *req,
                   struct bp_response *res)
{
    struct bp_error err = {{0}};
    struct bp_route_match match;
    char allow[128];
    size_t nroutes;
    const struct bp_route *routes = bp_routes(&nroutes);
    enum bp_rc rc = bp_router_match(routes, nroutes, req->method, req->path,
                                    &match, allow, sizeof(allow));
    if (rc == BP_ENOTFOUND) {
        bp_error_set(&err, rc, "Not Found");
    } else if (rc == BP_EMETHOD) {
        bp_error_set(&err, rc, "Method Not Allowed");
    } else {
        rc = match.route->handler(ctx, req, &match, res, &err);
    }
    if (rc != BP_OK) {
        bp_http_error_respond(res, rc, &err);
        if (rc == BP_EMETHOD)
            bp_response_header(res, "Allow", "%s", allow);
    }
}
