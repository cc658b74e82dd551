/*
 * store.h: the metadata store interface. A backend (SQLite now, MongoDB
 * later) is a static const table of operations behind an opaque handle;
 * handlers call only the bp_store_* functions below and never learn
 * which backend runs. One handle belongs to one worker process.
 */
#ifndef BP_STORE_H
#define BP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "model/api_key.h"
#include "model/group.h"
#include "model/image.h"
#include "rc.h"

struct bp_store;

/* What a group listing asks for. */
struct bp_group_query {
    const char *event; /* only groups of this event; NULL for all */
    long limit;
    long offset;
};

/* One page of groups, newest first, and how many match in all. */
struct bp_group_list {
    struct bp_group *items; /* owned; count entries */
    size_t count;
    long long total;
    size_t cap; /* entries allocated (bp_group_list_add) */
};

/* What an image listing asks for; every filter is optional. */
struct bp_image_query {
    const char *group;    /* only this group's images; NULL for all */
    const char *filename; /* only images of this file name; NULL: any */
    bool has_taken_after, has_taken_before;
    int64_t taken_after_ms, taken_before_ms; /* inclusive bounds */
    bool has_bbox; /* min_lon > max_lon crosses the antimeridian */
    double min_lon, min_lat, max_lon, max_lat;
    bool has_near; /* within radius_m metres of near_lat, near_lon */
    double near_lat, near_lon, radius_m;
    bool has_upload_expired_before; /* awaited upload expired before: */
    int64_t upload_expired_before_ms;
    /* With has_bbox or has_near: images of groups whose location is
     * hidden match only when viewer (a principal id, "" for anonymous)
     * owns the image or the group. Set for every viewer but admins. */
    bool hide_hidden_locations;
    const char *viewer;
    long limit; /* 0: no limit */
    long offset;
};

/* API keys, oldest first. */
struct bp_api_key_list {
    struct bp_api_key *items; /* owned; count entries */
    size_t count;
    size_t cap; /* entries allocated (bp_api_key_list_add) */
};

struct bp_store_ops {
    const char *name;
    enum bp_rc (*ping)(struct bp_store *store, struct bp_error *err);
    enum bp_rc (*group_insert)(struct bp_store *store,
                               const struct bp_group *group,
                               struct bp_error *err);
    enum bp_rc (*group_get)(struct bp_store *store, const char *id,
                            struct bp_group *out, struct bp_error *err);
    enum bp_rc (*group_list)(struct bp_store *store,
                             const struct bp_group_query *query,
                             struct bp_group_list *out, struct bp_error *err);
    enum bp_rc (*group_update)(struct bp_store *store, const char *id,
                               const struct bp_group_patch *patch, int64_t now,
                               struct bp_group *out, struct bp_error *err);
    enum bp_rc (*group_delete)(struct bp_store *store, const char *id,
                               struct bp_group *out,
                               struct bp_image_list *removed,
                               struct bp_error *err);
    enum bp_rc (*images_insert)(struct bp_store *store,
                                const struct bp_group *new_group,
                                const struct bp_image *images, size_t n,
                                struct bp_error *err);
    enum bp_rc (*image_get)(struct bp_store *store, const char *id,
                            struct bp_image *out, struct bp_error *err);
    enum bp_rc (*image_list)(struct bp_store *store,
                             const struct bp_image_query *query,
                             struct bp_image_list *out, struct bp_error *err);
    enum bp_rc (*image_update)(struct bp_store *store, const char *id,
                               const struct bp_image_patch *patch, int64_t now,
                               struct bp_image *out, struct bp_error *err);
    enum bp_rc (*image_replace_file)(struct bp_store *store,
                                     const struct bp_image *file, int64_t now,
                                     struct bp_image *out,
                                     struct bp_error *err);
    enum bp_rc (*image_delete_awaiting)(struct bp_store *store, const char *id,
                                        int64_t upload_expires_at,
                                        struct bp_image *out,
                                        struct bp_error *err);
    enum bp_rc (*image_delete)(struct bp_store *store, const char *id,
                               struct bp_image *out, struct bp_error *err);
    enum bp_rc (*groups_detach_event)(struct bp_store *store, const char *event,
                                      const char *owner, int64_t now,
                                      long long *count, struct bp_error *err);
    enum bp_rc (*key_insert)(struct bp_store *store,
                             const struct bp_api_key *key,
                             struct bp_error *err);
    enum bp_rc (*key_get)(struct bp_store *store, const char *id,
                          struct bp_api_key *out, struct bp_error *err);
    enum bp_rc (*key_list)(struct bp_store *store, struct bp_api_key_list *out,
                           struct bp_error *err);
    enum bp_rc (*key_revoke)(struct bp_store *store, const char *id,
                             int64_t now, struct bp_api_key *out,
                             struct bp_error *err);
    void (*close)(struct bp_store *store);
};

/* Every backend's handle starts with this. */
struct bp_store {
    const struct bp_store_ops *ops;
    /* When every call must have ended (epoch ms; 0: no such bound): an
     * AWS Lambda invocation's deadline, set by bp_store_set_deadline. */
    int64_t deadline_ms;
};

