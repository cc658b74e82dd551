/*
 * blob.c: blob key validation, the choice of a backend from the
 * configuration's blob_url, and the generic blob calls that check their
 * keys and dispatch through a backend's operations table.
 */
#include <string.h>
#include <unistd.h>

#include "blob/blob.h"
#include "config.h"

#define MAX_KEY_LEN 200
#define MIN_BUCKET_LEN 3
#define MAX_BUCKET_LEN 63

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
                            const char *src_path, const char *content_type,
                            struct bp_error *err)
{
    if (!bp_blob_key_valid(key))
        return bp_error_set(err, BP_EINVAL, "invalid blob key");
    return store->ops->put_file(store, key, src_path, content_type, err);
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
                               long expires_s, const char *disposition,
                               bool signed_only, struct bp_buf *url,
                               struct bp_error *err)
{
    if (!bp_blob_key_valid(key))
        return bp_error_set(err, BP_EINVAL, "invalid blob key");
    return store->ops->presign_get(store, key, expires_s, disposition,
                                   signed_only, url, err);
}

enum bp_rc bp_blob_presign_put(struct bp_blob_store *store, const char *key,
                               const char *content_type, long expires_s,
                               struct bp_buf *url, struct bp_error *err)
{
    if (!bp_blob_key_valid(key))
        return bp_error_set(err, BP_EINVAL, "invalid blob key");
    return store->ops->presign_put(store, key, content_type, expires_s, url,
                                   err);
}

enum bp_rc bp_blob_stat(struct bp_blob_store *store, const char *key,
                        struct bp_blob_entry *out, struct bp_error *err)
{
    if (!bp_blob_key_valid(key))
        return bp_error_set(err, BP_EINVAL, "invalid blob key");
    struct bp_blob_entry entry = {.key = key};
    enum bp_rc rc = store->ops->stat(store, key, &entry, err);
    if (rc == BP_OK) {
        entry.key = key;
        *out = entry;
    }
    return rc;
}

/*
 * Returns true when prefix is "" or the beginning of some valid key,
 * such as "original/" or "thumb/65a": the prefix followed by one more
 * letter is then a valid key.
 */
static bool prefix_valid(const char *prefix)
{
    size_t len = strlen(prefix);
    if (len == 0)
        return true;
    if (len >= MAX_KEY_LEN)
        return false;
    char probe[MAX_KEY_LEN + 1];
    memcpy(probe, prefix, len);
    probe[len] = 'x';
    probe[len + 1] = '\0';
    return bp_blob_key_valid(probe);
}

enum bp_rc bp_blob_list(struct bp_blob_store *store, const char *prefix,
                        bp_blob_visit_fn visit, void *arg, struct bp_error *err)
{
    if (!prefix_valid(prefix))
        return bp_error_set(err, BP_EINVAL, "invalid blob key prefix");
    return store->ops->list(store, prefix, visit, arg, err);
}

const char *bp_blob_store_name(const struct bp_blob_store *store)
{
    return store->ops->name;
}

/* Returns true for an S3 bucket name: 3 to 63 of [a-z0-9.-]. */
static bool bucket_valid(const char *name, size_t len)
{
    if (len < MIN_BUCKET_LEN || len > MAX_BUCKET_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '-'))
            return false;
    }
    return true;
}

/* Opens the S3 backend for "BUCKET[/PREFIX]" (what follows "s3://"). */
static enum bp_rc open_s3(const struct bp_config *cfg, const char *location,
                          const char *tmp_dir, struct bp_blob_store **out,
                          struct bp_error *err)
{
    const char *slash = strchr(location, '/');
    size_t bucket_len =
        slash != NULL ? (size_t)(slash - location) : strlen(location);
    if (!bucket_valid(location, bucket_len))
        return bp_error_set(err, BP_EINVAL,
                            "blob_url: invalid bucket name '%.*s' (3 to 63 "
                            "lower-case letters, digits, '.' and '-')",
                            (int)(bucket_len > 100 ? 100 : bucket_len),
                            location);
    char bucket[MAX_BUCKET_LEN + 1];
    memcpy(bucket, location, bucket_len);
    bucket[bucket_len] = '\0';

    const char *prefix = slash != NULL ? slash : "";
    while (*prefix == '/')
        prefix++;
    size_t prefix_len = strlen(prefix);
    while (prefix_len > 0 && prefix[prefix_len - 1] == '/')
        prefix_len--;
    struct bp_buf trimmed;
    bp_buf_init(&trimmed, 0);
    enum bp_rc rc = bp_buf_append(&trimmed, prefix, prefix_len);
    if (rc == BP_OK)
        rc = bp_buf_append(&trimmed, "", 0);
    if (rc != BP_OK)
        goto out_free;

    const struct bp_blob_s3_settings settings = {
        .bucket = bucket,
        .prefix = trimmed.data != NULL ? trimmed.data : "",
        .endpoint = cfg->s3_endpoint,
        .region = cfg->s3_region,
        .path_style = bp_config_s3_path_style(cfg),
        .access_key_id = cfg->s3_access_key_id,
        .secret_access_key = cfg->s3_secret_access_key,
        .session_token = cfg->s3_session_token,
        .public_base_url = cfg->public_base_url,
        .tmp_dir = tmp_dir,
        .timeout_ms = cfg->s3_timeout_ms,
    };
    rc = bp_blob_s3_open(&settings, out, err);
out_free:
    bp_buf_free(&trimmed);
    return rc;
}

static const char s3_scheme[] = "s3://";

void bp_blob_set_deadline(struct bp_blob_store *store, int64_t deadline_ms)
{
    if (store != NULL)
        store->deadline_ms = deadline_ms;
}

bool bp_blob_url_is_s3(const char *url)
{
    return strncmp(url, s3_scheme, sizeof(s3_scheme) - 1) == 0;
}

enum bp_rc bp_blob_store_open(const struct bp_config *cfg,
                              const char *default_root, const char *tmp_dir,
                              struct bp_blob_store **out, struct bp_error *err)
{
    static const char file_scheme[] = "file://";
    const char *url = cfg->blob_url;
    if (url[0] == '\0')
        return bp_blob_local_open(default_root, out, err);
    if (strncmp(url, file_scheme, sizeof(file_scheme) - 1) == 0 &&
        url[sizeof(file_scheme) - 1] == '/' && url[sizeof(file_scheme)] != '\0')
        return bp_blob_local_open(url + sizeof(file_scheme) - 1, out, err);
    if (bp_blob_url_is_s3(url))
        return open_s3(cfg, url + sizeof(s3_scheme) - 1, tmp_dir, out, err);
    return bp_error_set(err, BP_EINVAL,
                        "blob_url: expected file:///PATH or "
                        "s3://BUCKET[/PREFIX], got '%.100s'",
                        url);
}
