/*
 * blob.c: blob key validation and the generic blob calls that dispatch
 * through a backend's operations table.
 */
#include <string.h>
#include <unistd.h>

#include "blob.h"

#define MAX_KEY_LEN 200

bool bp_blob_key_valid(const char *key)
{
    size_t len = strlen(key);
    if (len == 0 || len > MAX_KEY_LEN)
        return false;
    const char *segment = key;
    for (const char *p = key;; p++) {
        if (*p == '/' || *p == '\0') {
            size_t seg_len = (size_t)(p - segment);
            if (seg_len == 0 || (seg_len == 1 && segment[0] == '.') ||
                (seg_len == 2 && segment[0] == '.' && segment[1] == '.'))
                return false;
            if (*p == '\0')
                return true;
            segment = p + 1;
            continue;
        }
        bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
                  *p == '-';
        if (!ok)
            return false;
    }
}

void bp_blob_store_close(struct bp_blob_store *store)
{
    if (store != NULL)
        store->ops->close(store);
}

enum bp_rc bp_blob_put_file(struct bp_blob_store *store, const char *key,
                            const char *src_path, struct bp_error *err)
{
    if (!bp_blob_key_valid(key))
        return bp_error_set(err, BP_EINVAL, "invalid blob key");
    return store->ops->put_file(store, key, src_path, err);
}

enum bp_rc bp_blob_open(struct bp_blob_store *store, const char *key,
                        struct bp_blob_reader *out, struct bp_error *err)
{
    if (!bp_blob_key_valid(key))
        return bp_error_set(err, BP_EINVAL, "invalid blob key");
    return store->ops->open(store, key, out, err);
}

void bp_blob_close(struct bp_blob_reader *reader)
{
    if (reader != NULL && reader->fd >= 0) {
        close(reader->fd);
        reader->fd = -1;
    }
}

enum bp_rc bp_blob_remove(struct bp_blob_store *store, const char *key,
                          struct bp_error *err)
{
    if (!bp_blob_key_valid(key))
        return bp_error_set(err, BP_EINVAL, "invalid blob key");
    return store->ops->remove(store, key, err);
}

enum bp_rc bp_blob_move(struct bp_blob_store *store, const char *from,
                        const char *to, struct bp_error *err)
{
    if (!bp_blob_key_valid(from) || !bp_blob_key_valid(to))
        return bp_error_set(err, BP_EINVAL, "invalid blob key");
    return store->ops->move(store, from, to, err);
}

enum bp_rc bp_blob_presign_get(struct bp_blob_store *store, const char *key,
                               long expires_s, struct bp_buf *url,
                               struct bp_error *err)
{
    if (!bp_blob_key_valid(key))
        return bp_error_set(err, BP_EINVAL, "invalid blob key");
    return store->ops->presign_get(store, key, expires_s, url, err);
}
