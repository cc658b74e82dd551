/*
 * config.c: the configuration keys (a table of names, types, limits and
 * struct offsets), their defaults, and the parsing of the file and of
 * the environment.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"

enum key_type { KEY_STRING, KEY_INT, KEY_SIZE };

struct key_spec {
    const char *name;
    enum key_type type;
    size_t offset;
    const char *default_value;
    long min, max;
};

#define STR_KEY(field, def)                                                    \
    {                                                                          \
#field, KEY_STRING, offsetof(struct bp_config, field), def, 0, 0       \
    }
#define INT_KEY(field, def, lo, hi)                                            \
    {                                                                          \
#field, KEY_INT, offsetof(struct bp_config, field), def, lo, hi        \
    }
#define SIZE_KEY(field, def, lo, hi)                                           \
    {                                                                          \
#field, KEY_SIZE, offsetof(struct bp_config, field), def, lo, hi       \
    }

static const struct key_spec keys[] = {
    STR_KEY(listen, "unix:/run/bandpics/bandpics.sock"),
    INT_KEY(workers, "2", 1, 256),
    STR_KEY(upload_listen, ""),
    INT_KEY(upload_workers, "1", 1, 256),
    INT_KEY(upload_nice, "10", 0, 19),
    INT_KEY(max_requests, "10000", 0, LONG_MAX),
    INT_KEY(graceful_timeout_s, "30", 1, 3600),
    INT_KEY(io_timeout_s, "30", 1, 3600),
    STR_KEY(data_dir, "/var/lib/bandpics"),
    STR_KEY(database_url, ""),
    SIZE_KEY(max_body_bytes, "50M", 1024, 1L << 40),
    SIZE_KEY(min_free_bytes, "256M", 0, 1L << 50),
    SIZE_KEY(max_json_bytes, "1M", 64, 1L << 30),
    INT_KEY(max_files, "200", 1, 100000),
    SIZE_KEY(max_field_bytes, "64k", 256, 1L << 30),
    INT_KEY(max_pixels, "100000000", 1, 1L << 40),
    SIZE_KEY(image_memory_bytes, "512M", 16L << 20, 1L << 40),
    SIZE_KEY(max_decode_bytes, "384M", 0, 1L << 40),
    INT_KEY(decode_in_child, "1", 0, 1),
    INT_KEY(lambda_allow_local, "0", 0, 1),
    SIZE_KEY(decode_memory_bytes, "1G", 0, 1L << 40),
    INT_KEY(decode_timeout_s, "60", 0, 3600),
    INT_KEY(max_name_length, "200", 1, 1 << 20),
    INT_KEY(max_description_length, "5000", 0, 1 << 24),
    INT_KEY(list_default_limit, "1000", 1, 100000),
    INT_KEY(list_max_limit, "1000", 1, 100000),
    INT_KEY(sqlite_busy_timeout_ms, "5000", 0, 600000),
    INT_KEY(mongo_timeout_ms, "2000", 100, 600000),
    STR_KEY(blob_url, ""),
    STR_KEY(s3_endpoint, ""),
    STR_KEY(s3_region, "us-east-1"),
    STR_KEY(s3_addressing, "auto"),
    STR_KEY(s3_access_key_id, ""),
    STR_KEY(s3_secret_access_key, ""),
    STR_KEY(s3_session_token, ""),
    INT_KEY(s3_timeout_ms, "30000", 100, 3600000),
    STR_KEY(public_base_url, ""),
    INT_KEY(presign_get_expires_s, "300", 1, 604800),
    INT_KEY(upload_expires_s, "3600", 1, 604800),
    INT_KEY(expire_interval_s, "60", 0, 86400),
    STR_KEY(api_base_url, ""),
    STR_KEY(base_path, ""),
    STR_KEY(upload_secret, ""),
    STR_KEY(auth_mode, "writes"),
    STR_KEY(auth_issuer, ""),
    STR_KEY(auth_audience, ""),
    STR_KEY(auth_token_use, "access"),
    INT_KEY(auth_leeway_s, "60", 0, 3600),
    STR_KEY(auth_roles_claim, "cognito:groups"),
    STR_KEY(auth_jwks_url, ""),
    STR_KEY(auth_jwks_file, ""),
    INT_KEY(auth_jwks_ttl_s, "3600", 60, 604800),
    INT_KEY(auth_jwks_refetch_s, "60", 1, 3600),
    STR_KEY(auth_admin_roles, "admin"),
    STR_KEY(auth_contributor_roles, "contributor"),
    STR_KEY(location_default, "public"),
    STR_KEY(cors_origins, ""),
    INT_KEY(cors_max_age_s, "600", 0, 86400),
    STR_KEY(log_file, ""),
    STR_KEY(log_level, "info"),
};

/* AWS's standard variables, used when the matching key is empty. */
static const struct {
    const char *variable;
    const char *key;
} aws_env[] = {
    {"AWS_ACCESS_KEY_ID", "s3_access_key_id"},
    {"AWS_SECRET_ACCESS_KEY", "s3_secret_access_key"},
    {"AWS_SESSION_TOKEN", "s3_session_token"},
};

