/*
 * direct_upload.c: pending image records for uploads that go straight
 * to the blob store, the URLs clients PUT their files to, completing a
 * received upload and expiring those that never arrive.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/direct_upload.h"
#include "api/image_files.h"
#include "api/ingest.h"
#include "api/unique_name.h"
#include "api/upload.h"
#include "blob/upload_token.h"
#include "log.h"
#include "model/timeutil.h"

/* The longest Host header used in a local upload URL. */
#define MAX_HOST_LEN 255

static const struct {
    const char *extension;
    const char *type;
} upload_types[] = {
    {".jpg", "image/jpeg"},  {".jpeg", "image/jpeg"}, {".jpe", "image/jpeg"},
    {".png", "image/png"},   {".webp", "image/webp"}, {".tif", "image/tiff"},
    {".tiff", "image/tiff"}, {".heic", "image/heic"}, {".heif", "image/heif"},
};

const char *bp_direct_upload_type(const char *filename)
{
    const char *dot = strrchr(filename, '.');
    if (dot == NULL || dot == filename)
        return NULL;
    for (size_t i = 0; i < sizeof(upload_types) / sizeof(upload_types[0]); i++)
        if (strcasecmp(dot, upload_types[i].extension) == 0)
            return upload_types[i].type;
    return NULL;
}

enum bp_rc bp_direct_upload_names_read(struct json_object *value,
                                       long max_files,
                                       struct bp_direct_upload_names *out,
                                       struct bp_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!json_object_is_type(value, json_type_array))
        return bp_error_set(err, BP_EINVAL,
                            "images must be a list of file names");
    size_t n = json_object_array_length(value);
    if (n == 0)
        return bp_error_set(err, BP_EINVAL, "images must not be empty");
    if (n > (size_t)max_files)
        return bp_error_set(err, BP_ETOOBIG,
                            "Too many images (limit %ld per request)",
                            max_files);
    out->names = calloc(n, sizeof(*out->names));
    if (out->names == NULL)
        return BP_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        struct json_object *item = json_object_array_get_idx(value, i);
        const char *raw = json_object_get_string(item);
        if (!json_object_is_type(item, json_type_string) || raw[0] == '\0' ||
            strlen(raw) > BP_FILENAME_MAX)
            return bp_error_set(err, BP_EINVAL,
                                "images[%zu] must be a file name of 1 to %d "
                                "bytes",
                                i, BP_FILENAME_MAX);
        bp_filename_sanitize(raw, "image", out->names[i]);
        out->count = i + 1;
        if (bp_direct_upload_type(out->names[i]) == NULL)
            return bp_error_set(err, BP_EUNSUPPORTED,
                                "%s: not a supported image type (expected "
                                ".jpg, .jpeg, .png, .webp, .tif, .tiff, "
                                ".heic or .heif)",
                                out->names[i]);
    }
    return BP_OK;
}

void bp_direct_upload_names_free(struct bp_direct_upload_names *names)
{
    if (names == NULL)
        return;
    free(names->names);
    memset(names, 0, sizeof(*names));
}

/*
 * Gives pending image i of images (its file name and the awaited one) a
 * name no other image of its group has, nor any before it in images.
 */
static enum bp_rc name_uniquely(struct bp_store *store,
                                struct bp_image_list *images, size_t i,
                                const char *exclude_id, struct bp_error *err)
{
    struct bp_image *image = &images->items[i];
    char *name = NULL, *copy = NULL;
    enum bp_rc rc = bp_unique_image_name(store, images->items, i, true,
                                         exclude_id, &name, err);
    if (rc == BP_OK && (copy = strdup(name)) == NULL)
        rc = BP_ENOMEM;
    if (rc != BP_OK) {
        free(name);
        return rc;
    }
    free(image->upload_filename);
    image->upload_filename = name;
    if (!bp_image_has_file(image)) {
        free(image->filename);
        image->filename = copy;
    } else {
        free(copy);
    }
    return BP_OK;
}

