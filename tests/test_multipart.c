/* test_multipart.c: the streaming multipart/form-data parser. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "http/multipart.h"

/* A string literal and its length, which counts embedded NULs. */
#define LIT(s) (s), (sizeof(s) - 1)

#define MAX_RECORDED 8

static const struct bp_multipart_limits default_limits = {
    .max_header_bytes = 8192,
    .max_parts = 16,
};

/* What the callbacks saw of one part. */
struct recorded_part {
    char name[64];
    char filename[64];
    bool has_filename;
    char content_type[64];
    struct bp_buf data;
    bool ended;
};

/*
 * The callbacks' user data: the parts seen, and optionally a failure to
 * inject at the fail_at-th call of one callback.
 */
struct recorder {
    struct recorded_part parts[MAX_RECORDED];
    size_t count;
    bool open;
    size_t data_calls;
    size_t data_len;
    enum { FAIL_NONE, FAIL_BEGIN, FAIL_DATA, FAIL_END } fail_in;
    size_t fail_at;
    enum bp_rc fail_rc;
    const char *fail_detail; /* NULL: the callback writes no detail */
    size_t calls;            /* calls of the callback fail_in names */
};

static void recorder_init(struct recorder *rec)
{
    memset(rec, 0, sizeof(*rec));
    for (size_t i = 0; i < MAX_RECORDED; i++)
        bp_buf_init(&rec->parts[i].data, 0);
}

static void recorder_free(struct recorder *rec)
{
    for (size_t i = 0; i < MAX_RECORDED; i++)
        bp_buf_free(&rec->parts[i].data);
}

/* Returns the injected failure when this is the call to fail. */
static enum bp_rc maybe_fail(struct recorder *rec, int kind,
                             struct bp_error *err)
{
    if ((int)rec->fail_in != kind || ++rec->calls != rec->fail_at)
        return BP_OK;
    if (rec->fail_detail != NULL)
        return bp_error_set(err, rec->fail_rc, "%s", rec->fail_detail);
    return rec->fail_rc;
}

static enum bp_rc on_begin(void *user, const struct bp_multipart_part *part,
                           struct bp_error *err)
{
    struct recorder *rec = user;
    assert_false(rec->open);
    assert_true(rec->count < MAX_RECORDED);
    assert_non_null(part->name);
    assert_non_null(part->content_type);
    struct recorded_part *p = &rec->parts[rec->count++];
    snprintf(p->name, sizeof(p->name), "%s", part->name);
    p->has_filename = part->filename != NULL;
    snprintf(p->filename, sizeof(p->filename), "%s",
             part->filename != NULL ? part->filename : "");
    snprintf(p->content_type, sizeof(p->content_type), "%s",
             part->content_type);
    rec->open = true;
    return maybe_fail(rec, FAIL_BEGIN, err);
}

static enum bp_rc on_data(void *user, const char *data, size_t len,
                          struct bp_error *err)
{
    struct recorder *rec = user;
    assert_true(rec->open);
    assert_true(len > 0);
    assert_int_equal(bp_buf_append(&rec->parts[rec->count - 1].data, data, len),
                     BP_OK);
    rec->data_calls++;
    rec->data_len += len;
    return maybe_fail(rec, FAIL_DATA, err);
}

static enum bp_rc on_end(void *user, struct bp_error *err)
{
    struct recorder *rec = user;
    assert_true(rec->open);
    rec->open = false;
    rec->parts[rec->count - 1].ended = true;
    return maybe_fail(rec, FAIL_END, err);
}

static const struct bp_multipart_callbacks recorder_callbacks = {
    .part_begin = on_begin,
    .part_data = on_data,
    .part_end = on_end,
};

/* A tiny deterministic generator, so failures reproduce. */
static uint32_t next_random(uint32_t *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return *seed >> 8;
}

/*
 * Parses the len bytes of body delimited by boundary into rec, feeding
 * them all at once (chunk 0), in chunks of chunk bytes, or, with a seed,
 * in chunks of 1 to chunk bytes. Each chunk is copied to a buffer of its
 * exact size so that reading past it trips ASan. Returns the first
 * failure of feed or finish.
 */
static enum bp_rc parse_body(struct recorder *rec, const char *boundary,
                             const struct bp_multipart_limits *limits,
                             const char *body, size_t len, size_t chunk,
                             uint32_t *seed, struct bp_error *err)
{
    struct bp_multipart *mp = NULL;
    assert_int_equal(
        bp_multipart_new(boundary, limits, &recorder_callbacks, rec, &mp),
        BP_OK);
    enum bp_rc rc = BP_OK;
    for (size_t pos = 0; pos < len && rc == BP_OK;) {
        size_t n = len - pos;
        if (chunk > 0 && seed != NULL)
            n = 1 + next_random(seed) % chunk;
        else if (chunk > 0)
            n = chunk;
        if (n > len - pos)
            n = len - pos;
        char *copy = malloc(n);
        assert_non_null(copy);
        memcpy(copy, body + pos, n);
        rc = bp_multipart_feed(mp, copy, n, err);
        free(copy);
        pos += n;
    }
    if (rc == BP_OK)
        rc = bp_multipart_finish(mp, err);
    bp_multipart_free(mp);
    return rc;
}

/* Parses body at once with the default limits, expecting BP_OK. */
static void parse_ok(struct recorder *rec, const char *boundary,
                     const char *body, size_t len)
{
    struct bp_error err = {{0}};
    enum bp_rc rc =
        parse_body(rec, boundary, &default_limits, body, len, 0, NULL, &err);
    if (rc != BP_OK)
        fail_msg("%s: %s", bp_rc_name(rc), err.detail);
}

