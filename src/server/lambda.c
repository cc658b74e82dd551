/*
 * lambda.c: the AWS Lambda custom runtime (lambda.h): the Runtime API
 * loop, spoken over one libcurl handle reused across invocations. An
 * HTTP event is turned into a request (lambda_http.c), served in memory
 * (server/transport.c) and answered; an S3 event completes uploads
 * (api/s3_events.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "api/s3_events.h"
#include "blob/blob.h"
#include "http/json_input.h"
#include "log.h"
#include "server/lambda.h"
#include "server/lambda_http.h"
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

/* Posts an error document {"errorMessage", "errorType"} to path, and
 * logs it. */
static void post_error(CURL *curl, const char *base, const char *path,
                       const char *type, const char *message)
{
    bp_log_warn("lambda: %s: %s", type, message);
    json_object *doc = json_object_new_object();
    json_object_object_add(doc, "errorMessage",
                           json_object_new_string(message));
    json_object_object_add(doc, "errorType", json_object_new_string(type));
    post_json(curl, base, path, json_object_to_json_string(doc), type);
    json_object_put(doc);
}

/* Posts answer (released here) as the response of the invocation. */
static void post_answer(CURL *curl, const char *base, const char *path,
                        const char *request_id, json_object *answer)
{
    if (answer == NULL ||
        post_json(curl, base, path, json_object_to_json_string(answer), NULL) !=
            0)
        bp_log_error("lambda: could not post the answer of %s", request_id);
    json_object_put(answer);
}

/* Answers with a refusal of the runtime's own (status, detail), logged
 * as a request. */
static void post_refusal(CURL *curl, const char *base, const char *path,
                         const struct invocation *inv, int status,
                         const char *detail)
{
    struct bp_log_request line = {
        .request_id = inv->request_id,
        .trace_id = inv->trace_id,
        .status = status,
        .bytes_in = (int64_t)inv->event.len,
    };
    bp_log_request(&line);
    bp_log_info("lambda: answered %d: %s", status, detail);
    post_answer(curl, base, path, inv->request_id,
                bp_lambda_http_refusal(status, detail, inv->request_id));
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
    struct bp_cgi_params params = {0};
    struct bp_buf body, out;
    bp_buf_init(&body, (size_t)LAMBDA_PAYLOAD_MAX);
    bp_buf_init(&out, (size_t)LAMBDA_PAYLOAD_MAX * 2);
    struct bp_error err = {{0}};
    enum bp_rc rc = bp_lambda_http_request(event, inv->request_id,
                                           inv->trace_id, &params, &body, &err);
    if (rc == BP_EBADREQUEST || rc == BP_ENOMEM) {
        post_error(curl, base, error_path,
                   rc == BP_ENOMEM ? "Bandpics.OutOfMemory"
                                   : "Bandpics.UnknownEvent",
                   rc == BP_ENOMEM ? "out of memory" : err.detail);
    } else if (rc != BP_OK) {
        post_refusal(curl, base, path, inv, rc == BP_ETOOBIG ? 414 : 400,
                     err.detail);
    } else if (bp_transport_buffer_serve(ctx, params.vars, body.data, body.len,
                                         &out) != 0) {
        post_error(curl, base, error_path, "Bandpics.ResponseTooLarge",
                   "the answer is over Lambda's 6 MB");
    } else {
        post_answer(curl, base, path, inv->request_id,
                    bp_lambda_http_answer(&out, event));
    }
    bp_cgi_params_free(&params);
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
        post_refusal(curl, base, path, inv, 413,
                     "Request too large for AWS Lambda (6 MB): upload files "
                     "with a presigned URL (POST /image_groups with images)");
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
                   "S3 (lambda_allow_local = 1 to try it without them)");
        curl_easy_cleanup(curl);
        return 1;
    }
    if (bp_app_open(&ctx, cfg, &err) != BP_OK) {
        post_error(curl, base, "/init/error", "Runtime.InitError", err.detail);
        curl_easy_cleanup(curl);
        return 1;
    }
    char store_url[512];
    bp_config_redact_url(cfg->database_url, store_url, sizeof(store_url));
    bp_log_info("lambda: serving the invocations of the Runtime API at %s "
                "(store %s, files %s%s)",
                runtime_api, store_url,
                cfg->blob_url[0] != '\0' ? cfg->blob_url : cfg->data_dir,
                cfg->blob_url[0] != '\0' ? "" : "/files");
    struct invocation inv;
    bp_buf_init(&inv.event, (size_t)LAMBDA_PAYLOAD_MAX * 2);
    while (next_invocation(curl, base, &inv) == 0)
        invoke(&ctx, curl, base, &inv);
    /* Lambda ends a runtime with a signal: a Runtime API that stops
     * answering (or was never there) is a failure. */
    bp_log_error("lambda: no invocation from the Runtime API at %s",
                 runtime_api);
    bp_buf_free(&inv.event);
    bp_app_close(&ctx);
    curl_easy_cleanup(curl);
    return 1;
}

void bp_lambda_report_init_error(const char *runtime_api, const char *message)
{
    char base[512];
    snprintf(base, sizeof(base), "http://%s/2018-06-01/runtime", runtime_api);
    CURL *curl = curl_easy_init();
    if (curl == NULL)
        return;
    post_error(curl, base, "/init/error", "Runtime.InitError", message);
    curl_easy_cleanup(curl);
}
