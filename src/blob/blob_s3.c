/*
 * blob_s3.c: the S3 backend of the blob store, over libcurl. A key maps
 * to the object <prefix>/<key> of one bucket. Every request goes through
 * one easy handle per store (so connections are kept alive), is signed
 * by libcurl (CURLOPT_AWS_SIGV4) and always carries x-amz-content-sha256:
 * the SHA-256 of the file for an upload, computed by streaming it first,
 * and that of the empty body otherwise. Uploads stream from the file and
 * downloads stream into an anonymous temporary file, so no object is ever
 * held in memory; only listing pages and error documents are, capped.
 * libcurl 7.88 signs the query string as it is given, so queries are built
 * already sorted and encoded; and it would sign a header removed with
 * "Expect:", so uploads keep "Expect: 100-continue". A 404 about an
 * object is BP_ENOTFOUND; transport failures, timeouts and every other
 * status (403, 5xx, ...) are BP_EUNAVAILABLE with a detail naming the
 * operation, the key and the status or failure, never a credential.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "blob/blob.h"
#include "blob/s3_xml.h"
#include "blob/sigv4.h"
#include "http/urldecode.h"
#include "temp_files.h"

/* The SHA-256 of zero bytes: the payload hash of bodiless requests. */
#define EMPTY_SHA256                                                           \
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

#define MAX_URL_BYTES 8192
#define MAX_ERROR_BODY (64 * 1024)        /* an error document, kept */
#define MAX_LIST_BODY (16L * 1024 * 1024) /* one ListObjectsV2 page */
#define MIN_CONNECT_TIMEOUT_MS 100L
#define MAX_CONNECT_TIMEOUT_MS 10000L
/* A file transfer slower than this for s3_timeout_ms has stalled. */
#define MIN_TRANSFER_BYTES_PER_S 1024L
#define HASH_CHUNK 65536
#define ERROR_CODE_LEN 64

struct blob_s3 {
    struct bp_blob_store base;
    CURL *curl;
    char *bucket;
    char *prefix;      /* "" or "photos/2026" */
    char *scheme;      /* "https" or "http" */
    char *host;        /* what the Host header says, port only if needed */
    char *bucket_path; /* "/<bucket>" in path style, "" in virtual style */
    char *region;
    char *sigv4; /* CURLOPT_AWS_SIGV4: "aws:amz:<region>:s3" */
    char *access_key_id;
    char *secret_access_key;
    char *session_token; /* "" for none */
    char *public_base_url;
    char *tmp_dir;
    long timeout_ms;
    char curl_error[CURL_ERROR_SIZE];
};

/* One HTTP exchange with the storage, and what came back. */
struct request {
    CURL *curl;
    const char *op;             /* for details: "PUT", "GET", "LIST", ... */
    const char *name;           /* for details: the key or prefix */
    const char *method;         /* "GET", "PUT", "HEAD" or "DELETE" */
    const char *path;           /* URI-encoded, absolute */
    const char *query;          /* canonical (sorted, encoded), or NULL */
    const char *payload_sha256; /* hex */
    const char *content_type;   /* or NULL */
    const char *copy_source;    /* x-amz-copy-source, or NULL */
    int upload_fd;              /* PUT body, or -1 for an empty one */
    off_t upload_size;
    int download_fd;    /* a 2xx body goes here, when >= 0 */
    struct bp_buf body; /* otherwise here (capped) */
    bool body_overflow; /* a 2xx body passed the cap */
    int io_errno;       /* a local read or write failed */
    long status;        /* the HTTP status */
};

static struct blob_s3 *from_base(struct bp_blob_store *store)
{
    return (struct blob_s3 *)store;
}

/* Fills a request with the defaults: no body either way, small answers. */
static void request_init(struct request *req, struct blob_s3 *s, const char *op,
                         const char *name, size_t body_max)
{
    memset(req, 0, sizeof(*req));
    req->curl = s->curl;
    req->op = op;
    req->name = name;
    req->method = "GET";
    req->payload_sha256 = EMPTY_SHA256;
    req->upload_fd = -1;
    req->download_fd = -1;
    bp_buf_init(&req->body, body_max);
}

static void request_free(struct request *req)
{
    bp_buf_free(&req->body);
}

/* Receives the response body: into download_fd on success, else kept. */
static size_t on_body(char *data, size_t size, size_t count, void *arg)
{
    struct request *req = arg;
    size_t len = size * count;
    long status = 0;
    curl_easy_getinfo(req->curl, CURLINFO_RESPONSE_CODE, &status);
    bool success = status >= 200 && status < 300;
    if (success && req->download_fd >= 0) {
        for (size_t done = 0; done < len;) {
            ssize_t put = write(req->download_fd, data + done, len - done);
            if (put < 0 && errno == EINTR)
                continue;
            if (put <= 0) {
                req->io_errno = put < 0 ? errno : EIO;
                return 0;
            }
            done += (size_t)put;
        }
        return len;
    }
    if (bp_buf_append(&req->body, data, len) != BP_OK && success) {
        req->body_overflow = true;
        return 0;
    }
    return len; /* the end of a long error document is not needed */
}

