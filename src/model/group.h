/*
 * group.h: the image group record as the store keeps it, and the set of
 * changes a create or an update asks for.
 */
#ifndef BP_GROUP_H
#define BP_GROUP_H

#include <stdbool.h>
#include <stdint.h>

#include "model/ids.h"
#include "model/principal.h"

struct bp_group {
    char id[BP_ID_LEN + 1];
    char *name;                /* owned, never NULL once filled */
    char *description;         /* owned; NULL is JSON null */
    char event[BP_ID_LEN + 1]; /* "" is JSON null */
    int64_t created_at;        /* ms since the epoch */
    int64_t updated_at;
    /* Who made it (a principal id); "" for groups made before owners
     * were kept, which only admins change. JSON null. */
    char owner[BP_PRINCIPAL_ID_MAX + 1];
    /* Coordinates of its images are shown only to their owners and
     * admins ("location": "hidden"), or to everyone ("public"). */
    bool location_hidden;
};

/*
 * The fields a request sets. Strings are borrowed from whatever the
 * request was parsed from. A field whose set_ flag is false is left as
 * it is (or takes its default on create).
 */
struct bp_group_patch {
    bool set_name;
    const char *name;
    bool set_description;
    const char *description; /* NULL clears */
    bool set_event;
    char event[BP_ID_LEN + 1]; /* "" clears */
    bool set_location;
    bool location_hidden;
};

/* Frees the strings of group and zeroes it; group may be NULL. */
void bp_group_clear(struct bp_group *group);

#endif
