/*
 * key_admin.c: creating, listing and revoking API keys from the command
 * line. Keys are made by model/api_key.c and kept by the store; the key
 * text is printed once and never stored.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "api/key_admin.h"
#include "log.h"
#include "model/api_key.h"
#include "model/ids.h"
#include "model/timeutil.h"
#include "store/store.h"

/* The longest expiry accepted, in days: about a hundred years. */
#define MAX_EXPIRES_DAYS 36600L

enum bp_rc bp_key_admin_create(const struct bp_config *cfg, const char *name,
                               const char *role, long expires_days, FILE *out,
                               FILE *info, struct bp_error *err)
{
    enum bp_role parsed;
    if (!bp_role_parse(role, &parsed))
        return bp_error_set(err, BP_EINVAL,
                            "--role: expected reader, contributor or admin");
    if (expires_days < 0 || expires_days > MAX_EXPIRES_DAYS)
        return bp_error_set(err, BP_EINVAL,
                            "--expires-days: expected 0 (never) to %ld",
                            MAX_EXPIRES_DAYS);
    int64_t now = bp_time_now_ms();
    int64_t expires =
        expires_days == 0 ? 0 : now + (int64_t)expires_days * 24 * 3600 * 1000;
    struct bp_api_key key;
    char text[BP_API_KEY_TEXT_LEN + 1];
    enum bp_rc rc = bp_api_key_new(name, parsed, now, expires, &key, text, err);
    if (rc != BP_OK)
        return rc;
    struct bp_store *store = NULL;
    rc = bp_store_open(cfg, &store, err);
    if (rc == BP_OK)
        rc = bp_store_key_insert(store, &key, err);
    if (rc == BP_OK) {
        char until[BP_TIME_ISO_LEN] = "never";
        if (expires != 0)
            bp_time_format_iso(expires, until);
        fprintf(out, "%s\n", text);
        fflush(out);
        bp_log_change("created", "api_key", key.id, "command line", "");
        fprintf(info,
                "bandpics: key %s \"%s\" (%s, expires %s) created; it is "
                "shown only this once\n",
                key.id, key.name, bp_role_name(key.role), until);
    }
    OPENSSL_cleanse(text, sizeof(text));
    bp_store_close(store);
    return rc;
}

/* Returns "active", "revoked" or "expired" for key at now. */
static const char *state_of(const struct bp_api_key *key, int64_t now)
{
    if (key->revoked_at != 0)
        return "revoked";
    if (key->expires_at != 0 && key->expires_at <= now)
        return "expired";
    return "active";
}

enum bp_rc bp_key_admin_list(const struct bp_config *cfg, FILE *out,
                             struct bp_error *err)
{
    struct bp_store *store = NULL;
    struct bp_api_key_list list = {0};
    enum bp_rc rc = bp_store_open(cfg, &store, err);
    if (rc == BP_OK)
        rc = bp_store_key_list(store, &list, err);
    int64_t now = bp_time_now_ms();
    for (size_t i = 0; rc == BP_OK && i < list.count; i++) {
        const struct bp_api_key *key = &list.items[i];
        char created[BP_TIME_ISO_LEN], until[BP_TIME_ISO_LEN] = "never";
        bp_time_format_iso(key->created_at, created);
        if (key->expires_at != 0)
            bp_time_format_iso(key->expires_at, until);
        fprintf(out, "%s  %-11s  %-7s  created %s  expires %s  %s\n", key->id,
                bp_role_name(key->role), state_of(key, now), created, until,
                key->name);
    }
    bp_api_key_list_free(&list);
    bp_store_close(store);
    return rc;
}

enum bp_rc bp_key_admin_revoke(const struct bp_config *cfg, const char *id,
                               FILE *out, struct bp_error *err)
{
    char parsed[BP_ID_LEN + 1];
    if (!bp_id_parse(id, parsed))
        return bp_error_set(err, BP_EINVAL,
                            "--key-revoke: expected a key's id (24 hex "
                            "digits)");
    struct bp_store *store = NULL;
    struct bp_api_key key;
    int64_t now = bp_time_now_ms();
    enum bp_rc rc = bp_store_open(cfg, &store, err);
    if (rc == BP_OK)
        rc = bp_store_key_revoke(store, parsed, now, &key, err);
    /* A key revoked before keeps that time: say so, change nothing. */
    if (rc == BP_OK && key.revoked_at != now) {
        char when[BP_TIME_ISO_LEN];
        bp_time_format_iso(key.revoked_at, when);
        fprintf(out,
                "bandpics: key %s \"%s\" (%s) was revoked already, at %s\n",
                key.id, key.name, bp_role_name(key.role), when);
    } else if (rc == BP_OK) {
        bp_log_change("revoked", "api_key", key.id, "command line", "");
        fprintf(out, "bandpics: key %s \"%s\" (%s) revoked\n", key.id, key.name,
                bp_role_name(key.role));
    }
    bp_store_close(store);
    return rc;
}