/* Parses body at once, expecting rc with a detail containing want. */
static void parse_fails(const char *boundary,
                        const struct bp_multipart_limits *limits,
                        const char *body, size_t len, enum bp_rc want_rc,
                        const char *want)
{
    struct recorder rec;
    recorder_init(&rec);
    struct bp_error err = {{0}};
    enum bp_rc rc =
        parse_body(&rec, boundary, limits != NULL ? limits : &default_limits,
                   body, len, 0, NULL, &err);
    if (rc != want_rc)
        fail_msg("got %s (%s), want %s", bp_rc_name(rc), err.detail,
                 bp_rc_name(want_rc));
    if (strstr(err.detail, want) == NULL)
        fail_msg("'%s' does not contain '%s'", err.detail, want);
    recorder_free(&rec);
}

/* Fails unless a and b recorded the same parts with the same data. */
static void assert_same_parts(const struct recorder *a,
                              const struct recorder *b)
{
    assert_int_equal(a->count, b->count);
    assert_int_equal(a->open, b->open);
    for (size_t i = 0; i < a->count; i++) {
        const struct recorded_part *pa = &a->parts[i], *pb = &b->parts[i];
        assert_string_equal(pa->name, pb->name);
        assert_int_equal(pa->has_filename, pb->has_filename);
        assert_string_equal(pa->filename, pb->filename);
        assert_string_equal(pa->content_type, pb->content_type);
        assert_int_equal(pa->ended, pb->ended);
        assert_int_equal(pa->data.len, pb->data.len);
        if (pa->data.len > 0)
            assert_memory_equal(pa->data.data, pb->data.data, pa->data.len);
    }
}

/* Fails unless part holds exactly the len bytes at want. */
static void assert_part_data(const struct recorded_part *part, const char *want,
                             size_t len)
{
    assert_int_equal(part->data.len, len);
    if (len > 0)
        assert_memory_equal(part->data.data, want, len);
}

/* A text field and two files, the way a browser sends them. */
static const char simple_form[] =
    "--AaB03x\r\n"
    "Content-Disposition: form-data; name=\"title\"\r\n"
    "\r\n"
    "Band night\r\n"
    "--AaB03x\r\n"
    "Content-Disposition: form-data; name=\"photo\"; "
    "filename=\"stage.jpg\"\r\n"
    "Content-Type: image/jpeg\r\n"
    "\r\n"
    "\xff\xd8\xff\xe0\0JFIF\r\n"
    "--AaB03x\r\n"
    "Content-Disposition: form-data; name=\"photo\"; "
    "filename=\"crowd.png\"\r\n"
    "Content-Type: image/png\r\n"
    "\r\n"
    "\x89PNG\r\n\x1a\n\r\n"
    "--AaB03x--\r\n";

static void assert_simple_form(const struct recorder *rec)
{
    assert_int_equal(rec->count, 3);
    assert_false(rec->open);
    assert_string_equal(rec->parts[0].name, "title");
    assert_false(rec->parts[0].has_filename);
    assert_string_equal(rec->parts[0].content_type, "");
    assert_part_data(&rec->parts[0], LIT("Band night"));
    assert_string_equal(rec->parts[1].name, "photo");
    assert_true(rec->parts[1].has_filename);
    assert_string_equal(rec->parts[1].filename, "stage.jpg");
    assert_string_equal(rec->parts[1].content_type, "image/jpeg");
    assert_part_data(&rec->parts[1], LIT("\xff\xd8\xff\xe0\0JFIF"));
    assert_string_equal(rec->parts[2].filename, "crowd.png");
    assert_string_equal(rec->parts[2].content_type, "image/png");
    assert_part_data(&rec->parts[2], LIT("\x89PNG\r\n\x1a\n"));
    for (size_t i = 0; i < rec->count; i++)
        assert_true(rec->parts[i].ended);
}

static void test_bp_multipart_feed_simple_form(void **state)
{
    struct recorder rec;
    recorder_init(&rec);
    parse_ok(&rec, "AaB03x", LIT(simple_form));
    assert_simple_form(&rec);
    recorder_free(&rec);
}

static void test_bp_multipart_feed_byte_at_a_time(void **state)
{
    struct recorder rec;
    recorder_init(&rec);
    struct bp_error err = {{0}};
    assert_int_equal(parse_body(&rec, "AaB03x", &default_limits,
                                LIT(simple_form), 1, NULL, &err),
                     BP_OK);
    assert_simple_form(&rec);
    recorder_free(&rec);
}

static void test_bp_multipart_feed_random_chunks(void **state)
{
    struct recorder whole;
    recorder_init(&whole);
    parse_ok(&whole, "AaB03x", LIT(simple_form));
    uint32_t seed = 42;
    for (int round = 0; round < 500; round++) {
        struct recorder rec;
        recorder_init(&rec);
        struct bp_error err = {{0}};
        size_t max_chunk = 1 + (size_t)round % 40;
        assert_int_equal(parse_body(&rec, "AaB03x", &default_limits,
                                    LIT(simple_form), max_chunk, &seed, &err),
                         BP_OK);
        assert_same_parts(&whole, &rec);
        recorder_free(&rec);
    }
    recorder_free(&whole);
}

/*
 * Builds part data full of traps for boundary "bound123": every byte
 * value, CR, LF and "--" alone, and prefixes of the delimiter cut short
 * or broken, ending with one right before the real delimiter.
 */
