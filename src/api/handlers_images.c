/*
 * handlers_images.c: the image resource: uploads (to a group, or one
 * image with its fields, or a raw image body), upload URLs for files
 * sent straight to storage, listing with capture time and place
 * filters, reading (completing an arrived upload on the way), metadata
 * and file updates, delete, and the image files themselves.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "api/auth.h"
#include "api/direct_upload.h"
#include "api/handlers.h"
#include "api/image_files.h"
#include "api/ingest.h"
#include "api/privacy.h"
#include "api/unique_name.h"
#include "api/upload.h"
#include "crash_point.h"
#include "http/json_body.h"
#include "http/query.h"
#include "http/urldecode.h"
#include "log.h"
#include "model/image_json.h"
#include "model/timeutil.h"

/* The metres of half the Earth's circumference: the largest radius. */
#define MAX_RADIUS_M 20037509.0

/* Reads the query parameter name as text into value; *found says if set. */
static enum bp_rc query_text(const struct bp_request *req, const char *name,
                             struct bp_buf *value, bool *found,
                             struct bp_error *err)
{
    bp_buf_reset(value);
    return bp_query_get(req->query, name, value, found, err);
}

/* Parses exactly count comma-separated finite numbers from text. */
static int parse_numbers(const char *text, double *out, int count)
{
    const char *p = text;
    for (int i = 0; i < count; i++) {
        char *end;
        out[i] = strtod(p, &end);
        if (end == p || !isfinite(out[i]) || *p == ' ')
            return -1;
        if (i + 1 < count && *end != ',')
            return -1;
        p = end + (i + 1 < count);
        if (i + 1 == count && *end != '\0')
            return -1;
    }
    return 0;
}

static enum bp_rc read_time_bound(const struct bp_request *req,
                                  const char *name, struct bp_buf *text,
                                  bool *has, int64_t *ms, struct bp_error *err)
{
    enum bp_rc rc = query_text(req, name, text, has, err);
    if (rc == BP_OK && *has && bp_time_parse_iso(text->data, ms) != BP_OK)
        rc = bp_error_set(err, BP_EINVAL,
                          "Query parameter '%s' must be an ISO 8601 date or "
                          "date-time",
                          name);
    return rc;
}

static enum bp_rc read_bbox(const struct bp_request *req, struct bp_buf *text,
                            struct bp_image_query *q, struct bp_error *err)
{
    enum bp_rc rc = query_text(req, "bbox", text, &q->has_bbox, err);
    if (rc != BP_OK || !q->has_bbox)
        return rc;
    double v[4];
    if (parse_numbers(text->data, v, 4) != 0 || fabs(v[0]) > 180 ||
        fabs(v[2]) > 180 || fabs(v[1]) > 90 || fabs(v[3]) > 90 || v[1] > v[3])
        return bp_error_set(err, BP_EINVAL,
                            "bbox must be minLon,minLat,maxLon,maxLat in "
                            "degrees");
    q->min_lon = v[0];
    q->min_lat = v[1];
    q->max_lon = v[2];
    q->max_lat = v[3];
    return BP_OK;
}

static enum bp_rc read_near(const struct bp_request *req, struct bp_buf *text,
                            struct bp_image_query *q, struct bp_error *err)
{
    enum bp_rc rc = query_text(req, "near", text, &q->has_near, err);
    if (rc != BP_OK || !q->has_near)
        return rc;
    double v[2];
    if (parse_numbers(text->data, v, 2) != 0 || fabs(v[0]) > 90 ||
        fabs(v[1]) > 180)
        return bp_error_set(err, BP_EINVAL, "near must be lat,lon in degrees");
    q->near_lat = v[0];
    q->near_lon = v[1];
    bool has_radius;
    rc = query_text(req, "radius", text, &has_radius, err);
    if (rc != BP_OK)
        return rc;
    if (!has_radius || parse_numbers(text->data, &q->radius_m, 1) != 0 ||
        q->radius_m <= 0 || q->radius_m > MAX_RADIUS_M)
        return bp_error_set(err, BP_EINVAL,
                            "near needs radius, in metres, above 0");
    return BP_OK;
}

