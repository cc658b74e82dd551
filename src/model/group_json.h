/*
 * group_json.h: the JSON shape of image groups, in both directions. It
 * accepts the earlier client's wrapped form {"group": {...}} and the bare
 * object, and renders groups as the earlier API did.
 */
#ifndef BP_GROUP_JSON_H
#define BP_GROUP_JSON_H

#include <json-c/json.h>

#include "model/group.h"
#include "rc.h"

struct bp_group_limits {
    long max_name_length;
    long max_description_length;
};

/*
 * Reads the fields of a group create or update from the parsed body
 * into patch. Strings in patch are borrowed from body. Unknown fields,
 * wrong types, an invalid event id, an empty or over-long name give
 * BP_EINVAL; a null name is accepted only when creating (it then takes
 * the default, as a missing one does). An update accepts "images" when
 * it is an empty list (or null), as the earlier web client sends it.
 */
enum bp_rc bp_group_patch_from_json(struct json_object *body, bool creating,
                                    const struct bp_group_limits *limits,
                                    struct bp_group_patch *patch,
                                    struct bp_error *err);

/*
 * Returns a new JSON object for group ({"id", "name", "description",
 * "event", "owner", "location", "created_at", "updated_at",
 * "images": []}) that the caller
 * releases with json_object_put, or NULL when out of memory.
 */
struct json_object *bp_group_to_json(const struct bp_group *group);

#endif
