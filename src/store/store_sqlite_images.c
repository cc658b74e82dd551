/*
 * store_sqlite_images.c: the image operations of the SQLite backend:
 * batch insert, read, filtered listing (capture time, bounding box,
 * distance, expired awaited uploads), metadata and file updates and
 * deletes, the conditional ones among them.
 *
 * An awaited upload is the pair upload_filename, upload_expires_at; an
 * image awaits none when upload_expires_at is 0, and upload_filename is
 * then NULL. A pending image that never had a file is stored with the
 * neutral file fields it is given ("" content type and "{}" data when
 * they are NULL), sha256 "" among them.
 *
 * The conditional writes (an update or file replace that requires an
 * awaited upload, the delete of an image still awaiting its first file)
 * put the condition in the statement's WHERE; when it changes no row, a
 * read in the same transaction tells a missing image from a conflict.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "store/store_sqlite.h"

#define IMAGE_COLUMNS                                                          \
    "id, group_id, filename, description, content_type, size, sha256, "        \
    "width, height, taken_at, taken_at_ms, data, latitude, longitude, "        \
    "created_at, updated_at, upload_filename, upload_expires_at, owner"

/* The mean Earth radius (IUGG), for great-circle distances. */
#define EARTH_RADIUS_M 6371008.8

/* Copies a text column into a fixed buffer ("" for NULL or too long). */
static void column_text_into(sqlite3_stmt *stmt, int col, char *out,
                             size_t out_len)
{
    const unsigned char *text = sqlite3_column_text(stmt, col);
    out[0] = '\0';
    if (text != NULL && strlen((const char *)text) < out_len)
        memcpy(out, text, strlen((const char *)text) + 1);
}

/* Reads a row selected with IMAGE_COLUMNS into out. */
static enum bp_rc read_image_row(sqlite3_stmt *stmt, struct bp_image *out)
{
    memset(out, 0, sizeof(*out));
    bp_sqlite_column_id(stmt, 0, out->id);
    bp_sqlite_column_id(stmt, 1, out->group);
    out->filename = bp_sqlite_column_text_dup(stmt, 2);
    if (sqlite3_column_type(stmt, 3) != SQLITE_NULL)
        out->description = bp_sqlite_column_text_dup(stmt, 3);
    out->content_type = bp_sqlite_column_text_dup(stmt, 4);
    out->size = sqlite3_column_int64(stmt, 5);
    column_text_into(stmt, 6, out->sha256, sizeof(out->sha256));
    out->width = (long)sqlite3_column_int64(stmt, 7);
    out->height = (long)sqlite3_column_int64(stmt, 8);
    column_text_into(stmt, 9, out->taken_at, sizeof(out->taken_at));
    out->has_taken_at_ms = sqlite3_column_type(stmt, 10) != SQLITE_NULL;
    out->taken_at_ms = sqlite3_column_int64(stmt, 10);
    out->data_json = bp_sqlite_column_text_dup(stmt, 11);
    out->has_position = sqlite3_column_type(stmt, 12) != SQLITE_NULL &&
                        sqlite3_column_type(stmt, 13) != SQLITE_NULL;
    out->latitude = sqlite3_column_double(stmt, 12);
    out->longitude = sqlite3_column_double(stmt, 13);
    out->created_at = sqlite3_column_int64(stmt, 14);
    out->updated_at = sqlite3_column_int64(stmt, 15);
    if (sqlite3_column_type(stmt, 16) != SQLITE_NULL)
        out->upload_filename = bp_sqlite_column_text_dup(stmt, 16);
    out->upload_expires_at = sqlite3_column_int64(stmt, 17);
    bp_sqlite_column_owner(stmt, 18, out->owner);
    if (out->filename == NULL || out->content_type == NULL ||
        out->data_json == NULL ||
        (sqlite3_column_type(stmt, 3) != SQLITE_NULL &&
         out->description == NULL) ||
        (sqlite3_column_type(stmt, 16) != SQLITE_NULL &&
         out->upload_filename == NULL)) {
        bp_image_clear(out);
        return BP_ENOMEM;
    }
    return BP_OK;
}

/*
 * Binds the file-derived fields of image from parameter first on. A
 * pending image without a file may have no content type or data yet:
 * "" and "{}" stand for them (the columns are NOT NULL).
 */
