/*
 * query.h: reading parameters from a URL query string
 * ("a=1&b=x%20y").
 */
#ifndef BP_QUERY_H
#define BP_QUERY_H

#include <stdbool.h>

#include "buf.h"
#include "rc.h"

/*
 * Looks up the first parameter called name in query and appends its
 * decoded value to value (caller-initialized and freed). Sets *found.
 * Returns BP_EINVAL (with a message) when the parameter's value does
 * not decode to clean UTF-8 text.
 */
enum bp_rc bp_query_get(const char *query, const char *name,
                        struct bp_buf *value, bool *found,
                        struct bp_error *err);

/*
 * Reads the integer parameter name into *out: *out keeps its value when
 * the parameter is absent; BP_EINVAL when it is not an integer in
 * [min, max].
 */
enum bp_rc bp_query_get_long(const char *query, const char *name, long min,
                             long max, long *out, struct bp_error *err);

#endif
