/*
 * cors.c: which origins may call the API from a browser, and the
 * headers that tell the browser so.
 */
#include <string.h>

#include "api/cors.h"

/* What a browser may send and read, beyond the simple headers. */
#define ALLOW_HEADERS "Authorization, Content-Type, If-None-Match"
#define EXPOSE_HEADERS "ETag, Location, X-Total-Count, Link, X-Request-Id"

const char *bp_cors_origin(const struct bp_config *cfg,
                           const struct bp_request *req)
{
    const char *origin = bp_request_param(req, "HTTP_ORIGIN");
    if (origin == NULL || origin[0] == '\0' || cfg->cors_origins[0] == '\0')
        return NULL;
    /* An origin is one header value: nothing that could split it. */
    if (strpbrk(origin, " ,\r\n") != NULL || strlen(origin) > 512)
        return NULL;
    if (strcmp(cfg->cors_origins, "*") == 0 ||
        bp_config_list_has(cfg->cors_origins, origin))
        return origin;
    return NULL;
}

void bp_cors_headers(struct bp_response *res, const char *origin)
{
    bp_response_header(res, "Access-Control-Allow-Origin", "%s", origin);
    bp_response_header(res, "Access-Control-Expose-Headers", "%s",
                       EXPOSE_HEADERS);
}

void bp_cors_preflight(const struct bp_config *cfg, struct bp_response *res,
                       const char *origin, const char *allow)
{
    bp_response_reset(res);
    res->status = 204;
    res->content_type = NULL;
    bp_response_header(res, "Allow", "%s, OPTIONS", allow);
    if (origin == NULL)
        return;
    bp_response_header(res, "Access-Control-Allow-Methods", "%s, OPTIONS",
                       allow);
    bp_response_header(res, "Access-Control-Allow-Headers", "%s",
                       ALLOW_HEADERS);
    bp_response_header(res, "Access-Control-Max-Age", "%ld",
                       cfg->cors_max_age_s);
}
