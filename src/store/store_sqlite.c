/*
 * store_sqlite.c: the embedded SQLite backend of the store interface.
 * One connection per worker process, WAL journal, a busy timeout, and a
 * schema versioned by PRAGMA user_version whose migrations run at open.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "log.h"
#include "store/store.h"
#include "store/store_sqlite.h"

/* Schema migrations; entry i brings the schema from version i to i + 1. */
static const char *const migrations[] = {
    "CREATE TABLE image_groups ("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  name TEXT NOT NULL,"
    "  description TEXT,"
    "  event TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX image_groups_created ON image_groups (created_at, id);"
    "CREATE INDEX image_groups_event ON image_groups (event, created_at, id);",

    "CREATE TABLE images ("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  group_id TEXT REFERENCES image_groups (id),"
    "  filename TEXT NOT NULL,"
    "  description TEXT,"
    "  content_type TEXT NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  width INTEGER NOT NULL,"
    "  height INTEGER NOT NULL,"
    "  taken_at TEXT,"
    "  taken_at_ms INTEGER,"
    "  data TEXT NOT NULL,"
    "  latitude REAL,"
    "  longitude REAL,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX images_group ON images (group_id, taken_at_ms);"
    "CREATE INDEX images_taken ON images (taken_at_ms);"
    "CREATE INDEX images_position ON images (latitude, longitude);",

    /* Presigned uploads: the file an image awaits, and until when. */
    "ALTER TABLE images ADD COLUMN upload_filename TEXT;"
    "ALTER TABLE images ADD COLUMN"
    "  upload_expires_at INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX images_upload_expires ON images (upload_expires_at)"
    "  WHERE upload_expires_at != 0;",

    /* Owners (a principal id; NULL for records made before), a group's
     * location policy, and API keys (only the secret's hash). */
    "ALTER TABLE image_groups ADD COLUMN owner TEXT;"
    "ALTER TABLE image_groups ADD COLUMN"
    "  location_hidden INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE images ADD COLUMN owner TEXT;"
    "CREATE INDEX images_group_filename ON images (group_id, filename);"
    "CREATE TABLE api_keys ("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  name TEXT NOT NULL,"
    "  role TEXT NOT NULL,"
    "  secret_sha256 TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL DEFAULT 0,"
    "  revoked_at INTEGER NOT NULL DEFAULT 0"
    ");",
};

#define GROUP_COLUMNS                                                          \
    "id, name, description, event, created_at, updated_at, owner, "            \
    "location_hidden"

/*
 * Maps a SQLite result code to our error codes with a message. The full
 * SQLite message (which may name files) goes to the log; clients get the
 * generic text of the result code.
 */
enum bp_rc bp_sqlite_fail(sqlite3 *db, int code, const char *what,
                          struct bp_error *err)
{
    int primary = code & 0xff;
    const char *msg = db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(code);
    /* A write that found the disk full may come back as an I/O error. */
    if (primary == SQLITE_IOERR && db != NULL &&
        bp_rc_for_write_errno(sqlite3_system_errno(db), BP_OK) == BP_ENOSPACE)
        primary = SQLITE_FULL;
    switch (primary) {
    case SQLITE_FULL:
        bp_log_error("sqlite %s: %s", what, msg);
        return bp_error_set(err, BP_ENOSPACE,
                            "Insufficient storage: the database is full");
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
        bp_log_error("sqlite %s: %s", what, msg);
        return bp_error_set(err, BP_EUNAVAILABLE,
                            "database unavailable: %s: %s", what,
                            sqlite3_errstr(primary));
    case SQLITE_CONSTRAINT:
        if (code == SQLITE_CONSTRAINT_FOREIGNKEY)
            return bp_error_set(err, BP_ENOTFOUND,
                                "Group with that ID not found");
        return bp_error_set(err, BP_ECONFLICT, "%s: %s", what, msg);
    case SQLITE_NOMEM:
        return BP_ENOMEM;
    default:
        return bp_error_set(err, BP_EINTERNAL, "sqlite %s: %s", what, msg);
    }
}

