/*
 * base64url.c: strict unpadded base64url, decoding and encoding, for the
 * segments of JSON Web Tokens and the numbers of JSON Web Keys.
 */
#include <stdint.h>

#include "auth/base64url.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The 6-bit value of c, or -1 when c is not in the alphabet. */
static int sextet(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

enum bp_rc bp_base64url_decode(const char *text, size_t len, unsigned char *out,
                               size_t *out_len)
{
    if (len % 4 == 1)
        return BP_EINVAL;
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int v = sextet((unsigned char)text[i]);
        if (v < 0)
            return BP_EINVAL;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    /* The 2 or 4 bits left over must be zero: one spelling only. */
    if (acc != 0)
        return BP_EINVAL;
    *out_len = n;
    return BP_OK;
}

enum bp_rc bp_base64url_encode(const void *bytes, size_t len,
                               struct bp_buf *out)
{
    const unsigned char *p = bytes;
    size_t start = out->len;
    char quad[4];
    for (size_t i = 0; i < len; i += 3) {
        size_t left = len - i;
        uint32_t v = (uint32_t)p[i] << 16;
        if (left > 1)
            v |= (uint32_t)p[i + 1] << 8;
        if (left > 2)
            v |= p[i + 2];
        size_t chars = left > 2 ? 4 : left + 1;
        for (size_t k = 0; k < chars; k++)
            quad[k] = alphabet[(v >> (18 - 6 * k)) & 63];
        enum bp_rc rc = bp_buf_append(out, quad, chars);
        if (rc != BP_OK) {
            /* Undo what this call appended. */
            out->len = start;
            if (out->data != NULL)
                out->data[start] = '\0';
            return rc;
        }
    }
    return BP_OK;
}