static void build_tricky_data(struct bp_buf *data)
{
    static const char *const traps[] = {
        "\r",
        "\n",
        "--",
        "\r\n",
        "\r\n-",
        "\r\n--",
        "\r\n--b",
        "\r\n--bound12X",
        "\r\n--bound12\r\n--bound12",
        "\r\r\n--bound12",
        "\n--bound123",
        "\r--bound123",
        "--bound123",
        "\r\n\r\n--bound1",
        "\r\n-\r\n--\r\n--bound12-",
        "\r\n--bound12",
    };
    for (int c = 0; c < 256; c++) {
        char byte = (char)c;
        assert_int_equal(bp_buf_append(data, &byte, 1), BP_OK);
    }
    for (size_t i = 0; i < sizeof(traps) / sizeof(traps[0]); i++)
        assert_int_equal(bp_buf_append_str(data, traps[i]), BP_OK);
}

static void test_bp_multipart_feed_binary_data_with_near_misses(void **state)
{
    struct bp_buf data, body;
    bp_buf_init(&data, 0);
    bp_buf_init(&body, 0);
    build_tricky_data(&data);
    assert_int_equal(bp_buf_append_str(&body, "--bound123\r\n"
                                              "Content-Disposition: form-data;"
                                              " name=\"f\"; filename=\"b\"\r\n"
                                              "\r\n"),
                     BP_OK);
    assert_int_equal(bp_buf_append(&body, data.data, data.len), BP_OK);
    assert_int_equal(bp_buf_append_str(&body, "\r\n--bound123--\r\n"), BP_OK);

    struct recorder whole;
    recorder_init(&whole);
    parse_ok(&whole, "bound123", body.data, body.len);
    assert_int_equal(whole.count, 1);
    assert_part_data(&whole.parts[0], data.data, data.len);

    uint32_t seed = 7;
    for (size_t chunk = 1; chunk < 30; chunk++) {
        for (int random = 0; random < 2; random++) {
            struct recorder rec;
            recorder_init(&rec);
            struct bp_error err = {{0}};
            assert_int_equal(parse_body(&rec, "bound123", &default_limits,
                                        body.data, body.len, chunk,
                                        random ? &seed : NULL, &err),
                             BP_OK);
            assert_same_parts(&whole, &rec);
            recorder_free(&rec);
        }
    }
    recorder_free(&whole);
    bp_buf_free(&body);
    bp_buf_free(&data);
}

static void test_bp_multipart_feed_boundary_split_across_feeds(void **state)
{
    struct recorder whole;
    recorder_init(&whole);
    parse_ok(&whole, "AaB03x", LIT(simple_form));
    size_t len = sizeof(simple_form) - 1;
    /* Every way of cutting the body in three feeds. */
    for (size_t i = 0; i <= len; i++) {
        for (size_t j = i; j <= len; j++) {
            struct bp_multipart *mp;
            struct recorder rec;
            recorder_init(&rec);
            struct bp_error err = {{0}};
            assert_int_equal(bp_multipart_new("AaB03x", &default_limits,
                                              &recorder_callbacks, &rec, &mp),
                             BP_OK);
            assert_int_equal(bp_multipart_feed(mp, simple_form, i, &err),
                             BP_OK);
            assert_int_equal(
                bp_multipart_feed(mp, simple_form + i, j - i, &err), BP_OK);
            assert_int_equal(
                bp_multipart_feed(mp, simple_form + j, len - j, &err), BP_OK);
            assert_int_equal(bp_multipart_finish(mp, &err), BP_OK);
            bp_multipart_free(mp);
            assert_same_parts(&whole, &rec);
            recorder_free(&rec);
        }
    }
    recorder_free(&whole);
}

static void test_bp_multipart_feed_quoted_boundary(void **state)
{
    char boundary[BP_MULTIPART_BOUNDARY_MAX + 1];
    struct bp_error err = {{0}};
    assert_int_equal(bp_multipart_boundary("multipart/form-data; "
                                           "boundary=\"simple boundary:(1)\"",
                                           boundary, sizeof(boundary), &err),
                     BP_OK);
    assert_string_equal(boundary, "simple boundary:(1)");
    struct recorder rec;
    recorder_init(&rec);
    parse_ok(&rec, boundary,
             LIT("--simple boundary:(1)\r\n"
                 "Content-Disposition: form-data; name=a\r\n"
                 "\r\n"
                 "--simple boundary:(\r\n"
                 "--simple boundary:(1)--"));
    assert_int_equal(rec.count, 1);
    assert_string_equal(rec.parts[0].name, "a");
    assert_part_data(&rec.parts[0], LIT("--simple boundary:("));
    recorder_free(&rec);
}

static void test_bp_multipart_finish_missing_close_delimiter(void **state)
{
    const char *close =
        memmem(simple_form, sizeof(simple_form) - 1, LIT("--AaB03x--"));
    assert_non_null(close);
    size_t complete = (size_t)(close - simple_form) + strlen("--AaB03x--");
    /* Every truncation of the body before its close delimiter fails. */
    for (size_t len = 0; len < complete; len++) {
        struct recorder rec;
        recorder_init(&rec);
        struct bp_error err = {{0}};
        enum bp_rc rc = parse_body(&rec, "AaB03x", &default_limits, simple_form,
                                   len, 0, NULL, &err);
        if (rc != BP_EBADREQUEST)
            fail_msg("prefix of %zu bytes: %s", len, bp_rc_name(rc));
        assert_non_null(strstr(err.detail, "Malformed multipart body: "));
        recorder_free(&rec);
    }
    parse_fails("AaB03x", NULL, LIT("just some text"), BP_EBADREQUEST,
                "no boundary found");
    parse_fails("AaB03x", NULL,
                LIT("--AaB03x\r\nContent-Disposition: form-data; name=a\r\n"
                    "\r\ndata"),
                BP_EBADREQUEST, "ends before the close delimiter");
}

