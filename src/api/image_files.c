/*
 * image_files.c: blob keys of image files, storing and removing the
 * files of an image together (original, gallery sizes, and the original
 * without GPS data), and serving one of them.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "api/image_files.h"
#include "crash_point.h"
#include "model/timeutil.h"

/* A storage failure faster than this is worth one retry. */
#define QUICK_FAILURE_MS 1000

static const char *const variant_names[] = {
    [BP_VARIANT_ORIGINAL] = "file",
    [BP_VARIANT_FULLSIZE] = "fullsize",
    [BP_VARIANT_THUMB] = "thumb",
    [BP_VARIANT_LOCATIONLESS] = "file-nogps",
};

void bp_image_key(const char *id, enum bp_image_variant variant,
                  char out[BP_IMAGE_KEY_LEN])
{
    switch (variant) {
    case BP_VARIANT_ORIGINAL:
        snprintf(out, BP_IMAGE_KEY_LEN, "original/%s", id);
        break;
    case BP_VARIANT_FULLSIZE:
        snprintf(out, BP_IMAGE_KEY_LEN, "fullsize/%s.jpg", id);
        break;
    case BP_VARIANT_THUMB:
        snprintf(out, BP_IMAGE_KEY_LEN, "thumb/%s.jpg", id);
        break;
    case BP_VARIANT_LOCATIONLESS:
        snprintf(out, BP_IMAGE_KEY_LEN, "public/%s", id);
        break;
    }
}

/*
 * Writes the key of variant of image id to out: its own key when
 * attempt is NULL, else its staging key for that replace attempt
 * ("staging/<id>/<attempt>/thumb.jpg").
 */
static void file_key(const char *id, const char *attempt,
                     enum bp_image_variant variant, char out[BP_IMAGE_KEY_LEN])
{
    static const char *const names[] = {
        [BP_VARIANT_ORIGINAL] = "original",
        [BP_VARIANT_FULLSIZE] = "fullsize.jpg",
        [BP_VARIANT_THUMB] = "thumb.jpg",
        [BP_VARIANT_LOCATIONLESS] = "public",
    };
    if (attempt == NULL)
        bp_image_key(id, variant, out);
    else
        snprintf(out, BP_IMAGE_KEY_LEN, "staging/%s/%.24s/%s", id, attempt,
                 names[variant]);
}

/*
 * Puts the files of image under its own keys (attempt NULL) or its
 * staging keys, the originals with the image's content type; a NULL path
 * is skipped; all or none.
 */
static enum bp_rc put_all(struct bp_blob_store *blobs,
                          const struct bp_image *image, const char *attempt,
                          const char *const paths[4], struct bp_error *err)
{
    for (int v = BP_VARIANT_ORIGINAL; v <= BP_VARIANT_LOCATIONLESS; v++) {
        if (paths[v] == NULL)
            continue;
        char key[BP_IMAGE_KEY_LEN];
        file_key(image->id, attempt, (enum bp_image_variant)v, key);
        const char *type = v == BP_VARIANT_FULLSIZE || v == BP_VARIANT_THUMB
                               ? "image/jpeg"
                               : image->content_type;
        enum bp_rc rc = bp_blob_put_file(blobs, key, paths[v], type, err);
        if (rc != BP_OK) {
            for (int k = BP_VARIANT_ORIGINAL; k < v; k++) {
                file_key(image->id, attempt, (enum bp_image_variant)k, key);
                bp_blob_remove(blobs, key, NULL);
            }
            return rc;
        }
    }
    return BP_OK;
}

enum bp_rc bp_image_files_put(struct bp_blob_store *blobs,
                              const struct bp_image *image,
                              const char *original, const char *fullsize,
                              const char *thumb, const char *locationless,
                              struct bp_error *err)
{
    const char *const paths[] = {original, fullsize, thumb, locationless};
    return put_all(blobs, image, NULL, paths, err);
}

enum bp_rc bp_image_files_stage(struct bp_blob_store *blobs,
                                const struct bp_image *image,
                                const char *attempt, const char *original,
                                const char *fullsize, const char *thumb,
                                const char *locationless, struct bp_error *err)
{
    const char *const paths[] = {original, fullsize, thumb, locationless};
    return put_all(blobs, image, attempt, paths, err);
}

