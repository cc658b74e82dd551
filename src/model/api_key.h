/*
 * api_key.h: API keys for scripts and servers. A key is shown once, as
 * "bpk_" + its 24-hex-digit id + a 64-hex-digit secret; the store keeps
 * only the record below, with the secret's SHA-256. The secret is 256
 * random bits, so a plain hash cannot be reversed by guessing.
 */
#ifndef BP_API_KEY_H
#define BP_API_KEY_H

#include <stdbool.h>
#include <stdint.h>

#include "model/ids.h"
#include "model/principal.h"
#include "rc.h"

#define BP_API_KEY_PREFIX "bpk_"
#define BP_API_KEY_SECRET_LEN 64 /* hex digits */
/* "bpk_" + id + secret. */
#define BP_API_KEY_TEXT_LEN (4 + BP_ID_LEN + BP_API_KEY_SECRET_LEN)
#define BP_API_KEY_NAME_MAX 64

struct bp_api_key {
    char id[BP_ID_LEN + 1];
    char name[BP_API_KEY_NAME_MAX + 1]; /* printable, for people */
    enum bp_role role;                  /* reader, contributor or admin */
    char secret_sha256[64 + 1];         /* lower-case hex */
    int64_t created_at;                 /* ms since the epoch */
    int64_t expires_at;                 /* ms; 0: never */
    int64_t revoked_at;                 /* ms; 0: not revoked */
};

/*
 * Makes a new key named name with role, created at now_ms and expiring
 * at expires_at_ms (0: never): fills *record for the store and writes
 * the key's text, to show once, into text. BP_EINVAL when name is empty,
 * longer than BP_API_KEY_NAME_MAX or not printable ASCII, or role is
 * not a stored role; BP_EINTERNAL when no random bytes could be had.
 */
enum bp_rc bp_api_key_new(const char *name, enum bp_role role, int64_t now_ms,
                          int64_t expires_at_ms, struct bp_api_key *record,
                          char text[BP_API_KEY_TEXT_LEN + 1],
                          struct bp_error *err);

/*
 * Returns true when text has the form of a key; its id and secret are
 * then written to id and secret. Nothing is written otherwise.
 */
bool bp_api_key_split(const char *text, char id[BP_ID_LEN + 1],
                      char secret[BP_API_KEY_SECRET_LEN + 1]);

/*
 * Returns true when secret is record's (compared in constant time) and
 * record is neither revoked nor expired at now_ms.
 */
bool bp_api_key_accepts(const struct bp_api_key *record, const char *secret,
                        int64_t now_ms);

#endif
