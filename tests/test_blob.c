/*
 * test_blob.c: blob keys, the choice of a backend from blob_url, and the
 * blob store contract (put, open, remove, move, stat, list) run against
 * the local backend always and against S3 when BANDPICS_TEST_S3_ENDPOINT
 * names one (tests/integration/test_blob_s3.py starts s3rver for it).
 * Local-only tests cover temporary files; S3-only tests cover presigned
 * URLs, the key prefix, paged listings, and outages: a closed port and a
 * silent server here, and, when the driver offers a control channel
 * (BANDPICS_TEST_S3_CONTROL="<fd to driver>,<fd from driver>", one line
 * each way: "stop", "start", "pause" or "resume", answered "ok"), the
 * storage stopped, restarted and paused. Tests that cannot run are left
 * out of the plan, not skipped.
 *
 * Settings: BANDPICS_TEST_S3_ENDPOINT, _BUCKET (bandpics-test), _REGION
 * (us-east-1), _ACCESS_KEY_ID (S3RVER), _SECRET_ACCESS_KEY, _ADDRESSING
 * (path), BANDPICS_TEST_BLOB_BIG_BYTES (size of the streaming test, 4M),
 * BANDPICS_TEST_BLOB_FILTER (a cmocka test name pattern).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "blob/blob.h"
#include "config.h"

#define DEFAULT_BIG_BYTES (4L * 1024 * 1024)
#define TEST_SECRET "bp-test-secret-never-shown"
#define OUTAGE_LIMIT_MS 2000  /* a refused connection answers at once */
#define SILENT_TIMEOUT_MS 800 /* the request budget of the stall tests */
#define SILENT_MARGIN_MS 1500 /* ... and what may pass beyond it */
#define CLOCK_SLACK_MS 120000 /* storage clock against ours */
#define MAX_SEEN 16

struct fixture {
    char dir[64];    /* temporary: the upload source, local files */
    char root[96];   /* the local backend's root */
    char src[96];    /* an upload source file */
    char prefix[64]; /* S3: the key prefix of this test's store */
    bool s3;
    struct bp_blob_store *store;
};

