/*
 * lambda_http.h: the HTTP events AWS Lambda invokes a function with
 * (API Gateway HTTP API and function URLs, payload 2.0; API Gateway
 * REST, payload 1.0; ALB target groups) as the CGI variables and body
 * the handlers serve, and their CGI answers as the events' responses
 * (statusCode, headers, a body in base64 for bytes).
 */
#ifndef BP_LAMBDA_HTTP_H
#define BP_LAMBDA_HTTP_H

#include <stddef.h>

#include <json-c/json.h>

#include "buf.h"
#include "rc.h"

/* CGI variables ("NAME=value", NULL after the last), owned. */
struct bp_cgi_params {
    char **vars;
    size_t count, cap;
};

/* Frees every variable of p and leaves it empty. */
void bp_cgi_params_free(struct bp_cgi_params *p);

/*
 * The request of an HTTP event: its CGI variables added to *params (the
 * caller's, zeroed before; freed with bp_cgi_params_free whatever this
 * returns) and its body, decoded, in body. request_id and trace_id (the
 * invocation's) go into REQUEST_ID and BANDPICS_TRACE_ID.
 * BP_EBADREQUEST when event is no HTTP event, BP_ETOOBIG for a path or
 * query over 64 KiB, BP_EINVAL when its body is not a string or not the
 * base64 it claims (err says which), BP_ENOMEM.
 */
enum bp_rc bp_lambda_http_request(json_object *event, const char *request_id,
                                  const char *trace_id,
                                  struct bp_cgi_params *params,
                                  struct bp_buf *body, struct bp_error *err);

/*
 * The response for a CGI answer ("Status: ..." and header lines, a blank
 * line, the body) to event: statusCode, headers, the body (base64 and
 * isBase64Encoded unless it is text); for an ALB also statusDescription,
 * and multiValueHeaders when the event came with them. The caller's, to
 * release with json_object_put; NULL when out of memory.
 */
json_object *bp_lambda_http_answer(const struct bp_buf *cgi,
                                   json_object *event);

/*
 * The response of a request the runtime refuses itself (over Lambda's
 * payload limit, a body that is not base64): status, a JSON detail, and
 * the headers every answer has (X-Request-Id: request_id). The caller's.
 */
json_object *bp_lambda_http_refusal(int status, const char *detail,
                                    const char *request_id);

#endif
