/*
 * mongo_docs.h: the BSON documents of the MongoDB backend. Pure
 * functions that turn records and queries into the documents, filters,
 * updates, options and commands store_mongo.c sends, and turn the
 * documents the server returns back into records. They do no I/O, so
 * they are unit-tested without a server.
 *
 * Every builder takes an uninitialised bson_t *out and, whatever it
 * returns, leaves it initialised: the caller always frees it with
 * bson_destroy. On an error its content is unspecified.
 */
#ifndef BP_MONGO_DOCS_H
#define BP_MONGO_DOCS_H

#include <stdbool.h>
#include <stdint.h>

#include <bson/bson.h>

#include "model/group.h"
#include "model/image.h"
#include "rc.h"
#include "store/store.h"

#define BP_MONGO_GROUPS "image_groups"
#define BP_MONGO_IMAGES "images"
#define BP_MONGO_KEYS "api_keys"

/*
 * The Earth radius that turns metres into the radians of $centerSphere:
 * the mean radius (IUGG) the SQLite backend's haversine distance uses,
 * so that both backends select the same images.
 */
#define BP_MONGO_EARTH_RADIUS_M 6371008.8

/*
 * Parses a 24-digit hex id into *oid. Returns false, leaving *oid
 * untouched, when text is NULL or not an id.
 */
bool bp_mongo_oid(const char *text, bson_oid_t *oid);

/* Builds {_id: ObjectId(id)}. BP_EINVAL when id is not an id. */
enum bp_rc bp_mongo_id_filter(const char *id, bson_t *out);

/*
 * Builds {_id: {$in: [ObjectId...]}} from n ids, each BP_ID_LEN + 1
 * bytes apart starting at ids (the id field of an array of records is
 * passed as &items[0].id with stride sizeof(items[0])). BP_EINVAL for a
 * malformed id.
 */
enum bp_rc bp_mongo_ids_filter(const char *ids, size_t stride, size_t n,
                               bson_t *out);

/*
 * Converts the JSON object text of an image's data into BSON: integers
 * become int32 (or int64 when they do not fit), other numbers doubles,
 * so that bp_mongo_data_to_json gives the same text back. BP_EINVAL when
 * json is not a JSON object, BP_ENOMEM.
 */
enum bp_rc bp_mongo_data_from_json(const char *json, bson_t *out);

/*
 * Converts a data subdocument back into JSON text in the format the
 * rest of Bandpics writes (json-c, plain, unescaped slashes). On BP_OK
 * *json is the caller's, freed with free(). BP_ENOMEM.
 */
enum bp_rc bp_mongo_data_to_json(const bson_t *data, char **json);

/*
 * Builds a group's document: _id, name, description (or null), event
 * (ObjectId or null), created_at and updated_at as BSON dates. BP_EINVAL
 * for a malformed id.
 */
enum bp_rc bp_mongo_group_doc(const struct bp_group *group, bson_t *out);

/*
 * Reads a group's document into *out, which the caller clears with
 * bp_group_clear on BP_OK. BP_EINTERNAL for a document without an
 * ObjectId _id or a name, BP_ENOMEM.
 */
enum bp_rc bp_mongo_group_from_doc(const bson_t *doc, struct bp_group *out);

/* Builds the filter of a group listing: {} or {event: ObjectId}. */
enum bp_rc bp_mongo_group_filter(const struct bp_group_query *query,
                                 bson_t *out);

/*
 * Builds the find options of a group listing: newest first
 * (created_at, then _id, descending), skip and limit.
 */
enum bp_rc bp_mongo_group_find_opts(const struct bp_group_query *query,
                                    bson_t *out);

/*
 * Builds the update of a group patch: {$set: {...fields the patch sets,
 * updated_at}}; a cleared description or event is set to null.
 */
enum bp_rc bp_mongo_group_update(const struct bp_group_patch *patch,
                                 int64_t now, bson_t *out);

/*
 * Builds an image's document: _id, group (ObjectId or null), filename,
 * description, content_type, size, sha256, width, height, taken_at
 * (string or null), taken_at_ms (BSON date or null), has_taken_at (1 or
 * 0, so that a sort puts images without a capture time last), data (a
 * subdocument; {} when data_json is NULL), location (a GeoJSON point,
 * only with a position), status ("pending" while an upload is awaited,
 * i.e. upload_expires_at is not 0, else "ready"), upload ({filename,
 * expires_at as a BSON date}, only while awaited), created_at and
 * updated_at. A NULL content_type is stored "". BP_EINVAL for a
 * malformed id or data.
 */
enum bp_rc bp_mongo_image_doc(const struct bp_image *image, bson_t *out);

/*
 * Reads an image's document into *out, which the caller clears with
 * bp_image_clear on BP_OK; the awaited upload comes from the upload
 * subdocument (none without it: NULL and 0). BP_EINTERNAL for a
 * document that lacks a required field, BP_ENOMEM.
 */
enum bp_rc bp_mongo_image_from_doc(const bson_t *doc, struct bp_image *out);

