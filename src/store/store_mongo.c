/*
 * store_mongo.c: the MongoDB backend of the store interface, through
 * mongo-c-driver. One mongoc_client_t per handle, so one per worker
 * process (made after fork); collections image_groups and images with
 * the documents mongo_docs.c builds. Results, order and paging are the
 * SQLite backend's.
 *
 * Multi-document steps use no transaction (they need a replica set and
 * standalone servers are supported): images_insert undoes what it wrote
 * when a later write fails, and group_delete orders its writes so that
 * a retry finishes an interrupted delete (see mongo_group_delete).
 *
 * The conditional image writes (an update or file replace that requires
 * an awaited upload, the delete of an image still awaiting its first
 * file) put the condition in the findAndModify query; when it matches
 * nothing, a read of the image tells a missing one from a conflict.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mongoc/mongoc.h>

#include "log.h"
#include "store/mongo_deadline_stream.h"
#include "store/mongo_docs.h"
#include "store/store.h"
#include "store/store_mongo.h"

#define DEFAULT_DATABASE "bandpics"

/* How far past the deadline undoing a cut insert may go: less than the
 * 300 ms the Lambda runtime keeps from each deadline to post an answer
 * (server/lambda.c). */
#define UNDO_GRACE_MS 200

struct store_mongo {
    struct bp_store base;
    mongoc_uri_t *uri; /* owned: what the client is made from */
    mongoc_client_t *client;
    char *database;
    mongoc_collection_t *groups;
    mongoc_collection_t *images;
    mongoc_collection_t *keys;
    struct bp_mongo_deadline_source deadline_source;
};

static struct store_mongo *from_base(struct bp_store *store)
{
    return (struct store_mongo *)store;
}

/* Server error codes that mean "try another server, or later". */
static const uint32_t unavailable_codes[] = {
    6,     /* HostUnreachable */
    7,     /* HostNotFound */
    89,    /* NetworkTimeout */
    91,    /* ShutdownInProgress */
    189,   /* PrimarySteppedDown */
    262,   /* ExceededTimeLimit */
    9001,  /* SocketException */
    10058, /* LegacyNotPrimary */
    10107, /* NotWritablePrimary */
    11600, /* InterruptedAtShutdown */
    11602, /* InterruptedDueToReplStateChange */
    13435, /* NotPrimaryNoSecondaryOk */
    13436, /* NotPrimaryOrSecondary */
};

/* Returns true when a server error code means the server is unavailable. */
static bool is_unavailable_code(uint32_t code)
{
    for (size_t i = 0;
         i < sizeof(unavailable_codes) / sizeof(unavailable_codes[0]); i++)
        if (unavailable_codes[i] == code)
            return true;
    return false;
}

/*
 * Maps a driver error to our error codes. No server selected, network
 * errors, not-primary and shutdown errors, write concern failures and
 * authentication failures are BP_EUNAVAILABLE; a duplicate key (11000)
 * is BP_ECONFLICT; anything else BP_EINTERNAL. The driver's message
 * (which names hosts, never credentials) goes to the log; clients get
 * generic text that names the store only.
 */
static enum bp_rc mongo_fail(const bson_error_t *error, const char *what,
                             struct bp_error *err)
{
    bp_log_error("mongodb %s: %s (domain %u, code %u)", what, error->message,
                 error->domain, error->code);
    bool server = error->domain == MONGOC_ERROR_SERVER ||
                  error->domain == MONGOC_ERROR_QUERY ||
                  error->domain == MONGOC_ERROR_COLLECTION ||
                  error->domain == MONGOC_ERROR_COMMAND;
    if (server && error->code == 11000)
        return bp_error_set(err, BP_ECONFLICT, "%s: the id exists", what);
    if (error->domain == MONGOC_ERROR_SERVER_SELECTION ||
        error->domain == MONGOC_ERROR_STREAM ||
        error->domain == MONGOC_ERROR_PROTOCOL ||
        error->domain == MONGOC_ERROR_WRITE_CONCERN ||
        (error->domain == MONGOC_ERROR_CLIENT &&
         (error->code == MONGOC_ERROR_CLIENT_AUTHENTICATE ||
          /* a connection's handshake that failed or timed out */
          error->code == MONGOC_ERROR_STREAM_NAME_RESOLUTION ||
          error->code == MONGOC_ERROR_STREAM_SOCKET ||
          error->code == MONGOC_ERROR_STREAM_CONNECT ||
          error->code == MONGOC_ERROR_STREAM_NOT_ESTABLISHED)) ||
        (server && is_unavailable_code(error->code)))
        return bp_error_set(err, BP_EUNAVAILABLE,
                            "database unavailable: mongodb %s failed", what);
    return bp_error_set(err, BP_EINTERNAL, "mongodb %s failed", what);
}

/* The error of a builder in mongo_docs.c: a bad id or out of memory. */
static enum bp_rc build_fail(enum bp_rc rc, const char *what,
                             struct bp_error *err)
{
    if (rc == BP_ENOMEM)
        return rc;
    return bp_error_set(err, rc, "%s: invalid document", what);
}

static enum bp_rc group_not_found(struct bp_error *err)
{
    return bp_error_set(err, BP_ENOTFOUND, "Group with that ID not found");
}

static enum bp_rc image_not_found(struct bp_error *err)
{
    return bp_error_set(err, BP_ENOTFOUND, "Image with that ID not found");
}

/*
 * Makes s->client (and its collections) from s->uri, its connections
 * keeping to s->base.deadline_ms; false with error set when the URI
 * cannot make one. Nothing connects before the first command.
 */
static bool connect_client(struct store_mongo *s, bson_error_t *error)
{
    s->client = mongoc_client_new_from_uri_with_error(s->uri, error);
    if (s->client == NULL)
        return false;
    mongoc_client_set_error_api(s->client, MONGOC_ERROR_API_VERSION_2);
    bp_mongo_deadline_streams(&s->deadline_source, s->client,
                              &s->base.deadline_ms);
    s->groups =
        mongoc_client_get_collection(s->client, s->database, BP_MONGO_GROUPS);
    s->images =
        mongoc_client_get_collection(s->client, s->database, BP_MONGO_IMAGES);
    s->keys =
        mongoc_client_get_collection(s->client, s->database, BP_MONGO_KEYS);
    return true;
}

/* Frees what connect_client made (any of it may be NULL). */
static void disconnect_client(struct store_mongo *s)
{
    mongoc_collection_destroy(s->keys);
    mongoc_collection_destroy(s->images);
    mongoc_collection_destroy(s->groups);
    mongoc_client_destroy(s->client);
    s->keys = s->images = s->groups = NULL;
    s->client = NULL;
}

