/*
 * json_input.c: the JSON body parser and field checks shared by the
 * resources' input mapping.
 */
#include <ctype.h>
#include <string.h>

#include "http/json_input.h"
#include "http/urldecode.h"

#define MAX_JSON_DEPTH 16

/*
 * Catches what json-c's strict mode still lets through: text that is not
 * valid UTF-8 (overlong forms, surrogates) and single-quoted strings.
 * Returns a reason, or NULL when the text may be handed to json-c.
 */
static const char *outside_json_grammar(const char *text, size_t len)
{
    if (!bp_utf8_valid(text, len))
        return "invalid UTF-8";
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        if (in_string && text[i] == '\\')
            i++;
        else if (text[i] == '"')
            in_string = !in_string;
        else if (!in_string && text[i] == '\'')
            return "single-quoted string";
    }
    return NULL;
}

enum bp_rc bp_json_parse(const char *text, size_t len, struct json_object **out,
                         struct bp_error *err)
{
    if (len > (size_t)INT32_MAX)
        return bp_error_set(err, BP_ETOOBIG, "JSON body too large");
    struct json_tokener *tok = json_tokener_new_ex(MAX_JSON_DEPTH);
    if (tok == NULL)
        return BP_ENOMEM;
    json_tokener_set_flags(tok,
                           JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    enum bp_rc rc = BP_OK;
    struct json_object *value = NULL;
    const char *reason = outside_json_grammar(text, len);
    if (reason != NULL) {
        rc = bp_error_set(err, BP_EBADREQUEST, "Malformed JSON: %s", reason);
        goto out_free_value;
    }
    value = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    /* Where the value ended; the rest may only be whitespace. */
    size_t end = json_tokener_get_parse_end(tok);
    if (jerr == json_tokener_continue) {
        /* A lone number or literal ends only at the end of the input. */
        value = json_tokener_parse_ex(tok, "", 1);
        jerr = json_tokener_get_error(tok);
        end = len;
    }
    if (value == NULL || jerr != json_tokener_success) {
        const char *why = jerr == json_tokener_continue
                              ? "unexpected end of input"
                              : json_tokener_error_desc(jerr);
        rc = bp_error_set(err, BP_EBADREQUEST, "Malformed JSON: %s", why);
        goto out_free_value;
    }
    for (size_t i = end; i < len; i++) {
        if (!isspace((unsigned char)text[i])) {
            rc = bp_error_set(err, BP_EBADREQUEST,
                              "Malformed JSON: data after the value");
            goto out_free_value;
        }
    }
    *out = value;
    value = NULL;
out_free_value:
    json_object_put(value);
    json_tokener_free(tok);
    return rc;
}

enum bp_rc bp_json_string_field(struct json_object *value, const char *field,
                                long max_chars, const char **out,
                                struct bp_error *err)
{
    if (!json_object_is_type(value, json_type_string))
        return bp_error_set(err, BP_EINVAL, "%s must be a string", field);
    const char *text = json_object_get_string(value);
    if (strlen(text) != (size_t)json_object_get_string_len(value))
        return bp_error_set(err, BP_EINVAL, "%s must not contain NUL", field);
    if (bp_utf8_length(text) > (size_t)max_chars)
        return bp_error_set(err, BP_EINVAL, "%s is longer than %ld characters",
                            field, max_chars);
    *out = text;
    return BP_OK;
}

struct json_object *bp_json_member_of_type(struct json_object *obj,
                                           const char *name,
                                           enum json_type type)
{
    struct json_object *value = NULL;
    if (obj == NULL || !json_object_object_get_ex(obj, name, &value) ||
        !json_object_is_type(value, type))
        return NULL;
    return value;
}

const char *bp_json_member_string(struct json_object *obj, const char *name)
{
    struct json_object *value = NULL;
    if (obj == NULL || !json_object_object_get_ex(obj, name, &value) ||
        !json_object_is_type(value, json_type_string))
        return NULL;
    const char *text = json_object_get_string(value);
    if ((size_t)json_object_get_string_len(value) != strlen(text))
        return NULL;
    return text;
}
