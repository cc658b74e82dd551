/*
 * fuzz_multipart.c: a libFuzzer target for the multipart parser.
 *
 * Input: byte 0 picks the boundary (bits 0-1), the limits (bit 2), and
 * whether part_begin or part_end (bit 5) fails at its nth call (bits 3-4,
 * 0 for never) with or without a detail (bit 6); byte 1 seeds the chunk
 * sizes; the rest is the body.
 *
 * Each body is parsed whole, one byte at a time (when short) and in
 * chunks of several sizes; the runs must agree exactly: same result, same
 * detail, same parts with the same concatenated data. Every run checks
 * that callbacks are balanced, part data never exceeds the body, the part
 * count stays within its limit and errors are final. The whole input is
 * also tried as a Content-Type value for bp_multipart_boundary.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "http/multipart.h"

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,         \
                    __LINE__, #cond);                                          \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* Bodies longer than this are not also parsed one byte at a time. */
#define BYTEWISE_MAX 4096

static const char *const boundaries[] = {
    "b",
    "AaB03x",
    "----WebKitFormBoundary7MA4YWxkTrZu0gW",
    "a'()+_,-./:=? z",
};

static const struct bp_multipart_limits limit_sets[] = {
    {.max_header_bytes = 8192, .max_parts = 64},
    {.max_header_bytes = 64, .max_parts = 3},
};

