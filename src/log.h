/*
 * log.h: the service's one log: JSON lines (one object per line) on
 * stderr, or appended to log_file. Every layer writes through it: events
 * with bp_log_error/warn/info/debug (a printf-style message), each
 * request's summary with bp_log_request, each change with bp_log_change.
 * Where it goes and from which level is read from the configuration
 * once, by bp_log_setup, before any worker starts; that is the module's
 * only state. Never pass a credential, a token or a secret to it.
 */
#ifndef BP_LOG_H
#define BP_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "rc.h"

enum bp_log_level {
    BP_LOG_ERROR = 0,
    BP_LOG_WARN,
    BP_LOG_INFO,
    BP_LOG_DEBUG,
};

/*
 * Directs the log as cfg says (log_file: "" for stderr, else a file
 * opened for appending, mode 0640; log_level). Called once per process
 * tree, before fork; until then everything goes to stderr at info.
 * BP_EINVAL when the file cannot be opened (err names it).
 */
enum bp_rc bp_log_setup(const struct bp_config *cfg, struct bp_error *err);

/* Parses "error", "warn", "info" or "debug"; false for anything else. */
bool bp_log_level_parse(const char *text, enum bp_log_level *out);

/* Writes {"time", "level", "pid", "msg"} when level is enabled. */
void bp_log(enum bp_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define bp_log_error(...) bp_log(BP_LOG_ERROR, __VA_ARGS__)
#define bp_log_warn(...) bp_log(BP_LOG_WARN, __VA_ARGS__)
#define bp_log_info(...) bp_log(BP_LOG_INFO, __VA_ARGS__)
#define bp_log_debug(...) bp_log(BP_LOG_DEBUG, __VA_ARGS__)

/* One request, as the worker saw it. Strings are borrowed; NULL is "". */
struct bp_log_request {
    const char *request_id;
    const char *trace_id; /* X-Amzn-Trace-Id on AWS Lambda, or NULL */
    const char *method;
    const char *route; /* the route's pattern, never the path */
    int status;
    const char *principal; /* "" for anonymous */
    int64_t bytes_in;      /* the body's length */
    int64_t bytes_out;     /* the body sent (0 when the web server sends
                              a file for the worker) */
    double ms;             /* from the request's arrival to its answer */
};

/* Writes {"type": "request", ...} at info. */
void bp_log_request(const struct bp_log_request *r);

/*
 * Writes {"type": "change", "action", "kind", "id", "principal",
 * "request_id"} at info: action is "created", "updated", "deleted",
 * "revoked" (a key) or "detached" (an event's groups), kind "group",
 * "image", "api_key" or "event".
 */
void bp_log_change(const char *action, const char *kind, const char *id,
                   const char *principal, const char *request_id);

#endif
