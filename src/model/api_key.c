/*
 * api_key.c: making API keys, reading their text, and checking a secret
 * against a stored record.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "http/urldecode.h"
#include "model/api_key.h"

/* Writes the hex SHA-256 of the secret's text into out. */
static bool hash_secret(const char *secret, char out[64 + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (EVP_Digest(secret, strlen(secret), md, &md_len, EVP_sha256(), NULL) !=
            1 ||
        md_len != 32)
        return false;
    bp_hex_encode(md, md_len, out);
    out[64] = '\0';
    return true;
}

static bool name_valid(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > BP_API_KEY_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (name[i] < 0x20 || name[i] > 0x7e)
            return false;
    return true;
}

enum bp_rc bp_api_key_new(const char *name, enum bp_role role, int64_t now_ms,
                          int64_t expires_at_ms, struct bp_api_key *record,
                          char text[BP_API_KEY_TEXT_LEN + 1],
                          struct bp_error *err)
{
    if (name == NULL || !name_valid(name))
        return bp_error_set(err, BP_EINVAL,
                            "A key's name is 1 to %d printable ASCII "
                            "characters",
                            BP_API_KEY_NAME_MAX);
    if (role < BP_ROLE_READER || role > BP_ROLE_ADMIN)
        return bp_error_set(err, BP_EINVAL,
                            "A key's role is reader, contributor or admin");
    unsigned char random[BP_API_KEY_SECRET_LEN / 2];
    char secret[BP_API_KEY_SECRET_LEN + 1];
    if (RAND_bytes(random, sizeof(random)) != 1)
        return bp_error_set(err, BP_EINTERNAL, "No random bytes for a key");
    bp_hex_encode(random, sizeof(random), secret);
    secret[BP_API_KEY_SECRET_LEN] = '\0';
    OPENSSL_cleanse(random, sizeof(random));
    memset(record, 0, sizeof(*record));
    bp_id_new(record->id);
    memcpy(record->name, name, strlen(name) + 1);
    record->role = role;
    record->created_at = now_ms;
    record->expires_at = expires_at_ms;
    enum bp_rc rc = BP_OK;
    if (!hash_secret(secret, record->secret_sha256))
        rc = bp_error_set(err, BP_EINTERNAL, "Hashing a key failed");
    if (rc == BP_OK) {
        memcpy(text, BP_API_KEY_PREFIX, 4);
        memcpy(text + 4, record->id, BP_ID_LEN);
        memcpy(text + 4 + BP_ID_LEN, secret, BP_API_KEY_SECRET_LEN + 1);
    }
    OPENSSL_cleanse(secret, sizeof(secret));
    return rc;
}

static bool all_hex(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

bool bp_api_key_split(const char *text, char id[BP_ID_LEN + 1],
                      char secret[BP_API_KEY_SECRET_LEN + 1])
{
    if (strlen(text) != BP_API_KEY_TEXT_LEN ||
        strncmp(text, BP_API_KEY_PREFIX, 4) != 0 ||
        !all_hex(text + 4, BP_ID_LEN + BP_API_KEY_SECRET_LEN))
        return false;
    memcpy(id, text + 4, BP_ID_LEN);
    id[BP_ID_LEN] = '\0';
    memcpy(secret, text + 4 + BP_ID_LEN, BP_API_KEY_SECRET_LEN + 1);
    return true;
}

bool bp_api_key_accepts(const struct bp_api_key *record, const char *secret,
                        int64_t now_ms)
{
    char hash[64 + 1];
    if (!hash_secret(secret, hash))
        return false;
    bool same = CRYPTO_memcmp(hash, record->secret_sha256, 64) == 0;
    if (!same || record->revoked_at != 0)
        return false;
    return record->expires_at == 0 || now_ms < record->expires_at;
}
