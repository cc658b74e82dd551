/*
 * s3_events.c: S3 object-created notifications completing presigned
 * uploads (s3_events.h).
 */
#include <stdio.h>
#include <string.h>

#include "api/direct_upload.h"
#include "api/image_files.h"
#include "api/s3_events.h"
#include "http/json_input.h"
#include "http/urldecode.h"
#include "log.h"
#include "model/ids.h"

bool bp_s3_event_is(json_object *event)
{
    return bp_json_member_of_type(event, "Records", json_type_array) != NULL;
}

/*
 * Completes the pending image whose upload is the object key (URL-encoded
 * in S3 events; the blob prefix before incoming/ is ignored).
 */
static enum bp_rc object_created(struct bp_ctx *ctx, struct bp_store *store,
                                 const char *encoded_key,
                                 struct bp_s3_event_report *report,
                                 struct bp_error *err)
{
    struct bp_buf decoded;
    bp_buf_init(&decoded, 1024);
    if (bp_url_decode(encoded_key, strlen(encoded_key), true, &decoded) !=
            BP_OK ||
        decoded.data == NULL) {
        bp_buf_free(&decoded);
        report->unmatched++;
        return BP_OK;
    }
    char key[1024];
    snprintf(key, sizeof(key), "%s", decoded.data);
    bp_buf_free(&decoded);
    const char *incoming = strstr(key, "incoming/");
    char id[BP_ID_LEN + 1];
    if (incoming == NULL ||
        strlen(incoming) < strlen("incoming/") + BP_ID_LEN + 1 ||
        incoming[strlen("incoming/") + BP_ID_LEN] != '/') {
        report->unmatched++;
        return BP_OK;
    }
    memcpy(id, incoming + strlen("incoming/"), BP_ID_LEN);
    id[BP_ID_LEN] = '\0';
    struct bp_image image;
    enum bp_rc rc = bp_store_image_get(store, id, &image, err);
    if (rc == BP_ENOTFOUND ||
        (rc == BP_OK && !bp_image_upload_awaited(&image))) {
        if (rc == BP_OK)
            bp_image_clear(&image);
        /* Already ready (a repeated event), or no such image. */
        if (rc == BP_OK)
            report->unchanged++;
        else {
            bp_log_warn("S3 event: %s matches no pending image (left for "
                        "--gc)",
                        key);
            report->unmatched++;
        }
        return BP_OK;
    }
    if (rc != BP_OK)
        return rc;
    char expected[BP_IMAGE_KEY_LEN];
    bp_image_incoming_key(&image, expected);
    if (strcmp(incoming, expected) != 0) {
        bp_log_warn("S3 event: %s is not the upload image %s awaits", key, id);
        report->unmatched++;
        bp_image_clear(&image);
        return BP_OK;
    }
    struct bp_image done;
    struct bp_error why = {{0}};
    rc = bp_direct_upload_complete(ctx, store, &image, &done, &why);
    bp_image_clear(&image);
    switch (rc) {
    case BP_OK:
        bp_image_clear(&done);
        report->completed++;
        return BP_OK;
    case BP_ECONFLICT: /* completed meanwhile, or the object is gone */
    case BP_ENOTFOUND: /* the upload expired and its image with it */
        bp_log_warn("S3 event: %s: %s", key, why.detail);
        report->unmatched++;
        return BP_OK;
    case BP_EINVAL:
    case BP_EBADREQUEST:
    case BP_ETOOBIG:
    case BP_EUNSUPPORTED:
        /* Not an acceptable image: removed, the image stays pending
         * until its upload expires (the client may upload again). */
        bp_log_warn("S3 event: %s refused: %s", key, why.detail);
        report->refused++;
        return BP_OK;
    default:
        /* The store or the bucket failed: the event is answered as an
         * error, so that it comes again. */
        return bp_error_set(err, rc, "%s", why.detail);
    }
}

/* The records of one S3 event (an object), handled. */
static enum bp_rc s3_records(struct bp_ctx *ctx, struct bp_store *store,
                             json_object *event,
                             struct bp_s3_event_report *report,
                             struct bp_error *err)
{
    json_object *records =
        bp_json_member_of_type(event, "Records", json_type_array);
    if (records == NULL)
        return BP_OK;
    for (size_t i = 0; i < json_object_array_length(records); i++) {
        json_object *record = json_object_array_get_idx(records, i);
        const char *source = bp_json_member_string(record, "eventSource");
        const char *name = bp_json_member_string(record, "eventName");
        if (source != NULL && strcmp(source, "aws:sqs") == 0) {
            /* SQS: the body is an S3 event, or an SNS message of one. */
            json_object *body =
                json_tokener_parse(bp_json_member_string(record, "body")
                                       ? bp_json_member_string(record, "body")
                                       : "null");
            const char *message = bp_json_member_string(body, "Message");
            json_object *inner = message != NULL ? json_tokener_parse(message)
                                                 : json_object_get(body);
            enum bp_rc rc = s3_records(ctx, store, inner, report, err);
            json_object_put(inner);
            json_object_put(body);
            if (rc != BP_OK)
                return rc;
            continue;
        }
        json_object *sns =
            bp_json_member_of_type(record, "Sns", json_type_object);
        if (sns != NULL) {
            const char *message = bp_json_member_string(sns, "Message");
            json_object *inner =
                json_tokener_parse(message != NULL ? message : "null");
            enum bp_rc rc = s3_records(ctx, store, inner, report, err);
            json_object_put(inner);
            if (rc != BP_OK)
                return rc;
            continue;
        }
        if (source == NULL || strcmp(source, "aws:s3") != 0 || name == NULL ||
            strncmp(name, "ObjectCreated:", 14) != 0)
            continue;
        report->records++;
        const char *key = bp_json_member_string(
            bp_json_member_of_type(
                bp_json_member_of_type(record, "s3", json_type_object),
                "object", json_type_object),
            "key");
        if (key == NULL) {
            report->unmatched++;
            continue;
        }
        enum bp_rc rc = object_created(ctx, store, key, report, err);
        if (rc != BP_OK)
            return rc;
    }
    return BP_OK;
}

enum bp_rc bp_s3_event_handle(struct bp_ctx *ctx, json_object *event,
                              struct bp_s3_event_report *report,
                              struct bp_error *err)
{
    memset(report, 0, sizeof(*report));
    struct bp_store *store;
    enum bp_rc rc = bp_app_store(ctx, &store, err);
    if (rc != BP_OK)
        return rc;
    return s3_records(ctx, store, event, report, err);
}
