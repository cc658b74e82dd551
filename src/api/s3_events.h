/*
 * s3_events.h: S3 "object created" notifications (as AWS Lambda gets
 * them: directly, or wrapped in SQS or SNS messages) for uploads under
 * incoming/: each completes its pending image with the same code as
 * POST /images/{id}/complete. Idempotent: a repeated or late event
 * changes nothing.
 */
#ifndef BP_S3_EVENTS_H
#define BP_S3_EVENTS_H

#include <json-c/json.h>

#include "api/app.h"

/* What one event did. */
struct bp_s3_event_report {
    size_t records;   /* S3 object-created records seen */
    size_t completed; /* pending images now ready */
    size_t unchanged; /* records for images already ready (repeats) */
    size_t unmatched; /* keys that match no pending image (left for --gc) */
    size_t refused;   /* uploads that are no acceptable image (removed) */
};

/* Whether event holds Records (an S3, SQS or SNS event). */
bool bp_s3_event_is(json_object *event);

/*
 * Handles every S3 object-created record of event (directly, or in the
 * body of SQS records or the Message of SNS records). BP_EUNAVAILABLE
 * (or BP_ENOSPACE, BP_EIO...) when the store or the bucket fails: the
 * event should be retried, and the records done before are then
 * unchanged. Records that match nothing, and uploads that are no
 * acceptable image, are logged and counted, not errors.
 */
enum bp_rc bp_s3_event_handle(struct bp_ctx *ctx, json_object *event,
                              struct bp_s3_event_report *report,
                              struct bp_error *err);

#endif
