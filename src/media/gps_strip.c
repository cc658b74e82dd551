/*
 * gps_strip.c: removes GPS data from an image file without moving a
 * byte. It owns the walks over the containers (JPEG segments, PNG chunks,
 * RIFF chunks, ISO BMFF boxes with HEIF's item tables), the walk over the
 * IFDs of an EXIF TIFF block, the small XMP lexer that blanks GPS
 * properties, and writing the stripped copy of a file.
 *
 * The safety argument: every offset and length read from the file is
 * checked against the bounds of the block or container it belongs to
 * before it is used, every walk is capped (IFDs per block, images per
 * JPEG, items per HEIF file) and remembers where it has been, so a loop
 * ends; writes only ever zero a GPS IFD and the values its entries point
 * to, overwrite XMP text with spaces, re-encode hex digits of a PNG text
 * profile and refresh a PNG chunk's CRC. A GPS IFD that shares bytes with
 * the TIFF header or another IFD is refused (BP_EINVAL) instead of zeroed,
 * and so is a HEIF item that crosses a box boundary or another item, so
 * the rewrite cannot break the structure it keeps. (In a TIFF file the
 * pixels share the block: a crafted GPS value that points into the strip
 * data would be zeroed there; the pixel offsets are not cross-checked.) What no
 * reader can reach (an IFD offset past the end of its block) is left alone.
 * Maker notes are opaque vendor data and are not searched for GPS.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define ZLIB_CONST
#include <zlib.h>

#include "http/urldecode.h"
#include "media/gps_strip.h"
#include "media/jpeg_markers.h"

/* ---- TIFF ---- */
#define TIFF_HEADER_LEN 8
#define IFD_ENTRY_LEN 12
#define TAG_XMP 0x02bc
#define TAG_EXIF_IFD 0x8769
#define TAG_GPS_IFD 0x8825
#define TAG_INTEROP_IFD 0xa005
/* IFDs walked in one block (pages, thumbnails, EXIF and interop IFDs). */
#define MAX_IFDS 64
/* GPS IFDs one block may point to. */
#define MAX_GPS_IFDS 16
/* Values of one GPS IFD, remembered between checking and zeroing. */
#define MAX_GPS_VALUES 256

/* ---- JPEG ---- */
/* Images of one JPEG file: the primary and MPF images appended to it. */
#define MAX_JPEG_IMAGES 32
#define EXIF_ID "Exif\0\0"
#define EXIF_ID_LEN 6
#define XMP_ID "http://ns.adobe.com/xap/1.0/"
#define XMP_ID_LEN 29 /* with its NUL */
#define XMP_EXT_ID "http://ns.adobe.com/xmp/extension/"
#define XMP_EXT_ID_LEN 35 /* with its NUL */
/* Extended XMP: identifier, GUID (32), full length (4), offset (4). */
#define XMP_EXT_HEADER_LEN (XMP_EXT_ID_LEN + 32 + 4 + 4)
#define PHOTOSHOP_ID "Photoshop 3.0"
#define PHOTOSHOP_ID_LEN 14 /* with its NUL */
#define IRB_EXIF 0x0422
#define IRB_XMP 0x0424

/* ---- PNG ---- */
#define PNG_SIGNATURE "\x89PNG\r\n\x1a\n"
#define PNG_SIGNATURE_LEN 8
#define PNG_CHUNK_MAX 0x7fffffffu
#define PNG_KEYWORD_MAX 79
#define PNG_XMP_KEYWORD "XML:com.adobe.xmp"
/* A compressed text chunk inflates to no more than this. */
#define INFLATE_MAX ((size_t)64 * 1024 * 1024)

/* ---- HEIF ---- */
#define BOX_HEADER_LEN 8
#define FULL_BOX_HEADER_LEN 4
/* Exif and XMP items of one HEIF file. */
#define MAX_ITEMS 64
/* Bytes of HEIF's Exif item before the TIFF header's offset field. */
#define HEIF_EXIF_OFFSET_LEN 4

/* What a run of metadata bytes holds. */
enum payload {
    PAYLOAD_TIFF, /* a TIFF header and IFDs */
    PAYLOAD_EXIF, /* a TIFF block, maybe behind "Exif\0\0" */
    PAYLOAD_XMP,  /* XMP text */
};

/* The state of one strip. */
struct strip {
    struct bp_gps_strip_report report;
    struct bp_error *err;
};

/* A byte range [at, end) of a TIFF block. */
struct span {
    size_t at, end;
};

/* One EXIF TIFF block being walked. */
struct tiff {
    unsigned char *p;
    size_t len;
    bool big_endian;
    size_t ifds[MAX_IFDS]; /* IFDs to walk, in order found */
    bool chain[MAX_IFDS];  /* IFD0 or chained after it (else a sub-IFD) */
    struct span tables[MAX_IFDS];
    size_t n_ifds;
    size_t gps[MAX_GPS_IFDS]; /* GPS IFDs to empty */
    size_t n_gps;
    struct span xmp[MAX_IFDS]; /* XMP packets of tag 700 */
    size_t n_xmp;
};

/* A bounds-checked reader over a byte range; bad once it ran out. */
struct reader {
    const unsigned char *p;
    size_t len, at;
    bool bad;
};

/* One ISO BMFF box: its type and where its body lies in the file. */
struct box {
    char type[4];
    size_t body, len;
};

/* An Exif or XMP item of a HEIF file. */
struct heif_item {
    uint32_t id;
    enum payload kind;
    bool located;
    bool in_idat;   /* stored in the meta box's idat, else in the file */
    size_t at, len; /* where in the file, once located */
};

static enum bp_rc strip_payload(unsigned char *p, size_t len, enum payload kind,
                                struct strip *s);

/* ---- byte access ---- */

static uint32_t be16(const unsigned char *p)
{
    return ((uint32_t)p[0] << 8) | p[1];
}

static uint32_t be32(const unsigned char *p)
{
    return (be16(p) << 16) | be16(p + 2);
}

static uint32_t le32(const unsigned char *p)
{
    return ((uint32_t)p[3] << 24) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[1] << 8) | p[0];
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static bool starts_with(const unsigned char *p, size_t len, const char *prefix,
                        size_t prefix_len)
{
    return len >= prefix_len && memcmp(p, prefix, prefix_len) == 0;
}

/* Tells whether [at, at + n) lies within len bytes. */
static bool fits(size_t len, size_t at, size_t n)
{
    return at <= len && n <= len - at;
}

static bool spans_overlap(struct span a, struct span b)
{
    return a.at < b.end && b.at < a.end;
}

/* ---- XMP ---- */

static bool is_xml_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool ends_name(unsigned char c)
{
    return is_xml_space(c) || c == '=' || c == '>' || c == '/' || c == '<' ||
           c == '"' || c == '\'' || c == '\0';
}

/*
 * Tells whether the qualified name of n bytes at name is a GPS property:
 * a prefix (not xmlns) and a local name starting with "GPS" in any case
 * (exif:GPSLatitude, exifEX:GPSHPositioningError, drone-dji:GpsLatitude).
 */
static bool is_gps_name(const unsigned char *name, size_t n)
{
    const unsigned char *colon = memchr(name, ':', n);
    if (colon == NULL || colon == name)
        return false;
    size_t prefix = (size_t)(colon - name);
    if (prefix == 5 && memcmp(name, "xmlns", 5) == 0)
        return false;
    return n - prefix - 1 >= 3 &&
           strncasecmp((const char *)colon + 1, "gps", 3) == 0;
}

