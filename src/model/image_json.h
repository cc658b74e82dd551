/*
 * image_json.h: the JSON shape of images, in both directions: the
 * earlier API's image document (with "data" holding the EXIF values
 * under their tag names) and its update requests.
 */
#ifndef BP_IMAGE_JSON_H
#define BP_IMAGE_JSON_H

#include <json-c/json.h>

#include "model/exif_info.h"
#include "model/image.h"
#include "rc.h"

/*
 * Returns the "data" object for exif (NULL: no EXIF) as new JSON text,
 * which the caller frees: DateTime, DateTimeOriginal (ISO 8601 without
 * offset), OffsetTimeOriginal, SubSecTimeOriginal, Make, Model,
 * Orientation and coords {latitude, longitude, altitude}; absent values
 * are left out. NULL when out of memory.
 */
char *bp_image_data_json(const struct bp_exif_info *exif);

/*
 * Returns a new JSON object for image, which the caller releases with
 * json_object_put, or NULL when out of memory. "status" is "pending"
 * while an upload is awaited (with "upload_expires_at"), else "ready";
 * an image with no file yet has null width, height, size and sha256.
 * Its "urls" start with base (the mount point, "" at the root; at most
 * BP_BASE_PATH_MAX bytes).
 */
struct json_object *bp_image_to_json(const struct bp_image *image,
                                     const char *base);

/*
 * Returns a new JSON array of the images of list (released by the
 * caller), or NULL when out of memory; urls start with base.
 */
struct json_object *bp_image_list_to_json(const struct bp_image_list *list,
                                          const char *base);

/*
 * Reads a metadata update, the earlier client's {"data": {"description",
 * "group"}} or the bare object, into patch (strings borrowed from body).
 * BP_EINVAL for unknown fields, wrong types, an over-long description or
 * a malformed group id.
 */
enum bp_rc bp_image_patch_from_json(struct json_object *body,
                                    long max_description_length,
                                    struct bp_image_patch *patch,
                                    struct bp_error *err);

#endif
