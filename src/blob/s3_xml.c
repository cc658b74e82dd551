/*
 * s3_xml.c: a small pull reader for the XML subset S3 writes, and the two
 * documents read with it, a ListObjectsV2 page (<ListBucketResult>) and
 * an <Error>. The reader walks the bytes once without recursion, keeps
 * the open elements on a fixed-size stack, decodes the predefined
 * entities and character references, and refuses DTDs, CDATA and
 * anything malformed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blob/s3_xml.h"
#include "buf.h"
#include "http/urldecode.h"
#include "model/timeutil.h"

/* S3's documents are three levels deep; Owner/ID in a listing is four. */
#define MAX_DEPTH 16
/* Longest element name echoed back in an error detail. */
#define NAME_SHOWN 40

/* An element name: a slice of the document. */
struct name {
    const char *at;
    size_t len;
};

/* An open element. */
struct open_element {
    struct name name;
    bool has_child;
};

enum event {
    EV_START, /* an element opened; r->name, r->depth counts it */
    EV_END,   /* an element closed; r->name, r->text, r->has_child */
    EV_DONE,  /* the root element closed and only whitespace followed */
};

struct reader {
    const char *xml;
    size_t len;
    size_t pos;
    struct open_element stack[MAX_DEPTH];
    size_t depth;
    bool root_seen;
    bool self_closed; /* the last start tag ended in "/>" */
    bool reset_text;  /* the text belongs to the element just left */
    struct name name;
    bool has_child;
    struct bp_buf text; /* character data since the last tag, decoded */
};

/* One listing's fields while its <Contents> is open. */
struct contents {
    struct bp_s3_object object;
    bool has_size;
    bool has_modified;
};

static void reader_init(struct reader *r, const char *xml, size_t len)
{
    memset(r, 0, sizeof(*r));
    r->xml = xml;
    r->len = len;
    bp_buf_init(&r->text, 0);
}

static void reader_free(struct reader *r)
{
    bp_buf_free(&r->text);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_name_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
           c == ':';
}

static bool is_name_char(char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/* True when the document continues with the string lit at r->pos. */
static bool looking_at(const struct reader *r, const char *lit)
{
    size_t n = strlen(lit);
    return r->len - r->pos >= n && memcmp(r->xml + r->pos, lit, n) == 0;
}

/* Moves r->pos past the next occurrence of lit; false when there is none. */
static bool skip_past(struct reader *r, const char *lit)
{
    size_t n = strlen(lit);
    for (size_t i = r->pos; r->len - i >= n; i++) {
        if (memcmp(r->xml + i, lit, n) == 0) {
            r->pos = i + n;
            return true;
        }
    }
    return false;
}

static void skip_space(struct reader *r)
{
    while (r->pos < r->len && is_space(r->xml[r->pos]))
        r->pos++;
}

/* Reads a name at r->pos into *n; false when there is none. */
static bool read_name(struct reader *r, struct name *n)
{
    size_t start = r->pos;
    if (r->pos >= r->len || !is_name_start(r->xml[r->pos]))
        return false;
    while (r->pos < r->len && is_name_char(r->xml[r->pos]))
        r->pos++;
    n->at = r->xml + start;
    n->len = r->pos - start;
    return true;
}

/* True when the local part of n (after any prefix) is lit. */
static bool name_is(const struct name *n, const char *lit)
{
    const char *colon = memchr(n->at, ':', n->len);
    const char *local = colon != NULL ? colon + 1 : n->at;
    size_t len = n->len - (size_t)(local - n->at);
    return len == strlen(lit) && memcmp(local, lit, len) == 0;
}

static int shown_len(const struct name *n)
{
    return (int)(n->len < NAME_SHOWN ? n->len : NAME_SHOWN);
}

/* Appends code point cp as UTF-8. */
static enum bp_rc append_utf8(struct bp_buf *out, uint32_t cp)
{
    unsigned char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xc0 | (cp >> 6));
        b[1] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xe0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        b[0] = (unsigned char)(0xf0 | (cp >> 18));
        b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        b[3] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return bp_buf_append(out, b, n);
}

/*
 * Decodes the reference between '&' and ';' (body, len bytes: "amp",
 * "#65", "#x41") into out. Character references must name a character:
 * not NUL, not a surrogate, at most U+10FFFF.
 */
