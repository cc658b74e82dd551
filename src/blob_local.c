/*
 * blob_local.c: the local filesystem backend of the blob store. A key
 * maps to the file <root>/<key>. Writes go to a temporary file beside
 * the target, are flushed to disk, and are renamed over it, so a crash
 * leaves either the old file or the new one, plus at most a stray
 * temporary file that never has a blob's name.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blob.h"

struct blob_local {
    struct bp_blob_store base;
    char *root;
};

static struct blob_local *from_base(struct bp_blob_store *store)
{
    return (struct blob_local *)store;
}

/* Writes <root>/<key> (and an optional suffix) into path. */
static enum bp_rc key_path(const struct blob_local *b, const char *key,
                           const char *suffix, struct bp_buf *path)
{
    bp_buf_reset(path);
    return bp_buf_printf(path, "%s/%s%s", b->root, key, suffix);
}

/* Creates the directories of path below root, one level at a time. */
static int make_parents(const char *root, char *path)
{
    for (char *p = path + strlen(root) + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, 0750);
        *p = '/';
        if (rc != 0 && errno != EEXIST)
            return -1;
    }
    return 0;
}

/* Copies everything from fd in to fd out. */
static int copy_fd(int in, int out)
{
    char chunk[65536];
    for (;;) {
        ssize_t got = read(in, chunk, sizeof(chunk));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -1;
        if (got == 0)
            return 0;
        for (ssize_t done = 0; done < got;) {
            ssize_t put = write(out, chunk + done, (size_t)(got - done));
            if (put < 0 && errno == EINTR)
                continue;
            if (put <= 0)
                return -1;
            done += put;
        }
    }
}

/* Flushes the directory that holds path, so that a rename is durable. */
static int sync_parent(const char *path)
{
    char *copy = strdup(path);
    if (copy == NULL)
        return -1;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static enum bp_rc local_put_file(struct bp_blob_store *store, const char *key,
                                 const char *src_path, struct bp_error *err)
{
    struct blob_local *b = from_base(store);
    struct bp_buf target, temp;
    bp_buf_init(&target, 4096);
    bp_buf_init(&temp, 4096);
    int src = -1, dst = -1;
    enum bp_rc rc = key_path(b, key, "", &target);
    if (rc == BP_OK)
        rc = key_path(b, key, ".tmp-XXXXXX", &temp);
    if (rc != BP_OK)
        goto out_free;
    src = open(src_path, O_RDONLY | O_CLOEXEC);
    if (src < 0) {
        rc = bp_error_set(err, BP_EIO, "cannot read upload: %s",
                          strerror(errno));
        goto out_free;
    }
    if (make_parents(b->root, temp.data) != 0 ||
        (dst = mkostemp(temp.data, O_CLOEXEC)) < 0) {
        rc = bp_error_set(err, BP_EUNAVAILABLE, "file storage: %s",
                          strerror(errno));
        goto out_free;
    }
    if (fchmod(dst, 0640) != 0 || copy_fd(src, dst) != 0 || fsync(dst) != 0) {
        rc = bp_error_set(err, BP_EUNAVAILABLE, "file storage: %s",
                          strerror(errno));
        goto out_unlink_temp;
    }
    close(dst);
    dst = -1;
    if (rename(temp.data, target.data) != 0) {
        rc = bp_error_set(err, BP_EUNAVAILABLE, "file storage: %s",
                          strerror(errno));
        goto out_unlink_temp;
    }
    if (sync_parent(target.data) != 0)
        rc = bp_error_set(err, BP_EUNAVAILABLE, "file storage: %s",
                          strerror(errno));
    goto out_free;
out_unlink_temp:
    unlink(temp.data);
out_free:
    if (dst >= 0)
        close(dst);
    if (src >= 0)
        close(src);
    bp_buf_free(&temp);
    bp_buf_free(&target);
    return rc;
}

static enum bp_rc local_open(struct bp_blob_store *store, const char *key,
                             struct bp_blob_reader *out, struct bp_error *err)
{
    struct bp_buf path;
    bp_buf_init(&path, 4096);
    enum bp_rc rc = key_path(from_base(store), key, "", &path);
    if (rc != BP_OK)
        goto out_free;
    int fd = open(path.data, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int saved = errno;
        if (fd >= 0)
            close(fd);
        rc = saved == ENOENT
                 ? bp_error_set(err, BP_ENOTFOUND, "File not found")
                 : bp_error_set(err, BP_EUNAVAILABLE, "file storage: %s",
                                strerror(saved));
        goto out_free;
    }
    out->fd = fd;
    out->size = st.st_size;
out_free:
    bp_buf_free(&path);
    return rc;
}

static enum bp_rc local_remove(struct bp_blob_store *store, const char *key,
                               struct bp_error *err)
{
    struct bp_buf path;
    bp_buf_init(&path, 4096);
    enum bp_rc rc = key_path(from_base(store), key, "", &path);
    if (rc == BP_OK && unlink(path.data) != 0 && errno != ENOENT)
        rc = bp_error_set(err, BP_EUNAVAILABLE, "file storage: %s",
                          strerror(errno));
    bp_buf_free(&path);
    return rc;
}

static enum bp_rc local_move(struct bp_blob_store *store, const char *from,
                             const char *to, struct bp_error *err)
{
    struct blob_local *b = from_base(store);
    struct bp_buf src, dst;
    bp_buf_init(&src, 4096);
    bp_buf_init(&dst, 4096);
    enum bp_rc rc = key_path(b, from, "", &src);
    if (rc == BP_OK)
        rc = key_path(b, to, "", &dst);
    if (rc != BP_OK)
        goto out_free;
    if (make_parents(b->root, dst.data) != 0 || rename(src.data, dst.data) != 0)
        rc = errno == ENOENT
                 ? bp_error_set(err, BP_ENOTFOUND, "File not found")
                 : bp_error_set(err, BP_EUNAVAILABLE, "file storage: %s",
                                strerror(errno));
    else if (sync_parent(dst.data) != 0)
        rc = bp_error_set(err, BP_EUNAVAILABLE, "file storage: %s",
                          strerror(errno));
out_free:
    bp_buf_free(&src);
    bp_buf_free(&dst);
    return rc;
}

static enum bp_rc local_presign_get(struct bp_blob_store *store,
                                    const char *key, long expires_s,
                                    struct bp_buf *url, struct bp_error *err)
{
    return bp_error_set(err, BP_EUNSUPPORTED,
                        "the local blob store has no presigned URLs");
}

static void local_close(struct bp_blob_store *store)
{
    struct blob_local *b = from_base(store);
    free(b->root);
    free(b);
}

static const struct bp_blob_ops local_ops = {
    .name = "local",
    .put_file = local_put_file,
    .open = local_open,
    .remove = local_remove,
    .move = local_move,
    .presign_get = local_presign_get,
    .close = local_close,
};

enum bp_rc bp_blob_local_open(const char *root, struct bp_blob_store **out,
                              struct bp_error *err)
{
    if (mkdir(root, 0750) != 0 && errno != EEXIST)
        return bp_error_set(err, BP_EUNAVAILABLE,
                            "cannot create the file storage directory: %s",
                            strerror(errno));
    struct blob_local *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return BP_ENOMEM;
    b->root = strdup(root);
    if (b->root == NULL) {
        free(b);
        return BP_ENOMEM;
    }
    b->base.ops = &local_ops;
    *out = &b->base;
    return BP_OK;
}
