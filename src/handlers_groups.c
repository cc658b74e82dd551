/*
 * handlers_groups.c: the image group resource: list, read, create,
 * update and delete, with the earlier API's request and response shapes.
 */
#include <string.h>

#include <json-c/json.h>

#include "group_json.h"
#include "handlers.h"
#include "ids.h"
#include "json_body.h"
#include "query.h"
#include "timeutil.h"

/* Reads the {id} capture of match as a group id. */
static enum bp_rc path_id(const struct bp_route_match *match,
                          char id[BP_ID_LEN + 1], struct bp_error *err)
{
    if (!bp_id_parse(match->captures[0], id))
        return bp_error_set(err, BP_EINVAL,
                            "Invalid id: expected 24 hex characters");
    return BP_OK;
}

static struct bp_group_limits limits_of(const struct bp_ctx *ctx)
{
    struct bp_group_limits limits = {
        .max_name_length = ctx->config->max_name_length,
        .max_description_length = ctx->config->max_description_length,
    };
    return limits;
}

/* Sends value (released here) with status. */
static enum bp_rc send_json(struct bp_response *res, int status,
                            struct json_object *value)
{
    if (value == NULL)
        return BP_ENOMEM;
    enum bp_rc rc = bp_response_json(res, status, value);
    json_object_put(value);
    return rc;
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

/* Adds X-Total-Count and, while more remain, a Link to the next page. */
static enum bp_rc add_paging_headers(struct bp_response *res,
                                     const char *collection,
                                     const struct bp_group_query *query,
                                     const struct bp_group_list *list)
{
    enum bp_rc rc =
        bp_response_header(res, "X-Total-Count", "%lld", list->total);
    long long next = (long long)query->offset + (long long)list->count;
    if (rc != BP_OK || list->count == 0 || next >= list->total)
        return rc;
    struct bp_buf link;
    bp_buf_init(&link, 1024);
    rc = bp_buf_printf(&link, "<%s?limit=%ld&offset=%lld", collection,
                       query->limit, next);
    if (rc == BP_OK && query->event != NULL)
        rc = bp_buf_printf(&link, "&event=%s", query->event);
    if (rc == BP_OK)
        rc = bp_response_header(res, "Link", "%s>; rel=\"next\"", link.data);
    bp_buf_free(&link);
    return rc;
}

enum bp_rc bp_handle_group_list(struct bp_ctx *ctx,
                                const struct bp_request *req,
                                const struct bp_route_match *match,
                                struct bp_response *res, struct bp_error *err)
{
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
    for (size_t i = 0; array != NULL && i < list.count; i++) {
        struct json_object *item = bp_group_to_json(&list.items[i]);
        if (item == NULL || json_object_array_add(array, item) != 0) {
            json_object_put(item);
            json_object_put(array);
            array = NULL;
        }
    }
    rc = send_json(res, 200, array);
    if (rc == BP_OK)
        rc = add_paging_headers(res, "/image_groups", &query, &list);
    bp_group_list_free(&list);
    return rc;
}

enum bp_rc bp_handle_group_get(struct bp_ctx *ctx, const struct bp_request *req,
                               const struct bp_route_match *match,
                               struct bp_response *res, struct bp_error *err)
{
    char id[BP_ID_LEN + 1];
    struct bp_store *store;
    enum bp_rc rc = path_id(match, id, err);
    if (rc == BP_OK)
        rc = bp_app_store(ctx, &store, err);
    if (rc != BP_OK)
        return rc;
    struct bp_group group;
    rc = bp_store_group_get(store, id, &group, err);
    if (rc != BP_OK)
        return rc;
    rc = send_json(res, 200, bp_group_to_json(&group));
    bp_group_clear(&group);
    return rc;
}

/* Fills group from a create request's patch, with defaults and new id. */
static enum bp_rc group_from_patch(const struct bp_group_patch *patch,
                                   int64_t now, struct bp_group *group)
{
    memset(group, 0, sizeof(*group));
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

enum bp_rc bp_handle_group_create(struct bp_ctx *ctx,
                                  const struct bp_request *req,
                                  const struct bp_route_match *match,
                                  struct bp_response *res, struct bp_error *err)
{
    struct json_object *body;
    enum bp_rc rc =
        bp_json_body_read(req, (size_t)ctx->config->max_json_bytes, &body, err);
    if (rc != BP_OK)
        return rc;
    struct bp_group_limits limits = limits_of(ctx);
    struct bp_group_patch patch;
    struct bp_group group = {0};
    struct bp_store *store;
    rc = bp_group_patch_from_json(body, true, &limits, &patch, err);
    if (rc == BP_OK)
        rc = bp_app_store(ctx, &store, err);
    if (rc == BP_OK)
        rc = group_from_patch(&patch, bp_time_now_ms(), &group);
    if (rc == BP_OK)
        rc = bp_store_group_insert(store, &group, err);
    if (rc != BP_OK)
        goto out_free;
    struct json_object *out = bp_group_to_json(&group);
    if (out != NULL)
        json_object_object_add(out, "group_id",
                               json_object_new_string(group.id));
    rc = send_json(res, 201, out);
    if (rc == BP_OK)
        rc = bp_response_header(res, "Location", "/image_groups/%s", group.id);
out_free:
    bp_group_clear(&group);
    json_object_put(body);
    return rc;
}

enum bp_rc bp_handle_group_update(struct bp_ctx *ctx,
                                  const struct bp_request *req,
                                  const struct bp_route_match *match,
                                  struct bp_response *res, struct bp_error *err)
{
    char id[BP_ID_LEN + 1];
    enum bp_rc rc = path_id(match, id, err);
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
        rc = bp_store_group_update(store, id, &patch, bp_time_now_ms(), &group,
                                   err);
    if (rc == BP_OK) {
        rc = send_json(res, 200, bp_group_to_json(&group));
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
    enum bp_rc rc = path_id(match, id, err);
    if (rc == BP_OK)
        rc = bp_app_store(ctx, &store, err);
    if (rc != BP_OK)
        return rc;
    struct bp_group group;
    rc = bp_store_group_delete(store, id, &group, err);
    if (rc != BP_OK)
        return rc;
    struct json_object *out = json_object_new_object();
    struct json_object *summary = json_object_new_object();
    if (out != NULL && summary != NULL) {
        json_object_object_add(summary, "id", json_object_new_string(group.id));
        json_object_object_add(summary, "name",
                               json_object_new_string(group.name));
        json_object_object_add(out, "image_group", summary);
        summary = NULL;
        json_object_object_add(out, "num_images", json_object_new_int(0));
        json_object_object_add(out, "removed", json_object_new_array());
    }
    json_object_put(summary);
    rc = send_json(res, 200, out);
    bp_group_clear(&group);
    return rc;
}
