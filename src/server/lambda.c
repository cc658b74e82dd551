/*
 * lambda.c: the AWS Lambda custom runtime (lambda.h). Each invocation is
 * an HTTP event (API Gateway HTTP API and function URLs, payload 2.0;
 * API Gateway REST, payload 1.0; ALB target groups) turned into CGI
 * variables and a body,
 * served in memory (server/transport.c), and answered with statusCode,
 * headers and a body (base64 for bytes). The Runtime API is spoken over
 * one libcurl handle, reused across invocations.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/evp.h>

#include "api/s3_events.h"
#include "blob/blob.h"
#include "http/json_input.h"
#include "log.h"
#include "server/lambda.h"
#include "server/transport.h"

/* Lambda refuses larger request and response payloads. */
#define LAMBDA_PAYLOAD_MAX (6L * 1024 * 1024)

/* The Runtime API's answer to invocation/next. */
struct invocation {
    char request_id[128];
    char trace_id[256];
    long long deadline_ms;
    struct bp_buf event;
};

static size_t collect_body(char *data, size_t size, size_t n, void *buf)
{
    return bp_buf_append(buf, data, size * n) == BP_OK ? size * n : 0;
}

/* Copies the value of header name from line into out, when it is. */
static void header_value(const char *line, size_t len, const char *name,
                         char *out, size_t out_size)
{
    size_t name_len = strlen(name);
    if (len <= name_len + 1 || strncasecmp(line, name, name_len) != 0 ||
        line[name_len] != ':')
        return;
    const char *v = line + name_len + 1;
    size_t vlen = len - name_len - 1;
    while (vlen > 0 && (*v == ' ' || *v == '\t'))
        v++, vlen--;
    while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n'))
        vlen--;
    snprintf(out, out_size, "%.*s", (int)vlen, v);
}

static size_t collect_header(char *data, size_t size, size_t n, void *user)
{
    struct invocation *inv = user;
    size_t len = size * n;
    char deadline[32] = "";
    header_value(data, len, "Lambda-Runtime-Aws-Request-Id", inv->request_id,
                 sizeof(inv->request_id));
    header_value(data, len, "Lambda-Runtime-Trace-Id", inv->trace_id,
                 sizeof(inv->trace_id));
    header_value(data, len, "Lambda-Runtime-Deadline-Ms", deadline,
                 sizeof(deadline));
    if (deadline[0] != '\0')
        inv->deadline_ms = strtoll(deadline, NULL, 10);
    return len;
}

/* GET invocation/next: blocks until there is one. 0 on success. */
static int next_invocation(CURL *curl, const char *base, struct invocation *inv)
{
    char url[1024];
    snprintf(url, sizeof(url), "%s/invocation/next", base);
    memset(inv->request_id, 0, sizeof(inv->request_id));
    memset(inv->trace_id, 0, sizeof(inv->trace_id));
    inv->deadline_ms = 0;
    bp_buf_reset(&inv->event);
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &inv->event);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, collect_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, inv);
    long status = 0;
    if (curl_easy_perform(curl) != CURLE_OK)
        return -1;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    return status == 200 && inv->request_id[0] != '\0' ? 0 : -1;
}

/* POSTs the JSON text to base + path. 0 when the Runtime API took it. */
static int post_json(CURL *curl, const char *base, const char *path,
                     const char *json, const char *error_type)
{
    char url[1024];
    snprintf(url, sizeof(url), "%s%s", base, path);
    struct bp_buf ignored;
    bp_buf_init(&ignored, 1 << 16);
    curl_easy_reset(curl);
    struct curl_slist *headers =
        curl_slist_append(NULL, "Content-Type: application/json");
    char type_header[128];
    if (error_type != NULL) {
        snprintf(type_header, sizeof(type_header),
                 "Lambda-Runtime-Function-Error-Type: %s", error_type);
        headers = curl_slist_append(headers, type_header);
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &ignored);
    long status = 0;
    int rc = curl_easy_perform(curl) == CURLE_OK ? 0 : -1;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    bp_buf_free(&ignored);
    return rc == 0 && status >= 200 && status < 300 ? 0 : -1;
}

/* Posts an error document {"errorMessage", "errorType"} to path. */
static void post_error(CURL *curl, const char *base, const char *path,
                       const char *type, const char *message)
{
    json_object *doc = json_object_new_object();
    json_object_object_add(doc, "errorMessage",
                           json_object_new_string(message));
    json_object_object_add(doc, "errorType", json_object_new_string(type));
    post_json(curl, base, path, json_object_to_json_string(doc), type);
    json_object_put(doc);
}

/* The CGI variables of one request, owned. */
struct cgi_params {
    char **vars;
    size_t count, cap;
};