/*
 * Sends nothing once the deadline set with bp_store_set_deadline (an
 * AWS Lambda invocation's) has passed: BP_EUNAVAILABLE. A command sent
 * before it waits for its answer until the deadline at most (each
 * connection keeps to it: mongo_deadline_stream.h).
 */
static enum bp_rc fit_deadline(struct store_mongo *s, const char *what,
                               struct bp_error *err)
{
    if (s->base.deadline_ms > 0) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        if ((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 >=
            s->base.deadline_ms)
            return bp_error_set(err, BP_EUNAVAILABLE,
                                "mongodb %s: no time was left before the "
                                "invocation's deadline",
                                what);
    }
    if (s->deadline_source.refused) {
        /* A connection cut short by a deadline puts the server in the
         * driver's 5 s cooldown (single-threaded clients): the commands
         * after it start on a new client. */
        bson_error_t error;
        disconnect_client(s);
        if (!connect_client(s, &error)) {
            disconnect_client(s);
            return mongo_fail(&error, what, err); /* tried again next */
        }
        s->deadline_source.refused = false;
    }
    return BP_OK;
}

/*
 * Finds the first document filter selects in *coll into *doc (the
 * caller's, freed with bson_destroy, when *found is true). coll points
 * at one of s's collections, which fit_deadline may make anew: these
 * helpers read it after that.
 */
static enum bp_rc find_one(struct store_mongo *s,
                           mongoc_collection_t *const *coll,
                           const bson_t *filter, const char *what, bson_t *doc,
                           bool *found, struct bp_error *err)
{
    *found = false;
    enum bp_rc fit = fit_deadline(s, what, err);
    if (fit != BP_OK)
        return fit;
    bson_t opts = BSON_INITIALIZER;
    BSON_APPEND_INT64(&opts, "limit", 1);
    mongoc_cursor_t *cursor =
        mongoc_collection_find_with_opts(*coll, filter, &opts, NULL);
    const bson_t *next;
    *found = mongoc_cursor_next(cursor, &next);
    if (*found)
        bson_copy_to(next, doc);
    bson_error_t error;
    enum bp_rc rc = BP_OK;
    if (!*found && mongoc_cursor_error(cursor, &error))
        rc = mongo_fail(&error, what, err);
    mongoc_cursor_destroy(cursor);
    bson_destroy(&opts);
    return rc;
}

/*
 * Runs findAndModify on the first document filter selects: the update
 * (returning the new document) or, with update NULL, the removal
 * (returning the old one). *doc is the caller's (freed with
 * bson_destroy) when *found.
 */
static enum bp_rc find_and_modify_where(struct store_mongo *s,
                                        mongoc_collection_t *const *coll,
                                        const bson_t *filter,
                                        const bson_t *update, const char *what,
                                        bson_t *doc, bool *found,
                                        struct bp_error *err)
{
    *found = false;
    enum bp_rc fit = fit_deadline(s, what, err);
    if (fit != BP_OK)
        return fit;
    mongoc_find_and_modify_opts_t *opts = mongoc_find_and_modify_opts_new();
    if (update != NULL) {
        mongoc_find_and_modify_opts_set_update(opts, update);
        mongoc_find_and_modify_opts_set_flags(
            opts, MONGOC_FIND_AND_MODIFY_RETURN_NEW);
    } else {
        mongoc_find_and_modify_opts_set_flags(opts,
                                              MONGOC_FIND_AND_MODIFY_REMOVE);
    }
    bson_t reply;
    bson_error_t error;
    enum bp_rc rc = BP_OK;
    if (!mongoc_collection_find_and_modify_with_opts(*coll, filter, opts,
                                                     &reply, &error)) {
        rc = mongo_fail(&error, what, err);
        goto out_free_reply;
    }
    bson_iter_t iter;
    if (bson_iter_init_find(&iter, &reply, "value") &&
        BSON_ITER_HOLDS_DOCUMENT(&iter)) {
        uint32_t len;
        const uint8_t *data;
        bson_iter_document(&iter, &len, &data);
        bson_t value;
        if (!bson_init_static(&value, data, len)) {
            rc = bp_error_set(err, BP_EINTERNAL, "mongodb %s: bad reply", what);
            goto out_free_reply;
        }
        /* Copied out of the reply, which is freed below. */
        bson_copy_to(&value, doc);
        *found = true;
    }
out_free_reply:
    bson_destroy(&reply);
    mongoc_find_and_modify_opts_destroy(opts);
    return rc;
}

/* find_and_modify_where on the document with _id id. */
static enum bp_rc find_and_modify(struct store_mongo *s,
                                  mongoc_collection_t *const *coll,
                                  const char *id, const bson_t *update,
                                  const char *what, bson_t *doc, bool *found,
                                  struct bp_error *err)
{
    *found = false;
    bson_t filter;
    enum bp_rc rc = bp_mongo_id_filter(id, &filter);
    if (rc == BP_OK)
        rc = find_and_modify_where(s, coll, &filter, update, what, doc, found,
                                   err);
    else if (rc == BP_EINVAL)
        rc = BP_OK; /* a malformed id names nothing */
    bson_destroy(&filter);
    return rc;
}

/* Counts the documents of *coll that filter selects into *total. */
static enum bp_rc count(struct store_mongo *s, mongoc_collection_t *const *coll,
                        const bson_t *filter, const char *what,
                        long long *total, struct bp_error *err)
{
    enum bp_rc fit = fit_deadline(s, what, err);
    if (fit != BP_OK)
        return fit;
    bson_error_t error;
    int64_t n = mongoc_collection_count_documents(*coll, filter, NULL, NULL,
                                                  NULL, &error);
    if (n < 0)
        return mongo_fail(&error, what, err);
    *total = (long long)n;
    return BP_OK;
}

/* Reads every image document of cursor, appending them to out. */
static enum bp_rc collect_images(mongoc_cursor_t *cursor, const char *what,
                                 struct bp_image_list *out,
                                 struct bp_error *err)
{
    const bson_t *doc;
    while (mongoc_cursor_next(cursor, &doc)) {
        struct bp_image *image = bp_image_list_add(out);
        if (image == NULL)
            return BP_ENOMEM;
        enum bp_rc rc = bp_mongo_image_from_doc(doc, image);
        if (rc != BP_OK)
            return rc == BP_ENOMEM ? rc : build_fail(rc, what, err);
    }
    bson_error_t error;
    if (mongoc_cursor_error(cursor, &error))
        return mongo_fail(&error, what, err);
    return BP_OK;
}

