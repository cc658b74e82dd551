/*
 * urldecode.h: percent-decoding of URI paths and query components, and
 * the hex digits it (and digests) are written in.
 */
#ifndef BP_URLDECODE_H
#define BP_URLDECODE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

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

/* Returns true when the len bytes at text are valid UTF-8. */
bool bp_utf8_valid(const char *text, size_t len);

/*
 * Replaces, in place, every byte of text that is not part of a valid
 * UTF-8 sequence with '?', so that text can be sent as JSON.
 */
void bp_utf8_scrub(char *text);

/* Returns the number of UTF-8 code points in a valid UTF-8 string. */
size_t bp_utf8_length(const char *text);

#endif
