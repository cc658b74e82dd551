/*
 * multipart.c: the streaming multipart/form-data parser. A state machine
 * reads the body byte by byte, except part data and the preamble, which
 * it scans in runs. The delimiter "\r\n--boundary" holds its only CR in
 * front (boundary characters exclude CR), so after a mismatch no match
 * can restart inside the bytes already matched; and since those bytes
 * are a known prefix of the delimiter, the parser needs no look-back
 * buffer: it hands them on from its copy of the delimiter. A part's
 * header lines collect in one capped buffer, parsed in place once their
 * blank line arrives; the part's strings point into that buffer.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "http/multipart.h"
#include "http/urldecode.h"

/* The delimiter is "\r\n--" and the boundary. */
#define DELIM_MAX (4 + BP_MULTIPART_BOUNDARY_MAX)

enum state {
    ST_PREAMBLE,     /* before the first delimiter: bytes are skipped */
    ST_AFTER_DELIM,  /* a delimiter matched: "--", padding or CR next */
    ST_PADDING,      /* transport padding after a delimiter */
    ST_CLOSE,        /* "-" after a delimiter: the second "-" next */
    ST_DELIM_LF,     /* CR ending a boundary line: LF next */
    ST_HEADER_START, /* at the start of a header line (or the blank line) */
    ST_HEADER_LINE,  /* inside a header line */
    ST_HEADER_LF,    /* CR ending a header line: LF next */
    ST_HEADERS_LF,   /* CR of the blank line: LF next */
    ST_DATA,         /* part data, scanned for the delimiter */
    ST_EPILOGUE,     /* after the close delimiter: bytes are skipped */
    ST_FAILED,       /* an error happened: rc and error hold it */
};

/* The headers RFC 7578 gives a meaning to; others are ignored. */
enum header {
    H_DISPOSITION,
    H_TYPE,
    H_ENCODING,
    H_COUNT,
};

/* The Content-Disposition parameters read; others are ignored. */
enum disposition_param {
    P_NAME,
    P_FILENAME,
    P_FILENAME_EXT,
    P_COUNT,
};

/* One "name=value" parameter of a header value, pointing into it. */
struct param {
    const char *name;
    size_t name_len;
    const char *value; /* inside the quotes of a quoted string */
    size_t value_len;
    bool quoted;
};

struct bp_multipart {
    struct bp_multipart_callbacks cb;
    void *user;
    struct bp_multipart_limits limits;
    char delim[DELIM_MAX + 1]; /* "\r\n--" boundary */
    size_t delim_len;
    size_t match; /* bytes of delim matched so far */
    /*
     * How many of the matched bytes were implied rather than read: the
     * CRLF before the first boundary, or the one a part with no data
     * shares with its blank line. They are never part data.
     */
    size_t virt;
    enum state state;
    bool in_part;          /* part_begin was called, part_end not yet */
    size_t parts;          /* parts begun so far */
    struct bp_buf headers; /* the current part's header lines */
    enum bp_rc rc;         /* BP_OK until an error, then that error */
    struct bp_error error; /* the detail of rc, shared with callbacks */
};

static const char *const header_names[H_COUNT] = {
    [H_DISPOSITION] = "Content-Disposition",
    [H_TYPE] = "Content-Type",
    [H_ENCODING] = "Content-Transfer-Encoding",
};

static const char *const disposition_param_names[P_COUNT] = {
    [P_NAME] = "name",
    [P_FILENAME] = "filename",
    [P_FILENAME_EXT] = "filename*",
};

static bool is_ctl(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

static bool is_wsp(unsigned char c)
{
    return c == ' ' || c == '\t';
}

static bool is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
}

/* RFC 2045 token characters: printable ASCII but for tspecials. */
static bool is_token(unsigned char c)
{
    return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* RFC 2046 bchars. */
static bool is_bchar(unsigned char c)
{
    return is_alnum(c) || (c != '\0' && strchr("'()+_,-./:=? ", c) != NULL);
}

/* RFC 5322 ftext: the characters of a header field name. */
static bool is_ftext(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != ':';
}

static unsigned char ascii_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* Returns true when the len bytes at s equal lit, ignoring ASCII case. */
static bool ascii_ieq(const char *s, size_t len, const char *lit)
{
    if (strlen(lit) != len)
        return false;
    for (size_t i = 0; i < len; i++)
        if (ascii_lower((unsigned char)s[i]) !=
            ascii_lower((unsigned char)lit[i]))
            return false;
    return true;
}

/* Returns true when the len bytes at b make a valid RFC 2046 boundary. */
static bool boundary_valid(const char *b, size_t len)
{
    if (len == 0 || len > BP_MULTIPART_BOUNDARY_MAX || b[len - 1] == ' ')
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_bchar((unsigned char)b[i]))
            return false;
    return true;
}

