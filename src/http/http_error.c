/*
 * http_error.c: mapping error codes to HTTP statuses and error bodies.
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "http/http_error.h"
#include "http/urldecode.h"
#include "log.h"

int bp_http_status_for(enum bp_rc rc)
{
    switch (rc) {
    case BP_OK:
        return 200;
    case BP_ENOTFOUND:
        return 404;
    case BP_EINVAL:
        return 422;
    case BP_EBADREQUEST:
        return 400;
    case BP_ETOOBIG:
        return 413;
    case BP_EUNSUPPORTED:
        return 415;
    case BP_EMETHOD:
        return 405;
    case BP_ECONFLICT:
        return 409;
    case BP_EUNAUTHORIZED:
        return 401;
    case BP_EFORBIDDEN:
        return 403;
    case BP_EUNAVAILABLE:
        return 503;
    case BP_ENOSPACE:
        return 507;
    case BP_ENOMEM:
    case BP_EIO:
    case BP_EINTERNAL:
        return 500;
    }
    return 500;
}

void bp_http_error_respond(struct bp_response *res, enum bp_rc rc,
                           const struct bp_error *err)
{
    int status = bp_http_status_for(rc);
    const char *detail = bp_rc_name(rc);
    char scrubbed[sizeof(err->detail)];
    if (err != NULL && err->detail[0] != '\0') {
        /* Details may quote client bytes: keep the body valid JSON. */
        memcpy(scrubbed, err->detail, sizeof(scrubbed));
        scrubbed[sizeof(scrubbed) - 1] = '\0';
        bp_utf8_scrub(scrubbed);
        detail = scrubbed;
    }
    if (status == 500) {
        /* The detail of an internal failure goes to the log, not out. */
        bp_log_error("internal error: %s", detail);
        detail = "Internal server error";
    }
    bp_buf_reset(&res->headers);
    bp_response_file(res, -1, 0, 0);
    struct json_object *body = json_object_new_object();
    if (body == NULL ||
        json_object_object_add(body, "detail",
                               json_object_new_string(detail)) != 0 ||
        bp_response_json(res, status, body) != BP_OK) {
        /* Out of memory: a body that needs no allocation. */
        res->status = status;
        res->content_type = NULL;
        bp_buf_reset(&res->body);
    }
    json_object_put(body);
    if (status == 503)
        bp_response_header(res, "Retry-After", "1");
}
