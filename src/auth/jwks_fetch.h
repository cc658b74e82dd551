/*
 * jwks_fetch.h: reading a key set document from where the configuration
 * says it is: an http or https URL, fetched with libcurl within a time
 * and size budget, or a local file, read directly. Bytes out, no
 * parsing; the cache (jwks_cache.h) decides when to read.
 */
#ifndef BP_JWKS_FETCH_H
#define BP_JWKS_FETCH_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "rc.h"

/* The budget of one read; every field must be positive. */
struct bp_jwks_fetch_limits {
    long timeout_ms;         /* the whole transfer */
    long connect_timeout_ms; /* the connection alone */
    size_t max_bytes;        /* the largest document */
};

/* What a source string names. */
enum bp_jwks_source_kind {
    BP_JWKS_SOURCE_INVALID, /* empty, or a URL of another scheme */
    BP_JWKS_SOURCE_URL,     /* http:// or https:// (any case) */
    BP_JWKS_SOURCE_FILE,    /* anything without "://": a path */
};

/* Tells what source names. */
enum bp_jwks_source_kind bp_jwks_source_kind(const char *source);

/*
 * Reads the document at source into out (appending; the caller owns and
 * frees out). A URL is fetched with GET over http or https only (also
 * across redirects, and never from https down to http), within
 * limits->connect_timeout_ms and limits->timeout_ms; the answer must be
 * 200. Returns BP_EUNAVAILABLE with a detail for every failure:
 * unreachable, timeout, another status, a document over
 * limits->max_bytes, an unreadable file; BP_EINVAL for a source of
 * neither kind.
 */
enum bp_rc bp_jwks_fetch(const char *source,
                         const struct bp_jwks_fetch_limits *limits,
                         struct bp_buf *out, struct bp_error *err);

#endif