enum bp_rc bp_image_files_promote(struct bp_blob_store *blobs, const char *id,
                                  const char *attempt, bool has_locationless,
                                  struct bp_error *err)
{
    /* The copy without GPS first: if storage fails after it, non-owners
     * already get the new file; if it fails on it, nothing moved and a
     * retry starts over, so the old copy never outlives its file. The
     * original last: while the staged original is there, the attempt is
     * unfinished, and --gc (which finds the record's sha256 in it)
     * finishes the move. */
    static const enum bp_image_variant order[] = {
        BP_VARIANT_LOCATIONLESS, BP_VARIANT_FULLSIZE, BP_VARIANT_THUMB,
        BP_VARIANT_ORIGINAL};
    static const char *const crash_at[] = {"promote:public", "promote:fullsize",
                                           "promote:thumb", "promote:original"};
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        enum bp_image_variant v = order[i];
        bp_crash_point(crash_at[i]);
        char from[BP_IMAGE_KEY_LEN], to[BP_IMAGE_KEY_LEN];
        file_key(id, attempt, v, from);
        bp_image_key(id, v, to);
        enum bp_rc rc = v == BP_VARIANT_LOCATIONLESS && !has_locationless
                            ? bp_blob_remove(blobs, to, err)
                            : bp_blob_move(blobs, from, to, err);
        if (rc != BP_OK)
            return rc;
    }
    return BP_OK;
}

void bp_image_files_unstage(struct bp_blob_store *blobs, const char *id,
                            const char *attempt)
{
    for (int v = BP_VARIANT_ORIGINAL; v <= BP_VARIANT_LOCATIONLESS; v++) {
        char key[BP_IMAGE_KEY_LEN];
        file_key(id, attempt, (enum bp_image_variant)v, key);
        bp_blob_remove(blobs, key, NULL);
    }
}

void bp_image_incoming_key(const struct bp_image *image,
                           char out[BP_IMAGE_KEY_LEN])
{
    snprintf(out, BP_IMAGE_KEY_LEN, "incoming/%s/%lld", image->id,
             (long long)image->upload_expires_at);
}

/*
 * Deletes the blob under key, once more when storage failed quickly (a
 * refused connection, an error answer) but not after a timeout, which
 * would only double the wait.
 */
static enum bp_rc remove_retrying(struct bp_blob_store *blobs, const char *key,
                                  struct bp_error *err)
{
    int64_t started = bp_time_now_ms();
    enum bp_rc rc = bp_blob_remove(blobs, key, err);
    if (rc == BP_EUNAVAILABLE && bp_time_now_ms() - started < QUICK_FAILURE_MS)
        rc = bp_blob_remove(blobs, key, err);
    return rc;
}

enum bp_rc bp_image_files_remove(struct bp_blob_store *blobs,
                                 const struct bp_image *image,
                                 struct bp_error *err)
{
    enum bp_rc rc = BP_OK;
    if (bp_image_upload_awaited(image)) {
        char incoming[BP_IMAGE_KEY_LEN];
        bp_image_incoming_key(image, incoming);
        rc = remove_retrying(blobs, incoming, err);
    }
    /* Storage that fails once is left alone: what remains is for the
     * orphan sweep, not for a request that waits on every key. */
    for (int v = BP_VARIANT_ORIGINAL;
         v <= BP_VARIANT_LOCATIONLESS && rc == BP_OK; v++) {
        char key[BP_IMAGE_KEY_LEN];
        bp_image_key(image->id, (enum bp_image_variant)v, key);
        rc = remove_retrying(blobs, key, err);
    }
    return rc;
}

/*
 * Parses a single "bytes=" range against a file of size bytes into
 * [*start, *end]. Returns 1 for a satisfiable range, 0 to ignore the
 * header (malformed or several ranges: the whole file is sent), -1 for
 * an unsatisfiable one.
 */
static int parse_range(const char *header, off_t size, off_t *start, off_t *end)
{
    if (strncmp(header, "bytes=", 6) != 0 || strchr(header, ',') != NULL)
        return 0;
    const char *p = header + 6;
    char *after;
    if (*p == '-') {
        if (!isdigit((unsigned char)p[1]))
            return 0;
        errno = 0;
        long long suffix = strtoll(p + 1, &after, 10);
        if (*after != '\0' || errno != 0)
            return 0;
        if (suffix == 0 || size == 0)
            return -1;
        *start = suffix >= size ? 0 : size - suffix;
        *end = size - 1;
        return 1;
    }
    if (!isdigit((unsigned char)*p))
        return 0;
    errno = 0;
    long long first = strtoll(p, &after, 10);
    if (*after != '-' || errno != 0)
        return 0;
    long long last = size - 1;
    if (after[1] != '\0') {
        if (!isdigit((unsigned char)after[1]))
            return 0;
        char *tail;
        last = strtoll(after + 1, &tail, 10);
        if (*tail != '\0' || errno != 0 || last < first)
            return 0;
    }
    if (first >= size)
        return -1;
    *start = first;
    *end = last >= size ? size - 1 : last;
    return 1;
}