static void test_bp_multipart_feed_missing_name(void **state)
{
    parse_fails("b", NULL,
                LIT("--b\r\nContent-Disposition: form-data; filename=\"x\"\r\n"
                    "\r\n\r\n--b--"),
                BP_EBADREQUEST, "Content-Disposition has no name");
    parse_fails("b", NULL,
                LIT("--b\r\nContent-Disposition: form-data; name=\"\"\r\n"
                    "\r\n\r\n--b--"),
                BP_EBADREQUEST, "empty name");
    parse_fails("b", NULL,
                LIT("--b\r\nContent-Disposition: attachment; name=x\r\n"
                    "\r\n\r\n--b--"),
                BP_EBADREQUEST, "not form-data");
    parse_fails("b", NULL,
                LIT("--b\r\nContent-Type: text/plain\r\n\r\n\r\n--b--"),
                BP_EBADREQUEST, "no Content-Disposition");
    parse_fails("b", NULL, LIT("--b\r\n\r\n\r\n--b--"), BP_EBADREQUEST,
                "no Content-Disposition");
    parse_fails("b", NULL,
                LIT("--b\r\nContent-Disposition: form-data; name=a; name=b\r\n"
                    "\r\n\r\n--b--"),
                BP_EBADREQUEST, "more than one name");
    parse_fails("b", NULL,
                LIT("--b\r\nContent-Disposition: form-data; name=\"a\r\n"
                    "\r\n\r\n--b--"),
                BP_EBADREQUEST, "parameter syntax");
}

static void test_bp_multipart_feed_header_too_large(void **state)
{
    static const char body[] =
        "--b\r\n"
        "Content-Disposition: form-data; name=\"field\"\r\n"
        "X-Padding: 0123456789\r\n"
        "\r\n"
        "value\r\n"
        "--b--\r\n";
    const char *start = body + strlen("--b\r\n");
    size_t header_bytes = (size_t)(strstr(start, "\r\n\r\n") + 2 - start);
    struct bp_multipart_limits limits = {header_bytes, 4};
    struct recorder rec;
    recorder_init(&rec);
    struct bp_error err = {{0}};
    assert_int_equal(parse_body(&rec, "b", &limits, LIT(body), 0, NULL, &err),
                     BP_OK);
    recorder_free(&rec);

    limits.max_header_bytes = header_bytes - 1;
    parse_fails("b", &limits, LIT(body), BP_ETOOBIG,
                "Multipart part headers are larger than");
}

static void test_bp_multipart_feed_too_many_parts(void **state)
{
    struct bp_multipart_limits limits = {8192, 3};
    struct recorder rec;
    recorder_init(&rec);
    struct bp_error err = {{0}};
    assert_int_equal(
        parse_body(&rec, "AaB03x", &limits, LIT(simple_form), 0, NULL, &err),
        BP_OK);
    recorder_free(&rec);

    limits.max_parts = 2;
    recorder_init(&rec);
    assert_int_equal(
        parse_body(&rec, "AaB03x", &limits, LIT(simple_form), 0, NULL, &err),
        BP_ETOOBIG);
    assert_string_equal(err.detail, "Multipart body has more than 2 parts");
    assert_int_equal(rec.count, 2);
    assert_true(rec.parts[1].ended);
    recorder_free(&rec);
}

/* Makes callback fail_in fail at its fail_at-th call; checks the result. */
static void expect_callback_failure(int fail_in, size_t fail_at,
                                    enum bp_rc fail_rc, const char *detail,
                                    const char *want_detail)
{
    struct recorder rec;
    recorder_init(&rec);
    rec.fail_in = fail_in;
    rec.fail_at = fail_at;
    rec.fail_rc = fail_rc;
    rec.fail_detail = detail;
    struct bp_multipart *mp;
    assert_int_equal(bp_multipart_new("AaB03x", &default_limits,
                                      &recorder_callbacks, &rec, &mp),
                     BP_OK);
    struct bp_error err = {{0}};
    assert_int_equal(bp_multipart_feed(mp, LIT(simple_form), &err), fail_rc);
    assert_string_equal(err.detail, want_detail);
    /* The failure is final: more input or finish repeat it. */
    struct bp_error again = {{0}};
    assert_int_equal(bp_multipart_feed(mp, LIT("--AaB03x--"), &again), fail_rc);
    assert_string_equal(again.detail, want_detail);
    memset(&again, 0, sizeof(again));
    assert_int_equal(bp_multipart_finish(mp, &again), fail_rc);
    assert_string_equal(again.detail, want_detail);
    assert_int_equal(bp_multipart_feed(mp, NULL, 0, NULL), fail_rc);
    bp_multipart_free(mp);
    recorder_free(&rec);
}