enum bp_rc bp_config_parse_size(const char *text, long *out)
{
    char *end;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (end == text || errno != 0 || value < 0)
        return BP_EINVAL;
    long long unit = 1;
    switch (*end) {
    case '\0':
        break;
    case 'k':
    case 'K':
        unit = 1024LL;
        end++;
        break;
    case 'm':
    case 'M':
        unit = 1024LL * 1024;
        end++;
        break;
    case 'g':
    case 'G':
        unit = 1024LL * 1024 * 1024;
        end++;
        break;
    default:
        return BP_EINVAL;
    }
    if (*end != '\0' || value > LONG_MAX / unit)
        return BP_EINVAL;
    *out = (long)(value * unit);
    return BP_OK;
}

static enum bp_rc parse_int(const char *text, long *out)
{
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (end == text || *end != '\0' || errno != 0)
        return BP_EINVAL;
    *out = value;
    return BP_OK;
}

/* Stores value into the field of cfg that spec describes. */
static enum bp_rc set_key(struct bp_config *cfg, const struct key_spec *spec,
                          const char *value, const char *origin,
                          struct bp_error *err)
{
    char *field = (char *)cfg + spec->offset;
    if (spec->type == KEY_STRING) {
        char *copy = strdup(value);
        if (copy == NULL)
            return BP_ENOMEM;
        char **slot = (char **)(void *)field;
        free(*slot);
        *slot = copy;
        return BP_OK;
    }
    long number;
    enum bp_rc rc = spec->type == KEY_SIZE
                        ? bp_config_parse_size(value, &number)
                        : parse_int(value, &number);
    if (rc != BP_OK)
        return bp_error_set(err, BP_EINVAL, "%s: %s: not a valid %s: '%s'",
                            origin, spec->name,
                            spec->type == KEY_SIZE ? "size" : "integer", value);
    if (number < spec->min || number > spec->max)
        return bp_error_set(err, BP_EINVAL,
                            "%s: %s: %ld is out of range [%ld, %ld]", origin,
                            spec->name, number, spec->min, spec->max);
    *(long *)(void *)field = number;
    return BP_OK;
}

static const struct key_spec *find_key(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strlen(keys[i].name) == len &&
            strncmp(keys[i].name, name, len) == 0)
            return &keys[i];
    return NULL;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t len = strlen(s);
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        s[--len] = '\0';
    return s;
}

static enum bp_rc load_file(struct bp_config *cfg, const char *path,
                            bool required, struct bp_error *err)
{
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        if (!required && errno == ENOENT)
            return BP_OK;
        return bp_error_set(err, BP_EINVAL, "cannot read %s: %s", path,
                            strerror(errno));
    }
    enum bp_rc rc = BP_OK;
    char line[4096];
    char origin[300];
    for (int lineno = 1; fgets(line, sizeof(line), file) != NULL; lineno++) {
        snprintf(origin, sizeof(origin), "%s:%d", path, lineno);
        if (strchr(line, '\n') == NULL && !feof(file)) {
            rc = bp_error_set(err, BP_EINVAL, "%s: line too long", origin);
            break;
        }
        char *text = trim(line);
        if (*text == '\0' || *text == '#')
            continue;
        char *eq = strchr(text, '=');
        if (eq == NULL) {
            rc = bp_error_set(err, BP_EINVAL, "%s: expected 'key = value'",
                              origin);
            break;
        }
        *eq = '\0';
        char *name = trim(text);
        char *value = trim(eq + 1);
        const struct key_spec *spec = find_key(name, strlen(name));
        if (spec == NULL) {
            rc = bp_error_set(err, BP_EINVAL, "%s: unknown key '%s'", origin,
                              name);
            break;
        }
        rc = set_key(cfg, spec, value, origin, err);
        if (rc != BP_OK)
            break;
    }
    fclose(file);
    return rc;
}

