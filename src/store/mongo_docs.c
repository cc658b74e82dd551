/*
 * mongo_docs.c: the BSON documents of the MongoDB backend: records to
 * documents and back, the filters, sorts, updates and options of every
 * store operation, and the index specs. No I/O; see mongo_docs.h.
 *
 * The documents keep the layout of the earlier Python version: _id as
 * an ObjectId, group and event as ObjectIds (or null), times as BSON
 * dates, data as a subdocument. Added for queries: location (a GeoJSON
 * point for the 2dsphere index), taken_at_ms (the capture time as a
 * date) and has_taken_at (1 or 0, so that images without a capture time
 * sort last like SQLite's "taken_at_ms IS NULL"). Added for presigned
 * uploads: status ("pending" while an upload is awaited, else "ready")
 * and, only while awaited, upload: {filename, expires_at (a date)}, which
 * the filters of conditional writes name as "upload.expires_at".
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "store/mongo_docs.h"

/* A JSON data tree deeper than this is refused (libbson's own limit). */
#define MAX_DATA_DEPTH 100

bool bp_mongo_oid(const char *text, bson_oid_t *oid)
{
    if (text == NULL || strlen(text) != BP_ID_LEN ||
        !bson_oid_is_valid(text, BP_ID_LEN))
        return false;
    bson_oid_init_from_string(oid, text);
    return true;
}

/* Appends key: ObjectId(id), or null when id is NULL or "". */
static bool append_oid_or_null(bson_t *doc, const char *key, const char *id)
{
    if (id == NULL || id[0] == '\0')
        return BSON_APPEND_NULL(doc, key);
    bson_oid_t oid;
    if (!bp_mongo_oid(id, &oid))
        return false;
    return BSON_APPEND_OID(doc, key, &oid);
}

/* Appends key: text, or null when text is NULL (or "" with empty_null). */
static bool append_text_or_null(bson_t *doc, const char *key, const char *text,
                                bool empty_null)
{
    if (text == NULL || (empty_null && text[0] == '\0'))
        return BSON_APPEND_NULL(doc, key);
    return BSON_APPEND_UTF8(doc, key, text);
}

enum bp_rc bp_mongo_id_filter(const char *id, bson_t *out)
{
    bson_init(out);
    bson_oid_t oid;
    if (!bp_mongo_oid(id, &oid))
        return BP_EINVAL;
    return BSON_APPEND_OID(out, "_id", &oid) ? BP_OK : BP_ENOMEM;
}

enum bp_rc bp_mongo_ids_filter(const char *ids, size_t stride, size_t n,
                               bson_t *out)
{
    bson_init(out);
    bson_oid_t oid;
    for (size_t i = 0; i < n; i++)
        if (!bp_mongo_oid(ids + i * stride, &oid))
            return BP_EINVAL;
    bson_t id_doc, in;
    bool ok = BSON_APPEND_DOCUMENT_BEGIN(out, "_id", &id_doc) &&
              BSON_APPEND_ARRAY_BEGIN(&id_doc, "$in", &in);
    for (size_t i = 0; ok && i < n; i++) {
        bp_mongo_oid(ids + i * stride, &oid);
        char key[16];
        const char *key_str;
        size_t key_len =
            bson_uint32_to_string((uint32_t)i, &key_str, key, sizeof(key));
        ok = bson_append_oid(&in, key_str, (int)key_len, &oid);
    }
    ok = ok && bson_append_array_end(&id_doc, &in) &&
         bson_append_document_end(out, &id_doc);
    return ok ? BP_OK : BP_ENOMEM;
}

/* Appends the JSON value v under key (key_len bytes) to doc. */
static bool append_json(bson_t *doc, const char *key, int key_len,
                        struct json_object *v, int depth)
{
    if (depth > MAX_DATA_DEPTH)
        return false;
    switch (json_object_get_type(v)) {
    case json_type_null:
        return bson_append_null(doc, key, key_len);
    case json_type_boolean:
        return bson_append_bool(doc, key, key_len, json_object_get_boolean(v));
    case json_type_double:
        return bson_append_double(doc, key, key_len, json_object_get_double(v));
    case json_type_int: {
        int64_t i = json_object_get_int64(v);
        if (i >= INT32_MIN && i <= INT32_MAX)
            return bson_append_int32(doc, key, key_len, (int32_t)i);
        return bson_append_int64(doc, key, key_len, i);
    }
    case json_type_string:
        return bson_append_utf8(doc, key, key_len, json_object_get_string(v),
                                json_object_get_string_len(v));
    case json_type_object: {
        bson_t child;
        if (!bson_append_document_begin(doc, key, key_len, &child))
            return false;
        bool ok = true;
        json_object_object_foreach(v, k, val)
        {
            if (ok)
                ok = append_json(&child, k, -1, val, depth + 1);
        }
        return bson_append_document_end(doc, &child) && ok;
    }
    case json_type_array: {
        bson_t child;
        if (!bson_append_array_begin(doc, key, key_len, &child))
            return false;
        bool ok = true;
        size_t n = json_object_array_length(v);
        for (size_t i = 0; ok && i < n; i++) {
            char buf[16];
            const char *k;
            size_t len =
                bson_uint32_to_string((uint32_t)i, &k, buf, sizeof(buf));
            ok = append_json(&child, k, (int)len,
                             json_object_array_get_idx(v, i), depth + 1);
        }
        return bson_append_array_end(doc, &child) && ok;
    }
    }
    return false;
}

/* Appends the fields of the JSON object obj to doc. */
static bool append_json_fields(bson_t *doc, struct json_object *obj)
{
    json_object_object_foreach(obj, k, val)
    {
        if (!append_json(doc, k, -1, val, 1))
            return false;
    }
    return true;
}

enum bp_rc bp_mongo_data_from_json(const char *json, bson_t *out)
{
    bson_init(out);
    struct json_object *obj = json != NULL ? json_tokener_parse(json) : NULL;
    if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
        json_object_put(obj);
        return BP_EINVAL;
    }
    bool ok = append_json_fields(out, obj);
    json_object_put(obj);
    return ok ? BP_OK : BP_EINVAL;
}

