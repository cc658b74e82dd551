/*
 * blob_local.c: the local filesystem backend of the blob store. A key
 * maps to the file <root>/<key>. Writes go to a temporary file beside
 * the target, are flushed to disk, and are renamed over it, so a crash
 * leaves either the old file or the new one, plus at most a stray
 * temporary file "<key>~tmp-XXXXXX", which is never a valid key (keys
 * have no '~') and so is never opened, moved or listed as a blob.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blob/blob.h"

/* Appended to a key for its temporary file; '~' is not a key character. */
#define TEMP_SUFFIX "~tmp-XXXXXX"

/* The temporary suffix of earlier versions, skipped by listings. */
#define OLD_TEMP_MARK ".tmp-"
#define OLD_TEMP_RANDOM 6

/* No valid key is longer, so no directory deeper than this holds one. */
#define MAX_KEY_LEN 200

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

/*
 * Makes temp (a mkostemp template, filled in) a new name of the file at
 * src_path. 0, or -1 with errno (another file system, say).
 */
static int link_fresh(const char *src_path, char *temp)
{
    int fd = mkostemp(temp, O_CLOEXEC);
    if (fd < 0)
        return -1;
    close(fd);
    if (unlink(temp) != 0)
        return -1;
    return link(src_path, temp);
}

static enum bp_rc local_put_file(struct bp_blob_store *store, const char *key,
                                 const char *src_path, const char *content_type,
                                 struct bp_error *err)
{
    struct blob_local *b = from_base(store);
    struct bp_buf target, temp;
    bp_buf_init(&target, 4096);
    bp_buf_init(&temp, 4096);
    int src = -1, dst = -1;
    enum bp_rc rc = key_path(b, key, "", &target);
    if (rc == BP_OK)
        rc = key_path(b, key, TEMP_SUFFIX, &temp);
    if (rc != BP_OK)
        goto out_free;
    if (make_parents(b->root, temp.data) != 0) {
        rc = bp_error_set(err, bp_rc_for_write_errno(errno, BP_EUNAVAILABLE),
                          "file storage: %s", strerror(errno));
        goto out_free;
    }
    if (link_fresh(src_path, temp.data) == 0) {
        /* The same file system: the upload's bytes become the store's
         * without being written again; they still must be on disk. */
        dst = open(temp.data, O_RDONLY | O_CLOEXEC);
        if (dst < 0 || fchmod(dst, 0640) != 0 || fsync(dst) != 0) {
            rc =
                bp_error_set(err, bp_rc_for_write_errno(errno, BP_EUNAVAILABLE),
                             "file storage: %s", strerror(errno));
            goto out_unlink_temp;
        }
    } else {
        rc = key_path(b, key, TEMP_SUFFIX, &temp);
        if (rc != BP_OK)
            goto out_free;
        src = open(src_path, O_RDONLY | O_CLOEXEC);
        if (src < 0) {
            rc = bp_error_set(err, BP_EIO, "cannot read upload: %s",
                              strerror(errno));
            goto out_free;
        }
        if ((dst = mkostemp(temp.data, O_CLOEXEC)) < 0) {
            rc =
                bp_error_set(err, bp_rc_for_write_errno(errno, BP_EUNAVAILABLE),
                             "file storage: %s", strerror(errno));
            goto out_free;
        }
        if (fchmod(dst, 0640) != 0 || copy_fd(src, dst) != 0 ||
            fsync(dst) != 0) {
            rc =
                bp_error_set(err, bp_rc_for_write_errno(errno, BP_EUNAVAILABLE),
                             "file storage: %s", strerror(errno));
            goto out_unlink_temp;
        }
    }
    close(dst);
    dst = -1;
    if (rename(temp.data, target.data) != 0) {
        rc = bp_error_set(err, bp_rc_for_write_errno(errno, BP_EUNAVAILABLE),
                          "file storage: %s", strerror(errno));
        goto out_unlink_temp;
    }
    if (sync_parent(target.data) != 0)
        rc = bp_error_set(err, bp_rc_for_write_errno(errno, BP_EUNAVAILABLE),
                          "file storage: %s", strerror(errno));
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
                 : bp_error_set(err,
                                bp_rc_for_write_errno(saved, BP_EUNAVAILABLE),
                                "file storage: %s", strerror(saved));
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
        rc = bp_error_set(err, bp_rc_for_write_errno(errno, BP_EUNAVAILABLE),
                          "file storage: %s", strerror(errno));
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
                 : bp_error_set(err,
                                bp_rc_for_write_errno(errno, BP_EUNAVAILABLE),
                                "file storage: %s", strerror(errno));
    else if (sync_parent(dst.data) != 0)
        rc = bp_error_set(err, bp_rc_for_write_errno(errno, BP_EUNAVAILABLE),
                          "file storage: %s", strerror(errno));
out_free:
    bp_buf_free(&src);
    bp_buf_free(&dst);
    return rc;
}

