/*
 * json_body.h: reading a request's JSON body: media type check, size
 * limit, strict parse.
 */
#ifndef BP_JSON_BODY_H
#define BP_JSON_BODY_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "http/request.h"

/*
 * Returns true when content_type names JSON: "application/json" or any
 * "+json" type, parameters (";charset=utf-8") allowed, case-insensitive.
 */
bool bp_json_media_type(const char *content_type);

/*
 * Reads and parses the body of req. An empty body gives an empty
 * object. Errors: BP_EUNSUPPORTED when the body is not declared as JSON,
 * BP_ETOOBIG over max bytes, BP_EBADREQUEST for malformed JSON. On BP_OK
 * the caller releases *out with json_object_put.
 */
enum bp_rc bp_json_body_read(const struct bp_request *req, size_t max,
                             struct json_object **out, struct bp_error *err);

#endif
