/* test_config.c: configuration defaults, file, environment, overrides. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

/* Writes text to a new temporary file whose path goes into path. */
static void write_file(char path[64], const char *text)
{
    snprintf(path, 64, "/tmp/bp-test-config-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void test_bp_config_load_defaults(void **state)
{
    char *env[] = {NULL};
    struct bp_config_source src = {.env = env};
    struct bp_config cfg;
    struct bp_error err = {{0}};
    assert_int_equal(bp_config_load(&cfg, &src, &err), BP_OK);
    assert_int_equal(cfg.workers, 2);
    assert_int_equal(cfg.max_body_bytes, 50L * 1024 * 1024);
    assert_int_equal(cfg.max_name_length, 200);
    assert_int_equal(cfg.list_default_limit, 1000);
    assert_int_equal(cfg.list_max_limit, 1000);
    assert_string_equal(cfg.database_url,
                        "sqlite:///var/lib/bandpics/bandpics.db");
    bp_config_free(&cfg);
}

static void test_bp_config_load_file_then_env_then_overrides(void **state)
{
    char path[64];
    write_file(path, "# comment\n\n data_dir = /srv/bp \nworkers=3\n"
                     "max_body_bytes = 2M\nlisten = unix:/a.sock\n");
    char workers[] = "BANDPICS_WORKERS=5", port[] = "BANDPICS_PORT=8080",
         other[] = "OTHER=1";
    char *env[] = {workers, port, other, NULL};
    struct bp_config_source src = {.path = path,
                                   .path_required = true,
                                   .env = env,
                                   .listen = "127.0.0.1:9000"};
    struct bp_config cfg;
    struct bp_error err = {{0}};
    assert_int_equal(bp_config_load(&cfg, &src, &err), BP_OK);
    assert_string_equal(cfg.data_dir, "/srv/bp");
    assert_string_equal(cfg.database_url, "sqlite:///srv/bp/bandpics.db");
    assert_int_equal(cfg.workers, 5);
    assert_int_equal(cfg.max_body_bytes, 2L * 1024 * 1024);
    assert_string_equal(cfg.listen, "127.0.0.1:9000");
    bp_config_free(&cfg);
    src.workers = 7;
    assert_int_equal(bp_config_load(&cfg, &src, &err), BP_OK);
    assert_int_equal(cfg.workers, 7);
    bp_config_free(&cfg);
    unlink(path);
}

static void expect_invalid(const char *text, const char *message_part)
{
    char path[64];
    write_file(path, text);
    char *env[] = {NULL};
    struct bp_config_source src = {
        .path = path, .path_required = true, .env = env};
    struct bp_config cfg;
    struct bp_error err = {{0}};
    assert_int_equal(bp_config_load(&cfg, &src, &err), BP_EINVAL);
    if (strstr(err.detail, message_part) == NULL)
        fail_msg("'%s' does not mention '%s'", err.detail, message_part);
    unlink(path);
}

static void test_bp_config_load_rejects_bad_settings(void **state)
{
    expect_invalid("nonsense = 1\n", "unknown key 'nonsense'");
    expect_invalid("workers = many\n", ":1: workers: not a valid integer");
    expect_invalid("\n\nworkers = 0\n", ":3: workers: 0 is out of range");
    expect_invalid("max_body_bytes = 12Q\n", "not a valid size");
    expect_invalid("just words\n", "expected 'key = value'");
    expect_invalid("list_default_limit = 1200\n", "exceeds list_max_limit");
    expect_invalid("database_url = sqlite://\n", "needs a path");
}

static void test_bp_config_load_rejects_bad_environment(void **state)
{
    char bad[] = "BANDPICS_MAX_NAME_LENGTH=-4";
    char *env[] = {bad, NULL};
    struct bp_config_source src = {.env = env};
    struct bp_config cfg;
    struct bp_error err = {{0}};
    assert_int_equal(bp_config_load(&cfg, &src, &err), BP_EINVAL);
    assert_non_null(strstr(err.detail, "BANDPICS_MAX_NAME_LENGTH"));
}

static void test_bp_config_load_missing_file(void **state)
{
    char *env[] = {NULL};
    struct bp_config_source src = {.path = "/nonexistent/bandpics.conf",
                                   .env = env};
    struct bp_config cfg;
    struct bp_error err = {{0}};
    assert_int_equal(bp_config_load(&cfg, &src, &err), BP_OK);
    bp_config_free(&cfg);
    src.path_required = true;
    assert_int_equal(bp_config_load(&cfg, &src, &err), BP_EINVAL);
    assert_non_null(strstr(err.detail, "/nonexistent/bandpics.conf"));
}

static void test_bp_config_redact_url_hides_credentials(void **state)
{
    char out[128];
    bp_config_redact_url("mongodb://app:s3cret@db1,db2/bp?replicaSet=rs0", out,
                         sizeof(out));
    assert_string_equal(out, "mongodb://***@db1,db2/bp?replicaSet=rs0");
    bp_config_redact_url("mongodb://db1/bp?x=a@b", out, sizeof(out));
    assert_string_equal(out, "mongodb://db1/bp?x=a@b");
    bp_config_redact_url("sqlite:///var/lib/bandpics/bandpics.db", out,
                         sizeof(out));
    assert_string_equal(out, "sqlite:///var/lib/bandpics/bandpics.db");
}

static void test_bp_config_parse_size_units(void **state)
{
    long v;
    assert_int_equal(bp_config_parse_size("512k", &v), BP_OK);
    assert_int_equal(v, 512 * 1024);
    assert_int_equal(bp_config_parse_size("1G", &v), BP_OK);
    assert_int_equal(v, 1024L * 1024 * 1024);
    assert_int_equal(bp_config_parse_size("-1", &v), BP_EINVAL);
    assert_int_equal(bp_config_parse_size("", &v), BP_EINVAL);
    assert_int_equal(bp_config_parse_size("9999999999999999G", &v), BP_EINVAL);
}

/* Loads cfg from the file text and the environment env (BP_OK expected). */
static void load_with(const char *text, char **env, struct bp_config *cfg)
{
    char path[64];
    write_file(path, text);
    struct bp_config_source src = {
        .path = path, .path_required = true, .env = env};
    struct bp_error err = {{0}};
    if (bp_config_load(cfg, &src, &err) != BP_OK)
        fail_msg("config refused: %s", err.detail);
    unlink(path);
}

static void test_bp_config_load_s3_credentials_from_aws_env(void **state)
{
    char *env[] = {(char[]){"AWS_ACCESS_KEY_ID=AKIDENV"},
                   (char[]){"AWS_SECRET_ACCESS_KEY=secret"},
                   (char[]){"AWS_SESSION_TOKEN=token"}, NULL};
    struct bp_config cfg;
    load_with("blob_url = s3://photos/live\n", env, &cfg);
    assert_string_equal(cfg.s3_access_key_id, "AKIDENV");
    assert_string_equal(cfg.s3_secret_access_key, "secret");
    assert_string_equal(cfg.s3_session_token, "token");
    bp_config_free(&cfg);
    /* A key pair in the file wins whole: no token from elsewhere. */
    load_with("blob_url = s3://photos\ns3_access_key_id = AKIDFILE\n"
              "s3_secret_access_key = file-secret\n",
              env, &cfg);
    assert_string_equal(cfg.s3_access_key_id, "AKIDFILE");
    assert_string_equal(cfg.s3_secret_access_key, "file-secret");
    assert_string_equal(cfg.s3_session_token, "");
    bp_config_free(&cfg);
}

static void test_bp_config_s3_path_style_auto(void **state)
{
    char *env[] = {NULL};
    struct bp_config cfg;
    load_with("s3_endpoint = http://127.0.0.1:9000\n", env, &cfg);
    assert_true(bp_config_s3_path_style(&cfg));
    bp_config_free(&cfg);
    load_with("s3_region = eu-west-1\n", env, &cfg);
    assert_false(bp_config_s3_path_style(&cfg));
    bp_config_free(&cfg);
    load_with("s3_addressing = path\n", env, &cfg);
    assert_true(bp_config_s3_path_style(&cfg));
    bp_config_free(&cfg);
}

static void test_bp_config_load_rejects_bad_blob_settings(void **state)
{
    static const char keys[] =
        "s3_access_key_id = AKID\ns3_secret_access_key = s\n";
    char text[512];
    expect_invalid("blob_url = ftp://x\n", "blob_url");
    expect_invalid("blob_url = s3:///prefix\n", "blob_url");
    expect_invalid("blob_url = s3://photos\n", "s3_access_key_id");
    static const char *const buckets[] = {
        "ab", "Photos", "-photos", "photos-", "a..b", "192.168.1.1", "ph_otos"};
    for (size_t i = 0; i < sizeof(buckets) / sizeof(buckets[0]); i++) {
        snprintf(text, sizeof(text), "%sblob_url = s3://%s/live\n", keys,
                 buckets[i]);
        expect_invalid(text, "bucket");
    }
    snprintf(text, sizeof(text), "%sblob_url = s3://my.photos\n", keys);
    expect_invalid(text, "s3_addressing = path");
    expect_invalid("s3_addressing = sideways\n", "s3_addressing");
    expect_invalid("s3_endpoint = minio:9000\n", "s3_endpoint");
    expect_invalid("upload_secret = short\n", "upload_secret");
    expect_invalid("api_base_url = https://x/?a=b\n", "api_base_url");
    expect_invalid("base_path = api\n", "base_path");
    expect_invalid("base_path = /api/\n", "base_path");
    expect_invalid("base_path = /a pi\n", "base_path");
    expect_invalid("base_path = /api?x\n", "base_path");
    expect_invalid("base_path = //evil.example\n", "base_path");
    expect_invalid("public_base_url = https://cdn.example\n",
                   "public_base_url");
    snprintf(text, sizeof(text),
             "%sblob_url = s3://photos\npublic_base_url = cdn.example\n", keys);
    expect_invalid(text, "public_base_url");
}

static void test_bp_config_base_path_valid_bounds(void **state)
{
    (void)state;
    assert_true(bp_config_base_path_valid("", 0));
    assert_true(bp_config_base_path_valid("/api", 4));
    assert_true(bp_config_base_path_valid("/cgi-bin/bandpics.cgi", 21));
    assert_false(bp_config_base_path_valid("/", 1));
    assert_false(bp_config_base_path_valid("//evil.example", 14));
    assert_false(bp_config_base_path_valid("/a//b", 5));
    assert_false(bp_config_base_path_valid("/a/./b", 6));
    assert_false(bp_config_base_path_valid("/a/..", 5));
    assert_true(bp_config_base_path_valid("/a/.well/b..c", 13));
    assert_false(bp_config_base_path_valid("/a\"b", 4));
    assert_false(bp_config_base_path_valid("/a\r\nX: y", 8));
    char longest[BP_BASE_PATH_MAX + 2];
    memset(longest, 'a', sizeof(longest));
    longest[0] = '/';
    assert_true(bp_config_base_path_valid(longest, BP_BASE_PATH_MAX));
    assert_false(bp_config_base_path_valid(longest, BP_BASE_PATH_MAX + 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bp_config_load_defaults),
        cmocka_unit_test(test_bp_config_base_path_valid_bounds),
        cmocka_unit_test(test_bp_config_load_file_then_env_then_overrides),
        cmocka_unit_test(test_bp_config_load_rejects_bad_settings),
        cmocka_unit_test(test_bp_config_load_rejects_bad_environment),
        cmocka_unit_test(test_bp_config_load_missing_file),
        cmocka_unit_test(test_bp_config_parse_size_units),
        cmocka_unit_test(test_bp_config_redact_url_hides_credentials),
        cmocka_unit_test(test_bp_config_load_s3_credentials_from_aws_env),
        cmocka_unit_test(test_bp_config_s3_path_style_auto),
        cmocka_unit_test(test_bp_config_load_rejects_bad_blob_settings),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
