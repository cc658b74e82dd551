/*
 * lambda_http.c: HTTP events of AWS Lambda as CGI requests, and CGI
 * answers as the events' responses (lambda_http.h).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "http/json_input.h"
#include "http/urldecode.h"
#include "server/lambda_http.h"

static int add_param(struct bp_cgi_params *p, const char *name,
                     const char *value)
{
    if (p->count + 2 > p->cap) {
        size_t cap = p->cap == 0 ? 32 : p->cap * 2;
        char **grown = realloc(p->vars, cap * sizeof(*grown));
        if (grown == NULL)
            return -1;
        p->vars = grown;
        p->cap = cap;
    }
    size_t len = strlen(name) + strlen(value) + 2;
    char *var = malloc(len);
    if (var == NULL)
        return -1;
    snprintf(var, len, "%s=%s", name, value);
    p->vars[p->count++] = var;
    p->vars[p->count] = NULL;
    return 0;
}

void bp_cgi_params_free(struct bp_cgi_params *p)
{
    for (size_t i = 0; i < p->count; i++)
        free(p->vars[i]);
    free(p->vars);
    memset(p, 0, sizeof(*p));
}

/* A header name as a CGI variable: HTTP_ and upper case, - to _. */
static int add_header_param(struct bp_cgi_params *p, const char *name,
                            const char *value)
{
    char var[256];
    if (strcasecmp(name, "content-type") == 0)
        return add_param(p, "CONTENT_TYPE", value);
    if (strcasecmp(name, "content-length") == 0)
        return 0; /* the decoded body's length is set instead */
    int n = snprintf(var, sizeof(var), "HTTP_%s", name);
    if (n < 0 || (size_t)n >= sizeof(var))
        return 0;
    for (char *c = var + 5; *c != '\0'; c++)
        *c = *c == '-' ? '_' : (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
    return add_param(p, var, value);
}

/* The member key of obj when it is an object, else NULL. */
static json_object *object_at(json_object *obj, const char *key)
{
    return bp_json_member_of_type(obj, key, json_type_object);
}

/* Decodes base64 text into out (replacing it); -1 when it is not. */
static int base64_decode(const char *text, struct bp_buf *out)
{
    size_t len = strlen(text);
    bp_buf_reset(out);
    if (len == 0)
        return 0;
    /* Padding is at most two '=' at the very end. */
    size_t pad = 0;
    while (pad < len && text[len - 1 - pad] == '=')
        pad++;
    if (len % 4 != 0 || pad > 2 || memchr(text, '=', len - pad) != NULL)
        return -1;
    unsigned char *raw = malloc(len / 4 * 3 + 1);
    if (raw == NULL)
        return -1;
    int n = EVP_DecodeBlock(raw, (const unsigned char *)text, (int)len);
    if (n >= 0)
        n -= (int)pad;
    int rc = n < 0 || bp_buf_append(out, raw, (size_t)n) != BP_OK ? -1 : 0;
    free(raw);
    return rc;
}

/* Appends key=value to query ('&' between pairs), percent-encoding both
 * when encode (values API Gateway decoded), else as they came; the
 * bp_buf_append code. */
static enum bp_rc append_query_pair(struct bp_buf *query, const char *key,
                                    const char *value, bool encode)
{
    enum bp_rc rc = query->len > 0 ? bp_buf_append_str(query, "&") : BP_OK;
    if (rc != BP_OK)
        return rc;
    if (!encode)
        return bp_buf_printf(query, "%s=%s", key, value != NULL ? value : "");
    rc = bp_buf_append_uri_component(query, key);
    if (rc == BP_OK)
        rc = bp_buf_append_str(query, "=");
    if (rc == BP_OK)
        rc = bp_buf_append_uri_component(query, value != NULL ? value : "");
    return rc;
}

/* Where an HTTP event asks to go. */
struct target {
    const char *method;  /* borrowed from the event */
    struct bp_buf mount; /* what the client's path has before the API's
                            ("/prod" for a named stage), or empty */
    struct bp_buf path;  /* the API's path, percent-decoded */
    struct bp_buf sent;  /* the whole path as the client sent it */
    struct bp_buf query;
    bool too_long; /* a part did not fit in its buffer */
};

/* Notes a part that did not fit. */
static void fitted(struct target *t, enum bp_rc rc)
{
    if (rc != BP_OK)
        t->too_long = true;
}

/* Sets t->path to text, percent-decoded when decode (and decodable). */
static void set_path(struct target *t, const char *text, bool decode)
{
    bp_buf_reset(&t->path);
    enum bp_rc rc =
        decode ? bp_url_decode(text, strlen(text), false, &t->path) : BP_EINVAL;
    if (rc == BP_OK || rc == BP_ETOOBIG) {
        fitted(t, rc);
        return;
    }
    bp_buf_reset(&t->path);
    fitted(t, bp_buf_append_str(&t->path, text));
}

/* Whether the request came through a host name containing part
 * (".execute-api.": API Gateway's own; ".lambda-url.": a function URL). */
static bool came_through(json_object *event, const char *part)
{
    const char *domain =
        bp_json_member_string(object_at(event, "requestContext"), "domainName");
    return domain != NULL && strstr(domain, part) != NULL;
}

/*
 * Payload 2.0: the raw path and query. A named stage of an HTTP API is
 * in front of the path on API Gateway's own host name (not on a custom
 * domain): it is the mount. HTTP APIs pass the path decoded, function
 * URLs as the client sent it.
 */
static void target_v2(json_object *event, const char *raw_path,
                      struct target *t)
{
    const char *stage =
        bp_json_member_string(object_at(event, "requestContext"), "stage");
    size_t stage_len = stage != NULL ? strlen(stage) : 0;
    const char *rest = raw_path;
    if (stage_len > 0 && strcmp(stage, "$default") != 0 &&
        came_through(event, ".execute-api.") && raw_path[0] == '/' &&
        strncmp(raw_path + 1, stage, stage_len) == 0 &&
        (raw_path[1 + stage_len] == '/' || raw_path[1 + stage_len] == '\0')) {
        rest = raw_path + 1 + stage_len;
        fitted(t, bp_buf_append(&t->mount, raw_path, 1 + stage_len));
    }
    set_path(t, rest[0] != '\0' ? rest : "/",
             came_through(event, ".lambda-url."));
    fitted(t, bp_buf_append_str(&t->sent, raw_path));
    const char *raw = bp_json_member_string(event, "rawQueryString");
    fitted(t, bp_buf_append_str(&t->query, raw != NULL ? raw : ""));
}

/*
 * Payload 1.0 and ALB: the path (as the client sent it: it is decoded
 * here) and the parameters. API Gateway REST gives the path the client
 * sent (its stage in front) in requestContext.path: what is before the
 * path is the mount. API Gateway decodes the parameters; an ALB passes
 * them as the client sent them. Every value of a repeated parameter is in the
 * multi-value form (REST sends both forms; an ALB one of them).
 */
static void target_v1(json_object *event, const char *path, struct target *t)
{
    json_object *context = object_at(event, "requestContext");
    bool alb = object_at(context, "elb") != NULL;
    const char *sent = bp_json_member_string(context, "path");
    size_t sent_len = sent != NULL ? strlen(sent) : 0;
    size_t path_len = strlen(path);
    if (!alb && sent_len > path_len &&
        strcmp(sent + sent_len - path_len, path) == 0)
        fitted(t, bp_buf_append(&t->mount, sent, sent_len - path_len));
    set_path(t, path, true);
    fitted(t, bp_buf_printf(&t->sent, "%s%s",
                            t->mount.len > 0 ? t->mount.data : "", path));
    json_object *multi = object_at(event, "multiValueQueryStringParameters");
    json_object *single = object_at(event, "queryStringParameters");
    if (multi != NULL) {
        json_object_object_foreach(multi, key, values)
        {
            size_t n = json_object_is_type(values, json_type_array)
                           ? json_object_array_length(values)
                           : 0;
            for (size_t i = 0; i < n; i++)
                fitted(t, append_query_pair(
                              &t->query, key,
                              json_object_get_string(
                                  json_object_array_get_idx(values, i)),
                              !alb));
        }
    } else if (single != NULL) {
        json_object_object_foreach(single, key, value)
        {
            fitted(t, append_query_pair(&t->query, key,
                                        json_object_get_string(value), !alb));
        }
    }
}

/* Where event asks to go, into t (initialized); false when event is no
 * HTTP event. */
static bool request_target(json_object *event, struct target *t)
{
    const char *raw_path = bp_json_member_string(event, "rawPath");
    t->method = bp_json_member_string(
        object_at(object_at(event, "requestContext"), "http"), "method");
    if (t->method != NULL && raw_path != NULL) {
        target_v2(event, raw_path, t);
        return true;
    }
    t->method = bp_json_member_string(event, "httpMethod");
    const char *path = bp_json_member_string(event, "path");
    if (t->method == NULL || path == NULL)
        return false;
    target_v1(event, path, t);
    return true;
}

/* The values of a JSON array of strings joined by between into out. */
static void join_strings(json_object *list, const char *between,
                         struct bp_buf *out)
{
    size_t n = json_object_is_type(list, json_type_array)
                   ? json_object_array_length(list)
                   : 0;
    for (size_t i = 0; i < n; i++)
        bp_buf_printf(
            out, "%s%s", i > 0 ? between : "",
            json_object_get_string(json_object_array_get_idx(list, i)));
}

/*
 * The headers of event as CGI variables: "multiValueHeaders" when there
 * (payload 1.0 sends both forms, an ALB one), the values of a repeated
 * one joined ("; " between cookies), else "headers"; payload 2.0's
 * "cookies" as one Cookie. Non-zero when out of memory.
 */
static int add_headers(json_object *event, struct bp_cgi_params *params)
{
    int failed = 0;
    json_object *headers = object_at(event, "headers");
    json_object *multi = object_at(event, "multiValueHeaders");
    if (multi == NULL && headers != NULL) {
        json_object_object_foreach(headers, name, value)
        {
            if (json_object_is_type(value, json_type_string))
                failed |= add_header_param(params, name,
                                           json_object_get_string(value));
        }
    } else if (multi != NULL) {
        json_object_object_foreach(multi, name, values)
        {
            struct bp_buf joined;
            bp_buf_init(&joined, 1 << 16);
            join_strings(values, strcasecmp(name, "cookie") == 0 ? "; " : ", ",
                         &joined);
            if (joined.len > 0)
                failed |= add_header_param(params, name, joined.data);
            bp_buf_free(&joined);
        }
    }
    json_object *cookies = NULL;
    if (json_object_object_get_ex(event, "cookies", &cookies)) {
        struct bp_buf joined;
        bp_buf_init(&joined, 1 << 16);
        join_strings(cookies, "; ", &joined);
        if (joined.len > 0)
            failed |= add_param(params, "HTTP_COOKIE", joined.data);
        bp_buf_free(&joined);
    }
    return failed;
}

/* The first value of the header name (in any case: HTTP APIs send
 * names in lower case, REST APIs as the client did) in event, or NULL. */
static const char *header_of(json_object *event, const char *name)
{
    json_object *headers = object_at(event, "headers");
    if (headers != NULL) {
        json_object_object_foreach(headers, key, value)
        {
            if (strcasecmp(key, name) == 0 &&
                json_object_is_type(value, json_type_string))
                return json_object_get_string(value);
        }
    }
    json_object *multi = object_at(event, "multiValueHeaders");
    if (multi != NULL) {
        json_object_object_foreach(multi, key, list)
        {
            if (strcasecmp(key, name) == 0 &&
                json_object_is_type(list, json_type_array) &&
                json_object_array_length(list) > 0)
                return json_object_get_string(
                    json_object_array_get_idx(list, 0));
        }
    }
    return NULL;
}

/*
 * The scheme and port the client used, as API Gateway, function URLs and
 * ALBs (the only ways to an invocation) name them in X-Forwarded-Proto
 * and X-Forwarded-Port: the URLs the API forms (upload URLs) use them.
 */
static int add_forwarded(json_object *event, struct bp_cgi_params *params)
{
    const char *proto = header_of(event, "x-forwarded-proto");
    const char *port = header_of(event, "x-forwarded-port");
    int failed = 0;
    if (proto != NULL &&
        (strcmp(proto, "https") == 0 || strcmp(proto, "http") == 0))
        failed |= add_param(params, "REQUEST_SCHEME", proto);
    if (port != NULL && port[0] != '\0' &&
        strspn(port, "0123456789") == strlen(port) && strlen(port) <= 5)
        failed |= add_param(params, "SERVER_PORT", port);
    return failed;
}

/* The longest path, query or mount point taken (API Gateway's own
 * limits are lower). */
#define TARGET_MAX (64 * 1024)

/* Adds the CGI variables of where event asks to go to params.
 * BP_EBADREQUEST when event is no HTTP event, BP_ETOOBIG for a path or
 * query over TARGET_MAX, BP_ENOMEM. */
static enum bp_rc add_target(json_object *event, struct bp_cgi_params *params,
                             struct bp_error *err)
{
    struct target t = {.too_long = false};
    bp_buf_init(&t.mount, TARGET_MAX);
    bp_buf_init(&t.path, TARGET_MAX);
    bp_buf_init(&t.sent, TARGET_MAX);
    bp_buf_init(&t.query, TARGET_MAX);
    struct bp_buf uri;
    bp_buf_init(&uri, 2 * TARGET_MAX + 2);
    enum bp_rc rc = BP_OK;
    if (!request_target(event, &t)) {
        rc = bp_error_set(err, BP_EBADREQUEST,
                          "neither an HTTP event (API Gateway, a function URL, "
                          "an ALB) nor an S3, SQS or SNS event");
    } else if (t.too_long) {
        rc = bp_error_set(err, BP_ETOOBIG,
                          "The path or the query is over %d bytes", TARGET_MAX);
    } else {
        const char *path = t.path.data != NULL ? t.path.data : "/";
        bp_buf_printf(&uri, "%s%s%s", t.sent.data != NULL ? t.sent.data : path,
                      t.query.len > 0 ? "?" : "",
                      t.query.len > 0 ? t.query.data : "");
        /* As a CGI script mounted at the mount: PATH_INFO is the API's. */
        if (add_param(params, "REQUEST_METHOD", t.method) ||
            add_param(params, "REQUEST_URI",
                      uri.data != NULL ? uri.data : "") ||
            add_param(params, "PATH_INFO", path) ||
            add_param(params, "SCRIPT_NAME",
                      t.mount.data != NULL ? t.mount.data : "") ||
            add_param(params, "QUERY_STRING",
                      t.query.data != NULL ? t.query.data : ""))
            rc = BP_ENOMEM;
    }
    bp_buf_free(&t.mount);
    bp_buf_free(&t.path);
    bp_buf_free(&t.sent);
    bp_buf_free(&t.query);
    bp_buf_free(&uri);
    return rc;
}

/* The body of event, decoded, into body. BP_EINVAL when it is not a
 * string, or not the base64 it claims to be. */
static enum bp_rc read_body(json_object *event, struct bp_buf *body,
                            struct bp_error *err)
{
    bp_buf_reset(body);
    json_object *value = NULL;
    if (!json_object_object_get_ex(event, "body", &value) || value == NULL)
        return BP_OK;
    if (!json_object_is_type(value, json_type_string))
        return bp_error_set(err, BP_EINVAL, "The event's body is not a string");
    json_object *b64 = NULL;
    bool encoded = json_object_object_get_ex(event, "isBase64Encoded", &b64) &&
                   json_object_get_boolean(b64);
    const char *text = json_object_get_string(value);
    size_t len = (size_t)json_object_get_string_len(value);
    if (encoded && (strlen(text) != len || base64_decode(text, body) != 0))
        return bp_error_set(err, BP_EINVAL,
                            "The body is not valid base64 (the event says "
                            "isBase64Encoded)");
    if (!encoded && bp_buf_append(body, text, len) != BP_OK)
        return BP_ENOMEM;
    return BP_OK;
}

enum bp_rc bp_lambda_http_request(json_object *event, const char *request_id,
                                  const char *trace_id,
                                  struct bp_cgi_params *params,
                                  struct bp_buf *body, struct bp_error *err)
{
    enum bp_rc rc = add_target(event, params, err);
    if (rc == BP_OK)
        rc = read_body(event, body, err);
    if (rc != BP_OK)
        return rc;
    char length[32];
    snprintf(length, sizeof(length), "%zu", body->len);
    bool failed = add_param(params, "SERVER_PROTOCOL", "HTTP/1.1") ||
                  add_param(params, "REQUEST_ID", request_id) ||
                  add_param(params, "BANDPICS_TRACE_ID", trace_id) ||
                  add_headers(event, params) || add_forwarded(event, params) ||
                  add_param(params, "CONTENT_LENGTH", length);
    return failed ? BP_ENOMEM : BP_OK;
}

/* Adds a header line to an answer's headers: to the list of its name
 * (multi), or joined to an earlier value with ", ". */
static void add_answer_header(json_object *headers, const char *name,
                              const char *value, bool multi)
{
    json_object *earlier = NULL;
    bool seen = json_object_object_get_ex(headers, name, &earlier);
    if (multi) {
        if (!seen) {
            earlier = json_object_new_array();
            json_object_object_add(headers, name, earlier);
        }
        json_object_array_add(earlier, json_object_new_string(value));
        return;
    }
    if (!seen) {
        json_object_object_add(headers, name, json_object_new_string(value));
        return;
    }
    struct bp_buf joined;
    bp_buf_init(&joined, 0);
    bp_buf_printf(&joined, "%s, %s", json_object_get_string(earlier), value);
    json_object_object_add(
        headers, name,
        json_object_new_string(joined.data != NULL ? joined.data : value));
    bp_buf_free(&joined);
}

/* Whether a content type is text the response can carry as is. */
static bool is_text(const char *type)
{
    return strncmp(type, "application/json", 16) == 0 ||
           strncmp(type, "text/", 5) == 0;
}

json_object *bp_lambda_http_answer(const struct bp_buf *cgi, json_object *event)
{
    /* An ALB wants a status line too, and the headers as lists when it
     * sent them so. */
    bool alb = object_at(object_at(event, "requestContext"), "elb") != NULL;
    bool multi = object_at(event, "multiValueHeaders") != NULL &&
                 object_at(event, "headers") == NULL;
    json_object *answer = json_object_new_object();
    json_object *headers = json_object_new_object();
    int status = 200;
    const char *p = cgi->data != NULL ? cgi->data : "";
    const char *end = p + cgi->len;
    char content_type[128] = "application/octet-stream";
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL)
            eol = end;
        size_t len = (size_t)(eol - p);
        if (len > 0 && p[len - 1] == '\r')
            len--;
        const char *next = eol < end ? eol + 1 : end;
        if (len == 0) {
            p = next;
            break;
        }
        const char *colon = memchr(p, ':', len);
        if (colon != NULL) {
            char name[128], value[8192];
            snprintf(name, sizeof(name), "%.*s", (int)(colon - p), p);
            const char *v = colon + 1;
            while (v < p + len && *v == ' ')
                v++;
            snprintf(value, sizeof(value), "%.*s", (int)(p + len - v), v);
            if (strcasecmp(name, "Status") == 0) {
                status = (int)strtol(value, NULL, 10);
                if (alb)
                    json_object_object_add(answer, "statusDescription",
                                           json_object_new_string(value));
            } else {
                add_answer_header(headers, name, value, multi);
            }
            if (strcasecmp(name, "Content-Type") == 0)
                snprintf(content_type, sizeof(content_type), "%.127s", value);
        }
        p = next;
    }
    size_t body_len = (size_t)(end - p);
    json_object_object_add(answer, "statusCode", json_object_new_int(status));
    json_object_object_add(answer, multi ? "multiValueHeaders" : "headers",
                           headers);
    if (is_text(content_type)) {
        json_object_object_add(answer, "body",
                               json_object_new_string_len(p, (int)body_len));
        json_object_object_add(answer, "isBase64Encoded",
                               json_object_new_boolean(0));
    } else {
        size_t out_len = 4 * ((body_len + 2) / 3) + 1;
        unsigned char *text = malloc(out_len);
        if (text != NULL) {
            int n =
                EVP_EncodeBlock(text, (const unsigned char *)p, (int)body_len);
            json_object_object_add(
                answer, "body",
                json_object_new_string_len((const char *)text, n));
            free(text);
        }
        json_object_object_add(answer, "isBase64Encoded",
                               json_object_new_boolean(1));
    }
    return answer;
}

json_object *bp_lambda_http_refusal(int status, const char *detail,
                                    const char *request_id)
{
    json_object *body = json_object_new_object();
    json_object_object_add(body, "detail", json_object_new_string(detail));
    json_object *headers = json_object_new_object();
    json_object_object_add(headers, "Content-Type",
                           json_object_new_string("application/json"));
    json_object_object_add(headers, "X-Content-Type-Options",
                           json_object_new_string("nosniff"));
    json_object_object_add(headers, "X-Request-Id",
                           json_object_new_string(request_id));
    const char *text =
        json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
    char length[32];
    snprintf(length, sizeof(length), "%zu", strlen(text));
    json_object_object_add(headers, "Content-Length",
                           json_object_new_string(length));
    json_object *answer = json_object_new_object();
    json_object_object_add(answer, "statusCode", json_object_new_int(status));
    json_object_object_add(answer, "headers", headers);
    json_object_object_add(answer, "body", json_object_new_string(text));
    json_object_object_add(answer, "isBase64Encoded",
                           json_object_new_boolean(0));
    json_object_put(body);
    return answer;
}
