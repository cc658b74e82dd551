/*
 * jose_helper.c: keys, JWKs and signed tokens for the tests of
 * src/auth, made with OpenSSL the way an issuer would.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "buf.h"
#include "jose_helper.h"

#define EC_COORD_LEN 32

/* Aborts the test program when ok is false. */
static void must(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "jose_helper: %s failed\n", what);
        abort();
    }
}

/* Hands the text of buf to the caller ("" when empty). */
static char *take(struct bp_buf *buf)
{
    char *text = buf->data != NULL ? buf->data : strdup("");
    must(text != NULL, "strdup");
    return text;
}

EVP_PKEY *bp_test_jose_rsa_key(void)
{
    EVP_PKEY *key = EVP_RSA_gen(2048);
    must(key != NULL, "RSA key generation");
    return key;
}

EVP_PKEY *bp_test_jose_ec_key(void)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    must(key != NULL, "EC key generation");
    return key;
}

char *bp_test_jose_b64url(const void *bytes, size_t len)
{
    /* Standard base64 with padding, then its URL-safe, unpadded form. */
    size_t cap = 4 * ((len + 2) / 3) + 1;
    char *text = malloc(cap);
    must(text != NULL, "malloc");
    int n = EVP_EncodeBlock((unsigned char *)text, bytes, (int)len);
    must(n >= 0, "EVP_EncodeBlock");
    while (n > 0 && text[n - 1] == '=')
        n--;
    text[n] = '\0';
    for (char *p = text; *p; p++) {
        if (*p == '+')
            *p = '-';
        else if (*p == '/')
            *p = '_';
    }
    return text;
}

/* The base64url of the big-endian bytes of bn, padded to pad bytes. */
static char *bn_b64url(const BIGNUM *bn, int pad)
{
    unsigned char bytes[1024];
    int len = pad > 0 ? BN_bn2binpad(bn, bytes, pad) : BN_bn2bin(bn, bytes);
    must(len > 0, "BN_bn2bin");
    return bp_test_jose_b64url(bytes, (size_t)len);
}

char *bp_test_jose_jwk(EVP_PKEY *key, const char *kid, const char *extra)
{
    struct bp_buf out;
    BIGNUM *a = NULL, *b = NULL;
    char *a_text, *b_text;
    bp_buf_init(&out, 0);
    if (EVP_PKEY_is_a(key, "RSA")) {
        must(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &a) == 1 &&
                 EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &b) == 1,
             "RSA parameters");
        a_text = bn_b64url(a, 0);
        b_text = bn_b64url(b, 0);
        must(bp_buf_printf(&out,
                           "{\"kty\":\"RSA\",\"kid\":\"%s\",\"n\":\"%s\","
                           "\"e\":\"%s\"%s%s}",
                           kid, a_text, b_text, extra != NULL ? "," : "",
                           extra != NULL ? extra : "") == BP_OK,
             "printf");
    } else {
        must(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &a) == 1 &&
                 EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &b) == 1,
             "EC parameters");
        a_text = bn_b64url(a, EC_COORD_LEN);
        b_text = bn_b64url(b, EC_COORD_LEN);
        must(bp_buf_printf(&out,
                           "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"%s\","
                           "\"x\":\"%s\",\"y\":\"%s\"%s%s}",
                           kid, a_text, b_text, extra != NULL ? "," : "",
                           extra != NULL ? extra : "") == BP_OK,
             "printf");
    }
    free(a_text);
    free(b_text);
    BN_free(a);
    BN_free(b);
    return take(&out);
}

/* "<b64url(header)>.<b64url(payload)>" into out. */
static void signing_input(const char *header, const char *payload,
                          struct bp_buf *out)
{
    char *h = bp_test_jose_b64url(header, strlen(header));
    char *p = bp_test_jose_b64url(payload, strlen(payload));
    bp_buf_init(out, 0);
    must(bp_buf_printf(out, "%s.%s", h, p) == BP_OK, "printf");
    free(h);
    free(p);
}

/* Appends ".<b64url(sig)>" to out and hands out over. */
static char *finish(struct bp_buf *out, const unsigned char *sig, size_t len)
{
    char *s = bp_test_jose_b64url(sig, len);
    must(bp_buf_printf(out, ".%s", s) == BP_OK, "printf");
    free(s);
    return take(out);
}

char *bp_test_jose_sign(const char *header, const char *payload, EVP_PKEY *key)
{
    struct bp_buf out;
    signing_input(header, payload, &out);
    if (key == NULL)
        return finish(&out, NULL, 0);
    unsigned char der[1024];
    size_t der_len = sizeof(der);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    must(ctx != NULL &&
             EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
             EVP_DigestSign(ctx, der, &der_len, (unsigned char *)out.data,
                            out.len) == 1,
         "EVP_DigestSign");
    EVP_MD_CTX_free(ctx);
    if (EVP_PKEY_is_a(key, "RSA"))
        return finish(&out, der, der_len);
    /* ES256: the DER ECDSA-Sig-Value becomes r || s, 32 bytes each. */
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    must(sig != NULL, "d2i_ECDSA_SIG");
    unsigned char raw[2 * EC_COORD_LEN];
    must(BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, EC_COORD_LEN) ==
                 EC_COORD_LEN &&
             BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + EC_COORD_LEN,
                          EC_COORD_LEN) == EC_COORD_LEN,
         "BN_bn2binpad");
    ECDSA_SIG_free(sig);
    return finish(&out, raw, sizeof(raw));
}

char *bp_test_jose_sign_hmac(const char *header, const char *payload,
                             const void *secret, size_t secret_len)
{
    struct bp_buf out;
    signing_input(header, payload, &out);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    must(HMAC(EVP_sha256(), secret, (int)secret_len, (unsigned char *)out.data,
              out.len, mac, &mac_len) != NULL,
         "HMAC");
    return finish(&out, mac, mac_len);
}

char *bp_test_jose_public_pem(EVP_PKEY *key)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    must(bio != NULL && PEM_write_bio_PUBKEY(bio, key) == 1, "PEM");
    long len = BIO_get_mem_data(bio, &data);
    must(len > 0, "BIO_get_mem_data");
    char *pem = malloc((size_t)len + 1);
    must(pem != NULL, "malloc");
    memcpy(pem, data, (size_t)len);
    pem[len] = '\0';
    BIO_free(bio);
    return pem;
}
