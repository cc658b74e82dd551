/*
 * store.c: choosing a store backend from the database URL, and the
 * generic calls that dispatch through the backend's operations table.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/store_mongo.h"

bool bp_store_url_is_mongodb(const char *url)
{
    return strncmp(url, "mongodb://", 10) == 0 ||
           strncmp(url, "mongodb+srv://", 14) == 0;
}

enum bp_rc bp_store_open(const struct bp_config *cfg, struct bp_store **out,
                         struct bp_error *err)
{
    return bp_store_open_by(cfg, 0, out, err);
}

enum bp_rc bp_store_open_by(const struct bp_config *cfg, int64_t deadline_ms,
                            struct bp_store **out, struct bp_error *err)
{
    static const char sqlite_scheme[] = "sqlite://";
    const char *url = cfg->database_url;
    if (strncmp(url, sqlite_scheme, sizeof(sqlite_scheme) - 1) == 0)
        return bp_store_sqlite_open(url + sizeof(sqlite_scheme) - 1, cfg, out,
                                    err);
    if (bp_store_url_is_mongodb(url))
        return bp_store_mongo_open(url, cfg->mongo_timeout_ms, deadline_ms, out,
                                   err);
    return bp_error_set(err, BP_EINVAL,
                        "database_url: no backend for this URL (sqlite:// or "
                        "mongodb://)");
}

enum bp_rc bp_store_check(const struct bp_config *cfg, struct bp_error *err)
{
    struct bp_store *store = NULL;
    enum bp_rc rc = bp_store_open(cfg, &store, err);
    bp_store_close(store);
    return rc;
}

void bp_store_close(struct bp_store *store)
{
    if (store != NULL)
        store->ops->close(store);
}

void bp_store_set_deadline(struct bp_store *store, int64_t deadline_ms)
{
    if (store != NULL)
        store->deadline_ms = deadline_ms;
}

const char *bp_store_name(const struct bp_store *store)
{
    return store->ops->name;
}

enum bp_rc bp_store_ping(struct bp_store *store, struct bp_error *err)
{
    return store->ops->ping(store, err);
}

enum bp_rc bp_store_group_insert(struct bp_store *store,
                                 const struct bp_group *group,
                                 struct bp_error *err)
{
    return store->ops->group_insert(store, group, err);
}

enum bp_rc bp_store_group_get(struct bp_store *store, const char *id,
                              struct bp_group *out, struct bp_error *err)
{
    return store->ops->group_get(store, id, out, err);
}

enum bp_rc bp_store_group_list(struct bp_store *store,
                               const struct bp_group_query *query,
                               struct bp_group_list *out, struct bp_error *err)
{
    return store->ops->group_list(store, query, out, err);
}

struct bp_group *bp_group_list_add(struct bp_group_list *list)
{
    if (list->count == list->cap) {
        size_t cap = list->cap < 16 ? 16 : list->cap * 2;
        struct bp_group *grown = realloc(list->items, cap * sizeof(*grown));
        if (grown == NULL)
            return NULL;
        list->items = grown;
        list->cap = cap;
    }
    struct bp_group *group = &list->items[list->count++];
    memset(group, 0, sizeof(*group));
    return group;
}

void bp_group_list_free(struct bp_group_list *list)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < list->count; i++)
        bp_group_clear(&list->items[i]);
    free(list->items);
    memset(list, 0, sizeof(*list));
}

enum bp_rc bp_store_group_update(struct bp_store *store, const char *id,
                                 const struct bp_group_patch *patch,
                                 int64_t now, struct bp_group *out,
                                 struct bp_error *err)
{
    return store->ops->group_update(store, id, patch, now, out, err);
}

enum bp_rc bp_store_group_delete(struct bp_store *store, const char *id,
                                 struct bp_group *out,
                                 struct bp_image_list *removed,
                                 struct bp_error *err)
{
    return store->ops->group_delete(store, id, out, removed, err);
}

enum bp_rc bp_store_images_insert(struct bp_store *store,
                                  const struct bp_group *new_group,
                                  const struct bp_image *images, size_t n,
                                  struct bp_error *err)
{
    return store->ops->images_insert(store, new_group, images, n, err);
}

enum bp_rc bp_store_image_get(struct bp_store *store, const char *id,
                              struct bp_image *out, struct bp_error *err)
{
    return store->ops->image_get(store, id, out, err);
}

enum bp_rc bp_store_image_list(struct bp_store *store,
                               const struct bp_image_query *query,
                               struct bp_image_list *out, struct bp_error *err)
{
    return store->ops->image_list(store, query, out, err);
}

enum bp_rc bp_store_image_update(struct bp_store *store, const char *id,
                                 const struct bp_image_patch *patch,
                                 int64_t now, struct bp_image *out,
                                 struct bp_error *err)
{
    return store->ops->image_update(store, id, patch, now, out, err);
}

enum bp_rc bp_store_image_replace_file(struct bp_store *store,
                                       const struct bp_image *file, int64_t now,
                                       struct bp_image *out,
                                       struct bp_error *err)
{
    return store->ops->image_replace_file(store, file, now, out, err);
}

enum bp_rc bp_store_image_delete_awaiting(struct bp_store *store,
                                          const char *id,
                                          int64_t upload_expires_at,
                                          struct bp_image *out,
                                          struct bp_error *err)
{
    return store->ops->image_delete_awaiting(store, id, upload_expires_at, out,
                                             err);
}

enum bp_rc bp_store_image_delete(struct bp_store *store, const char *id,
                                 struct bp_image *out, struct bp_error *err)
{
    return store->ops->image_delete(store, id, out, err);
}

enum bp_rc bp_store_key_insert(struct bp_store *store,
                               const struct bp_api_key *key,
                               struct bp_error *err)
{
    return store->ops->key_insert(store, key, err);
}

enum bp_rc bp_store_key_get(struct bp_store *store, const char *id,
                            struct bp_api_key *out, struct bp_error *err)
{
    return store->ops->key_get(store, id, out, err);
}

enum bp_rc bp_store_key_list(struct bp_store *store,
                             struct bp_api_key_list *out, struct bp_error *err)
{
    return store->ops->key_list(store, out, err);
}

struct bp_api_key *bp_api_key_list_add(struct bp_api_key_list *list)
{
    if (list->count == list->cap) {
        size_t cap = list->cap < 16 ? 16 : list->cap * 2;
        struct bp_api_key *grown = realloc(list->items, cap * sizeof(*grown));
        if (grown == NULL)
            return NULL;
        list->items = grown;
        list->cap = cap;
    }
    struct bp_api_key *key = &list->items[list->count++];
    memset(key, 0, sizeof(*key));
    return key;
}

void bp_api_key_list_free(struct bp_api_key_list *list)
{
    if (list == NULL)
        return;
    free(list->items);
    memset(list, 0, sizeof(*list));
}

enum bp_rc bp_store_key_revoke(struct bp_store *store, const char *id,
                               int64_t now, struct bp_api_key *out,
                               struct bp_error *err)
{
    return store->ops->key_revoke(store, id, now, out, err);
}

enum bp_rc bp_store_groups_detach_event(struct bp_store *store,
                                        const char *event, const char *owner,
                                        int64_t now, long long *count,
                                        struct bp_error *err)
{
    *count = 0;
    return store->ops->groups_detach_event(store, event, owner, now, count,
                                           err);
}
