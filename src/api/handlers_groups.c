/*
 * handlers_groups.c: the image group resource: list, read, create (from
 * JSON, from JSON with file names to upload, or from a form with its
 * images), update and delete (with its
 * images and their files), in the earlier API's request and response
 * shapes.
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "api/auth.h"
#include "api/direct_upload.h"
#include "api/handlers.h"
#include "api/image_files.h"
#include "api/ingest.h"
#include "api/privacy.h"
#include "api/upload.h"
#include "crash_point.h"
#include "http/json_body.h"
#include "http/query.h"
#include "log.h"
#include "model/group_json.h"
#include "model/ids.h"
#include "model/image_json.h"
#include "model/timeutil.h"

static struct bp_group_limits limits_of(const struct bp_ctx *ctx)
{
    struct bp_group_limits limits = {
        .max_name_length = ctx->config->max_name_length,
        .max_description_length = ctx->config->max_description_length,
    };
    return limits;
}

/* Reads ?event=, ?limit= and ?offset= into query; event_buf holds event. */
static enum bp_rc read_list_query(const struct bp_ctx *ctx,
                                  const struct bp_request *req,
                                  struct bp_group_query *query,
                                  char event[BP_ID_LEN + 1],
                                  struct bp_error *err)
{
    query->event = NULL;
    query->limit = ctx->config->list_default_limit;
    query->offset = 0;
    enum bp_rc rc =
        bp_query_get_long(req->query, "limit", 1, ctx->config->list_max_limit,
                          &query->limit, err);
    if (rc == BP_OK)
        rc = bp_query_get_long(req->query, "offset", 0, 1L << 40,
                               &query->offset, err);
    if (rc != BP_OK)
        return rc;
    struct bp_buf text;
    bp_buf_init(&text, 64);
    bool found;
    rc = bp_query_get(req->query, "event", &text, &found, err);
    if (rc == BP_OK && found) {
        if (bp_id_parse(text.data, event))
            query->event = event;
        else
            rc = bp_error_set(err, BP_EINVAL,
                              "Query parameter 'event' must be a "
                              "24-character hex id");
    }
    bp_buf_free(&text);
    return rc;
}

/*
 * Returns the JSON of group with its images (oldest capture first) from
 * store, their urls under base, or NULL with an error code in *rc.
 */
static struct json_object *
group_with_images(struct bp_ctx *ctx, struct bp_store *store,
                  const struct bp_group *group, const char *base,
                  size_t *settle_budget, enum bp_rc *rc, struct bp_error *err)
{
    struct bp_image_query query = {.group = group->id};
    struct bp_image_list images = {0};
    *rc = bp_store_image_list(store, &query, &images, err);
    /* Files that arrived in storage since: shown ready (a client that
     * only PUTs to S3 reads the group next). */
    if (*rc == BP_OK)
        *rc = bp_direct_upload_settle_list(ctx, store, &images, settle_budget,
                                           err);
    if (*rc != BP_OK) {
        bp_image_list_free(&images);
        return NULL;
    }
    struct json_object *obj = bp_group_to_json(group);
    struct json_object *array = bp_image_list_to_json(&images, base);
    if (array != NULL)
        bp_privacy_apply_group(ctx, group, &images, array);
    bp_image_list_free(&images);
    if (obj == NULL || array == NULL) {
        json_object_put(obj);
        json_object_put(array);
        *rc = BP_ENOMEM;
        return NULL;
    }
    json_object_object_add(obj, "images", array);
    return obj;
}

enum bp_rc bp_handle_group_list(struct bp_ctx *ctx,
                                const struct bp_request *req,
                                const struct bp_route_match *match,
                                struct bp_response *res, struct bp_error *err)
{
    size_t budget = BP_DIRECT_UPLOAD_SETTLE_BUDGET;
    struct bp_group_query query;
    char event[BP_ID_LEN + 1];
    enum bp_rc rc = read_list_query(ctx, req, &query, event, err);
    if (rc != BP_OK)
        return rc;
    struct bp_store *store;
    rc = bp_app_store(ctx, &store, err);
    if (rc != BP_OK)
        return rc;
    struct bp_group_list list;
    rc = bp_store_group_list(store, &query, &list, err);
    if (rc != BP_OK)
        return rc;
    struct json_object *array = json_object_new_array_ext((int)list.count);
    for (size_t i = 0; array != NULL && i < list.count && rc == BP_OK; i++) {
        struct json_object *item = group_with_images(
            ctx, store, &list.items[i], req->base, &budget, &rc, err);
        if (item != NULL && json_object_array_add(array, item) != 0) {
            json_object_put(item);
            rc = BP_ENOMEM;
        }
    }
    if (rc == BP_OK)
        rc = bp_handler_send_json(res, 200, array);
    else
        json_object_put(array);
    if (rc == BP_OK)
        rc = bp_handler_paging_headers(req, res, query.limit, query.offset,
                                       list.count, list.total);
    bp_group_list_free(&list);
    return rc;
}

