/*
 * image_files.h: the files of an image in the blob store (the original
 * and the two gallery sizes, keyed by image id so that moving an image
 * changes only metadata) and how they are served: through nginx's
 * X-Accel-Redirect when the web server offers it (nginx), or X-Sendfile
 * (Apache's mod_xsendfile), else streamed by the worker with ETag,
 * conditional and Range support.
 */
#ifndef BP_IMAGE_FILES_H
#define BP_IMAGE_FILES_H

#include "blob/blob.h"
#include "http/request.h"
#include "http/response.h"
#include "model/image.h"

enum bp_image_variant {
    BP_VARIANT_ORIGINAL,
    BP_VARIANT_FULLSIZE,
    BP_VARIANT_THUMB,
    /* The original with its GPS data removed losslessly ("public/<id>"),
     * what callers who do not own the image get for "file". Stored when
     * there was GPS data to remove; empty when it could not be removed. */
    BP_VARIANT_LOCATIONLESS,
};

/* Room for the longest key: staging/<id>/<attempt id>/fullsize.jpg. */
#define BP_IMAGE_KEY_LEN 96

/* Writes the blob key of variant of image id ("thumb/<id>.jpg") to out. */
void bp_image_key(const char *id, enum bp_image_variant variant,
                  char out[BP_IMAGE_KEY_LEN]);

/*
 * Writes the key an awaited upload of image is received under
 * ("incoming/<id>/<upload_expires_at>") to out: each upload of an image
 * has its own, so a stale upload URL never writes over a newer upload.
 */
void bp_image_incoming_key(const struct bp_image *image,
                           char out[BP_IMAGE_KEY_LEN]);

/*
 * Stores the files of image (its id, and its content type for the
 * originals) from local paths: original, fullsize, thumb and, when
 * locationless is not NULL, the original without GPS data. Either all
 * are stored or, on failure, none is left behind.
 */
enum bp_rc bp_image_files_put(struct bp_blob_store *blobs,
                              const struct bp_image *image,
                              const char *original, const char *fullsize,
                              const char *thumb, const char *locationless,
                              struct bp_error *err);

/*
 * Replacing an image's files without a window where the record and the
 * files disagree: bp_image_files_stage puts the new files under staging
 * keys of one attempt ("staging/<id>/<attempt>/...", attempt an id made
 * for it, so concurrent attempts never share keys), the caller updates
 * the record, then bp_image_files_promote moves them over the image's
 * own keys (or bp_image_files_unstage drops them when the update
 * failed). A new file without a locationless copy removes the old
 * image's copy when promoted (has_locationless false).
 */
enum bp_rc bp_image_files_stage(struct bp_blob_store *blobs,
                                const struct bp_image *image,
                                const char *attempt, const char *original,
                                const char *fullsize, const char *thumb,
                                const char *locationless, struct bp_error *err);
enum bp_rc bp_image_files_promote(struct bp_blob_store *blobs, const char *id,
                                  const char *attempt, bool has_locationless,
                                  struct bp_error *err);
void bp_image_files_unstage(struct bp_blob_store *blobs, const char *id,
                            const char *attempt);

/*
 * Deletes the files of image and the upload it awaits. The first
 * storage failure stops it (the rest is left for the orphan sweep, not
 * waited for); a quick failure is retried once. Deleting missing files
 * succeeds.
 */
enum bp_rc bp_image_files_remove(struct bp_blob_store *blobs,
                                 const struct bp_image *image,
                                 struct bp_error *err);

/*
 * Fills res with variant of image: a 302 to a URL of the blob store
 * (presigned for redirect_expires_s seconds, or on a CDN) when the store
 * has such URLs; else an X-Accel-Redirect to the web server's internal
 * location when req carries BANDPICS_FILES_PREFIX; else, answering
 * If-None-Match with 304, an X-Sendfile of the file under
 * BANDPICS_SENDFILE_ROOT (the local store's root, Apache) when req
 * carries it, or the file itself, answering a single byte range with
 * 206 (416 when unsatisfiable). BP_ENOTFOUND when the file is missing
 * from a local store. For BP_VARIANT_LOCATIONLESS it serves the copy
 * without GPS data; an image whose copy is empty (its GPS data could not
 * be removed without re-encoding) is refused with BP_EFORBIDDEN, and one
 * without a copy is served as uploaded unless it has a position. An
 * original is never redirected to a CDN. With private_answer the answer
 * says that it depends on who asks (Cache-Control: private, Vary).
 */
enum bp_rc bp_image_files_serve(struct bp_blob_store *blobs,
                                const struct bp_request *req,
                                const struct bp_image *image,
                                enum bp_image_variant variant,
                                long redirect_expires_s, bool private_answer,
                                struct bp_response *res, struct bp_error *err);

#endif