/* Sends the upload body from upload_fd. */
static size_t on_upload(char *buf, size_t size, size_t count, void *arg)
{
    struct request *req = arg;
    if (req->upload_fd < 0)
        return 0;
    for (;;) {
        ssize_t got = read(req->upload_fd, buf, size * count);
        if (got >= 0)
            return (size_t)got;
        if (errno != EINTR) {
            req->io_errno = errno;
            return CURL_READFUNC_ABORT;
        }
    }
}

/* Rewinds the upload body when libcurl must send it again. */
static int on_seek(void *arg, curl_off_t offset, int origin)
{
    struct request *req = arg;
    if (req->upload_fd < 0)
        return offset == 0 ? CURL_SEEKFUNC_OK : CURL_SEEKFUNC_FAIL;
    return lseek(req->upload_fd, (off_t)offset, origin) < 0 ? CURL_SEEKFUNC_FAIL
                                                            : CURL_SEEKFUNC_OK;
}

/* Appends "name: value" to headers; false when memory runs out. */
static bool add_header(struct curl_slist **headers, const char *name,
                       const char *value)
{
    struct bp_buf line;
    bp_buf_init(&line, 0);
    bool ok = bp_buf_printf(&line, "%s: %s", name, value) == BP_OK;
    if (ok) {
        struct curl_slist *grown = curl_slist_append(*headers, line.data);
        ok = grown != NULL;
        if (ok)
            *headers = grown;
    }
    bp_buf_free(&line);
    return ok;
}

static struct curl_slist *request_headers(const struct blob_s3 *s,
                                          const struct request *req)
{
    struct curl_slist *headers = NULL;
    bool ok = add_header(&headers, "x-amz-content-sha256", req->payload_sha256);
    if (ok && s->session_token[0] != '\0')
        ok = add_header(&headers, "x-amz-security-token", s->session_token);
    if (ok && req->content_type != NULL)
        ok = add_header(&headers, "Content-Type", req->content_type);
    if (ok && req->copy_source != NULL)
        ok = add_header(&headers, "x-amz-copy-source", req->copy_source);
    if (!ok) {
        curl_slist_free_all(headers);
        return NULL;
    }
    return headers;
}

/* The connection's budget: a share of the request's, within bounds. */
static long connect_timeout_ms(long timeout_ms)
{
    long ms = timeout_ms / 3;
    if (ms < MIN_CONNECT_TIMEOUT_MS)
        ms = MIN_CONNECT_TIMEOUT_MS;
    if (ms > MAX_CONNECT_TIMEOUT_MS)
        ms = MAX_CONNECT_TIMEOUT_MS;
    return ms < timeout_ms ? ms : timeout_ms;
}

