/*
 * routes.c: the route table. Adding an endpoint means adding a line
 * here and a handler in handlers_*.c.
 */
#include "api/handlers.h"
#include "api/routes.h"

static const struct bp_route routes[] = {
    {"GET", "/", bp_handle_service_info},
    {"GET", "/healthz", bp_handle_health},
    {"GET", "/image_groups", bp_handle_group_list},
    {"POST", "/image_groups", bp_handle_group_create},
    {"GET", "/image_groups/{id}", bp_handle_group_get},
    {"PATCH", "/image_groups/{id}", bp_handle_group_update},
    {"DELETE", "/image_groups/{id}", bp_handle_group_delete},
    {"GET", "/images", bp_handle_image_list},
    {"POST", "/images", bp_handle_image_create},
    {"GET", "/images/{id}", bp_handle_image_get},
    {"POST", "/images/{group_id}", bp_handle_images_add},
    {"PATCH", "/images/{id}", bp_handle_image_update},
    {"DELETE", "/images/{id}", bp_handle_image_delete},
    {"GET", "/images/{id}/file", bp_handle_image_file},
    {"PATCH", "/images/{id}/file", bp_handle_image_replace_file},
    {"GET", "/images/{id}/fullsize", bp_handle_image_fullsize},
    {"GET", "/images/{id}/thumb", bp_handle_image_thumb},
    {"POST", "/images/{id}/complete", bp_handle_image_complete},
    {"PUT", "/uploads/{token}", bp_handle_upload_put},
};

const struct bp_route *bp_routes(size_t *count)
{
    *count = sizeof(routes) / sizeof(routes[0]);
    return routes;
}
