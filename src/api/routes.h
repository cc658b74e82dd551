/*
 * routes.h: the service's route table (method, path pattern, handler).
 */
#ifndef BP_ROUTES_H
#define BP_ROUTES_H

#include <stddef.h>

#include "http/router.h"

/* Returns the static route table and stores its length in *count. */
const struct bp_route *bp_routes(size_t *count);

#endif