/* Sets the options of req on the (reset) handle. */
static CURLcode configure(struct blob_s3 *s, struct request *req,
                          const char *url, struct curl_slist *headers)
{
    CURL *c = s->curl;
    CURLcode set = CURLE_OK;
#define SET(option, value)                                                     \
    do {                                                                       \
        if (set == CURLE_OK)                                                   \
            set = curl_easy_setopt(c, option, value);                          \
    } while (0)
    SET(CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SET(CURLOPT_NOSIGNAL, 1L);
    if (req->upload_fd >= 0 || req->download_fd >= 0) {
        /* A file's transfer may take longer than timeout_ms on a slow
         * link: it fails when it stalls (under 1 KiB/s for as long)
         * instead. */
        SET(CURLOPT_LOW_SPEED_LIMIT, MIN_TRANSFER_BYTES_PER_S);
        SET(CURLOPT_LOW_SPEED_TIME, (s->timeout_ms + 999) / 1000);
    } else {
        SET(CURLOPT_TIMEOUT_MS, s->timeout_ms);
    }
    long connect_ms = connect_timeout_ms(s->timeout_ms);
    if (s->base.deadline_ms > 0) {
        /* An invocation's deadline bounds the whole call, a file's
         * transfer included (at least 1 ms: then it fails at once). */
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        int64_t left = s->base.deadline_ms -
                       ((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000);
        long cap = left < 1 ? 1L : left > LONG_MAX ? LONG_MAX : (long)left;
        long whole =
            req->upload_fd >= 0 || req->download_fd >= 0 || s->timeout_ms > cap
                ? cap
                : s->timeout_ms;
        SET(CURLOPT_TIMEOUT_MS, whole);
        if (connect_ms > cap)
            connect_ms = cap;
    }
    SET(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    SET(CURLOPT_ERRORBUFFER, s->curl_error);
    SET(CURLOPT_AWS_SIGV4, s->sigv4);
    SET(CURLOPT_USERNAME, s->access_key_id);
    SET(CURLOPT_PASSWORD, s->secret_access_key);
    SET(CURLOPT_HTTPHEADER, headers);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, req);
    if (strcmp(req->method, "HEAD") == 0) {
        SET(CURLOPT_NOBODY, 1L);
        SET(CURLOPT_FILETIME, 1L);
    } else if (strcmp(req->method, "PUT") == 0) {
        SET(CURLOPT_UPLOAD, 1L);
        SET(CURLOPT_READFUNCTION, on_upload);
        SET(CURLOPT_READDATA, req);
        SET(CURLOPT_SEEKFUNCTION, on_seek);
        SET(CURLOPT_SEEKDATA, req);
        SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->upload_size);
    } else if (strcmp(req->method, "DELETE") == 0) {
        SET(CURLOPT_CUSTOMREQUEST, "DELETE");
    }
#undef SET
    return set;
}

/* Describes a failed transfer (no HTTP answer) in err. */
static enum bp_rc transfer_error(struct blob_s3 *s, const struct request *req,
                                 CURLcode code, struct bp_error *err)
{
    if (req->io_errno != 0)
        return bp_error_set(err, BP_EIO, "object storage: %s %s: %s: %s",
                            req->op, req->name,
                            req->upload_fd >= 0 ? "cannot read the upload"
                                                : "cannot keep the download",
                            strerror(req->io_errno));
    if (req->body_overflow)
        return bp_error_set(err, BP_EUNAVAILABLE,
                            "object storage: %s %s: answer too large", req->op,
                            req->name);
    long os_errno = 0;
    const char *what;
    switch (code) {
    case CURLE_COULDNT_CONNECT:
        curl_easy_getinfo(s->curl, CURLINFO_OS_ERRNO, &os_errno);
        what = os_errno == ECONNREFUSED || os_errno == 0
                   ? "connection refused"
                   : strerror((int)os_errno);
        break;
    case CURLE_OPERATION_TIMEDOUT:
        return bp_error_set(err, BP_EUNAVAILABLE,
                            "object storage: %s %s: no answer within %ld ms",
                            req->op, req->name, s->timeout_ms);
    case CURLE_COULDNT_RESOLVE_HOST:
        what = "cannot resolve the host name";
        break;
    default:
        what =
            s->curl_error[0] != '\0' ? s->curl_error : curl_easy_strerror(code);
        break;
    }
    return bp_error_set(err, BP_EUNAVAILABLE, "object storage: %s %s: %s",
                        req->op, req->name, what);
}

/*
 * Sends req and waits for the answer; req->status and the body are then
 * set. Returns BP_OK when an HTTP answer came, whatever its status.
 */
static enum bp_rc perform(struct blob_s3 *s, struct request *req,
                          struct bp_error *err)
{
    struct bp_buf url;
    bp_buf_init(&url, MAX_URL_BYTES);
    struct curl_slist *headers = NULL;
    enum bp_rc rc = bp_buf_printf(&url, "%s://%s%s%s%s", s->scheme, s->host,
                                  req->path, req->query != NULL ? "?" : "",
                                  req->query != NULL ? req->query : "");
    if (rc != BP_OK) {
        rc = bp_error_set(err, rc, "object storage: %s %s: URL too long",
                          req->op, req->name);
        goto out_free;
    }
    headers = request_headers(s, req);
    if (headers == NULL) {
        rc = BP_ENOMEM;
        goto out_free;
    }
    /* A reset keeps the connection cache: connections stay alive. */
    curl_easy_reset(s->curl);
    s->curl_error[0] = '\0';
    CURLcode code = configure(s, req, url.data, headers);
    if (code != CURLE_OK) {
        rc = bp_error_set(err, BP_EINTERNAL, "object storage: libcurl: %s",
                          curl_easy_strerror(code));
        goto out_free;
    }
    code = curl_easy_perform(s->curl);
    if (code != CURLE_OK) {
        rc = transfer_error(s, req, code, err);
        goto out_free;
    }
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &req->status);
out_free:
    /* The handle must not keep pointers to what is freed here. */
    curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
    curl_slist_free_all(headers);
    bp_buf_free(&url);
    return rc;
}

/*
 * Turns an HTTP answer other than 2xx into an error: 404 is
 * BP_ENOTFOUND when it is about the object (not the bucket), anything
 * else BP_EUNAVAILABLE with the status and S3's error code.
 */