static void bind_file_fields(sqlite3_stmt *stmt, int first,
                             const struct bp_image *image)
{
    bp_sqlite_bind_text(stmt, first, image->filename, 0);
    bp_sqlite_bind_text(stmt, first + 1,
                        image->content_type ? image->content_type : "", 0);
    sqlite3_bind_int64(stmt, first + 2, image->size);
    bp_sqlite_bind_text(stmt, first + 3, image->sha256, 0);
    sqlite3_bind_int64(stmt, first + 4, image->width);
    sqlite3_bind_int64(stmt, first + 5, image->height);
    bp_sqlite_bind_text(stmt, first + 6, image->taken_at, 1);
    if (image->has_taken_at_ms)
        sqlite3_bind_int64(stmt, first + 7, image->taken_at_ms);
    else
        sqlite3_bind_null(stmt, first + 7);
    bp_sqlite_bind_text(stmt, first + 8,
                        image->data_json ? image->data_json : "{}", 0);
    if (image->has_position) {
        sqlite3_bind_double(stmt, first + 9, image->latitude);
        sqlite3_bind_double(stmt, first + 10, image->longitude);
    } else {
        sqlite3_bind_null(stmt, first + 9);
        sqlite3_bind_null(stmt, first + 10);
    }
}

/*
 * Binds an awaited upload to parameters first (file name) and first + 1
 * (expiry): filename and expires_at while expires_at is not 0, else NULL
 * and 0 (no upload awaited).
 */
static void bind_upload(sqlite3_stmt *stmt, int first, const char *filename,
                        int64_t expires_at)
{
    bool awaited = expires_at != 0;
    bp_sqlite_bind_text(stmt, first, awaited ? filename : NULL, 0);
    sqlite3_bind_int64(stmt, first + 1, awaited ? expires_at : 0);
}

/*
 * Steps a statement that returns at most one image row into out.
 * BP_ENOTFOUND when it returns none.
 */
static enum bp_rc step_one_image(sqlite3 *db, sqlite3_stmt *stmt,
                                 const char *what, struct bp_image *out,
                                 struct bp_error *err)
{
    int code = sqlite3_step(stmt);
    if (code == SQLITE_DONE)
        return bp_error_set(err, BP_ENOTFOUND, "Image with that ID not found");
    if (code != SQLITE_ROW)
        return bp_sqlite_fail(db, code, what, err);
    enum bp_rc rc = read_image_row(stmt, out);
    while ((code = sqlite3_step(stmt)) == SQLITE_ROW)
        ;
    if (code != SQLITE_DONE) {
        if (rc == BP_OK)
            bp_image_clear(out);
        return bp_sqlite_fail(db, code, what, err);
    }
    return rc;
}

/* What a conditional write requires of the image it changes. */
struct condition {
    const char *id;
    int64_t upload_expires_at; /* the awaited upload (0: none) */
    bool no_file;              /* and that the image never had a file */
    const char *group;         /* a group the write moves it to, or NULL */
};

/*
 * Returns BP_ECONFLICT with the detail that says why an image refused a
 * write under cond (has_file: the image has a file).
 */
static enum bp_rc upload_conflict(const struct condition *cond, bool has_file,
                                  struct bp_error *err)
{
    if (cond->no_file && has_file)
        return bp_error_set(err, BP_ECONFLICT, "Image %s has a file", cond->id);
    if (cond->upload_expires_at == 0)
        return bp_error_set(err, BP_ECONFLICT, "Image %s awaits an upload",
                            cond->id);
    return bp_error_set(err, BP_ECONFLICT,
                        "Image %s no longer awaits this upload", cond->id);
}

/*
 * Returns why a conditional write changed no row, inside its
 * transaction: BP_ENOTFOUND when the image (or else the group it was to
 * move to) does not exist, else BP_ECONFLICT.
 */
