/*
 * jwks_cache.c: when to read an issuer's key set again. Three times
 * matter: when the keys were last read successfully (for the TTL), when
 * a read was last tried (for the minimum interval between reads that a
 * token's unknown kid, or a failing source, may cause), and whether that
 * last try worked (which tells "no such key" from "cannot know"). A read
 * replaces the whole set only when it succeeds, so a key removed by the
 * issuer disappears and a failing source leaves the held keys in use.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/jwks_cache.h"
#include "auth/jwks_fetch.h"

struct bp_jwks_cache {
    char *source; /* owned copy */
    int64_t ttl_s;
    int64_t min_refetch_s;
    struct bp_jwks_fetch_limits limits;
    struct bp_jwks *set;  /* owned; NULL until a read succeeds */
    int64_t fetched_s;    /* time of the last successful read */
    int64_t attempted_s;  /* time of the last read, successful or not */
    bool attempted;       /* whether any read was tried */
    bool last_ok;         /* whether the last read succeeded */
    unsigned long reads;  /* reads tried */
    struct bp_error last; /* why the last read failed */
    int64_t deadline_ms;  /* bp_jwks_cache_set_deadline's; 0: none */
};

enum bp_rc bp_jwks_cache_new(const struct bp_jwks_cache_settings *settings,
                             struct bp_jwks_cache **out, struct bp_error *err)
{
    if (bp_jwks_source_kind(settings->source) == BP_JWKS_SOURCE_INVALID)
        return bp_error_set(err, BP_EINVAL,
                            "signing keys: the source must be an http(s) URL "
                            "or a file path");
    if (settings->ttl_s < 0 || settings->min_refetch_s < 0 ||
        settings->timeout_ms < 0 || settings->connect_timeout_ms < 0)
        return bp_error_set(err, BP_EINVAL,
                            "signing keys: negative TTL, interval or timeout");
    struct bp_jwks_cache *cache = calloc(1, sizeof(*cache));
    if (cache == NULL || (cache->source = strdup(settings->source)) == NULL) {
        free(cache);
        return bp_error_set(err, BP_ENOMEM, "signing keys: out of memory");
    }
    cache->ttl_s =
        settings->ttl_s > 0 ? settings->ttl_s : BP_JWKS_DEFAULT_TTL_S;
    cache->min_refetch_s = settings->min_refetch_s > 0
                               ? settings->min_refetch_s
                               : BP_JWKS_DEFAULT_MIN_REFETCH_S;
    cache->limits.timeout_ms = settings->timeout_ms > 0
                                   ? settings->timeout_ms
                                   : BP_JWKS_DEFAULT_TIMEOUT_MS;
    cache->limits.connect_timeout_ms = settings->connect_timeout_ms > 0
                                           ? settings->connect_timeout_ms
                                           : BP_JWKS_DEFAULT_CONNECT_TIMEOUT_MS;
    cache->limits.max_bytes = settings->max_bytes > 0
                                  ? settings->max_bytes
                                  : BP_JWKS_DEFAULT_MAX_BYTES;
    *out = cache;
    return BP_OK;
}

/*
 * The limits of a read starting now: the cache's, cut to the time left
 * before its deadline. false when no time is left; *cut tells whether
 * the deadline shortened them.
 */
static bool limits_now(const struct bp_jwks_cache *cache,
                       struct bp_jwks_fetch_limits *limits, bool *cut)
{
    *limits = cache->limits;
    *cut = false;
    if (cache->deadline_ms <= 0)
        return true;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t left = cache->deadline_ms -
                   ((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000);
    if (left <= 0)
        return false;
    if (left < limits->timeout_ms) {
        limits->timeout_ms = (long)left;
        *cut = true;
    }
    if (left < limits->connect_timeout_ms) {
        limits->connect_timeout_ms = (long)left;
        *cut = true;
    }
    return true;
}

/* Reads the source once at now_s; on success the new set replaces the old. */
static void refresh(struct bp_jwks_cache *cache, int64_t now_s)
{
    struct bp_jwks_fetch_limits limits;
    bool cut;
    if (!limits_now(cache, &limits, &cut)) {
        /* Not a read: the next request tries again. */
        bp_error_set(&cache->last, BP_EUNAVAILABLE,
                     "signing keys unavailable: no time was left before the "
                     "invocation's deadline");
        cache->last_ok = false;
        return;
    }
    bool attempted = cache->attempted;
    int64_t attempted_s = cache->attempted_s;
    struct bp_buf doc;
    struct bp_jwks *set = NULL;
    struct bp_error parse_err = {{0}};
    cache->reads++;
    cache->attempted = true;
    cache->attempted_s = now_s;
    cache->last_ok = false;
    bp_buf_init(&doc, cache->limits.max_bytes);
    enum bp_rc rc = bp_jwks_fetch(cache->source, &limits, &doc, &cache->last);
    if (rc != BP_OK) {
        if (cut) {
            /* Cut short by the deadline: not held against the source. */
            cache->attempted = attempted;
            cache->attempted_s = attempted_s;
        }
        goto out_free_doc;
    }
    rc = bp_jwks_parse(doc.data != NULL ? doc.data : "", doc.len, &set,
                       &parse_err);
    if (rc != BP_OK) {
        bp_error_set(&cache->last, BP_EUNAVAILABLE,
                     "signing keys unavailable: %s", parse_err.detail);
        goto out_free_doc;
    }
    bp_jwks_free(cache->set);
    cache->set = set;
    cache->fetched_s = now_s;
    cache->last_ok = true;
out_free_doc:
    bp_buf_free(&doc);
}

enum bp_rc bp_jwks_cache_find(struct bp_jwks_cache *cache, const char *kid,
                              int64_t now_s, const struct bp_jwk **key,
                              struct bp_error *err)
{
    const struct bp_jwk *found = bp_jwks_find(cache->set, kid);
    bool expired =
        cache->set == NULL || now_s - cache->fetched_s >= cache->ttl_s;
    /* A clock set back does not hold reads off until it catches up. */
    bool may_retry = !cache->attempted || now_s < cache->attempted_s ||
                     now_s - cache->attempted_s >= cache->min_refetch_s;
    /* Past the TTL of good keys: read now. After a failure, or for an
     * unknown kid: read at most once per interval. */
    if ((expired && cache->last_ok) ||
        ((expired || found == NULL) && may_retry)) {
        refresh(cache, now_s);
        found = bp_jwks_find(cache->set, kid);
    }
    if (found != NULL) {
        *key = found;
        return BP_OK;
    }
    if (cache->last_ok)
        return bp_error_set(err, BP_EUNAUTHORIZED, "invalid token");
    return bp_error_set(err, BP_EUNAVAILABLE, "%s", cache->last.detail);
}

void bp_jwks_cache_set_deadline(struct bp_jwks_cache *cache,
                                int64_t deadline_ms)
{
    if (cache != NULL)
        cache->deadline_ms = deadline_ms;
}

unsigned long bp_jwks_cache_reads(const struct bp_jwks_cache *cache)
{
    return cache->reads;
}

void bp_jwks_cache_free(struct bp_jwks_cache *cache)
{
    if (cache == NULL)
        return;
    bp_jwks_free(cache->set);
    free(cache->source);
    free(cache);
}
