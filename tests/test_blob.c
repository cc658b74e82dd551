/*
 * test_blob.c: blob keys and the local filesystem blob backend: atomic
 * put, open, remove, and the refusals.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "blob.h"

struct fixture {
    char dir[64];
    char root[96];
    char src[96];
    struct bp_blob_store *store;
};

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/bp-test-blob-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->root, sizeof(f->root), "%s/files", f->dir);
    snprintf(f->src, sizeof(f->src), "%s/upload", f->dir);
    struct bp_error err = {{0}};
    assert_int_equal(bp_blob_local_open(f->root, &f->store, &err), BP_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    bp_blob_store_close(f->store);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* Reads the whole blob under key into buf (NUL-terminated). */
static void read_blob(struct bp_blob_store *store, const char *key, char *buf,
                      size_t len)
{
    struct bp_blob_reader reader;
    struct bp_error err = {{0}};
    assert_int_equal(bp_blob_open(store, key, &reader, &err), BP_OK);
    assert_true((size_t)reader.size < len);
    ssize_t got = read(reader.fd, buf, len - 1);
    assert_int_equal(got, reader.size);
    buf[got] = '\0';
    bp_blob_close(&reader);
    assert_int_equal(reader.fd, -1);
}

/* Counts the entries of dir other than . and .. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void test_bp_blob_key_valid_cases(void **state)
{
    assert_true(bp_blob_key_valid("original/65a1b2c3d4e5f60718293a4b"));
    assert_true(bp_blob_key_valid("thumb/65a1b2c3d4e5f60718293a4b.jpg"));
    assert_false(bp_blob_key_valid(""));
    assert_false(bp_blob_key_valid("/abs"));
    assert_false(bp_blob_key_valid("trailing/"));
    assert_false(bp_blob_key_valid("a//b"));
    assert_false(bp_blob_key_valid("../etc/passwd"));
    assert_false(bp_blob_key_valid("a/./b"));
    assert_false(bp_blob_key_valid("a/../b"));
    assert_false(bp_blob_key_valid("sp ace"));
    assert_false(bp_blob_key_valid("new\nline"));
    char long_key[202];
    memset(long_key, 'a', sizeof(long_key) - 1);
    long_key[201] = '\0';
    assert_false(bp_blob_key_valid(long_key));
    long_key[200] = '\0';
    assert_true(bp_blob_key_valid(long_key));
}

static void test_bp_blob_put_file_then_open(void **state)
{
    struct fixture *f = *state;
    write_text(f->src, "first version");
    struct bp_error err = {{0}};
    assert_int_equal(bp_blob_put_file(f->store, "original/abc", f->src, &err),
                     BP_OK);
    char buf[64];
    read_blob(f->store, "original/abc", buf, sizeof(buf));
    assert_string_equal(buf, "first version");

    /* Replacing leaves the new content and no temporary file. */
    write_text(f->src, "second");
    assert_int_equal(bp_blob_put_file(f->store, "original/abc", f->src, &err),
                     BP_OK);
    read_blob(f->store, "original/abc", buf, sizeof(buf));
    assert_string_equal(buf, "second");
    char dir[128];
    snprintf(dir, sizeof(dir), "%s/original", f->root);
    assert_int_equal(count_entries(dir), 1);
}

static void test_bp_blob_put_file_missing_source(void **state)
{
    struct fixture *f = *state;
    struct bp_error err = {{0}};
    assert_int_equal(
        bp_blob_put_file(f->store, "original/x", "/nonexistent/file", &err),
        BP_EIO);
    struct bp_blob_reader reader;
    assert_int_equal(bp_blob_open(f->store, "original/x", &reader, &err),
                     BP_ENOTFOUND);
}

