/*
 * app.c: the worker context's lifetime and request dispatch: routing,
 * the 404/405 answers, and turning handler errors into responses.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <wand/MagickWand.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "api/app.h"
#include "api/auth.h"
#include "api/cors.h"
#include "api/direct_upload.h"
#include "api/routes.h"
#include "blob/upload_token.h"
#include "http/http_error.h"
#include "http/urldecode.h"
#include "log.h"
#include "media/image_proc.h"
#include "model/timeutil.h"

/* Returns a new string "<data_dir>/<name>", created as a directory. */
static enum bp_rc data_subdir(const struct bp_config *cfg, const char *name,
                              char **out, struct bp_error *err)
{
    struct bp_buf path;
    bp_buf_init(&path, 4096);
    if (bp_buf_printf(&path, "%s/%s", cfg->data_dir, name) != BP_OK) {
        bp_buf_free(&path);
        return BP_ENOMEM;
    }
    if (mkdir(cfg->data_dir, 0750) != 0 && errno != EEXIST)
        goto out_fail;
    if (mkdir(path.data, 0750) != 0 && errno != EEXIST)
        goto out_fail;
    *out = path.data;
    return BP_OK;
out_fail:
    bp_error_set(err, BP_EUNAVAILABLE, "cannot create %.200s: %s", path.data,
                 strerror(errno));
    bp_buf_free(&path);
    return BP_EUNAVAILABLE;
}

/* Wipes and frees the upload secret of ctx. */
static void free_secret(struct bp_ctx *ctx)
{
    if (ctx->upload_secret != NULL)
        OPENSSL_cleanse(ctx->upload_secret, ctx->upload_secret_len);
    free(ctx->upload_secret);
    ctx->upload_secret = NULL;
    ctx->upload_secret_len = 0;
}

/* Reads the secret in the file at path into ctx (at most 128 bytes). */
static enum bp_rc read_secret(struct bp_ctx *ctx, const char *path,
                              struct bp_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? BP_ENOTFOUND
                               : bp_error_set(err, BP_EUNAVAILABLE,
                                              "cannot read %.200s: %s", path,
                                              strerror(errno));
    unsigned char text[128];
    ssize_t got = read(fd, text, sizeof(text));
    int saved = errno;
    close(fd);
    if (got < 0)
        return bp_error_set(err, BP_EUNAVAILABLE, "cannot read %.200s: %s",
                            path, strerror(saved));
    while (got > 0 && (text[got - 1] == '\n' || text[got - 1] == ' '))
        got--;
    if (got < BP_UPLOAD_SECRET_MIN)
        return bp_error_set(err, BP_EINVAL,
                            "%.200s: the upload secret is too short", path);
    ctx->upload_secret = malloc((size_t)got);
    if (ctx->upload_secret == NULL)
        return BP_ENOMEM;
    memcpy(ctx->upload_secret, text, (size_t)got);
    ctx->upload_secret_len = (size_t)got;
    OPENSSL_cleanse(text, sizeof(text));
    return BP_OK;
}

/*
 * Creates <data_dir>/upload.key with a new random secret unless it
 * exists: written under a temporary name and linked into place, so
 * workers starting together agree on one secret.
 */
static enum bp_rc create_secret(const char *path, struct bp_error *err)
{
    unsigned char random[32];
    if (RAND_bytes(random, sizeof(random)) != 1)
        return bp_error_set(err, BP_EINTERNAL, "no random bytes for a secret");
    char hex[2 * sizeof(random) + 2];
    bp_hex_encode(random, sizeof(random), hex);
    hex[2 * sizeof(random)] = '\n';
    struct bp_buf tmp;
    bp_buf_init(&tmp, 4096);
    enum bp_rc rc = bp_buf_printf(&tmp, "%s.%ld", path, (long)getpid());
    if (rc != BP_OK)
        goto out_free;
    int fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 ||
        write(fd, hex, 2 * sizeof(random) + 1) !=
            (ssize_t)(2 * sizeof(random) + 1) ||
        fsync(fd) != 0 || (link(tmp.data, path) != 0 && errno != EEXIST))
        rc = bp_error_set(err, BP_EUNAVAILABLE, "cannot write %.200s: %s", path,
                          strerror(errno));
    if (fd >= 0)
        close(fd);
    unlink(tmp.data);
out_free:
    bp_buf_free(&tmp);
    return rc;
}