/* Reads the filters and paging of GET /images into q (group into id). */
static enum bp_rc read_image_query(const struct bp_ctx *ctx,
                                   const struct bp_request *req,
                                   struct bp_image_query *q,
                                   char group[BP_ID_LEN + 1],
                                   struct bp_error *err)
{
    memset(q, 0, sizeof(*q));
    q->limit = ctx->config->list_default_limit;
    struct bp_buf text;
    bp_buf_init(&text, 256);
    bool found;
    enum bp_rc rc = bp_query_get_long(
        req->query, "limit", 1, ctx->config->list_max_limit, &q->limit, err);
    if (rc == BP_OK)
        rc = bp_query_get_long(req->query, "offset", 0, 1L << 40, &q->offset,
                               err);
    if (rc == BP_OK)
        rc = query_text(req, "group", &text, &found, err);
    if (rc == BP_OK && found) {
        if (bp_id_parse(text.data, group))
            q->group = group;
        else
            rc = bp_error_set(err, BP_EINVAL,
                              "Query parameter 'group' must be a "
                              "24-character hex id");
    }
    if (rc == BP_OK)
        rc = read_time_bound(req, "taken_after", &text, &q->has_taken_after,
                             &q->taken_after_ms, err);
    if (rc == BP_OK)
        rc = read_time_bound(req, "taken_before", &text, &q->has_taken_before,
                             &q->taken_before_ms, err);
    if (rc == BP_OK)
        rc = read_bbox(req, &text, q, err);
    if (rc == BP_OK)
        rc = read_near(req, &text, q, err);
    bp_buf_free(&text);
    return rc;
}

enum bp_rc bp_handle_image_list(struct bp_ctx *ctx,
                                const struct bp_request *req,
                                const struct bp_route_match *match,
                                struct bp_response *res, struct bp_error *err)
{
    struct bp_image_query query;
    char group[BP_ID_LEN + 1];
    struct bp_store *store;
    enum bp_rc rc = read_image_query(ctx, req, &query, group, err);
    if (rc == BP_OK)
        rc = bp_app_store(ctx, &store, err);
    if (rc != BP_OK)
        return rc;
    bp_privacy_scope_query(ctx, &query);
    struct bp_image_list list;
    rc = bp_store_image_list(store, &query, &list, err);
    if (rc != BP_OK)
        return rc;
    struct json_object *array = bp_image_list_to_json(&list, req->base);
    if (array != NULL)
        rc = bp_privacy_apply_list(ctx, store, &list, array, err);
    if (rc == BP_OK)
        rc = bp_handler_send_json(res, 200, array);
    else
        json_object_put(array);
    if (rc == BP_OK)
        rc = bp_handler_paging_headers(req, res, query.limit, query.offset,
                                       list.count, list.total);
    bp_image_list_free(&list);
    return rc;
}

/*
 * Stores in *out (freed by the caller) the name the image id must take
 * to be unique in group, or NULL when its own name already is.
 */
static enum bp_rc name_in_group(struct bp_store *store, const char *id,
                                const char *group, char **out,
                                struct bp_error *err)
{
    *out = NULL;
    struct bp_image image;
    enum bp_rc rc = bp_store_image_get(store, id, &image, err);
    if (rc != BP_OK)
        return rc;
    char *name = NULL;
    rc = bp_unique_name(store, group, image.filename, id, NULL, 0, &name, err);
    if (rc == BP_OK && strcmp(name, image.filename) != 0)
        *out = name;
    else
        free(name);
    bp_image_clear(&image);
    return rc;
}

/* BP_OK when the caller may change the image with id (read from store). */
static enum bp_rc may_change_image_id(struct bp_ctx *ctx,
                                      struct bp_store *store, const char *id,
                                      struct bp_error *err)
{
    /* An admin may change any image: no need to read it first. */
    if (ctx->principal.role == BP_ROLE_ADMIN)
        return BP_OK;
    struct bp_image image;
    enum bp_rc rc = bp_store_image_get(store, id, &image, err);
    if (rc != BP_OK)
        return rc;
    rc = bp_auth_may_change_image(ctx, &image, err);
    bp_image_clear(&image);
    return rc;
}