/* What a listing reported. */
struct seen {
    size_t count;
    char keys[MAX_SEEN][208];
    off_t sizes[MAX_SEEN];
    int64_t modified_ms[MAX_SEEN];
    size_t stop_after; /* 0: never stop */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *env_or(const char *name, const char *fallback)
{
    const char *value = getenv(name);
    return value != NULL && value[0] != '\0' ? value : fallback;
}

/*
 * Writes a new file at path: a new file, not the old one rewritten, since
 * a local store may have linked the old one (bp_blob_put_file).
 */
static void write_text(const char *path, const char *text)
{
    unlink(path);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* Fills the file at path with len bytes of a recognizable pattern. */
static void write_pattern(const char *path, long len)
{
    unlink(path); /* a new file, as write_text */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    unsigned char chunk[65536];
    uint32_t x = 2463534242u;
    for (long done = 0; done < len;) {
        size_t n = sizeof(chunk);
        if ((long)n > len - done)
            n = (size_t)(len - done);
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            chunk[i] = (unsigned char)x;
        }
        assert_int_equal(fwrite(chunk, 1, n, f), n);
        done += (long)n;
    }
    assert_int_equal(fclose(f), 0);
}

static void make_dirs(struct fixture *f)
{
    snprintf(f->dir, sizeof(f->dir), "/tmp/bp-test-blob-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->root, sizeof(f->root), "%s/files", f->dir);
    snprintf(f->src, sizeof(f->src), "%s/upload", f->dir);
}

static int setup_local(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    make_dirs(f);
    struct bp_error err = {{0}};
    assert_int_equal(bp_blob_local_open(f->root, &f->store, &err), BP_OK);
    *state = f;
    return 0;
}

/* S3 settings from the environment; endpoint NULL when none is set. */
static struct bp_blob_s3_settings s3_settings(const char *prefix,
                                              const char *tmp_dir)
{
    return (struct bp_blob_s3_settings){
        .bucket = env_or("BANDPICS_TEST_S3_BUCKET", "bandpics-test"),
        .prefix = prefix,
        .endpoint = getenv("BANDPICS_TEST_S3_ENDPOINT"),
        .region = env_or("BANDPICS_TEST_S3_REGION", "us-east-1"),
        .path_style =
            strcmp(env_or("BANDPICS_TEST_S3_ADDRESSING", "path"), "path") == 0,
        .access_key_id = env_or("BANDPICS_TEST_S3_ACCESS_KEY_ID", "S3RVER"),
        .secret_access_key =
            env_or("BANDPICS_TEST_S3_SECRET_ACCESS_KEY", TEST_SECRET),
        .session_token = "",
        .public_base_url = "",
        .tmp_dir = tmp_dir,
        .timeout_ms = 10000,
    };
}

static bool s3_configured(void)
{
    return getenv("BANDPICS_TEST_S3_ENDPOINT") != NULL &&
           getenv("BANDPICS_TEST_S3_ENDPOINT")[0] != '\0';
}

/* An S3 store under a prefix of its own, so that tests never meet. */
static int setup_s3(void **state)
{
    assert_true(s3_configured());
    static int serial;
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    make_dirs(f);
    f->s3 = true;
    snprintf(f->prefix, sizeof(f->prefix), "bp-test-%ld-%ld-%d", (long)getpid(),
             (long)time(NULL), ++serial);
    struct bp_blob_s3_settings settings = s3_settings(f->prefix, f->dir);
    struct bp_error err = {{0}};
    assert_int_equal(bp_blob_s3_open(&settings, &f->store, &err), BP_OK);
    *state = f;
    return 0;
}

static enum bp_rc collect(void *arg, const struct bp_blob_entry *entry)
{
    struct seen *seen = arg;
    assert_true(seen->count < MAX_SEEN);
    snprintf(seen->keys[seen->count], sizeof(seen->keys[0]), "%s", entry->key);
    seen->sizes[seen->count] = entry->size;
    seen->modified_ms[seen->count] = entry->modified_ms;
    seen->count++;
    if (seen->stop_after != 0 && seen->count == seen->stop_after)
        return BP_ECONFLICT;
    return BP_OK;
}

/* Every key a listing reported, however many. */
struct key_list {
    char **keys;
    size_t count, cap;
};

static enum bp_rc gather(void *arg, const struct bp_blob_entry *entry)
{
    struct key_list *list = arg;
    if (list->count == list->cap) {
        list->cap = list->cap == 0 ? 64 : list->cap * 2;
        list->keys = realloc(list->keys, list->cap * sizeof(*list->keys));
        assert_non_null(list->keys);
    }
    list->keys[list->count] = strdup(entry->key);
    assert_non_null(list->keys[list->count]);
    list->count++;
    return BP_OK;
}

static void key_list_free(struct key_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->keys[i]);
    free(list->keys);
}

/* Removes everything left in the store (S3 objects outlive the test). */
static void empty_store(struct bp_blob_store *store)
{
    struct key_list list = {0};
    struct bp_error err = {{0}};
    if (bp_blob_list(store, "", gather, &list, &err) == BP_OK)
        for (size_t i = 0; i < list.count; i++)
            bp_blob_remove(store, list.keys[i], &err);
    key_list_free(&list);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (f->s3)
        empty_store(f->store);
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

/* Checks that the blob under key holds exactly the file at path. */
static void assert_blob_equals_file(struct bp_blob_store *store,
                                    const char *key, const char *path)
{
    struct bp_blob_reader reader;
    struct bp_error err = {{0}};
    assert_int_equal(bp_blob_open(store, key, &reader, &err), BP_OK);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(reader.size, st.st_size);
    static unsigned char want[65536], got[65536];
    for (off_t done = 0; done < st.st_size;) {
        ssize_t n = read(fd, want, sizeof(want));
        assert_true(n > 0);
        for (ssize_t have = 0; have < n;) {
            ssize_t m = read(reader.fd, got + have, (size_t)(n - have));
            assert_true(m > 0);
            have += m;
        }
        assert_memory_equal(want, got, (size_t)n);
        done += n;
    }
    assert_int_equal(read(reader.fd, got, 1), 0);
    close(fd);
    bp_blob_close(&reader);
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

/* Returns the index of key among what a listing saw, or -1. */
static int seen_index(const struct seen *seen, const char *key)
{
    for (size_t i = 0; i < seen->count; i++)
        if (strcmp(seen->keys[i], key) == 0)
            return (int)i;
    return -1;
}

static void put_text(struct bp_blob_store *store, const char *path,
                     const char *key, const char *text)
{
    struct bp_error err = {{0}};
    write_text(path, text);
    assert_int_equal(bp_blob_put_file(store, key, path, NULL, &err), BP_OK);
}

/* -- keys and blob_url, no storage needed */

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
    assert_false(bp_blob_key_valid("a~tmp-Ab12Cd"));
    char long_key[202];
    memset(long_key, 'a', sizeof(long_key) - 1);
    long_key[201] = '\0';
    assert_false(bp_blob_key_valid(long_key));
    long_key[200] = '\0';
    assert_true(bp_blob_key_valid(long_key));
}

/* A configuration with what bp_blob_store_open reads; blob_url is url. */
static struct bp_config s3_config(char *url)
{
    static char endpoint[] = "http://127.0.0.1:9";
    static char region[] = "eu-west-1";
    static char addressing[] = "auto";
    static char key_id[] = "AKIDEXAMPLE";
    static char secret[] = TEST_SECRET;
    static char empty[] = "";
    static char cdn[] = "https://cdn.example";
    return (struct bp_config){
        .blob_url = url,
        .s3_endpoint = endpoint,
        .s3_region = region,
        .s3_addressing = addressing,
        .s3_access_key_id = key_id,
        .s3_secret_access_key = secret,
        .s3_session_token = empty,
        .s3_timeout_ms = 1000,
        .public_base_url = cdn,
    };
}

/* Opens the backend that blob_url names with s3_config's settings. */
static enum bp_rc open_url(const char *blob_url, const char *dir,
                           struct bp_blob_store **store)
{
    char url[256], root[96];
    snprintf(url, sizeof(url), "%s", blob_url);
    snprintf(root, sizeof(root), "%s/default", dir);
    struct bp_config cfg = s3_config(url);
    struct bp_error err = {{0}};
    return bp_blob_store_open(&cfg, root, dir, store, &err);
}

static void test_bp_blob_store_open_picks_backend(void **state)
{
    char dir[] = "/tmp/bp-test-blob-open-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    struct bp_error err = {{0}};
    struct bp_blob_store *store = NULL;
    struct stat st;

    assert_int_equal(open_url("", dir, &store), BP_OK);
    assert_string_equal(bp_blob_store_name(store), "local");
    bp_blob_store_close(store);
    snprintf(path, sizeof(path), "%s/default", dir);
    assert_int_equal(stat(path, &st), 0);

    char url[128];
    snprintf(url, sizeof(url), "file://%s/elsewhere", dir);
    assert_int_equal(open_url(url, dir, &store), BP_OK);
    assert_string_equal(bp_blob_store_name(store), "local");
    bp_blob_store_close(store);
    snprintf(path, sizeof(path), "%s/elsewhere", dir);
    assert_int_equal(stat(path, &st), 0);

    /* Slashes around the prefix are trimmed. */
    assert_int_equal(
        open_url("s3://bp-bucket.example//photos/2026/", dir, &store), BP_OK);
    assert_string_equal(bp_blob_store_name(store), "s3");
    struct bp_buf link;
    bp_buf_init(&link, 0);
    assert_int_equal(
        bp_blob_presign_get(store, "thumb/a.jpg", 60, NULL, false, &link, &err),
        BP_OK);
    assert_string_equal(link.data,
                        "https://cdn.example/photos/2026/thumb/a.jpg");
    /* Signed only: a presigned URL of the bucket, never the CDN's. */
    bp_buf_reset(&link);
    assert_int_equal(
        bp_blob_presign_get(store, "original/a", 60, NULL, true, &link, &err),
        BP_OK);
    assert_null(strstr(link.data, "cdn.example"));
    assert_non_null(strstr(link.data, "X-Amz-Signature="));
    bp_blob_store_close(store);

    assert_int_equal(open_url("s3://bp-bucket/", dir, &store), BP_OK);
    bp_buf_reset(&link);
    assert_int_equal(
        bp_blob_presign_get(store, "thumb/a.jpg", 60, NULL, false, &link, &err),
        BP_OK);
    assert_string_equal(link.data, "https://cdn.example/thumb/a.jpg");
    bp_blob_store_close(store);
    bp_buf_free(&link);

    static const char *const refused[] = {
        "s3://ab",
        "s3://Upper-Case",
        "s3://under_score",
        "s3://bucket/b/../c",
        "s3://bucket/a//b",
        "s3://bucket/a b",
        "http://example.com/x",
        "file://relative",
        "s3://",
        "s3://a-bucket-name-that-is-much-too-long-for-s3-to-accept-it-at-all-"
        "really",
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        store = NULL;
        if (open_url(refused[i], dir, &store) != BP_EINVAL)
            fail_msg("%s was not refused", refused[i]);
        assert_null(store);
    }
    snprintf(path, sizeof(path), "rm -rf '%s'", dir);
    assert_int_equal(system(path), 0);
}

static void test_bp_blob_s3_open_refuses_bad_settings(void **state)
{
    struct bp_blob_s3_settings settings = {
        .bucket = "bp-bucket",
        .prefix = "",
        .endpoint = "http://127.0.0.1:9",
        .region = "us-east-1",
        .path_style = true,
        .access_key_id = "AKIDEXAMPLE",
        .secret_access_key = TEST_SECRET,
        .tmp_dir = "/tmp",
        .timeout_ms = 1000,
    };
    struct bp_blob_store *store = NULL;
    struct bp_error err = {{0}};
    assert_int_equal(bp_blob_s3_open(&settings, &store, &err), BP_OK);
    bp_blob_store_close(store);

    struct bp_blob_s3_settings bad = settings;
    bad.endpoint = "ftp://127.0.0.1";
    assert_int_equal(bp_blob_s3_open(&bad, &store, &err), BP_EINVAL);
    bad.endpoint = "http://user:pw@127.0.0.1";
    assert_int_equal(bp_blob_s3_open(&bad, &store, &err), BP_EINVAL);
    bad.endpoint = "http://127.0.0.1/some/path";
    assert_int_equal(bp_blob_s3_open(&bad, &store, &err), BP_EINVAL);
    bad = settings;
    bad.prefix = "/photos";
    assert_int_equal(bp_blob_s3_open(&bad, &store, &err), BP_EINVAL);
    bad = settings;
    bad.secret_access_key = "";
    assert_int_equal(bp_blob_s3_open(&bad, &store, &err), BP_EINVAL);
    bad = settings;
    bad.bucket = "";
    assert_int_equal(bp_blob_s3_open(&bad, &store, &err), BP_EINVAL);
}

/* Opens an S3 store on endpoint with the fixed settings of URL tests. */
static struct bp_blob_store *url_store(const char *endpoint, bool path_style,
                                       const char *public_base_url)
{
    struct bp_blob_s3_settings settings = {
        .bucket = "bp-bucket",
        .prefix = "photos/2026",
        .endpoint = endpoint,
        .region = "eu-west-1",
        .path_style = path_style,
        .access_key_id = "AKIDEXAMPLE",
        .secret_access_key = TEST_SECRET,
        .session_token = "",
        .public_base_url = public_base_url,
        .tmp_dir = "/tmp",
        .timeout_ms = 1000,
    };
    struct bp_blob_store *store = NULL;
    struct bp_error err = {{0}};
    assert_int_equal(bp_blob_s3_open(&settings, &store, &err), BP_OK);
    return store;
}

/* Presigns method on key with store and checks the URL's beginning. */
static void assert_presigned(struct bp_blob_store *store, const char *method,
                             const char *expected_start)
{
    struct bp_buf url;
    bp_buf_init(&url, 0);
    struct bp_error err = {{0}};
    enum bp_rc rc = strcmp(method, "PUT") == 0
                        ? bp_blob_presign_put(store, "original/abc",
                                              "image/jpeg", 600, &url, &err)
                        : bp_blob_presign_get(store, "original/abc", 600, NULL,
                                              false, &url, &err);
    assert_int_equal(rc, BP_OK);
    if (strncmp(url.data, expected_start, strlen(expected_start)) != 0)
        fail_msg("%s does not start with %s", url.data, expected_start);
    assert_non_null(strstr(url.data, "X-Amz-Algorithm=AWS4-HMAC-SHA256"));
    assert_non_null(strstr(url.data, "X-Amz-Credential=AKIDEXAMPLE%2F"));
    assert_non_null(strstr(url.data, "%2Feu-west-1%2Fs3%2Faws4_request"));
    assert_non_null(strstr(url.data, "X-Amz-Expires=600"));
    assert_non_null(strstr(url.data, "X-Amz-Signature="));
    assert_null(strstr(url.data, TEST_SECRET));
    if (strcmp(method, "PUT") == 0)
        assert_non_null(strstr(url.data, "content-type"));
    bp_buf_free(&url);
}

static void test_bp_blob_s3_presign_urls(void **state)
{
    struct bp_blob_store *store = url_store("http://127.0.0.1:4568/", true, "");
    assert_presigned(store, "GET",
                     "http://127.0.0.1:4568/bp-bucket/photos/2026/original/"
                     "abc?X-Amz-");
    assert_presigned(store, "PUT",
                     "http://127.0.0.1:4568/bp-bucket/photos/2026/original/"
                     "abc?X-Amz-");
    bp_blob_store_close(store);

    store = url_store("", false, "");
    assert_presigned(store, "GET",
                     "https://bp-bucket.s3.eu-west-1.amazonaws.com/photos/"
                     "2026/original/abc?X-Amz-");
    bp_blob_store_close(store);

    /* A default port is not part of the host that is signed. */
    store = url_store("https://minio.example:443", true, "");
    assert_presigned(store, "PUT",
                     "https://minio.example/bp-bucket/photos/2026/original/"
                     "abc?X-Amz-");
    bp_blob_store_close(store);

    /* A public base URL serves GETs unsigned; PUTs are still signed. */
    store = url_store("", false, "https://cdn.example/media/");
    struct bp_buf url;
    bp_buf_init(&url, 0);
    struct bp_error err = {{0}};
    assert_int_equal(bp_blob_presign_get(store, "thumb/abc.jpg", 600, NULL,
                                         false, &url, &err),
                     BP_OK);
    assert_string_equal(url.data,
                        "https://cdn.example/media/photos/2026/thumb/abc.jpg");
    assert_int_equal(
        bp_blob_presign_get(store, "../x", 600, NULL, false, &url, &err),
        BP_EINVAL);
    assert_presigned(store, "PUT",
                     "https://bp-bucket.s3.eu-west-1.amazonaws.com/photos/"
                     "2026/original/abc?X-Amz-");
    bp_buf_free(&url);
    bp_blob_store_close(store);
}

/* Returns a loopback TCP port where nothing listens (just released). */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    socklen_t len = sizeof(addr);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    close(fd);
    return ntohs(addr.sin_port);
}

/* Returns a listening loopback socket that never answers; *port is set. */
static int silent_listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(listen(fd, 16), 0);
    socklen_t len = sizeof(addr);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    *port = ntohs(addr.sin_port);
    return fd;
}

