/*
 * log.c: JSON log lines, written whole with one write(2) each, so that
 * the lines of the workers sharing one file or pipe never interleave.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

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

/*
 * A line being built in a fixed buffer: JSON written directly (a line is
 * written for every request, and an object tree per line cost a tenth of
 * a small read). A value that does not fit ends the line early, still
 * valid JSON.
 */
struct line {
    char text[4096];
    size_t len;
    bool full; /* text holds all that fits; the rest is dropped */
};

static void put(struct line *line, const char *bytes, size_t n)
{
    /* Room is kept for the closing brace and the newline. */
    if (line->full || line->len + n > sizeof(line->text) - 2) {
        line->full = true;
        return;
    }
    memcpy(line->text + line->len, bytes, n);
    line->len += n;
}

static void put_str(struct line *line, const char *text)
{
    put(line, text, strlen(text));
}

/*
 * Appends value as a JSON string: quotes, backslashes and control bytes
 * escaped; bytes over 0x7f kept when value is valid UTF-8, else escaped
 * one by one (as Latin-1), so that the line stays valid JSON.
 */
static void put_json_string(struct line *line, const char *value)
{
    static const char hex[] = "0123456789abcdef";
    size_t len = strlen(value);
    bool utf8 = bp_utf8_valid(value, len);
    size_t mark = line->len;
    put(line, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c == '"' || c == '\\') {
            char escaped[2] = {'\\', (char)c};
            put(line, escaped, 2);
        } else if (c < 0x20 || (c >= 0x80 && !utf8)) {
            char escaped[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put(line, escaped, 6);
        } else {
            put(line, (const char *)&value[i], 1);
        }
    }
    put(line, "\"", 1);
    if (line->full)
        line->len = mark; /* no half a value */
}

/* Appends ,"key": (the first field opens the object instead). */
static void put_key(struct line *line, const char *key)
{
    put(line, line->len == 0 ? "{\"" : ",\"", 2);
    put_str(line, key);
    put(line, "\":", 2);
}

static void add_text(struct line *line, const char *key, const char *value)
{
    size_t mark = line->len;
    put_key(line, key);
    put_json_string(line, value != NULL ? value : "");
    if (line->full)
        line->len = mark;
}

static void add_number(struct line *line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_number(struct line *line, const char *key, const char *fmt, ...)
{
    char number[48];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(number, sizeof(number), fmt, ap);
    va_end(ap);
    if (n <= 0 || (size_t)n >= sizeof(number))
        return;
    size_t mark = line->len;
    put_key(line, key);
    put(line, number, (size_t)n);
    if (line->full)
        line->len = mark;
}

/* Starts a line: {"time": ..., "level": ..., "pid": ...}. */
static void line_start(struct line *line, enum bp_log_level level)
{
    line->len = 0;
    line->full = false;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char when[32];
    size_t n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof(when) - n, ".%03dZ", (int)(tv.tv_usec / 1000));
    add_text(line, "time", when);
    add_text(line, "level", level_names[level]);
    add_number(line, "pid", "%d", (int)getpid());
}

/* Ends the line and writes it with one write. */
static void line_write(struct line *line)
{
    /* put keeps two bytes free for these. */
    line->text[line->len++] = '}';
    line->text[line->len++] = '\n';
    ssize_t ignored = write(sink.fd, line->text, line->len);
    (void)ignored;
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
    /* Messages may quote client bytes: keep the line valid JSON. */
    bp_utf8_scrub(msg);
    struct line line;
    line_start(&line, level);
    add_text(&line, "msg", msg);
    line_write(&line);
}

void bp_log_request(const struct bp_log_request *r)
{
    if (BP_LOG_INFO > sink.level)
        return;
    struct line line;
    line_start(&line, BP_LOG_INFO);
    add_text(&line, "type", "request");
    add_text(&line, "request_id", r->request_id);
    if (r->trace_id != NULL && r->trace_id[0] != '\0')
        add_text(&line, "trace_id", r->trace_id);
    add_text(&line, "method", r->method);
    add_text(&line, "route", r->route);
    add_number(&line, "status", "%d", r->status);
    add_text(&line, "principal", r->principal);
    add_number(&line, "bytes_in", "%lld", (long long)r->bytes_in);
    add_number(&line, "bytes_out", "%lld", (long long)r->bytes_out);
    add_number(&line, "ms", "%.3f", r->ms);
    line_write(&line);
}

void bp_log_change(const char *action, const char *kind, const char *id,
                   const char *principal, const char *request_id)
{
    if (BP_LOG_INFO > sink.level)
        return;
    struct line line;
    line_start(&line, BP_LOG_INFO);
    add_text(&line, "type", "change");
    add_text(&line, "action", action);
    add_text(&line, "kind", kind);
    add_text(&line, "id", id);
    add_text(&line, "principal", principal);
    add_text(&line, "request_id", request_id);
    line_write(&line);
}