/* Finds the images filter selects, in image order, appending to out. */
static enum bp_rc find_images(struct store_mongo *s, const bson_t *filter,
                              const bson_t *opts, const char *what,
                              struct bp_image_list *out, struct bp_error *err)
{
    enum bp_rc fit = fit_deadline(s, what, err);
    if (fit != BP_OK)
        return fit;
    mongoc_cursor_t *cursor =
        mongoc_collection_find_with_opts(s->images, filter, opts, NULL);
    enum bp_rc rc = collect_images(cursor, what, out, err);
    mongoc_cursor_destroy(cursor);
    return rc;
}

static enum bp_rc mongo_ping(struct bp_store *store, struct bp_error *err)
{
    struct store_mongo *s = from_base(store);
    enum bp_rc fit = fit_deadline(s, "ping", err);
    if (fit != BP_OK)
        return fit;
    bson_t cmd = BSON_INITIALIZER;
    BSON_APPEND_INT32(&cmd, "ping", 1);
    bson_t reply;
    bson_error_t error;
    bool ok = mongoc_client_command_simple(s->client, "admin", &cmd, NULL,
                                           &reply, &error);
    bson_destroy(&reply);
    bson_destroy(&cmd);
    return ok ? BP_OK : mongo_fail(&error, "ping", err);
}

static enum bp_rc mongo_group_insert(struct bp_store *store,
                                     const struct bp_group *group,
                                     struct bp_error *err)
{
    struct store_mongo *s = from_base(store);
    bson_t doc;
    enum bp_rc rc = bp_mongo_group_doc(group, &doc);
    if (rc != BP_OK) {
        rc = build_fail(rc, "insert group", err);
        goto out_free_doc;
    }
    rc = fit_deadline(s, "insert group", err);
    if (rc != BP_OK)
        goto out_free_doc;
    bson_error_t error;
    if (!mongoc_collection_insert_one(s->groups, &doc, NULL, NULL, &error))
        rc = mongo_fail(&error, "insert group", err);
out_free_doc:
    bson_destroy(&doc);
    return rc;
}

static enum bp_rc mongo_group_get(struct bp_store *store, const char *id,
                                  struct bp_group *out, struct bp_error *err)
{
    struct store_mongo *s = from_base(store);
    bson_t filter;
    enum bp_rc rc = bp_mongo_id_filter(id, &filter);
    if (rc != BP_OK) {
        bson_destroy(&filter);
        return rc == BP_EINVAL ? group_not_found(err) : rc;
    }
    bson_t doc;
    bool found;
    rc = find_one(s, &s->groups, &filter, "get group", &doc, &found, err);
    bson_destroy(&filter);
    if (rc != BP_OK)
        return rc;
    if (!found)
        return group_not_found(err);
    rc = bp_mongo_group_from_doc(&doc, out);
    bson_destroy(&doc);
    return rc == BP_OK ? BP_OK : build_fail(rc, "get group", err);
}

/* Reads every group document of cursor into out. */
static enum bp_rc collect_groups(mongoc_cursor_t *cursor,
                                 struct bp_group_list *out,
                                 struct bp_error *err)
{
    const bson_t *doc;
    while (mongoc_cursor_next(cursor, &doc)) {
        struct bp_group *group = bp_group_list_add(out);
        if (group == NULL)
            return BP_ENOMEM;
        enum bp_rc rc = bp_mongo_group_from_doc(doc, group);
        if (rc != BP_OK)
            return build_fail(rc, "list groups", err);
    }
    bson_error_t error;
    if (mongoc_cursor_error(cursor, &error))
        return mongo_fail(&error, "list groups", err);
    return BP_OK;
}

/*
 * Lists a page of groups and the total. The count and the page are two
 * reads (no snapshot), so a concurrent write may fall between them.
 */
static enum bp_rc mongo_group_list(struct bp_store *store,
                                   const struct bp_group_query *query,
                                   struct bp_group_list *out,
                                   struct bp_error *err)
{
    struct store_mongo *s = from_base(store);
    memset(out, 0, sizeof(*out));
    bson_t filter, opts;
    enum bp_rc rc = bp_mongo_group_filter(query, &filter);
    if (rc == BP_EINVAL) {
        bson_destroy(&filter);
        return BP_OK; /* an event that is no id has no groups */
    }
    enum bp_rc opts_rc = bp_mongo_group_find_opts(query, &opts);
    if (rc == BP_OK)
        rc = opts_rc;
    if (rc == BP_OK)
        rc = count(s, &s->groups, &filter, "count groups", &out->total, err);
    /* LIMIT 0 is an empty page in SQLite, but "no limit" to MongoDB. */
    if (rc == BP_OK && query->limit != 0 && out->total > query->offset)
        rc = fit_deadline(s, "list groups", err);
    if (rc == BP_OK && query->limit != 0 && out->total > query->offset) {
        mongoc_cursor_t *cursor =
            mongoc_collection_find_with_opts(s->groups, &filter, &opts, NULL);
        rc = collect_groups(cursor, out, err);
        mongoc_cursor_destroy(cursor);
    }
    if (rc != BP_OK)
        bp_group_list_free(out);
    bson_destroy(&opts);
    bson_destroy(&filter);
    return rc;
}

/* Reads a findAndModify result into a group, or BP_ENOTFOUND. */
static enum bp_rc group_result(enum bp_rc rc, bool found, bson_t *doc,
                               const char *what, struct bp_group *out,
                               struct bp_error *err)
{
    if (rc != BP_OK)
        return rc;
    if (!found)
        return group_not_found(err);
    rc = bp_mongo_group_from_doc(doc, out);
    bson_destroy(doc);
    return rc == BP_OK ? BP_OK : build_fail(rc, what, err);
}

static enum bp_rc mongo_group_update(struct bp_store *store, const char *id,
                                     const struct bp_group_patch *patch,
                                     int64_t now, struct bp_group *out,
                                     struct bp_error *err)
{
    struct store_mongo *s = from_base(store);
    bson_t update, doc;
    bool found = false;
    enum bp_rc rc = bp_mongo_group_update(patch, now, &update);
    if (rc != BP_OK)
        rc = build_fail(rc, "update group", err);
    else
        rc = find_and_modify(s, &s->groups, id, &update, "update group", &doc,
                             &found, err);
    bson_destroy(&update);
    return group_result(rc, found, &doc, "update group", out, err);
}

/*
 * Deletes the images of group_id and returns them in out: find a batch
 * (in image order), delete exactly those by _id, repeat until none is
 * left, so that out holds every image deleted (and only those), even if
 * images are added meanwhile.
 */