/*
 * Builds the filter of an image listing: group, capture time bounds
 * (inclusive), an awaited upload that expires before a time
 * ({"upload.expires_at": {$lt: date}}), a bounding box through
 * $geoWithin/$box (two boxes in an $or when it crosses the antimeridian)
 * and a distance through $geoWithin/$centerSphere. With
 * hide_hidden_locations and a place filter, hidden (a BSON array of the
 * ObjectIds of hidden groups the viewer does not own, from
 * bp_mongo_hidden_groups_filter; NULL for none) is excluded unless the
 * image is the viewer's. BP_EINVAL for a malformed group id.
 */
enum bp_rc bp_mongo_image_filter(const struct bp_image_query *query,
                                 const bson_t *hidden, bson_t *out);

/*
 * Builds the filter of the groups whose location is hidden from viewer
 * ("" for anonymous): {location: "hidden", owner: {$ne: viewer}}.
 */
enum bp_rc bp_mongo_hidden_groups_filter(const char *viewer, bson_t *out);

/* Builds the sort of image listings: capture time (missing last),
 * creation, _id. */
enum bp_rc bp_mongo_image_sort(bson_t *out);

/* Builds the find options of an image listing: sort, skip, limit. */
enum bp_rc bp_mongo_image_find_opts(const struct bp_image_query *query,
                                    bson_t *out);

/*
 * Builds the update of an image patch: {$set: {description?, group?,
 * status?, upload?, updated_at}}; a cleared description or group is set
 * to null. With set_upload, awaiting sets status "pending" and upload;
 * stopping (a NULL upload_filename or a 0 expiry) sets status "ready"
 * and adds {$unset: {upload: ""}}. BP_EINVAL for a malformed group id.
 */
enum bp_rc bp_mongo_image_update(const struct bp_image_patch *patch,
                                 int64_t now, bson_t *out);

/*
 * Builds the update that replaces an image's file-derived fields with
 * those of file, ends any awaited upload and sets updated_at: {$set:
 * {..., status: "ready", updated_at}, $unset: {location: "" (when file
 * has no position), upload: ""}}. BP_EINVAL for malformed data.
 */
enum bp_rc bp_mongo_image_replace_file_update(const struct bp_image *file,
                                              int64_t now, bson_t *out);

/*
 * Builds the filter of an image update: {_id: ObjectId(id)} and, with
 * patch->if_upload, the awaited upload the update requires:
 * "upload.expires_at": if_upload_expires_at as a date, or null when it
 * is 0 (awaits none: a ready image has no upload, see
 * bp_mongo_image_from_doc). BP_EINVAL for a malformed id.
 */
enum bp_rc bp_mongo_image_update_filter(const char *id,
                                        const struct bp_image_patch *patch,
                                        bson_t *out);

/*
 * Builds the filter of a file replace: {_id: ObjectId(file->id)} and,
 * when file->upload_expires_at is not 0 (a conditional replace),
 * "upload.expires_at": that date. BP_EINVAL for a malformed id.
 */
enum bp_rc bp_mongo_image_replace_file_filter(const struct bp_image *file,
                                              bson_t *out);

/*
 * Builds the filter of the delete of an image that never had a file and
 * awaits the upload expiring at upload_expires_at: {_id: ObjectId(id),
 * sha256: "", "upload.expires_at": date}; for 0 the date is the epoch,
 * which selects no image. BP_EINVAL for a malformed id.
 */
enum bp_rc bp_mongo_image_delete_awaiting_filter(const char *id,
                                                 int64_t upload_expires_at,
                                                 bson_t *out);

/*
 * Builds the createIndexes command for collection (BP_MONGO_GROUPS or
 * BP_MONGO_IMAGES); images get a sparse index on upload.expires_at for
 * the expired-upload filter. Running it again with the same specs
 * changes nothing. BP_EINVAL for another collection.
 */
enum bp_rc bp_mongo_index_specs(const char *collection, bson_t *out);

/*
 * Builds the filter and the update that detach event from its groups
 * (only owner's, when owner is not NULL): {event, [owner]} and
 * {$set: {event: null, updated_at: now}}. BP_EINVAL for a malformed
 * event id.
 */
enum bp_rc bp_mongo_detach_event(const char *event, const char *owner,
                                 int64_t now, bson_t *filter, bson_t *update);

/*
 * Builds the document of an API key: {_id, name, role, secret_sha256,
 * created_at (a date), expires_at and revoked_at (ms, 0 for none)}.
 * BP_EINVAL for a malformed id, BP_ENOMEM.
 */
enum bp_rc bp_mongo_key_doc(const struct bp_api_key *key, bson_t *out);

/*
 * Reads an API key document into *out. An unknown role reads as
 * anonymous (which may do nothing), a malformed secret hash as "" (which
 * matches no secret). BP_EINTERNAL when the document lacks an id.
 */
enum bp_rc bp_mongo_key_from_doc(const bson_t *doc, struct bp_api_key *out);

#endif
