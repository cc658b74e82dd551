/*
 * test_jwks.c: JWK Set parsing (RSA and P-256 keys, skipped entries,
 * refused documents) and the key cache over a local file with a fake
 * clock (first read, TTL, unknown kids at most once per interval, key
 * rotation, stale keys kept when the file breaks, 503 when nothing is
 * known) and over http on loopback only: a one-shot server forked here
 * (200, 404, too large, a redirect to file://) and a closed port.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <openssl/rsa.h>

#include "auth/jwks.h"
#include "auth/jwks_cache.h"
#include "buf.h"
#include "jose_helper.h"

#define T0 1000000
#define TTL 300

/* Keys, their JWKs, and a scratch folder for key files. */
struct fixture {
    EVP_PKEY *rsa1, *rsa2, *ec1;
    char *rsa1_jwk, *rsa2_jwk, *ec1_jwk;
    char dir[32];
    char path[64];
};

static int group_setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->rsa1 = bp_test_jose_rsa_key();
    fx->rsa2 = bp_test_jose_rsa_key();
    fx->ec1 = bp_test_jose_ec_key();
    fx->rsa1_jwk =
        bp_test_jose_jwk(fx->rsa1, "rsa1", "\"alg\":\"RS256\",\"use\":\"sig\"");
    fx->rsa2_jwk = bp_test_jose_jwk(fx->rsa2, "rsa2", NULL);
    fx->ec1_jwk = bp_test_jose_jwk(fx->ec1, "ec1", "\"alg\":\"ES256\"");
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/bp-test-jwks-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof(fx->path), "%s/jwks.json", fx->dir);
    *state = fx;
    return 0;
}

static int group_teardown(void **state)
{
    struct fixture *fx = *state;
    unlink(fx->path);
    rmdir(fx->dir);
    free(fx->rsa1_jwk);
    free(fx->rsa2_jwk);
    free(fx->ec1_jwk);
    EVP_PKEY_free(fx->rsa1);
    EVP_PKEY_free(fx->rsa2);
    EVP_PKEY_free(fx->ec1);
    free(fx);
    return 0;
}

/* Writes text as the key file (replacing it whole, as a deploy would). */
static void write_file(const struct fixture *fx, const char *text)
{
    char tmp[80];
    snprintf(tmp, sizeof(tmp), "%s.new", fx->path);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(rename(tmp, fx->path), 0);
}

/* Writes a key set of up to three JWKs (NULL for fewer). */
static void write_keys(const struct fixture *fx, const char *a, const char *b,
                       const char *c)
{
    char doc[8192];
    snprintf(doc, sizeof(doc), "{\"keys\":[%s%s%s%s%s]}", a != NULL ? a : "",
             b != NULL ? "," : "", b != NULL ? b : "", c != NULL ? "," : "",
             c != NULL ? c : "");
    write_file(fx, doc);
}

/* A cache over source with TTL and the default interval (60 s). */
static struct bp_jwks_cache *cache_new(const char *source)
{
    struct bp_jwks_cache_settings s = {.source = source, .ttl_s = TTL};
    struct bp_jwks_cache *cache = NULL;
    struct bp_error err = {{0}};
    assert_int_equal(bp_jwks_cache_new(&s, &cache, &err), BP_OK);
    return cache;
}

/* Looks kid up at now_s and returns the code (the key is checked). */
static enum bp_rc find(struct bp_jwks_cache *cache, const char *kid,
                       int64_t now_s, struct bp_error *err)
{
    const struct bp_jwk *key = NULL;
    enum bp_rc rc = bp_jwks_cache_find(cache, kid, now_s, &key, err);
    if (rc == BP_OK) {
        assert_non_null(key);
        assert_string_equal(key->kid, kid);
        assert_non_null(key->pkey);
    }
    return rc;
}

/* Asserts that kid is found at now_s and that the source was read reads
 * times in all. */
static void expect_found(struct bp_jwks_cache *cache, const char *kid,
                         int64_t now_s, unsigned long reads)
{
    struct bp_error err = {{0}};
    enum bp_rc rc = find(cache, kid, now_s, &err);
    if (rc != BP_OK)
        fail_msg("%s at %lld: %s: %s", kid, (long long)now_s, bp_rc_name(rc),
                 err.detail);
    assert_int_equal(bp_jwks_cache_reads(cache), reads);
}

