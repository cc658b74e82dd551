/*
 * store_sqlite_keys.c: the API key operations of the SQLite backend:
 * insert, read, list and revoke. Only a key's secret hash is stored.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_sqlite.h"

#define KEY_COLUMNS                                                            \
    "id, name, role, secret_sha256, created_at, expires_at, revoked_at"

/* Reads a row selected with KEY_COLUMNS into out. */
static void read_key_row(sqlite3_stmt *stmt, struct bp_api_key *out)
{
    memset(out, 0, sizeof(*out));
    bp_sqlite_column_id(stmt, 0, out->id);
    const unsigned char *name = sqlite3_column_text(stmt, 1);
    if (name != NULL && strlen((const char *)name) <= BP_API_KEY_NAME_MAX)
        memcpy(out->name, name, strlen((const char *)name) + 1);
    /* An unknown role reads as anonymous, which may do nothing. */
    if (!bp_role_parse((const char *)sqlite3_column_text(stmt, 2), &out->role))
        out->role = BP_ROLE_ANONYMOUS;
    const unsigned char *hash = sqlite3_column_text(stmt, 3);
    if (hash != NULL && strlen((const char *)hash) == 64)
        memcpy(out->secret_sha256, hash, 65);
    out->created_at = sqlite3_column_int64(stmt, 4);
    out->expires_at = sqlite3_column_int64(stmt, 5);
    out->revoked_at = sqlite3_column_int64(stmt, 6);
}

/* Steps stmt, expected to give at most one key row, into *out. */
static enum bp_rc step_one_key(sqlite3 *db, sqlite3_stmt *stmt,
                               const char *what, struct bp_api_key *out,
                               struct bp_error *err)
{
    int code = sqlite3_step(stmt);
    if (code == SQLITE_DONE)
        return bp_error_set(err, BP_ENOTFOUND,
                            "API key with that ID not found");
    if (code != SQLITE_ROW)
        return bp_sqlite_fail(db, code, what, err);
    read_key_row(stmt, out);
    while ((code = sqlite3_step(stmt)) == SQLITE_ROW)
        ;
    return code == SQLITE_DONE ? BP_OK : bp_sqlite_fail(db, code, what, err);
}

enum bp_rc bp_sqlite_key_insert(struct bp_store *store,
                                const struct bp_api_key *key,
                                struct bp_error *err)
{
    sqlite3 *db = bp_sqlite_from_base(store)->db;
    sqlite3_stmt *stmt;
    int code = sqlite3_prepare_v2(db,
                                  "INSERT INTO api_keys (" KEY_COLUMNS
                                  ") VALUES (?, ?, ?, ?, ?, ?, ?)",
                                  -1, &stmt, NULL);
    if (code != SQLITE_OK)
        return bp_sqlite_fail(db, code, "insert key", err);
    bp_sqlite_bind_text(stmt, 1, key->id, 0);
    bp_sqlite_bind_text(stmt, 2, key->name, 0);
    bp_sqlite_bind_text(stmt, 3, bp_role_name(key->role), 0);
    bp_sqlite_bind_text(stmt, 4, key->secret_sha256, 0);
    sqlite3_bind_int64(stmt, 5, key->created_at);
    sqlite3_bind_int64(stmt, 6, key->expires_at);
    sqlite3_bind_int64(stmt, 7, key->revoked_at);
    code = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    return code == SQLITE_DONE ? BP_OK
                               : bp_sqlite_fail(db, code, "insert key", err);
}

enum bp_rc bp_sqlite_keys_prepare(struct store_sqlite *s, struct bp_error *err)
{
    int code = sqlite3_prepare_v3(
        s->db, "SELECT " KEY_COLUMNS " FROM api_keys WHERE id = ?", -1,
        SQLITE_PREPARE_PERSISTENT, &s->key_get, NULL);
    return code == SQLITE_OK ? BP_OK
                             : bp_sqlite_fail(s->db, code, "prepare", err);
}

enum bp_rc bp_sqlite_key_get(struct bp_store *store, const char *id,
                             struct bp_api_key *out, struct bp_error *err)
{
    struct store_sqlite *s = bp_sqlite_from_base(store);
    sqlite3_stmt *stmt = s->key_get;
    bp_sqlite_bind_text(stmt, 1, id, 0);
    enum bp_rc rc = step_one_key(s->db, stmt, "get key", out, err);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return rc;
}

enum bp_rc bp_sqlite_key_list(struct bp_store *store,
                              struct bp_api_key_list *out, struct bp_error *err)
{
    sqlite3 *db = bp_sqlite_from_base(store)->db;
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *stmt;
    int code = sqlite3_prepare_v2(db,
                                  "SELECT " KEY_COLUMNS " FROM api_keys"
                                  " ORDER BY created_at, id",
                                  -1, &stmt, NULL);
    if (code != SQLITE_OK)
        return bp_sqlite_fail(db, code, "list keys", err);
    enum bp_rc rc = BP_OK;
    while ((code = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct bp_api_key *key = bp_api_key_list_add(out);
        if (key == NULL) {
            rc = BP_ENOMEM;
            break;
        }
        read_key_row(stmt, key);
    }
    if (rc == BP_OK && code != SQLITE_DONE)
        rc = bp_sqlite_fail(db, code, "list keys", err);
    sqlite3_finalize(stmt);
    if (rc != BP_OK)
        bp_api_key_list_free(out);
    return rc;
}

enum bp_rc bp_sqlite_key_revoke(struct bp_store *store, const char *id,
                                int64_t now, struct bp_api_key *out,
                                struct bp_error *err)
{
    sqlite3 *db = bp_sqlite_from_base(store)->db;
    sqlite3_stmt *stmt;
    int code = sqlite3_prepare_v2(
        db,
        "UPDATE api_keys SET revoked_at = CASE WHEN revoked_at = 0 THEN ?1"
        " ELSE revoked_at END WHERE id = ?2 RETURNING " KEY_COLUMNS,
        -1, &stmt, NULL);
    if (code != SQLITE_OK)
        return bp_sqlite_fail(db, code, "revoke key", err);
    sqlite3_bind_int64(stmt, 1, now);
    bp_sqlite_bind_text(stmt, 2, id, 0);
    enum bp_rc rc = step_one_key(db, stmt, "revoke key", out, err);
    sqlite3_finalize(stmt);
    return rc;
}