static enum bp_rc explain_unchanged(sqlite3 *db, const struct condition *cond,
                                    struct bp_error *err)
{
    sqlite3_stmt *stmt;
    int code = sqlite3_prepare_v2(
        db,
        "SELECT sha256 != '', ?2 IS NULL OR EXISTS (SELECT 1 FROM"
        " image_groups WHERE id = ?2) FROM images WHERE id = ?1",
        -1, &stmt, NULL);
    if (code != SQLITE_OK)
        return bp_sqlite_fail(db, code, "check image", err);
    bp_sqlite_bind_text(stmt, 1, cond->id, 0);
    bp_sqlite_bind_text(stmt, 2, cond->group, 1);
    enum bp_rc rc;
    code = sqlite3_step(stmt);
    if (code == SQLITE_DONE)
        rc = bp_error_set(err, BP_ENOTFOUND, "Image with that ID not found");
    else if (code != SQLITE_ROW)
        rc = bp_sqlite_fail(db, code, "check image", err);
    else if (!sqlite3_column_int(stmt, 1))
        rc = bp_error_set(err, BP_ENOTFOUND, "Group with that ID not found");
    else
        rc = upload_conflict(cond, sqlite3_column_int(stmt, 0), err);
    sqlite3_finalize(stmt);
    return rc;
}

/*
 * Runs stmt, a write under cond that returns the image row it changed,
 * into out in one transaction with explain_unchanged when it changes
 * none. On BP_OK *out is the caller's.
 */
static enum bp_rc step_conditional(sqlite3 *db, sqlite3_stmt *stmt,
                                   const struct condition *cond,
                                   const char *what, struct bp_image *out,
                                   struct bp_error *err)
{
    enum bp_rc rc = bp_sqlite_exec(db, "BEGIN IMMEDIATE", err);
    if (rc != BP_OK)
        return rc;
    rc = step_one_image(db, stmt, what, out, err);
    /* No row, or a missing group's foreign key: explained the same way. */
    if (rc == BP_ENOTFOUND)
        rc = explain_unchanged(db, cond, err);
    if (rc != BP_OK)
        goto out_rollback;
    rc = bp_sqlite_exec(db, "COMMIT", err);
    if (rc == BP_OK)
        return BP_OK;
    bp_image_clear(out);
out_rollback:
    bp_sqlite_rollback(db);
    return rc;
}

/* Steps stmt to the end, appending every image row to out. */
static enum bp_rc collect_rows(sqlite3 *db, sqlite3_stmt *stmt,
                               const char *what, struct bp_image_list *out,
                               struct bp_error *err)
{
    int code;
    while ((code = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct bp_image *image = bp_image_list_add(out);
        if (image == NULL)
            return BP_ENOMEM;
        enum bp_rc rc = read_image_row(stmt, image);
        if (rc != BP_OK)
            return rc;
    }
    return code == SQLITE_DONE ? BP_OK : bp_sqlite_fail(db, code, what, err);
}

enum bp_rc bp_sqlite_images_prepare(struct store_sqlite *s,
                                    struct bp_error *err)
{
    int code = sqlite3_prepare_v3(
        s->db,
        "SELECT " IMAGE_COLUMNS " FROM images WHERE group_id = ?1"
        " ORDER BY taken_at_ms IS NULL, taken_at_ms, created_at, id",
        -1, SQLITE_PREPARE_PERSISTENT, &s->group_images, NULL);
    if (code == SQLITE_OK)
        code = sqlite3_prepare_v3(
            s->db, "SELECT " IMAGE_COLUMNS " FROM images WHERE id = ?", -1,
            SQLITE_PREPARE_PERSISTENT, &s->image_get, NULL);
    return code == SQLITE_OK ? BP_OK
                             : bp_sqlite_fail(s->db, code, "prepare", err);
}

enum bp_rc bp_sqlite_images_insert(struct bp_store *store,
                                   const struct bp_group *new_group,
                                   const struct bp_image *images, size_t n,
                                   struct bp_error *err)
{
    sqlite3 *db = bp_sqlite_from_base(store)->db;
    sqlite3_stmt *stmt = NULL;
    enum bp_rc rc = bp_sqlite_exec(db, "BEGIN IMMEDIATE", err);
    if (rc != BP_OK)
        return rc;
    if (new_group != NULL) {
        rc = bp_sqlite_group_insert_row(db, new_group, err);
        if (rc != BP_OK)
            goto out_rollback;
    }
    int code = sqlite3_prepare_v2(
        db,
        "INSERT INTO images (id, group_id, description, created_at, "
        "updated_at, filename, content_type, size, sha256, width, height, "
        "taken_at, taken_at_ms, data, latitude, longitude, upload_filename, "
        "upload_expires_at, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "?, ?, ?, ?, ?, ?, ?)",
        -1, &stmt, NULL);
    if (code != SQLITE_OK) {
        rc = bp_sqlite_fail(db, code, "insert image", err);
        goto out_rollback;
    }
    for (size_t i = 0; i < n; i++) {
        const struct bp_image *image = &images[i];
        sqlite3_reset(stmt);
        bp_sqlite_bind_text(stmt, 1, image->id, 0);
        bp_sqlite_bind_text(stmt, 2, image->group, 1);
        bp_sqlite_bind_text(stmt, 3, image->description, 0);
        sqlite3_bind_int64(stmt, 4, image->created_at);
        sqlite3_bind_int64(stmt, 5, image->updated_at);
        bind_file_fields(stmt, 6, image);
        bind_upload(stmt, 17, image->upload_filename, image->upload_expires_at);
        bp_sqlite_bind_text(stmt, 19, image->owner, 1);
        code = sqlite3_step(stmt);
        if (code != SQLITE_DONE) {
            rc = bp_sqlite_fail(db, code, "insert image", err);
            goto out_rollback;
        }
    }
    sqlite3_finalize(stmt);
    stmt = NULL;
    rc = bp_sqlite_exec(db, "COMMIT", err);
    if (rc == BP_OK)
        return BP_OK;
out_rollback:
    sqlite3_finalize(stmt);
    bp_sqlite_rollback(db);
    return rc;
}