/*
 * Runs every operation on store and checks that each fails with
 * BP_EUNAVAILABLE within limit_ms, with a detail that names the
 * operation and contains want, and no secret.
 */
static void assert_all_unavailable(struct bp_blob_store *store, const char *src,
                                   const char *want, int64_t limit_ms)
{
    static const char *const ops[] = {"PUT",    "GET",  "HEAD",
                                      "DELETE", "COPY", "LIST"};
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        struct bp_error err = {{0}};
        struct bp_blob_reader reader;
        struct bp_blob_entry entry;
        struct seen seen = {0};
        int64_t start = monotonic_ms();
        enum bp_rc rc;
        switch (i) {
        case 0:
            rc = bp_blob_put_file(store, "original/down", src, NULL, &err);
            break;
        case 1:
            rc = bp_blob_open(store, "original/down", &reader, &err);
            break;
        case 2:
            rc = bp_blob_stat(store, "original/down", &entry, &err);
            break;
        case 3:
            rc = bp_blob_remove(store, "original/down", &err);
            break;
        case 4:
            rc = bp_blob_move(store, "original/down", "original/up", &err);
            break;
        default:
            rc = bp_blob_list(store, "original/", collect, &seen, &err);
            break;
        }
        int64_t took = monotonic_ms() - start;
        print_message("# %s: %s (%lld ms)\n", ops[i], err.detail,
                      (long long)took);
        assert_int_equal(rc, BP_EUNAVAILABLE);
        assert_true(took < limit_ms);
        assert_non_null(strstr(err.detail, "object storage: "));
        assert_non_null(strstr(err.detail, ops[i]));
        assert_non_null(strstr(err.detail, want));
        assert_null(strstr(err.detail, TEST_SECRET));
    }
}