static enum bp_rc delete_group_images(struct store_mongo *s,
                                      const char *group_id,
                                      struct bp_image_list *out,
                                      struct bp_error *err)
{
    struct bp_image_query query = {.group = group_id};
    bson_t filter, opts;
    enum bp_rc rc = bp_mongo_image_filter(&query, NULL, &filter);
    if (rc == BP_OK)
        rc = bp_mongo_image_find_opts(&query, &opts);
    else
        bson_init(&opts);
    for (size_t done = 0; rc == BP_OK; done = out->count) {
        rc = find_images(s, &filter, &opts, "delete group images", out, err);
        if (rc != BP_OK || out->count == done)
            break;
        bson_t ids;
        rc = bp_mongo_ids_filter(out->items[done].id, sizeof(out->items[0]),
                                 out->count - done, &ids);
        if (rc == BP_OK)
            rc = fit_deadline(s, "delete group images", err);
        bson_error_t error;
        if (rc == BP_OK &&
            !mongoc_collection_delete_many(s->images, &ids, NULL, NULL, &error))
            rc = mongo_fail(&error, "delete group images", err);
        bson_destroy(&ids);
    }
    out->total = (long long)out->count;
    bson_destroy(&opts);
    bson_destroy(&filter);
    return rc;
}

/*
 * Deletes a group and its images without a transaction. The order makes
 * an interruption (a worker killed, the primary lost) safe: the group is
 * read first (BP_ENOTFOUND when absent), then its images are deleted,
 * and the group last. Until the group is gone a client sees an error and
 * retries DELETE, which deletes whatever images are left and then the
 * group; no image ever points at a deleted group. (An image inserted
 * after the group is gone is refused by images_insert's group check.)
 */
static enum bp_rc mongo_group_delete(struct bp_store *store, const char *id,
                                     struct bp_group *out,
                                     struct bp_image_list *removed,
                                     struct bp_error *err)
{
    struct store_mongo *s = from_base(store);
    memset(removed, 0, sizeof(*removed));
    enum bp_rc rc = mongo_group_get(store, id, out, err);
    if (rc != BP_OK)
        return rc;
    rc = delete_group_images(s, id, removed, err);
    if (rc != BP_OK)
        goto out_free;
    bson_t doc;
    bool found;
    rc = find_and_modify(s, &s->groups, id, NULL, "delete group", &doc, &found,
                         err);
    if (rc != BP_OK)
        goto out_free;
    if (found) {
        /* Return the group as it was when it was deleted. */
        struct bp_group last;
        if (bp_mongo_group_from_doc(&doc, &last) == BP_OK) {
            bp_group_clear(out);
            *out = last;
        }
        bson_destroy(&doc);
    }
    /*
     * Not found: a concurrent delete removed the group after we read
     * it. The images we deleted are still ours to report, so that their
     * files are deleted too.
     */
    return BP_OK;
out_free:
    bp_group_clear(out);
    bp_image_list_free(removed);
    return rc;
}

/*
 * Checks that every group the images name exists (or is new_id).
 * BP_ENOTFOUND "Group with that ID not found" otherwise.
 */
static enum bp_rc check_groups(struct store_mongo *s, const char *new_id,
                               const struct bp_image *images, size_t n,
                               struct bp_error *err)
{
    const char **ids = calloc(n == 0 ? 1 : n, sizeof(*ids));
    if (ids == NULL)
        return BP_ENOMEM;
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++) {
        const char *g = images[i].group;
        if (g[0] == '\0' || (new_id != NULL && strcmp(g, new_id) == 0))
            continue;
        bool seen = false;
        for (size_t j = 0; j < distinct && !seen; j++)
            seen = strcmp(ids[j], g) == 0;
        if (!seen)
            ids[distinct++] = g;
    }
    enum bp_rc rc = BP_OK;
    bson_t filter = BSON_INITIALIZER, id_doc, in;
    bool ok = BSON_APPEND_DOCUMENT_BEGIN(&filter, "_id", &id_doc) &&
              BSON_APPEND_ARRAY_BEGIN(&id_doc, "$in", &in);
    for (size_t i = 0; ok && i < distinct; i++) {
        bson_oid_t oid;
        char key[16];
        const char *key_str;
        size_t len =
            bson_uint32_to_string((uint32_t)i, &key_str, key, sizeof(key));
        if (!bp_mongo_oid(ids[i], &oid)) {
            rc = group_not_found(err);
            ok = false;
        } else {
            ok = bson_append_oid(&in, key_str, (int)len, &oid);
        }
    }
    ok = bson_append_array_end(&id_doc, &in) &&
         bson_append_document_end(&filter, &id_doc) && ok;
    if (rc == BP_OK && !ok)
        rc = BP_ENOMEM;
    long long found = 0;
    if (rc == BP_OK && distinct > 0)
        rc = count(s, &s->groups, &filter, "insert images", &found, err);
    if (rc == BP_OK && found != (long long)distinct)
        rc = group_not_found(err);
    bson_destroy(&filter);
    free(ids);
    return rc;
}

/*
 * Undoes a failed images_insert: deletes the first `inserted` images
 * (an ordered insert_many stops at the first failure, so only those are
 * ours; an image whose id was taken is someone else's) and the new
 * group. A failure here is logged: what is left is a group with some of
 * the images, which a DELETE of the group removes.
 */
static void undo_insert(struct store_mongo *s, const struct bp_group *new_group,
                        const struct bp_image *images, size_t inserted)
{
    /* An insert cut short by a deadline is undone all the same, in part
     * of the margin the Lambda runtime keeps to post its answer. */
    int64_t deadline = s->base.deadline_ms;
    if (deadline > 0)
        s->base.deadline_ms = deadline + UNDO_GRACE_MS;
    struct bp_error late = {{0}};
    if (fit_deadline(s, "undo an insert", &late) != BP_OK) {
        bp_log_error("%s", late.detail);
        s->base.deadline_ms = deadline;
        return;
    }
    bson_error_t error;
    if (inserted > 0) {
        bson_t ids;
        if (bp_mongo_ids_filter(images[0].id, sizeof(images[0]), inserted,
                                &ids) == BP_OK &&
            !mongoc_collection_delete_many(s->images, &ids, NULL, NULL, &error))
            bp_log_error("mongodb: could not undo an image insert: %s",
                         error.message);
        bson_destroy(&ids);
    }
    if (new_group != NULL) {
        bson_t filter;
        if (bp_mongo_id_filter(new_group->id, &filter) == BP_OK &&
            !mongoc_collection_delete_one(s->groups, &filter, NULL, NULL,
                                          &error))
            bp_log_error("mongodb: could not undo a group insert: %s",
                         error.message);
        bson_destroy(&filter);
    }
    s->base.deadline_ms = deadline;
}

