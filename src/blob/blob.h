/*
 * blob.h: the blob store interface for image files. A backend (the local
 * filesystem or S3) is a static const table of operations behind
 * an opaque handle. Keys are relative names such as "original/<id>" or
 * "thumb/<id>.jpg"; a backend never sees a client-supplied name.
 */
#ifndef BP_BLOB_H
#define BP_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "rc.h"

struct bp_blob_store;

/* An open blob: read it with read(2) on fd; close with bp_blob_close. */
struct bp_blob_reader {
    int fd;
    off_t size;
};

/* What a listing or a stat tells about one blob; key is borrowed. */
struct bp_blob_entry {
    const char *key;
    off_t size;
    int64_t modified_ms; /* last write, Unix ms */
};

/*
 * Called by bp_blob_list for each blob; a non-BP_OK return stops the
 * listing and becomes its result.
 */
typedef enum bp_rc (*bp_blob_visit_fn)(void *arg,
                                       const struct bp_blob_entry *entry);

struct bp_blob_ops {
    const char *name;
    enum bp_rc (*put_file)(struct bp_blob_store *store, const char *key,
                           const char *src_path, const char *content_type,
                           struct bp_error *err);
    enum bp_rc (*open)(struct bp_blob_store *store, const char *key,
                       struct bp_blob_reader *out, struct bp_error *err);
    enum bp_rc (*remove)(struct bp_blob_store *store, const char *key,
                         struct bp_error *err);
    enum bp_rc (*move)(struct bp_blob_store *store, const char *from,
                       const char *to, struct bp_error *err);
    enum bp_rc (*presign_get)(struct bp_blob_store *store, const char *key,
                              long expires_s, const char *disposition,
                              bool signed_only, struct bp_buf *url,
                              struct bp_error *err);
    enum bp_rc (*presign_put)(struct bp_blob_store *store, const char *key,
                              const char *content_type, long expires_s,
                              struct bp_buf *url, struct bp_error *err);
    enum bp_rc (*stat)(struct bp_blob_store *store, const char *key,
                       struct bp_blob_entry *out, struct bp_error *err);
    enum bp_rc (*list)(struct bp_blob_store *store, const char *prefix,
                       bp_blob_visit_fn visit, void *arg, struct bp_error *err);
    void (*close)(struct bp_blob_store *store);
};

/* Every backend's handle starts with this. */
struct bp_blob_store {
    const struct bp_blob_ops *ops;
    /* When every call must have ended (epoch ms; 0: no such bound): an
     * AWS Lambda invocation's deadline, set by bp_blob_set_deadline. */
    int64_t deadline_ms;
};

/* Bounds every later call of store by deadline_ms (epoch ms; 0: none). */
void bp_blob_set_deadline(struct bp_blob_store *store, int64_t deadline_ms);

/*
 * Returns true when key is a valid blob key: 1 to 200 bytes of
 * [A-Za-z0-9._-] segments joined by single '/', no segment "." or "..",
 * no leading or trailing '/'.
 */
bool bp_blob_key_valid(const char *key);

/*
 * Opens the local filesystem backend rooted at the directory root
 * (created when missing). On BP_OK *out is the caller's, to close with
 * bp_blob_store_close.
 */
enum bp_rc bp_blob_local_open(const char *root, struct bp_blob_store **out,
                              struct bp_error *err);

/* What the S3 backend needs; strings are borrowed for the call only. */
struct bp_blob_s3_settings {
    const char *bucket;
    const char *prefix;   /* "" or "photos/2026" (no leading/trailing '/') */
    const char *endpoint; /* "" for AWS (https://s3.<region>.amazonaws.com) */
    const char *region;
    bool path_style; /* endpoint/bucket/key, else bucket.endpoint/key */
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token;   /* "" for none */
    const char *public_base_url; /* "" to presign GETs instead */
    const char *tmp_dir;         /* where downloads are kept while open */
    long timeout_ms;             /* one request, connect included */
};

/*
 * Opens the S3 backend described by settings. It does not contact the
 * storage (a worker starts while S3 is down; requests then fail with
 * BP_EUNAVAILABLE). On BP_OK *out is the caller's, to close with
 * bp_blob_store_close.
 */
enum bp_rc bp_blob_s3_open(const struct bp_blob_s3_settings *settings,
                           struct bp_blob_store **out, struct bp_error *err);

