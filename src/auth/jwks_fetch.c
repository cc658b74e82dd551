/*
 * jwks_fetch.c: one read of a key set document, from a URL through
 * libcurl or from a file through the system. The safety argument: the
 * protocols libcurl may use are set to http and https (and https alone
 * after an https start) for the first request and every redirect, so a
 * configured or redirected URL cannot reach file://, ftp:// or anything
 * else; every transfer has a connection and a total timeout; the body
 * goes into a capped buffer, so no answer can grow memory past
 * max_bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "auth/jwks_fetch.h"

#define MAX_REDIRECTS 3L
#define READ_CHUNK 4096

/* The body being received and whether it outgrew its buffer. */
struct download {
    struct bp_buf *body;
    bool overflow;
};

enum bp_jwks_source_kind bp_jwks_source_kind(const char *source)
{
    if (source == NULL || source[0] == '\0')
        return BP_JWKS_SOURCE_INVALID;
    if (strncasecmp(source, "https://", 8) == 0 ||
        strncasecmp(source, "http://", 7) == 0)
        return BP_JWKS_SOURCE_URL;
    if (strstr(source, "://") != NULL)
        return BP_JWKS_SOURCE_INVALID;
    return BP_JWKS_SOURCE_FILE;
}

/*
 * Reads the regular file at path into out, within max_bytes. The file is
 * opened without blocking, so a FIFO or device at path is refused
 * instead of holding the worker.
 */
static enum bp_rc read_file(const char *path, size_t max_bytes,
                            struct bp_buf *out, struct bp_error *err)
{
    enum bp_rc rc = BP_OK;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return bp_error_set(err, BP_EUNAVAILABLE,
                            "signing keys unavailable: cannot open the key "
                            "file: %s",
                            strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = bp_error_set(err, BP_EUNAVAILABLE,
                          "signing keys unavailable: the key file is not a "
                          "regular file");
        goto out_close;
    }
    size_t start = out->len;
    char chunk[READ_CHUNK];
    for (;;) {
        ssize_t got = read(fd, chunk, sizeof(chunk));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = bp_error_set(err, BP_EUNAVAILABLE,
                              "signing keys unavailable: cannot read the key "
                              "file: %s",
                              strerror(errno));
            goto out_close;
        }
        if (got == 0)
            break;
        if (out->len - start + (size_t)got > max_bytes ||
            bp_buf_append(out, chunk, (size_t)got) != BP_OK) {
            rc = bp_error_set(err, BP_EUNAVAILABLE,
                              "signing keys unavailable: the key file is "
                              "over %zu bytes",
                              max_bytes);
            goto out_close;
        }
    }
out_close:
    close(fd);
    return rc;
}

/* libcurl's body callback: keeps the bytes while they fit. */
static size_t on_body(char *data, size_t size, size_t count, void *arg)
{
    struct download *dl = arg;
    size_t len = size * count;
    if (bp_buf_append(dl->body, data, len) != BP_OK) {
        dl->overflow = true;
        return 0;
    }
    return len;
}

/* Says why a transfer that got no HTTP answer failed. */
static enum bp_rc transfer_error(CURLcode code, const char *curl_error,
                                 const struct bp_jwks_fetch_limits *limits,
                                 struct bp_error *err)
{
    switch (code) {
    case CURLE_COULDNT_CONNECT:
        return bp_error_set(err, BP_EUNAVAILABLE,
                            "signing keys unavailable: cannot connect to the "
                            "issuer");
    case CURLE_OPERATION_TIMEDOUT:
        return bp_error_set(err, BP_EUNAVAILABLE,
                            "signing keys unavailable: no answer within %ld ms",
                            limits->timeout_ms);
    case CURLE_COULDNT_RESOLVE_HOST:
        return bp_error_set(err, BP_EUNAVAILABLE,
                            "signing keys unavailable: cannot resolve the "
                            "issuer's host name");
    case CURLE_FILESIZE_EXCEEDED:
        return bp_error_set(err, BP_EUNAVAILABLE,
                            "signing keys unavailable: document over %zu bytes",
                            limits->max_bytes);
    default:
        break;
    }
    return bp_error_set(err, BP_EUNAVAILABLE, "signing keys unavailable: %s",
                        curl_error[0] != '\0' ? curl_error
                                              : curl_easy_strerror(code));
}

