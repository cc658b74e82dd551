/*
 * multipart.h: a streaming multipart/form-data parser (RFC 7578 over the
 * framing of RFC 2046 section 5.1.1). It is a pure core: the caller feeds
 * the body in chunks of any size and receives one part_begin, any number
 * of part_data and one part_end call per form field. It does no I/O and
 * never holds a whole part: its memory is the boundary plus one part's
 * header block, whatever the size of the upload.
 *
 * Strictness: lines end with CRLF (a bare CR or LF in a header or a
 * boundary line is an error, and a bare LF before "--boundary" is data);
 * the full delimiter "CRLF--boundary" always ends a part, so it must be
 * followed by "--" or by optional spaces and tabs and CRLF (RFC 2046:
 * the boundary must not occur in the data). The preamble and the
 * epilogue are skipped. A body with no part at all ("--boundary--") is
 * accepted, as browsers send it for an empty form.
 */
#ifndef BP_MULTIPART_H
#define BP_MULTIPART_H

#include <stddef.h>

#include "rc.h"

/* The longest boundary RFC 2046 allows. */
#define BP_MULTIPART_BOUNDARY_MAX 70

/* Limits on one body; both must be positive. */
struct bp_multipart_limits {
    size_t max_header_bytes; /* per part: its header lines with their
                                CRLFs, not the blank line (e.g. 8192) */
    size_t max_parts;        /* parts per body */
};

/*
 * One form field, as part_begin sees it. The strings are borrowed from
 * the parser and valid only during that call: copy what you keep. They
 * hold no NUL, CR or LF but are otherwise the bytes the client sent
 * (not checked for UTF-8), so validate them before storing or echoing.
 */
struct bp_multipart_part {
    const char *name;         /* Content-Disposition name=, never empty */
    const char *filename;     /* filename= (or decoded filename*=UTF-8''),
                                 NULL when absent, may be "" */
    const char *content_type; /* Content-Type value, "" when absent
                                 (RFC 7578: then text/plain) */
};

/*
 * What the parser calls. Any member may be NULL. A callback that returns
 * anything but BP_OK stops the parse: bp_multipart_feed returns that code
 * unchanged, with the detail the callback wrote into err (a generic one
 * when it wrote none). part_data is never called with len 0; data is
 * borrowed for the call. After an error the open part gets no part_end,
 * so the caller discards whatever it built for it. Callbacks must not
 * call back into the parser.
 */
struct bp_multipart_callbacks {
    enum bp_rc (*part_begin)(void *user, const struct bp_multipart_part *part,
                             struct bp_error *err);
    enum bp_rc (*part_data)(void *user, const char *data, size_t len,
                            struct bp_error *err);
    enum bp_rc (*part_end)(void *user, struct bp_error *err);
};

struct bp_multipart;

/*
 * Copies the boundary parameter of the Content-Type header value
 * content_type ("multipart/form-data; boundary=...", type and parameter
 * names case-insensitive, the value a token or a quoted string) into out
 * as a NUL-terminated string; out_len must allow
 * BP_MULTIPART_BOUNDARY_MAX + 1 bytes. Returns BP_EUNSUPPORTED when
 * content_type is NULL or not multipart/form-data, BP_EBADREQUEST when
 * the parameters are malformed or the boundary is missing, duplicated,
 * empty, longer than 70 characters or not made of RFC 2046 bchars (or
 * ends with a space), and BP_EINTERNAL when out_len is too small. out is
 * the caller's and holds the boundary only on BP_OK.
 */
enum bp_rc bp_multipart_boundary(const char *content_type, char *out,
                                 size_t out_len, struct bp_error *err);

/*
 * Creates a parser for a body delimited by boundary (without the leading
 * "--"), which the parser copies. It copies *limits and *cb too; user is
 * passed to every callback and stays the caller's. On BP_OK *out is the
 * caller's, to free with bp_multipart_free. Returns BP_EINVAL for an
 * invalid boundary, NULL limits or callbacks, or a zero limit, and
 * BP_ENOMEM when allocation fails.
 */
enum bp_rc bp_multipart_new(const char *boundary,
                            const struct bp_multipart_limits *limits,
                            const struct bp_multipart_callbacks *cb, void *user,
                            struct bp_multipart **out);

/*
 * Parses the next len bytes of the body (data is borrowed for the call)
 * and makes the callbacks they complete. Any chunking, down to one byte
 * at a time, gives the same callbacks, except that part data may be split
 * differently. Returns BP_EBADREQUEST for a malformed body, BP_ETOOBIG
 * when a header block or the number of parts passes its limit,
 * BP_EUNSUPPORTED for a Content-Transfer-Encoding other than 7bit, 8bit
 * or binary, BP_ENOMEM, or a callback's code, with a detail in err (which
 * may be NULL). Errors are final: later calls return the same code and
 * detail without parsing.
 */
enum bp_rc bp_multipart_feed(struct bp_multipart *mp, const char *data,
                             size_t len, struct bp_error *err);

/*
 * Ends the body. Returns BP_OK when the close delimiter was seen (the
 * epilogue is ignored), BP_EBADREQUEST for a body that stops before it
 * (a truncated upload), or the earlier error of a failed parse.
 */
enum bp_rc bp_multipart_finish(struct bp_multipart *mp, struct bp_error *err);

/* Frees mp and everything it holds; mp may be NULL. */
void bp_multipart_free(struct bp_multipart *mp);

#endif