/* Returns the offset of needle in p[from, len), or len when absent. */
static size_t find(const unsigned char *p, size_t len, size_t from,
                   const char *needle, size_t needle_len)
{
    if (needle_len == 0 || from > len)
        return len;
    for (size_t i = from; len - i >= needle_len; i++)
        if (p[i] == (unsigned char)needle[0] &&
            memcmp(p + i, needle, needle_len) == 0)
            return i;
    return len;
}

/* Returns the offset just past needle in p[from, len), or len. */
static size_t skip_past(const unsigned char *p, size_t len, size_t from,
                        const char *needle)
{
    size_t n = strlen(needle);
    size_t at = find(p, len, from, needle, n);
    return at == len ? len : at + n;
}

static size_t skip_space(const unsigned char *p, size_t len, size_t at)
{
    while (at < len && is_xml_space(p[at]))
        at++;
    return at;
}

static size_t scan_name(const unsigned char *p, size_t len, size_t at)
{
    while (at < len && !ends_name(p[at]))
        at++;
    return at;
}

/*
 * Returns the offset just past the end tag of the element named by the
 * name_len bytes at name, searched from at, or len when there is none.
 */
static size_t find_end_tag(const unsigned char *p, size_t len, size_t at,
                           const unsigned char *name, size_t name_len)
{
    while (at < len) {
        at = find(p, len, at, "</", 2);
        if (at == len)
            return len;
        size_t after = at + 2;
        if (fits(len, after, name_len) &&
            memcmp(p + after, name, name_len) == 0) {
            size_t gt = skip_space(p, len, after + name_len);
            if (gt < len && p[gt] == '>')
                return gt + 1;
        }
        at = after;
    }
    return len;
}

/*
 * Walks the attributes of the start tag whose name ends at at, blanking
 * GPS attributes unless blank_attrs is false. Sets *closed and
 * *self_closing and returns the offset after the tag (or where it broke
 * off); adds the attributes blanked to *blanked.
 */
static size_t scan_attributes(unsigned char *p, size_t len, size_t at,
                              bool blank_attrs, bool *closed,
                              bool *self_closing, size_t *blanked)
{
    *closed = false;
    *self_closing = false;
    while (at < len) {
        at = skip_space(p, len, at);
        if (at >= len || p[at] == '<')
            return at;
        if (p[at] == '>') {
            *closed = true;
            return at + 1;
        }
        if (p[at] == '/' && at + 1 < len && p[at + 1] == '>') {
            *closed = true;
            *self_closing = true;
            return at + 2;
        }
        size_t name = at;
        at = scan_name(p, len, at);
        if (at == name) {
            at++; /* a stray character */
            continue;
        }
        size_t name_end = at;
        at = skip_space(p, len, at);
        if (at >= len || p[at] != '=')
            continue;
        at = skip_space(p, len, at + 1);
        if (at >= len || (p[at] != '"' && p[at] != '\''))
            continue;
        unsigned char quote = p[at];
        const unsigned char *close = memchr(p + at + 1, quote, len - at - 1);
        if (close == NULL)
            return len;
        size_t value_end = (size_t)(close - p) + 1;
        if (blank_attrs && is_gps_name(p + name, name_end - name)) {
            memset(p + name, ' ', value_end - name);
            (*blanked)++;
        }
        at = value_end;
    }
    return at;
}

/*
 * Overwrites with spaces every GPS property of the XMP text of len bytes
 * at p: attributes (exif:GPSLatitude="...") and elements
 * (<exif:GPSLatitude>...</exif:GPSLatitude>, or empty), so the packet
 * stays well-formed and keeps its length. Comments, CDATA, processing
 * instructions and end tags are stepped over. Returns the number of
 * properties blanked.
 */
static size_t blank_xmp(unsigned char *p, size_t len)
{
    size_t blanked = 0;
    size_t at = 0;
    while (at < len) {
        if (p[at] != '<') {
            at++;
            continue;
        }
        if (starts_with(p + at, len - at, "<!--", 4)) {
            at = skip_past(p, len, at + 4, "-->");
            continue;
        }
        if (starts_with(p + at, len - at, "<![CDATA[", 9)) {
            at = skip_past(p, len, at + 9, "]]>");
            continue;
        }
        if (starts_with(p + at, len - at, "<?", 2)) {
            at = skip_past(p, len, at + 2, "?>");
            continue;
        }
        if (starts_with(p + at, len - at, "<!", 2) ||
            starts_with(p + at, len - at, "</", 2)) {
            at = skip_past(p, len, at + 2, ">");
            continue;
        }
        size_t lt = at;
        size_t name_end = scan_name(p, len, lt + 1);
        bool gps = is_gps_name(p + lt + 1, name_end - lt - 1);
        bool closed, self_closing;
        size_t end = scan_attributes(p, len, name_end, !gps, &closed,
                                     &self_closing, &blanked);
        if (gps) {
            if (closed && !self_closing) {
                size_t close =
                    find_end_tag(p, len, end, p + lt + 1, name_end - lt - 1);
                /* No end tag: blank the text up to the next tag. */
                end = close < len ? close : find(p, len, end, "<", 1);
            }
            memset(p + lt, ' ', end - lt);
            blanked++;
        }
        at = end > lt ? end : lt + 1;
    }
    return blanked;
}

/* Blanks the GPS properties of one XMP packet and counts them. */
static void strip_xmp(unsigned char *p, size_t len, struct strip *s)
{
    s->report.xmp_packets++;
    s->report.xmp_properties += blank_xmp(p, len);
}

/* ---- TIFF ---- */

static uint32_t tiff16(const struct tiff *t, size_t at)
{
    const unsigned char *p = t->p + at;
    return t->big_endian ? be16(p) : ((uint32_t)p[1] << 8) | p[0];
}

static uint32_t tiff32(const struct tiff *t, size_t at)
{
    return t->big_endian ? be32(t->p + at) : le32(t->p + at);
}

/* Bytes of one component of a TIFF field type; 0 for an unknown type. */
static size_t type_size(uint32_t type)
{
    switch (type) {
    case 1: /* BYTE */
    case 2: /* ASCII */
    case 6: /* SBYTE */
    case 7: /* UNDEFINED */
        return 1;
    case 3: /* SHORT */
    case 8: /* SSHORT */
        return 2;
    case 4:  /* LONG */
    case 9:  /* SLONG */
    case 11: /* FLOAT */
    case 13: /* IFD */
        return 4;
    case 5:  /* RATIONAL */
    case 10: /* SRATIONAL */
    case 12: /* DOUBLE */
    case 16: /* LONG8 */
    case 17: /* SLONG8 */
    case 18: /* IFD8 */
        return 8;
    default:
        return 0;
    }
}

/*
 * Finds the bytes of the value of the entry at entry: inline or at the
 * offset it holds, clipped to the block. Returns false for an unknown
 * type or a value that starts outside the block.
 */
static bool entry_value(const struct tiff *t, size_t entry, struct span *out)
{
    size_t size = type_size(tiff16(t, entry + 2));
    uint64_t total = (uint64_t)size * tiff32(t, entry + 4);
    if (size == 0)
        return false;
    if (total <= 4) {
        out->at = entry + 8;
        out->end = entry + 8 + (size_t)total;
        return true;
    }
    size_t at = tiff32(t, entry + 8);
    if (at >= t->len)
        return false;
    out->at = at;
    out->end = total < t->len - at ? at + (size_t)total : t->len;
    return true;
}

/* Tells whether an IFD can start at offset at (its count fits). */
static bool ifd_reachable(const struct tiff *t, uint32_t at)
{
    return at >= TIFF_HEADER_LEN && fits(t->len, at, 2);
}