static const char *skip_wsp(const char *s)
{
    while (is_wsp((unsigned char)*s))
        s++;
    return s;
}

static const char *skip_token(const char *s)
{
    while (is_token((unsigned char)*s))
        s++;
    return s;
}

/*
 * Reads the parameter at *pos ("; name=value", white space allowed around
 * the separators, the value a token or a quoted string) into *param and
 * moves *pos past it. Returns 1 for a parameter, 0 at the end of the
 * string (a trailing ';' is tolerated), -1 for malformed text.
 */
static int next_param(const char **pos, struct param *param)
{
    const char *s = skip_wsp(*pos);
    if (*s == '\0')
        return 0;
    if (*s != ';')
        return -1;
    s = skip_wsp(s + 1);
    if (*s == '\0')
        return 0;
    param->name = s;
    s = skip_token(s);
    param->name_len = (size_t)(s - param->name);
    if (param->name_len == 0)
        return -1;
    s = skip_wsp(s);
    if (*s != '=')
        return -1;
    s = skip_wsp(s + 1);
    if (*s == '"') {
        param->quoted = true;
        param->value = ++s;
        while (*s != '"') {
            unsigned char c = (unsigned char)*s;
            if (c == '\0' || (is_ctl(c) && c != '\t'))
                return -1;
            if (c == '\\' && s[1] != '\0')
                s++;
            s++;
        }
        param->value_len = (size_t)(s - param->value);
        s++;
    } else {
        param->quoted = false;
        param->value = s;
        s = skip_token(s);
        param->value_len = (size_t)(s - param->value);
        if (param->value_len == 0)
            return -1;
    }
    *pos = s;
    return 1;
}

/*
 * Copies the value of param to out, turning the quoted-pairs \" and \\ of
 * a quoted string into '"' and '\'. Other backslashes stay as they are:
 * browsers (WHATWG HTML) send them unescaped, as in Windows paths. Writes
 * at most cap bytes and returns the whole length. out may point at
 * param->value itself, since it never gets ahead of the bytes read.
 */
static size_t unquote(const struct param *param, char *out, size_t cap)
{
    size_t len = 0;
    for (size_t i = 0; i < param->value_len; i++) {
        char c = param->value[i];
        if (param->quoted && c == '\\' && i + 1 < param->value_len &&
            (param->value[i + 1] == '"' || param->value[i + 1] == '\\'))
            c = param->value[++i];
        if (len < cap)
            out[len] = c;
        len++;
    }
    return len;
}

/*
 * Unquotes param in place inside text, the writable string that holds it,
 * and returns the NUL-terminated result. The NUL lands on the closing
 * quote or the separator after a token, never inside another parameter.
 */
static char *unquote_in_place(char *text, const struct param *param)
{
    char *dst = text + (param->value - text);
    size_t len = unquote(param, dst, param->value_len);
    dst[len] = '\0';
    return dst;
}