static enum bp_rc status_error(const struct request *req, bool object,
                               struct bp_error *err)
{
    char code[ERROR_CODE_LEN] = "";
    if (req->body.len > 0)
        bp_s3_xml_error_code(req->body.data, req->body.len, code, sizeof(code));
    if (req->status == 404 && object && strcmp(code, "NoSuchBucket") != 0)
        return bp_error_set(err, BP_ENOTFOUND, "File not found");
    return bp_error_set(
        err, BP_EUNAVAILABLE, "object storage: %s %s: HTTP %ld%s%s", req->op,
        req->name, req->status, code[0] != '\0' ? " " : "", code);
}

static bool success(const struct request *req)
{
    return req->status >= 200 && req->status < 300;
}

/* Appends the URI-encoded object name of key: "<prefix>/<key>". */
static enum bp_rc object_name(const struct blob_s3 *s, const char *key,
                              struct bp_buf *out)
{
    enum bp_rc rc = BP_OK;
    if (s->prefix[0] != '\0') {
        rc = bp_sigv4_uri_encode(s->prefix, true, out);
        if (rc == BP_OK)
            rc = bp_buf_append(out, "/", 1);
    }
    if (rc == BP_OK)
        rc = bp_sigv4_uri_encode(key, true, out);
    return rc;
}

/* Appends the request path of key: "/<bucket>/<name>" or "/<name>". */
static enum bp_rc object_path(const struct blob_s3 *s, const char *key,
                              struct bp_buf *out)
{
    enum bp_rc rc = bp_buf_append_str(out, s->bucket_path);
    if (rc == BP_OK)
        rc = bp_buf_append(out, "/", 1);
    if (rc == BP_OK)
        rc = object_name(s, key, out);
    return rc;
}

/* Writes the lower-case hex SHA-256 of what remains of fd into hex. */
static int hash_fd(int fd, char hex[BP_SIGV4_HEX_LEN + 1])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        errno = ENOMEM;
        return -1;
    }
    int rc = 0;
    unsigned char *chunk = malloc(HASH_CHUNK);
    if (chunk == NULL) {
        errno = ENOMEM;
        rc = -1;
    }
    while (rc == 0) {
        ssize_t got = read(fd, chunk, HASH_CHUNK);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            rc = -1;
        else if (got == 0)
            break;
        else if (EVP_DigestUpdate(md, chunk, (size_t)got) != 1)
            rc = -1;
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (rc == 0 && EVP_DigestFinal_ex(md, digest, &len) == 1 && len == 32) {
        bp_hex_encode(digest, len, hex);
    } else if (rc == 0) {
        errno = EIO;
        rc = -1;
    }
    free(chunk);
    EVP_MD_CTX_free(md);
    return rc;
}

static enum bp_rc s3_put_file(struct bp_blob_store *store, const char *key,
                              const char *src_path, const char *content_type,
                              struct bp_error *err)
{
    struct blob_s3 *s = from_base(store);
    struct request req;
    request_init(&req, s, "PUT", key, MAX_ERROR_BODY);
    struct bp_buf path;
    bp_buf_init(&path, MAX_URL_BYTES);
    char sha256[BP_SIGV4_HEX_LEN + 1];
    enum bp_rc rc = BP_OK;
    int fd = open(src_path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || hash_fd(fd, sha256) != 0 ||
        lseek(fd, 0, SEEK_SET) != 0) {
        rc = bp_error_set(err, BP_EIO, "cannot read upload: %s",
                          strerror(errno));
        goto out_close;
    }
    rc = object_path(s, key, &path);
    if (rc != BP_OK)
        goto out_close;
    req.method = "PUT";
    req.path = path.data;
    req.payload_sha256 = sha256;
    req.content_type =
        content_type != NULL ? content_type : "application/octet-stream";
    req.upload_fd = fd;
    req.upload_size = st.st_size;
    rc = perform(s, &req, err);
    if (rc == BP_OK && !success(&req))
        rc = status_error(&req, false, err);
out_close:
    if (fd >= 0)
        close(fd);
    bp_buf_free(&path);
    request_free(&req);
    return rc;
}

/*
 * Returns a new read-write file descriptor of an anonymous file in dir:
 * O_TMPFILE, or a named file that is unlinked at once. -1 with errno.
 */
static int anonymous_file(const char *dir)
{
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
        return fd;
    struct bp_buf path;
    char owner[32];
    bp_temp_prefix(owner, sizeof(owner));
    bp_buf_init(&path, 4096);
    if (bp_buf_printf(&path, "%s/%sbp-s3-get-XXXXXX", dir, owner) != BP_OK) {
        bp_buf_free(&path);
        errno = ENAMETOOLONG;
        return -1;
    }
    fd = mkostemp(path.data, O_CLOEXEC);
    if (fd >= 0)
        unlink(path.data);
    int saved = errno;
    bp_buf_free(&path);
    errno = saved;
    return fd;
}

