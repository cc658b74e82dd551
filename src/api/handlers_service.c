/*
 * handlers_service.c: the service endpoints that are not resources: the
 * name-and-version root, the health check and the OpenAPI document.
 */
#include <string.h>

#include <json-c/json.h>

#include "api/handlers.h"
#include "api/openapi.h"
#include "api/upload.h"

/* Sends a JSON object built by the caller, releasing it. */
static enum bp_rc send_object(struct bp_response *res, int status,
                              struct json_object *obj)
{
    if (obj == NULL)
        return BP_ENOMEM;
    enum bp_rc rc = bp_response_json(res, status, obj);
    json_object_put(obj);
    return rc;
}

enum bp_rc bp_handle_service_info(struct bp_ctx *ctx,
                                  const struct bp_request *req,
                                  const struct bp_route_match *match,
                                  struct bp_response *res, struct bp_error *err)
{
    struct json_object *obj = json_object_new_object();
    if (obj != NULL) {
        json_object_object_add(obj, "service",
                               json_object_new_string("bandpics"));
        json_object_object_add(obj, "version",
                               json_object_new_string(PACKAGE_VERSION));
    }
    return send_object(res, 200, obj);
}

enum bp_rc bp_handle_health(struct bp_ctx *ctx, const struct bp_request *req,
                            const struct bp_route_match *match,
                            struct bp_response *res, struct bp_error *err)
{
    struct bp_store *store;
    enum bp_rc rc = bp_app_store(ctx, &store, err);
    if (rc == BP_OK)
        rc = bp_store_ping(store, err);
    if (rc != BP_OK) {
        struct bp_error cause = *err;
        return bp_error_set(err, BP_EUNAVAILABLE, "store: %s", cause.detail);
    }
    /* Uploads are refused under min_free_bytes: the host is not healthy
     * for what it is there for. */
    if (bp_upload_check_free_space(ctx->tmp_dir, ctx->config->min_free_bytes,
                                   err) != BP_OK) {
        struct bp_error cause = *err;
        return bp_error_set(err, BP_EUNAVAILABLE, "disk: %s", cause.detail);
    }
    struct json_object *obj = json_object_new_object();
    struct json_object *checks = json_object_new_object();
    if (obj == NULL || checks == NULL) {
        json_object_put(obj);
        json_object_put(checks);
        return BP_ENOMEM;
    }
    json_object_object_add(checks, "store", json_object_new_string("ok"));
    json_object_object_add(checks, "disk", json_object_new_string("ok"));
    json_object_object_add(obj, "store_backend",
                           json_object_new_string(bp_store_name(store)));
    json_object_object_add(obj, "status", json_object_new_string("ok"));
    json_object_object_add(obj, "checks", checks);
    return send_object(res, 200, obj);
}

enum bp_rc bp_handle_openapi(struct bp_ctx *ctx, const struct bp_request *req,
                             const struct bp_route_match *match,
                             struct bp_response *res, struct bp_error *err)
{
    if (req->base[0] == '\0') {
        res->status = 200;
        bp_response_set_type(res, "application/json");
        return bp_buf_append(&res->body, bp_openapi_json,
                             strlen(bp_openapi_json));
    }
    /* Mounted under a prefix: the document's server is that prefix. */
    struct json_object *doc = json_tokener_parse(bp_openapi_json);
    struct json_object *server = json_object_new_object();
    struct json_object *servers = json_object_new_array();
    if (doc == NULL || server == NULL || servers == NULL) {
        json_object_put(doc);
        json_object_put(server);
        json_object_put(servers);
        return BP_ENOMEM;
    }
    json_object_object_add(server, "url", json_object_new_string(req->base));
    json_object_array_add(servers, server);
    json_object_object_add(doc, "servers", servers);
    return send_object(res, 200, doc);
}
