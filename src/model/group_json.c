/*
 * group_json.c: mapping image groups to and from JSON.
 */
#include <string.h>

#include "http/json_input.h"
#include "model/group_json.h"
#include "model/ids.h"
#include "model/timeutil.h"

static enum bp_rc read_name(struct json_object *value, bool creating,
                            const struct bp_group_limits *limits,
                            struct bp_group_patch *patch, struct bp_error *err)
{
    if (value == NULL) {
        if (creating)
            return BP_OK;
        return bp_error_set(err, BP_EINVAL, "name must not be null");
    }
    const char *name;
    enum bp_rc rc = bp_json_string_field(value, "name", limits->max_name_length,
                                         &name, err);
    if (rc != BP_OK)
        return rc;
    if (strspn(name, " \t\r\n") == strlen(name))
        return bp_error_set(err, BP_EINVAL, "name must not be empty");
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return bp_error_set(err, BP_EINVAL,
                                "name must not contain control characters");
    patch->set_name = true;
    patch->name = name;
    return BP_OK;
}

static enum bp_rc read_description(struct json_object *value,
                                   const struct bp_group_limits *limits,
                                   struct bp_group_patch *patch,
                                   struct bp_error *err)
{
    patch->set_description = true;
    patch->description = NULL;
    if (value == NULL)
        return BP_OK;
    return bp_json_string_field(value, "description",
                                limits->max_description_length,
                                &patch->description, err);
}

static enum bp_rc read_location(struct json_object *value,
                                struct bp_group_patch *patch,
                                struct bp_error *err)
{
    const char *text = json_object_is_type(value, json_type_string)
                           ? json_object_get_string(value)
                           : "";
    if (strcmp(text, "public") != 0 && strcmp(text, "hidden") != 0)
        return bp_error_set(err, BP_EINVAL,
                            "location must be \"public\" or \"hidden\"");
    patch->set_location = true;
    patch->location_hidden = strcmp(text, "hidden") == 0;
    return BP_OK;
}

/*
 * An update may carry the group's "images" as the earlier web client
 * sends them: an empty list, which changes nothing. Photos are added
 * with POST /images/{group_id}.
 */
static enum bp_rc read_images(struct json_object *value, struct bp_error *err)
{
    if (value == NULL || (json_object_is_type(value, json_type_array) &&
                          json_object_array_length(value) == 0))
        return BP_OK;
    return bp_error_set(err, BP_EINVAL,
                        "images cannot be changed by an update: add photos "
                        "with POST /images/{group_id}");
}

static enum bp_rc read_event(struct json_object *value,
                             struct bp_group_patch *patch, struct bp_error *err)
{
    patch->set_event = true;
    patch->event[0] = '\0';
    if (value == NULL)
        return BP_OK;
    if (!json_object_is_type(value, json_type_string) ||
        !bp_id_parse(json_object_get_string(value), patch->event))
        return bp_error_set(err, BP_EINVAL,
                            "event must be a 24-character hex id or null");
    return BP_OK;
}

enum bp_rc bp_group_patch_from_json(struct json_object *body, bool creating,
                                    const struct bp_group_limits *limits,
                                    struct bp_group_patch *patch,
                                    struct bp_error *err)
{
    memset(patch, 0, sizeof(*patch));
    if (!json_object_is_type(body, json_type_object))
        return bp_error_set(err, BP_EINVAL, "Body must be a JSON object");
    struct json_object *inner;
    if (json_object_object_get_ex(body, "group", &inner)) {
        if (json_object_object_length(body) != 1)
            return bp_error_set(err, BP_EINVAL,
                                "Unknown field next to 'group'");
        if (!json_object_is_type(inner, json_type_object))
            return bp_error_set(err, BP_EINVAL, "group must be an object");
        body = inner;
    }
    json_object_object_foreach(body, key, value)
    {
        enum bp_rc rc;
        if (strcmp(key, "name") == 0)
            rc = read_name(value, creating, limits, patch, err);
        else if (strcmp(key, "description") == 0)
            rc = read_description(value, limits, patch, err);
        else if (strcmp(key, "event") == 0)
            rc = read_event(value, patch, err);
        else if (strcmp(key, "location") == 0)
            rc = read_location(value, patch, err);
        else if (strcmp(key, "images") == 0 && !creating)
            rc = read_images(value, err);
        else
            rc = bp_error_set(err, BP_EINVAL, "Unknown field '%.64s'", key);
        if (rc != BP_OK)
            return rc;
    }
    return BP_OK;
}

/* Adds key: value to obj, taking value; returns -1 when anything failed. */
static int put(struct json_object *obj, const char *key,
               struct json_object *value, int nullable)
{
    if (value == NULL && !nullable)
        return -1;
    return json_object_object_add(obj, key, value);
}

static struct json_object *time_value(int64_t ms)
{
    char text[BP_TIME_ISO_LEN];
    bp_time_format_iso(ms, text);
    return json_object_new_string(text);
}

struct json_object *bp_group_to_json(const struct bp_group *group)
{
    struct json_object *obj = json_object_new_object();
    if (obj == NULL)
        return NULL;
    int failed = 0;
    failed |= put(obj, "id", json_object_new_string(group->id), 0);
    failed |= put(obj, "name", json_object_new_string(group->name), 0);
    failed |= put(obj, "description",
                  group->description == NULL
                      ? NULL
                      : json_object_new_string(group->description),
                  group->description == NULL);
    failed |= put(
        obj, "event",
        group->event[0] == '\0' ? NULL : json_object_new_string(group->event),
        group->event[0] == '\0');
    failed |= put(
        obj, "owner",
        group->owner[0] == '\0' ? NULL : json_object_new_string(group->owner),
        group->owner[0] == '\0');
    failed |= put(
        obj, "location",
        json_object_new_string(group->location_hidden ? "hidden" : "public"),
        0);
    failed |= put(obj, "created_at", time_value(group->created_at), 0);
    failed |= put(obj, "updated_at", time_value(group->updated_at), 0);
    failed |= put(obj, "images", json_object_new_array(), 0);
    if (failed) {
        json_object_put(obj);
        return NULL;
    }
    return obj;
}