/* Loads the secret that signs local upload URLs into ctx. */
static enum bp_rc load_upload_secret(struct bp_ctx *ctx,
                                     const struct bp_config *cfg,
                                     struct bp_error *err)
{
    size_t len = strlen(cfg->upload_secret);
    if (len > 0) {
        ctx->upload_secret = malloc(len);
        if (ctx->upload_secret == NULL)
            return BP_ENOMEM;
        memcpy(ctx->upload_secret, cfg->upload_secret, len);
        ctx->upload_secret_len = len;
        return BP_OK;
    }
    struct bp_buf path;
    bp_buf_init(&path, 4096);
    enum bp_rc rc = bp_buf_printf(&path, "%s/upload.key", cfg->data_dir);
    if (rc == BP_OK)
        rc = read_secret(ctx, path.data, err);
    if (rc == BP_ENOTFOUND) {
        rc = create_secret(path.data, err);
        if (rc == BP_OK)
            rc = read_secret(ctx, path.data, err);
    }
    bp_buf_free(&path);
    return rc;
}

enum bp_rc bp_app_open(struct bp_ctx *ctx, const struct bp_config *cfg,
                       struct bp_error *err)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->config = cfg;
    bp_image_child_init(&ctx->decoder);
    char *files_dir = NULL;
    enum bp_rc rc = data_subdir(cfg, "tmp", &ctx->tmp_dir, err);
    if (rc == BP_OK)
        rc = data_subdir(cfg, "files", &files_dir, err);
    if (rc == BP_OK)
        rc = bp_blob_store_open(cfg, files_dir, ctx->tmp_dir, &ctx->blobs, err);
    if (rc == BP_OK)
        rc = load_upload_secret(ctx, cfg, err);
    if (rc == BP_OK)
        rc = bp_auth_jwt_new(cfg, &ctx->jwt, err);

    ctx->next_expiry_ms = bp_time_now_ms() + cfg->expire_interval_s * 1000;
    free(files_dir);
    if (rc != BP_OK)
        goto out_free;
    rc = bp_store_open(cfg, &ctx->store, err);
    if (rc == BP_OK)
        return BP_OK;
    if (rc == BP_EUNAVAILABLE) {
        bp_log_warn("store unavailable, will retry: %s", err->detail);
        ctx->store = NULL;
        return BP_OK;
    }
out_free:
    bp_auth_jwt_free(ctx->jwt);
    bp_blob_store_close(ctx->blobs);
    free_secret(ctx);
    free(ctx->tmp_dir);
    memset(ctx, 0, sizeof(*ctx));
    return rc;
}

void bp_app_close(struct bp_ctx *ctx)
{
    bp_store_close(ctx->store);
    ctx->store = NULL;
    bp_blob_store_close(ctx->blobs);
    ctx->blobs = NULL;
    bp_auth_jwt_free(ctx->jwt);
    ctx->jwt = NULL;
    bp_image_child_close(&ctx->decoder);
    free_secret(ctx);
    free(ctx->tmp_dir);
    ctx->tmp_dir = NULL;
    if (ctx->imaging_ready)
        MagickWandTerminus();
    ctx->imaging_ready = false;
}

struct bp_image_limits bp_app_image_limits(const struct bp_ctx *ctx)
{
    return (struct bp_image_limits){
        .max_pixels = ctx->config->max_pixels,
        .max_edge = BP_IMAGE_MAX_EDGE,
        .memory_bytes = ctx->config->image_memory_bytes,
        .max_decode_bytes = ctx->config->max_decode_bytes,
    };
}

void bp_app_imaging_setup(struct bp_ctx *ctx)
{
    if (ctx->imaging_ready)
        return;
    MagickWandGenesis();
    struct bp_image_limits limits = bp_app_image_limits(ctx);
    bp_image_setup(&limits);
    ctx->imaging_ready = true;
}

enum bp_rc bp_app_store(struct bp_ctx *ctx, struct bp_store **out,
                        struct bp_error *err)
{
    if (ctx->store == NULL) {
        enum bp_rc rc =
            bp_store_open_by(ctx->config, ctx->deadline_ms, &ctx->store, err);
        if (rc != BP_OK)
            return rc == BP_EINVAL ? BP_EUNAVAILABLE : rc;
    }
    *out = ctx->store;
    return BP_OK;
}

void bp_app_set_deadline(struct bp_ctx *ctx, int64_t deadline_ms)
{
    ctx->deadline_ms = deadline_ms;
    bp_store_set_deadline(ctx->store, deadline_ms);
    bp_blob_set_deadline(ctx->blobs, deadline_ms);
    bp_auth_jwt_set_deadline(ctx->jwt, deadline_ms);
}

/*
 * Returns a descriptor holding the exclusive lock on
 * <data_dir>/expiry.lock (closing it releases the lock), or -1 when
 * another process holds it or it cannot be had.
 */
