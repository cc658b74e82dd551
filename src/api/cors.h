/*
 * cors.h: cross-origin requests from browsers (the web client uploads
 * straight from the browser). The origins in cors_origins ("*" for any)
 * get Access-Control-* headers on every answer, and preflights (OPTIONS)
 * on any route are answered with what the route allows.
 */
#ifndef BP_CORS_H
#define BP_CORS_H

#include "config.h"
#include "http/request.h"
#include "http/response.h"

/*
 * Returns req's Origin when cfg's cors_origins allows it, else NULL.
 * Borrowed from req.
 */
const char *bp_cors_origin(const struct bp_config *cfg,
                           const struct bp_request *req);

/*
 * Adds the headers every answer to an allowed origin carries:
 * Access-Control-Allow-Origin (origin itself) and
 * Access-Control-Expose-Headers (the caller adds Vary: Origin to every
 * answer while cors_origins is set).
 */
void bp_cors_headers(struct bp_response *res, const char *origin);

/*
 * Answers a preflight (OPTIONS) on a route that allows the methods in
 * allow (comma-separated): 204 with Allow and, for an allowed origin
 * (NULL: none), Access-Control-Allow-Methods, -Allow-Headers and
 * -Max-Age (cfg's cors_max_age_s).
 */
void bp_cors_preflight(const struct bp_config *cfg, struct bp_response *res,
                       const char *origin, const char *allow);

#endif