enum bp_rc bp_sqlite_image_get(struct bp_store *store, const char *id,
                               struct bp_image *out, struct bp_error *err)
{
    struct store_sqlite *s = bp_sqlite_from_base(store);
    sqlite3_stmt *stmt = s->image_get;
    bp_sqlite_bind_text(stmt, 1, id, 0);
    enum bp_rc rc = step_one_image(s->db, stmt, "get image", out, err);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return rc;
}

/*
 * Appends the WHERE clause for query to sql. Parameters are numbered so
 * that bind_filters can bind them whichever filters are present.
 */
static enum bp_rc append_filters(struct bp_buf *sql,
                                 const struct bp_image_query *query)
{
    enum bp_rc rc = bp_buf_append_str(sql, " WHERE 1");
    if (rc == BP_OK && query->group != NULL)
        rc = bp_buf_append_str(sql, " AND group_id = ?1");
    if (rc == BP_OK && query->filename != NULL)
        rc = bp_buf_append_str(sql, " AND filename = ?15");
    if (rc == BP_OK && query->has_taken_after)
        rc = bp_buf_append_str(sql, " AND taken_at_ms >= ?2");
    if (rc == BP_OK && query->has_taken_before)
        rc = bp_buf_append_str(sql, " AND taken_at_ms <= ?3");
    if (rc == BP_OK && query->has_bbox)
        rc = bp_buf_append_str(
            sql, query->min_lon <= query->max_lon
                     ? " AND latitude BETWEEN ?5 AND ?7"
                       " AND longitude BETWEEN ?4 AND ?6"
                     : " AND latitude BETWEEN ?5 AND ?7"
                       " AND (longitude >= ?4 OR longitude <= ?6)");
    if (rc == BP_OK && query->has_near)
        /* Haversine distance, with SQLite's math functions. */
        rc = bp_buf_printf(sql,
                           " AND latitude IS NOT NULL AND 2 * %.1f * asin("
                           "min(1, sqrt(pow(sin(radians(latitude - ?8) / 2), 2)"
                           " + cos(radians(?8)) * cos(radians(latitude))"
                           " * pow(sin(radians(longitude - ?9) / 2), 2))))"
                           " <= ?10",
                           EARTH_RADIUS_M);
    if (rc == BP_OK && query->hide_hidden_locations &&
        (query->has_bbox || query->has_near))
        /* Owners are NULL or not empty, so "" (anonymous) owns nothing. */
        rc = bp_buf_append_str(
            sql, " AND (images.owner = ?14 OR images.group_id IS NULL OR"
                 " NOT EXISTS (SELECT 1 FROM image_groups g"
                 " WHERE g.id = images.group_id AND g.location_hidden != 0"
                 " AND (g.owner IS NULL OR g.owner != ?14)))");
    if (rc == BP_OK && query->has_upload_expired_before)
        /* The "!= 0" term is the index's WHERE: it lets SQLite use it. */
        rc = bp_buf_append_str(sql, " AND upload_expires_at != 0"
                                    " AND upload_expires_at < ?13");
    return rc;
}