static enum bp_rc s3_open(struct bp_blob_store *store, const char *key,
                          struct bp_blob_reader *out, struct bp_error *err)
{
    struct blob_s3 *s = from_base(store);
    struct request req;
    request_init(&req, s, "GET", key, MAX_ERROR_BODY);
    struct bp_buf path;
    bp_buf_init(&path, MAX_URL_BYTES);
    enum bp_rc rc = object_path(s, key, &path);
    if (rc != BP_OK)
        goto out_free;
    int fd = anonymous_file(s->tmp_dir);
    if (fd < 0) {
        rc = bp_error_set(err, BP_EIO, "cannot create a download file: %s",
                          strerror(errno));
        goto out_free;
    }
    req.path = path.data;
    req.download_fd = fd;
    rc = perform(s, &req, err);
    if (rc == BP_OK && !success(&req))
        rc = status_error(&req, true, err);
    struct stat st;
    if (rc == BP_OK && (fstat(fd, &st) != 0 || lseek(fd, 0, SEEK_SET) != 0))
        rc = bp_error_set(err, BP_EIO, "cannot read the download: %s",
                          strerror(errno));
    if (rc != BP_OK) {
        close(fd);
        goto out_free;
    }
    out->fd = fd;
    out->size = st.st_size;
out_free:
    bp_buf_free(&path);
    request_free(&req);
    return rc;
}

/* Deletes the object of key; a missing object is no error. */
static enum bp_rc delete_object(struct blob_s3 *s, const char *key,
                                struct bp_error *err)
{
    struct request req;
    request_init(&req, s, "DELETE", key, MAX_ERROR_BODY);
    struct bp_buf path;
    bp_buf_init(&path, MAX_URL_BYTES);
    enum bp_rc rc = object_path(s, key, &path);
    if (rc != BP_OK)
        goto out_free;
    req.method = "DELETE";
    req.path = path.data;
    rc = perform(s, &req, err);
    if (rc == BP_OK && !success(&req)) {
        rc = status_error(&req, true, err);
        if (rc == BP_ENOTFOUND)
            rc = BP_OK;
    }
out_free:
    bp_buf_free(&path);
    request_free(&req);
    return rc;
}

static enum bp_rc s3_remove(struct bp_blob_store *store, const char *key,
                            struct bp_error *err)
{
    return delete_object(from_base(store), key, err);
}

static enum bp_rc s3_stat(struct bp_blob_store *store, const char *key,
                          struct bp_blob_entry *out, struct bp_error *err)
{
    struct blob_s3 *s = from_base(store);
    struct request req;
    request_init(&req, s, "HEAD", key, MAX_ERROR_BODY);
    struct bp_buf path;
    bp_buf_init(&path, MAX_URL_BYTES);
    enum bp_rc rc = object_path(s, key, &path);
    if (rc != BP_OK)
        goto out_free;
    req.method = "HEAD";
    req.path = path.data;
    rc = perform(s, &req, err);
    if (rc == BP_OK && !success(&req))
        rc = status_error(&req, true, err);
    if (rc != BP_OK)
        goto out_free;
    curl_off_t size = -1, modified_s = -1;
    curl_easy_getinfo(s->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &size);
    curl_easy_getinfo(s->curl, CURLINFO_FILETIME_T, &modified_s);
    if (size < 0) {
        rc = bp_error_set(err, BP_EUNAVAILABLE,
                          "object storage: HEAD %s: no Content-Length", key);
        goto out_free;
    }
    out->key = key;
    out->size = (off_t)size;
    out->modified_ms = modified_s >= 0 ? (int64_t)modified_s * 1000 : 0;
out_free:
    bp_buf_free(&path);
    request_free(&req);
    return rc;
}

/* Copies the object of from over that of to (server side). */
static enum bp_rc copy_object(struct blob_s3 *s, const char *from,
                              const char *to, struct bp_error *err)
{
    struct request req;
    request_init(&req, s, "COPY", from, MAX_ERROR_BODY);
    struct bp_buf path, source;
    bp_buf_init(&path, MAX_URL_BYTES);
    bp_buf_init(&source, MAX_URL_BYTES);
    enum bp_rc rc = object_path(s, to, &path);
    if (rc == BP_OK)
        rc = bp_buf_printf(&source, "/%s/", s->bucket);
    if (rc == BP_OK)
        rc = object_name(s, from, &source);
    if (rc != BP_OK)
        goto out_free;
    req.method = "PUT";
    req.path = path.data;
    req.copy_source = source.data;
    rc = perform(s, &req, err);
    if (rc != BP_OK)
        goto out_free;
    /* A copy can fail after S3 has answered 200: the body then says so. */
    char code[ERROR_CODE_LEN];
    if (success(&req) && req.body.len > 0 &&
        bp_s3_xml_error_code(req.body.data, req.body.len, code, sizeof(code)))
        rc = strcmp(code, "NoSuchKey") == 0
                 ? bp_error_set(err, BP_ENOTFOUND, "File not found")
                 : bp_error_set(err, BP_EUNAVAILABLE,
                                "object storage: COPY %s: HTTP %ld %s", from,
                                req.status, code);
    else if (!success(&req))
        rc = status_error(&req, true, err);
out_free:
    bp_buf_free(&source);
    bp_buf_free(&path);
    request_free(&req);
    return rc;
}

