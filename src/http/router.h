/*
 * router.h: matching a method and a path against a table of routes.
 * Patterns are literal segments and {name} captures of one segment
 * ("/image_groups/{id}"). The table itself lives in routes.c.
 */
#ifndef BP_ROUTER_H
#define BP_ROUTER_H

#include <stddef.h>

#include "rc.h"

#define BP_ROUTE_MAX_CAPTURES 4
#define BP_ROUTE_CAPTURE_LEN 256 /* a file name of 255 bytes, and NUL */

struct bp_ctx;
struct bp_request;
struct bp_response;
struct bp_route_match;

/* Every handler has this signature; it fills res or returns an error. */
typedef enum bp_rc (*bp_handler_fn)(struct bp_ctx *ctx,
                                    const struct bp_request *req,
                                    const struct bp_route_match *match,
                                    struct bp_response *res,
                                    struct bp_error *err);

/* What a route needs of its caller before any per-record check. */
enum bp_route_access {
    BP_ROUTE_READ = 0, /* nothing, unless every request needs a credential */
    BP_ROUTE_WRITE,    /* a credential */
    BP_ROUTE_PUBLIC,   /* nothing ever: health checks, and signed URLs that
                          carry their own credential */
};

struct bp_route {
    const char *method;
    const char *pattern;
    bp_handler_fn handler;
    enum bp_route_access access;
};

/* The segments that a route's {captures} matched, in pattern order. */
struct bp_route_match {
    const struct bp_route *route;
    size_t count;
    char captures[BP_ROUTE_MAX_CAPTURES][BP_ROUTE_CAPTURE_LEN];
};

/*
 * Finds the route for method and path among n routes. A HEAD request
 * matches GET routes. A trailing slash is ignored. Returns BP_OK with
 * match filled, BP_ENOTFOUND when no pattern matches the path, or
 * BP_EMETHOD when some do but not for this method; allow (of allow_len
 * bytes) then lists the methods they accept, comma-separated.
 */
enum bp_rc bp_router_match(const struct bp_route *routes, size_t n,
                           const char *method, const char *path,
                           struct bp_route_match *match, char *allow,
                           size_t allow_len);

#endif
