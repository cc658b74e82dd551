/*
 * ingest.c: validating, describing and storing a batch of uploaded
 * images, all-or-nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/image_files.h"
#include "api/ingest.h"
#include "api/unique_name.h"
#include "log.h"
#include "media/gps_strip.h"
#include "media/image_child.h"
#include "media/image_proc.h"
#include "media/image_sniff.h"
#include "model/image_json.h"
#include "model/timeutil.h"
#include "crash_point.h"
#include "temp_files.h"

/* Returns a new temporary path "<tmp_dir>/p<pid>-<id>-<what>.jpg". */
static char *render_path(const struct bp_ctx *ctx, const char *id,
                         const char *what)
{
    struct bp_buf path;
    char owner[32];
    bp_temp_prefix(owner, sizeof(owner));
    bp_buf_init(&path, 4096);
    if (bp_buf_printf(&path, "%s/%s%s-%s.jpg", ctx->tmp_dir, owner, id, what) !=
        BP_OK) {
        bp_buf_free(&path);
        return NULL;
    }
    return path.data;
}

/* Fills image from what processing found out about the file. */
static enum bp_rc describe(struct bp_image *image,
                           const struct bp_upload_file *file,
                           const struct bp_image_meta *meta)
{
    const struct bp_exif_info *exif = meta->has_exif ? &meta->exif : NULL;
    image->filename = strdup(file->filename);
    image->content_type = strdup(bp_image_mime_type(meta->format));
    image->data_json = bp_image_data_json(exif);
    if (image->filename == NULL || image->content_type == NULL ||
        image->data_json == NULL)
        return BP_ENOMEM;
    image->size = file->size;
    memcpy(image->sha256, file->sha256, sizeof(image->sha256));
    image->width = meta->width;
    image->height = meta->height;
    image->taken_at[0] = '\0';
    if (exif != NULL) {
        bp_exif_taken_at(exif, image->taken_at);
        image->has_position = exif->coords.has_position;
        image->latitude = exif->coords.latitude;
        image->longitude = exif->coords.longitude;
    }
    image->has_taken_at_ms =
        image->taken_at[0] != '\0' &&
        bp_time_parse_iso(image->taken_at, &image->taken_at_ms) == BP_OK;
    return BP_OK;
}

/*
 * Makes the copy of file without GPS data that callers who do not own
 * the image get, into *path (a new temporary file the caller frees and
 * unlinks). *path stays NULL when the file has no GPS data to remove
 * (they get the original); when it cannot be removed losslessly the copy
 * is empty, which refuses them the original. Only running out of memory
 * or of disk fails.
 */
static enum bp_rc copy_without_location(struct bp_ctx *ctx, const char *id,
                                        const struct bp_upload_file *file,
                                        enum bp_image_format format,
                                        char **path)
{
    *path = render_path(ctx, id, "public");
    if (*path == NULL)
        return BP_ENOMEM;
    struct bp_gps_strip_report report;
    struct bp_error why = {{0}};
    enum bp_rc rc =
        bp_gps_strip_file(file->path, *path, format, 0, &report, &why);
    if (rc == BP_OK && report.gps_ifds + report.xmp_properties > 0)
        return BP_OK;
    if (rc == BP_OK || rc == BP_ENOMEM) {
        unlink(*path);
        free(*path);
        *path = NULL;
        return rc;
    }
    bp_log_info("image %s: GPS data not removable (%s)", id,
                why.detail[0] ? why.detail : bp_rc_name(rc));
    /* The copy's place holds nothing: it refuses the original. */
    int fd = open(*path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || close(fd) != 0) {
        enum bp_rc failed = bp_rc_for_write_errno(errno, BP_EIO);
        free(*path);
        *path = NULL;
        return failed;
    }
    return BP_OK;
}