enum bp_rc bp_handle_group_get(struct bp_ctx *ctx, const struct bp_request *req,
                               const struct bp_route_match *match,
                               struct bp_response *res, struct bp_error *err)
{
    size_t budget = BP_DIRECT_UPLOAD_SETTLE_BUDGET;
    char id[BP_ID_LEN + 1];
    struct bp_store *store;
    enum bp_rc rc = bp_handler_path_id(match, 0, id, err);
    if (rc == BP_OK)
        rc = bp_app_store(ctx, &store, err);
    if (rc != BP_OK)
        return rc;
    struct bp_group group;
    rc = bp_store_group_get(store, id, &group, err);
    if (rc != BP_OK)
        return rc;
    struct json_object *out =
        group_with_images(ctx, store, &group, req->base, &budget, &rc, err);
    if (rc == BP_OK)
        rc = bp_handler_send_json(res, 200, out);
    bp_group_clear(&group);
    return rc;
}

/*
 * Fills group from a create request's patch, with defaults, a new id and
 * the caller as its owner.
 */
static enum bp_rc group_from_patch(const struct bp_ctx *ctx,
                                   const struct bp_group_patch *patch,
                                   int64_t now, struct bp_group *group)
{
    memset(group, 0, sizeof(*group));
    memcpy(group->owner, ctx->principal.id, sizeof(group->owner));
    group->location_hidden =
        patch->set_location
            ? patch->location_hidden
            : strcmp(ctx->config->location_default, "hidden") == 0;
    bp_id_new(group->id);
    char today[11];
    bp_time_format_date(now, today);
    group->name = strdup(patch->set_name ? patch->name : today);
    if (patch->description != NULL)
        group->description = strdup(patch->description);
    if (group->name == NULL ||
        (patch->description != NULL && group->description == NULL)) {
        bp_group_clear(group);
        return BP_ENOMEM;
    }
    memcpy(group->event, patch->event, sizeof(group->event));
    group->created_at = now;
    group->updated_at = now;
    return BP_OK;
}

/* Sends the 201 answer for a new group and its images (urls under base). */
static enum bp_rc send_created(struct bp_response *res, const char *base,
                               const struct bp_group *group,
                               const struct bp_image_list *images)
{
    struct json_object *out = bp_group_to_json(group);
    struct json_object *array = bp_image_list_to_json(images, base);
    if (out == NULL || array == NULL) {
        json_object_put(out);
        json_object_put(array);
        return BP_ENOMEM;
    }
    json_object_object_add(out, "images", array);
    json_object_object_add(out, "group_id", json_object_new_string(group->id));
    enum bp_rc rc = bp_handler_send_json(res, 201, out);
    if (rc == BP_OK)
        rc = bp_response_header(res, "Location", "%s/image_groups/%s", base,
                                group->id);
    return rc;
}

/* Returns the non-empty text fields of up as a JSON object of strings. */
static struct json_object *form_as_json(const struct bp_upload *up)
{
    struct json_object *obj = json_object_new_object();
    for (size_t i = 0; obj != NULL && i < up->nfields; i++)
        if (up->fields[i].value != NULL && up->fields[i].value[0] != '\0')
            json_object_object_add(obj, up->fields[i].name,
                                   json_object_new_string(up->fields[i].value));
    return obj;
}

/*
 * POST /image_groups as multipart/form-data: the group's fields plus
 * file parts named "images", stored all together or not at all.
 */
