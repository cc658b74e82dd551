/*
 * handlers_uploads.c: the ends of an upload sent straight to storage:
 * receiving the file at a signed local URL (PUT /uploads/<token>, the
 * local store's stand-in for an S3 presigned URL, which also completes
 * the upload before it answers) and completing an upload explicitly
 * (POST /images/{id}/complete, which S3 uploads need).
 */
#include <stdio.h>
#include <string.h>

#include "api/auth.h"
#include "api/direct_upload.h"
#include "api/handlers.h"
#include "api/image_files.h"
#include "api/privacy.h"
#include "api/upload.h"
#include "blob/upload_token.h"
#include "model/image_json.h"
#include "model/timeutil.h"

/*
 * Checks that image awaits the upload that expires at expires_ms, the
 * one the URL was signed for.
 */
static enum bp_rc check_awaited(const struct bp_image *image,
                                int64_t expires_ms, struct bp_error *err)
{
    if (!bp_image_upload_awaited(image))
        return bp_error_set(err, BP_ECONFLICT,
                            "No upload is awaited for image %s", image->id);
    if (image->upload_expires_at != expires_ms)
        return bp_error_set(err, BP_EFORBIDDEN,
                            "This upload URL was replaced by a newer one");
    return BP_OK;
}

enum bp_rc bp_handle_upload_put(struct bp_ctx *ctx,
                                const struct bp_request *req,
                                const struct bp_route_match *match,
                                struct bp_response *res, struct bp_error *err)
{
    char id[BP_ID_LEN + 1];
    int64_t expires_ms;
    struct bp_store *store;
    struct bp_image image = {0}, now = {0};
    struct bp_upload up = {0};
    char key[BP_IMAGE_KEY_LEN];
    enum bp_rc rc = bp_upload_token_verify(
        ctx->upload_secret, ctx->upload_secret_len, match->captures[0],
        bp_time_now_ms(), id, &expires_ms, err);
    if (rc == BP_OK)
        rc = bp_app_store(ctx, &store, err);
    if (rc == BP_OK)
        rc = bp_store_image_get(store, id, &image, err);
    if (rc == BP_OK)
        rc = check_awaited(&image, expires_ms, err);
    if (rc != BP_OK)
        goto out_clear;
    /* S3 refuses a body whose type differs from the signed one. */
    const char *type = bp_direct_upload_type(image.upload_filename);
    if (!bp_media_type_is(req->content_type, type)) {
        rc = bp_error_set(err, BP_EFORBIDDEN,
                          "Content-Type must be %s, as the upload URL was "
                          "signed for",
                          type);
        goto out_clear;
    }
    struct bp_upload_limits limits = bp_upload_limits_of(ctx->config);
    rc = bp_upload_read_raw(req, &limits, ctx->tmp_dir, image.upload_filename,
                            &up, err);
    bp_image_incoming_key(&image, key);
    if (rc == BP_OK)
        rc = bp_blob_put_file(ctx->blobs, key, up.files[0].path, type, err);
    if (rc != BP_OK)
        goto out_clear;
    /* A slow upload may have been overtaken (completed without it,
     * expired, replaced): then nobody will ever read it. */
    rc = bp_store_image_get(store, id, &now, err);
    if (rc == BP_OK)
        rc = check_awaited(&now, expires_ms, err);
    if (rc != BP_OK) {
        struct bp_error ignored;
        bp_blob_remove(ctx->blobs, key, &ignored);
        goto out_clear;
    }
    /* The file is processed now, as POST /images/{id}/complete would:
     * a client that only PUTs (the web client) then reads it ready. */
    struct bp_image done;
    rc = bp_direct_upload_complete(ctx, store, &now, &done, err);
    if (rc == BP_ECONFLICT) {
        /* Completed by another request meanwhile: answer what it is. */
        rc = bp_store_image_get(store, id, &done, err);
    }
    if (rc != BP_OK)
        goto out_clear;
    bp_handler_log_change(ctx, req, "updated", "image", done.id);
    /* The URL is the caller's only credential: it sees what anyone may. */
    struct json_object *obj = bp_image_to_json(&done, req->base);
    if (obj != NULL)
        rc = bp_privacy_apply_image(ctx, store, &done, obj, err);
    if (rc == BP_OK)
        rc = bp_handler_send_json(res, 200, obj);
    else
        json_object_put(obj);
    bp_image_clear(&done);
    if (rc == BP_OK)
        rc = bp_response_header(res, "ETag", "\"%s\"", up.files[0].sha256);
out_clear:
    bp_upload_free(&up);
    bp_image_clear(&now);
    bp_image_clear(&image);
    return rc;
}

enum bp_rc bp_handle_image_complete(struct bp_ctx *ctx,
                                    const struct bp_request *req,
                                    const struct bp_route_match *match,
                                    struct bp_response *res,
                                    struct bp_error *err)
{
    char id[BP_ID_LEN + 1];
    struct bp_store *store;
    struct bp_image image, done;
    enum bp_rc rc = bp_handler_path_id(match, 0, id, err);
    if (rc == BP_OK)
        rc = bp_app_store(ctx, &store, err);
    if (rc == BP_OK)
        rc = bp_store_image_get(store, id, &image, err);
    if (rc != BP_OK)
        return rc;
    rc = bp_auth_may_change_image(ctx, &image, err);
    if (rc != BP_OK) {
        bp_image_clear(&image);
        return rc;
    }
    /* Completing again (or an image uploaded directly) answers the
     * image as it is. */
    if (bp_image_upload_awaited(&image)) {
        rc = bp_direct_upload_complete(ctx, store, &image, &done, err);
        bp_image_clear(&image);
        if (rc != BP_OK)
            return rc;
        image = done;
        bp_handler_log_change(ctx, req, "updated", "image", image.id);
    }
    rc = bp_handler_send_json(res, 200, bp_image_to_json(&image, req->base));
    bp_image_clear(&image);
    return rc;
}