/*
 * Returns how many documents a failed ordered insert_many may have
 * stored. Only a reply with write errors says how far it got; after a
 * network or write-concern error (where libmongoc still reports
 * insertedCount 0) every document may be stored, and deleting fresh ids
 * that are not there is harmless.
 */
static size_t inserted_count(const bson_t *reply, size_t n)
{
    bson_iter_t iter;
    if (!bson_iter_init_find(&iter, reply, "writeErrors"))
        return n;
    if (bson_iter_init_find(&iter, reply, "insertedCount") &&
        BSON_ITER_HOLDS_NUMBER(&iter)) {
        int64_t count = bson_iter_as_int64(&iter);
        return count < 0 ? 0 : (size_t)count > n ? n : (size_t)count;
    }
    return n;
}

/*
 * Inserts new_group (if any) and then the images, ordered, undoing the
 * writes made when one fails: all or nothing without a transaction. A
 * worker killed between the writes can leave a new group with some of
 * its images; the client saw no success and can delete the group.
 */
static enum bp_rc mongo_images_insert(struct bp_store *store,
                                      const struct bp_group *new_group,
                                      const struct bp_image *images, size_t n,
                                      struct bp_error *err)
{
    struct store_mongo *s = from_base(store);
    enum bp_rc rc =
        check_groups(s, new_group ? new_group->id : NULL, images, n, err);
    if (rc != BP_OK)
        return rc;
    bson_t *docs = calloc(n == 0 ? 1 : n, sizeof(*docs));
    const bson_t **ptrs = calloc(n == 0 ? 1 : n, sizeof(*ptrs));
    size_t built = 0;
    if (docs == NULL || ptrs == NULL) {
        rc = BP_ENOMEM;
        goto out_free_docs;
    }
    for (; built < n; built++) {
        rc = bp_mongo_image_doc(&images[built], &docs[built]);
        ptrs[built] = &docs[built];
        if (rc != BP_OK) {
            built++;
            rc = build_fail(rc, "insert image", err);
            goto out_free_docs;
        }
    }
    if (new_group != NULL) {
        rc = mongo_group_insert(store, new_group, err);
        if (rc != BP_OK)
            goto out_free_docs;
    }
    if (n > 0) {
        rc = fit_deadline(s, "insert image", err);
        if (rc != BP_OK) {
            undo_insert(s, new_group, images, 0);
            goto out_free_docs;
        }
        bson_t reply;
        bson_error_t error;
        if (!mongoc_collection_insert_many(s->images, ptrs, n, NULL, &reply,
                                           &error)) {
            rc = mongo_fail(&error, "insert image", err);
            undo_insert(s, new_group, images, inserted_count(&reply, n));
        }
        bson_destroy(&reply);
    }
out_free_docs:
    for (size_t i = 0; docs != NULL && i < built; i++)
        bson_destroy(&docs[i]);
    free(ptrs);
    free(docs);
    return rc;
}

/* Reads a found image document into out, or BP_ENOTFOUND. */
static enum bp_rc image_result(enum bp_rc rc, bool found, bson_t *doc,
                               const char *what, struct bp_image *out,
                               struct bp_error *err)
{
    if (rc != BP_OK)
        return rc;
    if (!found)
        return image_not_found(err);
    rc = bp_mongo_image_from_doc(doc, out);
    bson_destroy(doc);
    return rc == BP_OK ? BP_OK : build_fail(rc, what, err);
}

static enum bp_rc mongo_image_get(struct bp_store *store, const char *id,
                                  struct bp_image *out, struct bp_error *err)
{
    struct store_mongo *s = from_base(store);
    bson_t filter, doc;
    bool found = false;
    enum bp_rc rc = bp_mongo_id_filter(id, &filter);
    if (rc == BP_OK)
        rc = find_one(s, &s->images, &filter, "get image", &doc, &found, err);
    else if (rc == BP_EINVAL)
        rc = BP_OK; /* a malformed id names no image */
    bson_destroy(&filter);
    return image_result(rc, found, &doc, "get image", out, err);
}

/*
 * Lists a page of images and the total: two reads (no snapshot), except
 * for an unpaged listing, whose total is the number of images read.
 */
/*
 * Fills out (an initialized, empty document) with the ids of the groups
 * whose location is hidden from viewer, as a BSON array.
 */
static enum bp_rc hidden_group_ids(struct store_mongo *s, const char *viewer,
                                   bson_t *out, struct bp_error *err)
{
    bson_t filter, opts = BSON_INITIALIZER, projection;
    enum bp_rc rc =
        bp_mongo_hidden_groups_filter(viewer != NULL ? viewer : "", &filter);
    bool ok = rc == BP_OK &&
              BSON_APPEND_DOCUMENT_BEGIN(&opts, "projection", &projection) &&
              BSON_APPEND_INT32(&projection, "_id", 1) &&
              bson_append_document_end(&opts, &projection);
    if (rc == BP_OK && !ok)
        rc = BP_ENOMEM;
    if (rc == BP_OK)
        rc = fit_deadline(s, "list hidden groups", err);
    mongoc_cursor_t *cursor =
        rc == BP_OK
            ? mongoc_collection_find_with_opts(s->groups, &filter, &opts, NULL)
            : NULL;
    const bson_t *doc;
    uint32_t n = 0;
    while (rc == BP_OK && mongoc_cursor_next(cursor, &doc)) {
        bson_iter_t iter;
        char key[16];
        const char *index;
        bson_uint32_to_string(n, &index, key, sizeof(key));
        if (bson_iter_init_find(&iter, doc, "_id") &&
            BSON_ITER_HOLDS_OID(&iter) &&
            !BSON_APPEND_OID(out, index, bson_iter_oid(&iter)))
            rc = BP_ENOMEM;
        n++;
    }
    bson_error_t error;
    if (rc == BP_OK && cursor != NULL && mongoc_cursor_error(cursor, &error))
        rc = mongo_fail(&error, "list hidden groups", err);
    mongoc_cursor_destroy(cursor);
    bson_destroy(&opts);
    bson_destroy(&filter);
    return rc;
}

