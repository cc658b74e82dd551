/*
 * image_json.c: mapping images to and from JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "http/json_input.h"
#include "model/image_json.h"
#include "model/timeutil.h"

/* Adds key: text to obj when text is not empty. */
static void add_text(struct json_object *obj, const char *key, const char *text)
{
    if (text[0] != '\0')
        json_object_object_add(obj, key, json_object_new_string(text));
}

char *bp_image_data_json(const struct bp_exif_info *exif)
{
    struct json_object *data = json_object_new_object();
    if (data == NULL)
        return NULL;
    if (exif != NULL) {
        add_text(data, "DateTime", exif->date_time);
        add_text(data, "DateTimeOriginal", exif->date_time_original);
        add_text(data, "OffsetTimeOriginal", exif->offset_time_original);
        add_text(data, "SubSecTimeOriginal", exif->subsec_time_original);
        add_text(data, "Make", exif->make);
        add_text(data, "Model", exif->model);
        if (exif->orientation != 0)
            json_object_object_add(data, "Orientation",
                                   json_object_new_int(exif->orientation));
        if (exif->coords.has_position) {
            struct json_object *coords = json_object_new_object();
            json_object_object_add(
                coords, "latitude",
                json_object_new_double(exif->coords.latitude));
            json_object_object_add(
                coords, "longitude",
                json_object_new_double(exif->coords.longitude));
            if (exif->coords.has_altitude)
                json_object_object_add(
                    coords, "altitude",
                    json_object_new_double(exif->coords.altitude));
            json_object_object_add(data, "coords", coords);
        }
    }
    const char *text = json_object_to_json_string_ext(
        data, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    char *copy = text != NULL ? strdup(text) : NULL;
    json_object_put(data);
    return copy;
}

static struct json_object *nullable_string(const char *text)
{
    return text == NULL || text[0] == '\0' ? NULL
                                           : json_object_new_string(text);
}

static struct json_object *urls_of(const char *base, const char *id)
{
    static const char *const kinds[] = {"file", "fullsize", "thumb"};
    struct json_object *urls = json_object_new_object();
    for (size_t i = 0; urls != NULL && i < 3; i++) {
        char url[BP_BASE_PATH_MAX + 80];
        snprintf(url, sizeof(url), "%s/images/%s/%s", base, id, kinds[i]);
        json_object_object_add(urls, kinds[i], json_object_new_string(url));
    }
    return urls;
}

struct json_object *bp_image_to_json(const struct bp_image *image,
                                     const char *base)
{
    struct json_object *obj = json_object_new_object();
    if (obj == NULL)
        return NULL;
    char created[BP_TIME_ISO_LEN], updated[BP_TIME_ISO_LEN];
    bp_time_format_iso(image->created_at, created);
    bp_time_format_iso(image->updated_at, updated);
    struct json_object *data = json_tokener_parse(image->data_json);
    if (data == NULL)
        data = json_object_new_object();
    json_object_object_add(obj, "id", json_object_new_string(image->id));
    json_object_object_add(obj, "filename",
                           json_object_new_string(image->filename));
    json_object_object_add(obj, "description",
                           nullable_string(image->description));
    json_object_object_add(obj, "group", nullable_string(image->group));
    json_object_object_add(obj, "created_at", json_object_new_string(created));
    json_object_object_add(obj, "updated_at", json_object_new_string(updated));
    json_object_object_add(obj, "data", data);
    /* A pending image that never had a file has no file facts yet. */
    bool has_file = bp_image_has_file(image);
    json_object_object_add(
        obj, "width", has_file ? json_object_new_int64(image->width) : NULL);
    json_object_object_add(
        obj, "height", has_file ? json_object_new_int64(image->height) : NULL);
    json_object_object_add(obj, "content_type",
                           json_object_new_string(image->content_type));
    json_object_object_add(
        obj, "size", has_file ? json_object_new_int64(image->size) : NULL);
    json_object_object_add(obj, "sha256", nullable_string(image->sha256));
    json_object_object_add(obj, "taken_at", nullable_string(image->taken_at));
    json_object_object_add(obj, "urls", urls_of(base, image->id));
    json_object_object_add(obj, "owner", nullable_string(image->owner));
    bool awaited = bp_image_upload_awaited(image);
    json_object_object_add(
        obj, "status", json_object_new_string(awaited ? "pending" : "ready"));
    if (awaited) {
        char expires[BP_TIME_ISO_LEN];
        bp_time_format_iso(image->upload_expires_at, expires);
        json_object_object_add(obj, "upload_expires_at",
                               json_object_new_string(expires));
    }
    return obj;
}

struct json_object *bp_image_list_to_json(const struct bp_image_list *list,
                                          const char *base)
{
    struct json_object *array = json_object_new_array_ext((int)list->count);
    for (size_t i = 0; array != NULL && i < list->count; i++) {
        struct json_object *item = bp_image_to_json(&list->items[i], base);
        if (item == NULL || json_object_array_add(array, item) != 0) {
            json_object_put(item);
            json_object_put(array);
            return NULL;
        }
    }
    return array;
}

enum bp_rc bp_image_patch_from_json(struct json_object *body,
                                    long max_description_length,
                                    struct bp_image_patch *patch,
                                    struct bp_error *err)
{
    memset(patch, 0, sizeof(*patch));
    if (!json_object_is_type(body, json_type_object))
        return bp_error_set(err, BP_EINVAL, "Body must be a JSON object");
    struct json_object *inner;
    if (json_object_object_get_ex(body, "data", &inner)) {
        if (json_object_object_length(body) != 1)
            return bp_error_set(err, BP_EINVAL, "Unknown field next to 'data'");
        if (!json_object_is_type(inner, json_type_object))
            return bp_error_set(err, BP_EINVAL, "data must be an object");
        body = inner;
    }
    json_object_object_foreach(body, key, value)
    {
        enum bp_rc rc = BP_OK;
        if (strcmp(key, "description") == 0) {
            patch->set_description = true;
            if (value != NULL)
                rc = bp_json_string_field(value, "description",
                                          max_description_length,
                                          &patch->description, err);
        } else if (strcmp(key, "group") == 0) {
            patch->set_group = true;
            if (value != NULL &&
                (!json_object_is_type(value, json_type_string) ||
                 !bp_id_parse(json_object_get_string(value), patch->group)))
                rc = bp_error_set(err, BP_EINVAL,
                                  "group must be a 24-character hex id or "
                                  "null");
        } else {
            rc = bp_error_set(err, BP_EINVAL, "Unknown field '%.64s'", key);
        }
        if (rc != BP_OK)
            return rc;
    }
    return BP_OK;
}
