/*
 * sigv4.c: AWS Signature Version 4 query-string signing (presigned URLs),
 * built from AWS's published description on OpenSSL's SHA-256 and HMAC.
 * It checks its inputs, writes the canonical request, the string to sign
 * and the signature, and assembles the URL. No I/O and no clock: the
 * caller passes the signing time.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "blob/sigv4.h"
#include "http/urldecode.h"

#define ALGORITHM "AWS4-HMAC-SHA256"
#define UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define MAX_EXPIRES_S 604800L
/* SHA-256 works on 64-byte blocks; longer HMAC keys are hashed first. */
#define SHA256_BLOCK_LEN 64
/* "20130524T000000Z" plus NUL, and "20130524" plus NUL. */
#define AMZ_DATE_LEN 17
#define DATE_LEN 9
/* 9999-12-31T23:59:59Z: the last second with a four-digit year. */
#define MAX_NOW_S 253402300799LL

/* The two forms of the signing time. */
struct signing_time {
    char amz_date[AMZ_DATE_LEN]; /* YYYYMMDDTHHMMSSZ */
    char date[DATE_LEN];         /* YYYYMMDD */
};

enum bp_rc bp_sigv4_uri_encode(const char *text, bool keep_slash,
                               struct bp_buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        bool plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                     (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
                     *p == '_' || *p == '~' || (keep_slash && *p == '/');
        enum bp_rc rc;
        if (plain) {
            rc = bp_buf_append(out, p, 1);
        } else {
            char enc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            rc = bp_buf_append(out, enc, sizeof(enc));
        }
        if (rc != BP_OK)
            return rc;
    }
    return BP_OK;
}

/* SHA-256 of len bytes at data into hex; false when OpenSSL fails. */
static bool sha256_hex(const void *data, size_t len,
                       char hex[BP_SIGV4_HEX_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) != 1 ||
        md_len != BP_SIGV4_KEY_LEN) {
        hex[0] = '\0';
        return false;
    }
    bp_hex_encode(md, md_len, hex);
    return true;
}

void bp_sigv4_sha256_hex(const void *data, size_t len,
                         char out[BP_SIGV4_HEX_LEN + 1])
{
    sha256_hex(data, len, out);
}

/* HMAC-SHA256 of the string msg under key; false when OpenSSL fails. */
static bool hmac(const unsigned char *key, size_t key_len, const char *msg,
                 unsigned char out[BP_SIGV4_KEY_LEN])
{
    unsigned int out_len = 0;
    if (HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg,
             strlen(msg), out, &out_len) == NULL ||
        out_len != BP_SIGV4_KEY_LEN)
        return false;
    return true;
}

/*
 * Derives the signing key as bp_sigv4_signing_key does; false when
 * OpenSSL fails. The first key, "AWS4" + secret, is never copied whole:
 * when it is longer than a SHA-256 block, HMAC would replace it with its
 * hash (RFC 2104), so that hash is computed here in two pieces instead.
 */
static bool signing_key(const char *secret, const char *date,
                        const char *region, const char *service,
                        unsigned char out[BP_SIGV4_KEY_LEN])
{
    unsigned char first[SHA256_BLOCK_LEN];
    unsigned char step[BP_SIGV4_KEY_LEN];
    size_t first_len;
    size_t secret_len = strlen(secret);
    bool ok = false;
    if (secret_len <= sizeof(first) - 4) {
        memcpy(first, "AWS4", 4);
        memcpy(first + 4, secret, secret_len);
        first_len = 4 + secret_len;
    } else {
        unsigned int md_len = 0;
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        if (ctx == NULL)
            goto out_cleanse;
        ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(ctx, "AWS4", 4) == 1 &&
             EVP_DigestUpdate(ctx, secret, secret_len) == 1 &&
             EVP_DigestFinal_ex(ctx, first, &md_len) == 1 &&
             md_len == BP_SIGV4_KEY_LEN;
        EVP_MD_CTX_free(ctx);
        if (!ok)
            goto out_cleanse;
        first_len = md_len;
    }
    ok = hmac(first, first_len, date, step) &&
         hmac(step, sizeof(step), region, step) &&
         hmac(step, sizeof(step), service, step) &&
         hmac(step, sizeof(step), "aws4_request", out);
out_cleanse:
    OPENSSL_cleanse(first, sizeof(first));
    OPENSSL_cleanse(step, sizeof(step));
    return ok;
}

void bp_sigv4_signing_key(const char *secret, const char *date,
                          const char *region, const char *service,
                          unsigned char out[BP_SIGV4_KEY_LEN])
{
    if (!signing_key(secret, date, region, service, out))
        memset(out, 0, BP_SIGV4_KEY_LEN);
}

/* True when text is NULL or empty. */
static bool missing(const char *text)
{
    return text == NULL || text[0] == '\0';
}

/*
 * True when every byte of text is printable ASCII (0x21 to 0x7e, and
 * space when space_ok) and none is in the string banned.
 */
