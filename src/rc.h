/*
 * rc.h: the one error vocabulary of Bandpics. Every fallible function
 * returns an enum bp_rc and, on failure, may describe the problem in a
 * caller-provided struct bp_error. Only http_error.c turns these into
 * HTTP statuses.
 */
#ifndef BP_RC_H
#define BP_RC_H

#include <stdarg.h>

enum bp_rc {
    BP_OK = 0,
    BP_ENOTFOUND,     /* the addressed resource does not exist */
    BP_EINVAL,        /* well-formed input with an invalid value */
    BP_EBADREQUEST,   /* malformed input (JSON syntax, framing) */
    BP_ETOOBIG,       /* input over a configured limit */
    BP_EUNSUPPORTED,  /* unsupported media type */
    BP_EMETHOD,       /* known path, method not allowed */
    BP_ECONFLICT,     /* state conflict (duplicate id, ...) */
    BP_EUNAUTHORIZED, /* no valid credential came with the request */
    BP_EFORBIDDEN,    /* the principal lacks the right, or a signed upload
                         token is invalid or expired */
    BP_EUNAVAILABLE,  /* a dependency (store, blobs) is down or busy */
    BP_ENOSPACE,      /* the disk (or a quota) is full, or under
                         min_free_bytes */
    BP_ENOMEM,        /* allocation failed */
    BP_EIO,           /* local I/O failed */
    BP_EINTERNAL,     /* a bug or an unexpected library failure */
};

/* A human-readable description of a failure, safe to show to clients. */
struct bp_error {
    char detail[256];
};

/*
 * The code for a failed write that set errnum: BP_ENOSPACE when the disk
 * or a quota is full (ENOSPC, EDQUOT), otherwise.
 */
enum bp_rc bp_rc_for_write_errno(int errnum, enum bp_rc otherwise);

/* Returns a static, lower-case name for rc ("not found", ...). */
const char *bp_rc_name(enum bp_rc rc);

/*
 * Formats a detail message into err (which may be NULL) and returns rc,
 * so that callers can write `return bp_error_set(err, BP_EINVAL, ...)`.
 */
enum bp_rc bp_error_set(struct bp_error *err, enum bp_rc rc, const char *fmt,
                        ...) __attribute__((format(printf, 3, 4)));

#endif