/* Reads the image that capture 0 names into *out (cleared by caller). */
static enum bp_rc load_image(struct bp_ctx *ctx,
                             const struct bp_route_match *match,
                             struct bp_store **store, struct bp_image *out,
                             struct bp_error *err)
{
    char id[BP_ID_LEN + 1];
    enum bp_rc rc = bp_handler_path_id(match, 0, id, err);
    if (rc == BP_OK)
        rc = bp_app_store(ctx, store, err);
    if (rc == BP_OK)
        rc = bp_store_image_get(*store, id, out, err);
    return rc;
}

enum bp_rc bp_handle_image_get(struct bp_ctx *ctx, const struct bp_request *req,
                               const struct bp_route_match *match,
                               struct bp_response *res, struct bp_error *err)
{
    struct bp_store *store;
    struct bp_image image;
    enum bp_rc rc = load_image(ctx, match, &store, &image, err);
    if (rc == BP_OK)
        rc = bp_direct_upload_settle(ctx, store, &image, err);
    if (rc != BP_OK)
        return rc;
    struct json_object *obj = bp_image_to_json(&image, req->base);
    if (obj != NULL)
        rc = bp_privacy_apply_image(ctx, store, &image, obj, err);
    if (rc == BP_OK)
        rc = bp_handler_send_json(res, 200, obj);
    else
        json_object_put(obj);
    bp_image_clear(&image);
    return rc;
}

/*
 * Serves variant of image (read from store; cleared here) to ctx's
 * caller, completing an upload that has arrived first.
 */
static enum bp_rc serve_image(struct bp_ctx *ctx, const struct bp_request *req,
                              struct bp_store *store, struct bp_image *image,
                              enum bp_image_variant variant,
                              struct bp_response *res, struct bp_error *err)
{
    /* An image with a file serves it while a new one is awaited. */
    enum bp_rc rc = bp_image_has_file(image)
                        ? BP_OK
                        : bp_direct_upload_settle(ctx, store, image, err);
    if (rc != BP_OK)
        return rc; /* settle cleared an image that is gone */
    /* Others than its owner get the original without GPS data. Which
     * original, or any file when reads need a credential, depends on who
     * asks. */
    bool private_answer = variant == BP_VARIANT_ORIGINAL ||
                          strcmp(ctx->config->auth_mode, "required") == 0;
    if (variant == BP_VARIANT_ORIGINAL &&
        !bp_auth_sees_private(ctx, image->owner))
        variant = BP_VARIANT_LOCATIONLESS;
    if (bp_image_has_file(image))
        rc = bp_image_files_serve(ctx->blobs, req, image, variant,
                                  ctx->config->presign_get_expires_s,
                                  private_answer, res, err);
    else
        rc = bp_error_set(err, BP_ENOTFOUND,
                          "The file of image %s has not been uploaded yet",
                          image->id);
    bp_image_clear(image);
    return rc;
}

/* Serves one of the files of the image that capture 0 names. */
static enum bp_rc serve_variant(struct bp_ctx *ctx,
                                const struct bp_request *req,
                                const struct bp_route_match *match,
                                enum bp_image_variant variant,
                                struct bp_response *res, struct bp_error *err)
{
    struct bp_store *store;
    struct bp_image image;
    enum bp_rc rc = load_image(ctx, match, &store, &image, err);
    if (rc != BP_OK)
        return rc;
    return serve_image(ctx, req, store, &image, variant, res, err);
}

/*
 * Serves one of the files of the image that captures 0 (its group) and
 * 1 (its file name) name: the earlier version's storage paths, where its
 * web client looks for pictures.
 */
