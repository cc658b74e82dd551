/*
 * query.c: query string lookup and integer parameters.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http/query.h"
#include "http/urldecode.h"

enum bp_rc bp_query_get(const char *query, const char *name,
                        struct bp_buf *value, bool *found, struct bp_error *err)
{
    size_t name_len = strlen(name);
    *found = false;
    for (const char *p = query; *p != '\0';) {
        size_t len = strcspn(p, "&");
        size_t key_len = strcspn(p, "=&");
        if (key_len == name_len && strncmp(p, name, name_len) == 0) {
            const char *val = p + key_len;
            size_t val_len = 0;
            if (*val == '=') {
                val++;
                val_len = len - key_len - 1;
            }
            *found = true;
            if (bp_url_decode(val, val_len, true, value) != BP_OK)
                return bp_error_set(err, BP_EINVAL,
                                    "Query parameter '%s' is not valid text",
                                    name);
            return BP_OK;
        }
        p += len;
        if (*p == '&')
            p++;
    }
    return BP_OK;
}

enum bp_rc bp_query_get_long(const char *query, const char *name, long min,
                             long max, long *out, struct bp_error *err)
{
    struct bp_buf text;
    bp_buf_init(&text, 64);
    bool found;
    enum bp_rc rc = bp_query_get(query, name, &text, &found, err);
    if (rc == BP_OK && found) {
        char *end;
        errno = 0;
        long value = strtol(text.data, &end, 10);
        const char *digits = text.data[0] == '-' ? text.data + 1 : text.data;
        if (!isdigit((unsigned char)digits[0]) || *end != '\0' || errno != 0 ||
            value < min || value > max)
            rc = bp_error_set(err, BP_EINVAL,
                              "Query parameter '%s' must be an integer from "
                              "%ld to %ld",
                              name, min, max);
        else
            *out = value;
    }
    bp_buf_free(&text);
    return rc;
}