/*
 * Bounds every later call of store by deadline_ms (epoch ms; 0: none).
 * The MongoDB backend cuts each read, write and connect of its
 * connections to it (mongo_deadline_stream.h) and sends nothing once it
 * has passed (BP_EUNAVAILABLE); SQLite's calls are local and ignore it.
 */
void bp_store_set_deadline(struct bp_store *store, int64_t deadline_ms);

/* Returns true when url (a database_url) names the MongoDB backend. */
bool bp_store_url_is_mongodb(const char *url);

/*
 * Opens the backend that cfg->database_url names and brings its schema
 * up to date. On BP_OK *out is the caller's, to close with
 * bp_store_close. BP_EUNAVAILABLE when the database cannot be reached,
 * BP_EINVAL for a URL no backend takes.
 */
enum bp_rc bp_store_open(const struct bp_config *cfg, struct bp_store **out,
                         struct bp_error *err);

/* bp_store_open with every call (the schema's included) bounded by
 * deadline_ms, as bp_store_set_deadline bounds them later. */
enum bp_rc bp_store_open_by(const struct bp_config *cfg, int64_t deadline_ms,
                            struct bp_store **out, struct bp_error *err);

/*
 * Opens and closes the store of cfg once, so that a configuration is
 * proven before workers use it. Returns BP_OK, BP_EUNAVAILABLE when the
 * database cannot be reached now (workers will retry), or the error that
 * makes the configuration unusable (BP_EINVAL for an unknown URL).
 */
enum bp_rc bp_store_check(const struct bp_config *cfg, struct bp_error *err);

/* Closes and frees store; store may be NULL. */
void bp_store_close(struct bp_store *store);

/* Returns the backend's name ("sqlite", ...). */
const char *bp_store_name(const struct bp_store *store);

/* Checks that the database answers. BP_EUNAVAILABLE when it does not. */
enum bp_rc bp_store_ping(struct bp_store *store, struct bp_error *err);

/* Inserts a new group. BP_ECONFLICT when its id exists. */
enum bp_rc bp_store_group_insert(struct bp_store *store,
                                 const struct bp_group *group,
                                 struct bp_error *err);

/*
 * Reads the group with id into *out, which the caller clears with
 * bp_group_clear on BP_OK. BP_ENOTFOUND when there is none.
 */
enum bp_rc bp_store_group_get(struct bp_store *store, const char *id,
                              struct bp_group *out, struct bp_error *err);

/*
 * Lists groups newest first (created_at, then id, descending). On BP_OK
 * the caller frees *out with bp_group_list_free.
 */
enum bp_rc bp_store_group_list(struct bp_store *store,
                               const struct bp_group_query *query,
                               struct bp_group_list *out, struct bp_error *err);

/*
 * Appends a zeroed group to list and returns it for a backend to fill;
 * it is counted at once, so bp_group_list_free releases whatever was
 * filled. NULL when out of memory (list unchanged).
 */
struct bp_group *bp_group_list_add(struct bp_group_list *list);

/* Frees the groups of list and empties it; list may be NULL. */
void bp_group_list_free(struct bp_group_list *list);

/*
 * Applies patch to the group with id, sets its updated_at to now, and
 * reads the result into *out (cleared by the caller on BP_OK), in one
 * atomic step. BP_ENOTFOUND when there is no such group.
 */
enum bp_rc bp_store_group_update(struct bp_store *store, const char *id,
                                 const struct bp_group_patch *patch,
                                 int64_t now, struct bp_group *out,
                                 struct bp_error *err);

/*
 * Deletes the group with id and its images in one atomic step, and
 * returns what the group was in *out and its images in *removed (the
 * caller clears both on BP_OK, and then deletes the images' files),
 * pending ones included.
 * BP_ENOTFOUND when there is no such group.
 */
enum bp_rc bp_store_group_delete(struct bp_store *store, const char *id,
                                 struct bp_group *out,
                                 struct bp_image_list *removed,
                                 struct bp_error *err);

/*
 * Inserts images, and first new_group when it is not NULL, in one atomic
 * step: either all are stored or none. An image's group must exist (or
 * be new_group): BP_ENOTFOUND otherwise. BP_ECONFLICT for a taken id.
 * An image awaits an upload when its upload_expires_at is not 0; when it
 * is 0 its upload_filename is not stored (it reads back NULL). A pending
 * image without a file may leave content_type and data_json NULL: they
 * read back "" and "{}".
 */
enum bp_rc bp_store_images_insert(struct bp_store *store,
                                  const struct bp_group *new_group,
                                  const struct bp_image *images, size_t n,
                                  struct bp_error *err);

/*
 * Reads the image with id into *out (cleared by the caller on BP_OK).
 * BP_ENOTFOUND "Image with that ID not found" when there is none.
 */
enum bp_rc bp_store_image_get(struct bp_store *store, const char *id,
                              struct bp_image *out, struct bp_error *err);