static void test_bp_multipart_feed_callback_error_propagates(void **state)
{
    expect_callback_failure(FAIL_BEGIN, 2, BP_EUNSUPPORTED,
                            "Photos must be JPEG", "Photos must be JPEG");
    expect_callback_failure(FAIL_DATA, 1, BP_EIO, NULL,
                            "Multipart form field rejected (I/O error)");
    expect_callback_failure(FAIL_END, 1, BP_ECONFLICT, NULL,
                            "Multipart form field rejected (conflict)");
    expect_callback_failure(FAIL_END, 3, BP_ETOOBIG, "Photo too large",
                            "Photo too large");
}

static void test_bp_multipart_feed_empty_part(void **state)
{
    struct recorder rec;
    recorder_init(&rec);
    parse_ok(&rec, "b",
             LIT("--b\r\n"
                 "Content-Disposition: form-data; name=\"empty\"\r\n"
                 "\r\n"
                 "\r\n"
                 "--b\r\n"
                 "Content-Disposition: form-data; name=\"file\"; "
                 "filename=\"\"\r\n"
                 "Content-Type: application/octet-stream\r\n"
                 "\r\n"
                 "\r\n"
                 "--b\r\n"
                 /* RFC 2046 lets the blank line's CRLF start the delimiter. */
                 "Content-Disposition: form-data; name=\"shared\"\r\n"
                 "\r\n"
                 "--b\r\n"
                 "Content-Disposition: form-data; name=\"dashes\"\r\n"
                 "\r\n"
                 "--x\r\n"
                 "--b--\r\n"));
    assert_int_equal(rec.count, 4);
    assert_string_equal(rec.parts[0].name, "empty");
    assert_part_data(&rec.parts[0], "", 0);
    assert_true(rec.parts[1].has_filename);
    assert_string_equal(rec.parts[1].filename, "");
    assert_part_data(&rec.parts[1], "", 0);
    assert_string_equal(rec.parts[2].name, "shared");
    assert_part_data(&rec.parts[2], "", 0);
    assert_part_data(&rec.parts[3], LIT("--x"));
    recorder_free(&rec);
}

static void test_bp_multipart_feed_skips_preamble_and_epilogue(void **state)
{
    struct recorder rec;
    recorder_init(&rec);
    parse_ok(&rec, "AaB03x",
             LIT("This is the preamble, -- AaB03x\r\n"
                 "--AaB03 is not it, nor\n--AaB03x nor \r--AaB03x\r\n"
                 "\r\n"
                 "--AaB03x \t\r\n"
                 "Content-Disposition: form-data; name=\"a\"\r\n"
                 "\r\n"
                 "1\r\n"
                 "--AaB03x--  \r\n"
                 "epilogue\r\n--AaB03x\r\ngarbage\0\xff\n--AaB03x--\r\n"));
    assert_int_equal(rec.count, 1);
    assert_part_data(&rec.parts[0], LIT("1"));
    recorder_free(&rec);

    recorder_init(&rec);
    parse_ok(&rec, "b", LIT("--b--"));
    assert_int_equal(rec.count, 0);
    recorder_free(&rec);
}

static void test_bp_multipart_feed_headers_case_and_folding(void **state)
{
    struct recorder rec;
    recorder_init(&rec);
    parse_ok(&rec, "b",
             LIT("--b\r\n"
                 "X-Ignored: whatever: here\r\n"
                 "CONTENT-disposition:form-data;NAME=\"a b\";\r\n"
                 "\t FileName = \"x.jpg\"  ;\r\n"
                 "content-type:   image/jpeg  \r\n"
                 "Content-Transfer-Encoding: BINARY\r\n"
                 "\r\n"
                 "x\r\n"
                 "--b--"));
    assert_int_equal(rec.count, 1);
    assert_string_equal(rec.parts[0].name, "a b");
    assert_string_equal(rec.parts[0].filename, "x.jpg");
    assert_string_equal(rec.parts[0].content_type, "image/jpeg");
    recorder_free(&rec);
}

static void test_bp_multipart_feed_filename_forms(void **state)
{
    struct recorder rec;
    recorder_init(&rec);
    parse_ok(&rec, "b",
             LIT("--b\r\n"
                 "Content-Disposition: form-data; name=\"q\\\"\\\\\"; "
                 "filename=\"C:\\photos\\a\\\"b.jpg\"\r\n"
                 "\r\n"
                 "\r\n--b\r\n"
                 "Content-Disposition: form-data; name=f; "
                 "filename=\"plain.jpg\"; "
                 "filename*=utf-8'fr'%C3%A9t%C3%a9%20.jpg\r\n"
                 "\r\n"
                 "\r\n--b\r\n"
                 "Content-Disposition: form-data; name=g; "
                 "filename=\"\xc3\xa9.jpg\"\r\n"
                 "\r\n"
                 "\r\n--b--"));
    assert_int_equal(rec.count, 3);
    assert_string_equal(rec.parts[0].name, "q\"\\");
    assert_string_equal(rec.parts[0].filename, "C:\\photos\\a\"b.jpg");
    assert_string_equal(rec.parts[1].filename, "\xc3\xa9t\xc3\xa9 .jpg");
    assert_string_equal(rec.parts[2].filename, "\xc3\xa9.jpg");
    recorder_free(&rec);

    parse_fails("b", NULL,
                LIT("--b\r\nContent-Disposition: form-data; name=f; "
                    "filename*=ISO-8859-1''%E9.jpg\r\n\r\n\r\n--b--"),
                BP_EBADREQUEST, "filename* must be UTF-8");
    parse_fails("b", NULL,
                LIT("--b\r\nContent-Disposition: form-data; name=f; "
                    "filename*=UTF-8''%0A.jpg\r\n\r\n\r\n--b--"),
                BP_EBADREQUEST, "control character in filename*");
    parse_fails("b", NULL,
                LIT("--b\r\nContent-Disposition: form-data; name=f; "
                    "filename*=UTF-8''%G0\r\n\r\n\r\n--b--"),
                BP_EBADREQUEST, "bad percent-encoding");
    parse_fails("b", NULL,
                LIT("--b\r\nContent-Disposition: form-data; name=f; "
                    "filename*=UTF-8''x%2\r\n\r\n\r\n--b--"),
                BP_EBADREQUEST, "bad percent-encoding");
    parse_fails("b", NULL,
                LIT("--b\r\nContent-Disposition: form-data; name=f; "
                    "filename*=x.jpg\r\n\r\n\r\n--b--"),
                BP_EBADREQUEST, "charset'language'value");
}