enum bp_rc bp_multipart_boundary(const char *content_type, char *out,
                                 size_t out_len, struct bp_error *err)
{
    if (content_type == NULL)
        return bp_error_set(err, BP_EUNSUPPORTED,
                            "Content-Type must be multipart/form-data");
    const char *s = skip_wsp(content_type);
    const char *type = s;
    s = skip_token(s);
    size_t type_len = (size_t)(s - type);
    const char *subtype = s;
    if (*s == '/') {
        subtype = ++s;
        s = skip_token(s);
    }
    if (!ascii_ieq(type, type_len, "multipart") ||
        !ascii_ieq(subtype, (size_t)(s - subtype), "form-data"))
        return bp_error_set(err, BP_EUNSUPPORTED,
                            "Content-Type must be multipart/form-data");

    struct param param;
    struct param boundary = {0};
    bool found = false;
    int more;
    while ((more = next_param(&s, &param)) > 0) {
        if (!ascii_ieq(param.name, param.name_len, "boundary"))
            continue;
        if (found)
            return bp_error_set(err, BP_EBADREQUEST,
                                "Malformed multipart Content-Type: more than "
                                "one boundary");
        boundary = param;
        found = true;
    }
    if (more < 0)
        return bp_error_set(err, BP_EBADREQUEST,
                            "Malformed multipart Content-Type: bad parameter "
                            "syntax");
    if (!found)
        return bp_error_set(err, BP_EBADREQUEST,
                            "Malformed multipart Content-Type: no boundary");

    char value[BP_MULTIPART_BOUNDARY_MAX];
    size_t len = unquote(&boundary, value, sizeof(value));
    if (len == 0)
        return bp_error_set(err, BP_EBADREQUEST,
                            "Malformed multipart Content-Type: empty boundary");
    if (len > BP_MULTIPART_BOUNDARY_MAX)
        return bp_error_set(err, BP_EBADREQUEST,
                            "Malformed multipart Content-Type: boundary longer "
                            "than %d characters",
                            BP_MULTIPART_BOUNDARY_MAX);
    if (!boundary_valid(value, len))
        return bp_error_set(err, BP_EBADREQUEST,
                            "Malformed multipart Content-Type: invalid "
                            "character in the boundary");
    if (len >= out_len)
        return bp_error_set(err, BP_EINTERNAL,
                            "Multipart boundary buffer too small");
    memcpy(out, value, len);
    out[len] = '\0';
    return BP_OK;
}

enum bp_rc bp_multipart_new(const char *boundary,
                            const struct bp_multipart_limits *limits,
                            const struct bp_multipart_callbacks *cb, void *user,
                            struct bp_multipart **out)
{
    if (boundary == NULL || limits == NULL || cb == NULL ||
        limits->max_header_bytes == 0 || limits->max_parts == 0)
        return BP_EINVAL;
    size_t len = strnlen(boundary, BP_MULTIPART_BOUNDARY_MAX + 1);
    if (!boundary_valid(boundary, len))
        return BP_EINVAL;
    struct bp_multipart *mp = calloc(1, sizeof(*mp));
    if (mp == NULL)
        return BP_ENOMEM;
    mp->cb = *cb;
    mp->user = user;
    mp->limits = *limits;
    memcpy(mp->delim, "\r\n--", 4);
    memcpy(mp->delim + 4, boundary, len);
    mp->delim_len = 4 + len;
    mp->delim[mp->delim_len] = '\0';
    /* The body may open with "--boundary": its CRLF is implied. */
    mp->match = 2;
    mp->virt = 2;
    mp->state = ST_PREAMBLE;
    bp_buf_init(&mp->headers, limits->max_header_bytes);
    mp->rc = BP_OK;
    *out = mp;
    return BP_OK;
}

void bp_multipart_free(struct bp_multipart *mp)
{
    if (mp == NULL)
        return;
    bp_buf_free(&mp->headers);
    free(mp);
}

static enum bp_rc malformed(struct bp_multipart *mp, const char *why)
{
    return bp_error_set(&mp->error, BP_EBADREQUEST,
                        "Malformed multipart body: %s", why);
}

/*
 * Passes on the result of a callback, which wrote its detail (if any)
 * into mp->error, cleared before the call; a failure without one gets a
 * generic detail.
 */
static enum bp_rc callback_result(struct bp_multipart *mp, enum bp_rc rc)
{
    if (rc != BP_OK && mp->error.detail[0] == '\0')
        bp_error_set(&mp->error, rc, "Multipart form field rejected (%s)",
                     bp_rc_name(rc));
    return rc;
}

/* Hands len bytes of part data to the part_data callback. */
static enum bp_rc emit_data(struct bp_multipart *mp, const char *data,
                            size_t len)
{
    if (len == 0 || mp->cb.part_data == NULL)
        return BP_OK;
    mp->error.detail[0] = '\0';
    return callback_result(mp,
                           mp->cb.part_data(mp->user, data, len, &mp->error));
}

/* Ends the open part, if any, with the part_end callback. */
static enum bp_rc end_part(struct bp_multipart *mp)
{
    if (!mp->in_part)
        return BP_OK;
    mp->in_part = false;
    if (mp->cb.part_end == NULL)
        return BP_OK;
    mp->error.detail[0] = '\0';
    return callback_result(mp, mp->cb.part_end(mp->user, &mp->error));
}