enum bp_rc bp_ingest_prepare(struct bp_ctx *ctx, const struct bp_upload *up,
                             const char *group, const char *description,
                             int64_t now, struct bp_ingest *out,
                             struct bp_error *err)
{
    memset(out, 0, sizeof(*out));
    size_t n = up->nfiles;
    out->images = calloc(n == 0 ? 1 : n, sizeof(*out->images));
    out->fullsize_paths = calloc(n == 0 ? 1 : n, sizeof(char *));
    out->thumb_paths = calloc(n == 0 ? 1 : n, sizeof(char *));
    out->locationless_paths = calloc(n == 0 ? 1 : n, sizeof(char *));
    if (out->images == NULL || out->fullsize_paths == NULL ||
        out->thumb_paths == NULL || out->locationless_paths == NULL)
        return BP_ENOMEM;
    struct bp_image_limits limits = bp_app_image_limits(ctx);
    /* Decoding happens in a child: a crash, a runaway or a hang there is
     * a 4xx for this request, not the end of the worker. */
    struct bp_image_child_limits child_limits = {
        .tmp_dir = ctx->tmp_dir,
        .memory_bytes = ctx->config->decode_memory_bytes,
        .cpu_s = ctx->config->decode_timeout_s,
        .wall_s = ctx->config->decode_timeout_s,
    };
    if (n > 0)
        bp_app_imaging_setup(ctx);
    for (size_t i = 0; i < n; i++) {
        const struct bp_upload_file *file = &up->files[i];
        struct bp_image *image = &out->images[i];
        out->count = i + 1;
        bp_id_new(image->id);
        if (group != NULL)
            snprintf(image->group, sizeof(image->group), "%s", group);
        memcpy(image->owner, ctx->principal.id, sizeof(image->owner));
        image->created_at = now;
        image->updated_at = now;
        if (description != NULL &&
            (image->description = strdup(description)) == NULL)
            return BP_ENOMEM;
        out->fullsize_paths[i] = render_path(ctx, image->id, "fullsize");
        out->thumb_paths[i] = render_path(ctx, image->id, "thumb");
        if (out->fullsize_paths[i] == NULL || out->thumb_paths[i] == NULL)
            return BP_ENOMEM;
        struct bp_image_meta meta;
        struct bp_error why = {{0}};
        enum bp_rc rc =
            ctx->config->decode_in_child
                ? bp_image_process_in_child(
                      &ctx->decoder, file->path, &limits, &child_limits,
                      out->fullsize_paths[i], out->thumb_paths[i], &meta, &why)
                : bp_image_process(file->path, &limits, out->fullsize_paths[i],
                                   out->thumb_paths[i], &meta, &why);
        if (rc != BP_OK)
            return bp_error_set(err, rc, "%s: %s", file->filename,
                                why.detail[0] ? why.detail : bp_rc_name(rc));
        rc = describe(image, file, &meta);
        if (rc == BP_OK)
            rc = copy_without_location(ctx, image->id, file, meta.format,
                                       &out->locationless_paths[i]);
        if (rc != BP_OK)
            return rc;
    }
    return BP_OK;
}

/*
 * Puts the original and the gallery sizes of every prepared image in the
 * blob store: all of them, or none on failure.
 */
static enum bp_rc store_files(struct bp_ctx *ctx, const struct bp_upload *up,
                              struct bp_ingest *in, struct bp_error *err)
{
    for (size_t i = 0; i < in->count; i++) {
        enum bp_rc rc =
            bp_image_files_put(ctx->blobs, &in->images[i], up->files[i].path,
                               in->fullsize_paths[i], in->thumb_paths[i],
                               in->locationless_paths[i], err);
        if (rc != BP_OK) {
            for (size_t k = 0; k < i; k++)
                bp_image_files_remove(ctx->blobs, &in->images[k], NULL);
            return rc;
        }
        if (in->count > 1)
            bp_crash_point("batch:one-stored");
    }
    in->files_stored = 1;
    return BP_OK;
}

void bp_ingest_discard_files(struct bp_ctx *ctx, struct bp_ingest *in)
{
    if (!in->files_stored)
        return;
    for (size_t i = 0; i < in->count; i++) {
        struct bp_error err = {{0}};
        if (bp_image_files_remove(ctx->blobs, &in->images[i], &err) != BP_OK)
            bp_log_warn("orphan files of image %s: %s", in->images[i].id,
                        err.detail);
    }
    in->files_stored = 0;
}

/*
 * Gives image i of in a file name that no other image of its group has
 * (and none of the images before it in in), excluding exclude_id.
 */
static enum bp_rc name_uniquely(struct bp_store *store, struct bp_ingest *in,
                                size_t i, const char *exclude_id,
                                struct bp_error *err)
{
    struct bp_image *image = &in->images[i];
    char *name = NULL;
    enum bp_rc rc = bp_unique_image_name(store, in->images, i, false,
                                         exclude_id, &name, err);
    if (rc != BP_OK)
        return rc;
    free(image->filename);
    image->filename = name;
    return BP_OK;
}

