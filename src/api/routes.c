/*
 * routes.c: the route table. Adding an endpoint means adding a line
 * here and a handler in handlers_*.c.
 */
#include "api/handlers.h"
#include "api/routes.h"

static const struct bp_route routes[] = {
    {"GET", "/", bp_handle_service_info, BP_ROUTE_PUBLIC},
    {"GET", "/healthz", bp_handle_health, BP_ROUTE_PUBLIC},
    {"GET", "/openapi.json", bp_handle_openapi, BP_ROUTE_PUBLIC},
    {"GET", "/image_groups", bp_handle_group_list, BP_ROUTE_READ},
    {"POST", "/image_groups", bp_handle_group_create, BP_ROUTE_WRITE},
    {"GET", "/image_groups/{id}", bp_handle_group_get, BP_ROUTE_READ},
    {"PATCH", "/image_groups/{id}", bp_handle_group_update, BP_ROUTE_WRITE},
    {"DELETE", "/image_groups/{id}", bp_handle_group_delete, BP_ROUTE_WRITE},
    {"GET", "/images", bp_handle_image_list, BP_ROUTE_READ},
    {"POST", "/images", bp_handle_image_create, BP_ROUTE_WRITE},
    {"GET", "/images/{id}", bp_handle_image_get, BP_ROUTE_READ},
    {"POST", "/images/{group_id}", bp_handle_images_add, BP_ROUTE_WRITE},
    {"PATCH", "/images/{id}", bp_handle_image_update, BP_ROUTE_WRITE},
    {"DELETE", "/images/{id}", bp_handle_image_delete, BP_ROUTE_WRITE},
    {"GET", "/images/{id}/file", bp_handle_image_file, BP_ROUTE_READ},
    {"PATCH", "/images/{id}/file", bp_handle_image_replace_file,
     BP_ROUTE_WRITE},
    {"GET", "/images/{id}/fullsize", bp_handle_image_fullsize, BP_ROUTE_READ},
    {"GET", "/images/{id}/thumb", bp_handle_image_thumb, BP_ROUTE_READ},
    {"POST", "/images/{id}/complete", bp_handle_image_complete, BP_ROUTE_WRITE},
    {"PUT", "/uploads/{token}", bp_handle_upload_put, BP_ROUTE_PUBLIC},
    {"GET", "/original/{group_id}/{filename}", bp_handle_named_original,
     BP_ROUTE_READ},
    {"GET", "/fullsize/{group_id}/{filename}", bp_handle_named_fullsize,
     BP_ROUTE_READ},
    {"GET", "/thumb/{group_id}/{filename}", bp_handle_named_thumb,
     BP_ROUTE_READ},
    {"PATCH", "/events/{event_id}/image_groups", bp_handle_event_groups_detach,
     BP_ROUTE_WRITE},
};

const struct bp_route *bp_routes(size_t *count)
{
    *count = sizeof(routes) / sizeof(routes[0]);
    return routes;
}
