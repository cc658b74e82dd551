/*
 * group.c: releasing image group records.
 */
#include <stdlib.h>
#include <string.h>

#include "model/group.h"

void bp_group_clear(struct bp_group *group)
{
    if (group == NULL)
        return;
    free(group->name);
    free(group->description);
    memset(group, 0, sizeof(*group));
}