static void test_bp_multipart_feed_rejects_malformed_framing(void **state)
{
    parse_fails("b", NULL,
                LIT("--b\nContent-Disposition: form-data; name=a\n\nx\n--b--"),
                BP_EBADREQUEST, "unexpected bytes after a boundary");
    parse_fails("b", NULL,
                LIT("--b\r\nContent-Disposition: form-data; name=a\n\nx"),
                BP_EBADREQUEST, "must end with CRLF");
    parse_fails("b", NULL,
                LIT("--b\r\nContent-Disposition: form-data; name=a\rx"),
                BP_EBADREQUEST, "must end with CRLF");
    parse_fails("b", NULL,
                LIT("--b\r\nContent-Disposition: form-data; name=a\r\n\rx"),
                BP_EBADREQUEST, "must end with CRLF");
    parse_fails("b", NULL, LIT("--b\rx"), BP_EBADREQUEST,
                "boundary line must end with CRLF");
    parse_fails("b", NULL, LIT("--bx\r\n"), BP_EBADREQUEST,
                "unexpected bytes after a boundary");
    parse_fails("b", NULL, LIT("--b-x"), BP_EBADREQUEST,
                "unexpected bytes after a boundary");
    parse_fails("b", NULL, LIT("--b \tx"), BP_EBADREQUEST,
                "unexpected bytes after a boundary");
    /* The whole delimiter inside data ends the part, so must be framing. */
    parse_fails("bound", NULL,
                LIT("--bound\r\nContent-Disposition: form-data; name=a\r\n"
                    "\r\nabc\r\n--boundary\r\n--bound--"),
                BP_EBADREQUEST, "unexpected bytes after a boundary");
    parse_fails("b", NULL,
                LIT("--b\r\nContent-Disposition: form-data; name=a\r\n"
                    " folded first\r\n\r\n\r\n--b--"),
                BP_EBADREQUEST, "Content-Disposition parameter syntax");
    parse_fails("b", NULL,
                LIT("--b\r\n Content-Disposition: form-data; name=a\r\n"
                    "\r\n\r\n--b--"),
                BP_EBADREQUEST, "invalid part header name");
    parse_fails("b", NULL, LIT("--b\r\nno colon here\r\n\r\n\r\n--b--"),
                BP_EBADREQUEST, "without a name");
    parse_fails("b", NULL, LIT("--b\r\n: empty name\r\n\r\n\r\n--b--"),
                BP_EBADREQUEST, "without a name");
    parse_fails("b", NULL,
                LIT("--b\r\nContent-Disposition: form-data; name=a\0\r\n"
                    "\r\n\r\n--b--"),
                BP_EBADREQUEST, "control character in a part header");
    parse_fails("b", NULL,
                LIT("--b\r\nContent-Disposition: form-data; name=a\r\n"
                    "content-disposition: form-data; name=b\r\n\r\n\r\n--b--"),
                BP_EBADREQUEST, "more than one Content-Disposition header");
}

static void test_bp_multipart_feed_transfer_encoding(void **state)
{
    parse_fails("b", NULL,
                LIT("--b\r\nContent-Disposition: form-data; name=a\r\n"
                    "Content-Transfer-Encoding: base64\r\n\r\nQQ==\r\n--b--"),
                BP_EUNSUPPORTED, "Content-Transfer-Encoding");
    struct recorder rec;
    recorder_init(&rec);
    parse_ok(&rec, "b",
             LIT("--b\r\nContent-Disposition: form-data; name=a\r\n"
                 "Content-Transfer-Encoding: 8bit\r\n\r\nA\r\n--b--"));
    assert_part_data(&rec.parts[0], LIT("A"));
    recorder_free(&rec);
}

static void
test_bp_multipart_feed_holds_back_less_than_a_delimiter(void **state)
{
    /*
     * A 1 MiB part of CR, LF, '-' and boundary letters, without 'd' so it
     * cannot hold "\r\n--bound": after every feed, all but the bytes
     * that might start a delimiter have been handed on.
     */
    static const char alphabet[] = "\r\n-bounx";
    const size_t total = 1 << 20, delim_len = strlen("\r\n--bound");
    struct recorder rec;
    recorder_init(&rec);
    struct bp_multipart *mp;
    struct bp_error err = {{0}};
    assert_int_equal(bp_multipart_new("bound", &default_limits,
                                      &recorder_callbacks, &rec, &mp),
                     BP_OK);
    assert_int_equal(
        bp_multipart_feed(
            mp,
            LIT("--bound\r\nContent-Disposition: form-data; name=a\r\n\r\n"),
            &err),
        BP_OK);
    uint32_t seed = 3;
    char chunk[4096];
    for (size_t fed = 0; fed < total;) {
        for (size_t i = 0; i < sizeof(chunk); i++)
            chunk[i] = alphabet[next_random(&seed) % (sizeof(alphabet) - 1)];
        assert_int_equal(bp_multipart_feed(mp, chunk, sizeof(chunk), &err),
                         BP_OK);
        fed += sizeof(chunk);
        assert_true(rec.data_len <= fed);
        assert_true(rec.data_len + delim_len > fed);
        /* Keep the recorder small: only the count matters here. */
        bp_buf_reset(&rec.parts[0].data);
    }
    assert_int_equal(bp_multipart_feed(mp, LIT("\r\n--bound--"), &err), BP_OK);
    assert_int_equal(bp_multipart_finish(mp, &err), BP_OK);
    assert_int_equal(rec.data_len, total);
    bp_multipart_free(mp);
    recorder_free(&rec);
}