static enum bp_rc mongo_image_list(struct bp_store *store,
                                   const struct bp_image_query *query,
                                   struct bp_image_list *out,
                                   struct bp_error *err)
{
    struct store_mongo *s = from_base(store);
    memset(out, 0, sizeof(*out));
    bson_t filter, opts, hidden = BSON_INITIALIZER;
    enum bp_rc rc = BP_OK;
    if (query->hide_hidden_locations && (query->has_bbox || query->has_near))
        rc = hidden_group_ids(s, query->viewer, &hidden, err);
    if (rc != BP_OK) {
        bson_destroy(&hidden);
        return rc;
    }
    rc = bp_mongo_image_filter(query, &hidden, &filter);
    bson_destroy(&hidden);
    if (rc == BP_EINVAL) {
        bson_destroy(&filter);
        return BP_OK; /* a group that is no id has no images */
    }
    enum bp_rc opts_rc = bp_mongo_image_find_opts(query, &opts);
    if (rc == BP_OK)
        rc = opts_rc;
    bool paged = query->limit > 0 || query->offset > 0;
    if (rc == BP_OK && paged)
        rc = count(s, &s->images, &filter, "count images", &out->total, err);
    if (rc == BP_OK && (!paged || out->total > query->offset))
        rc = find_images(s, &filter, &opts, "list images", out, err);
    if (rc == BP_OK && !paged)
        out->total = (long long)out->count;
    if (rc != BP_OK)
        bp_image_list_free(out);
    bson_destroy(&opts);
    bson_destroy(&filter);
    return rc;
}

/*
 * Returns BP_OK when the group with id exists, BP_ENOTFOUND (without a
 * message) when it does not.
 */
static enum bp_rc group_exists(struct store_mongo *s, const char *id,
                               struct bp_error *err)
{
    bson_t filter;
    long long n = 0;
    enum bp_rc rc = bp_mongo_id_filter(id, &filter);
    if (rc == BP_OK)
        rc = count(s, &s->groups, &filter, "update image", &n, err);
    else if (rc == BP_EINVAL)
        rc = BP_OK;
    bson_destroy(&filter);
    return rc == BP_OK && n == 0 ? BP_ENOTFOUND : rc;
}

/* What a conditional write requires of the image it changes. */
struct condition {
    const char *id;
    int64_t upload_expires_at; /* the awaited upload (0: none) */
    bool no_file;              /* and that the image never had a file */
};

/*
 * Returns why a conditional write under cond matched no document, from
 * a read of the image: BP_ENOTFOUND when there is none, else
 * BP_ECONFLICT with the detail the SQLite backend gives.
 */
static enum bp_rc explain_unchanged(struct store_mongo *s,
                                    const struct condition *cond,
                                    struct bp_error *err)
{
    struct bp_image current;
    enum bp_rc rc = mongo_image_get(&s->base, cond->id, &current, err);
    if (rc != BP_OK)
        return rc;
    bool has_file = bp_image_has_file(&current);
    bp_image_clear(&current);
    if (cond->no_file && has_file)
        return bp_error_set(err, BP_ECONFLICT, "Image %s has a file", cond->id);
    if (cond->upload_expires_at == 0)
        return bp_error_set(err, BP_ECONFLICT, "Image %s awaits an upload",
                            cond->id);
    return bp_error_set(err, BP_ECONFLICT,
                        "Image %s no longer awaits this upload", cond->id);
}

/*
 * Runs findAndModify with filter and update (NULL: remove) on the
 * images, reading the document into out. When none matched: BP_ENOTFOUND,
 * or, for a write under cond (not NULL), what explain_unchanged finds.
 * filter_rc is what built filter: BP_EINVAL (a malformed id) names no
 * image, another error is returned as it is.
 */
static enum bp_rc modify_image(struct store_mongo *s, enum bp_rc filter_rc,
                               const bson_t *filter, const bson_t *update,
                               const struct condition *cond, const char *what,
                               struct bp_image *out, struct bp_error *err)
{
    if (filter_rc == BP_EINVAL)
        return image_not_found(err);
    if (filter_rc != BP_OK)
        return filter_rc;
    bson_t doc;
    bool found = false;
    enum bp_rc rc = find_and_modify_where(s, &s->images, filter, update, what,
                                          &doc, &found, err);
    if (rc == BP_OK && !found && cond != NULL)
        return explain_unchanged(s, cond, err);
    return image_result(rc, found, &doc, what, out, err);
}

/*
 * Updates an image's metadata. A move to a group first checks that the
 * group exists; when it does not, nothing is written and the error is
 * the one SQLite gives: "Image with that ID not found" when the image
 * does not exist either, "Group with that ID not found" otherwise (even
 * when the update's upload condition fails too). (A group deleted
 * between the check and the update is the one race left; its delete's
 * retry deletes the moved image too.) With if_upload the condition is
 * part of the findAndModify query.
 */
static enum bp_rc mongo_image_update(struct bp_store *store, const char *id,
                                     const struct bp_image_patch *patch,
                                     int64_t now, struct bp_image *out,
                                     struct bp_error *err)
{
    struct store_mongo *s = from_base(store);
    if (patch->set_group && patch->group[0] != '\0') {
        enum bp_rc rc = group_exists(s, patch->group, err);
        if (rc == BP_ENOTFOUND) {
            struct bp_image current;
            rc = mongo_image_get(store, id, &current, err);
            if (rc != BP_OK)
                return rc;
            bp_image_clear(&current);
            return group_not_found(err);
        }
        if (rc != BP_OK)
            return rc;
    }
    bson_t update, filter;
    enum bp_rc rc = bp_mongo_image_update(patch, now, &update);
    enum bp_rc filter_rc = bp_mongo_image_update_filter(id, patch, &filter);
    struct condition cond = {.id = id,
                             .upload_expires_at = patch->if_upload_expires_at};
    if (rc != BP_OK)
        rc = build_fail(rc, "update image", err);
    else
        rc = modify_image(s, filter_rc, &filter, &update,
                          patch->if_upload ? &cond : NULL, "update image", out,
                          err);
    bson_destroy(&filter);
    bson_destroy(&update);
    return rc;
}

/*
 * Replaces an image's file fields; a conditional replace (a file whose
 * upload_expires_at is not 0) has that expiry in its findAndModify
 * query.
 */
static enum bp_rc mongo_image_replace_file(struct bp_store *store,
                                           const struct bp_image *file,
                                           int64_t now, struct bp_image *out,
                                           struct bp_error *err)
{
    struct store_mongo *s = from_base(store);
    bson_t update, filter;
    enum bp_rc rc = bp_mongo_image_replace_file_update(file, now, &update);
    enum bp_rc filter_rc = bp_mongo_image_replace_file_filter(file, &filter);
    struct condition cond = {.id = file->id,
                             .upload_expires_at = file->upload_expires_at};
    if (rc != BP_OK)
        rc = build_fail(rc, "replace image file", err);
    else
        rc = modify_image(s, filter_rc, &filter, &update,
                          file->upload_expires_at != 0 ? &cond : NULL,
                          "replace image file", out, err);
    bson_destroy(&filter);
    bson_destroy(&update);
    return rc;
}