/*
 * Opens the backend that cfg->blob_url names: "" is the local backend
 * under default_root, file:///PATH the local backend under PATH, and
 * s3://BUCKET[/PREFIX] the S3 backend with cfg's s3_* keys (downloads
 * kept in tmp_dir). BP_EINVAL for another URL. On BP_OK *out is the
 * caller's, to close with bp_blob_store_close.
 */
struct bp_config;
enum bp_rc bp_blob_store_open(const struct bp_config *cfg,
                              const char *default_root, const char *tmp_dir,
                              struct bp_blob_store **out, struct bp_error *err);

/* Returns true when url (a blob_url) names the S3 backend. */
bool bp_blob_url_is_s3(const char *url);

/* Closes and frees store; store may be NULL. */
void bp_blob_store_close(struct bp_blob_store *store);

/*
 * Stores the content of the file at src_path under key, atomically:
 * readers see the old content or the new, never a part (temp file, fsync,
 * rename). The local backend links the file instead of copying it when it
 * is on the same file system: src_path's content must not change
 * afterwards (removing the name is fine). content_type (NULL:
 * application/octet-stream) is what a store that serves the blob itself (S3)
 * answers with. BP_EINVAL for an invalid key, BP_EIO when src_path cannot be
 * read, BP_EUNAVAILABLE when the storage cannot be written.
 */
enum bp_rc bp_blob_put_file(struct bp_blob_store *store, const char *key,
                            const char *src_path, const char *content_type,
                            struct bp_error *err);

/*
 * Opens the blob under key for reading into *out, which the caller
 * releases with bp_blob_close on BP_OK. BP_ENOTFOUND when there is none.
 */
enum bp_rc bp_blob_open(struct bp_blob_store *store, const char *key,
                        struct bp_blob_reader *out, struct bp_error *err);

/* Releases a reader filled by bp_blob_open. */
void bp_blob_close(struct bp_blob_reader *reader);

/*
 * Deletes the blob under key. Deleting a blob that does not exist
 * succeeds, so that a retried delete finishes the job.
 */
enum bp_rc bp_blob_remove(struct bp_blob_store *store, const char *key,
                          struct bp_error *err);

/*
 * Puts the blob under from in place of the one under to (replacing it
 * atomically) and removes from. BP_ENOTFOUND when from does not exist.
 */
enum bp_rc bp_blob_move(struct bp_blob_store *store, const char *from,
                        const char *to, struct bp_error *err);

/*
 * Appends to url a URL from which a client may GET the blob for
 * expires_s seconds, answered with the Content-Disposition disposition
 * when it is not NULL and the URL is presigned (a CDN URL cannot ask
 * for one). With signed_only the URL is always presigned, never the
 * public URL of a CDN in front of the store, for blobs that not everyone
 * may read. BP_EUNSUPPORTED when the backend has no such URLs (the local
 * backend: its files are sent by the web server instead).
 */
enum bp_rc bp_blob_presign_get(struct bp_blob_store *store, const char *key,
                               long expires_s, const char *disposition,
                               bool signed_only, struct bp_buf *url,
                               struct bp_error *err);

/*
 * Appends to url a URL to which a client may PUT the blob under key for
 * expires_s seconds, sending the header Content-Type: content_type.
 * BP_EUNSUPPORTED when the backend has no such URLs (the local backend:
 * the API receives those uploads itself).
 */
enum bp_rc bp_blob_presign_put(struct bp_blob_store *store, const char *key,
                               const char *content_type, long expires_s,
                               struct bp_buf *url, struct bp_error *err);

/*
 * Fills *out with the size and modification time of the blob under key
 * (out->key is set to key). BP_ENOTFOUND when there is none,
 * BP_EUNAVAILABLE when the storage cannot be asked.
 */
enum bp_rc bp_blob_stat(struct bp_blob_store *store, const char *key,
                        struct bp_blob_entry *out, struct bp_error *err);

/*
 * Calls visit once for every blob whose key starts with prefix ("" for
 * all), in no promised order, with entries valid only during the call.
 * Returns BP_OK, what visit returned to stop, or BP_EUNAVAILABLE.
 */
enum bp_rc bp_blob_list(struct bp_blob_store *store, const char *prefix,
                        bp_blob_visit_fn visit, void *arg,
                        struct bp_error *err);

/* Returns the backend's name ("local", "s3"). */
const char *bp_blob_store_name(const struct bp_blob_store *store);

#endif