/* Returns true for the variants that are the uploaded file (or a copy). */
static bool is_original(enum bp_image_variant variant)
{
    return variant == BP_VARIANT_ORIGINAL || variant == BP_VARIANT_LOCATIONLESS;
}

static const char *content_type_of(const struct bp_image *image,
                                   enum bp_image_variant variant)
{
    return is_original(variant) ? image->content_type : "image/jpeg";
}

/*
 * Appends the Content-Disposition of image's original to out:
 * inline; filename*=UTF-8''<its name, percent-encoded>.
 */
static enum bp_rc disposition_of(const struct bp_image *image,
                                 struct bp_buf *out)
{
    enum bp_rc rc = bp_buf_printf(out, "inline; filename*=UTF-8''");
    if (rc == BP_OK)
        rc = bp_buf_append_uri_component(out, image->filename);
    return rc;
}

/* Adds the headers every answer for a file carries. */
static enum bp_rc common_headers(struct bp_response *res,
                                 const struct bp_image *image,
                                 enum bp_image_variant variant,
                                 bool private_answer)
{
    enum bp_rc rc = bp_response_header(res, "Cache-Control", "%s, max-age=300",
                                       private_answer ? "private" : "public");
    if (rc == BP_OK && private_answer)
        rc = bp_response_header(res, "Vary", "Authorization");
    /* An image is never a document: nothing in it may run or load. */
    if (rc == BP_OK)
        rc = bp_response_header(res, "Content-Security-Policy",
                                "default-src 'none'; sandbox");
    if (rc == BP_OK && is_original(variant)) {
        struct bp_buf disposition;
        bp_buf_init(&disposition, 2048);
        rc = disposition_of(image, &disposition);
        if (rc == BP_OK)
            rc = bp_response_header(res, "Content-Disposition", "%s",
                                    disposition.data);
        bp_buf_free(&disposition);
    }
    return rc;
}

/*
 * Answers 302 to a URL from which the client fetches the blob under key
 * itself (presigned, asking for disposition when not NULL, or on a CDN
 * unless signed_only), when the backend offers one; else BP_EUNSUPPORTED
 * and res untouched.
 */
static enum bp_rc redirect(struct bp_blob_store *blobs, const char *key,
                           const char *disposition, bool signed_only,
                           long expires_s, struct bp_response *res,
                           struct bp_error *err)
{
    struct bp_buf url;
    bp_buf_init(&url, 8192);
    struct bp_error why = {{0}};
    enum bp_rc rc = bp_blob_presign_get(blobs, key, expires_s, disposition,
                                        signed_only, &url, &why);
    if (rc == BP_EUNSUPPORTED) {
        bp_buf_free(&url);
        return rc;
    }
    if (rc != BP_OK) {
        bp_buf_free(&url);
        return bp_error_set(err, rc, "%s", why.detail);
    }
    res->status = 302;
    res->content_type = NULL;
    rc = bp_response_header(res, "Location", "%s", url.data);
    /* A cached redirect must not outlive the URL it points to. */
    if (rc == BP_OK)
        rc = bp_response_header(res, "Cache-Control", "private, max-age=%ld",
                                expires_s / 2);
    bp_buf_free(&url);
    return rc;
}