/* Asserts that kid gets rc at now_s after reads reads in all. */
static void expect_rc(struct bp_jwks_cache *cache, const char *kid,
                      int64_t now_s, enum bp_rc rc, unsigned long reads)
{
    struct bp_error err = {{0}};
    assert_int_equal(find(cache, kid, now_s, &err), rc);
    if (rc == BP_EUNAUTHORIZED)
        assert_string_equal(err.detail, "invalid token");
    if (rc == BP_EUNAVAILABLE)
        assert_non_null(strstr(err.detail, "signing keys unavailable"));
    assert_int_equal(bp_jwks_cache_reads(cache), reads);
}

/* --- parsing ----------------------------------------------------------- */

static void test_bp_jwks_parse_reads_rsa_and_ec(void **state)
{
    struct fixture *fx = *state;
    char doc[8192];
    snprintf(doc, sizeof(doc), "{\"keys\":[%s,%s,%s]}", fx->rsa1_jwk,
             fx->rsa2_jwk, fx->ec1_jwk);
    struct bp_jwks *set = NULL;
    struct bp_error err = {{0}};
    assert_int_equal(bp_jwks_parse(doc, strlen(doc), &set, &err), BP_OK);
    assert_int_equal(set->count, 3);
    assert_int_equal(set->skipped, 0);
    const struct bp_jwk *k = bp_jwks_find(set, "rsa1");
    assert_non_null(k);
    assert_int_equal(k->type, BP_JWK_RSA);
    assert_int_equal(k->alg, BP_JWS_ALG_RS256);
    assert_int_equal(EVP_PKEY_eq(k->pkey, fx->rsa1), 1);
    k = bp_jwks_find(set, "rsa2");
    assert_non_null(k);
    assert_int_equal(k->alg, BP_JWS_ALG_NONE);
    assert_int_equal(EVP_PKEY_eq(k->pkey, fx->rsa2), 1);
    k = bp_jwks_find(set, "ec1");
    assert_non_null(k);
    assert_int_equal(k->type, BP_JWK_EC_P256);
    assert_int_equal(k->alg, BP_JWS_ALG_ES256);
    assert_int_equal(EVP_PKEY_eq(k->pkey, fx->ec1), 1);
    assert_null(bp_jwks_find(set, "rsa3"));
    assert_null(bp_jwks_find(set, "rsa"));
    assert_null(bp_jwks_find(NULL, "rsa1"));
    assert_string_equal(bp_jws_alg_name(k->alg), "ES256");
    bp_jwks_free(set);
    bp_jwks_free(NULL);
}

/* A copy of text with the first from replaced by to (caller frees). */
static char *replaced(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    assert_non_null(at);
    size_t cap = strlen(text) + strlen(to) + 1;
    char *out = malloc(cap);
    assert_non_null(out);
    snprintf(out, cap, "%.*s%s%s", (int)(at - text), text, to,
             at + strlen(from));
    return out;
}

/* The value of member name ("x") in the JWK text, as a new string. */
static char *member(const char *jwk, const char *name)
{
    char key[16];
    snprintf(key, sizeof(key), "\"%s\":\"", name);
    const char *start = strstr(jwk, key);
    assert_non_null(start);
    start += strlen(key);
    return strndup(start, (size_t)(strchr(start, '"') - start));
}