static enum bp_rc create_with_images(struct bp_ctx *ctx,
                                     const struct bp_request *req,
                                     struct bp_response *res,
                                     struct bp_error *err)
{
    struct bp_upload_limits upload_limits = bp_upload_limits_of(ctx->config);
    struct bp_group_limits limits = limits_of(ctx);
    struct bp_upload up;
    struct bp_ingest in = {0};
    struct bp_group group = {0};
    struct bp_group_patch patch;
    struct bp_store *store;
    struct json_object *form = NULL;
    int64_t now = bp_time_now_ms();
    memset(&up, 0, sizeof(up));
    enum bp_rc rc = bp_auth_may_create(ctx, err);
    if (rc == BP_OK)
        rc = bp_upload_read_multipart(req, &upload_limits, ctx->tmp_dir,
                                      "images", &up, err);
    if (rc == BP_OK && (form = form_as_json(&up)) == NULL)
        rc = BP_ENOMEM;
    if (rc == BP_OK)
        rc = bp_group_patch_from_json(form, true, &limits, &patch, err);
    if (rc == BP_OK)
        rc = bp_app_store(ctx, &store, err);
    if (rc == BP_OK)
        rc = group_from_patch(ctx, &patch, now, &group);
    if (rc == BP_OK)
        rc = bp_ingest_prepare(ctx, &up, group.id, NULL, now, &in, err);
    if (rc == BP_OK)
        rc = bp_ingest_commit(ctx, store, &up, &group, &in, err);
    if (rc == BP_OK) {
        struct bp_image_list images = {.items = in.images,
                                       .count = in.count,
                                       .total = (long long)in.count};
        bp_handler_log_change(ctx, req, "created", "group", group.id);
        bp_handler_log_images(ctx, req, "created", &images);
        rc = send_created(res, req->base, &group, &images);
    }
    json_object_put(form);
    bp_group_clear(&group);
    bp_ingest_free(&in);
    bp_upload_free(&up);
    return rc;
}

/*
 * Removes "images" from a JSON create request (bare or wrapped in
 * "group") and returns it (released by the caller), or NULL when absent.
 */
static struct json_object *take_image_names(struct json_object *body)
{
    struct json_object *fields = body, *wrapped, *names;
    if (json_object_is_type(body, json_type_object) &&
        json_object_object_get_ex(body, "group", &wrapped))
        fields = wrapped;
    if (!json_object_is_type(fields, json_type_object) ||
        !json_object_object_get_ex(fields, "images", &names))
        return NULL;
    /* null is kept as a value that is no list, which is refused. */
    names = names != NULL ? json_object_get(names) : json_object_new_boolean(0);
    json_object_object_del(fields, "images");
    return names;
}

enum bp_rc bp_handle_group_create(struct bp_ctx *ctx,
                                  const struct bp_request *req,
                                  const struct bp_route_match *match,
                                  struct bp_response *res, struct bp_error *err)
{
    if (bp_upload_is_multipart(req->content_type))
        return create_with_images(ctx, req, res, err);
    struct json_object *body;
    enum bp_rc rc = bp_auth_may_create(ctx, err);
    if (rc == BP_OK)
        rc = bp_json_body_read(req, (size_t)ctx->config->max_json_bytes, &body,
                               err);
    if (rc != BP_OK)
        return rc;
    struct bp_group_limits limits = limits_of(ctx);
    struct bp_group_patch patch;
    struct bp_group group = {0};
    struct bp_store *store;
    /* A list of file names under "images" asks for upload URLs; an
     * empty one (the web client's group without photos) asks for none. */
    struct json_object *names = take_image_names(body);
    if (names != NULL && json_object_is_type(names, json_type_array) &&
        json_object_array_length(names) == 0) {
        json_object_put(names);
        names = NULL;
    }
    rc = bp_group_patch_from_json(body, true, &limits, &patch, err);
    if (rc == BP_OK)
        rc = bp_app_store(ctx, &store, err);
    if (rc == BP_OK)
        rc = group_from_patch(ctx, &patch, bp_time_now_ms(), &group);
    if (rc != BP_OK)
        goto out_free;
    if (names != NULL) {
        /* One pending image per name, answered with where to upload. */
        struct json_object *out;
        rc = bp_direct_upload_start(ctx, req, store, &group, true, names,
                                    "images", &out, err);
        if (rc == BP_OK) {
            bp_handler_log_change(ctx, req, "created", "group", group.id);
            bp_handler_log_items(ctx, req, "created", out, "images");
            rc = bp_handler_send_json(res, 201, out);
        }
        if (rc == BP_OK)
            rc = bp_response_header(res, "Location", "%s/image_groups/%s",
                                    req->base, group.id);
        goto out_free;
    }
    rc = bp_store_group_insert(store, &group, err);
    if (rc != BP_OK)
        goto out_free;
    bp_handler_log_change(ctx, req, "created", "group", group.id);
    struct bp_image_list none = {0};
    rc = send_created(res, req->base, &group, &none);
out_free:
    bp_group_clear(&group);
    json_object_put(names);
    json_object_put(body);
    return rc;
}