static bool printable(const char *text, bool space_ok, const char *banned)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        bool ok = *p == ' ' ? space_ok : *p >= 0x21 && *p <= 0x7e;
        if (!ok || strchr(banned, *p) != NULL)
            return false;
    }
    return true;
}

/* True when method is one or more upper-case ASCII letters. */
static bool method_valid(const char *method)
{
    for (const char *p = method; *p; p++)
        if (*p < 'A' || *p > 'Z')
            return false;
    return method[0] != '\0';
}

/*
 * True when a header value is already in canonical form: printable, no
 * leading or trailing space and no run of spaces, so that the value the
 * client sends and the value signed here are the same.
 */
static bool header_value_canonical(const char *value)
{
    size_t len = strlen(value);
    return len > 0 && printable(value, true, "") && value[0] != ' ' &&
           value[len - 1] != ' ' && strstr(value, "  ") == NULL;
}

/* Formats now_s into both forms of the signing time. */
static bool format_time(int64_t now_s, struct signing_time *t)
{
    if (now_s < 0 || now_s > MAX_NOW_S)
        return false;
    time_t secs = (time_t)now_s;
    if ((int64_t)secs != now_s)
        return false;
    struct tm tm;
    if (gmtime_r(&secs, &tm) == NULL)
        return false;
    if (strftime(t->amz_date, sizeof(t->amz_date), "%Y%m%dT%H%M%SZ", &tm) !=
            AMZ_DATE_LEN - 1 ||
        strftime(t->date, sizeof(t->date), "%Y%m%d", &tm) != DATE_LEN - 1)
        return false;
    return true;
}

/*
 * Checks every field of creds and p and fills t. Returns BP_EINVAL with
 * a detail naming the first bad field.
 */
static enum bp_rc check_request(const struct bp_sigv4_credentials *creds,
                                const struct bp_sigv4_presign *p,
                                struct signing_time *t, struct bp_error *err)
{
    if (creds == NULL || p == NULL)
        return bp_error_set(err, BP_EINVAL, "presign: no request");
    if (missing(creds->access_key_id) ||
        !printable(creds->access_key_id, false, "/"))
        return bp_error_set(err, BP_EINVAL, "presign: bad access key id");
    if (missing(creds->secret_access_key))
        return bp_error_set(err, BP_EINVAL, "presign: no secret access key");
    if (missing(p->method) || !method_valid(p->method))
        return bp_error_set(err, BP_EINVAL, "presign: bad method");
    if (missing(p->scheme) ||
        (strcmp(p->scheme, "https") != 0 && strcmp(p->scheme, "http") != 0))
        return bp_error_set(err, BP_EINVAL,
                            "presign: scheme must be https or http");
    if (missing(p->host) || !printable(p->host, false, "/?#@\\"))
        return bp_error_set(err, BP_EINVAL, "presign: bad host");
    if (missing(p->path) || p->path[0] != '/' ||
        !printable(p->path, false, "?#"))
        return bp_error_set(err, BP_EINVAL,
                            "presign: path must be absolute and encoded");
    if (missing(p->region) || !printable(p->region, false, "/"))
        return bp_error_set(err, BP_EINVAL, "presign: bad region");
    if (missing(p->service) || !printable(p->service, false, "/"))
        return bp_error_set(err, BP_EINVAL, "presign: bad service");
    if (p->expires_s < 1 || p->expires_s > MAX_EXPIRES_S)
        return bp_error_set(err, BP_EINVAL,
                            "presign: expiry must be 1 to %ld seconds",
                            MAX_EXPIRES_S);
    if (p->content_type != NULL && !header_value_canonical(p->content_type))
        return bp_error_set(err, BP_EINVAL, "presign: bad content type");
    if (!format_time(p->now_s, t))
        return bp_error_set(err, BP_EINVAL, "presign: bad signing time");
    return BP_OK;
}

/* Appends "name=" and the URI encoding of value, after '&' unless first. */
static enum bp_rc append_param(struct bp_buf *query, const char *name,
                               const char *value)
{
    enum bp_rc rc =
        bp_buf_printf(query, "%s%s=", query->len > 0 ? "&" : "", name);
    if (rc != BP_OK)
        return rc;
    return bp_sigv4_uri_encode(value, false, query);
}

/*
 * Appends the canonical query string of p to the empty buffer query. The
 * parameters are written in their sorted order, which is fixed.
 */
