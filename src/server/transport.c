/*
 * transport.c: FastCGI and CGI adapters. Both build a struct bp_request
 * from CGI-style variables, pick the body source, run bp_app_handle and
 * write the response in CGI format.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "http/http_error.h"
#include "http/urldecode.h"
#include "log.h"
#include "server/transport.h"

/* Milliseconds on the monotonic clock. */
static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Logs the summary of one request once its answer is written. */
static void log_request(const struct bp_ctx *ctx, const struct bp_request *req,
                        const struct bp_response *res, double started_ms)
{
    struct bp_log_request line = {
        .request_id = req->request_id,
        .trace_id = bp_request_param(req, "BANDPICS_TRACE_ID"),
        .method = req->method,
        .route = ctx->route,
        .status = res->status,
        .principal = ctx->principal.id,
        /* No Content-Length (a GET): no body. */
        .bytes_in = req->body.length > 0 ? (int64_t)req->body.length : 0,
        .bytes_out = res->body_fd >= 0 ? (int64_t)res->body_length
                                       : (int64_t)res->body.len,
        .ms = now_ms() - started_ms,
    };
    bp_log_request(&line);
}

static ssize_t write_fd(void *sink, const char *data, size_t len)
{
    int fd = *(int *)sink;
    size_t done = 0;
    while (done < len) {
        ssize_t put = write(fd, data + done, len - done);
        if (put < 0 && errno == EINTR)
            continue;
        if (put <= 0)
            return -1;
        done += (size_t)put;
    }
    return (ssize_t)len;
}

static ssize_t read_fcgx(void *source, char *dst, size_t len)
{
    FCGX_Stream *in = source;
    int chunk = len > 65536 ? 65536 : (int)len;
    int got = FCGX_GetStr(dst, chunk, in);
    if (got < chunk && FCGX_GetError(in) != 0)
        return -1;
    return got;
}

static ssize_t write_fcgx(void *sink, const char *data, size_t len)
{
    FCGX_Stream *out = sink;
    size_t done = 0;
    while (done < len) {
        int chunk = len - done > 65536 ? 65536 : (int)(len - done);
        if (FCGX_PutStr(data + done, chunk, out) != chunk)
            return -1;
        done += (size_t)chunk;
    }
    return (ssize_t)len;
}

/*
 * Opens the body file nginx wrote (REQUEST_BODY_FILE) into *fd and
 * checks it against CONTENT_LENGTH. *fd stays -1 when there is none.
 */
static enum bp_rc open_body_file(struct bp_request *req, int *fd,
                                 struct bp_error *err)
{
    *fd = -1;
    const char *path = bp_request_param(req, "REQUEST_BODY_FILE");
    if (path == NULL || *path == '\0')
        return BP_OK;
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (*fd < 0 && errno == ENOENT)
        /* nginx removes the file when the client goes away. */
        return bp_error_set(err, BP_EBADREQUEST,
                            "Request body gone: the client disconnected");
    if (*fd < 0 || fstat(*fd, &st) != 0)
        return bp_error_set(err, BP_EIO, "cannot open request body file %s: %s",
                            path, strerror(errno));
    if (req->body.length < 0)
        req->body.length = st.st_size;
    else if (req->body.length != st.st_size)
        return bp_error_set(err, BP_EBADREQUEST,
                            "Request body shorter than Content-Length");
    return BP_OK;
}

/*
 * Prepares req from params and source, runs the application, and writes
 * the response through write/sink. Returns 0, or 1 when writing failed.
 */
