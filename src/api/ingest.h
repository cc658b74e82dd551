/*
 * ingest.h: turning uploaded files into stored images. A batch is
 * prepared (every file validated, its metadata read and its gallery
 * sizes rendered into temporary files), then its files are put in the
 * blob store, then the caller inserts the records; every step undoes
 * itself on failure, so a request that fails leaves nothing behind.
 */
#ifndef BP_INGEST_H
#define BP_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "api/app.h"
#include "api/upload.h"
#include "model/image.h"

struct bp_ingest {
    struct bp_image *images; /* owned; count records, ready to insert */
    char **fullsize_paths;   /* owned temporary renders */
    char **thumb_paths;
    /* Owned temporary copies of the originals without GPS data; NULL
     * where there was none to remove or it cannot be removed. */
    char **locationless_paths;
    size_t count;
    int files_stored; /* the blob store holds every image's files */
};

/*
 * Prepares one image per file of up, in group (NULL or "" for none)
 * with description (NULL for none), created at now. The first file that
 * is not an acceptable image stops the batch: BP_EUNSUPPORTED (not a
 * supported format), BP_EINVAL (truncated or corrupt), BP_ETOOBIG (too
 * many pixels), with the file's name in the detail. Release *out with
 * bp_ingest_free whatever the result.
 */
enum bp_rc bp_ingest_prepare(struct bp_ctx *ctx, const struct bp_upload *up,
                             const char *group, const char *description,
                             int64_t now, struct bp_ingest *out,
                             struct bp_error *err);

/* Removes the stored files again (when the records could not be saved). */
void bp_ingest_discard_files(struct bp_ctx *ctx, struct bp_ingest *in);

/*
 * Finishes a prepared batch: stores the files, then inserts the records
 * (after new_group when it is not NULL) in one transaction, removing the
 * files again when that fails. All or nothing.
 */
enum bp_rc bp_ingest_commit(struct bp_ctx *ctx, struct bp_store *store,
                            const struct bp_upload *up,
                            const struct bp_group *new_group,
                            struct bp_ingest *in, struct bp_error *err);

/*
 * Makes the one prepared image of in the new file of the existing image
 * id: its files are staged, the record's file fields replaced (which
 * also ends an awaited upload), then the files moved over the image's
 * own. When if_upload_expires_at is not 0 this happens only while the
 * image awaits that upload (BP_ECONFLICT otherwise). On failure the
 * image and its files are as they were, except BP_EUNAVAILABLE after the
 * record changed but the files could not be moved (they wait under
 * their staging keys for the orphan sweep) and BP_ENOTFOUND when the
 * image was deleted meanwhile (its new files are removed). On BP_OK *out
 * holds the updated record (cleared by the caller).
 */
enum bp_rc bp_ingest_replace(struct bp_ctx *ctx, struct bp_store *store,
                             const char *id, const struct bp_upload *up,
                             struct bp_ingest *in, int64_t if_upload_expires_at,
                             struct bp_image *out, struct bp_error *err);

/* Removes the temporary renders and frees the records; in may be NULL. */
void bp_ingest_free(struct bp_ingest *in);

#endif
