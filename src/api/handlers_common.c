/*
 * handlers_common.c: what several handlers share: reading an id from
 * the path, sending a JSON value, the paging headers of lists, and the
 * log lines of the changes they make.
 */
#include <stdio.h>
#include <string.h>

#include "api/handlers.h"
#include "log.h"
#include "model/ids.h"

enum bp_rc bp_handler_path_id(const struct bp_route_match *match, size_t index,
                              char id[BP_ID_LEN + 1], struct bp_error *err)
{
    if (index >= match->count || !bp_id_parse(match->captures[index], id))
        return bp_error_set(err, BP_EINVAL,
                            "Invalid id: expected 24 hex characters");
    return BP_OK;
}

enum bp_rc bp_handler_send_json(struct bp_response *res, int status,
                                struct json_object *value)
{
    if (value == NULL)
        return BP_ENOMEM;
    enum bp_rc rc = bp_response_json(res, status, value);
    json_object_put(value);
    return rc;
}

/* Appends the parameters of query other than limit and offset to link. */
static enum bp_rc keep_filters(struct bp_buf *link, const char *query)
{
    for (const char *p = query; *p != '\0';) {
        size_t len = strcspn(p, "&");
        size_t key = strcspn(p, "=&");
        int paging = (key == 5 && strncmp(p, "limit", 5) == 0) ||
                     (key == 6 && strncmp(p, "offset", 6) == 0);
        if (!paging && len > 0) {
            enum bp_rc rc = bp_buf_append(link, "&", 1);
            if (rc == BP_OK)
                rc = bp_buf_append(link, p, len);
            if (rc != BP_OK)
                return rc;
        }
        p += len;
        if (*p == '&')
            p++;
    }
    return BP_OK;
}

enum bp_rc bp_handler_paging_headers(const struct bp_request *req,
                                     struct bp_response *res, long limit,
                                     long offset, size_t count, long long total)
{
    enum bp_rc rc = bp_response_header(res, "X-Total-Count", "%lld", total);
    long long next = (long long)offset + (long long)count;
    if (rc != BP_OK || count == 0 || next >= total)
        return rc;
    struct bp_buf link;
    bp_buf_init(&link, 1800);
    rc = bp_buf_printf(&link, "<%s%s?limit=%ld&offset=%lld", req->base,
                       req->path, limit, next);
    if (rc == BP_OK)
        rc = keep_filters(&link, req->query);
    if (rc == BP_OK)
        rc = bp_response_header(res, "Link", "%s>; rel=\"next\"", link.data);
    bp_buf_free(&link);
    /* A query too long to repeat only loses the link, not the page. */
    return rc == BP_ETOOBIG || rc == BP_EINVAL ? BP_OK : rc;
}

void bp_handler_log_change(const struct bp_ctx *ctx,
                           const struct bp_request *req, const char *action,
                           const char *kind, const char *id)
{
    bp_log_change(action, kind, id, ctx->principal.id, req->request_id);
}

void bp_handler_log_images(const struct bp_ctx *ctx,
                           const struct bp_request *req, const char *action,
                           const struct bp_image_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        bp_handler_log_change(ctx, req, action, "image", list->items[i].id);
}

void bp_handler_log_items(const struct bp_ctx *ctx,
                          const struct bp_request *req, const char *action,
                          struct json_object *answer, const char *key)
{
    struct json_object *items, *id;
    if (!json_object_object_get_ex(answer, key, &items) ||
        !json_object_is_type(items, json_type_array))
        return;
    for (size_t i = 0; i < json_object_array_length(items); i++)
        if (json_object_object_get_ex(json_object_array_get_idx(items, i), "id",
                                      &id))
            bp_handler_log_change(ctx, req, action, "image",
                                  json_object_get_string(id));
}