static void bind_filters(sqlite3_stmt *stmt, const struct bp_image_query *q)
{
    if (q->group != NULL)
        bp_sqlite_bind_text(stmt, 1, q->group, 0);
    if (q->filename != NULL)
        bp_sqlite_bind_text(stmt, 15, q->filename, 0);
    if (q->has_taken_after)
        sqlite3_bind_int64(stmt, 2, q->taken_after_ms);
    if (q->has_taken_before)
        sqlite3_bind_int64(stmt, 3, q->taken_before_ms);
    if (q->has_bbox) {
        sqlite3_bind_double(stmt, 4, q->min_lon);
        sqlite3_bind_double(stmt, 5, q->min_lat);
        sqlite3_bind_double(stmt, 6, q->max_lon);
        sqlite3_bind_double(stmt, 7, q->max_lat);
    }
    if (q->has_near) {
        sqlite3_bind_double(stmt, 8, q->near_lat);
        sqlite3_bind_double(stmt, 9, q->near_lon);
        sqlite3_bind_double(stmt, 10, q->radius_m);
    }
    if (q->has_upload_expired_before)
        sqlite3_bind_int64(stmt, 13, q->upload_expired_before_ms);
    if (q->hide_hidden_locations && (q->has_bbox || q->has_near))
        bp_sqlite_bind_text(stmt, 14, q->viewer != NULL ? q->viewer : "", 0);
}

static enum bp_rc count_images(sqlite3 *db, const struct bp_image_query *query,
                               long long *total, struct bp_error *err)
{
    struct bp_buf sql;
    bp_buf_init(&sql, 4096);
    sqlite3_stmt *stmt = NULL;
    enum bp_rc rc = bp_buf_append_str(&sql, "SELECT count(*) FROM images");
    if (rc == BP_OK)
        rc = append_filters(&sql, query);
    if (rc != BP_OK)
        goto out_free;
    int code = sqlite3_prepare_v2(db, sql.data, -1, &stmt, NULL);
    if (code == SQLITE_OK) {
        bind_filters(stmt, query);
        code = sqlite3_step(stmt);
    }
    if (code == SQLITE_ROW)
        *total = sqlite3_column_int64(stmt, 0);
    else
        rc = bp_sqlite_fail(db, code, "count images", err);
out_free:
    sqlite3_finalize(stmt);
    bp_buf_free(&sql);
    return rc;
}

static enum bp_rc page_images(sqlite3 *db, const struct bp_image_query *query,
                              struct bp_image_list *out, struct bp_error *err)
{
    struct bp_buf sql;
    bp_buf_init(&sql, 4096);
    sqlite3_stmt *stmt = NULL;
    enum bp_rc rc =
        bp_buf_append_str(&sql, "SELECT " IMAGE_COLUMNS " FROM images");
    if (rc == BP_OK)
        rc = append_filters(&sql, query);
    if (rc == BP_OK)
        rc = bp_buf_append_str(&sql, " ORDER BY taken_at_ms IS NULL,"
                                     " taken_at_ms, created_at, id"
                                     " LIMIT ?11 OFFSET ?12");
    if (rc != BP_OK)
        goto out_free;
    int code = sqlite3_prepare_v2(db, sql.data, -1, &stmt, NULL);
    if (code != SQLITE_OK) {
        rc = bp_sqlite_fail(db, code, "list images", err);
        goto out_free;
    }
    bind_filters(stmt, query);
    sqlite3_bind_int64(stmt, 11, query->limit > 0 ? query->limit : -1);
    sqlite3_bind_int64(stmt, 12, query->offset);
    rc = collect_rows(db, stmt, "list images", out, err);
out_free:
    sqlite3_finalize(stmt);
    bp_buf_free(&sql);
    return rc;
}

/* Returns true when query asks for all of one group's images, nothing else. */
static bool whole_group(const struct bp_image_query *q)
{
    return q->group != NULL && q->filename == NULL && !q->has_taken_after &&
           !q->has_taken_before && !q->has_bbox && !q->has_near &&
           !q->has_upload_expired_before && q->limit == 0 && q->offset == 0;
}