/* Creates dir and its parents (mode 0750) when missing. */
static int mkdir_parents(const char *dir)
{
    char *copy = strdup(dir);
    if (copy == NULL)
        return -1;
    int rc = 0;
    for (char *p = copy + 1; rc == 0; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(copy, 0750) != 0 && errno != EEXIST)
            rc = -1;
        *p = saved;
        if (saved == '\0')
            break;
    }
    free(copy);
    return rc;
}

enum bp_rc bp_sqlite_exec(sqlite3 *db, const char *sql, struct bp_error *err)
{
    int code = sqlite3_exec(db, sql, NULL, NULL, NULL);
    return code == SQLITE_OK ? BP_OK : bp_sqlite_fail(db, code, "setup", err);
}

/* Reads the schema version (PRAGMA user_version) into *version. */
static enum bp_rc schema_version(sqlite3 *db, int *version,
                                 struct bp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int code = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, NULL);
    if (code == SQLITE_OK)
        code = sqlite3_step(stmt);
    if (code == SQLITE_ROW)
        *version = sqlite3_column_int(stmt, 0);
    /* No statement may stay active while the schema changes. */
    sqlite3_finalize(stmt);
    return code == SQLITE_ROW
               ? BP_OK
               : bp_sqlite_fail(db, code, "reading the schema version", err);
}

/*
 * Applies the migrations the database has not seen, in one transaction.
 * A database already at this program's version costs one read and no
 * lock (a CGI process opens it on every request).
 */
static enum bp_rc migrate(sqlite3 *db, struct bp_error *err)
{
    int latest = (int)(sizeof(migrations) / sizeof(migrations[0]));
    int version = 0;
    enum bp_rc rc = schema_version(db, &version, err);
    if (rc != BP_OK || version == latest)
        return rc;
    rc = bp_sqlite_exec(db, "BEGIN IMMEDIATE", err);
    if (rc != BP_OK)
        return rc;
    /* Another process may have migrated it meanwhile. */
    rc = schema_version(db, &version, err);
    if (rc != BP_OK)
        goto out_rollback;
    if (version > latest) {
        rc = bp_error_set(err, BP_EINVAL,
                          "database schema version %d is newer than this "
                          "program's %d",
                          version, latest);
        goto out_rollback;
    }
    for (; version < latest; version++) {
        rc = bp_sqlite_exec(db, migrations[version], err);
        if (rc != BP_OK)
            goto out_rollback;
        char sql[64];
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version + 1);
        rc = bp_sqlite_exec(db, sql, err);
        if (rc != BP_OK)
            goto out_rollback;
    }
    rc = bp_sqlite_exec(db, "COMMIT", err);
    if (rc == BP_OK)
        return BP_OK;
out_rollback:
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

