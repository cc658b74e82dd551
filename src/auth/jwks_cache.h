/*
 * jwks_cache.h: the per-worker cache of an issuer's signing keys. It
 * holds the last key set read from one source (an http or https URL,
 * fetched with libcurl, or a local file) and reads it again when it is
 * older than its TTL, or when a token names a key it does not have (at
 * most once per minimum interval, so that made-up kids cannot turn every
 * request into a fetch). A failed read keeps the keys already held:
 * when the issuer cannot be reached, tokens signed with known keys still
 * verify. The clock is the caller's (now_s), so tests can move it.
 */
#ifndef BP_JWKS_CACHE_H
#define BP_JWKS_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "auth/jwks.h"
#include "rc.h"

#define BP_JWKS_DEFAULT_TTL_S 3600
#define BP_JWKS_DEFAULT_MIN_REFETCH_S 60
#define BP_JWKS_DEFAULT_TIMEOUT_MS 5000
#define BP_JWKS_DEFAULT_CONNECT_TIMEOUT_MS 2000
#define BP_JWKS_DEFAULT_MAX_BYTES (256 * 1024)

/* How a cache reads its keys; a field left 0 takes the default above. */
struct bp_jwks_cache_settings {
    const char *source;      /* "https://...", "http://..." or a path;
                                copied by bp_jwks_cache_new */
    int64_t ttl_s;           /* age after which the keys are read again */
    int64_t min_refetch_s;   /* least time between two reads that are
                                not due to the TTL */
    long timeout_ms;         /* whole fetch, connection included */
    long connect_timeout_ms; /* the connection alone */
    size_t max_bytes;        /* largest document accepted */
};

struct bp_jwks_cache;

/*
 * Creates an empty cache reading from settings->source into *out, which
 * the caller frees with bp_jwks_cache_free; nothing is read yet.
 * BP_EINVAL (with a detail) for a missing source, a URL of another
 * scheme than http or https (file:// included: give the path), or a
 * negative setting; BP_ENOMEM when allocation fails.
 */
enum bp_rc bp_jwks_cache_new(const struct bp_jwks_cache_settings *settings,
                             struct bp_jwks_cache **out, struct bp_error *err);

/*
 * Finds the key named kid at time now_s (Unix seconds), reading the
 * source first when the cache is empty, older than its TTL, or lacks
 * kid and the last read is at least the minimum interval old. On BP_OK,
 * *key is borrowed from the cache and stays valid until the next call
 * on it or bp_jwks_cache_free. BP_EUNAUTHORIZED ("invalid token") when
 * the source was read successfully and has no such key;
 * BP_EUNAVAILABLE (with a detail) when the key is not held and the
 * source could not be read (unreachable, timeout, status other than
 * 200, too large, not a key set).
 */
enum bp_rc bp_jwks_cache_find(struct bp_jwks_cache *cache, const char *kid,
                              int64_t now_s, const struct bp_jwk **key,
                              struct bp_error *err);

/*
 * Bounds every later read of the source by deadline_ms (epoch ms; 0:
 * none): its timeouts are cut to the time left, no read starts once it
 * has passed, and a read the deadline cut short does not count against
 * the minimum interval (the next request reads again).
 */
void bp_jwks_cache_set_deadline(struct bp_jwks_cache *cache,
                                int64_t deadline_ms);

/*
 * The number of times the source was read (successfully or not), for
 * tests and statistics.
 */
unsigned long bp_jwks_cache_reads(const struct bp_jwks_cache *cache);

/* Frees cache and its keys; cache may be NULL. */
void bp_jwks_cache_free(struct bp_jwks_cache *cache);

#endif
