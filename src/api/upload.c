/*
 * upload.c: streaming a request body (or a stored blob) into temporary
 * files, through the multipart parser, with SHA-256 computed as the
 * bytes pass.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "api/upload.h"
#include "http/multipart.h"
#include "http/urldecode.h"
#include "log.h"
#include "temp_files.h"

#define MAX_PART_HEADER_BYTES 8192

/* File bytes are gathered up to this much before they are hashed and
 * written: the multipart parser hands data over in runs that end at each
 * CR byte, about every 256 bytes of a photo. */
#define PENDING_BYTES 65536

/* The part being received. */
struct receiver {
    struct bp_upload *up;
    const struct bp_upload_limits *limits;
    const char *tmp_dir;
    const char *file_field;
    int fd;           /* the open file part, or -1 */
    int linked;       /* the file part is a link to the body file */
    EVP_MD_CTX *hash; /* its running SHA-256 */
    char *pending;    /* its bytes not yet hashed and written */
    size_t pending_len;
    struct bp_buf value; /* the open text field */
    int in_text;         /* a text field is open */
    size_t body_bytes;
};

/*
 * The error for a temporary file of an upload that could not be made or
 * written (errnum): 507 when the disk is full, else 503.
 */
static enum bp_rc storage_failed(const char *path, int errnum,
                                 struct bp_error *err)
{
    bp_log_error("writing %s: %s", path, strerror(errnum));
    if (bp_rc_for_write_errno(errnum, BP_OK) == BP_ENOSPACE)
        return bp_error_set(err, BP_ENOSPACE,
                            "Insufficient storage: the upload could not be "
                            "written");
    return bp_error_set(err, BP_EUNAVAILABLE, "temporary storage unavailable");
}

/* Creates the next file entry with a new temporary file; fd open. */
static enum bp_rc file_begin(struct receiver *r, const char *raw_name,
                             struct bp_error *err)
{
    struct bp_upload *up = r->up;
    if (up->nfiles >= r->limits->max_files)
        return bp_error_set(err, BP_ETOOBIG, "Too many files (limit %zu)",
                            r->limits->max_files);
    struct bp_upload_file *grown =
        realloc(up->files, (up->nfiles + 1) * sizeof(*grown));
    if (grown == NULL)
        return BP_ENOMEM;
    up->files = grown;
    struct bp_upload_file *file = &up->files[up->nfiles];
    memset(file, 0, sizeof(*file));
    struct bp_buf path;
    char owner[32];
    bp_temp_prefix(owner, sizeof(owner));
    bp_buf_init(&path, 4096);
    if (bp_buf_printf(&path, "%s/%supload-XXXXXX", r->tmp_dir, owner) !=
        BP_OK) {
        bp_buf_free(&path);
        return BP_ENOMEM;
    }
    r->fd = mkostemp(path.data, O_CLOEXEC);
    if (r->fd < 0) {
        int saved = errno;
        bp_buf_free(&path);
        return storage_failed(r->tmp_dir, saved, err);
    }
    file->path = path.data;
    up->nfiles++;
    bp_filename_sanitize(raw_name, "upload", file->filename);
    if (EVP_DigestInit_ex(r->hash, EVP_sha256(), NULL) != 1)
        return BP_EINTERNAL;
    return BP_OK;
}

static enum bp_rc part_begin(void *user, const struct bp_multipart_part *part,
                             struct bp_error *err)
{
    struct receiver *r = user;
    if (part->filename != NULL) {
        if (strcmp(part->name, r->file_field) != 0)
            return bp_error_set(err, BP_EINVAL,
                                "Unexpected file field '%.64s' (files go "
                                "in '%s')",
                                part->name, r->file_field);
        return file_begin(r, part->filename, err);
    }
    struct bp_upload *up = r->up;
    if (up->nfields >= r->limits->max_fields)
        return bp_error_set(err, BP_ETOOBIG, "Too many form fields");
    struct bp_upload_field *grown =
        realloc(up->fields, (up->nfields + 1) * sizeof(*grown));
    if (grown == NULL)
        return BP_ENOMEM;
    up->fields = grown;
    char *name = strdup(part->name);
    if (name == NULL)
        return BP_ENOMEM;
    up->fields[up->nfields].name = name;
    up->fields[up->nfields].value = NULL;
    up->nfields++;
    bp_buf_init(&r->value, r->limits->max_field_bytes);
    r->in_text = 1;
    return BP_OK;
}