static enum bp_rc serve_named(struct bp_ctx *ctx, const struct bp_request *req,
                              const struct bp_route_match *match,
                              enum bp_image_variant variant,
                              struct bp_response *res, struct bp_error *err)
{
    char group[BP_ID_LEN + 1];
    struct bp_store *store;
    struct bp_image_list found = {0};
    enum bp_rc rc = bp_handler_path_id(match, 0, group, err);
    if (rc == BP_OK)
        rc = bp_app_store(ctx, &store, err);
    struct bp_image_query query = {
        .group = group, .filename = match->captures[1], .limit = 1};
    if (rc == BP_OK)
        rc = bp_store_image_list(store, &query, &found, err);
    if (rc == BP_OK && found.count == 0)
        rc = bp_error_set(err, BP_ENOTFOUND,
                          "No image named '%.100s' in group %s",
                          match->captures[1], group);
    if (rc == BP_OK) {
        struct bp_image image = found.items[0];
        memset(&found.items[0], 0, sizeof(found.items[0]));
        rc = serve_image(ctx, req, store, &image, variant, res, err);
    }
    bp_image_list_free(&found);
    return rc;
}

enum bp_rc bp_handle_named_original(struct bp_ctx *ctx,
                                    const struct bp_request *req,
                                    const struct bp_route_match *match,
                                    struct bp_response *res,
                                    struct bp_error *err)
{
    return serve_named(ctx, req, match, BP_VARIANT_ORIGINAL, res, err);
}

enum bp_rc bp_handle_named_fullsize(struct bp_ctx *ctx,
                                    const struct bp_request *req,
                                    const struct bp_route_match *match,
                                    struct bp_response *res,
                                    struct bp_error *err)
{
    return serve_named(ctx, req, match, BP_VARIANT_FULLSIZE, res, err);
}

enum bp_rc bp_handle_named_thumb(struct bp_ctx *ctx,
                                 const struct bp_request *req,
                                 const struct bp_route_match *match,
                                 struct bp_response *res, struct bp_error *err)
{
    return serve_named(ctx, req, match, BP_VARIANT_THUMB, res, err);
}

enum bp_rc bp_handle_image_file(struct bp_ctx *ctx,
                                const struct bp_request *req,
                                const struct bp_route_match *match,
                                struct bp_response *res, struct bp_error *err)
{
    return serve_variant(ctx, req, match, BP_VARIANT_ORIGINAL, res, err);
}

enum bp_rc bp_handle_image_fullsize(struct bp_ctx *ctx,
                                    const struct bp_request *req,
                                    const struct bp_route_match *match,
                                    struct bp_response *res,
                                    struct bp_error *err)
{
    return serve_variant(ctx, req, match, BP_VARIANT_FULLSIZE, res, err);
}

enum bp_rc bp_handle_image_thumb(struct bp_ctx *ctx,
                                 const struct bp_request *req,
                                 const struct bp_route_match *match,
                                 struct bp_response *res, struct bp_error *err)
{
    return serve_variant(ctx, req, match, BP_VARIANT_THUMB, res, err);
}

/* Returns true when content_type announces a raw image body. */
static bool raw_image_body(const char *content_type)
{
    return strncasecmp(content_type, "image/", 6) == 0 ||
           strncasecmp(content_type, "application/octet-stream", 24) == 0;
}

/*
 * Receives the one file of a single-image request: a multipart part
 * named "image" (with its form fields) or the raw body, whose name comes
 * from ?filename=. Exactly one file is required.
 */
static enum bp_rc receive_one(struct bp_ctx *ctx, const struct bp_request *req,
                              struct bp_upload *up, struct bp_error *err)
{
    struct bp_upload_limits limits = bp_upload_limits_of(ctx->config);
    enum bp_rc rc;
    if (bp_upload_is_multipart(req->content_type)) {
        rc = bp_upload_read_multipart(req, &limits, ctx->tmp_dir, "image", up,
                                      err);
    } else if (raw_image_body(req->content_type)) {
        struct bp_buf name;
        bp_buf_init(&name, 1024);
        bool found;
        rc = bp_query_get(req->query, "filename", &name, &found, err);
        memset(up, 0, sizeof(*up));
        if (rc == BP_OK)
            rc = bp_upload_read_raw(req, &limits, ctx->tmp_dir,
                                    found ? name.data : NULL, up, err);
        bp_buf_free(&name);
    } else {
        memset(up, 0, sizeof(*up));
        return bp_error_set(err, BP_EUNSUPPORTED,
                            "Content-Type must be multipart/form-data or "
                            "image/*");
    }
    if (rc == BP_OK && up->nfiles != 1)
        rc = bp_error_set(err, BP_EINVAL,
                          "Expected exactly one file in "
                          "'image'");
    return rc;
}