static void test_bp_multipart_feed_accepts_null_callbacks(void **state)
{
    static const struct bp_multipart_callbacks none = {0};
    struct bp_multipart *mp;
    struct bp_error err = {{0}};
    assert_int_equal(
        bp_multipart_new("AaB03x", &default_limits, &none, NULL, &mp), BP_OK);
    assert_int_equal(bp_multipart_feed(mp, LIT(simple_form), &err), BP_OK);
    assert_int_equal(bp_multipart_finish(mp, &err), BP_OK);
    assert_int_equal(bp_multipart_finish(mp, &err), BP_OK);
    bp_multipart_free(mp);
}

static void test_bp_multipart_new_rejects_bad_arguments(void **state)
{
    struct bp_multipart *mp = NULL;
    struct bp_multipart_limits zero_parts = {8192, 0};
    struct bp_multipart_limits zero_headers = {0, 1};
    char long_boundary[BP_MULTIPART_BOUNDARY_MAX + 2];
    memset(long_boundary, 'a', sizeof(long_boundary) - 1);
    long_boundary[sizeof(long_boundary) - 1] = '\0';
    assert_int_equal(
        bp_multipart_new("", &default_limits, &recorder_callbacks, NULL, &mp),
        BP_EINVAL);
    assert_int_equal(bp_multipart_new("a\rb", &default_limits,
                                      &recorder_callbacks, NULL, &mp),
                     BP_EINVAL);
    assert_int_equal(bp_multipart_new("ends ", &default_limits,
                                      &recorder_callbacks, NULL, &mp),
                     BP_EINVAL);
    assert_int_equal(bp_multipart_new(long_boundary, &default_limits,
                                      &recorder_callbacks, NULL, &mp),
                     BP_EINVAL);
    assert_int_equal(
        bp_multipart_new("b", &zero_parts, &recorder_callbacks, NULL, &mp),
        BP_EINVAL);
    assert_int_equal(
        bp_multipart_new("b", &zero_headers, &recorder_callbacks, NULL, &mp),
        BP_EINVAL);
    assert_int_equal(
        bp_multipart_new("b", NULL, &recorder_callbacks, NULL, &mp), BP_EINVAL);
    assert_int_equal(bp_multipart_new("b", &default_limits, NULL, NULL, &mp),
                     BP_EINVAL);
    assert_null(mp);
    long_boundary[BP_MULTIPART_BOUNDARY_MAX] = '\0';
    assert_int_equal(bp_multipart_new(long_boundary, &default_limits,
                                      &recorder_callbacks, NULL, &mp),
                     BP_OK);
    bp_multipart_free(mp);
}

static void test_bp_multipart_free_accepts_null(void **state)
{
    bp_multipart_free(NULL);
}

/* Fails unless content_type yields boundary want. */
static void expect_boundary(const char *content_type, const char *want)
{
    char out[BP_MULTIPART_BOUNDARY_MAX + 1];
    struct bp_error err = {{0}};
    enum bp_rc rc = bp_multipart_boundary(content_type, out, sizeof(out), &err);
    if (rc != BP_OK)
        fail_msg("'%s': %s", content_type, err.detail);
    assert_string_equal(out, want);
}

/* Fails unless content_type gives want_rc with a detail containing want. */
static void expect_boundary_error(const char *content_type, enum bp_rc want_rc,
                                  const char *want)
{
    char out[BP_MULTIPART_BOUNDARY_MAX + 1];
    struct bp_error err = {{0}};
    enum bp_rc rc = bp_multipart_boundary(content_type, out, sizeof(out), &err);
    if (rc != want_rc)
        fail_msg("'%s': got %s, want %s", content_type ? content_type : "NULL",
                 bp_rc_name(rc), bp_rc_name(want_rc));
    if (strstr(err.detail, want) == NULL)
        fail_msg("'%s' does not contain '%s'", err.detail, want);
}

static void test_bp_multipart_boundary_reads_parameter(void **state)
{
    expect_boundary("multipart/form-data; boundary=AaB03x", "AaB03x");
    expect_boundary("Multipart/Form-Data;BOUNDARY=AaB03x", "AaB03x");
    expect_boundary("  multipart/form-data ; charset=utf-8; boundary = "
                    "----WebKitFormBoundary7MA4YWxkTrZu0gW ;",
                    "----WebKitFormBoundary7MA4YWxkTrZu0gW");
    expect_boundary("multipart/form-data; boundary=\"gc0p4Jq0M:2Yt08j?34c0p\"",
                    "gc0p4Jq0M:2Yt08j?34c0p");
    expect_boundary("multipart/form-data; x=\"y;z\\\"boundary=no\"; "
                    "boundary=real",
                    "real");
    expect_boundary("multipart/form-data; boundary=\"with space\"",
                    "with space");
    expect_boundary("multipart/form-data; boundary="
                    "0123456789012345678901234567890123456789012345678901234567"
                    "890123456789",
                    "0123456789012345678901234567890123456789012345678901234567"
                    "890123456789");
}