enum bp_rc bp_sqlite_image_list(struct bp_store *store,
                                const struct bp_image_query *query,
                                struct bp_image_list *out, struct bp_error *err)
{
    struct store_sqlite *s = bp_sqlite_from_base(store);
    sqlite3 *db = s->db;
    memset(out, 0, sizeof(*out));
    if (whole_group(query)) {
        /* One statement, prepared once: the images of a group's page. */
        bp_sqlite_bind_text(s->group_images, 1, query->group, 0);
        enum bp_rc rc =
            collect_rows(db, s->group_images, "list group images", out, err);
        sqlite3_reset(s->group_images);
        sqlite3_clear_bindings(s->group_images);
        out->total = (long long)out->count;
        if (rc != BP_OK)
            bp_image_list_free(out);
        return rc;
    }
    /* One read transaction, so that the count and the page agree. */
    enum bp_rc rc = bp_sqlite_exec(db, "BEGIN", err);
    if (rc != BP_OK)
        return rc;
    rc = count_images(db, query, &out->total, err);
    if (rc == BP_OK)
        rc = page_images(db, query, out, err);
    if (rc == BP_OK)
        rc = bp_sqlite_exec(db, "COMMIT", err);
    if (rc != BP_OK) {
        bp_sqlite_rollback(db);
        bp_image_list_free(out);
    }
    return rc;
}

enum bp_rc bp_sqlite_image_update(struct bp_store *store, const char *id,
                                  const struct bp_image_patch *patch,
                                  int64_t now, struct bp_image *out,
                                  struct bp_error *err)
{
    sqlite3 *db = bp_sqlite_from_base(store)->db;
    sqlite3_stmt *stmt;
    int code = sqlite3_prepare_v2(
        db,
        "UPDATE images SET"
        " description = CASE WHEN ?1 THEN ?2 ELSE description END,"
        " group_id = CASE WHEN ?3 THEN ?4 ELSE group_id END,"
        " filename = CASE WHEN ?12 THEN ?13 ELSE filename END,"
        " upload_filename = CASE WHEN ?7 THEN ?8 ELSE upload_filename END,"
        " upload_expires_at = CASE WHEN ?7 THEN ?9 ELSE upload_expires_at END,"
        " updated_at = ?5"
        " WHERE id = ?6 AND (NOT ?10 OR upload_expires_at = ?11)"
        " RETURNING " IMAGE_COLUMNS,
        -1, &stmt, NULL);
    if (code != SQLITE_OK)
        return bp_sqlite_fail(db, code, "update image", err);
    sqlite3_bind_int(stmt, 1, patch->set_description);
    bp_sqlite_bind_text(stmt, 2, patch->description, 0);
    sqlite3_bind_int(stmt, 3, patch->set_group);
    bp_sqlite_bind_text(stmt, 4, patch->group, 1);
    sqlite3_bind_int64(stmt, 5, now);
    bp_sqlite_bind_text(stmt, 6, id, 0);
    sqlite3_bind_int(stmt, 7, patch->set_upload);
    /* A NULL file name stops awaiting, whatever the expiry says. */
    bind_upload(stmt, 8, patch->upload_filename,
                patch->upload_filename != NULL ? patch->upload_expires_at : 0);
    sqlite3_bind_int(stmt, 10, patch->if_upload);
    sqlite3_bind_int64(stmt, 11, patch->if_upload_expires_at);
    sqlite3_bind_int(stmt, 12, patch->set_filename && patch->filename != NULL);
    bp_sqlite_bind_text(stmt, 13, patch->filename, 0);
    enum bp_rc rc;
    if (patch->if_upload) {
        struct condition cond = {
            .id = id,
            .upload_expires_at = patch->if_upload_expires_at,
            .group = patch->set_group ? patch->group : NULL,
        };
        rc = step_conditional(db, stmt, &cond, "update image", out, err);
    } else {
        rc = step_one_image(db, stmt, "update image", out, err);
    }
    sqlite3_finalize(stmt);
    return rc;
}