enum bp_rc bp_ingest_commit(struct bp_ctx *ctx, struct bp_store *store,
                            const struct bp_upload *up,
                            const struct bp_group *new_group,
                            struct bp_ingest *in, struct bp_error *err)
{
    enum bp_rc rc = BP_OK;
    for (size_t i = 0; i < in->count && rc == BP_OK; i++)
        rc = name_uniquely(store, in, i, NULL, err);
    if (rc == BP_OK)
        rc = store_files(ctx, up, in, err);
    if (rc != BP_OK)
        return rc;
    bp_crash_point("create:stored");
    rc = bp_store_images_insert(store, new_group, in->images, in->count, err);
    if (rc != BP_OK)
        bp_ingest_discard_files(ctx, in);
    return rc;
}

enum bp_rc bp_ingest_replace(struct bp_ctx *ctx, struct bp_store *store,
                             const char *id, const struct bp_upload *up,
                             struct bp_ingest *in, int64_t if_upload_expires_at,
                             struct bp_image *out, struct bp_error *err)
{
    /* New files go to staging keys of this attempt, the record changes,
     * then the files move over the image's own: a failure before the
     * move changes nothing, and readers never see a record and files
     * that disagree for longer than the moves take. */
    struct bp_image *image = &in->images[0];
    memcpy(image->id, id, sizeof(image->id));
    image->upload_expires_at = if_upload_expires_at;
    char attempt[BP_ID_LEN + 1];
    bp_id_new(attempt);
    enum bp_rc rc = name_uniquely(store, in, 0, id, err);
    if (rc != BP_OK)
        return rc;
    rc = bp_image_files_stage(ctx->blobs, image, attempt, up->files[0].path,
                              in->fullsize_paths[0], in->thumb_paths[0],
                              in->locationless_paths[0], err);
    if (rc != BP_OK)
        return rc;
    bp_crash_point("replace:staged");
    rc = bp_store_image_replace_file(store, image, bp_time_now_ms(), out, err);
    if (rc != BP_OK) {
        bp_image_files_unstage(ctx->blobs, id, attempt);
        return rc;
    }
    bp_crash_point("replace:recorded");
    struct bp_error why = {{0}};
    bool locationless = in->locationless_paths[0] != NULL;
    rc = bp_image_files_promote(ctx->blobs, id, attempt, locationless, &why);
    if (rc != BP_OK)
        rc =
            bp_image_files_promote(ctx->blobs, id, attempt, locationless, &why);
    if (rc != BP_OK) {
        /* The record is saved; its files wait under the staging keys,
         * where the orphan sweep finishes the move. */
        bp_log_error("image %s: new files not in place: %s", id, why.detail);
        bp_image_clear(out);
        return bp_error_set(err, BP_EUNAVAILABLE,
                            "Image %s is saved but storage failed while its "
                            "files were moved into place: %s",
                            id, why.detail);
    }
    /* Deleted while the files moved? Then they belong to nobody. */
    struct bp_image now;
    rc = bp_store_image_get(store, id, &now, err);
    if (rc == BP_OK) {
        bp_image_clear(&now);
    } else if (rc == BP_ENOTFOUND) {
        bp_image_files_remove(ctx->blobs, out, &why);
        bp_image_clear(out);
    } else {
        rc = BP_OK; /* the record said ready a moment ago */
    }
    return rc;
}

void bp_ingest_free(struct bp_ingest *in)
{
    if (in == NULL)
        return;
    for (size_t i = 0; i < in->count; i++) {
        bp_image_clear(&in->images[i]);
        if (in->fullsize_paths[i] != NULL)
            unlink(in->fullsize_paths[i]);
        if (in->thumb_paths[i] != NULL)
            unlink(in->thumb_paths[i]);
        if (in->locationless_paths[i] != NULL)
            unlink(in->locationless_paths[i]);
        free(in->fullsize_paths[i]);
        free(in->thumb_paths[i]);
        free(in->locationless_paths[i]);
    }
    free(in->images);
    free(in->fullsize_paths);
    free(in->thumb_paths);
    free(in->locationless_paths);
    memset(in, 0, sizeof(*in));
}