/*
 * Queues the IFD at offset at for walking, once; chain tells whether it
 * is IFD0 or follows it, so that its next-IFD offset is followed too.
 */
static enum bp_rc queue_ifd(struct tiff *t, uint32_t at, bool chain,
                            struct strip *s)
{
    if (!ifd_reachable(t, at))
        return BP_OK;
    for (size_t i = 0; i < t->n_ifds; i++)
        if (t->ifds[i] == at)
            return BP_OK;
    if (t->n_ifds == MAX_IFDS)
        return bp_error_set(s->err, BP_EINVAL,
                            "an EXIF block has more than %d IFDs", MAX_IFDS);
    t->chain[t->n_ifds] = chain;
    t->ifds[t->n_ifds++] = at;
    return BP_OK;
}

static enum bp_rc queue_gps(struct tiff *t, uint32_t at, struct strip *s)
{
    for (size_t i = 0; i < t->n_gps; i++)
        if (t->gps[i] == at)
            return BP_OK;
    if (t->n_gps == MAX_GPS_IFDS)
        return bp_error_set(s->err, BP_EINVAL,
                            "an EXIF block has more than %d GPS IFDs",
                            MAX_GPS_IFDS);
    t->gps[t->n_gps++] = at;
    return BP_OK;
}

/* The number of whole entries of the IFD at at that lie in the block. */
static size_t ifd_entries(const struct tiff *t, size_t at)
{
    size_t count = tiff16(t, at);
    size_t room = (t->len - at - 2) / IFD_ENTRY_LEN;
    return count < room ? count : room;
}

/*
 * Walks the IFD number i: records its table, queues the IFDs its
 * entries point to (and the next one in IFD0's chain) and the GPS IFDs,
 * and notes its XMP packet.
 */
static enum bp_rc walk_ifd(struct tiff *t, size_t i, struct strip *s)
{
    size_t at = t->ifds[i];
    size_t n = ifd_entries(t, at);
    size_t next = at + 2 + n * IFD_ENTRY_LEN;
    bool whole = n == tiff16(t, at) && fits(t->len, next, 4);
    enum bp_rc rc = BP_OK;

    t->tables[i].at = at;
    t->tables[i].end = whole ? next + 4 : next;
    for (size_t e = 0; e < n && rc == BP_OK; e++) {
        size_t entry = at + 2 + e * IFD_ENTRY_LEN;
        uint32_t tag = tiff16(t, entry);
        /* Readers take a sub-IFD offset whatever the declared type. */
        uint32_t value = tiff32(t, entry + 8);
        struct span xmp;
        if (tag == TAG_GPS_IFD)
            rc = queue_gps(t, value, s);
        else if (tag == TAG_EXIF_IFD || tag == TAG_INTEROP_IFD)
            rc = queue_ifd(t, value, false, s);
        else if (tag == TAG_XMP && entry_value(t, entry, &xmp) &&
                 xmp.end - xmp.at > 4 && t->n_xmp < MAX_IFDS)
            t->xmp[t->n_xmp++] = xmp;
    }
    if (rc == BP_OK && whole && t->chain[i])
        rc = queue_ifd(t, tiff32(t, next), true, s);
    return rc;
}

/* Tells whether r overlaps the TIFF header or an IFD table of t. */
static bool hits_structure(const struct tiff *t, struct span r)
{
    struct span header = {0, TIFF_HEADER_LEN};
    if (spans_overlap(r, header))
        return true;
    for (size_t i = 0; i < t->n_ifds; i++)
        if (spans_overlap(r, t->tables[i]))
            return true;
    return false;
}

/*
 * Tells whether any of the n entries of the IFD at at has the number of
 * a GPS tag (1 to 31; 0 is only the version).
 */
static bool has_gps_tag(const struct tiff *t, size_t at, size_t n)
{
    for (size_t e = 0; e < n; e++) {
        uint32_t tag = tiff16(t, at + 2 + e * IFD_ENTRY_LEN);
        if (tag >= 1 && tag <= 31)
            return true;
    }
    return false;
}

/*
 * Empties the GPS IFD at at: zeroes the values its entries point to, its
 * entries and its next-IFD offset, and sets its count to 0. Refuses a
 * GPS IFD or value that shares bytes with the header or another IFD,
 * unless the IFD holds no GPS tag (a writer that pointed the GPS IFD at
 * the EXIF IFD: read as GPS, it says nothing).
 */
static enum bp_rc empty_gps_ifd(struct tiff *t, size_t at, struct strip *s)
{
    struct span values[MAX_GPS_VALUES];
    size_t n_values = 0;

    if (!fits(t->len, at, 2))
        return BP_OK; /* out of the block: no reader finds it */
    size_t count = tiff16(t, at);
    size_t n = ifd_entries(t, at);
    size_t table_len = 2 + count * IFD_ENTRY_LEN + 4;
    struct span table = {at,
                         fits(t->len, at, table_len) ? at + table_len : t->len};
    if (hits_structure(t, table)) {
        /* Read as a GPS IFD, these bytes hold no GPS tag: nothing leaks. */
        if (!has_gps_tag(t, at, n))
            return BP_OK;
        return bp_error_set(s->err, BP_EINVAL,
                            "the GPS IFD of an EXIF block overlaps another "
                            "IFD");
    }
    if (n > MAX_GPS_VALUES)
        return bp_error_set(s->err, BP_EINVAL,
                            "a GPS IFD has more than %d entries",
                            MAX_GPS_VALUES);
    for (size_t e = 0; e < n; e++) {
        size_t entry = at + 2 + e * IFD_ENTRY_LEN;
        struct span v;
        if (!entry_value(t, entry, &v))
            continue; /* an unknown type, or nowhere in the block */
        if (hits_structure(t, v))
            return bp_error_set(s->err, BP_EINVAL,
                                "a GPS value of an EXIF block overlaps an "
                                "IFD");
        values[n_values++] = v;
    }
    for (size_t i = 0; i < n_values; i++)
        memset(t->p + values[i].at, 0, values[i].end - values[i].at);
    memset(t->p + at, 0, table.end - at);
    if (count > 0)
        s->report.gps_ifds++;
    return BP_OK;
}

/*
 * Removes the GPS data of the TIFF block of len bytes at p: empties
 * every GPS IFD that IFD0, the IFDs chained after it and their EXIF and
 * interoperability IFDs point to, and blanks the GPS properties of the
 * XMP packets of tag 700. A block without a TIFF header is no EXIF to
 * any reader and is left alone; BigTIFF is refused.
 */
static enum bp_rc strip_tiff(unsigned char *p, size_t len, struct strip *s)
{
    struct tiff *t;
    enum bp_rc rc = BP_OK;

    if (starts_with(p, len, "II+\0", 4) || starts_with(p, len, "MM\0+", 4))
        return bp_error_set(s->err, BP_EUNSUPPORTED,
                            "BigTIFF metadata cannot be rewritten");
    if (len < TIFF_HEADER_LEN ||
        (!starts_with(p, len, "II*\0", 4) && !starts_with(p, len, "MM\0*", 4)))
        return BP_OK;
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return bp_error_set(s->err, BP_ENOMEM, "out of memory stripping GPS");
    t->p = p;
    t->len = len;
    t->big_endian = p[0] == 'M';
    s->report.exif_blocks++;
    rc = queue_ifd(t, tiff32(t, 4), true, s);
    for (size_t i = 0; i < t->n_ifds && rc == BP_OK; i++)
        rc = walk_ifd(t, i, s);
    for (size_t i = 0; i < t->n_gps && rc == BP_OK; i++)
        rc = empty_gps_ifd(t, t->gps[i], s);
    for (size_t i = 0; i < t->n_xmp && rc == BP_OK; i++) {
        if (hits_structure(t, t->xmp[i]))
            continue; /* not text: a tag 700 pointing into an IFD */
        strip_xmp(p + t->xmp[i].at, t->xmp[i].end - t->xmp[i].at, s);
    }
    free(t);
    return rc;
}