void bp_sqlite_rollback(sqlite3 *db)
{
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

char *bp_sqlite_column_text_dup(sqlite3_stmt *stmt, int col)
{
    const unsigned char *text = sqlite3_column_text(stmt, col);
    return text == NULL ? NULL : strdup((const char *)text);
}

void bp_sqlite_column_owner(sqlite3_stmt *stmt, int col,
                            char out[BP_PRINCIPAL_ID_MAX + 1])
{
    const unsigned char *text = sqlite3_column_text(stmt, col);
    out[0] = '\0';
    if (text != NULL && strlen((const char *)text) <= BP_PRINCIPAL_ID_MAX)
        memcpy(out, text, strlen((const char *)text) + 1);
}

void bp_sqlite_column_id(sqlite3_stmt *stmt, int col, char out[BP_ID_LEN + 1])
{
    const unsigned char *text = sqlite3_column_text(stmt, col);
    out[0] = '\0';
    if (text != NULL && strlen((const char *)text) == BP_ID_LEN)
        memcpy(out, text, BP_ID_LEN + 1);
}

/* Reads a row selected with GROUP_COLUMNS into out. */
static enum bp_rc read_group_row(sqlite3_stmt *stmt, struct bp_group *out)
{
    memset(out, 0, sizeof(*out));
    bp_sqlite_column_id(stmt, 0, out->id);
    out->name = bp_sqlite_column_text_dup(stmt, 1);
    if (out->name == NULL)
        return BP_ENOMEM;
    if (sqlite3_column_type(stmt, 2) != SQLITE_NULL) {
        out->description = bp_sqlite_column_text_dup(stmt, 2);
        if (out->description == NULL) {
            bp_group_clear(out);
            return BP_ENOMEM;
        }
    }
    bp_sqlite_column_id(stmt, 3, out->event);
    out->created_at = sqlite3_column_int64(stmt, 4);
    out->updated_at = sqlite3_column_int64(stmt, 5);
    bp_sqlite_column_owner(stmt, 6, out->owner);
    out->location_hidden = sqlite3_column_int(stmt, 7) != 0;
    return BP_OK;
}

/* Binds text, or NULL when text is NULL or (with empty_is_null) empty. */
int bp_sqlite_bind_text(sqlite3_stmt *stmt, int idx, const char *text,
                        int empty_is_null)
{
    if (text == NULL || (empty_is_null && text[0] == '\0'))
        return sqlite3_bind_null(stmt, idx);
    return sqlite3_bind_text(stmt, idx, text, -1, SQLITE_TRANSIENT);
}

/*
 * Steps a statement expected to return at most one group row. Returns
 * BP_ENOTFOUND when it returns none.
 */
static enum bp_rc step_one_group(sqlite3 *db, sqlite3_stmt *stmt,
                                 const char *what, struct bp_group *out,
                                 struct bp_error *err)
{
    int code = sqlite3_step(stmt);
    if (code == SQLITE_DONE)
        return bp_error_set(err, BP_ENOTFOUND, "Group with that ID not found");
    if (code != SQLITE_ROW)
        return bp_sqlite_fail(db, code, what, err);
    enum bp_rc rc = read_group_row(stmt, out);
    /* Run the statement to completion so that its write is committed. */
    while ((code = sqlite3_step(stmt)) == SQLITE_ROW)
        ;
    if (code != SQLITE_DONE) {
        if (rc == BP_OK)
            bp_group_clear(out);
        return bp_sqlite_fail(db, code, what, err);
    }
    return rc;
}

static enum bp_rc sqlite_ping(struct bp_store *store, struct bp_error *err)
{
    sqlite3 *db = bp_sqlite_from_base(store)->db;
    sqlite3_stmt *stmt;
    int code = sqlite3_prepare_v2(db,
                                  "SELECT count(*) FROM image_groups "
                                  "WHERE id = ''",
                                  -1, &stmt, NULL);
    if (code != SQLITE_OK)
        return bp_sqlite_fail(db, code, "ping", err);
    code = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    return code == SQLITE_ROW ? BP_OK : bp_sqlite_fail(db, code, "ping", err);
}

enum bp_rc bp_sqlite_group_insert_row(sqlite3 *db, const struct bp_group *group,
                                      struct bp_error *err)
{
    sqlite3_stmt *stmt;
    int code = sqlite3_prepare_v2(db,
                                  "INSERT INTO image_groups (" GROUP_COLUMNS
                                  ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                  -1, &stmt, NULL);
    if (code != SQLITE_OK)
        return bp_sqlite_fail(db, code, "insert group", err);
    bp_sqlite_bind_text(stmt, 1, group->id, 0);
    bp_sqlite_bind_text(stmt, 2, group->name, 0);
    bp_sqlite_bind_text(stmt, 3, group->description, 0);
    bp_sqlite_bind_text(stmt, 4, group->event, 1);
    sqlite3_bind_int64(stmt, 5, group->created_at);
    sqlite3_bind_int64(stmt, 6, group->updated_at);
    bp_sqlite_bind_text(stmt, 7, group->owner, 1);
    sqlite3_bind_int(stmt, 8, group->location_hidden);
    code = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    return code == SQLITE_DONE ? BP_OK
                               : bp_sqlite_fail(db, code, "insert group", err);
}

static enum bp_rc sqlite_group_insert(struct bp_store *store,
                                      const struct bp_group *group,
                                      struct bp_error *err)
{
    return bp_sqlite_group_insert_row(bp_sqlite_from_base(store)->db, group,
                                      err);
}

static enum bp_rc sqlite_group_get(struct bp_store *store, const char *id,
                                   struct bp_group *out, struct bp_error *err)
{
    struct store_sqlite *s = bp_sqlite_from_base(store);
    sqlite3_stmt *stmt = s->group_get;
    bp_sqlite_bind_text(stmt, 1, id, 0);
    enum bp_rc rc = step_one_group(s->db, stmt, "get group", out, err);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return rc;
}

/* Counts the groups query matches into *total. */
static enum bp_rc count_groups(sqlite3 *db, const struct bp_group_query *query,
                               long long *total, struct bp_error *err)
{
    sqlite3_stmt *stmt;
    /* Two statements, so that the event filter can use its index. */
    const char *sql = query->event != NULL
                          ? "SELECT count(*) FROM image_groups WHERE event = ?1"
                          : "SELECT count(*) FROM image_groups";
    int code = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
    if (code != SQLITE_OK)
        return bp_sqlite_fail(db, code, "count groups", err);
    if (query->event != NULL)
        bp_sqlite_bind_text(stmt, 1, query->event, 0);
    code = sqlite3_step(stmt);
    if (code == SQLITE_ROW)
        *total = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return code == SQLITE_ROW ? BP_OK
                              : bp_sqlite_fail(db, code, "count groups", err);
}

/* Reads one page of groups into out. */
static enum bp_rc page_groups(sqlite3 *db, const struct bp_group_query *query,
                              struct bp_group_list *out, struct bp_error *err)
{
    sqlite3_stmt *stmt;
    const char *sql = query->event != NULL
                          ? "SELECT " GROUP_COLUMNS " FROM image_groups"
                            " WHERE event = ?1"
                            " ORDER BY created_at DESC, id DESC"
                            " LIMIT ?2 OFFSET ?3"
                          : "SELECT " GROUP_COLUMNS " FROM image_groups"
                            " ORDER BY created_at DESC, id DESC"
                            " LIMIT ?2 OFFSET ?3";
    int code = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
    if (code != SQLITE_OK)
        return bp_sqlite_fail(db, code, "list groups", err);
    if (query->event != NULL)
        bp_sqlite_bind_text(stmt, 1, query->event, 0);
    sqlite3_bind_int64(stmt, 2, query->limit);
    sqlite3_bind_int64(stmt, 3, query->offset);
    enum bp_rc rc = BP_OK;
    while ((code = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct bp_group *group = bp_group_list_add(out);
        rc = group == NULL ? BP_ENOMEM : read_group_row(stmt, group);
        if (rc != BP_OK)
            break;
    }
    if (rc == BP_OK && code != SQLITE_DONE)
        rc = bp_sqlite_fail(db, code, "list groups", err);
    sqlite3_finalize(stmt);
    return rc;
}

static enum bp_rc sqlite_group_list(struct bp_store *store,
                                    const struct bp_group_query *query,
                                    struct bp_group_list *out,
                                    struct bp_error *err)
{
    sqlite3 *db = bp_sqlite_from_base(store)->db;
    memset(out, 0, sizeof(*out));
    /* One read transaction, so that the count and the page agree. */
    enum bp_rc rc = bp_sqlite_exec(db, "BEGIN", err);
    if (rc != BP_OK)
        return rc;
    rc = count_groups(db, query, &out->total, err);
    if (rc == BP_OK)
        rc = page_groups(db, query, out, err);
    if (rc == BP_OK)
        rc = bp_sqlite_exec(db, "COMMIT", err);
    if (rc != BP_OK) {
        /* Never leave the connection inside a transaction. */
        bp_sqlite_rollback(db);
        bp_group_list_free(out);
    }
    return rc;
}

static enum bp_rc sqlite_group_update(struct bp_store *store, const char *id,
                                      const struct bp_group_patch *patch,
                                      int64_t now, struct bp_group *out,
                                      struct bp_error *err)
{
    sqlite3 *db = bp_sqlite_from_base(store)->db;
    sqlite3_stmt *stmt;
    int code = sqlite3_prepare_v2(
        db,
        "UPDATE image_groups SET"
        " name = CASE WHEN ?1 THEN ?2 ELSE name END,"
        " description = CASE WHEN ?3 THEN ?4 ELSE description END,"
        " event = CASE WHEN ?5 THEN ?6 ELSE event END,"
        " location_hidden = CASE WHEN ?9 THEN ?10 ELSE location_hidden END,"
        " updated_at = ?7"
        " WHERE id = ?8 RETURNING " GROUP_COLUMNS,
        -1, &stmt, NULL);
    if (code != SQLITE_OK)
        return bp_sqlite_fail(db, code, "update group", err);
    sqlite3_bind_int(stmt, 1, patch->set_name);
    bp_sqlite_bind_text(stmt, 2, patch->name, 0);
    sqlite3_bind_int(stmt, 3, patch->set_description);
    bp_sqlite_bind_text(stmt, 4, patch->description, 0);
    sqlite3_bind_int(stmt, 5, patch->set_event);
    bp_sqlite_bind_text(stmt, 6, patch->event, 1);
    sqlite3_bind_int64(stmt, 7, now);
    bp_sqlite_bind_text(stmt, 8, id, 0);
    sqlite3_bind_int(stmt, 9, patch->set_location);
    sqlite3_bind_int(stmt, 10, patch->location_hidden);
    enum bp_rc rc = step_one_group(db, stmt, "update group", out, err);
    sqlite3_finalize(stmt);
    return rc;
}

static enum bp_rc delete_group_row(sqlite3 *db, const char *id,
                                   struct bp_group *out, struct bp_error *err)
{
    sqlite3_stmt *stmt;
    int code = sqlite3_prepare_v2(db,
                                  "DELETE FROM image_groups WHERE id = ?"
                                  " RETURNING " GROUP_COLUMNS,
                                  -1, &stmt, NULL);
    if (code != SQLITE_OK)
        return bp_sqlite_fail(db, code, "delete group", err);
    bp_sqlite_bind_text(stmt, 1, id, 0);
    enum bp_rc rc = step_one_group(db, stmt, "delete group", out, err);
    sqlite3_finalize(stmt);
    return rc;
}

static enum bp_rc sqlite_group_delete(struct bp_store *store, const char *id,
                                      struct bp_group *out,
                                      struct bp_image_list *removed,
                                      struct bp_error *err)
{
    sqlite3 *db = bp_sqlite_from_base(store)->db;
    enum bp_rc rc = bp_sqlite_exec(db, "BEGIN IMMEDIATE", err);
    if (rc != BP_OK)
        return rc;
    rc = bp_sqlite_images_delete_of_group(db, id, removed, err);
    if (rc != BP_OK)
        goto out_rollback;
    rc = delete_group_row(db, id, out, err);
    if (rc != BP_OK) {
        bp_image_list_free(removed);
        goto out_rollback;
    }
    rc = bp_sqlite_exec(db, "COMMIT", err);
    if (rc == BP_OK)
        return BP_OK;
    bp_group_clear(out);
    bp_image_list_free(removed);
out_rollback:
    bp_sqlite_rollback(db);
    return rc;
}

static enum bp_rc sqlite_groups_detach_event(struct bp_store *store,
                                             const char *event,
                                             const char *owner, int64_t now,
                                             long long *count,
                                             struct bp_error *err)
{
    sqlite3 *db = bp_sqlite_from_base(store)->db;
    sqlite3_stmt *stmt;
    int code = sqlite3_prepare_v2(db,
                                  "UPDATE image_groups SET event = NULL,"
                                  " updated_at = ?1 WHERE event = ?2"
                                  " AND (?3 IS NULL OR owner = ?3)",
                                  -1, &stmt, NULL);
    if (code != SQLITE_OK)
        return bp_sqlite_fail(db, code, "detach event", err);
    sqlite3_bind_int64(stmt, 1, now);
    bp_sqlite_bind_text(stmt, 2, event, 0);
    bp_sqlite_bind_text(stmt, 3, owner, 0);
    code = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (code != SQLITE_DONE)
        return bp_sqlite_fail(db, code, "detach event", err);
    *count = sqlite3_changes(db);
    return BP_OK;
}

static void sqlite_close(struct bp_store *store)
{
    struct store_sqlite *s = bp_sqlite_from_base(store);
    sqlite3_finalize(s->group_get);
    sqlite3_finalize(s->group_images);
    sqlite3_finalize(s->image_get);
    sqlite3_finalize(s->key_get);
    sqlite3_close(s->db);
    free(s);
}

static const struct bp_store_ops sqlite_ops = {
    .name = "sqlite",
    .ping = sqlite_ping,
    .group_insert = sqlite_group_insert,
    .group_get = sqlite_group_get,
    .group_list = sqlite_group_list,
    .group_update = sqlite_group_update,
    .group_delete = sqlite_group_delete,
    .groups_detach_event = sqlite_groups_detach_event,
    .images_insert = bp_sqlite_images_insert,
    .image_get = bp_sqlite_image_get,
    .image_list = bp_sqlite_image_list,
    .image_update = bp_sqlite_image_update,
    .image_replace_file = bp_sqlite_image_replace_file,
    .image_delete_awaiting = bp_sqlite_image_delete_awaiting,
    .image_delete = bp_sqlite_image_delete,
    .key_insert = bp_sqlite_key_insert,
    .key_get = bp_sqlite_key_get,
    .key_list = bp_sqlite_key_list,
    .key_revoke = bp_sqlite_key_revoke,
    .close = sqlite_close,
};

/* Creates the directory that will hold the database file at path. */
static enum bp_rc make_parent_dir(const char *path, struct bp_error *err)
{
    char *copy = strdup(path);
    if (copy == NULL)
        return BP_ENOMEM;
    const char *dir = dirname(copy);
    int failed = mkdir_parents(dir);
    enum bp_rc rc = BP_OK;
    if (failed) {
        bp_log_error("cannot create %s: %s", dir, strerror(errno));
        rc = bp_error_set(err, BP_EUNAVAILABLE,
                          "cannot create the database directory: %s",
                          strerror(errno));
    }
    free(copy);
    return rc;
}

enum bp_rc bp_store_sqlite_open(const char *path, const struct bp_config *cfg,
                                struct bp_store **out, struct bp_error *err)
{
    enum bp_rc rc = make_parent_dir(path, err);
    if (rc != BP_OK)
        return rc;
    struct store_sqlite *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return BP_ENOMEM;
    s->base.ops = &sqlite_ops;
    int code = sqlite3_open_v2(
        path, &s->db,
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (code != SQLITE_OK) {
        bp_log_error("cannot open %s: %s", path,
                     s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(code));
        rc = bp_error_set(err, BP_EUNAVAILABLE, "cannot open the database: %s",
                          sqlite3_errstr(code));
        goto out_close;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, (int)cfg->sqlite_busy_timeout_ms);
    rc = bp_sqlite_exec(s->db,
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                        " PRAGMA foreign_keys = ON;",
                        err);
    if (rc != BP_OK)
        goto out_close;
    rc = migrate(s->db, err);
    if (rc != BP_OK)
        goto out_close;
    code = sqlite3_prepare_v3(
        s->db, "SELECT " GROUP_COLUMNS " FROM image_groups WHERE id = ?", -1,
        SQLITE_PREPARE_PERSISTENT, &s->group_get, NULL);
    if (code != SQLITE_OK) {
        rc = bp_sqlite_fail(s->db, code, "prepare", err);
        goto out_close;
    }
    rc = bp_sqlite_images_prepare(s, err);
    if (rc == BP_OK)
        rc = bp_sqlite_keys_prepare(s, err);
    if (rc != BP_OK)
        goto out_close;
    *out = &s->base;
    return BP_OK;
out_close:
    sqlite_close(&s->base);
    return rc;
}