static void test_bp_blob_s3_connection_refused_is_unavailable(void **state)
{
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", closed_port());
    struct bp_blob_store *store = url_store(endpoint, true, "");
    char src[] = "/tmp/bp-test-blob-src-XXXXXX";
    int fd = mkstemp(src);
    assert_true(fd >= 0);
    close(fd);
    assert_all_unavailable(store, src, "connection refused", OUTAGE_LIMIT_MS);
    unlink(src);
    bp_blob_store_close(store);
}

static void test_bp_blob_s3_silent_server_times_out(void **state)
{
    int port;
    int listener = silent_listener(&port);
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", port);
    struct bp_blob_s3_settings settings = {
        .bucket = "bp-bucket",
        .prefix = "",
        .endpoint = endpoint,
        .region = "us-east-1",
        .path_style = true,
        .access_key_id = "AKIDEXAMPLE",
        .secret_access_key = TEST_SECRET,
        .tmp_dir = "/tmp",
        .timeout_ms = SILENT_TIMEOUT_MS,
    };
    struct bp_blob_store *store = NULL;
    struct bp_error err = {{0}};
    assert_int_equal(bp_blob_s3_open(&settings, &store, &err), BP_OK);
    char src[] = "/tmp/bp-test-blob-src-XXXXXX";
    int fd = mkstemp(src);
    assert_true(fd >= 0);
    close(fd);
    assert_all_unavailable(store, src, "no answer within",
                           SILENT_TIMEOUT_MS + SILENT_MARGIN_MS);
    unlink(src);
    bp_blob_store_close(store);
    close(listener);
}

