/*
 * buf.h: a growable byte buffer with a hard cap. Every buffer that grows
 * with outside input is a struct bp_buf, so no input can make one grow
 * past its limit. The contents are always NUL-terminated.
 */
#ifndef BP_BUF_H
#define BP_BUF_H

#include <stddef.h>

#include "rc.h"

struct bp_buf {
    char *data; /* owned; NULL until the first append */
    size_t len; /* bytes used, not counting the terminating NUL */
    size_t cap; /* bytes allocated */
    size_t max; /* largest len allowed; 0 means SIZE_MAX */
};

/* Initializes an empty buffer that may hold up to max bytes (0: no cap). */
void bp_buf_init(struct bp_buf *buf, size_t max);

/* Frees the buffer's memory and leaves it empty; buf may be NULL. */
void bp_buf_free(struct bp_buf *buf);

/* Empties the buffer, keeping its memory. */
void bp_buf_reset(struct bp_buf *buf);

/*
 * Appends len bytes. Returns BP_ETOOBIG when the cap would be passed and
 * BP_ENOMEM when allocation fails; the buffer is unchanged on failure.
 */
enum bp_rc bp_buf_append(struct bp_buf *buf, const void *bytes, size_t len);

/* Appends a NUL-terminated string, as bp_buf_append. */
enum bp_rc bp_buf_append_str(struct bp_buf *buf, const char *str);

/* Appends printf-style formatted text, as bp_buf_append. */
enum bp_rc bp_buf_printf(struct bp_buf *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Appends str percent-encoded for use in a URI query component
 * (unreserved characters stay as they are).
 */
enum bp_rc bp_buf_append_uri_component(struct bp_buf *buf, const char *str);

#endif