static enum bp_rc load_env(struct bp_config *cfg, char *const *env,
                           struct bp_error *err)
{
    static const char prefix[] = "BANDPICS_";
    for (; env != NULL && *env != NULL; env++) {
        const char *entry = *env;
        if (strncmp(entry, prefix, sizeof(prefix) - 1) != 0)
            continue;
        const char *name = entry + sizeof(prefix) - 1;
        const char *eq = strchr(name, '=');
        if (eq == NULL)
            continue;
        char lower[64];
        size_t len = (size_t)(eq - name);
        if (len >= sizeof(lower))
            continue;
        for (size_t i = 0; i < len; i++)
            lower[i] = (char)tolower((unsigned char)name[i]);
        /* Other BANDPICS_ variables (test and script settings) are not
         * configuration keys and are left alone. */
        const struct key_spec *spec = find_key(lower, len);
        if (spec == NULL)
            continue;
        char origin[80];
        snprintf(origin, sizeof(origin), "environment %.*s", (int)(eq - entry),
                 entry);
        enum bp_rc rc = set_key(cfg, spec, eq + 1, origin, err);
        if (rc != BP_OK)
            return rc;
    }
    return BP_OK;
}

/* Returns the value of variable in env, or NULL. */
static const char *env_value(char *const *env, const char *variable)
{
    size_t len = strlen(variable);
    for (; env != NULL && *env != NULL; env++)
        if (strncmp(*env, variable, len) == 0 && (*env)[len] == '=')
            return *env + len + 1;
    return NULL;
}

/*
 * Fills the S3 credentials from AWS's variables in env when the
 * configuration sets no access key: all of them from one place, so a
 * session token never joins a key pair it does not belong to.
 */
static enum bp_rc load_aws_env(struct bp_config *cfg, char *const *env,
                               struct bp_error *err)
{
    if (cfg->s3_access_key_id[0] != '\0')
        return BP_OK;
    for (size_t i = 0; i < sizeof(aws_env) / sizeof(aws_env[0]); i++) {
        const char *value = env_value(env, aws_env[i].variable);
        if (value == NULL)
            continue;
        enum bp_rc rc =
            set_key(cfg, find_key(aws_env[i].key, strlen(aws_env[i].key)),
                    value, aws_env[i].variable, err);
        if (rc != BP_OK)
            return rc;
    }
    return BP_OK;
}

/* Returns true when url starts with prefix and has more after it. */
static bool has_scheme(const char *url, const char *prefix)
{
    size_t len = strlen(prefix);
    return strncmp(url, prefix, len) == 0 && url[len] != '\0';
}

/*
 * Returns what is wrong with the S3 bucket name of len bytes at name
 * (AWS's rules: 3 to 63 of a-z 0-9 . -, a letter or digit at both ends,
 * no "..", not an IPv4 address), or NULL when nothing is.
 */
static const char *bucket_problem(const char *name, size_t len)
{
    if (len < 3 || len > 63)
        return "3 to 63 characters";
    for (size_t i = 0; i < len; i++)
        if (!islower((unsigned char)name[i]) &&
            !isdigit((unsigned char)name[i]) && name[i] != '.' &&
            name[i] != '-')
            return "only a-z, 0-9, '.' and '-'";
    if (!isalnum((unsigned char)name[0]) ||
        !isalnum((unsigned char)name[len - 1]))
        return "a letter or digit first and last";
    for (size_t i = 0; i + 1 < len; i++)
        if (name[i] == '.' && name[i + 1] == '.')
            return "no '..'";
    if (strspn(name, "0123456789.") >= len)
        return "not an IP address";
    return NULL;
}

