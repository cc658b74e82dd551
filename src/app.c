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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <wand/MagickWand.h>

#include "app.h"
#include "http_error.h"
#include "image_proc.h"
#include "routes.h"

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

/*
 * Removes files older than an hour from the temporary directory: what a
 * killed worker left behind (no request lives that long).
 */
static void sweep_tmp(const char *tmp_dir)
{
    DIR *dir = opendir(tmp_dir);
    if (dir == NULL)
        return;
    time_t cutoff = time(NULL) - 3600;
    for (struct dirent *entry; (entry = readdir(dir)) != NULL;) {
        struct stat st;
        if (fstatat(dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISREG(st.st_mode) && st.st_mtime < cutoff)
            unlinkat(dirfd(dir), entry->d_name, 0);
    }
    closedir(dir);
}

enum bp_rc bp_app_open(struct bp_ctx *ctx, const struct bp_config *cfg,
                       struct bp_error *err)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->config = cfg;
    char *files_dir = NULL;
    enum bp_rc rc = data_subdir(cfg, "tmp", &ctx->tmp_dir, err);
    if (rc == BP_OK)
        rc = data_subdir(cfg, "files", &files_dir, err);
    if (rc == BP_OK)
        rc = bp_blob_local_open(files_dir, &ctx->blobs, err);
    if (rc == BP_OK)
        sweep_tmp(ctx->tmp_dir);
    free(files_dir);
    if (rc != BP_OK)
        goto out_free;
    MagickWandGenesis();
    struct bp_image_limits limits = {
        .max_pixels = cfg->max_pixels,
        .max_edge = BP_IMAGE_MAX_EDGE,
        .memory_bytes = cfg->image_memory_bytes,
    };
    bp_image_setup(&limits);
    rc = bp_store_open(cfg, &ctx->store, err);
    if (rc == BP_OK)
        return BP_OK;
    if (rc == BP_EUNAVAILABLE) {
        fprintf(stderr, "bandpics: store unavailable, will retry: %s\n",
                err->detail);
        ctx->store = NULL;
        return BP_OK;
    }
    MagickWandTerminus();
out_free:
    bp_blob_store_close(ctx->blobs);
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
    free(ctx->tmp_dir);
    ctx->tmp_dir = NULL;
    MagickWandTerminus();
}

enum bp_rc bp_app_store(struct bp_ctx *ctx, struct bp_store **out,
                        struct bp_error *err)
{
    if (ctx->store == NULL) {
        enum bp_rc rc = bp_store_open(ctx->config, &ctx->store, err);
        if (rc != BP_OK)
            return rc == BP_EINVAL ? BP_EUNAVAILABLE : rc;
    }
    *out = ctx->store;
    return BP_OK;
}

void bp_app_handle(struct bp_ctx *ctx, const struct bp_request *req,
                   struct bp_response *res)
{
    struct bp_error err = {{0}};
    struct bp_route_match match;
    char allow[128];
    size_t nroutes;
    const struct bp_route *routes = bp_routes(&nroutes);
    enum bp_rc rc = bp_router_match(routes, nroutes, req->method, req->path,
                                    &match, allow, sizeof(allow));
    if (rc == BP_ENOTFOUND) {
        bp_error_set(&err, rc, "Not Found");
    } else if (rc == BP_EMETHOD) {
        bp_error_set(&err, rc, "Method Not Allowed");
    } else {
        rc = match.route->handler(ctx, req, &match, res, &err);
    }
    if (rc != BP_OK) {
        bp_http_error_respond(res, rc, &err);
        if (rc == BP_EMETHOD)
            bp_response_header(res, "Allow", "%s", allow);
    }
}