static void test_bp_jwks_parse_skips_unusable_keys(void **state)
{
    struct fixture *fx = *state;
    EVP_PKEY *small = EVP_RSA_gen(1024);
    assert_non_null(small);
    char *x = member(fx->ec1_jwk, "x");
    char *y = member(fx->ec1_jwk, "y");
    char *n = member(fx->rsa1_jwk, "n");
    char *n_pad = malloc(strlen(n) + 3);
    assert_non_null(n_pad);
    snprintf(n_pad, strlen(n) + 3, "%s==", n);
    char *entries[] = {
        bp_test_jose_jwk(fx->rsa1, "enc", "\"use\":\"enc\""),
        strdup("{\"kty\":\"oct\",\"kid\":\"hmac\",\"k\":\"c2VjcmV0\"}"),
        replaced(fx->ec1_jwk, "P-256", "P-384"),
        replaced(fx->rsa1_jwk, n, "AQAB+AQAB"),
        replaced(fx->rsa1_jwk, n, n_pad),
        replaced(fx->ec1_jwk, x, "AQAB"),
        replaced(fx->ec1_jwk, y, x), /* a point off the curve */
        bp_test_jose_jwk(small, "small", NULL),
        bp_test_jose_jwk(fx->rsa2, "", NULL),
        replaced(fx->rsa2_jwk, "\"kid\":\"rsa2\",", ""),
        bp_test_jose_jwk(fx->rsa2, "rsa1", NULL), /* a kid seen before */
        bp_test_jose_jwk(fx->rsa2, "rs-es", "\"alg\":\"ES256\""),
        bp_test_jose_jwk(fx->rsa2, "rs384", "\"alg\":\"RS384\""),
        bp_test_jose_jwk(fx->ec1, "ec-rs", "\"alg\":\"RS256\""),
        bp_test_jose_jwk(fx->rsa2, "use7", "\"use\":7"),
        strdup("42"),
        strdup("{\"kty\":\"RSA\",\"kid\":\"ne\",\"n\":\"\",\"e\":\"AQAB\"}"),
    };
    size_t count = sizeof(entries) / sizeof(entries[0]);
    struct bp_buf doc;
    bp_buf_init(&doc, 0);
    assert_int_equal(bp_buf_printf(&doc, "{\"keys\":[%s", fx->rsa1_jwk), BP_OK);
    for (size_t i = 0; i < count; i++)
        assert_int_equal(bp_buf_printf(&doc, ",%s", entries[i]), BP_OK);
    assert_int_equal(bp_buf_append_str(&doc, "]}"), BP_OK);
    struct bp_jwks *set = NULL;
    struct bp_error err = {{0}};
    assert_int_equal(bp_jwks_parse(doc.data, doc.len, &set, &err), BP_OK);
    assert_int_equal(set->count, 1);
    assert_int_equal(set->skipped, count);
    assert_int_equal(EVP_PKEY_eq(bp_jwks_find(set, "rsa1")->pkey, fx->rsa1), 1);
    bp_jwks_free(set);
    bp_buf_free(&doc);
    for (size_t i = 0; i < count; i++)
        free(entries[i]);
    free(x);
    free(y);
    free(n);
    free(n_pad);
    EVP_PKEY_free(small);
}

static void test_bp_jwks_parse_rejects_non_documents(void **state)
{
    static const char *const bad[] = {
        "",
        "not json",
        "[]",
        "{}",
        "{\"keys\":{}}",
        "{\"keys\":\"x\"}",
        "{\"keys\":[]",
        "{\"keys\":[]} x",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct bp_jwks *set = NULL;
        struct bp_error err = {{0}};
        assert_int_equal(bp_jwks_parse(bad[i], strlen(bad[i]), &set, &err),
                         BP_EINVAL);
        assert_null(set);
        assert_non_null(strstr(err.detail, "key set"));
    }
    /* No keys at all is a valid, empty set. */
    struct bp_jwks *set = NULL;
    assert_int_equal(bp_jwks_parse("{\"keys\":[]}", 11, &set, NULL), BP_OK);
    assert_int_equal(set->count, 0);
    bp_jwks_free(set);
}

/* --- the cache over a file --------------------------------------------- */

static void test_bp_jwks_cache_new_rejects_bad_sources(void **state)
{
    static const char *const bad[] = {NULL, "", "file:///etc/jwks.json",
                                      "ftp://127.0.0.1/jwks.json",
                                      "gopher://127.0.0.1/"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct bp_jwks_cache_settings s = {.source = bad[i]};
        struct bp_jwks_cache *cache = NULL;
        struct bp_error err = {{0}};
        assert_int_equal(bp_jwks_cache_new(&s, &cache, &err), BP_EINVAL);
        assert_null(cache);
    }
    struct bp_jwks_cache_settings s = {.source = "/x", .ttl_s = -1};
    struct bp_jwks_cache *cache = NULL;
    assert_int_equal(bp_jwks_cache_new(&s, &cache, NULL), BP_EINVAL);
    bp_jwks_cache_free(NULL);
}

static void test_bp_jwks_cache_reads_first_then_after_ttl(void **state)
{
    struct fixture *fx = *state;
    write_keys(fx, fx->rsa1_jwk, NULL, NULL);
    struct bp_jwks_cache *cache = cache_new(fx->path);
    assert_int_equal(bp_jwks_cache_reads(cache), 0);
    expect_found(cache, "rsa1", T0, 1);
    expect_found(cache, "rsa1", T0 + TTL - 1, 1);
    /* The issuer adds a key; it is seen when the TTL has run out. */
    write_keys(fx, fx->rsa1_jwk, fx->ec1_jwk, NULL);
    expect_found(cache, "rsa1", T0 + TTL, 2);
    expect_found(cache, "ec1", T0 + TTL, 2);
    expect_found(cache, "ec1", T0 + 2 * TTL - 1, 2);
    expect_found(cache, "ec1", T0 + 2 * TTL, 3);
    bp_jwks_cache_free(cache);
}