/*
 * Strips one run of metadata bytes: a TIFF block, an EXIF block that may
 * open with "Exif\0\0", or an XMP packet.
 */
static enum bp_rc strip_payload(unsigned char *p, size_t len, enum payload kind,
                                struct strip *s)
{
    switch (kind) {
    case PAYLOAD_EXIF:
        if (starts_with(p, len, EXIF_ID, EXIF_ID_LEN))
            return strip_tiff(p + EXIF_ID_LEN, len - EXIF_ID_LEN, s);
        return strip_tiff(p, len, s);
    case PAYLOAD_TIFF:
        return strip_tiff(p, len, s);
    case PAYLOAD_XMP:
        strip_xmp(p, len, s);
        return BP_OK;
    }
    return BP_OK;
}

/* ---- JPEG ---- */

/*
 * Strips the EXIF and XMP resources of the Photoshop image resource
 * block of an APP13 segment. A block that stops making sense ends the
 * walk: no reader gets further either.
 */
static enum bp_rc strip_photoshop(unsigned char *p, size_t len, struct strip *s)
{
    size_t at = 0;
    while (fits(len, at, 4 + 2 + 1) && memcmp(p + at, "8BIM", 4) == 0) {
        uint32_t id = be16(p + at + 4);
        size_t name_len = p[at + 6];
        size_t name_room = (1 + name_len + 1) & ~(size_t)1;
        size_t size_at = at + 6 + name_room;
        if (!fits(len, size_at, 4))
            break;
        size_t size = be32(p + size_at);
        size_t body = size_at + 4;
        if (!fits(len, body, size))
            break;
        enum bp_rc rc = BP_OK;
        if (id == IRB_EXIF)
            rc = strip_payload(p + body, size, PAYLOAD_EXIF, s);
        else if (id == IRB_XMP)
            rc = strip_payload(p + body, size, PAYLOAD_XMP, s);
        if (rc != BP_OK)
            return rc;
        at = body + size + (size & 1);
    }
    return BP_OK;
}

/* Strips one APP1 or APP13 segment body, by the identifier it opens with. */
static enum bp_rc strip_jpeg_segment(unsigned char marker, unsigned char *p,
                                     size_t len, struct strip *s)
{
    if (marker == JPEG_APP1 && starts_with(p, len, EXIF_ID, EXIF_ID_LEN))
        return strip_payload(p + EXIF_ID_LEN, len - EXIF_ID_LEN, PAYLOAD_TIFF,
                             s);
    if (marker == JPEG_APP1 && starts_with(p, len, XMP_ID, XMP_ID_LEN))
        return strip_payload(p + XMP_ID_LEN, len - XMP_ID_LEN, PAYLOAD_XMP, s);
    if (marker == JPEG_APP1 &&
        starts_with(p, len, XMP_EXT_ID, XMP_EXT_ID_LEN) &&
        len >= XMP_EXT_HEADER_LEN)
        return strip_payload(p + XMP_EXT_HEADER_LEN, len - XMP_EXT_HEADER_LEN,
                             PAYLOAD_XMP, s);
    if (marker == JPEG_APP13 &&
        starts_with(p, len, PHOTOSHOP_ID, PHOTOSHOP_ID_LEN))
        return strip_photoshop(p + PHOTOSHOP_ID_LEN, len - PHOTOSHOP_ID_LEN, s);
    return BP_OK;
}

/*
 * Returns the offset of the marker that ends the entropy-coded data
 * starting at at (0xff followed by neither a stuffed 0, a restart
 * marker nor a fill byte), or len.
 */
static size_t skip_entropy_data(const unsigned char *p, size_t len, size_t at)
{
    while (at < len) {
        const unsigned char *ff = memchr(p + at, JPEG_MARKER, len - at);
        if (ff == NULL)
            return len;
        at = (size_t)(ff - p);
        if (at + 1 >= len)
            return len;
        unsigned char next = p[at + 1];
        if (next == JPEG_MARKER)
            at++;
        else if (next == 0 || (next >= JPEG_RST0 && next <= JPEG_RST7))
            at += 2;
        else
            return at;
    }
    return len;
}

/*
 * Walks the segments of the JPEG image whose SOI is at at, through its
 * scans, stripping the metadata segments, and sets *end past its EOI
 * (or to len when the data ends first).
 */
static enum bp_rc strip_jpeg_image(unsigned char *p, size_t len, size_t at,
                                   size_t *end, struct strip *s)
{
    bool scanned = false; /* past the first SOS */
    at += 2;
    while (at < len) {
        if (p[at] != JPEG_MARKER || !fits(len, at, 2))
            goto broken;
        while (at < len && p[at] == JPEG_MARKER)
            at++;
        if (at >= len)
            break;
        unsigned char marker = p[at++];
        if (marker == JPEG_EOI) {
            *end = at;
            return BP_OK;
        }
        if (marker == JPEG_SOI || marker == JPEG_TEM ||
            (marker >= JPEG_RST0 && marker <= JPEG_RST7))
            continue;
        if (marker == 0 || !fits(len, at, 2))
            goto broken;
        size_t seg_len = be16(p + at);
        if (seg_len < 2 || !fits(len, at, seg_len))
            goto broken;
        enum bp_rc rc = strip_jpeg_segment(marker, p + at + 2, seg_len - 2, s);
        if (rc != BP_OK)
            return rc;
        at += seg_len;
        if (marker == JPEG_SOS) {
            at = skip_entropy_data(p, len, at);
            scanned = true;
        }
    }
    *end = len;
    return BP_OK;
broken:
    /*
     * Readers stop at the first SOS: a broken stretch after it (corrupt
     * scan data) ends the walk, before it the file cannot be walked.
     */
    if (!scanned)
        return bp_error_set(s->err, BP_EINVAL,
                            "a JPEG segment is broken or runs past the end "
                            "of the file");
    *end = len;
    return BP_OK;
}

/*
 * Strips every image of a JPEG file: the primary one and the images
 * (MPF) that follow its EOI, after any padding.
 */
static enum bp_rc strip_jpeg(unsigned char *p, size_t len, struct strip *s)
{
    size_t at = 0;
    for (int images = 0;; images++) {
        /* Padding between images: zeros and fill bytes. */
        while (images > 0 && at < len &&
               (p[at] == 0 || (p[at] == JPEG_MARKER &&
                               !(at + 1 < len && p[at + 1] == JPEG_SOI))))
            at++;
        if (!fits(len, at, 2) || p[at] != JPEG_MARKER ||
            p[at + 1] != JPEG_SOI) {
            if (images == 0)
                return bp_error_set(s->err, BP_EINVAL,
                                    "the data is no JPEG (no SOI)");
            return BP_OK;
        }
        if (images == MAX_JPEG_IMAGES)
            return bp_error_set(s->err, BP_EUNSUPPORTED,
                                "a JPEG file holds more than %d images",
                                MAX_JPEG_IMAGES);
        enum bp_rc rc = strip_jpeg_image(p, len, at, &at, s);
        if (rc != BP_OK)
            return rc;
    }
}

/* ---- PNG ---- */