/* -- the contract: every backend */

static void test_bp_blob_put_file_then_open(void **state)
{
    struct fixture *f = *state;
    put_text(f->store, f->src, "original/abc", "first version");
    char buf[64];
    read_blob(f->store, "original/abc", buf, sizeof(buf));
    assert_string_equal(buf, "first version");

    put_text(f->store, f->src, "original/abc", "second");
    read_blob(f->store, "original/abc", buf, sizeof(buf));
    assert_string_equal(buf, "second");
}

static void test_bp_blob_put_file_empty(void **state)
{
    struct fixture *f = *state;
    put_text(f->store, f->src, "thumb/empty.jpg", "");
    char buf[8];
    read_blob(f->store, "thumb/empty.jpg", buf, sizeof(buf));
    assert_string_equal(buf, "");
}

static void test_bp_blob_put_file_missing_source(void **state)
{
    struct fixture *f = *state;
    struct bp_error err = {{0}};
    assert_int_equal(bp_blob_put_file(f->store, "original/x",
                                      "/nonexistent/file", NULL, &err),
                     BP_EIO);
    struct bp_blob_reader reader;
    assert_int_equal(bp_blob_open(f->store, "original/x", &reader, &err),
                     BP_ENOTFOUND);
    assert_string_equal(err.detail, "File not found");
}

static void test_bp_blob_put_file_streams_big_file(void **state)
{
    struct fixture *f = *state;
    long big = DEFAULT_BIG_BYTES;
    const char *text = getenv("BANDPICS_TEST_BLOB_BIG_BYTES");
    if (text != NULL)
        assert_int_equal(bp_config_parse_size(text, &big), BP_OK);
    write_pattern(f->src, big);
    struct bp_error err = {{0}};
    int64_t start = monotonic_ms();
    assert_int_equal(
        bp_blob_put_file(f->store, "original/big", f->src, NULL, &err), BP_OK);
    int64_t put_ms = monotonic_ms() - start;
    start = monotonic_ms();
    assert_blob_equals_file(f->store, "original/big", f->src);
    print_message("# %s: %ld bytes, put %lld ms, get and compare %lld ms\n",
                  f->s3 ? "s3" : "local", big, (long long)put_ms,
                  (long long)(monotonic_ms() - start));
    struct bp_blob_entry entry;
    assert_int_equal(bp_blob_stat(f->store, "original/big", &entry, &err),
                     BP_OK);
    assert_int_equal(entry.size, big);
}

static void test_bp_blob_rejects_invalid_keys(void **state)
{
    struct fixture *f = *state;
    write_text(f->src, "data");
    struct bp_error err = {{0}};
    struct bp_blob_reader reader;
    struct bp_blob_entry entry;
    struct bp_buf url;
    bp_buf_init(&url, 0);
    struct seen seen = {0};
    assert_int_equal(
        bp_blob_put_file(f->store, "../escape", f->src, NULL, &err), BP_EINVAL);
    assert_int_equal(bp_blob_open(f->store, "/etc/passwd", &reader, &err),
                     BP_EINVAL);
    assert_int_equal(bp_blob_remove(f->store, "a/../../b", &err), BP_EINVAL);
    assert_int_equal(bp_blob_stat(f->store, "a b", &entry, &err), BP_EINVAL);
    assert_int_equal(
        bp_blob_presign_put(f->store, "x/", "image/jpeg", 60, &url, &err),
        BP_EINVAL);
    assert_int_equal(bp_blob_list(f->store, "../", collect, &seen, &err),
                     BP_EINVAL);
    assert_int_equal(bp_blob_list(f->store, "/", collect, &seen, &err),
                     BP_EINVAL);
    assert_int_equal(bp_blob_list(f->store, "a//", collect, &seen, &err),
                     BP_EINVAL);
    assert_int_equal(seen.count, 0);
    assert_int_equal(url.len, 0);
    bp_buf_free(&url);
}

static void test_bp_blob_remove_is_idempotent(void **state)
{
    struct fixture *f = *state;
    struct bp_error err = {{0}};
    put_text(f->store, f->src, "fullsize/z.jpg", "data");
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
    put_text(f->store, f->src, "original/m", "old");
    put_text(f->store, f->src, "staging/m/original", "new");
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
    /* A move onto itself keeps the blob. */
    assert_int_equal(bp_blob_move(f->store, "original/m", "original/m", &err),
                     BP_OK);
    read_blob(f->store, "original/m", buf, sizeof(buf));
    assert_string_equal(buf, "new");
}

static void test_bp_blob_stat_reports_size_and_time(void **state)
{
    struct fixture *f = *state;
    int64_t before = now_ms();
    put_text(f->store, f->src, "thumb/s.jpg", "twelve bytes");
    int64_t after = now_ms();
    struct bp_blob_entry entry;
    struct bp_error err = {{0}};
    assert_int_equal(bp_blob_stat(f->store, "thumb/s.jpg", &entry, &err),
                     BP_OK);
    assert_string_equal(entry.key, "thumb/s.jpg");
    assert_int_equal(entry.size, 12);
    assert_true(entry.modified_ms > before - CLOCK_SLACK_MS);
    assert_true(entry.modified_ms < after + CLOCK_SLACK_MS);
    assert_int_equal(bp_blob_stat(f->store, "thumb/none.jpg", &entry, &err),
                     BP_ENOTFOUND);
    assert_string_equal(err.detail, "File not found");
    /* A directory of the local backend is no blob either. */
    assert_int_equal(bp_blob_stat(f->store, "thumb", &entry, &err),
                     BP_ENOTFOUND);
}