/* Returns true for "" or an http(s) URL without query or fragment. */
static bool base_url_valid(const char *url)
{
    return url[0] == '\0' ||
           ((has_scheme(url, "http://") || has_scheme(url, "https://")) &&
            strpbrk(url, "?# \t\r\n") == NULL);
}

/* Checks the bucket of an s3:// blob_url against the other S3 keys. */
static enum bp_rc check_bucket(const struct bp_config *cfg,
                               struct bp_error *err)
{
    const char *bucket = cfg->blob_url + 5;
    size_t len = strcspn(bucket, "/");
    const char *problem = bucket_problem(bucket, len);
    if (problem != NULL)
        return bp_error_set(err, BP_EINVAL,
                            "blob_url: bucket '%.*s' is not a valid S3 "
                            "bucket name (%s)",
                            (int)(len > 80 ? 80 : len), bucket, problem);
    /* TLS certificates of bucket.host names cover one label only. */
    if (memchr(bucket, '.', len) != NULL && !bp_config_s3_path_style(cfg) &&
        strncmp(cfg->s3_endpoint, "http://", 7) != 0)
        return bp_error_set(err, BP_EINVAL,
                            "blob_url: a bucket name with '.' needs "
                            "s3_addressing = path over HTTPS");
    return BP_OK;
}

/* Checks the blob store keys. */
static enum bp_rc check_blob_keys(const struct bp_config *cfg,
                                  struct bp_error *err)
{
    if (cfg->blob_url[0] != '\0' && !has_scheme(cfg->blob_url, "file:///") &&
        !(has_scheme(cfg->blob_url, "s3://") && cfg->blob_url[5] != '/'))
        return bp_error_set(err, BP_EINVAL,
                            "blob_url: expected file:///PATH or "
                            "s3://BUCKET[/PREFIX], got '%.100s'",
                            cfg->blob_url);
    if (strcmp(cfg->s3_addressing, "auto") != 0 &&
        strcmp(cfg->s3_addressing, "path") != 0 &&
        strcmp(cfg->s3_addressing, "virtual") != 0)
        return bp_error_set(err, BP_EINVAL,
                            "s3_addressing: expected auto, path or virtual");
    if (cfg->s3_endpoint[0] != '\0' &&
        !has_scheme(cfg->s3_endpoint, "http://") &&
        !has_scheme(cfg->s3_endpoint, "https://"))
        return bp_error_set(err, BP_EINVAL,
                            "s3_endpoint: expected http(s)://HOST[:PORT]");
    if (cfg->upload_secret[0] != '\0' && strlen(cfg->upload_secret) < 16)
        return bp_error_set(err, BP_EINVAL,
                            "upload_secret: must be at least 16 characters");
    if (cfg->s3_region[0] == '\0')
        return bp_error_set(err, BP_EINVAL, "s3_region: must not be empty");
    if (!base_url_valid(cfg->public_base_url))
        return bp_error_set(err, BP_EINVAL,
                            "public_base_url: expected http(s)://HOST[/PATH] "
                            "without query");
    if (!base_url_valid(cfg->api_base_url))
        return bp_error_set(err, BP_EINVAL,
                            "api_base_url: expected http(s)://HOST[/PATH] "
                            "without query");
    if (!bp_config_base_path_valid(cfg->base_path, strlen(cfg->base_path)))
        return bp_error_set(err, BP_EINVAL,
                            "base_path: expected \"\" or /PREFIX (letters, "
                            "digits, -._~/; no empty, . or .. segment, no "
                            "trailing /)");
    if (!has_scheme(cfg->blob_url, "s3://"))
        return cfg->public_base_url[0] == '\0'
                   ? BP_OK
                   : bp_error_set(err, BP_EINVAL,
                                  "public_base_url: only used with an s3:// "
                                  "blob_url");
    if (cfg->s3_access_key_id[0] == '\0' ||
        cfg->s3_secret_access_key[0] == '\0')
        return bp_error_set(err, BP_EINVAL,
                            "blob_url: s3:// needs s3_access_key_id and "
                            "s3_secret_access_key (or AWS_ACCESS_KEY_ID and "
                            "AWS_SECRET_ACCESS_KEY)");
    return check_bucket(cfg, err);
}