enum bp_rc bp_handle_group_update(struct bp_ctx *ctx,
                                  const struct bp_request *req,
                                  const struct bp_route_match *match,
                                  struct bp_response *res, struct bp_error *err)
{
    size_t budget = BP_DIRECT_UPLOAD_SETTLE_BUDGET;
    char id[BP_ID_LEN + 1];
    enum bp_rc rc = bp_handler_path_id(match, 0, id, err);
    if (rc != BP_OK)
        return rc;
    struct json_object *body;
    rc =
        bp_json_body_read(req, (size_t)ctx->config->max_json_bytes, &body, err);
    if (rc != BP_OK)
        return rc;
    struct bp_group_limits limits = limits_of(ctx);
    struct bp_group_patch patch;
    struct bp_store *store;
    struct bp_group group;
    rc = bp_group_patch_from_json(body, false, &limits, &patch, err);
    if (rc == BP_OK)
        rc = bp_app_store(ctx, &store, err);
    if (rc == BP_OK)
        rc = bp_auth_may_change_group(ctx, store, id, err);
    if (rc == BP_OK)
        rc = bp_store_group_update(store, id, &patch, bp_time_now_ms(), &group,
                                   err);
    if (rc == BP_OK) {
        bp_handler_log_change(ctx, req, "updated", "group", group.id);
        struct json_object *out =
            group_with_images(ctx, store, &group, req->base, &budget, &rc, err);
        if (rc == BP_OK)
            rc = bp_handler_send_json(res, 200, out);
        bp_group_clear(&group);
    }
    json_object_put(body);
    return rc;
}

enum bp_rc bp_handle_group_delete(struct bp_ctx *ctx,
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
        rc = bp_auth_may_change_group(ctx, store, id, err);
    if (rc != BP_OK)
        return rc;
    struct bp_group group;
    struct bp_image_list removed;
    rc = bp_store_group_delete(store, id, &group, &removed, err);
    if (rc == BP_OK)
        bp_crash_point("group-delete:recorded");
    if (rc != BP_OK)
        return rc;
    bp_handler_log_change(ctx, req, "deleted", "group", group.id);
    bp_handler_log_images(ctx, req, "deleted", &removed);
    /* The records are gone; now their files. A file that cannot be
     * removed is an orphan for the log, never a dangling record; once
     * storage fails, the rest are left to the orphan sweep rather than
     * waited for one by one. */
    struct json_object *names = json_object_new_array();
    struct bp_error why = {{0}};
    bool storage_failed = false;
    for (size_t i = 0; i < removed.count; i++) {
        if (storage_failed ||
            bp_image_files_remove(ctx->blobs, &removed.items[i], &why) !=
                BP_OK) {
            storage_failed = true;
            bp_log_warn("orphan files of image %s: %s", removed.items[i].id,
                        why.detail);
        }
        json_object_array_add(
            names, json_object_new_string(removed.items[i].filename));
    }
    struct json_object *out = json_object_new_object();
    struct json_object *summary = json_object_new_object();
    if (out != NULL && summary != NULL) {
        json_object_object_add(summary, "id", json_object_new_string(group.id));
        json_object_object_add(summary, "name",
                               json_object_new_string(group.name));
        json_object_object_add(out, "image_group", summary);
        summary = NULL;
        json_object_object_add(out, "num_images",
                               json_object_new_int64((int64_t)removed.count));
        json_object_object_add(out, "removed", names);
        names = NULL;
    }
    json_object_put(summary);
    json_object_put(names);
    bp_image_list_free(&removed);
    rc = bp_handler_send_json(res, 200, out);
    bp_group_clear(&group);
    return rc;
}

enum bp_rc bp_handle_event_groups_detach(struct bp_ctx *ctx,
                                         const struct bp_request *req,
                                         const struct bp_route_match *match,
                                         struct bp_response *res,
                                         struct bp_error *err)
{
    char event[BP_ID_LEN + 1];
    struct bp_store *store;
    long long count = 0;
    enum bp_rc rc = bp_handler_path_id(match, 0, event, err);
    if (rc == BP_OK)
        rc = bp_auth_may_create(ctx, err);
    if (rc == BP_OK)
        rc = bp_app_store(ctx, &store, err);
    /* An admin detaches every group of the event; a contributor its own. */
    if (rc == BP_OK)
        rc = bp_store_groups_detach_event(
            store, event,
            ctx->principal.role == BP_ROLE_ADMIN ? NULL : ctx->principal.id,
            bp_time_now_ms(), &count, err);
    if (rc != BP_OK)
        return rc;
    bp_handler_log_change(ctx, req, "detached", "event", event);
    struct json_object *out = json_object_new_object();
    if (out != NULL) {
        json_object_object_add(out, "acknowledged", json_object_new_boolean(1));
        json_object_object_add(out, "modified_count",
                               json_object_new_int64(count));
    }
    return bp_handler_send_json(res, 200, out);
}