/* Fills image as a new record awaiting the upload of filename. */
static enum bp_rc pending_record(const struct bp_ctx *ctx, const char *filename,
                                 const char *group, int64_t now,
                                 struct bp_image *image)
{
    bp_id_new(image->id);
    if (group != NULL)
        snprintf(image->group, sizeof(image->group), "%s", group);
    memcpy(image->owner, ctx->principal.id, sizeof(image->owner));
    image->filename = strdup(filename);
    image->content_type = strdup(bp_direct_upload_type(filename));
    image->data_json = strdup("{}");
    image->upload_filename = strdup(filename);
    if (image->filename == NULL || image->content_type == NULL ||
        image->data_json == NULL || image->upload_filename == NULL)
        return BP_ENOMEM;
    image->created_at = now;
    image->updated_at = now;
    image->upload_expires_at = now + ctx->config->upload_expires_s * 1000;
    return BP_OK;
}

enum bp_rc bp_direct_upload_records(const struct bp_ctx *ctx,
                                    const struct bp_direct_upload_names *names,
                                    const char *group, int64_t now,
                                    struct bp_image_list *out)
{
    for (size_t i = 0; i < names->count; i++) {
        struct bp_image *image = bp_image_list_add(out);
        if (image == NULL)
            return BP_ENOMEM;
        enum bp_rc rc = pending_record(ctx, names->names[i], group, now, image);
        if (rc != BP_OK)
            return rc;
    }
    out->total = (long long)out->count;
    return BP_OK;
}

/*
 * Returns true when host is a plausible Host header: a name or IPv4
 * address of letters, digits, '.' and '-', or a bracketed IPv6 address,
 * then an optional ":port".
 */