bool bp_config_s3_path_style(const struct bp_config *cfg)
{
    if (strcmp(cfg->s3_addressing, "auto") == 0)
        return cfg->s3_endpoint[0] != '\0';
    return strcmp(cfg->s3_addressing, "path") == 0;
}

bool bp_config_list_has(const char *list, const char *item)
{
    size_t len = strlen(item);
    const char *p = list;
    while (len > 0 && *p != '\0') {
        p += strspn(p, ", ");
        size_t n = strcspn(p, ", ");
        if (n == len && strncmp(p, item, len) == 0)
            return true;
        p += n;
    }
    return false;
}

/* Returns true when every item of list is one of the names given. */
static bool list_within(const char *list, const char *const *names,
                        size_t count)
{
    const char *p = list;
    while (*p != '\0') {
        p += strspn(p, ", ");
        size_t n = strcspn(p, ", ");
        if (n == 0)
            break;
        bool known = false;
        for (size_t i = 0; i < count && !known; i++)
            known = strlen(names[i]) == n && strncmp(p, names[i], n) == 0;
        if (!known)
            return false;
        p += n;
    }
    return true;
}

/* Checks the keys that take one of a few words, and the issuer URLs. */
static enum bp_rc check_word_keys(const struct bp_config *cfg,
                                  struct bp_error *err)
{
    static const char *const modes[] = {"writes", "required", "off"};
    static const char *const uses[] = {"access", "id"};
    static const char *const locations[] = {"public", "hidden"};
    if (strchr(cfg->auth_mode, ',') != NULL ||
        strchr(cfg->auth_mode, ' ') != NULL || cfg->auth_mode[0] == '\0' ||
        !list_within(cfg->auth_mode, modes, 3))
        return bp_error_set(err, BP_EINVAL,
                            "auth_mode: expected writes, required or off");
    if (!list_within(cfg->auth_token_use, uses, 2))
        return bp_error_set(err, BP_EINVAL,
                            "auth_token_use: expected access, id or both");
    if (strchr(cfg->location_default, ',') != NULL ||
        cfg->location_default[0] == '\0' ||
        !list_within(cfg->location_default, locations, 2))
        return bp_error_set(err, BP_EINVAL,
                            "location_default: expected public or hidden");
    static const char *const levels[] = {"error", "warn", "info", "debug"};
    if (cfg->log_level[0] == '\0' || strchr(cfg->log_level, ',') != NULL ||
        !list_within(cfg->log_level, levels, 4))
        return bp_error_set(err, BP_EINVAL,
                            "log_level: expected error, warn, info or debug");
    if (cfg->auth_issuer[0] != '\0' &&
        !has_scheme(cfg->auth_issuer, "https://") &&
        !has_scheme(cfg->auth_issuer, "http://"))
        return bp_error_set(err, BP_EINVAL,
                            "auth_issuer: expected an http(s) URL");
    if (cfg->auth_jwks_url[0] != '\0' &&
        !has_scheme(cfg->auth_jwks_url, "https://") &&
        !has_scheme(cfg->auth_jwks_url, "http://"))
        return bp_error_set(err, BP_EINVAL,
                            "auth_jwks_url: expected an http(s) URL");
    return BP_OK;
}