/* Checks that only the named text fields were sent. */
static enum bp_rc only_fields(const struct bp_upload *up,
                              const char *const *allowed, size_t n,
                              struct bp_error *err)
{
    for (size_t i = 0; i < up->nfields; i++) {
        size_t k = 0;
        while (k < n && strcmp(up->fields[i].name, allowed[k]) != 0)
            k++;
        if (k == n)
            return bp_error_set(err, BP_EINVAL, "Unknown form field '%.64s'",
                                up->fields[i].name);
    }
    return BP_OK;
}

/* Reads an optional group id from text (NULL or "" for none). */
static enum bp_rc optional_group(const char *text, char group[BP_ID_LEN + 1],
                                 struct bp_error *err)
{
    group[0] = '\0';
    if (text == NULL || text[0] == '\0')
        return BP_OK;
    if (!bp_id_parse(text, group))
        return bp_error_set(err, BP_EINVAL,
                            "group must be a 24-character hex id");
    return BP_OK;
}

/* Checks that group (when set) exists, before any file is processed. */
static enum bp_rc check_group(struct bp_store *store, const char *group,
                              struct bp_group *out, struct bp_error *err)
{
    memset(out, 0, sizeof(*out));
    if (group[0] == '\0')
        return BP_OK;
    return bp_store_group_get(store, group, out, err);
}

enum bp_rc bp_handle_image_create(struct bp_ctx *ctx,
                                  const struct bp_request *req,
                                  const struct bp_route_match *match,
                                  struct bp_response *res, struct bp_error *err)
{
    static const char *const fields[] = {"group", "description"};
    struct bp_upload up = {0};
    struct bp_ingest in = {0};
    struct bp_group group_record = {0};
    struct bp_store *store;
    char group[BP_ID_LEN + 1];
    struct bp_buf text;
    bp_buf_init(&text, 256);
    bool found;
    enum bp_rc rc = bp_auth_may_create(ctx, err);
    if (rc == BP_OK)
        rc = receive_one(ctx, req, &up, err);
    if (rc == BP_OK)
        rc = only_fields(&up, fields, 2, err);
    const char *group_text = bp_upload_field(&up, "group");
    if (rc == BP_OK && group_text == NULL) {
        rc = bp_query_get(req->query, "group", &text, &found, err);
        group_text = found ? text.data : NULL;
    }
    if (rc == BP_OK)
        rc = optional_group(group_text, group, err);
    const char *description = bp_upload_field(&up, "description");
    if (rc == BP_OK && description != NULL &&
        (long)bp_utf8_length(description) > ctx->config->max_description_length)
        rc = bp_error_set(err, BP_EINVAL,
                          "description is longer than %ld "
                          "characters",
                          ctx->config->max_description_length);
    if (rc == BP_OK)
        rc = bp_app_store(ctx, &store, err);
    if (rc == BP_OK)
        rc = check_group(store, group, &group_record, err);
    if (rc == BP_OK && group[0] != '\0')
        rc = bp_auth_may_change_group(ctx, store, group, err);
    if (rc == BP_OK)
        rc = bp_ingest_prepare(ctx, &up, group, description, bp_time_now_ms(),
                               &in, err);
    if (rc == BP_OK)
        rc = bp_ingest_commit(ctx, store, &up, NULL, &in, err);
    if (rc == BP_OK) {
        bp_handler_log_change(ctx, req, "created", "image", in.images[0].id);
        rc = bp_handler_send_json(res, 201,
                                  bp_image_to_json(&in.images[0], req->base));
    }
    if (rc == BP_OK)
        rc = bp_response_header(res, "Location", "%s/images/%s", req->base,
                                in.images[0].id);
    bp_group_clear(&group_record);
    bp_buf_free(&text);
    bp_ingest_free(&in);
    bp_upload_free(&up);
    return rc;
}

