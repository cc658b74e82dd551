/*
 * rc.c: names for the error codes and the helper that fills a
 * struct bp_error.
 */
#include <errno.h>
#include <stdio.h>

#include "rc.h"

enum bp_rc bp_rc_for_write_errno(int errnum, enum bp_rc otherwise)
{
    return errnum == ENOSPC || errnum == EDQUOT ? BP_ENOSPACE : otherwise;
}

const char *bp_rc_name(enum bp_rc rc)
{
    switch (rc) {
    case BP_OK:
        return "ok";
    case BP_ENOTFOUND:
        return "not found";
    case BP_EINVAL:
        return "invalid value";
    case BP_EBADREQUEST:
        return "bad request";
    case BP_ETOOBIG:
        return "too large";
    case BP_EUNSUPPORTED:
        return "unsupported media type";
    case BP_EMETHOD:
        return "method not allowed";
    case BP_ECONFLICT:
        return "conflict";
    case BP_EUNAUTHORIZED:
        return "unauthorized";
    case BP_EFORBIDDEN:
        return "forbidden";
    case BP_EUNAVAILABLE:
        return "service unavailable";
    case BP_ENOSPACE:
        return "insufficient storage";
    case BP_ENOMEM:
        return "out of memory";
    case BP_EIO:
        return "I/O error";
    case BP_EINTERNAL:
        return "internal error";
    }
    return "unknown error";
}

enum bp_rc bp_error_set(struct bp_error *err, enum bp_rc rc, const char *fmt,
                        ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
        va_end(ap);
    }
    return rc;
}