/* Hashes len bytes of the open file part and writes them to its file
 * (unless it is a link to the body file, which holds them already). */
static enum bp_rc file_put(struct receiver *r, const char *data, size_t len,
                           struct bp_error *err)
{
    struct bp_upload_file *file = &r->up->files[r->up->nfiles - 1];
    if (len > 0 && EVP_DigestUpdate(r->hash, data, len) != 1)
        return BP_EINTERNAL;
    for (size_t done = 0; !r->linked && done < len;) {
        ssize_t put = write(r->fd, data + done, len - done);
        if (put < 0 && errno == EINTR)
            continue;
        if (put <= 0)
            return storage_failed(file->path, put < 0 ? errno : ENOSPC, err);
        done += (size_t)put;
    }
    return BP_OK;
}

static enum bp_rc flush_pending(struct receiver *r, struct bp_error *err)
{
    enum bp_rc rc = file_put(r, r->pending, r->pending_len, err);
    r->pending_len = 0;
    return rc;
}

static enum bp_rc part_data(void *user, const char *data, size_t len,
                            struct bp_error *err)
{
    struct receiver *r = user;
    if (r->in_text) {
        if (bp_buf_append(&r->value, data, len) != BP_OK)
            return bp_error_set(err, BP_ETOOBIG,
                                "Form field '%.64s' too long (limit %zu "
                                "bytes)",
                                r->up->fields[r->up->nfields - 1].name,
                                r->limits->max_field_bytes);
        return BP_OK;
    }
    r->up->files[r->up->nfiles - 1].size += (int64_t)len;
    if (r->pending_len + len > PENDING_BYTES) {
        enum bp_rc rc = flush_pending(r, err);
        if (rc != BP_OK)
            return rc;
    }
    if (len >= PENDING_BYTES)
        return file_put(r, data, len, err);
    memcpy(r->pending + r->pending_len, data, len);
    r->pending_len += len;
    return BP_OK;
}

/* Closes the open file part, finishing its hash. */
static enum bp_rc file_end(struct receiver *r, struct bp_error *err)
{
    struct bp_upload_file *file = &r->up->files[r->up->nfiles - 1];
    unsigned char digest[32];
    unsigned int len = 0;
    enum bp_rc rc = flush_pending(r, err);
    if (rc != BP_OK)
        return rc;
    int closed = r->fd >= 0 ? close(r->fd) : 0;
    r->fd = -1;
    if (closed != 0)
        return storage_failed(file->path, errno, err);
    if (EVP_DigestFinal_ex(r->hash, digest, &len) != 1 || len != 32)
        return BP_EINTERNAL;
    bp_hex_encode(digest, len, file->sha256);
    return BP_OK;
}

static enum bp_rc part_end(void *user, struct bp_error *err)
{
    struct receiver *r = user;
    if (!r->in_text)
        return file_end(r, err);
    r->in_text = 0;
    struct bp_upload_field *field = &r->up->fields[r->up->nfields - 1];
    if (bp_buf_append(&r->value, "", 0) != BP_OK)
        return BP_ENOMEM;
    if (!bp_utf8_valid(r->value.data, r->value.len) ||
        strlen(r->value.data) != r->value.len)
        return bp_error_set(err, BP_EINVAL,
                            "Form field '%.64s' is not valid UTF-8 text",
                            field->name);
    field->value = r->value.data;
    bp_buf_init(&r->value, 0);
    return BP_OK;
}

/* Feeds the whole body of req to consume, in chunks, under the limit. */
static enum bp_rc
pump_body(const struct bp_request *req, const struct bp_upload_limits *limits,
          enum bp_rc (*consume)(void *ctx, const char *data, size_t len,
                                struct bp_error *err),
          void *ctx, struct bp_error *err)
{
    const struct bp_body *body = &req->body;
    if (body->length > 0 &&
        (unsigned long long)body->length > limits->max_body_bytes)
        return bp_error_set(err, BP_ETOOBIG,
                            "Request body too large (limit %zu bytes)",
                            limits->max_body_bytes);
    if (body->read == NULL)
        return BP_OK;
    char *chunk = malloc(65536);
    if (chunk == NULL)
        return BP_ENOMEM;
    enum bp_rc rc = BP_OK;
    unsigned long long seen = 0;
    for (;;) {
        size_t want = 65536;
        if (body->length >= 0) {
            unsigned long long left = (unsigned long long)body->length - seen;
            if (left == 0)
                break;
            if (left < want)
                want = (size_t)left;
        }
        ssize_t got = body->read(body->source, chunk, want);
        if (got < 0) {
            rc = bp_error_set(err, BP_EIO, "Reading the request body failed");
            break;
        }
        if (got == 0) {
            if (body->length >= 0)
                rc = bp_error_set(err, BP_EBADREQUEST,
                                  "Request body shorter than "
                                  "Content-Length");
            break;
        }
        seen += (unsigned long long)got;
        if (seen > limits->max_body_bytes) {
            rc = bp_error_set(err, BP_ETOOBIG,
                              "Request body too large (limit %zu bytes)",
                              limits->max_body_bytes);
            break;
        }
        rc = consume(ctx, chunk, (size_t)got, err);
        if (rc != BP_OK)
            break;
    }
    free(chunk);
    return rc;
}