/* Reads the JSON body {"<field>": value} of req into *body, *value. */
static enum bp_rc
read_single_field(const struct bp_ctx *ctx, const struct bp_request *req,
                  const char *field, struct json_object **body,
                  struct json_object **value, struct bp_error *err)
{
    enum bp_rc rc =
        bp_json_body_read(req, (size_t)ctx->config->max_json_bytes, body, err);
    if (rc != BP_OK)
        return rc;
    if (!json_object_is_type(*body, json_type_object) ||
        json_object_object_length(*body) != 1 ||
        !json_object_object_get_ex(*body, field, value)) {
        json_object_put(*body);
        *body = NULL;
        return bp_error_set(err, BP_EINVAL,
                            "Body must be a JSON object with only '%s'", field);
    }
    return BP_OK;
}

/*
 * POST /images/{group_id} as JSON {"images": [names]}: adds one pending
 * image per name to group, all or nothing, and answers where to upload
 * each file.
 */
static enum bp_rc
add_awaiting_uploads(struct bp_ctx *ctx, const struct bp_request *req,
                     struct bp_store *store, const struct bp_group *group,
                     struct bp_response *res, struct bp_error *err)
{
    struct json_object *body = NULL, *value, *out;
    enum bp_rc rc = read_single_field(ctx, req, "images", &body, &value, err);
    if (rc == BP_OK)
        rc = bp_direct_upload_start(ctx, req, store, group, false, value,
                                    "added_images", &out, err);
    if (rc == BP_OK) {
        bp_handler_log_items(ctx, req, "created", out, "added_images");
        rc = bp_handler_send_json(res, 201, out);
    }
    json_object_put(body);
    return rc;
}

/*
 * PATCH /images/{id}/file as JSON {"image": name}: the image awaits a
 * new file (it keeps its current one until the new one is completed);
 * answers where to upload it.
 */
static enum bp_rc
await_replacement(struct bp_ctx *ctx, const struct bp_request *req,
                  struct bp_store *store, const struct bp_image *image,
                  struct bp_response *res, struct bp_error *err)
{
    struct json_object *body = NULL, *value, *items = NULL;
    struct json_object *one = NULL;
    struct bp_direct_upload_names names = {0};
    struct bp_image updated = {0};
    char *unique = NULL;
    int64_t now = bp_time_now_ms();
    enum bp_rc rc = read_single_field(ctx, req, "image", &body, &value, err);
    if (rc == BP_OK && (one = json_object_new_array()) == NULL)
        rc = BP_ENOMEM;
    if (rc == BP_OK) {
        json_object_array_add(one, json_object_get(value));
        rc = bp_direct_upload_names_read(one, 1, &names, err);
    }
    if (rc != BP_OK)
        goto out_free;
    /* The name unique in the group, then the URL (a shallow copy that
     * awaits the new upload): a request that cannot be answered changes
     * nothing. */
    rc = bp_unique_name(store, image->group, names.names[0], image->id, NULL, 0,
                        &unique, err);
    if (rc != BP_OK)
        goto out_free;
    struct bp_image awaiting = *image;
    awaiting.upload_filename = unique;
    awaiting.upload_expires_at = now + ctx->config->upload_expires_s * 1000;
    struct bp_image_list list = {.items = &awaiting, .count = 1};
    rc = bp_direct_upload_items(ctx, req, &list, &items, err);
    if (rc == BP_OK) {
        struct bp_image_patch patch = {
            .set_upload = true,
            .upload_filename = awaiting.upload_filename,
            .upload_expires_at = awaiting.upload_expires_at,
        };
        rc =
            bp_store_image_update(store, image->id, &patch, now, &updated, err);
    }
    /* What arrived for the upload this one replaces will never be read. */
    if (rc == BP_OK && bp_image_upload_awaited(image)) {
        char stale[BP_IMAGE_KEY_LEN];
        bp_image_incoming_key(image, stale);
        struct bp_error ignored;
        bp_blob_remove(ctx->blobs, stale, &ignored);
    }
    if (rc == BP_OK) {
        bp_handler_log_change(ctx, req, "updated", "image", image->id);
        rc = bp_handler_send_json(
            res, 200, json_object_get(json_object_array_get_idx(items, 0)));
    }
out_free:
    free(unique);
    json_object_put(items);
    bp_image_clear(&updated);
    bp_direct_upload_names_free(&names);
    json_object_put(one);
    json_object_put(body);
    return rc;
}