/* Checks relations between keys and fills in derived defaults. */
static enum bp_rc finish(struct bp_config *cfg, struct bp_error *err)
{
    if (cfg->data_dir[0] == '\0')
        return bp_error_set(err, BP_EINVAL, "data_dir: must not be empty");
    if (cfg->list_default_limit > cfg->list_max_limit)
        return bp_error_set(
            err, BP_EINVAL,
            "list_default_limit: %ld exceeds list_max_limit %ld",
            cfg->list_default_limit, cfg->list_max_limit);
    if (cfg->max_json_bytes > cfg->max_body_bytes)
        return bp_error_set(err, BP_EINVAL,
                            "max_json_bytes: exceeds max_body_bytes");
    if (cfg->database_url[0] == '\0') {
        struct bp_buf url;
        bp_buf_init(&url, 0);
        if (bp_buf_printf(&url, "sqlite://%s/bandpics.db", cfg->data_dir) !=
            BP_OK) {
            bp_buf_free(&url);
            return BP_ENOMEM;
        }
        free(cfg->database_url);
        cfg->database_url = url.data;
    }
    if (strncmp(cfg->database_url, "sqlite://", 9) == 0 &&
        cfg->database_url[9] == '\0')
        return bp_error_set(err, BP_EINVAL,
                            "database_url: sqlite:// needs a path");
    enum bp_rc rc = check_word_keys(cfg, err);
    return rc == BP_OK ? check_blob_keys(cfg, err) : rc;
}

/* Applies the command-line settings of src, which win over the rest. */
static enum bp_rc apply_overrides(struct bp_config *cfg,
                                  const struct bp_config_source *src,
                                  struct bp_error *err)
{
    enum bp_rc rc = BP_OK;
    if (src->listen != NULL)
        rc = set_key(cfg, find_key("listen", 6), src->listen, "--listen", err);
    if (rc == BP_OK && src->upload_listen != NULL)
        rc = set_key(cfg, find_key("upload_listen", 13), src->upload_listen,
                     "--upload-listen", err);
    if (rc == BP_OK && src->workers != 0) {
        char text[32];
        snprintf(text, sizeof(text), "%ld", src->workers);
        rc = set_key(cfg, find_key("workers", 7), text, "--workers", err);
    }
    return rc;
}

enum bp_rc bp_config_load(struct bp_config *cfg,
                          const struct bp_config_source *src,
                          struct bp_error *err)
{
    memset(cfg, 0, sizeof(*cfg));
    enum bp_rc rc = BP_OK;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && rc == BP_OK; i++)
        rc = set_key(cfg, &keys[i], keys[i].default_value, "default", err);
    if (rc == BP_OK && src->path != NULL)
        rc = load_file(cfg, src->path, src->path_required, err);
    if (rc == BP_OK)
        rc = load_env(cfg, src->env, err);
    if (rc == BP_OK)
        rc = load_aws_env(cfg, src->env, err);
    if (rc == BP_OK)
        rc = apply_overrides(cfg, src, err);
    if (rc == BP_OK)
        rc = finish(cfg, err);
    if (rc != BP_OK)
        bp_config_free(cfg);
    return rc;
}

void bp_config_redact_url(const char *url, char *out, size_t len)
{
    const char *scheme_end = strstr(url, "://");
    const char *hosts = scheme_end != NULL ? scheme_end + 3 : url;
    const char *at = strchr(hosts, '@');
    const char *slash = strchr(hosts, '/');
    if (at == NULL || (slash != NULL && slash < at)) {
        snprintf(out, len, "%s", url);
        return;
    }
    snprintf(out, len, "%.*s***%s", (int)(hosts - url), url, at);
}

void bp_config_free(struct bp_config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (keys[i].type != KEY_STRING)
            continue;
        char **slot = (char **)(void *)((char *)cfg + keys[i].offset);
        free(*slot);
        *slot = NULL;
    }
}

bool bp_config_base_path_valid(const char *base, size_t len)
{
    if (len == 0)
        return true;
    if (len > BP_BASE_PATH_MAX || base[0] != '/' || base[len - 1] == '/')
        return false;
    for (size_t i = 0; i < len; i++)
        if (base[i] == '\0' || (!isalnum((unsigned char)base[i]) &&
                                strchr("-._~/", base[i]) == NULL))
            return false;
    /* No empty, "." or ".." segment: "//host" would make the URLs the
     * API writes point at another site. */
    for (size_t i = 0; i < len; i++) {
        if (base[i] != '/')
            continue;
        size_t seg = i + 1;
        size_t end = seg;
        while (end < len && base[end] != '/')
            end++;
        size_t n = end - seg;
        if (n == 0 || (n == 1 && base[seg] == '.') ||
            (n == 2 && base[seg] == '.' && base[seg + 1] == '.'))
            return false;
    }
    return true;
}
