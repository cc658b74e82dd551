/*
 * base64url.h: the unpadded base64url of JOSE (RFC 7515 section 2 and
 * RFC 4648 section 5), strict in both directions: one spelling per byte
 * string, so a token cannot be re-encoded into a different one that
 * still verifies. Pure: no I/O.
 */
#ifndef BP_BASE64URL_H
#define BP_BASE64URL_H

#include <stddef.h>

#include "buf.h"
#include "rc.h"

/* The number of bytes len characters of base64url decode to, at most. */
#define BP_BASE64URL_DECODED_MAX(len) (((len) / 4) * 3 + 2)

/*
 * Decodes the len characters at text into out, which must hold
 * BP_BASE64URL_DECODED_MAX(len) bytes, and sets *out_len. Refuses
 * (BP_EINVAL) padding ('='), any character outside A-Z a-z 0-9 - _,
 * a length that leaves a lone character (len % 4 == 1), and non-zero
 * bits after the last byte. out holds garbage on failure.
 */
enum bp_rc bp_base64url_decode(const char *text, size_t len, unsigned char *out,
                               size_t *out_len);

/*
 * Appends the base64url of len bytes (no padding) to out. BP_ENOMEM or
 * BP_ETOOBIG when out cannot grow; out is then unchanged.
 */
enum bp_rc bp_base64url_encode(const void *bytes, size_t len,
                               struct bp_buf *out);

#endif