static int add_param(struct cgi_params *p, const char *name, const char *value)
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

static void free_params(struct cgi_params *p)
{
    for (size_t i = 0; i < p->count; i++)
        free(p->vars[i]);
    free(p->vars);
    memset(p, 0, sizeof(*p));
}

/* A header name as a CGI variable: HTTP_ and upper case, - to _. */
static int add_header_param(struct cgi_params *p, const char *name,
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
    if (len % 4 != 0)
        return -1;
    unsigned char *raw = malloc(len / 4 * 3 + 1);
    if (raw == NULL)
        return -1;
    int n = EVP_DecodeBlock(raw, (const unsigned char *)text, (int)len);
    if (n >= 0) {
        if (len >= 1 && text[len - 1] == '=')
            n--;
        if (len >= 2 && text[len - 2] == '=')
            n--;
    }
    int rc = n < 0 || bp_buf_append(out, raw, (size_t)n) != BP_OK ? -1 : 0;
    free(raw);
    return rc;
}

/* Appends key=value to query ('&' between pairs), percent-encoding both
 * when encode (values API Gateway decoded), else as they came. */
static void append_query_pair(struct bp_buf *query, const char *key,
                              const char *value, bool encode)
{
    if (query->len > 0)
        bp_buf_append_str(query, "&");
    if (!encode) {
        bp_buf_printf(query, "%s=%s", key, value != NULL ? value : "");
        return;
    }
    bp_buf_append_uri_component(query, key);
    bp_buf_append_str(query, "=");
    bp_buf_append_uri_component(query, value != NULL ? value : "");
}

/*
 * The request of an HTTP event: its CGI variables and body. Payload 2.0
 * (requestContext.http.method, rawPath, rawQueryString, headers,
 * cookies) and 1.0 (httpMethod, path, queryStringParameters, headers).
 * Returns BP_EBADREQUEST for an event of neither shape.
 */
static enum bp_rc event_request(json_object *event, const char *request_id,
                                const char *trace_id, struct cgi_params *params,
                                struct bp_buf *body)
{
    json_object *http = object_at(object_at(event, "requestContext"), "http");
    const char *method = bp_json_member_string(http, "method");
    const char *path = bp_json_member_string(event, "rawPath");
    struct bp_buf query;
    bp_buf_init(&query, 1 << 16);
    if (method != NULL && path != NULL) {
        const char *raw = bp_json_member_string(event, "rawQueryString");
        bp_buf_append_str(&query, raw != NULL ? raw : "");
    } else {
        method = bp_json_member_string(event, "httpMethod");
        path = bp_json_member_string(event, "path");
        /* API Gateway decodes the parameters; an ALB passes them as the
         * client sent them. Every value of a repeated one is in the
         * multi-value form (REST sends both forms; an ALB one of them). */
        bool alb = object_at(object_at(event, "requestContext"), "elb") != NULL;
        json_object *multi =
            object_at(event, "multiValueQueryStringParameters");
        json_object *single = object_at(event, "queryStringParameters");
        if (multi != NULL) {
            json_object_object_foreach(multi, key, values)
            {
                size_t n = json_object_is_type(values, json_type_array)
                               ? json_object_array_length(values)
                               : 0;
                for (size_t i = 0; i < n; i++)
                    append_query_pair(&query, key,
                                      json_object_get_string(
                                          json_object_array_get_idx(values, i)),
                                      !alb);
            }
        } else if (single != NULL) {
            json_object_object_foreach(single, key, value)
            {
                append_query_pair(&query, key, json_object_get_string(value),
                                  !alb);
            }
        }
    }
    if (method == NULL || path == NULL) {
        bp_buf_free(&query);
        return BP_EBADREQUEST;
    }
    struct bp_buf uri;
    bp_buf_init(&uri, 1 << 16);
    bp_buf_append_str(&uri, path);
    if (query.len > 0)
        bp_buf_printf(&uri, "?%s", query.data);
    int failed = add_param(params, "REQUEST_METHOD", method) ||
                 add_param(params, "REQUEST_URI", uri.data) ||
                 add_param(params, "DOCUMENT_URI", path) ||
                 add_param(params, "SCRIPT_NAME", "") ||
                 add_param(params, "QUERY_STRING",
                           query.data != NULL ? query.data : "") ||
                 add_param(params, "SERVER_PROTOCOL", "HTTP/1.1") ||
                 add_param(params, "REQUEST_ID", request_id) ||
                 add_param(params, "BANDPICS_TRACE_ID", trace_id);
    bp_buf_free(&uri);
    bp_buf_free(&query);
    json_object *headers = object_at(event, "headers");
    if (headers != NULL) {
        json_object_object_foreach(headers, name, value)
        {
            if (json_object_is_type(value, json_type_string))
                failed |= add_header_param(params, name,
                                           json_object_get_string(value));
        }
    }
    /* Multi-value headers (an ALB with them on sends only these): the
     * values of each joined as one field ("; " between cookies). */
    json_object *multi = object_at(event, "multiValueHeaders");
    if (headers == NULL && multi != NULL) {
        json_object_object_foreach(multi, name, values)
        {
            size_t n = json_object_is_type(values, json_type_array)
                           ? json_object_array_length(values)
                           : 0;
            const char *between = strcasecmp(name, "cookie") == 0 ? "; " : ", ";
            struct bp_buf joined;
            bp_buf_init(&joined, 1 << 16);
            for (size_t i = 0; i < n; i++)
                bp_buf_printf(&joined, "%s%s", i > 0 ? between : "",
                              json_object_get_string(
                                  json_object_array_get_idx(values, i)));
            if (joined.len > 0)
                failed |= add_header_param(params, name, joined.data);
            bp_buf_free(&joined);
        }
    }
    json_object *cookies = NULL;
    if (json_object_object_get_ex(event, "cookies", &cookies) &&
        json_object_is_type(cookies, json_type_array)) {
        struct bp_buf joined;
        bp_buf_init(&joined, 1 << 16);
        for (size_t i = 0; i < json_object_array_length(cookies); i++)
            bp_buf_printf(
                &joined, "%s%s", i > 0 ? "; " : "",
                json_object_get_string(json_object_array_get_idx(cookies, i)));
        if (joined.len > 0)
            failed |= add_param(params, "HTTP_COOKIE", joined.data);
        bp_buf_free(&joined);
    }
    const char *text = bp_json_member_string(event, "body");
    json_object *b64 = NULL;
    bool encoded = json_object_object_get_ex(event, "isBase64Encoded", &b64) &&
                   json_object_get_boolean(b64);
    bp_buf_reset(body);
    if (text != NULL) {
        if (encoded ? base64_decode(text, body) != 0
                    : bp_buf_append_str(body, text) != BP_OK)
            return BP_EBADREQUEST;
    }
    char length[32];
    snprintf(length, sizeof(length), "%zu", body->len);
    failed |= add_param(params, "CONTENT_LENGTH", length);
    return failed ? BP_ENOMEM : BP_OK;
}