/* Counts a new part against the limit and gets ready for its headers. */
static enum bp_rc start_headers(struct bp_multipart *mp)
{
    if (mp->parts == mp->limits.max_parts)
        return bp_error_set(&mp->error, BP_ETOOBIG,
                            "Multipart body has more than %zu parts",
                            mp->limits.max_parts);
    mp->parts++;
    bp_buf_reset(&mp->headers);
    mp->state = ST_HEADER_START;
    return BP_OK;
}

static enum bp_rc append_header(struct bp_multipart *mp, unsigned char c)
{
    enum bp_rc rc = bp_buf_append(&mp->headers, &c, 1);
    if (rc == BP_ETOOBIG)
        return bp_error_set(&mp->error, rc,
                            "Multipart part headers are larger than %zu bytes",
                            mp->limits.max_header_bytes);
    if (rc != BP_OK)
        return bp_error_set(&mp->error, rc,
                            "Out of memory reading multipart headers");
    return BP_OK;
}

/*
 * Joins folded header lines in place (RFC 5322 unfolding: a CRLF before
 * a space or a tab goes) and returns the new length. Every line of text
 * ends with CRLF.
 */
static size_t unfold(char *text, size_t len)
{
    size_t out = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\r' && i + 2 < len &&
            is_wsp((unsigned char)text[i + 2])) {
            i++;
            continue;
        }
        text[out++] = text[i];
    }
    return out;
}

/* Strips the white space around [start, end), NUL-terminating it. */
static char *trim(char *start, char *end)
{
    while (start < end && is_wsp((unsigned char)*start))
        start++;
    while (end > start && is_wsp((unsigned char)end[-1]))
        end--;
    *end = '\0';
    return start;
}

/*
 * Decodes the RFC 8187 ext-value of param (charset'language'pct-encoded,
 * as in filename*=UTF-8''%C3%A9t%C3%A9.jpg) in place inside text and
 * points *out at it. Only UTF-8 is taken; the result must hold no
 * control character.
 */
static enum bp_rc decode_ext_value(struct bp_multipart *mp, char *text,
                                   const struct param *param, const char **out)
{
    char *value = unquote_in_place(text, param);
    char *charset_end = strchr(value, '\'');
    char *language_end =
        charset_end == NULL ? NULL : strchr(charset_end + 1, '\'');
    if (language_end == NULL)
        return malformed(mp, "filename* is not charset'language'value");
    if (!ascii_ieq(value, (size_t)(charset_end - value), "utf-8"))
        return malformed(mp, "filename* must be UTF-8");
    char *dst = value;
    for (const char *p = language_end + 1; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '%') {
            int hi = bp_hex_value(p[1]);
            int lo = hi < 0 ? -1 : bp_hex_value(p[2]);
            if (lo < 0)
                return malformed(mp, "bad percent-encoding in filename*");
            c = (unsigned char)(hi * 16 + lo);
            p += 2;
        }
        if (is_ctl(c))
            return malformed(mp, "control character in filename*");
        *dst++ = (char)c;
    }
    *dst = '\0';
    *out = value;
    return BP_OK;
}

/*
 * Reads the Content-Disposition value (writable, NUL-terminated) into the
 * name and filename of part: it must be form-data with a non-empty name.
 * filename* wins over filename (RFC 6266), though RFC 7578 tells senders
 * not to use it.
 */
static enum bp_rc parse_disposition(struct bp_multipart *mp, char *value,
                                    struct bp_multipart_part *part)
{
    const char *s = skip_token(value);
    if (!ascii_ieq(value, (size_t)(s - value), "form-data"))
        return malformed(mp, "Content-Disposition is not form-data");

    struct param params[P_COUNT];
    bool seen[P_COUNT] = {false};
    struct param param;
    int more;
    while ((more = next_param(&s, &param)) > 0) {
        for (size_t i = 0; i < P_COUNT; i++) {
            if (!ascii_ieq(param.name, param.name_len,
                           disposition_param_names[i]))
                continue;
            if (seen[i])
                return bp_error_set(&mp->error, BP_EBADREQUEST,
                                    "Malformed multipart body: "
                                    "Content-Disposition has more than one "
                                    "%s",
                                    disposition_param_names[i]);
            params[i] = param;
            seen[i] = true;
        }
    }
    if (more < 0)
        return malformed(mp, "bad Content-Disposition parameter syntax");
    if (!seen[P_NAME])
        return malformed(mp, "Content-Disposition has no name");