enum bp_rc bp_image_files_serve(struct bp_blob_store *blobs,
                                const struct bp_request *req,
                                const struct bp_image *image,
                                enum bp_image_variant variant,
                                long redirect_expires_s, bool private_answer,
                                struct bp_response *res, struct bp_error *err)
{
    char key[BP_IMAGE_KEY_LEN];
    bp_image_key(image->id, variant, key);
    bool original_key = variant == BP_VARIANT_ORIGINAL;
    if (variant == BP_VARIANT_LOCATIONLESS) {
        struct bp_blob_entry entry;
        struct bp_error why = {{0}};
        enum bp_rc found = bp_blob_stat(blobs, key, &entry, &why);
        /* An empty copy marks GPS data that could not be removed; no
         * copy, a file without any (or one stored before copies were
         * made: its position, if it has one, is then the only clue). */
        if ((found == BP_OK && entry.size == 0) ||
            (found == BP_ENOTFOUND && image->has_position))
            return bp_error_set(
                err, BP_EFORBIDDEN,
                "The location data of this %s file cannot be removed "
                "without re-encoding it: only its owner gets the original; "
                "/images/%s/fullsize has no location data",
                image->content_type, image->id);
        if (found == BP_ENOTFOUND) {
            bp_image_key(image->id, BP_VARIANT_ORIGINAL, key);
            original_key = true;
        } else if (found != BP_OK) {
            return bp_error_set(err, found, "%s", why.detail);
        }
    }
    /* The original keeps its name, as when it is sent from here; it is
     * never sent through a CDN, whose URLs anyone may change. */
    struct bp_buf disposition;
    bp_buf_init(&disposition, 2048);
    enum bp_rc rc =
        is_original(variant) ? disposition_of(image, &disposition) : BP_OK;
    if (rc == BP_OK)
        rc =
            redirect(blobs, key, is_original(variant) ? disposition.data : NULL,
                     original_key, redirect_expires_s, res, err);
    bp_buf_free(&disposition);
    if (rc != BP_EUNSUPPORTED)
        return rc;
    bp_response_set_type(res, content_type_of(image, variant));
    rc = common_headers(res, image, variant, private_answer);
    if (rc != BP_OK)
        return rc;
    const char *prefix = bp_request_param(req, "BANDPICS_FILES_PREFIX");
    if (prefix != NULL && prefix[0] == '/') {
        /* nginx sends the file, with its own ETag and Range support. */
        res->status = 200;
        return bp_response_header(res, "X-Accel-Redirect", "%s%s", prefix, key);
    }
    char etag[48];
    snprintf(etag, sizeof(etag), "\"%.16s-%s\"", image->sha256,
             variant_names[variant]);
    rc = bp_response_header(res, "ETag", "%s", etag);
    if (rc == BP_OK)
        rc = bp_response_header(res, "Accept-Ranges", "bytes");
    if (rc != BP_OK)
        return rc;
    const char *match = bp_request_param(req, "HTTP_IF_NONE_MATCH");
    if (match != NULL &&
        (strstr(match, etag) != NULL || strcmp(match, "*") == 0)) {
        res->status = 304;
        res->content_type = NULL;
        return BP_OK;
    }
    struct bp_blob_reader reader;
    rc = bp_blob_open(blobs, key, &reader, err);
    if (rc != BP_OK)
        return rc;
    off_t start = 0, end = reader.size - 1;
    const char *range = bp_request_param(req, "HTTP_RANGE");
    int ranged =
        range != NULL ? parse_range(range, reader.size, &start, &end) : 0;
    if (ranged < 0) {
        /* Not an error of the request's meaning: a 416 with the size. */
        bp_blob_close(&reader);
        struct json_object *body = json_object_new_object();
        if (body == NULL)
            return BP_ENOMEM;
        json_object_object_add(
            body, "detail",
            json_object_new_string("Requested range not satisfiable"));
        rc = bp_response_json(res, 416, body);
        json_object_put(body);
        if (rc == BP_OK)
            rc = bp_response_header(res, "Content-Range", "bytes */%lld",
                                    (long long)reader.size);
        return rc;
    }
    const char *sendfile_root = bp_request_param(req, "BANDPICS_SENDFILE_ROOT");
    if (sendfile_root != NULL && sendfile_root[0] == '/') {
        /* Apache's mod_xsendfile sends the file and the range (one the
         * worker has found satisfiable: Apache's own 416 is a page)
         * under the ETag above; the root is the local store's. */
        bp_blob_close(&reader);
        res->status = 200;
        return bp_response_header(res, "X-Sendfile", "%s/%s", sendfile_root,
                                  key);
    }
    res->status = ranged ? 206 : 200;
    if (ranged)
        rc = bp_response_header(res, "Content-Range", "bytes %lld-%lld/%lld",
                                (long long)start, (long long)end,
                                (long long)reader.size);
    bp_response_file(res, reader.fd, start,
                     reader.size == 0 ? 0 : end - start + 1);
    return rc;
}
