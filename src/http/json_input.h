/*
 * json_input.h: strict parsing of JSON request bodies (valid UTF-8,
 * bounded nesting, nothing after the value).
 */
#ifndef BP_JSON_INPUT_H
#define BP_JSON_INPUT_H

#include <stddef.h>

#include <json-c/json.h>

#include "rc.h"

/*
 * Parses the len bytes at text as one JSON value into *out (a new
 * reference the caller releases with json_object_put). Returns
 * BP_EBADREQUEST with the parser's complaint for malformed JSON.
 */
enum bp_rc bp_json_parse(const char *text, size_t len, struct json_object **out,
                         struct bp_error *err);

/*
 * Reads the string member value into *out after checking that it holds
 * no NUL and at most max_chars characters; field names it in messages.
 * Returns BP_EINVAL otherwise. *out is borrowed from value.
 */
enum bp_rc bp_json_string_field(struct json_object *value, const char *field,
                                long max_chars, const char **out,
                                struct bp_error *err);

/*
 * Returns the string member name of obj, or NULL when it is absent, not
 * a string, or holds a NUL (which would make two values compare equal).
 * Borrowed from obj.
 */
const char *bp_json_member_string(struct json_object *obj, const char *name);

/*
 * Returns the member name of obj when it is of type, else NULL (obj may
 * be NULL: chains of lookups need no checks between). Borrowed from obj.
 */
struct json_object *bp_json_member_of_type(struct json_object *obj,
                                           const char *name,
                                           enum json_type type);

#endif