static int serve(struct bp_ctx *ctx, char *const *params,
                 ssize_t (*read)(void *, char *, size_t), void *source,
                 ssize_t (*write)(void *, const char *, size_t), void *sink)
{
    struct bp_request req;
    struct bp_response res;
    struct bp_buf path;
    struct bp_error err = {{0}};
    int body_fd = -1;
    double started_ms = now_ms();
    bp_app_request_reset(ctx);
    bp_response_init(&res);
    bp_buf_init(&path, 8192);
    enum bp_rc rc = bp_request_from_params(&req, params, &path, &err);
    if (rc == BP_OK)
        bp_request_mount(&req, ctx->config->base_path);
    /* A web server that names no request (Apache without mod_unique_id,
     * plain CGI) gets one made here, for its answer and the logs. */
    char made_id[33];
    if (req.request_id == NULL || req.request_id[0] == '\0') {
        unsigned char random[16];
        if (RAND_bytes(random, sizeof(random)) == 1) {
            bp_hex_encode(random, sizeof(random), made_id);
            req.request_id = made_id;
        }
    }
    if (rc == BP_OK) {
        req.body.read = read;
        req.body.source = source;
        if (req.body.length > ctx->config->max_body_bytes)
            rc = bp_error_set(&err, BP_ETOOBIG,
                              "Request body too large (limit %ld bytes)",
                              ctx->config->max_body_bytes);
        else
            rc = open_body_file(&req, &body_fd, &err);
        if (body_fd >= 0) {
            req.body.read = bp_body_read_fd;
            req.body.source = &body_fd;
        }
    }
    if (rc == BP_OK)
        bp_app_handle(ctx, &req, &res);
    else
        bp_http_error_respond(&res, rc, &err);
    if (req.request_id != NULL && req.request_id[0] != '\0')
        bp_response_header(&res, "X-Request-Id", "%.128s", req.request_id);
    bool head = req.method != NULL && strcmp(req.method, "HEAD") == 0;
    int failed = bp_response_write_cgi(&res, head, write, sink) != BP_OK;
    log_request(ctx, &req, &res, started_ms);
    if (body_fd >= 0)
        close(body_fd);
    bp_buf_free(&path);
    bp_response_free(&res);
    return failed;
}

void bp_transport_fcgi_serve(struct bp_ctx *ctx, FCGX_Request *request)
{
    serve(ctx, request->envp, read_fcgx, request->in, write_fcgx, request->out);
}

/* A CGI's standard input, counting what the request read of it. */
struct counted_input {
    int fd;
    long long read;
};

static ssize_t read_counted(void *source, char *dst, size_t len)
{
    struct counted_input *in = source;
    ssize_t got = bp_body_read_fd(&in->fd, dst, len);
    if (got > 0)
        in->read += got;
    return got;
}

/*
 * Reads and drops what is left of a body of content_length bytes (a
 * CONTENT_LENGTH value, or NULL) after an answer that did not need it. A
 * CGI that exits with its input unread makes the web server's end fail
 * (under Apache's mod_cgid, a reset that cuts the answer short). A body
 * longer than limit bytes is left unread: the process does not stay to
 * swallow it.
 */
static void drain_input(struct counted_input *in, const char *content_length,
                        long long limit)
{
    if (content_length == NULL)
        return;
    char *end;
    errno = 0;
    long long length = strtoll(content_length, &end, 10);
    if (errno != 0 || end == content_length || *end != '\0' || length > limit)
        return;
    char chunk[65536];
    while (in->read < length) {
        long long left = length - in->read;
        size_t want =
            left < (long long)sizeof(chunk) ? (size_t)left : sizeof(chunk);
        if (read_counted(in, chunk, want) <= 0)
            return;
    }
}

int bp_transport_cgi_serve(struct bp_ctx *ctx, char *const *env)
{
    struct counted_input in = {.fd = STDIN_FILENO, .read = 0};
    int out = STDOUT_FILENO;
    int failed = serve(ctx, env, read_counted, &in, write_fd, &out);
    /* A body up to max_body_bytes and its multipart framing. */
    long long limit = ctx->config->max_body_bytes + (1LL << 20);
    for (char *const *var = env; *var != NULL; var++)
        if (strncmp(*var, "CONTENT_LENGTH=", 15) == 0)
            drain_input(&in, *var + 15, limit);
    return failed;
}

/* A request body in memory. */
struct memory_input {
    const char *data;
    size_t len, pos;
};

static ssize_t read_memory(void *source, char *dst, size_t len)
{
    struct memory_input *in = source;
    size_t left = in->len - in->pos;
    size_t n = len < left ? len : left;
    memcpy(dst, in->data + in->pos, n);
    in->pos += n;
    return (ssize_t)n;
}

static ssize_t write_buffer(void *sink, const char *data, size_t len)
{
    return bp_buf_append(sink, data, len) == BP_OK ? (ssize_t)len : -1;
}

int bp_transport_buffer_serve(struct bp_ctx *ctx, char *const *params,
                              const char *body, size_t len, struct bp_buf *out)
{
    struct memory_input in = {.data = body, .len = len, .pos = 0};
    return serve(ctx, params, read_memory, &in, write_buffer, out);
}
