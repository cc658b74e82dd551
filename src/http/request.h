/*
 * request.h: the transport-free HTTP request that every handler sees.
 * A transport (FastCGI, CGI, later Lambda) fills one from its own
 * representation; handlers never learn which transport made it.
 */
#ifndef BP_REQUEST_H
#define BP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "rc.h"

/*
 * Where the request body comes from: a byte stream (the FastCGI or CGI
 * input) or a file the web server already wrote (nginx's
 * REQUEST_BODY_FILE). read returns the number of bytes read, 0 at the
 * end, or -1 on error.
 */
struct bp_body {
    ssize_t (*read)(void *source, char *dst, size_t len);
    void *source;
    long long length; /* CONTENT_LENGTH; -1 when not given */
};

struct bp_request {
    const char *method; /* "GET", ... */
    const char *path;   /* decoded path, without the query */
    /* Where the API is mounted: "" at the root, else "/prefix" (no
     * trailing '/'; only URL-safe characters). Every URL the API writes
     * starts with it. */
    const char *base;
    const char *query;        /* raw query string, "" when none */
    const char *content_type; /* "" when none */
    const char *request_id;   /* from the web server, "" when none */
    char *const *params;      /* CGI-style variables, NULL-terminated */
    struct bp_body body;
};

/*
 * A bp_body read function over a file descriptor: source points to the
 * int descriptor (borrowed). Retries reads interrupted by a signal.
 */
ssize_t bp_body_read_fd(void *source, char *dst, size_t len);

/*
 * Returns true when the media type of content_type (a Content-Type
 * value: surrounding spaces and ";" parameters aside) is type, in any
 * letter case.
 */
bool bp_media_type_is(const char *content_type, const char *type);

/*
 * Returns the value of the CGI-style variable name ("HTTP_ACCEPT", ...)
 * or NULL. The string belongs to the transport.
 */
const char *bp_request_param(const struct bp_request *req, const char *name);

/*
 * Reads the whole body into out (initialized by the caller, which frees
 * it). Returns BP_ETOOBIG when the body is longer than max bytes (the
 * rest is not read), BP_EBADREQUEST when it ends before CONTENT_LENGTH,
 * BP_EIO when reading fails.
 */
enum bp_rc bp_request_read_body(const struct bp_request *req, size_t max,
                                struct bp_buf *out, struct bp_error *err);

/*
 * Fills method, path, query, content type, request id and body length
 * of req from the CGI-style variables params (which req borrows). The
 * path comes from PATH_INFO when set (CGI under a script name), else from
 * DOCUMENT_URI (nginx), else from REQUEST_URI, percent-decoded into
 * path_buf (caller-owned). With PATH_INFO, the base is what REQUEST_URI
 * holds before it (copied into path_buf), else SCRIPT_NAME. The request
 * id is REQUEST_ID (nginx), else UNIQUE_ID (Apache's mod_unique_id). Returns
 * BP_EBADREQUEST for a path that does not decode to clean text.
 */
enum bp_rc bp_request_from_params(struct bp_request *req, char *const *params,
                                  struct bp_buf *path_buf,
                                  struct bp_error *err);

/*
 * Mounts req under base_path ("" for none; a configuration value the
 * caller has checked with bp_config_base_path_valid) when the web server
 * passed the whole path (no SCRIPT_NAME base): a path that starts with
 * base_path followed by '/' or its end loses that prefix and takes it
 * as req's base. Other paths are left as they are.
 */
void bp_request_mount(struct bp_request *req, const char *base_path);

#endif