static enum bp_rc append_reference(const char *body, size_t len,
                                   struct bp_buf *out, struct bp_error *err)
{
    static const struct {
        const char *name;
        char value;
    } named[] = {
        {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
        if (len == strlen(named[i].name) &&
            memcmp(body, named[i].name, len) == 0)
            return bp_buf_append(out, &named[i].value, 1);
    if (len < 2 || body[0] != '#')
        return bp_error_set(err, BP_EINVAL, "S3 XML: unknown entity");
    bool hex = body[1] == 'x';
    size_t i = hex ? 2 : 1;
    uint32_t cp = 0;
    if (i == len)
        return bp_error_set(err, BP_EINVAL, "S3 XML: empty reference");
    for (; i < len; i++) {
        int digit =
            hex ? bp_hex_value(body[i])
                : (body[i] >= '0' && body[i] <= '9' ? body[i] - '0' : -1);
        if (digit < 0)
            return bp_error_set(err, BP_EINVAL, "S3 XML: bad reference");
        cp = cp * (hex ? 16 : 10) + (uint32_t)digit;
        if (cp > 0x10ffff)
            return bp_error_set(err, BP_EINVAL,
                                "S3 XML: reference out of range");
    }
    if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
        return bp_error_set(err, BP_EINVAL,
                            "S3 XML: reference to a non-character");
    return append_utf8(out, cp);
}

/*
 * Reads character data up to the next '<' or the end. Outside the root
 * only whitespace may appear; inside, references are decoded into
 * r->text and raw control characters other than tab, CR and LF refused.
 */
static enum bp_rc read_text(struct reader *r, struct bp_error *err)
{
    while (r->pos < r->len && r->xml[r->pos] != '<') {
        unsigned char c = (unsigned char)r->xml[r->pos];
        enum bp_rc rc;
        if (r->depth == 0) {
            if (!is_space((char)c))
                return bp_error_set(err, BP_EINVAL,
                                    "S3 XML: text outside the root element");
            r->pos++;
            continue;
        }
        if (c < 0x20 && !is_space((char)c))
            return bp_error_set(err, BP_EINVAL,
                                "S3 XML: control character in text");
        if (c == '&') {
            const char *body = r->xml + r->pos + 1;
            size_t avail = r->len - r->pos - 1;
            const char *semi = memchr(body, ';', avail < 16 ? avail : 16);
            if (semi == NULL)
                return bp_error_set(err, BP_EINVAL,
                                    "S3 XML: unterminated entity");
            rc = append_reference(body, (size_t)(semi - body), &r->text, err);
            r->pos += (size_t)(semi - body) + 2;
        } else {
            rc = bp_buf_append(&r->text, &c, 1);
            r->pos++;
        }
        if (rc != BP_OK)
            return rc;
    }
    return BP_OK;
}

/* Skips the attributes of a start tag up to and past its '>' or "/>". */
static enum bp_rc read_attributes(struct reader *r, struct bp_error *err)
{
    for (;;) {
        size_t before = r->pos;
        skip_space(r);
        if (looking_at(r, "/>")) {
            r->pos += 2;
            r->self_closed = true;
            return BP_OK;
        }
        if (looking_at(r, ">")) {
            r->pos++;
            return BP_OK;
        }
        struct name attr;
        if (r->pos == before || !read_name(r, &attr))
            return bp_error_set(err, BP_EINVAL, "S3 XML: malformed tag");
        skip_space(r);
        if (!looking_at(r, "="))
            return bp_error_set(err, BP_EINVAL, "S3 XML: malformed attribute");
        r->pos++;
        skip_space(r);
        if (r->pos >= r->len ||
            (r->xml[r->pos] != '"' && r->xml[r->pos] != '\''))
            return bp_error_set(err, BP_EINVAL, "S3 XML: malformed attribute");
        char quote = r->xml[r->pos++];
        while (r->pos < r->len && r->xml[r->pos] != quote) {
            if (r->xml[r->pos] == '<')
                return bp_error_set(err, BP_EINVAL,
                                    "S3 XML: '<' in an attribute");
            r->pos++;
        }
        if (r->pos >= r->len)
            return bp_error_set(err, BP_EINVAL,
                                "S3 XML: unterminated attribute");
        r->pos++;
    }
}

/* Reads a start tag after its '<' and pushes the element. */
static enum bp_rc read_start_tag(struct reader *r, struct bp_error *err)
{
    struct name n;
    if (r->root_seen && r->depth == 0)
        return bp_error_set(err, BP_EINVAL,
                            "S3 XML: content after the root element");
    if (r->depth == MAX_DEPTH)
        return bp_error_set(err, BP_EINVAL, "S3 XML: nested too deeply");
    if (!read_name(r, &n))
        return bp_error_set(err, BP_EINVAL, "S3 XML: malformed tag");
    r->self_closed = false;
    enum bp_rc rc = read_attributes(r, err);
    if (rc != BP_OK)
        return rc;
    if (r->depth > 0)
        r->stack[r->depth - 1].has_child = true;
    r->stack[r->depth].name = n;
    r->stack[r->depth].has_child = false;
    r->depth++;
    r->root_seen = true;
    r->name = n;
    return BP_OK;
}

/* Pops the innermost element into r->name and r->has_child. */
static void pop(struct reader *r)
{
    r->depth--;
    r->name = r->stack[r->depth].name;
    r->has_child = r->stack[r->depth].has_child;
}

/* Reads an end tag after its "</"; it must close the innermost element. */
static enum bp_rc read_end_tag(struct reader *r, struct bp_error *err)
{
    struct name n;
    if (!read_name(r, &n))
        return bp_error_set(err, BP_EINVAL, "S3 XML: malformed end tag");
    skip_space(r);
    if (!looking_at(r, ">"))
        return bp_error_set(err, BP_EINVAL, "S3 XML: malformed end tag");
    r->pos++;
    if (r->depth == 0)
        return bp_error_set(err, BP_EINVAL, "S3 XML: unexpected end tag");
    const struct name *open = &r->stack[r->depth - 1].name;
    if (open->len != n.len || memcmp(open->at, n.at, n.len) != 0)
        return bp_error_set(err, BP_EINVAL, "S3 XML: </%.*s> closes <%.*s>",
                            shown_len(&n), n.at, shown_len(open), open->at);
    pop(r);
    return BP_OK;
}

/*
 * Reads up to the next event. Comments, processing instructions (the
 * XML declaration among them) and a leading byte-order mark are skipped.
 */
static enum bp_rc reader_next(struct reader *r, enum event *ev,
                              struct bp_error *err)
{
    enum bp_rc rc;
    if (r->reset_text) {
        bp_buf_reset(&r->text);
        r->reset_text = false;
    }
    if (r->self_closed) {
        r->self_closed = false;
        pop(r);
        r->reset_text = true;
        *ev = EV_END;
        return BP_OK;
    }
    if (r->pos == 0 && looking_at(r, "\xef\xbb\xbf"))
        r->pos += 3;
    for (;;) {
        if ((rc = read_text(r, err)) != BP_OK)
            return rc;
        if (r->pos == r->len) {
            if (r->depth > 0)
                return bp_error_set(err, BP_EINVAL,
                                    "S3 XML: <%.*s> is not closed",
                                    shown_len(&r->stack[r->depth - 1].name),
                                    r->stack[r->depth - 1].name.at);
            if (!r->root_seen)
                return bp_error_set(err, BP_EINVAL, "S3 XML: no element");
            *ev = EV_DONE;
            return BP_OK;
        }
        if (looking_at(r, "<?")) {
            if (!skip_past(r, "?>"))
                return bp_error_set(err, BP_EINVAL,
                                    "S3 XML: unterminated declaration");
        } else if (looking_at(r, "<!--")) {
            r->pos += 4;
            if (!skip_past(r, "-->"))
                return bp_error_set(err, BP_EINVAL,
                                    "S3 XML: unterminated comment");
        } else if (looking_at(r, "<!")) {
            return bp_error_set(err, BP_EINVAL,
                                "S3 XML: DTD and CDATA are not accepted");
        } else if (looking_at(r, "</")) {
            r->pos += 2;
            if ((rc = read_end_tag(r, err)) != BP_OK)
                return rc;
            r->reset_text = true;
            *ev = EV_END;
            return BP_OK;
        } else {
            r->pos++;
            if ((rc = read_start_tag(r, err)) != BP_OK)
                return rc;
            bp_buf_reset(&r->text);
            *ev = EV_START;
            return BP_OK;
        }
    }
}

/* Returns the text of the element just closed without surrounding space. */
static struct name trimmed_text(const struct reader *r)
{
    struct name t = {r->text.data != NULL ? r->text.data : "", r->text.len};
    while (t.len > 0 && is_space(t.at[0])) {
        t.at++;
        t.len--;
    }
    while (t.len > 0 && is_space(t.at[t.len - 1]))
        t.len--;
    return t;
}

/* Copies len bytes at text into a new string in *out. */
static enum bp_rc dup_text(const char *text, size_t len, char **out)
{
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return BP_ENOMEM;
    memcpy(copy, text, len);
    copy[len] = '\0';
    *out = copy;
    return BP_OK;
}

/* Parses a decimal Size (no sign) into *out. */
static bool parse_size(struct name t, off_t *out)
{
    const int64_t max = sizeof(off_t) >= 8 ? INT64_MAX : INT32_MAX;
    int64_t value = 0;
    if (t.len == 0)
        return false;
    for (size_t i = 0; i < t.len; i++) {
        if (t.at[i] < '0' || t.at[i] > '9')
            return false;
        int digit = t.at[i] - '0';
        if (value > (max - digit) / 10)
            return false;
        value = value * 10 + digit;
    }
    *out = (off_t)value;
    return true;
}

/*
 * Parses a LastModified of the form S3 writes, YYYY-MM-DDTHH:MM:SS with
 * an optional fraction and a final 'Z', into Unix milliseconds.
 */
static bool parse_modified(struct name t, int64_t *out_ms)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    char text[40];
    size_t n = sizeof(shape) - 1;
    if (t.len < n + 1 || t.len >= sizeof(text) || t.at[t.len - 1] != 'Z')
        return false;
    for (size_t i = 0; i < n; i++) {
        bool ok = shape[i] == 'd' ? t.at[i] >= '0' && t.at[i] <= '9'
                                  : t.at[i] == shape[i];
        if (!ok)
            return false;
    }
    if (t.len > n + 1) {
        if (t.at[n] != '.' || t.len == n + 2)
            return false;
        for (size_t i = n + 1; i < t.len - 1; i++)
            if (t.at[i] < '0' || t.at[i] > '9')
                return false;
    }
    memcpy(text, t.at, t.len);
    text[t.len] = '\0';
    return bp_time_parse_iso(text, out_ms) == BP_OK;
}

void bp_s3_list_page_free(struct bp_s3_list_page *page)
{
    if (page == NULL)
        return;
    for (size_t i = 0; i < page->count; i++)
        free(page->objects[i].key);
    free(page->objects);
    free(page->continuation_token);
    memset(page, 0, sizeof(*page));
}

/* Appends object to page, which takes its key. */
static enum bp_rc add_object(struct bp_s3_list_page *page, size_t *cap,
                             const struct bp_s3_object *object)
{
    if (page->count == *cap) {
        size_t grown = *cap == 0 ? 16 : *cap * 2;
        if (grown > SIZE_MAX / sizeof(*page->objects))
            return BP_ENOMEM;
        struct bp_s3_object *objects =
            realloc(page->objects, grown * sizeof(*page->objects));
        if (objects == NULL)
            return BP_ENOMEM;
        page->objects = objects;
        *cap = grown;
    }
    page->objects[page->count++] = *object;
    return BP_OK;
}

/* Takes in the field of <Contents> that r has just closed. */
static enum bp_rc read_contents_field(const struct reader *r,
                                      struct contents *c, struct bp_error *err)
{
    bool wanted = name_is(&r->name, "Key") || name_is(&r->name, "Size") ||
                  name_is(&r->name, "LastModified");
    if (wanted && r->has_child)
        return bp_error_set(err, BP_EINVAL, "S3 listing: <%.*s> holds elements",
                            shown_len(&r->name), r->name.at);
    if (name_is(&r->name, "Key")) {
        if (c->object.key != NULL)
            return bp_error_set(err, BP_EINVAL, "S3 listing: two Keys");
        if (r->text.len == 0 || !bp_utf8_valid(r->text.data, r->text.len))
            return bp_error_set(err, BP_EINVAL, "S3 listing: bad Key");
        if (dup_text(r->text.data, r->text.len, &c->object.key) != BP_OK)
            return bp_error_set(err, BP_ENOMEM, "S3 listing: out of memory");
    } else if (name_is(&r->name, "Size")) {
        if (c->has_size || !parse_size(trimmed_text(r), &c->object.size))
            return bp_error_set(err, BP_EINVAL, "S3 listing: bad Size");
        c->has_size = true;
    } else if (name_is(&r->name, "LastModified")) {
        if (c->has_modified ||
            !parse_modified(trimmed_text(r), &c->object.modified_ms))
            return bp_error_set(err, BP_EINVAL, "S3 listing: bad LastModified");
        c->has_modified = true;
    }
    return BP_OK;
}

/* Takes in the child of the root that r has just closed. */
static enum bp_rc read_result_field(const struct reader *r,
                                    struct bp_s3_list_page *page,
                                    bool *seen_truncated, struct bp_error *err)
{
    bool wanted = name_is(&r->name, "IsTruncated") ||
                  name_is(&r->name, "NextContinuationToken");
    if (wanted && r->has_child)
        return bp_error_set(err, BP_EINVAL, "S3 listing: <%.*s> holds elements",
                            shown_len(&r->name), r->name.at);
    if (name_is(&r->name, "IsTruncated")) {
        struct name t = trimmed_text(r);
        bool yes = t.len == 4 && memcmp(t.at, "true", 4) == 0;
        bool no = t.len == 5 && memcmp(t.at, "false", 5) == 0;
        if (*seen_truncated || (!yes && !no))
            return bp_error_set(err, BP_EINVAL, "S3 listing: bad IsTruncated");
        page->truncated = yes;
        *seen_truncated = true;
    } else if (name_is(&r->name, "NextContinuationToken")) {
        if (page->continuation_token != NULL || r->text.len == 0 ||
            !bp_utf8_valid(r->text.data, r->text.len))
            return bp_error_set(err, BP_EINVAL,
                                "S3 listing: bad NextContinuationToken");
        if (dup_text(r->text.data, r->text.len, &page->continuation_token) !=
            BP_OK)
            return bp_error_set(err, BP_ENOMEM, "S3 listing: out of memory");
    }
    return BP_OK;
}

enum bp_rc bp_s3_xml_parse_list(const char *xml, size_t len,
                                struct bp_s3_list_page *out,
                                struct bp_error *err)
{
    struct reader r;
    struct bp_s3_list_page page = {0};
    struct contents c = {0};
    size_t cap = 0;
    bool in_contents = false, seen_truncated = false;
    enum event ev;
    enum bp_rc rc;
    reader_init(&r, xml, len);
    for (;;) {
        if ((rc = reader_next(&r, &ev, err)) != BP_OK)
            goto out_free_page;
        if (ev == EV_DONE)
            break;
        if (ev == EV_START) {
            if (r.depth == 1 && name_is(&r.name, "Error")) {
                rc = bp_error_set(err, BP_EINVAL,
                                  "S3 listing: an error document");
                goto out_free_page;
            }
            if (r.depth == 1 && !name_is(&r.name, "ListBucketResult")) {
                rc = bp_error_set(err, BP_EINVAL,
                                  "S3 listing: unexpected root <%.*s>",
                                  shown_len(&r.name), r.name.at);
                goto out_free_page;
            }
            if (r.depth == 2 && name_is(&r.name, "Contents")) {
                memset(&c, 0, sizeof(c));
                in_contents = true;
            }
            continue;
        }
        /* An end: the element closed was at level r.depth + 1. */
        if (r.depth == 2 && in_contents) {
            rc = read_contents_field(&r, &c, err);
        } else if (r.depth == 1 && in_contents) {
            in_contents = false;
            if (c.object.key == NULL || !c.has_size || !c.has_modified) {
                rc = bp_error_set(err, BP_EINVAL,
                                  "S3 listing: Contents without Key, Size "
                                  "or LastModified");
                goto out_free_page;
            }
            if (add_object(&page, &cap, &c.object) != BP_OK) {
                rc = bp_error_set(err, BP_ENOMEM, "S3 listing: out of memory");
                goto out_free_page;
            }
            c.object.key = NULL;
        } else if (r.depth == 1) {
            rc = read_result_field(&r, &page, &seen_truncated, err);
        }
        if (rc != BP_OK)
            goto out_free_page;
    }
    if (page.truncated && page.continuation_token == NULL) {
        rc = bp_error_set(err, BP_EINVAL,
                          "S3 listing: truncated without a continuation token");
        goto out_free_page;
    }
    *out = page;
    memset(&page, 0, sizeof(page));
    rc = BP_OK;
out_free_page:
    free(c.object.key);
    bp_s3_list_page_free(&page);
    reader_free(&r);
    return rc;
}

bool bp_s3_xml_error_code(const char *xml, size_t len, char *code,
                          size_t code_len)
{
    struct reader r;
    struct bp_buf found;
    bool has_code = false, ok = false;
    enum event ev;
    if (code != NULL && code_len > 0)
        code[0] = '\0';
    reader_init(&r, xml, len);
    bp_buf_init(&found, 0);
    for (;;) {
        if (reader_next(&r, &ev, NULL) != BP_OK)
            goto out_free_found;
        if (ev == EV_DONE)
            break;
        if (ev == EV_START && r.depth == 1 && !name_is(&r.name, "Error"))
            goto out_free_found;
        if (ev == EV_END && r.depth == 1 && name_is(&r.name, "Code") &&
            !r.has_child && !has_code) {
            struct name t = trimmed_text(&r);
            if (t.len == 0 || bp_buf_append(&found, t.at, t.len) != BP_OK)
                goto out_free_found;
            has_code = true;
        }
    }
    ok = has_code;
    if (ok && code != NULL && code_len > 0) {
        size_t n = found.len < code_len - 1 ? found.len : code_len - 1;
        memcpy(code, found.data, n);
        code[n] = '\0';
    }
out_free_found:
    bp_buf_free(&found);
    reader_free(&r);
    return ok;
}