enum bp_rc bp_handle_images_add(struct bp_ctx *ctx,
                                const struct bp_request *req,
                                const struct bp_route_match *match,
                                struct bp_response *res, struct bp_error *err)
{
    struct bp_upload_limits limits = bp_upload_limits_of(ctx->config);
    struct bp_upload up = {0};
    struct bp_ingest in = {0};
    struct bp_group group = {0};
    struct bp_store *store;
    char id[BP_ID_LEN + 1];
    enum bp_rc rc = bp_handler_path_id(match, 0, id, err);
    if (rc == BP_OK)
        rc = bp_app_store(ctx, &store, err);
    /* An unknown group, or one the caller may not change, is refused
     * before the upload is even read. */
    if (rc == BP_OK)
        rc = bp_store_group_get(store, id, &group, err);
    if (rc == BP_OK) {
        char what[BP_ID_LEN + 8];
        snprintf(what, sizeof(what), "group %s", id);
        rc = bp_auth_may_change(ctx, group.owner, what, err);
    }
    if (rc == BP_OK && bp_json_media_type(req->content_type)) {
        rc = add_awaiting_uploads(ctx, req, store, &group, res, err);
        bp_group_clear(&group);
        return rc;
    }
    if (rc == BP_OK && !bp_upload_is_multipart(req->content_type))
        rc = bp_error_set(err, BP_EUNSUPPORTED,
                          "Content-Type must be multipart/form-data or "
                          "application/json");
    if (rc == BP_OK)
        rc = bp_upload_read_multipart(req, &limits, ctx->tmp_dir, "images", &up,
                                      err);
    if (rc == BP_OK)
        rc = only_fields(&up, NULL, 0, err);
    if (rc == BP_OK)
        rc = bp_ingest_prepare(ctx, &up, id, NULL, bp_time_now_ms(), &in, err);
    if (rc == BP_OK)
        rc = bp_ingest_commit(ctx, store, &up, NULL, &in, err);
    if (rc == BP_OK) {
        struct bp_image_list added = {.items = in.images,
                                      .count = in.count,
                                      .total = (long long)in.count};
        bp_handler_log_images(ctx, req, "created", &added);
        struct json_object *out = json_object_new_object();
        if (out != NULL) {
            json_object_object_add(out, "added_images",
                                   bp_image_list_to_json(&added, req->base));
            json_object_object_add(out, "group_id",
                                   json_object_new_string(group.id));
            json_object_object_add(out, "name",
                                   json_object_new_string(group.name));
        }
        rc = bp_handler_send_json(res, 201, out);
    }
    bp_group_clear(&group);
    bp_ingest_free(&in);
    bp_upload_free(&up);
    return rc;
}