/*
 * Deletes an image that never had a file and still awaits the upload
 * expiring at upload_expires_at: one findAndModify whose query says so,
 * then, when it matched nothing, a read that tells why.
 */
static enum bp_rc mongo_image_delete_awaiting(struct bp_store *store,
                                              const char *id,
                                              int64_t upload_expires_at,
                                              struct bp_image *out,
                                              struct bp_error *err)
{
    struct store_mongo *s = from_base(store);
    bson_t filter;
    enum bp_rc filter_rc =
        bp_mongo_image_delete_awaiting_filter(id, upload_expires_at, &filter);
    struct condition cond = {
        .id = id, .upload_expires_at = upload_expires_at, .no_file = true};
    enum bp_rc rc = modify_image(s, filter_rc, &filter, NULL, &cond,
                                 "delete awaiting image", out, err);
    bson_destroy(&filter);
    return rc;
}

static enum bp_rc mongo_image_delete(struct bp_store *store, const char *id,
                                     struct bp_image *out, struct bp_error *err)
{
    struct store_mongo *s = from_base(store);
    bson_t doc;
    bool found = false;
    enum bp_rc rc = find_and_modify(s, &s->images, id, NULL, "delete image",
                                    &doc, &found, err);
    return image_result(rc, found, &doc, "delete image", out, err);
}

static enum bp_rc mongo_groups_detach_event(struct bp_store *store,
                                            const char *event,
                                            const char *owner, int64_t now,
                                            long long *count,
                                            struct bp_error *err)
{
    struct store_mongo *s = from_base(store);
    bson_t filter, update, reply;
    enum bp_rc rc = bp_mongo_detach_event(event, owner, now, &filter, &update);
    if (rc == BP_EINVAL)
        rc = BP_OK; /* a malformed id names no event */
    else if (rc != BP_OK)
        rc = build_fail(rc, "detach event", err);
    else if ((rc = fit_deadline(s, "detach event", err)) == BP_OK) {
        bson_error_t error;
        if (!mongoc_collection_update_many(s->groups, &filter, &update, NULL,
                                           &reply, &error))
            rc = mongo_fail(&error, "detach event", err);
        bson_iter_t iter;
        if (rc == BP_OK &&
            bson_iter_init_find(&iter, &reply, "modifiedCount") &&
            BSON_ITER_HOLDS_NUMBER(&iter))
            *count = bson_iter_as_int64(&iter);
        bson_destroy(&reply);
    }
    bson_destroy(&filter);
    bson_destroy(&update);
    return rc;
}

static enum bp_rc key_not_found(struct bp_error *err)
{
    return bp_error_set(err, BP_ENOTFOUND, "API key with that ID not found");
}

static enum bp_rc mongo_key_insert(struct bp_store *store,
                                   const struct bp_api_key *key,
                                   struct bp_error *err)
{
    struct store_mongo *s = from_base(store);
    bson_t doc;
    enum bp_rc rc = bp_mongo_key_doc(key, &doc);
    if (rc != BP_OK) {
        rc = build_fail(rc, "insert key", err);
        goto out_free_doc;
    }
    rc = fit_deadline(s, "insert key", err);
    if (rc != BP_OK)
        goto out_free_doc;
    bson_error_t error;
    if (!mongoc_collection_insert_one(s->keys, &doc, NULL, NULL, &error))
        rc = mongo_fail(&error, "insert key", err);
out_free_doc:
    bson_destroy(&doc);
    return rc;
}

/* Reads the key document in doc (when found) into *out, freeing doc. */
static enum bp_rc key_result(enum bp_rc rc, bool found, bson_t *doc,
                             const char *what, struct bp_api_key *out,
                             struct bp_error *err)
{
    if (rc != BP_OK)
        return rc;
    if (!found)
        return key_not_found(err);
    rc = bp_mongo_key_from_doc(doc, out);
    bson_destroy(doc);
    return rc == BP_OK ? BP_OK : build_fail(rc, what, err);
}

static enum bp_rc mongo_key_get(struct bp_store *store, const char *id,
                                struct bp_api_key *out, struct bp_error *err)
{
    struct store_mongo *s = from_base(store);
    bson_t filter, doc;
    bool found = false;
    enum bp_rc rc = bp_mongo_id_filter(id, &filter);
    if (rc == BP_OK)
        rc = find_one(s, &s->keys, &filter, "get key", &doc, &found, err);
    else if (rc == BP_EINVAL)
        rc = BP_OK; /* a malformed id names nothing */
    bson_destroy(&filter);
    return key_result(rc, found, &doc, "get key", out, err);
}

static enum bp_rc mongo_key_list(struct bp_store *store,
                                 struct bp_api_key_list *out,
                                 struct bp_error *err)
{
    struct store_mongo *s = from_base(store);
    memset(out, 0, sizeof(*out));
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, sort;
    bool ok = BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort) &&
              BSON_APPEND_INT32(&sort, "created_at", 1) &&
              BSON_APPEND_INT32(&sort, "_id", 1) &&
              bson_append_document_end(&opts, &sort);
    enum bp_rc rc = ok ? BP_OK : BP_ENOMEM;
    if (rc == BP_OK)
        rc = fit_deadline(s, "list keys", err);
    mongoc_cursor_t *cursor =
        rc == BP_OK
            ? mongoc_collection_find_with_opts(s->keys, &filter, &opts, NULL)
            : NULL;
    const bson_t *next;
    while (rc == BP_OK && cursor != NULL && mongoc_cursor_next(cursor, &next)) {
        struct bp_api_key *key = bp_api_key_list_add(out);
        rc = key == NULL ? BP_ENOMEM : bp_mongo_key_from_doc(next, key);
        if (rc != BP_OK && rc != BP_ENOMEM)
            rc = build_fail(rc, "list keys", err);
    }
    bson_error_t error;
    if (rc == BP_OK && cursor != NULL && mongoc_cursor_error(cursor, &error))
        rc = mongo_fail(&error, "list keys", err);
    mongoc_cursor_destroy(cursor);
    bson_destroy(&opts);
    bson_destroy(&filter);
    if (rc != BP_OK)
        bp_api_key_list_free(out);
    return rc;
}