static void test_bp_blob_list_filters_by_prefix(void **state)
{
    struct fixture *f = *state;
    put_text(f->store, f->src, "original/a", "1");
    put_text(f->store, f->src, "original/b", "22");
    put_text(f->store, f->src, "originals", "333");
    put_text(f->store, f->src, "thumb/a.jpg", "4444");
    put_text(f->store, f->src, "staging/x/original", "55555");
    struct bp_error err = {{0}};

    struct seen all = {0};
    int64_t before = now_ms();
    assert_int_equal(bp_blob_list(f->store, "", collect, &all, &err), BP_OK);
    assert_int_equal(all.count, 5);
    static const char *const keys[] = {"original/a", "original/b", "originals",
                                       "thumb/a.jpg", "staging/x/original"};
    for (size_t i = 0; i < 5; i++) {
        int at = seen_index(&all, keys[i]);
        if (at < 0)
            fail_msg("%s was not listed", keys[i]);
        assert_int_equal(all.sizes[at], (off_t)i + 1);
        assert_true(all.modified_ms[at] > before - CLOCK_SLACK_MS);
        assert_true(all.modified_ms[at] < before + CLOCK_SLACK_MS);
    }

    struct seen some = {0};
    assert_int_equal(bp_blob_list(f->store, "original/", collect, &some, &err),
                     BP_OK);
    assert_int_equal(some.count, 2);
    assert_true(seen_index(&some, "original/a") >= 0);
    assert_true(seen_index(&some, "original/b") >= 0);

    struct seen partial = {0};
    assert_int_equal(bp_blob_list(f->store, "orig", collect, &partial, &err),
                     BP_OK);
    assert_int_equal(partial.count, 3);

    struct seen deep = {0};
    assert_int_equal(
        bp_blob_list(f->store, "staging/x/orig", collect, &deep, &err), BP_OK);
    assert_int_equal(deep.count, 1);
    assert_string_equal(deep.keys[0], "staging/x/original");

    struct seen none = {0};
    assert_int_equal(bp_blob_list(f->store, "nothing/", collect, &none, &err),
                     BP_OK);
    assert_int_equal(none.count, 0);

    /* What the visitor returns stops the listing. */
    struct seen stopped = {.stop_after = 2};
    assert_int_equal(bp_blob_list(f->store, "", collect, &stopped, &err),
                     BP_ECONFLICT);
    assert_int_equal(stopped.count, 2);
}

/* -- local backend only */

static void test_bp_blob_local_replace_leaves_no_temporary(void **state)
{
    struct fixture *f = *state;
    put_text(f->store, f->src, "original/abc", "first");
    put_text(f->store, f->src, "original/abc", "second");
    char dir[128];
    snprintf(dir, sizeof(dir), "%s/original", f->root);
    assert_int_equal(count_entries(dir), 1);
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
    assert_int_equal(
        bp_blob_put_file(f->store, "thumb/a.jpg", f->src, NULL, &err),
        BP_EUNAVAILABLE);
    assert_int_equal(count_entries(f->root), 1);
}

static void test_bp_blob_local_list_skips_temporary_files(void **state)
{
    struct fixture *f = *state;
    put_text(f->store, f->src, "original/kept", "blob");
    /* What a crash in the middle of a put leaves, now and formerly. */
    char path[192];
    snprintf(path, sizeof(path), "%s/original/kept~tmp-Ab12Cd", f->root);
    write_text(path, "partial");
    snprintf(path, sizeof(path), "%s/original/kept.tmp-Xy34Zw", f->root);
    write_text(path, "partial");
    /* Neither a file with an invalid key nor a symbolic link is a blob. */
    snprintf(path, sizeof(path), "%s/original/not a key", f->root);
    write_text(path, "x");
    snprintf(path, sizeof(path), "%s/original/link", f->root);
    assert_int_equal(symlink("kept", path), 0);

    struct seen seen = {0};
    struct bp_error err = {{0}};
    assert_int_equal(bp_blob_list(f->store, "", collect, &seen, &err), BP_OK);
    assert_int_equal(seen.count, 1);
    assert_string_equal(seen.keys[0], "original/kept");
    struct bp_blob_reader reader;
    assert_int_equal(
        bp_blob_open(f->store, "original/kept~tmp-Ab12Cd", &reader, &err),
        BP_EINVAL);
}

static void test_bp_blob_local_list_never_sees_a_put_in_progress(void **state)
{
    struct fixture *f = *state;
    write_pattern(f->src, 256 * 1024);
    put_text(f->store, f->src, "original/stay", "stays");
    write_pattern(f->src, 256 * 1024);
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        struct bp_error err = {{0}};
        for (int i = 0; i < 40; i++)
            if (bp_blob_put_file(f->store, "original/live", f->src, NULL,
                                 &err) != BP_OK)
                _exit(1);
        _exit(0);
    }
    int listings = 0, status = 0;
    while (waitpid(child, &status, WNOHANG) == 0) {
        struct seen seen = {0};
        struct bp_error err = {{0}};
        assert_int_equal(bp_blob_list(f->store, "", collect, &seen, &err),
                         BP_OK);
        for (size_t i = 0; i < seen.count; i++)
            if (strcmp(seen.keys[i], "original/stay") != 0 &&
                strcmp(seen.keys[i], "original/live") != 0)
                fail_msg("listed %s", seen.keys[i]);
        listings++;
    }
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    print_message("# %d listings during 40 puts\n", listings);
}