enum bp_rc bp_sqlite_image_replace_file(struct bp_store *store,
                                        const struct bp_image *file,
                                        int64_t now, struct bp_image *out,
                                        struct bp_error *err)
{
    sqlite3 *db = bp_sqlite_from_base(store)->db;
    sqlite3_stmt *stmt;
    int code = sqlite3_prepare_v2(
        db,
        "UPDATE images SET filename = ?1, content_type = ?2, size = ?3,"
        " sha256 = ?4, width = ?5, height = ?6, taken_at = ?7,"
        " taken_at_ms = ?8, data = ?9, latitude = ?10, longitude = ?11,"
        " upload_filename = NULL, upload_expires_at = 0,"
        " updated_at = ?12 WHERE id = ?13"
        " AND (?14 = 0 OR upload_expires_at = ?14) RETURNING " IMAGE_COLUMNS,
        -1, &stmt, NULL);
    if (code != SQLITE_OK)
        return bp_sqlite_fail(db, code, "replace image file", err);
    bind_file_fields(stmt, 1, file);
    sqlite3_bind_int64(stmt, 12, now);
    bp_sqlite_bind_text(stmt, 13, file->id, 0);
    sqlite3_bind_int64(stmt, 14, file->upload_expires_at);
    enum bp_rc rc;
    if (file->upload_expires_at != 0) {
        struct condition cond = {.id = file->id,
                                 .upload_expires_at = file->upload_expires_at};
        rc = step_conditional(db, stmt, &cond, "replace image file", out, err);
    } else {
        rc = step_one_image(db, stmt, "replace image file", out, err);
    }
    sqlite3_finalize(stmt);
    return rc;
}

enum bp_rc bp_sqlite_image_delete_awaiting(struct bp_store *store,
                                           const char *id,
                                           int64_t upload_expires_at,
                                           struct bp_image *out,
                                           struct bp_error *err)
{
    sqlite3 *db = bp_sqlite_from_base(store)->db;
    sqlite3_stmt *stmt;
    /* "?2 != 0": an expiry of 0 names no awaited upload, so no image. */
    int code = sqlite3_prepare_v2(
        db,
        "DELETE FROM images WHERE id = ?1 AND sha256 = ''"
        " AND ?2 != 0 AND upload_expires_at = ?2 RETURNING " IMAGE_COLUMNS,
        -1, &stmt, NULL);
    if (code != SQLITE_OK)
        return bp_sqlite_fail(db, code, "delete awaiting image", err);
    bp_sqlite_bind_text(stmt, 1, id, 0);
    sqlite3_bind_int64(stmt, 2, upload_expires_at);
    struct condition cond = {
        .id = id, .upload_expires_at = upload_expires_at, .no_file = true};
    enum bp_rc rc =
        step_conditional(db, stmt, &cond, "delete awaiting image", out, err);
    sqlite3_finalize(stmt);
    return rc;
}

enum bp_rc bp_sqlite_image_delete(struct bp_store *store, const char *id,
                                  struct bp_image *out, struct bp_error *err)
{
    sqlite3 *db = bp_sqlite_from_base(store)->db;
    sqlite3_stmt *stmt;
    int code = sqlite3_prepare_v2(
        db, "DELETE FROM images WHERE id = ? RETURNING " IMAGE_COLUMNS, -1,
        &stmt, NULL);
    if (code != SQLITE_OK)
        return bp_sqlite_fail(db, code, "delete image", err);
    bp_sqlite_bind_text(stmt, 1, id, 0);
    enum bp_rc rc = step_one_image(db, stmt, "delete image", out, err);
    sqlite3_finalize(stmt);
    return rc;
}

enum bp_rc bp_sqlite_images_delete_of_group(sqlite3 *db, const char *group_id,
                                            struct bp_image_list *out,
                                            struct bp_error *err)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *stmt;
    int code = sqlite3_prepare_v2(
        db, "DELETE FROM images WHERE group_id = ? RETURNING " IMAGE_COLUMNS,
        -1, &stmt, NULL);
    if (code != SQLITE_OK)
        return bp_sqlite_fail(db, code, "delete group images", err);
    bp_sqlite_bind_text(stmt, 1, group_id, 0);
    enum bp_rc rc = collect_rows(db, stmt, "delete group images", out, err);
    sqlite3_finalize(stmt);
    out->total = (long long)out->count;
    if (rc != BP_OK)
        bp_image_list_free(out);
    return rc;
}
