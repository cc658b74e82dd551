/*
 * response.c: filling a response and writing it out in CGI format.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "http/response.h"
#include "http/urldecode.h"

void bp_response_init(struct bp_response *res)
{
    res->status = 200;
    res->content_type = NULL;
    bp_buf_init(&res->headers, 64 * 1024);
    bp_buf_init(&res->body, 0);
    res->body_fd = -1;
    res->body_offset = 0;
    res->body_length = 0;
}

void bp_response_set_type(struct bp_response *res, const char *type)
{
    size_t len = strlen(type);
    if (len >= sizeof(res->type_buf)) {
        res->content_type = "application/octet-stream";
        return;
    }
    memcpy(res->type_buf, type, len + 1);
    res->content_type = res->type_buf;
}

void bp_response_file(struct bp_response *res, int fd, off_t offset,
                      off_t length)
{
    if (res->body_fd >= 0)
        close(res->body_fd);
    res->body_fd = fd;
    res->body_offset = offset;
    res->body_length = length;
}

void bp_response_free(struct bp_response *res)
{
    if (res == NULL)
        return;
    bp_buf_free(&res->headers);
    bp_buf_free(&res->body);
    if (res->body_fd >= 0)
        close(res->body_fd);
    res->body_fd = -1;
}

void bp_response_reset(struct bp_response *res)
{
    res->status = 200;
    res->content_type = NULL;
    bp_buf_reset(&res->headers);
    bp_buf_reset(&res->body);
    bp_response_file(res, -1, 0, 0);
}

enum bp_rc bp_response_revalidate(struct bp_response *res,
                                  const char *if_none_match)
{
    if (res->status != 200 || res->body_fd >= 0 || res->content_type == NULL ||
        strncmp(res->content_type, "application/json", 16) != 0)
        return BP_OK;
    /* FNV-1a, 64 bits: an ETag only has to change with the body of one
     * URL, and a digest's set-up (OpenSSL 3 looks the algorithm up on
     * every call) cost more than the rest of a small read. */
    uint64_t hash = 0xcbf29ce484222325ULL;
    const unsigned char *byte = (const unsigned char *)res->body.data;
    for (size_t i = 0; i < res->body.len; i++)
        hash = (hash ^ byte[i]) * 0x100000001b3ULL;
    unsigned char md[8];
    for (int i = 0; i < 8; i++)
        md[i] = (unsigned char)(hash >> (56 - 8 * i));
    char etag[2 + 16 + 2];
    etag[0] = '"';
    bp_hex_encode(md, sizeof(md), etag + 1);
    etag[17] = '"';
    etag[18] = '\0';
    enum bp_rc rc = bp_response_header(res, "ETag", "%s", etag);
    if (rc == BP_OK && if_none_match != NULL &&
        (strstr(if_none_match, etag) != NULL ||
         strcmp(if_none_match, "*") == 0)) {
        res->status = 304;
        res->content_type = NULL;
        bp_buf_reset(&res->body);
    }
    return rc;
}

bool bp_response_has_header(const struct bp_response *res, const char *name)
{
    size_t len = strlen(name);
    const char *line = res->headers.data;
    const char *end = line != NULL ? line + res->headers.len : NULL;
    while (line != NULL && line < end) {
        if ((size_t)(end - line) > len && line[len] == ':' &&
            strncasecmp(line, name, len) == 0)
            return true;
        const char *next = memchr(line, '\n', (size_t)(end - line));
        line = next != NULL ? next + 1 : NULL;
    }
    return false;
}

enum bp_rc bp_response_header(struct bp_response *res, const char *name,
                              const char *fmt, ...)
{
    char value[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(value, sizeof(value), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(value) || strpbrk(value, "\r\n") != NULL)
        return BP_EINVAL;
    return bp_buf_printf(&res->headers, "%s: %s\r\n", name, value);
}

enum bp_rc bp_response_json(struct bp_response *res, int status,
                            struct json_object *value)
{
    size_t len;
    const char *text = json_object_to_json_string_length(
        value, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    if (text == NULL)
        return BP_ENOMEM;
    bp_buf_reset(&res->body);
    enum bp_rc rc = bp_buf_append(&res->body, text, len);
    if (rc != BP_OK)
        return rc;
    res->status = status;
    res->content_type = "application/json";
    return BP_OK;
}

const char *bp_http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 416:
        return "Range Not Satisfiable";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    case 507:
        return "Insufficient Storage";
    }
    return "Unknown";
}

/* Sends the body_length bytes of the body file through write. */
static enum bp_rc write_file_body(const struct bp_response *res,
                                  ssize_t (*write)(void *sink, const char *data,
                                                   size_t len),
                                  void *sink)
{
    char chunk[65536];
    off_t at = res->body_offset, end = res->body_offset + res->body_length;
    while (at < end) {
        size_t want = end - at < (off_t)sizeof(chunk) ? (size_t)(end - at)
                                                      : sizeof(chunk);
        ssize_t got = pread(res->body_fd, chunk, want, at);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0 || write(sink, chunk, (size_t)got) < 0)
            return BP_EIO;
        at += got;
    }
    return BP_OK;
}

enum bp_rc bp_response_write_cgi(const struct bp_response *res, bool omit_body,
                                 ssize_t (*write)(void *sink, const char *data,
                                                  size_t len),
                                 void *sink)
{
    char head[256];
    int n = snprintf(head, sizeof(head), "Status: %d %s\r\n", res->status,
                     bp_http_reason(res->status));
    if (write(sink, head, (size_t)n) < 0)
        return BP_EIO;
    if (res->content_type != NULL) {
        n = snprintf(head, sizeof(head), "Content-Type: %s\r\n",
                     res->content_type);
        if (write(sink, head, (size_t)n) < 0)
            return BP_EIO;
    }
    long long length = res->body_fd >= 0 ? (long long)res->body_length
                                         : (long long)res->body.len;
    /* 204 and 304 have no body, and say nothing of its length. */
    bool bodiless = res->status == 204 || res->status == 304;
    n = snprintf(head, sizeof(head), "Content-Length: %lld\r\n", length);
    if (!bodiless && write(sink, head, (size_t)n) < 0)
        return BP_EIO;
    if (res->headers.len > 0 &&
        write(sink, res->headers.data, res->headers.len) < 0)
        return BP_EIO;
    if (write(sink, "\r\n", 2) < 0)
        return BP_EIO;
    if (omit_body)
        return BP_OK;
    if (res->body_fd >= 0)
        return write_file_body(res, write, sink);
    if (res->body.len > 0 && write(sink, res->body.data, res->body.len) < 0)
        return BP_EIO;
    return BP_OK;
}