static bool host_valid(const char *host)
{
    size_t len = strlen(host);
    if (len == 0 || len > MAX_HOST_LEN)
        return false;
    const char *port;
    if (host[0] == '[') {
        const char *close = strchr(host, ']');
        if (close == NULL || close == host + 1 ||
            strspn(host + 1, "0123456789abcdefABCDEF:.") !=
                (size_t)(close - host - 1))
            return false;
        port = close + 1;
    } else {
        size_t name = strspn(host, "abcdefghijklmnopqrstuvwxyz"
                                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-");
        if (name == 0 || host[0] == '-' || host[0] == '.')
            return false;
        port = host + name;
    }
    if (*port == '\0')
        return true;
    size_t digits = strspn(port + 1, "0123456789");
    return port[0] == ':' && digits >= 1 && digits <= 5 &&
           port[1 + digits] == '\0';
}

/*
 * Appends this API's base URL to url: api_base_url when configured
 * (without a trailing '/'; it names the mount point itself), else the
 * request's scheme, Host and mount point.
 */
static enum bp_rc api_base(const struct bp_ctx *ctx,
                           const struct bp_request *req, struct bp_buf *url,
                           struct bp_error *err)
{
    const char *base = ctx->config->api_base_url;
    if (base[0] != '\0') {
        size_t len = strlen(base);
        while (len > 0 && base[len - 1] == '/')
            len--;
        return bp_buf_append(url, base, len);
    }
    const char *host = bp_request_param(req, "HTTP_HOST");
    if (host == NULL || !host_valid(host))
        return bp_error_set(err, BP_EINVAL,
                            "A valid Host header is needed to form upload "
                            "URLs");
    const char *https = bp_request_param(req, "HTTPS");
    const char *scheme = bp_request_param(req, "REQUEST_SCHEME");
    bool secure = (https != NULL && strcasecmp(https, "on") == 0) ||
                  (scheme != NULL && strcmp(scheme, "https") == 0);
    enum bp_rc rc =
        bp_buf_printf(url, "%s://%s", secure ? "https" : "http", host);
    /* nginx passes the Host without its port ($host): add the port the
     * request came in on, unless it is the scheme's own. */
    const char *port = bp_request_param(req, "SERVER_PORT");
    const char *bracket = strchr(host, ']');
    bool has_port = strchr(bracket != NULL ? bracket : host, ':') != NULL;
    if (rc == BP_OK && !has_port && port != NULL && port[0] != '\0' &&
        strspn(port, "0123456789") == strlen(port) && strlen(port) <= 5 &&
        strcmp(port, secure ? "443" : "80") != 0)
        rc = bp_buf_printf(url, ":%s", port);
    if (rc == BP_OK)
        rc = bp_buf_printf(url, "%s", req->base);
    return rc;
}

/* Appends to url where the file of the awaited image is to be PUT. */
static enum bp_rc upload_url(struct bp_ctx *ctx, const struct bp_request *req,
                             const struct bp_image *image, struct bp_buf *url,
                             struct bp_error *err)
{
    const char *type = bp_direct_upload_type(image->upload_filename);
    char key[BP_IMAGE_KEY_LEN];
    bp_image_incoming_key(image, key);
    int64_t left_ms = image->upload_expires_at - bp_time_now_ms();
    long expires_s = left_ms > 1000 ? (long)(left_ms / 1000) : 1;
    struct bp_error why = {{0}};
    enum bp_rc rc =
        bp_blob_presign_put(ctx->blobs, key, type, expires_s, url, &why);
    if (rc != BP_EUNSUPPORTED)
        return rc == BP_OK ? rc
                           : bp_error_set(err, BP_EINTERNAL,
                                          "cannot presign: %s", why.detail);
    /* The local store: this API receives the file itself. */
    rc = api_base(ctx, req, url, err);
    if (rc == BP_OK)
        rc = bp_buf_printf(url, "/uploads/");
    if (rc == BP_OK &&
        bp_upload_token_make(ctx->upload_secret, ctx->upload_secret_len,
                             image->id, image->upload_expires_at, url) != BP_OK)
        rc = bp_error_set(err, BP_EINTERNAL, "cannot sign an upload URL");
    return rc;
}

enum bp_rc bp_direct_upload_items(struct bp_ctx *ctx,
                                  const struct bp_request *req,
                                  const struct bp_image_list *list,
                                  struct json_object **out,
                                  struct bp_error *err)
{
    struct json_object *items = json_object_new_array();
    struct bp_buf url;
    bp_buf_init(&url, 8192);
    enum bp_rc rc = items == NULL ? BP_ENOMEM : BP_OK;
    for (size_t i = 0; rc == BP_OK && i < list->count; i++) {
        const struct bp_image *image = &list->items[i];
        bp_buf_reset(&url);
        rc = upload_url(ctx, req, image, &url, err);
        if (rc != BP_OK)
            break;
        struct json_object *item = json_object_new_object();
        if (item == NULL || json_object_array_add(items, item) != 0) {
            json_object_put(item);
            rc = BP_ENOMEM;
            break;
        }
        json_object_object_add(item, "id", json_object_new_string(image->id));
        json_object_object_add(item, "filename",
                               json_object_new_string(image->upload_filename));
        json_object_object_add(item, "presigned_url",
                               json_object_new_string(url.data));
        json_object_object_add(item, "type",
                               json_object_new_string(bp_direct_upload_type(
                                   image->upload_filename)));
    }
    bp_buf_free(&url);
    if (rc != BP_OK) {
        json_object_put(items);
        return rc;
    }
    *out = items;
    return BP_OK;
}

/* Returns {"<list_key>": items, "group_id", "name"} of group, or NULL. */
static struct json_object *answer(const char *list_key,
                                  struct json_object *items,
                                  const struct bp_group *group)
{
    struct json_object *out = json_object_new_object();
    if (out == NULL)
        return NULL;
    json_object_object_add(out, list_key, json_object_get(items));
    json_object_object_add(out, "group_id", json_object_new_string(group->id));
    json_object_object_add(out, "name", json_object_new_string(group->name));
    return out;
}

enum bp_rc bp_direct_upload_start(
    struct bp_ctx *ctx, const struct bp_request *req, struct bp_store *store,
    const struct bp_group *group, bool group_is_new, struct json_object *names,
    const char *list_key, struct json_object **out, struct bp_error *err)
{
    struct bp_direct_upload_names list;
    struct bp_image_list images = {0};
    struct json_object *items = NULL;
    enum bp_rc rc =
        bp_direct_upload_names_read(names, ctx->config->max_files, &list, err);
    if (rc == BP_OK)
        rc = bp_direct_upload_records(ctx, &list, group->id, bp_time_now_ms(),
                                      &images);
    for (size_t i = 0; rc == BP_OK && i < images.count; i++)
        rc = name_uniquely(store, &images, i, NULL, err);
    /* URLs first: a request that cannot be answered stores nothing. */
    if (rc == BP_OK)
        rc = bp_direct_upload_items(ctx, req, &images, &items, err);
    if (rc == BP_OK)
        rc = bp_store_images_insert(store, group_is_new ? group : NULL,
                                    images.items, images.count, err);
    if (rc == BP_OK && (*out = answer(list_key, items, group)) == NULL)
        rc = BP_ENOMEM;
    json_object_put(items);
    bp_image_list_free(&images);
    bp_direct_upload_names_free(&list);
    return rc;
}

/*
 * Ends the wait for the upload that image awaits, which did not come: an
 * image that never had a file is deleted, a replacement is forgotten.
 * Both only while the image still awaits that very upload: BP_ECONFLICT
 * when another worker completed it, or a newer upload began, meanwhile.
 */
static enum bp_rc drop_upload(struct bp_ctx *ctx, struct bp_store *store,
                              const struct bp_image *image,
                              struct bp_error *err)
{
    struct bp_image gone;
    enum bp_rc rc;
    if (!bp_image_has_file(image)) {
        rc = bp_store_image_delete_awaiting(
            store, image->id, image->upload_expires_at, &gone, err);
    } else {
        struct bp_image_patch stop = {
            .set_upload = true,
            .if_upload = true,
            .if_upload_expires_at = image->upload_expires_at,
        };
        rc = bp_store_image_update(store, image->id, &stop, bp_time_now_ms(),
                                   &gone, err);
    }
    if (rc != BP_OK)
        return rc;
    bp_image_clear(&gone);
    /* Whatever a late client sent is no longer wanted. */
    char key[BP_IMAGE_KEY_LEN];
    bp_image_incoming_key(image, key);
    struct bp_error ignored;
    if (bp_blob_remove(ctx->blobs, key, &ignored) != BP_OK)
        bp_log_warn("orphan upload %s: %s", key, ignored.detail);
    return BP_OK;
}

/*
 * After another worker changed image while this one was completing or
 * dropping its upload: answers the image as it is now when that upload
 * was completed, else BP_ECONFLICT (a newer upload began) or
 * BP_ENOTFOUND (the image is gone).
 */
static enum bp_rc lost_race(struct bp_store *store,
                            const struct bp_image *image, struct bp_image *out,
                            struct bp_error *err)
{
    enum bp_rc rc = bp_store_image_get(store, image->id, out, err);
    if (rc != BP_OK)
        return rc;
    if (!bp_image_upload_awaited(out))
        return BP_OK;
    bp_image_clear(out);
    return bp_error_set(err, BP_ECONFLICT,
                        "A newer upload of image %s has begun", image->id);
}

/* Ends image's upload that never arrived, answering as complete would. */
static enum bp_rc nothing_arrived(struct bp_ctx *ctx, struct bp_store *store,
                                  const struct bp_image *image,
                                  struct bp_image *out, struct bp_error *err)
{
    if (image->upload_expires_at >= bp_time_now_ms())
        return bp_error_set(err, BP_ECONFLICT,
                            "The file of image %s has not been uploaded yet",
                            image->id);
    enum bp_rc rc = drop_upload(ctx, store, image, err);
    if (rc == BP_ECONFLICT)
        return lost_race(store, image, out, err);
    if (rc != BP_OK)
        return rc;
    return bp_error_set(err,
                        bp_image_has_file(image) ? BP_ECONFLICT : BP_ENOTFOUND,
                        "The upload URL of image %s expired before a file "
                        "arrived",
                        image->id);
}

enum bp_rc bp_direct_upload_complete(struct bp_ctx *ctx, struct bp_store *store,
                                     const struct bp_image *image,
                                     struct bp_image *out, struct bp_error *err)
{
    if (!bp_image_upload_awaited(image))
        return bp_error_set(err, BP_ECONFLICT,
                            "No upload is awaited for image %s", image->id);
    char key[BP_IMAGE_KEY_LEN];
    bp_image_incoming_key(image, key);
    struct bp_upload up;
    struct bp_ingest in = {0};
    struct bp_error why = {{0}};
    struct bp_upload_limits limits = bp_upload_limits_of(ctx->config);
    enum bp_rc rc = bp_upload_read_blob(ctx->blobs, key, &limits, ctx->tmp_dir,
                                        image->upload_filename, &up, &why);
    if (rc == BP_ENOTFOUND) {
        rc = nothing_arrived(ctx, store, image, out, err);
        goto out_free;
    }
    if (rc == BP_OK)
        rc = bp_ingest_prepare(ctx, &up, image->group, image->description,
                               bp_time_now_ms(), &in, &why);
    /* Only while the image still awaits this upload: two workers may
     * complete it at once, or a newer upload may have begun. */
    if (rc == BP_OK)
        rc = bp_ingest_replace(ctx, store, image->id, &up, &in,
                               image->upload_expires_at, out, &why);
    if (rc == BP_OK || rc == BP_ECONFLICT || rc == BP_EUNSUPPORTED ||
        rc == BP_EINVAL || rc == BP_ETOOBIG || rc == BP_EBADREQUEST) {
        /* Processed, superseded, or refused as a direct upload would
         * be: either way the received copy has served its purpose. */
        struct bp_error ignored;
        if (bp_blob_remove(ctx->blobs, key, &ignored) != BP_OK)
            bp_log_warn("orphan upload %s: %s", key, ignored.detail);
    }
    if (rc == BP_ECONFLICT)
        rc = lost_race(store, image, out, err);
    else if (rc != BP_OK)
        bp_error_set(err, rc, "%s",
                     why.detail[0] ? why.detail : bp_rc_name(rc));
out_free:
    bp_ingest_free(&in);
    bp_upload_free(&up);
    return rc;
}

/* Reports one action of an expiry pass. */
static void report(FILE *log, bool dry_run, const char *id, const char *what)
{
    if (log != NULL)
        fprintf(log, "bandpics: upload of image %s expired: %s%s\n", id,
                dry_run ? "would be " : "", what);
    else
        bp_log_info("upload of image %s expired: %s%s", id,
                    dry_run ? "would be " : "", what);
}

/* Ends the expired upload of image, counting what happened in sweep. */
static void expire_one(struct bp_ctx *ctx, struct bp_store *store,
                       const struct bp_image *image, bool dry_run, FILE *log,
                       struct bp_direct_upload_sweep *sweep)
{
    char key[BP_IMAGE_KEY_LEN];
    bp_image_incoming_key(image, key);
    struct bp_blob_entry entry;
    struct bp_error why = {{0}};
    enum bp_rc arrived = bp_blob_stat(ctx->blobs, key, &entry, &why);
    if (arrived == BP_OK) {
        struct bp_image done;
        enum bp_rc rc =
            dry_run ? BP_OK
                    : bp_direct_upload_complete(ctx, store, image, &done, &why);
        if (rc == BP_OK && !dry_run)
            bp_image_clear(&done);
        if (rc == BP_OK) {
            report(log, dry_run, image->id, "file arrived, completed");
            sweep->completed++;
            return;
        }
        if (rc == BP_ECONFLICT || rc == BP_ENOTFOUND)
            return; /* changed or deleted meanwhile: not ours to end */
        /* A file that was refused: the upload ends as if none came. */
        if (rc != BP_EUNSUPPORTED && rc != BP_EINVAL && rc != BP_ETOOBIG) {
            sweep->failed++;
            return;
        }
    } else if (arrived != BP_ENOTFOUND) {
        sweep->failed++;
        return;
    }
    bool had_file = bp_image_has_file(image);
    enum bp_rc rc = dry_run ? BP_OK : drop_upload(ctx, store, image, &why);
    if (rc == BP_ECONFLICT || rc == BP_ENOTFOUND)
        return; /* completed, uploading again or deleted, meanwhile */
    if (rc != BP_OK) {
        if (log != NULL)
            fprintf(log, "bandpics: image %s: %s\n", image->id, why.detail);
        else
            bp_log_warn("image %s: expiring its upload: %s", image->id,
                        why.detail);
        sweep->failed++;
        return;
    }
    report(log, dry_run, image->id,
           had_file ? "replacement forgotten" : "image deleted");
    if (had_file)
        sweep->reverted++;
    else
        sweep->dropped++;
}

enum bp_rc bp_direct_upload_expire(struct bp_ctx *ctx, struct bp_store *store,
                                   int64_t now, long limit, bool dry_run,
                                   FILE *log,
                                   struct bp_direct_upload_sweep *sweep,
                                   struct bp_error *err)
{
    memset(sweep, 0, sizeof(*sweep));
    struct bp_image_query query = {
        .has_upload_expired_before = true,
        .upload_expired_before_ms = now,
        .limit = limit,
    };
    struct bp_image_list list;
    enum bp_rc rc = bp_store_image_list(store, &query, &list, err);
    if (rc != BP_OK)
        return rc;
    for (size_t i = 0; i < list.count; i++)
        expire_one(ctx, store, &list.items[i], dry_run, log, sweep);
    bp_image_list_free(&list);
    return BP_OK;
}

enum bp_rc bp_direct_upload_settle(struct bp_ctx *ctx, struct bp_store *store,
                                   struct bp_image *image, struct bp_error *err)
{
    if (!bp_image_upload_awaited(image))
        return BP_OK;
    struct bp_image done;
    struct bp_error why = {{0}};
    enum bp_rc rc = bp_direct_upload_complete(ctx, store, image, &done, &why);
    if (rc == BP_OK) {
        bp_image_clear(image);
        *image = done;
    } else if (rc == BP_ENOTFOUND) {
        bp_image_clear(image);
        return bp_error_set(err, rc, "%s", why.detail);
    } else if (image->upload_expires_at < bp_time_now_ms() &&
               bp_image_has_file(image)) {
        free(image->upload_filename);
        image->upload_filename = NULL;
        image->upload_expires_at = 0;
    } else if (rc != BP_ECONFLICT) {
        bp_log_warn("image %s: upload not completed: %s", image->id,
                    why.detail);
    }
    return BP_OK;
}

enum bp_rc bp_direct_upload_settle_list(struct bp_ctx *ctx,
                                        struct bp_store *store,
                                        struct bp_image_list *list,
                                        size_t *budget, struct bp_error *err)
{
    /* Looking costs a stat of the received key; completing much more.
     * Only completions count against the budget, so uploads that never
     * come do not hold back the ones that did, and looks are capped. */
    size_t looks = 0, left = *budget;
    size_t i = 0;
    while (i < list->count && left > 0 && looks < 4 * *budget) {
        struct bp_image *image = &list->items[i];
        if (!bp_image_upload_awaited(image)) {
            i++;
            continue;
        }
        looks++;
        struct bp_error why = {{0}};
        enum bp_rc rc = bp_direct_upload_settle(ctx, store, image, &why);
        if (rc == BP_ENOTFOUND) {
            /* Expired and dropped meanwhile: no longer in the list. */
            memmove(image, image + 1, (list->count - i - 1) * sizeof(*image));
            list->count--;
            if (list->total > 0)
                list->total--;
            continue;
        }
        if (rc != BP_OK)
            return bp_error_set(err, rc, "%s", why.detail);
        if (!bp_image_upload_awaited(image))
            left--; /* completed */
        i++;
    }
    *budget = left;
    return BP_OK;
}