static void test_bp_blob_put_file_unwritable_leaves_nothing(void **state)
{
    struct fixture *f = *state;
    write_text(f->src, "data");
    /* A file where the key's directory should be makes the write fail. */
    char blocker[128];
    snprintf(blocker, sizeof(blocker), "%s/thumb", f->root);
    write_text(blocker, "not a directory");
    struct bp_error err = {{0}};
    assert_int_equal(bp_blob_put_file(f->store, "thumb/a.jpg", f->src, &err),
                     BP_EUNAVAILABLE);
    assert_int_equal(count_entries(f->root), 1);
}

static void test_bp_blob_rejects_invalid_keys(void **state)
{
    struct fixture *f = *state;
    write_text(f->src, "data");
    struct bp_error err = {{0}};
    struct bp_blob_reader reader;
    assert_int_equal(bp_blob_put_file(f->store, "../escape", f->src, &err),
                     BP_EINVAL);
    assert_int_equal(bp_blob_open(f->store, "/etc/passwd", &reader, &err),
                     BP_EINVAL);
    assert_int_equal(bp_blob_remove(f->store, "a/../../b", &err), BP_EINVAL);
}

static void test_bp_blob_remove_is_idempotent(void **state)
{
    struct fixture *f = *state;
    write_text(f->src, "data");
    struct bp_error err = {{0}};
    assert_int_equal(bp_blob_put_file(f->store, "fullsize/z.jpg", f->src, &err),
                     BP_OK);
    assert_int_equal(bp_blob_remove(f->store, "fullsize/z.jpg", &err), BP_OK);
    struct bp_blob_reader reader;
    assert_int_equal(bp_blob_open(f->store, "fullsize/z.jpg", &reader, &err),
                     BP_ENOTFOUND);
    assert_int_equal(bp_blob_remove(f->store, "fullsize/z.jpg", &err), BP_OK);
}

static void test_bp_blob_move_replaces_target(void **state)
{
    struct fixture *f = *state;
    struct bp_error err = {{0}};
    write_text(f->src, "old");
    assert_int_equal(bp_blob_put_file(f->store, "original/m", f->src, &err),
                     BP_OK);
    write_text(f->src, "new");
    assert_int_equal(
        bp_blob_put_file(f->store, "staging/m/original", f->src, &err), BP_OK);
    assert_int_equal(
        bp_blob_move(f->store, "staging/m/original", "original/m", &err),
        BP_OK);
    char buf[16];
    read_blob(f->store, "original/m", buf, sizeof(buf));
    assert_string_equal(buf, "new");
    struct bp_blob_reader reader;
    assert_int_equal(
        bp_blob_open(f->store, "staging/m/original", &reader, &err),
        BP_ENOTFOUND);
    assert_int_equal(
        bp_blob_move(f->store, "staging/m/original", "original/m", &err),
        BP_ENOTFOUND);
    assert_int_equal(bp_blob_move(f->store, "../x", "original/m", &err),
                     BP_EINVAL);
}

static void test_bp_blob_presign_get_unsupported_locally(void **state)
{
    struct fixture *f = *state;
    struct bp_buf url;
    bp_buf_init(&url, 0);
    struct bp_error err = {{0}};
    assert_int_equal(
        bp_blob_presign_get(f->store, "thumb/a.jpg", 60, &url, &err),
        BP_EUNSUPPORTED);
    assert_int_equal(url.len, 0);
    bp_buf_free(&url);
}

#define BLOB_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bp_blob_key_valid_cases),
        BLOB_TEST(test_bp_blob_put_file_then_open),
        BLOB_TEST(test_bp_blob_put_file_missing_source),
        BLOB_TEST(test_bp_blob_put_file_unwritable_leaves_nothing),
        BLOB_TEST(test_bp_blob_rejects_invalid_keys),
        BLOB_TEST(test_bp_blob_remove_is_idempotent),
        BLOB_TEST(test_bp_blob_move_replaces_target),
        BLOB_TEST(test_bp_blob_presign_get_unsupported_locally),
    };
    return cmocka_run_group_tests_name("blob_local", tests, NULL, NULL);
}