    part->name = unquote_in_place(value, &params[P_NAME]);
    if (part->name[0] == '\0')
        return malformed(mp, "Content-Disposition has an empty name");
    part->filename = NULL;
    if (seen[P_FILENAME_EXT])
        return decode_ext_value(mp, value, &params[P_FILENAME_EXT],
                                &part->filename);
    if (seen[P_FILENAME])
        part->filename = unquote_in_place(value, &params[P_FILENAME]);
    return BP_OK;
}

/*
 * Parses the header block collected in mp->headers into part, whose
 * strings then point into that buffer. Header names are matched without
 * regard to case; unknown headers are ignored, known ones must not repeat.
 */
static enum bp_rc parse_headers(struct bp_multipart *mp,
                                struct bp_multipart_part *part)
{
    char *text = mp->headers.data;
    size_t len = text == NULL ? 0 : unfold(text, mp->headers.len);
    char *values[H_COUNT] = {NULL};
    size_t pos = 0;
    while (pos < len) {
        char *line = text + pos;
        char *end = memchr(line, '\r', len - pos);
        assert(end != NULL && end[1] == '\n');
        pos += (size_t)(end - line) + 2;
        char *colon = memchr(line, ':', (size_t)(end - line));
        if (colon == NULL || colon == line)
            return malformed(mp, "part header line without a name");
        for (const char *p = line; p < colon; p++)
            if (!is_ftext((unsigned char)*p))
                return malformed(mp, "invalid part header name");
        size_t name_len = (size_t)(colon - line);
        for (size_t i = 0; i < H_COUNT; i++) {
            if (!ascii_ieq(line, name_len, header_names[i]))
                continue;
            if (values[i] != NULL)
                return bp_error_set(&mp->error, BP_EBADREQUEST,
                                    "Malformed multipart body: more than one "
                                    "%s header in a part",
                                    header_names[i]);
            values[i] = trim(colon + 1, end);
        }
    }

    const char *encoding = values[H_ENCODING];
    if (encoding != NULL && !ascii_ieq(encoding, strlen(encoding), "7bit") &&
        !ascii_ieq(encoding, strlen(encoding), "8bit") &&
        !ascii_ieq(encoding, strlen(encoding), "binary"))
        return bp_error_set(&mp->error, BP_EUNSUPPORTED,
                            "Multipart Content-Transfer-Encoding must be "
                            "7bit, 8bit or binary");
    if (values[H_DISPOSITION] == NULL)
        return malformed(mp, "part has no Content-Disposition header");
    part->content_type = values[H_TYPE] == NULL ? "" : values[H_TYPE];
    return parse_disposition(mp, values[H_DISPOSITION], part);
}

/* The blank line ended a header block: parses it and begins the part. */
static enum bp_rc begin_part(struct bp_multipart *mp)
{
    struct bp_multipart_part part;
    enum bp_rc rc = parse_headers(mp, &part);
    if (rc != BP_OK)
        return rc;
    mp->in_part = true;
    mp->state = ST_DATA;
    /* A part with no data may share the blank line's CRLF (RFC 2046). */
    mp->match = 2;
    mp->virt = 2;
    if (mp->cb.part_begin == NULL)
        return BP_OK;
    mp->error.detail[0] = '\0';
    return callback_result(mp, mp->cb.part_begin(mp->user, &part, &mp->error));
}

/*
 * Scans the n bytes at p for the delimiter, passing the bytes that are
 * not part of it on as part data (in ST_DATA) or dropping them (in the
 * preamble). Stops after a whole delimiter; *used says how far it read.
 */
static enum bp_rc scan(struct bp_multipart *mp, const char *p, size_t n,
                       size_t *used)
{
    bool is_data = mp->state == ST_DATA;
    enum bp_rc rc = BP_OK;
    size_t i = 0;
    while (i < n && rc == BP_OK) {
        if (mp->match == 0) {
            const char *cr = memchr(p + i, '\r', n - i);
            size_t run = cr == NULL ? n - i : (size_t)(cr - (p + i));
            if (is_data)
                rc = emit_data(mp, p + i, run);
            i += run;
            if (cr != NULL) {
                mp->match = 1;
                i++;
            }
        } else if (p[i] == mp->delim[mp->match]) {
            i++;
            mp->match++;
            if (mp->match == mp->delim_len) {
                mp->match = 0;
                mp->virt = 0;
                mp->state = ST_AFTER_DELIM;
                break;
            }
        } else {
            /* The bytes matched were data after all; p[i] starts afresh. */
            if (is_data)
                rc = emit_data(mp, mp->delim + mp->virt, mp->match - mp->virt);
            mp->match = 0;
            mp->virt = 0;
        }
    }
    *used = i;
    return rc;
}