static enum bp_rc local_presign_get(struct bp_blob_store *store,
                                    const char *key, long expires_s,
                                    const char *disposition, bool signed_only,
                                    struct bp_buf *url, struct bp_error *err)
{
    return bp_error_set(err, BP_EUNSUPPORTED,
                        "the local blob store has no presigned URLs");
}

static enum bp_rc local_presign_put(struct bp_blob_store *store,
                                    const char *key, const char *content_type,
                                    long expires_s, struct bp_buf *url,
                                    struct bp_error *err)
{
    return bp_error_set(err, BP_EUNSUPPORTED,
                        "the local blob store has no presigned URLs");
}

static int64_t mtime_ms(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
}

static enum bp_rc local_stat(struct bp_blob_store *store, const char *key,
                             struct bp_blob_entry *out, struct bp_error *err)
{
    struct bp_buf path;
    bp_buf_init(&path, 4096);
    enum bp_rc rc = key_path(from_base(store), key, "", &path);
    if (rc != BP_OK)
        goto out_free;
    struct stat st;
    if (stat(path.data, &st) != 0) {
        rc = errno == ENOENT || errno == ENOTDIR
                 ? bp_error_set(err, BP_ENOTFOUND, "File not found")
                 : bp_error_set(err,
                                bp_rc_for_write_errno(errno, BP_EUNAVAILABLE),
                                "file storage: %s", strerror(errno));
        goto out_free;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = bp_error_set(err, BP_ENOTFOUND, "File not found");
        goto out_free;
    }
    out->key = key;
    out->size = st.st_size;
    out->modified_ms = mtime_ms(&st);
out_free:
    bp_buf_free(&path);
    return rc;
}

/*
 * Returns true for a temporary file name of an earlier version:
 * "<name>.tmp-" and six characters of mkostemp's alphabet.
 */
