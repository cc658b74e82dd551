/*
 * upload_token.c: making and checking the HMAC-signed tokens of local
 * upload URLs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "blob/upload_token.h"
#include "http/urldecode.h"

#define MAC_LEN 32
/* Expiry times are at most 15 digits of ms (year 33658). */
#define MAX_EXPIRY_DIGITS 15
#define MAX_EXPIRY_MS 999999999999999LL
#define MAC_HEX_LEN (2 * MAC_LEN)

/* Writes the hex HMAC-SHA256 of "<id>.<expires_ms>" under secret. */
static enum bp_rc mac_hex(const unsigned char *secret, size_t secret_len,
                          const char *id, int64_t expires_ms,
                          char out[MAC_HEX_LEN + 1])
{
    char message[BP_ID_LEN + 32];
    int len = snprintf(message, sizeof(message), "%s.%lld", id,
                       (long long)expires_ms);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (len < 0 || (size_t)len >= sizeof(message) ||
        HMAC(EVP_sha256(), secret, (int)secret_len,
             (const unsigned char *)message, (size_t)len, mac,
             &mac_len) == NULL ||
        mac_len != MAC_LEN)
        return BP_EINTERNAL;
    bp_hex_encode(mac, MAC_LEN, out);
    return BP_OK;
}

enum bp_rc bp_upload_token_make(const unsigned char *secret, size_t secret_len,
                                const char *id, int64_t expires_ms,
                                struct bp_buf *out)
{
    char checked[BP_ID_LEN + 1];
    if (secret_len < BP_UPLOAD_SECRET_MIN || !bp_id_parse(id, checked) ||
        expires_ms < 0 || expires_ms > MAX_EXPIRY_MS)
        return BP_EINVAL;
    char mac[MAC_HEX_LEN + 1];
    enum bp_rc rc = mac_hex(secret, secret_len, checked, expires_ms, mac);
    if (rc == BP_OK)
        rc = bp_buf_printf(out, "%s.%lld.%s", checked, (long long)expires_ms,
                           mac);
    return rc;
}

enum bp_rc bp_upload_token_verify(const unsigned char *secret,
                                  size_t secret_len, const char *token,
                                  int64_t now_ms, char id[BP_ID_LEN + 1],
                                  int64_t *expires_ms, struct bp_error *err)
{
    /* "<24 hex>.<1 to 15 digits>.<64 hex>", nothing else. */
    const char *dot1 = strchr(token, '.');
    const char *dot2 = dot1 != NULL ? strchr(dot1 + 1, '.') : NULL;
    char id_text[BP_ID_LEN + 1];
    if (secret_len < BP_UPLOAD_SECRET_MIN || dot1 == NULL || dot2 == NULL ||
        dot1 - token != BP_ID_LEN || dot2 - dot1 < 2 ||
        dot2 - dot1 > MAX_EXPIRY_DIGITS + 1 || strlen(dot2 + 1) != MAC_HEX_LEN)
        return bp_error_set(err, BP_EFORBIDDEN, "Malformed upload token");
    memcpy(id_text, token, BP_ID_LEN);
    id_text[BP_ID_LEN] = '\0';
    /* One spelling only: lower-case hex, no leading zero. */
    if (strspn(id_text, "0123456789abcdef") != BP_ID_LEN || dot1[1] == '0')
        return bp_error_set(err, BP_EFORBIDDEN, "Malformed upload token");
    int64_t expiry = 0;
    for (const char *p = dot1 + 1; p < dot2; p++) {
        if (*p < '0' || *p > '9')
            return bp_error_set(err, BP_EFORBIDDEN, "Malformed upload token");
        expiry = expiry * 10 + (*p - '0');
    }
    char expected[MAC_HEX_LEN + 1];
    if (!bp_id_parse(id_text, id) ||
        mac_hex(secret, secret_len, id, expiry, expected) != BP_OK ||
        CRYPTO_memcmp(expected, dot2 + 1, MAC_HEX_LEN) != 0)
        return bp_error_set(err, BP_EFORBIDDEN,
                            "Upload token signature does not match");
    if (expiry < now_ms)
        return bp_error_set(err, BP_EFORBIDDEN, "Upload URL expired");
    *expires_ms = expiry;
    return BP_OK;
}