static struct json_object *json_of_doc(const bson_t *doc, bool array,
                                       int depth);

/* Returns the JSON value of the BSON value at iter (NULL is JSON null). */
static struct json_object *json_of_iter(const bson_iter_t *iter, int depth)
{
    switch (bson_iter_type(iter)) {
    case BSON_TYPE_DOUBLE:
        return json_object_new_double(bson_iter_double(iter));
    case BSON_TYPE_INT32:
        return json_object_new_int(bson_iter_int32(iter));
    case BSON_TYPE_INT64:
        return json_object_new_int64(bson_iter_int64(iter));
    case BSON_TYPE_DATE_TIME:
        return json_object_new_int64(bson_iter_date_time(iter));
    case BSON_TYPE_BOOL:
        return json_object_new_boolean(bson_iter_bool(iter));
    case BSON_TYPE_UTF8: {
        uint32_t len;
        const char *s = bson_iter_utf8(iter, &len);
        return json_object_new_string_len(s, (int)len);
    }
    case BSON_TYPE_OID: {
        char hex[BP_ID_LEN + 1];
        bson_oid_to_string(bson_iter_oid(iter), hex);
        return json_object_new_string(hex);
    }
    case BSON_TYPE_DOCUMENT:
    case BSON_TYPE_ARRAY: {
        uint32_t len;
        const uint8_t *data;
        if (bson_iter_type(iter) == BSON_TYPE_DOCUMENT)
            bson_iter_document(iter, &len, &data);
        else
            bson_iter_array(iter, &len, &data);
        bson_t child;
        if (!bson_init_static(&child, data, len))
            return NULL;
        return json_of_doc(&child, bson_iter_type(iter) == BSON_TYPE_ARRAY,
                           depth + 1);
    }
    default:
        return NULL;
    }
}

/* Returns the JSON object (or array) of doc, or NULL on failure. */
static struct json_object *json_of_doc(const bson_t *doc, bool array, int depth)
{
    if (depth > MAX_DATA_DEPTH)
        return NULL;
    struct json_object *obj =
        array ? json_object_new_array() : json_object_new_object();
    bson_iter_t iter;
    if (obj == NULL || !bson_iter_init(&iter, doc)) {
        json_object_put(obj);
        return NULL;
    }
    while (bson_iter_next(&iter)) {
        struct json_object *v = json_of_iter(&iter, depth);
        bson_type_t t = bson_iter_type(&iter);
        if (v == NULL && (t == BSON_TYPE_DOCUMENT || t == BSON_TYPE_ARRAY)) {
            json_object_put(obj);
            return NULL;
        }
        int failed = array
                         ? json_object_array_add(obj, v)
                         : json_object_object_add(obj, bson_iter_key(&iter), v);
        if (failed) {
            json_object_put(v);
            json_object_put(obj);
            return NULL;
        }
    }
    return obj;
}

