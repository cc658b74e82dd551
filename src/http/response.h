/*
 * response.h: the transport-free HTTP response that handlers fill, and
 * its serialization in the CGI response format that FastCGI and CGI
 * share.
 */
#ifndef BP_RESPONSE_H
#define BP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "buf.h"
#include "rc.h"

struct bp_response {
    int status;
    const char *content_type; /* static or type_buf; NULL for no body */
    char type_buf[128];       /* a copied Content-Type */
    struct bp_buf headers;    /* extra "Name: value\r\n" lines */
    struct bp_buf body;
    int body_fd;       /* owned; when >= 0 the body is read from it */
    off_t body_offset; /* where the body starts in body_fd */
    off_t body_length; /* how many bytes of body_fd are sent */
};

/* Prepares an empty 200 response. Free it with bp_response_free. */
void bp_response_init(struct bp_response *res);

/*
 * Sets the Content-Type to a copy of type (which may be freed after the
 * call); a type too long to copy is replaced by application/octet-stream.
 */
void bp_response_set_type(struct bp_response *res, const char *type);

/*
 * Makes the body length bytes of fd from offset, instead of res->body;
 * res takes fd and closes it when freed.
 */
void bp_response_file(struct bp_response *res, int fd, off_t offset,
                      off_t length);

/* Frees what res holds (closing a body file); res may be NULL. */
void bp_response_free(struct bp_response *res);

/* Drops headers and body so that the response can be filled again. */
void bp_response_reset(struct bp_response *res);

/* Returns true when res already has a header called name (any case). */
bool bp_response_has_header(const struct bp_response *res, const char *name);

/*
 * Adds the header "name: value" (printf-style value). Returns BP_EINVAL
 * when the value would contain CR or LF, BP_ENOMEM on allocation failure.
 */
enum bp_rc bp_response_header(struct bp_response *res, const char *name,
                              const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Sets status and a JSON body serialized from value, which stays the
 * caller's (the response keeps no reference to it).
 */
enum bp_rc bp_response_json(struct bp_response *res, int status,
                            struct json_object *value);

/*
 * Serializes res as a CGI response ("Status:" line, headers, blank line,
 * body unless omit_body) through write, which returns -1 on failure.
 * Returns BP_EIO when a write fails.
 */
enum bp_rc bp_response_write_cgi(const struct bp_response *res, bool omit_body,
                                 ssize_t (*write)(void *sink, const char *data,
                                                  size_t len),
                                 void *sink);

/*
 * Makes a 200 JSON response (a body in memory) conditional: adds an ETag
 * (a hash of the body) and, when if_none_match (the request's header, or
 * NULL) names it or is "*", turns it into a 304 without a body. Other
 * responses are left alone. BP_ENOMEM when the header cannot be added.
 */
enum bp_rc bp_response_revalidate(struct bp_response *res,
                                  const char *if_none_match);

/* Returns the standard reason phrase of an HTTP status code. */
const char *bp_http_reason(int status);

#endif