static enum bp_rc mongo_key_revoke(struct bp_store *store, const char *id,
                                   int64_t now, struct bp_api_key *out,
                                   struct bp_error *err)
{
    struct store_mongo *s = from_base(store);
    bson_t filter, update = BSON_INITIALIZER, set, doc;
    bool found = false;
    /* Only a key not revoked yet takes the time: the first one stays. */
    enum bp_rc rc = bp_mongo_id_filter(id, &filter);
    if (rc == BP_EINVAL) {
        bson_destroy(&filter);
        bson_destroy(&update);
        return key_not_found(err);
    }
    bool ok = rc == BP_OK && BSON_APPEND_INT64(&filter, "revoked_at", 0) &&
              BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set) &&
              BSON_APPEND_INT64(&set, "revoked_at", now) &&
              bson_append_document_end(&update, &set);
    if (rc == BP_OK && !ok)
        rc = BP_ENOMEM;
    if (rc == BP_OK)
        rc = find_and_modify_where(s, &s->keys, &filter, &update, "revoke key",
                                   &doc, &found, err);
    bson_destroy(&filter);
    bson_destroy(&update);
    if (rc == BP_OK && !found)
        return mongo_key_get(store, id, out, err);
    return key_result(rc, found, &doc, "revoke key", out, err);
}

static void mongo_close(struct bp_store *store)
{
    struct store_mongo *s = from_base(store);
    disconnect_client(s);
    mongoc_uri_destroy(s->uri);
    free(s->database);
    free(s);
}

static const struct bp_store_ops mongo_ops = {
    .name = "mongodb",
    .ping = mongo_ping,
    .group_insert = mongo_group_insert,
    .group_get = mongo_group_get,
    .group_list = mongo_group_list,
    .group_update = mongo_group_update,
    .group_delete = mongo_group_delete,
    .images_insert = mongo_images_insert,
    .image_get = mongo_image_get,
    .image_list = mongo_image_list,
    .image_update = mongo_image_update,
    .image_replace_file = mongo_image_replace_file,
    .image_delete_awaiting = mongo_image_delete_awaiting,
    .image_delete = mongo_image_delete,
    .groups_detach_event = mongo_groups_detach_event,
    .key_insert = mongo_key_insert,
    .key_get = mongo_key_get,
    .key_list = mongo_key_list,
    .key_revoke = mongo_key_revoke,
    .close = mongo_close,
};

/* Runs the createIndexes command of collection. */
static enum bp_rc create_indexes(struct store_mongo *s, const char *collection,
                                 struct bp_error *err)
{
    bson_t cmd, reply;
    enum bp_rc rc = bp_mongo_index_specs(collection, &cmd);
    if (rc != BP_OK) {
        bson_destroy(&cmd);
        return build_fail(rc, "create indexes", err);
    }
    rc = fit_deadline(s, "create indexes", err);
    if (rc != BP_OK) {
        bson_destroy(&cmd);
        return rc;
    }
    bson_error_t error;
    if (!mongoc_client_write_command_with_opts(s->client, s->database, &cmd,
                                               NULL, &reply, &error))
        rc = mongo_fail(&error, "create indexes", err);
    bson_destroy(&reply);
    bson_destroy(&cmd);
    return rc;
}

/*
 * Sets the timeouts of uri: serverSelectionTimeoutMS is timeout_ms
 * (unless the URI sets it);
 * connectTimeoutMS (a connection or handshake) is at most timeout_ms and
 * socketTimeoutMS (an operation's reply) five times it, unless the URI
 * sets them, so a server that stops answering frees the worker in
 * seconds instead of the driver's default of five minutes.
 */
static void set_timeouts(mongoc_uri_t *uri, long timeout_ms)
{
    int32_t t = timeout_ms <= 0              ? 2000
                : timeout_ms > INT32_MAX / 5 ? INT32_MAX / 5
                                             : (int32_t)timeout_ms;
    if (mongoc_uri_has_option(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
        t = mongoc_uri_get_option_as_int32(
            uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, t);
    else
        mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS,
                                       t);
    if (!mongoc_uri_has_option(uri, MONGOC_URI_CONNECTTIMEOUTMS))
        mongoc_uri_set_option_as_int32(uri, MONGOC_URI_CONNECTTIMEOUTMS, t);
    if (!mongoc_uri_has_option(uri, MONGOC_URI_SOCKETTIMEOUTMS))
        mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SOCKETTIMEOUTMS, t * 5);
}

enum bp_rc bp_store_mongo_open(const char *uri_text, long timeout_ms,
                               int64_t deadline_ms, struct bp_store **out,
                               struct bp_error *err)
{
    bson_error_t error;
    enum bp_rc rc = BP_OK;
    /* The URI may hold credentials: never echo it. */
    mongoc_uri_t *uri = mongoc_uri_new_with_error(uri_text, &error);
    if (uri == NULL) {
        bp_log_error("database_url: %s", error.message);
        return bp_error_set(err, BP_EINVAL,
                            "database_url: not a valid MongoDB URI");
    }
    set_timeouts(uri, timeout_ms);
    if (mongoc_uri_get_appname(uri) == NULL)
        mongoc_uri_set_appname(uri, "bandpics");
    struct store_mongo *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        rc = BP_ENOMEM;
        goto out_free_uri;
    }
    s->base.ops = &mongo_ops;
    s->base.deadline_ms = deadline_ms;
    const char *database = mongoc_uri_get_database(uri);
    s->database = strdup(
        database != NULL && database[0] != '\0' ? database : DEFAULT_DATABASE);
    if (s->database == NULL) {
        rc = BP_ENOMEM;
        goto out_free_store;
    }
    s->uri = uri;
    uri = NULL;
    if (!connect_client(s, &error)) {
        /* mongodb+srv: a failed DNS lookup is an outage, not a bad URI. */
        if (error.domain == MONGOC_ERROR_STREAM)
            rc = mongo_fail(&error, "open", err);
        else
            rc = bp_error_set(err, BP_EINVAL,
                              "database_url: not a usable MongoDB URI");
        bp_log_error("database_url: %s", error.message);
        goto out_close;
    }
    rc = create_indexes(s, BP_MONGO_GROUPS, err);
    if (rc == BP_OK)
        rc = create_indexes(s, BP_MONGO_IMAGES, err);
    if (rc != BP_OK)
        goto out_close;
    *out = &s->base;
    return BP_OK;
out_close:
    mongo_close(&s->base);
    return rc;
out_free_store:
    free(s->database);
    free(s);
out_free_uri:
    mongoc_uri_destroy(uri);
    return rc;
}
