/*
 * store_sqlite.h: what the files of the SQLite backend share: the
 * handle, error mapping and column/bind helpers, and the image
 * operations that store_sqlite_images.c implements. Not for use outside
 * the backend.
 */
#ifndef BP_STORE_SQLITE_H
#define BP_STORE_SQLITE_H

#include <sqlite3.h>

#include "model/image.h"
#include "store/store.h"

struct store_sqlite {
    struct bp_store base;
    sqlite3 *db;
    sqlite3_stmt *group_get;    /* prepared once: the hottest queries */
    sqlite3_stmt *group_images; /* a group's images, in order */
    sqlite3_stmt *image_get;    /* one image by id */
    sqlite3_stmt *key_get;      /* an API key, read on every request */
};

static inline struct store_sqlite *bp_sqlite_from_base(struct bp_store *store)
{
    return (struct store_sqlite *)store;
}

/*
 * Maps the SQLite result code of a failed call to an error code: busy,
 * I/O and permission problems are BP_EUNAVAILABLE, a foreign key
 * violation (an image naming a missing group) is BP_ENOTFOUND, other
 * constraints BP_ECONFLICT. Clients see only generic text; the full
 * SQLite message goes to the log.
 */
enum bp_rc bp_sqlite_fail(sqlite3 *db, int code, const char *what,
                          struct bp_error *err);

/* Runs sql (no result rows) with bp_sqlite_fail on error. */
enum bp_rc bp_sqlite_exec(sqlite3 *db, const char *sql, struct bp_error *err);

/* Rolls back the open transaction of db, if any. */
void bp_sqlite_rollback(sqlite3 *db);

/* Returns a copy of a text column (the caller frees it), or NULL. */
char *bp_sqlite_column_text_dup(sqlite3_stmt *stmt, int col);

/* Copies an owner column into out ("" for NULL or too long). */
void bp_sqlite_column_owner(sqlite3_stmt *stmt, int col,
                            char out[BP_PRINCIPAL_ID_MAX + 1]);

/* Inserts group's row (inside the caller's transaction, if any). */
enum bp_rc bp_sqlite_group_insert_row(sqlite3 *db, const struct bp_group *group,
                                      struct bp_error *err);

/* Copies a 24-character id column into out ("" for NULL). */
void bp_sqlite_column_id(sqlite3_stmt *stmt, int col, char out[BP_ID_LEN + 1]);

/* Binds text, or NULL when text is NULL or (with empty_is_null) "". */
int bp_sqlite_bind_text(sqlite3_stmt *stmt, int idx, const char *text,
                        int empty_is_null);

/* Prepares the image statements kept for the connection's life. */
enum bp_rc bp_sqlite_images_prepare(struct store_sqlite *s,
                                    struct bp_error *err);

/* The image operations of the SQLite backend (see store.h). */
enum bp_rc bp_sqlite_images_insert(struct bp_store *store,
                                   const struct bp_group *new_group,
                                   const struct bp_image *images, size_t n,
                                   struct bp_error *err);
enum bp_rc bp_sqlite_image_get(struct bp_store *store, const char *id,
                               struct bp_image *out, struct bp_error *err);
enum bp_rc bp_sqlite_image_list(struct bp_store *store,
                                const struct bp_image_query *query,
                                struct bp_image_list *out,
                                struct bp_error *err);
enum bp_rc bp_sqlite_image_update(struct bp_store *store, const char *id,
                                  const struct bp_image_patch *patch,
                                  int64_t now, struct bp_image *out,
                                  struct bp_error *err);
enum bp_rc bp_sqlite_image_replace_file(struct bp_store *store,
                                        const struct bp_image *file,
                                        int64_t now, struct bp_image *out,
                                        struct bp_error *err);
enum bp_rc bp_sqlite_image_delete_awaiting(struct bp_store *store,
                                           const char *id,
                                           int64_t upload_expires_at,
                                           struct bp_image *out,
                                           struct bp_error *err);
enum bp_rc bp_sqlite_image_delete(struct bp_store *store, const char *id,
                                  struct bp_image *out, struct bp_error *err);

/* Prepares the API key statements kept for the connection's life. */
enum bp_rc bp_sqlite_keys_prepare(struct store_sqlite *s, struct bp_error *err);

/* The API key operations of the SQLite backend (see store.h). */
enum bp_rc bp_sqlite_key_insert(struct bp_store *store,
                                const struct bp_api_key *key,
                                struct bp_error *err);
enum bp_rc bp_sqlite_key_get(struct bp_store *store, const char *id,
                             struct bp_api_key *out, struct bp_error *err);
enum bp_rc bp_sqlite_key_list(struct bp_store *store,
                              struct bp_api_key_list *out,
                              struct bp_error *err);
enum bp_rc bp_sqlite_key_revoke(struct bp_store *store, const char *id,
                                int64_t now, struct bp_api_key *out,
                                struct bp_error *err);

/*
 * Deletes the images of group_id inside the caller's transaction and
 * returns them in *out (freed by the caller on BP_OK).
 */
enum bp_rc bp_sqlite_images_delete_of_group(sqlite3 *db, const char *group_id,
                                            struct bp_image_list *out,
                                            struct bp_error *err);

#endif