static bool is_raw_profile(const unsigned char *keyword, size_t n,
                           enum payload *kind)
{
    static const char prefix[] = "Raw profile type ";
    size_t plen = sizeof(prefix) - 1;
    if (n < plen || memcmp(keyword, prefix, plen) != 0)
        return false;
    const unsigned char *type = keyword + plen;
    size_t tlen = n - plen;
    if ((tlen == 4 && memcmp(type, "exif", 4) == 0) ||
        (tlen == 4 && memcmp(type, "APP1", 4) == 0)) {
        *kind = PAYLOAD_EXIF;
        return true;
    }
    if (tlen == 3 && memcmp(type, "xmp", 3) == 0) {
        *kind = PAYLOAD_XMP;
        return true;
    }
    return false;
}

/*
 * Finds where the hex digits of an ImageMagick raw profile start:
 * "\n<type>\n<spaces><decimal length>\n<hex lines>". Returns false when
 * the text does not have that shape.
 */
static bool raw_profile_hex(const unsigned char *text, size_t len, size_t *at)
{
    size_t i = skip_space(text, len, 0);
    size_t type = i;
    while (i < len && !is_xml_space(text[i]))
        i++;
    if (i == type)
        return false;
    i = skip_space(text, len, i);
    size_t digits = i;
    while (i < len && text[i] >= '0' && text[i] <= '9')
        i++;
    if (i == digits || i >= len || !is_xml_space(text[i]))
        return false;
    *at = i;
    return true;
}

/*
 * Strips the raw profile of the len bytes at text (hex digits): decodes
 * them, strips the decoded payload, and writes back the digits of the
 * bytes that changed when writable; when not (a compressed chunk),
 * refuses a profile that holds GPS.
 */
static enum bp_rc strip_raw_profile(unsigned char *text, size_t len,
                                    enum payload kind, bool writable,
                                    struct strip *s)
{
    static const char digits[] = "0123456789abcdef";
    size_t start, n = 0;
    if (!raw_profile_hex(text, len, &start))
        return BP_OK; /* not a profile any reader decodes */
    for (size_t i = start; i < len; i++) {
        if (bp_hex_value((char)text[i]) >= 0)
            n++;
        else if (!is_xml_space(text[i]) && text[i] != '\0')
            return BP_OK;
    }
    n /= 2;
    unsigned char *bytes = malloc(n > 0 ? 2 * n : 1);
    if (bytes == NULL)
        return bp_error_set(s->err, BP_ENOMEM, "out of memory stripping GPS");
    unsigned char *stripped = bytes + n;
    size_t k = 0;
    int high = -1;
    for (size_t i = start; i < len && k < n; i++) {
        int v = bp_hex_value((char)text[i]);
        if (v < 0)
            continue;
        if (high < 0) {
            high = v;
        } else {
            bytes[k++] = (unsigned char)(high << 4 | v);
            high = -1;
        }
    }
    memcpy(stripped, bytes, n);
    struct strip inner = {{0}, s->err};
    enum bp_rc rc = strip_payload(stripped, n, kind, &inner);
    if (rc != BP_OK)
        goto out_free;
    if (!writable) {
        if (memcmp(stripped, bytes, n) != 0)
            rc = bp_error_set(s->err, BP_EUNSUPPORTED,
                              "a compressed PNG text chunk holds GPS data");
        goto out_free;
    }
    s->report.exif_blocks += inner.report.exif_blocks;
    s->report.gps_ifds += inner.report.gps_ifds;
    s->report.xmp_packets += inner.report.xmp_packets;
    s->report.xmp_properties += inner.report.xmp_properties;
    k = 0;
    for (size_t i = start; i < len && k < n; i++) {
        if (bp_hex_value((char)text[i]) < 0)
            continue;
        size_t j = i + 1;
        while (j < len && bp_hex_value((char)text[j]) < 0)
            j++;
        if (j >= len)
            break; /* cannot happen: 2n digits were counted */
        if (stripped[k] != bytes[k]) {
            text[i] = (unsigned char)digits[stripped[k] >> 4];
            text[j] = (unsigned char)digits[stripped[k] & 15];
        }
        k++;
        i = j;
    }
out_free:
    free(bytes);
    return rc;
}

/*
 * Inflates the zlib stream of len bytes at p into a new buffer (freed by
 * the caller) of at most INFLATE_MAX bytes.
 */
static enum bp_rc inflate_all(const unsigned char *p, size_t len,
                              unsigned char **out, size_t *out_len,
                              struct strip *s)
{
    z_stream z;
    size_t cap = len < INFLATE_MAX / 4 ? 4 * len + 64 : INFLATE_MAX;
    unsigned char *buf = malloc(cap);
    enum bp_rc rc = BP_OK;
    if (buf == NULL)
        return bp_error_set(s->err, BP_ENOMEM, "out of memory stripping GPS");
    memset(&z, 0, sizeof(z));
    if (inflateInit(&z) != Z_OK) {
        free(buf);
        return bp_error_set(s->err, BP_ENOMEM, "out of memory stripping GPS");
    }
    z.next_in = p;
    z.avail_in = len > UINT_MAX ? UINT_MAX : (unsigned)len;
    for (;;) {
        z.next_out = buf + z.total_out;
        z.avail_out =
            (unsigned)(cap - z.total_out > UINT_MAX ? UINT_MAX
                                                    : cap - z.total_out);
        int zrc = inflate(&z, Z_NO_FLUSH);
        if (zrc == Z_STREAM_END)
            break;
        if (zrc != Z_OK && zrc != Z_BUF_ERROR) {
            rc = bp_error_set(s->err, BP_EINVAL,
                              "a compressed PNG text chunk is corrupt");
            goto out_end;
        }
        if (z.avail_out > 0) {
            rc = bp_error_set(s->err, BP_EINVAL,
                              "a compressed PNG text chunk is cut short");
            goto out_end;
        }
        if (cap == INFLATE_MAX) {
            rc = bp_error_set(s->err, BP_EUNSUPPORTED,
                              "a compressed PNG text chunk is too large");
            goto out_end;
        }
        size_t grown = cap < INFLATE_MAX / 2 ? 2 * cap : INFLATE_MAX;
        unsigned char *bigger = realloc(buf, grown);
        if (bigger == NULL) {
            rc = bp_error_set(s->err, BP_ENOMEM, "out of memory stripping GPS");
            goto out_end;
        }
        buf = bigger;
        cap = grown;
    }
    *out = buf;
    *out_len = z.total_out;
    buf = NULL;
out_end:
    inflateEnd(&z);
    free(buf);
    return rc;
}

/*
 * Checks the compressed text of a PNG chunk: a raw profile or XMP packet
 * that holds GPS cannot be rewritten at the same size, so it is refused.
 */
static enum bp_rc check_compressed(const unsigned char *p, size_t len,
                                   bool raw_profile, enum payload kind,
                                   struct strip *s)
{
    unsigned char *text = NULL;
    size_t text_len = 0;
    enum bp_rc rc = inflate_all(p, len, &text, &text_len, s);
    if (rc != BP_OK)
        return rc;
    if (raw_profile) {
        rc = strip_raw_profile(text, text_len, kind, false, s);
    } else if (blank_xmp(text, text_len) > 0) {
        rc = bp_error_set(s->err, BP_EUNSUPPORTED,
                          "a compressed PNG XMP chunk holds GPS data");
    }
    free(text);
    return rc;
}

/*
 * Strips a tEXt, zTXt or iTXt chunk of len bytes at p when its keyword
 * names metadata: an ImageMagick raw profile (exif, APP1, xmp) or XMP.
 */