static bool old_temp_name(const char *name)
{
    size_t len = strlen(name);
    size_t mark = sizeof(OLD_TEMP_MARK) - 1;
    if (len <= mark + OLD_TEMP_RANDOM)
        return false;
    const char *tail = name + len - OLD_TEMP_RANDOM - mark;
    if (strncmp(tail, OLD_TEMP_MARK, mark) != 0)
        return false;
    for (const char *p = tail + mark; *p != '\0'; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9')))
            return false;
    return true;
}

/* Directories still to be read by a listing, as paths below the root. */
struct dir_stack {
    char **paths;
    size_t count, cap;
};

static enum bp_rc dir_stack_push(struct dir_stack *stack, const char *path)
{
    if (stack->count == stack->cap) {
        size_t cap = stack->cap == 0 ? 16 : stack->cap * 2;
        char **grown = realloc(stack->paths, cap * sizeof(*grown));
        if (grown == NULL)
            return BP_ENOMEM;
        stack->paths = grown;
        stack->cap = cap;
    }
    char *copy = strdup(path);
    if (copy == NULL)
        return BP_ENOMEM;
    stack->paths[stack->count++] = copy;
    return BP_OK;
}

static void dir_stack_free(struct dir_stack *stack)
{
    for (size_t i = 0; i < stack->count; i++)
        free(stack->paths[i]);
    free(stack->paths);
}

/*
 * Returns true when the directory at rel (below the root, "" for the
 * root itself) may hold keys that start with prefix.
 */
static bool dir_may_match(const char *rel, const char *prefix)
{
    size_t rel_len = strlen(rel), prefix_len = strlen(prefix);
    if (rel_len == 0)
        return true;
    /* Compare "<rel>/" with prefix over their common length. */
    size_t n = rel_len < prefix_len ? rel_len : prefix_len;
    if (strncmp(rel, prefix, n) != 0)
        return false;
    return prefix_len <= rel_len || prefix[rel_len] == '/';
}

/* One listing in progress. */
struct walk {
    const char *root;
    const char *prefix;
    bp_blob_visit_fn visit;
    void *arg;
    struct dir_stack pending;
    struct bp_buf path; /* scratch: absolute path of a directory */
    struct bp_buf rel;  /* scratch: key of an entry */
};

/*
 * Reads the directory at rel (below the root): reports its blobs and
 * queues its subdirectories. A directory that vanished meanwhile is
 * skipped.
 */
static enum bp_rc walk_dir(struct walk *w, const char *rel,
                           struct bp_error *err)
{
    bp_buf_reset(&w->path);
    enum bp_rc rc = rel[0] == '\0'
                        ? bp_buf_append_str(&w->path, w->root)
                        : bp_buf_printf(&w->path, "%s/%s", w->root, rel);
    if (rc != BP_OK)
        return rc;
    DIR *dir = opendir(w->path.data);
    if (dir == NULL) {
        if (errno == ENOENT || errno == ENOTDIR)
            return BP_OK;
        return bp_error_set(err, bp_rc_for_write_errno(errno, BP_EUNAVAILABLE),
                            "file storage: %s", strerror(errno));
    }
    for (;;) {
        errno = 0;
        struct dirent *entry = readdir(dir);
        if (entry == NULL) {
            if (errno != 0)
                rc = bp_error_set(err,
                                  bp_rc_for_write_errno(errno, BP_EUNAVAILABLE),
                                  "file storage: %s", strerror(errno));
            break;
        }
        const char *name = entry->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        bp_buf_reset(&w->rel);
        rc = rel[0] == '\0' ? bp_buf_append_str(&w->rel, name)
                            : bp_buf_printf(&w->rel, "%s/%s", rel, name);
        if (rc == BP_ETOOBIG) {
            rc = BP_OK; /* longer than any key */
            continue;
        }
        if (rc != BP_OK)
            break;
        struct stat st;
        if (fstatat(dirfd(dir), name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue; /* removed since readdir */
        if (S_ISDIR(st.st_mode)) {
            if (dir_may_match(w->rel.data, w->prefix))
                rc = dir_stack_push(&w->pending, w->rel.data);
        } else if (S_ISREG(st.st_mode) && bp_blob_key_valid(w->rel.data) &&
                   !old_temp_name(name) &&
                   strncmp(w->rel.data, w->prefix, strlen(w->prefix)) == 0) {
            const struct bp_blob_entry blob = {
                .key = w->rel.data,
                .size = st.st_size,
                .modified_ms = mtime_ms(&st),
            };
            rc = w->visit(w->arg, &blob);
        }
        if (rc != BP_OK)
            break;
    }
    closedir(dir);
    return rc;
}

static enum bp_rc local_list(struct bp_blob_store *store, const char *prefix,
                             bp_blob_visit_fn visit, void *arg,
                             struct bp_error *err)
{
    struct walk w = {
        .root = from_base(store)->root,
        .prefix = prefix,
        .visit = visit,
        .arg = arg,
    };
    bp_buf_init(&w.path, 8192);
    bp_buf_init(&w.rel, MAX_KEY_LEN);
    /* Iterative, depth first: the stack holds directories still to read. */
    enum bp_rc rc = dir_stack_push(&w.pending, "");
    while (rc == BP_OK && w.pending.count > 0) {
        char *rel = w.pending.paths[--w.pending.count];
        rc = walk_dir(&w, rel, err);
        free(rel);
    }
    dir_stack_free(&w.pending);
    bp_buf_free(&w.rel);
    bp_buf_free(&w.path);
    return rc;
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
    .presign_put = local_presign_put,
    .stat = local_stat,
    .list = local_list,
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