/* Whether a content type is text the response can carry as is. */
static bool is_text(const char *type)
{
    return strncmp(type, "application/json", 16) == 0 ||
           strncmp(type, "text/", 5) == 0;
}

/*
 * The Lambda answer for a CGI response in cgi ("Status: ..." and header
 * lines, a blank line, the body): statusCode, headers, body (base64 and
 * isBase64Encoded unless it is text), for event's kind (an ALB: also
 * statusDescription; multiValueHeaders when the event had them). NULL
 * when out of memory.
 */
static json_object *lambda_answer(const struct bp_buf *cgi, json_object *event)
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
            } else if (multi) {
                json_object *list = json_object_new_array();
                json_object_array_add(list, json_object_new_string(value));
                json_object_object_add(headers, name, list);
            } else {
                json_object_object_add(headers, name,
                                       json_object_new_string(value));
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

/* Answers an S3 (or SQS, SNS) event with what its records did. */
static void answer_s3_event(struct bp_ctx *ctx, CURL *curl, const char *base,
                            const char *path, const char *error_path,
                            json_object *event)
{
    struct bp_s3_event_report report;
    struct bp_error err = {{0}};
    enum bp_rc rc = bp_s3_event_handle(ctx, event, &report, &err);
    if (rc != BP_OK) {
        /* An error makes Lambda retry the event (or SQS redeliver it):
         * the records done so far are then unchanged. */
        post_error(curl, base, error_path,
                   rc == BP_EUNAVAILABLE ? "Bandpics.Unavailable"
                   : rc == BP_ENOSPACE   ? "Bandpics.NoSpace"
                                         : "Bandpics.EventFailed",
                   err.detail[0] != '\0' ? err.detail : bp_rc_name(rc));
        return;
    }
    char answer[256];
    snprintf(answer, sizeof(answer),
             "{\"records\":%zu,\"completed\":%zu,\"unchanged\":%zu,"
             "\"unmatched\":%zu,\"refused\":%zu}",
             report.records, report.completed, report.unchanged,
             report.unmatched, report.refused);
    post_json(curl, base, path, answer, NULL);
}

/* Serves an HTTP event and posts the answer. */
static void answer_http_event(struct bp_ctx *ctx, CURL *curl, const char *base,
                              const char *path, const char *error_path,
                              const struct invocation *inv, json_object *event)
{
    struct cgi_params params = {0};
    struct bp_buf body, out;
    bp_buf_init(&body, (size_t)LAMBDA_PAYLOAD_MAX);
    bp_buf_init(&out, (size_t)LAMBDA_PAYLOAD_MAX * 2);
    if (event_request(event, inv->request_id, inv->trace_id, &params, &body) !=
        BP_OK) {
        post_error(curl, base, error_path, "Bandpics.UnknownEvent",
                   "not an HTTP event of API Gateway, a function URL or an "
                   "ALB");
    } else if (bp_transport_buffer_serve(ctx, params.vars, body.data, body.len,
                                         &out) != 0) {
        post_error(curl, base, error_path, "Bandpics.ResponseTooLarge",
                   "the answer is over Lambda's 6 MB");
    } else {
        json_object *answer = lambda_answer(&out, event);
        if (answer == NULL ||
            post_json(curl, base, path, json_object_to_json_string(answer),
                      NULL) != 0)
            bp_log_error("lambda: could not post the answer of %s",
                         inv->request_id);
        json_object_put(answer);
    }
    free_params(&params);
    bp_buf_free(&body);
    bp_buf_free(&out);
}

/* Serves one invocation and posts its answer. */
static void serve_invocation(struct bp_ctx *ctx, CURL *curl, const char *base,
                             struct invocation *inv)
{
    char path[256];
    snprintf(path, sizeof(path), "/invocation/%s/response", inv->request_id);
    char error_path[256];
    snprintf(error_path, sizeof(error_path), "/invocation/%s/error",
             inv->request_id);
    /* Over Lambda's payload limit: answered before anything is parsed or
     * decoded. */
    if (inv->event.len > (size_t)LAMBDA_PAYLOAD_MAX) {
        post_json(curl, base, path,
                  "{\"statusCode\":413,\"headers\":{\"Content-Type\":"
                  "\"application/json\"},\"body\":\"{\\\"detail\\\":"
                  "\\\"Request too large for AWS Lambda (6 MB): upload "
                  "files with a presigned URL (POST /image_groups with "
                  "images)\\\"}\",\"isBase64Encoded\":false}",
                  NULL);
        return;
    }
    json_object *event = json_tokener_parse(inv->event.data);
    if (event != NULL && bp_s3_event_is(event))
        answer_s3_event(ctx, curl, base, path, error_path, event);
    else if (event != NULL)
        answer_http_event(ctx, curl, base, path, error_path, inv, event);
    else
        post_error(curl, base, error_path, "Bandpics.UnknownEvent",
                   "the event is not JSON");
    json_object_put(event);
}

/* What is kept back from an invocation's deadline to post its answer. */
#define DEADLINE_MARGIN_MS 300

/* Serves one invocation and posts its answer; every store and S3 call
 * it makes ends before the invocation's deadline (less the margin). */
static void invoke(struct bp_ctx *ctx, CURL *curl, const char *base,
                   struct invocation *inv)
{
    bp_app_set_deadline(
        ctx, inv->deadline_ms > 0 ? inv->deadline_ms - DEADLINE_MARGIN_MS : 0);
    serve_invocation(ctx, curl, base, inv);
    bp_app_set_deadline(ctx, 0);
}

int bp_lambda_run(const struct bp_config *cfg, const char *runtime_api)
{
    char base[512];
    snprintf(base, sizeof(base), "http://%s/2018-06-01/runtime", runtime_api);
    CURL *curl = curl_easy_init();
    if (curl == NULL)
        return 1;
    struct bp_ctx ctx;
    struct bp_error err = {{0}};
    bool local = strncmp(cfg->database_url, "mongodb", 7) != 0 ||
                 !bp_blob_url_is_s3(cfg->blob_url);
    if (local && !cfg->lambda_allow_local) {
        post_error(curl, base, "/init/error", "Runtime.InitError",
                   "on AWS Lambda, database_url must be MongoDB and blob_url "
                   "S3 (lambda_allow_local = 1 for tests)");
        curl_easy_cleanup(curl);
        return 1;
    }
    if (bp_app_open(&ctx, cfg, &err) != BP_OK) {
        post_error(curl, base, "/init/error", "Runtime.InitError", err.detail);
        curl_easy_cleanup(curl);
        return 1;
    }
    struct invocation inv;
    bp_buf_init(&inv.event, (size_t)LAMBDA_PAYLOAD_MAX * 2);
    while (next_invocation(curl, base, &inv) == 0)
        invoke(&ctx, curl, base, &inv);
    bp_buf_free(&inv.event);
    bp_app_close(&ctx);
    curl_easy_cleanup(curl);
    return 0;
}