static void test_bp_jwks_cache_reads_nothing_past_its_deadline(void **state)
{
    struct fixture *fx = *state;
    write_keys(fx, fx->rsa1_jwk, NULL, NULL);
    struct bp_jwks_cache *cache = cache_new(fx->path);
    /* A deadline already past: no read, unavailable, and no interval
     * held against the source. */
    bp_jwks_cache_set_deadline(cache, 1);
    struct bp_error err = {{0}};
    assert_int_equal(find(cache, "rsa1", T0, &err), BP_EUNAVAILABLE);
    assert_non_null(strstr(err.detail, "deadline"));
    assert_int_equal(bp_jwks_cache_reads(cache), 0);
    bp_jwks_cache_set_deadline(cache, 0);
    expect_found(cache, "rsa1", T0 + 1, 1);
    bp_jwks_cache_free(cache);
}

static void test_bp_jwks_cache_unknown_kid_reads_once_per_interval(void **state)
{
    struct fixture *fx = *state;
    write_keys(fx, fx->rsa1_jwk, NULL, NULL);
    struct bp_jwks_cache *cache = cache_new(fx->path);
    expect_found(cache, "rsa1", T0, 1);
    /* A made-up kid: one read, then none for a minute. */
    expect_rc(cache, "forged", T0 + 60, BP_EUNAUTHORIZED, 2);
    expect_rc(cache, "forged", T0 + 61, BP_EUNAUTHORIZED, 2);
    expect_rc(cache, "other", T0 + 119, BP_EUNAUTHORIZED, 2);
    expect_rc(cache, "other", T0 + 120, BP_EUNAUTHORIZED, 3);
    /* A rotated-in key is found at the next allowed read. */
    write_keys(fx, fx->rsa1_jwk, fx->rsa2_jwk, NULL);
    expect_rc(cache, "rsa2", T0 + 150, BP_EUNAUTHORIZED, 3);
    expect_found(cache, "rsa2", T0 + 180, 4);
    expect_found(cache, "rsa1", T0 + 181, 4);
    bp_jwks_cache_free(cache);
}

static void test_bp_jwks_cache_drops_removed_key(void **state)
{
    struct fixture *fx = *state;
    write_keys(fx, fx->rsa1_jwk, fx->ec1_jwk, NULL);
    struct bp_jwks_cache *cache = cache_new(fx->path);
    expect_found(cache, "rsa1", T0, 1);
    write_keys(fx, fx->ec1_jwk, fx->rsa2_jwk, NULL);
    expect_found(cache, "ec1", T0 + TTL, 2);
    expect_rc(cache, "rsa1", T0 + TTL + 1, BP_EUNAUTHORIZED, 2);
    expect_rc(cache, "rsa1", T0 + TTL + 60, BP_EUNAUTHORIZED, 3);
    expect_found(cache, "rsa2", T0 + TTL + 61, 3);
    bp_jwks_cache_free(cache);
}

static void test_bp_jwks_cache_keeps_stale_keys_when_source_fails(void **state)
{
    struct fixture *fx = *state;
    write_keys(fx, fx->rsa1_jwk, NULL, NULL);
    struct bp_jwks_cache *cache = cache_new(fx->path);
    expect_found(cache, "rsa1", T0, 1);
    /* Garbage: the held key keeps working; a failed read is retried
     * after the interval, not on every request. */
    write_file(fx, "{\"keys\": [ garbage");
    expect_found(cache, "rsa1", T0 + TTL, 2);
    expect_found(cache, "rsa1", T0 + TTL + 1, 2);
    /* An unknown kid cannot be told from a new key: 503. */
    expect_rc(cache, "rsa2", T0 + TTL + 2, BP_EUNAVAILABLE, 2);
    expect_rc(cache, "rsa2", T0 + TTL + 60, BP_EUNAVAILABLE, 3);
    /* A document of no key set, then no file at all. */
    write_file(fx, "[1, 2, 3]");
    expect_found(cache, "rsa1", T0 + TTL + 120, 4);
    assert_int_equal(unlink(fx->path), 0);
    expect_found(cache, "rsa1", T0 + TTL + 180, 5);
    expect_rc(cache, "rsa2", T0 + TTL + 181, BP_EUNAVAILABLE, 5);
    /* The file is back: the next read takes it. */
    write_keys(fx, fx->rsa2_jwk, NULL, NULL);
    expect_found(cache, "rsa2", T0 + TTL + 240, 6);
    expect_rc(cache, "rsa1", T0 + TTL + 241, BP_EUNAUTHORIZED, 6);
    bp_jwks_cache_free(cache);
}

