/*
 * utf8.h: checking and repairing UTF-8 text, for every layer that turns
 * bytes from outside into JSON or logs.
 */
#ifndef BP_UTF8_H
#define BP_UTF8_H

#include <stdbool.h>
#include <stddef.h>

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
