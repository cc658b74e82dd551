/*
 * direct_upload.h: uploads that go straight to the blob store. The
 * client names its files; each gets an image record at once, pending,
 * and a URL to PUT the file to: presigned for S3, or a signed URL of
 * this API (PUT /uploads/<token>) on the local backend. The received
 * file waits under incoming/<id> until completion validates and
 * processes it exactly like a direct upload and makes the image ready.
 * Uploads that never arrive expire.
 */
#ifndef BP_DIRECT_UPLOAD_H
#define BP_DIRECT_UPLOAD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "api/app.h"
#include "http/request.h"
#include "model/filename.h"
#include "model/group.h"
#include "model/image.h"

/* The file names a client asks upload URLs for. */
struct bp_direct_upload_names {
    char (*names)[BP_FILENAME_MAX + 1]; /* owned; count sanitized names */
    size_t count;
};

/*
 * Returns the Content-Type an upload of filename must be sent with,
 * chosen by its extension ("a.JPG" → "image/jpeg"), or NULL when the
 * extension is not one of a supported image format.
 */
const char *bp_direct_upload_type(const char *filename);

/*
 * Reads value, a JSON array of 1 to max_files file names, into *out
 * (freed by the caller with bp_direct_upload_names_free whatever the
 * result). BP_EINVAL for anything else, BP_ETOOBIG for too many names,
 * BP_EUNSUPPORTED for a name without a supported image extension.
 */
enum bp_rc bp_direct_upload_names_read(struct json_object *value,
                                       long max_files,
                                       struct bp_direct_upload_names *out,
                                       struct bp_error *err);

/* Frees the names of names; names may be NULL. */
void bp_direct_upload_names_free(struct bp_direct_upload_names *names);

/*
 * Fills out (zeroed by the caller, freed with bp_image_list_free) with a
 * new pending image record per name, in group (NULL or "" for none),
 * created at now and awaiting its upload until now + upload_expires_s.
 */
enum bp_rc bp_direct_upload_records(const struct bp_ctx *ctx,
                                    const struct bp_direct_upload_names *names,
                                    const char *group, int64_t now,
                                    struct bp_image_list *out);

/*
 * Returns in *out a new JSON array (released by the caller) with one
 * {"id", "filename", "presigned_url", "type"} object per awaited image
 * of list: where and with which Content-Type to PUT its file.
 * BP_EINVAL when the local upload URL cannot be formed (no Host and no
 * api_base_url).
 */
enum bp_rc bp_direct_upload_items(struct bp_ctx *ctx,
                                  const struct bp_request *req,
                                  const struct bp_image_list *list,
                                  struct json_object **out,
                                  struct bp_error *err);

/*
 * Starts direct uploads into group: reads names (a JSON array of at most
 * max_files file names), makes one pending image per name, forms their
 * upload URLs, then inserts the images, after group itself when
 * group_is_new, all or nothing (each name made unique in the group, as
 * unique_name.h says). On BP_OK *out is the answer (released by
 * the caller): {"<list_key>": [items], "group_id", "name"}. Errors as
 * bp_direct_upload_names_read, bp_direct_upload_items and
 * bp_store_images_insert give them; nothing is stored on failure.
 */
enum bp_rc bp_direct_upload_start(
    struct bp_ctx *ctx, const struct bp_request *req, struct bp_store *store,
    const struct bp_group *group, bool group_is_new, struct json_object *names,
    const char *list_key, struct json_object **out, struct bp_error *err);

/*
 * Completes the awaited upload of image: the received file is checked
 * and processed as a direct upload is, its files stored, the record
 * made ready, and the received copy removed. On BP_OK *out holds the
 * ready record (cleared by the caller). BP_ECONFLICT when image awaits
 * no upload or its file has not arrived,
 * BP_ENOTFOUND when the upload expired and the image was dropped with
 * it; for a file that is not an acceptable image the errors of
 * bp_ingest_prepare, and the file is removed (the image stays pending
 * until its upload expires, so the client may upload again).
 */
enum bp_rc bp_direct_upload_complete(struct bp_ctx *ctx, struct bp_store *store,
                                     const struct bp_image *image,
                                     struct bp_image *out,
                                     struct bp_error *err);

/* What one expiry pass did (or would do, in a dry run). */
struct bp_direct_upload_sweep {
    size_t completed; /* files that had arrived, processed late */
    size_t dropped;   /* images that never had a file, deleted */
    size_t reverted;  /* replacements that never came, image kept */
    size_t failed;    /* left for the next pass */
};

/*
 * Ends the uploads that expired before now: a file that arrived is
 * completed; otherwise an image that never had a file is deleted and a
 * replacement that never came is forgotten. Handles at most limit
 * images per call. With dry_run nothing changes and *sweep counts what
 * would happen. Each action is reported to log, or to the service's log
 * (log.h) when log is NULL.
 */
enum bp_rc bp_direct_upload_expire(struct bp_ctx *ctx, struct bp_store *store,
                                   int64_t now, long limit, bool dry_run,
                                   FILE *log,
                                   struct bp_direct_upload_sweep *sweep,
                                   struct bp_error *err);

/*
 * Completes the awaited upload of *image when its file has arrived,
 * replacing *image by the ready record. Returns BP_ENOTFOUND when the
 * image is gone (its upload expired and took it along). A replacement
 * that expired was forgotten: *image then shows it ready again. Other
 * failures to complete are only logged, and *image stays pending.
 */
enum bp_rc bp_direct_upload_settle(struct bp_ctx *ctx, struct bp_store *store,
                                   struct bp_image *image,
                                   struct bp_error *err);

/* How many pending images one read request completes at most. */
#define BP_DIRECT_UPLOAD_SETTLE_BUDGET 16

/*
 * Settles (bp_direct_upload_settle) the pending images of list whose
 * upload may have arrived: at most *budget completions (it counts down)
 * and four times as many looks (the rest stay pending until a later
 * read), replacing their
 * records in list; an image whose upload expired meanwhile is dropped
 * from list. Returns BP_OK unless the store fails.
 */
enum bp_rc bp_direct_upload_settle_list(struct bp_ctx *ctx,
                                        struct bp_store *store,
                                        struct bp_image_list *list,
                                        size_t *budget, struct bp_error *err);

#endif
