/*
 * upload_token.h: the signed tokens of local upload URLs
 * (PUT /uploads/<token>), which stand in for S3's presigned URLs when
 * files are kept on the local filesystem. A token names one image and
 * an expiry time and carries an HMAC-SHA256 of both under a secret only
 * the API knows, so it cannot be forged or extended. Pure: no I/O, no
 * clock.
 */
#ifndef BP_UPLOAD_TOKEN_H
#define BP_UPLOAD_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "ids.h"
#include "rc.h"

/* The shortest secret accepted, in bytes. */
#define BP_UPLOAD_SECRET_MIN 16

/*
 * Appends to out the token for image id that expires at expires_s (Unix
 * seconds): "<id>.<expires_s>.<64 hex digits>". BP_EINVAL for an id that
 * is not 24 hex characters or a secret shorter than
 * BP_UPLOAD_SECRET_MIN, BP_ENOMEM when out cannot grow.
 */
enum bp_rc bp_upload_token_make(const unsigned char *secret, size_t secret_len,
                                const char *id, int64_t expires_s,
                                struct bp_buf *out);

/*
 * Checks token under secret at time now_s and writes the image id it
 * names into id. BP_EFORBIDDEN (with a detail) for a malformed token, a
 * wrong signature or one that expired before now_s.
 */
enum bp_rc bp_upload_token_verify(const unsigned char *secret,
                                  size_t secret_len, const char *token,
                                  int64_t now_s, char id[BP_ID_LEN + 1],
                                  struct bp_error *err);

#endif
