/*
 * urldecode.h: percent-decoding of URI paths and query components, and
 * the hex digits it (and digests) are written in.
 */
#ifndef BP_URLDECODE_H
#define BP_URLDECODE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "utf8.h"

/*
 * Appends the percent-decoded form of the len bytes at text to out.
 * With plus_is_space, '+' decodes to a space (query strings). Returns
 * BP_EINVAL for a malformed escape, a decoded NUL or control character,
 * or invalid UTF-8; out may then hold a partial result.
 */
enum bp_rc bp_url_decode(const char *text, size_t len, bool plus_is_space,
                         struct bp_buf *out);

/* Returns the value of the hex digit c, or -1 when c is not one. */
int bp_hex_value(char c);

/*
 * Writes the lower-case hex form of the len bytes at bytes into out,
 * which has room for 2 * len + 1 characters, and terminates it.
 */
void bp_hex_encode(const unsigned char *bytes, size_t len, char *out);

#endif
