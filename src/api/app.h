/*
 * app.h: the per-worker application context and the entry point that
 * turns one transport-free request into one response. Every transport
 * (pool worker, fd-0 worker, CGI) calls bp_app_handle.
 */
#ifndef BP_APP_H
#define BP_APP_H

#include <stddef.h>
#include <stdint.h>

#include "blob/blob.h"
#include "config.h"
#include "http/request.h"
#include "http/response.h"
#include "media/image_child.h"
#include "media/image_proc.h"
#include "model/principal.h"
#include "store/store.h"

struct bp_auth_jwt;

/* What one worker process owns while it serves requests. */
struct bp_ctx {
    const struct bp_config *config; /* borrowed, frozen */
    struct bp_store *store;         /* owned; NULL while unreachable */
    struct bp_blob_store *blobs;    /* owned: the image files */
    char *tmp_dir;                  /* owned: uploads and renders */
    unsigned char *upload_secret;   /* owned: signs local upload URLs */
    size_t upload_secret_len;
    int64_t next_expiry_ms; /* when bp_app_maintain next expires uploads */
    int64_t deadline_ms;    /* bp_app_set_deadline's (epoch ms; 0: none) */
    /* The caller of the request being handled (set by bp_app_handle
     * through bp_auth_identify), and whether it sent a credential that
     * was refused (the 401 then says error="invalid_token"). */
    struct bp_principal principal;
    bool credential_refused;
    struct bp_auth_jwt *jwt; /* owned; NULL without auth_issuer */
    const char *route;       /* the request's route pattern, or NULL */
    /* ImageMagick is set up (bp_app_imaging_setup) on the first image a
     * process handles, not at start: a CGI process that reads metadata
     * never pays for it. */
    bool imaging_ready;
    /* The process images are decoded in (decode_in_child); owned. */
    struct bp_image_child decoder;
};

/*
 * Creates the per-process state for cfg (which must outlive ctx): the
 * blob store (blob_url, by default files under <data_dir>/files), the
 * temporary directory (<data_dir>/tmp), the secret of local upload URLs
 * (upload_secret, or one generated once in <data_dir>/upload.key) and the
 * store connection. A store that cannot be opened now is retried on each
 * request; this fails for an invalid configuration or an unwritable data
 * directory. On failure nothing is left to release; otherwise release
 * with bp_app_close.
 */
enum bp_rc bp_app_open(struct bp_ctx *ctx, const struct bp_config *cfg,
                       struct bp_error *err);

/* Releases everything bp_app_open (and bp_app_imaging_setup) made. */
void bp_app_close(struct bp_ctx *ctx);

/* The image limits of ctx's configuration (max_pixels, image_memory_bytes). */
struct bp_image_limits bp_app_image_limits(const struct bp_ctx *ctx);

/*
 * Sets up the ImageMagick environment with bp_app_image_limits once per
 * process, before the first image is decoded; later calls do nothing.
 */
void bp_app_imaging_setup(struct bp_ctx *ctx);

/*
 * Returns the worker's store in *out, opening it first when it is not
 * open. BP_EUNAVAILABLE when it cannot be reached.
 */
enum bp_rc bp_app_store(struct bp_ctx *ctx, struct bp_store **out,
                        struct bp_error *err);

/*
 * Bounds every later store and blob call, and every read of the token
 * issuer's signing keys, by deadline_ms (epoch ms; 0: none), the
 * store's too when it is opened later: an AWS Lambda invocation's
 * deadline.
 */
void bp_app_set_deadline(struct bp_ctx *ctx, int64_t deadline_ms);

/*
 * Does the periodic work of a worker between requests: every
 * expire_interval_s, ends the awaited uploads that expired. Returns how
 * many milliseconds may pass before it wants to be called again (-1:
 * never, when expire_interval_s is 0).
 */
int bp_app_maintain(struct bp_ctx *ctx);

/* Forgets what the previous request left in ctx (caller, route). */
void bp_app_request_reset(struct bp_ctx *ctx);

/* Routes req to its handler and fills res (initialized by the caller). */
void bp_app_handle(struct bp_ctx *ctx, const struct bp_request *req,
                   struct bp_response *res);

#endif