static enum bp_rc strip_png_text(const unsigned char *type, unsigned char *p,
                                 size_t len, struct strip *s)
{
    const unsigned char *nul = memchr(p, 0, len < 80 ? len : 80);
    enum payload kind = PAYLOAD_XMP;
    if (nul == NULL)
        return BP_OK; /* no keyword: no reader takes it for metadata */
    size_t klen = (size_t)(nul - p);
    size_t at = klen + 1;
    bool raw = is_raw_profile(p, klen, &kind);
    bool xmp = klen == sizeof(PNG_XMP_KEYWORD) - 1 &&
               memcmp(p, PNG_XMP_KEYWORD, klen) == 0;
    if (memcmp(type, "tEXt", 4) == 0)
        return raw ? strip_raw_profile(p + at, len - at, kind, true, s) : BP_OK;
    if (memcmp(type, "zTXt", 4) == 0) {
        if (!raw || !fits(len, at, 1))
            return BP_OK;
        return check_compressed(p + at + 1, len - at - 1, true, kind, s);
    }
    /* iTXt: compression flag and method, language, translated keyword. */
    if ((!raw && !xmp) || !fits(len, at, 2))
        return BP_OK;
    bool compressed = p[at] != 0;
    at += 2;
    for (int field = 0; field < 2; field++) {
        const unsigned char *end = memchr(p + at, 0, len - at);
        if (end == NULL)
            return BP_OK;
        at = (size_t)(end - p) + 1;
    }
    if (compressed)
        return check_compressed(p + at, len - at, raw, kind, s);
    if (raw)
        return strip_raw_profile(p + at, len - at, kind, true, s);
    strip_xmp(p + at, len - at, s);
    return BP_OK;
}

/*
 * Walks the chunks of a PNG file up to IEND, stripping eXIf and the
 * metadata text chunks, and refreshes the CRC of a chunk that changed.
 */
static enum bp_rc strip_png(unsigned char *p, size_t len, struct strip *s)
{
    if (!starts_with(p, len, PNG_SIGNATURE, PNG_SIGNATURE_LEN))
        return bp_error_set(s->err, BP_EINVAL, "the data is no PNG");
    size_t at = PNG_SIGNATURE_LEN;
    while (at < len) {
        if (!fits(len, at, 12))
            return bp_error_set(s->err, BP_EINVAL, "a PNG chunk is cut short");
        uint32_t size = be32(p + at);
        if (size > PNG_CHUNK_MAX || !fits(len, at + 12, size))
            return bp_error_set(s->err, BP_EINVAL,
                                "a PNG chunk runs past the end of the file");
        const unsigned char *type = p + at + 4;
        unsigned char *body = p + at + 8;
        bool text = memcmp(type, "tEXt", 4) == 0 ||
                    memcmp(type, "zTXt", 4) == 0 ||
                    memcmp(type, "iTXt", 4) == 0;
        if (text || memcmp(type, "eXIf", 4) == 0) {
            uLong before = crc32(crc32(0, type, 4), body, size);
            enum bp_rc rc = text ? strip_png_text(type, body, size, s)
                                 : strip_payload(body, size, PAYLOAD_EXIF, s);
            if (rc != BP_OK)
                return rc;
            uLong after = crc32(crc32(0, type, 4), body, size);
            if (after != before)
                put_be32(body + size, (uint32_t)after);
        }
        at += 12 + (size_t)size;
        if (memcmp(type, "IEND", 4) == 0)
            break;
    }
    return BP_OK;
}

/* ---- WebP ---- */

/* Walks the chunks of a WebP (RIFF) file, stripping EXIF and "XMP ". */
static enum bp_rc strip_webp(unsigned char *p, size_t len, struct strip *s)
{
    if (len < 12 || memcmp(p, "RIFF", 4) != 0 || memcmp(p + 8, "WEBP", 4) != 0)
        return bp_error_set(s->err, BP_EINVAL, "the data is no WebP");
    size_t riff_end = (size_t)le32(p + 4);
    size_t end = riff_end < len - 8 ? 8 + riff_end : len;
    size_t at = 12;
    while (fits(end, at, 8)) {
        size_t size = le32(p + at + 4);
        if (!fits(end, at + 8, size))
            return bp_error_set(s->err, BP_EINVAL,
                                "a WebP chunk runs past the end of the file");
        unsigned char *body = p + at + 8;
        enum bp_rc rc = BP_OK;
        if (memcmp(p + at, "EXIF", 4) == 0)
            rc = strip_payload(body, size, PAYLOAD_EXIF, s);
        else if (memcmp(p + at, "XMP ", 4) == 0)
            rc = strip_payload(body, size, PAYLOAD_XMP, s);
        if (rc != BP_OK)
            return rc;
        at += 8 + size + (size & 1);
    }
    return BP_OK;
}

/* ---- HEIF ---- */

