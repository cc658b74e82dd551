/*
 * ids.h: resource ids. Every id is a 24-character lower-case hex
 * ObjectId made by libbson, whatever the backend, so ids look the same
 * on SQLite and on MongoDB.
 */
#ifndef BP_IDS_H
#define BP_IDS_H

#include <stdbool.h>

#define BP_ID_LEN 24

/* Writes a new id and its NUL terminator into out. */
void bp_id_new(char out[BP_ID_LEN + 1]);

/*
 * Returns true when text is exactly 24 hex digits; the id is then written
 * to out in lower case. out is untouched otherwise.
 */
bool bp_id_parse(const char *text, char out[BP_ID_LEN + 1]);

#endif
