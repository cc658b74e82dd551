/*
 * http_error.h: the one place where an enum bp_rc becomes an HTTP status
 * and a {"detail": ...} body.
 */
#ifndef BP_HTTP_ERROR_H
#define BP_HTTP_ERROR_H

#include "http/response.h"
#include "rc.h"

/* Returns the HTTP status for rc (BP_OK gives 200). */
int bp_http_status_for(enum bp_rc rc);

/*
 * Replaces res with the error response for rc: its status and
 * {"detail": err->detail}, or a generic detail when err is NULL or empty.
 * An internal failure (500) shows only a generic detail, its own going to
 * the log; a 503 shows its detail, which names the part that is down and
 * by contract carries no internal detail (paths, queries).
 */
void bp_http_error_respond(struct bp_response *res, enum bp_rc rc,
                           const struct bp_error *err);

#endif