static void test_bp_blob_presign_unsupported_locally(void **state)
{
    struct fixture *f = *state;
    struct bp_buf url;
    bp_buf_init(&url, 0);
    struct bp_error err = {{0}};
    assert_int_equal(bp_blob_presign_get(f->store, "thumb/a.jpg", 60, NULL,
                                         false, &url, &err),
                     BP_EUNSUPPORTED);
    assert_int_equal(bp_blob_presign_put(f->store, "original/a", "image/jpeg",
                                         60, &url, &err),
                     BP_EUNSUPPORTED);
    assert_int_equal(url.len, 0);
    assert_string_equal(bp_blob_store_name(f->store), "local");
    bp_buf_free(&url);
}

/* -- S3 backend only */

static void test_bp_blob_s3_prefix_maps_to_object_names(void **state)
{
    struct fixture *f = *state;
    assert_string_equal(bp_blob_store_name(f->store), "s3");
    put_text(f->store, f->src, "original/p", "under a prefix");

    /* The same bucket without a prefix sees <prefix>/<key>. */
    struct bp_blob_s3_settings settings = s3_settings("", f->dir);
    struct bp_blob_store *bare = NULL;
    struct bp_error err = {{0}};
    assert_int_equal(bp_blob_s3_open(&settings, &bare, &err), BP_OK);
    char name[128], buf[32];
    snprintf(name, sizeof(name), "%s/original/p", f->prefix);
    read_blob(bare, name, buf, sizeof(buf));
    assert_string_equal(buf, "under a prefix");
    struct seen seen = {0};
    snprintf(name, sizeof(name), "%s/", f->prefix);
    assert_int_equal(bp_blob_list(bare, name, collect, &seen, &err), BP_OK);
    assert_int_equal(seen.count, 1);
    snprintf(name, sizeof(name), "%s/original/p", f->prefix);
    assert_string_equal(seen.keys[0], name);

    /* A name that only starts like the prefix is not under it. */
    snprintf(name, sizeof(name), "%sx/original/q", f->prefix);
    put_text(bare, f->src, name, "beside");
    struct seen mine = {0};
    assert_int_equal(bp_blob_list(f->store, "", collect, &mine, &err), BP_OK);
    assert_int_equal(mine.count, 1);
    assert_string_equal(mine.keys[0], "original/p");
    assert_int_equal(bp_blob_remove(bare, name, &err), BP_OK);
    bp_blob_store_close(bare);
}

static void test_bp_blob_s3_presigned_put_url_names_the_object(void **state)
{
    struct fixture *f = *state;
    struct bp_buf url;
    bp_buf_init(&url, 0);
    struct bp_error err = {{0}};
    assert_int_equal(bp_blob_presign_put(f->store, "staging/u/original",
                                         "image/png", 300, &url, &err),
                     BP_OK);
    char want[256];
    snprintf(want, sizeof(want), "%s/%s/%s/staging/u/original?",
             getenv("BANDPICS_TEST_S3_ENDPOINT"),
             env_or("BANDPICS_TEST_S3_BUCKET", "bandpics-test"), f->prefix);
    if (strncmp(url.data, want, strlen(want)) != 0 &&
        strcmp(env_or("BANDPICS_TEST_S3_ADDRESSING", "path"), "path") == 0)
        fail_msg("%s does not start with %s", url.data, want);
    assert_non_null(strstr(url.data, "X-Amz-Signature="));
    bp_buf_free(&url);
}