/* Fetches url into out as bp_jwks_fetch describes. */
static enum bp_rc fetch_url(const char *url,
                            const struct bp_jwks_fetch_limits *limits,
                            struct bp_buf *out, struct bp_error *err)
{
    char curl_error[CURL_ERROR_SIZE] = "";
    struct bp_buf body;
    bp_buf_init(&body, limits->max_bytes);
    struct download dl = {&body, false};
    /* An https source never follows a redirect to plain http. */
    bool https = strncasecmp(url, "https://", 8) == 0;
    enum bp_rc rc = BP_OK;
    CURL *curl = curl_easy_init();
    if (curl == NULL) {
        rc = bp_error_set(err, BP_EUNAVAILABLE,
                          "signing keys unavailable: libcurl failed to start");
        goto out_free_body;
    }
    CURLcode code = CURLE_OK;
#define SET(option, value)                                                     \
    do {                                                                       \
        if (code == CURLE_OK)                                                  \
            code = curl_easy_setopt(curl, option, value);                      \
    } while (0)
    SET(CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
    SET(CURLOPT_PROTOCOLS_STR, https ? "https" : "http,https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, https ? "https" : "http,https");
#else
    SET(CURLOPT_PROTOCOLS, https ? (long)CURLPROTO_HTTPS
                                 : (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    SET(CURLOPT_REDIR_PROTOCOLS,
        https ? (long)CURLPROTO_HTTPS
              : (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SET(CURLOPT_FOLLOWLOCATION, 1L);
    SET(CURLOPT_MAXREDIRS, MAX_REDIRECTS);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_TIMEOUT_MS, limits->timeout_ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS,
        limits->connect_timeout_ms < limits->timeout_ms
            ? limits->connect_timeout_ms
            : limits->timeout_ms);
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)limits->max_bytes);
    SET(CURLOPT_ERRORBUFFER, curl_error);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, &dl);
    SET(CURLOPT_USERAGENT, "bandpics");
#undef SET
    if (code != CURLE_OK) {
        rc = bp_error_set(err, BP_EUNAVAILABLE,
                          "signing keys unavailable: libcurl: %s",
                          curl_easy_strerror(code));
        goto out_cleanup_curl;
    }
    code = curl_easy_perform(curl);
    if (dl.overflow) {
        rc = bp_error_set(err, BP_EUNAVAILABLE,
                          "signing keys unavailable: document over %zu bytes",
                          limits->max_bytes);
        goto out_cleanup_curl;
    }
    if (code != CURLE_OK) {
        rc = transfer_error(code, curl_error, limits, err);
        goto out_cleanup_curl;
    }
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        rc = bp_error_set(err, BP_EUNAVAILABLE,
                          "signing keys unavailable: the issuer answered %ld",
                          status);
        goto out_cleanup_curl;
    }
    if (body.len > 0)
        rc = bp_buf_append(out, body.data, body.len);
    if (rc != BP_OK)
        rc = bp_error_set(err, BP_EUNAVAILABLE,
                          "signing keys unavailable: out of memory");
out_cleanup_curl:
    curl_easy_cleanup(curl);
out_free_body:
    bp_buf_free(&body);
    return rc;
}

enum bp_rc bp_jwks_fetch(const char *source,
                         const struct bp_jwks_fetch_limits *limits,
                         struct bp_buf *out, struct bp_error *err)
{
    switch (bp_jwks_source_kind(source)) {
    case BP_JWKS_SOURCE_URL:
        return fetch_url(source, limits, out, err);
    case BP_JWKS_SOURCE_FILE:
        return read_file(source, limits->max_bytes, out, err);
    case BP_JWKS_SOURCE_INVALID:
        break;
    }
    return bp_error_set(err, BP_EINVAL,
                        "signing keys: the source is neither an http(s) URL "
                        "nor a file path");
}
