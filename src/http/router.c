/*
 * router.c: segment-by-segment matching of paths against route patterns.
 */
#include <string.h>

#include "http/router.h"

/* Returns the length of the segment that starts at s (up to '/' or end). */
static size_t segment_len(const char *s)
{
    return strcspn(s, "/");
}

/*
 * Matches path against pattern, both starting with '/'. Captures go into
 * match when it is not NULL. Returns 1 on a match, 0 otherwise.
 */
static int match_pattern(const char *pattern, const char *path,
                         struct bp_route_match *match)
{
    size_t captures = 0;
    const char *pat = pattern, *p = path;
    size_t path_len = strlen(path);
    /* A trailing slash (other than the root) does not change the route. */
    if (path_len > 1 && path[path_len - 1] == '/')
        path_len--;
    const char *path_end = path + path_len;
    if (strcmp(pattern, "/") == 0) {
        if (path_len != 1 || path[0] != '/')
            return 0;
        if (match != NULL)
            match->count = 0;
        return 1;
    }
    while (*pat == '/') {
        if (p >= path_end || *p != '/')
            return 0;
        pat++;
        p++;
        size_t pat_seg = segment_len(pat);
        size_t seg = segment_len(p);
        if (p + seg > path_end)
            seg = (size_t)(path_end - p);
        if (pat_seg >= 2 && pat[0] == '{' && pat[pat_seg - 1] == '}') {
            if (seg == 0 || captures >= BP_ROUTE_MAX_CAPTURES)
                return 0;
            if (match != NULL) {
                /* Longer segments are cut; no valid capture is that long. */
                size_t keep = seg < BP_ROUTE_CAPTURE_LEN - 1
                                  ? seg
                                  : BP_ROUTE_CAPTURE_LEN - 1;
                memcpy(match->captures[captures], p, keep);
                match->captures[captures][keep] = '\0';
            }
            captures++;
        } else if (pat_seg != seg || strncmp(pat, p, seg) != 0) {
            return 0;
        }
        pat += pat_seg;
        p += seg;
    }
    if (*pat != '\0' || p != path_end)
        return 0;
    if (match != NULL)
        match->count = captures;
    return 1;
}

static int method_matches(const char *route_method, const char *method)
{
    return strcmp(route_method, method) == 0 ||
           (strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0);
}

static void allow_add(char *allow, size_t allow_len, const char *method)
{
    if (allow_len == 0)
        return;
    size_t used = strlen(allow);
    size_t need = strlen(method) + (used > 0 ? 2 : 0);
    if (used + need + 1 > allow_len)
        return;
    if (used > 0) {
        memcpy(allow + used, ", ", 2);
        used += 2;
    }
    memcpy(allow + used, method, strlen(method) + 1);
}

enum bp_rc bp_router_match(const struct bp_route *routes, size_t n,
                           const char *method, const char *path,
                           struct bp_route_match *match, char *allow,
                           size_t allow_len)
{
    int path_known = 0;
    if (allow_len > 0)
        allow[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (!match_pattern(routes[i].pattern, path, NULL))
            continue;
        path_known = 1;
        if (method_matches(routes[i].method, method)) {
            match_pattern(routes[i].pattern, path, match);
            match->route = &routes[i];
            return BP_OK;
        }
    }
    if (!path_known)
        return BP_ENOTFOUND;
    for (size_t i = 0; i < n; i++) {
        if (!match_pattern(routes[i].pattern, path, NULL))
            continue;
        allow_add(allow, allow_len, routes[i].method);
        if (strcmp(routes[i].method, "GET") == 0)
            allow_add(allow, allow_len, "HEAD");
    }
    return BP_EMETHOD;
}