static uint64_t read_uint(struct reader *r, size_t n)
{
    uint64_t v = 0;
    if (!fits(r->len, r->at, n)) {
        r->bad = true;
        r->at = r->len;
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        v = v << 8 | r->p[r->at + i];
    r->at += n;
    return v;
}

/* An iloc field is 0, 4 or 8 bytes wide. */
static bool field_size_ok(size_t n)
{
    return n == 0 || n == 4 || n == 8;
}

/*
 * Reads the box at *at of data[0, end) into *out and moves *at past it.
 * Returns false at the end; sets *bad for a box that does not fit.
 */
static bool next_box(const unsigned char *data, size_t end, size_t *at,
                     struct box *out, bool *bad)
{
    if (*at >= end)
        return false;
    if (end - *at < BOX_HEADER_LEN) {
        *bad = true;
        return false;
    }
    const unsigned char *p = data + *at;
    uint64_t size = be32(p);
    size_t header = BOX_HEADER_LEN;
    if (size == 1) {
        if (end - *at < 16) {
            *bad = true;
            return false;
        }
        size = ((uint64_t)be32(p + 8) << 32) | be32(p + 12);
        header = 16;
    } else if (size == 0) {
        size = end - *at;
    }
    if (size < header || size > end - *at) {
        *bad = true;
        return false;
    }
    memcpy(out->type, p + 4, 4);
    out->body = *at + header;
    out->len = (size_t)size - header;
    *at += (size_t)size;
    return true;
}

/* Notes the Exif and XMP items that the iinf box (body at body) lists. */
static enum bp_rc read_iinf(const unsigned char *data, struct box iinf,
                            struct heif_item *items, size_t *n_items,
                            struct strip *s)
{
    if (iinf.len < FULL_BOX_HEADER_LEN + 2)
        return bp_error_set(s->err, BP_EINVAL, "a HEIF iinf box is too short");
    size_t at =
        iinf.body + FULL_BOX_HEADER_LEN + (data[iinf.body] == 0 ? 2 : 4);
    size_t end = iinf.body + iinf.len;
    struct box infe;
    bool bad = false;
    if (at > end)
        return bp_error_set(s->err, BP_EINVAL, "a HEIF iinf box is too short");
    while (next_box(data, end, &at, &infe, &bad)) {
        if (memcmp(infe.type, "infe", 4) != 0)
            continue;
        struct reader r = {data + infe.body, infe.len, 0, false};
        uint64_t version = read_uint(&r, 1);
        read_uint(&r, 3);
        if (version < 2)
            continue; /* no item type: no Exif item */
        uint32_t id = (uint32_t)read_uint(&r, version == 2 ? 2 : 4);
        read_uint(&r, 2); /* protection index */
        if (!fits(r.len, r.at, 4))
            return bp_error_set(s->err, BP_EINVAL,
                                "a HEIF infe box is too short");
        const unsigned char *type = r.p + r.at;
        r.at += 4;
        enum payload kind;
        if (memcmp(type, "Exif", 4) == 0) {
            kind = PAYLOAD_TIFF;
        } else if (memcmp(type, "mime", 4) == 0) {
            const unsigned char *name = memchr(r.p + r.at, 0, r.len - r.at);
            if (name == NULL)
                continue;
            size_t ct = (size_t)(name - r.p) + 1;
            static const char rdf[] = "application/rdf+xml";
            if (!fits(r.len, ct, sizeof(rdf)) ||
                memcmp(r.p + ct, rdf, sizeof(rdf)) != 0)
                continue;
            kind = PAYLOAD_XMP;
        } else {
            continue;
        }
        if (*n_items == MAX_ITEMS)
            return bp_error_set(s->err, BP_EUNSUPPORTED,
                                "a HEIF file has more than %d metadata items",
                                MAX_ITEMS);
        items[(*n_items)++] =
            (struct heif_item){.id = id, .kind = kind, .located = false};
    }
    if (bad)
        return bp_error_set(s->err, BP_EINVAL, "a HEIF iinf box is broken");
    return BP_OK;
}

/* Strips one located item: an Exif item opens with the TIFF offset. */
static enum bp_rc strip_item(unsigned char *p, size_t len,
                             const struct heif_item *item, struct strip *s)
{
    if (item->kind == PAYLOAD_XMP)
        return strip_payload(p, len, PAYLOAD_XMP, s);
    if (len < HEIF_EXIF_OFFSET_LEN)
        return bp_error_set(s->err, BP_EINVAL, "a HEIF Exif item is too short");
    size_t offset = be32(p);
    if (!fits(len - HEIF_EXIF_OFFSET_LEN, offset, 0))
        return bp_error_set(s->err, BP_EINVAL,
                            "a HEIF Exif item's TIFF offset is out of range");
    size_t tiff = HEIF_EXIF_OFFSET_LEN + offset;
    return strip_payload(p + tiff, len - tiff, PAYLOAD_TIFF, s);
}

/*
 * Reads the iloc box and locates every noted item: in the file
 * (construction method 0) or in the idat box (method 1), as one extent.
 * Anything else cannot be located for an in-place rewrite.
 */
static enum bp_rc read_iloc(const unsigned char *data, size_t len,
                            struct box iloc, const struct box *idat,
                            struct heif_item *items, size_t n_items,
                            struct strip *s)
{
    struct reader r = {data + iloc.body, iloc.len, 0, false};
    uint64_t version = read_uint(&r, 1);
    read_uint(&r, 3);
    uint64_t sizes = read_uint(&r, 1);
    uint64_t sizes2 = read_uint(&r, 1);
    size_t offset_size = (size_t)(sizes >> 4), length_size = sizes & 15;
    size_t base_size = (size_t)(sizes2 >> 4);
    size_t index_size = version == 1 || version == 2 ? sizes2 & 15 : 0;
    if (version > 2)
        return bp_error_set(s->err, BP_EUNSUPPORTED,
                            "HEIF iloc version %u is not supported",
                            (unsigned)version);
    if (!field_size_ok(offset_size) || !field_size_ok(length_size) ||
        !field_size_ok(base_size) || !field_size_ok(index_size))
        return bp_error_set(s->err, BP_EINVAL, "a HEIF iloc box is broken");
    uint64_t count = read_uint(&r, version < 2 ? 2 : 4);
    for (uint64_t i = 0; i < count && !r.bad; i++) {
        uint32_t id = (uint32_t)read_uint(&r, version < 2 ? 2 : 4);
        uint64_t method = version > 0 ? read_uint(&r, 2) & 15 : 0;
        uint64_t data_ref = read_uint(&r, 2);
        uint64_t base = read_uint(&r, base_size);
        uint64_t extents = read_uint(&r, 2);
        uint64_t offset = 0, length = 0;
        /* Extents of no bytes at all need no reading (nor 65535 turns). */
        bool empty = index_size + offset_size + length_size == 0;
        for (uint64_t e = 0; e < extents && !r.bad && !empty; e++) {
            read_uint(&r, index_size);
            offset = read_uint(&r, offset_size);
            length = read_uint(&r, length_size);
        }
        if (r.bad)
            break;
        struct heif_item *item = NULL;
        for (size_t k = 0; k < n_items; k++)
            if (items[k].id == id && !items[k].located)
                item = &items[k];
        if (item == NULL)
            continue;
        if (extents != 1 || data_ref != 0 || method > 1)
            return bp_error_set(s->err, BP_EUNSUPPORTED,
                                "a HEIF metadata item is not stored as one "
                                "piece");
        size_t src_at = 0, src_len = len;
        if (method == 1) {
            if (idat == NULL)
                return bp_error_set(s->err, BP_EINVAL,
                                    "a HEIF item refers to a missing idat");
            src_at = idat->body;
            src_len = idat->len;
        }
        if (offset > UINT64_MAX - base || base + offset > src_len)
            return bp_error_set(s->err, BP_EINVAL,
                                "a HEIF item lies outside the file");
        size_t at = (size_t)(base + offset);
        if (length == 0)
            length = src_len - at; /* to the end of its source */
        if (length > src_len - at)
            return bp_error_set(s->err, BP_EINVAL,
                                "a HEIF item lies outside the file");
        item->located = true;
        item->in_idat = method == 1;
        item->at = src_at + at;
        item->len = (size_t)length;
    }
    if (r.bad)
        return bp_error_set(s->err, BP_EINVAL, "a HEIF iloc box is cut short");
    return BP_OK;
}

/*
 * Checks that item i lies inside one top-level box other than meta (or
 * in idat) and shares no byte with an item before it, so that rewriting
 * it cannot change a box or another item.
 */
static enum bp_rc check_item_place(const unsigned char *p, size_t len,
                                   const struct heif_item *items, size_t i,
                                   struct strip *s)
{
    const struct heif_item *item = &items[i];
    struct span r = {item->at, item->at + item->len};
    for (size_t k = 0; k < i; k++) {
        struct span other = {items[k].at, items[k].at + items[k].len};
        if (spans_overlap(r, other))
            return bp_error_set(s->err, BP_EINVAL,
                                "two HEIF metadata items overlap");
    }
    if (item->in_idat)
        return BP_OK;
    struct box box;
    size_t at = 0;
    bool bad = false;
    while (next_box(p, len, &at, &box, &bad))
        if (memcmp(box.type, "meta", 4) != 0 && r.at >= box.body &&
            r.end <= box.body + box.len)
            return BP_OK;
    return bp_error_set(s->err, BP_EINVAL,
                        "a HEIF metadata item crosses a box boundary");
}

/*
 * Strips the Exif and XMP items of a HEIF file: the top-level meta box's
 * iinf names them, its iloc places them.
 */
static enum bp_rc strip_heif(unsigned char *p, size_t len, struct strip *s)
{
    struct heif_item items[MAX_ITEMS];
    size_t n_items = 0;
    struct box box = {0}, meta = {0}, iinf = {0}, iloc = {0}, idat = {0};
    bool bad = false, has_meta = false, has_iinf = false, has_iloc = false,
         has_idat = false;
    size_t at = 0;
    enum bp_rc rc;

    while (next_box(p, len, &at, &box, &bad))
        if (memcmp(box.type, "meta", 4) == 0 && !has_meta) {
            meta = box;
            has_meta = true;
        }
    if (bad)
        return bp_error_set(s->err, BP_EINVAL, "a HEIF box is broken");
    if (!has_meta)
        return BP_OK; /* no items, no Exif */
    if (meta.len < FULL_BOX_HEADER_LEN)
        return bp_error_set(s->err, BP_EINVAL, "the HEIF meta box is broken");
    at = meta.body + FULL_BOX_HEADER_LEN;
    while (next_box(p, meta.body + meta.len, &at, &box, &bad)) {
        if (memcmp(box.type, "iinf", 4) == 0 && !has_iinf) {
            iinf = box;
            has_iinf = true;
        } else if (memcmp(box.type, "iloc", 4) == 0 && !has_iloc) {
            iloc = box;
            has_iloc = true;
        } else if (memcmp(box.type, "idat", 4) == 0 && !has_idat) {
            idat = box;
            has_idat = true;
        }
    }
    if (bad)
        return bp_error_set(s->err, BP_EINVAL, "the HEIF meta box is broken");
    if (!has_iinf)
        return BP_OK;
    rc = read_iinf(p, iinf, items, &n_items, s);
    if (rc != BP_OK || n_items == 0)
        return rc;
    if (!has_iloc)
        return bp_error_set(s->err, BP_EUNSUPPORTED,
                            "the HEIF metadata items cannot be located");
    rc = read_iloc(p, len, iloc, has_idat ? &idat : NULL, items, n_items, s);
    if (rc != BP_OK)
        return rc;
    for (size_t i = 0; i < n_items; i++) {
        if (!items[i].located)
            return bp_error_set(s->err, BP_EUNSUPPORTED,
                                "a HEIF metadata item cannot be located");
        rc = check_item_place(p, len, items, i, s);
        if (rc != BP_OK)
            return rc;
    }
    for (size_t i = 0; i < n_items && rc == BP_OK; i++)
        rc = strip_item(p + items[i].at, items[i].len, &items[i], s);
    return rc;
}

/* ---- entry points ---- */

enum bp_rc bp_gps_strip_buffer(unsigned char *data, size_t len,
                               enum bp_image_format format,
                               struct bp_gps_strip_report *out,
                               struct bp_error *err)
{
    struct strip s = {{0}, err};
    enum bp_rc rc;

    if (data == NULL && len > 0)
        return bp_error_set(err, BP_EINVAL, "no data to strip");
    switch (format) {
    case BP_IMAGE_JPEG:
        rc = strip_jpeg(data, len, &s);
        break;
    case BP_IMAGE_PNG:
        rc = strip_png(data, len, &s);
        break;
    case BP_IMAGE_WEBP:
        rc = strip_webp(data, len, &s);
        break;
    case BP_IMAGE_TIFF:
        if (len < TIFF_HEADER_LEN || (!starts_with(data, len, "II", 2) &&
                                      !starts_with(data, len, "MM", 2)))
            return bp_error_set(err, BP_EINVAL, "the data is no TIFF");
        if (!starts_with(data, len, "II*\0", 4) &&
            !starts_with(data, len, "MM\0*", 4) &&
            !starts_with(data, len, "II+\0", 4) &&
            !starts_with(data, len, "MM\0+", 4))
            return bp_error_set(err, BP_EINVAL, "the data is no TIFF");
        rc = strip_tiff(data, len, &s);
        break;
    case BP_IMAGE_HEIC:
    case BP_IMAGE_HEIF:
        rc = strip_heif(data, len, &s);
        break;
    case BP_IMAGE_UNKNOWN:
    default:
        return bp_error_set(err, BP_EUNSUPPORTED,
                            "GPS data cannot be removed from this format");
    }
    if (rc == BP_OK && out != NULL)
        *out = s.report;
    return rc;
}

/* Reads the whole regular file at path, up to cap bytes. */
static enum bp_rc read_file(const char *path, size_t cap, unsigned char **out,
                            size_t *out_len, struct bp_error *err)
{
    struct stat st;
    unsigned char *data = NULL;
    enum bp_rc rc = BP_OK;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return bp_error_set(err, errno == ENOENT ? BP_ENOTFOUND : BP_EIO,
                            "cannot open the image: %s", strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = bp_error_set(err, BP_EIO, "the image is no regular file");
        goto out_close;
    }
    if ((uintmax_t)st.st_size > cap) {
        rc = bp_error_set(err, BP_ETOOBIG, "the image is larger than %zu bytes",
                          cap);
        goto out_close;
    }
    size_t len = (size_t)st.st_size;
    data = malloc(len > 0 ? len : 1);
    if (data == NULL) {
        rc = bp_error_set(err, BP_ENOMEM, "out of memory reading the image");
        goto out_close;
    }
    for (size_t done = 0; done < len;) {
        ssize_t got = read(fd, data + done, len - done);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            rc = bp_error_set(err, BP_EIO, "cannot read the image: %s",
                              got < 0 ? strerror(errno) : "it shrank");
            goto out_free;
        }
        done += (size_t)got;
    }
    *out = data;
    *out_len = len;
    data = NULL;
out_free:
    free(data);
out_close:
    close(fd);
    return rc;
}

