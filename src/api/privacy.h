/*
 * privacy.h: the positions a caller may see. A group whose location is
 * "hidden" shows the coordinates of its images only to admins, to the
 * group's owner and to each image's owner; everyone else gets the
 * images' JSON without data.coords (and place filters skip them, which
 * the store does from the query's viewer).
 */
#ifndef BP_PRIVACY_H
#define BP_PRIVACY_H

#include <stdbool.h>

#include <json-c/json.h>

#include "api/app.h"
#include "model/group.h"
#include "model/image.h"

/*
 * Returns true when ctx's caller may not see the positions in group
 * (NULL: an image without a group, whose position is always shown),
 * except those of images it owns.
 */
bool bp_privacy_hides_group(const struct bp_ctx *ctx,
                            const struct bp_group *group);

/*
 * Removes the position from the JSON of each of images (array holds
 * their JSON, in the same order) that ctx's caller may not see because
 * the group is hidden; group is the images' group.
 */
void bp_privacy_apply_group(const struct bp_ctx *ctx,
                            const struct bp_group *group,
                            const struct bp_image_list *images,
                            struct json_object *array);

/*
 * Like bp_privacy_apply_group for images of any groups, reading each
 * group once from store. Returns the store's error when a group cannot
 * be read (a group deleted meanwhile hides nothing).
 */
enum bp_rc bp_privacy_apply_list(const struct bp_ctx *ctx,
                                 struct bp_store *store,
                                 const struct bp_image_list *images,
                                 struct json_object *array,
                                 struct bp_error *err);

/*
 * bp_privacy_apply_list for one image and its JSON object, obj.
 */
enum bp_rc bp_privacy_apply_image(const struct bp_ctx *ctx,
                                  struct bp_store *store,
                                  const struct bp_image *image,
                                  struct json_object *obj,
                                  struct bp_error *err);

/* Sets the viewer fields of an image query for ctx's caller. */
void bp_privacy_scope_query(const struct bp_ctx *ctx,
                            struct bp_image_query *query);

#endif