/* After a delimiter: optional spaces and tabs, then CRLF. */
static enum bp_rc padding(struct bp_multipart *mp, unsigned char c)
{
    if (is_wsp(c)) {
        mp->state = ST_PADDING;
        return BP_OK;
    }
    if (c == '\r') {
        mp->state = ST_DELIM_LF;
        return BP_OK;
    }
    return malformed(mp, "unexpected bytes after a boundary");
}

/* A byte of a header line. */
static enum bp_rc header_byte(struct bp_multipart *mp, unsigned char c)
{
    if (c == '\n')
        return malformed(mp, "part header line must end with CRLF");
    if (is_ctl(c) && c != '\t' && c != '\r')
        return malformed(mp, "control character in a part header");
    mp->state = c == '\r' ? ST_HEADER_LF : ST_HEADER_LINE;
    return append_header(mp, c);
}

/* Moves the byte-by-byte states (boundary lines, headers) on by c. */
static enum bp_rc step(struct bp_multipart *mp, unsigned char c)
{
    enum bp_rc rc;
    switch (mp->state) {
    case ST_AFTER_DELIM:
        if (c == '-') {
            mp->state = ST_CLOSE;
            return BP_OK;
        }
        return padding(mp, c);
    case ST_PADDING:
        return padding(mp, c);
    case ST_CLOSE:
        if (c != '-')
            return malformed(mp, "unexpected bytes after a boundary");
        mp->state = ST_EPILOGUE;
        return end_part(mp);
    case ST_DELIM_LF:
        if (c != '\n')
            return malformed(mp, "boundary line must end with CRLF");
        rc = end_part(mp);
        if (rc != BP_OK)
            return rc;
        return start_headers(mp);
    case ST_HEADER_START:
        if (c == '\r') {
            mp->state = ST_HEADERS_LF;
            return BP_OK;
        }
        return header_byte(mp, c);
    case ST_HEADER_LINE:
        return header_byte(mp, c);
    case ST_HEADER_LF:
        if (c != '\n')
            return malformed(mp, "part header line must end with CRLF");
        mp->state = ST_HEADER_START;
        return append_header(mp, c);
    case ST_HEADERS_LF:
        if (c != '\n')
            return malformed(mp, "part headers must end with CRLF");
        return begin_part(mp);
    case ST_PREAMBLE:
    case ST_DATA:
    case ST_EPILOGUE:
    case ST_FAILED:
        break;
    }
    return bp_error_set(&mp->error, BP_EINTERNAL,
                        "Multipart parser in an unexpected state");
}

/* Makes a failure final and copies its detail out. */
static enum bp_rc settle(struct bp_multipart *mp, enum bp_rc rc,
                         struct bp_error *err)
{
    if (rc == BP_OK)
        return BP_OK;
    mp->rc = rc;
    mp->state = ST_FAILED;
    if (err != NULL)
        *err = mp->error;
    return rc;
}

enum bp_rc bp_multipart_feed(struct bp_multipart *mp, const char *data,
                             size_t len, struct bp_error *err)
{
    assert(mp != NULL && (data != NULL || len == 0));
    enum bp_rc rc = mp->rc;
    size_t pos = 0;
    while (rc == BP_OK && pos < len) {
        size_t used = 1;
        switch (mp->state) {
        case ST_PREAMBLE:
        case ST_DATA:
            rc = scan(mp, data + pos, len - pos, &used);
            break;
        case ST_EPILOGUE:
            used = len - pos;
            break;
        default:
            rc = step(mp, (unsigned char)data[pos]);
            break;
        }
        pos += used;
    }
    return settle(mp, rc, err);
}

enum bp_rc bp_multipart_finish(struct bp_multipart *mp, struct bp_error *err)
{
    assert(mp != NULL);
    enum bp_rc rc = mp->rc;
    if (rc == BP_OK && mp->state == ST_PREAMBLE)
        rc = malformed(mp, "no boundary found");
    else if (rc == BP_OK && mp->state != ST_EPILOGUE)
        rc = malformed(mp, "body ends before the close delimiter");
    return settle(mp, rc, err);
}