/* Flushes the directory of path, so that a rename is durable. */
static void sync_parent(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t n = slash == NULL ? 0 : (size_t)(slash - path);
    if (n == 0 && slash != NULL)
        n = 1; /* the root */
    if (n >= sizeof(dir))
        return;
    if (n == 0) {
        dir[0] = '.';
        n = 1;
    } else {
        memcpy(dir, path, n);
    }
    dir[n] = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/*
 * Writes the len bytes at data to path through a temporary file beside
 * it, flushed and renamed over path; removes the temporary on failure.
 */
static enum bp_rc write_atomic(const char *path, const unsigned char *data,
                               size_t len, struct bp_error *err)
{
    char temp[PATH_MAX];
    int n = snprintf(temp, sizeof(temp), "%s.gps-XXXXXX", path);
    if (n < 0 || (size_t)n >= sizeof(temp))
        return bp_error_set(err, BP_EINVAL, "the target path is too long");
    int fd = mkostemp(temp, O_CLOEXEC);
    if (fd < 0)
        return bp_error_set(err, bp_rc_for_write_errno(errno, BP_EIO),
                            "cannot create the copy: %s", strerror(errno));
    enum bp_rc rc = BP_OK;
    if (fchmod(fd, 0640) != 0)
        goto out_io;
    for (size_t done = 0; done < len;) {
        ssize_t put = write(fd, data + done, len - done);
        if (put < 0 && errno == EINTR)
            continue;
        if (put <= 0)
            goto out_io;
        done += (size_t)put;
    }
    if (fsync(fd) != 0)
        goto out_io;
    int closed = close(fd);
    fd = -1;
    if (closed != 0 || rename(temp, path) != 0)
        goto out_io;
    sync_parent(path);
    return BP_OK;
out_io:
    rc = bp_error_set(err, bp_rc_for_write_errno(errno, BP_EIO),
                      "cannot write the copy: %s", strerror(errno));
    if (fd >= 0)
        close(fd);
    unlink(temp);
    return rc;
}

enum bp_rc bp_gps_strip_file(const char *src_path, const char *dst_path,
                             enum bp_image_format format, size_t max_len,
                             struct bp_gps_strip_report *out,
                             struct bp_error *err)
{
    struct bp_gps_strip_report report;
    unsigned char *data = NULL;
    size_t len = 0;
    enum bp_rc rc =
        read_file(src_path, max_len > 0 ? max_len : BP_GPS_STRIP_FILE_MAX,
                  &data, &len, err);
    if (rc != BP_OK)
        return rc;
    rc = bp_gps_strip_buffer(data, len, format, &report, err);
    if (rc != BP_OK)
        goto out_free;
    /* Nothing removed: no copy, which would be the source again. */
    if (report.gps_ifds + report.xmp_properties > 0)
        rc = write_atomic(dst_path, data, len, err);
    if (rc == BP_OK && out != NULL)
        *out = report;
out_free:
    free(data);
    return rc;
}
