/*
 * json_body.c: JSON request bodies.
 */
#include <ctype.h>
#include <strings.h>
#include <string.h>

#include "http/json_body.h"
#include "http/json_input.h"

bool bp_json_media_type(const char *content_type)
{
    while (isspace((unsigned char)*content_type))
        content_type++;
    size_t len = strcspn(content_type, ";");
    while (len > 0 && isspace((unsigned char)content_type[len - 1]))
        len--;
    static const char json[] = "application/json";
    static const char suffix[] = "+json";
    if (len == sizeof(json) - 1 && strncasecmp(content_type, json, len) == 0)
        return true;
    return len > sizeof(suffix) - 1 &&
           strncasecmp(content_type + len - (sizeof(suffix) - 1), suffix,
                       sizeof(suffix) - 1) == 0;
}

enum bp_rc bp_json_body_read(const struct bp_request *req, size_t max,
                             struct json_object **out, struct bp_error *err)
{
    if (req->body.length == 0 ||
        (req->body.length < 0 && req->content_type[0] == '\0')) {
        *out = json_object_new_object();
        return *out == NULL ? BP_ENOMEM : BP_OK;
    }
    if (!bp_json_media_type(req->content_type))
        return bp_error_set(err, BP_EUNSUPPORTED,
                            "Content-Type must be application/json");
    struct bp_buf body;
    bp_buf_init(&body, max);
    enum bp_rc rc = bp_request_read_body(req, max, &body, err);
    if (rc == BP_OK && body.len == 0) {
        *out = json_object_new_object();
        rc = *out == NULL ? BP_ENOMEM : BP_OK;
    } else if (rc == BP_OK) {
        rc = bp_json_parse(body.data, body.len, out, err);
    }
    bp_buf_free(&body);
    return rc;
}