static enum bp_rc append_query(const struct bp_sigv4_credentials *creds,
                               const struct bp_sigv4_presign *p,
                               const struct signing_time *t,
                               struct bp_buf *query)
{
    struct bp_buf credential;
    char expires[24];
    enum bp_rc rc;
    bp_buf_init(&credential, 0);
    rc = bp_buf_printf(&credential, "%s/%s/%s/%s/aws4_request",
                       creds->access_key_id, t->date, p->region, p->service);
    if (rc != BP_OK)
        goto out_free_credential;
    snprintf(expires, sizeof(expires), "%ld", p->expires_s);
    if ((rc = append_param(query, "X-Amz-Algorithm", ALGORITHM)) != BP_OK ||
        (rc = append_param(query, "X-Amz-Credential", credential.data)) !=
            BP_OK ||
        (rc = append_param(query, "X-Amz-Date", t->amz_date)) != BP_OK ||
        (rc = append_param(query, "X-Amz-Expires", expires)) != BP_OK)
        goto out_free_credential;
    if (!missing(creds->session_token)) {
        rc = append_param(query, "X-Amz-Security-Token", creds->session_token);
        if (rc != BP_OK)
            goto out_free_credential;
    }
    rc = append_param(query, "X-Amz-SignedHeaders",
                      p->content_type != NULL ? "content-type;host" : "host");
    if (rc == BP_OK && p->response_content_disposition != NULL)
        rc = append_param(query, "response-content-disposition",
                          p->response_content_disposition);
out_free_credential:
    bp_buf_free(&credential);
    return rc;
}

/* Appends the canonical request of p, whose query string is query. */
static enum bp_rc append_canonical(const struct bp_sigv4_presign *p,
                                   const char *query, struct bp_buf *out)
{
    enum bp_rc rc =
        bp_buf_printf(out, "%s\n%s\n%s\n", p->method, p->path, query);
    if (rc == BP_OK && p->content_type != NULL)
        rc = bp_buf_printf(out, "content-type:%s\n", p->content_type);
    if (rc == BP_OK)
        rc = bp_buf_printf(out, "host:%s\n\n%s\n%s", p->host,
                           p->content_type != NULL ? "content-type;host"
                                                   : "host",
                           UNSIGNED_PAYLOAD);
    return rc;
}

/* Cuts buf back to len bytes, undoing a partial append. */
static void truncate_to(struct bp_buf *buf, size_t len)
{
    if (buf->data != NULL && buf->len > len) {
        buf->len = len;
        buf->data[len] = '\0';
    }
}

enum bp_rc
bp_sigv4_presign_canonical_request(const struct bp_sigv4_credentials *creds,
                                   const struct bp_sigv4_presign *p,
                                   struct bp_buf *canonical)
{
    struct signing_time t;
    struct bp_buf query;
    size_t start = canonical->len;
    enum bp_rc rc = check_request(creds, p, &t, NULL);
    if (rc != BP_OK)
        return rc;
    bp_buf_init(&query, 0);
    rc = append_query(creds, p, &t, &query);
    if (rc == BP_OK)
        rc = append_canonical(p, query.data, canonical);
    if (rc != BP_OK)
        truncate_to(canonical, start);
    bp_buf_free(&query);
    return rc;
}

enum bp_rc bp_sigv4_presign_url(const struct bp_sigv4_credentials *creds,
                                const struct bp_sigv4_presign *p,
                                struct bp_buf *url, struct bp_error *err)
{
    struct signing_time t;
    struct bp_buf query, canonical, to_sign;
    char hash[BP_SIGV4_HEX_LEN + 1];
    unsigned char key[BP_SIGV4_KEY_LEN];
    unsigned char sig[BP_SIGV4_KEY_LEN];
    char sig_hex[BP_SIGV4_HEX_LEN + 1];
    size_t start = url->len;
    enum bp_rc rc = check_request(creds, p, &t, err);
    if (rc != BP_OK)
        return rc;
    bp_buf_init(&query, 0);
    bp_buf_init(&canonical, 0);
    bp_buf_init(&to_sign, 0);
    if ((rc = append_query(creds, p, &t, &query)) != BP_OK ||
        (rc = append_canonical(p, query.data, &canonical)) != BP_OK)
        goto out_free_buffers;
    if (!sha256_hex(canonical.data, canonical.len, hash)) {
        rc = bp_error_set(err, BP_EINTERNAL, "presign: SHA-256 failed");
        goto out_free_buffers;
    }
    rc = bp_buf_printf(&to_sign, "%s\n%s\n%s/%s/%s/aws4_request\n%s", ALGORITHM,
                       t.amz_date, t.date, p->region, p->service, hash);
    if (rc != BP_OK)
        goto out_free_buffers;
    if (!signing_key(creds->secret_access_key, t.date, p->region, p->service,
                     key) ||
        !hmac(key, sizeof(key), to_sign.data, sig)) {
        rc = bp_error_set(err, BP_EINTERNAL, "presign: HMAC failed");
        goto out_cleanse_key;
    }
    bp_hex_encode(sig, sizeof(sig), sig_hex);
    rc = bp_buf_printf(url, "%s://%s%s?%s&X-Amz-Signature=%s", p->scheme,
                       p->host, p->path, query.data, sig_hex);
out_cleanse_key:
    OPENSSL_cleanse(key, sizeof(key));
out_free_buffers:
    if (rc == BP_ENOMEM || rc == BP_ETOOBIG)
        bp_error_set(err, rc, "presign: URL too long or out of memory");
    if (rc != BP_OK)
        truncate_to(url, start);
    bp_buf_free(&to_sign);
    bp_buf_free(&canonical);
    bp_buf_free(&query);
    return rc;
}
