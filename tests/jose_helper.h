/*
 * jose_helper.h: the issuer's side of JOSE, for the tests of src/auth:
 * making keys, writing them as JWKs, and signing tokens (RS256, ES256
 * with its raw r || s signature, HS256, or none). Written from RFC 7515
 * and 7518 apart from the code under test; its base64url goes through
 * OpenSSL's base64, not src/auth/base64url.c. Every failure aborts.
 */
#ifndef BP_TEST_JOSE_HELPER_H
#define BP_TEST_JOSE_HELPER_H

#include <stddef.h>

#include <openssl/evp.h>

/* A new RSA-2048 or EC P-256 key pair; free with EVP_PKEY_free. */
EVP_PKEY *bp_test_jose_rsa_key(void);
EVP_PKEY *bp_test_jose_ec_key(void);

/* The unpadded base64url of len bytes; the caller frees it. */
char *bp_test_jose_b64url(const void *bytes, size_t len);

/*
 * The JWK (a JSON object) of key's public half named kid, with extra
 * (more members, such as "\"alg\":\"RS256\"", or NULL) added at the end.
 * The caller frees it.
 */
char *bp_test_jose_jwk(EVP_PKEY *key, const char *kid, const char *extra);

/*
 * The compact JWS of header and payload (JSON texts, encoded as given)
 * signed with key: RS256 for an RSA key, ES256 (r || s) for an EC key,
 * an empty signature when key is NULL. The caller frees it.
 */
char *bp_test_jose_sign(const char *header, const char *payload, EVP_PKEY *key);

/* As bp_test_jose_sign, with HMAC-SHA256 under secret (HS256). */
char *bp_test_jose_sign_hmac(const char *header, const char *payload,
                             const void *secret, size_t secret_len);

/* The PEM text of key's public half (SubjectPublicKeyInfo); caller frees. */
char *bp_test_jose_public_pem(EVP_PKEY *key);

#endif