/*
 * Lists the images query selects, oldest capture first (images without a
 * capture time last, then by creation), with the total. The filter
 * has_upload_expired_before selects the images whose awaited upload
 * expires strictly before upload_expired_before_ms (images awaiting none
 * never match). Place filters skip hidden locations as the query says. The
 * caller frees *out with bp_image_list_free on BP_OK.
 */
enum bp_rc bp_store_image_list(struct bp_store *store,
                               const struct bp_image_query *query,
                               struct bp_image_list *out, struct bp_error *err);

/*
 * Applies patch to the image with id and sets updated_at to now,
 * atomically, returning the result in *out (cleared by the caller on
 * BP_OK); set_filename renames it (the caller keeps names unique). With
 * set_upload the image awaits upload_filename until upload_expires_at, or, when
 * upload_filename is NULL (or the expiry 0), awaits nothing (NULL and 0); its
 * file fields stay. With if_upload the update applies only while the image's
 * upload_expires_at equals if_upload_expires_at, else BP_ECONFLICT.
 * BP_ENOTFOUND when the image, or the group it moves to, does not exist;
 * nothing changes then.
 */
enum bp_rc bp_store_image_update(struct bp_store *store, const char *id,
                                 const struct bp_image_patch *patch,
                                 int64_t now, struct bp_image *out,
                                 struct bp_error *err);

/*
 * Replaces the file-derived fields (filename, content type, size,
 * sha256, dimensions, capture time, data, position) of the image
 * file->id with those of file, sets updated_at to now and returns the
 * result in *out (cleared by the caller on BP_OK). It also ends any
 * awaited upload (upload_filename NULL, upload_expires_at 0; the image
 * is "ready"): this is how a presigned upload completes, the filename
 * becoming file->filename. When file->upload_expires_at is not 0 the
 * replace is conditional: it happens only while the image awaits
 * exactly that upload (its upload_expires_at equals it), else
 * BP_ECONFLICT and nothing changes; 0 replaces unconditionally.
 * Description and group stay. BP_ENOTFOUND when there is no such image.
 */
enum bp_rc bp_store_image_replace_file(struct bp_store *store,
                                       const struct bp_image *file, int64_t now,
                                       struct bp_image *out,
                                       struct bp_error *err);

/*
 * Deletes the image with id only if it never had a file and still awaits
 * the upload that expires at upload_expires_at (an expired upload is
 * dropped this way without racing a completion), returning what it was
 * in *out (cleared by the caller on BP_OK). BP_ECONFLICT when the image
 * has a file or awaits another upload or none, BP_ENOTFOUND when there
 * is no such image.
 */
enum bp_rc bp_store_image_delete_awaiting(struct bp_store *store,
                                          const char *id,
                                          int64_t upload_expires_at,
                                          struct bp_image *out,
                                          struct bp_error *err);

/*
 * Deletes the image with id and returns what it was in *out (cleared by
 * the caller on BP_OK), awaited upload included: a pending image may
 * have no file to delete (see bp_image_has_file). BP_ENOTFOUND when
 * there is none.
 */
enum bp_rc bp_store_image_delete(struct bp_store *store, const char *id,
                                 struct bp_image *out, struct bp_error *err);

/*
 * Sets event to null on every group of event (only those owner owns,
 * when owner is not NULL), with updated_at now, and stores how many
 * changed in *count. An event that no group names changes nothing.
 */
enum bp_rc bp_store_groups_detach_event(struct bp_store *store,
                                        const char *event, const char *owner,
                                        int64_t now, long long *count,
                                        struct bp_error *err);

/* Stores a new API key record. BP_ECONFLICT when its id exists. */
enum bp_rc bp_store_key_insert(struct bp_store *store,
                               const struct bp_api_key *key,
                               struct bp_error *err);

/* Reads the API key with id into *out. BP_ENOTFOUND when there is none. */
enum bp_rc bp_store_key_get(struct bp_store *store, const char *id,
                            struct bp_api_key *out, struct bp_error *err);

/*
 * Lists every API key, oldest first, revoked ones included. On BP_OK
 * the caller frees *out with bp_api_key_list_free.
 */
enum bp_rc bp_store_key_list(struct bp_store *store,
                             struct bp_api_key_list *out, struct bp_error *err);

/*
 * Appends a zeroed key to list and returns it for a backend to fill; it
 * is counted at once. NULL when out of memory (list unchanged).
 */
struct bp_api_key *bp_api_key_list_add(struct bp_api_key_list *list);

/* Frees the keys of list and empties it; list may be NULL. */
void bp_api_key_list_free(struct bp_api_key_list *list);

/*
 * Revokes the API key with id at now (a key revoked before keeps its
 * first revocation time) and returns the record in *out. BP_ENOTFOUND
 * when there is no such key.
 */
enum bp_rc bp_store_key_revoke(struct bp_store *store, const char *id,
                               int64_t now, struct bp_api_key *out,
                               struct bp_error *err);

/* The SQLite backend's constructor, for bp_store_open. */
enum bp_rc bp_store_sqlite_open(const char *path, const struct bp_config *cfg,
                                struct bp_store **out, struct bp_error *err);

#endif