static void test_bp_jwks_cache_unavailable_when_never_read(void **state)
{
    struct fixture *fx = *state;
    char path[96];
    snprintf(path, sizeof(path), "%s/missing.json", fx->dir);
    struct bp_jwks_cache *cache = cache_new(path);
    struct bp_error err = {{0}};
    assert_int_equal(find(cache, "rsa1", T0, &err), BP_EUNAVAILABLE);
    assert_non_null(strstr(err.detail, "cannot open"));
    expect_rc(cache, "rsa1", T0 + 1, BP_EUNAVAILABLE, 1);
    expect_rc(cache, "rsa1", T0 + 60, BP_EUNAVAILABLE, 2);
    bp_jwks_cache_free(cache);
    /* A folder is not a key file. */
    cache = cache_new(fx->dir);
    expect_rc(cache, "rsa1", T0, BP_EUNAVAILABLE, 1);
    bp_jwks_cache_free(cache);
}

static void test_bp_jwks_cache_refuses_file_over_cap(void **state)
{
    struct fixture *fx = *state;
    write_keys(fx, fx->rsa1_jwk, NULL, NULL);
    struct bp_jwks_cache_settings s = {.source = fx->path, .max_bytes = 100};
    struct bp_jwks_cache *cache = NULL;
    assert_int_equal(bp_jwks_cache_new(&s, &cache, NULL), BP_OK);
    struct bp_error err = {{0}};
    assert_int_equal(find(cache, "rsa1", T0, &err), BP_EUNAVAILABLE);
    assert_non_null(strstr(err.detail, "over 100 bytes"));
    bp_jwks_cache_free(cache);
}

/* --- the cache over http, on loopback only ----------------------------- */

/* A listening socket on 127.0.0.1 and an ephemeral port; fails the test
 * otherwise. */
static int loopback_listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    *port = ntohs(addr.sin_port);
    return fd;
}

/*
 * Forks a server that answers one connection on a loopback port with
 * answer (the whole HTTP response) and exits; *port is set. The child
 * gives up after 10 s. Reap it with wait_server.
 */
static pid_t serve_once(const char *answer, int *port)
{
    int fd = loopback_listener(port);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(10);
        int conn = accept(fd, NULL, NULL);
        if (conn < 0)
            _exit(1);
        char request[4096];
        size_t got = 0;
        /* Read up to the end of the request's headers. */
        while (got < sizeof(request) - 1) {
            ssize_t n = read(conn, request + got, sizeof(request) - 1 - got);
            if (n <= 0)
                break;
            got += (size_t)n;
            request[got] = '\0';
            if (strstr(request, "\r\n\r\n") != NULL)
                break;
        }
        size_t len = strlen(answer);
        for (size_t off = 0; off < len;) {
            ssize_t n = write(conn, answer + off, len - off);
            if (n <= 0)
                _exit(1);
            off += (size_t)n;
        }
        close(conn);
        _exit(0);
    }
    close(fd);
    return pid;
}

static void wait_server(pid_t pid)
{
    int status = 0;
    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
}

/* The HTTP response carrying body with status (caller frees). */
static char *response(int status, const char *extra_headers, const char *body)
{
    size_t cap = strlen(body) + 512;
    char *text = malloc(cap);
    assert_non_null(text);
    snprintf(text, cap,
             "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\nConnection: close\r\n%s\r\n%s",
             status, strlen(body), extra_headers, body);
    return text;
}

/* A cache over http://127.0.0.1:port/jwks.json with settings s. */
static struct bp_jwks_cache *http_cache(int port,
                                        struct bp_jwks_cache_settings *s)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/jwks.json", port);
    s->source = url;
    struct bp_jwks_cache *cache = NULL;
    assert_int_equal(bp_jwks_cache_new(s, &cache, NULL), BP_OK);
    return cache;
}