static int open_expiry_lock(const struct bp_config *cfg)
{
    struct bp_buf path;
    bp_buf_init(&path, 4096);
    int fd = -1;
    if (bp_buf_printf(&path, "%s/expiry.lock", cfg->data_dir) == BP_OK)
        fd = open(path.data, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    bp_buf_free(&path);
    if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

int bp_app_maintain(struct bp_ctx *ctx)
{
    int64_t interval_ms = ctx->config->expire_interval_s * 1000;
    if (interval_ms == 0)
        return -1;
    int64_t now = bp_time_now_ms();
    if (now < ctx->next_expiry_ms)
        return (int)(ctx->next_expiry_ms - now);
    ctx->next_expiry_ms = now + interval_ms;
    /* One worker of the machine sweeps at a time; the others skip this
     * round (the store's conditional updates keep hosts apart). */
    int lock = open_expiry_lock(ctx->config);
    if (lock < 0)
        return (int)interval_ms;
    struct bp_store *store;
    struct bp_error err = {{0}};
    struct bp_direct_upload_sweep sweep;
    if (bp_app_store(ctx, &store, &err) != BP_OK ||
        bp_direct_upload_expire(ctx, store, now, 100, false, NULL, &sweep,
                                &err) != BP_OK)
        bp_log_warn("expiring uploads: %s", err.detail);
    close(lock);
    return (int)interval_ms;
}

void bp_app_request_reset(struct bp_ctx *ctx)
{
    memset(&ctx->principal, 0, sizeof(ctx->principal));
    ctx->principal.kind = "";
    ctx->credential_refused = false;
    ctx->route = NULL;
}

void bp_app_handle(struct bp_ctx *ctx, const struct bp_request *req,
                   struct bp_response *res)
{
    struct bp_error err = {{0}};
    struct bp_route_match match;
    char allow[128];
    size_t nroutes;
    const struct bp_route *routes = bp_routes(&nroutes);
    const struct bp_route *route = NULL; /* the matched one */
    enum bp_rc rc = bp_router_match(routes, nroutes, req->method, req->path,
                                    &match, allow, sizeof(allow));
    const char *origin = bp_cors_origin(ctx->config, req);
    if (rc == BP_EMETHOD && strcmp(req->method, "OPTIONS") == 0) {
        /* A preflight: the route exists, so say what it allows. */
        bp_cors_preflight(ctx->config, res, origin, allow);
        rc = BP_OK;
    } else if (rc == BP_ENOTFOUND) {
        bp_error_set(&err, rc, "Not Found");
    } else if (rc == BP_EMETHOD) {
        bp_error_set(&err, rc, "Method Not Allowed");
    } else {
        route = match.route;
        ctx->route = route->pattern;
        /* Public routes never look at credentials. */
        rc = route->access == BP_ROUTE_PUBLIC
                 ? bp_auth_identify(ctx, NULL, &err)
                 : bp_auth_identify(ctx, req, &err);
        if (rc == BP_OK)
            rc = bp_auth_check_route(ctx, match.route, &err);
        if (rc == BP_OK)
            rc = match.route->handler(ctx, req, &match, res, &err);
    }
    if (rc != BP_OK) {
        bp_http_error_respond(res, rc, &err);
        if (rc == BP_EMETHOD)
            bp_response_header(res, "Allow", "%s", allow);
        if (rc == BP_EUNAUTHORIZED)
            bp_response_header(res, "WWW-Authenticate", "%s",
                               ctx->credential_refused
                                   ? "Bearer error=\"invalid_token\""
                                   : "Bearer");
    }
    /* Lists are read again and again: let clients revalidate them. */
    if (rc == BP_OK && route != NULL && route->access != BP_ROUTE_WRITE &&
        (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0))
        bp_response_revalidate(res,
                               bp_request_param(req, "HTTP_IF_NONE_MATCH"));
    bp_response_header(res, "X-Content-Type-Options", "nosniff");
    if (origin != NULL)
        bp_cors_headers(res, origin);
    /* What a read shows may depend on who asks (positions, and every
     * answer when reads need a credential), and CORS headers on the
     * origin: shared caches must not mix them. File answers set their
     * own caching and Vary: Authorization. */
    bool by_caller = route != NULL && route->access == BP_ROUTE_READ &&
                     strcmp(ctx->config->auth_mode, "off") != 0;
    bool by_origin = ctx->config->cors_origins[0] != '\0';
    if (bp_response_has_header(res, "Vary"))
        by_caller = false;
    if (by_caller || by_origin)
        bp_response_header(
            res, "Vary", "%s%s%s", by_caller ? "Authorization" : "",
            by_caller && by_origin ? ", " : "", by_origin ? "Origin" : "");
    if (by_caller && !bp_response_has_header(res, "Cache-Control") &&
        (res->status < 300 || res->status == 304))
        bp_response_header(res, "Cache-Control", "private");
}
