/*
 * transport.h: the adapters between a web server's protocol and the
 * transport-free request/response: FastCGI (one accepted connection),
 * plain CGI (environment and stdin/stdout), and a request in memory (the
 * AWS Lambda runtime).
 */
#ifndef BP_TRANSPORT_H
#define BP_TRANSPORT_H

#include <fcgiapp.h>

#include "api/app.h"

/*
 * Serves the FastCGI request that FCGX_Accept_r just read into request:
 * reads the body from REQUEST_BODY_FILE when the web server handed it
 * over as a file, else from the FastCGI stream, and writes the response.
 * The caller finishes the request.
 */
void bp_transport_fcgi_serve(struct bp_ctx *ctx, FCGX_Request *request);

/*
 * Serves the one CGI request described by env (the process environment),
 * reading the body from stdin and writing the response to stdout.
 * Returns 0, or 1 when the response could not be written.
 */
int bp_transport_cgi_serve(struct bp_ctx *ctx, char *const *env);

/*
 * Serves one request described by params (CGI variables) whose body is
 * the len bytes at body, appending the CGI response (Status and header
 * lines, a blank line, the body) to out. Returns 0, or 1 when out could
 * not hold it.
 */
int bp_transport_buffer_serve(struct bp_ctx *ctx, char *const *params,
                              const char *body, size_t len, struct bp_buf *out);

#endif