enum bp_rc bp_handle_image_update(struct bp_ctx *ctx,
                                  const struct bp_request *req,
                                  const struct bp_route_match *match,
                                  struct bp_response *res, struct bp_error *err)
{
    char id[BP_ID_LEN + 1];
    enum bp_rc rc = bp_handler_path_id(match, 0, id, err);
    if (rc != BP_OK)
        return rc;
    struct json_object *body;
    rc =
        bp_json_body_read(req, (size_t)ctx->config->max_json_bytes, &body, err);
    if (rc != BP_OK)
        return rc;
    struct bp_image_patch patch;
    struct bp_store *store;
    struct bp_image image;
    rc = bp_image_patch_from_json(body, ctx->config->max_description_length,
                                  &patch, err);
    if (rc == BP_OK)
        rc = bp_app_store(ctx, &store, err);
    if (rc == BP_OK)
        rc = may_change_image_id(ctx, store, id, err);
    if (rc == BP_OK && patch.set_group && patch.group[0] != '\0')
        rc = bp_auth_may_change_group(ctx, store, patch.group, err);
    /* Moved into a group that has its name: the earlier "-1" rule. */
    char *renamed = NULL;
    if (rc == BP_OK && patch.set_group && patch.group[0] != '\0')
        rc = name_in_group(store, id, patch.group, &renamed, err);
    if (rc == BP_OK && renamed != NULL) {
        patch.set_filename = true;
        patch.filename = renamed;
    }
    if (rc == BP_OK) {
        bp_crash_point("move:before");
        rc = bp_store_image_update(store, id, &patch, bp_time_now_ms(), &image,
                                   err);
    }
    free(renamed);
    if (rc == BP_OK) {
        bp_crash_point("move:recorded");
        bp_handler_log_change(ctx, req, "updated", "image", image.id);
        rc =
            bp_handler_send_json(res, 200, bp_image_to_json(&image, req->base));
        bp_image_clear(&image);
    }
    json_object_put(body);
    return rc;
}

enum bp_rc bp_handle_image_replace_file(struct bp_ctx *ctx,
                                        const struct bp_request *req,
                                        const struct bp_route_match *match,
                                        struct bp_response *res,
                                        struct bp_error *err)
{
    struct bp_upload up = {0};
    struct bp_ingest in = {0};
    struct bp_store *store;
    struct bp_image old = {0}, updated;
    enum bp_rc rc = load_image(ctx, match, &store, &old, err);
    if (rc == BP_OK)
        rc = bp_auth_may_change_image(ctx, &old, err);
    if (rc == BP_OK && bp_json_media_type(req->content_type)) {
        rc = await_replacement(ctx, req, store, &old, res, err);
        bp_image_clear(&old);
        return rc;
    }
    if (rc == BP_OK)
        rc = receive_one(ctx, req, &up, err);
    if (rc == BP_OK)
        rc = only_fields(&up, NULL, 0, err);
    if (rc == BP_OK)
        rc = bp_ingest_prepare(ctx, &up, old.group, NULL, bp_time_now_ms(), &in,
                               err);
    if (rc == BP_OK)
        rc = bp_ingest_replace(ctx, store, old.id, &up, &in, 0, &updated, err);
    if (rc == BP_OK) {
        bp_handler_log_change(ctx, req, "updated", "image", updated.id);
        rc = bp_handler_send_json(res, 200,
                                  bp_image_to_json(&updated, req->base));
        bp_image_clear(&updated);
    }
    bp_image_clear(&old);
    bp_ingest_free(&in);
    bp_upload_free(&up);
    return rc;
}

enum bp_rc bp_handle_image_delete(struct bp_ctx *ctx,
                                  const struct bp_request *req,
                                  const struct bp_route_match *match,
                                  struct bp_response *res, struct bp_error *err)
{
    char id[BP_ID_LEN + 1];
    struct bp_store *store;
    enum bp_rc rc = bp_handler_path_id(match, 0, id, err);
    if (rc == BP_OK)
        rc = bp_app_store(ctx, &store, err);
    if (rc == BP_OK)
        rc = may_change_image_id(ctx, store, id, err);
    if (rc != BP_OK)
        return rc;
    struct bp_image image;
    rc = bp_store_image_delete(store, id, &image, err);
    if (rc != BP_OK)
        return rc;
    bp_crash_point("delete:recorded");
    bp_handler_log_change(ctx, req, "deleted", "image", image.id);
    struct bp_error why = {{0}};
    if (bp_image_files_remove(ctx->blobs, &image, &why) != BP_OK)
        bp_log_warn("orphan files of image %s: %s", image.id, why.detail);
    rc = bp_handler_send_json(res, 200, bp_image_to_json(&image, req->base));
    bp_image_clear(&image);
    return rc;
}
