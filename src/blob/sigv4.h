/*
 * sigv4.h: AWS Signature Version 4 for presigned (query-signed) URLs,
 * written against AWS's published description with OpenSSL's SHA-256 and
 * HMAC. Pure: no I/O, no clock; the caller passes the time. Requests the
 * API itself sends to S3 are signed by libcurl (CURLOPT_AWS_SIGV4); this
 * module signs the URLs handed to clients.
 */
#ifndef BP_SIGV4_H
#define BP_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "rc.h"

#define BP_SIGV4_KEY_LEN 32
#define BP_SIGV4_HEX_LEN 64

/* Who signs; strings are borrowed. session_token is NULL or "" for none. */
struct bp_sigv4_credentials {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token;
};

/* One URL to presign; strings are borrowed. */
struct bp_sigv4_presign {
    const char *method;  /* "GET", "PUT" */
    const char *scheme;  /* "https" or "http" */
    const char *host;    /* the Host header: "bucket.s3.amazonaws.com",
                            "127.0.0.1:4568" (port only when not default) */
    const char *path;    /* absolute, already URI-encoded: "/bucket/a%20b" */
    const char *region;  /* "us-east-1" */
    const char *service; /* "s3" */
    int64_t now_s;       /* signing time, Unix seconds */
    long expires_s;      /* X-Amz-Expires, 1 to 604800 */
    const char *content_type; /* signed as a header when not NULL */
    /* S3's response-content-disposition, signed as a query parameter
     * (sorting after the X-Amz- ones) when not NULL. */
    const char *response_content_disposition;
};

/*
 * Appends to out the URI encoding AWS asks for: every byte except
 * A-Z a-z 0-9 - . _ ~ (and '/' when keep_slash) becomes %XX with
 * upper-case hex. BP_ENOMEM when out cannot grow.
 */
enum bp_rc bp_sigv4_uri_encode(const char *text, bool keep_slash,
                               struct bp_buf *out);

/* Writes the lower-case hex SHA-256 of len bytes at data into out. */
void bp_sigv4_sha256_hex(const void *data, size_t len,
                         char out[BP_SIGV4_HEX_LEN + 1]);

/*
 * Derives the signing key HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date),
 * region), service), "aws4_request") for date "YYYYMMDD".
 */
void bp_sigv4_signing_key(const char *secret, const char *date,
                          const char *region, const char *service,
                          unsigned char out[BP_SIGV4_KEY_LEN]);

/*
 * Appends to canonical the canonical request of p as a presigned URL
 * would be signed (query parameters X-Amz-Algorithm, -Credential, -Date,
 * -Expires, -Security-Token when present, -SignedHeaders, then
 * response-content-disposition when set: sorted;
 * headers host and, when set, content-type; payload UNSIGNED-PAYLOAD).
 * Exposed for tests. BP_ENOMEM when the buffer cannot grow.
 */
enum bp_rc
bp_sigv4_presign_canonical_request(const struct bp_sigv4_credentials *creds,
                                   const struct bp_sigv4_presign *p,
                                   struct bp_buf *canonical);

/*
 * Appends to url the complete presigned URL of p:
 * scheme://host/path?X-Amz-...&X-Amz-Signature=<hex>. BP_EINVAL when a
 * field is missing or expires_s is out of range, BP_ENOMEM otherwise on
 * failure.
 */
enum bp_rc bp_sigv4_presign_url(const struct bp_sigv4_credentials *creds,
                                const struct bp_sigv4_presign *p,
                                struct bp_buf *url, struct bp_error *err);

#endif