static enum bp_rc s3_move(struct bp_blob_store *store, const char *from,
                          const char *to, struct bp_error *err)
{
    struct blob_s3 *s = from_base(store);
    if (strcmp(from, to) == 0) {
        /* S3 refuses to copy an object onto itself; nothing to move. */
        struct bp_blob_entry entry;
        return s3_stat(store, from, &entry, err);
    }
    enum bp_rc rc = copy_object(s, from, to, err);
    if (rc == BP_OK)
        rc = delete_object(s, from, err);
    return rc;
}

/* Appends the presigned URL of method on key to url. */
static enum bp_rc presign(struct blob_s3 *s, const char *method,
                          const char *key, const char *content_type,
                          const char *disposition, long expires_s,
                          struct bp_buf *url, struct bp_error *err)
{
    struct bp_buf path;
    bp_buf_init(&path, MAX_URL_BYTES);
    enum bp_rc rc = object_path(s, key, &path);
    if (rc != BP_OK)
        goto out_free;
    const struct bp_sigv4_credentials creds = {
        .access_key_id = s->access_key_id,
        .secret_access_key = s->secret_access_key,
        .session_token = s->session_token,
    };
    const struct bp_sigv4_presign p = {
        .method = method,
        .scheme = s->scheme,
        .host = s->host,
        .path = path.data,
        .region = s->region,
        .service = "s3",
        .now_s = (int64_t)time(NULL),
        .expires_s = expires_s,
        .content_type = content_type,
        .response_content_disposition = disposition,
    };
    rc = bp_sigv4_presign_url(&creds, &p, url, err);
out_free:
    bp_buf_free(&path);
    return rc;
}

static enum bp_rc s3_presign_get(struct bp_blob_store *store, const char *key,
                                 long expires_s, const char *disposition,
                                 bool signed_only, struct bp_buf *url,
                                 struct bp_error *err)
{
    struct blob_s3 *s = from_base(store);
    if (s->public_base_url[0] == '\0' || signed_only)
        return presign(s, "GET", key, NULL, disposition, expires_s, url, err);
    size_t base_len = strlen(s->public_base_url);
    enum bp_rc rc = bp_buf_append_str(url, s->public_base_url);
    if (rc == BP_OK && s->public_base_url[base_len - 1] != '/')
        rc = bp_buf_append(url, "/", 1);
    if (rc == BP_OK)
        rc = object_name(s, key, url);
    return rc;
}

static enum bp_rc s3_presign_put(struct bp_blob_store *store, const char *key,
                                 const char *content_type, long expires_s,
                                 struct bp_buf *url, struct bp_error *err)
{
    return presign(from_base(store), "PUT", key, content_type, NULL, expires_s,
                   url, err);
}

/* Builds the canonical query of one ListObjectsV2 page (sorted names). */
static enum bp_rc list_query(const char *object_prefix, const char *token,
                             struct bp_buf *query)
{
    bp_buf_reset(query);
    enum bp_rc rc = BP_OK;
    if (token != NULL) {
        rc = bp_buf_append_str(query, "continuation-token=");
        if (rc == BP_OK)
            rc = bp_sigv4_uri_encode(token, false, query);
        if (rc == BP_OK)
            rc = bp_buf_append(query, "&", 1);
    }
    if (rc == BP_OK)
        rc = bp_buf_append_str(query, "list-type=2&prefix=");
    if (rc == BP_OK)
        rc = bp_sigv4_uri_encode(object_prefix, false, query);
    return rc;
}

/* Reports the objects of one page that are blobs of this store. */
static enum bp_rc visit_page(const struct blob_s3 *s,
                             const struct bp_s3_list_page *page,
                             const char *prefix, bp_blob_visit_fn visit,
                             void *arg)
{
    size_t skip = s->prefix[0] != '\0' ? strlen(s->prefix) + 1 : 0;
    for (size_t i = 0; i < page->count; i++) {
        const struct bp_s3_object *object = &page->objects[i];
        if (skip > 0 && (strncmp(object->key, s->prefix, skip - 1) != 0 ||
                         object->key[skip - 1] != '/'))
            continue;
        const char *key = object->key + skip;
        if (!bp_blob_key_valid(key) ||
            strncmp(key, prefix, strlen(prefix)) != 0)
            continue;
        const struct bp_blob_entry entry = {
            .key = key,
            .size = object->size,
            .modified_ms = object->modified_ms,
        };
        enum bp_rc rc = visit(arg, &entry);
        if (rc != BP_OK)
            return rc;
    }
    return BP_OK;
}