/* One parse: what the callbacks saw, in a form that can be compared. */
struct run {
    struct bp_buf trace; /* begin records, data bytes, end marks */
    size_t body_len;
    size_t max_parts;
    size_t begins;
    size_t data_len;
    bool open;
    size_t ends;
    size_t fail_at;   /* the call of the callback below that fails; 0: none */
    bool fail_in_end; /* part_end fails, not part_begin */
    bool fail_detail; /* the failing callback writes a detail */
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void trace_append(struct run *run, const void *bytes, size_t len)
{
    CHECK(bp_buf_append(&run->trace, bytes, len) == BP_OK);
}

/* Returns the injected failure when fail is set. */
static enum bp_rc maybe_fail(const struct run *run, bool fail,
                             struct bp_error *err)
{
    if (!fail)
        return BP_OK;
    if (run->fail_detail)
        return bp_error_set(err, BP_EIO, "injected failure");
    return BP_EIO;
}

static enum bp_rc on_begin(void *user, const struct bp_multipart_part *part,
                           struct bp_error *err)
{
    struct run *run = user;
    CHECK(!run->open);
    CHECK(part->name != NULL && part->name[0] != '\0');
    CHECK(part->content_type != NULL);
    CHECK(strpbrk(part->name, "\r\n") == NULL);
    CHECK(strpbrk(part->content_type, "\r\n") == NULL);
    CHECK(part->filename == NULL || strpbrk(part->filename, "\r\n") == NULL);
    CHECK(strlen(part->name) < run->body_len);
    run->open = true;
    run->begins++;
    CHECK(run->begins <= run->max_parts);
    trace_append(run, "B", 1);
    trace_append(run, part->name, strlen(part->name) + 1);
    if (part->filename != NULL) {
        trace_append(run, "F", 1);
        trace_append(run, part->filename, strlen(part->filename) + 1);
    }
    trace_append(run, part->content_type, strlen(part->content_type) + 1);
    return maybe_fail(run, !run->fail_in_end && run->begins == run->fail_at,
                      err);
}

static enum bp_rc on_data(void *user, const char *data, size_t len,
                          struct bp_error *err)
{
    struct run *run = user;
    CHECK(run->open);
    CHECK(len > 0);
    run->data_len += len;
    CHECK(run->data_len <= run->body_len);
    trace_append(run, data, len);
    return BP_OK;
}

static enum bp_rc on_end(void *user, struct bp_error *err)
{
    struct run *run = user;
    CHECK(run->open);
    run->open = false;
    run->ends++;
    trace_append(run, "E", 1);
    return maybe_fail(run, run->fail_in_end && run->ends == run->fail_at, err);
}

static const struct bp_multipart_callbacks callbacks = {
    .part_begin = on_begin,
    .part_data = on_data,
    .part_end = on_end,
};

/*
 * Parses the len bytes of body in chunks of at most max_chunk bytes (all
 * at once when 0), their sizes drawn from seed, copying each chunk so
 * that reading past it trips ASan. Returns the result of the parse.
 */
static enum bp_rc parse(struct run *run, const char *boundary,
                        const struct bp_multipart_limits *limits,
                        const char *body, size_t len, size_t max_chunk,
                        uint32_t seed, struct bp_error *err)
{
    struct bp_multipart *mp = NULL;
    CHECK(bp_multipart_new(boundary, limits, &callbacks, run, &mp) == BP_OK);
    enum bp_rc rc = BP_OK;
    for (size_t pos = 0; pos < len && rc == BP_OK;) {
        size_t n = len - pos;
        if (max_chunk > 0) {
            seed = seed * 1103515245u + 12345u;
            n = 1 + (seed >> 8) % max_chunk;
            if (n > len - pos)
                n = len - pos;
        }
        char *copy = malloc(n);
        CHECK(copy != NULL);
        memcpy(copy, body + pos, n);
        rc = bp_multipart_feed(mp, copy, n, err);
        free(copy);
        pos += n;
    }
    if (rc == BP_OK)
        rc = bp_multipart_finish(mp, err);
    if (rc == BP_OK) {
        CHECK(!run->open);
    } else {
        /* Errors are final and keep their detail. */
        struct bp_error again;
        CHECK(bp_multipart_feed(mp, "--", 2, &again) == rc);
        CHECK(strcmp(again.detail, err->detail) == 0);
        CHECK(bp_multipart_finish(mp, NULL) == rc);
        CHECK(err->detail[0] != '\0');
        CHECK(rc == BP_EBADREQUEST || rc == BP_ETOOBIG ||
              rc == BP_EUNSUPPORTED || rc == BP_EIO);
    }
    bp_multipart_free(mp);
    return rc;
}

/* Tries the input as a Content-Type value; a boundary found must be valid. */
static void check_boundary(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';
    char out[BP_MULTIPART_BOUNDARY_MAX + 1];
    struct bp_error err = {{0}};
    if (bp_multipart_boundary(text, out, sizeof(out), &err) == BP_OK) {
        size_t len = strlen(out);
        CHECK(len > 0 && len <= BP_MULTIPART_BOUNDARY_MAX);
        struct bp_multipart *mp = NULL;
        CHECK(bp_multipart_new(out, &limit_sets[0], &callbacks, NULL, &mp) ==
              BP_OK);
        bp_multipart_free(mp);
    } else {
        CHECK(err.detail[0] != '\0');
    }
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_boundary(data, size);
    if (size < 2)
        return 0;
    const char *boundary = boundaries[data[0] & 3];
    const struct bp_multipart_limits *limits = &limit_sets[(data[0] >> 2) & 1];
    uint32_t seed = data[1];
    const char *body = (const char *)data + 2;
    size_t len = size - 2;

    /* Largest chunk per run: 0 is the whole body, 1 a byte at a time. */
    const size_t max_chunks[] = {0, 1, 2, 7, 64, 1000, 3 + seed % 13};
    struct run first = {0};
    enum bp_rc first_rc = BP_OK;
    struct bp_error first_err = {{0}};
    for (size_t i = 0; i < sizeof(max_chunks) / sizeof(max_chunks[0]); i++) {
        size_t max_chunk = max_chunks[i];
        if (max_chunk == 1 && len > BYTEWISE_MAX)
            continue;
        struct run run = {
            .body_len = len,
            .max_parts = limits->max_parts,
            .fail_at = (data[0] >> 3) & 3,
            .fail_in_end = (data[0] & 0x20) != 0,
            .fail_detail = (data[0] & 0x40) != 0,
        };
        bp_buf_init(&run.trace, 0);
        struct bp_error err = {{0}};
        enum bp_rc rc =
            parse(&run, boundary, limits, body, len, max_chunk, seed, &err);
        if (i == 0) {
            first = run;
            first_rc = rc;
            first_err = err;
            continue;
        }
        CHECK(rc == first_rc);
        CHECK(strcmp(err.detail, first_err.detail) == 0);
        CHECK(run.trace.len == first.trace.len);
        CHECK(run.trace.len == 0 ||
              memcmp(run.trace.data, first.trace.data, run.trace.len) == 0);
        CHECK(run.begins == first.begins && run.ends == first.ends);
        CHECK(run.open == first.open);
        bp_buf_free(&run.trace);
    }
    bp_buf_free(&first.trace);
    return 0;
}
