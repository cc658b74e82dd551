/*
 * privacy.c: hiding the positions of images in hidden groups from
 * callers who own neither the group nor the image.
 */
#include <string.h>

#include "api/privacy.h"

bool bp_privacy_hides_group(const struct bp_ctx *ctx,
                            const struct bp_group *group)
{
    return group != NULL && group->location_hidden &&
           !bp_principal_sees_private(&ctx->principal, group->owner);
}

/* Removes data.coords from the JSON of one image. */
static void strip_position(struct json_object *image_json)
{
    struct json_object *data;
    if (json_object_object_get_ex(image_json, "data", &data) &&
        json_object_is_type(data, json_type_object))
        json_object_object_del(data, "coords");
}

/* Strips item (the JSON of image) when group hides it from ctx. */
static void apply_one(const struct bp_ctx *ctx, const struct bp_group *group,
                      const struct bp_image *image, struct json_object *item)
{
    if (bp_privacy_hides_group(ctx, group) &&
        !bp_principal_sees_private(&ctx->principal, image->owner))
        strip_position(item);
}

void bp_privacy_apply_group(const struct bp_ctx *ctx,
                            const struct bp_group *group,
                            const struct bp_image_list *images,
                            struct json_object *array)
{
    if (!bp_privacy_hides_group(ctx, group))
        return;
    for (size_t i = 0; i < images->count; i++)
        apply_one(ctx, group, &images->items[i],
                  json_object_array_get_idx(array, i));
}

enum bp_rc bp_privacy_apply_list(const struct bp_ctx *ctx,
                                 struct bp_store *store,
                                 const struct bp_image_list *images,
                                 struct json_object *array,
                                 struct bp_error *err)
{
    if (ctx->principal.role == BP_ROLE_ADMIN)
        return BP_OK;
    /* Images come grouped by nothing in particular: remember the last
     * group read, which serves runs of images of one group. */
    struct bp_group group = {0};
    bool have = false;
    enum bp_rc rc = BP_OK;
    for (size_t i = 0; rc == BP_OK && i < images->count; i++) {
        const struct bp_image *image = &images->items[i];
        if (image->group[0] == '\0')
            continue;
        if (!have || strcmp(group.id, image->group) != 0) {
            bp_group_clear(&group);
            have = false;
            rc = bp_store_group_get(store, image->group, &group, err);
            if (rc == BP_ENOTFOUND) {
                rc = BP_OK;
                continue;
            }
            have = rc == BP_OK;
        }
        if (have)
            apply_one(ctx, &group, image, json_object_array_get_idx(array, i));
    }
    bp_group_clear(&group);
    return rc;
}

enum bp_rc bp_privacy_apply_image(const struct bp_ctx *ctx,
                                  struct bp_store *store,
                                  const struct bp_image *image,
                                  struct json_object *obj, struct bp_error *err)
{
    if (ctx->principal.role == BP_ROLE_ADMIN || image->group[0] == '\0')
        return BP_OK;
    struct bp_group group;
    enum bp_rc rc = bp_store_group_get(store, image->group, &group, err);
    if (rc == BP_ENOTFOUND)
        return BP_OK;
    if (rc == BP_OK)
        apply_one(ctx, &group, image, obj);
    bp_group_clear(&group);
    return rc;
}

void bp_privacy_scope_query(const struct bp_ctx *ctx,
                            struct bp_image_query *query)
{
    query->hide_hidden_locations = ctx->principal.role != BP_ROLE_ADMIN;
    query->viewer = ctx->principal.id;
}