static enum bp_rc s3_list(struct bp_blob_store *store, const char *prefix,
                          bp_blob_visit_fn visit, void *arg,
                          struct bp_error *err)
{
    struct blob_s3 *s = from_base(store);
    const char *name = prefix[0] != '\0' ? prefix : "*";
    struct bp_buf object_prefix, query;
    bp_buf_init(&object_prefix, MAX_URL_BYTES);
    bp_buf_init(&query, MAX_URL_BYTES);
    char *token = NULL;
    enum bp_rc rc = bp_buf_printf(&object_prefix, "%s%s%s", s->prefix,
                                  s->prefix[0] != '\0' ? "/" : "", prefix);
    while (rc == BP_OK) {
        rc = list_query(object_prefix.data, token, &query);
        if (rc != BP_OK)
            break;
        struct request req;
        request_init(&req, s, "LIST", name, MAX_LIST_BODY);
        req.path = s->bucket_path[0] != '\0' ? s->bucket_path : "/";
        req.query = query.data;
        rc = perform(s, &req, err);
        if (rc == BP_OK && !success(&req))
            rc = status_error(&req, false, err);
        struct bp_s3_list_page page = {0};
        struct bp_error parse_err = {{0}};
        if (rc == BP_OK && bp_s3_xml_parse_list(req.body.data, req.body.len,
                                                &page, &parse_err) != BP_OK)
            rc = bp_error_set(err, BP_EUNAVAILABLE,
                              "object storage: LIST %s: unreadable answer: %s",
                              name, parse_err.detail);
        request_free(&req);
        if (rc != BP_OK)
            break;
        rc = visit_page(s, &page, prefix, visit, arg);
        free(token);
        token = page.continuation_token;
        page.continuation_token = NULL;
        bool more = page.truncated;
        bp_s3_list_page_free(&page);
        if (rc != BP_OK || !more)
            break;
        if (token == NULL)
            rc = bp_error_set(err, BP_EUNAVAILABLE,
                              "object storage: LIST %s: a truncated listing "
                              "without a continuation token",
                              name);
    }
    free(token);
    bp_buf_free(&query);
    bp_buf_free(&object_prefix);
    return rc;
}

static void s3_close(struct bp_blob_store *store)
{
    struct blob_s3 *s = from_base(store);
    if (s->curl != NULL)
        curl_easy_cleanup(s->curl);
    free(s->bucket);
    free(s->prefix);
    free(s->scheme);
    free(s->host);
    free(s->bucket_path);
    free(s->region);
    free(s->sigv4);
    free(s->access_key_id);
    free(s->secret_access_key);
    free(s->session_token);
    free(s->public_base_url);
    free(s->tmp_dir);
    free(s);
}

static const struct bp_blob_ops s3_ops = {
    .name = "s3",
    .put_file = s3_put_file,
    .open = s3_open,
    .remove = s3_remove,
    .move = s3_move,
    .presign_get = s3_presign_get,
    .presign_put = s3_presign_put,
    .stat = s3_stat,
    .list = s3_list,
    .close = s3_close,
};

/* Returns a new copy of "<a><b><c>", or NULL when memory runs out. */
static char *concat3(const char *a, const char *b, const char *c)
{
    struct bp_buf buf;
    bp_buf_init(&buf, 0);
    if (bp_buf_printf(&buf, "%s%s%s", a, b, c) != BP_OK) {
        bp_buf_free(&buf);
        return NULL;
    }
    return buf.data;
}

/* Returns true for a bucket name that can go in a host name and a path. */
static bool bucket_ok(const char *bucket)
{
    if (bucket == NULL || bucket[0] == '\0')
        return false;
    for (const char *p = bucket; *p != '\0'; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '-'))
            return false;
    return true;
}

/*
 * Splits the endpoint "http(s)://HOST[:PORT][/]" into its scheme and the
 * server as a Host header names it (a default port dropped); the AWS
 * endpoint of region when endpoint is "".
 */