static void test_bp_jwks_cache_fetches_over_http(void **state)
{
    struct fixture *fx = *state;
    char doc[4096];
    snprintf(doc, sizeof(doc), "{\"keys\":[%s]}", fx->ec1_jwk);
    char *answer = response(200, "", doc);
    int port = 0;
    pid_t pid = serve_once(answer, &port);
    struct bp_jwks_cache_settings s = {.ttl_s = TTL};
    struct bp_jwks_cache *cache = http_cache(port, &s);
    expect_found(cache, "ec1", T0, 1);
    wait_server(pid);
    /* The server is gone: the key held keeps working past the TTL. */
    expect_found(cache, "ec1", T0 + TTL, 2);
    expect_rc(cache, "rsa1", T0 + TTL + 1, BP_EUNAVAILABLE, 2);
    bp_jwks_cache_free(cache);
    free(answer);
}

/* Serves answer once and expects the cache to refuse it with what. */
static void expect_http_refused(const char *answer, size_t max_bytes,
                                const char *what)
{
    int port = 0;
    pid_t pid = serve_once(answer, &port);
    struct bp_jwks_cache_settings s = {.max_bytes = max_bytes};
    struct bp_jwks_cache *cache = http_cache(port, &s);
    struct bp_error err = {{0}};
    assert_int_equal(find(cache, "ec1", T0, &err), BP_EUNAVAILABLE);
    if (strstr(err.detail, what) == NULL)
        fail_msg("detail '%s' lacks '%s'", err.detail, what);
    bp_jwks_cache_free(cache);
    wait_server(pid);
}

static void test_bp_jwks_cache_refuses_http_errors(void **state)
{
    struct fixture *fx = *state;
    char doc[4096];
    snprintf(doc, sizeof(doc), "{\"keys\":[%s]}", fx->ec1_jwk);
    char *answer = response(404, "", doc);
    expect_http_refused(answer, 0, "answered 404");
    free(answer);
    answer = response(200, "", doc);
    expect_http_refused(answer, 64, "over 64 bytes");
    free(answer);
    answer = response(200, "", "<html>not json</html>");
    expect_http_refused(answer, 0, "key set");
    free(answer);
    /* A redirect out of http(s) is not followed. */
    answer = response(302, "Location: file:///etc/passwd\r\n", "");
    expect_http_refused(answer, 0, "signing keys unavailable");
    free(answer);
}

static void test_bp_jwks_cache_unreachable_url_is_unavailable(void **state)
{
    int port = 0;
    /* A port that was just free: nothing listens there now. */
    close(loopback_listener(&port));
    struct bp_jwks_cache_settings s = {.timeout_ms = 2000};
    struct bp_jwks_cache *cache = http_cache(port, &s);
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    struct bp_error err = {{0}};
    assert_int_equal(find(cache, "rsa1", T0, &err), BP_EUNAVAILABLE);
    clock_gettime(CLOCK_MONOTONIC, &end);
    assert_non_null(strstr(err.detail, "cannot connect"));
    assert_true(end.tv_sec - start.tv_sec < 2);
    bp_jwks_cache_free(cache);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bp_jwks_parse_reads_rsa_and_ec),
        cmocka_unit_test(test_bp_jwks_parse_skips_unusable_keys),
        cmocka_unit_test(test_bp_jwks_parse_rejects_non_documents),
        cmocka_unit_test(test_bp_jwks_cache_new_rejects_bad_sources),
        cmocka_unit_test(test_bp_jwks_cache_reads_first_then_after_ttl),
        cmocka_unit_test(test_bp_jwks_cache_reads_nothing_past_its_deadline),
        cmocka_unit_test(
            test_bp_jwks_cache_unknown_kid_reads_once_per_interval),
        cmocka_unit_test(test_bp_jwks_cache_drops_removed_key),
        cmocka_unit_test(test_bp_jwks_cache_keeps_stale_keys_when_source_fails),
        cmocka_unit_test(test_bp_jwks_cache_unavailable_when_never_read),
        cmocka_unit_test(test_bp_jwks_cache_refuses_file_over_cap),
        cmocka_unit_test(test_bp_jwks_cache_fetches_over_http),
        cmocka_unit_test(test_bp_jwks_cache_refuses_http_errors),
        cmocka_unit_test(test_bp_jwks_cache_unreachable_url_is_unavailable),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int failed =
        cmocka_run_group_tests_name("jwks", tests, group_setup, group_teardown);
    curl_global_cleanup();
    return failed;
}