static void test_bp_multipart_boundary_rejects_bad_values(void **state)
{
    expect_boundary_error(NULL, BP_EUNSUPPORTED, "multipart/form-data");
    expect_boundary_error("", BP_EUNSUPPORTED, "multipart/form-data");
    expect_boundary_error("application/json", BP_EUNSUPPORTED,
                          "multipart/form-data");
    expect_boundary_error("multipart/mixed; boundary=x", BP_EUNSUPPORTED,
                          "multipart/form-data");
    expect_boundary_error("multipart/form-datax; boundary=x", BP_EUNSUPPORTED,
                          "multipart/form-data");
    expect_boundary_error("multipart/form-data", BP_EBADREQUEST, "no boundary");
    expect_boundary_error("multipart/form-data; charset=utf-8", BP_EBADREQUEST,
                          "no boundary");
    expect_boundary_error("multipart/form-data; boundary=\"\"", BP_EBADREQUEST,
                          "empty boundary");
    expect_boundary_error("multipart/form-data; boundary=", BP_EBADREQUEST,
                          "parameter syntax");
    expect_boundary_error("multipart/form-data; boundary=\"abc", BP_EBADREQUEST,
                          "parameter syntax");
    expect_boundary_error("multipart/form-data; boundary=a=b", BP_EBADREQUEST,
                          "parameter syntax");
    expect_boundary_error("multipart/form-data boundary=a", BP_EBADREQUEST,
                          "parameter syntax");
    expect_boundary_error("multipart/form-data; =a", BP_EBADREQUEST,
                          "parameter syntax");
    expect_boundary_error("multipart/form-data; boundary a", BP_EBADREQUEST,
                          "parameter syntax");
    expect_boundary_error("multipart/form-data; boundary=\"a\rb\"",
                          BP_EBADREQUEST, "parameter syntax");
    expect_boundary_error("multipart/form-data; boundary=a; boundary=b",
                          BP_EBADREQUEST, "more than one boundary");
    expect_boundary_error("multipart/form-data; boundary=a@b", BP_EBADREQUEST,
                          "parameter syntax");
    expect_boundary_error("multipart/form-data; boundary=\"a@b\"",
                          BP_EBADREQUEST, "invalid character");
    expect_boundary_error("multipart/form-data; boundary=\"trailing \"",
                          BP_EBADREQUEST, "invalid character");
    expect_boundary_error("multipart/form-data; boundary=\"\xc3\xa9\"",
                          BP_EBADREQUEST, "invalid character");
    expect_boundary_error("multipart/form-data; boundary="
                          "0123456789012345678901234567890123456789012345678901"
                          "2345678901234567890",
                          BP_EBADREQUEST, "longer than 70");

    char small[4];
    struct bp_error err = {{0}};
    assert_int_equal(bp_multipart_boundary("multipart/form-data; boundary=abcd",
                                           small, sizeof(small), &err),
                     BP_EINTERNAL);
    assert_int_equal(bp_multipart_boundary("multipart/form-data; boundary=abc",
                                           small, sizeof(small), &err),
                     BP_OK);
    assert_string_equal(small, "abc");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bp_multipart_feed_simple_form),
        cmocka_unit_test(test_bp_multipart_feed_byte_at_a_time),
        cmocka_unit_test(test_bp_multipart_feed_random_chunks),
        cmocka_unit_test(test_bp_multipart_feed_binary_data_with_near_misses),
        cmocka_unit_test(test_bp_multipart_feed_boundary_split_across_feeds),
        cmocka_unit_test(test_bp_multipart_feed_quoted_boundary),
        cmocka_unit_test(test_bp_multipart_finish_missing_close_delimiter),
        cmocka_unit_test(test_bp_multipart_feed_missing_name),
        cmocka_unit_test(test_bp_multipart_feed_header_too_large),
        cmocka_unit_test(test_bp_multipart_feed_too_many_parts),
        cmocka_unit_test(test_bp_multipart_feed_callback_error_propagates),
        cmocka_unit_test(test_bp_multipart_feed_empty_part),
        cmocka_unit_test(test_bp_multipart_feed_skips_preamble_and_epilogue),
        cmocka_unit_test(test_bp_multipart_feed_headers_case_and_folding),
        cmocka_unit_test(test_bp_multipart_feed_filename_forms),
        cmocka_unit_test(test_bp_multipart_feed_rejects_malformed_framing),
        cmocka_unit_test(test_bp_multipart_feed_transfer_encoding),
        cmocka_unit_test(
            test_bp_multipart_feed_holds_back_less_than_a_delimiter),
        cmocka_unit_test(test_bp_multipart_feed_accepts_null_callbacks),
        cmocka_unit_test(test_bp_multipart_new_rejects_bad_arguments),
        cmocka_unit_test(test_bp_multipart_free_accepts_null),
        cmocka_unit_test(test_bp_multipart_boundary_reads_parameter),
        cmocka_unit_test(test_bp_multipart_boundary_rejects_bad_values),
    };
    return cmocka_run_group_tests_name("multipart", tests, NULL, NULL);
}