static enum bp_rc parse_endpoint(const char *endpoint, const char *region,
                                 struct blob_s3 *s, char **server,
                                 struct bp_error *err)
{
    if (endpoint == NULL || endpoint[0] == '\0') {
        s->scheme = strdup("https");
        *server = concat3("s3.", region, ".amazonaws.com");
        return s->scheme != NULL && *server != NULL ? BP_OK : BP_ENOMEM;
    }
    const char *rest;
    const char *default_port;
    if (strncmp(endpoint, "https://", 8) == 0) {
        s->scheme = strdup("https");
        rest = endpoint + 8;
        default_port = ":443";
    } else if (strncmp(endpoint, "http://", 7) == 0) {
        s->scheme = strdup("http");
        rest = endpoint + 7;
        default_port = ":80";
    } else {
        return bp_error_set(err, BP_EINVAL,
                            "s3_endpoint: expected http(s)://HOST[:PORT]");
    }
    if (s->scheme == NULL)
        return BP_ENOMEM;
    size_t len = strlen(rest);
    while (len > 0 && rest[len - 1] == '/')
        len--;
    size_t port_len = strlen(default_port);
    if (len > port_len &&
        strncmp(rest + len - port_len, default_port, port_len) == 0)
        len -= port_len;
    if (len == 0 || strcspn(rest, "/?#@ \t\r\n") < len)
        return bp_error_set(err, BP_EINVAL,
                            "s3_endpoint: expected http(s)://HOST[:PORT]");
    *server = strndup(rest, len);
    return *server != NULL ? BP_OK : BP_ENOMEM;
}

/* Checks the settings that the configuration does not. */
static enum bp_rc check_settings(const struct bp_blob_s3_settings *settings,
                                 struct bp_error *err)
{
    if (!bucket_ok(settings->bucket))
        return bp_error_set(err, BP_EINVAL, "s3: invalid bucket name");
    if (settings->prefix == NULL ||
        (settings->prefix[0] != '\0' && !bp_blob_key_valid(settings->prefix)))
        return bp_error_set(err, BP_EINVAL,
                            "s3: the prefix must be segments of "
                            "[A-Za-z0-9._-] joined by '/'");
    if (settings->region == NULL || settings->region[0] == '\0' ||
        strchr(settings->region, ':') != NULL)
        return bp_error_set(err, BP_EINVAL, "s3: invalid region");
    if (settings->access_key_id == NULL || settings->access_key_id[0] == '\0' ||
        settings->secret_access_key == NULL ||
        settings->secret_access_key[0] == '\0')
        return bp_error_set(err, BP_EINVAL,
                            "s3: an access key id and a secret are needed");
    if (settings->timeout_ms <= 0)
        return bp_error_set(err, BP_EINVAL, "s3: invalid timeout");
    return BP_OK;
}

static char *dup_or_empty(const char *text)
{
    return strdup(text != NULL ? text : "");
}

enum bp_rc bp_blob_s3_open(const struct bp_blob_s3_settings *settings,
                           struct bp_blob_store **out, struct bp_error *err)
{
    enum bp_rc rc = check_settings(settings, err);
    if (rc != BP_OK)
        return rc;
    struct blob_s3 *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return BP_ENOMEM;
    s->base.ops = &s3_ops;
    s->timeout_ms = settings->timeout_ms;
    char *server = NULL;
    rc = parse_endpoint(settings->endpoint, settings->region, s, &server, err);
    if (rc != BP_OK)
        goto out_close;
    s->bucket = strdup(settings->bucket);
    s->prefix = strdup(settings->prefix);
    s->region = strdup(settings->region);
    s->sigv4 = concat3("aws:amz:", settings->region, ":s3");
    s->access_key_id = strdup(settings->access_key_id);
    s->secret_access_key = strdup(settings->secret_access_key);
    s->session_token = dup_or_empty(settings->session_token);
    s->public_base_url = dup_or_empty(settings->public_base_url);
    s->tmp_dir = strdup(settings->tmp_dir != NULL && settings->tmp_dir[0]
                            ? settings->tmp_dir
                            : "/tmp");
    if (settings->path_style) {
        s->host = strdup(server);
        s->bucket_path = concat3("/", settings->bucket, "");
    } else {
        s->host = concat3(settings->bucket, ".", server);
        s->bucket_path = strdup("");
    }
    if (s->bucket == NULL || s->prefix == NULL || s->region == NULL ||
        s->sigv4 == NULL || s->access_key_id == NULL ||
        s->secret_access_key == NULL || s->session_token == NULL ||
        s->public_base_url == NULL || s->tmp_dir == NULL || s->host == NULL ||
        s->bucket_path == NULL) {
        rc = BP_ENOMEM;
        goto out_close;
    }
    s->curl = curl_easy_init();
    if (s->curl == NULL) {
        rc = bp_error_set(err, BP_EINTERNAL, "s3: libcurl failed to start");
        goto out_close;
    }
    /* A libcurl built without SigV4 refuses the option: say so now. */
    if (curl_easy_setopt(s->curl, CURLOPT_AWS_SIGV4, s->sigv4) != CURLE_OK) {
        rc = bp_error_set(err, BP_EINTERNAL,
                          "s3: this libcurl cannot sign AWS requests");
        goto out_close;
    }
    free(server);
    *out = &s->base;
    return BP_OK;
out_close:
    free(server);
    s3_close(&s->base);
    return rc;
}