static enum bp_rc feed_multipart(void *ctx, const char *data, size_t len,
                                 struct bp_error *err)
{
    return bp_multipart_feed(ctx, data, len, err);
}

static enum bp_rc init_receiver(struct receiver *r, struct bp_upload *out,
                                const struct bp_upload_limits *limits,
                                const char *tmp_dir, const char *file_field)
{
    memset(out, 0, sizeof(*out));
    memset(r, 0, sizeof(*r));
    r->up = out;
    r->limits = limits;
    r->tmp_dir = tmp_dir;
    r->file_field = file_field;
    r->fd = -1;
    bp_buf_init(&r->value, 0);
    r->hash = EVP_MD_CTX_new();
    r->pending = malloc(PENDING_BYTES);
    return r->hash == NULL || r->pending == NULL ? BP_ENOMEM : BP_OK;
}

/* init_receiver, then refuses when the disk is under min_free_bytes. */
static enum bp_rc start_receiving(struct receiver *r, struct bp_upload *out,
                                  const struct bp_upload_limits *limits,
                                  const char *tmp_dir, const char *file_field,
                                  struct bp_error *err)
{
    enum bp_rc rc = init_receiver(r, out, limits, tmp_dir, file_field);
    if (rc == BP_OK)
        rc = bp_upload_check_free_space(tmp_dir, limits->min_free_bytes, err);
    return rc;
}

static void release_receiver(struct receiver *r)
{
    if (r->fd >= 0)
        close(r->fd);
    bp_buf_free(&r->value);
    EVP_MD_CTX_free(r->hash);
    free(r->pending);
}

enum bp_rc bp_upload_read_multipart(const struct bp_request *req,
                                    const struct bp_upload_limits *limits,
                                    const char *tmp_dir, const char *file_field,
                                    struct bp_upload *out, struct bp_error *err)
{
    char boundary[BP_MULTIPART_BOUNDARY_MAX + 1];
    struct receiver r;
    struct bp_multipart *mp = NULL;
    enum bp_rc rc = start_receiving(&r, out, limits, tmp_dir, file_field, err);
    if (rc == BP_OK)
        rc = bp_multipart_boundary(req->content_type, boundary,
                                   sizeof(boundary), err);
    if (rc != BP_OK)
        goto out_release;
    static const struct bp_multipart_callbacks callbacks = {
        .part_begin = part_begin,
        .part_data = part_data,
        .part_end = part_end,
    };
    struct bp_multipart_limits mp_limits = {
        .max_header_bytes = MAX_PART_HEADER_BYTES,
        /* Our own counts of files and fields give the clearer error. */
        .max_parts = limits->max_files + limits->max_fields + 1,
    };
    rc = bp_multipart_new(boundary, &mp_limits, &callbacks, &r, &mp);
    if (rc == BP_OK)
        rc = pump_body(req, limits, feed_multipart, mp, err);
    if (rc == BP_OK)
        rc = bp_multipart_finish(mp, err);
out_release:
    bp_multipart_free(mp);
    release_receiver(&r);
    return rc;
}

static enum bp_rc feed_raw(void *ctx, const char *data, size_t len,
                           struct bp_error *err)
{
    return part_data(ctx, data, len, err);
}

/*
 * Makes the open file part a new name of body_file, the body nginx wrote
 * (REQUEST_BODY_FILE), when both are on one file system: its bytes are
 * then only hashed, not written again. Returns 1 when it did; else the
 * part is an empty file open for writing again (or fd is -1 and writing
 * fails).
 */
