/*
 * blob.h: the blob store interface for image files. A backend (the local
 * filesystem now, S3 later) is a static const table of operations behind
 * an opaque handle. Keys are relative names such as "original/<id>" or
 * "thumb/<id>.jpg"; a backend never sees a client-supplied name.
 */
#ifndef BP_BLOB_H
#define BP_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "rc.h"

struct bp_blob_store;

/* An open blob: read it with read(2) on fd; close with bp_blob_close. */
struct bp_blob_reader {
    int fd;
    off_t size;
};

struct bp_blob_ops {
    const char *name;
    enum bp_rc (*put_file)(struct bp_blob_store *store, const char *key,
                           const char *src_path, struct bp_error *err);
    enum bp_rc (*open)(struct bp_blob_store *store, const char *key,
                       struct bp_blob_reader *out, struct bp_error *err);
    enum bp_rc (*remove)(struct bp_blob_store *store, const char *key,
                         struct bp_error *err);
    enum bp_rc (*move)(struct bp_blob_store *store, const char *from,
                       const char *to, struct bp_error *err);
    enum bp_rc (*presign_get)(struct bp_blob_store *store, const char *key,
                              long expires_s, struct bp_buf *url,
                              struct bp_error *err);
    void (*close)(struct bp_blob_store *store);
};

/* Every backend's handle starts with this. */
struct bp_blob_store {
    const struct bp_blob_ops *ops;
};

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

/* Closes and frees store; store may be NULL. */
void bp_blob_store_close(struct bp_blob_store *store);

/*
 * Stores a copy of the file at src_path under key, atomically: readers
 * see the old content or the new, never a part (temp file, fsync,
 * rename). BP_EINVAL for an invalid key, BP_EUNAVAILABLE when the
 * storage cannot be written.
 */
enum bp_rc bp_blob_put_file(struct bp_blob_store *store, const char *key,
                            const char *src_path, struct bp_error *err);

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
 * expires_s seconds. BP_EUNSUPPORTED when the backend has no such URLs
 * (the local backend: its files are sent by the web server instead).
 */
enum bp_rc bp_blob_presign_get(struct bp_blob_store *store, const char *key,
                               long expires_s, struct bp_buf *url,
                               struct bp_error *err);

#endif
