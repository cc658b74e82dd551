/*
 * s3_xml.h: reading the two XML answers of S3 that Bandpics needs, a
 * ListObjectsV2 page and an error document, without an XML library. The
 * reader takes bytes and gives structs (no I/O), and accepts only the
 * subset of XML that S3 writes (elements, text, the five predefined
 * entities and numeric character references).
 */
#ifndef BP_S3_XML_H
#define BP_S3_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "rc.h"

/* One object of a listing. */
struct bp_s3_object {
    char *key; /* owned, entities decoded */
    off_t size;
    int64_t modified_ms; /* LastModified as Unix ms */
};

/* One page of ListObjectsV2. */
struct bp_s3_list_page {
    struct bp_s3_object *objects; /* owned; count entries */
    size_t count;
    bool truncated;           /* IsTruncated */
    char *continuation_token; /* owned NextContinuationToken, or NULL */
};

/*
 * Parses a ListObjectsV2Result document of len bytes into *out. Returns
 * BP_EINVAL for a document that is not one (with a detail), BP_ENOMEM.
 * On BP_OK the caller frees *out with bp_s3_list_page_free; on failure
 * nothing is left to free.
 */
enum bp_rc bp_s3_xml_parse_list(const char *xml, size_t len,
                                struct bp_s3_list_page *out,
                                struct bp_error *err);

/* Frees the contents of page and zeroes it; page may be NULL. */
void bp_s3_list_page_free(struct bp_s3_list_page *page);

/*
 * Copies the <Code> of an S3 <Error> document of len bytes into code (of
 * code_len bytes, truncated, always terminated). Returns false when the
 * document has no error code (code is then "").
 */
bool bp_s3_xml_error_code(const char *xml, size_t len, char *code,
                          size_t code_len);

#endif
