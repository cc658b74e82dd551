/* test_log.c: the JSON log lines, their levels and their file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <json-c/json.h>

#include "config.h"
#include "log.h"

struct fixture {
    char path[64];
    struct bp_config cfg;
};

/* Writable copies of the settings the tests use (the config owns its
 * strings as char *). */
static char info[] = "info", bad_level[] = "x", no_file[] = "",
            nowhere[] = "/nonexistent/dir/log";

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    snprintf(f->path, sizeof(f->path), "/tmp/bp-test-log-XXXXXX");
    int fd = mkstemp(f->path);
    assert_true(fd >= 0);
    close(fd);
    f->cfg.log_file = f->path;
    f->cfg.log_level = info;
    struct bp_error err = {{0}};
    assert_int_equal(bp_log_setup(&f->cfg, &err), BP_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    struct bp_config to_stderr = {.log_file = no_file, .log_level = info};
    bp_log_setup(&to_stderr, NULL);
    unlink(f->path);
    free(f);
    return 0;
}

/* Reads the log's lines, each parsed; returns how many (at most max). */
static size_t read_lines(const struct fixture *f, struct json_object **lines,
                         size_t max)
{
    FILE *in = fopen(f->path, "r");
    assert_non_null(in);
    char buf[8192];
    size_t n = 0;
    while (n < max && fgets(buf, sizeof(buf), in) != NULL) {
        assert_true(strlen(buf) > 0 && buf[strlen(buf) - 1] == '\n');
        lines[n] = json_tokener_parse(buf);
        if (lines[n] == NULL)
            fail_msg("not a JSON line: %s", buf);
        n++;
    }
    fclose(in);
    return n;
}

static const char *field(struct json_object *line, const char *key)
{
    struct json_object *v;
    assert_true(json_object_object_get_ex(line, key, &v));
    return json_object_get_string(v);
}

static void test_bp_log_writes_json_lines_from_its_level(void **state)
{
    struct fixture *f = *state;
    bp_log_debug("not at info");
    bp_log_info("hello %d", 42);
    bp_log_warn("quote \" and newline \n and bad byte \xff end");
    struct json_object *lines[4];
    assert_int_equal(read_lines(f, lines, 4), 2);
    assert_string_equal(field(lines[0], "msg"), "hello 42");
    assert_string_equal(field(lines[0], "level"), "info");
    assert_int_equal(strlen(field(lines[0], "time")), 24);
    assert_string_equal(field(lines[1], "level"), "warn");
    assert_string_equal(field(lines[1], "msg"),
                        "quote \" and newline \n and bad byte ? end");
    json_object_put(lines[0]);
    json_object_put(lines[1]);
}

static void test_bp_log_request_and_change(void **state)
{
    struct fixture *f = *state;
    struct bp_log_request r = {.request_id = "abc",
                               .method = "POST",
                               .route = "/image_groups",
                               .status = 201,
                               .principal = NULL,
                               .bytes_in = 10,
                               .bytes_out = 20,
                               .ms = 1.5};
    bp_log_request(&r);
    bp_log_change("deleted", "image", "0123", "sub-1", "abc");
    struct json_object *lines[3];
    assert_int_equal(read_lines(f, lines, 3), 2);
    assert_string_equal(field(lines[0], "type"), "request");
    assert_string_equal(field(lines[0], "route"), "/image_groups");
    assert_string_equal(field(lines[0], "status"), "201");
    assert_string_equal(field(lines[0], "principal"), "");
    assert_string_equal(field(lines[0], "bytes_out"), "20");
    assert_string_equal(field(lines[1], "type"), "change");
    assert_string_equal(field(lines[1], "action"), "deleted");
    assert_string_equal(field(lines[1], "id"), "0123");
    assert_string_equal(field(lines[1], "principal"), "sub-1");
    json_object_put(lines[0]);
    json_object_put(lines[1]);
}

static void test_bp_log_lines_stay_json_whatever_the_text(void **state)
{
    struct fixture *f = *state;
    /* Quotes, backslashes, control bytes and bytes that are not UTF-8
     * from the web server; a message far longer than its buffer. */
    struct bp_log_request r = {.request_id = "a\"b\\c\x01\xff\xfe",
                               .method = "G\nET",
                               .route = "/images/{id}",
                               .status = 200,
                               .principal = "caf\xc3\xa9",
                               .ms = 0.25};
    bp_log_request(&r);
    char long_text[3000];
    memset(long_text, 'x', sizeof(long_text) - 1);
    long_text[sizeof(long_text) - 1] = '\0';
    bp_log_info("%s%s", long_text, long_text);
    struct json_object *lines[3];
    assert_int_equal(read_lines(f, lines, 3), 2);
    assert_string_equal(field(lines[0], "request_id"),
                        "a\"b\\c\x01\xc3\xbf\xc3\xbe"); /* as Latin-1 */
    assert_string_equal(field(lines[0], "method"), "G\nET");
    assert_string_equal(field(lines[0], "principal"), "caf\xc3\xa9");
    assert_string_equal(field(lines[0], "ms"), "0.250");
    /* A message is cut at its 1 KiB buffer; the line stays whole. */
    assert_int_equal(strlen(field(lines[1], "msg")), 1023);
    json_object_put(lines[0]);
    json_object_put(lines[1]);
}

static void test_bp_log_setup_refuses_bad_settings(void **state)
{
    (void)state;
    struct bp_error err = {{0}};
    struct bp_config bad = {.log_file = no_file, .log_level = bad_level};
    assert_int_equal(bp_log_setup(&bad, &err), BP_EINVAL);
    assert_non_null(strstr(err.detail, "log_level"));
    struct bp_config unwritable = {.log_file = nowhere, .log_level = info};
    assert_int_equal(bp_log_setup(&unwritable, &err), BP_EINVAL);
    assert_non_null(strstr(err.detail, "log_file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_bp_log_writes_json_lines_from_its_level, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bp_log_request_and_change, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_bp_log_lines_stay_json_whatever_the_text, setup, teardown),
        cmocka_unit_test(test_bp_log_setup_refuses_bad_settings),
    };
    return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