enum bp_rc bp_mongo_data_to_json(const bson_t *data, char **json)
{
    struct json_object *obj = json_of_doc(data, false, 1);
    if (obj == NULL)
        return BP_ENOMEM;
    const char *text = json_object_to_json_string_ext(
        obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    char *copy = text != NULL ? strdup(text) : NULL;
    json_object_put(obj);
    if (copy == NULL)
        return BP_ENOMEM;
    *json = copy;
    return BP_OK;
}

enum bp_rc bp_mongo_group_doc(const struct bp_group *group, bson_t *out)
{
    bson_init(out);
    bson_oid_t oid;
    if (!bp_mongo_oid(group->id, &oid))
        return BP_EINVAL;
    if (group->event[0] != '\0' &&
        !bp_mongo_oid(group->event, &(bson_oid_t){0}))
        return BP_EINVAL;
    bool ok =
        BSON_APPEND_OID(out, "_id", &oid) &&
        BSON_APPEND_UTF8(out, "name", group->name) &&
        append_text_or_null(out, "description", group->description, false) &&
        append_oid_or_null(out, "event", group->event) &&
        BSON_APPEND_DATE_TIME(out, "created_at", group->created_at) &&
        BSON_APPEND_DATE_TIME(out, "updated_at", group->updated_at);
    /* Absent fields read as their defaults: no owner, public location. */
    if (ok && group->owner[0] != '\0')
        ok = BSON_APPEND_UTF8(out, "owner", group->owner);
    if (ok && group->location_hidden)
        ok = BSON_APPEND_UTF8(out, "location", "hidden");
    return ok ? BP_OK : BP_ENOMEM;
}

/* Copies an ObjectId (or a 24-digit string) at iter into out, else "". */
static void read_id(const bson_iter_t *iter, char out[BP_ID_LEN + 1])
{
    out[0] = '\0';
    if (BSON_ITER_HOLDS_OID(iter)) {
        bson_oid_to_string(bson_iter_oid(iter), out);
    } else if (BSON_ITER_HOLDS_UTF8(iter)) {
        uint32_t len;
        const char *s = bson_iter_utf8(iter, &len);
        if (len == BP_ID_LEN && bson_oid_is_valid(s, len)) {
            bson_oid_t oid;
            bson_oid_init_from_string(&oid, s);
            bson_oid_to_string(&oid, out);
        }
    }
}

/* Returns a copy of the string at iter, or NULL (also for non-strings). */
static char *read_text_dup(const bson_iter_t *iter)
{
    if (!BSON_ITER_HOLDS_UTF8(iter))
        return NULL;
    uint32_t len;
    const char *s = bson_iter_utf8(iter, &len);
    return strndup(s, len);
}

/* Reads a time (a BSON date, or a number of ms) at iter into *ms. */
static bool read_ms(const bson_iter_t *iter, int64_t *ms)
{
    if (BSON_ITER_HOLDS_DATE_TIME(iter)) {
        *ms = bson_iter_date_time(iter);
        return true;
    }
    if (BSON_ITER_HOLDS_NUMBER(iter)) {
        *ms = bson_iter_as_int64(iter);
        return true;
    }
    return false;
}

/* Copies an owner string at iter into out, else "" (also when too long). */
static void read_owner(const bson_iter_t *iter,
                       char out[BP_PRINCIPAL_ID_MAX + 1])
{
    out[0] = '\0';
    if (!BSON_ITER_HOLDS_UTF8(iter))
        return;
    uint32_t len;
    const char *s = bson_iter_utf8(iter, &len);
    if (len <= BP_PRINCIPAL_ID_MAX && strlen(s) == len)
        memcpy(out, s, (size_t)len + 1);
}

enum bp_rc bp_mongo_group_from_doc(const bson_t *doc, struct bp_group *out)
{
    memset(out, 0, sizeof(*out));
    bson_iter_t iter;
    if (!bson_iter_init(&iter, doc))
        return BP_EINTERNAL;
    bool has_name = false;
    enum bp_rc rc = BP_OK;
    while (rc == BP_OK && bson_iter_next(&iter)) {
        const char *key = bson_iter_key(&iter);
        if (strcmp(key, "_id") == 0) {
            read_id(&iter, out->id);
        } else if (strcmp(key, "name") == 0) {
            has_name = BSON_ITER_HOLDS_UTF8(&iter);
            out->name = read_text_dup(&iter);
            if (has_name && out->name == NULL)
                rc = BP_ENOMEM;
        } else if (strcmp(key, "description") == 0) {
            out->description = read_text_dup(&iter);
            if (BSON_ITER_HOLDS_UTF8(&iter) && out->description == NULL)
                rc = BP_ENOMEM;
        } else if (strcmp(key, "event") == 0) {
            read_id(&iter, out->event);
        } else if (strcmp(key, "created_at") == 0) {
            read_ms(&iter, &out->created_at);
        } else if (strcmp(key, "updated_at") == 0) {
            read_ms(&iter, &out->updated_at);
        } else if (strcmp(key, "owner") == 0) {
            read_owner(&iter, out->owner);
        } else if (strcmp(key, "location") == 0) {
            out->location_hidden =
                BSON_ITER_HOLDS_UTF8(&iter) &&
                strcmp(bson_iter_utf8(&iter, NULL), "hidden") == 0;
        }
    }
    if (rc == BP_OK && (out->id[0] == '\0' || !has_name))
        rc = BP_EINTERNAL;
    if (rc != BP_OK)
        bp_group_clear(out);
    return rc;
}

enum bp_rc bp_mongo_group_filter(const struct bp_group_query *query,
                                 bson_t *out)
{
    bson_init(out);
    if (query->event == NULL)
        return BP_OK;
    bson_oid_t oid;
    if (!bp_mongo_oid(query->event, &oid))
        return BP_EINVAL;
    return BSON_APPEND_OID(out, "event", &oid) ? BP_OK : BP_ENOMEM;
}

/* Appends skip and limit (each only when positive) to opts. */
static bool append_paging(bson_t *opts, long offset, long limit)
{
    bool ok = true;
    if (offset > 0)
        ok = BSON_APPEND_INT64(opts, "skip", offset);
    if (ok && limit > 0)
        ok = BSON_APPEND_INT64(opts, "limit", limit);
    return ok;
}

enum bp_rc bp_mongo_group_find_opts(const struct bp_group_query *query,
                                    bson_t *out)
{
    bson_init(out);
    bson_t sort;
    bool ok = BSON_APPEND_DOCUMENT_BEGIN(out, "sort", &sort) &&
              BSON_APPEND_INT32(&sort, "created_at", -1) &&
              BSON_APPEND_INT32(&sort, "_id", -1) &&
              bson_append_document_end(out, &sort) &&
              append_paging(out, query->offset, query->limit);
    return ok ? BP_OK : BP_ENOMEM;
}

enum bp_rc bp_mongo_group_update(const struct bp_group_patch *patch,
                                 int64_t now, bson_t *out)
{
    bson_init(out);
    if (patch->set_event && patch->event[0] != '\0' &&
        !bp_mongo_oid(patch->event, &(bson_oid_t){0}))
        return BP_EINVAL;
    bson_t set;
    bool ok = BSON_APPEND_DOCUMENT_BEGIN(out, "$set", &set);
    if (ok && patch->set_name)
        ok = BSON_APPEND_UTF8(&set, "name", patch->name);
    if (ok && patch->set_description)
        ok =
            append_text_or_null(&set, "description", patch->description, false);
    if (ok && patch->set_event)
        ok = append_oid_or_null(&set, "event", patch->event);
    if (ok && patch->set_location)
        ok = BSON_APPEND_UTF8(&set, "location",
                              patch->location_hidden ? "hidden" : "public");
    ok = ok && BSON_APPEND_DATE_TIME(&set, "updated_at", now) &&
         bson_append_document_end(out, &set);
    return ok ? BP_OK : BP_ENOMEM;
}

/* Appends location: {type: "Point", coordinates: [lon, lat]}. */
static bool append_location(bson_t *doc, double lat, double lon)
{
    bson_t loc, coords;
    return BSON_APPEND_DOCUMENT_BEGIN(doc, "location", &loc) &&
           BSON_APPEND_UTF8(&loc, "type", "Point") &&
           BSON_APPEND_ARRAY_BEGIN(&loc, "coordinates", &coords) &&
           BSON_APPEND_DOUBLE(&coords, "0", lon) &&
           BSON_APPEND_DOUBLE(&coords, "1", lat) &&
           bson_append_array_end(&loc, &coords) &&
           bson_append_document_end(doc, &loc);
}

/*
 * Appends the file-derived fields of image (all but location) to doc.
 * A pending image without a file may have no content type or data yet:
 * "" and {} stand for them. BP_EINVAL for data that is not a JSON
 * object.
 */
static enum bp_rc append_file_fields(bson_t *doc, const struct bp_image *image)
{
    bson_t data;
    enum bp_rc rc = BP_OK;
    if (image->data_json != NULL)
        rc = bp_mongo_data_from_json(image->data_json, &data);
    else
        bson_init(&data);
    if (rc != BP_OK)
        goto out_free_data;
    bool ok =
        BSON_APPEND_UTF8(doc, "filename", image->filename) &&
        BSON_APPEND_UTF8(doc, "content_type",
                         image->content_type ? image->content_type : "") &&
        BSON_APPEND_INT64(doc, "size", image->size) &&
        BSON_APPEND_UTF8(doc, "sha256", image->sha256) &&
        BSON_APPEND_INT64(doc, "width", image->width) &&
        BSON_APPEND_INT64(doc, "height", image->height) &&
        append_text_or_null(doc, "taken_at", image->taken_at, true) &&
        (image->has_taken_at_ms
             ? BSON_APPEND_DATE_TIME(doc, "taken_at_ms", image->taken_at_ms)
             : BSON_APPEND_NULL(doc, "taken_at_ms")) &&
        BSON_APPEND_INT32(doc, "has_taken_at",
                          image->has_taken_at_ms ? 1 : 0) &&
        BSON_APPEND_DOCUMENT(doc, "data", &data);
    rc = ok ? BP_OK : BP_ENOMEM;
out_free_data:
    bson_destroy(&data);
    return rc;
}

/*
 * Appends status: "pending" and upload: {filename (or null), expires_at}
 * while an upload is awaited (expires_at not 0), else status: "ready".
 */
static bool append_upload_state(bson_t *doc, const char *filename,
                                int64_t expires_at)
{
    if (expires_at == 0)
        return BSON_APPEND_UTF8(doc, "status", "ready");
    bson_t upload;
    return BSON_APPEND_UTF8(doc, "status", "pending") &&
           BSON_APPEND_DOCUMENT_BEGIN(doc, "upload", &upload) &&
           append_text_or_null(&upload, "filename", filename, false) &&
           BSON_APPEND_DATE_TIME(&upload, "expires_at", expires_at) &&
           bson_append_document_end(doc, &upload);
}

enum bp_rc bp_mongo_image_doc(const struct bp_image *image, bson_t *out)
{
    bson_init(out);
    bson_oid_t oid;
    if (!bp_mongo_oid(image->id, &oid))
        return BP_EINVAL;
    if (image->group[0] != '\0' &&
        !bp_mongo_oid(image->group, &(bson_oid_t){0}))
        return BP_EINVAL;
    bool ok =
        BSON_APPEND_OID(out, "_id", &oid) &&
        append_oid_or_null(out, "group", image->group) &&
        append_text_or_null(out, "description", image->description, false);
    if (!ok)
        return BP_ENOMEM;
    enum bp_rc rc = append_file_fields(out, image);
    if (rc != BP_OK)
        return rc;
    if (image->has_position)
        ok = append_location(out, image->latitude, image->longitude);
    ok = ok &&
         append_upload_state(out, image->upload_filename,
                             image->upload_expires_at) &&
         BSON_APPEND_DATE_TIME(out, "created_at", image->created_at) &&
         BSON_APPEND_DATE_TIME(out, "updated_at", image->updated_at);
    if (ok && image->owner[0] != '\0')
        ok = BSON_APPEND_UTF8(out, "owner", image->owner);
    return ok ? BP_OK : BP_ENOMEM;
}

/* Copies the string at iter into out (out_len bytes), else "". */
static void read_text_into(const bson_iter_t *iter, char *out, size_t out_len)
{
    out[0] = '\0';
    if (!BSON_ITER_HOLDS_UTF8(iter))
        return;
    uint32_t len;
    const char *s = bson_iter_utf8(iter, &len);
    if (len < out_len && strlen(s) == len)
        memcpy(out, s, (size_t)len + 1);
}

/* Reads {coordinates: [lon, lat]} at iter into image's position. */
static void read_location(const bson_iter_t *iter, struct bp_image *image)
{
    bson_iter_t child;
    double lon, lat;
    if (!BSON_ITER_HOLDS_DOCUMENT(iter) || !bson_iter_recurse(iter, &child) ||
        !bson_iter_find(&child, "coordinates"))
        return;
    bson_iter_t coord;
    if (!BSON_ITER_HOLDS_ARRAY(&child) || !bson_iter_recurse(&child, &coord))
        return;
    if (!bson_iter_next(&coord) || !BSON_ITER_HOLDS_NUMBER(&coord))
        return;
    lon = bson_iter_as_double(&coord);
    if (!bson_iter_next(&coord) || !BSON_ITER_HOLDS_NUMBER(&coord))
        return;
    lat = bson_iter_as_double(&coord);
    image->has_position = true;
    image->latitude = lat;
    image->longitude = lon;
}

/* Reads the data subdocument at iter into image->data_json. */
static enum bp_rc read_data(const bson_iter_t *iter, struct bp_image *image)
{
    if (!BSON_ITER_HOLDS_DOCUMENT(iter))
        return BP_OK; /* left NULL: "{}" below */
    uint32_t len;
    const uint8_t *bytes;
    bson_iter_document(iter, &len, &bytes);
    bson_t data;
    if (!bson_init_static(&data, bytes, len))
        return BP_EINTERNAL;
    return bp_mongo_data_to_json(&data, &image->data_json);
}

/*
 * Reads upload: {filename, expires_at} at iter into image's awaited
 * upload; anything else there leaves it NULL and 0.
 */
static enum bp_rc read_upload(const bson_iter_t *iter, struct bp_image *image)
{
    bson_iter_t child;
    if (!BSON_ITER_HOLDS_DOCUMENT(iter) || !bson_iter_recurse(iter, &child))
        return BP_OK;
    while (bson_iter_next(&child)) {
        const char *key = bson_iter_key(&child);
        if (strcmp(key, "expires_at") == 0) {
            read_ms(&child, &image->upload_expires_at);
        } else if (strcmp(key, "filename") == 0 &&
                   BSON_ITER_HOLDS_UTF8(&child)) {
            free(image->upload_filename);
            image->upload_filename = read_text_dup(&child);
            if (image->upload_filename == NULL)
                return BP_ENOMEM;
        }
    }
    return BP_OK;
}

/* Reads one field of an image document at iter into out. */
static enum bp_rc read_image_field(const bson_iter_t *iter,
                                   struct bp_image *out)
{
    const char *key = bson_iter_key(iter);
    char **text = NULL;
    if (strcmp(key, "_id") == 0)
        read_id(iter, out->id);
    else if (strcmp(key, "group") == 0)
        read_id(iter, out->group);
    else if (strcmp(key, "filename") == 0)
        text = &out->filename;
    else if (strcmp(key, "description") == 0)
        text = &out->description;
    else if (strcmp(key, "content_type") == 0)
        text = &out->content_type;
    else if (strcmp(key, "size") == 0 && BSON_ITER_HOLDS_NUMBER(iter))
        out->size = bson_iter_as_int64(iter);
    else if (strcmp(key, "sha256") == 0)
        read_text_into(iter, out->sha256, sizeof(out->sha256));
    else if (strcmp(key, "width") == 0 && BSON_ITER_HOLDS_NUMBER(iter))
        out->width = (long)bson_iter_as_int64(iter);
    else if (strcmp(key, "height") == 0 && BSON_ITER_HOLDS_NUMBER(iter))
        out->height = (long)bson_iter_as_int64(iter);
    else if (strcmp(key, "taken_at") == 0)
        read_text_into(iter, out->taken_at, sizeof(out->taken_at));
    else if (strcmp(key, "taken_at_ms") == 0)
        out->has_taken_at_ms = read_ms(iter, &out->taken_at_ms);
    else if (strcmp(key, "data") == 0)
        return read_data(iter, out);
    else if (strcmp(key, "location") == 0)
        read_location(iter, out);
    else if (strcmp(key, "upload") == 0)
        return read_upload(iter, out);
    else if (strcmp(key, "created_at") == 0)
        read_ms(iter, &out->created_at);
    else if (strcmp(key, "updated_at") == 0)
        read_ms(iter, &out->updated_at);
    else if (strcmp(key, "owner") == 0)
        read_owner(iter, out->owner);
    if (text != NULL && BSON_ITER_HOLDS_UTF8(iter)) {
        free(*text);
        *text = read_text_dup(iter);
        if (*text == NULL)
            return BP_ENOMEM;
    }
    return BP_OK;
}

enum bp_rc bp_mongo_image_from_doc(const bson_t *doc, struct bp_image *out)
{
    memset(out, 0, sizeof(*out));
    bson_iter_t iter;
    if (!bson_iter_init(&iter, doc))
        return BP_EINTERNAL;
    enum bp_rc rc = BP_OK;
    while (rc == BP_OK && bson_iter_next(&iter))
        rc = read_image_field(&iter, out);
    if (rc == BP_OK && out->data_json == NULL) {
        out->data_json = strdup("{}");
        if (out->data_json == NULL)
            rc = BP_ENOMEM;
    }
    if (rc == BP_OK && (out->id[0] == '\0' || out->filename == NULL ||
                        out->content_type == NULL))
        rc = BP_EINTERNAL;
    if (rc != BP_OK)
        bp_image_clear(out);
    return rc;
}

/* Appends {location: {$geoWithin: {$box: [[x0, y0], [x1, y1]]}}} to arr. */
static bool append_box(bson_t *arr, const char *key, double x0, double y0,
                       double x1, double y1)
{
    bson_t clause, loc, within, box, lo, hi;
    return BSON_APPEND_DOCUMENT_BEGIN(arr, key, &clause) &&
           BSON_APPEND_DOCUMENT_BEGIN(&clause, "location", &loc) &&
           BSON_APPEND_DOCUMENT_BEGIN(&loc, "$geoWithin", &within) &&
           BSON_APPEND_ARRAY_BEGIN(&within, "$box", &box) &&
           BSON_APPEND_ARRAY_BEGIN(&box, "0", &lo) &&
           BSON_APPEND_DOUBLE(&lo, "0", x0) &&
           BSON_APPEND_DOUBLE(&lo, "1", y0) &&
           bson_append_array_end(&box, &lo) &&
           BSON_APPEND_ARRAY_BEGIN(&box, "1", &hi) &&
           BSON_APPEND_DOUBLE(&hi, "0", x1) &&
           BSON_APPEND_DOUBLE(&hi, "1", y1) &&
           bson_append_array_end(&box, &hi) &&
           bson_append_array_end(&within, &box) &&
           bson_append_document_end(&loc, &within) &&
           bson_append_document_end(&clause, &loc) &&
           bson_append_document_end(arr, &clause);
}

/*
 * Appends the bounding box clause of q under key: one $box, or, when the
 * box crosses the antimeridian (min_lon > max_lon), an $or of the part
 * east of min_lon and the part west of max_lon. Like SQLite's BETWEEN,
 * the edges belong to the box.
 */
static bool append_bbox(bson_t *arr, const char *key,
                        const struct bp_image_query *q)
{
    if (q->min_lon <= q->max_lon)
        return append_box(arr, key, q->min_lon, q->min_lat, q->max_lon,
                          q->max_lat);
    bson_t clause, or ;
    return BSON_APPEND_DOCUMENT_BEGIN(arr, key, &clause) &&
           BSON_APPEND_ARRAY_BEGIN(&clause, "$or", & or) &&
           append_box(& or, "0", q->min_lon, q->min_lat, 180.0, q->max_lat) &&
           append_box(& or, "1", -180.0, q->min_lat, q->max_lon, q->max_lat) &&
           bson_append_array_end(&clause, & or) &&
           bson_append_document_end(arr, &clause);
}

/*
 * Appends {location: {$geoWithin: {$centerSphere: [[lon, lat], r]}}}
 * under key, r being radius_m in radians of BP_MONGO_EARTH_RADIUS_M,
 * at most pi (the whole sphere, which the server accepts).
 */
static bool append_near(bson_t *arr, const char *key,
                        const struct bp_image_query *q)
{
    double radians = q->radius_m / BP_MONGO_EARTH_RADIUS_M;
    if (radians > M_PI)
        radians = M_PI;
    bson_t clause, loc, within, sphere, center;
    return BSON_APPEND_DOCUMENT_BEGIN(arr, key, &clause) &&
           BSON_APPEND_DOCUMENT_BEGIN(&clause, "location", &loc) &&
           BSON_APPEND_DOCUMENT_BEGIN(&loc, "$geoWithin", &within) &&
           BSON_APPEND_ARRAY_BEGIN(&within, "$centerSphere", &sphere) &&
           BSON_APPEND_ARRAY_BEGIN(&sphere, "0", &center) &&
           BSON_APPEND_DOUBLE(&center, "0", q->near_lon) &&
           BSON_APPEND_DOUBLE(&center, "1", q->near_lat) &&
           bson_append_array_end(&sphere, &center) &&
           BSON_APPEND_DOUBLE(&sphere, "1", radians) &&
           bson_append_array_end(&within, &sphere) &&
           bson_append_document_end(&loc, &within) &&
           bson_append_document_end(&clause, &loc) &&
           bson_append_document_end(arr, &clause);
}

enum bp_rc bp_mongo_hidden_groups_filter(const char *viewer, bson_t *out)
{
    bson_init(out);
    bson_t ne;
    bool ok = BSON_APPEND_UTF8(out, "location", "hidden") &&
              BSON_APPEND_DOCUMENT_BEGIN(out, "owner", &ne) &&
              BSON_APPEND_UTF8(&ne, "$ne", viewer) &&
              bson_append_document_end(out, &ne);
    return ok ? BP_OK : BP_ENOMEM;
}

/* Appends {$or: [{group: {$nin: hidden}}, {owner: viewer}]} to and. */
static bool append_not_hidden(bson_t *and, const char *index,
                              const bson_t *hidden, const char *viewer)
{
    bson_t clause, or, first, nin, second;
    return BSON_APPEND_DOCUMENT_BEGIN(and, index, &clause) &&
           BSON_APPEND_ARRAY_BEGIN(&clause, "$or", & or) &&
           BSON_APPEND_DOCUMENT_BEGIN(& or, "0", &first) &&
           BSON_APPEND_DOCUMENT_BEGIN(&first, "group", &nin) &&
           BSON_APPEND_ARRAY(&nin, "$nin", hidden) &&
           bson_append_document_end(&first, &nin) &&
           bson_append_document_end(& or, &first) &&
           BSON_APPEND_DOCUMENT_BEGIN(& or, "1", &second) &&
           BSON_APPEND_UTF8(&second, "owner", viewer) &&
           bson_append_document_end(& or, &second) &&
           bson_append_array_end(&clause, & or) &&
           bson_append_document_end(and, &clause);
}

enum bp_rc bp_mongo_image_filter(const struct bp_image_query *query,
                                 const bson_t *hidden, bson_t *out)
{
    bson_init(out);
    bool ok = true;
    if (query->group != NULL) {
        bson_oid_t oid;
        if (!bp_mongo_oid(query->group, &oid))
            return BP_EINVAL;
        ok = BSON_APPEND_OID(out, "group", &oid);
    }
    if (ok && query->filename != NULL)
        ok = BSON_APPEND_UTF8(out, "filename", query->filename);
    if (ok && (query->has_taken_after || query->has_taken_before)) {
        bson_t range;
        ok = BSON_APPEND_DOCUMENT_BEGIN(out, "taken_at_ms", &range);
        if (ok && query->has_taken_after)
            ok = BSON_APPEND_DATE_TIME(&range, "$gte", query->taken_after_ms);
        if (ok && query->has_taken_before)
            ok = BSON_APPEND_DATE_TIME(&range, "$lte", query->taken_before_ms);
        ok = ok && bson_append_document_end(out, &range);
    }
    if (ok && query->has_upload_expired_before) {
        /* Ready images have no upload field: they never match. */
        bson_t range;
        ok = BSON_APPEND_DOCUMENT_BEGIN(out, "upload.expires_at", &range) &&
             BSON_APPEND_DATE_TIME(&range, "$lt",
                                   query->upload_expired_before_ms) &&
             bson_append_document_end(out, &range);
    }
    if (ok && (query->has_bbox || query->has_near)) {
        /* In an $and, so that both may constrain location. */
        bson_t and;
        ok = BSON_APPEND_ARRAY_BEGIN(out, "$and", &and);
        if (ok && query->has_bbox)
            ok = append_bbox(&and, "0", query);
        if (ok && query->has_near)
            ok = append_near(&and, query->has_bbox ? "1" : "0", query);
        /* An owner is never "", so anonymous viewers own nothing. */
        if (ok && query->hide_hidden_locations && hidden != NULL &&
            !bson_empty(hidden))
            ok = append_not_hidden(
                &and, query->has_bbox && query->has_near ? "2" : "1", hidden,
                query->viewer != NULL ? query->viewer : "");
        ok = ok && bson_append_array_end(out, &and);
    }
    return ok ? BP_OK : BP_ENOMEM;
}

/* Appends the image order to doc: the fields of SQLite's ORDER BY. */
static bool append_image_order(bson_t *doc)
{
    return BSON_APPEND_INT32(doc, "has_taken_at", -1) &&
           BSON_APPEND_INT32(doc, "taken_at_ms", 1) &&
           BSON_APPEND_INT32(doc, "created_at", 1) &&
           BSON_APPEND_INT32(doc, "_id", 1);
}

enum bp_rc bp_mongo_image_sort(bson_t *out)
{
    bson_init(out);
    return append_image_order(out) ? BP_OK : BP_ENOMEM;
}

enum bp_rc bp_mongo_image_find_opts(const struct bp_image_query *query,
                                    bson_t *out)
{
    bson_init(out);
    bson_t sort;
    bool ok = BSON_APPEND_DOCUMENT_BEGIN(out, "sort", &sort) &&
              append_image_order(&sort) &&
              bson_append_document_end(out, &sort) &&
              append_paging(out, query->offset, query->limit);
    return ok ? BP_OK : BP_ENOMEM;
}

enum bp_rc bp_mongo_image_update(const struct bp_image_patch *patch,
                                 int64_t now, bson_t *out)
{
    bson_init(out);
    if (patch->set_group && patch->group[0] != '\0' &&
        !bp_mongo_oid(patch->group, &(bson_oid_t){0}))
        return BP_EINVAL;
    bson_t set;
    bool ok = BSON_APPEND_DOCUMENT_BEGIN(out, "$set", &set);
    if (ok && patch->set_description)
        ok =
            append_text_or_null(&set, "description", patch->description, false);
    if (ok && patch->set_group)
        ok = append_oid_or_null(&set, "group", patch->group);
    if (ok && patch->set_filename && patch->filename != NULL)
        ok = BSON_APPEND_UTF8(&set, "filename", patch->filename);
    /* A NULL file name stops awaiting, whatever the expiry says. */
    int64_t expires_at =
        patch->upload_filename != NULL ? patch->upload_expires_at : 0;
    if (ok && patch->set_upload)
        ok = append_upload_state(&set, patch->upload_filename, expires_at);
    ok = ok && BSON_APPEND_DATE_TIME(&set, "updated_at", now) &&
         bson_append_document_end(out, &set);
    if (ok && patch->set_upload && expires_at == 0) {
        bson_t unset;
        ok = BSON_APPEND_DOCUMENT_BEGIN(out, "$unset", &unset) &&
             BSON_APPEND_UTF8(&unset, "upload", "") &&
             bson_append_document_end(out, &unset);
    }
    return ok ? BP_OK : BP_ENOMEM;
}

enum bp_rc bp_mongo_image_replace_file_update(const struct bp_image *file,
                                              int64_t now, bson_t *out)
{
    bson_init(out);
    bson_t set;
    if (!BSON_APPEND_DOCUMENT_BEGIN(out, "$set", &set))
        return BP_ENOMEM;
    enum bp_rc rc = append_file_fields(&set, file);
    bool ok = rc == BP_OK;
    if (ok && file->has_position)
        ok = append_location(&set, file->latitude, file->longitude);
    /* A file ends any awaited upload: the image is ready. */
    ok = ok && BSON_APPEND_UTF8(&set, "status", "ready") &&
         BSON_APPEND_DATE_TIME(&set, "updated_at", now);
    /* Close the subdocument even on failure, so that out can be freed. */
    ok = bson_append_document_end(out, &set) && ok;
    if (rc != BP_OK)
        return rc;
    bson_t unset;
    ok = ok && BSON_APPEND_DOCUMENT_BEGIN(out, "$unset", &unset);
    if (ok && !file->has_position)
        ok = BSON_APPEND_UTF8(&unset, "location", "");
    ok = ok && BSON_APPEND_UTF8(&unset, "upload", "") &&
         bson_append_document_end(out, &unset);
    return ok ? BP_OK : BP_ENOMEM;
}

/*
 * Appends the awaited upload a conditional write requires to filter:
 * "upload.expires_at": expires_at as a date, or null for none.
 */
static bool append_awaited(bson_t *filter, int64_t expires_at)
{
    if (expires_at == 0)
        return BSON_APPEND_NULL(filter, "upload.expires_at");
    return BSON_APPEND_DATE_TIME(filter, "upload.expires_at", expires_at);
}

enum bp_rc bp_mongo_image_update_filter(const char *id,
                                        const struct bp_image_patch *patch,
                                        bson_t *out)
{
    enum bp_rc rc = bp_mongo_id_filter(id, out);
    if (rc == BP_OK && patch->if_upload &&
        !append_awaited(out, patch->if_upload_expires_at))
        rc = BP_ENOMEM;
    return rc;
}

enum bp_rc bp_mongo_image_replace_file_filter(const struct bp_image *file,
                                              bson_t *out)
{
    enum bp_rc rc = bp_mongo_id_filter(file->id, out);
    if (rc == BP_OK && file->upload_expires_at != 0 &&
        !append_awaited(out, file->upload_expires_at))
        rc = BP_ENOMEM;
    return rc;
}

enum bp_rc bp_mongo_image_delete_awaiting_filter(const char *id,
                                                 int64_t upload_expires_at,
                                                 bson_t *out)
{
    enum bp_rc rc = bp_mongo_id_filter(id, out);
    /* A date even for 0 (the epoch, which no awaited upload has): an
     * image that awaits none is not deleted. */
    if (rc == BP_OK &&
        !(BSON_APPEND_UTF8(out, "sha256", "") &&
          BSON_APPEND_DATE_TIME(out, "upload.expires_at", upload_expires_at)))
        rc = BP_ENOMEM;
    return rc;
}

/*
 * One index: its name, its keys (1, -1 or "2dsphere"), in order, and
 * whether it is sparse (only documents that have the key are indexed).
 */
struct index_spec {
    const char *name;
    const char *keys[6];
    const char *kinds[6]; /* "1", "-1" or "2dsphere" */
    bool sparse;
};

static const struct index_spec group_indexes[] = {
    {"created", {"created_at", "_id"}, {"-1", "-1"}, false},
    {"event_created", {"event", "created_at", "_id"}, {"1", "-1", "-1"}, false},
    /* The hidden groups a place filter leaves out (only those have a
     * location field). */
    {"hidden_location", {"location", "owner"}, {"1", "1"}, true},
};

static const struct index_spec image_indexes[] = {
    {"group_order",
     {"group", "has_taken_at", "taken_at_ms", "created_at", "_id"},
     {"1", "-1", "1", "1", "1"},
     false},
    {"order",
     {"has_taken_at", "taken_at_ms", "created_at", "_id"},
     {"-1", "1", "1", "1"},
     false},
    {"taken_at_ms", {"taken_at_ms"}, {"1"}, false},
    {"location_2dsphere", {"location"}, {"2dsphere"}, false},
    /* Only pending images have upload: the expiry sweep reads few. */
    {"upload_expires_at", {"upload.expires_at"}, {"1"}, true},
    /* A file by its name in its group (the earlier client's file paths). */
    {"group_filename", {"group", "filename"}, {"1", "1"}, false},
};

/* Appends {key: {...}, name: ...} for spec to the array indexes. */
static bool append_index(bson_t *indexes, const char *array_key,
                         const struct index_spec *spec)
{
    bson_t index, keys;
    bool ok = BSON_APPEND_DOCUMENT_BEGIN(indexes, array_key, &index) &&
              BSON_APPEND_DOCUMENT_BEGIN(&index, "key", &keys);
    for (size_t i = 0; ok && i < 6 && spec->keys[i] != NULL; i++) {
        const char *kind = spec->kinds[i];
        if (strcmp(kind, "1") == 0)
            ok = BSON_APPEND_INT32(&keys, spec->keys[i], 1);
        else if (strcmp(kind, "-1") == 0)
            ok = BSON_APPEND_INT32(&keys, spec->keys[i], -1);
        else
            ok = BSON_APPEND_UTF8(&keys, spec->keys[i], kind);
    }
    ok = ok && bson_append_document_end(&index, &keys) &&
         BSON_APPEND_UTF8(&index, "name", spec->name);
    if (ok && spec->sparse)
        ok = BSON_APPEND_BOOL(&index, "sparse", true);
    return ok && bson_append_document_end(indexes, &index);
}

enum bp_rc bp_mongo_index_specs(const char *collection, bson_t *out)
{
    bson_init(out);
    const struct index_spec *specs;
    size_t n;
    if (strcmp(collection, BP_MONGO_GROUPS) == 0) {
        specs = group_indexes;
        n = sizeof(group_indexes) / sizeof(group_indexes[0]);
    } else if (strcmp(collection, BP_MONGO_IMAGES) == 0) {
        specs = image_indexes;
        n = sizeof(image_indexes) / sizeof(image_indexes[0]);
    } else {
        return BP_EINVAL;
    }
    bson_t indexes;
    bool ok = BSON_APPEND_UTF8(out, "createIndexes", collection) &&
              BSON_APPEND_ARRAY_BEGIN(out, "indexes", &indexes);
    for (size_t i = 0; ok && i < n; i++) {
        char buf[16];
        const char *key;
        bson_uint32_to_string((uint32_t)i, &key, buf, sizeof(buf));
        ok = append_index(&indexes, key, &specs[i]);
    }
    ok = ok && bson_append_array_end(out, &indexes);
    return ok ? BP_OK : BP_ENOMEM;
}

enum bp_rc bp_mongo_key_doc(const struct bp_api_key *key, bson_t *out)
{
    bson_init(out);
    bson_oid_t oid;
    if (!bp_mongo_oid(key->id, &oid))
        return BP_EINVAL;
    bool ok = BSON_APPEND_OID(out, "_id", &oid) &&
              BSON_APPEND_UTF8(out, "name", key->name) &&
              BSON_APPEND_UTF8(out, "role", bp_role_name(key->role)) &&
              BSON_APPEND_UTF8(out, "secret_sha256", key->secret_sha256) &&
              BSON_APPEND_DATE_TIME(out, "created_at", key->created_at) &&
              BSON_APPEND_INT64(out, "expires_at", key->expires_at) &&
              BSON_APPEND_INT64(out, "revoked_at", key->revoked_at);
    return ok ? BP_OK : BP_ENOMEM;
}

enum bp_rc bp_mongo_key_from_doc(const bson_t *doc, struct bp_api_key *out)
{
    memset(out, 0, sizeof(*out));
    bson_iter_t iter;
    if (!bson_iter_init(&iter, doc))
        return BP_EINTERNAL;
    while (bson_iter_next(&iter)) {
        const char *key = bson_iter_key(&iter);
        if (strcmp(key, "_id") == 0)
            read_id(&iter, out->id);
        else if (strcmp(key, "name") == 0)
            read_text_into(&iter, out->name, sizeof(out->name));
        else if (strcmp(key, "role") == 0 && BSON_ITER_HOLDS_UTF8(&iter) &&
                 !bp_role_parse(bson_iter_utf8(&iter, NULL), &out->role))
            out->role = BP_ROLE_ANONYMOUS;
        else if (strcmp(key, "secret_sha256") == 0)
            read_text_into(&iter, out->secret_sha256,
                           sizeof(out->secret_sha256));
        else if (strcmp(key, "created_at") == 0)
            read_ms(&iter, &out->created_at);
        else if (strcmp(key, "expires_at") == 0)
            read_ms(&iter, &out->expires_at);
        else if (strcmp(key, "revoked_at") == 0)
            read_ms(&iter, &out->revoked_at);
    }
    /* A damaged hash matches no secret, as on SQLite: the key is refused,
     * and still listed so that it can be revoked. */
    if (strlen(out->secret_sha256) != 64)
        out->secret_sha256[0] = '\0';
    return out->id[0] == '\0' ? BP_EINTERNAL : BP_OK;
}

enum bp_rc bp_mongo_detach_event(const char *event, const char *owner,
                                 int64_t now, bson_t *filter, bson_t *update)
{
    bson_init(filter);
    bson_init(update);
    bson_oid_t oid;
    if (!bp_mongo_oid(event, &oid))
        return BP_EINVAL;
    bson_t set;
    bool ok = BSON_APPEND_OID(filter, "event", &oid) &&
              (owner == NULL || BSON_APPEND_UTF8(filter, "owner", owner)) &&
              BSON_APPEND_DOCUMENT_BEGIN(update, "$set", &set) &&
              BSON_APPEND_NULL(&set, "event") &&
              BSON_APPEND_DATE_TIME(&set, "updated_at", now) &&
              bson_append_document_end(update, &set);
    return ok ? BP_OK : BP_ENOMEM;
}
