/*
 * upload_token.h: the signed tokens of local upload URLs
 * (PUT /uploads/<token>), which stand in for S3's presigned URLs when
 * files are kept on the local filesystem. A token names one image and
 * the expiry time (Unix ms) of one awaited upload of it, which also
 * tells that upload from later ones, and carries an HMAC-SHA256 of both
 * under a secret only the API knows, so it cannot be forged, extended
 * or moved to another image. Pure: no I/O, no clock.
 */
#ifndef BP_UPLOAD_TOKEN_H
#define BP_UPLOAD_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "model/ids.h"
#include "rc.h"

/* The shortest secret accepted, in bytes. */
#define BP_UPLOAD_SECRET_MIN 16

/*
 * Appends to out the token for the upload of image id that expires at
 * expires_ms (Unix ms): "<id>.<expires_ms>.<64 hex digits>". BP_EINVAL
 * for an id that is not 24 hex characters, an expiry outside 0 to
 * 10^15, or a secret shorter than BP_UPLOAD_SECRET_MIN; BP_ENOMEM when
 * out cannot grow.
 */
enum bp_rc bp_upload_token_make(const unsigned char *secret, size_t secret_len,
                                const char *id, int64_t expires_ms,
                                struct bp_buf *out);

/*
 * Checks token under secret at time now_ms and writes the image id and
 * upload expiry it names into id and *expires_ms. BP_EFORBIDDEN (with a
 * detail) for a malformed token, a wrong signature or one that expired
 * before now_ms.
 */
enum bp_rc bp_upload_token_verify(const unsigned char *secret,
                                  size_t secret_len, const char *token,
                                  int64_t now_ms, char id[BP_ID_LEN + 1],
                                  int64_t *expires_ms, struct bp_error *err);

#endif
