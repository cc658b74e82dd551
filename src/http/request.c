/*
 * request.c: building a request from CGI-style variables, and reading
 * its body (from any source, or a file descriptor) with a size cap.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "http/request.h"
#include "http/urldecode.h"

ssize_t bp_body_read_fd(void *source, char *dst, size_t len)
{
    int fd = *(const int *)source;
    for (;;) {
        ssize_t got = read(fd, dst, len);
        if (got >= 0 || errno != EINTR)
            return got;
    }
}

bool bp_media_type_is(const char *content_type, const char *type)
{
    while (isspace((unsigned char)*content_type))
        content_type++;
    size_t len = strcspn(content_type, ";");
    while (len > 0 && isspace((unsigned char)content_type[len - 1]))
        len--;
    return len == strlen(type) && strncasecmp(content_type, type, len) == 0;
}

const char *bp_request_param(const struct bp_request *req, const char *name)
{
    size_t len = strlen(name);
    for (char *const *p = req->params; p != NULL && *p != NULL; p++)
        if (strncmp(*p, name, len) == 0 && (*p)[len] == '=')
            return *p + len + 1;
    return NULL;
}

static const char *param_or_empty(const struct bp_request *req,
                                  const char *name)
{
    const char *value = bp_request_param(req, name);
    return value == NULL ? "" : value;
}

/*
 * The mount point of a request routed to a script with PATH_INFO: the
 * part of the URI the client asked for (percent-decoded, as PATH_INFO
 * is) before PATH_INFO; a rewrite, such as the shipped .htaccess sending
 * /bandpics/x to bandpics.cgi/x, hides the script's own name from the
 * client. Else SCRIPT_NAME (a ScriptAlias). Unsafe prefixes are ignored.
 * The prefix taken from the URI is kept in path_buf.
 */
static enum bp_rc mount_under_script(struct bp_request *req,
                                     struct bp_buf *path_buf)
{
    const char *uri = param_or_empty(req, "REQUEST_URI");
    size_t uri_len = strcspn(uri, "?#");
    size_t path_len = strlen(req->path);
    path_buf->len = 0;
    enum bp_rc rc = bp_url_decode(uri, uri_len, false, path_buf);
    if (rc == BP_ENOMEM)
        return rc;
    if (rc == BP_OK && path_buf->len >= path_len &&
        strcmp(path_buf->data + path_buf->len - path_len, req->path) == 0) {
        size_t base_len = path_buf->len - path_len;
        if (base_len == 0)
            return BP_OK;
        if (bp_config_base_path_valid(path_buf->data, base_len)) {
            path_buf->data[base_len] = '\0';
            path_buf->len = base_len;
            req->base = path_buf->data;
            return BP_OK;
        }
    }
    const char *script = param_or_empty(req, "SCRIPT_NAME");
    if (bp_config_base_path_valid(script, strlen(script)))
        req->base = script;
    return BP_OK;
}

enum bp_rc bp_request_from_params(struct bp_request *req, char *const *params,
                                  struct bp_buf *path_buf, struct bp_error *err)
{
    memset(req, 0, sizeof(*req));
    req->params = params;
    req->base = "";
    req->method = param_or_empty(req, "REQUEST_METHOD");
    req->query = param_or_empty(req, "QUERY_STRING");
    req->content_type = param_or_empty(req, "CONTENT_TYPE");
    /* nginx's $request_id, else Apache's mod_unique_id. */
    req->request_id = param_or_empty(req, "REQUEST_ID");
    if (req->request_id[0] == '\0')
        req->request_id = param_or_empty(req, "UNIQUE_ID");

    const char *length = bp_request_param(req, "CONTENT_LENGTH");
    req->body.length = -1;
    if (length != NULL && *length != '\0') {
        char *end;
        errno = 0;
        long long value = strtoll(length, &end, 10);
        if (!isdigit((unsigned char)length[0]) || *end != '\0' || errno != 0)
            return bp_error_set(err, BP_EBADREQUEST, "Invalid Content-Length");
        req->body.length = value;
    }

    const char *path = bp_request_param(req, "PATH_INFO");
    if (path != NULL && *path != '\0') {
        req->path = path;
        enum bp_rc rc = mount_under_script(req, path_buf);
        return rc == BP_OK ? BP_OK : bp_error_set(err, rc, "Out of memory");
    }
    path = bp_request_param(req, "DOCUMENT_URI");
    if (path != NULL && *path != '\0') {
        req->path = path;
        return BP_OK;
    }
    /* Neither: decode the path part of REQUEST_URI ourselves. */
    const char *uri = param_or_empty(req, "REQUEST_URI");
    size_t len = strcspn(uri, "?#");
    if (len == 0) {
        req->path = "/";
        return BP_OK;
    }
    enum bp_rc rc = bp_url_decode(uri, len, false, path_buf);
    if (rc != BP_OK)
        return bp_error_set(err, BP_EBADREQUEST, "Invalid request path");
    req->path = path_buf->data;
    return BP_OK;
}

enum bp_rc bp_request_read_body(const struct bp_request *req, size_t max,
                                struct bp_buf *out, struct bp_error *err)
{
    const struct bp_body *body = &req->body;
    if (body->length > 0 && (unsigned long long)body->length > max)
        return bp_error_set(err, BP_ETOOBIG,
                            "Request body too large (limit %zu bytes)", max);
    if (body->read == NULL || body->length == 0)
        return BP_OK;
    char chunk[16384];
    for (;;) {
        size_t want = sizeof(chunk);
        if (body->length >= 0) {
            long long left = body->length - (long long)out->len;
            if (left <= 0)
                break;
            if ((unsigned long long)left < want)
                want = (size_t)left;
        }
        ssize_t got = body->read(body->source, chunk, want);
        if (got < 0)
            return bp_error_set(err, BP_EIO, "Reading the request body failed");
        if (got == 0)
            break;
        if (out->len + (size_t)got > max)
            return bp_error_set(err, BP_ETOOBIG,
                                "Request body too large (limit %zu bytes)",
                                max);
        enum bp_rc rc = bp_buf_append(out, chunk, (size_t)got);
        if (rc != BP_OK)
            return bp_error_set(err, rc, "Request body too large");
    }
    if (body->length >= 0 && (long long)out->len != body->length)
        return bp_error_set(err, BP_EBADREQUEST,
                            "Request body shorter than Content-Length");
    return BP_OK;
}

void bp_request_mount(struct bp_request *req, const char *base_path)
{
    size_t len = strlen(base_path);
    if (req->base[0] != '\0' || len == 0 ||
        strncmp(req->path, base_path, len) != 0)
        return;
    if (req->path[len] != '/' && req->path[len] != '\0')
        return;
    req->base = base_path;
    req->path = req->path[len] == '\0' ? "/" : req->path + len;
}
