/*
 * ids.c: ObjectId-based ids through libbson.
 */
#include <ctype.h>
#include <string.h>

#include <bson/bson.h>

#include "model/ids.h"

void bp_id_new(char out[BP_ID_LEN + 1])
{
    bson_oid_t oid;
    bson_oid_init(&oid, NULL);
    bson_oid_to_string(&oid, out);
}

bool bp_id_parse(const char *text, char out[BP_ID_LEN + 1])
{
    if (text == NULL || strlen(text) != BP_ID_LEN)
        return false;
    for (size_t i = 0; i < BP_ID_LEN; i++)
        if (!isxdigit((unsigned char)text[i]))
            return false;
    for (size_t i = 0; i < BP_ID_LEN; i++)
        out[i] = (char)tolower((unsigned char)text[i]);
    out[BP_ID_LEN] = '\0';
    return true;
}
