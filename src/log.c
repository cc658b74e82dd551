/*
 * log.c: JSON log lines, written whole with one write(2) each, so that
 * the lines of the workers sharing one file or pipe never interleave.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "log.h"
#include "utf8.h"

/* Where lines go and from which level: set once, from the configuration. */
static struct {
    int fd;
    enum bp_log_level level;
} sink = {STDERR_FILENO, BP_LOG_INFO};

static const char *const level_names[] = {"error", "warn", "info", "debug"};

bool bp_log_level_parse(const char *text, enum bp_log_level *out)
{
    for (int level = BP_LOG_ERROR; level <= BP_LOG_DEBUG; level++) {
        if (strcmp(text, level_names[level]) == 0) {
            *out = (enum bp_log_level)level;
            return true;
        }
    }
    return false;
}

enum bp_rc bp_log_setup(const struct bp_config *cfg, struct bp_error *err)
{
    enum bp_log_level level;
    if (!bp_log_level_parse(cfg->log_level, &level))
        return bp_error_set(err, BP_EINVAL,
                            "log_level: expected error, warn, info or debug");
    int fd = STDERR_FILENO;
    if (cfg->log_file[0] != '\0') {
        fd = open(cfg->log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
                  0640);
        if (fd < 0)
            return bp_error_set(err, BP_EINVAL, "log_file %s: %s",
                                cfg->log_file, strerror(errno));
    }
    if (sink.fd != STDERR_FILENO)
        close(sink.fd);
    sink.fd = fd;
    sink.level = level;
    return BP_OK;
}

/* Starts a line: {"time": ..., "level": ..., "pid": ...}. */
static struct json_object *line_new(enum bp_log_level level)
{
    struct json_object *line = json_object_new_object();
    if (line == NULL)
        return NULL;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char when[32];
    size_t n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof(when) - n, ".%03dZ", (int)(tv.tv_usec / 1000));
    json_object_object_add(line, "time", json_object_new_string(when));
    json_object_object_add(line, "level",
                           json_object_new_string(level_names[level]));
    json_object_object_add(line, "pid", json_object_new_int((int)getpid()));
    return line;
}

/* Writes line and a newline in one write, then releases it. */
static void line_write(struct json_object *line)
{
    size_t len = 0;
    const char *text = json_object_to_json_string_length(
        line, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    char buf[4096];
    if (text != NULL && len < sizeof(buf) - 1) {
        memcpy(buf, text, len);
        buf[len] = '\n';
        ssize_t ignored = write(sink.fd, buf, len + 1);
        (void)ignored;
    } else if (text != NULL) {
        /* A long line: two writes are acceptable for a rare event. */
        ssize_t ignored = write(sink.fd, text, len);
        ignored = write(sink.fd, "\n", 1);
        (void)ignored;
    }
    json_object_put(line);
}

static void add_text(struct json_object *line, const char *key,
                     const char *value)
{
    json_object_object_add(line, key,
                           json_object_new_string(value != NULL ? value : ""));
}

void bp_log(enum bp_log_level level, const char *fmt, ...)
{
    if (level > sink.level)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    struct json_object *line = line_new(level);
    if (line == NULL)
        return;
    /* Messages may quote client bytes: keep the line valid JSON. */
    bp_utf8_scrub(msg);
    json_object_object_add(line, "msg", json_object_new_string(msg));
    line_write(line);
}

void bp_log_request(const struct bp_log_request *r)
{
    if (BP_LOG_INFO > sink.level)
        return;
    struct json_object *line = line_new(BP_LOG_INFO);
    if (line == NULL)
        return;
    add_text(line, "type", "request");
    add_text(line, "request_id", r->request_id);
    add_text(line, "method", r->method);
    add_text(line, "route", r->route);
    json_object_object_add(line, "status", json_object_new_int(r->status));
    add_text(line, "principal", r->principal);
    json_object_object_add(line, "bytes_in",
                           json_object_new_int64(r->bytes_in));
    json_object_object_add(line, "bytes_out",
                           json_object_new_int64(r->bytes_out));
    json_object_object_add(line, "ms", json_object_new_double(r->ms));
    line_write(line);
}

void bp_log_change(const char *action, const char *kind, const char *id,
                   const char *principal, const char *request_id)
{
    if (BP_LOG_INFO > sink.level)
        return;
    struct json_object *line = line_new(BP_LOG_INFO);
    if (line == NULL)
        return;
    add_text(line, "type", "change");
    add_text(line, "action", action);
    add_text(line, "kind", kind);
    add_text(line, "id", id);
    add_text(line, "principal", principal);
    add_text(line, "request_id", request_id);
    line_write(line);
}