static int link_body_file(struct receiver *r, const char *body_file)
{
    struct bp_upload_file *file = &r->up->files[r->up->nfiles - 1];
    close(r->fd);
    r->fd = -1;
    if (unlink(file->path) == 0 && link(body_file, file->path) == 0)
        return r->linked = 1;
    r->fd = open(file->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    return 0;
}

enum bp_rc bp_upload_read_raw(const struct bp_request *req,
                              const struct bp_upload_limits *limits,
                              const char *tmp_dir, const char *filename,
                              struct bp_upload *out, struct bp_error *err)
{
    struct receiver r;
    enum bp_rc rc = start_receiving(&r, out, limits, tmp_dir, "", err);
    if (rc == BP_OK)
        rc = file_begin(&r, filename, err);
    const char *body_file = bp_request_param(req, "REQUEST_BODY_FILE");
    if (rc == BP_OK && body_file != NULL && body_file[0] == '/')
        link_body_file(&r, body_file);
    if (rc == BP_OK)
        rc = pump_body(req, limits, feed_raw, &r, err);
    if (rc == BP_OK)
        rc = file_end(&r, err);
    release_receiver(&r);
    return rc;
}

enum bp_rc bp_upload_read_blob(struct bp_blob_store *blobs, const char *key,
                               const struct bp_upload_limits *limits,
                               const char *tmp_dir, const char *filename,
                               struct bp_upload *out, struct bp_error *err)
{
    memset(out, 0, sizeof(*out));
    struct bp_blob_entry entry;
    enum bp_rc rc = bp_blob_stat(blobs, key, &entry, err);
    if (rc != BP_OK)
        return rc;
    if ((unsigned long long)entry.size > limits->max_body_bytes)
        return bp_error_set(err, BP_ETOOBIG,
                            "%s: file too large (limit %zu bytes)", filename,
                            limits->max_body_bytes);
    struct bp_blob_reader reader;
    rc = bp_blob_open(blobs, key, &reader, err);
    if (rc != BP_OK)
        return rc;
    struct bp_request source = {
        .method = "PUT",
        .path = "",
        .base = "",
        .query = "",
        .content_type = "",
        .request_id = "",
        .body = {.read = bp_body_read_fd,
                 .source = &reader.fd,
                 .length = reader.size},
    };
    rc = bp_upload_read_raw(&source, limits, tmp_dir, filename, out, err);
    bp_blob_close(&reader);
    return rc;
}

struct bp_upload_limits bp_upload_limits_of(const struct bp_config *cfg)
{
    struct bp_upload_limits limits = {
        .max_body_bytes = (size_t)cfg->max_body_bytes,
        .max_files = (size_t)cfg->max_files,
        .max_field_bytes = (size_t)cfg->max_field_bytes,
        .max_fields = 16,
        .min_free_bytes = cfg->min_free_bytes,
    };
    return limits;
}

enum bp_rc bp_upload_check_free_space(const char *dir, long min_free_bytes,
                                      struct bp_error *err)
{
    struct statvfs fs;
    if (min_free_bytes <= 0 || statvfs(dir, &fs) != 0)
        return BP_OK;
    unsigned long long free_bytes =
        (unsigned long long)fs.f_bavail * (unsigned long long)fs.f_frsize;
    if (free_bytes >= (unsigned long long)min_free_bytes)
        return BP_OK;
    return bp_error_set(err, BP_ENOSPACE,
                        "Insufficient storage: %llu bytes free, under "
                        "min_free_bytes (%ld)",
                        free_bytes, min_free_bytes);
}

bool bp_upload_is_multipart(const char *content_type)
{
    return bp_media_type_is(content_type, "multipart/form-data");
}

const char *bp_upload_field(const struct bp_upload *up, const char *name)
{
    for (size_t i = 0; i < up->nfields; i++)
        if (strcmp(up->fields[i].name, name) == 0)
            return up->fields[i].value;
    return NULL;
}

void bp_upload_free(struct bp_upload *up)
{
    if (up == NULL)
        return;
    for (size_t i = 0; i < up->nfiles; i++) {
        if (up->files[i].path != NULL)
            unlink(up->files[i].path);
        free(up->files[i].path);
    }
    for (size_t i = 0; i < up->nfields; i++) {
        free(up->fields[i].name);
        free(up->fields[i].value);
    }
    free(up->files);
    free(up->fields);
    memset(up, 0, sizeof(*up));
}
