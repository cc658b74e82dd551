/*
 * upload.h: receiving uploaded files. A multipart/form-data body (or a
 * raw image body) is streamed from the request into temporary files,
 * hashed on the way, with text fields kept in memory under a cap; no
 * upload is ever held in memory whole.
 */
#ifndef BP_UPLOAD_H
#define BP_UPLOAD_H

#include <stddef.h>
#include <stdint.h>

#include <stdbool.h>

#include "blob/blob.h"
#include "config.h"
#include "http/request.h"
#include "model/filename.h"
#include "model/image.h"

struct bp_upload_limits {
    size_t max_body_bytes;  /* the whole body */
    size_t max_files;       /* file parts */
    size_t max_field_bytes; /* one text field */
    size_t max_fields;      /* text fields */
    long min_free_bytes;    /* refused (507) while tmp_dir's disk has less */
};

/*
 * BP_ENOSPACE, with the figures, when the file system holding dir has
 * less than min_free_bytes free for this process; BP_OK otherwise (also
 * when it cannot tell).
 */
enum bp_rc bp_upload_check_free_space(const char *dir, long min_free_bytes,
                                      struct bp_error *err);

struct bp_upload_file {
    char *path; /* owned temporary file; removed by bp_upload_free */
    char filename[BP_FILENAME_MAX + 1]; /* sanitized client name */
    int64_t size;
    char sha256[BP_SHA256_HEX_LEN + 1];
};

struct bp_upload_field {
    char *name;  /* owned */
    char *value; /* owned, valid UTF-8 */
};

struct bp_upload {
    struct bp_upload_file *files; /* owned; nfiles entries */
    size_t nfiles;
    struct bp_upload_field *fields; /* owned; nfields entries */
    size_t nfields;
};

/* Returns the upload limits that cfg sets. */
struct bp_upload_limits bp_upload_limits_of(const struct bp_config *cfg);

/* Returns true when content_type announces multipart/form-data. */
bool bp_upload_is_multipart(const char *content_type);

/*
 * Reads the multipart/form-data body of req. File parts must be named
 * file_field (others: BP_EINVAL); each goes to a new file in tmp_dir.
 * Errors: BP_EUNSUPPORTED when the body is not multipart/form-data,
 * BP_EBADREQUEST for a malformed or truncated body, BP_ETOOBIG over a
 * limit, BP_EINVAL for a field that is not valid UTF-8, BP_EUNAVAILABLE
 * when tmp_dir cannot be written, BP_ENOSPACE when its disk is full or
 * under limits->min_free_bytes (checked before the body is read). On any result
 * *out must be released with bp_upload_free, which also removes the temporary
 * files.
 */
enum bp_rc bp_upload_read_multipart(const struct bp_request *req,
                                    const struct bp_upload_limits *limits,
                                    const char *tmp_dir, const char *file_field,
                                    struct bp_upload *out,
                                    struct bp_error *err);

/*
 * Reads the whole body of req as one file named filename (sanitized),
 * as bp_upload_read_multipart does for a file part.
 */
enum bp_rc bp_upload_read_raw(const struct bp_request *req,
                              const struct bp_upload_limits *limits,
                              const char *tmp_dir, const char *filename,
                              struct bp_upload *out, struct bp_error *err);

/*
 * Reads the blob under key of blobs as one file named filename, as
 * bp_upload_read_raw does for a body (released with bp_upload_free
 * whatever the result). BP_ENOTFOUND when there is no such blob,
 * BP_ETOOBIG when it is larger than limits->max_body_bytes (it is then
 * not read), BP_EUNAVAILABLE when the store cannot be read.
 */
enum bp_rc bp_upload_read_blob(struct bp_blob_store *blobs, const char *key,
                               const struct bp_upload_limits *limits,
                               const char *tmp_dir, const char *filename,
                               struct bp_upload *out, struct bp_error *err);

/* Returns the value of the text field name, or NULL; borrowed from up. */
const char *bp_upload_field(const struct bp_upload *up, const char *name);

/* Removes the temporary files and frees everything up holds. */
void bp_upload_free(struct bp_upload *up);

#endif