static int compare_keys(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_bp_blob_s3_list_follows_pages(void **state)
{
    struct fixture *f = *state;
    /* S3 answers at most 1000 keys a page. */
    enum { COUNT = 1003 };
    write_text(f->src, "p");
    struct bp_error err = {{0}};
    for (int i = 0; i < COUNT; i++) {
        char key[32];
        snprintf(key, sizeof(key), "many/%04d", i);
        assert_int_equal(bp_blob_put_file(f->store, key, f->src, NULL, &err),
                         BP_OK);
    }
    put_text(f->store, f->src, "other", "not listed");
    struct key_list list = {0};
    enum bp_rc rc = bp_blob_list(f->store, "many/", gather, &list, &err);
    if (rc != BP_OK)
        fail_msg("listing failed: %s", err.detail);
    assert_int_equal(list.count, COUNT);
    qsort(list.keys, list.count, sizeof(*list.keys), compare_keys);
    for (int i = 0; i < COUNT; i++) {
        char key[32];
        snprintf(key, sizeof(key), "many/%04d", i);
        assert_string_equal(list.keys[i], key);
    }
    key_list_free(&list);
}

/*
 * Asks the driver to act on the storage ("stop", "start", "pause",
 * "resume") and waits until it is done. Returns false when the driver
 * offers no control channel.
 */
static bool storage_control(const char *command)
{
    const char *spec = getenv("BANDPICS_TEST_S3_CONTROL");
    if (spec == NULL)
        return false;
    char *end;
    long to_driver = strtol(spec, &end, 10);
    assert_true(*end == ',');
    long from_driver = strtol(end + 1, &end, 10);
    assert_true(*end == '\0');
    char line[32];
    int len = snprintf(line, sizeof(line), "%s\n", command);
    assert_int_equal(write((int)to_driver, line, (size_t)len), len);
    size_t got = 0;
    while (got < sizeof(line) - 1) {
        ssize_t n = read((int)from_driver, line + got, 1);
        assert_int_equal(n, 1);
        if (line[got++] == '\n')
            break;
    }
    line[got] = '\0';
    assert_string_equal(line, "ok\n");
    return true;
}

static void test_bp_blob_s3_outage_and_recovery(void **state)
{
    struct fixture *f = *state;
    put_text(f->store, f->src, "original/kept", "survives the outage");
    char buf[64];
    read_blob(f->store, "original/kept", buf, sizeof(buf));

    /* Stopped: refused at once, on a handle whose connection was alive. */
    assert_true(storage_control("stop"));
    assert_all_unavailable(f->store, f->src, "connection refused",
                           OUTAGE_LIMIT_MS);
    assert_true(storage_control("start"));
    read_blob(f->store, "original/kept", buf, sizeof(buf));
    assert_string_equal(buf, "survives the outage");

    /* Paused: connections open but nothing answers, so requests time out. */
    struct bp_blob_s3_settings settings = s3_settings(f->prefix, f->dir);
    settings.timeout_ms = SILENT_TIMEOUT_MS;
    struct bp_blob_store *quick = NULL;
    struct bp_error err = {{0}};
    assert_int_equal(bp_blob_s3_open(&settings, &quick, &err), BP_OK);
    read_blob(quick, "original/kept", buf, sizeof(buf));
    assert_true(storage_control("pause"));
    assert_all_unavailable(quick, f->src, "no answer within",
                           SILENT_TIMEOUT_MS + SILENT_MARGIN_MS);
    assert_true(storage_control("resume"));
    read_blob(quick, "original/kept", buf, sizeof(buf));
    assert_string_equal(buf, "survives the outage");
    bp_blob_store_close(quick);
}

/* A test named "<backend>/<function>", as TAP shows it. */
#define BACKEND_TEST(backend, fn, setup)                                       \
    {                                                                          \
        backend "/" #fn, fn, setup, teardown, NULL                             \
    }

#define CONTRACT_TESTS(backend, setup)                                         \
    BACKEND_TEST(backend, test_bp_blob_put_file_then_open, setup),             \
        BACKEND_TEST(backend, test_bp_blob_put_file_empty, setup),             \
        BACKEND_TEST(backend, test_bp_blob_put_file_missing_source, setup),    \
        BACKEND_TEST(backend, test_bp_blob_put_file_streams_big_file, setup),  \
        BACKEND_TEST(backend, test_bp_blob_rejects_invalid_keys, setup),       \
        BACKEND_TEST(backend, test_bp_blob_remove_is_idempotent, setup),       \
        BACKEND_TEST(backend, test_bp_blob_move_replaces_target, setup),       \
        BACKEND_TEST(backend, test_bp_blob_stat_reports_size_and_time, setup), \
        BACKEND_TEST(backend, test_bp_blob_list_filters_by_prefix, setup)

#define LOCAL_TEST(fn) BACKEND_TEST("local", fn, setup_local)
#define S3_TEST(fn) BACKEND_TEST("s3", fn, setup_s3)

int main(void)
{
    static const struct CMUnitTest always[] = {
        cmocka_unit_test(test_bp_blob_key_valid_cases),
        cmocka_unit_test(test_bp_blob_store_open_picks_backend),
        cmocka_unit_test(test_bp_blob_s3_open_refuses_bad_settings),
        cmocka_unit_test(test_bp_blob_s3_presign_urls),
        cmocka_unit_test(test_bp_blob_s3_connection_refused_is_unavailable),
        cmocka_unit_test(test_bp_blob_s3_silent_server_times_out),
        CONTRACT_TESTS("local", setup_local),
        LOCAL_TEST(test_bp_blob_local_replace_leaves_no_temporary),
        LOCAL_TEST(test_bp_blob_put_file_unwritable_leaves_nothing),
        LOCAL_TEST(test_bp_blob_local_list_skips_temporary_files),
        LOCAL_TEST(test_bp_blob_local_list_never_sees_a_put_in_progress),
        LOCAL_TEST(test_bp_blob_presign_unsupported_locally),
    };
    static const struct CMUnitTest with_s3[] = {
        CONTRACT_TESTS("s3", setup_s3),
        S3_TEST(test_bp_blob_s3_prefix_maps_to_object_names),
        S3_TEST(test_bp_blob_s3_list_follows_pages),
        S3_TEST(test_bp_blob_s3_presigned_put_url_names_the_object),
    };
    static const struct CMUnitTest with_control[] = {
        S3_TEST(test_bp_blob_s3_outage_and_recovery),
    };
    /* Tests that cannot run are left out rather than skipped: automake's
     * TAP driver counts cmocka's "not ok # SKIP" as a failure. */
    struct CMUnitTest tests[sizeof(always) / sizeof(always[0]) +
                            sizeof(with_s3) / sizeof(with_s3[0]) +
                            sizeof(with_control) / sizeof(with_control[0])];
    size_t count = 0;
    memcpy(tests, always, sizeof(always));
    count += sizeof(always) / sizeof(always[0]);
    if (s3_configured()) {
        memcpy(tests + count, with_s3, sizeof(with_s3));
        count += sizeof(with_s3) / sizeof(with_s3[0]);
        if (getenv("BANDPICS_TEST_S3_CONTROL") != NULL) {
            memcpy(tests + count, with_control, sizeof(with_control));
            count += sizeof(with_control) / sizeof(with_control[0]);
        }
    }
    const char *filter = getenv("BANDPICS_TEST_BLOB_FILTER");
    if (filter != NULL)
        cmocka_set_test_filter(filter);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    int failed = _cmocka_run_group_tests("blob", tests, count, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
